//! What an agent does to a conversation (D5–D11): accept, reply, note,
//! transfer, end, remove, mark, tag, retry a failed send, invite a rating,
//! and set their own status. Each runs one `desk` change in a write
//! transaction, publishes it, and answers with the fragment htmx swaps in.

use super::rows::{message_fragment, render_note_row};
use super::{change, chat_after, html, ok_flash};
use crate::access::{self, Viewer};
use crate::db::console::{self as q};
use crate::desk::{self, DeskError};
use crate::error::AppError;
use crate::model::{AgentStatus, ConversationId, ConversationState, GroupId, MessageId, UserId};
use crate::state::AppState;
use crate::web::form::{Form, IdPath};
use crate::web::session::AnyUser;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::Response;
use serde::Deserialize;

pub async fn accept(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user.clone();
    change(&state, move |c, now| {
        // Picking one follower out of the queue needs the queue's details.
        access::conversation_details(c, &Viewer::load(c, &user)?, id)?;
        Ok(((), desk::accept(c, &user, &[id], now)?))
    })
    .await?;
    chat_after(&state, &ctx, s.user, id).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ManyForm {
    ids: Vec<i64>,
    group: Option<i64>,
}

/// Accepts several queued followers at once, or "the next one" of a group
/// (for agents who see only the count).
pub async fn accept_many(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Form(f): Form<ManyForm>,
) -> Result<Response, AppError> {
    let user = s.user.clone();
    let taken = change(&state, move |c, now| {
        let ids: Vec<ConversationId> = if f.ids.is_empty() {
            let viewer = Viewer::load(c, &user)?;
            q::next_queued(c, &viewer.reach, f.group.map(GroupId))?
                .map(|id| vec![id])
                .ok_or_else(|| DeskError::Refused(crate::t("console-queue-empty")))?
        } else {
            let viewer = Viewer::load(c, &user)?;
            for id in &f.ids {
                access::conversation_details(c, &viewer, ConversationId(*id))?;
            }
            f.ids.iter().map(|i| ConversationId(*i)).collect()
        };
        let out = desk::accept(c, &user, &ids, now)?;
        Ok((ids, out))
    })
    .await?;
    match taken.as_slice() {
        [one] => chat_after(&state, &ctx, s.user, *one).await,
        many => Ok(ok_flash(&crate::t1(
            "console-accepted-many",
            "n",
            many.len(),
        ))),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReplyForm {
    text: String,
}

pub async fn reply(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
    Form(f): Form<ReplyForm>,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user;
    // Emoji from the picker travel as WeChat's codes (`👍` → `/:strong`).
    let text = crate::wechat::faces::to_codes(&f.text);
    let message = change(&state, move |c, now| desk::reply(c, &user, id, &text, now)).await?;
    message_fragment(&state, message).await
}

pub async fn retry(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let message = MessageId(id);
    let user = s.user;
    change(&state, move |c, now| {
        Ok(((), desk::retry(c, &user, message, now)?))
    })
    .await?;
    Ok(ok_flash(&crate::t("console-resent")))
}

/// The button 忽略 — a send whose outcome is unknown is not resent.
pub async fn ignore(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let message = MessageId(id);
    let user = s.user;
    change(&state, move |c, now| {
        Ok(((), desk::ignore_unknown(c, &user, message, now)?))
    })
    .await?;
    Ok(ok_flash(&crate::t("console-ignored")))
}

/// The button 立即重试 — a send waiting after a transient failure goes out now.
pub async fn retry_now(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let message = MessageId(id);
    let user = s.user;
    change(&state, move |c, now| {
        Ok(((), desk::retry_now(c, &user, message, now)?))
    })
    .await?;
    Ok(ok_flash(&crate::t("console-retrying")))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NoteForm {
    body: String,
}

pub async fn add_note(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
    Form(f): Form<NoteForm>,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user;
    let note = change(&state, move |c, now| {
        let out = desk::note(c, &user, id, &f.body, now)?;
        let note = out.events.iter().find_map(|e| match e {
            crate::live::Live::Note { id, .. } => Some(*id),
            _ => None,
        });
        Ok((note, out))
    })
    .await?;
    let tz = state.config.timezone.clone();
    let row = match note {
        Some(n) => super::read(&state, move |c| render_note_row(c, n, &tz)).await?,
        None => None,
    };
    Ok(html(row.map(|(h, _)| h).unwrap_or_default()))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TransferForm {
    /// `u<id>` for an agent of the group, `g<id>` for another group.
    target: String,
    note: String,
}

pub async fn transfer(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
    Form(f): Form<TransferForm>,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user.clone();
    if f.note.chars().count() > 200 {
        return Err(AppError::BadRequest(crate::t(
            "console-transfer-note-too-long",
        )));
    }
    let target = f.target.clone();
    let parse = |p: &str| target.strip_prefix(p).and_then(|n| n.parse::<i64>().ok());
    let (to_user, to_group) = (parse("u"), parse("g"));
    if to_user.is_none() && to_group.is_none() {
        return Err(AppError::BadRequest(crate::t("console-transfer-choose")));
    }
    change(&state, move |c, now| {
        let out = match (to_user, to_group) {
            (Some(u), _) => desk::transfer_to_agent(c, &user, id, UserId(u), &f.note, now)?,
            (_, Some(g)) => desk::transfer_to_group(c, &user, id, GroupId(g), &f.note, now)?,
            _ => desk::Out::default(),
        };
        Ok(((), out))
    })
    .await?;
    match chat_after(&state, &ctx, s.user, id).await {
        // Sent to a group the agent is not in: it is out of their sight now.
        Err(AppError::Denied(_)) => Ok(html(format!(
            "<div class=\"empty-state\" role=\"status\"><p>{}</p></div>",
            crate::error::askama_escape(&crate::t("console-transferred-away"))
        ))),
        other => other,
    }
}

pub async fn transfer_accept(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let user = s.user.clone();
    let conv = change(&state, move |c, now| {
        let conv = crate::db::console::transfer_conversation(c, id)
            .ok()
            .flatten()
            .ok_or(DeskError::NotFound)?;
        Ok((conv, desk::answer_transfer(c, &user, id, true, now)?))
    })
    .await?;
    let mut resp = chat_after(&state, &ctx, s.user, conv).await?;
    resp.headers_mut()
        .insert("hx-retarget", HeaderValue::from_static("#chat"));
    resp.headers_mut()
        .insert("hx-reswap", HeaderValue::from_static("innerHTML"));
    Ok(resp)
}

pub async fn transfer_decline(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let user = s.user;
    change(&state, move |c, now| {
        Ok(((), desk::answer_transfer(c, &user, id, false, now)?))
    })
    .await?;
    Ok(ok_flash(&crate::t("console-transfer-declined")))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EndForm {
    category: Vec<i64>,
    remark: String,
}

pub async fn end(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
    Form(f): Form<EndForm>,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user.clone();
    // A refusal (a required 咨询分类 not chosen …) shows inside the dialog.
    let need_category = crate::t("console-end-need-category");
    let ended = change(&state, move |c, now| {
        if f.category.is_empty() {
            let conv = desk::visible(c, &user, id)?;
            if crate::db::settings::group(c, conv.group_id)?.require_category {
                return Err(DeskError::Refused(need_category));
            }
        }
        Ok(((), desk::end(c, &user, id, &f.category, &f.remark, now)?))
    })
    .await;
    if let Err(e) = ended {
        return Ok(super::in_dialog(&format!("#end-error-{}", id.0), e));
    }
    chat_after(&state, &ctx, s.user, id).await
}

pub async fn remove(
    State(state): State<AppState>,
    crate::web::session::AdminUser(_, s): crate::web::session::AdminUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user;
    change(&state, move |c, now| {
        Ok(((), desk::remove(c, &user, id, now)?))
    })
    .await?;
    Ok(ok_flash(&crate::t("console-removed")))
}
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MarkForm {
    note: String,
}

pub async fn mark(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
    Form(f): Form<MarkForm>,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user;
    change(&state, move |c, now| {
        desk::mark(c, &user, id, &f.note, now)?;
        Ok(((), desk::Out::default()))
    })
    .await?;
    Ok(ok_flash(&crate::t("console-marked")))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TagForm {
    tag: Option<i64>,
    message: Option<i64>,
    remark: String,
}

pub async fn tag(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
    Form(f): Form<TagForm>,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user;
    let Some(tag) = f.tag else {
        return Err(AppError::BadRequest(crate::t("console-tag-choose")));
    };
    change(&state, move |c, now| {
        desk::tag(c, &user, id, tag, f.message.map(MessageId), &f.remark, now)?;
        Ok(((), desk::Out::default()))
    })
    .await?;
    Ok(ok_flash(&crate::t("console-tagged")))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusForm {
    status: String,
    /// "off" or 10/20/30/40/50; absent (or empty): unchanged.
    auto_accept: Option<String>,
}

pub async fn set_status(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    Form(f): Form<StatusForm>,
) -> Result<Response, AppError> {
    let status = AgentStatus::parse(&f.status)
        .ok_or_else(|| AppError::BadRequest(crate::t("console-status-unknown")))?;
    let limit = match f.auto_accept.as_deref() {
        None => None,
        Some("off") => Some(None),
        Some(n) => match n.parse::<u32>() {
            Ok(n) if [10, 20, 30, 40, 50].contains(&n) => Some(Some(n)),
            _ => {
                return Err(AppError::BadRequest(crate::t(
                    "console-auto-accept-invalid",
                )));
            }
        },
    };
    let uid = s.user.id;
    change(&state, move |c, now| {
        Ok(((), desk::set_status(c, uid, status, limit, now)?))
    })
    .await?;
    Ok(ok_flash(&crate::t1(
        "console-status-set",
        "status",
        status.label(),
    )))
}

/// The agent invites the follower to rate the service (B13).
pub async fn invite_survey(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user.clone();
    let sent = change(&state, move |c, now| {
        let conv = desk::visible(c, &user, id)?;
        if conv.agent_id != Some(user.id) || conv.state == ConversationState::Queued {
            return Err(DeskError::Denied(crate::t("console-survey-denied")));
        }
        let mut out = desk::Out::default();
        let r = crate::desk::send_survey(c, id, now, &mut out)?;
        Ok((r, out))
    })
    .await?;
    if let Err(why) = sent {
        return Err(AppError::Conflict(crate::t1(
            "console-survey-not-sent",
            "why",
            why.now(),
        )));
    }
    chat_after(&state, &ctx, s.user, id).await
}
