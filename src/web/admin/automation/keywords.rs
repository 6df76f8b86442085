//! 关键词回复 of an account (C6): add, edit, reorder and delete keyword replies
//! (the super admin's).

use super::*;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct KeywordForm {
    pub(super) account: String,
    pub(super) group: String,
    pub(super) keyword: String,
    pub(super) exact: Option<String>,
    pub(super) reply: String,
}

impl KeywordForm {
    /// (keyword, exact, reply), trimmed and checked.
    pub(super) fn checked(&self) -> Result<(String, bool, String), String> {
        let (keyword, reply) = (self.keyword.trim(), self.reply.trim());
        if keyword.is_empty() {
            return Err(crate::t("auto-keyword-missing"));
        }
        if keyword.chars().count() > 30 {
            return Err(crate::t1("auto-keyword-too-long", "max", 30));
        }
        if reply.is_empty() {
            return Err(crate::t("auto-keyword-reply-missing"));
        }
        if reply.chars().count() > TEXT_MAX {
            return Err(crate::t1("auto-keyword-reply-too-long", "max", TEXT_MAX));
        }
        Ok((keyword.into(), self.exact.is_some(), reply.into()))
    }
}

pub async fn add(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    Form(f): Form<KeywordForm>,
) -> Result<Response, AppError> {
    let account = need_account(&f.account)?;
    state.db.read(move |c| account_name(c, account)).await?;
    let group = parse_group(&f.group);
    let (keyword, exact, reply) = match f.checked() {
        Ok(v) => v,
        Err(m) => {
            let kept = Kept {
                section: "keywords",
                error: Some(m),
                keyword: f,
                ..Kept::default()
            };
            return refused(&state, &ctx, &s.user, (Some(account), group), kept).await;
        }
    };
    let (by, now, k) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        keyword.clone(),
    );
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            auto::add_keyword_reply(c, account, &k, exact, &reply)?;
            let entry = Entry::new(
                AuditAction::KeywordReplyCreate,
                crate::db::audit::about("audit-t-keyword", &k),
            );
            audit(c, &by, entry, now)
        })
        .await?;
    Ok(done(
        &ctx,
        Some(account),
        group,
        "keywords",
        crate::t1("auto-keyword-added", "keyword", keyword),
    ))
}

pub(super) async fn existing_keyword(
    state: &AppState,
    id: i64,
) -> Result<(AccountId, KeywordReply), AppError> {
    state
        .db
        .read(move |c| auto::keyword_reply(c, id))
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Template)]
#[template(path = "admin/automation_keyword.html")]
pub(super) struct KeywordEditPage {
    pub(super) page: Page,
    pub(super) id: i64,
    pub(super) f: KeywordForm,
    pub(super) error: Option<String>,
}

pub async fn edit(
    State(state): State<AppState>,
    SuperUser(ctx, _): SuperUser,
    IdPath(id): IdPath,
    Query(q): Query<PlaceForm>,
) -> Result<Response, AppError> {
    let (account, k) = existing_keyword(&state, id).await?;
    render(&KeywordEditPage {
        page: Page::new(
            &ctx,
            crate::t1("auto-keyword-edit-title", "keyword", k.keyword.as_str()),
            "automation",
        ),
        id,
        f: KeywordForm {
            account: account.to_string(),
            group: q.group,
            keyword: k.keyword,
            exact: k.exact.then(|| "on".into()),
            reply: k.reply,
        },
        error: None,
    })
}

pub async fn update(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    IdPath(id): IdPath,
    Form(f): Form<KeywordForm>,
) -> Result<Response, AppError> {
    let (account, old) = existing_keyword(&state, id).await?;
    let group = parse_group(&f.group);
    let (keyword, exact, reply) = match f.checked() {
        Ok(v) => v,
        Err(m) => {
            let page = KeywordEditPage {
                page: Page::new(
                    &ctx,
                    crate::t1("auto-keyword-edit-title", "keyword", old.keyword.as_str()),
                    "automation",
                ),
                id,
                f: KeywordForm {
                    account: account.to_string(),
                    ..f
                },
                error: Some(m),
            };
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            auto::update_keyword_reply(c, id, &keyword, exact, &reply)?;
            let after = KeywordReply {
                id,
                keyword: keyword.clone(),
                exact,
                reply,
            };
            let entry = Entry::new(
                AuditAction::KeywordReplyUpdate,
                crate::db::audit::about("audit-t-keyword", &format!("{} → {keyword}", old.keyword)),
            )
            .change(Some(&old), Some(&after));
            audit(c, &by, entry, now)
        })
        .await?;
    Ok(done(
        &ctx,
        Some(account),
        group,
        "keywords",
        crate::t("auto-keyword-saved"),
    ))
}

pub async fn reorder(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    IdPath(id): IdPath,
    Form(f): Form<MoveForm>,
) -> Result<Response, AppError> {
    let (account, k) = existing_keyword(&state, id).await?;
    let up = f.up()?;
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            if auto::move_keyword_reply(c, id, up)? {
                let target = crate::db::audit::about_with(
                    "audit-reordered",
                    crate::db::audit::about_msg("audit-t-keyword", &k.keyword),
                );
                audit(
                    c,
                    &by,
                    Entry::new(AuditAction::KeywordReplyUpdate, target),
                    now,
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(done(
        &ctx,
        Some(account),
        parse_group(&f.group),
        "keywords",
        crate::t("auto-moved"),
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    IdPath(id): IdPath,
    Form(f): Form<PlaceForm>,
) -> Result<Response, AppError> {
    let (account, k) = existing_keyword(&state, id).await?;
    let (by, now, keyword) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        k.keyword.clone(),
    );
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            auto::delete_keyword_reply(c, id)?;
            let entry = Entry::new(
                AuditAction::KeywordReplyDelete,
                crate::db::audit::about("audit-t-keyword", &keyword),
            )
            .change(Some(&k), None);
            audit(c, &by, entry, now)
        })
        .await?;
    Ok(done(
        &ctx,
        Some(account),
        parse_group(&f.group),
        "keywords",
        crate::t("auto-keyword-deleted"),
    ))
}
