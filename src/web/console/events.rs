//! `GET /console/events`: the console's server-sent-event stream (D14). Each
//! hub event reaches the user only if [`access::receives`] says so (its
//! audience is one of their groups; super admins see all), and is sent as a small instruction the page acts on:
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

use crate::access::{self, Audience, Viewer};
use crate::db::{self, DbResult};
use crate::i18n::Lang;
use crate::live::{Item, Live, Resume, frame};
use crate::model::User;
use crate::state::AppState;
use crate::web::session::AnyUser;
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
    // Rows are drawn on the pool's threads: in the language of this page.
    let lang = crate::i18n::current();
    tokio::spawn(pump(state, user, lang, rx, resume, tx));
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
    lang: Lang,
    mut rx: broadcast::Receiver<Item>,
    resume: Resume,
    tx: mpsc::Sender<String>,
) {
    let uid = user.id;
    let _ = crate::i18n::scope(lang, run(&state, &user, &mut rx, resume, &tx)).await;
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
    let mut viewer = viewer(state, user).await?;
    match resume {
        Resume::Fresh => send(tx, frame(None, "hello", "")).await?,
        Resume::Resync => send(tx, frame(None, "resync", "")).await?,
        Resume::Replay(items) => {
            for item in items {
                deliver(state, &viewer, &item, tx).await?;
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
                        viewer = self::viewer(state, user).await?;
                    }
                    deliver(state, &viewer, &item, tx).await?
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

/// The user's reach, loaded again when lists change; a stream whose reach
/// cannot be read ends (the page reconnects) rather than guess.
async fn viewer(state: &AppState, user: &User) -> Result<Viewer, ()> {
    let u = user.clone();
    state
        .db
        .read(move |c| Viewer::load(c, &u))
        .await
        .map_err(|e| tracing::warn!(error = %e, "live stream: cannot load the user's groups"))
}

async fn deliver(
    state: &AppState,
    viewer: &Viewer,
    item: &Item,
    tx: &mpsc::Sender<String>,
) -> Result<(), ()> {
    let id = state.live().event_id(item.seq);
    let id = Some(id.as_str());
    let me = viewer.id();
    let group = |g: &crate::model::GroupId| access::receives(viewer, &Audience::group(*g));
    match &item.live {
        Live::Lists { group: g } if group(g) => send(tx, frame(id, "lists", "")).await,
        Live::UserLists { user: u } if *u == me => send(tx, frame(id, "lists", "")).await,
        Live::Toast { user: u, text } if *u == me => {
            // In the language of this console, whoever caused it.
            let text = text.draw(crate::i18n::current());
            send(tx, frame(id, "toast", &text)).await
        }
        Live::Conversation { id: conv, group: g } if group(g) => {
            let data = serde_json::json!({ "conv": conv.0 }).to_string();
            send(tx, frame(id, "conv", &data)).await
        }
        Live::Message {
            id: message,
            audience,
        } => {
            if !access::receives(viewer, audience) {
                return Ok(());
            }
            // The row, its place and the queue rule are the same for every
            // console: computed by the first stream, shared with the others.
            let facts = match state.live().shared(item.seq) {
                Some(f) => f,
                None => {
                    let (m, tz, now) = (*message, state.config.timezone.clone(), state.clock.now());
                    let lang = crate::i18n::current();
                    let computed = state
                        .db
                        .read(move |c| -> DbResult<Option<serde_json::Value>> {
                            crate::i18n::sync_scope(lang, || {
                                let Some((conv, group, follower)) =
                                    db::console::message_place(c, m)?
                                else {
                                    return Ok(None);
                                };
                                let Some(group) = group else {
                                    // Not in a conversation: no queue to hide it from.
                                    let Some((html, _)) =
                                        super::rows::render_message_row(c, m, &tz, now)?
                                    else {
                                        return Ok(None);
                                    };
                                    return Ok(Some(serde_json::json!({
                                        "conv": null,
                                        "follower": follower.0,
                                        "queued": false,
                                        "agents_see_queue": true,
                                        "id": format!("m-{}", m.0),
                                        "html": html,
                                        "lang": lang.code(),
                                    })));
                                };
                                let queued = match conv {
                                    Some(id) => db::conversations::get(c, id)?.is_some_and(|v| {
                                        v.state == crate::model::ConversationState::Queued
                                    }),
                                    None => false,
                                };
                                let see_queue = db::settings::group(c, group)?.agents_see_queue;
                                let Some((html, _)) =
                                    super::rows::render_message_row(c, m, &tz, now)?
                                else {
                                    return Ok(None);
                                };
                                Ok(Some(serde_json::json!({
                                    "conv": conv.map(|c| c.0),
                                    "follower": follower.0,
                                    "queued": queued,
                                    "agents_see_queue": see_queue,
                                    "id": format!("m-{}", m.0),
                                    "html": html,
                                    "lang": lang.code(),
                                })))
                            })
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
            // A queued follower's words are not for agents who may not see the queue.
            let hidden = facts["queued"].as_bool() == Some(true)
                && !access::receives_queued_words(
                    viewer,
                    facts["agents_see_queue"].as_bool() == Some(true),
                );
            if hidden {
                return Ok(());
            }
            // The shared row is in the language of the stream that drew it;
            // a console in another language draws its own.
            let lang = crate::i18n::current();
            let html = if facts["lang"].as_str() == Some(lang.code()) {
                facts["html"].clone()
            } else {
                let (m, tz, now) = (*message, state.config.timezone.clone(), state.clock.now());
                let row = state
                    .db
                    .read(move |c| {
                        crate::i18n::sync_scope(lang, || {
                            super::rows::render_message_row(c, m, &tz, now)
                        })
                    })
                    .await
                    .ok()
                    .flatten();
                match row {
                    Some((html, _)) => serde_json::Value::String(html),
                    None => return Ok(()),
                }
            };
            let data = serde_json::json!({
                "conv": facts["conv"],
                "follower": facts["follower"],
                "id": facts["id"],
                "html": html,
            })
            .to_string();
            send(tx, frame(id, "msg", &data)).await
        }
        Live::Note {
            id: note,
            conversation,
            group: g,
        } if group(g) => {
            let (n, tz, lang) = (*note, state.config.timezone.clone(), crate::i18n::current());
            let html = state
                .db
                .read(move |c| {
                    crate::i18n::sync_scope(lang, || super::rows::render_note_row(c, n, &tz))
                })
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
