//! The access table: group boundaries over real HTTP. Two Official Accounts,
//! each served by one group (甲组 serves 甲公众号, 乙组 serves 乙公众号), an
//! admin and agents in each group, one agent in both, and a super admin. What
//! belongs to group A — its followers' messages on the live stream, their
//! media, conversations, profiles, marks, tags and uploads, the agents it
//! shares — must stay out of reach of group B's admin and agents, while group
//! A's own people (the positive control in every check) can use it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{AES_KEY, APPID, Browser, FakeServer, PASSWORD, SECRET, TestServer, WX_TOKEN};
use kefu::db::accounts::{Account, AccountFields};
use kefu::db::automation::AutoReplies;
use kefu::db::conversations::Conversation;
use kefu::db::settings::{AccountSettings, GroupSettings};
use kefu::db::{self, DbResult};
use kefu::model::{ConversationId, ConversationState, FollowerId, GroupId, Role, UserId};
use kefu::team::Acting;
use kefu::wechat::xml::{Event, Inbound, InboundKind, inbound_xml};
use reqwest::StatusCode;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

// ------------------------------------------------------------------ the world

const APPID_B: &str = "wxfedcba9876543210";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\nnot-really-an-image-but-sniffed-as-png";

struct Users {
    admin_b: UserId,
    agent_a: UserId,
    agent_a2: UserId,
    agent_b: UserId,
    agent_ab: UserId,
}

struct World {
    wx: FakeServer,
    srv: TestServer,
    /// Served by group A only.
    acc_a: Account,
    /// Served by group B only.
    acc_b: Account,
    ga: GroupId,
    gb: GroupId,
    u: Users,
}

async fn world() -> World {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    wx.fake.add_account(APPID_B, SECRET);
    let srv = TestServer::start().await;
    let ga = srv.group("甲组", "group-a").await;
    let gb = srv.group("乙组", "group-b").await;
    let acc_a = account(&srv, "甲公众号", APPID, &wx.url, ga).await;
    let acc_b = account(&srv, "乙公众号", APPID_B, &wx.url, gb).await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    srv.user("admin_a", Role::Admin, &[ga]).await;
    let u = Users {
        admin_b: srv.user("admin_b", Role::Admin, &[gb]).await,
        agent_a: srv.user("agent_a", Role::Agent, &[ga]).await,
        agent_a2: srv.user("agent_a2", Role::Agent, &[ga]).await,
        agent_b: srv.user("agent_b", Role::Agent, &[gb]).await,
        agent_ab: srv.user("agent_ab", Role::Agent, &[ga, gb]).await,
    };
    // Plain agents see their queues (and so accept by id) unless a test says
    // otherwise: what is refused here is refused for the group, not the queue.
    srv.state
        .db
        .write(move |c| {
            for g in [ga, gb] {
                let mut s = db::settings::group(c, g)?;
                s.agents_see_queue = true;
                db::settings::set_group(c, g, &s)?;
            }
            Ok::<_, db::DbError>(())
        })
        .await
        .unwrap();
    World {
        wx,
        srv,
        acc_a,
        acc_b,
        ga,
        gb,
        u,
    }
}

async fn account(srv: &TestServer, name: &str, app_id: &str, api: &str, g: GroupId) -> Account {
    let f = AccountFields {
        name: name.into(),
        app_id: app_id.into(),
        app_secret: SECRET.into(),
        token: WX_TOKEN.into(),
        aes_key: AES_KEY.into(),
        mode: "plain".into(),
        api_base: api.into(),
        ..Default::default()
    };
    let id = kefu::channel::create(&srv.state.db, &srv.state.clock, &Acting::shell(), f)
        .await
        .expect("account");
    srv.state
        .db
        .write(move |c| db::accounts::set_groups(c, id, &[g]))
        .await
        .unwrap();
    srv.state.wechat.forget_account(id);
    srv.state
        .db
        .read(move |c| db::accounts::get(c, id))
        .await
        .unwrap()
        .unwrap()
}

static MSG_ID: AtomicI64 = AtomicI64::new(7_300_000_000_000_000);

impl World {
    async fn stop(self) {
        self.srv.stop().await;
    }

    /// A push from `openid` to `acc`; the passive reply's text, if any.
    async fn push(&self, acc: &Account, openid: &str, kind: InboundKind) -> Option<String> {
        let m = Inbound {
            to_user: "gh_test".into(),
            from_user: openid.into(),
            create_time: self.srv.state.clock.now().as_second(),
            msg_id: (!matches!(kind, InboundKind::Event(_)))
                .then(|| MSG_ID.fetch_add(1, Ordering::SeqCst)),
            kind,
        };
        let r = self.srv.push(acc, "plain", &inbound_xml(&m)).await;
        assert_eq!(r.status(), StatusCode::OK, "push from {openid}");
        let body = r.text().await.unwrap();
        let start = body.find("<Content><![CDATA[")? + "<Content><![CDATA[".len();
        Some(body[start..].split("]]>").next()?.to_string())
    }

    async fn say(&self, acc: &Account, openid: &str, text: &str) -> Option<String> {
        let kind = InboundKind::Text {
            content: text.into(),
        };
        self.push(acc, openid, kind).await
    }

    /// Runs `f` in a write transaction; account caches are dropped after.
    async fn write(&self, f: impl FnOnce(&rusqlite::Connection) -> DbResult<()> + Send + 'static) {
        self.srv.state.db.write(f).await.unwrap();
        self.srv.state.wechat.forget_account(self.acc_a.id);
        self.srv.state.wechat.forget_account(self.acc_b.id);
    }

    async fn settings(&self, g: GroupId, s: GroupSettings) {
        self.write(move |c| db::settings::set_group(c, g, &s)).await;
    }

    /// Plenty of reply budget on both accounts, so budget never decides a check.
    async fn generous_quota(&self) {
        for acc in [&self.acc_a, &self.acc_b] {
            let (id, rules) = (
                acc.id,
                db::accounts::BudgetRules {
                    quota_after_message: 100,
                    ..acc.rules
                },
            );
            self.write(move |c| db::accounts::set_rules(c, id, &rules))
                .await;
        }
    }

    /// One integer from the database.
    async fn int(&self, sql: &'static str, arg: String) -> Option<i64> {
        self.srv
            .state
            .db
            .read(move |c| -> DbResult<Option<i64>> {
                use rusqlite::OptionalExtension;
                Ok(c.query_row(sql, [arg], |r| r.get(0)).optional()?.flatten())
            })
            .await
            .unwrap()
    }

    async fn follower(&self, openid: &str) -> FollowerId {
        let id = self
            .int("SELECT id FROM followers WHERE openid = ?1", openid.into())
            .await;
        FollowerId(id.unwrap_or_else(|| panic!("no follower {openid}")))
    }

    /// The follower's latest conversation.
    async fn conv(&self, openid: &str) -> Conversation {
        let sql = "SELECT max(v.id) FROM conversations v JOIN followers f ON f.id = v.follower_id
                   WHERE f.openid = ?1";
        let id = self.int(sql, openid.into()).await;
        let id = ConversationId(id.unwrap_or_else(|| panic!("{openid} has no conversation")));
        self.conv_by_id(id).await
    }

    async fn conv_by_id(&self, id: ConversationId) -> Conversation {
        self.srv
            .state
            .db
            .read(move |c| db::conversations::get(c, id))
            .await
            .unwrap()
            .expect("conversation")
    }

    /// Downloads the pending media (as the background fetcher does).
    async fn fetch(&self) {
        let fetcher = self
            .srv
            .state
            .wechat
            .fetcher(&self.srv.state.db, &self.srv.state.clock);
        fetcher.pass().await.unwrap();
    }

    /// The (media id, message id) of the file WeChat knows as `wx_media_id`.
    async fn media(&self, wx_media_id: &str) -> (i64, i64) {
        let m = self
            .int(
                "SELECT id FROM media WHERE wx_media_id = ?1",
                wx_media_id.into(),
            )
            .await
            .expect("media row");
        let msg = self
            .int(
                "SELECT message_id FROM media WHERE wx_media_id = ?1",
                wx_media_id.into(),
            )
            .await
            .expect("media message");
        (m, msg)
    }

    async fn user(&self, id: UserId) -> kefu::model::User {
        self.srv
            .state
            .db
            .read(move |c| db::users::get(c, id))
            .await
            .unwrap()
            .expect("user")
    }

    async fn follower_row(&self, id: FollowerId) -> db::followers::Follower {
        self.srv
            .state
            .db
            .read(move |c| db::followers::get(c, id))
            .await
            .unwrap()
            .expect("follower")
    }
}

// ------------------------------------------------------------------ a logged-in tab

/// A logged-in tab that speaks htmx and remembers its CSRF token.
struct Tab {
    name: &'static str,
    b: Browser,
    csrf: String,
    base: String,
}

async fn tab(srv: &TestServer, name: &'static str) -> Tab {
    let b = srv.login(name).await;
    let csrf = b.csrf().await;
    assert!(!csrf.is_empty(), "{name} got a CSRF token");
    Tab {
        name,
        b,
        csrf,
        base: srv.url.clone(),
    }
}

impl Tab {
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

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("_csrf", &self.csrf));
        let r = self
            .b
            .client
            .post(format!("{}{path}", self.base))
            .header("HX-Request", "true")
            .form(&form)
            .send()
            .await
            .expect("POST");
        (r.status(), r.text().await.unwrap_or_default())
    }

    async fn upload(&self, path: &str, name: &str, bytes: &[u8]) -> (StatusCode, String) {
        let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string());
        let r = self
            .b
            .client
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", &self.csrf)
            .header("HX-Request", "true")
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .expect("upload");
        (r.status(), r.text().await.unwrap_or_default())
    }
}

fn refused(s: StatusCode) -> bool {
    s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND
}

fn worked(s: StatusCode) -> bool {
    s.is_success() || s.is_redirection()
}

fn label(openid: &str) -> String {
    db::followers::short_label(openid)
}

async fn can_login(srv: &TestServer, name: &str, password: &str) -> bool {
    let r = Browser::new(srv)
        .post_form("/login", &[("username", name), ("password", password)])
        .await;
    r.status() == StatusCode::SEE_OTHER
}

// ------------------------------------------------------------------ the live stream

#[derive(Debug, Clone)]
struct Frame {
    event: String,
    data: String,
}

impl Frame {
    /// The event and what a person would read in it (tags dropped).
    fn gist(&self) -> String {
        let mut text = String::new();
        let mut in_tag = false;
        for c in self.data.replace("\\n", " ").chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                _ if !in_tag => text.push(c),
                _ => {}
            }
        }
        let words: Vec<&str> = text.split_whitespace().collect();
        format!("{}: {}", self.event, words.join(" "))
    }
}

/// A console's event stream, read frame by frame (comments and `retry:` skipped).
struct Sse {
    resp: reqwest::Response,
    buf: String,
}

impl Sse {
    async fn open(tab: &Tab) -> Sse {
        let resp = tab
            .b
            .client
            .get(format!("{}/console/events", tab.base))
            .header("Accept", "text/event-stream")
            .send()
            .await
            .expect("events");
        assert_eq!(resp.status(), StatusCode::OK, "{}'s stream", tab.name);
        let mut sse = Sse {
            resp,
            buf: String::new(),
        };
        let hello = sse.next().await.expect("hello");
        assert_eq!(hello.event, "hello", "{hello:?}");
        sse
    }

    async fn next(&mut self) -> Option<Frame> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let raw: String = self.buf.drain(..end + 2).collect();
                let mut f = Frame {
                    event: String::new(),
                    data: String::new(),
                };
                let mut data = vec![];
                for line in raw.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
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

    /// Frames up to and including the first that matches `want`.
    async fn until(&mut self, what: &str, want: impl Fn(&Frame) -> bool) -> Vec<Frame> {
        let mut seen = vec![];
        while let Some(f) = self.next().await {
            let done = want(&f);
            seen.push(f);
            if done {
                return seen;
            }
        }
        panic!("no {what} frame; got {seen:?}")
    }

    /// Waits for a `msg` frame that shows `text`.
    async fn msg(&mut self, text: &str) {
        self.until(text, |f| f.event == "msg" && f.data.contains(text))
            .await;
    }
}

// ------------------------------------------------------------------ 1. the live stream

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_stream_respects_groups() {
    let w = world().await;
    let (acc, ga) = (w.acc_a.id, w.ga);
    // 甲公众号 opens a conversation only when asked for a human, so the
    // automation answers (and media arrive) before any conversation exists.
    w.write(move |c| {
        let trigger = AccountSettings {
            trigger_mode: kefu::model::TriggerMode::Keywords,
            keywords: "人工".into(),
            menu_key: String::new(),
        };
        db::settings::set_account(c, acc, &trigger)?;
        db::automation::add_keyword_reply(c, acc, "营业时间", false, "关键词回复甲:每天营业")?;
        db::automation::add_faq(
            c,
            ga,
            "怎么退货?",
            "常见问题答案甲:七天无理由",
            &["退货".into()],
        )?;
        db::menu::set_reply(c, acc, "M_A", "菜单回复甲:客服电话")?;
        let replies = AutoReplies {
            follow: "关注回复甲:欢迎关注".into(),
            ..AutoReplies::default()
        };
        db::automation::set_auto_replies(c, acc, &replies)
    })
    .await;
    // Plain agents may see queued followers in both groups (else queued
    // messages are hidden from agent_a and agent_b for another reason).
    for g in [w.ga, w.gb] {
        let s = GroupSettings {
            agents_see_queue: true,
            ..GroupSettings::default()
        };
        w.settings(g, s).await;
    }
    w.wx.fake
        .put_media("MEDIA_A_IMG", "image/png", PNG.to_vec());
    w.wx.fake
        .put_media("MEDIA_A_VOICE", "audio/amr", b"#!AMR\n0000000000".to_vec());

    let agent_a = tab(&w.srv, "agent_a").await;
    let agent_a2 = tab(&w.srv, "agent_a2").await;
    let agent_b = tab(&w.srv, "agent_b").await;
    let (s, _) = agent_a.post("/console/me/bind", &[]).await;
    assert!(worked(s), "{s}");
    let (_, me) = agent_a.b.text("/console/me").await;
    let code = &me[me.find("KF").expect("a binding code")..][..8];
    let code = code.to_string();

    let mut sa = Sse::open(&agent_a).await;
    let mut sb = Sse::open(&agent_b).await;
    let a = &w.acc_a;

    // Keyword, FAQ, follow and menu replies: no conversation yet.
    let r = w.say(a, "oLiveA000001", "请问营业时间?").await;
    assert_eq!(r.as_deref(), Some("关键词回复甲:每天营业"));
    sa.msg("关键词回复甲").await;
    let r = w.say(a, "oLiveA000001", "我想退货").await;
    assert_eq!(r.as_deref(), Some("常见问题答案甲:七天无理由"));
    sa.msg("常见问题答案甲").await;
    let subscribe = InboundKind::Event(Event::Subscribe {
        scene: None,
        ticket: None,
    });
    let r = w.push(a, "oLiveA000002", subscribe).await;
    assert_eq!(r.as_deref(), Some("关注回复甲:欢迎关注"));
    sa.msg("关注回复甲").await;
    let click = InboundKind::Event(Event::Click { key: "M_A".into() });
    let r = w.push(a, "oLiveA000002", click).await;
    assert_eq!(r.as_deref(), Some("菜单回复甲:客服电话"));
    sa.msg("菜单回复甲").await;
    // An agent binds their WeChat through 甲公众号.
    let r = w.say(a, "oLiveA000003", &code).await.unwrap_or_default();
    assert!(r.contains("绑定成功"), "{r}");
    sa.msg("绑定成功").await;

    // Inbound image and voice (with WeChat's recognition), once downloaded.
    let image = InboundKind::Image {
        pic_url: String::new(),
        media_id: "MEDIA_A_IMG".into(),
    };
    w.push(a, "oLiveA000001", image).await;
    w.fetch().await;
    let (_, image_msg) = w.media("MEDIA_A_IMG").await;
    let image_row = format!("\"id\":\"m-{image_msg}\"");
    sa.until("the image", |f| {
        f.event == "msg" && f.data.contains(&image_row)
    })
    .await;
    let voice = InboundKind::Voice {
        media_id: "MEDIA_A_VOICE".into(),
        format: "amr".into(),
        recognition: Some("语音识别甲:查一下订单".into()),
    };
    w.push(a, "oLiveA000001", voice).await;
    w.fetch().await;
    sa.msg("语音识别甲").await;

    // A queue entry, then accept and a transfer inside group A.
    w.say(a, "oLiveA000004", "转人工:排队标记甲").await;
    sa.msg("排队标记甲").await;
    sa.until("lists", |f| f.event == "lists").await;
    let conv = w.conv("oLiveA000004").await.id;
    let conv_frame = format!("{{\"conv\":{conv}}}");
    let (s, body) = agent_a
        .post(&format!("/console/c/{conv}/accept"), &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    sa.until("the accepted conversation", |f| {
        f.event == "conv" && f.data == conv_frame
    })
    .await;
    let (s, body) = agent_a2
        .post(
            "/console/status",
            &[("status", "online"), ("auto_accept", "off")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let target = format!("u{}", w.u.agent_a2);
    let (s, body) = agent_a
        .post(
            &format!("/console/c/{conv}/transfer"),
            &[("target", &target), ("note", "转接说明甲")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let transfer = w
        .int(
            "SELECT max(id) FROM transfers WHERE conversation_id = ?1",
            conv.to_string(),
        )
        .await
        .expect("a transfer");
    let (s, body) = agent_a2
        .post(&format!("/console/transfers/{transfer}/decline"), &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    sa.until("the declined transfer", |f| {
        f.event == "toast" && f.data.contains("拒绝了转接")
    })
    .await;

    // Group B's own news reaches agent_b; nothing before it may be group A's.
    w.say(&w.acc_b, "oLiveB000001", "哨兵乙:在吗").await;
    let frames = sb
        .until("group B's own message", |f| {
            f.event == "msg" && f.data.contains("哨兵乙")
        })
        .await;
    let leaked: Vec<String> = frames[..frames.len() - 1].iter().map(Frame::gist).collect();
    assert!(
        leaked.is_empty(),
        "agent_b (group B) received {} event(s) about group A's followers:\n{}",
        leaked.len(),
        leaked.join("\n")
    );
    drop((sa, sb));
    w.stop().await;
}

// ------------------------------------------------------------------ 2. media

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_cannot_read_other_groups_media() {
    let w = world().await;
    w.wx.fake
        .put_media("MEDIA_A_SECRET", "image/png", PNG.to_vec());
    let image = InboundKind::Image {
        pic_url: String::new(),
        media_id: "MEDIA_A_SECRET".into(),
    };
    w.push(&w.acc_a, "oMediaA00001", image).await;
    w.fetch().await;
    let (media, _) = w.media("MEDIA_A_SECRET").await;
    let url = format!("/media/{media}");
    for name in ["admin_a", "agent_a", "agent_ab", "boss"] {
        let r = tab(&w.srv, name).await.b.get(&url).await;
        assert_eq!(r.status(), StatusCode::OK, "{name} serves 甲公众号");
        assert_eq!(r.bytes().await.unwrap().as_ref(), PNG, "{name}");
    }
    let mut wrong = vec![];
    for name in ["admin_b", "agent_b"] {
        let r = tab(&w.srv, name).await.b.get(&url).await;
        let s = r.status();
        let body = r.bytes().await.unwrap();
        if !refused(s) || body.as_ref() == PNG {
            wrong.push(format!("{name}: {s}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "group B got group A's media {url}, want 403/404: {wrong:?}"
    );
    w.stop().await;
}

// ------------------------------------------------------------------ 3. shared agents

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_cannot_take_over_shared_agent() {
    let w = world().await;
    let admin_b = tab(&w.srv, "admin_b").await;
    let (ab, b) = (w.u.agent_ab, w.u.agent_b);
    let new_pw = "taken-over-99";
    let tries = |id: UserId| {
        [
            ("open the edit page", format!("/admin/users/{id}"), vec![]),
            (
                "edit",
                format!("/admin/users/{id}"),
                vec![("display_name", "被改的名字"), ("role", "agent")],
            ),
            (
                "reset the password",
                format!("/admin/users/{id}/password"),
                vec![("password", new_pw), ("confirm", new_pw)],
            ),
            (
                "disable",
                format!("/admin/users/{id}/status"),
                vec![("status", "disabled")],
            ),
        ]
    };

    // agent_ab is also in group A, which admin_b does not manage.
    let mut wrong = vec![];
    for (what, path, form) in tries(ab) {
        let (s, _) = if form.is_empty() {
            admin_b.get(&path).await
        } else {
            admin_b.post(&path, &form).await
        };
        if s != StatusCode::FORBIDDEN {
            wrong.push(format!("{what} of agent_ab: {s} (want 403)"));
        }
    }
    let u = w.user(ab).await;
    if u.display_name != "agent_ab显示名" {
        wrong.push(format!("agent_ab's name is now {:?}", u.display_name));
    }
    if u.status != kefu::model::UserStatus::Active {
        wrong.push(format!("agent_ab is now {:?}", u.status));
    }
    if !can_login(&w.srv, "agent_ab", PASSWORD).await || can_login(&w.srv, "agent_ab", new_pw).await
    {
        wrong.push("agent_ab's password is now admin_b's".into());
    }
    assert!(
        wrong.is_empty(),
        "admin_b took over agent_ab, who is also in group A:\n{}",
        wrong.join("\n")
    );

    // admin_b still manages their own agent, and the super admin the shared one.
    for (what, path, form) in tries(b) {
        let (s, body) = if form.is_empty() {
            admin_b.get(&path).await
        } else {
            admin_b.post(&path, &form).await
        };
        assert!(worked(s), "admin_b may {what} agent_b: {s} {body}");
    }
    let u = w.user(b).await;
    assert_eq!(u.display_name, "被改的名字");
    assert_eq!(u.status, kefu::model::UserStatus::Disabled);
    let boss = tab(&w.srv, "boss").await;
    let (s, _) = boss
        .post(
            &format!("/admin/users/{ab}/password"),
            &[("password", new_pw), ("confirm", new_pw)],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "the super admin manages everyone");
    assert!(can_login(&w.srv, "agent_ab", new_pw).await);
    w.stop().await;
}

// ------------------------------------------------------------------ 4. deleting a group

/// Conversations without a group, read straight from the SQLite file.
fn conversations_without_group(srv: &TestServer) -> i64 {
    let conn = rusqlite::Connection::open(srv.state.config.db_path()).unwrap();
    conn.query_row(
        "SELECT count(*) FROM conversations WHERE group_id IS NULL",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_group_with_conversations() {
    let w = world().await;
    // A group without members serves 甲公众号 now.
    let gt = w.srv.group("临时组", "group-t").await;
    let acc = w.acc_a.id;
    w.write(move |c| db::accounts::set_groups(c, acc, &[gt]))
        .await;
    w.say(&w.acc_a, "oDeleteT0001", "你好").await;
    let conv = w.conv("oDeleteT0001").await;
    assert_eq!(conv.group_id, gt);
    assert_eq!(conversations_without_group(&w.srv), 0);
    let boss = tab(&w.srv, "boss").await;
    let exists = || {
        let db = w.srv.state.db.clone();
        async move {
            db.read(move |c| db::groups::get(c, gt))
                .await
                .unwrap()
                .is_some()
        }
    };
    let delete = format!("/admin/groups/{gt}/delete");

    // While the conversation is open: refused, as today.
    let r = boss.b.post_form(&delete, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = boss.b.text("/admin/groups").await;
    assert!(page.contains("无法删除"), "{page}");
    assert!(exists().await);

    // Ended: the conversation still belongs to the group in its history.
    let (s, body) = boss
        .post(&format!("/console/c/{}/accept", conv.id), &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = boss.post(&format!("/console/c/{}/end", conv.id), &[]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.conv_by_id(conv.id).await.state, ConversationState::Ended);
    let r = boss.b.post_form(&delete, &[]).await;
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    let shown = if status.is_client_error() {
        body.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    } else {
        boss.b.text("/admin/groups").await.1.contains("无法删除")
    };
    let after = w.conv_by_id(conv.id).await;
    assert!(exists().await, "临时组 was deleted under its conversation");
    assert!(
        shown,
        "the group was kept but no Chinese reason was shown ({status}): {body}"
    );
    assert_eq!(after.group_id, gt, "the conversation keeps its group");
    assert_eq!(
        conversations_without_group(&w.srv),
        0,
        "conversations WHERE group_id IS NULL after deleting a group with conversations"
    );
    w.stop().await;
}

// ------------------------------------------------------------------ 5. admin followers

async fn sync_done(t: &Tab, account: &str) -> String {
    let mut progress = String::new();
    for _ in 0..100 {
        progress = t.get("/admin/followers/progress").await.1;
        if progress.contains(&format!("{account}：同步完成")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    progress
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_followers_scoped() {
    let w = world().await;
    w.wx.fake.add_follower(APPID, "oSyncA000001", "", &[]);
    w.wx.fake.add_follower(APPID_B, "oSyncB000001", "", &[]);
    let admin_a = tab(&w.srv, "admin_a").await;
    let admin_b = tab(&w.srv, "admin_b").await;
    let (acc_a, acc_b) = (w.acc_a.id.to_string(), w.acc_b.id.to_string());

    // Each admin syncs their own account.
    let (s, _) = admin_a
        .post("/admin/followers/sync", &[("account", &acc_a)])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let p = sync_done(&admin_a, "甲公众号").await;
    assert!(p.contains("甲公众号：同步完成"), "{p}");
    let (s, _) = admin_b
        .post("/admin/followers/sync", &[("account", &acc_b)])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let p = sync_done(&admin_b, "乙公众号").await;
    assert!(p.contains("乙公众号：同步完成"), "{p}");
    let fa = w.follower("oSyncA000001").await;

    // Positive control: admin_a lists and edits 甲公众号's follower.
    let (s, page) = admin_a.get("/admin/followers").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("oSyncA000001"), "{page}");
    let (s, _) = admin_a
        .post(
            &format!("/admin/followers/{fa}/remark"),
            &[("remark", "甲的备注")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(w.follower_row(fa).await.remark, "甲的备注");
    let (_, page) = admin_b.get("/admin/followers").await;
    assert!(
        page.contains("oSyncB000001"),
        "admin_b sees their own: {page}"
    );

    let mut wrong = vec![];
    for path in [
        "/admin/followers".to_string(),
        format!("/admin/followers?account={acc_a}"),
    ] {
        let (s, page) = admin_b.get(&path).await;
        if !refused(s) && (page.contains("oSyncA000001") || page.contains("甲的备注")) {
            wrong.push(format!("GET {path}: {s}, lists group A's follower"));
        }
    }
    let (_, progress) = admin_b.get("/admin/followers/progress").await;
    if progress.contains("甲公众号") {
        wrong.push(format!(
            "GET /admin/followers/progress shows 甲公众号: {}",
            progress.trim()
        ));
    }
    let (s, _) = admin_b
        .post(
            &format!("/admin/followers/{fa}/remark"),
            &[("remark", "乙改的")],
        )
        .await;
    if !refused(s) {
        wrong.push(format!("POST /admin/followers/{fa}/remark: {s}"));
    }
    let (s, _) = admin_b
        .post("/admin/followers/sync", &[("account", &acc_a)])
        .await;
    if !refused(s) {
        wrong.push(format!("POST /admin/followers/sync account=甲公众号: {s}"));
    }
    let remark = w.follower_row(fa).await.remark;
    if remark != "甲的备注" {
        wrong.push(format!("the remark became {remark:?}"));
    }
    assert!(
        wrong.is_empty(),
        "admin_b reached followers of 甲公众号 (served only by group A), want 403/404 \
         or absent:\n{}",
        wrong.join("\n")
    );
    w.stop().await;
}

// ------------------------------------------------------------------ 6. accept by id

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_by_id_respects_queue_visibility() {
    let w = world().await;
    let hidden = GroupSettings {
        agents_see_queue: false,
        ..GroupSettings::default()
    };
    w.settings(w.ga, hidden).await;
    w.say(&w.acc_a, "oQueueA00001", "第一位").await;
    w.say(&w.acc_a, "oQueueA00002", "第二位").await;
    let (first, second) = (
        w.conv("oQueueA00001").await.id,
        w.conv("oQueueA00002").await.id,
    );
    let agent_a = tab(&w.srv, "agent_a").await;
    let agent_b = tab(&w.srv, "agent_b").await;
    let admin_b = tab(&w.srv, "admin_b").await;

    // What "accept these" answers a plain agent who may not see the queue.
    let ids = second.to_string();
    let (s_many, body_many) = agent_a.post("/console/accept", &[("ids", &ids)]).await;
    assert_eq!(s_many, StatusCode::FORBIDDEN, "{body_many}");
    assert!(body_many.contains("排队详情仅管理员可见"), "{body_many}");
    // Picking the same one by its id must be refused alike.
    let (s, body) = agent_a
        .post(&format!("/console/c/{second}/accept"), &[])
        .await;
    let state = w.conv_by_id(second).await.state;
    assert!(
        s == s_many && body.contains("排队详情仅管理员可见") && state == ConversationState::Queued,
        "POST /console/c/{second}/accept by a plain agent of group A (queue hidden): \
         {s}, now {state:?}; want {s_many} like /console/accept: {}",
        body.chars().take(200).collect::<String>()
    );
    // Other groups' agents and admins cannot take it at all.
    for t in [&agent_b, &admin_b] {
        let (s, body) = t.post(&format!("/console/c/{first}/accept"), &[]).await;
        assert!(
            refused(s),
            "{} accepted group A's conversation: {s} {body}",
            t.name
        );
        assert_eq!(w.conv_by_id(first).await.state, ConversationState::Queued);
    }

    // "Accept next" works for the plain agent, and takes the first in line.
    let (s, body) = agent_a.post("/console/accept", &[]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let c = w.conv_by_id(first).await;
    assert_eq!(
        (c.state, c.agent_id),
        (ConversationState::Active, Some(w.u.agent_a))
    );
    // And by id once the group shows agents the queue.
    let s = GroupSettings {
        agents_see_queue: true,
        ..GroupSettings::default()
    };
    w.settings(w.ga, s).await;
    let (s, body) = agent_a
        .post(&format!("/console/c/{second}/accept"), &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.conv_by_id(second).await.agent_id, Some(w.u.agent_a));
    w.stop().await;
}

// ------------------------------------------------------------------ 7. owner

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_must_be_group_member() {
    let w = world().await;
    w.say(&w.acc_a, "oOwnerA00001", "你好").await;
    let conv = w.conv("oOwnerA00001").await;
    let agent_a = tab(&w.srv, "agent_a").await;
    let (s, body) = agent_a
        .post(&format!("/console/c/{}/accept", conv.id), &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (f, agent_a) = (conv.follower_id, &agent_a);
    let set_owner = |who: UserId| async move {
        let owner = who.to_string();
        agent_a
            .post(
                &format!("/console/f/{f}/profile"),
                &[("remark", "王先生"), ("labels", ""), ("owner", &owner)],
            )
            .await
    };

    let (s, body) = set_owner(w.u.agent_ab).await;
    assert_eq!(s, StatusCode::OK, "agent_ab is in group A: {body}");
    assert_eq!(w.follower_row(f).await.owner_id, Some(w.u.agent_ab));
    let mut wrong = vec![];
    for (name, id) in [("agent_b", w.u.agent_b), ("admin_b", w.u.admin_b)] {
        let (s, _) = set_owner(id).await;
        let owner = w.follower_row(f).await.owner_id;
        if !s.is_client_error() || owner != Some(w.u.agent_ab) {
            wrong.push(format!(
                "owner {name} (not in group A): {s}, owner now {owner:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "a follower of group A got an owner outside the group, want 4xx:\n{}",
        wrong.join("\n")
    );
    let (s, body) = set_owner(w.u.agent_a).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.follower_row(f).await.owner_id, Some(w.u.agent_a));

    // An owner who is no longer in the follower's group (set before a
    // transfer) stays selected in the form, and saving a new remark as the
    // browser sends it keeps them rather than erasing the field.
    let b = w.u.agent_b;
    w.write(move |c| {
        c.execute(
            "UPDATE followers SET owner_id = ?1 WHERE id = ?2",
            [b.0, f.0],
        )?;
        Ok(())
    })
    .await;
    let (s, form) = agent_a.get(&format!("/console/f/{f}/profile")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        form.contains(&format!("<option value=\"{}\" selected>", b.0)),
        "the owner outside the group is shown selected: {form}"
    );
    let (s, body) = set_owner(b).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.follower_row(f).await.owner_id, Some(b), "kept");
    w.stop().await;
}

// ------------------------------------------------------------------ 8. the route table

enum Req {
    Get,
    Post(Vec<(&'static str, String)>),
    Upload,
}

/// One route over group A's data: `ok_by` (of group A) succeeds after
/// agent_b and admin_b were refused.
struct Row<'a> {
    path: String,
    req: Req,
    ok_by: &'a Tab,
}

fn get(path: String, ok_by: &Tab) -> Row<'_> {
    Row {
        path,
        req: Req::Get,
        ok_by,
    }
}

fn post<'a>(path: String, form: &[(&'static str, &str)], ok_by: &'a Tab) -> Row<'a> {
    let form = form.iter().map(|(k, v)| (*k, v.to_string())).collect();
    Row {
        path,
        req: Req::Post(form),
        ok_by,
    }
}

impl Row<'_> {
    async fn send(&self, t: &Tab) -> (StatusCode, String) {
        match &self.req {
            Req::Get => t.get(&self.path).await,
            Req::Post(form) => {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                t.post(&self.path, &form).await
            }
            Req::Upload => t.upload(&self.path, "乙的图.png", PNG).await,
        }
    }

    fn name(&self) -> String {
        match self.req {
            Req::Get => format!("GET {}", self.path),
            _ => format!("POST {}", self.path),
        }
    }
}

/// Runs rows in order; returns what went wrong.
async fn run(rows: Vec<Row<'_>>, outsiders: &[&Tab], secrets: &[&str]) -> Vec<String> {
    let mut wrong = vec![];
    for row in rows {
        for t in outsiders {
            let (s, body) = row.send(t).await;
            if !refused(s) {
                wrong.push(format!("{} by {}: {s}, want 403/404", row.name(), t.name));
            }
            if let Some(x) = secrets.iter().find(|x| body.contains(**x)) {
                wrong.push(format!("{} by {}: shows {x:?}", row.name(), t.name));
            }
        }
        let (s, body) = row.send(row.ok_by).await;
        if !worked(s) {
            let body: String = body.chars().take(200).collect();
            wrong.push(format!(
                "{} by {} (control): {s} {body}",
                row.name(),
                row.ok_by.name
            ));
        }
    }
    wrong
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_table_cross_group() {
    let w = world().await;
    w.generous_quota().await;
    let (a, ga, now) = (&w.acc_a, w.ga, w.srv.state.clock.now());
    let agent_a = tab(&w.srv, "agent_a").await;
    let agent_a2 = tab(&w.srv, "agent_a2").await;
    let admin_a = tab(&w.srv, "admin_a").await;
    let agent_b = tab(&w.srv, "agent_b").await;
    let admin_b = tab(&w.srv, "admin_b").await;
    let outsiders = [&agent_b, &admin_b];

    // Follower 1: an active conversation held by agent_a, with an image from
    // the follower, a reply, a failed reply, an upload, marks and a tag.
    w.wx.fake
        .put_media("MEDIA_TABLE_A", "image/png", PNG.to_vec());
    w.say(a, "oTableA00001", "机密甲一:我的订单").await;
    let c1 = w.conv("oTableA00001").await;
    let (c, f1) = (c1.id, c1.follower_id);
    assert_eq!(
        agent_a.post(&format!("/console/c/{c}/accept"), &[]).await.0,
        StatusCode::OK
    );
    let image = InboundKind::Image {
        pic_url: String::new(),
        media_id: "MEDIA_TABLE_A".into(),
    };
    w.push(a, "oTableA00001", image).await;
    w.fetch().await;
    let (media, _) = w.media("MEDIA_TABLE_A").await;
    for text in ["机密甲一:已查到", "机密甲一:将失败"] {
        let (s, _) = agent_a
            .post(&format!("/console/c/{c}/reply"), &[("text", text)])
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let failed = w
        .int(
            "SELECT max(message_id) FROM outbox WHERE ?1 = ?1",
            String::new(),
        )
        .await
        .unwrap();
    w.write(move |c| {
        c.execute(
            "UPDATE outbox SET state = 'failed' WHERE message_id = ?1",
            [failed],
        )?;
        c.execute("INSERT INTO tags (name) VALUES ('甲标签')", [])?;
        // Group A's own settings data: an FAQ entry, a quick reply, a category.
        db::automation::add_faq(c, ga, "机密甲FAQ问题", "机密甲FAQ答案", &[])?;
        db::taxonomy::add_kb(c, ga, "", "机密甲快捷回复", "机密甲内容", now)?;
        let _ = db::taxonomy::add_category(c, ga, None, "机密甲分类")?;
        Ok(())
    })
    .await;
    let faq = w.int(
        "SELECT max(id) FROM tree_nodes WHERE kind = 'faq' AND ?1 = ?1",
        String::new(),
    );
    let kb = w.int(
        "SELECT max(id) FROM tree_nodes WHERE kind = 'kb' AND ?1 = ?1",
        String::new(),
    );
    let cat = w.int(
        "SELECT max(id) FROM categories WHERE ?1 = ?1",
        String::new(),
    );
    let (faq, kb, cat) = (faq.await.unwrap(), kb.await.unwrap(), cat.await.unwrap());
    let tag = w
        .int("SELECT id FROM tags WHERE name = ?1", "甲标签".into())
        .await
        .unwrap();
    let (s, body) = agent_a
        .upload(&format!("/console/c/{c}/image"), "甲图.png", PNG)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let upload = w
        .int("SELECT max(id) FROM uploads WHERE ?1 = ?1", String::new())
        .await
        .unwrap();
    for note in ["机密甲一:标注一", "机密甲一:标注二"] {
        let (s, _) = agent_a
            .post(&format!("/console/c/{c}/mark"), &[("note", note)])
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let mark1 = w
        .int("SELECT min(id) FROM marks WHERE ?1 = ?1", String::new())
        .await
        .unwrap();
    let mark2 = w
        .int("SELECT max(id) FROM marks WHERE ?1 = ?1", String::new())
        .await
        .unwrap();
    let (s, _) = agent_a
        .post(
            &format!("/console/c/{c}/tag"),
            &[("tag", &tag.to_string()), ("remark", "机密甲一:标签备注")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Follower 2: an ended conversation (to re-open); 3 and 4 queued.
    w.say(a, "oTableA00002", "机密甲二").await;
    let c2 = w.conv("oTableA00002").await;
    assert_eq!(
        agent_a
            .post(&format!("/console/c/{}/accept", c2.id), &[])
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        agent_a
            .post(&format!("/console/c/{}/end", c2.id), &[])
            .await
            .0,
        StatusCode::OK
    );
    w.say(a, "oTableA00003", "机密甲三").await;
    w.say(a, "oTableA00004", "机密甲四").await;
    let (c3, c4) = (
        w.conv("oTableA00003").await.id,
        w.conv("oTableA00004").await.id,
    );
    let secrets = ["机密甲", "oTableA0000"];
    let label_a1 = label("oTableA00001");

    // Lists: group A's rows appear for group A, never for group B.
    let mut wrong = vec![];
    let lists = [
        ("/console/lists", &agent_a, label_a1.clone()),
        (
            "/console/marks?state=all",
            &admin_a,
            "机密甲一:标注一".to_string(),
        ),
        ("/console/tagged", &admin_a, "机密甲一:标签备注".to_string()),
        ("/console/uploads", &agent_a, "甲图.png".to_string()),
        ("/admin/followers", &admin_a, "oTableA00001".to_string()),
    ];
    for (path, ok_by, shown) in lists {
        let (s, page) = ok_by.get(path).await;
        if s != StatusCode::OK || !page.contains(&shown) {
            wrong.push(format!(
                "GET {path} by {} (control): {s}, no {shown:?}",
                ok_by.name
            ));
        }
        for t in outsiders {
            let (s, page) = t.get(path).await;
            let leak = [secrets[0], secrets[1], "甲图.png", label_a1.as_str()]
                .into_iter()
                .find(|x| page.contains(x));
            if let (true, Some(x)) = (s.is_success(), leak) {
                wrong.push(format!("GET {path} by {}: shows {x:?}", t.name));
            }
        }
    }

    let f2 = c2.follower_id;
    let rows = vec![
        get(format!("/console/c/{c}"), &agent_a),
        get(format!("/console/c/{c}/budget"), &agent_a),
        get(format!("/console/f/{f1}/profile"), &agent_a),
        get(format!("/console/f/{f1}/history"), &agent_a),
        get(format!("/media/{media}"), &agent_a),
        get(format!("/console/uploads/{upload}"), &agent_a),
        post(format!("/console/c/{c}/read"), &[], &agent_a),
        post(
            format!("/console/c/{c}/note"),
            &[("body", "内部备注")],
            &agent_a,
        ),
        post(
            format!("/console/c/{c}/mark"),
            &[("note", "跟进")],
            &agent_a,
        ),
        post(
            format!("/console/c/{c}/tag"),
            &[("tag", &tag.to_string())],
            &agent_a,
        ),
        post(
            format!("/console/f/{f1}/profile"),
            &[("remark", "改名")],
            &agent_a,
        ),
        post(
            format!("/console/c/{c}/reply"),
            &[("text", "你好")],
            &agent_a,
        ),
        Row {
            path: format!("/console/c/{c}/image"),
            req: Req::Upload,
            ok_by: &agent_a,
        },
        post(
            format!("/console/c/{c}/resend"),
            &[("upload", &upload.to_string())],
            &agent_a,
        ),
        post(format!("/console/messages/{failed}/retry"), &[], &agent_a),
        post(format!("/console/c/{c}/survey"), &[], &agent_a),
        post(format!("/console/marks/{mark1}/handle"), &[], &agent_a),
        post(format!("/console/marks/{mark2}/delete"), &[], &agent_a),
        post(
            format!("/admin/followers/{f1}/remark"),
            &[("remark", "乙")],
            &admin_a,
        ),
        post(format!("/console/c/{c3}/accept"), &[], &admin_a),
        post(format!("/console/c/{c4}/remove"), &[], &admin_a),
        post(format!("/console/f/{f2}/reopen"), &[], &agent_a),
        get(format!("/admin/automation/faq/{faq}"), &admin_a),
        get(format!("/admin/kb/nodes/{kb}"), &admin_a),
        get(format!("/admin/faq/nodes/{faq}"), &admin_a),
        post(format!("/console/kb/{kb}/used"), &[], &agent_a),
        post(
            format!("/console/c/{c}/kb"),
            &[("node", &kb.to_string())],
            &agent_a,
        ),
        post(
            format!("/admin/kb/nodes/{kb}/move"),
            &[("dir", "up")],
            &admin_a,
        ),
        post(
            format!("/admin/taxonomy/categories/{cat}"),
            &[("name", "甲分类")],
            &admin_a,
        ),
    ];
    wrong.extend(run(rows, &outsiders, &secrets).await);

    // Transfers: to agent_a2 (online), declined; again, accepted; then ended.
    let (s, _) = agent_a2
        .post(
            "/console/status",
            &[("status", "online"), ("auto_accept", "off")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let to_a2 = format!("u{}", w.u.agent_a2);
    let transfer = format!("/console/c/{c}/transfer");
    let transfer_id = || w.int("SELECT max(id) FROM transfers WHERE ?1 = ?1", String::new());
    wrong.extend(
        run(
            vec![post(transfer.clone(), &[("target", &to_a2)], &agent_a)],
            &outsiders,
            &secrets,
        )
        .await,
    );
    let t1 = transfer_id().await.unwrap_or(0);
    wrong.extend(
        run(
            vec![post(
                format!("/console/transfers/{t1}/decline"),
                &[],
                &agent_a2,
            )],
            &outsiders,
            &secrets,
        )
        .await,
    );
    let (s, _) = agent_a.post(&transfer, &[("target", &to_a2)]).await;
    assert_eq!(s, StatusCode::OK);
    let t2 = transfer_id().await.unwrap_or(0);
    let rows = vec![
        post(format!("/console/transfers/{t2}/accept"), &[], &agent_a2),
        post(format!("/console/c/{c}/end"), &[], &agent_a2),
    ];
    wrong.extend(run(rows, &outsiders, &secrets).await);
    assert!(
        wrong.is_empty(),
        "group B reached group A's data (or a control failed):\n{}",
        wrong.join("\n")
    );
    w.stop().await;
}
