//! The server's own operations commands over HTTP: a fresh inbound token
//! (`gen-token`) and the container health check (`healthcheck`).

use std::net::SocketAddr;
use std::time::Duration;

use super::TransportError;
use super::*;

/// A fresh inbound token: 32 random bytes, hex-encoded.
pub fn generate_token() -> Result<String, TransportError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(TransportError::NoRandomness)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `GET /healthz` on this machine's server bound at `bind` (an unspecified
/// address means loopback); Ok when it answers 200. A few lines of HTTP/1.1
/// by hand: the check runs in a container image with no curl.
pub fn healthcheck(bind: SocketAddr, timeout: Duration) -> Result<(), TransportError> {
    use std::io::{Read, Write};
    let mut target = bind;
    if target.ip().is_unspecified() {
        target.set_ip(match bind {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let unhealthy = |source| TransportError::Unreachable { target, source };
    let mut stream = std::net::TcpStream::connect_timeout(&target, timeout).map_err(unhealthy)?;
    stream.set_read_timeout(Some(timeout)).map_err(unhealthy)?;
    stream.set_write_timeout(Some(timeout)).map_err(unhealthy)?;
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n"
    )
    .map_err(unhealthy)?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).map_err(unhealthy)?;
    let status_line = String::from_utf8_lossy(&head[..n]);
    let status = status_line.split_whitespace().nth(1).unwrap_or("none");
    if status == "200" {
        Ok(())
    } else {
        Err(TransportError::Unhealthy {
            target,
            status: status.to_string(),
        })
    }
}

/// `/readyz`: 503 while shutting down. A shared state store that doesn't
/// answer, or an OAuth issuer that doesn't, is said in the body but keeps the
/// replica ready, as every replica shares the outage and what doesn't need
/// it still works (`/readyz?strict` answers 503 then, for operators who'd
/// rather drain).
pub(super) async fn readiness(
    ready: Arc<AtomicBool>,
    state: Store,
    oauth: Option<Arc<ResourceServer>>,
    query: Option<String>,
) -> Response {
    if !ready.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    let strict = query.is_some_and(|q| q.split('&').any(|p| p == "strict"));
    let mut degraded = Vec::new();
    match tokio::time::timeout(READY_STATE_TIMEOUT, state.ready()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => degraded.push(format!(
            "{e}; result links, tasks and the shared rate limit wait for it"
        )),
        Err(_) => degraded.push(format!(
            "the state store did not answer within {} ms",
            READY_STATE_TIMEOUT.as_millis()
        )),
    }
    if let Some((why, left)) = oauth.and_then(|oauth| oauth.verifier.outage()) {
        degraded.push(format!(
            "the OAuth issuer is not answering ({why}); new tokens get 503 until it does (asked again in {} s), \
             tokens verified within the last minute go on",
            left.as_secs()
        ));
    }
    if degraded.is_empty() {
        return (StatusCode::OK, "ready\n").into_response();
    }
    let status = if strict {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, format!("ready, degraded: {}\n", degraded.join("; "))).into_response()
}

/// How long `/readyz` waits for the state store (probes time out at 1 s by default).
pub(super) const READY_STATE_TIMEOUT: Duration = Duration::from_millis(700);
