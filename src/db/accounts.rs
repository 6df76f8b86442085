//! Official Accounts (E11, A11) and their cached access tokens (A8).

use super::{DbResult, ms, ts};
use crate::db::Cached;
use crate::model::{AccountId, AccountMode, GroupId};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// An Official Account as kefu uses it. `app_secret` and the keys never leave
/// the server in full (see [`Account::masked_secret`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub app_id: String,
    pub app_secret: String,
    pub token: String,
    pub aes_key: String,
    pub prev_aes_key: String,
    pub mode: AccountMode,
    pub original_id: String,
    pub api_base: String,
    pub simulation: bool,
    pub rules: BudgetRules,
    pub created_at: jiff::Timestamp,
}

/// The 48-hour window and the reply quotas (A7); WeChat has changed them
/// before, so they are settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BudgetRules {
    pub window_hours: i64,
    pub quota_after_message: i64,
    pub quota_after_event: i64,
    pub event_window_secs: i64,
}

impl Default for BudgetRules {
    fn default() -> Self {
        BudgetRules {
            window_hours: 48,
            quota_after_message: 5,
            quota_after_event: 3,
            event_window_secs: 60,
        }
    }
}

impl Account {
    /// `wx1234…cdef`-style display of a secret.
    pub fn masked_secret(&self) -> String {
        mask(&self.app_secret)
    }
}

pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n <= 8 {
        return "*".repeat(n);
    }
    let head: String = secret.chars().take(4).collect();
    let tail: String = secret.chars().skip(n - 4).collect();
    format!("{head}{}{tail}", "*".repeat(n - 8))
}

/// The fields an admin sets.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AccountFields {
    pub name: String,
    pub app_id: String,
    #[serde(skip)]
    pub app_secret: String,
    #[serde(skip)]
    pub token: String,
    #[serde(skip)]
    pub aes_key: String,
    #[serde(skip)]
    pub prev_aes_key: String,
    pub mode: String,
    pub api_base: String,
    pub simulation: bool,
    /// The reply window and quotas; `None` keeps the stored ones.
    pub rules: Option<BudgetRules>,
}

const COLUMNS: &str = "id, name, app_id, app_secret, token, aes_key, prev_aes_key, mode, original_id,
    api_base, simulation, window_hours, quota_after_message, quota_after_event, event_window_secs, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        name: r.get(1)?,
        app_id: r.get(2)?,
        app_secret: r.get(3)?,
        token: r.get(4)?,
        aes_key: r.get(5)?,
        prev_aes_key: r.get(6)?,
        mode: r.get(7)?,
        original_id: r.get(8)?,
        api_base: r.get(9)?,
        simulation: r.get(10)?,
        rules: BudgetRules {
            window_hours: r.get(11)?,
            quota_after_message: r.get(12)?,
            quota_after_event: r.get(13)?,
            event_window_secs: r.get(14)?,
        },
        created_at: ts(r.get(15)?),
    })
}

pub struct NewAccount<'a> {
    pub name: &'a str,
    pub app_id: &'a str,
    pub app_secret: &'a str,
    pub token: &'a str,
    pub aes_key: &'a str,
    pub mode: AccountMode,
    pub api_base: &'a str,
    pub simulation: bool,
}

pub fn insert(conn: &Connection, a: &NewAccount<'_>, now: jiff::Timestamp) -> DbResult<AccountId> {
    conn.exec(
        "INSERT INTO accounts (name, app_id, app_secret, token, aes_key, mode, api_base, simulation, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        params![a.name, a.app_id, a.app_secret, a.token, a.aes_key, a.mode, a.api_base, a.simulation, ms(now)],
    )?;
    Ok(AccountId(conn.last_insert_rowid()))
}

/// Updates the settings; an empty secret keeps the stored one. A changed
/// EncodingAESKey moves the old one to `prev_aes_key` (rotation: pushes
/// encrypted with either are accepted).
pub fn update(
    conn: &Connection,
    id: AccountId,
    f: &AccountFields,
    mode: AccountMode,
    now: jiff::Timestamp,
) -> DbResult<bool> {
    let Some(old) = get(conn, id)? else {
        return Ok(false);
    };
    let secret = if f.app_secret.is_empty() {
        old.app_secret.clone()
    } else {
        f.app_secret.clone()
    };
    let token = if f.token.is_empty() {
        old.token.clone()
    } else {
        f.token.clone()
    };
    let (aes, prev) = if f.aes_key.is_empty() || f.aes_key == old.aes_key {
        (old.aes_key.clone(), old.prev_aes_key.clone())
    } else {
        (f.aes_key.clone(), old.aes_key.clone())
    };
    conn.exec(
        "UPDATE accounts SET name = ?2, app_id = ?3, app_secret = ?4, token = ?5, aes_key = ?6,
                prev_aes_key = ?7, mode = ?8, api_base = ?9, simulation = ?10, updated_at = ?11
         WHERE id = ?1",
        params![
            id,
            f.name,
            f.app_id,
            secret,
            token,
            aes,
            prev,
            mode,
            f.api_base,
            f.simulation,
            ms(now)
        ],
    )?;
    // A token belongs to where it was fetched: never send it to a new address.
    if old.app_id != f.app_id
        || secret != old.app_secret
        || old.api_base != f.api_base
        || old.simulation != f.simulation
    {
        conn.exec("DELETE FROM access_tokens WHERE account_id = ?1", [id])?;
    }
    Ok(true)
}

pub fn set_rules(conn: &Connection, id: AccountId, r: &BudgetRules) -> DbResult<()> {
    conn.exec(
        "UPDATE accounts SET window_hours = ?2, quota_after_message = ?3, quota_after_event = ?4,
                event_window_secs = ?5 WHERE id = ?1",
        params![
            id,
            r.window_hours,
            r.quota_after_message,
            r.quota_after_event,
            r.event_window_secs
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: AccountId) -> DbResult<Option<Account>> {
    Ok(conn
        .row(
            &format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

pub fn list(conn: &Connection) -> DbResult<Vec<Account>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM accounts ORDER BY id"))?;
    let rows = stmt
        .query_map([], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Learns the account's original id (gh_…) from the first push.
pub fn set_original_id(conn: &Connection, id: AccountId, original_id: &str) -> DbResult<()> {
    conn.exec(
        "UPDATE accounts SET original_id = ?2 WHERE id = ?1 AND original_id <> ?2",
        params![id, original_id],
    )?;
    Ok(())
}

pub fn groups(conn: &Connection, id: AccountId) -> DbResult<Vec<GroupId>> {
    let mut stmt = conn
        .prepare("SELECT group_id FROM account_groups WHERE account_id = ?1 ORDER BY group_id")?;
    let rows = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn set_groups(conn: &Connection, id: AccountId, groups: &[GroupId]) -> DbResult<()> {
    conn.exec("DELETE FROM account_groups WHERE account_id = ?1", [id])?;
    let mut stmt = conn
        .prepare("INSERT OR IGNORE INTO account_groups (account_id, group_id) VALUES (?1, ?2)")?;
    for g in groups {
        stmt.execute(params![id, g])?;
    }
    Ok(())
}

/// The cached access token, if it is still valid at `now`.
pub fn token(conn: &Connection, id: AccountId) -> DbResult<Option<(String, jiff::Timestamp)>> {
    Ok(conn
        .row(
            "SELECT token, expires_at FROM access_tokens WHERE account_id = ?1",
            [id],
            |r| Ok((r.get::<_, String>(0)?, ts(r.get(1)?))),
        )
        .optional()?)
}

pub fn store_token(
    conn: &Connection,
    id: AccountId,
    token: &str,
    expires_at: jiff::Timestamp,
    now: jiff::Timestamp,
) -> DbResult<()> {
    conn.exec(
        "INSERT INTO access_tokens (account_id, token, expires_at, fetched_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (account_id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at,
                                                fetched_at = excluded.fetched_at",
        params![id, token, ms(expires_at), ms(now)],
    )?;
    Ok(())
}

/// Forgets a token WeChat refused (40001/40014/42001), unless another one replaced it already.
pub fn drop_token(conn: &Connection, id: AccountId, token: &str) -> DbResult<()> {
    conn.exec(
        "DELETE FROM access_tokens WHERE account_id = ?1 AND token = ?2",
        params![id, token],
    )?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::db::memory;

    pub fn seed_account(conn: &Connection, app_id: &str) -> AccountId {
        let a = NewAccount {
            name: "测试公众号",
            app_id,
            app_secret: "secret-0123456789",
            token: "tokentoken",
            aes_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            mode: AccountMode::Safe,
            api_base: "",
            simulation: false,
        };
        let id = insert(conn, &a, jiff::Timestamp::UNIX_EPOCH).unwrap();
        let g = crate::db::groups::default_group(conn, jiff::Timestamp::UNIX_EPOCH).unwrap();
        set_groups(conn, id, &[g]).unwrap();
        id
    }

    #[test]
    fn key_rotation_keeps_the_previous_key_and_secrets_survive_blank_fields() {
        let conn = memory().unwrap();
        let id = seed_account(&conn, "wx1");
        let mut f = AccountFields {
            name: "新名字".into(),
            app_id: "wx1".into(),
            mode: "safe".into(),
            aes_key: "ZZZdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into(),
            ..Default::default()
        };
        update(
            &conn,
            id,
            &f,
            AccountMode::Safe,
            jiff::Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        let a = get(&conn, id).unwrap().unwrap();
        assert_eq!(
            a.app_secret, "secret-0123456789",
            "blank secret keeps the stored one"
        );
        assert_eq!(
            a.prev_aes_key,
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
        );
        assert!(a.aes_key.starts_with("ZZZ"));
        f.aes_key.clear();
        update(
            &conn,
            id,
            &f,
            AccountMode::Safe,
            jiff::Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        assert!(
            get(&conn, id).unwrap().unwrap().aes_key.starts_with("ZZZ"),
            "blank key keeps the current one"
        );
        assert_eq!(a.masked_secret(), "secr*********6789");
    }

    #[test]
    fn tokens_are_cached_and_dropped_only_when_still_current() {
        let conn = memory().unwrap();
        let id = seed_account(&conn, "wx1");
        let t0 = jiff::Timestamp::UNIX_EPOCH;
        store_token(&conn, id, "A", t0, t0).unwrap();
        store_token(&conn, id, "B", t0, t0).unwrap();
        drop_token(&conn, id, "A").unwrap();
        assert_eq!(token(&conn, id).unwrap().unwrap().0, "B");
        drop_token(&conn, id, "B").unwrap();
        assert!(token(&conn, id).unwrap().is_none());
    }
}
