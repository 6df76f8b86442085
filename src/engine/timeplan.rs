//! Are we in work hours now, and when does that change (C1–C3, S3 2.10)?
//!
//! A [`Plan`] is one account's time zone, its weekly hours, its custom workdays
//! (补班: named date ranges with their own spans) and its holidays (named date
//! ranges with their own auto-reply). Pure functions of the plan and `now`; the
//! storage lives in `db::timeplan`, the page in `web::admin::timeplan`.
//!
//! # Which rule governs a date
//!
//! Every local date `D` (in the plan's time zone) has one rule saying which
//! spans *start* on it, by precedence **holiday > custom workday > weekly**:
//!
//! 1. `D` inside any holiday range (both ends inclusive): no span starts on `D`.
//! 2. else `D` inside one or more custom-workday ranges: the spans of all of
//!    them (two overlapping workday ranges open when either says so).
//! 3. else the weekly spans of `D`'s weekday (Monday first).
//!
//! # Overnight spans
//!
//! A span belongs to the day it starts on. `22:00-02:00` on Friday is the
//! interval Friday 22:00 → Saturday 02:00, decided by Friday's rule alone:
//! Saturday 00:00–02:00 is open even when Saturday is a holiday or has no spans,
//! and a holiday Friday has no such span at all. So a holiday date is closed
//! all day except the tail of the previous day's overnight span. `end == start`
//! is a whole 24 hours from `start`; `end == 1440` is midnight at the end of the
//! day.
//!
//! # Status
//!
//! Open whenever any span's interval contains `now` (spans may overlap; they
//! simply add up). Otherwise [`Status::Holiday`] when the local date of `now` is
//! inside a holiday range (the most specific one: latest start, then earliest
//! end), else [`Status::Closed`]. A disabled plan is always open.
//! [`next_change`] reports only changes between open and not open: the step
//! from an ordinary closed evening into a holiday is not a change.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// Minutes since midnight of the day it starts on, `0..1440`, to `0..=1440`.
/// `end <= start` ends on the next day at `end` (so `end == start` is 24 hours).
/// A span outside these bounds is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: u16,
    pub end: u16,
}

/// A named range of local dates, both ends inclusive. Custom workdays use
/// `spans`; holidays use `reply` (the text sent to followers who write then).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayRange {
    pub name: String,
    pub start: Date,
    pub end: Date,
    pub spans: Vec<Span>,
    pub reply: String,
}

impl DayRange {
    pub fn contains(&self, d: Date) -> bool {
        self.start <= d && d <= self.end
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Off: always in work hours.
    pub enabled: bool,
    pub tz: TimeZone,
    /// Monday first.
    pub weekly: [Vec<Span>; 7],
    pub workdays: Vec<DayRange>,
    pub holidays: Vec<DayRange>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Open,
    Closed,
    /// Closed because of this holiday; `reply` is its auto-reply.
    Holiday {
        name: String,
        reply: String,
    },
}

impl Status {
    pub fn is_open(&self) -> bool {
        matches!(self, Status::Open)
    }
}

/// How far [`next_change`] looks ahead, in days.
const HORIZON_DAYS: i32 = 400;

/// Open, closed or on holiday at `now`.
pub fn is_open(plan: &Plan, now: Timestamp) -> Status {
    if !plan.enabled {
        return Status::Open;
    }
    let today = plan.tz.to_datetime(now).date();
    // Spans of the day before may run into today; two days back only guards
    // against a time-zone transition at midnight.
    let open = days_from(today, -2)
        .take(3)
        .flat_map(|d| intervals(plan, d))
        .any(|(from, to)| from <= now && now < to);
    if open {
        return Status::Open;
    }
    match holiday(plan, today) {
        Some(h) => Status::Holiday {
            name: h.name.clone(),
            reply: h.reply.clone(),
        },
        None => Status::Closed,
    }
}

/// The first instant after `now` at which [`is_open`] turns from open to not
/// open or back; `None` when that does not happen within about 400 days (a
/// disabled plan, a plan without spans, or one open around the clock).
pub fn next_change(plan: &Plan, now: Timestamp) -> Option<Timestamp> {
    if !plan.enabled {
        return None;
    }
    let today = plan.tz.to_datetime(now).date();
    // Intervals come out ordered by start (a day's spans start within that day),
    // so touching or overlapping ones merge as they arrive.
    let mut current: Option<(Timestamp, Timestamp)> = None;
    for (from, to) in days_from(today, -2)
        .take(HORIZON_DAYS as usize + 3)
        .flat_map(|d| intervals(plan, d))
    {
        match current {
            Some((a, b)) if from <= b => current = Some((a, b.max(to))),
            Some((a, b)) => {
                if b > now {
                    return Some(if a > now { a } else { b });
                }
                current = Some((from, to));
            }
            None => current = Some((from, to)),
        }
    }
    // The last run may go on with spans of days past the horizon: its end is
    // certain only when it comes before the first of those days begins.
    let beyond = days_from(today, HORIZON_DAYS + 1)
        .next()
        .and_then(|d| instant(&plan.tz, d, 0, 0));
    match current {
        Some((a, _)) if a > now => Some(a),
        Some((_, b)) if b > now && beyond.is_some_and(|edge| b < edge) => Some(b),
        _ => None,
    }
}

/// The holiday range that governs `d`, the most specific when they overlap.
fn holiday(plan: &Plan, d: Date) -> Option<&DayRange> {
    plan.holidays
        .iter()
        .filter(|h| h.contains(d))
        .min_by_key(|h| (std::cmp::Reverse(h.start), h.end))
}

/// The spans that start on `d`, by the precedence in the module docs.
fn spans_of(plan: &Plan, d: Date) -> Vec<Span> {
    if holiday(plan, d).is_some() {
        return Vec::new();
    }
    let mut workdays = plan.workdays.iter().filter(|w| w.contains(d)).peekable();
    if workdays.peek().is_some() {
        return workdays.flat_map(|w| w.spans.iter().copied()).collect();
    }
    let weekday = d.weekday().to_monday_zero_offset() as usize;
    plan.weekly[weekday].clone()
}

/// The instants `[from, to)` of the spans that start on `d`, ordered by start.
/// A span whose times do not exist that day (a DST gap) may come out empty
/// and is left out.
fn intervals(plan: &Plan, d: Date) -> Vec<(Timestamp, Timestamp)> {
    let mut out: Vec<(Timestamp, Timestamp)> = spans_of(plan, d)
        .into_iter()
        .filter(|s| s.start < 1440 && s.end <= 1440)
        .filter_map(|s| {
            let from = instant(&plan.tz, d, s.start, 0)?;
            let to = instant(&plan.tz, d, s.end, i32::from(s.end <= s.start))?;
            (from < to).then_some((from, to))
        })
        .collect();
    out.sort();
    out
}

/// `minute` of the day `d + days`, as an instant (1440 is the next midnight).
fn instant(tz: &TimeZone, d: Date, minute: u16, days: i32) -> Option<Timestamp> {
    let day = d
        .checked_add(jiff::Span::new().days(days + i32::from(minute / 1440)))
        .ok()?;
    let minute = minute % 1440;
    let dt = DateTime::from_parts(
        day,
        jiff::civil::time((minute / 60) as i8, (minute % 60) as i8, 0, 0),
    );
    tz.to_ambiguous_timestamp(dt).compatible().ok()
}

/// `start + offset`, `start + offset + 1`, … (stops at the end of the calendar).
fn days_from(start: Date, offset: i32) -> impl Iterator<Item = Date> {
    let first = start.checked_add(jiff::Span::new().days(offset)).ok();
    std::iter::successors(first, |d| d.tomorrow().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn span(start: &str, end: &str) -> Span {
        let m = |s: &str| {
            let (h, m) = s.split_once(':').unwrap();
            h.parse::<u16>().unwrap() * 60 + m.parse::<u16>().unwrap()
        };
        Span {
            start: m(start),
            end: m(end),
        }
    }

    fn range(name: &str, start: Date, end: Date, spans: Vec<Span>) -> DayRange {
        DayRange {
            name: name.into(),
            start,
            end,
            spans,
            reply: format!("{name}放假"),
        }
    }

    fn shanghai() -> TimeZone {
        TimeZone::get("Asia/Shanghai").unwrap()
    }

    /// Mon–Fri 09:00–18:00, Friday also 22:00–02:00, Sunday 20:00–20:00 (24 h).
    fn plan() -> Plan {
        let office = vec![span("09:00", "18:00")];
        Plan {
            enabled: true,
            tz: shanghai(),
            weekly: [
                office.clone(),
                office.clone(),
                office.clone(),
                office.clone(),
                vec![span("09:00", "18:00"), span("22:00", "02:00")],
                vec![],
                vec![span("20:00", "20:00")],
            ],
            workdays: vec![
                // A make-up Saturday, and a range that a holiday sits inside.
                range(
                    "补班",
                    date(2026, 10, 10),
                    date(2026, 10, 10),
                    vec![span("10:00", "16:00")],
                ),
                range(
                    "盘点周",
                    date(2026, 12, 14),
                    date(2026, 12, 20),
                    vec![span("08:00", "12:00"), span("11:00", "13:00")],
                ),
                range(
                    "跨年值班",
                    date(2026, 12, 31),
                    date(2026, 12, 31),
                    vec![span("23:00", "01:00")],
                ),
            ],
            holidays: vec![
                range("国庆节", date(2026, 10, 1), date(2026, 10, 7), vec![]),
                range("盘点日", date(2026, 12, 16), date(2026, 12, 16), vec![]),
                range("元旦", date(2026, 12, 30), date(2027, 1, 2), vec![]),
                // Inside 元旦: the more specific range names the day.
                range("新年第一天", date(2027, 1, 1), date(2027, 1, 1), vec![]),
                // A holiday Friday: no overnight span starts on it.
                range("休假周五", date(2026, 11, 27), date(2026, 11, 27), vec![]),
            ],
        }
    }

    /// A local time in Shanghai.
    fn at(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> Timestamp {
        date(y, mo, d)
            .at(h, mi, 0, 0)
            .to_zoned(shanghai())
            .unwrap()
            .timestamp()
    }

    fn hol(name: &str) -> Status {
        Status::Holiday {
            name: name.into(),
            reply: format!("{name}放假"),
        }
    }

    #[test]
    fn is_open_by_the_rules_table() {
        use Status::{Closed, Open};
        let p = plan();
        // 2026-11-20 is a Friday.
        let cases = [
            ("weekday before opening", at(2026, 11, 19, 8, 59), Closed),
            ("weekday opening minute", at(2026, 11, 19, 9, 0), Open),
            ("weekday last minute", at(2026, 11, 19, 17, 59), Open),
            (
                "weekday closing is exclusive",
                at(2026, 11, 19, 18, 0),
                Closed,
            ),
            ("Friday overnight starts", at(2026, 11, 20, 22, 0), Open),
            (
                "Friday overnight tail on Saturday",
                at(2026, 11, 21, 1, 59),
                Open,
            ),
            ("Friday overnight ends", at(2026, 11, 21, 2, 0), Closed),
            ("Saturday without spans", at(2026, 11, 21, 12, 0), Closed),
            ("Sunday 24 h span", at(2026, 11, 22, 23, 0), Open),
            (
                "Sunday's 24 h span runs into Monday",
                at(2026, 11, 23, 8, 0),
                Open,
            ),
            (
                "Sunday's span ends Monday 20:00",
                at(2026, 11, 23, 20, 0),
                Closed,
            ),
            // Holidays: closed, named, both edges inclusive.
            ("holiday first day", at(2026, 10, 1, 0, 0), hol("国庆节")),
            (
                "holiday in office hours",
                at(2026, 10, 2, 10, 0),
                hol("国庆节"),
            ),
            ("holiday last day", at(2026, 10, 7, 23, 59), hol("国庆节")),
            ("day after holiday", at(2026, 10, 8, 10, 0), Open),
            ("day before holiday", at(2026, 9, 30, 10, 0), Open),
            ("evening before a holiday", at(2026, 9, 30, 20, 0), Closed),
            ("make-up Saturday open", at(2026, 10, 10, 10, 0), Open),
            ("make-up Saturday own hours", at(2026, 10, 10, 9, 0), Closed),
            ("make-up Saturday closes", at(2026, 10, 10, 16, 0), Closed),
            // Overlaps: a holiday inside a workday range; two spans overlapping.
            (
                "workday range, overlapping spans",
                at(2026, 12, 15, 12, 30),
                Open,
            ),
            (
                "workday range, after spans",
                at(2026, 12, 15, 13, 0),
                Closed,
            ),
            (
                "holiday inside a workday range",
                at(2026, 12, 16, 10, 0),
                hol("盘点日"),
            ),
            ("workday range on a weekend", at(2026, 12, 19, 8, 0), Open),
            // The holiday Friday: no overnight span, and Saturday stays closed.
            (
                "holiday Friday night",
                at(2026, 11, 27, 23, 0),
                hol("休假周五"),
            ),
            (
                "Saturday after holiday Friday",
                at(2026, 11, 28, 1, 0),
                Closed,
            ),
            // Year end: Dec 31 is a holiday, so the workday range loses.
            ("year end holiday", at(2026, 12, 31, 23, 30), hol("元旦")),
            (
                "inner holiday names Jan 1",
                at(2027, 1, 1, 10, 0),
                hol("新年第一天"),
            ),
            (
                "holiday across the year",
                at(2027, 1, 2, 10, 0),
                hol("元旦"),
            ),
            ("first workday of the year", at(2027, 1, 4, 9, 0), Open),
        ];
        for (name, now, want) in cases {
            assert_eq!(is_open(&p, now), want, "{name}");
        }
    }

    #[test]
    fn overnight_tail_beats_a_holiday_and_year_end() {
        // Thursday Dec 31 2026 open 23:00–01:00 (a workday range), Jan 1 a holiday.
        let mut p = plan();
        p.holidays.retain(|h| h.name == "新年第一天");
        assert_eq!(is_open(&p, at(2026, 12, 31, 23, 0)), Status::Open);
        assert_eq!(
            is_open(&p, at(2027, 1, 1, 0, 30)),
            Status::Open,
            "the tail of Dec 31's span"
        );
        assert_eq!(is_open(&p, at(2027, 1, 1, 1, 0)), hol("新年第一天"));
        assert_eq!(
            next_change(&p, at(2026, 12, 31, 20, 0)),
            Some(at(2026, 12, 31, 23, 0))
        );
        assert_eq!(
            next_change(&p, at(2026, 12, 31, 23, 0)),
            Some(at(2027, 1, 1, 1, 0))
        );
        // Jan 1 2027 is a Friday (holiday), Jan 2–3 the weekend; Sunday's
        // 24 h span opens Jan 3 at 20:00.
        assert_eq!(
            next_change(&p, at(2027, 1, 1, 1, 0)),
            Some(at(2027, 1, 3, 20, 0))
        );
    }

    #[test]
    fn next_change_by_table() {
        let p = plan();
        let cases = [
            (
                "opens",
                at(2026, 11, 19, 7, 0),
                Some(at(2026, 11, 19, 9, 0)),
            ),
            (
                "closes",
                at(2026, 11, 19, 10, 0),
                Some(at(2026, 11, 19, 18, 0)),
            ),
            (
                "evening",
                at(2026, 11, 19, 18, 0),
                Some(at(2026, 11, 20, 9, 0)),
            ),
            (
                "Friday day",
                at(2026, 11, 20, 12, 0),
                Some(at(2026, 11, 20, 18, 0)),
            ),
            (
                "Friday night",
                at(2026, 11, 20, 23, 0),
                Some(at(2026, 11, 21, 2, 0)),
            ),
            (
                "weekend",
                at(2026, 11, 21, 3, 0),
                Some(at(2026, 11, 22, 20, 0)),
            ),
            (
                "Sunday 24 h",
                at(2026, 11, 22, 21, 0),
                Some(at(2026, 11, 23, 20, 0)),
            ),
            (
                "holiday",
                at(2026, 10, 2, 10, 0),
                Some(at(2026, 10, 8, 9, 0)),
            ),
            (
                "make-up day",
                at(2026, 10, 10, 2, 0),
                Some(at(2026, 10, 10, 10, 0)),
            ),
            (
                "overlapping spans merge",
                at(2026, 12, 15, 9, 0),
                Some(at(2026, 12, 15, 13, 0)),
            ),
        ];
        for (name, now, want) in cases {
            assert_eq!(next_change(&p, now), want, "{name}");
        }
    }

    #[test]
    fn never_changing_plans() {
        let now = at(2026, 11, 20, 12, 0);
        let mut p = plan();
        p.enabled = false;
        assert_eq!(is_open(&p, now), Status::Open);
        assert_eq!(next_change(&p, now), None);

        let mut closed = plan();
        closed.weekly = Default::default();
        closed.workdays.clear();
        assert_eq!(is_open(&closed, now), Status::Closed);
        assert_eq!(next_change(&closed, now), None);

        // Only a custom workday: it closes once, then never opens again.
        let mut once = closed.clone();
        once.holidays.clear();
        once.workdays = vec![range(
            "值班",
            date(2026, 11, 20),
            date(2026, 11, 20),
            vec![span("11:00", "13:00")],
        )];
        assert_eq!(is_open(&once, now), Status::Open);
        assert_eq!(next_change(&once, now), Some(at(2026, 11, 20, 13, 0)));
        assert_eq!(next_change(&once, at(2026, 11, 20, 13, 0)), None);

        let mut always = closed;
        always.holidays.clear();
        always.weekly = std::array::from_fn(|_| vec![span("00:00", "24:00")]);
        assert_eq!(is_open(&always, now), Status::Open);
        assert_eq!(next_change(&always, now), None);
    }

    #[test]
    fn the_same_instant_in_two_time_zones() {
        // 2026-11-20 02:00 UTC: 10:00 in Shanghai (open), 21:00 the day
        // before in New York (closed).
        let now: Timestamp = "2026-11-20T02:00:00Z".parse().unwrap();
        let mut p = plan();
        assert_eq!(is_open(&p, now), Status::Open);
        p.tz = TimeZone::get("America/New_York").unwrap();
        assert_eq!(is_open(&p, now), Status::Closed);
        assert_eq!(
            next_change(&p, now),
            Some("2026-11-20T14:00:00Z".parse().unwrap()),
            "09:00 in New York"
        );
        p.tz = TimeZone::fixed(jiff::tz::offset(5));
        assert_eq!(is_open(&p, now), Status::Closed, "07:00 at UTC+5");
    }

    fn arb_span() -> impl Strategy<Value = Span> {
        (0u16..1440, 0u16..=1440).prop_map(|(start, end)| Span { start, end })
    }

    fn arb_range() -> impl Strategy<Value = DayRange> {
        (
            0i32..60,
            0i32..6,
            proptest::collection::vec(arb_span(), 0..3),
        )
            .prop_map(|(from, len, spans)| {
                let start = date(2026, 12, 1)
                    .checked_add(jiff::Span::new().days(from))
                    .unwrap();
                let end = start.checked_add(jiff::Span::new().days(len)).unwrap();
                range("r", start, end, spans)
            })
    }

    fn arb_plan() -> impl Strategy<Value = Plan> {
        (
            proptest::collection::vec(proptest::collection::vec(arb_span(), 0..3), 7),
            proptest::collection::vec(arb_range(), 0..3),
            proptest::collection::vec(arb_range(), 0..3),
            prop_oneof![
                Just("Asia/Shanghai"),
                Just("America/New_York"),
                Just("Europe/Berlin"),
                Just("UTC")
            ],
        )
            .prop_map(|(weekly, workdays, holidays, tz)| Plan {
                enabled: true,
                tz: TimeZone::get(tz).unwrap(),
                weekly: std::array::from_fn(|i| weekly[i].clone()),
                workdays,
                holidays,
            })
    }

    proptest! {
        #[test]
        fn next_change_is_where_the_answer_changes(
            p in arb_plan(),
            minutes in 0i64..(180 * 1440),
        ) {
            let now = at(2026, 10, 20, 0, 0) + jiff::SignedDuration::from_mins(minutes);
            let before = is_open(&p, now).is_open();
            if let Some(t) = next_change(&p, now) {
                prop_assert!(t > now);
                let just_before = t - jiff::SignedDuration::from_nanos(1);
                prop_assert_eq!(is_open(&p, just_before).is_open(), before, "steady until {}", t);
                prop_assert_ne!(is_open(&p, t).is_open(), before, "changes at {}", t);
                let mid = now + (t.duration_since(now) / 2);
                prop_assert_eq!(is_open(&p, mid).is_open(), before, "steady at {}", mid);
            } else {
                for d in [1i64, 7, 30, 200] {
                    let later = now + jiff::SignedDuration::from_hours(24 * d);
                    prop_assert_eq!(is_open(&p, later).is_open(), before);
                }
            }
        }
    }
}
