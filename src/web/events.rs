//! `GET /console/events`: the console's server-sent-event stream (D14). Each
//! hub event is filtered for the user (their groups; super admins see all)
//! and sent as a small instruction the page acts on:
//!
//! - `lists`: re-render the lists;
//! - `msg` / `note`: `{"conv":…, "follower":…, "id":"m-…", "html":"…"}` — the
//!   same row template the page uses, inserted or replaced in an open chat;
//! - `conv`: `{"conv":…}` — re-render that chat if it is open;
//! - `toast`: a line for this user;
//! - `resync`: the gap since `Last-Event-ID` cannot be replayed: re-render all.
//!
//! A comment line every 15 s keeps proxies from closing the stream and tells
//! us soon when the tab is gone (presence, B9).

use super::session::AnyUser;
use crate::db::{self, DbResult};
use crate::live::{Item, Live, Resume, frame};
use crate::model::{GroupId, Role, User};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

pub async fn stream(
    State(state): State<AppState>,
    AnyUser(_, s): AnyUser,
    headers: HeaderMap,
) -> Response {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (rx, resume) = state.live().subscribe(last.as_deref());
    let (tx, out) = mpsc::channel::<String>(64);
    let user = s.user;
    state.live().connected(user.id);
    tokio::spawn(pump(state, user, rx, resume, tx));
    let body = futures_util::stream::unfold(out, |mut out| async move {
        out.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), out))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// Feeds one stream until the browser goes away.
async fn pump(
    state: AppState,
    user: User,
    mut rx: broadcast::Receiver<Item>,
    resume: Resume,
    tx: mpsc::Sender<String>,
) {
    let uid = user.id;
    let _ = run(&state, &user, &mut rx, resume, &tx).await;
    state.live().disconnected(uid, state.clock.now());
}

async fn run(
    state: &AppState,
    user: &User,
    rx: &mut broadcast::Receiver<Item>,
    resume: Resume,
    tx: &mpsc::Sender<String>,
) -> Result<(), ()> {
    // Tell the browser how soon to reconnect.
    send(tx, "retry: 2000\n\n".into()).await?;
    let mut groups = groups(state, user).await;
    match resume {
        Resume::Fresh => send(tx, frame(None, "hello", "")).await?,
        Resume::Resync => send(tx, frame(None, "resync", "")).await?,
        Resume::Replay(items) => {
            for item in items {
                deliver(state, user, &groups, &item, tx).await?;
            }
        }
    }
    let mut beat = tokio::time::interval(Duration::from_secs(15));
    beat.tick().await;
    let mut closing = state.live().closing();
    loop {
        if *closing.borrow() {
            return Ok(());
        }
        tokio::select! {
            _ = closing.changed() => return Ok(()),
            got = rx.recv() => match got {
                Ok(item) => {
                    if matches!(item.live, Live::Lists { .. }) {
                        // Membership may have changed since the stream opened.
                        groups = self::groups(state, user).await;
                    }
                    deliver(state, user, &groups, &item, tx).await?
                }
                // Too slow to follow: the page re-renders rather than miss anything.
                Err(broadcast::error::RecvError::Lagged(_)) => send(tx, frame(None, "resync", "")).await?,
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            _ = beat.tick() => send(tx, ": keep-alive\n\n".into()).await?,
            _ = tx.closed() => return Err(()),
        }
    }
}

async fn send(tx: &mpsc::Sender<String>, chunk: String) -> Result<(), ()> {
    tx.send(chunk).await.map_err(|_| ())
}

/// `None`: everything (super admin).
async fn groups(state: &AppState, user: &User) -> Option<Vec<GroupId>> {
    if user.role == Role::SuperAdmin {
        return None;
    }
    let uid = user.id;
    Some(
        state
            .db
            .read(move |c| crate::desk::groups_of(c, uid))
            .await
            .unwrap_or_default(),
    )
}

fn sees(groups: &Option<Vec<GroupId>>, group: Option<GroupId>) -> bool {
    match (groups, group) {
        (None, _) | (_, None) => true,
        (Some(gs), Some(g)) => gs.contains(&g),
    }
}

async fn deliver(
    state: &AppState,
    user: &User,
    groups: &Option<Vec<GroupId>>,
    item: &Item,
    tx: &mpsc::Sender<String>,
) -> Result<(), ()> {
    let id = state.live().event_id(item.seq);
    let id = Some(id.as_str());
    match &item.live {
        Live::Lists { group } if sees(groups, *group) => send(tx, frame(id, "lists", "")).await,
        Live::UserLists { user: u } if *u == user.id => send(tx, frame(id, "lists", "")).await,
        Live::Toast { user: u, text } if *u == user.id => send(tx, frame(id, "toast", text)).await,
        Live::Conversation { id: conv, group } if sees(groups, *group) => {
            let data = serde_json::json!({ "conv": conv.0 }).to_string();
            send(tx, frame(id, "conv", &data)).await
        }
        Live::Message { id: message } => {
            // The row, its place and the queue rule are the same for every
            // console: computed by the first stream, shared with the others.
            let facts = match state.live().shared(item.seq) {
                Some(f) => f,
                None => {
                    let (m, tz, now) = (*message, state.config.timezone.clone(), state.clock.now());
                    let computed = state
                        .db
                        .read(move |c| -> DbResult<Option<serde_json::Value>> {
                            let Some((conv, group, follower)) = db::console::message_place(c, m)?
                            else {
                                return Ok(None);
                            };
                            let queued = match conv {
                                Some(id) => db::conversations::get(c, id)?.is_some_and(|v| {
                                    v.state == crate::model::ConversationState::Queued
                                }),
                                None => false,
                            };
                            let see_queue =
                                db::settings::group_or_default(c, group)?.agents_see_queue;
                            let Some((html, _)) = super::desk::render_message_row(c, m, &tz, now)?
                            else {
                                return Ok(None);
                            };
                            Ok(Some(serde_json::json!({
                                "conv": conv.map(|c| c.0),
                                "follower": follower.0,
                                "group": group.map(|g| g.0),
                                "queued": queued,
                                "agents_see_queue": see_queue,
                                "id": format!("m-{}", m.0),
                                "html": html,
                            })))
                        })
                        .await
                        .ok()
                        .flatten();
                    match computed {
                        Some(f) => state.live().share(item.seq, f),
                        None => return Ok(()),
                    }
                }
            };
            let group = facts["group"].as_i64().map(GroupId);
            // A queued follower's words are not for agents who may not see the queue.
            let hidden = facts["queued"].as_bool() == Some(true)
                && user.role == Role::Agent
                && facts["agents_see_queue"].as_bool() != Some(true);
            if !sees(groups, group) || hidden {
                return Ok(());
            }
            let data = serde_json::json!({
                "conv": facts["conv"],
                "follower": facts["follower"],
                "id": facts["id"],
                "html": facts["html"],
            })
            .to_string();
            send(tx, frame(id, "msg", &data)).await
        }
        Live::Note {
            id: note,
            conversation,
            group,
        } if sees(groups, *group) => {
            let (n, tz) = (*note, state.config.timezone.clone());
            let html = state
                .db
                .read(move |c| super::desk::render_note_row(c, n, &tz))
                .await
                .ok()
                .flatten();
            match html {
                Some((html, _)) => {
                    let data = serde_json::json!({
                        "conv": conversation.0,
                        "id": format!("n-{n}"),
                        "html": html,
                    })
                    .to_string();
                    send(tx, frame(id, "note", &data)).await
                }
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}
