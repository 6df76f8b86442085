//! 设置 → 公众号 (E11, A11): bind Official Accounts, see the URL to paste into
//! WeChat, test the connection. Super admin only; rules live in `channel`.

use crate::channel;
use crate::db::accounts::{Account, AccountFields};
use crate::error::AppError;
use crate::model::{AccountId, AccountMode, Group, GroupId};
use crate::state::AppState;
use crate::team::{Acting, TeamError};
use crate::web::form::{Form, IdPath};
use crate::web::page::{Page, render, render_status};
use crate::web::session::{Ctx, SuperUser, with_flash};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct AccountForm {
    name: String,
    app_id: String,
    app_secret: String,
    token: String,
    aes_key: String,
    mode: String,
    api_base: String,
    simulation: Option<String>,
    groups: Vec<i64>,
    window_hours: Option<i64>,
    quota_after_message: Option<i64>,
    quota_after_event: Option<i64>,
    event_window_secs: Option<i64>,
}

impl AccountForm {
    fn fields(&self) -> AccountFields {
        AccountFields {
            name: self.name.clone(),
            app_id: self.app_id.clone(),
            app_secret: self.app_secret.clone(),
            token: self.token.clone(),
            aes_key: self.aes_key.clone(),
            prev_aes_key: String::new(),
            mode: self.mode.clone(),
            api_base: self.api_base.clone(),
            simulation: self.simulation.is_some(),
            rules: match (
                self.window_hours,
                self.quota_after_message,
                self.quota_after_event,
                self.event_window_secs,
            ) {
                (
                    Some(window_hours),
                    Some(quota_after_message),
                    Some(quota_after_event),
                    Some(event_window_secs),
                ) => Some(crate::db::accounts::BudgetRules {
                    window_hours,
                    quota_after_message,
                    quota_after_event,
                    event_window_secs,
                }),
                _ => None,
            },
        }
    }
}

/// One account as the list shows it.
pub struct Row {
    pub account: Account,
    pub url: String,
}

#[derive(Template)]
#[template(path = "admin/accounts.html")]
struct AccountsPage {
    page: Page,
    rows: Vec<Row>,
    f: AccountForm,
    modes: &'static [AccountMode],
    error: Option<String>,
    public_is_https: bool,
}

async fn list_page(
    state: &AppState,
    ctx: &Ctx,
    f: AccountForm,
    error: Option<String>,
) -> Result<AccountsPage, AppError> {
    let accounts = state.db.read(crate::db::accounts::list).await?;
    let public = state.config.public_url();
    Ok(AccountsPage {
        page: Page::new(ctx, "公众号", "accounts"),
        rows: accounts
            .into_iter()
            .map(|a| Row {
                url: channel::webhook_url(&public, a.id),
                account: a,
            })
            .collect(),
        f,
        modes: AccountMode::ALL,
        error,
        public_is_https: public.starts_with("https://"),
    })
}

pub async fn list(
    State(state): State<AppState>,
    SuperUser(ctx, _): SuperUser,
) -> Result<Response, AppError> {
    let f = AccountForm {
        mode: AccountMode::Safe.as_str().into(),
        ..Default::default()
    };
    render(&list_page(&state, &ctx, f, None).await?)
}

pub async fn create(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    Form(f): Form<AccountForm>,
) -> Result<Response, AppError> {
    let by = Acting::user(&s.user, &ctx.ip);
    match channel::create(&state.db, &state.clock, &by, f.fields()).await {
        Ok(id) => {
            if f.simulation.is_some() {
                state
                    .wechat
                    .fake
                    .add_account(f.app_id.trim(), f.app_secret.trim());
            }
            let msg = "公众号已添加。请把下方的服务器地址填到微信公众平台「设置与开发 → 基本配置 → 服务器配置」中";
            Ok(with_flash(
                Redirect::to(&format!("/admin/accounts/{id}")),
                true,
                msg,
                ctx.secure_cookies,
            ))
        }
        Err(TeamError::Invalid(m)) => {
            let mut kept = f;
            kept.app_secret.clear();
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &list_page(&state, &ctx, kept, Some(m)).await?,
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/account_edit.html")]
struct EditPage {
    page: Page,
    account: Account,
    url: String,
    groups: Vec<Group>,
    linked: Vec<GroupId>,
    modes: &'static [AccountMode],
    error: Option<String>,
    public_is_https: bool,
    secret_hint: String,
    masked_token: String,
}

impl EditPage {
    fn is_linked(&self, g: &Group) -> bool {
        self.linked.contains(&g.id)
    }
}

async fn edit_page(
    state: &AppState,
    ctx: &Ctx,
    id: AccountId,
    error: Option<String>,
) -> Result<EditPage, AppError> {
    let (account, linked, groups) = state
        .db
        .read(move |c| -> crate::db::DbResult<_> {
            Ok((
                crate::db::accounts::get(c, id)?,
                crate::db::accounts::groups(c, id)?,
                crate::db::groups::list(c)?
                    .into_iter()
                    .map(|r| r.group)
                    .collect::<Vec<_>>(),
            ))
        })
        .await?;
    let account = account.ok_or(AppError::NotFound)?;
    let public = state.config.public_url();
    Ok(EditPage {
        page: Page::new(ctx, format!("公众号 {}", account.name), "accounts"),
        url: channel::webhook_url(&public, account.id),
        secret_hint: format!("已保存 {},留空则不修改", account.masked_secret()),
        masked_token: crate::db::accounts::mask(&account.token),
        account,
        groups,
        linked,
        modes: AccountMode::ALL,
        error,
        public_is_https: public.starts_with("https://"),
    })
}

pub async fn edit(
    State(state): State<AppState>,
    SuperUser(ctx, _): SuperUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    render(&edit_page(&state, &ctx, AccountId(id), None).await?)
}

pub async fn update(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    IdPath(id): IdPath,
    Form(f): Form<AccountForm>,
) -> Result<Response, AppError> {
    let id = AccountId(id);
    let by = Acting::user(&s.user, &ctx.ip);
    let groups = f.groups.iter().map(|g| GroupId(*g)).collect();
    let result = channel::update(&state.db, &state.clock, &by, id, f.fields(), groups).await;
    state.wechat.forget_account(id);
    match result {
        Ok(()) => {
            if let Some(a) = state
                .db
                .read(move |c| crate::db::accounts::get(c, id))
                .await?
            {
                if a.simulation {
                    state.wechat.fake.add_account(&a.app_id, &a.app_secret);
                }
            }
            Ok(with_flash(
                Redirect::to(&format!("/admin/accounts/{id}")),
                true,
                "公众号设置已保存",
                ctx.secure_cookies,
            ))
        }
        Err(TeamError::Invalid(m)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &edit_page(&state, &ctx, id, Some(m)).await?,
        ),
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/accounts/{id}/test` (htmx): fetch a token, explain the answer.
pub async fn test(
    State(state): State<AppState>,
    SuperUser(_, _): SuperUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let id = AccountId(id);
    let account = state
        .db
        .read(move |c| crate::db::accounts::get(c, id))
        .await?
        .ok_or(AppError::NotFound)?;
    let (ok, text) = match channel::test_connection(&state.wechat.api, &account).await {
        Ok(t) => (true, t),
        Err(t) => (false, t),
    };
    let class = if ok {
        "alert alert-ok"
    } else {
        "alert alert-error"
    };
    Ok(Html(format!(
        "<div class=\"{class}\" role=\"status\">{}</div>",
        crate::error::askama_escape(&text)
    ))
    .into_response())
}
