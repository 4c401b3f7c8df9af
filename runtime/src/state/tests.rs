//! The state store's interface on both backends, the shared one against a
//! real `redis-server` (Debian's package) started here on 127.0.0.1.

use std::num::NonZeroU32;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// A `redis-server` on a free loopback port, without persistence; killed on drop.
pub(crate) struct RedisServer {
    child: Child,
    pub port: u16,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        RedisServer::start_on(port)
    }

    pub fn start_on(port: u16) -> RedisServer {
        let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file())
            .expect("redis-server is not installed (apt-get install redis-server; tests/install.sh does)");
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "redis-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        RedisServer { child, port }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn limits(ttl: Duration) -> Limits {
    Limits {
        max_entries: 100,
        max_bytes: 1 << 20,
        ttl,
    }
}

fn shared(url: &str, sealer: Option<Sealer>, ttl: Duration) -> Store {
    Store::redis(url, "mcpgen:test", sealer, limits(ttl), limits(ttl)).unwrap()
}

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect()
}

fn text(values: Option<Vec<Option<Vec<u8>>>>) -> Option<Vec<Option<String>>> {
    values.map(|v| v.into_iter().map(|f| f.map(|b| String::from_utf8(b).unwrap())).collect())
}

/// What both backends must do alike: entries per owner, read, guarded
/// update and take.
async fn behaves_as_a_store(store: &Store) {
    let record = fields(&[("state", "waiting"), ("body", "B")]);
    assert!(store.put(Kind::Job, "alice", "1", record).await.unwrap());
    let read = store.get(Kind::Job, "alice", "1", &["state", "body", "none"]).await.unwrap();
    assert_eq!(
        text(read),
        Some(vec![Some("waiting".into()), Some("B".into()), None])
    );
    // Another owner's id is the same "not found" as an unknown one.
    assert_eq!(store.get(Kind::Job, "bob", "1", &["state"]).await.unwrap(), None);
    assert_eq!(store.get(Kind::Job, "alice", "2", &["state"]).await.unwrap(), None);
    assert_eq!(store.get(Kind::Result, "alice", "1", &["state"]).await.unwrap(), None, "kinds apart");
    assert_eq!(store.take(Kind::Job, "bob", "1").await.unwrap(), None);
    // Updated unless cancelled; never brought back once taken.
    let update = fields(&[("body", "C")]);
    assert!(store.set_unless(Kind::Job, "alice", "1", ("state", b"cancelled"), update.clone()).await.unwrap());
    let cancel = fields(&[("state", "cancelled")]);
    assert!(store.set_unless(Kind::Job, "alice", "1", ("state", b"cancelled"), cancel).await.unwrap());
    assert!(!store.set_unless(Kind::Job, "alice", "1", ("state", b"cancelled"), update.clone()).await.unwrap());
    let mut taken = store.take(Kind::Job, "alice", "1").await.unwrap().unwrap();
    taken.sort();
    assert_eq!(taken, fields(&[("body", "C"), ("state", "cancelled")]));
    assert_eq!(store.take(Kind::Job, "alice", "1").await.unwrap(), None);
    assert!(!store.set_unless(Kind::Job, "alice", "1", ("state", b"x"), update).await.unwrap());
    // Bigger than the store holds: refused, not stored.
    let huge = vec![("p1".to_string(), vec![b'x'; (1 << 20) + 1])];
    assert!(!store.put(Kind::Result, "alice", "big", huge).await.unwrap());
}

#[tokio::test]
async fn both_backends_keep_entries_per_owner_alike() {
    behaves_as_a_store(&Store::memory(limits(Duration::from_secs(60)), limits(Duration::from_secs(60)))).await;
    let redis = RedisServer::start();
    behaves_as_a_store(&shared(&redis.url(), None, Duration::from_secs(60))).await;
    let sealed = Sealer::from_base64("q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=").unwrap();
    behaves_as_a_store(&shared(&redis.url(), Some(sealed), Duration::from_secs(60))).await;
}

/// Two replicas on one store see each other's entries; entries expire by
/// the store's TTL; sealed values are ciphertext in the store and open only
/// with the key.
#[tokio::test]
async fn replicas_share_entries_that_expire_and_are_sealed_at_rest() {
    crate::tls::install_crypto_provider();
    let redis = RedisServer::start();
    let key = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=";
    let a = shared(&redis.url(), Some(Sealer::from_base64(key).unwrap()), Duration::from_millis(400));
    let b = shared(&redis.url(), Some(Sealer::from_base64(key).unwrap()), Duration::from_millis(400));
    let page = "the secret page text";
    assert!(a.put(Kind::Result, "alice", "r1", fields(&[("p1", page)])).await.unwrap());
    let read = b.get(Kind::Result, "alice", "r1", &["p1"]).await.unwrap();
    assert_eq!(text(read), Some(vec![Some(page.to_string())]));

    // In the store: a hash under a digest of the owner, its value sealed.
    let client = ::redis::Client::open(redis.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = ::redis::cmd("KEYS").arg("mcpgen:test:*").query_async(&mut raw).await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("mcpgen:test:result:") && !keys[0].contains("alice"), "{keys:?}");
    let stored: Vec<u8> = ::redis::cmd("HGET").arg(&keys[0]).arg("p1").query_async(&mut raw).await.unwrap();
    assert!(!stored.windows(6).any(|w| w == b"secret"), "plaintext at rest");
    let ttl: i64 = ::redis::cmd("PTTL").arg(&keys[0]).query_async(&mut raw).await.unwrap();
    assert!(ttl > 0 && ttl <= 400, "{ttl}");
    // A replica with another key reads nothing, rather than garbage.
    let other = shared(&redis.url(), Some(Sealer::from_base64(&key.replace('q', "r")).unwrap()), Duration::from_secs(1));
    assert_eq!(other.get(Kind::Result, "alice", "r1", &["p1"]).await.unwrap(), None);

    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(b.get(Kind::Result, "alice", "r1", &["p1"]).await.unwrap(), None, "expired");
}

/// The rate limit is the deployment's: calls through either replica count
/// against one quota, on the store's clock.
#[tokio::test]
async fn a_rate_limit_counts_calls_through_every_replica() {
    let redis = RedisServer::start();
    let a = RateLimit::new(NonZeroU32::new(4).unwrap(), shared(&redis.url(), None, Duration::from_secs(60)));
    let b = RateLimit::new(NonZeroU32::new(4).unwrap(), shared(&redis.url(), None, Duration::from_secs(60)));
    for limit in [&a, &b, &a, &b] {
        assert_eq!(limit.check("token:x").await, Ok(()));
    }
    for limit in [&a, &b] {
        let wait = limit.check("token:x").await.unwrap_err();
        assert!(wait > Duration::from_secs(10) && wait <= Duration::from_secs(15), "{wait:?}");
    }
    assert_eq!(b.check("token:y").await, Ok(()), "another caller has its own quota");
}

/// The store going away: each operation fails within its bound (then at once
/// for a while), the rate limit counts per replica meanwhile, and once the
/// store is back everything works again without a restart.
#[tokio::test]
async fn a_store_down_fails_fast_and_is_used_again_once_back() {
    let mut redis = RedisServer::start();
    let port = redis.port;
    let store = shared(&redis.url(), None, Duration::from_secs(60));
    let limit = RateLimit::new(NonZeroU32::new(2).unwrap(), store.clone());
    assert!(store.put(Kind::Job, "o", "1", fields(&[("state", "w")])).await.unwrap());
    assert!(store.ready().await.is_ok());
    redis.stop();

    let started = Instant::now();
    let down = store.get(Kind::Job, "o", "1", &["state"]).await.unwrap_err();
    assert!(started.elapsed() < redis::OP_TIMEOUT + Duration::from_millis(500), "{:?}", started.elapsed());
    assert!(down.to_string().contains(&format!("127.0.0.1:{port}")), "{down}");
    let started = Instant::now();
    assert!(store.ready().await.is_err());
    assert!(store.put(Kind::Job, "o", "2", fields(&[("state", "w")])).await.is_err());
    assert!(started.elapsed() < Duration::from_millis(100), "fails at once while down: {:?}", started.elapsed());
    // Counted on this replica meanwhile: the limit still holds.
    assert_eq!(limit.check("c").await, Ok(()));
    assert_eq!(limit.check("c").await, Ok(()));
    assert!(limit.check("c").await.is_err());

    let _back = RedisServer::start_on(port);
    let started = Instant::now();
    loop {
        if store.put(Kind::Job, "o", "3", fields(&[("state", "w")])).await.is_ok() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the store was not used again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(store.ready().await.is_ok());
    // The restarted store kept nothing (no persistence here): an unknown id, not an error.
    assert_eq!(store.get(Kind::Job, "o", "1", &["state"]).await.unwrap(), None);
}
