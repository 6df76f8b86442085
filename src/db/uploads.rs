//! Images agents uploaded to send (D4, D9): the `uploads` table. The files
//! themselves live under the media directory; this module stores only where.

use super::{DbResult, ms, ts};
use crate::model::{GroupId, UserId};
use rusqlite::{Connection, OptionalExtension, params};

/// What the upload is and who may see it.
#[derive(Clone, Debug)]
pub struct Upload {
    pub group_id: Option<GroupId>,
    pub user_id: Option<UserId>,
    /// Relative to the media directory.
    pub path: String,
    pub content_type: String,
}

/// Records a stored image; returns its id.
#[allow(clippy::too_many_arguments)]
pub fn insert(
    conn: &Connection,
    user: UserId,
    group: GroupId,
    name: &str,
    path: &str,
    content_type: &str,
    size: i64,
    at: jiff::Timestamp,
) -> DbResult<i64> {
    conn.execute(
        "INSERT INTO uploads (user_id, group_id, name, path, content_type, size, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![user, group, name, path, content_type, size, ms(at)],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn get(conn: &Connection, id: i64) -> DbResult<Option<Upload>> {
    Ok(conn
        .query_row(
            "SELECT group_id, user_id, path, content_type FROM uploads WHERE id = ?1",
            [id],
            |r| {
                Ok(Upload {
                    group_id: r.get(0)?,
                    user_id: r.get(1)?,
                    path: r.get(2)?,
                    content_type: r.get(3)?,
                })
            },
        )
        .optional()?)
}

/// The user's latest 24 uploads, newest first: (id, name, when).
pub fn recent(conn: &Connection, user: UserId) -> DbResult<Vec<(i64, String, jiff::Timestamp)>> {
    let mut stmt = conn.prepare(
        "SELECT id, name, created_at FROM uploads WHERE user_id = ?1
         ORDER BY id DESC LIMIT 24",
    )?;
    let rows = stmt
        .query_map([user], |r| Ok((r.get(0)?, r.get(1)?, ts(r.get(2)?))))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
