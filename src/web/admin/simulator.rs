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
use crate::wechat::faces::{Seg, segments};
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
    /// The text with WeChat's face codes as emoji, as the console shows them.
    pub segs: Vec<Seg>,
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
        MessageKind::Image => crate::t("sim-image"),
        MessageKind::Voice => crate::t1("sim-voice", "text", m.content.as_str()),
        MessageKind::Video | MessageKind::ShortVideo => crate::t("sim-video"),
        MessageKind::Location => crate::t1("sim-location", "text", m.content.as_str()),
        MessageKind::Link => crate::t1("sim-link", "text", m.content.as_str()),
        MessageKind::Event => match m.event.as_str() {
            "subscribe" => crate::t("sim-subscribed"),
            "unsubscribe" => crate::t("sim-unsubscribed"),
            "CLICK" => crate::t1(
                "sim-clicked",
                "key",
                m.data["key"].as_str().unwrap_or_default(),
            ),
            other => crate::t1("sim-event", "event", other),
        },
        MessageKind::Unknown => crate::t("sim-unsupported"),
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
        segs: segments(&text),
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
        page: Page::new(&ctx, crate::t("nav-simulator"), "simulator"),
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
        name: crate::t("sim-account-name"),
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
        crate::t("sim-account-created"),
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
        return Err(AppError::BadRequest(crate::t("sim-simulation-only")));
    }
    Ok(a)
}

/// `POST /admin/simulator/act`: the follower does something.
pub async fn act(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
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
    if f.action != "unsubscribe" {
        state.wechat.fake.ensure_follower(&account.app_id, &openid);
    }
    let text = f.text.trim().to_string();
    let back = |why: &str| {
        let mut to = format!("/admin/simulator?account={}", account.id);
        if let Some(id) = f.follower {
            to.push_str(&format!("&follower={id}"));
        }
        crate::web::session::with_flash(Redirect::to(&to), false, crate::t(why), ctx.secure_cookies)
    };
    let action = match f.action.as_str() {
        // Back to the chat, saying why (the form asks for text first).
        "text" if text.is_empty() => return Ok(back("sim-text-required")),
        "reply" if text.is_empty() => return Ok(back("sim-reply-required")),
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
            let fid = FollowerId(
                f.follower
                    .ok_or_else(|| AppError::BadRequest(crate::t("sim-pick-follower")))?,
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
        _ => return Err(AppError::BadRequest(crate::t("sim-unknown-action"))),
    };
    // The built-in WeChat knows its followers as the real one would: their
    // profile can be fetched, and after 取消关注 messages to them are refused.
    match action {
        Action::Unsubscribe => state.wechat.fake.remove_follower(&account.app_id, &openid),
        Action::Subscribe => state
            .wechat
            .fake
            .add_follower(&account.app_id, &openid, "", &[]),
        _ => {}
    }
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
    .map_err(|e| AppError::BadRequest(crate::t1("sim-push-failed", "error", e.to_string())))?;
    if answer.status != 200 {
        return Err(AppError::BadRequest(crate::t2(
            "sim-push-status",
            "status",
            answer.status.to_string(),
            "body",
            answer.body.as_str(),
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

/// The picture the simulated follower "photographs": a small landscape
/// (sky, sun, hills, a path), drawn here and written as a PNG, so the chat
/// shows something that looks like a photo rather than a blank square.
fn sample_image() -> Vec<u8> {
    const W: u32 = 160;
    const H: u32 = 120;
    let mut raw = Vec::with_capacity((H * (1 + 3 * W)) as usize);
    for y in 0..H {
        raw.push(0); // filter: none
        for x in 0..W {
            raw.extend_from_slice(&landscape(x as f32, y as f32, W as f32, H as f32));
        }
    }
    png_rgb(W, H, &raw)
}

/// The colour of one pixel of [`sample_image`].
fn landscape(x: f32, y: f32, w: f32, h: f32) -> [u8; 3] {
    let shade = |c: [f32; 3], k: f32| c.map(|v| (v * k).clamp(0.0, 255.0) as u8);
    let (sx, sy, r) = (w * 0.75, h * 0.28, h * 0.12);
    let far = h * 0.55 + (x / w * 6.0).sin() * h * 0.06;
    let near = h * 0.68 + (x / w * 3.5 + 1.0).cos() * h * 0.08;
    let path = (x - w * 0.5).abs() < (y - near).max(0.0) * 0.6 + 2.0;
    if y > near && path {
        shade([214.0, 184.0, 140.0], 1.0 - (h - y) / h * 0.2)
    } else if y > near {
        shade([76.0, 160.0, 60.0], 0.8 + (y - near) / h)
    } else if y > far {
        shade([52.0, 120.0, 88.0], 0.9 + (y - far) / h)
    } else if (x - sx).powi(2) + (y - sy).powi(2) < r * r {
        [255, 214, 64]
    } else {
        let t = y / far;
        [
            (90.0 + 110.0 * t) as u8,
            (150.0 + 70.0 * t) as u8,
            (230.0 + 20.0 * t) as u8,
        ]
    }
}

/// A PNG of 8-bit RGB rows (each led by its filter byte), stored without
/// compression: small enough here, and no image crate needed for it.
fn png_rgb(width: u32, height: u32, rows: &[u8]) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for b in bytes {
            crc ^= u32::from(*b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    // zlib: a header, deflate "stored" blocks of at most 65535 bytes, Adler-32.
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = rows.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for byte in rows {
        a = (a + u32::from(*byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, no filter, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_image_is_a_png_picture_not_a_blank_square() {
        let png = sample_image();
        let img = printpdf::RawImage::decode_from_bytes(&png, &mut Vec::new()).unwrap();
        assert_eq!((img.width, img.height), (160, 120));
        let printpdf::RawImageData::U8(px) = img.pixels else {
            panic!("8-bit pixels expected");
        };
        let colours: std::collections::HashSet<&[u8]> = px.chunks(3).collect();
        assert!(colours.len() > 50, "{} colours", colours.len());
    }
}
