//! The simulator's follower (A14): builds a push exactly as WeChat would —
//! XML, encrypted in safe and compatible modes, signed — and sends it over HTTP
//! to kefu's own webhook, so everything after it runs the real path.

use super::crypto::{self, AesKey};
use super::xml::{self, Event, Inbound, InboundKind};
use crate::db::accounts::Account;
use crate::model::AccountMode;

/// What the simulated follower does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Text(String),
    Image {
        media_id: String,
        pic_url: String,
    },
    Location {
        latitude: f64,
        longitude: f64,
        label: String,
    },
    Link {
        title: String,
        description: String,
        url: String,
    },
    Subscribe,
    Unsubscribe,
    Click {
        key: String,
    },
}

/// A random positive MsgId, as WeChat's are.
pub fn new_msg_id() -> i64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("the operating system provides randomness");
    (i64::from_le_bytes(b) & 0x3fff_ffff_ffff_ffff).max(1)
}

/// A new simulated follower's OpenID (28 characters, like real ones).
pub fn new_openid() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut b = [0u8; 24];
    getrandom::fill(&mut b).expect("the operating system provides randomness");
    let tail: String = b
        .iter()
        .map(|x| ALPHABET[(*x as usize) % ALPHABET.len()] as char)
        .collect();
    format!("oSIM{tail}")
}

pub fn inbound(account: &Account, openid: &str, action: &Action, create_time: i64) -> Inbound {
    let to_user = if account.original_id.is_empty() {
        format!("gh_sim{}", account.id)
    } else {
        account.original_id.clone()
    };
    let (msg_id, kind) = match action {
        Action::Text(content) => (
            Some(new_msg_id()),
            InboundKind::Text {
                content: content.clone(),
            },
        ),
        Action::Image { media_id, pic_url } => (
            Some(new_msg_id()),
            InboundKind::Image {
                pic_url: pic_url.clone(),
                media_id: media_id.clone(),
            },
        ),
        Action::Location {
            latitude,
            longitude,
            label,
        } => (
            Some(new_msg_id()),
            InboundKind::Location {
                latitude: *latitude,
                longitude: *longitude,
                scale: Some(15),
                label: label.clone(),
            },
        ),
        Action::Link {
            title,
            description,
            url,
        } => (
            Some(new_msg_id()),
            InboundKind::Link {
                title: title.clone(),
                description: description.clone(),
                url: url.clone(),
            },
        ),
        Action::Subscribe => (
            None,
            InboundKind::Event(Event::Subscribe {
                scene: None,
                ticket: None,
            }),
        ),
        Action::Unsubscribe => (None, InboundKind::Event(Event::Unsubscribe)),
        Action::Click { key } => (None, InboundKind::Event(Event::Click { key: key.clone() })),
    };
    Inbound {
        to_user,
        from_user: openid.to_string(),
        create_time,
        msg_id,
        kind,
    }
}

/// The query string and body WeChat would send for `msg` to this account.
pub fn request(
    account: &Account,
    msg: &Inbound,
    timestamp: i64,
    nonce: &str,
) -> Result<(Vec<(String, String)>, String), String> {
    let ts = timestamp.to_string();
    let signature = crypto::signature(&[&account.token, &ts, nonce]);
    let mut query = vec![
        ("signature".to_string(), signature),
        ("timestamp".to_string(), ts.clone()),
        ("nonce".to_string(), nonce.to_string()),
        ("openid".to_string(), msg.from_user.clone()),
    ];
    let plain = xml::inbound_xml(msg);
    if account.mode == AccountMode::Plain {
        return Ok((query, plain));
    }
    let key = AesKey::from_encoding_aes_key(&account.aes_key).map_err(|e| e.to_string())?;
    let encrypt = crypto::encrypt(&key, &account.app_id, &plain);
    query.push(("encrypt_type".into(), "aes".into()));
    query.push((
        "msg_signature".into(),
        crypto::signature(&[&account.token, &ts, nonce, &encrypt]),
    ));
    let body = match account.mode {
        AccountMode::Compat => xml::compatible_envelope_xml(msg, &encrypt),
        _ => xml::envelope_xml(&msg.to_user, &encrypt),
    };
    Ok((query, body))
}

/// The webhook's answer to a simulated push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// Sends `msg` to `{base}/wechat/{account}` over HTTP.
pub async fn push(
    client: &reqwest::Client,
    base: &str,
    account: &Account,
    msg: &Inbound,
    timestamp: i64,
) -> Result<Answer, String> {
    let nonce = new_msg_id().to_string();
    let (query, body) = request(account, msg, timestamp, &nonce)?;
    let url = format!("{}/wechat/{}", base.trim_end_matches('/'), account.id);
    let resp = client
        .post(&url)
        .query(&query)
        .body(body)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    Ok(Answer { status, body })
}

/// Credentials for a new simulation-mode account.
pub fn new_credentials() -> (String, String, String, String) {
    let mut b = [0u8; 40];
    getrandom::fill(&mut b).expect("the operating system provides randomness");
    let hex = |s: &[u8]| s.iter().map(|x| format!("{x:02x}")).collect::<String>();
    const KEY: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut k = [0u8; 43];
    getrandom::fill(&mut k).expect("the operating system provides randomness");
    let aes: String = k
        .iter()
        .map(|x| KEY[(*x as usize) % KEY.len()] as char)
        .collect();
    (
        format!("wxsim{}", &hex(&b[..6])),
        hex(&b[6..22]),
        format!("sim{}", &hex(&b[22..28])),
        aes,
    )
}
