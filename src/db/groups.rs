//! Agent groups (客服组, E2).

use super::{Cached, DbResult, ms, ts};
use crate::model::{AccountId, Group, GroupId, User, UserId};
use rusqlite::{Connection, OptionalExtension, Row, params};

pub(crate) const COLUMNS: &str = "g.id, g.name, g.ident, g.phone, g.public_name, g.public_visible,
    (SELECT c.username FROM users c WHERE c.id = g.created_by), g.created_at";

pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<Group> {
    Ok(Group {
        id: r.get(0)?,
        name: r.get(1)?,
        ident: r.get(2)?,
        phone: r.get(3)?,
        public_name: r.get(4)?,
        public_visible: r.get(5)?,
        created_by: r.get(6)?,
        created_at: ts(r.get(7)?),
    })
}

/// The editable fields of a group.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GroupFields {
    pub name: String,
    pub ident: String,
    pub phone: String,
    pub public_name: String,
    pub public_visible: bool,
}

impl From<&Group> for GroupFields {
    fn from(g: &Group) -> Self {
        GroupFields {
            name: g.name.clone(),
            ident: g.ident.clone(),
            phone: g.phone.clone(),
            public_name: g.public_name.clone(),
            public_visible: g.public_visible,
        }
    }
}

/// A group with how many members it has.
#[derive(Clone, Debug)]
pub struct GroupRow {
    pub group: Group,
    pub members: i64,
}

pub fn list(conn: &Connection) -> DbResult<Vec<GroupRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS}, (SELECT count(*) FROM group_members m WHERE m.group_id = g.id)
         FROM groups g ORDER BY g.id"
    ))?;
    let rows = stmt
        .query_map([], |r| {
            Ok(GroupRow {
                group: from_row(r)?,
                members: r.get(8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, id: GroupId) -> DbResult<Option<Group>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM groups g WHERE g.id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

pub fn insert(
    conn: &Connection,
    f: &GroupFields,
    by: Option<UserId>,
    now: jiff::Timestamp,
) -> DbResult<GroupId> {
    conn.execute(
        "INSERT INTO groups (name, ident, phone, public_name, public_visible, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![f.name, f.ident, f.phone, f.public_name, f.public_visible, by, ms(now)],
    )?;
    Ok(GroupId(conn.last_insert_rowid()))
}

pub fn update(
    conn: &Connection,
    id: GroupId,
    f: &GroupFields,
    now: jiff::Timestamp,
) -> DbResult<bool> {
    let n = conn.execute(
        "UPDATE groups SET name = ?2, ident = ?3, phone = ?4, public_name = ?5, public_visible = ?6,
                           updated_at = ?7
         WHERE id = ?1",
        params![id, f.name, f.ident, f.phone, f.public_name, f.public_visible, ms(now)],
    )?;
    Ok(n == 1)
}

pub fn members(conn: &Connection, id: GroupId) -> DbResult<Vec<User>> {
    let mut stmt = conn.prepare(
        "SELECT u.id FROM users u JOIN group_members m ON m.user_id = u.id
         WHERE m.group_id = ?1 ORDER BY u.id",
    )?;
    let ids = stmt
        .query_map([id], |r| r.get::<_, UserId>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut users = Vec::with_capacity(ids.len());
    for uid in ids {
        if let Some(u) = super::users::get(conn, uid)? {
            users.push(u);
        }
    }
    Ok(users)
}

/// The group new conversations of `account` go to: its first group. An
/// account left without one (it should not happen: creating an account links
/// one, and the only group of an account cannot be deleted) is linked to the
/// default group here, so a push is never refused for want of a group.
pub fn serving(conn: &Connection, account: AccountId, now: jiff::Timestamp) -> DbResult<GroupId> {
    let first: Option<GroupId> = conn
        .row(
            "SELECT group_id FROM account_groups WHERE account_id = ?1 ORDER BY group_id LIMIT 1",
            [account],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(g) = first {
        return Ok(g);
    }
    let g = default_group(conn, now)?;
    conn.exec(
        "INSERT OR IGNORE INTO account_groups (account_id, group_id) VALUES (?1, ?2)",
        params![account, g],
    )?;
    tracing::warn!(account = %account, group = %g, "account served no group; linked to the default group");
    Ok(g)
}

/// The group a new account is linked to when none is chosen: the first group,
/// or a new 客服组 on a fresh install.
pub fn default_group(conn: &Connection, now: jiff::Timestamp) -> DbResult<GroupId> {
    let first: Option<GroupId> = conn
        .row("SELECT min(id) FROM groups", [], |r| r.get(0))
        .optional()?
        .flatten();
    if let Some(g) = first {
        return Ok(g);
    }
    insert(
        conn,
        &GroupFields {
            name: DEFAULT_GROUP_NAME.into(),
            ident: "kefu".into(),
            phone: String::new(),
            public_name: String::new(),
            public_visible: true,
        },
        None,
        now,
    )
}

/// The name of the group a fresh install makes for its first account.
pub const DEFAULT_GROUP_NAME: &str = "客服组";

/// Why a group cannot be deleted now, if it cannot (E2: a group in use stays).
/// Members, conversations (open or ended: their history keeps its group) and
/// accounts it alone serves keep a group.
pub fn in_use(conn: &Connection, id: GroupId) -> DbResult<Option<String>> {
    let members: i64 = conn.query_row(
        "SELECT count(*) FROM group_members WHERE group_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    if members > 0 {
        return Ok(Some(crate::t1("valid-group-members", "n", members)));
    }
    let open: i64 = conn.query_row(
        "SELECT count(*) FROM conversations WHERE group_id = ?1 AND state <> 'ended'",
        [id],
        |r| r.get(0),
    )?;
    if open > 0 {
        return Ok(Some(crate::t1("valid-group-open", "n", open)));
    }
    let past: i64 = conn.query_row(
        "SELECT count(*) FROM conversations WHERE group_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    if past > 0 {
        return Ok(Some(crate::t1("valid-group-past", "n", past)));
    }
    let alone: Vec<String> = {
        let mut stmt = conn.prepare(
            "SELECT a.name FROM accounts a JOIN account_groups x ON x.account_id = a.id
             WHERE x.group_id = ?1
               AND NOT EXISTS (SELECT 1 FROM account_groups y
                               WHERE y.account_id = a.id AND y.group_id <> ?1)
             ORDER BY a.id",
        )?;
        stmt.query_map([id], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?
    };
    if !alone.is_empty() {
        return Ok(Some(crate::t1(
            "valid-group-sole",
            "accounts",
            alone.join("、"),
        )));
    }
    Ok(None)
}

/// Deletes the group; refused (returns the reason) while it is in use.
pub fn delete(conn: &Connection, id: GroupId) -> DbResult<Result<(), String>> {
    if let Some(reason) = in_use(conn, id)? {
        return Ok(Err(reason));
    }
    conn.execute("DELETE FROM groups WHERE id = ?1", [id])?;
    Ok(Ok(()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::db::{memory, users};
    use crate::model::Role;

    pub fn seed_group(conn: &Connection, name: &str, ident: &str) -> GroupId {
        let f = GroupFields {
            name: name.into(),
            ident: ident.into(),
            phone: String::new(),
            public_name: name.into(),
            public_visible: true,
        };
        insert(conn, &f, None, jiff::Timestamp::UNIX_EPOCH).unwrap()
    }

    #[test]
    fn delete_is_refused_while_the_group_has_members() {
        let conn = memory().unwrap();
        let g = seed_group(&conn, "售后", "after-sales");
        let u = users::tests::seed_user(&conn, "amy", Role::Agent);
        users::set_groups(&conn, u, &[g]).unwrap();
        let refused = delete(&conn, g).unwrap().unwrap_err();
        assert!(refused.contains("1 名成员"), "{refused}");
        assert!(get(&conn, g).unwrap().is_some());

        users::set_groups(&conn, u, &[]).unwrap();
        // An open conversation in the group keeps it too.
        let acc = crate::db::accounts::tests::seed_account(&conn, "wx1");
        let t = jiff::Timestamp::UNIX_EPOCH;
        let f = crate::db::followers::upsert(&conn, acc, "oA", t).unwrap();
        let c = crate::db::conversations::open(&conn, acc, f, g, t)
            .unwrap()
            .unwrap();
        let refused = delete(&conn, g).unwrap().unwrap_err();
        assert!(refused.contains("1 个未结束的会话"), "{refused}");
        let abandon = crate::engine::lifecycle::Step::Abandon;
        crate::db::conversations::step(&conn, c, abandon, "", t)
            .unwrap()
            .unwrap();
        // Ended conversations keep it as well: their history stays in a group.
        let refused = delete(&conn, g).unwrap().unwrap_err();
        assert!(refused.contains("1 个历史会话"), "{refused}");
        assert!(get(&conn, g).unwrap().is_some());

        // A group that is the only one of an account stays; a second one goes.
        let lone = seed_group(&conn, "售前", "pre");
        crate::db::accounts::set_groups(&conn, acc, &[lone]).unwrap();
        let refused = delete(&conn, lone).unwrap().unwrap_err();
        assert!(refused.contains("只由该客服组接待"), "{refused}");
        let spare = seed_group(&conn, "备用", "spare");
        crate::db::accounts::set_groups(&conn, acc, &[lone, spare]).unwrap();
        delete(&conn, spare).unwrap().unwrap();
        assert!(get(&conn, spare).unwrap().is_none());
        // And the database itself refuses to orphan a conversation.
        assert!(
            conn.execute("DELETE FROM groups WHERE id = ?1", [g])
                .is_err()
        );
    }

    #[test]
    fn update_and_list_count_members() {
        let conn = memory().unwrap();
        let g = seed_group(&conn, "售前", "pre");
        let mut f = GroupFields::from(&get(&conn, g).unwrap().unwrap());
        f.public_visible = false;
        f.phone = "400-800".into();
        assert!(update(&conn, g, &f, jiff::Timestamp::UNIX_EPOCH).unwrap());
        let rows = list(&conn).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].members, 0);
        assert!(!rows[0].group.public_visible);
        assert_eq!(rows[0].group.phone, "400-800");
    }
}
