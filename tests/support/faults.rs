//! The misbehaving and paging parts of the recording upstream: each path is
//! one fault (`/faults/*`), an OAuth2 token endpoint and protected route
//! (`/oauth/token`, `/auth/oauth`), or a paginated list (`/pages/*`).
//! `seen` is how many requests with this method and path arrived, this one
//! included, so "fail twice, then answer" needs no extra state.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Bytes of the huge and decompressed-bomb bodies.
pub const HUGE_BYTES: usize = 100 * 1024 * 1024;
pub const OAUTH_CLIENT: (&str, &str) = ("lab-client", "lab-client-secret");
/// Items in every paginated list.
pub const PAGED_ITEMS: usize = 10;

/// A list of 400 issues (about 40 KB of JSON, quotes and non-ASCII included):
/// more than a small result budget, less than the lab's response cap.
pub fn many() -> Value {
    let items: Vec<Value> = (0..400)
        .map(|i| json!({"id": i, "title": format!("Issue \"{i}\": naïve café"), "labels": ["bug"]}))
        .collect();
    json!({"total_count": 400, "incomplete_results": false, "items": items})
}

/// 30 issues with everything an issue tracker sends (bodies, label colors,
/// avatars): what projection (`tools.searchIssues.response`) trims.
pub fn issues() -> Value {
    let items: Vec<Value> = (1..=30)
        .map(|i| {
            json!({
                "id": i,
                "title": format!("Issue {i}"),
                "body": "Steps to reproduce: start the app without a config file. ".repeat(4),
                "labels": [{"name": "bug", "color": "d73a4a"}, {"name": "p1", "color": "b60205"}, {"name": "ui", "color": "0e8a16"}],
                "user": {"login": format!("user{i}"), "avatar_url": format!("https://avatars.example.com/u/{i}?v=4")},
            })
        })
        .collect();
    json!({"total_count": 30, "incomplete_results": false, "items": items})
}

/// The bytes of `/uploads/files/<name>`: `big.pdf` is 20,000 bytes (over a
/// small result budget), any other name 64; never valid UTF-8.
pub fn file_bytes(name: &str) -> Vec<u8> {
    let len = if name == "big.pdf" { 20_000 } else { 64 };
    (0..len).map(|i| (i * 7 % 251) as u8 | 0x80).collect()
}

/// The bytes of the multipart file part named `filename` of type
/// `media_type` in `body`, `len` long; `None` when there is no such part.
pub fn file_part<'a>(body: &'a [u8], filename: &str, media_type: &str, len: usize) -> Option<&'a [u8]> {
    let head = format!("name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {media_type}\r\n\r\n");
    let at = body.windows(head.len()).position(|w| w == head.as_bytes())? + head.len();
    body.get(at..at + len)
}

pub fn json_response(status: StatusCode, value: Value) -> Response {
    (status, [("content-type", "application/json")], value.to_string()).into_response()
}

fn query(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| {
            q.split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn number(uri: &Uri, name: &str, default: usize) -> usize {
    query(uri)
        .into_iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(default)
}

fn text(uri: &Uri, name: &str) -> Option<String> {
    query(uri).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// A body that sends `total` bytes in 64 KiB chunks, lazily.
fn streamed(total: usize) -> Body {
    let chunk = axum::body::Bytes::from(vec![b'x'; 64 * 1024]);
    let stream = futures_util::stream::unfold(0usize, move |sent| {
        let chunk = chunk.clone();
        async move { (sent < total).then(|| (Ok::<_, std::io::Error>(chunk.clone()), sent + chunk.len())) }
    });
    Body::from_stream(stream)
}

/// 100 MiB of zeros, gzip-compressed (about 100 KiB).
fn gzip_bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..HUGE_BYTES / zeros.len() {
            encoder.write_all(&zeros).expect("in memory");
        }
        encoder.finish().expect("in memory")
    })
}

/// Everything the request carried, as a 500 body: an API that echoes credentials.
fn echo_everything(uri: &Uri, headers: &HeaderMap) -> Value {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), json!(String::from_utf8_lossy(v.as_bytes()))))
        .collect();
    json!({"message": "debug dump", "uri": uri.to_string(), "headers": headers})
}

pub async fn answer(method: &Method, uri: &Uri, headers: &HeaderMap, seen: usize) -> Option<Response> {
    let path = uri.path();
    if let Some(fault) = path.strip_prefix("/faults/") {
        return Some(fault_response(fault, uri, headers, seen).await);
    }
    if let Some(list) = path.strip_prefix("/pages/") {
        return Some(page(list, uri, headers));
    }
    match (method, path) {
        (&Method::POST, "/oauth/token") => Some(token(headers, seen)),
        (&Method::GET, "/issues") => Some(json_response(StatusCode::OK, issues())),
        (&Method::POST, "/jobs" | "/reports") => Some(start_job(path, uri)),
        (_, job) if job.starts_with("/jobs/") => Some(job_status(method, &job["/jobs/".len()..], seen)),
        (&Method::GET, file) if file.starts_with("/uploads/files/") => Some(
            (
                StatusCode::OK,
                [("content-type", "application/pdf")],
                file_bytes(&file["/uploads/files/".len()..]),
            )
                .into_response(),
        ),
        (_, "/auth/oauth") => {
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
            // The first token is "revoked": the server must fetch a new one once.
            Some(match auth {
                "Bearer tok-1" | "" => json_response(StatusCode::UNAUTHORIZED, json!({"error": "invalid_token"})),
                _ => json_response(StatusCode::OK, json!({"ok": true})),
            })
        }
        _ => None,
    }
}

/// Jobs cancelled with `DELETE /jobs/<id>`.
fn cancelled_jobs() -> &'static std::sync::Mutex<std::collections::HashSet<String>> {
    static CANCELLED: OnceLock<std::sync::Mutex<std::collections::HashSet<String>>> = OnceLock::new();
    CANCELLED.get_or_init(Default::default)
}

/// A job that ends after `steps` status checks (`?steps=`, default 2): 202
/// with `Location` and `Retry-After: 1` for `/jobs`, 202 naming the job in
/// its body for `/reports`.
fn start_job(path: &str, uri: &Uri) -> Response {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = format!("job-{}-{n}", number(uri, "steps", 2));
    if path == "/reports" {
        return json_response(StatusCode::ACCEPTED, json!({"job": {"id": id}}));
    }
    let mut response = json_response(StatusCode::ACCEPTED, json!({"id": id, "status": "queued"}));
    let headers = response.headers_mut();
    headers.insert("location", format!("/jobs/{id}").parse().expect("ASCII"));
    headers.insert("retry-after", "1".parse().expect("ASCII"));
    response
}

/// `GET /jobs/<id>`: running until its `seen`-th check passes its steps;
/// `DELETE` cancels it.
fn job_status(method: &Method, id: &str, seen: usize) -> Response {
    let steps: usize = id.split('-').nth(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let mut cancelled = cancelled_jobs().lock().unwrap_or_else(|p| p.into_inner());
    if *method == Method::DELETE {
        cancelled.insert(id.to_string());
        return StatusCode::NO_CONTENT.into_response();
    }
    if cancelled.contains(id) {
        return json_response(StatusCode::OK, json!({"id": id, "status": "cancelled"}));
    }
    if seen <= steps {
        let mut response = json_response(StatusCode::OK, json!({"id": id, "status": "running"}));
        response
            .headers_mut()
            .insert("retry-after", "1".parse().expect("ASCII"));
        return response;
    }
    json_response(
        StatusCode::OK,
        json!({"id": id, "status": "succeeded", "result": {"rows": 3}}),
    )
}

fn token(headers: &HeaderMap, seen: usize) -> Response {
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", OAUTH_CLIENT.0, OAUTH_CLIENT.1))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_client", "error_description": "unknown client"}),
        );
    }
    json_response(
        StatusCode::OK,
        json!({"access_token": format!("tok-{seen}"), "token_type": "bearer", "expires_in": 3600}),
    )
}

async fn fault_response(fault: &str, uri: &Uri, headers: &HeaderMap, seen: usize) -> Response {
    match fault {
        "flaky" if seen <= 2 => json_response(StatusCode::SERVICE_UNAVAILABLE, json!({"error": "warming up"})),
        "flaky" => json_response(StatusCode::OK, json!({"ok": true, "attempt": seen})),
        "unavailable" => json_response(StatusCode::BAD_GATEWAY, json!({"error": "upstream down"})),
        "throttled" if seen == 1 => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1"), ("content-type", "application/json")],
            r#"{"error":"slow down"}"#,
        )
            .into_response(),
        "throttled" => json_response(StatusCode::OK, json!({"ok": true, "attempt": seen})),
        "throttled-no-hint" => json_response(StatusCode::TOO_MANY_REQUESTS, json!({"error": "slow down"})),
        // Past any clock's range (2^64 - 1 seconds), and not a number at all.
        "throttled-forever" => (
            StatusCode::TOO_MANY_REQUESTS,
            [
                ("retry-after", "18446744073709551615"),
                ("content-type", "application/json"),
            ],
            r#"{"error":"never"}"#,
        )
            .into_response(),
        "throttled-garbage" => (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "-1e999"), ("content-type", "application/json")],
            r#"{"error":"soon"}"#,
        )
            .into_response(),
        "throttled-long" => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "3600"), ("content-type", "application/json")],
            r#"{"error":"come back in an hour"}"#,
        )
            .into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            json_response(StatusCode::OK, json!({"late": true}))
        }
        "slow-body" => {
            let stream = futures_util::stream::unfold(0u32, |n| async move {
                if n > 0 {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                (n < 40).then(|| (Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b" ")), n + 1))
            });
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                Body::from_stream(stream),
            )
                .into_response()
        }
        "many" => json_response(StatusCode::OK, many()),
        "huge" => (StatusCode::OK, [("content-type", "text/plain")], streamed(HUGE_BYTES)).into_response(),
        "gzip-bomb" => (
            StatusCode::OK,
            [("content-type", "text/plain"), ("content-encoding", "gzip")],
            gzip_bomb(),
        )
            .into_response(),
        "invalid-json" => (
            StatusCode::OK,
            [("content-type", "application/json")],
            r#"{"broken": tru"#,
        )
            .into_response(),
        "wrong-type" => (
            StatusCode::OK,
            [("content-type", "text/html")],
            "<html><body>maintenance</body></html>",
        )
            .into_response(),
        "redirect" => (StatusCode::FOUND, [("location", "http://127.0.0.2:9/steal")], "").into_response(),
        // The connection drops mid-body.
        "reset" => {
            let stream = futures_util::stream::iter([
                Ok(axum::body::Bytes::from_static(br#"{"partial": "#)),
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset")),
            ]);
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                Body::from_stream(stream),
            )
                .into_response()
        }
        "echo" => json_response(StatusCode::INTERNAL_SERVER_ERROR, echo_everything(uri, headers)),
        "echo-ok" => json_response(StatusCode::OK, echo_everything(uri, headers)),
        "personal" => json_response(
            StatusCode::OK,
            json!({
                "owner": {"name": "Ann", "email": "ann@example.com", "password": "hunter2"},
                "data": [{"id": 1, "secret": "s1", "note": "ssn 123-45-6789"}],
            }),
        ),
        _ => json_response(StatusCode::NOT_FOUND, json!({"error": format!("no fault `{fault}`")})),
    }
}

/// `PAGED_ITEMS` items `{"id": "obj_N", "n": N}` (N from 1) in the list's scheme.
fn page(list: &str, uri: &Uri, headers: &HeaderMap) -> Response {
    let item = |n: usize| json!({"id": format!("obj_{n}"), "n": n});
    let slice = |start: usize, size: usize| -> Vec<Value> {
        (start..(start + size).min(PAGED_ITEMS)).map(|i| item(i + 1)).collect()
    };
    match list {
        "cursor" => {
            let start = text(uri, "cursor").and_then(|c| c.strip_prefix('c').map(str::to_string));
            let start: usize = start.and_then(|s| s.parse().ok()).unwrap_or(0);
            let size = number(uri, "limit", 3);
            let next = (start + size < PAGED_ITEMS).then(|| format!("c{}", start + size));
            json_response(
                StatusCode::OK,
                json!({"data": slice(start, size), "meta": {"next_cursor": next}}),
            )
        }
        "stripe" => {
            let start = text(uri, "starting_after")
                .and_then(|id| id.strip_prefix("obj_").and_then(|n| n.parse::<usize>().ok()))
                .unwrap_or(0);
            let size = number(uri, "limit", 3);
            json_response(
                StatusCode::OK,
                json!({"object": "list", "data": slice(start, size), "has_more": start + size < PAGED_ITEMS}),
            )
        }
        "offset" => {
            let size = number(uri, "limit", 3);
            json_response(
                StatusCode::OK,
                json!({"results": slice(number(uri, "offset", 0), size), "count": PAGED_ITEMS}),
            )
        }
        "numbered" => {
            let size = number(uri, "per_page", 3);
            json_response(StatusCode::OK, json!(slice((number(uri, "page", 1) - 1) * size, size)))
        }
        "linked" => {
            let size = number(uri, "per_page", 3);
            let page = number(uri, "page", 1);
            let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1");
            let mut response = json_response(StatusCode::OK, json!(slice((page - 1) * size, size)));
            if page * size < PAGED_ITEMS {
                let link = format!(
                    r#"<http://{host}/pages/linked?page=1&per_page={size}>; rel="first", <http://{host}/pages/linked?page={}&per_page={size}>; rel="next""#,
                    page + 1
                );
                response.headers_mut().insert("link", link.parse().expect("ASCII"));
            }
            response
        }
        "custom" => {
            let start: usize = text(uri, "after").and_then(|a| a.parse().ok()).unwrap_or(0);
            let next = (start + 3 < PAGED_ITEMS).then(|| (start + 3).to_string());
            json_response(
                StatusCode::OK,
                json!({"rows": slice(start, 3), "paging": {"after": next}}),
            )
        }
        _ => json_response(StatusCode::NOT_FOUND, json!({"error": "no such list"})),
    }
}
