//! The follower beside the chat (D7, D8): the side pane (profile, owner,
//! today's figures), saving the profile, reopening a conversation, and the
//! follower's whole history page.

use super::chat::Choice;
use super::rows::row_of;
use super::rows::{self, RowView, Seg};
use super::{change, fragment};
use crate::access::{self, Viewer};
use crate::db::console::{self as q, Today};
use crate::db::{self, DbResult};
use crate::desk::{self};
use crate::error::AppError;
use crate::model::{FollowerId, MessageKind, User, UserId};
use crate::state::AppState;
use crate::web::form::{Form, IdPath, Query};
use crate::web::page::{Page, render};
use crate::web::session::AnyUser;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rusqlite::Connection;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "console/side.html")]
pub struct SideView {
    pub follower: db::followers::Follower,
    pub label: String,
    pub account: String,
    pub first: String,
    pub last: String,
    pub served: Vec<String>,
    pub owners: Vec<Choice>,
    pub today: Today,
    pub saved: bool,
}

pub(super) fn side_view(
    c: &Connection,
    user: &User,
    follower: FollowerId,
    tz: &jiff::tz::TimeZone,
    now: jiff::Timestamp,
) -> DbResult<Option<SideView>> {
    let Some(f) = db::followers::get(c, follower)? else {
        return Ok(None);
    };
    let account = db::accounts::get(c, f.account_id)?
        .map(|a| a.name)
        .unwrap_or_default();
    // Owners (the 负责人 field) come from the follower's group only.
    let group = access::follower_groups(c, follower, f.account_id)?;
    let mut owners: Vec<Choice> = group
        .first()
        .map(|g| q::agents_of(c, *g))
        .transpose()?
        .unwrap_or_default()
        .into_iter()
        .map(|(id, name, _)| Choice {
            id: id.0,
            name,
            note: String::new(),
            depth: 0,
            enabled: f.owner_id == Some(id),
        })
        .collect();
    // An owner from outside the follower's group now (a transfer moved the
    // follower) stays selected, so saving the remark does not erase them.
    if let Some(o) = f.owner_id.filter(|o| !owners.iter().any(|x| x.id == o.0)) {
        if let Some(u) = db::users::get(c, o)? {
            owners.push(Choice {
                id: o.0,
                name: u.display_name,
                note: String::new(),
                depth: 0,
                enabled: true,
            });
        }
    }
    let midnight = now
        .to_zoned(tz.clone())
        .start_of_day()
        .map(|z| z.timestamp())
        .unwrap_or(now);
    Ok(Some(SideView {
        label: super::follower_label(f.label()),
        account,
        first: crate::web::page::local_time(f.first_seen_at, tz),
        last: crate::web::page::local_time(f.last_seen_at, tz),
        served: q::served_by(c, follower)?,
        owners,
        today: q::today(c, user.id, midnight)?,
        saved: false,
        follower: f,
    }))
}

pub async fn reopen(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let follower = FollowerId(id);
    let user = s.user;
    let conv = change(&state, move |c, now| desk::reopen(c, &user, follower, now)).await?;
    let to = format!("/console?c={}", conv.0);
    if ctx.htmx {
        let mut r = StatusCode::NO_CONTENT.into_response();
        r.headers_mut().insert(
            "hx-redirect",
            HeaderValue::from_str(&to).map_err(|e| AppError::Internal(e.to_string()))?,
        );
        return Ok(r);
    }
    Ok(Redirect::to(&to).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ProfileForm {
    remark: String,
    labels: String,
    vip: Option<String>,
    owner: Option<i64>,
}

pub async fn show_profile(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let follower = FollowerId(id);
    let (user, tz, now) = (s.user, state.config.timezone.clone(), state.clock.now());
    let view = super::read(&state, move |c| -> Result<_, AppError> {
        follower_visible(c, &user, follower)?;
        side_view(c, &user, follower, &tz, now)?.ok_or(AppError::NotFound)
    })
    .await?;
    fragment(&view)
}

/// May the user see this follower ([`access::follower`])?
fn follower_visible(c: &Connection, user: &User, follower: FollowerId) -> Result<(), AppError> {
    access::follower(c, &Viewer::load(c, user)?, follower)?;
    Ok(())
}

pub async fn save_profile(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
    Form(f): Form<ProfileForm>,
) -> Result<Response, AppError> {
    let follower = FollowerId(id);
    if f.remark.chars().count() > 30 {
        return Err(AppError::BadRequest(crate::t(
            "console-side-remark-too-long",
        )));
    }
    if f.labels.chars().count() > 200 {
        return Err(AppError::BadRequest(crate::t(
            "console-side-labels-too-long",
        )));
    }
    let (user, tz, now) = (s.user, state.config.timezone.clone(), state.clock.now());
    let (owner_missing, owner_outside) = (
        crate::t("console-side-owner-missing"),
        crate::t("console-side-owner-outside"),
    );
    let lang = crate::i18n::current();
    let view = state
        .db
        .write(move |c| -> Result<_, AppError> {
            crate::i18n::sync_scope(lang, || {
                let current = access::follower(c, &Viewer::load(c, &user)?, follower)?;
                let labels: Vec<&str> = f
                    .labels
                    .split([',', ','])
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect();
                let owner = f.owner.filter(|o| *o > 0).map(UserId);
                if let Some(o) = owner.filter(|o| current.owner_id != Some(*o)) {
                    if db::users::get(c, o)?.is_none() {
                        return Err(AppError::BadRequest(owner_missing));
                    }
                    let group = access::follower_groups(c, follower, current.account_id)?;
                    let theirs = db::users::group_ids(c, o)?;
                    if !group
                        .first()
                        .is_some_and(|g| access::owner_allowed(&theirs, *g))
                    {
                        return Err(AppError::BadRequest(owner_outside));
                    }
                }
                db::followers::save_profile(
                    c,
                    follower,
                    f.remark.trim(),
                    &labels.join(","),
                    f.vip.is_some(),
                    owner,
                )?;
                let mut v = side_view(c, &user, follower, &tz, now)?.ok_or(AppError::NotFound)?;
                v.saved = true;
                // The new name shows at once in every console's lists (this
                // tab's chat header follows in the browser).
                let mut out = desk::Out::default();
                let mut groups = access::follower_groups(c, follower, current.account_id)?;
                if let Some(conv) = db::conversations::open_of(c, follower)? {
                    groups.push(conv.group_id);
                }
                for g in groups {
                    out.lists(g);
                }
                Ok((v, out))
            })
        })
        .await?;
    let (view, out) = view;
    state.publish(out);
    fragment(&view)
}

#[derive(Template)]
#[template(path = "console/history.html")]
struct HistoryPage {
    page: Page,
    follower: db::followers::Follower,
    label: String,
    rows: Vec<RowView>,
    from: String,
    to: String,
    older: Option<String>,
    /// Back to the newest page, from a page that ends earlier (an older
    /// page, or a message opened from the 消息管理 search).
    newest: Option<String>,
    conversations: Vec<(String, String, String, String, String)>,
    /// Why the dates were not applied (a malformed or reversed range).
    error: Option<String>,
    /// No conversation is open: 重新发起会话 is offered.
    can_reopen: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct HistoryQuery {
    from: String,
    to: String,
    before: Option<i64>,
}

/// A follower's whole history (D8): messages and notes, 50 per page, by date range.
pub async fn show_history(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
    Query(hq): Query<HistoryQuery>,
) -> Result<Response, AppError> {
    let follower = FollowerId(id);
    let tz = state.config.timezone.clone();
    let day = |s: &str| -> Result<Option<jiff::civil::Date>, String> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        s.trim()
            .parse::<jiff::civil::Date>()
            .map(Some)
            .map_err(|_| crate::t("console-date-format"))
    };
    // A range that cannot be read is said on the page, which then shows
    // the whole history (as with no dates).
    let (from_d, to_d, error) = match (day(&hq.from), day(&hq.to)) {
        (Ok(Some(f)), Ok(Some(t))) if f > t => (None, None, Some(crate::t("console-date-order"))),
        (Ok(f), Ok(t)) => (f, t, None),
        (Err(e), _) | (_, Err(e)) => (None, None, Some(e)),
    };
    let start = |d: jiff::civil::Date| d.to_zoned(tz.clone()).map(|z| z.timestamp()).ok();
    let from = from_d.and_then(start);
    let to = to_d.and_then(|d| d.tomorrow().ok()).and_then(start);
    let user = s.user.clone();
    let (tz2, now) = (tz.clone(), state.clock.now());
    let before = hq.before;
    let (f, rows, convs) = super::read(&state, move |c| -> Result<_, AppError> {
        follower_visible(c, &user, follower)?;
        let f = db::followers::get(c, follower)?.ok_or(AppError::NotFound)?;
        let messages = q::history(c, follower, from, to, before, 50)?;
        let mut rows = vec![];
        for m in &messages {
            rows.push((m.created_at, row_of(c, m, &tz2)?));
        }
        if let (Some(first), Some(last)) = (messages.first(), messages.last()) {
            for n in q::notes(c, follower)? {
                if n.at >= first.created_at && n.at <= last.created_at {
                    rows.push((n.at, rows::note_row(&n, &tz2)));
                }
            }
            // Steps within this page of messages; the newest page also
            // shows what came after its last message (a transfer, the end).
            let newest_page = before.is_none();
            let until = if newest_page {
                to
            } else {
                Some(last.created_at)
            };
            let steps =
                db::transcripts::follower_steps(c, follower, Some(first.created_at), until)?;
            rows.extend(rows::step_rows(&steps, &tz2));
        }
        rows::timeline_order(&mut rows);
        let open = db::conversations::open_of(c, follower)?.is_some();
        let convs = db::console::conversations_of(c, follower, 20)?;
        let mut with_survey = Vec::with_capacity(convs.len());
        for v in convs {
            let survey = crate::desk::survey_text(c, v.id)?.unwrap_or_default();
            with_survey.push((
                crate::web::page::local_time(v.opened_at, &tz2),
                v.state.map(|s| s.label()).unwrap_or_default(),
                v.agent,
                v.categories,
                survey,
            ));
        }
        Ok((
            f,
            (rows, messages.first().map(|m| m.id.0), messages.len()),
            (with_survey, open),
        ))
    })
    .await?;
    let (convs, open) = convs;
    let (mut rows, oldest, count) = rows;
    rows::stamp(&mut rows, &tz, now.to_zoned(tz.clone()).date());
    let older = (count == 50).then(|| {
        format!(
            "/console/f/{}/history?from={}&to={}&before={}",
            id,
            hq.from.trim(),
            hq.to.trim(),
            oldest.unwrap_or(0)
        )
    });
    let newest = before.map(|_| {
        format!(
            "/console/f/{}/history?from={}&to={}",
            id,
            hq.from.trim(),
            hq.to.trim()
        )
    });
    render(&HistoryPage {
        page: Page::new(&ctx, crate::t("history-page-title"), "console"),
        label: super::follower_label(f.label()),
        follower: f,
        rows: rows.into_iter().map(|(_, r)| r).collect(),
        from: hq.from,
        to: hq.to,
        older,
        newest,
        conversations: convs,
        error,
        can_reopen: !open,
    })
}
