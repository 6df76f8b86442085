//! The heart, which knows nothing of HTTP: who gets a conversation, and (next)
//! the conversation life cycle, the time plan and the automation. Decisions are
//! plain functions of their inputs and `now`, tested without sleeping.

pub mod automation;
pub mod intake;
pub mod lifecycle;
pub mod queue;
pub mod reports;
pub mod routing;
pub mod search;
pub mod timeplan;
pub mod tree;
