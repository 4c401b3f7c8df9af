//! Long-running operations as this server hands them out: a job still
//! running after its call is held for the caller (`tasks::JobStore`) and
//! answered as an MCP task (`tasks/get`, `tasks/cancel`) or through
//! `wait_for_operation`.

use super::*;

impl Server {
    /// A call's answer as this transport sends it: a result fitted to the
    /// budget, or a job still running held for the caller, as an MCP task
    /// (`Follow::Hand`) or as a result saying how to wait for it again.
    pub(super) async fn answered(&self, answer: Answer, tool: &Tool, follow: Follow) -> CallToolResponse {
        let job = match answer {
            Answer::Done(result) => return self.fitted(result, tool.spec.name, Some(tool)).await.into(),
            Answer::Running(job) => *job,
        };
        let wait = job.wait;
        let id = match self.jobs.hold(self.caller.key(), job.clone()).await {
            Ok(id) => id,
            Err(unheld) => {
                // Nothing to come back to: say what runs at the API and where to look.
                tracing::warn!(tool = tool.spec.name, "a running job was not held: {}", unheld.detail());
                let text = format!(
                    "{} was accepted and is still running at the API, but this server can't follow it now \
                     ({unheld}). Check the API for its outcome later; starting it again may run it twice.",
                    job.label
                );
                let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
                tool.conform(&mut result);
                return result.into();
            }
        };
        match follow {
            Follow::Hand => {
                let now = tasks::timestamp(std::time::SystemTime::now());
                let task = Task::new(id, TaskStatus::Working, now.clone(), now)
                    .with_status_message(format!("{} was accepted and is running", job.label))
                    .with_ttl_ms(self.jobs.ttl().as_millis() as u64)
                    .with_poll_interval_ms(wait.as_millis() as u64);
                CallToolResponse::Task(CreateTaskResult::new(task))
            }
            Follow::Wait => {
                let mut result = tasks::still_running(&job, &id, None);
                tool.conform(&mut result);
                result.into()
            }
        }
    }

    /// `wait_for_operation`: polls a held job within the deadline of the tool that started it.
    pub(super) async fn call_wait(&self, arguments: Option<rmcp::model::JsonObject>) -> (CallToolResponse, Outcome) {
        let refused = |message: String| {
            let outcome = Outcome::of(Ended::InvalidArguments);
            (
                call::invalid_arguments(tasks::WAIT_TOOL, vec![message], self.upstream.redactor()).into(),
                outcome,
            )
        };
        let Some(id) = arguments
            .as_ref()
            .and_then(|a| a.get("operation"))
            .and_then(|v| v.as_str())
        else {
            return refused("at /operation: give the `operation` id a tool's answer gave".to_string());
        };
        let job = match self.jobs.take(self.caller.key(), id).await {
            Ok(None) => {
                return refused(format!(
                    "no operation `{id}` is held for this caller: operations are kept {} for {} minutes; check \
                     the API for the outcome, or start it again",
                    self.results.describe(),
                    self.jobs.ttl().as_secs().div_ceil(60)
                ));
            }
            Ok(Some(Err(ended))) => {
                let outcome = Outcome::of(Ended::Ok);
                return (self.fitted(ended, tasks::WAIT_TOOL, None).await.into(), outcome);
            }
            Ok(Some(Ok(job))) => job,
            Err(unavailable) => {
                tracing::warn!("{WAIT} found {}", unavailable.detail(), WAIT = tasks::WAIT_TOOL);
                let text = format!("operation `{id}` can't be looked up now: {unavailable}; call again shortly");
                return (
                    CallToolResult::error(vec![ContentBlock::text(text)]).into(),
                    Outcome::of(Ended::StateUnavailable),
                );
            }
        };
        let Some(index) = self.spec.tool_index(job.tool.name) else {
            return refused(format!("operation `{id}` belongs to no tool of this server"));
        };
        let tool = self.tool(index);
        let cx = self.with_connected(self.context(tool)).await;
        let (answer, outcome) = call::follow(&self.upstream, &cx, tool, job, u32::MAX).await;
        (self.answered(answer, tool, Follow::Wait).await, outcome)
    }

    /// A task's state; a running job due for a poll gets one (within one
    /// request's timeout), so each `tasks/get` costs the API one request at most.
    pub(super) async fn task_state(
        &self,
        request: GetTaskParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        let server = self.for_request(context);
        let id = request.task_id;
        let unknown = || {
            ErrorData::invalid_params(
                format!(
                    "no task {id} is held for this caller (tasks are kept {} for {} minutes)",
                    server.results.describe(),
                    server.jobs.ttl().as_secs().div_ceil(60)
                ),
                None,
            )
        };
        let snapshot = server
            .jobs
            .snapshot(server.caller.key(), &id)
            .await
            .map_err(unavailable)?
            .ok_or_else(unknown)?;
        // A poll made now updates the task now; otherwise it last changed when held.
        let polled = snapshot.ended.is_none() && snapshot.due.is_some();
        let updated = if polled {
            std::time::SystemTime::now()
        } else {
            snapshot.updated
        };
        let (status, message, payload, wait) = match (snapshot.ended, snapshot.due) {
            (Some((_, true)), _) => (TaskStatus::Cancelled, None, TaskPayload::Cancelled, Duration::ZERO),
            (Some((result, false)), _) => (TaskStatus::Completed, None, completed(&result), Duration::ZERO),
            (None, None) => (
                TaskStatus::Working,
                snapshot.status,
                TaskPayload::Working,
                snapshot.wait,
            ),
            (None, Some(job)) => {
                let index = server.spec.tool_index(job.tool.name).ok_or_else(unknown)?;
                let tool = server.tool(index);
                let mut cx = server.with_connected(server.context(tool)).await;
                cx.deadline = Instant::now() + Duration::from_millis(cx.policy.timeout_ms) + Duration::from_secs(1);
                let (answer, _) = call::follow(&server.upstream, &cx, tool, job, 1).await;
                match answer {
                    Answer::Done(result) => {
                        let result = server.fitted(result, tool.spec.name, Some(tool)).await;
                        let payload = completed(&result);
                        let ended = Entry::Ended {
                            result: Box::new(result),
                            cancelled: false,
                        };
                        server
                            .jobs
                            .update(server.caller.key(), &id, ended)
                            .await
                            .map_err(unavailable)?;
                        (TaskStatus::Completed, None, payload, Duration::ZERO)
                    }
                    Answer::Running(job) => {
                        let (status, wait) = (job.status.clone(), job.wait);
                        let next_poll = std::time::SystemTime::now() + wait;
                        // Not recorded: the next `tasks/get` polls again, at once.
                        if let Err(e) = server
                            .jobs
                            .update(server.caller.key(), &id, Entry::Waiting { job, next_poll })
                            .await
                        {
                            tracing::warn!("a task's poll was not recorded: {e}");
                        }
                        (TaskStatus::Working, status, TaskPayload::Working, wait)
                    }
                }
            }
        };
        let mut task = Task::new(
            id,
            status,
            tasks::timestamp(snapshot.created),
            tasks::timestamp(updated),
        )
        .with_ttl_ms(server.jobs.ttl().as_millis() as u64);
        if status == TaskStatus::Working {
            task = task.with_poll_interval_ms(wait.as_millis().max(1) as u64);
        }
        if let Some(message) = message {
            task = task.with_status_message(format!("status: {message}"));
        }
        Ok(GetTaskResult::new(DetailedTask::new(task, payload)))
    }

    /// Stops a task: the API's job too, where it offers a way (mcpgen.yaml's
    /// `long_running.cancel`); otherwise only the watching ends.
    pub(super) async fn end_task(
        &self,
        request: CancelTaskParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let server = self.for_request(context);
        let id = request.task_id;
        let Some(job) = server.jobs.take(server.caller.key(), &id).await.map_err(unavailable)? else {
            return Err(ErrorData::invalid_params(
                format!("no task {id} is held for this caller"),
                None,
            ));
        };
        let text = match job {
            Err(_ended) => format!("task {id} had already ended"),
            Ok(job) => {
                let index = server.spec.tool_index(job.tool.name);
                let policy = index
                    .map(|i| server.policy(server.tool(i)))
                    .unwrap_or(server.spec.policy);
                let mut cx =
                    (server.with_connected(CallContext::new(job.tool.name, server.caller.clone(), policy))).await;
                cx.deadline = Instant::now() + Duration::from_millis(policy.timeout_ms);
                match tasks::cancel(&server.upstream, &cx, server.spec, &job).await {
                    Ok(true) => format!("{} was cancelled at the API", job.label),
                    Ok(false) => format!("{} is no longer watched; the API offers no way to stop it", job.label),
                    Err(err) => format!(
                        "{} is no longer watched; stopping it at the API failed: {err}",
                        job.label
                    ),
                }
            }
        };
        let ended = CallToolResult::success(vec![ContentBlock::text(server.upstream.redactor().redact(&text))]);
        server
            .jobs
            .restore_ended(server.caller.key(), &id, ended, true)
            .await
            .map_err(unavailable)
    }
}

/// A task request the state store could not answer: an internal error the
/// client may retry (the task itself is untouched).
fn unavailable(error: crate::state::StoreError) -> ErrorData {
    tracing::warn!("a task request found {}", error.detail());
    ErrorData::internal_error(format!("the task can't be reached now: {error}; retry shortly"), None)
}
