//! Property tests of the statistics module (a few dozen cases each).

use super::*;
use proptest::prelude::*;

fn level() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.90), Just(0.95), Just(0.99), 0.5f64..0.999]
}

fn scores(max_len: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-100.0f64..100.0, 1..max_len)
}

/// (successes, n) with successes ≤ n.
fn counts() -> impl Strategy<Value = (usize, usize)> {
    (1usize..400).prop_flat_map(|n| (0..=n, Just(n)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn mean_interval_contains_its_estimate(v in scores(40), level in level()) {
        let m = mean_ci(&v, level).unwrap();
        prop_assert_eq!(m.n, v.len());
        if let Some(ci) = m.ci {
            prop_assert!(ci.contains(m.mean));
            prop_assert_eq!(ci.estimate, m.mean);
            prop_assert!((ci.hi - m.mean - (m.mean - ci.lo)).abs() <= 1e-9 * (1.0 + ci.width()));
        }
    }

    #[test]
    fn mean_interval_narrows_as_n_grows(v in scores(20), level in level()) {
        // The same spread, twice as many values.
        let doubled: Vec<f64> = v.iter().chain(v.iter()).copied().collect();
        let small = mean_ci(&v, level).unwrap();
        let big = mean_ci(&doubled, level).unwrap();
        if let Some(ci) = small.ci {
            prop_assert!(big.ci.unwrap().width() <= ci.width() * (1.0 + 1e-12));
        }
        // Higher confidence, wider interval.
        if let (Some(a), Some(b)) = (mean_ci(&v, 0.9).unwrap().ci, mean_ci(&v, 0.99).unwrap().ci) {
            prop_assert!(a.width() <= b.width());
        }
    }

    #[test]
    fn wilson_is_within_unit_range_and_contains_estimate((c, n) in counts(), level in level()) {
        let w = wilson(c, n, level).unwrap();
        prop_assert!(0.0 <= w.lo && w.lo <= w.estimate && w.estimate <= w.hi && w.hi <= 1.0,
            "{:?}", w);
        prop_assert!(w.width() > 0.0);
    }

    #[test]
    fn wilson_narrows_as_n_grows((c, n) in counts(), level in level(), m in 2usize..10) {
        let small = wilson(c, n, level).unwrap();
        let big = wilson(c * m, n * m, level).unwrap();
        prop_assert_eq!(small.estimate, big.estimate);
        prop_assert!(big.width() < small.width());
    }

    #[test]
    fn pass_at_k_rises_and_pass_hat_k_falls_with_k((c, n) in (1usize..60).prop_flat_map(|n| (0..=n, Just(n)))) {
        let mut prev_at = 0.0;
        let mut prev_hat = 1.0;
        for k in 1..=n {
            let at = pass_at_k(n, c, k).unwrap();
            let hat = pass_hat_k(n, c, k).unwrap();
            prop_assert!((0.0..=1.0).contains(&at) && (0.0..=1.0).contains(&hat));
            prop_assert!(at >= prev_at, "pass@{} = {} < {}", k, at, prev_at);
            prop_assert!(hat <= prev_hat, "pass^{} = {} > {}", k, hat, prev_hat);
            // pass^k ≤ pass@1 ≤ pass@k.
            prop_assert!(hat <= at + 1e-12);
            prev_at = at;
            prev_hat = hat;
        }
        let rate = c as f64 / n as f64;
        prop_assert!((pass_at_k(n, c, 1).unwrap() - rate).abs() < 1e-12);
        prop_assert!((pass_hat_k(n, c, 1).unwrap() - rate).abs() < 1e-12);
    }

    #[test]
    fn clustered_se_with_singletons_is_the_ordinary_se(v in prop::collection::vec(-100.0f64..100.0, 2..30)) {
        let clusters: Vec<Vec<f64>> = v.iter().map(|x| vec![*x]).collect();
        let c = clustered_mean_se(&clusters).unwrap();
        let m = mean_ci(&v, 0.95).unwrap();
        prop_assert!((c.se.unwrap() - m.se.unwrap()).abs() <= 1e-9 * (1.0 + m.se.unwrap()));
    }

    #[test]
    fn flake_score_is_bounded_and_symmetric(outcomes in prop::collection::vec(any::<bool>(), 2..50)) {
        let f = flake_score(&outcomes).unwrap();
        prop_assert!((0.0..=1.0).contains(&f));
        let flipped: Vec<bool> = outcomes.iter().map(|o| !o).collect();
        prop_assert_eq!(flake_score(&flipped), Some(f));
    }

    #[test]
    fn t_quantile_inverts_t_cdf(p in 0.001f64..0.999, df in 1.0f64..200.0) {
        let q = t_quantile(p, df);
        prop_assert!((t_cdf(q, df) - p).abs() < 1e-10);
        prop_assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-13);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn paired_difference_of_identical_inputs_is_zero_with_p_one(
        pairs in prop::collection::vec((0u8..12, -10.0f64..10.0), 0..40),
    ) {
        let data: Vec<(u8, f64)> = pairs;
        let opts = PairedOptions { bootstrap_resamples: 500, ..PairedOptions::default() };
        let r = paired_difference(&data, &data, &opts);
        if r.n_cells == 0 {
            prop_assert_eq!(r.verdict, Verdict::InsufficientData);
        } else {
            prop_assert_eq!(r.mean_diff, Some(0.0));
            prop_assert_eq!(r.p_value, Some(1.0));
            prop_assert_eq!(r.sign.ties, r.n_cells);
            let expected = if r.n_cells >= 2 {
                Verdict::NoDetectableDifference
            } else {
                Verdict::InsufficientData
            };
            prop_assert_eq!(r.verdict, expected);
        }
    }

    #[test]
    fn paired_difference_is_antisymmetric(
        a in prop::collection::vec(-10.0f64..10.0, 2..14),
        shift in prop::collection::vec(-3.0f64..3.0, 14),
    ) {
        let av: Vec<(usize, f64)> = a.iter().copied().enumerate().collect();
        let bv: Vec<(usize, f64)> = a.iter().zip(&shift).map(|(x, s)| x + s).enumerate().collect();
        let opts = PairedOptions { bootstrap_resamples: 500, ..PairedOptions::default() };
        let ab = paired_difference(&av, &bv, &opts);
        let ba = paired_difference(&bv, &av, &opts);
        prop_assert!((ab.mean_diff.unwrap() + ba.mean_diff.unwrap()).abs() < 1e-9);
        prop_assert_eq!(ab.p_value, ba.p_value);
        prop_assert_eq!(ab.sign.improved, ba.sign.regressed);
        let flipped = match ab.verdict {
            Verdict::Improvement => Verdict::Regression,
            Verdict::Regression => Verdict::Improvement,
            v => v,
        };
        // The bootstrap draws the same cells for both, so the verdicts mirror each other.
        prop_assert_eq!(ba.verdict, flipped);
        let p = ab.p_value.unwrap();
        prop_assert!(p > 0.0 && p <= 1.0);
    }
}
