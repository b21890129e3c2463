//! The validation commands as metrics, with non-regression against the baseline.
//!
//! `install_success`: the install command exited 0. `tests_nonregression`,
//! `lint_nonregression`, `typecheck_nonregression`, `build_nonregression`: 1 when the command
//! passes; 0.5 when it fails but the same command also failed on the pristine fixture (no
//! regression, no progress); 0 when it fails and passed before (a regression) or had no baseline.
//! A command that is not defined yields no metric.

use super::{CommandRecord, EvalContext, EvalError, Evaluator, EvaluatorOutcome, Metric};
use async_trait::async_trait;
use serde_json::json;

pub struct CommandsEvaluator;

/// Score of one validation command given the matching baseline run, if any.
pub fn nonregression(after: &CommandRecord, baseline: Option<&CommandRecord>) -> f64 {
    if after.outcome.success() {
        1.0
    } else if baseline.is_some_and(|b| !b.outcome.success()) {
        0.5
    } else {
        0.0
    }
}

/// The metric key a validation command scores under.
pub fn metric_key(command_name: &str) -> String {
    match command_name {
        "install" => "install_success".into(),
        "test" => "tests_nonregression".into(),
        other => format!("{other}_nonregression"),
    }
}

#[async_trait]
impl Evaluator for CommandsEvaluator {
    fn name(&self) -> &'static str {
        "CommandsEvaluator"
    }

    async fn evaluate(&self, ctx: &EvalContext<'_>) -> Result<Option<EvaluatorOutcome>, EvalError> {
        if ctx.validation.is_empty() {
            return Ok(None);
        }
        let mut metrics = Vec::new();
        let mut rows = Vec::new();
        for rec in ctx.validation {
            let base = ctx
                .baseline
                .iter()
                .find(|b| b.command.trim() == rec.command.trim());
            let score = if rec.name == "install" {
                if rec.outcome.success() {
                    1.0
                } else {
                    0.0
                }
            } else {
                nonregression(rec, base)
            };
            metrics.push(Metric {
                key: metric_key(&rec.name),
                score,
            });
            rows.push(json!({
                "name": rec.name,
                "command": rec.command,
                "exitCode": rec.outcome.exit_code,
                "timedOut": rec.outcome.timed_out,
                "durationMs": rec.outcome.duration_ms,
                "baselineExitCode": base.map(|b| b.outcome.exit_code),
                "score": score,
            }));
        }
        Ok(Some(EvaluatorOutcome {
            evaluator: self.name().into(),
            metrics,
            details: json!({ "commands": rows }),
            usage: None,
        }))
    }
}
