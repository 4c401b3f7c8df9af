//! The crate's own request and response hooks (`src/extend.rs`), run by
//! `send` on every attempt and every response.

use std::sync::Arc;

use crate::upstream::UpstreamResponse;

/// What a hook knows about the call it runs in.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The tool's name (as in tools/list).
    pub tool: &'a str,
    /// 1 for the first request of a response, 2 for its first retry, ...
    pub attempt: u32,
}

/// What hooks and hand-written tools fail with: any error (`?` converts
/// `String`, `&str`, I/O errors, `anyhow::Error`, …). Its text, redacted, is
/// what the model sees.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type RequestHook = dyn Fn(&Call<'_>, &mut reqwest::Request) -> Result<(), BoxError> + Send + Sync;
type ResponseHook = dyn Fn(&Call<'_>, &mut UpstreamResponse) + Send + Sync;
/// The request and response hooks, shared by every call.
#[derive(Default, Clone)]
pub struct Hooks {
    pub(crate) request: Vec<Arc<RequestHook>>,
    pub(crate) response: Vec<Arc<ResponseHook>>,
}

impl Hooks {
    pub(crate) fn on_request(&self, call: &Call<'_>, request: &mut reqwest::Request) -> Result<(), BoxError> {
        self.request.iter().try_for_each(|hook| hook(call, request))
    }

    pub(crate) fn on_response(&self, call: &Call<'_>, response: &mut UpstreamResponse) {
        for hook in &self.response {
            hook(call, response);
        }
    }
}
