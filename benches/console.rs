//! `cargo bench --bench console`: the agent console's figures for
//! docs/PERFORMANCE.md (issue 4).
//!
//! kefu runs in-process on a loopback port with a fresh data folder (a real
//! SQLite file in a temp dir), the outbox sender and the fetcher of `kefu
//! serve` (their WeChat API is the fake one on another loopback port), one
//! safe-mode account linked to one group whose settings let agents see the
//! queue, and up to 50 agents of that group who log in over HTTP (CSRF token,
//! session cookie) and are therefore online. Everything goes over loopback
//! HTTP/1.1 with reqwest; nothing is mocked.
//!
//! a. Live latency: a follower of a conversation an agent holds sends a
//!    text (a signed safe-mode push POSTed to the webhook, one at a time);
//!    K agents (1, 10, 50) each hold an open `GET /console/events` stream. We
//!    time from the POST's send until the `event: msg` frame carrying that
//!    message is read on each stream. Baseline in the same run: the same
//!    push's own HTTP round trip (POST until `success`).
//! b. Render: `GET /console/lists` (htmx) with 10, 100, 500 open conversations
//!    in the group, and `GET /console/c/{id}` of a conversation with a 60-message
//!    history (as its holder, which also marks it read, and as another agent
//!    of the group); baseline `GET /healthz` on the same server, same client.
//!    Also timed: the push that opens a new conversation while N are open.
//! c. Memory: VmRSS of the bench process before and after opening 50 streams
//!    (client and server share the process, so this is an upper bound of the
//!    server's cost).
//!
//! Knobs (environment): KEFU_BENCH_RUNS (5), KEFU_BENCH_PUSHES (pushes per
//! latency run, 100), KEFU_BENCH_STREAMS ("1,10,50"), KEFU_BENCH_CONVS
//! ("10,100,500"), KEFU_BENCH_HISTORY (60), KEFU_BENCH_REQUESTS (requests per
//! render figure per run, 100), KEFU_BENCH_WORKERS=0 (no sender, no fetcher).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kefu::clock::Clock;
use kefu::config::Config;
use kefu::db::accounts::{Account, AccountFields};
use kefu::db::{self, Db, DbResult};
use kefu::model::{GroupId, Role};
use kefu::state::AppState;
use kefu::team::{self, Acting, NewUserInput};
use kefu::wechat::crypto::{self, AesKey};
use kefu::wechat::xml::{self, Inbound, InboundKind};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

const APPID: &str = "wx0123456789abcdef";
const SECRET: &str = "0123456789abcdef0123456789abcdef";
const TOKEN: &str = "kefuToken";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const GH_ID: &str = "gh_0123456789ab";
const PASSWORD: &str = "bench-pass-1";
/// Followers whose conversations an agent holds; the latency pushes rotate over them.
const LIVE_FOLLOWERS: usize = 8;

static MSG_ID: AtomicI64 = AtomicI64::new(25_600_000_000_000_000);

struct Params {
    runs: usize,
    pushes: usize,
    streams: Vec<usize>,
    convs: Vec<usize>,
    history: usize,
    requests: usize,
    workers: bool,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    let v: Vec<usize> = std::env::var(name)
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_default();
    if v.is_empty() { default.to_vec() } else { v }
}

impl Params {
    fn from_env() -> Params {
        let mut streams = env_list("KEFU_BENCH_STREAMS", &[1, 10, 50]);
        streams.retain(|k| *k > 0);
        streams.sort_unstable();
        let mut convs = env_list("KEFU_BENCH_CONVS", &[10, 100, 500]);
        convs.sort_unstable();
        Params {
            runs: env_usize("KEFU_BENCH_RUNS", 5).max(1),
            pushes: env_usize("KEFU_BENCH_PUSHES", 100).max(1),
            streams,
            convs,
            history: env_usize("KEFU_BENCH_HISTORY", 60).max(1),
            requests: env_usize("KEFU_BENCH_REQUESTS", 100).max(1),
            workers: env_usize("KEFU_BENCH_WORKERS", 1) != 0,
        }
    }

    fn agents(&self) -> usize {
        self.streams.iter().copied().max().unwrap_or(1).max(2)
    }
}

// ---------------------------------------------------------------------------
// Small helpers

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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// The `p` quantile (0..=1) of microsecond samples, in ms.
fn pct_ms(v: &[u32], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    let idx = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    f64::from(v[idx]) / 1000.0
}

fn us(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// CPU nanoseconds of this process's threads: (server: kefu runtime, its
/// blocking pool and the SQLite writer; client: the bench's reqwest runtime).
fn thread_cpu() -> (u64, u64) {
    let (mut server, mut client) = (0, 0);
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (0, 0);
    };
    for t in tasks.flatten() {
        let p = t.path();
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(p.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        if comm.starts_with("kefu-") {
            server += ns;
        } else if comm.starts_with("bench-cli") {
            client += ns;
        }
    }
    (server, client)
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

/// CPU time of this process (all threads), in jiffies.
fn process_jiffies() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| {
        f.get(n - 3)
            .and_then(|x| x.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(14) + field(15)
}

/// CPU used between two points: per thread group, and by other processes.
struct Cpu {
    at: Instant,
    threads: (u64, u64),
    machine: u64,
    process: u64,
}

impl Cpu {
    fn now() -> Cpu {
        Cpu {
            at: Instant::now(),
            threads: thread_cpu(),
            machine: machine_jiffies().0,
            process: process_jiffies(),
        }
    }

    /// (server µs, client µs) per `n` operations, and the cores other
    /// processes kept busy meanwhile.
    fn since(&self, n: usize) -> (f64, f64, f64) {
        let now = Cpu::now();
        let per = |a: u64, b: u64| a.saturating_sub(b) as f64 / 1000.0 / n as f64;
        let secs = now.at.duration_since(self.at).as_secs_f64();
        let others = (now.machine.saturating_sub(self.machine) as f64
            - now.process.saturating_sub(self.process) as f64)
            / 100.0
            / secs;
        (
            per(now.threads.0, self.threads.0),
            per(now.threads.1, self.threads.1),
            others.max(0.0),
        )
    }
}

fn openid(kind: &str, n: usize) -> String {
    // Real OpenIDs are 28 characters starting with "o".
    format!("o{kind}{n:0>width$}", width = 27 - kind.len())
}

fn extract_csrf(page: &str) -> Option<String> {
    let key = "name=\"csrf-token\" content=\"";
    let start = page.find(key)? + key.len();
    Some(page[start..].split('"').next()?.to_string())
}

// ---------------------------------------------------------------------------
// The server

struct Kefu {
    state: AppState,
    account: Account,
    group: GroupId,
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start_fake(openids: &[String]) -> String {
    let fake = kefu::wechat::fake::FakeWechat::new();
    fake.add_account(APPID, SECRET);
    for o in openids {
        fake.add_follower(APPID, o, "", &[]);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = fake.router();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    url
}

/// kefu with one safe-mode account linked to one group, `agents` agents in it.
async fn start_kefu(dir: &std::path::Path, api_base: &str, agents: usize, workers: bool) -> Kefu {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = Config::for_data_dir(dir);
    config.listen = listener.local_addr().unwrap();
    config.wechat_api_base = api_base.to_string();
    let db = Db::open(&config.db_path()).unwrap();
    let state = AppState::new(db, Clock::System, config).await.unwrap();
    let shell = Acting::shell();
    let group = team::create_group(
        &state.db,
        &state.clock,
        &shell,
        db::groups::GroupFields {
            name: "售后组".into(),
            ident: "after".into(),
            phone: String::new(),
            public_name: "售后组".into(),
            public_visible: true,
        },
    )
    .await
    .unwrap();
    for i in 0..agents {
        let input = NewUserInput {
            username: format!("agent{i:02}"),
            display_name: format!("客服{i:02}"),
            role: Some(Role::Agent),
            password: PASSWORD.into(),
            confirm: PASSWORD.into(),
            groups: vec![group],
            ..Default::default()
        };
        team::create_user(&state.db, &state.clock, &shell, input)
            .await
            .unwrap();
    }
    state.mark_set_up();
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
    let id = kefu::channel::create(&state.db, &state.clock, &shell, fields)
        .await
        .unwrap();
    state
        .db
        .write(move |c| -> DbResult<()> {
            db::accounts::set_groups(c, id, &[group])?;
            let s = db::settings::GroupSettings {
                agents_see_queue: true,
                ..Default::default()
            };
            db::settings::set_group(c, group, &s)
        })
        .await
        .unwrap();
    state.wechat.forget_account(id);
    let account = state
        .db
        .read(move |c| db::accounts::get(c, id))
        .await
        .unwrap()
        .unwrap();
    if workers {
        tokio::spawn(state.wechat.sender(&state.db, &state.clock).run());
        tokio::spawn(state.wechat.fetcher(&state.db, &state.clock).run());
    }
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(kefu::web::serve(state.clone(), listener, async {
        let _ = stopped.await;
    }));
    Kefu {
        state,
        account,
        group,
        base,
        stop,
        task,
    }
}

impl Kefu {
    /// The follower's open conversation.
    async fn conversation_of(&self, openid: &str) -> i64 {
        let (acc, o) = (self.account.id, openid.to_string());
        self.state
            .db
            .read(move |c| -> DbResult<i64> {
                Ok(c.query_row(
                    "SELECT c.id FROM conversations c JOIN followers f ON f.id = c.follower_id
                     WHERE f.account_id = ?1 AND f.openid = ?2 AND c.state <> 'ended'",
                    rusqlite::params![acc, o],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap()
    }

    /// (queued, active) conversations of the group.
    async fn open_counts(&self) -> (i64, i64) {
        let g = self.group;
        self.state
            .db
            .read(move |c| -> DbResult<(i64, i64)> {
                Ok(c.query_row(
                    "SELECT count(*) FILTER (WHERE state = 'queued'),
                            count(*) FILTER (WHERE state = 'active')
                     FROM conversations WHERE group_id = ?1",
                    [g],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .await
            .unwrap()
    }
}

// ---------------------------------------------------------------------------
// Pushes, signed as WeChat signs them

struct Pusher {
    client: reqwest::Client,
    url: String,
    key: AesKey,
}

impl Pusher {
    /// The URL and body of a safe-mode text push from `openid`.
    fn prepare(&self, openid: &str, text: &str) -> (reqwest::Url, String) {
        let now = unix_now();
        let m = Inbound {
            to_user: GH_ID.into(),
            from_user: openid.into(),
            create_time: now,
            msg_id: Some(MSG_ID.fetch_add(1, Ordering::Relaxed)),
            kind: InboundKind::Text {
                content: text.into(),
            },
        };
        let encrypt = crypto::encrypt(&self.key, APPID, &xml::inbound_xml(&m));
        let timestamp = now.to_string();
        let nonce = random_u32().to_string();
        let signature = crypto::signature(&[TOKEN, &timestamp, &nonce]);
        let msg_signature = crypto::signature(&[TOKEN, &timestamp, &nonce, &encrypt]);
        let url = format!(
            "{}?signature={signature}&timestamp={timestamp}&nonce={nonce}&openid={openid}\
             &encrypt_type=aes&msg_signature={msg_signature}",
            self.url
        );
        (
            reqwest::Url::parse(&url).unwrap(),
            xml::envelope_xml(GH_ID, &encrypt),
        )
    }

    /// POSTs a prepared push; the answer must be 200: "success" or a passive reply.
    async fn send(&self, (url, body): (reqwest::Url, String)) {
        let resp = self
            .client
            .post(url)
            .header("content-type", "text/xml")
            .body(body)
            .send()
            .await
            .expect("push sent");
        let status = resp.status();
        let b = resp.bytes().await.expect("push answered");
        assert!(
            status == 200 && (&b[..] == b"success" || b.starts_with(b"<xml>")),
            "push refused: {status} {}",
            String::from_utf8_lossy(&b)
        );
    }

    /// Prepares, sends, and returns the time of the POST alone.
    async fn push(&self, openid: &str, text: &str) -> Duration {
        let p = self.prepare(openid, text);
        let t0 = Instant::now();
        self.send(p).await;
        t0.elapsed()
    }
}

// ---------------------------------------------------------------------------
// Agents, as browser tabs

struct Agent {
    client: reqwest::Client,
    base: String,
    csrf: String,
}

impl Agent {
    async fn login(base: &str, name: &str) -> Agent {
        let client = reqwest::Client::builder()
            .no_proxy()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = client
            .get(format!("{base}/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = extract_csrf(&page).expect("the login page has a CSRF token");
        let r = client
            .post(format!("{base}/login"))
            .form(&[("username", name), ("password", PASSWORD), ("_csrf", &csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "login of {name}");
        let page = client
            .get(format!("{base}/console"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = extract_csrf(&page).expect("the console has a CSRF token");
        Agent {
            client,
            base: base.to_string(),
            csrf,
        }
    }

    /// An htmx GET, timed to the last byte: (time, status, body length, body).
    async fn get(&self, path: &str) -> (Duration, u16, String) {
        let t0 = Instant::now();
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        (t0.elapsed(), status, body)
    }

    async fn accept(&self, conv: i64) {
        let r = self
            .client
            .post(format!("{}/console/c/{conv}/accept", self.base))
            .header("HX-Request", "true")
            .form(&[("_csrf", self.csrf.as_str())])
            .send()
            .await
            .unwrap();
        let s = r.status();
        assert_eq!(s, 200, "accept {conv}: {}", r.text().await.unwrap());
    }

    /// Opens the event stream; a task reads it and reports, for every
    /// `msg` frame carrying a probe, (probe, stream, arrival). Returns once
    /// the `hello` frame came.
    async fn open_stream(
        &self,
        idx: usize,
        tx: mpsc::UnboundedSender<(u64, usize, Instant)>,
    ) -> tokio::task::JoinHandle<()> {
        let mut resp = self
            .client
            .get(format!("{}/console/events", self.base))
            .header("Accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let (hello_tx, hello_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut hello = Some(hello_tx);
            let mut buf = String::new();
            while let Ok(Some(chunk)) = resp.chunk().await {
                let at = Instant::now();
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let frame: String = buf.drain(..end + 2).collect();
                    if frame.contains("event: hello") {
                        if let Some(h) = hello.take() {
                            let _ = h.send(());
                        }
                    } else if frame.contains("event: msg") {
                        if let Some(n) = probe_of(&frame) {
                            let _ = tx.send((n, idx, at));
                        }
                    }
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), hello_rx)
            .await
            .expect("hello within 10 s")
            .expect("hello");
        task
    }
}

/// The probe number a follower's text carries ("… probe123x …").
fn probe_of(frame: &str) -> Option<u64> {
    let at = frame.find("probe")? + "probe".len();
    let digits: String = frame[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

// ---------------------------------------------------------------------------
// a. Live latency

struct LiveRun {
    rtt_us: Vec<u32>,
    frame_us: Vec<u32>,
    /// Per push: until the last of the K streams had it.
    all_us: Vec<u32>,
    missing: usize,
}

async fn live_run(
    pusher: &Pusher,
    rx: &mut mpsc::UnboundedReceiver<(u64, usize, Instant)>,
    followers: &[String],
    k: usize,
    pushes: usize,
    probe: &mut u64,
) -> LiveRun {
    let mut r = LiveRun {
        rtt_us: Vec::with_capacity(pushes),
        frame_us: Vec::with_capacity(pushes * k),
        all_us: Vec::with_capacity(pushes),
        missing: 0,
    };
    for i in 0..pushes {
        *probe += 1;
        let n = *probe;
        let o = &followers[i % followers.len()];
        let p = pusher.prepare(o, &format!("你好,我的订单还没到 probe{n}x 麻烦看看"));
        let t0 = Instant::now();
        pusher.send(p).await;
        r.rtt_us.push(us(t0.elapsed()));
        let mut got = vec![false; k];
        let mut seen = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut last = t0;
        while seen < k {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((m, s, at))) if m == n && s < k && !got[s] => {
                    got[s] = true;
                    seen += 1;
                    r.frame_us.push(us(at.duration_since(t0)));
                    last = last.max(at);
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        r.missing += k - seen;
        if seen == k {
            r.all_us.push(us(last.duration_since(t0)));
        }
    }
    r
}

struct LiveFigures {
    k: usize,
    rtt_p50: f64,
    rtt_p99: f64,
    frame_p50: f64,
    frame_p99: f64,
    all_p50: f64,
    missing: usize,
    /// CPU per push: (server µs, client µs, other processes' cores).
    cpu: (f64, f64, f64),
}

// ---------------------------------------------------------------------------
// b. Render

struct RenderFigures {
    open: usize,
    queued: i64,
    active: i64,
    open_push_ms: f64,
    healthz: f64,
    lists: f64,
    lists_kib: f64,
    chat_holder: f64,
    chat_other: f64,
    chat_rows: usize,
    others: f64,
}

async fn time_gets(agent: &Agent, path: &str, n: usize) -> (Vec<u32>, usize) {
    let mut v = Vec::with_capacity(n);
    let mut len = 0;
    for _ in 0..n {
        let (d, status, body) = agent.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        len = body.len();
        v.push(us(d));
    }
    (v, len)
}

// ---------------------------------------------------------------------------
// d. The writer's share of a push: `ingest::store` alone, and with the
//    conversation intake (`desk::on_inbound`) the webhook now runs in the same
//    transaction, as the writer thread runs them (a savepoint per push, a
//    batch transaction, WAL, synchronous=FULL). µs per push, batches of 64.

fn time_intake(dir: &std::path::Path, with_desk: bool, followers: usize, count: usize) -> f64 {
    let file = dir.join(format!("intake-{with_desk}.db"));
    let mut conn = rusqlite::Connection::open(file).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    db::configure(&conn).unwrap();
    db::migrate::migrate(&mut conn).unwrap();
    let now = jiff::Timestamp::now();
    let new = db::accounts::NewAccount {
        name: "压测",
        app_id: APPID,
        app_secret: SECRET,
        token: TOKEN,
        aes_key: AES_KEY,
        mode: kefu::model::AccountMode::Safe,
        api_base: "",
        simulation: false,
    };
    let id = db::accounts::insert(&conn, &new, now).unwrap();
    let acc = db::accounts::get(&conn, id).unwrap().unwrap();
    let msg = |i: usize| {
        let m = Inbound {
            to_user: GH_ID.into(),
            from_user: openid("Stage", i % followers),
            create_time: now.as_second(),
            msg_id: Some(MSG_ID.fetch_add(1, Ordering::Relaxed)),
            kind: InboundKind::Text {
                content: format!("你好,请问订单 {i} 什么时候发货?谢谢"),
            },
        };
        let raw = xml::inbound_xml(&m);
        (m, raw)
    };
    let mut run = |items: &[(Inbound, String)]| {
        for chunk in items.chunks(64) {
            let mut txn = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            for (m, raw) in chunk {
                let sp = txn.savepoint().unwrap();
                let stored = kefu::wechat::ingest::store(&sp, &acc, m, raw, now).unwrap();
                if with_desk {
                    std::hint::black_box(
                        kefu::desk::on_inbound(&sp, acc.id, m, &stored, now).unwrap(),
                    );
                }
                sp.commit().unwrap();
            }
            txn.commit().unwrap();
        }
    };
    // Every follower's first push (opens their conversation), then the timed ones.
    let first: Vec<_> = (0..followers).map(msg).collect();
    run(&first);
    let items: Vec<_> = (followers..followers + count).map(msg).collect();
    let start = Instant::now();
    run(&items);
    start.elapsed().as_secs_f64() * 1e6 / count as f64
}

// ---------------------------------------------------------------------------

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let p = Params::from_env();
    let started = Instant::now();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
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

    let max_convs = p.convs.iter().copied().max().unwrap_or(0);
    let history_follower = openid("Hist", 0);
    let live_followers: Vec<String> = (0..LIVE_FOLLOWERS).map(|i| openid("Live", i)).collect();
    let queue_followers: Vec<String> = (0..max_convs).map(|i| openid("Queue", i)).collect();
    let mut all = vec![history_follower.clone()];
    all.extend(live_followers.iter().cloned());
    all.extend(queue_followers.iter().cloned());

    let dir = tempfile::tempdir().unwrap();
    let api_base = fake_rt.block_on(start_fake(&all));
    let t = Instant::now();
    let kefu = srv.block_on(start_kefu(dir.path(), &api_base, p.agents(), p.workers));
    eprintln!(
        "server up with {} agents in {:.1} s",
        p.agents(),
        t.elapsed().as_secs_f64()
    );

    let pusher = Pusher {
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        url: format!("{}/wechat/{}", kefu.base, kefu.account.id),
        key: AesKey::from_encoding_aes_key(AES_KEY).unwrap(),
    };

    let mut live = Vec::new();
    let mut render = Vec::new();
    let mut rss = (0u64, 0u64, 0u64);
    cli.block_on(async {
        // Agents log in (online); agent00 and agent01 also act.
        let t = Instant::now();
        let mut agents = Vec::new();
        for i in 0..p.agents() {
            agents.push(Agent::login(&kefu.base, &format!("agent{i:02}")).await);
        }
        eprintln!(
            "{} agents logged in in {:.1} s",
            agents.len(),
            t.elapsed().as_secs_f64()
        );

        // The history conversation, and the live ones, held by agent00.
        for i in 0..p.history {
            pusher
                .push(&history_follower, &format!("第 {i} 条:请问这个型号有现货吗?"))
                .await;
        }
        let hist = kefu.conversation_of(&history_follower).await;
        agents[0].accept(hist).await;
        for o in &live_followers {
            pusher.push(o, "你好,我想咨询一下售后").await;
            let c = kefu.conversation_of(o).await;
            agents[0].accept(c).await;
        }

        // a. Live latency, and c. memory at the largest K.
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut probe = 0u64;
        let max_k = p.streams.iter().copied().max().unwrap_or(1);
        // Warm-up: connections, statements, caches.
        {
            let s = agents[0].open_stream(0, tx.clone()).await;
            live_run(&pusher, &mut rx, &live_followers, 1, 50, &mut probe).await;
            s.abort();
        }
        for &k in &p.streams {
            let before = rss_kib();
            let mut streams = Vec::new();
            for (i, a) in agents.iter().take(k).enumerate() {
                streams.push(a.open_stream(i, tx.clone()).await);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let opened = rss_kib();
            let mut runs = Vec::new();
            let cpu = Cpu::now();
            for _ in 0..p.runs {
                runs.push(live_run(&pusher, &mut rx, &live_followers, k, p.pushes, &mut probe).await);
            }
            let cpu = cpu.since(p.runs * p.pushes);
            if k == max_k {
                rss = (before, opened, rss_kib());
            }
            let med = |f: &dyn Fn(&LiveRun) -> f64| median(runs.iter().map(f).collect());
            let fig = LiveFigures {
                k,
                rtt_p50: med(&|r| pct_ms(&r.rtt_us, 0.5)),
                rtt_p99: med(&|r| pct_ms(&r.rtt_us, 0.99)),
                frame_p50: med(&|r| pct_ms(&r.frame_us, 0.5)),
                frame_p99: med(&|r| pct_ms(&r.frame_us, 0.99)),
                all_p50: med(&|r| {
                    if r.all_us.is_empty() {
                        f64::NAN
                    } else {
                        pct_ms(&r.all_us, 0.5)
                    }
                }),
                missing: runs.iter().map(|r| r.missing).sum(),
                cpu,
            };
            eprintln!(
                "K={k}: push round trip p50 {:.2} ms | push→frame p50 {:.2} ms p99 {:.2} ms | all K p50 {:.2} ms | {} frames missing",
                fig.rtt_p50, fig.frame_p50, fig.frame_p99, fig.all_p50, fig.missing
            );
            live.push(fig);
            for s in streams {
                s.abort();
            }
            // Let the server see the streams go.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }

        // b. Render, the group growing to each size.
        let mut opened = 0;
        let chat = format!("/console/c/{hist}");
        for &target in &p.convs {
            let (q, a) = kefu.open_counts().await;
            let mut open_push = Vec::new();
            while ((q + a) as usize) + open_push.len() < target && opened < queue_followers.len() {
                let d = pusher
                    .push(&queue_followers[opened], "在吗?我要退货")
                    .await;
                open_push.push(us(d));
                opened += 1;
            }
            let (queued, active) = kefu.open_counts().await;
            let mut runs: Vec<[f64; 4]> = Vec::new();
            let (mut lists_len, mut chat_body) = (0, String::new());
            // One warm-up pass, then the runs.
            let cpu = Cpu::now();
            for run in 0..=p.runs {
                let (h, _) = time_gets(&agents[1], "/healthz", p.requests).await;
                let (l, len) = time_gets(&agents[1], "/console/lists", p.requests).await;
                let (c0, _) = time_gets(&agents[0], &chat, p.requests).await;
                let (c1, _) = time_gets(&agents[1], &chat, p.requests).await;
                lists_len = len;
                if run == 0 {
                    chat_body = agents[1].get(&chat).await.2;
                    continue;
                }
                runs.push([
                    pct_ms(&h, 0.5),
                    pct_ms(&l, 0.5),
                    pct_ms(&c0, 0.5),
                    pct_ms(&c1, 0.5),
                ]);
            }
            let col = |i: usize| median(runs.iter().map(|r| r[i]).collect());
            let tail = &open_push[open_push.len().saturating_sub(20)..];
            let fig = RenderFigures {
                open: (queued + active) as usize,
                queued,
                active,
                open_push_ms: if tail.is_empty() {
                    f64::NAN
                } else {
                    pct_ms(tail, 0.5)
                },
                healthz: col(0),
                lists: col(1),
                lists_kib: lists_len as f64 / 1024.0,
                chat_holder: col(2),
                chat_other: col(3),
                chat_rows: chat_body.matches("class=\"row row-").count(),
                others: cpu.since(1).2,
            };
            eprintln!(
                "{} open ({} queued, {} active): healthz {:.3} ms | lists {:.2} ms ({:.0} KiB) | chat holder {:.2} ms, other {:.2} ms ({} rows) | opening push {:.2} ms",
                fig.open,
                fig.queued,
                fig.active,
                fig.healthz,
                fig.lists,
                fig.lists_kib,
                fig.chat_holder,
                fig.chat_other,
                fig.chat_rows,
                fig.open_push_ms
            );
            render.push(fig);
        }
    });

    // d. Alternating, medians of RUNS (300 followers, as the webhook bench).
    let (mut alone, mut with) = (Vec::new(), Vec::new());
    for r in 0..p.runs {
        let d = dir.path().join(format!("stage-{r}"));
        std::fs::create_dir_all(&d).unwrap();
        alone.push(time_intake(&d, false, 300, 8_192));
        with.push(time_intake(&d, true, 300, 8_192));
    }
    let (alone, with) = (median(alone), median(with));

    let Kefu {
        state, stop, task, ..
    } = kefu;
    let _ = stop.send(());
    let _ = srv.block_on(async { tokio::time::timeout(Duration::from_secs(5), task).await });
    state.db.close();

    println!();
    println!(
        "Client and server in one process on the same {cores} cores (loopback HTTP/1.1, \
         reqwest); medians of {} runs; {} pushes per latency run, {} requests per render \
         figure per run. Total {:.0} s.",
        p.runs,
        p.pushes,
        p.requests,
        started.elapsed().as_secs_f64()
    );
    println!();
    println!(
        "a. A follower's message, from the webhook POST to the `msg` frame on each agent's open stream:"
    );
    println!();
    println!(
        "| agents with the console open | baseline: push round trip p50 / p99 | push → frame p50 / p99 | until the last stream has it, p50 | frame p50 / push p50 | CPU per push: server / client | other processes | frames missing |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for f in &live {
        println!(
            "| {} | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.2} ms | {:.2}× | {:.0} / {:.0} µs | {:.2} cores | {} |",
            f.k,
            f.rtt_p50,
            f.rtt_p99,
            f.frame_p50,
            f.frame_p99,
            f.all_p50,
            f.frame_p50 / f.rtt_p50,
            f.cpu.0,
            f.cpu.1,
            f.cpu.2,
            f.missing
        );
    }
    println!();
    println!(
        "b. Rendering (median time to the last byte; baseline `GET /healthz` on the same server):"
    );
    println!();
    println!(
        "| open conversations in the group | `/healthz` | `/console/lists` | lists / healthz | chat, holder (marks read) | chat, another agent | chat / healthz | a push opening a conversation | other processes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for f in &render {
        println!(
            "| {} ({} queued, {} active) | {:.3} ms | {:.2} ms ({:.0} KiB) | {:.1}× | {:.2} ms | {:.2} ms | {:.1}× | {:.2} ms | {:.2} cores |",
            f.open,
            f.queued,
            f.active,
            f.healthz,
            f.lists,
            f.lists_kib,
            f.lists / f.healthz,
            f.chat_holder,
            f.chat_other,
            f.chat_other / f.healthz,
            f.open_push_ms,
            f.others
        );
    }
    if let Some(f) = render.last() {
        println!();
        println!(
            "The chat shows {} message rows (the latest 60 at most; the follower sent {} texts \
             and kefu one queue notice).",
            f.chat_rows, p.history
        );
    }
    let max_k = p.streams.iter().copied().max().unwrap_or(1);
    println!();
    println!(
        "c. Memory (VmRSS of the whole bench process, client included): {:.1} MiB before opening {max_k} streams, {:.1} MiB with them open, {:.1} MiB after their pushes; {:.0} KiB per stream.",
        rss.0 as f64 / 1024.0,
        rss.1 as f64 / 1024.0,
        rss.2 as f64 / 1024.0,
        (rss.1.saturating_sub(rss.0)) as f64 / max_k as f64
    );
    println!();
    println!(
        "d. The writer's share of a push that joins an open conversation (batches of 64, WAL, \
         synchronous=FULL): `ingest::store` alone {alone:.1} µs; with `desk::on_inbound` {with:.1} µs \
         ({:.1}×, +{:.1} µs).",
        with / alone,
        with - alone
    );
    assert!(
        live.iter().all(|f| f.missing == 0),
        "some msg frames never arrived"
    );
}
