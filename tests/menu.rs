//! Custom menu (A12): the draft is edited in a plain form, published with
//! menu/create and read back with menu/get against the fake WeChat; bad menus
//! are refused with a Chinese reason before WeChat sees them; a refused call is
//! explained and the draft kept; click replies are what the webhook answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{APPID, Browser, FakeServer, SECRET, TestServer};
use kefu::model::Role;
use kefu::wechat::fake::{Api, Failure};
use reqwest::StatusCode;
use serde_json::json;

/// Two buttons: a click with a reply, and a parent of a link and a click.
fn two_buttons(account: &str) -> Vec<(&'static str, String)> {
    [
        ("account", account),
        ("b0_name", "人工客服"),
        ("b0_type", "click"),
        ("b0_key", "KEFU"),
        ("b0_reply", ""),
        ("b1_name", "更多"),
        ("b1_type", "parent"),
        ("b1_s0_name", "官网"),
        ("b1_s0_type", "view"),
        ("b1_s0_url", "https://example.com/shop"),
        ("b1_s1_name", "营业时间"),
        ("b1_s1_type", "click"),
        ("b1_s1_key", "HOURS"),
        ("b1_s1_reply", "每天 9:00-18:00 营业"),
        // The page's third, untouched slot.
        ("b2_name", ""),
        ("b2_type", "click"),
        ("b2_s0_name", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect()
}

fn expected_json() -> serde_json::Value {
    json!({"button": [
        {"type": "click", "name": "人工客服", "key": "KEFU"},
        {"name": "更多", "sub_button": [
            {"type": "view", "name": "官网", "url": "https://example.com/shop"},
            {"type": "click", "name": "营业时间", "key": "HOURS"},
        ]},
    ]})
}

async fn post(b: &Browser, path: &str, fields: &[(&str, String)]) -> (StatusCode, String) {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post_form(path, &fields).await;
    (r.status(), r.text().await.unwrap_or_default())
}

async fn world() -> (FakeServer, TestServer, kefu::db::accounts::Account, Browser) {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    let acc = srv.account("safe", &wx.url).await;
    let b = srv.login("boss").await;
    (wx, srv, acc, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_is_published_read_back_and_loaded() {
    let (wx, srv, acc, b) = world().await;
    let id = acc.id.to_string();

    let (status, _) = post(&b, "/admin/menu", &two_buttons(&id)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "draft saved");
    assert_eq!(wx.fake.menu(APPID), None, "a draft is not published");
    let (_, page) = b.text(&format!("/admin/menu?account={id}")).await;
    assert!(page.contains("草稿已保存") && page.contains("value=\"营业时间\""));
    assert!(
        page.contains("每天 9:00-18:00 营业"),
        "reply shown with its key"
    );
    assert!(page.contains("尚未从 kefu 发布过菜单"));

    let (status, _) = post(&b, "/admin/menu/publish", &two_buttons(&id)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "published");
    assert_eq!(wx.fake.menu(APPID), Some(expected_json()));
    let (_, page) = b.text(&format!("/admin/menu?account={id}")).await;
    assert!(page.contains("菜单已发布到微信") && page.contains("上次发布："));

    // The webhook's answer to a click.
    let reply = srv
        .state
        .db
        .read(move |c| kefu::db::menu::click_reply(c, acc.id, "HOURS"))
        .await
        .unwrap();
    assert_eq!(reply.as_deref(), Some("每天 9:00-18:00 营业"));
    let none = srv
        .state
        .db
        .read(move |c| kefu::db::menu::click_reply(c, acc.id, "KEFU"))
        .await
        .unwrap();
    assert_eq!(none, None, "a blank reply is no reply");

    // 从微信读取 shows what is online.
    let (status, page) = b.text(&format!("/admin/menu/online?account={id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("微信上的菜单"), "{page}");
    assert!(page.contains("官网 · 链接 https://example.com/shop"));
    assert!(page.contains("营业时间 · 点击，KEY HOURS"));
    assert!(page.contains("载入草稿"));

    // Change the draft, then load the online menu back into it.
    let mut other = two_buttons(&id);
    other[1].1 = "找客服".into();
    let (status, _) = post(&b, "/admin/menu", &other).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let draft = srv
        .state
        .db
        .read(move |c| kefu::db::menu::load(c, acc.id))
        .await
        .unwrap();
    assert_eq!(draft.draft.buttons[0].name, "找客服");
    let (status, _) = post(&b, "/admin/menu/load", &[("account", id.clone())]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let draft = srv
        .state
        .db
        .read(move |c| kefu::db::menu::load(c, acc.id))
        .await
        .unwrap();
    assert_eq!(draft.draft.to_wechat(), expected_json());
    assert_eq!(
        wx.fake.menu(APPID),
        Some(expected_json()),
        "loading changes nothing online"
    );

    let (_, log) = b.text("/admin/audit").await;
    for label in ["保存自定义菜单草稿", "发布自定义菜单", "载入线上自定义菜单"]
    {
        assert!(log.contains(label), "audited: {label}");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_menus_are_refused_with_the_reason_and_nothing_is_published() {
    let (wx, srv, acc, b) = world().await;
    let id = acc.id.to_string();
    let with = |extra: &[(&'static str, &str)]| {
        let mut f = two_buttons(&id);
        for (k, v) in extra {
            match f.iter_mut().find(|(name, _)| name == k) {
                Some(slot) => slot.1 = v.to_string(),
                None => f.push((k, v.to_string())),
            }
        }
        f
    };
    let cases = [
        (
            "four top buttons",
            with(&[
                ("b2_name", "三"),
                ("b2_key", "K3"),
                ("b3_name", "四"),
                ("b3_type", "click"),
                ("b3_key", "K4"),
            ]),
            "一级菜单最多 3 个",
        ),
        (
            "six sub-buttons",
            with(&[
                ("b1_s2_name", "三"),
                ("b1_s2_key", "S3"),
                ("b1_s3_name", "四"),
                ("b1_s3_key", "S4"),
                ("b1_s4_name", "五"),
                ("b1_s4_key", "S5"),
                ("b1_s5_name", "六"),
                ("b1_s5_key", "S6"),
            ]),
            "子菜单最多 5 个",
        ),
        (
            "empty name",
            with(&[("b0_name", "")]),
            "第 1 个一级菜单缺少名称",
        ),
        (
            "name too long",
            with(&[("b0_name", "联系人工客服")]),
            "最多 16 个字节",
        ),
        (
            "bad URL",
            with(&[("b1_s0_url", "example.com/shop")]),
            "须以 http:// 或 https:// 开头",
        ),
        (
            "duplicate key",
            with(&[("b1_s1_key", "KEFU")]),
            "KEY「KEFU」用在了多个按钮上",
        ),
        (
            "empty menu",
            vec![("account", id.clone()), ("b0_name", String::new())],
            "菜单是空的",
        ),
    ];
    for (what, form, reason) in cases {
        let (status, page) = post(&b, "/admin/menu/publish", &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        assert!(page.contains(reason), "{what}: expected {reason}");
        assert_eq!(wx.fake.menu(APPID), None, "{what}: nothing published");
    }
    // Saving the draft applies the same rules, and keeps what was typed.
    let (status, page) = post(&b, "/admin/menu", &with(&[("b1_s1_key", "KEFU")])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("value=\"营业时间\""),
        "the form keeps its input"
    );
    let draft = srv
        .state
        .db
        .read(move |c| kefu::db::menu::load(c, acc.id))
        .await
        .unwrap();
    assert!(draft.draft.is_empty(), "nothing saved");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_publication_is_explained_and_the_draft_kept() {
    let (wx, srv, acc, b) = world().await;
    let id = acc.id.to_string();
    wx.fake.fail_next(Api::Menu, Failure::ErrCode(48001), 1);
    let (status, page) = post(&b, "/admin/menu/publish", &two_buttons(&id)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(
        page.contains("发布失败：公众号没有该接口的权限"),
        "explained in Chinese"
    );
    assert!(page.contains("草稿已保存") && page.contains("value=\"营业时间\""));
    assert_eq!(wx.fake.menu(APPID), None);
    let draft = srv
        .state
        .db
        .read(move |c| kefu::db::menu::load(c, acc.id))
        .await
        .unwrap();
    assert_eq!(draft.draft.to_wechat(), expected_json(), "draft kept");
    assert_eq!(draft.published_at, None);

    // 从微信读取 explains a failure too, and an account without a menu.
    wx.fake.fail_next(Api::Menu, Failure::ErrCode(40164), 1);
    let (status, page) = b.text(&format!("/admin/menu/online?account={id}")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(page.contains("读取失败：本服务器的 IP 不在公众号的 IP 白名单中"));
    let (status, page) = b.text(&format!("/admin/menu/online?account={id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("该公众号在微信上还没有自定义菜单"));
    let (status, page) = post(&b, "/admin/menu/load", &[("account", id.clone())]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("草稿未改动"));

    // Once WeChat accepts, the same draft goes online.
    let (status, _) = post(&b, "/admin/menu/publish", &two_buttons(&id)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(wx.fake.menu(APPID), Some(expected_json()));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trigger_key_is_pointed_out_and_only_super_admins_may_edit() {
    let (wx, srv, acc, b) = world().await;
    let id = acc.id.to_string();
    let g = srv.group("售前", "pre").await;
    srv.user("lead", Role::Admin, &[g]).await;

    let (_, page) = b.text("/admin/menu").await;
    assert!(
        page.contains("测试公众号 的自定义菜单"),
        "first account by default"
    );
    assert!(page.contains("会话触发方式不是「菜单点击」"));

    let settings = kefu::db::settings::AccountSettings {
        trigger_mode: kefu::model::TriggerMode::MenuKey,
        keywords: String::new(),
        menu_key: "KEFU".into(),
    };
    srv.state
        .db
        .write(move |c| kefu::db::settings::set_account(c, acc.id, &settings))
        .await
        .unwrap();
    let (_, page) = b.text(&format!("/admin/menu?account={id}")).await;
    assert!(page.contains("菜单中没有 KEY 为 <code>KEFU</code> 的点击按钮"));
    post(&b, "/admin/menu", &two_buttons(&id)).await;
    let (_, page) = b.text(&format!("/admin/menu?account={id}")).await;
    assert!(page.contains("点击该按钮将转人工"));
    assert!(!page.contains("菜单中没有 KEY"));

    let lead = srv.login("lead").await;
    let (status, _) = lead.text(&format!("/admin/menu?account={id}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post(&lead, "/admin/menu/publish", &two_buttons(&id)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(wx.fake.menu(APPID), None);
    let (_, nav) = lead.text("/admin/users").await;
    assert!(!nav.contains("href=\"/admin/menu\""), "no link for admins");
    let (_, nav) = b.text("/admin/users").await;
    assert!(nav.contains("href=\"/admin/menu\""), "linked under 设置");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_account_the_page_says_what_to_do_first() {
    let srv = TestServer::start().await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    let b = srv.login("boss").await;
    let (status, page) = b.text("/admin/menu").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("还没有公众号"));
    let (status, _) = b.text("/admin/menu?account=999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    srv.stop().await;
}
