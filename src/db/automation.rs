//! What kefu says by itself (C4–C9, E7): per account, the automatic replies
//! (welcome, off-hours, follow, location, greeting, away, timeout texts) and
//! the keyword replies; per group, the FAQ for self-service and the timeouts;
//! per agent, their own auto reply (工号自动回复). A missing row means the
//! defaults of migration 6, so a new account or group works at once.
//!
//! The pure decisions the webhook path needs — which keyword rule matches,
//! the FAQ list a follower receives and which entry a reply picks — are plain
//! functions here next to the data they read. Deciding *when* to send any of
//! this belongs to the engine, not to this module. Lengths are checked by the
//! caller; the `CHECK` constraints are the last line of defence.

use super::DbResult;
use super::tree::{self, TreeKind};
use crate::db::Cached;
use crate::model::{AccountId, GroupId, UserId};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// The placeholder in [`AutoReplies::greeting`] replaced by the agent's name.
pub const AGENT_PLACEHOLDER: &str = "{客服}";

/// The same placeholder as an English interface names it.
pub const AGENT_PLACEHOLDER_EN: &str = "{agent}";

/// An account's automatic replies. An empty text means that reply is off.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AutoReplies {
    /// In work hours, to a new conversation (C4).
    pub welcome: String,
    /// The FAQ list follows the welcome.
    pub welcome_faq: bool,
    /// Outside work hours (C5).
    pub offhours: String,
    /// The FAQ list follows the off-hours reply.
    pub offhours_faq: bool,
    /// On subscribe (C6).
    pub follow: String,
    /// When the follower sends a location (C6).
    pub location: String,
    /// When an agent accepts (接入语, C7); `{客服}` is the agent's name.
    pub greeting: String,
    /// When the agent is away (B9).
    pub away: String,
    /// The agent has been silent (C8).
    pub agent_comfort: String,
    /// The follower has been silent (C8).
    pub follower_prompt: String,
    /// The conversation ends because the follower stayed silent (C8).
    pub closing: String,
    /// Send the satisfaction survey when a conversation ends (B13).
    pub survey_on_end: bool,
    /// How the greeting may use the follower's reply budget (issue 13).
    pub greeting_budget: GreetingBudget,
    /// Greet again when another agent of the same group takes over.
    pub greeting_on_transfer: bool,
}

/// How the greeting may use the reply budget: sent through the
/// customer-service API it costs one of the replies WeChat allows after a
/// follower's message, the ones the agent needs. In the passive reply (picked
/// up the moment the follower writes) it costs nothing and is always sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub enum GreetingBudget {
    /// Whenever a reply is left, even the last one.
    Always,
    /// Only while at least two are left, so the agent keeps one.
    #[default]
    KeepOne,
    /// Never through the budget: only in a passive reply.
    Never,
}

impl GreetingBudget {
    pub const ALL: [GreetingBudget; 3] = [
        GreetingBudget::Always,
        GreetingBudget::KeepOne,
        GreetingBudget::Never,
    ];

    /// As stored in `auto_replies.greeting_budget` and sent by the form.
    pub fn as_str(self) -> &'static str {
        match self {
            GreetingBudget::Always => "always",
            GreetingBudget::KeepOne => "keep_one",
            GreetingBudget::Never => "never",
        }
    }

    pub fn parse(s: &str) -> Option<GreetingBudget> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

impl rusqlite::ToSql for GreetingBudget {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for GreetingBudget {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let s = v.as_str()?;
        GreetingBudget::parse(s).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown greeting budget {s:?}").into())
        })
    }
}

impl Default for AutoReplies {
    /// The column defaults of `auto_replies` (migration 6).
    fn default() -> Self {
        AutoReplies {
            welcome: "您好，欢迎咨询，客服马上为您服务。".into(),
            welcome_faq: false,
            offhours: "您好，现在是非工作时间，客服上班后会第一时间回复您。".into(),
            offhours_faq: true,
            follow: "感谢关注！有问题请直接发消息，回复“人工”联系客服。".into(),
            location: String::new(),
            greeting: "您好，我是客服{客服}，很高兴为您服务。".into(),
            away: "客服暂时离开，您的消息已收到，客服回来后会第一时间为您服务。".into(),
            agent_comfort: "客服正在为您处理，请稍候。".into(),
            follower_prompt: "请问还有其他可以帮您的吗？".into(),
            closing: "由于您长时间未回复，本次会话已结束。如需帮助，请再次发送消息。".into(),
            survey_on_end: false,
            greeting_budget: GreetingBudget::KeepOne,
            greeting_on_transfer: false,
        }
    }
}

impl AutoReplies {
    /// The greeting with the agent's name in place of `{客服}` (or `{agent}`).
    pub fn greeting_for(&self, agent_name: &str) -> String {
        self.greeting
            .replace(AGENT_PLACEHOLDER, agent_name)
            .replace(AGENT_PLACEHOLDER_EN, agent_name)
    }
}

pub fn auto_replies(conn: &Connection, account: AccountId) -> DbResult<AutoReplies> {
    Ok(conn
        .row(
            "SELECT welcome, welcome_faq, offhours, offhours_faq, follow, location, greeting,
                    away, agent_comfort, follower_prompt, closing, survey_on_end,
                    greeting_budget, greeting_on_transfer
             FROM auto_replies WHERE account_id = ?1",
            [account],
            |r| {
                Ok(AutoReplies {
                    welcome: r.get(0)?,
                    welcome_faq: r.get(1)?,
                    offhours: r.get(2)?,
                    offhours_faq: r.get(3)?,
                    follow: r.get(4)?,
                    location: r.get(5)?,
                    greeting: r.get(6)?,
                    away: r.get(7)?,
                    agent_comfort: r.get(8)?,
                    follower_prompt: r.get(9)?,
                    closing: r.get(10)?,
                    survey_on_end: r.get(11)?,
                    greeting_budget: r.get(12)?,
                    greeting_on_transfer: r.get(13)?,
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

pub fn set_auto_replies(conn: &Connection, account: AccountId, a: &AutoReplies) -> DbResult<()> {
    conn.exec(
        "INSERT INTO auto_replies (account_id, welcome, welcome_faq, offhours, offhours_faq,
                                   follow, location, greeting, away, agent_comfort,
                                   follower_prompt, closing, survey_on_end, greeting_budget,
                                   greeting_on_transfer)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (account_id) DO UPDATE SET welcome = ?2, welcome_faq = ?3, offhours = ?4,
             offhours_faq = ?5, follow = ?6, location = ?7, greeting = ?8, away = ?9,
             agent_comfort = ?10, follower_prompt = ?11, closing = ?12, survey_on_end = ?13,
             greeting_budget = ?14, greeting_on_transfer = ?15",
        params![
            account,
            a.welcome,
            a.welcome_faq,
            a.offhours,
            a.offhours_faq,
            a.follow,
            a.location,
            a.greeting,
            a.away,
            a.agent_comfort,
            a.follower_prompt,
            a.closing,
            a.survey_on_end,
            a.greeting_budget,
            a.greeting_on_transfer
        ],
    )?;
    Ok(())
}

// ---- Keyword replies (C6) -------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KeywordReply {
    pub id: i64,
    pub keyword: String,
    /// The whole message must be the keyword; otherwise containing it is enough.
    pub exact: bool,
    pub reply: String,
}

fn keyword_from_row(r: &Row<'_>) -> rusqlite::Result<KeywordReply> {
    Ok(KeywordReply {
        id: r.get(0)?,
        keyword: r.get(1)?,
        exact: r.get(2)?,
        reply: r.get(3)?,
    })
}

/// The account's rules in the order they are tried.
pub fn keyword_replies(conn: &Connection, account: AccountId) -> DbResult<Vec<KeywordReply>> {
    let mut stmt = conn.prepare(
        "SELECT id, keyword, exact, reply FROM keyword_replies
         WHERE account_id = ?1 ORDER BY position, id",
    )?;
    let rows = stmt
        .query_map([account], keyword_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// One rule and the account it belongs to.
pub fn keyword_reply(conn: &Connection, id: i64) -> DbResult<Option<(AccountId, KeywordReply)>> {
    Ok(conn
        .row(
            "SELECT id, keyword, exact, reply, account_id FROM keyword_replies WHERE id = ?1",
            [id],
            |r| Ok((r.get(4)?, keyword_from_row(r)?)),
        )
        .optional()?)
}

/// Adds a rule after the account's others; returns its id.
pub fn add_keyword_reply(
    conn: &Connection,
    account: AccountId,
    keyword: &str,
    exact: bool,
    reply: &str,
) -> DbResult<i64> {
    conn.exec(
        "INSERT INTO keyword_replies (account_id, keyword, exact, reply, position)
         VALUES (?1, ?2, ?3, ?4,
                 (SELECT coalesce(max(position) + 1, 0) FROM keyword_replies WHERE account_id = ?1))",
        params![account, keyword, exact, reply],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn update_keyword_reply(
    conn: &Connection,
    id: i64,
    keyword: &str,
    exact: bool,
    reply: &str,
) -> DbResult<bool> {
    Ok(conn.exec(
        "UPDATE keyword_replies SET keyword = ?2, exact = ?3, reply = ?4 WHERE id = ?1",
        params![id, keyword, exact, reply],
    )? > 0)
}

pub fn delete_keyword_reply(conn: &Connection, id: i64) -> DbResult<bool> {
    Ok(conn.exec("DELETE FROM keyword_replies WHERE id = ?1", [id])? > 0)
}

/// Moves a rule one place up or down; false when it is already at that end.
pub fn move_keyword_reply(conn: &Connection, id: i64, up: bool) -> DbResult<bool> {
    let Some((account, _)) = keyword_reply(conn, id)? else {
        return Ok(false);
    };
    move_among(
        conn,
        "keyword_replies",
        "SELECT id FROM keyword_replies WHERE account_id = ?1 ORDER BY position, id",
        account.0,
        id,
        up,
    )
}

/// ASCII letters folded to lower case; everything else (Chinese) as is.
fn fold(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

/// The first rule, in order, that `text` matches: an exact rule when the
/// trimmed text is the keyword, any other when the text contains it. ASCII
/// letters match regardless of case.
pub fn match_keyword<'a>(rules: &'a [KeywordReply], text: &str) -> Option<&'a KeywordReply> {
    let text = fold(text);
    if text.is_empty() {
        return None;
    }
    rules.iter().find(|r| {
        let keyword = fold(&r.keyword);
        !keyword.is_empty()
            && if r.exact {
                text == keyword
            } else {
                text.contains(&keyword)
            }
    })
}

// ---- FAQ (C9) ---------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Faq {
    pub id: i64,
    pub question: String,
    pub answer: String,
    /// Words that pick this entry besides its number.
    pub keywords: Vec<String>,
}

/// Splits typed keywords on commas (either width), 、 and line breaks; trims,
/// drops empties and repeats.
pub fn parse_keywords(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in raw.split([',', '\u{FF0C}', '、', '\n']).map(str::trim) {
        if !k.is_empty() && !out.iter().any(|o| o == k) {
            out.push(k.to_string());
        }
    }
    out
}

/// The FAQ tree's nodes shown at the top of `group`'s menu (S3 2.4: the
/// content of each folder given to the group, and each entry given itself),
/// enabled ones whatever their dates: the list as an admin sees it.
pub fn faq(conn: &Connection, group: GroupId) -> DbResult<Vec<Faq>> {
    let mut nodes = tree::all(conn, TreeKind::Faq)?;
    for n in &mut nodes {
        n.valid_from = None;
        n.valid_to = None;
    }
    let roots = tree::roots(conn, TreeKind::Faq, group)?;
    Ok(crate::engine::tree::menu(&nodes, &roots, None, "")
        .into_iter()
        .map(faq_of)
        .collect())
}

/// A tree node as a numbered FAQ item (a folder has no answer).
pub fn faq_of(n: &tree::Node) -> Faq {
    Faq {
        id: n.id,
        question: n.title.clone(),
        answer: n.body.clone(),
        keywords: parse_keywords(&n.keywords),
    }
}

/// Adds an entry at the end of the group's FAQ folder (seeds and tests, at
/// the wall clock's time); returns its id.
pub fn add_faq(
    conn: &Connection,
    group: GroupId,
    question: &str,
    answer: &str,
    keywords: &[String],
) -> DbResult<i64> {
    add_faq_at(
        conn,
        group,
        question,
        answer,
        keywords,
        jiff::Timestamp::now(),
    )
}

/// Adds an entry at the end of the group's FAQ folder, created `now`.
pub fn add_faq_at(
    conn: &Connection,
    group: GroupId,
    question: &str,
    answer: &str,
    keywords: &[String],
    now: jiff::Timestamp,
) -> DbResult<i64> {
    let folder = tree::group_folder(conn, TreeKind::Faq, group, now)?;
    let f = tree::Fields {
        title: question.into(),
        body: answer.into(),
        keywords: keywords.join("，"),
        enabled: true,
        ..tree::Fields::default()
    };
    tree::add(conn, TreeKind::Faq, Some(folder), &f, now)?
        .map_err(|e| super::DbError::Commit(e.into()))
}

/// The numbered list a follower receives with the welcome or the off-hours
/// reply; empty when there is no entry. It does not offer 人工 — whoever gets
/// it already has a conversation (issue 13, bug 1).
pub fn faq_list_text(items: &[Faq]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let mut text = String::from("常见问题（回复数字查看答案）：\n");
    for (i, f) in items.iter().enumerate() {
        text.push_str(&format!("{}. {}\n", i + 1, f.question));
    }
    text.trim_end().to_string()
}

/// The entry a follower's reply asks for: its number (1..=n, full-width
/// digits too, a trailing full stop allowed), else the first entry with a
/// keyword the text contains or whose question the text is.
pub fn faq_answer<'a>(items: &'a [Faq], text: &str) -> Option<&'a Faq> {
    let trimmed = text.trim().trim_end_matches(['.', '。', '\u{FF0E}']).trim();
    if trimmed.is_empty() {
        return None;
    }
    let digits: Option<String> = trimmed
        .chars()
        .map(|c| match c {
            '0'..='9' => Some(c),
            '\u{FF10}'..='\u{FF19}' => char::from_u32(c as u32 - 0xFF10 + '0' as u32),
            _ => None,
        })
        .collect();
    if let Some(digits) = digits {
        // A number picks by number only, so a keyword such as "1" cannot shadow it.
        return digits
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| items.get(i));
    }
    let text = fold(trimmed);
    items.iter().find(|f| {
        fold(&f.question) == text
            || f.keywords.iter().any(|k| {
                let k = fold(k);
                !k.is_empty() && text.contains(&k)
            })
    })
}

// ---- Timeouts (C8) ----------------------------------------------------------

/// A group's timeouts; `None` turns that one off. Ranges (SPEC C8) are the
/// `CHECK` constraints of `timeout_settings`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Timeouts {
    /// Agent silent: comfort the follower after 1–30 minutes.
    pub agent_comfort_mins: Option<i64>,
    /// Agent silent: remind the agent after 10–600 seconds.
    pub agent_remind_secs: Option<i64>,
    /// Agent silent: transfer the conversation after 1–9 minutes.
    pub agent_transfer_mins: Option<i64>,
    /// Follower silent: prompt them after 1–20 minutes.
    pub follower_prompt_mins: Option<i64>,
    /// Follower silent: end the conversation after 2–120 minutes.
    pub follower_close_mins: Option<i64>,
    /// Reception timeout (接待超时, E7): 1–60 minutes without a new message.
    pub reception_mins: Option<i64>,
}

pub fn timeouts(conn: &Connection, group: GroupId) -> DbResult<Timeouts> {
    Ok(conn
        .row(
            "SELECT agent_comfort_mins, agent_remind_secs, agent_transfer_mins,
                    follower_prompt_mins, follower_close_mins, reception_mins
             FROM timeout_settings WHERE group_id = ?1",
            [group],
            |r| {
                Ok(Timeouts {
                    agent_comfort_mins: r.get(0)?,
                    agent_remind_secs: r.get(1)?,
                    agent_transfer_mins: r.get(2)?,
                    follower_prompt_mins: r.get(3)?,
                    follower_close_mins: r.get(4)?,
                    reception_mins: r.get(5)?,
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

pub fn set_timeouts(conn: &Connection, group: GroupId, t: &Timeouts) -> DbResult<()> {
    conn.exec(
        "INSERT INTO timeout_settings (group_id, agent_comfort_mins, agent_remind_secs,
                                       agent_transfer_mins, follower_prompt_mins,
                                       follower_close_mins, reception_mins)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (group_id) DO UPDATE SET agent_comfort_mins = ?2, agent_remind_secs = ?3,
             agent_transfer_mins = ?4, follower_prompt_mins = ?5, follower_close_mins = ?6,
             reception_mins = ?7",
        params![
            group,
            t.agent_comfort_mins,
            t.agent_remind_secs,
            t.agent_transfer_mins,
            t.follower_prompt_mins,
            t.follower_close_mins,
            t.reception_mins
        ],
    )?;
    Ok(())
}

// ---- 工号自动回复 (C7) --------------------------------------------------------

/// The agent's own auto reply; empty when they have none.
pub fn agent_auto_reply(conn: &Connection, user: UserId) -> DbResult<String> {
    Ok(conn
        .row(
            "SELECT auto_reply FROM agent_profiles WHERE user_id = ?1",
            [user],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default())
}

pub fn set_agent_auto_reply(conn: &Connection, user: UserId, text: &str) -> DbResult<()> {
    conn.exec(
        "INSERT INTO agent_profiles (user_id, auto_reply) VALUES (?1, ?2)
         ON CONFLICT (user_id) DO UPDATE SET auto_reply = ?2",
        params![user, text],
    )?;
    Ok(())
}

/// Moves `id` one place among the siblings `sql` lists (ids in display order,
/// selected by `owner`), renumbering them 0..n in `table`.
fn move_among(
    conn: &Connection,
    table: &str,
    sql: &str,
    owner: i64,
    id: i64,
    up: bool,
) -> DbResult<bool> {
    let mut ids: Vec<i64> = conn
        .prepare(sql)?
        .query_map([owner], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let Some(i) = ids.iter().position(|s| *s == id) else {
        return Ok(false);
    };
    let j = if up { i.checked_sub(1) } else { Some(i + 1) };
    let Some(j) = j.filter(|j| *j < ids.len()) else {
        return Ok(false);
    };
    ids.swap(i, j);
    let mut stmt = conn.prepare(&format!("UPDATE {table} SET position = ?2 WHERE id = ?1"))?;
    for (pos, sid) in ids.iter().enumerate() {
        stmt.execute(params![sid, pos as i64])?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{
        accounts::tests::seed_account, groups::tests::seed_group, memory, users::tests::seed_user,
    };
    use crate::model::Role;

    fn rule(id: i64, keyword: &str, exact: bool) -> KeywordReply {
        KeywordReply {
            id,
            keyword: keyword.into(),
            exact,
            reply: format!("reply {id}"),
        }
    }

    fn entry(id: i64, question: &str, keywords: &[&str]) -> Faq {
        Faq {
            id,
            question: question.into(),
            answer: format!("answer {id}"),
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
        }
    }

    #[test]
    fn keyword_rules_match_in_order_exact_or_contained_ignoring_ascii_case() {
        let rules = [
            rule(1, "价格", true),
            rule(2, "VIP", false),
            rule(3, "价格", false),
        ];
        assert_eq!(match_keyword(&rules, " 价格 ").map(|r| r.id), Some(1));
        assert_eq!(match_keyword(&rules, "请问价格多少").map(|r| r.id), Some(3));
        assert_eq!(match_keyword(&rules, "我是vip会员").map(|r| r.id), Some(2));
        assert_eq!(match_keyword(&rules, "Vip 的价格").map(|r| r.id), Some(2));
        assert_eq!(match_keyword(&rules, "你好"), None);
        assert_eq!(match_keyword(&rules, "   "), None);
        assert_eq!(match_keyword(&[rule(9, " ", false)], "任何话"), None);
    }

    #[test]
    fn faq_list_is_numbered_and_a_reply_picks_by_number_or_keyword() {
        assert_eq!(faq_list_text(&[]), "");
        let items = [
            entry(10, "如何收费？", &["收费", "价格"]),
            entry(11, "如何退款？", &["Refund"]),
        ];
        assert_eq!(
            faq_list_text(&items),
            "常见问题（回复数字查看答案）：\n1. 如何收费？\n2. 如何退款？"
        );
        let id = |t: &str| faq_answer(&items, t).map(|f| f.id);
        assert_eq!(id("1"), Some(10));
        assert_eq!(id(" 2 "), Some(11));
        assert_eq!(id("\u{FF12}"), Some(11), "full-width digit");
        assert_eq!(
            id("\u{FF11}\u{FF0E}"),
            Some(10),
            "full-width digit and stop"
        );
        assert_eq!(id("1。"), Some(10));
        assert_eq!(id("3"), None);
        assert_eq!(id("0"), None);
        assert_eq!(id("99999999999999999999999"), None);
        assert_eq!(id("价格是多少"), Some(10));
        assert_eq!(id("how to REFUND"), Some(11));
        assert_eq!(id("如何退款？"), Some(11), "the question itself");
        assert_eq!(id("你好"), None);
        assert_eq!(id(""), None);
    }

    #[test]
    fn keywords_are_split_on_either_comma_and_deduplicated() {
        assert_eq!(
            parse_keywords(" 收费， 价格\u{FF0C}收费、费用\n,"),
            vec!["收费", "价格", "费用"]
        );
        assert!(parse_keywords("  ").is_empty());
    }

    #[test]
    fn greeting_names_the_agent() {
        assert_eq!(
            AutoReplies::default().greeting_for("小王"),
            "您好，我是客服小王，很高兴为您服务。"
        );
    }

    #[test]
    fn defaults_equal_the_table_defaults_until_saved() {
        let conn = memory().unwrap();
        let acc = seed_account(&conn, "wx1");
        assert_eq!(auto_replies(&conn, acc).unwrap(), AutoReplies::default());
        conn.exec("INSERT INTO auto_replies (account_id) VALUES (?1)", [acc])
            .unwrap();
        assert_eq!(
            auto_replies(&conn, acc).unwrap(),
            AutoReplies::default(),
            "Default matches the column defaults"
        );
        let a = AutoReplies {
            welcome: String::new(),
            welcome_faq: true,
            location: "我们的地址：XX 路 1 号".into(),
            survey_on_end: true,
            ..AutoReplies::default()
        };
        set_auto_replies(&conn, acc, &a).unwrap();
        assert_eq!(auto_replies(&conn, acc).unwrap(), a);
    }

    #[test]
    fn keyword_rules_are_kept_in_order_and_moved() {
        let conn = memory().unwrap();
        let acc = seed_account(&conn, "wx1");
        let other = seed_account(&conn, "wx2");
        let a = add_keyword_reply(&conn, acc, "价格", false, "见官网").unwrap();
        let b = add_keyword_reply(&conn, acc, "退款", true, "请联系客服").unwrap();
        add_keyword_reply(&conn, other, "别的", false, "x").unwrap();
        let ids = |c: &Connection| -> Vec<i64> {
            keyword_replies(c, acc)
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect()
        };
        assert_eq!(ids(&conn), vec![a, b]);
        assert!(move_keyword_reply(&conn, b, true).unwrap());
        assert_eq!(ids(&conn), vec![b, a]);
        assert!(
            !move_keyword_reply(&conn, b, true).unwrap(),
            "already first"
        );
        assert!(update_keyword_reply(&conn, a, "价钱", true, "见官网").unwrap());
        assert_eq!(keyword_reply(&conn, a).unwrap().unwrap().0, acc);
        assert!(keyword_reply(&conn, a).unwrap().unwrap().1.exact);
        let c = add_keyword_reply(&conn, acc, "新", false, "新").unwrap();
        assert_eq!(ids(&conn), vec![b, a, c], "added after the moved ones");
        assert!(delete_keyword_reply(&conn, a).unwrap());
        assert_eq!(ids(&conn), vec![b, c]);
        assert!(add_keyword_reply(&conn, acc, "", false, "x").is_err());
    }

    #[test]
    fn faq_entries_go_to_the_groups_folder_and_keep_their_keywords_and_order() {
        let conn = memory().unwrap();
        let g = seed_group(&conn, "售前", "pre");
        let kw = parse_keywords("收费，价格");
        let a = add_faq(&conn, g, "如何收费？", "免费", &kw).unwrap();
        let b = add_faq(&conn, g, "如何退款？", "七天无理由", &[]).unwrap();
        let list = faq(&conn, g).unwrap();
        assert_eq!(list[0].keywords, kw);
        assert_eq!(list.iter().map(|f| f.id).collect::<Vec<_>>(), vec![a, b]);
        let folder = tree::get(&conn, a).unwrap().unwrap().parent_id.unwrap();
        assert_eq!(tree::get(&conn, folder).unwrap().unwrap().title, "售前");
        assert_eq!(tree::roots(&conn, TreeKind::Faq, g).unwrap(), [folder]);
        assert!(tree::reorder(&conn, a, false).unwrap());
        assert_eq!(faq(&conn, g).unwrap()[0].id, b);
        assert!(tree::set_enabled(&conn, b, false).unwrap());
        assert_eq!(
            faq(&conn, g).unwrap().len(),
            1,
            "a disabled entry is not listed"
        );
        let other = seed_group(&conn, "售后", "post");
        assert!(faq(&conn, other).unwrap().is_empty());
    }

    #[test]
    fn timeouts_are_off_until_set_and_the_table_refuses_out_of_range() {
        let conn = memory().unwrap();
        let g = seed_group(&conn, "售前", "pre");
        assert_eq!(timeouts(&conn, g).unwrap(), Timeouts::default());
        let t = Timeouts {
            agent_remind_secs: Some(30),
            follower_close_mins: Some(120),
            ..Timeouts::default()
        };
        set_timeouts(&conn, g, &t).unwrap();
        assert_eq!(timeouts(&conn, g).unwrap(), t);
        let bad = Timeouts {
            agent_transfer_mins: Some(10),
            ..t.clone()
        };
        assert!(set_timeouts(&conn, g, &bad).is_err());
        assert_eq!(timeouts(&conn, g).unwrap(), t);
    }

    #[test]
    fn an_agent_auto_reply_is_empty_until_set() {
        let conn = memory().unwrap();
        let u = seed_user(&conn, "amy", Role::Agent);
        assert_eq!(agent_auto_reply(&conn, u).unwrap(), "");
        set_agent_auto_reply(&conn, u, "稍等，马上回复您").unwrap();
        set_agent_auto_reply(&conn, u, "您好，我在忙，稍后回复").unwrap();
        assert_eq!(
            agent_auto_reply(&conn, u).unwrap(),
            "您好，我在忙，稍后回复"
        );
    }
}
