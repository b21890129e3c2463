//! Scoring exactly as SUITE-FORMAT.md "Scores" defines it.
//!
//! Metrics that did not run are absent from the input, never zero placeholders, so a scenario
//! without an LLM judge is not diluted by a missing judge score.

use std::collections::BTreeMap;

/// The four run-level figures stored on a `RunResult`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// 0–10: 10 × Σ wₖ·sₖ / Σ wₖ over metrics that ran with a positive weight.
    pub weighted_score: f64,
    /// 0–1: plain mean of the metric scores.
    pub total_score: f64,
    /// 0–1: `weighted_score / 10`.
    pub success_metric: f64,
    pub is_successful: bool,
}

/// Scores a run from its metric scores (each clamped to [0, 1]; non-finite ones ignored).
///
/// `weights` maps metric keys to weights (default 1; a weight ≤ 0 drops the metric from the
/// weighted score). `critical_passed` is whether every critical command passed. With no metric at
/// all, every score is 0 and the run is not successful.
pub fn score(
    metrics: &[(String, f64)],
    weights: &BTreeMap<String, f64>,
    threshold: f64,
    critical_passed: bool,
) -> Scores {
    let valid: Vec<(&str, f64)> = metrics
        .iter()
        .filter(|(_, s)| s.is_finite())
        .map(|(k, s)| (k.as_str(), s.clamp(0.0, 1.0)))
        .collect();
    let (mut num, mut den) = (0.0, 0.0);
    for (key, s) in &valid {
        let w = weights.get(*key).copied().unwrap_or(1.0);
        if w.is_finite() && w > 0.0 {
            num += w * s;
            den += w;
        }
    }
    // Clamped: w·1/w can round to 1 + ε, and a score must never read 10.000000000000002.
    let weighted_score = if den > 0.0 {
        (10.0 * num / den).clamp(0.0, 10.0)
    } else {
        0.0
    };
    let total_score = if valid.is_empty() {
        0.0
    } else {
        (valid.iter().map(|(_, s)| s).sum::<f64>() / valid.len() as f64).clamp(0.0, 1.0)
    };
    let success_metric = weighted_score / 10.0;
    Scores {
        weighted_score,
        total_score,
        success_metric,
        is_successful: critical_passed && den > 0.0 && success_metric >= threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(pairs: &[(&str, f64)]) -> Vec<(String, f64)> {
        pairs.iter().map(|(k, s)| (k.to_string(), *s)).collect()
    }

    #[test]
    fn weighted_mean_over_metrics_that_ran() {
        let w = BTreeMap::from([("a".to_string(), 3.0), ("b".to_string(), 1.0)]);
        let s = score(&m(&[("a", 1.0), ("b", 0.0)]), &w, 0.7, true);
        assert!((s.weighted_score - 7.5).abs() < 1e-12);
        assert!((s.total_score - 0.5).abs() < 1e-12);
        assert!((s.success_metric - 0.75).abs() < 1e-12);
        assert!(s.is_successful);
    }

    #[test]
    fn absent_metrics_do_not_dilute() {
        let w = BTreeMap::from([("llm_judge".to_string(), 5.0)]);
        let s = score(&m(&[("install_success", 1.0)]), &w, 0.7, true);
        assert_eq!(s.weighted_score, 10.0);
    }

    #[test]
    fn non_positive_weight_drops_the_metric() {
        let w = BTreeMap::from([("b".to_string(), 0.0), ("c".to_string(), -1.0)]);
        let s = score(&m(&[("a", 0.8), ("b", 0.0), ("c", 0.0)]), &w, 0.7, true);
        assert!((s.weighted_score - 8.0).abs() < 1e-12);
        // The plain mean still counts every metric that ran.
        assert!((s.total_score - 0.8 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn failed_critical_command_or_low_score_is_not_success() {
        let w = BTreeMap::new();
        assert!(!score(&m(&[("a", 1.0)]), &w, 0.7, false).is_successful);
        assert!(!score(&m(&[("a", 0.69)]), &w, 0.7, true).is_successful);
        assert!(score(&m(&[("a", 0.7)]), &w, 0.7, true).is_successful);
        assert!(!score(&[], &w, 0.0, true).is_successful);
    }

    proptest! {
        #[test]
        fn scores_stay_in_range(
            metrics in proptest::collection::vec(("[a-d]", -1.0f64..2.0), 0..8),
            weights in proptest::collection::btree_map("[a-d]", -1.0f64..5.0, 0..4),
        ) {
            let s = score(&metrics, &weights, 0.7, true);
            prop_assert!((0.0..=10.0).contains(&s.weighted_score));
            prop_assert!((0.0..=1.0).contains(&s.total_score));
            prop_assert!((s.success_metric * 10.0 - s.weighted_score).abs() < 1e-9);
        }

        #[test]
        fn uniform_scores_give_that_score(v in 0.0f64..=1.0, n in 1usize..6) {
            let metrics: Vec<(String, f64)> = (0..n).map(|i| (format!("m{i}"), v)).collect();
            let s = score(&metrics, &BTreeMap::new(), 0.7, true);
            prop_assert!((s.weighted_score - 10.0 * v).abs() < 1e-9);
            prop_assert!((s.total_score - v).abs() < 1e-9);
        }
    }
}
