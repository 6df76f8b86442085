//! A fake of WeChat's Official Account API, served as an axum `Router`, so that
//! a client written against `api.weixin.qq.com` works against it unchanged. The
//! tests serve it on a port-0 listener and point kefu's configurable API base URL
//! at it; the built-in simulator mounts it under its own prefix. It owns the
//! fake's world (accounts, access tokens, followers, tags, media, menus, and
//! every message it accepted) and the rules WeChat applies to calls: token
//! validity, request validation with WeChat's error codes (HTTP 200 and a JSON
//! `errcode`), upload size limits, and, when switched on, the 48-hour interaction
//! window and its reply quota. Tests script failures with [`FakeWechat::fail_next`],
//! a send that is accepted but answered late (or never) with
//! [`FakeWechat::answer_late`], and an outage of every endpoint with
//! [`FakeWechat::set_outage`].
//! It must not know anything about kefu: no database, no engine, no kefu types.
//! Time is the real clock; state sits behind one std `Mutex` that is never held
//! across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio::sync::broadcast;

/// Lifetime of an access token unless [`FakeWechat::set_token_ttl`] says otherwise.
const DEFAULT_TOKEN_TTL_SECS: u64 = 7200;
/// WeChat pages `user/get` by 10,000 openids.
const DEFAULT_PAGE_SIZE: usize = 10_000;
/// Temporary media lives three days.
const MEDIA_LIFETIME: SignedDuration = SignedDuration::from_hours(72);
/// The customer-service window opened by a follower's interaction.
const INTERACTION_WINDOW: SignedDuration = SignedDuration::from_hours(48);
/// Large enough to receive an over-size video and refuse it the way WeChat does
/// (an errcode), instead of cutting the connection with HTTP 413.
const UPLOAD_BODY_LIMIT: usize = 32 * 1024 * 1024;
const BATCHGET_MAX: usize = 100;
const TAGGING_MAX: usize = 50;
const TAGS_PER_ACCOUNT_MAX: usize = 100;
const TAGS_PER_FOLLOWER_MAX: usize = 20;
/// Tags 0, 1 and 2 are WeChat's own; 2 is the "star" tag every account has.
const SYSTEM_TAG_MAX: i64 = 2;
const STAR_TAG: (i64, &str) = (2, "星标组");
const FIRST_TAG_ID: i64 = 100;
const FIRST_TEMPLATE_MSGID: i64 = 1_000_000_000;
const TOKEN_RANDOM_LEN: usize = 130;
const MEDIA_ID_LEN: usize = 64;
/// Characters of tokens and media ids: URL-safe, like WeChat's.
const ID_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/// An endpoint family, the unit of failure injection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Api {
    /// `token` and `stable_token`.
    Token,
    CustomSend,
    Typing,
    MediaUpload,
    MediaGet,
    /// `user/info` and `user/info/updateremark`.
    UserInfo,
    UserGet,
    BatchGet,
    TemplateSend,
    /// `menu/create`, `menu/get` and `menu/delete`.
    Menu,
    /// `tags/*`, `tags/members/*` and `user/tag/get`.
    Tags,
}

/// What an injected failure answers instead of the endpoint.
#[derive(Clone, Debug)]
pub enum Failure {
    /// HTTP 200 with `{"errcode":N,"errmsg":"..."}`, as WeChat reports errors.
    ErrCode(i64),
    /// This HTTP status with a plain-text body, as a proxy in front of WeChat would.
    Http(u16),
    /// Holds the request this long, then lets it through.
    Delay(Duration),
}

/// A customer-service message the fake accepted.
#[derive(Clone, Debug)]
pub struct Sent {
    pub appid: String,
    pub touser: String,
    pub msgtype: String,
    pub body: Value,
    /// The body exactly as received, to check what went over the wire.
    pub raw: String,
    pub at: Timestamp,
}

/// Something that reached a follower, pushed to [`FakeWechat::watch`] receivers
/// so the simulator can show it live.
#[derive(Clone, Debug)]
pub enum Delivery {
    Message(Sent),
    Typing {
        appid: String,
        touser: String,
        command: String,
    },
    Template {
        appid: String,
        body: Value,
    },
}

/// The fake WeChat: cheap to clone, every clone shares one world.
#[derive(Clone, Default)]
pub struct FakeWechat {
    inner: Arc<Inner>,
}

struct Inner {
    world: Mutex<World>,
    deliveries: broadcast::Sender<Delivery>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            world: Mutex::new(World::default()),
            deliveries: broadcast::channel(256).0,
        }
    }
}

impl FakeWechat {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers an account the fake accepts. An unknown appid answers 40013,
    /// a wrong secret 40125.
    pub fn add_account(&self, appid: &str, secret: &str) {
        self.world()
            .accounts
            .insert(appid.to_owned(), secret.to_owned());
    }

    /// The API under WeChat's paths (`/cgi-bin/...`), plus `/fake/video/{media_id}`
    /// where the `video_url` of a video's `media/get` points.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/cgi-bin/token", get(token))
            .route("/cgi-bin/stable_token", post(stable_token))
            .route("/cgi-bin/message/custom/send", post(custom_send))
            .route("/cgi-bin/message/custom/typing", post(custom_typing))
            .route(
                "/cgi-bin/media/upload",
                post(media_upload).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
            )
            .route("/cgi-bin/media/get", get(media_get))
            .route("/fake/video/{media_id}", get(video_download))
            .route("/cgi-bin/user/info", get(user_info))
            .route("/cgi-bin/user/info/updateremark", post(user_update_remark))
            .route("/cgi-bin/user/info/batchget", post(user_batchget))
            .route("/cgi-bin/user/get", get(user_get))
            .route("/cgi-bin/tags/get", get(tags_get))
            .route("/cgi-bin/tags/create", post(tags_create))
            .route("/cgi-bin/tags/update", post(tags_update))
            .route("/cgi-bin/tags/delete", post(tags_delete))
            .route("/cgi-bin/tags/members/batchtagging", post(tags_batch_tag))
            .route(
                "/cgi-bin/tags/members/batchuntagging",
                post(tags_batch_untag),
            )
            .route("/cgi-bin/tags/getidlist", post(tags_of_follower))
            .route("/cgi-bin/user/tag/get", post(tag_followers))
            .route("/cgi-bin/message/template/send", post(template_send))
            .route("/cgi-bin/menu/create", post(menu_create))
            .route("/cgi-bin/menu/get", get(menu_get))
            .route("/cgi-bin/menu/delete", get(menu_delete))
            .route("/cgi-bin/getcallbackip", get(callback_ip))
            .layer(axum::middleware::from_fn_with_state(self.clone(), outage))
            .with_state(self.clone())
    }

    /// Lifetime (`expires_in`) of the tokens issued from now on.
    pub fn set_token_ttl(&self, secs: u64) {
        self.world().token_ttl = secs;
    }

    /// How long a token stays valid after a newer one replaced it (WeChat: a few
    /// minutes; here 0 unless set).
    pub fn set_token_grace(&self, secs: u64) {
        self.world().token_grace = secs;
    }

    /// Invalidates every token issued so far: their next use answers 40001.
    pub fn expire_tokens(&self) {
        for token in self.world().tokens.values_mut() {
            token.fate = Fate::Revoked;
        }
    }

    /// The next `times` customer-service sends are accepted (the follower gets
    /// the message at once) but answered only after `pause`: a WeChat slower
    /// than the client's timeout, or, with a long pause, one that never answers.
    pub fn answer_late(&self, pause: Duration, times: usize) {
        let mut world = self.world();
        world.late.extend(std::iter::repeat_n(pause, times));
    }

    /// While `Some(status)`, every endpoint answers this HTTP status without
    /// doing anything (WeChat down behind its gateway).
    pub fn set_outage(&self, status: Option<u16>) {
        self.world().outage = status;
    }

    /// Requests that reached `getcallbackip` (the probe), answered or not.
    pub fn probe_requests(&self) -> usize {
        self.world().probe_requests
    }

    /// Requests that reached `token` or `stable_token`, failed ones included.
    pub fn token_requests(&self) -> usize {
        self.world().token_requests
    }

    /// The next `times` calls to `api` answer with `failure`; queued after any
    /// failures already waiting for that endpoint.
    pub fn fail_next(&self, api: Api, failure: Failure, times: usize) {
        let mut world = self.world();
        let queue = world.failures.entry(api).or_default();
        queue.extend(std::iter::repeat_n(failure, times));
    }

    /// Customer-service messages accepted, in arrival order.
    pub fn sent(&self) -> Vec<Sent> {
        self.world().sent.clone()
    }

    pub fn sent_to(&self, openid: &str) -> Vec<Sent> {
        self.world()
            .sent
            .iter()
            .filter(|s| s.touser == openid)
            .cloned()
            .collect()
    }

    /// Typing commands accepted, as `(touser, command)`.
    pub fn typing(&self) -> Vec<(String, String)> {
        self.world().typing.clone()
    }

    /// Stores media as if a follower had sent it, servable by `media/get`.
    /// A `video/*` content type is served the way WeChat serves videos (a URL).
    pub fn put_media(&self, media_id: &str, content_type: &str, bytes: Vec<u8>) {
        let kind = if content_type.starts_with("video/") {
            MediaKind::Video
        } else if content_type.starts_with("audio/") {
            MediaKind::Voice
        } else {
            MediaKind::Image
        };
        let media = Media {
            kind,
            content_type: content_type.to_owned(),
            extension: extension_for(content_type).to_owned(),
            bytes: Bytes::from(bytes),
            created: Timestamp::now(),
        };
        self.world().media.insert(media_id.to_owned(), media);
    }

    /// Uploads accepted, as `(media_id, type, length)`.
    pub fn uploaded(&self) -> Vec<(String, String, usize)> {
        self.world().uploaded.clone()
    }

    /// A stored medium's content type and bytes, uploaded or put.
    pub fn media(&self, media_id: &str) -> Option<(String, Bytes)> {
        let world = self.world();
        let media = world.media.get(media_id)?;
        Some((media.content_type.clone(), media.bytes.clone()))
    }

    /// Adds (or updates, and re-subscribes) a follower of `appid`. Tag ids the
    /// account does not have yet are created with a placeholder name.
    pub fn add_follower(&self, appid: &str, openid: &str, remark: &str, tags: &[i64]) {
        let mut world = self.world();
        for &id in tags {
            world.ensure_tag(appid, id);
        }
        let followers = world.followers.entry(appid.to_owned()).or_default();
        let follower = Follower {
            openid: openid.to_owned(),
            remark: remark.to_owned(),
            tags: tags.to_vec(),
            subscribed: true,
            subscribe_time: Timestamp::now(),
        };
        match followers.iter_mut().find(|f| f.openid == openid) {
            Some(existing) => *existing = follower,
            None => followers.push(follower),
        }
    }

    /// Adds the follower unless the fake knows them already (as they are).
    pub fn ensure_follower(&self, appid: &str, openid: &str) {
        if self.world().follower(appid, openid).is_none() {
            self.add_follower(appid, openid, "", &[]);
        }
    }

    /// The follower unfollows: `user/get` leaves them out, `user/info` answers
    /// `subscribe: 0`, and messages to them answer 43004.
    pub fn remove_follower(&self, appid: &str, openid: &str) {
        let mut world = self.world();
        if let Some(follower) = world.follower_mut(appid, openid) {
            follower.subscribed = false;
            follower.tags.clear();
        }
    }

    /// Page size of `user/get` and `user/tag/get` (WeChat: 10,000), so tests can
    /// page through a handful of followers.
    pub fn set_page_size(&self, size: usize) {
        self.world().page_size = size.max(1);
    }

    /// Template messages accepted, each the JSON body as received.
    pub fn templates_sent(&self) -> Vec<Value> {
        self.world()
            .templates
            .iter()
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// The menu last created for `appid`, as posted.
    pub fn menu(&self, appid: &str) -> Option<Value> {
        self.world().menus.get(appid).cloned()
    }

    /// Switches the 48-hour window emulation: when on, `custom/send` to a follower
    /// without an interaction in the last 48 hours answers 45015, and more than
    /// `quota` messages since their last interaction answer 45047. Typing needs
    /// the window too but does not count against the quota.
    pub fn set_window_rules(&self, on: bool, quota: usize) {
        self.world().window_quota = on.then_some(quota);
    }

    /// The follower wrote, clicked or scanned: opens the window and resets the quota.
    pub fn record_interaction(&self, appid: &str, openid: &str) {
        let interaction = Interaction {
            at: Timestamp::now(),
            sent: 0,
        };
        self.world()
            .interactions
            .insert((appid.to_owned(), openid.to_owned()), interaction);
    }

    /// Everything that reaches followers from now on (messages, typing, templates).
    pub fn watch(&self) -> broadcast::Receiver<Delivery> {
        self.inner.deliveries.subscribe()
    }

    fn world(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner
            .world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn deliver(&self, delivery: Delivery) {
        // No receiver is the normal case outside the simulator.
        self.inner.deliveries.send(delivery).ok();
    }

    /// Plays the next injected failure for `api`, if any: an error answers
    /// instead of the endpoint, a delay holds the request and lets it through.
    async fn injected(&self, api: Api) -> Result<(), Answer> {
        let next = self
            .world()
            .failures
            .get_mut(&api)
            .and_then(VecDeque::pop_front);
        match next {
            None => Ok(()),
            Some(Failure::Delay(pause)) => {
                tokio::time::sleep(pause).await;
                Ok(())
            }
            Some(Failure::ErrCode(code)) => Err(Answer::Code(code)),
            Some(Failure::Http(status)) => Err(Answer::Http(status)),
        }
    }

    /// Injected failures first, then the access token; gives the caller's appid.
    async fn admit(&self, api: Api, params: &Params) -> Result<String, Answer> {
        self.injected(api).await?;
        let token = params.get("access_token").map(String::as_str);
        Ok(self.world().check_token(token, Timestamp::now())?)
    }
}

// ---------------------------------------------------------------------------
// The world and its rules: plain synchronous code over `&mut World`.
// ---------------------------------------------------------------------------

struct World {
    accounts: HashMap<String, String>,
    tokens: HashMap<String, IssuedToken>,
    token_ttl: u64,
    token_grace: u64,
    token_requests: usize,
    tokens_issued: u64,
    failures: HashMap<Api, VecDeque<Failure>>,
    /// Pauses before answering the next accepted sends ([`FakeWechat::answer_late`]).
    late: VecDeque<Duration>,
    outage: Option<u16>,
    probe_requests: usize,
    sent: Vec<Sent>,
    typing: Vec<(String, String)>,
    media: HashMap<String, Media>,
    uploaded: Vec<(String, String, usize)>,
    /// Per appid, in the order they followed (the order `user/get` pages in).
    followers: HashMap<String, Vec<Follower>>,
    tags: HashMap<String, Vec<Tag>>,
    templates: Vec<(i64, Value)>,
    menus: HashMap<String, Value>,
    /// `Some(quota)` when the window rules are on.
    window_quota: Option<usize>,
    interactions: HashMap<(String, String), Interaction>,
    page_size: usize,
}

impl Default for World {
    fn default() -> Self {
        World {
            accounts: HashMap::new(),
            tokens: HashMap::new(),
            token_ttl: DEFAULT_TOKEN_TTL_SECS,
            token_grace: 0,
            token_requests: 0,
            tokens_issued: 0,
            failures: HashMap::new(),
            late: VecDeque::new(),
            outage: None,
            probe_requests: 0,
            sent: Vec::new(),
            typing: Vec::new(),
            media: HashMap::new(),
            uploaded: Vec::new(),
            followers: HashMap::new(),
            tags: HashMap::new(),
            templates: Vec::new(),
            menus: HashMap::new(),
            window_quota: None,
            interactions: HashMap::new(),
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// `token` and `stable_token` hand out independent tokens, as WeChat does:
/// fetching one kind never invalidates the other.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pool {
    Plain,
    Stable,
}

struct IssuedToken {
    appid: String,
    pool: Pool,
    issued: Timestamp,
    ttl: SignedDuration,
    fate: Fate,
}

enum Fate {
    Live,
    /// A newer token was issued at `at`; this one keeps working for `grace`.
    Superseded {
        at: Timestamp,
        grace: SignedDuration,
    },
    Revoked,
}

impl IssuedToken {
    fn remaining(&self, now: Timestamp) -> SignedDuration {
        self.ttl - now.duration_since(self.issued)
    }
}

struct Media {
    kind: MediaKind,
    content_type: String,
    extension: String,
    bytes: Bytes,
    created: Timestamp,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MediaKind {
    Image,
    Voice,
    Video,
    Thumb,
}

impl MediaKind {
    fn parse(value: &str) -> Option<Self> {
        match value {
            "image" => Some(MediaKind::Image),
            "voice" => Some(MediaKind::Voice),
            "video" => Some(MediaKind::Video),
            "thumb" => Some(MediaKind::Thumb),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Voice => "voice",
            MediaKind::Video => "video",
            MediaKind::Thumb => "thumb",
        }
    }

    /// WeChat's size limit and the errcode for exceeding it.
    fn limit(self) -> (usize, i64) {
        match self {
            MediaKind::Image => (2 * 1024 * 1024, 40009),
            MediaKind::Voice => (2 * 1024 * 1024, 40010),
            MediaKind::Video => (10 * 1024 * 1024, 40011),
            MediaKind::Thumb => (64 * 1024, 40012),
        }
    }

    /// File-name extensions WeChat accepts for the type (it judges by the name).
    fn extensions(self) -> &'static [&'static str] {
        match self {
            MediaKind::Image => &["jpg", "jpeg", "png", "gif", "bmp"],
            MediaKind::Voice => &["amr", "mp3"],
            MediaKind::Video => &["mp4"],
            MediaKind::Thumb => &["jpg", "jpeg"],
        }
    }
}

struct Follower {
    openid: String,
    remark: String,
    tags: Vec<i64>,
    subscribed: bool,
    subscribe_time: Timestamp,
}

struct Tag {
    id: i64,
    name: String,
}

struct Interaction {
    at: Timestamp,
    /// Customer-service messages sent since `at`.
    sent: usize,
}

impl World {
    fn check_credentials(&self, appid: Option<&str>, secret: Option<&str>) -> Result<String, i64> {
        let appid = appid.filter(|a| !a.is_empty()).ok_or(41002)?;
        let secret = secret.filter(|s| !s.is_empty()).ok_or(41004)?;
        let expected = self.accounts.get(appid).ok_or(40013)?;
        if expected != secret {
            return Err(40125);
        }
        Ok(appid.to_owned())
    }

    fn check_token(&self, token: Option<&str>, now: Timestamp) -> Result<String, i64> {
        let token = token.filter(|t| !t.is_empty()).ok_or(41001)?;
        let issued = self.tokens.get(token).ok_or(40001)?;
        match issued.fate {
            Fate::Revoked => return Err(40001),
            Fate::Superseded { at, grace } if now.duration_since(at) >= grace => return Err(40001),
            Fate::Live | Fate::Superseded { .. } => {}
        }
        if issued.remaining(now) <= SignedDuration::ZERO {
            return Err(42001);
        }
        Ok(issued.appid.clone())
    }

    /// A fresh token for `appid`; with `supersede`, the pool's older tokens stop
    /// working once the grace has passed.
    fn issue(&mut self, appid: &str, pool: Pool, supersede: bool, now: Timestamp) -> (String, u64) {
        let grace = secs(self.token_grace);
        if supersede {
            for token in self.tokens.values_mut() {
                if token.appid == appid && token.pool == pool && matches!(token.fate, Fate::Live) {
                    token.fate = Fate::Superseded { at: now, grace };
                }
            }
        }
        // Forget tokens long dead, so a long-running simulator does not grow.
        self.tokens
            .retain(|_, t| t.remaining(now) > -SignedDuration::from_hours(24));
        self.tokens_issued += 1;
        let token = format!("{}_{}", self.tokens_issued, random_id(TOKEN_RANDOM_LEN));
        let issued = IssuedToken {
            appid: appid.to_owned(),
            pool,
            issued: now,
            ttl: secs(self.token_ttl),
            fate: Fate::Live,
        };
        self.tokens.insert(token.clone(), issued);
        (token, self.token_ttl)
    }

    /// `stable_token`: the same token while it is valid, a new one in its last
    /// twenty-fourth of life (WeChat: the last 5 of 120 minutes) or on
    /// `force_refresh`; a natural renewal leaves the old token valid to its end.
    fn stable_token(&mut self, appid: &str, force: bool, now: Timestamp) -> (String, u64) {
        if !force {
            let current = self
                .tokens
                .iter()
                .filter(|(_, t)| t.appid == appid && t.pool == Pool::Stable)
                .filter(|(_, t)| matches!(t.fate, Fate::Live))
                .filter(|(_, t)| t.remaining(now) > t.ttl / 24)
                .max_by_key(|(_, t)| t.issued);
            if let Some((token, issued)) = current {
                let left = u64::try_from(issued.remaining(now).as_secs()).unwrap_or(0);
                return (token.clone(), left);
            }
        }
        self.issue(appid, Pool::Stable, force, now)
    }

    fn followers_of(&self, appid: &str) -> &[Follower] {
        self.followers
            .get(appid)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    fn follower(&self, appid: &str, openid: &str) -> Option<&Follower> {
        self.followers_of(appid).iter().find(|f| f.openid == openid)
    }

    fn follower_mut(&mut self, appid: &str, openid: &str) -> Option<&mut Follower> {
        self.followers
            .get_mut(appid)?
            .iter_mut()
            .find(|f| f.openid == openid)
    }

    /// Messages may go to any openid, except one known to have unfollowed.
    fn check_following(&self, appid: &str, openid: &str) -> Result<(), i64> {
        match self.follower(appid, openid) {
            Some(follower) if !follower.subscribed => Err(43004),
            _ => Ok(()),
        }
    }

    /// The 48-hour window and, with `count`, its quota (spending one message).
    fn check_window(
        &mut self,
        appid: &str,
        openid: &str,
        count: bool,
        now: Timestamp,
    ) -> Result<(), i64> {
        let Some(quota) = self.window_quota else {
            return Ok(());
        };
        let key = (appid.to_owned(), openid.to_owned());
        let interaction = self.interactions.get_mut(&key).ok_or(45015)?;
        if now.duration_since(interaction.at) > INTERACTION_WINDOW {
            return Err(45015);
        }
        if count {
            if interaction.sent >= quota {
                return Err(45047);
            }
            interaction.sent += 1;
        }
        Ok(())
    }

    fn check_media(&self, media_id: Option<&str>, now: Timestamp) -> Result<&Media, i64> {
        let media = media_id.and_then(|id| self.media.get(id)).ok_or(40007)?;
        if now.duration_since(media.created) > MEDIA_LIFETIME {
            return Err(40007);
        }
        Ok(media)
    }

    fn custom_send(&mut self, appid: &str, raw: &[u8], now: Timestamp) -> Result<Sent, i64> {
        let body = parse_object(raw)?;
        let touser = text(&body, "touser").ok_or(40003)?;
        let msgtype = text(&body, "msgtype").ok_or(40008)?;
        let Some(message) = body.get(msgtype) else {
            return Err(if KNOWN_MSGTYPES.contains(&msgtype) {
                47001
            } else {
                40008
            });
        };
        if !message.is_object() {
            return Err(47001);
        }
        match msgtype {
            "text" => {
                text(message, "content").ok_or(44004)?;
            }
            "image" | "voice" | "video" => {
                self.check_media(text(message, "media_id"), now)?;
            }
            "music" => {
                text(message, "thumb_media_id").ok_or(41006)?;
            }
            "news" => match message.get("articles").and_then(Value::as_array) {
                None => return Err(44003),
                Some(articles) if articles.is_empty() => return Err(44003),
                Some(articles) if articles.len() > 1 => return Err(45008),
                Some(_) => {}
            },
            "mpnews" => {
                text(message, "media_id").ok_or(40007)?;
            }
            "mpnewsarticle" => {
                text(message, "article_id").ok_or(47001)?;
            }
            "msgmenu" => {
                let list = message.get("list").and_then(Value::as_array);
                if list.is_none_or(|items| items.is_empty()) {
                    return Err(47001);
                }
            }
            "wxcard" => {
                text(message, "card_id").ok_or(47001)?;
            }
            "miniprogrampage" => {
                text(message, "appid").ok_or(47001)?;
                text(message, "pagepath").ok_or(47001)?;
            }
            _ => return Err(40008),
        }
        self.check_following(appid, touser)?;
        self.check_window(appid, touser, true, now)?;
        let sent = Sent {
            appid: appid.to_owned(),
            touser: touser.to_owned(),
            msgtype: msgtype.to_owned(),
            raw: String::from_utf8_lossy(raw).into_owned(),
            body: body.clone(),
            at: now,
        };
        self.sent.push(sent.clone());
        trim(&mut self.sent);
        Ok(sent)
    }

    fn custom_typing(
        &mut self,
        appid: &str,
        raw: &[u8],
        now: Timestamp,
    ) -> Result<(String, String), i64> {
        let body = parse_object(raw)?;
        let touser = text(&body, "touser").ok_or(40003)?;
        let command = text(&body, "command").ok_or(47001)?;
        if command != "Typing" && command != "CancelTyping" {
            return Err(47001);
        }
        self.check_following(appid, touser)?;
        self.check_window(appid, touser, false, now)?;
        let entry = (touser.to_owned(), command.to_owned());
        self.typing.push(entry.clone());
        trim(&mut self.typing);
        Ok(entry)
    }

    fn upload(
        &mut self,
        kind: MediaKind,
        file: FilePart<'_>,
        now: Timestamp,
    ) -> Result<String, i64> {
        let filename = file.filename.filter(|n| !n.is_empty()).ok_or(41005)?;
        let extension = filename
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .ok_or(40005)?;
        if !kind.extensions().contains(&extension.as_str()) {
            return Err(40005);
        }
        let (limit, too_big) = kind.limit();
        if file.data.is_empty() {
            return Err(41005);
        }
        if file.data.len() > limit {
            return Err(too_big);
        }
        let media_id = loop {
            let candidate = random_id(MEDIA_ID_LEN);
            if !self.media.contains_key(&candidate) {
                break candidate;
            }
        };
        let media = Media {
            kind,
            content_type: content_type_for(&extension).to_owned(),
            extension,
            bytes: Bytes::copy_from_slice(file.data),
            created: now,
        };
        // Temporary media lives 3 days at WeChat; the fake keeps it no longer.
        self.media
            .retain(|_, m| now.duration_since(m.created) < jiff::SignedDuration::from_hours(72));
        self.media.insert(media_id.clone(), media);
        self.uploaded
            .push((media_id.clone(), kind.as_str().to_owned(), file.data.len()));
        trim(&mut self.uploaded);
        Ok(media_id)
    }

    fn user_info(&self, appid: &str, openid: &str) -> Result<Value, i64> {
        let follower = self.follower(appid, openid).ok_or(40003)?;
        if !follower.subscribed {
            return Ok(json!({"subscribe": 0, "openid": follower.openid}));
        }
        Ok(json!({
            "subscribe": 1,
            "openid": follower.openid,
            "language": "zh_CN",
            "subscribe_time": follower.subscribe_time.as_second(),
            "remark": follower.remark,
            "groupid": 0,
            "tagid_list": follower.tags,
            "subscribe_scene": "ADD_SCENE_QR_CODE",
            "qr_scene": 0,
            "qr_scene_str": "",
        }))
    }

    fn batchget(&self, appid: &str, raw: &[u8]) -> Result<Value, i64> {
        let body = parse_object(raw)?;
        let list = body
            .get("user_list")
            .and_then(Value::as_array)
            .ok_or(47001)?;
        if list.is_empty() {
            return Err(47001);
        }
        if list.len() > BATCHGET_MAX {
            return Err(40032);
        }
        let infos = list
            .iter()
            .map(|item| self.user_info(appid, text(item, "openid").ok_or(40003)?))
            .collect::<Result<Vec<_>, i64>>()?;
        Ok(json!({ "user_info_list": infos }))
    }

    fn update_remark(&mut self, appid: &str, raw: &[u8]) -> Result<(), i64> {
        let body = parse_object(raw)?;
        let openid = text(&body, "openid").ok_or(40003)?;
        let remark = body
            .get("remark")
            .and_then(Value::as_str)
            .ok_or(47001)?
            .to_owned();
        let follower = self
            .follower_mut(appid, openid)
            .filter(|f| f.subscribed)
            .ok_or(40003)?;
        follower.remark = remark;
        Ok(())
    }

    /// One `user/get`-shaped page of `openids` after `next_openid`.
    fn page(&self, openids: Vec<&str>, next_openid: Option<&str>) -> Result<Value, i64> {
        let start = match next_openid.filter(|n| !n.is_empty()) {
            None => 0,
            Some(after) => openids.iter().position(|o| *o == after).ok_or(40003)? + 1,
        };
        let page: Vec<&str> = openids
            .iter()
            .skip(start)
            .take(self.page_size)
            .copied()
            .collect();
        if page.is_empty() {
            return Ok(json!({"total": openids.len(), "count": 0, "next_openid": ""}));
        }
        Ok(json!({
            "total": openids.len(),
            "count": page.len(),
            "data": {"openid": page},
            "next_openid": page.last().copied().unwrap_or_default(),
        }))
    }

    fn user_get(&self, appid: &str, next_openid: Option<&str>) -> Result<Value, i64> {
        let openids = self
            .followers_of(appid)
            .iter()
            .filter(|f| f.subscribed)
            .map(|f| f.openid.as_str())
            .collect();
        self.page(openids, next_openid)
    }

    fn tags_of(&mut self, appid: &str) -> &mut Vec<Tag> {
        self.tags.entry(appid.to_owned()).or_insert_with(|| {
            vec![Tag {
                id: STAR_TAG.0,
                name: STAR_TAG.1.to_owned(),
            }]
        })
    }

    fn ensure_tag(&mut self, appid: &str, id: i64) {
        let tags = self.tags_of(appid);
        if !tags.iter().any(|t| t.id == id) {
            tags.push(Tag {
                id,
                name: format!("tag {id}"),
            });
        }
    }

    fn has_tag(&mut self, appid: &str, id: i64) -> bool {
        self.tags_of(appid).iter().any(|t| t.id == id)
    }

    fn tags_list(&mut self, appid: &str) -> Value {
        let ids: Vec<(i64, String)> = self
            .tags_of(appid)
            .iter()
            .map(|t| (t.id, t.name.clone()))
            .collect();
        let followers = self.followers_of(appid);
        let tags: Vec<Value> = ids
            .into_iter()
            .map(|(id, name)| {
                let count = followers
                    .iter()
                    .filter(|f| f.subscribed && f.tags.contains(&id))
                    .count();
                json!({"id": id, "name": name, "count": count})
            })
            .collect();
        json!({ "tags": tags })
    }

    fn check_tag_name(
        &mut self,
        appid: &str,
        name: Option<&str>,
        except: Option<i64>,
    ) -> Result<String, i64> {
        let name = name.map(str::trim).filter(|n| !n.is_empty()).ok_or(45157)?;
        if name.len() > 30 {
            return Err(45158);
        }
        if self
            .tags_of(appid)
            .iter()
            .any(|t| t.name == name && Some(t.id) != except)
        {
            return Err(45157);
        }
        Ok(name.to_owned())
    }

    fn tags_create(&mut self, appid: &str, raw: &[u8]) -> Result<Value, i64> {
        let body = parse_object(raw)?;
        let name = self.check_tag_name(
            appid,
            body.pointer("/tag/name").and_then(Value::as_str),
            None,
        )?;
        let tags = self.tags_of(appid);
        if tags.iter().filter(|t| t.id > SYSTEM_TAG_MAX).count() >= TAGS_PER_ACCOUNT_MAX {
            return Err(45056);
        }
        let id = tags
            .iter()
            .map(|t| t.id + 1)
            .max()
            .unwrap_or(FIRST_TAG_ID)
            .max(FIRST_TAG_ID);
        tags.push(Tag {
            id,
            name: name.clone(),
        });
        Ok(json!({"tag": {"id": id, "name": name}}))
    }

    /// The id of an existing tag the body names under `/tag/id` (or `tagid`),
    /// refusing WeChat's own tags when `editable`.
    fn named_tag(&mut self, appid: &str, body: &Value, editable: bool) -> Result<i64, i64> {
        let id = body
            .pointer("/tag/id")
            .or_else(|| body.get("tagid"))
            .and_then(Value::as_i64)
            .ok_or(47001)?;
        if editable && (0..=SYSTEM_TAG_MAX).contains(&id) {
            return Err(45058);
        }
        if !self.has_tag(appid, id) {
            return Err(45159);
        }
        Ok(id)
    }

    fn tags_update(&mut self, appid: &str, raw: &[u8]) -> Result<(), i64> {
        let body = parse_object(raw)?;
        let id = self.named_tag(appid, &body, true)?;
        let name = self.check_tag_name(
            appid,
            body.pointer("/tag/name").and_then(Value::as_str),
            Some(id),
        )?;
        if let Some(tag) = self.tags_of(appid).iter_mut().find(|t| t.id == id) {
            tag.name = name;
        }
        Ok(())
    }

    fn tags_delete(&mut self, appid: &str, raw: &[u8]) -> Result<(), i64> {
        let body = parse_object(raw)?;
        let id = self.named_tag(appid, &body, true)?;
        self.tags_of(appid).retain(|t| t.id != id);
        for follower in self.followers.get_mut(appid).into_iter().flatten() {
            follower.tags.retain(|t| *t != id);
        }
        Ok(())
    }

    /// Tags or untags every listed follower, or none of them.
    fn tags_batch(&mut self, appid: &str, raw: &[u8], tagging: bool) -> Result<(), i64> {
        let body = parse_object(raw)?;
        let id = self.named_tag(appid, &body, false)?;
        let list = body
            .get("openid_list")
            .and_then(Value::as_array)
            .ok_or(47001)?;
        if list.is_empty() {
            return Err(47001);
        }
        if list.len() > TAGGING_MAX {
            return Err(40032);
        }
        let openids: Vec<&str> = list
            .iter()
            .map(|o| o.as_str().ok_or(40003))
            .collect::<Result<_, _>>()?;
        for openid in &openids {
            let follower = self
                .follower(appid, openid)
                .filter(|f| f.subscribed)
                .ok_or(40003)?;
            if tagging
                && !follower.tags.contains(&id)
                && follower.tags.len() >= TAGS_PER_FOLLOWER_MAX
            {
                return Err(45059);
            }
        }
        for openid in openids {
            if let Some(follower) = self.follower_mut(appid, openid) {
                follower.tags.retain(|t| *t != id);
                if tagging {
                    follower.tags.push(id);
                }
            }
        }
        Ok(())
    }

    fn tags_of_follower(&self, appid: &str, raw: &[u8]) -> Result<Value, i64> {
        let body = parse_object(raw)?;
        let openid = text(&body, "openid").ok_or(40003)?;
        let follower = self
            .follower(appid, openid)
            .filter(|f| f.subscribed)
            .ok_or(40003)?;
        Ok(json!({ "tagid_list": follower.tags }))
    }

    fn tag_followers(&mut self, appid: &str, raw: &[u8]) -> Result<Value, i64> {
        let body = parse_object(raw)?;
        let id = self.named_tag(appid, &body, false)?;
        let openids = self
            .followers_of(appid)
            .iter()
            .filter(|f| f.subscribed && f.tags.contains(&id))
            .map(|f| f.openid.as_str())
            .collect();
        let mut page = self.page(openids, text(&body, "next_openid"))?;
        if let Some(fields) = page.as_object_mut() {
            // `user/tag/get` has no total.
            fields.remove("total");
        }
        Ok(page)
    }

    fn template_send(&mut self, appid: &str, raw: &[u8]) -> Result<(i64, Value), i64> {
        let body = parse_object(raw)?;
        let touser = text(&body, "touser").ok_or(40003)?;
        text(&body, "template_id").ok_or(40037)?;
        if body.get("data").is_some_and(|data| !data.is_object()) {
            return Err(47001);
        }
        self.check_following(appid, touser)?;
        let msgid = FIRST_TEMPLATE_MSGID + i64::try_from(self.templates.len()).unwrap_or(0);
        self.templates.push((msgid, body.clone()));
        Ok((msgid, body))
    }

    fn menu_create(&mut self, appid: &str, raw: &[u8]) -> Result<(), i64> {
        let body = parse_object(raw)?;
        check_menu(&body)?;
        self.menus.insert(appid.to_owned(), body);
        Ok(())
    }
}

const KNOWN_MSGTYPES: &[&str] = &[
    "text",
    "image",
    "voice",
    "video",
    "music",
    "news",
    "mpnews",
    "mpnewsarticle",
    "msgmenu",
    "wxcard",
    "miniprogrampage",
];

const BUTTON_TYPES: &[&str] = &[
    "click",
    "view",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
    "media_id",
    "view_limited",
    "article_id",
    "article_view_limited",
    "miniprogram",
];

/// `menu/create`'s rules: 1–3 buttons, each a leaf or 1–5 sub-buttons; names
/// of at most 16 bytes (60 for sub-buttons); keys of at most 128 bytes and URLs
/// of at most 1024. Errcodes differ for top-level and sub-buttons, as WeChat's do.
fn check_menu(body: &Value) -> Result<(), i64> {
    let buttons = body.get("button").and_then(Value::as_array).ok_or(40016)?;
    if buttons.is_empty() || buttons.len() > 3 {
        return Err(40016);
    }
    for button in buttons {
        let name = button
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if name.is_empty() || name.len() > 16 {
            return Err(40018);
        }
        let subs = button
            .get("sub_button")
            .and_then(Value::as_array)
            .filter(|s| !s.is_empty());
        match subs {
            None => check_leaf(button, [40017, 40019, 40020])?,
            Some(subs) if subs.len() > 5 => return Err(40023),
            Some(subs) => {
                for sub in subs {
                    let name = sub.get("name").and_then(Value::as_str).unwrap_or_default();
                    if name.is_empty() || name.len() > 60 {
                        return Err(40025);
                    }
                    check_leaf(sub, [40024, 40026, 40027])?;
                }
            }
        }
    }
    Ok(())
}

/// A leaf button's type and what that type needs; `codes` are the errcodes for
/// a bad type, key and URL.
fn check_leaf(button: &Value, [bad_type, bad_key, bad_url]: [i64; 3]) -> Result<(), i64> {
    let kind = text(button, "type")
        .filter(|t| BUTTON_TYPES.contains(t))
        .ok_or(bad_type)?;
    let within = |field: &str, max: usize| text(button, field).is_some_and(|v| v.len() <= max);
    match kind {
        "view" if !within("url", 1024) => Err(bad_url),
        "miniprogram" if !within("url", 1024) => Err(bad_url),
        "miniprogram" if !within("appid", 64) || !within("pagepath", 1024) => Err(47001),
        "media_id" | "view_limited" if !within("media_id", 128) => Err(40007),
        "article_id" | "article_view_limited" if !within("article_id", 128) => Err(47001),
        "view"
        | "miniprogram"
        | "media_id"
        | "view_limited"
        | "article_id"
        | "article_view_limited" => Ok(()),
        _ if !within("key", 128) => Err(bad_key),
        _ => Ok(()),
    }
}

/// `menu/get`'s shape: the menu as created, every leaf given an empty `sub_button`.
fn menu_as_served(menu: &Value) -> Value {
    let mut menu = menu.clone();
    for button in menu
        .get_mut("button")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let has_subs = button
            .get("sub_button")
            .and_then(Value::as_array)
            .is_some_and(|s| !s.is_empty());
        if has_subs {
            for sub in button
                .get_mut("sub_button")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(fields) = sub.as_object_mut() {
                    fields.insert("sub_button".to_owned(), json!([]));
                }
            }
        } else if let Some(fields) = button.as_object_mut() {
            fields.insert("sub_button".to_owned(), json!([]));
        }
    }
    json!({ "menu": menu })
}

// ---------------------------------------------------------------------------
// HTTP: thin handlers over the world.
// ---------------------------------------------------------------------------

type Params = HashMap<String, String>;
type Reply = Result<Response, Answer>;

/// An answer other than success: WeChat's errcode JSON, or an injected HTTP status.
enum Answer {
    Code(i64),
    Http(u16),
}

impl From<i64> for Answer {
    fn from(code: i64) -> Self {
        Answer::Code(code)
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        match self {
            Answer::Code(code) => Json(error_body(code)).into_response(),
            Answer::Http(status) => {
                let code =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (code, format!("fake wechat: injected HTTP {status}")).into_response()
            }
        }
    }
}

fn ok() -> Reply {
    Ok(Json(json!({"errcode": 0, "errmsg": "ok"})).into_response())
}

fn reply(body: Value) -> Reply {
    Ok(Json(body).into_response())
}

async fn token(State(fake): State<FakeWechat>, Query(params): Query<Params>) -> Reply {
    fake.world().token_requests += 1;
    fake.injected(Api::Token).await?;
    let mut world = fake.world();
    if params.get("grant_type").map(String::as_str) != Some("client_credential") {
        return Err(Answer::Code(40002));
    }
    let appid = world.check_credentials(
        params.get("appid").map(String::as_str),
        params.get("secret").map(String::as_str),
    )?;
    let (token, expires_in) = world.issue(&appid, Pool::Plain, true, Timestamp::now());
    reply(json!({"access_token": token, "expires_in": expires_in}))
}

async fn stable_token(State(fake): State<FakeWechat>, body: Bytes) -> Reply {
    fake.world().token_requests += 1;
    fake.injected(Api::Token).await?;
    let body = parse_object(&body)?;
    if text(&body, "grant_type") != Some("client_credential") {
        return Err(Answer::Code(40002));
    }
    let force = body
        .get("force_refresh")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut world = fake.world();
    let appid = world.check_credentials(text(&body, "appid"), text(&body, "secret"))?;
    let (token, expires_in) = world.stable_token(&appid, force, Timestamp::now());
    reply(json!({"access_token": token, "expires_in": expires_in}))
}

async fn custom_send(
    State(fake): State<FakeWechat>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Reply {
    let appid = fake.admit(Api::CustomSend, &params).await?;
    let sent = fake.world().custom_send(&appid, &body, Timestamp::now())?;
    fake.deliver(Delivery::Message(sent));
    let late = fake.world().late.pop_front();
    if let Some(pause) = late {
        tokio::time::sleep(pause).await;
    }
    ok()
}

/// `getcallbackip`: WeChat's server addresses; without a token 41001 (which
/// is what kefu's probe asks, to learn whether the API answers at all).
async fn callback_ip(State(fake): State<FakeWechat>, Query(params): Query<Params>) -> Reply {
    fake.world().probe_requests += 1;
    let token = params.get("access_token").map(String::as_str);
    fake.world().check_token(token, Timestamp::now())?;
    reply(json!({"ip_list": ["127.0.0.1"]}))
}

/// Every endpoint answers the outage's status while one is set.
async fn outage(
    State(fake): State<FakeWechat>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let down = fake.world().outage;
    match down {
        Some(status) => {
            if request.uri().path().ends_with("/getcallbackip") {
                fake.world().probe_requests += 1;
            }
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            (status, "service unavailable").into_response()
        }
        None => next.run(request).await,
    }
}

async fn custom_typing(
    State(fake): State<FakeWechat>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Reply {
    let appid = fake.admit(Api::Typing, &params).await?;
    let (touser, command) = fake
        .world()
        .custom_typing(&appid, &body, Timestamp::now())?;
    fake.deliver(Delivery::Typing {
        appid,
        touser,
        command,
    });
    ok()
}

async fn media_upload(
    State(fake): State<FakeWechat>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    fake.admit(Api::MediaUpload, &params).await?;
    let kind = params
        .get("type")
        .and_then(|t| MediaKind::parse(t))
        .ok_or(40004)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let file = multipart_file(content_type, &body, "media").ok_or(41005)?;
    let now = Timestamp::now();
    let media_id = fake.world().upload(kind, file, now)?;
    // WeChat names a thumbnail's id `thumb_media_id`.
    let id_field = if kind == MediaKind::Thumb {
        "thumb_media_id"
    } else {
        "media_id"
    };
    reply(json!({"type": kind.as_str(), id_field: media_id, "created_at": now.as_second()}))
}

async fn media_get(
    State(fake): State<FakeWechat>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Reply {
    fake.admit(Api::MediaGet, &params).await?;
    let media_id = params
        .get("media_id")
        .filter(|id| !id.is_empty())
        .ok_or(41006)?;
    let (kind, content_type, extension, bytes) = {
        let world = fake.world();
        let media = world.check_media(Some(media_id), Timestamp::now())?;
        (
            media.kind,
            media.content_type.clone(),
            media.extension.clone(),
            media.bytes.clone(),
        )
    };
    if kind == MediaKind::Video {
        // WeChat answers a video with a download URL instead of the bytes.
        let prefix = uri
            .path()
            .strip_suffix("/cgi-bin/media/get")
            .unwrap_or_default();
        let header_text = |name| {
            headers
                .get(name)
                .and_then(|h: &HeaderValue| h.to_str().ok())
        };
        let host = header_text(header::HOST).unwrap_or("127.0.0.1");
        // Behind a TLS-terminating proxy the request itself says plain HTTP.
        let scheme = header_text(header::HeaderName::from_static("x-forwarded-proto"))
            .filter(|p| *p == "https")
            .unwrap_or("http");
        let video_url = format!("{scheme}://{host}{prefix}/fake/video/{media_id}");
        return reply(json!({ "video_url": video_url }));
    }
    Ok(media_response(media_id, &content_type, &extension, bytes))
}

async fn video_download(State(fake): State<FakeWechat>, Path(media_id): Path<String>) -> Response {
    let found = {
        let world = fake.world();
        world
            .check_media(Some(&media_id), Timestamp::now())
            .map(|m| (m.content_type.clone(), m.extension.clone(), m.bytes.clone()))
    };
    match found {
        Ok((content_type, extension, bytes)) => {
            media_response(&media_id, &content_type, &extension, bytes)
        }
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

fn media_response(media_id: &str, content_type: &str, extension: &str, bytes: Bytes) -> Response {
    let disposition = format!("attachment; filename=\"{media_id}.{extension}\"");
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn user_info(State(fake): State<FakeWechat>, Query(params): Query<Params>) -> Reply {
    let appid = fake.admit(Api::UserInfo, &params).await?;
    let openid = params
        .get("openid")
        .filter(|o| !o.is_empty())
        .ok_or(40003)?;
    reply(fake.world().user_info(&appid, openid)?)
}

async fn user_update_remark(
    State(fake): State<FakeWechat>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Reply {
    let appid = fake.admit(Api::UserInfo, &params).await?;
    fake.world().update_remark(&appid, &body)?;
    ok()
}

async fn user_batchget(
    State(fake): State<FakeWechat>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Reply {
    let appid = fake.admit(Api::BatchGet, &params).await?;
    reply(fake.world().batchget(&appid, &body)?)
}

async fn user_get(State(fake): State<FakeWechat>, Query(params): Query<Params>) -> Reply {
    let appid = fake.admit(Api::UserGet, &params).await?;
    let next = params.get("next_openid").map(String::as_str);
    reply(fake.world().user_get(&appid, next)?)
}

async fn tags_get(State(fake): State<FakeWechat>, Query(params): Query<Params>) -> Reply {
    let appid = fake.admit(Api::Tags, &params).await?;
    reply(fake.world().tags_list(&appid))
}

async fn tags_create(
    State(fake): State<FakeWechat>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Reply {
    let appid = fake.admit(Api::Tags, &params).await?;
    reply(fake.world().tags_create(&appid, &body)?)
}

async fn tags_update(
    State(fake): State<FakeWechat>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Reply {
    let appid = fake.admit(Api::Tags, &params).await?;
    fake.world().tags_update(&appid, &body)?;
    ok()
}

async fn tags_delete(
    State(fake): State<FakeWechat>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Reply {
    let appid = fake.admit(Api::Tags, &params).await?;
    fake.world().tags_delete(&appid, &body)?;
    ok()
}

async fn tags_batch_tag(
    State(fake): State<FakeWechat>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Reply {
    let appid = fake.admit(Api::Tags, &params).await?;
    fake.world().tags_batch(&appid, &body, true)?;
    ok()
}

async fn tags_batch_untag(
    State(fake): State<FakeWechat>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Reply {
    let appid = fake.admit(Api::Tags, &params).await?;
    fake.world().tags_batch(&appid, &body, false)?;
    ok()
}

async fn tags_of_follower(
    State(fake): State<FakeWechat>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Reply {
    let appid = fake.admit(Api::Tags, &params).await?;
    reply(fake.world().tags_of_follower(&appid, &body)?)
}

async fn tag_followers(
    State(fake): State<FakeWechat>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Reply {
    let appid = fake.admit(Api::Tags, &params).await?;
    reply(fake.world().tag_followers(&appid, &body)?)
}

async fn template_send(
    State(fake): State<FakeWechat>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Reply {
    let appid = fake.admit(Api::TemplateSend, &params).await?;
    let (msgid, body) = fake.world().template_send(&appid, &body)?;
    fake.deliver(Delivery::Template { appid, body });
    reply(json!({"errcode": 0, "errmsg": "ok", "msgid": msgid}))
}

async fn menu_create(
    State(fake): State<FakeWechat>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Reply {
    let appid = fake.admit(Api::Menu, &params).await?;
    fake.world().menu_create(&appid, &body)?;
    ok()
}

async fn menu_get(State(fake): State<FakeWechat>, Query(params): Query<Params>) -> Reply {
    let appid = fake.admit(Api::Menu, &params).await?;
    let menu = fake
        .world()
        .menus
        .get(&appid)
        .map(menu_as_served)
        .ok_or(46003)?;
    reply(menu)
}

async fn menu_delete(State(fake): State<FakeWechat>, Query(params): Query<Params>) -> Reply {
    let appid = fake.admit(Api::Menu, &params).await?;
    fake.world().menus.remove(&appid);
    ok()
}

// ---------------------------------------------------------------------------
// Wire details: JSON bodies, multipart, error messages, ids.
// ---------------------------------------------------------------------------

/// A request body as WeChat reads it: UTF-8 JSON object, whatever the
/// `Content-Type` says; empty → 44002, anything else malformed → 47001.
fn parse_object(raw: &[u8]) -> Result<Value, i64> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(44002);
    }
    let text = std::str::from_utf8(raw).map_err(|_| 47001)?;
    let value: Value = serde_json::from_str(text).map_err(|_| 47001)?;
    if !value.is_object() {
        return Err(47001);
    }
    Ok(value)
}

/// A non-empty string field.
fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key)?.as_str().filter(|s| !s.is_empty())
}

fn secs(secs: u64) -> SignedDuration {
    SignedDuration::from_secs(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// WeChat's error body; its messages end with a request id, like the real ones.
fn error_body(code: i64) -> Value {
    if code == 0 {
        return json!({"errcode": 0, "errmsg": "ok"});
    }
    let rid = random_id(24).to_ascii_lowercase();
    let rid = format!("{}-{}-{}", &rid[..8], &rid[8..16], &rid[16..]);
    json!({"errcode": code, "errmsg": format!("{} rid: {rid}", errmsg(code))})
}

fn errmsg(code: i64) -> &'static str {
    match code {
        -1 => "system error",
        40001 => "invalid credential, access_token is invalid or not latest",
        40002 => "invalid grant_type",
        40003 => "invalid openid",
        40004 => "invalid media type",
        40005 => "invalid file type",
        40006 => "invalid meida size",
        40007 => "invalid media_id",
        40008 => "invalid message type",
        40009 => "invalid image size",
        40010 => "invalid voice size",
        40011 => "invalid video size",
        40012 => "invalid thumb size",
        40013 => "invalid appid",
        40014 => "invalid access_token",
        40016 => "invalid button size",
        40017 => "invalid button type",
        40018 => "invalid button name size",
        40019 => "invalid button key size",
        40020 => "invalid button url size",
        40023 => "invalid sub button size",
        40024 => "invalid sub button type",
        40025 => "invalid sub button name size",
        40026 => "invalid sub button key size",
        40027 => "invalid sub button url size",
        40032 => "invalid openid list size",
        40037 => "invalid template_id",
        40125 => "invalid appsecret",
        40164 => "invalid ip, not in whitelist",
        41001 => "access_token missing",
        41002 => "appid missing",
        41004 => "appsecret missing",
        41005 => "media data missing",
        41006 => "media_id missing",
        42001 => "access_token expired",
        43004 => "require subscribe",
        44002 => "empty post data",
        44003 => "empty news data",
        44004 => "empty content",
        45008 => "article size out of limit",
        45009 => "reach max api daily quota limit",
        45015 => "response out of time limit",
        45047 => "out of response count limit",
        45056 => "too many tags now, no need to add new",
        45058 => "can't modify sys tag",
        45059 => "tag count of this user is out of limit",
        45157 => "invalid tag name",
        45158 => "tag name too long",
        45159 => "invalid tag id",
        46003 => "menu no exist",
        47001 => "data format error",
        48001 => "api unauthorized",
        _ => "injected error",
    }
}

/// Random characters from [`ID_ALPHABET`].
fn random_id(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: fall back to a time-seeded generator; ids stay
        // unpredictable enough for a fake, and tokens carry a serial anyway.
        let mut seed = Timestamp::now().as_nanosecond() as u64;
        for byte in &mut bytes {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *byte = (seed >> 56) as u8;
        }
    }
    bytes
        .iter()
        .map(|b| char::from(ID_ALPHABET[usize::from(b & 63)]))
        .collect()
}

fn extension_for(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/gif" => "gif",
        "image/bmp" => "bmp",
        "audio/amr" => "amr",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "video/mp4" => "mp4",
        _ => "jpg",
    }
}

fn content_type_for(extension: &str) -> &'static str {
    match extension {
        "png" => "image/png",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "amr" => "audio/amr",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        _ => "image/jpeg",
    }
}

/// One file field of a `multipart/form-data` body.
#[derive(Debug)]
struct FilePart<'a> {
    filename: Option<String>,
    data: &'a [u8],
}

/// Finds the part named `field` in a `multipart/form-data` body (RFC 7578).
/// `None` when the body is not multipart, is malformed, or has no such part.
fn multipart_file<'a>(content_type: &str, body: &'a [u8], field: &str) -> Option<FilePart<'a>> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = header_params(params)
        .into_iter()
        .find(|(k, _)| k == "boundary")?
        .1;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut rest = &body[find(body, &delimiter)? + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            return None;
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&rest[..head_end]).ok()?;
        let content = &rest[head_end + 4..];
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(&delimiter);
        let end = find(content, &closing)?;
        let data = &content[..end];
        rest = &content[end + closing.len()..];

        let disposition = head.split("\r\n").find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(value)
        })?;
        let (_, params) = disposition.split_once(';')?;
        let params = header_params(params);
        let value = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        if value("name").as_deref() == Some(field) {
            let filename = value("filename*")
                .and_then(|v| {
                    v.split_once("''")
                        .map(|(_, encoded)| percent_decode(encoded))
                })
                .or_else(|| value("filename"));
            return Some(FilePart { filename, data });
        }
    }
}

/// `key=value` parameters after a header's first `;`, values unquoted.
fn header_params(input: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ';' || c.is_whitespace()).is_some() {}
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            return params;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
            while chars.next_if(|c| *c != ';').is_some() {}
        } else {
            while let Some(c) = chars.next_if(|c| *c != ';') {
                value.push(c);
            }
        }
        params.push((key.trim().to_ascii_lowercase(), value.trim_end().to_owned()));
    }
}

fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The fake runs inside kefu for the simulator, for as long as the server runs:
/// its records keep only the most recent entries.
fn trim<T>(list: &mut Vec<T>) {
    const KEEP: usize = 10_000;
    if list.len() > KEEP {
        list.drain(..list.len() - KEEP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_finds_the_named_file() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nskip\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a;b.png\"\r\n\
            Content-Type: image/png\r\n\r\n\x89PNG\r\n--x\r\n--XyZ--\r\n";
        let file = multipart_file("multipart/form-data; boundary=\"XyZ\"", body, "media").unwrap();
        assert_eq!(file.filename.as_deref(), Some("a;b.png"));
        assert_eq!(file.data, b"\x89PNG\r\n--x");
        assert!(multipart_file("multipart/form-data; boundary=XyZ", body, "absent").is_none());
        assert!(multipart_file("application/json", body, "media").is_none());
    }

    #[test]
    fn multipart_reads_an_encoded_filename() {
        let body = b"--b\r\nContent-Disposition: form-data; name=media; filename*=UTF-8''%E5%9B%BE.jpg\r\n\r\nxy\r\n--b--";
        let file = multipart_file("multipart/form-data;boundary=b", body, "media").unwrap();
        assert_eq!(file.filename.as_deref(), Some("图.jpg"));
        assert_eq!(file.data, b"xy");
    }

    #[test]
    fn menu_rules_follow_wechat() {
        let leaf = json!({"type": "click", "name": "Hi", "key": "K"});
        assert_eq!(check_menu(&json!({"button": [leaf.clone()]})), Ok(()));
        assert_eq!(check_menu(&json!({"button": []})), Err(40016));
        assert_eq!(
            check_menu(
                &json!({"button": [leaf.clone(), leaf.clone(), leaf.clone(), leaf.clone()]})
            ),
            Err(40016)
        );
        assert_eq!(
            check_menu(&json!({"button": [{"type": "click", "name": "Hi"}]})),
            Err(40019)
        );
        assert_eq!(
            check_menu(&json!({"button": [{"type": "nope", "name": "Hi", "key": "K"}]})),
            Err(40017)
        );
        assert_eq!(
            check_menu(&json!({"button": [{"type": "view", "name": "Hi"}]})),
            Err(40020)
        );
        let six = vec![leaf.clone(); 6];
        assert_eq!(
            check_menu(&json!({"button": [{"name": "M", "sub_button": six}]})),
            Err(40023)
        );
        let bad_sub = json!({"type": "view", "name": "S"});
        assert_eq!(
            check_menu(&json!({"button": [{"name": "M", "sub_button": [bad_sub]}]})),
            Err(40027)
        );
        assert_eq!(
            check_menu(&json!({"button": [{"type": "click", "name": "一二三四五六", "key": "K"}]})),
            Err(40018)
        );
    }

    #[test]
    fn superseded_tokens_last_for_the_grace() {
        let mut world = World {
            token_grace: 60,
            ..World::default()
        };
        world.accounts.insert("wx1".into(), "s".into());
        let t0 = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(500_000);
        let (first, _) = world.issue("wx1", Pool::Plain, true, t0);
        let (second, _) = world.issue("wx1", Pool::Plain, true, t0);
        let later = t0 + SignedDuration::from_secs(59);
        assert_eq!(world.check_token(Some(&first), later), Ok("wx1".into()));
        let after = t0 + SignedDuration::from_secs(60);
        assert_eq!(world.check_token(Some(&first), after), Err(40001));
        assert_eq!(world.check_token(Some(&second), after), Ok("wx1".into()));
        let expired = t0 + SignedDuration::from_secs(7200);
        assert_eq!(world.check_token(Some(&second), expired), Err(42001));
    }
}
