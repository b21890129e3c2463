//! Pre-aggregation of runs into rollup rows and batch aggregates.
//!
//! Runs are immutable once stored (a resubmission is a duplicate or a conflict, never an update),
//! so every aggregate the API shows can be kept exactly by adding deltas in the insert
//! transaction. This module computes those deltas in memory, merged per key, so one multi-row
//! upsert covers a whole submission. It is pure: the backends only write what it returns.

use std::collections::BTreeMap;
use zebench_core::{Dimension, RunResult, RunStatus};

/// Dimension key of the single row that holds the totals behind `/api/stats`.
pub(crate) const ALL: &str = "all";
/// Separates agent and model in `agent-model` keys; a control character, so never in names.
pub(crate) const PAIR_SEP: char = '\u{1f}';

/// What one or more runs add to an aggregate; also the aggregate columns of a rollup row or a
/// live breakdown as read back (same names as the columns, so one struct serves both).
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub(crate) struct Delta {
    pub runs: i64,
    pub completed_runs: i64,
    pub failed_runs: i64,
    pub successful_runs: i64,
    pub score_sum: f64,
    pub score_n: i64,
    pub weighted_sum: f64,
    pub weighted_n: i64,
    pub weighted_min: Option<f64>,
    pub weighted_max: Option<f64>,
    pub cost_sum: f64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub tool_calls: i64,
    pub duration_ms: i64,
}

impl Delta {
    /// The contribution of one run. Scores count only for completed runs, so a crashed run
    /// never drags an average down with a placeholder zero.
    pub fn of_run(run: &RunResult) -> Self {
        let completed = run.status == RunStatus::Completed;
        let mut d = Delta {
            runs: 1,
            completed_runs: completed as i64,
            failed_runs: (run.status == RunStatus::Failed) as i64,
            successful_runs: (completed && run.is_successful) as i64,
            ..Delta::default()
        };
        if completed {
            if let Some(s) = run.total_score {
                d.score_sum = s;
                d.score_n = 1;
            }
            if let Some(w) = run.weighted_score {
                d.weighted_sum = w;
                d.weighted_n = 1;
                d.weighted_min = Some(w);
                d.weighted_max = Some(w);
            }
        }
        if let Some(t) = &run.telemetry {
            d.cost_sum = t.cost_usd.unwrap_or(0.0);
            d.tokens_in = t.tokens_in.unwrap_or(0);
            d.tokens_out = t.tokens_out.unwrap_or(0);
            d.tool_calls = t.tool_calls.unwrap_or(0);
            d.duration_ms = t.duration_ms.unwrap_or(0);
        }
        d
    }

    pub fn add(&mut self, o: &Delta) {
        self.runs += o.runs;
        self.completed_runs += o.completed_runs;
        self.failed_runs += o.failed_runs;
        self.successful_runs += o.successful_runs;
        self.score_sum += o.score_sum;
        self.score_n += o.score_n;
        self.weighted_sum += o.weighted_sum;
        self.weighted_n += o.weighted_n;
        self.weighted_min = min_opt(self.weighted_min, o.weighted_min);
        self.weighted_max = max_opt(self.weighted_max, o.weighted_max);
        self.cost_sum += o.cost_sum;
        self.tokens_in = self.tokens_in.saturating_add(o.tokens_in);
        self.tokens_out = self.tokens_out.saturating_add(o.tokens_out);
        self.tool_calls = self.tool_calls.saturating_add(o.tool_calls);
        self.duration_ms = self.duration_ms.saturating_add(o.duration_ms);
    }
}

fn min_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Rollup key of a run's model: empty when the run named none.
pub(crate) fn model_key(model: Option<&str>) -> String {
    model.unwrap_or("").to_string()
}

/// Rollup deltas for runs (each with its effective `started_at` in epoch ms), merged per
/// `(dimension, key)` and sorted, so concurrent writers lock rows in the same order.
pub(crate) fn rollup_deltas<'a>(
    runs: impl IntoIterator<Item = (&'a RunResult, i64)>,
) -> BTreeMap<(&'static str, String), Delta> {
    let mut out: BTreeMap<(&'static str, String), Delta> = BTreeMap::new();
    let mut add = |dim: &'static str, key: String, d: &Delta| {
        out.entry((dim, key)).or_default().add(d);
    };
    for (run, started_at) in runs {
        let d = Delta::of_run(run);
        let model = model_key(run.model.as_deref());
        add(ALL, String::new(), &d);
        add(Dimension::Agent.as_str(), run.agent.clone(), &d);
        add(Dimension::Model.as_str(), model.clone(), &d);
        add(
            Dimension::AgentModel.as_str(),
            format!("{}{PAIR_SEP}{model}", run.agent),
            &d,
        );
        add(Dimension::Suite.as_str(), run.suite.clone(), &d);
        add(Dimension::Scenario.as_str(), run.scenario.clone(), &d);
        add(Dimension::Tier.as_str(), run.tier.clone(), &d);
        add(
            Dimension::Day.as_str(),
            zebench_core::Timestamp(started_at).day(),
            &d,
        );
        for (name, ev) in evaluator_deltas(run, &d) {
            add(Dimension::Evaluator.as_str(), name, &ev);
        }
    }
    out
}

/// Per evaluator: the run's delta with the score replaced by the evaluator's normalised score
/// (averaged when a run reports the same evaluator twice) and no weighted score.
fn evaluator_deltas(run: &RunResult, run_delta: &Delta) -> BTreeMap<String, Delta> {
    let mut scores: BTreeMap<&str, (f64, i64)> = BTreeMap::new();
    for e in &run.evaluations {
        let s = scores.entry(e.evaluator_name.as_str()).or_default();
        s.0 += e.normalized();
        s.1 += 1;
    }
    scores
        .into_iter()
        .map(|(name, (sum, n))| {
            let mut d = Delta {
                weighted_sum: 0.0,
                weighted_n: 0,
                weighted_min: None,
                weighted_max: None,
                score_sum: 0.0,
                score_n: 0,
                ..run_delta.clone()
            };
            if run.status == RunStatus::Completed {
                d.score_sum = sum / n as f64;
                d.score_n = 1;
            }
            (name.to_string(), d)
        })
        .collect()
}

/// Aggregate deltas per batch id, sorted by id.
pub(crate) fn batch_deltas<'a>(
    runs: impl IntoIterator<Item = &'a RunResult>,
) -> BTreeMap<String, Delta> {
    let mut out: BTreeMap<String, Delta> = BTreeMap::new();
    for run in runs {
        if let Some(b) = &run.batch_id {
            out.entry(b.clone()).or_default().add(&Delta::of_run(run));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(agent: &str, status: &str, w: Option<f64>) -> RunResult {
        let mut v = serde_json::json!({"runId": format!("{agent}-{status}-{w:?}"), "suite":"s","scenario":"c","tier":"L1",
            "agent": agent, "status": status, "isSuccessful": true,
            "evaluations":[{"evaluatorName":"E","score":3,"maxScore":4},{"evaluatorName":"E","score":1,"maxScore":4}],
            "telemetry":{"costUsd":0.5,"tokensIn":100}});
        if let Some(w) = w {
            v["weightedScore"] = w.into();
            v["totalScore"] = (w / 10.0).into();
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn failed_runs_count_but_do_not_score() {
        let runs = [
            run("a", "completed", Some(8.0)),
            run("a", "failed", None),
            run("a", "completed", Some(4.0)),
        ];
        let deltas = rollup_deltas(runs.iter().map(|r| (r, 0)));
        let a = &deltas[&("agent", "a".to_string())];
        assert_eq!(
            (a.runs, a.completed_runs, a.failed_runs, a.successful_runs),
            (3, 2, 1, 2)
        );
        assert_eq!((a.weighted_sum, a.weighted_n), (12.0, 2));
        assert_eq!((a.weighted_min, a.weighted_max), (Some(4.0), Some(8.0)));
        assert_eq!(a.cost_sum, 1.5);
        assert_eq!(a.tokens_in, 300);
        assert_eq!(deltas[&("day", "1970-01-01".to_string())].runs, 3);
        let e = &deltas[&("evaluator", "E".to_string())];
        assert_eq!((e.score_n, e.score_sum), (2, 1.0));
    }
}
