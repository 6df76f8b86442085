//! Exports, read-only over what the pages show; nothing here writes but the
//! audit row the caller records, and who may export is decided by `access`
//! before anything here runs (whoever may see a conversation or follower may
//! export it; reports cover the groups an admin reaches).
//!
//! - Workbooks: a report's [`table::Table`] becomes a workbook in [`xlsx`]; the
//!   web layer builds the table once and either renders it or hands it here, so
//!   a page and its workbook cannot disagree.
//! - PDF transcripts (F6): `transcript` loads what a transcript shows into a
//!   plain [`pdf::Transcript`]; `pdf` lays it out (pure); `text` holds the
//!   Chinese line breaking and glyph fallback; `font` is the embedded font.

pub mod font;
pub mod pdf;
pub mod table;
pub mod text;
pub mod transcript;
pub mod xlsx;
