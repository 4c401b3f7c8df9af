//! How MCP messages arrive and leave: stdio, and streamable HTTP (with its
//! connection limits, Host/Origin checks and operations routes). Hands every
//! request to `serve`; nothing below imports this layer.

mod error;
pub mod http;
pub mod listen;
pub mod stdio;

pub use self::error::TransportError;
