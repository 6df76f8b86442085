//! The WeChat webhook (A1–A5): `GET/POST /wechat/{account}`. Verification of
//! every signature (constant time), decryption in safe and compatible modes
//! (with the previous EncodingAESKey as fallback), parsing, and storage — and
//! only once the push is committed does WeChat get its `success`. Anything that
//! does not verify or parse is refused with a 4xx, logged with the reason, and
//! nothing is stored. Media downloads and profile fetches happen afterwards.

use crate::db::{self, accounts::Account};
use crate::state::AppState;
use crate::web::form::IdPath;
use crate::wechat::crypto::{self, AesKey, CryptoError};
use crate::wechat::{ingest, xml};
use axum::body::{Body, to_bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct PushQuery {
    signature: String,
    timestamp: String,
    nonce: String,
    echostr: String,
    encrypt_type: String,
    msg_signature: String,
    openid: String,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("unknown account")]
    UnknownAccount,
    #[error("signature does not verify")]
    BadSignature,
    #[error("body larger than 1 MB")]
    TooLarge,
    #[error("bad XML: {0}")]
    Xml(#[from] xml::XmlError),
    #[error("cannot decrypt: {0}")]
    Crypto(#[from] CryptoError),
    #[error("encrypted push without <Encrypt>")]
    NoEncrypt,
    #[error("account has no valid EncodingAESKey")]
    NoKey,
    #[error("storage failed: {0}")]
    Db(#[from] db::DbError),
    #[error("timestamp is more than 5 minutes away from now")]
    Stale,
    #[error("plaintext push to an account in safe or compatible mode")]
    NotEncrypted,
    #[error("a signed timestamp and nonce reused with another body")]
    Replayed,
}

/// How far a push's timestamp may be from now.
const FRESHNESS_SECS: i64 = 300;

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebhookError::UnknownAccount => StatusCode::NOT_FOUND,
            WebhookError::BadSignature
            | WebhookError::Stale
            | WebhookError::NotEncrypted
            | WebhookError::Replayed => StatusCode::FORBIDDEN,
            WebhookError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebhookError::Xml(_) | WebhookError::Crypto(_) | WebhookError::NoEncrypt => {
                StatusCode::BAD_REQUEST
            }
            // WeChat retries these; the push is not lost.
            WebhookError::NoKey | WebhookError::Db(_) => StatusCode::SERVICE_UNAVAILABLE,
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
        if !crypto::verify_signature(&q.signature, &[&acc.token, &q.timestamp, &q.nonce]) {
            return Err(WebhookError::BadSignature);
        }
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

/// Decrypts `encrypt` with the current key, then the previous one (rotation).
fn decrypt(acc: &Account, encrypt: &str) -> Result<String, WebhookError> {
    let mut last = WebhookError::NoKey;
    for key in [&acc.aes_key, &acc.prev_aes_key] {
        if key.is_empty() {
            continue;
        }
        let Ok(k) = AesKey::from_encoding_aes_key(key) else {
            continue;
        };
        match crypto::decrypt(&k, &acc.app_id, encrypt) {
            Ok(xml) => return Ok(xml),
            Err(e) => last = e.into(),
        }
    }
    Err(last)
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
        Err(e @ (WebhookError::Db(_) | WebhookError::NoKey)) => {
            tracing::error!(account = id, error = %e, "push not stored")
        }
        Err(e) => tracing::warn!(account = id, error = %e, "push refused"),
        Ok(_) => {}
    }
    result.map(|reply| match reply {
        Some(xml) => ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response(),
        None => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "success",
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
    // A signature covers timestamp and nonce (and, encrypted, the ciphertext):
    // refuse stale ones so a signed URL seen in a log cannot be replayed later.
    let now_s = state.clock.now().as_second();
    let fresh = q
        .timestamp
        .parse::<i64>()
        .is_ok_and(|t| (t - now_s).abs() <= FRESHNESS_SECS);
    if !fresh {
        return Err(WebhookError::Stale);
    }
    // WeChat sends encrypted pushes to encrypted accounts, always.
    if acc.mode != crate::model::AccountMode::Plain && q.encrypt_type != "aes" {
        return Err(WebhookError::NotEncrypted);
    }
    let bytes = to_bytes(body, xml::MAX_BODY)
        .await
        .map_err(|_| WebhookError::TooLarge)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| xml::XmlError::Malformed("body is not UTF-8".into()))?;
    let plain = if q.encrypt_type == "aes" {
        let envelope = xml::parse_envelope(text)?;
        let encrypt = envelope.encrypt.ok_or(WebhookError::NoEncrypt)?;
        // msg_signature covers the ciphertext: check it before decrypting.
        if !crypto::verify_signature(
            &q.msg_signature,
            &[&acc.token, &q.timestamp, &q.nonce, &encrypt],
        ) {
            return Err(WebhookError::BadSignature);
        }
        decrypt(&acc, &encrypt)?
    } else {
        if !crypto::verify_signature(&q.signature, &[&acc.token, &q.timestamp, &q.nonce]) {
            return Err(WebhookError::BadSignature);
        }
        text.to_string()
    };
    // Plaintext mode only (encrypted pushes are covered by msg_signature, where
    // a repeated nonce can only be chance): the same signed query, for the same
    // follower, with another body is a forgery; with the same body, a retry.
    if q.encrypt_type != "aes" {
        let scope = format!("{}|{}", q.nonce, q.openid);
        if !state
            .wechat
            .replays
            .check(acc.id, &q.timestamp, &scope, &bytes, now_s)
        {
            return Err(WebhookError::Replayed);
        }
    }
    let inbound = xml::parse(&plain)?;
    ingest::check(&inbound).map_err(|m| xml::XmlError::Malformed(m.into()))?;
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
    Ok(passive
        .map(|text| passive_reply(&reply_acc, q, &follower, &official, &text, now.as_second())))
}

/// The body answering a push with a text: plain XML, or encrypted and signed
/// when the push was encrypted (WeChat then expects the same).
fn passive_reply(
    acc: &Account,
    q: &PushQuery,
    follower: &str,
    official: &str,
    text: &str,
    now_s: i64,
) -> String {
    let xml = xml::reply_xml(
        follower,
        official,
        now_s,
        &xml::Reply::Text {
            content: text.to_string(),
        },
    );
    if q.encrypt_type != "aes" {
        return xml;
    }
    match AesKey::from_encoding_aes_key(&acc.aes_key) {
        Ok(key) => {
            let encrypt = crypto::encrypt(&key, &acc.app_id, &xml);
            let ts = now_s.to_string();
            let signature = crypto::signature(&[&acc.token, &ts, &q.nonce, &encrypt]);
            xml::encrypted_reply_xml(&encrypt, &signature, &ts, &q.nonce)
        }
        // The push decrypted with the previous key only: answer "success".
        Err(_) => "success".into(),
    }
}
