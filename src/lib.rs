pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod model;
pub mod team;
