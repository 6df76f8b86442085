//! Sends the outbox (A6, A7). Each pass takes, per follower, the oldest pending
//! row that is due; checks the reply budget (a send that would certainly fail
//! is refused with the reason, not sent); uploads media when needed; calls
//! customer-service send; and records the outcome in the same row: sent,
//! retried later with exponential backoff (busy, HTTP 5xx, network), or failed
//! for good with the Chinese explanation the agent sees on the message. A row
//! whose payload cannot be read is failed with a reason, never sent.
//! Everything it needs is in the database, so after a restart it simply goes on.

use super::api::{ApiError, WechatApi};
use super::budget::budget;
use crate::clock::Clock;
use crate::db::outbox::{Media, OutboxRow, Payload};
use crate::db::{self, Db, DbResult};
use jiff::SignedDuration;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Notify;

/// Backoff after the n-th transient failure: 2, 4, 8 … seconds, at most 5 minutes.
pub fn backoff(attempts: i64) -> SignedDuration {
    let secs = 2i64.saturating_pow(attempts.clamp(1, 20) as u32).min(300);
    SignedDuration::from_secs(secs)
}

#[derive(Clone)]
pub struct Sender {
    pub api: Arc<WechatApi>,
    pub db: Db,
    pub clock: Clock,
    /// Where uploaded files live ([`Media::path`] is relative to it).
    pub media_dir: PathBuf,
    /// Woken when a row is enqueued.
    pub wake: Arc<Notify>,
    /// Rows WeChat accepted whose success could not be written down yet (the
    /// database refused the write): they are recorded again, never re-sent.
    pub unrecorded: Arc<std::sync::Mutex<std::collections::HashSet<crate::model::OutboxId>>>,
    /// Told about every delivery change, so the agent sees it live.
    pub live: Option<Arc<crate::live::Hub>>,
}

/// What happened to one row in a pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Retry(String),
    Failed(String),
}

impl Sender {
    /// Sends what is due now; returns the outcomes (for tests and logs).
    pub async fn pass(&self) -> DbResult<Vec<(crate::model::OutboxId, Outcome)>> {
        let now = self.clock.now();
        let due = self.db.read(move |c| db::outbox::due(c, now, 64)).await?;
        let mut tasks = tokio::task::JoinSet::new();
        for row in due {
            let me = self.clone();
            // Rows of one pass belong to different followers: send them side by side.
            tasks.spawn(async move {
                let (id, message) = (row.id, row.message_id);
                let result = me.send_one(row).await;
                if let (Ok(_), Some(live)) = (&result, &me.live) {
                    let audience = me
                        .db
                        .read(move |c| crate::access::audience_of_message(c, message))
                        .await;
                    match audience {
                        Ok(audience) => live.publish(crate::live::Live::Message {
                            id: message,
                            audience,
                        }),
                        Err(e) => tracing::warn!(error = %e, "delivery not shown live"),
                    }
                }
                (id, result)
            });
        }
        let mut out = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok((id, Ok(outcome))) => out.push((id, outcome)),
                Ok((id, Err(e))) => {
                    tracing::error!(outbox = %id, error = %e, "outbox row could not be updated")
                }
                Err(e) => tracing::error!(error = %e, "outbox task failed"),
            }
        }
        out.sort_by_key(|(id, _)| *id);
        Ok(out)
    }

    fn is_unrecorded(&self, id: crate::model::OutboxId) -> bool {
        self.unrecorded.lock().is_ok_and(|set| set.contains(&id))
    }

    /// Writes down that WeChat accepted the row (and counts it against the budget).
    async fn record_sent(
        &self,
        row: &OutboxRow,
        charge: crate::model::InteractionKind,
    ) -> DbResult<Outcome> {
        let (id, fid, now) = (row.id, row.follower_id, self.clock.now());
        let written = self
            .db
            .write(move |c| -> DbResult<()> {
                db::outbox::mark_sent(c, id, now)?;
                db::followers::count_sent(c, fid, charge)
            })
            .await;
        if let Ok(mut set) = self.unrecorded.lock() {
            if written.is_ok() {
                set.remove(&id);
            } else {
                set.insert(id);
            }
        }
        written.map(|()| Outcome::Sent)
    }

    async fn send_one(&self, row: OutboxRow) -> DbResult<Outcome> {
        if self.is_unrecorded(row.id) {
            return self
                .record_sent(&row, crate::model::InteractionKind::Message)
                .await;
        }
        let payload = match &row.payload {
            Ok(p) => p.clone(),
            Err(e) => {
                tracing::warn!(outbox = %row.id, error = %e, "outbox row not sent");
                return self
                    .fail(&row, None, "消息内容无法读取（可能由其他版本写入），未发送")
                    .await;
            }
        };
        let (aid, fid) = (row.account_id, row.follower_id);
        let (account, follower) = self
            .db
            .read(move |c| -> DbResult<_> {
                Ok((db::accounts::get(c, aid)?, db::followers::get(c, fid)?))
            })
            .await?;
        let (Some(account), Some(follower)) = (account, follower) else {
            return self.fail(&row, None, "公众号或粉丝已不存在").await;
        };
        let now = self.clock.now();
        let b = budget(
            &account.rules,
            follower.message_window,
            follower.event_window,
            now,
        );
        if !b.allowed {
            let reason = b.reason.unwrap_or_else(|| "当前不允许发送".into());
            return self.fail(&row, None, &reason).await;
        }
        let charge = b.charge.unwrap_or(crate::model::InteractionKind::Message);
        let result = self
            .deliver(&account, &follower.openid, &row, &payload)
            .await;
        match result {
            Ok(()) => self.record_sent(&row, charge).await,
            Err(e) if e.is_transient() => {
                let reason = e.explain();
                let (id, next, code) = (row.id, now + backoff(row.attempts + 1), e.code());
                tracing::warn!(outbox = %row.id, error = %e, retry_in = ?backoff(row.attempts + 1), "send failed; will retry");
                let r = reason.clone();
                self.db
                    .write(move |c| db::outbox::mark_retry(c, id, next, code, &r))
                    .await?;
                Ok(Outcome::Retry(reason))
            }
            Err(e) => {
                tracing::warn!(outbox = %row.id, error = %e, "send refused by WeChat");
                self.fail(&row, e.code(), &e.explain()).await
            }
        }
    }

    async fn fail(&self, row: &OutboxRow, code: Option<i64>, reason: &str) -> DbResult<Outcome> {
        let (id, r) = (row.id, reason.to_string());
        self.db
            .write(move |c| db::outbox::mark_failed(c, id, code, &r))
            .await?;
        Ok(Outcome::Failed(reason.to_string()))
    }

    async fn deliver(
        &self,
        account: &db::accounts::Account,
        openid: &str,
        row: &OutboxRow,
        payload: &Payload,
    ) -> Result<(), ApiError> {
        let body = match payload {
            Payload::Text(text) => json!({
                "touser": openid,
                "msgtype": "text",
                "text": { "content": text.content },
            }),
            // A menu the follower taps (satisfaction survey, B13).
            Payload::Msgmenu(menu) => json!({
                "touser": openid,
                "msgtype": "msgmenu",
                "msgmenu": {
                    "head_content": menu.head,
                    "list": menu.items,
                    "tail_content": menu.tail,
                },
            }),
            Payload::Image(media) | Payload::Voice(media) => {
                let kind = payload.kind().as_str();
                let media_id = self.media_id(account, row, payload, media).await?;
                json!({ "touser": openid, "msgtype": kind, kind: { "media_id": media_id } })
            }
        };
        self.api.send_custom(account, &body).await
    }

    /// The row's media_id, uploading its file first when it has none yet.
    async fn media_id(
        &self,
        account: &db::accounts::Account,
        row: &OutboxRow,
        payload: &Payload,
        media: &Media,
    ) -> Result<String, ApiError> {
        if let Some(id) = media.media_id.as_deref().filter(|s| !s.is_empty()) {
            return Ok(id.to_string());
        }
        let rel = media.path.as_str();
        let path = safe_join(&self.media_dir, rel)
            .ok_or_else(|| ApiError::Local(format!("bad media path {rel:?}")))?;
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| ApiError::Local(format!("{}: {e}", path.display())))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("file")
            .to_string();
        let kind = payload.kind().as_str();
        let media_id = self.api.upload_media(account, kind, &name, bytes).await?;
        // Keep it, so a retry does not upload again.
        let mut payload = payload.clone();
        if let Some(media) = payload.media_mut() {
            media.media_id = Some(media_id.clone());
        }
        let id = row.id;
        self.db
            .write(move |c| db::outbox::set_payload(c, id, &payload))
            .await?;
        Ok(media_id)
    }

    /// Runs for ever: a pass, then sleep until the next row is due or one is enqueued.
    pub async fn run(self) {
        let (_keep, stop) = tokio::sync::watch::channel(false);
        self.run_until(stop).await;
    }

    /// Runs until `stop` turns true; a pass under way finishes first, so what
    /// was sent is also written down before the database closes.
    pub async fn run_until(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        while !*stop.borrow() {
            let trouble = match self.pass().await {
                Err(e) => {
                    tracing::error!(error = %e, "outbox pass failed");
                    true
                }
                Ok(_) => !self.unrecorded.lock().map_or(true, |s| s.is_empty()),
            };
            let next = self.db.read(db::outbox::next_due).await.ok().flatten();
            let mut wait = match next {
                Some(at) => {
                    let d = at.duration_since(self.clock.now());
                    Duration::from_millis(d.as_millis().clamp(0, 5_000) as u64)
                }
                None => Duration::from_secs(5),
            };
            if trouble {
                // The database is refusing writes: do not spin.
                wait = wait.max(Duration::from_secs(1));
            }
            tokio::select! {
                _ = self.wake.notified() => {},
                _ = tokio::time::sleep(wait) => {},
                _ = stop.changed() => {},
            }
        }
    }
}

use std::time::Duration;

/// `base/rel` if `rel` is a plain relative path (no `..`, not absolute).
pub fn safe_join(base: &std::path::Path, rel: &str) -> Option<PathBuf> {
    let p = std::path::Path::new(rel);
    if rel.is_empty() || p.is_absolute() {
        return None;
    }
    if p.components()
        .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return None;
    }
    Some(base.join(p))
}

/// Queues a text reply (committed before any network call) and wakes the sender.
pub async fn queue_text(
    db: &Db,
    clock: &Clock,
    wake: &Notify,
    account: crate::model::AccountId,
    follower: crate::model::FollowerId,
    content: &str,
    sender: Option<crate::model::UserId>,
) -> DbResult<crate::model::MessageId> {
    let payload = Payload::text(content);
    let now = clock.now();
    let (message, _) = db
        .write(move |c| db::outbox::enqueue_payload(c, account, follower, &payload, sender, now))
        .await?;
    wake.notify_one();
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), SignedDuration::from_secs(2));
        assert_eq!(backoff(3), SignedDuration::from_secs(8));
        assert_eq!(backoff(40), SignedDuration::from_secs(300));
    }

    #[test]
    fn media_paths_cannot_escape_the_media_folder() {
        let base = std::path::Path::new("/data/media");
        assert!(safe_join(base, "1/2.jpg").is_some());
        for bad in ["", "/etc/passwd", "../kefu.db", "1/../../x", "./x"] {
            assert!(safe_join(base, bad).is_none(), "{bad}");
        }
    }
}
