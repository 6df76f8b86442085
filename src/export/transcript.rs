//! Loads a transcript — one conversation, or a follower over a date range —
//! into a [`Transcript`]: messages, internal notes and conversation steps in
//! time order, with names, local times, and the image files read from the
//! media folder (inbound media and agents' uploads). Read-only; runs on a
//! reader connection after `access` allowed it, in the exporting user's
//! language (the connection's closures carry it).

use super::pdf::{self, Transcript, Who};
use crate::db::messages::Message;
use crate::db::transcripts::{self as q, NoteLine, StepLine};
use crate::db::{self, DbResult};
use crate::model::{
    ConversationId, Direction, FollowerId, MediaKind, MediaState, MessageKind, OutboxState, UserId,
};
use crate::wechat::outbox::safe_join;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rusqlite::Connection;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};

/// Who exports, when, and where files are.
#[derive(Clone, Debug)]
pub struct Context {
    pub tz: TimeZone,
    pub now: Timestamp,
    pub exported_by: String,
    pub media_dir: PathBuf,
}

impl Context {
    fn time(&self, t: Timestamp) -> String {
        t.to_zoned(self.tz.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    }
}

/// One conversation's transcript; `None` if it does not exist.
pub fn conversation(
    c: &Connection,
    id: ConversationId,
    ctx: &Context,
) -> DbResult<Option<Transcript>> {
    let Some(conv) = db::conversations::get(c, id)? else {
        return Ok(None);
    };
    let (opened, ended) = q::conversation_period(c, id)?;
    let period = crate::t2(
        "exp-period",
        "from",
        ctx.time(opened),
        "to",
        ended.map_or_else(|| crate::t("exp-ongoing"), |e| ctx.time(e)),
    );
    let entries = entries(
        c,
        ctx,
        q::conversation_messages(c, id)?,
        q::conversation_notes(c, id)?,
        q::conversation_steps(c, id)?,
    )?;
    let agents = q::conversation_agents(c, id)?;
    header(
        c,
        conv.follower_id,
        crate::t1("exp-title-conversation", "id", id.to_string()),
        period,
        agents,
        entries,
        ctx,
    )
}

/// A follower's history from `from` to `to` (inclusive days in the configured
/// time zone; open ends reach the first or last message).
pub fn follower(
    c: &Connection,
    id: FollowerId,
    from: Option<Date>,
    to: Option<Date>,
    ctx: &Context,
) -> DbResult<Option<Transcript>> {
    let start = |d: Date| d.to_zoned(ctx.tz.clone()).ok().map(|z| z.timestamp());
    let (lo, hi) = (
        from.and_then(start),
        to.and_then(|d| d.tomorrow().ok()).and_then(start),
    );
    let day = |d: Option<Date>, open: &str| d.map_or_else(|| crate::t(open), |d| d.to_string());
    let period = crate::t2(
        "exp-period",
        "from",
        day(from, "exp-earliest"),
        "to",
        day(to, "exp-latest"),
    );
    let entries = entries(
        c,
        ctx,
        q::follower_messages(c, id, lo, hi)?,
        q::follower_notes(c, id, lo, hi)?,
        q::follower_steps(c, id, lo, hi)?,
    )?;
    let agents = q::follower_agents(c, id, lo, hi)?;
    header(
        c,
        id,
        crate::t("exp-title-history"),
        period,
        agents,
        entries,
        ctx,
    )
}

fn header(
    c: &Connection,
    follower: FollowerId,
    title: String,
    period: String,
    agents: Vec<String>,
    entries: Vec<pdf::Entry>,
    ctx: &Context,
) -> DbResult<Option<Transcript>> {
    let Some(f) = db::followers::get(c, follower)? else {
        return Ok(None);
    };
    let account = db::accounts::get(c, f.account_id)?
        .map(|a| a.name)
        .unwrap_or_default();
    let mut name = f.label();
    if f.remark.is_empty() && f.wx_remark.is_empty() {
        // 访客 and the OpenID's tail, as the console names an unnamed follower.
        let tail = name.trim_start_matches("访客");
        name = crate::t1("console-visitor", "tail", tail);
    }
    if !f.wx_remark.is_empty() && f.wx_remark != name {
        name = crate::t2("exp-follower-remark", "name", name, "remark", &f.wx_remark);
    }
    Ok(Some(Transcript {
        title,
        account,
        follower: name,
        openid: f.openid,
        agents,
        period,
        filters: Vec::new(),
        exported_at: ctx.time(ctx.now),
        exported_by: ctx.exported_by.clone(),
        entries,
    }))
}

/// Messages, notes and steps merged in time order (a step that ends a
/// conversation after everything said at the same moment).
fn entries(
    c: &Connection,
    ctx: &Context,
    messages: Vec<Message>,
    notes: Vec<NoteLine>,
    steps: Vec<StepLine>,
) -> DbResult<Vec<pdf::Entry>> {
    let mut names: HashMap<UserId, String> = HashMap::new();
    let mut all: Vec<(Timestamp, u8, pdf::Entry)> = Vec::new();
    for m in &messages {
        let who = match (m.direction, m.sender_id) {
            (Direction::In, _) => Who::Follower,
            (Direction::Out, Some(id)) => {
                let name = match names.entry(id) {
                    Entry::Occupied(e) => e.get().clone(),
                    Entry::Vacant(e) => e
                        .insert(
                            db::users::get(c, id)?
                                .map(|u| u.display_name)
                                .unwrap_or_default(),
                        )
                        .clone(),
                };
                Who::Agent(name)
            }
            (Direction::Out, None) => Who::Auto,
        };
        let (text, image) = message_body(c, m, &ctx.media_dir)?;
        all.push((
            m.created_at,
            1,
            pdf::Entry {
                time: ctx.time(m.created_at),
                who,
                text,
                image,
            },
        ));
    }
    for n in notes {
        all.push((
            n.at,
            1,
            pdf::Entry {
                time: ctx.time(n.at),
                who: Who::Note(n.author),
                text: n.body,
                image: None,
            },
        ));
    }
    for s in steps {
        let rank = if s.step.starts_with("end_") || s.step == "remove" {
            2
        } else {
            0
        };
        all.push((
            s.at,
            rank,
            pdf::Entry {
                time: ctx.time(s.at),
                who: Who::Step,
                text: step_text(&s),
                image: None,
            },
        ));
    }
    all.sort_by_key(|(at, rank, _)| (*at, *rank));
    Ok(all.into_iter().map(|(_, _, e)| e).collect())
}

fn json_str(v: &serde_json::Value, key: &str) -> String {
    match &v[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// What a message shows as text, and its image file if it is one.
fn message_body(
    c: &Connection,
    m: &Message,
    media_dir: &Path,
) -> DbResult<(String, Option<Vec<u8>>)> {
    let mut image = None;
    let mut text = match m.kind {
        MessageKind::Text | MessageKind::Event => m.content.clone(),
        MessageKind::Image => {
            let (bytes, why) = image_file(c, m, media_dir)?;
            image = bytes;
            match why {
                Some(why) => labelled("exp-image", "", why),
                None => String::new(),
            }
        }
        MessageKind::Voice => labelled(
            "exp-voice",
            &json_str(&m.data, "recognition"),
            "exp-no-recognition",
        ),
        MessageKind::Video | MessageKind::ShortVideo => labelled("exp-video", &m.content, ""),
        MessageKind::Location => {
            let label = json_str(&m.data, "label");
            let label = if label.is_empty() {
                crate::t("exp-unnamed-place")
            } else {
                label
            };
            crate::t3(
                "exp-location",
                "label",
                label,
                "lat",
                json_str(&m.data, "latitude"),
                "lng",
                json_str(&m.data, "longitude"),
            )
        }
        MessageKind::Link => {
            let mut s = crate::t1("exp-link", "title", json_str(&m.data, "title"));
            let d = json_str(&m.data, "description");
            if !d.is_empty() {
                s.push_str(&format!("\n{d}"));
            }
            let u = json_str(&m.data, "url");
            if !u.is_empty() {
                s.push_str(&format!("\n{u}"));
            }
            s
        }
        MessageKind::Unknown => labelled("exp-unsupported", &m.content, ""),
    };
    if let Some((OutboxState::Failed, reason)) = &m.delivery {
        text.push('\n');
        text.push_str(&crate::t1("exp-send-failed", "reason", reason));
    }
    Ok((text, image))
}

/// The label `label` (a catalogue key) with the text after it; without text,
/// with the reason `empty` (a key, or "" for none) in brackets.
fn labelled(label: &str, text: &str, empty: &str) -> String {
    let label = crate::t(label);
    match (text.trim(), empty) {
        ("", "") => label,
        ("", e) => crate::t2("exp-with-reason", "label", label, "reason", crate::t(e)),
        (t, _) => format!("{label} {t}"),
    }
}

/// An image message's file: an inbound one from `media`, an agent's upload
/// from `uploads`; or why it cannot be shown (a catalogue key).
fn image_file(
    c: &Connection,
    m: &Message,
    media_dir: &Path,
) -> DbResult<(Option<Vec<u8>>, Option<&'static str>)> {
    let rel = if m.direction == Direction::In {
        let media = db::media::of_message(c, m.id)?;
        match media.iter().find(|x| x.kind == MediaKind::Image) {
            Some(x) if x.state == MediaState::Stored => Some(x.path.clone()),
            Some(x) if x.state == MediaState::Pending => {
                return Ok((None, Some("exp-not-downloaded")));
            }
            _ => None,
        }
    } else {
        json_str(&m.data, "upload")
            .parse::<i64>()
            .ok()
            .map(|id| db::uploads::get(c, id))
            .transpose()?
            .flatten()
            .map(|u| u.path)
    };
    let Some(rel) = rel else {
        return Ok((None, Some("exp-file-missing")));
    };
    match safe_join(media_dir, &rel).and_then(|p| std::fs::read(p).ok()) {
        Some(bytes) => Ok((Some(bytes), None)),
        None => Ok((None, Some("exp-file-missing"))),
    }
}

/// A step as a line — who did what, to whom, and why — in the current
/// language: the PDF's words and the console timeline's alike.
pub fn step_text(s: &StepLine) -> String {
    let actor = if s.actor.is_empty() {
        crate::t("console-step-agent")
    } else {
        s.actor.clone()
    };
    let actor = actor.as_str();
    let to = s.to.as_str();
    let mut t = match s.step.as_str() {
        "open" => crate::t("console-step-open"),
        "route" => crate::t1("console-step-route", "to", to),
        "accept" => crate::t1("console-step-accept", "actor", actor),
        "transfer_in_group" => crate::t2("console-step-transfer", "actor", actor, "to", to),
        "transfer_to_group" if s.to_group.is_empty() || s.to_group == s.group => {
            crate::t1("console-step-back-to-queue", "actor", actor)
        }
        "transfer_to_group" => crate::t2(
            "console-step-transfer-group",
            "actor",
            actor,
            "group",
            s.to_group.as_str(),
        ),
        "end_by_agent" => crate::t1("console-step-end", "actor", actor),
        "end_by_timeout" => crate::t("console-step-timeout"),
        "abandon" => crate::t("console-step-abandon"),
        "expire" => crate::t("console-step-expire"),
        "remove" => crate::t1("console-step-remove", "actor", actor),
        other => other.to_string(),
    };
    if !s.note.trim().is_empty() {
        t.push_str(&crate::t1("console-step-note", "note", s.note.trim()));
    }
    if !s.categories.is_empty() {
        let list = s.categories.join(&crate::t("console-list-separator"));
        t.push_str(&crate::t1("console-step-categories", "list", list));
    }
    if !s.end_remark.trim().is_empty() {
        t.push_str(&crate::t1(
            "console-step-remark",
            "remark",
            s.end_remark.trim(),
        ));
    }
    t
}
