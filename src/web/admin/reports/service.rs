//! 服务水平 (F5): per group and per agent — first response (median, p90,
//! share within the SLA), handling time, abandonment and satisfaction.

use super::{ReportPage, ReportQuery, days, download, facts, refused, scope, table, today};
use crate::access::Viewer;
use crate::db::reports::{self, Person, Wanted};
use crate::db::settings::GroupSettings;
use crate::engine::reports::{
    Ms, abandonment, first_responses, handled, median, percentile, within_sla,
};
use crate::error::AppError;
use crate::export::table::Cell;
use crate::model::{GroupId, UserId};
use crate::state::AppState;
use crate::web::form::Query;
use crate::web::page::render;
use crate::web::session::AdminUser;
use axum::extract::State;
use axum::response::Response;
use std::collections::HashMap;

pub const GROUP_HEADERS: &[&str] = &[
    "rep-col-group",
    "rep-col-taken",
    "rep-col-first-median",
    "rep-col-first-p90",
    "rep-col-sla",
    "rep-col-handling",
    "rep-col-queued",
    "rep-col-abandoned",
    "rep-col-abandon-rate",
    "rep-col-ratings",
    "rep-col-avg-score",
    "rep-col-satisfied",
    "rep-col-solved",
];

pub const AGENT_HEADERS: &[&str] = &[
    "rep-col-agent-name",
    "rep-col-agent-username",
    "rep-col-taken",
    "rep-col-first-median",
    "rep-col-first-p90",
    "rep-col-sla",
    "rep-col-handling",
    "rep-col-ratings",
    "rep-col-avg-score",
    "rep-col-satisfied",
    "rep-col-solved",
];

/// What is summed per group or per agent.
#[derive(Default)]
struct Acc {
    taken: u64,
    /// First responses within their group's SLA.
    within: u64,
    delays: Vec<Ms>,
    handling: Vec<Ms>,
    scores: Vec<i64>,
    solved: u64,
}

impl Acc {
    fn cells(&self) -> (Vec<Cell>, Vec<Cell>) {
        let first = vec![
            Cell::Int(self.taken as i64),
            Cell::duration(median(&self.delays)),
            Cell::duration(percentile(&self.delays, 90)),
            Cell::share(self.within, self.taken),
            Cell::duration(if self.handling.is_empty() {
                None
            } else {
                Some(self.handling.iter().sum::<Ms>() / self.handling.len() as i64)
            }),
        ];
        let n = self.scores.len() as u64;
        let good = self.scores.iter().filter(|s| **s >= 4).count() as u64;
        let last = vec![
            Cell::Int(n as i64),
            if n == 0 {
                Cell::Empty
            } else {
                Cell::Decimal(self.scores.iter().sum::<i64>() as f64 / n as f64)
            },
            Cell::share(good, n),
            Cell::share(self.solved, n),
        ];
        (first, last)
    }
}

pub async fn show(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Query(q): Query<ReportQuery>,
) -> Result<Response, AppError> {
    let tz = state.config.timezone.clone();
    let d = match days(&q.from, &q.to, today(&state), &tz) {
        Ok(d) => d,
        Err(why) => return refused(&ctx, "service", q, why),
    };
    let (me, group) = (s.user.clone(), q.group.clone());
    let (scope, groups) = state
        .db
        .read(move |c| -> Result<_, AppError> { scope(c, &Viewer::load(c, &me)?, &group) })
        .await?;
    let (convs, msgs) = facts(&state, &scope, d.period, Wanted::Replies, !q.xlsx()).await?;
    let (groups, by_group, by_agent) = state
        .db
        .read(move |c| -> Result<_, AppError> {
            let in_scope = |g: GroupId| scope.contains(&g);
            let mut per_group: HashMap<GroupId, Acc> = HashMap::new();
            let mut per_agent: HashMap<UserId, Acc> = HashMap::new();
            // Each group's first-response target from its 接待设置 (default 60 s).
            let mut sla: HashMap<GroupId, i64> = HashMap::new();
            for g in &scope {
                sla.insert(*g, crate::db::settings::group(c, *g)?.sla_secs);
            }
            for (g, a, delay) in first_responses(&convs, &msgs, d.period, in_scope) {
                let target = sla
                    .get(&g)
                    .copied()
                    .unwrap_or(GroupSettings::default().sla_secs);
                let within = u64::from(within_sla(delay, target));
                for acc in [
                    per_group.entry(g).or_default(),
                    per_agent.entry(a).or_default(),
                ] {
                    acc.taken += 1;
                    acc.within += within;
                    acc.delays.extend(delay);
                }
            }
            for (g, a, took, survey) in handled(&convs, d.period, in_scope) {
                for acc in [
                    per_group.entry(g).or_default(),
                    per_agent.entry(a).or_default(),
                ] {
                    acc.handling.push(took);
                    if let Some((score, solved)) = survey {
                        acc.scores.push(score);
                        acc.solved += u64::from(solved == Some(true));
                    }
                }
            }
            let queues = abandonment(&convs, d.period, in_scope);
            let mut by_group = table("rep-service-groups", GROUP_HEADERS);
            for g in groups.iter().filter(|g| scope.contains(&g.id)) {
                let acc = per_group.remove(&g.id).unwrap_or_default();
                let (entered, left) = queues.get(&g.id).copied().unwrap_or((0, 0));
                let (first, last) = acc.cells();
                let mut r = vec![Cell::text(&g.name)];
                r.extend(first);
                r.extend([
                    Cell::Int(entered as i64),
                    Cell::Int(left as i64),
                    Cell::share(left, entered),
                ]);
                r.extend(last);
                by_group.rows.push(r);
            }
            let mut people: Vec<Person> = reports::members(c, &scope)?;
            let others: Vec<UserId> = per_agent
                .keys()
                .filter(|id| !people.iter().any(|p| p.id == **id))
                .copied()
                .collect();
            people.extend(reports::people(c, &others)?);
            let mut by_agent = table("rep-service-agents", AGENT_HEADERS);
            for p in &people {
                let Some(acc) = per_agent.get(&p.id) else {
                    continue;
                };
                let (first, last) = acc.cells();
                let mut r = vec![Cell::text(&p.name), Cell::text(&p.username)];
                r.extend(first);
                r.extend(last);
                by_agent.rows.push(r);
            }
            Ok((groups, by_group, by_agent))
        })
        .await?;
    let tables = vec![by_group, by_agent];
    if q.xlsx() {
        let what = crate::i18n::Msg::new("audit-export-report")
            .msg("report", crate::i18n::Msg::new("rep-tab-service"))
            .msg("days", d.msg());
        let name = crate::t1("exp-file-service", "days", d.file_label()) + ".xlsx";
        return download(&state, &ctx, &s.user, &name, what, tables).await;
    }
    let mut p = ReportPage::new(&ctx, "service", q);
    p.groups = groups;
    p.tables = tables;
    p.note = crate::t("rep-note-service");
    render(&p)
}
