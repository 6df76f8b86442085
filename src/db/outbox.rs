//! The outbox (A6): every outbound customer-service message is a row here,
//! committed before any network call. The sender picks, per follower, only the
//! oldest pending row, so messages leave in the order they were written.
//!
//! What a row sends is a typed [`Payload`], one variant per [`OutboundKind`].
//! It is stored as JSON in `payload` without a tag of its own: the `kind`
//! column says which variant it is, as it always has, so rows written by
//! earlier versions read the same. A payload that cannot be read is handed to
//! the sender as an error, which fails that row with a reason.

use super::{DbResult, ms, ts};
use crate::db::Cached;
use crate::model::{
    AccountId, FollowerId, MessageId, MessageKind, OutboundKind, OutboxId, OutboxState, UserId,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// What an outbox row sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    Text(Text),
    Image(Media),
    Voice(Media),
    /// A menu the follower taps (the satisfaction survey, B13).
    Msgmenu(Menu),
}

/// `{"content"}`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub content: String,
}

/// `{"path", "upload", "media_id"}`: a file to upload (relative to the media
/// folder), or what WeChat already knows it by.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// The agent's upload the file came from, shown on the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<i64>,
    /// Set once the file is uploaded, so a retry does not upload it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
}

/// `{"head", "items": [{"id", "content"}], "tail", "fallback"}`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Menu {
    #[serde(default)]
    pub head: String,
    pub items: Vec<MenuItem>,
    #[serde(default)]
    pub tail: String,
    /// The message's text in the history: what a follower without menu
    /// support would read.
    #[serde(default)]
    pub fallback: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuItem {
    pub id: String,
    pub content: String,
}

/// Why a stored payload cannot be read as its row's kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} payload cannot be read: {reason}")]
pub struct BadPayload {
    pub kind: OutboundKind,
    pub reason: String,
}

impl Payload {
    pub fn text(content: &str) -> Payload {
        Payload::Text(Text {
            content: content.to_string(),
        })
    }

    pub fn kind(&self) -> OutboundKind {
        match self {
            Payload::Text(_) => OutboundKind::Text,
            Payload::Image(_) => OutboundKind::Image,
            Payload::Voice(_) => OutboundKind::Voice,
            Payload::Msgmenu(_) => OutboundKind::Msgmenu,
        }
    }

    /// Reads the JSON of a row of this kind.
    pub fn from_value(kind: OutboundKind, value: serde_json::Value) -> Result<Payload, BadPayload> {
        let bad = |e: serde_json::Error| BadPayload {
            kind,
            reason: e.to_string(),
        };
        Ok(match kind {
            OutboundKind::Text => Payload::Text(serde_json::from_value(value).map_err(bad)?),
            OutboundKind::Image => Payload::Image(serde_json::from_value(value).map_err(bad)?),
            OutboundKind::Voice => Payload::Voice(serde_json::from_value(value).map_err(bad)?),
            OutboundKind::Msgmenu => Payload::Msgmenu(serde_json::from_value(value).map_err(bad)?),
        })
    }

    /// Reads the stored text of a row of this kind.
    pub fn from_json(kind: OutboundKind, json: &str) -> Result<Payload, BadPayload> {
        let value = serde_json::from_str(json).map_err(|e| BadPayload {
            kind,
            reason: e.to_string(),
        })?;
        Payload::from_value(kind, value)
    }

    /// The JSON stored in the row (and as the message's data).
    pub fn to_value(&self) -> serde_json::Value {
        let value = match self {
            Payload::Text(t) => serde_json::to_value(t),
            Payload::Image(m) | Payload::Voice(m) => serde_json::to_value(m),
            Payload::Msgmenu(m) => serde_json::to_value(m),
        };
        // Plain structs of strings and numbers always serialize.
        value.unwrap_or(serde_json::Value::Null)
    }

    /// The file of an image or a voice message.
    pub fn media_mut(&mut self) -> Option<&mut Media> {
        match self {
            Payload::Image(m) | Payload::Voice(m) => Some(m),
            Payload::Text(_) | Payload::Msgmenu(_) => None,
        }
    }

    /// The message this payload is stored as: its kind and its text.
    fn message(&self) -> (MessageKind, &str) {
        match self {
            Payload::Text(t) => (MessageKind::Text, &t.content),
            Payload::Image(_) => (MessageKind::Image, ""),
            Payload::Voice(_) => (MessageKind::Voice, ""),
            // Shown as the text a follower without menu support would read.
            Payload::Msgmenu(m) => (MessageKind::Text, &m.fallback),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutboxRow {
    pub id: OutboxId,
    pub message_id: MessageId,
    pub account_id: AccountId,
    pub follower_id: FollowerId,
    pub kind: OutboundKind,
    /// What to send, or why the stored JSON cannot be read (the row is then
    /// failed, never sent).
    pub payload: Result<Payload, BadPayload>,
    pub state: OutboxState,
    pub attempts: i64,
    pub next_attempt_at: jiff::Timestamp,
    pub error_code: Option<i64>,
    pub error_reason: String,
}

/// Stores an outbound message and its outbox row in one go.
pub fn enqueue_payload(
    conn: &Connection,
    account: AccountId,
    follower: FollowerId,
    payload: &Payload,
    sender: Option<UserId>,
    now: jiff::Timestamp,
) -> DbResult<(MessageId, OutboxId)> {
    let (kind, content) = payload.message();
    let data = payload.to_value();
    let new = super::messages::NewOutbound {
        account,
        follower,
        kind,
        content,
        data: &data,
        sender,
    };
    let message = super::messages::insert_outbound(conn, &new, now)?;
    conn.exec(
        "INSERT INTO outbox (message_id, account_id, follower_id, kind, payload, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![message, account, follower, payload.kind(), data.to_string(), ms(now)],
    )?;
    Ok((message, OutboxId(conn.last_insert_rowid())))
}

/// [`enqueue_payload`] for writers that build the payload as JSON: it must
/// read as a payload of `kind`, or nothing is stored.
pub fn enqueue(
    conn: &Connection,
    account: AccountId,
    follower: FollowerId,
    kind: OutboundKind,
    payload: &serde_json::Value,
    sender: Option<UserId>,
    now: jiff::Timestamp,
) -> DbResult<(MessageId, OutboxId)> {
    let payload = Payload::from_value(kind, payload.clone())
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    enqueue_payload(conn, account, follower, &payload, sender, now)
}

const COLUMNS: &str = "id, message_id, account_id, follower_id, kind, payload, state, attempts,
    next_attempt_at, error_code, error_reason";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    let kind: OutboundKind = r.get(4)?;
    let payload: String = r.get(5)?;
    Ok(OutboxRow {
        id: r.get(0)?,
        message_id: r.get(1)?,
        account_id: r.get(2)?,
        follower_id: r.get(3)?,
        kind,
        payload: Payload::from_json(kind, &payload),
        state: r.get(6)?,
        attempts: r.get(7)?,
        next_attempt_at: ts(r.get(8)?),
        error_code: r.get(9)?,
        error_reason: super::shown(r.get(10)?),
    })
}

pub fn get(conn: &Connection, id: OutboxId) -> DbResult<Option<OutboxRow>> {
    Ok(conn
        .row(
            &format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// Rows to send now: for each follower, their oldest pending row, if it is due
/// and no older row of theirs is still being sent.
pub fn due(conn: &Connection, now: jiff::Timestamp, limit: i64) -> DbResult<Vec<OutboxRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM outbox o
         WHERE state = 'pending' AND next_attempt_at <= ?1
           AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.follower_id = o.follower_id
                           AND e.state IN ('pending', 'sending') AND e.id < o.id)
         ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt
        .query_map(params![ms(now), limit], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// When the next pending row becomes due, if any (so the sender can sleep until then).
pub fn next_due(conn: &Connection) -> DbResult<Option<jiff::Timestamp>> {
    // Only the oldest open row of each follower can be sent; rows behind it wait.
    let at: Option<i64> = conn.row(
        "SELECT min(next_attempt_at) FROM outbox o
         WHERE state = 'pending'
           AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.follower_id = o.follower_id
                           AND e.state IN ('pending', 'sending') AND e.id < o.id)",
        [],
        |r| r.get(0),
    )?;
    Ok(at.map(ts))
}

/// Takes a pending row for sending: committed before the HTTP call, so a
/// restart finds it `sending` and never sends it again blindly. `false` when
/// the row was no longer pending (another pass took it).
pub fn claim(conn: &Connection, id: OutboxId) -> DbResult<bool> {
    let n = conn.exec(
        "UPDATE outbox SET state = 'sending' WHERE id = ?1 AND state = 'pending'",
        [id],
    )?;
    Ok(n == 1)
}

/// A row left `sending`: its call was under way when the sender stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    pub id: OutboxId,
    pub message_id: MessageId,
    pub follower_id: FollowerId,
}

/// Every row still `sending` (only a new sender calls this, before its first pass).
pub fn in_flight(conn: &Connection) -> DbResult<Vec<InFlight>> {
    let mut stmt = conn.prepare(
        "SELECT id, message_id, follower_id FROM outbox WHERE state = 'sending' ORDER BY id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(InFlight {
                id: r.get(0)?,
                message_id: r.get(1)?,
                follower_id: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The call went out but its answer was lost: the row stays as it is until
/// the agent resends it with 重发 or lets it be with 忽略.
pub fn mark_unknown(conn: &Connection, id: OutboxId, reason: &str) -> DbResult<bool> {
    let n = conn.exec(
        "UPDATE outbox SET state = 'unknown', attempts = attempts + 1, error_code = NULL, error_reason = ?2
         WHERE id = ?1 AND state = 'sending'",
        params![id, reason],
    )?;
    Ok(n == 1)
}

/// Accounts with rows waiting after a transient failure (due later than now).
pub fn waiting_accounts(conn: &Connection, now: jiff::Timestamp) -> DbResult<Vec<AccountId>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT account_id FROM outbox
         WHERE state = 'pending' AND next_attempt_at > ?1 AND attempts > 0
         ORDER BY account_id",
    )?;
    let rows = stmt
        .query_map([ms(now)], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The API answers again: the account's waiting rows become due at `at(follower)`
/// (now plus a small spread per follower), never later than they already were.
/// Returns how many rows moved.
pub fn wake(
    conn: &Connection,
    account: AccountId,
    now: jiff::Timestamp,
    at: impl Fn(FollowerId) -> jiff::Timestamp,
) -> DbResult<usize> {
    let mut stmt = conn.prepare(
        "SELECT id, follower_id, next_attempt_at FROM outbox
         WHERE account_id = ?1 AND state = 'pending' AND next_attempt_at > ?2 AND attempts > 0",
    )?;
    let rows = stmt
        .query_map(params![account, ms(now)], |r| {
            Ok((
                r.get::<_, OutboxId>(0)?,
                r.get::<_, FollowerId>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut moved = 0;
    for (id, follower, next) in rows {
        let when = ms(at(follower)).min(next);
        if when < next {
            moved += conn.exec(
                "UPDATE outbox SET next_attempt_at = ?2 WHERE id = ?1 AND state = 'pending'",
                params![id, when],
            )?;
        }
    }
    Ok(moved)
}

/// Replaces what a row sends (a media_id learned by uploading its file).
pub fn set_payload(conn: &Connection, id: OutboxId, payload: &Payload) -> DbResult<()> {
    conn.exec(
        "UPDATE outbox SET payload = ?2 WHERE id = ?1",
        params![id, payload.to_value().to_string()],
    )?;
    Ok(())
}

/// WeChat accepted the row (claimed with [`claim`] before the call).
pub fn mark_sent(conn: &Connection, id: OutboxId, now: jiff::Timestamp) -> DbResult<()> {
    conn.exec(
        "UPDATE outbox SET state = 'sent', sent_at = ?2, attempts = attempts + 1, error_code = NULL, error_reason = ''
         WHERE id = ?1 AND state IN ('pending', 'sending')",
        params![id, ms(now)],
    )?;
    Ok(())
}

/// A transient failure where nothing reached WeChat (or WeChat said it took
/// nothing): try again at `next`, keeping the reason visible meanwhile.
pub fn mark_retry(
    conn: &Connection,
    id: OutboxId,
    next: jiff::Timestamp,
    code: Option<i64>,
    reason: &str,
) -> DbResult<()> {
    conn.exec(
        "UPDATE outbox SET state = 'pending', attempts = attempts + 1, next_attempt_at = ?2,
                error_code = ?3, error_reason = ?4
         WHERE id = ?1 AND state IN ('pending', 'sending')",
        params![id, ms(next), code, reason],
    )?;
    Ok(())
}

/// Refused for good: the reason is what the agent reads on the message.
pub fn mark_failed(
    conn: &Connection,
    id: OutboxId,
    code: Option<i64>,
    reason: &str,
) -> DbResult<()> {
    conn.exec(
        "UPDATE outbox SET state = 'failed', attempts = attempts + 1, error_code = ?2, error_reason = ?3
         WHERE id = ?1 AND state IN ('pending', 'sending')",
        params![id, code, reason],
    )?;
    Ok(())
}

/// Customer-service messages written but not yet sent to this follower
/// (waiting or under way). An `unknown` row is not counted here: it was
/// charged to the follower's window when its answer was lost, as WeChat may
/// have counted it.
pub fn pending_for(conn: &Connection, follower: FollowerId) -> DbResult<i64> {
    Ok(conn.row(
        "SELECT count(*) FROM outbox WHERE follower_id = ?1 AND state IN ('pending', 'sending')",
        [follower],
        |r| r.get(0),
    )?)
}

/// Queues a failed message, or one whose outcome is unknown, for another
/// attempt (the button 重发 — for an unknown one the agent accepts it may
/// arrive twice); `false` when it was neither.
pub fn retry_failed(conn: &Connection, message: MessageId, now: jiff::Timestamp) -> DbResult<bool> {
    let n = conn.exec(
        "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?2,
                error_code = NULL, error_reason = ''
         WHERE message_id = ?1 AND state IN ('failed', 'unknown')",
        params![message, ms(now)],
    )?;
    Ok(n > 0)
}

/// The agent lets an unknown outcome be (the button 忽略 does this).
/// `false` when it was not unknown.
pub fn ignore_unknown(conn: &Connection, message: MessageId) -> DbResult<bool> {
    let n = conn.exec(
        "UPDATE outbox SET state = 'ignored' WHERE message_id = ?1 AND state = 'unknown'",
        [message],
    )?;
    Ok(n > 0)
}

/// A row waiting after a transient failure is due now (the button 立即重试 does
/// this). `false` when it was not waiting.
pub fn retry_now(conn: &Connection, message: MessageId, now: jiff::Timestamp) -> DbResult<bool> {
    let n = conn.exec(
        "UPDATE outbox SET next_attempt_at = ?2
         WHERE message_id = ?1 AND state = 'pending' AND next_attempt_at > ?2",
        params![message, ms(now)],
    )?;
    Ok(n > 0)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::db::{accounts::tests::seed_account, followers, memory};
    use jiff::{SignedDuration, Timestamp};

    #[test]
    fn only_the_oldest_pending_row_of_a_follower_is_due() {
        let conn = memory().unwrap();
        let acc = seed_account(&conn, "wx1");
        let t0: Timestamp = "2026-05-01T00:00:00Z".parse().unwrap();
        let a = followers::upsert(&conn, acc, "oA", t0).unwrap();
        let b = followers::upsert(&conn, acc, "oB", t0).unwrap();
        let text = |s: &str| serde_json::json!({ "content": s });
        let (_, a1) = enqueue(&conn, acc, a, OutboundKind::Text, &text("1"), None, t0).unwrap();
        let (_, a2) = enqueue(&conn, acc, a, OutboundKind::Text, &text("2"), None, t0).unwrap();
        let (_, b1) = enqueue(&conn, acc, b, OutboundKind::Text, &text("x"), None, t0).unwrap();
        let ids = |rows: Vec<OutboxRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(due(&conn, t0, 10).unwrap()), vec![a1, b1]);

        // a1 fails transiently: a2 must wait behind it, b is unaffected.
        mark_retry(
            &conn,
            a1,
            t0 + SignedDuration::from_secs(5),
            Some(-1),
            "系统繁忙",
        )
        .unwrap();
        assert_eq!(ids(due(&conn, t0, 10).unwrap()), vec![b1]);
        assert_eq!(next_due(&conn).unwrap(), Some(t0));
        mark_sent(&conn, b1, t0).unwrap();
        assert_eq!(
            next_due(&conn).unwrap(),
            Some(t0 + SignedDuration::from_secs(5)),
            "a2 waits behind a1, so the next due time is a1's"
        );
        mark_sent(&conn, b1, t0).unwrap();
        assert_eq!(
            ids(due(&conn, t0 + SignedDuration::from_secs(5), 10).unwrap()),
            vec![a1]
        );
        mark_failed(&conn, a1, Some(45015), "超过48小时").unwrap();
        assert_eq!(
            ids(due(&conn, t0 + SignedDuration::from_secs(5), 10).unwrap()),
            vec![a2]
        );
        let row = get(&conn, a1).unwrap().unwrap();
        assert_eq!(
            (row.state, row.attempts, row.error_code),
            (OutboxState::Failed, 2, Some(45015))
        );
        let msg = crate::db::messages::get(&conn, row.message_id)
            .unwrap()
            .unwrap();
        assert_eq!(
            msg.delivery,
            Some((OutboxState::Failed, "超过48小时".to_string()))
        );
    }

    #[test]
    fn a_row_being_sent_holds_its_place_and_an_unknown_one_waits_for_the_agent() {
        let conn = memory().unwrap();
        let acc = seed_account(&conn, "wx1");
        let t0: Timestamp = "2026-05-01T00:00:00Z".parse().unwrap();
        let a = followers::upsert(&conn, acc, "oA", t0).unwrap();
        let (m1, a1) = enqueue_payload(&conn, acc, a, &Payload::text("1"), None, t0).unwrap();
        let (_, a2) = enqueue_payload(&conn, acc, a, &Payload::text("2"), None, t0).unwrap();
        assert!(claim(&conn, a1).unwrap());
        assert!(!claim(&conn, a1).unwrap(), "taken once");
        assert!(
            due(&conn, t0, 10).unwrap().is_empty(),
            "a2 waits behind a1 in flight"
        );
        assert_eq!(
            pending_for(&conn, a).unwrap(),
            2,
            "in flight still counts against the budget"
        );
        let found = in_flight(&conn).unwrap();
        assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), vec![a1]);

        assert!(mark_unknown(&conn, a1, "结果未知").unwrap());
        assert!(
            !mark_unknown(&conn, a1, "结果未知").unwrap(),
            "only from sending"
        );
        assert_eq!(pending_for(&conn, a).unwrap(), 1);
        assert_eq!(
            due(&conn, t0, 10)
                .unwrap()
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>(),
            vec![a2],
            "an unknown row does not hold up the next one"
        );
        assert!(!retry_now(&conn, m1, t0).unwrap(), "not waiting");
        assert!(retry_failed(&conn, m1, t0).unwrap(), "重发 an unknown one");
        assert_eq!(get(&conn, a1).unwrap().unwrap().state, OutboxState::Pending);

        assert!(claim(&conn, a1).unwrap());
        assert!(mark_unknown(&conn, a1, "结果未知").unwrap());
        assert!(ignore_unknown(&conn, m1).unwrap());
        assert!(!ignore_unknown(&conn, m1).unwrap());
        assert!(
            !retry_failed(&conn, m1, t0).unwrap(),
            "an ignored row stays"
        );
        assert_eq!(get(&conn, a1).unwrap().unwrap().state, OutboxState::Ignored);

        // A transient failure: waiting, woken by the probe, or hurried by hand.
        assert!(claim(&conn, a2).unwrap());
        let later = t0 + SignedDuration::from_secs(60);
        mark_retry(&conn, a2, later, None, "无法连接").unwrap();
        assert_eq!(waiting_accounts(&conn, t0).unwrap(), vec![acc]);
        let soon = t0 + SignedDuration::from_secs(1);
        assert_eq!(wake(&conn, acc, t0, |_| soon).unwrap(), 1);
        assert_eq!(get(&conn, a2).unwrap().unwrap().next_attempt_at, soon);
        assert_eq!(wake(&conn, acc, t0, |_| later).unwrap(), 0, "never later");
        let m2 = get(&conn, a2).unwrap().unwrap().message_id;
        assert!(retry_now(&conn, m2, t0).unwrap());
        assert_eq!(get(&conn, a2).unwrap().unwrap().next_attempt_at, t0);
        assert!(waiting_accounts(&conn, t0).unwrap().is_empty());
    }

    /// The payloads written for a follower, oldest first.
    pub fn payloads(conn: &Connection, follower: FollowerId) -> Vec<serde_json::Value> {
        let mut stmt = conn
            .prepare("SELECT payload FROM outbox WHERE follower_id = ?1 ORDER BY id")
            .unwrap();
        stmt.query_map([follower], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|p| serde_json::from_str(&p.unwrap()).unwrap())
            .collect()
    }

    /// As if the sender had sent everything.
    pub fn all_sent(conn: &Connection) {
        conn.execute("UPDATE outbox SET state = 'sent'", [])
            .unwrap();
    }

    /// The JSON each writer stores today (and stored before payloads were
    /// typed), exactly: each must read as its kind and be written back as is.
    #[test]
    fn payloads_as_written_today_read_back_and_keep_their_shape() {
        let survey = r#"{"head":"请为本次服务评分：","items":[{"id":"kefu_s5","content":"5 非常满意"},{"id":"kefu_s4","content":"4 满意"},{"id":"kefu_s3","content":"3 一般"},{"id":"kefu_s2","content":"2 不满意"},{"id":"kefu_s1","content":"1 非常不满意"}],"tail":"问题是否已解决？请回复“已解决”或“未解决”。也可直接回复 1-5 评分。","fallback":"请为本次服务评分：回复 1-5（5 为非常满意）。问题是否已解决？请回复“已解决”或“未解决”。"}"#;
        let cases = [
            // desk::send_text, wechat::outbox::queue_text
            (
                OutboundKind::Text,
                r#"{"content":"您好，请问有什么可以帮您？"}"#,
            ),
            // desk::reply_image, then the sender keeps the media_id it uploaded
            (
                OutboundKind::Image,
                r#"{"path":"uploads/1/photo.png","upload":7}"#,
            ),
            (
                OutboundKind::Image,
                r#"{"media_id":"MEDIA_1","path":"uploads/1/photo.png","upload":7}"#,
            ),
            (OutboundKind::Voice, r#"{"path":"uploads/hello.mp3"}"#),
            // automation::send_survey
            (OutboundKind::Msgmenu, survey),
        ];
        for (kind, json) in cases {
            let p = Payload::from_json(kind, json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(p.kind(), kind);
            let as_stored: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(p.to_value(), as_stored, "{json}");
        }
        assert_eq!(
            Payload::from_json(
                OutboundKind::Image,
                r#"{"media_id":"M","path":"a.png","upload":7}"#
            ),
            Ok(Payload::Image(Media {
                path: "a.png".into(),
                upload: Some(7),
                media_id: Some("M".into()),
            }))
        );
        let Ok(Payload::Msgmenu(menu)) = Payload::from_json(OutboundKind::Msgmenu, survey) else {
            panic!("the survey reads as a menu");
        };
        assert_eq!(menu.items.len(), 5);
        assert_eq!(menu.items[0].id, "kefu_s5");
        // A row written before the texts took full-width punctuation keeps its own.
        assert!(
            menu.fallback
                .starts_with("请为本次服务评分：回复 1-5（5 为非常满意）")
        );
    }

    #[test]
    fn a_payload_that_does_not_fit_its_kind_is_an_error() {
        for (kind, json) in [
            (OutboundKind::Text, "{}"),
            (OutboundKind::Text, r#"{"content":5}"#),
            (OutboundKind::Text, "not json"),
            (OutboundKind::Image, r#"{"path":["a"]}"#),
            (OutboundKind::Msgmenu, r#"{"head":"评分"}"#),
            (OutboundKind::Msgmenu, r#"{"items":[{"id":"a"}]}"#),
        ] {
            let e = Payload::from_json(kind, json).unwrap_err();
            assert_eq!(e.kind, kind, "{json}");
        }
    }

    #[test]
    fn a_stored_row_that_cannot_be_read_is_still_listed_with_its_error() {
        let conn = memory().unwrap();
        let acc = seed_account(&conn, "wx1");
        let t0: Timestamp = "2026-05-01T00:00:00Z".parse().unwrap();
        let f = followers::upsert(&conn, acc, "oA", t0).unwrap();
        let wrong = serde_json::json!({ "path": "uploads/1.png" });
        assert!(
            enqueue(&conn, acc, f, OutboundKind::Text, &wrong, None, t0).is_err(),
            "a text without content is not stored"
        );
        let hello = Payload::text("你好");
        let (message, id) = enqueue_payload(&conn, acc, f, &hello, None, t0).unwrap();
        assert_eq!(get(&conn, id).unwrap().unwrap().payload, Ok(hello));
        let msg = crate::db::messages::get(&conn, message).unwrap().unwrap();
        assert_eq!(msg.content, "你好");

        // Written by another version, or damaged.
        conn.execute(
            "UPDATE outbox SET payload = '{\"text\":1}' WHERE id = ?1",
            [id],
        )
        .unwrap();
        let due = due(&conn, t0, 10).unwrap();
        assert_eq!(due.len(), 1, "listed, so the sender can fail it");
        let e = due[0].payload.clone().unwrap_err();
        assert_eq!(e.kind, OutboundKind::Text);
        assert!(e.to_string().contains("content"), "{e}");
    }
}
