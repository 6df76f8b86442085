//! The read side of 工作报表 (issue 10): the facts the reports are computed
//! from, loaded for a period and the groups in scope (which the caller got
//! from `access`). Counting and bucketing are `engine::reports`' job; these
//! functions only select rows. Reports run on reader connections, never on
//! the writer.

use super::DbResult;
use crate::engine::reports::{Conv, Ms, Msg, Step};
use crate::model::{AgentStatus, ConversationId, GroupId, UserId};
use rusqlite::{Connection, params};
use std::collections::HashMap;

fn json_ids(ids: impl IntoIterator<Item = i64>) -> String {
    serde_json::to_string(&ids.into_iter().collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
}

fn groups_json(scope: &[GroupId]) -> String {
    json_ids(scope.iter().map(|g| g.0))
}

/// The conversations a report looks at, as a condition on `conversations v`
/// with `?1` = from, `?2` = to, `?3` = the groups in scope as a JSON array:
/// open at some time in `[from, to)` and in a group in scope now or at any
/// step (a conversation transferred out of or into the scope counts).
const IN_PERIOD_AND_SCOPE: &str = "v.opened_at < ?2 AND (v.state <> 'ended' OR v.ended_at >= ?1)
    AND (v.group_id IN (SELECT value FROM json_each(?3))
         OR EXISTS (SELECT 1 FROM conversation_events e WHERE e.conversation_id = v.id
                    AND e.group_id IN (SELECT value FROM json_each(?3))))";

/// Conversations that were open at some time in `[from, to)` and touched a
/// group in scope, with their steps and answered survey.
pub fn conversations(c: &Connection, scope: &[GroupId], from: Ms, to: Ms) -> DbResult<Vec<Conv>> {
    let groups = groups_json(scope);
    let mut stmt = c.prepare(&format!(
        "SELECT v.id, v.follower_id, v.group_id, CASE WHEN v.state = 'ended' THEN v.ended_at END,
                    s.score, s.solved
             FROM conversations v
             LEFT JOIN surveys s ON s.conversation_id = v.id AND s.state = 'answered'
             WHERE {IN_PERIOD_AND_SCOPE}
             ORDER BY v.id"
    ))?;
    let mut convs = stmt
        .query_map(params![from, to, groups], |r| {
            let score: Option<i64> = r.get(4)?;
            let solved: Option<bool> = r.get(5)?;
            Ok(Conv {
                id: r.get(0)?,
                follower: r.get(1)?,
                group: r.get(2)?,
                ended_at: r.get(3)?,
                steps: Vec::new(),
                survey: score.map(|s| (s, solved)),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let ids = json_ids(convs.iter().map(|v| v.id.0));
    let mut stmt = c.prepare(
        "SELECT conversation_id, step, actor_id, to_agent_id, group_id, at FROM conversation_events
         WHERE conversation_id IN (SELECT value FROM json_each(?1))
         ORDER BY conversation_id, at, id",
    )?;
    let mut steps: HashMap<ConversationId, Vec<Step>> = HashMap::new();
    let rows = stmt.query_map([ids], |r| {
        Ok((
            r.get::<_, ConversationId>(0)?,
            Step {
                step: r.get(1)?,
                actor: r.get(2)?,
                to: r.get(3)?,
                group: r.get(4)?,
                at: r.get(5)?,
            },
        ))
    })?;
    for row in rows {
        let (id, s) = row?;
        steps.entry(id).or_default().push(s);
    }
    for v in &mut convs {
        v.steps = steps.remove(&v.id).unwrap_or_default();
    }
    Ok(convs)
}

/// Which messages a report replays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// The follower's and the agents' — for 工作量统计.
    All,
    /// The follower's only — for 分时统计.
    Inbound,
    /// The agents' only — 首次响应 in 服务水平 and 工作质量.
    Replies,
}

/// The messages that reports count, of the conversations [`conversations`]
/// returns for the same arguments, by conversation and oldest first (the
/// index's order: no sort): the follower's (not events) and what agents typed
/// or sent (not automatic replies, whose sender is empty, and not failed
/// sends). Internal notes are not messages. It selects the conversations
/// itself rather than taking their ids, so both can load at once on two
/// reader connections; every column comes from `messages_conversation`
/// (a covering index, migration 12), and the failed sends from a partial
/// index on the outbox.
pub fn messages(
    c: &Connection,
    scope: &[GroupId],
    from: Ms,
    to: Ms,
    wanted: Wanted,
) -> DbResult<Vec<Msg>> {
    const INBOUND: &str = "(m.direction = 'in' AND m.kind <> 'event')";
    const REPLIES: &str = "(m.direction = 'out' AND m.sender_id IS NOT NULL
        AND m.id NOT IN (SELECT message_id FROM outbox WHERE state = 'failed'))";
    let which = match wanted {
        Wanted::All => format!("({INBOUND} OR {REPLIES})"),
        Wanted::Inbound => INBOUND.to_string(),
        Wanted::Replies => REPLIES.to_string(),
    };
    // CROSS JOIN keeps conversations the outer loop: SQLite would otherwise
    // walk every message of the database through the index.
    let mut stmt = c.prepare(&format!(
        "SELECT m.conversation_id, m.follower_id, m.direction = 'in',
                CASE WHEN m.direction = 'in' THEN m.received_at ELSE m.created_at END, m.sender_id
         FROM conversations v CROSS JOIN messages m ON m.conversation_id = v.id
         WHERE {IN_PERIOD_AND_SCOPE} AND {which}
         ORDER BY v.id, m.id"
    ))?;
    let rows = stmt
        .query_map(params![from, to, groups_json(scope)], |r| {
            Ok(Msg {
                conv: r.get(0)?,
                follower: r.get(1)?,
                inbound: r.get(2)?,
                at: r.get(3)?,
                sender: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// (ended at, category) for each category of each conversation of a group in
/// scope that ended in `[from, to)`.
pub fn categorised(
    c: &Connection,
    scope: &[GroupId],
    from: Ms,
    to: Ms,
) -> DbResult<Vec<(Ms, i64)>> {
    let mut stmt = c.prepare(
        "SELECT v.ended_at, cc.category_id FROM conversations v
         JOIN conversation_categories cc ON cc.conversation_id = v.id
         WHERE v.state = 'ended' AND v.ended_at >= ?1 AND v.ended_at < ?2
           AND v.group_id IN (SELECT value FROM json_each(?3))",
    )?;
    let rows = stmt
        .query_map(params![from, to, groups_json(scope)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A person in a report: id, 客服昵称, 客服账号.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub id: UserId,
    pub name: String,
    pub username: String,
}

/// The members of the groups in scope, by id.
pub fn members(c: &Connection, scope: &[GroupId]) -> DbResult<Vec<Person>> {
    let mut stmt = c.prepare(
        "SELECT DISTINCT u.id, u.display_name, u.username FROM users u
         JOIN group_members m ON m.user_id = u.id
         WHERE m.group_id IN (SELECT value FROM json_each(?1))
         ORDER BY u.id",
    )?;
    let rows = stmt
        .query_map([groups_json(scope)], person)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// These users, by id (agents who did work in a group they have left).
pub fn people(c: &Connection, ids: &[UserId]) -> DbResult<Vec<Person>> {
    let mut stmt = c.prepare(
        "SELECT id, display_name, username FROM users
         WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id",
    )?;
    let rows = stmt
        .query_map([json_ids(ids.iter().map(|u| u.0))], person)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn person(r: &rusqlite::Row<'_>) -> rusqlite::Result<Person> {
    Ok(Person {
        id: r.get(0)?,
        name: r.get(1)?,
        username: r.get(2)?,
    })
}

/// The status changes of `users` in `[from, to)`, oldest first, and the
/// status each had just before `from` (when one was ever logged).
#[allow(clippy::type_complexity)]
pub fn status_log(
    c: &Connection,
    users: &[UserId],
    from: Ms,
    to: Ms,
) -> DbResult<(HashMap<UserId, AgentStatus>, Vec<(UserId, AgentStatus, Ms)>)> {
    let ids = json_ids(users.iter().map(|u| u.0));
    let mut stmt = c.prepare(
        "SELECT l.user_id, l.status FROM agent_status_log l
         WHERE l.user_id IN (SELECT value FROM json_each(?1))
           AND l.id = (SELECT x.id FROM agent_status_log x WHERE x.user_id = l.user_id AND x.at < ?2
                       ORDER BY x.at DESC, x.id DESC LIMIT 1)",
    )?;
    let before = stmt
        .query_map(params![ids, from], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<HashMap<_, _>, _>>()?;
    let mut stmt = c.prepare(
        "SELECT user_id, status, at FROM agent_status_log
         WHERE user_id IN (SELECT value FROM json_each(?1)) AND at >= ?2 AND at < ?3
         ORDER BY at, id",
    )?;
    let changes = stmt
        .query_map(params![ids, from, to], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((before, changes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{agents, groups::tests::seed_group, memory, users, users::tests::seed_user};
    use crate::model::Role;

    fn at(min: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(1_000_000_000_000 + min * 60_000).unwrap()
    }

    #[test]
    fn every_status_change_is_logged_and_read_back_around_a_period() {
        let c = memory().unwrap();
        let amy = seed_user(&c, "amy", Role::Agent);
        let g = seed_group(&c, "售后", "after");
        users::set_groups(&c, amy, &[g]).unwrap();
        agents::set_status(&c, amy, AgentStatus::Online, None, at(0)).unwrap();
        // The same status again (a new auto-accept limit) is no change.
        agents::set_status(&c, amy, AgentStatus::Online, Some(10), at(1)).unwrap();
        agents::set_status(&c, amy, AgentStatus::Busy, Some(10), at(5)).unwrap();
        agents::set_status(&c, amy, AgentStatus::Offline, Some(10), at(9)).unwrap();
        let ms = |m| at(m).as_millisecond();
        let (before, changes) = status_log(&c, &[amy], ms(3), ms(20)).unwrap();
        assert_eq!(before.get(&amy), Some(&AgentStatus::Online));
        assert_eq!(
            changes,
            vec![
                (amy, AgentStatus::Busy, ms(5)),
                (amy, AgentStatus::Offline, ms(9)),
            ]
        );
        let (before, _) = status_log(&c, &[amy], ms(0), ms(1)).unwrap();
        assert!(before.is_empty(), "nothing logged before the first change");
        assert_eq!(
            members(&c, &[g]).unwrap(),
            vec![Person {
                id: amy,
                name: "amy".into(),
                username: "amy".into()
            }]
        );
        assert!(members(&c, &[]).unwrap().is_empty());
    }

    /// 咨询消息数 and 回复消息数 read only what the definitions count: a
    /// follower's messages (not events), an agent's sends (not automatic
    /// replies, which have no sender, and not failed sends).
    #[test]
    fn messages_are_what_the_reports_count() {
        let c = memory().unwrap();
        let amy = seed_user(&c, "amy", Role::Agent);
        let g = seed_group(&c, "售后", "after");
        let acc = crate::db::accounts::tests::seed_account(&c, "wx1");
        c.execute(
            "INSERT INTO followers (account_id, openid, first_seen_at, last_seen_at) VALUES (?1, 'o1', 0, 0)",
            [acc],
        )
        .unwrap();
        let f = c.last_insert_rowid();
        c.execute(
            "INSERT INTO conversations (account_id, follower_id, group_id, state, opened_at, queued_at)
             VALUES (?1, ?2, ?3, 'queued', 100, 100)",
            params![acc, f, g],
        )
        .unwrap();
        let conv = ConversationId(c.last_insert_rowid());
        c.execute(
            "INSERT INTO conversation_events (conversation_id, at, step, group_id) VALUES (?1, 100, 'open', ?2)",
            params![conv, g],
        )
        .unwrap();
        let msg = |dir: &str, kind: &str, sender: Option<UserId>, at: i64| {
            c.execute(
                "INSERT INTO messages (account_id, follower_id, direction, kind, sender_id, created_at,
                                       received_at, conversation_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
                params![acc, f, dir, kind, sender, at, conv],
            )
            .unwrap();
            c.last_insert_rowid()
        };
        let outbox = |m: i64, state: &str| {
            c.execute(
                "INSERT INTO outbox (message_id, account_id, follower_id, kind, payload, state,
                                     next_attempt_at, created_at)
                 VALUES (?1, ?2, ?3, 'text', '{}', ?4, 0, 0)",
                params![m, acc, f, state],
            )
            .unwrap();
        };
        msg("in", "text", None, 100);
        msg("in", "event", None, 101);
        let sent = msg("out", "text", Some(amy), 102);
        outbox(sent, "sent");
        let failed = msg("out", "text", Some(amy), 103);
        outbox(failed, "failed");
        let pending = msg("out", "image", Some(amy), 104);
        outbox(pending, "pending");
        msg("out", "text", None, 105); // an automatic reply
        let got = |wanted| -> Vec<(bool, i64, Option<UserId>)> {
            messages(&c, &[g], 0, 1000, wanted)
                .unwrap()
                .into_iter()
                .map(|m| (m.inbound, m.at, m.sender))
                .collect()
        };
        let (inbound, replies) = (
            (true, 100, None),
            [(false, 102, Some(amy)), (false, 104, Some(amy))],
        );
        assert_eq!(got(Wanted::All), vec![inbound, replies[0], replies[1]]);
        assert_eq!(got(Wanted::Inbound), vec![inbound]);
        assert_eq!(got(Wanted::Replies), replies.to_vec());
        // Another group's scope, or a period before the conversation: nothing.
        assert!(
            messages(&c, &[GroupId(g.0 + 1)], 0, 1000, Wanted::All)
                .unwrap()
                .is_empty()
        );
        assert!(messages(&c, &[g], 0, 100, Wanted::All).unwrap().is_empty());
        // The conversation is found for its group and period, with its steps.
        let convs = conversations(&c, &[g], 0, 1000).unwrap();
        assert_eq!(convs.len(), 1);
        assert_eq!(convs[0].steps.len(), 1);
        assert!(
            conversations(&c, &[g], 0, 100).unwrap().is_empty(),
            "opened after"
        );
        assert!(
            conversations(&c, &[GroupId(99)], 0, 1000)
                .unwrap()
                .is_empty()
        );
    }
}
