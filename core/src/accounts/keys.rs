//! API keys: `mws_live_` + 40 base62 characters from the OS CSPRNG, shown once,
//! stored only as a SHA-256 hash, compared in constant time.

use rand::Rng;
use sha2::{Digest, Sha256};

pub const KEY_PREFIX: &str = "mws_live_";
const KEY_CHARS: usize = 40;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

pub type KeyHash = [u8; 32];

/// `len` random base62 characters from a CSPRNG (ChaCha seeded by the OS).
pub fn random_base62(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| BASE62[rng.random_range(0..BASE62.len())] as char)
        .collect()
}

/// A new secret key.
pub fn new_key() -> String {
    format!("{KEY_PREFIX}{}", random_base62(KEY_CHARS))
}

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", random_base62(20))
}

pub fn hash_key(key: &str) -> KeyHash {
    Sha256::digest(key.as_bytes()).into()
}

/// Whether a string has the shape of one of our keys (cheap pre-check).
pub fn looks_like_key(key: &str) -> bool {
    key.strip_prefix(KEY_PREFIX)
        .is_some_and(|rest| rest.len() >= 32 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Equality that takes the same time wherever the first difference is.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_published_shape() {
        let k = new_key();
        assert!(k.starts_with("mws_live_"));
        assert_eq!(k.len(), 9 + 40);
        assert!(looks_like_key(&k));
        assert_ne!(k, new_key());
        assert!(!looks_like_key("mws_live_short"));
        assert!(!looks_like_key("sk-abc"));
        assert!(ct_eq(&hash_key(&k), &hash_key(&k)));
        assert!(!ct_eq(&hash_key(&k), &hash_key("x")));
    }
}
