//! Who may log in: argon2id password hashes, session tokens, the login rule
//! (5 failures per account and IP lock that pair out for 15 minutes) and the
//! 24-hour idle session. Knows nothing of HTTP; `web::session` carries the
//! results in cookies.
//!
//! A flood of logins is held off before it costs anything: each IP may try
//! [`LOGIN_BURST`] times at once and then once per [`LOGIN_EVERY`], at most
//! [`CONCURRENT_LOGINS`] logins check a password at a time with
//! [`LOGIN_QUEUE`] more waiting, and anyone past that is told to come back
//! (429) without a hash, a database write or an audit row. Failures reach the
//! audit log as one row per account and IP per 15 minutes, with a count.

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
/// Password checks (argon2: ~19 MiB and a core each) running at once.
pub const CONCURRENT_LOGINS: usize = 2;
/// Logins waiting for a check; any beyond are refused at once.
pub const LOGIN_QUEUE: usize = 8;
/// Login attempts one IP (an IPv6 /64) may make in a burst…
pub const LOGIN_BURST: u32 = 20;
/// …and then one per this long.
pub const LOGIN_EVERY: std::time::Duration = std::time::Duration::from_secs(3);
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
pub fn check_new_password(password: &str, confirm: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(crate::t("auth-password-short"));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(crate::t("auth-password-long"));
    }
    if password != confirm {
        return Err(crate::t("auth-password-mismatch"));
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
    /// This IP tried too often; seconds until the next attempt may be made.
    TooFast {
        seconds: u64,
    },
    /// Too many logins are being checked at once.
    Busy,
}

impl LoginRefused {
    pub fn message(&self) -> String {
        match self {
            LoginRefused::BadCredentials => crate::t("auth-bad-credentials"),
            LoginRefused::Disabled => crate::t("auth-disabled"),
            LoginRefused::Locked { minutes } => crate::t1("auth-locked", "minutes", *minutes),
            LoginRefused::TooFast { seconds } => crate::t1("auth-too-fast", "seconds", *seconds),
            LoginRefused::Busy => crate::t("auth-busy"),
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

/// Holds logins back before they cost anything (see the module docs): the
/// per-IP rate limit and the slots for password checks. One per server.
#[derive(Clone)]
pub struct HashLimit {
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    /// Free places in the queue.
    waiting: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    per_ip: std::sync::Arc<governor::DefaultKeyedRateLimiter<std::net::IpAddr>>,
    checks: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Default for HashLimit {
    fn default() -> Self {
        HashLimit::new(CONCURRENT_LOGINS, LOGIN_QUEUE, LOGIN_BURST, LOGIN_EVERY)
    }
}

/// A login's turn to check a password; gives the slot back when dropped.
pub struct Slot(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

/// A place in the queue, given back whether the login gets its slot or is
/// dropped while waiting (the browser went away).
struct Waiting(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl HashLimit {
    pub fn new(
        concurrent: usize,
        queue: usize,
        burst: u32,
        every: std::time::Duration,
    ) -> HashLimit {
        let burst = std::num::NonZeroU32::new(burst).unwrap_or(std::num::NonZeroU32::MIN);
        let quota = governor::Quota::with_period(every)
            .unwrap_or_else(|| governor::Quota::per_second(burst))
            .allow_burst(burst);
        HashLimit {
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(concurrent.max(1))),
            waiting: std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(queue)),
            per_ip: std::sync::Arc::new(governor::RateLimiter::keyed(quota)),
            checks: Default::default(),
        }
    }

    /// Takes one attempt from `ip`'s allowance; `Err(seconds)` to wait when
    /// it is spent. IPv6 addresses count per /64 (what one host can hold);
    /// anything that is not an address shares one allowance.
    pub fn admit(&self, ip: &str) -> Result<(), u64> {
        let key = match ip.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => std::net::IpAddr::V4(v4),
                None => std::net::IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
            },
            Ok(v4) => v4,
            Err(_) => std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        };
        // Forget IPs whose allowance is whole again, now and then.
        let n = self
            .checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % 1024 == 1023 {
            self.per_ip.retain_recent();
            self.per_ip.shrink_to_fit();
        }
        self.per_ip.check_key(&key).map_err(|not_until| {
            use governor::clock::{Clock, DefaultClock};
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + 1
        })
    }

    /// A slot to check a password in: at once, or after the logins ahead;
    /// `None` when the queue is full too.
    pub async fn slot(&self) -> Option<Slot> {
        use std::sync::atomic::Ordering::SeqCst;
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return Some(Slot(p));
        }
        // `waiting` counts down the free places in the queue.
        if self
            .waiting
            .fetch_update(SeqCst, SeqCst, |free| free.checked_sub(1))
            .is_err()
        {
            return None;
        }
        let back = Waiting(self.waiting.clone());
        let permit = self.slots.clone().acquire_owned().await.ok();
        drop(back);
        permit.map(Slot)
    }

    /// Verifies a password on the blocking pool; the caller holds a [`Slot`].
    pub async fn verify(&self, password: String, stored: String) -> Result<bool, AuthError> {
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
    // A flood is turned away here, before any hash or database work.
    if let Err(seconds) = limit.admit(&ip) {
        return Ok(Err(LoginRefused::TooFast { seconds }));
    }
    let Some(slot) = limit.slot().await else {
        return Ok(Err(LoginRefused::Busy));
    };
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
    drop(slot);

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
                // One row per account and IP per window, counting the attempts.
                db::audit::record_failure(
                    c,
                    &actor,
                    &crate::db::audit::about("audit-t-login", &n),
                    now,
                    LOCKOUT,
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
            let entry = Entry::new(
                AuditAction::LoginFailed,
                crate::db::audit::about("audit-t-login-disabled", &uname),
            );
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
                &Entry::new(
                    AuditAction::Login,
                    crate::db::audit::about("audit-t-user", &uname),
                ),
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
            Err("密码至少需要 8 个字符".to_string())
        );
        assert_eq!(
            check_new_password("longenough", "longenougg"),
            Err("两次输入的密码不一致".to_string())
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
