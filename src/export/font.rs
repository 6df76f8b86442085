//! The font transcripts are set in: Noto Sans SC Regular (SIL OFL 1.1), fetched
//! by `build.rs` from the pinned npm package in `assets/vendor.lock` and cut
//! down there to GB2312 (6,763 hanzi, punctuation, full-width forms) plus ASCII
//! and the CJK punctuation blocks, so the binary grows by the subset only and a
//! PDF reads the same on a machine with no fonts installed.

use printpdf::ParsedFont;
use std::sync::OnceLock;

/// The subset font file.
pub const TRANSCRIPT_FONT: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/fonts/transcript.ttf"));

/// How many characters the subset maps (as `build.rs` counted them).
pub const SUBSET_CHARS: &str = include_str!(concat!(env!("OUT_DIR"), "/fonts/transcript.chars"));

/// The font's licence, shipped with the binary's notices (`/licenses`).
pub const LICENSE: &str = include_str!(concat!(env!("OUT_DIR"), "/vendor/NotoSansSC-OFL.txt"));

/// The parsed font. Parsing a few megabytes of tables takes a moment, and the
/// result never changes, so it is done once per process — the one shared value
/// here, immutable and not state.
pub fn transcript() -> &'static ParsedFont {
    static FONT: OnceLock<ParsedFont> = OnceLock::new();
    FONT.get_or_init(|| {
        ParsedFont::from_bytes(TRANSCRIPT_FONT, 0, &mut Vec::new())
            .expect("the embedded transcript font parses (checked by a test)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subset_covers_common_chinese_and_stays_small() {
        let font = transcript();
        for ch in "您好，请问订单什么时候发货？谢谢！ABC abc 123「」【】（）：；、。…—".chars()
        {
            assert!(
                font.lookup_glyph_index(ch as u32).is_some_and(|g| g != 0),
                "missing {ch:?}"
            );
        }
        assert!(
            TRANSCRIPT_FONT.len() < 4 * 1024 * 1024,
            "{}",
            TRANSCRIPT_FONT.len()
        );
        let kept: usize = SUBSET_CHARS.trim().parse().expect("a count");
        assert!(kept > 7000, "{kept}");
        assert!(LICENSE.contains("SIL Open Font License"));
    }
}
