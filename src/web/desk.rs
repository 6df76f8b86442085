//! The conversation workspace (`/console`, D2–D11): lists, chat, actions.
//! Handlers parse, call `desk` inside one write transaction, publish what
//! changed on the live hub, and answer with the fragment htmx swaps in.

use super::form::{Form, IdPath, Query};
use super::page::{Page, render};
use super::rows::{self, RowTemplate, RowView, Seg};
use super::session::{AnyUser, Ctx};
use crate::access::{self, Viewer};
use crate::db::console::{self as q, Item, Today, TransferRequest};
use crate::db::{self, DbResult, conversations::Conversation};
use crate::desk::{self, DeskError};
use crate::error::AppError;
use crate::model::{
    AgentStatus, ConversationId, ConversationState, FollowerId, GroupId, MessageId, MessageKind,
    Role, User, UserId,
};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use rusqlite::Connection;
use serde::Deserialize;

// ------------------------------------------------------------------ views

/// One line of a list, as shown.
pub struct ItemView {
    pub id: ConversationId,
    pub follower_id: FollowerId,
    pub label: String,
    pub openid: String,
    pub account: String,
    pub source: String,
    pub first_contact: String,
    pub preview: String,
    pub time: String,
    pub unread: i64,
    pub agent: String,
    pub mine: bool,
    pub vip: bool,
    pub group_id: GroupId,
    pub selected: bool,
    /// `active`, `queued` or `ended`.
    pub state: &'static str,
}

pub struct GroupTab {
    pub id: i64,
    pub name: String,
    pub unread: i64,
    pub queued: i64,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "console/lists.html")]
pub struct ListsView {
    pub tabs: Vec<GroupTab>,
    pub group: Option<i64>,
    pub only_mine: bool,
    pub active: Vec<ItemView>,
    pub queued: Vec<ItemView>,
    /// Queued followers the user may not see in detail (count only).
    pub hidden_queue: i64,
    pub recent: Vec<ItemView>,
    /// Ended today (local time): still current contacts until midnight (C11).
    pub today: Vec<ItemView>,
    pub transfers: Vec<(TransferRequest, i64)>,
    pub is_admin: bool,
    pub csrf: String,
}

impl ListsView {
    pub fn queue_total(&self) -> usize {
        self.queued.len() + self.hidden_queue as usize
    }
    fn query(&self) -> String {
        let mut parts = vec![];
        if let Some(g) = self.group {
            parts.push(format!("group={g}"));
        }
        if self.only_mine {
            parts.push("mine=1".into());
        }
        parts.join("&")
    }
    pub fn tab_url(&self, g: Option<i64>) -> String {
        let mut s = String::from("/console/lists?");
        if let Some(g) = g {
            s.push_str(&format!("group={g}&"));
        }
        if self.only_mine {
            s.push_str("mine=1");
        }
        s
    }
    pub fn group_url(&self, id: &i64) -> String {
        self.tab_url(Some(*id))
    }
    pub fn self_url(&self) -> String {
        format!("/console/lists?{}", self.query())
    }
    pub fn mine_url(&self) -> String {
        let mut s = String::from("/console/lists?");
        if let Some(g) = self.group {
            s.push_str(&format!("group={g}&"));
        }
        if !self.only_mine {
            s.push_str("mine=1");
        }
        s
    }
}

pub struct BudgetView {
    pub allowed: bool,
    pub text: String,
    pub reason: String,
}

pub struct Choice {
    pub id: i64,
    pub name: String,
    pub note: String,
    pub depth: usize,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "console/chat.html")]
pub struct ChatView {
    pub id: ConversationId,
    pub follower_id: FollowerId,
    pub label: String,
    pub state: ConversationState,
    pub holder: String,
    pub mine: bool,
    pub can_accept: bool,
    pub can_remove: bool,
    pub rows: Vec<RowView>,
    pub budget: BudgetView,
    pub pending_transfer: Option<String>,
    pub agents: Vec<Choice>,
    pub groups: Vec<Choice>,
    pub categories: Vec<Choice>,
    pub require_category: bool,
    pub tags: Vec<Choice>,
    pub emoji: &'static [(&'static str, &'static str, &'static str)],
    pub csrf: String,
    /// The satisfaction survey's state (B13).
    pub survey: Option<String>,
    /// The user may invite the follower to rate (holder, or who ended it).
    pub can_survey: bool,
}

#[derive(Template)]
#[template(path = "console/side.html")]
pub struct SideView {
    pub follower: db::followers::Follower,
    pub label: String,
    pub account: String,
    pub first: String,
    pub last: String,
    pub served: Vec<String>,
    pub owners: Vec<Choice>,
    pub today: Today,
    pub saved: bool,
}

#[derive(Template)]
#[template(path = "console/index.html")]
struct IndexPage {
    page: Page,
    groups: Vec<crate::model::Group>,
    lists: ListsView,
    chat: Option<ChatView>,
    side: Option<SideView>,
    status: AgentStatus,
    auto_accept: Option<u32>,
    statuses: Vec<(AgentStatus, &'static str)>,
    limits: [u32; 5],
}

impl IndexPage {
    fn limit_selected(&self, n: &u32) -> bool {
        self.auto_accept == Some(*n)
    }
}

// ------------------------------------------------------------------ helpers

fn hhmm(t: jiff::Timestamp, tz: &jiff::tz::TimeZone, now: jiff::Timestamp) -> String {
    let z = t.to_zoned(tz.clone());
    if z.date() == now.to_zoned(tz.clone()).date() {
        z.strftime("%H:%M").to_string()
    } else {
        z.strftime("%m-%d").to_string()
    }
}

fn preview(i: &Item) -> String {
    use crate::model::MessageKind::*;
    match i.last_kind {
        Some(Text) | None => {
            let t: String = i.last_text.chars().take(40).collect();
            rows::segments(&t)
                .into_iter()
                .map(|s| match s {
                    Seg::Text(t) => t,
                    Seg::Emoji { name, .. } => format!("[{name}]"),
                })
                .collect()
        }
        Some(Image) => "[图片]".into(),
        Some(Voice) => "[语音]".into(),
        Some(Video) | Some(ShortVideo) => "[视频]".into(),
        Some(Location) => "[位置]".into(),
        Some(Link) => "[链接]".into(),
        Some(_) => "[消息]".into(),
    }
}

fn item_view(
    i: &Item,
    me: UserId,
    tz: &jiff::tz::TimeZone,
    now: jiff::Timestamp,
    selected: Option<ConversationId>,
) -> ItemView {
    ItemView {
        id: i.id,
        follower_id: i.follower_id,
        label: i.label(),
        openid: i.openid.clone(),
        account: i.account_name.clone(),
        source: if i.subscribe_scene.is_empty() {
            "公众号消息".into()
        } else {
            format!("关注来源:{}", i.subscribe_scene)
        },
        first_contact: super::page::local_time(i.first_seen_at, tz),
        preview: preview(i),
        time: hhmm(i.last_at, tz, now),
        unread: i.unread,
        agent: i.agent_name.clone(),
        mine: i.agent_id == Some(me),
        vip: i.vip,
        group_id: i.group_id,
        selected: selected == Some(i.id),
        state: i.state.as_str(),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    group: Option<i64>,
    mine: Option<String>,
    c: Option<i64>,
}

fn lists_view(
    c: &Connection,
    user: &User,
    lq: &ListQuery,
    csrf: &str,
    tz: &jiff::tz::TimeZone,
    now: jiff::Timestamp,
) -> DbResult<ListsView> {
    let viewer = Viewer::load(c, user)?;
    let (active, queued) = q::open_items(c, &viewer.reach)?;
    let midnight = now
        .to_zoned(tz.clone())
        .start_of_day()
        .map(|z| z.timestamp())
        .unwrap_or(now);
    let groups = access::groups(c, &viewer)?;
    let only_mine = lq
        .mine
        .as_deref()
        .is_some_and(|m| !m.is_empty() && m != "0");
    let group = lq.group.filter(|g| groups.iter().any(|x| x.id.0 == *g));
    let in_tab = |i: &Item| group.is_none_or(|g| i.group_id.0 == g);
    let selected = lq.c.map(ConversationId);
    let tabs = groups
        .iter()
        .map(|g| GroupTab {
            id: g.id.0,
            name: g.name.clone(),
            unread: active
                .iter()
                .filter(|i| i.group_id == g.id && i.agent_id == Some(user.id))
                .map(|i| i.unread)
                .sum(),
            queued: queued.iter().filter(|i| i.group_id == g.id).count() as i64,
            active: group == Some(g.id.0),
        })
        .collect();
    let mut shown_queue = vec![];
    let mut hidden_queue = 0;
    for i in queued.iter().filter(|i| in_tab(i)) {
        if access::sees_queue_of(c, &viewer, i.group_id)? {
            shown_queue.push(item_view(i, user.id, tz, now, selected));
        } else {
            hidden_queue += 1;
        }
    }
    Ok(ListsView {
        tabs,
        group,
        only_mine,
        active: active
            .iter()
            .filter(|i| in_tab(i) && (!only_mine || i.agent_id == Some(user.id)))
            .map(|i| item_view(i, user.id, tz, now, selected))
            .collect(),
        queued: shown_queue,
        hidden_queue,
        recent: q::ended_between(
            c,
            user.id,
            midnight - jiff::SignedDuration::from_hours(24 * 7),
            midnight,
        )?
        .iter()
        .filter(|i| in_tab(i))
        .map(|i| item_view(i, user.id, tz, now, selected))
        .collect(),
        today: q::ended_between(
            c,
            user.id,
            midnight,
            now + jiff::SignedDuration::from_secs(1),
        )?
        .iter()
        .filter(|i| in_tab(i))
        .map(|i| item_view(i, user.id, tz, now, selected))
        .collect(),
        transfers: q::transfers_for(c, user.id, now)?
            .into_iter()
            .map(|t| {
                let left = t.expires_at.duration_since(now).as_secs().max(0);
                (t, left)
            })
            .collect(),
        is_admin: user.role != Role::Agent,
        csrf: csrf.to_string(),
    })
}

fn budget_view(b: &crate::wechat::budget::Budget, now: jiff::Timestamp) -> BudgetView {
    match (b.allowed, b.until) {
        (true, Some(until)) => {
            let mins = until.duration_since(now).as_mins().max(0);
            BudgetView {
                allowed: true,
                text: format!(
                    "窗口剩余 {:02}:{:02} · 可回复 {} 条",
                    mins / 60,
                    mins % 60,
                    b.remaining
                ),
                reason: String::new(),
            }
        }
        _ => BudgetView {
            allowed: false,
            text: "不可回复".into(),
            reason: b.reason.clone().unwrap_or_default(),
        },
    }
}

/// All rows of a follower's recent history, with notes, stamped.
fn timeline(
    c: &Connection,
    follower: FollowerId,
    tz: &jiff::tz::TimeZone,
    now: jiff::Timestamp,
) -> DbResult<Vec<RowView>> {
    let messages = db::messages::history(c, follower, None, 60)?;
    let oldest = messages.first().map(|m| m.created_at);
    let mut rows: Vec<(jiff::Timestamp, RowView)> = Vec::new();
    for m in messages
        .iter()
        .filter(|m| m.kind != crate::model::MessageKind::Event)
    {
        rows.push((m.created_at, row_of(c, m, tz)?));
    }
    for n in q::notes(c, follower)? {
        if oldest.is_none_or(|o| n.at >= o) {
            rows.push((n.at, rows::note_row(&n, tz)));
        }
    }
    rows.sort_by_key(|(at, _)| *at);
    rows::stamp(&mut rows, tz, now.to_zoned(tz.clone()).date());
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

fn row_of(c: &Connection, m: &db::messages::Message, tz: &jiff::tz::TimeZone) -> DbResult<RowView> {
    let media = db::media::of_message(c, m.id)?;
    let agent = match m.sender_id {
        Some(u) => db::users::get(c, u)?.map(|u| u.display_name),
        None => None,
    };
    Ok(rows::message_row(m, &media, agent, tz))
}

/// One message row as a live push or a swap renders it; with a stamp when the
/// previous message of the follower is more than 3 minutes older.
pub fn render_message_row(
    c: &Connection,
    id: MessageId,
    tz: &jiff::tz::TimeZone,
    now: jiff::Timestamp,
) -> DbResult<Option<(String, FollowerId)>> {
    let Some(m) = db::messages::get(c, id)? else {
        return Ok(None);
    };
    let mut row = row_of(c, &m, tz)?;
    let prev: Option<i64> = c
        .query_row(
            "SELECT max(created_at) FROM messages WHERE follower_id = ?1 AND id < ?2 AND kind <> 'event'",
            rusqlite::params![m.follower_id, m.id],
            |r| r.get(0),
        )
        .unwrap_or(None);
    if prev
        .is_none_or(|p| m.created_at.duration_since(db::ts(p)) > jiff::SignedDuration::from_mins(3))
    {
        row.stamp = Some(rows::stamp_text(
            m.created_at,
            tz,
            now.to_zoned(tz.clone()).date(),
        ));
    }
    Ok(Some((
        RowTemplate { r: &row }
            .render()
            .map_err(|e| db::DbError::Commit(e.to_string()))?,
        m.follower_id,
    )))
}

pub fn render_note_row(
    c: &Connection,
    id: i64,
    tz: &jiff::tz::TimeZone,
) -> DbResult<Option<(String, ConversationId)>> {
    let Some(n) = q::note(c, id)? else {
        return Ok(None);
    };
    let row = rows::note_row(&n, tz);
    Ok(Some((
        RowTemplate { r: &row }
            .render()
            .map_err(|e| db::DbError::Commit(e.to_string()))?,
        n.conversation_id,
    )))
}

fn chat_view(
    c: &Connection,
    user: &User,
    conv: &Conversation,
    csrf: &str,
    tz: &jiff::tz::TimeZone,
    now: jiff::Timestamp,
) -> DbResult<ChatView> {
    let f = db::followers::get(c, conv.follower_id)?
        .ok_or_else(|| db::DbError::Commit("follower missing".into()))?;
    let holder = match conv.agent_id {
        Some(a) => db::users::get(c, a)?
            .map(|u| u.display_name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let mine = conv.agent_id == Some(user.id) && conv.state == ConversationState::Active;
    let b = desk::budget_of(c, conv.follower_id, now)?;
    let pending_transfer = match desk::pending_transfer(c, conv.id)? {
        Some((_, to, _, expires)) => {
            let name = db::users::get(c, to)?
                .map(|u| u.display_name)
                .unwrap_or_default();
            Some(format!(
                "已请求转接给 {name},等待对方接受(剩余 {} 秒)",
                expires.duration_since(now).as_secs().max(0)
            ))
        }
        None => None,
    };
    let agents = q::agents_of(c, conv.group_id)?
        .into_iter()
        .filter(|(id, _, _)| *id != user.id)
        .map(|(id, name, status)| Choice {
            id: id.0,
            name,
            note: status.label().into(),
            depth: 0,
            enabled: status == AgentStatus::Online,
        })
        .collect();
    let groups = db::groups::list(c)?
        .into_iter()
        .filter(|g| g.group.id != conv.group_id)
        .map(|g| Choice {
            id: g.group.id.0,
            name: g.group.name,
            note: String::new(),
            depth: 0,
            enabled: true,
        })
        .collect();
    let categories = category_choices(c, conv.group_id)?;
    let tags = tag_choices(c)?;
    Ok(ChatView {
        id: conv.id,
        follower_id: conv.follower_id,
        label: f.label(),
        state: conv.state,
        holder,
        mine,
        can_accept: conv.state == ConversationState::Queued,
        can_remove: conv.state == ConversationState::Queued && user.role != Role::Agent,
        rows: timeline(c, conv.follower_id, tz, now)?,
        budget: budget_view(&b, now),
        pending_transfer,
        agents,
        groups,
        categories,
        require_category: db::settings::group(c, conv.group_id)?.require_category,
        tags,
        emoji: rows::EMOJI,
        csrf: csrf.to_string(),
        survey: crate::desk::survey_text(c, conv.id)?,
        can_survey: conv.agent_id == Some(user.id) && conv.state != ConversationState::Queued,
    })
}

fn category_choices(c: &Connection, g: GroupId) -> DbResult<Vec<Choice>> {
    Ok(db::taxonomy::categories(c, g)?
        .into_iter()
        .map(|k| Choice {
            id: k.id,
            name: k.name,
            note: String::new(),
            depth: k.depth,
            enabled: true,
        })
        .collect())
}

fn tag_choices(c: &Connection) -> DbResult<Vec<Choice>> {
    Ok(db::taxonomy::tags(c)?
        .into_iter()
        .map(|t| Choice {
            id: t.id,
            name: t.name,
            note: String::new(),
            depth: t.depth,
            enabled: true,
        })
        .collect())
}

fn side_view(
    c: &Connection,
    user: &User,
    follower: FollowerId,
    tz: &jiff::tz::TimeZone,
    now: jiff::Timestamp,
) -> DbResult<Option<SideView>> {
    let Some(f) = db::followers::get(c, follower)? else {
        return Ok(None);
    };
    let account = db::accounts::get(c, f.account_id)?
        .map(|a| a.name)
        .unwrap_or_default();
    // Owners (负责人) come from the follower's group only.
    let group = access::follower_groups(c, follower, f.account_id)?;
    let owners = group
        .first()
        .map(|g| q::agents_of(c, *g))
        .transpose()?
        .unwrap_or_default()
        .into_iter()
        .map(|(id, name, _)| Choice {
            id: id.0,
            name,
            note: String::new(),
            depth: 0,
            enabled: f.owner_id == Some(id),
        })
        .collect();
    let midnight = now
        .to_zoned(tz.clone())
        .start_of_day()
        .map(|z| z.timestamp())
        .unwrap_or(now);
    Ok(Some(SideView {
        label: f.label(),
        account,
        first: super::page::local_time(f.first_seen_at, tz),
        last: super::page::local_time(f.last_seen_at, tz),
        served: q::served_by(c, follower)?,
        owners,
        today: q::today(c, user.id, midnight)?,
        saved: false,
        follower: f,
    }))
}

fn html(s: String) -> Response {
    Html(s).into_response()
}

fn fragment(t: &impl Template) -> Result<Response, AppError> {
    Ok(html(t.render()?))
}

fn ok_flash(text: &str) -> Response {
    let mut r = html(format!(
        "<div class=\"alert alert-ok\" role=\"status\">{}</div>",
        crate::error::askama_escape(text)
    ));
    r.headers_mut()
        .insert("hx-retarget", HeaderValue::from_static("#flash"));
    r.headers_mut()
        .insert("hx-reswap", HeaderValue::from_static("innerHTML"));
    r
}

// ------------------------------------------------------------------ pages

pub async fn index(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Query(lq): Query<ListQuery>,
) -> Result<Response, AppError> {
    let user = s.user.clone();
    let csrf = ctx.csrf.clone();
    let tz = state.config.timezone.clone();
    let now = state.clock.now();
    let selected = lq.c.map(ConversationId);
    let (groups, lists, chat, side, (status, auto_accept)) = state
        .db
        .read(move |c| -> Result<_, AppError> {
            let lists = lists_view(c, &user, &lq, &csrf, &tz, now)?;
            let mut chat = None;
            let mut side = None;
            if let Some(id) = selected {
                let v = Viewer::load(c, &user)?;
                let conv = access::conversation(c, &v, id)?;
                if conv.state != ConversationState::Queued
                    || access::sees_queue_of(c, &v, conv.group_id)?
                {
                    side = side_view(c, &user, conv.follower_id, &tz, now)?;
                    chat = Some(chat_view(c, &user, &conv, &csrf, &tz, now)?);
                }
            }
            Ok((
                db::users::groups_of(c, user.id)?,
                lists,
                chat,
                side,
                desk::status_of(c, user.id)?,
            ))
        })
        .await?;
    render(&IndexPage {
        page: Page::new(&ctx, "会话", "console"),
        groups,
        lists,
        chat,
        side,
        status,
        auto_accept,
        statuses: vec![
            (AgentStatus::Online, "在线"),
            (AgentStatus::Busy, "忙碌"),
            (AgentStatus::Away, "离开"),
            (AgentStatus::Offline, "离线"),
        ],
        limits: [10, 20, 30, 40, 50],
    })
}

pub async fn lists(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Query(lq): Query<ListQuery>,
) -> Result<Response, AppError> {
    let (user, csrf, tz, now) = (
        s.user,
        ctx.csrf,
        state.config.timezone.clone(),
        state.clock.now(),
    );
    let view = state
        .db
        .read(move |c| lists_view(c, &user, &lq, &csrf, &tz, now))
        .await?;
    fragment(&view)
}

/// The chat of one conversation: a fragment for htmx, else the whole page.
pub async fn chat(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    if !ctx.htmx {
        return Ok(Redirect::to(&format!("/console?c={id}")).into_response());
    }
    let id = ConversationId(id);
    let (user, csrf, tz, now) = (
        s.user,
        ctx.csrf,
        state.config.timezone.clone(),
        state.clock.now(),
    );
    let (chat, side) = state
        .db
        .read(move |c| -> Result<_, AppError> {
            let conv = access::conversation_details(c, &Viewer::load(c, &user)?, id)?;
            Ok((
                chat_view(c, &user, &conv, &csrf, &tz, now)?,
                side_view(c, &user, conv.follower_id, &tz, now)?,
            ))
        })
        .await?;
    if chat.mine {
        let now = state.clock.now();
        state.db.write(move |c| desk::mark_read(c, id, now)).await?;
    }
    with_side(chat, side)
}

/// Run a desk change in one transaction and publish it.
async fn change<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Connection, jiff::Timestamp) -> Result<(T, desk::Out), DeskError> + Send + 'static,
) -> Result<T, AppError> {
    let now = state.clock.now();
    let (value, out) = state.db.write(move |c| f(c, now)).await?;
    state.publish(out);
    Ok(value)
}

/// Re-renders the chat after an action.
async fn chat_after(
    state: &AppState,
    ctx: &Ctx,
    user: User,
    id: ConversationId,
) -> Result<Response, AppError> {
    let (csrf, tz, now) = (
        ctx.csrf.clone(),
        state.config.timezone.clone(),
        state.clock.now(),
    );
    let (chat, side) = state
        .db
        .read(move |c| -> Result<_, AppError> {
            let conv = desk::visible(c, &user, id)?;
            Ok((
                chat_view(c, &user, &conv, &csrf, &tz, now)?,
                side_view(c, &user, conv.follower_id, &tz, now)?,
            ))
        })
        .await?;
    with_side(chat, side)
}

/// The chat, with the side pane (profile, quick replies) out of band.
fn with_side(chat: ChatView, side: Option<SideView>) -> Result<Response, AppError> {
    let mut body = chat.render()?;
    if let Some(side) = side {
        body.push_str("<div id=\"side\" hx-swap-oob=\"innerHTML\">");
        body.push_str(&side.render()?);
        body.push_str("</div>");
    }
    Ok(html(body))
}

pub async fn read(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user;
    change(&state, move |c, now| {
        let conv = desk::visible(c, &user, id)?;
        if conv.agent_id == Some(user.id) {
            desk::mark_read(c, id, now)?;
        }
        Ok(((), desk::Out::default()))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn accept(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user.clone();
    change(&state, move |c, now| {
        // Picking one follower out of the queue needs the queue's details.
        access::conversation_details(c, &Viewer::load(c, &user)?, id)?;
        Ok(((), desk::accept(c, &user, &[id], now)?))
    })
    .await?;
    chat_after(&state, &ctx, s.user, id).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ManyForm {
    ids: Vec<i64>,
    group: Option<i64>,
}

/// Accepts several queued followers at once, or "the next one" of a group
/// (for agents who see only the count).
pub async fn accept_many(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Form(f): Form<ManyForm>,
) -> Result<Response, AppError> {
    let user = s.user.clone();
    let taken = change(&state, move |c, now| {
        let ids: Vec<ConversationId> = if f.ids.is_empty() {
            let group = f.group.map(GroupId);
            let viewer = Viewer::load(c, &user)?;
            let (_, queued) = q::open_items(c, &viewer.reach)?;
            queued
                .into_iter()
                .find(|i| group.is_none_or(|g| i.group_id == g))
                .map(|i| vec![i.id])
                .ok_or_else(|| DeskError::Refused("当前没有排队的客户".into()))?
        } else {
            let viewer = Viewer::load(c, &user)?;
            for id in &f.ids {
                access::conversation_details(c, &viewer, ConversationId(*id))?;
            }
            f.ids.iter().map(|i| ConversationId(*i)).collect()
        };
        let out = desk::accept(c, &user, &ids, now)?;
        Ok((ids, out))
    })
    .await?;
    match taken.as_slice() {
        [one] => chat_after(&state, &ctx, s.user, *one).await,
        many => Ok(ok_flash(&format!("已接入 {} 位客户", many.len()))),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReplyForm {
    text: String,
}

pub async fn reply(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
    Form(f): Form<ReplyForm>,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user;
    let message = change(&state, move |c, now| {
        desk::reply(c, &user, id, &f.text, now)
    })
    .await?;
    message_fragment(&state, message).await
}

/// One message row as an htmx answer (the same HTML the live stream pushes).
pub(crate) async fn message_fragment(
    state: &AppState,
    message: MessageId,
) -> Result<Response, AppError> {
    let (tz, now) = (state.config.timezone.clone(), state.clock.now());
    let row = state
        .db
        .read(move |c| render_message_row(c, message, &tz, now))
        .await?;
    Ok(html(row.map(|(h, _)| h).unwrap_or_default()))
}

pub async fn retry(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let message = MessageId(id);
    let user = s.user;
    change(&state, move |c, now| {
        Ok(((), desk::retry(c, &user, message, now)?))
    })
    .await?;
    Ok(ok_flash("已重新发送"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NoteForm {
    body: String,
}

pub async fn note(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
    Form(f): Form<NoteForm>,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user;
    let note = change(&state, move |c, now| {
        let out = desk::note(c, &user, id, &f.body, now)?;
        let note = out.events.iter().find_map(|e| match e {
            crate::live::Live::Note { id, .. } => Some(*id),
            _ => None,
        });
        Ok((note, out))
    })
    .await?;
    let tz = state.config.timezone.clone();
    let row = match note {
        Some(n) => state.db.read(move |c| render_note_row(c, n, &tz)).await?,
        None => None,
    };
    Ok(html(row.map(|(h, _)| h).unwrap_or_default()))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TransferForm {
    /// `u<id>` for an agent of the group, `g<id>` for another group.
    target: String,
    note: String,
}

pub async fn transfer(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
    Form(f): Form<TransferForm>,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user.clone();
    if f.note.chars().count() > 200 {
        return Err(AppError::BadRequest("转接说明不能超过 200 字".into()));
    }
    let target = f.target.clone();
    let parse = |p: &str| target.strip_prefix(p).and_then(|n| n.parse::<i64>().ok());
    let (to_user, to_group) = (parse("u"), parse("g"));
    if to_user.is_none() && to_group.is_none() {
        return Err(AppError::BadRequest("请选择转接对象".into()));
    }
    change(&state, move |c, now| {
        let out = match (to_user, to_group) {
            (Some(u), _) => desk::transfer_to_agent(c, &user, id, UserId(u), &f.note, now)?,
            (_, Some(g)) => desk::transfer_to_group(c, &user, id, GroupId(g), &f.note, now)?,
            _ => desk::Out::default(),
        };
        Ok(((), out))
    })
    .await?;
    match chat_after(&state, &ctx, s.user, id).await {
        // Sent to a group the agent is not in: it is out of their sight now.
        Err(AppError::Denied(_)) => Ok(html(
            "<div class=\"empty-state\" role=\"status\"><p>会话已转接到其他客服组,将由该组客服接待。</p></div>"
                .into(),
        )),
        other => other,
    }
}

pub async fn transfer_accept(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let user = s.user.clone();
    let conv = change(&state, move |c, now| {
        let conv: ConversationId = c
            .query_row(
                "SELECT conversation_id FROM transfers WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .map_err(|_| DeskError::NotFound)?;
        Ok((conv, desk::answer_transfer(c, &user, id, true, now)?))
    })
    .await?;
    let mut resp = chat_after(&state, &ctx, s.user, conv).await?;
    resp.headers_mut()
        .insert("hx-retarget", HeaderValue::from_static("#chat"));
    resp.headers_mut()
        .insert("hx-reswap", HeaderValue::from_static("innerHTML"));
    Ok(resp)
}

pub async fn transfer_decline(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let user = s.user;
    change(&state, move |c, now| {
        Ok(((), desk::answer_transfer(c, &user, id, false, now)?))
    })
    .await?;
    Ok(ok_flash("已拒绝转接"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EndForm {
    category: Vec<i64>,
    remark: String,
}

pub async fn end(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
    Form(f): Form<EndForm>,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user.clone();
    change(&state, move |c, now| {
        Ok(((), desk::end(c, &user, id, &f.category, &f.remark, now)?))
    })
    .await?;
    chat_after(&state, &ctx, s.user, id).await
}

pub async fn remove(
    State(state): State<AppState>,
    super::session::AdminUser(_, s): super::session::AdminUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user;
    change(&state, move |c, now| {
        Ok(((), desk::remove(c, &user, id, now)?))
    })
    .await?;
    Ok(ok_flash("已将该客户移出排队"))
}

pub async fn reopen(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let follower = FollowerId(id);
    let user = s.user;
    let conv = change(&state, move |c, now| desk::reopen(c, &user, follower, now)).await?;
    let to = format!("/console?c={}", conv.0);
    if ctx.htmx {
        let mut r = StatusCode::NO_CONTENT.into_response();
        r.headers_mut().insert(
            "hx-redirect",
            HeaderValue::from_str(&to).map_err(|e| AppError::Internal(e.to_string()))?,
        );
        return Ok(r);
    }
    Ok(Redirect::to(&to).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MarkForm {
    note: String,
}

pub async fn mark(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
    Form(f): Form<MarkForm>,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user;
    change(&state, move |c, now| {
        desk::mark(c, &user, id, &f.note, now)?;
        Ok(((), desk::Out::default()))
    })
    .await?;
    Ok(ok_flash("已标注,可在“标注”列表中跟进"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TagForm {
    tag: Option<i64>,
    message: Option<i64>,
    remark: String,
}

pub async fn tag(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
    Form(f): Form<TagForm>,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user;
    let Some(tag) = f.tag else {
        return Err(AppError::BadRequest("请选择一个标签".into()));
    };
    change(&state, move |c, now| {
        desk::tag(c, &user, id, tag, f.message.map(MessageId), &f.remark, now)?;
        Ok(((), desk::Out::default()))
    })
    .await?;
    Ok(ok_flash("已添加标签"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusForm {
    status: String,
    /// "off" or 10/20/30/40/50; absent (or empty): unchanged.
    auto_accept: Option<String>,
}

pub async fn set_status(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    Form(f): Form<StatusForm>,
) -> Result<Response, AppError> {
    let status =
        AgentStatus::parse(&f.status).ok_or_else(|| AppError::BadRequest("未知的状态".into()))?;
    let limit = match f.auto_accept.as_deref() {
        None => None,
        Some("off") => Some(None),
        Some(n) => match n.parse::<u32>() {
            Ok(n) if [10, 20, 30, 40, 50].contains(&n) => Some(Some(n)),
            _ => {
                return Err(AppError::BadRequest(
                    "自动接入上限只能是 10、20、30、40 或 50".into(),
                ));
            }
        },
    };
    let uid = s.user.id;
    change(&state, move |c, now| {
        Ok(((), desk::set_status(c, uid, status, limit, now)?))
    })
    .await?;
    Ok(ok_flash(&format!("状态已切换为{}", status.label())))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ProfileForm {
    remark: String,
    labels: String,
    vip: Option<String>,
    owner: Option<i64>,
}

pub async fn profile(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let follower = FollowerId(id);
    let (user, tz, now) = (s.user, state.config.timezone.clone(), state.clock.now());
    let view = state
        .db
        .read(move |c| -> Result<_, AppError> {
            follower_visible(c, &user, follower)?;
            side_view(c, &user, follower, &tz, now)?.ok_or(AppError::NotFound)
        })
        .await?;
    fragment(&view)
}

/// May the user see this follower ([`access::follower`])?
fn follower_visible(c: &Connection, user: &User, follower: FollowerId) -> Result<(), AppError> {
    access::follower(c, &Viewer::load(c, user)?, follower)?;
    Ok(())
}

pub async fn save_profile(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
    Form(f): Form<ProfileForm>,
) -> Result<Response, AppError> {
    let follower = FollowerId(id);
    if f.remark.chars().count() > 30 {
        return Err(AppError::BadRequest("备注名不能超过 30 字".into()));
    }
    if f.labels.chars().count() > 200 {
        return Err(AppError::BadRequest("标签合计不能超过 200 字".into()));
    }
    let (user, tz, now) = (s.user, state.config.timezone.clone(), state.clock.now());
    let view = state
        .db
        .write(move |c| -> Result<_, AppError> {
            let current = access::follower(c, &Viewer::load(c, &user)?, follower)?;
            let labels: Vec<&str> = f
                .labels
                .split([',', ','])
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let owner = f.owner.filter(|o| *o > 0).map(UserId);
            if let Some(o) = owner.filter(|o| current.owner_id != Some(*o)) {
                if db::users::get(c, o)?.is_none() {
                    return Err(AppError::BadRequest("负责人不存在".into()));
                }
                let group = access::follower_groups(c, follower, current.account_id)?;
                let theirs = db::users::group_ids(c, o)?;
                if !group
                    .first()
                    .is_some_and(|g| access::owner_allowed(&theirs, *g))
                {
                    return Err(AppError::BadRequest(
                        "负责人必须是该粉丝所属客服组的成员".into(),
                    ));
                }
            }
            c.execute(
                "UPDATE followers SET remark = ?2, labels = ?3, vip = ?4, owner_id = ?5 WHERE id = ?1",
                rusqlite::params![
                    follower,
                    f.remark.trim(),
                    labels.join(","),
                    f.vip.is_some(),
                    owner
                ],
            )
            .map_err(db::DbError::from)?;
            // A VIP waits less from now on.
            c.execute(
                "UPDATE conversations SET vip = ?2 WHERE follower_id = ?1 AND state = 'queued'",
                rusqlite::params![follower, f.vip.is_some()],
            )
            .map_err(db::DbError::from)?;
            let mut v = side_view(c, &user, follower, &tz, now)?.ok_or(AppError::NotFound)?;
            v.saved = true;
            Ok(v)
        })
        .await?;
    fragment(&view)
}

#[derive(Template)]
#[template(path = "console/kb.html")]
pub struct KbView {
    pub q: String,
    /// (folder, entries)
    pub folders: Vec<(String, Vec<db::taxonomy::KbEntry>)>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct KbQuery {
    q: String,
}

/// The quick-replies panel (D6): the knowledge base of the user's groups, searchable.
pub async fn kb(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    Query(kq): Query<KbQuery>,
) -> Result<Response, AppError> {
    let user = s.user;
    let q = kq.q.chars().take(50).collect::<String>();
    let qq = q.clone();
    let entries = state
        .db
        .read(move |c| -> DbResult<_> {
            let groups = access::group_ids(c, &Viewer::load(c, &user)?)?;
            db::taxonomy::kb(c, &groups, &qq)
        })
        .await?;
    let mut folders: Vec<(String, Vec<db::taxonomy::KbEntry>)> = Vec::new();
    for e in entries {
        let name = if e.folder.is_empty() {
            "未分类".to_string()
        } else {
            e.folder.clone()
        };
        match folders.iter_mut().find(|(f, _)| *f == name) {
            Some((_, list)) => list.push(e),
            None => folders.push((name, vec![e])),
        }
    }
    fragment(&KbView { q, folders })
}

#[derive(Template)]
#[template(path = "console/history.html")]
struct HistoryPage {
    page: Page,
    follower: db::followers::Follower,
    label: String,
    rows: Vec<RowView>,
    from: String,
    to: String,
    older: Option<String>,
    conversations: Vec<(String, String, String, String, String)>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct HistoryQuery {
    from: String,
    to: String,
    before: Option<i64>,
}

/// A follower's whole history (D8): messages and notes, 50 per page, by date range.
pub async fn history(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
    Query(hq): Query<HistoryQuery>,
) -> Result<Response, AppError> {
    let follower = FollowerId(id);
    let tz = state.config.timezone.clone();
    let day = |s: &str| -> Result<Option<jiff::civil::Date>, AppError> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        s.trim()
            .parse::<jiff::civil::Date>()
            .map(Some)
            .map_err(|_| AppError::BadRequest("日期格式应为 2026-01-31".into()))
    };
    let (from_d, to_d) = (day(&hq.from)?, day(&hq.to)?);
    let start = |d: jiff::civil::Date| d.to_zoned(tz.clone()).map(|z| z.timestamp()).ok();
    let from = from_d.and_then(start);
    let to = to_d.and_then(|d| d.tomorrow().ok()).and_then(start);
    let user = s.user.clone();
    let (tz2, now) = (tz.clone(), state.clock.now());
    let before = hq.before;
    let (f, rows, convs) = state
        .db
        .read(move |c| -> Result<_, AppError> {
            follower_visible(c, &user, follower)?;
            let f = db::followers::get(c, follower)?.ok_or(AppError::NotFound)?;
            let messages = q::history(c, follower, from, to, before, 50)?;
            let mut rows = vec![];
            for m in &messages {
                rows.push((m.created_at, row_of(c, m, &tz2)?));
            }
            if let (Some(first), Some(last)) = (messages.first(), messages.last()) {
                for n in q::notes(c, follower)? {
                    if n.at >= first.created_at && n.at <= last.created_at {
                        rows.push((n.at, rows::note_row(&n, &tz2)));
                    }
                }
            }
            rows.sort_by_key(|(at, _)| *at);
            let mut stmt = c
                .prepare(
                    "SELECT v.opened_at, v.state, coalesce(u.display_name, ''), v.id, coalesce(
                        (SELECT group_concat(k.name, '、') FROM conversation_categories cc
                         JOIN categories k ON k.id = cc.category_id WHERE cc.conversation_id = v.id), '')
                     FROM conversations v LEFT JOIN users u ON u.id = v.agent_id
                     WHERE v.follower_id = ?1 ORDER BY v.id DESC LIMIT 20",
                )
                .map_err(db::DbError::from)?;
            let convs = stmt
                .query_map([follower], |r| {
                    Ok((
                        super::page::local_time(db::ts(r.get(0)?), &tz2),
                        ConversationState::parse(&r.get::<_, String>(1)?)
                            .map(|s| s.label().to_string())
                            .unwrap_or_default(),
                        r.get(2)?,
                        r.get::<_, i64>(3)?,
                        r.get(4)?,
                    ))
                })
                .map_err(db::DbError::from)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db::DbError::from)?;
            let mut with_survey = Vec::with_capacity(convs.len());
            for (at, st, agent, id, cats) in convs {
                let survey = crate::desk::survey_text(c, ConversationId(id))?.unwrap_or_default();
                with_survey.push((at, st, agent, cats, survey));
            }
            Ok((f, (rows, messages.first().map(|m| m.id.0), messages.len()), with_survey))
        })
        .await?;
    let (mut rows, oldest, count) = rows;
    rows::stamp(&mut rows, &tz, now.to_zoned(tz.clone()).date());
    let older = (count == 50).then(|| {
        format!(
            "/console/f/{}/history?from={}&to={}&before={}",
            id,
            hq.from.trim(),
            hq.to.trim(),
            oldest.unwrap_or(0)
        )
    });
    render(&HistoryPage {
        page: Page::new(&ctx, "历史消息", "console"),
        label: f.label(),
        follower: f,
        rows: rows.into_iter().map(|(_, r)| r).collect(),
        from: hq.from,
        to: hq.to,
        older,
        conversations: convs,
    })
}

/// The reply-budget badge alone, so the chat keeps it current as messages come and go.
pub async fn budget(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let (id, user, now) = (ConversationId(id), s.user, state.clock.now());
    let b = state
        .db
        .read(move |c| -> Result<_, AppError> {
            let conv = desk::visible(c, &user, id)?;
            Ok(desk::budget_of(c, conv.follower_id, now)?)
        })
        .await?;
    let v = budget_view(&b, now);
    Ok(html(format!(
        "<span class=\"budget {}\" data-allowed=\"{}\" title=\"{}\">{}</span>",
        if v.allowed { "ok" } else { "no" },
        if v.allowed { 1 } else { 0 },
        crate::error::askama_escape(&v.reason),
        crate::error::askama_escape(&v.text)
    )))
}

/// The agent invites the follower to rate the service (B13).
pub async fn survey(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let id = ConversationId(id);
    let user = s.user.clone();
    let sent = change(&state, move |c, now| {
        let conv = desk::visible(c, &user, id)?;
        if conv.agent_id != Some(user.id) || conv.state == ConversationState::Queued {
            return Err(DeskError::Denied("只有接待该会话的客服可以邀请评价".into()));
        }
        let mut out = desk::Out::default();
        let r = crate::desk::send_survey(c, id, now, &mut out)?;
        Ok((r, out))
    })
    .await?;
    if let Err(why) = sent {
        return Err(AppError::Conflict(format!("满意度评价未发送:{why}")));
    }
    chat_after(&state, &ctx, s.user, id).await
}
