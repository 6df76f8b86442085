//! The service desk: every change to a conversation, in one place, each inside
//! the caller's write transaction — a follower's push (open, queue, route,
//! comfort, 放弃排队), accept, reply, transfer, end, remove, re-open, an
//! agent's status, and the sweeper's expiries. Decisions come from `engine`
//! (pure functions); this module reads what they need, applies the result and
//! says what the consoles must show ([`Out`]), which the caller publishes on
//! the live hub after the commit.

use crate::access;
use crate::db::Cached;
use crate::db::{self, DbError, DbResult, conversations, ms, settings, ts};
use crate::engine::lifecycle::Step;
use crate::engine::routing::{self, Candidate, Decision, Rules, Wanted};
use crate::engine::{intake, queue};
use crate::live::Live;
use crate::model::{
    AccountId, AgentStatus, ConversationId, ConversationState, FollowerId, GroupId, MessageId,
    OutboundKind, Role, User, UserId,
};
use crate::wechat::budget::{Budget, budget};
use crate::wechat::ingest::Stored;
use crate::wechat::xml::{Event, Inbound, InboundKind};
use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

/// What a change means for the consoles and the sender.
#[derive(Debug, Default)]
pub struct Out {
    pub events: Vec<Live>,
    /// Outbound rows were written: wake the sender.
    pub outbox: bool,
    /// The passive reply to the push being answered (one per push; no quota,
    /// no token), already recorded as an outbound message.
    pub passive: Option<String>,
}

impl Out {
    /// Adds an event once.
    pub fn push_event(&mut self, e: Live) {
        self.push(e);
    }
    fn push(&mut self, e: Live) {
        if !self.events.contains(&e) {
            self.events.push(e);
        }
    }
    fn lists(&mut self, group: GroupId) {
        self.push(Live::Lists { group });
    }
    fn conversation(&mut self, id: ConversationId, group: GroupId) {
        self.push(Live::Conversation { id, group });
    }
    /// A message of a conversation of `group`.
    pub(crate) fn message(&mut self, id: MessageId, group: GroupId) {
        self.push(Live::Message {
            id,
            audience: crate::live::Audience::group(group),
        });
    }
    fn toast(&mut self, user: UserId, text: impl Into<String>) {
        self.push(Live::Toast {
            user,
            text: text.into(),
        });
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// Not allowed for this user (403), with the reason.
    #[error("{0}")]
    Denied(String),
    /// Not possible in the current state (409), with the reason.
    #[error("{0}")]
    Refused(String),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<access::Denied> for DeskError {
    fn from(e: access::Denied) -> Self {
        match e {
            access::Denied::NotFound => DeskError::NotFound,
            access::Denied::Forbidden(why) => DeskError::Denied(why),
            access::Denied::Db(e) => DeskError::Db(e),
        }
    }
}

impl From<rusqlite::Error> for DeskError {
    fn from(e: rusqlite::Error) -> Self {
        DeskError::Db(e.into())
    }
}

pub type DeskResult<T> = Result<T, DeskError>;

fn refused(why: &str) -> DeskError {
    DeskError::Refused(why.to_string())
}

// ------------------------------------------------------------------ who may

/// The conversation, if `user` may see it ([`access::conversation`]).
pub fn visible(
    c: &Connection,
    user: &User,
    id: ConversationId,
) -> DeskResult<conversations::Conversation> {
    let v = access::Viewer::load(c, user)?;
    Ok(access::conversation(c, &v, id)?)
}

fn held_by(
    c: &Connection,
    user: &User,
    id: ConversationId,
    what: &str,
) -> DeskResult<conversations::Conversation> {
    let conv = visible(c, user, id)?;
    if conv.state != ConversationState::Active {
        return Err(DeskError::Refused(format!(
            "该会话{},不能{what}",
            conv.state.label()
        )));
    }
    if conv.agent_id != Some(user.id) {
        return Err(DeskError::Denied(format!("只有接待该会话的客服可以{what}")));
    }
    Ok(conv)
}

// ------------------------------------------------------------------ budget

/// Customer-service messages written but not yet sent to this follower.
fn pending_sends(c: &Connection, follower: FollowerId) -> DbResult<i64> {
    Ok(c.row(
        "SELECT count(*) FROM outbox WHERE follower_id = ?1 AND state = 'pending'",
        [follower],
        |r| r.get(0),
    )?)
}

/// The follower's reply budget now, counting what is still waiting to be sent.
pub fn budget_of(c: &Connection, follower: FollowerId, now: Timestamp) -> DbResult<Budget> {
    let f =
        db::followers::get(c, follower)?.ok_or_else(|| DbError::Commit("no follower".into()))?;
    let acc =
        db::accounts::get(c, f.account_id)?.ok_or_else(|| DbError::Commit("no account".into()))?;
    let mut b = budget(&acc.rules, f.message_window, f.event_window, now);
    let pending = pending_sends(c, follower)?;
    if b.allowed && pending > 0 {
        b.remaining = (b.remaining - pending).max(0);
        if b.remaining == 0 {
            b.allowed = false;
            b.reason = Some(format!(
                "还有 {pending} 条消息正在发送,发送后本次互动的客服消息额度将用完,需等粉丝再次发消息"
            ));
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
    let payload = serde_json::json!({ "content": text });
    let (message, _) = db::outbox::enqueue(
        c,
        conv.account_id,
        conv.follower_id,
        OutboundKind::Text,
        &payload,
        sender,
        now,
    )?;
    attach(c, message, conv.id)?;
    out.outbox = true;
    out.message(message, conv.group_id);
    Ok(message)
}

pub(crate) fn attach(c: &Connection, message: MessageId, conv: ConversationId) -> DbResult<()> {
    c.exec(
        "UPDATE messages SET conversation_id = ?2 WHERE id = ?1",
        params![message, conv],
    )?;
    Ok(())
}

// ------------------------------------------------------------------ routing

/// The agents who could take a conversation of `group`, as routing sees them.
pub fn candidates(c: &Connection, group: GroupId) -> DbResult<Vec<Candidate>> {
    let mut stmt = c.prepare_cached(
        "SELECT u.id, coalesce(s.status, 'offline'), s.auto_accept, s.last_assigned_at,
                (SELECT count(*) FROM conversations v WHERE v.agent_id = u.id AND v.state = 'active')
         FROM users u LEFT JOIN agent_settings s ON s.user_id = u.id
         WHERE u.status = 'active'
           AND u.id IN (SELECT user_id FROM group_members WHERE group_id = ?1)
         ORDER BY u.id",
    )?;
    let rows = stmt
        .query_map([group], |r| {
            Ok(Candidate {
                agent: r.get(0)?,
                status: r.get(1)?,
                auto_accept: r.get::<_, Option<u32>>(2)?,
                last_assigned_at: r.get::<_, Option<i64>>(3)?.map(ts),
                active: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn wanted(c: &Connection, follower: FollowerId) -> DbResult<Wanted> {
    let owner: Option<UserId> = c
        .row(
            "SELECT owner_id FROM followers WHERE id = ?1",
            [follower],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let last_agent = c
        .row(
            "SELECT agent_id, coalesce(ended_at, accepted_at, opened_at) FROM conversations
             WHERE follower_id = ?1 AND agent_id IS NOT NULL
             ORDER BY coalesce(ended_at, accepted_at, opened_at) DESC, id DESC LIMIT 1",
            [follower],
            |r| Ok((r.get::<_, UserId>(0)?, ts(r.get(1)?))),
        )
        .optional()?;
    Ok(Wanted { owner, last_agent })
}

/// Gives queued conversations of `group` to agents who can receive them, in
/// queue order, until nobody can; then tells those still waiting their place.
pub fn drain(c: &Connection, group: GroupId, now: Timestamp, out: &mut Out) -> DbResult<()> {
    for (conv, agent) in route_queue(c, group, now, out)? {
        crate::automation::greet(c, conv, agent, now, out)?;
    }
    Ok(())
}

/// Routes what it can (see [`drain`]) and returns who got which conversation,
/// without greeting (the push that opened one greets in its passive reply).
fn route_queue(
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
    for conv in conversations::queue(c, group)? {
        let cands = candidates(c, group)?;
        let w = wanted(c, conv.follower_id)?;
        let seed = (ms(now) as u64) ^ (conv.id.0 as u64).rotate_left(17);
        match routing::route(&rules, &cands, &w, now, seed) {
            Decision::Assign { agent, .. } => {
                if conversations::step(c, conv.id, Step::Route { to: agent }, "", now)?.is_ok() {
                    c.exec(
                        "INSERT INTO agent_settings (user_id, last_assigned_at) VALUES (?1, ?2)
                         ON CONFLICT (user_id) DO UPDATE SET last_assigned_at = ?2",
                        params![agent, ms(now)],
                    )?;
                    out.toast(agent, "有新的会话分配给您");
                    out.conversation(conv.id, group);
                    routed.push((conv.id, agent));
                    moved = true;
                }
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

/// Tells queued followers who moved up their new place (rate-limited, see
/// `engine::queue`).
pub fn queue_moved(c: &Connection, group: GroupId, now: Timestamp, out: &mut Out) -> DbResult<()> {
    for (ahead, conv) in conversations::queue(c, group)?.into_iter().enumerate() {
        let n = notices(c, conv.id)?;
        let left = budget_of(c, conv.follower_id, now)?.remaining;
        if queue::update_due(&n, ahead as i64, left, now) {
            send_text(c, &conv, &queue::moved_text(ahead as i64), None, now, out)?;
            noticed(c, conv.id, ahead as i64, now)?;
        }
    }
    Ok(())
}

fn notices(c: &Connection, id: ConversationId) -> DbResult<queue::Notices> {
    Ok(c.row(
        "SELECT notice_at, notice_position, notices FROM conversations WHERE id = ?1",
        [id],
        |r| {
            Ok(queue::Notices {
                last_at: r.get::<_, Option<i64>>(0)?.map(ts),
                last_ahead: r.get(1)?,
                sent: r.get(2)?,
            })
        },
    )?)
}

/// A queued conversation's notices and its group's comfort interval, in one query.
fn notices_and_comfort(
    c: &Connection,
    id: ConversationId,
) -> DbResult<(queue::Notices, SignedDuration)> {
    let default = settings::GroupSettings::default().comfort_every_mins;
    Ok(c.row(
        "SELECT v.notice_at, v.notice_position, v.notices, coalesce(g.comfort_every_mins, ?2)
         FROM conversations v LEFT JOIN group_settings g ON g.group_id = v.group_id
         WHERE v.id = ?1",
        params![id, default],
        |r| {
            Ok((
                queue::Notices {
                    last_at: r.get::<_, Option<i64>>(0)?.map(ts),
                    last_ahead: r.get(1)?,
                    sent: r.get(2)?,
                },
                SignedDuration::from_mins(r.get(3)?),
            ))
        },
    )?)
}

fn noticed(c: &Connection, id: ConversationId, ahead: i64, now: Timestamp) -> DbResult<()> {
    c.exec(
        "UPDATE conversations SET notice_at = ?2, notice_position = ?3, notices = notices + 1
         WHERE id = ?1",
        params![id, ms(now), ahead],
    )?;
    Ok(())
}

fn position(c: &Connection, conv: &conversations::Conversation) -> DbResult<i64> {
    Ok(conversations::queue(c, conv.group_id)?
        .iter()
        .position(|q| q.id == conv.id)
        .unwrap_or(0) as i64)
}

/// The group an account's new conversations go to: its first linked group,
/// or none (then every agent may take them).
/// The group new conversations of `account` go to: its first group (an
/// account always serves one; one left without is linked to the default group).
pub(crate) fn group_for(c: &Connection, account: AccountId, now: Timestamp) -> DbResult<GroupId> {
    db::groups::serving(c, account, now)
}

// ------------------------------------------------------------------ the follower

/// A stored push, inside its write transaction: the automatic answer (one
/// passive reply, in `Out::passive`) and the conversation. In order:
/// follow and menu-click replies; a message in an open conversation (queued:
/// 放弃排队 or comfort; in session with an agent away: their own auto reply);
/// a survey answer; keyword and FAQ answers; and when the account's trigger
/// asks for a human, a conversation — opened in any case (a message is never
/// dropped), answered per the time plan: welcome and queue place in work
/// hours, the off-hours or holiday reply otherwise (with the FAQ list when set).
pub fn on_inbound(
    c: &Connection,
    account: AccountId,
    m: &Inbound,
    stored: &Stored,
    now: Timestamp,
) -> DbResult<Out> {
    use crate::automation::record_passive;
    use crate::engine::timeplan;
    let mut out = Out::default();
    let Some(message) = stored.message else {
        // A retry: answer as the first time (the answer may have been lost).
        out.passive =
            crate::automation::passive_for_retry(c, account, &crate::wechat::ingest::dedup_key(m))?;
        return Ok(out);
    };
    let follower = stored.follower;
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
            record_passive(
                c,
                (account, follower, message),
                None,
                &passive,
                now,
                &mut out,
            )?;
            return Ok(out);
        }
    }

    if let Some(t) = text {
        if let Some((conv, thanks)) = crate::automation::take_answer(c, follower, t, now)? {
            passive.push(thanks);
            let group = conversations::get(c, conv)?
                .ok_or(DbError::Commit(
                    "survey answer for a missing conversation".into(),
                ))?
                .group_id;
            attach(c, message, conv)?;
            out.conversation(conv, group);
            record_passive(
                c,
                (account, follower, message),
                Some(conv),
                &passive,
                now,
                &mut out,
            )?;
            return Ok(out);
        }
        if let Some(reply) = crate::notify::bind(c, account, &m.from_user, t, now)? {
            record_passive(
                c,
                (account, follower, message),
                None,
                &[reply],
                now,
                &mut out,
            )?;
            return Ok(out);
        }
    }

    let group = group_for(c, account, now)?;
    let faq = db::automation::faq(c, group)?;
    // Keyword and FAQ answers come before a human (unless the text asks for one).
    if let Some(t) = text.filter(|_| !opens || matches!(trigger, intake::Trigger::AnyMessage)) {
        let rules = db::automation::keyword_replies(c, account)?;
        let answer = db::automation::match_keyword(&rules, t)
            .map(|k| k.reply.clone())
            .or_else(|| db::automation::faq_answer(&faq, t).map(|f| f.answer.clone()));
        if let Some(a) = answer {
            record_passive(c, (account, follower, message), None, &[a], now, &mut out)?;
            return Ok(out);
        }
    }
    if !opens {
        if matches!(m.kind, InboundKind::Location { .. }) {
            passive.push(replies.location.clone());
        }
        // Kept in the follower's history.
        record_passive(
            c,
            (account, follower, message),
            None,
            &passive,
            now,
            &mut out,
        )?;
        return Ok(out);
    }

    let id = match conversations::open(c, account, follower, group, now)? {
        Ok(id) => id,
        Err(_) => return Ok(out),
    };
    c.exec(
        "UPDATE conversations SET vip = (SELECT vip FROM followers WHERE id = ?2) WHERE id = ?1",
        params![id, follower],
    )?;
    if !matches!(m.kind, InboundKind::Event(_)) {
        attach(c, message, id)?;
        out.message(message, group);
    }
    out.lists(group);
    let faq_list = (!faq.is_empty()).then(|| db::automation::faq_list_text(&faq));
    let plan = db::timeplan::load(c, account)?;
    let in_hours = match timeplan::is_open(&plan, now) {
        timeplan::Status::Open => {
            passive.push(replies.welcome.clone());
            if replies.welcome_faq {
                passive.extend(faq_list.clone());
            }
            true
        }
        timeplan::Status::Closed => {
            passive.push(replies.offhours.clone());
            if replies.offhours_faq {
                passive.extend(faq_list.clone());
            }
            false
        }
        timeplan::Status::Holiday { reply, .. } => {
            passive.push(if reply.trim().is_empty() {
                replies.offhours.clone()
            } else {
                reply
            });
            if replies.offhours_faq {
                passive.extend(faq_list.clone());
            }
            false
        }
    };
    for (conv, agent) in route_queue(c, group, now, &mut out)? {
        if conv == id {
            // Picked up at once: the greeting rides in the passive reply.
            let name = db::users::get(c, agent)?
                .map(|u| u.display_name)
                .unwrap_or_default();
            passive.push(replies.greeting.replace("{客服}", &name));
        } else {
            crate::automation::greet(c, conv, agent, now, &mut out)?;
        }
    }
    let conv = conversations::get(c, id)?.ok_or_else(|| DbError::Commit("lost".into()))?;
    if conv.state == ConversationState::Queued && in_hours {
        let ahead = position(c, &conv)?;
        // Nobody online and someone only away (离开): say so honestly (B9).
        let statuses: Vec<AgentStatus> = candidates(c, group)?
            .into_iter()
            .map(|x| x.status)
            .collect();
        let text =
            if !statuses.contains(&AgentStatus::Online) && statuses.contains(&AgentStatus::Away) {
                if replies.away.trim().is_empty() {
                    queue::away_text(ahead)
                } else {
                    format!("{}\n{}", replies.away.trim(), queue::moved_text(ahead))
                }
            } else {
                queue::entered_text(ahead)
            };
        passive.push(text);
        noticed(c, id, ahead, now)?;
    } else if conv.state == ConversationState::Queued {
        // Told the off-hours reply; queue updates follow the usual rule.
        noticed(c, id, position(c, &conv)?, now)?;
    }
    record_passive(
        c,
        (account, follower, message),
        Some(id),
        &passive,
        now,
        &mut out,
    )?;
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
    use crate::automation::record_passive;
    let mut out = Out::default();
    let mut passive: Vec<String> = Vec::new();
    // Stored with its conversation already (ingest::store).
    out.message(message, conv.group_id);
    out.lists(conv.group_id);
    if conv.state == ConversationState::Queued {
        if intake::leaves_queue(&m.kind) {
            if conversations::step(c, conv.id, Step::Abandon, "粉丝发送“放弃排队”", now)?.is_ok()
            {
                passive.push(queue::LEFT_TEXT.to_string());
                out.conversation(conv.id, conv.group_id);
                queue_moved(c, conv.group_id, now, &mut out)?;
            }
        } else {
            let (n, every) = notices_and_comfort(c, conv.id)?;
            if queue::comfort_due(&n, every, now) {
                let ahead = position(c, conv)?;
                passive.push(queue::comfort_text(ahead));
                noticed(c, conv.id, ahead, now)?;
            }
        }
    } else if let Some(agent) = conv.agent_id {
        // 工号自动回复 (C7): the holder is not at the desk; at most every 10 minutes.
        let (status, _) = status_of(c, agent)?;
        let own = db::automation::agent_auto_reply(c, agent)?;
        let last = notices(c, conv.id)?.last_at;
        if status != AgentStatus::Online
            && !own.trim().is_empty()
            && last.is_none_or(|t| t + SignedDuration::from_mins(10) <= now)
        {
            passive.push(own);
            noticed(c, conv.id, 0, now)?;
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

// ------------------------------------------------------------------ the agent

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
        crate::automation::greet(c, id, user.id, now, &mut out)?;
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
    c.exec(
        "UPDATE conversations SET read_at = ?2 WHERE id = ?1",
        params![id, ms(now)],
    )?;
    Ok(())
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
        return Err(refused("请输入回复内容"));
    }
    if text.chars().count() > 2000 {
        return Err(refused("回复内容不能超过 2000 字"));
    }
    let conv = held_by(c, user, id, "回复")?;
    let b = budget_of(c, conv.follower_id, now)?;
    if !b.allowed {
        return Err(DeskError::Refused(b.reason.unwrap_or_default()));
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
    let conv = held_by(c, user, id, "回复")?;
    let b = budget_of(c, conv.follower_id, now)?;
    if !b.allowed {
        return Err(DeskError::Refused(b.reason.unwrap_or_default()));
    }
    let payload = serde_json::json!({ "path": path, "upload": upload });
    let (message, _) = db::outbox::enqueue(
        c,
        conv.account_id,
        conv.follower_id,
        OutboundKind::Image,
        &payload,
        Some(user.id),
        now,
    )?;
    attach(c, message, id)?;
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
    let conv_id: Option<ConversationId> = c
        .row(
            "SELECT conversation_id FROM messages WHERE id = ?1",
            [message],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let conv = held_by(c, user, conv_id.ok_or(DeskError::NotFound)?, "重发消息")?;
    let b = budget_of(c, conv.follower_id, now)?;
    if !b.allowed {
        return Err(DeskError::Refused(b.reason.unwrap_or_default()));
    }
    let n = c.exec(
        "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?2,
                error_code = NULL, error_reason = ''
         WHERE message_id = ?1 AND state = 'failed'",
        params![message, ms(now)],
    )?;
    if n == 0 {
        return Err(refused("只有发送失败的消息可以重发"));
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
        return Err(refused("备注内容需为 1–2000 字"));
    }
    let conv = visible(c, user, id)?;
    c.exec(
        "INSERT INTO notes (conversation_id, follower_id, author_id, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, conv.follower_id, user.id, body, ms(now)],
    )?;
    let mut out = Out::default();
    out.push(Live::Note {
        id: c.last_insert_rowid(),
        conversation: id,
        group: conv.group_id,
    });
    Ok(out)
}

/// Asks another online agent of the group to take the conversation (B7).
pub fn transfer_to_agent(
    c: &Connection,
    user: &User,
    id: ConversationId,
    to: UserId,
    note: &str,
    now: Timestamp,
) -> DeskResult<Out> {
    let conv = held_by(c, user, id, "转接")?;
    if to == user.id {
        return Err(refused("不能转接给自己"));
    }
    let target = candidates(c, conv.group_id)?
        .into_iter()
        .find(|x| x.agent == to)
        .ok_or_else(|| refused("只能转接给本客服组的客服"))?;
    if target.status != AgentStatus::Online {
        return Err(DeskError::Refused(format!(
            "对方当前{},不能接收转接",
            target.status.label()
        )));
    }
    let pending: i64 = c.row(
        "SELECT count(*) FROM transfers WHERE conversation_id = ?1 AND state = 'pending'",
        [id],
        |r| r.get(0),
    )?;
    if pending > 0 {
        return Err(refused("该会话已有一个等待对方回应的转接"));
    }
    let timeout = settings::group(c, conv.group_id)?.transfer_timeout_secs;
    c.exec(
        "INSERT INTO transfers (conversation_id, from_agent, to_agent, note, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            id,
            user.id,
            to,
            note.trim(),
            ms(now),
            ms(now + SignedDuration::from_secs(timeout))
        ],
    )?;
    let mut out = Out::default();
    out.push(Live::UserLists { user: to });
    out.toast(to, format!("{} 请求将会话转接给您", user.display_name));
    out.conversation(id, conv.group_id);
    Ok(out)
}

/// A pending transfer for the conversation, if any: (id, to agent, note, expires).
pub fn pending_transfer(
    c: &Connection,
    id: ConversationId,
) -> DbResult<Option<(i64, UserId, String, Timestamp)>> {
    Ok(c.row(
        "SELECT id, to_agent, note, expires_at FROM transfers
             WHERE conversation_id = ?1 AND state = 'pending'",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, ts(r.get(3)?))),
    )
    .optional()?)
}

/// The target accepts or declines a transfer.
pub fn answer_transfer(
    c: &Connection,
    user: &User,
    transfer: i64,
    accept: bool,
    now: Timestamp,
) -> DeskResult<Out> {
    let row: Option<(ConversationId, UserId, UserId, String, String, i64)> = c
        .row(
            "SELECT conversation_id, from_agent, to_agent, note, state, expires_at
             FROM transfers WHERE id = ?1",
            [transfer],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    let (conv_id, from, to, note, state, expires) = row.ok_or(DeskError::NotFound)?;
    if to != user.id {
        return Err(DeskError::Denied("这个转接请求不是给您的".into()));
    }
    if state != "pending" || ts(expires) <= now {
        return Err(refused("该转接请求已失效"));
    }
    let conv = conversations::get(c, conv_id)?.ok_or(DeskError::NotFound)?;
    let mut out = Out::default();
    if !accept {
        c.exec(
            "UPDATE transfers SET state = 'declined', decided_at = ?2 WHERE id = ?1",
            params![transfer, ms(now)],
        )?;
        out.toast(
            from,
            format!("{} 拒绝了转接,会话仍由您接待", user.display_name),
        );
        out.conversation(conv_id, conv.group_id);
        out.push(Live::UserLists { user: to });
        return Ok(out);
    }
    if let Err(why) =
        conversations::step(c, conv_id, Step::TransferInGroup { from, to }, &note, now)?
    {
        c.exec(
            "UPDATE transfers SET state = 'cancelled', decided_at = ?2 WHERE id = ?1",
            params![transfer, ms(now)],
        )?;
        return Err(refused(why));
    }
    c.exec(
        "UPDATE transfers SET state = 'accepted', decided_at = ?2 WHERE id = ?1",
        params![transfer, ms(now)],
    )?;
    mark_read(c, conv_id, now)?;
    crate::automation::greet(c, conv_id, user.id, now, &mut out)?;
    out.toast(from, format!("{} 已接受转接", user.display_name));
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
    let conv = held_by(c, user, id, "转接")?;
    if conv.group_id == group {
        return Err(refused("会话已在该客服组,请选择本组的客服"));
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
    c.exec(
        "UPDATE conversations SET group_id = ?2, notice_at = NULL, notice_position = NULL,
                notices = 0 WHERE id = ?1",
        params![id, group],
    )?;
    c.exec(
        "UPDATE transfers SET state = 'cancelled', decided_at = ?2
         WHERE conversation_id = ?1 AND state = 'pending'",
        params![id, ms(now)],
    )?;
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
            noticed(c, id, ahead, now)?;
        }
    }
    drain(c, conv.group_id, now, &mut out)?;
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
    let conv = held_by(c, user, id, "结束会话")?;
    let rules = settings::group(c, conv.group_id)?;
    let valid: Vec<i64> = {
        let mut stmt = c.prepare_cached("SELECT id FROM categories WHERE group_id = ?1")?;
        let all: Vec<i64> = stmt
            .query_map([conv.group_id], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        categories
            .iter()
            .copied()
            .filter(|x| all.contains(x))
            .collect()
    };
    if rules.require_category && valid.is_empty() {
        return Err(refused("请至少选择一个咨询分类"));
    }
    if remark.chars().count() > 500 {
        return Err(refused("备注不能超过 500 字"));
    }
    if let Err(why) = conversations::step(c, id, Step::EndByAgent { by: user.id }, "", now)? {
        return Err(refused(why));
    }
    for cat in valid {
        c.exec(
            "INSERT OR IGNORE INTO conversation_categories (conversation_id, category_id) VALUES (?1, ?2)",
            params![id, cat],
        )?;
    }
    c.exec(
        "UPDATE conversations SET end_remark = ?2 WHERE id = ?1",
        params![id, remark.trim()],
    )?;
    let mut out = Out::default();
    if db::automation::auto_replies(c, conv.account_id)?.survey_on_end {
        // Not sent (no budget left): recorded on the survey with the reason.
        if let Err(why) = crate::automation::send_survey(c, id, now, &mut out)? {
            tracing::info!(conversation = %id, %why, "survey not sent");
        }
    }
    c.exec(
        "UPDATE transfers SET state = 'cancelled', decided_at = ?2
         WHERE conversation_id = ?1 AND state = 'pending'",
        params![id, ms(now)],
    )?;
    out.lists(conv.group_id);
    out.conversation(id, conv.group_id);
    // A place became free.
    drain(c, conv.group_id, now, &mut out)?;
    Ok(out)
}

/// An admin removes a queued follower (B5).
pub fn remove(c: &Connection, user: &User, id: ConversationId, now: Timestamp) -> DeskResult<Out> {
    if user.role == Role::Agent {
        return Err(DeskError::Denied("只有管理员可以移除排队客户".into()));
    }
    let conv = visible(c, user, id)?;
    if let Err(why) = conversations::step(c, id, Step::Remove { by: user.id }, "管理员移除", now)?
    {
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
        None => group_for(c, f.account_id, now)?,
    };
    if let Some(open) = conversations::open_of(c, follower)? {
        return Err(DeskError::Refused(match open.agent_id {
            Some(a) if a == user.id => "您正在接待该粉丝".into(),
            Some(_) => "该粉丝正由其他客服接待".into(),
            None => "该粉丝正在排队,请从排队列表接入".into(),
        }));
    }
    let b = budget_of(c, follower, now)?;
    if !b.allowed {
        return Err(DeskError::Refused(format!(
            "无法重新发起会话:{}",
            b.reason.unwrap_or_default()
        )));
    }
    let id = match conversations::open(c, f.account_id, follower, group, now)? {
        Ok(id) => id,
        Err(why) => return Err(refused(why)),
    };
    c.exec(
        "UPDATE conversation_events SET actor_id = ?2, note = '客服重新发起会话'
         WHERE conversation_id = ?1 AND step = 'open'",
        params![id, user.id],
    )?;
    if let Err(why) = conversations::step(c, id, Step::Accept { by: user.id }, "重新发起", now)?
    {
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
        return Err(refused("标注内容不能超过 500 字"));
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
    let exists: bool = c.row("SELECT count(*) FROM tags WHERE id = ?1", [tag], |r| {
        r.get::<_, i64>(0).map(|n| n > 0)
    })?;
    if !exists {
        return Err(refused("请选择一个标签"));
    }
    if let Some(m) = message {
        let of: Option<FollowerId> = c
            .row("SELECT follower_id FROM messages WHERE id = ?1", [m], |r| {
                r.get(0)
            })
            .optional()?;
        if of != Some(conv.follower_id) {
            return Err(refused("该消息不属于这个会话"));
        }
    }
    if remark.chars().count() > 200 {
        return Err(refused("标签备注不能超过 200 字"));
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

// ------------------------------------------------------------------ status

pub fn status_of(c: &Connection, user: UserId) -> DbResult<(AgentStatus, Option<u32>)> {
    Ok(c.row(
        "SELECT status, auto_accept FROM agent_settings WHERE user_id = ?1",
        [user],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .unwrap_or((AgentStatus::Offline, None)))
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
    c.exec(
        "INSERT INTO agent_settings (user_id, status, auto_accept, status_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id) DO UPDATE SET status = ?2, auto_accept = ?3, status_at = ?4",
        params![user, status, limit, ms(now)],
    )?;
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

// ------------------------------------------------------------------ sweeper

/// What time does: transfers nobody answered go back to the sender; queued
/// followers past the group's limit expire. Idempotent: each row changes once.
pub fn sweep(c: &Connection, now: Timestamp) -> DbResult<Out> {
    let mut out = Out::default();
    let expired: Vec<(i64, ConversationId, UserId, UserId)> = {
        let mut stmt = c.prepare_cached(
            "SELECT id, conversation_id, from_agent, to_agent FROM transfers
             WHERE state = 'pending' AND expires_at <= ?1",
        )?;
        stmt.query_map([ms(now)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<Vec<_>, _>>()?
    };
    for (id, conv, from, to) in expired {
        c.exec(
            "UPDATE transfers SET state = 'expired', decided_at = ?2 WHERE id = ?1",
            params![id, ms(now)],
        )?;
        out.toast(from, "对方未在规定时间内接受转接，会话仍由您接待");
        if let Some(v) = conversations::get(c, conv)? {
            out.conversation(conv, v.group_id);
        }
        out.push(Live::UserLists { user: to });
    }
    // Agents offline longer than their group allows give their conversations back (B9).
    let held: Vec<(ConversationId, GroupId, UserId, i64)> = {
        let mut stmt = c.prepare_cached(
            "SELECT v.id, v.group_id, v.agent_id, s.status_at FROM conversations v
             JOIN agent_settings s ON s.user_id = v.agent_id
             WHERE v.state = 'active' AND s.status = 'offline'",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<Vec<_>, _>>()?
    };
    for (id, group, agent, since) in held {
        let Some(mins) = settings::group(c, group)?.requeue_after_mins else {
            continue;
        };
        if ts(since) + SignedDuration::from_mins(mins) > now {
            continue;
        }
        let why = format!("客服离线超过 {mins} 分钟,会话回到排队");
        if conversations::step(c, id, Step::TransferToGroup { from: agent }, &why, now)?.is_ok() {
            c.exec(
                "UPDATE conversations SET notice_at = NULL, notice_position = NULL, notices = 0
                 WHERE id = ?1",
                [id],
            )?;
            out.lists(group);
            out.conversation(id, group);
            drain(c, group, now, &mut out)?;
        }
    }
    let queued: Vec<(ConversationId, GroupId, i64)> = {
        let mut stmt = c.prepare_cached(
            "SELECT id, group_id, queued_at FROM conversations WHERE state = 'queued'",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<Vec<_>, _>>()?
    };
    for (id, group, queued_at) in queued {
        let hours = settings::group(c, group)?.queue_expiry_hours;
        if ts(queued_at) + SignedDuration::from_hours(hours) <= now {
            let why = format!("排队超过 {hours} 小时");
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
        let out = self
            .db
            .write(move |c| crate::automation::timeouts(c, now))
            .await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::users::tests::seed_user;
    use crate::db::{accounts::tests::seed_account, groups::tests::seed_group, memory};
    use crate::wechat::ingest;

    struct World {
        c: Connection,
        account: db::accounts::Account,
        group: GroupId,
        t0: Timestamp,
    }

    fn world() -> World {
        let c = memory().unwrap();
        let acc = seed_account(&c, "wx1");
        let group = seed_group(&c, "售后", "after");
        db::accounts::set_groups(&c, acc, &[group]).unwrap();
        let account = db::accounts::get(&c, acc).unwrap().unwrap();
        World {
            c,
            account,
            group,
            t0: "2026-05-01T02:00:00Z".parse().unwrap(),
        }
    }

    impl World {
        fn at(&self, mins: i64) -> Timestamp {
            self.t0 + SignedDuration::from_mins(mins)
        }
        fn agent(&self, name: &str) -> User {
            let id = seed_user(&self.c, name, Role::Agent);
            db::users::set_groups(&self.c, id, &[self.group]).unwrap();
            db::users::get(&self.c, id).unwrap().unwrap()
        }
        /// The follower writes `text` at `now`; returns the desk's answer and the follower.
        fn says(&self, openid: &str, text: &str, msg_id: i64, now: Timestamp) -> (Out, FollowerId) {
            let m = Inbound {
                to_user: "gh_test".into(),
                from_user: openid.into(),
                create_time: now.as_second(),
                msg_id: Some(msg_id),
                kind: InboundKind::Text {
                    content: text.into(),
                },
            };
            let stored = ingest::store(&self.c, &self.account, &m, "<xml/>", now).unwrap();
            let out = on_inbound(&self.c, self.account.id, &m, &stored, now).unwrap();
            (out, stored.follower)
        }
        fn open(&self, f: FollowerId) -> conversations::Conversation {
            conversations::open_of(&self.c, f).unwrap().unwrap()
        }
        fn pending_texts(&self, f: FollowerId) -> Vec<String> {
            let mut stmt = self
                .c
                .prepare("SELECT payload FROM outbox WHERE follower_id = ?1 ORDER BY id")
                .unwrap();
            stmt.query_map([f], |r| r.get::<_, String>(0))
                .unwrap()
                .map(|p| {
                    let v: serde_json::Value = serde_json::from_str(&p.unwrap()).unwrap();
                    v["content"].as_str().unwrap_or_default().to_string()
                })
                .collect()
        }
    }

    #[test]
    fn a_message_queues_then_routes_when_an_agent_can_receive() {
        let w = world();
        let amy = w.agent("amy");
        let (out, f) = w.says("oA", "在吗", 1, w.at(0));
        // Told their place in the webhook's answer: no quota, no outbox.
        let passive = out.passive.clone().expect("a passive reply");
        assert!(
            passive.contains("欢迎咨询") && passive.contains("下一位"),
            "{passive}"
        );
        assert!(!out.outbox && w.pending_texts(f).is_empty());
        assert!(out.events.contains(&Live::Lists { group: w.group }));
        let conv = w.open(f);
        assert_eq!(
            (conv.state, conv.group_id),
            (ConversationState::Queued, w.group)
        );

        // Online without auto-accept: still queued (accepts by hand).
        set_status(&w.c, amy.id, AgentStatus::Online, Some(None), w.at(1)).unwrap();
        assert_eq!(w.open(f).state, ConversationState::Queued);
        // With a limit: routed to her.
        let out = set_status(&w.c, amy.id, AgentStatus::Online, Some(Some(10)), w.at(2)).unwrap();
        let conv = w.open(f);
        assert_eq!(
            (conv.state, conv.agent_id),
            (ConversationState::Active, Some(amy.id))
        );
        assert!(out.events.contains(&Live::Toast {
            user: amy.id,
            text: "有新的会话分配给您".into()
        }));
        let steps: Vec<String> = conversations::events(&w.c, conv.id)
            .unwrap()
            .into_iter()
            .map(|e| e.step)
            .collect();
        assert_eq!(steps, ["open", "route"]);
        // Picked up: the greeting (接入语) goes out through the outbox.
        assert!(
            w.pending_texts(f)[0].contains("很高兴为您服务"),
            "{:?}",
            w.pending_texts(f)
        );
        // The next message joins the same conversation, nothing automatic.
        let (out, _) = w.says("oA", "我的订单", 2, w.at(3));
        assert_eq!(w.open(f).id, conv.id);
        assert_eq!((out.passive, w.pending_texts(f).len()), (None, 1));
    }

    #[test]
    fn replies_are_refused_when_wechat_would_refuse_them() {
        let w = world();
        let amy = w.agent("amy");
        let (_, f) = w.says("oB", "你好", 1, w.at(0));
        let id = w.open(f).id;
        accept(&w.c, &amy, &[id], w.at(1)).unwrap();
        // The queue notice took one of the 5; four more are allowed.
        for i in 0..4 {
            reply(&w.c, &amy, id, &format!("回复{i}"), w.at(2)).unwrap();
        }
        match reply(&w.c, &amy, id, "第六条", w.at(2)) {
            Err(DeskError::Refused(why)) => assert!(why.contains("额度"), "{why}"),
            other => panic!("{other:?}"),
        }
        // A new message from the follower restores the budget …
        w.says("oB", "还在吗", 2, w.at(10));
        db::followers::count_sent(&w.c, f, crate::model::InteractionKind::Message).unwrap();
        w.c.exec("UPDATE outbox SET state = 'sent'", []).unwrap();
        assert!(reply(&w.c, &amy, id, "在的", w.at(11)).is_ok());
        // … for 48 hours.
        match reply(&w.c, &amy, id, "两天后", w.at(10 + 48 * 60 + 1)) {
            Err(DeskError::Refused(why)) => assert!(why.contains("48 小时"), "{why}"),
            other => panic!("{other:?}"),
        }
        // And an empty text is refused before anything else.
        assert!(matches!(
            reply(&w.c, &amy, id, "   ", w.at(12)),
            Err(DeskError::Refused(_))
        ));
    }

    #[test]
    fn the_sweeper_acts_once_on_transfers_and_queue_expiry() {
        let w = world();
        let (amy, bob) = (w.agent("amy"), w.agent("bob"));
        set_status(&w.c, bob.id, AgentStatus::Online, None, w.at(0)).unwrap();
        let (_, f) = w.says("oC", "你好", 1, w.at(0));
        let id = w.open(f).id;
        accept(&w.c, &amy, &[id], w.at(0)).unwrap();
        transfer_to_agent(&w.c, &amy, id, bob.id, "请跟进", w.at(1)).unwrap();
        assert!(sweep(&w.c, w.at(1)).unwrap().events.is_empty(), "not yet");
        let t = w.at(1) + SignedDuration::from_secs(60);
        let out = sweep(&w.c, t).unwrap();
        assert!(out.events.contains(&Live::Toast {
            user: amy.id,
            text: "对方未在规定时间内接受转接，会话仍由您接待".into()
        }));
        assert!(sweep(&w.c, t).unwrap().events.is_empty(), "once");
        assert_eq!(w.open(f).agent_id, Some(amy.id));

        // A follower queued for 24 hours expires, once, with the reason.
        let (_, g) = w.says("oD", "有人吗", 2, w.at(0));
        let qid = w.open(g).id;
        let day = w.at(24 * 60);
        assert!(
            !sweep(&w.c, day - SignedDuration::from_secs(1))
                .unwrap()
                .events
                .iter()
                .any(|e| matches!(e, Live::Conversation { id, .. } if *id == qid))
        );
        sweep(&w.c, day).unwrap();
        let ev = conversations::events(&w.c, qid).unwrap();
        let last = ev.last().unwrap();
        assert_eq!(
            (last.step.as_str(), last.note.as_str()),
            ("expire", "排队超过 24 小时")
        );
        sweep(&w.c, day).unwrap();
        assert_eq!(conversations::events(&w.c, qid).unwrap().len(), ev.len());
    }

    #[test]
    fn an_agent_offline_too_long_gives_conversations_back_when_the_group_says_so() {
        let w = world();
        let amy = w.agent("amy");
        let (_, f) = w.says("oF", "你好", 1, w.at(0));
        let id = w.open(f).id;
        accept(&w.c, &amy, &[id], w.at(0)).unwrap();
        set_status(&w.c, amy.id, AgentStatus::Offline, None, w.at(1)).unwrap();
        // Default: the conversation stays hers however long she is away.
        sweep(&w.c, w.at(600)).unwrap();
        assert_eq!(w.open(f).agent_id, Some(amy.id));
        let s = settings::GroupSettings {
            requeue_after_mins: Some(10),
            ..Default::default()
        };
        settings::set_group(&w.c, w.group, &s).unwrap();
        set_status(&w.c, amy.id, AgentStatus::Offline, None, w.at(700)).unwrap();
        sweep(&w.c, w.at(709)).unwrap();
        assert_eq!(w.open(f).state, ConversationState::Active, "not yet");
        sweep(&w.c, w.at(710)).unwrap();
        let conv = w.open(f);
        assert_eq!(
            (conv.state, conv.agent_id),
            (ConversationState::Queued, None)
        );
        let last = conversations::events(&w.c, id).unwrap().pop().unwrap();
        assert_eq!(last.note, "客服离线超过 10 分钟,会话回到排队");
    }

    #[test]
    fn an_away_team_says_so_and_the_queue_can_be_left() {
        let w = world();
        let amy = w.agent("amy");
        set_status(&w.c, amy.id, AgentStatus::Away, None, w.at(0)).unwrap();
        let (out, f) = w.says("oE", "你好", 1, w.at(0));
        assert!(out.passive.unwrap().contains("客服暂时离开"));
        let (out, _) = w.says("oE", "放弃排队", 2, w.at(1));
        assert!(conversations::open_of(&w.c, f).unwrap().is_none());
        assert_eq!(out.passive.as_deref(), Some(queue::LEFT_TEXT));
    }
}
