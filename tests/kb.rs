//! Issue 12, points 4–7, and issue 13 bug 1: the 知识库 and 常见问题 trees
//! over HTTP (add a child, sort, move, disable, validity, the NEW badge, use
//! counts, the subtrees groups are given, the PDF), the migration of the flat
//! rows, 我的回复 and the FAQ a follower walks over the webhook (number → answer,
//! number → folder → number → answer, 0 back, keywords) and a queued
//! follower's FAQ answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{APPID, Browser, FakeServer, SECRET, TestServer};
use kefu::db::accounts::Account;
use kefu::db::automation::AutoReplies;
use kefu::db::tree::{self, TreeKind};
use kefu::db::{self, DbResult};
use kefu::model::{ConversationState, GroupId, Role};
use kefu::wechat::xml::{Inbound, InboundKind, inbound_xml};
use reqwest::StatusCode;
use std::sync::atomic::{AtomicI64, Ordering};

async fn post(b: &Browser, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let r = b.post_form(path, form).await;
    (r.status(), r.text().await.unwrap_or_default())
}

async fn page(b: &Browser, path: &str) -> String {
    let (status, body) = b.text(path).await;
    assert_eq!(status, StatusCode::OK, "GET {path}");
    body
}

/// The id of the node titled `title` (the latest such).
async fn node(srv: &TestServer, title: &str) -> i64 {
    let t = title.to_string();
    srv.state
        .db
        .read(move |c| -> DbResult<i64> {
            Ok(c.query_row(
                "SELECT max(id) FROM tree_nodes WHERE title = ?1",
                [t],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap()
}

async fn get_node(srv: &TestServer, id: i64) -> tree::Node {
    srv.state
        .db
        .read(move |c| tree::get(c, id))
        .await
        .unwrap()
        .expect("node")
}

/// A text entry's form: title, body, keywords, and any extra fields.
fn entry<'a>(parent: &'a str, title: &'a str, body: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("parent", parent),
        ("kind", "text"),
        ("title", title),
        ("body", body),
        ("enabled", "on"),
        ("validity", "forever"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_builds_sorts_moves_and_disables_their_groups_tree() {
    let srv = TestServer::start().await;
    let a = srv.group("售前", "pre").await;
    let b = srv.group("售后", "post").await;
    srv.user("lead", Role::Admin, &[a]).await;
    srv.user("other", Role::Admin, &[b]).await;
    srv.user("amy", Role::Agent, &[a]).await;
    srv.user("bob", Role::Agent, &[b]).await;
    let lead = srv.login("lead").await;
    let (a_s, b_s) = (a.to_string(), b.to_string());

    // A top-level folder is given to one of the admin's groups; never to another's.
    let (s, _) = post(
        &lead,
        "/admin/kb/nodes",
        &[("kind", "folder"), ("title", "越权目录"), ("group", &b_s)],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = post(
        &lead,
        "/admin/kb/nodes",
        &[
            ("kind", "folder"),
            ("title", "日常接待"),
            ("group", &a_s),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let root = node(&srv, "日常接待").await;
    let rs = root.to_string();
    // Children: a folder and entries (＋ on a tree row).
    let (s, _) = post(
        &lead,
        "/admin/kb/nodes",
        &[
            ("parent", &rs),
            ("kind", "folder"),
            ("title", "物流"),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let ship = node(&srv, "物流").await;
    for (title, body) in [
        ("开始接待", "您好！很高兴为您服务"),
        ("结束接待", "感谢您的咨询"),
    ] {
        let (s, body) = post(&lead, "/admin/kb/nodes", &entry(&rs, title, body)).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    }
    let (start, end) = (node(&srv, "开始接待").await, node(&srv, "结束接待").await);
    let ships = ship.to_string();
    let (s, _) = post(
        &lead,
        "/admin/kb/nodes",
        &entry(&ships, "快递进度", "顺丰次日达"),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let express = node(&srv, "快递进度").await;
    assert_eq!(get_node(&srv, express).await.parent_id, Some(ship));

    // A refused form says why and keeps what was typed.
    let (s, body) = post(&lead, "/admin/kb/nodes", &entry(&rs, "空内容", " ")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("请填写内容") && body.contains("value=\"空内容\""));

    // The page draws the tree, children indented under their folder.
    let body = page(&lead, "/admin/kb").await;
    let pos = |t: &str| body.find(t).unwrap_or_else(|| panic!("{t} on the page"));
    assert!(pos("日常接待") < pos("物流") && pos("物流") < pos("快递进度"));
    assert!(pos("快递进度") < pos("开始接待") && pos("开始接待") < pos("结束接待"));

    // Sort among siblings: 结束接待 up above 开始接待.
    let (s, _) = post(
        &lead,
        &format!("/admin/kb/nodes/{end}/move"),
        &[("dir", "up")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let body = page(&lead, "/admin/kb").await;
    assert!(body.find("结束接待").unwrap() < body.find("开始接待").unwrap());

    // Move 开始接待 into 物流 — moving a folder below itself is refused.
    let (s, _) = post(
        &lead,
        &format!("/admin/kb/nodes/{start}/move"),
        &[("parent", &ships)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(get_node(&srv, start).await.parent_id, Some(ship));
    let (s, body) = post(
        &lead,
        &format!("/admin/kb/nodes/{root}/move"),
        &[("parent", &ships)],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("不能移动到自己或自己的下级目录"));

    // The agent of the group sees the tree in the quick replies; bob (group B) does not.
    let amy = srv.login("amy").await;
    let bob = srv.login("bob").await;
    let panel = page(&amy, "/console/kb").await;
    for t in ["日常接待", "物流", "快递进度", "开始接待", "结束接待"] {
        assert!(panel.contains(t), "amy sees {t}");
    }
    let panel = page(&bob, "/console/kb").await;
    assert!(!panel.contains("快递进度") && panel.contains("所在客服组尚未配置知识库"));
    let view = page(&bob, "/console/kb/view").await;
    assert!(!view.contains("快递进度"), "nor in the read-only view");
    assert!(page(&amy, "/console/kb/view").await.contains("顺丰次日达"));
    // Search in the panel keeps the folders above a hit.
    let panel = page(&amy, "/console/kb?q=%E9%A1%BA%E4%B8%B0").await; // 顺丰
    assert!(panel.contains("快递进度") && panel.contains("物流") && !panel.contains("结束接待"));

    // The admin of group B neither sees nor changes A's subtree.
    let other = srv.login("other").await;
    assert!(!page(&other, "/admin/kb").await.contains("快递进度"));
    let (s, _) = other.text(&format!("/admin/kb/nodes/{express}")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for path in [
        format!("/admin/kb/nodes/{express}/toggle"),
        format!("/admin/kb/nodes/{express}/delete"),
    ] {
        let (s, _) = post(&other, &path, &[]).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "POST {path}");
    }
    let (s, _) = post(
        &other,
        "/admin/kb/groups",
        &[("group", &b_s), ("roots", &rs)],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "nor gives it to their group");

    // Disabling a folder hides what it holds from agents, not from the admin.
    let (s, _) = post(&lead, &format!("/admin/kb/nodes/{ship}/toggle"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(!get_node(&srv, ship).await.enabled);
    let panel = page(&amy, "/console/kb").await;
    assert!(!panel.contains("快递进度") && panel.contains("结束接待"));
    assert!(page(&lead, "/admin/kb").await.contains("快递进度"));
    // The search by state finds the disabled folder's entries? No: the
    // disabled node is the folder; entries keep their own switch.
    let body = page(&lead, "/admin/kb?state=off").await;
    assert!(body.contains("没有符合条件的条目"));

    // Given to group B by the super admin, B's agent sees it too.
    srv.user("root", Role::SuperAdmin, &[]).await;
    let root_admin = srv.login("root").await;
    let (s, _) = post(
        &root_admin,
        "/admin/kb/groups",
        &[("group", &b_s), ("roots", &rs)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(page(&bob, "/console/kb").await.contains("结束接待"));

    // Deleting a folder deletes its subtree.
    let (s, _) = post(&lead, &format!("/admin/kb/nodes/{ship}/delete"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let gone = srv
        .state
        .db
        .read(move |c| tree::get(c, express))
        .await
        .unwrap();
    assert!(gone.is_none());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validity_the_new_badge_use_counts_and_the_pdf_follow_the_entries() {
    let srv = TestServer::start().await;
    let a = srv.group("售前", "pre").await;
    srv.user("lead", Role::Admin, &[a]).await;
    srv.user("amy", Role::Agent, &[a]).await;
    let lead = srv.login("lead").await;
    let amy = srv.login("amy").await;
    let a_s = a.to_string();
    let (s, _) = post(
        &lead,
        "/admin/kb/nodes",
        &[
            ("kind", "folder"),
            ("title", "活动"),
            ("group", &a_s),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let folder = node(&srv, "活动").await.to_string();
    // Today is 2026-11-20 (the test clock, Asia/Shanghai).
    let mut f = entry(&folder, "双十一", "全场八折");
    f.retain(|(k, _)| *k != "validity");
    f.extend([
        ("validity", "range"),
        ("valid_from", "2026-11-01"),
        ("valid_to", "2026-11-11"),
    ]);
    assert_eq!(
        post(&lead, "/admin/kb/nodes", &f).await.0,
        StatusCode::SEE_OTHER
    );
    let mut f = entry(&folder, "双十二", "满减");
    f.retain(|(k, _)| *k != "validity");
    f.extend([
        ("validity", "range"),
        ("valid_from", "2026-11-20"),
        ("valid_to", "2026-12-12"),
        ("new_until", "2026-11-21"),
    ]);
    assert_eq!(
        post(&lead, "/admin/kb/nodes", &f).await.0,
        StatusCode::SEE_OTHER
    );

    let mut f = entry(&folder, "元旦", "新年礼包");
    f.retain(|(k, _)| *k != "validity");
    f.extend([
        ("validity", "range"),
        ("valid_from", "2027-01-01"),
        ("valid_to", "2027-01-03"),
    ]);
    assert_eq!(
        post(&lead, "/admin/kb/nodes", &f).await.0,
        StatusCode::SEE_OTHER
    );

    let panel = page(&amy, "/console/kb").await;
    assert!(!panel.contains("双十一"), "expired on 11-11");
    assert!(!panel.contains("元旦"), "valid from 2027");
    assert!(panel.contains("双十二") && panel.contains("NEW"));
    let admin = page(&lead, "/admin/kb").await;
    // Each chip says which: past its dates, or not yet in them.
    let chip = |title: &str| {
        // The tree's row of the entry (the flash names it too).
        let rows: Vec<&str> = admin
            .match_indices(title)
            .filter_map(|(at, _)| admin[at..].split("</li>").next())
            .filter(|row| row.contains("class=\"chip\""))
            .collect();
        rows.join(" | ")
    };
    assert!(chip("双十一").contains("已过期"), "{}", chip("双十一"));
    assert!(
        chip("元旦").contains("未生效") && !chip("元旦").contains("已过期"),
        "{}",
        chip("元旦")
    );
    // The search by badge.
    let found = page(&lead, "/admin/kb?new=on").await;
    assert!(found.contains("满减") && !found.contains("全场八折"));

    // Two days later the badge is gone.
    srv.state
        .clock
        .advance(jiff::SignedDuration::from_hours(48));
    // (Sessions end after a day idle: log in again.)
    let (lead, amy) = (srv.login("lead").await, srv.login("amy").await);
    let panel = page(&amy, "/console/kb").await;
    assert!(panel.contains("双十二") && !panel.contains("NEW"));
    assert!(!page(&lead, "/admin/kb?new=on").await.contains("满减"));

    // 插入 counts a use; an entry the agent cannot read is not found.
    let id = node(&srv, "双十二").await;
    let r = amy.post_form(&format!("/console/kb/{id}/used"), &[]).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = amy.post_form(&format!("/console/kb/{id}/used"), &[]).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(get_node(&srv, id).await.uses, 2);
    let expired = node(&srv, "双十一").await;
    let r = amy
        .post_form(&format!("/console/kb/{expired}/used"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(page(&lead, "/admin/kb").await.contains("<td>2</td>"));

    // The search result as a PDF.
    let r = lead.get("/admin/kb/export.pdf?q=%E6%BB%A1%E5%87%8F").await; // 满减
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF"), "a PDF");
    let r = lead.get("/admin/kb/export.pdf?from=11%E6%9C%88").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a bad date is refused");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_replies_are_the_agents_own() {
    let srv = TestServer::start().await;
    let a = srv.group("售前", "pre").await;
    srv.user("amy", Role::Agent, &[a]).await;
    srv.user("bob", Role::Agent, &[a]).await;
    let amy = srv.login("amy").await;
    let bob = srv.login("bob").await;
    let (s, _) = post(&amy, "/console/replies", &[("name", "开场语")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let g = node_group(&srv).await.to_string();
    let (s, _) = post(
        &amy,
        "/console/replies",
        &[("group", &g), ("body", "您好，我是艾米")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, body) = post(&amy, "/console/replies", &[("group", &g), ("body", " ")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("请填写回复内容"));
    // Refused for its length: the text comes back in its box, not lost.
    let long = format!("{}<b>", "长".repeat(2001));
    let (s, body) = post(&amy, "/console/replies", &[("group", &g), ("body", &long)]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("不能超过 2000"), "{body}");
    let kept = body.contains(&format!("{}&lt;b&gt;</textarea>", "长".repeat(2001)))
        || body.contains(&format!("{}&#60;b&#62;</textarea>", "长".repeat(2001)));
    assert!(kept, "the typed text is kept, escaped");
    let long_name = "组".repeat(33);
    let (s, body) = post(&amy, "/console/replies", &[("name", &long_name)]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains(&format!("value=\"{long_name}\"")),
        "the name is kept"
    );
    let (s, _) = post(&bob, "/console/replies", &[("group", &g), ("body", "越权")]).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "not bob's group");
    let panel = page(&amy, "/console/kb").await;
    assert!(panel.contains("开场语") && panel.contains("您好，我是艾米"));
    assert!(!page(&bob, "/console/kb").await.contains("您好，我是艾米"));
    srv.stop().await;
}

async fn node_group(srv: &TestServer) -> i64 {
    srv.state
        .db
        .read(|c| -> DbResult<i64> {
            Ok(c.query_row("SELECT max(id) FROM my_reply_groups", [], |r| r.get(0))?)
        })
        .await
        .unwrap()
}

#[test]
fn the_flat_rows_move_into_the_trees_nothing_lost() {
    use kefu::db::migrate::{MIGRATIONS, apply_migrations};
    let mut c = rusqlite::Connection::open_in_memory().unwrap();
    // Version 11: the flat knowledge base and FAQ.
    for sql in &MIGRATIONS[..11] {
        c.execute_batch(sql).unwrap();
    }
    c.pragma_update(None, "user_version", 11).unwrap();
    c.execute_batch(
        "INSERT INTO groups (id, name, ident, created_at, updated_at)
             VALUES (1, '售前', 'pre', 0, 0), (2, '售后', 'post', 0, 0);
         INSERT INTO kb_entries (group_id, folder, title, body, position, created_at, updated_at)
             VALUES (1, '常用', '问候', '您好', 0, 5, 5), (1, '', '营业时间', '9-18', 1, 6, 6),
                    (1, '常用', '告别', '再见', 2, 7, 7), (2, '退货', '地址', '上海', 0, 8, 8);
         INSERT INTO faq_entries (group_id, question, answer, keywords, position)
             VALUES (1, '如何收费？', '免费', '价格，收费', 1), (1, '如何退款？', '七天', '', 0);",
    )
    .unwrap();
    apply_migrations(&mut c, 11).unwrap();

    let kb = tree::all(&c, TreeKind::Kb).unwrap();
    let shown: Vec<(String, usize)> = kefu::engine::tree::whole(&kb)
        .iter()
        .map(|(n, d)| (n.title.clone(), *d))
        .collect();
    assert_eq!(
        shown,
        [
            ("售前".into(), 0),
            ("常用".into(), 1),
            ("问候".into(), 2),
            ("告别".into(), 2),
            ("营业时间".into(), 1),
            ("售后".into(), 0),
            ("退货".into(), 1),
            ("地址".into(), 2),
        ]
    );
    let by = |t: &str| kb.iter().find(|n| n.title == t).unwrap().clone();
    assert_eq!(by("问候").body, "您好");
    assert_eq!(
        tree::roots(&c, TreeKind::Kb, GroupId(1)).unwrap(),
        [by("售前").id]
    );
    assert_eq!(
        tree::roots(&c, TreeKind::Kb, GroupId(2)).unwrap(),
        [by("售后").id]
    );
    let faq = db::automation::faq(&c, GroupId(1)).unwrap();
    let q: Vec<(&str, &str)> = faq
        .iter()
        .map(|f| (f.question.as_str(), f.answer.as_str()))
        .collect();
    assert_eq!(
        q,
        [("如何退款？", "七天"), ("如何收费？", "免费")],
        "order kept"
    );
    assert_eq!(faq[1].keywords, ["价格", "收费"]);
    assert!(db::automation::faq(&c, GroupId(2)).unwrap().is_empty());
    let old: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name IN ('kb_entries', 'faq_entries')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 0, "the flat tables are gone");
}

// ---- the FAQ over the webhook ----------------------------------------------

struct World {
    wx: FakeServer,
    srv: TestServer,
    acc: Account,
    group: GroupId,
}

static MSG_ID: AtomicI64 = AtomicI64::new(7_200_000_000_000_000);

async fn world() -> World {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("plain", &wx.url).await;
    let group = srv.group("售后组", "after").await;
    let id = acc.id;
    srv.state
        .db
        .write(move |c| -> DbResult<()> {
            db::accounts::set_groups(c, id, &[group])?;
            let mut gs = db::settings::group(c, group)?;
            gs.agents_see_queue = true;
            db::settings::set_group(c, group, &gs)?;
            db::settings::set_account(
                c,
                id,
                &db::settings::AccountSettings {
                    trigger_mode: kefu::model::TriggerMode::Keywords,
                    keywords: "人工".into(),
                    menu_key: String::new(),
                },
            )?;
            db::automation::set_auto_replies(
                c,
                id,
                &AutoReplies {
                    welcome_faq: true,
                    ..AutoReplies::default()
                },
            )?;
            // 售后组's FAQ — 1. 怎么退货？ 2. 物流 › 1. 多久发货？ 2. 运费 — 3. 停用的
            let t = jiff::Timestamp::UNIX_EPOCH;
            let root = tree::group_folder(c, TreeKind::Faq, group, t)?;
            let add = |parent: i64, folder: bool, title: &str, body: &str, kw: &str| {
                let f = tree::Fields {
                    folder,
                    title: title.into(),
                    body: body.into(),
                    keywords: kw.into(),
                    enabled: true,
                    ..tree::Fields::default()
                };
                tree::add(c, TreeKind::Faq, Some(parent), &f, t).map(|r| r.unwrap())
            };
            add(
                root,
                false,
                "怎么退货？",
                "七天无理由，在订单页申请退货。",
                "退货",
            )?;
            let ship = add(root, true, "物流", "", "")?;
            add(ship, false, "多久发货？", "付款后 48 小时内发货。", "")?;
            add(ship, false, "运费", "满 99 元包邮。", "包邮")?;
            let off = add(root, false, "停用的", "不该出现", "")?;
            tree::set_enabled(c, off, false)?;
            Ok(())
        })
        .await
        .unwrap();
    srv.state.wechat.forget_account(id);
    World {
        wx,
        srv,
        acc,
        group,
    }
}

impl World {
    async fn say(&self, openid: &str, text: &str) -> Option<String> {
        let m = Inbound {
            to_user: "gh_test".into(),
            from_user: openid.into(),
            create_time: self.srv.state.clock.now().as_second(),
            msg_id: Some(MSG_ID.fetch_add(1, Ordering::SeqCst)),
            kind: InboundKind::Text {
                content: text.into(),
            },
        };
        let r = self.srv.push(&self.acc, "plain", &inbound_xml(&m)).await;
        assert_eq!(r.status(), StatusCode::OK);
        let body = r.text().await.unwrap();
        if body == "success" {
            return None;
        }
        let start = body.find("<Content><![CDATA[").expect("a text reply") + 18;
        Some(body[start..].split("]]>").next().unwrap().to_string())
    }

    async fn state(&self, openid: &str) -> Option<ConversationState> {
        let (acc, openid) = (self.acc.id, openid.to_string());
        self.srv
            .state
            .db
            .read(move |c| -> DbResult<_> {
                let Some(f) = db::followers::by_openid(c, acc, &openid)? else {
                    return Ok(None);
                };
                let s: Option<String> = c
                    .query_row(
                        "SELECT state FROM conversations WHERE follower_id = ?1 ORDER BY id DESC",
                        [f.id],
                        |r| r.get(0),
                    )
                    .ok();
                Ok(s.and_then(|s| ConversationState::parse(&s)))
            })
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_walks_the_faq_tree_by_number_and_keyword() {
    let w = world().await;
    let fan = "oFanFaqTree01";
    // Number → answer.
    assert_eq!(
        w.say(fan, "1").await.as_deref(),
        Some("七天无理由，在订单页申请退货。")
    );
    // Number → folder → number → answer.
    let list = w.say(fan, "2").await.unwrap();
    assert_eq!(
        list,
        "物流（回复数字查看）：\n1. 多久发货？\n2. 运费\n0. 返回上一级"
    );
    assert_eq!(w.say(fan, "2").await.as_deref(), Some("满 99 元包邮。"));
    assert_eq!(
        w.say(fan, "１").await.as_deref(),
        Some("付款后 48 小时内发货。"),
        "still in 物流 — a full-width digit"
    );
    // 0 goes back to the top list, which offers a human (nobody is queued yet).
    let top = w.say(fan, "0").await.unwrap();
    assert!(
        top.starts_with("常见问题（回复数字查看答案）：\n1. 怎么退货？\n2. 物流 ›"),
        "{top}"
    );
    assert!(
        !top.contains("停用的"),
        "a disabled entry is not listed: {top}"
    );
    assert!(top.ends_with("回复“人工”联系客服"), "{top}");
    assert_eq!(
        w.say(fan, "1").await.as_deref(),
        Some("七天无理由，在订单页申请退货。"),
        "back at the top"
    );
    // A keyword answers from anywhere; a number out of range is not for the FAQ.
    assert_eq!(
        w.say(fan, "我想包邮").await.as_deref(),
        Some("满 99 元包邮。")
    );
    assert_eq!(w.say(fan, "9").await, None);
    assert_eq!(
        w.state(fan).await,
        None,
        "no conversation from self-service"
    );
    // Answers count as uses.
    let g = w.group;
    let uses: i64 = w
        .srv
        .state
        .db
        .read(move |c| -> DbResult<i64> {
            let _ = g;
            Ok(c.query_row(
                "SELECT uses FROM tree_nodes WHERE title = '运费'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(uses, 2);
    w.srv.stop().await;
    drop(w.wx);
}

/// Issue 13, bug 1: the welcome of a follower who is queued does not tell them
/// to reply 人工 — and their FAQ number or keyword is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_follower_gets_the_faq_answer() {
    let w = world().await;
    let fan = "oFanQueuedFaq01";
    let welcome = w.say(fan, "转人工").await.unwrap();
    assert!(welcome.contains("1. 怎么退货？"), "{welcome}");
    assert!(!welcome.contains("回复“人工”"), "already queued: {welcome}");
    assert_eq!(w.state(fan).await, Some(ConversationState::Queued));
    assert_eq!(
        w.say(fan, "1").await.as_deref(),
        Some("七天无理由，在订单页申请退货。")
    );
    assert_eq!(
        w.say(fan, "2")
            .await
            .as_deref()
            .map(|l| l.starts_with("物流")),
        Some(true)
    );
    assert_eq!(
        w.say(fan, "1").await.as_deref(),
        Some("付款后 48 小时内发货。")
    );
    assert_eq!(
        w.say(fan, "退货怎么弄").await.as_deref(),
        Some("七天无理由，在订单页申请退货。")
    );
    // A keyword reply answers in the queue as it did before it.
    let acc = w.acc.id;
    w.srv
        .state
        .db
        .write(move |c| -> DbResult<()> {
            db::automation::add_keyword_reply(c, acc, "价格", false, "价格表：A款99元")?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(
        w.say(fan, "价格多少").await.as_deref(),
        Some("价格表：A款99元")
    );
    assert_eq!(
        w.state(fan).await,
        Some(ConversationState::Queued),
        "still queued"
    );
    w.srv.stop().await;
    drop(w.wx);
}

/// Issue 13, bug 11b — 分类与标签 is highlighted on its page, not 知识库 — and the
/// menu's 知识库 and 常见问题 open the trees (the editors for admins, the
/// read-only views for agents) instead of "将在后续版本开放".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_menu_opens_the_trees_and_highlights_the_right_item() {
    let srv = TestServer::start().await;
    let a = srv.group("售前", "pre").await;
    srv.user("lead", Role::Admin, &[a]).await;
    srv.user("amy", Role::Agent, &[a]).await;
    let lead = srv.login("lead").await;
    let active = |body: &str, href: &str| {
        let at = body.find(&format!("href=\"{href}\"")).expect(href);
        let tag_end = at + body[at..].find('>').unwrap();
        body[at..tag_end].contains("active")
    };
    let body = page(&lead, "/admin/taxonomy").await;
    assert!(
        !active(&body, "/admin/kb"),
        "知识库 is not highlighted on 分类与标签"
    );
    assert!(active(&body, "/admin/taxonomy#categories"));
    let body = page(&lead, "/admin/kb").await;
    assert!(active(&body, "/admin/kb") && !active(&body, "/admin/taxonomy#categories"));
    assert!(active(&page(&lead, "/admin/faq").await, "/admin/faq"));
    let amy = srv.login("amy").await;
    let body = page(&amy, "/console").await;
    assert!(!body.contains("将在后续版本开放"));
    assert!(
        body.contains("href=\"/console/kb/view\"") && body.contains("href=\"/console/faq/view\"")
    );
    let (s, _) = amy.text("/admin/kb").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "agents read, they do not edit");
    assert!(
        page(&amy, "/console/faq/view")
            .await
            .contains("所在客服组还没有常见问题")
    );
    srv.stop().await;
}

/// Uploads an entry's image: multipart, the token in the query.
async fn upload_image(srv: &TestServer, b: &Browser, id: i64, bytes: &[u8]) -> StatusCode {
    let token = b.csrf().await;
    let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("p.png");
    b.client
        .post(srv.at(&format!("/admin/kb/nodes/{id}/image?_csrf={token}")))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
        .status()
}

/// An image entry (uploaded on the editor) is sent as an image; a text entry
/// as text; each send counts a use. Only the holder of the conversation sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sends_text_and_image_entries_into_their_conversation() {
    let w = world().await;
    let g = w.group;
    w.srv.user("lead", Role::Admin, &[g]).await;
    w.srv.user("amy", Role::Agent, &[g]).await;
    let lead = w.srv.login("lead").await;
    let gs = g.to_string();
    let (s, _) = post(
        &lead,
        "/admin/kb/nodes",
        &[
            ("kind", "folder"),
            ("title", "图文"),
            ("group", &gs),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let folder = node(&w.srv, "图文").await.to_string();
    let (s, _) = post(&lead, "/admin/kb/nodes", &entry(&folder, "问候", "您好！")).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _) = post(
        &lead,
        "/admin/kb/nodes",
        &[
            ("parent", &folder),
            ("kind", "image"),
            ("title", "价目表"),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (text, image) = (node(&w.srv, "问候").await, node(&w.srv, "价目表").await);
    // The image, multipart with the token in the query; not a picture: refused.
    assert_eq!(
        upload_image(&w.srv, &lead, image, b"GIF-not").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        upload_image(&w.srv, &lead, image, b"\x89PNG\r\n\x1a\nsniffed-as-png").await,
        StatusCode::SEE_OTHER
    );
    let stored = get_node(&w.srv, image).await.image;
    assert!(
        stored.starts_with("kb/") && stored.ends_with(".png"),
        "{stored}"
    );

    // A follower queues; amy accepts.
    let fan = "oFanKbSend0001";
    w.say(fan, "转人工").await;
    let conv: i64 = w
        .srv
        .state
        .db
        .read(|c| -> DbResult<i64> {
            Ok(c.query_row("SELECT max(id) FROM conversations", [], |r| r.get(0))?)
        })
        .await
        .unwrap();
    let amy = w.srv.login("amy").await;
    let r = amy
        .post_form(&format!("/console/c/{conv}/accept"), &[])
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    // The image shows in the panel (served to her) and goes out as an image.
    assert!(
        page(&amy, "/console/kb")
            .await
            .contains(&format!("/kb/image/{image}"))
    );
    assert_eq!(
        amy.get(&format!("/kb/image/{image}")).await.status(),
        StatusCode::OK
    );
    for id in [text, image] {
        let node = id.to_string();
        let r = amy
            .post_form(&format!("/console/c/{conv}/kb"), &[("node", &node)])
            .await;
        assert_eq!(r.status(), StatusCode::OK, "send {id}");
    }
    let kinds: Vec<String> = w
        .srv
        .state
        .db
        .read(move |c| -> DbResult<Vec<String>> {
            let mut s = c.prepare(
                "SELECT o.kind FROM outbox o JOIN messages m ON m.id = o.message_id
                 WHERE m.conversation_id = ?1 ORDER BY o.id",
            )?;
            let rows = s
                .query_map([conv], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    assert_eq!(kinds.last().map(String::as_str), Some("image"), "{kinds:?}");
    assert_eq!(get_node(&w.srv, text).await.uses, 1);
    assert_eq!(get_node(&w.srv, image).await.uses, 1);
    // Someone not holding the conversation cannot send into it.
    let node = text.to_string();
    let r = lead
        .post_form(&format!("/console/c/{conv}/kb"), &[("node", &node)])
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert_eq!(get_node(&w.srv, text).await.uses, 1);
    w.srv.stop().await;
    drop(w.wx);
}

/// Issue 13: the tree pages — 知识库 and 常见问题 and an entry's edit page — and
/// 分类与标签 read in English for a user who chose it — with data in ASCII no
/// Chinese is left, flash messages included — and in Chinese by default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tree_and_taxonomy_pages_read_in_english_and_in_chinese() {
    let srv = TestServer::start().await;
    let g = srv.group("Support", "support").await;
    let root = srv.user("root", Role::SuperAdmin, &[g]).await;
    let now = srv.state.clock.now();
    srv.state
        .db
        .write(move |c| -> DbResult<()> {
            let p = db::users::Profile {
                display_name: "Root".into(),
                real_name: String::new(),
                phone: String::new(),
            };
            db::users::update_profile(c, root, &p, now)?;
            db::taxonomy::add_category(c, g, None, "Pricing")?.unwrap();
            db::taxonomy::add_tag(c, None, "Complaint")?.unwrap();
            Ok(())
        })
        .await
        .unwrap();
    let b = srv.login("root").await;
    let (_, zh) = b.text("/admin/kb").await;
    assert!(zh.contains("知识库目录") && zh.contains("新增节点"), "{zh}");
    let (_, zh) = b.text("/admin/taxonomy").await;
    assert!(zh.contains("咨询分类") && zh.contains("会话标签"), "{zh}");

    let resp = b.post_form("/console/me/locale", &[("locale", "en")]).await;
    assert!(resp.status().is_redirection());
    let gs = g.to_string();
    for base in ["/admin/kb", "/admin/faq"] {
        let (status, _) = post(
            &b,
            &format!("{base}/nodes"),
            &[
                ("parent", ""),
                ("group", &gs),
                ("kind", "folder"),
                ("title", "Openers"),
                ("enabled", "on"),
                ("validity", "forever"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{base}");
        let folder = node(&srv, "Openers").await.to_string();
        let (status, _) = post(
            &b,
            &format!("{base}/nodes"),
            &[
                ("parent", &folder),
                ("kind", "text"),
                ("title", "Hello"),
                ("body", "Hi there"),
                ("keywords", "hi"),
                ("enabled", "on"),
                ("validity", "range"),
                ("valid_from", "2026-01-01"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{base}");
        let entry = node(&srv, "Hello").await;
        let body = page(&b, base).await;
        assert!(body.contains("Hello added"), "the flash: {body}");
        assert!(body.contains("From 2026-01-01"), "the validity: {body}");
        for path in [base.to_string(), format!("{base}/nodes/{entry}")] {
            let body = page(&b, &path).await;
            assert!(body.contains("<html lang=\"en\""), "{path}");
            let left = common::chinese_in(&body);
            assert!(left.is_empty(), "{path} still has Chinese: {left:#?}");
        }
        // A refused form: the reason in English.
        let (status, body) = post(
            &b,
            &format!("{base}/nodes"),
            &[("kind", "text"), ("title", " "), ("validity", "forever")],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("Enter a title"), "{body}");
    }
    let body = page(&b, "/admin/taxonomy").await;
    assert!(body.contains("Inquiry categories") && body.contains("Pricing"));
    let left = common::chinese_in(&body);
    assert!(
        left.is_empty(),
        "/admin/taxonomy still has Chinese: {left:#?}"
    );
    srv.stop().await;
}
