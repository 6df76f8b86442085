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
