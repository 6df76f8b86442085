//! The search result of a tree as a PDF (the export machinery of the reports).

use super::*;

/// The search result as a PDF (the export machinery of the reports).
pub async fn export(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    uri: Uri,
    Query(q): Query<SearchForm>,
) -> Result<Response, AppError> {
    let kind = kind_of(&uri);
    let filter = q.parsed().map_err(AppError::BadRequest)?;
    let (u, today, tz) = (s.user.clone(), today(&state), state.config.timezone.clone());
    let f2 = filter.clone();
    let rows = state
        .db
        .read(move |c| -> Result<Vec<Row>, AppError> {
            let s = scope(c, &u, kind)?;
            Ok(shape::depth_first(&s.nodes, &s.roots, |_| true)
                .into_iter()
                .filter(|(n, _)| shape::matches(n, &f2, &shape::day(n.created_at, &tz), &today))
                .map(|(n, d)| Row::of(n, d, &today, &tz))
                .collect())
        })
        .await?;
    use crate::export::table::{Cell, Table};
    let mut table = Table::new(
        &kind.label(),
        &[
            "标题",
            "关键字",
            "内容",
            "状态",
            "有效期",
            "使用次数",
            "创建时间",
        ],
    );
    for r in &rows {
        let state_text = if !r.enabled {
            "停用"
        } else if r.expired {
            "已过期"
        } else {
            "开启"
        };
        table.rows.push(vec![
            Cell::text(if r.new {
                format!("{} [NEW]", r.title)
            } else {
                r.title.clone()
            }),
            Cell::text(r.keywords.clone()),
            Cell::text(if r.image {
                "[图片]".to_string()
            } else {
                r.body.clone()
            }),
            Cell::text(state_text),
            Cell::text(crate::i18n::sync_scope(crate::i18n::Lang::Zh, || {
                r.validity()
            })),
            Cell::text(r.uses.to_string()),
            Cell::text(r.created.clone()),
        ]);
    }
    let mut filters = Vec::new();
    if !filter.text.is_empty() {
        filters.push(("文字".to_string(), filter.text.clone()));
    }
    if filter.from.is_some() || filter.to.is_some() {
        filters.push((
            "创建时间".to_string(),
            format!(
                "{} 至 {}",
                filter.from.clone().unwrap_or_default(),
                filter.to.clone().unwrap_or_default()
            ),
        ));
    }
    if let Some(n) = filter.new {
        filters.push(("NEW标签".into(), if n { "是" } else { "否" }.into()));
    }
    if let Some(e) = filter.enabled {
        filters.push(("状态".into(), if e { "开启" } else { "停用" }.into()));
    }
    let list = crate::export::pdf::Listing {
        title: kind.label().into(),
        filters,
        exported_at: state
            .clock
            .now()
            .to_zoned(state.config.timezone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        exported_by: format!("{}（{}）", s.user.display_name, s.user.username),
        table,
        heading: vec![0],
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    let entry = Entry::new(
        AuditAction::ReportExport,
        format!("{}，PDF，{} 条", kind.label(), rows.len()),
    );
    state
        .db
        .write(move |c| crate::db::audit::record(c, &crate::team::actor(&by), &entry, now))
        .await?;
    let bytes = tokio::task::spawn_blocking(move || {
        crate::export::pdf::render_listing(&list, crate::export::font::transcript())
    })
    .await
    .map_err(|e| AppError::Internal(format!("rendering the tree as PDF: {e}")))?;
    let name = format!("{}.pdf", kind.label());
    Ok((
        StatusCode::OK,
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                crate::export::attachment(&name, "kb.pdf"),
            ),
            (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}
