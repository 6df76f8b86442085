//! 工作量统计 (F1): one row per agent and a 合计 row, over days and groups;
//! agents without a reply are hidden unless 显示未回复客服 (`idle=1`).

use super::{ReportPage, ReportQuery, days, download, facts, refused, scope, table, today};
use crate::access::Viewer;
use crate::db::reports::{self, Person, Wanted};
use crate::engine::reports::{Workload, workload};
use crate::error::AppError;
use crate::export::table::Cell;
use crate::model::UserId;
use crate::state::AppState;
use crate::web::form::Query;
use crate::web::page::render;
use crate::web::session::AdminUser;
use axum::extract::State;
use axum::response::Response;

pub const HEADERS: &[&str] = &[
    "rep-col-agent-name",
    "rep-col-agent-username",
    "rep-col-followers",
    "rep-col-taken",
    "rep-col-in-group",
    "rep-col-cross-group",
    "rep-col-inbound",
    "rep-col-replies",
];

fn row(p: &Person, w: &Workload) -> Vec<Cell> {
    let mut r = vec![Cell::text(&p.name), Cell::text(&p.username)];
    r.extend(numbers(w));
    r
}

fn numbers(w: &Workload) -> Vec<Cell> {
    [
        w.followers,
        w.taken,
        w.in_group,
        w.cross_group,
        w.inbound,
        w.replies,
    ]
    .into_iter()
    .map(|n| Cell::Int(n as i64))
    .collect()
}

pub async fn show(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Query(q): Query<ReportQuery>,
) -> Result<Response, AppError> {
    let tz = state.config.timezone.clone();
    let d = match days(&q.from, &q.to, today(&state), &tz) {
        Ok(d) => d,
        Err(why) => return refused(&ctx, "workload", q, why),
    };
    let agent = match q.agent.trim() {
        "" => None,
        a => {
            Some(UserId(a.parse().map_err(|_| {
                AppError::BadRequest(crate::t("rep-bad-agent"))
            })?))
        }
    };
    let (me, group, idle) = (s.user.clone(), q.group.clone(), q.idle == "1");
    let (scope, groups) = state
        .db
        .read(move |c| -> Result<_, AppError> { scope(c, &Viewer::load(c, &me)?, &group) })
        .await?;
    let (convs, msgs) = facts(&state, &scope, d.period, Wanted::All, !q.xlsx()).await?;
    let (members, table) = state
        .db
        .read(move |c| -> Result<_, AppError> {
            let by_agent = workload(&convs, &msgs, d.period, |g| scope.contains(&g));
            let members = reports::members(c, &scope)?;
            // Members of the groups, then anyone else who worked in them.
            let mut people = members.clone();
            let others: Vec<UserId> = by_agent
                .keys()
                .filter(|id| !members.iter().any(|m| m.id == **id))
                .copied()
                .collect();
            people.extend(reports::people(c, &others)?);
            let mut table = table("rep-tab-workload", HEADERS);
            let mut total = Workload::default();
            for p in &people {
                let w = by_agent.get(&p.id).cloned().unwrap_or_default();
                if agent.is_some_and(|a| a != p.id) || (w.replies == 0 && !idle) {
                    continue;
                }
                total.add(&w);
                table.rows.push(row(p, &w));
            }
            let word = crate::t("rep-total");
            let mut t = vec![Cell::text(word), Cell::text("")];
            t.extend(numbers(&total));
            table.total = Some(t);
            Ok((members, table))
        })
        .await?;
    if q.xlsx() {
        let what = crate::i18n::Msg::new("audit-export-report")
            .msg("report", crate::i18n::Msg::new("rep-tab-workload"))
            .msg("days", d.msg());
        let name = crate::t1("exp-file-workload", "days", d.file_label()) + ".xlsx";
        return download(&state, &ctx, &s.user, &name, what, vec![table]).await;
    }
    let mut p = ReportPage::new(&ctx, "workload", q);
    p.groups = groups;
    p.agents = members;
    p.tables = vec![table];
    p.note = crate::t("rep-note-workload");
    render(&p)
}
