//! Jobs held for their callers between polls (`wait_for_operation`,
//! `tasks/get`), on the owner-keyed store results use too.

use std::time::{Duration, Instant, SystemTime};

use rmcp::model::CallToolResult;

use super::MAX_JOBS;
use super::job::Job;
use crate::state::{Limits, OwnedStore};

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
