//! 知识库 and 常见问题 as trees (E3, E4; S3 2.1, 2.2, 2.4): `tree_nodes`, one
//! tree per [`TreeKind`], folders nested to any depth with entries (text or an
//! image) at any level; `group_tree_roots`, the subtrees each group is given;
//! `faq_cursors`, where a follower is in the FAQ menu. A tree is small (a few
//! hundred nodes), so it is loaded whole and shaped by the pure functions of
//! `engine::tree`; this module only reads and writes rows. Lengths are checked
//! by the caller; the `CHECK` constraints are the last line of defence.

use super::{Cached, DbResult, ms, ts};
use crate::model::{FollowerId, GroupId};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// Which tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TreeKind {
    /// 知识库 — agents' quick replies.
    Kb,
    /// 常见问题 — followers' self-service.
    Faq,
}

impl TreeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TreeKind::Kb => "kb",
            TreeKind::Faq => "faq",
        }
    }

    pub fn parse(s: &str) -> Option<TreeKind> {
        match s {
            "kb" => Some(TreeKind::Kb),
            "faq" => Some(TreeKind::Faq),
            _ => None,
        }
    }

    /// The catalogue key of the tree's name.
    pub fn label_key(self) -> &'static str {
        match self {
            TreeKind::Kb => "kb-label-kb",
            TreeKind::Faq => "kb-label-faq",
        }
    }

    /// The tree's name in the current language.
    pub fn label(self) -> String {
        crate::t(self.label_key())
    }

    /// The audit summary key of one of its nodes (`$name`).
    pub fn audit_key(self) -> &'static str {
        match self {
            TreeKind::Kb => "audit-t-kb",
            TreeKind::Faq => "audit-t-faq",
        }
    }
}

/// One folder or entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub id: i64,
    pub kind: TreeKind,
    pub parent_id: Option<i64>,
    pub folder: bool,
    pub title: String,
    /// The text sent (an entry of type 文字 ).
    pub body: String,
    /// An image under the media directory (an entry of type 图片 ), else empty.
    pub image: String,
    /// Words to search by (comma separated as typed).
    pub keywords: String,
    pub enabled: bool,
    /// The NEW badge is shown up to this local date (YYYY-MM-DD).
    pub new_until: Option<String>,
    /// Valid from / to these local dates; `None`: open end — 永久有效 when both.
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    /// Times an agent inserted or sent it.
    pub uses: i64,
    pub position: i64,
    pub created_at: jiff::Timestamp,
}

/// What a form sets on a node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    pub folder: bool,
    pub title: String,
    pub body: String,
    pub image: String,
    pub keywords: String,
    pub enabled: bool,
    pub new_until: Option<String>,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
}

const COLUMNS: &str = "id, kind, parent_id, folder, title, body, image, keywords, enabled,
    new_until, valid_from, valid_to, uses, position, created_at";

fn node(r: &Row<'_>) -> rusqlite::Result<Node> {
    let kind: String = r.get(1)?;
    Ok(Node {
        id: r.get(0)?,
        kind: TreeKind::parse(&kind).unwrap_or(TreeKind::Kb),
        parent_id: r.get(2)?,
        folder: r.get(3)?,
        title: r.get(4)?,
        body: r.get(5)?,
        image: r.get(6)?,
        keywords: r.get(7)?,
        enabled: r.get(8)?,
        new_until: r.get(9)?,
        valid_from: r.get(10)?,
        valid_to: r.get(11)?,
        uses: r.get(12)?,
        position: r.get(13)?,
        created_at: ts(r.get(14)?),
    })
}

/// The whole tree, siblings by position then id.
pub fn all(c: &Connection, kind: TreeKind) -> DbResult<Vec<Node>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM tree_nodes WHERE kind = ?1 ORDER BY position, id"
    ))?;
    let rows = stmt
        .query_map([kind.as_str()], node)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn get(c: &Connection, id: i64) -> DbResult<Option<Node>> {
    Ok(c.row(
        &format!("SELECT {COLUMNS} FROM tree_nodes WHERE id = ?1"),
        [id],
        node,
    )
    .optional()?)
}

/// The node and its ancestors, the node first.
pub fn lineage(c: &Connection, id: i64) -> DbResult<Vec<i64>> {
    let mut stmt = c.prepare_cached(
        "WITH RECURSIVE up (id, parent_id, n) AS (
             SELECT id, parent_id, 0 FROM tree_nodes WHERE id = ?1
             UNION ALL SELECT t.id, t.parent_id, up.n + 1 FROM tree_nodes t JOIN up ON t.id = up.parent_id
             WHERE up.n < 64)
         SELECT id FROM up ORDER BY n",
    )?;
    let ids = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

/// The groups that reach `id`: given it or one of its ancestors.
pub fn groups_of(c: &Connection, id: i64) -> DbResult<Vec<GroupId>> {
    let mut out: Vec<GroupId> = Vec::new();
    let mut stmt = c.prepare_cached("SELECT group_id FROM group_tree_roots WHERE node_id = ?1")?;
    for n in lineage(c, id)? {
        for g in stmt.query_map([n], |r| r.get::<_, GroupId>(0))? {
            let g = g?;
            if !out.contains(&g) {
                out.push(g);
            }
        }
    }
    Ok(out)
}

/// Adds a node at the end of its siblings. `Err` when the parent is not a
/// folder of the same tree.
pub fn add(
    c: &Connection,
    kind: TreeKind,
    parent: Option<i64>,
    f: &Fields,
    now: jiff::Timestamp,
) -> DbResult<Result<i64, &'static str>> {
    if let Some(p) = parent {
        if get(c, p)?.is_none_or(|p| p.kind != kind || !p.folder) {
            return Ok(Err("tree-parent-missing"));
        }
    }
    let position: i64 = c.row(
        "SELECT coalesce(max(position) + 1, 0) FROM tree_nodes WHERE kind = ?1 AND parent_id IS ?2",
        params![kind.as_str(), parent],
        |r| r.get(0),
    )?;
    c.exec(
        "INSERT INTO tree_nodes (kind, parent_id, folder, title, body, image, keywords, enabled,
             new_until, valid_from, valid_to, position, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
        params![
            kind.as_str(),
            parent,
            f.folder,
            f.title,
            f.body,
            f.image,
            f.keywords,
            f.enabled,
            f.new_until,
            f.valid_from,
            f.valid_to,
            position,
            ms(now)
        ],
    )?;
    Ok(Ok(c.last_insert_rowid()))
}

/// Changes what a form sets (a folder stays a folder, an entry an entry).
pub fn update(c: &Connection, id: i64, f: &Fields, now: jiff::Timestamp) -> DbResult<bool> {
    Ok(c.exec(
        "UPDATE tree_nodes SET title = ?2, body = ?3, image = ?4, keywords = ?5, enabled = ?6,
             new_until = ?7, valid_from = ?8, valid_to = ?9, updated_at = ?10
         WHERE id = ?1",
        params![
            id,
            f.title,
            f.body,
            f.image,
            f.keywords,
            f.enabled,
            f.new_until,
            f.valid_from,
            f.valid_to,
            ms(now)
        ],
    )? == 1)
}

pub fn set_enabled(c: &Connection, id: i64, on: bool) -> DbResult<bool> {
    Ok(c.exec(
        "UPDATE tree_nodes SET enabled = ?2 WHERE id = ?1",
        params![id, on],
    )? == 1)
}

/// Deletes a node with its subtree.
pub fn delete(c: &Connection, id: i64) -> DbResult<bool> {
    Ok(c.exec("DELETE FROM tree_nodes WHERE id = ?1", [id])? == 1)
}

/// Moves a node (with its subtree) to the end of another folder of the same
/// tree, or to the top level (`None`). Refused into itself or below itself.
pub fn move_to(
    c: &Connection,
    id: i64,
    parent: Option<i64>,
    now: jiff::Timestamp,
) -> DbResult<Result<(), &'static str>> {
    let Some(n) = get(c, id)? else {
        return Ok(Err("tree-node-missing"));
    };
    if let Some(p) = parent {
        match get(c, p)? {
            Some(p) if p.kind == n.kind && p.folder => {}
            _ => return Ok(Err("tree-target-missing")),
        }
        if lineage(c, p)?.contains(&id) {
            return Ok(Err("tree-move-into-self"));
        }
    }
    let position: i64 = c.row(
        "SELECT coalesce(max(position) + 1, 0) FROM tree_nodes WHERE kind = ?1 AND parent_id IS ?2",
        params![n.kind.as_str(), parent],
        |r| r.get(0),
    )?;
    c.exec(
        "UPDATE tree_nodes SET parent_id = ?2, position = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, parent, position, ms(now)],
    )?;
    Ok(Ok(()))
}

/// Moves a node one place up or down among its siblings (renumbering them).
pub fn reorder(c: &Connection, id: i64, up: bool) -> DbResult<bool> {
    let Some(n) = get(c, id)? else {
        return Ok(false);
    };
    let mut siblings: Vec<i64> = c
        .prepare_cached(
            "SELECT id FROM tree_nodes WHERE kind = ?1 AND parent_id IS ?2 ORDER BY position, id",
        )?
        .query_map(params![n.kind.as_str(), n.parent_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let Some(i) = siblings.iter().position(|s| *s == id) else {
        return Ok(false);
    };
    let j = if up { i.checked_sub(1) } else { Some(i + 1) };
    let Some(j) = j.filter(|j| *j < siblings.len()) else {
        return Ok(false);
    };
    siblings.swap(i, j);
    let mut stmt = c.prepare_cached("UPDATE tree_nodes SET position = ?2 WHERE id = ?1")?;
    for (pos, sid) in siblings.iter().enumerate() {
        stmt.execute(params![sid, pos as i64])?;
    }
    Ok(true)
}

/// Counts one use (an agent inserted or sent the entry).
pub fn count_use(c: &Connection, id: i64) -> DbResult<bool> {
    Ok(c.exec("UPDATE tree_nodes SET uses = uses + 1 WHERE id = ?1", [id])? == 1)
}

// ---- subtrees given to groups (S3 2.4) --------------------------------------

/// The roots given to `group` in this tree, in tree order. A root inside
/// another of the group's roots (an entry given on its own, then moved into a
/// given folder) is left out: the folder brings it, in its place.
pub fn roots(c: &Connection, kind: TreeKind, group: GroupId) -> DbResult<Vec<i64>> {
    let mut stmt = c.prepare_cached(
        "SELECT r.node_id FROM group_tree_roots r JOIN tree_nodes t ON t.id = r.node_id
         WHERE r.group_id = ?1 AND t.kind = ?2 ORDER BY t.position, t.id",
    )?;
    let ids = stmt
        .query_map(params![group, kind.as_str()], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in &ids {
        if !lineage(c, *id)?.iter().skip(1).any(|a| ids.contains(a)) {
            out.push(*id);
        }
    }
    Ok(out)
}

/// The roots given to any of `groups`, without repeats, in tree order.
pub fn roots_of(c: &Connection, kind: TreeKind, groups: &[GroupId]) -> DbResult<Vec<i64>> {
    let mut out = Vec::new();
    for g in groups {
        for r in roots(c, kind, *g)? {
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// Gives `group` exactly these roots of this tree.
pub fn set_roots(c: &Connection, kind: TreeKind, group: GroupId, nodes: &[i64]) -> DbResult<()> {
    c.exec(
        "DELETE FROM group_tree_roots WHERE group_id = ?1
         AND node_id IN (SELECT id FROM tree_nodes WHERE kind = ?2)",
        params![group, kind.as_str()],
    )?;
    for n in nodes {
        give(c, group, *n)?;
    }
    Ok(())
}

/// Gives `group` one more root (nothing when it has it already).
pub fn give(c: &Connection, group: GroupId, node: i64) -> DbResult<()> {
    c.exec(
        "INSERT OR IGNORE INTO group_tree_roots (group_id, node_id) VALUES (?1, ?2)",
        params![group, node],
    )?;
    Ok(())
}

/// The folder new entries of `group` go to by default: its first folder in
/// this tree, made (named after the group, and given to it) when it has none.
pub fn group_folder(
    c: &Connection,
    kind: TreeKind,
    group: GroupId,
    now: jiff::Timestamp,
) -> DbResult<i64> {
    for r in roots(c, kind, group)? {
        if get(c, r)?.is_some_and(|n| n.folder) {
            return Ok(r);
        }
    }
    let name: String = c.row("SELECT name FROM groups WHERE id = ?1", [group], |r| {
        r.get(0)
    })?;
    let f = Fields {
        folder: true,
        title: name.chars().take(100).collect(),
        enabled: true,
        ..Fields::default()
    };
    let id = add(c, kind, None, &f, now)?.map_err(|e| super::DbError::Commit(e.into()))?;
    give(c, group, id)?;
    Ok(id)
}

/// The folder named `name` directly under `parent`, made when missing.
pub fn child_folder(
    c: &Connection,
    kind: TreeKind,
    parent: i64,
    name: &str,
    now: jiff::Timestamp,
) -> DbResult<i64> {
    let found: Option<i64> = c
        .row(
            "SELECT id FROM tree_nodes WHERE parent_id = ?1 AND folder = 1 AND title = ?2
             ORDER BY position, id LIMIT 1",
            params![parent, name],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    let f = Fields {
        folder: true,
        title: name.into(),
        enabled: true,
        ..Fields::default()
    };
    add(c, kind, Some(parent), &f, now)?.map_err(|e| super::DbError::Commit(e.into()))
}

// ---- where a follower is in the FAQ menu ------------------------------------

/// The folder the follower last opened (`None`: the top) and when.
pub fn cursor(
    c: &Connection,
    follower: FollowerId,
) -> DbResult<Option<(Option<i64>, jiff::Timestamp)>> {
    Ok(c.row(
        "SELECT node_id, at FROM faq_cursors WHERE follower_id = ?1",
        [follower],
        |r| Ok((r.get(0)?, ts(r.get(1)?))),
    )
    .optional()?)
}

pub fn set_cursor(
    c: &Connection,
    follower: FollowerId,
    folder: Option<i64>,
    now: jiff::Timestamp,
) -> DbResult<()> {
    c.exec(
        "INSERT INTO faq_cursors (follower_id, node_id, at) VALUES (?1, ?2, ?3)
         ON CONFLICT (follower_id) DO UPDATE SET node_id = ?2, at = ?3",
        params![follower, folder, ms(now)],
    )?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::db::{groups::tests::seed_group, memory};

    pub(crate) fn text(title: &str, body: &str) -> Fields {
        Fields {
            title: title.into(),
            body: body.into(),
            enabled: true,
            ..Fields::default()
        }
    }

    pub(crate) fn folder(title: &str) -> Fields {
        Fields {
            folder: true,
            title: title.into(),
            enabled: true,
            ..Fields::default()
        }
    }

    #[test]
    fn nodes_are_added_moved_sorted_and_deleted_with_their_subtree() {
        let c = memory().unwrap();
        let t = jiff::Timestamp::UNIX_EPOCH;
        let kb = TreeKind::Kb;
        let a = add(&c, kb, None, &folder("日常接待"), t).unwrap().unwrap();
        let b = add(&c, kb, None, &folder("售后"), t).unwrap().unwrap();
        let a1 = add(&c, kb, Some(a), &text("开始接待", "您好"), t)
            .unwrap()
            .unwrap();
        let a2 = add(&c, kb, Some(a), &folder("物流"), t).unwrap().unwrap();
        assert_eq!(
            add(&c, kb, Some(a1), &text("x", "y"), t).unwrap(),
            Err("tree-parent-missing"),
            "an entry is not a folder"
        );
        assert_eq!(
            add(&c, TreeKind::Faq, Some(a), &text("x", "y"), t).unwrap(),
            Err("tree-parent-missing"),
            "a folder of the other tree"
        );
        assert_eq!(
            move_to(&c, a, Some(a2), t).unwrap(),
            Err("tree-move-into-self")
        );
        assert_eq!(move_to(&c, a2, Some(b), t).unwrap(), Ok(()));
        assert_eq!(get(&c, a2).unwrap().unwrap().parent_id, Some(b));
        assert_eq!(lineage(&c, a2).unwrap(), [a2, b]);
        assert!(reorder(&c, b, true).unwrap());
        assert!(!reorder(&c, b, true).unwrap(), "already first");
        let order: Vec<i64> = all(&c, kb)
            .unwrap()
            .iter()
            .filter(|n| n.parent_id.is_none())
            .map(|n| n.id)
            .collect();
        assert_eq!(order, [b, a]);

        let g = seed_group(&c, "售前", "pre");
        give(&c, g, b).unwrap();
        assert_eq!(groups_of(&c, a2).unwrap(), [g], "reached through its root");
        assert!(groups_of(&c, a1).unwrap().is_empty());
        assert_eq!(roots(&c, kb, g).unwrap(), [b]);
        assert!(roots(&c, TreeKind::Faq, g).unwrap().is_empty());
        // An entry given on its own, then moved into a given folder: the
        // folder brings it (it is not drawn twice, once above its folder).
        let loose = add(&c, kb, None, &text("报价", "A款99元"), t)
            .unwrap()
            .unwrap();
        give(&c, g, loose).unwrap();
        assert_eq!(roots(&c, kb, g).unwrap(), [b, loose]);
        assert_eq!(move_to(&c, loose, Some(a2), t).unwrap(), Ok(()));
        assert_eq!(roots(&c, kb, g).unwrap(), [b]);

        assert!(count_use(&c, a1).unwrap());
        assert_eq!(get(&c, a1).unwrap().unwrap().uses, 1);
        assert!(delete(&c, a).unwrap());
        assert!(get(&c, a1).unwrap().is_none(), "the subtree went too");
    }
}
