//! Small statistics used wherever a mean is shown with its uncertainty.

/// Two-sided 95% Student-t quantiles for 1..=30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The 0.975 quantile of Student's t with `df` degrees of freedom (table up to 30, then
/// interpolated in 1/df towards the normal 1.960; within 0.002 of the exact value).
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
}
