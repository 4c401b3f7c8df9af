//! Who is calling: an inbound request's credential (a static token or an
//! OAuth 2.1 access token) becomes a verified [`Caller`] once, at the edge,
//! and that one value travels with the call. Imports only the foundation
//! (config, style, tls, spec).

pub mod connect;
pub mod oauth;

use std::net::IpAddr;
use std::sync::Arc;

use self::oauth::Access;
use crate::config::Secret;

/// Who a person is wherever they come from (a call, the connect page): the
/// issuer that vouched for them and their subject there.
pub fn person(issuer: &str, subject: &str) -> String {
    format!("{issuer} {subject}")
}

/// A verified caller: the key its results, jobs and rate limits are bound
/// to, and its OAuth grant when it presented a token.
#[derive(Debug, Clone)]
pub struct Caller {
    key: Arc<str>,
    access: Option<Arc<Access>>,
}

impl Caller {
    /// The one client of a stdio server: its own key for this process, so
    /// stdio servers sharing a state store never read each other's entries.
    pub fn local() -> Caller {
        static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let key = KEY.get_or_init(|| {
            let mut bytes = [0u8; 16];
            // Without randomness, the process id: unique among running processes.
            match getrandom::fill(&mut bytes) {
                Ok(()) => format!("local:{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()),
                Err(_) => format!("local:pid{}", std::process::id()),
            }
        });
        Caller::keyed(key.clone())
    }

    /// An HTTP client without inbound auth, known by its address.
    pub fn address(ip: IpAddr) -> Caller {
        Caller::keyed(format!("addr:{ip}"))
    }

    /// An HTTP client that presented the configured static `token`, known
    /// by a digest of it: the same key on every replica and whatever the
    /// token's place in the list (a rotation reorders it), never the token.
    pub fn token(token: &Secret) -> Caller {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(token.expose().as_bytes());
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        Caller::keyed(format!("token:{hex}"))
    }

    /// An HTTP client with a verified OAuth access token.
    pub fn oauth(access: Access) -> Caller {
        Caller {
            key: Arc::from(format!("sub:{}", access.grant.subject)),
            access: Some(Arc::new(access)),
        }
    }

    fn keyed(key: String) -> Caller {
        Caller {
            key: Arc::from(key),
            access: None,
        }
    }

    /// What this caller's held results and jobs are stored under, and what
    /// its rate limit counts.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The verified OAuth grant, when the caller presented one.
    pub fn access(&self) -> Option<&Arc<Access>> {
        self.access.as_ref()
    }

    /// Whose own upstream credentials this caller uses: its issuer and
    /// subject, when it presented an OAuth token; `None` for every other
    /// caller (stdio, static tokens), which use the operator's.
    pub fn person(&self) -> Option<String> {
        self.access.as_ref().map(|a| person(&a.issuer, &a.grant.subject))
    }

    /// The OAuth subject and client, for audit events.
    pub fn subject(&self) -> Option<&str> {
        self.access.as_ref().map(|a| a.grant.subject.as_str())
    }

    pub fn client_id(&self) -> Option<&str> {
        self.access.as_ref().and_then(|a| a.grant.client_id.as_deref())
    }
}
