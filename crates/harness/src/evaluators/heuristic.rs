//! `HeuristicChecksEvaluator`: the scenario's `heuristic_checks` (commands, files, patterns,
//! structured, scripts), scored as Σ weights of passing checks / Σ all weights.
//!
//! Kept under the seed's evaluator name so old dashboards still label it. Unlike the seed, a
//! check can require absence (`negate: true`), and a check that could not be evaluated at all
//! (invalid regex, path outside the workspace, timeout) fails whether negated or not, so a broken
//! check never counts as a pass.

mod checks;
pub mod structured;
#[cfg(test)]
mod tests;

use super::{EvalContext, EvalError, Evaluator, EvaluatorOutcome, Metric};
use crate::suite::model::{CheckCommon, HeuristicChecks};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// Stored evaluator name (the seed's).
pub const EVALUATOR_NAME: &str = "HeuristicChecksEvaluator";
/// Metric key in `rubric_overrides.weights`.
pub const METRIC_KEY: &str = "heuristic_checks";
/// Timeout of each command and script check.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the scenario's heuristic checks against the workspace the agent left.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeuristicChecksEvaluator;

/// What evaluating a check's condition found, before `negate` is applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// The condition holds (command exited 0, file exists, pattern found, ...).
    Met(String),
    /// The condition does not hold.
    NotMet(String),
    /// The check could not be evaluated; it fails even when negated.
    Error(String),
}

/// One check of any family, borrowed from the scenario.
pub(crate) enum Check<'a> {
    Command(&'a crate::suite::model::CommandCheck),
    File(&'a crate::suite::model::FileCheck),
    Pattern(&'a crate::suite::model::PatternCheck),
    Structured(&'a crate::suite::model::StructuredCheck),
    Script(&'a crate::suite::model::ScriptCheck),
}

impl<'a> Check<'a> {
    fn family(&self) -> &'static str {
        match self {
            Check::Command(_) => "commands",
            Check::File(_) => "files",
            Check::Pattern(_) => "patterns",
            Check::Structured(_) => "structured",
            Check::Script(_) => "scripts",
        }
    }
    fn common(&self) -> &'a CheckCommon {
        match self {
            Check::Command(c) => &c.common,
            Check::File(c) => &c.common,
            Check::Pattern(c) => &c.common,
            Check::Structured(c) => &c.common,
            Check::Script(c) => &c.common,
        }
    }
}

/// Every check in file order by family: commands, files, patterns, structured, scripts.
fn all_checks(h: &HeuristicChecks) -> Vec<Check<'_>> {
    let mut v: Vec<Check<'_>> = Vec::new();
    v.extend(h.commands.iter().map(Check::Command));
    v.extend(h.files.iter().map(Check::File));
    v.extend(h.patterns.iter().map(Check::Pattern));
    v.extend(h.structured.iter().map(Check::Structured));
    v.extend(h.scripts.iter().map(Check::Script));
    v
}

fn usable_weight(c: &CheckCommon) -> Option<f64> {
    let w = c.weight();
    (w.is_finite() && w > 0.0).then_some(w)
}

#[async_trait]
impl Evaluator for HeuristicChecksEvaluator {
    fn name(&self) -> &'static str {
        EVALUATOR_NAME
    }

    async fn evaluate(&self, ctx: &EvalContext<'_>) -> Result<Option<EvaluatorOutcome>, EvalError> {
        let Some(h) = ctx.scenario.heuristic_checks.as_ref() else {
            return Ok(None);
        };
        if h.enabled == Some(false) {
            return Ok(None);
        }
        let checks = all_checks(h);
        let skipped: Vec<&str> = checks
            .iter()
            .filter(|c| usable_weight(c.common()).is_none())
            .map(|c| c.common().name.as_str())
            .collect();
        let scored: Vec<(Check<'_>, f64)> = checks
            .into_iter()
            .filter_map(|c| usable_weight(c.common()).map(|w| (c, w)))
            .collect();
        let total_weight: f64 = scored.iter().map(|(_, w)| w).sum();
        if scored.is_empty() || total_weight <= 0.0 {
            return Ok(None);
        }
        // The workspace, canonical so confinement checks compare like with like.
        // Without a workspace (artifact scenarios) there is nothing to check: no metric.
        let Some(ws) = ctx.workspace else {
            return Ok(None);
        };
        let root: Result<PathBuf, String> = match Some(ws) {
            None => Err("the scenario has no workspace".into()),
            Some(ws) => std::fs::canonicalize(ws)
                .map_err(|e| format!("cannot open the workspace {}: {e}", ws.display())),
        };
        let mut rows = Vec::with_capacity(scored.len());
        let (mut passed_weight, mut passed_count) = (0.0, 0usize);
        for (check, weight) in &scored {
            if ctx.cancel.is_cancelled() {
                return Err(EvalError::Failed {
                    evaluator: EVALUATOR_NAME.into(),
                    message: "cancelled while running heuristic checks".into(),
                });
            }
            let verdict = match &root {
                Err(e) => Verdict::Error(e.clone()),
                Ok(root) => checks::run(check, root, ctx).await,
            };
            let negated = check.common().negated();
            let (passed, detail) = match verdict {
                Verdict::Met(d) => (!negated, d),
                Verdict::NotMet(d) => (negated, d),
                Verdict::Error(d) => (false, format!("error: {d}")),
            };
            if passed {
                passed_weight += weight;
                passed_count += 1;
            }
            rows.push(json!({
                "name": check.common().name,
                "family": check.family(),
                "passed": passed,
                "weight": weight,
                "negated": negated,
                "detail": detail,
            }));
        }
        let mut details = json!({
            "checks": rows,
            "passed": passed_count,
            "total": scored.len(),
        });
        if !skipped.is_empty() {
            details["skipped"] = Value::from(skipped);
        }
        Ok(Some(EvaluatorOutcome {
            evaluator: EVALUATOR_NAME.into(),
            metrics: vec![Metric {
                key: METRIC_KEY.into(),
                score: (passed_weight / total_weight).clamp(0.0, 1.0),
            }],
            details,
            usage: None,
        }))
    }
}
