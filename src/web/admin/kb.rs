//! 知识库 and 常见问题 editors (E3, E4; S3 2.1, 2.2, 2.4): `/admin/kb` and
//! `/admin/faq`, one page each over the same handlers (the path says which
//! tree). Left, the tree with ＋ (add a child), ↑ ↓ (sort among siblings),
//! 移动 (to another folder), 停用/启用 and 删除 — right, the search (text,
//! created dates, NEW, state) with its PDF export; below, the subtrees each
//! group is given. An admin works on the subtrees of their groups; a
//! super admin on the whole tree (`access::tree_roots`, `manages_tree_node`).
//! SQL lives in `db::tree`, tree shaping in `engine::tree`.

use crate::access::{self, Viewer};
use crate::db::audit::Entry;
use crate::db::tree::{self, Fields, Node, TreeKind};
use crate::engine::tree as shape;
use crate::error::AppError;
use crate::model::{AuditAction, Group, GroupId, Role, User};
use crate::state::AppState;
use crate::team::Acting;
use crate::web::form::{Form, IdPath, Query};
use crate::web::page::{Page, render, render_status};
use crate::web::session::{AdminUser, Ctx, with_flash};
use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use rusqlite::Connection;
use serde::Deserialize;
use std::collections::HashSet;

/// Which tree a request is about, by its path.
pub fn kind_of(uri: &Uri) -> TreeKind {
    if uri.path().contains("/faq") {
        TreeKind::Faq
    } else {
        TreeKind::Kb
    }
}

fn base(kind: TreeKind) -> &'static str {
    match kind {
        TreeKind::Kb => "/admin/kb",
        TreeKind::Faq => "/admin/faq",
    }
}

/// The search as typed as S3 2.1 has it: 文字 · 创建时间 · NEW标签 · 状态.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct SearchForm {
    pub q: String,
    pub from: String,
    pub to: String,
    /// `on`, `off` or empty.
    pub new: String,
    /// `on`, `off` or empty.
    pub state: String,
    /// A folder to add a child to (the ＋ of a tree row).
    pub add: String,
}

impl SearchForm {
    fn parsed(&self) -> Result<shape::Search, String> {
        let flag = |s: &str| match s {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        };
        Ok(shape::Search {
            text: self.q.trim().chars().take(50).collect(),
            from: date(&self.from, "开始日期")?,
            to: date(&self.to, "结束日期")?,
            new: flag(&self.new),
            enabled: flag(&self.state),
        })
    }

    fn query(&self) -> String {
        serde_urlencoded::to_string([
            ("q", self.q.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("new", self.new.as_str()),
            ("state", self.state.as_str()),
        ])
        .unwrap_or_default()
    }
}

/// A date typed as YYYY-MM-DD; empty is none.
fn date(raw: &str, what: &str) -> Result<Option<String>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<jiff::civil::Date>()
        .map(|d| Some(d.to_string()))
        .map_err(|_| format!("{what}格式不正确，应为 年-月-日"))
}

/// A node as typed in the 新增节点 / 修改 form.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct NodeForm {
    /// The folder it goes in; empty: the top level.
    pub parent: String,
    /// For an admin's new top-level folder: the group given it.
    pub group: String,
    /// `folder`, `text` or `image`.
    pub kind: String,
    pub title: String,
    pub body: String,
    pub keywords: String,
    pub enabled: Option<String>,
    pub new_until: String,
    /// `forever` or `range`.
    pub validity: String,
    pub valid_from: String,
    pub valid_to: String,
}

impl NodeForm {
    fn of(n: &Node) -> NodeForm {
        NodeForm {
            parent: n.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            group: String::new(),
            kind: if n.folder {
                "folder"
            } else if !n.image.is_empty() {
                "image"
            } else {
                "text"
            }
            .into(),
            title: n.title.clone(),
            body: n.body.clone(),
            keywords: n.keywords.clone(),
            enabled: n.enabled.then(|| "on".into()),
            new_until: n.new_until.clone().unwrap_or_default(),
            validity: if n.valid_from.is_some() || n.valid_to.is_some() {
                "range"
            } else {
                "forever"
            }
            .into(),
            valid_from: n.valid_from.clone().unwrap_or_default(),
            valid_to: n.valid_to.clone().unwrap_or_default(),
        }
    }

    fn is(&self, k: &str) -> bool {
        self.kind == k || (k == "text" && self.kind.is_empty())
    }

    /// The fields to store, trimmed and checked. `image`: the image an
    /// entry already has (kept on edit).
    fn checked(&self, kind: TreeKind, image: &str) -> Result<Fields, String> {
        let title = self.title.trim();
        if title.is_empty() {
            return Err("请填写标题".into());
        }
        if title.chars().count() > 100 {
            return Err("标题不能超过 100 个字".into());
        }
        let folder = self.is("folder");
        let is_image = self.is("image");
        if is_image && kind == TreeKind::Faq {
            return Err("常见问题的答案只能是文字（被动回复不能带图片）".into());
        }
        let body = self.body.trim();
        if !folder && !is_image && body.is_empty() {
            return Err("请填写内容".into());
        }
        if body.chars().count() > 2000 {
            return Err("内容不能超过 2000 个字".into());
        }
        let keywords = shape::keywords(&self.keywords).join("，");
        if keywords.chars().count() > 200 {
            return Err("关键字合计不能超过 200 个字".into());
        }
        let (valid_from, valid_to) = if self.validity == "range" {
            let (f, t) = (
                date(&self.valid_from, "有效期开始日期")?,
                date(&self.valid_to, "有效期结束日期")?,
            );
            if f.is_none() && t.is_none() {
                return Err("自定义有效期请至少填写开始或结束日期".into());
            }
            if let (Some(f), Some(t)) = (&f, &t) {
                if t < f {
                    return Err("有效期的结束日期不能早于开始日期".into());
                }
            }
            (f, t)
        } else {
            (None, None)
        };
        Ok(Fields {
            folder,
            title: title.into(),
            body: if folder { String::new() } else { body.into() },
            image: if is_image {
                image.into()
            } else {
                String::new()
            },
            keywords,
            enabled: self.enabled.is_some(),
            new_until: date(&self.new_until, "NEW 标签截止日期")?,
            valid_from,
            valid_to,
        })
    }
}

/// What a stored node's form fields are (used when only some change).
pub fn fields_of(n: &Node) -> Fields {
    Fields {
        folder: n.folder,
        title: n.title.clone(),
        body: n.body.clone(),
        image: n.image.clone(),
        keywords: n.keywords.clone(),
        enabled: n.enabled,
        new_until: n.new_until.clone(),
        valid_from: n.valid_from.clone(),
        valid_to: n.valid_to.clone(),
    }
}

/// One row of the tree or of the search result, as drawn.
pub struct Row {
    pub id: i64,
    pub depth: usize,
    pub folder: bool,
    pub title: String,
    pub body: String,
    pub image: bool,
    pub keywords: String,
    pub enabled: bool,
    /// Enabled but outside its validity today.
    pub expired: bool,
    pub new: bool,
    pub uses: i64,
    pub validity: String,
    pub created: String,
}

impl Row {
    pub fn of(n: &Node, depth: usize, today: &str, tz: &jiff::tz::TimeZone) -> Row {
        Row {
            id: n.id,
            depth,
            folder: n.folder,
            title: n.title.clone(),
            body: n.body.clone(),
            image: !n.image.is_empty(),
            keywords: n.keywords.clone(),
            enabled: n.enabled,
            expired: n.enabled && !shape::valid(n, today),
            new: shape::is_new(n, today),
            uses: n.uses,
            validity: validity(n),
            created: shape::day(n.created_at, tz),
        }
    }

    /// Full-width spaces that indent the row.
    pub fn indent(&self) -> String {
        "\u{3000}".repeat(self.depth)
    }
}

fn validity(n: &Node) -> String {
    match (&n.valid_from, &n.valid_to) {
        (None, None) => "永久有效".into(),
        (Some(f), None) => format!("{f} 起"),
        (None, Some(t)) => format!("至 {t}"),
        (Some(f), Some(t)) => format!("{f} 至 {t}"),
    }
}

/// A group and the roots it is given, for the 客服组 section.
pub struct GroupRoots {
    pub group: Group,
    pub roots: Vec<i64>,
}

#[derive(Template)]
#[template(path = "admin/kb.html")]
struct TreePage {
    page: Page,
    label: &'static str,
    base: &'static str,
    faq: bool,
    tree: Vec<Row>,
    results: Vec<Row>,
    searching: bool,
    search: SearchForm,
    export: String,
    folders: Vec<Row>,
    groups: Vec<Group>,
    assign: Vec<GroupRoots>,
    is_super: bool,
    form: NodeForm,
    error: Option<String>,
}

impl TreePage {
    fn picked(&self, g: &GroupRoots, id: &i64) -> bool {
        g.roots.contains(id)
    }
}

/// What the viewer sees of the tree: the nodes, the ids they reach, and
/// where their view starts.
struct Scope {
    viewer: Viewer,
    nodes: Vec<Node>,
    roots: Vec<i64>,
    reach: HashSet<i64>,
}

fn scope(c: &Connection, user: &User, kind: TreeKind) -> crate::db::DbResult<Scope> {
    let viewer = Viewer::load(c, user)?;
    let nodes = tree::all(c, kind)?;
    let roots = access::tree_roots(c, &viewer, kind, &nodes)?;
    let reach = shape::depth_first(&nodes, &roots, |_| true)
        .into_iter()
        .map(|(n, _)| n.id)
        .collect();
    Ok(Scope {
        viewer,
        nodes,
        roots,
        reach,
    })
}

fn today(state: &AppState) -> String {
    shape::day(state.clock.now(), &state.config.timezone)
}

#[allow(clippy::too_many_arguments)]
async fn tree_page(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    kind: TreeKind,
    search: SearchForm,
    form: NodeForm,
    error: Option<String>,
) -> Result<TreePage, AppError> {
    let (u, today, tz) = (user.clone(), today(state), state.config.timezone.clone());
    let parsed = search.parsed();
    let (error, filter) = match parsed {
        Ok(s) => (error, s),
        Err(m) => (Some(m), shape::Search::default()),
    };
    let f2 = filter.clone();
    let (tree, results, folders, groups, assign) = state
        .db
        .read(move |c| -> Result<_, AppError> {
            let s = scope(c, &u, kind)?;
            let drawn = shape::depth_first(&s.nodes, &s.roots, |_| true);
            let tree: Vec<Row> = drawn
                .iter()
                .map(|(n, d)| Row::of(n, *d, &today, &tz))
                .collect();
            let results: Vec<Row> = drawn
                .iter()
                .filter(|(n, _)| shape::matches(n, &f2, &shape::day(n.created_at, &tz), &today))
                .map(|(n, d)| Row::of(n, *d, &today, &tz))
                .collect();
            let folders = drawn
                .iter()
                .filter(|(n, _)| n.folder)
                .map(|(n, d)| Row::of(n, *d, &today, &tz))
                .collect();
            let groups: Vec<Group> = access::groups(c, &s.viewer)?;
            let mut assign = Vec::new();
            for g in &groups {
                assign.push(GroupRoots {
                    group: g.clone(),
                    roots: tree::roots(c, kind, g.id)?,
                });
            }
            Ok((tree, results, folders, groups, assign))
        })
        .await?;
    let label = kind.label();
    Ok(TreePage {
        page: Page::new(ctx, label, kind.as_str()),
        label,
        base: base(kind),
        faq: kind == TreeKind::Faq,
        tree,
        results,
        searching: !filter.is_empty(),
        export: format!("{}/export.pdf?{}", base(kind), search.query()),
        search,
        folders,
        groups,
        assign,
        is_super: user.role == Role::SuperAdmin,
        form,
        error,
    })
}

pub async fn page(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    uri: Uri,
    Query(q): Query<SearchForm>,
) -> Result<Response, AppError> {
    let form = NodeForm {
        parent: q.add.clone(),
        enabled: Some("on".into()),
        validity: "forever".into(),
        kind: "text".into(),
        ..NodeForm::default()
    };
    let bad = q.parsed().is_err();
    let page = tree_page(&state, &ctx, &s.user, kind_of(&uri), q, form, None).await?;
    if bad {
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    render(&page)
}

/// The search result as a PDF (the export machinery of the reports).
pub async fn export(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    uri: Uri,
    Query(q): Query<SearchForm>,
) -> Result<Response, AppError> {
    let kind = kind_of(&uri);
    let filter = q.parsed().map_err(AppError::BadRequest)?;
    let (u, today, tz) = (s.user.clone(), today(&state), state.config.timezone.clone());
    let f2 = filter.clone();
    let rows = state
        .db
        .read(move |c| -> Result<Vec<Row>, AppError> {
            let s = scope(c, &u, kind)?;
            Ok(shape::depth_first(&s.nodes, &s.roots, |_| true)
                .into_iter()
                .filter(|(n, _)| shape::matches(n, &f2, &shape::day(n.created_at, &tz), &today))
                .map(|(n, d)| Row::of(n, d, &today, &tz))
                .collect())
        })
        .await?;
    use crate::export::table::{Cell, Table};
    let mut table = Table::new(
        kind.label(),
        &[
            "标题",
            "关键字",
            "内容",
            "状态",
            "有效期",
            "使用次数",
            "创建时间",
        ],
    );
    for r in &rows {
        let state_text = if !r.enabled {
            "停用"
        } else if r.expired {
            "已过期"
        } else {
            "开启"
        };
        table.rows.push(vec![
            Cell::text(if r.new {
                format!("{} [NEW]", r.title)
            } else {
                r.title.clone()
            }),
            Cell::text(r.keywords.clone()),
            Cell::text(if r.image {
                "[图片]".to_string()
            } else {
                r.body.clone()
            }),
            Cell::text(state_text),
            Cell::text(r.validity.clone()),
            Cell::text(r.uses.to_string()),
            Cell::text(r.created.clone()),
        ]);
    }
    let mut filters = Vec::new();
    if !filter.text.is_empty() {
        filters.push(("文字".to_string(), filter.text.clone()));
    }
    if filter.from.is_some() || filter.to.is_some() {
        filters.push((
            "创建时间".to_string(),
            format!(
                "{} 至 {}",
                filter.from.clone().unwrap_or_default(),
                filter.to.clone().unwrap_or_default()
            ),
        ));
    }
    if let Some(n) = filter.new {
        filters.push(("NEW标签".into(), if n { "是" } else { "否" }.into()));
    }
    if let Some(e) = filter.enabled {
        filters.push(("状态".into(), if e { "开启" } else { "停用" }.into()));
    }
    let list = crate::export::pdf::Listing {
        title: kind.label().into(),
        filters,
        exported_at: state
            .clock
            .now()
            .to_zoned(state.config.timezone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        exported_by: format!("{}（{}）", s.user.display_name, s.user.username),
        table,
        heading: vec![0],
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    let entry = Entry::new(
        AuditAction::ReportExport,
        format!("{}，PDF，{} 条", kind.label(), rows.len()),
    );
    state
        .db
        .write(move |c| crate::db::audit::record(c, &crate::team::actor(&by), &entry, now))
        .await?;
    let bytes = tokio::task::spawn_blocking(move || {
        crate::export::pdf::render_listing(&list, crate::export::font::transcript())
    })
    .await
    .map_err(|e| AppError::Internal(format!("rendering the tree as PDF: {e}")))?;
    let name = format!("{}.pdf", kind.label());
    Ok((
        StatusCode::OK,
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                crate::export::attachment(&name, "kb.pdf"),
            ),
            (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

fn actions(kind: TreeKind) -> (AuditAction, AuditAction, AuditAction) {
    match kind {
        TreeKind::Kb => (
            AuditAction::KbCreate,
            AuditAction::KbUpdate,
            AuditAction::KbDelete,
        ),
        TreeKind::Faq => (
            AuditAction::FaqCreate,
            AuditAction::FaqUpdate,
            AuditAction::FaqDelete,
        ),
    }
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

fn done(ctx: &Ctx, to: String, text: impl Into<String>) -> Response {
    with_flash(Redirect::to(&to), true, text, ctx.secure_cookies)
}

/// The node, checking that it is of this tree and that the user may change it.
fn managed(c: &Connection, user: &User, kind: TreeKind, id: i64) -> Result<Node, AppError> {
    let n = tree::get(c, id)?
        .filter(|n| n.kind == kind)
        .ok_or(AppError::NotFound)?;
    let viewer = Viewer::load(c, user)?;
    if !access::manages_tree_node(&viewer, &tree::groups_of(c, id)?) {
        return Err(AppError::Forbidden);
    }
    Ok(n)
}

async fn refused(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    kind: TreeKind,
    form: NodeForm,
    error: String,
) -> Result<Response, AppError> {
    let page = tree_page(
        state,
        ctx,
        user,
        kind,
        SearchForm::default(),
        form,
        Some(error),
    )
    .await?;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// 新增节点 — a folder or an entry, in a folder the user manages or, at the
/// top level, for the super admin or given to one of the admin's groups.
pub async fn add(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    uri: Uri,
    Form(f): Form<NodeForm>,
) -> Result<Response, AppError> {
    let kind = kind_of(&uri);
    let parent: Option<i64> = f.parent.trim().parse().ok();
    let group: Option<GroupId> = f.group.trim().parse().ok().map(GroupId);
    let fields = match f.checked(kind, "") {
        Ok(v) => v,
        Err(m) => return refused(&state, &ctx, &s.user, kind, f, m).await,
    };
    let user = s.user.clone();
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    let title = fields.title.clone();
    let image = f.is("image");
    let result = state
        .db
        .write(move |c| -> Result<Result<i64, String>, AppError> {
            let viewer = Viewer::load(c, &user)?;
            let give_to = match parent {
                Some(p) => {
                    managed(c, &user, kind, p)?;
                    None
                }
                None if viewer.reach == access::Reach::All => group,
                None => {
                    let g = group
                        .ok_or_else(|| AppError::BadRequest("请选择顶级目录所属的客服组".into()))?;
                    access::group(&viewer, g)?;
                    Some(g)
                }
            };
            let id = match tree::add(c, kind, parent, &fields, now)? {
                Ok(id) => id,
                Err(m) => return Ok(Err(m.to_string())),
            };
            if let Some(g) = give_to {
                tree::give(c, g, id)?;
            }
            audit(
                c,
                &by,
                actions(kind).0,
                format!("{} {}", kind.label(), fields.title),
                now,
            )?;
            Ok(Ok(id))
        })
        .await?;
    match result {
        Ok(id) if image => Ok(done(
            &ctx,
            format!("{}/nodes/{id}", base(kind)),
            format!("{title} 已添加，请上传图片"),
        )),
        Ok(_) => Ok(done(&ctx, base(kind).into(), format!("{title} 已添加"))),
        Err(m) => refused(&state, &ctx, &s.user, kind, f, m).await,
    }
}

#[derive(Template)]
#[template(path = "admin/kb_edit.html")]
struct EditPage {
    page: Page,
    label: &'static str,
    base: &'static str,
    faq: bool,
    id: i64,
    image: String,
    form: NodeForm,
    folders: Vec<Row>,
    error: Option<String>,
}

async fn edit_page(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    kind: TreeKind,
    id: i64,
    form: Option<NodeForm>,
    error: Option<String>,
) -> Result<EditPage, AppError> {
    let (u, today, tz) = (user.clone(), today(state), state.config.timezone.clone());
    let (n, folders) = state
        .db
        .read(move |c| -> Result<_, AppError> {
            let n = managed(c, &u, kind, id)?;
            let s = scope(c, &u, kind)?;
            let below: HashSet<i64> = shape::subtree(&s.nodes, id).into_iter().collect();
            let folders: Vec<Row> = shape::depth_first(&s.nodes, &s.roots, |_| true)
                .into_iter()
                .filter(|(f, _)| f.folder && !below.contains(&f.id) && s.reach.contains(&f.id))
                .map(|(f, d)| Row::of(f, d, &today, &tz))
                .collect();
            Ok((n, folders))
        })
        .await?;
    let label = kind.label();
    Ok(EditPage {
        page: Page::new(ctx, format!("修改{label} {}", n.title), kind.as_str()),
        label,
        base: base(kind),
        faq: kind == TreeKind::Faq,
        id,
        image: n.image.clone(),
        form: form.unwrap_or_else(|| NodeForm::of(&n)),
        folders,
        error,
    })
}

pub async fn edit(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    uri: Uri,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    render(&edit_page(&state, &ctx, &s.user, kind_of(&uri), id, None, None).await?)
}

pub async fn update(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    uri: Uri,
    IdPath(id): IdPath,
    Form(mut f): Form<NodeForm>,
) -> Result<Response, AppError> {
    let kind = kind_of(&uri);
    let user = s.user.clone();
    let old = state.db.read(move |c| managed(c, &user, kind, id)).await?;
    // A folder stays a folder and an entry an entry.
    if old.folder {
        f.kind = "folder".into();
    } else if f.is("folder") {
        f.kind = "text".into();
    }
    let fields = match f.checked(kind, &old.image) {
        Ok(v) => v,
        Err(m) => {
            let page = edit_page(&state, &ctx, &s.user, kind, id, Some(f), Some(m)).await?;
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    let title = fields.title.clone();
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            tree::update(c, id, &fields, now)?;
            audit(
                c,
                &by,
                actions(kind).1,
                format!("{} {} → {}", kind.label(), old.title, fields.title),
                now,
            )
        })
        .await?;
    Ok(done(&ctx, base(kind).into(), format!("{title} 已保存")))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct MoveForm {
    /// `up` or `down` (sort among siblings), else empty.
    dir: String,
    /// The folder to move to — 移动到 — empty with `top`: the top level.
    parent: String,
    top: Option<String>,
}

/// ↑ ↓ among siblings, or 移动到 another folder.
pub async fn move_node(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    uri: Uri,
    IdPath(id): IdPath,
    Form(f): Form<MoveForm>,
) -> Result<Response, AppError> {
    let kind = kind_of(&uri);
    let user = s.user.clone();
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    let text = state
        .db
        .write(move |c| -> Result<String, AppError> {
            let n = managed(c, &user, kind, id)?;
            match f.dir.as_str() {
                "up" | "down" => {
                    tree::reorder(c, id, f.dir == "up")?;
                    return Ok("顺序已调整".into());
                }
                "" => {}
                _ => return Err(AppError::BadRequest("无效的移动方向".into())),
            }
            let parent: Option<i64> = if f.top.is_some() {
                // The top level is no group's: only the super admin places there.
                if Viewer::load(c, &user)?.reach != access::Reach::All {
                    return Err(AppError::Denied("只有超级管理员可以移动到顶级".into()));
                }
                None
            } else {
                let p = f
                    .parent
                    .trim()
                    .parse()
                    .map_err(|_| AppError::BadRequest("请选择目标目录".into()))?;
                managed(c, &user, kind, p)?;
                Some(p)
            };
            match tree::move_to(c, id, parent, now)? {
                Ok(()) => {
                    audit(
                        c,
                        &by,
                        actions(kind).1,
                        format!("{} {}（移动）", kind.label(), n.title),
                        now,
                    )?;
                    Ok(format!("{} 已移动", n.title))
                }
                Err(m) => Err(AppError::Conflict(m.into())),
            }
        })
        .await?;
    Ok(done(&ctx, base(kind).into(), text))
}

/// 停用 / 启用.
pub async fn toggle(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    uri: Uri,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let kind = kind_of(&uri);
    let user = s.user.clone();
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    let text = state
        .db
        .write(move |c| -> Result<String, AppError> {
            let n = managed(c, &user, kind, id)?;
            tree::set_enabled(c, id, !n.enabled)?;
            let what = if n.enabled { "停用" } else { "启用" };
            audit(
                c,
                &by,
                actions(kind).1,
                format!("{} {}（{what}）", kind.label(), n.title),
                now,
            )?;
            Ok(format!("{} 已{what}", n.title))
        })
        .await?;
    Ok(done(&ctx, base(kind).into(), text))
}

pub async fn delete(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    uri: Uri,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let kind = kind_of(&uri);
    let user = s.user.clone();
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    let title = state
        .db
        .write(move |c| -> Result<String, AppError> {
            let n = managed(c, &user, kind, id)?;
            tree::delete(c, id)?;
            audit(
                c,
                &by,
                actions(kind).2,
                format!("{} {}", kind.label(), n.title),
                now,
            )?;
            Ok(n.title)
        })
        .await?;
    Ok(done(
        &ctx,
        base(kind).into(),
        format!("{title} 已删除（含下级）"),
    ))
}

/// 图片 — an entry's image (JPG, PNG or GIF up to 10 MB), multipart with the
/// CSRF token in the query.
pub async fn image(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    uri: Uri,
    IdPath(id): IdPath,
    mut form: Multipart,
) -> Result<Response, AppError> {
    let kind = kind_of(&uri);
    let user = s.user.clone();
    let n = state.db.read(move |c| managed(c, &user, kind, id)).await?;
    if n.folder || kind == TreeKind::Faq {
        return Err(AppError::BadRequest("只有知识库条目可以上传图片".into()));
    }
    let mut bytes: Option<Vec<u8>> = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest("上传内容不完整，请重试".into()))?
    {
        if field.name() == Some("file") {
            bytes = Some(
                field
                    .bytes()
                    .await
                    .map_err(|_| AppError::TooLarge)?
                    .to_vec(),
            );
        }
    }
    let bytes = bytes
        .filter(|b| !b.is_empty())
        .ok_or_else(|| AppError::BadRequest("请选择一张图片".into()))?;
    if bytes.len() > crate::web::console::uploads::MAX_IMAGE {
        return Err(AppError::TooLarge);
    }
    let (ext, _) = crate::web::console::uploads::sniff(&bytes)
        .ok_or_else(|| AppError::BadRequest("只能上传 JPG、PNG 或 GIF 图片".into()))?;
    let mut token = [0u8; 12];
    getrandom::fill(&mut token).map_err(|e| AppError::Internal(e.to_string()))?;
    let hex: String = token.iter().map(|b| format!("{b:02x}")).collect();
    let rel = format!("kb/{hex}.{ext}");
    let path = crate::wechat::outbox::safe_join(&state.wechat.media_dir, &rel)
        .ok_or(AppError::NotFound)?;
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| AppError::Internal(format!("{}: {e}", dir.display())))?;
    }
    tokio::fs::write(&path, bytes)
        .await
        .map_err(|e| AppError::Internal(format!("{}: {e}", path.display())))?;
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            let mut f = fields_of(&n);
            f.image = rel;
            tree::update(c, id, &f, now)?;
            audit(
                c,
                &by,
                AuditAction::KbUpdate,
                format!("知识库 {}（图片）", n.title),
                now,
            )
        })
        .await?;
    Ok(done(
        &ctx,
        format!("{}/nodes/{id}", base(kind)),
        "图片已上传",
    ))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct AssignForm {
    group: String,
    roots: Vec<String>,
}

/// Gives a group its subtrees (S3 2.4): the nodes picked, each the user may
/// change, for a group the user administers.
pub async fn assign(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    uri: Uri,
    Form(f): Form<AssignForm>,
) -> Result<Response, AppError> {
    let kind = kind_of(&uri);
    let group: GroupId = f
        .group
        .trim()
        .parse()
        .map(GroupId)
        .map_err(|_| AppError::BadRequest("请选择客服组".into()))?;
    let picked: Vec<i64> = f.roots.iter().filter_map(|r| r.parse().ok()).collect();
    let user = s.user.clone();
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    let name = state
        .db
        .write(move |c| -> Result<String, AppError> {
            let viewer = Viewer::load(c, &user)?;
            access::group(&viewer, group)?;
            let mut keep = Vec::new();
            for id in &picked {
                managed(c, &user, kind, *id)?;
                keep.push(*id);
            }
            // An admin keeps the roots of the group they cannot reach otherwise.
            tree::set_roots(c, kind, group, &keep)?;
            let name = crate::db::groups::get(c, group)?
                .map(|g| g.name)
                .unwrap_or_default();
            audit(
                c,
                &by,
                AuditAction::GroupUpdate,
                format!("客服组 {name} 的{}（{} 个节点）", kind.label(), keep.len()),
                now,
            )?;
            Ok(name)
        })
        .await?;
    Ok(done(
        &ctx,
        format!("{}#groups", base(kind)),
        format!("{name} 的{}已保存", kind.label()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_form_is_checked_and_trimmed() {
        let f = NodeForm {
            kind: "text".into(),
            title: " 开始接待 ".into(),
            body: " 您好 ".into(),
            keywords: "接待，开始".into(),
            enabled: Some("on".into()),
            validity: "range".into(),
            valid_from: "2026-05-01".into(),
            valid_to: "2026-05-31".into(),
            ..NodeForm::default()
        };
        let v = f.checked(TreeKind::Kb, "").unwrap();
        assert_eq!(
            (v.title.as_str(), v.body.as_str(), v.keywords.as_str()),
            ("开始接待", "您好", "接待，开始")
        );
        assert_eq!(v.valid_to.as_deref(), Some("2026-05-31"));
        let bad = |f: NodeForm| f.checked(TreeKind::Kb, "").unwrap_err();
        assert_eq!(
            bad(NodeForm {
                valid_to: "2026-04-01".into(),
                ..f.clone()
            }),
            "有效期的结束日期不能早于开始日期"
        );
        assert_eq!(
            bad(NodeForm {
                valid_from: "5月1日".into(),
                ..f.clone()
            }),
            "有效期开始日期格式不正确，应为 年-月-日"
        );
        assert_eq!(
            bad(NodeForm {
                body: " ".into(),
                ..f.clone()
            }),
            "请填写内容"
        );
        let image = NodeForm {
            kind: "image".into(),
            ..f.clone()
        };
        assert!(image.checked(TreeKind::Faq, "").is_err());
        assert_eq!(
            image.checked(TreeKind::Kb, "kb/a.png").unwrap().image,
            "kb/a.png"
        );
        let folder = NodeForm {
            kind: "folder".into(),
            body: String::new(),
            ..f
        };
        assert!(folder.checked(TreeKind::Faq, "").unwrap().folder);
    }
}
