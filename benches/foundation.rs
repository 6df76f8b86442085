//! `cargo bench --bench foundation`: the foundation's figures for
//! docs/PERFORMANCE.md. Prints medians of several runs and ratios against a
//! baseline measured in the same run, because this machine is noisy.
//!
//! 1. Write path: many small inserts from concurrent tasks through `Db::write`
//!    (one writer thread, batched transactions) against the naive baseline of
//!    one transaction per insert on one connection.
//! 2. Reads while writing: page-style reads completed while the writer is busy.
//! 3. The release binary: size on disk, and resident memory idle and after a
//!    burst of page requests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kefu::db::Db;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const INSERTS: usize = 20_000;
const TASKS: usize = 64;
const RUNS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn insert_sql() -> &'static str {
    "INSERT INTO login_failures (username, ip, at) VALUES (?1, '127.0.0.1', ?2)"
}

fn baseline_per_insert_transactions(dir: &std::path::Path, run: usize) -> f64 {
    let path = dir.join(format!("baseline-{run}.db"));
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    let mut c = conn;
    kefu::db::migrate::migrate(&mut c).unwrap();
    let start = Instant::now();
    for i in 0..INSERTS {
        c.execute(insert_sql(), rusqlite::params![format!("u{i}"), i as i64])
            .unwrap();
    }
    INSERTS as f64 / start.elapsed().as_secs_f64()
}

async fn batched_writer(dir: &std::path::Path, run: usize) -> (f64, f64) {
    let db = Db::open(&dir.join(format!("batched-{run}.db"))).unwrap();
    let start = Instant::now();
    let per_task = INSERTS / TASKS;
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..per_task {
                let n = (t * per_task + i) as i64;
                db.write(move |c| -> kefu::db::DbResult<()> {
                    c.execute(insert_sql(), rusqlite::params![format!("u{n}"), n])?;
                    Ok(())
                })
                .await
                .unwrap();
            }
        }));
    }
    // Readers run alongside: how many page-sized reads finish meanwhile?
    let reader = {
        let db = db.clone();
        tokio::spawn(async move {
            let mut reads = 0u64;
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_millis(300) {
                db.read(|c| -> kefu::db::DbResult<i64> {
                    Ok(c.query_row("SELECT count(*) FROM login_failures", [], |r| {
                        r.get::<_, i64>(0)
                    })?)
                })
                .await
                .unwrap();
                reads += 1;
            }
            reads as f64 / t0.elapsed().as_secs_f64()
        })
    };
    for h in handles {
        h.await.unwrap();
    }
    let rate = (per_task * TASKS) as f64 / start.elapsed().as_secs_f64();
    let reads = reader.await.unwrap();
    db.close();
    (rate, reads)
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn binary_figures(dir: &std::path::Path) -> (u64, u64, u64) {
    let bin = env!("CARGO_BIN_EXE_kefu");
    let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(bin)
        .env("KEFU_DATA", dir.join("served"))
        .env("KEFU_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(format!("{url}/healthz")).send().await.is_err() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_kb(child.id());
    for _ in 0..500 {
        client
            .get(format!("{url}/setup"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    let busy = rss_kb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    (size, idle, busy)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut base, mut batched, mut reads) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..RUNS {
        base.push(baseline_per_insert_transactions(dir.path(), run));
        let (w, r) = batched_writer(dir.path(), run).await;
        batched.push(w);
        reads.push(r);
    }
    let (b, w, r) = (median(base), median(batched), median(reads));
    let (size, idle, busy) = binary_figures(dir.path()).await;
    println!("| figure | median of {RUNS} runs |");
    println!("|---|---|");
    println!("| baseline: one transaction per insert, 1 connection | {b:.0} inserts/s |");
    println!("| kefu Db::write, {TASKS} concurrent tasks, batched | {w:.0} inserts/s |");
    println!("| ratio batched / baseline | {:.1}× |", w / b);
    println!("| reads completed while writing | {r:.0} reads/s |");
    println!(
        "| release binary size | {:.1} MB |",
        size as f64 / 1_048_576.0
    );
    println!(
        "| RSS idle (2 s after start) | {:.1} MB |",
        idle as f64 / 1024.0
    );
    println!(
        "| RSS after 500 page requests | {:.1} MB |",
        busy as f64 / 1024.0
    );
}
