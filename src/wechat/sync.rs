//! 同步粉丝 (A10): pages through user/get and fills in profiles with batchget,
//! 100 at a time, while the server keeps working. Progress is kept in memory
//! for the admin page to poll; the followers themselves are committed page by
//! page, so an interrupted sync keeps what it got and a new one completes it.

use super::api::WechatApi;
use crate::clock::Clock;
use crate::db::accounts::Account;
use crate::db::{self, Db, DbResult};
use crate::model::AccountId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub total: i64,
    pub done: i64,
    pub running: bool,
    pub error: Option<String>,
    pub finished: bool,
}

/// Progress of the syncs, per account.
#[derive(Clone, Default)]
pub struct Syncs(Arc<Mutex<HashMap<AccountId, Progress>>>);

impl Syncs {
    pub fn get(&self, id: AccountId) -> Option<Progress> {
        self.0.lock().ok()?.get(&id).cloned()
    }

    fn update(&self, id: AccountId, f: impl FnOnce(&mut Progress)) {
        if let Ok(mut map) = self.0.lock() {
            f(map.entry(id).or_default());
        }
    }

    /// Starts a sync unless one is running; returns whether it started.
    pub fn start(&self, api: Arc<WechatApi>, db: Db, clock: Clock, account: Account) -> bool {
        let id = account.id;
        {
            let Ok(mut map) = self.0.lock() else {
                return false;
            };
            if map.get(&id).is_some_and(|p| p.running) {
                return false;
            }
            map.insert(
                id,
                Progress {
                    running: true,
                    ..Default::default()
                },
            );
        }
        let me = self.clone();
        tokio::spawn(async move {
            let result = run(&me, &api, &db, &clock, &account).await;
            me.update(id, |p| {
                p.running = false;
                p.finished = true;
                if let Err(e) = result {
                    p.error = Some(e);
                }
            });
        });
        true
    }
}

async fn run(
    syncs: &Syncs,
    api: &WechatApi,
    db: &Db,
    clock: &Clock,
    account: &Account,
) -> Result<(), String> {
    let mut next = String::new();
    loop {
        let page = api
            .followers_page(account, &next)
            .await
            .map_err(|e| e.explain())?;
        syncs.update(account.id, |p| p.total = page.total);
        if page.openids.is_empty() {
            return Ok(());
        }
        for chunk in page.openids.chunks(100) {
            let infos = api
                .batch_user_info(account, chunk)
                .await
                .map_err(|e| e.explain())?;
            let (aid, now, list) = (account.id, clock.now(), chunk.to_vec());
            db.write(move |c| -> DbResult<()> {
                for openid in &list {
                    db::followers::ensure(c, aid, openid, now)?;
                }
                for (openid, info) in &infos {
                    let id = db::followers::ensure(c, aid, openid, now)?;
                    let p = db::followers::WxProfile {
                        subscribed: info.subscribed,
                        remark: super::ingest::clean(&info.remark).into_owned(),
                        unionid: info.unionid.clone(),
                        tags: info.tags.clone(),
                        subscribe_scene: info.subscribe_scene.clone(),
                        subscribe_time: info
                            .subscribe_time
                            .and_then(|s| jiff::Timestamp::from_second(s).ok()),
                    };
                    db::followers::store_profile(c, id, &p)?;
                }
                Ok(())
            })
            .await
            .map_err(|e| e.to_string())?;
            syncs.update(account.id, |p| p.done += chunk.len() as i64);
        }
        if page.next_openid.is_empty() || page.next_openid == next {
            return Ok(());
        }
        next = page.next_openid;
    }
}
