//! `petstore-mcp --http` as an OAuth 2.1 resource server, against a real
//! authorization server (oidc-provider, `tests/node/oauth_provider.mjs`):
//! discovery from the 401, audience binding, signature, algorithm, lifetime
//! and issuer checks, key rotation, introspection of opaque tokens, scopes
//! per tool in tools/list and tools/call, per-subject limits, the identity
//! in audit events, and the TypeScript SDK's OAuth client finding its way.

use std::time::{Duration, Instant};

use mcpgen_tests::oauth::{AuthServer, Client, Setup, claims, header, with_header};
use mcpgen_tests::{API_KEY, HttpServer, Recorder, free_port};
use serde_json::{Value, json};

fn http() -> reqwest::Client {
    mcpgen_tests::http_client()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn rpc(url: &str, token: Option<&str>, body: Value) -> reqwest::Response {
    mcpgen_tests::rpc(url, token, body, &[]).await
}

/// A JSON-RPC answer, sent as JSON or as the data of an event stream.
async fn json_of(response: reqwest::Response) -> anyhow::Result<Value> {
    let body = response.text().await?;
    let json = body
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(str::trim)
        .find(|data| data.starts_with('{'))
        .unwrap_or(&body);
    Ok(serde_json::from_str(json)?)
}

fn list() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
}

fn call(tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
}

async fn tool_names(url: &str, token: &str) -> Vec<String> {
    let answer = json_of(rpc(url, Some(token), list()).await).await.unwrap();
    answer["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools in {answer}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

fn challenge(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

const READ_TOOLS: [&str; 3] = ["list_pets", "get_pet_by_id", "get_inventory"];

/// The server's OAuth env: scopes `read`/`write` by annotation, `mcp` for
/// everything, `delete_pet` needing `admin`, no clock leeway.
fn server_env<'a>(issuer: &'a str, audience: &'a str, upstream: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("PETSTORE_BASE_URL", upstream),
        ("PETSTORE_API_KEY", API_KEY),
        ("MCP_OAUTH_ISSUER", issuer),
        ("MCP_OAUTH_AUDIENCE", audience),
        ("MCP_OAUTH_REQUIRED_SCOPES", "mcp"),
        ("MCP_OAUTH_READ_SCOPE", "read"),
        ("MCP_OAUTH_WRITE_SCOPE", "write"),
        ("MCP_OAUTH_TOOL_SCOPES", "delete_pet=admin"),
        ("MCP_OAUTH_LEEWAY", "0"),
        ("MCP_OAUTH_JWKS_MIN_REFRESH", "1"),
        ("RUST_LOG", "info"),
    ]
}

/// Discovery from the 401, then every way a JWT can be wrong, scopes per
/// tool, per-subject rate limits, and the audit trail.
#[tokio::test]
async fn jwt_access_tokens_are_checked_scoped_and_audited() -> anyhow::Result<()> {
    let keys = tempfile::tempdir()?;
    let upstream = Recorder::start().await?;
    let port = free_port();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    let elsewhere = "https://other.example.com/mcp";
    let alice = Client::new("alice", "alice-secret-1", "mcp read write");
    let bob = Client::new("bob", "bob-secret-22", "mcp read");
    let brief = Client {
        ttl: Some(1),
        ..Client::new("brief", "brief-secret-3", "mcp read")
    };
    let clients = [alice, bob, brief];
    let [alice, bob, brief] = &clients;
    let resources = [
        (audience.as_str(), "mcp read write admin"),
        (elsewhere, "mcp read write"),
    ];
    let auth = AuthServer::start(&Setup::new(keys.path(), &clients, &resources))?;
    let mut env = server_env(&auth.issuer, &audience, &upstream.base_url);
    env.push(("MCP_RATE_LIMIT", "4"));
    let server = HttpServer::start_on("petstore-mcp", port, &[], &env)?;

    // No token: 401 naming the metadata, which names the issuer (RFC 9728),
    // and the scopes to ask for first (required and read; more by step-up on a 403).
    let refused = rpc(&server.url, None, list()).await;
    assert_eq!(refused.status(), 401);
    let metadata_url = format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp");
    assert_eq!(
        challenge(&refused),
        format!(r#"Bearer resource_metadata="{metadata_url}", scope="mcp read""#)
    );
    let metadata = json_of(http().get(&metadata_url).send().await?).await?;
    assert_eq!(metadata["resource"], audience.as_str());
    assert_eq!(metadata["authorization_servers"], json!([auth.issuer]));
    assert_eq!(metadata["scopes_supported"], json!(["admin", "mcp", "read", "write"]));
    let root = json_of(
        http()
            .get(format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource"))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(root, metadata);

    // Scopes choose the tools: alice reads and writes, bob only reads; no one has admin.
    let alice_token = auth.token(alice, &audience, "mcp read write").await?;
    let bob_token = auth.token(bob, &audience, "mcp read").await?;
    let alice_tools = tool_names(&server.url, &alice_token).await;
    let bob_tools = tool_names(&server.url, &bob_token).await;
    assert!(alice_tools.contains(&"create_pet".to_string()), "{alice_tools:?}");
    assert!(!alice_tools.contains(&"delete_pet".to_string()), "{alice_tools:?}");
    for tool in READ_TOOLS {
        assert!(bob_tools.contains(&tool.to_string()), "{tool} for bob: {bob_tools:?}");
    }
    assert!(!bob_tools.contains(&"create_pet".to_string()), "{bob_tools:?}");

    // A call outside bob's scopes: 403 naming the scope, and the API never called.
    let before = upstream.requests().len();
    let forbidden = rpc(
        &server.url,
        Some(&bob_token),
        call("create_pet", json!({"name": "Rex"})),
    )
    .await;
    assert_eq!(forbidden.status(), 403);
    let header = challenge(&forbidden);
    assert!(header.contains(r#"error="insufficient_scope""#), "{header}");
    assert!(header.contains(r#"scope="mcp write""#), "{header}");
    assert!(header.contains(&metadata_url), "{header}");
    assert_eq!(upstream.requests().len(), before, "a refused call reached the API");

    // A call inside them reaches the API with the API's key, never the caller's token.
    let answer = rpc(
        &server.url,
        Some(&bob_token),
        call("get_pet_by_id", json!({"petId": 7})),
    )
    .await;
    assert_eq!(answer.status(), 200);
    let sent = upstream.requests();
    let request = sent.last().expect("the call reached the API");
    assert_eq!(request.uri, "/pets/7");
    assert_eq!(request.headers["x-api-key"], API_KEY);
    for (name, value) in &request.headers {
        assert!(
            !value.to_str().unwrap_or("").contains(&bob_token[..40]),
            "the inbound token went upstream in {name}"
        );
    }

    // Tokens that must not pass, each with the reason in the challenge.
    let other_audience = auth.token(alice, elsewhere, "mcp read").await?;
    let no_mcp = auth.token(bob, &audience, "read").await?;
    let brief_token = auth.token(brief, &audience, "mcp read").await?;
    let alg_none = {
        let unsigned = with_header(&alice_token, json!({"alg": "none", "typ": "JWT"}));
        format!("{}.", unsigned.rsplit_once('.').unwrap().0)
    };
    let hmac = with_header(&alice_token, json!({"alg": "HS256", "kid": "k1"}));
    let unknown_kid = with_header(&alice_token, json!({"alg": "RS256", "kid": "nobody"}));
    let tampered = {
        let (head, rest) = alice_token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let mut forged = claims(&alice_token);
        forged["scope"] = json!("mcp read write admin");
        let payload = base64_url(&forged.to_string());
        format!("{head}.{payload}.{signature}")
    };
    tokio::time::sleep(Duration::from_millis(2100)).await; // brief's token expires
    let cases: [(&str, &str, u16, &str); 8] = [
        ("another audience", &other_audience, 401, "for another resource"),
        ("no mcp scope", &no_mcp, 403, r#"scope="mcp""#),
        ("expired", &brief_token, 401, "has expired"),
        ("alg none", &alg_none, 401, "not a JWT this server accepts"),
        ("HMAC with the public key's kid", &hmac, 401, "HS256 are not accepted"),
        ("unknown kid", &unknown_kid, 401, "signing key (kid) is not among"),
        ("claims changed", &tampered, 401, "signature does not verify"),
        ("not a token", "opaque-garbage", 401, "not a JWT"),
    ];
    for (what, token, status, says) in cases {
        let response = rpc(&server.url, Some(token), list()).await;
        let header = challenge(&response);
        assert_eq!(response.status(), status, "{what}: {header}");
        assert!(header.contains(says), "{what}: {header}");
        assert!(header.contains(&metadata_url), "{what}: {header}");
    }

    // Another issuer with the same keys: the signature verifies, `iss` doesn't.
    let impostor = AuthServer::start(&Setup {
        issuer: Some("http://127.0.0.1:9/other-issuer".to_string()),
        ..Setup::new(keys.path(), &clients, &resources)
    })?;
    let foreign = impostor.token(alice, &audience, "mcp read").await?;
    assert_eq!(claims(&foreign)["iss"], "http://127.0.0.1:9/other-issuer");
    let response = rpc(&server.url, Some(&foreign), list()).await;
    assert_eq!(response.status(), 401);
    assert!(
        challenge(&response).contains("not issued by"),
        "{}",
        challenge(&response)
    );

    // Rate limits are per subject: alice's fifth call in the minute is refused, bob's still run.
    let mut limited = None;
    for _ in 0..5 {
        let answer = json_of(rpc(&server.url, Some(&alice_token), call("get_inventory", json!({}))).await).await?;
        if answer["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .starts_with("Rate limit")
        {
            limited = Some(answer);
        }
    }
    assert!(limited.is_some(), "alice was never limited");
    let bobs = json_of(rpc(&server.url, Some(&bob_token), call("get_inventory", json!({}))).await).await?;
    assert!(
        !bobs["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .starts_with("Rate limit"),
        "{bobs}"
    );

    // Legacy sessions (tools/list and tools/call answered by rmcp's handler)
    // show and run only what the caller's scopes allow, too.
    let with_sessions = HttpServer::start_on("petstore-mcp", free_port(), &["--legacy-sessions"], &env)?;
    let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    let opened = rpc(&with_sessions.url, Some(&bob_token), initialize).await;
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"].to_str()?.to_string();
    let in_session = |body: Value| {
        let (url, token, session) = (with_sessions.url.clone(), bob_token.clone(), session.clone());
        async move { mcpgen_tests::rpc(&url, Some(&token), body, &[("mcp-session-id", session.as_str())]).await }
    };
    in_session(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    let listed = json_of(in_session(list()).await).await?;
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"get_pet_by_id") && !names.contains(&"create_pet"),
        "{names:?}"
    );
    assert_eq!(
        in_session(call("create_pet", json!({"name": "Rex"}))).await.status(),
        403
    );
    drop(with_sessions);

    // Audit events name the subject and client; no token is ever logged.
    let (_, stderr) = server.terminate()?;
    assert!(
        stderr.contains(r#"tool="get_pet_by_id""#) && stderr.contains(r#"subject="bob" client_id="bob""#),
        "{stderr}"
    );
    for token in [&alice_token, &bob_token, &brief_token, &other_audience, &foreign] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!stderr.contains(signature), "a token was logged:\n{stderr}");
    }
    Ok(())
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// The issuer rotates its signing key (a restart with a new key first): the
/// server fetches the new key set once for the new `kid`, and made-up kids
/// don't make it fetch again within the refresh interval. Opaque tokens are
/// introspected with the server's own client.
#[tokio::test]
async fn keys_rotate_and_opaque_tokens_are_introspected() -> anyhow::Result<()> {
    let keys = tempfile::tempdir()?;
    let upstream = Recorder::start().await?;
    let port = free_port();
    let auth_port = free_port();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    let clients = [
        Client::new("alice", "alice-secret-1", "mcp read write"),
        Client {
            opaque: true,
            ..Client::new("carol", "carol-secret-4", "mcp read")
        },
        Client::new("petstore-mcp", "server-secret-5", "mcp"),
    ];
    let [alice, carol, _] = &clients;
    let resources = [(audience.as_str(), "mcp read write")];
    let setup = |keys_ids: &'static [&'static str]| Setup {
        port: auth_port,
        keys: keys_ids,
        ..Setup::new(keys.path(), &clients, &resources)
    };
    let auth = AuthServer::start(&setup(&["k1"]))?;
    let mut env = server_env(&auth.issuer, &audience, &upstream.base_url);
    env.extend([
        ("MCP_OAUTH_CLIENT_ID", "petstore-mcp"),
        ("MCP_OAUTH_CLIENT_SECRET", "server-secret-5"),
    ]);
    let server = HttpServer::start_on("petstore-mcp", port, &[], &env)?;

    let first = auth.token(alice, &audience, "mcp read").await?;
    assert_eq!(rpc(&server.url, Some(&first), list()).await.status(), 200);

    // Rotation: k2 signs now (k1 is still published).
    auth.stop();
    let auth = AuthServer::start(&setup(&["k2", "k1"]))?;
    let rotated = auth.token(alice, &audience, "mcp read").await?;
    assert_eq!(header(&first)["kid"], "k1");
    assert_eq!(header(&rotated)["kid"], "k2");
    tokio::time::sleep(Duration::from_millis(1100)).await; // the refresh interval
    let response = rpc(&server.url, Some(&rotated), list()).await;
    assert_eq!(response.status(), 200, "{}", challenge(&response));
    // Made-up key ids, many at once: refused, and at most one more fetch.
    for n in 0..8 {
        let fake = with_header(&rotated, json!({"alg": "RS256", "kid": format!("made-up-{n}")}));
        assert_eq!(rpc(&server.url, Some(&fake), list()).await.status(), 401);
    }

    // Opaque tokens: the issuer says what they are.
    let opaque = auth.token(carol, &audience, "mcp read").await?;
    assert_eq!(opaque.split('.').count(), 1, "carol's tokens are opaque: {opaque}");
    let tools = tool_names(&server.url, &opaque).await;
    assert!(tools.contains(&"get_pet_by_id".to_string()) && !tools.contains(&"create_pet".to_string()));
    let response = rpc(&server.url, Some("0paque-but-unknown-to-the-issuer"), list()).await;
    assert_eq!(response.status(), 401);
    assert!(challenge(&response).contains("not active"), "{}", challenge(&response));

    let (_, stderr) = server.terminate()?;
    let fetches = stderr.matches("fetched the OAuth issuer's keys").count();
    assert!((2..=3).contains(&fetches), "{fetches} key fetches:\n{stderr}");
    assert!(!stderr.contains(&opaque), "a token was logged");
    Ok(())
}

/// The TypeScript SDK's own OAuth client (client credentials), both
/// generations: it gets the 401, reads the protected resource metadata,
/// finds the issuer's token endpoint, asks for a token for this server
/// (RFC 8707), lists the tools its scopes allow, and calls.
#[tokio::test]
async fn typescript_sdk_discovers_the_issuer_from_the_401() -> anyhow::Result<()> {
    let keys = tempfile::tempdir()?;
    let upstream = Recorder::start().await?;
    let port = free_port();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    let clients = [
        Client::new("reader", "reader-secret-6", "mcp read"),
        Client::new("writer", "writer-secret-8", "mcp read write"),
    ];
    let resources = [(audience.as_str(), "mcp read write")];
    let auth = AuthServer::start(&Setup::new(keys.path(), &clients, &resources))?;
    let env = server_env(&auth.issuer, &audience, &upstream.base_url);
    let server = HttpServer::start_on("petstore-mcp", port, &[], &env)?;
    // 1.x speaks 2025-11-25 (answered without rmcp); 2.x negotiates 2026-07-28
    // (through rmcp). 1.x's client-credentials client asks for the scope it is
    // configured with; 2.x for the one the 401 names.
    for (sdk, scope, pet) in [("v1", Some("mcp read"), 3), ("v2", None, 4)] {
        let reader = ("reader", "reader-secret-6", scope);
        let lines = mcpgen_tests::oauth::typescript_client(
            sdk,
            &server.url,
            &auth.issuer,
            reader,
            "get_pet_by_id",
            json!({"petId": pet}),
        )
        .await?;
        let tools: Vec<&str> = lines[0]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            tools.contains(&"get_pet_by_id") && !tools.contains(&"create_pet"),
            "{sdk}: {tools:?}"
        );
        assert_eq!(lines[1]["threw"], Value::Null, "{sdk}: {lines:?}");
        assert_eq!(upstream.count("GET", &format!("/pets/{pet}")), 1, "{sdk}: {lines:?}");
    }
    // Writes: 1.x configured for them; 2.x by step-up (it starts with what the
    // 401 asks for, gets 403 insufficient_scope on the write, asks for the
    // scope that names, and retries).
    for (sdk, scope) in [("v1", Some("mcp read write")), ("v2", None)] {
        let before = upstream.count("POST", "/pets");
        let writer = ("writer", "writer-secret-8", scope);
        let lines = mcpgen_tests::oauth::typescript_client(
            sdk,
            &server.url,
            &auth.issuer,
            writer,
            "create_pet",
            json!({"name": "Rex"}),
        )
        .await?;
        assert_eq!(lines[1]["threw"], Value::Null, "{sdk}: {lines:?}");
        assert_eq!(upstream.count("POST", "/pets"), before + 1, "{sdk}: {lines:?}");
    }
    Ok(())
}

/// Per-user upstream credentials (RFC 8693): each caller's token is
/// exchanged at the issuer for one for the lab API, cached per subject.
/// Two users call interleaved, on one replica and across two; every request
/// the API sees carries its own caller's subject, never the other's, and
/// never the caller's inbound token or the shared env credential.
#[tokio::test]
async fn token_exchange_gives_each_caller_its_own_upstream_token() -> anyhow::Result<()> {
    let keys = tempfile::tempdir()?;
    let upstream = Recorder::start().await?;
    let (port_a, port_b) = (free_port(), free_port());
    // Replicas behind one public URL share its audience.
    let audience = format!("http://127.0.0.1:{port_a}/mcp");
    let lab_api = "https://lab.example.com";
    let server_client = Client {
        exchanges_for: vec![audience.clone()],
        ..Client::new("lab-mcp", "lab-server-secret", "lab")
    };
    let clients = [
        Client::new("alice", "alice-secret-1", "mcp read write"),
        Client::new("bob", "bob-secret-22", "mcp read write"),
        server_client,
        Client::new("mallory", "mallory-secret-7", "lab"),
    ];
    // mallory: a client of the issuer, but not one it lets exchange tokens for this server.
    let [alice, bob, ..] = &clients;
    let resources = [(audience.as_str(), "mcp read write"), (lab_api, "lab")];
    let auth = AuthServer::start(&Setup::new(keys.path(), &clients, &resources))?;
    let lab = mcpgen_tests::lab_env(
        &upstream.base_url,
        "shared-env-credential",
        ("lab-client", "lab-secret"),
    );
    let mut env: Vec<(&str, &str)> = lab.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend([
        ("MCP_OAUTH_ISSUER", auth.issuer.as_str()),
        ("MCP_OAUTH_AUDIENCE", audience.as_str()),
        ("MCP_OAUTH_CLIENT_ID", "lab-mcp"),
        ("MCP_OAUTH_CLIENT_SECRET", "lab-server-secret"),
        ("RUST_LOG", "info"),
    ]);
    let replica_a = HttpServer::start_on("upstream-lab-mcp", port_a, &[], &env)?;
    let replica_b = HttpServer::start_on("upstream-lab-mcp", port_b, &[], &env)?;
    let alice_token = auth.token(alice, &audience, "mcp read").await?;
    let bob_token = auth.token(bob, &audience, "mcp read").await?;

    // Interleaved and concurrent: alice's calls go to /auth/bearer on A and
    // /auth/either on B, bob's the other way round, so each request's path
    // says whose it must be.
    let mut calls = Vec::new();
    for round in 0..4 {
        for (url, token, tool) in [
            (&replica_a.url, &alice_token, "auth_bearer"),
            (&replica_a.url, &bob_token, "auth_either"),
            (&replica_b.url, &alice_token, "auth_either"),
            (&replica_b.url, &bob_token, "auth_bearer"),
        ] {
            let (url, token) = (url.clone(), token.clone());
            calls.push(tokio::spawn(async move {
                let answer = json_of(rpc(&url, Some(&token), call(tool, json!({}))).await).await?;
                anyhow::ensure!(
                    answer["result"]["isError"] != json!(true),
                    "round {round} {tool}: {answer}"
                );
                Ok(())
            }));
        }
    }
    for call in calls {
        call.await??;
    }
    let requests = upstream.requests();
    assert_eq!(requests.len(), 16, "every call reached the API once");
    let mut seen = std::collections::BTreeMap::<(String, String), std::collections::BTreeSet<String>>::new();
    for request in &requests {
        let bearer = request.headers["authorization"]
            .to_str()?
            .strip_prefix("Bearer ")
            .unwrap()
            .to_string();
        assert!(
            !bearer.contains("shared-env-credential"),
            "the env credential went upstream for a caller"
        );
        assert!(
            bearer != alice_token && bearer != bob_token,
            "an inbound token went upstream"
        );
        let claims = claims(&bearer);
        assert_eq!(claims["aud"], lab_api, "{claims}");
        assert_eq!(claims["act"]["sub"], "lab-mcp", "{claims}");
        let subject = claims["sub"].as_str().unwrap().to_string();
        seen.entry((request.uri.clone(), subject))
            .or_default()
            .insert(claims["jti"].to_string());
    }
    // A's /auth/bearer and B's /auth/either are alice's; the others bob's. Each
    // replica exchanged once per caller: two tokens per (path, subject).
    let subjects: Vec<(&str, &str)> = seen.keys().map(|(p, s)| (p.as_str(), s.as_str())).collect();
    assert_eq!(
        subjects,
        [
            ("/auth/bearer", "alice"),
            ("/auth/bearer", "bob"),
            ("/auth/either", "alice"),
            ("/auth/either", "bob")
        ]
    );
    for ((path, subject), tokens) in &seen {
        assert_eq!(
            tokens.len(),
            1,
            "{subject} on {path}: one cached token per replica, got {tokens:?}"
        );
    }
    let alice_tokens: std::collections::BTreeSet<_> = seen
        .iter()
        .filter(|((_, s), _)| s == "alice")
        .flat_map(|(_, t)| t.clone())
        .collect();
    assert_eq!(alice_tokens.len(), 2, "each replica exchanged alice's token once");

    // A replica whose own client (mallory) the issuer doesn't let exchange
    // tokens for this server: the call is an auth error, nothing is sent,
    // nothing leaks.
    let before = upstream.requests().len();
    let mut refused_env = env.clone();
    refused_env.retain(|(k, _)| !k.starts_with("MCP_OAUTH_CLIENT"));
    refused_env.extend([
        ("MCP_OAUTH_CLIENT_ID", "mallory"),
        ("MCP_OAUTH_CLIENT_SECRET", "mallory-secret-7"),
    ]);
    let port_c = free_port();
    let replica_c = HttpServer::start_on("upstream-lab-mcp", port_c, &[], &refused_env)?;
    let answer = json_of(rpc(&replica_c.url, Some(&alice_token), call("auth_bearer", json!({}))).await).await?;
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    let text = answer["result"]["content"][0]["text"].as_str().unwrap_or("");
    assert!(text.contains("refused to exchange"), "{text}");
    assert!(!text.contains(&alice_token[..30]), "{text}");
    assert_eq!(
        upstream.requests().len(),
        before,
        "nothing went upstream without the caller's token"
    );
    Ok(())
}

/// Results, jobs and tasks are readable only by their caller: two OAuth
/// subjects of one issuer, on two replicas of the upstream lab's server
/// sharing a Redis store (each request to the other replica than the last),
/// are each other's strangers on both (`mcpgen_tests::isolation`).
#[tokio::test]
async fn a_subject_cannot_reach_another_subjects_results_jobs_or_tasks() -> anyhow::Result<()> {
    let keys = tempfile::tempdir()?;
    let upstream = Recorder::start().await?;
    let store = mcpgen_tests::replicas::RedisServer::start()?;
    let state = store.url();
    let port = free_port();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    let clients = [
        Client::new("alice", "alice-secret-1", "mcp"),
        Client::new("bob", "bob-secret-22", "mcp"),
        // The server's own client (the lab's `bearer` scheme exchanges tokens; unused here).
        Client::new("lab-server", "lab-server-secret-3", "mcp"),
    ];
    let resources = [(audience.as_str(), "mcp")];
    let auth = AuthServer::start(&Setup::new(keys.path(), &clients, &resources))?;
    let mut env = mcpgen_tests::lab_env(&upstream.base_url, "isolated", mcpgen_tests::faults::OAUTH_CLIENT);
    env.extend(
        [
            ("MCP_OAUTH_ISSUER", auth.issuer.as_str()),
            ("MCP_OAUTH_AUDIENCE", audience.as_str()),
            ("MCP_OAUTH_REQUIRED_SCOPES", "mcp"),
            ("MCP_OAUTH_CLIENT_ID", "lab-server"),
            ("MCP_OAUTH_CLIENT_SECRET", "lab-server-secret-3"),
            ("MCP_STATE", state.as_str()),
            // The lab has a per-user scheme: its credentials are never stored unsealed.
            ("MCP_STATE_KEY", "aXNvbGF0aW9uIHRlc3Qga2V5LCAzMiBieXRlcyEhISE="),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let a = HttpServer::start_on("upstream-lab-mcp", port, &["--result-budget", "20000"], &env)?;
    let b = HttpServer::start_package("upstream-lab-mcp", &["--result-budget", "20000"], &env)?;
    let alice = auth.token(&clients[0], &audience, "mcp").await?;
    let bob = auth.token(&clients[1], &audience, "mcp").await?;
    mcpgen_tests::isolation::check(&[&a.url, &b.url], &upstream, &alice, &bob).await;
    Ok(())
}

/// The edge under abuse, against the real issuer: a token that can't be a
/// token, or junk sent again, costs the issuer nothing; a burst of fresh junk
/// from one address costs it at most MCP_AUTH_RATE_LIMIT introspections and
/// is answered 429 past that, while callers whose tokens verified go on;
/// a scope the caller lacks is the same 403 through a discovery call as
/// through the tool; scrapers read /metrics with their own token, which
/// opens nothing else.
#[tokio::test]
async fn junk_tokens_cost_the_issuer_little_and_callers_that_verified_go_on() -> anyhow::Result<()> {
    const LIMIT: usize = 12;
    let keys = tempfile::tempdir()?;
    let upstream = Recorder::start().await?;
    let port = free_port();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    let clients = [
        Client::new("alice", "alice-secret-1", "mcp read write"),
        Client::new("bob", "bob-secret-22", "mcp read"),
        Client::new("petstore-mcp", "server-secret-5", "mcp"),
    ];
    let [alice, bob, _] = &clients;
    let resources = [(audience.as_str(), "mcp read write")];
    let auth = AuthServer::start(&Setup::new(keys.path(), &clients, &resources))?;
    let limit = LIMIT.to_string();
    let mut env = server_env(&auth.issuer, &audience, &upstream.base_url);
    env.extend([
        ("MCP_OAUTH_CLIENT_ID", "petstore-mcp"),
        ("MCP_OAUTH_CLIENT_SECRET", "server-secret-5"),
        ("MCP_AUTH_RATE_LIMIT", limit.as_str()),
        ("MCP_METRICS_TOKEN", "scrape-token-0123456789"),
        ("MCP_SURFACE", "both"),
    ]);
    let server = HttpServer::start_on("petstore-mcp", port, &[], &env)?;
    let alice_token = auth.token(alice, &audience, "mcp read write").await?;
    let bob_token = auth.token(bob, &audience, "mcp read").await?;
    assert_eq!(rpc(&server.url, Some(&alice_token), list()).await.status(), 200);
    assert_eq!(rpc(&server.url, Some(&bob_token), list()).await.status(), 200);

    // Step-up from either surface: the same 403 naming the same scope.
    let direct = rpc(
        &server.url,
        Some(&bob_token),
        call("create_pet", json!({"name": "Rex"})),
    )
    .await;
    let through_discovery = rpc(
        &server.url,
        Some(&bob_token),
        call(
            "call_write_operation",
            json!({"operation": "create_pet", "arguments": {"name": "Rex"}}),
        ),
    )
    .await;
    assert_eq!(
        (direct.status().as_u16(), through_discovery.status().as_u16()),
        (403, 403)
    );
    assert_eq!(challenge(&direct), challenge(&through_discovery));
    assert!(
        challenge(&through_discovery).contains(r#"scope="mcp write""#),
        "{}",
        challenge(&through_discovery)
    );

    // Scrapers' own token: /metrics, and nothing else.
    let scrape = |token: Option<&'static str>| {
        let mut request = http().get(format!("http://127.0.0.1:{port}/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let answer = rpc(
        &server.url,
        Some(&alice_token),
        call("get_pet_by_id", json!({"petId": 1})),
    )
    .await;
    assert_eq!(answer.status(), 200);
    let metrics = scrape(Some("scrape-token-0123456789")).await?;
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await?;
    assert!(
        text.contains(r#"mcp_tool_calls_total{tool="get_pet_by_id",outcome="ok"} 1"#),
        "{text}"
    );
    assert_eq!(scrape(None).await?.status(), 401);
    assert_eq!(
        rpc(&server.url, Some("scrape-token-0123456789"), list()).await.status(),
        401
    );

    // Not a token at all, and the same junk twice: at most one introspection.
    let introspections = || auth.requests("/token/introspection");
    let before = introspections().await?;
    for junk in ["not a token", "tok\"en", &"x".repeat(9000)] {
        let response = rpc(&server.url, Some(junk), list()).await;
        assert_eq!(response.status(), 401, "{junk:.20}");
        assert!(
            challenge(&response).contains("not an access token"),
            "{}",
            challenge(&response)
        );
    }
    for _ in 0..2 {
        assert_eq!(
            rpc(&server.url, Some("same-junk-0123456789"), list()).await.status(),
            401
        );
    }
    assert_eq!(introspections().await? - before, 1);

    // A burst of fresh junk from one address; alice (verified) goes on throughout.
    let before = introspections().await?;
    let (mut refused, mut limited) = (0, 0);
    for n in 0..60 {
        let response = rpc(&server.url, Some(&format!("junk-{n}-0123456789abcdef")), list()).await;
        match response.status().as_u16() {
            401 => refused += 1,
            429 => {
                let retry: u64 = response.headers()["retry-after"].to_str()?.parse()?;
                assert!((1..=60).contains(&retry), "{retry}");
                limited += 1;
            }
            other => panic!("junk answered {other}"),
        }
        if n % 10 == 0 {
            let answer = rpc(
                &server.url,
                Some(&alice_token),
                call("get_pet_by_id", json!({"petId": 1})),
            )
            .await;
            assert_eq!(answer.status(), 200, "alice was limited by the junk");
        }
    }
    let asked = introspections().await? - before;
    eprintln!("60 junk tokens from one address: {refused} answered 401, {limited} 429, {asked} introspections");
    assert!(asked <= LIMIT as u64, "{asked} introspections for 60 junk tokens");
    assert!(
        refused <= LIMIT && limited >= 60 - LIMIT,
        "{refused} refused, {limited} limited"
    );
    Ok(())
}

/// The issuer down when the server starts, and stopped mid-run: every
/// answer that needs it is a quick 503 with Retry-After (not one wait per
/// request), /readyz says why, tokens already verifiable go on (JWTs with the
/// keys fetched), and it recovers by itself once the issuer is back.
#[tokio::test]
async fn an_unreachable_issuer_is_answered_fast_and_recovered_from() -> anyhow::Result<()> {
    let keys = tempfile::tempdir()?;
    let upstream = Recorder::start().await?;
    let port = free_port();
    let auth_port = free_port();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    let clients = [
        Client::new("alice", "alice-secret-1", "mcp read"),
        Client {
            opaque: true,
            ..Client::new("carol", "carol-secret-4", "mcp read")
        },
        Client::new("petstore-mcp", "server-secret-5", "mcp"),
    ];
    let [alice, carol, _] = &clients;
    let resources = [(audience.as_str(), "mcp read")];
    let setup = Setup {
        port: auth_port,
        ..Setup::new(keys.path(), &clients, &resources)
    };
    let issuer = format!("http://127.0.0.1:{auth_port}");
    let mut env = server_env(&issuer, &audience, &upstream.base_url);
    env.extend([
        ("MCP_OAUTH_CLIENT_ID", "petstore-mcp"),
        ("MCP_OAUTH_CLIENT_SECRET", "server-secret-5"),
    ]);
    let server = HttpServer::start_on("petstore-mcp", port, &[], &env)?;
    let readyz = || async {
        http()
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };

    // Down from the start: quick 503s.
    let mut slowest = Duration::ZERO;
    for _ in 0..8 {
        let started = Instant::now();
        let response = rpc(&server.url, Some("opaque-token-while-down-0123"), list()).await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(response.status(), 503);
        let retry: u64 = response.headers()["retry-after"].to_str()?.parse()?;
        assert!((1..=60).contains(&retry), "{retry}");
    }
    eprintln!("issuer down from the start: slowest of 8 answers {slowest:?}");
    assert!(slowest < Duration::from_secs(2), "slowest answer {slowest:?}");
    let said = readyz().await;
    assert!(said.contains("OAuth issuer is not answering"), "{said}");

    // Back: recovered without a restart, within the backoff.
    let auth = AuthServer::start(&setup)?;
    let token = auth.token(alice, &audience, "mcp read").await?;
    let started = Instant::now();
    while rpc(&server.url, Some(&token), list()).await.status() != 200 {
        assert!(started.elapsed() < Duration::from_secs(30), "not recovered");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!("recovered {:?} after the issuer came back", started.elapsed());
    assert_eq!(readyz().await, "ready\n");

    // Stopped mid-run: a JWT it hasn't seen still verifies with the keys it
    // has; an opaque token (which needs the issuer) gets a quick 503.
    let unseen_jwt = auth.token(alice, &audience, "mcp read").await?;
    let opaque = auth.token(carol, &audience, "mcp read").await?;
    auth.stop();
    assert_eq!(rpc(&server.url, Some(&unseen_jwt), list()).await.status(), 200);
    for _ in 0..4 {
        let started = Instant::now();
        assert_eq!(rpc(&server.url, Some(&opaque), list()).await.status(), 503);
        assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    }
    assert!(readyz().await.contains("OAuth issuer is not answering"));
    Ok(())
}
