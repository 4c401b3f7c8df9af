//! MCP over stdin/stdout: rmcp's transport behind a front that answers
//! `tools/list` from the view's pre-rendered bytes (`surface`) and passes
//! every other line on. Listing a large API then costs one write, not a
//! parse and a serialization of every schema.
//!
//! Lines (JSON-RPC messages) reach stdout whole: rmcp's output and the
//! front's answers are written under one lock, a line at a time.

use std::sync::{Arc, OnceLock};

use rmcp::ServiceExt;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::Mutex;

use super::TransportError;
use crate::serve::Server;
use crate::serve::surface::{self, ListRequest, View};

/// The longest message accepted, as rmcp's stdio transport: longer lines are dropped.
const MAX_LINE: usize = 16 * 1024 * 1024;
/// Buffer of the in-process pipes to and from rmcp.
const PIPE: usize = 256 * 1024;

/// Serve MCP on stdin/stdout until the client closes the connection.
pub async fn serve_stdio(server: Server) -> Result<(), TransportError> {
    serve(server, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serve MCP over any byte streams (stdin/stdout, or in-process pipes in tests).
pub async fn serve<R, W>(server: Server, input: R, output: W) -> Result<(), TransportError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let output = Arc::new(Mutex::new(output));
    let (to_rmcp, rmcp_in) = tokio::io::duplex(PIPE);
    let (rmcp_out, from_rmcp) = tokio::io::duplex(PIPE);
    let negotiated = Arc::new(OnceLock::new());
    let front = tokio::spawn(front(
        input,
        to_rmcp,
        server.view().clone(),
        output.clone(),
        negotiated.clone(),
    ));
    let back = tokio::spawn(back(from_rmcp, output, negotiated));
    // rmcp reads what the front passes on and writes what `back` copies out.
    let running = server
        .serve((rmcp_in, rmcp_out))
        .await
        .map_err(|e| TransportError::SessionStart(e.to_string()))?;
    tracing::info!("serving MCP over stdio");
    let ended = running.waiting().await;
    front.abort();
    // rmcp's side of the pipe is closed: the rest of its output is written, then `back` ends.
    let _ = back.await;
    ended.map_err(|e| TransportError::SessionEnded(e.to_string()))?;
    Ok(())
}

/// Read the client's lines: answer `tools/list`, pass the rest to rmcp.
async fn front<R, W>(
    input: R,
    mut to_rmcp: DuplexStream,
    view: Arc<View>,
    output: Arc<Mutex<W>>,
    negotiated: Arc<OnceLock<String>>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = BufReader::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        match read_line(&mut reader, &mut line).await {
            Ok(Read::Line) => {}
            Ok(Read::TooLong) => {
                tracing::error!(max_bytes = MAX_LINE, "a message longer than the limit was dropped");
                continue;
            }
            Ok(Read::End) => break,
            Err(e) => {
                tracing::error!("reading stdin failed: {e}");
                break;
            }
        }
        let listing = ListRequest::parse(&line).and_then(|request| {
            let version = request
                .version(negotiated.get().map(String::as_str))?
                .map(str::to_string);
            Some((request, version))
        });
        if let Some((request, version)) = listing {
            let mut out = output.lock().await;
            let written = async {
                for part in surface::answer(&view, &request, version.as_deref()) {
                    out.write_all(&part).await?;
                }
                out.write_all(b"\n").await?;
                out.flush().await
            };
            if written.await.is_err() {
                break;
            }
            continue;
        }
        if !line.ends_with(b"\n") {
            line.push(b'\n');
        }
        if to_rmcp.write_all(&line).await.is_err() {
            break;
        }
    }
    // Dropping `to_rmcp` tells rmcp the client is gone.
}

/// Copy rmcp's lines to the output, noting the protocol version its
/// `initialize` answer settles on.
async fn back<W: AsyncWrite + Unpin>(
    from_rmcp: DuplexStream,
    output: Arc<Mutex<W>>,
    negotiated: Arc<OnceLock<String>>,
) {
    let mut reader = BufReader::new(from_rmcp);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if negotiated.get().is_none()
            && let Some(version) = initialize_answer_version(&line)
        {
            let _ = negotiated.set(version);
        }
        let mut out = output.lock().await;
        if out.write_all(&line).await.is_err() || out.flush().await.is_err() {
            break;
        }
    }
}

/// The `protocolVersion` of an `initialize` result.
fn initialize_answer_version(line: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"protocolVersion\"";
    if !line.windows(KEY.len()).any(|w| w == KEY) {
        return None;
    }
    let message: serde_json::Value = serde_json::from_slice(line).ok()?;
    let result = message.get("result")?;
    result.get("serverInfo")?;
    result.get("protocolVersion")?.as_str().map(str::to_string)
}

enum Read {
    Line,
    TooLong,
    End,
}

/// One line into `line` (newline included), never buffering more than
/// `MAX_LINE` bytes of it. A last line without a newline is dropped, as rmcp does.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R, line: &mut Vec<u8>) -> std::io::Result<Read> {
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(Read::End);
        }
        let (taken, complete) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if !too_long {
            if line.len() + taken > MAX_LINE {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(&available[..taken]);
            }
        }
        reader.consume(taken);
        if complete {
            return Ok(if too_long { Read::TooLong } else { Read::Line });
        }
    }
}
