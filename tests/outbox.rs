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
