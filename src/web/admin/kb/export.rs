//! The search result of a tree as a PDF (the export machinery of the
//! reports), in the exporting user's language.

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
    let title = label(kind);
    let mut table = Table::new(&title, &[]);
    table.headers = [
        "kb-title",
        "kb-keywords",
        "kb-body",
        "kb-state",
        "kb-validity",
        "kb-uses",
        "kb-created",
    ]
    .iter()
    .map(|k| crate::t(k))
    .collect();
    for r in &rows {
        let state_text = crate::t(r.state_key().unwrap_or("kb-enabled"));
        table.rows.push(vec![
            Cell::text(if r.new {
                format!("{} [NEW]", r.title)
            } else {
                r.title.clone()
            }),
            Cell::text(r.keywords.clone()),
            Cell::text(if r.image {
                crate::t("exp-image")
            } else {
                r.body.clone()
            }),
            Cell::text(state_text),
            Cell::text(r.validity()),
            Cell::text(r.uses.to_string()),
            Cell::text(r.created.clone()),
        ]);
    }
    let mut filters = Vec::new();
    if !filter.text.is_empty() {
        filters.push((crate::t("kb-search-text"), filter.text.clone()));
    }
    if filter.from.is_some() || filter.to.is_some() {
        filters.push((
            crate::t("kb-created"),
            crate::t2(
                "exp-period",
                "from",
                filter.from.clone().unwrap_or_default(),
                "to",
                filter.to.clone().unwrap_or_default(),
            ),
        ));
    }
    if let Some(n) = filter.new {
        let yes = crate::t(if n { "exp-yes" } else { "exp-no" });
        filters.push((crate::t("exp-kb-new-tag"), yes));
    }
    if let Some(e) = filter.enabled {
        let on = crate::t(if e { "kb-enabled" } else { "kb-state-off" });
        filters.push((crate::t("kb-state"), on));
    }
    let list = crate::export::pdf::Listing {
        title: title.clone(),
        filters,
        exported_at: state
            .clock
            .now()
            .to_zoned(state.config.timezone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        exported_by: crate::export::exporter(&s.user),
        table,
        heading: vec![0],
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    let entry = Entry::new(
        AuditAction::ReportExport,
        crate::i18n::Msg::new("audit-export-tree")
            .msg("tree", crate::i18n::Msg::new(kind.label_key()))
            .number("n", rows.len() as i64)
            .stored(),
    );
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
    .map_err(|e| AppError::Internal(format!("rendering the tree as PDF: {e}")))?;
    let name = format!("{title}.pdf");
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
