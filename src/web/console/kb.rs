//! The quick-replies panel (D6): the knowledge base of the user's groups.

use super::fragment;
use crate::access::{self, Viewer};
use crate::db::{self, DbResult};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::form::Query;
use crate::web::session::AnyUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "console/kb.html")]
pub struct KbView {
    pub q: String,
    /// (folder, entries)
    pub folders: Vec<(String, Vec<db::taxonomy::KbEntry>)>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct KbQuery {
    q: String,
}

/// The quick-replies panel (D6): the knowledge base of the user's groups, searchable.
pub async fn search(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    Query(kq): Query<KbQuery>,
) -> Result<Response, AppError> {
    let user = s.user;
    let q = kq.q.chars().take(50).collect::<String>();
    let qq = q.clone();
    let entries = state
        .db
        .read(move |c| -> DbResult<_> {
            let groups = access::group_ids(c, &Viewer::load(c, &user)?)?;
            db::taxonomy::kb(c, &groups, &qq)
        })
        .await?;
    let mut folders: Vec<(String, Vec<db::taxonomy::KbEntry>)> = Vec::new();
    for e in entries {
        let name = if e.folder.is_empty() {
            "未分类".to_string()
        } else {
            e.folder.clone()
        };
        match folders.iter_mut().find(|(f, _)| *f == name) {
            Some((_, list)) => list.push(e),
            None => folders.push((name, vec![e])),
        }
    }
    fragment(&KbView { q, folders })
}
