//! One tool call from arguments to MCP result.
//!
//! Input: a `ToolSpec` and the arguments object. Output: a `CallToolResult`.
//! Arguments are validated against the tool's input schema before anything is
//! sent; every failure the model can act on (bad arguments, upstream status,
//! timeout) is an `isError` result with a structured body and a text copy.
//! All text leaves through the `Redactor`.

pub mod custom;
pub mod files;
pub mod pagination;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde_json::{Map, Value, json};

use crate::call::files::FileSources;
use crate::call::pagination::{Failure, Fetched, Pages};
use crate::context::CallContext;
use crate::observe::{Ended, Outcome};
use crate::redact::Redactor;
use crate::spec::ToolSpec;
use crate::tasks::{self, Job};
use crate::upstream::{self, ErrorKind, Prepared, Upstream, UpstreamError, UpstreamResponse};
use mcpgen_spec::projection::{Cuts, FIELDS_ARGUMENT, Projection};

/// How much of an error body the model sees.
const ERROR_BODY_EXCERPT: usize = 2048;
/// How many schema violations are listed before "and N more".
const MAX_LISTED_VIOLATIONS: usize = 10;

/// A tool with its parsed schema and a validator compiled on first use
/// (so start-up stays fast for specs with thousands of tools).
pub struct Tool {
    pub spec: &'static ToolSpec,
    /// Shared with the tools/list entry (no copy of big schemas).
    pub schema: Arc<Map<String, Value>>,
    /// `outputSchema`, adjusted to the redaction rules.
    pub output: Option<Arc<Map<String, Value>>>,
    /// `tools.<id>.response` of mcpgen.yaml.
    projection: Option<Projection>,
    validator: OnceLock<Result<jsonschema::Validator, String>>,
    output_validator: OnceLock<Option<jsonschema::Validator>>,
}

impl Tool {
    /// The schemas come from the tool's `tools/list` entry (already adjusted
    /// to the redaction rules by the generator).
    pub fn new(spec: &'static ToolSpec) -> Tool {
        let mut entry = match serde_json::from_str(spec.listing) {
            Ok(Value::Object(map)) => map,
            // The generator emits objects; anything else is a generator bug.
            other => panic!("tool `{}` has an invalid listing: {other:?}", spec.name),
        };
        let mut schema = |key: &str| match entry.remove(key) {
            Some(Value::Object(map)) => Some(Arc::new(map)),
            _ => None,
        };
        Tool {
            spec,
            schema: schema("inputSchema").unwrap_or_else(|| panic!("tool `{}` has no input schema", spec.name)),
            output: schema("outputSchema"),
            projection: spec.response.as_ref().map(Projection::of),
            validator: OnceLock::new(),
            output_validator: OnceLock::new(),
        }
    }

    /// Make a result's `structuredContent` match the output schema, errors
    /// included: parts that don't match are dropped from it (the text content
    /// keeps the whole answer), so neither a spec that is wrong about its
    /// responses nor an error's details (`status: 404` where the schema has a
    /// string `status`) ever makes a client reject the result.
    pub fn conform(&self, result: &mut CallToolResult) {
        let Some(schema) = &self.output else {
            return;
        };
        let validator = self
            .output_validator
            .get_or_init(|| jsonschema::validator_for(&Value::Object((**schema).clone())).ok());
        let mut value = match result.structured_content.take() {
            Some(value @ Value::Object(_)) => value,
            _ => json!({}),
        };
        // Most results conform: one cheap check (no error values made) settles those.
        if let Some(validator) = validator
            && !validator.is_valid(&value)
        {
            // Each round removes the failing values; nested failures can surface after.
            for _ in 0..4 {
                let mut failing: Vec<String> = validator
                    .iter_errors(&value)
                    .map(|e| e.instance_path().to_string())
                    .collect();
                if failing.is_empty() {
                    break;
                }
                if failing.iter().any(String::is_empty) {
                    value = json!({});
                    continue;
                }
                // Deepest and last first, so array indexes stay valid.
                failing.sort_by(|a, b| b.cmp(a));
                failing.dedup();
                for pointer in failing {
                    remove_pointer(&mut value, &pointer);
                }
            }
            if !validator.is_valid(&value) {
                value = json!({});
            }
        }
        result.structured_content = Some(value);
    }

    /// Schema violations, as `at /path: message` lines; empty when valid.
    pub fn violations(&self, args: &Value) -> Vec<String> {
        let validator = self.validator.get_or_init(|| {
            jsonschema::validator_for(&Value::Object((*self.schema).clone())).map_err(|e| e.to_string())
        });
        match validator {
            Ok(validator) => schema_violations(validator, args),
            Err(why) => vec![format!(
                "the tool's input schema can't be compiled ({why}); report this to the server's maintainers"
            )],
        }
    }
}

/// Forget optional top-level arguments given as `null` where the schema has
/// no use for null: models in strict structured-output mode (and the agent
/// frameworks that convert tool schemas for them) fill every optional field,
/// with `null` for "not given". A property that accepts null (a nullable body
/// field: `null` clears it) keeps it, and so does a required one (the
/// validator then says what it needs).
pub(crate) fn drop_null_optionals(schema: &Map<String, Value>, args: &mut Map<String, Value>) {
    if !args.values().any(Value::is_null) {
        return;
    }
    let required = |name: &str| {
        schema
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|names| names.iter().any(|n| n == name))
    };
    let properties = schema.get("properties").and_then(Value::as_object);
    args.retain(|name, value| {
        !value.is_null() || required(name) || properties.and_then(|p| p.get(name)).is_none_or(accepts_null)
    });
}

/// Whether `schema` may accept `null`; true when it can't tell (a `$ref`).
fn accepts_null(schema: &Value) -> bool {
    let Value::Object(schema) = schema else {
        return schema != &Value::Bool(false);
    };
    if schema.contains_key("$ref") {
        return true;
    }
    if let Some(value) = schema.get("const") {
        return value.is_null();
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.iter().any(Value::is_null);
    }
    for keyword in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(keyword).and_then(Value::as_array) {
            return branches.iter().any(accepts_null);
        }
    }
    match schema.get("type") {
        None => true,
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
        Some(_) => true,
    }
}

/// Each error of `args` against `validator`, as `at `/path`: message` (the
/// path left out at the top level), for the model to fix its arguments.
pub(crate) fn schema_violations(validator: &jsonschema::Validator, args: &Value) -> Vec<String> {
    // Valid arguments, the usual case, are settled without making error values.
    if validator.is_valid(args) {
        return Vec::new();
    }
    validator
        .iter_errors(args)
        .map(|e| match e.instance_path().to_string() {
            at if at.is_empty() => e.to_string(),
            at => format!("at `{at}`: {e}"),
        })
        .collect()
}

/// Remove the value at a JSON pointer (`/a/0/b`) from its parent.
fn remove_pointer(value: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.shift_remove(&key);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = key.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}

/// Run one call, stage by stage: validate the arguments → prepare the request
/// → send it (auth, hooks, retries; following pages when the tool paginates)
/// → shape the answer (the only place results are redacted, apart from each
/// page's field rules) → conform it to the output schema. `policy` bounds the
/// whole call.
pub async fn call(
    upstream: &Upstream,
    cx: &CallContext,
    tool: &Tool,
    arguments: Option<Map<String, Value>>,
    files: FileSources<'_>,
    follow: Follow,
) -> (Answer, Outcome) {
    let redactor = upstream.redactor();
    let done = |(result, outcome)| (Answer::Done(result), outcome);
    let mut args = match validate(tool, arguments) {
        Ok(args) => args,
        Err(problems) => return done(invalid(tool, problems, redactor)),
    };
    let shaping = match Shaping::of(tool, &mut args) {
        Ok(shaping) => shaping,
        Err(problem) => return done(invalid(tool, vec![problem], redactor)),
    };
    if let Err(e) = crate::call::files::resolve(&tool.spec.request, &mut args, files).await {
        return done(invalid(tool, vec![e.0], redactor));
    }
    let prepared = match upstream::prepare(&tool.spec.request, &args, &upstream.config().base_url, redactor) {
        Ok(prepared) => prepared,
        Err(e) => return done(invalid(tool, vec![e.0], redactor)),
    };
    // Values sent in headers the redaction rules name are masked in this call's result.
    let redactor = &redactor.with_values(prepared.sensitive.clone());
    let fetched = send(upstream, cx, tool, &args, &prepared).await;
    // A long-running operation's 202: followed to its end.
    if let (Some(long_running), Ok(Fetched::Single(accepted))) = (&tool.spec.long_running, &fetched)
        && accepted.status == reqwest::StatusCode::ACCEPTED
        && let Some((target, status)) = tasks::accepted(upstream.spec(), long_running, &prepared.url, accepted)
    {
        let job = Job {
            target,
            tool: tool.spec,
            label: redactor.redact(&prepared.label),
            status,
            wait: tasks::next_wait(Duration::ZERO, upstream::retry_after_now(&accepted.headers)),
            asked: shaping.asked,
            sensitive: prepared.sensitive,
            started: Instant::now(),
            polls: 0,
        };
        let accepted = Outcome {
            kind: Ended::Accepted,
            status: Some(202),
            attempts: accepted.attempts,
        };
        return match follow {
            Follow::Hand => (Answer::Running(Box::new(job)), accepted),
            // Boxed: the request's future is big already; this would double it on the stack.
            Follow::Wait => Box::pin(self::follow(upstream, cx, tool, job, u32::MAX)).await,
        };
    }
    let (mut result, outcome) = shape(tool, &prepared, fetched, &shaping, redactor);
    // Errors too: clients (the TypeScript SDK) check any structured content
    // against the output schema; the text keeps every detail.
    tool.conform(&mut result);
    (Answer::Done(result), outcome)
}

/// What a call of a long-running operation does after its 202.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Polls within the call's deadline.
    Wait,
    /// Hands the job back at once (to become an MCP task).
    Hand,
}

/// A call's answer: a result, or a job that still runs.
pub enum Answer {
    Done(CallToolResult),
    Running(Box<Job>),
}

/// Polls `job` until it ends, the next wait would pass the call's deadline,
/// or `max_polls` polls were made; a failed poll leaves it running, with why.
pub async fn follow(
    upstream: &Upstream,
    cx: &CallContext,
    tool: &Tool,
    mut job: Job,
    max_polls: u32,
) -> (Answer, Outcome) {
    let running = |job: Job, attempts| {
        let outcome = Outcome {
            kind: Ended::Accepted,
            status: Some(202),
            attempts,
        };
        (Answer::Running(Box::new(job)), outcome)
    };
    for made in 0..max_polls {
        // The first poll goes at once: the job is new, or the caller comes
        // back for it (`wait_for_operation`, a due `tasks/get`) after its
        // wait. A poll the deadline cuts short leaves the job running, so
        // only a second is kept for it.
        let wait = if made == 0 { Duration::ZERO } else { job.wait };
        let margin = Duration::from_millis(cx.policy.timeout_ms).min(Duration::from_secs(1));
        if Instant::now() + wait + margin > cx.deadline {
            return running(job, 0);
        }
        tokio::time::sleep(wait).await;
        job.polls += 1;
        match Box::pin(tasks::poll(upstream, cx, &job)).await {
            Ok(tasks::Polled::Finished(response, url)) => {
                let shaping = Shaping {
                    configured: tool.projection.as_ref(),
                    asked: job.asked.clone(),
                };
                let redactor = upstream.redactor().with_values(job.sensitive.clone());
                let status = response.status;
                let attempts = response.attempts;
                let mut result = shape_response(&job.label, &url, *response, &shaping, &redactor);
                result.content.push(ContentBlock::text(format!(
                    "{} was accepted, then ended after {} s and {} status check(s).",
                    job.label,
                    job.started.elapsed().as_secs(),
                    job.polls
                )));
                tool.conform(&mut result);
                let outcome = Outcome {
                    kind: if status.is_success() {
                        Ended::Ok
                    } else {
                        Ended::UpstreamError
                    },
                    status: Some(status.as_u16()),
                    attempts,
                };
                return (Answer::Done(result), outcome);
            }
            Ok(tasks::Polled::Running { status, retry_after }) => {
                job.status = status.or(job.status);
                job.wait = tasks::next_wait(job.wait, retry_after);
            }
            Err(err) => {
                tracing::warn!(tool = tool.spec.name, "a status check of {} failed: {err}", job.label);
                job.wait = tasks::next_wait(job.wait, None);
                return running(job, err.attempts);
            }
        }
    }
    running(job, 0)
}

/// The arguments as the schema accepts them, or what is wrong with them.
fn validate(tool: &Tool, arguments: Option<Map<String, Value>>) -> Result<Map<String, Value>, Vec<String>> {
    let mut args = arguments.unwrap_or_default();
    drop_null_optionals(&tool.schema, &mut args);
    let args = Value::Object(args);
    let violations = tool.violations(&args);
    match args {
        Value::Object(args) if violations.is_empty() => Ok(args),
        _ => Err(violations),
    }
}

fn invalid(tool: &Tool, problems: Vec<String>, redactor: &Redactor) -> (CallToolResult, Outcome) {
    let outcome = Outcome::of(Ended::InvalidArguments);
    (invalid_arguments(tool.spec.name, problems, redactor), outcome)
}

/// One request, or the tool's pages.
async fn send(
    upstream: &Upstream,
    cx: &CallContext,
    tool: &Tool,
    args: &Map<String, Value>,
    prepared: &Prepared,
) -> Result<Fetched, Failure> {
    match &tool.spec.pagination {
        Some(pages) => {
            let paged = pagination::PagedTool {
                spec: tool.spec,
                pages,
                schema: &tool.schema,
            };
            pagination::fetch(upstream, cx, paged, args, prepared).await
        }
        None => upstream
            .send(cx, &tool.spec.request, prepared)
            .await
            .map(Fetched::Single)
            .map_err(Failure::Upstream),
    }
}

/// What came back, as the MCP result and the audit outcome.
fn shape(
    tool: &Tool,
    prepared: &Prepared,
    fetched: Result<Fetched, Failure>,
    shaping: &Shaping,
    redactor: &Redactor,
) -> (CallToolResult, Outcome) {
    let label = redactor.redact(&prepared.label);
    match fetched {
        Ok(Fetched::Single(response)) => {
            let status = response.status.as_u16();
            let kind = if response.status.is_success() {
                Ended::Ok
            } else {
                Ended::UpstreamError
            };
            let attempts = response.attempts;
            (
                shape_response(&label, &prepared.url, response, shaping, redactor),
                Outcome {
                    kind,
                    status: Some(status),
                    attempts,
                },
            )
        }
        Ok(Fetched::Pages(pages)) => {
            let attempts = pages.attempts;
            (
                shape_pages(pages, shaping, redactor),
                Outcome {
                    kind: Ended::Ok,
                    status: Some(200),
                    attempts,
                },
            )
        }
        Err(Failure::Args(e)) => invalid(tool, vec![e.0], redactor),
        Err(Failure::Upstream(err)) => upstream_failure(tool, &label, &err, redactor),
    }
}

/// No response to pass on: a structured error saying whether retrying may help.
fn upstream_failure(tool: &Tool, label: &str, err: &UpstreamError, redactor: &Redactor) -> (CallToolResult, Outcome) {
    // Details were redacted where they arose (they reach the logs too); again here for this call's header values.
    let message = redactor.redact(&err.to_string());
    let kind = err.kind.as_str();
    // A request that was never sent may be sent again; one that timed out may have
    // taken effect, so only an idempotent one may.
    let idempotent = tool.spec.request.method.is_idempotent();
    let retryable = err.kind == ErrorKind::Connect || (err.kind == ErrorKind::Timeout && idempotent);
    let advice = match err.kind {
        ErrorKind::Auth => "The server's OAuth2 client credentials were refused; the user must check them.".to_string(),
        ErrorKind::Timeout if !idempotent => "The outcome is unknown: the API may have done it. \
            Check (for example by listing or reading the resource) before repeating it."
            .to_string(),
        ErrorKind::Invalid => "The arguments made a request that can't be sent; change them.".to_string(),
        _ if err.attempts > 1 => format!(
            "The API is temporarily unavailable (tried {} times); retrying later may help.",
            err.attempts
        ),
        _ if retryable => "The API is temporarily unavailable; retrying later may help.".to_string(),
        _ => "The request could not be completed.".to_string(),
    };
    let result = error_result(
        json!({"error": kind, "request": label, "message": message,
               "attempts": err.attempts, "retryable": retryable}),
        format!("{label} failed: {message}. {advice}"),
    );
    (
        result,
        Outcome {
            kind: err.kind.into(),
            status: None,
            attempts: err.attempts,
        },
    )
}

/// A call that failed inside the server (a panic: a bug in the runtime or
/// in the crate's own code), as its result and outcome.
pub fn internal_failure(tool: &str) -> (CallToolResult, Outcome) {
    let result = error_result(
        json!({"error": "internal_error", "message": "the server failed while making this call"}),
        format!(
            "`{tool}` failed inside the MCP server (a bug; the server's log has the details). \
             The API may or may not have received the request."
        ),
    );
    let outcome = Outcome::of(Ended::InternalError);
    (result, outcome)
}

/// The result for a call that ran out of its overall deadline.
pub fn deadline_exceeded(tool: &str, deadline: Duration) -> CallToolResult {
    error_result(
        json!({"error": "deadline", "tool": tool, "deadline_ms": deadline.as_millis() as u64,
               "retryable": true}),
        format!(
            "Tool `{}` did not finish within {} ms and was stopped. The API may be slow; retrying later may help.",
            tool,
            deadline.as_millis()
        ),
    )
}

pub(crate) fn invalid_arguments(tool: &str, violations: Vec<String>, redactor: &Redactor) -> CallToolResult {
    let total = violations.len();
    let mut listed: Vec<String> = violations
        .into_iter()
        .take(MAX_LISTED_VIOLATIONS)
        .map(|v| redactor.redact(&v))
        .collect();
    if total > MAX_LISTED_VIOLATIONS {
        listed.push(format!("and {} more", total - MAX_LISTED_VIOLATIONS));
    }
    let text = format!(
        "Invalid arguments for tool `{}`; nothing was sent to the API.\n- {}\nFix these arguments to match the tool's input schema and call the tool again.",
        tool,
        listed.join("\n- ")
    );
    error_result(
        json!({"error": "invalid_arguments", "tool": tool, "problems": listed}),
        text,
    )
}

pub(crate) fn error_result(structured: Value, text: String) -> CallToolResult {
    let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    result
}

fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|ct| ct.split(';').next())
        .map(|mt| {
            let mt = mt.trim().to_ascii_lowercase();
            mt == "application/json" || mt.ends_with("+json")
        })
        .unwrap_or(false)
}

/// A successful answer's projections: the tool's own (mcpgen.yaml), then the
/// fields the model asked for in the result's terms. Applied after redaction,
/// whose rules name the API's fields.
struct Shaping<'t> {
    configured: Option<&'t Projection>,
    asked: Option<Projection>,
}

impl<'t> Shaping<'t> {
    /// Takes the `fields` argument out of `args` (it is not the API's).
    fn of(tool: &'t Tool, args: &mut Map<String, Value>) -> Result<Shaping<'t>, String> {
        let takes_fields = tool.spec.response.is_some_and(|r| r.fields_argument);
        let asked = match takes_fields.then(|| args.remove(FIELDS_ARGUMENT)).flatten() {
            // The input schema made it an array of strings.
            Some(Value::Array(fields)) => {
                let fields: Vec<String> = fields.iter().filter_map(|f| f.as_str().map(str::to_string)).collect();
                Some(Projection::asked(&fields).map_err(|e| format!("at /{FIELDS_ARGUMENT}: {e}"))?)
            }
            _ => None,
        };
        Ok(Shaping {
            configured: tool.projection.as_ref(),
            asked,
        })
    }

    /// `value` projected, and a note on lists cut.
    fn apply(&self, value: Value, cuts: &mut Cuts) -> Value {
        let value = match self.configured {
            Some(p) => p.apply_noting(&value, cuts),
            None => value,
        };
        match &self.asked {
            Some(p) => p.apply(&value),
            None => value,
        }
    }

    fn note(&self, cuts: &Cuts) -> Option<ContentBlock> {
        cuts.note(self.configured.and_then(|p| p.max_items))
            .map(ContentBlock::text)
    }
}

/// The collected items of a paginated call, and how to continue.
fn shape_pages(pages: Pages, shaping: &Shaping, redactor: &Redactor) -> CallToolResult {
    let mut value = pages.to_json();
    redactor.redact_json(&mut value);
    let mut cuts = Cuts::default();
    if let Some(Value::Array(items)) = value.get_mut("items") {
        for item in items.iter_mut() {
            *item = shaping.apply(std::mem::take(item), &mut cuts);
        }
    }
    let mut content = vec![ContentBlock::text(value.to_string())];
    content.extend(shaping.note(&cuts));
    if let Some(next) = value.get("next") {
        content.push(ContentBlock::text(format!(
            "{} items from {} pages; there are more: call again with {next} added to the arguments to continue.",
            pages.items.len(),
            pages.pages
        )));
    }
    let mut result = CallToolResult::success(content);
    result.structured_content = Some(value);
    result
}

/// A JSON body with the redaction rules applied; `None` when it isn't JSON.
fn redacted_json(body: &[u8], redactor: &Redactor) -> Option<Value> {
    let mut value: Value = serde_json::from_slice(body).ok()?;
    redactor.redact_json(&mut value);
    Some(value)
}

/// 2xx: JSON as `structuredContent` (non-objects wrapped as `{"result": ..}`, since
/// MCP requires an object) plus the same JSON as text; anything else as text.
/// Other statuses: an error result with status and a body excerpt.
fn shape_response(
    label: &str,
    url: &url::Url,
    response: UpstreamResponse,
    shaping: &Shaping,
    redactor: &Redactor,
) -> CallToolResult {
    let status = response.status;
    let json = is_json(response.content_type.as_deref());
    let mut parsed = (json && !response.truncated)
        .then(|| redacted_json(&response.body, redactor))
        .flatten();
    if status.is_success()
        && let Some(value) = parsed.take()
    {
        let mut cuts = Cuts::default();
        let value = shaping.apply(value, &mut cuts);
        let mut content = vec![ContentBlock::text(value.to_string())];
        content.extend(shaping.note(&cuts));
        let structured = match value {
            Value::Object(_) => value,
            other => json!({ "result": other }),
        };
        let mut result = CallToolResult::success(content);
        result.structured_content = Some(structured);
        return result;
    }
    let text = match &parsed {
        Some(value) => value.to_string(),
        // Redacted whole first, so a secret the size cap cut in two still goes.
        None if response.truncated => redactor.redact_cut(&String::from_utf8_lossy(&response.body)),
        None => redactor.redact(&String::from_utf8_lossy(&response.body)),
    };
    let truncation_note = response.truncated.then(|| {
        format!(
            "[response truncated: only the first {} bytes are shown; narrow the request (filters, smaller pages) for a complete answer]",
            response.body.len()
        )
    });
    let retried = (response.attempts > 1).then(|| format!(" (tried {} times)", response.attempts));

    if !status.is_success() {
        let excerpt: String = text.chars().take(ERROR_BODY_EXCERPT).collect();
        let cut = excerpt.len() < text.len() || response.truncated;
        let body = match &parsed {
            Some(value) if !cut => value.clone(),
            _ => Value::String(excerpt.clone()),
        };
        let reason = status.canonical_reason().unwrap_or("");
        let hint = match status.as_u16() {
            400 | 422 => "The API rejected the arguments; check them against the tool's description and retry.",
            401 | 403 => {
                "The API refused the server's credentials; the user must check the server's API key configuration."
            }
            404 => "The API found no such resource; check identifiers.",
            409 => "The request conflicts with the resource's current state.",
            429 => "The API is rate limiting; wait before calling again.",
            500..=599 => "The API is temporarily unavailable; retrying later may help.",
            _ => "The API did not accept the request.",
        };
        return error_result(
            json!({"error": "upstream_status", "request": label, "status": status.as_u16(),
                   "body": body, "body_truncated": cut, "attempts": response.attempts}),
            format!(
                "{label} returned {} {reason}{}. {hint}\n{excerpt}{}",
                status.as_u16(),
                retried.unwrap_or_default(),
                if cut { "…" } else { "" }
            ),
        );
    }

    if response.body.is_empty() {
        let reason = status.canonical_reason().unwrap_or("");
        let mut result = CallToolResult::success(vec![ContentBlock::text(format!(
            "{label} succeeded: {} {reason} (no content)",
            status.as_u16()
        ))]);
        result.structured_content = Some(json!({"status": status.as_u16()}));
        return result;
    }

    let media_type = essence(response.content_type.as_deref());
    let kind = BodyKind::of(&media_type, &response.body);
    if kind != BodyKind::Text && response.truncated {
        return CallToolResult::success(vec![ContentBlock::text(format!(
            "{label} returned more than {} bytes of {media_type}, more than this server passes on; nothing of it is shown.",
            response.body.len()
        ))]);
    }
    let encoded = || base64::engine::general_purpose::STANDARD.encode(&response.body);
    let content = match kind {
        BodyKind::Image => vec![ContentBlock::image(encoded(), media_type)],
        BodyKind::Audio => vec![ContentBlock::audio(encoded(), media_type)],
        BodyKind::Binary => {
            let mime_type = if media_type.is_empty() {
                "application/octet-stream".to_string()
            } else {
                media_type
            };
            // Its size, so a model knows what it has without decoding it.
            let mut meta = rmcp::model::MetaObject::new();
            meta.insert("size".into(), response.body.len().into());
            vec![ContentBlock::resource(ResourceContents::BlobResourceContents {
                uri: resource_uri(url, redactor),
                mime_type: Some(mime_type),
                blob: encoded(),
                meta: Some(meta),
            })]
        }
        BodyKind::Text => {
            let mut content = vec![ContentBlock::text(text)];
            content.extend(truncation_note.map(ContentBlock::text));
            content
        }
    };
    CallToolResult::success(content)
}

/// Names a binary response embedded as a resource: the request URL without
/// its query or credentials (either may hold secrets).
fn resource_uri(url: &url::Url, redactor: &Redactor) -> String {
    let mut url = url.clone();
    url.set_query(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    redactor.redact(url.as_str())
}

/// The media type without parameters, lowercased (`""` when absent).
fn essence(content_type: Option<&str>) -> String {
    content_type
        .and_then(|ct| ct.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// How a successful non-JSON body reaches the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Text,
    Image,
    Audio,
    /// Anything else: an embedded resource, base64.
    Binary,
}

impl BodyKind {
    fn of(media_type: &str, body: &[u8]) -> BodyKind {
        let textual = media_type.starts_with("text/")
            || ["json", "xml", "yaml", "javascript", "csv", "x-www-form-urlencoded"]
                .iter()
                .any(|t| media_type.ends_with(t) || media_type.ends_with(&format!("+{t}")));
        if media_type.starts_with("image/") {
            BodyKind::Image
        } else if media_type.starts_with("audio/") {
            BodyKind::Audio
        } else if textual || (media_type.is_empty() && std::str::from_utf8(body).is_ok()) {
            BodyKind::Text
        } else {
            BodyKind::Binary
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Annotations, Method, RequestSpec};

    /// What a strict-mode model sends for a tool with optional arguments.
    #[test]
    fn null_stands_for_not_given_where_the_schema_has_no_use_for_it() {
        let schema = json!({
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "status": {"type": "string", "enum": ["a", "b"]},
                "phone": {"type": ["string", "null"]},
                "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "owner": {"$ref": "#/$defs/Owner"},
                "any": {}
            },
            "required": ["id"]
        });
        let Value::Object(schema) = schema else { unreachable!() };
        let Value::Object(mut args) = json!({
            "id": null, "status": null, "phone": null, "note": null, "owner": null, "any": null, "extra": null
        }) else {
            unreachable!()
        };
        drop_null_optionals(&schema, &mut args);
        let kept: Vec<&str> = args.keys().map(String::as_str).collect();
        // Required, nullable, unknown (a $ref), anything, and not in the schema: kept for the validator.
        assert_eq!(kept, ["id", "phone", "note", "owner", "any", "extra"]);
    }

    static PET: ToolSpec = ToolSpec {
        name: "get_pet",
        summary: "",
        listing: r#"{"name": "get_pet", "inputSchema": {"type": "object"}, "outputSchema": {"type": "object", "properties": {"id": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}}}}"#,
        annotations: Annotations {
            read_only: true,
            destructive: false,
            idempotent: true,
            open_world: true,
        },
        request: RequestSpec {
            method: Method::Get,
            path: "/pet",
            server: None,
            params: &[],
            body: None,
            security: &[],
        },
        policy: None,
        pagination: None,
        response: None,
        long_running: None,
    };

    #[test]
    fn results_that_contradict_the_spec_lose_only_the_contradicting_parts() {
        let tool = Tool::new(&PET);
        let mut result = CallToolResult::success(vec![]);
        result.structured_content = Some(json!({"id": "not-a-number", "tags": ["a", 1, "b"], "extra": true}));
        tool.conform(&mut result);
        assert_eq!(
            result.structured_content,
            Some(json!({"tags": ["a", "b"], "extra": true}))
        );
        // No structure at all (a text answer): an empty object still satisfies the schema.
        let mut text_only = CallToolResult::success(vec![ContentBlock::text("plain")]);
        tool.conform(&mut text_only);
        assert_eq!(text_only.structured_content, Some(json!({})));
    }

    #[test]
    fn body_kinds_follow_the_media_type() {
        assert_eq!(BodyKind::of("image/png", b"\x89PNG"), BodyKind::Image);
        assert_eq!(BodyKind::of("audio/wav", b"RIFF"), BodyKind::Audio);
        assert_eq!(BodyKind::of("application/pdf", b"%PDF"), BodyKind::Binary);
        assert_eq!(BodyKind::of("text/csv", b"a,b"), BodyKind::Text);
        assert_eq!(BodyKind::of("application/problem+xml", b"<a/>"), BodyKind::Text);
        assert_eq!(BodyKind::of("", b"plain words"), BodyKind::Text);
        assert_eq!(BodyKind::of("", b"\xff\xfe\x00"), BodyKind::Binary);
        assert_eq!(essence(Some("Text/HTML; charset=utf-8")), "text/html");
    }
}
