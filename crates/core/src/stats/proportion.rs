//! Intervals for success rates.

use super::dist::{valid_level, z_two_sided};
use super::Interval;

/// The Wilson score interval for a success rate: `successes` out of `n` trials, at `level`.
///
/// Use it for every success (pass) rate. Unlike the textbook p ± z·√(p(1−p)/n), it behaves at
/// the edges and with small n: 0/10 gives 0–0.278 (not 0–0), 10/10 gives 0.722–1, and the bounds
/// always stay within [0, 1]. It is not symmetric around the observed rate: it leans towards
/// 1/2. The standard form without continuity correction (Wilson 1927; Newcombe 1998 method 3):
///
/// centre = (p̂ + z²/2n) / (1 + z²/n), half-width = z/(1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²)
///
/// with p̂ = successes/n and z the 1 − (1 − level)/2 normal quantile (1.96 at 95%).
/// `estimate` is the observed rate p̂.
///
/// `None` if n = 0, successes > n, or the level is not in (0, 1).
pub fn wilson(successes: usize, n: usize, level: f64) -> Option<Interval> {
    if n == 0 || successes > n || !valid_level(level) {
        return None;
    }
    let z = z_two_sided(level);
    let nf = n as f64;
    let p = successes as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = z / denom * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    let lo = if successes == 0 {
        0.0
    } else {
        (centre - half).clamp(0.0, p)
    };
    let hi = if successes == n {
        1.0
    } else {
        (centre + half).clamp(p, 1.0)
    };
    Some(Interval {
        estimate: p,
        lo,
        hi,
        level,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(successes: usize, n: usize, lo: f64, hi: f64) {
        let i = wilson(successes, n, 0.95).unwrap();
        assert!(
            (i.lo - lo).abs() < 0.00005 && (i.hi - hi).abs() < 0.00005,
            "{successes}/{n}: got {:.4}–{:.4}, published {lo}–{hi}",
            i.lo,
            i.hi
        );
        assert_eq!(i.estimate, successes as f64 / n as f64);
    }

    #[test]
    fn wilson_matches_newcombe_1998() {
        // Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison
        // of seven methods", Statistics in Medicine 17:857–872, worked examples for method 3
        // (score interval without continuity correction), to 4 decimals.
        check(81, 263, 0.2553, 0.3662);
        check(15, 148, 0.0624, 0.1605);
        check(0, 20, 0.0, 0.1611);
        check(1, 29, 0.0061, 0.1718);
        check(29, 29, 0.8830, 1.0);
        check(0, 10, 0.0, 0.2775);
        check(10, 10, 0.7225, 1.0);
    }

    #[test]
    fn wilson_edges_are_exact() {
        let zero = wilson(0, 10, 0.95).unwrap();
        assert_eq!(zero.lo, 0.0);
        let all = wilson(10, 10, 0.95).unwrap();
        assert_eq!(all.hi, 1.0);
        // Other levels: wider at 99%, narrower at 90%.
        let w90 = wilson(5, 20, 0.90).unwrap();
        let w95 = wilson(5, 20, 0.95).unwrap();
        let w99 = wilson(5, 20, 0.99).unwrap();
        assert!(w90.width() < w95.width() && w95.width() < w99.width());
    }

    #[test]
    fn wilson_rejects_bad_input() {
        assert_eq!(wilson(0, 0, 0.95), None);
        assert_eq!(wilson(3, 2, 0.95), None);
        assert_eq!(wilson(1, 2, 1.0), None);
        assert_eq!(wilson(1, 2, f64::NAN), None);
    }
}
