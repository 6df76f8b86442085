//! 客服组管理 (E2, S3 2.4): add, edit, delete (refused while in use). Super admin only.

use crate::db::groups::{GroupFields, GroupRow};
use crate::error::AppError;
use crate::model::GroupId;
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
        page: Page::new(ctx, "客服组管理", "groups"),
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
            format!("客服组 {} 已添加", fields.name.trim()),
            ctx.secure_cookies,
        )),
        Err(TeamError::Invalid(m)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &groups_page(&state, &ctx, fields, Some(m)).await?,
        ),
        Err(e) => Err(e.into()),
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
}

async fn edit_page(
    state: &AppState,
    ctx: &Ctx,
    id: GroupId,
    f: Option<GroupFields>,
    error: Option<String>,
) -> Result<EditGroupPage, AppError> {
    let (group, members) = state
        .db
        .read(move |c| -> crate::db::DbResult<_> {
            Ok((
                crate::db::groups::get(c, id)?,
                crate::db::groups::members(c, id)?,
            ))
        })
        .await?;
    let group = group.ok_or(AppError::NotFound)?;
    Ok(EditGroupPage {
        page: Page::new(ctx, format!("修改客服组 {}", group.name), "groups"),
        id,
        f: f.unwrap_or_else(|| GroupFields::from(&group)),
        members,
        error,
    })
}

pub async fn edit(
    State(state): State<AppState>,
    SuperUser(ctx, _): SuperUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    render(&edit_page(&state, &ctx, GroupId(id), None, None).await?)
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
            "客服组信息已保存",
            ctx.secure_cookies,
        )),
        Err(TeamError::Invalid(m)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &edit_page(&state, &ctx, id, Some(fields), Some(m)).await?,
        ),
        Err(e) => Err(e.into()),
    }
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
            "客服组已删除",
            ctx.secure_cookies,
        )),
        Err(TeamError::Invalid(reason)) => Ok(with_flash(
            Redirect::to("/admin/groups"),
            false,
            format!("无法删除:{reason}"),
            ctx.secure_cookies,
        )),
        Err(e) => Err(e.into()),
    }
}
