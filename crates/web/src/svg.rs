//! Charts drawn on the server as inline SVG: bars, lines with interval whiskers, and a scatter
//! with its Pareto frontier. No chart library, no JavaScript: they render with scripts off, obey
//! a strict CSP (presentation attributes and CSS classes, no inline styles), follow the page's
//! light/dark colours through CSS variables, and carry `<title>` tooltips.
//!
//! Every label is escaped: agent and model names are untrusted text.

use std::fmt::Write;

/// Escapes text for SVG/HTML content and attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const W: f64 = 640.0;
const H: f64 = 220.0;
const PAD_L: f64 = 44.0;
const PAD_R: f64 = 12.0;
const PAD_T: f64 = 12.0;
const PAD_B: f64 = 36.0;

fn open(out: &mut String, label: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{}" preserveAspectRatio="xMidYMid meet">"#,
        esc(label)
    );
}

fn fmt_tick(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Horizontal grid lines and y labels for [lo, hi].
fn y_axis(out: &mut String, lo: f64, hi: f64, ticks: usize) {
    for i in 0..=ticks {
        let v = lo + (hi - lo) * i as f64 / ticks as f64;
        let y = y_of(v, lo, hi);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{PAD_L}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            W - PAD_R,
            PAD_L - 6.0,
            y + 4.0,
            fmt_tick(v)
        );
    }
}

fn y_of(v: f64, lo: f64, hi: f64) -> f64 {
    let span = if hi > lo { hi - lo } else { 1.0 };
    PAD_T + (H - PAD_T - PAD_B) * (1.0 - (v - lo) / span)
}

fn x_of(v: f64, lo: f64, hi: f64) -> f64 {
    let span = if hi > lo { hi - lo } else { 1.0 };
    PAD_L + (W - PAD_L - PAD_R) * (v - lo) / span
}

/// One bar.
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// Tooltip text.
    pub title: String,
}

/// A bar chart with the y axis from 0 to `y_max` (or the largest bar).
pub fn bars(label: &str, data: &[Bar], y_max: Option<f64>) -> String {
    let mut out = String::new();
    open(&mut out, label);
    let hi = y_max
        .unwrap_or_else(|| data.iter().map(|b| b.value).fold(0.0, f64::max))
        .max(1e-9);
    y_axis(&mut out, 0.0, hi, 4);
    let n = data.len().max(1) as f64;
    let slot = (W - PAD_L - PAD_R) / n;
    let bw = (slot * 0.7).max(1.0);
    let every = (data.len() / 12).max(1);
    for (i, b) in data.iter().enumerate() {
        let x = PAD_L + slot * i as f64 + (slot - bw) / 2.0;
        let y = y_of(b.value.max(0.0), 0.0, hi);
        let h = (H - PAD_B - y).max(0.0);
        let _ = write!(
            out,
            r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{h:.1}"><title>{}</title></rect>"#,
            esc(&b.title)
        );
        if i % every == 0 {
            let _ = write!(
                out,
                r#"<text class="tick" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                x + bw / 2.0,
                H - PAD_B + 14.0,
                esc(&truncate(&b.label, 14))
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// A point of a line, with an optional interval (whisker).
pub struct Point {
    pub x_label: String,
    pub y: f64,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    pub title: String,
}

/// A line chart over evenly spaced points, y from `y_lo` to `y_hi`, with whiskers where points
/// carry an interval.
pub fn line(label: &str, points: &[Point], y_lo: f64, y_hi: f64) -> String {
    let mut out = String::new();
    open(&mut out, label);
    y_axis(&mut out, y_lo, y_hi, 5);
    let n = points.len();
    let x = |i: usize| {
        if n <= 1 {
            (PAD_L + W - PAD_R) / 2.0
        } else {
            PAD_L + (W - PAD_L - PAD_R) * i as f64 / (n - 1) as f64
        }
    };
    let clamp = |v: f64| v.clamp(y_lo, y_hi);
    if n > 1 {
        let path: Vec<String> = points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y_of(clamp(p.y), y_lo, y_hi)))
            .collect();
        let _ = write!(
            out,
            r#"<polyline class="line" points="{}"/>"#,
            path.join(" ")
        );
    }
    let every = (n / 8).max(1);
    for (i, p) in points.iter().enumerate() {
        let (px, py) = (x(i), y_of(clamp(p.y), y_lo, y_hi));
        if let (Some(lo), Some(hi)) = (p.lo, p.hi) {
            let (y1, y2) = (y_of(clamp(lo), y_lo, y_hi), y_of(clamp(hi), y_lo, y_hi));
            let _ = write!(
                out,
                r#"<line class="whisker" x1="{px:.1}" x2="{px:.1}" y1="{y1:.1}" y2="{y2:.1}"/>"#
            );
        }
        let _ = write!(
            out,
            r#"<circle class="dot" cx="{px:.1}" cy="{py:.1}" r="3"><title>{}</title></circle>"#,
            esc(&p.title)
        );
        if i % every == 0 || i + 1 == n {
            // The last label ends at its point so it is not cut off at the right edge.
            let anchor = if i + 1 == n && n > 1 { "end" } else { "middle" };
            let _ = write!(
                out,
                r#"<text class="tick" x="{px:.1}" y="{}" text-anchor="{anchor}">{}</text>"#,
                H - PAD_B + 14.0,
                esc(&truncate(&p.x_label, 12))
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// A point of a scatter.
pub struct Dot {
    pub x: f64,
    pub y: f64,
    pub label: String,
    pub title: String,
}

/// Indices of the points on the Pareto frontier when lower x and higher y are better: a point is
/// on it when no other point has x ≤ its x and y ≥ its y with one of them strictly better.
pub fn pareto(points: &[(f64, f64)]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..points.len())
        .filter(|&i| points[i].0.is_finite() && points[i].1.is_finite())
        .collect();
    idx.sort_by(|&a, &b| {
        points[a]
            .0
            .total_cmp(&points[b].0)
            .then(points[b].1.total_cmp(&points[a].1))
    });
    let mut best = f64::NEG_INFINITY;
    let mut out = Vec::new();
    for i in idx {
        if points[i].1 > best {
            best = points[i].1;
            out.push(i);
        }
    }
    out
}

/// A scatter of cost (x) against score (y) with the Pareto frontier drawn through its points.
pub fn scatter(
    label: &str,
    dots: &[Dot],
    x_label: &str,
    y_label: &str,
    y_lo: f64,
    y_hi: f64,
) -> String {
    let mut out = String::new();
    open(&mut out, label);
    y_axis(&mut out, y_lo, y_hi, 5);
    // The x axis spans the data (with a margin), so close points do not pile up on one side.
    let xs: Vec<f64> = dots.iter().map(|d| d.x).filter(|x| x.is_finite()).collect();
    let (min, max) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let (x_lo, x_hi) = if xs.is_empty() {
        (0.0, 1.0)
    } else {
        let span = if max > min {
            max - min
        } else {
            max.abs().max(1e-9)
        };
        ((min - span * 0.15).max(0.0), max + span * 0.15)
    };
    for i in 0..=4 {
        let v = x_lo + (x_hi - x_lo) * i as f64 / 4.0;
        let _ = write!(
            out,
            r#"<text class="tick" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            x_of(v, x_lo, x_hi),
            H - PAD_B + 14.0,
            fmt_tick(v)
        );
    }
    let _ = write!(
        out,
        r#"<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text><text class="axis" x="12" y="{}" transform="rotate(-90 12 {})" text-anchor="middle">{}</text>"#,
        (PAD_L + W - PAD_R) / 2.0,
        H - 4.0,
        esc(x_label),
        H / 2.0,
        H / 2.0,
        esc(y_label)
    );
    let pts: Vec<(f64, f64)> = dots.iter().map(|d| (d.x, d.y)).collect();
    let front = pareto(&pts);
    if front.len() > 1 {
        let path: Vec<String> = front
            .iter()
            .map(|&i| {
                format!(
                    "{:.1},{:.1}",
                    x_of(dots[i].x, x_lo, x_hi),
                    y_of(dots[i].y.clamp(y_lo, y_hi), y_lo, y_hi)
                )
            })
            .collect();
        let _ = write!(
            out,
            r#"<polyline class="frontier" points="{}"/>"#,
            path.join(" ")
        );
    }
    for (i, d) in dots.iter().enumerate() {
        let on = front.contains(&i);
        let (cx, cy) = (
            x_of(d.x, x_lo, x_hi),
            y_of(d.y.clamp(y_lo, y_hi), y_lo, y_hi),
        );
        // Labels right of the middle sit to the left of their point, so they stay inside.
        let (lx, anchor) = if cx > W * 0.6 {
            (cx - 7.0, "end")
        } else {
            (cx + 7.0, "start")
        };
        // Stagger labels vertically by index so neighbours do not print on top of each other.
        let ly = cy - 6.0 - (i % 3) as f64 * 11.0;
        let _ = write!(
            out,
            r#"<circle class="{}" cx="{cx:.1}" cy="{cy:.1}" r="5"><title>{}</title></circle><text class="dot-label" x="{lx:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
            if on { "dot frontier-dot" } else { "dot" },
            esc(&d.title),
            ly.max(PAD_T + 8.0),
            esc(&truncate(&d.label, 24))
        );
    }
    out.push_str("</svg>");
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n.saturating_sub(1)).collect();
        format!("{t}…")
    }
}

/// CSS class `heat-0` … `heat-10` for a 0–1 value (heat-map cells), `heat-none` without one.
pub fn heat_class(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("heat-{}", (x.clamp(0.0, 1.0) * 10.0).round() as i64),
        _ => "heat-none".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        let s = bars(
            "x",
            &[Bar {
                label: "<script>".into(),
                value: 1.0,
                title: "a&b".into(),
            }],
            None,
        );
        assert!(!s.contains("<script>"));
        assert!(s.contains("&lt;script&gt;") && s.contains("a&amp;b"));
    }

    #[test]
    fn pareto_frontier() {
        // (cost, score): b dominates c; a is cheapest; d is best.
        let p = [(1.0, 5.0), (2.0, 7.0), (3.0, 6.0), (4.0, 9.0), (5.0, 9.0)];
        assert_eq!(pareto(&p), vec![0, 1, 3]);
        assert_eq!(pareto(&[]), Vec::<usize>::new());
    }

    #[test]
    fn heat_classes() {
        assert_eq!(heat_class(Some(0.0)), "heat-0");
        assert_eq!(heat_class(Some(0.84)), "heat-8");
        assert_eq!(heat_class(Some(2.0)), "heat-10");
        assert_eq!(heat_class(None), "heat-none");
    }
}
