//! Messages both ways. Inbound pushes are inserted exactly once: a repeated
//! push (WeChat retries up to three times) hits the `(account_id, dedup_key)`
//! unique key and is ignored.

use super::{DbResult, ms, ts};
use crate::db::Cached;
use crate::model::{
    AccountId, ConversationId, Direction, FollowerId, MessageId, MessageKind, OutboxState, UserId,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// An inbound push, already parsed and flattened for storage.
#[derive(Clone, Debug, PartialEq)]
pub struct NewInbound {
    pub dedup_key: String,
    pub wx_msg_id: Option<i64>,
    pub kind: MessageKind,
    pub event: String,
    pub content: String,
    /// The typed fields as JSON (media ids, coordinates, link …).
    pub data: serde_json::Value,
    pub raw: String,
    pub created_at: jiff::Timestamp,
    /// The follower's open conversation it joins, if any.
    pub conversation: Option<crate::model::ConversationId>,
}

/// A stored message with, for outbound ones, its delivery state.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: MessageId,
    pub account_id: AccountId,
    pub follower_id: FollowerId,
    pub direction: Direction,
    pub kind: MessageKind,
    pub event: String,
    pub content: String,
    pub data: serde_json::Value,
    pub sender_id: Option<UserId>,
    pub created_at: jiff::Timestamp,
    pub delivery: Option<(OutboxState, String)>,
}

/// Inserts an inbound push; `None` when it was stored already (a retry).
pub fn insert_inbound(
    conn: &Connection,
    account: AccountId,
    follower: FollowerId,
    m: &NewInbound,
    now: jiff::Timestamp,
) -> DbResult<Option<MessageId>> {
    let n = conn.prepare_cached(
        "INSERT INTO messages (account_id, follower_id, direction, kind, event, content, data, raw,
                               dedup_key, wx_msg_id, created_at, received_at, conversation_id)
         VALUES (?1, ?2, 'in', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (account_id, dedup_key) DO NOTHING",
    )?
    .execute(params![
            account,
            follower,
            m.kind,
            m.event,
            m.content,
            m.data.to_string(),
            m.raw,
            m.dedup_key,
            m.wx_msg_id,
            ms(m.created_at),
            ms(now),
            m.conversation
        ],
    )?;
    if n != 1 {
        return Ok(None);
    }
    // Indexed for search by a background job (db::search_index), not here.
    Ok(Some(MessageId(conn.last_insert_rowid())))
}

/// An outbound message (its delivery lives in the outbox).
pub struct NewOutbound<'a> {
    pub account: AccountId,
    pub follower: FollowerId,
    pub kind: MessageKind,
    pub content: &'a str,
    pub data: &'a serde_json::Value,
    pub sender: Option<UserId>,
}

pub fn insert_outbound(
    conn: &Connection,
    m: &NewOutbound<'_>,
    now: jiff::Timestamp,
) -> DbResult<MessageId> {
    conn.exec(
        "INSERT INTO messages (account_id, follower_id, direction, kind, content, data, sender_id, created_at, received_at)
         VALUES (?1, ?2, 'out', ?3, ?4, ?5, ?6, ?7, ?7)",
        params![m.account, m.follower, m.kind, m.content, m.data.to_string(), m.sender, ms(now)],
    )?;
    Ok(MessageId(conn.last_insert_rowid()))
}

pub(super) const COLUMNS: &str =
    "m.id, m.account_id, m.follower_id, m.direction, m.kind, m.event, m.content, m.data,
    m.sender_id, m.created_at, o.state, o.error_reason";

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Message> {
    let data: String = r.get(7)?;
    let state: Option<OutboxState> = r.get(10)?;
    Ok(Message {
        id: r.get(0)?,
        account_id: r.get(1)?,
        follower_id: r.get(2)?,
        direction: r.get(3)?,
        kind: r.get(4)?,
        event: r.get(5)?,
        content: r.get(6)?,
        data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
        sender_id: r.get(8)?,
        created_at: ts(r.get(9)?),
        delivery: state.map(|s| {
            (
                s,
                super::shown(
                    r.get::<_, Option<String>>(11)
                        .ok()
                        .flatten()
                        .unwrap_or_default(),
                ),
            )
        }),
    })
}

pub fn get(conn: &Connection, id: MessageId) -> DbResult<Option<Message>> {
    Ok(conn
        .row(
            &format!("SELECT {COLUMNS} FROM messages m LEFT JOIN outbox o ON o.message_id = m.id WHERE m.id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// The follower's history, oldest first, `limit` messages before `before`.
pub fn history(
    conn: &Connection,
    follower: FollowerId,
    before: Option<MessageId>,
    limit: i64,
) -> DbResult<Vec<Message>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM messages m LEFT JOIN outbox o ON o.message_id = m.id
         WHERE m.follower_id = ?1 AND (?2 IS NULL OR m.id < ?2)
         ORDER BY m.id DESC LIMIT ?3"
    ))?;
    let mut rows = stmt
        .query_map(params![follower, before, limit], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.reverse();
    Ok(rows)
}

pub fn count_inbound(conn: &Connection, account: AccountId) -> DbResult<i64> {
    Ok(conn.row(
        "SELECT count(*) FROM messages WHERE account_id = ?1 AND direction = 'in'",
        [account],
        |r| r.get(0),
    )?)
}

/// Files a message under a conversation.
pub fn attach(conn: &Connection, id: MessageId, conv: ConversationId) -> DbResult<()> {
    conn.exec(
        "UPDATE messages SET conversation_id = ?2 WHERE id = ?1",
        params![id, conv],
    )?;
    Ok(())
}

/// The conversation a message belongs to, if any.
pub fn conversation_of(conn: &Connection, id: MessageId) -> DbResult<Option<ConversationId>> {
    Ok(conn
        .row(
            "SELECT conversation_id FROM messages WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

/// The follower a message is with, if it exists.
pub fn follower_of(conn: &Connection, id: MessageId) -> DbResult<Option<FollowerId>> {
    Ok(conn
        .row(
            "SELECT follower_id FROM messages WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?)
}

/// When the follower last wrote in the conversation (events do not count), in ms.
pub fn last_inbound_at(conn: &Connection, conv: ConversationId) -> DbResult<Option<i64>> {
    Ok(conn.row(
        "SELECT max(received_at) FROM messages WHERE conversation_id = ?1 AND direction = 'in' AND kind <> 'event'",
        [conv],
        |r| r.get(0),
    )?)
}

/// When an agent (not kefu itself) last wrote in the conversation, in ms.
pub fn last_agent_at(conn: &Connection, conv: ConversationId) -> DbResult<Option<i64>> {
    Ok(conn.row(
        "SELECT max(created_at) FROM messages WHERE conversation_id = ?1 AND direction = 'out' AND sender_id IS NOT NULL",
        [conv],
        |r| r.get(0),
    )?)
}

/// The passive reply recorded for a push (by its dedup key), if any.
pub fn passive_answer(
    conn: &Connection,
    account: AccountId,
    dedup_key: &str,
) -> DbResult<Option<String>> {
    Ok(conn
        .row(
            "SELECT o.content FROM messages i JOIN messages o
               ON o.follower_id = i.follower_id AND o.direction = 'out'
              AND json_extract(o.data, '$.answers') = i.id
             WHERE i.account_id = ?1 AND i.dedup_key = ?2",
            params![account, dedup_key],
            |r| r.get(0),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{accounts::tests::seed_account, followers, memory};

    #[test]
    fn a_repeated_push_is_stored_once() {
        let conn = memory().unwrap();
        let acc = seed_account(&conn, "wx1");
        let f = followers::upsert(&conn, acc, "oX", jiff::Timestamp::UNIX_EPOCH).unwrap();
        let m = NewInbound {
            dedup_key: "m:1234567890123456".into(),
            wx_msg_id: Some(1234567890123456),
            kind: MessageKind::Text,
            event: String::new(),
            content: "你好".into(),
            data: serde_json::json!({}),
            raw: "<xml/>".into(),
            created_at: jiff::Timestamp::UNIX_EPOCH,
            conversation: None,
        };
        let now = jiff::Timestamp::UNIX_EPOCH;
        assert!(insert_inbound(&conn, acc, f, &m, now).unwrap().is_some());
        assert!(insert_inbound(&conn, acc, f, &m, now).unwrap().is_none());
        assert!(insert_inbound(&conn, acc, f, &m, now).unwrap().is_none());
        assert_eq!(count_inbound(&conn, acc).unwrap(), 1);
        let h = history(&conn, f, None, 10).unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].content, "你好");
        assert_eq!(h[0].delivery, None);
    }
}
