//! The outbox (A6): every outbound customer-service message is a row here,
//! committed before any network call. The sender picks, per follower, only the
//! oldest pending row, so messages leave in the order they were written.

use super::{DbResult, ms, ts};
use crate::db::Cached;
use crate::model::{
    AccountId, FollowerId, MessageId, MessageKind, OutboundKind, OutboxId, OutboxState, UserId,
};
use rusqlite::{Connection, OptionalExtension, params};

#[derive(Clone, Debug, PartialEq)]
pub struct OutboxRow {
    pub id: OutboxId,
    pub message_id: MessageId,
    pub account_id: AccountId,
    pub follower_id: FollowerId,
    pub kind: OutboundKind,
    pub payload: serde_json::Value,
    pub state: OutboxState,
    pub attempts: i64,
    pub next_attempt_at: jiff::Timestamp,
    pub error_code: Option<i64>,
    pub error_reason: String,
}

/// Stores an outbound message and its outbox row in one go.
pub fn enqueue(
    conn: &Connection,
    account: AccountId,
    follower: FollowerId,
    kind: OutboundKind,
    payload: &serde_json::Value,
    sender: Option<UserId>,
    now: jiff::Timestamp,
) -> DbResult<(MessageId, OutboxId)> {
    let (mkind, content) = match kind {
        OutboundKind::Text => (
            MessageKind::Text,
            payload["content"].as_str().unwrap_or_default().to_string(),
        ),
        OutboundKind::Image => (MessageKind::Image, String::new()),
        OutboundKind::Voice => (MessageKind::Voice, String::new()),
        // Shown as the text a follower without menu support would read.
        OutboundKind::Msgmenu => (
            MessageKind::Text,
            payload["fallback"].as_str().unwrap_or_default().to_string(),
        ),
    };
    let new = super::messages::NewOutbound {
        account,
        follower,
        kind: mkind,
        content: &content,
        data: payload,
        sender,
    };
    let message = super::messages::insert_outbound(conn, &new, now)?;
    conn.exec(
        "INSERT INTO outbox (message_id, account_id, follower_id, kind, payload, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![message, account, follower, kind, payload.to_string(), ms(now)],
    )?;
    Ok((message, OutboxId(conn.last_insert_rowid())))
}

const COLUMNS: &str = "id, message_id, account_id, follower_id, kind, payload, state, attempts,
    next_attempt_at, error_code, error_reason";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    let payload: String = r.get(5)?;
    Ok(OutboxRow {
        id: r.get(0)?,
        message_id: r.get(1)?,
        account_id: r.get(2)?,
        follower_id: r.get(3)?,
        kind: r.get(4)?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        state: r.get(6)?,
        attempts: r.get(7)?,
        next_attempt_at: ts(r.get(8)?),
        error_code: r.get(9)?,
        error_reason: r.get(10)?,
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

/// Rows to send now: for each follower, their oldest pending row, if it is due.
pub fn due(conn: &Connection, now: jiff::Timestamp, limit: i64) -> DbResult<Vec<OutboxRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM outbox o
         WHERE state = 'pending' AND next_attempt_at <= ?1
           AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.follower_id = o.follower_id
                           AND e.state = 'pending' AND e.id < o.id)
         ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt
        .query_map(params![ms(now), limit], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// When the next pending row becomes due, if any (so the sender can sleep until then).
pub fn next_due(conn: &Connection) -> DbResult<Option<jiff::Timestamp>> {
    // Only the oldest pending row of each follower can be sent; rows behind it wait.
    let at: Option<i64> = conn.row(
        "SELECT min(next_attempt_at) FROM outbox o
         WHERE state = 'pending'
           AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.follower_id = o.follower_id
                           AND e.state = 'pending' AND e.id < o.id)",
        [],
        |r| r.get(0),
    )?;
    Ok(at.map(ts))
}

pub fn mark_sent(conn: &Connection, id: OutboxId, now: jiff::Timestamp) -> DbResult<()> {
    conn.exec(
        "UPDATE outbox SET state = 'sent', sent_at = ?2, attempts = attempts + 1, error_code = NULL, error_reason = ''
         WHERE id = ?1 AND state = 'pending'",
        params![id, ms(now)],
    )?;
    Ok(())
}

/// A transient failure: try again at `next`, keeping the reason visible meanwhile.
pub fn mark_retry(
    conn: &Connection,
    id: OutboxId,
    next: jiff::Timestamp,
    code: Option<i64>,
    reason: &str,
) -> DbResult<()> {
    conn.exec(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, error_code = ?3, error_reason = ?4
         WHERE id = ?1 AND state = 'pending'",
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
         WHERE id = ?1 AND state = 'pending'",
        params![id, code, reason],
    )?;
    Ok(())
}

/// Customer-service messages written but not yet sent to this follower.
pub fn pending_for(conn: &Connection, follower: FollowerId) -> DbResult<i64> {
    Ok(conn.row(
        "SELECT count(*) FROM outbox WHERE follower_id = ?1 AND state = 'pending'",
        [follower],
        |r| r.get(0),
    )?)
}

/// Queues a failed message for another attempt; `false` when it had not failed.
pub fn retry_failed(conn: &Connection, message: MessageId, now: jiff::Timestamp) -> DbResult<bool> {
    let n = conn.exec(
        "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?2,
                error_code = NULL, error_reason = ''
         WHERE message_id = ?1 AND state = 'failed'",
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
}
