//! Handing a conversation over (B7): to another agent of the group (who
//! accepts or declines in time), to another group's queue, and — when the
//! holder stays silent too long (C8) — automatically.

use super::agent::mark_read;
use super::queue::{candidates, drain, position};
use super::send::{budget_of, greet, send_text};
use super::{DeskError, DeskResult, Out, held_by, refused};
use crate::db::{self, DbResult, conversations, ms, settings};
use crate::engine::automation::PickUp;
use crate::engine::lifecycle::Step;
use crate::engine::queue;
use crate::engine::routing::{self, Decision, Rules, Wanted};
use crate::live::Live;
use crate::model::{
    AgentStatus, ConversationId, ConversationState, GroupId, TransferState, User, UserId,
};
use jiff::{SignedDuration, Timestamp};
use rusqlite::Connection;

/// Asks another online agent of the group to take the conversation (B7).
pub fn transfer_to_agent(
    c: &Connection,
    user: &User,
    id: ConversationId,
    to: UserId,
    note: &str,
    now: Timestamp,
) -> DeskResult<Out> {
    let conv = held_by(c, user, id, "act-transfer")?;
    if to == user.id {
        return Err(refused("conv-transfer-self"));
    }
    let target = candidates(c, conv.group_id)?
        .into_iter()
        .find(|x| x.agent == to)
        .ok_or_else(|| refused("desk-transfer-group-only"))?;
    if target.status != AgentStatus::Online {
        return Err(DeskError::Refused(crate::t1(
            "desk-transfer-not-online",
            "status",
            target.status.label(),
        )));
    }
    if db::transfers::pending_count(c, id)? > 0 {
        return Err(refused("desk-transfer-pending"));
    }
    let timeout = settings::group(c, conv.group_id)?.transfer_timeout_secs;
    let expires = now + SignedDuration::from_secs(timeout);
    db::transfers::create(c, id, user.id, to, note.trim(), now, expires)?;
    let mut out = Out::default();
    out.push(Live::UserLists { user: to });
    out.toast(
        to,
        crate::i18n::Msg::new("toast-transfer-asked").text("name", user.display_name.clone()),
    );
    out.conversation(id, conv.group_id);
    Ok(out)
}

/// A pending transfer for the conversation, if any: (id, to agent, note, expires).
pub fn pending_transfer(
    c: &Connection,
    id: ConversationId,
) -> DbResult<Option<(i64, UserId, String, Timestamp)>> {
    db::transfers::pending_of(c, id)
}

/// The target accepts or declines a transfer.
pub fn answer_transfer(
    c: &Connection,
    user: &User,
    transfer: i64,
    accept: bool,
    now: Timestamp,
) -> DeskResult<Out> {
    let t = db::transfers::get(c, transfer)?.ok_or(DeskError::NotFound)?;
    let (conv_id, from, to) = (t.conversation, t.from, t.to);
    if to != user.id {
        return Err(DeskError::Denied(crate::t("desk-transfer-not-yours")));
    }
    if t.state != TransferState::Pending || t.expires_at <= now {
        return Err(refused("desk-transfer-stale"));
    }
    let conv = conversations::get(c, conv_id)?.ok_or(DeskError::NotFound)?;
    let mut out = Out::default();
    if !accept {
        db::transfers::decide(c, transfer, TransferState::Declined, now)?;
        out.toast(
            from,
            crate::i18n::Msg::new("toast-transfer-declined")
                .text("name", user.display_name.clone()),
        );
        out.conversation(conv_id, conv.group_id);
        out.push(Live::UserLists { user: to });
        return Ok(out);
    }
    if let Err(why) =
        conversations::step(c, conv_id, Step::TransferInGroup { from, to }, &t.note, now)?
    {
        db::transfers::decide(c, transfer, TransferState::Cancelled, now)?;
        return Err(refused(why));
    }
    db::transfers::decide(c, transfer, TransferState::Accepted, now)?;
    mark_read(c, conv_id, now)?;
    greet(c, conv_id, user.id, PickUp::InGroupTransfer, now, &mut out)?;
    out.toast(
        from,
        crate::i18n::Msg::new("toast-transfer-accepted").text("name", user.display_name.clone()),
    );
    out.conversation(conv_id, conv.group_id);
    out.lists(conv.group_id);
    Ok(out)
}

/// Sends the conversation to another group's queue with a note (B7).
pub fn transfer_to_group(
    c: &Connection,
    user: &User,
    id: ConversationId,
    group: GroupId,
    note: &str,
    now: Timestamp,
) -> DeskResult<Out> {
    let conv = held_by(c, user, id, "act-transfer")?;
    if conv.group_id == group {
        return Err(refused("desk-transfer-same-group"));
    }
    if db::groups::get(c, group)?.is_none() {
        return Err(DeskError::NotFound);
    }
    if let Err(why) = conversations::step(
        c,
        id,
        Step::TransferToGroup { from: user.id },
        note.trim(),
        now,
    )? {
        return Err(refused(why));
    }
    conversations::move_to_group(c, id, group)?;
    db::transfers::cancel_pending(c, id, now)?;
    let mut out = Out::default();
    out.lists(conv.group_id);
    out.lists(group);
    out.conversation(id, conv.group_id);
    drain(c, group, now, &mut out)?;
    let moved = conversations::get(c, id)?.ok_or(DeskError::NotFound)?;
    if moved.state == ConversationState::Queued {
        let ahead = position(c, &moved)?;
        let left = budget_of(c, moved.follower_id, now)?.remaining;
        if left > queue::RESERVE {
            send_text(c, &moved, &queue::entered_text(ahead), None, now, &mut out)?;
            db::notices::noticed(c, id, ahead, now)?;
        }
    }
    drain(c, conv.group_id, now, &mut out)?;
    Ok(out)
}

/// Gives a conversation whose agent stayed silent `mins` minutes to another
/// online agent of the group who can receive it; says what happened.
pub(super) fn auto_transfer(
    c: &Connection,
    conv: &conversations::Conversation,
    from: UserId,
    mins: i64,
    now: Timestamp,
    out: &mut Out,
) -> DbResult<String> {
    let s = settings::group(c, conv.group_id)?;
    let cands: Vec<_> = candidates(c, conv.group_id)?
        .into_iter()
        .filter(|x| x.agent != from && x.status == AgentStatus::Online)
        .collect();
    let rules = Rules {
        strategy: s.strategy,
        familiar_days: s.familiar_days,
    };
    let seed = (ms(now) as u64) ^ (conv.id.0 as u64);
    match routing::route(&rules, &cands, &Wanted::default(), now, seed) {
        Decision::Assign { agent: to, .. } => {
            let note = crate::i18n::Msg::new("step-auto-transfer")
                .number("mins", mins)
                .stored();
            if conversations::step(c, conv.id, Step::TransferInGroup { from, to }, &note, now)?
                .is_err()
            {
                return Ok("not transferred: the conversation changed".into());
            }
            out.toast(to, crate::i18n::Msg::new("toast-auto-transfer-in"));
            out.toast(
                from,
                crate::i18n::Msg::new("toast-auto-transfer-out").number("mins", mins),
            );
            out.lists(conv.group_id);
            out.conversation(conv.id, conv.group_id);
            greet(c, conv.id, to, PickUp::InGroupTransfer, now, out)?;
            Ok(format!("transferred to {}", to.0))
        }
        Decision::Queue => Ok("not transferred: no agent online".into()),
    }
}
