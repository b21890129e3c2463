//! Means with their uncertainty: the Student-t interval, and the cluster-robust standard error
//! for runs that repeat within scenarios.

use super::dist::{t_quantile, valid_level};
use super::Interval;
use serde::{Deserialize, Serialize};

/// The mean of a sample with its spread and confidence interval (see [`mean_ci`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MeanCi {
    /// How many values the mean rests on (finite values only). Show it next to the mean.
    pub n: usize,
    /// The arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (divisor n − 1): how much single values vary. `None` if n < 2.
    pub sd: Option<f64>,
    /// Standard error of the mean, sd / √n: how much the mean itself would vary between
    /// samples of this size. `None` if n < 2.
    pub se: Option<f64>,
    /// The Student-t confidence interval for the mean, mean ± t(1 − α/2, n − 1) · se.
    /// `None` if n < 2.
    pub ci: Option<Interval>,
}

impl MeanCi {
    /// The `±` figure: half the width of the interval.
    pub fn half_width(&self) -> Option<f64> {
        self.ci.map(|i| i.half_width())
    }
}

/// Mean of `values` with its Student-t confidence interval at `level` (e.g. 0.95).
///
/// Use it for any score averaged over runs that are independent of one another (one run per
/// scenario, or runs of a single scenario). The interval is mean ± t · sd/√n with t the
/// 1 − (1 − level)/2 quantile of Student's t with n − 1 degrees of freedom: with 5 runs at 95%,
/// t = 2.776, so the interval is wide; it narrows roughly as 1/√n. It assumes the mean is
/// roughly normally distributed (fine for bounded scores and n ≳ 5, rough below).
///
/// When several runs repeat the same scenario, runs of one scenario are not independent; use
/// [`clustered_mean_se`] instead, or this interval will be too narrow.
///
/// Non-finite values are skipped. `None` if no finite value remains or the level is not in
/// (0, 1); with one value the mean is returned without sd, se or interval.
pub fn mean_ci(values: &[f64], level: f64) -> Option<MeanCi> {
    if !valid_level(level) {
        return None;
    }
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = finite.len();
    if n == 0 {
        return None;
    }
    let mean = finite.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Some(MeanCi {
            n,
            mean,
            sd: None,
            se: None,
            ci: None,
        });
    }
    let var = finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    let se = sd / (n as f64).sqrt();
    Some(MeanCi {
        n,
        mean,
        sd: Some(sd),
        se: Some(se),
        ci: interval_from_se(mean, se, (n - 1) as f64, level),
    })
}

/// The Student-t interval from summary statistics: `mean` ± t(1 − α/2, n − 1) · `sd`/√n,
/// where `sd` is the *sample* standard deviation (divisor n − 1) of `n` values.
///
/// For callers that only have stored aggregates (a database's mean and standard deviation).
/// If you hold the population standard deviation σ (divisor n), pass σ·√(n/(n−1)).
/// `None` if n < 2, `sd` is negative or not finite, or the level is not in (0, 1).
pub fn t_interval(mean: f64, sd: f64, n: usize, level: f64) -> Option<Interval> {
    if n < 2 || !sd.is_finite() || sd < 0.0 || !mean.is_finite() {
        return None;
    }
    interval_from_se(mean, sd / (n as f64).sqrt(), (n - 1) as f64, level)
}

fn interval_from_se(estimate: f64, se: f64, df: f64, level: f64) -> Option<Interval> {
    if !valid_level(level) || df < 1.0 {
        return None;
    }
    let half = t_quantile(1.0 - (1.0 - level) / 2.0, df) * se;
    Some(Interval {
        estimate,
        lo: estimate - half,
        hi: estimate + half,
        level,
    })
}

/// A mean over repeated runs with its cluster-robust standard error (see
/// [`clustered_mean_se`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClusteredMean {
    /// Mean over all observations (every run weighs the same).
    pub mean: f64,
    /// Cluster-robust (CR1) standard error of the mean. `None` with fewer than 2 clusters.
    pub se: Option<f64>,
    /// Number of clusters with at least one observation: the effective sample size for the
    /// uncertainty. Show it as n.
    pub n_clusters: usize,
    /// Number of observations (runs) over all clusters.
    pub n_obs: usize,
}

impl ClusteredMean {
    /// Confidence interval mean ± t(1 − α/2, G − 1) · se, with G the number of clusters (the
    /// usual small-sample reference distribution for clustered errors). `None` if se is `None`
    /// or the level is not in (0, 1).
    pub fn ci(&self, level: f64) -> Option<Interval> {
        let se = self.se?;
        interval_from_se(self.mean, se, (self.n_clusters - 1) as f64, level)
    }
}

/// Mean of runs grouped in clusters (cluster = one (scenario, tier) cell, its runs the
/// repeats), with a standard error that accounts for runs of the same cell being alike.
///
/// Use it for the headline score of a batch with repeats. Five repeats of one scenario are
/// not five independent pieces of evidence: an agent that always solves scenario X and never
/// solves Y gives identical repeats, and the naive standard error (sd/√runs) would shrink with
/// every repeat although nothing new was learnt. The clustered standard error shrinks with the
/// number of *clusters*, not runs.
///
/// The estimate is the pooled mean ȳ of all N observations. The standard error is the CR1
/// sandwich estimator for a regression on a constant:
///
/// se² = G/(G − 1) · Σ_g (Σ_i (y_gi − ȳ))² / N²
///
/// With one observation per cluster this equals the ordinary s²/N exactly. With identical
/// values within every cluster it equals (sd of the cluster values)² / G whatever the number
/// of repeats. Needs several clusters to be reliable (≳ 10; with few clusters it is itself
/// noisy, which [`ClusteredMean::ci`] partly offsets by using t with G − 1 degrees of freedom).
///
/// Non-finite values are skipped and clusters left empty are not counted. `None` if there is
/// no finite observation; `se` is `None` with fewer than two clusters.
pub fn clustered_mean_se<C: AsRef<[f64]>>(values_by_cluster: &[C]) -> Option<ClusteredMean> {
    let clusters: Vec<Vec<f64>> = values_by_cluster
        .iter()
        .map(|c| {
            c.as_ref()
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect::<Vec<f64>>()
        })
        .filter(|c| !c.is_empty())
        .collect();
    let g = clusters.len();
    let n_obs: usize = clusters.iter().map(Vec::len).sum();
    if n_obs == 0 {
        return None;
    }
    let mean = clusters.iter().flatten().sum::<f64>() / n_obs as f64;
    let se = (g >= 2).then(|| {
        let meat: f64 = clusters
            .iter()
            .map(|c| c.iter().map(|y| y - mean).sum::<f64>().powi(2))
            .sum();
        let g = g as f64;
        (g / (g - 1.0) * meat).sqrt() / n_obs as f64
    });
    Some(ClusteredMean {
        mean,
        se,
        n_clusters: g,
        n_obs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn mean_ci_textbook_examples() {
        // n = 5, mean 10, s² = 2.5: 95% half-width 2.776445 · √(2.5/5) = 1.963243.
        let ci = mean_ci(&[8.0, 9.0, 10.0, 11.0, 12.0], 0.95).unwrap();
        assert_eq!(ci.n, 5);
        assert_eq!(ci.mean, 10.0);
        assert!(close(ci.sd.unwrap(), 2.5f64.sqrt(), 1e-12));
        assert!(close(ci.half_width().unwrap(), 1.963_243, 1e-6));
        // 90%: t(0.95, 4) = 2.131847; 99%: t(0.995, 4) = 4.604095.
        let h90 = mean_ci(&[8.0, 9.0, 10.0, 11.0, 12.0], 0.90).unwrap();
        assert!(close(
            h90.half_width().unwrap(),
            2.131_847 * 0.5f64.sqrt(),
            1e-6
        ));
        let h99 = mean_ci(&[8.0, 9.0, 10.0, 11.0, 12.0], 0.99).unwrap();
        assert!(close(
            h99.half_width().unwrap(),
            4.604_095 * 0.5f64.sqrt(),
            1e-6
        ));
        // A classic worked example: n = 10, x̄ = 5.2, s = 1.2 → 95% CI 5.2 ± 2.262 · 0.3795 =
        // (4.342, 6.058).
        let i = t_interval(5.2, 1.2, 10, 0.95).unwrap();
        assert!(
            close(i.lo, 4.342, 0.0005) && close(i.hi, 6.058, 0.0005),
            "{i:?}"
        );
    }

    #[test]
    fn mean_ci_edge_cases() {
        assert_eq!(mean_ci(&[], 0.95), None);
        assert_eq!(mean_ci(&[1.0], 1.0), None);
        assert_eq!(mean_ci(&[1.0], 0.0), None);
        let one = mean_ci(&[3.0, f64::NAN], 0.95).unwrap();
        assert_eq!((one.n, one.mean, one.ci), (1, 3.0, None));
        let flat = mean_ci(&[2.0, 2.0, 2.0], 0.95).unwrap();
        assert_eq!(flat.ci.unwrap().width(), 0.0);
        assert_eq!(t_interval(1.0, 1.0, 1, 0.95), None);
        assert_eq!(t_interval(1.0, -1.0, 5, 0.95), None);
    }

    #[test]
    fn clustered_se_one_per_cluster_is_ordinary_se() {
        let v = [3.0, 7.5, 1.25, 9.0, 4.0, 6.0];
        let clusters: Vec<Vec<f64>> = v.iter().map(|x| vec![*x]).collect();
        let c = clustered_mean_se(&clusters).unwrap();
        let m = mean_ci(&v, 0.95).unwrap();
        assert_eq!((c.n_clusters, c.n_obs), (6, 6));
        assert!(close(c.mean, m.mean, 1e-12));
        assert!(close(c.se.unwrap(), m.se.unwrap(), 1e-12));
        let a = c.ci(0.95).unwrap();
        let b = m.ci.unwrap();
        assert!(close(a.lo, b.lo, 1e-12) && close(a.hi, b.hi, 1e-12));
    }

    #[test]
    fn clustered_se_counts_clusters_not_runs() {
        // Three cells, each repeated with identical outcomes: the evidence is 3 values, not 30.
        let three = [vec![1.0; 10], vec![2.0; 10], vec![3.0; 10]];
        let c = clustered_mean_se(&three).unwrap();
        assert_eq!((c.n_clusters, c.n_obs), (3, 30));
        assert!(close(c.mean, 2.0, 1e-12));
        // sd of {1, 2, 3} is 1, so se = 1/√3, whatever the number of repeats.
        assert!(close(c.se.unwrap(), 1.0 / 3f64.sqrt(), 1e-12));
        let fewer = clustered_mean_se(&[vec![1.0; 2], vec![2.0; 2], vec![3.0; 2]]).unwrap();
        assert!(close(fewer.se.unwrap(), c.se.unwrap(), 1e-12));
        // The naive standard error over the 30 runs would be far smaller (0.152 against 0.577).
        let naive = mean_ci(&three.concat(), 0.95).unwrap().se.unwrap();
        assert!(naive < 0.3 * c.se.unwrap(), "{naive}");
    }

    #[test]
    fn clustered_se_edge_cases() {
        let empty: [Vec<f64>; 0] = [];
        assert_eq!(clustered_mean_se(&empty), None);
        assert_eq!(clustered_mean_se(&[Vec::<f64>::new()]), None);
        let one = clustered_mean_se(&[vec![1.0, 3.0], vec![]]).unwrap();
        assert_eq!(
            (one.mean, one.se, one.n_clusters, one.n_obs),
            (2.0, None, 1, 2)
        );
        assert_eq!(one.ci(0.95), None);
        // Slices work as well as vectors; non-finite values are skipped.
        let s: [&[f64]; 2] = [&[1.0, f64::NAN], &[3.0]];
        let c = clustered_mean_se(&s).unwrap();
        assert_eq!((c.mean, c.n_obs), (2.0, 2));
    }
}
