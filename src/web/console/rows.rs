//! One chat row, for the page and for the live push alike (D4, D14): a
//! message of either side with its media, location or link card and, when
//! outbound, its delivery state; or an internal note. Text is split into
//! plain runs and WeChat emoji codes (`/::)`), so the template escapes every
//! run and never needs `|safe`.

use crate::db::console::Note;
use crate::db::media::Media;
use crate::db::messages::Message;
use crate::db::{self, DbResult};
use crate::error::AppError;
use crate::export::transcript::step_text;
use crate::model::{ConversationId, FollowerId, MessageId};
use crate::model::{Direction, MediaKind, MediaState, MessageKind, OutboxState};
use crate::state::AppState;
use askama::Template;
use axum::response::{IntoResponse, Response};
use rusqlite::Connection;

pub use crate::wechat::faces::{EMOJI, Seg, face_name, segments};

/// What one row shows.
#[derive(Clone, Debug)]
pub struct RowView {
    /// The element id: `m-<message>` or `n-<note>`.
    pub dom_id: String,
    /// `in`, `out`, `note` or `system` (automatic replies without an agent).
    pub side: &'static str,
    pub author: String,
    pub time: String,
    /// A time stamp line above the row (more than 3 minutes since the previous).
    pub stamp: Option<String>,
    pub segs: Vec<Seg>,
    pub kind: MessageKind,
    pub image: Option<String>,
    pub audio: Option<String>,
    pub video: Option<String>,
    pub media_note: Option<String>,
    pub recognition: String,
    pub location: Option<Location>,
    pub link: Option<Link>,
    /// Delivery of an outbound message: (css class, label, reason).
    pub delivery: Option<(&'static str, String, String)>,
    /// 重发 (failed, or outcome unknown).
    pub retry_url: Option<String>,
    /// 忽略 (outcome unknown).
    pub ignore_url: Option<String>,
    /// 立即重试 (waiting after a transient failure).
    pub retry_now_url: Option<String>,
    /// Said under an unknown outcome.
    pub caution: Option<String>,
    pub message_id: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct Location {
    pub label: String,
    pub lat: String,
    pub lng: String,
    pub map: String,
}

#[derive(Clone, Debug)]
pub struct Link {
    pub title: String,
    pub description: String,
    pub url: String,
}

#[derive(Template)]
#[template(path = "console/row.html")]
pub struct RowTemplate<'a> {
    pub r: &'a RowView,
}

fn json_str(v: &serde_json::Value, key: &str) -> String {
    match &v[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Said under a send whose outcome is unknown, next to 重发 and 忽略.
pub fn unknown_caution() -> String {
    crate::t("console-unknown-caution")
}

/// A message as a row. `agent_name` names the sender of an outbound message.
pub fn message_row(
    m: &Message,
    media: &[Media],
    agent_name: Option<String>,
    tz: &jiff::tz::TimeZone,
) -> RowView {
    let time = m
        .created_at
        .to_zoned(tz.clone())
        .strftime("%H:%M")
        .to_string();
    let stored = |kind: MediaKind| {
        media
            .iter()
            .find(|x| x.kind == kind && x.state == MediaState::Stored)
            .map(|x| format!("/media/{}", x.id))
    };
    let media_note = media
        .iter()
        .find(|x| x.kind != MediaKind::Thumb)
        .and_then(|x| match x.state {
            MediaState::Pending => Some(crate::t("console-media-pending")),
            MediaState::Failed => {
                Some(crate::t1("console-media-failed", "error", x.error.as_str()))
            }
            MediaState::Stored => None,
        });
    let (image, audio, video) = match m.kind {
        MessageKind::Image => (stored(MediaKind::Image), None, None),
        MessageKind::Voice => (None, stored(MediaKind::Voice), None),
        MessageKind::Video | MessageKind::ShortVideo => (None, None, stored(MediaKind::Video)),
        _ => (None, None, None),
    };
    // An outbound image the agent uploaded: its file is in the uploads folder.
    let image = image.or_else(|| {
        (m.direction == Direction::Out && m.kind == MessageKind::Image)
            .then(|| json_str(&m.data, "upload"))
            .filter(|u| !u.is_empty())
            .map(|u| format!("/console/uploads/{u}"))
    });
    let location = (m.kind == MessageKind::Location).then(|| {
        let (lat, lng) = (
            json_str(&m.data, "latitude"),
            json_str(&m.data, "longitude"),
        );
        Location {
            label: json_str(&m.data, "label"),
            map: format!(
                "https://uri.amap.com/marker?position={lng},{lat}&name={}",
                json_str(&m.data, "label")
            ),
            lat,
            lng,
        }
    });
    let link = (m.kind == MessageKind::Link).then(|| Link {
        title: json_str(&m.data, "title"),
        description: json_str(&m.data, "description"),
        url: {
            let u = json_str(&m.data, "url");
            if u.starts_with("http://") || u.starts_with("https://") {
                u
            } else {
                String::new()
            }
        },
    });
    // A passive reply travelled in the webhook's answer: WeChat confirms nothing more.
    let passive = m.direction == Direction::Out && m.data["passive"].as_bool() == Some(true);
    let delivery = if passive {
        Some(("sent", crate::t("console-delivery-passive"), String::new()))
    } else {
        None
    };
    let delivery = delivery.or_else(|| {
        m.delivery.as_ref().map(|(state, reason)| match state {
            OutboxState::Pending | OutboxState::Sending if reason.is_empty() => (
                "pending",
                crate::t("console-delivery-sending"),
                String::new(),
            ),
            OutboxState::Pending | OutboxState::Sending => (
                "pending",
                crate::t("console-delivery-retrying"),
                reason.clone(),
            ),
            OutboxState::Sent => ("sent", crate::t("console-delivery-sent"), String::new()),
            OutboxState::Failed => (
                "failed",
                crate::t("console-delivery-failed"),
                reason.clone(),
            ),
            OutboxState::Unknown => (
                "unknown",
                crate::t("console-delivery-unknown"),
                reason.clone(),
            ),
            OutboxState::Ignored => (
                "unknown",
                crate::t("console-delivery-ignored"),
                String::new(),
            ),
        })
    });
    let state = m
        .delivery
        .as_ref()
        .map(|(s, reason)| (*s, reason.is_empty()));
    let url = |action: &str| Some(format!("/console/messages/{}/{action}", m.id));
    let retry_url = match state {
        Some((OutboxState::Failed | OutboxState::Unknown, _)) => url("retry"),
        _ => None,
    };
    let unknown = matches!(state, Some((OutboxState::Unknown, _)));
    let ignore_url = if unknown { url("ignore") } else { None };
    let caution = unknown.then(unknown_caution);
    // Waiting after a transient failure (a reason is shown while it waits).
    let retry_now_url = match state {
        Some((OutboxState::Pending, false)) => url("retry-now"),
        _ => None,
    };
    let side = match (m.direction, &agent_name) {
        (Direction::In, _) => "in",
        (Direction::Out, Some(_)) => "out",
        (Direction::Out, None) => "system",
    };
    RowView {
        dom_id: format!("m-{}", m.id),
        side,
        author: match side {
            "in" => String::new(),
            "system" => crate::t("console-auto-reply"),
            _ => agent_name.unwrap_or_default(),
        },
        time,
        stamp: None,
        segs: segments(&m.content),
        kind: m.kind,
        image,
        audio,
        video,
        media_note,
        recognition: json_str(&m.data, "recognition"),
        location,
        link,
        delivery,
        retry_url,
        ignore_url,
        retry_now_url,
        caution,
        message_id: Some(m.id.0),
    }
}

pub fn note_row(n: &Note, tz: &jiff::tz::TimeZone) -> RowView {
    RowView {
        dom_id: format!("n-{}", n.id),
        side: "note",
        author: n.author.clone(),
        time: n.at.to_zoned(tz.clone()).strftime("%H:%M").to_string(),
        stamp: None,
        segs: segments(&n.body),
        kind: MessageKind::Text,
        image: None,
        audio: None,
        video: None,
        media_note: None,
        recognition: String::new(),
        location: None,
        link: None,
        delivery: None,
        retry_url: None,
        ignore_url: None,
        retry_now_url: None,
        caution: None,
        message_id: None,
    }
}

/// A step of a conversation — 接入 / 转接 from → to / 结束 with its remark and
/// categories — as a line of the timeline, in the words of the PDF transcript.
/// `n` tells apart steps of one conversation at the same millisecond.
pub fn step_row(
    s: &crate::db::transcripts::StepLine,
    n: usize,
    tz: &jiff::tz::TimeZone,
) -> RowView {
    RowView {
        dom_id: format!("s-{}-{}-{n}", s.conversation, s.at.as_millisecond()),
        side: "step",
        author: String::new(),
        time: s.at.to_zoned(tz.clone()).strftime("%H:%M").to_string(),
        stamp: None,
        segs: vec![Seg::Text(step_text(s))],
        kind: MessageKind::Text,
        image: None,
        audio: None,
        video: None,
        media_note: None,
        recognition: String::new(),
        location: None,
        link: None,
        delivery: None,
        retry_url: None,
        ignore_url: None,
        retry_now_url: None,
        caution: None,
        message_id: None,
    }
}

/// The steps worth a line in a chat: everything but the opening (the
/// follower's first message shows that). Sorted with [`timeline_order`].
pub fn step_rows(
    steps: &[crate::db::transcripts::StepLine],
    tz: &jiff::tz::TimeZone,
) -> Vec<(jiff::Timestamp, RowView)> {
    steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.step != "open")
        .map(|(n, s)| {
            // Routing follows the message that caused it, written at the same moment.
            let at = if s.step == "route" {
                s.at + jiff::SignedDuration::from_millis(1)
            } else {
                s.at
            };
            (at, step_row(s, n, tz))
        })
        .collect()
}

/// Puts a timeline in order: by time, and at the same moment a step before
/// the messages it caused — the greeting after 接入 and the closing words after 结束.
pub fn timeline_order(rows: &mut [(jiff::Timestamp, RowView)]) {
    rows.sort_by_key(|(at, r)| (*at, r.side != "step"));
}

/// Adds a time stamp where more than 3 minutes passed since the previous row
/// (and on the first row), as WeChat does (S3 1.2.1.2).
pub fn stamp(
    rows: &mut [(jiff::Timestamp, RowView)],
    tz: &jiff::tz::TimeZone,
    today: jiff::civil::Date,
) {
    let mut prev: Option<jiff::Timestamp> = None;
    for (at, row) in rows.iter_mut() {
        if prev.is_none_or(|p| at.duration_since(p) > jiff::SignedDuration::from_mins(3)) {
            row.stamp = Some(stamp_text(*at, tz, today));
        }
        prev = Some(*at);
    }
}

pub fn stamp_text(
    at: jiff::Timestamp,
    tz: &jiff::tz::TimeZone,
    today: jiff::civil::Date,
) -> String {
    let z = at.to_zoned(tz.clone());
    if z.date() == today {
        z.strftime("%H:%M").to_string()
    } else {
        z.strftime("%Y-%m-%d %H:%M").to_string()
    }
}

pub(super) fn row_of(
    c: &Connection,
    m: &db::messages::Message,
    tz: &jiff::tz::TimeZone,
) -> DbResult<RowView> {
    let media = db::media::of_message(c, m.id)?;
    let agent = match m.sender_id {
        Some(u) => db::users::get(c, u)?.map(|u| u.display_name),
        None => None,
    };
    Ok(message_row(m, &media, agent, tz))
}

/// One message row as a live push or a swap renders it; with a stamp when the
/// previous message of the follower is more than 3 minutes older.
pub fn render_message_row(
    c: &Connection,
    id: MessageId,
    tz: &jiff::tz::TimeZone,
    now: jiff::Timestamp,
) -> DbResult<Option<(String, FollowerId)>> {
    let Some(m) = db::messages::get(c, id)? else {
        return Ok(None);
    };
    let mut row = row_of(c, &m, tz)?;
    let prev = db::console::previous_message_at(c, m.follower_id, m.id).unwrap_or(None);
    if prev.is_none_or(|p| m.created_at.duration_since(p) > jiff::SignedDuration::from_mins(3)) {
        row.stamp = Some(stamp_text(
            m.created_at,
            tz,
            now.to_zoned(tz.clone()).date(),
        ));
    }
    Ok(Some((
        RowTemplate { r: &row }
            .render()
            .map_err(|e| db::DbError::Commit(e.to_string()))?,
        m.follower_id,
    )))
}

pub fn render_note_row(
    c: &Connection,
    id: i64,
    tz: &jiff::tz::TimeZone,
) -> DbResult<Option<(String, ConversationId)>> {
    let Some(n) = db::console::note(c, id)? else {
        return Ok(None);
    };
    let row = note_row(&n, tz);
    Ok(Some((
        RowTemplate { r: &row }
            .render()
            .map_err(|e| db::DbError::Commit(e.to_string()))?,
        n.conversation_id,
    )))
}

/// One message row as an htmx answer (the same HTML the live stream pushes).
pub(crate) async fn message_fragment(
    state: &AppState,
    message: MessageId,
) -> Result<Response, AppError> {
    let (tz, now) = (state.config.timezone.clone(), state.clock.now());
    let row = super::read(state, move |c| render_message_row(c, message, &tz, now)).await?;
    Ok(axum::response::Html(row.map(|(h, _)| h).unwrap_or_default()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_become_emoji_and_the_rest_stays_text() {
        assert_eq!(
            segments("hi/::)thanks/:strong!"),
            vec![
                Seg::Text("hi".into()),
                Seg::Emoji {
                    glyph: "🙂",
                    name: "微笑"
                },
                Seg::Text("thanks".into()),
                Seg::Emoji {
                    glyph: "👍",
                    name: "强"
                },
                Seg::Text("!".into()),
            ]
        );
        // Longest code wins: /::-| is not /::- followed by |.
        assert_eq!(
            segments("/::-|"),
            vec![Seg::Emoji {
                glyph: "😅",
                name: "尴尬"
            }]
        );
        assert_eq!(segments("a/b <c>"), vec![Seg::Text("a/b <c>".into())]);
        assert!(segments("").is_empty());
    }

    #[test]
    fn stamps_only_after_a_pause_of_more_than_three_minutes() {
        let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
        let t0: jiff::Timestamp = "2026-05-01T02:00:00Z".parse().unwrap();
        let today = t0.to_zoned(tz.clone()).date();
        let n = Note {
            id: 1,
            conversation_id: crate::model::ConversationId(1),
            author: "a".into(),
            body: "x".into(),
            at: t0,
        };
        let mut rows: Vec<_> = [0, 2, 5, 9]
            .iter()
            .map(|m| (t0 + jiff::SignedDuration::from_mins(*m), note_row(&n, &tz)))
            .collect();
        stamp(&mut rows, &tz, today);
        let stamps: Vec<Option<String>> = rows.into_iter().map(|(_, r)| r.stamp).collect();
        assert_eq!(
            stamps,
            [Some("10:00".into()), None, None, Some("10:09".into())]
        );
    }
}
