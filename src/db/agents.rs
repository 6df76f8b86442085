//! Agents at the desk: their status and auto-accept limit (`agent_settings`,
//! B4/B9), and what routing reads about them — who could take a conversation
//! of a group, and whom a follower would want again.

use super::{DbResult, ms, ts};
use crate::db::Cached;
use crate::engine::routing::{Candidate, Wanted};
use crate::model::{AgentStatus, ConversationId, FollowerId, GroupId, UserId};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

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

/// Whom the follower would want: their owner, and the agent they last spoke with.
pub fn wanted(c: &Connection, follower: FollowerId) -> DbResult<Wanted> {
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

/// Remembers when routing last gave the agent a conversation (round robin).
pub fn assigned(c: &Connection, agent: UserId, now: Timestamp) -> DbResult<()> {
    c.exec(
        "INSERT INTO agent_settings (user_id, last_assigned_at) VALUES (?1, ?2)
         ON CONFLICT (user_id) DO UPDATE SET last_assigned_at = ?2",
        params![agent, ms(now)],
    )?;
    Ok(())
}

/// The agent's status and auto-accept limit (offline, none without a row).
pub fn status(c: &Connection, user: UserId) -> DbResult<(AgentStatus, Option<u32>)> {
    Ok(c.row(
        "SELECT status, auto_accept FROM agent_settings WHERE user_id = ?1",
        [user],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .unwrap_or((AgentStatus::Offline, None)))
}

pub fn set_status(
    c: &Connection,
    user: UserId,
    status: AgentStatus,
    auto_accept: Option<u32>,
    now: Timestamp,
) -> DbResult<()> {
    // The reports draw statuses along the day: a change is logged with its
    // time, in the same transaction as the status itself.
    let (before, _) = self::status(c, user)?;
    if before != status {
        c.exec(
            "INSERT INTO agent_status_log (user_id, status, at) VALUES (?1, ?2, ?3)",
            params![user, status, ms(now)],
        )?;
    }
    c.exec(
        "INSERT INTO agent_settings (user_id, status, auto_accept, status_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id) DO UPDATE SET status = ?2, auto_accept = ?3, status_at = ?4",
        params![user, status, auto_accept, ms(now)],
    )?;
    Ok(())
}

/// Conversations held by agents who are offline: (conversation, group, agent,
/// offline since).
pub fn held_while_offline(
    c: &Connection,
) -> DbResult<Vec<(ConversationId, GroupId, UserId, Timestamp)>> {
    let mut stmt = c.prepare_cached(
        "SELECT v.id, v.group_id, v.agent_id, s.status_at FROM conversations v
         JOIN agent_settings s ON s.user_id = v.agent_id
         WHERE v.state = 'active' AND s.status = 'offline'",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, ts(r.get::<_, i64>(3)?)))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
