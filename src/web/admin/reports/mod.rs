//! 工作报表 (issue 10): five report pages for admins (their groups) and super
//! admins (all groups). Each page reads its filters from the query string, so
//! a report is a bookmarkable URL, and the same URL plus `format=xlsx`
//! downloads the same table as a workbook (with an audit row), in the same
//! language as the page, file name included. Which groups a
//! viewer may see comes from `access`; the facts from `db::reports` on a
//! reader connection; the numbers from `engine::reports`; the cells from
//! `export::table`, which the page and the workbook share.

pub mod categories;
pub mod hourly;
pub mod quality;
pub mod service;
pub mod workload;

use crate::access::{self, Viewer};
use crate::db::audit::Entry;
use crate::db::reports::{self, Person};
use crate::engine::reports::{Conv, Ms, Msg, Period};
use crate::error::AppError;
use crate::export::table::{Cell, Table};
use crate::export::xlsx;
use crate::model::{AuditAction, Group, GroupId, User};
use crate::state::AppState;
use crate::team::Acting;
use crate::web::page::{Page, render_status};
use crate::web::session::Ctx;
use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;

/// Every filter any report takes; each page reads the ones it has.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(default)]
pub struct ReportQuery {
    pub from: String,
    pub to: String,
    pub date: String,
    pub group: String,
    pub agent: String,
    pub category: String,
    pub idle: String,
    pub format: String,
}

impl ReportQuery {
    pub fn xlsx(&self) -> bool {
        self.format == "xlsx"
    }

    /// The query string of this report (without `format`), for links.
    pub fn query_string(&self) -> String {
        let pairs = [
            ("from", &self.from),
            ("to", &self.to),
            ("date", &self.date),
            ("group", &self.group),
            ("agent", &self.agent),
            ("category", &self.category),
            ("idle", &self.idle),
        ];
        serde_urlencoded::to_string(
            pairs
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default()
    }
}

/// The most days one report covers.
const MAX_DAYS: i64 = 366;

/// A range of local days, inclusive, and the instants it spans.
#[derive(Clone, Copy, Debug)]
pub struct Days {
    pub first: Date,
    pub last: Date,
    pub period: Period,
}

impl Days {
    pub fn count(&self) -> usize {
        (self.first.until(self.last).map_or(0, |s| s.get_days()) + 1).max(0) as usize
    }

    /// The days as the audit log records them (`2026-11-01至2026-11-30`).
    pub fn label(&self) -> String {
        if self.first == self.last {
            self.first.to_string()
        } else {
            format!("{}至{}", self.first, self.last)
        }
    }

    /// The days as a message (an audit summary, drawn when it is read).
    pub fn msg(&self) -> crate::i18n::Msg {
        if self.first == self.last {
            crate::i18n::Msg::new("exp-day").text("day", self.first.to_string())
        } else {
            crate::i18n::Msg::new("exp-days")
                .text("from", self.first.to_string())
                .text("to", self.last.to_string())
        }
    }

    /// The days in the current language, for a reader.
    pub fn text(&self) -> String {
        self.drawn("exp-days")
    }

    /// The days in the current language, for a file name.
    pub fn file_label(&self) -> String {
        self.drawn("exp-file-days")
    }

    fn drawn(&self, key: &str) -> String {
        if self.first == self.last {
            self.first.to_string()
        } else {
            let (from, to) = (self.first.to_string(), self.last.to_string());
            crate::t2(key, "from", from, "to", to)
        }
    }
}

fn parse_date(s: &str) -> Result<Date, String> {
    s.trim()
        .parse::<Date>()
        .map_err(|_| crate::t1("rep-bad-date", "date", s.trim()))
}

fn start_of(d: Date, tz: &TimeZone) -> Result<Ms, String> {
    d.to_zoned(tz.clone())
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|_| crate::t("rep-date-range"))
}

/// `from`/`to` as local days (both default to today; either alone means one
/// day). A wrong date, a reversed range or one too long is a message in the
/// current language.
pub fn days(from: &str, to: &str, today: Date, tz: &TimeZone) -> Result<Days, String> {
    let (from, to) = (from.trim(), to.trim());
    let first = if from.is_empty() {
        None
    } else {
        Some(parse_date(from)?)
    };
    let last = if to.is_empty() {
        None
    } else {
        Some(parse_date(to)?)
    };
    let (first, last) = match (first, last) {
        (Some(a), Some(b)) => (a, b),
        (Some(a), None) | (None, Some(a)) => (a, a),
        (None, None) => (today, today),
    };
    if first > last {
        return Err(crate::t("rep-reversed"));
    }
    let d = Days {
        first,
        last,
        period: Period {
            from: start_of(first, tz)?,
            to: start_of(last.tomorrow().map_err(|_| crate::t("rep-date-range"))?, tz)?,
        },
    };
    if d.count() as i64 > MAX_DAYS {
        return Err(crate::t1("rep-too-long", "days", MAX_DAYS));
    }
    Ok(d)
}

/// The groups a report covers: the `group` filter (403 when the viewer may
/// not see it) or every group the viewer reaches; and the groups for the
/// picker.
pub fn scope(
    c: &rusqlite::Connection,
    v: &Viewer,
    group: &str,
) -> Result<(Vec<GroupId>, Vec<Group>), AppError> {
    let groups = access::groups(c, v)?;
    let group = group.trim();
    if group.is_empty() {
        return Ok((groups.iter().map(|g| g.id).collect(), groups));
    }
    let id = group
        .parse::<i64>()
        .map(GroupId)
        .map_err(|_| AppError::BadRequest(crate::t("rep-bad-group")))?;
    access::group(v, id)?;
    Ok((vec![id], groups))
}

/// The facts a report replays: the conversations of `period` in `scope` with
/// their steps, and their messages as `wanted`. For a page (`at_once`) the two
/// load at the same time on two reader connections (the two largest reads of
/// a report; on two cores this nearly halves the wait); a workbook loads them
/// one after the other, so a long export leaves a core to the webhook. Each
/// read is a snapshot of its own: a message committed between them may lack
/// its conversation (the replay skips it) — a live edge of at most a few
/// milliseconds, never a past day.
pub async fn facts(
    state: &AppState,
    scope: &[GroupId],
    period: Period,
    wanted: reports::Wanted,
    at_once: bool,
) -> Result<(Vec<Conv>, Vec<Msg>), AppError> {
    let started = std::time::Instant::now();
    let (a, b) = (scope.to_vec(), scope.to_vec());
    let convs = state
        .db
        .read(move |c| reports::conversations(c, &a, period.from, period.to));
    let msgs = state
        .db
        .read(move |c| reports::messages(c, &b, period.from, period.to, wanted));
    let (convs, msgs) = if at_once {
        tokio::try_join!(convs, msgs)?
    } else {
        (convs.await?, msgs.await?)
    };
    tracing::debug!(
        conversations = convs.len(),
        messages = msgs.len(),
        ms = started.elapsed().as_millis() as u64,
        "report facts loaded"
    );
    Ok((convs, msgs))
}

/// Today in the configured time zone.
pub fn today(state: &AppState) -> Date {
    state
        .clock
        .now()
        .to_zoned(state.config.timezone.clone())
        .date()
}

/// The local hour (0–23) of an instant.
pub fn hour_of(t: Ms, tz: &TimeZone) -> usize {
    jiff::Timestamp::from_millisecond(t)
        .map(|ts| ts.to_zoned(tz.clone()).hour() as usize)
        .unwrap_or(0)
}

/// The local day of an instant.
pub fn day_of(t: Ms, tz: &TimeZone) -> Option<Date> {
    jiff::Timestamp::from_millisecond(t)
        .ok()
        .map(|ts| ts.to_zoned(tz.clone()).date())
}

/// The tabs above every report: the path and the title's catalogue key.
pub const TABS: &[(&str, &str)] = &[
    ("workload", "rep-tab-workload"),
    ("categories", "rep-tab-categories"),
    ("hourly", "rep-tab-hourly"),
    ("quality", "rep-tab-quality"),
    ("service", "rep-tab-service"),
];

/// A table named and headed from the catalogue, in the current language.
pub fn table(name: &str, headers: &[&str]) -> Table {
    let mut t = Table::new(&crate::t(name), &[]);
    t.headers = headers.iter().map(|h| crate::t(h)).collect();
    t
}

/// Sends `tables` as a workbook named `title`, after writing who exported
/// what to the audit log.
pub async fn download(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    title: &str,
    what: crate::i18n::Msg,
    tables: Vec<Table>,
) -> Result<Response, AppError> {
    let (by, now) = (Acting::user(user, &ctx.ip), state.clock.now());
    let entry = Entry::new(AuditAction::ReportExport, what.stored());
    state
        .db
        .write(move |c| crate::db::audit::record(c, &crate::team::actor(&by), &entry, now))
        .await?;
    let dir = state.config.data_dir.clone();
    let bytes = tokio::task::spawn_blocking(move || xlsx::write(&tables, &dir))
        .await
        .map_err(|e| AppError::Internal(format!("export task: {e}")))?
        .map_err(|e| AppError::Internal(format!("xlsx: {e}")))?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, xlsx::CONTENT_TYPE.to_string()),
            (header::CONTENT_DISPOSITION, xlsx::disposition(title)),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

// ------------------------------------------------------------------ charts

/// A server-drawn SVG chart (no script: the CSP forbids inline scripts). All
/// text goes through askama's escaping; shapes are numbers.
#[derive(Clone, Debug, Default)]
pub struct Svg {
    pub label: String,
    pub width: f64,
    pub height: f64,
    pub rects: Vec<Rect>,
    pub texts: Vec<Label>,
    pub lines: Vec<Line>,
    /// A polyline (the queue's step line), as "x,y x,y …".
    pub path: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub class: &'static str,
    pub tip: String,
}

#[derive(Clone, Debug)]
pub struct Label {
    pub x: f64,
    pub y: f64,
    pub text: String,
    pub anchor: &'static str,
}

#[derive(Clone, Debug)]
pub struct Line {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_in_the_time_zone_and_refuse_nonsense() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        let today: Date = "2026-11-20".parse().unwrap();
        let d = days("", "", today, &tz).unwrap();
        assert_eq!((d.first, d.last, d.count()), (today, today, 1));
        // Shanghai midnight is 16:00 UTC the day before.
        let d = days("2026-11-01", "2026-11-30", today, &tz).unwrap();
        assert_eq!(d.count(), 30);
        assert_eq!(
            d.period.from,
            "2026-10-31T16:00:00Z"
                .parse::<jiff::Timestamp>()
                .unwrap()
                .as_millisecond()
        );
        assert!(
            days("2026-13-01", "", today, &tz)
                .unwrap_err()
                .contains("日期格式不正确")
        );
        assert!(
            days("2026-11-02", "2026-11-01", today, &tz)
                .unwrap_err()
                .contains("不能晚于")
        );
        assert!(
            days("2024-01-01", "2026-01-01", today, &tz)
                .unwrap_err()
                .contains("366")
        );
    }
}

// ------------------------------------------------------------------ the page

/// One report page: tabs, the filter form, charts and tables.
#[derive(Template)]
#[template(path = "admin/report.html")]
pub struct ReportPage {
    pub page: Page,
    pub kind: &'static str,
    pub tabs: Vec<(&'static str, String)>,
    pub q: ReportQuery,
    pub groups: Vec<Group>,
    pub agents: Vec<Person>,
    pub categories: Vec<(i64, String)>,
    pub charts: Vec<Svg>,
    pub tables: Vec<Table>,
    pub note: String,
    pub error: Option<String>,
}

impl ReportPage {
    pub fn new(ctx: &Ctx, kind: &'static str, q: ReportQuery) -> ReportPage {
        let title = TABS
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or_else(|| crate::t("nav-reports"), |(_, t)| crate::t(t));
        ReportPage {
            page: Page::new(ctx, title, "reports"),
            kind,
            tabs: TABS.iter().map(|(k, t)| (*k, crate::t(t))).collect(),
            q,
            groups: Vec::new(),
            agents: Vec::new(),
            categories: Vec::new(),
            charts: Vec::new(),
            tables: Vec::new(),
            note: String::new(),
            error: None,
        }
    }

    /// The URL of the workbook of what is shown.
    pub fn export_href(&self) -> String {
        let qs = self.q.query_string();
        if qs.is_empty() {
            format!("/admin/reports/{}?format=xlsx", self.kind)
        } else {
            format!("/admin/reports/{}?{qs}&format=xlsx", self.kind)
        }
    }

    /// A cell as the page shows it: counts with thousands separators.
    pub fn cell(&self, c: &Cell) -> String {
        match c {
            Cell::Int(n) => crate::i18n::number(*n),
            other => other.to_string(),
        }
    }

    pub fn selected(&self, field: &str, value: &str) -> bool {
        let v = match field {
            "group" => &self.q.group,
            "agent" => &self.q.agent,
            "category" => &self.q.category,
            _ => return false,
        };
        v == value
    }
}

/// The page again with the reason (400) instead of the report.
pub fn refused(
    ctx: &Ctx,
    kind: &'static str,
    q: ReportQuery,
    why: String,
) -> Result<Response, AppError> {
    let mut p = ReportPage::new(ctx, kind, q);
    p.error = Some(why);
    render_status(StatusCode::BAD_REQUEST, &p)
}

/// `/admin/reports`: the first report.
pub async fn home(_: crate::web::session::AdminUser) -> axum::response::Redirect {
    axum::response::Redirect::to("/admin/reports/workload")
}
