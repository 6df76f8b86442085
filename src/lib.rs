//! kefu: a customer-service appliance for WeChat Official Accounts in one binary.
//!
//! Dependencies point one way: `web` → `auth` → `db` → `model`. Nothing depends on `web`.
//! `main.rs` only tells the start-up story; everything it calls lives here so the
//! integration tests build the same world the binary does.

pub mod access;
pub mod auth;
pub mod channel;
pub mod clock;
pub mod commands;
pub mod config;
pub mod db;
pub mod desk;
pub mod engine;
pub mod error;
pub mod export;
pub mod fixture;
pub mod i18n;

/// Catalogue lookups, short enough for templates: `{{ crate::t("key") }}`.
pub use i18n::{t, t1, t2, t3};
pub mod live;
pub mod model;
pub mod notify;
pub mod state;
pub mod team;
pub mod web;
pub mod wechat;
