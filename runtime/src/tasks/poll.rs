//! Asking the API about a job: polls (following a 303 to the result),
//! cancelling it where the API offers a way, and following it to its end.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

use super::job::{Job, Target, body_status, next_wait, same_origin};
use crate::context::CallContext;
use crate::redact::Redactor;
use crate::spec::{JobCancel, Method, RequestSpec, ServerSpec};
use crate::upstream::{ErrorKind, Prepared, Upstream, UpstreamError, UpstreamResponse};

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

/// How following a job ended.
pub enum Followed {
    /// It ended: the final response, and the URL it came from.
    Ended {
        job: Job,
        response: Box<UpstreamResponse>,
        url: Url,
    },
    /// Still running (a failed poll leaves it so, logged): for the caller to hold.
    Running { job: Job, attempts: u32 },
}

/// Polls `job` until it ends, the next wait would pass the call's deadline,
/// or `max_polls` polls were made.
pub async fn follow(upstream: &Upstream, cx: &CallContext, mut job: Job, max_polls: u32) -> Followed {
    for made in 0..max_polls {
        // The first poll goes at once: the job is new, or the caller comes
        // back for it (`wait_for_operation`, a due `tasks/get`) after its
        // wait. A poll the deadline cuts short leaves the job running, so
        // only a second is kept for it.
        let wait = if made == 0 { Duration::ZERO } else { job.wait };
        let margin = Duration::from_millis(cx.policy.timeout_ms).min(Duration::from_secs(1));
        if Instant::now() + wait + margin > cx.deadline {
            return Followed::Running { job, attempts: 0 };
        }
        tokio::time::sleep(wait).await;
        job.polls += 1;
        match Box::pin(poll(upstream, cx, &job)).await {
            Ok(Polled::Finished(response, url)) => return Followed::Ended { job, response, url },
            Ok(Polled::Running { status, retry_after }) => {
                job.status = status.or(job.status);
                job.wait = next_wait(job.wait, retry_after);
            }
            Err(err) => {
                tracing::warn!(tool = job.tool.name, "a status check of {} failed: {err}", job.label);
                job.wait = next_wait(job.wait, None);
                return Followed::Running {
                    job,
                    attempts: err.attempts,
                };
            }
        }
    }
    Followed::Running { job, attempts: 0 }
}
