//! The in-memory store: one process, nothing to run. Entries live in
//! [`OwnedStore`]s (one per kind, each with its bounds), the rate limit in a
//! keyed GCRA limiter (`governor`); all of it is gone on restart.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::{Fields, Kind, Limits};

/// Entries bound to the caller that made them, by id: bounded in entries and
/// bytes (the oldest go first), each gone a TTL after it was stored. A read
/// by another owner finds nothing, exactly as for an id never made.
pub struct OwnedStore<T> {
    limits: Limits,
    inner: Mutex<Inner<T>>,
}

struct Held<T> {
    owner: String,
    stored: Instant,
    bytes: usize,
    value: T,
}

struct Inner<T> {
    held: HashMap<String, Held<T>>,
    /// Ids, oldest first: evicted first when a bound is reached.
    order: VecDeque<String>,
    bytes: usize,
}

impl<T> OwnedStore<T> {
    pub fn new(limits: Limits) -> OwnedStore<T> {
        OwnedStore {
            limits,
            inner: Mutex::new(Inner {
                held: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
            }),
        }
    }

    /// Holds `value` (of `bytes`) as `id` for `owner`, replacing what `id`
    /// held; `false` when it is bigger than the whole store may hold.
    pub fn insert(&self, owner: &str, id: &str, value: T, bytes: usize) -> bool {
        if bytes > self.limits.max_bytes {
            return false;
        }
        let inner = &mut *self.lock();
        inner.expire(self.limits.ttl);
        inner.remove(id);
        self.hold(inner, owner, id, value, bytes);
        true
    }

    /// Holds `value` as `id` for `owner` unless `id` is held (by anyone).
    pub fn insert_new(&self, owner: &str, id: &str, value: T, bytes: usize) -> bool {
        let inner = &mut *self.lock();
        inner.expire(self.limits.ttl);
        if inner.held.contains_key(id) || bytes > self.limits.max_bytes {
            return false;
        }
        self.hold(inner, owner, id, value, bytes);
        true
    }

    /// Adds an entry `id` doesn't hold, the oldest going first at a bound.
    fn hold(&self, inner: &mut Inner<T>, owner: &str, id: &str, value: T, bytes: usize) {
        while inner.bytes + bytes > self.limits.max_bytes || inner.held.len() >= self.limits.max_entries {
            if !inner.evict_oldest() {
                break;
            }
        }
        inner.bytes += bytes;
        inner.order.push_back(id.to_string());
        let held = Held {
            owner: owner.to_string(),
            stored: Instant::now(),
            bytes,
            value,
        };
        inner.held.insert(id.to_string(), held);
    }

    /// `read` of the entry `id` of `owner`; `None` when not held (expired,
    /// evicted, another owner's, or never made).
    pub fn with<R>(&self, owner: &str, id: &str, read: impl FnOnce(&mut T) -> R) -> Option<R> {
        let mut inner = self.lock();
        inner.expire(self.limits.ttl);
        let held = inner.held.get_mut(id).filter(|h| h.owner == owner)?;
        Some(read(&mut held.value))
    }

    /// Takes the entry `id` of `owner` out of the store.
    pub fn take(&self, owner: &str, id: &str) -> Option<T> {
        let mut inner = self.lock();
        inner.expire(self.limits.ttl);
        if inner.held.get(id).is_none_or(|h| h.owner != owner) {
            return None;
        }
        inner.remove(id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<T> Inner<T> {
    fn expire(&mut self, ttl: Duration) {
        while let Some(id) = self.order.front() {
            match self.held.get(id) {
                Some(held) if held.stored.elapsed() < ttl => break,
                _ => {
                    self.evict_oldest();
                }
            }
        }
    }

    fn evict_oldest(&mut self) -> bool {
        let Some(id) = self.order.pop_front() else {
            return false;
        };
        if let Some(held) = self.held.remove(&id) {
            self.bytes -= held.bytes;
        }
        true
    }

    fn remove(&mut self, id: &str) -> Option<T> {
        let held = self.held.remove(id)?;
        self.order.retain(|other| other != id);
        self.bytes -= held.bytes;
        Some(held.value)
    }
}

/// Entries of every kind, and the rate limit's counters, in this process.
pub struct Memory {
    /// One per [`Kind`], in its order.
    kinds: [OwnedStore<Record>; 4],
    /// One keyed limiter per quota (a server has one).
    limiters: Mutex<HashMap<u32, Arc<DefaultKeyedRateLimiter<String>>>>,
}

type Record = HashMap<String, Vec<u8>>;

impl Memory {
    /// With the bounds of each [`Kind`], in its order.
    pub fn new(limits: [Limits; 4]) -> Memory {
        Memory {
            kinds: limits.map(OwnedStore::new),
            limiters: Mutex::default(),
        }
    }

    fn of(&self, kind: Kind) -> &OwnedStore<Record> {
        &self.kinds[kind as usize]
    }

    /// Spends `owner`'s `id`: true the first time.
    pub fn claim(&self, owner: &str, id: &str) -> bool {
        // Ids are the owner's: another owner's same id is another claim.
        let id = format!("{}/{id}", super::owner_digest(owner));
        self.of(Kind::Claim).insert_new(owner, &id, Record::new(), 0)
    }

    pub fn put(&self, kind: Kind, owner: &str, id: &str, fields: Fields) -> bool {
        let bytes = fields.iter().map(|(_, v)| v.len()).sum();
        self.of(kind).insert(owner, id, fields.into_iter().collect(), bytes)
    }

    pub fn get(&self, kind: Kind, owner: &str, id: &str, names: &[&str]) -> Option<Vec<Option<Vec<u8>>>> {
        self.of(kind).with(owner, id, |record| {
            names.iter().map(|n| record.get(*n).cloned()).collect()
        })
    }

    pub fn take(&self, kind: Kind, owner: &str, id: &str) -> Option<Fields> {
        self.of(kind).take(owner, id).map(|record| record.into_iter().collect())
    }

    pub fn set_unless(&self, kind: Kind, owner: &str, id: &str, guard: (&str, &[u8]), fields: Fields) -> bool {
        self.of(kind)
            .with(owner, id, |record| {
                if record.get(guard.0).is_some_and(|v| v == guard.1) {
                    return false;
                }
                record.extend(fields);
                true
            })
            .unwrap_or(false)
    }

    /// One call by `key` under `per_minute` (GCRA, a burst of the whole
    /// minute's quota); `Err` holds how long until one is allowed.
    pub fn admit(&self, key: &str, per_minute: NonZeroU32) -> Result<(), Duration> {
        let limiter = {
            let mut limiters = self.limiters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            limiters
                .entry(per_minute.get())
                .or_insert_with(|| Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))))
                .clone()
        };
        limiter
            .check_key(&key.to_string())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(max_entries: usize, max_bytes: usize) -> OwnedStore<&'static str> {
        OwnedStore::new(Limits {
            max_entries,
            max_bytes,
            ttl: Duration::from_secs(60),
        })
    }

    #[test]
    fn an_entry_is_its_owners_only() {
        let s = store(4, 100);
        assert!(s.insert("alice", "1", "a", 1));
        assert_eq!(s.with("bob", "1", |v| *v), None, "another owner's id reads as absent");
        assert_eq!(s.take("bob", "1"), None);
        assert_eq!(s.with("alice", "1", |v| *v), Some("a"));
        assert_eq!(s.take("alice", "1"), Some("a"));
        assert_eq!(s.with("alice", "1", |v| *v), None);
    }

    #[test]
    fn the_oldest_go_first_at_either_bound() {
        let s = store(2, 10);
        s.insert("o", "1", "a", 4);
        s.insert("o", "2", "b", 4);
        s.insert("o", "3", "c", 4);
        assert_eq!(s.with("o", "1", |v| *v), None, "past two entries");
        s.insert("o", "4", "d", 8);
        assert_eq!(s.with("o", "2", |v| *v), None);
        assert_eq!(s.with("o", "3", |v| *v), None, "past ten bytes");
        assert_eq!(s.with("o", "4", |v| *v), Some("d"));
        assert!(!s.insert("o", "5", "e", 11), "bigger than the store");
        // Replacing an id keeps one entry for it.
        s.insert("o", "4", "D", 2);
        assert_eq!(s.take("o", "4"), Some("D"));
        assert_eq!(s.take("o", "4"), None);
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let s = OwnedStore::new(Limits {
            max_entries: 4,
            max_bytes: 100,
            ttl: Duration::ZERO,
        });
        s.insert("o", "1", "a", 1);
        assert_eq!(s.with("o", "1", |v| *v), None);
    }
}
