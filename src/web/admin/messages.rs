//! 消息管理 (issue 12, S3 2.13): every message of the admin's groups (a super
//! admin's: all) by words, days, group, role and sender, newest first, 50 a
//! page, the words highlighted, 查看 opening the follower's history at the
//! message. The same URL plus `format=xlsx` downloads the rows as a workbook,
//! `format=pdf` as a transcript-style PDF; exports are audited and refused
//! above 50,000 rows. Which groups: `access::message_search`; the search:
//! `db::search` over the index `engine::search` builds.

use super::reports::{Days, days, download, table, today};
use crate::access::{self, Viewer};
use crate::db::audit::Entry;
use crate::db::search::{self, Hit, MessageFilter, Role};
use crate::engine::search::{highlight, parse};
use crate::error::AppError;
use crate::export::pdf::{self, Transcript, Who};
use crate::export::table::Cell;
use crate::model::{AuditAction, Group, GroupId, MessageKind};
use crate::state::AppState;
use crate::team::Acting;
use crate::web::form::Query;
use crate::web::page::{Page, local_time, render, render_status};
use crate::web::session::AdminUser;
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// Rows per page.
pub const PAGE_SIZE: i64 = 50;
/// The most rows one export holds.
pub const EXPORT_ROWS: i64 = 50_000;
/// Days searched when no date is given (today and the 89 before).
const DEFAULT_DAYS: i64 = 90;
/// The workbook's columns (catalogue keys).
pub const HEADERS: &[&str] = &[
    "exp-msgs-group",
    "exp-msgs-sender",
    "exp-msgs-role",
    "exp-msgs-content",
    "exp-msgs-time",
];

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(default)]
pub struct MessagesQuery {
    pub q: String,
    pub from: String,
    pub to: String,
    pub group: String,
    pub role: String,
    pub sender: String,
    pub page: i64,
    pub format: String,
}

impl MessagesQuery {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("q", self.q.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("group", self.group.as_str()),
            ("role", self.role.as_str()),
            ("sender", self.sender.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect()
    }

    fn url(&self, extra: &[(&'static str, &str)]) -> String {
        let mut pairs = self.pairs();
        pairs.extend_from_slice(extra);
        let qs = serde_urlencoded::to_string(pairs).unwrap_or_default();
        if qs.is_empty() {
            "/admin/messages".into()
        } else {
            format!("/admin/messages?{qs}")
        }
    }
}

/// The role filter's values, as the form sends them.
const ROLES: [(&str, Role); 3] = [
    ("agent", Role::Agent),
    ("follower", Role::Follower),
    ("auto", Role::Auto),
];

/// The role a form value names: ours, or the Chinese word older links carry.
fn role_of(raw: &str) -> Option<Role> {
    let raw = raw.trim();
    ROLES
        .iter()
        .find(|(v, _)| *v == raw)
        .map(|(_, r)| *r)
        .or_else(|| Role::parse(raw))
}

/// A role in the interface language.
fn role_label(role: Role) -> String {
    crate::t(match role {
        Role::Agent => "msgs-role-agent",
        Role::Follower => "msgs-role-follower",
        Role::Auto => "msgs-role-auto",
    })
}

/// One result row as the page shows it.
pub struct Line {
    pub hit: Hit,
    /// The text in pieces, `true` for the matched words (each piece escaped by askama).
    pub segs: Vec<(String, bool)>,
    pub group: String,
    pub time: String,
    /// The follower's history opened at this message.
    pub href: String,
}

/// The text a hit shows: its words, or `[图片]` for a message without text.
fn shown(h: &Hit) -> String {
    if h.content.is_empty() || h.kind != MessageKind::Text && h.kind != MessageKind::Unknown {
        if h.content.is_empty() {
            return format!("[{}]", h.kind.label());
        }
        return format!("[{}] {}", h.kind.label(), h.content);
    }
    // WeChat's face codes (`/::)`) as the emoji the console shows.
    crate::wechat::faces::to_glyphs(&h.content)
}

/// A row's text cut for marking the words found: as [`shown`], or with the
/// face codes left as typed when a word was found only inside one (`ok` in
/// `/:ok`), so a row never hides why it is a hit.
fn marked(h: &Hit, words: &[String]) -> Vec<(String, bool)> {
    let segs = highlight(&shown(h), words);
    if words.is_empty() || segs.iter().any(|(_, hit)| *hit) || h.kind != MessageKind::Text {
        return segs;
    }
    highlight(&h.content, words)
}

/// Who sent a hit, in the interface language: the stored words for an
/// automatic reply and an unnamed follower are Chinese.
fn sender_of(h: &Hit) -> String {
    match h.role {
        Role::Agent => h.sender.clone(),
        Role::Follower => crate::web::console::follower_label(h.sender.clone()),
        Role::Auto => crate::t("exp-who-auto"),
    }
}

fn group_of(h: &Hit) -> String {
    h.group.clone().unwrap_or_else(|| "—".into())
}

/// Where 查看 goes: the history page ending at the message, scrolled to it.
pub fn history_href(h: &Hit) -> String {
    format!(
        "/console/f/{}/history?before={}#m-{}",
        h.follower_id,
        h.id.0 + 1,
        h.id
    )
}

#[derive(Template)]
#[template(path = "admin/messages.html")]
struct MessagesPage {
    page: Page,
    q: MessagesQuery,
    groups: Vec<Group>,
    /// The role filter's choices: (value, words).
    roles: Vec<(&'static str, String)>,
    /// The days searched, for the form when none was given.
    from: String,
    to: String,
    rows: Vec<Line>,
    current: i64,
    prev_url: Option<String>,
    next_url: Option<String>,
    xlsx_url: String,
    pdf_url: String,
    error: Option<String>,
}

impl MessagesPage {
    fn new(ctx: &crate::web::session::Ctx, q: MessagesQuery) -> MessagesPage {
        MessagesPage {
            page: Page::new(ctx, crate::t("msgs-page-title"), "messages"),
            xlsx_url: q.url(&[("format", "xlsx")]),
            pdf_url: q.url(&[("format", "pdf")]),
            from: q.from.clone(),
            to: q.to.clone(),
            q,
            groups: Vec::new(),
            roles: ROLES.iter().map(|(v, r)| (*v, role_label(*r))).collect(),
            rows: Vec::new(),
            current: 1,
            prev_url: None,
            next_url: None,
            error: None,
        }
    }

    fn is(&self, selected: &str, value: String) -> bool {
        selected.trim() == value
    }

    /// Whether the role filter names this value (also as an older link's Chinese word).
    fn role_is(&self, value: &str) -> bool {
        let named = role_of(&self.q.role);
        named.is_some() && named == role_of(value)
    }

    fn role_label(&self, role: &Role) -> String {
        role_label(*role)
    }
}

/// The page with the reason (400) and no rows.
fn refused(
    ctx: &crate::web::session::Ctx,
    q: MessagesQuery,
    groups: Vec<Group>,
    why: String,
) -> Result<Response, AppError> {
    if !q.format.is_empty() {
        return Err(AppError::BadRequest(why));
    }
    let mut p = MessagesPage::new(ctx, q);
    p.groups = groups;
    p.error = Some(why);
    render_status(StatusCode::BAD_REQUEST, &p)
}

pub async fn show(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Query(q): Query<MessagesQuery>,
) -> Result<Response, AppError> {
    let tz = state.config.timezone.clone();
    let me = s.user.clone();
    let groups = state
        .db
        .read(move |c| -> Result<_, AppError> { Ok(access::groups(c, &Viewer::load(c, &me)?)?) })
        .await?;
    let today = today(&state);
    let (from, to) = match (q.from.trim(), q.to.trim()) {
        ("", "") => (
            today
                .checked_sub(jiff::Span::new().days(DEFAULT_DAYS - 1))
                .map(|d| d.to_string())
                .unwrap_or_default(),
            today.to_string(),
        ),
        (f, t) => (f.to_string(), t.to_string()),
    };
    let d = match days(&from, &to, today, &tz) {
        Ok(d) => d,
        Err(why) => return refused(&ctx, q, groups, why),
    };
    let query = match parse(&q.q) {
        Ok(x) => x,
        Err(e) => return refused(&ctx, q, groups, e.message()),
    };
    let group = match q.group.trim() {
        "" => None,
        g => match g.parse::<i64>() {
            Ok(g) => Some(GroupId(g)),
            Err(_) => return refused(&ctx, q, groups, crate::t("msgs-group-invalid")),
        },
    };
    let role = match q.role.trim() {
        "" => None,
        r => match role_of(r) {
            Some(r) => Some(r),
            None => return refused(&ctx, q, groups, crate::t("msgs-role-invalid")),
        },
    };
    let export = match q.format.as_str() {
        "" => false,
        "xlsx" | "pdf" => true,
        _ => return Err(AppError::BadRequest(crate::t("msgs-format-invalid"))),
    };
    let current = q.page.clamp(1, 10_000);
    let (limit, offset) = if export {
        (EXPORT_ROWS + 1, 0)
    } else {
        (PAGE_SIZE + 1, (current - 1) * PAGE_SIZE)
    };
    let (me, sender) = (s.user.clone(), q.sender.trim().to_string());
    let filter_query = query.clone();
    let hits = state
        .db
        .read(move |c| -> Result<_, AppError> {
            let reach = access::message_search(&Viewer::load(c, &me)?, group)?;
            let f = MessageFilter {
                query: filter_query,
                from: d.period.from,
                to: d.period.to,
                reach,
                group: None,
                role,
                sender: (!sender.is_empty()).then_some(sender),
                limit,
                offset,
            };
            Ok(search::messages(c, &f)?)
        })
        .await?;
    let hits: Vec<Hit> = hits
        .into_iter()
        .map(|mut h| {
            h.sender = sender_of(&h);
            h
        })
        .collect();
    if export {
        if hits.len() as i64 > EXPORT_ROWS {
            return Err(AppError::BadRequest(crate::t1(
                "msgs-export-too-many",
                "max",
                EXPORT_ROWS,
            )));
        }
        let what = crate::i18n::Msg::new("audit-export-messages")
            .msg("days", d.msg())
            .number("n", hits.len() as i64);
        if q.format == "pdf" {
            let group_name = group
                .and_then(|g| groups.iter().find(|x| x.id == g))
                .map(|g| g.name.clone());
            let t = transcript(&state, &s.user, &q, &d, group_name, &hits);
            let name = crate::t1("exp-file-messages-days", "days", d.file_label()) + ".pdf";
            return pdf_download(&state, &ctx, &s.user, t, &name, what).await;
        }
        let mut table = table("exp-msgs-sheet", HEADERS);
        for h in &hits {
            table.rows.push(vec![
                Cell::text(group_of(h)),
                Cell::text(h.sender.clone()),
                Cell::text(role_label(h.role)),
                Cell::text(shown(h)),
                Cell::time(h.created_at, &tz),
            ]);
        }
        let name = crate::t1("exp-file-messages-days", "days", d.file_label()) + ".xlsx";
        return download(&state, &ctx, &s.user, &name, what, vec![table]).await;
    }
    let words = query.map(|x| x.words).unwrap_or_default();
    let more = hits.len() as i64 > PAGE_SIZE;
    let mut p = MessagesPage::new(&ctx, q.clone());
    p.from = from;
    p.to = to;
    p.groups = groups;
    p.current = current;
    let page = |n: i64| {
        let n = n.to_string();
        q.url(&[("page", n.as_str())])
    };
    p.prev_url = (current > 1).then(|| page(current - 1));
    p.next_url = more.then(|| page(current + 1));
    p.rows = hits
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(|hit| Line {
            segs: marked(&hit, &words),
            group: group_of(&hit),
            time: local_time(hit.created_at, &tz),
            href: history_href(&hit),
            hit,
        })
        .collect();
    render(&p)
}

/// The hits as a transcript: one entry per message, the group and the
/// follower's name with the time.
fn transcript(
    state: &AppState,
    user: &crate::model::User,
    q: &MessagesQuery,
    days: &Days,
    group: Option<String>,
    hits: &[Hit],
) -> Transcript {
    let tz = state.config.timezone.clone();
    let mut filters = vec![(crate::t("exp-msgs-filter-days"), days.text())];
    if let Some(g) = group {
        filters.push((crate::t("exp-msgs-group"), g));
    }
    if !q.q.trim().is_empty() {
        filters.push((crate::t("exp-msgs-filter-search"), q.q.trim().to_string()));
    }
    if let Some(role) = role_of(&q.role) {
        filters.push((crate::t("exp-msgs-filter-role"), role_label(role)));
    }
    if !q.sender.trim().is_empty() {
        filters.push((crate::t("exp-msgs-sender"), q.sender.trim().to_string()));
    }
    Transcript {
        title: crate::t1("exp-msgs-title", "n", hits.len()),
        filters,
        exported_at: local_time(state.clock.now(), &tz),
        exported_by: crate::export::exporter(user),
        entries: hits
            .iter()
            .map(|h| {
                let mut time = local_time(h.created_at, &tz);
                if let Some(g) = &h.group {
                    time.push_str(&format!(" · {g}"));
                }
                if h.role == Role::Follower {
                    time.push_str(&format!(" · {}", h.sender));
                }
                pdf::Entry {
                    time,
                    who: match h.role {
                        Role::Follower => Who::Follower,
                        Role::Agent => Who::Agent(h.sender.clone()),
                        Role::Auto => Who::Auto,
                    },
                    text: shown(h),
                    image: None,
                }
            })
            .collect(),
        ..Transcript::default()
    }
}

/// Renders off the runtime, records the export, answers with the PDF.
async fn pdf_download(
    state: &AppState,
    ctx: &crate::web::session::Ctx,
    user: &crate::model::User,
    t: Transcript,
    name: &str,
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
        crate::i18n::sync_scope(lang, || pdf::render(&t, crate::export::font::transcript()))
    })
    .await
    .map_err(|e| AppError::Internal(format!("rendering messages as PDF: {e}")))?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                crate::export::attachment(name, "messages.pdf"),
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
    use crate::model::{FollowerId, MessageId};

    fn hit(content: &str) -> Hit {
        Hit {
            id: MessageId(1),
            follower_id: FollowerId(1),
            conversation_id: None,
            group: None,
            role: Role::Agent,
            sender: "amy".into(),
            kind: MessageKind::Text,
            content: content.into(),
            created_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn rows_show_emoji_but_never_hide_why_they_are_hits() {
        let h = hit("好的/:ok谢谢");
        let text = |segs: Vec<(String, bool)>| segs.into_iter().map(|(s, _)| s).collect::<String>();
        assert_eq!(text(marked(&h, &[])), "好的👌谢谢");
        let found = marked(&h, &["好的".into()]);
        assert_eq!(found[0], ("好的".to_string(), true));
        assert_eq!(text(found), "好的👌谢谢");
        // "ok" is only inside the face's code: the code stays, marked.
        let inside = marked(&h, &["ok".into()]);
        assert_eq!(text(inside.clone()), "好的/:ok谢谢");
        assert!(inside.contains(&("ok".to_string(), true)), "{inside:?}");
    }
}
