//! The conversation lists (D2, D3): the console page itself (`GET /console`)
//! and the lists fragment it refreshes (`GET /console/lists`): mine, the
//! queue, transfers offered to me, recent and today's ended conversations.

use super::chat::{ChatView, chat_view};
use super::follower::{SideView, side_view};
use super::rows::{self, Seg};
use crate::access::{self, Viewer};
use crate::db::console::{self as q, Item, TransferRequest};
use crate::db::{self, DbResult};
use crate::desk::{self};
use crate::error::AppError;
use crate::model::{
    AgentStatus, ConversationId, ConversationState, FollowerId, GroupId, MessageKind, Role, User,
    UserId,
};
use crate::state::AppState;
use crate::web::form::Query;
use crate::web::page::{Page, render};
use crate::web::session::AnyUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use rusqlite::Connection;
use serde::Deserialize;

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
    /// Queued followers this user may see beyond the first [`QUEUE_SHOWN`].
    pub more_queue: usize,
    pub recent: Vec<ItemView>,
    /// Ended today (local time): still current contacts until midnight (C11).
    pub today: Vec<ItemView>,
    pub transfers: Vec<(TransferRequest, i64)>,
    pub is_admin: bool,
    pub csrf: String,
}

/// 今日工作 of the side pane, swapped in out of band with each refresh of
/// the lists, so the figures follow the day's work without switching chats.
#[derive(Template)]
#[template(path = "console/today.html")]
struct TodayWork {
    today: q::Today,
}

impl ListsView {
    pub fn queue_total(&self) -> usize {
        self.queued.len() + self.more_queue + self.hidden_queue as usize
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

#[derive(Template)]
#[template(path = "console/index.html")]
struct IndexPage {
    page: Page,
    /// Why no conversation opened (`?follower=` of a follower now served
    /// by another group).
    notice: Option<String>,
    groups: Vec<crate::model::Group>,
    lists: ListsView,
    chat: Option<ChatView>,
    side: Option<SideView>,
    status: AgentStatus,
    auto_accept: Option<u32>,
    statuses: Vec<(AgentStatus, String)>,
    limits: [u32; 5],
}

impl IndexPage {
    fn limit_selected(&self, n: &u32) -> bool {
        self.auto_accept == Some(*n)
    }
}

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
                    Seg::Emoji { name, .. } => format!("[{}]", rows::face_name(name)),
                })
                .collect()
        }
        Some(Image) => crate::t("console-preview-image"),
        Some(Voice) => crate::t("console-preview-voice"),
        Some(Video) | Some(ShortVideo) => crate::t("console-preview-video"),
        Some(Location) => crate::t("console-preview-location"),
        Some(Link) => crate::t("console-preview-link"),
        Some(_) => crate::t("console-preview-message"),
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
        label: super::follower_label(i.label()),
        openid: i.openid.clone(),
        account: i.account_name.clone(),
        source: if i.subscribe_scene.is_empty() {
            crate::t("console-source-message")
        } else {
            crate::t1("console-source-scene", "scene", i.subscribe_scene.as_str())
        },
        first_contact: crate::web::page::local_time(i.first_seen_at, tz),
        preview: preview(i),
        time: hhmm(i.last_at, tz, now),
        // An ended conversation waits for nobody: a survey answer or a late
        // word is history, not something to read (a new message reopens).
        unread: if i.state == ConversationState::Ended {
            0
        } else {
            i.unread
        },
        agent: i.agent_name.clone(),
        mine: i.agent_id == Some(me),
        vip: i.vip,
        group_id: i.group_id,
        selected: selected == Some(i.id),
        state: i.state.as_str(),
    }
}

/// How many queued followers the list shows (in queue order); a longer queue
/// is counted, not rendered, so a console stays light whatever its length.
pub const QUEUE_SHOWN: usize = 100;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    group: Option<i64>,
    mine: Option<String>,
    c: Option<i64>,
    /// Open this follower's conversation (linked from 标注 and 会话标签 pages): the open
    /// one, else their newest the viewer may see.
    follower: Option<i64>,
}

/// The conversation `?follower=` opens: the follower's newest the viewer may
/// see (an open one is always their newest). `None` when none is theirs to see.
fn follower_pick(
    c: &Connection,
    v: &Viewer,
    follower: crate::model::FollowerId,
) -> Result<Option<ConversationId>, AppError> {
    for conv in db::console::conversations_of(c, follower, 50)? {
        match access::conversation(c, v, conv.id) {
            Ok(_) => return Ok(Some(conv.id)),
            Err(access::Denied::NotFound | access::Denied::Forbidden(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
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
    let mut more_queue = 0;
    let mut hidden_queue = 0;
    let mut sees: Vec<(GroupId, bool)> = vec![];
    for i in queued.iter().filter(|i| in_tab(i)) {
        let visible = match sees.iter().find(|(g, _)| *g == i.group_id) {
            Some((_, v)) => *v,
            None => {
                let v = access::sees_queue_of(c, &viewer, i.group_id)?;
                sees.push((i.group_id, v));
                v
            }
        };
        if !visible {
            hidden_queue += 1;
        } else if shown_queue.len() < QUEUE_SHOWN {
            shown_queue.push(item_view(i, user.id, tz, now, selected));
        } else {
            // A long queue: the page lists its head, the count says the rest.
            more_queue += 1;
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
        more_queue,
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
            .map(|mut t| {
                let left = t.expires_at.duration_since(now).as_secs().max(0);
                t.follower_label = super::follower_label(t.follower_label);
                (t, left)
            })
            .collect(),
        is_admin: user.role != Role::Agent,
        csrf: csrf.to_string(),
    })
}

pub async fn page(
    State(state): State<AppState>,
    AnyUser(ctx, s): AnyUser,
    Query(lq): Query<ListQuery>,
) -> Result<Response, AppError> {
    let user = s.user.clone();
    let csrf = ctx.csrf.clone();
    let tz = state.config.timezone.clone();
    let now = state.clock.now();
    let selected = lq.c.map(ConversationId);
    let follower = lq.follower.map(crate::model::FollowerId);
    let (groups, lists, chat, side, (status, auto_accept), notice) =
        super::read(&state, move |c| -> Result<_, AppError> {
            let lists = lists_view(c, &user, &lq, &csrf, &tz, now)?;
            let mut chat = None;
            let mut side = None;
            let mut notice = None;
            let selected = match (selected, follower) {
                (None, Some(f)) => {
                    let pick = follower_pick(c, &Viewer::load(c, &user)?, f)?;
                    if pick.is_none() {
                        notice = Some(crate::t("console-follower-elsewhere"));
                    }
                    pick
                }
                (selected, _) => selected,
            };
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
                notice,
            ))
        })
        .await?;
    render(&IndexPage {
        page: Page::new(&ctx, crate::t("nav-console"), "console"),
        notice,
        groups,
        lists,
        chat,
        side,
        status,
        auto_accept,
        statuses: vec![
            (AgentStatus::Online, AgentStatus::Online.label()),
            (AgentStatus::Busy, AgentStatus::Busy.label()),
            (AgentStatus::Away, AgentStatus::Away.label()),
            (AgentStatus::Offline, AgentStatus::Offline.label()),
        ],
        limits: [10, 20, 30, 40, 50],
    })
}

pub async fn show(
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
    let (view, today) = super::read(&state, move |c| -> DbResult<_> {
        let midnight = now
            .to_zoned(tz.clone())
            .start_of_day()
            .map(|z| z.timestamp())
            .unwrap_or(now);
        let today = q::today(c, user.id, midnight)?;
        Ok((lists_view(c, &user, &lq, &csrf, &tz, now)?, today))
    })
    .await?;
    let mut body = view.render()?;
    body.push_str(&TodayWork { today }.render()?);
    Ok(super::html(body))
}
