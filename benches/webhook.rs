//! `cargo bench --bench webhook`: the webhook's figures for docs/PERFORMANCE.md
//! (issue 3: ≥ 20,000 safe-mode pushes/s sustained, p99 ≤ 10 ms, every
//! acknowledged push stored).
//!
//! kefu runs in-process on a loopback port with a fresh data folder, one
//! safe-mode account and the background workers `kefu serve` starts (the
//! fetcher and the outbox sender, their WeChat API being the fake one on another
//! loopback port). N distinct safe-mode pushes (distinct MsgId, a few hundred
//! followers; `signature` and `msg_signature` computed per request exactly as
//! WeChat does) are prepared beforehand, then POSTed over loopback HTTP/1.1 by a
//! pooled reqwest client with a bounded number of requests in flight.
//!
//! Baseline in the same run: a trivial axum handler (reads the body, answers
//! "success") on the same server stack, driven by the same client code with the
//! same requests. After a warm-up, RUNS runs of each alternate; medians are
//! printed, and the kefu/baseline ratio.
//!
//! Client and server share the machine's cores; the CPU each part used is
//! printed, and so is what other processes took from the machine meanwhile.
//! A second table times the stages of one push on their own, to show where
//! the time goes.
//!
//! Knobs (environment): KEFU_BENCH_N, KEFU_BENCH_RUNS, KEFU_BENCH_WARMUP,
//! KEFU_BENCH_CONCURRENCY, KEFU_BENCH_FOLLOWERS, KEFU_BENCH_WORKERS=0 (do not start fetcher and sender),
//! KEFU_BENCH_STAGES=0 (skip the stage table), KEFU_BENCH_HOLD=<secs> (pause
//! before the first measured run, printing the pid, to attach a profiler),
//! KEFU_BENCH_INDEX=0 (pause the search-index job: pushes without indexing).
//!
//! After each kefu run the search index's lag is printed: messages stored but
//! not yet indexed when the last push was answered, and how long the job took
//! to catch up from there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use kefu::clock::Clock;
use kefu::config::Config;
use kefu::db::accounts::{Account, AccountFields, NewAccount};
use kefu::db::{self, Db};
use kefu::model::AccountMode;
use kefu::state::AppState;
use kefu::team::Acting;
use kefu::wechat::crypto::{self, AesKey};
use kefu::wechat::xml::{self, Inbound, InboundKind};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const APPID: &str = "wx0123456789abcdef";
const SECRET: &str = "0123456789abcdef0123456789abcdef";
const TOKEN: &str = "kefuToken";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const GH_ID: &str = "gh_0123456789ab";
const FIRST_MSG_ID: i64 = 24_500_000_000_000_000;

const TARGET_RATE: f64 = 20_000.0;
const TARGET_P99_MS: f64 = 10.0;

struct Params {
    n: usize,
    warmup: usize,
    runs: usize,
    concurrency: usize,
    followers: usize,
    workers: bool,
    stages: bool,
    hold_secs: u64,
    index: bool,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Params {
    fn from_env() -> Params {
        let followers = env_usize("KEFU_BENCH_FOLLOWERS", 300);
        Params {
            n: env_usize("KEFU_BENCH_N", 20_000),
            warmup: env_usize("KEFU_BENCH_WARMUP", 3_000).max(followers),
            runs: env_usize("KEFU_BENCH_RUNS", 3).max(1),
            concurrency: env_usize("KEFU_BENCH_CONCURRENCY", 64).max(1),
            followers,
            workers: env_usize("KEFU_BENCH_WORKERS", 1) != 0,
            stages: env_usize("KEFU_BENCH_STAGES", 1) != 0,
            hold_secs: env_usize("KEFU_BENCH_HOLD", 0) as u64,
            index: env_usize("KEFU_BENCH_INDEX", 1) != 0,
        }
    }
}

// ---------------------------------------------------------------------------
// The pushes, prepared the way WeChat prepares them

/// One safe-mode push: the query WeChat appends and the envelope it posts.
struct Push {
    timestamp: String,
    nonce: String,
    msg_signature: String,
    query: String,
    body: Bytes,
    body_text: String,
}

fn openid(follower: usize) -> String {
    // Real OpenIDs are 28 characters starting with "o".
    format!("oBench{follower:022}")
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).unwrap();
    u32::from_le_bytes(b)
}

fn inbound(i: usize, followers: usize, now: i64) -> Inbound {
    Inbound {
        to_user: GH_ID.into(),
        from_user: openid(i % followers),
        create_time: now,
        msg_id: Some(FIRST_MSG_ID + i as i64),
        kind: InboundKind::Text {
            content: format!("你好,请问订单 {i} 什么时候发货?谢谢"),
        },
    }
}

fn make_pushes(count: usize, followers: usize) -> Vec<Push> {
    let key = AesKey::from_encoding_aes_key(AES_KEY).unwrap();
    let now = unix_now();
    (0..count)
        .map(|i| {
            let msg = inbound(i, followers, now);
            let plain = xml::inbound_xml(&msg);
            let encrypt = crypto::encrypt(&key, APPID, &plain);
            let timestamp = now.to_string();
            let nonce = random_u32().to_string();
            let signature = crypto::signature(&[TOKEN, &timestamp, &nonce]);
            let msg_signature = crypto::signature(&[TOKEN, &timestamp, &nonce, &encrypt]);
            let query = format!(
                "signature={signature}&timestamp={timestamp}&nonce={nonce}&openid={}\
                 &encrypt_type=aes&msg_signature={msg_signature}",
                msg.from_user
            );
            let body_text = xml::envelope_xml(GH_ID, &encrypt);
            Push {
                timestamp,
                nonce,
                msg_signature,
                query,
                body: Bytes::from(body_text.clone()),
                body_text,
            }
        })
        .collect()
}

/// The full URL of every push against one server, parsed before the clock runs.
fn urls(base: &str, pushes: &[Push]) -> Arc<Vec<reqwest::Url>> {
    Arc::new(
        pushes
            .iter()
            .map(|p| reqwest::Url::parse(&format!("{base}?{}", p.query)).unwrap())
            .collect(),
    )
}

// ---------------------------------------------------------------------------
// The client

struct RunResult {
    secs: f64,
    lat_us: Vec<u32>,
    bad: Vec<String>,
}

impl RunResult {
    fn rate(&self) -> f64 {
        self.lat_us.len() as f64 / self.secs
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        let mut v = self.lat_us.clone();
        v.sort_unstable();
        let idx = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
        f64::from(v[idx]) / 1000.0
    }
}

/// POSTs pushes `range` with at most `concurrency` requests in flight (one
/// pooled keep-alive connection each), timing every request from send to the
/// last byte of the answer, which must be 200: "success" or a passive reply.
async fn drive(
    client: &reqwest::Client,
    urls: &Arc<Vec<reqwest::Url>>,
    bodies: &Arc<Vec<Bytes>>,
    range: Range<usize>,
    concurrency: usize,
) -> RunResult {
    let next = Arc::new(AtomicUsize::new(range.start));
    let end = range.end;
    let start = Instant::now();
    let per_task = range.len() / concurrency + 1;
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (client, urls, bodies, next) =
            (client.clone(), urls.clone(), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_task);
            let mut bad = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    break;
                }
                let t0 = Instant::now();
                let sent = client
                    .post(urls[i].clone())
                    .header(header::CONTENT_TYPE, "text/xml")
                    .body(bodies[i].clone())
                    .send()
                    .await;
                let outcome = match sent {
                    Ok(resp) => {
                        let status = resp.status();
                        match resp.bytes().await {
                            // "success", or a passive reply (the welcome and queue place).
                            Ok(b)
                                if status == 200
                                    && (&b[..] == b"success" || b.starts_with(b"<xml>")) =>
                            {
                                Ok(())
                            }
                            Ok(b) => Err(format!("{status} {:?}", String::from_utf8_lossy(&b))),
                            Err(e) => Err(format!("reading the answer: {e}")),
                        }
                    }
                    Err(e) => Err(format!("sending: {e}")),
                };
                lat.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
                if let Err(e) = outcome {
                    bad.push(e);
                }
            }
            (lat, bad)
        }));
    }
    let mut lat_us = Vec::with_capacity(range.len());
    let mut bad = Vec::new();
    for t in tasks {
        let (l, b) = t.await.unwrap();
        lat_us.extend(l);
        bad.extend(b);
    }
    RunResult {
        secs: start.elapsed().as_secs_f64(),
        lat_us,
        bad,
    }
}

// ---------------------------------------------------------------------------
// CPU accounting from /proc: per thread group of this process, and the machine

fn group_of(comm: &str) -> &'static str {
    if comm.starts_with("kefu-db-writer") {
        "kefu SQLite writer thread"
    } else if comm.starts_with("kefu-srv") {
        "server runtime (HTTP, handlers, db.read pool)"
    } else if comm.starts_with("bench-cli") {
        "client (reqwest)"
    } else if comm.starts_with("fake-wx") {
        "fake WeChat API"
    } else {
        "other threads of the bench"
    }
}

/// Nanoseconds on CPU per thread group, from each live thread's schedstat.
fn thread_cpu() -> BTreeMap<&'static str, u64> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in tasks.flatten() {
        let p = t.path();
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(p.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        *out.entry(group_of(comm.trim())).or_default() += ns;
    }
    out
}

/// (busy, total) jiffies of the whole machine.
fn machine_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// CPU time of this process (all threads, dead ones included), in jiffies.
fn process_jiffies() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    // `after` starts at field 3 (state); utime and stime are fields 14 and 15.
    let f: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| {
        f.get(n - 3)
            .and_then(|x| x.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(14) + field(15)
}

/// The writer thread's (voluntary, involuntary) context switches and the
/// nanoseconds it spent runnable but waiting for a core.
fn writer_switches() -> (u64, u64, u64) {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (0, 0, 0);
    };
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim().starts_with("kefu-db-writer") {
            let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
            let get = |k: &str| {
                status
                    .lines()
                    .find(|l| l.starts_with(k))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
                    .unwrap_or(0)
            };
            let waited = std::fs::read_to_string(t.path().join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
                .unwrap_or(0);
            return (
                get("voluntary_ctxt_switches:"),
                get("nonvoluntary_ctxt_switches:"),
                waited,
            );
        }
    }
    (0, 0, 0)
}

struct Snapshot {
    threads: BTreeMap<&'static str, u64>,
    machine: (u64, u64),
    process: u64,
    writer: (u64, u64, u64),
}

fn snapshot() -> Snapshot {
    Snapshot {
        threads: thread_cpu(),
        machine: machine_jiffies(),
        process: process_jiffies(),
        writer: writer_switches(),
    }
}

/// What one measured kefu run used: CPU µs per push per group, the share of
/// the machine other processes took, and the writer's context switches per push.
struct CpuUse {
    per_push_us: BTreeMap<&'static str, f64>,
    cores_busy: f64,
    others_cores: f64,
    writer_voluntary_per_push: f64,
    /// Pushes per write transaction (kefu runs only; the index job's and
    /// the workers' transactions count too).
    pushes_per_commit: f64,
    /// µs per push the writer was runnable but had no core.
    writer_waiting_us: f64,
}

fn cpu_use(before: &Snapshot, after: &Snapshot, pushes: usize, secs: f64) -> CpuUse {
    let mut per_push_us = BTreeMap::new();
    for (g, ns) in &after.threads {
        let d = ns.saturating_sub(before.threads.get(g).copied().unwrap_or(0));
        per_push_us.insert(*g, d as f64 / 1000.0 / pushes as f64);
    }
    let hz = 100.0;
    let machine_busy = (after.machine.0 - before.machine.0) as f64 / hz;
    let ours = after.process.saturating_sub(before.process) as f64 / hz;
    CpuUse {
        per_push_us,
        cores_busy: machine_busy / secs,
        others_cores: ((machine_busy - ours) / secs).max(0.0),
        writer_voluntary_per_push: (after.writer.0 - before.writer.0) as f64 / pushes as f64,
        pushes_per_commit: 0.0,
        writer_waiting_us: (after.writer.2 - before.writer.2) as f64 / 1000.0 / pushes as f64,
    }
}

// ---------------------------------------------------------------------------
// Servers

struct Kefu {
    state: AppState,
    account: Account,
    url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start_fake(followers: usize) -> String {
    let fake = kefu::wechat::fake::FakeWechat::new();
    fake.add_account(APPID, SECRET);
    for f in 0..followers {
        fake.add_follower(APPID, &openid(f), "", &[]);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = fake.router();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    url
}

/// Starts kefu as tests/common does, plus the workers of `kefu serve`.
async fn start_kefu(dir: &std::path::Path, api_base: &str, workers: bool, index: bool) -> Kefu {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = Config::for_data_dir(dir);
    config.listen = listener.local_addr().unwrap();
    config.wechat_api_base = api_base.to_string();
    let db = Db::open(&config.db_path()).unwrap();
    let state = AppState::new(db, Clock::System, config).await.unwrap();
    state.search_index.pause(!index);
    let fields = AccountFields {
        name: "压测公众号".into(),
        app_id: APPID.into(),
        app_secret: SECRET.into(),
        token: TOKEN.into(),
        aes_key: AES_KEY.into(),
        mode: "safe".into(),
        api_base: api_base.into(),
        ..Default::default()
    };
    let id = kefu::channel::create(&state.db, &state.clock, &Acting::shell(), fields)
        .await
        .unwrap();
    let account = state
        .db
        .read(move |c| db::accounts::get(c, id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.mode, AccountMode::Safe);
    if workers {
        tokio::spawn(state.wechat.sender(&state.db, &state.clock).run());
        tokio::spawn(state.wechat.fetcher(&state.db, &state.clock).run());
    }
    let url = format!("http://{}/wechat/{}", listener.local_addr().unwrap(), id);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(kefu::web::serve(state.clone(), listener, async {
        let _ = stopped.await;
    }));
    Kefu {
        state,
        account,
        url,
        stop,
        task,
    }
}

async fn trivial(body: Bytes) -> impl IntoResponse {
    black_box(body.len());
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "success",
    )
}

/// The baseline: the same server stack as `kefu::web::serve` (axum-server,
/// connect info), one route that reads the body and answers "success".
fn start_baseline() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/wechat/1", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let router = axum::Router::new().route("/wechat/{id}", axum::routing::post(trivial));
    let make = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move {
        let _ = axum_server::from_tcp(listener).unwrap().serve(make).await;
    });
    url
}

/// Messages not yet indexed now, and how long until none are (polled every
/// 10 ms); `None` when indexing is paused.
async fn index_lag(k: &Kefu, index: bool) -> Option<(i64, Duration)> {
    if !index {
        return None;
    }
    let behind = || k.state.db.read(db::search::unindexed);
    let t0 = Instant::now();
    let first = behind().await.unwrap();
    while behind().await.unwrap() > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Some((first, t0.elapsed()))
}

async fn stored(k: &Kefu) -> i64 {
    let id = k.account.id;
    k.state
        .db
        .read(move |c| db::messages::count_inbound(c, id))
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------
// Stages of one push, timed on their own

struct Stages {
    decode_us: f64,
    store_us: Vec<(usize, f64)>,
    read_hop_us: f64,
    read_conc_rate: f64,
    write_lone_ms: f64,
    index_us: (f64, f64),
}

/// What `webhook::receive` does before storage: envelope, msg_signature,
/// key, decrypt, parse. Single thread, µs per push.
fn time_decode(pushes: &[Push]) -> f64 {
    let start = Instant::now();
    for p in pushes {
        let env = xml::parse_envelope(&p.body_text).unwrap();
        let enc = env.encrypt.unwrap();
        assert!(crypto::verify_signature(
            &p.msg_signature,
            &[TOKEN, &p.timestamp, &p.nonce, &enc]
        ));
        let key = AesKey::from_encoding_aes_key(AES_KEY).unwrap();
        let plain = crypto::decrypt(&key, APPID, &enc).unwrap();
        black_box(xml::parse(&plain).unwrap());
    }
    start.elapsed().as_secs_f64() * 1e6 / pushes.len() as f64
}

/// `ingest::store` as the writer thread runs it (a savepoint per push inside a
/// batch transaction, WAL, synchronous=FULL), batches of `batch` pushes,
/// including the commit: µs per push.
fn time_store(dir: &std::path::Path, batch: usize, count: usize, followers: usize) -> f64 {
    let mut conn = rusqlite::Connection::open(dir.join(format!("store-{batch}.db"))).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    db::configure(&conn).unwrap();
    db::migrate::migrate(&mut conn).unwrap();
    let now = jiff::Timestamp::now();
    let new = NewAccount {
        name: "压测",
        app_id: APPID,
        app_secret: SECRET,
        token: TOKEN,
        aes_key: AES_KEY,
        mode: AccountMode::Safe,
        api_base: "",
        simulation: false,
    };
    let id = db::accounts::insert(&conn, &new, now).unwrap();
    let acc = db::accounts::get(&conn, id).unwrap().unwrap();
    let t = unix_now();
    let items: Vec<(Inbound, String)> = (0..count)
        .map(|i| {
            let m = inbound(i, followers, t);
            let raw = xml::inbound_xml(&m);
            (m, raw)
        })
        .collect();
    let start = Instant::now();
    for chunk in items.chunks(batch) {
        let mut txn = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        for (m, raw) in chunk {
            let sp = txn.savepoint().unwrap();
            kefu::wechat::ingest::store(&sp, &acc, m, raw, now).unwrap();
            sp.commit().unwrap();
        }
        txn.commit().unwrap();
    }
    start.elapsed().as_secs_f64() * 1e6 / count as f64
}

async fn time_stages(k: &Kefu, pushes: &[Push], dir: &std::path::Path, followers: usize) -> Stages {
    let decode_us = time_decode(&pushes[..pushes.len().min(5_000)]);
    let mut store_us = Vec::new();
    for (batch, count) in [(1, 300), (16, 4_096), (64, 8_192), (512, 8_192)] {
        store_us.push((batch, time_store(dir, batch, count, followers)));
    }
    let index_us = time_index(dir);
    // The account lookup every push makes first: db.read, a hop to the blocking pool.
    let id = k.account.id;
    let reads = 2_000;
    let start = Instant::now();
    for _ in 0..reads {
        black_box(
            k.state
                .db
                .read(move |c| db::accounts::get(c, id))
                .await
                .unwrap(),
        );
    }
    let read_hop_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(reads);
    let mut rates = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let db = k.state.db.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..200 {
                    black_box(db.read(move |c| db::accounts::get(c, id)).await.unwrap());
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        rates.push((64 * 200) as f64 / start.elapsed().as_secs_f64());
    }
    let read_conc_rate = median(rates);
    // A lone write (nothing to batch with): the floor of a push's latency.
    let probe = Db::open(&dir.join("probe.db")).unwrap();
    let writes = 200;
    let start = Instant::now();
    for i in 0..writes {
        probe
            .write(move |c| -> db::DbResult<()> {
                c.execute(
                    "INSERT INTO login_failures (username, ip, at) VALUES (?1, '127.0.0.1', ?2)",
                    rusqlite::params![format!("u{i}"), i],
                )?;
                Ok(())
            })
            .await
            .unwrap();
    }
    let write_lone_ms = start.elapsed().as_secs_f64() * 1e3 / f64::from(writes);
    probe.close();
    Stages {
        decode_us,
        store_us,
        read_hop_us,
        read_conc_rate,
        write_lone_ms,
        index_us,
    }
}

/// The search-index job over the 8,192 messages `time_store` left unindexed
/// in `store-64.db`: (µs per message making the terms on a reader, µs per
/// message writing them with the cursor, a transaction and commit per batch).
fn time_index(dir: &std::path::Path) -> (f64, f64) {
    let conn = rusqlite::Connection::open(dir.join("store-64.db")).unwrap();
    db::configure(&conn).unwrap();
    let (mut read, mut write, mut n) = (Duration::ZERO, Duration::ZERO, 0);
    loop {
        let t = Instant::now();
        let Some(p) = db::search::pending(&conn, db::search_index::BATCH).unwrap() else {
            break;
        };
        read += t.elapsed();
        let t = Instant::now();
        let txn = conn.unchecked_transaction().unwrap();
        assert!(db::search::apply(&txn, &p).unwrap());
        txn.commit().unwrap();
        write += t.elapsed();
        n += p.read;
    }
    assert!(n > 0, "nothing to index");
    let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    (per(read), per(write))
}

// ---------------------------------------------------------------------------

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let p = Params::from_env();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The server runtime is what `#[tokio::main]` in src/main.rs builds (one
    // worker per core); the client gets its own runtime on the same cores.
    let srv = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kefu-srv")
        .build()
        .unwrap();
    let fake_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("fake-wx")
        .build()
        .unwrap();
    let cli = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .thread_name("bench-cli")
        .build()
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let api_base = fake_rt.block_on(start_fake(p.followers));
    let kefu = srv.block_on(start_kefu(dir.path(), &api_base, p.workers, p.index));
    let baseline_url = srv.block_on(async { start_baseline() });

    let total = p.warmup + p.runs * p.n;
    let t0 = Instant::now();
    let pushes = make_pushes(total, p.followers);
    eprintln!(
        "prepared {total} safe-mode pushes in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let bodies: Arc<Vec<Bytes>> = Arc::new(pushes.iter().map(|x| x.body.clone()).collect());
    let kefu_urls = urls(&kefu.url, &pushes);
    let base_urls = urls(&baseline_url, &pushes);

    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(p.concurrency)
        .build()
        .unwrap();

    let mut base_runs = Vec::new();
    let mut kefu_runs = Vec::new();
    let mut cpu = Vec::new();
    let mut base_cpu = Vec::new();
    let mut all_stored = true;
    cli.block_on(async {
        // Warm-up: connections opened, followers created, their profiles fetched.
        let w = drive(&client, &base_urls, &bodies, 0..p.warmup, p.concurrency).await;
        assert!(w.bad.is_empty(), "baseline warm-up failed: {:?}", &w.bad[..1]);
        let before = stored(&kefu).await;
        let w = drive(&client, &kefu_urls, &bodies, 0..p.warmup, p.concurrency).await;
        assert!(w.bad.is_empty(), "kefu warm-up failed: {:?}", &w.bad[..1]);
        assert_eq!(stored(&kefu).await - before, p.warmup as i64);
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        if p.hold_secs > 0 {
            eprintln!(
                "pid {}: holding {} s before the measured runs",
                std::process::id(),
                p.hold_secs
            );
            tokio::time::sleep(Duration::from_secs(p.hold_secs)).await;
        }
        for run in 0..p.runs {
            let range = p.warmup + run * p.n..p.warmup + (run + 1) * p.n;
            let b0 = snapshot();
            let b = drive(&client, &base_urls, &bodies, range.clone(), p.concurrency).await;
            let b1 = snapshot();
            assert!(b.bad.is_empty(), "baseline failed: {:?}", &b.bad[..1]);
            let before_count = stored(&kefu).await;
            let c0 = kefu.state.db.commits();
            let s0 = snapshot();
            let k = drive(&client, &kefu_urls, &bodies, range, p.concurrency).await;
            let s1 = snapshot();
            let commits = kefu.state.db.commits() - c0;
            let count = stored(&kefu).await - before_count;
            let lag = index_lag(&kefu, p.index).await;
            eprintln!(
                "run {}: baseline {:.0} req/s p99 {:.2} ms | kefu {:.0} pushes/s p50 {:.2} ms p99 {:.2} ms, {} stored, {} not 200 success",
                run + 1,
                b.rate(),
                b.percentile_ms(0.99),
                k.rate(),
                k.percentile_ms(0.50),
                k.percentile_ms(0.99),
                count,
                k.bad.len()
            );
            if !k.bad.is_empty() {
                eprintln!("first refusal: {}", k.bad[0]);
            }
            if let Some((behind, caught_up)) = lag {
                eprintln!(
                    "  search index: {behind} messages behind at the run's end, caught up {:.0} ms later",
                    caught_up.as_secs_f64() * 1e3
                );
            }
            all_stored &= count == p.n as i64 && k.bad.is_empty();
            let mut used = cpu_use(&s0, &s1, p.n, k.secs);
            used.pushes_per_commit = p.n as f64 / commits.max(1) as f64;
            cpu.push(used);
            base_cpu.push(cpu_use(&b0, &b1, p.n, b.secs));
            base_runs.push(b);
            kefu_runs.push(k);
        }
    });

    let stages = p.stages.then(|| {
        cli.block_on(time_stages(
            &kefu,
            &pushes[..p.warmup.min(pushes.len())],
            dir.path(),
            p.followers,
        ))
    });

    // Stop kefu cleanly: in-flight requests finish, the writer drains.
    let Kefu {
        state, stop, task, ..
    } = kefu;
    let _ = stop.send(());
    srv.block_on(task).unwrap().unwrap();
    state.db.close();

    let med =
        |runs: &[RunResult], f: &dyn Fn(&RunResult) -> f64| median(runs.iter().map(f).collect());
    let rate = |r: &RunResult| r.rate();
    let p50 = |r: &RunResult| r.percentile_ms(0.50);
    let p99 = |r: &RunResult| r.percentile_ms(0.99);
    let max = |r: &RunResult| r.percentile_ms(1.0);
    let (br, kr) = (med(&base_runs, &rate), med(&kefu_runs, &rate));
    let (bp50, kp50) = (med(&base_runs, &p50), med(&kefu_runs, &p50));
    let (bp99, kp99) = (med(&base_runs, &p99), med(&kefu_runs, &p99));
    let (bmax, kmax) = (med(&base_runs, &max), med(&kefu_runs, &max));

    println!();
    println!(
        "Client and server in one process on the same {cores} cores (loopback HTTP/1.1, \
         reqwest, {} requests in flight); {} pushes per run, {} followers, medians of {} runs \
         after a warm-up of {}.",
        p.concurrency, p.n, p.followers, p.runs, p.warmup
    );
    println!();
    println!(
        "| figure | baseline: axum handler answering \"success\" | kefu: safe-mode push stored | kefu / baseline |"
    );
    println!("|---|---|---|---|");
    println!(
        "| throughput | {br:.0} req/s | {kr:.0} pushes/s | {:.2}× |",
        kr / br
    );
    println!(
        "| latency p50 | {bp50:.2} ms | {kp50:.2} ms | {:.1}× |",
        kp50 / bp50
    );
    println!(
        "| latency p99 | {bp99:.2} ms | {kp99:.2} ms | {:.1}× |",
        kp99 / bp99
    );
    println!("| latency max | {bmax:.2} ms | {kmax:.2} ms | |");
    println!(
        "| every push answered 200 \"success\" and stored exactly once | | {} | |",
        if all_stored { "yes" } else { "**NO**" }
    );
    let met = kr >= TARGET_RATE && kp99 <= TARGET_P99_MS && all_stored;
    println!();
    println!(
        "Target (issue 3): ≥ {TARGET_RATE:.0} pushes/s, p99 ≤ {TARGET_P99_MS:.0} ms, all stored: {}",
        if met { "met" } else { "NOT met" }
    );
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "Targets (issue 11): p99 ≤ 3× p50: {} ({:.2}×); throughput ≥ 0.5× the baseline: {} ({:.2}×)",
        verdict(kp99 <= 3.0 * kp50),
        kp99 / kp50,
        verdict(kr >= 0.5 * br),
        kr / br
    );

    // CPU of the median run of each side.
    let median_index = |runs: &[RunResult]| {
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.sort_by(|a, b| runs[*a].rate().partial_cmp(&runs[*b].rate()).unwrap());
        order[order.len() / 2]
    };
    let m = &cpu[median_index(&kefu_runs)];
    let bm = &base_cpu[median_index(&base_runs)];
    println!();
    println!("Where the CPU went in the median run of each side (CPU time per request):");
    println!();
    println!("| thread group | baseline µs per request | kefu µs per push |");
    println!("|---|---|---|");
    let (mut sum, mut bsum) = (0.0, 0.0);
    for (g, us) in &m.per_push_us {
        let b = bm.per_push_us.get(g).copied().unwrap_or(0.0);
        sum += us;
        bsum += b;
        println!("| {g} | {b:.1} | {us:.1} |");
    }
    println!("| **all of the bench process** | **{bsum:.1}** | **{sum:.1}** |");
    println!(
        "| machine busy during the run (of {cores} cores) | {:.2} ({:.2} by other processes) | {:.2} ({:.2} by other processes) |",
        bm.cores_busy, bm.others_cores, m.cores_busy, m.others_cores
    );
    println!(
        "| SQLite writer: voluntary context switches per push | | {:.3} |",
        m.writer_voluntary_per_push
    );
    println!(
        "| SQLite writer: pushes per commit (group commit) | | {:.1} |",
        m.pushes_per_commit
    );
    println!(
        "| SQLite writer: runnable but waiting for a core, µs per push | | {:.1} |",
        m.writer_waiting_us
    );

    if let Some(s) = stages {
        println!();
        println!("Stages of one push timed on their own (one thread, nothing else running):");
        println!();
        println!("| stage | cost |");
        println!("|---|---|");
        println!(
            "| envelope + msg_signature + key + AES decrypt + XML parse | {:.1} µs per push |",
            s.decode_us
        );
        println!(
            "| account lookup: `db.read` round trip (blocking pool + SELECT) | {:.1} µs |",
            s.read_hop_us
        );
        println!(
            "| the same `db.read` from 64 concurrent tasks (median of 3) | {:.0} reads/s |",
            s.read_conc_rate
        );
        for (batch, us) in &s.store_us {
            println!(
                "| `ingest::store` + commit (WAL, synchronous=FULL), batches of {batch} | {us:.1} µs per push |"
            );
        }
        println!(
            "| a lone `Db::write` (one small insert, nothing to batch with) | {:.2} ms |",
            s.write_lone_ms
        );
        println!(
            "| search index job: read + terms (`search::pending`, reader), {} a batch | {:.1} µs per message |",
            db::search_index::BATCH,
            s.index_us.0
        );
        println!(
            "| search index job: FTS5 rows + cursor + commit (`search::apply`, writer) | {:.1} µs per message |",
            s.index_us.1
        );
    }
    // Printed first so that a failing run still shows its figures.
    assert!(
        all_stored,
        "some pushes were not answered 200 \"success\" or not stored exactly once"
    );
}
