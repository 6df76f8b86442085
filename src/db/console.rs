//! Read-side queries of the agent console: the lists (会话中, 排队中, recent
//! contacts, transfer requests), a follower's profile facts and today's
//! figures (D10, D11). Writes go through `desk`.

use super::{DbResult, ms, ts};
use crate::access::Reach;
use crate::db::Cached;
use crate::model::{
    AccountId, AgentStatus, ConversationId, ConversationState, FollowerId, GroupId, MessageKind,
    TransferState, UserId,
};
use rusqlite::{Connection, Row, params};

/// One line of a list.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: ConversationId,
    pub follower_id: FollowerId,
    pub account_id: AccountId,
    pub account_name: String,
    pub group_id: GroupId,
    pub state: ConversationState,
    pub agent_id: Option<UserId>,
    pub agent_name: String,
    pub openid: String,
    pub remark: String,
    pub wx_remark: String,
    pub vip: bool,
    pub subscribe_scene: String,
    pub first_seen_at: jiff::Timestamp,
    pub queued_at: Option<jiff::Timestamp>,
    pub last_at: jiff::Timestamp,
    pub last_kind: Option<MessageKind>,
    pub last_text: String,
    pub unread: i64,
}

impl Item {
    pub fn label(&self) -> String {
        if !self.remark.is_empty() {
            self.remark.clone()
        } else if !self.wx_remark.is_empty() {
            self.wx_remark.clone()
        } else {
            super::followers::short_label(&self.openid)
        }
    }
}

const ITEM: &str = "SELECT v.id, v.follower_id, v.account_id, a.name, v.group_id, v.state, v.agent_id,
        coalesce(u.display_name, ''), f.openid, f.remark, f.wx_remark, v.vip, f.subscribe_scene,
        f.first_seen_at, v.queued_at,
        coalesce((SELECT max(m.received_at) FROM messages m WHERE m.conversation_id = v.id),
                 v.accepted_at, v.opened_at),
        (SELECT m.kind FROM messages m WHERE m.follower_id = v.follower_id AND m.kind <> 'event'
          AND NOT (m.direction = 'out' AND m.sender_id IS NULL) ORDER BY m.id DESC LIMIT 1),
        coalesce((SELECT m.content FROM messages m WHERE m.follower_id = v.follower_id AND m.kind <> 'event'
          AND NOT (m.direction = 'out' AND m.sender_id IS NULL) ORDER BY m.id DESC LIMIT 1), ''),
        (SELECT count(*) FROM messages m WHERE m.conversation_id = v.id AND m.direction = 'in'
          AND m.received_at > coalesce(v.read_at, 0))
    FROM conversations v
    JOIN followers f ON f.id = v.follower_id
    JOIN accounts a ON a.id = v.account_id
    LEFT JOIN users u ON u.id = v.agent_id";

fn item(r: &Row<'_>) -> rusqlite::Result<Item> {
    Ok(Item {
        id: r.get(0)?,
        follower_id: r.get(1)?,
        account_id: r.get(2)?,
        account_name: r.get(3)?,
        group_id: r.get(4)?,
        state: r.get(5)?,
        agent_id: r.get(6)?,
        agent_name: r.get(7)?,
        openid: r.get(8)?,
        remark: r.get(9)?,
        wx_remark: r.get(10)?,
        vip: r.get(11)?,
        subscribe_scene: r.get(12)?,
        first_seen_at: ts(r.get(13)?),
        queued_at: r.get::<_, Option<i64>>(14)?.map(ts),
        last_at: ts(r.get(15)?),
        last_kind: r.get(16)?,
        last_text: r.get(17)?,
        unread: r.get(18)?,
    })
}

/// The SQL condition on `v.group_id` for a reach (decided in `access`).
fn reach_sql(reach: &Reach) -> String {
    match reach {
        Reach::All => "1".into(),
        Reach::Groups(gs) if gs.is_empty() => "0".into(),
        Reach::Groups(gs) => {
            let ids: Vec<String> = gs.iter().map(|g| g.0.to_string()).collect();
            format!("v.group_id IN ({})", ids.join(","))
        }
    }
}

/// Open conversations in scope, in session first by latest activity, the queue
/// in queue order (VIP first).
pub fn open_items(conn: &Connection, reach: &Reach) -> DbResult<(Vec<Item>, Vec<Item>)> {
    let mut stmt = conn.prepare(&format!(
        "{ITEM} WHERE v.state = 'active' AND {} ORDER BY 16 DESC, v.id DESC",
        reach_sql(reach)
    ))?;
    let active = stmt.query_map([], item)?.collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare(&format!(
        "{ITEM} WHERE v.state = 'queued' AND {} ORDER BY v.vip DESC, v.queued_at, v.id",
        reach_sql(reach)
    ))?;
    let queued = stmt.query_map([], item)?.collect::<Result<Vec<_>, _>>()?;
    Ok((active, queued))
}

/// The next conversation 接入下一位 takes: the first of the queue of `group`
/// (when given and in reach) or of every group in reach — each group's head
/// is one indexed read, so a long queue costs nothing more.
pub fn next_queued(
    conn: &Connection,
    reach: &Reach,
    group: Option<GroupId>,
) -> DbResult<Option<ConversationId>> {
    let groups: Vec<GroupId> = match (reach, group) {
        (r, Some(g)) if r.covers(g) => vec![g],
        (_, Some(_)) => vec![],
        (Reach::All, None) => {
            let mut stmt = conn.prepare_cached("SELECT id FROM groups ORDER BY id")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<Vec<_>, _>>()?
        }
        (Reach::Groups(gs), None) => gs.clone(),
    };
    let mut best: Option<super::conversations::Conversation> = None;
    for g in groups {
        if let Some(head) = super::conversations::queue_head(conn, g)? {
            let key = |c: &super::conversations::Conversation| (!c.vip, c.queued_at, c.id);
            if best.as_ref().is_none_or(|b| key(&head) < key(b)) {
                best = Some(head);
            }
        }
    }
    Ok(best.map(|c| c.id))
}

/// Conversations the agent ended in `[from, to)` whose follower has no open
/// one now: today's (current contacts) or before today (最近联系, C11).
pub fn ended_between(
    conn: &Connection,
    agent: UserId,
    from: jiff::Timestamp,
    to: jiff::Timestamp,
) -> DbResult<Vec<Item>> {
    let mut stmt = conn.prepare(&format!(
        "{ITEM} WHERE v.state = 'ended' AND v.agent_id = ?1 AND v.ended_at >= ?2 AND v.ended_at < ?3
           AND NOT EXISTS (SELECT 1 FROM conversations o WHERE o.follower_id = v.follower_id AND o.state <> 'ended')
           AND v.id = (SELECT max(x.id) FROM conversations x WHERE x.follower_id = v.follower_id)
         ORDER BY v.ended_at DESC LIMIT 30"
    ))?;
    let rows = stmt
        .query_map(params![agent, ms(from), ms(to)], item)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn item_of(conn: &Connection, id: ConversationId) -> DbResult<Option<Item>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .row(&format!("{ITEM} WHERE v.id = ?1"), [id], item)
        .optional()?)
}

/// A transfer waiting for `agent`'s answer.
#[derive(Clone, Debug)]
pub struct TransferRequest {
    pub id: i64,
    pub conversation_id: ConversationId,
    pub from_name: String,
    pub follower_label: String,
    pub note: String,
    pub expires_at: jiff::Timestamp,
}

pub fn transfers_for(
    conn: &Connection,
    agent: UserId,
    now: jiff::Timestamp,
) -> DbResult<Vec<TransferRequest>> {
    let mut stmt = conn.prepare(
        "SELECT t.id, t.conversation_id, u.display_name, f.openid, f.remark, f.wx_remark, t.note, t.expires_at
         FROM transfers t JOIN users u ON u.id = t.from_agent
         JOIN conversations v ON v.id = t.conversation_id JOIN followers f ON f.id = v.follower_id
         WHERE t.to_agent = ?1 AND t.state = ?3 AND t.expires_at > ?2 ORDER BY t.id",
    )?;
    let rows = stmt
        .query_map(params![agent, ms(now), TransferState::Pending], |r| {
            let (openid, remark, wx): (String, String, String) = (r.get(3)?, r.get(4)?, r.get(5)?);
            Ok(TransferRequest {
                id: r.get(0)?,
                conversation_id: r.get(1)?,
                from_name: r.get(2)?,
                follower_label: if !remark.is_empty() {
                    remark
                } else if !wx.is_empty() {
                    wx
                } else {
                    super::followers::short_label(&openid)
                },
                note: r.get(6)?,
                expires_at: ts(r.get(7)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Agents of a group (or everyone, for a conversation without a group) with
/// their status — the transfer dialog's choices.
pub fn agents_of(
    conn: &Connection,
    group: GroupId,
) -> DbResult<Vec<(UserId, String, AgentStatus)>> {
    let mut stmt = conn.prepare(
        "SELECT u.id, u.display_name, coalesce(s.status, 'offline')
         FROM users u LEFT JOIN agent_settings s ON s.user_id = u.id
         WHERE u.status = 'active'
           AND u.id IN (SELECT user_id FROM group_members WHERE group_id = ?1)
         ORDER BY u.display_name",
    )?;
    let rows = stmt
        .query_map([group], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Agents who served a follower, most recent first: whoever held one of the
/// follower's conversations, accepted, was routed, or transferred one — not
/// only the last holder of each.
pub fn served_by(conn: &Connection, follower: FollowerId) -> DbResult<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT u.display_name FROM users u JOIN (
             SELECT v.agent_id AS who, coalesce(v.accepted_at, v.opened_at) AS at
             FROM conversations v WHERE v.follower_id = ?1
             UNION ALL
             SELECT e.actor_id, e.at FROM conversation_events e
             JOIN conversations v ON v.id = e.conversation_id
             WHERE v.follower_id = ?1
               AND e.step IN ('accept', 'transfer_in_group', 'transfer_to_group', 'end_by_agent')
             UNION ALL
             SELECT e.to_agent_id, e.at FROM conversation_events e
             JOIN conversations v ON v.id = e.conversation_id
             WHERE v.follower_id = ?1 AND e.step IN ('route', 'transfer_in_group')
         ) s ON s.who = u.id
         GROUP BY u.id ORDER BY max(s.at) DESC, u.display_name",
    )?;
    let rows = stmt
        .query_map([follower], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Today's figures for one agent (D10, D11): rank among agents by
/// conversations taken today, how many agents, followers served, replies sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Today {
    pub conversations: i64,
    pub rank: i64,
    pub agents: i64,
    pub followers: i64,
    pub replies: i64,
}

pub fn today(conn: &Connection, agent: UserId, since: jiff::Timestamp) -> DbResult<Today> {
    let since = ms(since);
    // Conversations an agent took today: accepted, routed to them, or transferred to them.
    let mut stmt = conn.prepare(
        "SELECT coalesce(e.to_agent_id, e.actor_id) AS who, count(DISTINCT e.conversation_id)
         FROM conversation_events e
         WHERE e.at >= ?1 AND e.step IN ('accept', 'route', 'transfer_in_group')
           AND coalesce(e.to_agent_id, e.actor_id) IS NOT NULL
         GROUP BY who ORDER BY 2 DESC",
    )?;
    let counts: Vec<(UserId, i64)> = stmt
        .query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let mine = counts
        .iter()
        .find(|(u, _)| *u == agent)
        .map_or(0, |(_, n)| *n);
    let rank = counts.iter().filter(|(_, n)| *n > mine).count() as i64 + 1;
    // Out of everyone who took one today, and this agent (who may not have).
    let agents = counts.len() as i64 + i64::from(!counts.iter().any(|(u, _)| *u == agent));
    let followers: i64 = conn.query_row(
        "SELECT count(DISTINCT follower_id) FROM messages
         WHERE sender_id = ?1 AND direction = 'out' AND created_at >= ?2",
        params![agent, since],
        |r| r.get(0),
    )?;
    let replies: i64 = conn.query_row(
        "SELECT count(*) FROM messages WHERE sender_id = ?1 AND direction = 'out' AND created_at >= ?2",
        params![agent, since],
        |r| r.get(0),
    )?;
    Ok(Today {
        conversations: mine,
        rank,
        agents,
        followers,
        replies,
    })
}

/// Internal notes about a follower, oldest first.
#[derive(Clone, Debug)]
pub struct Note {
    pub id: i64,
    pub conversation_id: ConversationId,
    pub author: String,
    pub body: String,
    pub at: jiff::Timestamp,
}

pub fn notes(conn: &Connection, follower: FollowerId) -> DbResult<Vec<Note>> {
    let mut stmt = conn.prepare(
        "SELECT n.id, n.conversation_id, coalesce(u.display_name, ''), n.body, n.created_at
         FROM notes n LEFT JOIN users u ON u.id = n.author_id
         WHERE n.follower_id = ?1 ORDER BY n.created_at, n.id",
    )?;
    let rows = stmt
        .query_map([follower], |r| {
            Ok(Note {
                id: r.get(0)?,
                conversation_id: r.get(1)?,
                author: r.get(2)?,
                body: super::shown(r.get(3)?),
                at: ts(r.get(4)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn note(conn: &Connection, id: i64) -> DbResult<Option<Note>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .row(
            "SELECT n.id, n.conversation_id, coalesce(u.display_name, ''), n.body, n.created_at
             FROM notes n LEFT JOIN users u ON u.id = n.author_id WHERE n.id = ?1",
            [id],
            |r| {
                Ok(Note {
                    id: r.get(0)?,
                    conversation_id: r.get(1)?,
                    author: r.get(2)?,
                    body: super::shown(r.get(3)?),
                    at: ts(r.get(4)?),
                })
            },
        )
        .optional()?)
}

/// A follower's messages within a date range, newest page first (D8).
pub fn history(
    conn: &Connection,
    follower: FollowerId,
    from: Option<jiff::Timestamp>,
    to: Option<jiff::Timestamp>,
    before: Option<i64>,
    limit: i64,
) -> DbResult<Vec<super::messages::Message>> {
    let ids: Vec<i64> = {
        let mut stmt = conn.prepare(
            "SELECT id FROM messages WHERE follower_id = ?1 AND kind <> 'event'
               AND (?2 IS NULL OR received_at >= ?2) AND (?3 IS NULL OR received_at < ?3)
               AND (?4 IS NULL OR id < ?4)
             ORDER BY id DESC LIMIT ?5",
        )?;
        stmt.query_map(
            params![follower, from.map(ms), to.map(ms), before, limit],
            |r| r.get(0),
        )?
        .collect::<Result<Vec<_>, _>>()?
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids.into_iter().rev() {
        if let Some(m) = super::messages::get(conn, crate::model::MessageId(id))? {
            out.push(m);
        }
    }
    Ok(out)
}

/// Where a message lives: its conversation (if any), that one's group, the follower.
pub type Place = (Option<ConversationId>, Option<GroupId>, FollowerId);

/// The conversation a message belongs to, and its group.
pub fn message_place(
    conn: &Connection,
    message: crate::model::MessageId,
) -> DbResult<Option<Place>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .row(
            "SELECT m.conversation_id, v.group_id, m.follower_id FROM messages m
             LEFT JOIN conversations v ON v.id = m.conversation_id WHERE m.id = ?1",
            [message],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?)
}

/// When the follower's previous message (events aside) before `message` came.
pub fn previous_message_at(
    conn: &Connection,
    follower: FollowerId,
    message: crate::model::MessageId,
) -> DbResult<Option<jiff::Timestamp>> {
    let at: Option<i64> = conn.query_row(
        "SELECT max(created_at) FROM messages WHERE follower_id = ?1 AND id < ?2 AND kind <> 'event'",
        params![follower, message],
        |r| r.get(0),
    )?;
    Ok(at.map(ts))
}

/// The conversation a transfer request is about.
pub fn transfer_conversation(conn: &Connection, transfer: i64) -> DbResult<Option<ConversationId>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row(
            "SELECT conversation_id FROM transfers WHERE id = ?1",
            [transfer],
            |r| r.get(0),
        )
        .optional()?)
}

/// One of a follower's conversations, as the history page lists it.
#[derive(Clone, Debug)]
pub struct ConversationSummary {
    pub id: ConversationId,
    pub opened_at: jiff::Timestamp,
    /// `None` when the stored state is unknown.
    pub state: Option<ConversationState>,
    pub agent: String,
    /// The consultation categories, joined with 、.
    pub categories: String,
}

/// The follower's latest `limit` conversations, newest first (D8).
pub fn conversations_of(
    conn: &Connection,
    follower: FollowerId,
    limit: i64,
) -> DbResult<Vec<ConversationSummary>> {
    let mut stmt = conn.prepare(
        "SELECT v.opened_at, v.state, coalesce(u.display_name, ''), v.id, coalesce(
            (SELECT group_concat(k.name, '、') FROM conversation_categories cc
             JOIN categories k ON k.id = cc.category_id WHERE cc.conversation_id = v.id), '')
         FROM conversations v LEFT JOIN users u ON u.id = v.agent_id
         WHERE v.follower_id = ?1 ORDER BY v.id DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![follower, limit], |r| {
            Ok(ConversationSummary {
                opened_at: ts(r.get(0)?),
                state: ConversationState::parse(&r.get::<_, String>(1)?),
                agent: r.get(2)?,
                id: r.get(3)?,
                categories: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
