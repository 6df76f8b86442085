//! 我的回复 (D6, S0): each agent's own quick replies, in groups they name
//! such as 常用语、开场语、结束语 … Only their owner sees or changes them: every
//! function takes the owner and touches nothing of anyone else's.

use super::{Cached, DbResult};
use crate::model::UserId;
use rusqlite::{Connection, params};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyGroup {
    pub id: i64,
    pub name: String,
    pub replies: Vec<MyReply>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MyReply {
    pub id: i64,
    pub body: String,
}

/// The user's groups with their replies, both in order.
pub fn list(c: &Connection, user: UserId) -> DbResult<Vec<ReplyGroup>> {
    let mut groups: Vec<ReplyGroup> = c
        .prepare_cached(
            "SELECT id, name FROM my_reply_groups WHERE user_id = ?1 ORDER BY position, id",
        )?
        .query_map([user], |r| {
            Ok(ReplyGroup {
                id: r.get(0)?,
                name: r.get(1)?,
                replies: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = c.prepare_cached(
        "SELECT id, body FROM my_replies WHERE group_id = ?1 ORDER BY position, id",
    )?;
    for g in &mut groups {
        g.replies = stmt
            .query_map([g.id], |r| {
                Ok(MyReply {
                    id: r.get(0)?,
                    body: r.get(1)?,
                })
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(groups)
}

pub fn add_group(c: &Connection, user: UserId, name: &str) -> DbResult<i64> {
    c.exec(
        "INSERT INTO my_reply_groups (user_id, name, position)
         VALUES (?1, ?2, (SELECT coalesce(max(position) + 1, 0) FROM my_reply_groups WHERE user_id = ?1))",
        params![user, name],
    )?;
    Ok(c.last_insert_rowid())
}

pub fn rename_group(c: &Connection, user: UserId, id: i64, name: &str) -> DbResult<bool> {
    Ok(c.exec(
        "UPDATE my_reply_groups SET name = ?3 WHERE id = ?1 AND user_id = ?2",
        params![id, user, name],
    )? == 1)
}

/// Deletes a group with its replies.
pub fn delete_group(c: &Connection, user: UserId, id: i64) -> DbResult<bool> {
    Ok(c.exec(
        "DELETE FROM my_reply_groups WHERE id = ?1 AND user_id = ?2",
        params![id, user],
    )? == 1)
}

/// Adds a reply at the end of one of the user's groups; `None` when the
/// group is not theirs.
pub fn add(c: &Connection, user: UserId, group: i64, body: &str) -> DbResult<Option<i64>> {
    let n = c.exec(
        "INSERT INTO my_replies (group_id, body, position)
         SELECT id, ?3, (SELECT coalesce(max(position) + 1, 0) FROM my_replies WHERE group_id = ?1)
         FROM my_reply_groups WHERE id = ?1 AND user_id = ?2",
        params![group, user, body],
    )?;
    Ok((n == 1).then(|| c.last_insert_rowid()))
}

pub fn update(c: &Connection, user: UserId, id: i64, body: &str) -> DbResult<bool> {
    Ok(c.exec(
        "UPDATE my_replies SET body = ?3 WHERE id = ?1
         AND group_id IN (SELECT id FROM my_reply_groups WHERE user_id = ?2)",
        params![id, user, body],
    )? == 1)
}

pub fn delete(c: &Connection, user: UserId, id: i64) -> DbResult<bool> {
    Ok(c.exec(
        "DELETE FROM my_replies WHERE id = ?1
         AND group_id IN (SELECT id FROM my_reply_groups WHERE user_id = ?2)",
        params![id, user],
    )? == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{memory, users::tests::seed_user};
    use crate::model::Role;

    #[test]
    fn replies_belong_to_their_owner_only() {
        let c = memory().unwrap();
        let amy = seed_user(&c, "amy", Role::Agent);
        let bob = seed_user(&c, "bob", Role::Agent);
        let open = add_group(&c, amy, "开场语").unwrap();
        let close = add_group(&c, amy, "结束语").unwrap();
        let hi = add(&c, amy, open, "您好，很高兴为您服务").unwrap().unwrap();
        add(&c, amy, close, "感谢您的咨询").unwrap().unwrap();
        assert_eq!(add(&c, bob, open, "越权").unwrap(), None);
        assert!(!update(&c, bob, hi, "越权").unwrap());
        assert!(!delete(&c, bob, hi).unwrap());
        assert!(!delete_group(&c, bob, open).unwrap());
        assert!(list(&c, bob).unwrap().is_empty());
        assert!(update(&c, amy, hi, "您好").unwrap());
        let mine = list(&c, amy).unwrap();
        assert_eq!(
            mine.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
            ["开场语", "结束语"]
        );
        assert_eq!(mine[0].replies[0].body, "您好");
        assert!(rename_group(&c, amy, close, "结束").unwrap());
        assert!(delete_group(&c, amy, open).unwrap());
        assert_eq!(list(&c, amy).unwrap().len(), 1);
        assert!(
            add_group(&c, amy, "").is_err(),
            "CHECK refuses an empty name"
        );
    }
}
