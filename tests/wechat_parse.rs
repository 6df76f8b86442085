//! The WeChat XML layer against real-looking pushes (`tests/fixtures/wechat/`),
//! the pushes it must refuse, the reply builders read back by quick-xml's own
//! serde deserializer (an independent reader), and the fuzz properties: random
//! bodies never panic the parser or the decryptor.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kefu::wechat::crypto::{self, AesKey};
use kefu::wechat::xml::{self, Article, Envelope, Event, Inbound, InboundKind, Reply, XmlError};
use proptest::prelude::*;
use serde::Deserialize;
use std::path::Path;

const ACCOUNT: &str = "gh_3f2e1d0c9b8a";
const FOLLOWER: &str = "oWx9Z5kD4mQ1sT7uV2yA3bC6eF8g";

/// The official sample EncodingAESKey and AppID of WeChat's documentation.
const SAMPLE_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const SAMPLE_APPID: &str = "wxb11529c136998cb6";

const FIXTURES: &[&str] = &[
    "text.xml",
    "image.xml",
    "voice.xml",
    "voice_recognition.xml",
    "video.xml",
    "shortvideo.xml",
    "location.xml",
    "link.xml",
    "event_subscribe.xml",
    "event_subscribe_qrscene.xml",
    "event_unsubscribe.xml",
    "event_scan.xml",
    "event_location.xml",
    "event_click.xml",
    "event_view.xml",
    "event_templatesendjobfinish.xml",
    "unknown_type.xml",
    "unknown_event.xml",
    "doctype.xml",
    "malformed.xml",
    "missing_from.xml",
    "safe_envelope.xml",
];

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wechat")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses a fixture and checks that rebuilding it with `inbound_xml` reads back the same.
fn parsed(name: &str) -> Inbound {
    let msg = xml::parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        xml::parse(&xml::inbound_xml(&msg)).unwrap(),
        msg,
        "round trip of {name}"
    );
    msg
}

fn push(create_time: i64, msg_id: Option<i64>, kind: InboundKind) -> Inbound {
    Inbound {
        to_user: ACCOUNT.into(),
        from_user: FOLLOWER.into(),
        create_time,
        msg_id,
        kind,
    }
}

fn event(create_time: i64, event: Event) -> Inbound {
    push(create_time, None, InboundKind::Event(event))
}

const TICKET: &str = "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw==";

// ---------------------------------------------------------------------------
// One test per fixture, every field.

#[test]
fn text() {
    let msg = parsed("text.xml");
    assert_eq!(
        msg,
        push(
            1714037059,
            Some(24542236545123456),
            InboundKind::Text {
                content: "你好，请问订单什么时候发货？".into()
            }
        )
    );
    assert_eq!(msg.kind.type_name(), "text");
}

#[test]
fn image() {
    assert_eq!(
        parsed("image.xml"),
        push(
            1714037101,
            Some(24542237123456789),
            InboundKind::Image {
                pic_url: "http://mmbiz.qpic.cn/mmbiz_jpg/Qx1pZk0a8DkXgW3bV/0".into(),
                media_id: "Jx3p8kWd2Zb9Lr5Qy7Tn1Vc4Hm6Fg0Sa-KeFuImg1".into(),
            }
        )
    );
}

#[test]
fn voice() {
    assert_eq!(
        parsed("voice.xml"),
        push(
            1714037160,
            Some(24542238012345678),
            InboundKind::Voice {
                media_id: "Vq2Lm8Np4Rs6Tu0Wx1Yz3Ab5Cd7Ef9Gh-KeFuAmr1".into(),
                format: "amr".into(),
                recognition: None,
            }
        )
    );
}

#[test]
fn voice_recognition() {
    assert_eq!(
        parsed("voice_recognition.xml"),
        push(
            1714037175,
            Some(24542238098765432),
            InboundKind::Voice {
                media_id: "Vq2Lm8Np4Rs6Tu0Wx1Yz3Ab5Cd7Ef9Gh-KeFuSpx2".into(),
                format: "speex".into(),
                recognition: Some("我的快递到哪里了".into()),
            }
        )
    );
}

#[test]
fn video() {
    assert_eq!(
        parsed("video.xml"),
        push(
            1714037230,
            Some(24542239011122233),
            InboundKind::Video {
                media_id: "Vd5Kp2Qr8St1Uv4Wx7Yz0Ab3Cd6Ef9Gh-KeFuMp41".into(),
                thumb_media_id: "Th8Jk1Lm4Np7Qr0St3Uv6Wx9Yz2Ab5Cd-KeFuThm1".into(),
            }
        )
    );
}

#[test]
fn shortvideo() {
    let msg = parsed("shortvideo.xml");
    assert_eq!(
        msg,
        push(
            1714037290,
            Some(24542239987654321),
            InboundKind::ShortVideo {
                media_id: "Sv3Lp6Qs9Tv2Wy5Zb8Ce1Fh4Ik7Nm0Pq-KeFuSv01".into(),
                thumb_media_id: "Th1Kn4Qt7Wz0Cf3Ii6Ll9Oo2Rr5Uu8Xx-KeFuThm2".into(),
            }
        )
    );
    assert_eq!(msg.kind.type_name(), "shortvideo");
}

#[test]
fn location() {
    assert_eq!(
        parsed("location.xml"),
        push(
            1714037350,
            Some(24542240555666777),
            InboundKind::Location {
                latitude: 23.134521,
                longitude: 113.358803,
                scale: Some(20),
                label: "广东省广州市天河区天河路385号".into(),
            }
        )
    );
}

#[test]
fn link() {
    assert_eq!(
        parsed("link.xml"),
        push(
            1714037411,
            Some(24542241234567890),
            InboundKind::Link {
                title: "退换货政策 & 运费说明".into(),
                description: "七天无理由退换，质量问题来回运费由商家承担".into(),
                url: "https://mp.weixin.qq.com/s?__biz=MzA3NjE2NTcxMQ==&mid=2650012345&idx=1&sn=3f2a9c".into(),
            }
        )
    );
}

#[test]
fn event_subscribe() {
    let msg = parsed("event_subscribe.xml");
    assert_eq!(
        msg,
        event(
            1714037470,
            Event::Subscribe {
                scene: None,
                ticket: None
            }
        )
    );
    assert_eq!(msg.kind.type_name(), "event");
}

#[test]
fn event_subscribe_qrscene() {
    assert_eq!(
        parsed("event_subscribe_qrscene.xml"),
        event(
            1714037480,
            Event::Subscribe {
                scene: Some("store_shanghai_01".into()),
                ticket: Some(TICKET.into())
            }
        )
    );
}

#[test]
fn event_unsubscribe() {
    assert_eq!(
        parsed("event_unsubscribe.xml"),
        event(1714037490, Event::Unsubscribe)
    );
}

#[test]
fn event_scan() {
    let msg = parsed("event_scan.xml");
    assert_eq!(
        msg,
        event(
            1714037500,
            Event::Scan {
                scene: "123123".into(),
                ticket: Some(TICKET.into())
            }
        )
    );
    let InboundKind::Event(e) = &msg.kind else {
        unreachable!()
    };
    assert_eq!(e.name(), "SCAN");
}

#[test]
fn event_location() {
    assert_eq!(
        parsed("event_location.xml"),
        event(
            1714037510,
            Event::Location {
                latitude: 23.137466,
                longitude: 113.352425,
                precision: Some(119.38504)
            }
        )
    );
}

#[test]
fn event_click() {
    assert_eq!(
        parsed("event_click.xml"),
        event(
            1714037520,
            Event::Click {
                key: "CONTACT_AGENT".into()
            }
        )
    );
}

#[test]
fn event_view() {
    assert_eq!(
        parsed("event_view.xml"),
        event(
            1714037530,
            Event::View {
                url: "https://shop.example.com/orders?from=menu".into(),
                menu_id: Some("418012345".into()),
            }
        )
    );
}

#[test]
fn event_templatesendjobfinish() {
    let msg = parsed("event_templatesendjobfinish.xml");
    assert_eq!(
        msg,
        push(
            1714037540,
            Some(3147483647123),
            InboundKind::Event(Event::TemplateSendJobFinish {
                status: "failed:user block".into()
            })
        )
    );
    assert!(xml::inbound_xml(&msg).contains("<MsgID>3147483647123</MsgID>"));
}

#[test]
fn unknown_type_is_kept() {
    let msg = parsed("unknown_type.xml");
    assert_eq!(
        msg,
        push(
            1714037550,
            Some(24542242345678901),
            InboundKind::Unknown {
                msg_type: "miniprogrampage".into()
            }
        )
    );
    assert_eq!(msg.kind.type_name(), "unknown");
}

#[test]
fn unknown_event_is_kept_and_nested_elements_are_skipped() {
    let msg = parsed("unknown_event.xml");
    assert_eq!(
        msg,
        event(
            1714037560,
            Event::Unknown {
                event: "scancode_push".into()
            }
        )
    );
    let InboundKind::Event(e) = &msg.kind else {
        unreachable!()
    };
    assert_eq!(e.name(), "scancode_push");
}

// ---------------------------------------------------------------------------
// Refusals

#[test]
fn doctype_is_refused() {
    assert_eq!(
        xml::parse(&fixture("doctype.xml")).unwrap_err(),
        XmlError::Doctype
    );
    assert_eq!(
        xml::parse_envelope(&fixture("doctype.xml")).unwrap_err(),
        XmlError::Doctype
    );
}

#[test]
fn malformed_is_refused() {
    let err = xml::parse(&fixture("malformed.xml")).unwrap_err();
    assert!(
        matches!(&err, XmlError::Malformed(m) if m.contains("Content")),
        "{err:?}"
    );
    assert!(matches!(
        xml::parse_envelope(&fixture("malformed.xml")),
        Err(XmlError::Malformed(_))
    ));
}

#[test]
fn missing_from_is_refused() {
    assert_eq!(
        xml::parse(&fixture("missing_from.xml")).unwrap_err(),
        XmlError::Missing("FromUserName")
    );
}

#[test]
fn refusals_have_readable_messages() {
    assert_eq!(
        XmlError::Missing("FromUserName").to_string(),
        "required element <FromUserName> is missing"
    );
    assert_eq!(
        XmlError::BadNumber("MsgId").to_string(),
        "element <MsgId> does not hold a valid number"
    );
    assert_eq!(
        crypto::CryptoError::AppIdMismatch.to_string(),
        "decrypted payload names another AppID than this account's"
    );
}

#[test]
fn every_fixture_is_listed_and_exists() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wechat");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

// ---------------------------------------------------------------------------
// Safe mode

/// The plaintext inside `safe_envelope.xml`, encrypted with the official
/// sample key and AppID and this random prefix.
const SAFE_INNER: &str = "<xml><ToUserName><![CDATA[gh_3f2e1d0c9b8a]]></ToUserName>\n\
<FromUserName><![CDATA[oWx9Z5kD4mQ1sT7uV2yA3bC6eF8g]]></FromUserName>\n\
<CreateTime>1714037600</CreateTime>\n\
<MsgType><![CDATA[text]]></MsgType>\n\
<Content><![CDATA[安全模式下的消息]]></Content>\n\
<MsgId>24542246789012345</MsgId>\n\
</xml>";
const SAFE_RANDOM: [u8; 16] = *b"kefu-fixture-016";

fn sample_key() -> AesKey {
    AesKey::from_encoding_aes_key(SAMPLE_KEY).unwrap()
}

#[test]
fn safe_envelope_decrypts_to_a_text_push() {
    let envelope = xml::parse_envelope(&fixture("safe_envelope.xml")).unwrap();
    assert_eq!(envelope.to_user.as_deref(), Some(ACCOUNT));
    let encrypt = envelope.encrypt.unwrap();
    assert_eq!(
        encrypt,
        crypto::encrypt_with_random(&sample_key(), SAMPLE_APPID, SAFE_INNER, SAFE_RANDOM)
    );

    let inner = crypto::decrypt(&sample_key(), SAMPLE_APPID, &encrypt).unwrap();
    assert_eq!(inner, SAFE_INNER);
    assert_eq!(
        xml::parse(&inner).unwrap(),
        push(
            1714037600,
            Some(24542246789012345),
            InboundKind::Text {
                content: "安全模式下的消息".into()
            }
        )
    );
    assert_eq!(
        crypto::decrypt(&sample_key(), "wx0000000000000000", &encrypt).unwrap_err(),
        crypto::CryptoError::AppIdMismatch
    );
}

#[test]
fn safe_envelope_is_not_a_plaintext_push() {
    assert_eq!(
        xml::parse(&fixture("safe_envelope.xml")).unwrap_err(),
        XmlError::Missing("FromUserName")
    );
}

#[test]
fn plaintext_push_has_no_envelope() {
    assert_eq!(
        xml::parse_envelope(&fixture("text.xml")).unwrap(),
        Envelope {
            to_user: Some(ACCOUNT.into()),
            encrypt: None
        }
    );
}

/// The whole safe-mode exchange the webhook performs, with the builders the simulator uses.
#[test]
fn safe_mode_exchange() {
    let (token, timestamp, nonce) = ("AAAAA", "1714037059", "486452656");
    let msg = parsed("text.xml");
    let encrypt = crypto::encrypt(&sample_key(), SAMPLE_APPID, &xml::inbound_xml(&msg));
    let body = xml::envelope_xml(ACCOUNT, &encrypt);
    let msg_signature = crypto::signature(&[token, timestamp, nonce, &encrypt]);

    let envelope = xml::parse_envelope(&body).unwrap();
    let got = envelope.encrypt.unwrap();
    assert!(crypto::verify_signature(
        &msg_signature,
        &[token, timestamp, nonce, &got]
    ));
    assert!(!crypto::verify_signature(
        &crypto::signature(&[token, timestamp, nonce]),
        &[token, timestamp, nonce, &got]
    ));
    let inbound = xml::parse(&crypto::decrypt(&sample_key(), SAMPLE_APPID, &got).unwrap()).unwrap();
    assert_eq!(inbound, msg);

    let reply = xml::reply_xml(
        &inbound.from_user,
        &inbound.to_user,
        1714037060,
        &Reply::Text {
            content: "您好".into(),
        },
    );
    let reply_encrypt = crypto::encrypt(&sample_key(), SAMPLE_APPID, &reply);
    let reply_signature = crypto::signature(&[token, "1714037060", "n0nce", &reply_encrypt]);
    let answer = xml::encrypted_reply_xml(&reply_encrypt, &reply_signature, "1714037060", "n0nce");

    let doc: EncryptedReplyDoc = quick_xml::de::from_str(&answer).unwrap();
    assert_eq!(doc.time_stamp, 1714037060);
    assert_eq!(doc.nonce, "n0nce");
    assert!(crypto::verify_signature(
        &doc.msg_signature,
        &[token, "1714037060", "n0nce", &doc.encrypt]
    ));
    let (plain, appid) = crypto::decrypt_any_appid(&sample_key(), &doc.encrypt).unwrap();
    assert_eq!(
        (plain.as_str(), appid.as_str()),
        (reply.as_str(), SAMPLE_APPID)
    );
}

#[test]
fn compatible_mode_body_carries_both() {
    let msg = parsed("link.xml");
    let encrypt = crypto::encrypt(&sample_key(), SAMPLE_APPID, &xml::inbound_xml(&msg));
    let body = xml::compatible_envelope_xml(&msg, &encrypt);
    assert_eq!(xml::parse(&body).unwrap(), msg);
    let envelope = xml::parse_envelope(&body).unwrap();
    let inner = crypto::decrypt(&sample_key(), SAMPLE_APPID, &envelope.encrypt.unwrap()).unwrap();
    assert_eq!(xml::parse(&inner).unwrap(), msg);
}

// ---------------------------------------------------------------------------
// Replies, read back by quick-xml's serde deserializer

#[derive(Debug, Deserialize)]
struct ReplyDoc {
    #[serde(rename = "ToUserName")]
    to: String,
    #[serde(rename = "FromUserName")]
    from: String,
    #[serde(rename = "CreateTime")]
    create_time: i64,
    #[serde(rename = "MsgType")]
    msg_type: String,
    #[serde(rename = "Content")]
    content: Option<String>,
    #[serde(rename = "Image")]
    image: Option<MediaDoc>,
    #[serde(rename = "Voice")]
    voice: Option<MediaDoc>,
    #[serde(rename = "Video")]
    video: Option<VideoDoc>,
    #[serde(rename = "ArticleCount")]
    article_count: Option<usize>,
    #[serde(rename = "Articles")]
    articles: Option<ArticlesDoc>,
}

#[derive(Debug, Deserialize)]
struct MediaDoc {
    #[serde(rename = "MediaId")]
    media_id: String,
}

#[derive(Debug, Deserialize)]
struct VideoDoc {
    #[serde(rename = "MediaId")]
    media_id: String,
    #[serde(rename = "Title")]
    title: String,
    #[serde(rename = "Description")]
    description: String,
}

#[derive(Debug, Deserialize)]
struct ArticlesDoc {
    #[serde(rename = "item", default)]
    items: Vec<ArticleDoc>,
}

#[derive(Debug, Deserialize, PartialEq)]
struct ArticleDoc {
    #[serde(rename = "Title")]
    title: String,
    #[serde(rename = "Description")]
    description: String,
    #[serde(rename = "PicUrl")]
    pic_url: String,
    #[serde(rename = "Url")]
    url: String,
}

#[derive(Debug, Deserialize)]
struct EncryptedReplyDoc {
    #[serde(rename = "Encrypt")]
    encrypt: String,
    #[serde(rename = "MsgSignature")]
    msg_signature: String,
    #[serde(rename = "TimeStamp")]
    time_stamp: i64,
    #[serde(rename = "Nonce")]
    nonce: String,
}

fn read_reply(reply: &Reply) -> ReplyDoc {
    let out = xml::reply_xml(FOLLOWER, ACCOUNT, 1714037999, reply);
    let doc: ReplyDoc = quick_xml::de::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        (doc.to.as_str(), doc.from.as_str(), doc.create_time),
        (FOLLOWER, ACCOUNT, 1714037999)
    );
    doc
}

#[test]
fn text_reply_reads_back() {
    let doc = read_reply(&Reply::Text {
        content: "您好，客服小王为您服务 <b>&amp;</b>".into(),
    });
    assert_eq!(doc.msg_type, "text");
    assert_eq!(
        doc.content.as_deref(),
        Some("您好，客服小王为您服务 <b>&amp;</b>")
    );
}

#[test]
fn text_reply_with_cdata_terminator_reads_back() {
    let content = "a]]>b ]]> c]]";
    let doc = read_reply(&Reply::Text {
        content: content.into(),
    });
    assert_eq!(doc.content.as_deref(), Some(content));
}

#[test]
fn image_and_voice_replies_read_back() {
    let doc = read_reply(&Reply::Image {
        media_id: "img-1".into(),
    });
    assert_eq!(doc.msg_type, "image");
    assert_eq!(doc.image.unwrap().media_id, "img-1");
    assert!(doc.content.is_none());
    let doc = read_reply(&Reply::Voice {
        media_id: "amr-1".into(),
    });
    assert_eq!(doc.msg_type, "voice");
    assert_eq!(doc.voice.unwrap().media_id, "amr-1");
}

#[test]
fn video_reply_reads_back() {
    let doc = read_reply(&Reply::Video {
        media_id: "mp4-1".into(),
        title: "安装教程".into(),
        description: "三分钟学会".into(),
    });
    assert_eq!(doc.msg_type, "video");
    let video = doc.video.unwrap();
    assert_eq!(
        (
            video.media_id.as_str(),
            video.title.as_str(),
            video.description.as_str()
        ),
        ("mp4-1", "安装教程", "三分钟学会")
    );
}

#[test]
fn news_reply_reads_back() {
    let articles = vec![
        Article {
            title: "618 活动".into(),
            description: "满 300 减 50".into(),
            pic_url: "https://shop.example.com/a.jpg".into(),
            url: "https://shop.example.com/618?x=1&y=2".into(),
        },
        Article {
            title: "售后".into(),
            description: String::new(),
            pic_url: String::new(),
            url: "https://shop.example.com/help".into(),
        },
    ];
    let doc = read_reply(&Reply::News {
        articles: articles.clone(),
    });
    assert_eq!(doc.msg_type, "news");
    assert_eq!(doc.article_count, Some(2));
    let items = doc.articles.unwrap().items;
    let expected: Vec<ArticleDoc> = articles
        .into_iter()
        .map(|a| ArticleDoc {
            title: a.title,
            description: a.description,
            pic_url: a.pic_url,
            url: a.url,
        })
        .collect();
    assert_eq!(items, expected);
}

#[test]
fn reply_text_has_wechat_shape() {
    assert_eq!(
        xml::reply_xml(
            "o1",
            "gh_1",
            12345678,
            &Reply::Text {
                content: "你好".into()
            }
        ),
        "<xml><ToUserName><![CDATA[o1]]></ToUserName><FromUserName><![CDATA[gh_1]]></FromUserName>\
         <CreateTime>12345678</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[你好]]></Content></xml>"
    );
}

// ---------------------------------------------------------------------------
// Properties: round trip, and the fuzz target of the issue ("a property test
// feeds random bodies to the parser and decryptor").

const KNOWN_TYPES: &[&str] = &[
    "text",
    "image",
    "voice",
    "video",
    "shortvideo",
    "location",
    "link",
    "event",
];
const KNOWN_EVENTS: &[&str] = &[
    "subscribe",
    "unsubscribe",
    "SCAN",
    "LOCATION",
    "CLICK",
    "VIEW",
    "TEMPLATESENDJOBFINISH",
];

fn some_text() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("absent and empty mean the same", |s| !s.is_empty())
}

fn coordinate() -> impl Strategy<Value = f64> {
    prop_oneof![
        -180.0..180.0f64,
        any::<f64>().prop_filter("finite", |v| v.is_finite())
    ]
}

fn arb_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (
            proptest::option::of(some_text()),
            proptest::option::of(some_text())
        )
            .prop_map(|(scene, ticket)| Event::Subscribe { scene, ticket }),
        Just(Event::Unsubscribe),
        (any::<String>(), proptest::option::of(some_text()))
            .prop_map(|(scene, ticket)| Event::Scan { scene, ticket }),
        (
            coordinate(),
            coordinate(),
            proptest::option::of(coordinate())
        )
            .prop_map(|(latitude, longitude, precision)| Event::Location {
                latitude,
                longitude,
                precision
            }),
        any::<String>().prop_map(|key| Event::Click { key }),
        (any::<String>(), proptest::option::of(some_text()))
            .prop_map(|(url, menu_id)| Event::View { url, menu_id }),
        any::<String>().prop_map(|status| Event::TemplateSendJobFinish { status }),
        "[A-Za-z_][A-Za-z0-9_]{0,20}"
            .prop_filter("not a known event", |e| !KNOWN_EVENTS
                .iter()
                .any(|k| k.eq_ignore_ascii_case(e)))
            .prop_map(|event| Event::Unknown { event }),
    ]
}

fn arb_kind() -> impl Strategy<Value = InboundKind> {
    prop_oneof![
        any::<String>().prop_map(|content| InboundKind::Text { content }),
        (any::<String>(), any::<String>())
            .prop_map(|(pic_url, media_id)| InboundKind::Image { pic_url, media_id }),
        (
            any::<String>(),
            any::<String>(),
            proptest::option::of(some_text())
        )
            .prop_map(|(media_id, format, recognition)| InboundKind::Voice {
                media_id,
                format,
                recognition
            }),
        (any::<String>(), any::<String>()).prop_map(|(media_id, thumb_media_id)| {
            InboundKind::Video {
                media_id,
                thumb_media_id,
            }
        }),
        (any::<String>(), any::<String>()).prop_map(|(media_id, thumb_media_id)| {
            InboundKind::ShortVideo {
                media_id,
                thumb_media_id,
            }
        }),
        (
            coordinate(),
            coordinate(),
            proptest::option::of(any::<i64>()),
            any::<String>()
        )
            .prop_map(
                |(latitude, longitude, scale, label)| InboundKind::Location {
                    latitude,
                    longitude,
                    scale,
                    label
                }
            ),
        (any::<String>(), any::<String>(), any::<String>()).prop_map(
            |(title, description, url)| InboundKind::Link {
                title,
                description,
                url
            }
        ),
        arb_event().prop_map(InboundKind::Event),
        "[a-z][a-z0-9_]{0,20}"
            .prop_filter("not a known type", |t| !KNOWN_TYPES
                .iter()
                .any(|k| k.eq_ignore_ascii_case(t)))
            .prop_map(|msg_type| InboundKind::Unknown { msg_type }),
    ]
}

fn arb_inbound() -> impl Strategy<Value = Inbound> {
    (
        any::<String>(),
        any::<String>(),
        any::<i64>(),
        proptest::option::of(any::<i64>()),
        arb_kind(),
    )
        .prop_map(|(to_user, from_user, create_time, msg_id, kind)| Inbound {
            to_user,
            from_user,
            create_time,
            msg_id,
            kind,
        })
}

/// Strings made of XML's building blocks, so that the fuzzer reaches the
/// parser's inner paths instead of failing at the first character.
fn xmlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("<xml>".to_owned()),
        Just("</xml>".to_owned()),
        Just("<xml/>".to_owned()),
        Just("<![CDATA[".to_owned()),
        Just("]]>".to_owned()),
        Just("<!DOCTYPE".to_owned()),
        Just("<!ENTITY".to_owned()),
        Just("<!--".to_owned()),
        Just("-->".to_owned()),
        Just("<?xml version=\"1.0\"?>".to_owned()),
        Just("&amp;".to_owned()),
        Just("&#x0;".to_owned()),
        Just("&#99999999;".to_owned()),
        Just("&bogus;".to_owned()),
        Just("&".to_owned()),
        Just("<MsgType>".to_owned()),
        Just("</MsgType>".to_owned()),
        Just("<Event>".to_owned()),
        Just("</Event>".to_owned()),
        Just("<Encrypt>".to_owned()),
        Just("</Encrypt>".to_owned()),
        Just("<a b='c'>".to_owned()),
        "[a-zA-Z_]{1,12}".prop_map(|n| format!("<{n}>")),
        "[a-zA-Z_]{1,12}".prop_map(|n| format!("</{n}>")),
        "[a-zA-Z_]{1,12}".prop_map(|n| format!("<{n}/>")),
        Just(
            "<ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
                .to_owned()
        ),
        prop::sample::select(KNOWN_TYPES).prop_map(str::to_owned),
        prop::sample::select(KNOWN_EVENTS).prop_map(str::to_owned),
        "[-0-9.eE+]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

/// A fixture with a slice cut out and something else put in its place.
fn mutated_fixture() -> impl Strategy<Value = String> {
    (
        prop::sample::select(FIXTURES),
        any::<prop::sample::Index>(),
        0..40usize,
        xmlish(),
    )
        .prop_map(|(name, at, cut, insert)| {
            let mut chars: Vec<char> = fixture(name).chars().collect();
            let start = at.index(chars.len() + 1);
            let end = (start + cut).min(chars.len());
            chars.splice(start..end, insert.chars());
            chars.into_iter().collect()
        })
}

/// What the webhook does with a body, minus the signature: never panics.
fn receive(body: &str, key: &AesKey) {
    if let Ok(Envelope {
        encrypt: Some(encrypt),
        ..
    }) = xml::parse_envelope(body)
    {
        if let Ok((inner, _)) = crypto::decrypt_any_appid(key, &encrypt) {
            let _ = xml::parse(&inner);
        }
    }
    let _ = xml::parse(body);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn inbound_round_trips(msg in arb_inbound()) {
        let built = xml::inbound_xml(&msg);
        prop_assert_eq!(xml::parse(&built).unwrap(), msg);
    }

    #[test]
    fn text_replies_read_back(content in any::<String>()) {
        let out = xml::reply_xml(FOLLOWER, ACCOUNT, 1, &Reply::Text { content: content.clone() });
        let doc: ReplyDoc = quick_xml::de::from_str(&out).unwrap();
        prop_assert_eq!(doc.content.as_deref(), Some(content.as_str()));
        // A reply has the shape of a text push, so our own reader must agree.
        prop_assert_eq!(xml::parse(&out).unwrap().kind, InboundKind::Text { content });
    }

    #[test]
    fn parse_never_panics_on_strings(body in any::<String>()) {
        receive(&body, &sample_key());
    }

    #[test]
    fn parse_never_panics_on_xmlish_strings(body in xmlish()) {
        receive(&body, &sample_key());
    }

    #[test]
    fn parse_never_panics_on_mutated_fixtures(body in mutated_fixture()) {
        receive(&body, &sample_key());
    }

    #[test]
    fn decrypt_never_panics_on_envelopes_of_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        use base64::Engine as _;
        let encrypt = base64::engine::general_purpose::STANDARD.encode(&bytes);
        receive(&xml::envelope_xml(ACCOUNT, &encrypt), &sample_key());
    }

    #[test]
    fn encrypted_pushes_survive_the_round_trip(msg in arb_inbound(), random in any::<[u8; 16]>()) {
        let encrypt = crypto::encrypt_with_random(&sample_key(), SAMPLE_APPID, &xml::inbound_xml(&msg), random);
        let envelope = xml::parse_envelope(&xml::envelope_xml(ACCOUNT, &encrypt)).unwrap();
        let inner = crypto::decrypt(&sample_key(), SAMPLE_APPID, &envelope.encrypt.unwrap()).unwrap();
        prop_assert_eq!(xml::parse(&inner).unwrap(), msg);
    }
}
