//! The verifier's defences at the edge: tokens that can't be tokens, refusals
//! remembered, and backing off from an issuer that doesn't answer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::*;

/// The issuer failing to answer, and when it is asked again.
#[derive(Debug, Clone)]
pub(super) struct Outage {
    pub(super) why: String,
    pub(super) failures: u32,
    pub(super) until: Instant,
}

/// A token that can't be an access token (RFC 6750's b64token, at most
/// `MAX_TOKEN_BYTES`) is refused without asking anyone.
pub(super) fn plausible(token: &str) -> Result<(), Refusal> {
    let body = token.trim_end_matches('=');
    let shaped = !body.is_empty()
        && token.len() <= MAX_TOKEN_BYTES
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'));
    if shaped {
        Ok(())
    } else {
        Err(Refusal::Invalid(format!(
            "the token is not an access token (RFC 6750: letters, digits and -._~+/, at most {MAX_TOKEN_BYTES} bytes)"
        )))
    }
}

/// Holds `value` under `key` until `until`, within `VERIFIED_ENTRIES`
/// (past it, entries past their time go first, then all).
pub(super) fn remember<V>(cache: &Mutex<HashMap<[u8; 32], (V, Instant)>>, key: [u8; 32], value: V, until: Instant) {
    let mut cache = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if cache.len() >= VERIFIED_ENTRIES {
        let now = Instant::now();
        cache.retain(|_, (_, at)| now < *at);
        if cache.len() >= VERIFIED_ENTRIES {
            cache.clear();
        }
    }
    cache.insert(key, (value, until));
}

impl Verifier {
    /// Why the issuer is not being asked now, and for how much longer.
    pub fn outage(&self) -> Option<(String, Duration)> {
        let outage = self.outage.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        outage
            .as_ref()
            .map(|o| (o.why.clone(), o.until.saturating_duration_since(Instant::now())))
    }

    /// Notes a failure to reach the issuer: it is not asked again for a
    /// while, doubling with each failure in a row.
    pub(super) fn issuer_failed(&self, why: &str) {
        let mut outage = self.outage.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let failures = outage.as_ref().map_or(0, |o| o.failures) + 1;
        let (first, most) = ISSUER_BACKOFF;
        let wait = first.saturating_mul(1 << (failures - 1).min(16)).min(most);
        // Up to a quarter more, so replicas that failed together don't retry together.
        let mut byte = [0u8; 1];
        let jitter = getrandom::fill(&mut byte).map_or(0.0, |()| f64::from(byte[0]) / 255.0 / 4.0);
        let wait = wait.mul_f64(1.0 + jitter);
        if failures == 1 {
            tracing::warn!(
                "the OAuth issuer {} is not answering ({why}); requests that need it get 503 until it does, \
                 asked again in {} s",
                self.options.issuer,
                wait.as_secs().max(1)
            );
        }
        *outage = Some(Outage {
            why: why.to_string(),
            failures,
            until: Instant::now() + wait,
        });
    }

    pub(super) fn issuer_answered(&self) {
        let mut outage = self.outage.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if outage.take().is_some() {
            tracing::info!("the OAuth issuer {} answers again", self.options.issuer);
        }
    }
}
