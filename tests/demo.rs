//! The README's first command, after `generate`: builds the example server
//! (`petstore-mcp`), starts a local mock of the Petstore API on loopback,
//! starts the server over stdio as a host would and makes a real call through
//! an MCP client (rmcp's), printing what each side saw.
//!
//! `cargo run -p mcpgen-tests --example demo`

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use mcpgen_tests::built_binary;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::json;

const DEMO_KEY: &str = "demo-key";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let binary = built_binary("petstore-mcp");
    println!("built {}", binary.display());

    // The mock: `GET /pets/{id}` as the spec's example answers it, only with the key.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/pets/{id}",
        axum::routing::get(move |Path(id): Path<String>, headers: HeaderMap| {
            let log = log.clone();
            async move {
                let key = headers.get("x-api-key").and_then(|v| v.to_str().ok()).unwrap_or("");
                let verdict = if key == DEMO_KEY { "the right" } else { "a wrong or no" };
                log.lock()
                    .unwrap()
                    .push(format!("GET /pets/{id} with {verdict} X-API-Key"));
                if key != DEMO_KEY {
                    return (
                        StatusCode::UNAUTHORIZED,
                        r#"{"code":401,"message":"bad key"}"#.to_string(),
                    )
                        .into_response();
                }
                let Ok(id) = id.parse::<i64>() else {
                    return (
                        StatusCode::BAD_REQUEST,
                        r#"{"code":400,"message":"bad id"}"#.to_string(),
                    )
                        .into_response();
                };
                let pet =
                    json!({"id": id, "name": "Rex", "category": "dog", "status": "available", "tags": ["friendly"]});
                ([("content-type", "application/json")], pet.to_string()).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("mock Petstore API on {base_url}");

    let mut command = tokio::process::Command::new(&binary);
    command
        .env("PETSTORE_BASE_URL", &base_url)
        .env("PETSTORE_API_KEY", DEMO_KEY)
        .env("RUST_LOG", "warn");
    let client = ().serve(TokioChildProcess::new(command)?).await?;
    let tools = client.list_all_tools().await?;
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    println!("petstore-mcp over stdio: {} tools: {}", tools.len(), names.join(", "));

    let arguments = json!({"petId": 1});
    println!("-> tools/call get_pet_by_id {arguments}");
    let params = CallToolRequestParams::new("get_pet_by_id").with_arguments(arguments.as_object().cloned().unwrap());
    let result = tokio::time::timeout(Duration::from_secs(30), client.call_tool(params)).await??;
    let text: Vec<String> = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect();
    println!(
        "<- {}{}",
        if result.is_error == Some(true) { "error: " } else { "" },
        text.join("\n")
    );
    for line in seen.lock().unwrap().iter() {
        println!("the API saw: {line}");
    }
    client.cancel().await?;
    anyhow::ensure!(result.is_error != Some(true), "the call failed");
    Ok(())
}
