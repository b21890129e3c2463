//! Dashboard read models: runs grouped by any combination of keys ([`GridRow`]), evaluator
//! score histograms ([`EvaluatorBucket`]) and sorted, searchable run lists paged with opaque
//! keyset cursors ([`RunSort`], [`SortedPage`]). The SQL lives in `dashboard_sql.rs`, compiled
//! into both backends like the rest of the query layer.

use std::fmt;
use std::str::FromStr;

/// What [`crate::Store::grid`] groups runs by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum GridKey {
    Suite,
    Scenario,
    Tier,
    Agent,
    Model,
    /// The run's batch id (`None` for runs outside a batch).
    Batch,
    /// The UTC day the run started, `YYYY-MM-DD`.
    Day,
    /// `completed` or `failed`.
    Status,
    /// The `errorType` string of the run's metadata (`None` when absent or not a string).
    ErrorType,
    /// `floor(weightedScore)` clamped to `0..=9`, as `"0"`..`"9"` (a 10 goes to `"9"`);
    /// `None` for runs without a weighted score.
    ScoreBucket,
}

impl GridKey {
    pub const ALL: [GridKey; 10] = [
        GridKey::Suite,
        GridKey::Scenario,
        GridKey::Tier,
        GridKey::Agent,
        GridKey::Model,
        GridKey::Batch,
        GridKey::Day,
        GridKey::Status,
        GridKey::ErrorType,
        GridKey::ScoreBucket,
    ];

    /// The key's name in URLs: `suite`, `error-type`, `score-bucket`, …
    pub fn as_str(self) -> &'static str {
        match self {
            GridKey::Suite => "suite",
            GridKey::Scenario => "scenario",
            GridKey::Tier => "tier",
            GridKey::Agent => "agent",
            GridKey::Model => "model",
            GridKey::Batch => "batch",
            GridKey::Day => "day",
            GridKey::Status => "status",
            GridKey::ErrorType => "error-type",
            GridKey::ScoreBucket => "score-bucket",
        }
    }
}

impl fmt::Display for GridKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GridKey {
    type Err = String;
    /// Accepts [`GridKey::as_str`] names, and the camelCase spellings `errorType`,
    /// `scoreBucket` and `batchId`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "errorType" => return Ok(GridKey::ErrorType),
            "scoreBucket" => return Ok(GridKey::ScoreBucket),
            "batchId" => return Ok(GridKey::Batch),
            _ => {}
        }
        GridKey::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = GridKey::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown grid key {s:?}: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// One group of [`crate::Store::grid`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GridRow {
    /// One value per requested key, in order (None for NULL: a run without model, batch or errorType).
    pub keys: Vec<Option<String>>,
    pub runs: i64,
    pub completed_runs: i64,
    pub failed_runs: i64,
    /// Completed runs marked successful (as in the breakdowns).
    pub successful_runs: i64,
    /// Mean weightedScore over runs that have one (whatever their status), and how many;
    /// population std-dev for intervals.
    pub avg_weighted_score: Option<f64>,
    pub weighted_n: i64,
    pub weighted_stddev: Option<f64>,
    /// Mean totalScore over runs that have one.
    pub avg_total_score: Option<f64>,
    /// Sum of the telemetry costs, and how many runs reported one.
    pub cost_usd: f64,
    pub cost_n: i64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub tool_calls: i64,
    /// Mean over runs whose telemetry has a duration.
    pub avg_duration_ms: Option<f64>,
    pub first_started_at: i64,
    pub last_started_at: i64,
}

/// Population standard deviation from a count, a sum and a sum of squares (the databases
/// return the sums; SQLite has no `stddev`). Rounding can make the variance of equal values
/// a hair below zero: it is clamped.
pub(crate) fn stddev(n: i64, sum: f64, sum_sq: f64) -> Option<f64> {
    if n <= 0 {
        return None;
    }
    let n = n as f64;
    let mean = sum / n;
    Some((sum_sq / n - mean * mean).max(0.0).sqrt())
}

/// How many evaluations of one evaluator fell in one tenth of the score range.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EvaluatorBucket {
    pub evaluator: String,
    /// `floor(s * 10)` clamped to `0..=9`, where `s = score / max_score` (or `score` when
    /// `max_score` is below `1e-6`): a perfect score lands in 9.
    pub bucket: i64,
    pub count: i64,
}

/// Orders of [`crate::Store::list_runs_sorted`]. Runs without the sorted value (no score, no
/// telemetry cost or duration) come last in every order; ties go by run primary key, in the
/// order's direction.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum RunSort {
    /// `started_at` descending.
    #[default]
    Newest,
    /// `started_at` ascending.
    Oldest,
    /// `weighted_score` descending.
    ScoreDesc,
    /// `weighted_score` ascending.
    ScoreAsc,
    /// Telemetry `cost_usd` descending.
    CostDesc,
    /// Telemetry `duration_ms` descending.
    DurationDesc,
}

impl RunSort {
    pub const ALL: [RunSort; 6] = [
        RunSort::Newest,
        RunSort::Oldest,
        RunSort::ScoreDesc,
        RunSort::ScoreAsc,
        RunSort::CostDesc,
        RunSort::DurationDesc,
    ];

    /// The serde (kebab-case) name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunSort::Newest => "newest",
            RunSort::Oldest => "oldest",
            RunSort::ScoreDesc => "score-desc",
            RunSort::ScoreAsc => "score-asc",
            RunSort::CostDesc => "cost-desc",
            RunSort::DurationDesc => "duration-desc",
        }
    }

    /// Whether the sorted value is a float (scores, costs) or an integer (times, durations).
    fn float_value(self) -> bool {
        matches!(
            self,
            RunSort::ScoreDesc | RunSort::ScoreAsc | RunSort::CostDesc
        )
    }

    /// Whether the sorted value can be missing (it never is for start times).
    fn nullable(self) -> bool {
        !matches!(self, RunSort::Newest | RunSort::Oldest)
    }

    pub(crate) fn descending(self) -> bool {
        !matches!(self, RunSort::Oldest | RunSort::ScoreAsc)
    }

    /// The sorted expression, over `runs r LEFT JOIN telemetry t`.
    pub(crate) fn column_sql(self) -> &'static str {
        match self {
            RunSort::Newest | RunSort::Oldest => "r.started_at",
            RunSort::ScoreDesc | RunSort::ScoreAsc => "r.weighted_score",
            RunSort::CostDesc => "t.cost_usd",
            RunSort::DurationDesc => "t.duration_ms",
        }
    }

    pub(crate) fn needs_telemetry(self) -> bool {
        matches!(self, RunSort::CostDesc | RunSort::DurationDesc)
    }

    /// `ORDER BY` over the sorted value `value` and the primary key `pk`: missing values last
    /// (explicitly, as the dialects disagree on where NULLs go by default), ties by key.
    pub(crate) fn order_sql(self, value: &str, pk: &str) -> String {
        let dir = if self.descending() { "DESC" } else { "ASC" };
        if self == RunSort::Newest || self == RunSort::Oldest {
            format!("{value} {dir}, {pk} {dir}")
        } else {
            format!("{value} {dir} NULLS LAST, {pk} {dir}")
        }
    }
}

impl fmt::Display for RunSort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunSort {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunSort::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = RunSort::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown sort {s:?}: expected one of {}", names.join(", "))
            })
    }
}

/// A run of [`crate::Store::list_runs_sorted`] with the telemetry figures the list shows
/// (`None` when the run has no telemetry or the figure was not reported).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunRow {
    pub run: zebench_core::Run,
    pub cost_usd: Option<f64>,
    pub duration_ms: Option<i64>,
    pub tool_calls: Option<i64>,
    pub tokens_in: Option<i64>,
    pub tokens_out: Option<i64>,
}

/// One page of [`crate::Store::list_runs_sorted`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SortedPage {
    pub items: Vec<RunRow>,
    /// Pass back as `cursor` for the next page (with the same sort); `None` on the last page.
    pub next: Option<String>,
}

/// The sorted value of the last row of a page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SortValue {
    Int(i64),
    Float(f64),
}

/// Where a sorted page ends: `s:<sort>:<value|null>:<id>`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SortCursor {
    pub sort: RunSort,
    /// `None`: the row had no value, so it was among the trailing NULLs.
    pub value: Option<SortValue>,
    pub id: i64,
}

impl fmt::Display for SortCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s:{}:", self.sort)?;
        match self.value {
            None => f.write_str("null")?,
            Some(SortValue::Int(v)) => write!(f, "{v}")?,
            // `Display` of an f64 is the shortest text that parses back to the same value.
            Some(SortValue::Float(v)) => write!(f, "{v}")?,
        }
        write!(f, ":{}", self.id)
    }
}

impl SortCursor {
    /// Parses a cursor handed out for `sort`. The error reads like [`crate::Cursor`]'s and
    /// ends up in [`crate::StoreError::InvalidCursor`].
    pub(crate) fn parse(s: &str, sort: RunSort) -> Result<SortCursor, String> {
        let err = || format!("invalid cursor {s:?}: pass the `next` value of a previous page");
        let parts: Vec<&str> = s.split(':').collect();
        let [tag, name, value, id] = parts.as_slice() else {
            return Err(err());
        };
        if *tag != "s" {
            return Err(err());
        }
        let cursor_sort: RunSort = name.parse().map_err(|_| err())?;
        if cursor_sort != sort {
            return Err(format!(
                "invalid cursor {s:?}: it pages the {cursor_sort} order, not {sort}; \
                 start again without a cursor"
            ));
        }
        let id: i64 = id.parse().map_err(|_| err())?;
        let value = match *value {
            "null" if sort.nullable() => None,
            v if sort.float_value() => {
                let f: f64 = v.parse().map_err(|_| err())?;
                if !f.is_finite() {
                    return Err(err());
                }
                Some(SortValue::Float(f))
            }
            v => Some(SortValue::Int(v.parse().map_err(|_| err())?)),
        };
        Ok(SortCursor { sort, value, id })
    }
}

/// A `LIKE` pattern matching `needle` anywhere, with `\` as the escape character, so `%`, `_`
/// and `\` in user input match themselves.
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for (sort, value) in [
            (RunSort::Newest, Some(SortValue::Int(1_741_687_200_000))),
            (RunSort::Oldest, Some(SortValue::Int(-5))),
            (
                RunSort::ScoreDesc,
                Some(SortValue::Float(7.123456789012345)),
            ),
            (RunSort::ScoreAsc, None),
            (RunSort::CostDesc, Some(SortValue::Float(1e-300))),
            (RunSort::CostDesc, Some(SortValue::Float(0.1 + 0.2))),
            (RunSort::DurationDesc, Some(SortValue::Int(5000))),
            (RunSort::DurationDesc, None),
        ] {
            let c = SortCursor {
                sort,
                value,
                id: 42,
            };
            let text = c.to_string();
            assert_eq!(SortCursor::parse(&text, sort), Ok(c), "{text}");
        }
    }

    #[test]
    fn bad_cursors_are_refused() {
        for bad in [
            "",
            "s",
            "s:newest:1",
            "s:newest:1:2:3",
            "x:newest:1:2",
            "s:bogus:1:2",
            "s:newest:null:2",
            "s:newest:1.5:2",
            "s:newest:1:x",
            "s:score-desc:NaN:1",
            "s:score-desc:inf:1",
            "123_45",
        ] {
            let sort = if bad.contains("score") {
                RunSort::ScoreDesc
            } else {
                RunSort::Newest
            };
            assert!(SortCursor::parse(bad, sort).is_err(), "{bad:?}");
        }
        let other = SortCursor::parse("s:newest:1:2", RunSort::Oldest).unwrap_err();
        assert!(other.contains("newest"), "{other}");
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("a%b_c\\d"), "%a\\%b\\_c\\\\d%");
        assert_eq!(contains_pattern(""), "%%");
    }

    #[test]
    fn names_parse_back() {
        for k in GridKey::ALL {
            assert_eq!(k.as_str().parse::<GridKey>(), Ok(k));
        }
        for s in RunSort::ALL {
            assert_eq!(s.as_str().parse::<RunSort>(), Ok(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert!("nope".parse::<GridKey>().is_err());
    }

    #[test]
    fn stddev_from_sums() {
        assert_eq!(stddev(0, 0.0, 0.0), None);
        assert_eq!(stddev(1, 7.3, 7.3 * 7.3), Some(0.0));
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let s: f64 = xs.iter().sum();
        let sq: f64 = xs.iter().map(|x| x * x).sum();
        assert!((stddev(8, s, sq).unwrap() - 2.0).abs() < 1e-12);
    }
}
