//! Agent notifications by WeChat (C10, A13). An agent binds their WeChat by
//! sending the one-time code shown in 个人中心 to the Official Account; kefu
//! then knows their OpenID for that account and can send them template
//! messages (see [`due`]). The decisions live here; what they read and write
//! is in `db::notify`.

pub use crate::db::notify::{
    Settings, binding, default_fields, failed, offhours, set_offhours, set_settings, settings,
    unbind,
};
use crate::db::{self, DbResult, ms, ts};
use crate::i18n::Lang;
use crate::model::{AccountId, UserId};
use jiff::{SignedDuration, Timestamp};
use rusqlite::Connection;

/// How long a binding code is valid.
pub const CODE_TTL: SignedDuration = SignedDuration::from_mins(10);

/// A new binding code for `user`: "KF" and six digits, valid [`CODE_TTL`].
pub fn new_code(c: &Connection, user: UserId, now: Timestamp) -> DbResult<String> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).map_err(|e| crate::db::DbError::Commit(e.to_string()))?;
    let code = format!("KF{:06}", u32::from_le_bytes(b) % 1_000_000);
    db::notify::set_code(c, user, &code, now + CODE_TTL)?;
    Ok(code)
}

/// The current code and when it expires, if one is pending.
pub fn pending_code(
    c: &Connection,
    user: UserId,
    now: Timestamp,
) -> DbResult<Option<(String, Timestamp)>> {
    Ok(db::notify::code(c, user)?
        .filter(|(_, exp)| ts(*exp) > now)
        .map(|(code, exp)| (code, ts(exp))))
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
    let Some((user, expires, name)) = db::notify::code_owner(c, &code)? else {
        // Whose code it was is unknown: the default language.
        return Ok(Some(crate::i18n::lookup(
            Lang::Zh,
            "notify-code-invalid",
            &[],
        )));
    };
    // The agent reads the answer in their own language.
    let lang = db::users::get(c, user)?
        .map(|u| u.locale)
        .unwrap_or_default();
    if ts(expires) <= now {
        return Ok(Some(crate::i18n::lookup(lang, "notify-code-expired", &[])));
    }
    db::notify::bind(c, user, account, openid)?;
    Ok(Some(crate::i18n::lookup(
        lang,
        "notify-bound-reply",
        &[("name", &name)],
    )))
}

// ------------------------------------------------------------------ template messages

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
        // The same placeholders as the English settings page names them.
        .replace("{type}", kind)
        .replace("{customer}", follower)
        .replace("{content}", text)
        .replace("{time}", at)
}

/// Decides which agents to notify now (C10): a queued follower's message →
/// every bound agent of the group; a message unread for more than 3 minutes
/// in a conversation → its agent; not while the time plan is closed unless
/// the agent asked for off-hours messages; at most one per agent per the
/// account's interval. Each decision is a row, so nothing is sent twice.
pub fn due(c: &Connection, now: Timestamp) -> DbResult<Vec<Job>> {
    let since = ms(now - SignedDuration::from_mins(10));
    let unread_before = ms(now - UNREAD_AFTER);
    let mut jobs = vec![];
    for w in db::notify::waiting(c, since, unread_before)? {
        let account = w.account;
        let s = settings(c, account)?;
        if !s.enabled || s.template_id.is_empty() {
            continue;
        }
        let (kind, agents): (&str, Vec<UserId>) = match w.agent {
            Some(a) => ("unread", vec![a]),
            None => ("queue", db::notify::members(c, w.group)?),
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
            let offhours = db::notify::offhours_of_bound(c, agent)?;
            if !open && !offhours {
                continue;
            }
            // Once per message that caused it, and not more often than the interval.
            let interval = ms(now - SignedDuration::from_mins(s.every_mins));
            if db::notify::recent(c, agent, w.conversation, w.at, interval)? > 0 {
                continue;
            }
            let label = if w.remark.is_empty() {
                crate::db::followers::short_label(&w.openid)
            } else {
                w.remark.clone()
            };
            // In the language the agent chose for kefu.
            let lang = db::users::get(c, agent)?
                .map(|u| u.locale)
                .unwrap_or_default();
            let kind_text = if kind == "queue" {
                crate::i18n::lookup(lang, "notify-kind-queue", &[])
            } else {
                crate::i18n::lookup(lang, "notify-kind-unread", &[])
            };
            let when = ts(w.at).strftime("%m-%d %H:%M").to_string();
            let excerpt: String = w.text.chars().take(40).collect();
            let mut data = serde_json::Map::new();
            for (field, template) in &s.fields {
                let value = fill(
                    template.as_str().unwrap_or_default(),
                    &kind_text,
                    &label,
                    &excerpt,
                    &when,
                );
                data.insert(field.clone(), serde_json::json!({ "value": value }));
            }
            let id = db::notify::record(c, agent, w.conversation, kind, now)?;
            jobs.push(Job {
                id,
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
