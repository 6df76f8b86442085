//! Internal notes on a conversation (B14): written by an agent or by kefu
//! itself (no author), shown to agents only, never sent to the follower.

use super::{DbResult, ms};
use crate::db::Cached;
use crate::model::{ConversationId, FollowerId, UserId};
use jiff::Timestamp;
use rusqlite::{Connection, params};

/// Adds a note; returns its id. `author: None` is a note of the system.
pub fn add(
    c: &Connection,
    conv: ConversationId,
    follower: FollowerId,
    author: Option<UserId>,
    body: &str,
    now: Timestamp,
) -> DbResult<i64> {
    c.exec(
        "INSERT INTO notes (conversation_id, follower_id, author_id, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![conv, follower, author, body, ms(now)],
    )?;
    Ok(c.last_insert_rowid())
}
