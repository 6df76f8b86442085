//! The interface language. Every user-facing string of the web UI lives in a
//! Fluent message catalogue per locale (`locales/zh-CN/*.ftl`, `locales/en/*.ftl`,
//! compiled into the binary); zh-CN is the default and the fallback.
//!
//! The language of a request is chosen once, in the session middleware (the
//! signed-in user's choice in 个人中心 or else the browser's `Accept-Language`),
//! and held in a task-local for the request, so templates and handlers call
//! [`t`] without threading it through every struct. Work outside a request
//! (background jobs, exports on the blocking pool) gets zh-CN unless it is run
//! inside [`scope`] / [`sync_scope`]. Follower-facing texts are not translated:
//! they are what the merchant wrote.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use fluent_templates::LanguageIdentifier;
use fluent_templates::fluent_bundle::FluentValue;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "zh-CN",
        // No Unicode isolation marks around arguments: they would end up in
        // attributes, form values and tests.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language of the interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

static ZH: LazyLock<LanguageIdentifier> = LazyLock::new(|| fluent_templates::langid!("zh-CN"));
static EN: LazyLock<LanguageIdentifier> = LazyLock::new(|| fluent_templates::langid!("en"));

impl Lang {
    pub const ALL: &'static [Lang] = &[Lang::Zh, Lang::En];

    /// The BCP 47 tag, as stored in `users.locale` and used in `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The language's own name, shown in the chooser.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::Zh => "简体中文",
            Lang::En => "English",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        if s == "zh" || s.starts_with("zh-") || s.starts_with("zh_") {
            Some(Lang::Zh)
        } else if s == "en" || s.starts_with("en-") || s.starts_with("en_") {
            Some(Lang::En)
        } else {
            None
        }
    }

    fn id(self) -> &'static LanguageIdentifier {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// The best of our languages for an `Accept-Language` header; zh-CN when
    /// the header names neither.
    pub fn from_accept_language(header: &str) -> Lang {
        let wanted = fluent_langneg::accepted_languages::parse(header);
        let ours = [ZH.clone(), EN.clone()];
        let chosen = fluent_langneg::negotiate_languages(
            &wanted,
            &ours,
            Some(&*ZH),
            fluent_langneg::NegotiationStrategy::Lookup,
        );
        chosen
            .first()
            .and_then(|l| Lang::parse(&l.to_string()))
            .unwrap_or_default()
    }
}

impl rusqlite::ToSql for Lang {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.code().into())
    }
}

impl rusqlite::types::FromSql for Lang {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let s = v.as_str()?;
        Lang::parse(s).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown locale {s:?}").into())
        })
    }
}

tokio::task_local! {
    static CURRENT: Lang;
}

/// The language of the request being served (zh-CN outside a request).
pub fn current() -> Lang {
    CURRENT.try_with(|l| *l).unwrap_or_default()
}

/// Runs `f` with `lang` as the current language.
pub async fn scope<F: Future>(lang: Lang, f: F) -> F::Output {
    CURRENT.scope(lang, f).await
}

/// Runs `f` with `lang` as the current language, synchronously (rendering a
/// fragment for a live stream, work on the blocking pool).
pub fn sync_scope<R>(lang: Lang, f: impl FnOnce() -> R) -> R {
    CURRENT.sync_scope(lang, f)
}

/// A value passed into a message: numbers stay numbers (plural rules), the
/// rest is text.
pub trait Arg {
    fn value(&self) -> FluentValue<'static>;
}

impl Arg for str {
    fn value(&self) -> FluentValue<'static> {
        FluentValue::String(Cow::Owned(self.to_owned()))
    }
}

impl Arg for String {
    fn value(&self) -> FluentValue<'static> {
        self.as_str().value()
    }
}

impl Arg for Cow<'_, str> {
    fn value(&self) -> FluentValue<'static> {
        self.as_ref().value()
    }
}

impl Arg for FluentValue<'static> {
    fn value(&self) -> FluentValue<'static> {
        self.clone()
    }
}

impl<T: Arg + ?Sized> Arg for &T {
    fn value(&self) -> FluentValue<'static> {
        (**self).value()
    }
}

macro_rules! number_args {
    ($($t:ty),*) => {$(
        impl Arg for $t {
            fn value(&self) -> FluentValue<'static> {
                FluentValue::from(*self)
            }
        }
    )*};
}
number_args!(i8, i16, i32, i64, u8, u16, u32, u64, usize, isize, f32, f64);

/// A message drawn later, in the language of whoever reads it (a toast made
/// while serving one user and shown to another).
///
/// A message can also be stored ([`Msg::stored`]) where a background job
/// writes a text that people read later — a system note in a chat, why a
/// reply was not delivered — and is drawn in each reader's language by
/// [`shown`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    pub key: Cow<'static, str>,
    pub args: Vec<(Cow<'static, str>, MsgArg)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MsgArg {
    Text(String),
    Number(i64),
    /// A message of its own, drawn in the same language first.
    Msg(Box<Msg>),
}

/// The first character of a stored [`Msg`]. Text from outside never holds it:
/// control characters are stripped from WeChat's text and refused in forms.
const STORED: char = '\u{1}';

impl Msg {
    pub fn new(key: &'static str) -> Msg {
        Msg {
            key: Cow::Borrowed(key),
            args: Vec::new(),
        }
    }

    pub fn text(mut self, name: &'static str, value: impl Into<String>) -> Msg {
        self.args
            .push((Cow::Borrowed(name), MsgArg::Text(value.into())));
        self
    }

    pub fn number(mut self, name: &'static str, value: i64) -> Msg {
        self.args.push((Cow::Borrowed(name), MsgArg::Number(value)));
        self
    }

    pub fn msg(mut self, name: &'static str, value: Msg) -> Msg {
        self.args
            .push((Cow::Borrowed(name), MsgArg::Msg(Box::new(value))));
        self
    }

    /// The message in `lang`.
    pub fn draw(&self, lang: Lang) -> String {
        let values: Vec<FluentValue<'static>> = self
            .args
            .iter()
            .map(|(_, v)| match v {
                MsgArg::Text(s) => s.value(),
                MsgArg::Number(n) => n.value(),
                MsgArg::Msg(m) => m.draw(lang).value(),
            })
            .collect();
        let args: Vec<(&str, &dyn Arg)> = self
            .args
            .iter()
            .zip(&values)
            .map(|((k, _), v)| (k.as_ref(), v as &dyn Arg))
            .collect();
        lookup(lang, &self.key, &args)
    }

    /// The message in the current language.
    pub fn now(&self) -> String {
        self.draw(current())
    }

    /// The message as a text to store: [`shown`] draws it in the language of
    /// whoever reads it.
    pub fn stored(&self) -> String {
        format!("{STORED}{}", self.to_json())
    }

    fn to_json(&self) -> serde_json::Value {
        let args: Vec<serde_json::Value> = self
            .args
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    MsgArg::Text(s) => serde_json::Value::from(s.as_str()),
                    MsgArg::Number(n) => serde_json::Value::from(*n),
                    MsgArg::Msg(m) => m.to_json(),
                };
                serde_json::json!([k, v])
            })
            .collect();
        serde_json::json!({ "k": self.key, "a": args })
    }

    fn from_json(v: &serde_json::Value) -> Option<Msg> {
        let key = v.get("k")?.as_str()?.to_owned();
        let mut args = Vec::new();
        for pair in v.get("a")?.as_array()? {
            let name = pair.get(0)?.as_str()?.to_owned();
            let value = pair.get(1)?;
            let value = if let Some(s) = value.as_str() {
                MsgArg::Text(s.to_owned())
            } else if let Some(n) = value.as_i64() {
                MsgArg::Number(n)
            } else {
                MsgArg::Msg(Box::new(Msg::from_json(value)?))
            };
            args.push((Cow::Owned(name), value));
        }
        Some(Msg {
            key: Cow::Owned(key),
            args,
        })
    }
}

/// A stored text as the current reader sees it: a stored [`Msg`] drawn in
/// their language, anything else (what a person wrote, older rows) as it is.
pub fn shown(text: &str) -> Cow<'_, str> {
    shown_in(current(), text)
}

/// [`shown`] in a given language.
pub fn shown_in(lang: Lang, text: &str) -> Cow<'_, str> {
    let Some(json) = text.strip_prefix(STORED) else {
        return Cow::Borrowed(text);
    };
    match serde_json::from_str(json)
        .ok()
        .as_ref()
        .and_then(Msg::from_json)
    {
        Some(m) => Cow::Owned(m.draw(lang)),
        None => {
            tracing::warn!(text, "a stored message cannot be read");
            Cow::Owned(json.to_owned())
        }
    }
}

/// Looks `key` up in `lang`'s catalogue; a missing key logs and shows itself
/// (tests in `tests/i18n.rs` keep every used key present in both catalogues).
pub fn lookup(lang: Lang, key: &str, args: &[(&str, &dyn Arg)]) -> String {
    let map: Option<HashMap<Cow<'static, str>, FluentValue<'_>>> = if args.is_empty() {
        None
    } else {
        Some(
            args.iter()
                .map(|(k, v)| (Cow::Owned((*k).to_owned()), v.value()))
                .collect(),
        )
    };
    match LOCALES.lookup_single_language(lang.id(), key, map.as_ref()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(key, lang = lang.code(), error = %e, "message cannot be drawn from the catalogue");
            match lang {
                Lang::Zh => key.to_owned(),
                // Better Chinese than a bare key.
                Lang::En => lookup(Lang::Zh, key, args),
            }
        }
    }
}

/// The message `key` in the current language.
pub fn t(key: &str) -> String {
    lookup(current(), key, &[])
}

/// The message `key` with one argument.
pub fn t1(key: &str, name: &str, value: impl Arg) -> String {
    lookup(current(), key, &[(name, &value)])
}

/// The message `key` with two arguments.
pub fn t2(key: &str, n1: &str, v1: impl Arg, n2: &str, v2: impl Arg) -> String {
    lookup(current(), key, &[(n1, &v1), (n2, &v2)])
}

/// The message `key` with three arguments.
pub fn t3(
    key: &str,
    n1: &str,
    v1: impl Arg,
    n2: &str,
    v2: impl Arg,
    n3: &str,
    v3: impl Arg,
) -> String {
    lookup(current(), key, &[(n1, &v1), (n2, &v2), (n3, &v3)])
}

/// A whole number with thousands separators, as both our locales write it.
pub fn number(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_english_only_when_asked_first() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language("en-GB"), Lang::En);
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language("zh-TW"), Lang::Zh);
        assert_eq!(Lang::from_accept_language("fr-FR"), Lang::Zh);
        assert_eq!(Lang::from_accept_language(""), Lang::Zh);
        assert_eq!(Lang::from_accept_language("fr;q=0.9, en;q=0.5"), Lang::En);
    }

    #[test]
    fn lookup_follows_the_scope_and_formats_arguments() {
        assert_eq!(t("enum-Role-admin"), "管理员");
        let en = sync_scope(Lang::En, || t("enum-Role-admin"));
        assert_eq!(en, "Admin");
        assert_eq!(current(), Lang::Zh);
        assert_eq!(t("nosuchkey"), "nosuchkey");
        // Plural rules come from Fluent, per language.
        let rows = |lang, n: i64| lookup(lang, "common-rows", &[("n", &n)]);
        assert_eq!(rows(Lang::En, 1), "1 row");
        assert_eq!(rows(Lang::En, 3), "3 rows");
        assert_eq!(rows(Lang::Zh, 3), "3 条");
        let copied = sync_scope(Lang::En, || t1("js-copied", "x", "abc"));
        assert_eq!(copied, "Copied: abc");
    }

    #[test]
    fn a_stored_message_is_drawn_in_the_readers_language() {
        let m = Msg::new("js-copied").text("x", "abc");
        let stored = m.stored();
        assert_eq!(shown_in(Lang::En, &stored), "Copied: abc");
        assert_ne!(shown_in(Lang::Zh, &stored), shown_in(Lang::En, &stored));
        assert_eq!(shown_in(Lang::Zh, &stored), m.draw(Lang::Zh));
        // Nested messages and numbers survive the round trip.
        let rows = Msg::new("common-rows").number("n", 3);
        let outer = Msg::new("js-copied").msg("x", rows);
        assert_eq!(shown_in(Lang::En, &outer.stored()), "Copied: 3 rows");
        // What a person wrote is shown as written.
        assert_eq!(shown("会话已结束"), "会话已结束");
        assert_eq!(shown(""), "");
        // A broken stored text shows its body rather than nothing.
        assert_eq!(shown_in(Lang::En, "\u{1}not json"), "not json");
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(1000), "1,000");
        assert_eq!(number(-1234567), "-1,234,567");
    }
}
