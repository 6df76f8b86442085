//! The interface language (issue 13): the message catalogues, the rule that
//! templates hold no Chinese of their own, full-width punctuation in Chinese
//! text, and the language a page is drawn in (user's choice, `Accept-Language`).

mod common;

use common::*;
use kefu::i18n::{self, Lang};
use kefu::model::Role;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

/// Message ids per catalogue file of one locale: file name → ids.
fn catalogue(lang: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    files_under(&root().join("locales").join(lang), "ftl", &mut files);
    assert!(!files.is_empty(), "no catalogue for {lang}");
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).expect("catalogue readable");
            if let Err((_, errors)) =
                fluent_templates::fluent_bundle::FluentResource::try_new(text.clone())
            {
                panic!("{}: Fluent syntax errors: {errors:?}", f.display());
            }
            let ids = text
                .lines()
                .filter_map(|l| {
                    let (id, _) = l.split_once(" =")?;
                    let ok = id.starts_with(|c: char| c.is_ascii_alphabetic())
                        && id
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                    ok.then(|| id.to_owned())
                })
                .collect();
            (
                f.file_name()
                    .expect("file name")
                    .to_string_lossy()
                    .into_owned(),
                ids,
            )
        })
        .collect()
}

#[test]
fn both_catalogues_have_the_same_files_and_keys() {
    let zh = catalogue("zh-CN");
    let en = catalogue("en");
    assert_eq!(
        zh.keys().collect::<Vec<_>>(),
        en.keys().collect::<Vec<_>>(),
        "locales/zh-CN and locales/en must hold the same files"
    );
    let mut problems = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (file, ids) in &zh {
        let other = &en[file];
        for id in ids.difference(other) {
            problems.push(format!("{file}: {id} only in zh-CN"));
        }
        for id in other.difference(ids) {
            problems.push(format!("{file}: {id} only in en"));
        }
        for id in ids {
            if let Some(first) = seen.insert(id.clone(), file.clone()) {
                problems.push(format!("{id} is in both {first} and {file}"));
            }
            // Messages without arguments draw in each language.
            for lang in Lang::ALL {
                let text = i18n::lookup(*lang, id, &[]);
                if text == *id && !takes_arguments(id) {
                    problems.push(format!("{file}: {id} does not draw in {}", lang.code()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Whether the zh-CN message `id` has a `{ $variable }` anywhere.
fn takes_arguments(id: &str) -> bool {
    let mut files = Vec::new();
    files_under(&root().join("locales/zh-CN"), "ftl", &mut files);
    for f in files {
        let text = std::fs::read_to_string(f).expect("readable");
        let mut inside = false;
        for line in text.lines() {
            if let Some((head, _)) = line.split_once(" =") {
                if !line.starts_with(' ') {
                    inside = head == id;
                }
            }
            if inside && line.contains('$') {
                return true;
            }
        }
    }
    false
}

/// Keys named in code: `t("k")`, `t1("k", …)`, `t2`, `t3`, `lookup(lang, "k", …)`.
fn used_keys(text: &str, out: &mut BTreeSet<String>) {
    for pat in [
        "t(\"",
        "t1(\"",
        "t2(\"",
        "t3(\"",
        "lookup(locale, \"",
        "lookup(lang, \"",
        "Msg::new(\"",
        // Refusals the db layer returns as keys for the caller to draw.
        "Ok(Err(\"",
    ] {
        let mut rest = text;
        while let Some(i) = rest.find(pat) {
            let before = rest[..i].chars().next_back();
            rest = &rest[i + pat.len()..];
            // `t(` must be the function, not the end of another name (`split(`…).
            if pat.starts_with('t') && before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let key: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            if rest[key.len()..].starts_with('"') && key.contains('-') {
                out.insert(key);
            }
        }
    }
}

#[test]
fn every_key_the_code_uses_is_in_both_catalogues() {
    let mut files = Vec::new();
    files_under(&root().join("templates"), "html", &mut files);
    files_under(&root().join("src"), "rs", &mut files);
    let mut keys = BTreeSet::new();
    for f in &files {
        used_keys(&std::fs::read_to_string(f).expect("readable"), &mut keys);
    }
    keys.extend(kefu::web::page::JS_KEYS.iter().map(|k| (*k).to_owned()));
    // Every stored enum's label (model.rs `db_enum!`).
    let model = std::fs::read_to_string(root().join("src/model.rs")).expect("model.rs");
    let mut current = None;
    for line in model.lines() {
        if let Some(rest) = line.strip_prefix("db_enum!(") {
            current = rest.split_whitespace().next().map(str::to_owned);
        } else if let (Some(name), Some((_, value))) = (&current, line.split_once("=> \"")) {
            let value = value.trim_end_matches("\";");
            keys.insert(format!("enum-{name}-{value}"));
        } else if line.starts_with("});") {
            current = None;
        }
    }
    assert!(keys.len() > 100, "the scan found only {} keys", keys.len());
    let mut missing = Vec::new();
    for lang in ["zh-CN", "en"] {
        let known: BTreeSet<String> = catalogue(lang).into_values().flatten().collect();
        missing.extend(keys.difference(&known).map(|k| format!("{k} ({lang})")));
    }
    assert!(
        missing.is_empty(),
        "keys missing from the catalogue:\n{}",
        missing.join("\n")
    );
}

#[test]
fn templates_hold_no_chinese_of_their_own() {
    let mut files = Vec::new();
    files_under(&root().join("templates"), "html", &mut files);
    assert!(files.len() > 40);
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable");
        for (n, line) in text.lines().enumerate() {
            if line.chars().any(is_cjk) {
                found.push(format!(
                    "{}:{}: {}",
                    f.strip_prefix(root()).unwrap_or(f).display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "{} template lines carry Chinese text outside the catalogue:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// A half-width `, : ; ! ? ( )` touching a Chinese character.
fn half_width_next_to_chinese(line: &str) -> bool {
    let chars: Vec<char> = line.chars().collect();
    chars.windows(2).any(|w| {
        let half = |c: char| matches!(c, ',' | ':' | ';' | '!' | '?' | '(' | ')');
        (is_cjk(w[0]) && half(w[1])) || (half(w[0]) && is_cjk(w[1]))
    })
}

#[test]
fn the_rule_for_punctuation_catches_what_it_should() {
    // Built from pieces so that this file holds no such text itself.
    for (a, mark, b) in [
        ("已保存", ',', "请登录"),
        ("接待", ':', "艾米"),
        ("有问题吗", '?', ""),
    ] {
        assert!(half_width_next_to_chinese(&format!("{a}{mark}{b}")));
    }
    assert!(half_width_next_to_chinese(&format!(
        "安全模式{}推荐{}",
        '(', ')'
    )));
    assert!(!half_width_next_to_chinese("已保存，请登录"));
    assert!(!half_width_next_to_chinese("Saved, please sign in (now)!"));
    assert!(!half_width_next_to_chinese("10 MB, 20 MB"));
}

#[test]
fn chinese_text_uses_full_width_punctuation() {
    let mut files = Vec::new();
    files_under(&root().join("locales/zh-CN"), "ftl", &mut files);
    files_under(&root().join("templates"), "html", &mut files);
    files_under(&root().join("src"), "rs", &mut files);
    files.push(root().join("schema.sql"));
    files_under(&root().join("src/db/migrations"), "sql", &mut files);
    files.push(root().join("assets/app.js"));
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable");
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
        for (n, line) in text.lines().enumerate() {
            // Comments are for us, not users; the CLI's help (`///` on clap
            // fields in config.rs) is for users.
            let trimmed = line.trim_start();
            let comment = match ext {
                "rs" => {
                    trimmed.starts_with("//")
                        && !(f.ends_with("src/config.rs") && trimmed.starts_with("///"))
                }
                "sql" => trimmed.starts_with("--"),
                "ftl" => trimmed.starts_with('#'),
                "js" => trimmed.starts_with("//"),
                _ => false,
            };
            if !comment && half_width_next_to_chinese(line) {
                found.push(format!(
                    "{}:{}: {}",
                    f.strip_prefix(root()).unwrap_or(f).display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "{} lines put half-width punctuation next to Chinese:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[tokio::test]
async fn the_login_page_follows_the_browser_and_a_user_their_choice() {
    let server = TestServer::start().await;
    server.user("lina", Role::Agent, &[]).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let login = |lang: Option<&'static str>| {
        let mut req = http.get(server.at("/login"));
        if let Some(l) = lang {
            req = req.header("accept-language", l);
        }
        async move {
            req.send()
                .await
                .expect("login page")
                .text()
                .await
                .expect("body")
        }
    };

    let zh = login(None).await;
    assert!(zh.contains("<html lang=\"zh-CN\""), "{zh}");
    assert!(zh.contains(">登录</h1>"));
    let zh = login(Some("zh-CN,zh;q=0.9,en;q=0.8")).await;
    assert!(zh.contains(">登录</h1>"));

    let en = login(Some("en-US,en;q=0.9,zh;q=0.5")).await;
    assert!(en.contains("<html lang=\"en\""), "{en}");
    assert!(en.contains(">Sign in</h1>"), "{en}");
    assert!(
        !en.chars().any(is_cjk),
        "Chinese left on the English login page:\n{en}"
    );

    // A signed-in user's own choice wins over the browser.
    let agent = server.login("lina").await;
    let (_, page) = agent.text("/console/me").await;
    assert!(page.contains("<html lang=\"zh-CN\""));
    assert!(page.contains("界面语言"));
    let resp = agent
        .post_form("/console/me/locale", &[("locale", "en")])
        .await;
    assert!(resp.status().is_redirection(), "{}", resp.status());
    let (_, page) = agent.text("/console/me").await;
    assert!(page.contains("<html lang=\"en\""), "{page}");
    assert!(page.contains("The interface is now in English"), "{page}");
    assert!(page.contains(">Sign out</button>"));
    // Stored labels come from the catalogue too: the role.
    assert!(page.contains("<dd>Agent</dd>"), "{page}");

    let resp = agent
        .post_form("/console/me/locale", &[("locale", "klingon")])
        .await;
    assert_eq!(resp.status().as_u16(), 400);

    let resp = agent
        .post_form("/console/me/locale", &[("locale", "zh-CN")])
        .await;
    assert!(resp.status().is_redirection());
    let (_, page) = agent.text("/console/me").await;
    assert!(page.contains("界面语言已切换为简体中文"), "{page}");
    server.stop().await;
}

#[tokio::test]
async fn database_closures_speak_the_callers_language() {
    let server = TestServer::start().await;
    let db = server.state.db.clone();
    let read = i18n::scope(Lang::En, async {
        db.read(|_| Ok::<_, kefu::db::DbError>(kefu::t("enum-Role-admin")))
            .await
    })
    .await
    .expect("read");
    assert_eq!(read, "Admin");
    let write = i18n::scope(Lang::En, async {
        db.write(|_| Ok::<_, kefu::db::DbError>(kefu::t("enum-Role-agent")))
            .await
    })
    .await
    .expect("write");
    assert_eq!(write, "Agent");
    let plain = db
        .read(|_| Ok::<_, kefu::db::DbError>(kefu::t("enum-Role-agent")))
        .await
        .expect("read");
    assert_eq!(plain, "普通客服");
    server.stop().await;
}

/// The first-run setup in an English browser: the super admin goes on in
/// English — the console and its first message agree (it was English text
/// on a Chinese console).
#[tokio::test]
async fn the_super_admin_keeps_the_language_of_the_setup_page() {
    let server = TestServer::start().await;
    let code = server.state.setup_code().expect("a setup code").to_string();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        reqwest::header::HeaderValue::from_static("en-US,en;q=0.9"),
    );
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = http.get(server.at("/setup")).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("<html lang=\"en\""), "{page}");
    let csrf = extract_csrf(&page).expect("the setup form's token");
    let r = http
        .post(server.at("/setup"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("code", code.as_str()),
            ("username", "boss"),
            ("display_name", "Boss"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let console = http.get(server.at("/console")).send().await.unwrap();
    let console = console.text().await.unwrap();
    assert!(console.contains("<html lang=\"en\""), "{console}");
    assert!(
        console.contains("Super admin created and signed in"),
        "{console}"
    );
    let me = kefu::model::UserId(1);
    let user = server
        .state
        .db
        .read(move |c| kefu::db::users::get(c, me))
        .await
        .unwrap()
        .expect("the super admin");
    assert_eq!(user.locale, Lang::En);
}
