//! Confining paths to the workspace.
//!
//! A plain string-prefix check is not enough (`/ws/a-evil` starts with `/ws/a`) and neither is a
//! lexical one (a symlink inside the workspace may point anywhere), so a path is normalized
//! lexically, then every existing part is resolved through the file system (symlinks followed,
//! dangling ones included) and the result is compared component-wise with the canonical root.

use super::ToolError;
use std::path::{Component, Path, PathBuf};

/// Symlink hops followed before giving up (matches the usual kernel limit).
const MAX_SYMLINK_HOPS: usize = 40;

/// Removes `.` and resolves `..` without touching the file system (`..` at `/` stays at `/`).
pub fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Prefix(_) | Component::RootDir | Component::Normal(_) => out.push(c),
            Component::CurDir => {}
            Component::ParentDir => {
                let at_root = out.parent().is_none();
                if !at_root {
                    out.pop();
                }
            }
        }
    }
    out
}

/// Resolves `path` (relative to `root`, or absolute) to a path that is inside `root` after
/// following symlinks. `root` must already be canonical. Paths that do not exist yet are allowed
/// (for writing) as long as their existing ancestor is inside and no dangling symlink on the way
/// leads out.
pub fn resolve_within(root: &Path, path: &str) -> Result<PathBuf, ToolError> {
    if path.contains('\0') {
        return Err(ToolError::InvalidPath {
            path: path.into(),
            reason: "contains a NUL byte".into(),
        });
    }
    let joined = if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        root.join(path)
    };
    let resolved =
        resolve_fs(&normalize_lexically(&joined), 0).map_err(|reason| ToolError::InvalidPath {
            path: path.into(),
            reason,
        })?;
    if resolved.starts_with(root) {
        Ok(resolved)
    } else {
        Err(ToolError::OutsideWorkspace { path: path.into() })
    }
}

/// Canonicalizes the longest existing ancestor of an absolute, lexically normal path and appends
/// the rest; a dangling symlink at the boundary is followed by hand.
fn resolve_fs(path: &Path, hops: usize) -> Result<PathBuf, String> {
    if hops > MAX_SYMLINK_HOPS {
        return Err("too many levels of symbolic links".into());
    }
    // Split into the longest prefix that canonicalizes and the remaining components.
    let mut existing = path.to_path_buf();
    let mut tail: Vec<std::ffi::OsString> = Vec::new();
    let canon = loop {
        match std::fs::canonicalize(&existing) {
            Ok(c) => break c,
            Err(_) => {
                let Some(name) = existing.file_name().map(|n| n.to_os_string()) else {
                    return Err("no part of the path exists".into());
                };
                tail.push(name);
                existing.pop();
            }
        }
    };
    tail.reverse();
    let Some((first, rest)) = tail.split_first() else {
        return Ok(canon);
    };
    let candidate = canon.join(first);
    match std::fs::symlink_metadata(&candidate) {
        Ok(meta) if meta.file_type().is_symlink() => {
            // A dangling symlink: resolve its target and continue from there.
            let target = std::fs::read_link(&candidate).map_err(|e| e.to_string())?;
            let mut next = if target.is_absolute() {
                target
            } else {
                canon.join(target)
            };
            next.extend(rest);
            resolve_fs(&normalize_lexically(&next), hops + 1)
        }
        Ok(_) => {
            // Exists but does not canonicalize (e.g. not a directory on the way): keep as is.
            let mut out = candidate;
            out.extend(rest);
            Ok(out)
        }
        Err(_) => {
            let mut out = candidate;
            out.extend(rest);
            Ok(out)
        }
    }
}

/// `path` relative to `root`, `/`-separated, for messages the model sees.
pub fn display_relative(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.display().to_string(),
    }
}
