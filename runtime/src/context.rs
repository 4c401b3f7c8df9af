//! What one tool call carries from dispatch down to each upstream request:
//! the tool, who is calling, the limits it runs under, its deadline and
//! where its progress goes. Built once per call by `serve`; every stage below
//! takes it by reference, so nothing about a call travels in task-locals or
//! loose parameters. Cancellation needs no field: `serve`'s envelope drops a
//! cancelled call's future, which drops its request and any retry or page.

use std::time::{Duration, Instant};

use crate::config::Secret;
use crate::identity::Caller;
use crate::observe::notify::Reporter;
use crate::spec::Policy;

/// The longest a call may take, whatever the settings say: one day.
pub const MAX_DEADLINE: Duration = Duration::from_secs(24 * 3600);

/// How long a call under `policy` may take (bounded by a day).
pub fn time_limit(policy: &Policy) -> Duration {
    Duration::from_millis(policy.deadline_ms).min(MAX_DEADLINE)
}

pub struct CallContext {
    /// The tool's name (as in tools/list): hooks see it, logs name it.
    pub tool: &'static str,
    pub caller: Caller,
    /// The tool's limits: per-attempt timeout, retries, the call's deadline.
    pub policy: Policy,
    /// When the whole call must have ended (from `policy`, bounded by a day).
    pub deadline: Instant,
    /// The client's progress and log channel, when it listens.
    pub reporter: Option<Reporter>,
    /// The caller's own credentials for the per-user schemes this call may
    /// use, by scheme name (read from the state store by `serve`).
    pub personal: Vec<(&'static str, Secret)>,
}

impl CallContext {
    /// A call starting now, its deadline from `policy`.
    pub fn new(tool: &'static str, caller: Caller, policy: Policy) -> CallContext {
        CallContext {
            tool,
            caller,
            policy,
            deadline: Instant::now() + time_limit(&policy),
            reporter: None,
            personal: Vec::new(),
        }
    }

    pub fn with_reporter(self, reporter: Option<Reporter>) -> CallContext {
        CallContext { reporter, ..self }
    }

    pub fn with_personal(self, personal: Vec<(&'static str, Secret)>) -> CallContext {
        CallContext { personal, ..self }
    }

    /// The caller's own credential for the per-user scheme `name`.
    pub fn personal(&self, name: &str) -> Option<&Secret> {
        self.personal.iter().find(|(scheme, _)| *scheme == name).map(|(_, s)| s)
    }

    /// How one request went (debug: a log entry only).
    pub async fn attempt(&self, message: impl FnOnce() -> String) {
        if let Some(reporter) = &self.reporter {
            reporter.attempt(message).await;
        }
    }

    /// A retry and its wait: a progress step, logged as a warning.
    pub async fn retry(&self, message: impl FnOnce() -> String) {
        if let Some(reporter) = &self.reporter {
            reporter.retry(message).await;
        }
    }

    /// A page collected: a progress step, logged as info.
    pub async fn page(&self, message: impl FnOnce() -> String) {
        if let Some(reporter) = &self.reporter {
            reporter.page(message).await;
        }
    }
}
