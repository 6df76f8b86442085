//! Remembers the signed (timestamp, nonce, signature) of recent pushes with a
//! hash of their body. WeChat's retries repeat the same request, so the same
//! body is fine; the same signed query with another body can only be a forgery
//! (the plaintext signature does not cover the body). Only signed values make
//! the key, stored as a fixed-size digest, and only pushes whose signature
//! held reach the guard; entries older than the webhook's freshness window are
//! forgotten, so memory stays bounded whatever strangers send.

use crate::model::AccountId;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

type Key = (AccountId, [u8; 32]);

#[derive(Default)]
pub struct ReplayGuard {
    seen: Mutex<HashMap<Key, ([u8; 32], i64)>>,
}

/// Forget entries this many seconds after they were seen.
const KEEP_SECS: i64 = 600;

impl ReplayGuard {
    /// `true` if this body may be processed under this signed timestamp,
    /// nonce and signature.
    pub fn check(
        &self,
        account: AccountId,
        timestamp: &str,
        nonce: &str,
        signature: &str,
        body: &[u8],
        now: i64,
    ) -> bool {
        let hash: [u8; 32] = Sha256::digest(body).into();
        let mut signed = Sha256::new();
        for part in [timestamp, nonce, signature] {
            signed.update((part.len() as u64).to_le_bytes());
            signed.update(part.as_bytes());
        }
        let key = (account, signed.finalize().into());
        // Nothing panics while the lock is held; a poisoned map is still a map.
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, (_, at)| now - *at < KEEP_SECS);
        }
        match seen.get(&key) {
            Some((h, _)) => *h == hash,
            None => {
                seen.insert(key, (hash, now));
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_passes_a_different_body_does_not() {
        let g = ReplayGuard::default();
        let a = AccountId(1);
        assert!(g.check(a, "100", "n1", "s1", b"<xml>1</xml>", 100));
        assert!(
            g.check(a, "100", "n1", "s1", b"<xml>1</xml>", 101),
            "WeChat's retry"
        );
        assert!(!g.check(a, "100", "n1", "s1", b"<xml>forged</xml>", 102));
        assert!(
            g.check(a, "100", "n2", "s2", b"<xml>forged</xml>", 102),
            "another nonce"
        );
        assert!(
            g.check(AccountId(2), "100", "n1", "s1", b"<xml>other</xml>", 102),
            "another account"
        );
        assert!(
            g.check(a, "10", "0n1", "s1", b"<xml>other</xml>", 102),
            "the parts are not just concatenated"
        );
    }
}
