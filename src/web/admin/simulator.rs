//! 模拟器 (A14): an admin plays a follower of a simulation-mode account. Each
//! action is sent over HTTP to kefu's own webhook, signed and (in safe mode)
//! encrypted exactly as WeChat would; what kefu sends back goes to the fake
//! WeChat API kefu serves at `/simulator/wx` and shows up in the chat here.

use crate::db::accounts::{Account, AccountFields};
use crate::db::followers::Follower;
use crate::db::messages::Message;
use crate::error::AppError;
use crate::model::{AccountId, FollowerId, OutboxState};
use crate::state::AppState;
use crate::team::Acting;
use crate::web::form::{Form, Query};
use crate::web::page::{Page, local_time, render};
use crate::web::session::{AdminUser, SuperUser, with_flash};
use crate::wechat::simulate::{self, Action};
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SimQuery {
    account: Option<i64>,
    follower: Option<i64>,
}

/// One line of the simulated chat.
pub struct Line {
    pub from_follower: bool,
    pub time: String,
    pub text: String,
    pub kind: String,
    pub state: Option<(String, String, String)>,
    /// A stored image to show instead of the text.
    pub media: Option<crate::model::MediaId>,
}

#[derive(Template)]
#[template(path = "admin/simulator.html")]
struct SimPage {
    page: Page,
    accounts: Vec<Account>,
    account: Option<Account>,
    followers: Vec<Follower>,
    follower: Option<Follower>,
    lines: Vec<Line>,
}

#[derive(Template)]
#[template(path = "admin/_sim_chat.html")]
struct ChatFragment {
    lines: Vec<Line>,
}

fn line(m: &Message, tz: &jiff::tz::TimeZone) -> Line {
    use crate::model::{Direction, MessageKind};
    let text = match m.kind {
        MessageKind::Text => m.content.clone(),
        MessageKind::Image => "[图片]".into(),
        MessageKind::Voice => format!("[语音] {}", m.content),
        MessageKind::Video | MessageKind::ShortVideo => "[视频]".into(),
        MessageKind::Location => format!("[位置] {}", m.content),
        MessageKind::Link => format!("[链接] {}", m.content),
        MessageKind::Event => match m.event.as_str() {
            "subscribe" => "[关注了公众号]".into(),
            "unsubscribe" => "[取消关注]".into(),
            "CLICK" => format!("[点击菜单] {}", m.data["key"].as_str().unwrap_or_default()),
            other => format!("[事件] {other}"),
        },
        MessageKind::Unknown => "[暂不支持的消息类型]".into(),
    };
    let state = m.delivery.as_ref().map(|(s, reason)| {
        let class = match s {
            OutboxState::Pending | OutboxState::Sending => "pending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
            OutboxState::Unknown | OutboxState::Ignored => "unknown",
        };
        (class.to_string(), s.label().to_string(), reason.clone())
    });
    Line {
        from_follower: m.direction == Direction::In,
        time: local_time(m.created_at, tz),
        text,
        kind: m.kind.as_str().into(),
        state,
        media: None,
    }
}

async fn chat_lines(state: &AppState, follower: Option<FollowerId>) -> Result<Vec<Line>, AppError> {
    let Some(f) = follower else { return Ok(vec![]) };
    let (history, images) = state
        .db
        .read(move |c| -> crate::db::DbResult<_> {
            let history = crate::db::messages::history(c, f, None, 100)?;
            let mut images = std::collections::HashMap::new();
            for m in history
                .iter()
                .filter(|m| m.kind == crate::model::MessageKind::Image)
            {
                let stored = crate::db::media::of_message(c, m.id)?
                    .into_iter()
                    .find(|x| x.state == crate::model::MediaState::Stored);
                if let Some(x) = stored {
                    images.insert(m.id, x.id);
                }
            }
            Ok((history, images))
        })
        .await?;
    Ok(history
        .iter()
        .map(|m| Line {
            media: images.get(&m.id).copied(),
            ..line(m, &state.config.timezone)
        })
        .collect())
}

async fn load(
    state: &AppState,
    q: &SimQuery,
) -> Result<
    (
        Vec<Account>,
        Option<Account>,
        Vec<Follower>,
        Option<Follower>,
    ),
    AppError,
> {
    let all = state.db.read(crate::db::accounts::list).await?;
    let accounts: Vec<Account> = all.into_iter().filter(|a| a.simulation).collect();
    let account = match q.account {
        Some(id) => accounts.iter().find(|a| a.id.0 == id).cloned(),
        None => accounts.first().cloned(),
    };
    let Some(acc) = &account else {
        return Ok((accounts, None, vec![], None));
    };
    let filter = crate::db::followers::FollowerFilter {
        // The simulator is the super admin's.
        within: crate::db::followers::Within::All,
        account: Some(acc.id),
        limit: 50,
        ..Default::default()
    };
    let (followers, _) = state
        .db
        .read(move |c| crate::db::followers::search(c, &filter))
        .await?;
    let follower = match q.follower {
        Some(id) => followers.iter().find(|f| f.id.0 == id).cloned(),
        None => followers.first().cloned(),
    };
    Ok((accounts, account, followers, follower))
}

pub async fn page(
    State(state): State<AppState>,
    AdminUser(ctx, _): AdminUser,
    Query(q): Query<SimQuery>,
) -> Result<Response, AppError> {
    let (accounts, account, followers, follower) = load(&state, &q).await?;
    let lines = chat_lines(&state, follower.as_ref().map(|f| f.id)).await?;
    render(&SimPage {
        page: Page::new(&ctx, "模拟器", "simulator"),
        accounts,
        account,
        followers,
        follower,
        lines,
    })
}

/// `GET /admin/simulator/chat` (htmx polling): the chat of one simulated
/// follower — only of a simulation-mode account, never a real follower's.
pub async fn chat(
    State(state): State<AppState>,
    AdminUser(_, _): AdminUser,
    Query(q): Query<SimQuery>,
) -> Result<Response, AppError> {
    let Some(fid) = q.follower.map(FollowerId) else {
        return render(&ChatFragment { lines: vec![] });
    };
    let follower = state
        .db
        .read(move |c| crate::db::followers::get(c, fid))
        .await?
        .ok_or(AppError::NotFound)?;
    sim_account(&state, follower.account_id.0).await?;
    let lines = chat_lines(&state, Some(fid)).await?;
    render(&ChatFragment { lines })
}

/// Creates a simulation-mode account with generated credentials (super admin).
pub async fn create_account(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
) -> Result<Response, AppError> {
    let (app_id, secret, token, aes_key) = simulate::new_credentials();
    let f = AccountFields {
        name: "模拟公众号".into(),
        app_id: app_id.clone(),
        app_secret: secret.clone(),
        token,
        aes_key,
        mode: "safe".into(),
        simulation: true,
        ..Default::default()
    };
    let id =
        crate::channel::create(&state.db, &state.clock, &Acting::user(&s.user, &ctx.ip), f).await?;
    state.wechat.fake.add_account(&app_id, &secret);
    Ok(with_flash(
        Redirect::to(&format!("/admin/simulator?account={id}")),
        true,
        "已创建模拟公众号(安全模式)",
        ctx.secure_cookies,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActForm {
    account: i64,
    follower: Option<i64>,
    action: String,
    text: String,
}

async fn sim_account(state: &AppState, id: i64) -> Result<Account, AppError> {
    let id = AccountId(id);
    let a = state
        .db
        .read(move |c| crate::db::accounts::get(c, id))
        .await?
        .ok_or(AppError::NotFound)?;
    if !a.simulation {
        return Err(AppError::BadRequest(
            "只有模拟模式的公众号可以在模拟器中使用".into(),
        ));
    }
    Ok(a)
}

/// `POST /admin/simulator/act`: the follower does something.
pub async fn act(
    State(state): State<AppState>,
    AdminUser(_, s): AdminUser,
    Form(f): Form<ActForm>,
) -> Result<Response, AppError> {
    let account = sim_account(&state, f.account).await?;
    let openid = match f.follower {
        Some(id) => {
            let fid = FollowerId(id);
            let fo = state
                .db
                .read(move |c| crate::db::followers::get(c, fid))
                .await?
                .ok_or(AppError::NotFound)?;
            if fo.account_id != account.id {
                return Err(AppError::NotFound);
            }
            fo.openid
        }
        None => simulate::new_openid(),
    };
    let text = f.text.trim().to_string();
    let action = match f.action.as_str() {
        "text" if text.is_empty() => return Err(AppError::BadRequest("请输入消息内容".into())),
        "text" => Action::Text(text),
        "image" => {
            let media_id = format!("SIMIMG{}", simulate::new_msg_id());
            state
                .wechat
                .fake
                .put_media(&media_id, "image/png", sample_image());
            Action::Image {
                media_id,
                pic_url: String::new(),
            }
        }
        "location" => Action::Location {
            latitude: 31.2304,
            longitude: 121.4737,
            label: "上海市黄浦区人民广场".into(),
        },
        "link" => Action::Link {
            title: "我的订单 #20261121".into(),
            description: "订单详情".into(),
            url: "https://example.com/orders/20261121".into(),
        },
        "subscribe" => Action::Subscribe,
        "unsubscribe" => Action::Unsubscribe,
        "click" => Action::Click {
            key: if text.is_empty() {
                "MENU_SERVICE".into()
            } else {
                text
            },
        },
        "reply" => {
            // The outbound path: a customer-service message through the outbox.
            if text.is_empty() {
                return Err(AppError::BadRequest("请输入回复内容".into()));
            }
            let fid = FollowerId(
                f.follower
                    .ok_or_else(|| AppError::BadRequest("请先选择模拟粉丝".into()))?,
            );
            crate::wechat::outbox::queue_text(
                &state.db,
                &state.clock,
                &state.wechat.outbox_wake,
                account.id,
                fid,
                &text,
                Some(s.user.id),
            )
            .await?;
            return Ok(Redirect::to(&format!(
                "/admin/simulator?account={}&follower={}",
                account.id, fid
            ))
            .into_response());
        }
        _ => return Err(AppError::BadRequest("未知的操作".into())),
    };
    let msg = simulate::inbound(&account, &openid, &action, state.clock.now().as_second());
    // This server on loopback; its certificate (with --tls-cert) names the public host.
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap_or_default();
    let answer = simulate::push(
        &client,
        &state.config.local_url(),
        &account,
        &msg,
        state.clock.now().as_second(),
    )
    .await
    .map_err(|e| AppError::BadRequest(format!("无法连接本机的消息接口:{e}")))?;
    if answer.status != 200 {
        return Err(AppError::BadRequest(format!(
            "消息接口返回 {}:{}",
            answer.status, answer.body
        )));
    }
    let (aid, o) = (account.id, openid.clone());
    let fid = state
        .db
        .read(move |c| crate::db::followers::by_openid(c, aid, &o))
        .await?
        .map(|fo| fo.id.0)
        .unwrap_or_default();
    Ok(Redirect::to(&format!(
        "/admin/simulator?account={}&follower={fid}",
        account.id
    ))
    .into_response())
}

/// A small PNG (a green square) the simulated follower "photographs".
fn sample_image() -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAGUlEQVR4nGNgoBAwMjD8pxY4NYhQ4NQgAgAoyAEROn6R2wAAAABJRU5ErkJggg==")
        .unwrap_or_default()
}
