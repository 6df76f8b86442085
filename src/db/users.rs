//! Users (E1) and their group membership.

use super::{DbResult, ms, ts};
use crate::access::Reach;
use crate::i18n::Lang;
use crate::model::{Group, GroupId, Role, Theme, User, UserId, UserStatus};
use rusqlite::{Connection, OptionalExtension, Row, params};

pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub real_name: &'a str,
    pub phone: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
    pub created_by: Option<UserId>,
}

/// Editable profile fields.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Profile {
    pub display_name: String,
    pub real_name: String,
    pub phone: String,
}

impl Profile {
    pub fn of(u: &User) -> Profile {
        Profile {
            display_name: u.display_name.clone(),
            real_name: u.real_name.clone(),
            phone: u.phone.clone(),
        }
    }

    /// Without surrounding blanks, as stored.
    pub fn trimmed(self) -> Profile {
        Profile {
            display_name: self.display_name.trim().to_string(),
            real_name: self.real_name.trim().to_string(),
            phone: self.phone.trim().to_string(),
        }
    }
}

/// Filters of the users page; empty strings and `None` mean "any".
#[derive(Default, Debug, Clone)]
pub struct UserFilter {
    pub display_name: String,
    pub real_name: String,
    pub phone: String,
    pub role: Option<Role>,
    pub group: Option<GroupId>,
    pub status: Option<UserStatus>,
}

/// A user with the names of their groups, for lists.
#[derive(Clone, Debug)]
pub struct UserRow {
    pub user: User,
    pub groups: Vec<(GroupId, String)>,
}

const COLUMNS: &str = "u.id, u.username, u.display_name, u.real_name, u.phone, u.role, u.status,
    u.theme, (SELECT c.username FROM users c WHERE c.id = u.created_by), u.created_at, u.locale";

fn from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        real_name: r.get(3)?,
        phone: r.get(4)?,
        role: r.get(5)?,
        status: r.get(6)?,
        theme: r.get(7)?,
        created_by: r.get(8)?,
        created_at: ts(r.get(9)?),
        locale: r.get(10)?,
    })
}

pub fn count(conn: &Connection) -> DbResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
}

pub fn insert(conn: &Connection, u: &NewUser<'_>, now: jiff::Timestamp) -> DbResult<UserId> {
    conn.execute(
        "INSERT INTO users (username, display_name, real_name, phone, role, password_hash,
                            created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            u.username,
            u.display_name,
            u.real_name,
            u.phone,
            u.role,
            u.password_hash,
            u.created_by,
            ms(now)
        ],
    )?;
    Ok(UserId(conn.last_insert_rowid()))
}

pub fn get(conn: &Connection, id: UserId) -> DbResult<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE u.id = ?1");
    Ok(conn.query_row(&sql, [id], from_row).optional()?)
}

/// The user and their password hash, for login.
pub fn by_username(conn: &Connection, username: &str) -> DbResult<Option<(User, String)>> {
    let sql = format!("SELECT {COLUMNS}, u.password_hash FROM users u WHERE u.username = ?1");
    Ok(conn
        .query_row(&sql, [username], |r| Ok((from_row(r)?, r.get(11)?)))
        .optional()?)
}

pub fn password_hash(conn: &Connection, id: UserId) -> DbResult<Option<String>> {
    Ok(conn
        .query_row("SELECT password_hash FROM users WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Users matching `filter`, among the members of the groups `reach` covers
/// (everyone for [`Reach::All`]).
pub fn list(conn: &Connection, filter: &UserFilter, reach: &Reach) -> DbResult<Vec<UserRow>> {
    let within = match reach {
        Reach::All => "1".to_string(),
        Reach::Groups(gs) if gs.is_empty() => "0".to_string(),
        Reach::Groups(gs) => format!(
            "EXISTS (SELECT 1 FROM group_members w WHERE w.user_id = u.id AND w.group_id IN ({}))",
            gs.iter()
                .map(|g| g.0.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM users u
         WHERE (?1 = '' OR u.display_name LIKE '%' || ?1 || '%')
           AND (?2 = '' OR u.real_name LIKE '%' || ?2 || '%')
           AND (?3 = '' OR u.phone LIKE '%' || ?3 || '%')
           AND (?4 IS NULL OR u.role = ?4)
           AND (?5 IS NULL OR EXISTS (SELECT 1 FROM group_members m
                                      WHERE m.user_id = u.id AND m.group_id = ?5))
           AND (?6 IS NULL OR u.status = ?6)
           AND {within}
         ORDER BY u.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let users = stmt
        .query_map(
            params![
                filter.display_name,
                filter.real_name,
                filter.phone,
                filter.role,
                filter.group,
                filter.status
            ],
            from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    users
        .into_iter()
        .map(|user| {
            let groups = groups_of(conn, user.id)?
                .into_iter()
                .map(|g| (g.id, g.name))
                .collect();
            Ok(UserRow { user, groups })
        })
        .collect()
}

pub fn update_profile(
    conn: &Connection,
    id: UserId,
    p: &Profile,
    now: jiff::Timestamp,
) -> DbResult<bool> {
    let n = conn.execute(
        "UPDATE users SET display_name = ?2, real_name = ?3, phone = ?4, updated_at = ?5 WHERE id = ?1",
        params![id, p.display_name, p.real_name, p.phone, ms(now)],
    )?;
    Ok(n == 1)
}

pub fn set_role(conn: &Connection, id: UserId, role: Role, now: jiff::Timestamp) -> DbResult<bool> {
    let n = conn.execute(
        "UPDATE users SET role = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, role, ms(now)],
    )?;
    Ok(n == 1)
}

pub fn set_status(
    conn: &Connection,
    id: UserId,
    status: UserStatus,
    now: jiff::Timestamp,
) -> DbResult<bool> {
    let n = conn.execute(
        "UPDATE users SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, status, ms(now)],
    )?;
    Ok(n == 1)
}

pub fn set_password_hash(
    conn: &Connection,
    id: UserId,
    hash: &str,
    now: jiff::Timestamp,
) -> DbResult<bool> {
    let n = conn.execute(
        "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, hash, ms(now)],
    )?;
    Ok(n == 1)
}

pub fn set_theme(conn: &Connection, id: UserId, theme: Theme) -> DbResult<bool> {
    let n = conn.execute(
        "UPDATE users SET theme = ?2 WHERE id = ?1",
        params![id, theme],
    )?;
    Ok(n == 1)
}

pub fn set_locale(conn: &Connection, id: UserId, locale: Lang) -> DbResult<bool> {
    let n = conn.execute(
        "UPDATE users SET locale = ?2 WHERE id = ?1",
        params![id, locale],
    )?;
    Ok(n == 1)
}

pub fn groups_of(conn: &Connection, id: UserId) -> DbResult<Vec<Group>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM groups g JOIN group_members m ON m.group_id = g.id
         WHERE m.user_id = ?1 ORDER BY g.id",
        super::groups::COLUMNS
    ))?;
    let rows = stmt
        .query_map([id], super::groups::from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The ids of the user's groups, in order.
pub fn group_ids(conn: &Connection, id: UserId) -> DbResult<Vec<GroupId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT group_id FROM group_members WHERE user_id = ?1 ORDER BY group_id",
    )?;
    let rows = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Replaces the user's group membership.
pub fn set_groups(conn: &Connection, id: UserId, groups: &[GroupId]) -> DbResult<()> {
    conn.execute("DELETE FROM group_members WHERE user_id = ?1", [id])?;
    let mut stmt =
        conn.prepare("INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?1, ?2)")?;
    for g in groups {
        stmt.execute(params![g, id])?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::db::{groups, memory};

    pub fn seed_user(conn: &Connection, username: &str, role: Role) -> UserId {
        insert(
            conn,
            &NewUser {
                username,
                display_name: username,
                real_name: "",
                phone: "",
                role,
                password_hash: "x",
                created_by: None,
            },
            jiff::Timestamp::UNIX_EPOCH,
        )
        .unwrap()
    }

    #[test]
    fn insert_get_and_unique_username() {
        let conn = memory().unwrap();
        let id = seed_user(&conn, "alice", Role::Agent);
        let u = get(&conn, id).unwrap().unwrap();
        assert_eq!(u.username, "alice");
        assert_eq!(u.status, UserStatus::Active);
        assert_eq!(u.theme, Theme::Light);
        // Usernames are unique regardless of case.
        let dup = insert(
            &conn,
            &NewUser {
                username: "ALICE",
                display_name: "x",
                real_name: "",
                phone: "",
                role: Role::Agent,
                password_hash: "x",
                created_by: None,
            },
            jiff::Timestamp::UNIX_EPOCH,
        );
        assert!(dup.is_err_and(|e| crate::db::is_unique_violation(&e)));
        assert!(by_username(&conn, "Alice").unwrap().is_some());
    }

    #[test]
    fn filters_and_admin_visibility() {
        let conn = memory().unwrap();
        let admin = seed_user(&conn, "boss", Role::Admin);
        let a = seed_user(&conn, "agent-a", Role::Agent);
        let b = seed_user(&conn, "agent-b", Role::Agent);
        let g1 = groups::tests::seed_group(&conn, "售前", "pre");
        let g2 = groups::tests::seed_group(&conn, "售后", "post");
        set_groups(&conn, admin, &[g1]).unwrap();
        set_groups(&conn, a, &[g1]).unwrap();
        set_groups(&conn, b, &[g2]).unwrap();
        set_status(&conn, b, UserStatus::Disabled, jiff::Timestamp::UNIX_EPOCH).unwrap();

        let all = list(&conn, &UserFilter::default(), &Reach::All).unwrap();
        assert_eq!(all.len(), 3);
        let seen: Vec<UserId> = list(&conn, &UserFilter::default(), &Reach::Groups(vec![g1]))
            .unwrap()
            .iter()
            .map(|r| r.user.id)
            .collect();
        assert_eq!(seen, vec![admin, a]);
        let f = UserFilter {
            status: Some(UserStatus::Disabled),
            ..Default::default()
        };
        assert_eq!(list(&conn, &f, &Reach::All).unwrap()[0].user.id, b);
        let f = UserFilter {
            group: Some(g2),
            ..Default::default()
        };
        assert_eq!(list(&conn, &f, &Reach::All).unwrap().len(), 1);
        let f = UserFilter {
            role: Some(Role::Admin),
            ..Default::default()
        };
        assert_eq!(
            list(&conn, &f, &Reach::All).unwrap()[0].groups,
            vec![(g1, "售前".to_string())]
        );
        let seen = |r: &Reach| -> Vec<UserId> {
            list(&conn, &UserFilter::default(), r)
                .unwrap()
                .into_iter()
                .map(|r| r.user.id)
                .collect()
        };
        assert!(seen(&Reach::Groups(vec![g1])).contains(&a));
        assert!(!seen(&Reach::Groups(vec![g1])).contains(&b));
        assert!(seen(&Reach::Groups(vec![])).is_empty());
        assert!(seen(&Reach::All).contains(&b));
    }
}
