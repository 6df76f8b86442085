//! The API client and the outbox against a fake WeChat API server on its own
//! loopback port (A6, A7, A8, A15): tokens cached and reused across a restart,
//! one refetch and one retry on 40001, transient failures retried and then
//! delivered in order, permanent refusals recorded with a reason and not
//! retried, a budget refusal that never reaches the network, and pending rows
//! delivered exactly once after a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{APPID, FakeServer, SECRET, TestServer};
use jiff::SignedDuration;
use kefu::db::{self, DbResult};
use kefu::model::{FollowerId, InteractionKind, OutboundKind, OutboxId, OutboxState};
use kefu::wechat::fake::{Api, Failure};
use kefu::wechat::outbox::Outcome;

async fn follower(
    srv: &TestServer,
    account: kefu::model::AccountId,
    openid: &str,
    interacted: bool,
) -> FollowerId {
    let now = srv.state.clock.now();
    let openid = openid.to_string();
    srv.state
        .db
        .write(move |c| -> DbResult<FollowerId> {
            let f = db::followers::upsert(c, account, &openid, now)?;
            if interacted {
                db::followers::record_interaction(c, f, InteractionKind::Message, now)?;
            }
            Ok(f)
        })
        .await
        .unwrap()
}

async fn enqueue(
    srv: &TestServer,
    account: kefu::model::AccountId,
    f: FollowerId,
    text: &str,
) -> OutboxId {
    let now = srv.state.clock.now();
    let payload = serde_json::json!({ "content": text });
    srv.state
        .db
        .write(move |c| db::outbox::enqueue(c, account, f, OutboundKind::Text, &payload, None, now))
        .await
        .unwrap()
        .1
}

async fn row(srv: &TestServer, id: OutboxId) -> db::outbox::OutboxRow {
    srv.state
        .db
        .read(move |c| db::outbox::get(c, id))
        .await
        .unwrap()
        .unwrap()
}

/// Runs passes, moving the manual clock past any backoff, until nothing is pending.
async fn drain(srv: &TestServer) -> Vec<(OutboxId, Outcome)> {
    let sender = srv.state.wechat.sender(&srv.state.db, &srv.state.clock);
    let mut all = Vec::new();
    for _ in 0..20 {
        let out = sender.pass().await.unwrap();
        all.extend(out);
        let next = srv.state.db.read(db::outbox::next_due).await.unwrap();
        match next {
            None => break,
            Some(at) => {
                let now = srv.state.clock.now();
                if at > now {
                    srv.state
                        .clock
                        .advance(at.duration_since(now) + SignedDuration::from_millis(1));
                }
            }
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_cached_and_a_40001_costs_exactly_one_refetch_and_one_retry() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("safe", &wx.url).await;
    let f = follower(&srv, acc.id, "oA", true).await;

    enqueue(&srv, acc.id, f, "第一条").await;
    enqueue(&srv, acc.id, f, "第二条").await;
    drain(&srv).await;
    assert_eq!(wx.fake.token_requests(), 1, "one token for both sends");
    let texts: Vec<String> = wx
        .fake
        .sent_to("oA")
        .iter()
        .map(|s| s.body["text"]["content"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, ["第一条", "第二条"]);
    assert!(
        wx.fake.sent_to("oA")[0].raw.contains("第一条"),
        "UTF-8 JSON, not \\u escapes"
    );

    // WeChat invalidates the token: the next send meets 40001.
    wx.fake.expire_tokens();
    let id = enqueue(&srv, acc.id, f, "第三条").await;
    let out = drain(&srv).await;
    assert_eq!(
        out,
        vec![(id, Outcome::Sent)],
        "sent in the same pass, after one retry"
    );
    assert_eq!(wx.fake.token_requests(), 2, "exactly one refetch");
    assert_eq!(wx.fake.sent_to("oA").len(), 3);

    // A token that keeps being refused is not retried for ever.
    wx.fake
        .fail_next(Api::CustomSend, Failure::ErrCode(40001), 2);
    let id = enqueue(&srv, acc.id, f, "第四条").await;
    let sender = srv.state.wechat.sender(&srv.state.db, &srv.state.clock);
    let out = sender.pass().await.unwrap();
    assert!(
        matches!(out[0], (i, Outcome::Retry(_)) if i == id),
        "{out:?}"
    );
    assert_eq!(wx.fake.token_requests(), 3, "one more refetch, no loop");
    drain(&srv).await;
    assert_eq!(row(&srv, id).await.state, OutboxState::Sent);

    // A restart reuses the cached token: no new fetch.
    let api =
        kefu::wechat::api::WechatApi::new(srv.state.db.clone(), srv.state.clock.clone(), &wx.url);
    let before = wx.fake.token_requests();
    api.typing(&acc, "oA", true).await.unwrap();
    assert_eq!(wx.fake.token_requests(), before, "token from the database");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_and_5xx_are_retried_with_backoff_then_delivered_in_order() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("safe", &wx.url).await;
    let f = follower(&srv, acc.id, "oB", true).await;
    wx.fake.fail_next(Api::CustomSend, Failure::ErrCode(-1), 2);
    wx.fake.fail_next(Api::CustomSend, Failure::Http(500), 2);
    let ids = [
        enqueue(&srv, acc.id, f, "1").await,
        enqueue(&srv, acc.id, f, "2").await,
        enqueue(&srv, acc.id, f, "3").await,
    ];

    let sender = srv.state.wechat.sender(&srv.state.db, &srv.state.clock);
    let first = sender.pass().await.unwrap();
    assert_eq!(first.len(), 1, "only the oldest row of a follower is tried");
    assert!(
        matches!(&first[0].1, Outcome::Retry(r) if r.contains("繁忙")),
        "{first:?}"
    );
    let r = row(&srv, ids[0]).await;
    assert_eq!(
        (r.state, r.attempts, r.error_code),
        (OutboxState::Pending, 1, Some(-1))
    );
    assert!(r.next_attempt_at > srv.state.clock.now(), "backoff");
    assert!(
        sender.pass().await.unwrap().is_empty(),
        "nothing due during the backoff"
    );

    drain(&srv).await;
    let texts: Vec<String> = wx
        .fake
        .sent_to("oB")
        .iter()
        .map(|s| s.body["text"]["content"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, ["1", "2", "3"], "in order, each once");
    for id in ids {
        assert_eq!(row(&srv, id).await.state, OutboxState::Sent);
    }
    assert_eq!(
        row(&srv, ids[0]).await.attempts,
        5,
        "4 failures then success"
    );
    let follower = srv
        .state
        .db
        .read(move |c| db::followers::get(c, f))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        follower.message_window.unwrap().1,
        3,
        "the budget counts what reached WeChat"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_final_and_explained_and_the_budget_stops_certain_failures() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("safe", &wx.url).await;
    let f = follower(&srv, acc.id, "oC", true).await;

    wx.fake
        .fail_next(Api::CustomSend, Failure::ErrCode(45015), 1);
    wx.fake
        .fail_next(Api::CustomSend, Failure::ErrCode(45047), 1);
    let a = enqueue(&srv, acc.id, f, "a").await;
    let b = enqueue(&srv, acc.id, f, "b").await;
    drain(&srv).await;
    let (ra, rb) = (row(&srv, a).await, row(&srv, b).await);
    assert_eq!(
        (ra.state, ra.attempts, ra.error_code),
        (OutboxState::Failed, 1, Some(45015)),
        "not retried"
    );
    assert!(ra.error_reason.contains("48 小时"), "{}", ra.error_reason);
    assert_eq!(
        (rb.state, rb.error_code),
        (OutboxState::Failed, Some(45047))
    );
    assert!(
        rb.error_reason.contains("条数已达上限"),
        "{}",
        rb.error_reason
    );
    let msg = srv
        .state
        .db
        .read(move |c| db::messages::get(c, ra.message_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        msg.delivery.unwrap().0,
        OutboxState::Failed,
        "the agent sees it on the message"
    );

    // A follower who never interacted: refused before any network call.
    let stranger = follower(&srv, acc.id, "oNever", false).await;
    let sends_before = wx.fake.sent().len();
    let tokens_before = wx.fake.token_requests();
    let c = enqueue(&srv, acc.id, stranger, "hello").await;
    drain(&srv).await;
    let rc = row(&srv, c).await;
    assert_eq!((rc.state, rc.error_code), (OutboxState::Failed, None));
    assert!(
        rc.error_reason.contains("没有与公众号互动"),
        "{}",
        rc.error_reason
    );
    assert_eq!(
        (wx.fake.sent().len(), wx.fake.token_requests()),
        (sends_before, tokens_before),
        "no call made"
    );

    // The window closes after 48 hours.
    let d = follower(&srv, acc.id, "oLate", true).await;
    srv.state.clock.advance(SignedDuration::from_hours(49));
    let late = enqueue(&srv, acc.id, d, "迟到的回复").await;
    drain(&srv).await;
    assert!(row(&srv, late).await.error_reason.contains("超过 48 小时"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_rows_are_delivered_once_after_a_restart() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let config = {
        let mut c = kefu::config::Config::for_data_dir(&data);
        c.wechat_api_base = wx.url.clone();
        c
    };
    let clock = kefu::clock::Clock::manual("2026-11-20T02:00:00Z".parse().unwrap());

    // First life: rows committed, WeChat down, the server stops.
    let (acc, ids) = {
        let db = kefu::db::Db::open(&config.db_path()).unwrap();
        let state = kefu::state::AppState::new(db.clone(), clock.clone(), config.clone())
            .await
            .unwrap();
        let f = kefu::db::accounts::AccountFields {
            name: "店".into(),
            app_id: APPID.into(),
            app_secret: SECRET.into(),
            token: "kefuToken".into(),
            aes_key: common::AES_KEY.into(),
            mode: "safe".into(),
            ..Default::default()
        };
        let acc = kefu::channel::create(&db, &clock, &kefu::team::Acting::shell(), f)
            .await
            .unwrap();
        let now = clock.now();
        let ids = db
            .write(move |c| -> DbResult<Vec<OutboxId>> {
                let f = db::followers::upsert(c, acc, "oD", now)?;
                db::followers::record_interaction(c, f, InteractionKind::Message, now)?;
                let mut ids = vec![];
                for t in ["甲", "乙"] {
                    ids.push(
                        db::outbox::enqueue(
                            c,
                            acc,
                            f,
                            OutboundKind::Text,
                            &serde_json::json!({"content": t}),
                            None,
                            now,
                        )?
                        .1,
                    );
                }
                Ok(ids)
            })
            .await
            .unwrap();
        wx.fake.fail_next(Api::CustomSend, Failure::Http(502), 1);
        let sender = state.wechat.sender(&state.db, &state.clock);
        let out = sender.pass().await.unwrap();
        assert!(matches!(out[0].1, Outcome::Retry(_)));
        db.close();
        (acc, ids)
    };
    assert!(wx.fake.sent_to("oD").is_empty());

    // Second life: the sender resumes from the database.
    clock.advance(SignedDuration::from_mins(10));
    let db = kefu::db::Db::open(&config.db_path()).unwrap();
    let state = kefu::state::AppState::new(db.clone(), clock.clone(), config.clone())
        .await
        .unwrap();
    let sender = state.wechat.sender(&state.db, &state.clock);
    for _ in 0..3 {
        sender.pass().await.unwrap();
    }
    let texts: Vec<String> = wx
        .fake
        .sent_to("oD")
        .iter()
        .map(|s| s.body["text"]["content"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        texts,
        ["甲", "乙"],
        "delivered after the restart, once each, in order"
    );
    for id in ids {
        let r = db
            .read(move |c| db::outbox::get(c, id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.state, OutboxState::Sent);
    }
    let _ = acc;
    db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_and_voice_are_uploaded_first_then_sent_by_media_id() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("safe", &wx.url).await;
    let f = follower(&srv, acc.id, "oPic", true).await;
    let dir = srv.dir.path().join("media").join("uploads");
    std::fs::create_dir_all(&dir).unwrap();
    let png: Vec<u8> = [
        &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a][..],
        &[1u8; 500][..],
    ]
    .concat();
    std::fs::write(dir.join("photo.png"), &png).unwrap();
    std::fs::write(dir.join("hello.mp3"), [0xffu8, 0xfb, 0x90, 0x00, 1, 2, 3]).unwrap();
    let now = srv.state.clock.now();
    let ids = srv
        .state
        .db
        .write(move |c| -> DbResult<Vec<OutboxId>> {
            let img = serde_json::json!({ "path": "uploads/photo.png" });
            let voice = serde_json::json!({ "path": "uploads/hello.mp3" });
            let evil = serde_json::json!({ "path": "../kefu.db" });
            Ok(vec![
                db::outbox::enqueue(c, acc.id, f, OutboundKind::Image, &img, None, now)?.1,
                db::outbox::enqueue(c, acc.id, f, OutboundKind::Voice, &voice, None, now)?.1,
                db::outbox::enqueue(c, acc.id, f, OutboundKind::Image, &evil, None, now)?.1,
            ])
        })
        .await
        .unwrap();
    drain(&srv).await;
    let uploaded = wx.fake.uploaded();
    assert_eq!(uploaded.len(), 2, "{uploaded:?}");
    assert_eq!(
        (uploaded[0].1.as_str(), uploaded[0].2),
        ("image", png.len())
    );
    let sent = wx.fake.sent_to("oPic");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].msgtype, "image");
    assert_eq!(sent[0].body["image"]["media_id"], uploaded[0].0.as_str());
    assert_eq!(sent[1].msgtype, "voice");
    let r = row(&srv, ids[0]).await;
    let Ok(db::outbox::Payload::Image(media)) = &r.payload else {
        panic!("an image payload: {:?}", r.payload);
    };
    assert_eq!(
        media.media_id.as_deref(),
        Some(uploaded[0].0.as_str()),
        "kept so a retry does not upload again"
    );
    let evil = row(&srv, ids[2]).await;
    assert_eq!(
        evil.state,
        OutboxState::Failed,
        "a path outside the media folder is refused"
    );
    assert!(
        evil.error_reason.contains("文件已不存在"),
        "{}",
        evil.error_reason
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_whose_payload_cannot_be_read_is_failed_with_a_reason_and_not_sent() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("safe", &wx.url).await;
    let f = follower(&srv, acc.id, "oBad", true).await;
    let bad = enqueue(&srv, acc.id, f, "坏").await;
    let good = enqueue(&srv, acc.id, f, "好").await;
    // Written by another version, or damaged: a text without "content".
    srv.state
        .db
        .write(move |c| -> DbResult<usize> {
            Ok(c.execute(
                "UPDATE outbox SET payload = '{\"text\":\"坏\"}' WHERE id = ?1",
                [bad],
            )?)
        })
        .await
        .unwrap();
    let out = drain(&srv).await;
    assert!(
        matches!(&out[0], (id, Outcome::Failed(r)) if *id == bad && r.contains("无法读取")),
        "{out:?}"
    );
    let r = row(&srv, bad).await;
    assert!(r.payload.is_err());
    assert_eq!((r.state, r.error_code), (OutboxState::Failed, None));
    assert!(
        r.error_reason.contains("消息内容无法读取"),
        "{}",
        r.error_reason
    );
    let texts: Vec<String> = wx
        .fake
        .sent_to("oBad")
        .iter()
        .map(|s| s.body["text"]["content"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        texts,
        ["好"],
        "the unreadable row never reaches WeChat; the one behind it goes on"
    );
    assert_eq!(row(&srv, good).await.state, OutboxState::Sent);
    srv.stop().await;
}

// ------------------------------------------------------------ under failure (issue 11)

use kefu::clock::Clock;
use kefu::wechat::api::WechatApi;
use kefu::wechat::outbox::Sender;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// A sender of its own over the server's database: a fresh process's memory,
/// an API client with `timeout` for sends, on `clock`.
fn own_sender(srv: &TestServer, wx_url: &str, clock: Clock, timeout: Option<Duration>) -> Sender {
    let mut api = WechatApi::new(srv.state.db.clone(), clock.clone(), wx_url);
    if let Some(t) = timeout {
        api.set_send_timeout(t);
    }
    Sender {
        api: Arc::new(api),
        db: srv.state.db.clone(),
        clock,
        media_dir: srv.dir.path().join("media"),
        wake: Arc::new(tokio::sync::Notify::new()),
        unrecorded: Default::default(),
        live: None,
        status: Default::default(),
    }
}

/// Runs the sender's loop until the returned sender is dropped or told to stop.
fn run(
    sender: Sender,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, rx) = tokio::sync::watch::channel(false);
    (stop, tokio::spawn(sender.run_until(rx)))
}

/// A follower who wrote just now by the system clock (the loop tests run on it).
async fn follower_now(
    srv: &TestServer,
    account: kefu::model::AccountId,
    openid: &str,
) -> FollowerId {
    let openid = openid.to_string();
    srv.state
        .db
        .write(move |c| -> DbResult<FollowerId> {
            let now = jiff::Timestamp::now();
            let f = db::followers::upsert(c, account, &openid, now)?;
            db::followers::record_interaction(c, f, InteractionKind::Message, now)?;
            Ok(f)
        })
        .await
        .unwrap()
}

fn texts_to(wx: &FakeServer, openid: &str) -> Vec<String> {
    wx.fake
        .sent_to(openid)
        .iter()
        .map(|s| s.body["text"]["content"].as_str().unwrap().to_string())
        .collect()
}

async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < end, "waited {limit:?} for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn state_of(srv: &TestServer, id: OutboxId) -> OutboxState {
    row(srv, id).await.state
}

async fn sent_count(srv: &TestServer, f: FollowerId) -> i64 {
    srv.state
        .db
        .read(move |c| db::followers::get(c, f))
        .await
        .unwrap()
        .unwrap()
        .message_window
        .unwrap()
        .1
}

async fn message_row_html(srv: &TestServer, id: OutboxId) -> String {
    let message = row(srv, id).await.message_id;
    let tz = srv.state.config.timezone.clone();
    let now = srv.state.clock.now();
    srv.state
        .db
        .read(move |c| kefu::web::console::rows::render_message_row(c, message, &tz, now))
        .await
        .unwrap()
        .unwrap()
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_killed_mid_call_is_never_resent_and_shows_outcome_unknown() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("safe", &wx.url).await;
    let f = follower(&srv, acc.id, "oKill", true).await;
    // WeChat takes the message at once and never answers.
    wx.fake.answer_late(Duration::from_secs(3600), 1);
    let first = enqueue(&srv, acc.id, f, "甲").await;
    let second = enqueue(&srv, acc.id, f, "乙").await;

    let (_stop, task) = run(srv.state.wechat.sender(&srv.state.db, &srv.state.clock));
    wait_for(
        "WeChat has the first message",
        Duration::from_secs(10),
        || async { wx.fake.sent_to("oKill").len() == 1 },
    )
    .await;
    assert_eq!(
        state_of(&srv, first).await,
        OutboxState::Sending,
        "committed as sending before the call"
    );
    assert_eq!(
        state_of(&srv, second).await,
        OutboxState::Pending,
        "the next one waits its turn"
    );
    // kill -9, as far as the sender is concerned.
    task.abort();
    let _ = task.await;

    // The next life, on the same database, with nothing in memory.
    let (stop, task) = run(own_sender(&srv, &wx.url, srv.state.clock.clone(), None));
    wait_for(
        "the second message goes out",
        Duration::from_secs(10),
        || async { wx.fake.sent_to("oKill").len() >= 2 },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(texts_to(&wx, "oKill"), ["甲", "乙"], "no duplicate");
    let r = row(&srv, first).await;
    assert_eq!(r.state, OutboxState::Unknown);
    assert!(r.error_reason.contains("服务重启"), "{}", r.error_reason);
    assert_eq!(state_of(&srv, second).await, OutboxState::Sent);
    assert_eq!(
        sent_count(&srv, f).await,
        2,
        "the unknown one is charged too: WeChat may have counted it"
    );
    let html = message_row_html(&srv, first).await;
    for word in ["结果未知", "重发", "忽略", "防重复"] {
        assert!(html.contains(word), "{word} in {html}");
    }
    assert!(!html.contains("立即重试"), "{html}");
    let _ = stop.send(true);
    task.await.unwrap();
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_that_times_out_becomes_unknown_and_only_the_agent_resends_it() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("safe", &wx.url).await;
    let f = follower(&srv, acc.id, "oSlow", true).await;
    // Slower than the client's timeout (shortened here; 35 s in production).
    wx.fake.answer_late(Duration::from_secs(3), 1);
    let sender = own_sender(
        &srv,
        &wx.url,
        srv.state.clock.clone(),
        Some(Duration::from_secs(1)),
    );
    let id = enqueue(&srv, acc.id, f, "慢").await;
    let out = sender.pass().await.unwrap();
    assert!(
        matches!(&out[..], [(i, Outcome::Unknown(r))] if *i == id && r.contains("无法确定")),
        "{out:?}"
    );
    // Hours later, still not resent automatically.
    for _ in 0..3 {
        srv.state.clock.advance(SignedDuration::from_hours(1));
        assert!(sender.pass().await.unwrap().is_empty());
    }
    assert_eq!(texts_to(&wx, "oSlow"), ["慢"]);
    assert_eq!(state_of(&srv, id).await, OutboxState::Unknown);
    assert!(
        message_row_html(&srv, id).await.contains("结果未知"),
        "the agent sees it"
    );

    // The agent presses 重发 and accepts it may arrive twice.
    let message = row(&srv, id).await.message_id;
    let now = srv.state.clock.now();
    let again = srv
        .state
        .db
        .write(move |c| db::outbox::retry_failed(c, message, now))
        .await
        .unwrap();
    assert!(again);
    assert_eq!(sender.pass().await.unwrap(), vec![(id, Outcome::Sent)]);
    assert_eq!(texts_to(&wx, "oSlow"), ["慢", "慢"]);

    // 忽略 only applies to an unknown outcome.
    wx.fake.answer_late(Duration::from_secs(3), 1);
    let other = enqueue(&srv, acc.id, f, "再慢").await;
    sender.pass().await.unwrap();
    let message = row(&srv, other).await.message_id;
    let ignored = srv
        .state
        .db
        .write(move |c| db::outbox::ignore_unknown(c, message))
        .await
        .unwrap();
    assert!(ignored);
    assert_eq!(state_of(&srv, other).await, OutboxState::Ignored);
    let html = message_row_html(&srv, other).await;
    assert!(html.contains("已忽略") && !html.contains("重发"), "{html}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_retried_since_nothing_was_sent() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    // Nothing listens on this port.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let acc = srv.account("safe", &closed).await;
    let f = follower(&srv, acc.id, "oRefused", true).await;
    let id = enqueue(&srv, acc.id, f, "稍后").await;
    let sender = srv.state.wechat.sender(&srv.state.db, &srv.state.clock);
    let out = sender.pass().await.unwrap();
    assert!(matches!(&out[..], [(_, Outcome::Retry(_))]), "{out:?}");
    let r = row(&srv, id).await;
    assert_eq!((r.state, r.attempts), (OutboxState::Pending, 1));
    assert!(
        message_row_html(&srv, id).await.contains("立即重试"),
        "a waiting row offers 立即重试"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_cannot_be_stored_is_kept_and_fetches_stay_bounded() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("safe", &wx.url).await;
    // The disk refuses the token (as a full disk would).
    srv.state
        .db
        .write(|c| -> DbResult<()> {
            c.execute_batch(
                "CREATE TRIGGER full_disk_i BEFORE INSERT ON access_tokens
                   BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;
                 CREATE TRIGGER full_disk_u BEFORE UPDATE ON access_tokens
                   BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;",
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let mut followers = vec![];
    for (i, o) in ["oT1", "oT2", "oT3"].into_iter().enumerate() {
        let f = follower_now(&srv, acc.id, o).await;
        for n in 0..2 {
            enqueue(&srv, acc.id, f, &format!("{i}-{n}")).await;
        }
        followers.push(o);
    }
    let sender = own_sender(&srv, &wx.url, Clock::System, None);
    let status = sender.status.clone();
    let (stop, task) = run(sender);
    wait_for("every reply delivered", Duration::from_secs(10), || async {
        wx.fake.sent().len() == 6
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        wx.fake.token_requests(),
        1,
        "the token is kept in memory: one fetch, not one per send"
    );
    let _ = stop.send(true);
    task.await.unwrap();
    assert!(status.passes.load(Ordering::Relaxed) < 20);

    // A new process (nothing in memory, nothing stored) meets a WeChat that
    // refuses every token fetch: fetches stay a few per minute.
    wx.fake.fail_next(Api::Token, Failure::ErrCode(-1), 100_000);
    let before = wx.fake.token_requests();
    let sender = own_sender(&srv, &wx.url, Clock::System, None);
    let status = sender.status.clone();
    for o in &followers {
        let f = follower_now(&srv, acc.id, o).await;
        enqueue(&srv, acc.id, f, "又一条").await;
    }
    let (stop, task) = run(sender);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let _ = stop.send(true);
    task.await.unwrap();
    let fetches = wx.fake.token_requests() - before;
    assert!(
        (1..=kefu::wechat::api::TOKEN_BURST as usize + 1).contains(&fetches),
        "{fetches} token fetches in 6 s"
    );
    assert_eq!(wx.fake.sent().len(), 6, "nothing more sent");
    let passes = status.passes.load(Ordering::Relaxed);
    assert!(passes < 30, "{passes} passes in 6 s: the loop waits");
    println!("token fetches in 6 s while every fetch fails: {fetches}; passes: {passes}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_that_cannot_be_written_is_not_resent_and_the_loop_waits() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("safe", &wx.url).await;
    let f = follower_now(&srv, acc.id, "oFull").await;
    let id = enqueue(&srv, acc.id, f, "一次").await;
    // The row can be taken, but its outcome cannot be written down.
    let block =
        "CREATE TRIGGER full_disk BEFORE UPDATE OF state ON outbox WHEN NEW.state <> 'sending'
                   BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;";
    srv.state
        .db
        .write(move |c| -> DbResult<()> { Ok(c.execute_batch(block)?) })
        .await
        .unwrap();
    let sender = own_sender(&srv, &wx.url, Clock::System, None);
    let (status, bell) = (sender.status.clone(), sender.wake.clone());
    let (stop, task) = run(sender);
    wait_for("sent once", Duration::from_secs(5), || async {
        wx.fake.sent().len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let passes = status.passes.load(Ordering::Relaxed);
    assert_eq!(texts_to(&wx, "oFull"), ["一次"], "never sent again");
    assert_eq!(state_of(&srv, id).await, OutboxState::Sending);
    assert!(passes <= 6, "{passes} passes in 5 s: the loop backs off");
    assert_eq!(wx.fake.token_requests(), 1);

    // Space comes back: the outcome is written, still sent once.
    srv.state
        .db
        .write(|c| -> DbResult<()> { Ok(c.execute_batch("DROP TRIGGER full_disk")?) })
        .await
        .unwrap();
    bell.notify_one();
    wait_for("written down", Duration::from_secs(20), || async {
        state_of(&srv, id).await == OutboxState::Sent
    })
    .await;
    assert_eq!(texts_to(&wx, "oFull"), ["一次"]);
    let _ = stop.send(true);
    task.await.unwrap();
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_outage_waiting_replies_go_out_within_ten_seconds_in_order() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("safe", &wx.url).await;
    let sender = own_sender(&srv, &wx.url, Clock::System, None);
    let (status, bell) = (sender.status.clone(), sender.wake.clone());
    let (stop, task) = run(sender);
    let openids = ["oO1", "oO2", "oO3", "oO4"];
    let mut fs = vec![];
    for o in openids {
        fs.push(follower_now(&srv, acc.id, o).await);
    }
    // WeChat goes down (every endpoint answers 503) with replies pending.
    wx.fake.set_outage(Some(503));
    for n in 0..3 {
        for f in &fs {
            enqueue(&srv, acc.id, *f, &format!("第{n}条")).await;
        }
        bell.notify_one();
    }
    // Long enough for the backoff to grow past what recovery may take.
    tokio::time::sleep(Duration::from_secs(14)).await;
    assert!(wx.fake.sent().is_empty());
    let probes = wx.fake.probe_requests();
    assert!(probes >= 1, "probed while down: {probes}");

    let back = Instant::now();
    wx.fake.set_outage(None);
    wait_for("all replies delivered", Duration::from_secs(10), || async {
        wx.fake.sent().len() == 12
    })
    .await;
    let delay = back.elapsed();
    println!("delivered {delay:?} after the API came back ({probes} probes while down)");
    for o in openids {
        assert_eq!(
            texts_to(&wx, o),
            ["第0条", "第1条", "第2条"],
            "in order for {o}"
        );
    }
    let _ = stop.send(true);
    task.await.unwrap();
    assert!(status.probes.load(Ordering::Relaxed) >= probes as u64);
    srv.stop().await;
}

/// A logged-in console tab: htmx POSTs with the CSRF token.
struct Tab {
    b: common::Browser,
    csrf: String,
    base: String,
}

impl Tab {
    async fn new(srv: &TestServer, name: &str) -> Tab {
        let b = srv.login(name).await;
        let csrf = b.csrf().await;
        Tab {
            b,
            csrf,
            base: srv.url.clone(),
        }
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (reqwest::StatusCode, String) {
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
            .unwrap();
        (r.status(), r.text().await.unwrap_or_default())
    }

    async fn get(&self, path: &str) -> String {
        let r = self
            .b
            .client
            .get(format!("{}{path}", self.base))
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.text().await.unwrap_or_default()
    }
}

/// The chat row of the message `needle` is in.
fn row_of<'a>(chat: &'a str, needle: &str) -> &'a str {
    let at = chat
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} in {chat}"));
    let start = chat[..at].rfind("<div class=\"row ").unwrap_or(0);
    let end = chat[at..]
        .find("<div class=\"row ")
        .map_or(chat.len(), |e| at + e);
    &chat[start..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_holder_or_an_admin_may_retry_now_and_the_holder_may_ignore_an_unknown_outcome() {
    use kefu::model::Role;
    use reqwest::StatusCode;
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
    srv.user("amy", Role::Admin, &[group]).await;
    srv.user("bob", Role::Agent, &[group]).await;
    srv.user("boss", Role::Admin, &[group]).await;
    let (amy, bob, boss) = (
        Tab::new(&srv, "amy").await,
        Tab::new(&srv, "bob").await,
        Tab::new(&srv, "boss").await,
    );
    let openid = "oFanWaits0001";
    let xml = format!(
        "<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[在吗]]></Content>\
         <MsgId>7001</MsgId></xml>",
        srv.state.clock.now().as_second()
    );
    assert_eq!(srv.push(&acc, "plain", &xml).await.status(), StatusCode::OK);
    let conv = srv
        .state
        .db
        .read(move |c| -> DbResult<_> {
            let f = db::followers::by_openid(c, id, openid)?.unwrap();
            db::conversations::open_of(c, f.id)
        })
        .await
        .unwrap()
        .expect("a conversation");
    let (s, body) = amy
        .post(&format!("/console/c/{}/accept", conv.id), &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let sender = srv.state.wechat.sender(&srv.state.db, &srv.state.clock);
    drain(&srv).await;

    // WeChat is down behind its gateway: the reply waits.
    wx.fake.fail_next(Api::CustomSend, Failure::Http(502), 2);
    let (s, body) = amy
        .post(
            &format!("/console/c/{}/reply", conv.id),
            &[("text", "马上为您处理")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let out = sender.pass().await.unwrap();
    assert!(matches!(&out[..], [(_, Outcome::Retry(_))]), "{out:?}");
    let chat = amy.get(&format!("/console/c/{}", conv.id)).await;
    let row = row_of(&chat, "马上为您处理");
    assert!(row.contains("重试中") && row.contains("立即重试"), "{row}");
    let message: i64 = row
        .split("data-message=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|n| n.parse().ok())
        .expect("message id");
    let now_url = format!("/console/messages/{message}/retry-now");
    let (s, _) = bob.post(&now_url, &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not the holder, not an admin");
    assert!(sender.pass().await.unwrap().is_empty(), "still waiting");
    let (s, body) = boss.post(&now_url, &[]).await;
    assert_eq!(s, StatusCode::OK, "an admin of the group: {body}");
    assert_eq!(sender.pass().await.unwrap().len(), 1, "due at once");
    let (s, body) = amy.post(&now_url, &[]).await;
    assert_eq!(s, StatusCode::OK, "the holder: {body}");
    assert_eq!(sender.pass().await.unwrap(), [(out[0].0, Outcome::Sent)]);
    let (s, _) = amy.post(&now_url, &[]).await;
    assert_eq!(s, StatusCode::CONFLICT, "nothing waits any more");

    // A send whose answer is lost shows 结果未知 with 重发 and 忽略.
    let slow = own_sender(
        &srv,
        &wx.url,
        srv.state.clock.clone(),
        Some(Duration::from_millis(500)),
    );
    wx.fake.answer_late(Duration::from_secs(2), 1);
    let (s, _) = amy
        .post(
            &format!("/console/c/{}/reply", conv.id),
            &[("text", "稍等一下哦")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let out = slow.pass().await.unwrap();
    assert!(matches!(&out[..], [(_, Outcome::Unknown(_))]), "{out:?}");
    let chat = amy.get(&format!("/console/c/{}", conv.id)).await;
    let row = row_of(&chat, "稍等一下哦");
    for word in [
        "结果未知",
        "/retry\"",
        "/ignore\"",
        "重发",
        "忽略",
        "防重复",
    ] {
        assert!(row.contains(word), "{word} in {row}");
    }
    let message: i64 = row
        .split("data-message=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|n| n.parse().ok())
        .expect("message id");
    let ignore = format!("/console/messages/{message}/ignore");
    let (s, _) = bob.post(&ignore, &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = amy.post(&ignore, &[]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let chat = amy.get(&format!("/console/c/{}", conv.id)).await;
    let row = row_of(&chat, "稍等一下哦");
    assert!(row.contains("已忽略") && !row.contains("/retry\""), "{row}");
    assert_eq!(
        wx.fake.sent_to(openid).len(),
        3,
        "the queue notice, the reply once, 稍等一下哦 once"
    );
    srv.stop().await;
}

/// The fake WeChat on a fixed address, which can stop listening (connections
/// refused) and listen again on the same address.
struct Flaky {
    fake: kefu::wechat::fake::FakeWechat,
    addr: std::net::SocketAddr,
    stop: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
}

impl Flaky {
    async fn start() -> Flaky {
        let fake = kefu::wechat::fake::FakeWechat::new();
        fake.add_account(APPID, SECRET);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut f = Flaky {
            fake,
            addr,
            stop: None,
        };
        f.serve(listener);
        f
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let router = self.fake.router();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        self.stop = Some((tx, task));
    }

    async fn down(&mut self) {
        if let Some((tx, task)) = self.stop.take() {
            let _ = tx.send(());
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }

    async fn up(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_connections_were_refused_waiting_replies_go_out_within_ten_seconds() {
    let mut wx = Flaky::start().await;
    let url = format!("http://{}", wx.addr);
    let srv = TestServer::start().await;
    let acc = srv.account("safe", &url).await;
    let sender = own_sender(&srv, &url, Clock::System, None);
    let bell = sender.wake.clone();
    let (stop, task) = run(sender);
    let openids = ["oR1", "oR2", "oR3"];
    let mut fs = vec![];
    for o in openids {
        fs.push(follower_now(&srv, acc.id, o).await);
    }
    // A token first, while WeChat answers.
    enqueue(&srv, acc.id, fs[0], "早").await;
    bell.notify_one();
    wait_for("the first reply", Duration::from_secs(5), || async {
        wx.fake.sent().len() == 1
    })
    .await;

    wx.down().await;
    for n in 0..2 {
        for f in &fs {
            enqueue(&srv, acc.id, *f, &format!("第{n}条")).await;
        }
    }
    bell.notify_one();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(wx.fake.sent().len(), 1, "nothing while refused");
    let back = Instant::now();
    wx.up().await;
    let fake = wx.fake.clone();
    wait_for("all replies delivered", Duration::from_secs(10), || async {
        fake.sent().len() == 7
    })
    .await;
    println!(
        "delivered {:?} after connections were accepted again",
        back.elapsed()
    );
    for o in openids {
        let texts: Vec<String> = fake
            .sent_to(o)
            .iter()
            .map(|s| s.body["text"]["content"].as_str().unwrap().to_string())
            .filter(|t| t.starts_with('第'))
            .collect();
        assert_eq!(texts, ["第0条", "第1条"], "in order for {o}");
    }
    assert!(
        srv.state
            .db
            .read(db::outbox::in_flight)
            .await
            .unwrap()
            .is_empty()
    );
    let _ = stop.send(true);
    task.await.unwrap();
    wx.down().await;
    srv.stop().await;
}
