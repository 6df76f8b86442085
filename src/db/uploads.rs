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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{groups::tests::seed_group, memory, users::tests::seed_user};
    use crate::model::Role;

    #[test]
    fn an_upload_is_stored_found_and_listed_newest_first() {
        let conn = memory().unwrap();
        let amy = seed_user(&conn, "amy", Role::Agent);
        let bob = seed_user(&conn, "bob", Role::Agent);
        let g = seed_group(&conn, "售前", "presale");
        let t0: jiff::Timestamp = "2026-05-01T00:00:00Z".parse().unwrap();
        let a = insert(&conn, amy, g, "a.png", "uploads/a.png", "image/png", 10, t0).unwrap();
        let t1 = t0 + jiff::SignedDuration::from_mins(1);
        let b = insert(
            &conn,
            amy,
            g,
            "b.jpg",
            "uploads/b.jpg",
            "image/jpeg",
            20,
            t1,
        )
        .unwrap();
        let u = get(&conn, a).unwrap().unwrap();
        assert_eq!(
            (
                u.group_id,
                u.user_id,
                u.path.as_str(),
                u.content_type.as_str()
            ),
            (Some(g), Some(amy), "uploads/a.png", "image/png")
        );
        assert!(get(&conn, b + 1).unwrap().is_none());
        let mine = recent(&conn, amy).unwrap();
        assert_eq!(
            mine.iter()
                .map(|r| (r.0, r.1.as_str(), r.2))
                .collect::<Vec<_>>(),
            vec![(b, "b.jpg", t1), (a, "a.png", t0)]
        );
        assert!(recent(&conn, bob).unwrap().is_empty());
    }
}
