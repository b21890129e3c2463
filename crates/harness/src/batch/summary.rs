//! The end-of-batch summary: per agent and tier, runs, success rate, mean weighted score with
//! its 95% interval when repeated, and cost. Infrastructure failures are counted apart and left
//! out of the score, so a flaky machine does not look like a bad agent.

use super::CellOutcome;
use serde::Serialize;
use std::collections::BTreeMap;
use zebench_core::stats::mean_ci95;
use zebench_core::RunStatus;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryRow {
    pub agent: String,
    pub tier: String,
    pub runs: usize,
    /// Runs left out of the score (errorType infra, workspace, warmup, evaluator).
    pub infra_failures: usize,
    pub successful: usize,
    /// Over runs that were scored (all runs minus infrastructure failures).
    pub success_rate: Option<f64>,
    pub mean_weighted_score: Option<f64>,
    /// Half-width of the 95% interval of the mean (Student t), with two or more scored runs.
    pub ci95: Option<f64>,
    pub cost_usd: f64,
}

pub fn summarize(outcomes: &[CellOutcome]) -> Vec<SummaryRow> {
    let mut groups: BTreeMap<(String, String), Vec<&CellOutcome>> = BTreeMap::new();
    for o in outcomes {
        groups
            .entry((o.agent_label.clone(), o.run.tier.clone()))
            .or_default()
            .push(o);
    }
    groups
        .into_iter()
        .map(|((agent, tier), runs)| {
            let infra = runs
                .iter()
                .filter(|o| o.error_type.is_some_and(|e| e.is_infrastructure()))
                .count();
            let scored: Vec<&&CellOutcome> = runs
                .iter()
                .filter(|o| !o.error_type.is_some_and(|e| e.is_infrastructure()))
                .collect();
            // A failed (not infrastructure) run scores 0: the agent did not deliver.
            let scores: Vec<f64> = scored
                .iter()
                .map(|o| match o.run.status {
                    RunStatus::Completed => o.run.weighted_score.unwrap_or(0.0),
                    _ => 0.0,
                })
                .collect();
            let successful = runs.iter().filter(|o| o.run.is_successful).count();
            let ci = mean_ci95(&scores);
            SummaryRow {
                agent,
                tier,
                runs: runs.len(),
                infra_failures: infra,
                successful,
                success_rate: (!scored.is_empty()).then(|| successful as f64 / scored.len() as f64),
                mean_weighted_score: ci.map(|c| c.0),
                ci95: ci.and_then(|c| c.1),
                cost_usd: runs.iter().map(|o| o.cost_usd).sum(),
            }
        })
        .collect()
}
