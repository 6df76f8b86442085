//! Timeout actions done (C8): one row per conversation, kind and silence
//! (`anchor`, the time the silence began), so each acts once — across
//! restarts too — and what came of it.

use super::{DbResult, ms};
use crate::db::Cached;
use crate::model::{ConversationId, TimeoutKind};
use jiff::Timestamp;
use rusqlite::{Connection, params};

/// Records the action; `false` when it was done for this silence already.
pub fn once(
    c: &Connection,
    conv: ConversationId,
    kind: TimeoutKind,
    anchor: i64,
    now: Timestamp,
) -> DbResult<bool> {
    let n = c.exec(
        "INSERT OR IGNORE INTO timeout_actions (conversation_id, kind, anchor, at) VALUES (?1, ?2, ?3, ?4)",
        params![conv, kind, anchor, ms(now)],
    )?;
    Ok(n == 1)
}

/// What came of an action ("sent", or why not).
pub fn outcome(
    c: &Connection,
    conv: ConversationId,
    kind: TimeoutKind,
    anchor: i64,
    what: &str,
) -> DbResult<()> {
    c.exec(
        "UPDATE timeout_actions SET outcome = ?4 WHERE conversation_id = ?1 AND kind = ?2 AND anchor = ?3",
        params![conv, kind, anchor, what],
    )?;
    Ok(())
}
