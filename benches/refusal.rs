//! `cargo bench --bench refusal`: kefu's memory under refused requests
//! (issue 11 point 5: after 50,000 refused requests RSS stays within 20 MB of
//! where it started).
//!
//! kefu runs as a child process (`kefu serve`, the binary this package builds)
//! on a loopback port with a fresh data folder holding one plaintext-mode and
//! one safe-mode account; its RSS (`VmRSS`) and peak (`VmHWM`) are read from
//! `/proc/PID/status` before, right after and a few seconds after the load.
//! The client sends N requests (default 50,000), each refused, in this mix:
//!
//! - 40 % plaintext pushes with a fresh timestamp and a forged signature;
//! - 40 % correctly signed plaintext pushes (each its own nonce) carrying a
//!   distinct 60 KB `openid`: the query is over the 8 KB limit;
//! - 10 % plaintext pushes with a forged signature and a 900 KB body;
//! - 10 % safe-mode pushes with a 900 KB envelope and a forged `msg_signature`
//!   (these bodies must be read before they can be refused).
//!
//! Knobs (environment): KEFU_BENCH_N, KEFU_BENCH_CONCURRENCY, KEFU_BENCH_BIN
//! (measure another kefu binary, e.g. an older build, with the same load).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kefu::clock::Clock;
use kefu::db::Db;
use kefu::db::accounts::AccountFields;
use kefu::team::Acting;
use kefu::wechat::crypto;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const APPID: &str = "wx0123456789abcdef";
const SECRET: &str = "0123456789abcdef0123456789abcdef";
const TOKEN: &str = "benchToken";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `VmRSS` and `VmHWM` of `pid`, in MiB.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Binds the two accounts in a fresh database; returns their ids.
async fn prepare(dir: &std::path::Path) -> (i64, i64) {
    let db = Db::open(&dir.join("kefu.db")).unwrap();
    let clock = Clock::System;
    let mut ids = Vec::new();
    for (n, mode) in ["plain", "safe"].into_iter().enumerate() {
        let fields = AccountFields {
            name: format!("压测公众号{n}"),
            app_id: format!("{APPID}{n}"),
            app_secret: SECRET.into(),
            token: TOKEN.into(),
            aes_key: AES_KEY.into(),
            mode: mode.into(),
            ..Default::default()
        };
        let id = kefu::channel::create(&db, &clock, &Acting::shell(), fields)
            .await
            .unwrap();
        ids.push(id.0);
    }
    db.close();
    (ids[0], ids[1])
}

fn main() {
    let n = env_usize("KEFU_BENCH_N", 50_000);
    let concurrency = env_usize("KEFU_BENCH_CONCURRENCY", 16);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (plain, safe) = rt.block_on(prepare(dir.path()));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Another build (an older commit, for a before/after) can be measured too.
    let bin = std::env::var("KEFU_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_kefu").into());
    let mut child = std::process::Command::new(bin)
        .arg("serve")
        .env("KEFU_DATA", dir.path())
        .env("KEFU_LISTEN", format!("127.0.0.1:{port}"))
        // Every refusal is logged at warn: keep the log out of the figures.
        .env("KEFU_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start kefu");
    let pid = child.id();
    let base = format!("http://127.0.0.1:{port}");

    rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency)
            .build()
            .unwrap();
        let started = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(60), "kefu did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Warm up the paths once so the start figure includes their code.
        for _ in 0..200 {
            let _ = client
                .post(format!("{base}/wechat/{plain}?timestamp={}&nonce=1&signature=0", unix_now()))
                .body("<xml/>")
                .send()
                .await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (start_rss, start_hwm) = memory(pid);

        let small = Arc::new(
            "<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[oBench]]>\
             </FromUserName><CreateTime>1714037059</CreateTime><MsgType><![CDATA[text]]>\
             </MsgType><Content><![CDATA[你好]]></Content><MsgId>1</MsgId></xml>"
                .to_string(),
        );
        let big = Arc::new(vec![b'x'; 900 * 1024]);
        let envelope = Arc::new(
            format!(
                "<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{}]]></Encrypt></xml>",
                "A".repeat(900 * 1024)
            )
            .into_bytes(),
        );
        let next = Arc::new(AtomicUsize::new(0));
        let outcomes: Arc<Mutex<BTreeMap<String, usize>>> = Default::default();
        let began = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (client, base, next, outcomes) =
                (client.clone(), base.clone(), next.clone(), outcomes.clone());
            let (small, big, envelope) = (small.clone(), big.clone(), envelope.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let ts = unix_now().to_string();
                    let nonce = format!("{i}");
                    let (kind, req) = match i % 10 {
                        0..=3 => (
                            "forged signature",
                            client
                                .post(format!(
                                    "{base}/wechat/{plain}?timestamp={ts}&nonce={nonce}&signature=0&openid=oBench"
                                ))
                                .body(small.as_str().to_owned()),
                        ),
                        4..=7 => {
                            let sig = crypto::signature(&[TOKEN, &ts, &nonce]);
                            let openid = format!("{i:08}{}", "o".repeat(60 * 1024));
                            (
                                "60 KB openid",
                                client
                                    .post(format!(
                                        "{base}/wechat/{plain}?timestamp={ts}&nonce={nonce}&signature={sig}&openid={openid}"
                                    ))
                                    .body(small.as_str().to_owned()),
                            )
                        }
                        8 => (
                            "900 KB body, forged signature",
                            client
                                .post(format!(
                                    "{base}/wechat/{plain}?timestamp={ts}&nonce={nonce}&signature=0"
                                ))
                                .body(big.as_ref().clone()),
                        ),
                        _ => (
                            "900 KB envelope, forged msg_signature",
                            client
                                .post(format!(
                                    "{base}/wechat/{safe}?timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature=0&signature=0"
                                ))
                                .body(envelope.as_ref().clone()),
                        ),
                    };
                    let outcome = match req.send().await {
                        Ok(r) => r.status().as_u16().to_string(),
                        Err(_) => "closed early".to_string(),
                    };
                    *outcomes
                        .lock()
                        .unwrap()
                        .entry(format!("{kind}: {outcome}"))
                        .or_default() += 1;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let secs = began.elapsed().as_secs_f64();
        let (end_rss, end_hwm) = memory(pid);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (idle_rss, _) = memory(pid);
        let stored: usize = outcomes
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.ends_with(": 200"))
            .map(|(_, v)| *v)
            .sum();

        println!("refused requests: {n} in {secs:.1} s ({:.0}/s), {concurrency} in flight", n as f64 / secs);
        for (k, v) in outcomes.lock().unwrap().iter() {
            println!("  {k:<48} {v:>7}");
        }
        println!("kefu RSS (MiB): start {start_rss:.1} (peak so far {start_hwm:.1})");
        println!(
            "                after {end_rss:.1} (peak {end_hwm:.1}), 3 s later {idle_rss:.1}"
        );
        println!(
            "growth: {:+.1} MiB after, {:+.1} MiB 3 s later (target: within 20 MB)",
            end_rss - start_rss,
            idle_rss - start_rss
        );
        if stored > 0 {
            // An older build (KEFU_BENCH_BIN) may take some of them.
            println!("note: {stored} requests were answered 200, not refused");
        }
    });
    let _ = child.kill();
    let _ = child.wait();
}
