//! The service desk: every change to a conversation, each inside the caller's
//! write transaction — a follower's push (open, queue, route, comfort, the
//! follower's 放弃排队 …), accept, reply, transfer, end, remove, re-open, an agent's status,
//! and the sweeper's expiries and timeouts. Decisions come from `engine`
//! (pure functions, `engine::automation` for what kefu says by itself); this
//! module loads what they need, applies the result through `db`, and says
//! what the consoles must show ([`Out`]), which the caller publishes on the
//! live hub after the commit.
//!
//! A file per resource: [`inbound`] (a follower's push), [`agent`] (what an
//! agent does in a conversation, and their status), [`transfer`], [`queue`]
//! (routing and queue notices), [`send`] (messages kefu writes, within the
//! reply budget), [`timeouts`] and [`sweep`] (what time does).

mod agent;
mod faq;
mod inbound;
mod queue;
mod send;
mod sweep;
#[cfg(test)]
mod tests;
mod timeouts;
mod transfer;

pub use agent::{
    accept, end, ignore_unknown, mark, mark_read, note, remove, reopen, reply, reply_image, retry,
    retry_now, set_status, status_of, tag,
};
pub use inbound::on_inbound;
pub use queue::{candidates, drain, queue_moved};
pub use send::{budget_of, send_survey, survey_text};
pub use sweep::{Sweeper, sweep};
pub use timeouts::timeouts;
pub use transfer::{answer_transfer, pending_transfer, transfer_to_agent, transfer_to_group};

use crate::access;
use crate::db::{DbError, conversations};
use crate::live::Live;
use crate::model::{ConversationId, ConversationState, GroupId, MessageId, User, UserId};
use rusqlite::Connection;

/// What a change means for the consoles and the sender.
#[derive(Debug, Default)]
pub struct Out {
    pub events: Vec<Live>,
    /// Outbound rows were written: wake the sender.
    pub outbox: bool,
    /// The passive reply to the push being answered (one per push; no quota,
    /// no token), already recorded as an outbound message.
    pub passive: Option<String>,
}

impl Out {
    /// Adds an event once.
    pub fn push_event(&mut self, e: Live) {
        self.push(e);
    }
    pub(crate) fn push(&mut self, e: Live) {
        if !self.events.contains(&e) {
            self.events.push(e);
        }
    }
    pub(crate) fn lists(&mut self, group: GroupId) {
        self.push(Live::Lists { group });
    }
    pub(crate) fn conversation(&mut self, id: ConversationId, group: GroupId) {
        self.push(Live::Conversation { id, group });
    }
    /// A message of a conversation of `group`.
    pub(crate) fn message(&mut self, id: MessageId, group: GroupId) {
        self.push(Live::Message {
            id,
            audience: crate::live::Audience::group(group),
        });
    }
    pub(crate) fn toast(&mut self, user: UserId, text: crate::i18n::Msg) {
        self.push(Live::Toast { user, text });
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// Not allowed for this user (403), with the reason.
    #[error("{0}")]
    Denied(String),
    /// Not possible in the current state (409), with the reason.
    #[error("{0}")]
    Refused(String),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<access::Denied> for DeskError {
    fn from(e: access::Denied) -> Self {
        match e {
            access::Denied::NotFound => DeskError::NotFound,
            access::Denied::Forbidden(why) => DeskError::Denied(why),
            access::Denied::Db(e) => DeskError::Db(e),
        }
    }
}

impl From<rusqlite::Error> for DeskError {
    fn from(e: rusqlite::Error) -> Self {
        DeskError::Db(e.into())
    }
}

pub type DeskResult<T> = Result<T, DeskError>;

/// A refusal; `key` names its text in the catalogue (the user's language).
pub(crate) fn refused(key: &str) -> DeskError {
    DeskError::Refused(crate::t(key))
}

// ------------------------------------------------------------------ who may

/// The conversation, if `user` may see it ([`access::conversation`]).
pub fn visible(
    c: &Connection,
    user: &User,
    id: ConversationId,
) -> DeskResult<conversations::Conversation> {
    let v = access::Viewer::load(c, user)?;
    Ok(access::conversation(c, &v, id)?)
}

pub(crate) fn held_by(
    c: &Connection,
    user: &User,
    id: ConversationId,
    what: &str,
) -> DeskResult<conversations::Conversation> {
    let conv = visible(c, user, id)?;
    if conv.state != ConversationState::Active {
        return Err(DeskError::Refused(crate::t2(
            "conv-state-refused",
            "state",
            conv.state.label(),
            "what",
            crate::t(what),
        )));
    }
    if conv.agent_id != Some(user.id) {
        return Err(DeskError::Denied(crate::t1(
            "conv-holder-only",
            "what",
            crate::t(what),
        )));
    }
    Ok(conv)
}
