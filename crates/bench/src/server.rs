//! A real `zebench serve` process for a benchmark: started on a free loopback port with its log
//! in a file, watched through `/proc/PID/status`, and stopped with SIGTERM as an operator
//! would.

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running server.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub log: PathBuf,
}

/// The `zebench` binary next to this one (both are built into the same target folder).
pub fn default_binary() -> Result<PathBuf> {
    let me = std::env::current_exe().context("cannot locate zebench-bench")?;
    let bin = me
        .parent()
        .context("zebench-bench has no folder")?
        .join("zebench");
    if !bin.exists() {
        bail!(
            "{} does not exist: build it (cargo build -p zebench) or pass --server-bin",
            bin.display()
        );
    }
    Ok(bin)
}

impl Server {
    /// Starts `bin serve --dev --bind 127.0.0.1:0 ARGS…` in `dir` (so no `.env` of the caller's
    /// is read) and waits for it to announce its address.
    pub fn start(bin: &Path, dir: &Path, args: &[&str]) -> Result<Server> {
        let log = dir.join("server.log");
        let log_file = std::fs::File::create(&log)?;
        let child = Command::new(bin)
            .args(["serve", "--dev", "--bind", "127.0.0.1:0"])
            .args(args)
            .current_dir(dir)
            .env("RUST_LOG", "warn")
            .env_remove("ZE_BENCHMARKS_API_KEY")
            .env_remove("API_SECRET_KEY")
            .env_remove("DATABASE_URL")
            .env_remove("ZEBENCH_SERVER_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut server = Server {
            child,
            url: String::new(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&server.log).unwrap_or_default();
            if let Some(addr) = text
                .lines()
                .find_map(|l| l.strip_prefix("zebench API on http://"))
                .and_then(|rest| rest.split_whitespace().next())
            {
                server.url = format!("http://{addr}");
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("zebench serve exited ({status}) before listening:\n{text}");
            }
            if Instant::now() > deadline {
                bail!("zebench serve did not announce its address within 60 s:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory in bytes.
    pub fn rss(&self) -> Result<u64> {
        rss_of(self.pid())
    }

    /// Sends SIGTERM and waits up to `grace` for the server to finish; kills it after that.
    pub fn stop(mut self, grace: Duration) -> Result<ExitStatus> {
        let pid = Pid::from_raw(i32::try_from(self.child.id())?);
        kill(pid, Signal::SIGTERM).context("cannot signal the server")?;
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("the server did not stop within {grace:?} of SIGTERM; killed");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    /// A benchmark that failed half-way must not leave its server running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Resident memory of process `pid` in bytes, from `/proc/PID/status` (`VmRSS`).
pub fn rss_of(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS in /proc/PID/status")?;
    Ok(kb * 1024)
}
