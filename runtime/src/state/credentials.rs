//! Each user's own upstream credentials: one per person (an OAuth caller's
//! issuer and subject, [`crate::identity::Caller::person`]) and security
//! scheme, connected on the server's connect page and read on each call that
//! needs it. In the shared store they are always sealed (the server refuses
//! to start otherwise), under a key naming the person and the scheme, so a
//! value moved to another key doesn't open. Values are [`Secret`]s: never
//! shown by `Debug`, never logged.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{Kind, Store, StoreError};
use crate::config::Secret;

/// The longest credential a person may connect.
pub const MAX_CREDENTIAL_BYTES: usize = 8 * 1024;

/// People's credentials in the deployment's state store.
#[derive(Clone)]
pub struct Credentials {
    store: Store,
}

impl Credentials {
    pub fn new(store: Store) -> Credentials {
        Credentials { store }
    }

    /// `person`'s credential for `scheme`, if they connected one (and it has
    /// not expired, been forgotten, or been sealed with a key no longer listed).
    pub async fn get(&self, person: &str, scheme: &str) -> Result<Option<Secret>, StoreError> {
        let values = self.store.get(Kind::Credential, person, scheme, &["value"]).await?;
        let value = values.and_then(|mut v| v.pop().flatten());
        Ok(value.and_then(|bytes| String::from_utf8(bytes).ok()).map(Secret::new))
    }

    /// Keeps `value` as `person`'s credential for `scheme`, replacing theirs.
    pub async fn put(&self, person: &str, scheme: &str, value: &Secret) -> Result<(), StoreError> {
        let connected = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let fields = vec![
            ("value".to_string(), value.expose().as_bytes().to_vec()),
            ("connected".to_string(), connected.to_string().into_bytes()),
        ];
        self.store.put(Kind::Credential, person, scheme, fields).await.map(drop)
    }

    /// Forgets `person`'s credential for `scheme`; whether there was one.
    pub async fn forget(&self, person: &str, scheme: &str) -> Result<bool, StoreError> {
        Ok(self.store.take(Kind::Credential, person, scheme).await?.is_some())
    }

    /// Spends the single-use `nonce` of a connect link made for `person`:
    /// true the first time, on whichever replica.
    pub async fn spend(&self, person: &str, nonce: &str) -> Result<bool, StoreError> {
        self.store.claim(person, nonce).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Limits;
    use std::time::Duration;

    fn credentials() -> Credentials {
        let limits = Limits {
            max_entries: 8,
            max_bytes: 1 << 20,
            ttl: Duration::from_secs(60),
        };
        Credentials::new(Store::memory(limits, limits))
    }

    #[tokio::test]
    async fn a_credential_is_its_persons_for_its_scheme() {
        let c = credentials();
        c.put("iss alice", "key", &Secret::new("A".into())).await.unwrap();
        assert_eq!(c.get("iss alice", "key").await.unwrap().unwrap().expose(), "A");
        assert!(c.get("iss bob", "key").await.unwrap().is_none(), "another person's");
        assert!(c.get("iss alice", "other").await.unwrap().is_none(), "another scheme's");
        assert!(c.forget("iss alice", "key").await.unwrap());
        assert!(c.get("iss alice", "key").await.unwrap().is_none());
        assert!(!c.forget("iss alice", "key").await.unwrap());
    }

    #[tokio::test]
    async fn a_nonce_is_spent_once_per_person() {
        let c = credentials();
        assert!(c.spend("iss alice", "n1").await.unwrap());
        assert!(!c.spend("iss alice", "n1").await.unwrap(), "replayed");
        assert!(
            c.spend("iss bob", "n1").await.unwrap(),
            "another person's nonce is another"
        );
    }
}
