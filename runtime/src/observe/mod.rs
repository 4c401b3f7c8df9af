//! Logs, the per-call audit event, and Prometheus metrics.
//!
//! Logs go to stderr only (on stdio, stdout carries protocol frames alone),
//! as text or JSON lines. Each tool call produces one audit event with a
//! request id, the tool, the outcome, the upstream status and the duration,
//! never argument values or tokens. Every line, whoever emits it (rmcp's own
//! debug lines carry raw requests), passes through the server's redactor
//! once the configuration is loaded. Metrics are rendered in the Prometheus
//! text format for `/metrics`.

pub mod notify;

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::identity::Caller;
use crate::redact::Redactor;

/// How a call ended: the audit event's `outcome` and the metrics' label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The API answered 2xx (or a hand-written tool returned).
    Ok,
    /// The API answered with an error status, passed on to the model.
    UpstreamError,
    InvalidArguments,
    /// A hand-written tool returned an error.
    ToolFailed,
    /// A long-running operation was accepted and is still running.
    Accepted,
    /// The client cancelled the call or went away.
    Cancelled,
    /// The call's deadline passed.
    Deadline,
    /// A bug: the call panicked.
    InternalError,
    /// No answer from the API: it timed out, was unreachable, its token
    /// endpoint failed, the request could not be made, or it failed otherwise.
    Timeout,
    Connect,
    Auth,
    InvalidRequest,
    RequestFailed,
    /// The state store (results, jobs) could not answer.
    StateUnavailable,
}

impl Ended {
    pub fn as_str(self) -> &'static str {
        match self {
            Ended::Ok => "ok",
            Ended::UpstreamError => "upstream_error",
            Ended::InvalidArguments => "invalid_arguments",
            Ended::ToolFailed => "tool_failed",
            Ended::Accepted => "accepted",
            Ended::Cancelled => "cancelled",
            Ended::Deadline => "deadline",
            Ended::InternalError => "internal_error",
            Ended::Timeout => "timeout",
            Ended::Connect => "connect",
            Ended::Auth => "auth",
            Ended::InvalidRequest => "invalid_request",
            Ended::RequestFailed => "request_failed",
            Ended::StateUnavailable => "state_unavailable",
        }
    }

    /// What the model or the API caused, as opposed to what an operator should look at.
    fn is_expected(self) -> bool {
        matches!(self, Ended::Ok | Ended::InvalidArguments | Ended::UpstreamError)
    }
}

/// A call's outcome, for the audit log and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub kind: Ended,
    /// The upstream's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Requests sent upstream, retries and pages included.
    pub attempts: u32,
}

impl Outcome {
    /// An outcome without an upstream answer.
    pub fn of(kind: Ended) -> Outcome {
        Outcome {
            kind,
            status: None,
            attempts: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The redactor every log line passes through; set once the configuration
/// (and so every secret) is loaded.
static LOG_REDACTOR: OnceLock<Redactor> = OnceLock::new();

/// From now on, log lines are redacted by `redactor`.
pub fn redact_logs_with(redactor: Redactor) {
    let _ = LOG_REDACTOR.set(redactor);
}

/// One log event's text, redacted and written to stderr when the formatter is done with it.
struct RedactedLine(Vec<u8>);

impl Write for RedactedLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactedLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let line = match LOG_REDACTOR.get() {
            Some(redactor) => redactor.redact(&text),
            None => text.into_owned(),
        };
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| RedactedLine(Vec::new()))
        .with_ansi(false)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

type Labels = Vec<(&'static str, String)>;

/// Process-wide metrics of one server.
pub struct Metrics {
    registry: Registry,
    calls: Family<Labels, Counter>,
    durations: Family<Labels, Histogram>,
    upstream_statuses: Family<Labels, Counter>,
    in_flight: Gauge,
    next_request_id: AtomicU64,
    /// Random per process, so request ids from replicas don't collide.
    id_prefix: String,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("mcp");
        let calls = Family::<Labels, Counter>::default();
        let durations = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
        });
        let upstream_statuses = Family::<Labels, Counter>::default();
        let in_flight = Gauge::default();
        registry.register("tool_calls", "Tool calls by tool and outcome", calls.clone());
        registry.register(
            "tool_call_duration_seconds",
            "Tool call duration by tool",
            durations.clone(),
        );
        registry.register(
            "upstream_responses",
            "Upstream HTTP responses by status code",
            upstream_statuses.clone(),
        );
        registry.register("tool_calls_in_flight", "Tool calls running now", in_flight.clone());
        let mut seed = [0u8; 4];
        let _ = getrandom::fill(&mut seed);
        Arc::new(Metrics {
            registry,
            calls,
            durations,
            upstream_statuses,
            in_flight,
            next_request_id: AtomicU64::new(1),
            id_prefix: seed.iter().map(|b| format!("{b:02x}")).collect(),
        })
    }

    /// A new request id, unique across the process (and, by its random
    /// prefix, very likely across replicas).
    pub fn request_id(&self) -> String {
        format!(
            "{}-{}",
            self.id_prefix,
            self.next_request_id.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(&self.in_flight)
    }

    pub fn in_flight_now(&self) -> i64 {
        self.in_flight.get()
    }

    /// Count one finished call and write its audit event, with the OAuth
    /// caller's subject and client when there is one.
    pub fn finish(&self, request_id: &str, tool: &str, outcome: Outcome, elapsed: Duration, caller: &Caller) {
        self.calls
            .get_or_create(&vec![
                ("tool", tool.to_string()),
                ("outcome", outcome.kind.as_str().to_string()),
            ])
            .inc();
        self.durations
            .get_or_create(&vec![("tool", tool.to_string())])
            .observe(elapsed.as_secs_f64());
        if let Some(status) = outcome.status {
            self.upstream_statuses
                .get_or_create(&vec![("status", status.to_string())])
                .inc();
        }
        let duration_ms = elapsed.as_secs_f64() * 1000.0;
        let status = outcome.status.unwrap_or(0);
        let attempts = outcome.attempts;
        let (subject, client_id) = (caller.subject(), caller.client_id());
        if outcome.kind.is_expected() {
            tracing::info!(target: "audit", request_id, tool, outcome = outcome.kind.as_str(), status, attempts, duration_ms, subject, client_id, "tool call");
        } else {
            tracing::warn!(target: "audit", request_id, tool, outcome = outcome.kind.as_str(), status, attempts, duration_ms, subject, client_id, "tool call");
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// Decrements the in-flight gauge when the call ends, however it ends.
pub struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_calls_durations_and_statuses() {
        let m = Metrics::new();
        {
            let _guard = m.in_flight();
            assert_eq!(m.in_flight_now(), 1);
        }
        m.finish(
            "r-1",
            "get_pet",
            Outcome {
                kind: Ended::Ok,
                status: Some(200),
                attempts: 1,
            },
            Duration::from_millis(12),
            &Caller::local(),
        );
        let text = m.render();
        assert!(
            text.contains(r#"mcp_tool_calls_total{tool="get_pet",outcome="ok"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"mcp_upstream_responses_total{status="200"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"mcp_tool_call_duration_seconds_bucket{le="0.025",tool="get_pet"} 1"#),
            "{text}"
        );
        assert!(text.contains("mcp_tool_calls_in_flight 0"), "{text}");
        assert_ne!(m.request_id(), m.request_id());
    }
}
