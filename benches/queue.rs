//! `cargo bench --bench queue`: a long queue must not slow the webhook or
//! 接入下一位 (issue 11, point 6). Figures in docs/PERFORMANCE.md.
//!
//! For each queue length (0 / 1,000 / 20,000 / 100,000 by default) a fresh
//! data folder gets the small team of `kefu fixture` (5 groups, 50 agents, one
//! safe-mode account) and that many followers waiting in the account's group,
//! each told their place ten minutes ago (so every move of the queue finds
//! their update due — the costly case). kefu runs in-process on loopback with
//! one agent of the group logged in (online, no automatic accepting). Timed,
//! client side to the last byte:
//! a. a push from a new follower (joins the end of the queue; the answer tells
//!    their place), one at a time;
//! b. 接入下一位 (`POST /console/accept` for the group): takes the head,
//!    greets, and tells those who moved up (at most 20 per move).
//! Baseline: `GET /healthz` on the same server and client.
//!
//! Knobs: KEFU_BENCH_QUEUES ("0,1000,20000,100000"), KEFU_BENCH_PUSHES (200),
//! KEFU_BENCH_ACCEPTS (50).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{PASSWORD, Pusher, Session, env_usize, pct};
use kefu::clock::Clock;
use kefu::config::Config;
use kefu::db::{Db, DbError};
use kefu::state::AppState;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kefu-bench")
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let sizes: Vec<usize> = std::env::var("KEFU_BENCH_QUEUES")
        .unwrap_or_else(|_| "0,1000,20000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let pushes = env_usize("KEFU_BENCH_PUSHES", 200);
    let accepts = env_usize("KEFU_BENCH_ACCEPTS", 50);
    println!("queue length | push p50 / p99 ms | 接入下一位 p50 / p99 ms | healthz p50 ms");
    for n in sizes {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_data_dir(dir.path());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        config.listen = listener.local_addr().unwrap();
        let now = jiff::Timestamp::now();
        let db = Db::open(&config.db_path()).unwrap();
        let spec = kefu::fixture::Spec {
            conversations: 100,
            messages: 500,
            days: 2,
            first_day: kefu::fixture::first_day(&config.timezone, now, 2),
            seed: 7,
        };
        let hash = kefu::auth::hash_password(PASSWORD).unwrap();
        kefu::fixture::build(&db, spec, hash, now.as_millisecond(), |_, _| {})
            .await
            .unwrap();
        let t = now.as_millisecond();
        db.write(move |c| -> Result<(), DbError> {
            // The account's first group (where new conversations go) is 售前组 with id 1.
            kefu::db::fixture::queue(c, 1, 1, n, t)
        })
        .await
        .unwrap();
        let state = AppState::new(db, Clock::System, config).await.unwrap();
        state.mark_set_up();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(kefu::web::serve(
            state.clone(),
            listener,
            std::future::pending::<()>(),
        ));
        let agent = Session::login(&base, "agent01").await;
        let pusher = Pusher::new(&base);

        let mut push = Vec::new();
        for i in 0..pushes {
            let openid = format!("oNEWFOLLOWER{n:0>8}{i:0>8}");
            push.push(pusher.push(&openid, "你好，在吗？").await);
        }
        let mut accept = Vec::new();
        for _ in 0..accepts {
            let (t, status) = agent.post("/console/accept", &[("group", "1")]).await;
            assert_eq!(status, 200);
            accept.push(t);
        }
        let (hz, _, _) = agent.time("/healthz", 100).await;
        println!(
            "{n:>12} | {:>7.2} / {:>7.2} | {:>7.2} / {:>7.2} | {hz:>6.2}",
            pct(&push, 0.5),
            pct(&push, 0.99),
            pct(&accept, 0.5),
            pct(&accept, 0.99),
        );
        state.db.close();
    }
}
