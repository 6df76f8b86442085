//! Satisfaction surveys (B13): per conversation, whether the survey was sent
//! (or why not) and the follower's last answer.

use super::{DbResult, ms};
use crate::db::Cached;
use crate::model::{ConversationId, FollowerId};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

/// A survey as stored: (state, reason, score, solved).
pub type Row = (String, String, Option<i64>, Option<bool>);

/// The survey could not be sent, for this reason.
pub fn not_sent(c: &Connection, conv: ConversationId, why: &str, now: Timestamp) -> DbResult<()> {
    c.exec(
        "INSERT INTO surveys (conversation_id, state, reason, sent_at) VALUES (?1, 'not_sent', ?2, ?3)
         ON CONFLICT (conversation_id) DO UPDATE SET state = 'not_sent', reason = ?2, sent_at = ?3",
        params![conv, why, ms(now)],
    )?;
    Ok(())
}

/// The survey was sent (an answered one stays answered).
pub fn sent(c: &Connection, conv: ConversationId, now: Timestamp) -> DbResult<()> {
    c.exec(
        "INSERT INTO surveys (conversation_id, state, reason, sent_at) VALUES (?1, 'sent', '', ?2)
         ON CONFLICT (conversation_id) DO UPDATE SET state = CASE WHEN state = 'answered' THEN state ELSE 'sent' END,
             reason = '', sent_at = ?2",
        params![conv, ms(now)],
    )?;
    Ok(())
}

/// The conversation whose survey the follower may answer: the latest sent
/// (or answered) since `since`.
pub fn answerable(
    c: &Connection,
    follower: FollowerId,
    since: Timestamp,
) -> DbResult<Option<ConversationId>> {
    Ok(c.row(
        "SELECT s.conversation_id FROM surveys s JOIN conversations v ON v.id = s.conversation_id
         WHERE v.follower_id = ?1 AND s.state IN ('sent', 'answered') AND s.sent_at >= ?2
         ORDER BY s.sent_at DESC LIMIT 1",
        params![follower, ms(since)],
        |r| r.get(0),
    )
    .optional()?)
}

/// Stores an answer; what it leaves out keeps its earlier value.
pub fn answered(
    c: &Connection,
    conv: ConversationId,
    score: Option<i64>,
    solved: Option<bool>,
    now: Timestamp,
) -> DbResult<()> {
    c.exec(
        "UPDATE surveys SET state = 'answered', answered_at = ?2,
                score = coalesce(?3, score), solved = coalesce(?4, solved)
         WHERE conversation_id = ?1",
        params![conv, ms(now), score, solved],
    )?;
    Ok(())
}

pub fn get(c: &Connection, conv: ConversationId) -> DbResult<Option<Row>> {
    Ok(c.row(
        "SELECT state, reason, score, solved FROM surveys WHERE conversation_id = ?1",
        [conv],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .optional()?)
}
