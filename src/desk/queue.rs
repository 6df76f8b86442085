//! The queue of a group: routing queued conversations to agents who can
//! receive them (`engine::routing`), and telling those still waiting their
//! place (`engine::queue`).

use super::Out;
use super::send::{greet, send_text};
use crate::db::{self, DbResult, conversations, ms, settings};
use crate::engine::automation::PickUp;
use crate::engine::lifecycle::Step;
use crate::engine::queue;
use crate::engine::routing::{self, Candidate, Decision, Rules};
use crate::model::{ConversationId, GroupId, UserId};
use jiff::Timestamp;
use rusqlite::Connection;

/// The agents who could take a conversation of `group`, as routing sees them.
pub fn candidates(c: &Connection, group: GroupId) -> DbResult<Vec<Candidate>> {
    db::agents::candidates(c, group)
}

/// Gives queued conversations of `group` to agents who can receive them, in
/// queue order, until nobody can; then tells those still waiting their place.
pub fn drain(c: &Connection, group: GroupId, now: Timestamp, out: &mut Out) -> DbResult<()> {
    for (conv, agent) in route_queue(c, group, now, out)? {
        greet(c, conv, agent, PickUp::Queue, now, out)?;
    }
    Ok(())
}

/// Routes what it can (see [`drain`]) and returns who got which conversation,
/// without greeting (the push that opened one greets in its passive reply).
pub(super) fn route_queue(
    c: &Connection,
    group: GroupId,
    now: Timestamp,
    out: &mut Out,
) -> DbResult<Vec<(ConversationId, UserId)>> {
    let mut routed = vec![];
    let rules_src = settings::group(c, group)?;
    let rules = Rules {
        strategy: rules_src.strategy,
        familiar_days: rules_src.familiar_days,
    };
    let mut moved = false;
    // The head, one at a time: a long queue nobody can take costs one indexed read.
    while let Some(conv) = conversations::queue_head(c, group)? {
        let cands = candidates(c, group)?;
        let w = db::agents::wanted(c, conv.follower_id)?;
        let seed = (ms(now) as u64) ^ (conv.id.0 as u64).rotate_left(17);
        match routing::route(&rules, &cands, &w, now, seed) {
            Decision::Assign { agent, .. } => {
                if conversations::step(c, conv.id, Step::Route { to: agent }, "", now)?.is_err() {
                    break;
                }
                db::agents::assigned(c, agent, now)?;
                out.toast(agent, crate::i18n::Msg::new("toast-assigned"));
                out.conversation(conv.id, group);
                routed.push((conv.id, agent));
                moved = true;
            }
            Decision::Queue => break,
        }
    }
    // Someone left the queue: the others moved up. (A newcomer at the end
    // moves nobody, and checking every queued follower costs a long queue dearly.)
    if moved {
        out.lists(group);
        queue_moved(c, group, now, out)?;
    }
    Ok(routed)
}

/// At most this many followers hear of one move of the queue, nearest the
/// head first; the others on a later move (the notice rule still holds).
const NOTICES_PER_MOVE: usize = 20;
/// Only the first this many in line get moved-up updates (they were told
/// their place on entering; deeper in a long queue a step up is no news).
const NOTICED_WITHIN: usize = 500;

/// Tells queued followers who moved up their new place (rate-limited, see
/// `engine::queue`). Only followers whose notice may be due are loaded.
pub fn queue_moved(c: &Connection, group: GroupId, now: Timestamp, out: &mut Out) -> DbResult<()> {
    let before = now - queue::UPDATE_EVERY;
    for (conv, ahead) in conversations::moved_up(
        c,
        group,
        before,
        queue::MAX_NOTICES,
        NOTICES_PER_MOVE,
        NOTICED_WITHIN,
    )? {
        let n = db::notices::get(c, conv.id)?;
        let left = super::budget_of(c, conv.follower_id, now)?.remaining;
        if queue::update_due(&n, ahead, left, now) {
            send_text(c, &conv, &queue::moved_text(ahead), None, now, out)?;
            db::notices::noticed(c, conv.id, ahead, now)?;
        }
    }
    Ok(())
}

/// How many followers are ahead of this queued conversation.
pub(super) fn position(c: &Connection, conv: &conversations::Conversation) -> DbResult<i64> {
    conversations::ahead_of(c, conv)
}
