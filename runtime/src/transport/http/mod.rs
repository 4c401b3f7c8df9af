//! MCP over streamable HTTP, for shared and remote deployment.
//!
//! `/mcp` is `rmcp`'s streamable HTTP service behind our guard: inbound
//! bearer tokens (constant-time, 401 with `WWW-Authenticate`), a per-token
//! limit on tool calls (answered as a tool error with `Retry-After`), and the `Authorization` header
//! removed before the request goes further, so the inbound token can never
//! reach the upstream or a log. `rmcp` checks `Host` and `Origin` and caps
//! the body. Served statelessly by default, so identical replicas behind a
//! load balancer need no sticky sessions; legacy (2025-11-25) sessions are
//! opt-in, bounded in number and expired when idle. `/healthz` and
//! `/readyz` need no token; `/metrics` does. Tool calls in flight are
//! bounded in all and per caller; connections, request heads and bodies by
//! `listen` and `BODY_READ_TIMEOUT`. SIGTERM/SIGINT stop accepting, let
//! in-flight calls finish (bounded), then close (bounded too).

mod connect;
mod direct;
mod guard;
mod probe;
mod sessions;
mod slots;

use self::direct::*;
use self::guard::*;
use self::probe::readiness;
pub use self::probe::{generate_token, healthcheck};
use self::sessions::*;
use self::slots::*;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_core::Stream;
use rmcp::ErrorData;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, LocalSessionManagerError};
use rmcp::transport::streamable_http_server::session::{ServerSseMessage, SessionId, SessionManager};
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use super::TransportError;
use crate::config::Secret;
use crate::identity::Caller;
use crate::identity::oauth::ResourceServer;
use crate::serve::Server;
use crate::serve::surface::{self, ListRequest};
use crate::state::{RateLimit, Store};

/// How long shutdown waits for in-flight tool calls before closing anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub bind: SocketAddr,
    /// Browser origins allowed to call; any other `Origin` gets 403. Empty
    /// means the loopback origins when bound to loopback, and none otherwise.
    pub allowed_origins: Vec<String>,
    /// Accepted `Host` values; empty means the loopback names when bound to
    /// loopback, and no check otherwise.
    pub allowed_hosts: Vec<String>,
    /// Accepted inbound bearer tokens; empty means no inbound auth (unless `oauth`).
    pub tokens: Vec<Secret>,
    /// OAuth access tokens instead of static ones: this server as a resource server.
    pub oauth: Option<Arc<ResourceServer>>,
    /// Tool calls per minute per token (per client address without auth); 0 = off.
    pub rate_limit_per_minute: u32,
    /// Requests per minute per client address that carry no valid token, or
    /// (with OAuth) one not verified within the last minute; 0 = off.
    pub auth_rate_limit_per_minute: u32,
    /// The header a trusted proxy puts the client's address in (its last
    /// value); the connection's peer otherwise.
    pub client_ip_header: Option<String>,
    /// A token that opens `/metrics` only (for scrapers, which have no OAuth token).
    pub metrics_token: Option<Secret>,
    pub max_body_bytes: usize,
    /// Serve 2025-11-25 clients with sessions (at most `max_sessions`).
    pub legacy_sessions: bool,
    pub max_sessions: usize,
    pub session_idle: Duration,
    /// Connections open at once; one past it is answered 503 and closed.
    pub max_connections: usize,
    /// Tool calls in flight at once, in all and per caller (token, or
    /// address without tokens); a call past either is answered "busy".
    pub max_calls: usize,
    pub max_calls_per_caller: usize,
}

/// How long a request body may take to arrive (the head's deadline is
/// `listen::HEADER_READ_TIMEOUT`).
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// After the grace period for in-flight calls, how long connections get to
/// close before the server stops waiting for them.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// What `check_body` needs: the body cap, the legacy sessions (when on) to
/// refuse an initialize that would pass their bound, and the rate limit.
#[derive(Clone)]
struct BodyCheck {
    max_body: usize,
    sessions: Option<Arc<BoundedSessions>>,
    /// Tool calls per caller: what costs the API. Other requests (listing,
    /// notifications, probes) are not counted.
    limiter: Option<Arc<RateLimit>>,
    calls: Arc<CallSlots>,
    /// With OAuth: a tool call needs its tool's scope (answered 403 otherwise,
    /// before the call is counted or made); `server` says which tools only read.
    oauth: Option<(Arc<ResourceServer>, Server)>,
    /// Stateless requests get `tools/list` and most `tools/call` answered
    /// here, by the server of their path (`/mcp` or `/mcp/<toolset>`).
    direct: Option<Arc<Direct>>,
}

/// The fields of a JSON-RPC message the transport looks at.
#[derive(serde::Deserialize)]
struct MessageHead<'a> {
    #[serde(borrow, default)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    id: Option<serde_json::Value>,
}

/// The tool a `tools/call` runs (read only with OAuth, for its scope): the
/// one it names, or the operation a discovery call tool is asked to run, so
/// a scope the caller lacks is answered the same way on either surface.
fn tool_name(message: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Call {
        params: Params,
    }
    #[derive(serde::Deserialize)]
    struct Params {
        name: String,
        #[serde(default)]
        arguments: serde_json::Value,
    }
    let call = serde_json::from_slice::<Call>(message).ok()?.params;
    let discovery = [crate::serve::discovery::CALL_READ, crate::serve::discovery::CALL_WRITE];
    match call.arguments.get("operation").and_then(|o| o.as_str()) {
        Some(operation) if discovery.contains(&call.name.as_str()) => Some(operation.to_string()),
        _ => Some(call.name),
    }
}

/// JSON-RPC framing errors get 400 with a JSON-RPC error body (rmcp answers
/// 415, which says the media type is wrong when it's the content): batches,
/// which MCP no longer allows, and bodies that aren't one JSON object.
/// Also enforces the body cap before anything is parsed, and answers 503
/// with `Retry-After` to a new legacy session when they are all taken (rmcp
/// would answer 500, which clients don't retry).
// Long by design: the body check's steps in the order they must run (cap, framing, direct answers, scope, rate
// limit, call slot, session bound); each returns early.
async fn check_body(State(check): State<BodyCheck>, request: Request, next: Next) -> Response {
    if request.method() != axum::http::Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match tokio::time::timeout(BODY_READ_TIMEOUT, axum::body::to_bytes(body, check.max_body)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response(),
        Err(_) => {
            return (
                StatusCode::REQUEST_TIMEOUT,
                [(header::CONNECTION, "close")],
                format!(
                    "the request body did not arrive within {} s\n",
                    BODY_READ_TIMEOUT.as_secs()
                ),
            )
                .into_response();
        }
    };
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let head = match first {
        Some(b'{') => serde_json::from_slice::<MessageHead>(&bytes).ok(),
        _ => None,
    };
    let problem = match (first, &head) {
        (Some(b'['), _) => Some((
            -32600,
            "batch requests are not supported; send one JSON-RPC message per request",
        )),
        (_, Some(_)) => None,
        _ => Some((-32700, "the body is not a JSON-RPC message (one JSON object)")),
    };
    if let Some((code, message)) = problem {
        let error = serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            error.to_string(),
        )
            .into_response();
    }
    let method = head.as_ref().and_then(|h| h.method.as_deref());
    let id = || {
        head.as_ref()
            .and_then(|h| h.id.clone())
            .unwrap_or(serde_json::Value::Null)
    };
    if method == Some("tools/list")
        && let Some(answer) = check.direct.as_ref().and_then(|direct| direct.list(&parts, &bytes))
    {
        return answer;
    }
    let caller = parts.extensions.get::<Caller>().map_or("", Caller::key);
    let mut slot = None;
    if method == Some("tools/call")
        && let Some((oauth, server)) = &check.oauth
        && let Some(access) = parts.extensions.get::<Caller>().and_then(Caller::access)
        && let Some(name) = tool_name(&bytes)
        && let Some(read_only) = server.read_only(&name)
        && !access.allows(&name, read_only)
        && let Some(scope) = access.policy.needed(&name, read_only)
    {
        return oauth.insufficient_scope(parts.uri.path(), scope);
    }
    if method == Some("tools/call") {
        if let Some(limiter) = &check.limiter
            && let Err(wait) = limiter.check(caller).await
        {
            let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
            let text = format!(
                "Rate limit: this client has made as many tool calls as this server allows per minute. \
                 Retry in {seconds} s."
            );
            return try_again_later(id(), &text, seconds);
        }
        match check.calls.take(caller) {
            Ok(taken) => slot = Some(taken),
            Err(who) => return try_again_later(id(), &format!("Busy: {who}. Retry in 1 s."), 1),
        }
        // The slot is held until the answer is made.
        if let Some(direct) = &check.direct
            && let Some(answer) = direct.call(&parts, &bytes).await
        {
            return answer;
        }
    }
    let opens_session = method == Some("initialize") && !parts.headers.contains_key("mcp-session-id");
    if let Some(sessions) = &check.sessions
        && opens_session
        && sessions.full().await
    {
        let retry_after = sessions.idle.as_secs().clamp(1, 60);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, retry_after.to_string())],
            format!("too many sessions (limit {}); retry later\n", sessions.max),
        )
            .into_response();
    }
    let response = next
        .run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await;
    match slot {
        Some(slot) => response.map(|body| axum::body::Body::new(Holding { body, _slot: slot })),
        None => response,
    }
}

/// A tool call over the rate limit or the bound on calls in flight: an
/// answer the client shows the model (a tool error saying when to retry),
/// not a transport failure; `Retry-After` says the same to HTTP-level clients.
fn try_again_later(id: serde_json::Value, text: &str, seconds: u64) -> Response {
    let answer = serde_json::json!({"jsonrpc": "2.0", "id": id, "result": {
        "content": [{"type": "text", "text": text}],
        "isError": true,
    }});
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::RETRY_AFTER, seconds.to_string()),
        ],
        answer.to_string(),
    )
        .into_response()
}

/// `DELETE /mcp` that ended a legacy session: 204 No Content (rmcp answers
/// 202, which clients such as the Python SDK report as a failed termination).
async fn session_deleted(request: Request, next: Next) -> Response {
    let delete = request.method() == axum::http::Method::DELETE;
    let mut response = next.run(request).await;
    if delete && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::NO_CONTENT;
        *response.body_mut() = axum::body::Body::empty();
    }
    response
}

/// Serve until SIGTERM/SIGINT; returns once in-flight calls are done.
pub async fn serve_http(server: Server, options: HttpOptions) -> Result<(), TransportError> {
    let cancel = CancellationToken::new();
    let ready = Arc::new(AtomicBool::new(true));
    let app = routes(&server, &options, cancel.clone(), ready.clone());
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .map_err(|source| TransportError::Listen {
            addr: options.bind,
            source,
        })?;
    let local = listener.local_addr().map_err(|source| TransportError::Listen {
        addr: options.bind,
        source,
    })?;
    tracing::info!(address = %local, "serving MCP over streamable HTTP at /mcp");
    if let Some(oauth) = options.oauth.clone() {
        tokio::spawn(async move { oauth.verifier.warm_up().await });
    }

    let shutdown = {
        let metrics = server.metrics().clone();
        async move {
            wait_for_signal().await;
            tracing::info!("shutting down: no new connections; finishing in-flight calls");
            ready.store(false, Ordering::Relaxed);
            // Close streams once calls are done (or the grace period is over).
            tokio::spawn(async move {
                let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
                while metrics.in_flight_now() > 0 && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                cancel.cancel();
            });
        }
    };
    crate::transport::listen::serve(
        listener,
        app,
        options.max_connections,
        shutdown,
        SHUTDOWN_GRACE + CLOSE_GRACE,
    )
    .await;
    Ok(())
}

/// `/mcp` and the operations routes with their guards, as `serve_http` serves
/// them, for serving in-process (the fuzz targets): the caller inserts
/// `ConnectInfo<SocketAddr>` into each request.
#[cfg(feature = "testing")]
pub fn router(server: &Server, options: &HttpOptions) -> Router {
    routes(
        server,
        options,
        CancellationToken::new(),
        Arc::new(AtomicBool::new(true)),
    )
}

// Long by design: the route table and its guard layers in the order requests meet them; split, the order would
// no longer be readable in one place.
fn routes(server: &Server, options: &HttpOptions, cancel: CancellationToken, ready: Arc<AtomicBool>) -> Router {
    // `/mcp`'s Host and Origin checks are rmcp's; `/metrics` gets the same lists.
    let same_site = Arc::new(SameSite {
        hosts: host_names(options),
        origins: allowed_origins(options),
    });
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(options.legacy_sessions)
        .with_json_response(true)
        .with_cancellation_token(cancel)
        .with_max_request_body_bytes(options.max_body_bytes)
        .with_allowed_origins(allowed_origins(options))
        .enforce_origin_validation();
    config = if same_site.hosts.is_empty() {
        config.disable_allowed_hosts()
    } else {
        config.with_allowed_hosts(same_site.hosts.clone())
    };
    let sessions = Arc::new(BoundedSessions {
        inner: {
            let mut manager = LocalSessionManager::default();
            manager.session_config.keep_alive = Some(options.session_idle);
            manager
        },
        max: options.max_sessions,
        idle: options.session_idle,
    });
    let mut servers = vec![("/mcp".to_string(), server.clone())];
    servers.extend(
        server
            .per_toolset()
            .into_iter()
            .map(|(name, server)| (format!("/mcp/{name}"), server)),
    );
    let direct = (!options.legacy_sessions).then(|| {
        Arc::new(Direct {
            servers: servers.iter().cloned().collect(),
            same_site: same_site.clone(),
        })
    });
    let body_check = BodyCheck {
        max_body: options.max_body_bytes,
        sessions: options.legacy_sessions.then(|| sessions.clone()),
        limiter: NonZeroU32::new(options.rate_limit_per_minute)
            .map(|n| Arc::new(RateLimit::new(n, server.state().clone()))),
        calls: Arc::new(CallSlots {
            max: options.max_calls.max(1),
            per_caller: options.max_calls_per_caller.max(1),
            in_flight: Default::default(),
        }),
        direct,
        oauth: options.oauth.clone().map(|oauth| (oauth, server.clone())),
    };

    let guard_state = Arc::new(Guard {
        tokens: options.tokens.clone(),
        callers: options.tokens.iter().map(Caller::token).collect(),
        oauth: options.oauth.clone(),
        metrics_token: options.metrics_token.clone(),
        unverified: NonZeroU32::new(options.auth_rate_limit_per_minute)
            .map(|n| RateLimit::new(n, server.state().clone())),
        client_ip_header: options
            .client_ip_header
            .as_deref()
            .and_then(|name| axum::http::HeaderName::from_bytes(name.as_bytes()).ok()),
    });
    let metrics = server.metrics().clone();
    let oauth = options.oauth.clone();

    // One endpoint per view; sessions are shared (an id is valid at its own path only by convention).
    let mut router = Router::new();
    for (path, handler) in servers {
        let mcp = StreamableHttpService::new(move || Ok(handler.for_session()), sessions.clone(), config.clone());
        router = router.route_service(&path, mcp);
    }
    let router = router
        .route_layer(middleware::from_fn_with_state(body_check, check_body))
        .route_layer(middleware::from_fn(session_deleted))
        .route(
            "/metrics",
            get(move || async move { metrics_response(&metrics) })
                .layer(middleware::from_fn_with_state(same_site, check_site)),
        )
        .layer(middleware::from_fn_with_state(guard_state.clone(), guard))
        .route("/healthz", get(|| async { "ok\n" }))
        // Static tokens: a plain 404, without a token, so clients probing for
        // protected-resource or authorization-server metadata stop there. With
        // OAuth: the protected resource metadata, at its path for every endpoint.
        .route(
            "/.well-known/{*rest}",
            get(
                move |axum::extract::Path(rest): axum::extract::Path<String>| async move {
                    match &oauth {
                        Some(oauth)
                            if format!("/.well-known/{rest}").starts_with(crate::identity::oauth::METADATA_PATH) =>
                        {
                            oauth.metadata_response()
                        }
                        Some(_) => (StatusCode::NOT_FOUND, "not found\n").into_response(),
                        None => (
                            StatusCode::NOT_FOUND,
                            "no OAuth metadata: this server takes static bearer tokens\n",
                        )
                            .into_response(),
                    }
                },
            ),
        )
        .route(
            "/readyz",
            get({
                let ready = ready.clone();
                let state = server.state().clone();
                let oauth = options.oauth.clone();
                move |query: axum::extract::RawQuery| readiness(ready, state, oauth, query.0)
            }),
        );
    // After the guard: the connect page's visitor has no bearer token, and signs in at the issuer instead.
    match connect::routes(server, options.oauth.as_ref()) {
        Some(pages) => router.merge(pages.layer(middleware::from_fn_with_state(guard_state, limit_unverified))),
        None => router,
    }
}

/// Accepted `Host` names: the configured ones, else the loopback names when
/// bound to loopback; empty means no check (bound beyond loopback).
fn host_names(options: &HttpOptions) -> Vec<String> {
    if !options.allowed_hosts.is_empty() {
        options.allowed_hosts.clone()
    } else if options.bind.ip().is_loopback() {
        ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec()
    } else {
        Vec::new()
    }
}

/// The Host and Origin a request may carry (DNS-rebinding protection).
struct SameSite {
    hosts: Vec<String>,
    /// Full origins, or `scheme://host:*` for any port.
    origins: Vec<String>,
}

impl SameSite {
    fn allows(&self, headers: &axum::http::HeaderMap) -> bool {
        let host_ok = self.hosts.is_empty()
            || headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .and_then(|h| url::Url::parse(&format!("http://{h}")).ok())
                .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase()))
                .is_some_and(|host| self.hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(&host)));
        let origin_ok = match headers.get(header::ORIGIN).map(|o| o.to_str()) {
            None => true,
            Some(Err(_)) => false,
            Some(Ok(origin)) => self.origins.iter().any(|allowed| match allowed.strip_suffix(":*") {
                Some(any_port) => {
                    origin == any_port
                        || origin
                            .strip_prefix(any_port)
                            .and_then(|rest| rest.strip_prefix(':'))
                            .is_some_and(|port| port.parse::<u16>().is_ok())
                }
                None => origin == allowed,
            }),
        };
        host_ok && origin_ok
    }
}

async fn check_site(State(site): State<Arc<SameSite>>, request: Request, next: Next) -> Response {
    if site.allows(request.headers()) {
        next.run(request).await
    } else {
        forbidden()
    }
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        "forbidden: this Host or Origin may not call this server\n",
    )
        .into_response()
}

/// Pages on this machine may call a loopback server (that is what a local
/// inspector is); a DNS-rebinding page's Origin is its own domain and is refused.
fn allowed_origins(options: &HttpOptions) -> Vec<String> {
    if !options.allowed_origins.is_empty() || !options.bind.ip().is_loopback() {
        return options.allowed_origins.clone();
    }
    ["http", "https"]
        .iter()
        .flat_map(|scheme| ["localhost", "127.0.0.1", "[::1]"].map(|host| format!("{scheme}://{host}:*")))
        .collect()
}

fn metrics_response(metrics: &crate::observe::Metrics) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}

async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard_of(tokens: &[&str]) -> Guard {
        let tokens: Vec<Secret> = tokens.iter().map(|t| Secret::new(t.to_string())).collect();
        Guard {
            callers: tokens.iter().map(Caller::token).collect(),
            tokens,
            metrics_token: None,
            unverified: None,
            client_ip_header: None,
            oauth: None,
        }
    }

    #[test]
    fn every_configured_token_is_accepted_and_only_those() {
        let guard = guard_of(&["old-token", "new-token"]);
        assert_eq!(guard.token_index("old-token"), Some(0));
        assert_eq!(guard.token_index("new-token"), Some(1));
        for wrong in [
            "",
            "old-toke",
            "old-token ",
            "old-tokenX",
            "OLD-TOKEN",
            "old-token,new-token",
        ] {
            assert_eq!(guard.token_index(wrong), None, "{wrong:?}");
        }
        assert_eq!(guard_of(&[]).token_index(""), None);
    }

    fn options(bind: &str, origins: &[&str]) -> HttpOptions {
        HttpOptions {
            bind: bind.parse().unwrap(),
            allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
            allowed_hosts: vec![],
            tokens: vec![],
            oauth: None,
            rate_limit_per_minute: 0,
            auth_rate_limit_per_minute: 0,
            client_ip_header: None,
            metrics_token: None,
            max_body_bytes: 1024,
            legacy_sessions: false,
            max_sessions: 1,
            session_idle: Duration::from_secs(1),
            max_connections: 1,
            max_calls: 1,
            max_calls_per_caller: 1,
        }
    }

    #[test]
    fn calls_in_flight_are_bounded_in_all_and_per_caller_and_given_back() {
        let slots = Arc::new(CallSlots {
            max: 3,
            per_caller: 2,
            in_flight: Default::default(),
        });
        let a1 = slots.take("a").unwrap();
        let _a2 = slots.take("a").unwrap();
        assert!(slots.take("a").unwrap_err().to_string().contains("this client has 2"));
        let b1 = slots.take("b").unwrap();
        assert!(slots.take("c").unwrap_err().to_string().contains("this server has 3"));
        drop(a1);
        let _a3 = slots.take("a").unwrap();
        drop(b1);
        assert!(
            !slots.lock().by_caller.contains_key("b"),
            "a caller with nothing in flight is forgotten"
        );
        assert_eq!(slots.lock().total, 2);
    }

    #[test]
    fn origins_default_to_loopback_pages_on_loopback_only() {
        let loopback = allowed_origins(&options("127.0.0.1:8000", &[]));
        assert!(loopback.contains(&"http://localhost:*".to_string()));
        assert!(loopback.contains(&"https://[::1]:*".to_string()));
        assert_eq!(loopback.len(), 6);
        assert!(
            allowed_origins(&options("0.0.0.0:8000", &[])).is_empty(),
            "public: no browser origin by default"
        );
        assert_eq!(
            allowed_origins(&options("127.0.0.1:8000", &["https://app.example"])),
            ["https://app.example"],
            "configured origins replace the defaults"
        );
    }

    #[test]
    fn metrics_get_the_host_and_origin_checks_of_mcp() {
        let headers = |pairs: &[(&str, &str)]| {
            let mut map = axum::http::HeaderMap::new();
            for (k, v) in pairs {
                map.insert(
                    axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            map
        };
        let loopback = options("127.0.0.1:8000", &[]);
        let site = SameSite {
            hosts: host_names(&loopback),
            origins: allowed_origins(&loopback),
        };
        assert!(site.allows(&headers(&[("host", "127.0.0.1:8000")])));
        assert!(site.allows(&headers(&[("host", "[::1]:8000"), ("origin", "http://localhost:6274")])));
        assert!(
            !site.allows(&headers(&[("host", "evil.example:8000")])),
            "DNS rebinding"
        );
        assert!(!site.allows(&headers(&[])), "no Host");
        assert!(!site.allows(&headers(&[("host", "localhost"), ("origin", "https://evil.example")])));
        assert!(!site.allows(&headers(&[("host", "localhost"), ("origin", "http://localhost:x")])));
        let public = options("0.0.0.0:8000", &["https://app.example"]);
        let site = SameSite {
            hosts: host_names(&public),
            origins: allowed_origins(&public),
        };
        assert!(site.allows(&headers(&[("host", "anything:1"), ("origin", "https://app.example")])));
        assert!(!site.allows(&headers(&[
            ("host", "anything:1"),
            ("origin", "https://app.example:444")
        ])));
    }

    #[test]
    fn the_transport_reads_only_the_method() {
        let head: MessageHead =
            serde_json::from_str(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#).unwrap();
        assert_eq!(head.method.as_deref(), Some("initialize"));
        let escaped: MessageHead = serde_json::from_str(r#"{"method":"initi\u0061lize"}"#).unwrap();
        assert_eq!(escaped.method.as_deref(), Some("initialize"));
        let response: MessageHead = serde_json::from_str(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#).unwrap();
        assert_eq!(response.method, None);
        assert!(serde_json::from_str::<MessageHead>(r#"{"method":"x""#).is_err());
    }
}
