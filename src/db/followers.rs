//! Followers (A10, E13) and their reply budget state (A7).

use super::{DbResult, ms, ts};
use crate::db::Cached;
use crate::model::{AccountId, FollowerId, InteractionKind};
use rusqlite::{Connection, OptionalExtension, Row, params};

#[derive(Clone, Debug, PartialEq)]
pub struct Follower {
    pub id: FollowerId,
    pub account_id: AccountId,
    pub openid: String,
    pub remark: String,
    pub wx_remark: String,
    pub tags: Vec<i64>,
    pub subscribed: bool,
    pub subscribe_scene: String,
    /// The last message from the follower, and customer-service messages sent since.
    pub message_window: Option<(jiff::Timestamp, i64)>,
    /// The last menu click, follow or scan, and messages sent since.
    pub event_window: Option<(jiff::Timestamp, i64)>,
    pub first_seen_at: jiff::Timestamp,
    pub last_seen_at: jiff::Timestamp,
    /// Served first in the queue (B3).
    pub vip: bool,
    /// The assigned owner (负责人), who receives their conversations first.
    pub owner_id: Option<crate::model::UserId>,
    /// Agents' own labels, comma separated (D7).
    pub labels: String,
}

impl Follower {
    /// What agents see: the remark an agent set, else WeChat's remark, else a
    /// stable short label (WeChat no longer gives nicknames).
    pub fn label(&self) -> String {
        if !self.remark.is_empty() {
            return self.remark.clone();
        }
        if !self.wx_remark.is_empty() {
            return self.wx_remark.clone();
        }
        short_label(&self.openid)
    }
}

impl Follower {
    /// The agents' labels as a list.
    pub fn label_list(&self) -> Vec<&str> {
        self.labels
            .split([',', ','])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    }
}

/// 访客 + the last 4 characters of the OpenID.
pub fn short_label(openid: &str) -> String {
    let tail: String = openid
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("访客{tail}")
}

const COLUMNS: &str =
    "id, account_id, openid, remark, wx_remark, tags, subscribed, subscribe_scene,
    message_at, message_sent, event_at, event_sent, first_seen_at, last_seen_at,
    vip, owner_id, labels";

fn window(at: Option<i64>, sent: i64) -> Option<(jiff::Timestamp, i64)> {
    at.map(|a| (ts(a), sent))
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Follower> {
    let tags: String = r.get(5)?;
    Ok(Follower {
        id: r.get(0)?,
        account_id: r.get(1)?,
        openid: r.get(2)?,
        remark: r.get(3)?,
        wx_remark: r.get(4)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        subscribed: r.get(6)?,
        subscribe_scene: r.get(7)?,
        message_window: window(r.get(8)?, r.get(9)?),
        event_window: window(r.get(10)?, r.get(11)?),
        first_seen_at: ts(r.get(12)?),
        last_seen_at: ts(r.get(13)?),
        vip: r.get(14)?,
        owner_id: r.get(15)?,
        labels: r.get(16)?,
    })
}

/// The follower's id, creating the row on first contact.
pub fn upsert(
    conn: &Connection,
    account: AccountId,
    openid: &str,
    now: jiff::Timestamp,
) -> DbResult<FollowerId> {
    Ok(upsert_seen(conn, account, openid, now)?.0)
}

/// The follower's id and whether this contact created the row.
pub fn upsert_seen(
    conn: &Connection,
    account: AccountId,
    openid: &str,
    now: jiff::Timestamp,
) -> DbResult<(FollowerId, bool)> {
    let found: Option<FollowerId> = conn
        .prepare_cached("SELECT id FROM followers WHERE account_id = ?1 AND openid = ?2")?
        .query_row(params![account, openid], |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        conn.prepare_cached(
            "UPDATE followers SET last_seen_at = max(last_seen_at, ?2) WHERE id = ?1",
        )?
        .execute(params![id, ms(now)])?;
        return Ok((id, false));
    }
    conn.prepare_cached(
        "INSERT INTO followers (account_id, openid, first_seen_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)",
    )?
    .execute(params![account, openid, ms(now)])?;
    Ok((FollowerId(conn.last_insert_rowid()), true))
}

pub fn get(conn: &Connection, id: FollowerId) -> DbResult<Option<Follower>> {
    Ok(conn
        .row(
            &format!("SELECT {COLUMNS} FROM followers WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

pub fn by_openid(
    conn: &Connection,
    account: AccountId,
    openid: &str,
) -> DbResult<Option<Follower>> {
    Ok(conn
        .row(
            &format!("SELECT {COLUMNS} FROM followers WHERE account_id = ?1 AND openid = ?2"),
            params![account, openid],
            from_row,
        )
        .optional()?)
}

/// Makes sure a follower row exists without touching its dates (同步粉丝).
pub fn ensure(
    conn: &Connection,
    account: AccountId,
    openid: &str,
    now: jiff::Timestamp,
) -> DbResult<FollowerId> {
    conn.prepare_cached(
        "INSERT INTO followers (account_id, openid, first_seen_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (account_id, openid) DO NOTHING",
    )?
    .execute(params![account, openid, ms(now)])?;
    Ok(conn
        .prepare_cached("SELECT id FROM followers WHERE account_id = ?1 AND openid = ?2")?
        .query_row(params![account, openid], |r| r.get(0))?)
}

/// A follower interacted: that window restarts and its counter resets. A push
/// that arrives late (older than the recorded one) changes nothing.
pub fn record_interaction(
    conn: &Connection,
    id: FollowerId,
    kind: InteractionKind,
    at: jiff::Timestamp,
) -> DbResult<()> {
    let sql = match kind {
        InteractionKind::Message => {
            "UPDATE followers SET message_at = ?2, message_sent = 0
             WHERE id = ?1 AND (message_at IS NULL OR message_at <= ?2)"
        }
        InteractionKind::Event => {
            "UPDATE followers SET event_at = ?2, event_sent = 0
             WHERE id = ?1 AND (event_at IS NULL OR event_at <= ?2)"
        }
    };
    conn.prepare_cached(sql)?.execute(params![id, ms(at)])?;
    Ok(())
}

/// One more customer-service message reached WeChat, charged to `window`.
pub fn count_sent(conn: &Connection, id: FollowerId, window: InteractionKind) -> DbResult<()> {
    let sql = match window {
        InteractionKind::Message => {
            "UPDATE followers SET message_sent = message_sent + 1 WHERE id = ?1"
        }
        InteractionKind::Event => "UPDATE followers SET event_sent = event_sent + 1 WHERE id = ?1",
    };
    conn.exec(sql, [id])?;
    Ok(())
}

pub fn set_subscribed(
    conn: &Connection,
    id: FollowerId,
    on: bool,
    scene: Option<&str>,
    at: jiff::Timestamp,
) -> DbResult<()> {
    if on {
        conn.exec(
            "UPDATE followers SET subscribed = 1, subscribed_at = ?2,
                    subscribe_scene = coalesce(?3, subscribe_scene) WHERE id = ?1",
            params![id, ms(at), scene],
        )?;
    } else {
        conn.exec(
            "UPDATE followers SET subscribed = 0, unsubscribed_at = ?2 WHERE id = ?1",
            params![id, ms(at)],
        )?;
    }
    Ok(())
}

pub fn set_remark(conn: &Connection, id: FollowerId, remark: &str) -> DbResult<bool> {
    Ok(conn.exec(
        "UPDATE followers SET remark = ?2 WHERE id = ?1",
        params![id, remark],
    )? == 1)
}

/// What WeChat's user/info said about the follower.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WxProfile {
    pub subscribed: bool,
    pub remark: String,
    pub unionid: String,
    pub tags: Vec<i64>,
    pub subscribe_scene: String,
    pub subscribe_time: Option<jiff::Timestamp>,
}

pub fn store_profile(conn: &Connection, id: FollowerId, p: &WxProfile) -> DbResult<()> {
    conn.exec(
        "UPDATE followers SET wx_remark = ?2, unionid = ?3, tags = ?4, subscribe_scene = ?5, subscribed = ?6,
                subscribed_at = coalesce(?7, subscribed_at), profile_state = 'fetched'
         WHERE id = ?1",
        params![
            id,
            p.remark,
            p.unionid,
            serde_json::to_string(&p.tags).unwrap_or_else(|_| "[]".into()),
            p.subscribe_scene,
            p.subscribed,
            p.subscribe_time.map(ms)
        ],
    )?;
    Ok(())
}

/// Followers whose profile is due to be fetched.
pub fn profiles_due(
    conn: &Connection,
    now: jiff::Timestamp,
    limit: i64,
) -> DbResult<Vec<(FollowerId, AccountId, String)>> {
    let mut stmt = conn.prepare(
        "SELECT id, account_id, openid FROM followers
         WHERE profile_state = 'pending' AND profile_next_at <= ?1 ORDER BY profile_next_at, id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![ms(now), limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A profile fetch failed: try again later, or give up after `max` attempts.
pub fn profile_retry(
    conn: &Connection,
    id: FollowerId,
    next: jiff::Timestamp,
    max: i64,
) -> DbResult<()> {
    conn.exec(
        "UPDATE followers SET profile_attempts = profile_attempts + 1, profile_next_at = ?2,
                profile_state = CASE WHEN profile_attempts + 1 >= ?3 THEN 'failed' ELSE 'pending' END
         WHERE id = ?1",
        params![id, ms(next), max],
    )?;
    Ok(())
}

#[derive(Clone, Debug, Default)]
pub struct FollowerFilter {
    /// The accounts the reader may see (decided in `access`); nothing by default.
    pub within: Within,
    pub account: Option<AccountId>,
    /// Matches OpenID or either remark.
    pub text: String,
    pub tag: Option<i64>,
    pub subscribed: Option<bool>,
    pub limit: i64,
    pub offset: i64,
}

/// Which accounts' followers a search may return.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Within {
    /// Every account (a super admin).
    All,
    /// These accounts only; none by default.
    Only(Vec<AccountId>),
    #[default]
    Nothing,
}

impl Within {
    fn sql(&self) -> String {
        match self {
            Within::All => "1".into(),
            Within::Only(ids) if !ids.is_empty() => {
                let ids: Vec<String> = ids.iter().map(|a| a.0.to_string()).collect();
                format!("account_id IN ({})", ids.join(","))
            }
            Within::Only(_) | Within::Nothing => "0".into(),
        }
    }
}

pub fn search(conn: &Connection, f: &FollowerFilter) -> DbResult<(Vec<Follower>, i64)> {
    let where_ = &format!(
        "WHERE {} AND (?1 IS NULL OR account_id = ?1)
           AND (?2 = '' OR openid LIKE '%' || ?2 || '%' OR remark LIKE '%' || ?2 || '%' OR wx_remark LIKE '%' || ?2 || '%')
           AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?3))
           AND (?4 IS NULL OR subscribed = ?4)",
        f.within.sql()
    );
    let total: i64 = conn.row(
        &format!("SELECT count(*) FROM followers {where_}"),
        params![f.account, f.text, f.tag, f.subscribed],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM followers {where_} ORDER BY last_seen_at DESC, id DESC LIMIT ?5 OFFSET ?6"
    ))?;
    let limit = if f.limit > 0 { f.limit } else { 50 };
    let rows = stmt
        .query_map(
            params![f.account, f.text, f.tag, f.subscribed, limit, f.offset],
            from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, total))
}

/// The agent-edited profile (D7): remark, labels, VIP and owner. A VIP flag
/// also applies to the follower's waiting conversations, so they wait less.
pub fn save_profile(
    conn: &Connection,
    id: FollowerId,
    remark: &str,
    labels: &str,
    vip: bool,
    owner: Option<crate::model::UserId>,
) -> DbResult<()> {
    conn.execute(
        "UPDATE followers SET remark = ?2, labels = ?3, vip = ?4, owner_id = ?5 WHERE id = ?1",
        params![id, remark, labels, vip, owner],
    )?;
    conn.execute(
        "UPDATE conversations SET vip = ?2 WHERE follower_id = ?1 AND state = 'queued'",
        params![id, vip],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{accounts::tests::seed_account, memory};
    use jiff::{SignedDuration, Timestamp};

    #[test]
    fn upsert_is_idempotent_and_interaction_resets_the_counter() {
        let conn = memory().unwrap();
        let acc = seed_account(&conn, "wx1");
        let t0: Timestamp = "2026-05-01T00:00:00Z".parse().unwrap();
        let a = upsert(&conn, acc, "oABCDEFG1234", t0).unwrap();
        let b = upsert(
            &conn,
            acc,
            "oABCDEFG1234",
            t0 + SignedDuration::from_mins(1),
        )
        .unwrap();
        assert_eq!(a, b);
        let f = get(&conn, a).unwrap().unwrap();
        assert_eq!(f.label(), "访客1234");
        assert_eq!(f.last_seen_at, t0 + SignedDuration::from_mins(1));
        record_interaction(&conn, a, InteractionKind::Message, t0).unwrap();
        count_sent(&conn, a, InteractionKind::Message).unwrap();
        count_sent(&conn, a, InteractionKind::Message).unwrap();
        assert_eq!(
            get(&conn, a).unwrap().unwrap().message_window,
            Some((t0, 2))
        );
        let t5 = t0 + SignedDuration::from_mins(5);
        record_interaction(&conn, a, InteractionKind::Message, t5).unwrap();
        assert_eq!(
            get(&conn, a).unwrap().unwrap().message_window,
            Some((t5, 0))
        );
        // A menu click has its own window: the message window stays as it was.
        let t6 = t0 + SignedDuration::from_mins(6);
        record_interaction(&conn, a, InteractionKind::Event, t6).unwrap();
        let f = get(&conn, a).unwrap().unwrap();
        assert_eq!(f.message_window, Some((t5, 0)));
        assert_eq!(f.event_window, Some((t6, 0)));
        // An older push arriving late does not move a window back.
        record_interaction(
            &conn,
            a,
            InteractionKind::Message,
            t0 - SignedDuration::from_hours(1),
        )
        .unwrap();
        assert_eq!(
            get(&conn, a).unwrap().unwrap().message_window.unwrap().0,
            t5
        );
    }

    #[test]
    fn search_by_text_tag_and_subscription() {
        let conn = memory().unwrap();
        let acc = seed_account(&conn, "wx1");
        let t0 = Timestamp::UNIX_EPOCH;
        let a = upsert(&conn, acc, "oAAA", t0).unwrap();
        let b = upsert(&conn, acc, "oBBB", t0).unwrap();
        set_remark(&conn, a, "王老板").unwrap();
        store_profile(
            &conn,
            b,
            &WxProfile {
                subscribed: false,
                tags: vec![7],
                ..Default::default()
            },
        )
        .unwrap();
        let (rows, total) = search(
            &conn,
            &FollowerFilter {
                within: Within::All,
                text: "老板".into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((rows.len(), total), (1, 1));
        assert_eq!(rows[0].label(), "王老板");
        let (rows, _) = search(
            &conn,
            &FollowerFilter {
                within: Within::Only(vec![acc]),
                tag: Some(7),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(rows[0].id, b);
        let (rows, _) = search(
            &conn,
            &FollowerFilter {
                within: Within::All,
                subscribed: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(rows.iter().map(|f| f.id).collect::<Vec<_>>(), vec![a]);
    }
}
