//! Inbound media (A9). A row is created with the message, in the same
//! transaction, as `pending`: it is the download job, resumed after a restart.

use super::{DbResult, ms};
use crate::db::Cached;
use crate::model::{AccountId, MediaId, MediaKind, MediaState, MessageId};
use rusqlite::{Connection, OptionalExtension, params};

#[derive(Clone, Debug, PartialEq)]
pub struct Media {
    pub id: MediaId,
    pub account_id: AccountId,
    pub message_id: Option<MessageId>,
    pub kind: MediaKind,
    pub wx_media_id: String,
    pub source_url: String,
    pub path: String,
    pub content_type: String,
    pub size: i64,
    pub state: MediaState,
    pub attempts: i64,
    pub error: String,
}

pub fn insert_pending(
    conn: &Connection,
    account: AccountId,
    message: MessageId,
    kind: MediaKind,
    wx_media_id: &str,
    source_url: &str,
    now: jiff::Timestamp,
) -> DbResult<MediaId> {
    conn.exec(
        "INSERT INTO media (account_id, message_id, kind, wx_media_id, source_url, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![account, message, kind, wx_media_id, source_url, ms(now)],
    )?;
    Ok(MediaId(conn.last_insert_rowid()))
}

const COLUMNS: &str = "id, account_id, message_id, kind, wx_media_id, source_url, path, content_type, size, state, attempts, error";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Media> {
    Ok(Media {
        id: r.get(0)?,
        account_id: r.get(1)?,
        message_id: r.get(2)?,
        kind: r.get(3)?,
        wx_media_id: r.get(4)?,
        source_url: r.get(5)?,
        path: r.get(6)?,
        content_type: r.get(7)?,
        size: r.get(8)?,
        state: r.get(9)?,
        attempts: r.get(10)?,
        error: super::shown(r.get(11)?),
    })
}

pub fn get(conn: &Connection, id: MediaId) -> DbResult<Option<Media>> {
    Ok(conn
        .row(
            &format!("SELECT {COLUMNS} FROM media WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

pub fn of_message(conn: &Connection, message: MessageId) -> DbResult<Vec<Media>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM media WHERE message_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt
        .query_map([message], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn due(conn: &Connection, now: jiff::Timestamp, limit: i64) -> DbResult<Vec<Media>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM media WHERE state = 'pending' AND next_attempt_at <= ?1 ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt
        .query_map(params![ms(now), limit], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn mark_stored(
    conn: &Connection,
    id: MediaId,
    path: &str,
    content_type: &str,
    size: i64,
) -> DbResult<()> {
    conn.exec(
        "UPDATE media SET state = 'stored', path = ?2, content_type = ?3, size = ?4, error = '',
                attempts = attempts + 1 WHERE id = ?1",
        params![id, path, content_type, size],
    )?;
    Ok(())
}

/// A failed download: retry at `next` until `max` attempts, then give up with `error`.
pub fn mark_retry(
    conn: &Connection,
    id: MediaId,
    next: jiff::Timestamp,
    error: &str,
    max: i64,
) -> DbResult<()> {
    conn.exec(
        "UPDATE media SET attempts = attempts + 1, next_attempt_at = ?2, error = ?3,
                state = CASE WHEN attempts + 1 >= ?4 THEN 'failed' ELSE 'pending' END
         WHERE id = ?1",
        params![id, ms(next), error, max],
    )?;
    Ok(())
}

pub fn mark_failed(conn: &Connection, id: MediaId, error: &str) -> DbResult<()> {
    conn.exec(
        "UPDATE media SET state = 'failed', attempts = attempts + 1, error = ?2 WHERE id = ?1",
        params![id, error],
    )?;
    Ok(())
}
