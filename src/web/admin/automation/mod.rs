//! 自动回复 (C4–C9, E7): one page, `/admin/automation`, with the selected
//! account's automatic replies (and a preview of what a follower receives) and
//! keyword replies, and the selected group's FAQ and timeouts; plus
//! `/console/auto-reply`, where every agent sets their own 工号自动回复.
//!
//! Who changes what: the account-level replies are the super admin's (S3 2.6
//! and 2.7 give 基础配置 and 消息自动回复 to the super admin only, and an
//! account is shared by every group it serves); the FAQ and the timeouts are a
//! group's, so an admin changes those of the groups they belong to and the
//! super admin those of every group (S3 2.2). Every change is written with its
//! audit row in one transaction. SQL lives in `db::automation`; when to send
//! any of this is the engine's business.

pub mod agent_reply;
pub mod faq;
pub mod keywords;
pub mod replies;
pub mod timeouts;

use crate::db::audit::Entry;
use crate::db::automation::{
    self as auto, AutoReplies, Faq, GreetingBudget, KeywordReply, Timeouts,
};
use crate::error::AppError;
use crate::model::{AccountId, AuditAction, Group, GroupId, Role, User};
use crate::state::AppState;
use crate::team::Acting;
use crate::web::form::{Form, IdPath, Query};
use crate::web::page::{Page, render, render_status};
use crate::web::session::{AdminUser, AnyUser, Ctx, SuperUser, with_flash};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use faq::FaqForm;
use keywords::KeywordForm;
use replies::{PreviewItem, RepliesForm, preview};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use timeouts::{TimeoutRow, timeout_rows};

/// The longest automatic, keyword or FAQ reply (the `CHECK`s of migration 6).
pub(super) const TEXT_MAX: usize = 2000;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct PageQuery {
    account: String,
    group: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct MoveForm {
    account: String,
    group: String,
    /// `up` or `down`.
    dir: String,
}

impl MoveForm {
    fn up(&self) -> Result<bool, AppError> {
        match self.dir.as_str() {
            "up" => Ok(true),
            "down" => Ok(false),
            _ => Err(AppError::BadRequest(crate::t("auto-move-invalid"))),
        }
    }
}

/// Where the user was on the page: from a query or a form's hidden fields.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct PlaceForm {
    account: String,
    group: String,
}

/// What the page shows again after a refused form.
#[derive(Default)]
pub(super) struct Kept {
    /// `replies`, `keywords`, `faq` or `timeouts`.
    section: &'static str,
    error: Option<String>,
    replies: Option<RepliesForm>,
    keyword: KeywordForm,
    faq: FaqForm,
    timeouts: Option<Vec<TimeoutRow>>,
}

#[derive(Template)]
#[template(path = "admin/automation.html")]
pub(super) struct AutomationPage {
    page: Page,
    is_super: bool,
    accounts: Vec<(AccountId, String)>,
    account: Option<(AccountId, String)>,
    groups: Vec<Group>,
    group: Option<Group>,
    replies: RepliesForm,
    preview: Vec<PreviewItem>,
    keywords: Vec<KeywordReply>,
    faq: Vec<Faq>,
    faq_text: String,
    timeouts: Vec<TimeoutRow>,
    /// Replies WeChat allows after a follower's message (the account's rules).
    quota: i64,
    kept: Kept,
}

impl AutomationPage {
    fn error_in(&self, section: &str) -> Option<&str> {
        if self.kept.section == section {
            self.kept.error.as_deref()
        } else {
            None
        }
    }

    /// The query that keeps the selected account and group.
    fn place(&self) -> String {
        place_query(
            self.account.as_ref().map(|a| a.0),
            self.group.as_ref().map(|g| g.id),
        )
    }

    /// The choices of how the greeting may use the reply budget: (value, words).
    fn greeting_budgets(&self) -> Vec<(&'static str, String)> {
        GreetingBudget::ALL
            .iter()
            .map(|g| {
                let key = format!("auto-greeting-budget-{}", g.as_str().replace('_', "-"));
                (g.as_str(), crate::t(&key))
            })
            .collect()
    }

    fn account_value(&self) -> String {
        self.account
            .as_ref()
            .map(|a| a.0.to_string())
            .unwrap_or_default()
    }

    fn group_value(&self) -> String {
        self.group
            .as_ref()
            .map(|g| g.id.to_string())
            .unwrap_or_default()
    }
}

pub(super) fn place_query(account: Option<AccountId>, group: Option<GroupId>) -> String {
    let mut parts = Vec::new();
    if let Some(a) = account {
        parts.push(format!("account={a}"));
    }
    if let Some(g) = group {
        parts.push(format!("group={g}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

pub(super) fn parse_account(raw: &str) -> Option<AccountId> {
    raw.trim().parse().ok().map(AccountId)
}

pub(super) fn parse_group(raw: &str) -> Option<GroupId> {
    raw.trim().parse().ok().map(GroupId)
}

pub(super) fn need_account(raw: &str) -> Result<AccountId, AppError> {
    parse_account(raw).ok_or_else(|| AppError::BadRequest(crate::t("auto-pick-account")))
}

pub(super) fn need_group(raw: &str) -> Result<GroupId, AppError> {
    parse_group(raw).ok_or_else(|| AppError::BadRequest(crate::t("auto-pick-group")))
}

/// The groups `user` manages here ([`crate::access::groups`]).
pub(super) fn manageable(c: &Connection, user: &User) -> crate::db::DbResult<Vec<Group>> {
    crate::access::groups(c, &crate::access::Viewer::load(c, user)?)
}

/// The group, if the user manages it: 403 for another's group, 404 for none.
pub(super) fn managed_group(c: &Connection, user: &User, id: GroupId) -> Result<Group, AppError> {
    if let Some(g) = manageable(c, user)?.into_iter().find(|g| g.id == id) {
        return Ok(g);
    }
    match crate::db::groups::get(c, id)? {
        Some(_) => Err(AppError::Forbidden),
        None => Err(AppError::NotFound),
    }
}

pub(super) fn account_name(c: &Connection, id: AccountId) -> Result<String, AppError> {
    Ok(crate::db::accounts::get(c, id)?
        .ok_or(AppError::NotFound)?
        .name)
}

pub(super) fn audit(
    c: &Connection,
    by: &Acting,
    entry: Entry,
    now: jiff::Timestamp,
) -> Result<(), AppError> {
    crate::db::audit::record(c, &crate::team::actor(by), &entry, now)?;
    Ok(())
}

pub(super) fn done(
    ctx: &Ctx,
    account: Option<AccountId>,
    group: Option<GroupId>,
    anchor: &str,
    text: impl Into<String>,
) -> Response {
    let to = format!("/admin/automation{}#{anchor}", place_query(account, group));
    with_flash(Redirect::to(&to), true, text, ctx.secure_cookies)
}

pub(super) async fn automation_page(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    wanted: (Option<AccountId>, Option<GroupId>),
    kept: Kept,
) -> Result<AutomationPage, AppError> {
    let is_super = user.role == Role::SuperAdmin;
    let u = user.clone();
    let (accounts, account, groups, group, replies, keywords, faq, timeouts, quota) = state
        .db
        .read(move |c| -> Result<_, AppError> {
            let groups = manageable(c, &u)?;
            let group = match wanted.1 {
                Some(id) => Some(managed_group(c, &u, id)?),
                None => groups.first().cloned(),
            };
            // Account-level settings are the super admin's (see the module comment).
            let accounts: Vec<(AccountId, String)> = if is_super {
                crate::db::accounts::list(c)?
                    .into_iter()
                    .map(|a| (a.id, a.name))
                    .collect()
            } else {
                Vec::new()
            };
            let account = match wanted.0.filter(|_| is_super) {
                Some(id) => Some(
                    accounts
                        .iter()
                        .find(|a| a.0 == id)
                        .cloned()
                        .ok_or(AppError::NotFound)?,
                ),
                None => accounts.first().cloned(),
            };
            let (replies, keywords, quota) = match &account {
                Some((id, _)) => (
                    auto::auto_replies(c, *id)?,
                    auto::keyword_replies(c, *id)?,
                    crate::db::accounts::get(c, *id)?
                        .map(|a| a.rules.quota_after_message)
                        .unwrap_or_default(),
                ),
                None => (AutoReplies::default(), Vec::new(), 0),
            };
            let (faq, timeouts) = match &group {
                Some(g) => (auto::faq(c, g.id)?, auto::timeouts(c, g.id)?),
                None => (Vec::new(), Timeouts::default()),
            };
            Ok((
                accounts, account, groups, group, replies, keywords, faq, timeouts, quota,
            ))
        })
        .await?;
    let mut kept = kept;
    let replies = match kept.replies.take() {
        Some(typed) => typed,
        None => match &account {
            Some((id, _)) => RepliesForm::of(&replies, *id, group.as_ref().map(|g| g.id)),
            None => RepliesForm::default(),
        },
    };
    let timeouts = kept
        .timeouts
        .take()
        .unwrap_or_else(|| timeout_rows(&timeouts));
    Ok(AutomationPage {
        page: Page::new(ctx, crate::t("auto-page-title"), "automation"),
        is_super,
        preview: preview(&replies.as_typed(), &faq, &user.display_name),
        faq_text: auto::faq_list_text(&faq),
        accounts,
        account,
        groups,
        group,
        replies,
        keywords,
        faq,
        timeouts,
        quota,
        kept,
    })
}

/// Shows the page again with a refused form (422).
pub(super) async fn refused(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    wanted: (Option<AccountId>, Option<GroupId>),
    kept: Kept,
) -> Result<Response, AppError> {
    let page = automation_page(state, ctx, user, wanted, kept).await?;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn page(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let wanted = (parse_account(&q.account), parse_group(&q.group));
    render(&automation_page(&state, &ctx, &s.user, wanted, Kept::default()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::faq::FaqForm;
    use super::keywords::KeywordForm;
    use super::replies::RepliesForm;

    #[test]
    fn texts_are_bounded() {
        let f = RepliesForm {
            closing: "字".repeat(TEXT_MAX + 1),
            ..RepliesForm::default()
        };
        assert_eq!(f.replies().unwrap_err(), "结束语不能超过 2000 个字");
        let f = RepliesForm {
            greeting_budget: "sometimes".into(),
            ..RepliesForm::default()
        };
        assert_eq!(f.replies().unwrap_err(), "请选择接入语的发送方式");
        let k = KeywordForm {
            keyword: " 价格 ".into(),
            reply: "见官网".into(),
            ..KeywordForm::default()
        };
        assert_eq!(
            k.checked().unwrap(),
            ("价格".into(), false, "见官网".into())
        );
        let q = FaqForm {
            question: "如何收费？".into(),
            answer: " ".into(),
            ..FaqForm::default()
        };
        assert_eq!(q.checked().unwrap_err(), "请填写答案");
    }
}
