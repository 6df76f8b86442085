//! 设置 → 工作时间 (E8, C1–C3, S3 2.10): per account the switch, the time zone
//! and the weekly spans; custom workdays — 补班 — and holidays with their own reply;
//! and a preview of what the plan says now. Super admin only. The rules live in
//! `engine::timeplan`, the storage and the input checks in `db::timeplan`.

use crate::db::DbResult;
use crate::db::accounts::Account;
use crate::db::audit::Entry;
use crate::db::timeplan::{self as store, DayKind, PlanDay, WeeklyPlan};
use crate::engine::timeplan::{self, Plan, Status};
use crate::error::AppError;
use crate::i18n::Msg;
use crate::model::{AccountId, AuditAction};
use crate::state::AppState;
use crate::team::{Acting, actor};
use crate::web::form::{Form, IdPath, Query};
use crate::web::page::{Page, render, render_status};
use crate::web::session::{Ctx, SuperUser, with_flash};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use serde::{Deserialize, Serialize};

/// The weekdays, Monday first, as the page names them.
const WEEKDAY_KEYS: [&str; 7] = [
    "plan-mon", "plan-tue", "plan-wed", "plan-thu", "plan-fri", "plan-sat", "plan-sun",
];

/// Weekday `i` (0 = Monday) in the current language.
fn weekday(i: usize) -> String {
    crate::t(WEEKDAY_KEYS[i % 7])
}

/// A custom workday or a holiday, in words.
fn kind_label(kind: DayKind) -> String {
    match kind {
        DayKind::Workday => crate::t("plan-day-workday"),
        DayKind::Holiday => crate::t("plan-day-holiday"),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccountQuery {
    account: String,
}

/// The 每周工作时间 form, as typed (a refused form comes back unchanged).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct WeeklyForm {
    account: String,
    /// A checkbox: present ("on") when ticked.
    enabled: Option<String>,
    timezone: String,
    mon: String,
    tue: String,
    wed: String,
    thu: String,
    fri: String,
    sat: String,
    sun: String,
}

impl WeeklyForm {
    fn days(&self) -> [&str; 7] {
        [
            &self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun,
        ]
    }

    fn from_plan(account: AccountId, w: &WeeklyPlan) -> Self {
        let d = |i: usize| store::format_spans(&w.weekly[i]);
        WeeklyForm {
            account: account.to_string(),
            enabled: w.enabled.then(|| "on".to_string()),
            timezone: w.timezone.clone(),
            mon: d(0),
            tue: d(1),
            wed: d(2),
            thu: d(3),
            fri: d(4),
            sat: d(5),
            sun: d(6),
        }
    }

    fn plan(&self) -> Result<WeeklyPlan, String> {
        let timezone = store::check_timezone(&self.timezone)?;
        let days = self.days();
        let mut weekly: [Vec<timeplan::Span>; 7] = Default::default();
        for (i, day) in weekly.iter_mut().enumerate() {
            *day = store::parse_spans(days[i], &weekday(i))?;
        }
        Ok(WeeklyPlan {
            enabled: self.enabled.is_some(),
            timezone,
            weekly,
        })
    }
}

/// The add form of a custom workday or a holiday.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct DayForm {
    account: String,
    kind: String,
    name: String,
    start: String,
    end: String,
    spans: String,
    reply: String,
}

/// What the audit log keeps of the weekly plan.
#[derive(Serialize)]
struct WeeklyAudit {
    enabled: bool,
    timezone: String,
    /// `周一 09:00-18:00`, `周六 休息` as stored catalogue messages, read in
    /// the reader's language.
    days: Vec<String>,
}

impl WeeklyAudit {
    fn of(w: &WeeklyPlan) -> Self {
        WeeklyAudit {
            enabled: w.enabled,
            timezone: w.timezone.clone(),
            days: WEEKDAY_KEYS
                .iter()
                .zip(&w.weekly)
                .map(|(day, spans)| {
                    let spans = if spans.is_empty() {
                        Msg::new("plan-rest")
                    } else {
                        Msg::new("audit-plain").text("text", store::format_spans(spans))
                    };
                    Msg::new("audit-plan-weekday")
                        .msg("day", Msg::new(day))
                        .msg("spans", spans)
                        .stored()
                })
                .collect(),
        }
    }
}

/// What the audit log keeps of a range.
#[derive(Serialize)]
struct DayAudit<'a> {
    kind: String,
    name: &'a str,
    start: String,
    end: String,
    spans: String,
    reply: &'a str,
}

impl<'a> DayAudit<'a> {
    fn of(kind: DayKind, d: &'a timeplan::DayRange) -> Self {
        DayAudit {
            kind: Msg::new(kind.label_key()).stored(),
            name: &d.name,
            start: d.start.to_string(),
            end: d.end.to_string(),
            spans: store::format_spans(&d.spans),
            reply: &d.reply,
        }
    }
}

/// One weekday row of the form.
pub struct WeekRow {
    pub label: String,
    pub field: &'static str,
    pub value: String,
}

/// One custom workday or holiday in a list.
pub struct DayRow {
    pub id: i64,
    pub name: String,
    pub dates: String,
    pub spans: String,
    pub reply: String,
}

impl From<&PlanDay> for DayRow {
    fn from(d: &PlanDay) -> Self {
        let r = &d.range;
        DayRow {
            id: d.id,
            name: r.name.clone(),
            dates: if r.start == r.end {
                r.start.to_string()
            } else {
                crate::t2(
                    "plan-date-range",
                    "from",
                    r.start.to_string(),
                    "to",
                    r.end.to_string(),
                )
            },
            spans: store::format_spans(&r.spans),
            reply: r.reply.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/timeplan.html")]
struct TimeplanPage {
    page: Page,
    accounts: Vec<Account>,
    account: Option<Account>,
    weekly: WeeklyForm,
    rows: Vec<WeekRow>,
    weekly_error: Option<String>,
    workdays: Vec<DayRow>,
    holidays: Vec<DayRow>,
    workday: DayForm,
    workday_error: Option<String>,
    holiday: DayForm,
    holiday_error: Option<String>,
    /// 当前：工作时间 / 非工作时间 / 节假日（名称）.
    status: String,
    /// When that changes next, in the plan's time zone ("" when it never does).
    next: String,
}

/// What a refused form brings back to the page.
enum Refused {
    None,
    Weekly(WeeklyForm, String),
    Day(DayKind, DayForm, String),
}

/// The preview line and the next change, in the plan's time zone.
fn preview(plan: &Plan, now: jiff::Timestamp) -> (String, String) {
    let status = match timeplan::is_open(plan, now) {
        Status::Open if !plan.enabled => crate::t("plan-now-open-always"),
        Status::Open => crate::t("plan-now-open"),
        Status::Closed => crate::t("plan-now-closed"),
        Status::Holiday { name, .. } => crate::t1("plan-now-holiday", "name", name.as_str()),
    };
    let next = match timeplan::next_change(plan, now) {
        Some(t) => {
            let z = t.to_zoned(plan.tz.clone());
            let day = weekday(z.weekday().to_monday_zero_offset() as usize);
            let what = if timeplan::is_open(plan, t).is_open() {
                crate::t("plan-opens")
            } else {
                crate::t("plan-closes")
            };
            format!("{} {day} {what}", z.strftime("%Y-%m-%d %H:%M"))
        }
        None if plan.enabled => crate::t("plan-no-change"),
        None => String::new(),
    };
    (status, next)
}

fn blank_day(account: &str, kind: DayKind) -> DayForm {
    DayForm {
        account: account.to_string(),
        kind: kind.as_str().to_string(),
        ..DayForm::default()
    }
}

/// The account the page is about: the one asked for, else the first.
fn pick(accounts: &[Account], raw: &str) -> Option<Account> {
    let wanted = raw.trim().parse::<i64>().ok();
    wanted
        .and_then(|id| accounts.iter().find(|a| a.id.0 == id))
        .or(accounts.first())
        .cloned()
}

async fn build(
    state: &AppState,
    ctx: &Ctx,
    raw_account: &str,
    refused: Refused,
) -> Result<TimeplanPage, AppError> {
    let accounts = state.db.read(crate::db::accounts::list).await?;
    let account = pick(&accounts, raw_account);
    let mut page = TimeplanPage {
        page: Page::new(ctx, crate::t("nav-timeplan"), "timeplan"),
        accounts,
        account: account.clone(),
        weekly: WeeklyForm::default(),
        rows: Vec::new(),
        weekly_error: None,
        workdays: Vec::new(),
        holidays: Vec::new(),
        workday: DayForm::default(),
        workday_error: None,
        holiday: DayForm::default(),
        holiday_error: None,
        status: String::new(),
        next: String::new(),
    };
    let Some(account) = account else {
        return Ok(page);
    };
    let id = account.id;
    let (weekly, days, plan) = state
        .db
        .read(move |c| -> DbResult<_> {
            Ok((
                store::weekly(c, id)?,
                store::days(c, id)?,
                store::load(c, id)?,
            ))
        })
        .await?;
    let raw = id.to_string();
    page.weekly = WeeklyForm::from_plan(id, &weekly);
    page.workday = blank_day(&raw, DayKind::Workday);
    page.holiday = blank_day(&raw, DayKind::Holiday);
    for d in &days {
        match d.kind {
            DayKind::Workday => page.workdays.push(DayRow::from(d)),
            DayKind::Holiday => page.holidays.push(DayRow::from(d)),
        }
    }
    (page.status, page.next) = preview(&plan, state.clock.now());
    match refused {
        Refused::None => {}
        Refused::Weekly(f, m) => (page.weekly, page.weekly_error) = (f, Some(m)),
        Refused::Day(DayKind::Workday, f, m) => (page.workday, page.workday_error) = (f, Some(m)),
        Refused::Day(DayKind::Holiday, f, m) => (page.holiday, page.holiday_error) = (f, Some(m)),
    }
    let days = page.weekly.days().map(str::to_string);
    let fields = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    page.rows = (0..7)
        .map(|i| WeekRow {
            label: weekday(i),
            field: fields[i],
            value: days[i].clone(),
        })
        .collect();
    Ok(page)
}

/// The account a form is for; an unknown one is "not found".
async fn account_of(state: &AppState, raw: &str) -> Result<Account, AppError> {
    let id = raw.trim().parse::<i64>().map_err(|_| AppError::NotFound)?;
    state
        .db
        .read(move |c| crate::db::accounts::get(c, AccountId(id)))
        .await?
        .ok_or(AppError::NotFound)
}

fn back(account: AccountId) -> Redirect {
    Redirect::to(&format!("/admin/timeplan?account={account}"))
}

/// `GET /admin/timeplan?account=ID`.
pub async fn page(
    State(state): State<AppState>,
    SuperUser(ctx, _): SuperUser,
    Query(q): Query<AccountQuery>,
) -> Result<Response, AppError> {
    render(&build(&state, &ctx, &q.account, Refused::None).await?)
}

/// `POST /admin/timeplan/weekly`: the switch, the time zone and the weekly spans.
pub async fn save_weekly(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    Form(f): Form<WeeklyForm>,
) -> Result<Response, AppError> {
    let account = account_of(&state, &f.account).await?;
    let plan = match f.plan() {
        Ok(p) => p,
        Err(m) => {
            let raw = f.account.clone();
            return render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &build(&state, &ctx, &raw, Refused::Weekly(f, m)).await?,
            );
        }
    };
    let (by, now, id) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        account.id,
    );
    state
        .db
        .write(move |c| -> DbResult<()> {
            let before = WeeklyAudit::of(&store::weekly(c, id)?);
            store::save_weekly(c, id, &plan)?;
            let after = WeeklyAudit::of(&plan);
            let entry = Entry::new(
                AuditAction::TimePlanUpdate,
                crate::db::audit::about("audit-t-work-hours", &account.name),
            )
            .change(Some(&before), Some(&after));
            crate::db::audit::record(c, &actor(&by), &entry, now)
        })
        .await?;
    Ok(with_flash(
        back(id),
        true,
        crate::t("plan-saved"),
        ctx.secure_cookies,
    ))
}

/// `POST /admin/timeplan/days`: adds a custom workday or a holiday.
pub async fn add_day(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    Form(f): Form<DayForm>,
) -> Result<Response, AppError> {
    let account = account_of(&state, &f.account).await?;
    let kind =
        DayKind::parse(&f.kind).ok_or_else(|| AppError::BadRequest(crate::t("plan-bad-form")))?;
    let range = match store::check_day(kind, &f.name, &f.start, &f.end, &f.spans, &f.reply) {
        Ok(r) => r,
        Err(m) => {
            let raw = f.account.clone();
            return render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &build(&state, &ctx, &raw, Refused::Day(kind, f, m)).await?,
            );
        }
    };
    let (by, now, id) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        account.id,
    );
    let name = range.name.clone();
    state
        .db
        .write(move |c| -> DbResult<()> {
            store::add_day(c, id, kind, &range)?;
            let entry = Entry::new(
                AuditAction::PlanDayCreate,
                format!(
                    "公众号 {} 的{}「{}」",
                    account.name,
                    kind.label(),
                    range.name
                ),
            )
            .change(None, Some(&DayAudit::of(kind, &range)));
            crate::db::audit::record(c, &actor(&by), &entry, now)
        })
        .await?;
    Ok(with_flash(
        back(id),
        true,
        crate::t2("plan-day-added", "kind", kind_label(kind), "name", name),
        ctx.secure_cookies,
    ))
}

/// `POST /admin/timeplan/days/{id}/delete`.
pub async fn delete_day(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    let gone = state
        .db
        .write(move |c| -> DbResult<Option<PlanDay>> {
            let Some(day) = store::day(c, id)? else {
                return Ok(None);
            };
            let name = crate::db::accounts::get(c, day.account)?
                .map(|a| a.name)
                .unwrap_or_default();
            store::delete_day(c, id)?;
            let entry = Entry::new(
                AuditAction::PlanDayDelete,
                crate::i18n::Msg::new("audit-t-plan-day")
                    .text("name", name.as_str())
                    .msg("kind", crate::i18n::Msg::new(day.kind.label_key()))
                    .text("day", day.range.name.as_str())
                    .stored(),
            )
            .change(Some(&DayAudit::of(day.kind, &day.range)), None);
            crate::db::audit::record(c, &actor(&by), &entry, now)?;
            Ok(Some(day))
        })
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(with_flash(
        back(gone.account),
        true,
        crate::t2(
            "plan-day-deleted",
            "kind",
            kind_label(gone.kind),
            "name",
            gone.range.name.as_str(),
        ),
        ctx.secure_cookies,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_log_reads_the_week_in_the_readers_language() {
        let audit = serde_json::to_value(WeeklyAudit::of(&WeeklyPlan::default())).unwrap();
        let days: Vec<String> = audit["days"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_string())
            .collect();
        let read = |lang| -> Vec<String> {
            days.iter()
                .map(|d| crate::i18n::shown_in(lang, d).into_owned())
                .collect()
        };
        let zh = read(crate::i18n::Lang::Zh);
        let en = read(crate::i18n::Lang::En);
        assert_eq!(zh[0], "周一 09:00-18:00", "{zh:?}");
        assert_eq!(zh[6], "周日 休息", "{zh:?}");
        assert_eq!(en[0], "Mon 09:00-18:00", "{en:?}");
        assert_eq!(en[6], "Sun Closed", "{en:?}");
    }

    #[test]
    fn the_preview_reads_like_the_page_says() {
        let mut plan = Plan {
            enabled: true,
            tz: jiff::tz::TimeZone::get("Asia/Shanghai").unwrap(),
            weekly: WeeklyPlan::default().weekly,
            workdays: vec![],
            holidays: vec![timeplan::DayRange {
                name: "国庆节".into(),
                start: jiff::civil::date(2026, 10, 1),
                end: jiff::civil::date(2026, 10, 7),
                spans: vec![],
                reply: "放假".into(),
            }],
        };
        // Friday 2026-11-20 10:00 in Shanghai.
        let now: jiff::Timestamp = "2026-11-20T02:00:00Z".parse().unwrap();
        assert_eq!(
            preview(&plan, now),
            (
                "当前：工作时间".into(),
                "2026-11-20 18:00 周五 结束工作时间".into()
            )
        );
        let holiday: jiff::Timestamp = "2026-10-02T02:00:00Z".parse().unwrap();
        assert_eq!(
            preview(&plan, holiday),
            (
                "当前：节假日（国庆节）".into(),
                "2026-10-08 09:00 周四 开始工作时间".into()
            )
        );
        plan.enabled = false;
        assert!(preview(&plan, now).0.contains("未启用"));
        let en = crate::i18n::sync_scope(crate::i18n::Lang::En, || preview(&plan, holiday));
        assert_eq!(
            en,
            (
                "Now: work hours (work hours are off: always treated as work hours)".into(),
                String::new()
            )
        );
        plan.enabled = true;
        let en = crate::i18n::sync_scope(crate::i18n::Lang::En, || preview(&plan, now));
        assert_eq!(
            en,
            (
                "Now: work hours".into(),
                "2026-11-20 18:00 Fri closes".into()
            )
        );
    }
}
