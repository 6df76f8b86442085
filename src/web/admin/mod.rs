//! The admin console (`/admin`): the team and the audit log.

pub mod accounts;
pub mod audit;
pub mod followers;
pub mod groups;
pub mod simulator;
pub mod users;
