//! What a running tool call tells its client before it returns: progress
//! notifications when the request carried a progress token, and log
//! notifications at or above the level the client chose with
//! `logging/setLevel` (none before it asks). A REST call has things to
//! report: each answer, each retry and its wait, each page.
//!
//! A call's `Reporter` travels in its `CallContext`, so the stages that know
//! what happens (`upstream` retries, `pagination` pages) report through it;
//! when the client listens to nothing there is no reporter, and reporting
//! costs no formatting. Every message is redacted before it leaves.

#![allow(deprecated)] // MCP logging is deprecated by SEP-2577 (2026-07-28) yet what 2025-11-25 hosts use.

use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};

use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam, ProgressToken};
use rmcp::{Peer, RoleServer};

use crate::redact::Redactor;

/// The client's chosen log level for one session: unset until `logging/setLevel`.
#[derive(Debug, Default)]
pub struct LogLevel(AtomicU8);

impl LogLevel {
    pub fn set(&self, level: LoggingLevel) {
        self.0.store(rank(level), Ordering::Relaxed);
    }

    pub fn get(&self) -> Option<LoggingLevel> {
        LEVELS
            .get(usize::from(self.0.load(Ordering::Relaxed)).checked_sub(1)?)
            .copied()
    }
}

/// Lowest to highest, as RFC 5424 orders them.
const LEVELS: [LoggingLevel; 8] = [
    LoggingLevel::Debug,
    LoggingLevel::Info,
    LoggingLevel::Notice,
    LoggingLevel::Warning,
    LoggingLevel::Error,
    LoggingLevel::Critical,
    LoggingLevel::Alert,
    LoggingLevel::Emergency,
];

/// 1 (debug) to 8 (emergency); 0 is "unset".
fn rank(level: LoggingLevel) -> u8 {
    LEVELS.iter().position(|l| *l == level).map_or(0, |i| i as u8 + 1)
}

/// One call's channel back to its client.
pub struct Reporter {
    peer: Peer<RoleServer>,
    progress_token: Option<ProgressToken>,
    min_level: Option<LoggingLevel>,
    /// The logger name clients show: the tool's.
    logger: &'static str,
    redactor: Redactor,
    /// Progress so far: one step per retry or page.
    steps: AtomicU32,
}

impl Reporter {
    /// None when the client listens to nothing: the call then runs without one.
    pub fn new(
        peer: Peer<RoleServer>,
        progress_token: Option<ProgressToken>,
        min_level: Option<LoggingLevel>,
        logger: &'static str,
        redactor: Redactor,
    ) -> Option<Reporter> {
        (progress_token.is_some() || min_level.is_some()).then_some(Reporter {
            peer,
            progress_token,
            min_level,
            logger,
            redactor,
            steps: AtomicU32::new(0),
        })
    }

    /// How one request went (debug: a log entry only).
    pub async fn attempt(&self, message: impl FnOnce() -> String) {
        self.send(LoggingLevel::Debug, false, message).await
    }

    /// A retry and its wait: a progress step, logged as a warning.
    pub async fn retry(&self, message: impl FnOnce() -> String) {
        self.send(LoggingLevel::Warning, true, message).await
    }

    /// A page collected: a progress step, logged as info.
    pub async fn page(&self, message: impl FnOnce() -> String) {
        self.send(LoggingLevel::Info, true, message).await
    }

    async fn send(&self, level: LoggingLevel, is_step: bool, message: impl FnOnce() -> String) {
        let progress = self
            .progress_token
            .clone()
            .filter(|_| is_step)
            .map(|token| (token, self.steps.fetch_add(1, Ordering::Relaxed) + 1));
        let logged = self.min_level.is_some_and(|min| rank(level) >= rank(min));
        if progress.is_none() && !logged {
            return;
        }
        let text = self.redactor.redact(&message());
        // A client that went away can't be told anything: the call goes on regardless.
        if let Some((token, n)) = progress {
            let mut param = ProgressNotificationParam::new(token, f64::from(n));
            param.message = Some(text.clone());
            let _ = self.peer.notify_progress(param).await;
        }
        if logged {
            let mut param = LoggingMessageNotificationParam::new(level, serde_json::Value::String(text));
            param.logger = Some(self.logger.to_string());
            let _ = self.peer.notify_logging_message(param).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_round_trip_and_order() {
        let level = LogLevel::default();
        assert_eq!(level.get(), None, "unset until the client asks");
        for l in LEVELS {
            level.set(l);
            assert_eq!(level.get(), Some(l));
        }
        assert!(rank(LoggingLevel::Warning) > rank(LoggingLevel::Info));
        assert!(rank(LoggingLevel::Debug) > 0);
    }
}
