//! Your code: hand-written tools, and hooks on every request to the API and
//! every response from it.
//!
//! `mcpgen generate` created this file once and never overwrites it
//! (`mcpgen generate --check` ignores it), so what you write here survives
//! regeneration. The runtime validates a hand-written tool's arguments against
//! its schema and redacts its results like a generated tool's. Request hooks
//! run on every attempt after credentials are added (so a signature covers the
//! final request); response hooks run before redaction and shaping.

use mcpgen_runtime::Extensions;

/// What this server adds to its generated tools.
pub fn extensions() -> Extensions {
    Extensions::new()
    // A hand-written tool:
    //
    // .tool(mcpgen_runtime::CustomTool::new(
    //     "echo",
    //     "Return the `text` argument unchanged.",
    //     mcpgen_runtime::serde_json::json!({
    //         "type": "object",
    //         "properties": {"text": {"type": "string"}},
    //         "required": ["text"]
    //     }),
    //     |args| async move { Ok(args["text"].clone()) },
    // ).read_only())
    //
    // Adjust each request, e.g. sign it:
    //
    // .on_request(|call, request| {
    //     let body = request.body().and_then(|b| b.as_bytes()).unwrap_or_default();
    //     let signature = format!("{}:{}", call.tool, body.len()); // your HMAC here
    //     request.headers_mut().insert("x-signature", signature.parse().map_err(|_| "bad header")?);
    //     Ok(())
    // })
    //
    // Post-process each response before the model sees it:
    //
    // .on_response(|call, response| {
    //     if let Some(mut json) = response.json() {
    //         json.as_object_mut().map(|o| o.remove("internal_notes"));
    //         response.set_json(&json);
    //     }
    // })
}
