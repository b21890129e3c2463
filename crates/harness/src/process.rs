//! Running shell commands the way a benchmark needs: in their own process group, with a timeout
//! that kills the whole group (TERM, a grace period, then KILL), cancellation (Ctrl-C), and
//! output captured with a size cap so a chatty command cannot exhaust memory.
//!
//! Every command runs as `sh -c <command>` in a new process group, so the shell, the tools it
//! starts and anything they leave in the background can be signalled at once with `killpg`.
//! When [`run_command`] returns, the group has been sent SIGKILL: a command never leaves processes
//! behind (a dev server started with `&` dies with its command). If the future is dropped before
//! it finishes, a guard kills the group too.

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

/// Default cap on captured output per command (stdout and stderr together).
pub const DEFAULT_OUTPUT_CAP: usize = 64 * 1024;
/// How long a process group gets between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(2);
/// After the main process exits, how long background processes that still hold the output pipes
/// may keep them open before the group is killed (so `server &` cannot make a command hang).
pub const PIPE_DRAIN_GRACE: Duration = Duration::from_millis(200);

/// Secrets never passed to the commands a run executes (agent tool calls, validation, checks):
/// an agent could otherwise read the harness's keys with `env`. A spec that needs one (a CLI
/// agent that calls its own API) passes it explicitly in [`CommandSpec::env`].
pub const SCRUBBED_ENV: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "OPENROUTER_API_KEY",
    "ZE_BENCHMARKS_API_KEY",
    "API_SECRET_KEY",
    "DATABASE_URL",
];

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

impl CommandSpec {
    /// A spec with no extra environment, [`DEFAULT_OUTPUT_CAP`] and a fresh (never cancelled)
    /// token; set the public fields to change them.
    pub fn new(command: impl Into<String>, cwd: impl Into<PathBuf>, timeout: Duration) -> Self {
        CommandSpec {
            command: command.into(),
            cwd: cwd.into(),
            env: Vec::new(),
            timeout,
            output_cap: DEFAULT_OUTPUT_CAP,
            cancel: CancellationToken::new(),
        }
    }
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

/// Output kept within a fixed budget: the first half verbatim, then a ring of the latest bytes.
/// Memory use never exceeds `cap` bytes however much the command prints.
struct CappedOutput {
    head: Vec<u8>,
    head_cap: usize,
    tail: VecDeque<u8>,
    tail_cap: usize,
    total: u64,
}

impl CappedOutput {
    fn new(cap: usize) -> Self {
        let head_cap = cap / 2;
        let tail_cap = cap - head_cap;
        CappedOutput {
            head: Vec::with_capacity(head_cap.min(64 * 1024)),
            head_cap,
            tail: VecDeque::new(),
            tail_cap,
            total: 0,
        }
    }

    fn push(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        let room = self.head_cap - self.head.len();
        if room > 0 {
            let n = room.min(data.len());
            self.head.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        if data.len() >= self.tail_cap {
            self.tail.clear();
            self.tail.extend(&data[data.len() - self.tail_cap..]);
        } else {
            let overflow = (self.tail.len() + data.len()).saturating_sub(self.tail_cap);
            self.tail.drain(..overflow);
            self.tail.extend(data);
        }
    }

    /// The kept text and the number of elided bytes. When bytes were elided, the cut edges are
    /// moved to UTF-8 character boundaries so no half character appears next to the marker.
    fn finish(self) -> (String, u64) {
        let mut head = self.head;
        let mut tail: Vec<u8> = self.tail.into();
        let kept = (head.len() + tail.len()) as u64;
        if kept == self.total {
            head.extend_from_slice(&tail);
            return (String::from_utf8_lossy(&head).into_owned(), 0);
        }
        head.truncate(complete_utf8_prefix(&head));
        let lead = tail
            .iter()
            .take(3)
            .take_while(|b| (**b & 0xC0) == 0x80)
            .count();
        tail.drain(..lead);
        let elided = self.total - (head.len() + tail.len()) as u64;
        let mut text = String::from_utf8_lossy(&head).into_owned();
        text.push_str(&format!("\n… [{elided} bytes elided] …\n"));
        text.push_str(&String::from_utf8_lossy(&tail));
        (text, elided)
    }
}

/// Length of `bytes` without a trailing incomplete UTF-8 sequence.
fn complete_utf8_prefix(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(4) {
        let i = bytes.len() - back;
        let b = bytes[i];
        if b & 0xC0 == 0x80 {
            continue; // continuation byte: keep looking for the lead byte
        }
        let need = match b {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            _ => 4,
        };
        return if back < need { i } else { bytes.len() };
    }
    bytes.len()
}

/// Kills the process group with SIGKILL when dropped while armed, so that dropping the
/// `run_command` future (a cancelled task, a `select!` that lost) never leaves orphans.
struct GroupGuard {
    pgid: Pid,
    armed: bool,
}

impl GroupGuard {
    fn signal(&self, sig: Signal) {
        // ESRCH (group already gone) is the expected outcome once everything has exited.
        let _ = killpg(self.pgid, sig);
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            self.signal(Signal::SIGKILL);
        }
    }
}

async fn pump(mut reader: impl AsyncRead + Unpin, sink: Arc<Mutex<CappedOutput>>) {
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => sink
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(&chunk[..n]),
        }
    }
}

enum Ending {
    Exited(std::io::Result<ExitStatus>),
    TimedOut,
    Cancelled,
}

/// Runs `sh -c spec.command` in `spec.cwd` in its own process group and waits for it, its
/// timeout or its cancellation. Never fails: a command that cannot start yields an outcome with
/// `spawn_error` set. On timeout or cancel the group gets SIGTERM, then SIGKILL after
/// [`KILL_GRACE`], and `exit_code` is None (even if the command exited cleanly on SIGTERM, so that
/// a timed-out command never counts as a success). When the shell exits, processes it left
/// behind get [`PIPE_DRAIN_GRACE`] to release the output pipes, then the group is killed.
pub async fn run_command(spec: CommandSpec) -> CommandOutcome {
    let started = Instant::now();
    let elapsed_ms = |s: Instant| s.elapsed().as_millis().min(u64::MAX as u128) as u64;
    if spec.cancel.is_cancelled() {
        return CommandOutcome {
            cancelled: true,
            ..CommandOutcome::default()
        };
    }

    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c").arg(&spec.command).current_dir(&spec.cwd);
    for var in SCRUBBED_ENV {
        cmd.env_remove(var);
    }
    cmd.envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            return CommandOutcome {
                spawn_error: Some(format!(
                    "could not start `sh -c` in {}: {e} (check that the folder exists and `sh` is on PATH)",
                    spec.cwd.display()
                )),
                duration_ms: elapsed_ms(started),
                ..CommandOutcome::default()
            }
        }
    };
    let pid = child.id().expect("a just-spawned child has a pid");
    let mut guard = GroupGuard {
        pgid: Pid::from_raw(pid as i32),
        armed: true,
    };

    let output = Arc::new(Mutex::new(CappedOutput::new(spec.output_cap)));
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let readers = {
        let (o1, o2) = (output.clone(), output.clone());
        async move {
            let out = async {
                if let Some(r) = stdout {
                    pump(r, o1).await
                }
            };
            let err = async {
                if let Some(r) = stderr {
                    pump(r, o2).await
                }
            };
            tokio::join!(out, err);
        }
    };
    tokio::pin!(readers);
    let mut readers_done = false;

    let deadline = tokio::time::sleep(spec.timeout);
    tokio::pin!(deadline);
    let ending = loop {
        tokio::select! {
            _ = &mut readers, if !readers_done => readers_done = true,
            status = child.wait() => break Ending::Exited(status),
            _ = &mut deadline => break Ending::TimedOut,
            _ = spec.cancel.cancelled() => break Ending::Cancelled,
        }
    };

    let timed_out = matches!(ending, Ending::TimedOut);
    let cancelled = matches!(ending, Ending::Cancelled);
    let status = match ending {
        Ending::Exited(status) => status,
        Ending::TimedOut | Ending::Cancelled => {
            guard.signal(Signal::SIGTERM);
            let grace = tokio::time::sleep(KILL_GRACE);
            tokio::pin!(grace);
            loop {
                tokio::select! {
                    _ = &mut readers, if !readers_done => readers_done = true,
                    status = child.wait() => break status,
                    _ = &mut grace => {
                        guard.signal(Signal::SIGKILL);
                        break child.wait().await;
                    }
                }
            }
        }
    };

    // The shell is gone; give leftover background processes a moment to release the pipes,
    // then kill whatever remains of the group and stop reading shortly after.
    if !readers_done {
        readers_done = tokio::time::timeout(PIPE_DRAIN_GRACE, &mut readers)
            .await
            .is_ok();
    }
    guard.signal(Signal::SIGKILL);
    if !readers_done {
        // Only processes that left the group (setsid daemons) can still hold the pipes now.
        let _ = tokio::time::timeout(PIPE_DRAIN_GRACE, &mut readers).await;
    }
    guard.armed = false;

    let (mut text, truncated_bytes) = std::mem::replace(
        &mut *output.lock().unwrap_or_else(|e| e.into_inner()),
        CappedOutput::new(0),
    )
    .finish();
    let exit_code = match &status {
        Ok(s) if !timed_out && !cancelled && s.signal().is_none() => s.code(),
        _ => None,
    };
    if let Err(e) = &status {
        text.push_str(&format!(
            "\n[zebench: could not wait for the command: {e}]\n"
        ));
    }
    CommandOutcome {
        exit_code,
        timed_out,
        cancelled,
        duration_ms: elapsed_ms(started),
        output: text,
        truncated_bytes,
        spawn_error: None,
    }
}

#[cfg(test)]
mod tests;
