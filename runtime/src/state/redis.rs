//! The shared store: Redis or Valkey, for replicas that must share state.
//!
//! Each entry is one hash, `<namespace>:<kind>:<owner digest>:<id>`, its
//! fields the record's, expiring by the store's own TTL (`PEXPIRE`). The
//! owner is in the key, so another caller's id names a key that doesn't
//! exist: the same "not found" as an unknown id. Bounds are the store's:
//! run it with `maxmemory` and `maxmemory-policy volatile-lru` (every key
//! here has a TTL), so the least recently used entries go first when full.
//!
//! Every operation is bounded ([`OP_TIMEOUT`]); the connection is made on
//! first use and remade after a failure, and while the store is down
//! operations fail at once for [`BACKOFF`] rather than each waiting out a
//! connect timeout.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script, Value};

use super::{Fields, Kind, StoreError};

/// The longest one store operation may take.
pub const OP_TIMEOUT: Duration = Duration::from_millis(1500);
/// After a failed connect, how long operations fail at once.
const BACKOFF: Duration = Duration::from_secs(1);

pub struct Redis {
    manager: ConnectionManager,
    /// The URL with its password masked, for messages.
    shown: String,
    namespace: String,
    /// When the last operation failed to reach the store.
    down_since: Mutex<Option<Instant>>,
    take: Script,
    set_unless: Script,
    gcra: Script,
}

/// Takes a hash whole: read and deleted in one step, so two replicas never
/// both take the same entry.
const TAKE: &str = r"
local fields = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return fields
";

/// Sets fields of an existing hash unless its field ARGV[1] is ARGV[2]
/// (a cancelled job stays cancelled whichever replica polled it last).
const SET_UNLESS: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
return 1
";

/// GCRA on the store's clock (replicas' clocks don't matter): ARGV[1] is
/// the emission interval and ARGV[2] the burst tolerance, in ms. Returns 0
/// when the call is allowed, else the ms until one is.
const GCRA: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allowed_at = tat - tolerance
if now < allowed_at then return allowed_at - now end
local next_tat = tat + interval
redis.call('SET', KEYS[1], next_tat, 'PX', next_tat - now + 1000)
return 0
";

impl Redis {
    /// A client of the store at `url` (`redis://`, `rediss://` for TLS,
    /// `valkey://`, `valkeys://`; user, password and database in the URL).
    /// Connects on first use, so a server starts while its store is down.
    pub fn open(url: &str, namespace: &str) -> Result<Redis, StoreError> {
        let shown = mask_password(url);
        let client = Client::open(url).map_err(|e| StoreError::BadUrl(shown.clone(), e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(OP_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| StoreError::BadUrl(shown.clone(), e.to_string()))?;
        Ok(Redis {
            manager,
            shown,
            namespace: namespace.to_string(),
            down_since: Mutex::new(None),
            take: Script::new(TAKE),
            set_unless: Script::new(SET_UNLESS),
            gcra: Script::new(GCRA),
        })
    }

    /// Where the store is, its password masked.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The key of `owner`'s entry `id` of `kind`.
    pub fn key(&self, kind: Kind, owner: &str, id: &str) -> String {
        format!("{}:{}:{}:{id}", self.namespace, kind.name(), super::owner_digest(owner))
    }

    /// `op` on the connection within [`OP_TIMEOUT`], failing at once while
    /// the store was just found down.
    async fn run<T>(&self, op: impl Future<Output = redis::RedisResult<T>>) -> Result<T, StoreError> {
        let down = *self
            .down_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if down.is_some_and(|at| at.elapsed() < BACKOFF) {
            return Err(StoreError::Unavailable(format!("{} is not answering", self.shown)));
        }
        let outcome = tokio::time::timeout(OP_TIMEOUT, op).await;
        let failed = |why: String| {
            *self
                .down_since
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
            StoreError::Unavailable(format!("{}: {why}", self.shown))
        };
        match outcome {
            Ok(Ok(value)) => {
                *self
                    .down_since
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
                Ok(value)
            }
            // A refused script or command is the store answering: not down.
            Ok(Err(e)) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError) => {
                Err(StoreError::Unavailable(format!("{}: {e}", self.shown)))
            }
            Ok(Err(e)) => Err(failed(e.to_string())),
            Err(_) => Err(failed(format!("no answer within {} ms", OP_TIMEOUT.as_millis()))),
        }
    }

    pub async fn put(&self, key: &str, fields: Fields, ttl: Duration) -> Result<(), StoreError> {
        let ttl_ms = ttl.as_millis().clamp(1, i64::MAX as u128) as i64;
        self.run(async {
            let c = &mut self.manager.clone();
            let mut pipe = redis::pipe();
            pipe.atomic().del(key).ignore();
            let mut hset = redis::cmd("HSET");
            hset.arg(key);
            for (name, value) in &fields {
                hset.arg(name).arg(value);
            }
            pipe.add_command(hset).ignore();
            pipe.cmd("PEXPIRE").arg(key).arg(ttl_ms).ignore();
            pipe.query_async::<()>(c).await
        })
        .await
    }

    /// The values of `names` in the hash at `key` (all `None` when there is none).
    pub async fn get(&self, key: &str, names: &[&str]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let mut c = self.manager.clone();
        self.run(redis::cmd("HMGET").arg(key).arg(names).query_async(&mut c))
            .await
    }

    pub async fn take(&self, key: &str) -> Result<Option<Fields>, StoreError> {
        let flat: Vec<Vec<u8>> = self
            .run(async { self.take.key(key).invoke_async(&mut self.manager.clone()).await })
            .await?;
        if flat.is_empty() {
            return Ok(None);
        }
        let mut fields = Vec::with_capacity(flat.len() / 2);
        let mut values = flat.into_iter();
        while let (Some(name), Some(value)) = (values.next(), values.next()) {
            fields.push((String::from_utf8_lossy(&name).into_owned(), value));
        }
        Ok(Some(fields))
    }

    pub async fn set_unless(&self, key: &str, guard: (&str, &[u8]), fields: Fields) -> Result<bool, StoreError> {
        let set: i64 = self
            .run(async {
                let c = &mut self.manager.clone();
                let mut invocation = self.set_unless.key(key);
                invocation.arg(guard.0).arg(guard.1);
                for (name, value) in &fields {
                    invocation.arg(name).arg(value);
                }
                invocation.invoke_async(c).await
            })
            .await?;
        Ok(set == 1)
    }

    /// Sets `key` unless it exists: true when this call set it.
    pub async fn claim(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let ttl_ms = ttl.as_millis().clamp(1, i64::MAX as u128) as i64;
        let mut c = self.manager.clone();
        let set: Option<String> = self
            .run(
                redis::cmd("SET")
                    .arg(key)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async(&mut c),
            )
            .await?;
        Ok(set.is_some())
    }

    /// One call counted against `owner`'s `per_minute` for the whole deployment.
    pub async fn admit(&self, owner: &str, per_minute: NonZeroU32) -> Result<Result<(), Duration>, StoreError> {
        let key = format!("{}:rate:{}", self.namespace, super::owner_digest(owner));
        let interval = 60_000 / u64::from(per_minute.get()).max(1);
        let tolerance = interval * u64::from(per_minute.get() - 1);
        let wait: i64 = self
            .run(async {
                let c = &mut self.manager.clone();
                self.gcra.key(&key).arg(interval).arg(tolerance).invoke_async(c).await
            })
            .await?;
        Ok(match wait {
            ..=0 => Ok(()),
            ms => Err(Duration::from_millis(ms as u64)),
        })
    }

    /// Whether the store answers now (`PING`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.manager.clone();
        let answer: Value = self.run(redis::cmd("PING").query_async(&mut c)).await?;
        match answer {
            Value::SimpleString(s) if s == "PONG" => Ok(()),
            other => Err(StoreError::Unavailable(format!(
                "{}: PING answered {other:?}",
                self.shown
            ))),
        }
    }
}

/// `url` with its password (if any) replaced by `***`: what logs and errors show.
pub fn mask_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(an unparsable URL)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_urls_password_never_shows() {
        assert_eq!(
            mask_password("rediss://app:s3cret@cache.internal:6380/2"),
            "rediss://app:***@cache.internal:6380/2"
        );
        assert_eq!(mask_password("redis://:s3cret@h/0"), "redis://:***@h/0");
        assert_eq!(mask_password("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert!(!mask_password("redis://u:s3cret@[bad").contains("s3cret"));
    }
}
