//! `GET /media/{id}`: an inbound file, only for users who may see its
//! follower (`access::media`). The path comes
//! from the database row (never from the URL) and is checked to stay inside the
//! media folder. Voice (AMR/Speex) is offered as a download: browsers cannot
//! play AMR and no well-kept Rust crate decodes it; the recognition text is
//! shown beside it when WeChat sent one.

use crate::error::AppError;
use crate::model::{MediaId, MediaKind, MediaState};
use crate::state::AppState;
use crate::web::form::IdPath;
use crate::web::session::AnyUser;
use crate::wechat::outbox::safe_join;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub async fn get(
    State(state): State<AppState>,
    AnyUser(_, session): AnyUser,
    IdPath(id): IdPath,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    let id = MediaId(id);
    let media = state
        .db
        .read(move |c| crate::db::media::get(c, id))
        .await?
        .ok_or(AppError::NotFound)?;
    if media.state != MediaState::Stored {
        return Err(AppError::NotFound);
    }
    // Only for those who may see its follower ([`access::media`]); 404 either
    // way, so ids cannot be probed.
    let (user, m) = (session.user.clone(), media.clone());
    let allowed = state
        .db
        .read(move |c| -> crate::db::DbResult<bool> {
            match crate::access::media(c, &crate::access::Viewer::load(c, &user)?, &m) {
                Ok(()) => Ok(true),
                Err(crate::access::Denied::Db(e)) => Err(e),
                Err(_) => Ok(false),
            }
        })
        .await?;
    if !allowed {
        return Err(AppError::NotFound);
    }
    let path = safe_join(&state.wechat.media_dir, &media.path).ok_or(AppError::NotFound)?;
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        tracing::warn!(media = %id, path = %path.display(), "media file missing");
        return Err(AppError::NotFound);
    }
    // Streams the file and answers Range requests (Safari plays video only so).
    let served = tower::ServiceExt::oneshot(tower_http::services::ServeFile::new(&path), req)
        .await
        .map_err(|e| AppError::Internal(format!("serving media {id}: {e}")))?;
    let mut resp = served.map(axum::body::Body::new).into_response();
    let h = resp.headers_mut();
    let ct = HeaderValue::from_str(&media.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, ct);
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let ext = media.path.rsplit('.').next().unwrap_or("bin");
    let disposition = match media.kind {
        MediaKind::Voice => format!("attachment; filename=\"voice-{id}.{ext}\""),
        _ => format!("inline; filename=\"{}-{id}.{ext}\"", media.kind.as_str()),
    };
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
