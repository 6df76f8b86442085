//! `cargo bench --bench reports`: the 工作报表 and export figures for
//! docs/PERFORMANCE.md (issue 10), on a realistic data folder.
//!
//! The data folder is built by `kefu::fixture` (what the hidden `kefu fixture`
//! command runs): 1,000,000 messages, 100,000 conversations, 50 agents in 5
//! groups, 90 days, one follower with a 10,000-message history. Set
//! KEFU_BENCH_FIXTURE=DIR to reuse a folder made by `kefu --data DIR fixture`
//! (it is copied first, so the bench never changes it).
//!
//! kefu then runs in-process on a loopback port (a real SQLite file, real
//! HTTP/1.1, a super admin logged in with a CSRF token and a session cookie),
//! and we time, client side to the last byte (the same client's `GET /healthz`
//! is the baseline):
//! a. each report page over the last 30 days, as the super admin (all five
//!    groups) and as one group's admin;
//! b. the 90-day 工作量统计 workbook (`format=xlsx`);
//! c. the heavy follower's whole history as a PDF, with the process's peak
//!    extra RSS while it is made (VmRSS sampled every 2 ms);
//! d. safe-mode webhook pushes (4 at a time from followers of the fixture)
//!    alone, then while 90-day workbook exports run back to back: p50 / p99.
//!
//! Knobs: KEFU_BENCH_RUNS (7), KEFU_BENCH_CONVERSATIONS (100000),
//! KEFU_BENCH_MESSAGES (1000000), KEFU_BENCH_PUSH_SECS (8).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{PASSWORD, Pusher, Session, copy_dir, env_usize, median, ms, pct, rss_kib};
use kefu::clock::Clock;
use kefu::config::Config;
use kefu::db::Db;
use kefu::state::AppState;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kefu-bench")
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let runs = env_usize("KEFU_BENCH_RUNS", 7);
    let push_secs = env_usize("KEFU_BENCH_PUSH_SECS", 8) as u64;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(dir.path());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    config.listen = listener.local_addr().unwrap();
    let tz = config.timezone.clone();
    let now = jiff::Timestamp::now();

    // The data folder.
    let t0 = Instant::now();
    let conversations;
    if let Ok(from) = std::env::var("KEFU_BENCH_FIXTURE") {
        copy_dir(std::path::Path::new(&from), dir.path());
        println!(
            "fixture: copied from {from} in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        let db = Db::open(&config.db_path()).unwrap();
        conversations = db
            .read(kefu::db::fixture::counts)
            .await
            .unwrap()
            .iter()
            .find(|(t, _)| *t == "conversations")
            .map_or(0, |(_, n)| *n as usize);
        db.close();
    } else {
        conversations = env_usize("KEFU_BENCH_CONVERSATIONS", 100_000);
        let spec = kefu::fixture::Spec {
            conversations,
            messages: env_usize("KEFU_BENCH_MESSAGES", 1_000_000),
            days: 90,
            first_day: kefu::fixture::first_day(&tz, now, 90),
            seed: 7,
        };
        let db = Db::open(&config.db_path()).unwrap();
        let hash = kefu::auth::hash_password(PASSWORD).unwrap();
        let summary = kefu::fixture::build(&db, spec, hash, now.as_millisecond(), |_, _| {})
            .await
            .unwrap();
        db.close();
        println!("fixture: built in {:.1} s", t0.elapsed().as_secs_f64());
        for (t, n) in &summary.counts {
            println!("  {t:<20} {n:>10}");
        }
    }
    let followers = (conversations * 2 / 5).max(60);
    let size = std::fs::metadata(config.db_path()).map_or(0, |m| m.len());
    println!("  database file        {:>7.1} MB", size as f64 / 1e6);

    // The server.
    let db = Db::open(&config.db_path()).unwrap();
    let heavy = db
        .read(kefu::db::fixture::heavy_follower)
        .await
        .unwrap()
        .expect("the fixture has its heavy follower");
    let state = AppState::new(db, Clock::System, config).await.unwrap();
    state.mark_set_up();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = state.clone();
    tokio::spawn(kefu::web::serve(
        server,
        listener,
        std::future::pending::<()>(),
    ));
    let sa = Session::login(&base, "admin").await;
    let ga = Session::login(&base, "admin2").await;

    let today = now.to_zoned(tz.clone()).date();
    let day = |back: i64| today.checked_sub(jiff::Span::new().days(back)).unwrap();
    let (from30, from90, yesterday) = (day(29), day(89), day(1));

    // a. Report pages over 30 days.
    println!("\na. report pages, last 30 days ({runs} runs each; median / p90 ms)");
    let (hz, hz90, _) = sa.time("/healthz", runs * 5).await;
    println!("  baseline GET /healthz                      {hz:>8.2} / {hz90:>8.2}");
    let pages = [
        (
            "工作量统计",
            format!("/admin/reports/workload?from={from30}&to={today}"),
        ),
        (
            "咨询分类统计",
            format!("/admin/reports/categories?from={from30}&to={today}"),
        ),
        (
            "分时统计",
            format!("/admin/reports/hourly?from={from30}&to={today}"),
        ),
        (
            "服务水平",
            format!("/admin/reports/service?from={from30}&to={today}"),
        ),
        (
            "工作质量概览（单日）",
            format!("/admin/reports/quality?date={yesterday}"),
        ),
    ];
    for (name, path) in &pages {
        let (m, p90, bytes) = sa.time(path, runs).await;
        println!("  super admin  {name:<24} {m:>8.1} / {p90:>8.1}   ({bytes} bytes)");
        let (m, p90, _) = ga.time(path, runs).await;
        println!("  group admin  {name:<24} {m:>8.1} / {p90:>8.1}");
    }

    // b. The 90-day workbook.
    let xlsx = format!("/admin/reports/workload?from={from90}&to={today}&format=xlsx");
    let (m, p90, bytes) = sa.time(&xlsx, runs.min(5)).await;
    println!("\nb. 工作量统计 workbook, 90 days: {m:.1} / {p90:.1} ms ({bytes} bytes)");
    let hourly = format!("/admin/reports/hourly?from={from90}&to={today}&format=xlsx");
    let (m, p90, _) = sa.time(&hourly, runs.min(5)).await;
    println!("   分时统计 workbook, 90 days:   {m:.1} / {p90:.1} ms");

    // c. The heavy follower's whole history as a PDF, with peak extra RSS.
    let pdf = format!("/console/f/{heavy}/history.pdf?from={from90}&to={today}");
    let mut times = Vec::new();
    let mut extra = Vec::new();
    let mut pdf_bytes = 0;
    for _ in 0..runs.min(5) {
        let before = rss_kib();
        let peak = Arc::new(AtomicU64::new(before));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let sampler = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kib(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        let (d, status, n) = sa.get(&pdf).await;
        stop.store(true, Ordering::Relaxed);
        sampler.join().unwrap();
        assert_eq!(status, 200);
        times.push(ms(d));
        extra.push((peak.load(Ordering::Relaxed).saturating_sub(before)) as f64 / 1024.0);
        pdf_bytes = n;
    }
    println!(
        "\nc. PDF of a {}-message history: {:.0} ms median ({:.0} max), peak extra RSS {:.1} MB median ({:.1} max), {:.1} MB file",
        kefu::fixture::HEAVY_MESSAGES,
        median(times.clone()),
        pct(&times, 1.0),
        median(extra.clone()),
        pct(&extra, 1.0),
        pdf_bytes as f64 / 1e6
    );

    // d. Webhook latency alone, then beside back-to-back 90-day exports.
    let pusher = Arc::new(Pusher::new(&base));
    let alone = pusher.load(push_secs, followers).await;
    let exporting = Arc::new(AtomicBool::new(true));
    let e = exporting.clone();
    let exporter = tokio::spawn(async move {
        let mut n = 0;
        while e.load(Ordering::Relaxed) {
            let (_, status, _) = sa.get(&xlsx).await;
            assert_eq!(status, 200);
            n += 1;
        }
        n
    });
    let beside = pusher.load(push_secs, followers).await;
    exporting.store(false, Ordering::Relaxed);
    let exports = exporter.await.unwrap();
    println!("\nd. webhook pushes (4 concurrent, {push_secs} s each; ms)");
    println!(
        "  alone:                     n={:>6} p50 {:>6.2} p99 {:>6.2}",
        alone.len(),
        pct(&alone, 0.5),
        pct(&alone, 0.99)
    );
    println!(
        "  beside {exports:>2} 90-day exports:  n={:>6} p50 {:>6.2} p99 {:>6.2}",
        beside.len(),
        pct(&beside, 0.5),
        pct(&beside, 0.99)
    );
}
