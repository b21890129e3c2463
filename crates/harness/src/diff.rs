//! The change an agent made: a unified diff of the workspace against the fixture, and the
//! dependency delta of every package.json.
//!
//! (API fixed; implementation being written.)

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Folders never diffed (build output, dependencies, VCS data, caches).
pub const IGNORED_DIRS: &[&str] = &[
    "node_modules", ".git", "target", "dist", "build", ".next", ".nuxt", ".turbo", ".cache",
    "coverage", "__pycache__", ".pytest_cache", ".mypy_cache", ".venv", "venv", ".pnpm-store",
    ".yarn", ".gradle", ".idea", ".tox",
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
        DiffOptions { max_patch_bytes: 1024 * 1024, max_file_bytes: 1024 * 1024 }
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
    "dependencies", "devDependencies", "peerDependencies", "optionalDependencies",
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
