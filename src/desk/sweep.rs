//! What time does, every few seconds: transfers nobody answered go back,
//! agents offline too long give their conversations back, queued followers
//! past the group's limit expire; then the timeouts pass and the agents'
//! notifications. [`Sweeper`] is the background loop that runs it.

use super::queue::drain;
use super::{Out, set_status, status_of};
use crate::db::{self, DbResult, conversations, settings};
use crate::engine::lifecycle::Step;
use crate::i18n::Msg;
use crate::live::Live;
use crate::model::{AgentStatus, TransferState};
use jiff::{SignedDuration, Timestamp};
use rusqlite::Connection;

/// What time does: transfers nobody answered go back to the sender; queued
/// followers past the group's limit expire. Idempotent: each row changes once.
pub fn sweep(c: &Connection, now: Timestamp) -> DbResult<Out> {
    let mut out = Out::default();
    for (id, conv, from, to) in db::transfers::expired(c, now)? {
        db::transfers::decide(c, id, TransferState::Expired, now)?;
        out.toast(from, crate::i18n::Msg::new("toast-transfer-expired"));
        if let Some(v) = conversations::get(c, conv)? {
            out.conversation(conv, v.group_id);
        }
        out.push(Live::UserLists { user: to });
    }
    // Agents offline longer than their group allows give their conversations back (B9).
    for (id, group, agent, since) in db::agents::held_while_offline(c)? {
        let Some(mins) = settings::group(c, group)?.requeue_after_mins else {
            continue;
        };
        if since + SignedDuration::from_mins(mins) > now {
            continue;
        }
        let why = Msg::new("step-agent-offline").number("mins", mins).stored();
        if conversations::step(c, id, Step::TransferToGroup { from: agent }, &why, now)?.is_ok() {
            db::notices::reset(c, id)?;
            out.lists(group);
            out.conversation(id, group);
            drain(c, group, now, &mut out)?;
        }
    }
    for (id, group, queued_at) in conversations::all_queued(c)? {
        let hours = settings::group(c, group)?.queue_expiry_hours;
        if queued_at + SignedDuration::from_hours(hours) <= now {
            let why = Msg::new("step-queue-expired")
                .number("hours", hours)
                .stored();
            if conversations::step(c, id, Step::Expire, &why, now)?.is_ok() {
                out.lists(group);
                out.conversation(id, group);
            }
        }
    }
    Ok(out)
}

/// The background loop of the desk: every few seconds, [`sweep`] and set
/// agents whose consoles are gone offline. `now` comes from the clock, so
/// tests drive it by hand with [`Sweeper::pass`].
#[derive(Clone)]
pub struct Sweeper {
    pub db: db::Db,
    pub clock: crate::clock::Clock,
    pub live: std::sync::Arc<crate::live::Hub>,
    pub outbox_wake: std::sync::Arc<tokio::sync::Notify>,
    /// Sends agents' template-message notifications (C10).
    pub api: std::sync::Arc<crate::wechat::api::WechatApi>,
}

impl Sweeper {
    pub async fn pass(&self) -> DbResult<()> {
        let now = self.clock.now();
        let out = self.db.write(move |c| sweep(c, now)).await?;
        self.publish(out);
        let out = self.db.write(move |c| super::timeouts(c, now)).await?;
        self.publish(out);
        let jobs = self.db.write(move |c| crate::notify::due(c, now)).await?;
        for job in jobs {
            let acc = job.account;
            let Some(account) = self.db.read(move |c| db::accounts::get(c, acc)).await? else {
                continue;
            };
            if let Err(e) = self.api.send_template(&account, &job.body).await {
                tracing::warn!(notification = job.id, error = %e, "agent notification not sent");
                let (id, why) = (job.id, e.explain());
                self.db
                    .write(move |c| crate::notify::failed(c, id, &why))
                    .await?;
            }
        }
        for user in self.live.gone(now) {
            let out = self
                .db
                .write(move |c| -> DbResult<Out> {
                    // Only an agent who had not chosen offline, busy or away themselves.
                    match status_of(c, user)?.0 {
                        AgentStatus::Online => set_status(c, user, AgentStatus::Offline, None, now),
                        _ => Ok(Out::default()),
                    }
                })
                .await?;
            self.publish(out);
        }
        Ok(())
    }

    fn publish(&self, out: Out) {
        if out.outbox {
            self.outbox_wake.notify_one();
        }
        self.live.publish_all(out.events);
    }

    pub async fn run_until(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        while !*stop.borrow() {
            if let Err(e) = self.pass().await {
                tracing::error!(error = %e, "desk sweep failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {},
                _ = stop.changed() => {},
            }
        }
    }
}
