//! Efficiency: how much work the agent needed. 1.0 for a run within the scenario's budgets,
//! falling off linearly to 0 at four times the budget.
//!
//! Budgets (per run): `efficiency.tool_calls` (default 40), `efficiency.minutes` (default a
//! quarter of `timeout_minutes`) and `efficiency.tokens` (default 200k, only when the agent
//! reported tokens). The metric is the mean of the parts that apply.

use super::{EvalContext, EvalError, Evaluator, EvaluatorOutcome, Metric};
use async_trait::async_trait;
use serde_json::json;

pub struct EfficiencyEvaluator;

pub const DEFAULT_TOOL_CALLS: f64 = 40.0;
pub const DEFAULT_TOKENS: f64 = 200_000.0;

/// 1 within budget, linear to 0 at 4× the budget.
pub fn falloff(used: f64, budget: f64) -> f64 {
    if budget <= 0.0 || used <= budget {
        1.0
    } else {
        (1.0 - (used - budget) / (3.0 * budget)).clamp(0.0, 1.0)
    }
}

#[async_trait]
impl Evaluator for EfficiencyEvaluator {
    fn name(&self) -> &'static str {
        "EfficiencyEvaluator"
    }

    async fn evaluate(&self, ctx: &EvalContext<'_>) -> Result<Option<EvaluatorOutcome>, EvalError> {
        let a = ctx.agent;
        let b = ctx.scenario.efficiency.clone().unwrap_or_default();
        let budget = |key: &str| {
            match key {
                "tool_calls" => b.tool_calls,
                "minutes" => b.minutes,
                _ => b.tokens,
            }
            .filter(|v| v.is_finite() && *v > 0.0)
        };
        let calls_budget = budget("tool_calls").unwrap_or(DEFAULT_TOOL_CALLS);
        let minutes_budget = budget("minutes").unwrap_or(ctx.scenario.timeout_minutes() / 4.0);
        let mut parts = vec![
            ("toolCalls", a.tool_calls as f64, calls_budget),
            ("minutes", a.duration_ms as f64 / 60_000.0, minutes_budget),
        ];
        if let Some(t) = a.tokens_in.zip(a.tokens_out).map(|(i, o)| (i + o) as f64) {
            parts.push(("tokens", t, budget("tokens").unwrap_or(DEFAULT_TOKENS)));
        }
        let scores: Vec<f64> = parts.iter().map(|(_, u, b)| falloff(*u, *b)).collect();
        let score = scores.iter().sum::<f64>() / scores.len() as f64;
        let rows: Vec<_> = parts
            .iter()
            .zip(&scores)
            .map(|((k, u, b), s)| json!({"part": k, "used": u, "budget": b, "score": s}))
            .collect();
        Ok(Some(EvaluatorOutcome {
            evaluator: self.name().into(),
            metrics: vec![Metric {
                key: "efficiency".into(),
                score,
            }],
            details: json!({ "parts": rows }),
            usage: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::falloff;

    #[test]
    fn falloff_shape() {
        assert_eq!(falloff(10.0, 40.0), 1.0);
        assert_eq!(falloff(40.0, 40.0), 1.0);
        assert!((falloff(100.0, 40.0) - 0.5).abs() < 1e-12);
        assert_eq!(falloff(160.0, 40.0), 0.0);
        assert_eq!(falloff(1e9, 40.0), 0.0);
    }
}
