//! What kefu writes to a follower by itself or for an agent: texts through the
//! outbox within the reply budget (else a note that says why not), the
//! passive reply to a push, the greeting and the survey. The words come from
//! `engine::automation`; this file only writes them.

use super::Out;
use crate::db::outbox::{self, Payload};
use crate::db::{self, DbError, DbResult, conversations};
use crate::engine::automation::{self, GreetingPlan, PickUp};
use crate::i18n::Msg;
use crate::live::Live;
use crate::model::{AccountId, ConversationId, FollowerId, MessageId, UserId};
use crate::wechat::budget::{Budget, budget};
use jiff::Timestamp;
use rusqlite::Connection;
use serde_json::json;

/// The follower's reply budget now, counting what is still waiting to be sent.
pub fn budget_of(c: &Connection, follower: FollowerId, now: Timestamp) -> DbResult<Budget> {
    let f =
        db::followers::get(c, follower)?.ok_or_else(|| DbError::Commit("no follower".into()))?;
    let acc =
        db::accounts::get(c, f.account_id)?.ok_or_else(|| DbError::Commit("no account".into()))?;
    let mut b = budget(&acc.rules, f.message_window, f.event_window, now);
    let pending = db::outbox::pending_for(c, follower)?;
    if b.allowed && pending > 0 {
        b.remaining = (b.remaining - pending).max(0);
        if b.remaining == 0 {
            b.allowed = false;
            b.reason = Some(Msg::new("budget-pending").number("pending", pending));
        }
    }
    Ok(b)
}

/// Writes a text to the follower through the outbox, in this conversation.
pub(crate) fn send_text(
    c: &Connection,
    conv: &conversations::Conversation,
    text: &str,
    sender: Option<UserId>,
    now: Timestamp,
    out: &mut Out,
) -> DbResult<MessageId> {
    let payload = Payload::Text(outbox::Text {
        content: text.to_string(),
    });
    let (message, _) =
        db::outbox::enqueue_payload(c, conv.account_id, conv.follower_id, &payload, sender, now)?;
    db::messages::attach(c, message, conv.id)?;
    out.outbox = true;
    out.message(message, conv.group_id);
    Ok(message)
}

/// Records the passive reply of a push as an outbound message (no outbox row:
/// it travels in the webhook's answer) and puts it in `out`.
pub(crate) fn record_passive(
    c: &Connection,
    (account, follower, answers): (AccountId, FollowerId, MessageId),
    conv: Option<ConversationId>,
    texts: &[String],
    now: Timestamp,
    out: &mut Out,
) -> DbResult<()> {
    let Some(text) = automation::passive_text(texts) else {
        return Ok(());
    };
    // `answers`: a retry of the same push gets the same reply.
    let data = json!({ "passive": true, "answers": answers.0 });
    let new = db::messages::NewOutbound {
        account,
        follower,
        kind: crate::model::MessageKind::Text,
        content: &text,
        data: &data,
        sender: None,
    };
    let id = db::messages::insert_outbound(c, &new, now)?;
    let audience = match conv {
        Some(conv) => {
            db::messages::attach(c, id, conv)?;
            crate::access::audience_of_message(c, id)?
        }
        None => crate::access::audience_of_follower(c, follower)?,
    };
    out.push(Live::Message { id, audience });
    out.passive = Some(text);
    Ok(())
}

/// An internal note without an author (the system's).
pub(crate) fn system_note(
    c: &Connection,
    conv: ConversationId,
    body: &str,
    now: Timestamp,
) -> DbResult<()> {
    let follower = conversations::follower_of(c, conv)?;
    db::notes::add(c, conv, follower, None, body, now)?;
    Ok(())
}

/// Sends an automatic text in a conversation if the budget allows; otherwise
/// records why not (a note the agents see in the chat).
pub(crate) fn send_or_note(
    c: &Connection,
    conv: &conversations::Conversation,
    what: &'static str,
    text: &str,
    now: Timestamp,
    out: &mut Out,
) -> DbResult<Result<(), Msg>> {
    if text.trim().is_empty() {
        return Ok(Err(Msg::new("auto-not-set")));
    }
    let b = budget_of(c, conv.follower_id, now)?;
    if !b.allowed {
        let why = b.reason.unwrap_or_else(|| Msg::new("budget-spent"));
        let note = automation::skip_note(what, why.clone()).stored();
        system_note(c, conv.id, &note, now)?;
        return Ok(Err(why));
    }
    send_text(c, conv, text, None, now, out)?;
    Ok(Ok(()))
}

/// The agent's name as the greeting says it.
pub(crate) fn agent_name(c: &Connection, agent: UserId) -> DbResult<String> {
    Ok(db::users::get(c, agent)?
        .map(|u| u.display_name)
        .unwrap_or_default())
}

/// The greeting — 接入语 — (C7) when `agent` picks up the conversation: sent
/// through the outbox when `engine::automation::greeting_plan` says the budget
/// allows it, else the reason is noted in the chat.
pub(crate) fn greet(
    c: &Connection,
    conv: ConversationId,
    agent: UserId,
    pick: PickUp,
    now: Timestamp,
    out: &mut Out,
) -> DbResult<()> {
    let Some(conv) = conversations::get(c, conv)? else {
        return Ok(());
    };
    let replies = db::automation::auto_replies(c, conv.account_id)?;
    let budget = budget_of(c, conv.follower_id, now)?;
    match automation::greeting_plan(&replies, &agent_name(c, agent)?, pick, &budget) {
        GreetingPlan::Send(text) => {
            send_text(c, &conv, &text, None, now, out)?;
        }
        GreetingPlan::Quiet => {}
        GreetingPlan::Skip(why) => {
            let note = automation::skip_note("auto-name-greeting", why.clone());
            system_note(c, conv.id, &note.stored(), now)?;
            tracing::info!(conversation = %conv.id, why = why.draw(crate::i18n::Lang::En), "greeting not sent");
        }
    }
    Ok(())
}

/// Sends the survey for a conversation (ended, or by the agent's button):
/// as a menu the follower taps, inside the budget; else recorded as not sent.
pub fn send_survey(
    c: &Connection,
    conv: ConversationId,
    now: Timestamp,
    out: &mut Out,
) -> DbResult<Result<(), Msg>> {
    let Some(conv) = conversations::get(c, conv)? else {
        return Ok(Err(Msg::new("desk-no-conversation")));
    };
    let b = budget_of(c, conv.follower_id, now)?;
    if !b.allowed {
        let why = b.reason.unwrap_or_else(|| Msg::new("budget-spent"));
        db::surveys::not_sent(c, conv.id, &why.stored(), now)?;
        out.push(Live::Conversation {
            id: conv.id,
            group: conv.group_id,
        });
        return Ok(Err(why));
    }
    let (message, _) = db::outbox::enqueue_payload(
        c,
        conv.account_id,
        conv.follower_id,
        &Payload::Msgmenu(automation::survey_payload()),
        None,
        now,
    )?;
    db::messages::attach(c, message, conv.id)?;
    db::surveys::sent(c, conv.id, now)?;
    out.outbox = true;
    out.message(message, conv.group_id);
    Ok(Ok(()))
}

/// The survey as shown in the chat and history.
pub fn survey_text(c: &Connection, conv: ConversationId) -> DbResult<Option<String>> {
    Ok(db::surveys::get(c, conv)?.map(|row| automation::describe_survey(&row)))
}
