//! 设置 → 公众号 (E11, A11): bind Official Accounts, see the URL to paste into
//! WeChat, test the connection, choose what opens a conversation (B2). Super
//! admin only; rules live in `channel` and `engine::intake`.

use crate::channel;
use crate::db::accounts::{Account, AccountFields};
use crate::db::audit::Entry;
use crate::db::settings::AccountSettings;
use crate::error::AppError;
use crate::model::{AccountId, AccountMode, AuditAction, Group, GroupId, TriggerMode};
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

impl AccountsPage {
    /// Only an account bound to a real WeChat needs a public HTTPS address:
    /// before that (or with simulation accounts only) there is nothing to warn about.
    fn has_real_account(&self) -> bool {
        self.rows.iter().any(|r| !r.account.simulation)
    }
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
        page: Page::new(ctx, crate::t("nav-accounts"), "accounts"),
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
            let msg = crate::t("acct-added");
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
    trigger: TriggerForm,
    trigger_error: Option<String>,
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
    refused_trigger: Option<(TriggerForm, String)>,
) -> Result<EditPage, AppError> {
    let (account, linked, groups, settings) = state
        .db
        .read(move |c| -> crate::db::DbResult<_> {
            Ok((
                crate::db::accounts::get(c, id)?,
                crate::db::accounts::groups(c, id)?,
                crate::db::groups::list(c)?
                    .into_iter()
                    .map(|r| r.group)
                    .collect::<Vec<_>>(),
                crate::db::settings::account(c, id)?,
            ))
        })
        .await?;
    let account = account.ok_or(AppError::NotFound)?;
    let public = state.config.public_url();
    Ok(EditPage {
        page: Page::new(
            ctx,
            crate::t1("acct-edit-title", "name", account.name.as_str()),
            "accounts",
        ),
        url: channel::webhook_url(&public, account.id),
        secret_hint: crate::t1("acct-secret-saved", "masked", account.masked_secret()),
        account,
        groups,
        linked,
        modes: AccountMode::ALL,
        error,
        public_is_https: public.starts_with("https://"),
        trigger: refused_trigger
            .as_ref()
            .map_or_else(|| TriggerForm::from(&settings), |(f, _)| f.clone()),
        trigger_error: refused_trigger.map(|(_, m)| m),
    })
}

pub async fn edit(
    State(state): State<AppState>,
    SuperUser(ctx, _): SuperUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    render(&edit_page(&state, &ctx, AccountId(id), None, None).await?)
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
                crate::t("acct-saved"),
                ctx.secure_cookies,
            ))
        }
        Err(TeamError::Invalid(m)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &edit_page(&state, &ctx, id, Some(m), None).await?,
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
    let esc = crate::error::askama_escape;
    let html = match channel::test_connection(&state.wechat.api, &account).await {
        Ok(text) => format!(
            "<div class=\"alert alert-ok\" role=\"status\">{}</div>",
            esc(&text)
        ),
        Err(f) => format!(
            "<div class=\"alert alert-error\" role=\"status\"><div>{}</div><p class=\"test-fix\"><strong>{}</strong>{}</p></div>",
            esc(&f.reason),
            esc(&crate::t("acct-test-fix")),
            esc(&f.fix)
        ),
    };
    Ok(Html(html).into_response())
}

/// The 会话触发方式 form (B2).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct TriggerForm {
    trigger_mode: String,
    keywords: String,
    menu_key: String,
}

impl From<&AccountSettings> for TriggerForm {
    fn from(s: &AccountSettings) -> Self {
        TriggerForm {
            trigger_mode: s.trigger_mode.as_str().to_string(),
            keywords: s.keywords.clone(),
            menu_key: s.menu_key.clone(),
        }
    }
}

impl TriggerForm {
    /// The settings to save, keywords normalised to `a,b,c`; or why not.
    fn settings(&self) -> Result<AccountSettings, String> {
        let keywords: Vec<&str> = self
            .keywords
            .split([',', '，', ' ', '\n', '\r', '、'])
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .collect();
        if keywords.iter().any(|w| w.chars().count() > 20) {
            return Err(crate::t("acct-keyword-too-long"));
        }
        if keywords.len() > 50 {
            return Err(crate::t("acct-too-many-keywords"));
        }
        let menu_key = self.menu_key.trim();
        if menu_key.len() > 128 {
            return Err(crate::t("acct-menu-key-too-long"));
        }
        let trigger_mode = TriggerMode::parse(&self.trigger_mode)
            .ok_or_else(|| crate::t("acct-trigger-required"))?;
        match trigger_mode {
            TriggerMode::Keywords if keywords.is_empty() => {
                return Err(crate::t("acct-keyword-required"));
            }
            TriggerMode::MenuKey if menu_key.is_empty() => {
                return Err(crate::t("acct-menu-key-required"));
            }
            TriggerMode::AnyMessage | TriggerMode::Keywords | TriggerMode::MenuKey => {}
        }
        Ok(AccountSettings {
            trigger_mode,
            keywords: keywords.join(","),
            menu_key: menu_key.to_string(),
        })
    }
}

/// `POST /admin/accounts/{id}/trigger`: what opens a conversation (B2).
pub async fn set_trigger(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    IdPath(id): IdPath,
    Form(f): Form<TriggerForm>,
) -> Result<Response, AppError> {
    let id = AccountId(id);
    let account = state
        .db
        .read(move |c| crate::db::accounts::get(c, id))
        .await?
        .ok_or(AppError::NotFound)?;
    let settings = match f.settings() {
        Ok(v) => v,
        Err(m) => {
            return render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &edit_page(&state, &ctx, id, None, Some((f, m))).await?,
            );
        }
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    state
        .db
        .write(move |c| -> crate::db::DbResult<()> {
            let before = crate::db::settings::account(c, id)?;
            crate::db::settings::set_account(c, id, &settings)?;
            // Fields the audit page labels in the reader's language.
            let describe = |s: &AccountSettings| match s.trigger_mode {
                TriggerMode::Keywords => serde_json::json!({
                    "trigger_mode": s.trigger_mode.as_str(),
                    "keywords": s.keywords,
                }),
                TriggerMode::MenuKey => serde_json::json!({
                    "trigger_mode": s.trigger_mode.as_str(),
                    "menu_key": s.menu_key,
                }),
                TriggerMode::AnyMessage => {
                    serde_json::json!({ "trigger_mode": s.trigger_mode.as_str() })
                }
            };
            let entry = Entry::new(
                AuditAction::AccountTrigger,
                crate::db::audit::about("audit-t-account", &account.name),
            )
            .change(Some(&describe(&before)), Some(&describe(&settings)));
            crate::db::audit::record(c, &crate::team::actor(&by), &entry, now)
        })
        .await?;
    Ok(with_flash(
        Redirect::to(&format!("/admin/accounts/{id}")),
        true,
        crate::t("acct-trigger-saved"),
        ctx.secure_cookies,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(mode: &str, keywords: &str, menu_key: &str) -> TriggerForm {
        TriggerForm {
            trigger_mode: mode.into(),
            keywords: keywords.into(),
            menu_key: menu_key.into(),
        }
    }

    #[test]
    fn trigger_form_normalises_keywords_and_requires_what_the_mode_needs() {
        let s = form("keywords", " 人工，退款\n客服 ,", "")
            .settings()
            .unwrap();
        assert_eq!(
            s.keywords.split(',').collect::<Vec<_>>(),
            ["人工", "退款", "客服"]
        );
        assert_eq!(
            form("keywords", " , ", "").settings().unwrap_err(),
            "请至少填写一个关键词"
        );
        assert_eq!(
            form("menu", "", " ").settings().unwrap_err(),
            "请填写菜单 KEY"
        );
        assert_eq!(form("menu", "", " KF ").settings().unwrap().menu_key, "KF");
        assert!(form("any", "", "").settings().is_ok());
        assert_eq!(
            form("sometimes", "人工", "KF").settings().unwrap_err(),
            "请选择会话触发方式",
            "a typo is refused, not read as any message"
        );
        assert_eq!(
            form("keywords", "人工", "")
                .settings()
                .unwrap()
                .trigger_mode,
            TriggerMode::Keywords
        );
    }
}
