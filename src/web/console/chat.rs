//! One conversation's chat (D4, D5): the chat pane with its timeline, reply
//! budget and action choices; marking it read; the budget badge alone.

use super::follower::side_view;
use super::rows::row_of;
use super::rows::{self, RowView, Seg};
use super::{change, html, with_side};
use crate::access::{self, Viewer};
use crate::db::console::{self as q};
use crate::db::{self, DbResult, conversations::Conversation};
use crate::desk::{self};
use crate::error::AppError;
use crate::model::{
    AgentStatus, ConversationId, ConversationState, FollowerId, GroupId, MessageKind, Role, User,
};
use crate::state::AppState;
use crate::web::form::IdPath;
use crate::web::session::AnyUser;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rusqlite::Connection;

pub struct BudgetView {
    pub allowed: bool,
    pub text: String,
    pub reason: String,
}

pub struct Choice {
    pub id: i64,
    pub name: String,
    pub note: String,
    pub depth: usize,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "console/chat.html")]
pub struct ChatView {
    pub id: ConversationId,
    pub follower_id: FollowerId,
    pub label: String,
    pub state: ConversationState,
    pub holder: String,
    pub mine: bool,
    pub can_accept: bool,
    pub can_remove: bool,
    pub rows: Vec<RowView>,
    pub budget: BudgetView,
    pub pending_transfer: Option<String>,
    pub agents: Vec<Choice>,
    pub groups: Vec<Choice>,
    pub categories: Vec<Choice>,
    pub require_category: bool,
    pub tags: Vec<Choice>,
    pub emoji: &'static [(&'static str, &'static str, &'static str)],
    pub csrf: String,
    /// The satisfaction survey's state (B13).
    pub survey: Option<String>,
    /// The user may invite the follower to rate (holder, or who ended it).
    pub can_survey: bool,
}

fn budget_view(b: &crate::wechat::budget::Budget, now: jiff::Timestamp) -> BudgetView {
    match (b.allowed, b.until) {
        (true, Some(until)) => {
            let mins = until.duration_since(now).as_mins().max(0);
            BudgetView {
                allowed: true,
                text: crate::t2(
                    "console-budget-left",
                    "time",
                    format!("{:02}:{:02}", mins / 60, mins % 60),
                    "n",
                    b.remaining,
                ),
                reason: String::new(),
            }
        }
        _ => BudgetView {
            allowed: false,
            text: crate::t("console-budget-none"),
            reason: b.reason.as_ref().map(|m| m.now()).unwrap_or_default(),
        },
    }
}

/// All rows of a follower's recent history, with notes, stamped.
fn timeline(
    c: &Connection,
    follower: FollowerId,
    tz: &jiff::tz::TimeZone,
    now: jiff::Timestamp,
) -> DbResult<Vec<RowView>> {
    let messages = db::messages::history(c, follower, None, 60)?;
    let oldest = messages.first().map(|m| m.created_at);
    let mut rows: Vec<(jiff::Timestamp, RowView)> = Vec::new();
    for m in messages
        .iter()
        .filter(|m| m.kind != crate::model::MessageKind::Event)
    {
        rows.push((m.created_at, row_of(c, m, tz)?));
    }
    for n in q::notes(c, follower)? {
        if oldest.is_none_or(|o| n.at >= o) {
            rows.push((n.at, rows::note_row(&n, tz)));
        }
    }
    let steps = db::transcripts::follower_steps(c, follower, oldest, None)?;
    rows.extend(rows::step_rows(&steps, tz));
    rows::timeline_order(&mut rows);
    rows::stamp(&mut rows, tz, now.to_zoned(tz.clone()).date());
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}
pub(super) fn chat_view(
    c: &Connection,
    user: &User,
    conv: &Conversation,
    csrf: &str,
    tz: &jiff::tz::TimeZone,
    now: jiff::Timestamp,
) -> DbResult<ChatView> {
    let f = db::followers::get(c, conv.follower_id)?
        .ok_or_else(|| db::DbError::Commit("follower missing".into()))?;
    let holder = match conv.agent_id {
        Some(a) => db::users::get(c, a)?
            .map(|u| u.display_name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let mine = conv.agent_id == Some(user.id) && conv.state == ConversationState::Active;
    let b = desk::budget_of(c, conv.follower_id, now)?;
    let pending_transfer = match desk::pending_transfer(c, conv.id)? {
        Some((_, to, _, expires)) => {
            let name = db::users::get(c, to)?
                .map(|u| u.display_name)
                .unwrap_or_default();
            Some(crate::t2(
                "console-transfer-pending",
                "name",
                name,
                "secs",
                expires.duration_since(now).as_secs().max(0),
            ))
        }
        None => None,
    };
    let agents = q::agents_of(c, conv.group_id)?
        .into_iter()
        .filter(|(id, _, _)| *id != user.id)
        .map(|(id, name, status)| Choice {
            id: id.0,
            name,
            note: status.label(),
            depth: 0,
            enabled: status == AgentStatus::Online,
        })
        .collect();
    let groups = db::groups::list(c)?
        .into_iter()
        .filter(|g| g.group.id != conv.group_id)
        .map(|g| Choice {
            id: g.group.id.0,
            name: g.group.name,
            note: String::new(),
            depth: 0,
            enabled: true,
        })
        .collect();
    let categories = category_choices(c, conv.group_id)?;
    let tags = tag_choices(c)?;
    Ok(ChatView {
        id: conv.id,
        follower_id: conv.follower_id,
        label: super::follower_label(f.label()),
        state: conv.state,
        holder,
        mine,
        can_accept: conv.state == ConversationState::Queued,
        can_remove: conv.state == ConversationState::Queued && user.role != Role::Agent,
        rows: timeline(c, conv.follower_id, tz, now)?,
        budget: budget_view(&b, now),
        pending_transfer,
        agents,
        groups,
        categories,
        require_category: db::settings::group(c, conv.group_id)?.require_category,
        tags,
        emoji: rows::EMOJI,
        csrf: csrf.to_string(),
        survey: crate::desk::survey_text(c, conv.id)?,
        can_survey: conv.agent_id == Some(user.id) && conv.state != ConversationState::Queued,
    })
}

fn category_choices(c: &Connection, g: GroupId) -> DbResult<Vec<Choice>> {
    Ok(db::taxonomy::categories(c, g)?
        .into_iter()
        .map(|k| Choice {
            id: k.id,
            name: k.name,
            note: String::new(),
            depth: k.depth,
            enabled: true,
        })
        .collect())
}

fn tag_choices(c: &Connection) -> DbResult<Vec<Choice>> {
    Ok(db::taxonomy::tags(c)?
        .into_iter()
        .map(|t| Choice {
            id: t.id,
            name: t.name,
            note: String::new(),
            depth: t.depth,
            enabled: true,
        })
        .collect())
}
/// The chat of one conversation: a fragment for htmx, else the whole page.
pub async fn show(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    if !ctx.htmx {
        return Ok(Redirect::to(&format!("/console?c={id}")).into_response());
    }
    let id = ConversationId(id);
    let (user, csrf, tz, now) = (
        s.user,
        ctx.csrf,
        state.config.timezone.clone(),
        state.clock.now(),
    );
    let (chat, side) = super::read(&state, move |c| -> Result<_, AppError> {
        let conv = access::conversation_details(c, &Viewer::load(c, &user)?, id)?;
        Ok((
            chat_view(c, &user, &conv, &csrf, &tz, now)?,
            side_view(c, &user, conv.follower_id, &tz, now)?,
        ))
    })
    .await?;
    if chat.mine {
        let now = state.clock.now();
        state.db.write(move |c| desk::mark_read(c, id, now)).await?;
    }
    with_side(chat, side)
}

pub async fn mark_read(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user;
    change(&state, move |c, now| {
        let conv = desk::visible(c, &user, id)?;
        if conv.agent_id == Some(user.id) {
            desk::mark_read(c, id, now)?;
        }
        Ok(((), desk::Out::default()))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The reply-budget badge alone, so the chat keeps it current as messages come and go.
pub async fn show_budget(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let (id, user, now) = (ConversationId(id), s.user, state.clock.now());
    let b = super::read(&state, move |c| -> Result<_, AppError> {
        let conv = desk::visible(c, &user, id)?;
        Ok(desk::budget_of(c, conv.follower_id, now)?)
    })
    .await?;
    let v = budget_view(&b, now);
    Ok(html(format!(
        "<span class=\"budget {}\" data-allowed=\"{}\" title=\"{}\">{}</span>",
        if v.allowed { "ok" } else { "no" },
        if v.allowed { 1 } else { 0 },
        crate::error::askama_escape(&v.reason),
        crate::error::askama_escape(&v.text)
    )))
}
