//! HTTP scenarios for the trees agents pick from and the follow-up lists (B8,
//! B11, B12, D6, E3, E5, E6, E10, E14) and the console settings (B2–B8):
//! who may change which group's tree, validation that keeps what was typed,
//! and who sees which marks and tags.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Browser, TestServer};
use kefu::db::{followups, settings, taxonomy};
use kefu::model::{ConversationId, GroupId, Role, UserId};
use reqwest::StatusCode;

async fn page(b: &Browser, path: &str) -> String {
    let (status, body) = b.text(path).await;
    assert_eq!(status, StatusCode::OK, "GET {path}");
    body
}

/// A workbook download's first sheet, as text cells.
async fn sheet(b: &Browser, path: &str, name: &str) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx};
    let r = b.get(path).await;
    assert_eq!(r.status(), StatusCode::OK, "GET {path}");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let bytes = r.bytes().await.unwrap();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    let range = book.worksheet_range(name).expect("sheet");
    range
        .rows()
        .map(|row| row.iter().map(|c| c.to_string()).collect())
        .collect()
}

async fn post(b: &Browser, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let resp = b.post_form(path, form).await;
    (resp.status(), resp.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_manages_the_trees_of_their_own_groups_only() {
    let srv = TestServer::start().await;
    let g = srv.group("售前", "pre").await;
    let h = srv.group("售后", "post").await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    srv.user("lead", Role::Admin, &[g]).await;
    let lead = srv.login("lead").await;
    let (gs, hs) = (g.to_string(), h.to_string());

    // A category, a child of it, and a knowledge-base entry in the own group.
    let (status, _) = post(
        &lead,
        "/admin/taxonomy/categories",
        &[("group", &gs), ("name", "价格咨询")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let parent = srv
        .state
        .db
        .read(move |c| taxonomy::categories(c, g))
        .await
        .unwrap()[0]
        .id
        .to_string();
    let (status, _) = post(
        &lead,
        "/admin/taxonomy/categories",
        &[("group", &gs), ("parent", &parent), ("name", "优惠活动")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = post(
        &lead,
        "/admin/taxonomy/kb",
        &[
            ("group", &gs),
            ("folder", "常用语"),
            ("title", "问候"),
            ("body", "您好,请问有什么可以帮您?"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let body = page(&lead, "/admin/taxonomy").await;
    for s in ["价格咨询", "优惠活动", "常用语", "您好,请问有什么可以帮您?"] {
        assert!(body.contains(s), "the page shows {s}");
    }
    let tree = srv
        .state
        .db
        .read(move |c| taxonomy::categories(c, g))
        .await
        .unwrap();
    assert_eq!((tree[1].name.as_str(), tree[1].depth), ("优惠活动", 1));
    let found = srv
        .state
        .db
        .read(move |c| taxonomy::kb(c, &[g], "帮您"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);

    // A refused name comes back with the message and what was typed.
    let long = "很".repeat(33);
    let (status, body) = post(
        &lead,
        "/admin/taxonomy/categories",
        &[("group", &gs), ("name", &long)],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("分类名称不能超过 32 个字"));
    assert!(body.contains(&long), "the typed name is kept");
    let (status, body) = post(
        &lead,
        "/admin/taxonomy/kb",
        &[("group", &gs), ("title", "告别"), ("body", " ")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("请填写回复内容") && body.contains("value=\"告别\""));

    // Another group's tree: neither shown nor changed.
    let other = srv
        .state
        .db
        .write(move |c| taxonomy::add_category(c, h, None, "退货"))
        .await
        .unwrap()
        .unwrap();
    let entry = srv
        .state
        .db
        .write(move |c| {
            taxonomy::add_kb(c, h, "", "退货地址", "上海市", jiff::Timestamp::UNIX_EPOCH)
        })
        .await
        .unwrap();
    let (status, _) = lead.text(&format!("/admin/taxonomy?group={hs}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (path, form) in [
        (
            "/admin/taxonomy/categories".to_string(),
            vec![("group", hs.as_str()), ("name", "越权")],
        ),
        (
            format!("/admin/taxonomy/categories/{other}"),
            vec![("name", "越权")],
        ),
        (format!("/admin/taxonomy/categories/{other}/delete"), vec![]),
        (
            format!("/admin/taxonomy/kb/{entry}"),
            vec![("title", "越权"), ("body", "x")],
        ),
        (format!("/admin/taxonomy/kb/{entry}/delete"), vec![]),
    ] {
        let (status, _) = post(&lead, &path, &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "POST {path}");
    }
    let (status, _) = lead.text(&format!("/admin/taxonomy/kb/{entry}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let kept = srv
        .state
        .db
        .read(move |c| taxonomy::categories(c, h))
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].name, "退货");

    // Tags: an admin adds, only the super admin renames.
    let (status, _) = post(&lead, "/admin/taxonomy/tags", &[("name", "投诉")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let tag = srv.state.db.read(taxonomy::tags).await.unwrap()[0].id;
    let (status, _) = post(
        &lead,
        &format!("/admin/taxonomy/tags/{tag}"),
        &[("name", "差评")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let boss = srv.login("boss").await;
    let (status, _) = post(
        &boss,
        &format!("/admin/taxonomy/tags/{tag}"),
        &[("name", "差评")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page(&boss, "/admin/taxonomy").await.contains("差评"));
    // The super admin sees every group.
    assert!(
        page(&boss, &format!("/admin/taxonomy?group={hs}"))
            .await
            .contains("退货地址")
    );
    assert!(page(&boss, "/admin/audit").await.contains("添加咨询分类"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_settings_and_the_account_trigger_are_checked_and_saved() {
    let srv = TestServer::start().await;
    let g = srv.group("售前", "pre").await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    let boss = srv.login("boss").await;
    let path = format!("/admin/groups/{g}/settings");
    let mut form = vec![
        ("strategy", "least_busy"),
        ("familiar_days", "14"),
        ("require_category", "on"),
        ("transfer_timeout_secs", "5"),
        ("queue_expiry_hours", "48"),
        ("comfort_every_mins", "5"),
    ];
    let (status, body) = post(&boss, &path, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("转接等待秒数须为 10–600 之间的整数"),
        "{body}"
    );
    assert!(body.contains("value=\"48\""), "typed values are kept");
    let saved = srv
        .state
        .db
        .read(move |c| settings::group(c, g))
        .await
        .unwrap();
    assert_eq!(saved, settings::GroupSettings::default(), "nothing saved");

    form[3] = ("transfer_timeout_secs", "120");
    let (status, _) = post(&boss, &path, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let saved = srv
        .state
        .db
        .read(move |c| settings::group(c, g))
        .await
        .unwrap();
    assert_eq!(
        (
            saved.strategy,
            saved.familiar_days,
            saved.require_category,
            saved.agents_see_queue,
            saved.transfer_timeout_secs,
            saved.queue_expiry_hours
        ),
        (
            kefu::model::RoutingStrategy::LeastBusy,
            14,
            true,
            false,
            120,
            48
        )
    );
    let body = page(&boss, &format!("/admin/groups/{g}")).await;
    assert!(body.contains("接待设置") && body.contains("value=\"120\""));

    // 会话触发方式
    let account = srv.account("safe", "http://127.0.0.1:9").await;
    let path = format!("/admin/accounts/{}/trigger", account.id);
    let (status, body) = post(&boss, &path, &[("trigger_mode", "menu"), ("menu_key", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("请填写菜单 KEY"));
    let (status, _) = post(
        &boss,
        &path,
        &[
            ("trigger_mode", "keywords"),
            ("keywords", "退款,人工\n售后"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = account.id;
    let saved = srv
        .state
        .db
        .read(move |c| settings::account(c, id))
        .await
        .unwrap();
    assert_eq!(
        (saved.trigger_mode.as_str(), saved.keywords.as_str()),
        ("keywords", "退款,人工,售后")
    );
    let body = page(&boss, &format!("/admin/accounts/{id}")).await;
    assert!(body.contains("退款,人工,售后"));
    assert!(body.contains("value=\"keywords\" checked"));
    srv.stop().await;
}

/// A conversation of a new follower (with this remark) in `group`, held by `agent`.
async fn conversation(
    srv: &TestServer,
    account: kefu::model::AccountId,
    openid: &'static str,
    remark: &'static str,
    group: GroupId,
) -> (ConversationId, kefu::model::FollowerId) {
    let now = srv.state.clock.now();
    srv.state
        .db
        .write(move |c| -> kefu::db::DbResult<_> {
            let f = kefu::db::followers::upsert(c, account, openid, now)?;
            kefu::db::followers::set_remark(c, f, remark)?;
            let conv = kefu::db::conversations::open(c, account, f, group, now)?.expect("opened");
            Ok((conv, f))
        })
        .await
        .unwrap()
}

async fn mark(srv: &TestServer, conv: ConversationId, agent: UserId, note: &'static str) -> i64 {
    let now = srv.state.clock.now();
    srv.state
        .db
        .write(move |c| followups::add_mark(c, conv, Some(agent), note, now))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_see_and_handle_only_their_own_marks_and_tags() {
    let srv = TestServer::start().await;
    let g = srv.group("售前", "pre").await;
    let h = srv.group("售后", "post").await;
    let amy = srv.user("amy", Role::Agent, &[g]).await;
    let bob = srv.user("bob", Role::Agent, &[h]).await;
    srv.user("lead", Role::Admin, &[g]).await;
    let account = srv.account("safe", "http://127.0.0.1:9").await.id;
    let (c1, f1) = conversation(&srv, account, "oFollowerA1", "张三", g).await;
    let (c2, _) = conversation(&srv, account, "oFollowerB2", "李四", h).await;
    let amys = mark(&srv, c1, amy, "明天回电话").await;
    let bobs = mark(&srv, c2, bob, "寄送样品").await;

    let a = srv.login("amy").await;
    let body = page(&a, "/console/marks").await;
    assert!(body.contains("张三") && body.contains("明天回电话"));
    assert!(
        body.contains(&format!("/console?follower={f1}")),
        "重新接入 link"
    );
    assert!(!body.contains("李四") && !body.contains("寄送样品"));
    let (status, _) = post(&a, &format!("/console/marks/{bobs}/handle"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another agent's mark");
    let (status, _) = post(&a, &format!("/console/marks/{bobs}/delete"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = post(&a, &format!("/console/marks/{amys}/handle"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        !page(&a, "/console/marks").await.contains("明天回电话"),
        "未处理 only"
    );
    let handled = page(&a, "/console/marks?state=handled").await;
    assert!(handled.contains("明天回电话") && handled.contains("已处理"));

    // The admin of 售前 sees the group's marks, not 售后's — on the page and
    // in the workbook of the same list.
    let lead = srv.login("lead").await;
    let body = page(&lead, "/console/marks?state=all").await;
    assert!(body.contains("张三") && !body.contains("李四"));
    let rows = sheet(&lead, "/console/marks?state=all&format=xlsx", "标注列表").await;
    assert_eq!(rows[0][..3], ["客户", "标注客服", "备注"]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][0..3], ["张三", "amy显示名", "明天回电话"]);

    // Tags: the agent's own taggings; a filter by tag.
    let now = srv.state.clock.now();
    srv.state
        .db
        .write(move |c| -> kefu::db::DbResult<()> {
            let t = taxonomy::add_tag(c, None, "投诉")?.expect("tag");
            let p = taxonomy::add_tag(c, None, "表扬")?.expect("tag");
            followups::add_tagging(c, t, c1, None, "回复太慢", Some(amy), now)?;
            followups::add_tagging(c, p, c2, None, "态度好", Some(bob), now)?;
            Ok(())
        })
        .await
        .unwrap();
    let body = page(&a, "/console/tagged").await;
    assert!(body.contains("回复太慢") && !body.contains("态度好"));
    assert!(body.contains("共 1 条"));
    let boss_tags = srv.state.db.read(taxonomy::tags).await.unwrap();
    srv.user("boss", Role::SuperAdmin, &[]).await;
    let boss = srv.login("boss").await;
    let body = page(&boss, "/console/tagged").await;
    assert!(body.contains("回复太慢") && body.contains("态度好"));
    let praise = boss_tags.iter().find(|t| t.name == "表扬").unwrap().id;
    let body = page(
        &boss,
        &format!("/console/tagged?tag={praise}&from=2026-11-01&to=2026-11-30"),
    )
    .await;
    assert!(body.contains("态度好") && !body.contains("回复太慢"));
    let body = page(&boss, "/console/tagged?from=2026-12-01").await;
    assert!(body.contains("共 0 条"));
    // 导出 Excel: every matching row of the same filters.
    let rows = sheet(
        &boss,
        &format!("/console/tagged?tag={praise}&format=xlsx"),
        "会话标签",
    )
    .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][0], "表扬");
    assert_eq!(rows[1][3], "态度好");
    let rows = sheet(&a, "/console/tagged?format=xlsx", "会话标签").await;
    assert_eq!(rows.len(), 2, "amy's own tagging only: {rows:?}");
    assert_eq!(rows[1][3], "回复太慢");
    srv.stop().await;
}
