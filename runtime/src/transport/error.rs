//! Why a transport could not serve, or stopped with an error.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("can't listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    /// rmcp refused the session (its error's text: rmcp types stay inside).
    #[error("MCP session failed to start: {0}")]
    SessionStart(String),
    #[error("MCP session ended with an error: {0}")]
    SessionEnded(String),
    #[error("no randomness available: {0}")]
    NoRandomness(getrandom::Error),
    #[error("unhealthy: http://{target}/healthz: {source}")]
    Unreachable { target: SocketAddr, source: std::io::Error },
    #[error("unhealthy: http://{target}/healthz answered status {status}")]
    Unhealthy { target: SocketAddr, status: String },
}
