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
//! Jobs are held per caller on the server's state store (`state`): in
//! memory, or shared by replicas.
//!
//! This layer owns the lifecycle (hold, poll, follow, cancel, take); `call`
//! shapes a finished job's response and `serve/jobs.rs` speaks MCP tasks and
//! `wait_for_operation`. Imports `upstream`, `state` and below.

mod job;
mod poll;
mod store;

use std::time::Duration;

pub use self::job::{Job, accepted, next_wait, still_running, timestamp, wait_tool_entry};
pub use self::poll::{Followed, cancel, follow};
pub use self::store::{Entry, JobStore};

/// The meta-tool that waits for a job again.
pub const WAIT_TOOL: &str = "wait_for_operation";
/// Bounds of the wait between polls.
const MIN_WAIT: Duration = Duration::from_secs(1);
const MAX_WAIT: Duration = Duration::from_secs(30);
const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(10);
