//! pass@k and pass^k from repeated runs of one scenario.

/// pass@k: the probability that at least one of `k` attempts succeeds, estimated without bias
/// from `n` repeats of which `c` succeeded.
///
/// pass@k = 1 − C(n − c, k) / C(n, k)
///
/// That is the chance that k runs drawn without replacement from the n observed include at least
/// one success (Chen et al. 2021, "Evaluating large language models trained on code"). It
/// answers "if the user may retry k times and keep the best, how often do they get a working
/// result?". pass@1 is the plain success rate c/n. Computed as the product
/// 1 − Π_{i = n−c+1..n} (1 − k/i), which never forms a large binomial coefficient and is exact
/// to rounding for any n.
///
/// Rises with k (non-decreasing). Average it over scenarios for a suite-level figure. Needs
/// n ≥ k repeats. `None` if k = 0, k > n or c > n.
pub fn pass_at_k(n: usize, c: usize, k: usize) -> Option<f64> {
    if k == 0 || k > n || c > n {
        return None;
    }
    if n - c < k {
        // Every draw of k runs contains a success.
        return Some(1.0);
    }
    let prod: f64 = (n - c + 1..=n).map(|i| 1.0 - k as f64 / i as f64).product();
    Some(1.0 - prod)
}

/// pass^k ("pass hat k"): the probability that *all* `k` attempts succeed, estimated without
/// bias from `n` repeats of which `c` succeeded.
///
/// pass^k = C(c, k) / C(n, k) = Π_{i = 0..k−1} (c − i) / (n − i)
///
/// The chance that k runs drawn without replacement from the n observed are all successes (the
/// reliability measure of τ-bench, Yao et al. 2024). It answers "if the task is run k times,
/// how often does the agent get it right every time?", and it falls quickly for a flaky agent.
/// pass^1 is the plain success rate c/n.
///
/// Falls with k (non-increasing). Needs n ≥ k repeats. `None` if k = 0, k > n or c > n.
pub fn pass_hat_k(n: usize, c: usize, k: usize) -> Option<f64> {
    if k == 0 || k > n || c > n {
        return None;
    }
    if c < k {
        return Some(0.0);
    }
    Some((0..k).map(|i| (c - i) as f64 / (n - i) as f64).product())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::dist::ln_gamma;

    fn ln_choose(n: usize, k: usize) -> f64 {
        ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn pass_at_k_closed_form() {
        assert!(close(pass_at_k(10, 3, 1).unwrap(), 0.3));
        // 1 − C(7,5)/C(10,5) = 1 − 21/252.
        assert!(close(pass_at_k(10, 3, 5).unwrap(), 1.0 - 21.0 / 252.0));
        // 1 − C(7,2)/C(10,2) = 1 − 21/45.
        assert!(close(pass_at_k(10, 3, 2).unwrap(), 1.0 - 21.0 / 45.0));
        // k > n − c: every draw contains a success.
        assert_eq!(pass_at_k(10, 3, 8), Some(1.0));
        assert_eq!(pass_at_k(10, 0, 5), Some(0.0));
        assert_eq!(pass_at_k(10, 10, 1), Some(1.0));
        assert_eq!(pass_at_k(10, 10, 10), Some(1.0));
        assert_eq!(pass_at_k(1, 1, 1), Some(1.0));
    }

    #[test]
    fn pass_hat_k_closed_form() {
        assert!(close(pass_hat_k(10, 3, 1).unwrap(), 0.3));
        // C(3,2)/C(10,2) = 3/45.
        assert!(close(pass_hat_k(10, 3, 2).unwrap(), 3.0 / 45.0));
        // C(3,3)/C(10,3) = 1/120.
        assert!(close(pass_hat_k(10, 3, 3).unwrap(), 1.0 / 120.0));
        assert_eq!(pass_hat_k(10, 3, 4), Some(0.0));
        assert_eq!(pass_hat_k(10, 0, 1), Some(0.0));
        assert_eq!(pass_hat_k(10, 10, 7), Some(1.0));
    }

    #[test]
    fn pass_k_rejects_impossible_inputs() {
        for f in [pass_at_k, pass_hat_k] {
            assert_eq!(f(10, 3, 11), None, "k > n");
            assert_eq!(f(10, 3, 0), None, "k = 0");
            assert_eq!(f(10, 11, 1), None, "c > n");
            assert_eq!(f(0, 0, 1), None, "no runs");
        }
    }

    #[test]
    fn pass_k_large_n_matches_log_binomials() {
        let (n, c, k) = (200, 37, 50);
        let at = 1.0 - (ln_choose(n - c, k) - ln_choose(n, k)).exp();
        assert!((pass_at_k(n, c, k).unwrap() - at).abs() < 1e-10);
        let (n, c, k) = (200, 190, 20);
        let hat = (ln_choose(c, k) - ln_choose(n, k)).exp();
        assert!((pass_hat_k(n, c, k).unwrap() / hat - 1.0).abs() < 1e-10);
        // Huge n stays finite and in range.
        let p = pass_at_k(1_000_000, 1, 999_999).unwrap();
        assert!((p - 0.999_999).abs() < 1e-9);
    }
}
