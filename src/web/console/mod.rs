//! The conversation workspace (`/console`, D2–D11), by resource: the lists,
//! one chat, the actions on it, the follower beside it, quick replies,
//! uploaded images, the live stream, and the message rows the page and the
//! stream share. Handlers parse, call `desk` inside one write transaction,
//! publish what changed on the live hub, and answer with the fragment htmx
//! swaps in.

pub mod actions;
pub mod chat;
pub mod events;
pub mod follower;
pub mod kb;
pub mod lists;
pub mod rows;
pub mod served;
pub mod transcripts;
pub mod uploads;

use crate::desk::{self, DeskError};
use crate::error::AppError;
use crate::model::{ConversationId, User};
use crate::state::AppState;
use crate::web::session::Ctx;
use askama::Template;
use axum::http::HeaderValue;
use axum::response::{Html, IntoResponse, Response};
use chat::{ChatView, chat_view};
use follower::{SideView, side_view};
use rusqlite::Connection;

pub(super) fn html(s: String) -> Response {
    Html(s).into_response()
}

pub(super) fn fragment(t: &impl Template) -> Result<Response, AppError> {
    Ok(html(t.render()?))
}

pub(super) fn ok_flash(text: &str) -> Response {
    let mut r = html(format!(
        "<div class=\"alert alert-ok\" role=\"status\">{}</div>",
        crate::error::askama_escape(text)
    ));
    r.headers_mut()
        .insert("hx-retarget", HeaderValue::from_static("#flash"));
    r.headers_mut()
        .insert("hx-reswap", HeaderValue::from_static("innerHTML"));
    r
}

/// Run a desk change in one transaction and publish it.
pub(super) async fn change<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Connection, jiff::Timestamp) -> Result<(T, desk::Out), DeskError> + Send + 'static,
) -> Result<T, AppError> {
    let now = state.clock.now();
    let (value, out) = state.db.write(move |c| f(c, now)).await?;
    state.publish(out);
    Ok(value)
}

/// Re-renders the chat after an action.
pub(super) async fn chat_after(
    state: &AppState,
    ctx: &Ctx,
    user: User,
    id: ConversationId,
) -> Result<Response, AppError> {
    let (csrf, tz, now) = (
        ctx.csrf.clone(),
        state.config.timezone.clone(),
        state.clock.now(),
    );
    let (chat, side) = state
        .db
        .read(move |c| -> Result<_, AppError> {
            let conv = desk::visible(c, &user, id)?;
            Ok((
                chat_view(c, &user, &conv, &csrf, &tz, now)?,
                side_view(c, &user, conv.follower_id, &tz, now)?,
            ))
        })
        .await?;
    with_side(chat, side)
}

/// The chat, with the side pane (profile, quick replies) out of band.
pub(super) fn with_side(chat: ChatView, side: Option<SideView>) -> Result<Response, AppError> {
    let mut body = chat.render()?;
    if let Some(side) = side {
        body.push_str("<div id=\"side\" hx-swap-oob=\"innerHTML\">");
        body.push_str(&side.render()?);
        body.push_str("</div>");
    }
    Ok(html(body))
}
