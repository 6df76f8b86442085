//! Everything that knows WeChat: signatures and AES safe mode (`crypto`), the
//! message XML (`xml`), the push protocol the webhook follows (`push`), and a
//! fake of WeChat's API (`fake`) that the tests and the built-in simulator talk
//! to through the configurable API base URL.

pub mod api;
pub mod budget;
pub mod crypto;
pub mod faces;
pub mod fake;
pub mod fetch;
pub mod ingest;
pub mod outbox;
pub mod push;
pub mod quiet;
pub mod replay;
pub mod simulate;
pub mod sync;
pub mod xml;
