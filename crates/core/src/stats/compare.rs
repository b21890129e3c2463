//! Comparing two sets of stored runs (two batches, or two agents): per (suite/scenario, tier)
//! cell, the runs' weighted scores, then the paired difference over the cells both have.
//!
//! Which runs count: completed runs count with their weighted score; runs that failed because
//! of the agent (errorType agent, timeout, prompt, signal or none recorded) count as 0 — the
//! agent delivered nothing; runs that failed for infrastructure reasons (errorType workspace,
//! warmup, infra, evaluator) are left out and counted apart, so a flaky machine never looks like
//! a regression. Runs still running are left out.

use super::paired::{paired_difference, PairedComparison, PairedOptions};
use crate::{Run, RunStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `errorType`s that are the harness's or the machine's fault, not the agent's.
pub const INFRA_ERROR_TYPES: [&str; 4] = ["workspace", "warmup", "infra", "evaluator"];

/// A (suite/scenario, tier) cell key, printed as `suite/scenario L1`.
pub type Cell = (String, String);

/// How a run counts in comparisons and summaries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Counted {
    /// Its weighted score (0–10); 0 for a failed run the agent is responsible for.
    Score(f64),
    /// Left out: an infrastructure failure.
    Infra,
    /// Left out: not finished, or completed without a score.
    Skipped,
}

/// The `errorType` in a run's metadata, if any.
pub fn error_type(run: &Run) -> Option<String> {
    let m = run.metadata.as_deref()?;
    let v: serde_json::Value = serde_json::from_str(m).ok()?;
    v.get("errorType")?.as_str().map(str::to_string)
}

/// How one run counts (see the module docs).
pub fn counted(run: &Run) -> Counted {
    match run.status {
        RunStatus::Completed => match run.weighted_score {
            Some(s) if s.is_finite() => Counted::Score(s),
            _ => Counted::Skipped,
        },
        RunStatus::Failed => match error_type(run) {
            Some(e) if INFRA_ERROR_TYPES.contains(&e.as_str()) => Counted::Infra,
            _ => Counted::Score(0.0),
        },
        RunStatus::Running | RunStatus::Incomplete => Counted::Skipped,
    }
}

/// One side's runs as cell values, plus what was left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Side {
    pub runs: usize,
    pub scored: usize,
    pub infra_failures: usize,
    pub skipped: usize,
}

fn cells(runs: &[Run]) -> (Vec<(Cell, f64)>, Side) {
    let mut side = Side {
        runs: runs.len(),
        ..Side::default()
    };
    let mut out = Vec::new();
    for r in runs {
        match counted(r) {
            Counted::Score(s) => {
                side.scored += 1;
                out.push(((format!("{}/{}", r.suite, r.scenario), r.tier.clone()), s));
            }
            Counted::Infra => side.infra_failures += 1,
            Counted::Skipped => side.skipped += 1,
        }
    }
    (out, side)
}

/// A comparison of B against A.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunsComparison {
    pub a: Side,
    pub b: Side,
    #[serde(flatten)]
    pub paired: PairedComparison<Cell>,
    /// One plain-words sentence for people and CI logs.
    pub summary: String,
}

/// Compares runs `b` against runs `a` (B − A; higher is better).
pub fn compare_runs(a: &[Run], b: &[Run], opts: &PairedOptions) -> RunsComparison {
    let (ca, sa) = cells(a);
    let (cb, sb) = cells(b);
    let paired = paired_difference(&ca, &cb, opts);
    let summary = summary(&paired);
    RunsComparison {
        a: sa,
        b: sb,
        paired,
        summary,
    }
}

fn summary(p: &PairedComparison<Cell>) -> String {
    use super::paired::Verdict;
    let n = p.n_cells;
    match (p.verdict, p.mean_diff, p.ci.as_ref()) {
        (Verdict::InsufficientData, _, _) => format!(
            "Not enough shared (scenario, tier) cells to compare: {n} shared, at least 2 needed."
        ),
        (v, Some(d), Some(ci)) => {
            let what = match v {
                Verdict::Improvement => "B is better than A",
                Verdict::Regression => "B is worse than A (a regression)",
                _ => "No detectable difference between A and B",
            };
            let p_txt = p
                .p_value
                .map(|x| format!(", p = {x:.3}"))
                .unwrap_or_default();
            format!(
                "{what}: mean difference {d:+.2} points (95% CI {:+.2} to {:+.2}{p_txt}) over {n} shared cells; {} improved, {} regressed, {} tied.",
                ci.lo, ci.hi, p.sign.improved, p.sign.regressed, p.sign.ties
            )
        }
        (_, Some(d), None) => format!("Mean difference {d:+.2} over {n} shared cells."),
        _ => "No shared cells.".into(),
    }
}

/// Per-cell run outcomes of one set of runs, for flake scores: cell → (successes, runs).
pub fn cell_outcomes(runs: &[Run]) -> BTreeMap<Cell, (usize, usize)> {
    let mut out: BTreeMap<Cell, (usize, usize)> = BTreeMap::new();
    for r in runs {
        if matches!(counted(r), Counted::Score(_)) {
            let e = out
                .entry((format!("{}/{}", r.suite, r.scenario), r.tier.clone()))
                .or_default();
            e.0 += r.is_successful as usize;
            e.1 += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Verdict;
    use crate::Timestamp;

    fn run(
        scenario: &str,
        tier: &str,
        status: RunStatus,
        score: Option<f64>,
        err: Option<&str>,
    ) -> Run {
        Run {
            id: 0,
            run_id: format!("{scenario}-{tier}-{score:?}"),
            batch_id: None,
            suite: "s".into(),
            scenario: scenario.into(),
            tier: tier.into(),
            agent: "a".into(),
            model: None,
            status,
            started_at: Timestamp::now(),
            completed_at: None,
            total_score: None,
            weighted_score: score,
            success_metric: None,
            is_successful: score.is_some_and(|s| s >= 7.0),
            metadata: err.map(|e| format!("{{\"errorType\":\"{e}\"}}")),
            specialist_enabled: None,
            specialist_name: None,
            specialist_version: None,
            submitted_by: None,
        }
    }

    fn batch(scores: &[f64]) -> Vec<Run> {
        scores
            .iter()
            .enumerate()
            .map(|(i, s)| {
                run(
                    &format!("sc{}", i % 4),
                    &format!("L{}", i / 4),
                    RunStatus::Completed,
                    Some(*s),
                    None,
                )
            })
            .collect()
    }

    #[test]
    fn counting_rules() {
        assert_eq!(
            counted(&run("x", "L1", RunStatus::Completed, Some(7.5), None)),
            Counted::Score(7.5)
        );
        assert_eq!(
            counted(&run("x", "L1", RunStatus::Failed, None, Some("agent"))),
            Counted::Score(0.0)
        );
        assert_eq!(
            counted(&run("x", "L1", RunStatus::Failed, None, Some("timeout"))),
            Counted::Score(0.0)
        );
        assert_eq!(
            counted(&run("x", "L1", RunStatus::Failed, None, Some("infra"))),
            Counted::Infra
        );
        assert_eq!(
            counted(&run("x", "L1", RunStatus::Running, None, None)),
            Counted::Skipped
        );
    }

    #[test]
    fn same_scores_show_no_difference_and_a_drop_is_a_regression() {
        let good = batch(&[9.0, 8.5, 9.5, 10.0, 9.0, 8.0, 9.5, 10.0]);
        let same = compare_runs(&good, &good, &PairedOptions::default());
        assert_eq!(same.paired.verdict, Verdict::NoDetectableDifference);
        assert!(
            same.summary.starts_with("No detectable difference"),
            "{}",
            same.summary
        );
        let bad = batch(&[5.0, 4.5, 6.0, 5.5, 5.0, 4.0, 6.5, 5.0]);
        let c = compare_runs(&good, &bad, &PairedOptions::default());
        assert_eq!(c.paired.verdict, Verdict::Regression, "{}", c.summary);
        assert!(c.summary.contains("regression"));
        assert_eq!(c.paired.n_cells, 8);
    }

    #[test]
    fn infrastructure_failures_are_left_out_and_counted() {
        let mut a = batch(&[9.0, 9.0, 9.0, 9.0]);
        a.push(run("sc0", "L0", RunStatus::Failed, None, Some("workspace")));
        let c = compare_runs(&a, &a, &PairedOptions::default());
        assert_eq!(c.a.infra_failures, 1);
        assert_eq!(c.a.scored, 4);
        assert_eq!(c.paired.mean_diff, Some(0.0));
    }
}
