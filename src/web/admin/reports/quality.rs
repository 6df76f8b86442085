//! 工作质量概览 (F4) and its detail: the queue length along one day (a step
//! line), each agent's status along the day (a timeline), and per agent the
//! time online / busy / away, conversations taken and the first-response
//! median. Statuses come from `agent_status_log`, kept since migration 8.

use super::{
    Label, Line, Rect, ReportPage, ReportQuery, Svg, days, download, facts, refused, scope, table,
    today,
};
use crate::access::Viewer;
use crate::db::reports::{self, Person, Wanted};
use crate::engine::reports::{
    Ms, Period, Segment, first_responses, median, queue_length, status_segments, status_totals,
    workload,
};
use crate::error::AppError;
use crate::export::table::Cell;
use crate::model::{AgentStatus, UserId};
use crate::state::AppState;
use crate::web::form::Query;
use crate::web::page::render;
use crate::web::session::AdminUser;
use axum::extract::State;
use axum::response::Response;
use std::collections::HashMap;

pub const HEADERS: &[&str] = &[
    "rep-col-agent-name",
    "rep-col-agent-username",
    "rep-col-online",
    "rep-col-busy",
    "rep-col-away",
    "rep-col-taken",
    "rep-col-first-median",
];

const LEFT: f64 = 120.0;
const WIDTH: f64 = 840.0;

fn x_of(t: Ms, p: Period) -> f64 {
    LEFT + WIDTH * (t - p.from) as f64 / (p.to - p.from).max(1) as f64
}

/// Hour ticks along the bottom of a day chart.
fn hour_axis(svg: &mut Svg, top: f64, bottom: f64) {
    for h in (0..=24).step_by(3) {
        let x = LEFT + WIDTH * f64::from(h) / 24.0;
        svg.lines.push(Line {
            x1: x,
            y1: top,
            x2: x,
            y2: bottom,
        });
        svg.texts.push(Label {
            x,
            y: bottom + 14.0,
            text: format!("{h:02}:00"),
            anchor: "middle",
        });
    }
}

fn queue_chart(points: &[(Ms, i64)], p: Period, until: Ms) -> Svg {
    let (top, h) = (10.0, 120.0);
    let max = points.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let y = |n: i64| top + h - h * n as f64 / max;
    let mut svg = Svg {
        label: crate::t("rep-chart-queue"),
        width: 980.0,
        height: 160.0,
        ..Svg::default()
    };
    hour_axis(&mut svg, top, top + h);
    svg.texts.push(Label {
        x: LEFT - 6.0,
        y: top + 4.0,
        text: format!("{max}"),
        anchor: "end",
    });
    svg.texts.push(Label {
        x: LEFT - 6.0,
        y: top + h + 4.0,
        text: "0".into(),
        anchor: "end",
    });
    let mut pts = Vec::new();
    let mut prev = 0;
    for (t, n) in points {
        let x = x_of(*t, p);
        pts.push(format!("{x:.1},{:.1}", y(prev)));
        pts.push(format!("{x:.1},{:.1}", y(*n)));
        prev = *n;
    }
    pts.push(format!("{:.1},{:.1}", x_of(until, p), y(prev)));
    svg.path = Some(pts.join(" "));
    svg
}

fn status_class(s: AgentStatus) -> &'static str {
    match s {
        AgentStatus::Online => "st-online",
        AgentStatus::Busy => "st-busy",
        AgentStatus::Away => "st-away",
        AgentStatus::Offline => "st-offline",
    }
}

fn timeline(rows: &[(Person, Vec<Segment>)], p: Period, tz: &jiff::tz::TimeZone) -> Svg {
    let row_h = 24.0;
    let top = 24.0;
    let bottom = top + row_h * rows.len().max(1) as f64;
    let mut svg = Svg {
        label: crate::t("rep-chart-status"),
        width: 980.0,
        height: bottom + 24.0,
        ..Svg::default()
    };
    for (k, s) in AgentStatus::ALL.iter().enumerate() {
        let x = LEFT + 90.0 * k as f64;
        svg.rects.push(Rect {
            x,
            y: 4.0,
            w: 10.0,
            h: 10.0,
            class: status_class(*s),
            tip: s.label(),
        });
        svg.texts.push(Label {
            x: x + 14.0,
            y: 13.0,
            text: s.label(),
            anchor: "start",
        });
    }
    hour_axis(&mut svg, top, bottom);
    let hm = |t: Ms| {
        jiff::Timestamp::from_millisecond(t)
            .map(|x| x.to_zoned(tz.clone()).strftime("%H:%M").to_string())
            .unwrap_or_default()
    };
    for (i, (person, segs)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        svg.texts.push(Label {
            x: LEFT - 6.0,
            y: y + 16.0,
            text: person.name.clone(),
            anchor: "end",
        });
        for (s, a, b) in segs {
            svg.rects.push(Rect {
                x: x_of(*a, p),
                y: y + 4.0,
                w: (x_of(*b, p) - x_of(*a, p)).max(0.5),
                h: row_h - 8.0,
                class: status_class(*s),
                tip: format!("{} {}–{} {}", person.name, hm(*a), hm(*b), s.label()),
            });
        }
    }
    svg
}

pub async fn show(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Query(q): Query<ReportQuery>,
) -> Result<Response, AppError> {
    let tz = state.config.timezone.clone();
    let d = match days(&q.date, &q.date, today(&state), &tz) {
        Ok(d) => d,
        Err(why) => return refused(&ctx, "quality", q, why),
    };
    let until = state.clock.now().as_millisecond().min(d.period.to);
    let (me, group, tz2) = (s.user.clone(), q.group.clone(), tz.clone());
    let (scope, groups) = state
        .db
        .read(move |c| -> Result<_, AppError> { scope(c, &Viewer::load(c, &me)?, &group) })
        .await?;
    // The workload replay gives each agent's 接入 count, which needs no message.
    let (convs, msgs) = facts(&state, &scope, d.period, Wanted::Replies, !q.xlsx()).await?;
    let (charts, table) = state
        .db
        .read(move |c| -> Result<_, AppError> {
            let p = d.period;
            let in_scope = |g| scope.contains(&g);
            let queue = queue_length(&convs, p, in_scope);
            let taken = workload(&convs, &msgs, p, in_scope);
            let mut delays: HashMap<UserId, Vec<Ms>> = HashMap::new();
            for (_, a, delay) in first_responses(&convs, &msgs, p, in_scope) {
                delays.entry(a).or_default().extend(delay);
            }
            let people = reports::members(c, &scope)?;
            let ids: Vec<UserId> = people.iter().map(|p| p.id).collect();
            let (before, changes) = reports::status_log(c, &ids, p.from, p.to)?;
            let mut rows = Vec::new();
            let mut table = table("rep-quality-detail", HEADERS);
            for person in people {
                let mine: Vec<(AgentStatus, Ms)> = changes
                    .iter()
                    .filter(|(u, _, _)| *u == person.id)
                    .map(|(_, s, at)| (*s, *at))
                    .collect();
                let segs = status_segments(before.get(&person.id).copied(), &mine, p, until);
                let totals = status_totals(&segs);
                let time = |s| Cell::Duration(totals.get(&s).copied().unwrap_or(0));
                table.rows.push(vec![
                    Cell::text(&person.name),
                    Cell::text(&person.username),
                    time(AgentStatus::Online),
                    time(AgentStatus::Busy),
                    time(AgentStatus::Away),
                    Cell::Int(taken.get(&person.id).map_or(0, |w| w.taken) as i64),
                    Cell::duration(delays.get(&person.id).and_then(|d| median(d))),
                ]);
                rows.push((person, segs));
            }
            let charts = vec![queue_chart(&queue, p, until), timeline(&rows, p, &tz2)];
            Ok((charts, table))
        })
        .await?;
    if q.xlsx() {
        let what = crate::i18n::Msg::new("audit-export-report")
            .msg("report", crate::i18n::Msg::new("rep-quality-detail"))
            .msg("days", d.msg());
        let name = crate::t1("exp-file-quality", "days", d.file_label()) + ".xlsx";
        return download(&state, &ctx, &s.user, &name, what, vec![table]).await;
    }
    let mut p = ReportPage::new(&ctx, "quality", q);
    p.groups = groups;
    p.charts = charts;
    p.tables = vec![table];
    p.note = crate::t("rep-note-quality");
    render(&p)
}
