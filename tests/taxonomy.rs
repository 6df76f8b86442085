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

/// A workbook download's sheet as calamine's typed cells.
async fn cells(b: &Browser, path: &str, name: &str) -> Vec<Vec<calamine::Data>> {
    use calamine::{Reader, Xlsx};
    let r = b.get(path).await;
    assert_eq!(r.status(), StatusCode::OK, "GET {path}");
    let bytes = r.bytes().await.unwrap();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    let range = book.worksheet_range(name).expect("sheet");
    range.rows().map(|row| row.to_vec()).collect()
}

/// The Excel serial number of a local date-time (days since 1899-12-30).
fn excel_serial(local: &str) -> f64 {
    let t: jiff::civil::DateTime = local.parse().unwrap();
    let days = jiff::civil::date(1899, 12, 30)
        .until(t.date())
        .unwrap()
        .get_days();
    let secs = i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second());
    f64::from(days) + secs as f64 / 86_400.0
}

/// A PDF download's text as `pdftotext` reads it (spaces dropped: it puts
/// some between ideographs), with its `Content-Disposition`; with `shot`, its
/// first page is also rendered to `target/screenshots/{shot}.png` to look at.
async fn pdf_text(b: &Browser, path: &str, shot: Option<&str>) -> (String, String) {
    let r = b.get(path).await;
    assert_eq!(r.status(), StatusCode::OK, "GET {path}");
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF"), "a PDF");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("list.pdf");
    std::fs::write(&file, &bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8", file.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is needed");
    assert!(out.status.success(), "{out:?}");
    if let Some(name) = shot {
        let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        let png = std::process::Command::new("pdftoppm")
            .args(["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"])
            .arg(&file)
            .arg(shots.join(name))
            .output()
            .expect("pdftoppm (poppler-utils) is needed");
        assert!(png.status.success(), "{png:?}");
    }
    let text = String::from_utf8_lossy(&out.stdout).replace(' ', "");
    (text, disposition)
}

/// `needles` appear in `hay` in this order.
fn in_order(hay: &str, needles: &[&str]) {
    let mut at = 0;
    for n in needles {
        let n = n.replace(' ', "");
        match hay[at..].find(&n) {
            Some(i) => at += i + n.len(),
            None => panic!("{n:?} missing or out of order after byte {at} in:\n{hay}"),
        }
    }
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
    // The knowledge base moved to its own page (issue 12; tests/kb.rs).
    let (status, _) = post(
        &lead,
        "/admin/kb/nodes",
        &[
            ("group", &gs),
            ("kind", "text"),
            ("title", "问候"),
            ("body", "您好,请问有什么可以帮您?"),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let body = page(&lead, "/admin/taxonomy").await;
    for s in ["价格咨询", "优惠活动", "href=\"/admin/kb\""] {
        assert!(body.contains(s), "the page shows {s}");
    }
    assert!(
        page(&lead, "/admin/kb")
            .await
            .contains("您好,请问有什么可以帮您?")
    );
    let tree = srv
        .state
        .db
        .read(move |c| taxonomy::categories(c, g))
        .await
        .unwrap();
    assert_eq!((tree[1].name.as_str(), tree[1].depth), ("优惠活动", 1));

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
            format!("/admin/kb/nodes/{entry}"),
            vec![("title", "越权"), ("body", "x")],
        ),
        (format!("/admin/kb/nodes/{entry}/delete"), vec![]),
    ] {
        let (status, _) = post(&lead, &path, &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "POST {path}");
    }
    let (status, _) = lead.text(&format!("/admin/kb/nodes/{entry}")).await;
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
            .contains("退货")
    );
    assert!(page(&boss, "/admin/kb").await.contains("退货地址"));
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
        body.contains("「转接请求等待对方接受（秒）」须为 10–600 之间的整数"),
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
    assert_eq!(saved.sla_secs, 60, "no SLA field: the default");

    // 首次响应达标秒数 for the SLA of 服务水平 is 10–3600 seconds, per group.
    form.push(("sla_secs", "5"));
    let (status, body) = post(&boss, &path, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("「首次回复多快算达标（秒）」须为 10–3600 之间的整数"),
        "{body}"
    );
    form.pop();
    form.push(("sla_secs", "30"));
    let (status, _) = post(&boss, &path, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let saved = srv
        .state
        .db
        .read(move |c| settings::group(c, g))
        .await
        .unwrap();
    assert_eq!((saved.sla_secs, saved.transfer_timeout_secs), (30, 120));
    let body = page(&boss, &format!("/admin/groups/{g}")).await;
    assert!(body.contains("name=\"sla_secs\"") && body.contains("value=\"30\""));

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

/// 导出 PDF of both lists (E10, B11/E14): the list's filters, its rows in
/// order, only what the viewer may see; and the workbooks' times are real
/// Excel date-times in the configured time zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_lists_export_as_pdf_and_workbooks_with_real_dates() {
    let srv = TestServer::start().await;
    let g = srv.group("售前", "pre").await;
    let h = srv.group("售后", "post").await;
    let amy = srv.user("amy", Role::Agent, &[g]).await;
    let bob = srv.user("bob", Role::Agent, &[h]).await;
    srv.user("lead", Role::Admin, &[g]).await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    let account = srv.account("safe", "http://127.0.0.1:9").await.id;
    let (c1, _) = conversation(&srv, account, "oFollowerA1", "张三", g).await;
    let (c2, _) = conversation(&srv, account, "oFollowerB2", "李四", h).await;
    let (c3, _) = conversation(&srv, account, "oFollowerC3", "王五", g).await;
    // 2026-11-20 10:00 in Asia/Shanghai, then a minute apart.
    let minute = || srv.state.clock.advance(jiff::SignedDuration::from_mins(1));
    mark(&srv, c1, amy, "明天回电话，确认退款").await;
    minute();
    mark(&srv, c2, bob, "寄送样品").await;
    minute();
    mark(&srv, c3, amy, "等待客户发票").await;
    let now: jiff::Timestamp = "2026-11-20T03:00:00Z".parse().unwrap(); // 11:00 in Shanghai
    let praise = srv
        .state
        .db
        .write(move |c| -> kefu::db::DbResult<i64> {
            let t = taxonomy::add_tag(c, None, "投诉")?.expect("tag");
            let p = taxonomy::add_tag(c, None, "表扬")?.expect("tag");
            followups::add_tagging(c, t, c1, None, "回复太慢", Some(amy), now)?;
            let later = now + jiff::SignedDuration::from_mins(5);
            followups::add_tagging(c, p, c2, None, "态度好", Some(bob), later)?;
            let last = now + jiff::SignedDuration::from_mins(10);
            followups::add_tagging(c, p, c3, None, "耐心细致", Some(amy), last)?;
            Ok(p)
        })
        .await
        .unwrap();

    // The 标注 list of the admin of 售前 is newest first, without the mark of 售后
    let lead = srv.login("lead").await;
    let body = page(&lead, "/console/marks?state=all").await;
    assert!(body.contains("/console/marks?state=all&amp;format=pdf") && body.contains("导出 PDF"));
    let (text, cd) = pdf_text(
        &lead,
        "/console/marks?state=all&format=pdf",
        Some("marks-list"),
    )
    .await;
    assert!(cd.contains("filename*=UTF-8''%E6%A0%87%E6%B3%A8"), "{cd}");
    assert!(cd.ends_with(".pdf"), "{cd}");
    in_order(
        &text,
        &[
            "标注列表",
            "筛选条件：状态 全部",
            "条数：2 条",
            "导出人：lead显示名（lead）",
            "1．2026-11-20 10:02:00",
            "王五",
            "等待客户发票",
            "2．2026-11-20 10:00:00",
            "张三",
            "明天回电话，确认退款",
            "第 1 页 / 共 1 页",
        ],
    );
    assert!(
        !text.contains("李四") && !text.contains("寄送样品"),
        "{text}"
    );

    // 会话标签 list with a tag filter (super admin: every group), and the
    // same list for the admin of 售前 (bob's tagging in 售后 absent).
    let boss = srv.login("boss").await;
    let body = page(&boss, &format!("/console/tagged?tag={praise}")).await;
    let link = format!("/console/tagged?tag={praise}&#38;from=&#38;to=&#38;agent=&#38;format=pdf");
    assert!(body.contains(&link) && body.contains("导出 PDF"), "{body}");
    let (text, _) = pdf_text(
        &boss,
        &format!("/console/tagged?tag={praise}&format=pdf"),
        Some("tagged-list"),
    )
    .await;
    in_order(
        &text,
        &[
            "会话标签列表",
            "筛选条件：标签 表扬",
            "条数：2 条",
            "1．2026-11-20 11:10:00",
            "表扬",
            "王五",
            "amy显示名",
            "备注：耐心细致",
            "2．2026-11-20 11:05:00",
            "李四",
            "bob显示名",
            "备注：态度好",
        ],
    );
    assert!(!text.contains("回复太慢"), "filtered by tag: {text}");
    let (text, _) = pdf_text(
        &lead,
        "/console/tagged?from=2026-11-20&to=2026-11-20&format=pdf",
        None,
    )
    .await;
    in_order(
        &text,
        &[
            "筛选条件：开始日期 2026-11-20；结束日期 2026-11-20",
            "条数：2 条",
            "耐心细致",
            "回复太慢",
        ],
    );
    assert!(!text.contains("李四") && !text.contains("态度好"), "{text}");
    let (text, _) = pdf_text(&lead, "/console/tagged?from=2026-12-01&format=pdf", None).await;
    assert!(text.contains("没有符合条件的记录。"), "{text}");
    let r = lead.get("/console/tagged?from=2026-13-01&format=pdf").await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "a wrong date is refused, not ignored"
    );
    assert!(r.text().await.unwrap().contains("日期格式应为 2026-01-31"));

    // Every export is in the audit log, PDF and workbook alike.
    let exports = srv
        .state
        .db
        .read(|c| {
            kefu::db::audit::list(
                c,
                &kefu::db::audit::AuditFilter {
                    action: Some(kefu::model::AuditAction::ReportExport),
                    actors: kefu::db::audit::Actors::All,
                    ..Default::default()
                },
            )
        })
        .await
        .unwrap();
    let zh = |t: &str| kefu::i18n::shown_in(kefu::i18n::Lang::Zh, t).into_owned();
    let en = |t: &str| kefu::i18n::shown_in(kefu::i18n::Lang::En, t).into_owned();
    let drawn: Vec<(String, String, String)> = exports
        .iter()
        .map(|r| (r.actor_name.clone(), zh(&r.target), en(&r.target)))
        .collect();
    let pdfs: Vec<_> = drawn
        .iter()
        .filter(|r| r.1.ends_with("PDF"))
        .map(|r| (r.0.as_str(), r.1.as_str()))
        .collect();
    // An English admin reads the same rows in English.
    assert!(
        drawn.iter().any(|r| r.2 == "Marks (2 rows), PDF"),
        "{drawn:?}"
    );
    assert_eq!(pdfs.len(), 4, "{pdfs:?}");
    assert!(
        pdfs.contains(&("lead", "标注列表（2 条），PDF")),
        "{pdfs:?}"
    );
    assert!(
        pdfs.contains(&("boss", "会话标签列表（2 条），PDF")),
        "{pdfs:?}"
    );

    // The workbooks: times are date-times in Asia/Shanghai, not text.
    use calamine::{Data, DataType};
    let rows = cells(&lead, "/console/marks?state=all&format=xlsx", "标注列表").await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    let Data::DateTime(at) = &rows[1][3] else {
        panic!("标注时间 is a date-time: {:?}", rows[1][3]);
    };
    assert!(at.is_datetime());
    assert!(
        (at.as_f64() - excel_serial("2026-11-20T10:02:00")).abs() < 1e-6,
        "{at:?}"
    );
    assert_eq!(rows[1][4], Data::Empty, "not handled yet");
    assert!(rows[1][3].is_datetime());
    let rows = cells(
        &boss,
        &format!("/console/tagged?tag={praise}&format=xlsx"),
        "会话标签",
    )
    .await;
    let Data::DateTime(at) = &rows[2][5] else {
        panic!("时间 is a date-time: {:?}", rows[2][5]);
    };
    assert!(
        (at.as_f64() - excel_serial("2026-11-20T11:05:00")).abs() < 1e-6,
        "{at:?}"
    );
    srv.stop().await;
}
