//! `AppState`: the handles every request and job shares. No global statics, so
//! each test builds a fresh world with its own database and clock.

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Clock,
    pub config: Arc<Config>,
    /// At most one password check per core at a time.
    pub hash_limit: crate::auth::HashLimit,
    /// Set once the first user exists; until then every page leads to /setup.
    set_up: Arc<AtomicBool>,
}

impl AppState {
    pub async fn new(db: Db, clock: Clock, config: Config) -> Result<AppState, crate::db::DbError> {
        let users = db.read(crate::db::users::count).await?;
        Ok(AppState {
            db,
            clock,
            config: Arc::new(config),
            hash_limit: Default::default(),
            set_up: Arc::new(AtomicBool::new(users > 0)),
        })
    }

    pub fn is_set_up(&self) -> bool {
        self.set_up.load(Ordering::SeqCst)
    }

    pub fn mark_set_up(&self) {
        self.set_up.store(true, Ordering::SeqCst);
    }
}
