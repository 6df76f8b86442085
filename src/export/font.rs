//! The font transcripts are set in: Noto Sans SC Regular (SIL OFL 1.1), fetched
//! by `build.rs` from the pinned npm package in `assets/vendor.lock` and cut
//! down there to 通用规范汉字表 (the 8,105 characters of the 2013 table, as
//! Unihan's `kTGH` lists them), GB2312 (6,763 hanzi, punctuation, full-width
//! forms), GBK's symbols, ASCII and the CJK punctuation blocks, so the binary
//! grows by the subset only (about 2.8 MB) and a PDF reads the same on a
//! machine with no fonts installed.

use printpdf::ParsedFont;
use std::sync::OnceLock;

/// The subset font file.
pub const TRANSCRIPT_FONT: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/fonts/transcript.ttf"));

/// How many characters the subset maps (as `build.rs` counted them).
pub const SUBSET_CHARS: &str = include_str!(concat!(env!("OUT_DIR"), "/fonts/transcript.chars"));

/// The characters of 通用规范汉字表 the font lacks (as `build.rs` found them).
pub const TONGYONG_MISSING: &str =
    include_str!(concat!(env!("OUT_DIR"), "/fonts/tongyong.missing"));

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
            TRANSCRIPT_FONT.len() < 3 * 1024 * 1024,
            "{}",
            TRANSCRIPT_FONT.len()
        );
        let kept: usize = SUBSET_CHARS.trim().parse().expect("a count");
        assert!(kept > 9500, "{kept}");
        // 通用规范汉字表 whole, including what GB2312 lacks: names like 堃 or 喆
        // or 珺 and also 㛃 or 䶮 of Extension A
        assert_eq!(TONGYONG_MISSING, "", "the font lacks these");
        for ch in "堃犇喆昇珺㛃䶮".chars() {
            assert!(
                font.lookup_glyph_index(ch as u32).is_some_and(|g| g != 0),
                "missing {ch:?}"
            );
        }
        assert!(LICENSE.contains("SIL Open Font License"));
    }
}
