//! Paired comparison of two agents or batches over the (scenario, tier) cells they share.
//!
//! Pairing is what makes a comparison sensitive: scenarios differ far more from one another
//! than agents do, so comparing B's score on scenario X with A's score on the *same* scenario X
//! removes the scenario-to-scenario spread from the noise. Everything here works on the per-cell
//! differences d = mean(B on cell) − mean(A on cell).

use super::dist::{ln_gamma, normal_quantile, valid_level};
use super::rng::SplitMix64;
use super::Interval;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The conventional cell key: (scenario, tier). [`paired_difference`] accepts any ordered key.
pub type CellKey = (String, String);

/// Settings of [`paired_difference`]. `PairedOptions::default()` is what the CLI and API use
/// unless told otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct PairedOptions {
    /// Confidence level of the bootstrap interval; α = 1 − level is also the significance
    /// level of the minimum detectable effect. Default 0.95.
    pub level: f64,
    /// Bootstrap resamples of the cells. Default 10,000 (percentile bounds then move by well
    /// under 1% of the interval's width from one seed to another).
    pub bootstrap_resamples: usize,
    /// Random sign flips for the Monte Carlo permutation test when there are more than
    /// `exact_max_cells` cells. Default 10,000 (p-values near 0.05 are then within ±0.005).
    pub permutation_resamples: usize,
    /// Up to this many cells the permutation test enumerates all 2ⁿ sign flips (exact p-value).
    /// Default 16; capped at 20 whatever is set (2²⁰ flips take a few milliseconds).
    pub exact_max_cells: usize,
    /// Seed of the generator used by the bootstrap and the Monte Carlo test. Same seed, same
    /// inputs → same output. Default 0x7A65_6265_6E63_6821 ("zebench!").
    pub seed: u64,
    /// Smallest difference worth calling, in score units (≥ 0). A verdict of improvement needs
    /// mean_diff > threshold, of regression mean_diff < −threshold, on top of the interval
    /// excluding zero. Default 0.
    pub threshold: f64,
    /// Statistical power for the minimum detectable effect. Default 0.8.
    pub power: f64,
    /// Fewer shared cells than this → [`Verdict::InsufficientData`]. Default 2 (never below 2).
    pub min_cells: usize,
}

impl Default for PairedOptions {
    fn default() -> Self {
        PairedOptions {
            level: 0.95,
            bootstrap_resamples: 10_000,
            permutation_resamples: 10_000,
            exact_max_cells: 16,
            seed: 0x7A65_6265_6E63_6821,
            threshold: 0.0,
            power: 0.8,
            min_cells: 2,
        }
    }
}

/// The plain-words outcome of a paired comparison of B against A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The interval contains zero (or the difference is within the threshold): the data cannot
    /// tell B from A. Not proof that they are equal; see the minimum detectable effect.
    NoDetectableDifference,
    /// B scores higher than A: the whole interval is above zero and the mean difference is
    /// above the threshold.
    Improvement,
    /// B scores lower than A: the whole interval is below zero and the mean difference is below
    /// −threshold.
    Regression,
    /// Too few shared cells to compare (fewer than `min_cells`, at least 2).
    InsufficientData,
}

impl Verdict {
    /// Plain words for a table or a CLI line: "no detectable difference", "improvement",
    /// "regression", "insufficient data".
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::NoDetectableDifference => "no detectable difference",
            Verdict::Improvement => "improvement",
            Verdict::Regression => "regression",
            Verdict::InsufficientData => "insufficient data",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the permutation p-value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PValueMethod {
    /// All 2ⁿ sign flips enumerated.
    Exact,
    /// `permutation_resamples` random sign flips; p = (hits + 1) / (resamples + 1).
    MonteCarlo,
}

/// Sign-test counts over the shared cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SignCounts {
    /// Cells where B's mean is higher than A's.
    pub improved: usize,
    /// Cells where B's mean is lower than A's.
    pub regressed: usize,
    /// Cells where they are equal (up to rounding: |d| ≤ 1e-9 · max(1, |a|, |b|)).
    pub ties: usize,
}

/// One shared cell: A's and B's means over their repeats, and the difference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CellDiff<K> {
    pub key: K,
    /// Mean of A's finite values on this cell.
    pub a: f64,
    /// Mean of B's finite values on this cell.
    pub b: f64,
    /// Number of A's values (repeats) on this cell.
    pub n_a: usize,
    /// Number of B's values (repeats) on this cell.
    pub n_b: usize,
    /// b − a.
    pub diff: f64,
}

/// The result of [`paired_difference`]: B compared with A over the cells both have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairedComparison<K> {
    /// Cells present (with a finite value) in both A and B: the n of every figure below.
    pub n_cells: usize,
    /// Cells only A has (left out of the comparison).
    pub only_a: usize,
    /// Cells only B has (left out of the comparison).
    pub only_b: usize,
    /// The shared cells in key order, for a per-scenario table.
    pub cells: Vec<CellDiff<K>>,
    /// Mean of A's cell means over the shared cells. `None` if no cell is shared.
    pub mean_a: Option<f64>,
    /// Mean of B's cell means over the shared cells. `None` if no cell is shared.
    pub mean_b: Option<f64>,
    /// Mean of the per-cell differences, B − A (= mean_b − mean_a): positive means B scores
    /// higher. `None` if no cell is shared.
    pub mean_diff: Option<f64>,
    /// Sample standard deviation of the per-cell differences. `None` with fewer than 2 cells.
    pub sd_diff: Option<f64>,
    /// Percentile bootstrap interval of mean_diff (resampling cells). `None` with fewer than 2
    /// cells.
    pub ci: Option<Interval>,
    /// Two-sided p-value of the sign-flip permutation test: the chance, if A and B were
    /// interchangeable, of a mean difference at least this far from zero. `None` if no cell
    /// is shared.
    pub p_value: Option<f64>,
    /// Exact or Monte Carlo. `None` if no cell is shared.
    pub p_method: Option<PValueMethod>,
    /// How many cells improved, regressed or tied.
    pub sign: SignCounts,
    /// Two-sided exact binomial p-value of the sign test (ties dropped): a check that ignores
    /// the size of the differences. `None` if every cell ties or none is shared.
    pub sign_test_p: Option<f64>,
    /// Minimum detectable effect: the smallest true mean difference this many cells would
    /// detect with probability `power` at α = 1 − level, (z_{1−α/2} + z_{power}) · sd_diff/√n.
    /// `None` with fewer than 2 cells.
    pub mde: Option<f64>,
    /// The plain-words conclusion.
    pub verdict: Verdict,
    /// The confidence level used.
    pub level: f64,
    /// The threshold used.
    pub threshold: f64,
}

/// Compare B with A over the cells (e.g. (scenario, tier)) both ran: is B better, worse, or
/// indistinguishable?
///
/// Each input is a list of (cell, score) pairs; a cell may appear several times (repeats),
/// and its repeats are averaged first, so each cell counts once whatever its repeat count.
/// Cells only one side has are left out (counted in `only_a`/`only_b`); non-finite scores are
/// skipped. On the n shared cells with differences dᵢ = bᵢ − aᵢ it reports:
///
/// * `mean_diff` = mean of dᵢ (B − A; positive = B higher).
/// * `ci`: percentile bootstrap interval: n cells are drawn with replacement
///   `bootstrap_resamples` times, and the interval runs between the (1 − level)/2 and
///   (1 + level)/2 quantiles of the resampled means (linear interpolation between order
///   statistics). Makes no normality assumption, but is somewhat too narrow with very few
///   cells (below ~8): with 2 cells that agree in sign it excludes zero.
/// * `p_value`: sign-flip permutation test. If A and B were interchangeable, each dᵢ would be
///   as likely to be −dᵢ; p is the share of the 2ⁿ sign assignments whose |Σ ± dᵢ| is at least
///   the observed |Σ dᵢ|. Exact up to `exact_max_cells` cells, Monte Carlo beyond (with the
///   fixed seed). Two-sided. Its smallest possible value is 2/2ⁿ (0.0625 with 5 cells), so
///   with few cells it cannot be small however large the difference.
/// * `sign`, `sign_test_p`: how many cells went each way, and the exact binomial test of those
///   counts (ties dropped).
/// * `mde`: the minimum detectable effect at 80% power (`power`) and α = 1 − level:
///   (z_{1−α/2} + z_{power}) · sd/√n = 2.80 · sd/√n at the defaults, with sd the standard
///   deviation of the dᵢ. A normal approximation: with few cells the true MDE is larger (with
///   t quantiles instead of z, 16% larger at 8 cells). When the verdict is "no detectable
///   difference", differences smaller than the MDE could still be there.
/// * `verdict`: [`Verdict::InsufficientData`] with fewer than `min_cells` (≥ 2) shared cells;
///   [`Verdict::Improvement`] if the interval's lower bound is above 0 and mean_diff is above
///   `threshold`; [`Verdict::Regression`] if the upper bound is below 0 and mean_diff is below
///   −threshold; otherwise [`Verdict::NoDetectableDifference`]. The verdict follows the
///   interval; the p-value is reported alongside and normally agrees (p < α when the interval
///   excludes 0), except with very few cells, where the interval is the more liberal of the two.
///
/// Scores are taken as higher-is-better; for a lower-is-better metric (cost, time) negate the
/// values or read Improvement as "B higher". Deterministic: the same inputs and options give
/// the same result, whatever the order of the input pairs. An invalid `level` or `power`
/// (not in (0, 1)) is treated as the default.
pub fn paired_difference<K: Ord + Clone>(
    a: &[(K, f64)],
    b: &[(K, f64)],
    opts: &PairedOptions,
) -> PairedComparison<K> {
    let level = if valid_level(opts.level) {
        opts.level
    } else {
        PairedOptions::default().level
    };
    let power = if valid_level(opts.power) {
        opts.power
    } else {
        PairedOptions::default().power
    };
    let threshold = if opts.threshold.is_finite() {
        opts.threshold.abs()
    } else {
        0.0
    };

    let cell_means = |pairs: &[(K, f64)]| {
        let mut m: BTreeMap<K, (f64, usize)> = BTreeMap::new();
        for (k, v) in pairs.iter().filter(|(_, v)| v.is_finite()) {
            let e = m.entry(k.clone()).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
        m
    };
    let ma = cell_means(a);
    let mb = cell_means(b);
    let cells: Vec<CellDiff<K>> = ma
        .iter()
        .filter_map(|(k, &(sa, na))| {
            mb.get(k).map(|&(sb, nb)| {
                let (ma, mb) = (sa / na as f64, sb / nb as f64);
                CellDiff {
                    key: k.clone(),
                    a: ma,
                    b: mb,
                    n_a: na,
                    n_b: nb,
                    diff: mb - ma,
                }
            })
        })
        .collect();
    let n = cells.len();
    let only_a = ma.len() - n;
    let only_b = mb.len() - n;

    let mut sign = SignCounts::default();
    for c in &cells {
        let scale = 1f64.max(c.a.abs()).max(c.b.abs());
        if c.diff.abs() <= 1e-9 * scale {
            sign.ties += 1;
        } else if c.diff > 0.0 {
            sign.improved += 1;
        } else {
            sign.regressed += 1;
        }
    }

    let mut out = PairedComparison {
        n_cells: n,
        only_a,
        only_b,
        cells: Vec::new(),
        mean_a: None,
        mean_b: None,
        mean_diff: None,
        sd_diff: None,
        ci: None,
        p_value: None,
        p_method: None,
        sign,
        sign_test_p: sign_test(sign.improved, sign.regressed),
        mde: None,
        verdict: Verdict::InsufficientData,
        level,
        threshold,
    };
    if n == 0 {
        return out;
    }
    let diffs: Vec<f64> = cells.iter().map(|c| c.diff).collect();
    let nf = n as f64;
    let mean_diff = diffs.iter().sum::<f64>() / nf;
    out.mean_a = Some(cells.iter().map(|c| c.a).sum::<f64>() / nf);
    out.mean_b = Some(cells.iter().map(|c| c.b).sum::<f64>() / nf);
    out.mean_diff = Some(mean_diff);

    let exact = n <= opts.exact_max_cells.min(20);
    let mut rng = SplitMix64::new(opts.seed);
    out.p_value = Some(if exact {
        sign_flip_exact(&diffs)
    } else {
        sign_flip_monte_carlo(&diffs, opts.permutation_resamples.max(1), &mut rng)
    });
    out.p_method = Some(if exact {
        PValueMethod::Exact
    } else {
        PValueMethod::MonteCarlo
    });

    if n >= 2 {
        let var = diffs.iter().map(|d| (d - mean_diff).powi(2)).sum::<f64>() / (nf - 1.0);
        let sd = var.sqrt();
        out.sd_diff = Some(sd);
        let alpha = 1.0 - level;
        let z = normal_quantile(1.0 - alpha / 2.0) + normal_quantile(power);
        out.mde = Some(z * sd / nf.sqrt());
        // A separate stream for the bootstrap, so that the permutation setting does not move
        // the interval.
        let mut boot_rng = SplitMix64::new(opts.seed ^ 0xB007_57A9_B007_57A9);
        out.ci = Some(bootstrap_ci(
            &diffs,
            mean_diff,
            level,
            opts.bootstrap_resamples.max(1),
            &mut boot_rng,
        ));
    }

    out.verdict = match out.ci {
        Some(_) if n < opts.min_cells.max(2) => Verdict::InsufficientData,
        None => Verdict::InsufficientData,
        Some(ci) if ci.lo > 0.0 && mean_diff > threshold => Verdict::Improvement,
        Some(ci) if ci.hi < 0.0 && mean_diff < -threshold => Verdict::Regression,
        Some(_) => Verdict::NoDetectableDifference,
    };
    out.cells = cells;
    out
}

/// The tolerance below which a permuted |sum| counts as equal to the observed one.
fn tie_tolerance(diffs: &[f64]) -> f64 {
    1e-10 * diffs.iter().map(|d| d.abs()).sum::<f64>()
}

/// Exact two-sided sign-flip p-value: the share of the 2ⁿ sign assignments with
/// |Σ ± dᵢ| ≥ |Σ dᵢ|.
fn sign_flip_exact(diffs: &[f64]) -> f64 {
    let n = diffs.len();
    let observed = diffs.iter().sum::<f64>().abs() - tie_tolerance(diffs);
    let total = 1u64 << n;
    let hits = (0..total)
        .filter(|mask| {
            let s: f64 = diffs
                .iter()
                .enumerate()
                .map(|(i, d)| if mask >> i & 1 == 1 { -d } else { *d })
                .sum();
            s.abs() >= observed
        })
        .count();
    hits as f64 / total as f64
}

/// Monte Carlo sign-flip p-value, (hits + 1) / (resamples + 1) so it is never 0.
fn sign_flip_monte_carlo(diffs: &[f64], resamples: usize, rng: &mut SplitMix64) -> f64 {
    let observed = diffs.iter().sum::<f64>().abs() - tie_tolerance(diffs);
    let mut hits = 0usize;
    for _ in 0..resamples {
        let mut bits = 0u64;
        let mut s = 0.0;
        for (i, d) in diffs.iter().enumerate() {
            if i % 64 == 0 {
                bits = rng.next_u64();
            }
            s += if bits & 1 == 1 { -d } else { *d };
            bits >>= 1;
        }
        if s.abs() >= observed {
            hits += 1;
        }
    }
    (hits + 1) as f64 / (resamples + 1) as f64
}

/// Percentile bootstrap interval of the mean of `diffs`.
fn bootstrap_ci(
    diffs: &[f64],
    estimate: f64,
    level: f64,
    resamples: usize,
    rng: &mut SplitMix64,
) -> Interval {
    let n = diffs.len();
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| {
            let s: f64 = (0..n).map(|_| diffs[rng.below(n as u64) as usize]).sum();
            s / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let alpha = 1.0 - level;
    Interval {
        estimate,
        lo: quantile_sorted(&means, alpha / 2.0),
        hi: quantile_sorted(&means, 1.0 - alpha / 2.0),
        level,
    }
}

/// The q-quantile of sorted values, interpolating linearly between order statistics
/// (Hyndman and Fan type 7, the default of R and NumPy).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let i = h.floor() as usize;
    let frac = h - i as f64;
    match sorted.get(i + 1) {
        Some(next) if frac > 0.0 => sorted[i] + frac * (next - sorted[i]),
        _ => sorted[i],
    }
}

/// Two-sided exact binomial (p = 1/2) test of `up` against `down`. `None` if both are 0.
fn sign_test(up: usize, down: usize) -> Option<f64> {
    let m = up + down;
    if m == 0 {
        return None;
    }
    let k = up.min(down);
    let ln_half_m = m as f64 * 0.5f64.ln();
    let ln_fact = |x: usize| ln_gamma(x as f64 + 1.0);
    let tail: f64 = (0..=k)
        .map(|i| (ln_fact(m) - ln_fact(i) - ln_fact(m - i) + ln_half_m).exp())
        .sum();
    Some((2.0 * tail).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(values: &[f64]) -> Vec<(CellKey, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| ((format!("scenario-{i}"), "t1".to_string()), *v))
            .collect()
    }

    /// Eight cells with uneven scores (the per-scenario spread pairing removes).
    const A8: [f64; 8] = [3.0, 7.5, 5.2, 9.1, 1.4, 6.6, 4.0, 8.3];
    /// Noise added to the shift, mean 0.
    const NOISE8: [f64; 8] = [0.3, -0.4, 0.1, -0.2, 0.5, -0.3, 0.2, -0.2];

    #[test]
    fn identical_batches_show_no_difference() {
        let a = cells(&A8);
        let r = paired_difference(&a, &a, &PairedOptions::default());
        assert_eq!(r.n_cells, 8);
        assert_eq!(r.mean_diff, Some(0.0));
        assert_eq!(r.p_value, Some(1.0));
        assert_eq!(r.p_method, Some(PValueMethod::Exact));
        assert_eq!(r.verdict, Verdict::NoDetectableDifference);
        assert_eq!(
            r.sign,
            SignCounts {
                improved: 0,
                regressed: 0,
                ties: 8
            }
        );
        assert_eq!(r.sign_test_p, None);
        let ci = r.ci.unwrap();
        assert_eq!((ci.lo, ci.hi), (0.0, 0.0));
        assert_eq!(r.mde, Some(0.0));
    }

    #[test]
    fn clear_shift_is_an_improvement_and_reverse_a_regression() {
        let a = cells(&A8);
        let shifted: Vec<f64> = A8.iter().zip(NOISE8).map(|(x, e)| x + 2.0 + e).collect();
        let b = cells(&shifted);
        let up = paired_difference(&a, &b, &PairedOptions::default());
        assert_eq!(up.verdict, Verdict::Improvement);
        assert!((up.mean_diff.unwrap() - 2.0).abs() < 1e-12);
        // All 8 differences positive: only the two all-same-sign flips reach |Σ|: p = 2/256.
        assert_eq!(up.p_value, Some(2.0 / 256.0));
        assert!(up.p_value.unwrap() < 0.05);
        let ci = up.ci.unwrap();
        assert!(ci.lo > 1.5 && ci.hi < 2.5 && ci.contains(2.0), "{ci:?}");
        assert_eq!(up.sign.improved, 8);
        assert!((up.sign_test_p.unwrap() - 2.0 / 256.0).abs() < 1e-15);
        // MDE = 2.8016 · sd/√8 with sd of NOISE8.
        let sd = up.sd_diff.unwrap();
        assert!((up.mde.unwrap() - 2.801_585 * sd / 8f64.sqrt()).abs() < 1e-5);

        let down = paired_difference(&b, &a, &PairedOptions::default());
        assert_eq!(down.verdict, Verdict::Regression);
        assert!((down.mean_diff.unwrap() + 2.0).abs() < 1e-12);
        assert_eq!(down.p_value, up.p_value);
        assert_eq!(down.sign.regressed, 8);
        let dci = down.ci.unwrap();
        assert!(dci.hi < 0.0);

        // A threshold larger than the shift turns both into "no detectable difference".
        let opts = PairedOptions {
            threshold: 2.5,
            ..PairedOptions::default()
        };
        assert_eq!(
            paired_difference(&a, &b, &opts).verdict,
            Verdict::NoDetectableDifference
        );
        assert_eq!(
            paired_difference(&b, &a, &opts).verdict,
            Verdict::NoDetectableDifference
        );
    }

    #[test]
    fn fewer_than_two_shared_cells_is_insufficient() {
        let a = cells(&[1.0, 2.0, 3.0]);
        let b = vec![(("scenario-0".to_string(), "t1".to_string()), 5.0)];
        let r = paired_difference(&a, &b, &PairedOptions::default());
        assert_eq!(r.verdict, Verdict::InsufficientData);
        assert_eq!((r.n_cells, r.only_a, r.only_b), (1, 2, 0));
        assert_eq!(r.mean_diff, Some(4.0));
        assert_eq!(r.ci, None);
        assert_eq!(r.mde, None);
        let none = paired_difference(&a, &[], &PairedOptions::default());
        assert_eq!(none.verdict, Verdict::InsufficientData);
        assert_eq!(
            (none.n_cells, none.mean_diff, none.p_value),
            (0, None, None)
        );
        // A raised minimum.
        let opts = PairedOptions {
            min_cells: 10,
            ..PairedOptions::default()
        };
        let r = paired_difference(&cells(&A8), &cells(&A8), &opts);
        assert_eq!(r.verdict, Verdict::InsufficientData);
    }

    #[test]
    fn permutation_p_value_by_hand() {
        // d = (1, 2, 3): the 8 sign flips give sums ±6, ±4, ±2, 0, 0; |Σ| ≥ 6 twice: p = 2/8.
        let a = cells(&[0.0, 0.0, 0.0]);
        let b = cells(&[1.0, 2.0, 3.0]);
        let r = paired_difference(&a, &b, &PairedOptions::default());
        assert_eq!(r.p_value, Some(0.25));
        // d = (1, −2, 3, 4): Σ = 6. Over the 16 sign flips |Σ ± dᵢ| takes the values
        // 10, 8, 6, 4, 2, 4, 2, 0, 0, 2, 4, 2, 4, 6, 8, 10; six are ≥ 6: p = 6/16.
        let b = cells(&[1.0, -2.0, 3.0, 4.0]);
        let r = paired_difference(&cells(&[0.0; 4]), &b, &PairedOptions::default());
        assert_eq!(r.p_value, Some(0.375));
        assert_eq!(r.sign.improved, 3);
        assert_eq!(r.sign.regressed, 1);
        // Sign test: 1 of 4 regressed: 2 · (1 + 4)/16 = 0.625.
        assert!((r.sign_test_p.unwrap() - 0.625).abs() < 1e-12);
    }

    #[test]
    fn repeats_are_averaged_per_cell_and_order_does_not_matter() {
        let k = |s: &str| (s.to_string(), "t".to_string());
        let a = vec![(k("x"), 1.0), (k("x"), 3.0), (k("y"), 5.0), (k("z"), 9.0)];
        let b = vec![
            (k("y"), 6.0),
            (k("x"), 4.0),
            (k("y"), f64::NAN),
            (k("w"), 0.0),
        ];
        let r = paired_difference(&a, &b, &PairedOptions::default());
        assert_eq!((r.n_cells, r.only_a, r.only_b), (2, 1, 1));
        assert_eq!(r.cells[0].key, k("x"));
        assert_eq!(
            (r.cells[0].a, r.cells[0].n_a, r.cells[0].diff),
            (2.0, 2, 2.0)
        );
        assert_eq!(
            (r.cells[1].b, r.cells[1].n_b, r.cells[1].diff),
            (6.0, 1, 1.0)
        );
        assert_eq!(r.mean_diff, Some(1.5));
        assert_eq!((r.mean_a, r.mean_b), (Some(3.5), Some(5.0)));
        let mut b_rev = b.clone();
        b_rev.reverse();
        assert_eq!(paired_difference(&a, &b_rev, &PairedOptions::default()), r);
    }

    #[test]
    fn monte_carlo_p_value_is_deterministic_and_close_to_exact() {
        let a = vec![0.0; 20];
        let b: Vec<f64> = (0..20)
            .map(|i| ((i * 7) % 11) as f64 / 10.0 - 0.35)
            .collect();
        let (a, b) = (cells(&a), cells(&b));
        let mc = PairedOptions {
            exact_max_cells: 10,
            ..PairedOptions::default()
        };
        let exact = PairedOptions {
            exact_max_cells: 20,
            ..PairedOptions::default()
        };
        let r1 = paired_difference(&a, &b, &mc);
        let r2 = paired_difference(&a, &b, &mc);
        assert_eq!(r1, r2);
        assert_eq!(r1.p_method, Some(PValueMethod::MonteCarlo));
        let re = paired_difference(&a, &b, &exact);
        assert_eq!(re.p_method, Some(PValueMethod::Exact));
        let (pm, pe) = (r1.p_value.unwrap(), re.p_value.unwrap());
        assert!((pm - pe).abs() < 0.02, "monte carlo {pm} exact {pe}");
        // The interval does not depend on how the p-value was computed.
        assert_eq!(r1.ci, re.ci);
        // Another seed moves the Monte Carlo figures only slightly.
        let other = PairedOptions { seed: 42, ..mc };
        let r3 = paired_difference(&a, &b, &other);
        assert!((r3.p_value.unwrap() - pm).abs() < 0.02);
        assert!((r3.ci.unwrap().lo - r1.ci.unwrap().lo).abs() < 0.02);
    }

    #[test]
    fn quantiles_and_sign_test_helpers() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 5.0);
        assert_eq!(quantile_sorted(&v, 0.5), 3.0);
        assert!((quantile_sorted(&v, 0.1) - 1.4).abs() < 1e-12);
        assert_eq!(sign_test(0, 0), None);
        assert_eq!(sign_test(3, 3), Some(1.0));
        assert!((sign_test(10, 0).unwrap() - 2.0 / 1024.0).abs() < 1e-15);
        // Large counts do not underflow.
        assert!(sign_test(1500, 1500).unwrap() > 0.9);
    }

    #[test]
    fn verdict_words_and_serialisation() {
        assert_eq!(
            Verdict::NoDetectableDifference.to_string(),
            "no detectable difference"
        );
        assert_eq!(Verdict::Regression.as_str(), "regression");
        assert_eq!(
            serde_json::to_string(&Verdict::InsufficientData).unwrap(),
            r#""insufficient_data""#
        );
        let r = paired_difference(&cells(&A8), &cells(&A8), &PairedOptions::default());
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["verdict"], "no_detectable_difference");
        assert_eq!(json["nCells"], 8);
        assert_eq!(json["cells"][0]["key"][0], "scenario-0");
        let opts: PairedOptions = serde_json::from_str(r#"{"threshold": 0.5}"#).unwrap();
        assert_eq!(opts.threshold, 0.5);
        assert_eq!(opts.level, 0.95);
    }
}
