//! Followers (A10, E13): created on first contact with their profile fetched
//! after the answer; 同步粉丝 pages through user/get and batchget while the
//! server works; the page searches by OpenID, remark, tag and subscription.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{APPID, FakeServer, SECRET, TestServer, fixture};
use kefu::model::Role;
use reqwest::StatusCode;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_pages_through_all_followers_and_the_page_finds_them() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    wx.fake.set_page_size(100);
    for i in 0..250 {
        let tags: &[i64] = if i % 10 == 0 { &[101] } else { &[] };
        let remark = if i == 7 { "老客户王先生" } else { "" };
        wx.fake
            .add_follower(APPID, &format!("oSync{i:04}"), remark, tags);
    }
    let srv = TestServer::start().await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    let acc = srv.account("safe", &wx.url).await;
    let b = srv.login("boss").await;

    let r = b
        .post_form("/admin/followers/sync", &[("account", &acc.id.to_string())])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let mut progress = String::new();
    for _ in 0..100 {
        let (_, p) = b.text("/admin/followers/progress").await;
        progress = p;
        if progress.contains("同步完成") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(progress.contains("同步完成，共 250 位粉丝"), "{progress}");

    let (_, page) = b
        .text("/admin/followers?q=%E7%8E%8B%E5%85%88%E7%94%9F")
        .await;
    assert!(
        page.contains("老客户王先生") && page.contains("oSync0007"),
        "remark from WeChat is searchable"
    );
    let (_, page) = b.text("/admin/followers?tag=101").await;
    assert!(page.contains("共 25 位粉丝"), "tag filter");
    let (_, page) = b.text("/admin/followers?page=3").await;
    assert!(
        page.contains("共 250 位粉丝") && page.contains("class=\"active\">3</a>"),
        "paged 50 a page"
    );

    // A remark set in kefu wins over WeChat's, and is audited.
    let f = srv
        .state
        .db
        .read(move |c| kefu::db::followers::by_openid(c, acc.id, "oSync0042"))
        .await
        .unwrap()
        .unwrap();
    let r = b
        .post_form(
            &format!("/admin/followers/{}/remark", f.id),
            &[("remark", "退货中")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = b.text("/admin/followers?q=%E9%80%80%E8%B4%A7").await;
    assert!(page.contains("oSync0042"));
    let (_, log) = b.text("/admin/audit?action=follower_remark").await;
    assert!(log.contains("oSync0042"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_follower_gets_a_stable_label_and_a_profile_after_the_answer() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    wx.fake
        .add_follower(APPID, "oWx9Z5kD4mQ1sT7uV2yA3bC6eF8g", "张女士", &[7]);
    let srv = TestServer::start().await;
    let acc = srv.account("safe", &wx.url).await;
    assert_eq!(
        srv.push(&acc, "safe", &fixture("text.xml")).await.status(),
        StatusCode::OK
    );
    let get = || {
        let db = srv.state.db.clone();
        async move {
            db.read(move |c| {
                kefu::db::followers::by_openid(c, acc.id, "oWx9Z5kD4mQ1sT7uV2yA3bC6eF8g")
            })
            .await
            .unwrap()
            .unwrap()
        }
    };
    assert_eq!(get().await.label(), "访客eF8g", "until a remark exists");
    srv.state
        .wechat
        .fetcher(&srv.state.db, &srv.state.clock)
        .pass()
        .await
        .unwrap();
    let f = get().await;
    assert_eq!(f.label(), "张女士");
    assert_eq!(f.tags, vec![7]);
    srv.stop().await;
}
