//! One tool call from arguments to MCP result.
//!
//! Input: a `ToolSpec` and the arguments object. Output: a `CallToolResult`.
//! Arguments are validated against the tool's input schema before anything is
//! sent; every failure the model can act on (bad arguments, upstream status,
//! timeout) is an `isError` result with a structured body and a text copy.
//! All text leaves through the `Redactor`.

pub mod custom;
pub mod files;
pub mod fit;
pub mod pagination;
mod shape;
mod tool;

use self::shape::{Shaping, shape, shape_response};
pub use self::tool::Tool;
pub(crate) use self::tool::{drop_null_optionals, schema_violations};

use std::time::Duration;

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};

use crate::call::files::FileSources;
use crate::call::pagination::{Failure, Fetched};
use crate::context::CallContext;
use crate::observe::{Ended, Outcome};
use crate::redact::Redactor;
use crate::tasks::{self, Job};
use crate::upstream::{self, Prepared, Upstream};

/// How many schema violations are listed before "and N more".
const MAX_LISTED_VIOLATIONS: usize = 10;

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
        Err(problem) => return done(invalid(tool, vec![problem.0], redactor)),
    };
    if let Err(e) = crate::call::files::resolve(&tool.spec.request, &mut args, files).await {
        return done(invalid(tool, vec![e.0], redactor));
    }
    let credentialed = upstream.body_credentials(cx, &tool.spec.request, &args);
    let body_args = credentialed.as_ref().unwrap_or(&args);
    let prepared = match upstream::prepare(&tool.spec.request, body_args, &upstream.config().base_url, redactor) {
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
            fields: shaping.fields,
            sensitive: prepared.sensitive,
            started: std::time::SystemTime::now(),
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
pub async fn follow(upstream: &Upstream, cx: &CallContext, tool: &Tool, job: Job, max_polls: u32) -> (Answer, Outcome) {
    let (job, response, url) = match tasks::follow(upstream, cx, job, max_polls).await {
        tasks::Followed::Ended { job, response, url } => (job, response, url),
        tasks::Followed::Running { job, attempts } => {
            let outcome = Outcome {
                kind: Ended::Accepted,
                status: Some(202),
                attempts,
            };
            return (Answer::Running(Box::new(job)), outcome);
        }
    };
    let shaping = Shaping {
        configured: tool.projection.as_ref(),
        asked: job.asked(),
        fields: None,
    };
    let redactor = upstream.redactor().with_values(job.sensitive.clone());
    let status = response.status;
    let attempts = response.attempts;
    let mut result = shape_response(&job.label, &url, *response, &shaping, &redactor);
    result.content.push(ContentBlock::text(format!(
        "{} was accepted, then ended after {} s and {} status check(s).",
        job.label,
        job.running().as_secs(),
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
    (Answer::Done(result), outcome)
}

/// Arguments written for the portable form of a listed entry's input schema,
/// turned back for the full one (`mcpgen_spec::portable::restore`): what can't be.
pub(crate) fn restore(entry: &str, args: &mut Map<String, Value>) -> Vec<String> {
    match serde_json::from_str::<Value>(entry) {
        Ok(Value::Object(mut entry)) => match entry.remove("inputSchema") {
            Some(Value::Object(schema)) => mcpgen_spec::portable::restore(&schema, args),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The arguments as the schema accepts them, or what is wrong with them.
fn validate(tool: &Tool, arguments: Option<Map<String, Value>>) -> Result<Map<String, Value>, Vec<String>> {
    let mut args = arguments.unwrap_or_default();
    if tool.restores {
        let problems = mcpgen_spec::portable::restore(&tool.schema, &mut args);
        if !problems.is_empty() {
            return Err(problems);
        }
    }
    drop_null_optionals(&tool.schema, &mut args);
    let args = Value::Object(args);
    let violations = tool.violations(&args);
    match args {
        Value::Object(args) if violations.is_empty() => Ok(args),
        _ => Err(violations),
    }
}

pub(super) fn invalid(tool: &Tool, problems: Vec<String>, redactor: &Redactor) -> (CallToolResult, Outcome) {
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
