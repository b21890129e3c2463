//! Helpers shared by the CLI agents: shell quoting, the prompt file, time budgets, JSON lines
//! and timestamps.

use crate::agent::AgentError;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Output kept from a CLI agent (stdout, or stdout and stderr merged): large enough for a long
/// JSON transcript; beyond it the middle is elided (see [`crate::process::CommandSpec`]).
pub(super) const OUTPUT_CAP: usize = 32 * 1024 * 1024;
/// How much output an error message quotes.
pub(super) const MESSAGE_TAIL: usize = 2000;
/// The most time kept back from the deadline so that the kill and the report happen before the
/// harness gives up on the run: a tenth of the time left, at most this.
const DEADLINE_MARGIN: Duration = Duration::from_secs(3);

/// Quotes `s` as one `sh` word: words made only of safe characters (letters, digits and
/// `-_./=:,+@%`) are left as they are; anything else is put in single quotes, with each `'`
/// written as `'\''`. The empty string becomes `''`.
pub fn shell_quote(s: &str) -> String {
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b);
    if !s.is_empty() && s.bytes().all(safe) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// The prompt written to `prompt.txt` in a private temporary folder (mode 0700) outside the
/// workspace, removed when dropped. The folder also holds other per-run files (stderr).
pub(super) struct PromptFile {
    dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl PromptFile {
    pub fn write(agent: &str, prompt: &str, workspace: &Path) -> Result<PromptFile, AgentError> {
        let dir = tempfile::Builder::new()
            .prefix("zebench-agent-")
            .tempdir()
            .map_err(|e| {
                AgentError::Config(format!(
                    "{agent}: cannot create a temporary folder for the prompt: {e} (check TMPDIR)"
                ))
            })?;
        let ws = std::fs::canonicalize(workspace).unwrap_or_else(|_| workspace.to_path_buf());
        let tmp = std::fs::canonicalize(dir.path()).unwrap_or_else(|_| dir.path().to_path_buf());
        if tmp.starts_with(&ws) {
            return Err(AgentError::Config(format!(
                "{agent}: the temporary folder {} is inside the workspace {}; set TMPDIR elsewhere",
                tmp.display(),
                ws.display()
            )));
        }
        let path = tmp.join("prompt.txt");
        std::fs::write(&path, prompt).map_err(|e| {
            AgentError::Config(format!(
                "{agent}: cannot write the prompt to {}: {e}",
                path.display()
            ))
        })?;
        Ok(PromptFile { dir, path })
    }

    /// A file path next to the prompt.
    pub fn sibling(&self, name: &str) -> PathBuf {
        self.path
            .parent()
            .unwrap_or_else(|| self.dir.path())
            .join(name)
    }
}

/// The command timeout for a run that must be over by `deadline`: the time left minus a margin
/// (a tenth of it, at most [`DEADLINE_MARGIN`]) for killing the process group and reporting.
pub(super) fn command_timeout(deadline: Instant) -> Duration {
    let left = deadline.saturating_duration_since(Instant::now());
    left - (left / 10).min(DEADLINE_MARGIN)
}

/// The JSON objects of `output`, one per line: lines that are not JSON are skipped, and a line
/// holding a JSON array contributes its objects (`claude -p --output-format json --verbose`
/// prints one array). When no line parses, the whole output is tried as one document.
pub(super) fn json_objects(output: &str) -> Vec<Value> {
    fn push(v: Value, out: &mut Vec<Value>) {
        match v {
            Value::Object(_) => out.push(v),
            Value::Array(items) => out.extend(items.into_iter().filter(Value::is_object)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for line in output.lines() {
        let line = line.trim();
        if !(line.starts_with('{') || line.starts_with('[')) {
            continue;
        }
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            push(v, &mut out);
        }
    }
    if out.is_empty() {
        if let Ok(v) = serde_json::from_str::<Value>(output.trim()) {
            push(v, &mut out);
        }
    }
    out
}

/// The lines of `output` that are not JSON objects or arrays (log lines, warnings), joined.
pub(super) fn non_json_lines(output: &str) -> String {
    output
        .lines()
        .filter(|line| {
            let t = line.trim();
            !t.is_empty()
                && !((t.starts_with('{') || t.starts_with('['))
                    && serde_json::from_str::<Value>(t).is_ok())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last `max` bytes of `s` (cut at a character boundary), with `…` in front when cut.
pub(super) fn tail(s: &str, max: usize) -> String {
    let s = s.trim_end();
    if s.len() <= max {
        return s.to_string();
    }
    let mut i = s.len() - max;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    format!("…{}", &s[i..])
}

/// The last `max` bytes of a file (lossy UTF-8); empty when it cannot be read.
pub(super) fn file_tail(path: &Path, max: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let cut = len > max;
    if cut && f.seek(SeekFrom::Start(len - max)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = f.take(max).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    if cut {
        format!("…{text}")
    } else {
        text
    }
}

/// Seconds with one decimal, for messages.
pub(super) fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Milliseconds since the Unix epoch.
pub(super) fn epoch_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

/// Parses an RFC 3339 timestamp (`2025-01-02T03:04:05.678Z`, `…+02:00`) to milliseconds since
/// the Unix epoch. Fractions beyond milliseconds are ignored. None when malformed.
pub(super) fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, min, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if sep(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..3 {
            millis *= 10;
        }
    }
    let offset_min = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(c @ (b'+' | b'-')) if i + 6 == b.len() && sep(i + 3, b":") => {
            let m = num(i + 1, 2)? * 60 + num(i + 4, 2)?;
            if *c == b'-' {
                -m
            } else {
                m
            }
        }
        _ => return None,
    };
    // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_min * 60;
    Some(secs * 1000 + millis)
}

/// Transcript times from line timestamps: `at_ms` of an entry is its line's `timestamp` relative
/// to when the agent started, or the last known time when the line has none.
pub(super) struct Clock {
    start_epoch_ms: i64,
    last: u64,
}

impl Clock {
    pub fn new(started: SystemTime) -> Clock {
        Clock {
            start_epoch_ms: epoch_ms(started),
            last: 0,
        }
    }

    /// The time of a line: from its `timestamp` when present (never before the previous line).
    pub fn at(&mut self, line: &Value) -> u64 {
        if let Some(ms) = line
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339_ms)
        {
            let rel = (ms - self.start_epoch_ms).max(0) as u64;
            self.last = self.last.max(rel);
        }
        self.last
    }
}

/// A non-negative integer field of a JSON object (0 when absent).
pub(super) fn u64_field(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}
