//! 分类与标签 (E5, E6; B8, B12): one page, `/admin/taxonomy`, with the
//! selected group's 咨询分类 tree and the system-wide 会话标签 tree (the
//! 知识库 has its own page, `web::admin::kb`, linked from here). An admin manages the groups they belong to, the
//! super admin every group; the tag tree is shared, so admins may add tags but
//! only the super admin renames or deletes them. Every change is written with
//! its audit row in one transaction. SQL lives in `db::taxonomy`.

use crate::db::audit::Entry;
use crate::db::taxonomy::{self as tax, Category, Tag};
use crate::error::AppError;
use crate::model::{AuditAction, Group, GroupId, Role, User};
use crate::state::AppState;
use crate::team::Acting;
use crate::web::form::{Form, IdPath, Query};
use crate::web::page::{Page, render, render_status};
use crate::web::session::{AdminUser, Ctx, SuperUser, with_flash};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use rusqlite::Connection;
use serde::Deserialize;

/// The longest category or tag name (the `CHECK` in migration 4).
const NAME_MAX: usize = 32;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct PageQuery {
    group: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct CategoryForm {
    group: String,
    parent: String,
    name: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct TagForm {
    parent: String,
    name: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct NameForm {
    name: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct MoveForm {
    /// `up` or `down`.
    dir: String,
}

/// What the page shows again after a refused form: the message, where it
/// belongs, and what was typed.
#[derive(Default)]
struct Kept {
    /// `categories` or `tags`.
    section: &'static str,
    error: Option<String>,
    category: CategoryForm,
    tag: TagForm,
    /// A row whose rename was refused, and the name typed for it.
    rename: Option<(i64, String)>,
}

#[derive(Template)]
#[template(path = "admin/taxonomy.html")]
struct TaxonomyPage {
    page: Page,
    groups: Vec<Group>,
    group: Option<Group>,
    categories: Vec<Category>,
    tags: Vec<Tag>,
    can_edit_tags: bool,
    kept: Kept,
}

impl TaxonomyPage {
    fn error_in(&self, section: &str) -> Option<&str> {
        if self.kept.section == section {
            self.kept.error.as_deref()
        } else {
            None
        }
    }

    /// The name shown in a row's rename box: what was typed if it was refused.
    fn name_of<'a>(&'a self, section: &str, id: &i64, name: &'a str) -> &'a str {
        match &self.kept.rename {
            Some((rid, typed)) if rid == id && self.kept.section == section => typed,
            _ => name,
        }
    }

    /// Full-width spaces that indent a tree node in a `<select>`.
    fn indent(&self, depth: &usize) -> String {
        "\u{3000}".repeat(*depth)
    }

    fn is(&self, selected: &str, id: &i64) -> bool {
        selected.trim() == id.to_string()
    }
}

/// The groups `user` manages here ([`crate::access::groups`]).
fn manageable(c: &Connection, user: &User) -> crate::db::DbResult<Vec<Group>> {
    crate::access::groups(c, &crate::access::Viewer::load(c, user)?)
}

/// Refuses a group the user does not manage.
fn check_group(c: &Connection, user: &User, group: GroupId) -> Result<(), AppError> {
    if manageable(c, user)?.iter().any(|g| g.id == group) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// A group id from a form: absent or not a number is a bad request.
fn form_group(raw: &str) -> Result<GroupId, AppError> {
    raw.trim()
        .parse()
        .map(GroupId)
        .map_err(|_| AppError::BadRequest(crate::t("tax-pick-group")))
}

fn form_parent(raw: &str) -> Option<i64> {
    raw.trim().parse().ok()
}

/// The name trimmed, or why not. `what`: `category` or `tag`.
fn check_name(raw: &str, what: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(crate::t(&format!("tax-{what}-name-missing")));
    }
    if name.chars().count() > NAME_MAX {
        return Err(crate::t1(
            &format!("tax-{what}-name-too-long"),
            "max",
            NAME_MAX,
        ));
    }
    Ok(name.to_string())
}

fn audit(
    c: &Connection,
    by: &Acting,
    action: AuditAction,
    target: String,
    now: jiff::Timestamp,
) -> Result<(), AppError> {
    crate::db::audit::record(c, &crate::team::actor(by), &Entry::new(action, target), now)?;
    Ok(())
}

fn back(group: Option<GroupId>, anchor: &str) -> String {
    match group {
        Some(g) => format!("/admin/taxonomy?group={g}#{anchor}"),
        None => format!("/admin/taxonomy#{anchor}"),
    }
}

fn done(ctx: &Ctx, group: Option<GroupId>, anchor: &str, text: impl Into<String>) -> Response {
    with_flash(
        Redirect::to(&back(group, anchor)),
        true,
        text,
        ctx.secure_cookies,
    )
}

async fn taxonomy_page(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    wanted: Option<GroupId>,
    kept: Kept,
) -> Result<TaxonomyPage, AppError> {
    let user_c = user.clone();
    let (groups, group, categories, tags) = state
        .db
        .read(move |c| -> Result<_, AppError> {
            let groups = manageable(c, &user_c)?;
            let group = match wanted {
                Some(id) => Some(
                    groups
                        .iter()
                        .find(|g| g.id == id)
                        .cloned()
                        .ok_or(AppError::Forbidden)?,
                ),
                None => groups.first().cloned(),
            };
            let categories = match &group {
                Some(g) => tax::categories(c, g.id)?,
                None => Vec::new(),
            };
            Ok((groups, group, categories, tax::tags(c)?))
        })
        .await?;
    Ok(TaxonomyPage {
        page: Page::new(ctx, crate::t("tax-page-title"), "taxonomy"),
        groups,
        group,
        categories,
        tags,
        can_edit_tags: user.role == Role::SuperAdmin,
        kept,
    })
}

/// Shows the page again with a refused form (422).
async fn refused(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    group: Option<GroupId>,
    kept: Kept,
) -> Result<Response, AppError> {
    let page = taxonomy_page(state, ctx, user, group, kept).await?;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn page(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let wanted = q.group.trim().parse().ok().map(GroupId);
    render(&taxonomy_page(&state, &ctx, &s.user, wanted, Kept::default()).await?)
}

// ---- 咨询分类 -------------------------------------------------------------

pub async fn add_category(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Form(f): Form<CategoryForm>,
) -> Result<Response, AppError> {
    let group = form_group(&f.group)?;
    let user = s.user.clone();
    state.db.read(move |c| check_group(c, &user, group)).await?;
    let name = match check_name(&f.name, "category") {
        Ok(n) => n,
        Err(m) => {
            let kept = Kept {
                section: "categories",
                error: Some(m),
                category: f,
                ..Kept::default()
            };
            return refused(&state, &ctx, &s.user, Some(group), kept).await;
        }
    };
    let (by, now, parent) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        form_parent(&f.parent),
    );
    let n = name.clone();
    let added = state
        .db
        .write(move |c| -> Result<_, AppError> {
            let added = tax::add_category(c, group, parent, &n)?;
            if added.is_ok() {
                audit(
                    c,
                    &by,
                    AuditAction::CategoryCreate,
                    crate::db::audit::about("audit-t-category", &n),
                    now,
                )?;
            }
            Ok(added)
        })
        .await?;
    match added {
        Ok(_) => Ok(done(
            &ctx,
            Some(group),
            "categories",
            crate::t1("tax-category-added", "name", name),
        )),
        Err(m) => {
            let kept = Kept {
                section: "categories",
                error: Some(crate::t(m)),
                category: f,
                ..Kept::default()
            };
            refused(&state, &ctx, &s.user, Some(group), kept).await
        }
    }
}

/// Loads a category and checks that the user manages its group.
async fn managed_category(state: &AppState, user: &User, id: i64) -> Result<Category, AppError> {
    let user = user.clone();
    state
        .db
        .read(move |c| -> Result<_, AppError> {
            let cat = tax::category(c, id)?.ok_or(AppError::NotFound)?;
            check_group(c, &user, cat.group_id)?;
            Ok(cat)
        })
        .await
}

pub async fn rename_category(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Form(f): Form<NameForm>,
) -> Result<Response, AppError> {
    let cat = managed_category(&state, &s.user, id).await?;
    let name = match check_name(&f.name, "category") {
        Ok(n) => n,
        Err(m) => {
            let kept = Kept {
                section: "categories",
                error: Some(m),
                rename: Some((id, f.name)),
                ..Kept::default()
            };
            return refused(&state, &ctx, &s.user, Some(cat.group_id), kept).await;
        }
    };
    let (by, now, n) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        name.clone(),
    );
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            tax::rename_category(c, id, &n)?;
            let target =
                crate::db::audit::about("audit-t-category", &format!("{} → {n}", cat.name));
            audit(c, &by, AuditAction::CategoryUpdate, target, now)
        })
        .await?;
    Ok(done(
        &ctx,
        Some(cat.group_id),
        "categories",
        crate::t("tax-category-renamed"),
    ))
}

pub async fn move_category(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Form(f): Form<MoveForm>,
) -> Result<Response, AppError> {
    let cat = managed_category(&state, &s.user, id).await?;
    let up = match f.dir.as_str() {
        "up" => true,
        "down" => false,
        _ => return Err(AppError::BadRequest(crate::t("tax-move-invalid"))),
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    let name = cat.name.clone();
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            if tax::move_category(c, id, up)? {
                let target = crate::db::audit::about_with(
                    "audit-reordered",
                    crate::db::audit::about_msg("audit-t-category", &name),
                );
                audit(c, &by, AuditAction::CategoryUpdate, target, now)?;
            }
            Ok(())
        })
        .await?;
    Ok(done(
        &ctx,
        Some(cat.group_id),
        "categories",
        crate::t("tax-moved"),
    ))
}

pub async fn delete_category(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let cat = managed_category(&state, &s.user, id).await?;
    let (by, now, name) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        cat.name.clone(),
    );
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            tax::delete_category(c, id)?;
            audit(
                c,
                &by,
                AuditAction::CategoryDelete,
                crate::db::audit::about("audit-t-category", &name),
                now,
            )
        })
        .await?;
    Ok(done(
        &ctx,
        Some(cat.group_id),
        "categories",
        crate::t1("tax-category-deleted", "name", cat.name.as_str()),
    ))
}

// ---- 会话标签 -------------------------------------------------------------

pub async fn add_tag(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Form(f): Form<TagForm>,
) -> Result<Response, AppError> {
    let refuse = |m: String, f: TagForm| Kept {
        section: "tags",
        error: Some(m),
        tag: f,
        ..Kept::default()
    };
    let name = match check_name(&f.name, "tag") {
        Ok(n) => n,
        Err(m) => return refused(&state, &ctx, &s.user, None, refuse(m, f)).await,
    };
    let (by, now, parent, n) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        form_parent(&f.parent),
        name.clone(),
    );
    let added = state
        .db
        .write(move |c| -> Result<_, AppError> {
            let added = tax::add_tag(c, parent, &n)?;
            if added.is_ok() {
                audit(
                    c,
                    &by,
                    AuditAction::TagCreate,
                    crate::db::audit::about("audit-t-tag", &n),
                    now,
                )?;
            }
            Ok(added)
        })
        .await?;
    match added {
        Ok(_) => Ok(done(
            &ctx,
            None,
            "tags",
            crate::t1("tax-tag-added", "name", name),
        )),
        Err(m) => refused(&state, &ctx, &s.user, None, refuse(crate::t(m), f)).await,
    }
}

async fn existing_tag(state: &AppState, id: i64) -> Result<Tag, AppError> {
    state
        .db
        .read(move |c| tax::tag(c, id))
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn rename_tag(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    IdPath(id): IdPath,
    Form(f): Form<NameForm>,
) -> Result<Response, AppError> {
    let tag = existing_tag(&state, id).await?;
    let name = match check_name(&f.name, "tag") {
        Ok(n) => n,
        Err(m) => {
            let kept = Kept {
                section: "tags",
                error: Some(m),
                rename: Some((id, f.name)),
                ..Kept::default()
            };
            return refused(&state, &ctx, &s.user, None, kept).await;
        }
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            tax::rename_tag(c, id, &name)?;
            let target = crate::db::audit::about("audit-t-tag", &format!("{} → {name}", tag.name));
            audit(c, &by, AuditAction::TagUpdate, target, now)
        })
        .await?;
    Ok(done(&ctx, None, "tags", crate::t("tax-tag-renamed")))
}

pub async fn delete_tag(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let tag = existing_tag(&state, id).await?;
    let (by, now, name) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        tag.name.clone(),
    );
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            tax::delete_tag(c, id)?;
            audit(
                c,
                &by,
                AuditAction::TagDelete,
                crate::db::audit::about("audit-t-tag", &name),
                now,
            )
        })
        .await?;
    Ok(done(
        &ctx,
        None,
        "tags",
        crate::t1("tax-tag-deleted", "name", tag.name.as_str()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  价格 ", "category").unwrap(), "价格");
        assert_eq!(check_name(" ", "category").unwrap_err(), "请填写分类名称");
        assert_eq!(
            check_name(&"字".repeat(33), "tag").unwrap_err(),
            "标签名称不能超过 32 个字"
        );
        assert!(check_name(&"字".repeat(32), "tag").is_ok());
    }
}
