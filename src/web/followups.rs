//! The lists agents come back to: the 标注列表 page (`/console/marks`, B11, E14)
//! with its actions 标记已处理 / 删除 / 重新接入 — and the 标签列表 page
//! (`/console/tagged`, B12, E10),
//! filtered by tag, date and agent. Who sees which rows is a
//! [`Scope`](crate::db::followups::Scope): an agent their own, an admin their
//! groups', the super admin all. Marks and tags are created in the console.

use crate::db::audit::Entry;
use crate::db::followups::{self, MarkFilter, MarkRow, Scope, TaggedFilter, TaggedRow};
use crate::db::taxonomy::Tag;
use crate::error::AppError;
use crate::export::pdf::Listing;
use crate::export::table::{Cell, Table};
use crate::model::{AuditAction, Role, User, UserId};
use crate::state::AppState;
use crate::team::Acting;
use crate::web::admin::reports::{download, table as named_table};
use crate::web::form::{IdPath, Query};
use crate::web::page::{Page, local_time, render};
use crate::web::session::{AnyUser, Ctx, with_flash};
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use rusqlite::Connection;
use serde::Deserialize;

const PAGE_SIZE: i64 = 50;

/// What `user` may see of marks and taggings.
fn scope_of(c: &Connection, user: &User) -> crate::db::DbResult<Scope> {
    Ok(crate::access::followups_scope(
        &crate::access::Viewer::load(c, user)?,
    ))
}

// ---- 标注列表 -------------------------------------------------------------

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct MarksQuery {
    /// `open` (default), `handled` or `all`.
    state: String,
    /// `xlsx` or `pdf`: the same rows as a workbook or a PDF.
    format: String,
}

impl MarksQuery {
    fn filter(&self) -> MarkFilter {
        match self.state.as_str() {
            "handled" => MarkFilter::Handled,
            "all" => MarkFilter::All,
            _ => MarkFilter::Open,
        }
    }
}

pub struct MarkLine {
    pub mark: MarkRow,
    pub created: String,
    pub handled: Option<String>,
}

#[derive(Template)]
#[template(path = "console/marks.html")]
struct MarksPage {
    page: Page,
    state: &'static str,
    rows: Vec<MarkLine>,
    show_agent: bool,
}

impl MarksPage {
    /// The filter tabs: (value, label).
    fn states(&self) -> [(&'static str, String); 3] {
        [
            ("open", crate::t("marks-open")),
            ("handled", crate::t("marks-handled")),
            ("all", crate::t("common-all")),
        ]
    }

    fn is_state(&self, value: &str) -> bool {
        self.state == value
    }
}

pub async fn marks(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Query(q): Query<MarksQuery>,
) -> Result<Response, AppError> {
    let filter = q.filter();
    let user = s.user.clone();
    let rows = state
        .db
        .read(move |c| -> crate::db::DbResult<_> {
            followups::marks(c, &scope_of(c, &user)?, filter)
        })
        .await?;
    let tz = &state.config.timezone;
    if q.format == "xlsx" || q.format == "pdf" {
        let mut table = named_table(
            "exp-marks-title",
            &[
                "exp-marks-follower",
                "exp-marks-agent",
                "exp-marks-note",
                "exp-marks-created",
                "exp-marks-handled",
            ],
        );
        for m in &rows {
            table.rows.push(vec![
                Cell::text(crate::web::console::follower_label(m.follower.clone())),
                Cell::text(m.agent.clone().unwrap_or_default()),
                Cell::text(m.note.clone()),
                Cell::time(m.created_at, tz),
                m.handled_at.map_or(Cell::Empty, |t| Cell::time(t, tz)),
            ]);
        }
        let what = crate::i18n::Msg::new("audit-export-marks").number("n", rows.len() as i64);
        let name = crate::t("exp-file-marks");
        if q.format == "pdf" {
            let label = crate::t(match filter {
                MarkFilter::Open => "marks-open",
                MarkFilter::Handled => "marks-handled",
                MarkFilter::All => "common-all",
            });
            let filters = vec![(crate::t("exp-marks-state"), label)];
            let title = crate::t("exp-marks-title");
            let list = listing(&state, &s.user, &title, filters, table, vec![3, 0, 1]);
            let name = format!("{name}.pdf");
            return pdf_download(&state, &ctx, &s.user, list, &name, what).await;
        }
        let name = format!("{name}.xlsx");
        return download(&state, &ctx, &s.user, &name, what, vec![table]).await;
    }
    render(&MarksPage {
        page: Page::new(&ctx, crate::t("marks-title"), "marks"),
        state: match filter {
            MarkFilter::Open => "open",
            MarkFilter::Handled => "handled",
            MarkFilter::All => "all",
        },
        rows: rows
            .into_iter()
            .map(|mut m| {
                m.follower = crate::web::console::follower_label(m.follower);
                MarkLine {
                    created: local_time(m.created_at, tz),
                    handled: m.handled_at.map(|t| local_time(t, tz)),
                    mark: m,
                }
            })
            .collect(),
        show_agent: s.user.role != Role::Agent,
    })
}

/// Runs `change` on a mark the user may see; 404 for any other id.
async fn change_mark(
    state: &AppState,
    user: &User,
    id: i64,
    change: impl FnOnce(&Connection, i64) -> crate::db::DbResult<bool> + Send + 'static,
) -> Result<(), AppError> {
    let user = user.clone();
    state
        .db
        .write(move |c| -> Result<(), AppError> {
            followups::mark(c, &scope_of(c, &user)?, id)?.ok_or(AppError::NotFound)?;
            change(c, id)?;
            Ok(())
        })
        .await
}

pub async fn handle_mark(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    change_mark(&state, &s.user, id, move |c, id| {
        followups::handle_mark(c, id, now)
    })
    .await?;
    Ok(with_flash(
        Redirect::to("/console/marks"),
        true,
        crate::t("marks-handled-done"),
        ctx.secure_cookies,
    ))
}

pub async fn delete_mark(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    change_mark(&state, &s.user, id, followups::delete_mark).await?;
    Ok(with_flash(
        Redirect::to("/console/marks"),
        true,
        crate::t("marks-deleted"),
        ctx.secure_cookies,
    ))
}

// ---- 标签列表 -------------------------------------------------------------

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct TaggedQuery {
    tag: String,
    from: String,
    to: String,
    agent: String,
    /// The follower's remark, WeChat remark or OpenID (issue 12).
    follower: String,
    /// Part of the tagging's remark (issue 12).
    remark: String,
    page: i64,
    /// `xlsx` or `pdf`: every matching row (not only this page) as a
    /// workbook or a PDF.
    format: String,
}

/// The most rows one workbook of the tagged list holds.
const EXPORT_ROWS: i64 = 50_000;

pub struct TaggedLine {
    pub row: TaggedRow,
    pub created: String,
}

#[derive(Template)]
#[template(path = "console/tagged.html")]
struct TaggedPage {
    page: Page,
    q: TaggedQuery,
    tags: Vec<Tag>,
    /// Agents to filter by (admins only; empty for agents).
    agents: Vec<(UserId, String)>,
    rows: Vec<TaggedLine>,
    total: i64,
    pages: i64,
    current: i64,
    window: Vec<(i64, String)>,
    last_url: String,
    error: Option<String>,
}

impl TaggedPage {
    fn page_url(&self, n: i64) -> String {
        let q = &self.q;
        let pairs = [
            ("tag", q.tag.as_str()),
            ("from", q.from.as_str()),
            ("to", q.to.as_str()),
            ("agent", q.agent.as_str()),
        ];
        format!(
            "/console/tagged?{}{}&page={n}",
            serde_urlencoded::to_string(pairs).unwrap_or_default(),
            self.search_pairs()
        )
    }

    /// The current filters as a workbook or PDF (`format`: every matching
    /// row, not one page).
    fn export_url(&self, format: &str) -> String {
        let q = &self.q;
        let pairs = [
            ("tag", q.tag.as_str()),
            ("from", q.from.as_str()),
            ("to", q.to.as_str()),
            ("agent", q.agent.as_str()),
        ];
        format!(
            "/console/tagged?{}{}&format={format}",
            serde_urlencoded::to_string(pairs).unwrap_or_default(),
            self.search_pairs()
        )
    }

    /// `&follower=…&remark=…` for the ones given (issue 12), so links
    /// without them stay as they were.
    fn search_pairs(&self) -> String {
        let q = &self.q;
        let pairs: Vec<_> = [("follower", q.follower.trim()), ("remark", q.remark.trim())]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        if pairs.is_empty() {
            return String::new();
        }
        format!(
            "&{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }

    fn indent(&self, depth: &usize) -> String {
        "\u{3000}".repeat(*depth)
    }

    fn is(&self, selected: &str, id: String) -> bool {
        selected == id
    }
}

/// The start of a local day (`YYYY-MM-DD`) as a timestamp; `days` later for an end.
fn day_start(raw: &str, days: i64, tz: &jiff::tz::TimeZone) -> Result<Option<jiff::Timestamp>, ()> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let date: jiff::civil::Date = raw.parse().map_err(|_| ())?;
    let date = date
        .checked_add(jiff::Span::new().days(days))
        .map_err(|_| ())?;
    Ok(Some(date.to_zoned(tz.clone()).map_err(|_| ())?.timestamp()))
}

pub async fn tagged(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Query(q): Query<TaggedQuery>,
) -> Result<Response, AppError> {
    let tz = state.config.timezone.clone();
    let current = q.page.clamp(1, 1_000_000);
    let (from, to) = (day_start(&q.from, 0, &tz), day_start(&q.to, 1, &tz));
    let error = (from.is_err() || to.is_err()).then(|| crate::t("console-date-format"));
    let is_admin = s.user.role.at_least(Role::Admin);
    let mut filter = TaggedFilter {
        from: from.unwrap_or(None),
        to: to.unwrap_or(None),
        agent: if is_admin {
            q.agent.trim().parse().ok().map(UserId)
        } else {
            None
        },
        follower: q.follower.trim().to_string(),
        remark: q.remark.trim().to_string(),
        limit: PAGE_SIZE,
        offset: (current - 1) * PAGE_SIZE,
        tags: Vec::new(),
    };
    let export = q.format == "xlsx" || q.format == "pdf";
    if export {
        // A file must not quietly cover more than the filters said.
        if let Some(why) = error {
            return Err(AppError::BadRequest(why));
        }
        (filter.limit, filter.offset) = (EXPORT_ROWS, 0);
    }
    let agent = filter.agent;
    let (user, tag) = (s.user.clone(), q.tag.trim().parse::<i64>().ok());
    let (tags, agents, (rows, total)) = state
        .db
        .read(move |c| -> crate::db::DbResult<_> {
            if let Some(t) = tag {
                filter.tags = crate::db::taxonomy::tag_subtree(c, t)?;
                if filter.tags.is_empty() {
                    filter.tags.push(t); // a tag deleted meanwhile: nothing matches
                }
            }
            let agents = match user.role {
                Role::Agent => Vec::new(),
                Role::Admin | Role::SuperAdmin => {
                    let reach = crate::access::Viewer::load(c, &user)?.reach;
                    crate::db::users::list(c, &Default::default(), &reach)?
                        .into_iter()
                        .map(|r| (r.user.id, r.user.display_name))
                        .collect()
                }
            };
            let found = followups::tagged(c, &scope_of(c, &user)?, &filter)?;
            Ok((crate::db::taxonomy::tags(c)?, agents, found))
        })
        .await?;
    if export {
        if total > EXPORT_ROWS {
            return Err(AppError::BadRequest(crate::t2(
                "tagged-export-too-many",
                "n",
                total,
                "max",
                EXPORT_ROWS,
            )));
        }
        let mut table = named_table(
            "exp-tagged-sheet",
            &[
                "exp-tagged-tag",
                "exp-tagged-follower",
                "exp-tagged-message",
                "exp-tagged-remark",
                "exp-tagged-agent",
                "exp-tagged-time",
            ],
        );
        for r in &rows {
            table.rows.push(vec![
                Cell::text(r.tag.clone()),
                Cell::text(crate::web::console::follower_label(r.follower.clone())),
                Cell::text(
                    r.message
                        .clone()
                        .unwrap_or_else(|| crate::t("exp-tagged-whole")),
                ),
                Cell::text(r.remark.clone()),
                Cell::text(r.agent.clone().unwrap_or_default()),
                Cell::time(r.created_at, &tz),
            ]);
        }
        let what = crate::i18n::Msg::new("audit-export-tagged").number("n", rows.len() as i64);
        if q.format == "pdf" {
            let mut filters = Vec::new();
            if let Some(t) = tag {
                let name = tags.iter().find(|x| x.id == t).map(|x| x.name.clone());
                let name = name.unwrap_or_else(|| format!("#{t}"));
                filters.push((crate::t("exp-tagged-tag"), name));
            }
            for (name, raw) in [
                ("exp-tagged-from", &q.from),
                ("exp-tagged-to", &q.to),
                ("exp-tagged-search-follower", &q.follower),
                ("exp-tagged-remark", &q.remark),
            ] {
                if !raw.trim().is_empty() {
                    filters.push((crate::t(name), raw.trim().to_string()));
                }
            }
            if let Some(a) = agent {
                let name = agents
                    .iter()
                    .find(|(id, _)| *id == a)
                    .map(|(_, n)| n.clone());
                let name = name.unwrap_or_else(|| format!("#{a}"));
                filters.push((crate::t("exp-tagged-agent"), name));
            }
            let title = crate::t("exp-tagged-title");
            let list = listing(&state, &s.user, &title, filters, table, vec![5, 0, 1, 4]);
            let name = format!("{}.pdf", crate::t("exp-file-tagged"));
            return pdf_download(&state, &ctx, &s.user, list, &name, what).await;
        }
        let name = format!("{}.xlsx", crate::t("exp-file-tagged"));
        return download(&state, &ctx, &s.user, &name, what, vec![table]).await;
    }
    let mut page = TaggedPage {
        page: Page::new(&ctx, crate::t("tagged-title"), "tagged"),
        rows: rows
            .into_iter()
            .map(|mut row| {
                row.follower = crate::web::console::follower_label(row.follower);
                TaggedLine {
                    created: local_time(row.created_at, &tz),
                    row,
                }
            })
            .collect(),
        pages: (total + PAGE_SIZE - 1) / PAGE_SIZE,
        window: Vec::new(),
        last_url: String::new(),
        total,
        current,
        q,
        tags,
        agents,
        error,
    };
    let pages = page.pages;
    page.last_url = page.page_url(pages);
    page.window = ((current - 4).max(1)..=(current + 4).min(pages))
        .map(|n| (n, page.page_url(n)))
        .collect();
    render(&page)
}

// ---- PDF ------------------------------------------------------------------

/// A list's table as a [`Listing`] with who exports it and when.
fn listing(
    state: &AppState,
    user: &User,
    title: &str,
    filters: Vec<(String, String)>,
    table: Table,
    heading: Vec<usize>,
) -> Listing {
    Listing {
        title: title.into(),
        filters,
        exported_at: state
            .clock
            .now()
            .to_zoned(state.config.timezone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        exported_by: crate::export::exporter(user),
        table,
        heading,
    }
}

/// The list as a PDF download, recorded in the audit log like the workbook.
async fn pdf_download(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    list: Listing,
    filename: &str,
    what: crate::i18n::Msg,
) -> Result<Response, AppError> {
    let (by, now) = (Acting::user(user, &ctx.ip), state.clock.now());
    let what = crate::i18n::Msg::new("audit-export-pdf").msg("what", what);
    let entry = Entry::new(AuditAction::ReportExport, what.stored());
    state
        .db
        .write(move |c| crate::db::audit::record(c, &crate::team::actor(&by), &entry, now))
        .await?;
    let lang = crate::i18n::current();
    let bytes = tokio::task::spawn_blocking(move || {
        crate::i18n::sync_scope(lang, || {
            crate::export::pdf::render_listing(&list, crate::export::font::transcript())
        })
    })
    .await
    .map_err(|e| AppError::Internal(format!("rendering a list as PDF: {e}")))?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                crate::export::attachment(filename, "list.pdf"),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_local_and_an_end_day_is_included() {
        let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
        let from = day_start("2026-11-20", 0, &tz).unwrap().unwrap();
        assert_eq!(from.to_string(), "2026-11-19T16:00:00Z");
        let to = day_start("2026-11-20", 1, &tz).unwrap().unwrap();
        assert_eq!(to.to_string(), "2026-11-20T16:00:00Z");
        assert_eq!(day_start(" ", 0, &tz), Ok(None));
        assert!(day_start("20/11/2026", 0, &tz).is_err());
    }
}
