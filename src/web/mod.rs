//! HTTP only: the route table, the middleware stack and the server. Handlers
//! are thin: parse, call `team`/`db`, render. Every route is declared once in
//! [`routes`] with the least role that may use it; `tests/routes.rs` walks that
//! table and checks that each protected route refuses anonymous visitors and
//! lower roles (the handlers enforce it with their extractors).

pub mod admin;
pub mod assets;
pub mod console;
pub mod followups;
pub mod form;
pub mod licenses;
pub mod login;
pub mod me;
pub mod media;
pub mod page;
pub mod session;
pub mod webhook;

use crate::state::AppState;
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{MethodFilter, on};
use axum::{Router, middleware};
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

/// The least role a route needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Public,
    Agent,
    Admin,
    SuperAdmin,
}

/// One line of the route table.
#[derive(Clone, Debug)]
pub struct RouteInfo {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

pub use crate::state::SIMULATOR_API;

/// Where WeChat's pushes arrive (`/wechat/{account}`).
pub const WEBHOOK_PREFIX: &str = "/wechat/";

/// The largest request body any route accepts (uploads will get their own limit).
pub const BODY_LIMIT: usize = 1024 * 1024;

struct Table {
    router: Router<AppState>,
    /// The WeChat webhook's routes: no session, no browser headers (see [`app`]).
    hooks: Router<AppState>,
    info: Vec<RouteInfo>,
}

impl Table {
    fn add<H, T>(mut self, method: Method, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("standard method");
        if path.starts_with(WEBHOOK_PREFIX) {
            self.hooks = self.hooks.route(path, on(filter, handler));
        } else {
            self.router = self.router.route(path, on(filter, handler));
        }
        self.info.push(RouteInfo {
            method,
            path,
            access,
        });
        self
    }

    fn get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        h: H,
    ) -> Self {
        self.add(Method::GET, path, access, h)
    }

    fn post<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        h: H,
    ) -> Self {
        self.add(Method::POST, path, access, h)
    }
}

/// Every URL kefu answers, in one screen.
fn table() -> Table {
    use Access::*;
    Table {
        router: Router::new(),
        hooks: Router::new(),
        info: Vec::new(),
    }
    .get("/healthz", Public, healthz)
    // WeChat pushes: authenticated by their signature, not by a session.
    .get("/wechat/{id}", Public, webhook::verify)
    .post("/wechat/{id}", Public, webhook::push)
    .get("/assets/{hash}/{*name}", Public, assets::serve)
    .get("/licenses", Public, licenses::show)
    .get("/setup", Public, login::setup_form)
    .post("/setup", Public, login::setup)
    .get("/login", Public, login::login_form)
    .post("/login", Public, login::login)
    .post("/logout", Public, login::logout)
    .get("/", Agent, home)
    // Agent console
    .get("/console", Agent, console::lists::page)
    .get("/console/me", Agent, me::show)
    .get("/media/{id}", Agent, media::get)
    .post("/console/me", Agent, me::update_profile)
    .post("/console/me/password", Agent, me::change_password)
    .post("/console/me/theme", Agent, me::set_theme)
    .post("/console/me/locale", Agent, me::set_locale)
    .post("/console/me/bind", Agent, me::bind_code)
    .post("/console/me/unbind", Agent, me::unbind)
    .post("/console/me/offhours", Agent, me::set_offhours)
    // Admin console
    .get("/admin", Admin, admin_home)
    .get("/admin/users", Admin, admin::users::list)
    .post("/admin/users", Admin, admin::users::create)
    .get("/admin/users/new", Admin, admin::users::new_form)
    .get("/admin/users/{id}", Admin, admin::users::edit)
    .post("/admin/users/{id}", Admin, admin::users::update)
    .post("/admin/users/{id}/status", Admin, admin::users::set_status)
    .post(
        "/admin/users/{id}/password",
        Admin,
        admin::users::reset_password,
    )
    .post("/admin/users/{id}/groups", Admin, admin::users::set_groups)
    .get("/admin/groups", SuperAdmin, admin::groups::list)
    .post("/admin/groups", SuperAdmin, admin::groups::create)
    .get("/admin/groups/{id}", SuperAdmin, admin::groups::edit)
    .post("/admin/groups/{id}", SuperAdmin, admin::groups::update)
    .post(
        "/admin/groups/{id}/delete",
        SuperAdmin,
        admin::groups::delete,
    )
    .get("/admin/audit", Admin, admin::audit::list)
    // 工作报表 (issue 10): the same URL plus `format=xlsx` is the workbook.
    .get("/admin/reports", Admin, admin::reports::home)
    .get(
        "/admin/reports/workload",
        Admin,
        admin::reports::workload::show,
    )
    .get(
        "/admin/reports/categories",
        Admin,
        admin::reports::categories::show,
    )
    .get("/admin/reports/hourly", Admin, admin::reports::hourly::show)
    .get(
        "/admin/reports/quality",
        Admin,
        admin::reports::quality::show,
    )
    .get(
        "/admin/reports/service",
        Admin,
        admin::reports::service::show,
    )
    .get("/admin/accounts", SuperAdmin, admin::accounts::list)
    .post("/admin/accounts", SuperAdmin, admin::accounts::create)
    .get("/admin/accounts/{id}", SuperAdmin, admin::accounts::edit)
    .post("/admin/accounts/{id}", SuperAdmin, admin::accounts::update)
    .post(
        "/admin/accounts/{id}/test",
        SuperAdmin,
        admin::accounts::test,
    )
    .get("/admin/followers", Admin, admin::followers::list)
    .get(
        "/admin/followers/progress",
        Admin,
        admin::followers::progress,
    )
    .post("/admin/followers/sync", Admin, admin::followers::sync)
    .post(
        "/admin/followers/{id}/remark",
        Admin,
        admin::followers::set_remark,
    )
    .get("/admin/simulator", Admin, admin::simulator::page)
    .get("/admin/simulator/chat", Admin, admin::simulator::chat)
    .post("/admin/simulator/act", Admin, admin::simulator::act)
    .post(
        "/admin/simulator/account",
        SuperAdmin,
        admin::simulator::create_account,
    )
    // Console: conversations (issue 4)
    .get("/console/lists", Agent, console::lists::show)
    .get("/console/events", Agent, console::events::stream)
    .post("/console/status", Agent, console::actions::set_status)
    .post("/console/accept", Agent, console::actions::accept_many)
    .get("/console/c/{id}", Agent, console::chat::show)
    .get("/console/c/{id}/budget", Agent, console::chat::show_budget)
    .post("/console/c/{id}/read", Agent, console::chat::mark_read)
    .post("/console/c/{id}/accept", Agent, console::actions::accept)
    .post("/console/c/{id}/reply", Agent, console::actions::reply)
    .post("/console/c/{id}/note", Agent, console::actions::add_note)
    .post(
        "/console/c/{id}/transfer",
        Agent,
        console::actions::transfer,
    )
    .post("/console/c/{id}/end", Agent, console::actions::end)
    .post("/console/c/{id}/remove", Admin, console::actions::remove)
    .post("/console/c/{id}/mark", Agent, console::actions::mark)
    .post("/console/c/{id}/tag", Agent, console::actions::tag)
    .post(
        "/console/c/{id}/survey",
        Agent,
        console::actions::invite_survey,
    )
    .post(
        "/console/messages/{id}/retry",
        Agent,
        console::actions::retry,
    )
    .post(
        "/console/messages/{id}/ignore",
        Agent,
        console::actions::ignore,
    )
    .post(
        "/console/messages/{id}/retry-now",
        Agent,
        console::actions::retry_now,
    )
    .post(
        "/console/transfers/{id}/accept",
        Agent,
        console::actions::transfer_accept,
    )
    .post(
        "/console/transfers/{id}/decline",
        Agent,
        console::actions::transfer_decline,
    )
    .get(
        "/console/f/{id}/profile",
        Agent,
        console::follower::show_profile,
    )
    .post(
        "/console/f/{id}/profile",
        Agent,
        console::follower::save_profile,
    )
    .post("/console/f/{id}/reopen", Agent, console::follower::reopen)
    .get(
        "/console/f/{id}/history",
        Agent,
        console::follower::show_history,
    )
    .get(
        "/console/f/{id}/history.pdf",
        Agent,
        console::transcripts::follower,
    )
    .get(
        "/console/c/{id}/transcript.pdf",
        Agent,
        console::transcripts::conversation,
    )
    // Quick replies (D6, E3), 我的回复 and the read-only trees of the agent menu.
    .get("/console/kb", Agent, console::kb::search_panel)
    .post("/console/kb/{id}/used", Agent, console::kb::used)
    .post("/console/c/{id}/kb", Agent, console::kb::send)
    .get("/console/kb/view", Agent, console::kb::view)
    .get("/console/faq/view", Agent, console::kb::view)
    .get("/kb/image/{id}", Agent, console::kb::image)
    .get("/console/replies", Agent, console::kb::replies)
    .post("/console/replies", Agent, console::kb::add_reply)
    .post(
        "/console/replies/{id}/delete",
        Agent,
        console::kb::delete_reply,
    )
    .post(
        "/console/replies/groups/{id}/delete",
        Agent,
        console::kb::delete_group,
    )
    .post(
        "/console/c/{id}/image",
        Agent,
        console::uploads::upload.layer(axum::extract::DefaultBodyLimit::max(
            console::uploads::MAX_IMAGE + 64 * 1024,
        )),
    )
    .get("/console/uploads/{id}", Agent, console::uploads::serve)
    .get("/console/uploads", Agent, console::uploads::list)
    .post("/console/c/{id}/resend", Agent, console::uploads::resend)
    // -- end console
    // Agent notifications (issue 5)
    .get("/admin/notify", SuperAdmin, admin::notify::show)
    .post("/admin/notify", SuperAdmin, admin::notify::save)
    // Custom menu (issue 5)
    .get("/admin/menu", SuperAdmin, admin::menu::page)
    .post("/admin/menu", SuperAdmin, admin::menu::save)
    .get("/admin/menu/online", SuperAdmin, admin::menu::online)
    .post("/admin/menu/publish", SuperAdmin, admin::menu::publish)
    .post("/admin/menu/load", SuperAdmin, admin::menu::load)
    // Time plan (issue 5)
    .get("/admin/timeplan", SuperAdmin, admin::timeplan::page)
    .post(
        "/admin/timeplan/weekly",
        SuperAdmin,
        admin::timeplan::save_weekly,
    )
    .post("/admin/timeplan/days", SuperAdmin, admin::timeplan::add_day)
    .post(
        "/admin/timeplan/days/{id}/delete",
        SuperAdmin,
        admin::timeplan::delete_day,
    )
    // Automation settings (issue 5)
    .get("/admin/automation", Admin, admin::automation::page)
    .post(
        "/admin/automation/replies",
        SuperAdmin,
        admin::automation::replies::save,
    )
    .post(
        "/admin/automation/preview",
        SuperAdmin,
        admin::automation::replies::show_preview,
    )
    .post(
        "/admin/automation/keywords",
        SuperAdmin,
        admin::automation::keywords::add,
    )
    .get(
        "/admin/automation/keywords/{id}",
        SuperAdmin,
        admin::automation::keywords::edit,
    )
    .post(
        "/admin/automation/keywords/{id}",
        SuperAdmin,
        admin::automation::keywords::update,
    )
    .post(
        "/admin/automation/keywords/{id}/move",
        SuperAdmin,
        admin::automation::keywords::reorder,
    )
    .post(
        "/admin/automation/keywords/{id}/delete",
        SuperAdmin,
        admin::automation::keywords::delete,
    )
    .post("/admin/automation/faq", Admin, admin::automation::faq::add)
    .get(
        "/admin/automation/faq/{id}",
        Admin,
        admin::automation::faq::edit,
    )
    .post(
        "/admin/automation/faq/{id}",
        Admin,
        admin::automation::faq::update,
    )
    .post(
        "/admin/automation/faq/{id}/move",
        Admin,
        admin::automation::faq::reorder,
    )
    .post(
        "/admin/automation/faq/{id}/delete",
        Admin,
        admin::automation::faq::delete,
    )
    .post(
        "/admin/automation/timeouts",
        Admin,
        admin::automation::timeouts::save,
    )
    .get(
        "/console/auto-reply",
        Agent,
        admin::automation::agent_reply::show,
    )
    .post(
        "/console/auto-reply",
        Agent,
        admin::automation::agent_reply::save,
    )
    // Taxonomy and follow-up lists (咨询分类, 会话标签, 知识库, 标注, tag list)
    .get("/admin/taxonomy", Admin, admin::taxonomy::page)
    .post(
        "/admin/taxonomy/categories",
        Admin,
        admin::taxonomy::add_category,
    )
    .post(
        "/admin/taxonomy/categories/{id}",
        Admin,
        admin::taxonomy::rename_category,
    )
    .post(
        "/admin/taxonomy/categories/{id}/move",
        Admin,
        admin::taxonomy::move_category,
    )
    .post(
        "/admin/taxonomy/categories/{id}/delete",
        Admin,
        admin::taxonomy::delete_category,
    )
    .post("/admin/taxonomy/tags", Admin, admin::taxonomy::add_tag)
    .post(
        "/admin/taxonomy/tags/{id}",
        SuperAdmin,
        admin::taxonomy::rename_tag,
    )
    .post(
        "/admin/taxonomy/tags/{id}/delete",
        SuperAdmin,
        admin::taxonomy::delete_tag,
    )
    // 知识库 and 常见问题 trees (E3, E4): one set of handlers, the path names the tree.
    .get("/admin/kb", Admin, admin::kb::page)
    .get("/admin/faq", Admin, admin::kb::page)
    .get("/admin/kb/export.pdf", Admin, admin::kb::export)
    .get("/admin/faq/export.pdf", Admin, admin::kb::export)
    .post("/admin/kb/nodes", Admin, admin::kb::add)
    .post("/admin/faq/nodes", Admin, admin::kb::add)
    .get("/admin/kb/nodes/{id}", Admin, admin::kb::edit)
    .get("/admin/faq/nodes/{id}", Admin, admin::kb::edit)
    .post("/admin/kb/nodes/{id}", Admin, admin::kb::update)
    .post("/admin/faq/nodes/{id}", Admin, admin::kb::update)
    .post("/admin/kb/nodes/{id}/move", Admin, admin::kb::move_node)
    .post("/admin/faq/nodes/{id}/move", Admin, admin::kb::move_node)
    .post("/admin/kb/nodes/{id}/toggle", Admin, admin::kb::toggle)
    .post("/admin/faq/nodes/{id}/toggle", Admin, admin::kb::toggle)
    .post("/admin/kb/nodes/{id}/delete", Admin, admin::kb::delete)
    .post("/admin/faq/nodes/{id}/delete", Admin, admin::kb::delete)
    .post(
        "/admin/kb/nodes/{id}/image",
        Admin,
        admin::kb::image.layer(axum::extract::DefaultBodyLimit::max(
            console::uploads::MAX_IMAGE + 64 * 1024,
        )),
    )
    .post("/admin/kb/groups", Admin, admin::kb::assign)
    .post("/admin/faq/groups", Admin, admin::kb::assign)
    .post(
        "/admin/groups/{id}/settings",
        SuperAdmin,
        admin::groups::update_settings,
    )
    .post(
        "/admin/accounts/{id}/trigger",
        SuperAdmin,
        admin::accounts::set_trigger,
    )
    .get("/console/marks", Agent, followups::marks)
    .post("/console/marks/{id}/handle", Agent, followups::handle_mark)
    .post("/console/marks/{id}/delete", Agent, followups::delete_mark)
    .get("/console/tagged", Agent, followups::tagged)
    // -- issue 12: search
    .get("/admin/messages", Admin, admin::messages::show)
    .get("/console/served", Agent, console::served::list)
    // -- end taxonomy
}

/// The route table, for tests and docs.
pub fn routes() -> Vec<RouteInfo> {
    table().info
}

/// The whole application: routes, middleware, state.
pub fn app(state: AppState) -> Router {
    let csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
               img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; \
               frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
    let fake = state
        .wechat
        .fake
        .router()
        .layer(middleware::from_fn(loopback_only));
    let Table { router, hooks, .. } = table();
    let timeout = || {
        TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        )
    };
    let pages = router
        .nest_service(SIMULATOR_API, fake)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::layer,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(timeout())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));
    // The webhook is for WeChat's servers, not browsers: no session lookup,
    // no page headers, only the limits (its handler reads at most
    // `xml::MAX_BODY` and checks the signature first). It is the hottest
    // route; the layers above cost it CPU per push for nothing.
    let hooks = hooks
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(timeout());
    pages
        .merge(hooks)
        .layer(middleware::from_fn(refuse_long_query))
        .with_state(state)
}

/// The longest query string any route takes (WeChat's signed query is ~200 bytes).
pub const MAX_QUERY: usize = 8 * 1024;

/// Refuses a query string over [`MAX_QUERY`] before anything else looks at the
/// request (414), so a huge unsigned parameter costs neither parsing nor memory.
async fn refuse_long_query(
    req: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    if req.uri().query().is_some_and(|q| q.len() > MAX_QUERY) {
        return (
            axum::http::StatusCode::URI_TOO_LONG,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            crate::t("error-query-too-long"),
        )
            .into_response();
    }
    next.run(req).await
}

/// `GET /healthz`: 200 "ok" when the database answers reads and the writer
/// commits (an empty write job).
async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    let read = state.db.read(crate::db::health::ping);
    let write = state.db.write(|_| -> crate::db::DbResult<()> { Ok(()) });
    match read.await.and(write.await) {
        Ok(()) => (axum::http::StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unavailable");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable",
            )
        }
    }
}

async fn home(session::AnyUser(_, _): session::AnyUser) -> Redirect {
    Redirect::to("/console")
}

async fn admin_home(session::AdminUser(_, _): session::AdminUser) -> Redirect {
    Redirect::to("/admin/users")
}

/// The fake WeChat API answers only kefu itself (the simulator's API client).
async fn loopback_only(
    req: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    // A request relayed by a reverse proxy also comes from loopback: refuse those.
    let proxied =
        req.headers().contains_key("x-forwarded-for") || req.headers().contains_key("forwarded");
    if peer.is_some_and(|ip| ip.is_loopback()) && !proxied {
        next.run(req).await
    } else {
        (
            axum::http::StatusCode::FORBIDDEN,
            "the simulator API is only for this server",
        )
            .into_response()
    }
}

async fn not_found() -> crate::error::AppError {
    crate::error::AppError::NotFound
}

/// Serves `app` on an already-bound listener until `shutdown` completes; then
/// in-flight requests finish (up to 10 s) before it returns.
pub async fn serve(
    state: AppState,
    listener: std::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tls = state.config.tls.clone();
    let live = state.wechat.live.clone();
    let router = app(state);
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        // Live streams never finish by themselves: end them first.
        live.close();
        h.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    listener.set_nonblocking(true)?;
    let make = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    match tls {
        Some((cert, key)) => {
            let rustls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                .await
                .map_err(|e| {
                    std::io::Error::other(format!("TLS certificate {}: {e}", cert.display()))
                })?;
            axum_server::from_tcp_rustls(listener, rustls)?
                .handle(handle)
                .serve(make)
                .await
        }
        None => {
            axum_server::from_tcp(listener)?
                .handle(handle)
                .serve(make)
                .await
        }
    }
}
