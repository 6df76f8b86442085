//! The simulator end to end (A14): a super admin creates a simulation-mode
//! account; pushes from the simulated follower go through the real webhook
//! over HTTP (signed and encrypted in safe mode) and land in the follower's
//! history; a reply leaves through the outbox to kefu's own fake WeChat API
//! and is shown as delivered.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use kefu::model::Role;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_follower_talks_to_kefu_through_the_real_path() {
    let srv = TestServer::start().await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    let b = srv.login("boss").await;
    let (_, page) = b.text("/admin/simulator").await;
    assert!(page.contains("创建模拟公众号"));

    let r = b.post_form("/admin/simulator/account", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let accounts = srv.state.db.read(kefu::db::accounts::list).await.unwrap();
    assert_eq!(accounts.len(), 1);
    let acc = accounts[0].clone();
    assert!(acc.simulation && acc.mode == kefu::model::AccountMode::Safe);
    let a = acc.id.to_string();

    let r = b
        .post_form(
            "/admin/simulator/act",
            &[("account", &a), ("action", "subscribe")],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let fid = location.rsplit('=').next().unwrap().to_string();
    assert!(fid.parse::<i64>().unwrap() > 0, "{location}");

    for text in ["你好,我想咨询退货", "订单号 20261121"] {
        let r = b
            .post_form(
                "/admin/simulator/act",
                &[
                    ("account", &a),
                    ("follower", &fid),
                    ("action", "text"),
                    ("text", text),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let r = b
        .post_form(
            "/admin/simulator/act",
            &[("account", &a), ("follower", &fid), ("action", "image")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = b
        .post_form(
            "/admin/simulator/act",
            &[
                ("account", &a),
                ("follower", &fid),
                ("action", "text"),
                ("text", "  "),
            ],
        )
        .await;
    // An empty message is refused: back to the same chat, saying why.
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "an empty message");
    let back = r.headers()["location"].to_str().unwrap().to_string();
    assert!(back.ends_with(&format!("follower={fid}")), "{back}");
    let (_, page) = b.text(&back).await;
    assert!(page.contains("请输入消息内容"), "the reason is shown");
    assert!(
        page.contains("autocomplete=\"off\" required>"),
        "the form asks for text before sending"
    );
    let r = b
        .post_form(
            "/admin/simulator/act",
            &[("account", &a), ("follower", &fid), ("action", "reply")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "an empty reply");
    let (_, page) = b.text(&back).await;
    assert!(page.contains("请输入回复内容"), "the reason is shown");

    let n = srv
        .state
        .db
        .read(move |c| kefu::db::messages::count_inbound(c, acc.id))
        .await
        .unwrap();
    assert_eq!(
        n, 4,
        "subscribe, two texts, an image — stored through the webhook"
    );

    // The image is fetched from kefu's own fake WeChat API, over HTTP.
    let fetcher = srv.state.wechat.fetcher(&srv.state.db, &srv.state.clock);
    fetcher.pass().await.unwrap();
    let stored: i64 = srv
        .state
        .db
        .read(|c| -> kefu::db::DbResult<i64> {
            Ok(c.query_row(
                "SELECT count(*) FROM media WHERE state = 'stored'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    let errors: Vec<String> = srv
        .state
        .db
        .read(|c| -> kefu::db::DbResult<Vec<String>> {
            Ok(c.prepare("SELECT state || ': ' || error FROM media")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?)
        })
        .await
        .unwrap();
    assert_eq!(stored, 1, "{errors:?}");
    // The same pass fetched the simulated follower's profile: the built-in
    // WeChat knows its own followers (it used to answer 40003, invalid openid).
    let profile: String = srv
        .state
        .db
        .read(|c| -> kefu::db::DbResult<String> {
            Ok(c.query_row("SELECT profile_state FROM followers", [], |r| r.get(0))?)
        })
        .await
        .unwrap();
    assert_eq!(profile, "fetched");

    // A reply goes out through the outbox to the fake API.
    let r = b
        .post_form(
            "/admin/simulator/act",
            &[
                ("account", &a),
                ("follower", &fid),
                ("action", "reply"),
                ("text", "您好,请提供订单号"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The follower's message put them in the queue (no agent online); they
    // were told their place in the webhook's answer, so only the reply is sent.
    let sender = srv.state.wechat.sender(&srv.state.db, &srv.state.clock);
    assert_eq!(sender.pass().await.unwrap().len(), 1);
    let follower = srv
        .state
        .db
        .read(move |c| kefu::db::followers::get(c, kefu::model::FollowerId(fid.parse().unwrap())))
        .await
        .unwrap()
        .unwrap();
    let sent = srv.state.wechat.fake.sent_to(&follower.openid);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["text"]["content"], "您好,请提供订单号");

    let (_, chat) = b
        .text(&format!("/admin/simulator/chat?follower={}", follower.id))
        .await;
    for want in [
        "[关注了公众号]",
        "感谢关注",
        "你好,我想咨询退货",
        "已为您转接人工客服",
        "<img src=\"/media/",
        "您好,请提供订单号",
        "已送达微信",
    ] {
        assert!(chat.contains(want), "chat shows {want}: {chat}");
    }

    // The fake API refuses anyone but this server.
    let r = reqwest::get(
        srv.at("/simulator/wx/cgi-bin/token?grant_type=client_credential&appid=x&secret=y"),
    )
    .await
    .unwrap();
    assert_ne!(
        r.status(),
        StatusCode::FORBIDDEN,
        "loopback (this test) is this server's own address"
    );
    let r = reqwest::Client::new()
        .get(srv.at("/simulator/wx/cgi-bin/token?grant_type=client_credential&appid=x&secret=y"))
        .header("X-Forwarded-For", "203.0.113.5")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "relayed by a reverse proxy: refused"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_explains_wechat_errors_in_chinese() {
    let wx = common::FakeServer::start().await;
    wx.fake
        .add_account(common::APPID, "the-real-secret-0123456789abcdef");
    let srv = TestServer::start().await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    let acc = srv.account("safe", &wx.url).await; // bound with a wrong secret
    let b = srv.login("boss").await;
    let token = b.csrf().await;
    let test = |b: &common::Browser| {
        b.client
            .post(srv.at(&format!("/admin/accounts/{}/test", acc.id)))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", token.clone())
            .send()
    };
    let r = test(&b).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("连接失败") && text.contains("AppSecret 错误") && text.contains("40125"),
        "{text}"
    );

    wx.fake.fail_next(
        kefu::wechat::fake::Api::Token,
        kefu::wechat::fake::Failure::ErrCode(40164),
        1,
    );
    let f = kefu::db::accounts::AccountFields {
        name: acc.name.clone(),
        app_id: acc.app_id.clone(),
        app_secret: "the-real-secret-0123456789abcdef".into(),
        mode: "safe".into(),
        api_base: wx.url.clone(),
        ..Default::default()
    };
    kefu::channel::update(
        &srv.state.db,
        &srv.state.clock,
        &kefu::team::Acting::shell(),
        acc.id,
        f,
        // Groups stay as they are.
        srv.state
            .db
            .read({
                let id = acc.id;
                move |c| kefu::db::accounts::groups(c, id)
            })
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    let text = test(&b).await.unwrap().text().await.unwrap();
    assert!(text.contains("IP 白名单"), "{text}");
    let text = test(&b).await.unwrap().text().await.unwrap();
    assert!(text.contains("连接成功"), "{text}");

    let (_, page) = b.text(&format!("/admin/accounts/{}", acc.id)).await;
    assert!(
        page.contains(&format!("/wechat/{}", acc.id)),
        "the URL to paste into WeChat"
    );
    assert!(
        !page.contains("the-real-secret-0123456789abcdef"),
        "the secret is never shown back"
    );
    assert!(page.contains("the-*"), "only a masked hint");

    // The reply rules are settings (WeChat has changed them before).
    let id = acc.id.to_string();
    let aid = acc.id;
    let linked = srv
        .state
        .db
        .read(move |c| kefu::db::accounts::groups(c, aid))
        .await
        .unwrap();
    let group = linked[0].0.to_string();
    let form = |hours: &'static str| {
        vec![
            ("name", "测试公众号"),
            ("app_id", common::APPID),
            ("mode", "safe"),
            ("api_base", ""),
            ("window_hours", hours),
            ("quota_after_message", "20"),
            ("quota_after_event", "3"),
            ("event_window_secs", "60"),
            ("groups", group.as_str()),
        ]
    };
    let r = b
        .post_form(&format!("/admin/accounts/{id}"), &form("9999"))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("超出范围"));
    let mut f = form("48");
    f[3] = ("api_base", wx.url.as_str());
    let r = b.post_form(&format!("/admin/accounts/{id}"), &f).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let a = srv
        .state
        .db
        .read(move |c| kefu::db::accounts::get(c, acc.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.rules.quota_after_message, 20);
    srv.stop().await;
}

// ---- issue 13: fixes ----

/// Issue 13, bug 10: the simulated follower's photo is a real picture (not a
/// blank 16×16 square) and WeChat's face codes show as the emoji the console
/// shows (`/:strong` → 👍).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_sends_a_real_picture_and_shows_emoji() {
    let srv = TestServer::start().await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    let b = srv.login("boss").await;
    let r = b.post_form("/admin/simulator/account", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let acc = srv.state.db.read(kefu::db::accounts::list).await.unwrap()[0].clone();
    let a = acc.id.to_string();
    let r = b
        .post_form(
            "/admin/simulator/act",
            &[("account", &a), ("action", "subscribe")],
        )
        .await;
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let fid = location.rsplit('=').next().unwrap().to_string();
    for (action, text) in [("text", "收到了/:strong谢谢"), ("image", "")] {
        let r = b
            .post_form(
                "/admin/simulator/act",
                &[
                    ("account", &a),
                    ("follower", &fid),
                    ("action", action),
                    ("text", text),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{action}");
    }
    let fetcher = srv.state.wechat.fetcher(&srv.state.db, &srv.state.clock);
    fetcher.pass().await.unwrap();
    let media: i64 = srv
        .state
        .db
        .read(|c| -> kefu::db::DbResult<i64> {
            Ok(
                c.query_row("SELECT id FROM media WHERE state = 'stored'", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
        .unwrap();
    let r = b.get(&format!("/media/{media}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    let img = printpdf::RawImage::decode_from_bytes(&bytes, &mut Vec::new()).unwrap();
    assert!(
        img.width >= 100 && img.height >= 80,
        "a picture, not an icon: {}×{}",
        img.width,
        img.height
    );
    let printpdf::RawImageData::U8(px) = img.pixels else {
        panic!("8-bit pixels expected");
    };
    let step = px.len() / (img.width * img.height);
    let colours: std::collections::HashSet<&[u8]> = px.chunks(step).collect();
    assert!(colours.len() > 20, "only {} colours", colours.len());

    let (_, page) = b
        .text(&format!("/admin/simulator?account={a}&follower={fid}"))
        .await;
    assert!(
        page.contains("收到了<span class=\"emoji\" title=\"强\">👍</span>谢谢"),
        "the face shows as the console shows it: {page}"
    );
    assert!(!page.contains("/:strong"), "no raw code: {page}");
    srv.stop().await;
}

/// Issue 13, item 15: the binding card. Before any account there is nothing
/// to warn about; the card shows URL, Token and EncodingAESKey with 复制
/// buttons (the edit form stays blank); a failing 测试连接 says why and what
/// to do for the usual codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binding_card_shows_what_to_copy_and_how_to_fix_a_failed_test() {
    use kefu::wechat::fake::{Api, Failure};
    let wx = common::FakeServer::start().await;
    wx.fake
        .add_account(common::APPID, "the-real-secret-0123456789abcdef");
    let srv = TestServer::start().await; // no --base-url: http://127.0.0.1:…
    srv.user("boss", Role::SuperAdmin, &[]).await;
    let b = srv.login("boss").await;
    let (s, page) = b.text("/admin/accounts").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !page.contains("alert-error") && !page.contains("--base-url"),
        "no alarm before there is an account: {page}"
    );

    let acc = srv.account("safe", &wx.url).await; // its secret is wrong
    let (_, page) = b.text("/admin/accounts").await;
    assert!(
        page.contains("--base-url"),
        "now the address matters: {page}"
    );
    assert!(
        !page.contains("alert-error"),
        "a note, not an error: {page}"
    );
    assert!(
        page.contains(&format!("data-copy=\"{}/wechat/{}\"", srv.url, acc.id)),
        "the list has a 复制 button for the URL: {page}"
    );
    let (_, page) = b.text(&format!("/admin/accounts/{}", acc.id)).await;
    let url = format!("/wechat/{}", acc.id);
    let card = &page[page.find("服务器配置").unwrap()..page.find("修改设置").unwrap()];
    for value in [url.as_str(), common::WX_TOKEN, common::AES_KEY] {
        assert!(card.contains(value), "the card shows {value}: {card}");
    }
    assert!(card.contains(&format!("data-copy=\"{}", srv.url)) && card.contains(&url));
    assert!(card.contains(&format!("data-copy=\"{}\"", common::WX_TOKEN)));
    assert!(card.contains(&format!("data-copy=\"{}\"", common::AES_KEY)));
    assert!(!page.contains("填到右侧"), "the words match the layout");
    let form = &page[page.find("修改设置").unwrap()..];
    assert!(
        !form.contains(common::WX_TOKEN) && !form.contains(common::AES_KEY),
        "the edit form stays blank"
    );

    let token = b.csrf().await;
    let test = || {
        b.client
            .post(srv.at(&format!("/admin/accounts/{}/test", acc.id)))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", token.clone())
            .send()
    };
    // Four fetches: the token limiter allows four at once per account.
    for (code, reason, fix) in [
        (None, "AppSecret 错误", "核对 AppSecret"),
        (Some(40164), "IP 白名单", "添加本服务器的公网出口 IP"),
        (Some(40013), "AppID 无效", "以 wx 开头的 18 位"),
        (Some(41002), "缺少 AppID", "核对 AppID"),
    ] {
        if let Some(c) = code {
            wx.fake.fail_next(Api::Token, Failure::ErrCode(c), 1);
        }
        let text = test().await.unwrap().text().await.unwrap();
        assert!(
            text.contains("连接失败") && text.contains(reason),
            "{code:?}: {text}"
        );
        assert!(
            text.contains("解决办法：") && text.contains(fix),
            "{code:?}: {text}"
        );
    }
    srv.stop().await;
}
