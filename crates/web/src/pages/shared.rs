//! View pieces several pages show: a run row for tables, a grid row with its interval.

use crate::fmt;
use crate::svg::Point;
use zebench_core::stats::t_interval;
use zebench_core::Run;
use zebench_store::GridRow;

/// A run as one table row.
pub struct RunLine {
    pub run_id: String,
    pub href: String,
    pub suite: String,
    pub scenario: String,
    pub tier: String,
    pub agent: String,
    pub model: String,
    pub status: String,
    pub successful: bool,
    pub score: String,
    pub started: String,
}

impl RunLine {
    pub fn new(r: &Run) -> RunLine {
        RunLine {
            href: format!("/runs/{}", crate::query::encode(&r.run_id)),
            run_id: r.run_id.clone(),
            suite: r.suite.clone(),
            scenario: r.scenario.clone(),
            tier: r.tier.clone(),
            agent: r.agent.clone(),
            model: r.model.clone().unwrap_or_default(),
            status: r.status.to_string(),
            successful: r.is_successful,
            score: fmt::score10(r.weighted_score),
            started: fmt::when(r.started_at),
        }
    }
}

/// Mean weighted score of a grid row with the half-width of its 95% interval (Student t).
pub fn mean_ci(row: &GridRow) -> (Option<f64>, Option<f64>) {
    let half = match (row.avg_weighted_score, row.weighted_stddev, row.weighted_n) {
        (Some(m), Some(sd), n) if n >= 2 => {
            // The store gives the population std-dev; the interval needs the sample one.
            let s = sd * (n as f64 / (n as f64 - 1.0)).sqrt();
            t_interval(m, s, n as usize, 0.95).map(|ci| ci.half_width())
        }
        _ => None,
    };
    (row.avg_weighted_score, half)
}

/// The last 60 days that have scored runs, as chart points with their 95% whiskers.
pub fn day_points(days: &[GridRow]) -> Vec<Point> {
    days[days.len().saturating_sub(60)..]
        .iter()
        .filter(|d| d.avg_weighted_score.is_some())
        .map(|d| {
            let (m, h) = mean_ci(d);
            let m = m.unwrap_or(0.0);
            Point {
                x_label: key(d, 0).get(5..).unwrap_or("").to_string(),
                y: m,
                lo: h.map(|h| m - h),
                hi: h.map(|h| m + h),
                title: format!(
                    "{}: {} over {} scored runs",
                    key(d, 0),
                    score_pm(d),
                    d.weighted_n
                ),
            }
        })
        .collect()
}

/// Best mean weighted score first (unscored last), then most runs, then by keys.
pub fn sort_by_score(rows: &mut [GridRow]) {
    rows.sort_by(|a, b| {
        b.avg_weighted_score
            .unwrap_or(-1.0)
            .total_cmp(&a.avg_weighted_score.unwrap_or(-1.0))
            .then(b.runs.cmp(&a.runs))
            .then(a.keys.cmp(&b.keys))
    });
}

/// `7.50 ± 0.42` (or just `7.50`).
pub fn score_pm(row: &GridRow) -> String {
    let (m, h) = mean_ci(row);
    match (m, h) {
        (Some(m), Some(h)) => format!("{m:.2} ± {h:.2}"),
        (m, _) => fmt::score10(m),
    }
}

/// successful / runs as a percentage.
pub fn success_rate(row: &GridRow) -> String {
    fmt::pct((row.runs > 0).then(|| row.successful_runs as f64 / row.runs as f64))
}

/// The key at position `i` of a grid row ("–" for NULL).
pub fn key(row: &GridRow, i: usize) -> String {
    row.keys
        .get(i)
        .cloned()
        .flatten()
        .unwrap_or_else(|| "–".into())
}
