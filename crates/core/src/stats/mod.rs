//! Statistics for benchmark results: pure functions, no I/O, deterministic.
//!
//! A benchmark is only useful when its readers can tell a real difference from noise. Every
//! function here returns the number *and* what it rests on (its `n`, its interval), so that a
//! surface can show "7.5 ± 0.4 (n = 12)" rather than a bare 7.5.
//!
//! | question | function | what the number means |
//! |---|---|---|
//! | average score of some runs, with its uncertainty | [`mean_ci`] | Student-t interval for the mean |
//! | average when runs repeat within scenarios | [`clustered_mean_se`] | standard error that counts scenarios, not runs |
//! | success rate | [`wilson`] | Wilson score interval for a proportion |
//! | chance at least one of k attempts succeeds | [`pass_at_k`] | unbiased pass@k from n repeats with c successes |
//! | chance all k attempts succeed | [`pass_hat_k`] | unbiased pass^k (reliability) |
//! | is B better or worse than A? | [`paired_difference`] | paired difference over shared (scenario, tier) cells, bootstrap interval, permutation p-value, verdict |
//! | how consistent are repeats of a scenario? | [`flake_score`] | 0 = repeats agree, 1 = coin flip |
//!
//! Conventions shared by every function:
//!
//! * A confidence `level` is a fraction strictly between 0 and 1 (0.95 for 95%). A level outside
//!   that range makes the function return `None` (see [`valid_level`]), except in
//!   [`PairedOptions`], where it falls back to the default 0.95.
//! * Functions return `None` when the input is outside their domain (no values, `c > n`, ...),
//!   never a made-up number; an interval is `None` when it cannot be computed (one value).
//! * [`mean_ci`], [`clustered_mean_se`] and [`paired_difference`] skip non-finite values
//!   (`NaN`, `±∞`); the `n` they report counts the values actually used.
//! * Randomised procedures (bootstrap, Monte Carlo permutation test) use an in-crate SplitMix64
//!   generator seeded from [`PairedOptions::seed`]: the same inputs always give the same output.
//!
//! The distribution functions ([`normal_quantile`], [`t_quantile`], their CDFs) are accurate to
//! about 1e-14, so intervals agree with published tables to every printed decimal.

mod dist;
mod flake;
mod mean;
mod paired;
mod passk;
mod proportion;
#[cfg(test)]
mod proptests;
mod rng;

use serde::{Deserialize, Serialize};

pub mod compare;

pub use compare::{compare_runs, RunsComparison};
pub use dist::{normal_cdf, normal_quantile, t_cdf, t_quantile, valid_level};
pub use flake::{flake_score, flake_score_from_counts};
pub use mean::{clustered_mean_se, mean_ci, t_interval, ClusteredMean, MeanCi};
pub use paired::{
    paired_difference, CellDiff, CellKey, PValueMethod, PairedComparison, PairedOptions,
    SignCounts, Verdict,
};
pub use passk::{pass_at_k, pass_hat_k};
pub use proportion::wilson;

/// A confidence interval around an estimate: with probability `level` (over repeated samples)
/// the procedure that built it covers the true value.
///
/// `lo ≤ estimate ≤ hi` for every interval built by this module except, in rare skewed cases, a
/// bootstrap percentile interval. Symmetric for Student-t intervals, not for Wilson or bootstrap
/// intervals, so show `lo`–`hi` (or whiskers), and `±` only with [`Interval::half_width`] of a
/// symmetric one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Interval {
    /// The point estimate the interval surrounds (mean, proportion, mean difference).
    pub estimate: f64,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
    /// The confidence level, e.g. 0.95.
    pub level: f64,
}

impl Interval {
    /// `hi - lo`.
    pub fn width(&self) -> f64 {
        self.hi - self.lo
    }

    /// Half the width: the `±` figure of a symmetric interval.
    pub fn half_width(&self) -> f64 {
        (self.hi - self.lo) / 2.0
    }

    /// Whether `x` lies within `[lo, hi]`.
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }

    /// Whether the whole interval lies strictly on one side of zero (the difference is
    /// "significant" at this level).
    pub fn excludes_zero(&self) -> bool {
        self.lo > 0.0 || self.hi < 0.0
    }
}

/// Two-sided 95% Student-t quantiles for 1..=30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The 0.975 quantile of Student's t with `df` degrees of freedom (table up to 30, then
/// interpolated in 1/df towards the normal 1.960; within 0.002 of the exact value).
///
/// The printed-table version of [`t_quantile`]`(0.975, df)`: it equals the exact quantile
/// rounded to 3 decimals for `df` ≤ 30 and is within 0.002 beyond. Kept for the callers that
/// show a 95% interval from a stored standard deviation; new code should use [`t_quantile`] or
/// [`t_interval`].
pub fn t_975(df: usize) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T975[df - 1],
        _ => {
            // Anchors at 30, 40, 60, 120 and infinity, linear in 1/df.
            let pts = [
                (30.0, 2.042),
                (40.0, 2.021),
                (60.0, 2.000),
                (120.0, 1.980),
                (f64::INFINITY, 1.960),
            ];
            let x = 1.0 / df as f64;
            for w in pts.windows(2) {
                let (d0, t0) = w[0];
                let (d1, t1) = w[1];
                if (df as f64) <= d1 {
                    let (x0, x1) = (1.0 / d0, if d1.is_infinite() { 0.0 } else { 1.0 / d1 });
                    return t0 + (t1 - t0) * (x0 - x) / (x0 - x1);
                }
            }
            1.960
        }
    }
}

/// Mean and the half-width of its 95% confidence interval (Student t). The half-width is None
/// with fewer than two values.
///
/// Uses the table value [`t_975`]; [`mean_ci`]`(values, 0.95)` gives the same interval with
/// the exact quantile (the half-widths differ by less than 0.03% up to 31 values, 0.1%
/// beyond). Unlike [`mean_ci`], this does
/// not skip non-finite values.
pub fn mean_ci95(values: &[f64]) -> Option<(f64, Option<f64>)> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Some((mean, None));
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    Some((mean, Some(t_975(n - 1) * (var / n as f64).sqrt())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles() {
        assert_eq!(t_975(1), 12.706);
        assert_eq!(t_975(30), 2.042);
        assert!((t_975(40) - 2.021).abs() < 1e-9);
        assert!((t_975(50) - 2.009).abs() < 0.002);
        assert!((t_975(100_000) - 1.960).abs() < 0.001);
    }

    #[test]
    fn textbook_interval() {
        // n = 5, mean 10, sd = sqrt(2.5): half-width = 2.776 * sqrt(2.5/5) = 1.963.
        let (m, h) = mean_ci95(&[8.0, 9.0, 10.0, 11.0, 12.0]).unwrap();
        assert_eq!(m, 10.0);
        assert!((h.unwrap() - 1.96293).abs() < 1e-4);
        assert_eq!(mean_ci95(&[3.0]), Some((3.0, None)));
        assert_eq!(mean_ci95(&[]), None);
    }

    #[test]
    fn t_975_agrees_with_exact_quantile() {
        for df in 1..=30 {
            let exact = t_quantile(0.975, df as f64);
            assert!((t_975(df) - exact).abs() <= 0.0005, "df {df}: {exact}");
        }
        for df in [31, 35, 40, 50, 60, 80, 100, 120, 200, 1000, 100_000] {
            let exact = t_quantile(0.975, df as f64);
            assert!((t_975(df) - exact).abs() <= 0.002, "df {df}: {exact}");
        }
    }

    #[test]
    fn mean_ci95_agrees_with_mean_ci() {
        let v = [8.0, 9.0, 10.0, 11.0, 12.0, 7.5, 13.25];
        let (m, h) = mean_ci95(&v).unwrap();
        let ci = mean_ci(&v, 0.95).unwrap();
        assert_eq!(m, ci.mean);
        let exact = ci.half_width().unwrap();
        assert!((h.unwrap() / exact - 1.0).abs() < 3e-4);
    }

    #[test]
    fn interval_helpers() {
        let i = Interval {
            estimate: 1.0,
            lo: 0.5,
            hi: 2.0,
            level: 0.95,
        };
        assert_eq!(i.width(), 1.5);
        assert_eq!(i.half_width(), 0.75);
        assert!(i.contains(1.0) && i.contains(0.5) && !i.contains(2.5));
        assert!(i.excludes_zero());
        assert!(!Interval {
            estimate: 0.0,
            lo: -1.0,
            hi: 1.0,
            level: 0.9
        }
        .excludes_zero());
        let json = serde_json::to_string(&i).unwrap();
        assert_eq!(json, r#"{"estimate":1.0,"lo":0.5,"hi":2.0,"level":0.95}"#);
    }
}
