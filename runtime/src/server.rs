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
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig, Tool as McpTool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::observe::Metrics;
use crate::redact::Redactor;
use crate::spec::ServerSpec;
use crate::tools::{self, Outcome, Tool};
use crate::upstream::Upstream;

/// A cheap handle: the HTTP transport makes one per session or request.
#[derive(Clone)]
pub struct Server(Arc<Inner>);

pub struct Inner {
    spec: &'static ServerSpec,
    upstream: Upstream,
    redactor: Redactor,
    metrics: Arc<Metrics>,
    /// Overall limit on one tool call, whatever it waits for.
    deadline: Duration,
    /// Index into `spec.tools` by name.
    by_name: HashMap<&'static str, usize>,
    tools: OnceLock<Vec<Tool>>,
    listing: OnceLock<Vec<McpTool>>,
}

impl std::ops::Deref for Server {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Server {
    pub fn new(spec: &'static ServerSpec, upstream: Upstream, metrics: Arc<Metrics>, deadline: Duration) -> Server {
        let redactor = Redactor::from_config(upstream.config());
        let by_name = spec.tools.iter().enumerate().map(|(i, t)| (t.name, i)).collect();
        Server(Arc::new(Inner {
            spec,
            upstream,
            redactor,
            metrics,
            deadline,
            by_name,
            tools: OnceLock::new(),
            listing: OnceLock::new(),
        }))
    }
}

impl Inner {
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Built on first use, so start-up stays fast for specs with thousands of tools.
    fn tools(&self) -> &[Tool] {
        self.tools
            .get_or_init(|| self.spec.tools.iter().map(Tool::new).collect())
    }

    fn listing(&self) -> &[McpTool] {
        self.listing
            .get_or_init(|| self.tools().iter().map(to_mcp_tool).collect())
    }
}

fn to_mcp_tool(tool: &Tool) -> McpTool {
    let spec = tool.spec;
    let a = spec.annotations;
    let annotations = ToolAnnotations::new()
        .read_only(a.read_only)
        .destructive(a.destructive)
        .idempotent(a.idempotent)
        .open_world(a.open_world);
    let mut out =
        McpTool::new(spec.name, spec.description, Arc::new(tool.schema.clone())).with_annotations(annotations);
    out.title = spec.title.map(str::to_string);
    out
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        let mut implementation = Implementation::new(self.spec.name, self.spec.version);
        if let Some(title) = self.spec.title {
            implementation = implementation.with_title(title);
        }
        let mut info =
            ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(implementation);
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
        self.by_name.get(name).map(|&i| self.listing()[i].clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(&index) = self.by_name.get(request.name.as_ref()) else {
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool `{}`; call tools/list for the available tools",
                    request.name
                ),
                None,
            ));
        };
        let tool = &self.tools()[index];
        let request_id = self.metrics.request_id();
        let started = Instant::now();
        let _in_flight = self.metrics.in_flight();
        let call = tools::call(&self.upstream, &self.redactor, tool, request.arguments);
        let (result, outcome) = match tokio::time::timeout(self.deadline, call).await {
            Ok(done) => done,
            Err(_) => (
                tools::deadline_exceeded(tool, self.deadline),
                Outcome {
                    kind: "deadline",
                    status: None,
                },
            ),
        };
        self.metrics
            .finish(&request_id, tool.spec.name, outcome, started.elapsed());
        Ok(result.into())
    }
}
