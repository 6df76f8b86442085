//! Who is asking: one middleware runs before every handler. It finds the login
//! session (cookie → hashed token → SQLite), sends everyone to /setup while no
//! user exists, checks CSRF on every state-changing request, and afterwards
//! turns "not logged in" into a redirect to /login (or a 401 for htmx/JSON) and
//! errors of htmx requests into a small fragment. Handlers declare the role they
//! need with the extractors at the bottom ([`AnyUser`], [`AdminUser`],
//! [`SuperUser`]); nothing else checks roles.

use crate::auth::{self, SESSION_IDLE};
use crate::db;
use crate::error::{AppError, ErrorText, NeedsLogin, askama_escape};
use crate::i18n::{self, Lang};
use crate::model::{Role, User, UserStatus};
use crate::state::AppState;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use jiff::SignedDuration;
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

pub const SESSION_COOKIE: &str = "kefu_session";
pub const PRE_CSRF_COOKIE: &str = "kefu_csrf";
pub const FLASH_COOKIE: &str = "kefu_flash";
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The largest form body the CSRF check reads (uploads have their own routes).
pub const FORM_LIMIT: usize = 1024 * 1024;
/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

/// A logged-in user and their session.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: User,
    pub token_hash: String,
}

/// A one-time message shown on the next page.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Flash {
    pub ok: bool,
    pub text: String,
}

/// What the middleware learnt about the request; every handler can read it.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub ip: String,
    pub user_agent: String,
    pub htmx: bool,
    pub csrf: String,
    pub session: Option<Session>,
    pub flash: Option<Flash>,
    pub secure_cookies: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| AppError::Internal("session middleware missing".into()))
    }
}

/// Paths that work before setup and without a session.
fn is_open_path(path: &str) -> bool {
    path == "/healthz"
        || path == "/licenses"
        || path.starts_with("/assets/")
        || path.starts_with(crate::web::WEBHOOK_PREFIX)
        || path.starts_with(crate::web::SIMULATOR_API)
}

/// Paths exempt from CSRF: the WeChat webhook authenticates by signature.
fn csrf_exempt(path: &str) -> bool {
    path.starts_with(crate::web::WEBHOOK_PREFIX)
}

/// The client's IP. A connection from one of the `--trusted-proxies` is
/// believed about where it came from: the client is the last
/// `X-Forwarded-For` entry that is not itself a trusted proxy (each proxy
/// appends the address it saw). Anyone else's header is ignored, and so is an
/// entry that is not an IP address.
pub fn client_ip(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trusted: &crate::config::TrustedProxies,
) -> String {
    let peer_ip = peer.map(|p| p.ip());
    if let Some(peer_ip) = peer_ip.filter(|ip| trusted.contains(*ip)) {
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer_ip;
        for entry in entries.iter().rev() {
            match entry.parse::<std::net::IpAddr>() {
                Ok(ip) if trusted.contains(ip) => client = ip,
                Ok(ip) => {
                    client = ip;
                    break;
                }
                Err(_) => break,
            }
        }
        return client.to_string();
    }
    peer_ip
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains("text/html"))
}

async fn load_session(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<(Session, String, Option<String>)>, AppError> {
    let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else {
        return Ok(None);
    };
    let hash = auth::token_hash(&token);
    let h = hash.clone();
    let Some(row) = state.db.read(move |c| db::sessions::lookup(c, &h)).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    if row.user.status != UserStatus::Active || row.last_seen_at + SESSION_IDLE <= now {
        let h = hash.clone();
        state.db.write(move |c| db::sessions::delete(c, &h)).await?;
        return Ok(None);
    }
    let mut renewed = None;
    if row.last_seen_at + TOUCH_EVERY <= now {
        let h = hash.clone();
        state
            .db
            .write(move |c| db::sessions::touch(c, &h, now))
            .await?;
        renewed = Some(token);
    }
    Ok(Some((
        Session {
            user: row.user,
            token_hash: hash,
        },
        row.csrf_token,
        renewed,
    )))
}

/// The session cookie: it lives as long as the session may stay idle, and is
/// renewed with the session, so an agent at work is never logged out mid-shift.
pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    let mut c = cookie(SESSION_COOKIE, token, secure);
    c.set_max_age(cookie::time::Duration::seconds(SESSION_IDLE.as_secs()));
    c
}

/// The same-origin check: a browser marks cross-site requests; refuse them.
/// The expected origin is the public URL when one is configured (behind a
/// proxy the Host header may be rewritten), else this request's own host.
fn cross_site(headers: &HeaderMap, uri: &axum::http::Uri, base_url: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return true;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if origin == "null" {
        return true;
    }
    let origin_host = origin
        .split("://")
        .nth(1)
        .unwrap_or("")
        .trim_end_matches('/');
    if let Some(base) = base_url {
        let base = base.trim_end_matches('/');
        if origin.eq_ignore_ascii_case(base) {
            return false;
        }
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()));
    match host {
        Some(h) => !origin_host.eq_ignore_ascii_case(&h),
        None => true,
    }
}

fn token_matches(given: Option<&str>, expected: &str) -> bool {
    given.is_some_and(|g| !g.is_empty() && bool::from(g.as_bytes().ct_eq(expected.as_bytes())))
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Checks the CSRF token of an unsafe request: header, query or form field.
async fn check_csrf(
    req: Request,
    expected: &str,
    base_url: Option<&str>,
) -> Result<Request, AppError> {
    if cross_site(req.headers(), req.uri(), base_url) {
        return Err(AppError::Csrf);
    }
    let header_token = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if token_matches(header_token.as_deref(), expected) {
        return Ok(req);
    }
    let query_token = req
        .uri()
        .query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v)
        });
    if token_matches(query_token.as_deref(), expected) {
        return Ok(req);
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(AppError::Csrf);
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| AppError::TooLarge)?;
    if !token_matches(form_field(&bytes, CSRF_FIELD).as_deref(), expected) {
        return Err(AppError::Csrf);
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn read_flash(jar: &CookieJar) -> Option<Flash> {
    let raw = jar.get(FLASH_COOKIE)?.value().to_string();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A cookie with kefu's attributes: HttpOnly, SameSite=Lax, Path=/, Secure on https.
pub fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

/// Set-Cookie that removes `name`.
pub fn removal(name: &'static str, secure: bool) -> Cookie<'static> {
    let mut c = cookie(name, String::new(), secure);
    c.make_removal();
    c
}

/// Adds a flash message cookie to a response (usually a redirect).
pub fn with_flash(
    resp: impl IntoResponse,
    ok: bool,
    text: impl Into<String>,
    secure: bool,
) -> Response {
    let json = serde_json::to_vec(&Flash {
        ok,
        text: text.into(),
    })
    .unwrap_or_default();
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    let mut c = cookie(FLASH_COOKIE, value, secure);
    c.set_max_age(time_duration(60));
    let mut resp = resp.into_response();
    append_cookie(&mut resp, &c);
    resp
}

fn time_duration(secs: i64) -> cookie::time::Duration {
    cookie::time::Duration::seconds(secs)
}

pub fn append_cookie(resp: &mut Response, c: &Cookie<'_>) {
    if let Ok(v) = HeaderValue::from_str(&c.to_string()) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The middleware. See the module comment.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // The browser's language until a signed-in user's own choice is known.
    let browser = browser_lang(req.headers());
    i18n::scope(browser, async move {
        match run(state, req, next, browser).await {
            Ok(resp) => resp,
            Err(e) => e.into_response(),
        }
    })
    .await
}

/// The interface language `Accept-Language` asks for (zh-CN by default).
pub fn browser_lang(headers: &HeaderMap) -> Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Lang::Zh, Lang::from_accept_language)
}

async fn run(
    state: AppState,
    mut req: Request,
    next: Next,
    browser: Lang,
) -> Result<Response, AppError> {
    // Assets and other open paths: nothing to look up, nothing to copy.
    if is_open_path(req.uri().path()) {
        return Ok(next.run(req).await);
    }
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let secure = state.config.secure_cookies();
    let htmx = headers.contains_key("hx-request");
    let json = wants_json(&headers);

    if !state.is_set_up() && path != "/setup" {
        // A user may have been added from the shell (`kefu user add`) meanwhile.
        if state.db.read(db::users::count).await? > 0 {
            state.mark_set_up();
        } else {
            return Ok(redirect_for(htmx, "/setup"));
        }
    }

    let jar = CookieJar::from_headers(&headers);
    let mut session = load_session(&state, &jar).await?;
    let renewed = session.as_mut().and_then(|(_, _, r)| r.take());
    let mut new_pre = None;
    let csrf = match &session {
        Some((_, token, _)) => token.clone(),
        None => match jar.get(PRE_CSRF_COOKIE).map(|c| c.value().to_string()) {
            Some(t) if t.len() == 43 => t,
            _ => {
                let t = auth::new_token();
                new_pre = Some(t.clone());
                t
            }
        },
    };
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && !csrf_exempt(&path) {
        req = match check_csrf(req, &csrf, state.config.base_url.as_deref()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%path, ip = %client_ip(&headers, peer, &state.config.trusted_proxies), error = %e, "request refused before the handler");
                let resp = finish(e.into_response(), htmx, json, &path);
                return Ok(if htmx || json {
                    resp
                } else {
                    error_page(resp, &bare_ctx(&csrf, secure))
                });
            }
        };
    }

    let had_flash = jar.get(FLASH_COOKIE).is_some();
    let ctx = Ctx {
        ip: client_ip(&headers, peer, &state.config.trusted_proxies),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(300)
            .collect(),
        htmx,
        csrf,
        session: session.map(|(s, _, _)| s),
        flash: read_flash(&jar),
        secure_cookies: secure,
    };
    req.extensions_mut().insert(ctx.clone());
    let lang = ctx.session.as_ref().map_or(browser, |s| s.user.locale);
    let resp = i18n::scope(lang, async {
        let resp = finish(next.run(req).await, htmx, json, &path);
        if !htmx && !json {
            error_page(resp, &ctx)
        } else {
            resp
        }
    })
    .await;
    let mut resp = resp;
    // A page that was shown consumed the flash message; a redirect passes it on.
    if had_flash && resp.status().is_success() && !htmx {
        append_cookie(&mut resp, &removal(FLASH_COOKIE, secure));
    }
    if let Some(t) = new_pre {
        append_cookie(&mut resp, &cookie(PRE_CSRF_COOKIE, t, secure));
    }
    let logged_out = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|c| c.starts_with(SESSION_COOKIE)));
    if let (Some(token), false) = (renewed, logged_out) {
        append_cookie(&mut resp, &session_cookie(token, secure));
    }
    Ok(resp)
}

/// A redirect a browser or htmx follows.
pub fn redirect_for(htmx: bool, to: &str) -> Response {
    if htmx {
        let mut r = StatusCode::NO_CONTENT.into_response();
        if let Ok(v) = HeaderValue::from_str(to) {
            r.headers_mut().insert("hx-redirect", v);
        }
        r
    } else {
        axum::response::Redirect::to(to).into_response()
    }
}

/// Post-processing: 401 → login redirect for pages; errors → fragments for htmx.
fn finish(resp: Response, htmx: bool, json: bool, path: &str) -> Response {
    let status = resp.status();
    if status == StatusCode::UNAUTHORIZED && resp.extensions().get::<NeedsLogin>().is_some() {
        if htmx {
            let mut r = resp;
            r.headers_mut()
                .insert("hx-redirect", HeaderValue::from_static("/login"));
            return r;
        }
        if !json {
            let next = serde_urlencoded::to_string([("next", path)]).unwrap_or_default();
            return axum::response::Redirect::to(&format!("/login?{next}")).into_response();
        }
        return resp;
    }
    if htmx && (status.is_client_error() || status.is_server_error()) {
        if let Some(ErrorText(text)) = resp.extensions().get::<ErrorText>().cloned() {
            let body = format!(
                "<div class=\"alert alert-error\" role=\"alert\">{}</div>",
                askama_escape(&text)
            );
            let mut r = (status, axum::response::Html(body)).into_response();
            r.headers_mut()
                .insert("hx-retarget", HeaderValue::from_static("#flash"));
            r.headers_mut()
                .insert("hx-reswap", HeaderValue::from_static("innerHTML"));
            return r;
        }
    }
    resp
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: super::page::Page,
    code: u16,
    message: String,
}

/// Shows an error inside the console shell (or the login card), not as a bare page.
fn error_page(resp: Response, ctx: &Ctx) -> Response {
    let status = resp.status();
    let Some(ErrorText(message)) = resp.extensions().get::<ErrorText>().cloned() else {
        return resp;
    };
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let page = ErrorPage {
        page: super::page::Page::new(ctx, format!("{}", status.as_u16()), ""),
        code: status.as_u16(),
        message,
    };
    match askama::Template::render(&page) {
        Ok(html) => (status, axum::response::Html(html)).into_response(),
        Err(_) => resp,
    }
}

/// A context for pages shown before the request got one (refused early).
fn bare_ctx(csrf: &str, secure: bool) -> Ctx {
    Ctx {
        ip: String::new(),
        user_agent: String::new(),
        htmx: false,
        csrf: csrf.to_string(),
        session: None,
        flash: None,
        secure_cookies: secure,
    }
}

fn require(parts: &Parts, min: Role) -> Result<(Ctx, Session), AppError> {
    let ctx = parts
        .extensions
        .get::<Ctx>()
        .cloned()
        .ok_or(AppError::Unauthorized)?;
    let session = ctx.session.clone().ok_or(AppError::Unauthorized)?;
    if !session.user.role.at_least(min) {
        return Err(AppError::Forbidden);
    }
    Ok((ctx, session))
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        pub struct $name(pub Ctx, pub Session);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = AppError;

            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
                let (ctx, session) = require(parts, $role)?;
                Ok($name(ctx, session))
            }
        }
    };
}

role_extractor!(
    /// Any logged-in user (agent console).
    AnyUser, Role::Agent);
role_extractor!(
    /// An admin or super admin (admin console).
    AdminUser, Role::Admin);
role_extractor!(
    /// Only the super admin.
    SuperUser, Role::SuperAdmin);

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_ip_is_taken_only_from_a_trusted_proxy() {
        use crate::config::TrustedProxies;
        let h = forwarded("198.51.100.1, 203.0.113.9");
        let local = Some("127.0.0.1:5000".parse().unwrap());
        let bridge = Some("172.17.0.1:5000".parse().unwrap());
        let public = Some("192.0.2.7:5000".parse().unwrap());
        let lo = TrustedProxies::loopback();
        let none = TrustedProxies::default();
        assert_eq!(
            client_ip(&h, local, &lo),
            "203.0.113.9",
            "the entry the proxy appended"
        );
        assert_eq!(
            client_ip(&h, bridge, &lo),
            "172.17.0.1",
            "a private peer is not trusted unless listed"
        );
        let docker = TrustedProxies::parse("172.16.0.0/12").unwrap();
        assert_eq!(client_ip(&h, bridge, &docker), "203.0.113.9");
        assert_eq!(
            client_ip(&h, public, &lo),
            "192.0.2.7",
            "a stranger's header is ignored"
        );
        assert_eq!(
            client_ip(&h, local, &none),
            "127.0.0.1",
            "not trusted unless configured"
        );
        assert_eq!(client_ip(&forwarded("not-an-ip"), local, &lo), "127.0.0.1");
        // Two proxies in a row: the first hop that is not a trusted proxy.
        let chain = TrustedProxies::parse("loopback, 10.0.0.0/8").unwrap();
        assert_eq!(
            client_ip(&forwarded("6.6.6.6, 203.0.113.9, 10.0.0.2"), local, &chain),
            "203.0.113.9"
        );
    }

    #[test]
    fn origin_must_match_the_public_url_or_the_host() {
        let uri: axum::http::Uri = "/x".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        h.insert(header::ORIGIN, "https://kefu.example.com".parse().unwrap());
        assert!(
            !cross_site(&h, &uri, Some("https://kefu.example.com")),
            "proxy rewrote Host"
        );
        assert!(cross_site(&h, &uri, None));
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(!cross_site(&h, &uri, None));
        h.insert(header::ORIGIN, "null".parse().unwrap());
        assert!(cross_site(&h, &uri, None));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(cross_site(&h, &uri, None));
    }
}
