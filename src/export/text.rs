//! Text for a printed page: what the font can show, and where a line may break.
//!
//! [`printable`] turns WeChat's face codes (`/::)`) into their `[名称]` (in the
//! current language), and any character the embedded font lacks (emoji, rare
//! hanzi) into a visible stand-in, so a transcript never shows an empty box.
//! [`wrap`] breaks lines by the usual Chinese rules: between any two
//! ideographs, never before closing punctuation (`，。！？、；：）」』…`) nor
//! after an opening one, and inside a Latin word only when the word is wider
//! than the line.

use crate::wechat::faces::{EMOJI, Seg, face_name, segments};

/// Punctuation that must not begin a line.
const NO_LINE_START: &str = "，。！？、；：）」』】〕〉》’”…—～·%,.!?;:)]}>%";
/// Punctuation that must not end a line.
const NO_LINE_END: &str = "（「『【〔〈《‘“([{<";

/// What stands in for a face (an emoji picture) the font cannot draw, in the
/// current language.
pub fn face() -> String {
    crate::t("exp-face")
}

/// The text with face codes named and characters `has_glyph` refuses replaced:
/// a known emoji by its WeChat name, other pictographs by [`face`], anything
/// else by `?`. Joiners and variation selectors vanish.
pub fn printable(text: &str, has_glyph: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for seg in segments(text) {
        match seg {
            Seg::Emoji { name, .. } => {
                out.push('[');
                out.push_str(&face_name(name));
                out.push(']');
            }
            Seg::Text(t) => {
                let mut rest = t.as_str();
                while let Some(ch) = rest.chars().next() {
                    // A glyph the WeChat table knows (some are two code points).
                    if let Some((_, glyph, name)) = EMOJI
                        .iter()
                        .filter(|(_, g, _)| rest.starts_with(g))
                        .max_by_key(|(_, g, _)| g.len())
                        .filter(|_| !has_glyph(ch))
                    {
                        out.push('[');
                        out.push_str(&face_name(name));
                        out.push(']');
                        rest = &rest[glyph.len()..];
                        continue;
                    }
                    rest = &rest[ch.len_utf8()..];
                    if ch == '\n' || ch == '\t' {
                        out.push(if ch == '\t' { ' ' } else { '\n' });
                    } else if is_invisible(ch) {
                    } else if has_glyph(ch) {
                        out.push(ch);
                    } else if is_pictograph(ch) {
                        out.push_str(&face());
                    } else {
                        out.push('?');
                    }
                }
            }
        }
    }
    out
}

fn is_invisible(ch: char) -> bool {
    matches!(ch, '\u{200B}'..='\u{200F}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0020}'..='\u{E007F}')
        || ('\u{1F3FB}'..='\u{1F3FF}').contains(&ch)
        || ch.is_control()
}

fn is_pictograph(ch: char) -> bool {
    matches!(ch as u32, 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x1F000..=0x1FAFF)
}

/// Whether a line may break between `a` and `b` (before `b`).
fn may_break(a: char, b: char) -> bool {
    if NO_LINE_START.contains(b) || NO_LINE_END.contains(a) {
        return false;
    }
    // Inside a Latin word or number: no.
    !(is_wordish(a) && is_wordish(b))
}

fn is_wordish(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || matches!(ch, '\'' | '-' | '_' | '@' | '/' | '.' | '&' | '=')
}

/// Breaks `text` into lines no wider than `max` (as measured by `width`),
/// keeping its own line breaks. Spaces at a break are dropped.
pub fn wrap(text: &str, max: f32, width: impl Fn(char) -> f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let chars: Vec<char> = para.chars().collect();
        if chars.is_empty() {
            lines.push(String::new());
            continue;
        }
        let mut start = 0;
        while start < chars.len() {
            // Skip spaces that would begin a continued line.
            if start > 0 {
                while start < chars.len() && chars[start] == ' ' {
                    start += 1;
                }
                if start == chars.len() {
                    break;
                }
            }
            // How far the line reaches by width alone.
            let mut end = start;
            let mut w = 0.0;
            while end < chars.len() {
                let cw = width(chars[end]);
                if end > start && w + cw > max {
                    break;
                }
                w += cw;
                end += 1;
            }
            if end < chars.len() {
                // Walk back to the nearest allowed break.
                let mut cut = end;
                while cut > start + 1 && !may_break(chars[cut - 1], chars[cut]) {
                    cut -= 1;
                }
                if cut > start + 1 || may_break(chars[start], chars[start + 1]) {
                    end = cut;
                }
                // Otherwise a word wider than the line: cut it where it reached.
            }
            let line: String = chars[start..end].iter().collect();
            lines.push(line.trim_end().to_string());
            start = end;
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ideographs and full-width forms one unit wide, the rest half.
    fn w(ch: char) -> f32 {
        if ch.is_ascii() { 0.5 } else { 1.0 }
    }

    #[test]
    fn breaks_between_ideographs() {
        assert_eq!(
            wrap("您好请问订单到哪了", 4.0, w),
            ["您好请问", "订单到哪", "了"]
        );
    }

    #[test]
    fn closing_punctuation_never_starts_a_line() {
        // "您好请问" fills the line; "，" may not begin the next one, so "问" moves down.
        let lines = wrap("您好请问，订单到了。谢谢！", 4.0, w);
        assert_eq!(lines, ["您好请", "问，订单", "到了。谢", "谢！"]);
        for l in &lines {
            let first = l.chars().next().expect("non-empty");
            assert!(!NO_LINE_START.contains(first), "{l}");
        }
    }

    #[test]
    fn opening_brackets_never_end_a_line() {
        let lines = wrap("请看附件「说明」", 3.0, w);
        assert!(lines.iter().all(|l| !l.ends_with('「')), "{lines:?}");
    }

    #[test]
    fn latin_words_stay_whole() {
        assert_eq!(
            wrap("order number ABC123 please", 7.0, w),
            ["order number", "ABC123 please"]
        );
        // A word wider than the line is cut.
        assert_eq!(wrap("abcdefgh", 2.0, w), ["abcd", "efgh"]);
    }

    #[test]
    fn keeps_own_line_breaks() {
        assert_eq!(wrap("第一行\n\n第三行", 10.0, w), ["第一行", "", "第三行"]);
    }

    #[test]
    fn faces_and_missing_glyphs_become_visible_text() {
        let font = |c: char| !matches!(c as u32, 0x1F000..) && c != '𠀀';
        assert_eq!(
            printable(concat!("好的/::)", "谢谢/:strong"), font), // `/::)` is WeChat's face code
            "好的[微笑]谢谢[强]"
        );
        assert_eq!(printable("👍 收到🎉", font), "[强] 收到[表情]");
        assert_eq!(printable("生僻字 𠀀", font), "生僻字 ?");
        assert_eq!(printable("❤️", |c| c != '❤'), "[爱心]");
    }
}
