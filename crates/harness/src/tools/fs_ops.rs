//! The file tools: read, write, edit and list, all through [`Toolbox::resolve`].

use super::paths::display_relative;
use super::{bool_arg, str_arg, ToolOutput, Toolbox, LIST_CAP, LIST_SKIPPED_DIRS, READ_CAP};
use serde_json::Value;
use std::path::PathBuf;

/// Resolves the `path` argument, or returns the error output.
fn path_arg(tb: &Toolbox, input: &Value, tool: &str) -> Result<(PathBuf, String), ToolOutput> {
    let raw = str_arg(input, tool, "path")?;
    if raw.trim().is_empty() {
        return Err(ToolOutput::err(format!("{tool}: `path` is empty")));
    }
    let p = tb
        .resolve(raw)
        .map_err(|e| ToolOutput::err(format!("{tool}: {e}")))?;
    let shown = display_relative(tb.root(), &p);
    Ok((p, shown))
}

pub(super) async fn read_file(tb: &Toolbox, input: &Value) -> ToolOutput {
    let (path, shown) = match path_arg(tb, input, "read_file") {
        Ok(p) => p,
        Err(e) => return e,
    };
    if path.is_dir() {
        return ToolOutput::err(format!(
            "read_file: {shown} is a directory; use list_files to see its contents"
        ));
    }
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) => return ToolOutput::err(format!("read_file: cannot read {shown}: {e}")),
    };
    if bytes.len() <= READ_CAP {
        return ToolOutput::ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    let mut text = String::from_utf8_lossy(&bytes[..READ_CAP]).into_owned();
    if text.ends_with('\u{FFFD}') {
        // The cut may have split a multi-byte character.
        text.pop();
    }
    text.push_str(&format!(
        "\n[read_file: output cut at {READ_CAP} of {} bytes; use run_command (e.g. sed -n) to see the rest]",
        bytes.len()
    ));
    ToolOutput::ok(text)
}

pub(super) async fn write_file(tb: &Toolbox, input: &Value) -> ToolOutput {
    let (path, shown) = match path_arg(tb, input, "write_file") {
        Ok(p) => p,
        Err(e) => return e,
    };
    let content = match str_arg(input, "write_file", "content") {
        Ok(c) => c,
        Err(e) => return e,
    };
    if path.is_dir() {
        return ToolOutput::err(format!("write_file: {shown} is a directory"));
    }
    if let Some(parent) = path.parent() {
        if let Err(e) = tokio::fs::create_dir_all(parent).await {
            return ToolOutput::err(format!(
                "write_file: cannot create the folders for {shown}: {e}"
            ));
        }
    }
    match tokio::fs::write(&path, content.as_bytes()).await {
        Ok(()) => ToolOutput::ok(format!("Wrote {} bytes to {shown}", content.len())),
        Err(e) => ToolOutput::err(format!("write_file: cannot write {shown}: {e}")),
    }
}

pub(super) async fn edit_file(tb: &Toolbox, input: &Value) -> ToolOutput {
    let (path, shown) = match path_arg(tb, input, "edit_file") {
        Ok(p) => p,
        Err(e) => return e,
    };
    let args = (
        str_arg(input, "edit_file", "old_string"),
        str_arg(input, "edit_file", "new_string"),
        bool_arg(input, "edit_file", "replace_all"),
    );
    let (old, new, replace_all) = match args {
        (Ok(o), Ok(n), Ok(r)) => (o, n, r),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e,
    };
    if old.is_empty() {
        return ToolOutput::err(
            "edit_file: `old_string` is empty; use write_file to create a file",
        );
    }
    let text = match tokio::fs::read_to_string(&path).await {
        Ok(t) => t,
        Err(e) => return ToolOutput::err(format!("edit_file: cannot read {shown}: {e}")),
    };
    let count = text.matches(old).count();
    if count == 0 {
        return ToolOutput::err(format!(
            "edit_file: `old_string` was not found in {shown}; read the file and copy the text exactly (whitespace included)"
        ));
    }
    if count > 1 && !replace_all {
        return ToolOutput::err(format!(
            "edit_file: `old_string` appears {count} times in {shown}; include more surrounding text to make it unique, or set replace_all: true"
        ));
    }
    let updated = if replace_all {
        text.replace(old, new)
    } else {
        text.replacen(old, new, 1)
    };
    match tokio::fs::write(&path, updated).await {
        Ok(()) => ToolOutput::ok(format!(
            "Edited {shown}: replaced {count} occurrence{}",
            if count == 1 { "" } else { "s" }
        )),
        Err(e) => ToolOutput::err(format!("edit_file: cannot write {shown}: {e}")),
    }
}

pub(super) async fn list_files(tb: &Toolbox, input: &Value) -> ToolOutput {
    let raw = match input.get("path") {
        None | Some(Value::Null) => ".",
        Some(Value::String(s)) if s.trim().is_empty() => ".",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return ToolOutput::err("list_files: parameter `path` must be a string"),
    };
    let recursive = match bool_arg(input, "list_files", "recursive") {
        Ok(r) => r,
        Err(e) => return e,
    };
    let dir = match tb.resolve(raw) {
        Ok(p) => p,
        Err(e) => return ToolOutput::err(format!("list_files: {e}")),
    };
    if !dir.is_dir() {
        let shown = display_relative(tb.root(), &dir);
        return ToolOutput::err(format!("list_files: {shown} is not a directory"));
    }
    let root = tb.root().to_path_buf();
    let listing = tokio::task::spawn_blocking(move || walk(&root, &dir, recursive)).await;
    match listing {
        Ok(text) => ToolOutput::ok(text),
        Err(e) => ToolOutput::err(format!("list_files: failed: {e}")),
    }
}

/// Lists `dir` (paths relative to the workspace root, folders with a trailing `/`), capped.
fn walk(root: &std::path::Path, dir: &std::path::Path, recursive: bool) -> String {
    let mut walker = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name();
    if !recursive {
        walker = walker.max_depth(1);
    }
    let mut lines = Vec::new();
    let mut more = 0usize;
    let mut it = walker.into_iter();
    while let Some(entry) = it.next() {
        let Ok(entry) = entry else { continue };
        if lines.len() >= LIST_CAP {
            more += 1;
            if more >= 100 * LIST_CAP {
                break;
            }
            continue;
        }
        let mut shown = display_relative(root, entry.path());
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_dir() && LIST_SKIPPED_DIRS.contains(&name.as_ref()) {
            shown.push_str("/ (contents not listed)");
            it.skip_current_dir();
        } else if entry.file_type().is_dir() {
            shown.push('/');
        } else if entry.file_type().is_symlink() {
            shown.push_str(" (symlink)");
        }
        lines.push(shown);
    }
    if lines.is_empty() {
        return "(empty directory)".into();
    }
    let mut text = lines.join("\n");
    if more > 0 {
        text.push_str(&format!(
            "\n[list_files: {more}{} more entries not shown; list a subfolder]",
            if more >= 100 * LIST_CAP { "+" } else { "" }
        ));
    }
    text
}
