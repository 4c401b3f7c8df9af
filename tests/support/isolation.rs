//! "Results, jobs and tasks are readable only by their caller", checked over
//! HTTP for any two credentials of one upstream-lab server (started with
//! `--result-budget 20000`, so a long list becomes a result link): caller B
//! holding caller A's result link, operation id or task id is refused exactly
//! as for an id nobody made (no oracle), the API never hears of B's attempts,
//! and A's items are still there afterwards. Given several replicas' URLs,
//! each request goes to the next one, as a round-robin balancer sends them:
//! every item is made on one replica and read, waited on or refused on others.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::{Recorder, rpc};

/// A 2026-07-28 request: stateless, the client's capabilities (here the
/// tasks extension) carried in its `_meta`.
async fn rpc_with_tasks(url: &Endpoints<'_>, token: &str, method: &str, mut params: Value) -> Value {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
    });
    // The headers 2026-07-28 requires: the method, and what it names.
    let name = params["name"]
        .as_str()
        .or(params["taskId"].as_str())
        .unwrap_or_default()
        .to_string();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", method),
        ("mcp-name", name.as_str()),
    ];
    let response = rpc(url.url(), Some(token), body, &headers).await;
    answer(response).await
}

/// A JSON-RPC answer, from a JSON body or the first `data:` event of a stream.
async fn answer(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.expect("a body");
    assert_eq!(status, 200, "{text}");
    let json = text
        .lines()
        .find_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
        .unwrap_or(&text);
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {text}"))
}

async fn request(url: &Endpoints<'_>, token: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    answer(rpc(url.url(), Some(token), body, &[]).await).await
}

async fn call(url: &Endpoints<'_>, token: &str, tool: &str, arguments: Value) -> Value {
    let answer = request(url, token, "tools/call", json!({"name": tool, "arguments": arguments})).await;
    answer["result"].clone()
}

/// What a refusal says, with the id it names replaced, so the refusal of
/// another caller's id can be compared with that of an id nobody made.
fn said(answer: &Value, id: &str) -> String {
    let text = match answer.get("error") {
        Some(error) => error["message"].to_string(),
        None => {
            assert_eq!(answer["result"]["isError"], true, "not refused: {answer}");
            answer["result"]["content"].to_string()
        }
    };
    assert!(!text.is_empty(), "{answer}");
    text.replace(id, "<id>")
}

/// Where requests go: one server, or replicas taken in turn.
struct Endpoints<'u> {
    urls: &'u [&'u str],
    next: AtomicUsize,
}

impl Endpoints<'_> {
    fn url(&self) -> &str {
        self.urls[self.next.fetch_add(1, Ordering::Relaxed) % self.urls.len()]
    }
}

/// Caller `b` tries everything caller `a` made, through `urls` in turn; see the module's note.
pub async fn check(urls: &[&str], upstream: &Recorder, a: &str, b: &str) {
    let endpoints = Endpoints {
        urls,
        next: AtomicUsize::new(0),
    };
    let url = &endpoints;
    // A result link: A reads it, B is refused as for a link nobody made.
    let result = call(url, a, "get_fault", json!({"kind": "many"})).await;
    let link = result["content"]
        .as_array()
        .expect("content")
        .iter()
        .find(|c| c["type"] == "resource_link")
        .unwrap_or_else(|| panic!("no resource_link: {result}"))["uri"]
        .as_str()
        .unwrap()
        .to_string();
    let mine = request(url, a, "resources/read", json!({"uri": link})).await;
    assert!(mine["result"]["contents"][0]["text"].is_string(), "{mine}");
    let theirs = request(url, b, "resources/read", json!({"uri": link})).await;
    let nobodys_link = "mcpgen://results/0123456789abcdef0123456789abcdef";
    let nobodys = request(url, b, "resources/read", json!({"uri": nobodys_link})).await;
    assert_eq!(
        said(&theirs, &link),
        said(&nobodys, nobodys_link),
        "another caller's result link"
    );
    // A page of it, likewise.
    let page = format!("{link}/pages/2");
    let theirs = request(url, b, "resources/read", json!({"uri": page})).await;
    assert_eq!(
        said(&theirs, &page),
        said(&nobodys, nobodys_link),
        "another caller's page"
    );

    // An operation still running after the call's deadline: B can't wait on it.
    let running = call(url, a, "start_job", json!({"steps": 7})).await;
    let operation = running["structuredContent"]["operation"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no operation id: {running}"))
        .to_string();
    let polls = upstream.requests().len();
    let theirs = call(url, b, "wait_for_operation", json!({"operation": operation})).await;
    let nobodys = call(
        url,
        b,
        "wait_for_operation",
        json!({"operation": "op_0123456789abcdef"}),
    )
    .await;
    assert_eq!(
        said(&json!({"result": theirs}), &operation),
        said(&json!({"result": nobodys}), "op_0123456789abcdef"),
        "another caller's operation"
    );
    assert_eq!(upstream.requests().len(), polls, "B's wait reached the API");
    let waited = call(url, a, "wait_for_operation", json!({"operation": operation})).await;
    assert_eq!(waited["structuredContent"]["status"], "succeeded", "{waited}");

    // A task: B can neither read nor cancel it.
    let created = rpc_with_tasks(
        url,
        a,
        "tools/call",
        json!({"name": "start_job", "arguments": {"steps": 50}}),
    )
    .await;
    let task = created["result"]["taskId"]
        .as_str()
        .unwrap_or_else(|| panic!("no task: {created}"))
        .to_string();
    let before = upstream.requests().len();
    for method in ["tasks/get", "tasks/cancel"] {
        let theirs = rpc_with_tasks(url, b, method, json!({"taskId": task})).await;
        let nobodys = rpc_with_tasks(url, b, method, json!({"taskId": "op_0123456789abcdef"})).await;
        assert_eq!(
            said(&theirs, &task),
            said(&nobodys, "op_0123456789abcdef"),
            "{method} of another caller's task"
        );
    }
    assert_eq!(
        upstream.requests().len(),
        before,
        "B's tasks/get or tasks/cancel reached the API"
    );
    let mine = rpc_with_tasks(url, a, "tasks/get", json!({"taskId": task})).await;
    assert_eq!(
        mine["result"]["status"], "working",
        "B's cancel stopped A's task: {mine}"
    );
    let cancelled = rpc_with_tasks(url, a, "tasks/cancel", json!({"taskId": task})).await;
    assert!(cancelled.get("error").is_none(), "{cancelled}");
}
