//! 常见问题 of a group (C7) on the 自动回复 page: add, edit, reorder and
//! delete the entries of the group's FAQ folder. The whole tree (folders,
//! moves, validity, search) is edited at `/admin/faq` (`web::admin::kb`).

use super::*;
use crate::db::tree::{self, TreeKind};
use axum::response::IntoResponse;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct FaqForm {
    pub(super) account: String,
    pub(super) group: String,
    pub(super) question: String,
    pub(super) answer: String,
    pub(super) keywords: String,
}

impl FaqForm {
    /// (question, answer, keywords), trimmed and checked.
    pub(super) fn checked(&self) -> Result<(String, String, Vec<String>), String> {
        let (question, answer) = (self.question.trim(), self.answer.trim());
        if question.is_empty() {
            return Err(crate::t("auto-faq-question-missing"));
        }
        if question.chars().count() > 100 {
            return Err(crate::t1("auto-faq-question-too-long", "max", 100));
        }
        if answer.is_empty() {
            return Err(crate::t("auto-faq-answer-missing"));
        }
        if answer.chars().count() > TEXT_MAX {
            return Err(crate::t1("auto-faq-answer-too-long", "max", TEXT_MAX));
        }
        let keywords = auto::parse_keywords(&self.keywords);
        if keywords.iter().any(|k| k.chars().count() > 30) {
            return Err(crate::t1("auto-faq-keyword-too-long", "max", 30));
        }
        if keywords.len() > 20 {
            return Err(crate::t1("auto-faq-keywords-too-many", "max", 20));
        }
        Ok((question.into(), answer.into(), keywords))
    }
}

pub async fn add(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Form(f): Form<FaqForm>,
) -> Result<Response, AppError> {
    let group = need_group(&f.group)?;
    let user = s.user.clone();
    state
        .db
        .read(move |c| managed_group(c, &user, group))
        .await?;
    let account = parse_account(&f.account);
    let (question, answer, keywords) = match f.checked() {
        Ok(v) => v,
        Err(m) => {
            let kept = Kept {
                section: "faq",
                error: Some(m),
                faq: f,
                ..Kept::default()
            };
            return refused(&state, &ctx, &s.user, (account, Some(group)), kept).await;
        }
    };
    let (by, now, q) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        question.clone(),
    );
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            auto::add_faq_at(c, group, &q, &answer, &keywords, now)?;
            audit(
                c,
                &by,
                Entry::new(
                    AuditAction::FaqCreate,
                    crate::db::audit::about("audit-t-faq", &q),
                ),
                now,
            )
        })
        .await?;
    Ok(done(
        &ctx,
        account,
        Some(group),
        "faq",
        crate::t1("auto-faq-added", "question", question),
    ))
}

/// Loads an entry and a group of the user's that reaches it, checking
/// (`access::manages_tree_node`) that the user may change it.
pub(super) async fn managed_faq(
    state: &AppState,
    user: &User,
    id: i64,
) -> Result<(Faq, Group), AppError> {
    let user = user.clone();
    state
        .db
        .read(move |c| -> Result<_, AppError> {
            let n = tree::get(c, id)?
                .filter(|n| n.kind == TreeKind::Faq)
                .ok_or(AppError::NotFound)?;
            let groups = tree::groups_of(c, id)?;
            let viewer = crate::access::Viewer::load(c, &user)?;
            if !crate::access::manages_tree_node(&viewer, &groups) {
                return Err(AppError::Forbidden);
            }
            let group = groups
                .iter()
                .find(|g| viewer.sees(**g))
                .ok_or_else(|| AppError::BadRequest(crate::t("auto-faq-unassigned")))?;
            Ok((auto::faq_of(&n), managed_group(c, &user, *group)?))
        })
        .await
}

#[derive(Template)]
#[template(path = "admin/automation_faq.html")]
pub(super) struct FaqEditPage {
    pub(super) page: Page,
    pub(super) id: i64,
    pub(super) group: Group,
    pub(super) f: FaqForm,
    pub(super) error: Option<String>,
}

pub async fn edit(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Query(q): Query<PlaceForm>,
) -> Result<Response, AppError> {
    let (e, group) = managed_faq(&state, &s.user, id).await?;
    if e.answer.is_empty() {
        // A folder of the tree: edited on the tree's page.
        return Ok(Redirect::to(&format!("/admin/faq/nodes/{id}")).into_response());
    }
    render(&FaqEditPage {
        page: Page::new(
            &ctx,
            crate::t1("auto-faq-edit-title", "question", e.question.as_str()),
            "automation",
        ),
        id,
        f: FaqForm {
            account: q.account,
            group: group.id.to_string(),
            question: e.question,
            answer: e.answer,
            keywords: e.keywords.join("，"),
        },
        group,
        error: None,
    })
}

pub async fn update(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Form(f): Form<FaqForm>,
) -> Result<Response, AppError> {
    let (old, group) = managed_faq(&state, &s.user, id).await?;
    let account = parse_account(&f.account);
    let (question, answer, keywords) = match f.checked() {
        Ok(v) => v,
        Err(m) => {
            let page = FaqEditPage {
                page: Page::new(
                    &ctx,
                    crate::t1("auto-faq-edit-title", "question", old.question.as_str()),
                    "automation",
                ),
                id,
                f: FaqForm {
                    group: group.id.to_string(),
                    ..f
                },
                group,
                error: Some(m),
            };
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let (by, now, gid) = (Acting::user(&s.user, &ctx.ip), state.clock.now(), group.id);
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            let mut n = tree::get(c, id)?.ok_or(AppError::NotFound)?;
            n.title = question.clone();
            n.body = answer.clone();
            n.keywords = keywords.join("，");
            tree::update(c, id, &crate::web::admin::kb::fields_of(&n), now)?;
            let after = Faq {
                id,
                question: question.clone(),
                answer,
                keywords,
            };
            let entry = Entry::new(
                AuditAction::FaqUpdate,
                crate::db::audit::about("audit-t-faq", &format!("{} → {question}", old.question)),
            )
            .change(Some(&old), Some(&after));
            audit(c, &by, entry, now)
        })
        .await?;
    Ok(done(
        &ctx,
        account,
        Some(gid),
        "faq",
        crate::t("auto-faq-saved"),
    ))
}

pub async fn reorder(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Form(f): Form<MoveForm>,
) -> Result<Response, AppError> {
    let (e, group) = managed_faq(&state, &s.user, id).await?;
    let up = f.up()?;
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            if tree::reorder(c, id, up)? {
                let target = crate::db::audit::about_with(
                    "audit-reordered",
                    crate::db::audit::about_msg("audit-t-faq", &e.question),
                );
                audit(c, &by, Entry::new(AuditAction::FaqUpdate, target), now)?;
            }
            Ok(())
        })
        .await?;
    Ok(done(
        &ctx,
        parse_account(&f.account),
        Some(group.id),
        "faq",
        crate::t("auto-moved"),
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Form(f): Form<PlaceForm>,
) -> Result<Response, AppError> {
    let (e, group) = managed_faq(&state, &s.user, id).await?;
    let (by, now, question) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        e.question.clone(),
    );
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            tree::delete(c, id)?;
            let entry = Entry::new(
                AuditAction::FaqDelete,
                crate::db::audit::about("audit-t-faq", &question),
            )
            .change(Some(&e), None);
            audit(c, &by, entry, now)
        })
        .await?;
    Ok(done(
        &ctx,
        parse_account(&f.account),
        Some(group.id),
        "faq",
        crate::t("auto-faq-deleted"),
    ))
}
