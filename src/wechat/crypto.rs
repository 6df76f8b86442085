//! WeChat's message security: the SHA-1 signatures that authenticate a push
//! (`signature`, `msg_signature`) and the AES-256-CBC scheme of safe and
//! compatible modes (`Encrypt` payloads, encrypted passive replies).
//!
//! This module owns bytes and keys only. It does not parse XML, read the query
//! string, or decide which mode or which key (current or previous) applies:
//! `push` does, and tries the previous key itself when `decrypt` fails.
//! The primitives come from the RustCrypto crates; the WeChat-specific layout
//! (random prefix, length field, AppID trailer, PKCS#7 to 32 bytes) is the only
//! thing written here.

use aes::Aes256;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// WeChat pads to 32-byte blocks, not to the 16-byte AES block.
const PAD_BLOCK: usize = 32;
const RANDOM_LEN: usize = 16;
const LEN_FIELD: usize = 4;
/// The AES block: every ciphertext is a whole number of them.
const AES_BLOCK: usize = 16;

/// Why an EncodingAESKey or an `Encrypt` payload was refused. The messages are
/// written for the log of the account's owner, who usually has a typo in the key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("EncodingAESKey must be 43 base64 characters that decode to 32 bytes")]
    BadKey,
    #[error("Encrypt is not valid standard base64")]
    BadBase64,
    #[error("ciphertext is shorter than 32 bytes or not a whole number of 16-byte AES blocks")]
    BadLength,
    #[error("PKCS#7 padding after decryption is not 1..=32 identical bytes (wrong key?)")]
    BadPadding,
    #[error(
        "decrypted payload is inconsistent: length field beyond the data, or message/AppID not UTF-8 (wrong key?)"
    )]
    BadLayout,
    #[error("decrypted payload names another AppID than this account's")]
    AppIdMismatch,
}

/// `hex(sha1(concat(sort(parts))))` in lowercase: the `signature` of URL
/// verification and plaintext pushes (`[token, timestamp, nonce]`) and the
/// `msg_signature` of safe mode (`[token, timestamp, nonce, Encrypt]`).
///
/// Parts are sorted by bytes; WeChat sorts Java strings by UTF-16 units, which
/// only differs for characters WeChat never puts in a token or a nonce.
pub fn signature(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    let mut hasher = Sha1::new();
    for part in sorted {
        hasher.update(part.as_bytes());
    }
    hex_lower(&hasher.finalize())
}

/// Compares `given` (hex, any case) with `signature(parts)` in constant time,
/// so that the time of a refusal does not tell an attacker how many leading
/// characters of a forged signature were right.
pub fn verify_signature(given: &str, parts: &[&str]) -> bool {
    let expected = signature(parts);
    let given = given.to_ascii_lowercase();
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// The 32-byte AES key of an account, decoded from its EncodingAESKey.
/// The IV is the key's first 16 bytes, as WeChat defines it.
#[derive(Clone)]
pub struct AesKey {
    bytes: [u8; 32],
}

impl std::fmt::Debug for AesKey {
    /// A key in a log line is a leaked key: print nothing of it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesKey(<redacted>)")
    }
}

impl AesKey {
    /// Decodes the 43-character EncodingAESKey of the WeChat admin:
    /// `base64(s + "=")`. The last character usually carries two bits that
    /// standard decoders refuse as non-canonical, so trailing bits are allowed.
    pub fn from_encoding_aes_key(s: &str) -> Result<AesKey, CryptoError> {
        const LENIENT: GeneralPurpose = GeneralPurpose::new(
            &alphabet::STANDARD,
            GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
        );
        if s.len() != 43 {
            return Err(CryptoError::BadKey);
        }
        let decoded = LENIENT
            .decode(format!("{s}="))
            .map_err(|_| CryptoError::BadKey)?;
        let bytes: [u8; 32] = decoded.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(AesKey { bytes })
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.bytes[..16]);
        iv
    }
}

/// Encrypts `msg` for `appid` with a caller-chosen random prefix, which makes
/// the output deterministic for known-answer tests and fixtures. Production
/// code calls [`encrypt`].
///
/// Layout: `random16 ‖ u32be len(msg) ‖ msg ‖ appid`, PKCS#7-padded to 32
/// bytes, AES-256-CBC with IV = key[..16], standard base64.
///
/// # Panics
/// If `msg` is 4 GiB or longer, which its u32 length field cannot express
/// (bodies are capped at [`crate::wechat::xml::MAX_BODY`] long before that).
pub fn encrypt_with_random(key: &AesKey, appid: &str, msg: &str, random16: [u8; 16]) -> String {
    let msg_len = u32::try_from(msg.len()).expect("a WeChat message is far below 4 GiB");
    let unpadded = RANDOM_LEN + LEN_FIELD + msg.len() + appid.len();
    let pad = PAD_BLOCK - unpadded % PAD_BLOCK;
    let mut plain = Vec::with_capacity(unpadded + pad);
    plain.extend_from_slice(&random16);
    plain.extend_from_slice(&msg_len.to_be_bytes());
    plain.extend_from_slice(msg.as_bytes());
    plain.extend_from_slice(appid.as_bytes());
    // `pad` is in 1..=32, so it always fits a byte.
    plain.resize(unpadded + pad, pad as u8);

    let cipher = cbc::Encryptor::<Aes256>::new(&key.bytes.into(), &key.iv().into());
    // The plaintext is a multiple of 32 bytes, so NoPadding cannot panic.
    let ciphertext = cipher.encrypt_padded_vec::<NoPadding>(&plain);
    STANDARD.encode(ciphertext)
}

/// Encrypts a reply (or a simulated push) with a fresh random prefix.
///
/// # Panics
/// If the operating system's random source fails, which leaves no safe way
/// to encrypt; and in the cases of [`encrypt_with_random`].
pub fn encrypt(key: &AesKey, appid: &str, msg: &str) -> String {
    let mut random16 = [0u8; 16];
    getrandom::fill(&mut random16).expect("the operating system's random source is available");
    encrypt_with_random(key, appid, msg, random16)
}

/// Decrypts an `Encrypt` payload and checks that it was made for `appid`.
pub fn decrypt(key: &AesKey, appid: &str, encrypted_b64: &str) -> Result<String, CryptoError> {
    let (msg, found) = decrypt_any_appid(key, encrypted_b64)?;
    if found != appid {
        return Err(CryptoError::AppIdMismatch);
    }
    Ok(msg)
}

/// Decrypts an `Encrypt` payload and returns `(message, appid)` with the AppID
/// found in it, unchecked: for the simulator, which plays WeChat for any
/// account, and for tests.
pub fn decrypt_any_appid(
    key: &AesKey,
    encrypted_b64: &str,
) -> Result<(String, String), CryptoError> {
    let ciphertext = STANDARD
        .decode(encrypted_b64)
        .map_err(|_| CryptoError::BadBase64)?;
    if ciphertext.len() < PAD_BLOCK || ciphertext.len() % AES_BLOCK != 0 {
        return Err(CryptoError::BadLength);
    }
    let cipher = cbc::Decryptor::<Aes256>::new(&key.bytes.into(), &key.iv().into());
    let plain = cipher
        .decrypt_padded_vec::<NoPadding>(&ciphertext)
        .map_err(|_| CryptoError::BadLength)?;
    let content = strip_pkcs7_32(&plain)?;

    let (header, rest) = content
        .split_at_checked(RANDOM_LEN + LEN_FIELD)
        .ok_or(CryptoError::BadLayout)?;
    let mut len_field = [0u8; LEN_FIELD];
    len_field.copy_from_slice(&header[RANDOM_LEN..]);
    let msg_len =
        usize::try_from(u32::from_be_bytes(len_field)).map_err(|_| CryptoError::BadLayout)?;
    let (msg, appid) = rest
        .split_at_checked(msg_len)
        .ok_or(CryptoError::BadLayout)?;
    let msg = std::str::from_utf8(msg).map_err(|_| CryptoError::BadLayout)?;
    let appid = std::str::from_utf8(appid).map_err(|_| CryptoError::BadLayout)?;
    Ok((msg.to_owned(), appid.to_owned()))
}

/// Removes PKCS#7 padding of a 32-byte block size: the last byte says how
/// many bytes (1..=32) to drop, and all of them must carry that value.
fn strip_pkcs7_32(plain: &[u8]) -> Result<&[u8], CryptoError> {
    let pad = usize::from(*plain.last().ok_or(CryptoError::BadPadding)?);
    if !(1..=PAD_BLOCK).contains(&pad) || pad > plain.len() {
        return Err(CryptoError::BadPadding);
    }
    let (content, padding) = plain.split_at(plain.len() - pad);
    if padding.iter().any(|&b| usize::from(b) != pad) {
        return Err(CryptoError::BadPadding);
    }
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    const SAMPLE_APPID: &str = "wxb11529c136998cb6";
    const SAMPLE_MSG: &str = "我是中文abcd123";
    const SAMPLE_ENCRYPT: &str =
        "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==";

    fn sample_key() -> AesKey {
        AesKey::from_encoding_aes_key(SAMPLE_KEY).unwrap()
    }

    /// Encrypts raw plaintext bytes with the sample key, bypassing the layout,
    /// to build payloads that are valid AES but violate WeChat's scheme.
    fn encrypt_raw(plain: &[u8]) -> String {
        let key = sample_key();
        let cipher = cbc::Encryptor::<Aes256>::new(&key.bytes.into(), &key.iv().into());
        STANDARD.encode(cipher.encrypt_padded_vec::<NoPadding>(plain))
    }

    /// `random16 ‖ len ‖ body` padded to 32 with `pad_value` repeated `pad_len` times.
    fn layout(len_field: u32, body: &[u8], pad_len: usize, pad_value: u8) -> Vec<u8> {
        let mut plain = b"aaaabbbbccccdddd".to_vec();
        plain.extend_from_slice(&len_field.to_be_bytes());
        plain.extend_from_slice(body);
        plain.extend(std::iter::repeat_n(pad_value, pad_len));
        plain
    }

    #[test]
    fn signature_known_answer() {
        assert_eq!(
            signature(&["AAAAA", "1714037059", "486452656"]),
            "899cf89e464efb63f54ddac96b0a0a235f53aa78"
        );
    }

    #[test]
    fn signature_does_not_depend_on_order() {
        assert_eq!(
            signature(&["486452656", "AAAAA", "1714037059"]),
            signature(&["1714037059", "486452656", "AAAAA"])
        );
    }

    #[test]
    fn verify_signature_accepts_any_case_and_refuses_others() {
        let parts = ["AAAAA", "1714037059", "486452656"];
        assert!(verify_signature(
            "899cf89e464efb63f54ddac96b0a0a235f53aa78",
            &parts
        ));
        assert!(verify_signature(
            "899CF89E464EFB63F54DDAC96B0A0A235F53AA78",
            &parts
        ));
        assert!(!verify_signature(
            "899cf89e464efb63f54ddac96b0a0a235f53aa79",
            &parts
        ));
        assert!(!verify_signature(
            "899cf89e464efb63f54ddac96b0a0a235f53aa7",
            &parts
        ));
        assert!(!verify_signature("", &parts));
        assert!(!verify_signature(
            "899cf89e464efb63f54ddac96b0a0a235f53aa78",
            &["AAAAB", "1714037059", "486452656"]
        ));
    }

    #[test]
    fn msg_signature_includes_the_encrypt_field() {
        let with = signature(&["AAAAA", "1714037059", "486452656", SAMPLE_ENCRYPT]);
        assert_ne!(with, signature(&["AAAAA", "1714037059", "486452656"]));
        assert!(verify_signature(
            &with,
            &[SAMPLE_ENCRYPT, "AAAAA", "486452656", "1714037059"]
        ));
    }

    #[test]
    fn official_sample_known_answer() {
        let got = encrypt_with_random(
            &sample_key(),
            SAMPLE_APPID,
            SAMPLE_MSG,
            *b"aaaabbbbccccdddd",
        );
        assert_eq!(got, SAMPLE_ENCRYPT);
        assert_eq!(
            decrypt(&sample_key(), SAMPLE_APPID, SAMPLE_ENCRYPT).unwrap(),
            SAMPLE_MSG
        );
        assert_eq!(
            decrypt_any_appid(&sample_key(), SAMPLE_ENCRYPT).unwrap(),
            (SAMPLE_MSG.to_owned(), SAMPLE_APPID.to_owned())
        );
    }

    #[test]
    fn random_prefix_changes_the_ciphertext_not_the_message() {
        let key = sample_key();
        let a = encrypt(&key, SAMPLE_APPID, "<xml>hello</xml>");
        let b = encrypt(&key, SAMPLE_APPID, "<xml>hello</xml>");
        assert_ne!(a, b);
        assert_eq!(decrypt(&key, SAMPLE_APPID, &a).unwrap(), "<xml>hello</xml>");
        assert_eq!(decrypt(&key, SAMPLE_APPID, &b).unwrap(), "<xml>hello</xml>");
    }

    #[test]
    fn aligned_plaintext_gets_a_full_block_of_padding() {
        // 16 + 4 + 12 = 32 bytes before the AppID-free padding: a whole extra block of 32.
        let key = sample_key();
        let encrypted = encrypt_with_random(&key, "", "twelve bytes", [7; 16]);
        assert_eq!(STANDARD.decode(&encrypted).unwrap().len(), 64);
        assert_eq!(decrypt(&key, "", &encrypted).unwrap(), "twelve bytes");
    }

    #[test]
    fn empty_message_round_trips() {
        let key = sample_key();
        let encrypted = encrypt(&key, SAMPLE_APPID, "");
        assert_eq!(decrypt(&key, SAMPLE_APPID, &encrypted).unwrap(), "");
    }

    #[test]
    fn key_must_be_43_chars_of_base64() {
        assert_eq!(
            AesKey::from_encoding_aes_key("").unwrap_err(),
            CryptoError::BadKey
        );
        assert_eq!(
            AesKey::from_encoding_aes_key(&SAMPLE_KEY[..42]).unwrap_err(),
            CryptoError::BadKey
        );
        assert_eq!(
            AesKey::from_encoding_aes_key(&format!("{SAMPLE_KEY}H")).unwrap_err(),
            CryptoError::BadKey
        );
        assert_eq!(
            AesKey::from_encoding_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF!")
                .unwrap_err(),
            CryptoError::BadKey
        );
        assert_eq!(
            AesKey::from_encoding_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF=")
                .unwrap_err(),
            CryptoError::BadKey
        );
        // 43 non-ASCII bytes are not 43 characters of base64 either.
        assert!(AesKey::from_encoding_aes_key(&"é".repeat(21)).is_err());
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let shown = format!("{:?}", sample_key());
        assert_eq!(shown, "AesKey(<redacted>)");
        assert!(!shown.contains("abc"));
    }

    #[test]
    fn wrong_appid_is_refused() {
        assert_eq!(
            decrypt(&sample_key(), "wx0000000000000000", SAMPLE_ENCRYPT).unwrap_err(),
            CryptoError::AppIdMismatch
        );
        assert_eq!(
            decrypt(&sample_key(), "", SAMPLE_ENCRYPT).unwrap_err(),
            CryptoError::AppIdMismatch
        );
    }

    #[test]
    fn wrong_key_is_refused() {
        let other =
            AesKey::from_encoding_aes_key("ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut").unwrap();
        assert!(decrypt(&other, SAMPLE_APPID, SAMPLE_ENCRYPT).is_err());
    }

    #[test]
    fn bad_base64_is_refused() {
        let key = sample_key();
        assert_eq!(
            decrypt(&key, SAMPLE_APPID, "not base64!").unwrap_err(),
            CryptoError::BadBase64
        );
        assert_eq!(
            decrypt(&key, SAMPLE_APPID, &SAMPLE_ENCRYPT[1..]).unwrap_err(),
            CryptoError::BadBase64
        );
        assert_eq!(
            decrypt(&key, SAMPLE_APPID, &format!(" {SAMPLE_ENCRYPT}")).unwrap_err(),
            CryptoError::BadBase64
        );
    }

    #[test]
    fn truncated_ciphertext_is_refused() {
        let key = sample_key();
        let bytes = STANDARD.decode(SAMPLE_ENCRYPT).unwrap();
        assert_eq!(
            decrypt(&key, SAMPLE_APPID, "").unwrap_err(),
            CryptoError::BadLength
        );
        for cut in [1, 15, 16, 17, 31, 33, 63] {
            let truncated = STANDARD.encode(&bytes[..cut]);
            assert_eq!(
                decrypt(&key, SAMPLE_APPID, &truncated).unwrap_err(),
                CryptoError::BadLength,
                "cut {cut}"
            );
        }
        // Dropping a whole 16-byte block keeps AES happy but breaks the padding or layout.
        let one_block_less = STANDARD.encode(&bytes[..48]);
        assert!(decrypt(&key, SAMPLE_APPID, &one_block_less).is_err());
    }

    #[test]
    fn padding_value_zero_is_refused() {
        let plain = layout(3, b"abc", 9, 0);
        assert_eq!(plain.len(), 32);
        assert_eq!(
            decrypt(&sample_key(), "", &encrypt_raw(&plain)).unwrap_err(),
            CryptoError::BadPadding
        );
    }

    #[test]
    fn padding_value_33_is_refused() {
        let plain = layout(3, b"abc", 41, 33);
        assert_eq!(plain.len(), 64);
        assert_eq!(
            decrypt(&sample_key(), "", &encrypt_raw(&plain)).unwrap_err(),
            CryptoError::BadPadding
        );
    }

    #[test]
    fn inconsistent_padding_bytes_are_refused() {
        let mut plain = layout(3, b"abc", 9, 9);
        plain[24] = 8;
        assert_eq!(
            decrypt(&sample_key(), "", &encrypt_raw(&plain)).unwrap_err(),
            CryptoError::BadPadding
        );
    }

    #[test]
    fn sixteen_byte_padding_is_accepted() {
        // Some SDKs pad to 16 bytes; PKCS#7 values 1..=32 are all legal for us.
        let plain = layout(3, b"abcwx1", 6, 6);
        assert_eq!(plain.len(), 32);
        assert_eq!(
            decrypt(&sample_key(), "wx1", &encrypt_raw(&plain)).unwrap(),
            "abc"
        );
    }

    #[test]
    fn length_field_larger_than_the_data_is_refused() {
        let plain = layout(12, b"abcdefghijk", 1, 1);
        assert_eq!(plain.len(), 32);
        assert_eq!(
            decrypt_any_appid(&sample_key(), &encrypt_raw(&plain)).unwrap_err(),
            CryptoError::BadLayout
        );
        let huge = layout(u32::MAX, b"abcdefghijk", 1, 1);
        assert_eq!(
            decrypt_any_appid(&sample_key(), &encrypt_raw(&huge)).unwrap_err(),
            CryptoError::BadLayout
        );
    }

    #[test]
    fn payload_shorter_than_the_header_is_refused() {
        // 32 bytes of padding leave nothing, not even the random prefix.
        let plain = vec![32u8; 32];
        assert_eq!(
            decrypt_any_appid(&sample_key(), &encrypt_raw(&plain)).unwrap_err(),
            CryptoError::BadLayout
        );
        let mut short = b"aaaabbbbccccddd".to_vec();
        short.extend(std::iter::repeat_n(17u8, 17));
        assert_eq!(
            decrypt_any_appid(&sample_key(), &encrypt_raw(&short)).unwrap_err(),
            CryptoError::BadLayout
        );
    }

    #[test]
    fn message_that_is_not_utf8_is_refused() {
        let plain = layout(3, b"\xff\xfe\xfdwx", 7, 7);
        assert_eq!(
            decrypt_any_appid(&sample_key(), &encrypt_raw(&plain)).unwrap_err(),
            CryptoError::BadLayout
        );
        let bad_appid = layout(3, b"abc\xff\xfe", 7, 7);
        assert_eq!(
            decrypt_any_appid(&sample_key(), &encrypt_raw(&bad_appid)).unwrap_err(),
            CryptoError::BadLayout
        );
    }

    proptest! {
        #[test]
        fn decrypt_inverts_encrypt(msg in any::<String>(), appid in "[a-z0-9]{0,24}", random in any::<[u8; 16]>()) {
            let key = sample_key();
            let encrypted = encrypt_with_random(&key, &appid, &msg, random);
            prop_assert_eq!(decrypt(&key, &appid, &encrypted).unwrap(), msg.clone());
            prop_assert_eq!(decrypt_any_appid(&key, &encrypted).unwrap(), (msg, appid));
        }

        #[test]
        fn decrypt_never_panics_on_strings(input in any::<String>()) {
            let _ = decrypt(&sample_key(), SAMPLE_APPID, &input);
        }

        #[test]
        fn decrypt_never_panics_on_random_ciphertexts(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decrypt_any_appid(&sample_key(), &STANDARD.encode(&bytes));
        }

        #[test]
        fn decrypt_never_panics_on_random_plaintexts(blocks in proptest::collection::vec(any::<[u8; 16]>(), 2..8)) {
            let plain: Vec<u8> = blocks.concat();
            let _ = decrypt_any_appid(&sample_key(), &encrypt_raw(&plain));
        }

        #[test]
        fn key_parsing_never_panics(input in any::<String>()) {
            let _ = AesKey::from_encoding_aes_key(&input);
        }
    }
}
