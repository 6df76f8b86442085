//! The WeChat webhook (A1–A5): `GET/POST /wechat/{account}`. It reads the
//! request, lets `wechat::push` verify and open the push, stores it with
//! `ingest` and the desk in one transaction, and only once the push is
//! committed answers WeChat: `success`, or the passive reply `wechat::push`
//! seals. Anything that does not verify or parse is refused with a 4xx, logged
//! with the reason, and nothing is stored. Media downloads and profile fetches
//! happen afterwards.

use crate::db::{self, accounts::Account};
use crate::state::AppState;
use crate::web::form::IdPath;
use crate::wechat::push::{self, PushError, PushQuery};
use crate::wechat::{ingest, xml};
use axum::body::{Body, to_bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("unknown account")]
    UnknownAccount,
    #[error("body larger than 1 MB")]
    TooLarge,
    #[error(transparent)]
    Push(#[from] PushError),
    #[error("storage failed: {0}")]
    Db(#[from] db::DbError),
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebhookError::UnknownAccount => StatusCode::NOT_FOUND,
            WebhookError::Push(
                PushError::BadSignature
                | PushError::Stale
                | PushError::NotEncrypted
                | PushError::Replayed
                | PushError::WrongSender,
            ) => StatusCode::FORBIDDEN,
            WebhookError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebhookError::Push(PushError::Xml(_) | PushError::Crypto(_) | PushError::NoEncrypt) => {
                StatusCode::BAD_REQUEST
            }
            // WeChat retries these; the push is not lost.
            WebhookError::Push(PushError::NoKey) | WebhookError::Db(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        (status, status.canonical_reason().unwrap_or("error")).into_response()
    }
}

async fn account(state: &AppState, id: i64) -> Result<std::sync::Arc<Account>, WebhookError> {
    let id = crate::model::AccountId(id);
    state
        .wechat
        .account(&state.db, id)
        .await?
        .ok_or(WebhookError::UnknownAccount)
}

/// `GET`: WeChat checks the URL; answer the echostr when the signature holds.
pub async fn verify(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    Query(q): Query<PushQuery>,
) -> Result<Response, WebhookError> {
    let result = async {
        let acc = account(&state, id).await?;
        push::verify_url(&acc, &q)?;
        Ok((
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            q.echostr.clone(),
        )
            .into_response())
    }
    .await;
    if let Err(e) = &result {
        tracing::warn!(account = id, error = %e, "webhook URL verification refused");
    }
    result
}

/// `POST`: a push. Verified, decrypted, parsed, stored; then `success`.
pub async fn push(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    Query(q): Query<PushQuery>,
    body: Body,
) -> Result<Response, WebhookError> {
    let result = receive(&state, id, &q, body).await;
    match &result {
        Err(e @ (WebhookError::Db(_) | WebhookError::Push(PushError::NoKey))) => {
            tracing::error!(account = id, error = %e, "push not stored")
        }
        Err(e) => tracing::warn!(account = id, error = %e, "push refused"),
        Ok(_) => {}
    }
    result.map(|reply| match reply {
        Some(xml) => ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response(),
        None => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            push::ACK,
        )
            .into_response(),
    })
}

/// Stores a push; `Some(body)` when it is answered with a passive reply.
async fn receive(
    state: &AppState,
    id: i64,
    q: &PushQuery,
    body: Body,
) -> Result<Option<String>, WebhookError> {
    let acc = account(state, id).await?;
    let now_s = state.clock.now().as_second();
    push::verify(&acc, q, now_s)?;
    let bytes = to_bytes(body, xml::MAX_BODY)
        .await
        .map_err(|_| WebhookError::TooLarge)?;
    let push::Opened {
        plain,
        inbound,
        key,
    } = push::open(&acc, q, &bytes, &state.wechat.replays, now_s)?;
    let now = state.clock.now();
    let learned_id = acc.original_id != inbound.to_user;
    let account_id = acc.id;
    // Stored and routed in one transaction: once `success` is answered, the
    // message is in the follower's history and, if it asks for a human, in a
    // conversation (queued or assigned).
    let (follower, official) = (inbound.from_user.clone(), inbound.to_user.clone());
    let reply_acc = acc.clone();
    let (stored, mut out) = state
        .db
        .write(move |c| -> db::DbResult<_> {
            let stored = ingest::store(c, &acc, &inbound, &plain, now)?;
            let out = crate::desk::on_inbound(c, acc.id, &inbound, &stored, now)?;
            Ok((stored, out))
        })
        .await?;
    let passive = out.passive.take();
    state.publish(out);
    if learned_id {
        state.wechat.forget_account(account_id);
    }
    // Only wake the fetcher when there is something for it: media, or a new follower's profile.
    if stored.media || stored.new_follower {
        state.wechat.fetch_wake.notify_one();
    }
    let now_s = now.as_second();
    Ok(passive.map(|text| {
        push::reply(
            &reply_acc,
            key.as_deref(),
            q,
            &follower,
            &official,
            &text,
            now_s,
        )
    }))
}
