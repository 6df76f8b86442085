//! 消息管理 and 已接待 (issue 12): the full-text index of messages and the
//! two searches over it. Terms come from `engine::search` (CJK unigrams and
//! bigrams, Latin and digit words); `message_terms` is a contentless FTS5
//! table without positions, one row per message (rowid = message id), written
//! with the message in the same transaction. A search asks FTS5 for the
//! candidates newest first and keeps those whose text contains every word as
//! typed, in the groups the caller's `Reach` covers.

use super::{DbResult, ts};
use crate::access::Reach;
use crate::db::Cached;
use crate::engine::search::{Query, index_terms};
use crate::model::{ConversationId, FollowerId, GroupId, MessageId, MessageKind, UserId};
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

/// Indexes one message's text (nothing for text without terms).
pub fn index(conn: &Connection, id: MessageId, content: &str) -> DbResult<()> {
    let terms = index_terms(content);
    if !terms.is_empty() {
        conn.exec(
            "INSERT INTO message_terms (rowid, terms) VALUES (?1, ?2)",
            params![id, terms],
        )?;
    }
    Ok(())
}

/// How many messages are indexed per step of the backfill (one log line each).
const BACKFILL_STEP: i64 = 100_000;

/// The Rust step of a migration, run inside its transaction: migration 13
/// indexes every message already stored, with progress in the log.
pub fn after_migration(conn: &Connection, version: usize) -> DbResult<()> {
    if version == 13 {
        backfill(conn)?;
    }
    Ok(())
}

/// Indexes every stored message but events (migration 13). Returns how many
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

/// Empties the index and builds it again from the stored messages (the
/// search bench times the migration's backfill with it).
pub fn reindex(conn: &Connection) -> DbResult<i64> {
    conn.execute(
        "INSERT INTO message_terms (message_terms) VALUES ('delete-all')",
        [],
    )?;
    backfill(conn)
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
/// the order they were stored).
pub fn messages(conn: &Connection, f: &MessageFilter) -> DbResult<Vec<Hit>> {
    let (sql, values) = messages_sql(f);
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(values), hit)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
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
        _ => (Role::Auto, "自动回复".to_string()),
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

/// The SQL of [`messages`] and its values.
fn messages_sql(f: &MessageFilter) -> (String, Vec<Value>) {
    let mut values: Vec<Value> = Vec::new();
    let mut sql = String::from(
        "SELECT m.id, m.follower_id, m.conversation_id, g.name, m.direction, m.sender_id,
                u.display_name, fo.remark, fo.wx_remark, fo.openid, m.kind, m.content, m.created_at",
    );
    let order = match &f.query {
        Some(q) => {
            // CROSS JOIN: SQLite never reorders it, so the index drives the
            // loop whatever the statistics say (PRAGMA optimize writes some).
            sql.push_str(" FROM message_terms t CROSS JOIN messages m ON m.id = t.rowid");
            values.push(q.fts.clone().into());
            "t.rowid"
        }
        None => {
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
    if f.query.is_some() {
        sql = sql.replace("WHERE m.kind", "WHERE message_terms MATCH ? AND m.kind");
    }
    values.push(f.from.into());
    values.push(f.to.into());
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
    sql.push_str(&format!(" ORDER BY {order} DESC LIMIT ? OFFSET ?"));
    values.push(f.limit.into());
    values.push(f.offset.max(0).into());
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
    fn migration_13_indexes_the_messages_already_stored() {
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
        assert_eq!(indexed(&c).unwrap(), 2, "the empty message has no terms");
        assert_eq!(messages(&c, &filter("发票")).unwrap().len(), 1);
        assert_eq!(messages(&c, &filter("2026120188")).unwrap().len(), 1);
        // And reindexing gives the same.
        assert_eq!(reindex(&c).unwrap(), 2);
        assert_eq!(messages(&c, &filter("发票")).unwrap().len(), 1);
        assert!(index_bytes(&c).unwrap() > 0);
    }
}
