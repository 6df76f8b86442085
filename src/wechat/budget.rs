//! The reply budget (A7): may a customer-service message be sent to this
//! follower now, how many are left, and until when? WeChat allows them only
//! after the follower did something: after a message, `quota_after_message`
//! within `window_hours`; after a menu click, a follow or a scan,
//! `quota_after_event` within `event_window_secs`. The counter restarts when
//! the follower interacts again. A pure function of the stored state and `now`.

use crate::db::accounts::BudgetRules;
use crate::model::InteractionKind;
use jiff::{SignedDuration, Timestamp};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    pub allowed: bool,
    /// Messages still allowed in the current window.
    pub remaining: i64,
    /// When the current window closes (None: there is no window).
    pub until: Option<Timestamp>,
    /// Why sending is not allowed, in words an agent understands.
    pub reason: Option<String>,
}

pub fn budget(
    rules: &BudgetRules,
    last: Option<(Timestamp, InteractionKind)>,
    sent_since: i64,
    now: Timestamp,
) -> Budget {
    let Some((at, kind)) = last else {
        return Budget {
            allowed: false,
            remaining: 0,
            until: None,
            reason: Some("该粉丝还没有与公众号互动过,微信不允许主动发送客服消息".into()),
        };
    };
    let (window, quota) = match kind {
        InteractionKind::Message => (
            SignedDuration::from_hours(rules.window_hours),
            rules.quota_after_message,
        ),
        InteractionKind::Event => (
            SignedDuration::from_secs(rules.event_window_secs),
            rules.quota_after_event,
        ),
    };
    let until = at + window;
    if now >= until {
        let reason = match kind {
            InteractionKind::Message => format!(
                "粉丝最后一次发消息已超过 {} 小时,微信不允许再发送客服消息,需等粉丝再次发消息",
                rules.window_hours
            ),
            InteractionKind::Event => format!(
                "粉丝点击菜单、关注或扫码后的 {} 秒回复时限已过,需等粉丝再次互动",
                rules.event_window_secs
            ),
        };
        return Budget {
            allowed: false,
            remaining: 0,
            until: Some(until),
            reason: Some(reason),
        };
    }
    let remaining = (quota - sent_since).max(0);
    if remaining == 0 {
        return Budget {
            allowed: false,
            remaining: 0,
            until: Some(until),
            reason: Some(format!(
                "本次互动后的 {quota} 条客服消息额度已用完,粉丝再次发消息后恢复"
            )),
        };
    }
    Budget {
        allowed: true,
        remaining,
        until: Some(until),
        reason: None,
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
        let msg = Some((at, InteractionKind::Message));
        let evt = Some((at, InteractionKind::Event));
        // (last interaction, sent since, now, allowed, remaining)
        let cases = [
            (None, 0, at, false, 0),
            (msg, 0, at, true, 5),
            (msg, 4, t("2026-05-03T07:59:59Z"), true, 1),
            (msg, 5, at, false, 0),
            (msg, 0, t("2026-05-03T08:00:00Z"), false, 0),
            (evt, 0, t("2026-05-01T08:00:59Z"), true, 3),
            (evt, 3, t("2026-05-01T08:00:10Z"), false, 0),
            (evt, 0, t("2026-05-01T08:01:00Z"), false, 0),
        ];
        for (i, (last, sent, now, allowed, remaining)) in cases.into_iter().enumerate() {
            let b = budget(&r, last, sent, now);
            assert_eq!(
                (b.allowed, b.remaining),
                (allowed, remaining),
                "case {i}: {b:?}"
            );
            assert_eq!(b.reason.is_none(), allowed, "case {i}: a refusal says why");
        }
        let b = budget(&r, msg, 0, at);
        assert_eq!(b.until, Some(t("2026-05-03T08:00:00Z")));
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
        assert_eq!(
            budget(&r, Some((at, InteractionKind::Message)), 5, at).remaining,
            15
        );
        assert!(
            !budget(
                &r,
                Some((at, InteractionKind::Event)),
                0,
                t("2026-05-01T08:00:31Z")
            )
            .allowed
        );
    }
}
