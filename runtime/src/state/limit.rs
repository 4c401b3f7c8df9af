//! The rate limit on tool calls, per caller: counted in the state store, so
//! with a shared store the limit an operator sets is the deployment's, not
//! each replica's. While the shared store doesn't answer, each replica
//! counts on its own (the limit then holds per replica) rather than letting
//! every call through or refusing them all.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Limits, Store};

/// How often a store outage is logged while it lasts.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Tool calls per minute per caller, GCRA with a burst of the whole minute.
pub struct RateLimit {
    per_minute: NonZeroU32,
    store: Store,
    /// This process's own count, for while the shared store is unavailable.
    fallback: Store,
    warned: Mutex<Option<Instant>>,
}

impl RateLimit {
    pub fn new(per_minute: NonZeroU32, store: Store) -> RateLimit {
        let none = Limits {
            max_entries: 0,
            max_bytes: 0,
            ttl: Duration::ZERO,
        };
        RateLimit {
            per_minute,
            store,
            fallback: Store::memory(none, none),
            warned: Mutex::new(None),
        }
    }

    /// One call by `owner`: `Err(wait)` when over the limit, allowed again after `wait`.
    pub async fn check(&self, owner: &str) -> Result<(), Duration> {
        match self.store.admit(owner, self.per_minute).await {
            Ok(decision) => decision,
            Err(unavailable) => {
                {
                    let mut warned = self.warned.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if warned.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
                        tracing::warn!("rate limits count per replica while {}", unavailable.detail());
                        *warned = Some(Instant::now());
                    }
                }
                // The memory store always answers.
                self.fallback.admit(owner, self.per_minute).await.unwrap_or(Ok(()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_caller_gets_its_minutes_quota_then_a_wait() {
        let none = Limits {
            max_entries: 0,
            max_bytes: 0,
            ttl: Duration::ZERO,
        };
        let limit = RateLimit::new(NonZeroU32::new(3).unwrap(), Store::memory(none, none));
        for _ in 0..3 {
            assert_eq!(limit.check("alice").await, Ok(()));
        }
        let wait = limit.check("alice").await.unwrap_err();
        assert!(
            wait > Duration::from_secs(15) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert_eq!(limit.check("bob").await, Ok(()), "each caller has its own quota");
    }
}
