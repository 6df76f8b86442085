//! Images an agent sends (D4, D9): `POST /console/c/{id}/image` takes one
//! JPEG, PNG or GIF (picked, pasted or dropped; at most 10 MB, WeChat's limit
//! for an image), checks its first bytes, stores it under `media/uploads/`,
//! records it (so it can be sent again) and queues it like a text reply: the
//! sender uploads it to WeChat and sends the media_id. `GET
//! /console/uploads/{id}` shows it to agents of the same group.

use crate::access;
use crate::db::{self, DbResult};
use crate::desk;
use crate::error::AppError;
use crate::model::{ConversationId, GroupId};
use crate::state::AppState;
use crate::web::form::IdPath;
use crate::web::session::AnyUser;
use crate::wechat::outbox::safe_join;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// WeChat accepts images up to 10 MB.
pub const MAX_IMAGE: usize = 10 * 1024 * 1024;

/// The image type by its first bytes, never by the name the browser sent.
pub fn sniff(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("jpg", "image/jpeg"))
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("png", "image/png"))
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(("gif", "image/gif"))
    } else {
        None
    }
}

pub async fn upload(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
    mut form: Multipart,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest(crate::t("console-upload-incomplete")))?
    {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("image").to_string();
            let bytes = field.bytes().await.map_err(|_| AppError::TooLarge)?;
            file = Some((name, bytes.to_vec()));
        }
    }
    let (name, bytes) =
        file.ok_or_else(|| AppError::BadRequest(crate::t("console-upload-choose")))?;
    if bytes.len() > MAX_IMAGE {
        return Err(AppError::TooLarge);
    }
    let (ext, content_type) =
        sniff(&bytes).ok_or_else(|| AppError::BadRequest(crate::t("console-upload-type")))?;
    let user = s.user;
    // Check before writing the file, so a refused send leaves nothing behind.
    let (u, cid) = (user.clone(), id);
    let group = super::read(&state, move |c| -> Result<GroupId, AppError> {
        let conv = desk::visible(c, &u, cid)?;
        if conv.agent_id != Some(u.id) {
            return Err(AppError::Denied(crate::t("console-upload-denied")));
        }
        Ok(conv.group_id)
    })
    .await?;
    let mut token = [0u8; 12];
    getrandom::fill(&mut token).map_err(|e| AppError::Internal(e.to_string()))?;
    let hex: String = token.iter().map(|b| format!("{b:02x}")).collect();
    let month = state.clock.now().strftime("%Y%m").to_string();
    let rel = format!("uploads/{month}/{hex}.{ext}");
    let path = safe_join(&state.wechat.media_dir, &rel).ok_or(AppError::NotFound)?;
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| AppError::Internal(format!("{}: {e}", dir.display())))?;
    }
    let size = bytes.len() as i64;
    tokio::fs::write(&path, bytes)
        .await
        .map_err(|e| AppError::Internal(format!("{}: {e}", path.display())))?;
    let now = state.clock.now();
    let name: String = name.chars().take(100).collect();
    let (message, out) = state
        .db
        .write(move |c| -> Result<_, AppError> {
            let upload =
                db::uploads::insert(c, user.id, group, &name, &rel, content_type, size, now)?;
            Ok(desk::reply_image(c, &user, id, &rel, upload, now)?)
        })
        .await?;
    state.publish(out);
    super::rows::message_fragment(&state, message).await
}

/// An upload's group, path, type, and whether this user may see it.
type Stored = (Option<GroupId>, String, String, bool);

pub async fn serve(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    let user = s.user;
    let row = super::read(&state, move |c| -> DbResult<Option<Stored>> {
        Ok(match db::uploads::get(c, id)? {
            Some(u) => {
                let ok = access::upload(&access::Viewer::load(c, &user)?, u.group_id, u.user_id);
                Some((u.group_id, u.path, u.content_type, ok))
            }
            None => None,
        })
    })
    .await?;
    let Some((_, rel, content_type, true)) = row else {
        return Err(AppError::NotFound);
    };
    let path = safe_join(&state.wechat.media_dir, &rel).ok_or(AppError::NotFound)?;
    let served = tower::ServiceExt::oneshot(tower_http::services::ServeFile::new(&path), req)
        .await
        .map_err(|e| AppError::Internal(format!("serving upload {id}: {e}")))?;
    let mut resp = served.map(axum::body::Body::new).into_response();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_bytes() {
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(("jpg", "image/jpeg"))
        );
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(("png", "image/png")));
        assert_eq!(sniff(b"GIF89a..."), Some(("gif", "image/gif")));
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff(b""), None);
    }
}

#[derive(askama::Template)]
#[template(path = "console/uploads.html")]
struct UploadsView {
    conv: i64,
    /// (upload id, name, when)
    items: Vec<(i64, String, String)>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    c: i64,
}

/// The user's recent uploads, to send one again (D9).
pub async fn list(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    crate::web::form::Query(q): crate::web::form::Query<ListQuery>,
) -> Result<Response, AppError> {
    let (uid, tz) = (s.user.id, state.config.timezone.clone());
    let rows = super::read(&state, move |c| db::uploads::recent(c, uid)).await?;
    let view = UploadsView {
        conv: q.c,
        items: rows
            .into_iter()
            .map(|(id, name, at)| (id, name, crate::web::page::local_time(at, &tz)))
            .collect(),
    };
    Ok(axum::response::Html(askama::Template::render(&view)?).into_response())
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ResendForm {
    upload: i64,
}

/// Sends one of the user's earlier uploads in this conversation.
pub async fn resend(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
    crate::web::form::Form(f): crate::web::form::Form<ResendForm>,
) -> Result<Response, AppError> {
    let (id, user, now) = (ConversationId(id), s.user, state.clock.now());
    let upload = f.upload;
    let (message, out) = state
        .db
        .write(move |c| -> Result<_, AppError> {
            let Some(db::uploads::Upload {
                user_id: Some(owner),
                path,
                ..
            }) = db::uploads::get(c, upload)?
            else {
                return Err(AppError::NotFound);
            };
            if owner != user.id {
                return Err(AppError::NotFound);
            }
            Ok(desk::reply_image(c, &user, id, &path, upload, now)?)
        })
        .await?;
    state.publish(out);
    super::rows::message_fragment(&state, message).await
}
