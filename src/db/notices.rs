//! What a queued follower was last told about their place (`notice_at`,
//! `notice_position`, `notices` of `conversations`), so queue updates and
//! comfort replies are rate-limited (see `engine::queue`). The same columns
//! pace an away agent's own auto reply.

use super::{DbResult, ms, ts};
use crate::db::Cached;
use crate::db::settings;
use crate::engine::queue::Notices;
use crate::model::ConversationId;
use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, params};

pub fn get(c: &Connection, id: ConversationId) -> DbResult<Notices> {
    Ok(c.row(
        "SELECT notice_at, notice_position, notices FROM conversations WHERE id = ?1",
        [id],
        |r| {
            Ok(Notices {
                last_at: r.get::<_, Option<i64>>(0)?.map(ts),
                last_ahead: r.get(1)?,
                sent: r.get(2)?,
            })
        },
    )?)
}

/// A queued conversation's notices and its group's comfort interval, in one query.
pub fn with_comfort(c: &Connection, id: ConversationId) -> DbResult<(Notices, SignedDuration)> {
    let default = settings::GroupSettings::default().comfort_every_mins;
    Ok(c.row(
        "SELECT v.notice_at, v.notice_position, v.notices, coalesce(g.comfort_every_mins, ?2)
         FROM conversations v LEFT JOIN group_settings g ON g.group_id = v.group_id
         WHERE v.id = ?1",
        params![id, default],
        |r| {
            Ok((
                Notices {
                    last_at: r.get::<_, Option<i64>>(0)?.map(ts),
                    last_ahead: r.get(1)?,
                    sent: r.get(2)?,
                },
                SignedDuration::from_mins(r.get(3)?),
            ))
        },
    )?)
}

/// Records that the follower was told they have `ahead` people before them.
pub fn noticed(c: &Connection, id: ConversationId, ahead: i64, now: Timestamp) -> DbResult<()> {
    c.exec(
        "UPDATE conversations SET notice_at = ?2, notice_position = ?3, notices = notices + 1
         WHERE id = ?1",
        params![id, ms(now), ahead],
    )?;
    Ok(())
}

/// Forgets the notices (the conversation is queued afresh).
pub fn reset(c: &Connection, id: ConversationId) -> DbResult<()> {
    c.exec(
        "UPDATE conversations SET notice_at = NULL, notice_position = NULL, notices = 0
         WHERE id = ?1",
        [id],
    )?;
    Ok(())
}
