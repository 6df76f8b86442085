//! 已接待 (issue 12, S3 1.2.2): the conversations an agent already served and
//! ended, last ended first, 50 a page, searchable by the follower's remark,
//! WeChat remark or OpenID, the day it ended and its category; each opens the
//! follower's history over those days or downloads the transcript. Admins may
//! pick an agent of their groups; whose list and which groups is
//! `access::served`.

use crate::access::{self, Reach, Viewer};
use crate::db::search::{self, Served, ServedFilter};
use crate::error::AppError;
use crate::model::{Role, UserId};
use crate::state::AppState;
use crate::web::form::Query;
use crate::web::page::{Page, local_time, render};
use crate::web::session::AnyUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ServedQuery {
    /// Part of the follower's remark or WeChat remark, or their OpenID.
    follower: String,
    from: String,
    to: String,
    category: String,
    agent: String,
    page: i64,
}

pub struct ServedLine {
    pub row: Served,
    pub opened: String,
    pub ended: String,
    /// The history page over the conversation's days.
    pub history: String,
}

#[derive(Template)]
#[template(path = "console/served.html")]
struct ServedPage {
    page: Page,
    q: ServedQuery,
    /// Whose list this is.
    whose: String,
    /// Agents an admin may pick (empty for agents).
    agents: Vec<(UserId, String)>,
    categories: Vec<(i64, String)>,
    rows: Vec<ServedLine>,
    total: i64,
    pages: i64,
    current: i64,
    window: Vec<(i64, String)>,
    error: Option<String>,
}

impl ServedPage {
    fn page_url(&self, n: i64) -> String {
        let q = &self.q;
        let pairs = [
            ("follower", q.follower.as_str()),
            ("from", q.from.as_str()),
            ("to", q.to.as_str()),
            ("category", q.category.as_str()),
            ("agent", q.agent.as_str()),
        ];
        let pairs: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
        format!(
            "/console/served?{}&page={n}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }

    fn is(&self, selected: &str, id: String) -> bool {
        selected.trim() == id
    }
}

/// The start of local day `raw` (`YYYY-MM-DD`), `days` later, in ms.
fn day_start(raw: &str, days: i64, tz: &jiff::tz::TimeZone) -> Result<Option<i64>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let bad = || crate::t("console-date-format");
    let date: jiff::civil::Date = raw.parse().map_err(|_| bad())?;
    let date = date
        .checked_add(jiff::Span::new().days(days))
        .map_err(|_| bad())?;
    Ok(Some(
        date.to_zoned(tz.clone())
            .map_err(|_| bad())?
            .timestamp()
            .as_millisecond(),
    ))
}

fn day(t: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    t.to_zoned(tz.clone()).date().to_string()
}

pub async fn list(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Query(q): Query<ServedQuery>,
) -> Result<Response, AppError> {
    let tz = state.config.timezone.clone();
    let current = q.page.clamp(1, 100_000);
    let mut error = None;
    let from = day_start(&q.from, 0, &tz).unwrap_or_else(|e| {
        error = Some(e);
        None
    });
    let to = day_start(&q.to, 1, &tz).unwrap_or_else(|e| {
        error = Some(e);
        None
    });
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        error = Some(crate::t("console-date-order"));
    }
    let category = match q.category.trim() {
        "" => None,
        c => Some(
            c.parse::<i64>()
                .map_err(|_| AppError::BadRequest(crate::t("served-category-invalid")))?,
        ),
    };
    let agent = match q.agent.trim() {
        "" => None,
        a => Some(UserId(a.parse::<i64>().map_err(|_| {
            AppError::BadRequest(crate::t("served-agent-invalid"))
        })?)),
    };
    let filter = ServedFilter {
        follower: q.follower.trim().to_string(),
        from,
        to,
        category,
        limit: PAGE_SIZE,
        offset: (current - 1) * PAGE_SIZE,
    };
    let user = s.user.clone();
    let (whose, agents, categories, (rows, total)) =
        super::read(&state, move |c| -> Result<_, AppError> {
            let v = Viewer::load(c, &user)?;
            let scope = access::served(c, &v, agent)?;
            let whose = if scope.agent == user.id {
                user.display_name.clone()
            } else {
                crate::db::users::get(c, scope.agent)?
                    .map(|u| u.display_name)
                    .unwrap_or_default()
            };
            let agents = match user.role {
                Role::Agent => Vec::new(),
                Role::Admin | Role::SuperAdmin => {
                    crate::db::users::list(c, &Default::default(), &v.reach)?
                        .into_iter()
                        .map(|r| (r.user.id, r.user.display_name))
                        .collect()
                }
            };
            let categories = match &v.reach {
                Reach::All => search::categories(c, None)?,
                Reach::Groups(gs) => search::categories(c, Some(gs))?,
            };
            let found = search::served(c, &scope, &filter)?;
            Ok((whose, agents, categories, found))
        })
        .await?;
    let mut page = ServedPage {
        page: Page::new(&ctx, crate::t("nav-served"), "served"),
        whose,
        rows: rows
            .into_iter()
            .map(|mut row| {
                row.follower = super::follower_label(row.follower);
                let end = row.ended_at.unwrap_or(row.opened_at);
                ServedLine {
                    opened: local_time(row.opened_at, &tz),
                    ended: row.ended_at.map(|t| local_time(t, &tz)).unwrap_or_default(),
                    history: format!(
                        "/console/f/{}/history?from={}&to={}",
                        row.follower_id,
                        day(row.opened_at, &tz),
                        day(end, &tz)
                    ),
                    row,
                }
            })
            .collect(),
        pages: (total + PAGE_SIZE - 1) / PAGE_SIZE,
        window: Vec::new(),
        total,
        current,
        q,
        agents,
        categories,
        error,
    };
    page.window = ((current - 4).max(1)..=(current + 4).min(page.pages))
        .map(|n| (n, page.page_url(n)))
        .collect();
    render(&page)
}
