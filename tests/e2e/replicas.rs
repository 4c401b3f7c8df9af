//! Replicas that share state: the state store's interface on both backends
//! (the shared one against a real `redis-server`, Debian's package, started
//! here), then a deployment in miniature — three replicas of the upstream
//! lab's server behind stock nginx round-robin, one Redis — where whatever
//! one replica makes, the others serve, the rate limit is the deployment's,
//! and the store or a replica going away mid-run costs only what it must.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use mcpgen_runtime::testing::harness::{Fields, Kind, Limits, RateLimit, Sealer, Store};
use mcpgen_tests::replicas::{Balancer, RedisServer};
use mcpgen_tests::{HttpServer, Recorder, free_port, http_client, rpc};
use serde_json::{Value, json};

/// `redis-cli` (Debian's redis-tools, which redis-server brings) against the
/// store on `port`: what it printed, raw.
fn redis_cli(port: u16, args: &[&str]) -> Vec<u8> {
    let output = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string(), "--raw"])
        .args(args)
        .output()
        .expect("redis-cli runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output.stdout
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
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

fn text(values: Option<Vec<Option<Vec<u8>>>>) -> Option<Vec<Option<String>>> {
    values.map(|v| {
        v.into_iter()
            .map(|f| f.map(|b| String::from_utf8(b).unwrap()))
            .collect()
    })
}

/// What both backends must do alike: entries per owner, read, guarded
/// update and take.
async fn behaves_as_a_store(store: &Store) {
    let record = fields(&[("state", "waiting"), ("body", "B")]);
    assert!(store.put(Kind::Job, "alice", "1", record).await.unwrap());
    let read = store
        .get(Kind::Job, "alice", "1", &["state", "body", "none"])
        .await
        .unwrap();
    assert_eq!(text(read), Some(vec![Some("waiting".into()), Some("B".into()), None]));
    // Another owner's id is the same "not found" as an unknown one.
    assert_eq!(store.get(Kind::Job, "bob", "1", &["state"]).await.unwrap(), None);
    assert_eq!(store.get(Kind::Job, "alice", "2", &["state"]).await.unwrap(), None);
    assert_eq!(
        store.get(Kind::Result, "alice", "1", &["state"]).await.unwrap(),
        None,
        "kinds apart"
    );
    assert_eq!(store.take(Kind::Job, "bob", "1").await.unwrap(), None);
    // Updated unless cancelled; never brought back once taken.
    let update = fields(&[("body", "C")]);
    assert!(
        store
            .set_unless(Kind::Job, "alice", "1", ("state", b"cancelled"), update.clone())
            .await
            .unwrap()
    );
    let cancel = fields(&[("state", "cancelled")]);
    assert!(
        store
            .set_unless(Kind::Job, "alice", "1", ("state", b"cancelled"), cancel)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_unless(Kind::Job, "alice", "1", ("state", b"cancelled"), update.clone())
            .await
            .unwrap()
    );
    let mut taken = store.take(Kind::Job, "alice", "1").await.unwrap().unwrap();
    taken.sort();
    assert_eq!(taken, fields(&[("body", "C"), ("state", "cancelled")]));
    assert_eq!(store.take(Kind::Job, "alice", "1").await.unwrap(), None);
    assert!(
        !store
            .set_unless(Kind::Job, "alice", "1", ("state", b"x"), update)
            .await
            .unwrap()
    );
    // Bigger than the store holds: refused, not stored.
    let huge = vec![("p1".to_string(), vec![b'x'; (1 << 20) + 1])];
    assert!(!store.put(Kind::Result, "alice", "big", huge).await.unwrap());
}

#[tokio::test]
async fn both_backends_keep_entries_per_owner_alike() {
    behaves_as_a_store(&Store::memory(
        limits(Duration::from_secs(60)),
        limits(Duration::from_secs(60)),
    ))
    .await;
    let redis = RedisServer::start().unwrap();
    behaves_as_a_store(&shared(&redis.url(), None, Duration::from_secs(60))).await;
    let sealed = Sealer::from_base64("q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=").unwrap();
    behaves_as_a_store(&shared(&redis.url(), Some(sealed), Duration::from_secs(60))).await;
}

/// Two replicas on one store see each other's entries; entries expire by
/// the store's TTL; sealed values are ciphertext in the store and open only
/// with the key.
#[tokio::test]
async fn replicas_share_entries_that_expire_and_are_sealed_at_rest() {
    let redis = RedisServer::start().unwrap();
    let key = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=";
    let a = shared(
        &redis.url(),
        Some(Sealer::from_base64(key).unwrap()),
        Duration::from_millis(400),
    );
    let b = shared(
        &redis.url(),
        Some(Sealer::from_base64(key).unwrap()),
        Duration::from_millis(400),
    );
    let page = "the secret page text";
    assert!(
        a.put(Kind::Result, "alice", "r1", fields(&[("p1", page)]))
            .await
            .unwrap()
    );
    let read = b.get(Kind::Result, "alice", "r1", &["p1"]).await.unwrap();
    assert_eq!(text(read), Some(vec![Some(page.to_string())]));

    // In the store: a hash under a digest of the owner, its value sealed.
    let keys = String::from_utf8(redis_cli(redis.port, &["KEYS", "mcpgen:test:*"])).unwrap();
    let keys: Vec<&str> = keys.lines().collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with("mcpgen:test:result:") && !keys[0].contains("alice"),
        "{keys:?}"
    );
    let stored = redis_cli(redis.port, &["HGET", keys[0], "p1"]);
    assert!(stored.len() > page.len(), "{stored:?}");
    assert!(!stored.windows(6).any(|w| w == b"secret"), "plaintext at rest");
    let ttl: i64 = String::from_utf8(redis_cli(redis.port, &["PTTL", keys[0]]))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(ttl > 0 && ttl <= 400, "{ttl}");
    // A replica with another key reads nothing, rather than garbage.
    let other = shared(
        &redis.url(),
        Some(Sealer::from_base64(&key.replace('q', "r")).unwrap()),
        Duration::from_secs(1),
    );
    assert_eq!(other.get(Kind::Result, "alice", "r1", &["p1"]).await.unwrap(), None);
    // Rotating the key: a replica with the new key first and the old one after reads what the old
    // sealed, and what it seals is read by a replica that has retired the old key.
    let new_key = key.replace('q', "r");
    let rotated = shared(
        &redis.url(),
        Some(Sealer::from_base64(&format!("{new_key},{key}")).unwrap()),
        Duration::from_secs(1),
    );
    let read = rotated.get(Kind::Result, "alice", "r1", &["p1"]).await.unwrap();
    assert_eq!(text(read), Some(vec![Some(page.to_string())]));
    assert!(
        rotated
            .put(Kind::Result, "alice", "r2", fields(&[("p1", page)]))
            .await
            .unwrap()
    );
    let read = other.get(Kind::Result, "alice", "r2", &["p1"]).await.unwrap();
    assert_eq!(text(read), Some(vec![Some(page.to_string())]));
    assert_eq!(a.get(Kind::Result, "alice", "r2", &["p1"]).await.unwrap(), None);

    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        b.get(Kind::Result, "alice", "r1", &["p1"]).await.unwrap(),
        None,
        "expired"
    );
}

/// The rate limit is the deployment's: calls through either replica count
/// against one quota, on the store's clock.
#[tokio::test]
async fn a_rate_limit_counts_calls_through_every_replica() {
    let redis = RedisServer::start().unwrap();
    let a = RateLimit::new(
        NonZeroU32::new(4).unwrap(),
        shared(&redis.url(), None, Duration::from_secs(60)),
    );
    let b = RateLimit::new(
        NonZeroU32::new(4).unwrap(),
        shared(&redis.url(), None, Duration::from_secs(60)),
    );
    for limit in [&a, &b, &a, &b] {
        assert_eq!(limit.check("token:x").await, Ok(()));
    }
    for limit in [&a, &b] {
        let wait = limit.check("token:x").await.unwrap_err();
        assert!(
            wait > Duration::from_secs(10) && wait <= Duration::from_secs(15),
            "{wait:?}"
        );
    }
    assert_eq!(b.check("token:y").await, Ok(()), "another caller has its own quota");
}

/// The store going away: each operation fails within its bound (then at once
/// for a while), the rate limit counts per replica meanwhile, and once the
/// store is back everything works again without a restart.
#[tokio::test]
async fn a_store_down_fails_fast_and_is_used_again_once_back() {
    let mut redis = RedisServer::start().unwrap();
    let port = redis.port;
    let store = shared(&redis.url(), None, Duration::from_secs(60));
    let limit = RateLimit::new(NonZeroU32::new(2).unwrap(), store.clone());
    assert!(store.put(Kind::Job, "o", "1", fields(&[("state", "w")])).await.unwrap());
    assert!(store.ready().await.is_ok());
    redis.stop();

    let started = Instant::now();
    let down = store.get(Kind::Job, "o", "1", &["state"]).await.unwrap_err();
    // Each operation is bounded (1.5 s); a refused connection fails sooner.
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    // The log's detail names the store; what clients see doesn't.
    assert!(
        down.detail().contains(&format!("127.0.0.1:{port}")),
        "{}",
        down.detail()
    );
    assert!(!down.to_string().contains("127.0.0.1"), "{down}");
    let started = Instant::now();
    assert!(store.ready().await.is_err());
    assert!(store.put(Kind::Job, "o", "2", fields(&[("state", "w")])).await.is_err());
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "fails at once while down: {:?}",
        started.elapsed()
    );
    // Counted on this replica meanwhile: the limit still holds.
    assert_eq!(limit.check("c").await, Ok(()));
    assert_eq!(limit.check("c").await, Ok(()));
    assert!(limit.check("c").await.is_err());

    let _back = RedisServer::start_on(port).unwrap();
    let started = Instant::now();
    loop {
        if store.put(Kind::Job, "o", "3", fields(&[("state", "w")])).await.is_ok() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the store was not used again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(store.ready().await.is_ok());
    // The restarted store kept nothing (no persistence here): an unknown id, not an error.
    assert_eq!(store.get(Kind::Job, "o", "1", &["state"]).await.unwrap(), None);
}

const ALICE: &str = "tok_alice_0123456789";
const BOB: &str = "tok_bob_9876543210";
const CAROL: &str = "tok_carol_5555555555";
/// The deployment's limit, per token per minute.
const RATE_LIMIT: usize = 20;
const STATE_KEY: &str = "Zm9yIHRoZSByZXBsaWNhIHRlc3Qgb25seSwgMzIgYnk=";

/// A replica of the upstream lab's server on `port`, as the generated
/// Deployment runs it: the shared store's URL and key from the environment.
fn replica(port: u16, upstream: &Recorder, state: &str) -> anyhow::Result<HttpServer> {
    let mut env = mcpgen_tests::lab_env(&upstream.base_url, "replicated", mcpgen_tests::faults::OAUTH_CLIENT);
    env.extend(
        [
            ("UPSTREAM_LAB_MCP_TOKENS", format!("{ALICE},{BOB},{CAROL}")),
            ("MCP_STATE", state.to_string()),
            ("MCP_STATE_KEY", STATE_KEY.to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let limit = RATE_LIMIT.to_string();
    HttpServer::start_on(
        "upstream-lab-mcp",
        port,
        &["--result-budget", "20000", "--rate-limit", &limit],
        &env,
    )
}

async fn call(url: &str, token: &str, tool: &str, arguments: Value) -> Value {
    let body =
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}});
    let response = rpc(url, Some(token), body, &[]).await;
    assert_eq!(response.status(), 200);
    let answer: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    answer["result"].clone()
}

async fn read(url: &str, token: &str, uri: &str) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": uri}});
    let response = rpc(url, Some(token), body, &[]).await;
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

fn link_of(result: &Value) -> Option<String> {
    result["content"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "resource_link")
        .and_then(|c| c["uri"].as_str())
        .map(str::to_string)
}

fn text_of(result: &Value) -> String {
    result["content"].to_string()
}

async fn readyz(base: &str, query: &str) -> (u16, String) {
    let response = http_client()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(format!("{base}/readyz{query}"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Three replicas behind nginx round-robin on one Redis (sealed with a key):
/// - everything one caller makes (a result link and its pages, an operation
///   waited on, a task polled and cancelled) is made on one replica and used
///   on the others, and another token is refused on every one of them
///   exactly as for an id nobody made (`mcpgen_tests::isolation`);
/// - the rate limit is the deployment's: RATE_LIMIT calls a minute through
///   all three together, not each;
/// - a replica restarted mid-run loses nothing the store holds;
/// - the store killed mid-run: calls go on, a big result comes as a preview
///   and a note instead of a dead link, /readyz says so, reads say to retry
///   (not that the result is gone), nothing waits past its bound; once the
///   store is back, links work again without restarting anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_one_store_behind_a_round_robin_balancer() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut store = RedisServer::start()?;
    let state = store.url();
    let ports = [free_port(), free_port(), free_port()];
    let mut replicas: Vec<HttpServer> = ports
        .iter()
        .map(|&port| replica(port, &upstream, &state))
        .collect::<Result<_, _>>()?;
    let backends: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let balancer = Balancer::start(&backends)?;
    let url = format!("{}/mcp", balancer.base);

    mcpgen_tests::isolation::check(&[&url], &upstream, ALICE, BOB).await;

    // The deployment's rate limit: through three replicas, RATE_LIMIT calls pass.
    let mut passed = 0;
    let mut refused = Vec::new();
    for _ in 0..RATE_LIMIT + 6 {
        let result = call(&url, CAROL, "get_fault", json!({"kind": "flaky"})).await;
        if text_of(&result).contains("Rate limit") {
            refused.push(result);
        } else {
            passed += 1;
        }
    }
    assert_eq!(passed, RATE_LIMIT, "{refused:?}");
    assert!(text_of(&refused[0]).contains("Retry in"), "{}", refused[0]);

    // A replica restarted: what the store holds outlives it.
    let result = call(&url, ALICE, "get_fault", json!({"kind": "many"})).await;
    let link = link_of(&result).expect("a result link");
    let running = call(&url, ALICE, "start_job", json!({"steps": 9})).await;
    let operation = running["structuredContent"]["operation"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{running}"))
        .to_string();
    drop(replicas.remove(0));
    replicas.insert(0, replica(ports[0], &upstream, &state)?);
    for _ in 0..3 {
        let page = read(&url, ALICE, &format!("{link}/pages/2")).await;
        assert!(page["result"]["contents"][0]["text"].is_string(), "{page}");
    }
    let waited = call(&url, ALICE, "wait_for_operation", json!({"operation": operation})).await;
    assert_eq!(waited["structuredContent"]["status"], "succeeded", "{waited}");

    // The store killed mid-run.
    let store_port = store.port;
    store.stop();
    let started = Instant::now();
    let small = call(&url, ALICE, "get_fault", json!({"kind": "flaky"})).await;
    assert_ne!(small["isError"], true, "{small}");
    let big = call(&url, ALICE, "get_fault", json!({"kind": "many"})).await;
    assert_ne!(big["isError"], true, "{big}");
    assert_eq!(link_of(&big), None, "a dead link: {big}");
    assert!(text_of(&big).contains("could not be held for reading now"), "{big}");
    assert!(
        big["structuredContent"]["items"]
            .as_array()
            .is_some_and(|i| !i.is_empty()),
        "no preview: {big}"
    );
    let unreadable = read(&url, ALICE, &link).await;
    let message = unreadable["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("can't be read now") && message.contains("try again"),
        "{unreadable}"
    );
    assert!(
        !message.contains("not held") && !message.contains("127.0.0.1"),
        "{unreadable}"
    );
    let (status, said) = readyz(&replicas[1].base, "").await;
    assert_eq!(status, 200, "{said}");
    assert!(
        said.contains("degraded") && said.contains("state store is unavailable"),
        "{said}"
    );
    // Unauthenticated, so it doesn't say where the store is (the log does).
    assert!(!said.contains(&format!(":{store_port}")), "{said}");
    assert_eq!(readyz(&replicas[1].base, "?strict").await.0, 503);
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());

    // Back: links work again across replicas, no replica restarted.
    let _store = RedisServer::start_on(store_port)?;
    // Each replica reconnects on its own (after its fail-fast pause): wait, bounded,
    // until every one says it is ready again, rather than for a fixed time.
    let back = Instant::now();
    for replica in &replicas {
        while readyz(&replica.base, "?strict").await.0 != 200 {
            assert!(
                back.elapsed() < Duration::from_secs(20),
                "a replica never saw the store again"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let again = call(&url, ALICE, "get_fault", json!({"kind": "many"})).await;
    let link = link_of(&again).unwrap_or_else(|| panic!("no link once the store is back: {again}"));
    for _ in 0..3 {
        let page = read(&url, ALICE, &link).await;
        assert!(page["result"]["contents"][0]["text"].is_string(), "{page}");
    }
    assert_eq!(readyz(&replicas[2].base, "?strict").await, (200, "ready\n".to_string()));

    // Nothing a replica logged shows the store's key or a token.
    for replica in replicas {
        let (_, stderr) = replica.terminate()?;
        for secret in [STATE_KEY, ALICE, BOB, CAROL] {
            assert!(!stderr.contains(secret), "a replica logged {secret}");
        }
    }
    Ok(())
}
