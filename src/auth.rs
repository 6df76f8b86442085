//! Who may log in: argon2id password hashes, session tokens, the login rule
//! (5 failures per account and IP lock that pair out for 15 minutes) and the
//! 24-hour idle session. Knows nothing of HTTP; `web::session` carries the
//! results in cookies.

use crate::clock::Clock;
use crate::db::audit::{Actor, Entry};
use crate::db::sessions::{LoginRecord, NewSession};
use crate::db::{self, Db, DbError};
use crate::model::{AuditAction, User, UserStatus};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use jiff::SignedDuration;
use sha2::{Digest, Sha256};

/// A session ends after this long without a request (S3 1.4.2).
pub const SESSION_IDLE: SignedDuration = SignedDuration::from_hours(24);
/// Failed attempts per account and IP before the lockout.
pub const MAX_FAILURES: i64 = 5;
/// How long a locked-out account/IP pair waits.
pub const LOCKOUT: SignedDuration = SignedDuration::from_mins(15);
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Hashes a password with argon2id and a fresh salt. Slow by design: call it
/// through [`hash_password_async`] from async code.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

pub async fn hash_password_async(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AuthError::Hash(e.to_string()))?
}

/// A random token for cookies and CSRF: 32 bytes, URL-safe base64.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    // getrandom only fails when the OS has no entropy source at all.
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the sessions table stores instead of the token itself.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks a new password and its confirmation; the error is shown to the user.
pub fn check_new_password(password: &str, confirm: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err("密码至少需要 8 个字符");
    }
    if n > MAX_PASSWORD_CHARS {
        return Err("密码不能超过 128 个字符");
    }
    if password != confirm {
        return Err("两次输入的密码不一致");
    }
    Ok(())
}

/// A successful login.
#[derive(Debug)]
pub struct LoggedIn {
    pub token: String,
    pub user: User,
    /// The login before this one, shown to the user (S3 1.1).
    pub previous: Option<LoginRecord>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum LoginRefused {
    /// Unknown account or wrong password (deliberately not told apart).
    BadCredentials,
    Disabled,
    /// Too many failures from this IP for this account; minutes left.
    Locked {
        minutes: i64,
    },
}

impl LoginRefused {
    pub fn message(&self) -> String {
        match self {
            LoginRefused::BadCredentials => "账号或密码错误".into(),
            LoginRefused::Disabled => "该账号已被禁用,请联系管理员".into(),
            LoginRefused::Locked { minutes } => {
                format!("登录失败次数过多,该账号在此 IP 已被锁定,请 {minutes} 分钟后再试")
            }
        }
    }
}

/// A real hash of a random password, verified when the account does not exist
/// so that "no such account" and "wrong password" take the same time.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&new_token()).unwrap_or_default());

pub struct LoginAttempt {
    pub username: String,
    pub password: String,
    pub ip: String,
    pub user_agent: String,
}

/// Checks the lockout, the password and the account's status; on success creates
/// a session and records the login; on failure records the failure.
pub async fn login(
    db: &Db,
    clock: &Clock,
    a: LoginAttempt,
) -> Result<Result<LoggedIn, LoginRefused>, AuthError> {
    let now = clock.now();
    let (name, ip) = (a.username.trim().to_string(), a.ip.clone());
    let since = now - LOCKOUT;
    let (failures, found) = {
        let (name, ip) = (name.clone(), ip.clone());
        db.read(move |c| {
            Ok((
                db::sessions::failures_since(c, &name, &ip, since)?,
                db::users::by_username(c, &name)?,
            ))
        })
        .await?
    };
    if failures >= MAX_FAILURES {
        let oldest = {
            let (name, ip) = (name.clone(), ip.clone());
            db.read(move |c| {
                Ok(c.query_row(
                    "SELECT min(at) FROM (SELECT at FROM login_failures WHERE username = ?1 AND ip = ?2
                     AND at >= ?3 ORDER BY at DESC LIMIT ?4)",
                    rusqlite::params![name, ip, db::ms(since), MAX_FAILURES],
                    |r| r.get::<_, Option<i64>>(0),
                )?)
            })
            .await?
        };
        let unlock = db::ts(oldest.unwrap_or(db::ms(now))) + LOCKOUT;
        let minutes = (unlock.duration_since(now).as_secs() + 59) / 60;
        return Ok(Err(LoginRefused::Locked {
            minutes: minutes.max(1),
        }));
    }

    let password = a.password.clone();
    let stored = found
        .as_ref()
        .map(|(_, h)| h.clone())
        .unwrap_or_else(|| DUMMY_HASH.clone());
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .map_err(|e| AuthError::Hash(e.to_string()))?;

    let user = match found {
        Some((user, _)) if ok => user,
        _ => {
            let (n, i) = (name.clone(), ip.clone());
            db.write(move |c| {
                db::sessions::record_failure(c, &n, &i, now)?;
                let actor = Actor {
                    id: None,
                    name: n.clone(),
                    ip: i.clone(),
                };
                db::audit::record(
                    c,
                    &actor,
                    &Entry::new(AuditAction::LoginFailed, format!("账号 {n}")),
                    now,
                )
            })
            .await?;
            return Ok(Err(LoginRefused::BadCredentials));
        }
    };
    if user.status == UserStatus::Disabled {
        return Ok(Err(LoginRefused::Disabled));
    }

    let token = new_token();
    let (hash, csrf) = (token_hash(&token), new_token());
    let record = LoginRecord {
        at: now,
        ip: a.ip.clone(),
        user_agent: a.user_agent.clone(),
    };
    let (uid, uname) = (user.id, user.username.clone());
    let previous = db
        .write(move |c| {
            let previous = db::sessions::recent_logins(c, uid, 1)?.into_iter().next();
            db::sessions::create(
                c,
                &NewSession {
                    token_hash: &hash,
                    user: uid,
                    csrf_token: &csrf,
                    ip: &record.ip,
                    user_agent: &record.user_agent,
                },
                now,
            )?;
            db::sessions::record_login(c, uid, &record)?;
            db::sessions::clear_failures(c, &uname, &record.ip)?;
            let actor = Actor {
                id: Some(uid),
                name: uname.clone(),
                ip: record.ip.clone(),
            };
            db::audit::record(
                c,
                &actor,
                &Entry::new(AuditAction::Login, format!("用户 {uname}")),
                now,
            )?;
            Ok(previous)
        })
        .await?;
    Ok(Ok(LoggedIn {
        token,
        user,
        previous,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_argon2id_with_a_fresh_salt() {
        let h1 = hash_password("correct horse").unwrap();
        let h2 = hash_password("correct horse").unwrap();
        assert!(h1.starts_with("$argon2id$"));
        assert_ne!(h1, h2, "each hash has its own salt");
        assert!(verify_password("correct horse", &h1));
        assert!(!verify_password("correct horsf", &h1));
        assert!(!verify_password("anything", "not a hash"));
        assert!(!verify_password("anything", &DUMMY_HASH));
    }

    #[test]
    fn new_passwords_are_checked() {
        assert_eq!(
            check_new_password("short", "short"),
            Err("密码至少需要 8 个字符")
        );
        assert_eq!(
            check_new_password("longenough", "longenougg"),
            Err("两次输入的密码不一致")
        );
        assert_eq!(
            check_new_password("中文密码八个字符", "中文密码八个字符"),
            Ok(())
        );
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
