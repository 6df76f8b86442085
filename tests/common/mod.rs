//! Test world: a real kefu server on a loopback port with its own temporary data
//! folder and SQLite file, a manual clock, and HTTP clients with cookie jars.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kefu::clock::Clock;
use kefu::config::Config;
use kefu::db::Db;
use kefu::model::{GroupId, Role, UserId};
use kefu::state::AppState;
use kefu::team::{self, Acting, NewUserInput};
use reqwest::{Client, Response, StatusCode, redirect};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "secret-pass-1";

pub struct TestServer {
    pub url: String,
    pub state: AppState,
    pub dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_, _| {}).await
    }

    /// Starts with a configuration adjusted by `tweak` (TLS, base URL…).
    pub async fn start_with(tweak: impl FnOnce(&mut Config, &std::path::Path)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut config = Config::for_data_dir(dir.path());
        config.listen = listener.local_addr().expect("addr");
        tweak(&mut config, dir.path());
        let db = Db::open(&config.db_path()).expect("open db");
        let clock = Clock::manual("2026-11-20T02:00:00Z".parse().unwrap());
        let state = AppState::new(db, clock, config).await.expect("state");
        let scheme = if state.config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(kefu::web::serve(state.clone(), listener, async {
            let _ = stopped.await;
        }));
        TestServer {
            url,
            state,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server gracefully and closes the database.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task").expect("server ran");
        }
        self.state.db.close();
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// Creates a user directly (as the shell would), optionally in groups.
    pub async fn user(&self, name: &str, role: Role, groups: &[GroupId]) -> UserId {
        let input = NewUserInput {
            username: name.into(),
            display_name: format!("{name}显示名"),
            role: Some(role),
            password: PASSWORD.into(),
            confirm: PASSWORD.into(),
            groups: groups.to_vec(),
            ..Default::default()
        };
        let id = team::create_user(&self.state.db, &self.state.clock, &Acting::shell(), input)
            .await
            .expect("create user");
        self.state.mark_set_up();
        id
    }

    pub async fn group(&self, name: &str, ident: &str) -> GroupId {
        let f = kefu::db::groups::GroupFields {
            name: name.into(),
            ident: ident.into(),
            phone: String::new(),
            public_name: name.into(),
            public_visible: true,
        };
        team::create_group(&self.state.db, &self.state.clock, &Acting::shell(), f)
            .await
            .expect("create group")
    }

    /// A logged-in client.
    pub async fn login(&self, name: &str) -> Browser {
        let b = Browser::new(self);
        let resp = b
            .post_form("/login", &[("username", name), ("password", PASSWORD)])
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::SEE_OTHER,
            "login of {name} should redirect"
        );
        b
    }
}

/// An HTTP client with a cookie jar that does not follow redirects and knows
/// how to find the page's CSRF token, like a browser tab.
pub struct Browser {
    pub client: Client,
    base: String,
}

impl Browser {
    pub fn new(server: &TestServer) -> Browser {
        let client = Client::builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .build()
            .expect("client");
        Browser {
            client,
            base: server.url.clone(),
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
    }

    pub async fn text(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        (r.status(), r.text().await.unwrap_or_default())
    }

    /// The CSRF token the pages currently carry for this client.
    pub async fn csrf(&self) -> String {
        for path in ["/login", "/setup", "/console"] {
            let page = self.get(path).await.text().await.unwrap_or_default();
            if let Some(t) = extract_csrf(&page) {
                return t;
            }
        }
        String::new()
    }

    /// Posts a form with the right CSRF token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf().await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("_csrf", &token));
        self.client
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .expect("POST")
    }

    /// Posts a form without any CSRF token.
    pub async fn post_form_raw(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .expect("POST")
    }
}

pub fn extract_csrf(page: &str) -> Option<String> {
    let start =
        page.find("name=\"csrf-token\" content=\"")? + "name=\"csrf-token\" content=\"".len();
    Some(page[start..].split('"').next()?.to_string())
}

/// A fake WeChat API on its own loopback port, as the real one would be.
pub struct FakeServer {
    pub fake: kefu::wechat::fake::FakeWechat,
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    pub async fn start() -> FakeServer {
        let fake = kefu::wechat::fake::FakeWechat::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let router = fake.router();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeServer { fake, url, task }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub const APPID: &str = "wx0123456789abcdef";
pub const SECRET: &str = "0123456789abcdef0123456789abcdef";
pub const WX_TOKEN: &str = "kefuToken";
pub const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

impl TestServer {
    /// Binds an account in `mode` whose API calls go to `api_base`.
    pub async fn account(&self, mode: &str, api_base: &str) -> kefu::db::accounts::Account {
        let f = kefu::db::accounts::AccountFields {
            name: "测试公众号".into(),
            app_id: APPID.into(),
            app_secret: SECRET.into(),
            token: WX_TOKEN.into(),
            aes_key: AES_KEY.into(),
            mode: mode.into(),
            api_base: api_base.into(),
            ..Default::default()
        };
        let id = kefu::channel::create(&self.state.db, &self.state.clock, &Acting::shell(), f)
            .await
            .expect("account");
        self.state
            .db
            .read(move |c| kefu::db::accounts::get(c, id))
            .await
            .unwrap()
            .unwrap()
    }

    /// Pushes `xml` to the account's webhook the way WeChat does in `mode`,
    /// with a fresh timestamp and nonce each time.
    pub async fn push(
        &self,
        account: &kefu::db::accounts::Account,
        mode: &str,
        xml: &str,
    ) -> reqwest::Response {
        use kefu::wechat::crypto;
        let timestamp = self.state.clock.now().as_second().to_string();
        let nonce = format!("{}", rand_u32());
        let signature = crypto::signature(&[&account.token, &timestamp, &nonce]);
        let url = format!("{}/wechat/{}", self.url, account.id);
        let client = reqwest::Client::new();
        let mut query = vec![
            ("signature", signature),
            ("timestamp", timestamp.clone()),
            ("nonce", nonce.clone()),
        ];
        // WeChat names the sender in the URL too (a plaintext push whose body
        // speaks for someone else is refused).
        if let Ok(m) = kefu::wechat::xml::parse(xml) {
            query.push(("openid", m.from_user));
        }
        let body = if mode == "plain" {
            xml.to_string()
        } else {
            let key = crypto::AesKey::from_encoding_aes_key(&account.aes_key).unwrap();
            let encrypt = crypto::encrypt(&key, &account.app_id, xml);
            let msg_signature = crypto::signature(&[&account.token, &timestamp, &nonce, &encrypt]);
            query.push(("encrypt_type", "aes".into()));
            query.push(("msg_signature", msg_signature));
            if mode == "compat" {
                let parsed = kefu::wechat::xml::parse(xml).unwrap();
                kefu::wechat::xml::compatible_envelope_xml(&parsed, &encrypt)
            } else {
                kefu::wechat::xml::envelope_xml("gh_test", &encrypt)
            }
        };
        client
            .post(url)
            .query(&query)
            .body(body)
            .send()
            .await
            .expect("push")
    }
}

pub fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).unwrap();
    u32::from_le_bytes(b)
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/wechat/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

/// The Chinese characters a page shows, with some context, for checking that an
/// English page drew everything from the catalogue (issue 13). Data the test
/// itself put in Chinese must be avoided in such tests.
pub fn chinese_in(body: &str) -> Vec<String> {
    let chars: Vec<char> = body.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}') {
            let from = i.saturating_sub(30);
            let to = (i + 30).min(chars.len());
            found.push(
                chars[from..to]
                    .iter()
                    .collect::<String>()
                    .replace('\n', " "),
            );
            i = to;
        } else {
            i += 1;
        }
    }
    found
}
