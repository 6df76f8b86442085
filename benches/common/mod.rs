//! What the benches that drive kefu over HTTP share: a logged-in browser
//! session, a signer of safe-mode pushes for the fixture's account, and small
//! statistics. Included with `mod common;`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use kefu::db::fixture::{AES_KEY, APP_ID, TOKEN};
use kefu::wechat::crypto::{self, AesKey};
use kefu::wechat::xml::{self, Inbound, InboundKind};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const PASSWORD: &str = "fixture-pass-1";
static MSG_ID: AtomicI64 = AtomicI64::new(41_000_000_000_000_000);

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

pub fn pct(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let idx = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[idx]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

pub fn extract_csrf(page: &str) -> Option<String> {
    let key = "name=\"csrf-token\" content=\"";
    let start = page.find(key)? + key.len();
    Some(page[start..].split('"').next()?.to_string())
}

pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_file() {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

pub struct Session {
    pub client: reqwest::Client,
    pub base: String,
    pub csrf: String,
}

impl Session {
    pub async fn login(base: &str, name: &str) -> Session {
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
        let csrf = extract_csrf(&page).unwrap_or_default();
        Session {
            client,
            base: base.to_string(),
            csrf,
        }
    }

    /// GET to the last byte: (time, status, bytes).
    pub async fn get(&self, path: &str) -> (Duration, u16, usize) {
        let t0 = Instant::now();
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body = r.bytes().await.unwrap();
        (t0.elapsed(), status, body.len())
    }

    /// An htmx POST of a form with the CSRF token, to the last byte: (ms, status).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (f64, u16) {
        let mut fields = form.to_vec();
        fields.push(("_csrf", &self.csrf));
        let t0 = Instant::now();
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("HX-Request", "true")
            .form(&fields)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let _ = r.bytes().await.unwrap();
        (ms(t0.elapsed()), status)
    }

    /// `runs` GETs of `path`: (median ms, p90 ms, bytes of the last).
    pub async fn time(&self, path: &str, runs: usize) -> (f64, f64, usize) {
        let mut v = Vec::new();
        let mut bytes = 0;
        for _ in 0..runs {
            let (d, status, n) = self.get(path).await;
            assert_eq!(status, 200, "{path}");
            v.push(ms(d));
            bytes = n;
        }
        (median(v.clone()), pct(&v, 0.9), bytes)
    }
}

pub struct Pusher {
    pub client: reqwest::Client,
    pub url: String,
    pub key: AesKey,
}

impl Pusher {
    pub fn prepare(&self, openid: &str, text: &str) -> (reqwest::Url, String) {
        let now = unix_now();
        let m = Inbound {
            to_user: "gh_f1x7a5e00000".into(),
            from_user: openid.into(),
            create_time: now,
            msg_id: Some(MSG_ID.fetch_add(1, Ordering::Relaxed)),
            kind: InboundKind::Text {
                content: text.into(),
            },
        };
        let encrypt = crypto::encrypt(&self.key, APP_ID, &xml::inbound_xml(&m));
        let timestamp = now.to_string();
        let nonce = fastrand::u32(..).to_string();
        let signature = crypto::signature(&[TOKEN, &timestamp, &nonce]);
        let msg_signature = crypto::signature(&[TOKEN, &timestamp, &nonce, &encrypt]);
        let url = format!(
            "{}?signature={signature}&timestamp={timestamp}&nonce={nonce}&openid={openid}\
             &encrypt_type=aes&msg_signature={msg_signature}",
            self.url
        );
        (
            reqwest::Url::parse(&url).unwrap(),
            xml::envelope_xml("gh_f1x7a5e00000", &encrypt),
        )
    }

    /// The fixture account's pusher against `base`.
    pub fn new(base: &str) -> Pusher {
        Pusher {
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            url: format!("{base}/wechat/1"),
            key: AesKey::from_encoding_aes_key(AES_KEY).unwrap(),
        }
    }

    /// One push, timed (POST until the answer's last byte), in ms.
    pub async fn push(&self, openid: &str, text: &str) -> f64 {
        let (url, body) = self.prepare(openid, text);
        let t0 = Instant::now();
        let r = self
            .client
            .post(url)
            .header("content-type", "text/xml")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await.unwrap();
        ms(t0.elapsed())
    }

    /// Pushes from 4 concurrent senders for `secs`: latencies in ms.
    pub async fn load(self: &Arc<Self>, secs: u64, followers: usize) -> Vec<f64> {
        let until = Instant::now() + Duration::from_secs(secs);
        let mut tasks = Vec::new();
        for w in 0..4 {
            let p = self.clone();
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                let mut i = w;
                while Instant::now() < until {
                    // Followers of the fixture that have no open conversation
                    // (the open ones are the last 50).
                    let f = 1 + (i * 7919) % (followers - 60);
                    let (url, body) = p.prepare(&kefu::fixture::Plan::openid(f), "请问发货了吗？");
                    let t0 = Instant::now();
                    let r = p
                        .client
                        .post(url)
                        .header("content-type", "text/xml")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                    let _ = r.bytes().await.unwrap();
                    out.push(ms(t0.elapsed()));
                    i += 4;
                }
                out
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    }
}
