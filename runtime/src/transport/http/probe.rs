//! The server's own operations commands over HTTP: a fresh inbound token
//! (`gen-token`) and the container health check (`healthcheck`).

use std::net::SocketAddr;
use std::time::Duration;

use super::TransportError;

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
