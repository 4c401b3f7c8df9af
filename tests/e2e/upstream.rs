//! The generated `upstream-lab-mcp` (tests/fixtures/upstream-lab) against
//! Prism, which rejects any request that violates the spec, and against the
//! recording fault upstream, which counts attempts and misbehaves on purpose.
//! Over raw JSON-RPC on stdio, so every byte the server writes is checked.

use std::process::Stdio;
use std::time::{Duration, Instant};

use mcpgen_tests::{Prism, Recorder, built_binary, workspace_root};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// A value in every credential env var; it must never come back out.
const CANARY: &str = "canary7c1d";

/// The lab server's env: the base URL and a credential for every scheme.
fn env(base_url: &str, oauth_client: (&str, &str)) -> Vec<(String, String)> {
    let mut env = mcpgen_tests::lab_env(base_url, CANARY, oauth_client);
    env.push(("RUST_LOG".to_string(), "debug".to_string()));
    env
}

/// The lab server over stdio, spoken to in raw JSON-RPC lines.
struct Lab {
    child: Child,
    stdin: ChildStdin,
    stdout: tokio::io::Lines<BufReader<ChildStdout>>,
    stderr: tokio::task::JoinHandle<String>,
    /// Every line the server wrote to stdout.
    transcript: String,
    next_id: u64,
}

impl Lab {
    async fn start(env: &[(String, String)], args: &[&str]) -> anyhow::Result<Lab> {
        Lab::start_declaring(env, args, json!({})).await
    }

    /// A session whose client declares `capabilities` at initialize.
    async fn start_declaring(env: &[(String, String)], args: &[&str], capabilities: Value) -> anyhow::Result<Lab> {
        let mut child = tokio::process::Command::new(built_binary("upstream-lab-mcp"))
            .args(args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut stderr_pipe = child.stderr.take().expect("piped");
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text).await;
            text
        });
        let mut lab = Lab {
            stdin: child.stdin.take().expect("piped"),
            stdout: BufReader::new(child.stdout.take().expect("piped")).lines(),
            child,
            stderr,
            transcript: String::new(),
            next_id: 1,
        };
        lab.request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": capabilities, "clientInfo": {"name": "lab-test", "version": "0"}}),
        )
        .await?;
        lab.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        Ok(lab)
    }

    async fn send(&mut self, message: Value) -> anyhow::Result<()> {
        self.stdin.write_all(format!("{message}\n").as_bytes()).await?;
        Ok(self.stdin.flush().await?)
    }

    async fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        Ok(self.request_noting(method, params).await?.0)
    }

    /// A request's result, and the notifications the server sent before it.
    async fn request_noting(&mut self, method: &str, params: Value) -> anyhow::Result<(Value, Vec<Value>)> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        let mut notifications = Vec::new();
        loop {
            let line = tokio::time::timeout(Duration::from_secs(30), self.stdout.next_line())
                .await??
                .ok_or_else(|| anyhow::anyhow!("the server closed stdout"))?;
            self.transcript.push_str(&line);
            self.transcript.push('\n');
            let message: Value = serde_json::from_str(&line)?;
            if message["id"] == id {
                anyhow::ensure!(message.get("error").is_none(), "{method} failed: {message}");
                return Ok((message["result"].clone(), notifications));
            }
            if message.get("id").is_none() {
                notifications.push(message);
            }
        }
    }

    /// `tools/call`; returns the result and how long it took.
    async fn call(&mut self, tool: &str, args: Value) -> anyhow::Result<(Value, Duration)> {
        let started = Instant::now();
        let result = self
            .request("tools/call", json!({"name": tool, "arguments": args}))
            .await?;
        Ok((result, started.elapsed()))
    }

    /// Close stdin, wait for the exit, and return (stdout, stderr).
    async fn finish(mut self) -> anyhow::Result<(String, String)> {
        drop(self.stdin);
        while let Some(line) = tokio::time::timeout(Duration::from_secs(10), self.stdout.next_line()).await?? {
            self.transcript.push_str(&line);
        }
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await??;
        anyhow::ensure!(status.success(), "the server exited with {status}");
        Ok((self.transcript, self.stderr.await?))
    }
}

fn is_error(result: &Value) -> bool {
    result["isError"] == true
}

fn text(result: &Value) -> String {
    result["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn prism_accepts_every_parameter_style_body_type_and_credential() -> anyhow::Result<()> {
    let prism = Prism::start(&workspace_root().join("tests/fixtures/upstream-lab/openapi.yaml"))?;
    let mut lab = Lab::start(&env(&prism.base_url, ("any-client", "any-secret")), &[]).await?;
    let calls = [
        (
            "all_styles",
            json!({"simple": "a b",
                   "form": ["e", "f"], "flat": ["g", "h"], "spaced": ["i", "j"], "piped": ["k", "l"],
                   "filter": {"color": "red", "size": "L"}, "X-Request-Tag": "t1", "session": "s1",
                   "id": "q1", "id_header": "h1"}),
        ),
        ("json_body", json!({"name": "Rex", "id_body": 7, "id": "q"})),
        ("form_body", json!({"title": "a b", "sizes": ["x", "y"]})),
        (
            "upload_file",
            json!({"caption": "scan", "file": {"content": "JVBERi0xLjQK", "encoding": "base64",
                   "filename": "scan.pdf", "media_type": "application/pdf"}}),
        ),
        ("put_note", json!({"body": "remember the milk"})),
        (
            "put_blob",
            json!({"body": {"content": "AAECAw==", "encoding": "base64"}}),
        ),
        ("auth_header", json!({})),
        ("auth_query", json!({})),
        ("auth_cookie", json!({})),
        ("auth_bearer", json!({})),
        ("auth_basic", json!({})),
        ("auth_oauth", json!({})),
        ("auth_either", json!({})),
        ("auth_body", json!({"text": "hi"})),
    ];
    for (tool, args) in calls {
        let (result, _) = lab.call(tool, args).await?;
        assert!(
            !is_error(&result),
            "{tool}: Prism rejected the request: {}",
            text(&result)
        );
    }
    lab.finish().await?;
    Ok(())
}

/// A credential the API takes in a body field, under a scheme the spec names
/// but never defines, declared in mcpgen.yaml: the server fills it in, the
/// model never sees the field and can't set it, and it never comes back.
#[tokio::test]
async fn a_credential_in_the_body_is_filled_by_the_server() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut lab = Lab::start(&env(&upstream.base_url, mcpgen_tests::faults::OAUTH_CLIENT), &[]).await?;
    let listed = lab.request("tools/list", json!({})).await?;
    let tool = listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "auth_body")
        .cloned()
        .unwrap();
    assert_eq!(tool["inputSchema"]["required"], json!(["text"]), "{tool}");
    assert!(tool["inputSchema"]["properties"].get("key").is_none(), "{tool}");
    let (r, _) = lab.call("auth_body", json!({"text": "hi"})).await?;
    assert!(!is_error(&r), "{}", text(&r));
    assert!(!lab.transcript.contains(CANARY), "the key came back to the client");
    let (forged, _) = lab.call("auth_body", json!({"text": "x", "key": "forged"})).await?;
    assert!(is_error(&forged) && text(&forged).contains("key"), "{}", text(&forged));
    let (_, stderr) = lab.finish().await?;
    assert!(!stderr.contains(CANARY), "the key reached the log");
    let seen = upstream.requests();
    assert_eq!(seen.len(), 1, "the forged call sent nothing");
    let body: Value = serde_json::from_slice(&seen[0].body)?;
    assert_eq!(body, json!({"key": format!("bk\"{CANARY}"), "text": "hi"}));
    assert!(seen[0].headers.get("authorization").is_none());
    Ok(())
}

#[tokio::test]
async fn requests_carry_exact_styles_bodies_and_credentials() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut lab = Lab::start(&env(&upstream.base_url, mcpgen_tests::faults::OAUTH_CLIENT), &[]).await?;
    let (r, _) = lab
        .call(
            "all_styles",
            json!({"simple": "a b",
                   "form": ["e", "f"], "flat": ["g", "h"], "spaced": ["i", "j"], "piped": ["k", "l"],
                   "filter": {"color": "red"}, "X-Request-Tag": "tag-secret-1", "session": "s1",
                   "id": "q1", "id_header": "h1"}),
        )
        .await?;
    assert!(!is_error(&r), "{}", text(&r));
    // The tag went out, but the redaction rules mask it wherever it comes back (the echo).
    assert!(!text(&r).contains("tag-secret-1"), "{}", text(&r));
    for (tool, args) in [
        (
            "path_styles",
            json!({"simple": ["a", "b"], "label": ["c", "d"], "matrix": {"x": 1, "y": 2}}),
        ),
        ("json_body", json!({"name": "Rex", "id_body": 7, "id": "q"})),
        (
            "form_body",
            json!({"title": "a b", "labels": ["x", "y&z"], "sizes": ["s", "m"]}),
        ),
        (
            "upload_file",
            json!({"caption": "scan", "file": {"content": "aGk=", "encoding": "base64", "filename": "hi.txt", "media_type": "text/plain"}}),
        ),
        ("put_note", json!({"body": "remember the milk"})),
        (
            "put_blob",
            json!({"body": {"content": "AAECAw==", "encoding": "base64"}}),
        ),
        ("auth_header", json!({})),
        ("auth_query", json!({})),
        ("auth_cookie", json!({})),
        ("auth_bearer", json!({})),
        ("auth_basic", json!({})),
        ("auth_either", json!({})),
        ("auth_oauth", json!({})),
        ("auth_oauth", json!({})),
        ("get_file", json!({"name": "report.pdf"})),
    ] {
        let (r, _) = lab.call(tool, args).await?;
        assert!(!is_error(&r), "{tool}: {}", text(&r));
    }
    // Its debug log (RUST_LOG=debug: rmcp's lines with each request's
    // arguments, the HTTP client's with the headers sent) masks it too.
    let (_, stderr) = lab.finish().await?;
    assert!(
        stderr.contains("X-Request-Tag"),
        "no debug line names the header: the check proves nothing"
    );
    assert!(!stderr.contains("tag-secret-1"), "a redact.headers value in the log");

    let mut seen = upstream.requests();
    let styles = seen.remove(0);
    assert_eq!(
        styles.uri,
        "/params/a%20b?form=e&form=f&flat=g,h&spaced=i%20j&piped=k|l&filter[color]=red&id=q1"
    );
    assert_eq!(seen.remove(0).uri, "/styles/a,b/.c.d/;matrix=x,1,y,2");
    assert_eq!(styles.headers["x-request-tag"], "tag-secret-1");
    assert_eq!(styles.headers["id"], "h1");
    assert_eq!(styles.headers["cookie"], "session=s1");
    // The document-wide security (headerKey) applies to operations without their own.
    assert_eq!(styles.headers["x-api-key"], format!("hk-{CANARY}"));

    let json_body = &seen[0];
    assert_eq!(
        (json_body.uri.as_str(), json_body.body.as_slice()),
        ("/bodies/json?id=q", &br#"{"name":"Rex","id":7}"#[..])
    );
    assert_eq!(json_body.headers["content-type"], "application/json");
    let form = &seen[1];
    // Arrays repeat their key (form, exploded: the default) unless `encoding` says otherwise.
    assert_eq!(form.body, b"title=a%20b&labels=x&labels=y%26z&sizes=s%2Cm");
    assert_eq!(form.headers["content-type"], "application/x-www-form-urlencoded");
    let upload = &seen[2];
    let content_type = upload.headers["content-type"].to_str()?;
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
    let body = String::from_utf8_lossy(&upload.body);
    assert!(body.contains("name=\"caption\"\r\n\r\nscan\r\n"), "{body}");
    assert!(
        body.contains("name=\"file\"; filename=\"hi.txt\"\r\nContent-Type: text/plain\r\n\r\nhi\r\n"),
        "{body}"
    );
    assert_eq!(
        (seen[3].method.as_str(), seen[3].body.as_slice()),
        ("PUT", &b"remember the milk"[..])
    );
    assert_eq!(seen[3].headers["content-type"], "text/plain");
    assert_eq!(seen[4].body, [0u8, 1, 2, 3]);
    assert_eq!(seen[4].headers["content-type"], "application/octet-stream");

    assert_eq!(seen[5].headers["x-api-key"], format!("hk-{CANARY}"));
    assert_eq!(seen[6].uri, format!("/auth/query?api_key=qk%20{CANARY}%26x"));
    assert_eq!(seen[7].headers["cookie"], format!("sid=ck%3B{CANARY}"));
    assert_eq!(seen[8].headers["authorization"], format!("Bearer bt-{CANARY}").as_str());
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("alice:pw-{CANARY}"));
    assert_eq!(seen[9].headers["authorization"], format!("Basic {basic}").as_str());
    assert_eq!(
        seen[10].headers["authorization"],
        format!("Bearer bt-{CANARY}").as_str()
    );
    assert!(seen[10].headers.get("x-never").is_none());

    // OAuth2: one token fetched, refused once (the upstream "revokes" tok-1), refreshed once,
    // then cached for the next call.
    // The path item's own (relative) server prefixes that operation's requests.
    let file = seen.pop().expect("the file request");
    assert_eq!(file.uri, "/uploads/files/report.pdf");
    let oauth: Vec<(&str, &str)> = seen[11..]
        .iter()
        .map(|r| {
            let auth = r
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            (r.uri.as_str(), auth)
        })
        .collect();
    assert_eq!(oauth.len(), 5, "{oauth:?}");
    assert_eq!(oauth[0].0, "/oauth/token");
    assert_eq!(seen[11].body, b"grant_type=client_credentials&scope=read");
    assert_eq!(oauth[1], ("/auth/oauth", "Bearer tok-1"));
    assert_eq!(oauth[2].0, "/oauth/token");
    assert_eq!(oauth[3], ("/auth/oauth", "Bearer tok-2"));
    assert_eq!(oauth[4], ("/auth/oauth", "Bearer tok-2"));
    Ok(())
}

#[tokio::test]
async fn pagination_follows_every_scheme_within_bounds() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut lab = Lab::start(&env(&upstream.base_url, mcpgen_tests::faults::OAUTH_CLIENT), &[]).await?;
    let ids = |r: &Value| -> Vec<u64> {
        r["structuredContent"]["items"]
            .as_array()
            .into_iter()
            .flatten()
            // pages_stripe keeps only `id` (`tools.pagesStripe.response`): `obj_<n>`.
            .filter_map(|i| {
                i["n"]
                    .as_u64()
                    .or_else(|| i["id"].as_str()?.strip_prefix("obj_")?.parse().ok())
            })
            .collect()
    };
    let all: Vec<u64> = (1..=10).collect();
    for (tool, args, requests) in [
        ("pages_cursor", json!({"limit": 3}), 4),
        ("pages_stripe", json!({}), 4),
        ("pages_offset", json!({"limit": 3}), 4),
        ("pages_linked", json!({"per_page": 4}), 3),
    ] {
        let (r, _) = lab.call(tool, args).await?;
        assert!(!is_error(&r), "{tool}: {}", text(&r));
        assert_eq!(ids(&r), all, "{tool}: {r}");
        assert_eq!(r["structuredContent"]["complete"], true, "{tool}");
        assert!(r["structuredContent"].get("next").is_none(), "{tool}");
        let path = format!("/pages/{}", tool.trim_start_matches("pages_"));
        assert_eq!(upstream.count("GET", &path), requests, "{tool}");
    }

    // max_pages (4) stops a 5-page list; `next` continues exactly where it stopped.
    let (r, _) = lab.call("pages_numbered", json!({"per_page": 2})).await?;
    assert_eq!(ids(&r), (1..=8).collect::<Vec<_>>());
    assert_eq!(r["structuredContent"]["complete"], false);
    assert_eq!(r["structuredContent"]["next"], json!({"page": 5}));
    assert_eq!(r["structuredContent"]["stopped"], "reached max_pages (4)");
    let (r, _) = lab.call("pages_numbered", json!({"per_page": 2, "page": 5})).await?;
    assert_eq!(ids(&r), vec![9, 10]);
    assert_eq!(r["structuredContent"]["complete"], true);

    // Declared in mcpgen.yaml: a cursor in a nested field, items under `rows`, 2 pages at most.
    let (r, _) = lab.call("pages_custom", json!({})).await?;
    assert_eq!(ids(&r), (1..=6).collect::<Vec<_>>());
    assert_eq!(r["structuredContent"]["next"], json!({"after": "6"}));
    let (r, _) = lab.call("pages_custom", json!({"after": "6"})).await?;
    assert_eq!(ids(&r), vec![7, 8, 9, 10]);
    assert_eq!(r["structuredContent"]["complete"], true);

    // The tool tells the model it pages.
    let tools = lab.request("tools/list", json!({})).await?;
    let cursor = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "pages_cursor")
        .unwrap();
    assert!(
        cursor["description"]
            .as_str()
            .unwrap()
            .contains("Returns `items` from up to 4 pages")
    );
    lab.finish().await?;
    Ok(())
}

/// Every failure mode, with attempts counted upstream and a canary in every
/// credential that must never come back out, on stdout or stderr.
#[tokio::test]
async fn fault_matrix_retries_by_policy_and_never_leaks_credentials() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let client = (format!("client-{CANARY}"), format!("secret-{CANARY}"));
    let mut env = env(&upstream.base_url, (&client.0, &client.1));
    // The OAuth2 client the fault upstream knows, so the token flow also runs.
    env.retain(|(k, _)| !k.starts_with("LAB_CLIENT"));
    env.push(("LAB_CLIENT_ID".into(), mcpgen_tests::faults::OAUTH_CLIENT.0.into()));
    env.push(("LAB_CLIENT_SECRET".into(), mcpgen_tests::faults::OAUTH_CLIENT.1.into()));
    let mut lab = Lab::start(&env, &[]).await?;
    // Every log notification is in the transcript the leak checks below read.
    lab.request("logging/setLevel", json!({"level": "debug"})).await?;
    async fn call(lab: &mut Lab, tool: &str, kind: &str) -> anyhow::Result<(Value, Duration)> {
        lab.call(tool, json!({"kind": kind})).await
    }

    // 503 twice, then 200: a GET is retried until it succeeds.
    let (r, _) = call(&mut lab, "get_fault", "flaky").await?;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(r["structuredContent"]["attempt"], 3);
    assert_eq!(upstream.count("GET", "/faults/flaky"), 3);
    // A POST is never retried on a 5xx: it may have taken effect.
    let (r, _) = call(&mut lab, "post_fault", "flaky").await?;
    assert!(is_error(&r));
    assert_eq!(r["structuredContent"]["status"], 503);
    assert_eq!(upstream.count("POST", "/faults/flaky"), 1);
    // Always 502: three attempts, then the model hears it is temporary.
    let (r, _) = call(&mut lab, "get_fault", "unavailable").await?;
    assert_eq!(
        (
            r["structuredContent"]["status"].clone(),
            r["structuredContent"]["attempts"].clone()
        ),
        (json!(502), json!(3))
    );
    assert!(
        text(&r).contains("tried 3 times") && text(&r).contains("temporarily unavailable"),
        "{}",
        text(&r)
    );
    assert_eq!(upstream.count("GET", "/faults/unavailable"), 3);
    // 429 with Retry-After: waited for, on any method (the request was not processed).
    for (tool, method) in [("get_fault", "GET"), ("post_fault", "POST")] {
        let before = upstream.count(method, "/faults/throttled");
        let (r, took) = call(&mut lab, tool, "throttled").await?;
        assert!(!is_error(&r), "{tool}: {}", text(&r));
        assert!(took >= Duration::from_millis(900), "{tool} waited only {took:?}");
        assert_eq!(upstream.count(method, "/faults/throttled") - before, 2);
    }
    // 429 without Retry-After, or with a wait past the deadline (one past any clock's
    // range included, which once panicked the call): answered at once, not retried.
    for kind in ["throttled-no-hint", "throttled-long", "throttled-forever"] {
        let (r, took) = call(&mut lab, "get_fault", kind).await?;
        assert_eq!(r["structuredContent"]["status"], 429, "{kind}");
        assert!(took < Duration::from_secs(2), "{kind} took {took:?}");
        assert_eq!(upstream.count("GET", &format!("/faults/{kind}")), 1, "{kind}");
    }
    // A Retry-After that is no number: a 503 is retried on the usual backoff.
    let (r, _) = call(&mut lab, "get_fault", "throttled-garbage").await?;
    assert_eq!(
        (
            r["structuredContent"]["status"].clone(),
            r["structuredContent"]["attempts"].clone()
        ),
        (json!(503), json!(3))
    );
    // A silent API: 2 s per attempt (mcpgen.yaml), retried for GET within the 6 s deadline.
    let (r, took) = call(&mut lab, "get_fault", "slow").await?;
    assert_eq!(r["structuredContent"]["error"], "timeout", "{r}");
    assert!(took < Duration::from_millis(6800), "deadline missed: {took:?}");
    assert!((2..=3).contains(&upstream.count("GET", "/faults/slow")));
    // ... and not retried for POST.
    let (r, took) = call(&mut lab, "post_fault", "slow").await?;
    assert_eq!(r["structuredContent"]["error"], "timeout");
    assert!(took < Duration::from_millis(2800), "{took:?}");
    assert_eq!(upstream.count("POST", "/faults/slow"), 1);
    // … and the model hears the outcome is unknown, not "retry": it may have taken effect.
    assert_eq!(r["structuredContent"]["retryable"], false);
    assert!(
        text(&r).contains("The outcome is unknown: the API may have done it."),
        "{}",
        text(&r)
    );
    // A request that can't even be built (a 1 MiB path): refused at once, never retried.
    let before = upstream.requests().len();
    let (r, _) = call(&mut lab, "get_fault", &"x".repeat(1 << 20)).await?;
    assert_eq!(
        (
            r["structuredContent"]["error"].clone(),
            r["structuredContent"]["attempts"].clone()
        ),
        (json!("invalid_request"), json!(1)),
        "{}",
        text(&r)
    );
    assert_eq!(upstream.requests().len(), before);
    // A body that trickles: the per-attempt timeout covers the body too.
    let (r, took) = call(&mut lab, "get_fault", "slow-body").await?;
    assert_eq!(r["structuredContent"]["error"], "timeout", "{r}");
    assert!(took < Duration::from_millis(6800), "{took:?}");
    // 100 MiB, plain and as a gzip bomb: cut at the 64 KiB cap, and the result says so.
    for kind in ["huge", "gzip-bomb"] {
        let (r, _) = call(&mut lab, "get_fault", kind).await?;
        assert!(!is_error(&r), "{kind}");
        let body = text(&r);
        assert!(body.contains("[response truncated"), "{kind}");
        assert!(body.len() < 70_000, "{kind}: {} bytes", body.len());
    }
    // Broken or mislabelled bodies come through as text.
    let (r, _) = call(&mut lab, "get_fault", "invalid-json").await?;
    // Not JSON after all: text only, and the outputSchema still holds for the empty structure.
    assert!(!is_error(&r) && r["structuredContent"] == json!({}), "{r}");
    assert!(text(&r).contains(r#"{"broken": tru"#));
    // HTML where JSON was declared: the page as text, an empty structure that the outputSchema allows.
    let (r, _) = call(&mut lab, "get_fault", "wrong-type").await?;
    assert_eq!(
        r,
        json!({"content": [{"type": "text", "text": "<html><body>maintenance</body></html>"}],
               "structuredContent": {}, "isError": false})
    );
    // A redirect elsewhere is reported, never followed.
    let (r, _) = call(&mut lab, "get_fault", "redirect").await?;
    assert_eq!(r["structuredContent"]["status"], 302);
    assert_eq!(upstream.count("GET", "/faults/redirect"), 1);
    assert_eq!(upstream.count("GET", "/steal"), 0);
    // An API that echoes every header and the query back, in an error and a success.
    for kind in ["echo", "echo-ok"] {
        let (r, _) = call(&mut lab, "get_fault", kind).await?;
        assert!(r.to_string().contains("[REDACTED]"), "{kind}: {r}");
    }
    // Redaction rules: fields removed and masked by path, patterns masked everywhere.
    let (r, _) = call(&mut lab, "get_fault", "personal").await?;
    assert_eq!(
        r["structuredContent"],
        json!({"owner": {"name": "Ann", "email": "[REDACTED]"},
               "data": [{"id": 1, "secret": "[REDACTED]", "note": "ssn [REDACTED]"}]})
    );
    assert!(!text(&r).contains("hunter2") && !text(&r).contains("123-45-6789"));
    // The OAuth2 flow runs too; its tokens are secrets like the rest.
    let (r, _) = lab.call("auth_oauth", json!({})).await?;
    assert!(!is_error(&r), "{}", text(&r));
    let (stdout, stderr) = lab.finish().await?;

    // Connection refused: retried for any method, reported as connect failures.
    let closed = format!("http://127.0.0.1:{}", mcpgen_tests::free_port());
    let mut refused = Lab::start(&self::env(&closed, (&client.0, &client.1)), &[]).await?;
    let (r, took) = refused.call("post_fault", json!({"kind": "flaky"})).await?;
    assert_eq!(r["structuredContent"]["error"], "connect", "{r}");
    assert_eq!(
        r["structuredContent"]["attempts"], 2,
        "post_fault allows 2 attempts in mcpgen.yaml"
    );
    assert!(took < Duration::from_secs(3));
    // An OAuth2 token endpoint that can't be reached: a connect failure that says it was the token
    // endpoint (the leak check below covers its text).
    let (oauth_refused, _) = refused.call("auth_oauth", json!({})).await?;
    assert_eq!(
        oauth_refused["structuredContent"]["error"], "connect",
        "{oauth_refused}"
    );
    assert!(
        oauth_refused["structuredContent"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("could not connect to the API: token endpoint:")),
        "{oauth_refused}"
    );
    let (stdout2, stderr2) = refused.finish().await?;

    let rejected = Lab::start(&self::env(&upstream.base_url, (&client.0, &client.1)), &[]).await?;
    let mut rejected = rejected;
    let (bad_client, _) = rejected.call("auth_oauth", json!({})).await?;
    assert_eq!(bad_client["structuredContent"]["error"], "auth", "{bad_client}");
    assert!(text(&bad_client).contains("invalid_client") && text(&bad_client).contains("LAB_CLIENT_SECRET"));
    let (stdout3, stderr3) = rejected.finish().await?;

    assert!(
        stderr.contains("attempts=3"),
        "the audit log counts attempts:\n{stderr}"
    );
    for (name, output) in [
        ("stdout", &stdout),
        ("stderr", &stderr),
        ("stdout (refused)", &stdout2),
        ("stderr (refused)", &stderr2),
        ("stdout (bad client)", &stdout3),
        ("stderr (bad client)", &stderr3),
        ("oauth refused", &oauth_refused.to_string()),
    ] {
        assert!(!output.contains(CANARY), "the canary leaked on {name}:\n{output}");
        assert!(
            !output.contains("tok-1") && !output.contains("tok-2"),
            "a token leaked on {name}"
        );
    }
    Ok(())
}

/// Form fields in deepObject style go in the bracket form Stripe-like APIs
/// parse: arrays indexed, arrays of objects and nested objects bracketed.
#[tokio::test]
async fn deep_object_form_fields_nest_with_brackets() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut lab = Lab::start(&env(&upstream.base_url, mcpgen_tests::faults::OAUTH_CLIENT), &[]).await?;
    let (r, _) = lab
        .call(
            "deep_form_body",
            json!({"email": "a@b.c", "expand": ["customer", "invoice.lines"],
                   "tax_id_data": [{"type": "eu_vat", "value": "FR1"}], "metadata": {"plan": "pro", "a b": "c&d"}}),
        )
        .await?;
    assert!(!is_error(&r), "{}", text(&r));
    lab.finish().await?;
    let sent = upstream.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].headers["content-type"], "application/x-www-form-urlencoded");
    // Brackets go percent-encoded in a form body, like the other style delimiters
    // (form decoders decode each pair first): `expand[0]=customer` once decoded.
    assert_eq!(
        String::from_utf8_lossy(&sent[0].body),
        "email=a%40b.c&expand%5B0%5D=customer&expand%5B1%5D=invoice.lines\
         &tax_id_data%5B0%5D%5Btype%5D=eu_vat&tax_id_data%5B0%5D%5Bvalue%5D=FR1\
         &metadata%5Bplan%5D=pro&metadata%5Ba%20b%5D=c%26d"
    );
    Ok(())
}

/// `notifications/cancelled` stops a call's upstream work at once: no retry
/// of a silent API follows, and the server answers the next call.
#[tokio::test]
async fn a_cancelled_call_stops_its_upstream_work() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut lab = Lab::start(&env(&upstream.base_url, mcpgen_tests::faults::OAUTH_CLIENT), &[]).await?;
    // Silent for 2 s per attempt (mcpgen.yaml), retried for GET: 3 attempts uncancelled.
    let id = lab.next_id;
    lab.next_id += 1;
    lab.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                    "params": {"name": "get_fault", "arguments": {"kind": "slow"}}}))
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(upstream.count("GET", "/faults/slow"), 1);
    lab.send(json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                    "params": {"requestId": id, "reason": "the user moved on"}}))
        .await?;
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(upstream.count("GET", "/faults/slow"), 1, "a cancelled call was retried");
    let (r, _) = lab.call("pages_cursor", json!({"limit": 3})).await?;
    assert!(!is_error(&r), "{r}");
    let (_, stderr) = lab.finish().await?;
    assert!(stderr.contains("cancelled"), "the cancelled call is audited: {stderr}");
    Ok(())
}

/// A file name from the model can't add lines to its multipart part header.
#[tokio::test]
async fn multipart_file_names_cannot_add_headers() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut lab = Lab::start(&env(&upstream.base_url, mcpgen_tests::faults::OAUTH_CLIENT), &[]).await?;
    let file = json!({"content": "hi", "filename": "a.txt\"\r\nContent-Type: text/html\r\n\r\n<script>", "media_type": "text/plain"});
    let (r, _) = lab.call("upload_file", json!({"caption": "x", "file": file})).await?;
    assert!(!is_error(&r), "{}", text(&r));
    lab.finish().await?;
    let body = String::from_utf8_lossy(&upstream.requests()[0].body).to_string();
    assert!(
        body.contains("filename=\"a.txt%22%0D%0AContent-Type: text/html%0D%0A%0D%0A<script>\"\r\nContent-Type: text/plain\r\n\r\nhi\r\n"),
        "{body}"
    );
    assert!(!body.contains("\r\nContent-Type: text/html"), "{body}");
    Ok(())
}

/// The `params` of the notifications with `method`.
fn notified(notifications: &[Value], method: &str) -> Vec<Value> {
    notifications
        .iter()
        .filter(|n| n["method"] == method)
        .map(|n| n["params"].clone())
        .collect()
}

/// A call tells its client what it is doing, when asked: a progress step
/// per retry and per page for a request with a progress token, and log
/// notifications at or above the level set with `logging/setLevel` (none
/// before it).
#[tokio::test]
async fn calls_report_retries_and_pages_as_progress_and_logs() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut lab = Lab::start(&env(&upstream.base_url, mcpgen_tests::faults::OAUTH_CLIENT), &[]).await?;
    // A progress token is a string or a number.
    let call = |tool: &str, args: Value, token: Option<Value>| {
        let mut params = json!({"name": tool, "arguments": args});
        if let Some(token) = token {
            params["_meta"] = json!({"progressToken": token});
        }
        params
    };

    // 503, 503, 200 with a progress token: two steps, one per retry; no logs before setLevel.
    let (r, notes) = lab
        .request_noting(
            "tools/call",
            call("get_fault", json!({"kind": "flaky"}), Some(json!("p1"))),
        )
        .await?;
    assert!(!is_error(&r), "{r}");
    let progress = notified(&notes, "notifications/progress");
    assert_eq!(progress.len(), 2, "{notes:?}");
    for (i, step) in progress.iter().enumerate() {
        let n = i as u64 + 1;
        assert_eq!(step["progressToken"], "p1");
        assert_eq!(step["progress"].as_f64(), Some(n as f64));
        let message = step["message"].as_str().unwrap();
        assert!(
            message.starts_with("GET /faults/flaky answered 503 Service Unavailable; retrying in ")
                && message.ends_with(&format!(" s (attempt {} of 3)", n + 1)),
            "{message}"
        );
    }
    assert!(notified(&notes, "notifications/message").is_empty(), "{notes:?}");

    // Neither a token nor a level: a paginated call says nothing.
    let (_, notes) = lab
        .request_noting("tools/call", call("pages_cursor", json!({"limit": 3}), None))
        .await?;
    assert!(notes.is_empty(), "{notes:?}");

    // At info: a step and a log entry per page that has a next one (4 pages: 3, 3, 3, 1 items).
    lab.request("logging/setLevel", json!({"level": "info"})).await?;
    let (_, notes) = lab
        .request_noting("tools/call", call("pages_cursor", json!({"limit": 3}), Some(json!(7))))
        .await?;
    let progress = notified(&notes, "notifications/progress");
    let logs = notified(&notes, "notifications/message");
    assert_eq!(progress.len(), 3, "{notes:?}");
    assert_eq!(logs.len(), 3, "{notes:?}");
    for (i, (step, log)) in progress.iter().zip(&logs).enumerate() {
        let text = format!("page {} of at most 4, {} items so far", i + 1, 3 * (i + 1));
        assert_eq!(step["progressToken"], 7);
        assert_eq!(step["progress"].as_f64(), Some(i as f64 + 1.0));
        assert!(step["message"].as_str().unwrap().ends_with(&text), "{step}");
        assert_eq!(log["level"], "info");
        assert_eq!(log["logger"], "pages_cursor");
        assert!(log["data"].as_str().unwrap().ends_with(&text), "{log}");
    }

    // At debug: each request's answer too, and still no progress without a token.
    lab.request("logging/setLevel", json!({"level": "debug"})).await?;
    let (_, notes) = lab
        .request_noting("tools/call", call("pages_cursor", json!({"limit": 3}), None))
        .await?;
    assert!(notified(&notes, "notifications/progress").is_empty());
    let levels: Vec<Value> = notified(&notes, "notifications/message")
        .iter()
        .map(|l| l["level"].clone())
        .collect();
    assert_eq!(
        levels,
        ["debug", "info", "debug", "info", "debug", "info", "debug"],
        "{notes:?}"
    );
    lab.finish().await?;
    Ok(())
}

/// The lab's `src/extend.rs` (user code the generator never overwrites):
/// its request hook signs the final request, its response hook edits the
/// answer before the model sees it, and its hand-written tool is listed,
/// validated and redacted like the generated ones.
#[tokio::test]
async fn extension_module_signs_requests_edits_responses_and_adds_tools() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut lab = Lab::start(&env(&upstream.base_url, mcpgen_tests::faults::OAUTH_CLIENT), &[]).await?;

    let listed = lab.request("tools/list", json!({})).await?;
    let names: Vec<&str> = listed["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names.last(), Some(&"lab_sum"), "{names:?}");
    let sum = &listed["tools"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(sum["annotations"]["readOnlyHint"], true);
    assert_eq!(sum["inputSchema"]["required"], json!(["a", "b"]));

    let (r, _) = lab.call("json_body", json!({"name": "Rex", "id_body": 7})).await?;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(r["structuredContent"]["hooked"], true, "{r}");
    let sent = upstream.requests();
    let body = br#"{"name":"Rex","id":7}"#;
    assert_eq!(sent[0].body, body);
    assert_eq!(sent[0].headers["x-lab-signature"], format!("POST:{}:1", body.len()));

    let (r, _) = lab.call("lab_sum", json!({"a": 2, "b": 40})).await?;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(r["structuredContent"], json!({"sum": 42}));
    let (r, _) = lab.call("lab_sum", json!({"a": "two", "b": 40})).await?;
    assert!(
        is_error(&r) && text(&r).contains("Invalid arguments for tool `lab_sum`"),
        "{r}"
    );
    let (r, _) = lab.call("lab_sum", json!({"a": -1, "b": 1})).await?;
    assert!(
        is_error(&r) && text(&r).contains("negative numbers are not allowed"),
        "{r}"
    );
    // A bug in the crate's own code (here an integer overflow, a panic in a debug
    // build): that call gets an error result, and the server goes on serving.
    let (r, _) = lab.call("lab_sum", json!({"a": i64::MAX, "b": 1})).await?;
    assert!(is_error(&r), "{r}");
    assert_eq!(r["structuredContent"]["error"], "internal_error", "{r}");
    let (r, _) = lab.call("lab_sum", json!({"a": 1, "b": 1})).await?;
    assert_eq!(r["structuredContent"], json!({"sum": 2}));
    // Only the generated tools' requests reached the API.
    assert_eq!(upstream.requests().len(), 1);

    let (stdout, stderr) = lab.finish().await?;
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("lab_sum") && l.contains("internal_error")),
        "the failed call is audited: {stderr}"
    );
    assert!(!stdout.contains(CANARY), "a credential reached the client: {stdout}");
    assert!(!stderr.contains(CANARY), "a credential reached the log: {stderr}");
    Ok(())
}

/// A result over the frame budget (`--result-budget 20000` here; 60000 by
/// default over stdio) comes as a note, a preview of the same shape and a
/// `resource_link`; no line the server writes is longer than the budget;
/// `resources/read` returns the whole result in pages, each within it, that
/// rejoin to exactly what the API sent. A page past the end and a URI the
/// server never made are errors the model can act on.
#[tokio::test]
async fn results_over_the_budget_come_as_a_preview_and_pages_that_fit() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let budget = 20_000;
    let mut lab = Lab::start(
        &env(&upstream.base_url, mcpgen_tests::faults::OAUTH_CLIENT),
        &["--result-budget", &budget.to_string()],
    )
    .await?;
    let (r, _) = lab.call("get_fault", json!({"kind": "many"})).await?;
    assert!(!is_error(&r), "{r}");
    let note = r["content"][0]["text"].as_str().unwrap();
    assert!(note.contains("items of `$.items` are shown"), "{note}");
    let shown = r["structuredContent"]["items"].as_array().unwrap().len();
    assert!(shown > 10 && shown < 400, "{shown}");
    assert_eq!(r["structuredContent"]["total_count"], 400);
    let link = r["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "resource_link")
        .expect("a resource_link")
        .clone();
    assert_eq!(link["mimeType"], "application/json");
    let mut joined = String::new();
    let mut uri = link["uri"].as_str().unwrap().to_string();
    let mut pages = 0;
    loop {
        let read = lab.request("resources/read", json!({"uri": uri})).await?;
        let page = &read["contents"][0];
        joined.push_str(page["text"].as_str().unwrap());
        pages += 1;
        match page["_meta"]["next"].as_str() {
            Some(next) => uri = next.to_string(),
            None => break,
        }
    }
    assert!(pages >= 2, "{pages}");
    let whole: Value = serde_json::from_str(&joined)?;
    assert_eq!(whole, mcpgen_tests::faults::many());
    // Errors: a page past the end, a URI this server never made.
    let past = format!("{}/pages/{}", link["uri"].as_str().unwrap(), pages + 1);
    let error = lab.request("resources/read", json!({"uri": past})).await.unwrap_err();
    assert!(
        error.to_string().contains(&format!("it has pages 1 to {pages}")),
        "{error}"
    );
    let error = lab
        .request(
            "resources/read",
            json!({"uri": "mcpgen://results/0123456789abcdef0123456789abcdef"}),
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("call the tool again"), "{error}");
    let (transcript, _) = lab.finish().await?;
    for line in transcript.lines() {
        assert!(line.len() <= budget, "a {}-byte line", line.len());
    }
    Ok(())
}

/// Files by reference: a download over the budget comes as a link with its
/// media type and size, and the link is sent on as an upload's file; with
/// `--files-dir`, a file in that directory is sent as a body; a path outside
/// it (`..`, a symlink out, an absolute one) is refused, and the refusal
/// says what to do. A small download is an embedded resource with its size.
#[tokio::test]
async fn files_go_from_download_links_and_an_allowed_directory_to_uploads() -> anyhow::Result<()> {
    use base64::Engine;
    let upstream = Recorder::start().await?;
    let outer = tempfile::tempdir()?;
    let shared = outer.path().join("shared");
    std::fs::create_dir(&shared)?;
    std::fs::write(shared.join("scan.png"), [0x89, b'P', b'N', b'G', 0, 1, 2])?;
    std::fs::write(outer.path().join("secret.txt"), "s3cret")?;
    std::os::unix::fs::symlink(outer.path().join("secret.txt"), shared.join("out.txt"))?;
    let dir = shared.to_str().unwrap();
    let mut lab = Lab::start(
        &env(&upstream.base_url, mcpgen_tests::faults::OAUTH_CLIENT),
        &["--result-budget", "8192", "--files-dir", dir],
    )
    .await?;

    let (small, _) = lab.call("get_file", json!({"name": "small.pdf"})).await?;
    let embedded = &small["content"][0]["resource"];
    assert_eq!(embedded["mimeType"], "application/pdf", "{small}");
    assert_eq!(embedded["_meta"]["size"], 64, "{small}");
    assert_eq!(
        base64::engine::general_purpose::STANDARD.decode(embedded["blob"].as_str().unwrap())?,
        mcpgen_tests::faults::file_bytes("small.pdf")
    );

    let (big, _) = lab.call("get_file", json!({"name": "big.pdf"})).await?;
    assert!(!is_error(&big), "{big}");
    let link = big["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "resource_link")
        .unwrap_or_else(|| panic!("a link: {big}"))
        .clone();
    assert_eq!(
        (link["mimeType"].as_str(), link["size"].as_u64()),
        (Some("application/pdf"), Some(20_000))
    );
    let (sent, _) = lab
        .call(
            "upload_file",
            json!({"caption": "scan", "file": {"uri": link["uri"], "filename": "big.pdf"}}),
        )
        .await?;
    assert!(!is_error(&sent), "{}", text(&sent));

    let (blob, _) = lab
        .call(
            "put_blob",
            json!({"body": {"uri": "scan.png", "media_type": "image/png"}}),
        )
        .await?;
    assert!(!is_error(&blob), "{}", text(&blob));

    for uri in ["../secret.txt", "out.txt", "/etc/hostname"] {
        let (refused, _) = lab.call("put_blob", json!({"body": {"uri": uri}})).await?;
        assert!(is_error(&refused), "{uri}: {refused}");
        let why = text(&refused);
        assert!(
            why.contains("is not a file inside the directory this server may read"),
            "{why}"
        );
        assert!(!why.contains("s3cret"), "{why}");
    }
    let (gone, _) = lab
        .call(
            "put_blob",
            json!({"body": {"uri": "mcpgen://results/0123456789abcdef"}}),
        )
        .await?;
    assert!(text(&gone).contains("is not held"), "{gone}");
    lab.finish().await?;

    let seen = upstream.requests();
    let upload = seen.iter().find(|r| r.uri == "/bodies/upload").expect("the upload");
    let pdf = mcpgen_tests::faults::file_bytes("big.pdf");
    let sent = mcpgen_tests::faults::file_part(&upload.body, "big.pdf", "application/pdf", pdf.len());
    assert_eq!(sent, Some(pdf.as_slice()));
    let blob = seen.iter().find(|r| r.uri == "/bodies/blob").expect("the blob");
    assert_eq!(blob.body, [0x89, b'P', b'N', b'G', 0, 1, 2]);
    assert_eq!(blob.headers["content-type"], "image/png");
    // Refused references never reached the API.
    assert_eq!(seen.iter().filter(|r| r.uri == "/bodies/blob").count(), 1);
    Ok(())
}

/// Long-running operations, without the tasks extension: a job that ends
/// within the call's deadline is waited for (its `Retry-After` honoured), and
/// the call answers with the job's result; one that doesn't gives an
/// `operation` id that `wait_for_operation` waits on until it ends. A status
/// read through another tool (`startReport` → `getJob`) works the same.
#[tokio::test]
async fn long_running_operations_are_followed_within_the_deadline_and_after() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut lab = Lab::start(&env(&upstream.base_url, mcpgen_tests::faults::OAUTH_CLIENT), &[]).await?;
    let tools = lab.request("tools/list", json!({})).await?;
    let names: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"wait_for_operation"), "{names:?}");

    // Two checks, a second apart (Retry-After: 1), then the result.
    let (done, took) = lab.call("start_job", json!({"steps": 2})).await?;
    assert!(!is_error(&done), "{done}");
    assert_eq!(done["structuredContent"]["status"], "succeeded", "{done}");
    assert_eq!(done["structuredContent"]["result"]["rows"], 3, "{done}");
    assert!(
        text(&done).contains("POST /jobs was accepted, then ended after"),
        "{done}"
    );
    assert!(took >= Duration::from_secs(2), "Retry-After was not honoured: {took:?}");
    let id = done["structuredContent"]["id"].as_str().unwrap().to_string();
    assert_eq!(upstream.count("GET", &format!("/jobs/{id}")), 3);

    // Longer than the lab's 6 s deadline: an id to wait on, then the result.
    let (running, took) = lab.call("start_job", json!({"steps": 7})).await?;
    assert!(!is_error(&running), "{running}");
    assert!(took < Duration::from_secs(7), "{took:?}");
    let operation = running["structuredContent"]["operation"]["id"]
        .as_str()
        .expect("an operation id")
        .to_string();
    assert!(operation.starts_with("op_"), "{running}");
    assert!(
        text(&running).contains("call `wait_for_operation` with {\"operation\": \"op_"),
        "{running}"
    );
    let (waited, _) = lab.call("wait_for_operation", json!({"operation": operation})).await?;
    assert!(!is_error(&waited), "{waited}");
    assert_eq!(waited["structuredContent"]["status"], "succeeded", "{waited}");
    // Used up: the id is gone, and the error says what to do.
    let (again, _) = lab.call("wait_for_operation", json!({"operation": operation})).await?;
    assert!(
        is_error(&again) && text(&again).contains("is held for this caller"),
        "{again}"
    );

    // The status through getJob, with the id from the 202's body.
    let (report, _) = lab.call("start_report", json!({"steps": 1})).await?;
    assert!(!is_error(&report), "{report}");
    assert_eq!(report["structuredContent"]["status"], "succeeded", "{report}");
    lab.finish().await?;
    Ok(())
}

/// With the tasks extension (declared at initialize), a job still running
/// after its 202 becomes an MCP task: `tasks/get` reports it working (with
/// the API's status and a poll interval) until it completes with the result;
/// `tasks/cancel` stops it at the API (DELETE on the status URL, or the
/// declared cancel operation) and the task reads cancelled. A quick answer
/// stays a plain result.
#[tokio::test]
async fn long_running_operations_become_tasks_for_clients_that_take_them() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let mut lab = Lab::start_declaring(
        &env(&upstream.base_url, mcpgen_tests::faults::OAUTH_CLIENT),
        &[],
        json!({"extensions": {"io.modelcontextprotocol/tasks": {}}}),
    )
    .await?;
    let created = lab
        .request("tools/call", json!({"name": "start_job", "arguments": {"steps": 2}}))
        .await?;
    assert_eq!(created["resultType"], "task", "{created}");
    assert_eq!(created["status"], "working", "{created}");
    assert_eq!(created["pollIntervalMs"], 1000, "{created}");
    let task = created["taskId"].as_str().unwrap().to_string();
    let mut states = Vec::new();
    let completed = loop {
        anyhow::ensure!(states.len() < 20, "the task never completed: {states:?}");
        let got = lab.request("tasks/get", json!({"taskId": task})).await?;
        states.push(got["status"].as_str().unwrap_or("?").to_string());
        if got["status"] != "working" {
            break got;
        }
        assert!(got["pollIntervalMs"].as_u64().unwrap() >= 1000, "{got}");
        tokio::time::sleep(Duration::from_millis(got["pollIntervalMs"].as_u64().unwrap())).await;
    };
    assert_eq!(completed["status"], "completed", "{states:?} {completed}");
    assert_eq!(
        completed["result"]["structuredContent"]["status"], "succeeded",
        "{completed}"
    );
    assert!(states.len() >= 2, "{states:?}");

    let created = lab
        .request("tools/call", json!({"name": "start_job", "arguments": {"steps": 50}}))
        .await?;
    let task = created["taskId"].as_str().unwrap().to_string();
    lab.request("tasks/cancel", json!({"taskId": task})).await?;
    let got = lab.request("tasks/get", json!({"taskId": task})).await?;
    assert_eq!(got["status"], "cancelled", "{got}");
    let deleted = upstream.requests().into_iter().filter(|r| r.method == "DELETE").count();
    assert_eq!(deleted, 1);
    // A job whose status comes from getJob is stopped with its cancel operation (cancelJob).
    let created = lab
        .request(
            "tools/call",
            json!({"name": "start_report", "arguments": {"steps": 50}}),
        )
        .await?;
    let task = created["taskId"].as_str().unwrap().to_string();
    lab.request("tasks/cancel", json!({"taskId": task})).await?;
    let got = lab.request("tasks/get", json!({"taskId": task})).await?;
    assert_eq!(got["status"], "cancelled", "{got}");
    let deleted: Vec<String> = upstream
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.uri)
        .collect();
    assert_eq!(deleted.len(), 2, "{deleted:?}");
    assert!(deleted[1].starts_with("/jobs/job-50-"), "{deleted:?}");

    // Another caller's or an unknown task: an error, not an oracle.
    let unknown = lab
        .request("tasks/get", json!({"taskId": "op_0000"}))
        .await
        .expect_err("unknown task");
    assert!(unknown.to_string().contains("no task op_0000 is held"), "{unknown}");
    // A tool without a 202 answers as ever.
    let (plain, _) = lab.call("get_job", json!({"jobId": "job-0-1"})).await?;
    assert_eq!(plain["structuredContent"]["status"], "succeeded", "{plain}");
    lab.finish().await?;
    Ok(())
}

/// The same through rmcp's client, which declares the tasks extension at
/// initialize: `call_tool_once` answers with a task, `get_task` follows it to
/// its result, `cancel_task` stops another at the API.
#[tokio::test]
async fn rmcps_client_follows_a_task_to_its_result() -> anyhow::Result<()> {
    use rmcp::ServiceExt;
    use rmcp::model::{
        CallToolRequestParams, CallToolResponse, CancelTaskParams, ClientCapabilities, ClientConfig, GetTaskParams,
        Implementation, TaskPayload, TaskStatus,
    };
    let upstream = Recorder::start().await?;
    let mut command = tokio::process::Command::new(built_binary("upstream-lab-mcp"));
    command
        .env_clear()
        .envs(env(&upstream.base_url, mcpgen_tests::faults::OAUTH_CLIENT));
    let (transport, _) = rmcp::transport::TokioChildProcess::builder(command)
        .stderr(Stdio::null())
        .spawn()?;
    let info = ClientConfig::new(
        ClientCapabilities::builder().enable_tasks().build(),
        Implementation::new("mcpgen-tests", "0"),
    );
    let client = tokio::time::timeout(Duration::from_secs(20), info.serve(transport)).await??;
    let start = |steps: u32| {
        CallToolRequestParams::new("start_job").with_arguments(json!({"steps": steps}).as_object().cloned().unwrap())
    };
    let CallToolResponse::Task(created) = client.call_tool_once(start(1)).await? else {
        anyhow::bail!("no task");
    };
    let id = created.task.task_id.clone();
    assert_eq!(created.task.status, TaskStatus::Working);
    let mut polls = 0;
    let result = loop {
        anyhow::ensure!(polls < 20, "the task never completed");
        polls += 1;
        let got = client.get_task(GetTaskParams::new(id.clone())).await?;
        match got.task.payload {
            TaskPayload::Completed { result } => break Value::Object(result),
            TaskPayload::Working => {
                let wait = got.task.task.poll_interval_ms.unwrap_or(1000);
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            other => anyhow::bail!("unexpected {other:?}"),
        }
    };
    assert_eq!(result["structuredContent"]["status"], "succeeded", "{result}");

    let CallToolResponse::Task(created) = client.call_tool_once(start(50)).await? else {
        anyhow::bail!("no task");
    };
    client
        .cancel_task(CancelTaskParams::new(created.task.task_id.clone()))
        .await?;
    let got = client.get_task(GetTaskParams::new(created.task.task_id)).await?;
    assert_eq!(got.task.status(), TaskStatus::Cancelled);
    assert_eq!(upstream.requests().iter().filter(|r| r.method == "DELETE").count(), 1);
    client.cancel().await?;
    Ok(())
}

/// Over stdio a result link or an operation id belongs to its session: a
/// second session (another process, as each stdio client gets) holding
/// them is refused exactly as for ids nobody made.
#[tokio::test]
async fn another_stdio_session_cannot_reach_a_sessions_results_or_jobs() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let env = env(&upstream.base_url, mcpgen_tests::faults::OAUTH_CLIENT);
    let mut a = Lab::start(&env, &["--result-budget", "20000"]).await?;
    let mut b = Lab::start(&env, &["--result-budget", "20000"]).await?;
    let (r, _) = a.call("get_fault", json!({"kind": "many"})).await?;
    let link = r["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "resource_link")
        .expect("a resource_link")["uri"]
        .as_str()
        .unwrap()
        .to_string();
    a.request("resources/read", json!({"uri": link})).await?;
    let theirs = b.request("resources/read", json!({"uri": link})).await.unwrap_err();
    let nobodys_link = "mcpgen://results/0123456789abcdef0123456789abcdef";
    let nobodys = b
        .request("resources/read", json!({"uri": nobodys_link}))
        .await
        .unwrap_err();
    // The JSON-RPC errors, apart from the request ids.
    let error = |e: anyhow::Error, id: &str| e.to_string().split_once("\"error\":").unwrap().1.replace(id, "<id>");
    assert_eq!(error(theirs, &link), error(nobodys, nobodys_link));
    let (running, _) = a.call("start_job", json!({"steps": 7})).await?;
    let operation = running["structuredContent"]["operation"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (theirs, _) = b.call("wait_for_operation", json!({"operation": operation})).await?;
    let (nobodys, _) = b
        .call("wait_for_operation", json!({"operation": "op_0123456789abcdef"}))
        .await?;
    assert!(is_error(&theirs), "{theirs}");
    assert_eq!(
        text(&theirs).replace(&operation, "<id>"),
        text(&nobodys).replace("op_0123456789abcdef", "<id>")
    );
    let (waited, _) = a.call("wait_for_operation", json!({"operation": operation})).await?;
    assert_eq!(waited["structuredContent"]["status"], "succeeded", "{waited}");
    a.finish().await?;
    b.finish().await?;
    Ok(())
}
