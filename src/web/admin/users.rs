//! 用户管理 (E1, S3 2.3): list with filters, add, edit, enable/disable, reset
//! password, group membership. Who may touch whom is decided in `team`.

use crate::db::users::{Profile, UserFilter, UserRow};
use crate::error::AppError;
use crate::model::{Group, GroupId, Role, User, UserId, UserStatus};
use crate::state::AppState;
use crate::team::{self, Acting, NewUserInput, TeamError, UserEdit};
use crate::web::form::{Form, IdPath, Query};
use crate::web::page::{Page, local_time, render, render_status};
use crate::web::session::{AdminUser, Ctx, with_flash};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use serde::Deserialize;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct FilterQuery {
    display_name: String,
    real_name: String,
    phone: String,
    role: String,
    group: String,
    status: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    page: Page,
    my_id: UserId,
    q: FilterQuery,
    rows: Vec<(String, UserRow)>,
    groups: Vec<Group>,
    roles: &'static [Role],
    statuses: &'static [UserStatus],
}

impl UsersPage {
    /// The list shows the admin's colleagues too; only agents can be edited by
    /// an admin (the same rule `team` enforces).
    fn can_edit(&self, u: &User) -> bool {
        self.page.is_super() || u.role == Role::Agent
    }
}

fn acting(ctx: &Ctx, me: &User) -> Acting {
    Acting::user(me, &ctx.ip)
}

pub async fn list(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Query(q): Query<FilterQuery>,
) -> Result<Response, AppError> {
    let filter = UserFilter {
        display_name: q.display_name.trim().to_string(),
        real_name: q.real_name.trim().to_string(),
        phone: q.phone.trim().to_string(),
        role: Role::parse(&q.role),
        group: q.group.parse().ok().map(GroupId),
        status: UserStatus::parse(&q.status),
    };
    let me = s.user.clone();
    let rows = state
        .db
        .read(move |c| {
            let reach = crate::access::Viewer::load(c, &me)?.reach;
            crate::db::users::list(c, &filter, &reach)
        })
        .await?;
    let groups = team::assignable_groups(&state.db, &acting(&ctx, &s.user)).await?;
    let tz = state.config.timezone.clone();
    render(&UsersPage {
        page: Page::new(&ctx, crate::t("nav-users"), "users"),
        my_id: s.user.id,
        rows: rows
            .into_iter()
            .map(|r| (local_time(r.user.created_at, &tz), r))
            .collect(),
        q,
        groups,
        roles: Role::ALL,
        statuses: UserStatus::ALL,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewUserForm {
    username: String,
    display_name: String,
    real_name: String,
    phone: String,
    role: String,
    password: String,
    confirm: String,
    groups: Vec<i64>,
}

#[derive(Template)]
#[template(path = "admin/user_new.html")]
struct NewUserPage {
    page: Page,
    error: Option<String>,
    f: NewUserForm,
    groups: Vec<Group>,
    roles: Vec<Role>,
}

impl NewUserPage {
    fn checked(&self, g: &Group) -> bool {
        self.f.groups.contains(&g.id.0)
    }
}

impl EditUserPage {
    fn is_member(&self, g: &Group) -> bool {
        self.member_of.contains(&g.id)
    }
}

fn creatable_roles(me: &User) -> Vec<Role> {
    match me.role {
        Role::SuperAdmin => Role::ALL.to_vec(),
        _ => vec![Role::Agent],
    }
}

pub async fn new_form(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
) -> Result<Response, AppError> {
    let groups = team::assignable_groups(&state.db, &acting(&ctx, &s.user)).await?;
    let f = NewUserForm {
        role: Role::Agent.as_str().into(),
        ..Default::default()
    };
    render(&NewUserPage {
        page: Page::new(&ctx, crate::t("users-new"), "users"),
        error: None,
        f,
        groups,
        roles: creatable_roles(&s.user),
    })
}

pub async fn create(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Form(f): Form<NewUserForm>,
) -> Result<Response, AppError> {
    let by = acting(&ctx, &s.user);
    let input = NewUserInput {
        username: f.username.clone(),
        display_name: f.display_name.clone(),
        real_name: f.real_name.clone(),
        phone: f.phone.clone(),
        role: Role::parse(&f.role),
        password: f.password.clone(),
        confirm: f.confirm.clone(),
        groups: f.groups.iter().map(|g| GroupId(*g)).collect(),
    };
    match team::create_user(&state.db, &state.clock, &by, input).await {
        Ok(_) => Ok(with_flash(
            Redirect::to("/admin/users"),
            true,
            crate::t1("users-added", "name", f.username.trim()),
            ctx.secure_cookies,
        )),
        Err(TeamError::Invalid(m)) => {
            let groups = team::assignable_groups(&state.db, &by).await?;
            let page = NewUserPage {
                page: Page::new(&ctx, crate::t("users-new"), "users"),
                error: Some(m),
                f,
                groups,
                roles: creatable_roles(&s.user),
            };
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/user_edit.html")]
struct EditUserPage {
    page: Page,
    user: User,
    member_of: Vec<GroupId>,
    groups: Vec<Group>,
    roles: Vec<Role>,
    is_self: bool,
    error: Option<String>,
}

async fn edit_page(
    state: &AppState,
    ctx: &Ctx,
    me: &User,
    id: UserId,
    error: Option<String>,
) -> Result<EditUserPage, AppError> {
    let by = acting(ctx, me);
    let user = team::manageable_user(&state.db, &by, id).await?;
    let member_of = state
        .db
        .read(move |c| -> crate::db::DbResult<_> {
            Ok(crate::db::users::groups_of(c, id)?
                .into_iter()
                .map(|g| g.id)
                .collect())
        })
        .await?;
    let groups = team::assignable_groups(&state.db, &by).await?;
    Ok(EditUserPage {
        page: Page::new(
            ctx,
            crate::t1("users-edit-title", "name", user.username.as_str()),
            "users",
        ),
        is_self: me.id == user.id,
        roles: creatable_roles(me),
        user,
        member_of,
        groups,
        error,
    })
}

pub async fn edit(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    render(&edit_page(&state, &ctx, &s.user, UserId(id), None).await?)
}

/// Shows the edit page again with the reason, or goes back to it with a message.
async fn after_edit(
    state: &AppState,
    ctx: &Ctx,
    me: &User,
    id: UserId,
    r: Result<(), TeamError>,
    done: String,
) -> Result<Response, AppError> {
    match r {
        Ok(()) => Ok(with_flash(
            Redirect::to(&format!("/admin/users/{id}")),
            true,
            done,
            ctx.secure_cookies,
        )),
        Err(TeamError::Invalid(m)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &edit_page(state, ctx, me, id, Some(m)).await?,
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EditForm {
    display_name: String,
    real_name: String,
    phone: String,
    role: String,
}

pub async fn update(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Form(f): Form<EditForm>,
) -> Result<Response, AppError> {
    let id = UserId(id);
    let by = acting(&ctx, &s.user);
    let current = team::manageable_user(&state.db, &by, id).await?;
    let edit = UserEdit {
        profile: Profile {
            display_name: f.display_name,
            real_name: f.real_name,
            phone: f.phone,
        },
        role: Role::parse(&f.role).unwrap_or(current.role),
    };
    let r = team::update_user(&state.db, &state.clock, &by, id, edit).await;
    after_edit(&state, &ctx, &s.user, id, r, crate::t("users-saved")).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusForm {
    status: String,
}

pub async fn set_status(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Form(f): Form<StatusForm>,
) -> Result<Response, AppError> {
    let status = UserStatus::parse(&f.status)
        .ok_or_else(|| AppError::BadRequest(crate::t("users-status-unknown")))?;
    let id = UserId(id);
    let r = team::set_status(&state.db, &state.clock, &acting(&ctx, &s.user), id, status).await;
    let done = if status == UserStatus::Active {
        crate::t("users-enabled")
    } else {
        crate::t("users-disabled")
    };
    after_edit(&state, &ctx, &s.user, id, r, done).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ResetForm {
    password: String,
    confirm: String,
}

pub async fn reset_password(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Form(f): Form<ResetForm>,
) -> Result<Response, AppError> {
    let id = UserId(id);
    let r = team::reset_password(
        &state.db,
        &state.clock,
        &acting(&ctx, &s.user),
        id,
        f.password,
        f.confirm,
    )
    .await;
    after_edit(
        &state,
        &ctx,
        &s.user,
        id,
        r,
        crate::t("users-password-reset"),
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct GroupsForm {
    groups: Vec<i64>,
}

pub async fn set_groups(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Form(f): Form<GroupsForm>,
) -> Result<Response, AppError> {
    let id = UserId(id);
    let groups: Vec<GroupId> = f.groups.into_iter().map(GroupId).collect();
    // Allowed (an agent between groups), but said: they will serve no one.
    let saved = if groups.is_empty() {
        crate::t("users-groups-saved-none")
    } else {
        crate::t("users-groups-saved")
    };
    let r = team::set_groups(&state.db, &state.clock, &acting(&ctx, &s.user), id, groups).await;
    after_edit(&state, &ctx, &s.user, id, r, saved).await
}
