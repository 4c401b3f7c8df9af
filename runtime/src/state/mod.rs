//! What outlives one request and what a deployment must share: results held
//! for their caller (read back by link, in pages), long-running jobs (`tasks`
//! keeps them here), and the rate limit's counters. One interface, [`Store`],
//! over two backends: in this process (the default; nothing to run) or
//! Redis/Valkey (`--state redis://…`), which replicas behind a balancer share.
//!
//! An entry is a record of named byte fields, bound to the caller that made
//! it: another caller's id is the same "not found" as an unknown one. Every
//! operation is bounded in time and fails as a [`StoreError`], never a
//! panic or a hang; callers answer without the store where they can.
//! Imports only the foundation.

pub mod credentials;
mod limit;
mod memory;
mod redis;
pub mod results;
mod seal;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::spec::ServerSpec;

pub use self::limit::RateLimit;
pub use self::seal::Sealer;

/// The record of an entry: field names and their bytes.
pub type Fields = Vec<(String, Vec<u8>)>;

/// Bounds of an in-memory store of one kind. The shared store is bounded by
/// its own `maxmemory`: it takes the TTL, and `max_bytes` as the most one
/// entry may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Entries held at once, at most.
    pub max_entries: usize,
    /// The sizes entries declare, together, at most.
    pub max_bytes: usize,
    /// How long an entry stays after it was stored.
    pub ttl: Duration,
}

/// Jobs held at once in memory (the oldest go first).
const MAX_JOBS: usize = 1024;
/// Results held at once in memory.
const MAX_RESULTS: usize = 1024;

/// The bounds `spec` sets for results (`results.keep_bytes`) and jobs (by
/// number), both kept for `results.keep_seconds`.
pub fn limits_for(spec: &ServerSpec) -> (Limits, Limits) {
    let ttl = Duration::from_secs(spec.results.keep_seconds);
    let results = Limits {
        max_entries: MAX_RESULTS,
        max_bytes: spec.results.keep_bytes,
        ttl,
    };
    // Jobs are small: bounded by their number.
    let jobs = Limits {
        max_entries: MAX_JOBS,
        max_bytes: usize::MAX,
        ttl,
    };
    (results, jobs)
}

/// Each user's own upstream credentials (`credentials`): held for 90 days
/// from when they were connected, at most 100,000 in memory.
const CREDENTIALS: Limits = Limits {
    max_entries: 100_000,
    max_bytes: 64 << 20,
    ttl: Duration::from_secs(90 * 24 * 3600),
};

/// Used connect links (`credentials`), kept past any link's lifetime.
const CLAIMS: Limits = Limits {
    max_entries: 100_000,
    max_bytes: usize::MAX,
    ttl: Duration::from_secs(3600),
};

/// What an entry is: each kind has its own bounds and key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Result,
    Job,
    /// A user's credential for one security scheme: always sealed in the shared store.
    Credential,
    /// A single-use id, spent (`Store::claim`).
    Claim,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Result => "result",
            Kind::Job => "job",
            Kind::Credential => "credential",
            Kind::Claim => "claim",
        }
    }
}

/// Why the store could not answer. What it displays goes to clients and
/// models: it never names the store; [`StoreError::detail`] does, for logs
/// (its password masked), never an entry's content.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// Down, slow past its timeout, or refusing; the detail names the store.
    #[error("the state store is unavailable")]
    Unavailable(String),
    /// `--state` is not a URL the client takes.
    #[error("{0} is not a Redis or Valkey URL ({1})")]
    BadUrl(String, String),
    /// The OS has no randomness for an unguessable id or a nonce.
    #[error("no randomness for an unguessable id")]
    NoRandomness,
}

impl StoreError {
    /// The error with where and why, for the log and the operator.
    pub fn detail(&self) -> String {
        match self {
            StoreError::Unavailable(detail) => format!("the state store is unavailable ({detail})"),
            other => other.to_string(),
        }
    }
}

/// The fields of a job's record that stay readable by the store (its
/// scripts compare them); every other field is sealed when a key is set.
const PLAIN_FIELDS: &[&str] = &["state"];

/// The state store of a server: cheap to clone, shared by its handles.
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
    sealer: Option<Arc<Sealer>>,
    limits: [Limits; 4],
}

// One per server, behind an Arc: its size costs nothing.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Memory(memory::Memory),
    Redis(redis::Redis),
}

impl Store {
    /// A store in this process, with the bounds of results and of jobs.
    pub fn memory(results: Limits, jobs: Limits) -> Store {
        let limits = [results, jobs, CREDENTIALS, CLAIMS];
        Store {
            backend: Arc::new(Backend::Memory(memory::Memory::new(limits))),
            sealer: None,
            limits,
        }
    }

    /// The shared store at `url` (Redis or Valkey; see `redis.rs`), its keys
    /// under `namespace`, values sealed with `sealer` when given; entries
    /// expire after the TTLs of `results` and `jobs`.
    pub fn redis(
        url: &str,
        namespace: &str,
        sealer: Option<Sealer>,
        results: Limits,
        jobs: Limits,
    ) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Arc::new(Backend::Redis(redis::Redis::open(url, namespace)?)),
            sealer: sealer.map(Arc::new),
            limits: [results, jobs, CREDENTIALS, CLAIMS],
        })
    }

    /// The in-memory store with the bounds `spec` sets.
    pub fn for_spec(spec: &ServerSpec) -> Store {
        let (results, jobs) = limits_for(spec);
        Store::memory(results, jobs)
    }

    /// Where entries are held, in words for clients (`in memory, not across
    /// restarts`, or `in the shared store`): never the store's address.
    pub fn describe(&self) -> &'static str {
        match &*self.backend {
            Backend::Memory(_) => "in memory, not across restarts,",
            Backend::Redis(_) => "in the shared store",
        }
    }

    /// Where entries are held, for the log: the shared store's URL with its
    /// password masked.
    pub fn location(&self) -> String {
        match &*self.backend {
            Backend::Memory(_) => "in memory".to_string(),
            Backend::Redis(redis) => format!("in the shared store {}", redis.shown()),
        }
    }

    /// The bounds entries of `kind` are held within.
    pub fn limits(&self, kind: Kind) -> Limits {
        self.limits[kind as usize]
    }

    /// Holds `fields` as `owner`'s entry `id` of `kind`, replacing what
    /// `id` held; `Ok(false)` when it is bigger than the store may hold.
    pub async fn put(&self, kind: Kind, owner: &str, id: &str, fields: Fields) -> Result<bool, StoreError> {
        let limits = self.limits(kind);
        if fields.iter().map(|(_, v)| v.len()).sum::<usize>() > limits.max_bytes {
            return Ok(false);
        }
        match &*self.backend {
            Backend::Memory(memory) => Ok(memory.put(kind, owner, id, fields)),
            Backend::Redis(redis) => {
                let key = redis.key(kind, owner, id);
                let fields = self.seal_all(&key, fields)?;
                redis.put(&key, fields, limits.ttl).await.map(|()| true)
            }
        }
    }

    /// The values of `names` in `owner`'s entry `id`; `None` when it holds
    /// no entry there (expired, evicted, another caller's, never made) or
    /// the first name has no value.
    pub async fn get(
        &self,
        kind: Kind,
        owner: &str,
        id: &str,
        names: &[&str],
    ) -> Result<Option<Vec<Option<Vec<u8>>>>, StoreError> {
        let values = match &*self.backend {
            Backend::Memory(memory) => memory.get(kind, owner, id, names),
            Backend::Redis(redis) => {
                let key = redis.key(kind, owner, id);
                let values = redis.get(&key, names).await?;
                let opened = names
                    .iter()
                    .zip(values)
                    .map(|(name, value)| value.and_then(|v| self.open(&key, name, v)))
                    .collect();
                Some(opened)
            }
        };
        Ok(values.filter(|values: &Vec<Option<Vec<u8>>>| values.first().is_some_and(Option::is_some)))
    }

    /// Takes `owner`'s entry `id` out of the store, all its fields.
    pub async fn take(&self, kind: Kind, owner: &str, id: &str) -> Result<Option<Fields>, StoreError> {
        match &*self.backend {
            Backend::Memory(memory) => Ok(memory.take(kind, owner, id)),
            Backend::Redis(redis) => {
                let key = redis.key(kind, owner, id);
                let Some(fields) = redis.take(&key).await? else {
                    return Ok(None);
                };
                // A field that doesn't open (another key, tampered) is as absent.
                let opened = fields
                    .into_iter()
                    .filter_map(|(name, value)| self.open(&key, &name, value).map(|v| (name, v)))
                    .collect();
                Ok(Some(opened))
            }
        }
    }

    /// Sets `fields` of `owner`'s entry `id` when it is held and its field
    /// `guard.0` is not `guard.1` (one of [`PLAIN_FIELDS`]), in one step.
    pub async fn set_unless(
        &self,
        kind: Kind,
        owner: &str,
        id: &str,
        guard: (&str, &[u8]),
        fields: Fields,
    ) -> Result<bool, StoreError> {
        match &*self.backend {
            Backend::Memory(memory) => Ok(memory.set_unless(kind, owner, id, guard, fields)),
            Backend::Redis(redis) => {
                let key = redis.key(kind, owner, id);
                let fields = self.seal_all(&key, fields)?;
                redis.set_unless(&key, guard, fields).await
            }
        }
    }

    /// One call by `owner` against `per_minute` (a burst of the whole
    /// minute): for the deployment with the shared store, for this process
    /// otherwise. `Ok(Err(wait))`: refused, allowed again after `wait`.
    pub async fn admit(&self, owner: &str, per_minute: NonZeroU32) -> Result<Result<(), Duration>, StoreError> {
        match &*self.backend {
            Backend::Memory(memory) => Ok(memory.admit(owner, per_minute)),
            Backend::Redis(redis) => redis.admit(owner, per_minute).await,
        }
    }

    /// Spends `owner`'s single-use `id`: `Ok(true)` the first time, on any
    /// replica, `Ok(false)` after (for [`CLAIMS`]'s TTL).
    pub async fn claim(&self, owner: &str, id: &str) -> Result<bool, StoreError> {
        match &*self.backend {
            Backend::Memory(memory) => Ok(memory.claim(owner, id)),
            Backend::Redis(redis) => redis.claim(&redis.key(Kind::Claim, owner, id), CLAIMS.ttl).await,
        }
    }

    /// Whether values are sealed before they leave this process: a shared
    /// store without MCP_STATE_KEY is not (an in-memory one never needs it).
    pub fn seals(&self) -> bool {
        matches!(&*self.backend, Backend::Memory(_)) || self.sealer.is_some()
    }

    /// Whether the store answers (always, in memory).
    pub async fn ready(&self) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Memory(_) => Ok(()),
            Backend::Redis(redis) => redis.ping().await,
        }
    }

    fn seal_all(&self, key: &str, fields: Fields) -> Result<Fields, StoreError> {
        let Some(sealer) = &self.sealer else {
            return Ok(fields);
        };
        fields
            .into_iter()
            .map(|(name, value)| {
                if PLAIN_FIELDS.contains(&name.as_str()) {
                    return Ok((name, value));
                }
                let sealed = sealer
                    .seal(&format!("{key}/{name}"), &value)
                    .ok_or(StoreError::NoRandomness)?;
                Ok((name, sealed))
            })
            .collect()
    }

    /// A stored value as it was put; `None` when it doesn't open (sealed
    /// for another place or with another key, or changed in the store).
    fn open(&self, key: &str, name: &str, value: Vec<u8>) -> Option<Vec<u8>> {
        match &self.sealer {
            Some(sealer) if !PLAIN_FIELDS.contains(&name) => {
                let opened = sealer.open(&format!("{key}/{name}"), &value);
                if opened.is_none() {
                    tracing::warn!(
                        field = name,
                        "a stored value did not open with MCP_STATE_KEY: treated as absent"
                    );
                }
                opened
            }
            _ => Some(value),
        }
    }
}

/// The owner as the shared store's keys carry it: a digest, so keys have
/// one length and shape whatever a subject holds.
fn owner_digest(owner: &str) -> String {
    Sha256::digest(owner.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 128 random bits in hex: an id nobody can guess; `None` when the OS has no
/// randomness to give.
pub fn random_id() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
