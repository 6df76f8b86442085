//! The reply budget (A7): may a customer-service message be sent to this
//! follower now, how many are left, and until when? WeChat allows them only
//! after the follower did something: after a message, `quota_after_message`
//! within `window_hours`; after a menu click, a follow or a scan,
//! `quota_after_event` within `event_window_secs`. The counter restarts when
//! the follower interacts again. A pure function of the stored state and `now`.
//!
//! What the counters hold (issue 11): a send is charged when WeChat accepted
//! it, and also when its answer was lost (`unknown`: WeChat may have counted
//! it, so the budget never promises a message WeChat would refuse); rows still
//! `pending` or `sending` are subtracted by the caller as pending sends
//! (`desk::budget_of`). A 重发 is charged again when it is sent.

use crate::db::accounts::BudgetRules;
use crate::i18n::Msg;
use crate::model::InteractionKind;
use jiff::{SignedDuration, Timestamp};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    pub allowed: bool,
    /// Messages still allowed in the window a send is charged to.
    pub remaining: i64,
    /// When that window closes (None: there is no window).
    pub until: Option<Timestamp>,
    /// Why sending is not allowed, in words an agent understands (drawn in
    /// the reader's language: it may be stored in a note by a background job).
    pub reason: Option<Msg>,
    /// The window a send is charged to.
    pub charge: Option<InteractionKind>,
}

/// One window: open, with this many left, until then.
fn window(
    rules: &BudgetRules,
    kind: InteractionKind,
    last: Option<(Timestamp, i64)>,
    now: Timestamp,
) -> Option<(i64, Timestamp)> {
    let (at, sent) = last?;
    let (length, quota) = match kind {
        InteractionKind::Message => (
            SignedDuration::from_hours(rules.window_hours),
            rules.quota_after_message,
        ),
        InteractionKind::Event => (
            SignedDuration::from_secs(rules.event_window_secs),
            rules.quota_after_event,
        ),
    };
    let until = at + length;
    (now < until).then_some(((quota - sent).max(0), until))
}

/// WeChat counts the window after a message and the one after a menu click,
/// follow or scan separately: a send is allowed while either has quota left,
/// and is charged to the message window when it can be (it lasts longer).
pub fn budget(
    rules: &BudgetRules,
    message: Option<(Timestamp, i64)>,
    event: Option<(Timestamp, i64)>,
    now: Timestamp,
) -> Budget {
    let m = window(rules, InteractionKind::Message, message, now);
    let e = window(rules, InteractionKind::Event, event, now);
    let pick = [(InteractionKind::Message, m), (InteractionKind::Event, e)]
        .into_iter()
        .find_map(|(k, w)| {
            w.filter(|(left, _)| *left > 0)
                .map(|(left, until)| (k, left, until))
        });
    if let Some((kind, remaining, until)) = pick {
        return Budget {
            allowed: true,
            remaining,
            until: Some(until),
            reason: None,
            charge: Some(kind),
        };
    }
    let reason = if message.is_none() && event.is_none() {
        Msg::new("budget-never-interacted")
    } else if m.is_some() || e.is_some() {
        Msg::new("budget-quota-spent")
            .number("after_message", rules.quota_after_message)
            .number("after_event", rules.quota_after_event)
    } else {
        Msg::new("budget-window-closed")
            .number("hours", rules.window_hours)
            .number("secs", rules.event_window_secs)
    };
    let until = m.or(e).map(|(_, u)| u);
    Budget {
        allowed: false,
        remaining: 0,
        until,
        reason: Some(reason),
        charge: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn table() {
        let r = BudgetRules::default();
        let at = t("2026-05-01T08:00:00Z");
        // (message window, event window, now, allowed, remaining, charged to)
        use InteractionKind::*;
        let cases = [
            (None, None, at, false, 0, None),
            (Some((at, 0)), None, at, true, 5, Some(Message)),
            (
                Some((at, 4)),
                None,
                t("2026-05-03T07:59:59Z"),
                true,
                1,
                Some(Message),
            ),
            (Some((at, 5)), None, at, false, 0, None),
            (
                Some((at, 0)),
                None,
                t("2026-05-03T08:00:00Z"),
                false,
                0,
                None,
            ),
            (
                None,
                Some((at, 0)),
                t("2026-05-01T08:00:59Z"),
                true,
                3,
                Some(Event),
            ),
            (
                None,
                Some((at, 3)),
                t("2026-05-01T08:00:10Z"),
                false,
                0,
                None,
            ),
            (
                None,
                Some((at, 0)),
                t("2026-05-01T08:01:00Z"),
                false,
                0,
                None,
            ),
            // A menu click after a message does not shrink the 48-hour window.
            (
                Some((at, 1)),
                Some((t("2026-05-01T08:05:00Z"), 0)),
                t("2026-05-01T08:07:00Z"),
                true,
                4,
                Some(Message),
            ),
            // The message quota is used up, the click's is still there.
            (
                Some((at, 5)),
                Some((t("2026-05-01T09:00:00Z"), 0)),
                t("2026-05-01T09:00:30Z"),
                true,
                3,
                Some(Event),
            ),
        ];
        for (i, (m, e, now, allowed, remaining, charge)) in cases.into_iter().enumerate() {
            let b = budget(&r, m, e, now);
            assert_eq!(
                (b.allowed, b.remaining, b.charge),
                (allowed, remaining, charge),
                "case {i}: {b:?}"
            );
            assert_eq!(b.reason.is_none(), allowed, "case {i}: a refusal says why");
        }
        assert_eq!(
            budget(&r, Some((at, 0)), None, at).until,
            Some(t("2026-05-03T08:00:00Z"))
        );
        assert!(
            budget(&r, None, None, at)
                .reason
                .unwrap()
                .now()
                .contains("没有与公众号互动")
        );
        assert!(
            budget(&r, Some((at, 0)), None, t("2026-05-04T00:00:00Z"))
                .reason
                .unwrap()
                .now()
                .contains("超过 48 小时")
        );
        assert!(
            budget(&r, Some((at, 5)), None, at)
                .reason
                .unwrap()
                .now()
                .contains("额度已用完")
        );
    }

    #[test]
    fn the_numbers_are_settings() {
        let r = BudgetRules {
            window_hours: 48,
            quota_after_message: 20,
            quota_after_event: 1,
            event_window_secs: 30,
        };
        let at = t("2026-05-01T08:00:00Z");
        assert_eq!(budget(&r, Some((at, 5)), None, at).remaining, 15);
        assert!(!budget(&r, None, Some((at, 0)), t("2026-05-01T08:00:31Z")).allowed);
    }
}
