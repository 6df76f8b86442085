//! 客服组管理 (E2, S3 2.4): add, edit, delete (refused while in use), and each
//! group's 接待设置 (B3–B8: routing, queue, transfer and end rules). Super admin only.

use crate::db::audit::Entry;
use crate::db::groups::{GroupFields, GroupRow};
use crate::db::settings::GroupSettings;
use crate::error::AppError;
use crate::model::{AuditAction, GroupId, RoutingStrategy};
use crate::state::AppState;
use crate::team::{self, Acting, TeamError};
use crate::web::form::{Form, IdPath};
use crate::web::page::{Page, local_time, render, render_status};
use crate::web::session::{Ctx, SuperUser, with_flash};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use serde::Deserialize;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct GroupForm {
    name: String,
    ident: String,
    phone: String,
    public_name: String,
    /// A checkbox: present ("on") when ticked.
    public_visible: Option<String>,
}

impl GroupForm {
    fn fields(&self) -> GroupFields {
        GroupFields {
            name: self.name.clone(),
            ident: self.ident.clone(),
            phone: self.phone.clone(),
            public_name: self.public_name.clone(),
            public_visible: self.public_visible.is_some(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage {
    page: Page,
    rows: Vec<(String, GroupRow)>,
    f: GroupFields,
    error: Option<String>,
}

async fn groups_page(
    state: &AppState,
    ctx: &Ctx,
    f: GroupFields,
    error: Option<String>,
) -> Result<GroupsPage, AppError> {
    let rows = state.db.read(crate::db::groups::list).await?;
    let tz = state.config.timezone.clone();
    Ok(GroupsPage {
        page: Page::new(ctx, crate::t("nav-groups"), "groups"),
        rows: rows
            .into_iter()
            .map(|r| (local_time(r.group.created_at, &tz), r))
            .collect(),
        f,
        error,
    })
}

fn empty_fields() -> GroupFields {
    GroupFields {
        name: String::new(),
        ident: String::new(),
        phone: String::new(),
        public_name: String::new(),
        public_visible: true,
    }
}

pub async fn list(
    State(state): State<AppState>,
    SuperUser(ctx, _): SuperUser,
) -> Result<Response, AppError> {
    render(&groups_page(&state, &ctx, empty_fields(), None).await?)
}

pub async fn create(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    Form(f): Form<GroupForm>,
) -> Result<Response, AppError> {
    let fields = f.fields();
    match team::create_group(
        &state.db,
        &state.clock,
        &Acting::user(&s.user, &ctx.ip),
        fields.clone(),
    )
    .await
    {
        Ok(_) => Ok(with_flash(
            Redirect::to("/admin/groups"),
            true,
            crate::t1("groups-added", "name", fields.name.trim()),
            ctx.secure_cookies,
        )),
        Err(TeamError::Invalid(m)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &groups_page(&state, &ctx, fields, Some(m)).await?,
        ),
        Err(e) => Err(e.into()),
    }
}

/// The 接待设置 form: text fields, so a refused value is shown as typed.
#[derive(Deserialize, serde::Serialize, Default, Clone)]
#[serde(default)]
pub struct SettingsForm {
    strategy: String,
    familiar_days: String,
    require_category: Option<String>,
    agents_see_queue: Option<String>,
    transfer_timeout_secs: String,
    queue_expiry_hours: String,
    comfort_every_mins: String,
    /// Empty: conversations stay with an agent who went offline.
    requeue_after_mins: String,
    /// The first-response target of 服务水平 in seconds.
    sla_secs: String,
}

impl From<&GroupSettings> for SettingsForm {
    fn from(s: &GroupSettings) -> Self {
        let on = |b: bool| b.then(|| "on".to_string());
        SettingsForm {
            strategy: s.strategy.as_str().into(),
            familiar_days: s.familiar_days.to_string(),
            require_category: on(s.require_category),
            agents_see_queue: on(s.agents_see_queue),
            transfer_timeout_secs: s.transfer_timeout_secs.to_string(),
            queue_expiry_hours: s.queue_expiry_hours.to_string(),
            comfort_every_mins: s.comfort_every_mins.to_string(),
            requeue_after_mins: s
                .requeue_after_mins
                .map(|m| m.to_string())
                .unwrap_or_default(),
            sla_secs: s.sla_secs.to_string(),
        }
    }
}

/// A whole number within `min..=max`, or the Chinese reason why not.
fn in_range(raw: &str, what: &str, min: i64, max: i64) -> Result<i64, String> {
    match raw.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(crate::t3(
            "groups-range",
            "what",
            what,
            "min",
            min,
            "max",
            max,
        )),
    }
}

impl SettingsForm {
    fn settings(&self) -> Result<GroupSettings, String> {
        Ok(GroupSettings {
            strategy: RoutingStrategy::parse(&self.strategy)
                .ok_or_else(|| crate::t("groups-strategy-required"))?,
            familiar_days: in_range(
                &self.familiar_days,
                &crate::t("groups-familiar-days"),
                0,
                90,
            )?,
            require_category: self.require_category.is_some(),
            agents_see_queue: self.agents_see_queue.is_some(),
            transfer_timeout_secs: in_range(
                &self.transfer_timeout_secs,
                &crate::t("groups-transfer-timeout"),
                10,
                600,
            )?,
            queue_expiry_hours: in_range(
                &self.queue_expiry_hours,
                &crate::t("groups-queue-expiry"),
                1,
                168,
            )?,
            comfort_every_mins: in_range(
                &self.comfort_every_mins,
                &crate::t("groups-comfort-every"),
                1,
                60,
            )?,
            requeue_after_mins: match self.requeue_after_mins.trim() {
                "" => None,
                raw => Some(in_range(raw, &crate::t("groups-requeue-what"), 1, 1440)?),
            },
            sla_secs: match self.sla_secs.trim() {
                "" => GroupSettings::default().sla_secs,
                raw => in_range(raw, &crate::t("groups-sla"), 10, 3600)?,
            },
        })
    }
}

#[derive(Template)]
#[template(path = "admin/group_edit.html")]
struct EditGroupPage {
    page: Page,
    id: GroupId,
    f: GroupFields,
    members: Vec<crate::model::User>,
    error: Option<String>,
    settings: SettingsForm,
    settings_error: Option<String>,
    strategies: &'static [RoutingStrategy],
}

/// What a refused form brings back to the edit page.
enum Refused {
    None,
    Fields(GroupFields, String),
    Settings(SettingsForm, String),
}

async fn edit_page(
    state: &AppState,
    ctx: &Ctx,
    id: GroupId,
    refused: Refused,
) -> Result<EditGroupPage, AppError> {
    let (group, members, settings) = state
        .db
        .read(move |c| -> crate::db::DbResult<_> {
            Ok((
                crate::db::groups::get(c, id)?,
                crate::db::groups::members(c, id)?,
                crate::db::settings::group(c, id)?,
            ))
        })
        .await?;
    let group = group.ok_or(AppError::NotFound)?;
    let mut page = EditGroupPage {
        page: Page::new(
            ctx,
            crate::t1("groups-edit-title", "name", group.name.as_str()),
            "groups",
        ),
        id,
        f: GroupFields::from(&group),
        members,
        error: None,
        settings: SettingsForm::from(&settings),
        settings_error: None,
        strategies: RoutingStrategy::ALL,
    };
    match refused {
        Refused::None => {}
        Refused::Fields(f, m) => (page.f, page.error) = (f, Some(m)),
        Refused::Settings(f, m) => (page.settings, page.settings_error) = (f, Some(m)),
    }
    Ok(page)
}

pub async fn edit(
    State(state): State<AppState>,
    SuperUser(ctx, _): SuperUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    render(&edit_page(&state, &ctx, GroupId(id), Refused::None).await?)
}

pub async fn update(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    IdPath(id): IdPath,
    Form(f): Form<GroupForm>,
) -> Result<Response, AppError> {
    let (id, fields) = (GroupId(id), f.fields());
    match team::update_group(
        &state.db,
        &state.clock,
        &Acting::user(&s.user, &ctx.ip),
        id,
        fields.clone(),
    )
    .await
    {
        Ok(()) => Ok(with_flash(
            Redirect::to("/admin/groups"),
            true,
            crate::t("groups-saved"),
            ctx.secure_cookies,
        )),
        Err(TeamError::Invalid(m)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &edit_page(&state, &ctx, id, Refused::Fields(fields, m)).await?,
        ),
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/groups/{id}/settings`: saves the group's 接待设置.
pub async fn update_settings(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    IdPath(id): IdPath,
    Form(f): Form<SettingsForm>,
) -> Result<Response, AppError> {
    let id = GroupId(id);
    let group = state
        .db
        .read(move |c| crate::db::groups::get(c, id))
        .await?
        .ok_or(AppError::NotFound)?;
    let settings = match f.settings() {
        Ok(v) => v,
        Err(m) => {
            return render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &edit_page(&state, &ctx, id, Refused::Settings(f, m)).await?,
            );
        }
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    state
        .db
        .write(move |c| -> crate::db::DbResult<()> {
            let before = SettingsForm::from(&crate::db::settings::group(c, id)?);
            crate::db::settings::set_group(c, id, &settings)?;
            let after = SettingsForm::from(&settings);
            let entry = Entry::new(
                AuditAction::GroupSettings,
                crate::db::audit::about("audit-t-group", &group.name),
            )
            .change(Some(&before), Some(&after));
            crate::db::audit::record(c, &crate::team::actor(&by), &entry, now)
        })
        .await?;
    Ok(with_flash(
        Redirect::to(&format!("/admin/groups/{id}")),
        true,
        crate::t("groups-settings-saved"),
        ctx.secure_cookies,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    match team::delete_group(
        &state.db,
        &state.clock,
        &Acting::user(&s.user, &ctx.ip),
        GroupId(id),
    )
    .await
    {
        Ok(()) => Ok(with_flash(
            Redirect::to("/admin/groups"),
            true,
            crate::t("groups-deleted"),
            ctx.secure_cookies,
        )),
        Err(TeamError::Invalid(reason)) => Ok(with_flash(
            Redirect::to("/admin/groups"),
            false,
            crate::t1("groups-cannot-delete", "reason", reason),
            ctx.secure_cookies,
        )),
        Err(e) => Err(e.into()),
    }
}
