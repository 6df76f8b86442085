//! Changes to a tree's nodes: add — 新增节点 — edit, sort and move, switch,
//! delete, an entry's image, and the subtrees given to a group. Each checks
//! `access::manages_tree_node` and is written with its audit row.

use super::*;

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
    let lang = crate::i18n::current();
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
                    let g = group.ok_or_else(|| {
                        AppError::BadRequest(crate::i18n::lookup(lang, "kb-pick-top-group", &[]))
                    })?;
                    access::group(&viewer, g)?;
                    Some(g)
                }
            };
            let id = match tree::add(c, kind, parent, &fields, now)? {
                Ok(id) => id,
                Err(key) => return Ok(Err(crate::i18n::lookup(lang, key, &[]))),
            };
            if let Some(g) = give_to {
                tree::give(c, g, id)?;
            }
            audit(
                c,
                &by,
                actions(kind).0,
                crate::db::audit::about(kind.audit_key(), &fields.title),
                now,
            )?;
            Ok(Ok(id))
        })
        .await?;
    match result {
        Ok(id) if image => Ok(done(
            &ctx,
            format!("{}/nodes/{id}", base(kind)),
            crate::t1("kb-added-upload", "title", title),
        )),
        Ok(_) => Ok(done(
            &ctx,
            base(kind).into(),
            crate::t1("kb-added", "title", title),
        )),
        Err(m) => refused(&state, &ctx, &s.user, kind, f, m).await,
    }
}

#[derive(Template)]
#[template(path = "admin/kb_edit.html")]
struct EditPage {
    page: Page,
    label: String,
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
    let label = label(kind);
    Ok(EditPage {
        page: Page::new(
            ctx,
            crate::t2(
                "kb-edit-title",
                "label",
                label.as_str(),
                "title",
                n.title.as_str(),
            ),
            kind.as_str(),
        ),
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
                crate::db::audit::about(
                    kind.audit_key(),
                    &format!("{} → {}", old.title, fields.title),
                ),
                now,
            )
        })
        .await?;
    Ok(done(
        &ctx,
        base(kind).into(),
        crate::t1("kb-saved", "title", title),
    ))
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
    let lang = crate::i18n::current();
    let text = state
        .db
        .write(move |c| -> Result<String, AppError> {
            let t = |key: &str| crate::i18n::lookup(lang, key, &[]);
            let n = managed(c, &user, kind, id)?;
            match f.dir.as_str() {
                "up" | "down" => {
                    tree::reorder(c, id, f.dir == "up")?;
                    return Ok(t("kb-moved-order"));
                }
                "" => {}
                _ => return Err(AppError::BadRequest(t("kb-move-invalid"))),
            }
            let parent: Option<i64> = if f.top.is_some() {
                // The top level is no group's: only the super admin places there.
                if Viewer::load(c, &user)?.reach != access::Reach::All {
                    return Err(AppError::Denied(t("kb-move-top-super")));
                }
                None
            } else {
                let p = f
                    .parent
                    .trim()
                    .parse()
                    .map_err(|_| AppError::BadRequest(t("kb-pick-target")))?;
                managed(c, &user, kind, p)?;
                Some(p)
            };
            match tree::move_to(c, id, parent, now)? {
                Ok(()) => {
                    audit(
                        c,
                        &by,
                        actions(kind).1,
                        crate::db::audit::about_with(
                            "audit-moved",
                            crate::db::audit::about_msg(kind.audit_key(), &n.title),
                        ),
                        now,
                    )?;
                    Ok(crate::i18n::lookup(
                        lang,
                        "kb-moved",
                        &[("title", &n.title)],
                    ))
                }
                Err(key) => Err(AppError::Conflict(crate::i18n::lookup(lang, key, &[]))),
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
    let lang = crate::i18n::current();
    let text = state
        .db
        .write(move |c| -> Result<String, AppError> {
            let n = managed(c, &user, kind, id)?;
            tree::set_enabled(c, id, !n.enabled)?;
            let what = if n.enabled {
                "audit-disabled"
            } else {
                "audit-enabled"
            };
            audit(
                c,
                &by,
                actions(kind).1,
                crate::db::audit::about_with(
                    what,
                    crate::db::audit::about_msg(kind.audit_key(), &n.title),
                ),
                now,
            )?;
            let key = if n.enabled {
                "kb-switched-off"
            } else {
                "kb-switched-on"
            };
            Ok(crate::i18n::lookup(lang, key, &[("title", &n.title)]))
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
                crate::db::audit::about(kind.audit_key(), &n.title),
                now,
            )?;
            Ok(n.title)
        })
        .await?;
    Ok(done(
        &ctx,
        base(kind).into(),
        crate::t1("kb-deleted", "title", title),
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
        return Err(AppError::BadRequest(crate::t("kb-image-kb-only")));
    }
    let mut bytes: Option<Vec<u8>> = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest(crate::t("kb-upload-incomplete")))?
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
        .ok_or_else(|| AppError::BadRequest(crate::t("kb-pick-image")))?;
    if bytes.len() > crate::web::console::uploads::MAX_IMAGE {
        return Err(AppError::TooLarge);
    }
    let (ext, _) = crate::web::console::uploads::sniff(&bytes)
        .ok_or_else(|| AppError::BadRequest(crate::t("kb-image-types")))?;
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
                crate::db::audit::about_with(
                    "audit-image",
                    crate::db::audit::about_msg("audit-t-kb", &n.title),
                ),
                now,
            )
        })
        .await?;
    Ok(done(
        &ctx,
        format!("{}/nodes/{id}", base(kind)),
        crate::t("kb-image-uploaded"),
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
        .map_err(|_| AppError::BadRequest(crate::t("kb-pick-group")))?;
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
                crate::i18n::Msg::new("audit-t-group-tree")
                    .text("name", name.as_str())
                    .msg("tree", crate::i18n::Msg::new(kind.label_key()))
                    .number("n", keep.len() as i64)
                    .stored(),
                now,
            )?;
            Ok(name)
        })
        .await?;
    Ok(done(
        &ctx,
        format!("{}#groups", base(kind)),
        crate::t2("kb-group-saved", "group", name, "label", label(kind)),
    ))
}
