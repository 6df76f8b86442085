//! HTTP scenarios for the automation settings (C4–C9, E7): the account's
//! automatic and keyword replies (super admin), a group's FAQ and timeouts
//! (its admins), and an agent's own 工号自动回复.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Browser, TestServer};
use kefu::db::automation::{self as auto, Timeouts};
use kefu::model::Role;
use reqwest::StatusCode;

async fn post(b: &Browser, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let resp = b.post_form(path, form).await;
    (resp.status(), resp.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_super_admin_saves_replies_and_ordered_keyword_rules() {
    let srv = TestServer::start().await;
    let g = srv.group("售前", "pre").await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    srv.user("lead", Role::Admin, &[g]).await;
    let account = srv.account("plain", "").await;
    let acc = account.id;
    let (a, gs) = (acc.to_string(), g.to_string());
    let boss = srv.login("boss").await;

    // Defaults until saved.
    let (status, body) = boss.text(&format!("/admin/automation?account={a}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("您好，欢迎咨询，客服马上为您服务。"));

    let (status, _) = post(
        &boss,
        "/admin/automation/replies",
        &[
            ("account", &a),
            ("group", &gs),
            ("welcome", " 欢迎光临! "),
            ("welcome_faq", "on"),
            ("offhours", "下班了"),
            ("follow", "谢谢关注"),
            ("location", "我们在 XX 路 1 号"),
            ("greeting", "我是{客服}"),
            ("away", ""),
            ("agent_comfort", "请稍候"),
            ("follower_prompt", "还在吗?"),
            ("closing", "再见"),
            ("survey_on_end", "on"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let saved = srv
        .state
        .db
        .read(move |c| auto::auto_replies(c, acc))
        .await
        .unwrap();
    assert_eq!(saved.welcome, "欢迎光临!");
    assert!(saved.welcome_faq && !saved.offhours_faq && saved.survey_on_end);
    assert_eq!(saved.away, "", "an empty text turns that reply off");
    assert_eq!(saved.greeting_for("小王"), "我是小王");
    let body = boss
        .text(&format!("/admin/automation?account={a}&group={gs}"))
        .await
        .1;
    assert!(body.contains("我们在 XX 路 1 号"));

    // Too long: 422, what was typed is shown, nothing saved.
    let long = "字".repeat(2001);
    let (status, body) = post(
        &boss,
        "/admin/automation/replies",
        &[("account", &a), ("welcome", "新欢迎语"), ("closing", &long)],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("结束语不能超过 2000 个字"));
    assert!(body.contains("新欢迎语"));
    let again = srv
        .state
        .db
        .read(move |c| auto::auto_replies(c, acc))
        .await
        .unwrap();
    assert_eq!(again, saved);

    // The live preview: the welcome followed by the group's FAQ list.
    srv.state
        .db
        .write(move |c| auto::add_faq(c, g, "如何收费？", "免费", &[]))
        .await
        .unwrap();
    let (status, body) = post(
        &boss,
        "/admin/automation/preview",
        &[("group", &gs), ("welcome", "欢迎！"), ("welcome_faq", "on")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("欢迎！") && body.contains("1. 如何收费？"));

    // Keyword rules: kept in order, moved, matched in order.
    for (k, exact, reply) in [("价格", "", "见官网价目表"), ("人工", "on", "正在转人工")]
    {
        let (status, _) = post(
            &boss,
            "/admin/automation/keywords",
            &[
                ("account", &a),
                ("keyword", k),
                ("exact", exact),
                ("reply", reply),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "add {k}");
    }
    let rules = srv
        .state
        .db
        .read(move |c| auto::keyword_replies(c, acc))
        .await
        .unwrap();
    assert_eq!(
        rules.iter().map(|r| r.keyword.as_str()).collect::<Vec<_>>(),
        ["价格", "人工"]
    );
    assert!(!rules[0].exact && rules[1].exact);
    let (status, _) = post(
        &boss,
        &format!("/admin/automation/keywords/{}/move", rules[1].id),
        &[("dir", "up")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let rules = srv
        .state
        .db
        .read(move |c| auto::keyword_replies(c, acc))
        .await
        .unwrap();
    assert_eq!(rules[0].keyword, "人工");
    assert_eq!(
        auto::match_keyword(&rules, "人工").map(|r| r.reply.as_str()),
        Some("正在转人工")
    );
    assert_eq!(
        auto::match_keyword(&rules, "我要人工和价格").map(|r| r.reply.as_str()),
        Some("见官网价目表"),
        "人工 is exact, 价格 contained"
    );
    let (status, body) = post(
        &boss,
        "/admin/automation/keywords",
        &[("account", &a), ("keyword", " "), ("reply", "x")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("请填写关键词"));
    let (status, body) = post(
        &boss,
        &format!("/admin/automation/keywords/{}", rules[1].id),
        &[("keyword", "价钱"), ("reply", "")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("请填写回复内容") && body.contains("价钱"));
    let (status, _) = post(
        &boss,
        &format!("/admin/automation/keywords/{}/delete", rules[1].id),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        srv.state
            .db
            .read(move |c| auto::keyword_replies(c, acc))
            .await
            .unwrap()
            .len(),
        1
    );

    // Account-level replies are the super admin's.
    let lead = srv.login("lead").await;
    let (status, _) = post(
        &lead,
        "/admin/automation/replies",
        &[("account", &a), ("welcome", "x")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = lead.text("/admin/automation").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains("保存自动回复") && body.contains("常见问题"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_keeps_the_faq_and_timeouts_of_their_own_groups() {
    let srv = TestServer::start().await;
    let g = srv.group("售前", "pre").await;
    let h = srv.group("售后", "post").await;
    srv.user("lead", Role::Admin, &[g]).await;
    srv.user("other", Role::Admin, &[h]).await;
    let lead = srv.login("lead").await;
    let gs = g.to_string();

    for (q, a, k) in [
        ("如何收费？", "基础功能免费", "收费,价格"),
        ("如何退款？", "七天无理由退款", ""),
    ] {
        let (status, _) = post(
            &lead,
            "/admin/automation/faq",
            &[
                ("group", &gs),
                ("question", q),
                ("answer", a),
                ("keywords", k),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "add {q}");
    }
    let faq = srv.state.db.read(move |c| auto::faq(c, g)).await.unwrap();
    let text = auto::faq_list_text(&faq);
    assert_eq!(
        text,
        "常见问题（回复数字查看答案）：\n1. 如何收费？\n2. 如何退款？"
    );
    assert_eq!(
        auto::faq_answer(&faq, "2").unwrap().answer,
        "七天无理由退款"
    );
    assert_eq!(auto::faq_answer(&faq, "价格多少").unwrap().id, faq[0].id);
    let (status, body) = lead.text(&format!("/admin/automation?group={gs}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("1. 如何收费？"), "the list followers receive");

    // Moving renumbers.
    let (status, _) = post(
        &lead,
        &format!("/admin/automation/faq/{}/move", faq[1].id),
        &[("dir", "up")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let moved = srv.state.db.read(move |c| auto::faq(c, g)).await.unwrap();
    assert!(auto::faq_list_text(&moved).contains("1. 如何退款？"));

    // Refused edit keeps what was typed.
    let (status, body) = post(
        &lead,
        &format!("/admin/automation/faq/{}", faq[0].id),
        &[("question", "收费标准?"), ("answer", "")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("请填写答案") && body.contains("收费标准?"));

    // A timeout out of range: 422 naming the range, nothing saved.
    let (status, body) = post(
        &lead,
        "/admin/automation/timeouts",
        &[
            ("group", &gs),
            ("agent_remind_secs_on", "on"),
            ("agent_remind_secs", "30"),
            ("agent_transfer_mins_on", "on"),
            ("agent_transfer_mins", "10"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("1–9"), "the message names the range");
    assert!(body.contains("value=\"10\""), "what was typed is shown");
    let t = srv
        .state
        .db
        .read(move |c| auto::timeouts(c, g))
        .await
        .unwrap();
    assert_eq!(t, Timeouts::default());
    let (status, _) = post(
        &lead,
        "/admin/automation/timeouts",
        &[
            ("group", &gs),
            ("agent_remind_secs_on", "on"),
            ("agent_remind_secs", "30"),
            ("agent_transfer_mins", "10"),
            ("follower_close_mins_on", "on"),
            ("follower_close_mins", "120"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let t = srv
        .state
        .db
        .read(move |c| auto::timeouts(c, g))
        .await
        .unwrap();
    assert_eq!(
        t,
        Timeouts {
            agent_remind_secs: Some(30),
            follower_close_mins: Some(120),
            ..Timeouts::default()
        }
    );

    // An admin of another group: 403 everywhere for this group's FAQ and timeouts.
    let other = srv.login("other").await;
    let (status, _) = other.text(&format!("/admin/automation?group={gs}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = other
        .text(&format!("/admin/automation/faq/{}", faq[0].id))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post(
        &other,
        "/admin/automation/faq",
        &[("group", &gs), ("question", "偷改"), ("answer", "x")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for path in ["", "/move", "/delete"] {
        let (status, _) = post(
            &other,
            &format!("/admin/automation/faq/{}{path}", faq[0].id),
            &[("question", "偷改"), ("answer", "x"), ("dir", "up")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "faq{path}");
    }
    let (status, _) = post(
        &other,
        "/admin/automation/timeouts",
        &[
            ("group", &gs),
            ("reception_mins_on", "on"),
            ("reception_mins", "5"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        srv.state
            .db
            .read(move |c| auto::faq(c, g))
            .await
            .unwrap()
            .len(),
        2
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sets_their_own_auto_reply() {
    let srv = TestServer::start().await;
    let g = srv.group("售前", "pre").await;
    let amy = srv.user("amy", Role::Agent, &[g]).await;
    let b = srv.login("amy").await;

    let (status, body) = b.text("/console/auto-reply").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("工号自动回复"));
    let (status, _) = post(
        &b,
        "/console/auto-reply",
        &[("auto_reply", " 您好,我正在忙,稍后回复您 ")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let saved = srv
        .state
        .db
        .read(move |c| auto::agent_auto_reply(c, amy))
        .await
        .unwrap();
    assert_eq!(saved, "您好,我正在忙,稍后回复您");
    assert!(b.text("/console/auto-reply").await.1.contains(&saved));

    let long = "字".repeat(301);
    let (status, body) = post(&b, "/console/auto-reply", &[("auto_reply", &long)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("不能超过 300 个字"));
    let unchanged = srv
        .state
        .db
        .read(move |c| auto::agent_auto_reply(c, amy))
        .await
        .unwrap();
    assert_eq!(unchanged, saved);

    // Agents do not reach the admin page.
    assert_eq!(b.text("/admin/automation").await.0, StatusCode::FORBIDDEN);
    srv.stop().await;
}

/// An official account with an ASCII name (the shared helper's is Chinese).
async fn ascii_account(srv: &TestServer, name: &str) -> kefu::db::accounts::Account {
    let f = kefu::db::accounts::AccountFields {
        name: name.into(),
        app_id: common::APPID.into(),
        app_secret: common::SECRET.into(),
        token: common::WX_TOKEN.into(),
        aes_key: common::AES_KEY.into(),
        mode: "plain".into(),
        ..Default::default()
    };
    let id = kefu::channel::create(
        &srv.state.db,
        &srv.state.clock,
        &kefu::team::Acting::shell(),
        f,
    )
    .await
    .unwrap();
    srv.state
        .db
        .read(move |c| kefu::db::accounts::get(c, id))
        .await
        .unwrap()
        .unwrap()
}

/// Gives a user an ASCII display name (the shared helper's is Chinese).
async fn ascii_name(srv: &TestServer, user: kefu::model::UserId, name: &str) {
    let p = kefu::db::users::Profile {
        display_name: name.into(),
        real_name: String::new(),
        phone: String::new(),
    };
    let now = srv.state.clock.now();
    srv.state
        .db
        .write(move |c| kefu::db::users::update_profile(c, user, &p, now))
        .await
        .unwrap();
}

/// The page without what followers are sent (the bubbles of the previews):
/// those texts are not translated (the FAQ list's heading is Chinese).
fn staff_text(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(i) = rest.find("<div class=\"bubble-text\">") {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        rest = &rest[rest.find("</div>").unwrap_or(rest.len())..];
    }
    out.push_str(rest);
    out
}

/// Issue 13: every page of the automation settings reads in English for a
/// user who chose it (with data in ASCII, no Chinese is left), and in Chinese
/// by default — including the greeting's cost and the two settings parts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_automation_pages_read_in_english_and_in_chinese() {
    let srv = TestServer::start().await;
    let g = srv.group("Sales", "sales").await;
    let boss = srv.user("boss", Role::SuperAdmin, &[g]).await;
    ascii_name(&srv, boss, "Boss").await;
    let account = ascii_account(&srv, "Shop").await;
    let acc = account.id;
    let replies = auto::AutoReplies {
        welcome: "Welcome".into(),
        offhours: "Closed now".into(),
        offhours_faq: false,
        follow: "Thanks for following".into(),
        greeting: "I am {agent}".into(),
        away: "Everyone is away".into(),
        agent_comfort: "One moment".into(),
        follower_prompt: "Still there?".into(),
        closing: "Bye".into(),
        ..auto::AutoReplies::default()
    };
    let (keyword, faq) = srv
        .state
        .db
        .write(move |c| -> kefu::db::DbResult<_> {
            kefu::db::accounts::set_groups(c, acc, &[g])?;
            auto::set_auto_replies(c, acc, &replies)?;
            auto::add_keyword_reply(c, acc, "price", false, "See the price list")?;
            auto::add_faq(c, g, "What does it cost?", "Nothing", &[])?;
            Ok((auto::keyword_replies(c, acc)?[0].id, auto::faq(c, g)?[0].id))
        })
        .await
        .unwrap();
    let b = srv.login("boss").await;
    let pages = [
        format!("/admin/automation?account={acc}&group={g}"),
        format!("/admin/automation/keywords/{keyword}?account={acc}"),
        format!("/admin/automation/faq/{faq}?account={acc}"),
        "/console/auto-reply".to_string(),
    ];
    // In Chinese by default.
    let (_, zh) = b.text(&pages[0]).await;
    for words in [
        "公众号的设置",
        "客服组的设置",
        "每次接入消耗 1 条回复额度（每条粉丝消息后最多 5 条）",
        "只在剩余额度至少 2 条时发送，给客服留至少 1 条（推荐）",
        "同组内转接给其他客服时再次发送接入语",
        "排队时客服都不在线的回复",
        "客服多久未回复时自动转接（分钟）",
        "I am Boss",
    ] {
        assert!(zh.contains(words), "{words} missing:\n{zh}");
    }
    for (path, words) in
        pages
            .iter()
            .skip(1)
            .zip(["修改关键词回复", "修改常见问题", "工号自动回复"])
    {
        let (status, body) = b.text(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(body.contains(words), "{path}: {words}");
    }

    let resp = b.post_form("/console/me/locale", &[("locale", "en")]).await;
    assert!(resp.status().is_redirection());
    for path in &pages {
        let (status, body) = b.text(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(body.contains("<html lang=\"en\""), "{path}");
        let left = common::chinese_in(&staff_text(&body));
        assert!(left.is_empty(), "{path} still has Chinese: {left:#?}");
    }
    let (_, en) = b.text(&pages[0]).await;
    for words in [
        "Official account settings",
        "Group settings",
        "Each pick-up costs 1 reply of the budget (at most 5 after each follower message).",
        "Only when at least 2 replies are left, so the agent keeps one (recommended)",
        "Transfer automatically after the agent is silent for (minutes)",
        "I am Boss",
    ] {
        assert!(en.contains(words), "{words} missing:\n{en}");
    }
    // A refused form speaks English too.
    let (status, body) = post(
        &b,
        "/admin/automation/replies",
        &[
            ("account", &acc.to_string()),
            ("greeting_budget", "sometimes"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Choose when to send the greeting"), "{body}");
    srv.stop().await;
}

/// Issue 13: the greeting's budget settings are saved from the form and read back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_greeting_budget_is_saved_with_the_replies() {
    let srv = TestServer::start().await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    let acc = srv.account("plain", "").await.id;
    let a = acc.to_string();
    let boss = srv.login("boss").await;
    let read = || {
        let db = srv.state.db.clone();
        async move { db.read(move |c| auto::auto_replies(c, acc)).await.unwrap() }
    };
    assert_eq!(read().await.greeting_budget, auto::GreetingBudget::KeepOne);
    assert!(!read().await.greeting_on_transfer);
    let (status, _) = post(
        &boss,
        "/admin/automation/replies",
        &[
            ("account", &a),
            ("greeting", "我是{客服}"),
            ("greeting_budget", "always"),
            ("greeting_on_transfer", "on"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let saved = read().await;
    assert_eq!(saved.greeting_budget, auto::GreetingBudget::Always);
    assert!(saved.greeting_on_transfer);
    let (_, body) = boss.text(&format!("/admin/automation?account={a}")).await;
    assert!(body.contains(r#"value="always" checked"#), "{body}");
    let (status, _) = post(
        &boss,
        "/admin/automation/replies",
        &[("account", &a), ("greeting_budget", "never")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let saved = read().await;
    assert_eq!(saved.greeting_budget, auto::GreetingBudget::Never);
    assert!(!saved.greeting_on_transfer, "unticked: off");
    srv.stop().await;
}
