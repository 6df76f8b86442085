//! What kefu answers by itself (issue 5), as decisions over loaded inputs:
//! the passive reply to a push (follow, menu click, keyword, welcome,
//! off-hours and holiday replies, the queue place), the greeting when an
//! agent picks up — 接入语 —, the satisfaction survey (B13) and the timeouts of
//! both sides (C8). The FAQ menu is `engine::tree`'s. Functions here only say *what* to send or do; they read
//! and write nothing. `desk` loads their inputs, asks, and writes the result
//! (through the outbox and within the reply budget).

use crate::db::automation::{AutoReplies, GreetingBudget, Timeouts};
use crate::engine::queue;
use crate::engine::timeplan;
use crate::i18n::Msg;
use crate::model::{AgentStatus, TimeoutKind};
use crate::wechat::budget::Budget;
use jiff::{SignedDuration, Timestamp};

// ------------------------------------------------------------------ passive replies

/// The passive reply made of these texts (blank ones left out), if any.
pub fn passive_text(texts: &[String]) -> Option<String> {
    let text = texts
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    (!text.is_empty()).then_some(text)
}

/// What a new conversation is told first, per the time plan: the welcome in
/// work hours, the off-hours or holiday reply otherwise, each with the FAQ
/// list when set. Returns the texts and whether it is work hours.
pub fn opening(
    replies: &AutoReplies,
    plan: timeplan::Status,
    faq_list: Option<String>,
) -> (Vec<String>, bool) {
    let mut texts = vec![];
    let in_hours = match plan {
        timeplan::Status::Open => {
            texts.push(replies.welcome.clone());
            if replies.welcome_faq {
                texts.extend(faq_list);
            }
            true
        }
        timeplan::Status::Closed => {
            texts.push(replies.offhours.clone());
            if replies.offhours_faq {
                texts.extend(faq_list);
            }
            false
        }
        timeplan::Status::Holiday { reply, .. } => {
            texts.push(if reply.trim().is_empty() {
                replies.offhours.clone()
            } else {
                reply
            });
            if replies.offhours_faq {
                texts.extend(faq_list);
            }
            false
        }
    };
    (texts, in_hours)
}

/// A follower who just queued with `ahead` before them: their place — and,
/// when nobody is online but someone is only away — 离开 —, that honestly (B9).
pub fn queue_place(replies: &AutoReplies, statuses: &[AgentStatus], ahead: i64) -> String {
    if !statuses.contains(&AgentStatus::Online) && statuses.contains(&AgentStatus::Away) {
        if replies.away.trim().is_empty() {
            queue::away_text(ahead)
        } else {
            format!("{}\n{}", replies.away.trim(), queue::moved_text(ahead))
        }
    } else {
        queue::entered_text(ahead)
    }
}

/// The holder's own auto reply — 工号自动回复 — (C7) to a message in session:
/// when they are not online, have one, and it was not sent in the last 10 minutes.
pub fn away_reply(
    status: AgentStatus,
    own: String,
    last: Option<Timestamp>,
    now: Timestamp,
) -> Option<String> {
    (status != AgentStatus::Online
        && !own.trim().is_empty()
        && last.is_none_or(|t| t + SignedDuration::from_mins(10) <= now))
    .then_some(own)
}

/// The greeting — 接入语 — (C7) when the agent named `agent` picks up; `None` when off.
pub fn greeting(replies: &AutoReplies, agent: &str) -> Option<String> {
    (!replies.greeting.trim().is_empty()).then(|| replies.greeting_for(agent))
}

/// Why an agent picks a conversation up, as far as the greeting cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickUp {
    /// Out of the group's queue, by hand or by routing; a conversation sent to
    /// another group's queue is picked up this way there.
    Queue,
    /// Handed over by another agent of the same group (accepted or automatic).
    InGroupTransfer,
}

/// What to do with the greeting when an agent picks up, outside a passive reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GreetingPlan {
    /// Send this text through the outbox (one reply of the budget).
    Send(String),
    /// Nothing to send and nothing to say: off, or not on this occasion.
    Quiet,
    /// Not sent for the budget's sake; the reason goes into the chat as a note.
    Skip(Msg),
}

/// The greeting when the agent named `agent` picks up the conversation, given
/// the follower's reply budget now (issue 13): the settings say whether it may
/// spend a reply at all (`GreetingBudget`), and whether a transfer inside the
/// group greets again (by default not: the follower was greeted already).
pub fn greeting_plan(
    replies: &AutoReplies,
    agent: &str,
    pick: PickUp,
    budget: &Budget,
) -> GreetingPlan {
    let Some(text) = greeting(replies, agent) else {
        return GreetingPlan::Quiet;
    };
    if pick == PickUp::InGroupTransfer && !replies.greeting_on_transfer {
        return GreetingPlan::Quiet;
    }
    match replies.greeting_budget {
        GreetingBudget::Never => GreetingPlan::Quiet,
        _ if !budget.allowed || budget.remaining < 1 => GreetingPlan::Skip(
            budget
                .reason
                .clone()
                .unwrap_or_else(|| Msg::new("budget-spent")),
        ),
        GreetingBudget::KeepOne if budget.remaining < 2 => {
            GreetingPlan::Skip(Msg::new("greeting-kept-for-agent").number("left", budget.remaining))
        }
        _ => GreetingPlan::Send(text),
    }
}

/// The note that says why an automatic message was not sent: `what` is the
/// catalogue key of its name — 接入语、安抚语 … — drawn when the note is read.
pub fn skip_note(what: &'static str, why: Msg) -> Msg {
    Msg::new("note-auto-not-sent")
        .msg("what", Msg::new(what))
        .msg("why", why)
}

// ------------------------------------------------------------------ survey (B13)

/// What a follower can answer to the survey.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub score: Option<i64>,
    pub solved: Option<bool>,
}

/// "5", "５", "5 非常满意", "5分" → score 5; "已解决" / "解决了" → solved;
/// "未解决" / "没解决" / "没有解决" → not solved. Anything else: not an answer.
pub fn parse_answer(text: &str) -> Option<Answer> {
    let t = text.trim();
    let first = t.chars().next()?;
    let digit = match first {
        '1'..='5' => Some(first as i64 - '0' as i64),
        '１'..='５' => Some(first as i64 - '１' as i64 + 1),
        _ => None,
    };
    if let Some(score) = digit {
        let rest: String = t.chars().skip(1).collect();
        // "5" alone or followed by words, not "56" or "5月".
        let rest = rest.trim_start();
        let ok = rest.is_empty()
            || rest.starts_with('分')
            || rest.starts_with("非常")
            || rest.starts_with("满意")
            || rest.starts_with("一般")
            || rest.starts_with("不满意");
        return ok.then_some(Answer {
            score: Some(score),
            solved: None,
        });
    }
    let negative = ["未解决", "没解决", "没有解决", "还没解决"];
    if negative.iter().any(|n| t.starts_with(n)) {
        return Some(Answer {
            score: None,
            solved: Some(false),
        });
    }
    if t.starts_with("已解决") || t.starts_with("解决了") {
        return Some(Answer {
            score: None,
            solved: Some(true),
        });
    }
    None
}

pub const SURVEY_FALLBACK: &str =
    "请为本次服务评分：回复 1-5（5 为非常满意）。问题是否已解决？请回复“已解决”或“未解决”。";

pub fn survey_payload() -> crate::db::outbox::Menu {
    let item = |id: &str, content: &str| crate::db::outbox::MenuItem {
        id: id.into(),
        content: content.into(),
    };
    crate::db::outbox::Menu {
        head: "请为本次服务评分：".into(),
        items: vec![
            item("kefu_s5", "5 非常满意"),
            item("kefu_s4", "4 满意"),
            item("kefu_s3", "3 一般"),
            item("kefu_s2", "2 不满意"),
            item("kefu_s1", "1 非常不满意"),
        ],
        tail: "问题是否已解决？请回复“已解决”或“未解决”。也可直接回复 1-5 评分。".into(),
        fallback: SURVEY_FALLBACK.into(),
    }
}

/// What kefu says to a survey answer.
pub fn thanks(answer: Answer) -> &'static str {
    match (answer.score, answer.solved) {
        (Some(_), _) => "感谢您的评价！问题是否已解决？可回复“已解决”或“未解决”。",
        (None, Some(true)) => "感谢您的反馈，很高兴问题已解决！",
        (None, _) => "抱歉问题还没有解决，请直接发送消息，我们会继续为您处理。",
    }
}

/// How long after it was sent a survey can still be answered.
pub const ANSWER_WITHIN: SignedDuration = SignedDuration::from_hours(48);

/// The survey as shown in the chat and history, from its stored row.
pub fn describe_survey(
    (state, reason, score, solved): &(String, String, Option<i64>, Option<bool>),
) -> String {
    match state.as_str() {
        "not_sent" => crate::t1("survey-not-sent", "reason", crate::i18n::shown(reason)),
        "sent" => crate::t("survey-sent"),
        _ => {
            let s = score.map_or_else(
                || crate::t("survey-no-score"),
                |s| crate::t1("survey-score", "n", s),
            );
            let v = crate::t(match solved {
                Some(true) => "survey-solved",
                Some(false) => "survey-unsolved",
                None => "survey-solved-unknown",
            });
            crate::t2("survey-summary", "score", s, "solved", v)
        }
    }
}

// ------------------------------------------------------------------ timeouts (C8)

/// Who spoke when in a conversation in session (times in ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Silence {
    /// When the agent accepted it (or it opened).
    pub accepted: i64,
    /// The follower's last message.
    pub last_in: Option<i64>,
    /// The agent's last message.
    pub last_agent: Option<i64>,
}

fn due(anchor: i64, after: SignedDuration, now: Timestamp) -> bool {
    crate::db::ts(anchor) + after <= now
}

/// The timeout actions due now, in the order they are taken, each with the
/// time its silence began (`anchor`): an action is done once per anchor, so
/// one whose silence ended (the other side spoke) never fires.
pub fn timeouts_due(t: &Timeouts, s: Silence, now: Timestamp) -> Vec<(TimeoutKind, i64)> {
    let mut due_now = vec![];
    let mut check = |after: Option<SignedDuration>, kind: TimeoutKind, anchor: i64| {
        if after.is_some_and(|a| due(anchor, a, now)) {
            due_now.push((kind, anchor));
        }
    };
    // 接待超时 — accepted, and the agent has not said a word since.
    if s.last_agent.is_none_or(|a| a < s.accepted) {
        check(
            t.reception_mins.map(SignedDuration::from_mins),
            TimeoutKind::Reception,
            s.accepted,
        );
    }
    match (s.last_in, s.last_agent) {
        // The follower spoke last: the agent is silent.
        (Some(lin), la) if la.is_none_or(|a| a < lin) => {
            check(
                t.agent_remind_secs.map(SignedDuration::from_secs),
                TimeoutKind::AgentRemind,
                lin,
            );
            check(
                t.agent_comfort_mins.map(SignedDuration::from_mins),
                TimeoutKind::AgentComfort,
                lin,
            );
            check(
                t.agent_transfer_mins.map(SignedDuration::from_mins),
                TimeoutKind::AgentTransfer,
                lin,
            );
        }
        // The agent spoke last: the follower is silent.
        (li, Some(lout)) if li.is_none_or(|i| i <= lout) => {
            check(
                t.follower_prompt_mins.map(SignedDuration::from_mins),
                TimeoutKind::FollowerPrompt,
                lout,
            );
            check(
                t.follower_close_mins.map(SignedDuration::from_mins),
                TimeoutKind::FollowerClose,
                lout,
            );
        }
        _ => {}
    }
    due_now
}

/// The automatic text a timeout sends, and what it is called in a skip note.
pub fn timeout_text(replies: &AutoReplies, kind: TimeoutKind) -> Option<(&'static str, &str)> {
    match kind {
        TimeoutKind::AgentComfort => Some(("auto-name-comfort", &replies.agent_comfort)),
        TimeoutKind::FollowerPrompt => Some(("auto-name-prompt", &replies.follower_prompt)),
        TimeoutKind::FollowerClose => Some(("auto-name-closing", &replies.closing)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survey_answers_are_recognised_and_nothing_else() {
        let s = |n| {
            Some(Answer {
                score: Some(n),
                solved: None,
            })
        };
        assert_eq!(parse_answer("5"), s(5));
        assert_eq!(parse_answer(" ５ "), s(5));
        assert_eq!(parse_answer("4 满意"), s(4));
        assert_eq!(parse_answer("1分"), s(1));
        assert_eq!(
            parse_answer("已解决"),
            Some(Answer {
                score: None,
                solved: Some(true)
            })
        );
        assert_eq!(
            parse_answer("还没解决呢"),
            Some(Answer {
                score: None,
                solved: Some(false)
            })
        );
        for no in ["", "6", "56", "5月3号到货吗", "0", "好的", "解决方法是什么"] {
            assert_eq!(parse_answer(no), None, "{no:?}");
        }
    }

    #[test]
    fn timeouts_fall_due_in_order_and_only_for_the_silent_side() {
        let t0: Timestamp = "2026-05-01T02:00:00Z".parse().unwrap();
        let at = |mins: i64| crate::db::ms(t0 + SignedDuration::from_mins(mins));
        let t = Timeouts {
            reception_mins: Some(5),
            agent_remind_secs: Some(60),
            agent_comfort_mins: Some(2),
            agent_transfer_mins: Some(3),
            follower_prompt_mins: Some(2),
            follower_close_mins: Some(4),
        };
        // Accepted at 0, the follower wrote at 1, the agent never: at 10
        // everything on the agent's side is due, reception first.
        let agent_silent = Silence {
            accepted: at(0),
            last_in: Some(at(1)),
            last_agent: None,
        };
        let now = t0 + SignedDuration::from_mins(10);
        assert_eq!(
            timeouts_due(&t, agent_silent, now),
            [
                (TimeoutKind::Reception, at(0)),
                (TimeoutKind::AgentRemind, at(1)),
                (TimeoutKind::AgentComfort, at(1)),
                (TimeoutKind::AgentTransfer, at(1)),
            ]
        );
        // Just after the follower wrote, only the reminder (after a minute).
        let early = t0 + SignedDuration::from_secs(121);
        assert_eq!(
            timeouts_due(&t, agent_silent, early),
            [(TimeoutKind::AgentRemind, at(1))]
        );
        // The agent answered at 2: now the follower is the silent one.
        let follower_silent = Silence {
            last_agent: Some(at(2)),
            ..agent_silent
        };
        assert_eq!(
            timeouts_due(&t, follower_silent, t0 + SignedDuration::from_mins(5)),
            [(TimeoutKind::FollowerPrompt, at(2))]
        );
        assert_eq!(
            timeouts_due(&t, follower_silent, now),
            [
                (TimeoutKind::FollowerPrompt, at(2)),
                (TimeoutKind::FollowerClose, at(2)),
            ]
        );
        assert!(timeouts_due(&Timeouts::default(), agent_silent, now).is_empty());
    }

    #[test]
    fn the_opening_follows_the_time_plan_and_the_greeting_names_the_agent() {
        let r = AutoReplies::default();
        let faq = Some("常见问题".to_string());
        let (texts, open) = opening(&r, timeplan::Status::Open, faq.clone());
        assert!(open && texts[0] == r.welcome);
        let holiday = timeplan::Status::Holiday {
            name: "国庆".into(),
            reply: "国庆放假".into(),
        };
        let (texts, open) = opening(&r, holiday, faq);
        assert!(!open && texts[0] == "国庆放假");
        let g = AutoReplies {
            greeting: "我是{客服}".into(),
            ..AutoReplies::default()
        };
        assert_eq!(greeting(&g, "小美").as_deref(), Some("我是小美"));
        let en = AutoReplies {
            greeting: "I am {agent}".into(),
            ..AutoReplies::default()
        };
        assert_eq!(greeting(&en, "May").as_deref(), Some("I am May"));
        let off = AutoReplies {
            greeting: "  ".into(),
            ..AutoReplies::default()
        };
        assert_eq!(greeting(&off, "小美"), None);
        assert_eq!(
            passive_text(&[" a ".into(), "".into(), "b".into()]).as_deref(),
            Some("a\n\nb")
        );
        assert_eq!(passive_text(&["  ".into()]), None);
    }

    #[test]
    fn the_greeting_spends_the_budget_only_as_the_settings_allow() {
        let left = |n: i64| Budget {
            allowed: n > 0,
            remaining: n,
            until: None,
            reason: (n == 0).then(|| Msg::new("budget-never-interacted")),
            charge: None,
        };
        let with = |mode: GreetingBudget, on_transfer: bool| AutoReplies {
            greeting: "我是{客服}".into(),
            greeting_budget: mode,
            greeting_on_transfer: on_transfer,
            ..AutoReplies::default()
        };
        let plan = |r: &AutoReplies, pick, n| greeting_plan(r, "小美", pick, &left(n));
        let send = GreetingPlan::Send("我是小美".into());
        // Keep one (the default): sent while 2 are left, skipped with a reason at 1.
        let keep = with(GreetingBudget::KeepOne, false);
        assert_eq!(
            AutoReplies::default().greeting_budget,
            GreetingBudget::KeepOne
        );
        assert_eq!(plan(&keep, PickUp::Queue, 2), send);
        assert!(
            matches!(plan(&keep, PickUp::Queue, 1), GreetingPlan::Skip(w) if w.now().contains("留给客服"))
        );
        // Always: the last reply too, but never past the budget.
        let always = with(GreetingBudget::Always, false);
        assert_eq!(plan(&always, PickUp::Queue, 1), send);
        assert_eq!(
            plan(&always, PickUp::Queue, 0),
            GreetingPlan::Skip(Msg::new("budget-never-interacted"))
        );
        // Never: not through the budget at all, and no note.
        let never = with(GreetingBudget::Never, true);
        assert_eq!(plan(&never, PickUp::Queue, 5), GreetingPlan::Quiet);
        // A transfer inside the group greets again only when asked to.
        assert_eq!(
            plan(&always, PickUp::InGroupTransfer, 5),
            GreetingPlan::Quiet
        );
        let again = with(GreetingBudget::Always, true);
        assert_eq!(plan(&again, PickUp::InGroupTransfer, 5), send);
        // No text: off.
        let off = AutoReplies {
            greeting: " ".into(),
            greeting_budget: GreetingBudget::Always,
            ..AutoReplies::default()
        };
        assert_eq!(plan(&off, PickUp::Queue, 5), GreetingPlan::Quiet);
    }
}
