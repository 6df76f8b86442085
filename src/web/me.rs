//! The personal centre 个人中心 (`/console/me`, D12, S3 1.4.1): an agent's own
//! profile, password, theme, WeChat binding and off-hours reply. Only the
//! signed-in user's own record; nothing here touches conversations.

use super::form::Form;
use super::page::{Page, local_time, render, render_status};
use super::session::{AnyUser, with_flash};
use crate::db::sessions::LoginRecord;
use crate::db::users::Profile;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::model::{Group, Theme};
use crate::state::AppState;
use crate::team::{self, Acting, TeamError};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "console/me.html")]
struct MePage {
    page: Page,
    groups: Vec<Group>,
    logins: Vec<(String, LoginRecord)>,
    profile: Profile,
    profile_error: Option<String>,
    password_error: Option<String>,
    /// The account whose WeChat the agent bound for notifications (C10).
    wx_bound: Option<String>,
    /// A pending binding code and until when it is valid.
    bind_code: Option<(String, String)>,
    /// Template messages also outside work hours.
    notify_offhours: bool,
    langs: &'static [Lang],
}

async fn me_page(
    state: &AppState,
    page: Page,
    profile: Option<Profile>,
    profile_error: Option<String>,
    password_error: Option<String>,
) -> Result<MePage, AppError> {
    let me = page.me.clone().ok_or(AppError::Unauthorized)?;
    let uid = me.id;
    let now = state.clock.now();
    let (groups, logins, wx_bound, bind_code, notify_offhours) = state
        .db
        .read(move |c| -> crate::db::DbResult<_> {
            let bound = match crate::notify::binding(c, uid)? {
                Some((acc, _)) => crate::db::accounts::get(c, acc)?.map(|a| a.name),
                None => None,
            };
            Ok((
                crate::db::users::groups_of(c, uid)?,
                crate::db::sessions::recent_logins(c, uid, 10)?,
                bound,
                crate::notify::pending_code(c, uid, now)?,
                crate::notify::offhours(c, uid)?,
            ))
        })
        .await?;
    let tz = &state.config.timezone;
    Ok(MePage {
        logins: logins
            .into_iter()
            .map(|l| (local_time(l.at, tz), l))
            .collect(),
        groups,
        profile: profile.unwrap_or(Profile {
            display_name: me.display_name,
            real_name: me.real_name,
            phone: me.phone,
        }),
        profile_error,
        password_error,
        wx_bound,
        bind_code: bind_code.map(|(code, until)| (code, local_time(until, tz))),
        notify_offhours,
        langs: Lang::ALL,
        page,
    })
}

pub async fn show(
    State(state): State<AppState>,
    AnyUser(ctx, _): AnyUser,
) -> Result<Response, AppError> {
    render(
        &me_page(
            &state,
            Page::new(&ctx, crate::t("nav-me"), "me"),
            None,
            None,
            None,
        )
        .await?,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ProfileForm {
    display_name: String,
    real_name: String,
    phone: String,
}

pub async fn update_profile(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Form(f): Form<ProfileForm>,
) -> Result<Response, AppError> {
    let p = Profile {
        display_name: f.display_name,
        real_name: f.real_name,
        phone: f.phone,
    };
    match team::update_own_profile(
        &state.db,
        &state.clock,
        &Acting::user(&s.user, &ctx.ip),
        p.clone(),
    )
    .await
    {
        Ok(()) => Ok(with_flash(
            Redirect::to("/console/me"),
            true,
            crate::t("me-profile-saved"),
            ctx.secure_cookies,
        )),
        Err(TeamError::Invalid(m)) => {
            let page = me_page(
                &state,
                Page::new(&ctx, crate::t("nav-me"), "me"),
                Some(p),
                Some(m),
                None,
            )
            .await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    current: String,
    password: String,
    confirm: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Form(f): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let me = Acting::user(&s.user, &ctx.ip);
    match team::change_own_password(
        &state.db,
        &state.clock,
        &me,
        f.current,
        f.password,
        f.confirm,
        s.token_hash,
    )
    .await
    {
        Ok(()) => Ok(with_flash(
            Redirect::to("/console/me"),
            true,
            crate::t("me-password-changed"),
            ctx.secure_cookies,
        )),
        Err(TeamError::Invalid(m)) => {
            let page = me_page(
                &state,
                Page::new(&ctx, crate::t("nav-me"), "me"),
                None,
                None,
                Some(m),
            )
            .await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ThemeForm {
    theme: String,
}

/// Switches light/dark; htmx swaps nothing, the page flips the attribute itself.
pub async fn set_theme(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Form(f): Form<ThemeForm>,
) -> Result<Response, AppError> {
    let theme =
        Theme::parse(&f.theme).ok_or_else(|| AppError::BadRequest(crate::t("me-theme-unknown")))?;
    team::set_own_theme(
        &state.db,
        &state.clock,
        &Acting::user(&s.user, &ctx.ip),
        theme,
    )
    .await?;
    if ctx.htmx {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Redirect::to("/console/me").into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LocaleForm {
    locale: String,
}

/// Chooses the interface language; the next page is drawn in it.
pub async fn set_locale(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Form(f): Form<LocaleForm>,
) -> Result<Response, AppError> {
    let locale = Lang::parse(&f.locale)
        .ok_or_else(|| AppError::BadRequest(crate::i18n::t("me-locale-unknown")))?;
    team::set_own_locale(
        &state.db,
        &state.clock,
        &Acting::user(&s.user, &ctx.ip),
        locale,
    )
    .await?;
    let msg = crate::i18n::lookup(locale, "me-locale-saved", &[]);
    Ok(with_flash(
        Redirect::to("/console/me"),
        true,
        msg,
        ctx.secure_cookies,
    ))
}

/// A one-time code to bind the agent's WeChat for notifications (C10).
pub async fn bind_code(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
) -> Result<Response, AppError> {
    let (uid, now) = (s.user.id, state.clock.now());
    state
        .db
        .write(move |c| crate::notify::new_code(c, uid, now))
        .await?;
    Ok(with_flash(
        Redirect::to("/console/me"),
        true,
        crate::t("me-bind-code-made"),
        ctx.secure_cookies,
    ))
}

pub async fn unbind(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
) -> Result<Response, AppError> {
    let uid = s.user.id;
    state
        .db
        .write(move |c| crate::notify::unbind(c, uid))
        .await?;
    Ok(with_flash(
        Redirect::to("/console/me"),
        true,
        crate::t("me-unbound"),
        ctx.secure_cookies,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OffhoursForm {
    on: Option<String>,
}

/// Whether the agent's WeChat is notified outside work hours too.
pub async fn set_offhours(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Form(f): Form<OffhoursForm>,
) -> Result<Response, AppError> {
    let (uid, on) = (s.user.id, f.on.is_some());
    state
        .db
        .write(move |c| crate::notify::set_offhours(c, uid, on))
        .await?;
    Ok(with_flash(
        Redirect::to("/console/me"),
        true,
        if on {
            crate::t("me-offhours-on")
        } else {
            crate::t("me-offhours-off")
        },
        ctx.secure_cookies,
    ))
}
