//! The desk's storage-level scenarios: a follower's push, routing, replies
//! within the budget, the sweeper.

use super::*;
use crate::db::users::tests::seed_user;
use crate::db::{self, conversations, settings};
use crate::db::{accounts::tests::seed_account, groups::tests::seed_group, memory};
use crate::engine::queue;
use crate::model::{AgentStatus, ConversationState, FollowerId, GroupId, Role, User};
use crate::wechat::ingest;
use crate::wechat::xml::{Inbound, InboundKind};
use jiff::{SignedDuration, Timestamp};
use rusqlite::Connection;

struct World {
    c: Connection,
    account: db::accounts::Account,
    group: GroupId,
    t0: Timestamp,
}

fn world() -> World {
    let c = memory().unwrap();
    let acc = seed_account(&c, "wx1");
    let group = seed_group(&c, "售后", "after");
    db::accounts::set_groups(&c, acc, &[group]).unwrap();
    let account = db::accounts::get(&c, acc).unwrap().unwrap();
    World {
        c,
        account,
        group,
        t0: "2026-05-01T02:00:00Z".parse().unwrap(),
    }
}

impl World {
    fn at(&self, mins: i64) -> Timestamp {
        self.t0 + SignedDuration::from_mins(mins)
    }
    fn agent(&self, name: &str) -> User {
        let id = seed_user(&self.c, name, Role::Agent);
        db::users::set_groups(&self.c, id, &[self.group]).unwrap();
        db::users::get(&self.c, id).unwrap().unwrap()
    }
    /// The follower writes `text` at `now`; returns the desk's answer and the follower.
    fn says(&self, openid: &str, text: &str, msg_id: i64, now: Timestamp) -> (Out, FollowerId) {
        let m = Inbound {
            to_user: "gh_test".into(),
            from_user: openid.into(),
            create_time: now.as_second(),
            msg_id: Some(msg_id),
            kind: InboundKind::Text {
                content: text.into(),
            },
        };
        let stored = ingest::store(&self.c, &self.account, &m, "<xml/>", now).unwrap();
        let out = on_inbound(&self.c, self.account.id, &m, &stored, now).unwrap();
        (out, stored.follower)
    }
    fn open(&self, f: FollowerId) -> conversations::Conversation {
        conversations::open_of(&self.c, f).unwrap().unwrap()
    }
    fn pending_texts(&self, f: FollowerId) -> Vec<String> {
        db::outbox::tests::payloads(&self.c, f)
            .into_iter()
            .map(|v| v["content"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

#[test]
fn a_message_queues_then_routes_when_an_agent_can_receive() {
    let w = world();
    let amy = w.agent("amy");
    let (out, f) = w.says("oA", "在吗", 1, w.at(0));
    // Told their place in the webhook's answer: no quota, no outbox.
    let passive = out.passive.clone().expect("a passive reply");
    assert!(
        passive.contains("欢迎咨询") && passive.contains("下一位"),
        "{passive}"
    );
    assert!(!out.outbox && w.pending_texts(f).is_empty());
    assert!(out.events.contains(&Live::Lists { group: w.group }));
    let conv = w.open(f);
    assert_eq!(
        (conv.state, conv.group_id),
        (ConversationState::Queued, w.group)
    );

    // Online without auto-accept: still queued (accepts by hand).
    set_status(&w.c, amy.id, AgentStatus::Online, Some(None), w.at(1)).unwrap();
    assert_eq!(w.open(f).state, ConversationState::Queued);
    // With a limit: routed to her.
    let out = set_status(&w.c, amy.id, AgentStatus::Online, Some(Some(10)), w.at(2)).unwrap();
    let conv = w.open(f);
    assert_eq!(
        (conv.state, conv.agent_id),
        (ConversationState::Active, Some(amy.id))
    );
    assert!(out.events.contains(&Live::Toast {
        user: amy.id,
        text: crate::i18n::Msg::new("toast-assigned")
    }));
    let steps: Vec<String> = conversations::events(&w.c, conv.id)
        .unwrap()
        .into_iter()
        .map(|e| e.step)
        .collect();
    assert_eq!(steps, ["open", "route"]);
    // Picked up: the greeting — 接入语 — goes out through the outbox.
    assert!(
        w.pending_texts(f)[0].contains("很高兴为您服务"),
        "{:?}",
        w.pending_texts(f)
    );
    // The next message joins the same conversation, nothing automatic.
    let (out, _) = w.says("oA", "我的订单", 2, w.at(3));
    assert_eq!(w.open(f).id, conv.id);
    assert_eq!((out.passive, w.pending_texts(f).len()), (None, 1));
}

#[test]
fn replies_are_refused_when_wechat_would_refuse_them() {
    let w = world();
    let amy = w.agent("amy");
    let (_, f) = w.says("oB", "你好", 1, w.at(0));
    let id = w.open(f).id;
    accept(&w.c, &amy, &[id], w.at(1)).unwrap();
    // The queue notice took one of the 5; four more are allowed.
    for i in 0..4 {
        reply(&w.c, &amy, id, &format!("回复{i}"), w.at(2)).unwrap();
    }
    match reply(&w.c, &amy, id, "第六条", w.at(2)) {
        Err(DeskError::Refused(why)) => assert!(why.contains("额度"), "{why}"),
        other => panic!("{other:?}"),
    }
    // A new message from the follower restores the budget …
    w.says("oB", "还在吗", 2, w.at(10));
    db::followers::count_sent(&w.c, f, crate::model::InteractionKind::Message).unwrap();
    db::outbox::tests::all_sent(&w.c);
    assert!(reply(&w.c, &amy, id, "在的", w.at(11)).is_ok());
    // … for 48 hours.
    match reply(&w.c, &amy, id, "两天后", w.at(10 + 48 * 60 + 1)) {
        Err(DeskError::Refused(why)) => assert!(why.contains("48 小时"), "{why}"),
        other => panic!("{other:?}"),
    }
    // And an empty text is refused before anything else.
    assert!(matches!(
        reply(&w.c, &amy, id, "   ", w.at(12)),
        Err(DeskError::Refused(_))
    ));
}

#[test]
fn the_sweeper_acts_once_on_transfers_and_queue_expiry() {
    let w = world();
    let (amy, bob) = (w.agent("amy"), w.agent("bob"));
    set_status(&w.c, bob.id, AgentStatus::Online, None, w.at(0)).unwrap();
    let (_, f) = w.says("oC", "你好", 1, w.at(0));
    let id = w.open(f).id;
    accept(&w.c, &amy, &[id], w.at(0)).unwrap();
    transfer_to_agent(&w.c, &amy, id, bob.id, "请跟进", w.at(1)).unwrap();
    assert!(sweep(&w.c, w.at(1)).unwrap().events.is_empty(), "not yet");
    let t = w.at(1) + SignedDuration::from_secs(60);
    let out = sweep(&w.c, t).unwrap();
    assert!(out.events.contains(&Live::Toast {
        user: amy.id,
        text: crate::i18n::Msg::new("toast-transfer-expired")
    }));
    assert!(sweep(&w.c, t).unwrap().events.is_empty(), "once");
    assert_eq!(w.open(f).agent_id, Some(amy.id));

    // A follower queued for 24 hours expires, once, with the reason.
    let (_, g) = w.says("oD", "有人吗", 2, w.at(0));
    let qid = w.open(g).id;
    let day = w.at(24 * 60);
    assert!(
        !sweep(&w.c, day - SignedDuration::from_secs(1))
            .unwrap()
            .events
            .iter()
            .any(|e| matches!(e, Live::Conversation { id, .. } if *id == qid))
    );
    sweep(&w.c, day).unwrap();
    let ev = conversations::events(&w.c, qid).unwrap();
    let last = ev.last().unwrap();
    assert_eq!(last.step, "expire");
    assert_eq!(
        crate::i18n::shown_in(crate::i18n::Lang::Zh, &last.note),
        "排队超过 24 小时"
    );
    assert_eq!(
        crate::i18n::shown_in(crate::i18n::Lang::En, &last.note),
        "Queued for over 24 h"
    );
    sweep(&w.c, day).unwrap();
    assert_eq!(conversations::events(&w.c, qid).unwrap().len(), ev.len());
}

#[test]
fn an_agent_offline_too_long_gives_conversations_back_when_the_group_says_so() {
    let w = world();
    let amy = w.agent("amy");
    let (_, f) = w.says("oF", "你好", 1, w.at(0));
    let id = w.open(f).id;
    accept(&w.c, &amy, &[id], w.at(0)).unwrap();
    set_status(&w.c, amy.id, AgentStatus::Offline, None, w.at(1)).unwrap();
    // Default: the conversation stays hers however long she is away.
    sweep(&w.c, w.at(600)).unwrap();
    assert_eq!(w.open(f).agent_id, Some(amy.id));
    let s = settings::GroupSettings {
        requeue_after_mins: Some(10),
        ..Default::default()
    };
    settings::set_group(&w.c, w.group, &s).unwrap();
    set_status(&w.c, amy.id, AgentStatus::Offline, None, w.at(700)).unwrap();
    sweep(&w.c, w.at(709)).unwrap();
    assert_eq!(w.open(f).state, ConversationState::Active, "not yet");
    sweep(&w.c, w.at(710)).unwrap();
    let conv = w.open(f);
    assert_eq!(
        (conv.state, conv.agent_id),
        (ConversationState::Queued, None)
    );
    let last = conversations::events(&w.c, id).unwrap().pop().unwrap();
    assert_eq!(
        crate::i18n::shown_in(crate::i18n::Lang::Zh, &last.note),
        "客服离线超过 10 分钟，会话回到排队"
    );
    assert_eq!(
        crate::i18n::shown_in(crate::i18n::Lang::En, &last.note),
        "The agent was offline for over 10 min: back to the queue"
    );
}

#[test]
fn an_away_team_says_so_and_the_queue_can_be_left() {
    let w = world();
    let amy = w.agent("amy");
    set_status(&w.c, amy.id, AgentStatus::Away, None, w.at(0)).unwrap();
    let (out, f) = w.says("oE", "你好", 1, w.at(0));
    assert!(out.passive.unwrap().contains("客服暂时离开"));
    let (out, _) = w.says("oE", "放弃排队", 2, w.at(1));
    assert!(conversations::open_of(&w.c, f).unwrap().is_none());
    assert_eq!(out.passive.as_deref(), Some(queue::LEFT_TEXT));
}

impl World {
    fn greeting_settings(&self, mode: crate::db::automation::GreetingBudget, on_transfer: bool) {
        let r = crate::db::automation::AutoReplies {
            greeting: "我是{客服}".into(),
            greeting_budget: mode,
            greeting_on_transfer: on_transfer,
            ..Default::default()
        };
        db::automation::set_auto_replies(&self.c, self.account.id, &r).unwrap();
    }
    fn greetings(&self, f: FollowerId) -> Vec<String> {
        self.pending_texts(f)
            .into_iter()
            .filter(|t| t.starts_with("我是"))
            .collect()
    }
    /// Ten seconds after minute `mins`: inside a transfer's time to answer.
    fn soon(&self, mins: i64) -> Timestamp {
        self.at(mins) + SignedDuration::from_secs(10)
    }
    fn notes(&self, f: FollowerId) -> Vec<String> {
        db::console::notes(&self.c, f)
            .unwrap()
            .into_iter()
            .map(|n| n.body)
            .collect()
    }
}

/// Issue 13: the greeting leaves the agent a reply by default and says so
/// when it stays unsent.
#[test]
fn the_greeting_keeps_a_reply_for_the_agent_when_the_budget_runs_low() {
    use crate::db::automation::GreetingBudget;
    let w = world();
    let (amy, bob) = (w.agent("amy"), w.agent("bob"));
    w.greeting_settings(GreetingBudget::KeepOne, true);
    let (_, f) = w.says("oG", "你好", 1, w.at(0));
    let id = w.open(f).id;
    accept(&w.c, &amy, &[id], w.at(1)).unwrap();
    assert_eq!(w.greetings(f), ["我是amy"]);
    // Amy spends the budget down to the last reply.
    while budget_of(&w.c, f, w.at(2)).unwrap().remaining > 1 {
        reply(&w.c, &amy, id, "好的", w.at(2)).unwrap();
    }
    set_status(&w.c, bob.id, AgentStatus::Online, None, w.at(2)).unwrap();
    transfer_to_agent(&w.c, &amy, id, bob.id, "", w.at(2)).unwrap();
    let (t, ..) = pending_transfer(&w.c, id).unwrap().unwrap();
    answer_transfer(&w.c, &bob, t, true, w.soon(2)).unwrap();
    assert_eq!(w.open(f).agent_id, Some(bob.id));
    // Not sent: the last reply is Bob's; the chat says why.
    assert_eq!(w.greetings(f), ["我是amy"]);
    assert_eq!(budget_of(&w.c, f, w.at(3)).unwrap().remaining, 1);
    assert!(
        w.notes(f)
            .iter()
            .any(|n| n.starts_with("接入语未发送") && n.contains("留给客服")),
        "{:?}",
        w.notes(f)
    );
    // "Always" would have spent it; once it is spent, nothing is sent in any mode.
    w.greeting_settings(GreetingBudget::Always, true);
    set_status(&w.c, amy.id, AgentStatus::Online, None, w.at(4)).unwrap();
    transfer_to_agent(&w.c, &bob, id, amy.id, "", w.at(4)).unwrap();
    let (t, ..) = pending_transfer(&w.c, id).unwrap().unwrap();
    answer_transfer(&w.c, &amy, t, true, w.soon(4)).unwrap();
    assert_eq!(w.greetings(f), ["我是amy", "我是amy"]);
    assert_eq!(budget_of(&w.c, f, w.at(5)).unwrap().remaining, 0);
    transfer_to_agent(&w.c, &amy, id, bob.id, "", w.at(6)).unwrap();
    let (t, ..) = pending_transfer(&w.c, id).unwrap().unwrap();
    answer_transfer(&w.c, &bob, t, true, w.soon(6)).unwrap();
    assert_eq!(w.greetings(f).len(), 2, "budget spent: not sent");
}

/// Issue 13: a transfer inside the group does not greet again unless asked;
/// one to another group greets there unless the greeting never spends a reply.
#[test]
fn the_greeting_is_not_repeated_inside_the_group() {
    use crate::db::automation::GreetingBudget;
    let w = world();
    let (amy, bob) = (w.agent("amy"), w.agent("bob"));
    let other = crate::db::groups::tests::seed_group(&w.c, "售前", "before");
    db::accounts::set_groups(&w.c, w.account.id, &[w.group, other]).unwrap();
    let carl = w.agent("carl");
    db::users::set_groups(&w.c, carl.id, &[other]).unwrap();
    w.greeting_settings(GreetingBudget::KeepOne, false);
    let (_, f) = w.says("oH", "你好", 1, w.at(0));
    let id = w.open(f).id;
    accept(&w.c, &amy, &[id], w.at(1)).unwrap();
    assert_eq!(w.greetings(f), ["我是amy"]);
    // In the group, by hand and automatically: no second greeting, no note.
    set_status(&w.c, bob.id, AgentStatus::Online, None, w.at(1)).unwrap();
    transfer_to_agent(&w.c, &amy, id, bob.id, "", w.at(2)).unwrap();
    let (t, ..) = pending_transfer(&w.c, id).unwrap().unwrap();
    answer_transfer(&w.c, &bob, t, true, w.soon(2)).unwrap();
    assert_eq!(w.open(f).agent_id, Some(bob.id));
    assert_eq!(w.greetings(f), ["我是amy"]);
    assert!(w.notes(f).is_empty(), "{:?}", w.notes(f));
    // To another group: Carl (online, takes conversations) greets.
    set_status(&w.c, carl.id, AgentStatus::Online, Some(Some(10)), w.at(3)).unwrap();
    transfer_to_group(&w.c, &bob, id, other, "售前问题", w.at(4)).unwrap();
    assert_eq!(w.open(f).agent_id, Some(carl.id));
    assert_eq!(w.greetings(f), ["我是amy", "我是carl"]);

    // With the greeting set never to spend a reply, the other group is quiet too.
    w.greeting_settings(GreetingBudget::Never, true);
    let (_, g) = w.says("oI", "你好", 2, w.at(10));
    let id = w.open(g).id;
    accept(&w.c, &amy, &[id], w.at(11)).unwrap();
    transfer_to_group(&w.c, &amy, id, other, "", w.at(12)).unwrap();
    assert_eq!(w.open(g).agent_id, Some(carl.id));
    assert!(w.greetings(g).is_empty(), "{:?}", w.pending_texts(g));
}
