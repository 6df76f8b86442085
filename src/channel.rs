//! Managing Official Accounts (E11, A11): validation of what an admin types,
//! saving with an audit row, the webhook URL to paste into WeChat, and
//! "测试连接". Only super admins (and the shell) manage accounts. No HTTP here.

use crate::clock::Clock;
use crate::db::accounts::{Account, AccountFields, NewAccount};
use crate::db::audit::Entry;
use crate::db::{self, Db};
use crate::model::{AccountId, AccountMode, AuditAction, GroupId, Role};
use crate::team::{Acting, TeamError, TeamResult};
use crate::wechat::api::WechatApi;
use crate::wechat::crypto::AesKey;

/// Checks the fields; `creating` requires the secrets, an edit may leave them blank.
pub fn check(f: &AccountFields, creating: bool) -> Result<AccountMode, String> {
    if f.name.trim().is_empty() || f.name.chars().count() > 64 {
        return Err(crate::t("channel-name-required"));
    }
    if f.app_id.is_empty()
        || f.app_id.len() > 64
        || !f
            .app_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(crate::t("channel-appid-invalid"));
    }
    if creating && f.app_secret.is_empty() {
        return Err(crate::t("channel-secret-required"));
    }
    if !f.app_secret.is_empty()
        && (f.app_secret.len() > 128 || f.app_secret.chars().any(char::is_whitespace))
    {
        return Err(crate::t("channel-secret-invalid"));
    }
    if (creating || !f.token.is_empty()) && !(3..=32).contains(&f.token.len()) {
        return Err(crate::t("channel-token-invalid"));
    }
    if !f.token.is_empty() && !f.token.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(crate::t("channel-token-invalid"));
    }
    let mode = AccountMode::parse(&f.mode).ok_or_else(|| crate::t("channel-mode-required"))?;
    if !f.aes_key.is_empty() && AesKey::from_encoding_aes_key(&f.aes_key).is_err() {
        return Err(crate::t("channel-aes-invalid"));
    }
    if creating && mode != AccountMode::Plain && f.aes_key.is_empty() {
        return Err(crate::t("channel-aes-required"));
    }
    // The AppSecret travels to this address: https, or plain http only to this machine.
    let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| f.api_base.starts_with(p));
    let allowed = f.api_base.is_empty() || f.api_base.starts_with("https://") || local;
    if !allowed {
        return Err(crate::t("channel-api-base-invalid"));
    }
    if let Some(r) = &f.rules {
        let ok = (1..=720).contains(&r.window_hours)
            && (0..=1000).contains(&r.quota_after_message)
            && (0..=1000).contains(&r.quota_after_event)
            && (1..=172_800).contains(&r.event_window_secs);
        if !ok {
            return Err(crate::t("channel-rules-range"));
        }
    }
    Ok(mode)
}

fn trimmed(mut f: AccountFields) -> AccountFields {
    f.name = f.name.trim().to_string();
    f.app_id = f.app_id.trim().to_string();
    f.app_secret = f.app_secret.trim().to_string();
    f.token = f.token.trim().to_string();
    f.aes_key = f.aes_key.trim().to_string();
    f.api_base = f.api_base.trim().trim_end_matches('/').to_string();
    f
}

fn super_only(by: &Acting) -> TeamResult<()> {
    if by.role == Role::SuperAdmin {
        Ok(())
    } else {
        Err(TeamError::Forbidden)
    }
}

fn conflict(e: db::DbError, app_id: &str) -> TeamError {
    if db::is_unique_violation(&e) {
        TeamError::Invalid(crate::t1("channel-appid-taken", "app_id", app_id))
    } else {
        e.into()
    }
}

pub async fn create(
    db: &Db,
    clock: &Clock,
    by: &Acting,
    f: AccountFields,
) -> TeamResult<AccountId> {
    super_only(by)?;
    let f = trimmed(f);
    let mode = check(&f, true).map_err(TeamError::Invalid)?;
    let (by, now) = (by.clone(), clock.now());
    db.write(move |c| {
        let new = NewAccount {
            name: &f.name,
            app_id: &f.app_id,
            app_secret: &f.app_secret,
            token: &f.token,
            aes_key: &f.aes_key,
            mode,
            api_base: &f.api_base,
            simulation: f.simulation,
        };
        let id = db::accounts::insert(c, &new, now).map_err(|e| conflict(e, &f.app_id))?;
        // An account always serves a group: the first one (客服组 on a fresh
        // install); the edit page changes it.
        let group = db::groups::default_group(c, now)?;
        db::accounts::set_groups(c, id, &[group])?;
        let entry = Entry::new(
            AuditAction::AccountCreate,
            crate::db::audit::about("audit-t-account", &f.name),
        )
        .change(None, Some(&f));
        db::audit::record(c, &crate::team::actor(&by), &entry, now)?;
        Ok(id)
    })
    .await
}

pub async fn update(
    db: &Db,
    clock: &Clock,
    by: &Acting,
    id: AccountId,
    f: AccountFields,
    groups: Vec<GroupId>,
) -> TeamResult<()> {
    super_only(by)?;
    let f = trimmed(f);
    let mode = check(&f, false).map_err(TeamError::Invalid)?;
    let (by, now) = (by.clone(), clock.now());
    db.write(move |c| {
        let old = db::accounts::get(c, id)?.ok_or(TeamError::NotFound)?;
        if mode != AccountMode::Plain && f.aes_key.is_empty() && old.aes_key.is_empty() {
            return Err(TeamError::Invalid(crate::t("channel-aes-required")));
        }
        if groups.is_empty() {
            return Err(TeamError::Invalid(crate::t("channel-groups-required")));
        }
        for g in &groups {
            if db::groups::get(c, *g)?.is_none() {
                return Err(TeamError::Invalid(crate::t("channel-group-missing")));
            }
        }
        db::accounts::update(c, id, &f, mode, now).map_err(|e| conflict(e, &f.app_id))?;
        if let Some(r) = &f.rules {
            db::accounts::set_rules(c, id, r)?;
        }
        db::accounts::set_groups(c, id, &groups)?;
        let before = AccountFields {
            name: old.name.clone(),
            app_id: old.app_id.clone(),
            mode: old.mode.as_str().into(),
            api_base: old.api_base.clone(),
            simulation: old.simulation,
            ..Default::default()
        };
        let mut entry = Entry::new(
            AuditAction::AccountUpdate,
            crate::db::audit::about("audit-t-account", &f.name),
        )
        .change(Some(&before), Some(&f));
        let secrets: Vec<&str> = [
            (!f.app_secret.is_empty(), "AppSecret"),
            (!f.token.is_empty() && f.token != old.token, "Token"),
            (
                !f.aes_key.is_empty() && f.aes_key != old.aes_key,
                "EncodingAESKey",
            ),
        ]
        .into_iter()
        .filter_map(|(changed, name)| changed.then_some(name))
        .collect();
        if !secrets.is_empty() {
            // Which secrets changed, never their values.
            let mut after: serde_json::Value = entry
                .after
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok())
                .unwrap_or_else(|| serde_json::json!({}));
            if let Some(map) = after.as_object_mut() {
                map.insert("secrets_changed".into(), serde_json::json!(secrets));
            }
            entry.after = Some(after.to_string());
        }
        db::audit::record(c, &crate::team::actor(&by), &entry, now)?;
        Ok(())
    })
    .await
}

/// The URL to paste into the WeChat admin.
pub fn webhook_url(public: &str, id: AccountId) -> String {
    format!("{}/wechat/{id}", public.trim_end_matches('/'))
}

/// "测试连接": fetch a fresh access token; Ok(message) or Err(explanation), both Chinese.
pub async fn test_connection(api: &WechatApi, account: &Account) -> Result<String, TestFailure> {
    // A cached token is only kept while AppID, AppSecret and the API address are
    // unchanged, so it still proves the connection; forcing a new one would
    // invalidate the token of any other system using this AppID.
    match api.token(account).await {
        Ok(_) => Ok(crate::t("channel-test-ok")),
        Err(e) => Err(TestFailure {
            reason: crate::t1("channel-test-failed", "reason", connection_reason(&e)),
            fix: connection_fix(&e),
        }),
    }
}

/// A failed 测试连接 — what WeChat said, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestFailure {
    pub reason: String,
    pub fix: String,
}

/// Why fetching a token failed; a few codes mean something more precise here
/// than in a send (40001 on a token fetch is a wrong AppSecret).
fn connection_reason(e: &crate::wechat::api::ApiError) -> String {
    use crate::wechat::api::ApiError;
    let precise = match e {
        ApiError::WeChat { code: 40001, .. } => crate::t("channel-reason-40001"),
        ApiError::WeChat { code: 41002, .. } => crate::t("channel-reason-41002"),
        ApiError::WeChat { code: 41004, .. } => crate::t("channel-reason-41004"),
        _ => return e.explain(),
    };
    match e {
        ApiError::WeChat { code, .. } => {
            crate::t2("channel-reason-coded", "reason", precise, "code", *code)
        }
        _ => precise,
    }
}

/// What to do when fetching a token fails — the usual causes of a first binding.
pub fn connection_fix(e: &crate::wechat::api::ApiError) -> String {
    use crate::wechat::api::ApiError;
    match e {
        ApiError::WeChat { code, .. } => match code {
            40164 | 89506 | 89507 => crate::t("channel-fix-whitelist"),
            89503 | 89501 => crate::t("channel-fix-confirm"),
            40125 | 40001 | 41004 => crate::t("channel-fix-secret"),
            40013 | 41002 => crate::t("channel-fix-appid"),
            45009 => crate::t("channel-fix-quota"),
            -1 => crate::t("channel-fix-busy"),
            _ => crate::t("channel-fix-other"),
        },
        ApiError::Network(_) | ApiError::Lost(_) => crate::t("channel-fix-network"),
        ApiError::Http(_) | ApiError::Decode(_) => crate::t("channel-fix-api-base"),
        ApiError::Throttled => crate::t("channel-fix-throttled"),
        ApiError::Db(_) | ApiError::Local(_) => crate::t("channel-fix-log"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_connection_test_says_why_and_what_to_do() {
        use crate::wechat::api::ApiError;
        let wx = |code| ApiError::WeChat {
            code,
            message: String::new(),
        };
        for (e, reason, fix) in [
            (wx(40001), "AppSecret 错误", "AppSecret"),
            (wx(40125), "AppSecret 错误", "AppSecret"),
            (wx(41004), "缺少 AppSecret", "AppSecret"),
            (wx(40013), "AppID 无效", "wx 开头"),
            (wx(41002), "缺少 AppID", "wx 开头"),
            (wx(40164), "IP 白名单", "IP白名单"),
            (wx(89503), "89503", "确认"),
            (
                ApiError::Network("refused".into()),
                "无法连接",
                "api.weixin.qq.com",
            ),
            (ApiError::Throttled, "过于频繁", "15 秒"),
        ] {
            let (r, f) = (connection_reason(&e), connection_fix(&e));
            assert!(r.contains(reason), "{e:?}: {r}");
            assert!(f.contains(fix), "{e:?}: {f}");
        }
    }

    fn fields() -> AccountFields {
        AccountFields {
            name: "小店".into(),
            app_id: "wx0123456789abcdef".into(),
            app_secret: "0123456789abcdef0123456789abcdef".into(),
            token: "kefuToken1".into(),
            aes_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into(),
            mode: "safe".into(),
            api_base: String::new(),
            simulation: false,
            prev_aes_key: String::new(),
            rules: None,
        }
    }

    #[test]
    fn what_an_admin_types_is_checked_with_reasons() {
        assert_eq!(check(&fields(), true), Ok(AccountMode::Safe));
        type Breaker = fn(&mut AccountFields);
        let cases: Vec<(Breaker, &str)> = vec![
            (|f| f.name.clear(), "名称"),
            (|f| f.app_id = "wx 1".into(), "AppID"),
            (|f| f.app_secret.clear(), "AppSecret"),
            (|f| f.token = "ab".into(), "Token"),
            (|f| f.token = "有中文的token".into(), "Token"),
            (|f| f.aes_key = "short".into(), "EncodingAESKey"),
            (|f| f.mode = "loud".into(), "加解密"),
            (|f| f.api_base = "ftp://x".into(), "接口地址"),
            (|f| f.api_base = "http://evil.example".into(), "接口地址"),
        ];
        for (break_it, word) in cases {
            let mut f = fields();
            break_it(&mut f);
            let err = check(&f, true).unwrap_err();
            assert!(err.contains(word), "{err} should mention {word}");
        }
        let mut plain = fields();
        plain.mode = "plain".into();
        plain.aes_key.clear();
        assert_eq!(
            check(&plain, true),
            Ok(AccountMode::Plain),
            "plaintext mode needs no key"
        );
        let mut edit = fields();
        edit.app_secret.clear();
        edit.token.clear();
        assert!(
            check(&edit, false).is_ok(),
            "blank secrets keep the stored ones"
        );
    }
}
