//! Shared pieces of the end-to-end tests: the built example server, a Prism
//! mock of its spec, and a recording upstream for exact request assertions.
//! Everything binds 127.0.0.1 only and stops when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

pub mod faults;
pub mod isolation;
pub mod oauth;
pub mod registry;
pub mod replicas;

pub const API_KEY: &str = "pk_test_7f3a9c1e5b";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// The target directory this binary was built into (`CARGO_TARGET_DIR`, as
/// CI's cache sets it, or the workspace's `target/`): test binaries live in
/// `<target>/<profile>/deps`, examples in `<target>/<profile>/examples`.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("this binary's path");
    exe.ancestors()
        .nth(3)
        .expect("<target>/<profile>/<kind>/<binary>")
        .to_path_buf()
}

/// A binary of this workspace (a generated server, or `mcpgen`), built once
/// per process, and its path. In a test, one `cargo build --workspace
/// --all-targets` builds them all: it resolves features as the test build did,
/// so it reuses every artifact of that build and compiles only the binaries
/// (building one package alone, `-p`, would resolve other features and compile
/// the runtime and its dependencies again, per package). An example (the demo,
/// the soak) builds just its package, which is quicker on a fresh machine.
pub fn built_binary(package: &'static str) -> PathBuf {
    static BUILT: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let exe = std::env::current_exe().expect("this binary's path");
    let kind_dir = exe.parent().expect("target/<profile>/<deps or examples>");
    let in_test = kind_dir.file_name().is_some_and(|name| name == "deps");
    let mut built = BUILT.lock().expect("not poisoned");
    if !(built.contains(&package) || in_test && !built.is_empty()) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let what: &[&str] = if in_test {
            &["--workspace", "--all-targets"]
        } else {
            &["-p", package]
        };
        let status = Command::new(cargo)
            .args(["build", "--quiet"])
            .args(what)
            .current_dir(workspace_root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building {package} failed");
        built.push(package);
    }
    let profile_dir = kind_dir.parent().expect("target/<profile>");
    let binary = profile_dir.join(format!("{package}{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.is_file(), "{} was not built", binary.display());
    binary
}

pub fn petstore_binary() -> PathBuf {
    built_binary("petstore-mcp")
}

/// A tool installed by `npm ci --prefix tests`.
pub fn node_tool(relative: &str) -> anyhow::Result<PathBuf> {
    let path = workspace_root().join("tests/node_modules").join(relative);
    anyhow::ensure!(
        path.is_file(),
        "{} is missing: run `npm ci --prefix tests` (see README)",
        path.display()
    );
    Ok(path)
}

/// The upstream lab server's env: the base URL, a credential for every
/// scheme with `canary` in it (and characters each location must encode),
/// and the OAuth client.
pub fn lab_env(base_url: &str, canary: &str, oauth_client: (&str, &str)) -> Vec<(String, String)> {
    [
        ("LAB_BASE_URL", base_url.to_string()),
        ("LAB_HEADER_KEY", format!("hk-{canary}")),
        ("LAB_QUERY_KEY", format!("qk {canary}&x")),
        ("LAB_COOKIE_KEY", format!("ck;{canary}")),
        ("LAB_TOKEN", format!("bt-{canary}")),
        ("LAB_BASIC", format!("alice:pw-{canary}")),
        ("LAB_BODY_KEY", format!("bk\"{canary}")),
        ("LAB_CLIENT_ID", oauth_client.0.to_string()),
        ("LAB_CLIENT_SECRET", oauth_client.1.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Run `tests/python/mcp_client.py` (the official Python MCP SDK) with
/// `args`; fails unless it exits 0. Returns (stdout, stderr).
pub async fn python_client(args: &[&str]) -> anyhow::Result<(String, String)> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let output = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new(python)
            .arg(workspace_root().join("tests/python/mcp_client.py"))
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await??;
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    anyhow::ensure!(output.status.success(), "the Python client failed:\n{stdout}\n{stderr}");
    Ok((stdout, stderr))
}

/// Run a client program to its end (bounded); stdout as JSON lines.
pub async fn json_lines(mut command: tokio::process::Command, what: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    let out = tokio::time::timeout(Duration::from_secs(120), command.kill_on_drop(true).output())
        .await
        .map_err(|_| anyhow::anyhow!("{what} did not finish in 120 s"))??;
    let stdout = String::from_utf8(out.stdout)?;
    anyhow::ensure!(
        out.status.success(),
        "{what} failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).map_err(|e| anyhow::anyhow!("{what}: {e}: {l}")))
        .collect()
}

/// A generated server in HTTP mode on a free loopback port; killed on drop.
pub struct HttpServer {
    child: Child,
    /// stderr, drained continuously: a full pipe would block the server's logging.
    stderr: Option<std::thread::JoinHandle<String>>,
    pub url: String,
    pub base: String,
}

impl HttpServer {
    /// Start `petstore-mcp --http` with `envs` added to an empty environment.
    pub fn start(extra_args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<HttpServer> {
        HttpServer::start_package("petstore-mcp", extra_args, envs)
    }

    pub fn start_package(
        package: &'static str,
        extra_args: &[&str],
        envs: &[(&str, &str)],
    ) -> anyhow::Result<HttpServer> {
        HttpServer::start_on(package, free_port(), extra_args, envs)
    }

    /// On a port chosen by the caller (who needs the URL up front, e.g. as an OAuth audience).
    pub fn start_on(
        package: &'static str,
        port: u16,
        extra_args: &[&str],
        envs: &[(&str, &str)],
    ) -> anyhow::Result<HttpServer> {
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let mut child = Command::new(built_binary(package))
            .arg("--http")
            .arg(addr.to_string())
            .args(extra_args)
            .env_clear()
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut pipe = child.stderr.take().expect("piped");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
            text
        });
        if let Err(e) = wait_listening(addr, Duration::from_secs(20), &mut child) {
            let _ = child.kill();
            return Err(e);
        }
        Ok(HttpServer {
            child,
            stderr: Some(stderr),
            url: format!("http://{addr}/mcp"),
            base: format!("http://{addr}"),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send SIGTERM and wait (bounded) for the exit; returns stderr.
    pub fn terminate(mut self) -> anyhow::Result<(std::process::ExitStatus, String)> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(40),
                "the server did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let stderr = self.stderr.take().expect("drained once").join().unwrap_or_default();
        Ok((status, stderr))
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reqwest client's builder for tests, with the TLS crypto the runtime uses
/// installed (reqwest is built without one).
pub fn http_client() -> reqwest::ClientBuilder {
    mcpgen_runtime::testing::harness::install_crypto_provider();
    reqwest::Client::builder()
}

/// A stateless (no initialize) JSON-RPC POST, as a 2025-11-25 client sends it
/// (or another version, given as an `extra` `mcp-protocol-version`).
pub async fn rpc(url: &str, token: Option<&str>, body: serde_json::Value, extra: &[(&str, &str)]) -> reqwest::Response {
    let version = extra
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("mcp-protocol-version"));
    let mut request = http_client()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("a client")
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    if !version {
        request = request.header("mcp-protocol-version", "2025-11-25");
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.send().await.expect("the server answers")
}

/// A server's `/metrics`, with its bearer token.
pub async fn metrics_text(base: &str, token: &str) -> anyhow::Result<String> {
    Ok(http_client()
        .build()?
        .get(format!("{base}/metrics"))
        .bearer_auth(token)
        .send()
        .await?
        .text()
        .await?)
}

/// A free loopback port (bound and released; Prism needs a number up front).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind loopback")
        .local_addr()
        .expect("addr")
        .port()
}

/// Wait until something accepts TCP connections on `addr`, for at most `limit`.
fn wait_listening(addr: SocketAddr, limit: Duration, child: &mut Child) -> anyhow::Result<()> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the mock exited early with {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!("nothing listened on {addr} within {limit:?}")
}

/// `prism mock --errors` of the example spec: answers from the spec's examples
/// and rejects (422) any request that violates the spec.
pub struct Prism {
    child: Child,
    pub base_url: String,
}

impl Prism {
    pub fn start(spec: &Path) -> anyhow::Result<Prism> {
        let prism = node_tool(".bin/prism")?;
        let port = free_port();
        let mut child = Command::new(prism)
            .args(["mock", "--errors", "-h", "127.0.0.1", "-p", &port.to_string()])
            .arg(spec)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        if let Err(e) = wait_listening(addr, Duration::from_secs(60), &mut child) {
            let _ = child.kill();
            return Err(e);
        }
        Ok(Prism {
            child,
            base_url: format!("http://{addr}"),
        })
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query exactly as sent (not decoded).
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// An upstream that records every request and answers by path:
/// `/slow/*` sleeps 5 s, `/pause/*` sleeps 1 s, `/fail/*` answers 500, a path whose last
/// segment is `404` or `500` answers that status (`/pets/404`), `/echo-key/*` puts the
/// `X-API-Key` header in a 400 body, `faults` has faults, OAuth2 and paginated lists,
/// anything else echoes the request as JSON.
pub struct Recorder {
    pub base_url: String,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Recorder {
    pub async fn start() -> anyhow::Result<Recorder> {
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let log = requests.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move { answer(log, method, uri, headers, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Recorder {
            base_url: format!("http://{addr}"),
            requests,
            shutdown: Some(tx),
        })
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("not poisoned").clone()
    }

    /// Requests whose path (without the query) is `path`.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.uri.split('?').next() == Some(path))
            .count()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn answer(log: Arc<Mutex<Vec<Recorded>>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let record = Recorded {
        method: method.to_string(),
        uri: uri.to_string(),
        headers: headers.clone(),
        body: body.to_vec(),
    };
    let seen = {
        let mut log = log.lock().expect("not poisoned");
        log.push(record);
        log.iter()
            .filter(|r| r.method == method.as_str() && r.uri.split('?').next() == Some(path.as_str()))
            .count()
    };
    match path.rsplit('/').next() {
        Some("404") => {
            return faults::json_response(
                StatusCode::NOT_FOUND,
                serde_json::json!({"code": 404, "message": "no such record"}),
            );
        }
        Some("500") => {
            return faults::json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({"code": 500, "message": "database unavailable"}),
            );
        }
        _ => {}
    }
    if let Some(response) = faults::answer(&method, &uri, &headers, seen).await {
        return response;
    }
    let json = [("content-type", "application/json")];
    if path.starts_with("/slow/") {
        tokio::time::sleep(Duration::from_secs(5)).await;
        return (StatusCode::OK, json, "{}").into_response();
    }
    if path.starts_with("/pause/") {
        tokio::time::sleep(Duration::from_secs(1)).await;
        return (StatusCode::OK, json, r#"{"paused":true}"#).into_response();
    }
    if path.starts_with("/fail/") {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            json,
            r#"{"code":500,"message":"database unavailable"}"#,
        )
            .into_response();
    }
    // A per-user key the API has revoked (tests/e2e/connect.rs).
    if headers
        .get("x-personal-key")
        .is_some_and(|k| k.as_bytes().ends_with(b"-revoked"))
    {
        return (StatusCode::UNAUTHORIZED, json, r#"{"message":"Bad credentials"}"#).into_response();
    }
    if path.starts_with("/echo-key/") {
        let key = headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = serde_json::json!({"code": 400, "message": format!("key {key} is not allowed here")});
        return (StatusCode::BAD_REQUEST, json, body.to_string()).into_response();
    }
    let echo = serde_json::json!({
        "method": method.as_str(),
        "uri": uri.to_string(),
        "body": String::from_utf8_lossy(&body),
    });
    (StatusCode::OK, json, echo.to_string()).into_response()
}

/// A console script installed by `pip install -r tests/python/requirements.txt`:
/// on PATH, or in the interpreter's scripts directory.
pub fn python_tool(name: &str) -> PathBuf {
    if let Some(found) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
    {
        return found;
    }
    let out = Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_path('scripts'))"])
        .output()
        .expect("python3 runs");
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join(name);
    assert!(
        path.is_file(),
        "{name} is missing: run `pip install -r tests/python/requirements.txt`"
    );
    path
}

/// YAML documents as JSON, read by PyYAML (installed with kubernetes-validate).
pub fn yaml_documents(path: &Path) -> Vec<serde_json::Value> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, json, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The first fenced block after `heading` in `text`.
pub fn fenced_after<'t>(text: &'t str, heading: &str) -> &'t str {
    let at = text
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?} in the README"));
    let rest = &text[at..];
    let start = rest.find("```").expect("a fenced block") + rest[rest.find("```").unwrap()..].find('\n').unwrap() + 1;
    let end = start + rest[start..].find("```").expect("closed");
    &rest[start..end]
}

/// PATH with the `node` that runs npm tools.
pub fn node_path() -> String {
    let node = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| dir.join("node").is_file())
        .expect("node on PATH");
    format!("{}:/usr/bin:/bin", node.display())
}
