//! 分时统计 — F3 — 24 rows 00–23 of 时段 × 排队量 / 咨询人数 / 咨询消息数 with
//! a bar chart drawn on the server and a native chart in the workbook.

use super::{
    Label, Line, Rect, ReportPage, ReportQuery, Svg, days, download, facts, hour_of, refused,
    scope, table, today,
};
use crate::access::Viewer;
use crate::db::reports::Wanted;
use crate::engine::reports::{Hour, hourly};
use crate::error::AppError;
use crate::export::table::{Cell, ChartSpec};
use crate::state::AppState;
use crate::web::form::Query;
use crate::web::page::render;
use crate::web::session::AdminUser;
use axum::extract::State;
use axum::response::Response;

pub const HEADERS: &[&str] = &[
    "rep-col-hour",
    "rep-col-queued",
    "rep-col-askers",
    "rep-col-inbound",
];

/// The bars: the catalogue key of the series and its CSS class.
const SERIES: [(&str, &str); 3] = [
    ("rep-col-queued", "bar-queued"),
    ("rep-col-askers", "bar-followers"),
    ("rep-col-inbound", "bar-messages"),
];

/// Grouped bars, three per hour.
fn chart(hours: &[Hour]) -> Svg {
    let (left, top, w, h) = (40.0, 24.0, 912.0, 200.0);
    let max = hours
        .iter()
        .flat_map(|x| [x.queued, x.followers, x.messages])
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut svg = Svg {
        label: crate::t("rep-chart-hourly"),
        width: 960.0,
        height: 250.0,
        ..Svg::default()
    };
    for i in 0..=4 {
        let y = top + h - h * f64::from(i) / 4.0;
        svg.lines.push(Line {
            x1: left,
            y1: y,
            x2: left + w,
            y2: y,
        });
        svg.texts.push(Label {
            x: left - 6.0,
            y: y + 4.0,
            text: crate::i18n::number((max * f64::from(i) / 4.0).round() as i64),
            anchor: "end",
        });
    }
    let slot = w / 24.0;
    let bar = (slot - 6.0) / 3.0;
    for (i, x) in hours.iter().enumerate() {
        let x0 = left + slot * i as f64 + 3.0;
        for (k, (v, (key, class))) in [x.queued, x.followers, x.messages]
            .iter()
            .zip(SERIES)
            .enumerate()
        {
            let name = crate::t(key);
            let bh = h * *v as f64 / max;
            svg.rects.push(Rect {
                x: x0 + bar * k as f64,
                y: top + h - bh,
                w: bar,
                h: bh,
                class,
                tip: crate::t3(
                    "rep-hour-tip",
                    "hour",
                    format!("{i:02}"),
                    "series",
                    name,
                    "value",
                    crate::i18n::number(*v as i64),
                ),
            });
        }
        svg.texts.push(Label {
            x: x0 + slot / 2.0 - 3.0,
            y: top + h + 14.0,
            text: format!("{i:02}"),
            anchor: "middle",
        });
    }
    for (k, (key, class)) in SERIES.iter().enumerate() {
        let name = crate::t(key);
        let x = left + 10.0 + 110.0 * k as f64;
        svg.rects.push(Rect {
            x,
            y: 4.0,
            w: 10.0,
            h: 10.0,
            class,
            tip: name.clone(),
        });
        svg.texts.push(Label {
            x: x + 14.0,
            y: 13.0,
            text: name,
            anchor: "start",
        });
    }
    svg
}

pub async fn show(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Query(q): Query<ReportQuery>,
) -> Result<Response, AppError> {
    let tz = state.config.timezone.clone();
    let d = match days(&q.from, &q.to, today(&state), &tz) {
        Ok(d) => d,
        Err(why) => return refused(&ctx, "hourly", q, why),
    };
    let (me, group) = (s.user.clone(), q.group.clone());
    let (scope, groups) = state
        .db
        .read(move |c| -> Result<_, AppError> { scope(c, &Viewer::load(c, &me)?, &group) })
        .await?;
    let (convs, msgs) = facts(&state, &scope, d.period, Wanted::Inbound, !q.xlsx()).await?;
    let hours = tokio::task::spawn_blocking(move || {
        hourly(
            &convs,
            &msgs,
            d.period,
            |g| scope.contains(&g),
            |t| hour_of(t, &tz),
        )
    })
    .await
    .map_err(|e| AppError::Internal(format!("分时统计 failed: {e}")))?;
    let mut table = table("rep-tab-hourly", HEADERS);
    for (i, h) in hours.iter().enumerate() {
        table.rows.push(vec![
            Cell::text(format!("{i:02}")),
            Cell::Int(h.queued as i64),
            Cell::Int(h.followers as i64),
            Cell::Int(h.messages as i64),
        ]);
    }
    table.chart = Some(ChartSpec {
        title: table.name.clone(),
        series: vec![1, 2, 3],
    });
    if q.xlsx() {
        let what = crate::i18n::Msg::new("audit-export-report")
            .msg("report", crate::i18n::Msg::new("rep-tab-hourly"))
            .msg("days", d.msg());
        let name = crate::t1("exp-file-hourly", "days", d.file_label()) + ".xlsx";
        return download(&state, &ctx, &s.user, &name, what, vec![table]).await;
    }
    let mut p = ReportPage::new(&ctx, "hourly", q);
    p.groups = groups;
    p.charts = vec![chart(&hours)];
    p.tables = vec![table];
    p.note = crate::t("rep-note-hourly");
    render(&p)
}
