//! 知识库 and 常见问题 editors (E3, E4; S3 2.1, 2.2, 2.4): `/admin/kb` and
//! `/admin/faq`, one page each over the same handlers (the path says which
//! tree). Left, the tree with ＋ (add a child), ↑ ↓ (sort among siblings),
//! 移动 (to another folder), 停用/启用 and 删除 — right, the search (text,
//! created dates, NEW, state) with its PDF export; below, the subtrees each
//! group is given. An admin works on the subtrees of their groups; a
//! super admin on the whole tree (`access::tree_roots`, `manages_tree_node`).
//! SQL lives in `db::tree`, tree shaping in `engine::tree`. The changes to
//! nodes are in `nodes`, the PDF in `export`.

mod export;
mod nodes;

pub use export::export;
pub use nodes::{add, assign, delete, edit, image, move_node, toggle, update};

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

/// The tree's name in the interface language.
fn label(kind: TreeKind) -> String {
    kind.label()
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
            from: date(&self.from, "common-from")?,
            to: date(&self.to, "common-to")?,
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

/// A date typed as YYYY-MM-DD; empty is none. `what`: the field's message key.
fn date(raw: &str, what: &str) -> Result<Option<String>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<jiff::civil::Date>()
        .map(|d| Some(d.to_string()))
        .map_err(|_| crate::t1("kb-date-invalid", "what", crate::t(what)))
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
            return Err(crate::t("kb-title-missing"));
        }
        if title.chars().count() > 100 {
            return Err(crate::t1("kb-title-too-long", "max", 100));
        }
        let folder = self.is("folder");
        let is_image = self.is("image");
        if is_image && kind == TreeKind::Faq {
            return Err(crate::t("kb-faq-text-only"));
        }
        let body = self.body.trim();
        if !folder && !is_image && body.is_empty() {
            return Err(crate::t("kb-body-missing"));
        }
        if body.chars().count() > 2000 {
            return Err(crate::t1("kb-body-too-long", "max", 2000));
        }
        let keywords = shape::keywords(&self.keywords).join("，");
        if keywords.chars().count() > 200 {
            return Err(crate::t1("kb-keywords-too-long", "max", 200));
        }
        let (valid_from, valid_to) = if self.validity == "range" {
            let (f, t) = (
                date(&self.valid_from, "kb-valid-from-name")?,
                date(&self.valid_to, "kb-valid-to-name")?,
            );
            if f.is_none() && t.is_none() {
                return Err(crate::t("kb-validity-empty"));
            }
            if let (Some(f), Some(t)) = (&f, &t) {
                if t < f {
                    return Err(crate::t("kb-validity-reversed"));
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
            new_until: date(&self.new_until, "kb-new-until-name")?,
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
    /// Enabled but outside its validity today: past it, or not yet in it.
    pub expired: bool,
    pub upcoming: bool,
    pub new: bool,
    pub uses: i64,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    pub created: String,
}

impl Row {
    /// The catalogue key of its state chip: off, expired or not valid yet
    /// (`None` while it is in use).
    pub fn state_key(&self) -> Option<&'static str> {
        if !self.enabled {
            Some("kb-state-off")
        } else if self.upcoming {
            Some("kb-state-upcoming")
        } else if self.expired {
            Some("kb-state-expired")
        } else {
            None
        }
    }

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
            expired: n.enabled
                && !shape::valid(n, today)
                && n.valid_from.as_deref().is_none_or(|f| f <= today),
            upcoming: n.enabled && n.valid_from.as_deref().is_some_and(|f| f > today),
            new: shape::is_new(n, today),
            uses: n.uses,
            valid_from: n.valid_from.clone(),
            valid_to: n.valid_to.clone(),
            created: shape::day(n.created_at, tz),
        }
    }

    /// The validity in the current language.
    pub fn validity(&self) -> String {
        match (&self.valid_from, &self.valid_to) {
            (None, None) => crate::t("kb-valid-forever"),
            (Some(f), None) => crate::t1("kb-valid-since", "from", f.as_str()),
            (None, Some(t)) => crate::t1("kb-valid-until", "to", t.as_str()),
            (Some(f), Some(t)) => {
                crate::t2("kb-valid-between", "from", f.as_str(), "to", t.as_str())
            }
        }
    }

    /// Full-width spaces that indent the row.
    pub fn indent(&self) -> String {
        "\u{3000}".repeat(self.depth)
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
    label: String,
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
    let label = label(kind);
    Ok(TreePage {
        page: Page::new(ctx, label.clone(), kind.as_str()),
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
