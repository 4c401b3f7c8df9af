//! A job: what a 202 says about where to watch it, how long to wait
//! between polls, and what a caller is told while it runs.

use std::time::{Duration, SystemTime};

use mcpgen_spec::projection::Projection;
use rmcp::model::CallToolResult;
use serde_json::{Map, Value, json};
use url::Url;

use super::{DEFAULT_MAX_WAIT, MAX_WAIT, MIN_WAIT, WAIT_TOOL};
use crate::spec::{JobStatus, LongRunningSpec, ServerSpec, ToolSpec};
use crate::upstream::UpstreamResponse;

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
    /// The model's `fields` (checked when the call was made), for the final answer.
    pub fields: Option<Vec<String>>,
    /// Values sent in headers the redaction rules name: masked in the answer too.
    pub sensitive: Vec<String>,
    /// Wall-clock time: a job may be read back on another replica.
    pub started: SystemTime,
    pub polls: u32,
}

impl Job {
    /// The projection the model asked for with `fields`.
    pub fn asked(&self) -> Option<Projection> {
        self.fields.as_deref().and_then(|fields| Projection::asked(fields).ok())
    }

    /// How long ago the job started.
    pub fn running(&self) -> Duration {
        self.started.elapsed().unwrap_or_default()
    }
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
pub(super) fn same_origin(base: &Url, reference: &str) -> Option<Url> {
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

/// RFC 3339 in UTC, as task timestamps are written.
pub fn timestamp(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// What the caller gets while the job runs: what it is, how long it ran,
/// and how to wait for it again.
pub fn still_running(job: &Job, handle: &str, note: Option<&str>) -> CallToolResult {
    let status = job.status.as_deref().unwrap_or("running");
    let seconds = job.running().as_secs();
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

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

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
