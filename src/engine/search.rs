//! Chinese full-text search, the pure half (issue 12).
//!
//! Most Chinese words are one or two characters — 退款 物流 发票 — which
//! FTS5's trigram tokenizer cannot find. So kefu tokenises in Rust and hands
//! FTS5 plain space-separated terms (`unicode61` then only folds case):
//!
//! - a run of CJK characters gives every character (unigram) and every pair of
//!   neighbours (bigram): 退款多久 → 退 款 多 久 退款 款多 多久 —
//! - a run of other letters and digits gives the run and every suffix of it
//!   (up to [`MAX_SUFFIXED`] characters): an order number `2026120188` gives
//!   `2026120188 026120188 … 88 8`, so its last digits — or a phone number's —
//!   find it as well as its first.
//!
//! A query is split on whitespace into words; every word must occur in the
//! message. A word becomes terms the same way — one CJK character its
//! unigram, two or more their bigrams, a Latin or digit run a prefix term
//! (which, over the suffixes, finds the run anywhere inside a word) —
//! and the terms are ANDed in an FTS5 expression where each is a quoted
//! string, so nothing the user types (`"`, `*`, `OR`, `NEAR(`) is FTS syntax.
//! The terms only narrow the candidates: the database then keeps the messages
//! whose text contains every word as typed (ASCII case folded), so a hit is
//! exactly "the message contains the words".

/// Is `c` written without spaces between words (Chinese, Japanese, Korean)?
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x3FFFF) // CJK extensions B…
}

/// A piece of text between separators.
#[derive(Debug, PartialEq, Eq)]
enum Run<'a> {
    Cjk(Vec<char>),
    Word(&'a str),
}

/// The CJK runs and the letter/digit runs of `text`; everything else
/// (spaces, punctuation, emoji) separates.
fn runs(text: &str) -> Vec<Run<'_>> {
    let mut out = Vec::new();
    let mut cjk: Vec<char> = Vec::new();
    let mut word: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if is_cjk(c) && c.is_alphanumeric() {
            if let Some(s) = word.take() {
                out.push(Run::Word(&text[s..i]));
            }
            cjk.push(c);
        } else if c.is_alphanumeric() {
            if !cjk.is_empty() {
                out.push(Run::Cjk(std::mem::take(&mut cjk)));
            }
            word.get_or_insert(i);
        } else {
            if let Some(s) = word.take() {
                out.push(Run::Word(&text[s..i]));
            }
            if !cjk.is_empty() {
                out.push(Run::Cjk(std::mem::take(&mut cjk)));
            }
        }
    }
    if let Some(s) = word {
        out.push(Run::Word(&text[s..]));
    }
    if !cjk.is_empty() {
        out.push(Run::Cjk(cjk));
    }
    out
}

/// Letter and digit runs up to this many characters are indexed with all
/// their suffixes; a longer run (a hash, a pasted token) only as itself, so
/// only its beginning is found.
pub const MAX_SUFFIXED: usize = 32;

/// The terms a message is indexed under, space-separated ("" for none).
pub fn index_terms(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    let mut push = |s: &str| {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(s);
    };
    for run in runs(text) {
        match run {
            Run::Word(w) => {
                let w = w.to_lowercase();
                push(&w);
                if w.chars().count() <= MAX_SUFFIXED {
                    for (i, _) in w.char_indices().skip(1) {
                        push(&w[i..]);
                    }
                }
            }
            Run::Cjk(cs) => {
                let mut buf = [0u8; 8];
                for c in &cs {
                    push(c.encode_utf8(&mut buf));
                }
                for pair in cs.windows(2) {
                    let s: String = pair.iter().collect();
                    push(&s);
                }
            }
        }
    }
    out
}

/// A parsed search: the words every hit contains and the FTS5 expression
/// that finds the candidates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The words as typed, ASCII letters lowered (the database compares
    /// them with `lower(content)`).
    pub words: Vec<String>,
    /// The FTS5 MATCH expression (terms quoted, ANDed).
    pub fts: String,
}

/// The longest query accepted, in characters.
pub const MAX_QUERY: usize = 100;

/// Why a query cannot run (shown to the user).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryError {
    TooLong,
    /// Only punctuation or symbols: nothing to look up.
    NothingToFind,
}

impl QueryError {
    pub fn message(&self) -> String {
        match self {
            QueryError::TooLong => crate::t1("search-too-long", "max", MAX_QUERY as i64),
            QueryError::NothingToFind => crate::t("search-nothing-to-find"),
        }
    }
}

fn quote(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// Parses what the user typed; `Ok(None)` for an empty query (no text filter).
pub fn parse(q: &str) -> Result<Option<Query>, QueryError> {
    let q = q.trim();
    if q.is_empty() {
        return Ok(None);
    }
    if q.chars().count() > MAX_QUERY {
        return Err(QueryError::TooLong);
    }
    let mut words = Vec::new();
    let mut terms: Vec<String> = Vec::new();
    for word in q.split_whitespace() {
        let lowered = word.to_ascii_lowercase();
        if words.contains(&lowered) {
            continue;
        }
        words.push(lowered);
        for run in runs(word) {
            let term = match run {
                Run::Word(w) => format!("{} *", quote(&w.to_lowercase())),
                Run::Cjk(cs) if cs.len() == 1 => quote(&cs[0].to_string()),
                Run::Cjk(cs) => {
                    for pair in cs.windows(2) {
                        let t = quote(&pair.iter().collect::<String>());
                        if !terms.contains(&t) {
                            terms.push(t);
                        }
                    }
                    continue;
                }
            };
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
    }
    if terms.is_empty() {
        return Err(QueryError::NothingToFind);
    }
    Ok(Some(Query {
        words,
        fts: terms.join(" AND "),
    }))
}

/// `text` cut into pieces, `true` for the pieces that are one of `words`
/// (ASCII case folded); for showing hits. The pieces are plain text: the
/// template escapes each and marks the hits.
pub fn highlight(text: &str, words: &[String]) -> Vec<(String, bool)> {
    let lowered = text.to_ascii_lowercase(); // same byte offsets as `text`
    let mut marked = vec![false; text.len()];
    for w in words.iter().filter(|w| !w.is_empty()) {
        let mut from = 0;
        while let Some(i) = lowered[from..].find(w.as_str()) {
            let at = from + i;
            marked[at..at + w.len()].iter_mut().for_each(|m| *m = true);
            from = at + w.len();
        }
    }
    let mut out: Vec<(String, bool)> = Vec::new();
    for (i, c) in text.char_indices() {
        let hit = marked[i];
        match out.last_mut() {
            Some((s, h)) if *h == hit => s.push(c),
            _ => out.push((c.to_string(), hit)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_runs_give_unigrams_and_bigrams_and_words_their_suffixes() {
        assert_eq!(index_terms("退款多久"), "退 款 多 久 退款 款多 多久");
        assert_eq!(
            index_terms("我的订单 20261201 什么时候发货？"),
            "我 的 订 单 我的 的订 订单 20261201 0261201 261201 61201 1201 201 01 1 \
             什 么 时 候 发 货 什么 么时 时候 候发 发货"
        );
        assert_eq!(
            index_terms("iPhone15坏了！"),
            "iphone15 phone15 hone15 one15 ne15 e15 15 5 坏 了 坏了"
        );
        // Suffixes start at characters, not bytes; letters with combining
        // marks stay one run (FTS5 sees one token per term).
        assert_eq!(index_terms("Café"), "café afé fé é");
        assert_eq!(index_terms("订单2026号"), "订 单 订单 2026 026 26 6 号");
        // A run longer than MAX_SUFFIXED is indexed only as itself.
        let long = "a".repeat(MAX_SUFFIXED + 1);
        assert_eq!(index_terms(&long), long);
        let limit = "b".repeat(MAX_SUFFIXED);
        assert_eq!(index_terms(&limit).split(' ').count(), MAX_SUFFIXED);
        assert_eq!(index_terms("，。！"), "");
        assert_eq!(index_terms(""), "");
    }

    #[test]
    fn queries_become_quoted_terms_never_syntax() {
        let q = parse("退").unwrap().unwrap();
        assert_eq!(q.fts, "\"退\"");
        let q = parse("退款").unwrap().unwrap();
        assert_eq!(q.fts, "\"退款\"");
        let q = parse("退款多久").unwrap().unwrap();
        assert_eq!(q.fts, "\"退款\" AND \"款多\" AND \"多久\"");
        let q = parse("订单2026120188").unwrap().unwrap();
        assert_eq!(q.fts, "\"订单\" AND \"2026120188\" *");
        assert_eq!(q.words, vec!["订单2026120188".to_string()]);
        let q = parse("\"退款\" OR NEAR( 物流").unwrap().unwrap();
        assert_eq!(q.fts, "\"退款\" AND \"or\" * AND \"near\" * AND \"物流\"");
        assert_eq!(q.words, vec!["\"退款\"", "or", "near(", "物流"]);
        let q = parse("a\"b*").unwrap().unwrap();
        assert_eq!(q.fts, "\"a\" * AND \"b\" *");
        assert_eq!(parse("  ").unwrap(), None);
        assert_eq!(parse("* \" ( )"), Err(QueryError::NothingToFind));
        assert_eq!(parse(&"字".repeat(101)), Err(QueryError::TooLong));
        assert!(!QueryError::NothingToFind.message().contains(','));
    }

    #[test]
    fn highlight_marks_every_occurrence_as_plain_pieces() {
        let h = highlight("退款<b>退款", &["退款".into()]);
        assert_eq!(
            h,
            vec![
                ("退款".to_string(), true),
                ("<b>".to_string(), false),
                ("退款".to_string(), true)
            ]
        );
        let h = highlight("Hello WORLD", &["world".into()]);
        assert_eq!(h[1], ("WORLD".to_string(), true));
        assert_eq!(highlight("", &["x".into()]), vec![]);
    }
}
