//! Running shell commands the way a benchmark needs: in their own process group, with a timeout
//! that kills the whole group (TERM, a grace period, then KILL), cancellation (Ctrl-C), and
//! output captured with a size cap so a chatty command cannot exhaust memory.
//!
//! (API fixed; implementation being written.)

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Default cap on captured output per command (stdout and stderr together).
pub const DEFAULT_OUTPUT_CAP: usize = 64 * 1024;
/// How long a process group gets between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// What to run.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// Run with `sh -c`.
    pub command: String,
    pub cwd: PathBuf,
    /// Extra environment variables (the parent environment is inherited).
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    /// Bytes of combined output kept: the first half and the last half, with the middle elided.
    pub output_cap: usize,
    /// Cancelled: the group is killed at once and the outcome says `cancelled`.
    pub cancel: CancellationToken,
}

/// How a command ended, with its captured output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandOutcome {
    /// None when killed by a signal (timeout, cancel) or not started.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub cancelled: bool,
    pub duration_ms: u64,
    /// stdout and stderr interleaved in arrival order, capped; a marker line notes elided bytes.
    pub output: String,
    /// Bytes of output that were not kept.
    pub truncated_bytes: u64,
    /// Set when the command could not be started at all.
    pub spawn_error: Option<String>,
}

impl CommandOutcome {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }
}
