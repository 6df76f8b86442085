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

/// A read on the pool whose closure draws text (labels, budget, rows) in
/// the request's language: the pool's threads have none of their own.
pub(super) async fn read<T, E, F>(state: &AppState, f: F) -> Result<T, E>
where
    F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<crate::db::DbError> + Send + 'static,
{
    let lang = crate::i18n::current();
    state
        .db
        .read(move |c| crate::i18n::sync_scope(lang, || f(c)))
        .await
}

/// A follower's label in the current language: the stored fallback for a
/// follower without a remark (`db::followers::short_label`, the word 访客
/// and the tail of the OpenID) reads "Visitor …" in English.
pub(crate) fn follower_label(label: String) -> String {
    match label.strip_prefix("访客") {
        Some(tail)
            if !tail.is_empty()
                && tail.is_ascii()
                && tail.len() <= 4
                && crate::i18n::current() != crate::i18n::Lang::Zh =>
        {
            crate::t1("console-visitor", "tail", tail)
        }
        _ => label,
    }
}

/// An error answered inside a dialog (its `target` element), not in the
/// page's flash, which a modal dialog's backdrop would cover.
pub(super) fn in_dialog(target: &str, e: AppError) -> Response {
    let status = e.status();
    if let AppError::Internal(detail) = &e {
        tracing::error!(%detail, "request failed");
    }
    let mut r = (
        status,
        Html(format!(
            "<div class=\"alert alert-error\" role=\"alert\">{}</div>",
            crate::error::askama_escape(&e.to_string())
        )),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(target) {
        r.headers_mut().insert("hx-retarget", v);
    }
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
    let (chat, side) = read(state, move |c| -> Result<_, AppError> {
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
