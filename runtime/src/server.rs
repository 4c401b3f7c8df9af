//! The MCP `ServerHandler` over a generated tool table.
//!
//! Input: the `ServerSpec` and a ready `Upstream`. `tools/list` returns the
//! table (built once, in table order); `tools/call` dispatches by name to
//! `tools::call`. An unknown tool name is a protocol error (`invalid_params`),
//! everything else is a tool result.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig, Tool as McpTool, ToolAnnotations,
};
// MCP logging is deprecated by SEP-2577 (2026-07-28) yet what 2025-11-25 hosts use.
#[allow(deprecated)]
use rmcp::model::SetLevelRequestParams;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::extend::CustomTool;
use crate::notify::{LogLevel, Reporter};
use crate::observe::Metrics;
use crate::spec::{Policy, ServerSpec};
use crate::tools::{self, Outcome, Tool};
use crate::upstream::Upstream;

/// A cheap handle: the HTTP transport makes one per session or request
/// (`for_session`), each with its own log level.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
    /// What the client of this session asked for with `logging/setLevel`.
    log_level: Arc<LogLevel>,
}

pub struct Inner {
    spec: &'static ServerSpec,
    upstream: Upstream,
    metrics: Arc<Metrics>,
    /// Operator overrides of every tool's per-attempt timeout and call deadline.
    overrides: Overrides,
    /// Index into `spec.tools` by name.
    by_name: HashMap<&'static str, usize>,
    /// The crate's hand-written tools (`src/extend.rs`), listed after the generated ones.
    custom: Vec<Arc<CustomTool>>,
    tools: OnceLock<Vec<Tool>>,
    listing: OnceLock<Vec<McpTool>>,
}

/// Command-line limits that win over mcpgen.yaml's.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    pub timeout: Option<Duration>,
    pub deadline: Option<Duration>,
}

impl std::ops::Deref for Server {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl Server {
    /// `custom` tools were checked by `Extensions::check` (names unique).
    pub fn new(
        spec: &'static ServerSpec,
        upstream: Upstream,
        metrics: Arc<Metrics>,
        overrides: Overrides,
        custom: Vec<Arc<CustomTool>>,
    ) -> Server {
        let by_name = spec.tools.iter().enumerate().map(|(i, t)| (t.name, i)).collect();
        Server {
            inner: Arc::new(Inner {
                spec,
                upstream,
                metrics,
                overrides,
                by_name,
                custom,
                tools: OnceLock::new(),
                listing: OnceLock::new(),
            }),
            log_level: Arc::default(),
        }
    }

    /// The same server for a new session: shares everything but the log level.
    pub fn for_session(&self) -> Server {
        Server {
            inner: self.inner.clone(),
            log_level: Arc::default(),
        }
    }
}

impl Inner {
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Built on first use, so start-up stays fast for specs with thousands of tools.
    fn tools(&self) -> &[Tool] {
        self.tools.get_or_init(|| {
            let redactor = self.upstream.redactor();
            let specs = self.spec.tools;
            // Parsing thousands of schemas is the first tools/list's cost: on every core.
            let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
            if specs.len() < 64 || workers == 1 {
                return specs.iter().map(|t| Tool::new(t, redactor)).collect();
            }
            std::thread::scope(|scope| {
                let parts: Vec<_> = specs
                    .chunks(specs.len().div_ceil(workers))
                    .map(|chunk| scope.spawn(move || chunk.iter().map(|t| Tool::new(t, redactor)).collect::<Vec<_>>()))
                    .collect();
                parts
                    .into_iter()
                    .flat_map(|part| part.join().expect("building a tool does not panic"))
                    .collect()
            })
        })
    }

    /// The tool's limits: its own or the server's, then the command line's.
    fn policy(&self, tool: &Tool) -> Policy {
        let mut policy = tool.spec.policy.unwrap_or(self.spec.policy);
        if let Some(timeout) = self.overrides.timeout {
            policy.timeout_ms = timeout.as_millis() as u64;
        }
        if let Some(deadline) = self.overrides.deadline {
            policy.deadline_ms = deadline.as_millis() as u64;
        }
        policy
    }

    fn listing(&self) -> &[McpTool] {
        self.listing.get_or_init(|| {
            let generated = self.tools().iter().map(to_mcp_tool);
            generated
                .chain(self.custom.iter().map(|t| custom_to_mcp_tool(t)))
                .collect()
        })
    }

    /// A hand-written tool's call, bounded by the server's call deadline.
    async fn call_custom(
        &self,
        tool: &CustomTool,
        request: CallToolRequestParams,
        cancelled: &CancellationToken,
    ) -> Result<CallToolResponse, ErrorData> {
        let deadline = self
            .overrides
            .deadline
            .unwrap_or(Duration::from_millis(self.spec.policy.deadline_ms));
        let call = tools::call_custom(tool, request.arguments, self.upstream.redactor());
        self.envelope(&tool.name, deadline, deadline, cancelled, call).await
    }

    /// What every call runs in: the `backstop` timeout, a panic net (a bug
    /// answers its own call with an error and never takes the server down),
    /// cancellation (a call its client cancelled or abandoned stops at once:
    /// dropping it drops its upstream request and any retry or page to come),
    /// and the call's audit event.
    async fn envelope(
        &self,
        tool: &str,
        deadline: Duration,
        backstop: Duration,
        cancelled: &CancellationToken,
        call: impl Future<Output = (CallToolResult, Outcome)>,
    ) -> Result<CallToolResponse, ErrorData> {
        let request_id = self.metrics.request_id();
        let started = Instant::now();
        let _in_flight = self.metrics.in_flight();
        let call = std::panic::AssertUnwindSafe(tokio::time::timeout(backstop, call)).catch_unwind();
        let finished = tokio::select! {
            finished = call => finished,
            () = cancelled.cancelled() => {
                let outcome = Outcome { kind: "cancelled", status: None, attempts: 0 };
                self.metrics.finish(&request_id, tool, outcome, started.elapsed());
                return Err(ErrorData::internal_error("the client cancelled this call", None));
            }
        };
        let (result, outcome) = match finished {
            Ok(Ok(done)) => done,
            Err(_panic) => tools::internal_failure(tool),
            Ok(Err(_)) => (
                tools::deadline_exceeded(tool, deadline),
                Outcome {
                    kind: "deadline",
                    status: None,
                    attempts: 0,
                },
            ),
        };
        self.metrics.finish(&request_id, tool, outcome, started.elapsed());
        Ok(result.into())
    }
}

fn custom_to_mcp_tool(tool: &CustomTool) -> McpTool {
    let schema = tool.input_schema.as_object().cloned().unwrap_or_default();
    let annotations = annotations(tool.read_only, !tool.read_only, false, true);
    McpTool::new(tool.name.clone(), tool.description.clone(), Arc::new(schema)).with_annotations(annotations)
}

/// Hints as MCP defines them, without those that say what an absent hint
/// means (readOnly false, idempotent false, openWorld true) or that mean
/// nothing for a read-only tool (destructive, idempotent): tools/list is paid
/// for in tokens. Whether a tool that writes is destructive is always said.
fn annotations(read_only: bool, destructive: bool, idempotent: bool, open_world: bool) -> ToolAnnotations {
    let mut hints = ToolAnnotations::default();
    if read_only {
        hints.read_only_hint = Some(true);
    } else {
        hints.destructive_hint = Some(destructive);
        hints.idempotent_hint = idempotent.then_some(true);
    }
    hints.open_world_hint = (!open_world).then_some(false);
    hints
}

fn to_mcp_tool(tool: &Tool) -> McpTool {
    let spec = tool.spec;
    let a = spec.annotations;
    let annotations = annotations(a.read_only, a.destructive, a.idempotent, a.open_world);
    let mut out = McpTool::new(spec.name, spec.description, tool.schema.clone()).with_annotations(annotations);
    out.title = spec.title.map(str::to_string);
    out.output_schema = tool.output.clone();
    out
}

impl ServerHandler for Server {
    #[allow(deprecated)] // enable_logging
    fn get_info(&self) -> ServerConfig {
        let mut implementation = Implementation::new(self.spec.name, self.spec.version);
        if let Some(title) = self.spec.title {
            implementation = implementation.with_title(title);
        }
        let capabilities = ServerCapabilities::builder().enable_tools().enable_logging().build();
        let mut info = ServerConfig::new(capabilities).with_server_info(implementation);
        if let Some(instructions) = self.spec.instructions {
            info = info.with_instructions(instructions);
        }
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.listing().to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<McpTool> {
        let listing = self.listing();
        match self.by_name.get(name) {
            Some(&i) => Some(listing[i].clone()),
            None => listing[self.spec.tools.len()..]
                .iter()
                .find(|t| t.name == name)
                .cloned(),
        }
    }

    #[allow(deprecated)]
    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.log_level.set(request.level);
        Ok(())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(&index) = self.by_name.get(request.name.as_ref()) else {
            if let Some(tool) = self.custom.iter().find(|t| t.name == request.name.as_ref()) {
                return self.call_custom(tool, request, &context.ct).await;
            }
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool `{}`; call tools/list for the available tools",
                    request.name
                ),
                None,
            ));
        };
        let tool = &self.tools()[index];
        let policy = self.policy(tool);
        let deadline = Duration::from_millis(policy.deadline_ms);
        let call = tools::call(&self.upstream, tool, request.arguments, &policy);
        let reporter = Reporter::new(
            context.peer.clone(),
            context.meta.get_progress_token(),
            self.log_level.get(),
            tool.spec.name,
            self.upstream.redactor().clone(),
        );
        let call = async {
            match reporter {
                Some(reporter) => reporter.scope(call).await,
                None => call.await,
            }
        };
        // The call keeps its own deadline; the backstop (with a grace period for
        // the call's own, more precise error) stops anything that doesn't.
        let backstop = deadline.saturating_add(Duration::from_millis(250));
        self.envelope(tool.spec.name, deadline, backstop, &context.ct, call)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_leave_out_only_what_absence_already_says() {
        let json = |a: ToolAnnotations| serde_json::to_value(a).unwrap();
        assert_eq!(
            json(annotations(true, false, true, true)),
            serde_json::json!({"readOnlyHint": true})
        );
        assert_eq!(
            json(annotations(false, false, false, true)),
            serde_json::json!({"destructiveHint": false})
        );
        assert_eq!(
            json(annotations(false, true, true, false)),
            serde_json::json!({"destructiveHint": true, "idempotentHint": true, "openWorldHint": false})
        );
    }
}
