//! Automation over real HTTP (issue 5), through the webhook and a fake WeChat
//! API on its own port: passive replies per the time plan (work hours,
//! off-hours, holiday), keyword and FAQ answers, menu-click replies, the
//! binding code of an agent's WeChat, both sides' timeouts (once, at the right
//! time, across a restart of the scheduler, skipped when the conversation
//! moved on), and the satisfaction survey (answered, or not sent for want of
//! budget, with the reason).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{APPID, Browser, FakeServer, SECRET, TestServer};
use jiff::SignedDuration;
use kefu::db::accounts::Account;
use kefu::db::automation::{AutoReplies, Timeouts};
use kefu::db::{self, DbResult};
use kefu::i18n::{Lang, shown_in};
use kefu::model::{ConversationId, ConversationState, GroupId, Role};
use kefu::wechat::xml::{Event, Inbound, InboundKind, inbound_xml};
use reqwest::StatusCode;
use std::sync::atomic::{AtomicI64, Ordering};

struct World {
    wx: FakeServer,
    srv: TestServer,
    acc: Account,
    group: GroupId,
}

static MSG_ID: AtomicI64 = AtomicI64::new(7_100_000_000_000_000);

async fn world() -> World {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("plain", &wx.url).await;
    let group = srv.group("售后组", "after").await;
    let id = acc.id;
    srv.state
        .db
        .write(move |c| {
            db::accounts::set_groups(c, id, &[group])?;
            // Agents here pick followers from the queue by id.
            let mut s = db::settings::group(c, group)?;
            s.agents_see_queue = true;
            db::settings::set_group(c, group, &s)
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
    async fn push(&self, openid: &str, kind: InboundKind) -> Option<String> {
        let m = Inbound {
            to_user: "gh_test".into(),
            from_user: openid.into(),
            create_time: self.srv.state.clock.now().as_second(),
            msg_id: (!matches!(kind, InboundKind::Event(_)))
                .then(|| MSG_ID.fetch_add(1, Ordering::SeqCst)),
            kind,
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

    async fn say(&self, openid: &str, text: &str) -> Option<String> {
        self.push(
            openid,
            InboundKind::Text {
                content: text.into(),
            },
        )
        .await
    }

    fn advance(&self, by: SignedDuration) {
        self.srv.state.clock.advance(by);
    }

    async fn write(&self, f: impl FnOnce(&rusqlite::Connection) -> DbResult<()> + Send + 'static) {
        self.srv.state.db.write(f).await.unwrap();
        self.srv.state.wechat.forget_account(self.acc.id);
    }

    async fn replies(&self, r: AutoReplies) {
        let id = self.acc.id;
        self.write(move |c| db::automation::set_auto_replies(c, id, &r))
            .await;
    }

    async fn timeouts(&self, t: Timeouts) {
        let g = self.group;
        self.write(move |c| db::automation::set_timeouts(c, g, &t))
            .await;
    }

    async fn send_all(&self) {
        let sender = self
            .srv
            .state
            .wechat
            .sender(&self.srv.state.db, &self.srv.state.clock);
        for _ in 0..10 {
            if sender.pass().await.unwrap().is_empty() {
                break;
            }
        }
    }

    /// One scheduler pass, by a fresh sweeper each time (as after a restart).
    async fn tick(&self) {
        self.srv
            .state
            .wechat
            .sweeper(&self.srv.state.db, &self.srv.state.clock)
            .pass()
            .await
            .unwrap();
        self.send_all().await;
    }

    fn sent(&self, openid: &str) -> Vec<String> {
        self.wx
            .fake
            .sent_to(openid)
            .iter()
            .map(|s| match s.msgtype.as_str() {
                "text" => s.body["text"]["content"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                other => format!("[{other}]"),
            })
            .collect()
    }

    async fn conv(&self, openid: &str) -> Option<(ConversationId, ConversationState)> {
        let (acc, openid) = (self.acc.id, openid.to_string());
        self.srv
            .state
            .db
            .read(move |c| -> DbResult<_> {
                let Some(f) = db::followers::by_openid(c, acc, &openid)? else {
                    return Ok(None);
                };
                let id: Option<ConversationId> = c.query_row(
                    "SELECT max(id) FROM conversations WHERE follower_id = ?1",
                    [f.id],
                    |r| r.get(0),
                )?;
                Ok(match id {
                    Some(id) => db::conversations::get(c, id)?.map(|v| (v.id, v.state)),
                    None => None,
                })
            })
            .await
            .unwrap()
    }

    async fn last_event(&self, id: ConversationId) -> (String, String) {
        let ev = self
            .srv
            .state
            .db
            .read(move |c| db::conversations::events(c, id))
            .await
            .unwrap();
        let last = ev.last().unwrap();
        (last.step.clone(), last.note.clone())
    }

    async fn agent(&self, name: &str) -> Tab {
        self.srv.user(name, Role::Agent, &[self.group]).await;
        let b = self.srv.login(name).await;
        let csrf = b.csrf().await;
        Tab { b, csrf }
    }
}

struct Tab {
    b: Browser,
    csrf: String,
}

impl Tab {
    async fn post(
        &self,
        srv: &TestServer,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let mut f = form.to_vec();
        f.push(("_csrf", &self.csrf));
        let r = self
            .b
            .client
            .post(srv.at(path))
            .header("HX-Request", "true")
            .form(&f)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap_or_default())
    }
}

fn plan_json(days: &str) -> String {
    // Monday…Friday 09:00–18:00 unless `days` says otherwise.
    days.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_plan_decides_welcome_off_hours_or_holiday_reply_and_nobody_is_dropped() {
    let w = world().await;
    let acc = w.acc.id;
    // The test clock starts Friday 2026-11-20 10:00 in Shanghai.
    let weekly =
        plan_json("[[[540,1080]],[[540,1080]],[[540,1080]],[[540,1080]],[[540,1080]],[],[]]");
    w.write(move |c| {
        c.execute(
            "INSERT INTO time_plans (account_id, enabled, timezone, weekly) VALUES (?1, 1, 'Asia/Shanghai', ?2)",
            rusqlite::params![acc, weekly],
        )?;
        c.execute(
            "INSERT INTO plan_days (account_id, kind, name, start_date, end_date, reply)
             VALUES (?1, 'holiday', '公司团建', '2026-11-23', '2026-11-23', '今天公司团建,客服休息一天,明天回复您。')",
            [acc],
        )?;
        Ok(())
    })
    .await;

    let r = w.say("oFanDay0000001", "你好").await.unwrap();
    assert!(
        r.contains("欢迎咨询") && r.contains("下一位"),
        "work hours: {r}"
    );

    w.advance(SignedDuration::from_hours(9)); // Friday 19:00
    let r = w.say("oFanNight00001", "在吗").await.unwrap();
    assert!(r.contains("非工作时间"), "off hours: {r}");
    assert!(!r.contains("欢迎咨询"), "{r}");
    // Not dropped: the conversation waits for the morning.
    assert_eq!(
        w.conv("oFanNight00001").await.unwrap().1,
        ConversationState::Queued
    );

    w.advance(SignedDuration::from_hours(63)); // Monday 10:00, a holiday
    let r = w.say("oFanHoliday001", "有人吗").await.unwrap();
    assert_eq!(r, "今天公司团建,客服休息一天,明天回复您。");
    // Nothing went through the customer-service API: all passive.
    w.send_all().await;
    assert!(w.sent("oFanHoliday001").is_empty());
    w.srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keywords_faq_and_menu_clicks_answer_without_a_human() {
    let w = world().await;
    let (acc, g) = (w.acc.id, w.group);
    w.write(move |c| {
        db::settings::set_account(
            c,
            acc,
            &db::settings::AccountSettings {
                trigger_mode: kefu::model::TriggerMode::Keywords,
                keywords: "人工".into(),
                menu_key: String::new(),
            },
        )?;
        db::automation::add_keyword_reply(c, acc, "营业时间", false, "每天 9:00–21:00 营业。")?;
        db::automation::add_faq(
            c,
            g,
            "怎么退货?",
            "七天无理由,在订单页申请退货。",
            &["退货".into()],
        )?;
        db::automation::add_faq(c, g, "多久发货?", "付款后 48 小时内发货。", &[])?;
        db::menu::set_reply(c, acc, "M_CONTACT", "客服电话:400-000-0000")?;
        Ok(())
    })
    .await;
    w.replies(AutoReplies {
        welcome_faq: true,
        ..AutoReplies::default()
    })
    .await;

    let openid = "oFanSelfHelp01";
    assert_eq!(
        w.say(openid, "请问营业时间是?").await.as_deref(),
        Some("每天 9:00–21:00 营业。")
    );
    assert_eq!(
        w.say(openid, "2").await.as_deref(),
        Some("付款后 48 小时内发货。")
    );
    assert_eq!(
        w.say(openid, "我想退货").await.as_deref(),
        Some("七天无理由,在订单页申请退货。")
    );
    assert!(w.conv(openid).await.is_none(), "no conversation yet");
    let click = InboundKind::Event(Event::Click {
        key: "M_CONTACT".into(),
    });
    assert_eq!(
        w.push(openid, click).await.as_deref(),
        Some("客服电话:400-000-0000")
    );
    let r = w.say(openid, "转人工").await.unwrap();
    assert!(r.contains("欢迎咨询") && r.contains("1. 怎么退货?"), "{r}");
    assert_eq!(w.conv(openid).await.unwrap().1, ConversationState::Queued);
    // Following gets the follow reply.
    let r = w
        .push(
            "oFanNewcomer01",
            InboundKind::Event(Event::Subscribe {
                scene: None,
                ticket: None,
            }),
        )
        .await
        .unwrap();
    assert!(r.contains("感谢关注"), "{r}");
    w.srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_follower_is_prompted_then_closed_once_each() {
    let w = world().await;
    w.timeouts(Timeouts {
        follower_prompt_mins: Some(2),
        follower_close_mins: Some(5),
        ..Timeouts::default()
    })
    .await;
    let amy = w.agent("amy").await;
    let openid = "oFanSilent0001";
    w.say(openid, "你好").await;
    let (id, _) = w.conv(openid).await.unwrap();
    assert_eq!(
        amy.post(&w.srv, &format!("/console/c/{id}/accept"), &[])
            .await
            .0,
        StatusCode::OK
    );
    let (s, _) = amy
        .post(
            &w.srv,
            &format!("/console/c/{id}/reply"),
            &[("text", "请问订单号是多少?")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    w.send_all().await;
    let before = w.sent(openid).len();

    w.advance(SignedDuration::from_secs(119));
    w.tick().await;
    assert_eq!(w.sent(openid).len(), before, "not yet");
    w.advance(SignedDuration::from_secs(1));
    w.tick().await;
    w.tick().await; // a second scheduler (a restart) does not repeat it
    let sent = w.sent(openid);
    assert_eq!(sent.len(), before + 1, "{sent:?}");
    assert_eq!(
        sent.last().unwrap(),
        &AutoReplies::default().follower_prompt
    );

    w.advance(SignedDuration::from_mins(3)); // 5 minutes after the agent's reply
    w.tick().await;
    w.tick().await;
    let sent = w.sent(openid);
    assert_eq!(sent.len(), before + 2, "{sent:?}");
    assert_eq!(sent.last().unwrap(), &AutoReplies::default().closing);
    assert_eq!(w.conv(openid).await.unwrap().1, ConversationState::Ended);
    let (step, note) = w.last_event(id).await;
    assert_eq!(step, "end_by_timeout");
    // Written by a background job, read in each reader's language.
    assert_eq!(shown_in(Lang::Zh, &note), "客户 5 分钟未回复，自动结束");
    assert_eq!(
        shown_in(Lang::En, &note),
        "The follower did not reply for 5 min: ended automatically"
    );

    // A follower who answers in time is not prompted for the old silence.
    let other = "oFanTalkative1";
    w.say(other, "在吗").await;
    let (id2, _) = w.conv(other).await.unwrap();
    amy.post(&w.srv, &format!("/console/c/{id2}/accept"), &[])
        .await;
    amy.post(
        &w.srv,
        &format!("/console/c/{id2}/reply"),
        &[("text", "在的")],
    )
    .await;
    w.send_all().await;
    let n = w.sent(other).len();
    w.advance(SignedDuration::from_mins(1));
    w.say(other, "我想问下物流").await;
    w.advance(SignedDuration::from_mins(4));
    w.tick().await;
    assert_eq!(
        w.sent(other).len(),
        n,
        "the silence ended: no prompt, no close"
    );
    assert_eq!(w.conv(other).await.unwrap().1, ConversationState::Active);
    w.srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_agent_gets_the_follower_comforted_then_the_conversation_moves_on() {
    let w = world().await;
    w.timeouts(Timeouts {
        agent_comfort_mins: Some(1),
        agent_transfer_mins: Some(2),
        ..Timeouts::default()
    })
    .await;
    let amy = w.agent("amy").await;
    let bob = w.agent("bob").await;
    // Bob is online and takes conversations automatically; Amy accepts by hand.
    bob.post(
        &w.srv,
        "/console/status",
        &[("status", "online"), ("auto_accept", "10")],
    )
    .await;
    bob.post(&w.srv, "/console/status", &[("status", "busy")])
        .await;
    let openid = "oFanWaiting001";
    w.say(openid, "你好").await;
    let (id, _) = w.conv(openid).await.unwrap();
    amy.post(&w.srv, &format!("/console/c/{id}/accept"), &[])
        .await;
    w.send_all().await;
    let before = w.sent(openid).len();
    bob.post(&w.srv, "/console/status", &[("status", "online")])
        .await;
    w.advance(SignedDuration::from_secs(5));
    w.say(openid, "我的快递丢了").await;

    w.advance(SignedDuration::from_mins(1));
    w.tick().await;
    w.tick().await;
    let sent = w.sent(openid);
    assert_eq!(sent.len(), before + 1, "{sent:?}");
    assert_eq!(sent.last().unwrap(), &AutoReplies::default().agent_comfort);

    w.advance(SignedDuration::from_mins(1));
    w.tick().await;
    let (step, note) = w.last_event(id).await;
    assert_eq!(step, "transfer_in_group");
    assert_eq!(shown_in(Lang::Zh, &note), "客服 2 分钟未回复，自动转接");
    assert_eq!(
        shown_in(Lang::En, &note),
        "No agent reply for 2 min: transferred automatically"
    );
    w.tick().await;
    let (step, _) = w.last_event(id).await;
    assert_eq!(step, "transfer_in_group", "once");
    w.srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_survey_is_answered_or_not_sent_with_the_reason() {
    let w = world().await;
    w.replies(AutoReplies {
        survey_on_end: true,
        greeting: String::new(),
        ..AutoReplies::default()
    })
    .await;
    let amy = w.agent("amy").await;
    let openid = "oFanRating0001";
    w.say(openid, "你好").await;
    let (id, _) = w.conv(openid).await.unwrap();
    amy.post(&w.srv, &format!("/console/c/{id}/accept"), &[])
        .await;
    let (s, _) = amy.post(&w.srv, &format!("/console/c/{id}/end"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    w.send_all().await;
    assert_eq!(w.sent(openid).last().map(String::as_str), Some("[msgmenu]"));

    let thanks = w.say(openid, "5 非常满意").await.unwrap();
    assert!(thanks.contains("感谢您的评价"), "{thanks}");
    w.say(openid, "未解决").await;
    w.say(openid, "3").await; // the last answer counts
    assert_eq!(
        survey(&w, id).await,
        ("answered".into(), Some(3), Some(false), String::new())
    );
    let follower = w
        .srv
        .state
        .db
        .read(move |c| db::conversations::get(c, id))
        .await
        .unwrap()
        .unwrap()
        .follower_id;
    let history = amy
        .b
        .client
        .get(w.srv.at(&format!("/console/f/{follower}/history")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        history.contains("满意度：3 分 · 未解决"),
        "the history shows the survey"
    );
    assert!(
        w.conv(openid).await.unwrap().0 == id,
        "answers open no conversation"
    );

    // Without budget the survey is not sent, and the reason is kept.
    let other = "oFanNoBudget01";
    w.say(other, "在吗").await;
    let (id2, _) = w.conv(other).await.unwrap();
    amy.post(&w.srv, &format!("/console/c/{id2}/accept"), &[])
        .await;
    for i in 0..5 {
        amy.post(
            &w.srv,
            &format!("/console/c/{id2}/reply"),
            &[("text", &format!("回复 {i}"))],
        )
        .await;
    }
    amy.post(&w.srv, &format!("/console/c/{id2}/end"), &[])
        .await;
    let (state, score, _, reason) = survey(&w, id2).await;
    assert_eq!((state.as_str(), score), ("not_sent", None));
    // Stored by the end's transaction, read in the reader's language.
    assert!(shown_in(Lang::Zh, &reason).contains("额度"), "{reason}");
    assert!(shown_in(Lang::En, &reason).contains("quota"), "{reason}");
    let r = amy
        .b
        .client
        .get(w.srv.at(&format!("/console/c/{id2}")))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("满意度评价未发送"));
    w.srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_binds_their_wechat_with_a_one_time_code() {
    let w = world().await;
    let amy = w.agent("amy").await;
    let (s, _) = amy.post(&w.srv, "/console/me/bind", &[]).await;
    assert!(s.is_redirection() || s == StatusCode::OK, "{s}");
    let page = amy
        .b
        .client
        .get(w.srv.at("/console/me"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = page.find("KF").expect("a code on the page");
    let code = &page[start..start + 8];
    let r = w.say("oAmyWeChat0001", code).await.unwrap();
    assert!(r.contains("绑定成功"), "{r}");
    let page = amy
        .b
        .client
        .get(w.srv.at("/console/me"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("已绑定公众号"), "{page}");
    // The code was used: it opens no conversation and binds nobody else.
    assert!(w.conv("oAmyWeChat0001").await.is_none());
    let r = w.say("oStranger00001", code).await.unwrap();
    assert!(r.contains("无效"), "{r}");
    w.srv.stop().await;
}

async fn survey(w: &World, id: ConversationId) -> (String, Option<i64>, Option<bool>, String) {
    w.srv
        .state
        .db
        .read(
            move |c| -> DbResult<(String, Option<i64>, Option<bool>, String)> {
                Ok(c.query_row(
                    "SELECT state, score, solved, reason FROM surveys WHERE conversation_id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )?)
            },
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_agents_get_template_messages_for_queued_and_unread_followers() {
    let w = world().await;
    let acc = w.acc.id;
    w.write(move |c| {
        kefu::notify::set_settings(
            c,
            acc,
            &kefu::notify::Settings {
                enabled: true,
                template_id: "TPL_KEFU_1".into(),
                ..Default::default()
            },
        )
    })
    .await;
    let amy = w.agent("amy").await;
    amy.post(&w.srv, "/console/me/bind", &[]).await;
    let page = amy
        .b
        .client
        .get(w.srv.at("/console/me"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = page.find("KF").expect("a code");
    w.say("oAmyWeChat0002", &page[start..start + 8]).await;

    // A follower queues: Amy's WeChat hears of it, once.
    w.say("oFanQueued0001", "你好,我想咨询").await;
    w.tick().await;
    w.tick().await;
    let sent = w.wx.fake.templates_sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["touser"], "oAmyWeChat0002");
    assert_eq!(sent[0]["template_id"], "TPL_KEFU_1");
    assert_eq!(sent[0]["data"]["keyword1"]["value"], "访客0001");
    assert!(
        sent[0]["data"]["first"]["value"]
            .as_str()
            .unwrap()
            .contains("排队")
    );
    // Another queued message within the interval: nothing more.
    w.advance(SignedDuration::from_mins(1));
    w.say("oFanQueued0001", "在吗").await;
    w.tick().await;
    assert_eq!(w.wx.fake.templates_sent().len(), 1, "rate-limited");

    // Accepted, then a message left unread for more than 3 minutes.
    let (id, _) = w.conv("oFanQueued0001").await.unwrap();
    amy.post(&w.srv, &format!("/console/c/{id}/accept"), &[])
        .await;
    w.advance(SignedDuration::from_mins(5));
    w.say("oFanQueued0001", "请问还在吗").await;
    w.advance(SignedDuration::from_mins(2));
    w.tick().await;
    assert_eq!(w.wx.fake.templates_sent().len(), 1, "not yet 3 minutes");
    w.advance(SignedDuration::from_mins(1));
    w.tick().await;
    let sent = w.wx.fake.templates_sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent[1]["data"]["first"]["value"]
            .as_str()
            .unwrap()
            .contains("未读")
    );
    assert_eq!(sent[1]["data"]["remark"]["value"], "请问还在吗");
    w.srv.stop().await;
}
