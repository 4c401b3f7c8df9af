//! A bounded soak: the upstream lab's generated server, over HTTP and over
//! stdio at once, called by several clients with a mix of tools while the
//! upstream fails in every way it knows (5xx, 429 with a huge or invalid
//! `Retry-After`, hangs, resets, trickled, oversized and compressed bodies,
//! echoed credentials). Passes when every request was answered, the HTTP
//! server's RSS stayed flat (end ≤ 1.2 × after warm-up), nothing panicked,
//! and a canary planted in every credential never appeared in a result, a
//! log line or the metrics.
//!
//!   cargo run -p mcpgen-tests --example soak -- [SECONDS]     (default 120)

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

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
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
    let seconds: u64 = std::env::args().nth(1).map_or(Ok(120), |s| s.parse())?;
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
    {
        let (tally, mix) = (tally.clone(), mix.clone());
        let mut command = tokio::process::Command::new(built_binary("upstream-lab-mcp"));
        command.env_clear().envs(env.iter().cloned());
        let (transport, _) = TokioChildProcess::builder(command)
            .stderr(std::process::Stdio::null())
            .spawn()?;
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

    // RSS after warm-up (a fifth of the run), at the middle, at the end.
    let pid = server.pid();
    let at = |fraction: f64| started + duration.mul_f64(fraction);
    tokio::time::sleep_until(at(0.2).into()).await;
    let warm = rss_kib(pid);
    tokio::time::sleep_until(at(0.6).into()).await;
    let middle = rss_kib(pid);
    for client in clients {
        client.await?;
    }
    let end = rss_kib(pid);
    let metrics = mcpgen_tests::metrics_text(&server.base, TOKEN).await?;
    let (status, log) = tokio::task::spawn_blocking(move || server.terminate()).await??;
    // The panic hook's line, and the audit event of a call the panic net answered.
    let panics = log.matches("panicked").count() + log.matches("internal_error").count();
    let canary = tally.canary_hits.load(Ordering::Relaxed) as usize
        + log.matches(CANARY).count()
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
        end as f64 / warm.max(1) as f64
    );
    println!("soak: panics {panics}, canary hits {canary} (answers, server log, /metrics); server exit {status}");
    let mut failed = Vec::new();
    if answered != sent {
        failed.push("not every request was answered");
    }
    if end as f64 > 1.2 * warm as f64 {
        failed.push("RSS grew more than 20% after warm-up");
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
