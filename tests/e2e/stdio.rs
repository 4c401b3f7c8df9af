//! The generated `petstore-mcp` over stdio, driven by real MCP clients
//! (rmcp's client, the official Python SDK, and raw JSON-RPC lines) against
//! a Prism mock that rejects requests violating the spec, and against a
//! recording upstream for byte-exact request checks.

use std::process::Stdio;
use std::time::Duration;

use mcpgen_tests::{API_KEY, Prism, Recorder, petstore_binary, python_client, workspace_root};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn server_command(base_url: &str, extra_args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(petstore_binary());
    cmd.args(extra_args)
        .env_clear()
        .env("PETSTORE_BASE_URL", base_url)
        .env("PETSTORE_API_KEY", API_KEY)
        .env("RUST_LOG", "info")
        .kill_on_drop(true);
    cmd
}

async fn connect(base_url: &str, extra_args: &[&str]) -> anyhow::Result<RunningService<RoleClient, ()>> {
    let (transport, _stderr) = TokioChildProcess::builder(server_command(base_url, extra_args))
        .stderr(Stdio::null())
        .spawn()?;
    Ok(tokio::time::timeout(Duration::from_secs(20), ().serve(transport)).await??)
}

async fn call(client: &RunningService<RoleClient, ()>, tool: &str, args: Value) -> anyhow::Result<CallToolResult> {
    let params =
        CallToolRequestParams::new(tool.to_string()).with_arguments(args.as_object().cloned().unwrap_or_default());
    Ok(tokio::time::timeout(Duration::from_secs(30), client.call_tool(params)).await??)
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn prism() -> Prism {
    Prism::start(&workspace_root().join("examples/petstore/openapi.yaml")).expect("Prism starts")
}

#[tokio::test]
async fn rmcp_client_against_prism() -> anyhow::Result<()> {
    let prism = prism();
    let client = connect(&prism.base_url, &[]).await?;

    let info = client.peer_info().expect("initialized");
    assert_eq!(info.server_info.as_ref().map(|i| i.name.as_str()), Some("petstore-mcp"));

    let tools = client.list_all_tools().await?;
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names.len(), 16, "{names:?}");
    assert!(names.contains(&"get_pet_by_id") && !names.contains(&"delete_user"));
    let create = tools.iter().find(|t| t.name == "create_pet").unwrap();
    assert_eq!(create.input_schema["required"], json!(["name"]));
    assert_eq!(
        create.input_schema["properties"]["status"]["enum"],
        json!(["available", "pending", "sold"])
    );
    // Absent readOnlyHint means false; whether a writing tool is destructive is always said.
    let hints = create.annotations.as_ref().unwrap();
    assert_eq!((hints.read_only_hint, hints.destructive_hint), (None, Some(false)));
    let users = tools.iter().find(|t| t.name == "list_users").unwrap();
    assert!(
        users.input_schema["properties"].get("per_page").is_none(),
        "fixed in mcpgen.yaml, so hidden"
    );
    let pets = tools.iter().find(|t| t.name == "list_pets").unwrap();
    assert_eq!(pets.input_schema["properties"]["limit"]["default"], 10);

    // GET with a path parameter.
    let pet = call(&client, "get_pet_by_id", json!({"petId": 1})).await?;
    assert_eq!(pet.is_error, Some(false), "{}", text(&pet));
    assert_eq!(pet.structured_content.as_ref().unwrap()["name"], "Rex");
    assert_eq!(serde_json::from_str::<Value>(&text(&pet))?["id"], 1);

    // GET with query parameters (an exploded array among them).
    let pets = call(
        &client,
        "list_pets",
        json!({"status": "available", "tags": ["friendly", "calm"], "limit": 5}),
    )
    .await?;
    assert_eq!(pets.is_error, Some(false), "{}", text(&pets));
    // Detected offset pagination: one page shorter than `limit` is the whole list.
    let listed = pets.structured_content.as_ref().unwrap();
    assert_eq!(
        (listed["items"][1]["name"].clone(), listed["complete"].clone()),
        (json!("Tom"), json!(true))
    );

    // A non-exploded array and a header parameter reach Prism in the spec's form.
    let found = call(&client, "find_pets_by_tags", json!({"tags": ["friendly", "calm"]})).await?;
    assert_eq!(found.is_error, Some(false), "{}", text(&found));
    let deleted = call(&client, "delete_pet", json!({"petId": 4, "X-Reason": "adopted"})).await?;
    assert_eq!(deleted.is_error, Some(false), "{}", text(&deleted));
    assert_eq!(deleted.structured_content.as_ref().unwrap()["status"], 204);

    // POST with a JSON body assembled from flattened arguments.
    let created = call(
        &client,
        "create_pet",
        json!({"name": "Bella", "category": "dog", "tags": ["puppy"]}),
    )
    .await?;
    assert_eq!(created.is_error, Some(false), "{}", text(&created));
    assert_eq!(created.structured_content.as_ref().unwrap()["id"], 3);
    let order = call(
        &client,
        "place_order",
        json!({"petId": 1, "quantity": 2, "Idempotency-Key": "k-1"}),
    )
    .await?;
    assert_eq!(order.is_error, Some(false), "{}", text(&order));

    // Bad arguments: a tool error naming the argument.
    let bad = call(&client, "get_pet_by_id", json!({"petId": "seven"})).await?;
    assert_eq!(bad.is_error, Some(true));
    assert!(
        text(&bad).contains("`/petId`") && text(&bad).contains("nothing was sent"),
        "{}",
        text(&bad)
    );
    let missing = call(&client, "create_pet", json!({})).await?;
    assert_eq!(missing.is_error, Some(true));
    assert!(
        text(&missing).contains("\"name\" is a required property"),
        "{}",
        text(&missing)
    );

    // Prism rejects what the spec forbids (format: date-time) with 422: a tool error.
    let rejected = call(&client, "list_orders", json!({"since": "last tuesday"})).await?;
    assert_eq!(rejected.is_error, Some(true));
    let structured = rejected.structured_content.as_ref().unwrap();
    assert_eq!(structured["status"], 422);
    assert_eq!(structured["request"], "GET /store/orders");
    assert!(
        text(&rejected).contains("422 Unprocessable Entity"),
        "{}",
        text(&rejected)
    );

    // Unknown tools are protocol errors, not tool results.
    let unknown = client.call_tool(CallToolRequestParams::new("no_such_tool")).await;
    assert!(unknown.is_err());

    client.cancel().await?;
    Ok(())
}

#[tokio::test]
async fn python_sdk_client_against_prism() -> anyhow::Result<()> {
    let prism = prism();
    let binary = petstore_binary();
    let args = ["stdio", binary.to_str().expect("UTF-8 path"), &prism.base_url, API_KEY];
    let (stdout, stderr) = python_client(&args).await?;
    assert!(stdout.contains("23 passed, 0 failed"), "{stdout}");
    assert!(!stderr.contains(API_KEY), "the server logged the API key");
    Ok(())
}

/// The discovery surface through the Python SDK: search → describe → call,
/// the read-only call tool refusing a write, a misspelt name getting the closest.
#[tokio::test]
async fn python_sdk_discovery_surface_against_prism() -> anyhow::Result<()> {
    let prism = prism();
    let binary = petstore_binary();
    let args = [
        "discovery",
        binary.to_str().expect("UTF-8 path"),
        &prism.base_url,
        API_KEY,
    ];
    let (stdout, _) = python_client(&args).await?;
    assert!(stdout.contains("15 passed, 0 failed"), "{stdout}");
    Ok(())
}

#[tokio::test]
async fn requests_are_exactly_as_the_spec_says() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let client = connect(&format!("{}/v1/", upstream.base_url), &[]).await?;

    let result = call(
        &client,
        "list_pets",
        json!({"tags": ["a b", "c&d=e"], "status": "sold"}),
    )
    .await?;
    assert_eq!(result.is_error, Some(false), "{}", text(&result));
    // mcpgen.yaml fixes per_page (hidden from the model) and defaults limit.
    let result = call(&client, "list_users", json!({"page": 2})).await?;
    assert_eq!(result.is_error, Some(false), "{}", text(&result));
    let result = call(&client, "find_pets_by_tags", json!({"tags": ["x", "y,z"]})).await?;
    assert_eq!(result.is_error, Some(false), "{}", text(&result));
    let result = call(
        &client,
        "add_pet_note",
        json!({"petId": 9, "text": "Fed at 8am.", "author": "sam"}),
    )
    .await?;
    assert_eq!(result.is_error, Some(false), "{}", text(&result));

    let seen = upstream.requests();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0].uri, "/v1/pets?status=sold&tags=a%20b&tags=c%26d%3De&limit=10");
    assert_eq!(seen[1].uri, "/v1/users?page=2&per_page=50");
    assert_eq!(seen[2].uri, "/v1/pets/findByTags?tags=x,y%2Cz");
    assert_eq!(
        (seen[3].method.as_str(), seen[3].uri.as_str()),
        ("POST", "/v1/pets/9/notes")
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&seen[3].body)?,
        json!({"text": "Fed at 8am.", "author": "sam"})
    );
    assert_eq!(seen[3].headers["content-type"], "application/json");
    for request in &seen {
        assert_eq!(
            request.headers["x-api-key"], API_KEY,
            "the API key reaches the upstream"
        );
        assert!(request.headers.get("authorization").is_none());
    }

    // Invalid arguments never reach the upstream.
    let bad = call(&client, "get_pet_by_id", json!({"petId": 0})).await?;
    assert_eq!(bad.is_error, Some(true));
    assert!(text(&bad).contains("minimum of 1"), "{}", text(&bad));
    let injected = call(
        &client,
        "delete_pet",
        json!({"petId": 1, "X-Reason": "x\r\nX-Admin: yes"}),
    )
    .await?;
    assert_eq!(injected.is_error, Some(true));
    assert!(text(&injected).contains("line breaks"), "{}", text(&injected));
    assert_eq!(upstream.requests().len(), 4, "nothing was sent for invalid arguments");
    // A hidden argument is not in the schema, so the model can't set it.
    let hidden = call(&client, "list_users", json!({"per_page": 500})).await?;
    assert_eq!(hidden.is_error, Some(true));
    assert!(text(&hidden).contains("per_page"), "{}", text(&hidden));

    client.cancel().await?;
    Ok(())
}

#[tokio::test]
async fn upstream_failures_become_tool_errors_without_secrets() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;

    let client = connect(&format!("{}/fail", upstream.base_url), &[]).await?;
    let failed = call(&client, "get_inventory", json!({})).await?;
    assert_eq!(failed.is_error, Some(true));
    // The error's structured content obeys the output schema (a map of integers):
    // `status` stays, the API's body and the error's kind (not integers) are left
    // to the text, which carries every detail.
    let structured = failed.structured_content.clone().unwrap();
    assert_eq!(structured["status"], 500);
    assert!(
        structured.get("body").is_none() && structured.get("error").is_none(),
        "{structured}"
    );
    assert!(
        text(&failed).contains("database unavailable") && text(&failed).contains("retrying later may help"),
        "{}",
        text(&failed)
    );
    client.cancel().await?;

    // The upstream echoes the key back: the model sees it masked.
    let client = connect(&format!("{}/echo-key", upstream.base_url), &[]).await?;
    let echoed = call(&client, "get_inventory", json!({})).await?;
    assert_eq!(echoed.is_error, Some(true));
    assert!(
        !text(&echoed).contains(API_KEY) && text(&echoed).contains("[REDACTED]"),
        "{}",
        text(&echoed)
    );
    assert!(!echoed.structured_content.unwrap().to_string().contains(API_KEY));
    client.cancel().await?;

    // A slow upstream hits the per-request timeout instead of hanging the call.
    let client = connect(&format!("{}/slow", upstream.base_url), &["--upstream-timeout", "0.5"]).await?;
    let started = std::time::Instant::now();
    let slow = call(&client, "get_inventory", json!({})).await?;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(slow.is_error, Some(true));
    assert!(
        text(&slow).contains("the API did not answer in time"),
        "{}",
        text(&slow)
    );
    // `error: "timeout"` is no integer: the output schema leaves it to the text.
    assert_eq!(slow.structured_content.unwrap().get("error"), None);
    client.cancel().await?;

    // Nothing listens: a connection error, also a tool error.
    let closed = format!("http://127.0.0.1:{}", mcpgen_tests::free_port());
    let client = connect(&closed, &[]).await?;
    let refused = call(&client, "get_inventory", json!({})).await?;
    assert_eq!(refused.is_error, Some(true));
    assert!(
        text(&refused).contains("could not connect to the API"),
        "{}",
        text(&refused)
    );
    client.cancel().await?;
    Ok(())
}

/// `RUST_LOG=debug` makes rmcp log every request it receives, arguments and
/// all: the log still never shows a credential, whoever wrote the line.
#[tokio::test]
async fn debug_logs_pass_through_the_redactor() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut command = server_command(&upstream.base_url, &[]);
    command.env("RUST_LOG", "debug");
    let (transport, stderr) = TokioChildProcess::builder(command).stderr(Stdio::piped()).spawn()?;
    let mut stderr = stderr.expect("piped");
    let reading = tokio::spawn(async move {
        let mut text = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text).await;
        text
    });
    let client = tokio::time::timeout(Duration::from_secs(20), ().serve(transport)).await??;
    // The model pastes the API key into an argument.
    let result = call(&client, "find_pets_by_tags", json!({"tags": [API_KEY]})).await?;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    client.cancel().await?;
    let log = tokio::time::timeout(Duration::from_secs(10), reading).await??;
    assert!(log.contains("find_pets_by_tags"), "debug lines were written: {log}");
    assert!(!log.contains(API_KEY), "a credential reached the log:\n{log}");
    assert!(log.contains("[REDACTED]"), "{log}");
    Ok(())
}

/// Raw JSON-RPC over the pipes: every stdout line must be a protocol frame.
#[tokio::test]
async fn stdout_carries_only_protocol_frames() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut child = server_command(&upstream.base_url, &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().unwrap();
    let frames = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "get_pet_by_id", "arguments": {"petId": 5}}}),
    ];
    for frame in &frames {
        stdin.write_all(format!("{frame}\n").as_bytes()).await?;
    }
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut responses = Vec::new();
    while responses.len() < 3 {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await??
            .expect("server closed stdout early");
        let frame: Value =
            serde_json::from_str(&line).map_err(|e| anyhow::anyhow!("non-protocol stdout line {line:?}: {e}"))?;
        assert_eq!(frame["jsonrpc"], "2.0", "{line}");
        if frame.get("id").is_some() {
            responses.push(frame);
        }
    }
    drop(stdin); // EOF: the server must exit on its own.
    while let Some(line) = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await?? {
        let frame: Value =
            serde_json::from_str(&line).map_err(|e| anyhow::anyhow!("non-protocol stdout line {line:?}: {e}"))?;
        assert_eq!(frame["jsonrpc"], "2.0");
    }
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await??;
    assert!(status.success(), "{status}");

    // Answers come as they are ready (tools/list, answered by the transport, may overtake initialize's).
    responses.sort_by_key(|r| r["id"].as_u64());
    assert_eq!(responses[0]["result"]["serverInfo"]["name"], "petstore-mcp");
    let tools = responses[1]["result"]["tools"].as_array().expect("a tool list");
    assert_eq!(tools.len(), 16);
    // `mcpgen list` predicts each tool's tools/list entry to the byte.
    let listing = mcpgen::commands::list::list(Some(&workspace_root().join("examples/petstore/mcpgen.yaml")), None)?;
    for tool in tools {
        let row = listing
            .operations
            .iter()
            .find(|r| r.tool == tool["name"])
            .expect("listed");
        assert_eq!(row.bytes, Some(tool.to_string().len()), "{}", tool["name"]);
    }
    assert_eq!(responses[2]["result"]["structuredContent"]["uri"], "/pets/5");
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).await?;
    assert!(stderr.contains("tool call") && !stderr.contains(API_KEY), "{stderr}");
    Ok(())
}

#[test]
fn missing_env_vars_are_all_named_at_start() {
    let output = std::process::Command::new(petstore_binary())
        .env_clear()
        .env("PETSTORE_BASE_URL", "not a url")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "stdout must stay clean");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("PETSTORE_BASE_URL: `not a url` is not a valid URL"),
        "{stderr}"
    );
    assert!(stderr.contains("PETSTORE_API_KEY is not set"), "{stderr}");
}

/// The edge-cases server: bearer auth, a form body, a cookie, a label-style
/// path array, deepObject with a configured default, and a server variable.
#[tokio::test]
async fn edge_cases_reach_the_wire_as_specified() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut cmd = tokio::process::Command::new(mcpgen_tests::built_binary("edge-cases-mcp"));
    cmd.env_clear()
        .env("EDGE_CASES_BASE_URL", &upstream.base_url)
        .env("EDGE_TOKEN", "tok_edge_123")
        .kill_on_drop(true);
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(Stdio::null()).spawn()?;
    let client = tokio::time::timeout(Duration::from_secs(20), ().serve(transport)).await??;

    let form = "submit_the_form_with_a_very_long_operation_id_that_goes_3dab58bd";
    let result = call(
        &client,
        form,
        json!({"form_id": [4, 5], "session": "s 1;x", "email": "a@b.c", "form_id_body": "f"}),
    )
    .await?;
    assert_eq!(result.is_error, Some(false), "{}", text(&result));
    let result = call(&client, "edit_item", json!({"id": "a/b", "type": "a", "self": true})).await?;
    assert_eq!(result.is_error, Some(false), "{}", text(&result));

    let seen = upstream.requests();
    assert_eq!(seen[0].uri, "/forms/.4,5/submissions");
    assert_eq!(seen[0].headers["authorization"], "Bearer tok_edge_123");
    assert_eq!(seen[0].headers["cookie"], "session=s%201%3Bx");
    assert_eq!(seen[0].headers["content-type"], "application/x-www-form-urlencoded");
    assert_eq!(String::from_utf8_lossy(&seen[0].body), "email=a%40b.c&form_id=f");
    // `filter[kind]` has a deepObject default from mcpgen.yaml; `id` stays one segment.
    assert_eq!(seen[1].uri, "/items/a%2Fb?filter%5Bkind%5D[kind]=plain");
    assert_eq!(
        serde_json::from_slice::<Value>(&seen[1].body)?,
        json!({"type": "a", "self": true})
    );
    client.cancel().await?;
    Ok(())
}

/// The upstream lab's tool table, to build a server in-process around it.
#[path = "../fixtures/upstream-lab/upstream-lab-mcp/src/tools.rs"]
// Generated code, formatted by mcpgen: rustfmt must leave it as it is.
#[rustfmt::skip]
mod lab;

/// A bug that panics inside a call answers that call with an error, is
/// audited, and leaves the server serving: the next calls are answered.
#[tokio::test]
async fn a_call_that_panics_is_answered_and_the_server_serves_on() -> anyhow::Result<()> {
    use mcpgen_runtime::{CustomTool, Extensions};
    let buggy = CustomTool::new(
        "buggy",
        "Panics: a bug in hand-written code.",
        json!({"type": "object"}),
        |_args| async move {
            let empty: Vec<u8> = Vec::new();
            Ok(json!(empty[3]))
        },
    );
    let spec = &lab::SERVER;
    let server = mcpgen_runtime::testing::offline_server(
        spec,
        &Extensions::new().tool(buggy),
        Default::default(),
        &Default::default(),
    );
    let metrics = server.metrics().clone();
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let serving = tokio::spawn(async move {
        let running = server.serve(server_end).await.expect("the server starts");
        let _ = running.waiting().await;
    });
    let client = ().serve(client_end).await?;
    for _ in 0..2 {
        let result = call(&client, "buggy", json!({})).await?;
        assert_eq!(result.is_error, Some(true));
        assert!(
            text(&result).contains("failed inside the MCP server"),
            "{}",
            text(&result)
        );
    }
    let listed = client.list_all_tools().await?;
    // `buggy`, and `wait_for_operation` for the lab's long-running operations.
    assert_eq!(listed.len(), spec.tools.len() + 2);
    let other = call(&client, "json_body", json!({"name": 5})).await?;
    assert!(text(&other).contains("Invalid arguments"), "{}", text(&other));
    assert!(
        metrics
            .render()
            .contains(r#"mcp_tool_calls_total{tool="buggy",outcome="internal_error"} 2"#),
        "{}",
        metrics.render()
    );
    client.cancel().await?;
    serving.abort();
    Ok(())
}
