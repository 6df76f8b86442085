//! The agent console over real HTTP (issue 4): a follower's push opens a
//! queued conversation and is told their place; who may see the queue; only
//! the holder replies, transfers and ends; the reply budget; automatic
//! routing; transfers to an agent (decline, expiry, accept) and to another
//! group; ending with a required category; 放弃排队; queue expiry; re-opening;
//! and the live event stream with `Last-Event-ID` replay. Every send goes
//! through the outbox to a fake WeChat API on its own loopback port.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{APPID, Browser, FakeServer, SECRET, TestServer};
use jiff::SignedDuration;
use kefu::db::accounts::Account;
use kefu::db::conversations::{Conversation, EventRow};
use kefu::db::settings::GroupSettings;
use kefu::db::{self, DbError, DbResult};
use kefu::model::{ConversationId, ConversationState, FollowerId, GroupId, Role, UserId};
use reqwest::StatusCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

// ------------------------------------------------------------------ the world

/// A server, a fake WeChat, one account linked to one group.
struct World {
    wx: FakeServer,
    srv: TestServer,
    acc: Account,
    group: GroupId,
}

/// Group settings that let agents see who is queued (and so accept by id).
fn shown_queue() -> GroupSettings {
    GroupSettings {
        agents_see_queue: true,
        ..GroupSettings::default()
    }
}

async fn world() -> World {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("plain", &wx.url).await;
    let group = srv.group("售后组", "after").await;
    let id = acc.id;
    srv.state
        .db
        .write(move |c| db::accounts::set_groups(c, id, &[group]))
        .await
        .unwrap();
    srv.state.wechat.forget_account(id);
    // Agents in these scenarios pick followers from the queue by id.
    set_group(&srv, group, shown_queue()).await;
    World {
        wx,
        srv,
        acc,
        group,
    }
}

impl World {
    async fn stop(self) {
        self.srv.stop().await;
    }

    /// The follower `openid` sends `text`, signed as WeChat does, at the
    /// clock's now; returns the passive reply in the webhook's answer, if any.
    async fn say(&self, openid: &str, text: &str) -> Option<String> {
        let xml = text_xml(openid, text, self.srv.state.clock.now().as_second());
        let r = self.srv.push(&self.acc, "plain", &xml).await;
        assert_eq!(r.status(), StatusCode::OK, "push of {text:?}");
        passive_text(&r.text().await.unwrap(), openid)
    }

    fn advance(&self, by: SignedDuration) {
        self.srv.state.clock.advance(by);
    }

    async fn settings(&self, s: GroupSettings) {
        let g = self.group;
        set_group(&self.srv, g, s).await;
    }

    /// Runs sender passes until nothing is due (one row per follower per pass).
    async fn send_all(&self) {
        let sender = self
            .srv
            .state
            .wechat
            .sender(&self.srv.state.db, &self.srv.state.clock);
        for _ in 0..20 {
            sender.pass().await.unwrap();
            let now = self.srv.state.clock.now();
            let next = self.srv.state.db.read(db::outbox::next_due).await.unwrap();
            match next {
                Some(at) if at <= now => continue,
                _ => break,
            }
        }
    }

    async fn sweep(&self) {
        self.srv
            .state
            .wechat
            .sweeper(&self.srv.state.db, &self.srv.state.clock)
            .pass()
            .await
            .unwrap();
    }

    /// Texts the fake WeChat accepted for `openid`, in order.
    fn texts_to(&self, openid: &str) -> Vec<String> {
        self.wx
            .fake
            .sent_to(openid)
            .iter()
            .map(|s| {
                s.body["text"]["content"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    async fn follower(&self, openid: &str) -> FollowerId {
        let (acc, openid) = (self.acc.id, openid.to_string());
        self.srv
            .state
            .db
            .read(move |c| db::followers::by_openid(c, acc, &openid))
            .await
            .unwrap()
            .expect("follower stored")
            .id
    }

    /// The follower's latest conversation.
    async fn conv(&self, openid: &str) -> Conversation {
        let f = self.follower(openid).await;
        self.srv
            .state
            .db
            .read(move |c| -> DbResult<Option<Conversation>> {
                let id: Option<ConversationId> = c
                    .query_row(
                        "SELECT max(id) FROM conversations WHERE follower_id = ?1",
                        [f],
                        |r| r.get(0),
                    )
                    .map_err(DbError::from)?;
                match id {
                    Some(id) => db::conversations::get(c, id),
                    None => Ok(None),
                }
            })
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{openid} has no conversation"))
    }

    async fn conversations_of(&self, openid: &str) -> i64 {
        let f = self.follower(openid).await;
        count(
            &self.srv,
            "SELECT count(*) FROM conversations WHERE follower_id = ?1",
            f.0,
        )
        .await
    }

    async fn events(&self, id: ConversationId) -> Vec<EventRow> {
        self.srv
            .state
            .db
            .read(move |c| db::conversations::events(c, id))
            .await
            .unwrap()
    }

    async fn outbox_rows(&self) -> i64 {
        count(&self.srv, "SELECT count(*) FROM outbox WHERE ?1 = ?1", 0).await
    }

    /// Sets the account's quota after a follower's message.
    async fn quota(&self, n: i64) {
        let id = self.acc.id;
        let rules = db::accounts::BudgetRules {
            quota_after_message: n,
            ..self.acc.rules
        };
        self.srv
            .state
            .db
            .write(move |c| db::accounts::set_rules(c, id, &rules))
            .await
            .unwrap();
        self.srv.state.wechat.forget_account(id);
    }
}

async fn set_group(srv: &TestServer, g: GroupId, s: GroupSettings) {
    srv.state
        .db
        .write(move |c| db::settings::set_group(c, g, &s))
        .await
        .unwrap();
}

async fn count(srv: &TestServer, sql: &'static str, arg: i64) -> i64 {
    srv.state
        .db
        .read(move |c| -> DbResult<i64> { Ok(c.query_row(sql, [arg], |r| r.get(0))?) })
        .await
        .unwrap()
}

static MSG_ID: AtomicU64 = AtomicU64::new(7_000_000_000_000_000);

/// The text of a passive reply (`success`: none), checked to be addressed to `openid`.
fn passive_text(body: &str, openid: &str) -> Option<String> {
    if body == "success" {
        return None;
    }
    let field = |name: &str| {
        let open = format!("<{name}><![CDATA[");
        let start = body.find(&open)? + open.len();
        Some(body[start..].split("]]>").next()?.to_string())
    };
    assert_eq!(field("ToUserName").as_deref(), Some(openid), "{body}");
    assert_eq!(field("MsgType").as_deref(), Some("text"), "{body}");
    field("Content")
}

fn text_xml(openid: &str, text: &str, now_s: i64) -> String {
    let id = MSG_ID.fetch_add(1, Ordering::SeqCst);
    format!(
        "<xml><ToUserName><![CDATA[gh_3f2e1d0c9b8a]]></ToUserName>\
         <FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{now_s}</CreateTime>\
         <MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[{text}]]></Content>\
         <MsgId>{id}</MsgId></xml>"
    )
}

// ------------------------------------------------------------------ an agent's tab

/// A logged-in console tab: remembers its CSRF token, speaks htmx.
struct Tab {
    b: Browser,
    csrf: String,
    base: String,
}

async fn login(srv: &TestServer, name: &str) -> Tab {
    let b = srv.login(name).await;
    let csrf = b.csrf().await;
    assert!(!csrf.is_empty(), "{name} got a CSRF token");
    Tab {
        b,
        csrf,
        base: srv.url.clone(),
    }
}

impl Tab {
    /// An htmx GET: (status, body).
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self
            .b
            .client
            .get(format!("{}{path}", self.base))
            .header("HX-Request", "true")
            .send()
            .await
            .expect("GET");
        (r.status(), r.text().await.unwrap_or_default())
    }

    /// An htmx POST of a form with the CSRF token: (status, body).
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let r = self.post_raw(path, fields, true).await;
        (r.status(), r.text().await.unwrap_or_default())
    }

    async fn post_raw(&self, path: &str, fields: &[(&str, &str)], htmx: bool) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("_csrf", &self.csrf));
        let mut req = self
            .b
            .client
            .post(format!("{}{path}", self.base))
            .form(&form);
        if htmx {
            req = req.header("HX-Request", "true");
        }
        req.send().await.expect("POST")
    }

    async fn lists(&self) -> String {
        let (s, body) = self.get("/console/lists").await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body
    }

    async fn chat(&self, id: ConversationId) -> (StatusCode, String) {
        self.get(&format!("/console/c/{id}")).await
    }

    async fn status(&self, status: &str, auto_accept: Option<&str>) {
        let mut f = vec![("status", status)];
        if let Some(a) = auto_accept {
            f.push(("auto_accept", a));
        }
        let (s, body) = self.post("/console/status", &f).await;
        assert_eq!(s, StatusCode::OK, "status {status}: {body}");
    }

    async fn accept(&self, id: ConversationId) -> (StatusCode, String) {
        self.post(&format!("/console/c/{id}/accept"), &[]).await
    }

    async fn reply(&self, id: ConversationId, text: &str) -> (StatusCode, String) {
        self.post(&format!("/console/c/{id}/reply"), &[("text", text)])
            .await
    }
}

/// The message row (`<div class="row …">`) of `page` that shows `text`.
fn row_with<'a>(page: &'a str, text: &str) -> &'a str {
    page.split("<div class=\"row row-")
        .skip(1)
        .find(|r| r.contains(text))
        .unwrap_or_else(|| panic!("no row with {text:?} in:\n{page}"))
}

fn label(openid: &str) -> String {
    db::followers::short_label(openid)
}

// ------------------------------------------------------------------ 1. queue notices

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_follower_is_told_their_place_and_comforted_at_most_once_per_interval() {
    let w = world().await;
    w.settings(GroupSettings {
        comfort_every_mins: 5,
        ..shown_queue()
    })
    .await;
    // An agent at work, but with auto-accept off: nobody can receive.
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    let _amy = login(&w.srv, "amy").await;

    // The place is told in the webhook's answer (a passive reply: no quota).
    let first = w
        .say("oFanQueueFirst01", "你好,在吗")
        .await
        .expect("passive reply");
    assert!(
        first.contains("欢迎咨询") && first.contains("下一位"),
        "{first}"
    );
    let c1 = w.conv("oFanQueueFirst01").await;
    assert_eq!(c1.state, ConversationState::Queued);
    assert_eq!(c1.group_id, w.group, "the account's group queue");
    assert_eq!(c1.agent_id, None);
    let second = w
        .say("oFanQueueSecond2", "有人吗")
        .await
        .expect("passive reply");
    assert!(second.contains("您前面还有 1 位"), "{second}");
    w.send_all().await;
    assert!(
        w.texts_to("oFanQueueFirst01").is_empty(),
        "nothing by the customer-service API"
    );

    // Writing again soon after the notice: no extra reply.
    w.advance(SignedDuration::from_mins(1));
    assert_eq!(w.say("oFanQueueFirst01", "还要等多久").await, None);
    w.advance(SignedDuration::from_mins(2));
    assert_eq!(
        w.say("oFanQueueFirst01", "快点").await,
        None,
        "within the group's 5 minutes"
    );
    assert_eq!(
        w.conversations_of("oFanQueueFirst01").await,
        1,
        "same conversation"
    );

    // Past the group's interval (5 min after the notice): one comfort reply.
    w.advance(SignedDuration::from_mins(2));
    let comfort = w.say("oFanQueueFirst01", "人呢").await.expect("comfort");
    assert!(
        comfort.contains("客服正在忙") && comfort.contains("下一位"),
        "{comfort}"
    );
    // And not again right after it.
    w.advance(SignedDuration::from_secs(30));
    assert_eq!(w.say("oFanQueueFirst01", "喂").await, None);
    // The follower's messages all belong to the conversation.
    let n = count(
        &w.srv,
        "SELECT count(*) FROM messages WHERE conversation_id = ?1 AND direction = 'in'",
        c1.id.0,
    )
    .await;
    assert_eq!(n, 5);
    w.stop().await;
}

// ------------------------------------------------------------------ 2. who sees the queue

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_agents_see_only_the_queue_count_unless_the_group_allows_more() {
    let w = world().await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    w.srv.user("boss", Role::Admin, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let boss = login(&w.srv, "boss").await;
    w.settings(GroupSettings::default()).await; // the queue hidden from agents
    let openid = "oFanHiddenQ7Z9";
    w.say(openid, "我要退货").await;
    let conv = w.conv(openid).await;
    assert_eq!(conv.state, ConversationState::Queued);

    let lists = amy.lists().await;
    assert!(lists.contains("1 位客户正在排队"), "{lists}");
    assert!(lists.contains("接入下一位"), "{lists}");
    assert!(
        !lists.contains(openid),
        "no OpenID for a plain agent: {lists}"
    );
    assert!(!lists.contains(&label(openid)), "no label: {lists}");
    assert!(!lists.contains("我要退货"), "no preview: {lists}");
    let (s, body) = amy.chat(conv.id).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("排队详情仅管理员可见"), "{body}");
    assert!(!body.contains("我要退货"), "{body}");
    // Not by the full page either.
    let (s, page) = amy.b.text(&format!("/console?c={}", conv.id)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!page.contains("我要退货"), "{page}");
    // Nor through the follower's history or profile.
    for path in [
        format!("/console/f/{}/history", conv.follower_id),
        format!("/console/f/{}/profile", conv.follower_id),
    ] {
        let (s, page) = amy.b.text(&path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
        assert!(!page.contains("我要退货"), "{path}: {page}");
    }

    // The group's admin sees who is waiting.
    let lists = boss.lists().await;
    assert!(lists.contains(&label(openid)), "{lists}");
    assert!(lists.contains(openid), "{lists}");
    assert!(!lists.contains("位客户正在排队"), "{lists}");
    let (s, body) = boss.chat(conv.id).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("我要退货"), "{body}");

    // The group lets agents see the queue.
    w.settings(GroupSettings {
        agents_see_queue: true,
        ..shown_queue()
    })
    .await;
    let lists = amy.lists().await;
    assert!(lists.contains(&label(openid)), "{lists}");
    assert!(!lists.contains("位客户正在排队"), "{lists}");
    let (s, body) = amy.chat(conv.id).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("我要退货"), "{body}");
    w.stop().await;
}

// ------------------------------------------------------------------ 3. only the holder acts

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_holder_replies_transfers_and_ends_and_the_reply_reaches_wechat() {
    let w = world().await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    w.srv.user("bob", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let bob = login(&w.srv, "bob").await;
    let openid = "oFanHolder0001";
    w.say(openid, "订单号 123").await;
    w.send_all().await;
    let conv = w.conv(openid).await;

    let (s, body) = amy.accept(conv.id).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("订单号 123"), "{body}");
    let conv = w.conv(openid).await;
    assert_eq!(conv.state, ConversationState::Active);
    let amy_id = conv.agent_id.expect("held");
    // Accepting again, by someone else: refused.
    let (s, body) = bob.accept(conv.id).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");

    let before = w.outbox_rows().await;
    let (s, body) = bob.reply(conv.id, "我来回复").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("只有接待该会话的客服可以回复"), "{body}");
    let (s, body) = bob.post(&format!("/console/c/{}/end", conv.id), &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("只有接待该会话的客服可以"), "{body}");
    let target = format!("u{}", amy_id.0);
    let (s, body) = bob
        .post(
            &format!("/console/c/{}/transfer", conv.id),
            &[("target", &target), ("note", "x")],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("只有接待该会话的客服可以"), "{body}");
    assert_eq!(w.outbox_rows().await, before, "nothing written for bob");
    assert_eq!(w.conv(openid).await.state, ConversationState::Active);
    assert_eq!(w.conv(openid).await.agent_id, Some(amy_id));

    let (s, row) = amy.reply(conv.id, "您好,已为您查询").await;
    assert_eq!(s, StatusCode::OK, "{row}");
    assert!(row.contains("您好,已为您查询"), "{row}");
    assert!(row.contains("发送中"), "{row}");
    assert_eq!(w.outbox_rows().await, before + 1);
    w.send_all().await;
    let texts = w.texts_to(openid);
    assert_eq!(
        texts.last().map(String::as_str),
        Some("您好,已为您查询"),
        "{texts:?}"
    );
    let (s, page) = amy.chat(conv.id).await;
    assert_eq!(s, StatusCode::OK);
    let r = row_with(&page, "您好,已为您查询");
    assert!(r.contains("已送达"), "{r}");
    assert!(!r.contains("发送中"), "{r}");
    // Bob sees the chat, read-only.
    let (s, page) = bob.chat(conv.id).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("只有接待的客服可以回复"), "{page}");
    assert!(!page.contains("id=\"composer\""), "{page}");
    w.stop().await;
}

// ------------------------------------------------------------------ 4. budget

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_stop_when_the_quota_is_used_and_after_48_hours() {
    let w = world().await;
    w.quota(3).await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let openid = "oFanBudget0001";
    w.say(openid, "在吗").await;
    let conv = w.conv(openid).await;
    assert_eq!(amy.accept(conv.id).await.0, StatusCode::OK);
    // The queue notice used one of three.
    assert_eq!(amy.reply(conv.id, "第一条").await.0, StatusCode::OK);
    assert_eq!(amy.reply(conv.id, "第二条").await.0, StatusCode::OK);
    let before = w.outbox_rows().await;
    // Still pending: refused already, counting what is waiting.
    let (s, body) = amy.reply(conv.id, "第三条").await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("额度"), "{body}");
    w.send_all().await;
    assert_eq!(w.texts_to(openid).len(), 3, "{:?}", w.texts_to(openid));
    let (s, body) = amy.reply(conv.id, "第三条").await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("额度已用完"), "{body}");
    assert_eq!(w.outbox_rows().await, before, "nothing queued");
    let (s, page) = amy.chat(conv.id).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("<textarea disabled"), "{page}");
    assert!(page.contains("无法回复："), "{page}");
    assert!(page.contains("额度已用完"), "{page}");
    assert!(!page.contains("id=\"composer\""), "{page}");

    // The follower writes again: the quota is back.
    w.advance(SignedDuration::from_mins(1));
    w.say(openid, "还在吗").await;
    assert_eq!(amy.reply(conv.id, "在的").await.0, StatusCode::OK);
    w.send_all().await;
    assert_eq!(w.texts_to(openid).last().unwrap(), "在的");
    let (_, page) = amy.chat(conv.id).await;
    assert!(page.contains("id=\"composer\""), "{page}");

    // 48 hours after the follower's last message: nothing may be sent.
    w.advance(SignedDuration::from_hours(48) + SignedDuration::from_secs(1));
    // The session idled out meanwhile: the agent logs in again.
    let amy = login(&w.srv, "amy").await;
    let (s, body) = amy.reply(conv.id, "太晚了").await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("48 小时"), "{body}");
    let (_, page) = amy.chat(conv.id).await;
    assert!(page.contains("<textarea disabled"), "{page}");
    assert!(page.contains("48 小时"), "{page}");
    assert_eq!(w.outbox_rows().await, before + 1);
    w.stop().await;
}

// ------------------------------------------------------------------ 5. routing

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_agents_with_auto_accept_receive_in_turn_busy_and_offline_ones_nothing() {
    let w = world().await;
    let a = w.srv.user("amy", Role::Agent, &[w.group]).await;
    let b = w.srv.user("bob", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let bob = login(&w.srv, "bob").await;
    amy.status("online", Some("10")).await;
    bob.status("online", Some("10")).await;

    let mut got = vec![];
    for i in 0..4 {
        w.advance(SignedDuration::from_secs(1));
        let openid = format!("oFanRoute000{i}");
        w.say(&openid, "你好").await;
        let c = w.conv(&openid).await;
        assert_eq!(c.state, ConversationState::Active, "{openid} routed");
        got.push(c.agent_id.unwrap());
        let ev = w.events(c.id).await;
        assert_eq!(ev.last().unwrap().step, "route", "{ev:?}");
        assert_eq!(ev.last().unwrap().to, c.agent_id);
    }
    assert_eq!(got, [a, b, a, b], "round robin");
    // A routed follower is not told about a queue.
    w.send_all().await;
    assert!(w.texts_to("oFanRoute0000").is_empty());
    // Each sees them among their conversations.
    let lists = bob.lists().await;
    assert!(lists.contains(&label("oFanRoute0001")), "{lists}");

    // Bob busy: everything goes to Amy.
    bob.status("busy", None).await;
    for i in 4..6 {
        w.advance(SignedDuration::from_secs(1));
        let openid = format!("oFanRoute000{i}");
        w.say(&openid, "你好").await;
        assert_eq!(w.conv(&openid).await.agent_id, Some(a), "{openid}");
    }
    // Amy offline too: the next one waits.
    amy.status("offline", None).await;
    w.advance(SignedDuration::from_secs(1));
    w.say("oFanRoute0006", "你好").await;
    let c = w.conv("oFanRoute0006").await;
    assert_eq!(c.state, ConversationState::Queued);
    assert_eq!(c.agent_id, None);
    // Bob back online (his limit kept): the queue drains to him.
    bob.status("online", None).await;
    let c = w.conv("oFanRoute0006").await;
    assert_eq!(c.state, ConversationState::Active);
    assert_eq!(c.agent_id, Some(b));
    let held_by = |u: UserId| {
        let srv = &w.srv;
        async move {
            count(
                srv,
                "SELECT count(*) FROM conversations WHERE state = 'active' AND agent_id = ?1",
                u.0,
            )
            .await
        }
    };
    assert_eq!(held_by(a).await, 4);
    assert_eq!(held_by(b).await, 3);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_auto_accept_followers_wait_until_an_agent_takes_the_next_one() {
    let w = world().await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    // Logged in (online), auto-accept never switched on.
    let amy = login(&w.srv, "amy").await;
    w.say("oFanManual0001", "你好").await;
    w.advance(SignedDuration::from_secs(1));
    w.say("oFanManual0002", "你好").await;
    assert_eq!(
        w.conv("oFanManual0001").await.state,
        ConversationState::Queued
    );
    // "接入下一位" takes the first in line.
    let g = w.group.0.to_string();
    let (s, body) = amy.post("/console/accept", &[("group", &g)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        w.conv("oFanManual0001").await.state,
        ConversationState::Active
    );
    assert_eq!(
        w.conv("oFanManual0002").await.state,
        ConversationState::Queued
    );
    let (s, body) = amy.post("/console/accept", &[("group", &g)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = amy.post("/console/accept", &[("group", &g)]).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("当前没有排队的客户"), "{body}");
    // A limit outside 10..50 is refused.
    let (s, _) = amy
        .post(
            "/console/status",
            &[("status", "online"), ("auto_accept", "7")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    w.stop().await;
}

async fn auto_accept_of(srv: &TestServer, u: UserId) -> Option<i64> {
    srv.state
        .db
        .read(move |c| -> DbResult<Option<i64>> {
            Ok(c.query_row(
                "SELECT auto_accept FROM agent_settings WHERE user_id = ?1",
                [u],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap()
}

/// The console's 自动接入 select sends the value of its 关闭 option: whatever
/// the page offers must switch auto-accept off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_auto_accept_off_in_the_console_stops_automatic_assignment() {
    let w = world().await;
    let a = w.srv.user("amy", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    amy.status("online", Some("10")).await;
    assert_eq!(auto_accept_of(&w.srv, a).await, Some(10));
    // What the page's select sends for 关闭: read it from the page.
    let (_, page) = amy.b.text("/console").await;
    let select = &page[page.find("name=\"auto_accept\"").expect("the select")..];
    let option = &select[..select.find(">关闭<").expect("a 关闭 option")];
    let value = option
        .rsplit("value=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    amy.status("online", Some(value)).await;
    assert_eq!(
        auto_accept_of(&w.srv, a).await,
        None,
        "auto_accept= (关闭) must switch auto-accept off"
    );
    w.say("oFanManual0003", "你好").await;
    let c = w.conv("oFanManual0003").await;
    assert_eq!(c.state, ConversationState::Queued, "{c:?}");
    w.stop().await;
}

// ------------------------------------------------------------------ 6. transfer to an agent

async fn transfer_row(w: &World, conv: ConversationId) -> (i64, String) {
    w.srv
        .state
        .db
        .read(move |c| -> DbResult<(i64, String)> {
            Ok(c.query_row(
                "SELECT id, state FROM transfers WHERE conversation_id = ?1 ORDER BY id DESC LIMIT 1",
                [conv],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_is_declined_expires_or_is_accepted() {
    let w = world().await;
    w.settings(GroupSettings {
        transfer_timeout_secs: 30,
        ..shown_queue()
    })
    .await;
    let a = w.srv.user("amy", Role::Agent, &[w.group]).await;
    let b = w.srv.user("bob", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let bob = login(&w.srv, "bob").await;
    let openid = "oFanTransfer01";
    w.say(openid, "要退款").await;
    let conv = w.conv(openid).await;
    assert_eq!(amy.accept(conv.id).await.0, StatusCode::OK);
    let to_bob = format!("u{}", b.0);
    let path = format!("/console/c/{}/transfer", conv.id);

    // 1: declined.
    let (s, body) = amy
        .post(&path, &[("target", &to_bob), ("note", "客户要退款,请跟进")])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("已请求转接给"), "{body}");
    let (t1, state) = transfer_row(&w, conv.id).await;
    assert_eq!(state, "pending");
    let lists = bob.lists().await;
    assert!(
        lists.contains(&format!("data-transfer=\"{t1}\"")),
        "{lists}"
    );
    assert!(lists.contains("客户要退款,请跟进"), "{lists}");
    assert!(lists.contains("请求将"), "{lists}");
    // A second request while one is pending: refused.
    let (s, body) = amy.post(&path, &[("target", &to_bob), ("note", "")]).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    // Only Bob answers it.
    let (s, _) = amy
        .post(&format!("/console/transfers/{t1}/accept"), &[])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = bob
        .post(&format!("/console/transfers/{t1}/decline"), &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(transfer_row(&w, conv.id).await.1, "declined");
    let c = w.conv(openid).await;
    assert_eq!((c.state, c.agent_id), (ConversationState::Active, Some(a)));
    assert!(
        !w.events(conv.id)
            .await
            .iter()
            .any(|e| e.step.starts_with("transfer")),
        "{:?}",
        w.events(conv.id).await
    );
    assert!(!bob.lists().await.contains("data-transfer="));
    // A declined request cannot be accepted afterwards.
    let (s, _) = bob
        .post(&format!("/console/transfers/{t1}/accept"), &[])
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // 2: not answered in time.
    let (s, body) = amy
        .post(&path, &[("target", &to_bob), ("note", "再试一次")])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (t2, _) = transfer_row(&w, conv.id).await;
    assert_ne!(t1, t2);
    w.advance(SignedDuration::from_secs(20));
    w.sweep().await;
    assert_eq!(transfer_row(&w, conv.id).await.1, "pending", "not yet");
    w.advance(SignedDuration::from_secs(11));
    w.sweep().await;
    assert_eq!(transfer_row(&w, conv.id).await.1, "expired");
    assert_eq!(w.conv(openid).await.agent_id, Some(a));
    assert!(!bob.lists().await.contains("data-transfer="));
    let (s, body) = bob
        .post(&format!("/console/transfers/{t2}/accept"), &[])
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("该转接请求已失效"), "{body}");
    assert_eq!(w.conv(openid).await.agent_id, Some(a));

    // 3: accepted.
    let (s, body) = amy
        .post(&path, &[("target", &to_bob), ("note", "第三次,拜托")])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (t3, _) = transfer_row(&w, conv.id).await;
    let (s, body) = bob
        .post(&format!("/console/transfers/{t3}/accept"), &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(transfer_row(&w, conv.id).await.1, "accepted");
    let c = w.conv(openid).await;
    assert_eq!((c.state, c.agent_id), (ConversationState::Active, Some(b)));
    let ev = w.events(conv.id).await;
    let tr: Vec<&EventRow> = ev
        .iter()
        .filter(|e| e.step.starts_with("transfer"))
        .collect();
    assert_eq!(tr.len(), 1, "{ev:?}");
    assert_eq!(tr[0].step, "transfer_in_group");
    assert_eq!(tr[0].actor, Some(a));
    assert_eq!(tr[0].to, Some(b));
    assert_eq!(tr[0].note, "第三次,拜托");
    // Now Bob replies and Amy may not.
    let (s, body) = amy.reply(conv.id, "我还在").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(bob.reply(conv.id, "我是 Bob").await.0, StatusCode::OK);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_needs_an_online_agent_of_the_group() {
    let w = world().await;
    let other = w.srv.group("售前组", "pre").await;
    set_group(&w.srv, other, shown_queue()).await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    let b = w.srv.user("bob", Role::Agent, &[w.group]).await;
    let c = w.srv.user("cat", Role::Agent, &[other]).await;
    let amy = login(&w.srv, "amy").await;
    w.say("oFanTransfer02", "你好").await;
    let conv = w.conv("oFanTransfer02").await;
    assert_eq!(amy.accept(conv.id).await.0, StatusCode::OK);
    let path = format!("/console/c/{}/transfer", conv.id);
    // Bob never logged in: offline.
    let (s, body) = amy
        .post(&path, &[("target", &format!("u{}", b.0)), ("note", "")])
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("离线"), "{body}");
    let (s, body) = amy
        .post(&path, &[("target", &format!("u{}", c.0)), ("note", "")])
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("只能转接给本客服组的客服"), "{body}");
    let (s, _) = amy.post(&path, &[("target", ""), ("note", "")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        count(&w.srv, "SELECT count(*) FROM transfers WHERE ?1 = ?1", 0).await,
        0
    );
    w.stop().await;
}

// ------------------------------------------------------------------ 7. transfer to a group

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_to_another_group_queues_the_follower_there() {
    let w = world().await;
    let other = w.srv.group("售前组", "pre").await;
    set_group(&w.srv, other, shown_queue()).await;
    let a = w.srv.user("amy", Role::Agent, &[w.group]).await;
    w.srv.user("cat", Role::Agent, &[other]).await;
    let amy = login(&w.srv, "amy").await;
    let cat = login(&w.srv, "cat").await;
    let openid = "oFanToGroup001";
    w.say(openid, "我想买新品").await;
    w.send_all().await;
    let conv = w.conv(openid).await;
    assert_eq!(amy.accept(conv.id).await.0, StatusCode::OK);
    assert!(!cat.lists().await.contains("位客户正在排队"));
    // The transfer dialog offers the group's agents (not a super admin in no
    // group) and the other groups (not the conversation's own).
    w.srv.user("boss", Role::SuperAdmin, &[]).await;
    let (s, chat) = amy.chat(conv.id).await;
    assert_eq!(s, StatusCode::OK, "{chat}");
    let dialog = &chat[chat.find("转接给").expect("the transfer dialog")..];
    let dialog = &dialog[..dialog.find("</select>").unwrap_or(dialog.len())];
    assert!(
        dialog.contains(&format!("value=\"g{}\"", other.0)),
        "{dialog}"
    );
    assert!(
        !dialog.contains(&format!("value=\"g{}\"", w.group.0)),
        "{dialog}"
    );
    assert!(!dialog.contains("boss显示名"), "{dialog}");

    let target = format!("g{}", other.0);
    let (s, body) = amy
        .post(
            &format!("/console/c/{}/transfer", conv.id),
            &[("target", &target), ("note", "售前问题")],
        )
        .await;
    let c = w.conv(openid).await;
    assert_eq!(c.id, conv.id, "the same conversation");
    assert_eq!(c.state, ConversationState::Queued);
    assert_eq!(c.group_id, other);
    assert_eq!(c.agent_id, None);
    let ev = w.events(conv.id).await;
    let last = ev.last().unwrap();
    assert_eq!(last.step, "transfer_to_group", "{ev:?}");
    assert_eq!(last.actor, Some(a));
    assert_eq!(last.note, "售前问题");
    // The other group's agent sees it in the queue; Amy's lists lose it.
    let lists = cat.lists().await;
    assert!(lists.contains(&label(openid)), "{lists}");
    let lists = amy.lists().await;
    assert!(!lists.contains(&label(openid)), "{lists}");
    // The follower is told they wait again.
    w.send_all().await;
    let texts = w.texts_to(openid);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[1].contains("已为您转接人工客服"), "{texts:?}");
    // Cat accepts it.
    assert_eq!(cat.accept(conv.id).await.0, StatusCode::OK);
    assert_eq!(w.conv(openid).await.state, ConversationState::Active);
    // The transfer itself succeeded, so the answer to Amy must not be an error
    // (she can no longer see the conversation; the chat she gets back may be
    // empty, but not a 403).
    assert!(
        s.is_success(),
        "transfer to another group answered {s}: {body}"
    );
    w.stop().await;
}

// ------------------------------------------------------------------ 8. end with a category

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_requires_a_category_when_the_group_says_so() {
    let w = world().await;
    w.settings(GroupSettings {
        require_category: true,
        ..shown_queue()
    })
    .await;
    let g = w.group;
    let cat: i64 = w
        .srv
        .state
        .db
        .write(move |c| -> DbResult<i64> {
            c.execute(
                "INSERT INTO categories (group_id, name) VALUES (?1, '物流查询')",
                [g],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
        .unwrap();
    // A category of another group does not count.
    let other = w.srv.group("售前组", "pre").await;
    set_group(&w.srv, other, shown_queue()).await;
    let foreign: i64 = w
        .srv
        .state
        .db
        .write(move |c| -> DbResult<i64> {
            c.execute(
                "INSERT INTO categories (group_id, name) VALUES (?1, '别组分类')",
                [other],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
        .unwrap();
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let openid = "oFanCategory01";
    w.say(openid, "快递到哪了").await;
    let conv = w.conv(openid).await;
    let (s, page) = amy.accept(conv.id).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("物流查询"), "{page}");
    assert!(page.contains("至少选择一项"), "{page}");
    let path = format!("/console/c/{}/end", conv.id);

    let (s, body) = amy.post(&path, &[("remark", "已查")]).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("请至少选择一个咨询分类"), "{body}");
    let foreign = foreign.to_string();
    let (s, body) = amy.post(&path, &[("category", &foreign)]).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(w.conv(openid).await.state, ConversationState::Active);

    let cat_s = cat.to_string();
    let (s, body) = amy
        .post(&path, &[("category", &cat_s), ("remark", "已告知单号")])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let c = w.conv(openid).await;
    assert_eq!(c.state, ConversationState::Ended);
    assert_eq!(w.events(c.id).await.last().unwrap().step, "end_by_agent");
    let rows: Vec<i64> = w
        .srv
        .state
        .db
        .read(move |c| -> DbResult<Vec<i64>> {
            let mut s = c.prepare(
                "SELECT category_id FROM conversation_categories WHERE conversation_id = ?1",
            )?;
            Ok(s.query_map([conv.id], |r| r.get(0))?
                .collect::<Result<Vec<_>, _>>()?)
        })
        .await
        .unwrap();
    assert_eq!(rows, [cat]);

    let f = w.follower(openid).await;
    let (s, page) = amy.b.text(&format!("/console/f/{f}/history")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("快递到哪了"), "{page}");
    let table = page
        .split("<tbody>")
        .nth(1)
        .and_then(|t| t.split("</tbody>").next())
        .unwrap_or_else(|| panic!("no conversations table: {page}"));
    assert!(table.contains("物流查询"), "{table}");
    assert!(table.contains("已接待"), "{table}");
    assert!(table.contains("amy显示名"), "{table}");
    assert!(!table.contains("别组分类"), "{table}");
    w.stop().await;
}

// ------------------------------------------------------------------ 9. 放弃排队

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_follower_leaves_the_queue_with_a_keyword() {
    let w = world().await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    let _amy = login(&w.srv, "amy").await;
    let openid = "oFanAbandon001";
    let told = w.say(openid, "你好").await.unwrap_or_default();
    assert!(told.contains("下一位"), "{told}");
    let conv = w.conv(openid).await;
    assert_eq!(conv.state, ConversationState::Queued);
    w.advance(SignedDuration::from_secs(10));
    let left = w.say(openid, "放弃排队").await.unwrap_or_default();
    assert!(left.contains("您已退出排队"), "{left}");
    let c = w.conv(openid).await;
    assert_eq!(c.id, conv.id);
    assert_eq!(c.state, ConversationState::Ended);
    let ev = w.events(conv.id).await;
    assert_eq!(ev.last().unwrap().step, "abandon", "{ev:?}");
    // Writing again opens a new conversation.
    w.advance(SignedDuration::from_mins(1));
    w.say(openid, "我又来了").await;
    let again = w.conv(openid).await;
    assert_ne!(again.id, conv.id);
    assert_eq!(again.state, ConversationState::Queued);
    w.stop().await;
}

// ------------------------------------------------------------------ 10. queue expiry

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_queued_too_long_expires() {
    let w = world().await;
    w.settings(GroupSettings {
        queue_expiry_hours: 2,
        ..shown_queue()
    })
    .await;
    let openid = "oFanExpire0001";
    w.say(openid, "有人吗").await;
    let conv = w.conv(openid).await;
    w.advance(SignedDuration::from_mins(119));
    w.sweep().await;
    assert_eq!(w.conv(openid).await.state, ConversationState::Queued);
    w.advance(SignedDuration::from_mins(1));
    w.sweep().await;
    let c = w.conv(openid).await;
    assert_eq!(c.state, ConversationState::Ended);
    let ev = w.events(conv.id).await;
    let last = ev.last().unwrap();
    assert_eq!(last.step, "expire", "{ev:?}");
    assert_eq!(
        kefu::i18n::shown_in(kefu::i18n::Lang::Zh, &last.note),
        "排队超过 2 小时"
    );
    // Once only.
    w.advance(SignedDuration::from_hours(3));
    w.sweep().await;
    assert_eq!(
        w.events(conv.id)
            .await
            .iter()
            .filter(|e| e.step == "expire")
            .count(),
        1
    );
    w.stop().await;
}

// ------------------------------------------------------------------ 11. re-open

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_conversation_reopens_only_while_wechat_allows_replies() {
    let w = world().await;
    let a = w.srv.user("amy", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let openid = "oFanReopen0001";
    w.say(openid, "咨询一下").await;
    let first = w.conv(openid).await;
    assert_eq!(amy.accept(first.id).await.0, StatusCode::OK);
    let (s, body) = amy.post(&format!("/console/c/{}/end", first.id), &[]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("重新发起会话"), "{body}");
    let f = w.follower(openid).await;
    let path = format!("/console/f/{f}/reopen");

    let r = amy.post_raw(&path, &[], false).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let second = w.conv(openid).await;
    assert_ne!(second.id, first.id);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("/console?c={}", second.id)
    );
    assert_eq!(second.state, ConversationState::Active);
    assert_eq!(second.agent_id, Some(a));
    assert_eq!(second.group_id, w.group);
    // While open, it cannot be re-opened again.
    let (s, body) = amy.post(&path, &[]).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("您正在接待该粉丝"), "{body}");
    assert_eq!(amy.reply(second.id, "接着说").await.0, StatusCode::OK);
    assert_eq!(
        amy.post(&format!("/console/c/{}/end", second.id), &[])
            .await
            .0,
        StatusCode::OK
    );

    // Two days later WeChat would refuse: so is the re-open.
    w.advance(SignedDuration::from_hours(49));
    // The session idled out meanwhile: the agent logs in again.
    let amy = login(&w.srv, "amy").await;
    let (s, body) = amy.post(&path, &[]).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("无法重新发起会话"), "{body}");
    assert!(body.contains("48 小时"), "{body}");
    assert_eq!(w.conversations_of(openid).await, 2, "nothing opened");
    w.stop().await;
}

// ------------------------------------------------------------------ 12. live events

/// One server-sent event.
#[derive(Debug, Clone)]
struct Frame {
    id: Option<String>,
    event: String,
    data: String,
}

/// Reads a stream, frame by frame, with a timeout per wait.
struct Sse {
    resp: reqwest::Response,
    buf: String,
}

impl Sse {
    async fn open(tab: &Tab, last_event_id: Option<&str>) -> Sse {
        let mut req = tab
            .b
            .client
            .get(format!("{}/console/events", tab.base))
            .header("Accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req.send().await.expect("events");
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Sse {
            resp,
            buf: String::new(),
        }
    }

    /// The next frame with an `event:` line (comments and `retry:` skipped).
    async fn next(&mut self) -> Option<Frame> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let raw: String = self.buf[..end].to_string();
                self.buf.drain(..end + 2);
                let mut f = Frame {
                    id: None,
                    event: String::new(),
                    data: String::new(),
                };
                let mut data = vec![];
                for line in raw.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        f.id = Some(v.to_string());
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        f.event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push(v);
                    }
                }
                f.data = data.join("\n");
                if !f.event.is_empty() {
                    return Some(f);
                }
            }
            match tokio::time::timeout(Duration::from_secs(5), self.resp.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// Frames until one matches `want` (all of them, the match last).
    async fn until(&mut self, what: &str, want: impl Fn(&Frame) -> bool) -> Vec<Frame> {
        let mut seen = vec![];
        loop {
            match self.next().await {
                Some(f) => {
                    let done = want(&f);
                    seen.push(f);
                    if done {
                        return seen;
                    }
                }
                None => panic!("no {what} frame; got {seen:?}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_shows_new_messages_and_replays_after_a_reconnect() {
    let w = world().await;
    // The group's admin: allowed to see queued followers in detail.
    w.srv.user("amy", Role::Admin, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    // An agent of another group hears nothing of this group.
    let other = w.srv.group("售前组", "pre").await;
    set_group(&w.srv, other, shown_queue()).await;
    w.srv.user("cat", Role::Agent, &[other]).await;
    let cat = login(&w.srv, "cat").await;

    let mut sse = Sse::open(&amy, None).await;
    let hello = sse.next().await.expect("hello");
    assert_eq!(hello.event, "hello");
    let mut cat_sse = Sse::open(&cat, None).await;
    assert_eq!(cat_sse.next().await.expect("hello").event, "hello");

    let openid = "oFanLive000001";
    w.say(openid, "实时消息测试").await;
    let frames = sse
        .until("msg with the notice", |f| {
            f.event == "msg" && f.data.contains("已为您转接人工客服")
        })
        .await;
    let first = frames[0].clone();
    let first_id = first.id.clone().expect("events carry an id");
    assert_eq!(first.event, "msg", "{frames:?}");
    assert!(first.data.contains("实时消息测试"), "{first:?}");
    let data: serde_json::Value = serde_json::from_str(&first.data).unwrap();
    let conv = w.conv(openid).await;
    assert_eq!(data["conv"], conv.id.0);
    assert_eq!(data["follower"], w.follower(openid).await.0);
    assert!(data["html"].as_str().unwrap().contains("实时消息测试"));
    assert!(
        frames.iter().any(|f| f.event == "lists"),
        "the lists change: {frames:?}"
    );
    let later: Vec<(String, String)> = frames[1..]
        .iter()
        .map(|f| (f.id.clone().unwrap(), f.event.clone()))
        .collect();
    assert!(!later.is_empty());

    // Cat, in another group, got none of it.
    if let Some(f) = tokio::time::timeout(Duration::from_millis(500), cat_sse.next())
        .await
        .ok()
        .flatten()
    {
        panic!("cat should hear nothing of the other group: {f:?}");
    }
    drop(cat_sse);

    // The tab reconnects after the first event: the rest is replayed, in order.
    drop(sse);
    let mut again = Sse::open(&amy, Some(&first_id)).await;
    let replay = again
        .until("the replayed notice", |f| {
            f.event == "msg" && f.data.contains("已为您转接人工客服")
        })
        .await;
    let got: Vec<(String, String)> = replay
        .iter()
        .map(|f| (f.id.clone().unwrap_or_default(), f.event.clone()))
        .collect();
    assert_eq!(got, later, "exactly what followed the first event");
    assert!(replay.iter().all(|f| f.id.as_deref() != Some(&first_id)));
    // And it goes on live.
    w.advance(SignedDuration::from_mins(10));
    w.say(openid, "第二条实时").await;
    again
        .until("the live message", |f| {
            f.event == "msg" && f.data.contains("第二条实时")
        })
        .await;
    drop(again);

    // An id from nowhere: the page must re-render.
    let mut bogus = Sse::open(&amy, Some("deadbeef-3")).await;
    let f = bogus.next().await.expect("a frame");
    assert_eq!(f.event, "resync", "{f:?}");
    drop(bogus);
    let mut bogus = Sse::open(&amy, Some("nonsense")).await;
    assert_eq!(bogus.next().await.expect("a frame").event, "resync");
    drop(bogus);
    w.stop().await;
}

// ------------------------------------------------------------------ images (D4, D9)

impl Tab {
    async fn upload(&self, id: ConversationId, name: &str, bytes: Vec<u8>) -> (StatusCode, String) {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
        let form = reqwest::multipart::Form::new().part("file", part);
        let r = self
            .b
            .client
            .post(format!("{}/console/c/{id}/image", self.base))
            .header("X-CSRF-Token", &self.csrf)
            .header("HX-Request", "true")
            .multipart(form)
            .send()
            .await
            .expect("upload");
        (r.status(), r.text().await.unwrap_or_default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_holder_sends_an_image_and_can_send_it_again() {
    let w = world().await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    w.srv.user("bob", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let bob = login(&w.srv, "bob").await;
    let openid = "oFanPicture0042";
    w.say(openid, "能发张图吗").await;
    let conv = w.conv(openid).await;
    assert_eq!(amy.accept(conv.id).await.0, StatusCode::OK);
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-not-really-but-sniffed".to_vec();

    // Only the holder; only real images; not more than 10 MB.
    assert_eq!(
        bob.upload(conv.id, "a.png", png.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, body) = amy
        .upload(conv.id, "x.svg", b"<svg onload=alert(1)>".to_vec())
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("只能发送 JPG、PNG 或 GIF 图片"), "{body}");
    let mut big = png.clone();
    big.resize(11 * 1024 * 1024, 0);
    let part = reqwest::multipart::Part::bytes(big).file_name("big.png");
    let sent = amy
        .b
        .client
        .post(format!("{}/console/c/{}/image", amy.base, conv.id))
        .header("X-CSRF-Token", &amy.csrf)
        .header("HX-Request", "true")
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await;
    // The server answers 413 as soon as the body passes the limit and closes
    // the connection; the client may still be writing and see the reset instead.
    match sent {
        Ok(r) => assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(e) => assert!(e.is_request() || e.is_body(), "{e:?}"),
    }
    // The connection the server closed may be tried once more and fail: a
    // throw-away request clears it from the pool.
    let _ = amy
        .b
        .client
        .get(format!("{}/healthz", amy.base))
        .send()
        .await;

    let (s, row) = amy.upload(conv.id, "商品图.png", png.clone()).await;
    assert_eq!(s, StatusCode::OK, "{row}");
    assert!(
        row.contains("/console/uploads/") && row.contains("发送中"),
        "{row}"
    );
    w.send_all().await;
    let sent: Vec<_> =
        w.wx.fake
            .sent_to(openid)
            .into_iter()
            .filter(|s| s.msgtype == "image")
            .collect();
    assert_eq!(sent.len(), 1, "one image sent");
    let media_id = sent[0].body["image"]["media_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (ct, bytes) =
        w.wx.fake
            .media(&media_id)
            .expect("uploaded to WeChat first");
    assert_eq!((ct.as_str(), bytes.as_ref()), ("image/png", png.as_slice()));

    // The upload is listed and shown to the group, and sent again on request.
    let (s, list) = amy.get(&format!("/console/uploads?c={}", conv.id)).await;
    assert_eq!(s, StatusCode::OK);
    let upload_id = list
        .split("name=\"upload\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("an upload in the list")
        .to_string();
    let r = bob
        .b
        .client
        .get(format!("{}/console/uploads/{upload_id}", bob.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        png.as_slice(),
        "the group sees the file"
    );
    let (s, row) = amy
        .post(
            &format!("/console/c/{}/resend", conv.id),
            &[("upload", &upload_id)],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{row}");
    // Bob's own uploads list is empty; he cannot send Amy's file as his.
    let (_, list) = bob.get(&format!("/console/uploads?c={}", conv.id)).await;
    assert!(list.contains("还没有上传过图片"), "{list}");
    w.send_all().await;
    let images =
        w.wx.fake
            .sent_to(openid)
            .into_iter()
            .filter(|s| s.msgtype == "image")
            .count();
    assert_eq!(images, 2);
    w.stop().await;
}

// ------------------------------------------------------------------ delivery failure, retry, profile

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reply_shows_why_and_can_be_sent_again() {
    let w = world().await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let openid = "oFanRetry00077";
    w.say(openid, "在吗").await;
    let conv = w.conv(openid).await;
    amy.accept(conv.id).await;
    w.send_all().await; // the queue notice
    // WeChat refuses the next send for good (45047: too many messages in a row).
    w.wx.fake.fail_next(
        kefu::wechat::fake::Api::CustomSend,
        kefu::wechat::fake::Failure::ErrCode(45047),
        1,
    );
    let (s, row) = amy.reply(conv.id, "您好,请问有什么可以帮您?").await;
    assert_eq!(s, StatusCode::OK, "{row}");
    w.send_all().await;
    let (_, chat) = amy.chat(conv.id).await;
    let row = row_with(&chat, "请问有什么可以帮您");
    assert!(row.contains("失败"), "{row}");
    assert!(row.contains("/retry"), "a retry button: {row}");
    let message: i64 = row
        .split("data-message=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|n| n.parse().ok())
        .expect("message id");
    // The reason, stored by the sender in the background, is read in each
    // reader's language: amy's in Chinese, bob's (English) in English.
    assert!(row.contains("客服消息条数已达上限"), "{row}");
    // Another agent may not retry it; the holder may.
    w.srv.user("bob", Role::Agent, &[w.group]).await;
    let bob = login(&w.srv, "bob").await;
    let r = bob
        .b
        .post_form("/console/me/locale", &[("locale", "en")])
        .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let (_, chat_en) = bob.chat(conv.id).await;
    let row_en = row_with(&chat_en, "请问有什么可以帮您");
    assert!(
        row_en.contains("The customer-service message limit is reached"),
        "{row_en}"
    );
    assert!(!row_en.contains("客服消息条数"), "{row_en}");
    let (s, _) = bob
        .post(&format!("/console/messages/{message}/retry"), &[])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = amy
        .post(&format!("/console/messages/{message}/retry"), &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    w.send_all().await;
    assert_eq!(
        w.texts_to(openid).last().map(String::as_str),
        Some("您好,请问有什么可以帮您?")
    );
    let (_, chat) = amy.chat(conv.id).await;
    assert!(row_with(&chat, "请问有什么可以帮您").contains("已送达"));
    // A sent message cannot be "retried" again.
    let (s, _) = amy
        .post(&format!("/console/messages/{message}/retry"), &[])
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profile_is_edited_and_a_vip_goes_first_in_the_queue() {
    let w = world().await;
    w.srv.user("boss", Role::Admin, &[w.group]).await;
    let boss = login(&w.srv, "boss").await;
    w.say("oFanFirst00001", "我先来的").await;
    w.advance(SignedDuration::from_secs(30));
    w.say("oFanVip0000002", "我是老客户").await;
    let vip = w.follower("oFanVip0000002").await;
    let (s, side) = boss
        .post(
            &format!("/console/f/{vip}/profile"),
            &[
                ("remark", "王女士"),
                ("labels", "老客户, 大客户"),
                ("vip", "1"),
                ("owner", "0"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{side}");
    assert!(
        side.contains("资料已保存") && side.contains("王女士") && side.contains("VIP"),
        "{side}"
    );
    assert!(side.contains("老客户,大客户"), "labels normalised: {side}");
    let lists = boss.lists().await;
    let (first, second) = (
        lists.find("王女士").unwrap(),
        lists.find(&label("oFanFirst00001")).unwrap(),
    );
    assert!(first < second, "the VIP is first in the queue: {lists}");
    // Too long a remark is refused in Chinese, nothing saved.
    let long = "很".repeat(31);
    let (s, body) = boss
        .post(&format!("/console/f/{vip}/profile"), &[("remark", &long)])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("备注名不能超过 30 字"), "{body}");
    let (_, side) = boss.get(&format!("/console/f/{vip}/profile")).await;
    assert!(side.contains("王女士"));
    w.stop().await;
}

/// A plain agent of the group, without 排队详情, hears that the queue changed
/// but not what a queued follower wrote; once the follower is accepted by
/// someone else, the conversation's messages reach them like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_keeps_queued_followers_words_from_agents_who_may_not_see_the_queue() {
    let w = world().await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    w.srv.user("boss", Role::Admin, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let boss = login(&w.srv, "boss").await;
    w.settings(GroupSettings::default()).await; // the queue hidden from agents
    let mut sse = Sse::open(&amy, None).await;
    assert_eq!(sse.next().await.expect("hello").event, "hello");

    let openid = "oFanSecret0001";
    w.say(openid, "这是排队时的私密内容").await;
    let frames = sse.until("lists", |f| f.event == "lists").await;
    assert!(
        frames.iter().all(|f| !f.data.contains("私密内容")),
        "{frames:?}"
    );
    // Nothing else arrives for this push: the message and the notice stay hidden.
    while let Some(f) = sse.next().await {
        assert!(
            f.event != "msg",
            "a queued follower's message leaked: {f:?}"
        );
    }

    let conv = w.conv(openid).await;
    assert_eq!(boss.accept(conv.id).await.0, StatusCode::OK);
    let mut sse = Sse::open(&amy, None).await;
    assert_eq!(sse.next().await.expect("hello").event, "hello");
    w.say(openid, "接入后的消息").await;
    sse.until("msg", |f| {
        f.event == "msg" && f.data.contains("接入后的消息")
    })
    .await;
    w.stop().await;
}

/// C11: what an agent ended today stays among the current contacts until
/// midnight in the configured time zone, then moves to recent contacts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_conversations_move_to_recent_contacts_at_midnight() {
    let w = world().await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    // The test clock starts at 10:00 in Shanghai; 23:50 is 13 h 50 min later.
    w.advance(SignedDuration::from_mins(13 * 60 + 50));
    let amy = login(&w.srv, "amy").await;
    let openid = "oFanMidnight01";
    w.say(openid, "晚上好").await;
    let conv = w.conv(openid).await;
    amy.accept(conv.id).await;
    let (s, _) = amy.post(&format!("/console/c/{}/end", conv.id), &[]).await;
    assert_eq!(s, StatusCode::OK);
    let lists = amy.lists().await;
    assert!(lists.contains("今日已结束（1）"), "{lists}");
    assert!(lists.contains("最近联系（0）"), "{lists}");
    w.advance(SignedDuration::from_mins(20)); // 00:10 the next day
    let lists = amy.lists().await;
    assert!(!lists.contains("今日已结束"), "{lists}");
    assert!(lists.contains("最近联系（1）"), "{lists}");
    assert!(lists.contains(&label(openid)), "{lists}");
    w.stop().await;
}

#[tokio::test]
async fn a_long_queue_lists_its_head_and_counts_the_rest() {
    let w = world().await;
    set_group(&w.srv, w.group, shown_queue()).await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let openid = |n: usize| format!("oFanLongQueue{n:04}");
    for n in 0..104 {
        w.say(&openid(n), "在吗").await;
        w.advance(SignedDuration::from_secs(1));
    }
    let page = amy.lists().await;
    assert!(page.contains("排队中（104）"), "the count covers everyone");
    assert!(
        page.contains("还有 4 位在排队（按顺序显示前 100 位）"),
        "{page}"
    );
    assert!(page.contains(&label(&openid(0))) && page.contains(&label(&openid(99))));
    assert!(
        !page.contains(&label(&openid(100))),
        "the 101st is counted, not listed"
    );
    // 接入下一位 still takes the first in line, and the next one moves into view.
    let g = w.group.0.to_string();
    let (s, body) = amy.post("/console/accept", &[("group", &g)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.conv(&openid(0)).await.state, ConversationState::Active);
    let page = amy.lists().await;
    assert!(page.contains("还有 3 位在排队"), "{page}");
    assert!(page.contains(&label(&openid(100))));
    w.stop().await;
}

// ---- issue 13: fixes ----

/// The part of `page` from `start` to the next `end` (panics with the page).
fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let from = page
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in:\n{page}"));
    let rest = &page[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// Adds a 咨询分类 to a group; returns its id.
async fn category(srv: &TestServer, g: GroupId, name: &'static str) -> i64 {
    srv.state
        .db
        .write(move |c| -> DbResult<i64> {
            c.execute(
                "INSERT INTO categories (group_id, name) VALUES (?1, ?2)",
                rusqlite::params![g, name],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
        .unwrap()
}

/// Issue 13, bug 2: with the reply budget spent the reply box closes with the
/// reason, but 内部备注 — no WeChat message, no quota — stays at hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_keeps_the_internal_note_at_hand() {
    let w = world().await;
    w.quota(2).await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let openid = "oFanNoteOnly01";
    w.say(openid, "在吗").await;
    let conv = w.conv(openid).await;
    assert_eq!(amy.accept(conv.id).await.0, StatusCode::OK);
    // Reply until WeChat's quota is used up.
    let mut refused = false;
    for n in 0..4 {
        let (s, body) = amy.reply(conv.id, &format!("第 {n} 条")).await;
        w.send_all().await;
        if s == StatusCode::CONFLICT {
            assert!(body.contains("额度"), "{body}");
            refused = true;
            break;
        }
    }
    assert!(refused, "the quota ran out");
    let (_, page) = amy.chat(conv.id).await;
    assert!(!page.contains("id=\"composer\""), "no reply box: {page}");
    let closed = between(&page, "<div class=\"composer disabled\"", "</p></div>");
    assert!(
        closed.contains(&format!("data-open-dialog=\"note-{}\"", conv.id)),
        "内部备注 stays: {closed}"
    );
    assert!(closed.contains("额度"), "with the reason: {closed}");
    let (s, row) = amy
        .post(
            &format!("/console/c/{}/note", conv.id),
            &[("body", "额度用完，等客户再发消息")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{row}");
    assert!(row.contains("额度用完，等客户再发消息"), "{row}");
    w.stop().await;
}

/// Issue 13, bug 4: the transfer dialog offers the agents of the
/// conversation's group (not a super admin who is in no group, online or
/// not) and the other groups (not the conversation's own) — for an agent
/// holding it and for the super admin holding one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transfer_dialog_lists_only_group_mates_and_other_groups() {
    let w = world().await;
    let other = w.srv.group("售前组", "pre").await;
    w.srv.user("boss", Role::SuperAdmin, &[]).await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    w.srv.user("bob", Role::Agent, &[w.group]).await;
    w.srv.user("carl", Role::Agent, &[other]).await;
    // Everyone logs in, so everyone is online: an "everyone" list would show them.
    let boss = login(&w.srv, "boss").await;
    let amy = login(&w.srv, "amy").await;
    let _bob = login(&w.srv, "bob").await;
    let _carl = login(&w.srv, "carl").await;
    w.say("oFanDialog0001", "转人工").await;
    w.say("oFanDialog0002", "转人工").await;
    let held_by_amy = w.conv("oFanDialog0001").await.id;
    let held_by_boss = w.conv("oFanDialog0002").await.id;
    assert_eq!(amy.accept(held_by_amy).await.0, StatusCode::OK);
    let (s, body) = boss.accept(held_by_boss).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    for (tab, conv, holder, mates) in [
        (&amy, held_by_amy, "amy显示名", &["bob显示名"][..]),
        (
            &boss,
            held_by_boss,
            "boss显示名",
            &["amy显示名", "bob显示名"][..],
        ),
    ] {
        let (s, page) = tab.chat(conv).await;
        assert_eq!(s, StatusCode::OK);
        let dialog = between(
            &page,
            &format!("<dialog id=\"transfer-{conv}\""),
            "</dialog>",
        );
        let agents = between(dialog, "<optgroup label=\"本组客服", "</optgroup>");
        for m in mates {
            assert!(
                agents.contains(m),
                "{holder}: {m} is a group mate: {agents}"
            );
        }
        for not in [holder, "boss显示名", "carl显示名"] {
            assert!(
                !agents.contains(not),
                "{holder}: {not} is not offered: {agents}"
            );
        }
        let groups = between(dialog, "<optgroup label=\"其他客服组", "</optgroup>");
        assert!(groups.contains("售前组"), "{holder}: {groups}");
        assert!(
            !groups.contains("售后组"),
            "{holder}: its own group: {groups}"
        );
    }
    w.stop().await;
}

/// Issue 13, bug 6: a transfer and an end leave their lines in the chat and
/// in the history — 接入 / 转接 from → to with the note / 结束 with the
/// categories and the remark — and 服务过的客服 names both agents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_and_ends_leave_a_trace_in_the_chat_and_the_history() {
    let w = world().await;
    let cat = category(&w.srv, w.group, "物流查询").await.to_string();
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    let b = w.srv.user("bob", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let bob = login(&w.srv, "bob").await;
    let openid = "oFanTrace00001";
    w.say(openid, "我的快递呢").await;
    let conv = w.conv(openid).await;
    assert_eq!(amy.accept(conv.id).await.0, StatusCode::OK);
    let (s, body) = amy
        .post(
            &format!("/console/c/{}/transfer", conv.id),
            &[("target", &format!("u{}", b.0)), ("note", "客户要改地址")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (t, _) = transfer_row(&w, conv.id).await;
    let (s, body) = bob
        .post(&format!("/console/transfers/{t}/accept"), &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = bob
        .post(
            &format!("/console/c/{}/end", conv.id),
            &[("category", &cat), ("remark", "已改地址并寄出")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let lines = [
        "amy显示名 接入会话",
        "转接：amy显示名 → bob显示名（客户要改地址）",
        "bob显示名 结束会话，咨询分类：物流查询，备注：已改地址并寄出",
    ];
    let (_, chat) = bob.chat(conv.id).await;
    let timeline = between(&chat, "id=\"timeline\"", "<form");
    for l in lines {
        assert!(timeline.contains(l), "chat shows {l:?}: {timeline}");
    }
    assert!(
        timeline.find(lines[0]) < timeline.find(lines[1])
            && timeline.find(lines[1]) < timeline.find(lines[2]),
        "in order: {timeline}"
    );
    let side = between(&chat, "服务过的客服", "</dd>");
    assert!(
        side.contains("amy显示名") && side.contains("bob显示名"),
        "both agents served: {side}"
    );
    let (s, history) = bob
        .get(&format!("/console/f/{}/history", conv.follower_id))
        .await;
    assert_eq!(s, StatusCode::OK);
    for l in lines {
        assert!(history.contains(l), "history shows {l:?}: {history}");
    }
    w.stop().await;
}

/// Issue 13, bug 7: the follower answers the survey after the end: the answer
/// belongs to the ended conversation, which shows no unread badge in 今日已结束.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_survey_answer_after_the_end_is_not_unread() {
    let w = world().await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let openid = "oFanSurvey0001";
    w.say(openid, "你好").await;
    let conv = w.conv(openid).await;
    assert_eq!(amy.accept(conv.id).await.0, StatusCode::OK);
    assert_eq!(amy.chat(conv.id).await.0, StatusCode::OK); // read
    let (s, body) = amy.post(&format!("/console/c/{}/end", conv.id), &[]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = amy
        .post(&format!("/console/c/{}/survey", conv.id), &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    w.send_all().await;
    w.advance(SignedDuration::from_secs(30));
    w.say(openid, "5").await;
    // The answer joined the ended conversation, after it was last read.
    let unread = count(
        &w.srv,
        "SELECT count(*) FROM messages m JOIN conversations v ON v.id = m.conversation_id
         WHERE v.id = ?1 AND m.direction = 'in' AND m.received_at > coalesce(v.read_at, 0)",
        conv.id.0,
    )
    .await;
    assert!(
        unread > 0,
        "the scenario stores the answer in the conversation"
    );
    assert_eq!(w.conv(openid).await.id, conv.id, "no new conversation");
    let lists = amy.lists().await;
    let today = between(&lists, "今日已结束", "</details>");
    assert!(today.contains(&label(openid)), "{today}");
    assert!(
        !today.contains("class=\"badge\""),
        "nothing unread: {today}"
    );
    w.stop().await;
}

/// Issue 13, bug 10: an emoji picked in the console (👍) travels as WeChat's
/// code (`/:strong`), and the chat shows it as the emoji again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picked_emoji_reaches_wechat_as_its_code() {
    let w = world().await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let openid = "oFanEmoji00001";
    w.say(openid, "谢谢/:strong").await;
    let conv = w.conv(openid).await;
    let (_, page) = amy.accept(conv.id).await;
    let picker = between(&page, "class=\"emoji-picker\"", "</div>");
    assert!(
        picker.contains("data-insert=\"👍\"") && !picker.contains("data-insert=\"/:strong\""),
        "the picker inserts the emoji itself: {picker}"
    );
    let (s, row) = amy.reply(conv.id, "不客气👍").await;
    assert_eq!(s, StatusCode::OK, "{row}");
    assert!(row.contains("不客气") && row.contains("👍"), "{row}");
    w.send_all().await;
    assert_eq!(
        w.texts_to(openid).last().map(String::as_str),
        Some("不客气/:strong")
    );
    w.stop().await;
}

// ---- h-con: phone console and English console ----

/// Issue 13: every console page an agent uses, drawn for an agent who chose
/// English through 个人中心 → language, holds no Chinese of its own — the chat with
/// its dialogs, rows and steps, the lists, the side pane, quick replies, the
/// history, 已接待 and 会话标签 and 标注 and 我的回复 and the read-only kb / FAQ; the
/// test data is ASCII. The same pages in zh-CN still speak Chinese.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_speaks_english_to_an_english_agent() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("plain", &wx.url).await;
    let group = srv.group("Support", "support").await;
    let amy_id = srv.user("amy", Role::Agent, &[group]).await;
    let (aid, now) = (acc.id, srv.state.clock.now());
    let tag = srv
        .state
        .db
        .write(move |c| -> DbResult<i64> {
            db::accounts::set_groups(c, aid, &[group])?;
            c.execute("UPDATE accounts SET name = 'Test OA' WHERE id = ?1", [aid])?;
            c.execute(
                "UPDATE users SET display_name = 'Amy' WHERE id = ?1",
                [amy_id],
            )?;
            db::settings::set_group(c, group, &shown_queue())?;
            db::taxonomy::add_category(c, group, None, "Shipping")?.expect("category");
            db::taxonomy::add_kb(c, group, "Orders", "Delivery time", "Ships in 2 days", now)?;
            let set = db::myreplies::add_group(c, amy_id, "Greetings")?;
            db::myreplies::add(c, amy_id, set, "Hello, happy to help")?;
            Ok(db::taxonomy::add_tag(c, None, "Refund")?.expect("tag"))
        })
        .await
        .unwrap();
    srv.state.wechat.forget_account(aid);
    let w = World {
        wx,
        srv,
        acc,
        group,
    };
    let amy = login(&w.srv, "amy").await;
    let r = amy
        .b
        .post_form("/console/me/locale", &[("locale", "en")])
        .await;
    assert!(r.status().is_redirection(), "{}", r.status());

    // One follower served and ended as 已接待 and one in conversation now.
    let (done, open) = ("oEnglishDone0007", "oEnglishOpen0042");
    w.say(done, "where is my parcel").await;
    let first = w.conv(done).await;
    amy.accept(first.id).await;
    amy.reply(first.id, "On its way").await;
    let cat: String = w
        .srv
        .state
        .db
        .read(|c| -> DbResult<i64> {
            Ok(c.query_row("SELECT min(id) FROM categories", [], |r| r.get(0))?)
        })
        .await
        .unwrap()
        .to_string();
    let (s, body) = amy
        .post(
            &format!("/console/c/{}/end", first.id),
            &[("category", cat.as_str()), ("remark", "sent tracking")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    w.say(open, "hello there").await;
    let conv = w.conv(open).await;
    let (s, body) = amy.accept(conv.id).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    amy.reply(conv.id, "Hi, how can I help?").await;
    w.send_all().await;
    let id = conv.id.to_string();
    for (path, fields) in [
        (
            format!("/console/c/{id}/note"),
            vec![("body", "check the stock")],
        ),
        (
            format!("/console/c/{id}/mark"),
            vec![("note", "call back tomorrow")],
        ),
    ] {
        let (s, body) = amy.post(&path, &fields).await;
        assert_eq!(s, StatusCode::OK, "{path}: {body}");
    }
    let tag = tag.to_string();
    let (s, body) = amy
        .post(
            &format!("/console/c/{id}/tag"),
            &[("tag", tag.as_str()), ("remark", "asked for a refund")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let follower = w.follower(open).await;
    // What WeChat's followers were sent by the system (the merchant's texts,
    // not the interface's): ASCII too.
    w.srv
        .state
        .db
        .write(|c| -> DbResult<()> {
            c.execute(
                "UPDATE messages SET content = 'automatic notice' WHERE direction = 'out' AND sender_id IS NULL",
                [],
            )?;
            c.execute("UPDATE groups SET name = 'Default' WHERE name <> 'Support'", [])?;
            Ok(())
        })
        .await
        .unwrap();

    let full = [
        format!("/console?c={id}"),
        format!("/console/f/{}/history", follower.0),
        "/console/served".to_string(),
        "/console/tagged".to_string(),
        "/console/marks".to_string(),
        "/console/replies".to_string(),
        "/console/kb/view".to_string(),
        "/console/faq/view".to_string(),
    ];
    let fragments = [
        format!("/console/c/{id}"),
        "/console/lists".to_string(),
        "/console/kb".to_string(),
        format!("/console/uploads?c={id}"),
    ];
    // What each page shows in English (and so proves it was drawn).
    let english = [
        "Transfer",
        "History of",
        "ended by Amy",
        "A parent tag includes its child tags",
        "Mark handled",
        "My replies",
        "knowledge base: insert or send its entries",
        "Your groups have no FAQ yet",
    ];
    for (path, word) in full.iter().zip(english) {
        let (s, body) = amy.b.text(path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {body}");
        assert!(body.contains("<html lang=\"en\""), "{path}");
        assert!(body.contains(word), "{path} lacks {word:?}:\n{body}");
        let chinese = common::chinese_in(&body);
        assert!(
            chinese.is_empty(),
            "Chinese on {path}:\n{}",
            chinese.join("\n")
        );
    }
    for path in &fragments {
        let (s, body) = amy.get(path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {body}");
        let chinese = common::chinese_in(&body);
        assert!(
            chinese.is_empty(),
            "Chinese in {path}:\n{}",
            chinese.join("\n")
        );
    }
    // The chat in English: the steps, the rows, the budget, the side pane.
    let (_, chat) = amy.get(&format!("/console/c/{id}")).await;
    for want in [
        "Amy accepted the conversation",
        "Internal note · Amy (not shown to the follower)",
        "Delivered",
        "left · ",
        "Visitor 0042",
        "Today&#39;s work",
        "Note labels (comma-separated)",
        "title=\"Thumbs up\"",
    ] {
        assert!(chat.contains(want), "the chat lacks {want:?}:\n{chat}");
    }

    // The same pages in zh-CN.
    let r = amy
        .b
        .post_form("/console/me/locale", &[("locale", "zh-CN")])
        .await;
    assert!(r.status().is_redirection());
    let chinese = [
        "转接",
        "的历史消息",
        "已结束的会话",
        "选择上级标签时也包括其下的子标签",
        "标记已处理",
        "我的回复",
        "所在客服组的知识库",
        "所在客服组还没有常见问题",
    ];
    for (path, word) in full.iter().zip(chinese) {
        let (s, body) = amy.b.text(path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(body.contains(word), "{path} lacks {word:?}:\n{body}");
    }
    let (_, chat) = amy.get(&format!("/console/c/{id}")).await;
    for want in [
        "Amy 接入会话",
        "窗口剩余",
        "访客0042",
        "今日工作",
        "备注标签（逗号分隔）",
    ] {
        assert!(chat.contains(want), "the chat lacks {want:?}:\n{chat}");
    }
    w.stop().await;
}

/// Issue 13, item 16: a refused end (a required 咨询分类 not chosen) answers
/// into the end dialog itself, not the page's flash behind its backdrop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_end_answers_inside_the_dialog() {
    let w = world().await;
    w.settings(GroupSettings {
        require_category: true,
        ..shown_queue()
    })
    .await;
    let g = w.group;
    w.srv
        .state
        .db
        .write(move |c| db::taxonomy::add_category(c, g, None, "物流查询"))
        .await
        .unwrap()
        .unwrap();
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let openid = "oFanEndDialog01";
    w.say(openid, "你好").await;
    let conv = w.conv(openid).await;
    let (_, chat) = amy.accept(conv.id).await;
    let slot = format!("id=\"end-error-{}\"", conv.id);
    assert!(
        chat.contains(&slot),
        "the end dialog has its error slot: {chat}"
    );
    let r = amy
        .post_raw(&format!("/console/c/{}/end", conv.id), &[], true)
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(
        r.headers().get("hx-retarget").and_then(|v| v.to_str().ok()),
        Some(format!("#end-error-{}", conv.id).as_str())
    );
    let body = r.text().await.unwrap();
    assert!(body.contains("请至少选择一个咨询分类"), "{body}");
    assert_eq!(w.conv(openid).await.state, ConversationState::Active);
    w.stop().await;
}

/// 标注 and 会话标签 open a follower's conversation with `/console?follower=`:
/// their open one (or newest) for whoever may see it; anyone else is told why
/// instead of getting an empty console.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_link_opens_their_conversation() {
    let w = world().await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    let other = w.srv.group("售前组", "pre").await;
    w.srv.user("ben", Role::Agent, &[other]).await;
    let amy = login(&w.srv, "amy").await;
    let ben = login(&w.srv, "ben").await;
    let openid = "oFanFollowLink1";
    w.say(openid, "在吗").await;
    let conv = w.conv(openid).await;
    amy.accept(conv.id).await;
    let link = format!("/console?follower={}", conv.follower_id);
    let (s, page) = amy.get(&link).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains(&format!("<div class=\"chat\" data-conv=\"{}\"", conv.id)),
        "amy's console opens the conversation"
    );
    let (_, plain) = amy.get("/console").await;
    assert!(
        !plain.contains("<div class=\"chat\""),
        "not without the link"
    );
    let (s, page) = ben.get(&link).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !page.contains("<div class=\"chat\""),
        "nothing of another group opens"
    );
    assert!(
        page.contains("该客户的会话不在您的客服组"),
        "and ben is told why"
    );
    w.stop().await;
}

/// Issue 13, item 16: 今日工作 follows every refresh of the lists (an
/// out-of-band swap), not only a switch of chats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn todays_work_comes_with_every_refresh_of_the_lists() {
    let w = world().await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let today = |lists: &str| between(lists, "id=\"today-work\"", "</ul>").to_string();
    let before = today(&amy.lists().await);
    assert!(before.contains("<strong>0</strong>"), "{before}");
    let openid = "oFanToday00001";
    w.say(openid, "在吗").await;
    let conv = w.conv(openid).await;
    amy.accept(conv.id).await;
    amy.reply(conv.id, "在的").await;
    let lists = amy.lists().await;
    assert!(lists.contains("hx-swap-oob=\"outerHTML\""), "{lists}");
    let after = today(&lists);
    assert!(
        after.contains("接待会话 <strong>1</strong>")
            && after.contains("发送回复 <strong>1</strong> 条")
            && after.contains("<strong>1</strong> / 1"),
        "{after}"
    );
    // A colleague who took none today ranks after amy, out of two (not "2 / 1").
    w.srv.user("ben", Role::Agent, &[w.group]).await;
    let ben = login(&w.srv, "ben").await;
    let bens = today(&ben.lists().await);
    assert!(bens.contains("<strong>2</strong> / 2"), "{bens}");
    w.stop().await;
}

/// Issue 13: the live stream draws each console's rows in that console's
/// language — two agents of one group, one in zh-CN and one in English, get
/// the same automatic reply as 自动回复 and as "Automatic reply".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_draws_rows_in_each_consoles_language() {
    let w = world().await;
    w.srv.user("amy", Role::Agent, &[w.group]).await;
    w.srv.user("ben", Role::Agent, &[w.group]).await;
    let amy = login(&w.srv, "amy").await;
    let ben = login(&w.srv, "ben").await;
    let r = ben
        .b
        .post_form("/console/me/locale", &[("locale", "en")])
        .await;
    assert!(r.status().is_redirection());
    let mut zh = Sse::open(&amy, None).await;
    assert_eq!(zh.next().await.expect("hello").event, "hello");
    let mut en = Sse::open(&ben, None).await;
    assert_eq!(en.next().await.expect("hello").event, "hello");
    w.say("oFanLiveLang01", "hello").await;
    let is_notice = |f: &Frame| f.event == "msg" && f.data.contains("row-system");
    let zh_row = zh
        .until("the notice in zh-CN", is_notice)
        .await
        .pop()
        .unwrap();
    let en_row = en
        .until("the notice in English", is_notice)
        .await
        .pop()
        .unwrap();
    assert!(zh_row.data.contains("自动回复"), "{zh_row:?}");
    assert!(en_row.data.contains("Automatic reply"), "{en_row:?}");
    assert!(!en_row.data.contains("自动回复"), "{en_row:?}");
    w.stop().await;
}
