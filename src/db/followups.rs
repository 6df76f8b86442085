//! What agents come back to: 标注 — conversations marked for follow-up (B11,
//! E14) — and the 会话标签 put on conversations and messages (B12, E10). Lists
//! are read through a [`Scope`]: an agent sees their own rows, an admin the
//! rows of their groups' conversations (and their own), the super admin all.

use super::{DbResult, ms, ts};
use crate::model::{ConversationId, FollowerId, GroupId, MessageKind, UserId};
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

/// Whose marks and taggings someone may see and change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Rows of conversations in these groups, and the user's own rows.
    Groups(UserId, Vec<GroupId>),
    /// Only the user's own rows.
    Own(UserId),
}

impl Scope {
    /// The SQL condition over `c` (conversations) and `owner` (the row's agent
    /// column), and its values.
    fn condition(&self, owner: &str) -> (String, Vec<Value>) {
        match self {
            Scope::All => ("1".into(), Vec::new()),
            Scope::Own(me) => (format!("{owner} = ?"), vec![me.0.into()]),
            Scope::Groups(me, groups) => {
                let marks = vec!["?"; groups.len()].join(", ");
                let mut values: Vec<Value> = vec![me.0.into()];
                values.extend(groups.iter().map(|g| Value::from(g.0)));
                (format!("({owner} = ? OR c.group_id IN ({marks}))"), values)
            }
        }
    }
}

/// What agents read for a follower: remark, WeChat remark, else 访客 + OpenID tail.
fn follower_label(remark: String, wx_remark: String, openid: &str) -> String {
    if !remark.is_empty() {
        remark
    } else if !wx_remark.is_empty() {
        wx_remark
    } else {
        super::followers::short_label(openid)
    }
}

// ---- 标注 -----------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MarkFilter {
    #[default]
    Open,
    Handled,
    All,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkRow {
    pub id: i64,
    pub conversation_id: ConversationId,
    pub follower_id: FollowerId,
    pub follower: String,
    pub group_id: Option<GroupId>,
    pub agent_id: Option<UserId>,
    pub agent: Option<String>,
    pub note: String,
    pub created_at: jiff::Timestamp,
    pub handled_at: Option<jiff::Timestamp>,
}

const MARK_SQL: &str = "SELECT m.id, m.conversation_id, c.follower_id, f.remark, f.wx_remark,
        f.openid, c.group_id, m.agent_id, u.display_name, m.note, m.created_at, m.handled_at
    FROM marks m
    JOIN conversations c ON c.id = m.conversation_id
    JOIN followers f ON f.id = c.follower_id
    LEFT JOIN users u ON u.id = m.agent_id";

fn mark_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MarkRow> {
    let openid: String = r.get(5)?;
    Ok(MarkRow {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        follower_id: r.get(2)?,
        follower: follower_label(r.get(3)?, r.get(4)?, &openid),
        group_id: r.get(6)?,
        agent_id: r.get(7)?,
        agent: r.get(8)?,
        note: r.get(9)?,
        created_at: ts(r.get(10)?),
        handled_at: r.get::<_, Option<i64>>(11)?.map(ts),
    })
}

/// Marks a conversation for follow-up.
pub fn add_mark(
    conn: &Connection,
    conversation: ConversationId,
    agent: Option<UserId>,
    note: &str,
    now: jiff::Timestamp,
) -> DbResult<i64> {
    conn.execute(
        "INSERT INTO marks (conversation_id, agent_id, note, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![conversation, agent, note, ms(now)],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The marks `scope` may see, newest first (at most 500).
pub fn marks(conn: &Connection, scope: &Scope, filter: MarkFilter) -> DbResult<Vec<MarkRow>> {
    let (cond, values) = scope.condition("m.agent_id");
    let state = match filter {
        MarkFilter::Open => " AND m.handled_at IS NULL",
        MarkFilter::Handled => " AND m.handled_at IS NOT NULL",
        MarkFilter::All => "",
    };
    let sql =
        format!("{MARK_SQL} WHERE {cond}{state} ORDER BY m.created_at DESC, m.id DESC LIMIT 500");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(values), mark_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// One mark, if `scope` may see it.
pub fn mark(conn: &Connection, scope: &Scope, id: i64) -> DbResult<Option<MarkRow>> {
    let (cond, mut values) = scope.condition("m.agent_id");
    values.push(id.into());
    let sql = format!("{MARK_SQL} WHERE {cond} AND m.id = ?");
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query_map(params_from_iter(values), mark_row)?;
    Ok(rows.next().transpose()?)
}

/// Marks it handled (once; a second call keeps the first time).
pub fn handle_mark(conn: &Connection, id: i64, now: jiff::Timestamp) -> DbResult<bool> {
    Ok(conn.execute(
        "UPDATE marks SET handled_at = coalesce(handled_at, ?2) WHERE id = ?1",
        params![id, ms(now)],
    )? == 1)
}

pub fn delete_mark(conn: &Connection, id: i64) -> DbResult<bool> {
    Ok(conn.execute("DELETE FROM marks WHERE id = ?1", [id])? == 1)
}

// ---- 标签列表 -------------------------------------------------------------

/// Tags a conversation, or one message of it, with a remark.
pub fn add_tagging(
    conn: &Connection,
    tag: i64,
    conversation: ConversationId,
    message: Option<i64>,
    remark: &str,
    agent: Option<UserId>,
    now: jiff::Timestamp,
) -> DbResult<i64> {
    conn.execute(
        "INSERT INTO taggings (tag_id, conversation_id, message_id, remark, agent_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![tag, conversation, message, remark, agent, ms(now)],
    )?;
    Ok(conn.last_insert_rowid())
}

#[derive(Clone, Debug, Default)]
pub struct TaggedFilter {
    /// Tagged with any of these tags (a tag and its subtree); empty: any tag.
    pub tags: Vec<i64>,
    pub from: Option<jiff::Timestamp>,
    /// Exclusive.
    pub to: Option<jiff::Timestamp>,
    pub agent: Option<UserId>,
    /// Part of the follower's remark or WeChat remark, or their whole OpenID
    /// (issue 12); empty: any follower.
    pub follower: String,
    /// Part of the tagging's remark (issue 12); empty: any.
    pub remark: String,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaggedRow {
    pub id: i64,
    pub tag: String,
    pub conversation_id: ConversationId,
    pub follower_id: FollowerId,
    pub follower: String,
    /// The tagged message, shortened; `None` when the whole conversation is tagged.
    pub message: Option<String>,
    pub remark: String,
    pub agent: Option<String>,
    pub created_at: jiff::Timestamp,
}

/// How long a message excerpt may be, in characters.
const EXCERPT: usize = 60;

fn excerpt(kind: Option<MessageKind>, content: Option<String>) -> Option<String> {
    let content = content?;
    match kind {
        Some(MessageKind::Text) | None => {
            let mut s: String = content.chars().take(EXCERPT).collect();
            if content.chars().count() > EXCERPT {
                s.push('…');
            }
            Some(s)
        }
        Some(k) => Some(format!("[{}]", k.label())),
    }
}

/// Taggings `scope` may see that match `f`, newest first, and how many match.
pub fn tagged(
    conn: &Connection,
    scope: &Scope,
    f: &TaggedFilter,
) -> DbResult<(Vec<TaggedRow>, i64)> {
    let (cond, mut values) = scope.condition("t.agent_id");
    let mut sql = format!(
        " FROM taggings t
          JOIN tags g ON g.id = t.tag_id
          JOIN conversations c ON c.id = t.conversation_id
          JOIN followers f ON f.id = c.follower_id
          LEFT JOIN messages m ON m.id = t.message_id
          LEFT JOIN users u ON u.id = t.agent_id
          WHERE {cond}"
    );
    if !f.tags.is_empty() {
        sql.push_str(&format!(
            " AND t.tag_id IN ({})",
            vec!["?"; f.tags.len()].join(", ")
        ));
        values.extend(f.tags.iter().map(|t| Value::from(*t)));
    }
    if let Some(from) = f.from {
        sql.push_str(" AND t.created_at >= ?");
        values.push(ms(from).into());
    }
    if let Some(to) = f.to {
        sql.push_str(" AND t.created_at < ?");
        values.push(ms(to).into());
    }
    if let Some(agent) = f.agent {
        sql.push_str(" AND t.agent_id = ?");
        values.push(agent.0.into());
    }
    let who = f.follower.trim();
    if !who.is_empty() {
        sql.push_str(" AND (instr(f.remark, ?) > 0 OR instr(f.wx_remark, ?) > 0 OR f.openid = ?)");
        for _ in 0..3 {
            values.push(who.to_string().into());
        }
    }
    let remark = f.remark.trim();
    if !remark.is_empty() {
        sql.push_str(" AND instr(t.remark, ?) > 0");
        values.push(remark.to_string().into());
    }
    let total: i64 = conn.query_row(
        &format!("SELECT count(*){sql}"),
        params_from_iter(values.iter()),
        |r| r.get(0),
    )?;
    let select = format!(
        "SELECT t.id, g.name, t.conversation_id, c.follower_id, f.remark, f.wx_remark, f.openid,
                m.kind, m.content, t.remark, u.display_name, t.created_at
         {sql} ORDER BY t.created_at DESC, t.id DESC LIMIT ? OFFSET ?"
    );
    values.push(f.limit.into());
    values.push(f.offset.max(0).into());
    let mut stmt = conn.prepare(&select)?;
    let rows = stmt
        .query_map(params_from_iter(values), |r| {
            let openid: String = r.get(6)?;
            Ok(TaggedRow {
                id: r.get(0)?,
                tag: r.get(1)?,
                conversation_id: r.get(2)?,
                follower_id: r.get(3)?,
                follower: follower_label(r.get(4)?, r.get(5)?, &openid),
                message: excerpt(r.get(7)?, r.get(8)?),
                remark: r.get(9)?,
                agent: r.get(10)?,
                created_at: ts(r.get(11)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{
        accounts::tests::seed_account, conversations, followers, groups::tests::seed_group, memory,
        taxonomy, users::tests::seed_user,
    };
    use crate::model::Role;
    use jiff::{SignedDuration, Timestamp};

    struct World {
        conn: Connection,
        amy: UserId,
        bob: UserId,
        g: GroupId,
        conv_g: ConversationId,
        conv_h: ConversationId,
        t0: Timestamp,
    }

    fn world() -> World {
        let conn = memory().unwrap();
        let acc = seed_account(&conn, "wx1");
        let g = seed_group(&conn, "售前", "pre");
        let h = seed_group(&conn, "售后", "post");
        let amy = seed_user(&conn, "amy", Role::Agent);
        let bob = seed_user(&conn, "bob", Role::Agent);
        let t0: Timestamp = "2026-05-01T08:00:00Z".parse().unwrap();
        let f1 = followers::upsert(&conn, acc, "oABCD0001", t0).unwrap();
        let f2 = followers::upsert(&conn, acc, "oABCD0002", t0).unwrap();
        followers::set_remark(&conn, f2, "王先生").unwrap();
        let conv_g = conversations::open(&conn, acc, f1, g, t0).unwrap().unwrap();
        let conv_h = conversations::open(&conn, acc, f2, h, t0).unwrap().unwrap();
        World {
            conn,
            amy,
            bob,
            g,
            conv_g,
            conv_h,
            t0,
        }
    }

    #[test]
    fn marks_are_scoped_filtered_handled_and_deleted() {
        let w = world();
        let c = &w.conn;
        let m1 = add_mark(c, w.conv_g, Some(w.amy), "明天回电", w.t0).unwrap();
        let m2 = add_mark(c, w.conv_h, Some(w.bob), "寄样品", w.t0).unwrap();
        let ids = |s: &Scope, f| -> Vec<i64> {
            marks(c, s, f).unwrap().into_iter().map(|m| m.id).collect()
        };
        assert_eq!(ids(&Scope::Own(w.amy), MarkFilter::All), [m1]);
        assert_eq!(ids(&Scope::All, MarkFilter::All).len(), 2);
        let admin = seed_user(c, "lead", Role::Admin);
        assert_eq!(
            ids(&Scope::Groups(admin, vec![w.g]), MarkFilter::All),
            [m1],
            "the admin sees marks of their groups' conversations"
        );
        assert!(ids(&Scope::Groups(admin, vec![]), MarkFilter::All).is_empty());

        let row = mark(c, &Scope::All, m2).unwrap().unwrap();
        assert_eq!(row.follower, "王先生");
        assert_eq!(
            mark(c, &Scope::All, m1).unwrap().unwrap().follower,
            "访客0001"
        );
        assert!(mark(c, &Scope::Own(w.amy), m2).unwrap().is_none());

        let t1 = w.t0 + SignedDuration::from_mins(5);
        assert!(handle_mark(c, m1, t1).unwrap());
        handle_mark(c, m1, t1 + SignedDuration::from_mins(1)).unwrap();
        assert_eq!(
            mark(c, &Scope::All, m1).unwrap().unwrap().handled_at,
            Some(t1)
        );
        assert_eq!(ids(&Scope::All, MarkFilter::Open), [m2]);
        assert_eq!(ids(&Scope::All, MarkFilter::Handled), [m1]);
        assert!(delete_mark(c, m2).unwrap());
        assert_eq!(ids(&Scope::All, MarkFilter::All), [m1]);
    }

    #[test]
    fn tagged_rows_filter_by_tag_subtree_time_and_agent() {
        let w = world();
        let c = &w.conn;
        let complaint = taxonomy::add_tag(c, None, "投诉").unwrap().unwrap();
        let slow = taxonomy::add_tag(c, Some(complaint), "回复慢")
            .unwrap()
            .unwrap();
        let praise = taxonomy::add_tag(c, None, "表扬").unwrap().unwrap();
        let at = |m| w.t0 + SignedDuration::from_mins(m);
        add_tagging(c, slow, w.conv_g, None, "等了很久", Some(w.amy), at(1)).unwrap();
        add_tagging(c, praise, w.conv_h, None, "", Some(w.bob), at(2)).unwrap();
        add_tagging(c, complaint, w.conv_h, None, "", Some(w.bob), at(3)).unwrap();

        let all = TaggedFilter {
            limit: 50,
            ..Default::default()
        };
        let (rows, total) = tagged(c, &Scope::All, &all).unwrap();
        assert_eq!(total, 3);
        assert_eq!(rows[0].tag, "投诉", "newest first");
        assert_eq!(rows[2].remark, "等了很久");
        assert_eq!(rows[2].message, None);

        let sub = TaggedFilter {
            tags: taxonomy::tag_subtree(c, complaint).unwrap(),
            ..all.clone()
        };
        assert_eq!(tagged(c, &Scope::All, &sub).unwrap().1, 2);
        let window = TaggedFilter {
            from: Some(at(2)),
            to: Some(at(3)),
            ..all.clone()
        };
        let (rows, total) = tagged(c, &Scope::All, &window).unwrap();
        assert_eq!((total, rows[0].tag.as_str()), (1, "表扬"));
        let by_bob = TaggedFilter {
            agent: Some(w.bob),
            ..all.clone()
        };
        assert_eq!(tagged(c, &Scope::All, &by_bob).unwrap().1, 2);
        assert_eq!(tagged(c, &Scope::Own(w.amy), &all).unwrap().1, 1);
        let remark = TaggedFilter {
            remark: "很久".into(),
            ..all.clone()
        };
        let (rows, total) = tagged(c, &Scope::All, &remark).unwrap();
        assert_eq!((total, rows[0].remark.as_str()), (1, "等了很久"));
        let nobody = TaggedFilter {
            follower: "不存在的粉丝".into(),
            ..all.clone()
        };
        assert_eq!(tagged(c, &Scope::All, &nobody).unwrap().1, 0);
        let paged = TaggedFilter {
            limit: 1,
            offset: 1,
            ..all
        };
        let (rows, total) = tagged(c, &Scope::All, &paged).unwrap();
        assert_eq!((rows.len(), total, rows[0].tag.as_str()), (1, 3, "表扬"));
    }

    #[test]
    fn excerpts_are_short_and_name_non_text_kinds() {
        let long = "字".repeat(70);
        let e = excerpt(Some(MessageKind::Text), Some(long)).unwrap();
        assert_eq!(e.chars().count(), EXCERPT + 1);
        assert_eq!(
            excerpt(Some(MessageKind::Image), Some(String::new())).as_deref(),
            Some("[图片]")
        );
        assert_eq!(excerpt(None, None), None);
    }
}
