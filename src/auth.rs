//! Who may log in: argon2id password hashes, session tokens, the login rule
//! (5 failures per account and IP lock that pair out for 15 minutes) and the
//! 24-hour idle session. Knows nothing of HTTP; `web::session` carries the
//! results in cookies.

use crate::clock::Clock;
use crate::db::audit::{Actor, Entry};
use crate::db::sessions::{LoginRecord, NewSession};
use crate::db::{self, Db, DbError, DbResult};
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

/// Until when an account/IP pair is locked, given its failures (oldest first):
/// any 5 failures within 15 minutes lock it for 15 minutes from the 5th.
pub fn locked_until(failures: &[jiff::Timestamp]) -> Option<jiff::Timestamp> {
    let n = MAX_FAILURES as usize;
    failures
        .windows(n)
        .filter(|w| w[n - 1].duration_since(w[0]) <= LOCKOUT)
        .map(|w| w[n - 1] + LOCKOUT)
        .max()
}

/// Limits how many password hashes are computed at once (each argon2 check
/// takes ~19 MiB and a core), so a flood of logins cannot exhaust memory.
#[derive(Clone)]
pub struct HashLimit(std::sync::Arc<tokio::sync::Semaphore>);

impl Default for HashLimit {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        HashLimit(std::sync::Arc::new(tokio::sync::Semaphore::new(cores)))
    }
}

impl HashLimit {
    /// Verifies a password on the blocking pool, waiting for a free slot first.
    pub async fn verify(&self, password: String, stored: String) -> Result<bool, AuthError> {
        let _permit = self
            .0
            .acquire()
            .await
            .map_err(|e| AuthError::Hash(e.to_string()))?;
        tokio::task::spawn_blocking(move || verify_password(&password, &stored))
            .await
            .map_err(|e| AuthError::Hash(e.to_string()))
    }
}

enum Gate {
    Locked(jiff::Timestamp),
    /// The failure provisionally recorded for this attempt, and the account.
    Open(i64, Option<(User, String)>),
}

/// Checks the lockout, the password and the account's status; on success creates
/// a session and records the login; on failure records the failure.
///
/// The lockout is race-free: counting the failures and recording this attempt as
/// a (provisional) failure happen in one write transaction, before the slow
/// password check; a successful login takes its provisional failure back.
pub async fn login(
    db: &Db,
    clock: &Clock,
    limit: &HashLimit,
    a: LoginAttempt,
) -> Result<Result<LoggedIn, LoginRefused>, AuthError> {
    let now = clock.now();
    let name = a.username.trim().to_string();
    let ip: String = a.ip.chars().take(64).collect();
    if crate::team::check_username(&name).is_err() {
        // Cannot be an account: no database work, same answer and timing.
        limit.verify(a.password, DUMMY_HASH.clone()).await?;
        return Ok(Err(LoginRefused::BadCredentials));
    }

    let gate = {
        let (name, ip) = (name.clone(), ip.clone());
        db.write(move |c| -> DbResult<Gate> {
            let recent = db::sessions::failure_times(c, &name, &ip, now - LOCKOUT - LOCKOUT)?;
            if let Some(until) = locked_until(&recent).filter(|u| *u > now) {
                return Ok(Gate::Locked(until));
            }
            let id = db::sessions::insert_failure(c, &name, &ip, now)?;
            Ok(Gate::Open(id, db::users::by_username(c, &name)?))
        })
        .await?
    };
    let (failure_id, found) = match gate {
        Gate::Locked(until) => {
            let minutes = (until.duration_since(now).as_secs() + 59) / 60;
            return Ok(Err(LoginRefused::Locked {
                minutes: minutes.max(1),
            }));
        }
        Gate::Open(id, found) => (id, found),
    };

    let stored = found
        .as_ref()
        .map(|(_, h)| h.clone())
        .unwrap_or_else(|| DUMMY_HASH.clone());
    let ok = limit.verify(a.password.clone(), stored).await?;

    let user = match found {
        Some((user, _)) if ok => user,
        _ => {
            let (n, i) = (name.clone(), ip.clone());
            db.write(move |c| {
                let actor = Actor {
                    id: None,
                    name: n.clone(),
                    ip: i,
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
        let (uid, uname, i) = (user.id, user.username.clone(), ip.clone());
        db.write(move |c| {
            db::sessions::delete_failure(c, failure_id)?;
            let actor = Actor {
                id: Some(uid),
                name: uname.clone(),
                ip: i,
            };
            let entry = Entry::new(AuditAction::LoginFailed, format!("账号 {uname}(已禁用)"));
            db::audit::record(c, &actor, &entry, now)
        })
        .await?;
        return Ok(Err(LoginRefused::Disabled));
    }

    let token = new_token();
    let (hash, csrf) = (token_hash(&token), new_token());
    let record = LoginRecord {
        at: now,
        ip: ip.clone(),
        user_agent: a.user_agent.clone(),
    };
    let (uid, uname) = (user.id, user.username.clone());
    let previous = db
        .write(move |c| -> DbResult<_> {
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
            db::sessions::delete_failure(c, failure_id)?;
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
    fn five_failures_within_15_minutes_lock_for_15_minutes_from_the_fifth() {
        let t0: jiff::Timestamp = "2026-03-01T08:00:00Z".parse().unwrap();
        let at = |mins: &[i64]| {
            mins.iter()
                .map(|m| t0 + SignedDuration::from_mins(*m))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            locked_until(&at(&[0, 1, 2, 3])),
            None,
            "four are not enough"
        );
        assert_eq!(
            locked_until(&at(&[0, 1, 2, 3, 4])),
            Some(t0 + SignedDuration::from_mins(19))
        );
        // Spread out: 0,10,11,12,14 are five within 15 minutes → locked until 29, not 15.
        assert_eq!(
            locked_until(&at(&[0, 10, 11, 12, 14])),
            Some(t0 + SignedDuration::from_mins(29))
        );
        assert_eq!(
            locked_until(&at(&[0, 10, 11, 12, 16])),
            None,
            "0 and 16 are 16 minutes apart"
        );
        assert_eq!(
            locked_until(&at(&[0, 20, 21, 22, 23, 24])),
            Some(t0 + SignedDuration::from_mins(39))
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
