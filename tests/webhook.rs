//! The webhook over real HTTP (A1–A5, A3 every type): URL verification, the
//! three modes, exactly-once storage under WeChat's retries, key rotation, and
//! every refusal — with nothing stored and the server unaffected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use kefu::wechat::xml::InboundKind;

use common::{AES_KEY, TestServer, WX_TOKEN, fixture};
use kefu::model::{AccountId, MessageKind};
use kefu::wechat::crypto;
use reqwest::StatusCode;

async fn stored(srv: &TestServer, id: AccountId) -> i64 {
    srv.state
        .db
        .read(move |c| kefu::db::messages::count_inbound(c, id))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_verification_answers_the_echostr_only_when_signed() {
    let srv = TestServer::start().await;
    let acc = srv.account("safe", "").await;
    let url = srv.at(&format!("/wechat/{}", acc.id));
    let sig = crypto::signature(&[WX_TOKEN, "1714037059", "486452656"]);
    let q = [
        ("signature", sig.as_str()),
        ("timestamp", "1714037059"),
        ("nonce", "486452656"),
        ("echostr", "hello 123"),
    ];
    let r = reqwest::Client::new()
        .get(&url)
        .query(&q)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let r = if status != StatusCode::OK {
        panic!("{url}: {status} {}", r.text().await.unwrap())
    } else {
        r
    };
    assert_eq!(r.text().await.unwrap(), "hello 123", "exactly the echostr");
    let bad = [
        ("signature", "0000"),
        ("timestamp", "1714037059"),
        ("nonce", "486452656"),
        ("echostr", "x"),
    ];
    let r = reqwest::Client::new()
        .get(&url)
        .query(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = reqwest::Client::new().get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no signature at all");
    let r = reqwest::get(srv.at("/wechat/999")).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_stores_a_push_exactly_once_under_retries() {
    for mode in ["plain", "compat", "safe"] {
        let srv = TestServer::start().await;
        let acc = srv.account(mode, "").await;
        let xml = fixture("text.xml");
        // WeChat tries three times, each with a fresh timestamp, nonce and
        // signature; each gets the same passive reply (the welcome and the
        // queue place), encrypted when the push was.
        for attempt in 0..3 {
            let r = srv.push(&acc, mode, &xml).await;
            assert_eq!(r.status(), StatusCode::OK, "{mode} attempt {attempt}");
            let body = r.text().await.unwrap();
            let reply = passive_reply(&acc, mode, &body);
            assert_eq!(
                reply.to_user, "oWx9Z5kD4mQ1sT7uV2yA3bC6eF8g",
                "{mode} attempt {attempt}"
            );
            assert!(
                matches!(&reply.kind, InboundKind::Text { content } if content.contains("欢迎咨询") && content.contains("下一位")),
                "{mode} attempt {attempt}: {reply:?}"
            );
        }
        assert_eq!(
            stored(&srv, acc.id).await,
            1,
            "{mode}: one message for three deliveries"
        );
        let f = srv
            .state
            .db
            .read(move |c| {
                kefu::db::followers::by_openid(c, acc.id, "oWx9Z5kD4mQ1sT7uV2yA3bC6eF8g")
            })
            .await
            .unwrap()
            .unwrap();
        let history = srv
            .state
            .db
            .read(move |c| kefu::db::messages::history(c, f.id, None, 10))
            .await
            .unwrap();
        assert_eq!(history[0].content, "你好，请问订单什么时候发货？", "{mode}");
        assert!(
            f.message_window.is_some(),
            "{mode}: the reply window opened"
        );
        srv.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_type_and_event_is_stored_typed() {
    let srv = TestServer::start().await;
    let acc = srv.account("safe", "").await;
    let cases = [
        ("text.xml", MessageKind::Text, ""),
        ("image.xml", MessageKind::Image, ""),
        ("voice.xml", MessageKind::Voice, ""),
        ("voice_recognition.xml", MessageKind::Voice, ""),
        ("video.xml", MessageKind::Video, ""),
        ("shortvideo.xml", MessageKind::ShortVideo, ""),
        ("location.xml", MessageKind::Location, ""),
        ("link.xml", MessageKind::Link, ""),
        ("event_subscribe.xml", MessageKind::Event, "subscribe"),
        (
            "event_subscribe_qrscene.xml",
            MessageKind::Event,
            "subscribe",
        ),
        ("event_unsubscribe.xml", MessageKind::Event, "unsubscribe"),
        ("event_scan.xml", MessageKind::Event, "SCAN"),
        ("event_location.xml", MessageKind::Event, "LOCATION"),
        ("event_click.xml", MessageKind::Event, "CLICK"),
        ("event_view.xml", MessageKind::Event, "VIEW"),
        (
            "event_templatesendjobfinish.xml",
            MessageKind::Event,
            "TEMPLATESENDJOBFINISH",
        ),
        ("unknown_type.xml", MessageKind::Unknown, ""),
        ("unknown_event.xml", MessageKind::Event, ""),
    ];
    for (i, (file, kind, event)) in cases.iter().enumerate() {
        let r = srv.push(&acc, "safe", &fixture(file)).await;
        assert_eq!(r.status(), StatusCode::OK, "{file}");
        let n = stored(&srv, acc.id).await;
        assert_eq!(n, i as i64 + 1, "{file} stored, never dropped");
        let last = srv
            .state
            .db
            .read(|c| -> kefu::db::DbResult<(String, String)> {
                Ok(c.query_row(
                    "SELECT kind, event FROM messages WHERE direction = 'in' ORDER BY id DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(last.0, kind.as_str(), "{file}");
        if !event.is_empty() {
            assert_eq!(last.1, *event, "{file}");
        }
    }
    // Media messages queued their downloads.
    let pending: i64 = srv
        .state
        .db
        .read(|c| -> kefu::db::DbResult<i64> {
            Ok(c.query_row("SELECT count(*) FROM media", [], |r| r.get(0))?)
        })
        .await
        .unwrap();
    assert!(
        pending >= 5,
        "image, 2 voices, video+thumb, shortvideo+thumb: {pending}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_previous_encoding_aes_key_still_decrypts() {
    let srv = TestServer::start().await;
    let old = srv.account("safe", "").await;
    // Rotate: the account now has a new key; WeChat may still use the old one for a while.
    let new_key = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut";
    let f = kefu::db::accounts::AccountFields {
        name: old.name.clone(),
        app_id: old.app_id.clone(),
        aes_key: new_key.into(),
        mode: "safe".into(),
        ..Default::default()
    };
    kefu::channel::update(
        &srv.state.db,
        &srv.state.clock,
        &kefu::team::Acting::shell(),
        old.id,
        f,
        // Groups stay as they are.
        srv.state
            .db
            .read({
                let id = old.id;
                move |c| kefu::db::accounts::groups(c, id)
            })
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    let r = srv.push(&old, "safe", &fixture("text.xml")).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "encrypted with the previous key"
    );
    let mut rotated = old.clone();
    rotated.aes_key = new_key.into();
    let r = srv.push(&rotated, "safe", &fixture("image.xml")).await;
    assert_eq!(r.status(), StatusCode::OK, "encrypted with the new key");
    assert_eq!(stored(&srv, old.id).await, 2);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_pushes_are_refused_and_nothing_is_stored() {
    let srv = TestServer::start().await;
    // Plaintext mode, so both plaintext and encrypted refusals reach the parser.
    let acc = srv.account("plain", "").await;
    let url = srv.at(&format!("/wechat/{}", acc.id));
    let client = reqwest::Client::new();
    let now = srv.state.clock.now().as_second().to_string();
    let ts = now.as_str();
    let nonce = "42";
    let sig = crypto::signature(&[WX_TOKEN, ts, nonce]);
    let key = crypto::AesKey::from_encoding_aes_key(AES_KEY).unwrap();
    // Each case gets its own nonce: reusing a signed (timestamp, nonce) with
    // another body is itself refused (as a forgery).
    let aes_post = |encrypt: String| {
        let nonce = common::rand_u32().to_string();
        let msg_sig = crypto::signature(&[WX_TOKEN, ts, &nonce, &encrypt]);
        let body = kefu::wechat::xml::envelope_xml("gh_x", &encrypt);
        client
            .post(&url)
            .query(&[
                ("timestamp", ts),
                ("nonce", &nonce),
                ("encrypt_type", "aes"),
                ("msg_signature", &msg_sig),
            ])
            .body(body)
    };
    let plain_post = |body: String, signature: Option<&str>| {
        let nonce = common::rand_u32().to_string();
        let good = crypto::signature(&[WX_TOKEN, ts, &nonce]);
        client
            .post(&url)
            .query(&[
                ("timestamp", ts),
                ("nonce", &nonce),
                ("signature", signature.unwrap_or(&good)),
            ])
            .body(body)
    };
    let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode)> = vec![
        (
            "wrong signature",
            plain_post(fixture("text.xml"), Some("deadbeef")),
            StatusCode::FORBIDDEN,
        ),
        (
            "missing signature",
            client.post(&url).body(fixture("text.xml")),
            StatusCode::FORBIDDEN,
        ),
        (
            "wrong msg_signature",
            client
                .post(&url)
                .query(&[
                    ("timestamp", ts),
                    ("nonce", nonce),
                    ("encrypt_type", "aes"),
                    ("msg_signature", "00"),
                ])
                .body(kefu::wechat::xml::envelope_xml(
                    "gh",
                    &crypto::encrypt(&key, common::APPID, &fixture("text.xml")),
                )),
            StatusCode::FORBIDDEN,
        ),
        (
            "malformed XML",
            plain_post(fixture("malformed.xml"), None),
            StatusCode::BAD_REQUEST,
        ),
        (
            "DOCTYPE",
            plain_post(fixture("doctype.xml"), None),
            StatusCode::BAD_REQUEST,
        ),
        (
            "missing FromUserName",
            plain_post(fixture("missing_from.xml"), None),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad base64",
            aes_post("!!!not base64!!!".into()),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad padding",
            aes_post(base64_of(&[7u8; 48])),
            StatusCode::BAD_REQUEST,
        ),
        (
            "wrong AppID",
            aes_post(crypto::encrypt(&key, "wxSomeoneElse", &fixture("text.xml"))),
            StatusCode::BAD_REQUEST,
        ),
        (
            "encrypted garbage XML",
            aes_post(crypto::encrypt(&key, common::APPID, "<xml><oops")),
            StatusCode::BAD_REQUEST,
        ),
        (
            "over 1 MB",
            plain_post("x".repeat(1024 * 1024 + 10), None),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "not UTF-8",
            client
                .post(&url)
                .query(&[("timestamp", ts), ("nonce", nonce), ("signature", &sig)])
                .body(vec![0xff, 0xfe, 0x00]),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown account",
            client.post(srv.at("/wechat/424242")).body("<xml/>"),
            StatusCode::NOT_FOUND,
        ),
        (
            "not an account id",
            client.post(srv.at("/wechat/..%2F..%2Fetc")).body("<xml/>"),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (name, req, want) in cases {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), want, "{name}");
    }
    assert_eq!(stored(&srv, acc.id).await, 0, "nothing stored");
    let followers: i64 = srv
        .state
        .db
        .read(|c| -> kefu::db::DbResult<i64> {
            Ok(c.query_row("SELECT count(*) FROM followers", [], |r| r.get(0))?)
        })
        .await
        .unwrap();
    assert_eq!(followers, 0, "no follower created by refused pushes");
    assert_eq!(
        reqwest::get(srv.at("/healthz")).await.unwrap().status(),
        StatusCode::OK,
        "server unaffected"
    );
    let r = srv.push(&acc, "plain", &fixture("text.xml")).await;
    assert_eq!(r.status(), StatusCode::OK, "and a good push still works");
    srv.stop().await;
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_plaintext_and_replayed_pushes_are_refused() {
    let srv = TestServer::start().await;
    let acc = srv.account("safe", "").await;
    let url = srv.at(&format!("/wechat/{}", acc.id));
    let client = reqwest::Client::new();
    let now = srv.state.clock.now().as_second();

    // Plaintext to a safe-mode account: WeChat never does that.
    let ts = now.to_string();
    let sig = crypto::signature(&[WX_TOKEN, &ts, "7"]);
    let r = client
        .post(&url)
        .query(&[
            ("timestamp", ts.as_str()),
            ("nonce", "7"),
            ("signature", &sig),
        ])
        .body(fixture("text.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "plaintext to a safe account"
    );

    // A correctly signed push from an hour ago (a URL copied from a log).
    let key = crypto::AesKey::from_encoding_aes_key(AES_KEY).unwrap();
    let send = |ts: String, nonce: &str, body_xml: String| {
        let encrypt = crypto::encrypt(&key, common::APPID, &body_xml);
        let msg_sig = crypto::signature(&[WX_TOKEN, &ts, nonce, &encrypt]);
        client
            .post(&url)
            .query(&[
                ("timestamp", ts.as_str()),
                ("nonce", nonce),
                ("encrypt_type", "aes"),
                ("msg_signature", msg_sig.as_str()),
            ])
            .body(kefu::wechat::xml::envelope_xml("gh", &encrypt))
            .send()
    };
    let r = send((now - 3600).to_string(), "8", fixture("text.xml"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "stale timestamp");

    // The same request twice is WeChat's retry: fine, stored once.
    let encrypt = crypto::encrypt(&key, common::APPID, &fixture("text.xml"));
    let msg_sig = crypto::signature(&[WX_TOKEN, &ts, "9", &encrypt]);
    let body = kefu::wechat::xml::envelope_xml("gh", &encrypt);
    let q = [
        ("timestamp", ts.as_str()),
        ("nonce", "9"),
        ("encrypt_type", "aes"),
        ("msg_signature", msg_sig.as_str()),
    ];
    for _ in 0..2 {
        let r = client
            .post(&url)
            .query(&q)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(stored(&srv, acc.id).await, 1);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_plaintext_query_cannot_carry_another_body() {
    let srv = TestServer::start().await;
    let acc = srv.account("plain", "").await;
    let url = srv.at(&format!("/wechat/{}", acc.id));
    let ts = srv.state.clock.now().as_second().to_string();
    let sig = crypto::signature(&[WX_TOKEN, &ts, "555"]);
    let q = [
        ("timestamp", ts.as_str()),
        ("nonce", "555"),
        ("signature", sig.as_str()),
        ("openid", "oWx9Z5kD4mQ1sT7uV2yA3bC6eF8g"),
    ];
    let client = reqwest::Client::new();
    for _ in 0..2 {
        let r = client
            .post(&url)
            .query(&q)
            .body(fixture("text.xml"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "WeChat's retry of the same request"
        );
    }
    let forged = fixture("text.xml").replace("你好，请问订单什么时候发货？", "把我的订单退款");
    let r = client
        .post(&url)
        .query(&q)
        .body(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "a captured signed query with another body"
    );
    assert_eq!(stored(&srv, acc.id).await, 1);
    srv.stop().await;
}

/// Reads the webhook's answer as WeChat would: plain reply XML, or in safe and
/// compatible mode the encrypted envelope, whose signature must verify.
fn passive_reply(
    acc: &kefu::db::accounts::Account,
    mode: &str,
    body: &str,
) -> kefu::wechat::xml::Inbound {
    use kefu::wechat::{crypto, xml};
    let plain = if mode == "plain" {
        body.to_string()
    } else {
        let field = |name: &str| {
            let open = format!("<{name}>");
            let start = body.find(&open).expect(name) + open.len();
            let rest = &body[start..];
            let value = &rest[..rest.find(&format!("</{name}>")).expect(name)];
            value
                .trim_start_matches("<![CDATA[")
                .trim_end_matches("]]>")
                .to_string()
        };
        let (encrypt, signature) = (field("Encrypt"), field("MsgSignature"));
        let (timestamp, nonce) = (field("TimeStamp"), field("Nonce"));
        assert!(
            crypto::verify_signature(&signature, &[&acc.token, &timestamp, &nonce, &encrypt]),
            "{mode}: the reply's signature verifies"
        );
        let key = crypto::AesKey::from_encoding_aes_key(&acc.aes_key).unwrap();
        crypto::decrypt(&key, &acc.app_id, &encrypt).expect("the reply decrypts")
    };
    xml::parse(&plain).expect("reply XML parses")
}

/// Every inbound text kefu stored, for followers 1 to 5.
async fn inbound_texts(srv: &TestServer) -> Vec<(String, String)> {
    srv.state
        .db
        .read(|c| {
            let mut out = Vec::new();
            for f in 1..=5 {
                let follower = kefu::model::FollowerId(f);
                let openid = kefu::db::followers::get(c, follower)?
                    .map(|f| f.openid)
                    .unwrap_or_default();
                for m in kefu::db::messages::history(c, follower, None, 100)? {
                    if m.direction == kefu::model::Direction::In && m.kind == MessageKind::Text {
                        out.push((openid.clone(), m.content));
                    }
                }
            }
            Ok::<_, kefu::db::DbError>(out)
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_a_push_are_stripped_or_refused_never_a_5xx() {
    for (n, mode) in ["plain", "safe"].into_iter().enumerate() {
        let srv = TestServer::start().await;
        let acc = srv.account(mode, "").await;
        let text = |from: &str, content: &str, id: usize| {
            format!(
                "<xml><ToUserName><![CDATA[gh_test]]></ToUserName>\
                 <FromUserName><![CDATA[{from}]]></FromUserName>\
                 <CreateTime>1714037059</CreateTime><MsgType><![CDATA[text]]></MsgType>\
                 <Content><![CDATA[{content}]]></Content><MsgId>{}</MsgId></xml>",
                1000 * (n + 1) + id
            )
        };
        // Message text: stripped (CR and CRLF become LF), stored, answered 200.
        let texts = [
            "在\u{0}吗",
            "\u{0}",
            "第一行\r\n第二行\revent: msg\u{1b}[31m\u{7f}\u{85}",
        ];
        for (i, content) in texts.iter().enumerate() {
            let r = srv
                .push(&acc, mode, &text(&format!("oClean{mode}"), content, i))
                .await;
            assert_eq!(r.status(), StatusCode::OK, "{mode} {content:?}");
        }
        // A character reference is a control character too once parsed.
        for (i, content) in ["a&#0;b", "a&#13;b", "a&#x1b;b"].iter().enumerate() {
            let xml = text(&format!("oRef{mode}"), "", 10 + i).replace("<![CDATA[]]>", content);
            let r = srv.push(&acc, mode, &xml).await;
            assert!(
                r.status() == StatusCode::OK || r.status() == StatusCode::BAD_REQUEST,
                "{mode} {content:?}: {}",
                r.status()
            );
        }
        // An OpenID (or the account's id) with a control character: 400, nothing stored.
        let before = stored(&srv, acc.id).await;
        for (i, from) in ["o\u{0}F", "\u{0}", "oF\r"].iter().enumerate() {
            let r = srv.push(&acc, mode, &text(from, "你好", 20 + i)).await;
            assert_eq!(
                r.status(),
                StatusCode::BAD_REQUEST,
                "{mode} FromUserName {from:?}"
            );
        }
        let to_nul = text("oTo", "你好", 30).replace("gh_test", "gh_\u{0}");
        let r = srv.push(&acc, mode, &to_nul).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{mode} ToUserName");
        assert_eq!(stored(&srv, acc.id).await, before, "{mode}: nothing stored");

        let texts = inbound_texts(&srv).await;
        for (openid, content) in &texts {
            assert!(
                !content
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t'),
                "{openid}: {content:?}"
            );
        }
        let clean: Vec<&str> = texts
            .iter()
            .filter(|(o, _)| *o == format!("oClean{mode}"))
            .map(|(_, c)| c.as_str())
            .collect();
        assert_eq!(
            clean,
            vec!["在吗", "", "第一行\n第二行\nevent: msg[31m"],
            "{mode}"
        );
        // The server is unaffected.
        let r = reqwest::get(srv.at("/healthz")).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        srv.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_push_must_come_from_the_follower_the_signed_url_names() {
    let srv = TestServer::start().await;
    let acc = srv.account("plain", "").await;
    let url = srv.at(&format!("/wechat/{}", acc.id));
    let ts = srv.state.clock.now().as_second().to_string();
    let sig = crypto::signature(&[WX_TOKEN, &ts, "777"]);
    let client = reqwest::Client::new();
    let send = |openid: &'static str, body: String| {
        let q = [
            ("timestamp", ts.clone()),
            ("nonce", "777".to_string()),
            ("signature", sig.clone()),
            ("openid", openid.to_string()),
        ];
        client.post(&url).query(&q).body(body).send()
    };
    let real = fixture("text.xml");
    let someone_else = real.replace("oWx9Z5kD4mQ1sT7uV2yA3bC6eF8g", "oSomeoneElse");
    // The body speaks for another follower than the URL names.
    let r = send("oWx9Z5kD4mQ1sT7uV2yA3bC6eF8g", someone_else.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(stored(&srv, acc.id).await, 0);

    // WeChat's own push, then the same signed query with another openid and
    // a body to match: the replay guard keys on what is signed, so changing
    // the unsigned openid does not make a fresh entry.
    let sig2 = crypto::signature(&[WX_TOKEN, &ts, "778"]);
    let q = |openid: &str| {
        [
            ("timestamp", ts.clone()),
            ("nonce", "778".to_string()),
            ("signature", sig2.clone()),
            ("openid", openid.to_string()),
        ]
    };
    let r = client
        .post(&url)
        .query(&q("oWx9Z5kD4mQ1sT7uV2yA3bC6eF8g"))
        .body(real.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client
        .post(&url)
        .query(&q("oSomeoneElse"))
        .body(someone_else)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "replayed under another openid"
    );
    assert_eq!(stored(&srv, acc.id).await, 1);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlong_query_or_a_forged_signature_is_refused_before_the_body() {
    let srv = TestServer::start().await;
    let acc = srv.account("plain", "").await;
    let url = srv.at(&format!("/wechat/{}", acc.id));
    let ts = srv.state.clock.now().as_second().to_string();
    let sig = crypto::signature(&[WX_TOKEN, &ts, "9"]);
    let client = reqwest::Client::new();
    let huge = "o".repeat(kefu::web::MAX_QUERY + 1);
    let r = client
        .post(&url)
        .query(&[
            ("timestamp", ts.as_str()),
            ("nonce", "9"),
            ("signature", sig.as_str()),
            ("openid", huge.as_str()),
        ])
        .body(fixture("text.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::URI_TOO_LONG);
    // Any route: the limit is the server's, not the webhook's.
    let r = client
        .get(srv.at(&format!("/login?next={huge}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::URI_TOO_LONG);

    // A forged plaintext signature is refused (403) whatever the body's size:
    // the signature is checked before the body is read.
    for size in [10, 900 * 1024, 2 * 1024 * 1024] {
        let r = client
            .post(&url)
            .query(&[
                ("timestamp", ts.as_str()),
                ("nonce", "9"),
                ("signature", "0"),
            ])
            .body(vec![b'x'; size])
            .send()
            .await;
        // The server may answer before the client has sent everything.
        if let Ok(r) = r {
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{size}");
        }
    }
    assert_eq!(stored(&srv, acc.id).await, 0);
    srv.stop().await;
}
