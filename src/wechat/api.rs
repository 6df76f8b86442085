//! The client of WeChat's HTTP API (A6, A8, A15). The base URL is a setting
//! (`KEFU_WECHAT_API_BASE`, or per account), so tests and the simulator talk to
//! a fake. Access tokens are cached in the database (a restart reuses them),
//! refreshed five minutes before they expire, one refresh at a time per
//! account; a call answered 40001/40014/42001 gets a new token and is retried
//! exactly once. Every WeChat error comes back as [`ApiError`] with a Chinese
//! explanation for the people who will read it.
//!
//! Under failure (issue 11): a fetched token is kept in memory even when the
//! database cannot store it, so a full disk does not cause another fetch;
//! fetches are rate-limited per account (a burst of [`TOKEN_BURST`], then one
//! per [`TOKEN_PERIOD`]) whatever fails; repeated warnings are logged once per
//! period with a count ([`super::quiet`]). A failure to connect (nothing was
//! sent) is [`ApiError::Network`]; a request that went out and got no answer
//! (timeout, connection cut) is [`ApiError::Lost`], which the outbox never
//! retries blindly. Sends wait [`SEND_TIMEOUT`] for WeChat's answer.

use crate::clock::Clock;
use crate::db::accounts::Account;
use crate::db::{self, Db, DbError};
use crate::i18n::Msg;
use crate::model::AccountId;
use jiff::SignedDuration;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";
/// Refresh a token this long before WeChat says it expires.
const REFRESH_AHEAD: SignedDuration = SignedDuration::from_mins(5);
/// Token fetches per account: this many at once …
pub const TOKEN_BURST: u32 = 4;
/// … then one per this period, whatever fails (WeChat allows 2,000 a day).
pub const TOKEN_PERIOD: Duration = Duration::from_secs(15);
/// How long a customer-service send waits for WeChat's answer: long enough
/// for a slow WeChat, since a send that times out has an unknown outcome.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(35);
/// How long the probe (is the API answering again?) waits.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("WeChat error {code}: {message}")]
    WeChat { code: i64, message: String },
    #[error("HTTP {0}")]
    Http(u16),
    /// Nothing reached WeChat (connection refused, DNS, connect timeout).
    #[error("network: {0}")]
    Network(String),
    /// The request went out but no answer came back (timeout, connection
    /// cut): WeChat may or may not have acted on it.
    #[error("no answer: {0}")]
    Lost(String),
    /// Too many token fetches for this account lately: not even tried.
    #[error("token fetches throttled")]
    Throttled,
    #[error("unexpected answer: {0}")]
    Decode(String),
    #[error("database: {0}")]
    Db(String),
    /// Our side: a file to upload is missing or its path is not allowed.
    #[error("local file: {0}")]
    Local(String),
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        ApiError::Db(e.to_string())
    }
}

/// Codes that mean "the token is no longer good": fetch a new one, retry once.
pub fn is_token_error(code: i64) -> bool {
    matches!(code, 40001 | 40014 | 42001)
}

impl ApiError {
    /// Worth trying again later (busy, server error, network), as opposed to a refusal.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::WeChat { code, .. } => *code == -1 || is_token_error(*code),
            ApiError::Http(status) => *status >= 500 || *status == 429,
            ApiError::Network(_) | ApiError::Lost(_) | ApiError::Throttled | ApiError::Db(_) => {
                true
            }
            ApiError::Decode(_) | ApiError::Local(_) => false,
        }
    }

    pub fn code(&self) -> Option<i64> {
        match self {
            ApiError::WeChat { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// What an agent or admin reads, in the current language (zh-CN outside
    /// a request: reasons stored by background work stay Chinese).
    pub fn explain(&self) -> String {
        self.explain_msg().now()
    }

    /// [`explain`](Self::explain) as a message to store (an outbox row's
    /// reason), drawn in the language of whoever reads it.
    pub fn explain_msg(&self) -> Msg {
        match self {
            ApiError::WeChat { code, message } => match explain_code_key(*code) {
                Some(key) => Msg::new("acct-wx-known")
                    .msg("text", Msg::new(key))
                    .text("code", code.to_string()),
                None => Msg::new("acct-wx-other")
                    .text("code", code.to_string())
                    .text("message", message.as_str()),
            },
            ApiError::Http(status) if self.is_transient() => {
                Msg::new("acct-wx-http-busy").text("status", status.to_string())
            }
            ApiError::Http(status) => Msg::new("acct-wx-http").text("status", status.to_string()),
            ApiError::Network(_) => Msg::new("acct-wx-network"),
            ApiError::Lost(_) => Msg::new("acct-wx-lost"),
            ApiError::Throttled => Msg::new("acct-wx-throttled"),
            ApiError::Decode(_) => Msg::new("acct-wx-decode"),
            ApiError::Db(_) => Msg::new("acct-wx-db"),
            ApiError::Local(_) => Msg::new("acct-wx-local"),
        }
    }
}

/// Explanations of the error codes people meet (WECHAT.md §11), in the
/// current language.
pub fn explain_code(code: i64) -> Option<String> {
    explain_code_key(code).map(crate::t)
}

/// The catalogue key that explains `code`.
fn explain_code_key(code: i64) -> Option<&'static str> {
    Some(match code {
        -1 => "acct-wx-busy",
        40001 | 40014 | 42001 => "acct-wx-token-invalid",
        40003 => "acct-wx-openid-invalid",
        40013 => "acct-wx-appid-invalid",
        40125 => "acct-wx-secret-wrong",
        40164 => "acct-wx-ip-whitelist",
        41001 => "acct-wx-token-missing",
        43004 => "acct-wx-unsubscribed",
        45009 => "acct-wx-daily-limit",
        45015 => "acct-wx-window-over",
        45047 => "acct-wx-quota-over",
        47001 => "acct-wx-bad-data",
        48001 => "acct-wx-no-permission",
        _ => return None,
    })
}

/// A follower's profile as user/info returns it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserInfo {
    pub subscribed: bool,
    pub remark: String,
    pub unionid: String,
    pub tags: Vec<i64>,
    pub subscribe_scene: String,
    pub subscribe_time: Option<i64>,
}

impl UserInfo {
    fn from_json(v: &Value) -> UserInfo {
        UserInfo {
            subscribed: v["subscribe"].as_i64() == Some(1),
            remark: v["remark"].as_str().unwrap_or_default().to_string(),
            unionid: v["unionid"].as_str().unwrap_or_default().to_string(),
            tags: v["tagid_list"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default(),
            subscribe_scene: v["subscribe_scene"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            subscribe_time: v["subscribe_time"].as_i64(),
        }
    }
}

/// One page of user/get.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FollowerPage {
    pub total: i64,
    pub openids: Vec<String>,
    pub next_openid: String,
}

/// A reqwest failure: [`ApiError::Network`] when nothing was sent (the
/// connection could not be made), else [`ApiError::Lost`].
fn net(e: reqwest::Error) -> ApiError {
    let not_sent = e.is_connect() || e.is_builder();
    let text = e.without_url().to_string();
    if not_sent {
        ApiError::Network(text)
    } else {
        ApiError::Lost(text)
    }
}

type TokenLimiter = governor::RateLimiter<
    AccountId,
    governor::state::keyed::DefaultKeyedStateStore<AccountId>,
    governor::clock::DefaultClock,
>;

/// What the client remembers about an account's token besides the database.
#[derive(Default)]
struct Remembered {
    /// The last token fetched, kept even when storing it failed, with the
    /// credentials it was fetched with (a changed AppID, AppSecret or API
    /// address makes it worthless, as it does the stored one).
    token: Option<(String, jiff::Timestamp, String)>,
    /// A token WeChat refused, not to be taken from the database again.
    refused: Option<String>,
}

pub struct WechatApi {
    http: reqwest::Client,
    /// For simulation-mode accounts only: kefu's own fake WeChat on loopback,
    /// whose certificate (when kefu serves TLS) is issued for the public name.
    simulator_http: reqwest::Client,
    db: Db,
    clock: Clock,
    default_base: String,
    simulator_base: String,
    refreshing: Mutex<HashMap<AccountId, Arc<tokio::sync::Mutex<()>>>>,
    remembered: Mutex<HashMap<AccountId, Remembered>>,
    token_limit: TokenLimiter,
    send_timeout: Duration,
    /// Repeated warnings, logged once per period with a count.
    pub quiet: super::quiet::Quiet,
}

impl WechatApi {
    pub fn new(db: Db, clock: Clock, default_base: &str) -> WechatApi {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("kefu/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        let simulator_http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap_or_default();
        WechatApi {
            http,
            simulator_http,
            db,
            clock,
            default_base: default_base.trim_end_matches('/').to_string(),
            simulator_base: String::new(),
            refreshing: Mutex::new(HashMap::new()),
            remembered: Mutex::new(HashMap::new()),
            token_limit: governor::RateLimiter::hashmap(token_quota()),
            send_timeout: SEND_TIMEOUT,
            quiet: Default::default(),
        }
    }

    /// How long sends wait for an answer (tests shorten it to meet a WeChat
    /// that never answers).
    pub fn set_send_timeout(&mut self, timeout: Duration) {
        self.send_timeout = timeout;
    }

    /// Where simulation-mode accounts send their calls: kefu's own fake WeChat.
    pub fn set_simulator_base(&mut self, base: &str) {
        self.simulator_base = base.trim_end_matches('/').to_string();
    }

    pub fn base(&self, account: &Account) -> String {
        if account.simulation {
            self.simulator_base.clone()
        } else if account.api_base.is_empty() {
            self.default_base.clone()
        } else {
            account.api_base.trim_end_matches('/').to_string()
        }
    }

    fn client(&self, account: &Account) -> &reqwest::Client {
        if account.simulation {
            &self.simulator_http
        } else {
            &self.http
        }
    }

    fn lock_for(&self, id: AccountId) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.refreshing.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(id).or_default().clone()
    }

    fn remember(&self) -> std::sync::MutexGuard<'_, HashMap<AccountId, Remembered>> {
        self.remembered.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn credentials(&self, account: &Account) -> String {
        format!(
            "{}\n{}\n{}",
            account.app_id,
            account.app_secret,
            self.base(account)
        )
    }

    async fn cached_token(&self, account: &Account) -> Result<Option<String>, ApiError> {
        let (id, now) = (account.id, self.clock.now());
        let fresh =
            |t: &str, exp: jiff::Timestamp| (exp - REFRESH_AHEAD > now).then(|| t.to_string());
        let credentials = self.credentials(account);
        let kept = self.remember().get(&id).and_then(|r| {
            r.token
                .as_ref()
                .filter(|(_, _, c)| *c == credentials)
                .and_then(|(t, exp, _)| fresh(t, *exp))
        });
        if kept.is_some() {
            return Ok(kept);
        }
        let cached = self.db.read(move |c| db::accounts::token(c, id)).await?;
        let refused = self.remember().get(&id).and_then(|r| r.refused.clone());
        Ok(cached
            .filter(|(t, _)| Some(t) != refused.as_ref())
            .and_then(|(t, exp)| fresh(&t, exp)))
    }

    /// WeChat refused this token: forget it here and in the database.
    async fn drop_token(&self, id: AccountId, token: &str) {
        {
            let mut mem = self.remember();
            let r = mem.entry(id).or_default();
            if r.token.as_ref().is_some_and(|(t, _, _)| t == token) {
                r.token = None;
            }
            r.refused = Some(token.to_string());
        }
        let t = token.to_string();
        if let Err(e) = self
            .db
            .write(move |c| db::accounts::drop_token(c, id, &t))
            .await
        {
            if let Some(skipped) = self.quiet.allow(&format!("drop-token-{id}")) {
                tracing::warn!(account = %id, error = %e, skipped, "refused token not removed from the database");
            }
        }
    }

    /// A valid access token for the account: the cached one, or a fresh one.
    pub async fn token(&self, account: &Account) -> Result<String, ApiError> {
        self.token_inner(account, false).await
    }

    /// Fetches a new token even if one is cached ("测试连接").
    pub async fn fresh_token(&self, account: &Account) -> Result<String, ApiError> {
        self.token_inner(account, true).await
    }

    async fn token_inner(&self, account: &Account, force: bool) -> Result<String, ApiError> {
        if !force {
            if let Some(t) = self.cached_token(account).await? {
                return Ok(t);
            }
        }
        let lock = self.lock_for(account.id);
        let _one_at_a_time = lock.lock().await;
        // Another task may have refreshed it while we waited.
        if !force {
            if let Some(t) = self.cached_token(account).await? {
                return Ok(t);
            }
        }
        if self.token_limit.check_key(&account.id).is_err() {
            if let Some(skipped) = self.quiet.allow(&format!("token-throttled-{}", account.id)) {
                tracing::warn!(account = %account.id, skipped, "token fetch skipped: too many lately");
            }
            return Err(ApiError::Throttled);
        }
        let fetched = self.fetch_token(account).await;
        let (token, ttl) = match fetched {
            Ok(t) => t,
            Err(e) => {
                if let Some(skipped) = self.quiet.allow(&format!("token-fetch-{}", account.id)) {
                    tracing::warn!(account = %account.id, error = %e, skipped, "access token not fetched");
                }
                return Err(e);
            }
        };
        let now = self.clock.now();
        let expires = now + SignedDuration::from_secs(ttl);
        {
            let mut mem = self.remember();
            let r = mem.entry(account.id).or_default();
            r.token = Some((token.clone(), expires, self.credentials(account)));
            r.refused = None;
        }
        let (id, t) = (account.id, token.clone());
        let stored = self
            .db
            .write(move |c| db::accounts::store_token(c, id, &t, expires, now))
            .await;
        match stored {
            Ok(()) => {
                tracing::info!(account = %account.id, expires_in = ttl, "access token fetched")
            }
            // Kept in memory: the token is good, only the database is not.
            Err(e) => {
                if let Some(skipped) = self.quiet.allow(&format!("token-store-{}", account.id)) {
                    tracing::warn!(account = %account.id, error = %e, skipped, "access token fetched but not stored; kept in memory");
                }
            }
        }
        Ok(token)
    }

    /// One `cgi-bin/token` call: the token and its lifetime in seconds.
    async fn fetch_token(&self, account: &Account) -> Result<(String, i64), ApiError> {
        let url = format!("{}/cgi-bin/token", self.base(account));
        let resp = self
            .client(account)
            .get(&url)
            .query(&[
                ("grant_type", "client_credential"),
                ("appid", &account.app_id),
                ("secret", &account.app_secret),
            ])
            .send()
            .await
            .map_err(net)?;
        let body = json_body(resp).await?;
        check_errcode(&body)?;
        let token = body["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Decode("token answer without access_token".into()))?;
        let ttl = body["expires_in"]
            .as_i64()
            .unwrap_or(7200)
            .clamp(60, 86_400);
        Ok((token.to_string(), ttl))
    }

    /// Is the account's API answering? A call that needs no token and costs
    /// nothing (`getcallbackip` without one answers 41001 at once): any JSON
    /// answer but "busy" means WeChat is back.
    pub async fn probe(&self, account: &Account) -> bool {
        let url = format!("{}/cgi-bin/getcallbackip", self.base(account));
        let answer = self
            .client(account)
            .get(&url)
            .timeout(PROBE_TIMEOUT)
            .send()
            .await;
        let Ok(resp) = answer else {
            return false;
        };
        match json_body(resp).await {
            Ok(body) => body["errcode"].as_i64() != Some(-1),
            Err(_) => false,
        }
    }

    /// Calls an API with the account's token; on a token error fetches a new
    /// token and retries exactly once. `build` makes the request for a token.
    async fn call<F>(&self, account: &Account, build: F) -> Result<reqwest::Response, ApiError>
    where
        F: Fn(&str) -> reqwest::RequestBuilder,
    {
        for attempt in 0..2 {
            let token = self.token(account).await?;
            let resp = build(&token).send().await.map_err(net)?;
            let status = resp.status();
            if !status.is_success() {
                return Err(ApiError::Http(status.as_u16()));
            }
            let is_json = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|c| c.contains("json") || c.starts_with("text/plain"));
            if !is_json {
                return Ok(resp);
            }
            let bytes = resp.bytes().await.map_err(net)?;
            let body: Value =
                serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode(e.to_string()))?;
            match check_errcode(&body) {
                Err(ApiError::WeChat { code, .. }) if is_token_error(code) && attempt == 0 => {
                    tracing::info!(account = %account.id, code, "token refused; fetching a new one and retrying once");
                    self.drop_token(account.id, &token).await;
                    continue;
                }
                Err(e) => return Err(e),
                Ok(()) => {
                    let mut rebuilt = http::Response::new(bytes.to_vec());
                    *rebuilt.status_mut() = status;
                    rebuilt.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/json"),
                    );
                    return Ok(reqwest::Response::from(rebuilt));
                }
            }
        }
        Err(ApiError::WeChat {
            code: 40001,
            message: "token refused twice".into(),
        })
    }

    async fn call_json(
        &self,
        account: &Account,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Value, ApiError> {
        let resp = self.call(account, build).await?;
        json_body(resp).await
    }

    /// `message/custom/send` with a ready JSON body (touser, msgtype, …).
    pub async fn send_custom(&self, account: &Account, body: &Value) -> Result<(), ApiError> {
        let url = format!("{}/cgi-bin/message/custom/send", self.base(account));
        self.call_json(account, |t| {
            self.client(account)
                .post(&url)
                .timeout(self.send_timeout)
                .query(&[("access_token", t)])
                .json(body)
        })
        .await?;
        Ok(())
    }

    /// The typing indicator ("Typing" or "CancelTyping").
    pub async fn typing(&self, account: &Account, openid: &str, on: bool) -> Result<(), ApiError> {
        let url = format!("{}/cgi-bin/message/custom/typing", self.base(account));
        let body = serde_json::json!({ "touser": openid, "command": if on { "Typing" } else { "CancelTyping" } });
        self.call_json(account, |t| {
            self.client(account)
                .post(&url)
                .query(&[("access_token", t)])
                .json(&body)
        })
        .await?;
        Ok(())
    }

    /// Uploads temporary media (image, voice, video, thumb); returns its media_id.
    pub async fn upload_media(
        &self,
        account: &Account,
        kind: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<String, ApiError> {
        let url = format!("{}/cgi-bin/media/upload", self.base(account));
        let body = self
            .call_json(account, |t| {
                let part =
                    reqwest::multipart::Part::bytes(bytes.clone()).file_name(file_name.to_string());
                let form = reqwest::multipart::Form::new().part("media", part);
                self.client(account)
                    .post(&url)
                    .query(&[("access_token", t), ("type", kind)])
                    .multipart(form)
            })
            .await?;
        body["media_id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ApiError::Decode("upload without media_id".into()))
    }

    /// Downloads media by id: content type and bytes (at most `limit` bytes).
    pub async fn get_media(
        &self,
        account: &Account,
        media_id: &str,
        limit: usize,
    ) -> Result<(String, Vec<u8>), ApiError> {
        let url = format!("{}/cgi-bin/media/get", self.base(account));
        let resp = self
            .call(account, |t| {
                self.client(account)
                    .get(&url)
                    .query(&[("access_token", t), ("media_id", media_id)])
            })
            .await?;
        let (content_type, bytes) = read_limited(resp, limit).await?;
        // A video comes back as JSON naming where to download it (WECHAT.md §8).
        if content_type.contains("json") {
            let v: Value =
                serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode(e.to_string()))?;
            let Some(video_url) = v["video_url"].as_str() else {
                return Err(ApiError::Decode(
                    "media/get answered JSON without video_url".into(),
                ));
            };
            return self.fetch_url(video_url, limit).await;
        }
        Ok((content_type, bytes))
    }

    /// Downloads a URL WeChat gave (PicUrl), at most `limit` bytes.
    pub async fn fetch_url(&self, url: &str, limit: usize) -> Result<(String, Vec<u8>), ApiError> {
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| ApiError::Network(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(ApiError::Http(resp.status().as_u16()));
        }
        read_limited(resp, limit).await
    }

    pub async fn user_info(&self, account: &Account, openid: &str) -> Result<UserInfo, ApiError> {
        let url = format!("{}/cgi-bin/user/info", self.base(account));
        let v = self
            .call_json(account, |t| {
                self.client(account).get(&url).query(&[
                    ("access_token", t),
                    ("openid", openid),
                    ("lang", "zh_CN"),
                ])
            })
            .await?;
        Ok(UserInfo::from_json(&v))
    }

    /// Up to 100 profiles at once.
    pub async fn batch_user_info(
        &self,
        account: &Account,
        openids: &[String],
    ) -> Result<Vec<(String, UserInfo)>, ApiError> {
        let url = format!("{}/cgi-bin/user/info/batchget", self.base(account));
        let list: Vec<Value> = openids
            .iter()
            .map(|o| serde_json::json!({"openid": o, "lang": "zh_CN"}))
            .collect();
        let body = serde_json::json!({ "user_list": list });
        let v = self
            .call_json(account, |t| {
                self.client(account)
                    .post(&url)
                    .query(&[("access_token", t)])
                    .json(&body)
            })
            .await?;
        Ok(v["user_info_list"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| {
                        Some((u["openid"].as_str()?.to_string(), UserInfo::from_json(u)))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// One page of followers after `next_openid` ("" for the first page).
    pub async fn followers_page(
        &self,
        account: &Account,
        next_openid: &str,
    ) -> Result<FollowerPage, ApiError> {
        let url = format!("{}/cgi-bin/user/get", self.base(account));
        let v = self
            .call_json(account, |t| {
                self.client(account)
                    .get(&url)
                    .query(&[("access_token", t), ("next_openid", next_openid)])
            })
            .await?;
        Ok(FollowerPage {
            total: v["total"].as_i64().unwrap_or_default(),
            openids: v["data"]["openid"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|o| o.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            next_openid: v["next_openid"].as_str().unwrap_or_default().to_string(),
        })
    }

    /// `menu/create`: replaces the account's custom menu with `menu`
    /// (`{"button":[…]}`, as `db::menu::Menu::to_wechat` builds it).
    pub async fn create_menu(&self, account: &Account, menu: &Value) -> Result<(), ApiError> {
        let url = format!("{}/cgi-bin/menu/create", self.base(account));
        self.call_json(account, |t| {
            self.client(account)
                .post(&url)
                .query(&[("access_token", t)])
                .json(menu)
        })
        .await?;
        Ok(())
    }

    /// `menu/get`: the menu online now, as its `menu` object (`{"button":[…]}`,
    /// the shape `create_menu` takes; leaves carry an empty `sub_button`). An
    /// account without a menu answers errcode 46003.
    pub async fn get_menu(&self, account: &Account) -> Result<Value, ApiError> {
        let url = format!("{}/cgi-bin/menu/get", self.base(account));
        let body = self
            .call_json(account, |t| {
                self.client(account).get(&url).query(&[("access_token", t)])
            })
            .await?;
        match body.get("menu") {
            Some(menu) if menu.is_object() => Ok(menu.clone()),
            _ => Err(ApiError::Decode("menu/get answered without menu".into())),
        }
    }

    /// `message/template/send` (A13): a template message to a follower, e.g.
    /// an agent who bound their WeChat. Returns WeChat's msgid.
    pub async fn send_template(&self, account: &Account, body: &Value) -> Result<i64, ApiError> {
        let url = format!("{}/cgi-bin/message/template/send", self.base(account));
        let answer = self
            .call_json(account, |t| {
                self.client(account)
                    .post(&url)
                    .query(&[("access_token", t)])
                    .json(body)
            })
            .await?;
        Ok(answer["msgid"].as_i64().unwrap_or_default())
    }
}

fn check_errcode(body: &Value) -> Result<(), ApiError> {
    match body["errcode"].as_i64() {
        None | Some(0) => Ok(()),
        Some(code) => Err(ApiError::WeChat {
            code,
            message: body["errmsg"].as_str().unwrap_or_default().to_string(),
        }),
    }
}

async fn json_body(resp: reqwest::Response) -> Result<Value, ApiError> {
    let status = resp.status();
    if !status.is_success() {
        return Err(ApiError::Http(status.as_u16()));
    }
    let bytes = resp.bytes().await.map_err(net)?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode(e.to_string()))
}

async fn read_limited(
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<(String, Vec<u8>), ApiError> {
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ApiError::Network(e.without_url().to_string()))?
    {
        if out.len() + chunk.len() > limit {
            return Err(ApiError::Decode(format!("file larger than {limit} bytes")));
        }
        out.extend_from_slice(&chunk);
    }
    Ok((content_type, out))
}

fn token_quota() -> governor::Quota {
    let burst = std::num::NonZeroU32::new(TOKEN_BURST).unwrap_or(std::num::NonZeroU32::MIN);
    governor::Quota::with_period(TOKEN_PERIOD)
        .unwrap_or_else(|| governor::Quota::per_minute(std::num::NonZeroU32::MIN))
        .allow_burst(burst)
}
