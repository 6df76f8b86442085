//! Transfers between agents (B7): a request from the holder to another agent
//! of the group, pending until answered, withdrawn or expired. At most one is
//! pending per conversation (a partial unique index says so).

use super::{DbResult, ms, ts};
use crate::db::Cached;
use crate::model::{ConversationId, TransferState, UserId};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

/// A transfer request as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub conversation: ConversationId,
    pub from: UserId,
    pub to: UserId,
    pub note: String,
    pub state: TransferState,
    pub expires_at: Timestamp,
}

/// How many pending transfers the conversation has (0 or 1).
pub fn pending_count(c: &Connection, conv: ConversationId) -> DbResult<i64> {
    Ok(c.row(
        "SELECT count(*) FROM transfers WHERE conversation_id = ?1 AND state = ?2",
        params![conv, TransferState::Pending],
        |r| r.get(0),
    )?)
}

/// Records a new pending request.
pub fn create(
    c: &Connection,
    conv: ConversationId,
    from: UserId,
    to: UserId,
    note: &str,
    now: Timestamp,
    expires: Timestamp,
) -> DbResult<()> {
    c.exec(
        "INSERT INTO transfers (conversation_id, from_agent, to_agent, note, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![conv, from, to, note, ms(now), ms(expires)],
    )?;
    Ok(())
}

/// The pending transfer of a conversation, if any: (id, to agent, note, expires).
pub fn pending_of(
    c: &Connection,
    conv: ConversationId,
) -> DbResult<Option<(i64, UserId, String, Timestamp)>> {
    Ok(c.row(
        "SELECT id, to_agent, note, expires_at FROM transfers
         WHERE conversation_id = ?1 AND state = ?2",
        params![conv, TransferState::Pending],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, ts(r.get(3)?))),
    )
    .optional()?)
}

pub fn get(c: &Connection, id: i64) -> DbResult<Option<Transfer>> {
    Ok(c.row(
        "SELECT conversation_id, from_agent, to_agent, note, state, expires_at
         FROM transfers WHERE id = ?1",
        [id],
        |r| {
            Ok(Transfer {
                conversation: r.get(0)?,
                from: r.get(1)?,
                to: r.get(2)?,
                note: r.get(3)?,
                state: r.get(4)?,
                expires_at: ts(r.get(5)?),
            })
        },
    )
    .optional()?)
}

/// Decides a transfer: accepted, declined, expired or cancelled.
pub fn decide(c: &Connection, id: i64, state: TransferState, now: Timestamp) -> DbResult<()> {
    c.exec(
        "UPDATE transfers SET state = ?3, decided_at = ?2 WHERE id = ?1",
        params![id, ms(now), state],
    )?;
    Ok(())
}

/// Withdraws the conversation's pending transfer, if any (it moved on).
pub fn cancel_pending(c: &Connection, conv: ConversationId, now: Timestamp) -> DbResult<()> {
    c.exec(
        "UPDATE transfers SET state = ?3, decided_at = ?2
         WHERE conversation_id = ?1 AND state = ?4",
        params![
            conv,
            ms(now),
            TransferState::Cancelled,
            TransferState::Pending
        ],
    )?;
    Ok(())
}

/// Pending transfers whose time ran out: (id, conversation, from, to).
pub fn expired(
    c: &Connection,
    now: Timestamp,
) -> DbResult<Vec<(i64, ConversationId, UserId, UserId)>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, conversation_id, from_agent, to_agent FROM transfers
         WHERE state = ?2 AND expires_at <= ?1",
    )?;
    let rows = stmt
        .query_map(params![ms(now), TransferState::Pending], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
