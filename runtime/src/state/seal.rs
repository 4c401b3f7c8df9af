//! Encryption at rest for the shared store: each stored value sealed with
//! AES-256-GCM under a key from the environment (`MCP_STATE_KEY`), which
//! never goes to the store. The value's key and field name are the
//! associated data, so a sealed value moved to another caller's key, another
//! id or another field fails to open instead of being read there.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use base64::Engine;

/// An AES-256-GCM key for the store's values.
pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(AES-256-GCM)")
    }
}

/// Why `MCP_STATE_KEY` is not a key.
#[derive(Debug, thiserror::Error)]
#[error(
    "MCP_STATE_KEY must be 32 random bytes in base64 (44 characters, e.g. from `openssl rand -base64 32`); \
     this value is {0}"
)]
pub struct BadKey(String);

impl Sealer {
    /// The key from its base64 text (standard or URL-safe, padded or not).
    pub fn from_base64(text: &str) -> Result<Sealer, BadKey> {
        let text = text.trim();
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        let bytes = engines
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .ok_or_else(|| BadKey("not base64".to_string()))?;
        if bytes.len() != 32 {
            return Err(BadKey(format!("{} bytes", bytes.len())));
        }
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| BadKey("refused by AES-256-GCM".into()))?;
        Ok(Sealer {
            key: LessSafeKey::new(key),
        })
    }

    /// `value` sealed for `place` (the store key and field): a random nonce,
    /// then the ciphertext and tag. `None` without randomness for a nonce.
    pub fn seal(&self, place: &str, value: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).ok()?;
        let mut body = value.to_vec();
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(place.as_bytes()),
                &mut body,
            )
            .ok()?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + body.len() + tag.as_ref().len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&body);
        sealed.extend_from_slice(tag.as_ref());
        Some(sealed)
    }

    /// The value sealed for `place`; `None` when it was sealed elsewhere,
    /// with another key, or changed.
    pub fn open(&self, place: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(place.as_bytes()), &mut body)
            .ok()?;
        let len = plain.len();
        body.truncate(len);
        Some(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=";

    #[test]
    fn a_sealed_value_opens_only_where_it_was_sealed_with_its_key() {
        let sealer = Sealer::from_base64(KEY).unwrap();
        let sealed = sealer.seal("k:alice:1/p1", b"secret page").unwrap();
        assert!(
            !sealed.windows(6).any(|w| w == b"secret"),
            "plaintext in the sealed value"
        );
        assert_eq!(sealer.open("k:alice:1/p1", &sealed).unwrap(), b"secret page");
        assert_eq!(sealer.open("k:bob:1/p1", &sealed), None, "moved to another owner's key");
        assert_eq!(sealer.open("k:alice:1/p2", &sealed), None, "moved to another field");
        let mut changed = sealed.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open("k:alice:1/p1", &changed), None);
        let other = Sealer::from_base64(&KEY.replace('q', "r")).unwrap();
        assert_eq!(other.open("k:alice:1/p1", &sealed), None, "another key");
        assert_ne!(
            sealer.seal("p", b"x"),
            sealer.seal("p", b"x"),
            "a fresh nonce each time"
        );
    }

    #[test]
    fn a_key_must_be_32_bytes_of_base64() {
        assert!(
            Sealer::from_base64("not a key")
                .unwrap_err()
                .to_string()
                .contains("not base64")
        );
        assert!(Sealer::from_base64("AAAA").unwrap_err().to_string().contains("3 bytes"));
    }
}
