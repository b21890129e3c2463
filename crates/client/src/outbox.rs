//! The on-disk outbox: every result is written here, durably, before any attempt to send it,
//! so neither a server that is down for hours nor a killed process can lose it.
//!
//! Layout under the outbox directory:
//! - `pending/<millis>-<kind>-<sanitized id>.json`: one envelope per file (see [`Envelope`]).
//!   Names sort oldest first. A file is written to a dot-named temporary, fsynced, then linked
//!   into place without replacing anything, and the directory is fsynced: a reader never sees a
//!   half-written item.
//! - `rejected/<same name>.json` + `<same stem>.error.txt`: items the server refused for good,
//!   kept with the status and body that explain why. Nothing is ever silently deleted.
//!
//! Several processes may work on one outbox: every operation tolerates a file vanishing
//! underneath it (another process delivered it), and a second send is harmless because the
//! server treats an identical resubmission as a duplicate.

use crate::error::ClientError;
use crate::item::{Envelope, Loaded, PendingItem};
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use zebench_core::Timestamp;

#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    pending: PathBuf,
    rejected: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ClientError + '_ {
    move |source| ClientError::Outbox {
        path: path.to_path_buf(),
        source,
    }
}

/// Makes directory entries (creations, renames, removals) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Keeps `[A-Za-z0-9._-]` of an id (at most 80 characters) for use in a file name; the real
/// id stays inside the file.
pub(crate) fn sanitize(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    if s.is_empty() {
        "_".into()
    } else {
        s
    }
}

/// Strictly increasing epoch milliseconds within this process, so names sort in submission
/// order and never collide between tasks.
fn next_millis() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = Timestamp::now().millis();
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// Writes `bytes` to a fresh temporary file in `dir` and fsyncs it.
fn write_temp(dir: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".tmp-{}-{n}", std::process::id()));
    let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
    let written = f.write_all(bytes).and_then(|_| f.sync_all());
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

/// Files being delivered by a task of this process (see `Client`).
pub(crate) type Claims = Mutex<HashSet<PathBuf>>;

/// Moves `tmp` to `target`, or to `target` with a `-1`, `-2`… suffix, never replacing an
/// existing file (a hard link fails when the name is taken); returns the name used. With
/// `claims`, the new name is claimed while the lock is held, so no other task of this process
/// can pick the file up between its appearance and its claim.
fn place_new(tmp: &Path, target: &Path, claims: Option<&Claims>) -> io::Result<PathBuf> {
    let mut held = match claims {
        Some(c) => Some(
            c.lock()
                .map_err(|_| io::Error::other("claims lock poisoned"))?,
        ),
        None => None,
    };
    let mut placed = |p: PathBuf| {
        if let Some(set) = held.as_mut() {
            set.insert(p.clone());
        }
        p
    };
    let stem = target
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("item");
    let ext = target
        .extension()
        .and_then(|s| s.to_str())
        .unwrap_or("json");
    let dir = target.parent().unwrap_or(Path::new("."));
    for n in 0..1000 {
        let candidate = if n == 0 {
            target.to_path_buf()
        } else {
            dir.join(format!("{stem}-{n}.{ext}"))
        };
        match fs::hard_link(tmp, &candidate) {
            Ok(()) => {
                let _ = fs::remove_file(tmp);
                return Ok(placed(candidate));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            // A file system without hard links: check, then rename (racy only across processes).
            Err(_) if !candidate.exists() => {
                fs::rename(tmp, &candidate)?;
                return Ok(placed(candidate));
            }
            Err(_) => continue,
        }
    }
    Err(io::Error::other(format!(
        "no free name for {}",
        target.display()
    )))
}

impl Outbox {
    /// Creates `pending/` and `rejected/` under `root`.
    pub fn open(root: &Path) -> Result<Outbox, ClientError> {
        let outbox = Outbox {
            pending: root.join("pending"),
            rejected: root.join("rejected"),
        };
        for dir in [&outbox.pending, &outbox.rejected] {
            fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        sync_dir(root).map_err(io_err(root))?;
        Ok(outbox)
    }

    pub fn pending_dir(&self) -> &Path {
        &self.pending
    }

    pub fn rejected_dir(&self) -> &Path {
        &self.rejected
    }

    /// Durably adds an item and claims it in `claims`; returns its path. When this returns,
    /// the item survives a crash.
    pub fn enqueue(&self, env: &Envelope, claims: &Claims) -> Result<PathBuf, ClientError> {
        let bytes =
            serde_json::to_vec_pretty(env).map_err(|source| ClientError::Encode { source })?;
        let name = format!(
            "{:013}-{}-{}.json",
            next_millis(),
            env.kind.as_str(),
            sanitize(&env.id)
        );
        let dir = &self.pending;
        let tmp = write_temp(dir, &bytes).map_err(io_err(dir))?;
        let path = place_new(&tmp, &dir.join(name), Some(claims)).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io_err(dir)(e)
        })?;
        if let Err(e) = sync_dir(dir) {
            if let Ok(mut set) = claims.lock() {
                set.remove(&path);
            }
            return Err(io_err(dir)(e));
        }
        Ok(path)
    }

    /// The pending item files, oldest first.
    pub fn list(&self) -> Result<Vec<PathBuf>, ClientError> {
        let dir = &self.pending;
        let mut files = Vec::new();
        for entry in fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !name.starts_with('.') && name.ends_with(".json") {
                files.push(entry.path());
            }
        }
        files.sort();
        Ok(files)
    }

    pub fn load(&self, path: &Path) -> Loaded {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Loaded::Vanished,
            Err(e) => return Loaded::Corrupt(format!("cannot read the file: {e}")),
        };
        match serde_json::from_slice::<Envelope>(&bytes) {
            Ok(env) => match env.validate() {
                Ok(()) => Loaded::Item(env),
                Err(why) => Loaded::Corrupt(why),
            },
            Err(e) => Loaded::Corrupt(format!("not an outbox envelope: {e}")),
        }
    }

    /// Rewrites an item's bookkeeping after a failed delivery. Does nothing when the file has
    /// vanished meanwhile, so a delivered item is not brought back.
    pub fn update(&self, path: &Path, env: &Envelope) -> Result<(), ClientError> {
        if !path.exists() {
            return Ok(());
        }
        let bytes =
            serde_json::to_vec_pretty(env).map_err(|source| ClientError::Encode { source })?;
        let dir = &self.pending;
        let tmp = write_temp(dir, &bytes).map_err(io_err(dir))?;
        fs::rename(&tmp, path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io_err(path)(e)
        })?;
        sync_dir(dir).map_err(io_err(dir))
    }

    /// Removes a delivered item; a file already gone is fine.
    pub fn remove(&self, path: &Path) -> Result<(), ClientError> {
        match fs::remove_file(path) {
            Ok(()) => sync_dir(&self.pending).map_err(io_err(&self.pending)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(path)(e)),
        }
    }

    /// Moves an item to `rejected/`, next to a `.error.txt` holding `reason`. Returns the new
    /// path, or `None` when the item vanished meanwhile.
    pub fn reject(&self, path: &Path, reason: &str) -> Result<Option<PathBuf>, ClientError> {
        let dir = &self.rejected;
        let name = path.file_name().map(PathBuf::from).unwrap_or_default();
        let text = format!(
            "{reason}\nrejected at: {}\noriginal file: {}\n",
            Timestamp::now(),
            path.display()
        );
        // Take a free name in rejected/ first (the item itself), then write its sidecar.
        let tmp = write_temp(dir, b"").map_err(io_err(dir))?;
        let target = place_new(&tmp, &dir.join(&name), None).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io_err(dir)(e)
        })?;
        let sidecar = target.with_extension("error.txt");
        let side_tmp = write_temp(dir, text.as_bytes()).map_err(io_err(dir))?;
        fs::rename(&side_tmp, &sidecar).map_err(io_err(&sidecar))?;
        match fs::rename(path, &target) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let _ = fs::remove_file(&target);
                let _ = fs::remove_file(&sidecar);
                return Ok(None);
            }
            Err(e) => return Err(io_err(path)(e)),
        }
        sync_dir(dir).map_err(io_err(dir))?;
        sync_dir(&self.pending).map_err(io_err(&self.pending))?;
        Ok(Some(target))
    }

    /// Describes every pending file, readable or not.
    pub fn items(&self) -> Result<Vec<PendingItem>, ClientError> {
        let mut out = Vec::new();
        for path in self.list()? {
            let item = match self.load(&path) {
                Loaded::Vanished => continue,
                Loaded::Item(env) => PendingItem {
                    kind: Some(env.kind),
                    id: env.id,
                    path,
                    queued_at: env.queued_at,
                    attempts: env.attempts,
                    last_error: env.last_error,
                },
                Loaded::Corrupt(why) => PendingItem {
                    kind: None,
                    id: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    queued_at: name_millis(&path),
                    path,
                    attempts: 0,
                    last_error: Some(format!("corrupt outbox file: {why}")),
                },
            };
            out.push(item);
        }
        Ok(out)
    }

    /// Deletes temporary files left by a process killed mid-write (never linked into place, so
    /// their submit never returned) once they are older than `age`.
    pub fn clean_temp(&self, age: Duration) {
        for dir in [&self.pending, &self.rejected] {
            let Ok(entries) = fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let stale = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|d| d > age);
                if stale && entry.file_name().to_string_lossy().starts_with(".tmp-") {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }

    /// Moves every rejected item back to `pending/` (after the cause was fixed) and deletes
    /// its `.error.txt`; returns how many were moved.
    pub fn requeue_rejected(&self) -> Result<usize, ClientError> {
        let dir = &self.rejected;
        let mut moved = 0;
        let mut names: Vec<PathBuf> = Vec::new();
        for entry in fs::read_dir(dir).map_err(io_err(dir))? {
            let path = entry.map_err(io_err(dir))?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if !name.starts_with('.') && name.ends_with(".json") {
                names.push(path);
            }
        }
        for path in names {
            let name = path.file_name().map(PathBuf::from).unwrap_or_default();
            match place_new(&path, &self.pending.join(name), None) {
                Ok(_) => {
                    let _ = fs::remove_file(path.with_extension("error.txt"));
                    moved += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&path)(e)),
            }
        }
        sync_dir(&self.pending).map_err(io_err(&self.pending))?;
        sync_dir(dir).map_err(io_err(dir))?;
        Ok(moved)
    }
}

/// The queue time encoded in a file name, for files whose envelope cannot be read.
fn name_millis(path: &Path) -> Timestamp {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let digits: String = name.chars().take_while(|c| c.is_ascii_digit()).collect();
    Timestamp(digits.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_keeps_safe_characters_only() {
        assert_eq!(sanitize("run-1.a_b"), "run-1.a_b");
        assert_eq!(sanitize("../etc/passwd"), ".._etc_passwd");
        assert_eq!(sanitize(""), "_");
        assert_eq!(sanitize(&"x".repeat(500)).len(), 80);
    }

    #[test]
    fn millis_strictly_increase() {
        let a = next_millis();
        let b = next_millis();
        assert!(b > a);
    }
}
