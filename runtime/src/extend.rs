//! The user's extension point: hand-written tools, and hooks that adjust
//! every request to the API and every response from it.
//!
//! A generated crate has one user-owned module (`src/extend.rs`, created once
//! by `mcpgen generate` and never overwritten) whose `extensions()` returns an
//! [`Extensions`]; `main` hands it to [`crate::run_with`].
//!
//! Invariants: request hooks run on every attempt (retries and pages
//! included), after credentials are added, so a signature covers the final
//! request; response hooks run once per response the API gave (each page),
//! before redaction, so redaction rules still apply to what they produce.
//! Hand-written tools get their arguments validated against their schema and
//! their results redacted like generated tools.

use std::sync::Arc;

pub use crate::call::custom::CustomTool;
use crate::upstream::UpstreamResponse;
pub use crate::upstream::hooks::{BoxError, Call, Hooks};

/// Everything a crate adds to its generated tools. `Extensions::default()` adds nothing.
#[derive(Default, Clone)]
pub struct Extensions {
    pub(crate) tools: Vec<Arc<CustomTool>>,
    pub(crate) hooks: Hooks,
}

impl Extensions {
    pub fn new() -> Extensions {
        Extensions::default()
    }

    /// Add a hand-written tool.
    pub fn tool(mut self, tool: CustomTool) -> Extensions {
        self.tools.push(Arc::new(tool));
        self
    }

    /// Adjust each request before it is sent: add a header, sign it. An
    /// `Err` stops the call with that message (redacted) as a tool error.
    /// Bodies of `multipart/form-data` requests are streams, not bytes.
    pub fn on_request(
        mut self,
        hook: impl Fn(&Call<'_>, &mut reqwest::Request) -> Result<(), BoxError> + Send + Sync + 'static,
    ) -> Extensions {
        self.hooks.request.push(Arc::new(hook));
        self
    }

    /// Post-process each response before it is shaped for the model:
    /// [`UpstreamResponse::json`] and [`UpstreamResponse::set_json`] edit a JSON body.
    pub fn on_response(
        mut self,
        hook: impl Fn(&Call<'_>, &mut UpstreamResponse) + Send + Sync + 'static,
    ) -> Extensions {
        self.hooks.response.push(Arc::new(hook));
        self
    }

    /// Start-up check: valid, unique names that don't shadow generated tools,
    /// and input schemas that compile.
    pub fn check(&self, generated: &[&str]) -> Result<(), ExtensionError> {
        let mut seen: Vec<&str> = generated.to_vec();
        for tool in &self.tools {
            let name = tool.name.as_str();
            let refused = |problem| {
                Err(ExtensionError {
                    tool: name.to_string(),
                    problem,
                })
            };
            if !crate::spec::is_valid_tool_name(name) {
                return refused(Problem::Name);
            }
            if crate::serve::discovery::NAMES.contains(&name) {
                return refused(Problem::DiscoveryName);
            }
            if seen.contains(&name) {
                return refused(Problem::Taken);
            }
            seen.push(name);
            if !tool.input_schema.is_object() {
                return refused(Problem::NotAnObject);
            }
            if let Err(e) = jsonschema::validator_for(&tool.input_schema) {
                return refused(Problem::InvalidSchema(e.to_string()));
            }
        }
        Ok(())
    }
}

/// A hand-written tool `src/extend.rs` must change before the server starts.
#[derive(Debug, thiserror::Error)]
#[error("extension tool `{tool}`: {problem}")]
pub struct ExtensionError {
    tool: String,
    problem: Problem,
}

#[derive(Debug, thiserror::Error)]
enum Problem {
    #[error("names are 1 to 64 of A-Z a-z 0-9 _ -")]
    Name,
    #[error("the discovery surface has a tool of that name; rename it in src/extend.rs")]
    DiscoveryName,
    #[error("a tool of that name already exists; rename it in src/extend.rs")]
    Taken,
    #[error("its input schema must be a JSON object")]
    NotAnObject,
    #[error("its input schema is invalid: {0}")]
    InvalidSchema(String),
}
