//! Agent notifications by WeChat (C10, A13): the agents' bindings and codes
//! (`agent_profiles`), each account's template settings (`notify_settings`)
//! and the notifications decided (`notifications`, one row each, so nothing
//! is sent twice). What to send, and when, is decided in `crate::notify`.

use super::{DbResult, ms};
use crate::db::Cached;
use crate::model::{AccountId, UserId};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

/// Stores a new binding code for `user`, valid until `expires`.
pub fn set_code(c: &Connection, user: UserId, code: &str, expires: Timestamp) -> DbResult<()> {
    c.exec(
        "INSERT INTO agent_profiles (user_id, bind_code, bind_expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET bind_code = ?2, bind_expires_at = ?3",
        params![user, code, ms(expires)],
    )?;
    Ok(())
}

/// The agent's binding: the account and OpenID, if bound.
pub fn binding(c: &Connection, user: UserId) -> DbResult<Option<(AccountId, String)>> {
    Ok(c.row(
        "SELECT wx_account_id, wx_openid FROM agent_profiles
             WHERE user_id = ?1 AND wx_account_id IS NOT NULL AND wx_openid <> ''",
        [user],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?)
}

/// The agent's current code and when it expires (ms), if one was issued.
pub fn code(c: &Connection, user: UserId) -> DbResult<Option<(String, i64)>> {
    Ok(c.row(
        "SELECT bind_code, bind_expires_at FROM agent_profiles WHERE user_id = ?1 AND bind_code <> ''",
        [user],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?)
}

/// Who holds this code: (agent, expires at in ms, display name).
pub fn code_owner(c: &Connection, code: &str) -> DbResult<Option<(UserId, i64, String)>> {
    Ok(c.row(
        "SELECT p.user_id, p.bind_expires_at, u.display_name FROM agent_profiles p
         JOIN users u ON u.id = p.user_id WHERE p.bind_code = ?1",
        [code],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()?)
}

/// Binds the agent to a WeChat user of the account; the code is used up.
pub fn bind(c: &Connection, user: UserId, account: AccountId, openid: &str) -> DbResult<()> {
    c.exec(
        "UPDATE agent_profiles SET wx_account_id = ?2, wx_openid = ?3, bind_code = '', bind_expires_at = 0
         WHERE user_id = ?1",
        params![user, account, openid],
    )?;
    Ok(())
}

pub fn offhours(c: &Connection, user: UserId) -> DbResult<bool> {
    Ok(c.row(
        "SELECT notify_offhours FROM agent_profiles WHERE user_id = ?1",
        [user],
        |r| r.get(0),
    )
    .optional()?
    .unwrap_or(false))
}

pub fn set_offhours(c: &Connection, user: UserId, on: bool) -> DbResult<()> {
    c.exec(
        "INSERT INTO agent_profiles (user_id, notify_offhours) VALUES (?1, ?2)
         ON CONFLICT (user_id) DO UPDATE SET notify_offhours = ?2",
        params![user, on],
    )?;
    Ok(())
}

pub fn unbind(c: &Connection, user: UserId) -> DbResult<()> {
    c.exec(
        "UPDATE agent_profiles SET wx_account_id = NULL, wx_openid = '', bind_code = '' WHERE user_id = ?1",
        [user],
    )?;
    Ok(())
}

/// An account's notification settings (C10, A13).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub enabled: bool,
    pub template_id: String,
    /// Template field → text with placeholders {类型} {客户} {内容} {时间}.
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// At most one message per agent per this many minutes.
    pub every_mins: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: false,
            template_id: String::new(),
            fields: default_fields(),
            every_mins: 5,
        }
    }
}

/// The mapping used while an admin has not set one: WeChat's common
/// "first / keyword1 / keyword2 / remark" layout.
pub fn default_fields() -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    for (k, v) in [
        ("first", "{类型}"),
        ("keyword1", "{客户}"),
        ("keyword2", "{时间}"),
        ("remark", "{内容}"),
    ] {
        m.insert(k.into(), serde_json::Value::String(v.into()));
    }
    m
}

pub fn settings(c: &Connection, account: AccountId) -> DbResult<Settings> {
    let row: Option<(bool, String, String, i64)> = c
        .row(
            "SELECT enabled, template_id, fields, every_mins FROM notify_settings WHERE account_id = ?1",
            [account],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    Ok(match row {
        Some((enabled, template_id, fields, every_mins)) => Settings {
            enabled,
            template_id,
            fields: serde_json::from_str::<serde_json::Value>(&fields)
                .ok()
                .and_then(|v| v.as_object().cloned())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(default_fields),
            every_mins,
        },
        None => Settings::default(),
    })
}

pub fn set_settings(c: &Connection, account: AccountId, s: &Settings) -> DbResult<()> {
    c.exec(
        "INSERT INTO notify_settings (account_id, enabled, template_id, fields, every_mins)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (account_id) DO UPDATE SET enabled = ?2, template_id = ?3, fields = ?4, every_mins = ?5",
        params![
            account,
            s.enabled,
            s.template_id,
            serde_json::Value::Object(s.fields.clone()).to_string(),
            s.every_mins
        ],
    )?;
    Ok(())
}

/// A conversation whose latest inbound message may call for a notification.
#[derive(Clone, Debug)]
pub struct Waiting {
    pub conversation: i64,
    pub account: AccountId,
    pub group: Option<i64>,
    pub openid: String,
    pub remark: String,
    /// The holder; `None` while queued.
    pub agent: Option<UserId>,
    pub text: String,
    /// When the message arrived, in ms.
    pub at: i64,
}

/// Queued conversations whose follower wrote since `since`, and conversations
/// in session with a message unread since before `unread_before` (but not
/// older than an hour before `since`).
pub fn waiting(c: &Connection, since: i64, unread_before: i64) -> DbResult<Vec<Waiting>> {
    let mut stmt = c.prepare_cached(
        "SELECT v.id, v.account_id, v.group_id, f.openid, f.remark, v.agent_id, m.content, m.received_at
         FROM conversations v JOIN followers f ON f.id = v.follower_id
         JOIN messages m ON m.id = (SELECT max(x.id) FROM messages x
                                    WHERE x.conversation_id = v.id AND x.direction = 'in')
         WHERE (v.state = 'queued' AND m.received_at >= ?1)
            OR (v.state = 'active' AND m.received_at <= ?2 AND m.received_at > coalesce(v.read_at, 0)
                AND m.received_at >= ?1 - 3600000)",
    )?;
    let rows = stmt
        .query_map(params![since, unread_before], |r| {
            Ok(Waiting {
                conversation: r.get(0)?,
                account: r.get(1)?,
                group: r.get(2)?,
                openid: r.get(3)?,
                remark: r.get(4)?,
                agent: r.get(5)?,
                text: r.get(6)?,
                at: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The members of a group (every group's, for `None`).
pub fn members(c: &Connection, group: Option<i64>) -> DbResult<Vec<UserId>> {
    let mut stmt =
        c.prepare_cached("SELECT user_id FROM group_members WHERE group_id = ?1 OR ?1 IS NULL")?;
    let ids = stmt
        .query_map([group], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

/// The agent's off-hours choice; an error when they have no profile.
pub fn offhours_of_bound(c: &Connection, user: UserId) -> DbResult<bool> {
    Ok(c.row(
        "SELECT notify_offhours FROM agent_profiles WHERE user_id = ?1",
        [user],
        |r| r.get(0),
    )?)
}

/// Notifications the agent got for this message (at or after `at`) or since
/// `since` (both in ms).
pub fn recent(c: &Connection, user: UserId, conv: i64, at: i64, since: i64) -> DbResult<i64> {
    Ok(c.row(
        "SELECT count(*) FROM notifications WHERE user_id = ?1
          AND ((conversation_id = ?2 AND at >= ?3) OR at >= ?4)",
        params![user, conv, at, since],
        |r| r.get(0),
    )?)
}

/// Records a notification as sent; returns its id.
pub fn record(
    c: &Connection,
    user: UserId,
    conv: i64,
    kind: &str,
    now: Timestamp,
) -> DbResult<i64> {
    c.exec(
        "INSERT INTO notifications (user_id, conversation_id, kind, state, at) VALUES (?1, ?2, ?3, 'sent', ?4)",
        params![user, conv, kind, ms(now)],
    )?;
    Ok(c.last_insert_rowid())
}

/// Records why a notification was not delivered.
pub fn failed(c: &Connection, id: i64, reason: &str) -> DbResult<()> {
    c.exec(
        "UPDATE notifications SET state = 'failed', reason = ?2 WHERE id = ?1",
        params![id, reason],
    )?;
    Ok(())
}
