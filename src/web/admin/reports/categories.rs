//! 咨询分类统计 — F2 — a row per day — 日期 — a column per category (its tree
//! path), a 合计 column and a 合计 row. A conversation counts on the day it
//! ended, once for each of its categories; a category filter keeps its
//! subtree.

use super::{ReportPage, ReportQuery, day_of, days, download, refused, scope, today};
use crate::access::Viewer;
use crate::db::reports;
use crate::engine::reports::{CategoryNode, categories_by_day, category_paths, subtree};
use crate::error::AppError;
use crate::export::table::{Cell, Table};
use crate::state::AppState;
use crate::web::form::Query;
use crate::web::page::render;
use crate::web::session::AdminUser;
use axum::extract::State;
use axum::response::Response;

pub async fn show(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Query(q): Query<ReportQuery>,
) -> Result<Response, AppError> {
    let tz = state.config.timezone.clone();
    let d = match days(&q.from, &q.to, today(&state), &tz) {
        Ok(d) => d,
        Err(why) => return refused(&ctx, "categories", q, why),
    };
    let category = match q.category.trim() {
        "" => None,
        c => Some(
            c.parse::<i64>()
                .map_err(|_| AppError::BadRequest(crate::t("rep-bad-category")))?,
        ),
    };
    let (me, group) = (s.user.clone(), q.group.clone());
    let (groups, pickable, table) = state
        .db
        .read(move |c| -> Result<_, AppError> {
            let v = Viewer::load(c, &me)?;
            let (scope, groups) = scope(c, &v, &group)?;
            // Every category of the groups in scope, in tree order; the group's
            // name goes first when several groups have categories.
            let mut cols: Vec<(i64, String)> = Vec::new();
            let mut nodes_all: Vec<CategoryNode> = Vec::new();
            let with_categories: Vec<_> = groups
                .iter()
                .filter(|g| scope.contains(&g.id))
                .map(|g| Ok((g, crate::db::taxonomy::categories(c, g.id)?)))
                .collect::<Result<Vec<_>, crate::db::DbError>>()?
                .into_iter()
                .filter(|(_, cats)| !cats.is_empty())
                .collect();
            let several = with_categories.len() > 1;
            for (g, cats) in &with_categories {
                let nodes: Vec<CategoryNode> = cats
                    .iter()
                    .map(|x| CategoryNode {
                        id: x.id,
                        parent: x.parent_id,
                        name: x.name.clone(),
                    })
                    .collect();
                for (id, path) in category_paths(&nodes) {
                    let path = if several {
                        crate::t2("rep-group-path", "group", g.name.as_str(), "path", path)
                    } else {
                        path
                    };
                    cols.push((id, path));
                }
                nodes_all.extend(nodes);
            }
            let pickable = cols.clone();
            if let Some(root) = category {
                if !cols.iter().any(|(id, _)| *id == root) {
                    return Err(AppError::BadRequest(crate::t("rep-no-category")));
                }
                let keep = subtree(&nodes_all, root);
                cols.retain(|(id, _)| keep.contains(id));
            }
            let ended = reports::categorised(c, &scope, d.period.from, d.period.to)?;
            let by_day: Vec<(usize, i64)> = ended
                .into_iter()
                .filter_map(|(at, cat)| {
                    let day = day_of(at, &tz)?;
                    let i = d.first.until(day).ok()?.get_days();
                    Some((usize::try_from(i).ok()?, cat))
                })
                .collect();
            let ids: Vec<i64> = cols.iter().map(|(id, _)| *id).collect();
            let grid = categories_by_day(d.count(), &ids, &by_day);
            let mut headers = vec![crate::t("rep-col-date")];
            headers.extend(cols.iter().map(|(_, p)| p.clone()));
            headers.push(crate::t("rep-total"));
            let mut table = Table::new(&crate::t("rep-tab-categories"), &[]);
            table.headers = headers;
            let mut sums = vec![0u64; ids.len()];
            let mut day = d.first;
            for counts in &grid {
                let mut r = vec![Cell::Date(day)];
                r.extend(counts.iter().map(|n| Cell::Int(*n as i64)));
                r.push(Cell::Int(counts.iter().sum::<u64>() as i64));
                for (s, n) in sums.iter_mut().zip(counts) {
                    *s += n;
                }
                table.rows.push(r);
                day = day.tomorrow().unwrap_or(day);
            }
            let mut t = vec![Cell::text(crate::t("rep-total"))];
            t.extend(sums.iter().map(|n| Cell::Int(*n as i64)));
            t.push(Cell::Int(sums.iter().sum::<u64>() as i64));
            table.total = Some(t);
            Ok((groups, pickable, table))
        })
        .await?;
    if q.xlsx() {
        let what = crate::i18n::Msg::new("audit-export-report")
            .msg("report", crate::i18n::Msg::new("rep-tab-categories"))
            .msg("days", d.msg());
        let name = crate::t1("exp-file-categories", "days", d.file_label()) + ".xlsx";
        return download(&state, &ctx, &s.user, &name, what, vec![table]).await;
    }
    let mut p = ReportPage::new(&ctx, "categories", q);
    p.groups = groups;
    p.categories = pickable;
    p.tables = vec![table];
    p.note = crate::t("rep-note-categories");
    render(&p)
}
