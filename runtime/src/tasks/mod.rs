//! Long-running operations: an operation that answers 202 Accepted is
//! followed to its end. Where to watch it: the 202's `Operation-Location`,
//! `Azure-AsyncOperation` or `Location` header (on the host the request went
//! to: the server's credentials go nowhere else), or a status tool that
//! mcpgen.yaml names, called with arguments from the 202's body. Each poll
//! waits what the API's `Retry-After` asks (1 to 30 s), else 1 s growing to 10 s.
//!
//! A job has ended when a poll answers other than 202 and its body has no
//! status saying it still runs (`status`, `state`, `phase`,
//! `provisioningState`, or `done: false`). What a caller gets meanwhile is
//! the server's choice (`serve/jobs.rs`): an MCP task for clients with the tasks
//! extension, each `tasks/get` advancing it by at most one poll; otherwise a
//! wait within the call's deadline, then a handle for `wait_for_operation`.
//! Jobs are held in memory per caller, bounded, like results.

use std::time::{Duration, Instant, SystemTime};

use mcpgen_spec::projection::Projection;
use reqwest::StatusCode;
use rmcp::model::CallToolResult;
use serde_json::{Map, Value, json};
use url::Url;

use crate::context::CallContext;
use crate::redact::Redactor;
use crate::spec::{JobCancel, JobStatus, LongRunningSpec, Method, RequestSpec, ServerSpec, ToolSpec};
use crate::state::{Limits, OwnedStore};
use crate::upstream::{ErrorKind, Prepared, Upstream, UpstreamError, UpstreamResponse};

/// The meta-tool that waits for a job again.
pub const WAIT_TOOL: &str = "wait_for_operation";
/// Bounds of the wait between polls.
const MIN_WAIT: Duration = Duration::from_secs(1);
const MAX_WAIT: Duration = Duration::from_secs(30);
const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(10);
/// Jobs held at once (the oldest go first).
const MAX_JOBS: usize = 1024;

/// Where a job's status is read.
#[derive(Debug, Clone)]
pub enum Target {
    Url(Url),
    Tool {
        spec: &'static ToolSpec,
        args: Map<String, Value>,
    },
}

/// A job in progress: what the next poll and the final answer need.
#[derive(Debug, Clone)]
pub struct Job {
    pub target: Target,
    /// The tool that started it.
    pub tool: &'static ToolSpec,
    /// The request that started it, as messages name it (`POST /exports`).
    pub label: String,
    /// The job's last status as the API said it.
    pub status: Option<String>,
    /// How long to wait before the next poll.
    pub wait: Duration,
    /// The model's `fields`, for the final answer.
    pub asked: Option<Projection>,
    /// Values sent in headers the redaction rules name: masked in the answer too.
    pub sensitive: Vec<String>,
    pub started: Instant,
    pub polls: u32,
}

/// What one poll found.
pub enum Polled {
    Running {
        status: Option<String>,
        retry_after: Option<Duration>,
    },
    /// The job ended: the answer to pass on (boxed: a response is far larger
    /// than the running case), and where it came from.
    Finished(Box<UpstreamResponse>, Url),
}

/// Where a 202 says to watch its job, and the job's status as its body
/// says (read once); `None` when it says nothing usable (no header, another
/// host, a body without the status tool's arguments).
pub fn accepted(
    server: &'static ServerSpec,
    long_running: &LongRunningSpec,
    request_url: &Url,
    response: &UpstreamResponse,
) -> Option<(Target, Option<String>)> {
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    let target = match long_running.status {
        JobStatus::Header => ["operation-location", "azure-asyncoperation", "location"]
            .iter()
            .find_map(|name| response.headers.get(*name)?.to_str().ok())
            .and_then(|value| same_origin(request_url, value))
            .map(Target::Url)?,
        JobStatus::Tool { tool, args } => {
            let spec = &server.tools[server.tool_index(tool)?];
            let body = body.as_ref()?;
            let mut values = Map::new();
            for (arg, path) in args {
                let value = path.split('.').try_fold(body, |v, key| v.get(key))?;
                values.insert(arg.to_string(), value.clone());
            }
            Target::Tool { spec, args: values }
        }
    };
    let status = body.as_ref().and_then(body_status).map(|(_, status)| status);
    Some((target, status))
}

/// `reference` resolved against `base`, when it stays on its scheme, host and port.
fn same_origin(base: &Url, reference: &str) -> Option<Url> {
    let url = base.join(reference.trim()).ok()?;
    (url.origin() == base.origin()).then_some(url)
}

/// The wait before the next poll: what the API asked (bounded), else the
/// last wait grown by half, up to 10 s.
pub fn next_wait(last: Duration, asked: Option<Duration>) -> Duration {
    match asked {
        Some(asked) => asked.clamp(MIN_WAIT, MAX_WAIT),
        None => last.mul_f64(1.5).clamp(MIN_WAIT, DEFAULT_MAX_WAIT),
    }
}

/// Whether a job's body says it still runs, and its status in words.
pub fn body_status(body: &Value) -> Option<(bool, String)> {
    const RUNNING: &[&str] = &[
        "running",
        "pending",
        "queued",
        "in_progress",
        "inprogress",
        "in-progress",
        "notstarted",
        "not_started",
        "started",
        "accepted",
        "processing",
        "waiting",
        "created",
        "submitted",
        "scheduled",
        "provisioning",
        "updating",
        "creating",
        "deleting",
    ];
    let map = body.as_object()?;
    if let Some(done) = map.get("done").and_then(Value::as_bool) {
        return Some((!done, if done { "done" } else { "running" }.to_string()));
    }
    ["status", "state", "phase", "provisioningState"]
        .iter()
        .find_map(|key| map.get(*key)?.as_str())
        .map(|status| {
            (
                RUNNING.contains(&status.to_ascii_lowercase().as_str()),
                status.to_string(),
            )
        })
}

/// One look at the job, within the call's deadline.
pub async fn poll(upstream: &Upstream, cx: &CallContext, job: &Job) -> Result<Polled, UpstreamError> {
    let (response, url) = get(upstream, cx, job, &job.target, Method::Get).await?;
    // 303 See Other: the job is done, its result is there.
    if response.status == StatusCode::SEE_OTHER
        && let Some(result) = response
            .headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .and_then(|location| same_origin(&url, location))
    {
        let (response, url) = get(upstream, cx, job, &Target::Url(result), Method::Get).await?;
        return Ok(Polled::Finished(Box::new(response), url));
    }
    let retry_after = crate::upstream::retry_after_now(&response.headers);
    let status = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|body| body_status(&body));
    let running = match &status {
        _ if response.status == StatusCode::ACCEPTED => true,
        Some((running, _)) => response.status.is_success() && *running,
        None => false,
    };
    Ok(if running {
        Polled::Running {
            status: status.map(|(_, s)| s),
            retry_after,
        }
    } else {
        Polled::Finished(Box::new(response), url)
    })
}

/// Stops the job where the API allows it; `Ok(false)` when it offers no way.
pub async fn cancel(
    upstream: &Upstream,
    cx: &CallContext,
    server: &'static ServerSpec,
    job: &Job,
) -> Result<bool, UpstreamError> {
    let Some(how) = job.tool.long_running.and_then(|l| l.cancel) else {
        return Ok(false);
    };
    let (target, method) = match (how, &job.target) {
        (JobCancel::DeleteStatus, Target::Url(url)) => (Target::Url(url.clone()), Method::Delete),
        (JobCancel::Tool { tool }, Target::Tool { args, .. }) => {
            let Some(index) = server.tool_index(tool) else {
                return Ok(false);
            };
            let spec = &server.tools[index];
            let target = Target::Tool {
                spec,
                args: args.clone(),
            };
            (target, spec.request.method)
        }
        _ => return Ok(false),
    };
    let (response, _) = get(upstream, cx, job, &target, method).await?;
    Ok(response.status.is_success())
}

/// A request to `target` with the credentials of the tool that started the job.
async fn get(
    upstream: &Upstream,
    cx: &CallContext,
    job: &Job,
    target: &Target,
    method: Method,
) -> Result<(UpstreamResponse, Url), UpstreamError> {
    let invalid = |detail: String| UpstreamError {
        kind: ErrorKind::Invalid,
        detail,
        attempts: 0,
    };
    match target {
        Target::Url(url) => {
            let recipe = RequestSpec {
                method,
                path: "",
                server: None,
                params: &[],
                body: None,
                security: job.tool.request.security,
            };
            let prepared = Prepared {
                method: method.as_str().parse().map_err(|_| invalid("bad method".into()))?,
                url: url.clone(),
                headers: Vec::new(),
                cookies: Vec::new(),
                body: None,
                label: format!("{} {}", method.as_str(), url.path()),
                sensitive: Vec::new(),
            };
            let response = upstream.send_as(job.tool.name, cx, &recipe, &prepared).await?;
            Ok((response, url.clone()))
        }
        Target::Tool { spec, args } => {
            let prepared =
                crate::upstream::prepare(&spec.request, args, &upstream.config().base_url, &Redactor::default())
                    .map_err(|e| invalid(format!("the status request can't be made: {}", e.0)))?;
            let response = upstream.send_as(spec.name, cx, &spec.request, &prepared).await?;
            Ok((response, prepared.url))
        }
    }
}

/// RFC 3339 in UTC, as task timestamps are written.
pub fn timestamp(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// What the caller gets while the job runs: what it is, how long it ran,
/// and how to wait for it again.
pub fn still_running(job: &Job, handle: &str, note: Option<&str>) -> CallToolResult {
    let status = job.status.as_deref().unwrap_or("running");
    let seconds = job.started.elapsed().as_secs();
    let text = format!(
        "{} was accepted and is still running after {seconds} s (status: `{status}`; {} status check(s)).{} \
         To wait for it again, call `{WAIT_TOOL}` with {{\"operation\": \"{handle}\"}}; it is kept for this caller only.",
        job.label,
        job.polls,
        note.map(|n| format!(" {n}")).unwrap_or_default(),
    );
    let mut result = CallToolResult::success(vec![rmcp::model::ContentBlock::text(text)]);
    result.structured_content = Some(json!({
        "operation": {"id": handle, "status": status, "running_seconds": seconds, "next_check_seconds": job.wait.as_secs()}
    }));
    result
}

/// The `tools/list` entry of `wait_for_operation`.
pub fn wait_tool_entry() -> String {
    json!({
        "name": WAIT_TOOL,
        "title": "Wait for a long-running operation",
        "description": "Waits for an operation a tool started and that was still running when the tool answered: \
            give the `operation` id from that answer. Answers with the operation's result when it has ended, \
            else with its status and the same id to wait again.",
        "inputSchema": {
            "type": "object",
            "properties": {"operation": {"type": "string", "description": "The id a tool's answer gave (`op_…`)."}},
            "required": ["operation"],
            "additionalProperties": false
        },
        "annotations": {"readOnlyHint": true, "openWorldHint": true}
    })
    .to_string()
}

/// A held job: waiting for its next poll, being polled, or ended.
pub enum Entry {
    Waiting {
        job: Box<Job>,
        next_poll: Instant,
    },
    Ended {
        result: Box<CallToolResult>,
        cancelled: bool,
    },
}

struct Held {
    entry: Entry,
    created: SystemTime,
    updated: SystemTime,
}

/// Jobs by id, each readable only by the caller that started it.
pub struct JobStore {
    held: OwnedStore<Held>,
}

/// A held job as `tasks/get` reports it.
pub struct Snapshot {
    pub created: SystemTime,
    pub updated: SystemTime,
    /// The job, when it still runs and its next poll is due.
    pub due: Option<Job>,
    pub status: Option<String>,
    pub wait: Duration,
    pub ended: Option<(CallToolResult, bool)>,
}

impl JobStore {
    pub fn new(ttl: Duration) -> JobStore {
        let limits = Limits {
            max_entries: MAX_JOBS,
            // Jobs are small: bounded by their number.
            max_bytes: usize::MAX,
            ttl,
        };
        JobStore {
            held: OwnedStore::new(limits),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.held.ttl()
    }

    /// Holds `job` for `owner`; its id (`op_` and 128 random bits), or
    /// `None` without randomness for an unguessable id.
    pub fn hold(&self, owner: &str, job: Job) -> Option<String> {
        let id = format!("op_{}", crate::state::random_id()?);
        let next_poll = Instant::now() + job.wait;
        let job = Box::new(job);
        self.insert(owner, &id, Entry::Waiting { job, next_poll });
        Some(id)
    }

    /// The job `id` of `owner`: `None` when not held (expired, another
    /// caller's, or never made).
    pub fn snapshot(&self, owner: &str, id: &str) -> Option<Snapshot> {
        self.held.with(owner, id, |held| match &held.entry {
            Entry::Waiting { job, next_poll } => Snapshot {
                created: held.created,
                updated: held.updated,
                due: (Instant::now() >= *next_poll).then(|| (**job).clone()),
                status: job.status.clone(),
                wait: job.wait,
                ended: None,
            },
            Entry::Ended { result, cancelled } => Snapshot {
                created: held.created,
                updated: held.updated,
                due: None,
                status: None,
                wait: Duration::ZERO,
                ended: Some(((**result).clone(), *cancelled)),
            },
        })
    }

    /// Records what a poll found: the job still running (polled again after
    /// its wait) or its end. A job cancelled meanwhile stays cancelled.
    pub fn update(&self, owner: &str, id: &str, entry: Entry) {
        self.held.with(owner, id, |held| {
            if !matches!(held.entry, Entry::Ended { cancelled: true, .. }) {
                held.entry = entry;
                held.updated = SystemTime::now();
            }
        });
    }

    /// Holds an ended job again under its id (a cancelled task, say), so
    /// `tasks/get` can still report it.
    pub fn restore_ended(&self, owner: &str, id: &str, result: CallToolResult, cancelled: bool) {
        let result = Box::new(result);
        self.insert(owner, id, Entry::Ended { result, cancelled });
    }

    /// Holds `entry` as `id` for `owner`, the oldest going first at the bound.
    fn insert(&self, owner: &str, id: &str, entry: Entry) {
        let now = SystemTime::now();
        let held = Held {
            entry,
            created: now,
            updated: now,
        };
        self.held.insert(owner, id, held, 0);
    }

    /// Takes the job out for a caller that waits for it (`wait_for_operation`).
    pub fn take(&self, owner: &str, id: &str) -> Option<Result<Job, CallToolResult>> {
        let held = self.held.take(owner, id)?;
        Some(match held.entry {
            Entry::Waiting { job, .. } => Ok(*job),
            Entry::Ended { result, .. } => Err(*result),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_say_whether_a_job_still_runs() {
        assert_eq!(
            body_status(&json!({"status": "Running"})),
            Some((true, "Running".into()))
        );
        assert_eq!(
            body_status(&json!({"state": "succeeded"})),
            Some((false, "succeeded".into()))
        );
        assert_eq!(
            body_status(&json!({"provisioningState": "Updating"})),
            Some((true, "Updating".into()))
        );
        assert_eq!(
            body_status(&json!({"done": false, "name": "op"})),
            Some((true, "running".into()))
        );
        assert_eq!(
            body_status(&json!({"done": true, "status": "x"})),
            Some((false, "done".into()))
        );
        assert_eq!(body_status(&json!({"id": 7})), None);
        assert_eq!(body_status(&json!([1])), None);
    }

    #[test]
    fn waits_follow_retry_after_within_bounds_else_grow() {
        let s = Duration::from_secs;
        assert_eq!(next_wait(s(1), Some(s(5))), s(5));
        assert_eq!(next_wait(s(1), Some(s(0))), MIN_WAIT);
        assert_eq!(next_wait(s(1), Some(s(u64::MAX / 2))), MAX_WAIT);
        assert_eq!(next_wait(s(2), None), s(3));
        assert_eq!(next_wait(s(9), None), DEFAULT_MAX_WAIT);
        assert_eq!(next_wait(Duration::ZERO, None), MIN_WAIT);
    }

    #[test]
    fn a_202_is_watched_where_its_headers_say_on_the_requests_host() {
        use crate::spec::{JobStatus, LongRunningSpec};
        let spec = LongRunningSpec {
            status: JobStatus::Header,
            cancel: None,
        };
        let url = Url::parse("https://api.example.com/v1/exports").unwrap();
        let answer = |headers: &[(&str, &str)], body: &str| UpstreamResponse {
            status: StatusCode::ACCEPTED,
            content_type: Some("application/json".into()),
            headers: headers
                .iter()
                .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
                .collect(),
            body: body.as_bytes().to_vec(),
            truncated: false,
            elapsed: Duration::ZERO,
            attempts: 1,
        };
        let watched = |response: UpstreamResponse| match accepted(&crate::fixtures::SPEC, &spec, &url, &response) {
            Some((Target::Url(url), status)) => Some((url.to_string(), status)),
            _ => None,
        };
        // Operation-Location over Azure-AsyncOperation over Location; the body's status read too.
        let all = [
            ("location", "/v1/exports/1"),
            ("azure-asyncoperation", "/v1/ops/2"),
            ("operation-location", "/v1/ops/3"),
        ];
        assert_eq!(
            watched(answer(&all, r#"{"status": "NotStarted"}"#)),
            Some(("https://api.example.com/v1/ops/3".into(), Some("NotStarted".into())))
        );
        assert_eq!(
            watched(answer(&all[..2], "")),
            Some(("https://api.example.com/v1/ops/2".into(), None))
        );
        assert_eq!(
            watched(answer(&[("location", "https://evil.example.net/x")], "")).map(|(u, _)| u),
            None
        );
        assert_eq!(watched(answer(&[], "{}")), None);
    }

    #[test]
    fn status_urls_stay_on_the_requests_host() {
        let base = Url::parse("https://api.example.com/v1/exports").unwrap();
        assert_eq!(
            same_origin(&base, "/v1/jobs/7").unwrap().as_str(),
            "https://api.example.com/v1/jobs/7"
        );
        assert_eq!(
            same_origin(&base, "jobs/7").unwrap().as_str(),
            "https://api.example.com/v1/jobs/7"
        );
        assert!(same_origin(&base, "https://evil.example.net/jobs/7").is_none());
        assert!(same_origin(&base, "http://api.example.com/jobs/7").is_none());
        assert!(same_origin(&base, "https://api.example.com:8443/jobs/7").is_none());
    }
}
