//! Loosely typed SQLite cells and their conversions: the ze-benchmarks databases stored the
//! same field as an integer in one version and as text in another, so every conversion accepts
//! each representation the seed is known to have written.

use chrono::{NaiveDate, NaiveDateTime};
use zebench_core::Timestamp;

/// One value as SQLite stored it (its storage class, not the column's declared type).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// Epoch numbers below this are seconds, above it milliseconds (10^11 s is the year 5138;
/// 10^11 ms is March 1973, before any benchmark run).
const SECONDS_BELOW: f64 = 1e11;
/// Julian day numbers of the years 1 and 9999: a REAL in this range came from `julianday()`.
const JULIAN_MIN: f64 = 1_721_425.5;
const JULIAN_MAX: f64 = 5_373_484.5;
/// The Julian day of 1970-01-01T00:00:00Z.
const JULIAN_EPOCH: f64 = 2_440_587.5;

impl Cell {
    /// A short description for error messages: `text "abc"`, `integer 5`.
    pub fn describe(&self) -> String {
        match self {
            Cell::Null => "NULL".into(),
            Cell::Int(n) => format!("integer {n}"),
            Cell::Real(x) => format!("real {x}"),
            Cell::Text(s) => {
                let short: String = s.chars().take(60).collect();
                if short.len() < s.len() {
                    format!("text {short:?}…")
                } else {
                    format!("text {short:?}")
                }
            }
            Cell::Blob(b) => format!("blob of {} bytes", b.len()),
        }
    }

    /// The value as text (numbers formatted); NULL is `None`.
    pub fn text(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::Int(n) => Some(n.to_string()),
            Cell::Real(x) => Some(x.to_string()),
            Cell::Text(s) => Some(s.clone()),
            Cell::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
        }
    }

    /// Text that must not be empty; NULL and blank text are `None`.
    pub fn nonblank(&self) -> Option<String> {
        self.text().filter(|s| !s.trim().is_empty())
    }

    pub fn f64(&self) -> Result<Option<f64>, String> {
        match self {
            Cell::Null => Ok(None),
            Cell::Int(n) => Ok(Some(*n as f64)),
            Cell::Real(x) => Ok(Some(*x)),
            Cell::Text(s) if s.trim().is_empty() => Ok(None),
            Cell::Text(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| format!("expected a number, found {}", self.describe())),
            Cell::Blob(_) => Err(format!("expected a number, found {}", self.describe())),
        }
    }

    pub fn i64(&self) -> Result<Option<i64>, String> {
        let err = || format!("expected a whole number, found {}", self.describe());
        match self {
            Cell::Null => Ok(None),
            Cell::Int(n) => Ok(Some(*n)),
            Cell::Real(x) => whole(*x).map(Some).ok_or_else(err),
            Cell::Text(s) if s.trim().is_empty() => Ok(None),
            Cell::Text(s) => {
                let s = s.trim();
                s.parse::<i64>()
                    .ok()
                    .or_else(|| s.parse::<f64>().ok().and_then(whole))
                    .map(Some)
                    .ok_or_else(err)
            }
            Cell::Blob(_) => Err(err()),
        }
    }

    /// 0/1 (any non-zero number is true) or the words true/false, yes/no, t/f.
    pub fn bool(&self) -> Result<Option<bool>, String> {
        match self {
            Cell::Null => Ok(None),
            Cell::Int(n) => Ok(Some(*n != 0)),
            Cell::Real(x) => Ok(Some(*x != 0.0)),
            Cell::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "1" | "true" | "t" | "yes" | "y" => Ok(Some(true)),
                "0" | "false" | "f" | "no" | "n" => Ok(Some(false)),
                _ => Err(format!("expected true or false, found {}", self.describe())),
            },
            Cell::Blob(_) => Err(format!("expected true or false, found {}", self.describe())),
        }
    }

    /// A timestamp: epoch milliseconds or seconds (integer or real), a Julian day (real),
    /// ISO-8601 text with or without a zone (none means UTC), SQLite's `YYYY-MM-DD HH:MM:SS`,
    /// or a bare date.
    pub fn time(&self) -> Result<Option<Timestamp>, String> {
        let err = || format!("expected a timestamp, found {}", self.describe());
        match self {
            Cell::Null => Ok(None),
            Cell::Int(n) => epoch_number(*n as f64).map(Some).ok_or_else(err),
            Cell::Real(x) => real_time(*x).map(Some).ok_or_else(err),
            Cell::Text(s) if s.trim().is_empty() => Ok(None),
            Cell::Text(s) => parse_time_text(s).map(Some).ok_or_else(err),
            Cell::Blob(_) => Err(err()),
        }
    }
}

fn whole(x: f64) -> Option<i64> {
    (x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15).then_some(x as i64)
}

/// Epoch seconds (below 10^11) or milliseconds.
fn epoch_number(x: f64) -> Option<Timestamp> {
    if !x.is_finite() {
        return None;
    }
    let ms = if x.abs() < SECONDS_BELOW {
        x * 1000.0
    } else {
        x
    };
    Timestamp::from_millis(ms.round() as i64)
}

fn real_time(x: f64) -> Option<Timestamp> {
    if (JULIAN_MIN..=JULIAN_MAX).contains(&x) && x.fract() != 0.0 {
        return Timestamp::from_millis(((x - JULIAN_EPOCH) * 86_400_000.0).round() as i64);
    }
    epoch_number(x)
}

/// Parses a timestamp written as text (see [`Cell::time`]). Also used by `zebench export`'s
/// `--since`/`--until`.
pub fn parse_time_text(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<i64>() {
        return epoch_number(n as f64);
    }
    if let Ok(x) = s.parse::<f64>() {
        return real_time(x);
    }
    if let Some(t) = Timestamp::parse_iso(s) {
        return Some(t);
    }
    // RFC 3339 with a space instead of the `T`.
    if let Some(t) = Timestamp::parse_iso(&s.replacen(' ', "T", 1)) {
        return Some(t);
    }
    const NAIVE: [&str; 4] = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ];
    let naive = NAIVE
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    Timestamp::from_millis(naive.and_utc().timestamp_millis())
}

/// `YYYY-MM-DD` alone (for `--until`, which then means the end of that day).
pub fn is_bare_date(s: &str) -> bool {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(c: Cell) -> String {
        c.time().unwrap().unwrap().to_iso()
    }

    #[test]
    fn every_timestamp_form_the_seed_wrote() {
        let want = "2026-03-11T10:00:00.000Z";
        assert_eq!(iso(Cell::Int(1_773_223_200_000)), want);
        assert_eq!(iso(Cell::Int(1_773_223_200)), want);
        assert_eq!(iso(Cell::Real(1_773_223_200.0)), want);
        assert_eq!(iso(Cell::Text("2026-03-11 10:00:00".into())), want);
        assert_eq!(iso(Cell::Text("2026-03-11T10:00:00Z".into())), want);
        assert_eq!(iso(Cell::Text("2026-03-11T12:00:00+02:00".into())), want);
        assert_eq!(iso(Cell::Text("2026-03-11T10:00:00.000".into())), want);
        assert_eq!(iso(Cell::Text("1773223200000".into())), want);
        assert_eq!(iso(Cell::Real(2_461_110.916_666_666_5)), want);
        assert_eq!(
            iso(Cell::Text("2026-03-11".into())),
            "2026-03-11T00:00:00.000Z"
        );
        assert!(Cell::Text("yesterday".into()).time().is_err());
        assert_eq!(Cell::Null.time().unwrap(), None);
    }

    #[test]
    fn booleans_and_numbers() {
        assert_eq!(Cell::Int(1).bool().unwrap(), Some(true));
        assert_eq!(Cell::Text("false".into()).bool().unwrap(), Some(false));
        assert!(Cell::Text("maybe".into()).bool().is_err());
        assert_eq!(Cell::Text("12".into()).i64().unwrap(), Some(12));
        assert_eq!(Cell::Real(3.0).i64().unwrap(), Some(3));
        assert!(Cell::Real(3.5).i64().is_err());
        assert_eq!(Cell::Text(" 0.25 ".into()).f64().unwrap(), Some(0.25));
    }
}
