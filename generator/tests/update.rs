//! `mcpgen update` against a spec served over HTTP: it fetches, pins and
//! regenerates; `generate` then works offline from the pinned copy and
//! refuses a copy edited since; a changed spec is explained as `mcpgen diff`
//! explains it; a failed fetch or a broken spec replaces nothing; a proxy
//! from the environment is used, and redirects are followed.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// mcpgen with no proxy from the machine, unless the test sets one.
fn mcpgen(args: &[&str], cwd: &Path, proxy: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcpgen"));
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"] {
        command.env_remove(var).env_remove(var.to_lowercase());
    }
    if let Some(proxy) = proxy {
        command.env("HTTP_PROXY", proxy);
    }
    command.args(args).current_dir(cwd).output().expect("mcpgen runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// mcpgen exited with `code` and said `needle` on stderr.
fn says(out: &Output, code: i32, needle: &str) {
    assert_eq!(out.status.code(), Some(code), "{}", stderr(out));
    assert!(stderr(out).contains(needle), "{}", stderr(out));
}

/// What the served spec server answers: a status, a body and a `location`.
type Answer = Arc<Mutex<(u16, Vec<u8>, Option<String>)>>;

/// A one-file HTTP server on 127.0.0.1 that records each request line; it
/// stops by itself after a minute.
struct SpecServer {
    port: u16,
    answer: Answer,
    requests: Arc<Mutex<Vec<String>>>,
}

impl SpecServer {
    fn start() -> SpecServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let answer: Answer = Arc::new(Mutex::new((200, Vec::new(), None)));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (served, seen) = (answer.clone(), requests.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                seen.lock().unwrap().push(line.trim_end().to_string());
                // The rest of the head, up to the blank line.
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                }
                let (status, body, location) = served.lock().unwrap().clone();
                let mut stream = reader.into_inner();
                let location = location.map_or(String::new(), |to| format!("location: {to}\r\n"));
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/yaml\r\ncontent-length: {}\r\n{location}connection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
                let _ = stream.read(&mut [0; 1]);
            }
        });
        SpecServer { port, answer, requests }
    }

    fn serve(&self, status: u16, body: &str) {
        *self.answer.lock().unwrap() = (status, body.as_bytes().to_vec(), None);
    }

    fn redirect(&self, to: &str) {
        *self.answer.lock().unwrap() = (302, Vec::new(), Some(to.to_string()));
    }
}

/// The petstore example's spec, served at `path`: the server, the spec and its URL.
fn serving_petstore(path: &str) -> (SpecServer, String, String) {
    let server = SpecServer::start();
    let spec = fs::read_to_string(repo().join("examples/petstore/openapi.yaml")).unwrap();
    server.serve(200, &spec);
    let url = format!("http://127.0.0.1:{}{path}", server.port);
    (server, spec, url)
}

/// The petstore example's selection, its spec named by `url`.
fn project(url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = fs::read_to_string(repo().join("examples/petstore/mcpgen.yaml")).unwrap();
    let config = config.replace("spec: openapi.yaml\n", &format!("spec: {url}\n"));
    assert!(config.contains(url));
    fs::write(dir.path().join("mcpgen.yaml"), config).unwrap();
    dir
}

fn lock(dir: &Path) -> String {
    fs::read_to_string(dir.join("mcpgen.lock")).unwrap_or_default()
}

#[test]
fn update_fetches_pins_regenerates_and_explains_the_change() {
    let (server, spec, url) = serving_petstore("/v1/openapi.yaml");
    let project = project(&url);
    let dir = project.path();

    // Before any update, generate says what to run, and running it works.
    let out = mcpgen(&["generate"], dir, None);
    says(&out, 1, "has not been fetched yet");
    assert!(stderr(&out).contains("run `mcpgen update`"), "{}", stderr(&out));
    let out = mcpgen(&["update"], dir, None);
    says(&out, 0, &format!("fetched {url} into openapi.yaml (SHA-256 "));
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(report.contains("compatible  list_pets  tool: added"), "{report}");
    assert_eq!(fs::read_to_string(dir.join("openapi.yaml")).unwrap(), spec);
    let pinned = lock(dir);
    assert!(
        pinned.contains(&format!(
            "spec:\n  url: \"{url}\"\n  file: \"openapi.yaml\"\n  sha256: "
        )),
        "{pinned}"
    );
    assert!(dir.join("petstore-mcp/src/tools.rs").is_file());
    let header = fs::read_to_string(dir.join("petstore-mcp/src/tools.rs")).unwrap();
    assert!(
        header.lines().next().unwrap().contains(&url),
        "the crate says where its spec came from"
    );

    // generate --check needs no network: the server answers 500 from now on and is never asked.
    server.serve(500, "");
    let asked = server.requests.lock().unwrap().len();
    let out = mcpgen(&["generate", "--check"], dir, None);
    says(&out, 0, "up to date");
    assert_eq!(server.requests.lock().unwrap().len(), asked);

    // A failed fetch replaces nothing, and says what the network needs.
    let out = mcpgen(&["update"], dir, None);
    says(&out, 1, "the server answered 500");
    assert!(stderr(&out).contains("HTTPS_PROXY"), "{}", stderr(&out));
    // A spec that doesn't load replaces nothing either.
    server.serve(200, "openapi: 3.0.3\ninfo: [not, an, object]\n");
    let out = mcpgen(&["update"], dir, None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(dir.join("openapi.yaml")).unwrap(), spec);
    assert_eq!(lock(dir), pinned);

    // A copy edited by hand no longer matches its pin; the help's command restores it.
    fs::write(dir.join("openapi.yaml"), spec.replace("Pets", "Cats")).unwrap();
    let out = mcpgen(&["generate", "--check"], dir, None);
    says(&out, 1, "changed since `mcpgen update` fetched it");
    server.serve(200, &spec);
    let out = mcpgen(&["update"], dir, None);
    // That edit broke the selection (an operationId a prompt names): the report can't start from it.
    says(&out, 0, "the copy there was does not generate");
    let out = mcpgen(&["generate", "--check"], dir, None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(lock(dir), pinned);

    // The API changes: the update explains it as `mcpgen diff` does, and can fail on it.
    let cancel = spec.find("    delete:\n      operationId: cancelOrder").unwrap();
    let users = spec.find("  /users:").unwrap();
    let changed = format!("{}{}", &spec[..cancel], &spec[users..]).replace(
        "      enum: [available, pending, sold]",
        "      enum: [available, sold]",
    );
    server.serve(200, &changed);
    let out = mcpgen(&["update", "--markdown", "--fail-on", "breaking"], dir, None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let markdown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(markdown.contains("cancel_order"), "{markdown}");
    assert!(markdown.contains("enum values removed"), "{markdown}");
    assert_eq!(fs::read_to_string(dir.join("openapi.yaml")).unwrap(), changed);
    assert_ne!(lock(dir), pinned);
    let out = mcpgen(&["generate", "--check"], dir, None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Fetching the same spec again changes nothing.
    says(&mcpgen(&["update"], dir, None), 0, "unchanged since the last update");
}

#[test]
fn init_lists_a_spec_named_by_url_and_update_makes_the_crate() {
    let (_server, _, url) = serving_petstore("/openapi.yaml");
    let dir = tempfile::tempdir().unwrap();
    let out = mcpgen(&["init", "--spec", &url, "--no-interactive"], dir.path(), None);
    says(&out, 0, "then run `mcpgen update`");
    let starter = fs::read_to_string(dir.path().join("mcpgen.yaml")).unwrap();
    assert!(starter.contains(&format!("spec: {url}\n")), "{starter}");
    assert!(
        starter.contains("# - getPetById"),
        "the operations are listed: {starter}"
    );
    assert!(
        !dir.path().join("openapi.yaml").exists(),
        "init keeps no copy: update pins one"
    );
    // What init says next, after selecting operations.
    let edited = starter
        .replace("# - getPetById", "- getPetById")
        .replace("# - store", "- store");
    fs::write(dir.path().join("mcpgen.yaml"), edited).unwrap();
    says(&mcpgen(&["update"], dir.path(), None), 0, "fetched");
    says(
        &mcpgen(&["generate", "--check"], dir.path(), None),
        0,
        "up to date (6 tools)",
    );
}

/// The workflow's update and comment jobs: mistakes named where they are, and the help applied works.
#[test]
fn workflow_job_settings_are_checked_and_their_help_works() {
    let (_server, _, url) = serving_petstore("/openapi.yaml");
    let project = project(&url);
    let dir = project.path();
    let config = fs::read_to_string(dir.join("mcpgen.yaml")).unwrap();
    let with_ci = |ci: &str| {
        let text = config.replace(
            "ci:\n  github_actions: .github/workflows/petstore-mcp.yml\n  diff_comment: true\n",
            ci,
        );
        assert_ne!(text, config, "the example's ci section moved");
        fs::write(dir.join("mcpgen.yaml"), text).unwrap();
    };
    // Jobs without the workflow they belong to.
    with_ci("ci:\n  diff_comment: true\n");
    says(
        &mcpgen(&["update"], dir, None),
        1,
        "`ci.github_actions` writes, and it is not set",
    );
    // A schedule that is not cron.
    with_ci("ci:\n  github_actions: .github/workflows/api.yml\n  update_schedule: \"every monday\"\n");
    says(
        &mcpgen(&["update"], dir, None),
        1,
        "ci.update_schedule: `every monday` has 2 fields",
    );
    // As the help says.
    with_ci(
        "ci:\n  github_actions: .github/workflows/api.yml\n  diff_comment: true\n  update_schedule: \"0 6 * * 1\"\n",
    );
    says(&mcpgen(&["update"], dir, None), 0, "fetched");
    let workflow = fs::read_to_string(dir.join(".github/workflows/api.yml")).unwrap();
    assert!(
        workflow.contains("  spec-diff:\n") && workflow.contains("  update-spec:\n"),
        "{workflow}"
    );
    assert!(
        workflow.contains("      - openapi.yaml\n"),
        "the copy triggers the workflow: {workflow}"
    );

    // A schedule for a spec named by path: the help says to name it by URL.
    let local = tempfile::tempdir().unwrap();
    fs::copy(
        repo().join("examples/petstore/openapi.yaml"),
        local.path().join("openapi.yaml"),
    )
    .unwrap();
    let text = config
        .replace(&format!("spec: {url}\n"), "spec: openapi.yaml\n")
        .replace("  diff_comment: true\n", "  update_schedule: \"0 6 * * 1\"\n");
    fs::write(local.path().join("mcpgen.yaml"), text).unwrap();
    let out = mcpgen(&["generate"], local.path(), None);
    says(
        &out,
        1,
        "ci.update_schedule: `mcpgen update` fetches a spec named by URL, and `spec` is a file",
    );
    assert!(stderr(&out).contains("with `spec: https://…`"), "{}", stderr(&out));
}

#[test]
fn update_goes_through_the_proxy_the_environment_names_follows_redirects_and_fails_clearly_offline() {
    let (proxy, spec, _) = serving_petstore("/");
    let proxied = project("http://specs.example.invalid/petstore.yaml");
    let dir = proxied.path();
    let out = mcpgen(&["update"], dir, Some(&format!("http://127.0.0.1:{}", proxy.port)));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        proxy.requests.lock().unwrap().as_slice(),
        ["GET http://specs.example.invalid/petstore.yaml HTTP/1.1"],
        "the request went to the proxy"
    );
    assert_eq!(fs::read_to_string(dir.join("petstore.yaml")).unwrap(), spec);

    // A redirect is followed; the pin keeps the URL mcpgen.yaml names.
    let (moved, _, moved_to) = serving_petstore("/v2/petstore.yaml");
    let (old_home, _, old_url) = serving_petstore("/petstore.yaml");
    old_home.redirect(&moved_to);
    let redirected = project(&old_url);
    says(&mcpgen(&["update"], redirected.path(), None), 0, "into petstore.yaml");
    assert_eq!(
        moved.requests.lock().unwrap().as_slice(),
        ["GET /v2/petstore.yaml HTTP/1.1"]
    );
    assert!(lock(redirected.path()).contains(&format!("url: \"{old_url}\"")));

    // No proxy and no such host: the error says so and nothing changes.
    let before = lock(dir);
    let out = mcpgen(&["update"], dir, None);
    says(
        &out,
        1,
        "can't fetch the spec http://specs.example.invalid/petstore.yaml: ",
    );
    assert_eq!(lock(dir), before);
    // A spec named by path has nothing to fetch.
    let local = tempfile::tempdir().unwrap();
    for file in ["openapi.yaml", "mcpgen.yaml"] {
        fs::copy(repo().join("examples/petstore").join(file), local.path().join(file)).unwrap();
    }
    says(&mcpgen(&["update"], local.path(), None), 1, "there is nothing to fetch");
}
