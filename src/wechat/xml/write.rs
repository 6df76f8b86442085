//! Writing WeChat's XML: the passive replies kefu answers with, and the
//! inverse builders (pushes, envelopes) the simulator and tests use to play
//! WeChat. Strings go in CDATA, split where the text contains `]]>`.

use super::*;
use quick_xml::Writer;
use quick_xml::events::{BytesCData, BytesEnd, BytesStart, BytesText, Event as XmlEvent};

/// A quick-xml writer over memory, with WeChat's conventions: strings in
/// CDATA (split where the text contains `]]>`), numbers as plain text.
struct Out {
    writer: Writer<Vec<u8>>,
}

impl Out {
    fn new() -> Out {
        Out {
            writer: Writer::new(Vec::new()),
        }
    }

    fn write(&mut self, event: XmlEvent<'_>) {
        self.writer
            .write_event(event)
            .expect("writing XML into a Vec<u8> performs no I/O and cannot fail");
    }

    fn open(&mut self, name: &str) {
        self.write(XmlEvent::Start(BytesStart::new(name)));
    }

    fn close(&mut self, name: &str) {
        self.write(XmlEvent::End(BytesEnd::new(name)));
    }

    fn cdata(&mut self, name: &str, value: &str) {
        self.open(name);
        for section in BytesCData::escaped(value) {
            self.write(XmlEvent::CData(section));
        }
        self.close(name);
    }

    fn text(&mut self, name: &str, value: &str) {
        self.open(name);
        self.write(XmlEvent::Text(BytesText::new(value)));
        self.close(name);
    }

    /// Display of i64 and f64 is exact and parses back to the same value.
    fn number(&mut self, name: &str, value: impl std::fmt::Display) {
        self.text(name, &value.to_string());
    }

    fn finish(self) -> String {
        // Only `&str` went in, so the bytes are UTF-8.
        String::from_utf8(self.writer.into_inner())
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// The XML of a passive reply: the body of the webhook's answer in plaintext
/// mode, the `msg` to encrypt in safe mode.
pub fn reply_xml(to: &str, from: &str, create_time: i64, reply: &Reply) -> String {
    let mut out = Out::new();
    out.open("xml");
    out.cdata("ToUserName", to);
    out.cdata("FromUserName", from);
    out.number("CreateTime", create_time);
    match reply {
        Reply::Text { content } => {
            out.cdata("MsgType", "text");
            out.cdata("Content", content);
        }
        Reply::Image { media_id } => {
            out.cdata("MsgType", "image");
            out.open("Image");
            out.cdata("MediaId", media_id);
            out.close("Image");
        }
        Reply::Voice { media_id } => {
            out.cdata("MsgType", "voice");
            out.open("Voice");
            out.cdata("MediaId", media_id);
            out.close("Voice");
        }
        Reply::Video {
            media_id,
            title,
            description,
        } => {
            out.cdata("MsgType", "video");
            out.open("Video");
            out.cdata("MediaId", media_id);
            out.cdata("Title", title);
            out.cdata("Description", description);
            out.close("Video");
        }
        Reply::News { articles } => {
            out.cdata("MsgType", "news");
            out.number("ArticleCount", articles.len());
            out.open("Articles");
            for article in articles {
                out.open("item");
                out.cdata("Title", &article.title);
                out.cdata("Description", &article.description);
                out.cdata("PicUrl", &article.pic_url);
                out.cdata("Url", &article.url);
                out.close("item");
            }
            out.close("Articles");
        }
    }
    out.close("xml");
    out.finish()
}

/// `<xml><Encrypt><![CDATA[…]]></Encrypt><MsgSignature><![CDATA[…]]></MsgSignature><TimeStamp>…</TimeStamp><Nonce><![CDATA[…]]></Nonce></xml>`
pub fn encrypted_reply_xml(
    encrypt: &str,
    msg_signature: &str,
    timestamp: &str,
    nonce: &str,
) -> String {
    let mut out = Out::new();
    out.open("xml");
    out.cdata("Encrypt", encrypt);
    out.cdata("MsgSignature", msg_signature);
    out.text("TimeStamp", timestamp);
    out.cdata("Nonce", nonce);
    out.close("xml");
    out.finish()
}

/// Builds an inbound push XML the way WeChat sends it (used by the simulator
/// and tests); [`parse`] reads it back to an equal value.
pub fn inbound_xml(msg: &Inbound) -> String {
    let mut out = Out::new();
    out.open("xml");
    write_inbound_fields(&mut out, msg);
    out.close("xml");
    out.finish()
}

/// Builds the encrypted envelope WeChat sends in safe mode.
pub fn envelope_xml(to_user: &str, encrypt: &str) -> String {
    let mut out = Out::new();
    out.open("xml");
    out.cdata("ToUserName", to_user);
    out.cdata("Encrypt", encrypt);
    out.close("xml");
    out.finish()
}

/// Builds the body of compatible mode: the plaintext fields of `msg` followed
/// by `Encrypt` (which should hold the same message, encrypted).
pub fn compatible_envelope_xml(msg: &Inbound, encrypt: &str) -> String {
    let mut out = Out::new();
    out.open("xml");
    write_inbound_fields(&mut out, msg);
    out.cdata("Encrypt", encrypt);
    out.close("xml");
    out.finish()
}

fn write_inbound_fields(out: &mut Out, msg: &Inbound) {
    out.cdata("ToUserName", &msg.to_user);
    out.cdata("FromUserName", &msg.from_user);
    out.number("CreateTime", msg.create_time);
    match &msg.kind {
        InboundKind::Unknown { msg_type } => out.cdata("MsgType", msg_type),
        kind => out.cdata("MsgType", kind.type_name()),
    }
    // TEMPLATESENDJOBFINISH spells it MsgID and writes it before Status.
    let mut msg_id_written = false;
    match &msg.kind {
        InboundKind::Text { content } => out.cdata("Content", content),
        InboundKind::Image { pic_url, media_id } => {
            out.cdata("PicUrl", pic_url);
            out.cdata("MediaId", media_id);
        }
        InboundKind::Voice {
            media_id,
            format,
            recognition,
        } => {
            out.cdata("MediaId", media_id);
            out.cdata("Format", format);
            if let Some(recognition) = recognition {
                out.cdata("Recognition", recognition);
            }
        }
        InboundKind::Video {
            media_id,
            thumb_media_id,
        }
        | InboundKind::ShortVideo {
            media_id,
            thumb_media_id,
        } => {
            out.cdata("MediaId", media_id);
            out.cdata("ThumbMediaId", thumb_media_id);
        }
        InboundKind::Location {
            latitude,
            longitude,
            scale,
            label,
        } => {
            out.number("Location_X", latitude);
            out.number("Location_Y", longitude);
            if let Some(scale) = scale {
                out.number("Scale", scale);
            }
            out.cdata("Label", label);
        }
        InboundKind::Link {
            title,
            description,
            url,
        } => {
            out.cdata("Title", title);
            out.cdata("Description", description);
            out.cdata("Url", url);
        }
        InboundKind::Event(event) => {
            out.cdata("Event", event.name());
            match event {
                Event::Subscribe { scene, ticket } => {
                    if let Some(scene) = scene {
                        out.cdata("EventKey", &format!("qrscene_{scene}"));
                    }
                    if let Some(ticket) = ticket {
                        out.cdata("Ticket", ticket);
                    }
                }
                Event::Scan { scene, ticket } => {
                    out.cdata("EventKey", scene);
                    if let Some(ticket) = ticket {
                        out.cdata("Ticket", ticket);
                    }
                }
                Event::Location {
                    latitude,
                    longitude,
                    precision,
                } => {
                    out.number("Latitude", latitude);
                    out.number("Longitude", longitude);
                    if let Some(precision) = precision {
                        out.number("Precision", precision);
                    }
                }
                Event::Click { key } => out.cdata("EventKey", key),
                Event::View { url, menu_id } => {
                    out.cdata("EventKey", url);
                    if let Some(menu_id) = menu_id {
                        out.text("MenuId", menu_id);
                    }
                }
                Event::TemplateSendJobFinish { status } => {
                    if let Some(id) = msg.msg_id {
                        out.number("MsgID", id);
                    }
                    msg_id_written = true;
                    out.cdata("Status", status);
                }
                Event::Unsubscribe | Event::Unknown { .. } => {}
            }
        }
        InboundKind::Unknown { .. } => {}
    }
    if let (Some(id), false) = (msg.msg_id, msg_id_written) {
        out.number("MsgId", id);
    }
}
