//! A follower's push, inside its write transaction: the automatic answer (one
//! passive reply, in `Out::passive`) and the conversation it opens or joins.
//! What to say is asked of `engine::automation`; this file loads its inputs
//! and writes the result.

use super::queue::{candidates, position, queue_moved, route_queue};
use super::send::{agent_name, greet, record_passive};
use super::{Out, status_of};
use crate::db::{self, DbError, DbResult, conversations, settings};
use crate::engine::automation::PickUp;
use crate::engine::lifecycle::Step;
use crate::engine::{automation, intake, queue, timeplan};
use crate::model::{
    AccountId, AgentStatus, ConversationId, ConversationState, FollowerId, GroupId, MessageId,
};
use crate::wechat::ingest::Stored;
use crate::wechat::xml::{Event, Inbound, InboundKind};
use jiff::Timestamp;
use rusqlite::Connection;

/// The group new conversations of `account` go to: its first group (an
/// account always serves one; one left without is linked to the default group).
pub(super) fn group_for(c: &Connection, account: AccountId, now: Timestamp) -> DbResult<GroupId> {
    db::groups::serving(c, account, now)
}

/// A stored push: the automatic answer and the conversation. In order:
/// follow and menu-click replies; a message in an open conversation (queued:
/// 放弃排队 or comfort; in session with an agent away: their own auto reply);
/// a survey answer; a binding code; keyword and FAQ answers; and when the
/// account's trigger asks for a human, a conversation — opened in any case (a
/// message is never dropped), answered per the time plan: welcome and queue
/// place in work hours, the off-hours or holiday reply otherwise (with the
/// FAQ list when set).
pub fn on_inbound(
    c: &Connection,
    account: AccountId,
    m: &Inbound,
    stored: &Stored,
    now: Timestamp,
) -> DbResult<Out> {
    let mut out = Out::default();
    let Some(message) = stored.message else {
        // A retry: answer as the first time (the answer may have been lost).
        out.passive =
            db::messages::passive_answer(c, account, &crate::wechat::ingest::dedup_key(m))?;
        return Ok(out);
    };
    let follower = stored.follower;
    let push = (account, follower, message);
    let text = match &m.kind {
        InboundKind::Text { content } => Some(content.trim()),
        _ => None,
    };
    let mut passive: Vec<String> = Vec::new();
    let open = stored.open.clone();
    let is_event = matches!(m.kind, InboundKind::Event(_));
    if let (Some(conv), false) = (&open, is_event) {
        return in_conversation(c, account, m, message, conv, now);
    }
    let replies = db::automation::auto_replies(c, account)?;
    let trigger = settings::account(c, account)?.trigger();
    let opens = intake::opens_conversation(&trigger, &m.kind);

    if let InboundKind::Event(e) = &m.kind {
        match e {
            Event::Subscribe { .. } => passive.push(replies.follow.clone()),
            Event::Click { key } if !opens => {
                if let Some(r) = db::menu::click_reply(c, account, key)? {
                    passive.push(r);
                }
            }
            _ => {}
        }
        if !opens || open.is_some() {
            record_passive(c, push, None, &passive, now, &mut out)?;
            return Ok(out);
        }
    }

    if let Some(t) = text {
        if let Some((conv, thanks)) = take_survey_answer(c, follower, t, now)? {
            passive.push(thanks);
            let group = conversations::get(c, conv)?
                .ok_or(DbError::Commit(
                    "survey answer for a missing conversation".into(),
                ))?
                .group_id;
            db::messages::attach(c, message, conv)?;
            out.conversation(conv, group);
            record_passive(c, push, Some(conv), &passive, now, &mut out)?;
            return Ok(out);
        }
        if let Some(reply) = crate::notify::bind(c, account, &m.from_user, t, now)? {
            record_passive(c, push, None, &[reply], now, &mut out)?;
            return Ok(out);
        }
    }

    let group = group_for(c, account, now)?;
    let faq = super::faq::Menu::load(c, account, group, now)?;
    // Keyword and FAQ answers come before a human (unless the text asks for one).
    if let Some(t) = text.filter(|_| !opens || matches!(trigger, intake::Trigger::AnyMessage)) {
        let rules = db::automation::keyword_replies(c, account)?;
        let offer_human = matches!(trigger, intake::Trigger::Keywords(_));
        let a = match db::automation::match_keyword(&rules, t) {
            Some(k) => Some(k.reply.clone()),
            None => faq.answer(c, follower, t, offer_human, now)?,
        };
        if let Some(a) = a {
            record_passive(c, push, None, &[a], now, &mut out)?;
            return Ok(out);
        }
    }
    if !opens {
        if matches!(m.kind, InboundKind::Location { .. }) {
            passive.push(replies.location.clone());
        }
        // Kept in the follower's history.
        record_passive(c, push, None, &passive, now, &mut out)?;
        return Ok(out);
    }

    let id = match conversations::open(c, account, follower, group, now)? {
        Ok(id) => id,
        Err(_) => return Ok(out),
    };
    conversations::copy_vip(c, id, follower)?;
    if !matches!(m.kind, InboundKind::Event(_)) {
        db::messages::attach(c, message, id)?;
        out.message(message, group);
    }
    out.lists(group);
    let faq_list = faq.top(c, follower, now)?;
    let plan = db::timeplan::load(c, account)?;
    let (opening, in_hours) =
        automation::opening(&replies, timeplan::is_open(&plan, now), faq_list);
    passive.extend(opening);
    for (conv, agent) in route_queue(c, group, now, &mut out)? {
        if conv == id {
            // Picked up at once: the greeting rides in the passive reply.
            passive.extend(automation::greeting(&replies, &agent_name(c, agent)?));
        } else {
            greet(c, conv, agent, PickUp::Queue, now, &mut out)?;
        }
    }
    let conv = conversations::get(c, id)?.ok_or_else(|| DbError::Commit("lost".into()))?;
    if conv.state == ConversationState::Queued && in_hours {
        let ahead = position(c, &conv)?;
        let statuses: Vec<AgentStatus> = candidates(c, group)?
            .into_iter()
            .map(|x| x.status)
            .collect();
        passive.push(automation::queue_place(&replies, &statuses, ahead));
        db::notices::noticed(c, id, ahead, now)?;
    } else if conv.state == ConversationState::Queued {
        // Told the off-hours reply; queue updates follow the usual rule.
        db::notices::noticed(c, id, position(c, &conv)?, now)?;
    }
    record_passive(c, push, Some(id), &passive, now, &mut out)?;
    Ok(out)
}

/// A follower's message while they have an open conversation: attached to it;
/// queued: 放弃排队 or a comfort reply; in session with their agent away: the
/// agent's own auto reply (at most every 10 minutes).
fn in_conversation(
    c: &Connection,
    account: AccountId,
    m: &Inbound,
    message: MessageId,
    conv: &conversations::Conversation,
    now: Timestamp,
) -> DbResult<Out> {
    let mut out = Out::default();
    let mut passive: Vec<String> = Vec::new();
    // Stored with its conversation already (ingest::store).
    out.message(message, conv.group_id);
    out.lists(conv.group_id);
    if conv.state == ConversationState::Queued {
        if intake::leaves_queue(&m.kind) {
            if conversations::step(
                c,
                conv.id,
                Step::Abandon,
                &crate::i18n::Msg::new("step-follower-left").stored(),
                now,
            )?
            .is_ok()
            {
                passive.push(queue::LEFT_TEXT.to_string());
                out.conversation(conv.id, conv.group_id);
                queue_moved(c, conv.group_id, now, &mut out)?;
            }
        } else if let Some(answer) = queued_faq(c, account, m, conv, now)? {
            // Self-service while waiting (issue 13, bug 1): answered, and not
            // pushed to the desk as a new chat message; keyword replies too.
            out = Out::default();
            out.lists(conv.group_id);
            passive.push(answer);
        } else {
            let (n, every) = db::notices::with_comfort(c, conv.id)?;
            if queue::comfort_due(&n, every, now) {
                let ahead = position(c, conv)?;
                passive.push(queue::comfort_text(ahead));
                db::notices::noticed(c, conv.id, ahead, now)?;
            }
        }
    } else if let Some(agent) = conv.agent_id {
        // 工号自动回复 (C7): the holder is not at the desk.
        let (status, _) = status_of(c, agent)?;
        let own = db::automation::agent_auto_reply(c, agent)?;
        let last = db::notices::get(c, conv.id)?.last_at;
        if let Some(own) = automation::away_reply(status, own, last, now) {
            passive.push(own);
            db::notices::noticed(c, conv.id, 0, now)?;
        }
    }
    record_passive(
        c,
        (account, conv.follower_id, message),
        Some(conv.id),
        &passive,
        now,
        &mut out,
    )?;
    Ok(out)
}

/// A queued follower's text that a keyword reply answers, or that picks from
/// the FAQ (a number, "0", a keyword): its answer, as before the queue.
fn queued_faq(
    c: &Connection,
    account: AccountId,
    m: &Inbound,
    conv: &conversations::Conversation,
    now: Timestamp,
) -> DbResult<Option<String>> {
    let InboundKind::Text { content } = &m.kind else {
        return Ok(None);
    };
    let rules = db::automation::keyword_replies(c, account)?;
    if let Some(k) = db::automation::match_keyword(&rules, content.trim()) {
        return Ok(Some(k.reply.clone()));
    }
    let menu = super::faq::Menu::load(c, account, conv.group_id, now)?;
    menu.answer(c, conv.follower_id, content.trim(), false, now)
}

/// A follower's text that answers the survey of their latest conversation
/// (sent within the last 48 hours): stored — the last answer counts — and
/// thanked. `None` when it is not an answer.
fn take_survey_answer(
    c: &Connection,
    follower: FollowerId,
    text: &str,
    now: Timestamp,
) -> DbResult<Option<(ConversationId, String)>> {
    let Some(answer) = automation::parse_answer(text) else {
        return Ok(None);
    };
    let since = now - automation::ANSWER_WITHIN;
    let Some(conv) = db::surveys::answerable(c, follower, since)? else {
        return Ok(None);
    };
    db::surveys::answered(c, conv, answer.score, answer.solved, now)?;
    Ok(Some((conv, automation::thanks(answer).to_string())))
}
