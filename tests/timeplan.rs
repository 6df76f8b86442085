//! 设置 → 工作时间 over real loopback HTTP (C1–C3, E8): the weekly plan saved and
//! shown back, refused input kept with a Chinese reason, custom workdays and
//! holidays added and deleted (audited), the preview following the manual
//! clock into a holiday, and only the super admin allowed in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{FakeServer, TestServer};
use jiff::SignedDuration;
use kefu::db::timeplan::{self, DayKind};
use kefu::engine::timeplan::{Status, is_open};
use kefu::model::{AccountId, Role};
use reqwest::StatusCode;

async fn load(srv: &TestServer, id: AccountId) -> kefu::engine::timeplan::Plan {
    srv.state
        .db
        .read(move |c| timeplan::load(c, id))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weekly_plan_holidays_and_the_preview() {
    let srv = TestServer::start().await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    srv.user("lead", Role::Admin, &[]).await;
    let boss = srv.login("boss").await;

    let (status, page) = boss.text("/admin/timeplan").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("还没有公众号"), "empty state: {page}");

    let wx = FakeServer::start().await;
    let acc = srv.account("plain", &wx.url).await;
    let account = acc.id.to_string();
    let url = format!("/admin/timeplan?account={account}");

    // Defaults: off (always open), Mon–Fri 09:00–18:00.
    let (status, page) = boss.text(&url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("每周工作时间") && page.contains("value=\"09:00-18:00\""));
    assert!(page.contains("当前：工作时间（未启用"), "{page}");

    // The clock starts Friday 2026-11-20 10:00 in Shanghai.
    let week: &[(&str, &str)] = &[
        ("account", &account),
        ("enabled", "on"),
        ("timezone", "Asia/Shanghai"),
        ("mon", "09:00-12:00, 13:30-18:00"),
        ("tue", "09:00-12:00, 13:30-18:00"),
        ("wed", "09:00-12:00, 13:30-18:00"),
        ("thu", "09:00-12:00, 13:30-18:00"),
        ("fri", "9:00-12:00,13:30-18:00"),
        ("sat", "22:00-02:00"),
        ("sun", ""),
    ];
    let resp = boss.post_form("/admin/timeplan/weekly", week).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, page) = boss.text(&url).await;
    assert!(page.contains("工作时间已保存"));
    assert!(
        page.contains("value=\"09:00-12:00, 13:30-18:00\""),
        "{page}"
    );
    assert!(page.contains("value=\"22:00-02:00\""));
    assert!(page.contains("当前：工作时间"));
    assert!(
        page.contains("2026-11-20 12:00 周五 结束工作时间"),
        "next change: {page}"
    );
    let plan = load(&srv, acc.id).await;
    assert!(plan.enabled);
    assert_eq!(plan.weekly[4].len(), 2);
    assert!(plan.weekly[6].is_empty());

    // Refused: the reason in Chinese, the input kept, nothing saved.
    let mut bad = week.to_vec();
    bad[8] = ("sat", "25:00-26:00");
    let resp = boss.post_form("/admin/timeplan/weekly", &bad).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("周六时段「25:00-26:00」时间无效"),
        "reason: {page}"
    );
    assert!(page.contains("value=\"25:00-26:00\""), "input kept");
    assert_eq!(
        load(&srv, acc.id).await.weekly,
        plan.weekly,
        "nothing saved"
    );
    let mut bad = week.to_vec();
    bad[2] = ("timezone", "Mars/Olympus");
    let resp = boss.post_form("/admin/timeplan/weekly", &bad).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("时区「Mars/Olympus」无效")
    );

    // A holiday across the year end and a make-up Saturday.
    let holiday: &[(&str, &str)] = &[
        ("account", &account),
        ("kind", "holiday"),
        ("name", "元旦"),
        ("start", "2026-12-31"),
        ("end", "2027-01-01"),
        ("reply", "元旦假期客服暂停服务,1月2日起恢复。"),
    ];
    let resp = boss.post_form("/admin/timeplan/days", holiday).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let workday: &[(&str, &str)] = &[
        ("account", &account),
        ("kind", "workday"),
        ("name", "补班"),
        ("start", "2026-11-21"),
        ("end", "2026-11-21"),
        ("spans", "10:00-16:00"),
    ];
    let resp = boss.post_form("/admin/timeplan/days", workday).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, page) = boss.text(&url).await;
    assert!(page.contains("元旦") && page.contains("2026-12-31 至 2027-01-01"));
    assert!(page.contains("元旦假期客服暂停服务"));
    assert!(page.contains("补班") && page.contains("10:00-16:00"));

    let mut late = holiday.to_vec();
    late[3] = ("start", "2027-01-02");
    let resp = boss.post_form("/admin/timeplan/days", &late).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = resp.text().await.unwrap();
    assert!(page.contains("结束日期不能早于开始日期"));
    assert!(page.contains("value=\"2027-01-02\""), "input kept");

    // Into the holiday: Thursday 2026-12-31 10:00 in Shanghai.
    srv.state.clock.advance(SignedDuration::from_hours(24 * 41));
    // Sessions last 24 hours: log in again.
    let boss = srv.login("boss").await;
    let (_, page) = boss.text(&url).await;
    assert!(page.contains("当前：节假日（元旦）"), "{page}");
    assert!(
        page.contains("2027-01-02 22:00 周六 开始工作时间"),
        "{page}"
    );
    assert_eq!(
        is_open(&load(&srv, acc.id).await, srv.state.clock.now()),
        Status::Holiday {
            name: "元旦".into(),
            reply: "元旦假期客服暂停服务,1月2日起恢复。".into()
        }
    );

    // Delete both; every change is in the audit log.
    let days = srv
        .state
        .db
        .read(move |c| timeplan::days(c, acc.id))
        .await
        .unwrap();
    assert_eq!(days.len(), 2);
    for d in &days {
        let resp = boss
            .post_form(&format!("/admin/timeplan/days/{}/delete", d.id), &[])
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    }
    let (_, page) = boss.text(&url).await;
    assert!(page.contains("暂无节假日") && page.contains("暂无自定义工作日"));
    assert!(
        page.contains("当前：工作时间<"),
        "a plain Thursday again: {page}"
    );
    assert!(days.iter().any(|d| d.kind == DayKind::Workday));
    let resp = boss
        .post_form("/admin/timeplan/days/999999/delete", &[])
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    for (action, what) in [
        ("timeplan_update", "工作时间"),
        ("plan_day_create", "元旦"),
        ("plan_day_delete", "补班"),
    ] {
        let (_, log) = boss.text(&format!("/admin/audit?action={action}")).await;
        assert!(log.contains(what), "{action}: {log}");
    }

    // Admins who are not the super admin are refused.
    let lead = srv.login("lead").await;
    assert_eq!(lead.get(&url).await.status(), StatusCode::FORBIDDEN);
    let resp = lead.post_form("/admin/timeplan/weekly", week).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    srv.stop().await;
}
