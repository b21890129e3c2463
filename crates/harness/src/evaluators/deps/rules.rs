//! The dependency rules, each a pure function of the package.json maps (and a few facts read
//! from the workspace) returning `(score, rows)` or `None` when the rule has nothing to judge.

use super::npm::{is_local_spec, min_version, satisfies};
use crate::suite::model::{BlockedPackage, CompanionRule, NamespaceMigration, Targets};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// file → section → name → spec (as in [`crate::diff::DepsDelta`]).
pub type Manifests = BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>;
/// A metric's score and the rows explaining it; rows are kept even when the score is `None`.
pub type RuleResult = (Option<f64>, Vec<Value>);

/// One declaration of a package: (file, section, spec).
type Decl<'a> = (&'a str, &'a str, &'a str);

/// Every declaration of `name`, in file then section order.
fn declarations<'a>(m: &'a Manifests, name: &str) -> Vec<Decl<'a>> {
    m.iter()
        .flat_map(|(file, sections)| {
            sections.iter().filter_map(move |(section, deps)| {
                deps.get(name)
                    .map(|spec| (file.as_str(), section.as_str(), spec.as_str()))
            })
        })
        .collect()
}

fn declared_in(m: &Manifests, file: &str, name: &str) -> Vec<String> {
    m.get(file)
        .map(|s| s.values().filter_map(|d| d.get(name).cloned()).collect())
        .unwrap_or_default()
}

fn observed(decls: &[Decl<'_>]) -> Value {
    decls
        .iter()
        .map(|(file, section, spec)| {
            json!({"file": file, "section": section, "spec": spec,
                   "minimum": min_version(spec).map(|v| v.to_string())})
        })
        .collect()
}

/// `semantic_upgrade_quality`: required targets weigh 1 and must be met in every package.json
/// declaring them (declared nowhere = not met); optional targets weigh ½ and count only when
/// declared somewhere.
pub fn targets(t: &Targets, after: &Manifests) -> RuleResult {
    let (mut got, mut max) = (0.0, 0.0);
    let mut rows = Vec::new();
    let all = t.required.iter().map(|x| (x, true));
    for (target, required) in all.chain(t.optional.iter().map(|x| (x, false))) {
        let decls: Vec<Decl<'_>> = declarations(after, &target.name)
            .into_iter()
            .filter(|(_, _, spec)| !is_local_spec(spec))
            .collect();
        let weight = if required { 1.0 } else { 0.5 };
        let (passed, detail) = if decls.is_empty() {
            (false, "declared in no package.json".to_string())
        } else {
            let mut bad = Vec::new();
            for (file, _, spec) in &decls {
                match min_version(spec).map(|v| satisfies(&target.to, &v)) {
                    Some(Ok(true)) => {}
                    Some(Ok(false)) => bad.push(format!("{file}: {spec} is outside {}", target.to)),
                    Some(Err(e)) => bad.push(e),
                    None => bad.push(format!("{file}: cannot tell the version of {spec:?}")),
                }
            }
            (
                bad.is_empty(),
                if bad.is_empty() {
                    "met".into()
                } else {
                    bad.join("; ")
                },
            )
        };
        let counted = required || !decls.is_empty();
        if counted {
            max += weight;
            if passed {
                got += weight;
            }
        }
        rows.push(json!({
            "name": target.name, "to": target.to,
            "kind": if required { "required" } else { "optional" },
            "passed": passed, "counted": counted, "observed": observed(&decls), "detail": detail,
        }));
    }
    ((max > 0.0).then(|| got / max), rows)
}

/// How a companion must follow its main package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alignment {
    Major,
    Minor,
    Exact,
}

fn alignment(rule: Option<&str>) -> Alignment {
    let r = rule.unwrap_or("").to_lowercase();
    if r.contains("exact") {
        Alignment::Exact
    } else if r.contains("minor") {
        Alignment::Minor
    } else {
        Alignment::Major
    }
}

/// `companion_alignment`: for every declaration of a companion, compares its minimum version
/// with the main package's (same file first, then the root package.json, then any). The main
/// `node` is read from `engines.node` (`engines`: file → spec) or else `workspace_node`.
pub fn companions(
    rules: &[CompanionRule],
    after: &Manifests,
    engines: &BTreeMap<String, String>,
    workspace_node: Option<&str>,
) -> RuleResult {
    let (mut passed_n, mut total) = (0usize, 0usize);
    let mut rows = Vec::new();
    for rule in rules {
        for comp in &rule.companions {
            for (file, section, spec) in declarations(after, &comp.name) {
                if is_local_spec(spec) {
                    continue;
                }
                let main = main_spec(&rule.main, file, after, engines, workspace_node);
                let Some((main_source, main_spec)) = main else {
                    rows.push(json!({"main": rule.main, "companion": comp.name, "file": file,
                        "passed": null, "detail": format!("{} is not declared; nothing to align", rule.main)}));
                    continue;
                };
                let how = alignment(comp.rule.as_deref());
                let (mv, cv) = (min_version(&main_spec), min_version(spec));
                let passed = match (&mv, &cv) {
                    (Some(m), Some(c)) => match how {
                        Alignment::Major => m.major == c.major,
                        Alignment::Minor => m.major == c.major && m.minor == c.minor,
                        Alignment::Exact => m == c,
                    },
                    _ => false,
                };
                total += 1;
                passed_n += usize::from(passed);
                rows.push(json!({
                    "main": rule.main, "companion": comp.name, "rule": comp.rule,
                    "file": file, "section": section, "passed": passed,
                    "mainSpec": main_spec, "mainSource": main_source,
                    "mainVersion": mv.map(|v| v.to_string()),
                    "companionSpec": spec, "companionVersion": cv.map(|v| v.to_string()),
                }));
            }
        }
    }
    ((total > 0).then(|| passed_n as f64 / total as f64), rows)
}

/// The main package's spec for a companion declared in `file`, with where it came from.
fn main_spec(
    main: &str,
    file: &str,
    after: &Manifests,
    engines: &BTreeMap<String, String>,
    workspace_node: Option<&str>,
) -> Option<(String, String)> {
    if main == "node" {
        if let Some(e) = engines.get(file).or_else(|| engines.get("package.json")) {
            return Some(("engines.node".into(), e.clone()));
        }
        if let Some((f, e)) = engines.iter().next() {
            return Some((format!("{f} engines.node"), e.clone()));
        }
        if let Some(n) = workspace_node {
            return Some(("scenario workspace.node".into(), n.to_string()));
        }
    }
    let usable = |specs: Vec<String>| specs.into_iter().find(|s| !is_local_spec(s));
    if let Some(s) = usable(declared_in(after, file, main)) {
        return Some((file.to_string(), s));
    }
    if let Some(s) = usable(declared_in(after, "package.json", main)) {
        return Some(("package.json".into(), s));
    }
    declarations(after, main)
        .into_iter()
        .find(|(_, _, s)| !is_local_spec(s))
        .map(|(f, _, s)| (f.to_string(), s.to_string()))
}

/// `namespace_migrations`: `from` is gone everywhere and `to` is declared in every file that
/// declared `from` in the fixture. Migrations whose `from` never appears are not applicable.
pub fn migrations(
    rules: &[NamespaceMigration],
    before: &Manifests,
    after: &Manifests,
) -> RuleResult {
    let (mut passed_n, mut total) = (0usize, 0usize);
    let mut rows = Vec::new();
    for m in rules {
        let was: Vec<Decl<'_>> = declarations(before, &m.from);
        let still: Vec<Decl<'_>> = declarations(after, &m.from);
        if was.is_empty() && still.is_empty() {
            rows.push(json!({"from": m.from, "to": m.to, "passed": null,
                "detail": format!("{} is not used in the fixture; not applicable", m.from)}));
            continue;
        }
        let mut files: Vec<&str> = was.iter().map(|(f, _, _)| *f).collect();
        files.dedup();
        let missing: Vec<&str> = files
            .into_iter()
            .filter(|f| declared_in(after, f, &m.to).is_empty())
            .collect();
        let passed = still.is_empty() && missing.is_empty();
        total += 1;
        passed_n += usize::from(passed);
        rows.push(json!({
            "from": m.from, "to": m.to, "passed": passed,
            "fromBefore": observed(&was), "fromAfter": observed(&still),
            "toAfter": observed(&declarations(after, &m.to)), "toMissingIn": missing,
        }));
    }
    ((total > 0).then(|| passed_n as f64 / total as f64), rows)
}

/// `deprecated_handling`: no blocklisted package changed its declared spec in any file, and
/// none was added to a file that did not declare it (removing it is allowed).
pub fn blocklist(rules: &[BlockedPackage], before: &Manifests, after: &Manifests) -> RuleResult {
    let mut rows = Vec::new();
    let mut passed_n = 0usize;
    for b in rules {
        let mut violations = Vec::new();
        for (file, section, spec) in declarations(after, &b.name) {
            let prior = declared_in(before, file, &b.name);
            if prior.is_empty() {
                violations.push(format!("{file}: newly added as {spec} ({section})"));
            } else if !prior.iter().any(|p| p == spec) {
                violations.push(format!(
                    "{file}: changed from {} to {spec}",
                    prior.join(", ")
                ));
            }
        }
        let passed = violations.is_empty();
        passed_n += usize::from(passed);
        rows.push(json!({
            "name": b.name, "reason": b.reason, "passed": passed,
            "before": observed(&declarations(before, &b.name)),
            "after": observed(&declarations(after, &b.name)), "violations": violations,
        }));
    }
    let total = rules.len();
    ((total > 0).then(|| passed_n as f64 / total as f64), rows)
}
