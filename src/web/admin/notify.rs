//! 设置 → 消息提醒 (C10, A13): which template message kefu sends to agents who
//! bound their WeChat, how its fields are filled, and how often at most.
//! Super admin only; audited.

use crate::db::audit::Entry;
use crate::error::AppError;
use crate::model::AuditAction;
use crate::notify::Settings;
use crate::state::AppState;
use crate::team::Acting;
use crate::web::form::{Form, Query};
use crate::web::page::{Page, render, render_status};
use crate::web::session::{Ctx, SuperUser, with_flash};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccountQuery {
    account: String,
}

#[derive(Template)]
#[template(path = "admin/notify.html")]
struct NotifyPage {
    page: Page,
    accounts: Vec<crate::db::accounts::Account>,
    account: Option<crate::db::accounts::Account>,
    f: NotifyForm,
    error: Option<String>,
    bound: Vec<(String, String)>,
}

/// The form as typed: kept when refused.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct NotifyForm {
    account: String,
    enabled: Option<String>,
    template_id: String,
    /// One `field = text` per line.
    fields: String,
    every_mins: String,
}

impl NotifyForm {
    fn of(account: i64, s: &Settings) -> NotifyForm {
        NotifyForm {
            account: account.to_string(),
            enabled: s.enabled.then(|| "on".into()),
            template_id: s.template_id.clone(),
            fields: s
                .fields
                .iter()
                .map(|(k, v)| format!("{k} = {}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("\n"),
            every_mins: s.every_mins.to_string(),
        }
    }

    fn settings(&self) -> Result<Settings, String> {
        let every_mins = match self.every_mins.trim().parse::<i64>() {
            Ok(n) if (1..=120).contains(&n) => n,
            _ => return Err(crate::t("notify-every-range")),
        };
        let template_id = self.template_id.trim().to_string();
        if template_id.len() > 64 {
            return Err(crate::t("notify-template-too-long"));
        }
        let enabled = self.enabled.is_some();
        if enabled && template_id.is_empty() {
            return Err(crate::t("notify-template-required"));
        }
        let mut fields = serde_json::Map::new();
        for (i, line) in self.fields.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let Some((k, v)) = line.split_once(['=', '=']) else {
                return Err(crate::t1("notify-line-form", "line", i + 1));
            };
            let k = k.trim();
            if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(crate::t1("notify-line-field", "line", i + 1));
            }
            fields.insert(k.into(), serde_json::Value::String(v.trim().into()));
        }
        if fields.is_empty() {
            fields = crate::notify::default_fields();
        }
        Ok(Settings {
            enabled,
            template_id,
            fields,
            every_mins,
        })
    }
}

async fn page(
    state: &AppState,
    ctx: &Ctx,
    raw: &str,
    form: Option<NotifyForm>,
    error: Option<String>,
) -> Result<NotifyPage, AppError> {
    let (accounts, account) = super::menu::pick_account(state, raw).await?;
    let (f, bound) = match &account {
        Some(a) => {
            let id = a.id;
            let (s, bound) = state
                .db
                .read(move |c| -> crate::db::DbResult<_> {
                    let bound = crate::db::bindings::bound_to(c, id)?;
                    Ok((crate::notify::settings(c, id)?, bound))
                })
                .await?;
            (form.unwrap_or_else(|| NotifyForm::of(id.0, &s)), bound)
        }
        None => (NotifyForm::default(), vec![]),
    };
    Ok(NotifyPage {
        page: Page::new(ctx, crate::t("nav-notify"), "notify"),
        accounts,
        account,
        f,
        error,
        bound,
    })
}

pub async fn show(
    State(state): State<AppState>,
    SuperUser(ctx, _): SuperUser,
    Query(q): Query<AccountQuery>,
) -> Result<Response, AppError> {
    render(&page(&state, &ctx, &q.account, None, None).await?)
}

pub async fn save(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    Form(f): Form<NotifyForm>,
) -> Result<Response, AppError> {
    let (_, account) = super::menu::pick_account(&state, &f.account).await?;
    let account = account.ok_or(AppError::NotFound)?;
    let settings = match f.settings() {
        Ok(s) => s,
        Err(m) => {
            let p = page(&state, &ctx, &f.account, Some(f.clone()), Some(m)).await?;
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &p);
        }
    };
    let (id, now) = (account.id, state.clock.now());
    let actor = Acting::user(&s.user, &ctx.ip).actor();
    let after = serde_json::json!({
        "enabled": settings.enabled,
        "template_id": settings.template_id,
        "every_mins": settings.every_mins,
    });
    state
        .db
        .write(move |c| -> crate::db::DbResult<()> {
            crate::notify::set_settings(c, id, &settings)?;
            crate::db::audit::record(
                c,
                &actor,
                &Entry::new(
                    AuditAction::NotifySettings,
                    crate::db::audit::about("audit-t-account", &account.name),
                )
                .change(None, Some(&after)),
                now,
            )
        })
        .await?;
    Ok(with_flash(
        Redirect::to(&format!("/admin/notify?account={}", id.0)),
        true,
        crate::t("notify-saved"),
        ctx.secure_cookies,
    ))
}
