//! A run's temporary workspace: a fresh folder holding a copy of the scenario's fixture, so an
//! agent can never modify the suite's own files, and removed afterwards unless the user asked to
//! keep it for inspection.
//!
//! Layout: `<parent>/zebench-ws-<random>/repo` is the workspace root the agent works in
//! ([`Workspace::path`]); the outer folder ([`Workspace::dir`]) has room for siblings such as a
//! pristine baseline copy, and is what gets removed or kept.

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Folders never copied from a fixture: VCS data and installed dependencies (the validation
/// `install` command recreates them, and copying them would be slow and huge).
pub const FIXTURE_SKIP_DIRS: &[&str] = &[".git", "node_modules"];

/// When to keep a run's workspace on disk after the run.
///
/// The default is `Never` (workspaces can be large and batches run many); the CLI's
/// `--keep-workspace` flag means `Always`, and `on-failure` keeps only failed runs for debugging.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeepPolicy {
    #[default]
    Never,
    OnFailure,
    Always,
}

impl KeepPolicy {
    /// Whether a run that `failed` (or not) keeps its workspace under this policy.
    pub fn keeps(self, failed: bool) -> bool {
        match self {
            KeepPolicy::Never => false,
            KeepPolicy::OnFailure => failed,
            KeepPolicy::Always => true,
        }
    }
}

impl FromStr for KeepPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "never" => Ok(KeepPolicy::Never),
            "on-failure" | "on_failure" | "onfailure" => Ok(KeepPolicy::OnFailure),
            "always" => Ok(KeepPolicy::Always),
            other => Err(format!(
                "unknown keep policy `{other}`: use `never`, `on-failure` or `always`"
            )),
        }
    }
}

impl fmt::Display for KeepPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeepPolicy::Never => "never",
            KeepPolicy::OnFailure => "on-failure",
            KeepPolicy::Always => "always",
        })
    }
}

/// Why a workspace could not be prepared. Every message names the path involved and what to do.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("fixture folder {} does not exist: check the scenario has a repo/ or repo-fixture/ folder", .path.display())]
    FixtureMissing { path: PathBuf },
    #[error("fixture {} is not a folder: a scenario's repo/ or repo-fixture/ must be a directory", .path.display())]
    FixtureNotDir { path: PathBuf },
    #[error("workspace parent folder {} does not exist: create it or choose another workspace folder", .path.display())]
    ParentMissing { path: PathBuf },
    #[error("workspace parent {} is inside the fixture {}: choose a workspace folder outside the suite", .parent.display(), .fixture.display())]
    InsideFixture { parent: PathBuf, fixture: PathBuf },
    #[error("cannot copy {} into {}: the destination is inside the source; choose a destination outside it", .src.display(), .dst.display())]
    DestinationInsideSource { src: PathBuf, dst: PathBuf },
    #[error("cannot create workspace folder in {}: {source} (check free space and permissions)", .path.display())]
    Create { path: PathBuf, source: io::Error },
    #[error("cannot copy {} to {}: {source} (check permissions and free space)", .from.display(), .to.display())]
    Copy {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },
    #[error("cannot read {}: {source} (check that it exists and is readable)", .path.display())]
    Read { path: PathBuf, source: io::Error },
}

/// A temporary folder holding a copy of a fixture. Removed on drop unless [`Workspace::finish`]
/// decided to keep it.
#[derive(Debug)]
pub struct Workspace {
    dir: PathBuf,
    repo: PathBuf,
    /// Set once the folder was kept or removed, so Drop leaves it alone.
    settled: bool,
}

impl Workspace {
    /// Creates `zebench-ws-<random>/repo` under `parent` (default: the system temp folder) and
    /// copies `fixture` into it (without `.git` and `node_modules`); no fixture = empty repo.
    /// Refuses a parent inside the fixture, which would make the copy recurse into itself and
    /// let the agent's files show up in the suite.
    pub fn create(
        fixture: Option<&Path>,
        parent: Option<&Path>,
    ) -> Result<Workspace, WorkspaceError> {
        let fixture = match fixture {
            Some(f) => Some(check_fixture(f)?),
            None => None,
        };
        let parent = parent
            .map(Path::to_path_buf)
            .unwrap_or_else(std::env::temp_dir);
        let parent_real = parent.canonicalize().map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => WorkspaceError::ParentMissing {
                path: parent.clone(),
            },
            _ => WorkspaceError::Read {
                path: parent.clone(),
                source: e,
            },
        })?;
        if let Some(fixture) = &fixture {
            if parent_real.starts_with(fixture) {
                return Err(WorkspaceError::InsideFixture {
                    parent,
                    fixture: fixture.clone(),
                });
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("zebench-ws-")
            .tempdir_in(&parent_real)
            .map_err(|e| WorkspaceError::Create {
                path: parent_real.clone(),
                source: e,
            })?
            .keep();
        let ws = Workspace {
            repo: dir.join("repo"),
            dir,
            settled: false,
        };
        match &fixture {
            Some(fixture) => {
                copy_tree(fixture, &ws.repo, FIXTURE_SKIP_DIRS)?;
            }
            None => fs::create_dir(&ws.repo).map_err(|e| WorkspaceError::Create {
                path: ws.repo.clone(),
                source: e,
            })?,
        }
        Ok(ws)
    }

    /// The workspace root the agent and the commands work in (`<dir>/repo`).
    pub fn path(&self) -> &Path {
        &self.repo
    }

    /// The outer temporary folder (the parent of [`Workspace::path`]), for sibling scratch
    /// folders such as a pristine baseline copy; removed or kept together with the workspace.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Ends the workspace: keeps it when `policy` says so for a run that `failed` (or not) and
    /// returns the kept workspace root ([`Workspace::path`]), otherwise removes the whole folder.
    /// A folder that cannot be removed is logged, not an error: the run's result matters more.
    pub fn finish(mut self, failed: bool, policy: KeepPolicy) -> Option<PathBuf> {
        self.settled = true;
        if policy.keeps(failed) {
            return Some(self.repo.clone());
        }
        if let Err(e) = remove_tree(&self.dir) {
            tracing::warn!(path = %self.dir.display(), error = %e, "could not remove workspace");
        }
        None
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if !self.settled {
            if let Err(e) = remove_tree(&self.dir) {
                tracing::warn!(path = %self.dir.display(), error = %e, "could not remove workspace");
            }
        }
    }
}

fn check_fixture(fixture: &Path) -> Result<PathBuf, WorkspaceError> {
    let meta = fs::metadata(fixture).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => WorkspaceError::FixtureMissing {
            path: fixture.to_path_buf(),
        },
        _ => WorkspaceError::Read {
            path: fixture.to_path_buf(),
            source: e,
        },
    })?;
    if !meta.is_dir() {
        return Err(WorkspaceError::FixtureNotDir {
            path: fixture.to_path_buf(),
        });
    }
    fixture.canonicalize().map_err(|e| WorkspaceError::Read {
        path: fixture.to_path_buf(),
        source: e,
    })
}

/// Removes a folder tree even when the agent left read-only folders in it (which make a plain
/// `remove_dir_all` fail): on failure, makes every folder writable and tries again.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    for entry in walkdir::WalkDir::new(path)
        .follow_links(false)
        .into_iter()
        .flatten()
    {
        if entry.file_type().is_dir() {
            if let Ok(meta) = entry.metadata() {
                let mut perms = meta.permissions();
                perms.set_mode(perms.mode() | 0o700);
                let _ = fs::set_permissions(entry.path(), perms);
            }
        }
    }
    fs::remove_dir_all(path)
}

/// Copies the tree under `src` to `dst` (created if missing) and returns the number of files and
/// symbolic links copied. Folders named in `skip_dirs` are skipped at any depth. Symbolic links
/// are recreated as links with the same target text, never followed (a link cannot pull files
/// from outside the tree into the copy). Permissions are preserved (executable bits included);
/// other special files (sockets, fifos, devices) are skipped.
///
/// Copying onto an existing tree overlays it (a scripted agent applies a reference solution this
/// way): existing folders are reused, anything else in the way is replaced, and an existing link
/// is replaced rather than written through, so the copy never escapes `dst`.
pub fn copy_tree(src: &Path, dst: &Path, skip_dirs: &[&str]) -> Result<u64, WorkspaceError> {
    let src_real = src.canonicalize().map_err(|e| WorkspaceError::Read {
        path: src.to_path_buf(),
        source: e,
    })?;
    if let Some(dst_real) = resolve_destination(dst) {
        if dst_real.starts_with(&src_real) {
            return Err(WorkspaceError::DestinationInsideSource {
                src: src.to_path_buf(),
                dst: dst.to_path_buf(),
            });
        }
    }
    fs::create_dir_all(dst).map_err(|e| WorkspaceError::Create {
        path: dst.to_path_buf(),
        source: e,
    })?;

    let copy_err = |from: &Path, to: &Path, source| WorkspaceError::Copy {
        from: from.to_path_buf(),
        to: to.to_path_buf(),
        source,
    };
    let mut files = 0u64;
    // Folder permissions are applied last, so read-only folders can still be filled.
    let mut dir_perms = Vec::new();
    let walker = walkdir::WalkDir::new(src)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    let walker = walker.filter_entry(|e| {
        e.depth() == 0
            || !((e.file_type().is_dir() || e.file_type().is_symlink())
                && e.file_name()
                    .to_str()
                    .is_some_and(|n| skip_dirs.contains(&n)))
    });
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(src).to_path_buf();
            WorkspaceError::Read {
                path,
                source: e.into(),
            }
        })?;
        let rel = entry
            .path()
            .strip_prefix(src)
            .expect("walkdir yields paths under its root");
        let target = dst.join(rel);
        let ft = entry.file_type();
        if ft.is_dir() {
            if entry.depth() > 0
                && !make_room(&target, true).map_err(|e| copy_err(entry.path(), &target, e))?
            {
                fs::create_dir(&target).map_err(|e| copy_err(entry.path(), &target, e))?;
            }
            let meta = entry
                .metadata()
                .map_err(|e| copy_err(entry.path(), &target, e.into()))?;
            dir_perms.push((target, meta.permissions()));
        } else if ft.is_symlink() {
            let link =
                fs::read_link(entry.path()).map_err(|e| copy_err(entry.path(), &target, e))?;
            make_room(&target, false).map_err(|e| copy_err(entry.path(), &target, e))?;
            std::os::unix::fs::symlink(&link, &target)
                .map_err(|e| copy_err(entry.path(), &target, e))?;
            files += 1;
        } else if ft.is_file() {
            make_room(&target, false).map_err(|e| copy_err(entry.path(), &target, e))?;
            fs::copy(entry.path(), &target).map_err(|e| copy_err(entry.path(), &target, e))?;
            files += 1;
        } else {
            tracing::debug!(path = %entry.path().display(), "skipping special file while copying");
        }
    }
    for (dir, perms) in dir_perms.into_iter().rev() {
        fs::set_permissions(&dir, perms).map_err(|e| copy_err(src, &dir, e))?;
    }
    Ok(files)
}

/// Clears `target` for a new entry: returns true when `want_dir` and a real folder is already
/// there (reused); otherwise removes whatever is there (a link is removed, never followed).
fn make_room(target: &Path, want_dir: bool) -> io::Result<bool> {
    match fs::symlink_metadata(target) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
        Ok(meta) if meta.is_dir() => {
            if !want_dir {
                remove_tree(target)?;
            }
            Ok(want_dir)
        }
        Ok(_) => fs::remove_file(target).map(|()| false),
    }
}

/// The canonical location `dst` has or would have (its nearest existing ancestor, resolved, plus
/// the remaining components); None when it cannot be determined.
fn resolve_destination(dst: &Path) -> Option<PathBuf> {
    let abs = if dst.is_absolute() {
        dst.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(dst)
    };
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    loop {
        if let Ok(real) = cur.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return Some(out);
        }
        rest.push(cur.file_name()?.to_os_string());
        cur = cur.parent()?;
    }
}

#[cfg(test)]
mod tests;
