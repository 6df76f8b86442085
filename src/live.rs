//! The live hub (D14): every change an agent's console must show — a queue
//! entry, a message, a delivery state, a transfer — is published here after
//! its transaction committed, numbered, and kept in a ring of recent events.
//! Each open console tab holds a server-sent-events stream that filters the
//! events for its user. A tab that reconnects sends `Last-Event-ID` and gets
//! what it missed from the ring; when the ring no longer reaches back that far
//! (or the server restarted) it is told to re-render (`resync`), so nothing is
//! skipped silently.
//!
//! It also knows who is connected: an agent whose last stream closed more than
//! [`OFFLINE_AFTER`] ago is set offline by the sweeper (B9).

use crate::model::{ConversationId, GroupId, MessageId, UserId};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// How many recent events a reconnecting tab can catch up on.
pub const RING: usize = 2048;

/// An agent with no live console for this long is set offline (B9).
pub const OFFLINE_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// Who may receive an event about a follower: the groups it concerns (the
/// group of the follower's conversation, or the groups serving the account).
/// Decided by [`crate::access::receives`]; an empty audience reaches super
/// admins only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audience(pub Vec<GroupId>);

impl Audience {
    pub fn group(g: GroupId) -> Audience {
        Audience(vec![g])
    }
}

/// What changed. Audiences: a group's members, the groups of an [`Audience`],
/// or one user; super admins see every group. Who receives what is decided in
/// [`crate::access`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Live {
    /// The lists of a group changed (queue, holders, unread counts).
    Lists { group: GroupId },
    /// One user's lists changed (a transfer request for them).
    UserLists { user: UserId },
    /// A message was stored, or its delivery changed; for its audience
    /// (the groups of its conversation or follower).
    Message { id: MessageId, audience: Audience },
    /// An internal note was written.
    Note {
        id: i64,
        conversation: ConversationId,
        group: GroupId,
    },
    /// A conversation changed state or holder.
    Conversation { id: ConversationId, group: GroupId },
    /// A line for one user (a transfer was declined, a conversation assigned …).
    Toast {
        user: UserId,
        text: crate::i18n::Msg,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub seq: u64,
    pub live: Live,
}

/// Published events and live connections.
pub struct Hub {
    /// Distinguishes this process's sequence numbers from a previous run's.
    boot: String,
    seq: AtomicU64,
    ring: Mutex<VecDeque<Item>>,
    tx: broadcast::Sender<Item>,
    presence: Mutex<HashMap<UserId, Presence>>,
    /// Turned on when the server shuts down: streams end, so the graceful
    /// shutdown does not wait for them.
    closing: tokio::sync::watch::Sender<bool>,
    /// What every stream needs to know about an event (rendered once by the
    /// first stream that asks, not once per open console), by sequence number.
    shared: Mutex<HashMap<u64, Arc<serde_json::Value>>>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Presence {
    streams: u32,
    gone_since: Option<jiff::Timestamp>,
}

/// Where a reconnecting stream starts.
#[derive(Debug, PartialEq, Eq)]
pub enum Resume {
    /// A new stream: nothing to replay.
    Fresh,
    /// Replay these, then follow live.
    Replay(Vec<Item>),
    /// The gap cannot be filled: the page must re-render.
    Resync,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    pub fn new() -> Hub {
        let boot = format!("{:x}", jiff::Timestamp::now().as_millisecond());
        let (tx, _) = broadcast::channel(1024);
        Hub {
            boot,
            seq: AtomicU64::new(0),
            ring: Mutex::new(VecDeque::with_capacity(RING)),
            tx,
            presence: Mutex::new(HashMap::new()),
            closing: tokio::sync::watch::Sender::new(false),
            shared: Mutex::new(HashMap::new()),
        }
    }

    /// The facts computed for event `seq`, if a stream already did.
    pub fn shared(&self, seq: u64) -> Option<Arc<serde_json::Value>> {
        let m = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        m.get(&seq).cloned()
    }

    /// Keeps the facts of event `seq` for the other streams; forgets those
    /// the ring no longer holds.
    pub fn share(&self, seq: u64, facts: serde_json::Value) -> Arc<serde_json::Value> {
        let facts = Arc::new(facts);
        let mut m = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        let oldest = self.seq.load(Ordering::SeqCst).saturating_sub(RING as u64);
        if m.len() > RING {
            m.retain(|k, _| *k > oldest);
        }
        m.insert(seq, facts.clone());
        facts
    }

    /// Ends every stream (server shutdown).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`Hub::close`] was called.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }

    pub fn publish(&self, live: Live) {
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        // Numbered under the lock, so the ring stays in order.
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let item = Item { seq, live };
        if ring.len() == RING {
            ring.pop_front();
        }
        ring.push_back(item.clone());
        // Nobody listening is fine.
        let _ = self.tx.send(item);
    }

    pub fn publish_all(&self, events: impl IntoIterator<Item = Live>) {
        for e in events {
            self.publish(e);
        }
    }

    /// The `id:` of an event as the browser echoes it in `Last-Event-ID`.
    pub fn event_id(&self, seq: u64) -> String {
        format!("{}-{seq}", self.boot)
    }

    /// Subscribes first, then works out what a stream resuming after
    /// `last_event_id` missed, so no event falls between the two.
    pub fn subscribe(&self, last_event_id: Option<&str>) -> (broadcast::Receiver<Item>, Resume) {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let rx = self.tx.subscribe();
        let Some(last) = last_event_id.filter(|s| !s.is_empty()) else {
            return (rx, Resume::Fresh);
        };
        let seq = last
            .split_once('-')
            .filter(|(boot, _)| *boot == self.boot)
            .and_then(|(_, n)| n.parse::<u64>().ok());
        let Some(seq) = seq else {
            return (rx, Resume::Resync);
        };
        let now = self.seq.load(Ordering::SeqCst);
        if seq >= now {
            return (rx, Resume::Replay(vec![]));
        }
        // The ring must still hold seq + 1.
        match ring.front() {
            Some(first) if first.seq <= seq + 1 => (
                rx,
                Resume::Replay(ring.iter().filter(|i| i.seq > seq).cloned().collect()),
            ),
            _ => (rx, Resume::Resync),
        }
    }

    /// A console stream opened for `user`.
    pub fn connected(&self, user: UserId) {
        let mut p = self.presence.lock().unwrap_or_else(|p| p.into_inner());
        let e = p.entry(user).or_default();
        e.streams += 1;
        e.gone_since = None;
    }

    /// A console stream of `user` closed at `now`.
    pub fn disconnected(&self, user: UserId, now: jiff::Timestamp) {
        let mut p = self.presence.lock().unwrap_or_else(|p| p.into_inner());
        let e = p.entry(user).or_default();
        e.streams = e.streams.saturating_sub(1);
        if e.streams == 0 {
            e.gone_since = Some(now);
        }
    }

    pub fn is_connected(&self, user: UserId) -> bool {
        let p = self.presence.lock().unwrap_or_else(|p| p.into_inner());
        p.get(&user).is_some_and(|e| e.streams > 0)
    }

    /// Users whose last stream closed at least [`OFFLINE_AFTER`] before `now`;
    /// they are forgotten, so each is reported once.
    pub fn gone(&self, now: jiff::Timestamp) -> Vec<UserId> {
        let mut p = self.presence.lock().unwrap_or_else(|p| p.into_inner());
        let gone: Vec<UserId> = p
            .iter()
            .filter(|(_, e)| {
                e.streams == 0 && e.gone_since.is_some_and(|t| t + OFFLINE_AFTER <= now)
            })
            .map(|(u, _)| *u)
            .collect();
        for u in &gone {
            p.remove(u);
        }
        gone
    }
}

/// Server-sent events framing: `id`, `event`, and `data` split into lines.
///
/// A browser ends an SSE line at LF, CR or CRLF, so the data is split at all
/// three: every piece of it becomes its own `data:` line and no payload (a
/// display name with a CR, say) can start a line of its own such as `event:`.
/// `id` and `event` are kefu's own words; any line break in them is dropped.
pub fn frame(id: Option<&str>, event: &str, data: &str) -> String {
    let one_line =
        |s: &str| -> String { s.chars().filter(|c| !matches!(c, '\r' | '\n')).collect() };
    let mut out = String::new();
    if let Some(id) = id {
        out.push_str("id: ");
        out.push_str(&one_line(id));
        out.push('\n');
    }
    out.push_str("event: ");
    out.push_str(&one_line(event));
    out.push('\n');
    for line in data.split("\r\n").flat_map(|l| l.split(['\r', '\n'])) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists() -> Live {
        Live::Lists { group: GroupId(1) }
    }

    #[test]
    fn a_reconnecting_stream_gets_what_it_missed_or_is_told_to_resync() {
        let hub = Hub::new();
        assert_eq!(hub.subscribe(None).1, Resume::Fresh);
        hub.publish(lists());
        hub.publish(Live::Toast {
            user: UserId(1),
            text: crate::i18n::Msg::new("toast-auto-transfer-in"),
        });
        hub.publish(lists());
        let after_first = hub.event_id(1);
        match hub.subscribe(Some(&after_first)).1 {
            Resume::Replay(items) => {
                assert_eq!(items.iter().map(|i| i.seq).collect::<Vec<_>>(), [2, 3])
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            hub.subscribe(Some(&hub.event_id(3))).1,
            Resume::Replay(vec![])
        );
        // Another process's ids, or garbage: re-render.
        assert_eq!(hub.subscribe(Some("abc-2")).1, Resume::Resync);
        assert_eq!(hub.subscribe(Some("nonsense")).1, Resume::Resync);
        // The ring forgot the oldest events.
        for _ in 0..RING + 5 {
            hub.publish(lists());
        }
        assert_eq!(hub.subscribe(Some(&after_first)).1, Resume::Resync);
        let recent = hub.event_id(RING as u64);
        assert!(matches!(hub.subscribe(Some(&recent)).1, Resume::Replay(v) if !v.is_empty()));
    }

    #[tokio::test]
    async fn subscribers_receive_in_order() {
        let hub = Hub::new();
        let (mut rx, _) = hub.subscribe(None);
        hub.publish(lists());
        hub.publish(Live::UserLists { user: UserId(2) });
        assert_eq!(rx.recv().await.unwrap().seq, 1);
        assert_eq!(
            rx.recv().await.unwrap().live,
            Live::UserLists { user: UserId(2) }
        );
    }

    #[test]
    fn presence_reports_an_agent_gone_after_the_grace_period_once() {
        let hub = Hub::new();
        let t0: jiff::Timestamp = "2026-05-01T08:00:00Z".parse().unwrap();
        let u = UserId(7);
        hub.connected(u);
        hub.connected(u);
        hub.disconnected(u, t0);
        assert!(hub.is_connected(u), "a second tab is still open");
        hub.disconnected(u, t0);
        assert!(hub.gone(t0 + jiff::SignedDuration::from_mins(4)).is_empty());
        assert_eq!(hub.gone(t0 + OFFLINE_AFTER), vec![u]);
        assert!(hub.gone(t0 + OFFLINE_AFTER).is_empty());
        // Back before the grace period ends: not reported.
        hub.connected(u);
        hub.disconnected(u, t0);
        hub.connected(u);
        assert!(hub.gone(t0 + OFFLINE_AFTER).is_empty());
    }

    #[test]
    fn facts_are_shared_by_sequence_and_forgotten_with_the_ring() {
        let hub = Hub::new();
        assert!(hub.shared(1).is_none());
        hub.share(1, serde_json::json!({"html": "x"}));
        assert_eq!(hub.shared(1).unwrap()["html"], "x");
        for _ in 0..RING + 2 {
            hub.publish(lists());
        }
        for seq in 2..RING as u64 + 4 {
            hub.share(seq, serde_json::json!({}));
        }
        assert!(hub.shared(1).is_none(), "old facts are dropped");
        assert!(hub.shared(RING as u64 + 3).is_some());
    }

    #[test]
    fn frames_split_multiline_data() {
        assert_eq!(
            frame(Some("b-1"), "msg", "a\nb"),
            "id: b-1\nevent: msg\ndata: a\ndata: b\n\n"
        );
        // CR alone, CRLF and LF all end an SSE line: each piece stays data.
        assert_eq!(
            frame(None, "toast", "amy\revent: msg\r\ndata: x\n\nid: 9"),
            "event: toast\ndata: amy\ndata: event: msg\ndata: data: x\ndata: \ndata: id: 9\n\n"
        );
        assert_eq!(
            frame(Some("b\r-1"), "t\noast", ""),
            "id: b-1\nevent: toast\ndata: \n\n"
        );
        // Whatever the payload, a frame is one event: exactly one blank line,
        // at its end, and every line is a field kefu wrote.
        for data in ["\r\r\n\n", "a\r\n\rb", "\r", "x\n\r\ny"] {
            let f = frame(Some("b-1"), "msg", data);
            let lines: Vec<&str> = f
                .split("\r\n")
                .flat_map(|l| l.split(['\r', '\n']))
                .collect();
            let blank = lines.iter().filter(|l| l.is_empty()).count();
            assert_eq!(blank, 2, "{data:?} → {f:?}"); // the terminator, and the split's tail
            assert!(
                lines[..lines.len() - 2]
                    .iter()
                    .all(|l| l.starts_with("id: ")
                        || l.starts_with("event: ")
                        || l.starts_with("data: "))
            );
        }
    }
}
