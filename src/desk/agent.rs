//! What an agent does in a conversation — accept, reply (text or image),
//! retry a failed send, note, end, remove from the queue, re-open from
//! history, mark and tag — and their status at the desk.

use super::queue::{drain, queue_moved};
use super::send::{budget_of, greet, send_survey, send_text};
use super::{DeskError, DeskResult, Out, held_by, refused, visible};
use crate::access;
use crate::db::{self, DbResult, conversations, settings};
use crate::engine::automation::PickUp;
use crate::engine::lifecycle::Step;
use crate::live::Live;
use crate::model::{AgentStatus, ConversationId, FollowerId, MessageId, Role, User, UserId};
use jiff::Timestamp;
use rusqlite::Connection;

/// Takes queued conversations by hand (one or many).
pub fn accept(
    c: &Connection,
    user: &User,
    ids: &[ConversationId],
    now: Timestamp,
) -> DeskResult<Out> {
    let mut out = Out::default();
    let mut groups = vec![];
    for &id in ids {
        let conv = visible(c, user, id)?;
        if let Err(why) = conversations::step(c, id, Step::Accept { by: user.id }, "", now)? {
            return Err(refused(why));
        }
        mark_read(c, id, now)?;
        greet(c, id, user.id, PickUp::Queue, now, &mut out)?;
        out.conversation(id, conv.group_id);
        if !groups.contains(&conv.group_id) {
            groups.push(conv.group_id);
        }
    }
    for g in groups {
        out.lists(g);
        queue_moved(c, g, now, &mut out)?;
    }
    Ok(out)
}

pub fn mark_read(c: &Connection, id: ConversationId, now: Timestamp) -> DbResult<()> {
    conversations::mark_read(c, id, now)
}

/// The holder's text reply: stored and queued for sending, or refused when
/// WeChat would refuse it (the reason is what the input box shows).
pub fn reply(
    c: &Connection,
    user: &User,
    id: ConversationId,
    text: &str,
    now: Timestamp,
) -> DeskResult<(MessageId, Out)> {
    let text = text.trim();
    if text.is_empty() {
        return Err(refused("desk-reply-empty"));
    }
    if text.chars().count() > 2000 {
        return Err(refused("desk-reply-long"));
    }
    let conv = held_by(c, user, id, "act-reply")?;
    let b = budget_of(c, conv.follower_id, now)?;
    if !b.allowed {
        return Err(DeskError::Refused(
            b.reason.map(|m| m.now()).unwrap_or_default(),
        ));
    }
    let mut out = Out::default();
    let message = send_text(c, &conv, text, Some(user.id), now, &mut out)?;
    mark_read(c, id, now)?;
    out.lists(conv.group_id);
    Ok((message, out))
}

/// The holder sends an uploaded image (`path` relative to the media folder).
pub fn reply_image(
    c: &Connection,
    user: &User,
    id: ConversationId,
    path: &str,
    upload: i64,
    now: Timestamp,
) -> DeskResult<(MessageId, Out)> {
    let conv = held_by(c, user, id, "act-reply")?;
    let b = budget_of(c, conv.follower_id, now)?;
    if !b.allowed {
        return Err(DeskError::Refused(
            b.reason.map(|m| m.now()).unwrap_or_default(),
        ));
    }
    let payload = db::outbox::Payload::Image(db::outbox::Media {
        path: path.to_string(),
        upload: Some(upload),
        media_id: None,
    });
    let (message, _) = db::outbox::enqueue_payload(
        c,
        conv.account_id,
        conv.follower_id,
        &payload,
        Some(user.id),
        now,
    )?;
    db::messages::attach(c, message, id)?;
    let mut out = Out {
        outbox: true,
        ..Out::default()
    };
    out.message(message, conv.group_id);
    out.lists(conv.group_id);
    Ok((message, out))
}

/// Sends a failed message again (a new outbox attempt for the same message).
pub fn retry(c: &Connection, user: &User, message: MessageId, now: Timestamp) -> DeskResult<Out> {
    let conv_id = db::messages::conversation_of(c, message)?;
    let conv = held_by(c, user, conv_id.ok_or(DeskError::NotFound)?, "act-resend")?;
    let b = budget_of(c, conv.follower_id, now)?;
    if !b.allowed {
        return Err(DeskError::Refused(
            b.reason.map(|m| m.now()).unwrap_or_default(),
        ));
    }
    if !db::outbox::retry_failed(c, message, now)? {
        return Err(refused("desk-resend-only"));
    }
    let mut out = Out {
        outbox: true,
        ..Out::default()
    };
    out.message(message, conv.group_id);
    Ok(out)
}

/// The holder lets a send whose outcome is unknown be, the button 忽略 — it is not resent.
pub fn ignore_unknown(
    c: &Connection,
    user: &User,
    message: MessageId,
    _now: Timestamp,
) -> DeskResult<Out> {
    let conv_id = db::messages::conversation_of(c, message)?;
    let conv = held_by(c, user, conv_id.ok_or(DeskError::NotFound)?, "act-ignore")?;
    if !db::outbox::ignore_unknown(c, message)? {
        return Err(refused("desk-ignore-only"));
    }
    let mut out = Out::default();
    out.message(message, conv.group_id);
    Ok(out)
}

/// A send waiting after a transient failure goes out now, the button 立即重试 —
/// by its holder or an admin of its group.
pub fn retry_now(
    c: &Connection,
    user: &User,
    message: MessageId,
    now: Timestamp,
) -> DeskResult<Out> {
    let conv_id = db::messages::conversation_of(c, message)?.ok_or(DeskError::NotFound)?;
    let v = access::Viewer::load(c, user)?;
    let conv = access::hurries_sends(c, &v, conv_id)?;
    if !db::outbox::retry_now(c, message, now)? {
        return Err(refused("desk-not-waiting"));
    }
    let mut out = Out {
        outbox: true,
        ..Out::default()
    };
    out.message(message, conv.group_id);
    Ok(out)
}

/// An internal note: agents only, never sent (B14).
pub fn note(
    c: &Connection,
    user: &User,
    id: ConversationId,
    body: &str,
    now: Timestamp,
) -> DeskResult<Out> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 2000 {
        return Err(refused("desk-note-length"));
    }
    let conv = visible(c, user, id)?;
    let note = db::notes::add(c, id, conv.follower_id, Some(user.id), body, now)?;
    let mut out = Out::default();
    out.push(Live::Note {
        id: note,
        conversation: id,
        group: conv.group_id,
    });
    Ok(out)
}

/// Ends the conversation; with 咨询分类 required, at least one category of the group.
pub fn end(
    c: &Connection,
    user: &User,
    id: ConversationId,
    categories: &[i64],
    remark: &str,
    now: Timestamp,
) -> DeskResult<Out> {
    let conv = held_by(c, user, id, "act-end")?;
    let rules = settings::group(c, conv.group_id)?;
    let valid: Vec<i64> = {
        let all = db::taxonomy::category_ids(c, conv.group_id)?;
        categories
            .iter()
            .copied()
            .filter(|x| all.contains(x))
            .collect()
    };
    if rules.require_category && valid.is_empty() {
        return Err(refused("desk-category-required"));
    }
    if remark.chars().count() > 500 {
        return Err(refused("desk-remark-long"));
    }
    if let Err(why) = conversations::step(c, id, Step::EndByAgent { by: user.id }, "", now)? {
        return Err(refused(why));
    }
    conversations::add_categories(c, id, &valid)?;
    conversations::set_end_remark(c, id, remark.trim())?;
    let mut out = Out::default();
    if db::automation::auto_replies(c, conv.account_id)?.survey_on_end {
        // Not sent (no budget left): recorded on the survey with the reason.
        if let Err(why) = send_survey(c, id, now, &mut out)? {
            tracing::info!(conversation = %id, why = why.draw(crate::i18n::Lang::En), "survey not sent");
        }
    }
    db::transfers::cancel_pending(c, id, now)?;
    out.lists(conv.group_id);
    out.conversation(id, conv.group_id);
    // A place became free.
    drain(c, conv.group_id, now, &mut out)?;
    Ok(out)
}

/// An admin removes a queued follower (B5).
pub fn remove(c: &Connection, user: &User, id: ConversationId, now: Timestamp) -> DeskResult<Out> {
    if user.role == Role::Agent {
        return Err(DeskError::Denied(crate::t("desk-remove-admins-only")));
    }
    let conv = visible(c, user, id)?;
    if let Err(why) = conversations::step(c, id, Step::Remove { by: user.id }, "", now)? {
        return Err(refused(why));
    }
    let mut out = Out::default();
    out.lists(conv.group_id);
    out.conversation(id, conv.group_id);
    queue_moved(c, conv.group_id, now, &mut out)?;
    Ok(out)
}

/// Opens a conversation with a follower from history, held by `user` at
/// once — only while WeChat still allows replies (B10).
pub fn reopen(
    c: &Connection,
    user: &User,
    follower: FollowerId,
    now: Timestamp,
) -> DeskResult<(ConversationId, Out)> {
    let v = access::Viewer::load(c, user)?;
    let f = access::follower(c, &v, follower)?;
    let group = match conversations::current_group(c, follower)? {
        Some(g) => g,
        None => super::inbound::group_for(c, f.account_id, now)?,
    };
    if let Some(open) = conversations::open_of(c, follower)? {
        return Err(refused(match open.agent_id {
            Some(a) if a == user.id => "desk-reopen-yours",
            Some(_) => "desk-reopen-other",
            None => "desk-reopen-queued",
        }));
    }
    let b = budget_of(c, follower, now)?;
    if !b.allowed {
        return Err(DeskError::Refused(crate::t1(
            "desk-reopen-budget",
            "reason",
            b.reason.map(|m| m.now()).unwrap_or_default(),
        )));
    }
    let id = match conversations::open(c, f.account_id, follower, group, now)? {
        Ok(id) => id,
        Err(why) => return Err(refused(why)),
    };
    conversations::opened_by_agent(
        c,
        id,
        user.id,
        &crate::i18n::Msg::new("step-reopened").stored(),
    )?;
    if let Err(why) = conversations::step(c, id, Step::Accept { by: user.id }, "", now)? {
        return Err(refused(why));
    }
    mark_read(c, id, now)?;
    let mut out = Out::default();
    out.lists(group);
    Ok((id, out))
}

/// Marks a conversation for follow-up (B11).
pub fn mark(
    c: &Connection,
    user: &User,
    id: ConversationId,
    note: &str,
    now: Timestamp,
) -> DeskResult<()> {
    visible(c, user, id)?;
    if note.chars().count() > 500 {
        return Err(refused("desk-mark-long"));
    }
    db::followups::add_mark(c, id, Some(user.id), note.trim(), now)?;
    Ok(())
}

/// Tags a conversation, or one of its messages, with a remark (B12).
pub fn tag(
    c: &Connection,
    user: &User,
    id: ConversationId,
    tag: i64,
    message: Option<MessageId>,
    remark: &str,
    now: Timestamp,
) -> DeskResult<()> {
    let conv = visible(c, user, id)?;
    if db::taxonomy::tag(c, tag)?.is_none() {
        return Err(refused("desk-tag-required"));
    }
    if let Some(m) = message {
        if db::messages::follower_of(c, m)? != Some(conv.follower_id) {
            return Err(refused("desk-message-elsewhere"));
        }
    }
    if remark.chars().count() > 200 {
        return Err(refused("desk-tag-remark-long"));
    }
    db::followups::add_tagging(
        c,
        tag,
        id,
        message.map(|m| m.0),
        remark.trim(),
        Some(user.id),
        now,
    )?;
    Ok(())
}

/// The agent's status and auto-accept limit.
pub fn status_of(c: &Connection, user: UserId) -> DbResult<(AgentStatus, Option<u32>)> {
    db::agents::status(c, user)
}

/// Sets an agent's status (B9) and auto-accept limit (B4); an agent who can
/// now receive gets queued conversations of their groups.
pub fn set_status(
    c: &Connection,
    user: UserId,
    status: AgentStatus,
    auto_accept: Option<Option<u32>>,
    now: Timestamp,
) -> DbResult<Out> {
    let (_, current_limit) = status_of(c, user)?;
    let limit = auto_accept.unwrap_or(current_limit);
    db::agents::set_status(c, user, status, limit, now)?;
    let mut out = Out::default();
    let groups = db::users::group_ids(c, user)?;
    for g in &groups {
        out.lists(*g);
    }
    if status == AgentStatus::Online && limit.is_some() {
        for g in groups {
            drain(c, g, now, &mut out)?;
        }
    }
    Ok(out)
}
