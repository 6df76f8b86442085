//! `cargo bench --bench search`: 消息管理's figures for docs/PERFORMANCE.md
//! (issue 12: a two-character word over 90 days of the 1,000,000-message
//! data folder, p50 ≤ 50 ms and p99 ≤ 200 ms).
//!
//! The data folder is the reports bench's (`kefu::fixture`, which fills the
//! search index as it writes, like the webhook does); KEFU_BENCH_FIXTURE=DIR
//! reuses one made by `kefu --data DIR fixture` (copied first). Printed:
//! a. the index: messages indexed, its size, the database file, and how long
//!    rebuilding the index takes over the whole folder (`db::search::reindex`);
//! b. `GET /admin/messages?q=WORD` over the last 90 days, page 1, for every
//!    two-character word of the fixture's texts, as the super admin (5 groups)
//!    and as one group's admin — client side to the last byte, p50 / p99 over
//!    all words and runs;
//! c. other queries: one character, four characters, an order number, a deep
//!    page, an old window, filters that leave nothing (every candidate read);
//! d. the same zero-hit search without the index (`instr` over the 90 days'
//!    messages on a reader connection), the design it replaces;
//! e. the 90-day workbook of a rarer word (`format=xlsx`);
//! f. safe-mode webhook pushes, 4 in flight, p50 / p99 (each push now also
//!    writes its index row).
//!
//! Knobs: KEFU_BENCH_RUNS (5), KEFU_BENCH_CONVERSATIONS (100000),
//! KEFU_BENCH_MESSAGES (1000000), KEFU_BENCH_PUSH_SECS (8), KEFU_BENCH_REINDEX=0
//! (skip the backfill timing).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{PASSWORD, Pusher, Session, copy_dir, env_usize, median, ms, pct};
use kefu::clock::Clock;
use kefu::config::Config;
use kefu::db::Db;
use kefu::state::AppState;
use std::sync::Arc;
use std::time::Instant;

/// Every two-character word of the fixture's texts worth searching for.
const WORDS: &[&str] = &[
    "退款", "订单", "发货", "现货", "快递", "签收", "发票", "尺码", "会员", "积分", "物流", "更新",
    "优惠", "过期", "到账", "仓库", "照片", "换新", "登记", "生活",
];

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kefu-bench")
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let runs = env_usize("KEFU_BENCH_RUNS", 5);
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
        println!(
            "fixture: built in {:.1} s (index filled as it is written)",
            t0.elapsed().as_secs_f64()
        );
        for (t, n) in &summary.counts {
            println!("  {t:<20} {n:>10}");
        }
    }
    let followers = (conversations * 2 / 5).max(60);

    // a. The index.
    let db = Db::open(&config.db_path()).unwrap();
    let (indexed, bytes) = db
        .read(|c| -> kefu::db::DbResult<(i64, i64)> {
            Ok((
                kefu::db::search::indexed(c)?,
                kefu::db::search::index_bytes(c)?,
            ))
        })
        .await
        .unwrap();
    let size = std::fs::metadata(config.db_path()).map_or(0, |m| m.len());
    println!(
        "\na. index: {indexed} messages, {:.1} MB of segments; database file {:.1} MB",
        bytes as f64 / 1e6,
        size as f64 / 1e6
    );
    if env_usize("KEFU_BENCH_REINDEX", 1) == 1 {
        let t = Instant::now();
        let n = db.write(kefu::db::search::reindex).await.unwrap();
        println!(
            "   reindex (db::search::reindex) of {n} messages: {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }

    // The server.
    let state = AppState::new(db, Clock::System, config).await.unwrap();
    state.mark_set_up();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(kefu::web::serve(
        state.clone(),
        listener,
        std::future::pending::<()>(),
    ));
    let sa = Session::login(&base, "admin").await;
    let ga = Session::login(&base, "admin2").await;
    let today = now.to_zoned(tz.clone()).date();
    let day = |back: i64| today.checked_sub(jiff::Span::new().days(back)).unwrap();
    let from90 = day(89);
    let span = format!("from={from90}&to={today}");

    // b. Two-character words, page 1, 90 days.
    let (hz, _, _) = sa.time("/healthz", runs * 5).await;
    println!(
        "\nb. 2-character words, 90 days, page 1 ({} words × {runs} runs; client side, ms)",
        WORDS.len()
    );
    println!("  baseline GET /healthz median {hz:.2}");
    for (who, s) in [("super admin", &sa), ("admin of one group", &ga)] {
        let mut all = Vec::new();
        let mut slowest = ("", 0.0);
        for w in WORDS {
            let path = format!("/admin/messages?q={}&{span}", enc(w));
            for _ in 0..runs {
                let (d, status, _) = s.get(&path).await;
                assert_eq!(status, 200, "{path}");
                let t = ms(d);
                if t > slowest.1 {
                    slowest = (w, t);
                }
                all.push(t);
            }
        }
        println!(
            "  {who:<20} n={:>4} p50 {:>7.2} p99 {:>7.2} max {:>7.2} ({})",
            all.len(),
            pct(&all, 0.5),
            pct(&all, 0.99),
            slowest.1,
            slowest.0
        );
    }

    // c. Other queries.
    println!("\nc. other queries, super admin unless said (median / p90 ms of {runs})");
    let old = format!("from={}&to={}", day(89), day(60));
    let cases = [
        ("1 character 退", format!("q={}&{span}", enc("退"))),
        (
            "4 characters 退款多久",
            format!("q={}&{span}", enc("退款多久")),
        ),
        ("order number 2026120188", format!("q=2026120188&{span}")),
        (
            "two words 退款 到账",
            format!("q={}&{span}", enc("退款 到账")),
        ),
        (
            "退款，第 20 页",
            format!("q={}&{span}&page=20", enc("退款")),
        ),
        ("退款，60–89 天前", format!("q={}&{old}", enc("退款"))),
        ("no words, 90 days", span.clone()),
        (
            "退款 + role 自动 (no hit: every candidate read)",
            format!("q={}&role={}&{span}", enc("退款"), enc("自动")),
        ),
        (
            "的 + unknown sender (no hit: every candidate read)",
            format!("q={}&sender={}&{span}", enc("的"), enc("没有这个人")),
        ),
    ];
    for (name, qs) in &cases {
        let (m, p90, n) = sa.time(&format!("/admin/messages?{qs}"), runs).await;
        println!("  {name:<48} {m:>8.1} / {p90:>8.1}   ({n} bytes)");
    }
    let (m, p90, _) = ga
        .time(&format!("/admin/messages?q={}&{span}", enc("退款")), runs)
        .await;
    println!("  {:<48} {m:>8.1} / {p90:>8.1}", "group admin, 退款");

    // d. Without the index.
    let (from_ms, to_ms) = (
        from90
            .to_zoned(tz.clone())
            .unwrap()
            .timestamp()
            .as_millisecond(),
        now.as_millisecond() + 1,
    );
    let mut scan = Vec::new();
    let mut found = 0;
    for _ in 0..runs.min(3) {
        let t = Instant::now();
        found = state
            .db
            .read(move |c| -> kefu::db::DbResult<i64> {
                let mut stmt = c.prepare(
                    "SELECT m.id FROM messages m WHERE m.created_at >= ?1 AND m.created_at < ?2
                       AND m.kind <> 'event' AND m.direction = 'out' AND m.sender_id IS NULL
                       AND instr(m.content, ?3) > 0 ORDER BY m.id DESC LIMIT 51",
                )?;
                let n = stmt
                    .query_map(rusqlite::params![from_ms, to_ms, "退款"], |r| {
                        r.get::<_, i64>(0)
                    })?
                    .count();
                Ok(n as i64)
            })
            .await
            .unwrap();
        scan.push(ms(t.elapsed()));
    }
    println!(
        "\nd. without the index: 退款 + role 自动 as an instr scan of 90 days: {:.0} ms median ({found} hits)",
        median(scan)
    );

    // e. A workbook.
    let xlsx = format!("/admin/messages?q={}&{span}&format=xlsx", enc("发票"));
    let (d, status, n) = sa.get(&xlsx).await;
    if status == 200 {
        println!(
            "\ne. 发票 over 90 days as a workbook: {:.0} ms, {n} bytes",
            ms(d)
        );
    } else {
        println!(
            "\ne. 发票 over 90 days as a workbook: refused ({status}: above the 50,000-row limit)"
        );
        let xlsx = format!(
            "/admin/messages?q={}&from={}&to={today}&format=xlsx",
            enc("发票"),
            day(6)
        );
        let (d, status, n) = sa.get(&xlsx).await;
        println!(
            "   发票 over 7 days as a workbook: {:.0} ms, {n} bytes (status {status})",
            ms(d)
        );
    }

    // f. Webhook pushes.
    let pusher = Arc::new(Pusher::new(&base));
    let lat = pusher.load(push_secs, followers).await;
    println!(
        "\nf. webhook pushes (4 concurrent, {push_secs} s): n={} p50 {:.2} p99 {:.2} ms",
        lat.len(),
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );
}
