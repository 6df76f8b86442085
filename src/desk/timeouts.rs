//! The sweeper's timeouts pass (C8): for each conversation in session,
//! `engine::automation` says which timeouts are due; each acts once per
//! silence (recorded in `db::timeouts`), so a restart neither loses nor
//! repeats an action.

use super::Out;
use super::queue::drain;
use super::send::{send_or_note, system_note};
use super::transfer::auto_transfer;
use crate::db::{self, DbResult, conversations};
use crate::engine::automation::{self, Silence};
use crate::engine::lifecycle::Step;
use crate::i18n::Msg;
use crate::model::TimeoutKind;
use jiff::Timestamp;
use rusqlite::Connection;

/// One pass over active conversations: each configured timeout acts once, at
/// its time, derived from stored timestamps — so one whose silence ended (the
/// other side spoke, the conversation moved on) never fires.
pub fn timeouts(c: &Connection, now: Timestamp) -> DbResult<Out> {
    let mut out = Out::default();
    for (id, group, agent, accepted) in conversations::all_active(c)? {
        let t = db::automation::timeouts(c, group)?;
        let silence = Silence {
            accepted,
            last_in: db::messages::last_inbound_at(c, id)?,
            last_agent: db::messages::last_agent_at(c, id)?,
        };
        let Some(conv) = conversations::get(c, id)? else {
            continue;
        };
        let replies = db::automation::auto_replies(c, conv.account_id)?;
        for (kind, anchor) in automation::timeouts_due(&t, silence, now) {
            if !db::timeouts::once(c, id, kind, anchor, now)? {
                continue;
            }
            match kind {
                TimeoutKind::Reception => {
                    let m = t.reception_mins.unwrap_or_default();
                    let note = Msg::new("note-reception-timeout").number("mins", m);
                    system_note(c, id, &note.stored(), now)?;
                    out.toast(agent, Msg::new("toast-reception-timeout").number("mins", m));
                    out.conversation(id, group);
                }
                TimeoutKind::AgentRemind => {
                    let s = t.agent_remind_secs.unwrap_or_default();
                    out.toast(agent, Msg::new("toast-remind").number("secs", s));
                }
                TimeoutKind::AgentTransfer => {
                    let m = t.agent_transfer_mins.unwrap_or_default();
                    let what = auto_transfer(c, &conv, agent, m, now, &mut out)?;
                    db::timeouts::outcome(c, id, kind, anchor, &what)?;
                }
                TimeoutKind::AgentComfort
                | TimeoutKind::FollowerPrompt
                | TimeoutKind::FollowerClose => {
                    let (what, text) = automation::timeout_text(&replies, kind).unwrap_or_default();
                    let r = send_or_note(c, &conv, what, text, now, &mut out)?;
                    let result = r.err().map_or_else(|| "sent".into(), |m| m.stored());
                    db::timeouts::outcome(c, id, kind, anchor, &result)?;
                    if kind == TimeoutKind::FollowerClose {
                        let m = t.follower_close_mins.unwrap_or_default();
                        let why = Msg::new("step-follower-silent").number("mins", m).stored();
                        if conversations::step(c, id, Step::EndByTimeout, &why, now)?.is_ok() {
                            out.lists(group);
                            out.conversation(id, group);
                            drain(c, group, now, &mut out)?;
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}
