//! 操作日志 (E12): every state-changing action, filtered by user, action and
//! time. A super admin sees everything; an admin sees what the members of their
//! groups (and they themselves) did.

use crate::db::audit::{Actors, AuditFilter, AuditRow};
use crate::error::AppError;
use crate::model::{
    AccountMode, AuditAction, Role, RoutingStrategy, TriggerMode, UserId, UserStatus,
};
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
    rows: Vec<Row>,
    users: Vec<(UserId, String)>,
    actions: &'static [AuditAction],
    error: Option<String>,
}

/// One entry as the page shows it.
struct Row {
    when: String,
    r: AuditRow,
    actor: String,
    target: String,
    before: Vec<String>,
    after: Vec<String>,
}

/// The word a stored summary starts with (`用户 amy`) and its catalogue key.
const TARGET_WORDS: &[(&str, &str)] = &[
    ("用户", "audit-target-user"),
    ("客服组", "audit-target-group"),
    ("公众号", "audit-target-account"),
    ("粉丝", "audit-target-follower"),
    ("超级管理员", "audit-target-super"),
];

/// A stored summary in the current language: a catalogue message drawn, an
/// older row with its leading word translated when the rest is a bare name (`用户 amy` → `User amy`); any other summary as stored.
fn target_text(raw: &str) -> String {
    // Rows written since summaries became catalogue messages.
    if let std::borrow::Cow::Owned(drawn) = crate::i18n::shown(raw) {
        return drawn;
    }
    let cjk = |c: char| matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}');
    if let Some((head, rest)) = raw.split_once(' ') {
        if let Some((_, key)) = TARGET_WORDS.iter().find(|(w, _)| *w == head) {
            if !rest.chars().any(cjk) {
                return format!("{} {rest}", crate::t(key));
            }
        }
    }
    raw.to_string()
}

/// The actor as stored, the command line in the current language.
fn actor_text(raw: &str) -> String {
    if raw == crate::team::Acting::shell().name {
        crate::t("audit-shell")
    } else {
        raw.to_string()
    }
}

/// Fields the audit log stores whose name has a label in the catalogue
/// (`audit-field-…`); any other field shows as stored.
const KNOWN_FIELDS: &[&str] = &[
    "name",
    "ident",
    "phone",
    "public_name",
    "public_visible",
    "strategy",
    "familiar_days",
    "require_category",
    "agents_see_queue",
    "transfer_timeout_secs",
    "queue_expiry_hours",
    "comfort_every_mins",
    "requeue_after_mins",
    "sla_secs",
    "username",
    "role",
    "display_name",
    "real_name",
    "groups",
    "status",
    "enabled",
    "timezone",
    "days",
    "kind",
    "start",
    "end",
    "spans",
    "reply",
    "template_id",
    "every_mins",
    "app_id",
    "app_secret",
    "token",
    "aes_key",
    "mode",
    "api_base",
    "secrets_changed",
    "attempts",
    "last_attempt",
    "simulation",
    "rules",
    "trigger_mode",
    "menu_key",
    "keyword",
    "keywords",
    "question",
    "answer",
];

/// Fields whose label is the settings form's own (the catalogue key), after
/// the [`KNOWN_FIELDS`] in this order: automatic replies, timeouts, the
/// account's reply budget.
const FORM_FIELDS: &[(&str, &str)] = &[
    ("welcome", "auto-welcome"),
    ("welcome_faq", "auto-welcome-faq"),
    ("offhours", "auto-offhours"),
    ("offhours_faq", "auto-offhours-faq"),
    ("away", "auto-away"),
    ("follow", "auto-follow"),
    ("location", "auto-location"),
    ("greeting", "auto-greeting"),
    ("greeting_budget", "auto-greeting-budget"),
    ("greeting_on_transfer", "auto-greeting-on-transfer"),
    ("agent_comfort", "auto-agent-comfort"),
    ("follower_prompt", "auto-follower-prompt"),
    ("closing", "auto-closing"),
    ("survey_on_end", "auto-survey-on-end"),
    (
        "agent_comfort_mins",
        "auto-timeout-agent-comfort-mins-label",
    ),
    ("agent_remind_secs", "auto-timeout-agent-remind-secs-label"),
    (
        "agent_transfer_mins",
        "auto-timeout-agent-transfer-mins-label",
    ),
    (
        "follower_prompt_mins",
        "auto-timeout-follower-prompt-mins-label",
    ),
    (
        "follower_close_mins",
        "auto-timeout-follower-close-mins-label",
    ),
    ("reception_mins", "auto-timeout-reception-mins-label"),
    ("window_hours", "acct-window-hours"),
    ("quota_after_message", "acct-quota-after-message"),
    ("event_window_secs", "acct-event-window"),
    ("quota_after_event", "acct-quota-after-event"),
];

/// Fields stored as a ticked checkbox: `"on"` or nothing.
const CHECKBOX_FIELDS: &[&str] = &[
    "require_category",
    "agents_see_queue",
    "enabled",
    "welcome_faq",
    "offhours_faq",
    "greeting_on_transfer",
    "survey_on_end",
];

/// The field a bare stored value (not an object) stands for, by action.
fn bare_field(action: &str) -> &'static str {
    match action {
        "user_disable" | "user_enable" => "status",
        "locale_change" => "locale",
        _ => "",
    }
}

/// A stored value in words: enum codes as their labels, yes/no, lists joined.
fn value_text(field: &str, v: &serde_json::Value) -> String {
    use serde_json::Value;
    let yes_no = |b: bool| crate::t(if b { "common-yes" } else { "common-no" });
    match v {
        Value::Null if CHECKBOX_FIELDS.contains(&field) => yes_no(false),
        Value::String(s) if CHECKBOX_FIELDS.contains(&field) => yes_no(s == "on"),
        Value::Null => "—".to_string(),
        Value::String(s) if s.is_empty() => "—".to_string(),
        Value::Bool(b) => yes_no(*b),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let label = match field {
                "role" => Role::parse(s).map(Role::label),
                "status" => UserStatus::parse(s).map(UserStatus::label),
                "strategy" => RoutingStrategy::parse(s).map(RoutingStrategy::label),
                "mode" => AccountMode::parse(s).map(AccountMode::label),
                "trigger_mode" => TriggerMode::parse(s).map(TriggerMode::label),
                "locale" => crate::i18n::Lang::parse(s).map(|l| l.native_name().to_string()),
                "greeting_budget" => crate::db::automation::GreetingBudget::parse(s).map(|g| {
                    crate::t(&format!(
                        "auto-greeting-budget-{}",
                        g.as_str().replace('_', "-")
                    ))
                }),
                _ => None,
            };
            // A catalogue message stored in the entry is drawn for the reader.
            label.unwrap_or_else(|| crate::i18n::shown(s).into_owned())
        }
        Value::Array(items) => items
            .iter()
            .map(|x| value_text(field, x))
            .collect::<Vec<_>>()
            .join(match crate::i18n::current() {
                crate::i18n::Lang::En => ", ",
                crate::i18n::Lang::Zh => "、",
            }),
        Value::Object(_) => v.to_string(),
    }
}

/// The scalar fields of a stored object, nested objects flattened.
fn fields<'a>(
    map: &'a serde_json::Map<String, serde_json::Value>,
    out: &mut Vec<(&'a str, &'a serde_json::Value)>,
) {
    for (k, v) in map {
        match v {
            serde_json::Value::Object(inner) => fields(inner, out),
            _ => out.push((k, v)),
        }
    }
}

/// `field: value` lines, known fields first in the order of [`KNOWN_FIELDS`].
fn field_lines(map: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let mut all = Vec::new();
    fields(map, &mut all);
    let form = |k: &str| FORM_FIELDS.iter().position(|(f, _)| *f == k);
    let rank = |k: &str| {
        KNOWN_FIELDS
            .iter()
            .position(|f| *f == k)
            .or_else(|| form(k).map(|i| KNOWN_FIELDS.len() + i))
            .unwrap_or(usize::MAX)
    };
    all.sort_by(|a, b| rank(a.0).cmp(&rank(b.0)).then(a.0.cmp(b.0)));
    all.into_iter()
        .map(|(k, v)| {
            let label = if let Some(i) = form(k) {
                crate::t(FORM_FIELDS[i].1)
            } else if rank(k) == usize::MAX {
                k.to_string()
            } else {
                crate::t(&format!("audit-field-{}", k.replace('_', "-")))
            };
            crate::t2("audit-line", "field", label, "value", value_text(k, v))
        })
        .collect()
}

/// One side of a change, readable: `field: value` lines for a stored object
/// (labels translated where the field is known), the text itself otherwise.
fn readable(action: &str, raw: Option<&str>) -> Vec<String> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(map)) => field_lines(&map),
        Ok(v) => vec![value_text(bare_field(action), &v)],
        Err(_) => vec![raw.to_string()],
    }
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
        .map_err(|_| crate::t1("audit-bad-date", "date", s))?;
    let date = if end {
        date.tomorrow().map_err(|_| crate::t("audit-date-range"))?
    } else {
        date
    };
    let zoned = date
        .to_zoned(tz.clone())
        .map_err(|_| crate::t("audit-date-range"))?;
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
        page: Page::new(&ctx, crate::t("nav-audit"), "audit"),
        rows: rows
            .into_iter()
            .map(|r| Row {
                when: local_time(r.at, &tz),
                actor: actor_text(&r.actor_name),
                target: target_text(&r.target),
                before: readable(r.action.as_str(), r.before.as_deref()),
                after: readable(r.action.as_str(), r.after.as_deref()),
                r,
            })
            .collect(),
        q,
        users: visible,
        actions: AuditAction::ALL,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_labelled_lines() {
        let lines = readable(
            "",
            Some(
                r#"{"name":"Sales","public_visible":true,"profile":{"display_name":"Amy"},"role":"agent","groups":["A","B"],"colour":"red"}"#,
            ),
        );
        assert_eq!(
            lines,
            vec![
                "名称：Sales",
                "是否向粉丝显示：是",
                "角色：普通客服",
                "显示名：Amy",
                "客服组：A、B",
                "colour：red",
            ]
        );
        let en = crate::i18n::sync_scope(crate::i18n::Lang::En, || {
            readable(
                "",
                Some(r#"{"role":"agent","groups":["A","B"],"sla_secs":60}"#),
            )
        });
        assert_eq!(
            en,
            vec![
                "First-response target (seconds): 60",
                "Role: Agent",
                "Groups: A, B"
            ]
        );
        assert_eq!(
            readable("", Some(r#""关键词：退款""#)),
            vec!["关键词：退款"]
        );
        // The settings forms' fields read as the forms label them, and bare
        // values by what the action changed.
        assert_eq!(
            readable(
                "timeouts_update",
                Some(r#"{"agent_comfort_mins":3,"welcome_faq":"on","greeting_budget":"keep_one"}"#)
            ),
            vec![
                "欢迎语后发送常见问题：是",
                "接入语的发送方式：只在剩余额度至少 2 条时发送，给客服留至少 1 条（推荐）",
                "客服多久未回复时安抚粉丝（分钟）：3",
            ]
        );
        assert_eq!(readable("user_disable", Some(r#""disabled""#)).len(), 1);
        assert_ne!(
            readable("user_disable", Some(r#""disabled""#)),
            vec!["disabled"]
        );
        assert_eq!(readable("locale_change", Some(r#""en""#)), vec!["English"]);
        assert_eq!(readable("", Some("not json")), vec!["not json"]);
        assert!(readable("", None).is_empty());
        assert_eq!(
            readable(
                "",
                Some(
                    r#"{"require_category":null,"agents_see_queue":"on","requeue_after_mins":""}"#
                )
            ),
            vec![
                "结束会话需选择咨询分类：否",
                "普通客服可查看排队详情：是",
                "客服离线后会话回到排队的分钟数：—",
            ]
        );
        let en = crate::i18n::sync_scope(crate::i18n::Lang::En, || {
            (
                target_text("用户 amy"),
                target_text("公众号 店 的工作时间"),
                actor_text("命令行"),
            )
        });
        assert_eq!(
            en,
            (
                "User amy".to_string(),
                "公众号 店 的工作时间".to_string(),
                "Command line".to_string()
            )
        );
        assert_eq!(target_text("客服组 Sales"), "客服组 Sales");
        // Rows written now are catalogue messages: whole sentences translate.
        use crate::db::audit::{about, about_msg, about_with};
        let hours = about("audit-t-work-hours", "店");
        let moved = about_with("audit-reordered", about_msg("audit-t-category", "退货"));
        let en = crate::i18n::sync_scope(crate::i18n::Lang::En, || {
            (target_text(&hours), target_text(&moved))
        });
        assert_eq!(
            en,
            (
                "Work hours of official account 店".to_string(),
                "Category 退货 (reordered)".to_string()
            )
        );
        assert_eq!(target_text(&hours), "公众号 店 的工作时间");
        assert_eq!(target_text(&moved), "咨询分类 退货（调整顺序）");
    }
}
