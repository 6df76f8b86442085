//! WeChat's classic faces: the text codes (`/::)`) its clients send for them,
//! the emoji a browser shows instead, and their names (Chinese in the table,
//! [`face_name`] in the reader's language: what a printed transcript shows).
//! Data and a splitter, used by the console rows and the PDF export alike.

/// WeChat's text codes for its classic faces, and the emoji shown for them.
pub const EMOJI: &[(&str, &str, &str)] = &[
    ("/::)", "🙂", "微笑"),
    ("/::~", "😖", "撇嘴"),
    ("/::B", "😍", "色"),
    ("/::|", "😳", "发呆"),
    ("/:8-)", "😎", "得意"),
    ("/::<", "😢", "流泪"),
    ("/::$", "☺️", "害羞"),
    ("/::X", "🤐", "闭嘴"),
    ("/::Z", "😴", "睡"),
    ("/::'(", "😭", "大哭"),
    ("/::-|", "😅", "尴尬"),
    ("/::@", "😡", "发怒"),
    ("/::P", "😜", "调皮"),
    ("/::D", "😁", "呲牙"),
    ("/::O", "😮", "惊讶"),
    ("/::(", "🙁", "难过"),
    ("/:,@-D", "😄", "愉快"),
    ("/:,@o", "🙄", "白眼"),
    ("/:--b", "😓", "流汗"),
    ("/::!", "😨", "惊恐"),
    ("/:handclap", "👏", "鼓掌"),
    ("/:strong", "👍", "强"),
    ("/:weak", "👎", "弱"),
    ("/:share", "🤝", "握手"),
    ("/:v", "✌️", "胜利"),
    ("/:ok", "👌", "OK"),
    ("/:rose", "🌹", "玫瑰"),
    ("/:heart", "❤️", "爱心"),
    ("/:hug", "🤗", "拥抱"),
    ("/:sun", "☀️", "太阳"),
];

/// The name of a face (`EMOJI`'s Chinese name) in the current language: what
/// the console's tooltips and the picker say, and what a printed transcript
/// shows between brackets.
pub fn face_name(name: &str) -> String {
    match EMOJI.iter().position(|(_, _, n)| *n == name) {
        Some(i) => crate::t(KEYS[i]),
        None => name.to_string(),
    }
}

/// Catalogue keys of the faces, in the order of [`EMOJI`] (one each: checked
/// when compiling).
const _: () = assert!(KEYS.len() == EMOJI.len());
const KEYS: [&str; 30] = [
    "console-face-smile",
    "console-face-grimace",
    "console-face-drool",
    "console-face-stare",
    "console-face-cool",
    "console-face-tears",
    "console-face-shy",
    "console-face-silent",
    "console-face-sleep",
    "console-face-cry",
    "console-face-awkward",
    "console-face-angry",
    "console-face-tongue",
    "console-face-grin",
    "console-face-surprised",
    "console-face-sad",
    "console-face-happy",
    "console-face-eye-roll",
    "console-face-sweat",
    "console-face-scared",
    "console-face-applause",
    "console-face-thumbs-up",
    "console-face-thumbs-down",
    "console-face-handshake",
    "console-face-victory",
    "console-face-ok",
    "console-face-rose",
    "console-face-heart",
    "console-face-hug",
    "console-face-sun",
];

/// A run of text, or an emoji that stood for a WeChat code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Text(String),
    Emoji {
        glyph: &'static str,
        name: &'static str,
    },
}

/// Splits text into plain runs and emoji (longest code first).
pub fn segments(text: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    'outer: while !rest.is_empty() {
        if rest.starts_with('/') {
            let best = EMOJI
                .iter()
                .filter(|(code, _, _)| rest.starts_with(code))
                .max_by_key(|(code, _, _)| code.len());
            if let Some((code, glyph, name)) = best {
                if !plain.is_empty() {
                    out.push(Seg::Text(std::mem::take(&mut plain)));
                }
                out.push(Seg::Emoji { glyph, name });
                rest = &rest[code.len()..];
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        if let Some(ch) = chars.next() {
            plain.push(ch);
        }
        rest = chars.as_str();
    }
    if !plain.is_empty() {
        out.push(Seg::Text(plain));
    }
    out
}

/// The text with each WeChat code as the emoji it stands for: for places
/// that show text without the console's emoji spans (a table row, a cell).
pub fn to_glyphs(text: &str) -> String {
    if !text.contains('/') {
        return text.to_string();
    }
    segments(text)
        .into_iter()
        .map(|seg| match seg {
            Seg::Text(t) => t,
            Seg::Emoji { glyph, .. } => glyph.to_string(),
        })
        .collect()
}

/// The reverse of [`segments`] for what an agent types: each emoji of the
/// table becomes WeChat's code, so the follower's WeChat shows its own face
/// (the picker inserts the emoji, which reads better in the reply box).
pub fn to_codes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let best = EMOJI
            .iter()
            .filter(|(_, glyph, _)| rest.starts_with(glyph))
            .max_by_key(|(_, glyph, _)| glyph.len());
        if let Some((code, glyph, _)) = best {
            out.push_str(code);
            rest = &rest[glyph.len()..];
            continue;
        }
        let mut chars = rest.chars();
        if let Some(ch) = chars.next() {
            out.push(ch);
        }
        rest = chars.as_str();
    }
    out
}

#[cfg(test)]
mod code_tests {
    use super::*;

    #[test]
    fn picked_emoji_travel_as_wechat_codes_and_come_back_as_emoji() {
        assert_eq!(to_codes("好的👍谢谢🙂"), "好的/:strong谢谢/::)");
        assert_eq!(to_glyphs("好的/:strong谢谢/::)"), "好的👍谢谢🙂");
        assert_eq!(to_glyphs("a/b /:unknown"), "a/b /:unknown");
        assert_eq!(to_codes("没有表情 <b>"), "没有表情 <b>");
        for (code, glyph, name) in EMOJI {
            assert_eq!(to_codes(glyph), *code, "{name}");
            assert_eq!(
                segments(&to_codes(glyph)),
                vec![Seg::Emoji { glyph, name }],
                "{name}"
            );
        }
    }
}
