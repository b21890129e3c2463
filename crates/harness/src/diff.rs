//! The change an agent made: a unified diff of the workspace against the fixture, and the
//! dependency delta of every package.json.
//!
//! Both walk the two trees without following symbolic links and skip [`IGNORED_DIRS`] at any
//! depth, so installed dependencies and build output never show up as "changes". Output is
//! deterministic: paths are sorted and nothing depends on directory order or timestamps.
//! Memory stays bounded: a file is read whole only when it is at most `max_file_bytes`, and the
//! patch text stops growing at `max_patch_bytes`.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod deps;
mod patch;
#[cfg(test)]
mod tests;

pub use deps::deps_delta;
use patch::Patch;

/// Folders never diffed (build output, dependencies, VCS data, caches).
pub const IGNORED_DIRS: &[&str] = &[
    "node_modules",
    ".git",
    "target",
    "dist",
    "build",
    ".next",
    ".nuxt",
    ".turbo",
    ".cache",
    "coverage",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".venv",
    "venv",
    ".pnpm-store",
    ".yarn",
    ".gradle",
    ".idea",
    ".tox",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffOptions {
    /// Cap on the whole patch text; the rest is cut with a note.
    pub max_patch_bytes: usize,
    /// Files larger than this are compared by content hash and never read into memory whole.
    pub max_file_bytes: u64,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            max_patch_bytes: 1024 * 1024,
            max_file_bytes: 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileChange {
    /// Relative, `/`-separated.
    pub path: String,
    pub kind: ChangeKind,
    /// Binary (or not UTF-8) files are noted, not diffed.
    pub binary: bool,
    /// Larger than `max_file_bytes`: noted, not diffed.
    pub too_large: bool,
    pub additions: u64,
    pub deletions: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffReport {
    pub files: Vec<FileChange>,
    /// `diff --git`-style unified patch, capped at `max_patch_bytes`.
    pub patch: String,
    pub truncated: bool,
}

/// The dependency sections compared in package.json files.
pub const DEP_SECTIONS: &[&str] = &[
    "dependencies",
    "devDependencies",
    "peerDependencies",
    "optionalDependencies",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DepChange {
    /// package.json path relative to the workspace.
    pub file: String,
    pub section: String,
    pub name: String,
    /// None when added.
    pub before: Option<String>,
    /// None when removed.
    pub after: Option<String>,
}

/// Every package.json (outside ignored folders) before and after, and what changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DepsDelta {
    /// file → section → name → version spec, after the agent.
    pub after: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    /// Same, in the fixture.
    pub before: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    pub changes: Vec<DepChange>,
}

/// Upper bound on the time spent computing one file's line diff; past it the diff algorithm
/// settles for a coarser (still correct) diff. Only pathological inputs (hundreds of thousands
/// of changed lines) get near it, so ordinary output stays deterministic.
const LINE_DIFF_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes inspected for a NUL byte when deciding whether a file is binary (as git does).
const BINARY_SNIFF_BYTES: usize = 8 * 1024;

/// A walk of `root` that does not follow links and never descends into [`IGNORED_DIRS`] (nor
/// yields links named like them). Entries come sorted by file name.
pub(crate) fn walk(root: &Path) -> impl Iterator<Item = walkdir::Result<walkdir::DirEntry>> {
    walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !((e.file_type().is_dir() || e.file_type().is_symlink())
                    && e.file_name()
                        .to_str()
                        .is_some_and(|n| IGNORED_DIRS.contains(&n)))
        })
}

/// `path` relative to `root`, `/`-separated.
pub(crate) fn rel_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<_> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}

#[derive(Debug)]
enum Node {
    File {
        path: PathBuf,
        size: u64,
        exec: bool,
    },
    Link {
        target: String,
    },
}

impl Node {
    /// Git-style mode, shown in the patch headers.
    fn mode(&self) -> &'static str {
        match self {
            Node::File { exec: true, .. } => "100755",
            Node::File { .. } => "100644",
            Node::Link { .. } => "120000",
        }
    }
    fn size(&self) -> u64 {
        match self {
            Node::File { size, .. } => *size,
            Node::Link { target } => target.len() as u64,
        }
    }
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Files and links under `root` (folders themselves are not entries, as in git).
fn scan(root: &Path) -> io::Result<BTreeMap<String, Node>> {
    let mut nodes = BTreeMap::new();
    for entry in walk(root) {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            with_path(&path, e.into())
        })?;
        let ft = entry.file_type();
        let node = if ft.is_symlink() {
            let target = fs::read_link(entry.path()).map_err(|e| with_path(entry.path(), e))?;
            Node::Link {
                target: target.to_string_lossy().into_owned(),
            }
        } else if ft.is_file() {
            let meta = entry
                .metadata()
                .map_err(|e| with_path(entry.path(), e.into()))?;
            Node::File {
                path: entry.path().to_path_buf(),
                size: meta.len(),
                exec: meta.permissions().mode() & 0o111 != 0,
            }
        } else {
            continue; // folders, sockets, fifos, devices
        };
        nodes.insert(rel_path(root, entry.path()), node);
    }
    Ok(nodes)
}

/// What a side of a change holds, as far as the diff needs it.
enum Content {
    Text(String),
    Binary,
    TooLarge,
}

fn load(node: &Node, max_file_bytes: u64) -> io::Result<Content> {
    match node {
        Node::Link { target } => Ok(Content::Text(target.clone())),
        Node::File { size, .. } if *size > max_file_bytes => Ok(Content::TooLarge),
        Node::File { path, .. } => {
            let bytes = fs::read(path).map_err(|e| with_path(path, e))?;
            let sniff = &bytes[..bytes.len().min(BINARY_SNIFF_BYTES)];
            if sniff.contains(&0) {
                return Ok(Content::Binary);
            }
            Ok(String::from_utf8(bytes).map_or(Content::Binary, Content::Text))
        }
    }
}

fn sha256_file(path: &Path) -> io::Result<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let mut file = fs::File::open(path).map_err(|e| with_path(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| with_path(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().into())
}

/// Whether two nodes at the same path differ in content (not mode).
fn content_differs(old: &Node, new: &Node, max_file_bytes: u64) -> io::Result<bool> {
    match (old, new) {
        (Node::Link { target: a }, Node::Link { target: b }) => Ok(a != b),
        (
            Node::File {
                path: a, size: sa, ..
            },
            Node::File {
                path: b, size: sb, ..
            },
        ) => {
            if sa != sb {
                Ok(true)
            } else if *sa > max_file_bytes {
                Ok(sha256_file(a)? != sha256_file(b)?)
            } else {
                let read = |p: &PathBuf| fs::read(p).map_err(|e| with_path(p, e));
                Ok(read(a)? != read(b)?)
            }
        }
        _ => Ok(true), // a file became a link or the reverse
    }
}

/// Diffs the tree `after` against `before` (usually the workspace against the fixture).
/// Errors only when a tree or one of its files cannot be read; the message names the path.
pub fn diff_trees(before: &Path, after: &Path, opts: &DiffOptions) -> io::Result<DiffReport> {
    let old_nodes = scan(before)?;
    let new_nodes = scan(after)?;
    let paths: BTreeSet<&String> = old_nodes.keys().chain(new_nodes.keys()).collect();
    let mut files = Vec::new();
    let mut patch = Patch::new(opts.max_patch_bytes);

    for path in paths {
        let (old, new) = (old_nodes.get(path), new_nodes.get(path));
        let kind = match (old, new) {
            (None, Some(_)) => ChangeKind::Added,
            (Some(_), None) => ChangeKind::Deleted,
            (Some(o), Some(n)) => {
                let differs = content_differs(o, n, opts.max_file_bytes)?;
                if !differs && o.mode() == n.mode() {
                    continue;
                }
                if !differs {
                    // Mode-only change (e.g. chmod +x): headers, no body.
                    let too_large = o.size() > opts.max_file_bytes;
                    files.push(FileChange {
                        path: path.clone(),
                        kind: ChangeKind::Modified,
                        binary: false,
                        too_large,
                        additions: 0,
                        deletions: 0,
                    });
                    patch.push(&format!(
                        "diff --git a/{path} b/{path}\nold mode {}\nnew mode {}\n",
                        o.mode(),
                        n.mode()
                    ));
                    continue;
                }
                ChangeKind::Modified
            }
            (None, None) => unreachable!("path comes from one of the trees"),
        };
        let a_name = format!("a/{path}");
        let b_name = format!("b/{path}");
        let mut header = format!("diff --git {a_name} {b_name}\n");
        match (old, new) {
            (None, Some(n)) => header.push_str(&format!("new file mode {}\n", n.mode())),
            (Some(o), None) => header.push_str(&format!("deleted file mode {}\n", o.mode())),
            (Some(o), Some(n)) if o.mode() != n.mode() => {
                header.push_str(&format!("old mode {}\nnew mode {}\n", o.mode(), n.mode()))
            }
            _ => {}
        }
        let old_label = if old.is_some() {
            a_name.as_str()
        } else {
            "/dev/null"
        };
        let new_label = if new.is_some() {
            b_name.as_str()
        } else {
            "/dev/null"
        };

        let side = |n: Option<&Node>| -> io::Result<Content> {
            match n {
                None => Ok(Content::Text(String::new())),
                Some(n) => load(n, opts.max_file_bytes),
            }
        };
        let (old_c, new_c) = (side(old)?, side(new)?);
        let mut change = FileChange {
            path: path.clone(),
            kind,
            binary: false,
            too_large: false,
            additions: 0,
            deletions: 0,
        };
        match (&old_c, &new_c) {
            (Content::TooLarge, _) | (_, Content::TooLarge) => {
                change.too_large = true;
                let size = |n: Option<&Node>| n.map_or(0, Node::size);
                patch.push(&format!(
                    "{header}Large files {old_label} and {new_label} differ ({} -> {} bytes; over the {}-byte diff limit)\n",
                    size(old), size(new), opts.max_file_bytes
                ));
            }
            (Content::Binary, _) | (_, Content::Binary) => {
                change.binary = true;
                patch.push(&format!(
                    "{header}Binary files {old_label} and {new_label} differ\n"
                ));
            }
            (Content::Text(a), Content::Text(b)) => {
                let diff = similar::TextDiff::configure()
                    .algorithm(similar::Algorithm::Myers)
                    .timeout(LINE_DIFF_TIMEOUT)
                    .diff_lines(a.as_str(), b.as_str());
                for op in diff.ops() {
                    let (tag, old_range, new_range) = op.as_tag_tuple();
                    match tag {
                        similar::DiffTag::Equal => {}
                        similar::DiffTag::Delete => change.deletions += old_range.len() as u64,
                        similar::DiffTag::Insert => change.additions += new_range.len() as u64,
                        similar::DiffTag::Replace => {
                            change.deletions += old_range.len() as u64;
                            change.additions += new_range.len() as u64;
                        }
                    }
                }
                if !patch.truncated {
                    let body = diff
                        .unified_diff()
                        .context_radius(3)
                        .header(old_label, new_label)
                        .to_string();
                    patch.push(&header);
                    patch.push(&body);
                }
            }
        }
        files.push(change);
    }
    let (patch, truncated) = patch.finish();
    Ok(DiffReport {
        files,
        patch,
        truncated,
    })
}
