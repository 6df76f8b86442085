//! Schema versions by `PRAGMA user_version`. A fresh database runs `schema.sql`
//! (the whole current schema) and is stamped with the latest version; an older
//! one runs, in order and each in its own transaction, the migrations it has not
//! seen. `tests` prove the two paths end in the same schema.

use super::{DbError, DbResult};
use rusqlite::Connection;

/// The whole current schema, used for fresh installs.
pub const SCHEMA: &str = include_str!("../../schema.sql");

/// Ordered migrations; entry `n` takes a database from version `n` to `n + 1`.
pub const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_wechat.sql"),
    include_str!("migrations/0003_conversations.sql"),
    include_str!("migrations/0004_console.sql"),
    include_str!("migrations/0005_requeue.sql"),
    include_str!("migrations/0006_automation.sql"),
    include_str!("migrations/0007_groups_required.sql"),
    include_str!("migrations/0008_status_log.sql"),
    include_str!("migrations/0009_group_sla.sql"),
    include_str!("migrations/0010_outbox_sending.sql"),
    include_str!("migrations/0011_queue_order.sql"),
    include_str!("migrations/0012_report_indexes.sql"),
    include_str!("migrations/0013_message_search.sql"),
    include_str!("migrations/0014_kb_trees.sql"),
    include_str!("migrations/0015_user_locale.sql"),
    include_str!("migrations/0016_search_cursor.sql"),
    include_str!("migrations/0017_greeting_budget.sql"),
    include_str!("migrations/0018_search_suffixes.sql"),
];

pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

pub fn version(conn: &Connection) -> DbResult<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

pub fn migrate(conn: &mut Connection) -> DbResult<()> {
    let found = version(conn)?;
    if found > latest() {
        return Err(DbError::TooNew {
            found,
            known: latest(),
        });
    }
    if found == 0 && is_empty(conn)? {
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA)?;
        tx.pragma_update(None, "user_version", latest())?;
        tx.commit()?;
        return Ok(());
    }
    apply_migrations(conn, found)
}

/// Runs migrations `from..latest` one transaction each. Foreign keys are off
/// meanwhile (a table rebuild must not cascade) and checked before each commit.
pub fn apply_migrations(conn: &mut Connection, from: i64) -> DbResult<()> {
    if from >= latest() {
        return Ok(());
    }
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let result = (|| {
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            let broken: i64 =
                tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })?;
            if broken > 0 {
                return Err(DbError::Commit(format!(
                    "migration {} leaves {broken} broken references",
                    i + 1
                )));
            }
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
            tracing::info!(version = i + 1, "database migrated");
        }
        Ok(())
    })();
    conn.pragma_update(None, "foreign_keys", "ON")?;
    result
}

fn is_empty(conn: &Connection) -> DbResult<bool> {
    let n: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
    Ok(n == 0)
}

/// The schema as SQLite reports it, normalised for comparison.
pub fn dump(conn: &Connection) -> DbResult<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT type, name, coalesce(sql, '') FROM sqlite_schema
         WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )?;
    let rows = stmt
        .query_map([], |r| {
            let sql: String = r.get(2)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                sql.split_whitespace().collect::<Vec<_>>().join(" "),
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_database_equals_migrated_database() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh).unwrap();

        let mut migrated = Connection::open_in_memory().unwrap();
        apply_migrations(&mut migrated, 0).unwrap();

        assert_eq!(version(&fresh).unwrap(), latest());
        assert_eq!(version(&migrated).unwrap(), latest());
        let (a, b) = (dump(&fresh).unwrap(), dump(&migrated).unwrap());
        assert!(a.len() > 5, "schema has tables: {a:?}");
        assert_eq!(a, b);
    }

    #[test]
    fn migrate_is_idempotent_and_refuses_a_newer_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), latest());
        conn.pragma_update(None, "user_version", latest() + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(DbError::TooNew { .. })));
    }

    /// Migration 7 gives every account a group (a new 客服组 when there is
    /// none) and every conversation its account's group, then forbids NULL.
    #[test]
    fn migration_7_leaves_no_conversation_without_a_group() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply_migrations_to(&mut conn, 6);
        conn.execute_batch(
            "INSERT INTO accounts (id, name, app_id, app_secret, token, created_at, updated_at)
                 VALUES (1, 'a', 'wx1', 's', 'tok', 0, 0), (2, 'b', 'wx2', 's', 'tok', 0, 0);
             INSERT INTO followers (id, account_id, openid, first_seen_at, last_seen_at)
                 VALUES (1, 1, 'o1', 0, 0), (2, 2, 'o2', 0, 0);
             INSERT INTO conversations (account_id, follower_id, group_id, state, opened_at)
                 VALUES (1, 1, NULL, 'ended', 0), (2, 2, NULL, 'queued', 0);",
        )
        .unwrap();
        apply_migrations(&mut conn, 6).unwrap();
        let orphans: i64 = conn
            .query_row(
                "SELECT count(*) FROM conversations WHERE group_id IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(orphans, 0);
        let (group, name): (i64, String) = conn
            .query_row("SELECT id, name FROM groups", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(name, "客服组");
        let linked: i64 = conn
            .query_row(
                "SELECT count(*) FROM account_groups WHERE group_id = ?1",
                [group],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(linked, 2, "both accounts serve the new group");
        let null = conn.execute(
            "INSERT INTO conversations (account_id, follower_id, group_id, state, opened_at)
             VALUES (1, 1, NULL, 'ended', 0)",
            [],
        );
        assert!(null.is_err(), "NULL groups are refused from now on");
    }

    #[test]
    fn migration_15_gives_untouched_default_texts_full_width_punctuation() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply_migrations_to(&mut conn, 14);
        // The old defaults had half-width marks: written full-width here and turned back.
        conn.execute_batch(
            &"INSERT INTO accounts (id, name, app_id, app_secret, token, created_at, updated_at)
                 VALUES (1, 'a', 'wx1', 's', 'tok', 0, 0), (2, 'b', 'wx2', 's', 'tok', 0, 0);
             INSERT INTO auto_replies (account_id, welcome, follower_prompt)
                 VALUES (1, '您好，欢迎咨询，客服马上为您服务。', '请问还有其他可以帮您的吗？'),
                        (2, '欢迎光临小店', '请问还有其他可以帮您的吗？');
             INSERT INTO account_settings (account_id, keywords) VALUES (1, '人工，转人工，客服，在吗');"
                .replace('，', ",")
                .replace('？', "?"),
        )
        .unwrap();
        apply_migrations(&mut conn, 14).unwrap();
        let texts: Vec<(String, String)> = conn
            .prepare("SELECT welcome, follower_prompt FROM auto_replies ORDER BY account_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            texts,
            [
                (
                    "您好，欢迎咨询，客服马上为您服务。".to_string(),
                    "请问还有其他可以帮您的吗？".to_string()
                ),
                // What the merchant wrote stays as written.
                (
                    "欢迎光临小店".to_string(),
                    "请问还有其他可以帮您的吗？".to_string()
                ),
            ]
        );
        let kw: String = conn
            .query_row("SELECT keywords FROM account_settings", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kw, "人工，转人工，客服，在吗");
        let locale: String = conn
            .query_row(
                "SELECT dflt_value FROM pragma_table_info('users') WHERE name = 'locale'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(locale, "'zh-CN'");
    }

    fn apply_migrations_to(conn: &mut Connection, to: usize) {
        for sql in &MIGRATIONS[..to] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", to as i64).unwrap();
    }
}
