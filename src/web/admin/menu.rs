//! 设置 → 自定义菜单 (A12): an account's custom menu as a draft, 发布到微信
//! (`menu/create`), 从微信读取 (`menu/get`) and loading that into the draft, and
//! the reply a follower gets for each click button. A plain form of fixed slots
//! (3 buttons × 5 sub-buttons) that needs no script; blank slots are ignored.
//! The rules live in `db::menu`; the webhook answers clicks from there. Super
//! admin only; every change is audited.

use crate::db::DbResult;
use crate::db::accounts::Account;
use crate::db::audit::Entry;
use crate::db::menu::{Button, ButtonKind, Menu};
use crate::error::AppError;
use crate::model::{AccountId, AuditAction};
use crate::state::AppState;
use crate::team::Acting;
use crate::web::form::{Form, Query};
use crate::web::page::{Page, local_time, render, render_status};
use crate::web::session::{Ctx, SuperUser, with_flash};
use crate::wechat::api::ApiError;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// WeChat's answer to `menu/get` when the account has no menu.
const NO_MENU: i64 = 46003;
/// Form slots beyond these are not read (the page shows 3 × 5).
const MAX_SLOTS: usize = 10;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccountQuery {
    account: String,
}

/// One row of the form: a top-level button (with its sub-button rows) or a
/// sub-button. `kind` is `click`, `view` or (top-level only) `parent`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Slot {
    pub name: String,
    pub kind: String,
    pub key: String,
    pub url: String,
    pub reply: String,
    pub subs: Vec<Slot>,
}

impl Slot {
    fn is_blank(&self) -> bool {
        [&self.name, &self.key, &self.url, &self.reply]
            .iter()
            .all(|v| v.trim().is_empty())
            && self.subs.iter().all(Slot::is_blank)
    }

    fn from_button(b: &Button, replies: &BTreeMap<String, String>) -> Slot {
        let mut slot = Slot {
            name: b.name.clone(),
            ..Slot::default()
        };
        match &b.kind {
            ButtonKind::Click { key } => {
                slot.kind = "click".into();
                slot.key = key.clone();
                slot.reply = replies.get(key).cloned().unwrap_or_default();
            }
            ButtonKind::View { url } => {
                slot.kind = "view".into();
                slot.url = url.clone();
            }
            ButtonKind::Parent { subs } => {
                slot.kind = "parent".into();
                slot.subs = subs.iter().map(|s| Slot::from_button(s, replies)).collect();
            }
        }
        slot
    }

    /// The button this row describes (names, keys and URLs trimmed).
    fn button(&self, at: &str) -> Result<Button, String> {
        let name = self.name.trim().to_string();
        let filled: Vec<&Slot> = self.subs.iter().filter(|s| !s.is_blank()).collect();
        let kind = match self.kind.as_str() {
            "parent" => ButtonKind::Parent {
                subs: filled
                    .iter()
                    .enumerate()
                    .map(|(j, s)| s.button(&crate::t2("menu-slot-sub", "at", at, "n", j + 1)))
                    .collect::<Result<_, _>>()?,
            },
            _ if !filled.is_empty() => {
                return Err(crate::t1("menu-subs-need-parent", "at", at));
            }
            "view" => ButtonKind::View {
                url: self.url.trim().to_string(),
            },
            _ => ButtonKind::Click {
                key: self.key.trim().to_string(),
            },
        };
        Ok(Button { name, kind })
    }

    /// Click replies of this row and its sub-rows, by key (blank: no reply).
    fn collect_replies(&self, out: &mut BTreeMap<String, String>) -> Result<(), String> {
        if self.kind == "parent" {
            for s in self.subs.iter().filter(|s| !s.is_blank()) {
                s.collect_replies(out)?;
            }
        } else if self.kind != "view" {
            crate::db::menu::check_reply(self.reply.trim())?;
            out.insert(self.key.trim().to_string(), self.reply.trim().to_string());
        }
        Ok(())
    }
}

/// The slots a submitted form describes: fields `b{i}_name`, `b{i}_type`,
/// `b{i}_key`, `b{i}_url`, `b{i}_reply` and the same under `b{i}_s{j}_`.
pub fn slots_from_form(pairs: &[(String, String)]) -> Vec<Slot> {
    let mut slots: Vec<Slot> = Vec::new();
    for (field, value) in pairs {
        let Some((i, sub, name)) = parse_field(field) else {
            continue;
        };
        if slots.len() <= i {
            slots.resize(i + 1, Slot::default());
        }
        let mut slot = &mut slots[i];
        if let Some(j) = sub {
            if slot.subs.len() <= j {
                slot.subs.resize(j + 1, Slot::default());
            }
            slot = &mut slot.subs[j];
        }
        let target = match name {
            "name" => &mut slot.name,
            "type" => &mut slot.kind,
            "key" => &mut slot.key,
            "url" => &mut slot.url,
            _ => &mut slot.reply,
        };
        value.clone_into(target);
    }
    slots
}

/// `b2_s4_url` → (2, Some(4), "url").
fn parse_field(field: &str) -> Option<(usize, Option<usize>, &str)> {
    let rest = field.strip_prefix('b')?;
    let (i, rest) = rest.split_once('_')?;
    let i: usize = i.parse().ok().filter(|i| *i < MAX_SLOTS)?;
    let (sub, name) = match rest.strip_prefix('s').and_then(|r| r.split_once('_')) {
        Some((j, name)) => (Some(j.parse().ok().filter(|j| *j < MAX_SLOTS)?), name),
        None => (None, rest),
    };
    matches!(name, "name" | "type" | "key" | "url" | "reply").then_some((i, sub, name))
}

/// The menu and click replies the slots describe, checked; or why not.
pub fn compile(slots: &[Slot]) -> Result<(Menu, BTreeMap<String, String>), String> {
    let filled: Vec<&Slot> = slots.iter().filter(|s| !s.is_blank()).collect();
    let mut menu = Menu::default();
    let mut replies = BTreeMap::new();
    for (i, slot) in filled.iter().enumerate() {
        menu.buttons
            .push(slot.button(&crate::t1("menu-slot-top", "n", i + 1))?);
    }
    menu.check()?;
    for slot in filled {
        slot.collect_replies(&mut replies)?;
    }
    Ok((menu, replies))
}

/// Always 3 top-level rows of 5 sub-rows (more if more were submitted).
fn padded(mut slots: Vec<Slot>) -> Vec<Slot> {
    if slots.len() < crate::db::menu::MAX_BUTTONS {
        slots.resize(crate::db::menu::MAX_BUTTONS, Slot::default());
    }
    for s in &mut slots {
        if s.kind.is_empty() {
            s.kind = "click".into();
        }
        if s.subs.len() < crate::db::menu::MAX_SUBS {
            s.subs.resize(crate::db::menu::MAX_SUBS, Slot::default());
        }
        for sub in &mut s.subs {
            if sub.kind != "view" {
                sub.kind = "click".into();
            }
        }
    }
    slots
}

/// What 从微信读取 found.
pub struct Online {
    /// The menu online, when this page can edit it.
    pub menu: Option<Menu>,
    /// Why it cannot be loaded, or that there is none.
    pub note: Option<String>,
    /// The JSON WeChat returned, for anything the page does not understand.
    pub raw: String,
}

#[derive(Template)]
#[template(path = "admin/menu.html")]
struct MenuPage {
    page: Page,
    accounts: Vec<Account>,
    account: Option<Account>,
    slots: Vec<Slot>,
    published: String,
    /// The click key that opens a conversation — 会话触发方式 = 菜单点击.
    trigger_key: Option<String>,
    error: Option<String>,
    online: Option<Online>,
}

impl MenuPage {
    fn is_trigger(&self, key: &str) -> bool {
        self.trigger_key
            .as_deref()
            .is_some_and(|t| !key.is_empty() && t == key.trim())
    }

    /// What a button of the menu online does, in a few words.
    fn describe(&self, b: &Button) -> String {
        match &b.kind {
            ButtonKind::Click { key } if self.is_trigger(key) => {
                crate::t1("menu-describe-trigger", "key", key.as_str())
            }
            ButtonKind::Click { key } => crate::t1("menu-describe-click", "key", key.as_str()),
            ButtonKind::View { url } => crate::t1("menu-describe-view", "url", url.as_str()),
            ButtonKind::Parent { subs } => crate::t1("menu-describe-parent", "n", subs.len()),
        }
    }

    fn subs_of<'a>(&self, b: &'a Button) -> &'a [Button] {
        match &b.kind {
            ButtonKind::Parent { subs } => subs,
            _ => &[],
        }
    }

    /// The trigger key is set but no click row in the form uses it.
    fn trigger_unused(&self) -> bool {
        let used = self.slots.iter().any(|s| {
            (s.kind == "click" && self.is_trigger(&s.key))
                || (s.kind == "parent"
                    && s.subs
                        .iter()
                        .any(|x| x.kind == "click" && self.is_trigger(&x.key)))
        });
        self.trigger_key.is_some() && !used
    }
}

/// The account named by `raw` (an id), or the first one when none is named.
pub(crate) async fn pick_account(
    state: &AppState,
    raw: &str,
) -> Result<(Vec<Account>, Option<Account>), AppError> {
    let accounts = state.db.read(crate::db::accounts::list).await?;
    let account = match raw.trim() {
        "" => accounts.first().cloned(),
        id => {
            let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
            Some(
                accounts
                    .iter()
                    .find(|a| a.id == AccountId(id))
                    .cloned()
                    .ok_or(AppError::NotFound)?,
            )
        }
    };
    Ok((accounts, account))
}

/// The page for `account`; `slots` replaces the stored draft (a refused form
/// is shown again as typed).
async fn menu_page(
    state: &AppState,
    ctx: &Ctx,
    accounts: Vec<Account>,
    account: Option<Account>,
    slots: Option<Vec<Slot>>,
    error: Option<String>,
    online: Option<Online>,
) -> Result<MenuPage, AppError> {
    let mut page = MenuPage {
        page: Page::new(ctx, crate::t("nav-menu-editor"), "menu"),
        accounts,
        account: None,
        slots: padded(slots.clone().unwrap_or_default()),
        published: String::new(),
        trigger_key: None,
        error,
        online,
    };
    let Some(account) = account else {
        return Ok(page);
    };
    let id = account.id;
    let (stored, replies, settings) = state
        .db
        .read(move |c| -> DbResult<_> {
            Ok((
                crate::db::menu::load(c, id)?,
                crate::db::menu::replies(c, id)?,
                crate::db::settings::account(c, id)?,
            ))
        })
        .await?;
    if slots.is_none() {
        page.slots = padded(
            stored
                .draft
                .buttons
                .iter()
                .map(|b| Slot::from_button(b, &replies))
                .collect(),
        );
    }
    page.published = stored
        .published_at
        .map(|t| local_time(t, &state.config.timezone))
        .unwrap_or_default();
    page.trigger_key = (settings.trigger_mode == crate::model::TriggerMode::MenuKey
        && !settings.menu_key.is_empty())
    .then_some(settings.menu_key);
    page.account = Some(account);
    Ok(page)
}

/// `GET /admin/menu?account=ID`: the draft of the account (the first by default).
pub async fn page(
    State(state): State<AppState>,
    SuperUser(ctx, _): SuperUser,
    Query(q): Query<AccountQuery>,
) -> Result<Response, AppError> {
    let (accounts, account) = pick_account(&state, &q.account).await?;
    render(&menu_page(&state, &ctx, accounts, account, None, None, None).await?)
}

/// `GET /admin/menu/online?account=ID` — 从微信读取 — the draft page, with the
/// menu that is online now.
pub async fn online(
    State(state): State<AppState>,
    SuperUser(ctx, _): SuperUser,
    Query(q): Query<AccountQuery>,
) -> Result<Response, AppError> {
    let (accounts, account) = pick_account(&state, &q.account).await?;
    let account = account.ok_or(AppError::NotFound)?;
    let (status, error, online) = match state.wechat.api.get_menu(&account).await {
        Ok(v) => {
            let (menu, note) = match Menu::from_wechat(&v) {
                Ok(m) => (Some(m), None),
                Err(e) => (None, Some(crate::t1("menu-cannot-load", "reason", e))),
            };
            let raw = serde_json::to_string_pretty(&v).unwrap_or_default();
            (StatusCode::OK, None, Some(Online { menu, note, raw }))
        }
        Err(e) if e.code() == Some(NO_MENU) => {
            let online = Online {
                menu: None,
                note: Some(crate::t("menu-none-online")),
                raw: String::new(),
            };
            (StatusCode::OK, None, Some(online))
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Some(failed("menu-read-failed", &e)),
            None,
        ),
    };
    let p = menu_page(&state, &ctx, accounts, Some(account), None, error, online).await?;
    render_status(status, &p)
}

/// `key` (a message with a `reason`) with WeChat's refusal explained.
fn failed(key: &str, e: &ApiError) -> String {
    crate::i18n::lookup(crate::i18n::current(), key, &[("reason", &e.explain())])
}

/// The account a form names in its `account` field.
async fn form_account(
    state: &AppState,
    pairs: &[(String, String)],
) -> Result<(Vec<Account>, Account), AppError> {
    let raw = pairs
        .iter()
        .find(|(k, _)| k == "account")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    if raw.trim().is_empty() {
        return Err(AppError::BadRequest(crate::t("menu-pick-account")));
    }
    let (accounts, account) = pick_account(state, raw).await?;
    Ok((accounts, account.ok_or(AppError::NotFound)?))
}

/// The audit record of a draft and its replies.
fn audit_value(menu: &Menu, replies: &BTreeMap<String, String>) -> Value {
    json!({ "menu": menu.to_wechat(), "replies": replies })
}

/// Saves the draft and the replies of its click buttons (a blank reply
/// removes it) in one transaction with its audit row, if anything changed.
/// Replies of keys no longer in the draft stay until the next publication:
/// the menu online may still have those buttons.
async fn store_draft(
    state: &AppState,
    by: &Acting,
    account: &Account,
    menu: Menu,
    replies: BTreeMap<String, String>,
    action: AuditAction,
) -> Result<(), AppError> {
    let (id, now, actor) = (account.id, state.clock.now(), crate::team::actor(by));
    let target = crate::db::audit::about("audit-t-account", &account.name);
    state
        .db
        .write(move |c| -> DbResult<()> {
            let before = crate::db::menu::load(c, id)?.draft;
            let old_replies = crate::db::menu::replies(c, id)?;
            crate::db::menu::save_draft(c, id, &menu)?;
            for (key, reply) in &replies {
                crate::db::menu::set_reply(c, id, key, reply)?;
            }
            let new_replies = crate::db::menu::replies(c, id)?;
            let keys = menu.click_keys();
            let relevant = |all: &BTreeMap<String, String>| -> BTreeMap<String, String> {
                all.iter()
                    .filter(|(k, _)| keys.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            };
            if before == menu && old_replies == new_replies {
                return Ok(());
            }
            let entry = Entry::new(action, target).change(
                Some(&audit_value(&before, &relevant(&old_replies))),
                Some(&audit_value(&menu, &relevant(&new_replies))),
            );
            crate::db::audit::record(c, &actor, &entry, now)
        })
        .await?;
    Ok(())
}

fn back_to(account: &Account) -> String {
    format!("/admin/menu?account={}", account.id)
}

/// `POST /admin/menu` — 保存草稿.
pub async fn save(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (accounts, account) = form_account(&state, &pairs).await?;
    let slots = slots_from_form(&pairs);
    let (menu, replies) = match compile(&slots) {
        Ok(v) => v,
        Err(m) => {
            let p = menu_page(
                &state,
                &ctx,
                accounts,
                Some(account),
                Some(slots),
                Some(m),
                None,
            );
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &p.await?);
        }
    };
    let by = Acting::user(&s.user, &ctx.ip);
    store_draft(&state, &by, &account, menu, replies, AuditAction::MenuDraft).await?;
    Ok(with_flash(
        Redirect::to(&back_to(&account)),
        true,
        crate::t("menu-draft-saved"),
        ctx.secure_cookies,
    ))
}

/// `POST /admin/menu/publish` — 发布到微信 — checks and saves the draft, then
/// `menu/create`. On success the replies of keys no longer in the menu go.
pub async fn publish(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (accounts, account) = form_account(&state, &pairs).await?;
    let slots = slots_from_form(&pairs);
    let compiled = compile(&slots).and_then(|(menu, replies)| {
        if menu.is_empty() {
            Err(crate::t("menu-empty"))
        } else {
            Ok((menu, replies))
        }
    });
    let (menu, replies) = match compiled {
        Ok(v) => v,
        Err(m) => {
            let p = menu_page(
                &state,
                &ctx,
                accounts,
                Some(account),
                Some(slots),
                Some(m),
                None,
            );
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &p.await?);
        }
    };
    let by = Acting::user(&s.user, &ctx.ip);
    let body = menu.to_wechat();
    store_draft(
        &state,
        &by,
        &account,
        menu.clone(),
        replies,
        AuditAction::MenuDraft,
    )
    .await?;
    if let Err(e) = state.wechat.api.create_menu(&account, &body).await {
        tracing::info!(account = %account.id, error = %e, "menu/create refused");
        let error = Some(failed("menu-publish-failed", &e));
        let p = menu_page(&state, &ctx, accounts, Some(account), None, error, None);
        return render_status(StatusCode::BAD_GATEWAY, &p.await?);
    }
    let (id, now, actor) = (account.id, state.clock.now(), crate::team::actor(&by));
    let target = crate::db::audit::about("audit-t-account", &account.name);
    state
        .db
        .write(move |c| -> DbResult<()> {
            crate::db::menu::mark_published(c, id, now)?;
            crate::db::menu::keep_replies(c, id, &menu.click_keys())?;
            let entry = Entry::new(AuditAction::MenuPublish, target).change(None, Some(&body));
            crate::db::audit::record(c, &actor, &entry, now)
        })
        .await?;
    Ok(with_flash(
        Redirect::to(&back_to(&account)),
        true,
        crate::t("menu-published"),
        ctx.secure_cookies,
    ))
}

/// `POST /admin/menu/load`: reads the menu online (`menu/get`) into the draft.
pub async fn load(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (accounts, account) = form_account(&state, &pairs).await?;
    let online = state.wechat.api.get_menu(&account).await;
    let refusal = match &online {
        Ok(v) => Menu::from_wechat(v).map_err(|m| {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                crate::t1("menu-cannot-load", "reason", m),
            )
        }),
        Err(e) if e.code() == Some(NO_MENU) => Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            crate::t("menu-none-online-kept"),
        )),
        Err(e) => Err((StatusCode::BAD_GATEWAY, failed("menu-read-failed", e))),
    };
    let menu = match refusal {
        Ok(menu) => menu,
        Err((status, m)) => {
            let p = menu_page(&state, &ctx, accounts, Some(account), None, Some(m), None);
            return render_status(status, &p.await?);
        }
    };
    let by = Acting::user(&s.user, &ctx.ip);
    store_draft(
        &state,
        &by,
        &account,
        menu,
        BTreeMap::new(),
        AuditAction::MenuLoad,
    )
    .await?;
    Ok(with_flash(
        Redirect::to(&back_to(&account)),
        true,
        crate::t("menu-loaded"),
        ctx.secure_cookies,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn form_fields_become_slots_and_blank_rows_are_ignored() {
        let form = pairs(&[
            ("account", "1"),
            ("b0_name", " 人工客服 "),
            ("b0_type", "click"),
            ("b0_key", " KEFU "),
            ("b0_reply", ""),
            ("b1_name", ""),
            ("b1_type", "click"),
            ("b2_name", "更多"),
            ("b2_type", "parent"),
            ("b2_key", "ignored"),
            ("b2_s0_name", "官网"),
            ("b2_s0_type", "view"),
            ("b2_s0_url", "https://example.com"),
            ("b2_s1_type", "click"),
            ("b2_s2_name", "营业时间"),
            ("b2_s2_type", "click"),
            ("b2_s2_key", "HOURS"),
            ("b2_s2_reply", " 每天 9 点到 18 点 "),
            ("b99_name", "out of range"),
            ("bx_name", "junk"),
        ]);
        let slots = slots_from_form(&form);
        assert_eq!(slots.len(), 3);
        let (menu, replies) = compile(&slots).unwrap();
        assert_eq!(
            menu,
            Menu {
                buttons: vec![
                    Button::click("人工客服", "KEFU"),
                    Button::parent(
                        "更多",
                        vec![
                            Button::view("官网", "https://example.com"),
                            Button::click("营业时间", "HOURS"),
                        ]
                    ),
                ]
            }
        );
        assert_eq!(replies.get("KEFU").map(String::as_str), Some(""));
        assert_eq!(
            replies.get("HOURS").map(String::as_str),
            Some("每天 9 点到 18 点")
        );
    }

    #[test]
    fn a_filled_sub_row_under_a_leaf_is_refused() {
        let form = pairs(&[
            ("b0_name", "A"),
            ("b0_type", "click"),
            ("b0_key", "A"),
            ("b0_s0_name", "子"),
            ("b0_s0_key", "S"),
        ]);
        let e = compile(&slots_from_form(&form)).unwrap_err();
        assert!(e.contains("请把类型选为「子菜单」"), "{e}");
    }

    #[test]
    fn the_page_shows_three_rows_of_five() {
        let slots = padded(Vec::new());
        assert_eq!(slots.len(), 3);
        assert!(slots.iter().all(|s| s.subs.len() == 5 && s.kind == "click"));
    }
}
