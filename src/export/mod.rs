//! Exports (F6): read-only over `db`, never writing anything but the audit row
//! the caller records. `transcript` loads what a PDF transcript shows into a
//! plain [`pdf::Transcript`]; `pdf` lays it out (pure); `text` holds the
//! Chinese line breaking and glyph fallback; `font` is the embedded font.
//!
//! Who may export is decided by `access` before anything here runs: whoever
//! may see a conversation or follower may export it.

pub mod font;
pub mod pdf;
pub mod text;
pub mod transcript;
