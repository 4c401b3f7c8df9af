//! Jobs held for their callers between polls (`wait_for_operation`,
//! `tasks/get`), on the server's state store: in memory, or shared so that a
//! job started on one replica is polled, waited for or cancelled on another.
//!
//! A job's record: `state` (`waiting`, `ended` or `cancelled`; left
//! unsealed so the store can guard on it), `job` (what the next poll needs,
//! the tool by name), `next_poll`, `result` (once ended), `created` and
//! `updated` (ms since the epoch: wall-clock, as replicas share them).

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rmcp::model::CallToolResult;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::job::{Job, Target};
use crate::spec::ServerSpec;
use crate::state::{Fields, Kind, Store, StoreError};

/// A held job: waiting for its next poll, or ended.
pub enum Entry {
    Waiting {
        job: Box<Job>,
        next_poll: SystemTime,
    },
    Ended {
        result: Box<CallToolResult>,
        cancelled: bool,
    },
}

/// Jobs by id, each readable only by the caller that started it.
#[derive(Clone)]
pub struct JobStore {
    store: Store,
    /// Where a stored job's tools are found again by name.
    spec: &'static ServerSpec,
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

/// A job as the store holds it.
#[derive(Serialize, Deserialize)]
struct Stored {
    target: StoredTarget,
    tool: String,
    label: String,
    status: Option<String>,
    wait_ms: u64,
    fields: Option<Vec<String>>,
    /// Values of headers the redaction rules name (sealed with the record
    /// when `MCP_STATE_KEY` is set): the final answer masks them.
    sensitive: Vec<String>,
    started_ms: u64,
    polls: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum StoredTarget {
    Url { url: String },
    Tool { tool: String, args: Map<String, Value> },
}

const STATE: &str = "state";
const CANCELLED: &[u8] = b"cancelled";

impl JobStore {
    pub fn new(store: Store, spec: &'static ServerSpec) -> JobStore {
        JobStore { store, spec }
    }

    pub fn ttl(&self) -> Duration {
        self.store.limits(Kind::Job).ttl
    }

    /// Holds `job` for `owner`; its id (`op_` and 128 random bits).
    pub async fn hold(&self, owner: &str, job: Job) -> Result<String, StoreError> {
        let id = format!("op_{}", crate::state::random_id().ok_or(StoreError::NoRandomness)?);
        let next_poll = SystemTime::now() + job.wait;
        let job = Box::new(job);
        self.insert(owner, &id, Entry::Waiting { job, next_poll }).await?;
        Ok(id)
    }

    /// The job `id` of `owner`: `None` when not held (expired, another
    /// caller's, or never made).
    pub async fn snapshot(&self, owner: &str, id: &str) -> Result<Option<Snapshot>, StoreError> {
        let names = [STATE, "job", "next_poll", "result", "created", "updated"];
        let Some(values) = self.store.get(Kind::Job, owner, id, &names).await? else {
            return Ok(None);
        };
        let record: HashMap<&str, Vec<u8>> = names
            .iter()
            .zip(values)
            .filter_map(|(name, value)| Some((*name, value?)))
            .collect();
        let Some((entry, created, updated)) = self.decode(&record) else {
            return Ok(None);
        };
        Ok(Some(match entry {
            Entry::Waiting { job, next_poll } => Snapshot {
                created,
                updated,
                status: job.status.clone(),
                wait: job.wait,
                due: (SystemTime::now() >= next_poll).then_some(*job),
                ended: None,
            },
            Entry::Ended { result, cancelled } => Snapshot {
                created,
                updated,
                due: None,
                status: None,
                wait: Duration::ZERO,
                ended: Some((*result, cancelled)),
            },
        }))
    }

    /// Records what a poll found: the job still running (polled again after
    /// its wait) or its end. A job cancelled meanwhile, on any replica, stays
    /// cancelled; one taken meanwhile stays gone.
    pub async fn update(&self, owner: &str, id: &str, entry: Entry) -> Result<(), StoreError> {
        let mut fields = entry_fields(&entry);
        fields.push(("updated".into(), millis(SystemTime::now())));
        self.store
            .set_unless(Kind::Job, owner, id, (STATE, CANCELLED), fields)
            .await
            .map(drop)
    }

    /// Holds an ended job again under its id (a cancelled task, say), so
    /// `tasks/get` can still report it.
    pub async fn restore_ended(
        &self,
        owner: &str,
        id: &str,
        result: CallToolResult,
        cancelled: bool,
    ) -> Result<(), StoreError> {
        let result = Box::new(result);
        self.insert(owner, id, Entry::Ended { result, cancelled }).await
    }

    async fn insert(&self, owner: &str, id: &str, entry: Entry) -> Result<(), StoreError> {
        let now = millis(SystemTime::now());
        let mut fields = entry_fields(&entry);
        fields.push(("created".into(), now.clone()));
        fields.push(("updated".into(), now));
        self.store.put(Kind::Job, owner, id, fields).await.map(drop)
    }

    /// Takes the job out for a caller that waits for it (`wait_for_operation`).
    pub async fn take(&self, owner: &str, id: &str) -> Result<Option<Result<Job, CallToolResult>>, StoreError> {
        let Some(fields) = self.store.take(Kind::Job, owner, id).await? else {
            return Ok(None);
        };
        let record: HashMap<&str, Vec<u8>> = fields
            .iter()
            .map(|(name, value)| (name.as_str(), value.clone()))
            .collect();
        let Some((entry, _, _)) = self.decode(&record) else {
            return Ok(None);
        };
        Ok(Some(match entry {
            Entry::Waiting { job, .. } => Ok(*job),
            Entry::Ended { result, .. } => Err(*result),
        }))
    }

    /// A record read back; `None` (logged) when it doesn't decode, as when
    /// its tool is no longer in this server's spec after an upgrade.
    fn decode(&self, record: &HashMap<&str, Vec<u8>>) -> Option<(Entry, SystemTime, SystemTime)> {
        let time = |name: &str| -> Option<SystemTime> {
            let ms: u64 = std::str::from_utf8(record.get(name)?).ok()?.parse().ok()?;
            Some(UNIX_EPOCH + Duration::from_millis(ms))
        };
        let decoded = (|| {
            let entry = match record.get(STATE)?.as_slice() {
                b"waiting" => Entry::Waiting {
                    job: Box::new(self.job(serde_json::from_slice(record.get("job")?).ok()?)?),
                    next_poll: time("next_poll")?,
                },
                state => Entry::Ended {
                    result: Box::new(serde_json::from_slice(record.get("result")?).ok()?),
                    cancelled: state == CANCELLED,
                },
            };
            Some((entry, time("created")?, time("updated")?))
        })();
        if decoded.is_none() {
            tracing::warn!("a held job could not be read back (written by another version?): treated as absent");
        }
        decoded
    }

    fn job(&self, stored: Stored) -> Option<Job> {
        let tool_of = |name: &str| self.spec.tool_index(name).map(|i| &self.spec.tools[i]);
        let target = match stored.target {
            StoredTarget::Url { url } => Target::Url(Url::parse(&url).ok()?),
            StoredTarget::Tool { tool, args } => Target::Tool {
                spec: tool_of(&tool)?,
                args,
            },
        };
        Some(Job {
            target,
            tool: tool_of(&stored.tool)?,
            label: stored.label,
            status: stored.status,
            wait: Duration::from_millis(stored.wait_ms),
            fields: stored.fields,
            sensitive: stored.sensitive,
            started: UNIX_EPOCH + Duration::from_millis(stored.started_ms),
            polls: stored.polls,
        })
    }
}

/// The fields that say what `entry` is.
fn entry_fields(entry: &Entry) -> Fields {
    match entry {
        Entry::Waiting { job, next_poll } => {
            let stored = Stored {
                target: match &job.target {
                    Target::Url(url) => StoredTarget::Url { url: url.to_string() },
                    Target::Tool { spec, args } => StoredTarget::Tool {
                        tool: spec.name.to_string(),
                        args: args.clone(),
                    },
                },
                tool: job.tool.name.to_string(),
                label: job.label.clone(),
                status: job.status.clone(),
                wait_ms: job.wait.as_millis() as u64,
                fields: job.fields.clone(),
                sensitive: job.sensitive.clone(),
                started_ms: job.started.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64,
                polls: job.polls,
            };
            vec![
                (STATE.into(), b"waiting".to_vec()),
                ("job".into(), serde_json::to_vec(&stored).unwrap_or_default()),
                ("next_poll".into(), millis(*next_poll)),
            ]
        }
        Entry::Ended { result, cancelled } => vec![
            (
                STATE.into(),
                if *cancelled {
                    CANCELLED.to_vec()
                } else {
                    b"ended".to_vec()
                },
            ),
            ("result".into(), serde_json::to_vec(result).unwrap_or_default()),
        ],
    }
}

fn millis(at: SystemTime) -> Vec<u8> {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        .to_string()
        .into_bytes()
}
