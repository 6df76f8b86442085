//! Agent notifications by WeChat (C10, A13). An agent binds their WeChat by
//! sending the one-time code shown in 个人中心 to the Official Account; kefu
//! then knows their OpenID for that account and can send them template
//! messages (see [`due`]).

use crate::db::Cached;
use crate::db::{DbResult, ms, ts};
use crate::model::{AccountId, UserId};
use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

/// How long a binding code is valid.
pub const CODE_TTL: SignedDuration = SignedDuration::from_mins(10);

/// A new binding code for `user`: "KF" and six digits, valid [`CODE_TTL`].
pub fn new_code(c: &Connection, user: UserId, now: Timestamp) -> DbResult<String> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).map_err(|e| crate::db::DbError::Commit(e.to_string()))?;
    let code = format!("KF{:06}", u32::from_le_bytes(b) % 1_000_000);
    c.exec(
        "INSERT INTO agent_profiles (user_id, bind_code, bind_expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET bind_code = ?2, bind_expires_at = ?3",
        params![user, code, ms(now + CODE_TTL)],
    )?;
    Ok(code)
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

/// The current code and when it expires, if one is pending.
pub fn pending_code(
    c: &Connection,
    user: UserId,
    now: Timestamp,
) -> DbResult<Option<(String, Timestamp)>> {
    let row: Option<(String, i64)> = c
        .row(
            "SELECT bind_code, bind_expires_at FROM agent_profiles WHERE user_id = ?1 AND bind_code <> ''",
            [user],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row
        .filter(|(_, exp)| ts(*exp) > now)
        .map(|(code, exp)| (code, ts(exp))))
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

/// A follower's text that is a valid binding code binds that WeChat user to
/// the agent; the answer to send back. `None`: not a code.
pub fn bind(
    c: &Connection,
    account: AccountId,
    openid: &str,
    text: &str,
    now: Timestamp,
) -> DbResult<Option<String>> {
    let code = text.trim().to_ascii_uppercase();
    if code.len() != 8 || !code.starts_with("KF") || !code[2..].bytes().all(|b| b.is_ascii_digit())
    {
        return Ok(None);
    }
    let found: Option<(UserId, i64, String)> = c
        .row(
            "SELECT p.user_id, p.bind_expires_at, u.display_name FROM agent_profiles p
             JOIN users u ON u.id = p.user_id WHERE p.bind_code = ?1",
            [&code],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((user, expires, name)) = found else {
        return Ok(Some("绑定码无效,请在客服系统“个人中心”重新获取。".into()));
    };
    if ts(expires) <= now {
        return Ok(Some("绑定码已过期,请在客服系统“个人中心”重新获取。".into()));
    }
    c.exec(
        "UPDATE agent_profiles SET wx_account_id = ?2, wx_openid = ?3, bind_code = '', bind_expires_at = 0
         WHERE user_id = ?1",
        params![user, account, openid],
    )?;
    Ok(Some(format!(
        "绑定成功!客服 {name} 将通过本公众号收到新消息提醒。"
    )))
}

// ------------------------------------------------------------------ template messages

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

/// A template message decided and recorded; the caller sends it and records
/// a failure with [`failed`].
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: i64,
    pub account: AccountId,
    pub body: serde_json::Value,
}

/// How long an in-session message may stay unread before its agent is told.
pub const UNREAD_AFTER: SignedDuration = SignedDuration::from_mins(3);

fn fill(template: &str, kind: &str, follower: &str, text: &str, at: &str) -> String {
    template
        .replace("{类型}", kind)
        .replace("{客户}", follower)
        .replace("{内容}", text)
        .replace("{时间}", at)
}

/// Decides which agents to notify now (C10): a queued follower's message →
/// every bound agent of the group; a message unread for more than 3 minutes
/// in a conversation → its agent; not while the time plan is closed unless
/// the agent asked for off-hours messages; at most one per agent per the
/// account's interval. Each decision is a row, so nothing is sent twice.
pub fn due(c: &Connection, now: Timestamp) -> DbResult<Vec<Job>> {
    // (conversation, account, group, follower label source, agent, kind, text, at)
    type Candidate = (
        i64,
        AccountId,
        Option<i64>,
        String,
        String,
        Option<UserId>,
        String,
        i64,
    );
    let since = ms(now - SignedDuration::from_mins(10));
    let unread_before = ms(now - UNREAD_AFTER);
    let mut stmt = c.prepare_cached(
        "SELECT v.id, v.account_id, v.group_id, f.openid, f.remark, v.agent_id, m.content, m.received_at
         FROM conversations v JOIN followers f ON f.id = v.follower_id
         JOIN messages m ON m.id = (SELECT max(x.id) FROM messages x
                                    WHERE x.conversation_id = v.id AND x.direction = 'in')
         WHERE (v.state = 'queued' AND m.received_at >= ?1)
            OR (v.state = 'active' AND m.received_at <= ?2 AND m.received_at > coalesce(v.read_at, 0)
                AND m.received_at >= ?1 - 3600000)",
    )?;
    let rows: Vec<Candidate> = stmt
        .query_map(params![since, unread_before], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut jobs = vec![];
    for (conv, account, group, openid, remark, holder, text, at) in rows {
        let s = settings(c, account)?;
        if !s.enabled || s.template_id.is_empty() {
            continue;
        }
        let (kind, agents): (&str, Vec<UserId>) = match holder {
            Some(a) => ("unread", vec![a]),
            None => {
                let mut stmt = c.prepare_cached(
                    "SELECT user_id FROM group_members WHERE group_id = ?1 OR ?1 IS NULL",
                )?;
                let ids = stmt
                    .query_map([group], |r| r.get(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                ("queue", ids)
            }
        };
        let open = crate::engine::timeplan::is_open(&crate::db::timeplan::load(c, account)?, now)
            .is_open();
        for agent in agents {
            let Some((bound_account, wx_openid)) = binding(c, agent)? else {
                continue;
            };
            if bound_account != account {
                continue;
            }
            let offhours: bool = c.row(
                "SELECT notify_offhours FROM agent_profiles WHERE user_id = ?1",
                [agent],
                |r| r.get(0),
            )?;
            if !open && !offhours {
                continue;
            }
            // Once per message that caused it, and not more often than the interval.
            let already: i64 = c.row(
                "SELECT count(*) FROM notifications WHERE user_id = ?1
                  AND ((conversation_id = ?2 AND at >= ?3) OR at >= ?4)",
                params![
                    agent,
                    conv,
                    at,
                    ms(now - SignedDuration::from_mins(s.every_mins))
                ],
                |r| r.get(0),
            )?;
            if already > 0 {
                continue;
            }
            let label = if remark.is_empty() {
                crate::db::followers::short_label(&openid)
            } else {
                remark.clone()
            };
            let kind_text = if kind == "queue" {
                "有客户正在排队等待接入"
            } else {
                "有客户消息超过 3 分钟未读"
            };
            let when = ts(at).strftime("%m-%d %H:%M").to_string();
            let excerpt: String = text.chars().take(40).collect();
            let mut data = serde_json::Map::new();
            for (field, template) in &s.fields {
                let value = fill(
                    template.as_str().unwrap_or_default(),
                    kind_text,
                    &label,
                    &excerpt,
                    &when,
                );
                data.insert(field.clone(), serde_json::json!({ "value": value }));
            }
            c.exec(
                "INSERT INTO notifications (user_id, conversation_id, kind, state, at) VALUES (?1, ?2, ?3, 'sent', ?4)",
                params![agent, conv, kind, ms(now)],
            )?;
            jobs.push(Job {
                id: c.last_insert_rowid(),
                account,
                body: serde_json::json!({
                    "touser": wx_openid,
                    "template_id": s.template_id,
                    "data": data,
                }),
            });
        }
    }
    Ok(jobs)
}

/// Records why a notification was not delivered.
pub fn failed(c: &Connection, id: i64, reason: &str) -> DbResult<()> {
    c.exec(
        "UPDATE notifications SET state = 'failed', reason = ?2 WHERE id = ?1",
        params![id, reason],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{accounts::tests::seed_account, memory, users::tests::seed_user};
    use crate::model::Role;

    #[test]
    fn a_code_binds_once_within_ten_minutes() {
        let c = memory().unwrap();
        let acc = seed_account(&c, "wx1");
        let amy = seed_user(&c, "amy", Role::Agent);
        let t0: Timestamp = "2026-05-01T02:00:00Z".parse().unwrap();
        assert_eq!(bind(&c, acc, "oX", "你好", t0).unwrap(), None, "not a code");
        let code = new_code(&c, amy, t0).unwrap();
        assert!(pending_code(&c, amy, t0).unwrap().is_some());
        let late = t0 + CODE_TTL;
        assert!(
            bind(&c, acc, "oX", &code, late)
                .unwrap()
                .unwrap()
                .contains("过期")
        );
        let code = new_code(&c, amy, late).unwrap();
        let reply = bind(&c, acc, "oAgentWx", &code.to_lowercase(), late)
            .unwrap()
            .unwrap();
        assert!(reply.contains("绑定成功"), "{reply}");
        assert_eq!(binding(&c, amy).unwrap(), Some((acc, "oAgentWx".into())));
        // Used: a second try is refused.
        assert!(
            bind(&c, acc, "oOther", &code, late)
                .unwrap()
                .unwrap()
                .contains("无效")
        );
        unbind(&c, amy).unwrap();
        assert_eq!(binding(&c, amy).unwrap(), None);
    }
}
