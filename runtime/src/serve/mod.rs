//! The MCP `ServerHandler` over a generated tool table: views, dispatch,
//! discovery, resources and prompts, tasks. Imports every lower layer, never
//! `transport` (which hands it requests).
//!
//! Input: the `ServerSpec`, a ready `Upstream` and a `View` (what this
//! endpoint shows: `surface`). `tools/list` is the view's pre-rendered list
//! (the transports usually answer it before it gets here); `tools/call`
//! dispatches by name to `call::call`, or to a discovery meta-tool, which
//! runs operations through the same path. A tool the view doesn't list is a
//! protocol error (`invalid_params`), everything else is a tool result.
//!
//! Beside tools: results over the transport's budget are held per caller and
//! read with `resources/read` (`state::results`), as are the declared resources
//! (`resources`, read through their tools); prompts are filled from the
//! table; a long-running operation's job is held per caller (`tasks`, handled in `jobs`) for
//! `wait_for_operation`, or as an MCP task for clients with the extension.

mod catalog;
pub mod connect;
pub mod discovery;
mod jobs;
pub mod resources;
pub mod surface;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ContentBlock, CreateTaskResult,
    DetailedTask, GetPromptRequestParams, GetPromptResponse, GetTaskParams, GetTaskResult, Implementation,
    ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, ServerCapabilities, ServerConfig, Task,
    TaskPayload, TaskStatus, Tool as McpTool,
};
// MCP logging is deprecated by SEP-2577 (2026-07-28) yet what 2025-11-25 hosts use.
#[allow(deprecated)]
use rmcp::model::SetLevelRequestParams;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use futures_util::FutureExt;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::call::custom::CustomTool;
use crate::call::files::FileSources;
use crate::call::fit;
use crate::call::{self, Answer, Follow, Tool};
use crate::context::CallContext;
use crate::identity::Caller;
use crate::observe::notify::{LogLevel, Reporter};
use crate::observe::{Ended, Metrics, Outcome};
use crate::serve::surface::{Presentation, UnknownToolset, View};
use crate::spec::{Policy, SchemaProfile, ServerSpec, Surface};
use crate::state::Store;
use crate::state::results::{Missing, ResultStore};
use crate::tasks::{self, Entry, JobStore};
use crate::upstream::Upstream;

/// A cheap handle: the HTTP transport makes one per session or request
/// (`for_session`), each with its own log level.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
    /// What this endpoint shows: the whole server or some toolsets, in a surface.
    view: Arc<View>,
    /// What the client of this session asked for with `logging/setLevel`.
    log_level: Arc<LogLevel>,
    /// Who this handle serves: the key its held results and jobs are stored
    /// under (an HTTP caller, or the stdio session), and with OAuth the grant
    /// whose scopes chose `view` and whose identity goes into audit events.
    caller: Caller,
    /// This endpoint's view per set of scopes held (at most 2^n for a policy
    /// of n scopes, and bounded), shared by every handle of the endpoint.
    scoped: Arc<std::sync::Mutex<HashMap<String, Arc<View>>>>,
    /// The most a result may take in one frame of this transport (`None`:
    /// no limit); bigger ones are held in `results` and linked.
    budget: Option<usize>,
    /// The directory file arguments may name local files in (`--files-dir`,
    /// canonical); `None`: no local file is read.
    files_dir: Option<Arc<Path>>,
}

/// Views kept per endpoint for the scope sets callers hold; a policy with
/// more scopes than this covers builds the others per request.
const SCOPED_VIEWS: usize = 256;

pub struct Inner {
    spec: &'static ServerSpec,
    upstream: Upstream,
    metrics: Arc<Metrics>,
    /// Operator overrides of every tool's per-attempt timeout and call deadline.
    overrides: Overrides,
    /// The crate's hand-written tools (`src/extend.rs`), listed after the generated ones.
    custom: Vec<Arc<CustomTool>>,
    /// Each tool's parsed schemas, made on its first call (boxed: the table
    /// of a large API costs a pointer per tool until then).
    tools: Vec<OnceLock<Box<Tool>>>,
    /// The surface and page size every view of this server has.
    surface: Surface,
    page_size: usize,
    /// Where results, jobs and rate-limit counters are kept (in memory, or shared by replicas).
    state: Store,
    /// Results too big for a frame, held for `resources/read`.
    results: ResultStore,
    /// Long-running operations still running, for `wait_for_operation` and tasks.
    jobs: JobStore,
    /// Some tool may answer 202 and finish later: the tasks extension is offered.
    long_running: bool,
    /// Per-user credentials and their connect links (HTTP with OAuth).
    connect: Option<Arc<connect::Connect>>,
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
    /// Fails on a toolset the spec doesn't have.
    pub fn new(
        spec: &'static ServerSpec,
        upstream: Upstream,
        metrics: Arc<Metrics>,
        overrides: Overrides,
        custom: Vec<Arc<CustomTool>>,
        presentation: &Presentation,
        state: Store,
    ) -> Result<Server, UnknownToolset> {
        let surface = presentation.surface.unwrap_or(spec.surface);
        let profile = presentation.schema_profile.unwrap_or(spec.schema_profile);
        let view =
            View::new(spec, &custom, surface, &presentation.toolsets, presentation.page_size)?.with_profile(profile);
        Ok(Server {
            inner: Arc::new(Inner {
                spec,
                upstream,
                metrics,
                overrides,
                custom,
                tools: spec.tools.iter().map(|_| OnceLock::new()).collect(),
                surface,
                page_size: presentation.page_size,
                results: ResultStore::new(state.clone()),
                jobs: JobStore::new(state.clone(), spec),
                state,
                long_running: spec.tools.iter().any(|t| t.long_running.is_some()),
                connect: None,
            }),
            view: Arc::new(view),
            log_level: Arc::default(),
            caller: Caller::local(),
            scoped: Arc::default(),
            budget: None,
            files_dir: None,
        })
    }

    /// The same server reading file arguments' local files from `dir`
    /// (`files::allowed_dir` made it canonical).
    pub fn with_files_dir(self, dir: Option<PathBuf>) -> Server {
        Server {
            files_dir: dir.map(Arc::from),
            ..self
        }
    }

    /// Where results, jobs and rate-limit counters are kept.
    pub fn state(&self) -> &Store {
        &self.state
    }

    /// The same server with a frame budget for results (the transport's).
    pub fn with_budget(self, budget: Option<usize>) -> Server {
        Server { budget, ..self }
    }

    /// The same server for a new session: shares everything but the log level.
    pub fn for_session(&self) -> Server {
        Server {
            log_level: Arc::default(),
            ..self.clone()
        }
    }

    /// The same server for `caller`: its results and jobs, and with OAuth a
    /// view of only the tools the caller's scopes allow.
    pub fn for_caller(&self, caller: &Caller) -> Server {
        let Some(access) = caller.access() else {
            return Server {
                caller: caller.clone(),
                ..self.clone()
            };
        };
        let key = access.key();
        let cached = self.lock_scoped().get(&key).cloned();
        let view = cached.unwrap_or_else(|| {
            let spec = self.spec;
            let view = Arc::new(self.view.restricted(
                |i| access.allows(spec.tools[i].name, spec.tools[i].annotations.read_only),
                |name| {
                    self.read_only(name)
                        .is_some_and(|read_only| access.allows(name, read_only))
                },
            ));
            let mut scoped = self.lock_scoped();
            if scoped.len() < SCOPED_VIEWS {
                scoped.insert(key, view.clone());
            }
            view
        });
        Server {
            view,
            caller: caller.clone(),
            ..self.clone()
        }
    }

    /// A hand-written tool's call, bounded by the server's call deadline.
    async fn call_custom(
        &self,
        tool: &CustomTool,
        arguments: Option<rmcp::model::JsonObject>,
        cancelled: &CancellationToken,
    ) -> Result<CallToolResponse, ErrorData> {
        let deadline = self
            .overrides
            .deadline
            .unwrap_or(Duration::from_millis(self.spec.policy.deadline_ms));
        let call = async {
            let (result, outcome) = call::custom::call_custom(tool, arguments, self.upstream.redactor()).await;
            (self.fitted(result, &tool.name, None).await.into(), outcome)
        };
        self.envelope(&tool.name, deadline, deadline, cancelled, call).await
    }

    /// The handle for an rmcp request: its caller's, when the HTTP guard
    /// verified one (rmcp hands handlers the request's HTTP parts).
    fn for_request(&self, context: &RequestContext<RoleServer>) -> Server {
        let parts = context.extensions.get::<axum::http::request::Parts>();
        match parts.and_then(|parts| parts.extensions.get::<Caller>()) {
            Some(caller) => self.for_caller(caller),
            None => self.clone(),
        }
    }

    /// A call of `tool` by this handle's caller, starting now.
    fn context(&self, tool: &Tool) -> CallContext {
        CallContext::new(tool.spec.name, self.caller.clone(), self.policy(tool))
    }

    /// `result` as this transport may send it (see `results::fit`); a
    /// generated tool's preview is conformed to its output schema again.
    async fn fitted(&self, result: CallToolResult, name: &str, tool: Option<&Tool>) -> CallToolResult {
        match self.budget {
            Some(budget) if !fit::fits(&result, budget) => {
                let mut fitted = fit::fit(result, budget, &self.results, self.caller.key(), name).await;
                if let Some(tool) = tool {
                    tool.conform(&mut fitted);
                }
                fitted
            }
            _ => result,
        }
    }

    /// The declared resources (`templates`: those with variables) whose
    /// tools this handle's view has, as list entries.
    fn declared(&self, templates: bool) -> Vec<serde_json::Value> {
        self.spec
            .resources
            .iter()
            .filter(|r| resources::is_template(r) == templates)
            .filter(|r| self.spec.tool_index(r.tool).is_some_and(|i| self.view.contains(i)))
            .map(resources::entry)
            .collect()
    }

    /// A declared resource, read by calling its tool.
    async fn read_declared(&self, uri: &str, cancelled: &CancellationToken) -> Result<ReadResourceResult, ErrorData> {
        let not_found = || {
            ErrorData::resource_not_found(
                format!("no resource {uri}: this server serves its declared resources and the results it links to"),
                None,
            )
        };
        let (resource, values) = resources::find(self.spec, uri).ok_or_else(not_found)?;
        let index = self
            .spec
            .tool_index(resource.tool)
            .filter(|&i| self.view.contains(i))
            .ok_or_else(not_found)?;
        let arguments = resources::arguments(values, &self.tool(index).schema);
        // Without the request's context: a read reports no progress and never
        // becomes a task (a job still running is answered as such).
        let response = self.call_generated(index, Some(arguments), None, cancelled).await?;
        match response {
            CallToolResponse::Complete(result) => resources::contents(resource, uri, result),
            _ => Err(ErrorData::internal_error(format!("{uri} can't be read now"), None)),
        }
    }

    fn lock_scoped(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<View>>> {
        self.scoped.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the tool of this name (generated or hand-written) only reads;
    /// `None` for meta-tools and unknown names.
    pub fn read_only(&self, name: &str) -> Option<bool> {
        match self.spec.tool_index(name) {
            Some(i) => Some(self.spec.tools[i].annotations.read_only),
            None => self.custom.iter().find(|t| t.name == name).map(|t| t.read_only),
        }
    }

    pub fn view(&self) -> &Arc<View> {
        &self.view
    }

    /// One server per toolset of this one's view (every toolset when it has
    /// all tools), each limited to that toolset: `/mcp/<toolset>` over HTTP.
    pub fn per_toolset(&self) -> Vec<(&'static str, Server)> {
        let names: Vec<&'static str> = if self.view.toolsets.is_empty() {
            self.spec.toolsets.iter().map(|t| t.name).collect()
        } else {
            self.view.toolsets.clone()
        };
        names
            .into_iter()
            .map(|name| {
                let view = View::new(
                    self.spec,
                    &self.custom,
                    self.surface,
                    &[name.to_string()],
                    self.page_size,
                )
                .expect("the spec's own toolsets exist")
                .with_profile(self.view.profile);
                let server = Server {
                    inner: self.inner.clone(),
                    view: Arc::new(view),
                    log_level: Arc::default(),
                    caller: self.caller.clone(),
                    scoped: Arc::default(),
                    budget: self.budget,
                    files_dir: self.files_dir.clone(),
                };
                (name, server)
            })
            .collect()
    }
}

impl Server {
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The tool at this index of `spec.tools`, its schemas parsed on first use.
    fn tool(&self, index: usize) -> &Tool {
        // Every view of a server lists one form of the schemas.
        let restores = self.view.profile == SchemaProfile::Portable;
        self.tools[index].get_or_init(|| Box::new(Tool::new(&self.spec.tools[index]).restoring(restores)))
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

    /// What every call runs in: the `backstop` timeout, a panic net (a bug
    /// answers its own call with an error and never takes the server down),
    /// cancellation (a call its client cancelled or abandoned stops at once:
    /// dropping it drops its upstream request and any retry or page to come),
    /// and the call's audit event, written even when the call is dropped
    /// unfinished (its client went away).
    async fn envelope(
        &self,
        tool: &str,
        deadline: Duration,
        backstop: Duration,
        cancelled: &CancellationToken,
        call: impl Future<Output = (CallToolResponse, Outcome)>,
    ) -> Result<CallToolResponse, ErrorData> {
        let _in_flight = self.metrics.in_flight();
        let mut audit = Audit {
            metrics: &self.metrics,
            caller: &self.caller,
            request_id: self.metrics.request_id(),
            tool,
            started: Instant::now(),
            outcome: None,
        };
        let call = std::panic::AssertUnwindSafe(tokio::time::timeout(backstop, call)).catch_unwind();
        let finished = tokio::select! {
            finished = call => finished,
            () = cancelled.cancelled() => {
                return Err(ErrorData::internal_error("the client cancelled this call", None));
            }
        };
        let (result, outcome) = match finished {
            Ok(Ok(done)) => done,
            Err(_panic) => {
                let (result, outcome) = call::internal_failure(tool);
                (result.into(), outcome)
            }
            Ok(Err(_)) => (
                call::deadline_exceeded(tool, deadline).into(),
                Outcome::of(Ended::Deadline),
            ),
        };
        audit.outcome = Some(outcome);
        Ok(result)
    }
}

/// A list result from its JSON (the rmcp types are non-exhaustive), marked
/// complete as 2026-07-28 clients require (rmcp drops the mark for older ones).
fn list_result<T: serde::de::DeserializeOwned>(mut value: serde_json::Value) -> Result<T, ErrorData> {
    value["resultType"] = json!("complete");
    serde_json::from_value(value).map_err(|e| ErrorData::internal_error(format!("a list: {e}"), None))
}

/// A finished call's result as a completed task carries it.
fn completed(result: &CallToolResult) -> TaskPayload {
    let result = match serde_json::to_value(result) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => Default::default(),
    };
    TaskPayload::Completed { result }
}

/// A call's audit event, written when it is dropped: with the call's outcome,
/// or as cancelled when the call never got one.
struct Audit<'a> {
    metrics: &'a Metrics,
    caller: &'a Caller,
    request_id: String,
    tool: &'a str,
    started: Instant,
    outcome: Option<Outcome>,
}

impl Drop for Audit<'_> {
    fn drop(&mut self) {
        let outcome = self.outcome.take().unwrap_or(Outcome::of(Ended::Cancelled));
        self.metrics.finish(
            &self.request_id,
            self.tool,
            outcome,
            self.started.elapsed(),
            self.caller,
        );
    }
}

impl ServerHandler for Server {
    #[allow(deprecated)] // enable_logging
    fn get_info(&self) -> ServerConfig {
        let mut implementation = Implementation::new(self.spec.name, self.spec.version);
        if let Some(title) = self.spec.title {
            implementation = implementation.with_title(title);
        }
        let mut capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_logging()
            .enable_resources()
            .build();
        if !self.spec.prompts.is_empty() {
            capabilities.prompts = Some(Default::default());
        }
        if self.long_running {
            capabilities
                .extensions
                .get_or_insert_with(Default::default)
                .insert(rmcp::model::TASKS_EXTENSION_ID.to_string(), Default::default());
        }
        ServerConfig::new(capabilities)
            .with_server_info(implementation)
            .with_instructions(catalog::instructions(self.spec, &self.view))
    }

    /// The transports answer `tools/list` from the view's bytes before it
    /// gets here; this is the same answer for those that don't (legacy sessions).
    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let cursor = request.and_then(|r| r.cursor);
        let page = self
            .for_request(&context)
            .view
            .page(cursor.as_deref())
            .map_err(|refused| ErrorData::invalid_params(refused.to_string(), None))?;
        serde_json::from_slice(&page).map_err(|e| ErrorData::internal_error(format!("tools/list: {e}"), None))
    }

    fn get_tool(&self, name: &str) -> Option<McpTool> {
        let entry = match self.spec.tool_index(name) {
            Some(i) if self.view.surface.lists_operations() && self.view.contains(i) => self.spec.tools[i].listing,
            Some(_) => return None,
            None => self.view.entry(name)?,
        };
        serde_json::from_str(&self.view.listed(entry)).ok()
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

    /// Pages of results too big for a frame, for the caller they were made for.
    async fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        self.task_state(request, &context).await
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.end_task(request, &context).await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let server = self.for_request(&context);
        match server.results.read(server.caller.key(), &request.uri).await {
            Ok(page) => Ok(resources::held_page(page).into()),
            Err(Missing::Gone) => Err(ErrorData::resource_not_found(
                format!(
                    "{} is not held: results are kept {} for {} minutes, for the caller they were made for; \
                     call the tool again",
                    request.uri,
                    server.results.describe(),
                    server.results.ttl().as_secs().div_ceil(60)
                ),
                None,
            )),
            Err(Missing::Unavailable(why)) => Err(ErrorData::internal_error(
                format!("{} can't be read now: {why}; try again shortly", request.uri),
                None,
            )),
            Err(Missing::NoSuchPage { pages }) => Err(ErrorData::invalid_params(
                format!("{} has no such page: it has pages 1 to {pages}", request.uri),
                None,
            )),
            Err(Missing::NotOurs) => server.read_declared(&request.uri, &context.ct).await.map(Into::into),
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let resources = self.for_request(&context).declared(false);
        list_result(json!({"resources": resources}))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let templates = self.for_request(&context).declared(true);
        list_result(json!({"resourceTemplates": templates}))
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let prompts: Vec<serde_json::Value> = self.spec.prompts.iter().map(resources::prompt_entry).collect();
        list_result(json!({"prompts": prompts}))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let Some(prompt) = self.spec.prompts.iter().find(|p| p.name == request.name) else {
            let names: Vec<&str> = self.spec.prompts.iter().map(|p| p.name).collect();
            return Err(ErrorData::invalid_params(
                format!("no prompt `{}`; this server has: {}", request.name, names.join(", ")),
                None,
            ));
        };
        resources::fill(prompt, request.arguments.as_ref()).map(Into::into)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.for_request(&context)
            .dispatch(request.name.as_ref(), request.arguments, Some(&context), &context.ct)
            .await
    }
}

impl Server {
    /// A `tools/call` the transport answers without rmcp (a stateless HTTP
    /// request with no progress token): nothing to report to, and dropping
    /// the future is what cancels it.
    pub async fn call_direct(
        &self,
        name: &str,
        arguments: Option<rmcp::model::JsonObject>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.dispatch(name, arguments, None, &CancellationToken::new()).await
    }

    /// A call by the name the view lists: a generated tool, a discovery
    /// meta-tool or a hand-written tool. `context` is the rmcp request's,
    /// where progress and log notifications go.
    async fn dispatch(
        &self,
        name: &str,
        arguments: Option<rmcp::model::JsonObject>,
        context: Option<&RequestContext<RoleServer>>,
        cancelled: &CancellationToken,
    ) -> Result<CallToolResponse, ErrorData> {
        if let Some(index) = self.spec.tool_index(name)
            && self.view.surface.lists_operations()
            && self.view.contains(index)
        {
            return self.call_generated(index, arguments, context, cancelled).await;
        }
        // Arguments written for a portable listing, turned back for the full schema.
        let mut arguments = arguments;
        if self.view.profile == SchemaProfile::Portable
            && let Some(entry) = self.view.entry(name)
        {
            let problems = call::restore(entry, arguments.get_or_insert_default());
            if !problems.is_empty() {
                return Ok(call::invalid_arguments(name, problems, self.upstream.redactor()).into());
            }
        }
        if name == tasks::WAIT_TOOL && self.view.lists(name) {
            // The job's own tool bounds the wait; this only backstops it.
            let backstop = crate::context::MAX_DEADLINE;
            return self
                .envelope(name, backstop, backstop, cancelled, self.call_wait(arguments))
                .await;
        }
        if discovery::NAMES.contains(&name) && self.view.lists(name) {
            let started = Instant::now();
            let answered = async |result: CallToolResult| {
                let result = self.fitted(result, name, None).await;
                let kind = if result.is_error == Some(true) {
                    Ended::InvalidArguments
                } else {
                    Ended::Ok
                };
                let outcome = Outcome {
                    kind,
                    status: None,
                    attempts: 0,
                };
                self.metrics.finish(
                    &self.metrics.request_id(),
                    name,
                    outcome,
                    started.elapsed(),
                    &self.caller,
                );
                Ok(result.into())
            };
            return match name {
                discovery::SEARCH => answered(discovery::search(self.spec, &self.view, arguments)).await,
                discovery::DESCRIBE => answered(discovery::describe(self.spec, &self.view, arguments)).await,
                _ => match discovery::resolve_call(self.spec, &self.view, name, arguments) {
                    Ok((index, arguments)) => self.call_generated(index, arguments, context, cancelled).await,
                    Err(refused) => answered(*refused).await,
                },
            };
        }
        if let Some(tool) = self.custom.iter().find(|t| t.name == name) {
            return self.call_custom(tool, arguments, cancelled).await;
        }
        Err(ErrorData::invalid_params(
            format!("unknown tool `{name}`; call tools/list for the available tools"),
            None,
        ))
    }

    /// A generated tool's call, by its own name or through a discovery call tool.
    async fn call_generated(
        &self,
        index: usize,
        arguments: Option<rmcp::model::JsonObject>,
        context: Option<&RequestContext<RoleServer>>,
        cancelled: &CancellationToken,
    ) -> Result<CallToolResponse, ErrorData> {
        let tool = self.tool(index);
        let reporter = context.and_then(|context| {
            Reporter::new(
                context.peer.clone(),
                context.meta.get_progress_token(),
                self.log_level.get(),
                tool.spec.name,
                self.upstream.redactor().clone(),
            )
        });
        let cx = self.context(tool).with_reporter(reporter);
        let cx = self.with_personal(cx, &tool.spec.request).await?;
        let deadline = crate::context::time_limit(&cx.policy);
        let files = FileSources {
            held: &self.results,
            owner: self.caller.key(),
            dir: self.files_dir.as_deref(),
        };
        // A client with the tasks extension gets a task for a job still
        // running after its 202; others wait for it within the deadline.
        let follow = match context.and_then(|c| c.client_capabilities()) {
            Some(capabilities) if capabilities.supports_tasks() => Follow::Hand,
            _ => Follow::Wait,
        };
        let call = async {
            // Boxed: a call's future (request, pages, jobs) is large, and rmcp
            // moves handler futures on the stack (a debug build overflows it).
            let (mut answer, outcome) = Box::pin(call::call(&self.upstream, &cx, tool, arguments, files, follow)).await;
            self.when_refused(&cx, &outcome, &mut answer).await;
            (self.answered(answer, tool, follow).await, outcome)
        };
        // The call keeps its own deadline; the backstop (with a grace period for
        // the call's own, more precise error) stops anything that doesn't.
        let backstop = deadline.saturating_add(Duration::from_millis(250));
        self.envelope(tool.spec.name, deadline, backstop, cancelled, call).await
    }
}
