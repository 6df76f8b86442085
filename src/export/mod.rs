//! Exports, read-only over what the pages show: a report's [`table::Table`]
//! becomes a workbook in [`xlsx`]. Nothing here reads the database or knows
//! HTTP; the web layer loads, builds the table once, and either renders it or
//! hands it here, so a page and its workbook cannot disagree.

pub mod table;
pub mod xlsx;
