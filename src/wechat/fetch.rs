//! Slow work that happens after a push was acknowledged (A9, A10): downloading
//! inbound media and fetching follower profiles. Both are driven by rows the
//! webhook committed (`media.state = 'pending'`, `followers.profile_state =
//! 'pending'`), so a restart resumes them from the database, not from memory.

use super::api::{ApiError, WechatApi};
use crate::clock::Clock;
use crate::db::media::Media;
use crate::db::{self, Db, DbResult};
use crate::i18n::Msg;
use crate::model::MediaKind;
use jiff::SignedDuration;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Attempts before a download or a profile fetch is given up.
const MAX_ATTEMPTS: i64 = 8;

/// The largest file kept per kind, and the content types accepted.
pub fn limits(kind: MediaKind) -> (usize, &'static [&'static str]) {
    const IMAGES: &[&str] = &[
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/bmp",
    ];
    const AUDIO: &[&str] = &[
        "audio/amr",
        "audio/x-amr",
        "audio/speex",
        "audio/x-speex",
        "audio/mpeg",
        "audio/mp3",
    ];
    const VIDEO: &[&str] = &["video/mp4", "video/mpeg"];
    match kind {
        MediaKind::Image => (10 * 1024 * 1024, IMAGES),
        MediaKind::Thumb => (1024 * 1024, IMAGES),
        MediaKind::Voice => (5 * 1024 * 1024, AUDIO),
        MediaKind::Video => (20 * 1024 * 1024, VIDEO),
    }
}

/// The file extension kept for a content type.
pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/bmp" => "bmp",
        "audio/amr" | "audio/x-amr" => "amr",
        "audio/speex" | "audio/x-speex" => "speex",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "video/mp4" => "mp4",
        "video/mpeg" => "mpeg",
        _ => "bin",
    }
}

#[derive(Clone)]
pub struct Fetcher {
    pub api: Arc<WechatApi>,
    pub db: Db,
    pub clock: Clock,
    pub media_dir: PathBuf,
    pub wake: Arc<Notify>,
    /// Told when a file arrives, so the chat shows it.
    pub live: Option<Arc<crate::live::Hub>>,
}

impl Fetcher {
    /// One pass over due media and profiles; returns how many were handled.
    pub async fn pass(&self) -> DbResult<usize> {
        let now = self.clock.now();
        let media = self.db.read(move |c| db::media::due(c, now, 16)).await?;
        let profiles = self
            .db
            .read(move |c| db::followers::profiles_due(c, now, 16))
            .await?;
        let n = media.len() + profiles.len();
        for m in media {
            let message = m.message_id;
            self.fetch_media(m).await?;
            if let (Some(live), Some(id)) = (&self.live, message) {
                let audience = self
                    .db
                    .read(move |c| crate::access::audience_of_message(c, id))
                    .await?;
                live.publish(crate::live::Live::Message { id, audience });
            }
        }
        for (fid, aid, openid) in profiles {
            let account = self.db.read(move |c| db::accounts::get(c, aid)).await?;
            let Some(account) = account else { continue };
            match self.api.user_info(&account, &openid).await {
                Ok(info) => {
                    let p = db::followers::WxProfile {
                        subscribed: info.subscribed,
                        remark: super::ingest::clean(&info.remark).into_owned(),
                        unionid: info.unionid,
                        tags: info.tags,
                        subscribe_scene: info.subscribe_scene,
                        subscribe_time: info
                            .subscribe_time
                            .and_then(|s| jiff::Timestamp::from_second(s).ok()),
                    };
                    self.db
                        .write(move |c| db::followers::store_profile(c, fid, &p))
                        .await?;
                }
                Err(e) => {
                    tracing::info!(follower = %fid, error = %e, "profile fetch failed; will retry");
                    let next = self.clock.now() + super::outbox::backoff(2);
                    self.db
                        .write(move |c| db::followers::profile_retry(c, fid, next, MAX_ATTEMPTS))
                        .await?;
                }
            }
        }
        Ok(n)
    }

    async fn fetch_media(&self, m: Media) -> DbResult<()> {
        let aid = m.account_id;
        let Some(account) = self.db.read(move |c| db::accounts::get(c, aid)).await? else {
            return Ok(());
        };
        let (limit, types) = limits(m.kind);
        // Only by MediaId through WeChat's API: a PicUrl from a push is never
        // fetched (it could point anywhere, including this server's network).
        let got = if !m.wx_media_id.is_empty() {
            self.api.get_media(&account, &m.wx_media_id, limit).await
        } else {
            Err(ApiError::Decode("no MediaId".into()))
        };
        let id = m.id;
        let (content_type, bytes) = match got {
            Ok(x) => x,
            Err(e) if e.is_transient() => {
                let next = self.clock.now() + super::outbox::backoff(m.attempts + 1);
                let reason = e.explain_msg().stored();
                tracing::info!(media = %id, error = %e, "media download failed; will retry");
                return self
                    .db
                    .write(move |c| db::media::mark_retry(c, id, next, &reason, MAX_ATTEMPTS))
                    .await;
            }
            Err(e) => {
                let reason = match &e {
                    ApiError::Decode(d) if d.contains("larger") => {
                        Msg::new("media-too-large").number("mb", (limit / 1024 / 1024) as i64)
                    }
                    other => other.explain_msg(),
                };
                tracing::warn!(media = %id, error = %e, "media download refused");
                return self
                    .db
                    .write(move |c| db::media::mark_failed(c, id, &reason.stored()))
                    .await;
            }
        };
        let content_type = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !types.contains(&content_type.as_str()) {
            let reason = Msg::new("media-bad-type")
                .text("type", content_type.as_str())
                .stored();
            return self
                .db
                .write(move |c| db::media::mark_failed(c, id, &reason))
                .await;
        }
        let rel = format!("{}/{}.{}", account.id, id, extension(&content_type));
        let path = self.media_dir.join(&rel);
        let written = async {
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            let tmp = path.with_extension("part");
            let mut file = tokio::fs::File::create(&tmp).await?;
            tokio::io::AsyncWriteExt::write_all(&mut file, &bytes).await?;
            // On disk before the database says "stored".
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&tmp, &path).await
        }
        .await;
        if let Err(e) = written {
            tracing::error!(media = %id, error = %e, "cannot write media file");
            let next = self.clock.now() + SignedDuration::from_mins(1);
            let disk_failed = Msg::new("media-disk-failed").stored();
            return self
                .db
                .write(move |c| db::media::mark_retry(c, id, next, &disk_failed, MAX_ATTEMPTS))
                .await;
        }
        let size = bytes.len() as i64;
        self.db
            .write(move |c| db::media::mark_stored(c, id, &rel, &content_type, size))
            .await
    }

    /// Runs for ever: a pass, then waits for new work or a few seconds.
    pub async fn run(self) {
        let (_keep, stop) = tokio::sync::watch::channel(false);
        self.run_until(stop).await;
    }

    /// Runs until `stop` turns true, finishing the pass under way.
    pub async fn run_until(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        while !*stop.borrow() {
            let handled = match self.pass().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "fetch pass failed");
                    0
                }
            };
            if handled == 0 {
                tokio::select! {
                    _ = self.wake.notified() => {},
                    _ = tokio::time::sleep(Duration::from_secs(3)) => {},
                    _ = stop.changed() => {},
                }
            }
        }
    }
}
