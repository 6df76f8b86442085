//! From a parsed push to stored rows, in one transaction (A3, A4, A7, A9, A10):
//! the follower (created on first contact), the message (exactly once, by its
//! dedup key), the interaction that opens the reply window, the subscription
//! state, and a pending media row per file to download after the answer.

use super::xml::{Event, Inbound, InboundKind};
use crate::db::accounts::Account;
use crate::db::messages::NewInbound;
use crate::db::{self, DbResult};
use crate::model::{FollowerId, InteractionKind, MediaKind, MessageId, MessageKind};
use rusqlite::Connection;
use serde_json::json;

/// What storing a push did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub follower: FollowerId,
    /// `None` when the push was a retry of one already stored.
    pub message: Option<MessageId>,
    /// Media rows were queued for download.
    pub media: bool,
    /// This push created the follower (their profile is to be fetched).
    pub new_follower: bool,
    /// The follower's open conversation when the push arrived (a message
    /// joined it as it was stored).
    pub open: Option<db::conversations::Conversation>,
}

/// WeChat's retries are byte-identical pushes. Messages carry a MsgId; events
/// have none (TEMPLATESENDJOBFINISH has its MsgID), so they are told apart by
/// sender, time, event and what distinguishes one event from another in the
/// same second (the menu key, the scene, the URL).
pub fn dedup_key(m: &Inbound) -> String {
    let detail = |e: &Event| -> String {
        match e {
            Event::Subscribe { scene, .. } => scene.clone().unwrap_or_default(),
            Event::Scan { scene, .. } => scene.clone(),
            Event::Click { key } => key.clone(),
            Event::View { url, .. } => url.clone(),
            Event::Location {
                latitude,
                longitude,
                ..
            } => format!("{latitude},{longitude}"),
            Event::Unknown { event } => event.clone(),
            Event::Unsubscribe | Event::TemplateSendJobFinish { .. } => String::new(),
        }
    };
    match (&m.kind, m.msg_id) {
        (InboundKind::Event(Event::TemplateSendJobFinish { .. }), Some(id)) => format!("t:{id}"),
        (InboundKind::Event(e), _) => format!(
            "e:{}:{}:{}:{}",
            m.from_user,
            m.create_time,
            e.name(),
            detail(e)
        ),
        (InboundKind::Unknown { msg_type }, None) => {
            format!("u:{}:{}:{msg_type}", m.from_user, m.create_time)
        }
        (other, None) => format!("u:{}:{}:{}", m.from_user, m.create_time, other.type_name()),
        (_, Some(id)) => format!("m:{id}"),
    }
}

/// Whether the push can be stored at all (the OpenID is what ties it to a
/// follower). WeChat's OpenIDs and original ids are plain ASCII: one holding a
/// control character is refused (400) rather than stored under another name.
pub fn check(m: &Inbound) -> Result<(), &'static str> {
    let n = m.from_user.chars().count();
    if n == 0 || n > 128 {
        return Err("FromUserName must be 1 to 128 characters");
    }
    if m.from_user.chars().any(char::is_control) {
        return Err("FromUserName holds a control character");
    }
    if m.to_user.chars().any(char::is_control) {
        return Err("ToUserName holds a control character");
    }
    Ok(())
}

/// `text` as kefu keeps it: CRLF and a lone CR become LF, and every other
/// control character but tab (NUL, ESC, DEL, C1 codes…) is dropped. Applied
/// to everything a follower or WeChat wrote, so no stored text, page or live
/// frame carries them.
pub fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\t' && c != '\n')
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    std::borrow::Cow::Owned(
        text.chars()
            .filter(|c| !c.is_control() || *c == '\t' || *c == '\n')
            .collect(),
    )
}

/// Cleans every text of a parsed push in place (see [`clean`]); the OpenIDs
/// are left for [`check`] to refuse.
pub fn sanitise(m: &mut Inbound) {
    fn c(s: &mut String) {
        if let std::borrow::Cow::Owned(t) = clean(s) {
            *s = t;
        }
    }
    match &mut m.kind {
        InboundKind::Text { content } => c(content),
        InboundKind::Image { pic_url, media_id } => {
            c(pic_url);
            c(media_id);
        }
        InboundKind::Voice {
            media_id,
            format,
            recognition,
        } => {
            c(media_id);
            c(format);
            recognition.iter_mut().for_each(c);
        }
        InboundKind::Video {
            media_id,
            thumb_media_id,
        }
        | InboundKind::ShortVideo {
            media_id,
            thumb_media_id,
        } => {
            c(media_id);
            c(thumb_media_id);
        }
        InboundKind::Location { label, .. } => c(label),
        InboundKind::Link {
            title,
            description,
            url,
        } => {
            c(title);
            c(description);
            c(url);
        }
        InboundKind::Event(e) => match e {
            Event::Subscribe { scene, ticket } => {
                scene.iter_mut().for_each(c);
                ticket.iter_mut().for_each(c);
            }
            Event::Scan { scene, ticket } => {
                c(scene);
                ticket.iter_mut().for_each(c);
            }
            Event::Click { key } => c(key),
            Event::View { url, menu_id } => {
                c(url);
                menu_id.iter_mut().for_each(c);
            }
            Event::TemplateSendJobFinish { status } => c(status),
            Event::Unknown { event } => c(event),
            Event::Unsubscribe | Event::Location { .. } => {}
        },
        InboundKind::Unknown { msg_type } => c(msg_type),
    }
}

/// The push flattened for the messages table.
pub fn to_row(m: &Inbound, raw: &str, now: jiff::Timestamp) -> NewInbound {
    let (kind, event, content, data) = match &m.kind {
        InboundKind::Text { content } => (MessageKind::Text, "", content.clone(), json!({})),
        InboundKind::Image { pic_url, media_id } => (
            MessageKind::Image,
            "",
            String::new(),
            json!({ "pic_url": pic_url, "media_id": media_id }),
        ),
        InboundKind::Voice {
            media_id,
            format,
            recognition,
        } => (
            MessageKind::Voice,
            "",
            recognition.clone().unwrap_or_default(),
            json!({ "media_id": media_id, "format": format, "recognition": recognition }),
        ),
        InboundKind::Video {
            media_id,
            thumb_media_id,
        } => (
            MessageKind::Video,
            "",
            String::new(),
            json!({ "media_id": media_id, "thumb_media_id": thumb_media_id }),
        ),
        InboundKind::ShortVideo {
            media_id,
            thumb_media_id,
        } => (
            MessageKind::ShortVideo,
            "",
            String::new(),
            json!({ "media_id": media_id, "thumb_media_id": thumb_media_id }),
        ),
        InboundKind::Location {
            latitude,
            longitude,
            scale,
            label,
        } => (
            MessageKind::Location,
            "",
            label.clone(),
            json!({ "latitude": latitude, "longitude": longitude, "scale": scale, "label": label }),
        ),
        InboundKind::Link {
            title,
            description,
            url,
        } => (
            MessageKind::Link,
            "",
            title.clone(),
            json!({ "title": title, "description": description, "url": url }),
        ),
        InboundKind::Event(e) => {
            let data = match e {
                Event::Subscribe { scene, ticket } => json!({ "scene": scene, "ticket": ticket }),
                Event::Scan { scene, ticket } => json!({ "scene": scene, "ticket": ticket }),
                Event::Location {
                    latitude,
                    longitude,
                    precision,
                } => {
                    json!({ "latitude": latitude, "longitude": longitude, "precision": precision })
                }
                Event::Click { key } => json!({ "key": key }),
                Event::View { url, menu_id } => json!({ "url": url, "menu_id": menu_id }),
                Event::TemplateSendJobFinish { status } => json!({ "status": status }),
                Event::Unsubscribe | Event::Unknown { .. } => json!({}),
            };
            return NewInbound {
                dedup_key: dedup_key(m),
                wx_msg_id: m.msg_id,
                kind: MessageKind::Event,
                event: e.name().to_string(),
                content: String::new(),
                data,
                raw: raw.to_string(),
                created_at: created_at(m, now),
                conversation: None,
            };
        }
        InboundKind::Unknown { msg_type } => (
            MessageKind::Unknown,
            "",
            String::new(),
            json!({ "msg_type": msg_type }),
        ),
    };
    NewInbound {
        dedup_key: dedup_key(m),
        wx_msg_id: m.msg_id,
        kind,
        event: event.to_string(),
        content,
        data,
        raw: raw.to_string(),
        created_at: created_at(m, now),
        conversation: None,
    }
}

/// WeChat's CreateTime, unless it is absurd (then the time we received it).
fn created_at(m: &Inbound, now: jiff::Timestamp) -> jiff::Timestamp {
    match jiff::Timestamp::from_second(m.create_time) {
        Ok(t) if t <= now + jiff::SignedDuration::from_mins(5) && m.create_time > 0 => t,
        _ => now,
    }
}

/// Which interaction, if any, opens the reply window (WECHAT.md §7).
fn interaction(m: &Inbound) -> Option<InteractionKind> {
    match &m.kind {
        InboundKind::Event(Event::Subscribe { .. } | Event::Scan { .. } | Event::Click { .. }) => {
            Some(InteractionKind::Event)
        }
        InboundKind::Event(_) => None,
        _ => Some(InteractionKind::Message),
    }
}

/// Stores a push; call inside a write transaction.
pub fn store(
    c: &Connection,
    account: &Account,
    m: &Inbound,
    raw: &str,
    now: jiff::Timestamp,
) -> DbResult<Stored> {
    let (follower, new_follower) = db::followers::upsert_seen(c, account.id, &m.from_user, now)?;
    let mut row = to_row(m, raw, now);
    // A message joins the follower's open conversation as it is stored (events do not).
    let open = db::conversations::open_of(c, follower)?;
    if !matches!(m.kind, InboundKind::Event(_)) {
        row.conversation = open.as_ref().map(|v| v.id);
    }
    let Some(message) = db::messages::insert_inbound(c, account.id, follower, &row, now)? else {
        return Ok(Stored {
            follower,
            message: None,
            media: false,
            new_follower,
            open,
        });
    };
    if account.original_id != m.to_user && !m.to_user.is_empty() {
        db::accounts::set_original_id(c, account.id, &m.to_user)?;
    }
    if let Some(kind) = interaction(m) {
        db::followers::record_interaction(c, follower, kind, row.created_at)?;
    }
    match &m.kind {
        InboundKind::Event(Event::Subscribe { scene, .. }) => {
            db::followers::set_subscribed(c, follower, true, scene.as_deref(), row.created_at)?;
        }
        InboundKind::Event(Event::Unsubscribe) => {
            db::followers::set_subscribed(c, follower, false, None, row.created_at)?;
        }
        _ => {}
    }
    let files: Vec<(MediaKind, &str, &str)> = match &m.kind {
        InboundKind::Image { pic_url, media_id } => vec![(MediaKind::Image, media_id, pic_url)],
        InboundKind::Voice { media_id, .. } => vec![(MediaKind::Voice, media_id, "")],
        InboundKind::Video {
            media_id,
            thumb_media_id,
        }
        | InboundKind::ShortVideo {
            media_id,
            thumb_media_id,
        } => {
            vec![
                (MediaKind::Video, media_id, ""),
                (MediaKind::Thumb, thumb_media_id, ""),
            ]
        }
        _ => vec![],
    };
    let files: Vec<_> = files
        .into_iter()
        .filter(|(_, id, url)| !id.is_empty() || !url.is_empty())
        .collect();
    for (kind, media_id, url) in &files {
        db::media::insert_pending(c, account.id, message, *kind, media_id, url, now)?;
    }
    Ok(Stored {
        follower,
        message: Some(message),
        media: !files.is_empty(),
        new_follower,
        open,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::accounts::tests::seed_account;
    use crate::db::memory;

    fn text(msg_id: i64) -> Inbound {
        Inbound {
            to_user: "gh_abc".into(),
            from_user: "oFollower1".into(),
            create_time: 1_714_037_059,
            msg_id: Some(msg_id),
            kind: InboundKind::Text {
                content: "在吗".into(),
            },
        }
    }

    #[test]
    fn control_characters_are_stripped_from_texts_and_refused_in_openids() {
        assert_eq!(clean("你好"), "你好");
        assert!(matches!(clean("a\tb\nc"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(
            clean("a\0b\r\nc\rd\u{1b}[31m\u{7f}\u{85}e"),
            "ab\nc\nd[31me"
        );
        assert_eq!(clean("\0"), "");
        let mut m = text(1);
        m.kind = InboundKind::Text {
            content: "在\0吗\r\nevent: msg".into(),
        };
        sanitise(&mut m);
        assert_eq!(
            m.kind,
            InboundKind::Text {
                content: "在吗\nevent: msg".into()
            }
        );
        assert!(check(&m).is_ok());
        for bad in ["oF\0", "\0", "o\rF"] {
            let mut m = text(1);
            m.from_user = bad.into();
            assert!(check(&m).is_err(), "{bad:?}");
        }
        let mut m = text(1);
        m.to_user = "gh_\0".into();
        assert!(check(&m).is_err());
    }

    #[test]
    fn keys_tell_retries_from_new_pushes() {
        assert_eq!(dedup_key(&text(42)), "m:42");
        let mut e = text(0);
        e.msg_id = None;
        e.kind = InboundKind::Event(Event::Click {
            key: "MENU_1".into(),
        });
        assert_eq!(dedup_key(&e), "e:oFollower1:1714037059:CLICK:MENU_1");
        let mut other = e.clone();
        other.kind = InboundKind::Event(Event::Click {
            key: "MENU_2".into(),
        });
        assert_ne!(
            dedup_key(&e),
            dedup_key(&other),
            "two menu clicks in one second are two pushes"
        );
        let mut job = e.clone();
        job.msg_id = Some(99);
        job.kind = InboundKind::Event(Event::TemplateSendJobFinish {
            status: "success".into(),
        });
        assert_eq!(dedup_key(&job), "t:99");
    }

    #[test]
    fn stores_once_opens_the_window_and_queues_media() {
        let conn = memory().unwrap();
        let id = seed_account(&conn, "wx1");
        let account = db::accounts::get(&conn, id).unwrap().unwrap();
        let now = jiff::Timestamp::from_second(1_714_037_100).unwrap();
        let first = store(&conn, &account, &text(1), "<xml/>", now).unwrap();
        assert!(first.message.is_some());
        assert_eq!(
            store(&conn, &account, &text(1), "<xml/>", now)
                .unwrap()
                .message,
            None
        );
        let f = db::followers::get(&conn, first.follower).unwrap().unwrap();
        assert!(f.message_window.is_some() && f.event_window.is_none());
        assert_eq!(
            db::accounts::get(&conn, id).unwrap().unwrap().original_id,
            "gh_abc"
        );

        let mut img = text(2);
        img.kind = InboundKind::Image {
            pic_url: "http://x/p.jpg".into(),
            media_id: "MEDIA".into(),
        };
        let s = store(&conn, &account, &img, "<xml/>", now).unwrap();
        assert!(s.media);
        let media = db::media::of_message(&conn, s.message.unwrap()).unwrap();
        assert_eq!(media.len(), 1);
        assert_eq!(media[0].wx_media_id, "MEDIA");

        let mut unsub = text(0);
        unsub.msg_id = None;
        unsub.kind = InboundKind::Event(Event::Unsubscribe);
        store(&conn, &account, &unsub, "<xml/>", now).unwrap();
        assert!(
            !db::followers::get(&conn, first.follower)
                .unwrap()
                .unwrap()
                .subscribed
        );
    }
}
