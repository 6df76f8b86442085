//! Sends the outbox (A6, A7). Each pass takes, per follower, the oldest pending
//! row that is due; checks the reply budget (a send that would certainly fail
//! is refused with the reason, not sent); commits the row as `sending`; uploads
//! media when needed; calls customer-service send; and records the outcome in
//! the same row: sent; retried later with backoff when nothing reached WeChat
//! or WeChat said it took nothing (refused connection, busy, HTTP 5xx);
//! **unknown** when the call went out and its answer was lost (a timeout, a
//! cut connection, or a restart while it was in flight) — never resent
//! automatically, since WeChat has no idempotency key; or failed for good with
//! the Chinese explanation the agent sees on the message. A row whose payload
//! cannot be read is failed with a reason, never sent.
//!
//! Under failure (issue 11) nothing spins: an outcome that cannot be written
//! is kept in memory (the row stays `sending`, so it is not sent again) and
//! written by a later pass, and a pass in trouble makes the loop wait longer
//! each time (up to [`TROUBLE_WAIT_MAX`]). While an account's rows wait after
//! the API was unreachable, a cheap probe asks every [`PROBE_EVERY`] whether it
//! answers again; when it does (or any send to that account succeeds), the
//! waiting rows become due within [`WAKE_SPREAD`], spread per follower, in
//! order per follower as always. Everything it needs is in the database, so
//! after a restart it simply goes on.

use super::api::{ApiError, WechatApi};
use super::budget::budget;
use crate::clock::Clock;
use crate::db::outbox::{Media, OutboxRow, Payload};
use crate::db::{self, Db, DbResult};
use crate::i18n::Msg;
use crate::model::{AccountId, FollowerId, InteractionKind, MessageId, OutboxId};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::Notify;

/// The longest wait between two attempts of a row.
pub const BACKOFF_MAX: SignedDuration = SignedDuration::from_secs(60);
/// How often an account whose API did not answer is probed.
pub const PROBE_EVERY: Duration = Duration::from_secs(2);
/// Woken rows become due within this, spread per follower.
pub const WAKE_SPREAD: SignedDuration = SignedDuration::from_secs(2);
/// After waking an account's rows, the next wake waits at least this, doubling
/// up to [`WAKE_GAP_MAX`] while sends keep failing (reset by a success).
const WAKE_GAP_MIN: Duration = Duration::from_secs(5);
const WAKE_GAP_MAX: Duration = Duration::from_secs(60);
/// The loop's wait after a pass in trouble (the database refused a write):
/// 1, 2, 4 … seconds, at most this.
pub const TROUBLE_WAIT_MAX: Duration = Duration::from_secs(30);

/// What the agent reads on a row whose call was under way when kefu stopped.
pub fn lost_by_restart() -> Msg {
    Msg::new("outbox-lost-by-restart")
}

/// Backoff after the n-th transient failure: 2, 4, 8 … seconds, at most a minute.
pub fn backoff(attempts: i64) -> SignedDuration {
    let secs = 2i64.saturating_pow(attempts.clamp(1, 20) as u32);
    SignedDuration::from_secs(secs).min(BACKOFF_MAX)
}

/// A follower's place in `[0, spread)`, different per `salt`: spreads the
/// followers of an account so they do not all retry in the same instant.
pub fn jitter(follower: FollowerId, salt: i64, spread: SignedDuration) -> SignedDuration {
    let spread_ms = spread.as_millis().max(1) as u64;
    // splitmix64: a fixed, well-mixed hash of the two numbers.
    let mut x = (follower.0 as u64) ^ (salt as u64).rotate_left(32);
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    SignedDuration::from_millis((x % spread_ms) as i64)
}

/// The loop's wait after `n` passes in trouble in a row.
pub fn trouble_wait(n: u32) -> Duration {
    Duration::from_secs(1u64 << n.saturating_sub(1).min(5)).min(TROUBLE_WAIT_MAX)
}

/// An outcome known but not yet written down (the database refused it). The
/// row stays `sending` meanwhile, so it is never sent again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// WeChat accepted it; charged to this window.
    Sent(InteractionKind),
    /// The call went out, its answer was lost; charged (WeChat may have counted it).
    Unknown {
        reason: Msg,
        charge: Option<InteractionKind>,
    },
    /// Nothing was delivered: again at `next`.
    Retry {
        next: Timestamp,
        code: Option<i64>,
        reason: Msg,
    },
    Failed {
        code: Option<i64>,
        reason: Msg,
    },
}

impl Record {
    fn outcome(&self) -> Outcome {
        match self {
            Record::Sent(_) => Outcome::Sent,
            Record::Unknown { reason, .. } => Outcome::Unknown(reason.now()),
            Record::Retry { reason, .. } => Outcome::Retry(reason.now()),
            Record::Failed { reason, .. } => Outcome::Failed(reason.now()),
        }
    }
}

/// A row's outcome waiting to be written down, with what writing it needs.
#[derive(Clone, Debug)]
pub struct Unwritten {
    pub message: MessageId,
    pub follower: FollowerId,
    pub record: Record,
}

/// Outcomes not yet written down, shared by the senders of one process.
pub type Unrecorded = Arc<Mutex<HashMap<OutboxId, Unwritten>>>;

/// What the sender knows about each account's API, and counters for tests.
#[derive(Default)]
pub struct Status {
    accounts: Mutex<HashMap<AccountId, Health>>,
    /// Passes run.
    pub passes: AtomicU64,
    /// Probes sent.
    pub probes: AtomicU64,
}

struct Health {
    /// The last send failed without reaching WeChat (probe until it answers).
    down: bool,
    /// A send succeeded since the waiting rows were last woken.
    answered: bool,
    next_probe: Instant,
    next_wake: Instant,
    gap: Duration,
}

impl Health {
    fn new(now: Instant) -> Health {
        Health {
            // Rows already waiting when the sender started: find out.
            down: true,
            answered: false,
            next_probe: now,
            next_wake: now,
            gap: WAKE_GAP_MIN,
        }
    }
}

impl Status {
    fn with<T>(&self, account: AccountId, f: impl FnOnce(&mut Health) -> T) -> T {
        let mut map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        f(map
            .entry(account)
            .or_insert_with(|| Health::new(Instant::now())))
    }

    /// A send to the account ended: `Some(true)` it got through, `Some(false)`
    /// the API was unreachable, `None` WeChat answered (busy, refusal).
    fn saw(&self, account: AccountId, reached: Option<bool>) {
        self.with(account, |h| match reached {
            Some(true) => {
                h.down = false;
                h.answered = true;
                h.gap = WAKE_GAP_MIN;
            }
            Some(false) => h.down = true,
            None => h.down = false,
        });
    }
}

/// Did this failure happen without the API answering (so a probe is worth it)?
fn unreachable(e: &ApiError) -> bool {
    match e {
        ApiError::Network(_) | ApiError::Lost(_) => true,
        ApiError::Http(status) => *status >= 500 || *status == 429,
        _ => false,
    }
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
    /// Outcomes known but not written down yet (the database refused the
    /// write): written by a later pass, never sent again.
    pub unrecorded: Unrecorded,
    /// Told about every delivery change, so the agent sees it live.
    pub live: Option<Arc<crate::live::Hub>>,
    /// Per account: is the API answering; counters.
    pub status: Arc<Status>,
}

/// What happened to one row in a pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Retry(String),
    Failed(String),
    /// The call went out and its answer was lost: the agent decides.
    Unknown(String),
}

/// What a pass did, for the loop.
#[derive(Debug, Default)]
pub struct Report {
    pub outcomes: Vec<(OutboxId, Outcome)>,
    /// Something could not be read or written: wait before the next pass.
    pub trouble: bool,
    /// Rows wait on an account's API: come back for the probe.
    pub waiting: bool,
}

impl Sender {
    /// Sends what is due now; returns the outcomes (for tests and logs).
    pub async fn pass(&self) -> DbResult<Vec<(OutboxId, Outcome)>> {
        Ok(self.pass_report().await?.outcomes)
    }

    /// A pass: writes down what could not be written before, probes and wakes
    /// accounts whose rows wait, then sends what is due.
    pub async fn pass_report(&self) -> DbResult<Report> {
        self.status.passes.fetch_add(1, Ordering::Relaxed);
        let mut report = Report {
            trouble: !self.flush().await,
            ..Report::default()
        };
        match self.probe_and_wake().await {
            Ok(waiting) => report.waiting = waiting,
            Err(e) => {
                self.warn("probe", &e);
                report.trouble = true;
            }
        }
        let now = self.clock.now();
        let due = self.db.read(move |c| db::outbox::due(c, now, 64)).await?;
        let mut tasks = tokio::task::JoinSet::new();
        for row in due {
            let me = self.clone();
            // Rows of one pass belong to different followers: send them side by side.
            tasks.spawn(async move {
                let (id, message) = (row.id, row.message_id);
                let result = me.send_one(row).await;
                if let Ok(Some(_)) = &result {
                    me.show(message).await;
                }
                (id, result)
            });
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok((id, Ok(Some(outcome)))) => report.outcomes.push((id, outcome)),
                Ok((_, Ok(None))) => {}
                Ok((id, Err(e))) => {
                    report.trouble = true;
                    self.warn("row", &format!("outbox row {id} could not be updated: {e}"));
                }
                Err(e) => {
                    report.trouble = true;
                    tracing::error!(error = %e, "outbox task failed");
                }
            }
        }
        report.outcomes.sort_by_key(|(id, _)| *id);
        Ok(report)
    }

    /// Logs a warning of this kind at most once per period, with a count.
    fn warn(&self, kind: &str, e: &dyn std::fmt::Display) {
        if let Some(skipped) = self.api.quiet.allow(&format!("outbox-{kind}")) {
            tracing::warn!(error = %e, skipped, "outbox: {kind}");
        }
    }

    /// Tells the consoles that a message's delivery changed.
    async fn show(&self, message: MessageId) {
        let Some(live) = &self.live else {
            return;
        };
        let audience = self
            .db
            .read(move |c| crate::access::audience_of_message(c, message))
            .await;
        match audience {
            Ok(audience) => live.publish(crate::live::Live::Message {
                id: message,
                audience,
            }),
            Err(e) => self.warn("live", &format!("delivery not shown live: {e}")),
        }
    }

    fn unrecorded(&self) -> std::sync::MutexGuard<'_, HashMap<OutboxId, Unwritten>> {
        self.unrecorded.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes down the outcomes a refused write left in memory; `false` if
    /// the database still refuses.
    async fn flush(&self) -> bool {
        let waiting: Vec<(OutboxId, Unwritten)> = self
            .unrecorded()
            .iter()
            .map(|(id, u)| (*id, u.clone()))
            .collect();
        let mut ok = true;
        for (id, u) in waiting {
            match self.record(id, u.message, u.follower, u.record).await {
                Ok(_) => self.show(u.message).await,
                Err(e) => {
                    self.warn("record", &e);
                    ok = false;
                    break;
                }
            }
        }
        ok
    }

    /// Writes a claimed row's outcome (and charges the budget); when the
    /// database refuses, keeps it in memory for a later pass.
    async fn record(
        &self,
        id: OutboxId,
        message: MessageId,
        follower: FollowerId,
        record: Record,
    ) -> DbResult<Outcome> {
        let now = self.clock.now();
        let r = record.clone();
        let written = self
            .db
            .write(move |c| -> DbResult<()> {
                match &r {
                    Record::Sent(charge) => {
                        db::outbox::mark_sent(c, id, now)?;
                        db::followers::count_sent(c, follower, *charge)
                    }
                    Record::Unknown { reason, charge } => {
                        if db::outbox::mark_unknown(c, id, &reason.stored())? {
                            if let Some(charge) = charge {
                                db::followers::count_sent(c, follower, *charge)?;
                            }
                        }
                        Ok(())
                    }
                    Record::Retry { next, code, reason } => {
                        db::outbox::mark_retry(c, id, *next, *code, &reason.stored())
                    }
                    Record::Failed { code, reason } => {
                        db::outbox::mark_failed(c, id, *code, &reason.stored())
                    }
                }
            })
            .await;
        let outcome = record.outcome();
        match written {
            Ok(()) => {
                self.unrecorded().remove(&id);
                Ok(outcome)
            }
            Err(e) => {
                self.unrecorded().insert(
                    id,
                    Unwritten {
                        message,
                        follower,
                        record,
                    },
                );
                Err(e)
            }
        }
    }

    /// Rows found `sending` when a sender starts were under way when the
    /// previous one stopped: their outcome is unknown, and WeChat may have
    /// counted them. Returns how many.
    pub async fn recover(&self) -> DbResult<usize> {
        let now = self.clock.now();
        let ours: Vec<OutboxId> = self.unrecorded().keys().copied().collect();
        let rows = self
            .db
            .write(move |c| -> DbResult<Vec<db::outbox::InFlight>> {
                let mut found = db::outbox::in_flight(c)?;
                found.retain(|r| !ours.contains(&r.id));
                for r in &found {
                    if db::outbox::mark_unknown(c, r.id, &lost_by_restart().stored())? {
                        if let Some(charge) = charge_of(c, r.follower_id, now)? {
                            db::followers::count_sent(c, r.follower_id, charge)?;
                        }
                    }
                }
                Ok(found)
            })
            .await?;
        for r in &rows {
            tracing::warn!(outbox = %r.id, "send was under way at the last stop: outcome unknown");
            self.show(r.message_id).await;
        }
        Ok(rows.len())
    }

    /// Probes accounts whose rows wait after the API was unreachable, and
    /// wakes their rows when it answers (or a send to it succeeded). Returns
    /// whether any rows wait.
    async fn probe_and_wake(&self) -> DbResult<bool> {
        let now = self.clock.now();
        let waiting = self
            .db
            .read(move |c| db::outbox::waiting_accounts(c, now))
            .await?;
        if waiting.is_empty() {
            return Ok(false);
        }
        let at = Instant::now();
        let (mut wake, mut probe) = (Vec::new(), Vec::new());
        for &a in &waiting {
            self.status.with(a, |h| {
                if h.answered && at >= h.next_wake {
                    wake.push(a);
                } else if h.down && at >= h.next_probe {
                    h.next_probe = at + PROBE_EVERY;
                    probe.push(a);
                }
            });
        }
        let mut probes = tokio::task::JoinSet::new();
        for a in probe {
            let me = self.clone();
            probes.spawn(async move {
                let account = me.db.read(move |c| db::accounts::get(c, a)).await;
                let Ok(Some(account)) = account else {
                    return (a, false);
                };
                me.status.probes.fetch_add(1, Ordering::Relaxed);
                (a, me.api.probe(&account).await)
            });
        }
        while let Some(done) = probes.join_next().await {
            if let Ok((a, true)) = done {
                let now = Instant::now();
                let allowed = self.status.with(a, |h| {
                    h.down = false;
                    now >= h.next_wake
                });
                if allowed {
                    tracing::info!(account = %a, "WeChat answers again: waiting replies go out");
                    wake.push(a);
                }
            }
        }
        for a in wake {
            let now = self.clock.now();
            let salt = now.as_millisecond();
            self.db
                .write(move |c| db::outbox::wake(c, a, now, |f| now + jitter(f, salt, WAKE_SPREAD)))
                .await?;
            let at = Instant::now();
            self.status.with(a, |h| {
                h.answered = false;
                h.next_wake = at + h.gap;
                h.gap = (h.gap * 2).min(WAKE_GAP_MAX);
            });
        }
        Ok(true)
    }

    /// Sends one due row. `None` when another pass took it first.
    async fn send_one(&self, row: OutboxRow) -> DbResult<Option<Outcome>> {
        let payload = match &row.payload {
            Ok(p) => p.clone(),
            Err(e) => {
                tracing::warn!(outbox = %row.id, error = %e, "outbox row not sent");
                return self
                    .fail(&row, None, Msg::new("outbox-unreadable"))
                    .await
                    .map(Some);
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
            return self
                .fail(&row, None, Msg::new("outbox-gone"))
                .await
                .map(Some);
        };
        let now = self.clock.now();
        let b = budget(
            &account.rules,
            follower.message_window,
            follower.event_window,
            now,
        );
        if !b.allowed {
            let reason = b.reason.unwrap_or_else(|| Msg::new("budget-spent"));
            return self.fail(&row, None, reason).await.map(Some);
        }
        let charge = b.charge.unwrap_or(InteractionKind::Message);
        // Committed before any network call: a restart finds it `sending`.
        let id = row.id;
        if !self.db.write(move |c| db::outbox::claim(c, id)).await? {
            return Ok(None);
        }
        let retry = |e: &ApiError| {
            let wait = backoff(row.attempts + 1);
            let spread = SignedDuration::from_millis(wait.as_millis() as i64 / 4);
            Record::Retry {
                next: self.clock.now() + wait + jitter(fid, row.attempts, spread),
                code: e.code(),
                reason: e.explain_msg(),
            }
        };
        let record = match self
            .body_for(&account, &follower.openid, &row, &payload)
            .await
        {
            // Nothing was sent yet (an upload or a local file failed).
            Err(e) if e.is_transient() => {
                self.warn("upload", &e);
                retry(&e)
            }
            Err(e) => Record::Failed {
                code: e.code(),
                reason: e.explain_msg(),
            },
            Ok(body) => match self.api.send_custom(&account, &body).await {
                Ok(()) => {
                    self.status.saw(aid, Some(true));
                    Record::Sent(charge)
                }
                Err(e @ (ApiError::Lost(_) | ApiError::Decode(_))) => {
                    tracing::warn!(outbox = %row.id, error = %e, "send went out without an answer: outcome unknown, not resent");
                    self.status.saw(aid, Some(false));
                    Record::Unknown {
                        reason: e.explain_msg(),
                        charge: Some(charge),
                    }
                }
                Err(e) if e.is_transient() => {
                    // A throttled token fetch or our own database says nothing
                    // about WeChat: the account keeps its state (and its probe).
                    if !matches!(e, ApiError::Throttled | ApiError::Db(_)) {
                        self.status
                            .saw(aid, if unreachable(&e) { Some(false) } else { None });
                    }
                    if let Some(skipped) = self.api.quiet.allow(&format!("send-retry-{aid}")) {
                        tracing::warn!(account = %aid, outbox = %row.id, error = %e, skipped, "send failed; will retry");
                    }
                    retry(&e)
                }
                Err(e) => {
                    self.status.saw(aid, None);
                    tracing::warn!(outbox = %row.id, error = %e, "send refused by WeChat");
                    Record::Failed {
                        code: e.code(),
                        reason: e.explain_msg(),
                    }
                }
            },
        };
        self.record(row.id, row.message_id, fid, record)
            .await
            .map(Some)
    }

    /// A row refused before it was claimed (unreadable, no budget, gone).
    async fn fail(&self, row: &OutboxRow, code: Option<i64>, reason: Msg) -> DbResult<Outcome> {
        let (id, r) = (row.id, reason.stored());
        self.db
            .write(move |c| db::outbox::mark_failed(c, id, code, &r))
            .await?;
        Ok(Outcome::Failed(reason.now()))
    }

    /// The JSON body of the send; uploads the media first when needed.
    async fn body_for(
        &self,
        account: &db::accounts::Account,
        openid: &str,
        row: &OutboxRow,
        payload: &Payload,
    ) -> Result<serde_json::Value, ApiError> {
        Ok(match payload {
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
        })
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
    /// was sent is also written down before the database closes. Starts by
    /// making rows left `sending` by the previous run **unknown**.
    pub async fn run_until(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut recovered = false;
        let mut troubled = 0u32;
        while !*stop.borrow() {
            if !recovered {
                match self.recover().await {
                    Ok(_) => recovered = true,
                    Err(e) => self.warn("recover", &e),
                }
            }
            let (trouble, waiting) = match self.pass_report().await {
                Err(e) => {
                    self.warn("pass", &e);
                    (true, false)
                }
                Ok(r) => (r.trouble || !recovered, r.waiting),
            };
            troubled = if trouble {
                troubled.saturating_add(1)
            } else {
                0
            };
            let next = self.db.read(db::outbox::next_due).await;
            let mut wait = match next {
                Ok(Some(at)) => {
                    let d = at.duration_since(self.clock.now());
                    Duration::from_millis(d.as_millis().clamp(0, 5_000) as u64)
                }
                Ok(None) => Duration::from_secs(5),
                Err(_) => TROUBLE_WAIT_MAX.min(trouble_wait(troubled.max(1))),
            };
            if waiting {
                wait = wait.min(PROBE_EVERY);
            }
            if trouble {
                // The database is refusing: do not spin, and wait longer each time.
                wait = wait.max(trouble_wait(troubled));
            }
            tokio::select! {
                _ = self.wake.notified() => {},
                _ = tokio::time::sleep(wait) => {},
                _ = stop.changed() => {},
            }
        }
    }
}

/// The window a send to this follower would be charged to now, if any.
fn charge_of(
    c: &rusqlite::Connection,
    follower: FollowerId,
    now: Timestamp,
) -> DbResult<Option<InteractionKind>> {
    let Some(f) = db::followers::get(c, follower)? else {
        return Ok(None);
    };
    let Some(account) = db::accounts::get(c, f.account_id)? else {
        return Ok(None);
    };
    Ok(budget(&account.rules, f.message_window, f.event_window, now).charge)
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
        assert_eq!(backoff(6), SignedDuration::from_secs(60));
        assert_eq!(backoff(40), SignedDuration::from_secs(60));
    }

    #[test]
    fn trouble_waits_grow_and_are_capped() {
        let waits: Vec<u64> = (1..=8).map(|n| trouble_wait(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn jitter_spreads_followers_within_the_spread() {
        let spread = SignedDuration::from_secs(2);
        let places: Vec<i64> = (1..=50)
            .map(|f| jitter(FollowerId(f), 7, spread).as_millis() as i64)
            .collect();
        assert!(places.iter().all(|p| (0..2000).contains(p)), "{places:?}");
        let distinct: std::collections::HashSet<_> = places.iter().collect();
        assert!(
            distinct.len() > 40,
            "followers get different places: {places:?}"
        );
        assert_eq!(
            jitter(FollowerId(3), 7, spread),
            jitter(FollowerId(3), 7, spread),
            "a pure function"
        );
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
