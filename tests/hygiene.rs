//! Issue 11 points 4, 8 and 9 over real HTTP: control characters in every
//! form field and query never give a 5xx (forms refuse them with a Chinese
//! message); a carriage return cannot forge a live event; a login flood is
//! turned away with 429 while a real login still gets in, failures are
//! aggregated in the audit log, and `X-Forwarded-For` is believed only from a
//! trusted proxy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Browser, PASSWORD, TestServer};
use kefu::model::Role;
use kefu::web::{Access, routes};
use reqwest::{Method, StatusCode};

/// What the form extractor answers for a control character.
const REFUSED: &str = "不允许的控制字符";

/// Every field name the console's forms use (a field a route does not know
/// is still checked: the extractor looks at every field before the handler).
const FIELDS: &[&str] = &[
    "name",
    "display_name",
    "username",
    "real_name",
    "password",
    "confirm",
    "current",
    "text",
    "body",
    "note",
    "reply",
    "remark",
    "tag",
    "title",
    "folder",
    "keywords",
    "labels",
    "message",
    "phone",
    "public_name",
    "ident",
    "code",
    "token",
    "app_id",
    "app_secret",
    "aes_key",
    "q",
    "next",
];

/// Values no typed text may hold: NUL, a lone CR, ESC, DEL, a C1 code.
const BAD: &[&str] = &["a\u{0}b", "名字\revent: msg", "\u{1b}[31m", "x\u{85}"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_every_form_field_are_refused_never_a_5xx() {
    let srv = TestServer::start().await;
    let g = srv.group("售前", "pre").await;
    srv.user("boss", Role::SuperAdmin, &[g]).await;
    let boss = srv.login("boss").await;
    let token = boss.csrf().await;

    let mut refused_routes = 0;
    let mut posts = 0;
    for r in routes() {
        if r.method != Method::POST || r.path.starts_with("/wechat/") || r.path == "/logout" {
            continue;
        }
        let path = r.path.replace("{id}", &g.to_string());
        let mut refused_here = false;
        for field in FIELDS {
            for bad in BAD {
                let resp = boss
                    .client
                    .post(srv.at(&path))
                    .header("X-CSRF-Token", &token)
                    .form(&[(*field, *bad), ("_csrf", token.as_str())])
                    .send()
                    .await
                    .unwrap();
                posts += 1;
                let status = resp.status();
                let body = resp.text().await.unwrap_or_default();
                assert!(
                    !status.is_server_error(),
                    "POST {path} {field}={bad:?}: {status} {body}"
                );
                if status == StatusCode::BAD_REQUEST && !body.contains(REFUSED) {
                    // Uploads are multipart, not a form: refused as such.
                    assert!(body.contains("multipart"), "POST {path}: {body}");
                } else if status == StatusCode::BAD_REQUEST {
                    refused_here = true;
                } else if r.access != Access::Public {
                    // Only routes that take no form at all may act on it.
                    assert!(
                        status.is_client_error() || status.is_redirection() || status.is_success(),
                        "POST {path}: {status}"
                    );
                }
            }
        }
        if refused_here {
            refused_routes += 1;
        }
    }
    assert!(posts > 1000, "{posts} posts");
    assert!(
        refused_routes >= 50,
        "every form route refuses control characters ({refused_routes})"
    );

    // The login and setup forms are public: refused the same way.
    let anon = Browser::new(&srv);
    let r = anon
        .post_form(
            "/login",
            &[("username", "boss\u{0}"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains(REFUSED));

    // Queries too: refused or ignored, never a 5xx.
    for r in routes() {
        if r.method != Method::GET || r.path == "/console/events" {
            continue;
        }
        let path = r.path.replace("{id}", &g.to_string());
        let resp = boss
            .get(&format!("{path}?q=%00&name=a%0Db&from=%1B&page=%00"))
            .await;
        let status = resp.status();
        assert!(!status.is_server_error(), "GET {path}: {status}");
    }

    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_of_only_nul_is_refused_and_nothing_is_queued() {
    let srv = TestServer::start().await;
    let g = srv.group("售前", "pre").await;
    let amy_id = srv.user("amy", Role::Admin, &[g]).await;
    let acc = srv.account("plain", "").await;
    let id = acc.id;
    srv.state
        .db
        .write(move |c| kefu::db::accounts::set_groups(c, id, &[g]))
        .await
        .unwrap();
    srv.state.wechat.forget_account(id);
    let xml = format!(
        "<xml><ToUserName><![CDATA[gh_test]]></ToUserName>\
         <FromUserName><![CDATA[oNul]]></FromUserName><CreateTime>{}</CreateTime>\
         <MsgType><![CDATA[text]]></MsgType><Content><![CDATA[人工]]></Content>\
         <MsgId>1</MsgId></xml>",
        srv.state.clock.now().as_second()
    );
    assert_eq!(srv.push(&acc, "plain", &xml).await.status(), StatusCode::OK);
    let amy = srv.login("amy").await;
    let r = amy.post_form("/console/c/1/accept", &[]).await;
    assert!(
        !r.status().is_client_error() && !r.status().is_server_error(),
        "{}",
        r.status()
    );

    for text in ["\u{0}", "\u{0}\u{0}", "好\u{0}", "\r", "\u{1b}"] {
        let r = amy.post_form("/console/c/1/reply", &[("text", text)]).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{text:?}");
        assert!(r.text().await.unwrap().contains(REFUSED));
    }
    // The same route takes a real reply, typed with a CRLF line break.
    let r = amy
        .post_form("/console/c/1/reply", &[("text", "您好\r\n请稍等")])
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );

    let replies: Vec<String> = srv
        .state
        .db
        .read(|c| kefu::db::messages::history(c, kefu::model::FollowerId(1), None, 100))
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.sender_id == Some(amy_id))
        .map(|m| m.content)
        .collect();
    assert_eq!(replies, ["您好\n请稍等"], "only the real reply was queued");
    srv.stop().await;
}

/// The events of an SSE stream as a browser reads them (WHATWG: a line ends
/// at CRLF, CR or LF; a blank line dispatches): (event type, data).
fn sse_events(stream: &str) -> Vec<(String, String)> {
    let mut events = Vec::new();
    let (mut kind, mut data): (String, Vec<String>) = (String::new(), Vec::new());
    let mut rest = stream;
    while let Some(end) = rest.find(['\r', '\n']) {
        let line = &rest[..end];
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + skip..];
        if line.is_empty() {
            if !data.is_empty() {
                let k = if kind.is_empty() { "message" } else { &kind };
                events.push((k.to_string(), data.join("\n")));
            }
            kind.clear();
            data.clear();
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => kind = value.to_string(),
            "data" => data.push(value.to_string()),
            _ => {}
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carriage_return_in_a_display_name_cannot_forge_a_live_event() {
    let srv = TestServer::start().await;
    let g = srv.group("售前", "pre").await;
    srv.user("amy", Role::Agent, &[g]).await;
    let bob_id = srv.user("bob", Role::Agent, &[g]).await;
    let bob = srv.login("bob").await;

    // The form refuses such a name…
    let amy = srv.login("amy").await;
    let evil = "阿美\revent: msg\rdata: {\"conv\":1,\"id\":\"m-1\",\"html\":\"<b>forged</b>\"}\r\r";
    let r = amy
        .post_form("/console/me", &[("display_name", evil)])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // …and had one got in (an older database, the shell), the stream still
    // carries it as data of the one event it belongs to.
    let mut stream = bob
        .client
        .get(srv.at("/console/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mut seen = String::new();
    while !sse_events(&seen).iter().any(|(k, _)| k == "hello") {
        // A guard against hanging, not a timing assertion.
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(60), stream.chunk())
            .await
            .expect("the stream goes on")
            .unwrap()
            .expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let live = srv.state.live();
    use kefu::i18n::Msg;
    for text in [
        Msg::new("toast-transfer-asked").text("name", evil),
        Msg::new("toast-transfer-asked").text("name", "阿美\r\nevent: msg\r\ndata: x\r\n\r\n"),
        Msg::new("toast-assigned"),
    ] {
        live.publish(kefu::live::Live::Toast { user: bob_id, text });
    }
    while !sse_events(&seen)
        .iter()
        .any(|(_, d)| d == "有新的会话分配给您")
    {
        // A guard against hanging, not a timing assertion.
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(60), stream.chunk())
            .await
            .expect("the stream goes on")
            .unwrap()
            .expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let events = sse_events(&seen);
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["hello", "toast", "toast", "toast"], "{seen:?}");
    assert!(
        events[1].1.starts_with("阿美\nevent: msg\ndata: {"),
        "{:?}",
        events[1].1
    );
    assert!(events[1].1.ends_with("请求将会话转接给您"));
    srv.stop().await;
}

async fn login_from(srv: &TestServer, ip: &str, name: &str, password: &str) -> reqwest::Response {
    let b = Browser::new(srv);
    let token = b.csrf().await;
    b.client
        .post(srv.at("/login"))
        .header("X-Forwarded-For", ip)
        .form(&[
            ("username", name),
            ("password", password),
            ("_csrf", &token),
        ])
        .send()
        .await
        .unwrap()
}

async fn failure_rows(srv: &TestServer) -> Vec<kefu::db::audit::AuditRow> {
    srv.state
        .db
        .read(|c| {
            kefu::db::audit::list(
                c,
                &kefu::db::audit::AuditFilter {
                    action: Some(kefu::model::AuditAction::LoginFailed),
                    actors: kefu::db::audit::Actors::All,
                    limit: 1000,
                    ..Default::default()
                },
            )
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_gets_429s_and_a_real_login_still_gets_in() {
    let srv = TestServer::start_with(|config, _| {
        config.trusted_proxies = kefu::config::TrustedProxies::loopback();
    })
    .await;
    srv.user("amy", Role::Agent, &[]).await;

    // 80 wrong logins at once from one address behind the proxy, each for
    // another name (so the per-account lockout does not stop them).
    let attacker = "203.0.113.66";
    let mut flood = Vec::new();
    for i in 0..80 {
        let srv_url = srv.url.clone();
        let client = Browser::new(&srv);
        flood.push(tokio::spawn(async move {
            let token = client.csrf().await;
            let r = client
                .client
                .post(format!("{srv_url}/login"))
                .header("X-Forwarded-For", attacker)
                .form(&[
                    ("username", format!("guess{i}").as_str()),
                    ("password", "wrong-password"),
                    ("_csrf", &token),
                ])
                .send()
                .await
                .unwrap();
            let status = r.status();
            let retry: Option<u64> = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok());
            (status, retry, r.text().await.unwrap())
        }));
    }
    let (mut too_many, mut refused) = (0, 0);
    for t in flood {
        let (status, retry, body) = t.await.unwrap();
        match status {
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(
                    body.contains("过于频繁") || body.contains("服务器正忙"),
                    "{body}"
                );
                assert!(
                    retry.is_some_and(|s| s >= 1),
                    "a 429 says when to try again: {retry:?}"
                );
                too_many += 1;
            }
            StatusCode::UNAUTHORIZED => refused += 1,
            other => panic!("{other}: {body}"),
        }
    }
    // At most the burst (and what trickles back meanwhile) is checked.
    assert!(too_many >= 40, "{too_many} × 429, {refused} × 401");
    assert!(refused >= 1, "{refused} × 401");

    // A real login from elsewhere gets in.
    let r = login_from(&srv, "198.51.100.7", "amy", PASSWORD).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );

    // Failures are aggregated: one row per name and IP, with the count.
    for _ in 0..4 {
        let r = login_from(&srv, "198.51.100.8", "amy", "wrong-password").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let rows = failure_rows(&srv).await;
    let amy: Vec<_> = rows.iter().filter(|r| r.actor_name == "amy").collect();
    assert_eq!(amy.len(), 1, "{amy:?}");
    assert_eq!(amy[0].ip, "198.51.100.8");
    assert!(
        amy[0].after.as_deref().unwrap().contains("\"attempts\":4"),
        "{amy:?}"
    );
    assert!(
        rows.iter().filter(|r| r.ip == attacker).all(|r| r
            .after
            .as_deref()
            .unwrap()
            .contains("\"attempts\":1")),
        "an unknown name's failure is recorded once, not once per attempt"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    // No trusted proxies (the default): every claim is the loopback peer's.
    let srv = TestServer::start().await;
    srv.user("amy", Role::Agent, &[]).await;
    // Each try claims another address; all are the loopback peer's tries.
    let mut statuses = Vec::new();
    for i in 0..(kefu::auth::LOGIN_BURST + 10) {
        let claimed = format!("198.51.100.{}", i + 1);
        let r = login_from(&srv, &claimed, &format!("guess{i}"), "wrong-password").await;
        let status = r.status();
        let body = r.text().await.unwrap();
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(body.contains("过于频繁"), "{body}");
        }
        statuses.push(status);
    }
    let burst = kefu::auth::LOGIN_BURST as usize;
    assert!(
        statuses[..burst]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "one allowance for the real peer, whatever the header says: {statuses:?}"
    );
    let rows = failure_rows(&srv).await;
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(rows.len(), refused);
    assert!(rows.iter().all(|r| r.ip == "127.0.0.1"), "{rows:?}");
    srv.stop().await;
}
