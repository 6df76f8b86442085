//! The audit log (E12): written inside the same transaction as the change it
//! records, so a change and its audit row are committed together or not at all.

use super::{DbResult, ms, ts};
use crate::model::{AuditAction, UserId};
use rusqlite::{Connection, params};

/// Who did something, from where.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: Option<UserId>,
    pub name: String,
    pub ip: String,
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub action: AuditAction,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What an audit row is about — `用户 amy` — as a stored catalogue message
/// (`key` takes `$name`), shown in the language of whoever reads the log.
pub fn about(key: &'static str, name: &str) -> String {
    about_msg(key, name).stored()
}

/// [`about`] before it is stored, to be wrapped (`… （调整顺序）`).
pub fn about_msg(key: &'static str, name: &str) -> crate::i18n::Msg {
    crate::i18n::Msg::new(key).text("name", name)
}

/// `what` with a remark after it (`audit-reordered`, `audit-moved` …).
pub fn about_with(remark: &'static str, what: crate::i18n::Msg) -> String {
    crate::i18n::Msg::new(remark).msg("what", what).stored()
}

impl Entry {
    pub fn new(action: AuditAction, target: impl Into<String>) -> Self {
        Entry {
            action,
            target: target.into(),
            before: None,
            after: None,
        }
    }

    /// Records the state before and after as JSON.
    pub fn change<T: serde::Serialize>(mut self, before: Option<&T>, after: Option<&T>) -> Self {
        self.before = before.and_then(|b| serde_json::to_string(b).ok());
        self.after = after.and_then(|a| serde_json::to_string(a).ok());
        self
    }
}

#[derive(Clone, Debug)]
pub struct AuditRow {
    pub id: i64,
    pub at: jiff::Timestamp,
    pub actor_name: String,
    pub action: String,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub ip: String,
}

impl AuditRow {
    pub fn action_label(&self) -> String {
        AuditAction::parse(&self.action).map_or_else(|| self.action.clone(), |a| a.label())
    }
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<UserId>,
    pub action: Option<AuditAction>,
    pub from: Option<jiff::Timestamp>,
    pub to: Option<jiff::Timestamp>,
    /// Whose actions (decided by the caller through `access`); nobody's by default.
    pub actors: Actors,
    pub limit: i64,
}

pub fn record(conn: &Connection, actor: &Actor, e: &Entry, now: jiff::Timestamp) -> DbResult<()> {
    conn.execute(
        "INSERT INTO audit_log (at, actor_id, actor_name, action, target, before, after, ip)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            ms(now),
            actor.id,
            actor.name,
            e.action.as_str(),
            e.target,
            e.before,
            e.after,
            actor.ip
        ],
    )?;
    Ok(())
}

/// A failed login, aggregated: the first failure of this name from this IP
/// within `window` inserts a row; each later one in that window adds to its
/// count (`after`: `{"attempts": n, "last_attempt": time}`), so a flood of attempts
/// leaves one row per account and IP per window instead of one per attempt.
/// The only audit row the application ever updates, and only its count.
pub fn record_failure(
    conn: &Connection,
    actor: &Actor,
    target: &str,
    now: jiff::Timestamp,
    window: jiff::SignedDuration,
) -> DbResult<()> {
    let action = AuditAction::LoginFailed.as_str();
    let last = now.to_string();
    let updated = conn.execute(
        "UPDATE audit_log
            SET after = json_object('attempts', coalesce(json_extract(after, '$.attempts'), 1) + 1,
                                    'last_attempt', ?5)
          WHERE id = (SELECT id FROM audit_log
                       WHERE action = ?1 AND actor_name = ?2 AND ip = ?3 AND target = ?6
                         AND at > ?4
                       ORDER BY at DESC, id DESC LIMIT 1)",
        params![action, actor.name, actor.ip, ms(now - window), last, target],
    )?;
    if updated == 0 {
        let e = Entry {
            action: AuditAction::LoginFailed,
            target: target.to_string(),
            before: None,
            after: Some(serde_json::json!({ "attempts": 1, "last_attempt": last }).to_string()),
        };
        record(conn, actor, &e, now)?;
    }
    Ok(())
}

/// Whose actions an audit list shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Actors {
    /// Everyone's (a super admin).
    All,
    /// These users' only; nobody's when empty.
    Only(Vec<UserId>),
    #[default]
    Nobody,
}

pub fn list(conn: &Connection, f: &AuditFilter) -> DbResult<Vec<AuditRow>> {
    let ids: &[UserId] = match &f.actors {
        Actors::All => &[],
        Actors::Only(ids) => ids,
        Actors::Nobody => return Ok(Vec::new()),
    };
    let actors_json = (f.actors != Actors::All).then(|| {
        serde_json::to_string(&ids.iter().map(|i| i.0).collect::<Vec<_>>()).unwrap_or_default()
    });
    let mut stmt = conn.prepare(
        "SELECT id, at, actor_name, action, target, before, after, ip FROM audit_log
         WHERE (?1 IS NULL OR actor_id = ?1)
           AND (?2 IS NULL OR action = ?2)
           AND (?3 IS NULL OR at >= ?3)
           AND (?4 IS NULL OR at < ?4)
           AND (?5 IS NULL OR actor_id IN (SELECT value FROM json_each(?5)))
         ORDER BY at DESC, id DESC LIMIT ?6",
    )?;
    let rows = stmt
        .query_map(
            params![
                f.actor,
                f.action.map(|a| a.as_str()),
                f.from.map(ms),
                f.to.map(ms),
                actors_json,
                if f.limit > 0 { f.limit } else { 200 }
            ],
            |r| {
                Ok(AuditRow {
                    id: r.get(0)?,
                    at: ts(r.get(1)?),
                    actor_name: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    before: r.get(5)?,
                    after: r.get(6)?,
                    ip: r.get(7)?,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{memory, users::tests::seed_user};
    use crate::model::Role;
    use jiff::{SignedDuration, Timestamp};

    #[test]
    fn filters_by_actor_action_and_time() {
        let conn = memory().unwrap();
        let a = seed_user(&conn, "amy", Role::Admin);
        let b = seed_user(&conn, "bob", Role::Agent);
        let t0: Timestamp = "2026-03-01T08:00:00Z".parse().unwrap();
        let actor = |id: UserId, name: &str| Actor {
            id: Some(id),
            name: name.into(),
            ip: "127.0.0.1".into(),
        };
        record(
            &conn,
            &actor(a, "amy"),
            &Entry::new(AuditAction::UserCreate, "用户 bob"),
            t0,
        )
        .unwrap();
        let change =
            Entry::new(AuditAction::ProfileUpdate, "用户 bob").change(Some(&"old"), Some(&"new"));
        record(
            &conn,
            &actor(b, "bob"),
            &change,
            t0 + SignedDuration::from_hours(2),
        )
        .unwrap();

        assert!(
            list(&conn, &AuditFilter::default()).unwrap().is_empty(),
            "nobody's"
        );
        let all = list(
            &conn,
            &AuditFilter {
                actors: Actors::All,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].actor_name, "bob", "newest first");
        assert_eq!(all[0].before.as_deref(), Some("\"old\""));
        let by_a = list(
            &conn,
            &AuditFilter {
                actor: Some(a),
                actors: Actors::All,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(by_a.len(), 1);
        assert_eq!(by_a[0].action_label(), "添加用户");
        let act = AuditFilter {
            action: Some(AuditAction::ProfileUpdate),
            actors: Actors::All,
            ..Default::default()
        };
        assert_eq!(list(&conn, &act).unwrap()[0].actor_name, "bob");
        let early = AuditFilter {
            to: Some(t0 + SignedDuration::from_hours(1)),
            actors: Actors::All,
            ..Default::default()
        };
        assert_eq!(list(&conn, &early).unwrap()[0].actor_name, "amy");
        let scoped = AuditFilter {
            actors: Actors::Only(vec![b]),
            ..Default::default()
        };
        assert_eq!(list(&conn, &scoped).unwrap().len(), 1);
    }

    #[test]
    fn failed_logins_are_one_row_per_name_and_ip_per_window() {
        let conn = memory().unwrap();
        let t0: Timestamp = "2026-03-01T08:00:00Z".parse().unwrap();
        let window = SignedDuration::from_mins(15);
        let who = |name: &str, ip: &str| Actor {
            id: None,
            name: name.into(),
            ip: ip.into(),
        };
        for i in 0..40 {
            let at = t0 + SignedDuration::from_secs(i);
            record_failure(&conn, &who("amy", "10.0.0.1"), "账号 amy", at, window).unwrap();
        }
        record_failure(&conn, &who("amy", "10.0.0.2"), "账号 amy", t0, window).unwrap();
        record_failure(&conn, &who("bob", "10.0.0.1"), "账号 bob", t0, window).unwrap();
        // A new window starts 15 minutes after the first row.
        let later = t0 + SignedDuration::from_mins(15);
        record_failure(&conn, &who("amy", "10.0.0.1"), "账号 amy", later, window).unwrap();

        let rows = list(
            &conn,
            &AuditFilter {
                action: Some(AuditAction::LoginFailed),
                actors: Actors::All,
                ..Default::default()
            },
        )
        .unwrap();
        let count = |name: &str, ip: &str, at: Timestamp| -> Vec<i64> {
            rows.iter()
                .filter(|r| r.actor_name == name && r.ip == ip && r.at == at)
                .map(|r| {
                    let after: serde_json::Value =
                        serde_json::from_str(r.after.as_deref().unwrap()).unwrap();
                    after["attempts"].as_i64().unwrap()
                })
                .collect()
        };
        assert_eq!(rows.len(), 4, "{rows:?}");
        assert_eq!(count("amy", "10.0.0.1", t0), vec![40]);
        assert_eq!(count("amy", "10.0.0.2", t0), vec![1]);
        assert_eq!(count("bob", "10.0.0.1", t0), vec![1]);
        assert_eq!(count("amy", "10.0.0.1", later), vec![1]);
    }
}
