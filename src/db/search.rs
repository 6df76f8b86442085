//! 消息管理 and 已接待 (issue 12): the full-text index of messages and the
//! two searches over it. Terms come from `engine::search` (CJK unigrams and
//! bigrams, Latin and digit runs with their suffixes); `message_terms` is a
//! contentless FTS5 table without positions, one row per message (rowid =
//! message id).
//!
//! The index is filled off the push's transaction: a background job
//! (`db::search_index`) reads the messages after `search_cursor`, makes their
//! terms on a reader, and writes them with the moved cursor in one write job
//! ([`pending`], [`apply`]). A search asks FTS5 for the candidates up to the
//! cursor newest first, and scans the few messages after it (the tail) with
//! the same terms, so a message is found the moment it is stored. Either way
//! it keeps those whose text contains every word as typed, in the groups the
//! caller's `Reach` covers.

use super::{DbResult, ts};
use crate::access::Reach;
use crate::db::Cached;
use crate::engine::search::{Query, index_terms};
use crate::model::{ConversationId, FollowerId, GroupId, MessageId, MessageKind, UserId};
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

// ---- the cursor and the catch-up ----------------------------------------------

/// The newest message id the index covers: every message up to it is
/// indexed (or has no terms), none after it.
pub fn cursor(conn: &Connection) -> DbResult<i64> {
    Ok(conn.row(
        "SELECT message_id FROM search_cursor WHERE id = 1",
        [],
        |r| r.get(0),
    )?)
}

/// How many messages the index has still to cover (for the bench and tests).
pub fn unindexed(conn: &Connection) -> DbResult<i64> {
    Ok(conn.row(
        "SELECT count(*) FROM messages WHERE id > (SELECT message_id FROM search_cursor WHERE id = 1)",
        [],
        |r| r.get(0),
    )?)
}

/// The next messages to index: those after `after` up to `upto`, with their
/// terms (events and messages without terms give no row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub after: i64,
    pub upto: i64,
    pub rows: Vec<(i64, String)>,
    /// Messages read (`rows` plus those without terms).
    pub read: usize,
}

/// Reads up to `limit` messages after the cursor and makes their terms: the
/// costly half of indexing, which runs on a reader, not in the writer.
/// `None` when there is nothing to do.
pub fn pending(conn: &Connection, limit: i64) -> DbResult<Option<Pending>> {
    let after = cursor(conn)?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, content FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let read = stmt
        .query_map(params![after, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, MessageKind>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let Some(&(upto, _, _)) = read.last() else {
        // Message ids only grow (kefu deletes no messages); should the
        // newest ever go, the cursor follows them down so their ids, when
        // used again, are indexed.
        let newest: i64 = conn.row("SELECT coalesce(max(id), 0) FROM messages", [], |r| {
            r.get(0)
        })?;
        return Ok((newest < after).then_some(Pending {
            after,
            upto: newest,
            rows: Vec::new(),
            read: 0,
        }));
    };
    let rows = read
        .iter()
        .filter(|(_, kind, _)| *kind != MessageKind::Event)
        .map(|(id, _, content)| (*id, index_terms(content)))
        .filter(|(_, terms)| !terms.is_empty())
        .collect();
    Ok(Some(Pending {
        after,
        upto,
        rows,
        read: read.len(),
    }))
}

/// Writes what [`pending`] read and moves the cursor, in the caller's
/// transaction; `false` (nothing written) when the cursor moved meanwhile
/// (another catch-up or a reindex got there first).
pub fn apply(conn: &Connection, p: &Pending) -> DbResult<bool> {
    if cursor(conn)? != p.after {
        return Ok(false);
    }
    let mut insert =
        conn.prepare_cached("INSERT INTO message_terms (rowid, terms) VALUES (?1, ?2)")?;
    for (id, terms) in &p.rows {
        insert.execute(params![id, terms])?;
    }
    conn.exec(
        "UPDATE search_cursor SET message_id = ?1 WHERE id = 1",
        [p.upto],
    )?;
    Ok(true)
}

/// Indexes every message after the cursor in the caller's transaction (the
/// fixture after each chunk, tests). Returns how many messages it read.
pub fn catch_up(conn: &Connection) -> DbResult<usize> {
    let mut done = 0;
    while let Some(p) = pending(conn, 10_000)? {
        apply(conn, &p)?;
        done += p.read;
    }
    Ok(done)
}

/// How many messages are indexed per step of the backfill (one log line each).
const BACKFILL_STEP: i64 = 100_000;

/// Indexes every stored message but events, in the caller's transaction
/// ([`reindex`]; migration 13 did this until migration 18 made the background
/// job rebuild the index after any upgrade). Returns how many
/// were read (those without terms are read but give no row).
pub fn backfill(conn: &Connection) -> DbResult<i64> {
    let total: i64 = conn.query_row(
        "SELECT count(*) FROM messages WHERE content <> '' AND kind <> 'event'",
        [],
        |r| r.get(0),
    )?;
    tracing::info!(total, "indexing messages for the 消息管理 search");
    let started = std::time::Instant::now();
    let mut done = 0i64;
    let mut last = 0i64;
    let mut insert = conn.prepare("INSERT INTO message_terms (rowid, terms) VALUES (?1, ?2)")?;
    loop {
        let mut stmt = conn.prepare_cached(
            "SELECT id, content FROM messages WHERE id > ?1 AND content <> '' AND kind <> 'event'
             ORDER BY id LIMIT ?2",
        )?;
        let batch = stmt
            .query_map(params![last, BACKFILL_STEP], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let Some((end, _)) = batch.last() else { break };
        last = *end;
        for (id, content) in &batch {
            let terms = index_terms(content);
            if !terms.is_empty() {
                insert.execute(params![id, terms])?;
            }
        }
        done += batch.len() as i64;
        tracing::info!(
            done,
            total,
            seconds = started.elapsed().as_secs(),
            "indexing messages for search"
        );
    }
    Ok(done)
}

/// Empties the index and builds it again from the stored messages, the
/// cursor moved to the newest (the search bench times the migration's
/// backfill with it).
pub fn reindex(conn: &Connection) -> DbResult<i64> {
    conn.execute(
        "INSERT INTO message_terms (message_terms) VALUES ('delete-all')",
        [],
    )?;
    let done = backfill(conn)?;
    conn.execute(
        "UPDATE search_cursor SET message_id = (SELECT coalesce(max(id), 0) FROM messages) WHERE id = 1",
        [],
    )?;
    Ok(done)
}

/// The bytes the index takes (its segments), for the bench.
pub fn index_bytes(conn: &Connection) -> DbResult<i64> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(length(block)), 0) FROM message_terms_data",
        [],
        |r| r.get(0),
    )?)
}

// ---- 消息管理 ---------------------------------------------------------------

/// Who wrote a message, as 消息管理 filters it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// 客服 — typed by an agent.
    Agent,
    /// 客户 — the follower.
    Follower,
    /// 自动 — kefu's automatic replies.
    Auto,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim() {
            "客服" => Some(Role::Agent),
            "客户" => Some(Role::Follower),
            "自动" => Some(Role::Auto),
            _ => None,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Role::Agent => "客服",
            Role::Follower => "客户",
            Role::Auto => "自动",
        }
    }

    fn condition(&self) -> &'static str {
        match self {
            Role::Agent => "m.direction = 'out' AND m.sender_id IS NOT NULL",
            Role::Follower => "m.direction = 'in'",
            Role::Auto => "m.direction = 'out' AND m.sender_id IS NULL",
        }
    }
}

/// What 消息管理 looks for.
#[derive(Clone, Debug)]
pub struct MessageFilter {
    pub query: Option<Query>,
    /// Inclusive, ms.
    pub from: i64,
    /// Exclusive, ms.
    pub to: i64,
    /// The groups the viewer reaches (from `access`).
    pub reach: Reach,
    pub group: Option<GroupId>,
    pub role: Option<Role>,
    /// Part of the sender's name: an agent's display or login name, a
    /// follower's remark or WeChat remark, or a follower's whole OpenID.
    pub sender: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub id: MessageId,
    pub follower_id: FollowerId,
    pub conversation_id: Option<ConversationId>,
    /// The conversation's group (none for a message outside a conversation).
    pub group: Option<String>,
    pub role: Role,
    /// The agent's display name, the follower's label, or 自动回复.
    pub sender: String,
    pub kind: MessageKind,
    pub content: String,
    pub created_at: jiff::Timestamp,
}

/// The messages matching `f` that its reach covers, newest first (by id:
/// the order they were stored). With words: first the messages after the
/// index's cursor (scanned, terms made here), then the index's candidates —
/// every tail id is above every indexed one, so the order holds across.
pub fn messages(conn: &Connection, f: &MessageFilter) -> DbResult<Vec<Hit>> {
    let Some(q) = &f.query else {
        return run(conn, messages_sql(f));
    };
    // The cursor, the tail and the index from one snapshot (a pooled reader
    // is in autocommit mode; a writer's job is inside its transaction).
    let _snapshot = if conn.is_autocommit() {
        Some(conn.unchecked_transaction()?)
    } else {
        None
    };
    let after = cursor(conn)?;
    let terms = query_terms(&q.fts);
    let mut tail: Vec<Hit> = run(conn, tail_sql(f, after))?
        .into_iter()
        .filter(|h| has_terms(&index_terms(&h.content), &terms))
        .collect();
    // SQLite's LIMIT -1: no limit.
    let offset = usize::try_from(f.offset).unwrap_or(0);
    let limit = usize::try_from(f.limit).unwrap_or(usize::MAX / 2);
    if tail.len() >= offset + limit {
        tail.truncate(offset + limit);
        return Ok(tail.split_off(offset));
    }
    let skipped = tail.len().min(offset);
    let mut page = tail.split_off(skipped);
    let rest = MessageFilter {
        limit: (limit - page.len()) as i64,
        offset: (offset - skipped) as i64,
        ..f.clone()
    };
    page.extend(run(conn, messages_sql(&rest))?);
    Ok(page)
}

fn run(conn: &Connection, (sql, values): (String, Vec<Value>)) -> DbResult<Vec<Hit>> {
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(values), hit)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The terms of an FTS5 expression made by `engine::search::parse` (quoted
/// terms ANDed, `*` after a prefix term), each with whether it is a prefix.
fn query_terms(fts: &str) -> Vec<(String, bool)> {
    fts.split(" AND ")
        .map(|t| {
            let (t, prefix) = match t.strip_suffix(" *") {
                Some(t) => (t, true),
                None => (t, false),
            };
            let t = t
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .unwrap_or(t);
            (t.replace("\"\"", "\""), prefix)
        })
        .collect()
}

/// Whether a message indexed under `indexed` (space-separated) matches every
/// term, as FTS5 would: a term equal to one of them, a prefix term the start
/// of one.
fn has_terms(indexed: &str, terms: &[(String, bool)]) -> bool {
    terms.iter().all(|(t, prefix)| {
        indexed
            .split(' ')
            .any(|i| i == t || (*prefix && i.starts_with(t.as_str())))
    })
}

fn hit(r: &rusqlite::Row<'_>) -> rusqlite::Result<Hit> {
    let direction: String = r.get(4)?;
    let sender_id: Option<UserId> = r.get(5)?;
    let (role, sender) = match (direction.as_str(), sender_id) {
        ("in", _) => (
            Role::Follower,
            follower_label(r.get(7)?, r.get(8)?, &r.get::<_, String>(9)?),
        ),
        (_, Some(_)) => (
            Role::Agent,
            r.get::<_, Option<String>>(6)?.unwrap_or_default(),
        ),
        _ => (Role::Auto, crate::t("console-auto-reply")),
    };
    Ok(Hit {
        id: r.get(0)?,
        follower_id: r.get(1)?,
        conversation_id: r.get(2)?,
        group: r.get(3)?,
        role,
        sender,
        kind: r.get(10)?,
        content: r.get(11)?,
        created_at: ts(r.get(12)?),
    })
}

/// The SQL of [`messages`] over the index and its values.
fn messages_sql(f: &MessageFilter) -> (String, Vec<Value>) {
    filter_sql(f, None)
}

/// The SQL of [`messages`] over the messages after the index's cursor, with
/// every condition but the terms, and no limit.
fn tail_sql(f: &MessageFilter, after: i64) -> (String, Vec<Value>) {
    filter_sql(f, Some(after))
}

fn filter_sql(f: &MessageFilter, tail: Option<i64>) -> (String, Vec<Value>) {
    let mut values: Vec<Value> = Vec::new();
    let mut sql = String::from(
        "SELECT m.id, m.follower_id, m.conversation_id, g.name, m.direction, m.sender_id,
                u.display_name, fo.remark, fo.wx_remark, fo.openid, m.kind, m.content, m.created_at",
    );
    let order = match &f.query {
        Some(q) if tail.is_none() => {
            // CROSS JOIN: SQLite never reorders it, so the index drives the
            // loop whatever the statistics say (PRAGMA optimize writes some).
            sql.push_str(" FROM message_terms t CROSS JOIN messages m ON m.id = t.rowid");
            values.push(q.fts.clone().into());
            "t.rowid"
        }
        _ => {
            sql.push_str(" FROM messages m");
            "m.id"
        }
    };
    sql.push_str(
        " LEFT JOIN conversations c ON c.id = m.conversation_id
          LEFT JOIN groups g ON g.id = c.group_id
          LEFT JOIN users u ON u.id = m.sender_id
          CROSS JOIN followers fo ON fo.id = m.follower_id
          WHERE m.kind <> 'event' AND m.created_at >= ? AND m.created_at < ?",
    );
    if f.query.is_some() && tail.is_none() {
        sql = sql.replace("WHERE m.kind", "WHERE message_terms MATCH ? AND m.kind");
    }
    values.push(f.from.into());
    values.push(f.to.into());
    if let Some(after) = tail {
        sql.push_str(" AND m.id > ?");
        values.push(after.into());
    }
    match &f.reach {
        Reach::All => {}
        Reach::Groups(gs) if gs.is_empty() => sql.push_str(" AND 0"),
        Reach::Groups(gs) => {
            let marks = vec!["?"; gs.len()].join(", ");
            // A message outside any conversation belongs to the groups that
            // serve its account.
            sql.push_str(&format!(
                " AND (c.group_id IN ({marks}) OR (m.conversation_id IS NULL AND m.account_id IN
                     (SELECT ag.account_id FROM account_groups ag WHERE ag.group_id IN ({marks}))))"
            ));
            values.extend(gs.iter().map(|g| Value::from(g.0)));
            values.extend(gs.iter().map(|g| Value::from(g.0)));
        }
    }
    if let Some(g) = f.group {
        sql.push_str(" AND c.group_id = ?");
        values.push(g.0.into());
    }
    if let Some(r) = f.role {
        sql.push_str(&format!(" AND {}", r.condition()));
    }
    if let Some(s) = f.sender.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        sql.push_str(
            " AND ((m.sender_id IS NOT NULL AND (instr(u.display_name, ?) > 0 OR instr(u.username, ?) > 0))
                OR (m.direction = 'in' AND (instr(fo.remark, ?) > 0 OR instr(fo.wx_remark, ?) > 0 OR fo.openid = ?)))",
        );
        for _ in 0..5 {
            values.push(s.to_string().into());
        }
    }
    if let Some(q) = &f.query {
        for w in &q.words {
            sql.push_str(" AND instr(lower(m.content), ?) > 0");
            values.push(w.clone().into());
        }
    }
    sql.push_str(&format!(" ORDER BY {order} DESC"));
    if tail.is_none() {
        sql.push_str(" LIMIT ? OFFSET ?");
        values.push(f.limit.into());
        values.push(f.offset.max(0).into());
    }
    (sql, values)
}

fn follower_label(remark: String, wx_remark: String, openid: &str) -> String {
    if !remark.is_empty() {
        remark
    } else if !wx_remark.is_empty() {
        wx_remark
    } else {
        super::followers::short_label(openid)
    }
}

// ---- 已接待 -----------------------------------------------------------------

/// Whose ended conversations 已接待 lists (decided by `access::served`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedScope {
    pub agent: UserId,
    /// Only conversations of these groups (an admin looking at an agent);
    /// `None`: all of the agent's (their own list, or a super admin).
    pub groups: Option<Vec<GroupId>>,
}

#[derive(Clone, Debug, Default)]
pub struct ServedFilter {
    /// Part of the follower's remark or WeChat remark, or their whole OpenID.
    pub follower: String,
    /// Ended at or after, ms.
    pub from: Option<i64>,
    /// Ended before, ms.
    pub to: Option<i64>,
    /// A category or its sub-categories.
    pub category: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Served {
    pub id: ConversationId,
    pub follower_id: FollowerId,
    pub follower: String,
    pub openid: String,
    pub group: String,
    pub opened_at: jiff::Timestamp,
    pub ended_at: Option<jiff::Timestamp>,
    /// The categories' names, joined with 、.
    pub categories: String,
    pub messages: i64,
}

/// The agent's ended conversations matching `f`, last ended first, and how many match.
pub fn served(
    conn: &Connection,
    scope: &ServedScope,
    f: &ServedFilter,
) -> DbResult<(Vec<Served>, i64)> {
    let mut values: Vec<Value> = vec![scope.agent.0.into()];
    let mut cond = String::from("c.agent_id = ? AND c.state = 'ended'");
    if let Some(gs) = &scope.groups {
        if gs.is_empty() {
            cond.push_str(" AND 0");
        } else {
            cond.push_str(&format!(
                " AND c.group_id IN ({})",
                vec!["?"; gs.len()].join(", ")
            ));
            values.extend(gs.iter().map(|g| Value::from(g.0)));
        }
    }
    let who = f.follower.trim();
    if !who.is_empty() {
        cond.push_str(
            " AND (instr(fo.remark, ?) > 0 OR instr(fo.wx_remark, ?) > 0 OR fo.openid = ?)",
        );
        for _ in 0..3 {
            values.push(who.to_string().into());
        }
    }
    if let Some(from) = f.from {
        cond.push_str(" AND c.ended_at >= ?");
        values.push(from.into());
    }
    if let Some(to) = f.to {
        cond.push_str(" AND c.ended_at < ?");
        values.push(to.into());
    }
    if let Some(cat) = f.category {
        cond.push_str(
            " AND EXISTS (SELECT 1 FROM conversation_categories cc JOIN categories k ON k.id = cc.category_id
                          WHERE cc.conversation_id = c.id AND (k.id = ? OR k.parent_id = ?))",
        );
        values.push(cat.into());
        values.push(cat.into());
    }
    let from = format!(
        " FROM conversations c JOIN followers fo ON fo.id = c.follower_id
          JOIN groups g ON g.id = c.group_id WHERE {cond}"
    );
    let total: i64 = conn.query_row(
        &format!("SELECT count(*){from}"),
        params_from_iter(values.iter()),
        |r| r.get(0),
    )?;
    values.push(f.limit.into());
    values.push(f.offset.max(0).into());
    let mut stmt = conn.prepare(&format!(
        "SELECT c.id, c.follower_id, fo.remark, fo.wx_remark, fo.openid, g.name, c.opened_at, c.ended_at,
                (SELECT group_concat(k.name, '、') FROM conversation_categories cc
                   JOIN categories k ON k.id = cc.category_id WHERE cc.conversation_id = c.id),
                (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND m.kind <> 'event')
         {from} ORDER BY c.ended_at DESC, c.id DESC LIMIT ? OFFSET ?"
    ))?;
    let rows = stmt
        .query_map(params_from_iter(values), |r| {
            let openid: String = r.get(4)?;
            Ok(Served {
                id: r.get(0)?,
                follower_id: r.get(1)?,
                follower: follower_label(r.get(2)?, r.get(3)?, &openid),
                openid,
                group: r.get(5)?,
                opened_at: ts(r.get(6)?),
                ended_at: r.get::<_, Option<i64>>(7)?.map(ts),
                categories: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
                messages: r.get(9)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, total))
}

/// The categories of `groups` (all for `None`) as (id, 上级/下级 path), for the picker.
pub fn categories(conn: &Connection, groups: Option<&[GroupId]>) -> DbResult<Vec<(i64, String)>> {
    let mut stmt = conn.prepare(
        "SELECT k.id, k.group_id, g.name || ' · ' || coalesce(p.name || '/', '') || k.name
         FROM categories k JOIN groups g ON g.id = k.group_id
         LEFT JOIN categories p ON p.id = k.parent_id
         ORDER BY k.group_id, coalesce(p.position, k.position), coalesce(p.id, k.id), k.parent_id IS NOT NULL, k.position, k.id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                GroupId(r.get(1)?),
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter(|(_, g, _)| groups.is_none_or(|gs| gs.contains(g)))
        .map(|(id, _, name)| (id, name))
        .collect())
}

/// How many messages the index holds (for tests and the bench).
pub fn indexed(conn: &Connection) -> DbResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM message_terms", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::messages::{NewOutbound, insert_outbound};
    use crate::db::{accounts::tests::seed_account, followers, memory, migrate};
    use crate::engine::search::parse;

    fn filter(q: &str) -> MessageFilter {
        MessageFilter {
            query: parse(q).unwrap(),
            from: 0,
            to: i64::MAX,
            reach: Reach::All,
            group: None,
            role: None,
            sender: None,
            limit: 50,
            offset: 0,
        }
    }

    fn say(c: &Connection, acc: crate::model::AccountId, f: FollowerId, text: &str) -> i64 {
        let m = NewOutbound {
            account: acc,
            follower: f,
            kind: MessageKind::Text,
            content: text,
            data: &serde_json::json!({}),
            sender: None,
        };
        insert_outbound(c, &m, jiff::Timestamp::UNIX_EPOCH)
            .unwrap()
            .0
    }

    #[test]
    fn candidates_come_newest_first_from_the_index_without_a_sort() {
        let c = memory().unwrap();
        let acc = seed_account(&c, "wx1");
        let f = followers::upsert(&c, acc, "oX", jiff::Timestamp::UNIX_EPOCH).unwrap();
        let a = say(&c, acc, f, "退款到账了");
        let b = say(&c, acc, f, "还没退款");
        say(&c, acc, f, "物流");
        let thai = say(&c, acc, f, "สวัสดี Café");
        // Indexed, as the background job would (the tail is another test's).
        assert_eq!(catch_up(&c).unwrap(), 4);
        // Letters with combining marks are one term, never an FTS5 phrase
        // (which `detail=none` refuses).
        for q in ["สวัสดี", "café", "Caf", "สวัสดี café"] {
            let hits = messages(&c, &filter(q)).unwrap();
            assert_eq!(
                hits.iter().map(|h| h.id.0).collect::<Vec<_>>(),
                vec![thai],
                "{q}"
            );
        }
        let hits = messages(&c, &filter("退款")).unwrap();
        assert_eq!(hits.iter().map(|h| h.id.0).collect::<Vec<_>>(), vec![b, a]);
        // The plan: FTS5 hands out rowids in descending order (without
        // words: the messages table backwards); no temporary B-tree sorts
        // every candidate before the first page is known, and no other
        // table drives the loop (only LEFT JOINs follow).
        // Statistics as `PRAGMA optimize` leaves them on a big database (the
        // 1M fixture): with them and plain JOINs, SQLite drove the loop from
        // `followers` and sorted every message of the days (1.1 s).
        c.execute_batch(
            "ANALYZE;
             DELETE FROM sqlite_stat1;
             INSERT INTO sqlite_stat1 VALUES ('messages', 'messages_follower', '1006261 25 1'),
               ('messages', 'messages_conversation', '1006261 10 1'), ('followers', NULL, '40000'),
               ('conversations', NULL, '100000'), ('users', NULL, '56'), ('groups', NULL, '5');
             ANALYZE sqlite_schema;",
        )
        .unwrap();
        for (reach, q) in [
            (Reach::All, "退款 物流"),
            (Reach::Groups(vec![GroupId(1), GroupId(2)]), "退款"),
            (Reach::All, ""),
            (Reach::Groups(vec![GroupId(1)]), ""),
        ] {
            let f = MessageFilter {
                reach,
                role: (!q.is_empty()).then_some(Role::Agent),
                sender: (!q.is_empty()).then(|| "小王".to_string()),
                ..filter(q)
            };
            let (sql, values) = messages_sql(&f);
            let plan: Vec<String> = c
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(params_from_iter(values), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                !plan.iter().any(|p| p.contains("TEMP B-TREE")),
                "{q}: {plan:?}"
            );
            let outer = if q.is_empty() {
                "SCAN m"
            } else {
                "VIRTUAL TABLE"
            };
            assert!(plan[0].contains(outer), "{q}: {plan:?}");
        }
    }

    #[test]
    fn messages_stored_before_the_index_are_indexed_by_the_migrations() {
        let mut c = Connection::open_in_memory().unwrap();
        for sql in &migrate::MIGRATIONS[..11] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 11).unwrap();
        let acc = seed_account(&c, "wx1");
        let f = followers::upsert(&c, acc, "oX", jiff::Timestamp::UNIX_EPOCH).unwrap();
        // Stored before the index existed (raw, as an old kefu did).
        for (i, text) in ["发票开好了吗", "订单 2026120188", ""].iter().enumerate() {
            c.execute(
                "INSERT INTO messages (account_id, follower_id, direction, kind, content, created_at, received_at)
                 VALUES (?1, ?2, 'in', 'text', ?3, ?4, ?4)",
                params![acc, f, text, i as i64],
            )
            .unwrap();
        }
        migrate::apply_migrations(&mut c, 11).unwrap();
        // Migration 18 empties the index again for the background job, and
        // searches scan meanwhile.
        assert_eq!((indexed(&c).unwrap(), cursor(&c).unwrap()), (0, 0));
        assert_eq!(messages(&c, &filter("发票")).unwrap().len(), 1);
        assert_eq!(catch_up(&c).unwrap(), 3);
        assert_eq!(indexed(&c).unwrap(), 2, "the empty message has no terms");
        assert_eq!(messages(&c, &filter("发票")).unwrap().len(), 1);
        assert_eq!(messages(&c, &filter("2026120188")).unwrap().len(), 1);
        // And reindexing gives the same.
        assert_eq!(reindex(&c).unwrap(), 2);
        assert_eq!(messages(&c, &filter("发票")).unwrap().len(), 1);
        assert!(index_bytes(&c).unwrap() > 0);
    }

    #[test]
    fn migration_18_builds_the_index_again_with_suffixes() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate::apply_migrations(&mut c, 0).unwrap();
        let acc = seed_account(&c, "wx1");
        let f = followers::upsert(&c, acc, "oX", jiff::Timestamp::UNIX_EPOCH).unwrap();
        let id = say(&c, acc, f, "手机 13812345678");
        // Indexed as kefu did before migration 18: the number as one term.
        c.execute(
            "INSERT INTO message_terms (rowid, terms) VALUES (?1, '手 机 手机 13812345678')",
            [id],
        )
        .unwrap();
        c.execute("UPDATE search_cursor SET message_id = ?1", [id])
            .unwrap();
        c.pragma_update(None, "user_version", 17).unwrap();
        assert!(found(&c, "5678", 50, 0).is_empty(), "the old terms");
        migrate::apply_migrations(&mut c, 17).unwrap();
        assert_eq!((cursor(&c).unwrap(), indexed(&c).unwrap()), (0, 0));
        // Found at once (the tail), and again once the job has caught up.
        assert_eq!(found(&c, "5678", 50, 0), vec![id]);
        assert_eq!(catch_up(&c).unwrap(), 1);
        assert_eq!(cursor(&c).unwrap(), id);
        assert_eq!(found(&c, "5678", 50, 0), vec![id]);
        assert_eq!(found(&c, "138", 50, 0), vec![id]);
    }

    /// The messages of [`the_tail_after_the_cursor_is_searched_as_the_index_is`].
    const CORPUS: &[&str] = &[
        "我要退款",
        "退款会在 1–3 个工作日内原路退回。",
        "我的订单 2026120188 什么时候发货？",
        "物流三天没更新了",
        "已为您催促物流，iPhone 今天发出",
        "订单2026120188退款申请",
        "搜索 \"退款\" OR NEAR( 物流 试试*",
        "IPHONE 15 坏了",
        "สวัสดี Café",
        "",
        "退款多久到账",
        "phone 没电了",
    ];

    /// A database holding [`CORPUS`] (one a second), indexed up to message `upto`.
    fn corpus(upto: usize) -> (Connection, Vec<i64>) {
        let c = memory().unwrap();
        let acc = seed_account(&c, "wx1");
        let f = followers::upsert(&c, acc, "oX", jiff::Timestamp::UNIX_EPOCH).unwrap();
        let ids: Vec<i64> = CORPUS.iter().map(|t| say(&c, acc, f, t)).collect();
        if upto > 0 {
            let p = pending(&c, upto as i64).unwrap().unwrap();
            assert_eq!(p.upto, ids[upto - 1]);
            assert!(apply(&c, &p).unwrap());
        }
        (c, ids)
    }

    fn found(c: &Connection, q: &str, limit: i64, offset: i64) -> Vec<i64> {
        let f = MessageFilter {
            limit,
            offset,
            ..filter(q)
        };
        messages(c, &f).unwrap().iter().map(|h| h.id.0).collect()
    }

    /// Messages after the cursor are scanned with the index's own terms, so
    /// a search gives the same hits, in the same order and pages, wherever
    /// the cursor stands — "phone" finds "iPhone" as well as "phone 没电了",
    /// and an order number's last digits find it, either way.
    #[test]
    fn the_tail_after_the_cursor_is_searched_as_the_index_is() {
        let queries = [
            "退",
            "退款",
            "退款多久",
            "工作日内",
            "订单2026120188",
            "2026",
            "0188",
            "iphone",
            "phone",
            "物流 退款",
            "\"退款\"",
            "NEAR(",
            "试试*",
            "café",
            "Caf",
            "afé",
            "สวัสดี",
            "没有",
        ];
        let (full, ids) = corpus(CORPUS.len());
        assert_eq!(cursor(&full).unwrap(), *ids.last().unwrap());
        let expected: Vec<Vec<i64>> = queries.iter().map(|q| found(&full, q, 50, 0)).collect();
        assert_eq!(expected[1].len(), 5, "退款 — {:?}", expected[1]);
        assert_eq!(expected[6], vec![ids[5], ids[2]], "the order number's tail");
        assert_eq!(
            expected[8],
            vec![ids[11], ids[7], ids[4]],
            "phone, also inside iPhone"
        );
        assert!(expected.last().unwrap().is_empty());
        for upto in 0..=CORPUS.len() {
            let (c, _) = corpus(upto);
            assert_eq!(
                cursor(&c).unwrap(),
                if upto == 0 { 0 } else { ids[upto - 1] }
            );
            for (q, want) in queries.iter().zip(&expected) {
                assert_eq!(&found(&c, q, 50, 0), want, "{q:?}, indexed up to {upto}");
                // Pages of two across the boundary give the same rows.
                let paged: Vec<i64> = (0..4).flat_map(|p| found(&c, q, 2, p * 2)).collect();
                assert_eq!(&paged, want, "{q:?} in pages, indexed up to {upto}");
            }
        }
    }

    #[test]
    fn the_catch_up_goes_in_batches_skips_events_and_a_moved_cursor() {
        let c = memory().unwrap();
        let acc = seed_account(&c, "wx1");
        let f = followers::upsert(&c, acc, "oX", jiff::Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(pending(&c, 500).unwrap(), None, "nothing to do");
        let a = say(&c, acc, f, "发票");
        let event = crate::db::messages::insert_inbound(
            &c,
            acc,
            f,
            &crate::db::messages::NewInbound {
                dedup_key: "e1".into(),
                wx_msg_id: None,
                kind: MessageKind::Event,
                event: "subscribe".into(),
                content: "关注".into(),
                data: serde_json::json!({}),
                raw: String::new(),
                created_at: jiff::Timestamp::UNIX_EPOCH,
                conversation: None,
            },
            jiff::Timestamp::UNIX_EPOCH,
        )
        .unwrap()
        .unwrap()
        .0;
        let empty = say(&c, acc, f, "！！");
        let b = say(&c, acc, f, "发货");
        // A batch of two: the text and the event (which gets no row).
        let first = pending(&c, 2).unwrap().unwrap();
        assert_eq!((first.after, first.upto, first.read), (0, event, 2));
        assert_eq!(first.rows, vec![(a, "发 票 发票".to_string())]);
        // Read twice before either is written: the second write is refused.
        let again = pending(&c, 2).unwrap().unwrap();
        assert!(apply(&c, &first).unwrap());
        assert!(!apply(&c, &again).unwrap(), "the cursor moved meanwhile");
        assert_eq!((cursor(&c).unwrap(), indexed(&c).unwrap()), (event, 1));
        // The rest in one go; a message without terms moves the cursor too.
        assert_eq!(catch_up(&c).unwrap(), 2);
        assert_eq!((cursor(&c).unwrap(), indexed(&c).unwrap()), (b, 2));
        assert!(empty < b);
        assert_eq!(catch_up(&c).unwrap(), 0);
        // Were the newest messages ever deleted, the cursor would follow.
        c.execute("DELETE FROM messages WHERE id >= ?1", [empty])
            .unwrap();
        assert_eq!(catch_up(&c).unwrap(), 0);
        assert_eq!(cursor(&c).unwrap(), event);
        // And reindexing sets it to the newest.
        c.execute("UPDATE search_cursor SET message_id = 0", [])
            .unwrap();
        assert_eq!(reindex(&c).unwrap(), 1);
        assert_eq!((cursor(&c).unwrap(), indexed(&c).unwrap()), (event, 1));
    }

    /// The tail is read backwards by rowid from the cursor: no sort, no
    /// other table driving the loop, whatever the statistics.
    #[test]
    fn the_tail_is_a_rowid_range_without_a_sort() {
        let c = memory().unwrap();
        c.execute_batch(
            "ANALYZE;
             DELETE FROM sqlite_stat1;
             INSERT INTO sqlite_stat1 VALUES ('messages', 'messages_follower', '1006261 25 1'),
               ('messages', 'messages_conversation', '1006261 10 1'), ('followers', NULL, '40000'),
               ('conversations', NULL, '100000'), ('users', NULL, '56'), ('groups', NULL, '5');
             ANALYZE sqlite_schema;",
        )
        .unwrap();
        for reach in [Reach::All, Reach::Groups(vec![GroupId(1)])] {
            let f = MessageFilter {
                reach,
                sender: Some("小王".to_string()),
                ..filter("退款 物流")
            };
            let (sql, values) = tail_sql(&f, 1_000_000);
            let plan: Vec<String> = c
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(params_from_iter(values), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{plan:?}");
            assert!(
                plan[0].contains("SEARCH m USING INTEGER PRIMARY KEY (rowid>?)"),
                "{plan:?}"
            );
        }
    }
}
