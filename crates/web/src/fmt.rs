//! Number and time formatting for pages: every figure a page shows goes through here, so "no
//! value" always reads `–` and units are consistent.

use zebench_core::Timestamp;

/// `7.50` (weighted score out of 10) or `–`.
pub fn score10(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "–".into())
}

/// `0.82` (a 0–1 score) or `–`.
pub fn score1(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "–".into())
}

/// `83%` or `–`.
pub fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.0}%", x * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// `$0.0123`, `$1.23`, `$1,234` or `–`.
pub fn usd(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(x) if x.abs() >= 1000.0 => format!("${}", thousands(x.round() as i64)),
        Some(x) if x.abs() >= 1.0 => format!("${x:.2}"),
        Some(x) => format!("${x:.4}"),
    }
}

/// `1,234,567`.
pub fn thousands(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// `12.3k`, `4.5M` for token counts.
pub fn compact(n: i64) -> String {
    let x = n as f64;
    if x.abs() >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else if x.abs() >= 1e4 {
        format!("{:.1}k", x / 1e3)
    } else {
        thousands(n)
    }
}

/// `850 ms`, `12.4 s`, `3m 05s`, `1h 02m`.
pub fn duration_ms(v: Option<i64>) -> String {
    let Some(ms) = v else { return "–".into() };
    let s = ms as f64 / 1000.0;
    if ms < 1000 {
        format!("{ms} ms")
    } else if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{}m {:02}s", (s / 60.0) as i64, (s % 60.0) as i64)
    } else {
        format!(
            "{}h {:02}m",
            (s / 3600.0) as i64,
            ((s % 3600.0) / 60.0) as i64
        )
    }
}

/// `2026-11-28 18:10 UTC`.
pub fn when(t: Timestamp) -> String {
    let iso = t.to_string(); // 2026-11-28T18:10:14.000Z
    format!("{} {} UTC", &iso[..10], &iso[11..16])
}

/// `± 0.42` when there is an interval.
pub fn pm(v: Option<f64>) -> String {
    v.map(|x| format!("± {x:.2}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(-1000), "-1,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(usd(Some(0.01234)), "$0.0123");
        assert_eq!(usd(Some(12.3)), "$12.30");
        assert_eq!(usd(Some(12345.6)), "$12,346");
        assert_eq!(usd(None), "–");
        assert_eq!(pct(Some(0.834)), "83%");
        assert_eq!(duration_ms(Some(850)), "850 ms");
        assert_eq!(duration_ms(Some(185_000)), "3m 05s");
        assert_eq!(compact(45_210), "45.2k");
        assert_eq!(
            when(Timestamp::from_millis(1_773_223_200_000).unwrap()),
            "2026-03-11 10:00 UTC"
        );
    }
}
