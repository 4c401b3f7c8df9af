//! Signed, short-lived values for connecting a person's own credentials:
//! the link a tool call answers with, the sign-in it starts, and the form
//! the verified person fills in. Each is `<payload>.<HMAC-SHA256>` in
//! base64url, for one purpose (a link never passes as a form), expiring.
//!
//! The key derives from `MCP_STATE_KEY`, so every replica signs and checks
//! alike; with several keys (a rotation) the first signs and any checks.
//! Without one, a random key of this process: links then work only on the
//! replica that made them, which is why a shared store requires the key.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// How long a connect link, a sign-in and a form stay usable.
pub const LINK_LIFETIME_SECONDS: u64 = 600;

/// What a connect link stands for: who must come back, for which schemes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Link {
    /// The person ([`super::Caller::person`]) the link was made for.
    pub person: String,
    /// The per-user security schemes to connect.
    pub schemes: Vec<String>,
    /// Single use: spent when the form is saved.
    pub nonce: String,
    /// Seconds since the epoch.
    pub expires: u64,
}

/// Signs and checks this server's connect values.
pub struct Signer {
    keys: Vec<hmac::Key>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer(HMAC-SHA256, {} key(s))", self.keys.len())
    }
}

pub fn now_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// 128 random bits, base64url; `None` without randomness.
pub fn random_token() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

impl Signer {
    /// Keys derived from `MCP_STATE_KEY`'s text (comma-separated, newest
    /// first), or one random key for this process when there is none.
    pub fn new(state_key: Option<&str>) -> Option<Signer> {
        let texts: Vec<&str> = state_key
            .map(|k| k.split(',').map(str::trim).filter(|k| !k.is_empty()).collect())
            .unwrap_or_default();
        let keys = if texts.is_empty() {
            let mut random = [0u8; 32];
            getrandom::fill(&mut random).ok()?;
            vec![hmac::Key::new(hmac::HMAC_SHA256, &random)]
        } else {
            // Its own key, never the store's sealing key itself.
            texts
                .iter()
                .map(|text| {
                    let derived = Sha256::new()
                        .chain_update(b"mcpgen connect v1\0")
                        .chain_update(text.as_bytes())
                        .finalize();
                    hmac::Key::new(hmac::HMAC_SHA256, &derived)
                })
                .collect()
        };
        Some(Signer { keys })
    }

    /// `value` signed for `purpose`.
    pub fn sign(&self, purpose: &str, value: &impl Serialize) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("plain data serializes"));
        let tag = hmac::sign(&self.keys[0], &signed_bytes(purpose, &payload));
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The value `token` holds when one of the keys signed it for `purpose`;
    /// `None` for anything else (altered, another purpose, not ours).
    pub fn open<T: DeserializeOwned>(&self, purpose: &str, token: &str) -> Option<T> {
        let (payload, tag) = token.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let bytes = signed_bytes(purpose, payload);
        self.keys.iter().find(|key| hmac::verify(key, &bytes, &tag).is_ok())?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}

fn signed_bytes(purpose: &str, payload: &str) -> Vec<u8> {
    [purpose.as_bytes(), b"\0", payload.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> Link {
        Link {
            person: "https://issuer alice".into(),
            schemes: vec!["api_key".into()],
            nonce: "n".into(),
            expires: 1,
        }
    }

    #[test]
    fn a_value_opens_for_its_purpose_and_key_only() {
        let signer = Signer::new(Some("k1")).unwrap();
        let token = signer.sign("link", &link());
        assert_eq!(signer.open::<Link>("link", &token), Some(link()));
        assert_eq!(signer.open::<Link>("form", &token), None, "another purpose");
        assert_eq!(Signer::new(Some("k2")).unwrap().open::<Link>("link", &token), None);
        // Another person written into the payload breaks the tag.
        let (_, tag) = token.split_once('.').unwrap();
        let mut forged = link();
        forged.person = "https://issuer mallory".into();
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(signer.open::<Link>("link", &format!("{payload}.{tag}")), None);
        assert_eq!(signer.open::<Link>("link", "junk"), None);
    }

    #[test]
    fn a_rotated_key_still_opens_what_the_old_one_signed() {
        let old = Signer::new(Some("k1")).unwrap().sign("link", &link());
        let rotated = Signer::new(Some("k2, k1")).unwrap();
        assert_eq!(rotated.open::<Link>("link", &old), Some(link()));
        let new = rotated.sign("link", &link());
        assert_eq!(Signer::new(Some("k1")).unwrap().open::<Link>("link", &new), None);
    }

    #[test]
    fn without_a_state_key_each_process_has_its_own() {
        let token = Signer::new(None).unwrap().sign("link", &link());
        assert_eq!(Signer::new(None).unwrap().open::<Link>("link", &token), None);
    }
}
