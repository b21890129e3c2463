//! `zebench validate`: everything wrong or suspicious in a suite, with file and line.
//!
//! Errors stop a scenario from running correctly; warnings flag what probably does not mean
//! what its author thinks (unknown keys, `no_*` checks without `negate`, a judge with nothing
//! to judge).

use super::limits;
use super::load::{load_suite, parse_scenario, ScenarioEntry, SuiteError, SuitesRoots};
use super::model::{CheckCommon, Extra, Scenario};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding, printed as `file:line: severity: message`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based; None when the finding is about the file or folder as a whole.
    pub line: Option<u64>,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.line {
            Some(l) => write!(f, "{}:{l}: {sev}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {sev}: {}", self.file.display(), self.message),
        }
    }
}

/// What `validate` looked at and found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub scenarios: usize,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }
    fn count(&self, s: Severity) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == s).count()
    }
}

/// Validates a suites root, a suite folder, a scenario folder or a scenario.yaml; with no path,
/// every suite under `roots`.
pub fn validate(path: Option<&Path>, roots: &SuitesRoots) -> Result<Report, SuiteError> {
    let mut entries = Vec::new();
    match path {
        None => {
            for s in roots.suites()? {
                entries.extend(s.scenarios);
            }
        }
        Some(p) => entries.extend(entries_at(p)?),
    }
    let mut report = Report::default();
    for e in &entries {
        report.scenarios += 1;
        report.diagnostics.extend(validate_scenario(e));
    }
    if report.scenarios == 0 {
        return Err(SuiteError::Invalid {
            file: path.map(Path::to_path_buf).unwrap_or_default(),
            message: format!(
                "no scenario found (looked in {}); a scenario is a folder with a scenario.yaml under <suite>/scenarios/",
                path.map(|p| p.display().to_string()).unwrap_or_else(|| roots.describe())
            ),
        });
    }
    Ok(report)
}

/// The scenarios a path names: a scenario.yaml, a scenario folder, a suite or a suites root.
fn entries_at(p: &Path) -> Result<Vec<ScenarioEntry>, SuiteError> {
    let p = if p.file_name().is_some_and(|n| n == "scenario.yaml") {
        p.parent().unwrap_or(Path::new("."))
    } else {
        p
    };
    if !p.exists() {
        return Err(SuiteError::Io {
            path: p.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        });
    }
    if p.join("scenario.yaml").is_file() {
        // <suite>/scenarios/<scenario>
        let suite_dir = p.parent().and_then(Path::parent).unwrap_or(Path::new("."));
        let suite = load_suite(suite_dir)?;
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        return Ok(suite
            .scenarios
            .into_iter()
            .filter(|e| Some(&e.name) == name.as_ref())
            .collect());
    }
    if p.join("scenarios").is_dir() {
        return Ok(load_suite(p)?.scenarios);
    }
    let mut out = Vec::new();
    for s in SuitesRoots(vec![p.to_path_buf()]).suites()? {
        out.extend(s.scenarios);
    }
    Ok(out)
}

/// Every finding for one scenario.
pub fn validate_scenario(entry: &ScenarioEntry) -> Vec<Diagnostic> {
    let file = entry.yaml_path();
    let mut v = Vec::new();
    let text = match limits::read_text(&file, limits::MAX_YAML_BYTES) {
        Ok(t) => t,
        Err(SuiteError::TooLarge { size, limit, .. }) => {
            v.push(diag(
                Severity::Error,
                &file,
                None,
                format!(
                    "the file is {}; the limit is {}",
                    limits::human_bytes(size),
                    limits::human_bytes(limit)
                ),
            ));
            return v;
        }
        Err(SuiteError::Io { source, .. }) => {
            v.push(diag(
                Severity::Error,
                &file,
                None,
                format!("cannot read: {source}"),
            ));
            return v;
        }
        Err(e) => {
            v.push(diag(Severity::Error, &file, None, e.to_string()));
            return v;
        }
    };
    let s = match parse_scenario(&file, &text) {
        Ok(s) => s,
        Err(SuiteError::Yaml { line, message, .. }) => {
            v.push(diag(Severity::Error, &file, Some(line), message));
            return v;
        }
        Err(e) => {
            v.push(diag(Severity::Error, &file, None, e.to_string()));
            return v;
        }
    };
    let at = |path: &[&str]| find_key_line(&text, path);
    let mut push = |sev, line, msg: String| v.push(diag(sev, &file, line, msg));

    for (path, _) in unknown_keys(&s) {
        let parts: Vec<&str> = path.split('.').collect();
        push(
            Severity::Warning,
            at(&parts),
            format!("unknown key `{path}` (kept, but zebench does not act on it; see docs/suite-format.md)"),
        );
    }
    match s.id.as_deref() {
        None => push(Severity::Warning, None, "no `id`: the folder name is used".into()),
        Some(id) if id != entry.name => push(
            Severity::Warning,
            at(&["id"]),
            format!("id {id:?} differs from the folder name {:?}; runs are recorded under the folder name", entry.name),
        ),
        _ => {}
    }
    if let Some(suite) = s.suite.as_deref().filter(|x| *x != entry.suite) {
        push(
            Severity::Warning,
            at(&["suite"]),
            format!(
                "suite {suite:?} differs from the suite folder {:?}",
                entry.suite
            ),
        );
    }
    if let Some(t) = s.timeout_minutes.filter(|t| !(t.is_finite() && *t > 0.0)) {
        push(
            Severity::Error,
            at(&["timeout_minutes"]),
            format!("timeout_minutes must be a positive number of minutes, got {t}"),
        );
    }
    if s.workspace_required() && entry.fixture_dir().is_none() {
        push(
            Severity::Error,
            None,
            format!("no fixture: add {0}/repo-fixture/ (or repo/) with the starting code, or set `workspace.required: false`", entry.dir.display()),
        );
    }
    check_prompts(entry, &s, &mut push, &at);
    check_heuristics(entry, &s, &mut push, &at);
    if s.judge_enabled()
        && s.llm_judge
            .as_ref()
            .is_some_and(|j| j.categories.is_empty())
    {
        push(
            Severity::Warning,
            at(&["llm_judge", "enabled"]),
            "llm_judge is enabled but has no `categories`: the judge will not run".into(),
        );
    }
    if let Some(f) = s.oracle.as_ref().and_then(|o| o.answers_file.as_deref()) {
        let path = entry.dir.join(f);
        if let Err(e) = crate::oracle::Oracle::load(&path) {
            push(
                Severity::Error,
                at(&["oracle", "answers_file"]),
                e.to_string(),
            );
        }
    }
    for (k, w) in &s.weights() {
        if !w.is_finite() {
            push(
                Severity::Error,
                at(&["rubric_overrides", "weights", k]),
                format!("weight of {k} is not a number"),
            );
        }
    }
    v
}

type Push<'a> = dyn FnMut(Severity, Option<u64>, String) + 'a;

fn check_prompts(
    entry: &ScenarioEntry,
    s: &Scenario,
    push: &mut Push<'_>,
    at: &dyn Fn(&[&str]) -> Option<u64>,
) {
    let prompts = entry
        .dir
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("prompts").join(&entry.name));
    let where_ = prompts.map(|p| p.display().to_string()).unwrap_or_default();
    if entry.tiers.is_empty() {
        push(
            Severity::Error,
            None,
            format!("no prompt: add {where_}/L1-basic.md (one file per tier)"),
        );
    }
    for t in &entry.tiers {
        match limits::read_text(&t.path, limits::MAX_PROMPT_BYTES) {
            Ok(x) if !x.trim().is_empty() => {}
            Err(e @ SuiteError::TooLarge { .. }) => push(Severity::Error, None, e.to_string()),
            _ => push(
                Severity::Error,
                None,
                format!("prompt {} is empty or unreadable", t.path.display()),
            ),
        }
    }
    // Tiers the scenario declares must each have a prompt.
    if let Some(obj) = s.tiers.as_ref().and_then(|t| t.as_object()) {
        for tier in obj.keys() {
            if entry.tier(tier).is_err() {
                push(
                    Severity::Error,
                    at(&["tiers", tier]),
                    format!("tier {tier} has no prompt: add {where_}/{tier}-<label>.md or remove it from `tiers`"),
                );
            }
        }
    }
}

fn check_heuristics(
    entry: &ScenarioEntry,
    s: &Scenario,
    push: &mut Push<'_>,
    at: &dyn Fn(&[&str]) -> Option<u64>,
) {
    let Some(h) = &s.heuristic_checks else { return };
    let mut commons: Vec<(&str, &CheckCommon)> = Vec::new();
    commons.extend(h.commands.iter().map(|c| ("commands", &c.common)));
    commons.extend(h.files.iter().map(|c| ("files", &c.common)));
    commons.extend(h.patterns.iter().map(|c| ("patterns", &c.common)));
    commons.extend(h.structured.iter().map(|c| ("structured", &c.common)));
    commons.extend(h.scripts.iter().map(|c| ("scripts", &c.common)));
    for (family, c) in commons {
        let line = find_value_line(&entry_text(entry), &c.name);
        if c.name.starts_with("no_") && !c.negated() {
            push(
                Severity::Warning,
                line,
                format!("check `{}` ({family}) is named no_* but has no `negate: true`: it passes when the thing is present", c.name),
            );
        }
        if c.weight.is_some_and(|w| !w.is_finite() || w < 0.0) {
            push(
                Severity::Error,
                line,
                format!("check `{}` has a negative or invalid weight", c.name),
            );
        }
    }
    for p in &h.patterns {
        if let Err(e) = regex::Regex::new(&p.pattern) {
            let line = find_value_line(&entry_text(entry), &p.common.name);
            push(
                Severity::Error,
                line,
                format!(
                    "check `{}`: invalid regex: {}",
                    p.common.name,
                    first_line(&e.to_string())
                ),
            );
        }
        if let Err(e) = globset::Glob::new(&p.file) {
            let line = find_value_line(&entry_text(entry), &p.common.name);
            push(
                Severity::Error,
                line,
                format!("check `{}`: invalid glob {:?}: {e}", p.common.name, p.file),
            );
        }
    }
    for sc in &h.scripts {
        if !entry.dir.join(&sc.script).exists() {
            let line = find_value_line(&entry_text(entry), &sc.common.name);
            push(
                Severity::Warning,
                line,
                format!("script {:?} of check `{}` is not in the scenario folder; it must then exist in the workspace", sc.script, sc.common.name),
            );
        }
    }
    if h.enabled == Some(true)
        && h.commands.len()
            + h.files.len()
            + h.patterns.len()
            + h.structured.len()
            + h.scripts.len()
            == 0
    {
        push(
            Severity::Warning,
            at(&["heuristic_checks"]),
            "heuristic_checks is enabled but lists no checks".into(),
        );
    }
}

fn entry_text(entry: &ScenarioEntry) -> String {
    limits::read_text(&entry.yaml_path(), limits::MAX_YAML_BYTES).unwrap_or_default()
}

fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .to_string()
}

fn diag(severity: Severity, file: &Path, line: Option<u64>, message: String) -> Diagnostic {
    Diagnostic {
        severity,
        file: file.to_path_buf(),
        line: line.filter(|l| *l > 0),
        message,
    }
}

/// Dotted paths of every unknown key in the document.
pub fn unknown_keys(s: &Scenario) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    let mut add = |prefix: &str, extra: &Extra| {
        for (k, v) in extra {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.push((path, v.clone()));
        }
    };
    add("", &s.extra);
    if let Some(w) = &s.workspace {
        add("workspace", &w.extra);
    }
    if let Some(b) = &s.baseline {
        add("baseline", &b.extra);
        b.run.iter().for_each(|c| add("baseline.run", &c.extra));
    }
    if let Some(v) = &s.validation {
        add("validation", &v.extra);
        add("validation.commands", &v.commands.extra);
    }
    if let Some(o) = &s.oracle {
        add("oracle", &o.extra);
    }
    if let Some(c) = &s.constraints {
        add("constraints", &c.extra);
        c.blocklist
            .iter()
            .for_each(|x| add("constraints.blocklist", &x.extra));
        c.namespace_migrations
            .iter()
            .for_each(|x| add("constraints.namespace_migrations", &x.extra));
        for cv in &c.companion_versions {
            add("constraints.companion_versions", &cv.extra);
            cv.companions
                .iter()
                .for_each(|x| add("constraints.companion_versions.companions", &x.extra));
        }
    }
    if let Some(t) = &s.targets {
        add("targets", &t.extra);
        t.required
            .iter()
            .chain(&t.optional)
            .for_each(|x| add("targets", &x.extra));
    }
    if let Some(h) = &s.heuristic_checks {
        add("heuristic_checks", &h.extra);
        h.commands
            .iter()
            .for_each(|c| add("heuristic_checks.commands", &c.extra));
        h.files
            .iter()
            .for_each(|c| add("heuristic_checks.files", &c.extra));
        h.patterns
            .iter()
            .for_each(|c| add("heuristic_checks.patterns", &c.extra));
        h.structured
            .iter()
            .for_each(|c| add("heuristic_checks.structured", &c.extra));
        h.scripts
            .iter()
            .for_each(|c| add("heuristic_checks.scripts", &c.extra));
    }
    if let Some(j) = &s.llm_judge {
        add("llm_judge", &j.extra);
    }
    if let Some(r) = &s.rubric_overrides {
        add("rubric_overrides", &r.extra);
    }
    if let Some(a) = &s.artifact {
        add("artifact", &a.extra);
    }
    if let Some(w) = &s.warmup {
        add("warmup", &w.extra);
    }
    if let Some(e) = &s.efficiency {
        add("efficiency", &e.extra);
    }
    out
}

/// 1-based line of a nested key (`["llm_judge", "enabled"]`): each part must appear, in order,
/// as `key:` more indented than its parent. Good enough for diagnostics; None when not found.
pub fn find_key_line(text: &str, path: &[&str]) -> Option<u64> {
    let mut want = 0usize;
    let mut min_indent = 0usize;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start_matches([' ', '-']);
        let indent = line.len() - trimmed.len();
        if want > 0
            && indent < min_indent
            && !line.trim().is_empty()
            && !line.trim_start().starts_with('#')
        {
            return None;
        }
        let key = path[want];
        let matches = trimmed
            .strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with(':'))
            || trimmed
                .strip_prefix(&format!("\"{key}\""))
                .is_some_and(|r| r.trim_start().starts_with(':'));
        if matches && (want == 0 || indent >= min_indent) {
            want += 1;
            if want == path.len() {
                return Some(i as u64 + 1);
            }
            min_indent = indent + 1;
        }
    }
    None
}

/// 1-based line where `name: <value>` appears (used to point at a check by its name).
fn find_value_line(text: &str, value: &str) -> Option<u64> {
    text.lines()
        .position(|l| {
            let t = l.trim_start_matches([' ', '-', '{']).trim();
            t.strip_prefix("name:").is_some_and(|r| {
                r.trim().trim_matches(['"', '\'', ',', '}']).trim() == value
                    || r.trim().starts_with(&format!("{value},"))
                    || r.trim().starts_with(&format!("\"{value}\""))
            })
        })
        .map(|i| i as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lines() {
        let t = "id: a\nllm_judge:\n  model: x\n  enabled: true\ntiers:\n  L1: {}\n";
        assert_eq!(find_key_line(t, &["id"]), Some(1));
        assert_eq!(find_key_line(t, &["llm_judge", "enabled"]), Some(4));
        assert_eq!(find_key_line(t, &["tiers", "L1"]), Some(6));
        assert_eq!(find_key_line(t, &["tiers", "L9"]), None);
        assert_eq!(
            find_value_line("checks:\n  - name: no_x\n", "no_x"),
            Some(2)
        );
    }

    #[test]
    fn the_seed_suites_have_no_errors() {
        let roots = SuitesRoots(vec![
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/suites")
        ]);
        let r = validate(None, &roots).unwrap();
        assert_eq!(r.scenarios, 2);
        assert_eq!(r.errors(), 0, "{:#?}", r.diagnostics);
        // test-scenario enables the judge without categories.
        assert!(r
            .diagnostics
            .iter()
            .any(|d| d.message.contains("no `categories`")
                && d.file.ends_with("test-scenario/scenario.yaml")
                && d.line
                    == Some(
                        find_key_line(
                            &std::fs::read_to_string(&d.file).unwrap(),
                            &["llm_judge", "enabled"]
                        )
                        .unwrap()
                    )));
    }
}
