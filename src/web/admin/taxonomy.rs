//! 分类、标签与知识库 (E3, E5, E6; B8, B12, D6): one page, `/admin/taxonomy`,
//! with the selected group's 咨询分类 tree, the system-wide 会话标签 tree and
//! the group's 知识库 entries. An admin manages the groups they belong to, the
//! super admin every group; the tag tree is shared, so admins may add tags but
//! only the super admin renames or deletes them. Every change is written with
//! its audit row in one transaction. SQL lives in `db::taxonomy`.

use crate::db::audit::Entry;
use crate::db::taxonomy::{self as tax, Category, KbEntry, Tag};
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
    q: String,
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

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct KbForm {
    group: String,
    folder: String,
    title: String,
    body: String,
}

/// What the page shows again after a refused form: the message, where it
/// belongs, and what was typed.
#[derive(Default)]
struct Kept {
    /// `categories`, `tags` or `kb`.
    section: &'static str,
    error: Option<String>,
    category: CategoryForm,
    tag: TagForm,
    kb: KbForm,
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
    kb: Vec<KbEntry>,
    folders: Vec<String>,
    q: String,
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
        .map_err(|_| AppError::BadRequest("请选择客服组".into()))
}

fn form_parent(raw: &str) -> Option<i64> {
    raw.trim().parse().ok()
}

fn check_name(raw: &str, what: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(format!("请填写{what}名称"));
    }
    if name.chars().count() > NAME_MAX {
        return Err(format!("{what}名称不能超过 {NAME_MAX} 个字"));
    }
    Ok(name.to_string())
}

/// A knowledge-base entry, trimmed and checked: (folder, title, body).
fn check_kb(f: &KbForm) -> Result<(String, String, String), String> {
    let (folder, title, body) = (f.folder.trim(), f.title.trim(), f.body.trim());
    if folder.chars().count() > 32 {
        return Err("目录名称不能超过 32 个字".into());
    }
    if title.is_empty() {
        return Err("请填写标题".into());
    }
    if title.chars().count() > 64 {
        return Err("标题不能超过 64 个字".into());
    }
    if body.is_empty() {
        return Err("请填写回复内容".into());
    }
    if body.chars().count() > 2000 {
        return Err("回复内容不能超过 2000 个字".into());
    }
    Ok((folder.into(), title.into(), body.into()))
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
    q: String,
    kept: Kept,
) -> Result<TaxonomyPage, AppError> {
    let (user_c, search) = (user.clone(), q.clone());
    let (groups, group, categories, tags, kb) = state
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
            let (categories, kb) = match &group {
                Some(g) => (tax::categories(c, g.id)?, tax::kb(c, &[g.id], &search)?),
                None => (Vec::new(), Vec::new()),
            };
            Ok((groups, group, categories, tax::tags(c)?, kb))
        })
        .await?;
    let mut folders: Vec<String> = kb
        .iter()
        .map(|e| e.folder.clone())
        .filter(|f| !f.is_empty())
        .collect();
    folders.dedup();
    Ok(TaxonomyPage {
        page: Page::new(ctx, "分类、标签与知识库", "taxonomy"),
        groups,
        group,
        categories,
        tags,
        kb,
        folders,
        q,
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
    let page = taxonomy_page(state, ctx, user, group, String::new(), kept).await?;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn page(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let wanted = q.group.trim().parse().ok().map(GroupId);
    let search = q.q.trim().to_string();
    render(&taxonomy_page(&state, &ctx, &s.user, wanted, search, Kept::default()).await?)
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
    let name = match check_name(&f.name, "分类") {
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
                    format!("咨询分类 {n}"),
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
            format!("分类 {name} 已添加"),
        )),
        Err(m) => {
            let kept = Kept {
                section: "categories",
                error: Some(m.into()),
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
    let name = match check_name(&f.name, "分类") {
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
            let target = format!("咨询分类 {} → {n}", cat.name);
            audit(c, &by, AuditAction::CategoryUpdate, target, now)
        })
        .await?;
    Ok(done(
        &ctx,
        Some(cat.group_id),
        "categories",
        "分类名称已保存",
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
        _ => return Err(AppError::BadRequest("请选择上移或下移".into())),
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    let name = cat.name.clone();
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            if tax::move_category(c, id, up)? {
                let target = format!("咨询分类 {name}(调整顺序)");
                audit(c, &by, AuditAction::CategoryUpdate, target, now)?;
            }
            Ok(())
        })
        .await?;
    Ok(done(&ctx, Some(cat.group_id), "categories", "顺序已调整"))
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
                format!("咨询分类 {name}"),
                now,
            )
        })
        .await?;
    Ok(done(
        &ctx,
        Some(cat.group_id),
        "categories",
        format!("分类 {} 及其子分类已删除", cat.name),
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
    let name = match check_name(&f.name, "标签") {
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
                audit(c, &by, AuditAction::TagCreate, format!("会话标签 {n}"), now)?;
            }
            Ok(added)
        })
        .await?;
    match added {
        Ok(_) => Ok(done(&ctx, None, "tags", format!("标签 {name} 已添加"))),
        Err(m) => refused(&state, &ctx, &s.user, None, refuse(m.into(), f)).await,
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
    let name = match check_name(&f.name, "标签") {
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
            let target = format!("会话标签 {} → {name}", tag.name);
            audit(c, &by, AuditAction::TagUpdate, target, now)
        })
        .await?;
    Ok(done(&ctx, None, "tags", "标签名称已保存"))
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
                format!("会话标签 {name}"),
                now,
            )
        })
        .await?;
    Ok(done(
        &ctx,
        None,
        "tags",
        format!("标签 {} 及其子标签已删除", tag.name),
    ))
}

// ---- 知识库 ---------------------------------------------------------------

pub async fn add_kb(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Form(f): Form<KbForm>,
) -> Result<Response, AppError> {
    let group = form_group(&f.group)?;
    let user = s.user.clone();
    state.db.read(move |c| check_group(c, &user, group)).await?;
    let (folder, title, body) = match check_kb(&f) {
        Ok(v) => v,
        Err(m) => {
            let kept = Kept {
                section: "kb",
                error: Some(m),
                kb: f,
                ..Kept::default()
            };
            return refused(&state, &ctx, &s.user, Some(group), kept).await;
        }
    };
    let (by, now, t) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        title.clone(),
    );
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            tax::add_kb(c, group, &folder, &t, &body, now)?;
            audit(c, &by, AuditAction::KbCreate, format!("知识库 {t}"), now)
        })
        .await?;
    Ok(done(
        &ctx,
        Some(group),
        "kb",
        format!("条目 {title} 已添加"),
    ))
}

#[derive(Template)]
#[template(path = "admin/taxonomy_kb_edit.html")]
struct KbEditPage {
    page: Page,
    id: i64,
    group: Group,
    f: KbForm,
    error: Option<String>,
}

/// Loads an entry and its group, checking that the user manages the group.
async fn managed_kb(state: &AppState, user: &User, id: i64) -> Result<(KbEntry, Group), AppError> {
    let user = user.clone();
    state
        .db
        .read(move |c| -> Result<_, AppError> {
            let e = tax::kb_entry(c, id)?.ok_or(AppError::NotFound)?;
            check_group(c, &user, e.group_id)?;
            let g = crate::db::groups::get(c, e.group_id)?.ok_or(AppError::NotFound)?;
            Ok((e, g))
        })
        .await
}

pub async fn edit_kb(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let (e, group) = managed_kb(&state, &s.user, id).await?;
    render(&KbEditPage {
        page: Page::new(&ctx, format!("修改知识库条目 {}", e.title), "taxonomy"),
        id,
        f: KbForm {
            group: group.id.to_string(),
            folder: e.folder,
            title: e.title,
            body: e.body,
        },
        group,
        error: None,
    })
}

pub async fn update_kb(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Form(f): Form<KbForm>,
) -> Result<Response, AppError> {
    let (old, group) = managed_kb(&state, &s.user, id).await?;
    let (folder, title, body) = match check_kb(&f) {
        Ok(v) => v,
        Err(m) => {
            let page = KbEditPage {
                page: Page::new(&ctx, format!("修改知识库条目 {}", old.title), "taxonomy"),
                id,
                group,
                f,
                error: Some(m),
            };
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            tax::update_kb(c, id, &folder, &title, &body, now)?;
            let target = format!("知识库 {} → {title}", old.title);
            audit(c, &by, AuditAction::KbUpdate, target, now)
        })
        .await?;
    Ok(done(&ctx, Some(group.id), "kb", "知识库条目已保存"))
}

pub async fn delete_kb(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let (e, group) = managed_kb(&state, &s.user, id).await?;
    let (by, now, title) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        e.title.clone(),
    );
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            tax::delete_kb(c, id)?;
            audit(
                c,
                &by,
                AuditAction::KbDelete,
                format!("知识库 {title}"),
                now,
            )
        })
        .await?;
    Ok(done(
        &ctx,
        Some(group.id),
        "kb",
        format!("条目 {} 已删除", e.title),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_entries_are_trimmed_and_bounded() {
        assert_eq!(check_name("  价格 ", "分类").unwrap(), "价格");
        assert_eq!(check_name(" ", "分类").unwrap_err(), "请填写分类名称");
        assert!(check_name(&"字".repeat(33), "标签").is_err());
        assert!(check_name(&"字".repeat(32), "标签").is_ok());
        let f = KbForm {
            title: "问候".into(),
            body: " 您好 ".into(),
            ..KbForm::default()
        };
        assert_eq!(
            check_kb(&f).unwrap(),
            (String::new(), "问候".into(), "您好".into())
        );
        let empty = KbForm {
            title: "问候".into(),
            ..KbForm::default()
        };
        assert_eq!(check_kb(&empty).unwrap_err(), "请填写回复内容");
    }
}
