//! The XML WeChat speaks: inbound pushes (messages and events) into typed
//! [`Inbound`] values, the safe-mode [`Envelope`], and the passive replies
//! kefu writes back — plus the inverse builders the simulator and tests use to
//! play WeChat.
//!
//! This module only translates between text and types. It does not check
//! signatures or decrypt (`crypto` does), store anything, or decide whether a
//! message deserves a reply. Reading and writing go through quick-xml; any
//! `<!DOCTYPE>` (and so any entity declaration) is refused, since WeChat never
//! sends one and it is the door to entity-expansion attacks.

use quick_xml::events::{BytesRef, BytesStart, Event as XmlEvent};
use quick_xml::reader::Reader;

/// The largest push body accepted; WeChat's real ones are a few kilobytes.
pub const MAX_BODY: usize = 1024 * 1024;

/// Why a push body was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    #[error("XML body is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("XML body declares a DOCTYPE or an ENTITY, which WeChat never sends")]
    Doctype,
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("required element <{0}> is missing")]
    Missing(&'static str),
    #[error("element <{0}> does not hold a valid number")]
    BadNumber(&'static str),
}

/// The outer envelope of an encrypted push: ToUserName (may be absent) and Encrypt.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub to_user: Option<String>,
    pub encrypt: Option<String>,
}

/// One push from WeChat, message or event.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// ToUserName: the account's original id (`gh_…`).
    pub to_user: String,
    /// FromUserName: the follower's OpenID.
    pub from_user: String,
    /// CreateTime, unix seconds.
    pub create_time: i64,
    /// MsgId of ordinary messages, and MsgID of TEMPLATESENDJOBFINISH.
    pub msg_id: Option<i64>,
    pub kind: InboundKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InboundKind {
    Text {
        content: String,
    },
    Image {
        pic_url: String,
        media_id: String,
    },
    Voice {
        media_id: String,
        format: String,
        recognition: Option<String>,
    },
    Video {
        media_id: String,
        thumb_media_id: String,
    },
    ShortVideo {
        media_id: String,
        thumb_media_id: String,
    },
    Location {
        latitude: f64,
        longitude: f64,
        scale: Option<i64>,
        label: String,
    },
    Link {
        title: String,
        description: String,
        url: String,
    },
    Event(Event),
    /// Any MsgType not above: stored raw, shown as "暂不支持的消息类型", never dropped.
    Unknown {
        msg_type: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `scene` is the EventKey without its `qrscene_` prefix, when the follow
    /// came through a parametric QR code.
    Subscribe {
        scene: Option<String>,
        ticket: Option<String>,
    },
    Unsubscribe,
    /// A follower scanned a parametric QR code of an account they already follow.
    Scan {
        scene: String,
        ticket: Option<String>,
    },
    Location {
        latitude: f64,
        longitude: f64,
        precision: Option<f64>,
    },
    Click {
        key: String,
    },
    View {
        url: String,
        menu_id: Option<String>,
    },
    TemplateSendJobFinish {
        status: String,
    },
    /// Any Event not above: stored raw, never dropped.
    Unknown {
        event: String,
    },
}

impl InboundKind {
    /// The MsgType as WeChat writes it; `"unknown"` for types kefu does not know.
    pub fn type_name(&self) -> &'static str {
        match self {
            InboundKind::Text { .. } => "text",
            InboundKind::Image { .. } => "image",
            InboundKind::Voice { .. } => "voice",
            InboundKind::Video { .. } => "video",
            InboundKind::ShortVideo { .. } => "shortvideo",
            InboundKind::Location { .. } => "location",
            InboundKind::Link { .. } => "link",
            InboundKind::Event(_) => "event",
            InboundKind::Unknown { .. } => "unknown",
        }
    }
}

impl Event {
    /// The Event as WeChat writes it (note the mixed case), or the unknown name.
    pub fn name(&self) -> &str {
        match self {
            Event::Subscribe { .. } => "subscribe",
            Event::Unsubscribe => "unsubscribe",
            Event::Scan { .. } => "SCAN",
            Event::Location { .. } => "LOCATION",
            Event::Click { .. } => "CLICK",
            Event::View { .. } => "VIEW",
            Event::TemplateSendJobFinish { .. } => "TEMPLATESENDJOBFINISH",
            Event::Unknown { event } => event,
        }
    }
}

/// Passive reply bodies (users swapped by the caller: `to` = follower OpenID,
/// `from` = account gh_ id).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Text {
        content: String,
    },
    Image {
        media_id: String,
    },
    Voice {
        media_id: String,
    },
    Video {
        media_id: String,
        title: String,
        description: String,
    },
    /// WeChat shows at most one article in answer to a follower's message
    /// (eight for events); the caller chooses how many to send.
    News {
        articles: Vec<Article>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    pub title: String,
    pub description: String,
    pub pic_url: String,
    pub url: String,
}

// ---------------------------------------------------------------------------
// Reading

/// The direct children of `<xml>`, in document order, with their text.
struct Fields {
    items: Vec<(String, String)>,
}

/// Pieces of an element's text. Whitespace-only plain text next to CDATA is
/// layout (`<Content>\n  <![CDATA[…]]>\n</Content>`), not content; references
/// (`&amp;`, `&#20320;`) are content wherever they stand.
enum Piece {
    Text(String),
    Reference(String),
    CData(String),
}

fn join_pieces(pieces: Vec<Piece>) -> String {
    let has_cdata = pieces.iter().any(|p| matches!(p, Piece::CData(_)));
    pieces
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Text(s) if has_cdata && s.trim().is_empty() => None,
            Piece::Text(s) | Piece::Reference(s) | Piece::CData(s) => Some(s),
        })
        .collect()
}

fn resolve_reference(reference: &BytesRef<'_>) -> Result<String, XmlError> {
    match reference.resolve_char_ref() {
        Ok(Some(ch)) => Ok(ch.to_string()),
        Ok(None) => quick_xml::escape::resolve_predefined_entity(reference)
            .map(str::to_owned)
            .ok_or_else(|| XmlError::Malformed(format!("unknown entity &{};", &**reference))),
        Err(e) => Err(XmlError::Malformed(format!(
            "bad character reference &{};: {e}",
            &**reference
        ))),
    }
}

/// Reads a WeChat body with quick-xml into its top-level fields. Elements
/// nested deeper (such as `ScanCodeInfo` of menu events) are skipped; values
/// keep their text exactly as sent, CDATA or escaped.
fn read_fields(xml: &str) -> Result<Fields, XmlError> {
    if xml.len() > MAX_BODY {
        return Err(XmlError::TooLarge);
    }
    let mut reader = Reader::from_str(xml);
    let mut items = Vec::new();
    // Depth 0: outside the root; 1: inside <xml>; 2: inside a field; 3+: nested deeper.
    let mut depth = 0usize;
    let mut root_seen = false;
    let mut field: Option<(String, Vec<Piece>)> = None;

    loop {
        let event = reader
            .read_event()
            .map_err(|e| refusal(xml, reader.error_position(), &e))?;
        match event {
            XmlEvent::DocType(_) => return Err(XmlError::Doctype),
            XmlEvent::Start(start) => {
                match depth {
                    0 => open_root(&start, &mut root_seen)?,
                    1 => field = Some((start.name().as_ref().to_owned(), Vec::new())),
                    _ => {}
                }
                depth += 1;
            }
            XmlEvent::Empty(start) => match depth {
                0 => open_root(&start, &mut root_seen)?,
                1 => items.push((start.name().as_ref().to_owned(), String::new())),
                _ => {}
            },
            XmlEvent::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    if let Some((name, pieces)) = field.take() {
                        items.push((name, join_pieces(pieces)));
                    }
                }
            }
            XmlEvent::Text(text) => match depth {
                0 if !text.trim().is_empty() => {
                    return Err(XmlError::Malformed("text outside the <xml> element".into()));
                }
                2 => {
                    if let Some((_, pieces)) = field.as_mut() {
                        pieces.push(Piece::Text(text.to_string()));
                    }
                }
                _ => {}
            },
            XmlEvent::CData(cdata) => match depth {
                0 => {
                    return Err(XmlError::Malformed(
                        "CDATA outside the <xml> element".into(),
                    ));
                }
                2 => {
                    if let Some((_, pieces)) = field.as_mut() {
                        pieces.push(Piece::CData(cdata.to_string()));
                    }
                }
                _ => {}
            },
            XmlEvent::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference)?;
                match depth {
                    0 => {
                        return Err(XmlError::Malformed(
                            "reference outside the <xml> element".into(),
                        ));
                    }
                    2 => {
                        if let Some((_, pieces)) = field.as_mut() {
                            pieces.push(Piece::Reference(resolved));
                        }
                    }
                    _ => {}
                }
            }
            XmlEvent::Decl(_) | XmlEvent::PI(_) | XmlEvent::Comment(_) => {}
            XmlEvent::Eof => {
                if !root_seen {
                    return Err(XmlError::Malformed("no <xml> element".into()));
                }
                if depth != 0 {
                    return Err(XmlError::Malformed(
                        "document ends inside an element".into(),
                    ));
                }
                return Ok(Fields { items });
            }
        }
    }
}

/// quick-xml reports an `<!ENTITY` outside a DOCTYPE as unknown markup; name
/// it for what it is. The error position points at the markup's `<`, so a
/// follower's text that merely mentions `<!ENTITY` inside CDATA never gets here.
fn refusal(xml: &str, position: u64, error: &quick_xml::Error) -> XmlError {
    let at = usize::try_from(position).unwrap_or(usize::MAX);
    let markup = xml.as_bytes().get(at..).unwrap_or_default();
    if markup.len() >= 8 && markup[..8].eq_ignore_ascii_case(b"<!ENTITY") {
        return XmlError::Doctype;
    }
    XmlError::Malformed(format!("{error} (near byte {position})"))
}

fn open_root(start: &BytesStart<'_>, root_seen: &mut bool) -> Result<(), XmlError> {
    if *root_seen {
        return Err(XmlError::Malformed("more than one root element".into()));
    }
    let name = start.name();
    if name.as_ref() != "xml" {
        return Err(XmlError::Malformed(format!(
            "root element is <{}>, expected <xml>",
            name.as_ref()
        )));
    }
    *root_seen = true;
    Ok(())
}

impl Fields {
    /// A top-level field's text. A field that matters and appears twice is
    /// refused rather than guessed at; unknown repeated elements are ignored.
    fn get(&self, name: &'static str) -> Result<Option<&str>, XmlError> {
        let mut values = self
            .items
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(XmlError::Malformed(format!(
                "<{name}> appears more than once"
            )));
        }
        Ok(first)
    }

    fn required(&self, name: &'static str) -> Result<String, XmlError> {
        self.get(name)?
            .map(str::to_owned)
            .ok_or(XmlError::Missing(name))
    }

    /// Descriptive text (a label, a title) that is worth keeping the message for
    /// even when WeChat leaves it out.
    fn or_empty(&self, name: &'static str) -> Result<String, XmlError> {
        Ok(self.get(name)?.unwrap_or_default().to_owned())
    }

    /// Absent and empty mean the same: WeChat writes `<EventKey><![CDATA[]]></EventKey>`
    /// on a plain subscribe.
    fn optional(&self, name: &'static str) -> Result<Option<String>, XmlError> {
        Ok(self.get(name)?.filter(|v| !v.is_empty()).map(str::to_owned))
    }

    fn required_number<T>(
        &self,
        name: &'static str,
        parse: fn(&'static str, &str) -> Result<T, XmlError>,
    ) -> Result<T, XmlError> {
        parse(name, self.get(name)?.ok_or(XmlError::Missing(name))?)
    }

    fn optional_number<T>(
        &self,
        name: &'static str,
        parse: fn(&'static str, &str) -> Result<T, XmlError>,
    ) -> Result<Option<T>, XmlError> {
        match self.get(name)? {
            Some(v) if !v.trim().is_empty() => parse(name, v).map(Some),
            _ => Ok(None),
        }
    }
}

fn int(name: &'static str, value: &str) -> Result<i64, XmlError> {
    value.trim().parse().map_err(|_| XmlError::BadNumber(name))
}

/// Coordinates are finite decimals; "NaN" and "inf" parse as f64 but are not numbers here.
fn float(name: &'static str, value: &str) -> Result<f64, XmlError> {
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(XmlError::BadNumber(name)),
    }
}

/// Reads the envelope of an encrypted push. Compatible mode sends the plaintext
/// fields beside `Encrypt`; they are ignored here, the decrypted copy is authoritative.
pub fn parse_envelope(xml: &str) -> Result<Envelope, XmlError> {
    let fields = read_fields(xml)?;
    Ok(Envelope {
        to_user: fields.get("ToUserName")?.map(str::to_owned),
        // Untrimmed: msg_signature is computed over Encrypt exactly as sent.
        encrypt: fields.get("Encrypt")?.map(str::to_owned),
    })
}

/// Reads a plaintext push (or the decrypted content of an encrypted one).
///
/// Elements may come in any order, with CDATA or escaped text, among elements
/// kefu does not know. The common fields and what identifies the content
/// (Content, MediaId, PicUrl, coordinates, Url, EventKey of SCAN/CLICK/VIEW…)
/// are required; descriptive text (Format, Label, Title, Description)
/// defaults to empty, so that an odd push is stored rather than lost.
pub fn parse(xml: &str) -> Result<Inbound, XmlError> {
    let f = read_fields(xml)?;
    let to_user = f.required("ToUserName")?;
    let from_user = f.required("FromUserName")?;
    let create_time = f.required_number("CreateTime", int)?;
    let msg_type = f.required("MsgType")?;
    let msg_id = match f.optional_number("MsgId", int)? {
        Some(id) => Some(id),
        None => f.optional_number("MsgID", int)?,
    };
    let msg_type = msg_type.trim();
    let kind = match msg_type.to_ascii_lowercase().as_str() {
        "text" => InboundKind::Text {
            content: f.required("Content")?,
        },
        "image" => InboundKind::Image {
            pic_url: f.required("PicUrl")?,
            media_id: f.required("MediaId")?,
        },
        "voice" => InboundKind::Voice {
            media_id: f.required("MediaId")?,
            format: f.or_empty("Format")?,
            recognition: f.optional("Recognition")?,
        },
        "video" => InboundKind::Video {
            media_id: f.required("MediaId")?,
            thumb_media_id: f.required("ThumbMediaId")?,
        },
        "shortvideo" => InboundKind::ShortVideo {
            media_id: f.required("MediaId")?,
            thumb_media_id: f.required("ThumbMediaId")?,
        },
        "location" => InboundKind::Location {
            latitude: f.required_number("Location_X", float)?,
            longitude: f.required_number("Location_Y", float)?,
            scale: f.optional_number("Scale", int)?,
            label: f.or_empty("Label")?,
        },
        "link" => InboundKind::Link {
            title: f.or_empty("Title")?,
            description: f.or_empty("Description")?,
            url: f.required("Url")?,
        },
        "event" => InboundKind::Event(parse_event(&f)?),
        _ => InboundKind::Unknown {
            msg_type: msg_type.to_owned(),
        },
    };
    Ok(Inbound {
        to_user,
        from_user,
        create_time,
        msg_id,
        kind,
    })
}

fn parse_event(f: &Fields) -> Result<Event, XmlError> {
    let raw = f.required("Event")?;
    let name = raw.trim();
    let is = |known: &str| name.eq_ignore_ascii_case(known);
    let event = if is("subscribe") {
        Event::Subscribe {
            scene: f
                .optional("EventKey")?
                .map(|key| {
                    key.strip_prefix("qrscene_")
                        .map(str::to_owned)
                        .unwrap_or(key)
                })
                .filter(|scene| !scene.is_empty()),
            ticket: f.optional("Ticket")?,
        }
    } else if is("unsubscribe") {
        Event::Unsubscribe
    } else if is("SCAN") {
        Event::Scan {
            scene: f.required("EventKey")?,
            ticket: f.optional("Ticket")?,
        }
    } else if is("LOCATION") {
        Event::Location {
            latitude: f.required_number("Latitude", float)?,
            longitude: f.required_number("Longitude", float)?,
            precision: f.optional_number("Precision", float)?,
        }
    } else if is("CLICK") {
        Event::Click {
            key: f.required("EventKey")?,
        }
    } else if is("VIEW") {
        Event::View {
            url: f.required("EventKey")?,
            menu_id: f.optional("MenuId")?,
        }
    } else if is("TEMPLATESENDJOBFINISH") {
        Event::TemplateSendJobFinish {
            status: f.required("Status")?,
        }
    } else {
        Event::Unknown {
            event: name.to_owned(),
        }
    };
    Ok(event)
}

mod write;
pub use write::{
    compatible_envelope_xml, encrypted_reply_xml, envelope_xml, inbound_xml, reply_xml,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn text_push(content_xml: &str) -> String {
        format!(
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>\
             <CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>{content_xml}</Content></xml>"
        )
    }

    fn content_of(xml: &str) -> String {
        match parse(xml).unwrap().kind {
            InboundKind::Text { content } => content,
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn cdata_and_escaped_text_read_the_same() {
        assert_eq!(content_of(&text_push("<![CDATA[a < b & c]]>")), "a < b & c");
        assert_eq!(content_of(&text_push("a &lt; b &amp; c")), "a < b & c");
        assert_eq!(content_of(&text_push("&#20320;&#x597D;")), "你好");
    }

    #[test]
    fn content_keeps_its_own_whitespace_but_not_the_layout_around_cdata() {
        assert_eq!(content_of(&text_push("<![CDATA[  hi \n ]]>")), "  hi \n ");
        assert_eq!(content_of(&text_push("\n   <![CDATA[hi]]>\n ")), "hi");
        assert_eq!(content_of(&text_push(" plain ")), " plain ");
        assert_eq!(content_of(&text_push(" &amp;<![CDATA[x]]>")), "&x");
    }

    #[test]
    fn split_cdata_sections_are_joined() {
        assert_eq!(
            content_of(&text_push("<![CDATA[a]]]]><![CDATA[>b]]>")),
            "a]]>b"
        );
    }

    #[test]
    fn cdata_terminator_in_a_value_is_written_as_split_sections() {
        let xml = reply_xml(
            "o1",
            "gh_1",
            1,
            &Reply::Text {
                content: "x]]>y]]>".into(),
            },
        );
        assert!(
            xml.contains("<Content><![CDATA[x]]]]><![CDATA[>y]]]]><![CDATA[>]]></Content>"),
            "{xml}"
        );
    }

    #[test]
    fn doctype_is_refused_even_when_harmless() {
        let xml = format!("<!DOCTYPE xml>{}", text_push("hi"));
        assert_eq!(parse(&xml).unwrap_err(), XmlError::Doctype);
        assert_eq!(parse_envelope(&xml).unwrap_err(), XmlError::Doctype);
    }

    #[test]
    fn entity_declaration_outside_a_doctype_is_refused() {
        assert_eq!(
            parse(&text_push("<!ENTITY x \"y\">hi")).unwrap_err(),
            XmlError::Doctype
        );
        assert_eq!(
            parse("<!entity x \"y\"><xml/>").unwrap_err(),
            XmlError::Doctype
        );
        assert!(parse(&text_push("&x;")).is_err());
    }

    #[test]
    fn a_follower_may_write_markup_in_a_message() {
        let content = "<!DOCTYPE html><!ENTITY x \"y\"> &xxe;";
        assert_eq!(
            content_of(&text_push(&format!("<![CDATA[{content}]]>"))),
            content
        );
    }

    #[test]
    fn known_fields_given_twice_are_refused() {
        let xml = text_push("a").replace("</xml>", "<Content>b</Content></xml>");
        assert!(
            matches!(parse(&xml).unwrap_err(), XmlError::Malformed(m) if m.contains("Content"))
        );
        let extra = text_push("a").replace("</xml>", "<Extra/><Extra>1</Extra></xml>");
        assert_eq!(content_of(&extra), "a");
    }

    #[test]
    fn root_must_be_a_single_xml_element() {
        assert!(matches!(
            parse("<root></root>"),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(parse(""), Err(XmlError::Malformed(_))));
        assert!(matches!(
            parse(&format!("{0}{0}", text_push("a"))),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(
            parse(&format!("{} trailing", text_push("a"))),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(
            parse("<xml><Content>a</xml>"),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(
            parse("<xml><Content>a</Content>"),
            Err(XmlError::Malformed(_))
        ));
        assert_eq!(
            parse("<xml/>").unwrap_err(),
            XmlError::Missing("ToUserName")
        );
    }

    #[test]
    fn too_large_bodies_are_refused_before_reading() {
        let big = format!("<xml>{}</xml>", " ".repeat(MAX_BODY));
        assert_eq!(parse(&big).unwrap_err(), XmlError::TooLarge);
        assert_eq!(parse_envelope(&big).unwrap_err(), XmlError::TooLarge);
    }

    #[test]
    fn numbers_must_be_numbers() {
        let xml = text_push("a").replace("<CreateTime>1<", "<CreateTime>soon<");
        assert_eq!(parse(&xml).unwrap_err(), XmlError::BadNumber("CreateTime"));
        let xml = text_push("a").replace("</xml>", "<MsgId>12a</MsgId></xml>");
        assert_eq!(parse(&xml).unwrap_err(), XmlError::BadNumber("MsgId"));
        let nan = "<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName><CreateTime> 7 </CreateTime>\
                   <MsgType>location</MsgType><Location_X>NaN</Location_X><Location_Y>1</Location_Y></xml>";
        assert_eq!(parse(nan).unwrap_err(), XmlError::BadNumber("Location_X"));
    }

    #[test]
    fn msg_id_beyond_i32_and_either_spelling() {
        let xml = text_push("a").replace("</xml>", "<MsgId>25012345678901234</MsgId></xml>");
        assert_eq!(parse(&xml).unwrap().msg_id, Some(25_012_345_678_901_234));
        let xml = text_push("a").replace("</xml>", "<MsgID>7</MsgID></xml>");
        assert_eq!(parse(&xml).unwrap().msg_id, Some(7));
    }

    #[test]
    fn names_match_what_wechat_writes() {
        assert_eq!(
            InboundKind::ShortVideo {
                media_id: String::new(),
                thumb_media_id: String::new()
            }
            .type_name(),
            "shortvideo"
        );
        assert_eq!(
            InboundKind::Unknown {
                msg_type: "file".into()
            }
            .type_name(),
            "unknown"
        );
        assert_eq!(
            Event::Scan {
                scene: String::new(),
                ticket: None
            }
            .name(),
            "SCAN"
        );
        assert_eq!(
            Event::Unknown {
                event: "scancode_push".into()
            }
            .name(),
            "scancode_push"
        );
    }

    #[test]
    fn encrypted_reply_has_the_documented_shape() {
        assert_eq!(
            encrypted_reply_xml("ENC", "SIG", "1409304348", "xxxxxx"),
            "<xml><Encrypt><![CDATA[ENC]]></Encrypt><MsgSignature><![CDATA[SIG]]></MsgSignature>\
             <TimeStamp>1409304348</TimeStamp><Nonce><![CDATA[xxxxxx]]></Nonce></xml>"
        );
    }

    #[test]
    fn envelopes_read_back() {
        let safe = envelope_xml("gh_1", "QUJD");
        assert_eq!(
            parse_envelope(&safe).unwrap(),
            Envelope {
                to_user: Some("gh_1".into()),
                encrypt: Some("QUJD".into())
            }
        );
        let msg = parse(&text_push("hi")).unwrap();
        let compatible = compatible_envelope_xml(&msg, "QUJD");
        assert_eq!(parse(&compatible).unwrap(), msg);
        assert_eq!(
            parse_envelope(&compatible).unwrap().encrypt.as_deref(),
            Some("QUJD")
        );
        assert_eq!(
            parse_envelope("<xml><Other>1</Other></xml>").unwrap(),
            Envelope {
                to_user: None,
                encrypt: None
            }
        );
    }
}
