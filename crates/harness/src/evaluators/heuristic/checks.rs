//! Evaluating one check of each family against the workspace.

use super::structured::{has_heading, lookup, parse_path};
use super::{Check, Verdict, CHECK_TIMEOUT};
use crate::evaluators::EvalContext;
use crate::process::{run_command, CommandSpec};
use crate::suite::model::{PatternCheck, ScriptCheck, StructuredCheck};
use crate::tools::resolve_within;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Folders a pattern check never looks into.
const PATTERN_SKIPPED_DIRS: &[&str] = &[".git", "node_modules"];
/// Files larger than this are not searched by pattern checks.
const PATTERN_MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// Characters of a failing command's output kept in the check's detail.
const DETAIL_OUTPUT_CHARS: usize = 600;

pub(super) async fn run(check: &Check<'_>, root: &Path, ctx: &EvalContext<'_>) -> Verdict {
    match check {
        Check::Command(c) => shell(&c.command, root, ctx, Vec::new()).await,
        Check::File(c) => match resolve_within(root, &c.path) {
            Err(e) => Verdict::Error(e.to_string()),
            Ok(p) if p.exists() => Verdict::Met(format!("{} exists", c.path)),
            Ok(_) => Verdict::NotMet(format!("{} not found", c.path)),
        },
        Check::Pattern(c) => pattern(c, root).await,
        Check::Structured(c) => structured(c, root),
        Check::Script(c) => script(c, root, ctx).await,
    }
}

/// Runs `command` with `sh -c` in the workspace: exit 0 = met.
async fn shell(
    command: &str,
    root: &Path,
    ctx: &EvalContext<'_>,
    env: Vec<(String, String)>,
) -> Verdict {
    let mut spec = CommandSpec::new(command.to_string(), root.to_path_buf(), CHECK_TIMEOUT);
    spec.cancel = ctx.cancel.clone();
    spec.env.extend(env);
    let out = run_command(spec).await;
    if let Some(e) = out.spawn_error {
        return Verdict::Error(format!("could not start `{command}`: {e}"));
    }
    if out.timed_out {
        return Verdict::Error(format!(
            "`{command}` timed out after {} s",
            CHECK_TIMEOUT.as_secs()
        ));
    }
    if out.cancelled {
        return Verdict::Error(format!("`{command}` was cancelled"));
    }
    match out.exit_code {
        Some(0) => Verdict::Met("exit code 0".into()),
        code => {
            let status = code.map_or("killed by a signal".to_string(), |c| {
                format!("exit code {c}")
            });
            Verdict::NotMet(format!("{status}; output: {}", tail(&out.output)))
        }
    }
}

/// The last characters of a command's output.
fn tail(s: &str) -> String {
    let s = s.trim_end();
    let n = s.chars().count();
    if n <= DETAIL_OUTPUT_CHARS {
        return s.to_string();
    }
    let t: String = s.chars().skip(n - DETAIL_OUTPUT_CHARS).collect();
    format!("…{t}")
}

/// Glob (relative to the workspace) plus regex: met when some matched file's text matches.
async fn pattern(c: &PatternCheck, root: &Path) -> Verdict {
    let regex = match regex::Regex::new(&c.pattern) {
        Ok(r) => r,
        Err(e) => return Verdict::Error(format!("invalid regex {:?}: {e}", c.pattern)),
    };
    let glob_text = c
        .file
        .trim()
        .trim_start_matches("./")
        .trim_start_matches('/');
    let glob = match globset::GlobBuilder::new(glob_text)
        .literal_separator(true)
        .build()
    {
        Ok(g) => g.compile_matcher(),
        Err(e) => return Verdict::Error(format!("invalid glob {:?}: {e}", c.file)),
    };
    let root = root.to_path_buf();
    let file = c.file.clone();
    let job = tokio::task::spawn_blocking(move || search(&root, &glob, &regex, &file));
    job.await
        .unwrap_or_else(|e| Verdict::Error(format!("pattern search failed: {e}")))
}

fn search(root: &Path, glob: &globset::GlobMatcher, regex: &regex::Regex, file: &str) -> Verdict {
    let mut matched = 0usize;
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !(e.file_type().is_dir()
                && PATTERN_SKIPPED_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        });
    for entry in walker.flatten() {
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let rel: Vec<_> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect();
        let rel = rel.join("/");
        if !glob.is_match(&rel) {
            continue;
        }
        matched += 1;
        let too_big = entry
            .metadata()
            .map(|m| m.len() > PATTERN_MAX_FILE_BYTES)
            .unwrap_or(true);
        if too_big {
            continue;
        }
        let Ok(bytes) = std::fs::read(entry.path()) else {
            continue;
        };
        if regex.is_match(&String::from_utf8_lossy(&bytes)) {
            return Verdict::Met(format!("pattern found in {rel}"));
        }
    }
    if matched == 0 {
        Verdict::NotMet(format!("no file matches {file:?}"))
    } else {
        Verdict::NotMet(format!(
            "pattern not found in the {matched} file(s) matching {file:?}"
        ))
    }
}

/// File exists, and (when given) the JSON/YAML path exists and the Markdown heading is present.
fn structured(c: &StructuredCheck, root: &Path) -> Verdict {
    let path = match resolve_within(root, &c.file) {
        Ok(p) => p,
        Err(e) => return Verdict::Error(e.to_string()),
    };
    if !path.is_file() {
        return Verdict::NotMet(format!("{} not found", c.file));
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => return Verdict::Error(format!("cannot read {}: {e}", c.file)),
    };
    let mut found = vec![format!("{} exists", c.file)];
    if let Some(jp) = c.json_path.as_deref().filter(|p| !p.trim().is_empty()) {
        let segments = match parse_path(jp) {
            Ok(s) => s,
            Err(e) => return Verdict::Error(format!("invalid json_path {jp:?}: {e}")),
        };
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let doc: Result<Value, String> = if ext == "yml" || ext == "yaml" {
            serde_saphyr::from_str(&text).map_err(|e| e.to_string())
        } else {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        };
        let doc = match doc {
            Ok(d) => d,
            Err(e) => return Verdict::Error(format!("cannot parse {}: {e}", c.file)),
        };
        if lookup(&doc, &segments).is_none() {
            return Verdict::NotMet(format!("{jp} not found in {}", c.file));
        }
        found.push(format!("{jp} present"));
    }
    if let Some(header) = c.section_header.as_deref().filter(|h| !h.trim().is_empty()) {
        if !has_heading(&text, header) {
            return Verdict::NotMet(format!("no heading {header:?} in {}", c.file));
        }
        found.push(format!("heading {header:?} present"));
    }
    Verdict::Met(found.join("; "))
}

/// Replaces `${scenario.id}`, `${scenario.suite}` and `${workspace}` in a script argument.
pub(crate) fn substitute(arg: &str, ctx: &EvalContext<'_>, root: &Path) -> String {
    arg.replace("${scenario.id}", ctx.scenario.id.as_deref().unwrap_or(""))
        .replace(
            "${scenario.suite}",
            ctx.scenario.suite.as_deref().unwrap_or(""),
        )
        .replace("${workspace}", &root.to_string_lossy())
}

/// Quotes a word for `sh`.
pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Finds the script (scenario folder first, then the workspace) and runs it in the workspace.
async fn script(c: &ScriptCheck, root: &Path, ctx: &EvalContext<'_>) -> Verdict {
    let in_scenario = ctx.scenario_dir.join(&c.script);
    let path: PathBuf = if in_scenario.is_file() {
        in_scenario
    } else {
        match resolve_within(root, &c.script) {
            Ok(p) if p.is_file() => p,
            _ => {
                return Verdict::Error(format!(
                    "script {:?} not found in the scenario folder or the workspace",
                    c.script
                ))
            }
        }
    };
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    let mut command = interpreter(&path);
    command.push_str(&sh_quote(&path.to_string_lossy()));
    for a in &c.args {
        command.push(' ');
        command.push_str(&sh_quote(&substitute(a, ctx, root)));
    }
    let env = vec![
        (
            "ZEBENCH_WORKSPACE".into(),
            root.to_string_lossy().into_owned(),
        ),
        (
            "ZEBENCH_SCENARIO_DIR".into(),
            ctx.scenario_dir.to_string_lossy().into_owned(),
        ),
        (
            "ZEBENCH_SCENARIO_ID".into(),
            ctx.scenario.id.clone().unwrap_or_default(),
        ),
    ];
    shell(&command, root, ctx, env).await
}

/// How to start a script: directly when executable, else by its extension.
fn interpreter(path: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let executable = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false);
    if executable {
        return String::new();
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "js" | "mjs" | "cjs" => "node ",
        "ts" | "mts" | "cts" => "npx tsx ",
        "py" => "python3 ",
        _ => "sh ",
    }
    .to_string()
}
