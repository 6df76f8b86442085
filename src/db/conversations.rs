//! Conversations (B1): rows and their event history. Every change goes through
//! [`step`], which asks `engine::lifecycle` whether it is allowed and records
//! who did it and when, in the same transaction. Groundwork for issue 4.

use super::{DbResult, ms, ts};
use crate::db::Cached;
use crate::engine::lifecycle::{self, Status, Step};
use crate::model::{AccountId, ConversationId, ConversationState, FollowerId, GroupId, UserId};
use rusqlite::{Connection, OptionalExtension, Row, params};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    pub account_id: AccountId,
    pub follower_id: FollowerId,
    pub group_id: GroupId,
    pub state: ConversationState,
    pub agent_id: Option<UserId>,
    pub vip: bool,
    pub opened_at: jiff::Timestamp,
    pub queued_at: Option<jiff::Timestamp>,
}

const COLUMNS: &str =
    "id, account_id, follower_id, group_id, state, agent_id, vip, opened_at, queued_at";
/// How many columns [`COLUMNS`] has (a query's extra column comes after them).
const COLUMN_COUNT: usize = 9;

fn from_row(r: &Row<'_>) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: r.get(0)?,
        account_id: r.get(1)?,
        follower_id: r.get(2)?,
        group_id: r.get(3)?,
        state: r.get(4)?,
        agent_id: r.get(5)?,
        vip: r.get(6)?,
        opened_at: ts(r.get(7)?),
        queued_at: r.get::<_, Option<i64>>(8)?.map(ts),
    })
}

pub fn get(conn: &Connection, id: ConversationId) -> DbResult<Option<Conversation>> {
    Ok(conn
        .row(
            &format!("SELECT {COLUMNS} FROM conversations WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// The follower's open (queued or active) conversation, if any.
pub fn open_of(conn: &Connection, follower: FollowerId) -> DbResult<Option<Conversation>> {
    Ok(conn
        .row(
            &format!(
                "SELECT {COLUMNS} FROM conversations WHERE follower_id = ?1 AND state <> 'ended'"
            ),
            [follower],
            from_row,
        )
        .optional()?)
}

/// The group of the follower's open conversation, else of their last one.
pub fn current_group(conn: &Connection, follower: FollowerId) -> DbResult<Option<GroupId>> {
    Ok(conn
        .row(
            "SELECT group_id FROM conversations WHERE follower_id = ?1
             ORDER BY state <> 'ended' DESC, id DESC LIMIT 1",
            [follower],
            |r| r.get(0),
        )
        .optional()?)
}

/// Opens a conversation in the queue; refused while the follower has one open.
pub fn open(
    conn: &Connection,
    account: AccountId,
    follower: FollowerId,
    group: GroupId,
    now: jiff::Timestamp,
) -> DbResult<Result<ConversationId, &'static str>> {
    let current = open_of(conn, follower)?.map(|c| Status {
        state: c.state,
        holder: c.agent_id,
    });
    if let Err(why) = lifecycle::next(current, Step::Open) {
        return Ok(Err(why));
    }
    conn.exec(
        "INSERT INTO conversations (account_id, follower_id, group_id, state, opened_at, queued_at)
         VALUES (?1, ?2, ?3, 'queued', ?4, ?4)",
        params![account, follower, group, ms(now)],
    )?;
    let id = ConversationId(conn.last_insert_rowid());
    record(conn, id, Step::Open, "", now)?;
    Ok(Ok(id))
}

fn step_name(step: &Step) -> &'static str {
    match step {
        Step::Open => "open",
        Step::Accept { .. } => "accept",
        Step::Route { .. } => "route",
        Step::TransferInGroup { .. } => "transfer_in_group",
        Step::TransferToGroup { .. } => "transfer_to_group",
        Step::EndByAgent { .. } => "end_by_agent",
        Step::EndByTimeout => "end_by_timeout",
        Step::Abandon => "abandon",
        Step::Expire => "expire",
        Step::Remove { .. } => "remove",
    }
}

fn record(
    conn: &Connection,
    id: ConversationId,
    step: Step,
    note: &str,
    now: jiff::Timestamp,
) -> DbResult<()> {
    let (actor, to) = match step {
        Step::Accept { by } | Step::EndByAgent { by } | Step::Remove { by } => (Some(by), None),
        Step::Route { to } => (None, Some(to)),
        Step::TransferInGroup { from, to } => (Some(from), Some(to)),
        Step::TransferToGroup { from } => (Some(from), None),
        Step::Open | Step::EndByTimeout | Step::Abandon | Step::Expire => (None, None),
    };
    conn.exec(
        "INSERT INTO conversation_events (conversation_id, at, step, actor_id, to_agent_id, note, group_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT group_id FROM conversations WHERE id = ?1))",
        params![id, ms(now), step_name(&step), actor, to, note],
    )?;
    Ok(())
}

/// Applies a step if the life cycle allows it; returns the new status or why not.
pub fn step(
    conn: &Connection,
    id: ConversationId,
    step: Step,
    note: &str,
    now: jiff::Timestamp,
) -> DbResult<Result<Status, &'static str>> {
    let current = get(conn, id)?.map(|c| Status {
        state: c.state,
        holder: c.agent_id,
    });
    let next = match lifecycle::next(current, step) {
        Ok(n) => n,
        Err(why) => return Ok(Err(why)),
    };
    let t = ms(now);
    conn.exec(
        "UPDATE conversations SET state = ?2, agent_id = ?3,
                accepted_at = CASE WHEN ?2 = 'active' AND state = 'queued' THEN ?4 ELSE accepted_at END,
                queued_at = CASE WHEN ?2 = 'queued' THEN ?4 ELSE queued_at END,
                ended_at = CASE WHEN ?2 = 'ended' THEN ?4 ELSE ended_at END
         WHERE id = ?1",
        params![id, next.state, next.holder, t],
    )?;
    record(conn, id, step, note, now)?;
    Ok(Ok(next))
}

/// A group's queue: VIP followers first, then by arrival (B3, B5).
pub fn queue(conn: &Connection, group: GroupId) -> DbResult<Vec<Conversation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM conversations WHERE state = 'queued' AND group_id = ?1
         ORDER BY vip DESC, queued_at, id"
    ))?;
    let rows = stmt
        .query_map([group], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The first of a group's queue, if any (an indexed read, whatever the length).
pub fn queue_head(conn: &Connection, group: GroupId) -> DbResult<Option<Conversation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM conversations WHERE state = 'queued' AND group_id = ?1
         ORDER BY vip DESC, queued_at, id LIMIT 1"
    ))?;
    let mut rows = stmt.query_map([group], from_row)?;
    Ok(rows.next().transpose()?)
}

/// How many queued conversations of the group come before `conv` (a count
/// over the queue-order index, no rows loaded).
pub fn ahead_of(conn: &Connection, conv: &Conversation) -> DbResult<i64> {
    let queued_at = conv.queued_at.map(ms).unwrap_or(i64::MAX);
    Ok(conn.row(
        "SELECT count(*) FROM conversations
         WHERE group_id = ?1 AND state = 'queued'
           AND (vip > ?2 OR (vip = ?2 AND (queued_at < ?3 OR (queued_at = ?3 AND id < ?4))))",
        params![conv.group_id, conv.vip, queued_at, conv.id],
        |r| r.get(0),
    )?)
}

/// Queued conversations among the first `within` of the group's queue that
/// moved up since their last notice and may hear of it by time and count
/// (`engine::queue::update_due` has the last word), nearest the head first,
/// at most `limit`: (conversation, ahead). Reads at most `within` index
/// entries, however long the queue.
pub fn moved_up(
    conn: &Connection,
    group: GroupId,
    noticed_before: jiff::Timestamp,
    max_notices: i64,
    limit: usize,
    within: usize,
) -> DbResult<Vec<(Conversation, i64)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, ahead FROM (
             SELECT *, row_number() OVER (ORDER BY vip DESC, queued_at, id) - 1 AS ahead
             FROM (SELECT * FROM conversations WHERE group_id = ?1 AND state = 'queued'
                   ORDER BY vip DESC, queued_at, id LIMIT ?5))
         WHERE notice_position IS NOT NULL AND ahead < notice_position
           AND notices < ?3 AND (notice_at IS NULL OR notice_at <= ?2)
         ORDER BY ahead LIMIT ?4"
    ))?;
    let rows = stmt
        .query_map(
            params![
                group,
                ms(noticed_before),
                max_notices,
                limit as i64,
                within as i64
            ],
            |r| Ok((from_row(r)?, r.get::<_, i64>(COLUMN_COUNT)?)),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// One recorded step of a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    pub step: String,
    pub actor: Option<UserId>,
    pub to: Option<UserId>,
    pub note: String,
    pub at: jiff::Timestamp,
}

/// The steps of a conversation, oldest first.
pub fn events(conn: &Connection, id: ConversationId) -> DbResult<Vec<EventRow>> {
    let mut stmt = conn.prepare(
        "SELECT step, actor_id, to_agent_id, note, at FROM conversation_events
         WHERE conversation_id = ?1 ORDER BY at, id",
    )?;
    let rows = stmt
        .query_map([id], |r| {
            Ok(EventRow {
                step: r.get(0)?,
                actor: r.get(1)?,
                to: r.get(2)?,
                note: r.get(3)?,
                at: ts(r.get(4)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The follower a conversation is with.
pub fn follower_of(conn: &Connection, id: ConversationId) -> DbResult<FollowerId> {
    Ok(conn.row(
        "SELECT follower_id FROM conversations WHERE id = ?1",
        [id],
        |r| r.get(0),
    )?)
}

/// Copies the follower's VIP flag onto their new conversation (queue order).
pub fn copy_vip(conn: &Connection, id: ConversationId, follower: FollowerId) -> DbResult<()> {
    conn.exec(
        "UPDATE conversations SET vip = (SELECT vip FROM followers WHERE id = ?2) WHERE id = ?1",
        params![id, follower],
    )?;
    Ok(())
}

/// The agent has read the conversation up to `now`.
pub fn mark_read(conn: &Connection, id: ConversationId, now: jiff::Timestamp) -> DbResult<()> {
    conn.exec(
        "UPDATE conversations SET read_at = ?2 WHERE id = ?1",
        params![id, ms(now)],
    )?;
    Ok(())
}

/// Moves the conversation to another group's queue, its notices forgotten.
pub fn move_to_group(conn: &Connection, id: ConversationId, group: GroupId) -> DbResult<()> {
    conn.exec(
        "UPDATE conversations SET group_id = ?2, notice_at = NULL, notice_position = NULL,
                notices = 0 WHERE id = ?1",
        params![id, group],
    )?;
    Ok(())
}

/// Files the ended conversation under these categories (咨询分类).
pub fn add_categories(conn: &Connection, id: ConversationId, categories: &[i64]) -> DbResult<()> {
    for cat in categories {
        conn.exec(
            "INSERT OR IGNORE INTO conversation_categories (conversation_id, category_id) VALUES (?1, ?2)",
            params![id, cat],
        )?;
    }
    Ok(())
}

pub fn set_end_remark(conn: &Connection, id: ConversationId, remark: &str) -> DbResult<()> {
    conn.exec(
        "UPDATE conversations SET end_remark = ?2 WHERE id = ?1",
        params![id, remark],
    )?;
    Ok(())
}

/// Rewrites the `open` step of a conversation an agent opened from history.
pub fn opened_by_agent(
    conn: &Connection,
    id: ConversationId,
    agent: UserId,
    note: &str,
) -> DbResult<()> {
    conn.exec(
        "UPDATE conversation_events SET actor_id = ?2, note = ?3
         WHERE conversation_id = ?1 AND step = 'open'",
        params![id, agent, note],
    )?;
    Ok(())
}

/// Every queued conversation: (id, group, queued at).
pub fn all_queued(conn: &Connection) -> DbResult<Vec<(ConversationId, GroupId, jiff::Timestamp)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, group_id, queued_at FROM conversations WHERE state = 'queued'",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, ts(r.get::<_, i64>(2)?))))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Every conversation in session: (id, group, agent, accepted at or opened at).
pub fn all_active(conn: &Connection) -> DbResult<Vec<(ConversationId, GroupId, UserId, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, group_id, agent_id, coalesce(accepted_at, opened_at) FROM conversations
         WHERE state = 'active' AND agent_id IS NOT NULL",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{accounts::tests::seed_account, followers, memory, users::tests::seed_user};
    use crate::model::Role;
    use jiff::{SignedDuration, Timestamp};

    /// The group seeded accounts serve.
    fn g0(conn: &Connection) -> GroupId {
        crate::db::groups::default_group(conn, Timestamp::UNIX_EPOCH).unwrap()
    }

    #[test]
    fn a_conversation_lives_queued_active_ended_with_its_history() {
        let conn = memory().unwrap();
        let acc = seed_account(&conn, "wx1");
        let t0: Timestamp = "2026-05-01T08:00:00Z".parse().unwrap();
        let f = followers::upsert(&conn, acc, "oA", t0).unwrap();
        let a = seed_user(&conn, "amy", Role::Agent);
        let b = seed_user(&conn, "bob", Role::Agent);

        let id = open(&conn, acc, f, g0(&conn), t0).unwrap().unwrap();
        assert_eq!(
            open(&conn, acc, f, g0(&conn), t0).unwrap(),
            Err("conv-open-twice"),
            "one open per follower"
        );
        assert_eq!(queue(&conn, g0(&conn)).unwrap().len(), 1);

        let at = |m| t0 + SignedDuration::from_mins(m);
        step(&conn, id, Step::Accept { by: a }, "", at(1))
            .unwrap()
            .unwrap();
        assert_eq!(
            step(&conn, id, Step::Accept { by: b }, "", at(2)).unwrap(),
            Err("conv-taken")
        );
        assert_eq!(
            step(&conn, id, Step::EndByAgent { by: b }, "", at(2)).unwrap(),
            Err("conv-end-not-holder")
        );
        step(
            &conn,
            id,
            Step::TransferInGroup { from: a, to: b },
            "请帮忙处理退款",
            at(3),
        )
        .unwrap()
        .unwrap();
        step(&conn, id, Step::EndByAgent { by: b }, "", at(4))
            .unwrap()
            .unwrap();
        let c = get(&conn, id).unwrap().unwrap();
        assert_eq!((c.state, c.agent_id), (ConversationState::Ended, Some(b)));
        let steps: Vec<String> = events(&conn, id)
            .unwrap()
            .into_iter()
            .map(|e| e.step)
            .collect();
        assert_eq!(
            steps,
            ["open", "accept", "transfer_in_group", "end_by_agent"]
        );
        assert!(queue(&conn, g0(&conn)).unwrap().is_empty());
        // Ended: the follower may open a new one.
        assert!(open(&conn, acc, f, g0(&conn), at(5)).unwrap().is_ok());
    }

    #[test]
    fn vip_followers_come_first_in_the_queue() {
        let conn = memory().unwrap();
        let acc = seed_account(&conn, "wx1");
        let t0: Timestamp = "2026-05-01T08:00:00Z".parse().unwrap();
        let mut ids = vec![];
        for (i, openid) in ["o1", "o2", "o3"].iter().enumerate() {
            let f = followers::upsert(&conn, acc, openid, t0).unwrap();
            ids.push(
                open(
                    &conn,
                    acc,
                    f,
                    g0(&conn),
                    t0 + SignedDuration::from_mins(i as i64),
                )
                .unwrap()
                .unwrap(),
            );
        }
        conn.exec("UPDATE conversations SET vip = 1 WHERE id = ?1", [ids[2]])
            .unwrap();
        let order: Vec<ConversationId> = queue(&conn, g0(&conn))
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(order, vec![ids[2], ids[0], ids[1]]);
    }

    #[test]
    fn the_head_and_each_place_agree_with_the_queue_order() {
        let conn = memory().unwrap();
        let acc = seed_account(&conn, "wx1");
        let t0: Timestamp = "2026-05-01T08:00:00Z".parse().unwrap();
        let mut ids = vec![];
        for i in 0..12i64 {
            let f = followers::upsert(&conn, acc, &format!("o{i}"), t0).unwrap();
            // Two arrive in the same millisecond: the id decides.
            let at = t0 + SignedDuration::from_secs(i / 2);
            ids.push(open(&conn, acc, f, g0(&conn), at).unwrap().unwrap());
        }
        for vip in [ids[5], ids[9]] {
            conn.exec("UPDATE conversations SET vip = 1 WHERE id = ?1", [vip])
                .unwrap();
        }
        let order = queue(&conn, g0(&conn)).unwrap();
        assert_eq!(order[0].id, ids[5]);
        assert_eq!(order[1].id, ids[9]);
        assert_eq!(
            queue_head(&conn, g0(&conn)).unwrap().map(|c| c.id),
            Some(ids[5])
        );
        for (place, conv) in order.iter().enumerate() {
            assert_eq!(ahead_of(&conn, conv).unwrap(), place as i64, "{conv:?}");
        }
        // Moved-up notices: told 11 ahead at entry, now 6 ahead and long ago.
        let last = order.last().unwrap().id;
        conn.exec(
            "UPDATE conversations SET notice_position = 20, notice_at = ?2, notices = 1 WHERE id = ?1",
            params![last, ms(t0)],
        )
        .unwrap();
        let later = t0 + SignedDuration::from_mins(10);
        let due = moved_up(&conn, g0(&conn), later, 3, 10, 500).unwrap();
        // Beyond the first `within` of the queue nobody is loaded.
        assert!(
            moved_up(&conn, g0(&conn), later, 3, 10, 11)
                .unwrap()
                .is_empty()
        );
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].0.id, due[0].1), (last, 11));
        // Told too recently, or three times already: not loaded.
        assert!(
            moved_up(
                &conn,
                g0(&conn),
                t0 - SignedDuration::from_mins(1),
                3,
                10,
                500
            )
            .unwrap()
            .is_empty()
        );
        assert!(
            moved_up(&conn, g0(&conn), later, 1, 10, 500)
                .unwrap()
                .is_empty()
        );
        assert!(queue_head(&conn, GroupId(999)).unwrap().is_none());
    }
}
