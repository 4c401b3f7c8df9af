//! Encryption at rest for the shared store: each stored value sealed with
//! AES-256-GCM under a key from the environment (`MCP_STATE_KEY`), which
//! never goes to the store. The value's key and field name are the
//! associated data, so a sealed value moved to another caller's key, another
//! id or another field fails to open instead of being read there.
//!
//! Rotation: `MCP_STATE_KEY` may list keys, comma-separated, newest first.
//! Values are sealed with the first and opened with whichever sealed them,
//! so replicas can take a new key before the old one's values are gone.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use base64::Engine;

/// AES-256-GCM keys for the store's values: the first seals, any opens.
pub struct Sealer {
    keys: Vec<LessSafeKey>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer(AES-256-GCM, {} key(s))", self.keys.len())
    }
}

/// Why `MCP_STATE_KEY` is not a list of keys.
#[derive(Debug, thiserror::Error)]
#[error(
    "MCP_STATE_KEY must be 32 random bytes in base64 (44 characters, e.g. from `openssl rand -base64 32`), \
     or several such keys separated by commas, the newest first; {0}"
)]
pub struct BadKey(String);

impl Sealer {
    /// The keys from their base64 texts (standard or URL-safe, padded or
    /// not), comma-separated, the one that seals first.
    pub fn from_base64(text: &str) -> Result<Sealer, BadKey> {
        let texts: Vec<&str> = text.split(',').map(str::trim).collect();
        let keys = texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                // Which key is wrong, never what it is.
                let which = if texts.len() > 1 {
                    format!("key {} is", i + 1)
                } else {
                    "this value is".into()
                };
                one_key(text).map_err(|why| BadKey(format!("{which} {why}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Sealer { keys })
    }

    /// `value` sealed for `place` (the store key and field) with the first
    /// key: a random nonce, then the ciphertext and tag. `None` without
    /// randomness for a nonce.
    pub fn seal(&self, place: &str, value: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).ok()?;
        let mut body = value.to_vec();
        let tag = self.keys[0]
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

    /// The value sealed for `place` by any of the keys; `None` when it was
    /// sealed elsewhere, with a key not listed, or changed.
    pub fn open(&self, place: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.keys.iter().find_map(|key| {
            let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
            let mut body = body.to_vec();
            let len = key
                .open_in_place(nonce, Aad::from(place.as_bytes()), &mut body)
                .ok()?
                .len();
            body.truncate(len);
            Some(body)
        })
    }
}

/// One key from its base64 text; `Err` says why not, never the text.
fn one_key(text: &str) -> Result<LessSafeKey, String> {
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let bytes = engines
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| "not base64".to_string())?;
    if bytes.len() != 32 {
        return Err(format!("{} bytes", bytes.len()));
    }
    let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| "refused by AES-256-GCM".to_string())?;
    Ok(LessSafeKey::new(key))
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
    fn a_rotated_key_still_opens_what_it_sealed_and_the_new_one_seals() {
        let old = Sealer::from_base64(KEY).unwrap();
        let sealed_before = old.seal("k:alice:1/p1", b"page").unwrap();
        let new_key = KEY.replace('q', "r");
        let rotated = Sealer::from_base64(&format!("{new_key}, {KEY}")).unwrap();
        assert_eq!(rotated.open("k:alice:1/p1", &sealed_before).unwrap(), b"page");
        let sealed_after = rotated.seal("k:alice:1/p1", b"page").unwrap();
        assert_eq!(old.open("k:alice:1/p1", &sealed_after), None, "sealed with the new key");
        let retired = Sealer::from_base64(&new_key).unwrap();
        assert_eq!(retired.open("k:alice:1/p1", &sealed_after).unwrap(), b"page");
        assert_eq!(
            retired.open("k:alice:1/p1", &sealed_before),
            None,
            "the old key retired"
        );
        assert_eq!(format!("{rotated:?}"), "Sealer(AES-256-GCM, 2 key(s))");
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
        let second = Sealer::from_base64(&format!("{KEY},AAAA")).unwrap_err().to_string();
        assert!(second.contains("key 2 is 3 bytes") && !second.contains(KEY), "{second}");
    }
}
