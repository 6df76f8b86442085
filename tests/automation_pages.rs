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
