//! 自动回复 (C4–C9, E7): one page, `/admin/automation`, with the selected
//! account's automatic replies (and a preview of what a follower receives) and
//! keyword replies, and the selected group's FAQ and timeouts; plus
//! `/console/auto-reply`, where every agent sets their own 工号自动回复.
//!
//! Who changes what: the account-level replies are the super admin's (S3 2.6
//! and 2.7 give 基础配置 and 消息自动回复 to the super admin only, and an
//! account is shared by every group it serves); the FAQ and the timeouts are a
//! group's, so an admin changes those of the groups they belong to and the
//! super admin those of every group (S3 2.2). Every change is written with its
//! audit row in one transaction. SQL lives in `db::automation`; when to send
//! any of this is the engine's business.

use crate::db::audit::Entry;
use crate::db::automation::{self as auto, AutoReplies, Faq, KeywordReply, Timeouts};
use crate::error::AppError;
use crate::model::{AccountId, AuditAction, Group, GroupId, Role, User};
use crate::state::AppState;
use crate::team::Acting;
use crate::web::form::{Form, IdPath, Query};
use crate::web::page::{Page, render, render_status};
use crate::web::session::{AdminUser, AnyUser, Ctx, SuperUser, with_flash};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

/// The longest automatic, keyword or FAQ reply (the `CHECK`s of migration 6).
const TEXT_MAX: usize = 2000;
/// The longest 工号自动回复.
const AGENT_REPLY_MAX: usize = 300;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct PageQuery {
    account: String,
    group: String,
}

/// The 自动回复 form: text fields, so a refused value is shown as typed.
/// `account` says whose replies these are; `group` only which FAQ the preview shows.
#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub struct RepliesForm {
    #[serde(skip_serializing)]
    account: String,
    #[serde(skip_serializing)]
    group: String,
    welcome: String,
    welcome_faq: Option<String>,
    offhours: String,
    offhours_faq: Option<String>,
    follow: String,
    location: String,
    greeting: String,
    away: String,
    agent_comfort: String,
    follower_prompt: String,
    closing: String,
    survey_on_end: Option<String>,
}

impl RepliesForm {
    fn of(a: &AutoReplies, account: AccountId, group: Option<GroupId>) -> Self {
        let on = |b: bool| b.then(|| "on".to_string());
        RepliesForm {
            account: account.to_string(),
            group: group.map(|g| g.to_string()).unwrap_or_default(),
            welcome: a.welcome.clone(),
            welcome_faq: on(a.welcome_faq),
            offhours: a.offhours.clone(),
            offhours_faq: on(a.offhours_faq),
            follow: a.follow.clone(),
            location: a.location.clone(),
            greeting: a.greeting.clone(),
            away: a.away.clone(),
            agent_comfort: a.agent_comfort.clone(),
            follower_prompt: a.follower_prompt.clone(),
            closing: a.closing.clone(),
            survey_on_end: on(a.survey_on_end),
        }
    }

    /// The replies as typed (trimmed), unchecked: what the preview shows.
    fn as_typed(&self) -> AutoReplies {
        let t = |s: &String| s.trim().to_string();
        AutoReplies {
            welcome: t(&self.welcome),
            welcome_faq: self.welcome_faq.is_some(),
            offhours: t(&self.offhours),
            offhours_faq: self.offhours_faq.is_some(),
            follow: t(&self.follow),
            location: t(&self.location),
            greeting: t(&self.greeting),
            away: t(&self.away),
            agent_comfort: t(&self.agent_comfort),
            follower_prompt: t(&self.follower_prompt),
            closing: t(&self.closing),
            survey_on_end: self.survey_on_end.is_some(),
        }
    }

    fn replies(&self) -> Result<AutoReplies, String> {
        let a = self.as_typed();
        let texts = [
            (&a.welcome, "工作时间欢迎语"),
            (&a.offhours, "非工作时间自动回复"),
            (&a.follow, "关注回复"),
            (&a.location, "位置回复"),
            (&a.greeting, "接入语"),
            (&a.away, "客服离开时的回复"),
            (&a.agent_comfort, "客服超时安抚语"),
            (&a.follower_prompt, "粉丝超时提示语"),
            (&a.closing, "结束语"),
        ];
        for (text, what) in texts {
            if text.chars().count() > TEXT_MAX {
                return Err(format!("{what}不能超过 {TEXT_MAX} 个字"));
            }
        }
        Ok(a)
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct KeywordForm {
    account: String,
    group: String,
    keyword: String,
    exact: Option<String>,
    reply: String,
}

impl KeywordForm {
    /// (keyword, exact, reply), trimmed and checked.
    fn checked(&self) -> Result<(String, bool, String), String> {
        let (keyword, reply) = (self.keyword.trim(), self.reply.trim());
        if keyword.is_empty() {
            return Err("请填写关键词".into());
        }
        if keyword.chars().count() > 30 {
            return Err("关键词不能超过 30 个字".into());
        }
        if reply.is_empty() {
            return Err("请填写回复内容".into());
        }
        if reply.chars().count() > TEXT_MAX {
            return Err(format!("回复内容不能超过 {TEXT_MAX} 个字"));
        }
        Ok((keyword.into(), self.exact.is_some(), reply.into()))
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct FaqForm {
    account: String,
    group: String,
    question: String,
    answer: String,
    keywords: String,
}

impl FaqForm {
    /// (question, answer, keywords), trimmed and checked.
    fn checked(&self) -> Result<(String, String, Vec<String>), String> {
        let (question, answer) = (self.question.trim(), self.answer.trim());
        if question.is_empty() {
            return Err("请填写问题".into());
        }
        if question.chars().count() > 100 {
            return Err("问题不能超过 100 个字".into());
        }
        if answer.is_empty() {
            return Err("请填写答案".into());
        }
        if answer.chars().count() > TEXT_MAX {
            return Err(format!("答案不能超过 {TEXT_MAX} 个字"));
        }
        let keywords = auto::parse_keywords(&self.keywords);
        if keywords.iter().any(|k| k.chars().count() > 30) {
            return Err("每个关键词不能超过 30 个字".into());
        }
        if keywords.len() > 20 {
            return Err("关键词最多 20 个".into());
        }
        Ok((question.into(), answer.into(), keywords))
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct MoveForm {
    account: String,
    group: String,
    /// `up` or `down`.
    dir: String,
}

impl MoveForm {
    fn up(&self) -> Result<bool, AppError> {
        match self.dir.as_str() {
            "up" => Ok(true),
            "down" => Ok(false),
            _ => Err(AppError::BadRequest("请选择上移或下移".into())),
        }
    }
}

/// Where the user was on the page: from a query or a form's hidden fields.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct PlaceForm {
    account: String,
    group: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct AgentReplyForm {
    auto_reply: String,
}

// ---- 超时设置: one table drives the form, the parser and the messages ------

/// One timeout of [`Timeouts`]: its form field (`{key}` with the value,
/// `{key}_on` the switch) and its range (SPEC C8, the `CHECK`s).
pub struct TimeoutSpec {
    pub key: &'static str,
    pub when: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub min: i64,
    pub max: i64,
    /// Shown while the timeout is off, as the value it would start with.
    pub suggest: i64,
    pub hint: &'static str,
}

const TIMEOUTS: [TimeoutSpec; 6] = [
    TimeoutSpec {
        key: "agent_comfort_mins",
        when: "客服未回复时",
        label: "安抚粉丝",
        unit: "分钟",
        min: 1,
        max: 30,
        suggest: 3,
        hint: "客服超过设定时间未回复,向粉丝发送“客服超时安抚语”。",
    },
    TimeoutSpec {
        key: "agent_remind_secs",
        when: "客服未回复时",
        label: "提醒客服",
        unit: "秒",
        min: 10,
        max: 600,
        suggest: 30,
        hint: "客服超过设定时间未回复,在客服工作台提醒客服。",
    },
    TimeoutSpec {
        key: "agent_transfer_mins",
        when: "客服未回复时",
        label: "自动转接",
        unit: "分钟",
        min: 1,
        max: 9,
        suggest: 3,
        hint: "客服超过设定时间未回复,会话自动转给本组其他在线客服。",
    },
    TimeoutSpec {
        key: "follower_prompt_mins",
        when: "粉丝未回复时",
        label: "提示粉丝",
        unit: "分钟",
        min: 1,
        max: 20,
        suggest: 3,
        hint: "粉丝超过设定时间未回复,发送“粉丝超时提示语”。",
    },
    TimeoutSpec {
        key: "follower_close_mins",
        when: "粉丝未回复时",
        label: "结束会话",
        unit: "分钟",
        min: 2,
        max: 120,
        suggest: 10,
        hint: "粉丝超过设定时间未回复,发送“结束语”并结束会话。",
    },
    TimeoutSpec {
        key: "reception_mins",
        when: "接待中",
        label: "接待超时",
        unit: "分钟",
        min: 1,
        max: 60,
        suggest: 5,
        hint: "在设定时间内粉丝没有新消息,标记本次接待超时。",
    },
];

fn slot<'a>(t: &'a mut Timeouts, key: &str) -> Option<&'a mut Option<i64>> {
    Some(match key {
        "agent_comfort_mins" => &mut t.agent_comfort_mins,
        "agent_remind_secs" => &mut t.agent_remind_secs,
        "agent_transfer_mins" => &mut t.agent_transfer_mins,
        "follower_prompt_mins" => &mut t.follower_prompt_mins,
        "follower_close_mins" => &mut t.follower_close_mins,
        "reception_mins" => &mut t.reception_mins,
        _ => return None,
    })
}

/// One line of the 超时设置 form as shown: on or off, and the value.
pub struct TimeoutRow {
    pub spec: &'static TimeoutSpec,
    pub on: bool,
    pub value: String,
}

fn timeout_rows(t: &Timeouts) -> Vec<TimeoutRow> {
    let mut t = t.clone();
    TIMEOUTS
        .iter()
        .map(|spec| {
            let v = slot(&mut t, spec.key).and_then(|v| *v);
            TimeoutRow {
                spec,
                on: v.is_some(),
                value: v.unwrap_or(spec.suggest).to_string(),
            }
        })
        .collect()
}

/// The rows as typed in a submitted form (`key=value` pairs).
fn typed_rows(pairs: &[(String, String)]) -> Vec<TimeoutRow> {
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    TIMEOUTS
        .iter()
        .map(|spec| TimeoutRow {
            spec,
            on: field(&format!("{}_on", spec.key)).is_some(),
            value: field(spec.key).cloned().unwrap_or_default(),
        })
        .collect()
}

/// The timeouts the rows ask for, or the Chinese reason why not (naming the range).
fn parse_timeouts(rows: &[TimeoutRow]) -> Result<Timeouts, String> {
    let mut t = Timeouts::default();
    for r in rows.iter().filter(|r| r.on) {
        let s = r.spec;
        let n = match r.value.trim().parse::<i64>() {
            Ok(n) if (s.min..=s.max).contains(&n) => n,
            _ => {
                return Err(format!(
                    "{}{}须为 {}–{} {}之间的整数",
                    s.when, s.label, s.min, s.max, s.unit
                ));
            }
        };
        if let Some(v) = slot(&mut t, s.key) {
            *v = Some(n);
        }
    }
    if let (Some(prompt), Some(close)) = (t.follower_prompt_mins, t.follower_close_mins) {
        if close <= prompt {
            return Err("结束会话的时间须晚于提示粉丝的时间".into());
        }
    }
    Ok(t)
}

// ---- The preview: what a follower receives ---------------------------------

/// One occasion and the messages a follower receives on it (none: off).
pub struct PreviewItem {
    pub when: &'static str,
    pub texts: Vec<String>,
}

fn preview(a: &AutoReplies, faq: &[Faq], agent_name: &str) -> Vec<PreviewItem> {
    let faq_text = auto::faq_list_text(faq);
    let with_faq = |text: &str, faq_on: bool| {
        let mut v = vec![text.to_string()];
        if faq_on {
            v.push(faq_text.clone());
        }
        v
    };
    let items = [
        ("粉丝关注公众号", vec![a.follow.clone()]),
        ("工作时间发起咨询", with_faq(&a.welcome, a.welcome_faq)),
        ("非工作时间发起咨询", with_faq(&a.offhours, a.offhours_faq)),
        ("粉丝发送位置", vec![a.location.clone()]),
        ("客服接入会话", vec![a.greeting_for(agent_name)]),
        ("客服离开时粉丝来消息", vec![a.away.clone()]),
        ("客服超时未回复", vec![a.agent_comfort.clone()]),
        ("粉丝超时未回复", vec![a.follower_prompt.clone()]),
        ("粉丝长时间未回复,会话结束", vec![a.closing.clone()]),
    ];
    items
        .into_iter()
        .map(|(when, texts)| PreviewItem {
            when,
            texts: texts.into_iter().filter(|t| !t.is_empty()).collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/automation_preview.html")]
struct PreviewFragment {
    preview: Vec<PreviewItem>,
}

// ---- The page -----------------------------------------------------------------

/// What the page shows again after a refused form.
#[derive(Default)]
struct Kept {
    /// `replies`, `keywords`, `faq` or `timeouts`.
    section: &'static str,
    error: Option<String>,
    replies: Option<RepliesForm>,
    keyword: KeywordForm,
    faq: FaqForm,
    timeouts: Option<Vec<TimeoutRow>>,
}

#[derive(Template)]
#[template(path = "admin/automation.html")]
struct AutomationPage {
    page: Page,
    is_super: bool,
    accounts: Vec<(AccountId, String)>,
    account: Option<(AccountId, String)>,
    groups: Vec<Group>,
    group: Option<Group>,
    replies: RepliesForm,
    preview: Vec<PreviewItem>,
    keywords: Vec<KeywordReply>,
    faq: Vec<Faq>,
    faq_text: String,
    timeouts: Vec<TimeoutRow>,
    kept: Kept,
}

impl AutomationPage {
    fn error_in(&self, section: &str) -> Option<&str> {
        if self.kept.section == section {
            self.kept.error.as_deref()
        } else {
            None
        }
    }

    /// The query that keeps the selected account and group.
    fn place(&self) -> String {
        place_query(
            self.account.as_ref().map(|a| a.0),
            self.group.as_ref().map(|g| g.id),
        )
    }

    fn account_value(&self) -> String {
        self.account
            .as_ref()
            .map(|a| a.0.to_string())
            .unwrap_or_default()
    }

    fn group_value(&self) -> String {
        self.group
            .as_ref()
            .map(|g| g.id.to_string())
            .unwrap_or_default()
    }
}

fn place_query(account: Option<AccountId>, group: Option<GroupId>) -> String {
    let mut parts = Vec::new();
    if let Some(a) = account {
        parts.push(format!("account={a}"));
    }
    if let Some(g) = group {
        parts.push(format!("group={g}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn parse_account(raw: &str) -> Option<AccountId> {
    raw.trim().parse().ok().map(AccountId)
}

fn parse_group(raw: &str) -> Option<GroupId> {
    raw.trim().parse().ok().map(GroupId)
}

fn need_account(raw: &str) -> Result<AccountId, AppError> {
    parse_account(raw).ok_or_else(|| AppError::BadRequest("请选择公众号".into()))
}

fn need_group(raw: &str) -> Result<GroupId, AppError> {
    parse_group(raw).ok_or_else(|| AppError::BadRequest("请选择客服组".into()))
}

/// The groups `user` manages here ([`crate::access::groups`]).
fn manageable(c: &Connection, user: &User) -> crate::db::DbResult<Vec<Group>> {
    crate::access::groups(c, &crate::access::Viewer::load(c, user)?)
}

/// The group, if the user manages it: 403 for another's group, 404 for none.
fn managed_group(c: &Connection, user: &User, id: GroupId) -> Result<Group, AppError> {
    if let Some(g) = manageable(c, user)?.into_iter().find(|g| g.id == id) {
        return Ok(g);
    }
    match crate::db::groups::get(c, id)? {
        Some(_) => Err(AppError::Forbidden),
        None => Err(AppError::NotFound),
    }
}

fn account_name(c: &Connection, id: AccountId) -> Result<String, AppError> {
    Ok(crate::db::accounts::get(c, id)?
        .ok_or(AppError::NotFound)?
        .name)
}

fn audit(c: &Connection, by: &Acting, entry: Entry, now: jiff::Timestamp) -> Result<(), AppError> {
    crate::db::audit::record(c, &crate::team::actor(by), &entry, now)?;
    Ok(())
}

fn done(
    ctx: &Ctx,
    account: Option<AccountId>,
    group: Option<GroupId>,
    anchor: &str,
    text: impl Into<String>,
) -> Response {
    let to = format!("/admin/automation{}#{anchor}", place_query(account, group));
    with_flash(Redirect::to(&to), true, text, ctx.secure_cookies)
}

async fn automation_page(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    wanted: (Option<AccountId>, Option<GroupId>),
    kept: Kept,
) -> Result<AutomationPage, AppError> {
    let is_super = user.role == Role::SuperAdmin;
    let u = user.clone();
    let (accounts, account, groups, group, replies, keywords, faq, timeouts) = state
        .db
        .read(move |c| -> Result<_, AppError> {
            let groups = manageable(c, &u)?;
            let group = match wanted.1 {
                Some(id) => Some(managed_group(c, &u, id)?),
                None => groups.first().cloned(),
            };
            // Account-level settings are the super admin's (see the module comment).
            let accounts: Vec<(AccountId, String)> = if is_super {
                crate::db::accounts::list(c)?
                    .into_iter()
                    .map(|a| (a.id, a.name))
                    .collect()
            } else {
                Vec::new()
            };
            let account = match wanted.0.filter(|_| is_super) {
                Some(id) => Some(
                    accounts
                        .iter()
                        .find(|a| a.0 == id)
                        .cloned()
                        .ok_or(AppError::NotFound)?,
                ),
                None => accounts.first().cloned(),
            };
            let (replies, keywords) = match &account {
                Some((id, _)) => (auto::auto_replies(c, *id)?, auto::keyword_replies(c, *id)?),
                None => (AutoReplies::default(), Vec::new()),
            };
            let (faq, timeouts) = match &group {
                Some(g) => (auto::faq(c, g.id)?, auto::timeouts(c, g.id)?),
                None => (Vec::new(), Timeouts::default()),
            };
            Ok((
                accounts, account, groups, group, replies, keywords, faq, timeouts,
            ))
        })
        .await?;
    let mut kept = kept;
    let replies = match kept.replies.take() {
        Some(typed) => typed,
        None => match &account {
            Some((id, _)) => RepliesForm::of(&replies, *id, group.as_ref().map(|g| g.id)),
            None => RepliesForm::default(),
        },
    };
    let timeouts = kept
        .timeouts
        .take()
        .unwrap_or_else(|| timeout_rows(&timeouts));
    Ok(AutomationPage {
        page: Page::new(ctx, "自动回复", "automation"),
        is_super,
        preview: preview(&replies.as_typed(), &faq, &user.display_name),
        faq_text: auto::faq_list_text(&faq),
        accounts,
        account,
        groups,
        group,
        replies,
        keywords,
        faq,
        timeouts,
        kept,
    })
}

/// Shows the page again with a refused form (422).
async fn refused(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    wanted: (Option<AccountId>, Option<GroupId>),
    kept: Kept,
) -> Result<Response, AppError> {
    let page = automation_page(state, ctx, user, wanted, kept).await?;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn page(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let wanted = (parse_account(&q.account), parse_group(&q.group));
    render(&automation_page(&state, &ctx, &s.user, wanted, Kept::default()).await?)
}

// ---- 自动回复 -----------------------------------------------------------------

/// `POST /admin/automation/replies`: saves the account's automatic replies.
pub async fn save_replies(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    Form(f): Form<RepliesForm>,
) -> Result<Response, AppError> {
    let account = need_account(&f.account)?;
    let name = state.db.read(move |c| account_name(c, account)).await?;
    let group = parse_group(&f.group);
    let replies = match f.replies() {
        Ok(r) => r,
        Err(m) => {
            let kept = Kept {
                section: "replies",
                error: Some(m),
                replies: Some(f),
                ..Kept::default()
            };
            return refused(&state, &ctx, &s.user, (Some(account), group), kept).await;
        }
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            let before = auto::auto_replies(c, account)?;
            auto::set_auto_replies(c, account, &replies)?;
            let entry = Entry::new(AuditAction::AutoRepliesUpdate, format!("公众号 {name}"))
                .change(Some(&before), Some(&replies));
            audit(c, &by, entry, now)
        })
        .await?;
    Ok(done(
        &ctx,
        Some(account),
        group,
        "replies",
        "自动回复已保存",
    ))
}

/// `POST /admin/automation/preview`: the preview of the form as typed (htmx).
pub async fn preview_replies(
    State(state): State<AppState>,
    SuperUser(_, s): SuperUser,
    Form(f): Form<RepliesForm>,
) -> Result<Response, AppError> {
    let faq = match parse_group(&f.group) {
        Some(g) => state.db.read(move |c| auto::faq(c, g)).await?,
        None => Vec::new(),
    };
    render(&PreviewFragment {
        preview: preview(&f.as_typed(), &faq, &s.user.display_name),
    })
}

// ---- 关键词回复 ----------------------------------------------------------------

pub async fn add_keyword(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    Form(f): Form<KeywordForm>,
) -> Result<Response, AppError> {
    let account = need_account(&f.account)?;
    state.db.read(move |c| account_name(c, account)).await?;
    let group = parse_group(&f.group);
    let (keyword, exact, reply) = match f.checked() {
        Ok(v) => v,
        Err(m) => {
            let kept = Kept {
                section: "keywords",
                error: Some(m),
                keyword: f,
                ..Kept::default()
            };
            return refused(&state, &ctx, &s.user, (Some(account), group), kept).await;
        }
    };
    let (by, now, k) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        keyword.clone(),
    );
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            auto::add_keyword_reply(c, account, &k, exact, &reply)?;
            let entry = Entry::new(AuditAction::KeywordReplyCreate, format!("关键词回复 {k}"));
            audit(c, &by, entry, now)
        })
        .await?;
    Ok(done(
        &ctx,
        Some(account),
        group,
        "keywords",
        format!("关键词 {keyword} 已添加"),
    ))
}

async fn existing_keyword(
    state: &AppState,
    id: i64,
) -> Result<(AccountId, KeywordReply), AppError> {
    state
        .db
        .read(move |c| auto::keyword_reply(c, id))
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Template)]
#[template(path = "admin/automation_keyword.html")]
struct KeywordEditPage {
    page: Page,
    id: i64,
    f: KeywordForm,
    error: Option<String>,
}

pub async fn edit_keyword(
    State(state): State<AppState>,
    SuperUser(ctx, _): SuperUser,
    IdPath(id): IdPath,
    Query(q): Query<PlaceForm>,
) -> Result<Response, AppError> {
    let (account, k) = existing_keyword(&state, id).await?;
    render(&KeywordEditPage {
        page: Page::new(&ctx, format!("修改关键词回复 {}", k.keyword), "automation"),
        id,
        f: KeywordForm {
            account: account.to_string(),
            group: q.group,
            keyword: k.keyword,
            exact: k.exact.then(|| "on".into()),
            reply: k.reply,
        },
        error: None,
    })
}

pub async fn update_keyword(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    IdPath(id): IdPath,
    Form(f): Form<KeywordForm>,
) -> Result<Response, AppError> {
    let (account, old) = existing_keyword(&state, id).await?;
    let group = parse_group(&f.group);
    let (keyword, exact, reply) = match f.checked() {
        Ok(v) => v,
        Err(m) => {
            let page = KeywordEditPage {
                page: Page::new(
                    &ctx,
                    format!("修改关键词回复 {}", old.keyword),
                    "automation",
                ),
                id,
                f: KeywordForm {
                    account: account.to_string(),
                    ..f
                },
                error: Some(m),
            };
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            auto::update_keyword_reply(c, id, &keyword, exact, &reply)?;
            let after = KeywordReply {
                id,
                keyword: keyword.clone(),
                exact,
                reply,
            };
            let entry = Entry::new(
                AuditAction::KeywordReplyUpdate,
                format!("关键词回复 {} → {keyword}", old.keyword),
            )
            .change(Some(&old), Some(&after));
            audit(c, &by, entry, now)
        })
        .await?;
    Ok(done(
        &ctx,
        Some(account),
        group,
        "keywords",
        "关键词回复已保存",
    ))
}

pub async fn move_keyword(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    IdPath(id): IdPath,
    Form(f): Form<MoveForm>,
) -> Result<Response, AppError> {
    let (account, k) = existing_keyword(&state, id).await?;
    let up = f.up()?;
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            if auto::move_keyword_reply(c, id, up)? {
                let target = format!("关键词回复 {}(调整顺序)", k.keyword);
                audit(
                    c,
                    &by,
                    Entry::new(AuditAction::KeywordReplyUpdate, target),
                    now,
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(done(
        &ctx,
        Some(account),
        parse_group(&f.group),
        "keywords",
        "顺序已调整",
    ))
}

pub async fn delete_keyword(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    IdPath(id): IdPath,
    Form(f): Form<PlaceForm>,
) -> Result<Response, AppError> {
    let (account, k) = existing_keyword(&state, id).await?;
    let (by, now, keyword) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        k.keyword.clone(),
    );
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            auto::delete_keyword_reply(c, id)?;
            let entry = Entry::new(
                AuditAction::KeywordReplyDelete,
                format!("关键词回复 {keyword}"),
            )
            .change(Some(&k), None);
            audit(c, &by, entry, now)
        })
        .await?;
    Ok(done(
        &ctx,
        Some(account),
        parse_group(&f.group),
        "keywords",
        "关键词回复已删除",
    ))
}

// ---- 常见问题 -----------------------------------------------------------------

pub async fn add_faq(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Form(f): Form<FaqForm>,
) -> Result<Response, AppError> {
    let group = need_group(&f.group)?;
    let user = s.user.clone();
    state
        .db
        .read(move |c| managed_group(c, &user, group))
        .await?;
    let account = parse_account(&f.account);
    let (question, answer, keywords) = match f.checked() {
        Ok(v) => v,
        Err(m) => {
            let kept = Kept {
                section: "faq",
                error: Some(m),
                faq: f,
                ..Kept::default()
            };
            return refused(&state, &ctx, &s.user, (account, Some(group)), kept).await;
        }
    };
    let (by, now, q) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        question.clone(),
    );
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            auto::add_faq(c, group, &q, &answer, &keywords)?;
            audit(
                c,
                &by,
                Entry::new(AuditAction::FaqCreate, format!("常见问题 {q}")),
                now,
            )
        })
        .await?;
    Ok(done(
        &ctx,
        account,
        Some(group),
        "faq",
        format!("常见问题 {question} 已添加"),
    ))
}

/// Loads an entry and its group, checking that the user manages the group.
async fn managed_faq(state: &AppState, user: &User, id: i64) -> Result<(Faq, Group), AppError> {
    let user = user.clone();
    state
        .db
        .read(move |c| -> Result<_, AppError> {
            let (group, f) = auto::faq_entry(c, id)?.ok_or(AppError::NotFound)?;
            Ok((f, managed_group(c, &user, group)?))
        })
        .await
}

#[derive(Template)]
#[template(path = "admin/automation_faq.html")]
struct FaqEditPage {
    page: Page,
    id: i64,
    group: Group,
    f: FaqForm,
    error: Option<String>,
}

pub async fn edit_faq(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Query(q): Query<PlaceForm>,
) -> Result<Response, AppError> {
    let (e, group) = managed_faq(&state, &s.user, id).await?;
    render(&FaqEditPage {
        page: Page::new(&ctx, format!("修改常见问题 {}", e.question), "automation"),
        id,
        f: FaqForm {
            account: q.account,
            group: group.id.to_string(),
            question: e.question,
            answer: e.answer,
            keywords: e.keywords.join(","),
        },
        group,
        error: None,
    })
}

pub async fn update_faq(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Form(f): Form<FaqForm>,
) -> Result<Response, AppError> {
    let (old, group) = managed_faq(&state, &s.user, id).await?;
    let account = parse_account(&f.account);
    let (question, answer, keywords) = match f.checked() {
        Ok(v) => v,
        Err(m) => {
            let page = FaqEditPage {
                page: Page::new(&ctx, format!("修改常见问题 {}", old.question), "automation"),
                id,
                f: FaqForm {
                    group: group.id.to_string(),
                    ..f
                },
                group,
                error: Some(m),
            };
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let (by, now, gid) = (Acting::user(&s.user, &ctx.ip), state.clock.now(), group.id);
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            auto::update_faq(c, id, &question, &answer, &keywords)?;
            let after = Faq {
                id,
                question: question.clone(),
                answer,
                keywords,
            };
            let entry = Entry::new(
                AuditAction::FaqUpdate,
                format!("常见问题 {} → {question}", old.question),
            )
            .change(Some(&old), Some(&after));
            audit(c, &by, entry, now)
        })
        .await?;
    Ok(done(&ctx, account, Some(gid), "faq", "常见问题已保存"))
}

pub async fn move_faq(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Form(f): Form<MoveForm>,
) -> Result<Response, AppError> {
    let (e, group) = managed_faq(&state, &s.user, id).await?;
    let up = f.up()?;
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            if auto::move_faq(c, id, up)? {
                let target = format!("常见问题 {}(调整顺序)", e.question);
                audit(c, &by, Entry::new(AuditAction::FaqUpdate, target), now)?;
            }
            Ok(())
        })
        .await?;
    Ok(done(
        &ctx,
        parse_account(&f.account),
        Some(group.id),
        "faq",
        "顺序已调整",
    ))
}

pub async fn delete_faq(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    IdPath(id): IdPath,
    Form(f): Form<PlaceForm>,
) -> Result<Response, AppError> {
    let (e, group) = managed_faq(&state, &s.user, id).await?;
    let (by, now, question) = (
        Acting::user(&s.user, &ctx.ip),
        state.clock.now(),
        e.question.clone(),
    );
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            auto::delete_faq(c, id)?;
            let entry = Entry::new(AuditAction::FaqDelete, format!("常见问题 {question}"))
                .change(Some(&e), None);
            audit(c, &by, entry, now)
        })
        .await?;
    Ok(done(
        &ctx,
        parse_account(&f.account),
        Some(group.id),
        "faq",
        "常见问题已删除",
    ))
}

// ---- 超时设置 -----------------------------------------------------------------

/// `POST /admin/automation/timeouts`: the group's timeouts, all or nothing.
pub async fn save_timeouts(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let group = need_group(field("group"))?;
    let account = parse_account(field("account"));
    let user = s.user.clone();
    let g = state
        .db
        .read(move |c| managed_group(c, &user, group))
        .await?;
    let rows = typed_rows(&pairs);
    let timeouts = match parse_timeouts(&rows) {
        Ok(t) => t,
        Err(m) => {
            let kept = Kept {
                section: "timeouts",
                error: Some(m),
                timeouts: Some(rows),
                ..Kept::default()
            };
            return refused(&state, &ctx, &s.user, (account, Some(group)), kept).await;
        }
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            let before = auto::timeouts(c, group)?;
            auto::set_timeouts(c, group, &timeouts)?;
            let entry = Entry::new(AuditAction::TimeoutsUpdate, format!("客服组 {}", g.name))
                .change(Some(&before), Some(&timeouts));
            audit(c, &by, entry, now)
        })
        .await?;
    Ok(done(
        &ctx,
        account,
        Some(group),
        "timeouts",
        "超时设置已保存",
    ))
}

// ---- 工号自动回复 (every agent, their own) ---------------------------------------

#[derive(Template)]
#[template(path = "admin/automation_agent.html")]
struct AgentReplyPage {
    page: Page,
    text: String,
    error: Option<String>,
    max: usize,
}

pub async fn agent_reply_page(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
) -> Result<Response, AppError> {
    let id = s.user.id;
    let text = state
        .db
        .read(move |c| auto::agent_auto_reply(c, id))
        .await?;
    render(&AgentReplyPage {
        page: Page::new(&ctx, "工号自动回复", "me"),
        text,
        error: None,
        max: AGENT_REPLY_MAX,
    })
}

pub async fn save_agent_reply(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Form(f): Form<AgentReplyForm>,
) -> Result<Response, AppError> {
    let text = f.auto_reply.trim().to_string();
    if text.chars().count() > AGENT_REPLY_MAX {
        let page = AgentReplyPage {
            page: Page::new(&ctx, "工号自动回复", "me"),
            text: f.auto_reply,
            error: Some(format!("工号自动回复不能超过 {AGENT_REPLY_MAX} 个字")),
            max: AGENT_REPLY_MAX,
        };
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let (by, now, id) = (Acting::user(&s.user, &ctx.ip), state.clock.now(), s.user.id);
    let name = s.user.username.clone();
    let off = text.is_empty();
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            let before = auto::agent_auto_reply(c, id)?;
            auto::set_agent_auto_reply(c, id, &text)?;
            let entry = Entry::new(AuditAction::AgentAutoReply, format!("工号 {name}"))
                .change(Some(&before), Some(&text));
            audit(c, &by, entry, now)
        })
        .await?;
    let msg = if off {
        "工号自动回复已关闭"
    } else {
        "工号自动回复已保存"
    };
    Ok(with_flash(
        Redirect::to("/console/auto-reply"),
        true,
        msg,
        ctx.secure_cookies,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn timeouts_are_off_unless_switched_on_and_must_be_in_range() {
        let t = parse_timeouts(&typed_rows(&pairs(&[("agent_transfer_mins", "10")]))).unwrap();
        assert_eq!(t, Timeouts::default(), "off: the value is ignored");
        let rows = typed_rows(&pairs(&[
            ("agent_transfer_mins_on", "on"),
            ("agent_transfer_mins", "10"),
        ]));
        assert_eq!(
            parse_timeouts(&rows).unwrap_err(),
            "客服未回复时自动转接须为 1–9 分钟之间的整数"
        );
        let rows = typed_rows(&pairs(&[
            ("agent_remind_secs_on", "on"),
            ("agent_remind_secs", " 600 "),
            ("follower_close_mins_on", "on"),
            ("follower_close_mins", "2"),
        ]));
        let t = parse_timeouts(&rows).unwrap();
        assert_eq!(t.agent_remind_secs, Some(600));
        assert_eq!(t.follower_close_mins, Some(2));
        let rows = typed_rows(&pairs(&[
            ("follower_prompt_mins_on", "on"),
            ("follower_prompt_mins", "5"),
            ("follower_close_mins_on", "on"),
            ("follower_close_mins", "5"),
        ]));
        assert!(
            parse_timeouts(&rows).is_err(),
            "close must come after the prompt"
        );
        // Every spec has a slot, and the rows of saved timeouts read back the same.
        let saved = Timeouts {
            reception_mins: Some(60),
            agent_comfort_mins: Some(1),
            ..Timeouts::default()
        };
        assert_eq!(parse_timeouts(&timeout_rows(&saved)).unwrap(), saved);
        for spec in &TIMEOUTS {
            assert!(
                slot(&mut Timeouts::default(), spec.key).is_some(),
                "{}",
                spec.key
            );
            assert!(
                (spec.min..=spec.max).contains(&spec.suggest),
                "{}",
                spec.key
            );
        }
    }

    #[test]
    fn the_preview_shows_the_faq_after_the_welcome_only_when_switched_on() {
        let faq = vec![Faq {
            id: 1,
            question: "如何收费?".into(),
            answer: "免费".into(),
            keywords: Vec::new(),
        }];
        let a = AutoReplies {
            welcome_faq: true,
            offhours_faq: false,
            location: String::new(),
            ..AutoReplies::default()
        };
        let p = preview(&a, &faq, "小王");
        let on = |when: &str| p.iter().find(|i| i.when == when).unwrap().texts.clone();
        assert_eq!(on("工作时间发起咨询").len(), 2);
        assert!(on("工作时间发起咨询")[1].contains("1. 如何收费?"));
        assert_eq!(on("非工作时间发起咨询").len(), 1);
        assert!(on("粉丝发送位置").is_empty(), "an empty text is off");
        assert!(on("客服接入会话")[0].contains("小王"));
    }

    #[test]
    fn texts_are_bounded() {
        let f = RepliesForm {
            closing: "字".repeat(TEXT_MAX + 1),
            ..RepliesForm::default()
        };
        assert_eq!(f.replies().unwrap_err(), "结束语不能超过 2000 个字");
        let k = KeywordForm {
            keyword: " 价格 ".into(),
            reply: "见官网".into(),
            ..KeywordForm::default()
        };
        assert_eq!(
            k.checked().unwrap(),
            ("价格".into(), false, "见官网".into())
        );
        let q = FaqForm {
            question: "如何收费?".into(),
            answer: " ".into(),
            ..FaqForm::default()
        };
        assert_eq!(q.checked().unwrap_err(), "请填写答案");
    }
}
