//! Limits on what the suite loader reads, so a broken or hostile suite (a YAML bomb, nesting
//! 100,000 levels deep, a 200 MB scenario.yaml, a runaway prompt) is refused in milliseconds
//! with a message naming the file, instead of taking the memory or the time of whoever runs
//! `zebench validate`, `list` or `run` on it. docs/suite-format.md lists the limits.
//!
//! Sizes are checked from the file's metadata before anything is read, and reading stops one
//! byte past the limit whatever the metadata said (a file that grows, a device, a FIFO). YAML
//! goes through serde-saphyr's budgets, tightened from its defaults (which allow a 256 MiB
//! document with a million replayed alias events) to what a scenario can plausibly need: the
//! suites we know are a few KiB, use no anchors, and nest fewer than ten levels.

use super::load::SuiteError;
use serde_saphyr::budget::{Budget, BudgetBreach};
use serde_saphyr::options::AliasLimits;
use std::io::Read;
use std::path::Path;

/// Largest YAML file the loader reads: scenario.yaml, scripted agents' scripts.
pub const MAX_YAML_BYTES: u64 = 1024 * 1024;
/// Largest prompt file (`prompts/<scenario>/<tier>.md`): about a quarter of a million tokens.
pub const MAX_PROMPT_BYTES: u64 = 1024 * 1024;
/// Largest oracle answers file (JSON).
pub const MAX_ORACLE_BYTES: u64 = 1024 * 1024;
/// Deepest nesting of YAML sequences and mappings.
pub const MAX_YAML_DEPTH: usize = 64;
/// Most YAML nodes (scalars, sequences, mappings), counting those an alias repeats.
pub const MAX_YAML_NODES: usize = 100_000;
/// Most alias uses (`*name`) and anchors (`&name`) in one document.
pub const MAX_YAML_ALIASES: usize = 100;
/// Most events aliases may replay in total: what stops exponential "billion laughs" expansion.
pub const MAX_YAML_REPLAYED: usize = 10_000;
/// Most scalar text in one document, counting text an alias repeats.
pub const MAX_YAML_TEXT_BYTES: usize = 4 * 1024 * 1024;

/// Reads `path` as UTF-8 text if it is at most `limit` bytes; otherwise the error names the
/// file, its size and the limit.
pub fn read_text(path: &Path, limit: u64) -> Result<String, SuiteError> {
    let io = |source| SuiteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > limit {
        return Err(too_large(path, size, limit));
    }
    let mut text = String::new();
    file.take(limit + 1).read_to_string(&mut text).map_err(io)?;
    if text.len() as u64 > limit {
        return Err(too_large(path, text.len() as u64, limit));
    }
    Ok(text)
}

fn too_large(path: &Path, size: u64, limit: u64) -> SuiteError {
    SuiteError::TooLarge {
        file: path.to_path_buf(),
        size,
        limit,
    }
}

/// `1048576` → `1 MiB`, `209715200` → `200 MiB`, `1536` → `1.5 KiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        return format!("{n} bytes");
    }
    let rounded = format!("{value:.1}");
    format!("{} {}", rounded.trim_end_matches(".0"), UNITS[unit])
}

/// serde-saphyr options with the budgets above; every YAML file of a suite is parsed with them.
pub fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::Options {
        budget: Some(Budget {
            max_reader_input_bytes: Some(MAX_YAML_BYTES as usize),
            max_events: 4 * MAX_YAML_NODES,
            max_aliases: MAX_YAML_ALIASES,
            max_anchors: MAX_YAML_ALIASES,
            max_depth: MAX_YAML_DEPTH,
            max_documents: 4,
            max_nodes: MAX_YAML_NODES,
            max_total_scalar_bytes: MAX_YAML_TEXT_BYTES,
            max_merge_keys: MAX_YAML_ALIASES,
            ..Budget::default()
        }),
        alias_limits: AliasLimits {
            max_total_replayed_events: MAX_YAML_REPLAYED,
            max_replay_stack_depth: 16,
            max_alias_expansions_per_anchor: MAX_YAML_ALIASES,
        },
        ..serde_saphyr::Options::default()
    }
}

/// Parses YAML text with [`yaml_options`].
pub fn from_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options(text, yaml_options())
}

/// A one-line explanation of a YAML error; a breached limit is said in words (with the limit)
/// rather than as serde-saphyr's debug form.
pub fn yaml_message(e: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::Error;
    match e {
        Error::WithSnippet { error, .. } => yaml_message(error),
        Error::Budget { breach, .. } => Some(match breach {
            BudgetBreach::Depth { .. } => {
                format!("nesting too deep: more than {MAX_YAML_DEPTH} levels")
            }
            BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => {
                format!("too many YAML nodes: more than {MAX_YAML_NODES}")
            }
            BudgetBreach::Aliases { .. }
            | BudgetBreach::Anchors { .. }
            | BudgetBreach::MergeKeys { .. }
            | BudgetBreach::AliasAnchorRatio { .. } => {
                format!("too many anchors, aliases or merge keys: the limit is {MAX_YAML_ALIASES}")
            }
            BudgetBreach::ScalarBytes { .. } => format!(
                "too much text: more than {} including what aliases repeat",
                human_bytes(MAX_YAML_TEXT_BYTES as u64)
            ),
            BudgetBreach::Documents { .. } => "too many YAML documents in one file".into(),
            BudgetBreach::InputBytes { .. } => format!(
                "the file is over the limit of {}",
                human_bytes(MAX_YAML_BYTES)
            ),
            BudgetBreach::SequenceUnbalanced => "unbalanced sequences or mappings".into(),
        }),
        other => {
            let text = other.to_string();
            if text.contains("recursion limit exceeded") {
                Some(format!(
                    "nesting too deep: more than {MAX_YAML_DEPTH} levels"
                ))
            } else if text.contains("alias replay") || text.contains("alias expansion") {
                Some(format!(
                    "aliases expand too far (over {MAX_YAML_REPLAYED} repeated nodes): a YAML bomb?"
                ))
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parse(text: &str) -> Result<Value, String> {
        from_yaml::<Value>(text).map_err(|e| yaml_message(&e).unwrap_or_else(|| e.to_string()))
    }

    #[test]
    fn sizes_read_like_a_person_writes_them() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(MAX_YAML_BYTES), "1 MiB");
        assert_eq!(human_bytes(200 * 1024 * 1024), "200 MiB");
        assert_eq!(human_bytes(200 * 1024 * 1024 + 28), "200 MiB");
        assert_eq!(human_bytes(25_000_000), "23.8 MiB");
    }

    #[test]
    fn billion_laughs_is_stopped_by_the_replay_limit() {
        let mut yaml = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 9].join(", ");
            yaml.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let err = parse(&yaml).unwrap_err();
        assert!(
            err.contains("aliases expand too far") || err.contains("too many"),
            "{err}"
        );
    }

    #[test]
    fn deep_flow_and_block_nesting_are_refused_with_the_limit() {
        for yaml in [
            format!("x: {}", "[".repeat(100_000)),
            format!("x: {}", "{a: ".repeat(10_000)),
            (0..200)
                .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
                .collect(),
        ] {
            let err = parse(&yaml).unwrap_err();
            assert!(err.starts_with("nesting too deep"), "{err}");
        }
    }

    #[test]
    fn ordinary_documents_and_modest_anchors_still_parse() {
        let v = parse("base: &b {weight: 1}\nchecks:\n  - *b\n  - {<<: *b, name: x}\n").unwrap();
        assert_eq!(v["checks"][0]["weight"], 1);
        let nested = (0..30).fold(String::from("1"), |acc, _| format!("[{acc}]"));
        parse(&format!("x: {nested}")).unwrap();
    }

    #[test]
    fn read_text_refuses_large_files_before_reading_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scenario.yaml");
        let f = std::fs::File::create(&path).unwrap();
        // Sparse: 200 MiB that take no disk space and would take seconds to read.
        f.set_len(200 * 1024 * 1024).unwrap();
        let err = read_text(&path, MAX_YAML_BYTES).unwrap_err().to_string();
        assert!(
            err.contains("scenario.yaml is 200 MiB; the limit is 1 MiB"),
            "{err}"
        );
        std::fs::write(&path, "id: x\n").unwrap();
        assert_eq!(read_text(&path, MAX_YAML_BYTES).unwrap(), "id: x\n");
    }
}
