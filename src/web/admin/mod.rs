//! The admin console (`/admin`): the team, the accounts, the trees agents pick
//! from (categories, tags, knowledge base) and the audit log.

pub mod accounts;
pub mod audit;
pub mod automation;
pub mod followers;
pub mod groups;
pub mod kb;
pub mod menu;
pub mod messages;
pub mod notify;
pub mod reports;
pub mod simulator;
pub mod taxonomy;
pub mod timeplan;
pub mod users;
