//! The WeChat push protocol between the HTTP request and storage (A1, A2, A5):
//! URL verification; the checks a push passes before its body is read (a fresh
//! signed timestamp, the mode the account requires); opening the body (the
//! `signature`, or the `msg_signature` over the ciphertext, checked in constant
//! time; decryption with the current EncodingAESKey, then the previous one
//! while keys rotate; the replay guard of plaintext pushes; parsing); and the
//! passive reply, encrypted and signed when the push was.
//!
//! It works on the query and the bytes handed to it. It does not read the HTTP
//! request or choose status codes (`web::webhook` does), store anything
//! (`ingest` does) or decide what to answer (`desk` does). `crypto` supplies
//! the primitives, `xml` the text.

use super::crypto::{self, AesKey, CryptoError};
use super::ingest;
use super::replay::ReplayGuard;
use super::xml::{self, Inbound, XmlError};
use crate::db::accounts::Account;
use crate::model::AccountMode;
use serde::Deserialize;

/// How far a push's timestamp may be from now.
pub const FRESHNESS_SECS: i64 = 300;

/// The body that acknowledges a push without replying.
pub const ACK: &str = "success";

/// The query string WeChat adds to the URL verification and to every push.
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub struct PushQuery {
    pub signature: String,
    pub timestamp: String,
    pub nonce: String,
    pub echostr: String,
    pub encrypt_type: String,
    pub msg_signature: String,
    pub openid: String,
}

impl PushQuery {
    /// Safe and compatible modes: the body carries `<Encrypt>`, the answer must too.
    pub fn is_encrypted(&self) -> bool {
        self.encrypt_type == "aes"
    }
}

/// Why a push (or a URL verification) is refused.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("signature does not verify")]
    BadSignature,
    #[error("bad XML: {0}")]
    Xml(#[from] XmlError),
    #[error("cannot decrypt: {0}")]
    Crypto(#[from] CryptoError),
    #[error("encrypted push without <Encrypt>")]
    NoEncrypt,
    #[error("account has no valid EncodingAESKey")]
    NoKey,
    #[error("timestamp is more than 5 minutes away from now")]
    Stale,
    #[error("plaintext push to an account in safe or compatible mode")]
    NotEncrypted,
    #[error("a signed timestamp and nonce reused with another body")]
    Replayed,
    #[error("FromUserName differs from the openid of the signed URL")]
    WrongSender,
}

/// `GET`: WeChat checks the URL; the echostr may be answered when this holds.
pub fn verify_url(acc: &Account, q: &PushQuery) -> Result<(), PushError> {
    if crypto::verify_signature(&q.signature, &[&acc.token, &q.timestamp, &q.nonce]) {
        Ok(())
    } else {
        Err(PushError::BadSignature)
    }
}

/// The checks a push passes before its body is read.
///
/// A signature covers timestamp and nonce (and, encrypted, the ciphertext):
/// stale ones are refused so a signed URL seen in a log cannot be replayed
/// later. WeChat sends encrypted pushes to encrypted accounts, always. A
/// plaintext push's signature does not cover the body, so it is checked here,
/// and a forged one is refused without reading (or keeping) its body.
pub fn verify(acc: &Account, q: &PushQuery, now_s: i64) -> Result<(), PushError> {
    if !is_fresh(&q.timestamp, now_s) {
        return Err(PushError::Stale);
    }
    if acc.mode != AccountMode::Plain && !q.is_encrypted() {
        return Err(PushError::NotEncrypted);
    }
    if !q.is_encrypted()
        && !crypto::verify_signature(&q.signature, &[&acc.token, &q.timestamp, &q.nonce])
    {
        return Err(PushError::BadSignature);
    }
    Ok(())
}

fn is_fresh(timestamp: &str, now_s: i64) -> bool {
    timestamp
        .parse::<i64>()
        .is_ok_and(|t| (t - now_s).abs() <= FRESHNESS_SECS)
}

/// A push whose signature held, decrypted and parsed.
#[derive(Debug)]
pub struct Opened {
    /// The message XML as WeChat wrote it (decrypted in safe and compatible modes).
    pub plain: String,
    pub inbound: Inbound,
    /// The EncodingAESKey that decrypted it (the current one, or the previous
    /// one during a rotation): the reply is sealed with the same key.
    pub key: Option<String>,
}

/// Opens a push body that passed [`verify`]: signature, decryption, replay
/// guard, parsing.
pub fn open(
    acc: &Account,
    q: &PushQuery,
    body: &[u8],
    replays: &ReplayGuard,
    now_s: i64,
) -> Result<Opened, PushError> {
    let text =
        std::str::from_utf8(body).map_err(|_| XmlError::Malformed("body is not UTF-8".into()))?;
    let (plain, key) = if q.is_encrypted() {
        let envelope = xml::parse_envelope(text)?;
        let encrypt = envelope.encrypt.ok_or(PushError::NoEncrypt)?;
        // msg_signature covers the ciphertext: check it before decrypting.
        if !crypto::verify_signature(
            &q.msg_signature,
            &[&acc.token, &q.timestamp, &q.nonce, &encrypt],
        ) {
            return Err(PushError::BadSignature);
        }
        let (plain, key) = decrypt(acc, &encrypt)?;
        (plain, Some(key))
    } else {
        if !crypto::verify_signature(&q.signature, &[&acc.token, &q.timestamp, &q.nonce]) {
            return Err(PushError::BadSignature);
        }
        (text.to_string(), None)
    };
    // Plaintext mode only (encrypted pushes are covered by msg_signature, where
    // a repeated nonce can only be chance): the same signed query with another
    // body is a forgery; with the same body, a retry. The guard keys on the
    // signed values only, so nothing unsigned (such as `openid`) can make a
    // fresh entry, and it remembers a fixed-size digest per push.
    if !q.is_encrypted()
        && !replays.check(acc.id, &q.timestamp, &q.nonce, &q.signature, body, now_s)
    {
        return Err(PushError::Replayed);
    }
    let mut inbound = xml::parse(&plain)?;
    ingest::check(&inbound).map_err(|m| XmlError::Malformed(m.into()))?;
    // WeChat names the follower in the URL too; in plaintext mode the body is
    // not signed, so a body speaking for someone else is refused.
    if !q.is_encrypted() && !q.openid.is_empty() && q.openid != inbound.from_user {
        return Err(PushError::WrongSender);
    }
    ingest::sanitise(&mut inbound);
    let plain = match ingest::clean(&plain) {
        std::borrow::Cow::Owned(cleaned) => cleaned,
        std::borrow::Cow::Borrowed(_) => plain,
    };
    Ok(Opened {
        plain,
        inbound,
        key,
    })
}

/// Decrypts `encrypt` with the current key, then the previous one (rotation);
/// returns the text and the key that worked.
fn decrypt(acc: &Account, encrypt: &str) -> Result<(String, String), PushError> {
    let mut last = PushError::NoKey;
    for key in [&acc.aes_key, &acc.prev_aes_key] {
        if key.is_empty() {
            continue;
        }
        let Ok(k) = AesKey::from_encoding_aes_key(key) else {
            continue;
        };
        match crypto::decrypt(&k, &acc.app_id, encrypt) {
            Ok(xml) => return Ok((xml, key.clone())),
            Err(e) => last = e.into(),
        }
    }
    Err(last)
}

/// The body answering a push with a text: plain XML, or encrypted and signed
/// when the push was encrypted (WeChat then expects the same) with `key`, the
/// EncodingAESKey that opened the push (WECHAT.md: reply with the key that
/// worked). `follower` and `official` are the push's FromUserName and ToUserName.
pub fn reply(
    acc: &Account,
    key: Option<&str>,
    q: &PushQuery,
    follower: &str,
    official: &str,
    text: &str,
    now_s: i64,
) -> String {
    let xml = xml::reply_xml(
        follower,
        official,
        now_s,
        &xml::Reply::Text {
            content: text.to_string(),
        },
    );
    if !q.is_encrypted() {
        return xml;
    }
    match AesKey::from_encoding_aes_key(key.unwrap_or(&acc.aes_key)) {
        Ok(key) => {
            let encrypt = crypto::encrypt(&key, &acc.app_id, &xml);
            let ts = now_s.to_string();
            let signature = crypto::signature(&[&acc.token, &ts, &q.nonce, &encrypt]);
            xml::encrypted_reply_xml(&encrypt, &signature, &ts, &q.nonce)
        }
        // The push decrypted with the previous key only: acknowledge it.
        Err(_) => ACK.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AccountId;
    use crate::wechat::simulate::{self, Action};

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    const OTHER_KEY: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq";
    const APPID: &str = "wxb11529c136998cb6";
    const NOW: i64 = 1_714_037_059;

    fn account(mode: AccountMode) -> Account {
        Account {
            id: AccountId(1),
            name: "店".into(),
            app_id: APPID.into(),
            app_secret: "secret".into(),
            token: "AAAAA".into(),
            aes_key: KEY.into(),
            prev_aes_key: String::new(),
            mode,
            original_id: "gh_test".into(),
            api_base: String::new(),
            simulation: false,
            rules: Default::default(),
            created_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    /// The query and body WeChat would send: a text from `oF` signed at `ts`.
    fn push(acc: &Account, text: &str, ts: i64) -> (PushQuery, Vec<u8>) {
        let msg = simulate::inbound(acc, "oF", &Action::Text(text.into()), ts);
        let (pairs, body) = simulate::request(acc, &msg, ts, "486452656").expect("a valid key");
        let encoded = serde_urlencoded::to_string(&pairs).expect("plain pairs");
        let q = serde_urlencoded::from_str(&encoded).expect("the same pairs");
        (q, body.into_bytes())
    }

    fn text_of(opened: &Opened) -> &str {
        match &opened.inbound.kind {
            xml::InboundKind::Text { content } => content,
            other => panic!("not a text: {other:?}"),
        }
    }

    #[test]
    fn url_verification_checks_the_known_answer() {
        let acc = account(AccountMode::Plain);
        let mut q = PushQuery {
            signature: "899cf89e464efb63f54ddac96b0a0a235f53aa78".into(),
            timestamp: "1714037059".into(),
            nonce: "486452656".into(),
            echostr: "hello".into(),
            ..Default::default()
        };
        assert!(verify_url(&acc, &q).is_ok());
        q.nonce = "486452657".into();
        assert!(matches!(verify_url(&acc, &q), Err(PushError::BadSignature)));
    }

    #[test]
    fn a_push_must_be_fresh_and_in_the_accounts_mode() {
        let plain = account(AccountMode::Plain);
        let q = |ts: &str, encrypt_type: &str| PushQuery {
            timestamp: ts.into(),
            encrypt_type: encrypt_type.into(),
            nonce: "1".into(),
            signature: crypto::signature(&["AAAAA", ts, "1"]),
            ..Default::default()
        };
        assert!(verify(&plain, &q(&(NOW - 300).to_string(), ""), NOW).is_ok());
        assert!(verify(&plain, &q(&(NOW + 300).to_string(), ""), NOW).is_ok());
        // Plaintext: the signature is checked before the body is read.
        let mut forged = q(&NOW.to_string(), "");
        forged.nonce = "2".into();
        assert!(matches!(
            verify(&plain, &forged, NOW),
            Err(PushError::BadSignature)
        ));
        for stale in [
            (NOW - 301).to_string(),
            (NOW + 301).to_string(),
            "x".into(),
            String::new(),
        ] {
            assert!(
                matches!(verify(&plain, &q(&stale, ""), NOW), Err(PushError::Stale)),
                "{stale:?}"
            );
        }
        for mode in [AccountMode::Safe, AccountMode::Compat] {
            let acc = account(mode);
            assert!(matches!(
                verify(&acc, &q(&NOW.to_string(), "raw"), NOW),
                Err(PushError::NotEncrypted)
            ));
            assert!(verify(&acc, &q(&NOW.to_string(), "aes"), NOW).is_ok());
        }
    }

    #[test]
    fn a_plaintext_push_opens_once_per_signed_query_and_body() {
        let acc = account(AccountMode::Plain);
        let guard = ReplayGuard::default();
        let (q, body) = push(&acc, "你好", NOW);
        let opened = open(&acc, &q, &body, &guard, NOW).unwrap();
        assert_eq!(text_of(&opened), "你好");
        assert!(open(&acc, &q, &body, &guard, NOW).is_ok(), "WeChat's retry");
        let (_, forged) = push(&acc, "伪造", NOW);
        assert!(matches!(
            open(&acc, &q, &forged, &guard, NOW),
            Err(PushError::Replayed)
        ));
        let mut unsigned = q.clone();
        unsigned.signature = "0".repeat(40);
        assert!(matches!(
            open(&acc, &unsigned, &body, &guard, NOW),
            Err(PushError::BadSignature)
        ));
        assert!(matches!(
            open(&acc, &q, b"\xff\xfe", &guard, NOW),
            Err(PushError::Xml(_))
        ));
    }

    #[test]
    fn an_encrypted_push_opens_with_the_current_or_the_previous_key() {
        let guard = ReplayGuard::default();
        for mode in [AccountMode::Safe, AccountMode::Compat] {
            let acc = account(mode);
            let (q, body) = push(&acc, "加密", NOW);
            assert_eq!(
                text_of(&open(&acc, &q, &body, &guard, NOW).unwrap()),
                "加密"
            );

            // Rotated: the push was made with what is now the previous key.
            let rotated = Account {
                aes_key: OTHER_KEY.into(),
                prev_aes_key: KEY.into(),
                ..acc.clone()
            };
            assert_eq!(
                text_of(&open(&rotated, &q, &body, &guard, NOW).unwrap()),
                "加密"
            );
            let forgotten = Account {
                aes_key: OTHER_KEY.into(),
                ..acc.clone()
            };
            assert!(matches!(
                open(&forgotten, &q, &body, &guard, NOW),
                Err(PushError::Crypto(_))
            ));
            let keyless = Account {
                aes_key: String::new(),
                prev_aes_key: "not a key".into(),
                ..acc.clone()
            };
            assert!(matches!(
                open(&keyless, &q, &body, &guard, NOW),
                Err(PushError::NoKey)
            ));

            let mut wrong = q.clone();
            wrong.msg_signature = q.signature.clone();
            assert!(
                matches!(
                    open(&acc, &wrong, &body, &guard, NOW),
                    Err(PushError::BadSignature)
                ),
                "signature is not msg_signature"
            );
            let bare = xml::envelope_xml("gh_test", "");
            let no_encrypt = b"<xml><ToUserName><![CDATA[gh_test]]></ToUserName></xml>";
            assert!(matches!(
                open(&acc, &q, no_encrypt, &guard, NOW),
                Err(PushError::NoEncrypt)
            ));
            assert!(open(&acc, &q, bare.as_bytes(), &guard, NOW).is_err());
        }
    }

    #[test]
    fn the_passive_reply_is_encrypted_when_the_push_was() {
        let acc = account(AccountMode::Safe);
        let (q, _) = push(&acc, "在吗", NOW);

        let sealed = reply(&acc, None, &q, "oF", "gh_test", "您好！", NOW);
        let envelope = xml::parse_envelope(&sealed).unwrap();
        let encrypt = envelope.encrypt.expect("an Encrypt element");
        assert!(sealed.contains(&format!("<TimeStamp>{NOW}</TimeStamp>")));
        let signature = crypto::signature(&[&acc.token, &NOW.to_string(), &q.nonce, &encrypt]);
        assert!(sealed.contains(&signature), "{sealed}");
        let key = AesKey::from_encoding_aes_key(KEY).unwrap();
        let inner = crypto::decrypt(&key, APPID, &encrypt).unwrap();
        assert_eq!(
            inner,
            xml::reply_xml(
                "oF",
                "gh_test",
                NOW,
                &xml::Reply::Text {
                    content: "您好！".into()
                }
            )
        );

        let plain_q = PushQuery::default();
        assert_eq!(
            reply(&acc, None, &plain_q, "oF", "gh_test", "您好！", NOW),
            inner
        );

        // During a rotation the reply is sealed with the key that opened the
        // push (the previous one), not the new one.
        let rotated = Account {
            aes_key: OTHER_KEY.into(),
            prev_aes_key: KEY.into(),
            ..acc.clone()
        };
        let (rq, body) = push(&acc, "在吗", NOW);
        let opened = open(&rotated, &rq, &body, &ReplayGuard::default(), NOW).unwrap();
        assert_eq!(opened.key.as_deref(), Some(KEY));
        let sealed = reply(
            &rotated,
            opened.key.as_deref(),
            &rq,
            "oF",
            "gh_test",
            "您好！",
            NOW,
        );
        let encrypt = xml::parse_envelope(&sealed).unwrap().encrypt.unwrap();
        assert!(crypto::decrypt(&key, APPID, &encrypt).is_ok(), "old key");
        let new = AesKey::from_encoding_aes_key(OTHER_KEY).unwrap();
        assert!(crypto::decrypt(&new, APPID, &encrypt).is_err());

        let broken = Account {
            aes_key: "not a key".into(),
            ..acc
        };
        assert_eq!(
            reply(&broken, None, &q, "oF", "gh_test", "您好！", NOW),
            ACK
        );
    }
}
