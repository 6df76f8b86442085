//! Writes a [`crate::fixture::Plan`] into an empty database: the team, one
//! simulation-mode account, then conversations in chunks (one transaction each,
//! so a caller can report progress). Only for `kefu fixture` and the benches.

use super::{Cached, DbError, DbResult};
use crate::fixture::{self, CATEGORIES, GROUPS, Plan};
use rusqlite::{Connection, params};

/// Row ids of what [`team`] created, by plan position.
#[derive(Clone, Debug, Default)]
pub struct Ids {
    pub users: Vec<i64>,
    pub groups: Vec<i64>,
    /// `categories[group][top][child]`
    pub categories: Vec<Vec<[i64; 2]>>,
    pub account: i64,
    /// First follower row id; follower `f` is `first_follower + f`.
    pub first_follower: i64,
}

/// The fixture account's credentials (simulation mode: kefu's built-in fake WeChat).
pub const APP_ID: &str = "wxf1x7a5e0000000aa";
pub const APP_SECRET: &str = "f1x7a5e0000000000000000000000000";
pub const TOKEN: &str = "fixtureToken";
pub const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

/// Refuses a database that already has users or messages.
pub fn ensure_empty(c: &Connection) -> DbResult<bool> {
    let n: i64 = c.row(
        "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM messages)",
        [],
        |r| r.get(0),
    )?;
    Ok(n == 0)
}

/// Groups, users, categories, the account and the followers.
pub fn team(c: &Connection, plan: &mut Plan, password_hash: &str, now: i64) -> DbResult<Ids> {
    let mut ids = Ids::default();
    for (name, ident) in GROUPS {
        c.exec(
            "INSERT INTO groups (name, ident, public_name, created_at, updated_at) VALUES (?1, ?2, ?1, ?3, ?3)",
            params![name, ident, now],
        )?;
        let g = c.last_insert_rowid();
        ids.groups.push(g);
        let mut tops = Vec::new();
        for (pos, (top, children)) in CATEGORIES.iter().enumerate() {
            c.exec(
                "INSERT INTO categories (group_id, parent_id, name, position) VALUES (?1, NULL, ?2, ?3)",
                params![g, top, pos as i64],
            )?;
            let parent = c.last_insert_rowid();
            let mut leaves = [0i64; 2];
            for (k, child) in children.iter().enumerate() {
                c.exec(
                    "INSERT INTO categories (group_id, parent_id, name, position) VALUES (?1, ?2, ?3, ?4)",
                    params![g, parent, child, k as i64],
                )?;
                leaves[k] = c.last_insert_rowid();
            }
            tops.push(leaves);
        }
        ids.categories.push(tops);
        c.exec(
            "INSERT INTO group_settings (group_id, agents_see_queue) VALUES (?1, 1)
             ON CONFLICT (group_id) DO UPDATE SET agents_see_queue = 1",
            [g],
        )?;
    }
    for u in &plan.users {
        let role = match u.role {
            fixture::Role::SuperAdmin => "super_admin",
            fixture::Role::Admin => "admin",
            fixture::Role::Agent => "agent",
        };
        c.exec(
            "INSERT INTO users (username, display_name, role, password_hash, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![u.username, u.display_name, role, password_hash, now],
        )?;
        let id = c.last_insert_rowid();
        for g in &u.groups {
            c.exec(
                "INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2)",
                params![ids.groups[*g], id],
            )?;
        }
        if u.role == fixture::Role::Agent {
            c.exec(
                "INSERT INTO agent_settings (user_id, status, status_at) VALUES (?1, 'offline', ?2)",
                params![id, now],
            )?;
        }
        ids.users.push(id);
    }
    c.exec(
        "INSERT INTO accounts (name, app_id, app_secret, token, aes_key, mode, simulation, created_at, updated_at)
         VALUES ('演示公众号', ?1, ?2, ?3, ?4, 'safe', 1, ?5, ?5)",
        params![APP_ID, APP_SECRET, TOKEN, AES_KEY, now],
    )?;
    ids.account = c.last_insert_rowid();
    for g in &ids.groups {
        c.exec(
            "INSERT INTO account_groups (account_id, group_id) VALUES (?1, ?2)",
            params![ids.account, g],
        )?;
    }
    let first_day = plan.spec.first_day;
    for f in 0..plan.followers {
        let remark = if f % 10 == 3 {
            format!("老客户{f}")
        } else {
            String::new()
        };
        c.exec(
            "INSERT INTO followers (account_id, openid, remark, profile_state, first_seen_at, last_seen_at)
             VALUES (?1, ?2, ?3, 'fetched', ?4, ?5)",
            params![ids.account, Plan::openid(f), remark, first_day, now],
        )?;
        if f == 0 {
            ids.first_follower = c.last_insert_rowid();
        }
    }
    Ok(ids)
}

/// Each agent's status changes, day by day.
pub fn status_days(c: &Connection, plan: &mut Plan, ids: &Ids) -> DbResult<usize> {
    let agents: Vec<usize> = plan.agents().collect();
    let mut n = 0;
    for d in 0..plan.spec.days {
        for a in &agents {
            for (at, status) in plan.status_day(d) {
                c.exec(
                    "INSERT INTO agent_status_log (user_id, status, at) VALUES (?1, ?2, ?3)",
                    params![ids.users[*a], status, at],
                )?;
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Conversations `range` of the plan, their messages indexed for search in
/// one go at the end; returns the messages written.
pub fn conversations(
    c: &Connection,
    plan: &mut Plan,
    ids: &Ids,
    range: std::ops::Range<usize>,
) -> DbResult<usize> {
    let mut written = 0;
    let user = |u: Option<usize>| u.map(|u| ids.users[u]);
    for i in range {
        let v = plan.conversation(i);
        let follower = ids.first_follower + v.follower as i64;
        let last = v.messages.iter().map(|m| m.at).max();
        c.exec(
            "INSERT INTO conversations (account_id, follower_id, group_id, state, agent_id, opened_at,
                                        queued_at, accepted_at, ended_at, read_at, last_message_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?9)",
            params![
                ids.account,
                follower,
                ids.groups[v.group],
                v.state,
                user(v.agent),
                v.opened_at,
                v.accepted_at,
                v.ended_at,
                last
            ],
        )?;
        let conv = c.last_insert_rowid();
        for e in &v.events {
            c.exec(
                "INSERT INTO conversation_events (conversation_id, at, step, actor_id, to_agent_id, group_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![conv, e.at, e.step, user(e.actor), user(e.to), ids.groups[e.group]],
            )?;
        }
        for m in &v.messages {
            if m.inbound {
                let wx = plan.next_wx_msg_id();
                c.exec(
                    "INSERT INTO messages (account_id, follower_id, direction, kind, content, dedup_key,
                                           wx_msg_id, created_at, received_at, conversation_id)
                     VALUES (?1, ?2, 'in', 'text', ?3, ?4, ?5, ?6, ?6, ?7)",
                    params![ids.account, follower, m.text, format!("m:{wx}"), wx, m.at, conv],
                )?;
            } else {
                c.exec(
                    "INSERT INTO messages (account_id, follower_id, direction, kind, content, sender_id,
                                           created_at, received_at, conversation_id)
                     VALUES (?1, ?2, 'out', 'text', ?3, ?4, ?5, ?5, ?6)",
                    params![ids.account, follower, m.text, user(m.sender), m.at, conv],
                )?;
            }
            written += 1;
        }
        if let Some((from, to, at)) = v.transfer {
            c.exec(
                "INSERT INTO transfers (conversation_id, from_agent, to_agent, state, created_at, expires_at, decided_at)
                 VALUES (?1, ?2, ?3, 'accepted', ?4, ?4 + 60000, ?4)",
                params![conv, ids.users[from], ids.users[to], at],
            )?;
        }
        let group = v.group;
        for (top, child) in &v.categories {
            c.exec(
                "INSERT OR IGNORE INTO conversation_categories (conversation_id, category_id) VALUES (?1, ?2)",
                params![conv, ids.categories[group][*top][*child]],
            )?;
        }
        if let (Some((score, solved)), Some(end)) = (v.survey, v.ended_at) {
            c.exec(
                "INSERT INTO surveys (conversation_id, state, score, solved, sent_at, answered_at)
                 VALUES (?1, 'answered', ?2, ?3, ?4, ?4 + 30000)",
                params![conv, score, solved, end],
            )?;
        }
    }
    super::search::catch_up(c)?;
    Ok(written)
}

/// `n` more followers waiting in `group`'s queue, each told their place on
/// entry ten minutes before `now` (so a move of the queue finds their update
/// due, the costly case): the queue-length benches.
pub fn queue(c: &Connection, account: i64, group: i64, n: usize, now: i64) -> DbResult<()> {
    let start: i64 = c.row(
        "SELECT count(*) FROM conversations WHERE group_id = ?1 AND state = 'queued'",
        [group],
        |r| r.get(0),
    )?;
    let told = now - 10 * 60_000;
    for k in 0..n as i64 {
        let place = start + k;
        c.exec(
            "INSERT INTO followers (account_id, openid, profile_state, first_seen_at, last_seen_at, message_at)
             VALUES (?1, ?2, 'fetched', ?3, ?3, ?3)",
            params![account, format!("oQUEUE{group:0>4}{place:0>18}"), told],
        )?;
        let follower = c.last_insert_rowid();
        c.exec(
            "INSERT INTO conversations (account_id, follower_id, group_id, state, opened_at, queued_at,
                                        notice_at, notice_position, notices, last_message_at)
             VALUES (?1, ?2, ?3, 'queued', ?4, ?4, ?4, ?5, 1, ?4)",
            params![account, follower, group, told - (n as i64 - k), place],
        )?;
        let conv = c.last_insert_rowid();
        c.exec(
            "INSERT INTO conversation_events (conversation_id, at, step, group_id) VALUES (?1, ?2, 'open', ?3)",
            params![conv, told, group],
        )?;
    }
    Ok(())
}

/// Row counts of the tables a fixture fills, for its summary.
pub fn counts(c: &Connection) -> DbResult<Vec<(&'static str, i64)>> {
    let mut out = Vec::new();
    for t in [
        "users",
        "groups",
        "followers",
        "conversations",
        "conversation_events",
        "messages",
        "agent_status_log",
    ] {
        let n: i64 = c
            .row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
            .map_err(DbError::from)?;
        out.push((t, n));
    }
    Ok(out)
}

/// The heavy follower's row id.
pub fn heavy_follower(c: &Connection) -> DbResult<Option<i64>> {
    match c.row(
        "SELECT id FROM followers WHERE openid = ?1",
        [fixture::HEAVY_OPENID],
        |r| r.get(0),
    ) {
        Ok(id) => Ok(Some(id)),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
