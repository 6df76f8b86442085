//! 工号自动回复 (C9, `/console/auto-reply`): every agent sets their own.

use super::*;

/// The longest 工号自动回复.
pub(super) const AGENT_REPLY_MAX: usize = 300;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct AgentReplyForm {
    pub(super) auto_reply: String,
}

#[derive(Template)]
#[template(path = "admin/automation_agent.html")]
pub(super) struct AgentReplyPage {
    pub(super) page: Page,
    pub(super) text: String,
    pub(super) error: Option<String>,
    pub(super) max: usize,
}

pub async fn show(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
) -> Result<Response, AppError> {
    let id = s.user.id;
    let text = state
        .db
        .read(move |c| auto::agent_auto_reply(c, id))
        .await?;
    render(&AgentReplyPage {
        page: Page::new(&ctx, crate::t("auto-agent-title"), "me"),
        text,
        error: None,
        max: AGENT_REPLY_MAX,
    })
}

pub async fn save(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Form(f): Form<AgentReplyForm>,
) -> Result<Response, AppError> {
    let text = f.auto_reply.trim().to_string();
    if text.chars().count() > AGENT_REPLY_MAX {
        let page = AgentReplyPage {
            page: Page::new(&ctx, crate::t("auto-agent-title"), "me"),
            text: f.auto_reply,
            error: Some(crate::t1("auto-agent-too-long", "max", AGENT_REPLY_MAX)),
            max: AGENT_REPLY_MAX,
        };
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let (by, now, id) = (Acting::user(&s.user, &ctx.ip), state.clock.now(), s.user.id);
    let name = s.user.username.clone();
    let off = text.is_empty();
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            let before = auto::agent_auto_reply(c, id)?;
            auto::set_agent_auto_reply(c, id, &text)?;
            let entry = Entry::new(
                AuditAction::AgentAutoReply,
                crate::db::audit::about("audit-t-agent-no", &name),
            )
            .change(Some(&before), Some(&text));
            audit(c, &by, entry, now)
        })
        .await?;
    let msg = if off {
        crate::t("auto-agent-off")
    } else {
        crate::t("auto-agent-saved")
    };
    Ok(with_flash(
        Redirect::to("/console/auto-reply"),
        true,
        msg,
        ctx.secure_cookies,
    ))
}
