//! The fuzz targets' bodies: what each does with an input, and the
//! invariant it checks (a panic is what the fuzzer reports). `fuzz_targets/`
//! wraps each for libFuzzer (`fuzz/run.sh` builds them with coverage and runs
//! them); `tests/replay.rs` runs the committed corpora and every crash kept
//! in `fuzz/regressions/` through them on every test run.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use mcpgen_runtime::testing::harness::Redactor;
use mcpgen_runtime::testing::harness::Tool;
use mcpgen_runtime::testing::harness::prepare;
use mcpgen_runtime::testing::harness::{Config, Secret};
use serde_json::{Value, json};
use url::Url;

/// The upstream lab's tool table: every parameter style, body type and
/// credential kind the runtime serializes.
#[path = "../../tests/fixtures/upstream-lab/upstream-lab-mcp/src/tools.rs"]
// Generated code, formatted by mcpgen: rustfmt must leave it as it is.
#[rustfmt::skip]
mod lab;

/// What a target does with one input.
pub type Target = fn(&[u8]);

/// Every target, by name (the name of its binary and corpus directory).
pub const TARGETS: &[(&str, Target)] = &[
    ("spec_json", spec_json),
    ("spec_yaml", spec_yaml),
    ("schema", schema),
    ("selection", selection),
    ("arguments", arguments),
    ("redaction", redaction),
    ("stdio_frames", stdio_frames),
    ("http_frames", http_frames),
];

/// The input every target crashes on when `MCPGEN_FUZZ_PLANT` is set: CI
/// plants it (`MCPGEN_FUZZ_PLANT=1 fuzz/run.sh`) to show that a crash fails
/// the fuzzing stage. Without the variable it is an input like any other.
pub const PLANTED_CRASH: &[u8] = b"mcpgen: a planted crash";

/// Panics on [`PLANTED_CRASH`] when `MCPGEN_FUZZ_PLANT` is set; called first
/// by each libFuzzer target (not by the replay, which never sets it).
pub fn planted_crash(data: &[u8]) {
    static PLANTED: OnceLock<bool> = OnceLock::new();
    if data == PLANTED_CRASH && *PLANTED.get_or_init(|| std::env::var_os("MCPGEN_FUZZ_PLANT").is_some()) {
        panic!("the planted crash (MCPGEN_FUZZ_PLANT is set)");
    }
}

/// A spec document as JSON through every stage of `mcpgen generate --check`
/// (load, resolve, select, plan, self-check, render, format): a result or
/// diagnostics, never a panic nor an `Error::Bug`.
pub fn spec_json(data: &[u8]) {
    generate(data, "openapi.json");
}

/// The same, as YAML.
pub fn spec_yaml(data: &[u8]) {
    generate(data, "openapi.yaml");
}

/// Any JSON value as the schema of a path and a query parameter, a request
/// body, a response and a component, in OpenAPI 3.0 and 3.1: the schema
/// normalizer and the self-check on every position.
pub fn schema(data: &[u8]) {
    let Ok(schema) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for version in ["3.0.3", "3.1.0"] {
        let spec = json!({
            "openapi": version,
            "info": {"title": "fuzz", "version": "1"},
            "paths": {"/items/{id}": {"post": {
                "operationId": "op",
                "parameters": [
                    {"name": "id", "in": "path", "required": true, "schema": schema},
                    {"name": "q", "in": "query", "schema": schema}
                ],
                "requestBody": {"content": {"application/json": {"schema": schema}}},
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}
            }}},
            "components": {"schemas": {"S": schema}}
        });
        generate(spec.to_string().as_bytes(), "openapi.json");
    }
}

fn generate(spec: &[u8], name: &str) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join(name), spec).expect("the spec written");
    let config = dir.path().join("mcpgen.yaml");
    let selection = format!("spec: {name}\noutput: out\nserver:\n  name: fuzz-mcp\nmax_tools: 100000\n");
    std::fs::write(&config, selection).expect("the selection file written");
    // Diagnostics and a stale `--check` are answers; a bug (invalid Rust
    // emitted, a template failure) is a finding like a panic.
    if let Err(mcpgen::diag::Error::Bug(bug)) = mcpgen::generate(&config, true, false) {
        panic!("mcpgen reported a bug on this spec: {bug}");
    }
}

/// A selection file: parsed or refused with diagnostics, never a panic.
pub fn selection(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = mcpgen::select::config::parse("mcpgen.yaml", text);
    }
}

/// A tool call's arguments (JSON after a first byte that picks one of the
/// lab's tools), validated and serialized into a request whatever their
/// validity: no panic, and no argument moves the request off the API's
/// origin or out of its base path (or the operation's own server path).
pub fn arguments(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(Value::Object(args)) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    let tools = lab::SERVER.tools;
    let spec = &tools[usize::from(pick) % tools.len()];
    let redactor = Redactor::default();
    let _ = Tool::new(spec).violations(&Value::Object(args.clone()));
    let base = Url::parse("https://api.example.com/v1").expect("a URL");
    if let Ok(prepared) = prepare(&spec.request, &args, &base, &redactor) {
        assert_eq!(prepared.url.origin(), base.origin(), "{}: {}", spec.name, prepared.url);
        // An operation's own (relative) server replaces the base path.
        let prefix = spec
            .request
            .server
            .map_or("/v1/".to_string(), |server| format!("{server}/"));
        assert!(
            prepared.url.path().starts_with(&prefix),
            "{}: {}",
            spec.name,
            prepared.url
        );
    }
}

/// Credentials of every shape the redactor masks.
const SECRETS: [(&str, &str); 4] = [
    ("apiKey", "sk_live_51Hx9qZ"),
    ("bearer", "hunter2-pass"),
    ("pin", "8675309123"),
    ("basic", "alice:pw-9f4e"),
];

fn redactor() -> &'static Redactor {
    static REDACTOR: OnceLock<Redactor> = OnceLock::new();
    REDACTOR.get_or_init(|| {
        let config = Config {
            base_url: Url::parse("https://api.example.com").expect("a URL"),
            credentials: SECRETS
                .iter()
                .map(|(name, value)| (*name, Secret::new(value.to_string())))
                .collect(),
            client_secrets: BTreeMap::new(),
            other_secrets: Vec::new(),
        };
        Redactor::from_config(&config)
    })
}

/// Text (and, when it parses, JSON) from an API, redacted whole and as a
/// cut at a size cap: no credential survives in any of them.
pub fn redaction(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let redactor = redactor();
    let mut outputs = vec![redactor.redact(text), redactor.redact_cut(text)];
    if let Ok(mut value) = serde_json::from_str::<Value>(text) {
        redactor.redact_json(&mut value);
        outputs.push(value.to_string());
    }
    for output in outputs {
        for (_, secret) in SECRETS {
            assert!(!output.contains(secret), "{secret:?} survived: {output:?}");
        }
    }
}

/// JSON-RPC frames on stdio after a proper handshake, to the lab's server
/// (its API a discard port): whatever the lines say, the session survives
/// them, and a `ping` sent after them is answered.
pub fn stdio_frames(data: &[u8]) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    runtime().block_on(async {
        let (server_end, client_end) = tokio::io::duplex(1 << 20);
        let serving = tokio::spawn(async move {
            use rmcp::ServiceExt;
            if let Ok(running) = lab_server().serve(server_end).await {
                let _ = running.waiting().await;
            }
        });
        let (reading, mut writing) = tokio::io::split(client_end);
        let mut lines = tokio::io::BufReader::new(reading).lines();
        let handshake = concat!(
            r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","#,
            r#""capabilities":{},"clientInfo":{"name":"fuzz","version":"0"}}}"#,
            "\n",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            "\n"
        );
        writing.write_all(handshake.as_bytes()).await.expect("written");
        writing.write_all(data).await.expect("written");
        writing
            .write_all(b"\n{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"ping\"}\n")
            .await
            .expect("written");
        let answered = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains(r#""id":"last""#) {
                    return true;
                }
            }
            false
        })
        .await;
        serving.abort();
        assert_eq!(
            answered,
            Ok(true),
            "the session did not answer a ping after these frames"
        );
    });
}

/// A request body to `POST /mcp` with a valid token (a JSON-RPC frame, or
/// anything): the HTTP layer answers with a status a client can act on,
/// never a 5xx, and doesn't panic.
pub fn http_frames(data: &[u8]) {
    use axum::body::Body;
    use axum::http::{Request, header};
    use tower::ServiceExt;
    static ROUTER: OnceLock<axum::Router> = OnceLock::new();
    runtime().block_on(async {
        let router = ROUTER.get_or_init(|| {
            let options = mcpgen_runtime::testing::harness::HttpOptions {
                bind: ([127, 0, 0, 1], 8000).into(),
                allowed_origins: Vec::new(),
                allowed_hosts: Vec::new(),
                tokens: vec![Secret::new("fuzz-token-5d1e".to_string())],
                oauth: None,
                rate_limit_per_minute: 0,
                auth_rate_limit_per_minute: 0,
                client_ip_header: None,
                metrics_token: None,
                max_body_bytes: 1 << 20,
                legacy_sessions: false,
                max_sessions: 1,
                session_idle: std::time::Duration::from_secs(60),
                max_connections: 64,
                max_calls: 64,
                max_calls_per_caller: 64,
            };
            mcpgen_runtime::testing::harness::router(&lab_server(), &options)
        });
        let request = Request::post("/mcp")
            .header(header::HOST, "127.0.0.1:8000")
            .header(header::AUTHORIZATION, "Bearer fuzz-token-5d1e")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                9,
            ))))
            .body(Body::from(data.to_vec()))
            .expect("a request");
        let answer = tokio::time::timeout(std::time::Duration::from_secs(10), router.clone().oneshot(request)).await;
        let status = answer.expect("answered within 10 s").expect("infallible").status();
        assert!(
            !status.is_server_error(),
            "{status} for {:?}",
            String::from_utf8_lossy(data)
        );
    });
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

/// The lab's server, offline (its API a discard port), each call given
/// 50 ms: a call is not what these targets are about.
fn lab_server() -> mcpgen_runtime::testing::harness::Server {
    let overrides = mcpgen_runtime::testing::harness::Overrides {
        timeout: Some(std::time::Duration::from_millis(50)),
        deadline: Some(std::time::Duration::from_millis(50)),
    };
    mcpgen_runtime::testing::offline_server(&lab::SERVER, &Default::default(), overrides, &Default::default())
}
