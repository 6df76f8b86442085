//! Login sessions, the login record (D1) and failed-attempt counting.

use super::{DbResult, ms, ts};
use crate::model::{User, UserId};
use rusqlite::{Connection, OptionalExtension, params};

/// A stored session, with its user.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub user: User,
    pub csrf_token: String,
    pub last_seen_at: jiff::Timestamp,
}

/// One login: when, from where, with what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginRecord {
    pub at: jiff::Timestamp,
    pub ip: String,
    pub user_agent: String,
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user: UserId,
    pub csrf_token: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
}

pub fn create(conn: &Connection, s: &NewSession<'_>, now: jiff::Timestamp) -> DbResult<()> {
    conn.execute(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, ip, user_agent)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
        params![s.token_hash, s.user, s.csrf_token, ms(now), s.ip, s.user_agent],
    )?;
    Ok(())
}

pub fn lookup(conn: &Connection, token_hash: &str) -> DbResult<Option<SessionRow>> {
    let row: Option<(UserId, String, i64)> = conn
        .query_row(
            "SELECT user_id, csrf_token, last_seen_at FROM sessions WHERE token_hash = ?1",
            [token_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((uid, csrf_token, last_seen)) = row else {
        return Ok(None);
    };
    let Some(user) = super::users::get(conn, uid)? else {
        return Ok(None);
    };
    Ok(Some(SessionRow {
        user,
        csrf_token,
        last_seen_at: ts(last_seen),
    }))
}

pub fn touch(conn: &Connection, token_hash: &str, now: jiff::Timestamp) -> DbResult<()> {
    conn.execute(
        "UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1",
        params![token_hash, ms(now)],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, token_hash: &str) -> DbResult<()> {
    conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
    Ok(())
}

/// Ends every session of a user (disabled, or password reset by an admin).
pub fn delete_for_user(conn: &Connection, user: UserId) -> DbResult<usize> {
    Ok(conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user])?)
}

/// Ends every other session of a user (after they change their own password).
pub fn delete_others(conn: &Connection, user: UserId, keep_hash: &str) -> DbResult<usize> {
    Ok(conn.execute(
        "DELETE FROM sessions WHERE user_id = ?1 AND token_hash <> ?2",
        params![user, keep_hash],
    )?)
}

/// Removes sessions idle since before `cutoff` and failures older than `failures_before`.
pub fn purge(
    conn: &Connection,
    cutoff: jiff::Timestamp,
    failures_before: jiff::Timestamp,
) -> DbResult<usize> {
    let a = conn.execute("DELETE FROM sessions WHERE last_seen_at < ?1", [ms(cutoff)])?;
    let b = conn.execute(
        "DELETE FROM login_failures WHERE at < ?1",
        [ms(failures_before)],
    )?;
    Ok(a + b)
}

pub fn record_login(conn: &Connection, user: UserId, rec: &LoginRecord) -> DbResult<()> {
    conn.execute(
        "INSERT INTO logins (user_id, at, ip, user_agent) VALUES (?1, ?2, ?3, ?4)",
        params![user, ms(rec.at), rec.ip, rec.user_agent],
    )?;
    Ok(())
}

/// The user's most recent logins, newest first.
pub fn recent_logins(conn: &Connection, user: UserId, limit: i64) -> DbResult<Vec<LoginRecord>> {
    let mut stmt = conn.prepare(
        "SELECT at, ip, user_agent FROM logins WHERE user_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![user, limit], |r| {
            Ok(LoginRecord {
                at: ts(r.get(0)?),
                ip: r.get(1)?,
                user_agent: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn record_failure(
    conn: &Connection,
    username: &str,
    ip: &str,
    now: jiff::Timestamp,
) -> DbResult<()> {
    conn.execute(
        "INSERT INTO login_failures (username, ip, at) VALUES (?1, ?2, ?3)",
        params![username, ip, ms(now)],
    )?;
    Ok(())
}

pub fn failures_since(
    conn: &Connection,
    username: &str,
    ip: &str,
    since: jiff::Timestamp,
) -> DbResult<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM login_failures WHERE username = ?1 AND ip = ?2 AND at >= ?3",
        params![username, ip, ms(since)],
        |r| r.get(0),
    )?)
}

/// Failed attempts for an account and IP since `since`, oldest first.
pub fn failure_times(
    conn: &Connection,
    username: &str,
    ip: &str,
    since: jiff::Timestamp,
) -> DbResult<Vec<jiff::Timestamp>> {
    let mut stmt = conn.prepare(
        "SELECT at FROM login_failures WHERE username = ?1 AND ip = ?2 AND at >= ?3 ORDER BY at, id",
    )?;
    let rows = stmt
        .query_map(params![username, ip, ms(since)], |r| r.get::<_, i64>(0))?
        .map(|r| r.map(ts))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Records a failure and returns its id (so a login that then succeeds can take it back).
pub fn insert_failure(
    conn: &Connection,
    username: &str,
    ip: &str,
    now: jiff::Timestamp,
) -> DbResult<i64> {
    record_failure(conn, username, ip, now)?;
    Ok(conn.last_insert_rowid())
}

pub fn delete_failure(conn: &Connection, id: i64) -> DbResult<()> {
    conn.execute("DELETE FROM login_failures WHERE id = ?1", [id])?;
    Ok(())
}

pub fn clear_failures(conn: &Connection, username: &str, ip: &str) -> DbResult<()> {
    conn.execute(
        "DELETE FROM login_failures WHERE username = ?1 AND ip = ?2",
        params![username, ip],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{memory, users::tests::seed_user};
    use crate::model::Role;
    use jiff::{SignedDuration, Timestamp};

    #[test]
    fn session_lifecycle_and_purge() {
        let conn = memory().unwrap();
        let u = seed_user(&conn, "amy", Role::Agent);
        let t0: Timestamp = "2026-03-01T08:00:00Z".parse().unwrap();
        let s = NewSession {
            token_hash: "h1",
            user: u,
            csrf_token: "c1",
            ip: "1.2.3.4",
            user_agent: "ua",
        };
        create(&conn, &s, t0).unwrap();
        let row = lookup(&conn, "h1").unwrap().unwrap();
        assert_eq!(row.user.id, u);
        assert_eq!(row.csrf_token, "c1");
        assert!(lookup(&conn, "nope").unwrap().is_none());

        touch(&conn, "h1", t0 + SignedDuration::from_hours(23)).unwrap();
        // Purging sessions idle for 24 hours, 25 hours after the start: the
        // session was last seen 2 hours ago, so it stays.
        let cutoff = t0 + SignedDuration::from_hours(1);
        assert_eq!(
            purge(&conn, cutoff, cutoff).unwrap(),
            0,
            "touched session survives"
        );
        purge(&conn, t0 + SignedDuration::from_hours(24), cutoff).unwrap();
        assert!(lookup(&conn, "h1").unwrap().is_none());
    }

    #[test]
    fn failures_count_per_account_and_ip_within_the_window() {
        let conn = memory().unwrap();
        let t0: Timestamp = "2026-03-01T08:00:00Z".parse().unwrap();
        for i in 0..5 {
            record_failure(&conn, "amy", "10.0.0.1", t0 + SignedDuration::from_mins(i)).unwrap();
        }
        record_failure(&conn, "amy", "10.0.0.2", t0).unwrap();
        assert_eq!(failures_since(&conn, "AMY", "10.0.0.1", t0).unwrap(), 5);
        assert_eq!(
            failures_since(&conn, "amy", "10.0.0.1", t0 + SignedDuration::from_mins(3)).unwrap(),
            2
        );
        clear_failures(&conn, "amy", "10.0.0.1").unwrap();
        assert_eq!(failures_since(&conn, "amy", "10.0.0.1", t0).unwrap(), 0);
        assert_eq!(failures_since(&conn, "amy", "10.0.0.2", t0).unwrap(), 1);
    }

    #[test]
    fn recent_logins_newest_first() {
        let conn = memory().unwrap();
        let u = seed_user(&conn, "amy", Role::Agent);
        let t0: Timestamp = "2026-03-01T08:00:00Z".parse().unwrap();
        for (i, ip) in ["1.1.1.1", "2.2.2.2", "3.3.3.3"].iter().enumerate() {
            let rec = LoginRecord {
                at: t0 + SignedDuration::from_hours(i as i64),
                ip: ip.to_string(),
                user_agent: "ua".into(),
            };
            record_login(&conn, u, &rec).unwrap();
        }
        let r = recent_logins(&conn, u, 2).unwrap();
        assert_eq!(
            r.iter().map(|l| l.ip.as_str()).collect::<Vec<_>>(),
            ["3.3.3.3", "2.2.2.2"]
        );
    }
}
