//! Quick replies (D6, E3): the panel beside a chat with the knowledge base of
//! the user's groups (valid, enabled entries as a tree, searchable, with the
//! NEW badge) and their own 我的回复 — inserting or sending an entry counts a
//! use, an image entry is sent as an image. Also the read-only 知识库 and
//! 常见问题 pages of the agent menu, the kb images, and the 我的回复 editor.
//! What a user reaches is `access::tree_roots`; SQL is `db::tree` and
//! `db::myreplies`.

use super::fragment;
use crate::access::{self, Viewer};
use crate::db::myreplies::{self, ReplyGroup};
use crate::db::tree::{self, Node, TreeKind};
use crate::db::{self, DbResult};
use crate::desk;
use crate::engine::tree as shape;
use crate::error::AppError;
use crate::model::{ConversationId, User};
use crate::state::AppState;
use crate::web::admin::kb::{Row, kind_of};
use crate::web::form::{Form, IdPath, Query};
use crate::web::page::{Page, render, render_status};
use crate::web::session::{AnyUser, with_flash};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use rusqlite::Connection;
use serde::Deserialize;
use std::collections::HashSet;

#[derive(Template)]
#[template(path = "console/kb.html")]
pub struct KbView {
    pub q: String,
    /// The knowledge base as a tree: folders and entries with their depth.
    pub rows: Vec<Row>,
    pub mine: Vec<ReplyGroup>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct KbQuery {
    q: String,
}

/// The whole tree, and the ids (with depths) of what the user reads today.
type Readable = (Vec<Node>, Vec<(i64, usize)>);

/// The nodes the user reads today: the subtrees of their groups, valid and
/// enabled (a disabled folder hides what it holds), with depths.
fn readable(c: &Connection, user: &User, kind: TreeKind, today: &str) -> DbResult<Readable> {
    let viewer = Viewer::load(c, user)?;
    let nodes = tree::all(c, kind)?;
    let roots = if viewer.reach == access::Reach::All {
        // A super admin at the desk reads what their groups are given, like anyone.
        tree::roots_of(c, kind, &db::users::group_ids(c, user.id)?)?
    } else {
        access::tree_roots(c, &viewer, kind, &nodes)?
    };
    let shown = shape::visible(&nodes, &roots, today)
        .into_iter()
        .map(|(n, d)| (n.id, d))
        .collect();
    Ok((nodes, shown))
}

/// Keeps the entries that match `q` and the folders above them.
fn search(nodes: &[Node], shown: Vec<(i64, usize)>, q: &str) -> Vec<(i64, usize)> {
    let q = shape::fold(q.trim());
    if q.is_empty() {
        return shown;
    }
    let by_id = |id: i64| nodes.iter().find(|n| n.id == id);
    let mut keep: HashSet<i64> = HashSet::new();
    for (id, _) in &shown {
        let Some(n) = by_id(*id) else { continue };
        if !n.folder
            && [&n.title, &n.keywords, &n.body]
                .iter()
                .any(|f| shape::fold(f).contains(&q))
        {
            let mut at = Some(n.id);
            while let Some(a) = at {
                keep.insert(a);
                at = by_id(a).and_then(|x| x.parent_id);
            }
        }
    }
    shown
        .into_iter()
        .filter(|(id, _)| keep.contains(id))
        .collect()
}

fn today(state: &AppState) -> String {
    shape::day(state.clock.now(), &state.config.timezone)
}

/// The quick-replies panel: the knowledge base of the user's groups and
/// their own replies, searchable.
pub async fn search_panel(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    Query(kq): Query<KbQuery>,
) -> Result<Response, AppError> {
    let user = s.user;
    let q = kq.q.chars().take(50).collect::<String>();
    let (qq, today, tz) = (q.clone(), today(&state), state.config.timezone.clone());
    let (rows, mine) = super::read(&state, move |c| -> DbResult<_> {
        let (nodes, shown) = readable(c, &user, TreeKind::Kb, &today)?;
        let rows = search(&nodes, shown, &qq)
            .into_iter()
            .filter_map(|(id, d)| {
                nodes
                    .iter()
                    .find(|n| n.id == id)
                    .map(|n| Row::of(n, d, &today, &tz))
            })
            .collect();
        let mut mine = myreplies::list(c, user.id)?;
        let fq = shape::fold(qq.trim());
        if !fq.is_empty() {
            for g in &mut mine {
                let group_hit = shape::fold(&g.name).contains(&fq);
                g.replies
                    .retain(|r| group_hit || shape::fold(&r.body).contains(&fq));
            }
            mine.retain(|g| !g.replies.is_empty());
        }
        Ok((rows, mine))
    })
    .await?;
    fragment(&KbView { q, rows, mine })
}

/// The entry if the user reads it today (else not found).
fn readable_entry(c: &Connection, user: &User, id: i64, today: &str) -> Result<Node, AppError> {
    let (nodes, shown) = readable(c, user, TreeKind::Kb, today)?;
    if !shown.iter().any(|(n, _)| *n == id) {
        return Err(AppError::NotFound);
    }
    nodes
        .into_iter()
        .find(|n| n.id == id && !n.folder)
        .ok_or(AppError::NotFound)
}

/// 插入 (or 发送 through the reply box): counts one use of the entry.
pub async fn used(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let (user, today) = (s.user, today(&state));
    state
        .db
        .write(move |c| -> Result<(), AppError> {
            readable_entry(c, &user, id, &today)?;
            tree::count_use(c, id)?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SendForm {
    /// The entry to send.
    node: String,
}

/// 发送 an entry in a conversation the user holds: its text, or its image
/// as an image (recorded as the agent's upload, so the chat shows it); one use.
pub async fn send(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(conv): IdPath,
    Form(f): Form<SendForm>,
) -> Result<Response, AppError> {
    let (user, today, now) = (s.user, today(&state), state.clock.now());
    let conv = ConversationId(conv);
    let id: i64 = f
        .node
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest(crate::t("replies-kb-choose")))?;
    let (message, out) = state
        .db
        .write(move |c| -> Result<_, AppError> {
            let n = readable_entry(c, &user, id, &today)?;
            let sent = if n.image.is_empty() {
                desk::reply(c, &user, conv, &n.body, now)?
            } else {
                let group = desk::visible(c, &user, conv)?.group_id;
                let ext = n.image.rsplit('.').next().unwrap_or("png");
                let content_type = match ext {
                    "jpg" => "image/jpeg",
                    "gif" => "image/gif",
                    _ => "image/png",
                };
                let name = format!("{}.{ext}", n.title);
                let upload =
                    db::uploads::insert(c, user.id, group, &name, &n.image, content_type, 0, now)?;
                desk::reply_image(c, &user, conv, &n.image, upload, now)?
            };
            tree::count_use(c, id)?;
            Ok(sent)
        })
        .await?;
    state.publish(out);
    super::rows::message_fragment(&state, message).await
}

/// A knowledge-base image, to whoever reads its entry (or manages it).
pub async fn image(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    let user = s.user;
    let rel = super::read(&state, move |c| -> Result<String, AppError> {
        let n = tree::get(c, id)?.ok_or(AppError::NotFound)?;
        let v = Viewer::load(c, &user)?;
        if n.image.is_empty() || !access::tree_node(&v, &tree::groups_of(c, id)?) {
            return Err(AppError::NotFound);
        }
        Ok(n.image)
    })
    .await?;
    let path = crate::wechat::outbox::safe_join(&state.wechat.media_dir, &rel)
        .ok_or(AppError::NotFound)?;
    let served = tower::ServiceExt::oneshot(tower_http::services::ServeFile::new(&path), req)
        .await
        .map_err(|e| AppError::Internal(format!("serving kb image {id}: {e}")))?;
    let mut resp = served.map(axum::body::Body::new).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(resp)
}

// ---- read-only 知识库 / 常见问题 (the agent menu) --------------------------

#[derive(Template)]
#[template(path = "console/kb_tree.html")]
struct TreeView {
    page: Page,
    label: String,
    faq: bool,
    rows: Vec<Row>,
}

/// The title of the 知识库 or the 常见问题 page, in the current language.
fn tree_label(kind: TreeKind) -> String {
    match kind {
        TreeKind::Kb => crate::t("nav-kb"),
        TreeKind::Faq => crate::t("nav-faq"),
    }
}

/// `/console/kb/view` and `/console/faq/view`: the user's groups' tree as
/// agents and followers get it today.
pub async fn view(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    uri: Uri,
) -> Result<Response, AppError> {
    let kind = kind_of(&uri);
    let (user, today, tz) = (s.user, today(&state), state.config.timezone.clone());
    let rows = super::read(&state, move |c| -> DbResult<Vec<Row>> {
        let (nodes, shown) = readable(c, &user, kind, &today)?;
        Ok(shown
            .into_iter()
            .filter_map(|(id, d)| {
                nodes
                    .iter()
                    .find(|n| n.id == id)
                    .map(|n| Row::of(n, d, &today, &tz))
            })
            .collect())
    })
    .await?;
    render(&TreeView {
        page: Page::new(&ctx, tree_label(kind), kind.as_str()),
        label: tree_label(kind),
        faq: kind == TreeKind::Faq,
        rows,
    })
}

// ---- 我的回复 -----------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/replies.html")]
struct RepliesPage {
    page: Page,
    groups: Vec<ReplyGroup>,
    error: Option<String>,
    /// What a refused form held, shown again: the reply group's id (empty
    /// for a new group's name) and the text.
    typed: (String, String),
}

impl RepliesPage {
    /// The text typed into the form of reply group `group` ("" for the new
    /// group's name), if that form was refused.
    fn typed_for(&self, group: &str) -> &str {
        if self.typed.0 == group {
            &self.typed.1
        } else {
            ""
        }
    }
}

async fn replies_page(
    state: &AppState,
    ctx: &crate::web::session::Ctx,
    user: &User,
    error: Option<String>,
) -> Result<RepliesPage, AppError> {
    let id = user.id;
    let groups = super::read(state, move |c| myreplies::list(c, id)).await?;
    Ok(RepliesPage {
        page: Page::new(ctx, crate::t("replies-mine"), "replies"),
        groups,
        error,
        typed: (String::new(), String::new()),
    })
}

pub async fn replies(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
) -> Result<Response, AppError> {
    render(&replies_page(&state, &ctx, &s.user, None).await?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReplyForm {
    /// A reply group's id (adding a reply), or empty.
    group: String,
    /// A new group's name.
    name: String,
    body: String,
}

fn done(ctx: &crate::web::session::Ctx, text: &str) -> Response {
    with_flash(
        Redirect::to("/console/replies"),
        true,
        text,
        ctx.secure_cookies,
    )
}

/// Adds a group (`name`) or a reply to one (`group`, `body`).
pub async fn add_reply(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Form(f): Form<ReplyForm>,
) -> Result<Response, AppError> {
    let uid = s.user.id;
    let checked = if f.group.trim().is_empty() {
        let name = f.name.trim().to_string();
        if name.is_empty() {
            Err(crate::t("replies-group-name-missing"))
        } else if name.chars().count() > 32 {
            Err(crate::t("replies-group-name-too-long"))
        } else {
            Ok((None, name))
        }
    } else {
        let body = f.body.trim().to_string();
        let group: Option<i64> = f.group.trim().parse().ok();
        if group.is_none() {
            Err(crate::t("replies-group-choose"))
        } else if body.is_empty() {
            Err(crate::t("replies-body-missing"))
        } else if body.chars().count() > 2000 {
            Err(crate::t("replies-body-too-long"))
        } else {
            Ok((group, body))
        }
    };
    let (group, text) = match checked {
        Ok(v) => v,
        Err(m) => {
            let mut page = replies_page(&state, &ctx, &s.user, Some(m)).await?;
            page.typed = match f.group.trim() {
                "" => (String::new(), f.name),
                g => (g.to_string(), f.body),
            };
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let added = state
        .db
        .write(move |c| -> DbResult<bool> {
            Ok(match group {
                None => {
                    myreplies::add_group(c, uid, &text)?;
                    true
                }
                Some(g) => myreplies::add(c, uid, g, &text)?.is_some(),
            })
        })
        .await?;
    if !added {
        return Err(AppError::NotFound);
    }
    Ok(done(&ctx, &crate::t("replies-added")))
}

pub async fn delete_reply(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let uid = s.user.id;
    if !state
        .db
        .write(move |c| myreplies::delete(c, uid, id))
        .await?
    {
        return Err(AppError::NotFound);
    }
    Ok(done(&ctx, &crate::t("replies-deleted")))
}

pub async fn delete_group(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let uid = s.user.id;
    if !state
        .db
        .write(move |c| myreplies::delete_group(c, uid, id))
        .await?
    {
        return Err(AppError::NotFound);
    }
    Ok(done(&ctx, &crate::t("replies-group-deleted")))
}
