//! PDF transcripts (F6): `/console/c/{id}/transcript.pdf` (one conversation)
//! and `/console/f/{id}/history.pdf?from=&to=` (a follower over a date range,
//! the 导出 PDF button of the history page). Whoever may see the conversation
//! or follower (`access`) may export it; every export is written to the audit
//! log. Loading is `export::transcript`, layout `export::pdf`; both, and the
//! file name, in the exporting user's language.

use crate::access::{self, Viewer};
use crate::db::audit::{self, Actor, Entry};
use crate::error::AppError;
use crate::export::{self, transcript::Context};
use crate::model::{AuditAction, ConversationId, FollowerId, User};
use crate::state::AppState;
use crate::web::form::{IdPath, Query};
use crate::web::session::{AnyUser, Ctx};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

fn context(state: &AppState, user: &User) -> Context {
    Context {
        tz: state.config.timezone.clone(),
        now: state.clock.now(),
        exported_by: export::exporter(user),
        media_dir: state.wechat.media_dir.clone(),
    }
}

/// One conversation as a PDF.
pub async fn conversation(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let (user, tctx) = (s.user.clone(), context(&state, &s.user));
    let t = state
        .db
        .read(move |c| -> Result<_, AppError> {
            access::conversation_details(c, &Viewer::load(c, &user)?, id)?;
            export::transcript::conversation(c, id, &tctx)?.ok_or(AppError::NotFound)
        })
        .await?;
    let day = state
        .clock
        .now()
        .to_zoned(state.config.timezone.clone())
        .date();
    let name = crate::t2(
        "exp-file-conversation",
        "id",
        id.to_string(),
        "day",
        day.to_string(),
    ) + ".pdf";
    deliver(
        &state,
        &ctx,
        &s.user,
        t,
        crate::i18n::Msg::new("audit-export-conversation")
            .text("id", id.to_string())
            .stored(),
        name,
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RangeQuery {
    from: String,
    to: String,
}

fn day(s: &str) -> Result<Option<jiff::civil::Date>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| AppError::BadRequest(crate::t("console-date-format")))
}

/// A follower's history over `from`–`to` (inclusive days) as a PDF.
pub async fn follower(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
    Query(q): Query<RangeQuery>,
) -> Result<Response, AppError> {
    let id = FollowerId(id);
    let (from, to) = (day(&q.from)?, day(&q.to)?);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(AppError::BadRequest(crate::t("console-date-order")));
    }
    let (user, tctx) = (s.user.clone(), context(&state, &s.user));
    let t = state
        .db
        .read(move |c| -> Result<_, AppError> {
            access::follower(c, &Viewer::load(c, &user)?, id)?;
            export::transcript::follower(c, id, from, to, &tctx)?.ok_or(AppError::NotFound)
        })
        .await?;
    let span = |d: Option<jiff::civil::Date>| d.map(|d| d.to_string()).unwrap_or_default();
    let target = crate::i18n::Msg::new("audit-export-history")
        .text("id", id.to_string())
        .text("from", span(from))
        .text("to", span(to))
        .stored();
    let name = if from.is_some() || to.is_some() {
        crate::t3(
            "exp-file-history-days",
            "name",
            &t.follower,
            "from",
            span(from),
            "to",
            span(to),
        )
    } else {
        crate::t1("exp-file-history", "name", &t.follower)
    } + ".pdf";
    deliver(&state, &ctx, &s.user, t, target, name).await
}

/// Renders off the async runtime, records the export, answers with the file.
async fn deliver(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    t: export::pdf::Transcript,
    target: String,
    filename: String,
) -> Result<Response, AppError> {
    let lang = crate::i18n::current();
    let bytes = tokio::task::spawn_blocking(move || {
        crate::i18n::sync_scope(lang, || export::pdf::render(&t, export::font::transcript()))
    })
    .await
    .map_err(|e| AppError::Internal(format!("rendering a transcript: {e}")))?;
    let actor = Actor {
        id: Some(user.id),
        name: user.username.clone(),
        ip: ctx.ip.clone(),
    };
    let now = state.clock.now();
    state
        .db
        .write(move |c| {
            audit::record(
                c,
                &actor,
                &Entry::new(AuditAction::TranscriptExport, target),
                now,
            )
        })
        .await?;
    let disposition = export::attachment(&filename, "transcript.pdf");
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition)
            .map_err(|e| AppError::Internal(format!("content-disposition: {e}")))?,
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
