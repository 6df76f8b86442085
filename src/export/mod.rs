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
//!
//! Headings, labels and file names are drawn from the catalogue
//! (`exports.ftl`) in the exporting user's language; work on the blocking
//! pool is wrapped in [`crate::i18n::sync_scope`] to keep it.

pub mod font;
pub mod pdf;
pub mod table;
pub mod text;
pub mod transcript;
pub mod xlsx;

/// `Content-Disposition` for a download named `name` (UTF-8, RFC 5987), with
/// an ASCII `fallback` name for old clients.
pub fn attachment(name: &str, fallback: &str) -> String {
    let mut enc = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{enc}")
}

/// Who exported a file, as its header names them: `显示名（账号）`.
pub fn exporter(user: &crate::model::User) -> String {
    crate::t2(
        "exp-exporter",
        "name",
        &user.display_name,
        "username",
        &user.username,
    )
}
