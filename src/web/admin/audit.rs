//! 操作日志 (E12): every state-changing action, filtered by user, action and
//! time. A super admin sees everything; an admin sees what the members of their
//! groups (and they themselves) did.

use crate::db::audit::{Actors, AuditFilter, AuditRow};
use crate::error::AppError;
use crate::model::{AuditAction, Role, UserId};
use crate::state::AppState;
use crate::web::form::Query;
use crate::web::page::{Page, local_time, render};
use crate::web::session::AdminUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AuditQuery {
    user: String,
    action: String,
    from: String,
    to: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    page: Page,
    q: AuditQuery,
    rows: Vec<(String, AuditRow)>,
    users: Vec<(UserId, String)>,
    actions: &'static [AuditAction],
    error: Option<String>,
}

/// Parses a `YYYY-MM-DD` date as local midnight, `end` moving it to the next day.
fn day_start(
    s: &str,
    tz: &jiff::tz::TimeZone,
    end: bool,
) -> Result<Option<jiff::Timestamp>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let date: jiff::civil::Date = s
        .trim()
        .parse()
        .map_err(|_| format!("日期格式不正确:{s}"))?;
    let date = if end {
        date.tomorrow().map_err(|_| "日期超出范围".to_string())?
    } else {
        date
    };
    let zoned = date
        .to_zoned(tz.clone())
        .map_err(|_| "日期超出范围".to_string())?;
    Ok(Some(zoned.timestamp()))
}

pub async fn list(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let tz = state.config.timezone.clone();
    let me = s.user.clone();
    let visible = state
        .db
        .read(move |c| -> crate::db::DbResult<_> {
            let filter = Default::default();
            let v = crate::access::Viewer::load(c, &me)?;
            // An admin sees what they did and what the agents they manage did,
            // not the actions of other admins or super admins in their groups.
            Ok(crate::db::users::list(c, &filter, &v.reach)?
                .into_iter()
                .filter(|r| {
                    r.user.id == me.id || {
                        let groups: Vec<_> = r.groups.iter().map(|(g, _)| *g).collect();
                        crate::access::manages(me.role, &v.reach, &r.user, &groups)
                    }
                })
                .map(|r| (r.user.id, r.user.username))
                .collect::<Vec<_>>())
        })
        .await?;
    let mut error = None;
    let from = day_start(&q.from, &tz, false).unwrap_or_else(|e| {
        error = Some(e);
        None
    });
    let to = day_start(&q.to, &tz, true).unwrap_or_else(|e| {
        error = Some(e);
        None
    });
    let filter = AuditFilter {
        actor: q.user.parse().ok().map(UserId),
        action: AuditAction::parse(&q.action),
        from,
        to,
        actors: if s.user.role == Role::SuperAdmin {
            Actors::All
        } else {
            Actors::Only(visible.iter().map(|(id, _)| *id).collect())
        },
        limit: 500,
    };
    let rows = state
        .db
        .read(move |c| crate::db::audit::list(c, &filter))
        .await?;
    render(&AuditPage {
        page: Page::new(&ctx, "操作日志", "audit"),
        rows: rows
            .into_iter()
            .map(|r| (local_time(r.at, &tz), r))
            .collect(),
        q,
        users: visible,
        actions: AuditAction::ALL,
        error,
    })
}
