//! Time plans (C1–C3, E8): per account the switch, the time zone and the
//! weekly spans (`time_plans`), and the named date ranges (`plan_days`):
//! custom workdays with their own spans, holidays with their own reply. A
//! missing row means the defaults (off, Asia/Shanghai, Mon–Fri 09:00–18:00).
//!
//! Also the checks on what people type (spans like `09:00-12:00, 13:30-18:00`,
//! dates, names, replies), each refusing with a Chinese reason, so the page
//! and any future API refuse the same things.

use super::DbResult;
use crate::db::Cached;
use crate::engine::timeplan::{DayRange, Plan, Span};
use crate::model::AccountId;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rusqlite::{Connection, OptionalExtension, params};

pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";
/// At most this many spans per day.
pub const MAX_SPANS: usize = 8;
pub const MAX_NAME: usize = 32;
pub const MAX_REPLY: usize = 600;
/// A range longer than this is surely a typo in the year.
pub const MAX_RANGE_DAYS: i32 = 366;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayKind {
    /// 自定义工作日: open in its own spans.
    Workday,
    /// 节假日: closed, with its own reply.
    Holiday,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Workday => "workday",
            DayKind::Holiday => "holiday",
        }
    }

    /// The catalogue key of the label.
    pub fn label_key(self) -> &'static str {
        match self {
            DayKind::Workday => "plan-kind-workday",
            DayKind::Holiday => "plan-kind-holiday",
        }
    }

    pub fn label(self) -> String {
        crate::t(self.label_key())
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "workday" => Some(DayKind::Workday),
            "holiday" => Some(DayKind::Holiday),
            _ => None,
        }
    }
}

/// The `time_plans` row: what the 每周工作时间 form edits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeeklyPlan {
    pub enabled: bool,
    /// An IANA name, checked with [`check_timezone`] before it is saved.
    pub timezone: String,
    /// Monday first.
    pub weekly: [Vec<Span>; 7],
}

impl Default for WeeklyPlan {
    fn default() -> Self {
        let office = vec![Span {
            start: 9 * 60,
            end: 18 * 60,
        }];
        WeeklyPlan {
            enabled: false,
            timezone: DEFAULT_TIMEZONE.into(),
            weekly: std::array::from_fn(|i| if i < 5 { office.clone() } else { Vec::new() }),
        }
    }
}

/// One `plan_days` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanDay {
    pub id: i64,
    pub account: AccountId,
    pub kind: DayKind,
    pub range: DayRange,
}

/// The account's whole plan, as the engine decides with it. An unknown stored
/// time zone falls back to Asia/Shanghai rather than failing the webhook.
pub fn load(conn: &Connection, account: AccountId) -> DbResult<Plan> {
    let w = weekly(conn, account)?;
    let tz = TimeZone::get(&w.timezone)
        .or_else(|_| TimeZone::get(DEFAULT_TIMEZONE))
        .unwrap_or(TimeZone::fixed(jiff::tz::offset(8)));
    let (mut workdays, mut holidays) = (Vec::new(), Vec::new());
    for d in days(conn, account)? {
        match d.kind {
            DayKind::Workday => workdays.push(d.range),
            DayKind::Holiday => holidays.push(d.range),
        }
    }
    Ok(Plan {
        enabled: w.enabled,
        tz,
        weekly: w.weekly,
        workdays,
        holidays,
    })
}

pub fn weekly(conn: &Connection, account: AccountId) -> DbResult<WeeklyPlan> {
    let row = conn
        .row(
            "SELECT enabled, timezone, weekly FROM time_plans WHERE account_id = ?1",
            [account],
            |r| {
                Ok((
                    r.get::<_, bool>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((enabled, timezone, json)) = row else {
        return Ok(WeeklyPlan::default());
    };
    let days: Vec<Vec<[u16; 2]>> = serde_json::from_str(&json).unwrap_or_default();
    Ok(WeeklyPlan {
        enabled,
        timezone,
        weekly: std::array::from_fn(|i| days.get(i).map(|d| from_pairs(d)).unwrap_or_default()),
    })
}

pub fn save_weekly(conn: &Connection, account: AccountId, w: &WeeklyPlan) -> DbResult<()> {
    let json = serde_json::to_string(&w.weekly.iter().map(|d| to_pairs(d)).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into());
    conn.exec(
        "INSERT INTO time_plans (account_id, enabled, timezone, weekly) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (account_id) DO UPDATE SET enabled = ?2, timezone = ?3, weekly = ?4",
        params![account, w.enabled, w.timezone, json],
    )?;
    Ok(())
}

const DAY_COLUMNS: &str = "id, account_id, kind, name, start_date, end_date, spans, reply";

fn day_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<PlanDay>> {
    let kind: String = r.get(2)?;
    let (start, end): (String, String) = (r.get(4)?, r.get(5)?);
    let spans: String = r.get(6)?;
    let pairs: Vec<[u16; 2]> = serde_json::from_str(&spans).unwrap_or_default();
    // A row this version cannot read (edited by hand) is skipped, not fatal.
    let (Some(kind), Ok(start), Ok(end)) = (
        DayKind::parse(&kind),
        start.parse::<Date>(),
        end.parse::<Date>(),
    ) else {
        return Ok(None);
    };
    Ok(Some(PlanDay {
        id: r.get(0)?,
        account: r.get(1)?,
        kind,
        range: DayRange {
            name: r.get(3)?,
            start,
            end,
            spans: from_pairs(&pairs),
            reply: r.get(7)?,
        },
    }))
}

/// The account's custom workdays and holidays, by kind then start date.
pub fn days(conn: &Connection, account: AccountId) -> DbResult<Vec<PlanDay>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {DAY_COLUMNS} FROM plan_days WHERE account_id = ?1
         ORDER BY kind DESC, start_date, id"
    ))?;
    let rows = stmt
        .query_map([account], day_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows.into_iter().flatten().collect())
}

pub fn day(conn: &Connection, id: i64) -> DbResult<Option<PlanDay>> {
    Ok(conn
        .row(
            &format!("SELECT {DAY_COLUMNS} FROM plan_days WHERE id = ?1"),
            [id],
            day_from_row,
        )
        .optional()?
        .flatten())
}

pub fn add_day(
    conn: &Connection,
    account: AccountId,
    kind: DayKind,
    d: &DayRange,
) -> DbResult<i64> {
    conn.exec(
        "INSERT INTO plan_days (account_id, kind, name, start_date, end_date, spans, reply)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            account,
            kind.as_str(),
            d.name,
            d.start.to_string(),
            d.end.to_string(),
            spans_json(&d.spans),
            d.reply
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Changes a range in place; `false` when there is no such row.
pub fn update_day(conn: &Connection, id: i64, d: &DayRange) -> DbResult<bool> {
    let n = conn.exec(
        "UPDATE plan_days SET name = ?2, start_date = ?3, end_date = ?4, spans = ?5, reply = ?6
         WHERE id = ?1",
        params![
            id,
            d.name,
            d.start.to_string(),
            d.end.to_string(),
            spans_json(&d.spans),
            d.reply
        ],
    )?;
    Ok(n > 0)
}

/// `false` when there is no such row.
pub fn delete_day(conn: &Connection, id: i64) -> DbResult<bool> {
    Ok(conn.exec("DELETE FROM plan_days WHERE id = ?1", [id])? > 0)
}

fn to_pairs(spans: &[Span]) -> Vec<[u16; 2]> {
    spans.iter().map(|s| [s.start, s.end]).collect()
}

fn from_pairs(pairs: &[[u16; 2]]) -> Vec<Span> {
    pairs
        .iter()
        .filter(|[start, end]| *start < 1440 && *end <= 1440)
        .map(|&[start, end]| Span { start, end })
        .collect()
}

fn spans_json(spans: &[Span]) -> String {
    serde_json::to_string(&to_pairs(spans)).unwrap_or_else(|_| "[]".into())
}

/// `09:00-18:00`; `22:00-02:00` crosses midnight.
pub fn format_span(s: Span) -> String {
    let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
    format!("{}-{}", hm(s.start), hm(s.end))
}

/// The spans as the form shows them: `09:00-12:00, 13:30-18:00`.
pub fn format_spans(spans: &[Span]) -> String {
    spans
        .iter()
        .map(|s| format_span(*s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses `09:00-12:00, 13:30-18:00` (also `,`、`;` and `~`、`至`); empty is a
/// day off. `22:00-02:00` crosses midnight; `00:00-24:00` is the whole day.
pub fn parse_spans(raw: &str, day: &str) -> Result<Vec<Span>, String> {
    let pieces: Vec<&str> = raw
        .split([',', '\u{FF0C}', ';', '\u{FF1B}', '、', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if pieces.len() > MAX_SPANS {
        return Err(crate::t2(
            "valid-spans-too-many",
            "day",
            day,
            "max",
            MAX_SPANS,
        ));
    }
    pieces.into_iter().map(|p| parse_span(p, day)).collect()
}

fn parse_span(piece: &str, day: &str) -> Result<Span, String> {
    let bad = || crate::t2("valid-span-format", "day", day, "piece", piece);
    let (from, to) = piece
        .split_once(['-', '~', '\u{FF5E}', '–', '—', '至'])
        .ok_or_else(bad)?;
    let minute = |t: &str| -> Option<u16> {
        let (h, m) = t.trim().split_once([':', '\u{FF1A}'])?;
        let (h, m) = (h.trim().parse::<u16>().ok()?, m.trim().parse::<u16>().ok()?);
        (m < 60).then_some(h * 60 + m)
    };
    let (start, end) = (minute(from).ok_or_else(bad)?, minute(to).ok_or_else(bad)?);
    if start >= 1440 || end > 1440 {
        return Err(crate::t2("valid-span-range", "day", day, "piece", piece));
    }
    if start == end {
        return Err(crate::t2("valid-span-empty", "day", day, "piece", piece));
    }
    Ok(Span { start, end })
}

/// A time zone name jiff knows, e.g. `Asia/Shanghai`.
pub fn check_timezone(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(DEFAULT_TIMEZONE.into());
    }
    match TimeZone::get(name) {
        Ok(_) => Ok(name.to_string()),
        Err(_) => Err(crate::t1("valid-timezone", "name", name)),
    }
}

/// A `YYYY-MM-DD` date.
pub fn parse_date(raw: &str, what: &str) -> Result<Date, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(crate::t1("valid-date-required", "what", what));
    }
    match raw.parse::<Date>() {
        Ok(d) if raw.len() == 10 => Ok(d),
        _ => Err(crate::t2("valid-date-format", "what", what, "raw", raw)),
    }
}

/// What the add forms send, checked: a custom workday needs spans, a holiday
/// a reply. Returns the range to store.
pub fn check_day(
    kind: DayKind,
    name: &str,
    start: &str,
    end: &str,
    spans: &str,
    reply: &str,
) -> Result<DayRange, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(crate::t("valid-name-required"));
    }
    if name.chars().count() > MAX_NAME {
        return Err(crate::t1("valid-name-long", "max", MAX_NAME));
    }
    let start = parse_date(start, &crate::t("valid-start-date"))?;
    let end = parse_date(end, &crate::t("valid-end-date"))?;
    if end < start {
        return Err(crate::t("valid-end-before-start"));
    }
    if start.until(end).map_or(i32::MAX, |s| s.get_days()) >= MAX_RANGE_DAYS {
        return Err(crate::t1("valid-range-long", "max", MAX_RANGE_DAYS));
    }
    let (spans, reply) = match kind {
        DayKind::Workday => {
            let spans = parse_spans(spans, "")?;
            if spans.is_empty() {
                return Err(crate::t("valid-workday-spans"));
            }
            (spans, String::new())
        }
        DayKind::Holiday => {
            let reply = reply.trim();
            if reply.is_empty() {
                return Err(crate::t("valid-holiday-reply"));
            }
            if reply.chars().count() > MAX_REPLY {
                return Err(crate::t1("valid-holiday-reply-long", "max", MAX_REPLY));
            }
            (Vec::new(), reply.to_string())
        }
    };
    Ok(DayRange {
        name: name.to_string(),
        start,
        end,
        spans,
        reply,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{accounts::tests::seed_account, memory};
    use jiff::civil::date;

    #[test]
    fn defaults_until_saved_then_what_was_saved() {
        let conn = memory().unwrap();
        let acc = seed_account(&conn, "wx1");
        let plan = load(&conn, acc).unwrap();
        assert!(!plan.enabled);
        assert_eq!(plan.tz, TimeZone::get("Asia/Shanghai").unwrap());
        assert_eq!(plan.weekly, WeeklyPlan::default().weekly);
        assert_eq!(format_spans(&plan.weekly[0]), "09:00-18:00");
        assert!(plan.weekly[5].is_empty() && plan.weekly[6].is_empty());

        let mut w = WeeklyPlan {
            enabled: true,
            timezone: "Europe/Berlin".into(),
            ..WeeklyPlan::default()
        };
        w.weekly[5] = parse_spans("22:00-02:00, 00:00-24:00", "周六").unwrap();
        save_weekly(&conn, acc, &w).unwrap();
        assert_eq!(weekly(&conn, acc).unwrap(), w);
        let plan = load(&conn, acc).unwrap();
        assert!(plan.enabled);
        assert_eq!(plan.tz, TimeZone::get("Europe/Berlin").unwrap());

        let h = check_day(
            DayKind::Holiday,
            " 国庆节 ",
            "2026-10-01",
            "2026-10-07",
            "",
            "国庆放假",
        )
        .unwrap();
        let wd = check_day(
            DayKind::Workday,
            "补班",
            "2026-10-10",
            "2026-10-10",
            "10:00-16:00",
            "",
        )
        .unwrap();
        let hid = add_day(&conn, acc, DayKind::Holiday, &h).unwrap();
        let wid = add_day(&conn, acc, DayKind::Workday, &wd).unwrap();
        let plan = load(&conn, acc).unwrap();
        assert_eq!(plan.holidays, vec![h.clone()]);
        assert_eq!(plan.workdays, vec![wd.clone()]);
        assert_eq!(plan.holidays[0].name, "国庆节");

        let moved = DayRange {
            end: date(2026, 10, 8),
            ..h
        };
        assert!(update_day(&conn, hid, &moved).unwrap());
        assert_eq!(day(&conn, hid).unwrap().unwrap().range, moved);
        assert!(delete_day(&conn, wid).unwrap());
        assert!(!delete_day(&conn, wid).unwrap());
        assert_eq!(days(&conn, acc).unwrap().len(), 1);
    }

    #[test]
    fn what_people_type() {
        let ok = [
            ("", vec![]),
            ("09:00-18:00", vec![(540, 1080)]),
            ("9:00 - 12:00, 13:30-18:00", vec![(540, 720), (810, 1080)]),
            ("09:00~12:00;13:30至18:00", vec![(540, 720), (810, 1080)]),
            ("22:00-02:00", vec![(1320, 120)]),
            ("00:00-24:00", vec![(0, 1440)]),
        ];
        for (raw, want) in ok {
            let got: Vec<(u16, u16)> = parse_spans(raw, "周一")
                .unwrap()
                .iter()
                .map(|s| (s.start, s.end))
                .collect();
            assert_eq!(got, want, "{raw}");
        }
        let bad = [
            ("25:00-26:00", "时间无效"),
            ("24:00-02:00", "时间无效"),
            ("09:60-10:00", "格式不正确"),
            ("9点-18点", "格式不正确"),
            ("09:00", "格式不正确"),
            ("09:00-09:00", "开始和结束时间相同"),
        ];
        for (raw, why) in bad {
            let e = parse_spans(raw, "周一").unwrap_err();
            assert!(e.contains(why) && e.starts_with("周一"), "{raw}: {e}");
        }
        assert_eq!(
            format_spans(&parse_spans("9:00-12:00,22:00-2:00", "").unwrap()),
            "09:00-12:00, 22:00-02:00"
        );

        assert_eq!(check_timezone("").unwrap(), "Asia/Shanghai");
        assert_eq!(check_timezone(" Asia/Tokyo ").unwrap(), "Asia/Tokyo");
        assert!(check_timezone("Mars/Olympus").is_err());

        let long_reply = "好".repeat(601);
        let refused = [
            (
                DayKind::Holiday,
                "",
                "2026-10-01",
                "2026-10-01",
                "",
                "x",
                "请填写名称",
            ),
            (
                DayKind::Holiday,
                &"名".repeat(33),
                "2026-10-01",
                "2026-10-01",
                "",
                "x",
                "不能超过 32",
            ),
            (
                DayKind::Holiday,
                "假",
                "2026-13-01",
                "2026-10-01",
                "",
                "x",
                "开始日期「2026-13-01」无效",
            ),
            (
                DayKind::Holiday,
                "假",
                "2026-10-02",
                "2026-10-01",
                "",
                "x",
                "不能早于",
            ),
            (
                DayKind::Holiday,
                "假",
                "2026-10-01",
                "2028-10-01",
                "",
                "x",
                "不能超过 366 天",
            ),
            (
                DayKind::Holiday,
                "假",
                "2026-10-01",
                "2026-10-01",
                "",
                " ",
                "请填写节假日自动回复",
            ),
            (
                DayKind::Holiday,
                "假",
                "2026-10-01",
                "2026-10-01",
                "",
                &long_reply,
                "不能超过 600",
            ),
            (
                DayKind::Workday,
                "班",
                "2026-10-01",
                "2026-10-01",
                "",
                "",
                "请填写自定义工作日的工作时段",
            ),
        ];
        for (kind, name, start, end, spans, reply, why) in refused {
            let e = check_day(kind, name, start, end, spans, reply).unwrap_err();
            assert!(e.contains(why), "{name} {start} {end}: {e}");
        }
    }
}
