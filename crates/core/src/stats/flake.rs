//! How often repeats of one scenario disagree.

/// Flake score of one scenario (for one agent and tier) from the outcomes of its repeats
/// (`true` = success): 0 when every repeat agrees, 1 when they split evenly.
///
/// flake = 1 − |2p − 1| = 2 · min(successes, failures) / n, with p = successes / n.
///
/// Read it as "twice the share of repeats that went the minority way": 0.0 = deterministic
/// (always passes or always fails), 0.2 = one run in ten goes the other way, 0.5 = one in four,
/// 1.0 = a coin flip. It is normalised to [0, 1] whatever the number of repeats, so scenarios
/// with different repeat counts compare directly; but with few repeats it is coarse (with 3
/// repeats it can only be 0 or 0.667), so show n next to it.
///
/// A flaky scenario is where the agent (or the scenario's checks) is unreliable: pass rates on
/// it move between batches by chance, and pass^k is low even when pass@1 looks fine. Any
/// score above 0 means the repeats disagreed at least once.
///
/// `None` with fewer than two outcomes (agreement needs two runs to be measured).
pub fn flake_score(outcomes: &[bool]) -> Option<f64> {
    let successes = outcomes.iter().filter(|&&o| o).count();
    flake_score_from_counts(successes, outcomes.len())
}

/// [`flake_score`] from counts: `successes` out of `n` repeats. `None` if n < 2 or
/// successes > n.
pub fn flake_score_from_counts(successes: usize, n: usize) -> Option<f64> {
    if n < 2 || successes > n {
        return None;
    }
    let minority = successes.min(n - successes);
    Some(2.0 * minority as f64 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flake_score_extremes() {
        assert_eq!(flake_score(&[true; 5]), Some(0.0));
        assert_eq!(flake_score(&[false; 5]), Some(0.0));
        assert_eq!(flake_score(&[true, false]), Some(1.0));
        assert_eq!(
            flake_score(&[true, false, false, true, true, false]),
            Some(1.0)
        );
    }

    #[test]
    fn flake_score_in_between() {
        // 1 failure in 10: 0.2. 1 in 4: 0.5. 1 in 3: 0.667.
        let mut ten = [true; 10];
        ten[3] = false;
        assert_eq!(flake_score(&ten), Some(0.2));
        assert_eq!(flake_score(&[true, true, true, false]), Some(0.5));
        assert!((flake_score(&[false, true, false]).unwrap() - 2.0 / 3.0).abs() < 1e-15);
        // Symmetric in success and failure.
        assert_eq!(
            flake_score_from_counts(3, 10),
            flake_score_from_counts(7, 10)
        );
        // The maximum for a given n is at the even split.
        let best = (0..=9).map(|s| flake_score_from_counts(s, 9).unwrap());
        assert!(best.fold(0.0, f64::max) <= flake_score_from_counts(4, 9).unwrap());
    }

    #[test]
    fn flake_score_needs_two_runs() {
        assert_eq!(flake_score(&[]), None);
        assert_eq!(flake_score(&[true]), None);
        assert_eq!(flake_score_from_counts(3, 2), None);
    }
}
