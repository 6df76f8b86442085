//! `AppState`: the handles every request and job shares. No global statics, so
//! each test builds a fresh world with its own database and clock.

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Where kefu serves its fake WeChat API for simulation-mode accounts; the
/// API client of those accounts is pointed here.
pub const SIMULATOR_API: &str = "/simulator/wx";

/// The WeChat API client, the wake-up bells of the background workers, and the
/// fake WeChat API that serves simulation-mode accounts.
pub struct Wechat {
    pub api: Arc<crate::wechat::api::WechatApi>,
    pub outbox_wake: Arc<tokio::sync::Notify>,
    pub fetch_wake: Arc<tokio::sync::Notify>,
    pub fake: crate::wechat::fake::FakeWechat,
    pub media_dir: std::path::PathBuf,
    /// Running and finished follower syncs.
    pub syncs: crate::wechat::sync::Syncs,
    /// Shared by the outbox senders: sent rows whose success is not yet written down.
    pub unrecorded: crate::wechat::outbox::Unrecorded,
    /// Signed (timestamp, nonce) pairs of recent pushes, against forged replays.
    pub replays: crate::wechat::replay::ReplayGuard,
    /// Live events for the consoles (D14), published by requests and workers.
    pub live: Arc<crate::live::Hub>,
    /// Accounts as the webhook needs them on every push, kept in memory;
    /// forgotten whenever an account changes.
    accounts: std::sync::RwLock<AccountCache>,
    /// Bumped by every change, so a lookup that raced with a change is not cached.
    accounts_generation: std::sync::atomic::AtomicU64,
}

type AccountCache =
    std::collections::HashMap<crate::model::AccountId, Arc<crate::db::accounts::Account>>;

impl Wechat {
    fn new(db: &Db, clock: &Clock, config: &Config) -> Wechat {
        Wechat {
            api: Arc::new({
                let mut api = crate::wechat::api::WechatApi::new(
                    db.clone(),
                    clock.clone(),
                    &config.wechat_api_base,
                );
                api.set_simulator_base(&format!("{}{}", config.local_url(), SIMULATOR_API));
                api
            }),
            outbox_wake: Default::default(),
            fetch_wake: Default::default(),
            fake: crate::wechat::fake::FakeWechat::new(),
            media_dir: config.media_dir(),
            syncs: Default::default(),
            unrecorded: Default::default(),
            replays: Default::default(),
            live: Default::default(),
            accounts: Default::default(),
            accounts_generation: Default::default(),
        }
    }

    /// The account, from memory when possible.
    pub async fn account(
        &self,
        db: &Db,
        id: crate::model::AccountId,
    ) -> Result<Option<Arc<crate::db::accounts::Account>>, crate::db::DbError> {
        if let Some(a) = self.accounts.read().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(Some(a));
        }
        let generation = self
            .accounts_generation
            .load(std::sync::atomic::Ordering::SeqCst);
        let Some(a) = db.read(move |c| crate::db::accounts::get(c, id)).await? else {
            return Ok(None);
        };
        let a = Arc::new(a);
        if let Ok(mut m) = self.accounts.write() {
            // Cache it only if no change happened while it was being read.
            if self
                .accounts_generation
                .load(std::sync::atomic::Ordering::SeqCst)
                == generation
            {
                m.insert(id, a.clone());
            }
        }
        Ok(Some(a))
    }

    /// Drops the remembered copy after the account changed.
    pub fn forget_account(&self, id: crate::model::AccountId) {
        self.accounts_generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut m) = self.accounts.write() {
            m.remove(&id);
        }
    }

    pub fn sender(&self, db: &Db, clock: &Clock) -> crate::wechat::outbox::Sender {
        crate::wechat::outbox::Sender {
            api: self.api.clone(),
            db: db.clone(),
            clock: clock.clone(),
            media_dir: self.media_dir.clone(),
            wake: self.outbox_wake.clone(),
            unrecorded: self.unrecorded.clone(),
            live: Some(self.live.clone()),
            status: Default::default(),
        }
    }

    pub fn sweeper(&self, db: &Db, clock: &Clock) -> crate::desk::Sweeper {
        crate::desk::Sweeper {
            db: db.clone(),
            clock: clock.clone(),
            live: self.live.clone(),
            outbox_wake: self.outbox_wake.clone(),
            api: self.api.clone(),
        }
    }

    pub fn fetcher(&self, db: &Db, clock: &Clock) -> crate::wechat::fetch::Fetcher {
        crate::wechat::fetch::Fetcher {
            api: self.api.clone(),
            db: db.clone(),
            clock: clock.clone(),
            media_dir: self.media_dir.clone(),
            wake: self.fetch_wake.clone(),
            live: Some(self.live.clone()),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Clock,
    pub config: Arc<Config>,
    /// At most one password check per core at a time.
    pub hash_limit: crate::auth::HashLimit,
    /// The WeChat channel's shared handles.
    pub wechat: Arc<Wechat>,
    /// Set once the first user exists; until then every page leads to /setup.
    set_up: Arc<AtomicBool>,
    /// While nobody exists yet: the one-time code /setup asks for, printed in the
    /// log and written to `setup-code.txt`, so a stranger who finds the fresh
    /// server first cannot make themselves its super admin.
    setup_code: Option<Arc<str>>,
    /// The job filling the search index (started here, ends with the database).
    pub search_index: crate::db::search_index::Indexer,
}

impl AppState {
    pub async fn new(db: Db, clock: Clock, config: Config) -> Result<AppState, crate::db::DbError> {
        let users = db.read(crate::db::users::count).await?;
        let setup_code = (users == 0).then(|| Arc::from(new_setup_code().as_str()));
        let wechat = Arc::new(Wechat::new(&db, &clock, &config));
        Ok(AppState {
            search_index: crate::db::search_index::Indexer::start(db.clone()),
            db,
            clock,
            config: Arc::new(config),
            hash_limit: Default::default(),
            wechat,
            set_up: Arc::new(AtomicBool::new(users > 0)),
            setup_code,
        })
    }

    /// The live hub of the consoles.
    pub fn live(&self) -> &crate::live::Hub {
        &self.wechat.live
    }

    /// Publishes what a desk change means, and wakes the sender if it wrote.
    pub fn publish(&self, out: crate::desk::Out) {
        if out.outbox {
            self.wechat.outbox_wake.notify_one();
        }
        self.wechat.live.publish_all(out.events);
    }

    pub fn is_set_up(&self) -> bool {
        self.set_up.load(Ordering::SeqCst)
    }

    pub fn mark_set_up(&self) {
        self.set_up.store(true, Ordering::SeqCst);
        let _ = std::fs::remove_file(self.config.data_dir.join(SETUP_CODE_FILE));
    }

    /// The first-run setup code, while no user exists.
    pub fn setup_code(&self) -> Option<&str> {
        self.setup_code.as_deref().filter(|_| !self.is_set_up())
    }

    /// Tells the operator the setup code: in the log and in a file only the
    /// server's user can read.
    pub fn announce_setup_code(&self) {
        let Some(code) = self.setup_code() else {
            return;
        };
        let path = self.config.data_dir.join(SETUP_CODE_FILE);
        let written = write_private(&path, &format!("{code}\n"));
        tracing::warn!(
            setup_code = %code,
            file = %path.display(),
            written = written.is_ok(),
            "首次设置码 first-run setup code: open the web page and enter it to create the super admin"
        );
    }
}

pub const SETUP_CODE_FILE: &str = "setup-code.txt";

/// 12 characters from an alphabet without look-alikes (60 bits), in three groups of four (K7QM-3XPA-9TRB).
fn new_setup_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}
