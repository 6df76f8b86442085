//! What a PDF transcript (F6) reads: a conversation's or a follower's messages,
//! internal notes and conversation steps, with the names they need, oldest
//! first. Read-only; who may read it is decided in `access` before these run.

use super::messages::{COLUMNS, Message, from_row};
use super::{DbResult, ms, ts};
use crate::model::{ConversationId, FollowerId};
use rusqlite::{Connection, params};

/// An internal note, with its author's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteLine {
    pub at: jiff::Timestamp,
    pub author: String,
    pub body: String,
}

/// A step of a conversation (open, accept, transfer, end…), with the names of
/// the agents involved and, for an end, its remark and categories.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepLine {
    pub at: jiff::Timestamp,
    pub conversation: ConversationId,
    pub step: String,
    pub actor: String,
    pub to: String,
    pub note: String,
    /// The group the step happened in.
    pub group: String,
    /// For `transfer_to_group`: the group whose queue the conversation joined
    /// (the group of the next step, or the conversation's group now; the same
    /// group when an offline agent's conversation went back to the queue).
    pub to_group: String,
    /// The conversation's end remark (only filled on end steps).
    pub end_remark: String,
    /// The conversation's categories as tree paths (`售后/退货`), on end steps.
    pub categories: Vec<String>,
}

/// A conversation's messages (events excluded), oldest first.
pub fn conversation_messages(c: &Connection, id: ConversationId) -> DbResult<Vec<Message>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages m LEFT JOIN outbox o ON o.message_id = m.id
         WHERE m.conversation_id = ?1 AND m.kind <> 'event' ORDER BY m.created_at, m.id"
    ))?;
    let rows = stmt.query_map([id], from_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// A follower's messages (events excluded) in `[from, to)`, oldest first.
pub fn follower_messages(
    c: &Connection,
    follower: FollowerId,
    from: Option<jiff::Timestamp>,
    to: Option<jiff::Timestamp>,
) -> DbResult<Vec<Message>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages m LEFT JOIN outbox o ON o.message_id = m.id
         WHERE m.follower_id = ?1 AND m.kind <> 'event'
           AND (?2 IS NULL OR m.created_at >= ?2) AND (?3 IS NULL OR m.created_at < ?3)
         ORDER BY m.created_at, m.id"
    ))?;
    let rows = stmt
        .query_map(params![follower, from.map(ms), to.map(ms)], from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

fn note_lines(
    c: &Connection,
    sql_filter: &str,
    p: impl rusqlite::Params,
) -> DbResult<Vec<NoteLine>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT n.created_at, coalesce(u.display_name, ''), n.body
         FROM notes n LEFT JOIN users u ON u.id = n.author_id
         WHERE {sql_filter} ORDER BY n.created_at, n.id"
    ))?;
    let rows = stmt
        .query_map(p, |r| {
            Ok(NoteLine {
                at: ts(r.get(0)?),
                author: r.get(1)?,
                body: super::shown(r.get(2)?),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// A conversation's internal notes, oldest first.
pub fn conversation_notes(c: &Connection, id: ConversationId) -> DbResult<Vec<NoteLine>> {
    note_lines(c, "n.conversation_id = ?1", [id])
}

/// A follower's internal notes in `[from, to)`, oldest first.
pub fn follower_notes(
    c: &Connection,
    follower: FollowerId,
    from: Option<jiff::Timestamp>,
    to: Option<jiff::Timestamp>,
) -> DbResult<Vec<NoteLine>> {
    note_lines(
        c,
        "n.follower_id = ?1 AND (?2 IS NULL OR n.created_at >= ?2)
           AND (?3 IS NULL OR n.created_at < ?3)",
        params![follower, from.map(ms), to.map(ms)],
    )
}

fn step_lines(
    c: &Connection,
    sql_filter: &str,
    p: impl rusqlite::Params,
) -> DbResult<Vec<StepLine>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT e.at, e.conversation_id, e.step, coalesce(a.display_name, ''),
                coalesce(t.display_name, ''), e.note, v.end_remark,
                coalesce(g.name, ''), coalesce(tg.name, '')
         FROM conversation_events e
         JOIN conversations v ON v.id = e.conversation_id
         LEFT JOIN users a ON a.id = e.actor_id
         LEFT JOIN users t ON t.id = e.to_agent_id
         LEFT JOIN groups g ON g.id = e.group_id
         LEFT JOIN groups tg ON e.step = 'transfer_to_group' AND tg.id = coalesce(
             (SELECT n.group_id FROM conversation_events n
              WHERE n.conversation_id = e.conversation_id
                AND (n.at > e.at OR (n.at = e.at AND n.id > e.id))
              ORDER BY n.at, n.id LIMIT 1),
             v.group_id)
         WHERE {sql_filter} ORDER BY e.at, e.id"
    ))?;
    let mut rows: Vec<StepLine> = stmt
        .query_map(p, |r| {
            Ok(StepLine {
                at: ts(r.get(0)?),
                conversation: r.get(1)?,
                step: r.get(2)?,
                actor: r.get(3)?,
                to: r.get(4)?,
                note: super::shown(r.get(5)?),
                end_remark: r.get(6)?,
                group: r.get(7)?,
                to_group: r.get(8)?,
                categories: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    for row in &mut rows {
        if row.step.starts_with("end_") {
            row.categories = category_paths(c, row.conversation)?;
        } else {
            row.end_remark.clear();
        }
    }
    Ok(rows)
}

/// A conversation's steps, oldest first.
pub fn conversation_steps(c: &Connection, id: ConversationId) -> DbResult<Vec<StepLine>> {
    step_lines(c, "e.conversation_id = ?1", [id])
}

/// The steps of a follower's conversations in `[from, to)`, oldest first.
pub fn follower_steps(
    c: &Connection,
    follower: FollowerId,
    from: Option<jiff::Timestamp>,
    to: Option<jiff::Timestamp>,
) -> DbResult<Vec<StepLine>> {
    step_lines(
        c,
        "v.follower_id = ?1 AND (?2 IS NULL OR e.at >= ?2) AND (?3 IS NULL OR e.at < ?3)",
        params![follower, from.map(ms), to.map(ms)],
    )
}

/// A conversation's categories as paths from the root (`售后/退货`).
pub fn category_paths(c: &Connection, id: ConversationId) -> DbResult<Vec<String>> {
    let mut stmt = c.prepare_cached(
        "WITH RECURSIVE up(leaf, id, parent_id, path) AS (
             SELECT k.id, k.id, k.parent_id, k.name FROM categories k
             JOIN conversation_categories cc ON cc.category_id = k.id
             WHERE cc.conversation_id = ?1
             UNION ALL
             SELECT up.leaf, p.id, p.parent_id, p.name || '/' || up.path
             FROM up JOIN categories p ON p.id = up.parent_id)
         SELECT path FROM up WHERE parent_id IS NULL ORDER BY path",
    )?;
    let rows = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The display names of the agents who held or answered in a conversation.
pub fn conversation_agents(c: &Connection, id: ConversationId) -> DbResult<Vec<String>> {
    agents(c, "v.id = ?1", params![id])
}

/// The display names of the agents of a follower's conversations that were
/// open at some time in `[from, to)`.
pub fn follower_agents(
    c: &Connection,
    follower: FollowerId,
    from: Option<jiff::Timestamp>,
    to: Option<jiff::Timestamp>,
) -> DbResult<Vec<String>> {
    agents(
        c,
        "v.follower_id = ?1 AND (?3 IS NULL OR v.opened_at < ?3)
           AND (?2 IS NULL OR coalesce(v.ended_at, ?2) >= ?2)",
        params![follower, from.map(ms), to.map(ms)],
    )
}

fn agents(c: &Connection, sql_filter: &str, p: impl rusqlite::Params) -> DbResult<Vec<String>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT u.display_name FROM users u WHERE u.id IN (
             SELECT v.agent_id FROM conversations v WHERE {sql_filter}
             UNION SELECT e.actor_id FROM conversation_events e
                   JOIN conversations v ON v.id = e.conversation_id WHERE {sql_filter}
             UNION SELECT e.to_agent_id FROM conversation_events e
                   JOIN conversations v ON v.id = e.conversation_id WHERE {sql_filter})
         ORDER BY u.display_name"
    ))?;
    let rows = stmt.query_map(p, |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The first and last moment of a conversation (its end, if ended).
pub fn conversation_period(
    c: &Connection,
    id: ConversationId,
) -> DbResult<(jiff::Timestamp, Option<jiff::Timestamp>)> {
    Ok(c.query_row(
        "SELECT opened_at, ended_at FROM conversations WHERE id = ?1",
        [id],
        |r| Ok((ts(r.get(0)?), r.get::<_, Option<i64>>(1)?.map(ts))),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_paths_walk_up_to_the_root() {
        let c = Connection::open_in_memory().expect("db");
        c.execute_batch(
            "CREATE TABLE categories (id INTEGER PRIMARY KEY, parent_id INTEGER, name TEXT);
             CREATE TABLE conversation_categories (conversation_id INTEGER, category_id INTEGER);
             INSERT INTO categories VALUES (1, NULL, '售后'), (2, 1, '退货'), (3, NULL, '咨询');
             INSERT INTO conversation_categories VALUES (7, 2), (7, 3);",
        )
        .expect("seed");
        assert_eq!(
            category_paths(&c, ConversationId(7)).expect("paths"),
            ["咨询", "售后/退货"]
        );
    }
}
