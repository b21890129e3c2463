//! Shared helpers for the end-to-end tests of the `zebench` binary: an isolated sandbox per test
//! (HOME, XDG_DATA_HOME, DATABASE_URL, suites root all inside a tempdir, remote/provider
//! variables removed), commands with a deadline, a `zebench serve` child and a tiny HTTP client.
//!
//! Not every test binary uses every helper.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Environment variables that would make a test depend on the developer's machine.
const FOREIGN_ENV: [&str; 8] = [
    "ZE_BENCHMARKS_WORKER_URL",
    "ZE_BENCHMARKS_API_KEY",
    "API_SECRET_KEY",
    "DATABASE_URL",
    "OPENROUTER_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "RUST_LOG",
];

/// `/work/shared/suites` (the seed suites), relative to this crate.
pub fn shared_suites() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/suites")
}

/// One test's private world: a tempdir holding the suites root, the database and the data dir.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("suites")).unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn suites(&self) -> PathBuf {
        self.path().join("suites")
    }

    pub fn db(&self) -> PathBuf {
        self.path().join("local.sqlite")
    }

    pub fn db_url(&self) -> String {
        format!("sqlite://{}", self.db().display())
    }

    /// `zebench` with an isolated environment: local mode into [`Sandbox::db`], suites from
    /// [`Sandbox::suites`], working directory the sandbox (so no `.env` of the checkout is read).
    pub fn zebench(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zebench"));
        for name in FOREIGN_ENV {
            cmd.env_remove(name);
        }
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("ZEBENCH_") {
                cmd.env_remove(name);
            }
        }
        cmd.current_dir(self.path())
            .env("HOME", self.path())
            .env("XDG_DATA_HOME", self.path().join("data"))
            .env("DATABASE_URL", self.db_url())
            .env("ZEBENCH_SUITES", self.suites())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `zebench ARGS` to completion (at most `limit`).
    pub fn run(&self, args: &[&str], limit: Duration) -> Out {
        let mut cmd = self.zebench();
        cmd.args(args);
        Running::spawn(cmd).finish(limit)
    }

    /// `zebench new-suite NAME` into the sandbox's suites root; returns the suite folder.
    pub fn new_suite(&self, name: &str) -> PathBuf {
        let out = self.run(&["new-suite", name], Duration::from_secs(15));
        assert_eq!(out.code(), Some(0), "new-suite: {out}");
        self.suites().join(name)
    }

    /// Writes `agents/<name>.yaml` into a scenario of a suite in the sandbox.
    pub fn write_agent(&self, suite: &str, scenario: &str, name: &str, yaml: &str) {
        let p = self
            .suites()
            .join(suite)
            .join("scenarios")
            .join(scenario)
            .join("agents")
            .join(format!("{name}.yaml"));
        std::fs::write(p, yaml).unwrap();
    }
}

/// A finished command, printable for assertion messages.
pub struct Out {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Out {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.elapsed, self.stdout, self.stderr
        )
    }
}

fn drain(mut r: impl Read + Send + 'static, sink: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink.lock().unwrap().extend_from_slice(&buf[..n]),
            }
        }
    })
}

/// A child whose output is collected in the background; killed if dropped while running.
pub struct Running {
    pub child: Child,
    started: Instant,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Running {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn zebench");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let threads = vec![
            drain(child.stdout.take().unwrap(), stdout.clone()),
            drain(child.stderr.take().unwrap(), stderr.clone()),
        ];
        Running {
            child,
            started: Instant::now(),
            stdout,
            stderr,
            threads,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it printed so far (stdout then stderr).
    pub fn output_so_far(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.stdout.lock().unwrap()),
            String::from_utf8_lossy(&self.stderr.lock().unwrap())
        )
    }

    /// Waits for the exit; kills the child and panics past `limit` (counted from the spawn).
    pub fn finish(mut self, limit: Duration) -> Out {
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if self.started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "zebench did not finish within {limit:?}; output so far:\n{}",
                    self.output_so_far()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let elapsed = self.started.elapsed();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        Out {
            status,
            stdout: String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned(),
            stderr: String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned(),
            elapsed,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends `signal` (e.g. "INT") to `pid` with kill(1).
pub fn signal(pid: u32, signal: &str) {
    let st = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("kill(1)");
    assert!(st.success(), "kill -{signal} {pid}");
}

/// Polls `f` every 50 ms until it returns `Some` or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Pids of live processes whose command line contains `needle`, other than this process.
pub fn processes_with(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Ok(raw) = std::fs::read(e.path().join("cmdline")) {
            let line = String::from_utf8_lossy(&raw).replace('\0', " ");
            if line.contains(needle) {
                out.push(pid);
            }
        }
    }
    out
}

/// `zebench serve` on loopback; SIGKILLed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `zebench serve --bind BIND --database-url DB [--api-key KEY]` and waits for its
    /// "zebench API on http://ADDR" line (BIND may use port 0).
    pub fn start(sandbox: &Sandbox, bind: &str, db: &Path, api_key: Option<&str>) -> Server {
        let key_args: Vec<&str> = api_key.map(|k| vec!["--api-key", k]).unwrap_or_default();
        Server::start_with(sandbox, bind, db, &key_args)
    }

    /// [`Server::start`] with other flags after the bind address and database.
    pub fn start_with(sandbox: &Sandbox, bind: &str, db: &Path, extra: &[&str]) -> Server {
        let mut cmd = sandbox.zebench();
        cmd.args(["serve", "--bind", bind, "--database-url"])
            .arg(db)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start zebench serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = log.clone();
        // Keeps reading for the server's whole life, so a full pipe never blocks it.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("zebench API on http://") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                }
                let mut l = log2.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => Server { child, addr, log },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "zebench serve announced no address:\n{}",
                    log.lock().unwrap()
                );
            }
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// GET `path`; the status and the body parsed as JSON (panics on anything else).
    pub fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let (status, body) = http_get(&self.addr, path).expect("GET");
        let v = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"));
        (status, v)
    }

    /// The runs of a batch as the API lists them (`GET /api/runs?batchId=…&limit=1000`).
    pub fn runs_of_batch(&self, batch: &str) -> Vec<serde_json::Value> {
        let (status, v) = self.get_json(&format!("/api/runs?batchId={batch}&limit=1000"));
        assert_eq!(status, 200, "{v}");
        v.as_array().cloned().expect("an array of runs")
    }

    /// SIGKILL, then reap.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET with `Connection: close`: status and body (chunked bodies decoded).
pub fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no header end in {text:?}")))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
    }
    out
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The line number `N` in the first `<file_suffix>:N:` of `text`.
pub fn line_after(text: &str, file_suffix: &str) -> Option<u64> {
    let i = text.find(&format!("{file_suffix}:"))? + file_suffix.len() + 1;
    let digits: String = text[i..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let after = text[i + digits.len()..].chars().next();
    (after == Some(':')).then(|| digits.parse().ok()).flatten()
}

/// The 1-based number of the first line of `text` that starts with `prefix`.
pub fn line_of(text: &str, prefix: &str) -> Option<u64> {
    text.lines()
        .position(|l| l.starts_with(prefix))
        .map(|i| i as u64 + 1)
}

/// The metadata of a run object (stored as a JSON string by the API).
pub fn metadata(run: &serde_json::Value) -> serde_json::Value {
    match &run["metadata"] {
        serde_json::Value::String(s) => serde_json::from_str(s).expect("metadata is JSON"),
        other => other.clone(),
    }
}

/// Files in a folder (0 when it does not exist).
pub fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().filter(|e| e.path().is_file()).count())
        .unwrap_or(0)
}
