//! What a queued follower is told, and how often (B5, B6). Every notice is a
//! customer-service message, and WeChat allows only a few after each message
//! of the follower (5 within 48 h by default) — the agent who picks up needs
//! them more. The rule (see docs/architecture.md):
//!
//! - on entering the queue: one notice with the position;
//! - when the queue moves: an update only if the follower moved up, the last
//!   notice is at least [`UPDATE_EVERY`] old, fewer than [`MAX_NOTICES`] were
//!   sent in this stay, and at least [`RESERVE`] + 1 messages are left;
//! - when the follower writes while queued: a comfort reply at most once per
//!   the group's `comfort_every_mins` (the follower's message restored the
//!   budget, so this costs nothing the agent would have had), with the position.

use jiff::{SignedDuration, Timestamp};

/// Unsolicited updates are at least this far apart.
pub const UPDATE_EVERY: SignedDuration = SignedDuration::from_mins(5);
/// At most this many unsolicited notices (the first included) per queue stay.
pub const MAX_NOTICES: i64 = 3;
/// Messages left for the agent who accepts.
pub const RESERVE: i64 = 2;

/// The notice stored for a queued conversation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Notices {
    pub last_at: Option<Timestamp>,
    /// Followers ahead when it was sent.
    pub last_ahead: Option<i64>,
    pub sent: i64,
}

/// Should the follower be told their new place (`ahead` followers in front)?
pub fn update_due(n: &Notices, ahead: i64, budget_left: i64, now: Timestamp) -> bool {
    let moved_up = n.last_ahead.is_some_and(|a| ahead < a);
    let old_enough = n.last_at.is_none_or(|t| t + UPDATE_EVERY <= now);
    moved_up && old_enough && n.sent < MAX_NOTICES && budget_left > RESERVE
}

/// Should a queued follower who just wrote get a comfort reply?
pub fn comfort_due(n: &Notices, every: SignedDuration, now: Timestamp) -> bool {
    n.last_at.is_none_or(|t| t + every <= now)
}

pub fn entered_text(ahead: i64) -> String {
    if ahead == 0 {
        "已为您转接人工客服，您是下一位，请稍候。回复“放弃排队”可退出排队。".into()
    } else {
        format!("已为您转接人工客服，您前面还有 {ahead} 位，请稍候。回复“放弃排队”可退出排队。")
    }
}

/// When no agent is online and some are away (离开, B9).
pub fn away_text(ahead: i64) -> String {
    if ahead == 0 {
        "客服暂时离开，您的消息已收到，客服回来后会第一时间为您服务。回复“放弃排队”可退出排队。"
            .into()
    } else {
        format!(
            "客服暂时离开，您前面还有 {ahead} 位，客服回来后会尽快为您服务。回复“放弃排队”可退出排队。"
        )
    }
}

pub fn moved_text(ahead: i64) -> String {
    if ahead == 0 {
        "排队进度：您是下一位，客服马上为您服务。".into()
    } else {
        format!("排队进度：您前面还有 {ahead} 位，请稍候。")
    }
}

pub fn comfort_text(ahead: i64) -> String {
    if ahead == 0 {
        "客服正在忙，您是下一位，请稍候，您的消息客服都能看到。".into()
    } else {
        format!("客服正在忙，您前面还有 {ahead} 位，请稍候，您的消息客服都能看到。")
    }
}

pub const LEFT_TEXT: &str = "您已退出排队。如需人工服务，请再次发送消息。";

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> Timestamp {
        "2026-05-01T08:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(min)
    }

    #[test]
    fn updates_are_rare_and_keep_replies_for_the_agent() {
        let sent_at_0 = Notices {
            last_at: Some(t(0)),
            last_ahead: Some(4),
            sent: 1,
        };
        // (notices, ahead now, budget left, now, due)
        let cases = [
            (sent_at_0, 3, 4, t(5), true),
            (sent_at_0, 3, 4, t(4), false),  // too soon
            (sent_at_0, 4, 4, t(10), false), // did not move
            (sent_at_0, 5, 4, t(10), false), // moved back (VIP ahead)
            (sent_at_0, 3, 2, t(10), false), // keep 2 for the agent
            (sent_at_0, 3, 3, t(10), true),
            (
                Notices {
                    sent: 3,
                    ..sent_at_0
                },
                0,
                4,
                t(30),
                false,
            ), // enough said
            (Notices::default(), 0, 4, t(30), false), // never told: the entry notice does that
        ];
        for (i, (n, ahead, left, now, due)) in cases.into_iter().enumerate() {
            assert_eq!(update_due(&n, ahead, left, now), due, "case {i}");
        }
    }

    #[test]
    fn comfort_at_most_once_per_period() {
        let every = SignedDuration::from_mins(3);
        let n = Notices {
            last_at: Some(t(0)),
            last_ahead: Some(1),
            sent: 1,
        };
        assert!(!comfort_due(&n, every, t(2)));
        assert!(comfort_due(&n, every, t(3)));
        assert!(comfort_due(&Notices::default(), every, t(0)));
    }

    #[test]
    fn texts_say_the_place() {
        assert!(entered_text(2).contains("您前面还有 2 位"));
        assert!(entered_text(0).contains("下一位"));
        assert!(moved_text(1).contains("1 位"));
        assert!(comfort_text(3).contains("3 位"));
        assert!(away_text(0).contains("暂时离开"));
        assert!(away_text(2).contains("2 位"));
    }
}
