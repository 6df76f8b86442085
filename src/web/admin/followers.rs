//! 粉丝 (E13, A10): followers of the bound accounts, searchable by OpenID,
//! remark, tag and subscription; remarks set by the team (WeChat no longer
//! gives nicknames); and 同步粉丝 with a progress line polled by htmx.

use crate::access::{self, Viewer};
use crate::db::DbResult;
use crate::db::accounts::Account;
use crate::db::audit::Entry;
use crate::db::followers::{Follower, FollowerFilter, Within};
use crate::error::AppError;
use crate::model::{AccountId, AuditAction, FollowerId, User};
use crate::state::AppState;
use crate::team::Acting;
use crate::web::form::{Form, IdPath, Query};
use crate::web::page::{Page, local_time, render};
use crate::web::session::{AdminUser, with_flash};
use crate::wechat::sync::Progress;
use askama::Template;
use axum::extract::State;
use axum::response::{Redirect, Response};
use serde::Deserialize;

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct FollowerQuery {
    account: String,
    q: String,
    tag: String,
    subscribed: String,
    page: i64,
}

pub struct Row {
    pub follower: Follower,
    pub first_seen: String,
    pub last_seen: String,
}

#[derive(Template)]
#[template(path = "admin/followers.html")]
struct FollowersPage {
    page: Page,
    q: FollowerQuery,
    accounts: Vec<Account>,
    rows: Vec<Row>,
    total: i64,
    pages: i64,
    current: i64,
    /// The page links shown: a few around the current page, with their URLs.
    window: Vec<(i64, String)>,
    last_url: String,
    progress: Vec<(Account, Progress)>,
}

impl FollowersPage {
    fn page_url(&self, n: i64) -> String {
        let q = &self.q;
        let pairs = [
            ("account", q.account.as_str()),
            ("q", q.q.as_str()),
            ("tag", q.tag.as_str()),
            ("subscribed", q.subscribed.as_str()),
        ];
        format!(
            "/admin/followers?{}&page={n}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

/// The accounts whose followers this admin may see ([`access::accounts`]).
async fn reachable(state: &AppState, user: &User) -> Result<Vec<Account>, AppError> {
    let user = user.clone();
    Ok(state
        .db
        .read(move |c| -> DbResult<Vec<Account>> {
            let ids = access::accounts(c, &Viewer::load(c, &user)?)?;
            Ok(crate::db::accounts::list(c)?
                .into_iter()
                .filter(|a| ids.contains(&a.id))
                .collect())
        })
        .await?)
}

/// Checks that the admin may act on `account`'s followers.
async fn check_account(state: &AppState, user: &User, account: AccountId) -> Result<(), AppError> {
    let user = user.clone();
    state
        .db
        .read(move |c| -> Result<(), AppError> {
            Ok(access::account(c, &Viewer::load(c, &user)?, account)?)
        })
        .await
}

pub async fn list(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Query(q): Query<FollowerQuery>,
) -> Result<Response, AppError> {
    let accounts = reachable(&state, &s.user).await?;
    let current = q.page.clamp(1, 1_000_000);
    let filter = FollowerFilter {
        within: Within::Only(accounts.iter().map(|a| a.id).collect()),
        account: q.account.parse().ok().map(AccountId),
        text: q.q.trim().to_string(),
        tag: q.tag.trim().parse().ok(),
        subscribed: match q.subscribed.as_str() {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        },
        limit: PAGE_SIZE,
        offset: (current - 1) * PAGE_SIZE,
    };
    let (followers, total) = state
        .db
        .read(move |c| crate::db::followers::search(c, &filter))
        .await?;
    let tz = &state.config.timezone;
    let progress = accounts
        .iter()
        .filter_map(|a| state.wechat.syncs.get(a.id).map(|p| (a.clone(), p)))
        .collect();
    let mut page = FollowersPage {
        page: Page::new(&ctx, crate::t("nav-followers"), "followers"),
        rows: followers
            .into_iter()
            .map(|f| Row {
                first_seen: local_time(f.first_seen_at, tz),
                last_seen: local_time(f.last_seen_at, tz),
                follower: f,
            })
            .collect(),
        pages: (total + PAGE_SIZE - 1) / PAGE_SIZE,
        window: Vec::new(),
        last_url: String::new(),
        total,
        current,
        q,
        accounts,
        progress,
    };
    let pages = page.pages;
    page.last_url = page.page_url(pages);
    page.window = ((current - 4).max(1)..=(current + 4).min(pages))
        .map(|n| (n, page.page_url(n)))
        .collect();
    render(&page)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RemarkForm {
    remark: String,
}

pub async fn set_remark(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Form(f): Form<RemarkForm>,
) -> Result<Response, AppError> {
    let remark = f.remark.trim().to_string();
    if remark.chars().count() > 30 {
        return Err(AppError::BadRequest(crate::t("fans-remark-too-long")));
    }
    let (id, now, by, by_user) = (
        FollowerId(id),
        state.clock.now(),
        Acting::user(&s.user, &ctx.ip),
        s.user.clone(),
    );
    state
        .db
        .write(move |c| -> Result<(), AppError> {
            let old = crate::db::followers::get(c, id)?.ok_or(AppError::NotFound)?;
            access::account(c, &Viewer::load(c, &by_user)?, old.account_id)?;
            crate::db::followers::set_remark(c, id, &remark)?;
            let entry = Entry::new(
                AuditAction::FollowerRemark,
                crate::db::audit::about("audit-t-follower", &old.openid),
            )
            .change(Some(&old.remark), Some(&remark));
            crate::db::audit::record(c, &crate::team::actor(&by), &entry, now)?;
            Ok(())
        })
        .await?;
    Ok(with_flash(
        Redirect::to("/admin/followers"),
        true,
        crate::t("fans-remark-saved"),
        ctx.secure_cookies,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SyncForm {
    account: i64,
}

/// Starts 同步粉丝 for an account in the background.
pub async fn sync(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Form(f): Form<SyncForm>,
) -> Result<Response, AppError> {
    let id = AccountId(f.account);
    let account = state
        .db
        .read(move |c| crate::db::accounts::get(c, id))
        .await?
        .ok_or(AppError::NotFound)?;
    check_account(&state, &s.user, id).await?;
    let (now, by, name) = (
        state.clock.now(),
        Acting::user(&s.user, &ctx.ip),
        account.name.clone(),
    );
    state
        .db
        .write(move |c| {
            crate::db::audit::record(
                c,
                &crate::team::actor(&by),
                &Entry::new(
                    AuditAction::FollowerSync,
                    crate::db::audit::about("audit-t-account", &name),
                ),
                now,
            )
        })
        .await?;
    let started = state.wechat.syncs.start(
        state.wechat.api.clone(),
        state.db.clone(),
        state.clock.clone(),
        account,
    );
    let text = if started {
        crate::t("fans-sync-started")
    } else {
        crate::t("fans-sync-busy")
    };
    Ok(with_flash(
        Redirect::to("/admin/followers"),
        true,
        text,
        ctx.secure_cookies,
    ))
}

#[derive(Template)]
#[template(path = "admin/_sync_progress.html")]
struct ProgressFragment {
    progress: Vec<(Account, Progress)>,
}

/// `GET /admin/followers/progress` (htmx polling).
pub async fn progress(
    State(state): State<AppState>,
    AdminUser(_, s): AdminUser,
) -> Result<Response, AppError> {
    let accounts = reachable(&state, &s.user).await?;
    let progress: Vec<(Account, Progress)> = accounts
        .into_iter()
        .filter_map(|a| state.wechat.syncs.get(a.id).map(|p| (a, p)))
        .collect();
    let running = progress.iter().any(|(_, p)| p.running);
    let mut resp = render(&ProgressFragment { progress })?;
    if !running {
        // htmx stops polling on 286.
        *resp.status_mut() =
            axum::http::StatusCode::from_u16(286).unwrap_or(axum::http::StatusCode::OK);
    }
    Ok(resp)
}
