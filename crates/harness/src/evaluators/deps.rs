//! `DependencyRulesEvaluator`: the scenario's dependency constraints and targets, checked
//! deterministically on the package.json files the agent left (SUITE-FORMAT.md
//! "constraints" and "targets"), so these scores do not depend on an LLM judge.
//!
//! Metrics (each only when its rule exists and has something to judge):
//! `semantic_upgrade_quality`, `companion_alignment`, `namespace_migrations`,
//! `deprecated_handling`, `manager_correctness`.

pub mod manager;
pub mod npm;
pub mod rules;
#[cfg(test)]
mod tests;

use super::{EvalContext, EvalError, Evaluator, EvaluatorOutcome, Metric};
use async_trait::async_trait;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Stored evaluator name.
pub const EVALUATOR_NAME: &str = "DependencyRulesEvaluator";

/// Checks package.json files against constraints, targets and allowed package managers.
#[derive(Debug, Clone, Copy, Default)]
pub struct DependencyRulesEvaluator;

/// `engines.node` of every package.json in `files` that has one (file → spec).
pub fn read_engines<'a>(
    workspace: &Path,
    files: impl IntoIterator<Item = &'a String>,
) -> BTreeMap<String, String> {
    files
        .into_iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(workspace.join(f)).ok()?;
            let doc: Value = serde_json::from_str(&text).ok()?;
            let node = doc.get("engines")?.get("node")?.as_str()?;
            Some((f.clone(), node.to_string()))
        })
        .collect()
}

#[async_trait]
impl Evaluator for DependencyRulesEvaluator {
    fn name(&self) -> &'static str {
        EVALUATOR_NAME
    }

    async fn evaluate(&self, ctx: &EvalContext<'_>) -> Result<Option<EvaluatorOutcome>, EvalError> {
        let sc = ctx.scenario;
        let constraints = sc.constraints.clone().unwrap_or_default();
        let targets = sc.targets.clone().unwrap_or_default();
        let allowed = sc.managers_allowed();
        let has_rules = !targets.required.is_empty()
            || !targets.optional.is_empty()
            || !constraints.blocklist.is_empty()
            || !constraints.namespace_migrations.is_empty()
            || !constraints.companion_versions.is_empty()
            || !allowed.is_empty();
        let root_manifest = ctx
            .workspace
            .map(|w| w.join("package.json").is_file())
            .unwrap_or(false);
        let has_manifests =
            !ctx.deps.after.is_empty() || !ctx.deps.before.is_empty() || root_manifest;
        if !has_rules || !has_manifests {
            return Ok(None);
        }
        let (before, after) = (&ctx.deps.before, &ctx.deps.after);
        let engines = ctx
            .workspace
            .map(|w| read_engines(w, after.keys()))
            .unwrap_or_default();
        let workspace_node = sc.workspace.as_ref().and_then(|w| w.node.as_deref());

        let mut results: Vec<(&str, rules::RuleResult)> = Vec::new();
        if !targets.required.is_empty() || !targets.optional.is_empty() {
            results.push(("semantic_upgrade_quality", rules::targets(&targets, after)));
        }
        if !constraints.companion_versions.is_empty() {
            let r = rules::companions(
                &constraints.companion_versions,
                after,
                &engines,
                workspace_node,
            );
            results.push(("companion_alignment", r));
        }
        if !constraints.namespace_migrations.is_empty() {
            let r = rules::migrations(&constraints.namespace_migrations, before, after);
            results.push(("namespace_migrations", r));
        }
        if !constraints.blocklist.is_empty() {
            let r = rules::blocklist(&constraints.blocklist, before, after);
            results.push(("deprecated_handling", r));
        }
        if !allowed.is_empty() {
            let lockfiles = ctx
                .workspace
                .map(manager::find_lockfiles)
                .unwrap_or_default();
            let r = manager::manager_correctness(&allowed, &lockfiles, &ctx.agent.commands);
            results.push(("manager_correctness", r));
        }

        let mut metrics = Vec::new();
        let mut details = Map::new();
        for (key, (score, rows)) in results {
            let score = score.map(|s| s.clamp(0.0, 1.0));
            if let Some(s) = score {
                metrics.push(Metric {
                    key: key.into(),
                    score: s,
                });
            }
            details.insert(key.into(), json!({"score": score, "rules": rows}));
        }
        if metrics.is_empty() {
            return Ok(None);
        }
        Ok(Some(EvaluatorOutcome {
            evaluator: EVALUATOR_NAME.into(),
            metrics,
            details: Value::Object(details),
            usage: None,
        }))
    }
}
