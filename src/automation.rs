//! What kefu answers by itself (issue 5): passive replies to a push (follow,
//! keyword, FAQ, off-hours and holiday replies, the welcome with the queue
//! place), the greeting when an agent picks up (接入语), the satisfaction
//! survey (B13), and the timeouts of both sides (C8). Everything runs inside
//! the caller's write transaction; customer-service messages go through the
//! outbox and only within the reply budget — when it forbids, the skip is
//! recorded with the reason where the agent sees it.

use crate::db::Cached;
use crate::db::{self, DbResult, conversations, ms, ts};
use crate::desk::{self, Out};
use crate::engine::lifecycle::Step;
use crate::engine::routing::{self, Decision, Rules, Wanted};
use crate::live::Live;
use crate::model::{
    AgentStatus, ConversationId, ConversationState, FollowerId, MessageId, OutboundKind, UserId,
};
use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

// ------------------------------------------------------------------ passive replies

/// Records the passive reply of a push as an outbound message (no outbox row:
/// it travels in the webhook's answer) and puts it in `out`.
pub fn record_passive(
    c: &Connection,
    (account, follower, answers): (crate::model::AccountId, FollowerId, MessageId),
    conv: Option<ConversationId>,
    texts: &[String],
    now: Timestamp,
    out: &mut Out,
) -> DbResult<()> {
    let text = texts
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    if text.is_empty() {
        return Ok(());
    }
    // `answers`: a retry of the same push gets the same reply.
    let data = json!({ "passive": true, "answers": answers.0 });
    let new = db::messages::NewOutbound {
        account,
        follower,
        kind: crate::model::MessageKind::Text,
        content: &text,
        data: &data,
        sender: None,
    };
    let id = db::messages::insert_outbound(c, &new, now)?;
    let audience = match conv {
        Some(conv) => {
            desk::attach(c, id, conv)?;
            crate::access::audience_of_message(c, id)?
        }
        None => crate::access::audience_of_follower(c, follower)?,
    };
    out.push_event(Live::Message { id, audience });
    out.passive = Some(text);
    Ok(())
}

/// Writes why an automatic message was not sent, as an internal note the
/// agents see in the chat.
pub fn note_skip(
    c: &Connection,
    conv: ConversationId,
    what: &str,
    why: &str,
    now: Timestamp,
) -> DbResult<()> {
    system_note(c, conv, &format!("{what}未发送:{why}"), now)?;
    Ok(())
}

/// The passive reply given to a push already stored (WeChat retries when our
/// answer did not reach it in time): the same text again.
pub fn passive_for_retry(
    c: &Connection,
    account: crate::model::AccountId,
    dedup_key: &str,
) -> DbResult<Option<String>> {
    Ok(c.row(
        "SELECT o.content FROM messages i JOIN messages o
           ON o.follower_id = i.follower_id AND o.direction = 'out'
          AND json_extract(o.data, '$.answers') = i.id
         WHERE i.account_id = ?1 AND i.dedup_key = ?2",
        params![account, dedup_key],
        |r| r.get(0),
    )
    .optional()?)
}

/// Sends an automatic text in a conversation if the budget allows; otherwise
/// records why not. Returns whether it was queued.
pub fn send_or_note(
    c: &Connection,
    conv: &conversations::Conversation,
    what: &str,
    text: &str,
    now: Timestamp,
    out: &mut Out,
) -> DbResult<Result<(), String>> {
    if text.trim().is_empty() {
        return Ok(Err("未设置内容".into()));
    }
    let b = desk::budget_of(c, conv.follower_id, now)?;
    if !b.allowed {
        let why = b.reason.unwrap_or_default();
        note_skip(c, conv.id, what, &why, now)?;
        return Ok(Err(why));
    }
    desk::send_text(c, conv, text, None, now, out)?;
    Ok(Ok(()))
}

/// The greeting (接入语, C7) when `agent` picks up the conversation.
pub fn greet(
    c: &Connection,
    conv: ConversationId,
    agent: UserId,
    now: Timestamp,
    out: &mut Out,
) -> DbResult<()> {
    let Some(conv) = conversations::get(c, conv)? else {
        return Ok(());
    };
    let replies = db::automation::auto_replies(c, conv.account_id)?;
    if replies.greeting.trim().is_empty() {
        return Ok(());
    }
    let name = db::users::get(c, agent)?
        .map(|u| u.display_name)
        .unwrap_or_default();
    let text = replies.greeting.replace("{客服}", &name);
    // Not sent: the reason is noted in the chat.
    if let Err(why) = send_or_note(c, &conv, "接入语", &text, now, out)? {
        tracing::info!(conversation = %conv.id, %why, "greeting not sent");
    }
    Ok(())
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
    "请为本次服务评分:回复 1-5(5 为非常满意)。问题是否已解决?请回复“已解决”或“未解决”。";

fn survey_payload() -> serde_json::Value {
    json!({
        "head": "请为本次服务评分:",
        "items": [
            { "id": "kefu_s5", "content": "5 非常满意" },
            { "id": "kefu_s4", "content": "4 满意" },
            { "id": "kefu_s3", "content": "3 一般" },
            { "id": "kefu_s2", "content": "2 不满意" },
            { "id": "kefu_s1", "content": "1 非常不满意" },
        ],
        "tail": "问题是否已解决?请回复“已解决”或“未解决”。也可直接回复 1-5 评分。",
        "fallback": SURVEY_FALLBACK,
    })
}

/// Sends the survey for a conversation (ended, or by the agent's button):
/// as a menu the follower taps, inside the budget; else recorded as not sent.
pub fn send_survey(
    c: &Connection,
    conv: ConversationId,
    now: Timestamp,
    out: &mut Out,
) -> DbResult<Result<(), String>> {
    let Some(conv) = conversations::get(c, conv)? else {
        return Ok(Err("会话不存在".into()));
    };
    let b = desk::budget_of(c, conv.follower_id, now)?;
    if !b.allowed {
        let why = b.reason.unwrap_or_default();
        c.exec(
            "INSERT INTO surveys (conversation_id, state, reason, sent_at) VALUES (?1, 'not_sent', ?2, ?3)
             ON CONFLICT (conversation_id) DO UPDATE SET state = 'not_sent', reason = ?2, sent_at = ?3",
            params![conv.id, why, ms(now)],
        )?;
        out.push_event(Live::Conversation {
            id: conv.id,
            group: conv.group_id,
        });
        return Ok(Err(why));
    }
    let (message, _) = db::outbox::enqueue(
        c,
        conv.account_id,
        conv.follower_id,
        OutboundKind::Msgmenu,
        &survey_payload(),
        None,
        now,
    )?;
    desk::attach(c, message, conv.id)?;
    c.exec(
        "INSERT INTO surveys (conversation_id, state, reason, sent_at) VALUES (?1, 'sent', '', ?2)
         ON CONFLICT (conversation_id) DO UPDATE SET state = CASE WHEN state = 'answered' THEN state ELSE 'sent' END,
             reason = '', sent_at = ?2",
        params![conv.id, ms(now)],
    )?;
    out.outbox = true;
    out.push_event(Live::Message {
        id: message,
        audience: crate::live::Audience::group(conv.group_id),
    });
    Ok(Ok(()))
}

/// A follower's text that answers the survey of their latest conversation
/// (sent within the last 48 hours): stored — the last answer counts — and
/// thanked. `None` when it is not an answer.
pub fn take_answer(
    c: &Connection,
    follower: FollowerId,
    text: &str,
    now: Timestamp,
) -> DbResult<Option<(ConversationId, String)>> {
    let Some(answer) = parse_answer(text) else {
        return Ok(None);
    };
    let since = ms(now - SignedDuration::from_hours(48));
    let conv: Option<ConversationId> = c
        .row(
            "SELECT s.conversation_id FROM surveys s JOIN conversations v ON v.id = s.conversation_id
             WHERE v.follower_id = ?1 AND s.state IN ('sent', 'answered') AND s.sent_at >= ?2
             ORDER BY s.sent_at DESC LIMIT 1",
            params![follower, since],
            |r| r.get(0),
        )
        .optional()?;
    let Some(conv) = conv else {
        return Ok(None);
    };
    c.exec(
        "UPDATE surveys SET state = 'answered', answered_at = ?2,
                score = coalesce(?3, score), solved = coalesce(?4, solved)
         WHERE conversation_id = ?1",
        params![conv, ms(now), answer.score, answer.solved],
    )?;
    let thanks = match (answer.score, answer.solved) {
        (Some(_), _) => "感谢您的评价!问题是否已解决?可回复“已解决”或“未解决”。",
        (None, Some(true)) => "感谢您的反馈,很高兴问题已解决!",
        (None, _) => "抱歉问题还没有解决,请直接发送消息,我们会继续为您处理。",
    };
    Ok(Some((conv, thanks.to_string())))
}

/// The survey as shown in the chat and history.
pub fn survey_text(c: &Connection, conv: ConversationId) -> DbResult<Option<String>> {
    let row: Option<(String, String, Option<i64>, Option<bool>)> = c
        .row(
            "SELECT state, reason, score, solved FROM surveys WHERE conversation_id = ?1",
            [conv],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    Ok(
        row.map(|(state, reason, score, solved)| match state.as_str() {
            "not_sent" => format!("满意度评价未发送:{reason}"),
            "sent" => "已邀请评价,等待客户回复".to_string(),
            _ => {
                let s = score.map_or("未评分".to_string(), |s| format!("{s} 分"));
                let v = match solved {
                    Some(true) => "已解决",
                    Some(false) => "未解决",
                    None => "未回答是否解决",
                };
                format!("满意度:{s} · {v}")
            }
        }),
    )
}

// ------------------------------------------------------------------ timeouts (C8)

/// Records a timeout action once per silence; `false` when it was done already.
fn once(
    c: &Connection,
    conv: ConversationId,
    kind: &str,
    anchor: i64,
    now: Timestamp,
) -> DbResult<bool> {
    let n = c.exec(
        "INSERT OR IGNORE INTO timeout_actions (conversation_id, kind, anchor, at) VALUES (?1, ?2, ?3, ?4)",
        params![conv, kind, anchor, ms(now)],
    )?;
    Ok(n == 1)
}

fn outcome(
    c: &Connection,
    conv: ConversationId,
    kind: &str,
    anchor: i64,
    what: &str,
) -> DbResult<()> {
    c.exec(
        "UPDATE timeout_actions SET outcome = ?4 WHERE conversation_id = ?1 AND kind = ?2 AND anchor = ?3",
        params![conv, kind, anchor, what],
    )?;
    Ok(())
}

fn due(anchor: i64, after: SignedDuration, now: Timestamp) -> bool {
    ts(anchor) + after <= now
}

/// One pass over active conversations: each configured timeout acts once, at
/// its time, derived from stored timestamps — so a restart neither loses nor
/// repeats an action, and one whose silence ended (the other side spoke, the
/// conversation moved on) never fires.
pub fn timeouts(c: &Connection, now: Timestamp) -> DbResult<Out> {
    let mut out = Out::default();
    let active: Vec<(ConversationId, crate::model::GroupId, UserId, i64)> = {
        let mut stmt = c.prepare_cached(
            "SELECT id, group_id, agent_id, coalesce(accepted_at, opened_at) FROM conversations
             WHERE state = 'active' AND agent_id IS NOT NULL",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<Vec<_>, _>>()?
    };
    for (id, group, agent, accepted) in active {
        let t = db::automation::timeouts(c, group)?;
        let last_in: Option<i64> = c.row(
            "SELECT max(received_at) FROM messages WHERE conversation_id = ?1 AND direction = 'in' AND kind <> 'event'",
            [id],
            |r| r.get(0),
        )?;
        let last_agent: Option<i64> = c.row(
            "SELECT max(created_at) FROM messages WHERE conversation_id = ?1 AND direction = 'out' AND sender_id IS NOT NULL",
            [id],
            |r| r.get(0),
        )?;
        let Some(conv) = conversations::get(c, id)? else {
            continue;
        };
        let replies = db::automation::auto_replies(c, conv.account_id)?;

        // 接待超时: accepted, and the agent has not said a word since.
        if let Some(m) = t.reception_mins {
            let silent = last_agent.is_none_or(|a| a < accepted);
            if silent
                && due(accepted, SignedDuration::from_mins(m), now)
                && once(c, id, "reception", accepted, now)?
            {
                system_note(c, id, &format!("接待超时:接入后 {m} 分钟内客服未回复"), now)?;
                out.push_event(Live::Toast {
                    user: agent,
                    text: format!("接待超时:有客户接入后 {m} 分钟未回复"),
                });
                out.push_event(Live::Conversation { id, group });
            }
        }

        match (last_in, last_agent) {
            // The follower spoke last: the agent is silent.
            (Some(lin), la) if la.is_none_or(|a| a < lin) => {
                if let Some(s) = t.agent_remind_secs {
                    if due(lin, SignedDuration::from_secs(s), now)
                        && once(c, id, "agent_remind", lin, now)?
                    {
                        out.push_event(Live::Toast {
                            user: agent,
                            text: format!("客户已等待 {s} 秒未得到回复,请尽快回复"),
                        });
                    }
                }
                if let Some(m) = t.agent_comfort_mins {
                    if due(lin, SignedDuration::from_mins(m), now)
                        && once(c, id, "agent_comfort", lin, now)?
                    {
                        let r = send_or_note(
                            c,
                            &conv,
                            "安抚语",
                            &replies.agent_comfort,
                            now,
                            &mut out,
                        )?;
                        outcome(
                            c,
                            id,
                            "agent_comfort",
                            lin,
                            &r.err().unwrap_or_else(|| "sent".into()),
                        )?;
                    }
                }
                if let Some(m) = t.agent_transfer_mins {
                    if due(lin, SignedDuration::from_mins(m), now)
                        && once(c, id, "agent_transfer", lin, now)?
                    {
                        let what = auto_transfer(c, &conv, agent, m, now, &mut out)?;
                        outcome(c, id, "agent_transfer", lin, &what)?;
                    }
                }
            }
            // The agent spoke last: the follower is silent.
            (li, Some(lout)) if li.is_none_or(|i| i <= lout) => {
                if let Some(m) = t.follower_prompt_mins {
                    if due(lout, SignedDuration::from_mins(m), now)
                        && once(c, id, "follower_prompt", lout, now)?
                    {
                        let r = send_or_note(
                            c,
                            &conv,
                            "提醒语",
                            &replies.follower_prompt,
                            now,
                            &mut out,
                        )?;
                        outcome(
                            c,
                            id,
                            "follower_prompt",
                            lout,
                            &r.err().unwrap_or_else(|| "sent".into()),
                        )?;
                    }
                }
                if let Some(m) = t.follower_close_mins {
                    if due(lout, SignedDuration::from_mins(m), now)
                        && once(c, id, "follower_close", lout, now)?
                    {
                        let r = send_or_note(c, &conv, "结束语", &replies.closing, now, &mut out)?;
                        outcome(
                            c,
                            id,
                            "follower_close",
                            lout,
                            &r.err().unwrap_or_else(|| "sent".into()),
                        )?;
                        let why = format!("客户 {m} 分钟未回复,自动结束");
                        if conversations::step(c, id, Step::EndByTimeout, &why, now)?.is_ok() {
                            out.push_event(Live::Lists { group });
                            out.push_event(Live::Conversation { id, group });
                            desk::drain(c, group, now, &mut out)?;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// An internal note without an author (the system's).
fn system_note(c: &Connection, conv: ConversationId, body: &str, now: Timestamp) -> DbResult<()> {
    let follower: FollowerId = c.row(
        "SELECT follower_id FROM conversations WHERE id = ?1",
        [conv],
        |r| r.get(0),
    )?;
    c.exec(
        "INSERT INTO notes (conversation_id, follower_id, author_id, body, created_at)
         VALUES (?1, ?2, NULL, ?3, ?4)",
        params![conv, follower, body, ms(now)],
    )?;
    Ok(())
}

/// Gives a conversation whose agent stayed silent to another online agent of
/// the group who can receive it; says what happened.
fn auto_transfer(
    c: &Connection,
    conv: &conversations::Conversation,
    from: UserId,
    mins: i64,
    now: Timestamp,
    out: &mut Out,
) -> DbResult<String> {
    let s = db::settings::group(c, conv.group_id)?;
    let cands: Vec<_> = desk::candidates(c, conv.group_id)?
        .into_iter()
        .filter(|x| x.agent != from && x.status == AgentStatus::Online)
        .collect();
    let rules = Rules {
        strategy: s.strategy,
        familiar_days: s.familiar_days,
    };
    let seed = (ms(now) as u64) ^ (conv.id.0 as u64);
    match routing::route(&rules, &cands, &Wanted::default(), now, seed) {
        Decision::Assign { agent: to, .. } => {
            let note = format!("客服 {mins} 分钟未回复,自动转接");
            if conversations::step(c, conv.id, Step::TransferInGroup { from, to }, &note, now)?
                .is_err()
            {
                return Ok("会话状态已变化".into());
            }
            out.push_event(Live::Toast {
                user: to,
                text: "有一个超时未回复的会话自动转接给您".into(),
            });
            out.push_event(Live::Toast {
                user: from,
                text: format!("您 {mins} 分钟未回复,会话已自动转接给其他客服"),
            });
            out.push_event(Live::Lists {
                group: conv.group_id,
            });
            out.push_event(Live::Conversation {
                id: conv.id,
                group: conv.group_id,
            });
            greet(c, conv.id, to, now, out)?;
            Ok(format!("transferred to {}", to.0))
        }
        Decision::Queue => Ok("无可接收的在线客服".into()),
    }
}

/// Whether a conversation is in session (for callers outside `desk`).
pub fn is_active(c: &Connection, id: ConversationId) -> DbResult<bool> {
    Ok(conversations::get(c, id)?.is_some_and(|v| v.state == ConversationState::Active))
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
}
