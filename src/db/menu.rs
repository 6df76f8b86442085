//! Custom menu (A12): each account's menu being edited (the draft, kept as the
//! JSON WeChat's `menu/create` takes), when it was last published, and the
//! replies to CLICK keys. The typed [`Menu`] is the only place that JSON is
//! built or read, and it holds WeChat's rules (WECHAT.md §10; byte limits as
//! WeChat counts them) so a bad menu is refused with a Chinese reason before it
//! reaches WeChat. No HTTP here: publishing is `web::admin::menu` calling
//! `WechatApi::create_menu`.

use super::{DbError, DbResult, ms, ts};
use crate::db::Cached;
use crate::model::AccountId;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};

/// Top-level buttons WeChat accepts.
pub const MAX_BUTTONS: usize = 3;
/// Sub-buttons under one top-level button.
pub const MAX_SUBS: usize = 5;
/// A top-level name, in UTF-8 bytes (a Chinese character takes 3).
pub const MAX_NAME_BYTES: usize = 16;
/// A sub-button name, in UTF-8 bytes.
pub const MAX_SUB_NAME_BYTES: usize = 60;
pub const MAX_KEY_BYTES: usize = 128;
pub const MAX_URL_BYTES: usize = 1024;
/// A click reply, in characters (the `menu_replies` CHECK).
pub const MAX_REPLY_CHARS: usize = 2000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Menu {
    pub buttons: Vec<Button>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Button {
    pub name: String,
    pub kind: ButtonKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ButtonKind {
    /// WeChat pushes a CLICK event carrying `key`.
    Click { key: String },
    /// Opens `url`.
    View { url: String },
    /// Opens a list of sub-buttons (click or view only).
    Parent { subs: Vec<Button> },
}

impl Button {
    pub fn click(name: &str, key: &str) -> Button {
        Button {
            name: name.into(),
            kind: ButtonKind::Click { key: key.into() },
        }
    }

    pub fn view(name: &str, url: &str) -> Button {
        Button {
            name: name.into(),
            kind: ButtonKind::View { url: url.into() },
        }
    }

    pub fn parent(name: &str, subs: Vec<Button>) -> Button {
        Button {
            name: name.into(),
            kind: ButtonKind::Parent { subs },
        }
    }

    /// The key of a click button.
    pub fn key(&self) -> Option<&str> {
        match &self.kind {
            ButtonKind::Click { key } => Some(key),
            _ => None,
        }
    }

    fn to_wechat(&self) -> Value {
        match &self.kind {
            ButtonKind::Click { key } => json!({"type": "click", "name": self.name, "key": key}),
            ButtonKind::View { url } => json!({"type": "view", "name": self.name, "url": url}),
            ButtonKind::Parent { subs } => json!({
                "name": self.name,
                "sub_button": subs.iter().map(Button::to_wechat).collect::<Vec<_>>(),
            }),
        }
    }

    /// A button as WeChat writes it; `nested`: a sub-button, which may not have subs.
    fn from_wechat(v: &Value, nested: bool) -> Result<Button, String> {
        let name = v["name"].as_str().unwrap_or_default().to_string();
        let subs = v["sub_button"].as_array().filter(|s| !s.is_empty());
        if let Some(subs) = subs {
            if nested {
                return Err(crate::t1("valid-menu-nested", "name", name));
            }
            let subs = subs
                .iter()
                .map(|s| Button::from_wechat(s, true))
                .collect::<Result<_, _>>()?;
            return Ok(Button {
                name,
                kind: ButtonKind::Parent { subs },
            });
        }
        let text = |field: &str| v[field].as_str().unwrap_or_default().to_string();
        let kind = match v["type"].as_str().unwrap_or_default() {
            "click" => ButtonKind::Click { key: text("key") },
            "view" => ButtonKind::View { url: text("url") },
            other => {
                return Err(crate::t2(
                    "valid-menu-type",
                    "name",
                    name,
                    "kind",
                    type_label(other),
                ));
            }
        };
        Ok(Button { name, kind })
    }
}

/// What WeChat's other button types are called in its own admin pages.
fn type_label(kind: &str) -> String {
    let key = match kind {
        "scancode_push" => "menu-type-scancode-push",
        "scancode_waitmsg" => "menu-type-scancode-waitmsg",
        "pic_sysphoto" => "menu-type-pic-sysphoto",
        "pic_photo_or_album" => "menu-type-pic-photo-or-album",
        "pic_weixin" => "menu-type-pic-weixin",
        "location_select" => "menu-type-location-select",
        "media_id" | "view_limited" => "menu-type-media",
        "article_id" | "article_view_limited" => "menu-type-article",
        "miniprogram" => "menu-type-miniprogram",
        "" => "menu-type-unknown",
        other => return other.to_string(),
    };
    crate::t(key)
}

impl Menu {
    pub fn is_empty(&self) -> bool {
        self.buttons.is_empty()
    }

    /// Every click key, top-level and sub-buttons, in menu order.
    pub fn click_keys(&self) -> Vec<&str> {
        let mut keys = Vec::new();
        for b in &self.buttons {
            match &b.kind {
                ButtonKind::Parent { subs } => keys.extend(subs.iter().filter_map(Button::key)),
                _ => keys.extend(b.key()),
            }
        }
        keys
    }

    /// WeChat's rules, plus ours (keys unique, so each has one reply; links
    /// http(s) only). An empty menu passes: it is a valid draft, though not
    /// something to publish. The error names the button, in Chinese.
    pub fn check(&self) -> Result<(), String> {
        if self.buttons.len() > MAX_BUTTONS {
            return Err(crate::t2(
                "valid-menu-too-many",
                "max",
                MAX_BUTTONS,
                "n",
                self.buttons.len(),
            ));
        }
        for (i, b) in self.buttons.iter().enumerate() {
            let at = crate::t1("menu-at-top", "n", i + 1);
            check_name(&b.name, MAX_NAME_BYTES, &crate::t("menu-hint-top"), &at)?;
            let at = crate::t2("menu-at-named", "at", &at, "name", &b.name);
            match &b.kind {
                ButtonKind::Parent { subs } if subs.is_empty() => {
                    return Err(crate::t1("valid-menu-no-subs", "at", &at));
                }
                ButtonKind::Parent { subs } if subs.len() > MAX_SUBS => {
                    return Err(crate::t3(
                        "valid-menu-subs-too-many",
                        "at",
                        &at,
                        "max",
                        MAX_SUBS,
                        "n",
                        subs.len(),
                    ));
                }
                ButtonKind::Parent { subs } => {
                    for (j, s) in subs.iter().enumerate() {
                        let at = crate::t2("menu-at-sub", "at", &at, "n", j + 1);
                        check_name(&s.name, MAX_SUB_NAME_BYTES, &crate::t("menu-hint-sub"), &at)?;
                        let at = crate::t2("menu-at-named", "at", &at, "name", &s.name);
                        if matches!(s.kind, ButtonKind::Parent { .. }) {
                            return Err(crate::t1("valid-menu-sub-nested", "at", &at));
                        }
                        check_leaf(&s.kind, &at)?;
                    }
                }
                leaf => check_leaf(leaf, &at)?,
            }
        }
        let mut seen = HashSet::new();
        for key in self.click_keys() {
            if !seen.insert(key) {
                return Err(crate::t1("valid-menu-key-twice", "key", key));
            }
        }
        Ok(())
    }

    /// The body of `menu/create`: `{"button":[…]}`.
    pub fn to_wechat(&self) -> Value {
        json!({ "button": self.buttons.iter().map(Button::to_wechat).collect::<Vec<_>>() })
    }

    /// A menu as `menu/create` takes it or `menu/get` returns its `menu`
    /// object. Only click and view buttons are understood; any other type is
    /// refused with its Chinese name. Counts and lengths are not checked here
    /// (see [`Menu::check`]).
    pub fn from_wechat(v: &Value) -> Result<Menu, String> {
        let buttons = v["button"]
            .as_array()
            .ok_or_else(|| crate::t("valid-menu-no-list"))?;
        Ok(Menu {
            buttons: buttons
                .iter()
                .map(|b| Button::from_wechat(b, false))
                .collect::<Result<_, _>>()?,
        })
    }
}

fn check_name(name: &str, max: usize, hint: &str, at: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err(crate::t1("valid-menu-name-missing", "at", at));
    }
    if name.len() > max {
        return Err(crate::i18n::lookup(
            crate::i18n::current(),
            "valid-menu-name-long",
            &[("at", &at), ("name", &name), ("max", &max), ("hint", &hint)],
        ));
    }
    Ok(())
}

fn check_leaf(kind: &ButtonKind, at: &str) -> Result<(), String> {
    match kind {
        ButtonKind::Click { key } if key.trim().is_empty() => {
            Err(crate::t1("valid-menu-key-missing", "at", at))
        }
        ButtonKind::Click { key } if key.len() > MAX_KEY_BYTES => Err(crate::t2(
            "valid-menu-key-long",
            "at",
            at,
            "max",
            MAX_KEY_BYTES,
        )),
        ButtonKind::View { url } if url.trim().is_empty() => {
            Err(crate::t1("valid-menu-url-missing", "at", at))
        }
        ButtonKind::View { url } if !is_web_url(url) => {
            Err(crate::t2("valid-menu-url-invalid", "at", at, "url", url))
        }
        ButtonKind::View { url } if url.len() > MAX_URL_BYTES => Err(crate::t2(
            "valid-menu-url-long",
            "at",
            at,
            "max",
            MAX_URL_BYTES,
        )),
        _ => Ok(()),
    }
}

/// An absolute http(s) URL with a host and no whitespace or control characters.
fn is_web_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !r.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

/// The reply to a click, or why it cannot be saved.
pub fn check_reply(reply: &str) -> Result<(), String> {
    let n = reply.chars().count();
    if n > MAX_REPLY_CHARS {
        return Err(crate::t2(
            "valid-menu-reply-long",
            "max",
            MAX_REPLY_CHARS,
            "n",
            n,
        ));
    }
    Ok(())
}

/// An account's draft and when a menu was last published.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stored {
    pub draft: Menu,
    pub published_at: Option<jiff::Timestamp>,
}

/// The draft (empty until one is saved).
pub fn load(conn: &Connection, account: AccountId) -> DbResult<Stored> {
    let row: Option<(String, Option<i64>)> = conn
        .row(
            "SELECT draft, published_at FROM menus WHERE account_id = ?1",
            [account],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((draft, published)) = row else {
        return Ok(Stored::default());
    };
    let draft = serde_json::from_str::<Value>(&draft)
        .map_err(|e| e.to_string())
        .and_then(|v| Menu::from_wechat(&v))
        .map_err(corrupt)?;
    Ok(Stored {
        draft,
        published_at: published.map(ts),
    })
}

fn corrupt(reason: String) -> DbError {
    DbError::Sqlite(rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::new(std::io::Error::other(format!("menus.draft: {reason}"))),
    ))
}

/// Replaces the draft; leaves the publication time as it was.
pub fn save_draft(conn: &Connection, account: AccountId, menu: &Menu) -> DbResult<()> {
    conn.exec(
        "INSERT INTO menus (account_id, draft) VALUES (?1, ?2)
         ON CONFLICT (account_id) DO UPDATE SET draft = ?2",
        params![account, menu.to_wechat().to_string()],
    )?;
    Ok(())
}

/// Records that the draft went online at `now`.
pub fn mark_published(conn: &Connection, account: AccountId, now: jiff::Timestamp) -> DbResult<()> {
    conn.exec(
        "INSERT INTO menus (account_id, published_at) VALUES (?1, ?2)
         ON CONFLICT (account_id) DO UPDATE SET published_at = ?2",
        params![account, ms(now)],
    )?;
    Ok(())
}

/// Every click reply of the account, by key.
pub fn replies(conn: &Connection, account: AccountId) -> DbResult<BTreeMap<String, String>> {
    let mut stmt =
        conn.prepare("SELECT key, reply FROM menu_replies WHERE account_id = ?1 ORDER BY key")?;
    let rows = stmt.query_map([account], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Sets the reply to clicks on `key`; an empty (or blank) reply removes it.
pub fn set_reply(conn: &Connection, account: AccountId, key: &str, reply: &str) -> DbResult<()> {
    let reply = reply.trim();
    if reply.is_empty() {
        delete_reply(conn, account, key)?;
        return Ok(());
    }
    conn.exec(
        "INSERT INTO menu_replies (account_id, key, reply) VALUES (?1, ?2, ?3)
         ON CONFLICT (account_id, key) DO UPDATE SET reply = ?3",
        params![account, key, reply],
    )?;
    Ok(())
}

/// Removes the reply to `key`; whether there was one.
pub fn delete_reply(conn: &Connection, account: AccountId, key: &str) -> DbResult<bool> {
    Ok(conn.exec(
        "DELETE FROM menu_replies WHERE account_id = ?1 AND key = ?2",
        params![account, key],
    )? > 0)
}

/// Removes the replies of keys not in `keys` (the menu just published); how many.
pub fn keep_replies(conn: &Connection, account: AccountId, keys: &[&str]) -> DbResult<usize> {
    let keys = serde_json::to_string(keys).unwrap_or_else(|_| "[]".into());
    Ok(conn.exec(
        "DELETE FROM menu_replies WHERE account_id = ?1
           AND key NOT IN (SELECT value FROM json_each(?2))",
        params![account, keys],
    )?)
}

/// The reply configured for a CLICK on `key` (the webhook answers with it).
pub fn click_reply(conn: &Connection, account: AccountId, key: &str) -> DbResult<Option<String>> {
    Ok(conn
        .row(
            "SELECT reply FROM menu_replies WHERE account_id = ?1 AND key = ?2",
            params![account, key],
            |r| r.get(0),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{accounts::tests::seed_account, memory};

    fn sample() -> Menu {
        Menu {
            buttons: vec![
                Button::click("人工客服", "KEFU"),
                Button::parent(
                    "更多",
                    vec![
                        Button::view("官网", "https://example.com/a?b=1"),
                        Button::click("营业时间", "HOURS"),
                    ],
                ),
            ],
        }
    }

    fn refused(menu: Menu) -> String {
        menu.check().expect_err("menu must be refused")
    }

    #[test]
    fn wechat_json_round_trips() {
        let m = sample();
        let v = m.to_wechat();
        assert_eq!(
            v,
            json!({"button": [
                {"type": "click", "name": "人工客服", "key": "KEFU"},
                {"name": "更多", "sub_button": [
                    {"type": "view", "name": "官网", "url": "https://example.com/a?b=1"},
                    {"type": "click", "name": "营业时间", "key": "HOURS"},
                ]},
            ]})
        );
        assert_eq!(Menu::from_wechat(&v).unwrap(), m);
        // menu/get gives every leaf an empty sub_button.
        let served = json!({"button": [
            {"type": "click", "name": "人工客服", "key": "KEFU", "sub_button": []},
            {"name": "更多", "sub_button": [
                {"type": "view", "name": "官网", "url": "https://example.com/a?b=1", "sub_button": []},
                {"type": "click", "name": "营业时间", "key": "HOURS", "sub_button": []},
            ]},
        ]});
        assert_eq!(Menu::from_wechat(&served).unwrap(), m);
        let other = json!({"button": [{"type": "scancode_push", "name": "扫一扫", "key": "S"}]});
        assert!(
            Menu::from_wechat(&other)
                .unwrap_err()
                .contains("扫码推事件")
        );
        assert_eq!(m.click_keys(), vec!["KEFU", "HOURS"]);
    }

    #[test]
    fn wechat_rules_are_checked_with_chinese_reasons() {
        assert_eq!(sample().check(), Ok(()));
        assert_eq!(Menu::default().check(), Ok(()));

        let four = Menu {
            buttons: (0..4)
                .map(|i| Button::click("A", &format!("K{i}")))
                .collect(),
        };
        assert!(refused(four).contains("一级菜单最多 3 个"));

        let six = (0..6)
            .map(|i| Button::click("子", &format!("K{i}")))
            .collect();
        let e = refused(Menu {
            buttons: vec![Button::parent("更多", six)],
        });
        assert!(e.contains("子菜单最多 5 个"), "{e}");

        let e = refused(Menu {
            buttons: vec![Button::parent("更多", vec![])],
        });
        assert!(e.contains("没有子菜单"), "{e}");

        let e = refused(Menu {
            buttons: vec![Button::click(" ", "K")],
        });
        assert_eq!(e, "第 1 个一级菜单缺少名称");

        // 16 bytes: five Chinese characters fit, six do not.
        assert_eq!(
            Menu {
                buttons: vec![Button::click("一二三四五", "K")]
            }
            .check(),
            Ok(())
        );
        let e = refused(Menu {
            buttons: vec![Button::click("一二三四五六", "K")],
        });
        assert!(e.contains("最多 16 个字节"), "{e}");
        let long_sub = "子".repeat(21);
        let e = refused(Menu {
            buttons: vec![Button::parent("更多", vec![Button::click(&long_sub, "K")])],
        });
        assert!(
            e.contains("第 1 个子菜单") && e.contains("最多 60 个字节"),
            "{e}"
        );

        let e = refused(Menu {
            buttons: vec![Button::click("A", &"k".repeat(129))],
        });
        assert!(e.contains("KEY 太长"), "{e}");
        let e = refused(Menu {
            buttons: vec![Button::click("A", "")],
        });
        assert!(e.contains("请填写 KEY"), "{e}");

        for bad in [
            "ftp://example.com",
            "example.com",
            "https://",
            "https://exa mple.com",
            "javascript:alert(1)",
        ] {
            let e = refused(Menu {
                buttons: vec![Button::view("A", bad)],
            });
            assert!(e.contains("须以 http:// 或 https:// 开头"), "{bad}: {e}");
        }
        let e = refused(Menu {
            buttons: vec![Button::view(
                "A",
                &format!("https://a.cn/{}", "x".repeat(1024)),
            )],
        });
        assert!(e.contains("网址太长"), "{e}");

        let e = refused(Menu {
            buttons: vec![
                Button::click("A", "SAME"),
                Button::parent("B", vec![Button::click("C", "SAME")]),
            ],
        });
        assert!(e.contains("KEY「SAME」用在了多个按钮上"), "{e}");

        let nested = Button::parent("N", vec![Button::click("X", "X")]);
        let e = refused(Menu {
            buttons: vec![Button::parent("B", vec![nested])],
        });
        assert!(e.contains("不能再有子菜单"), "{e}");

        assert!(check_reply(&"好".repeat(2000)).is_ok());
        assert!(check_reply(&"好".repeat(2001)).is_err());
    }

    #[test]
    fn draft_publication_and_click_replies_are_stored() {
        let conn = memory().unwrap();
        let acc = seed_account(&conn, "wx1");
        let other = seed_account(&conn, "wx2");
        assert_eq!(load(&conn, acc).unwrap(), Stored::default());

        save_draft(&conn, acc, &sample()).unwrap();
        let stored = load(&conn, acc).unwrap();
        assert_eq!(stored.draft, sample());
        assert_eq!(stored.published_at, None);
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        mark_published(&conn, acc, now).unwrap();
        save_draft(&conn, acc, &Menu::default()).unwrap();
        let stored = load(&conn, acc).unwrap();
        assert_eq!(stored.published_at, Some(now));
        assert!(stored.draft.is_empty());

        set_reply(&conn, acc, "HOURS", " 每天 9:00-18:00 ").unwrap();
        set_reply(&conn, acc, "OLD", "旧的").unwrap();
        assert_eq!(
            click_reply(&conn, acc, "HOURS").unwrap().as_deref(),
            Some("每天 9:00-18:00")
        );
        assert_eq!(click_reply(&conn, other, "HOURS").unwrap(), None);
        assert_eq!(click_reply(&conn, acc, "NONE").unwrap(), None);
        set_reply(&conn, acc, "HOURS", "改了").unwrap();
        assert_eq!(replies(&conn, acc).unwrap().len(), 2);

        assert_eq!(keep_replies(&conn, acc, &["HOURS", "KEFU"]).unwrap(), 1);
        assert_eq!(click_reply(&conn, acc, "OLD").unwrap(), None);
        assert_eq!(
            click_reply(&conn, acc, "HOURS").unwrap().as_deref(),
            Some("改了")
        );
        set_reply(&conn, acc, "HOURS", "  ").unwrap();
        assert!(replies(&conn, acc).unwrap().is_empty());
        assert!(!delete_reply(&conn, acc, "HOURS").unwrap());
    }
}
