//! A bounded soak: the upstream lab's generated server, over HTTP and over
//! stdio at once, called by several clients with a mix of tools while the
//! upstream fails in every way it knows (5xx, 429 with a huge or invalid
//! `Retry-After`, hangs, resets, trickled, oversized and compressed bodies,
//! echoed credentials). Passes when every request was answered, both
//! servers' RSS stayed flat (end ≤ 1.2 × after warm-up; a figure that can't
//! be read fails), nothing panicked in either server's log, and a canary
//! planted in every credential never appeared in a result, either server's
//! log lines or the metrics.
//!
//!   cargo run -p mcpgen-tests --example soak -- [SECONDS] [--plant unanswered]
//!
//! `--plant unanswered` sends one request that can't be answered in time (a
//! 1 ms client timeout): the soak must then fail (`.ci/run` checks it does).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mcpgen_tests::{HttpServer, Recorder, built_binary, faults::OAUTH_CLIENT};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

const CANARY: &str = "soakcanary7f3e91";
const TOKEN: &str = "tok_soak_4d2c9e1b";
const HTTP_CLIENTS: usize = 6;

/// The calls the clients cycle through: every fault, paging, bodies and each credential kind.
fn mix() -> Vec<(&'static str, Value)> {
    let faults = [
        "flaky",
        "unavailable",
        "throttled",
        "throttled-no-hint",
        "throttled-forever",
        "throttled-garbage",
        "slow",
        "slow-body",
        "huge",
        "gzip-bomb",
        "invalid-json",
        "wrong-type",
        "redirect",
        "reset",
        "echo",
        "echo-ok",
        "personal",
    ];
    let mut mix: Vec<(&str, Value)> = faults.iter().map(|kind| ("get_fault", json!({"kind": kind}))).collect();
    mix.extend([
        ("pages_cursor", json!({"limit": 3})),
        ("pages_linked", json!({})),
        ("json_body", json!({"name": "Rex"})),
        ("json_body", json!({"name": 5})),
        ("auth_header", json!({})),
        ("auth_query", json!({})),
        ("auth_cookie", json!({})),
        ("auth_bearer", json!({})),
        ("auth_basic", json!({})),
        ("auth_oauth", json!({})),
    ]);
    mix
}

fn env(base_url: &str) -> Vec<(String, String)> {
    let mut env = mcpgen_tests::lab_env(base_url, CANARY, OAUTH_CLIENT);
    env.extend([
        ("UPSTREAM_LAB_MCP_TOKENS".to_string(), TOKEN.to_string()),
        // rmcp logs every request it receives, arguments and all, at debug.
        ("RUST_LOG".to_string(), "info,rmcp=debug".to_string()),
    ]);
    env
}

/// A process's resident memory: an error when it can't be read, so the
/// memory check can never pass on two missing figures.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .filter(|&kib: &u64| kib > 0);
    kib.ok_or_else(|| anyhow::anyhow!("/proc/{pid}/status has no VmRSS"))
}

#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    answered: AtomicU64,
    tool_errors: AtomicU64,
    unanswered: AtomicU64,
    canary_hits: AtomicU64,
}

impl Tally {
    fn answer(&self, text: &str, is_error: bool) {
        self.answered.fetch_add(1, Ordering::Relaxed);
        if is_error {
            self.tool_errors.fetch_add(1, Ordering::Relaxed);
        }
        if text.contains(CANARY) {
            self.canary_hits.fetch_add(1, Ordering::Relaxed);
            eprintln!("CANARY in an answer: {text}");
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds: u64 = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .map_or(Ok(120), |s| s.parse())?;
    let plant_unanswered = match args.iter().position(|a| a == "--plant") {
        Some(at) if args.get(at + 1).map(String::as_str) == Some("unanswered") => true,
        Some(_) => anyhow::bail!("--plant takes `unanswered`"),
        None => false,
    };
    let duration = Duration::from_secs(seconds);
    let upstream = Recorder::start().await?;
    let env = env(&upstream.base_url);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = HttpServer::start_package("upstream-lab-mcp", &["--rate-limit", "0"], &pairs)?;
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let until = started + duration;
    let mix = Arc::new(mix());

    let mut clients = Vec::new();
    for n in 0..HTTP_CLIENTS {
        let (url, tally, mix) = (server.url.clone(), tally.clone(), mix.clone());
        clients.push(tokio::spawn(async move {
            let http = mcpgen_tests::http_client()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap();
            let mut i = n * 7;
            if plant_unanswered && n == 0 {
                tally.sent.fetch_add(1, Ordering::Relaxed);
                let hurried = http.post(&url).timeout(Duration::from_millis(1)).bearer_auth(TOKEN);
                let body = json!({"jsonrpc": "2.0", "id": 0, "method": "tools/call",
                    "params": {"name": "get_fault", "arguments": {"kind": "slow"}}});
                if let Err(e) = hurried.body(body.to_string()).send().await {
                    tally.unanswered.fetch_add(1, Ordering::Relaxed);
                    eprintln!("unanswered (planted): {e}");
                }
            }
            while Instant::now() < until {
                let (tool, arguments) = &mix[i % mix.len()];
                i += 1;
                let body = json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                    "params": {"name": tool, "arguments": arguments}});
                tally.sent.fetch_add(1, Ordering::Relaxed);
                let response = http
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .header("mcp-protocol-version", "2025-11-25")
                    .body(body.to_string())
                    .send()
                    .await;
                let answer = match response {
                    Ok(r) if r.status() == 200 => {
                        r.text().await.ok().and_then(|t| serde_json::from_str::<Value>(&t).ok())
                    }
                    _ => None,
                };
                match answer {
                    Some(a) if a["result"].is_object() => {
                        tally.answer(&a.to_string(), a["result"]["isError"] == true);
                    }
                    other => {
                        tally.unanswered.fetch_add(1, Ordering::Relaxed);
                        eprintln!("unanswered: {tool} {arguments}: {other:?}");
                    }
                }
            }
        }));
    }
    // A stdio client too, with its own server process.
    let stdio_pid;
    let stdio_log;
    {
        let (tally, mix) = (tally.clone(), mix.clone());
        let mut command = tokio::process::Command::new(built_binary("upstream-lab-mcp"));
        command.env_clear().envs(env.iter().cloned());
        let (transport, stderr) = TokioChildProcess::builder(command)
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        stdio_pid = transport
            .id()
            .ok_or_else(|| anyhow::anyhow!("the stdio server has no pid"))?;
        // Drained all along (a full pipe would block the server's logging), read at the end.
        let mut stderr = stderr.ok_or_else(|| anyhow::anyhow!("the stdio server's stderr"))?;
        stdio_log = tokio::spawn(async move {
            let mut log = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut log).await;
            log
        });
        let client = ().serve(transport).await?;
        clients.push(tokio::spawn(async move {
            let mut i = 3;
            while Instant::now() < until {
                let (tool, arguments) = &mix[i % mix.len()];
                i += 1;
                tally.sent.fetch_add(1, Ordering::Relaxed);
                let call = CallToolRequestParams::new(*tool).with_arguments(arguments.as_object().unwrap().clone());
                match tokio::time::timeout(Duration::from_secs(30), client.call_tool(call)).await {
                    Ok(Ok(result)) => {
                        tally.answer(&serde_json::to_string(&result).unwrap(), result.is_error == Some(true))
                    }
                    other => {
                        tally.unanswered.fetch_add(1, Ordering::Relaxed);
                        eprintln!("stdio unanswered: {tool}: {other:?}");
                    }
                }
            }
            let _ = client.cancel().await;
        }));
    }

    // Each server's RSS after warm-up (a fifth of the run), at the middle, and
    // at the end (the stdio server's just before its client leaves).
    let pid = server.pid();
    let at = |fraction: f64| started + duration.mul_f64(fraction);
    tokio::time::sleep_until(at(0.2).into()).await;
    let (warm, stdio_warm) = (rss_kib(pid)?, rss_kib(stdio_pid)?);
    tokio::time::sleep_until(at(0.6).into()).await;
    let middle = rss_kib(pid)?;
    tokio::time::sleep_until(until.into()).await;
    let stdio_end = rss_kib(stdio_pid)?;
    for client in clients {
        client.await?;
    }
    let end = rss_kib(pid)?;
    let metrics = mcpgen_tests::metrics_text(&server.base, TOKEN).await?;
    let (status, log) = tokio::task::spawn_blocking(move || server.terminate()).await??;
    let stdio_log = tokio::time::timeout(Duration::from_secs(40), stdio_log).await??;
    // The panic hook's line, and the audit event of a call the panic net answered.
    let panicked = |log: &str| log.matches("panicked").count() + log.matches("internal_error").count();
    let panics = panicked(&log) + panicked(&stdio_log);
    let canary = tally.canary_hits.load(Ordering::Relaxed) as usize
        + log.matches(CANARY).count()
        + stdio_log.matches(CANARY).count()
        + metrics.matches(CANARY).count();

    let (sent, answered) = (
        tally.sent.load(Ordering::Relaxed),
        tally.answered.load(Ordering::Relaxed),
    );
    println!(
        "soak: {seconds} s, {HTTP_CLIENTS} HTTP clients and 1 stdio client, {} tools in the mix",
        mix.len()
    );
    println!(
        "soak: requests sent {sent}, answered {answered} ({} tool errors), unanswered {}",
        tally.tool_errors.load(Ordering::Relaxed),
        tally.unanswered.load(Ordering::Relaxed)
    );
    println!(
        "soak: HTTP server RSS after warm-up {:.1} MiB, middle {:.1} MiB, end {:.1} MiB (end/warm {:.2})",
        warm as f64 / 1024.0,
        middle as f64 / 1024.0,
        end as f64 / 1024.0,
        end as f64 / warm as f64
    );
    println!(
        "soak: stdio server RSS after warm-up {:.1} MiB, end {:.1} MiB (end/warm {:.2}); logs read: HTTP {} lines, stdio {} lines",
        stdio_warm as f64 / 1024.0,
        stdio_end as f64 / 1024.0,
        stdio_end as f64 / stdio_warm as f64,
        log.lines().count(),
        stdio_log.lines().count()
    );
    println!(
        "soak: panics {panics}, canary hits {canary} (answers, both servers' logs, /metrics); server exit {status}"
    );
    let mut failed = Vec::new();
    if answered != sent {
        failed.push("not every request was answered");
    }
    if end as f64 > 1.2 * warm as f64 {
        failed.push("the HTTP server's RSS grew more than 20% after warm-up");
    }
    if stdio_end as f64 > 1.2 * stdio_warm as f64 {
        failed.push("the stdio server's RSS grew more than 20% after warm-up");
    }
    if panics > 0 {
        failed.push("something panicked");
    }
    if canary > 0 {
        failed.push("a credential leaked");
    }
    if !status.success() {
        failed.push("the server did not exit cleanly on SIGTERM");
    }
    anyhow::ensure!(failed.is_empty(), "soak failed: {}", failed.join("; "));
    println!("soak: passed");
    Ok(())
}
