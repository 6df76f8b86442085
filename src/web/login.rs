//! First-run setup, login and logout.

use super::form::{Form, Query};
use super::page::{Page, local_time, render, render_status};
use super::session::{
    Ctx, PRE_CSRF_COOKIE, SESSION_COOKIE, append_cookie, redirect_for, removal, session_cookie,
    with_flash,
};
use crate::auth::{self, LoginAttempt, LoginRefused};
use crate::db::audit::{Actor, Entry};
use crate::error::AppError;
use crate::model::AuditAction;
use crate::state::AppState;
use crate::team::{self, NewUserInput, TeamError};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    page: Page,
    error: Option<String>,
    username: String,
    display_name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SetupForm {
    code: String,
    username: String,
    display_name: String,
    password: String,
    confirm: String,
}

/// Set up already — or meanwhile, by `kefu user add` from the shell while
/// the server runs (the flag in memory does not know about that)?
async fn set_up_now(state: &AppState) -> Result<bool, AppError> {
    if state.is_set_up() {
        return Ok(true);
    }
    if state.db.read(crate::db::users::count).await? > 0 {
        state.mark_set_up();
        return Ok(true);
    }
    Ok(false)
}

pub async fn setup_form(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    if set_up_now(&state).await? {
        return Ok(Redirect::to("/login").into_response());
    }
    render(&SetupPage {
        page: Page::new(&ctx, crate::t("setup-title"), ""),
        error: None,
        username: String::new(),
        display_name: String::new(),
    })
}

pub async fn setup(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<SetupForm>,
) -> Result<Response, AppError> {
    if set_up_now(&state).await? {
        return Err(AppError::Forbidden);
    }
    let again = |msg: &str, f: &SetupForm| {
        render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetupPage {
                page: Page::new(&ctx, crate::t("setup-title"), ""),
                error: Some(msg.to_string()),
                username: f.username.clone(),
                display_name: f.display_name.clone(),
            },
        )
    };
    let given = f.code.trim().to_ascii_uppercase();
    let expected = state.setup_code().unwrap_or_default();
    if given.is_empty()
        || !bool::from(subtle::ConstantTimeEq::ct_eq(
            given.as_bytes(),
            expected.as_bytes(),
        ))
    {
        tracing::warn!(ip = %ctx.ip, "setup refused: wrong setup code");
        return again(&crate::t("setup-wrong-code"), &f);
    }
    let attempt = LoginAttempt {
        username: f.username.clone(),
        password: f.password.clone(),
        ip: ctx.ip.clone(),
        user_agent: ctx.user_agent.clone(),
    };
    let input = NewUserInput {
        username: f.username.clone(),
        display_name: f.display_name.clone(),
        password: f.password,
        confirm: f.confirm,
        ..Default::default()
    };
    match team::setup(&state.db, &state.clock, input, &ctx.ip).await {
        Ok(id) => {
            state.mark_set_up();
            // The super admin goes on in the language the setup page spoke
            // (the browser's), so the console and its first message agree.
            let lang = crate::i18n::current();
            state
                .db
                .write(move |c| crate::db::users::set_locale(c, id, lang))
                .await?;
            // Whoever just chose the password is signed in with it: straight to work.
            match auth::login(&state.db, &state.clock, &state.hash_limit, attempt).await? {
                Ok(ok) => {
                    signed_in(
                        &state,
                        &ctx,
                        ok,
                        "/console",
                        crate::t("setup-done-signed-in"),
                    )
                    .await
                }
                Err(_) => Ok(with_flash(
                    Redirect::to("/login"),
                    true,
                    crate::t("setup-done-login"),
                    ctx.secure_cookies,
                )),
            }
        }
        Err(TeamError::Invalid(msg)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetupPage {
                page: Page::new(&ctx, crate::t("setup-title"), ""),
                error: Some(msg),
                username: f.username,
                display_name: f.display_name,
            },
        ),
        Err(TeamError::Forbidden) => {
            state.mark_set_up();
            Err(AppError::Forbidden)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    page: Page,
    error: Option<String>,
    username: String,
    next: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NextQuery {
    next: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    username: String,
    password: String,
    next: String,
}

/// Only plain local paths, so the login page cannot send people elsewhere:
/// one leading `/`, then no second `/` or `\\`, and no control characters
/// (browsers drop tabs and newlines, turning `/\t/evil` into `//evil`).
fn safe_next(next: &str) -> &str {
    let plain = next.starts_with('/')
        && !next[1..].starts_with(['/', '\\'])
        && !next
            .chars()
            .any(|c| c.is_control() || c == '\\' || c.is_whitespace());
    if plain { next } else { "/console" }
}

pub async fn login_form(ctx: Ctx, Query(q): Query<NextQuery>) -> Result<Response, AppError> {
    if ctx.session.is_some() {
        return Ok(Redirect::to(safe_next(&q.next)).into_response());
    }
    render(&LoginPage {
        page: Page::new(&ctx, crate::t("login-title"), ""),
        error: None,
        username: String::new(),
        next: q.next,
    })
}

pub async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<LoginForm>,
) -> Result<Response, AppError> {
    let again = |status: StatusCode, msg: String, f: LoginForm| {
        render_status(
            status,
            &LoginPage {
                page: Page::new(&ctx, crate::t("login-title"), ""),
                error: Some(msg),
                username: f.username,
                next: f.next,
            },
        )
    };
    if f.username.trim().is_empty() || f.password.is_empty() {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            crate::t("login-missing"),
            f,
        );
    }
    let attempt = LoginAttempt {
        username: f.username.clone(),
        password: f.password.clone(),
        ip: ctx.ip.clone(),
        user_agent: ctx.user_agent.clone(),
    };
    match auth::login(&state.db, &state.clock, &state.hash_limit, attempt).await? {
        Ok(ok) => {
            // In the language the user chose, which the next page is drawn in.
            let lang = ok.user.locale;
            let welcome = match &ok.previous {
                Some(p) => crate::i18n::lookup(
                    lang,
                    "login-welcome-back",
                    &[
                        ("when", &local_time(p.at, &state.config.timezone)),
                        ("ip", &p.ip),
                    ],
                ),
                None => crate::i18n::lookup(lang, "login-welcome-first", &[]),
            };
            signed_in(&state, &ctx, ok, safe_next(&f.next), welcome).await
        }
        Err(refused) => {
            let status = match refused {
                LoginRefused::Locked { .. } | LoginRefused::TooFast { .. } | LoginRefused::Busy => {
                    StatusCode::TOO_MANY_REQUESTS
                }
                _ => StatusCode::UNAUTHORIZED,
            };
            if matches!(refused, LoginRefused::TooFast { .. } | LoginRefused::Busy) {
                // A flood: one line per attempt would flood the log too.
                tracing::debug!(ip = %ctx.ip, reason = ?refused, "login turned away");
            } else {
                tracing::info!(username = %f.username, ip = %ctx.ip, reason = ?refused, "login refused");
            }
            // When to try again, for clients and proxies (RFC 9110 Retry-After).
            let retry_after: Option<u64> = match refused {
                LoginRefused::Locked { minutes } => Some(minutes.max(1).unsigned_abs() * 60),
                LoginRefused::TooFast { seconds } => Some(seconds.max(1)),
                LoginRefused::Busy => Some(1),
                _ => None,
            };
            let mut resp = again(status, refused.message(), f)?;
            if let Some(secs) = retry_after {
                resp.headers_mut()
                    .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            }
            Ok(resp)
        }
    }
}

/// A session begins: the cookie, a welcome, and — logging in means being at
/// work — the status online, unless they chose busy or away.
async fn signed_in(
    state: &AppState,
    ctx: &Ctx,
    ok: auth::LoggedIn,
    to: &str,
    welcome: impl Into<String>,
) -> Result<Response, AppError> {
    let (uid, now) = (ok.user.id, state.clock.now());
    let out = state
        .db
        .write(move |c| -> crate::db::DbResult<_> {
            match crate::desk::status_of(c, uid)?.0 {
                crate::model::AgentStatus::Offline => {
                    crate::desk::set_status(c, uid, crate::model::AgentStatus::Online, None, now)
                }
                _ => Ok(crate::desk::Out::default()),
            }
        })
        .await?;
    state.publish(out);
    let session = session_cookie(ok.token, ctx.secure_cookies);
    let mut resp = with_flash(Redirect::to(to), true, welcome, ctx.secure_cookies);
    append_cookie(&mut resp, &session);
    append_cookie(&mut resp, &removal(PRE_CSRF_COOKIE, ctx.secure_cookies));
    Ok(resp)
}

pub async fn logout(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    if let Some(s) = &ctx.session {
        let (hash, now) = (s.token_hash.clone(), state.clock.now());
        let actor_id = s.user.id;
        let actor = Actor {
            id: Some(s.user.id),
            name: s.user.username.clone(),
            ip: ctx.ip.clone(),
        };
        state
            .db
            .write(move |c| {
                crate::db::sessions::delete(c, &hash)?;
                // Logged out: offline (B9); their conversations stay theirs.
                crate::desk::set_status(
                    c,
                    actor_id,
                    crate::model::AgentStatus::Offline,
                    None,
                    now,
                )?;
                crate::db::audit::record(
                    c,
                    &actor,
                    &Entry::new(
                        AuditAction::Logout,
                        crate::db::audit::about("audit-t-user", &actor.name),
                    ),
                    now,
                )
            })
            .await?;
    }
    let mut resp = with_flash(
        redirect_for(ctx.htmx, "/login"),
        true,
        crate::t("logout-done"),
        ctx.secure_cookies,
    );
    append_cookie(&mut resp, &removal(SESSION_COOKIE, ctx.secure_cookies));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_accepts_only_plain_local_paths() {
        for ok in ["/console", "/admin/users?role=agent", "/console/me"] {
            assert_eq!(safe_next(ok), ok);
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil",
            "https://evil.example",
            "evil",
            "",
            "/ /x",
        ] {
            assert_eq!(safe_next(bad), "/console", "{bad:?}");
        }
    }
}
