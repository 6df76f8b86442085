//! The trees agents pick from: 咨询分类 per group (B8, E6) and 会话标签 for
//! the whole system (B12, E5); the knowledge base (D6, E3) lives in
//! `db::tree` (`add_kb` here seeds it). Trees are stored as `parent_id` +
//! `position` and handed out in depth-first order with each node's depth, so a template draws them with an
//! indent and no recursion. Names are checked by the caller; the `CHECK`
//! constraints are the last line of defence.

use super::DbResult;
use crate::model::GroupId;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Category {
    pub id: i64,
    pub group_id: GroupId,
    pub parent_id: Option<i64>,
    pub name: String,
    pub depth: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub depth: usize,
}

/// Orders `(id, parent, node)` rows, already sorted by position then id,
/// depth-first: each node followed by its subtree. A node whose parent is not
/// among the rows is treated as a root, so nothing is ever lost from a list.
fn depth_first<T>(rows: Vec<(i64, Option<i64>, T)>) -> Vec<(T, usize)> {
    let ids: std::collections::HashSet<i64> = rows.iter().map(|(id, _, _)| *id).collect();
    let mut children: HashMap<Option<i64>, Vec<i64>> = HashMap::new();
    let mut nodes: HashMap<i64, T> = HashMap::new();
    for (id, parent, node) in rows {
        let parent = parent.filter(|p| ids.contains(p) && *p != id);
        children.entry(parent).or_default().push(id);
        nodes.insert(id, node);
    }
    let mut out = Vec::with_capacity(nodes.len());
    // A stack of (id, depth); children pushed in reverse keep their order.
    let mut stack: Vec<(i64, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|id| (*id, 0)).collect())
        .unwrap_or_default();
    while let Some((id, depth)) = stack.pop() {
        let Some(node) = nodes.remove(&id) else {
            continue; // a cycle: already placed
        };
        out.push((node, depth));
        if let Some(kids) = children.get(&Some(id)) {
            stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
        }
    }
    out
}

/// One past the largest position `sql` selects (0 for the first sibling).
fn next_position(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> DbResult<i64> {
    Ok(conn
        .query_row(sql, p, |r| r.get::<_, Option<i64>>(0))?
        .map_or(0, |n| n + 1))
}

/// Moves `id` one place up or down among the siblings listed by `sql`
/// (ids in display order), renumbering them 0..n in `table`.
fn move_among(
    conn: &Connection,
    table: &str,
    sql: &str,
    p: impl rusqlite::Params,
    id: i64,
    up: bool,
) -> DbResult<bool> {
    let mut siblings: Vec<i64> = conn
        .prepare(sql)?
        .query_map(p, |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let Some(i) = siblings.iter().position(|s| *s == id) else {
        return Ok(false);
    };
    let j = if up { i.checked_sub(1) } else { Some(i + 1) };
    let Some(j) = j.filter(|j| *j < siblings.len()) else {
        return Ok(false);
    };
    siblings.swap(i, j);
    let mut stmt = conn.prepare(&format!("UPDATE {table} SET position = ?2 WHERE id = ?1"))?;
    for (pos, sid) in siblings.iter().enumerate() {
        stmt.execute(params![sid, pos as i64])?;
    }
    Ok(true)
}

// ---- 咨询分类 -------------------------------------------------------------

/// The group's categories in tree order (children after their parent, by position then id).
pub fn categories(conn: &Connection, group: GroupId) -> DbResult<Vec<Category>> {
    let mut stmt = conn.prepare(
        "SELECT id, parent_id, name FROM categories WHERE group_id = ?1 ORDER BY position, id",
    )?;
    let rows = stmt
        .query_map([group], |r| {
            let (id, parent): (i64, Option<i64>) = (r.get(0)?, r.get(1)?);
            Ok((id, parent, (id, parent, r.get::<_, String>(2)?)))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(depth_first(rows)
        .into_iter()
        .map(|((id, parent_id, name), depth)| Category {
            id,
            group_id: group,
            parent_id,
            name,
            depth,
        })
        .collect())
}

/// One category (depth 0: the depth is only known in a tree).
pub fn category(conn: &Connection, id: i64) -> DbResult<Option<Category>> {
    Ok(conn
        .query_row(
            "SELECT id, group_id, parent_id, name FROM categories WHERE id = ?1",
            [id],
            |r| {
                Ok(Category {
                    id: r.get(0)?,
                    group_id: r.get(1)?,
                    parent_id: r.get(2)?,
                    name: r.get(3)?,
                    depth: 0,
                })
            },
        )
        .optional()?)
}

/// Adds a category at the end of its siblings; `Err` when the parent is not a
/// category of the same group.
pub fn add_category(
    conn: &Connection,
    group: GroupId,
    parent: Option<i64>,
    name: &str,
) -> DbResult<Result<i64, &'static str>> {
    if let Some(p) = parent {
        if category(conn, p)?.is_none_or(|c| c.group_id != group) {
            return Ok(Err("tax-parent-category-missing"));
        }
    }
    let position = next_position(
        conn,
        "SELECT max(position) FROM categories WHERE group_id = ?1 AND parent_id IS ?2",
        params![group, parent],
    )?;
    conn.execute(
        "INSERT INTO categories (group_id, parent_id, name, position) VALUES (?1, ?2, ?3, ?4)",
        params![group, parent, name, position],
    )?;
    Ok(Ok(conn.last_insert_rowid()))
}

pub fn rename_category(conn: &Connection, id: i64, name: &str) -> DbResult<bool> {
    Ok(conn.execute(
        "UPDATE categories SET name = ?2 WHERE id = ?1",
        params![id, name],
    )? == 1)
}

/// Deletes a category with its subtree (and their use on ended conversations).
pub fn delete_category(conn: &Connection, id: i64) -> DbResult<bool> {
    Ok(conn.execute("DELETE FROM categories WHERE id = ?1", [id])? == 1)
}

/// Moves a category one place up or down among its siblings.
pub fn move_category(conn: &Connection, id: i64, up: bool) -> DbResult<bool> {
    let Some(c) = category(conn, id)? else {
        return Ok(false);
    };
    move_among(
        conn,
        "categories",
        "SELECT id FROM categories WHERE group_id = ?1 AND parent_id IS ?2 ORDER BY position, id",
        params![c.group_id, c.parent_id],
        id,
        up,
    )
}

// ---- 会话标签 -------------------------------------------------------------

/// All tags in tree order.
pub fn tags(conn: &Connection) -> DbResult<Vec<Tag>> {
    let mut stmt = conn.prepare("SELECT id, parent_id, name FROM tags ORDER BY position, id")?;
    let rows = stmt
        .query_map([], |r| {
            let (id, parent): (i64, Option<i64>) = (r.get(0)?, r.get(1)?);
            Ok((id, parent, (id, parent, r.get::<_, String>(2)?)))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(depth_first(rows)
        .into_iter()
        .map(|((id, parent_id, name), depth)| Tag {
            id,
            parent_id,
            name,
            depth,
        })
        .collect())
}

pub fn tag(conn: &Connection, id: i64) -> DbResult<Option<Tag>> {
    Ok(conn
        .query_row(
            "SELECT id, parent_id, name FROM tags WHERE id = ?1",
            [id],
            |r| {
                Ok(Tag {
                    id: r.get(0)?,
                    parent_id: r.get(1)?,
                    name: r.get(2)?,
                    depth: 0,
                })
            },
        )
        .optional()?)
}

/// Adds a tag at the end of its siblings; `Err` when the parent does not exist.
pub fn add_tag(
    conn: &Connection,
    parent: Option<i64>,
    name: &str,
) -> DbResult<Result<i64, &'static str>> {
    if let Some(p) = parent {
        if tag(conn, p)?.is_none() {
            return Ok(Err("tax-parent-tag-missing"));
        }
    }
    let position = next_position(
        conn,
        "SELECT max(position) FROM tags WHERE parent_id IS ?1",
        [parent],
    )?;
    conn.execute(
        "INSERT INTO tags (parent_id, name, position) VALUES (?1, ?2, ?3)",
        params![parent, name, position],
    )?;
    Ok(Ok(conn.last_insert_rowid()))
}

pub fn rename_tag(conn: &Connection, id: i64, name: &str) -> DbResult<bool> {
    Ok(conn.execute("UPDATE tags SET name = ?2 WHERE id = ?1", params![id, name])? == 1)
}

/// Deletes a tag with its subtree and every tagging that used them.
pub fn delete_tag(conn: &Connection, id: i64) -> DbResult<bool> {
    Ok(conn.execute("DELETE FROM tags WHERE id = ?1", [id])? == 1)
}

/// The tag and every tag below it (for "tagged with X or a child of X").
pub fn tag_subtree(conn: &Connection, id: i64) -> DbResult<Vec<i64>> {
    let mut stmt = conn.prepare(
        "WITH RECURSIVE sub (id) AS (
             SELECT id FROM tags WHERE id = ?1
             UNION SELECT t.id FROM tags t JOIN sub ON t.parent_id = sub.id)
         SELECT id FROM sub",
    )?;
    let ids = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

// ---- 知识库 ---------------------------------------------------------------

/// Adds a knowledge-base entry for `group` (seeds and tests): under the
/// group's folder of the tree (`db::tree`), in a sub-folder named `folder`
/// when it is not empty. Returns the entry's id.
pub fn add_kb(
    conn: &Connection,
    group: GroupId,
    folder: &str,
    title: &str,
    body: &str,
    now: jiff::Timestamp,
) -> DbResult<i64> {
    use super::tree::{self, TreeKind};
    let mut parent = tree::group_folder(conn, TreeKind::Kb, group, now)?;
    if !folder.trim().is_empty() {
        parent = tree::child_folder(conn, TreeKind::Kb, parent, folder.trim(), now)?;
    }
    let f = tree::Fields {
        title: title.into(),
        body: body.into(),
        enabled: true,
        ..tree::Fields::default()
    };
    tree::add(conn, TreeKind::Kb, Some(parent), &f, now)?
        .map_err(|e| super::DbError::Commit(e.into()))
}

/// The ids of a group's categories.
pub fn category_ids(conn: &Connection, group: GroupId) -> DbResult<Vec<i64>> {
    let mut stmt = conn.prepare_cached("SELECT id FROM categories WHERE group_id = ?1")?;
    let ids = stmt
        .query_map([group], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{groups::tests::seed_group, memory};

    fn names_with_depth(c: &[Category]) -> Vec<(String, usize)> {
        c.iter().map(|c| (c.name.clone(), c.depth)).collect()
    }

    #[test]
    fn categories_come_in_tree_order_and_move_among_siblings() {
        let conn = memory().unwrap();
        let g = seed_group(&conn, "售前", "pre");
        let other = seed_group(&conn, "售后", "post");
        let price = add_category(&conn, g, None, "价格").unwrap().unwrap();
        let ship = add_category(&conn, g, None, "物流").unwrap().unwrap();
        add_category(&conn, g, Some(price), "优惠")
            .unwrap()
            .unwrap();
        let late = add_category(&conn, g, Some(ship), "延误").unwrap().unwrap();
        add_category(&conn, g, Some(late), "超过七天")
            .unwrap()
            .unwrap();
        add_category(&conn, other, None, "退货").unwrap().unwrap();
        assert_eq!(
            add_category(&conn, other, Some(price), "x").unwrap(),
            Err("tax-parent-category-missing"),
            "a parent of another group is refused"
        );

        let tree = categories(&conn, g).unwrap();
        assert_eq!(
            names_with_depth(&tree),
            [
                ("价格".into(), 0),
                ("优惠".into(), 1),
                ("物流".into(), 0),
                ("延误".into(), 1),
                ("超过七天".into(), 2)
            ]
        );
        assert!(tree.iter().all(|c| c.group_id == g));
        assert_eq!(tree[3].parent_id, Some(ship));

        assert!(move_category(&conn, ship, true).unwrap());
        assert!(!move_category(&conn, ship, true).unwrap(), "already first");
        let names: Vec<String> = categories(&conn, g)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["物流", "延误", "超过七天", "价格", "优惠"]);

        assert!(rename_category(&conn, late, "严重延误").unwrap());
        assert!(delete_category(&conn, ship).unwrap());
        let names: Vec<String> = categories(&conn, g)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["价格", "优惠"], "the subtree went with its parent");
        assert_eq!(categories(&conn, other).unwrap().len(), 1);
        assert!(
            add_category(&conn, g, None, "").is_err(),
            "CHECK refuses an empty name"
        );
    }

    #[test]
    fn tags_form_one_tree_and_a_subtree_can_be_listed() {
        let conn = memory().unwrap();
        let a = add_tag(&conn, None, "投诉").unwrap().unwrap();
        let b = add_tag(&conn, None, "表扬").unwrap().unwrap();
        let a1 = add_tag(&conn, Some(a), "态度").unwrap().unwrap();
        let a11 = add_tag(&conn, Some(a1), "回复慢").unwrap().unwrap();
        assert_eq!(
            add_tag(&conn, Some(999), "x").unwrap(),
            Err("tax-parent-tag-missing")
        );
        let tree: Vec<(String, usize)> = tags(&conn)
            .unwrap()
            .into_iter()
            .map(|t| (t.name, t.depth))
            .collect();
        assert_eq!(
            tree,
            [
                ("投诉".into(), 0),
                ("态度".into(), 1),
                ("回复慢".into(), 2),
                ("表扬".into(), 0)
            ]
        );
        let mut sub = tag_subtree(&conn, a).unwrap();
        sub.sort();
        assert_eq!(sub, [a, a1, a11]);
        assert!(rename_tag(&conn, b, "好评").unwrap());
        assert!(delete_tag(&conn, a).unwrap());
        let left: Vec<String> = tags(&conn).unwrap().into_iter().map(|t| t.name).collect();
        assert_eq!(left, ["好评"]);
    }
}
