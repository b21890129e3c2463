//! Turning request bodies into domain values, with errors a client can act on.
//!
//! Parsing happens in two steps so every error is precise: the bytes become a JSON value (syntax
//! errors, including `NaN`, `Infinity` and numbers out of range), then the value becomes the typed
//! shape with the path of any wrongly typed field (`evaluations[3].score: expected a number`).
//! Missing required fields are collected together first, so the client sees all of them at once.

use crate::batch::BatchUpsert;
use crate::run::RunResult;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// Why a body was refused. Each variant maps to one 400 response shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("Invalid JSON: {0}")]
    InvalidJson(String),
    #[error("Missing required fields: {}", .0.join(", "))]
    MissingFields(Vec<String>),
    #[error("{path}: {message}")]
    Field { path: String, message: String },
    #[error("batchId required")]
    BatchIdRequired,
}

impl ValidationError {
    /// The `error` member of the JSON error body.
    pub fn summary(&self) -> &'static str {
        match self {
            ValidationError::InvalidJson(_) => "Invalid JSON",
            ValidationError::MissingFields(_) => "Missing required fields",
            ValidationError::Field { .. } => "Invalid field",
            ValidationError::BatchIdRequired => "batchId required",
        }
    }

    /// The `details` member of the JSON error body.
    pub fn details(&self) -> Option<Value> {
        match self {
            ValidationError::InvalidJson(msg) => Some(json!(msg)),
            ValidationError::MissingFields(names) => Some(json!(names)),
            ValidationError::Field { path, message } => Some(json!(format!("{path}: {message}"))),
            ValidationError::BatchIdRequired => None,
        }
    }

    fn field(path: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError::Field {
            path: path.into(),
            message: message.into(),
        }
    }

    fn prefixed(self, prefix: &str) -> Self {
        match self {
            ValidationError::Field { path, message } => ValidationError::Field {
                path: format!("{prefix}.{path}"),
                message,
            },
            ValidationError::MissingFields(names) => ValidationError::MissingFields(
                names.into_iter().map(|n| format!("{prefix}.{n}")).collect(),
            ),
            other => other,
        }
    }
}

/// Longest accepted identifier (run id, suite, agent, …); longer ones are almost surely a bug.
pub const MAX_ID_LEN: usize = 512;
const REQUIRED_RUN_FIELDS: [&str; 6] = ["runId", "suite", "scenario", "tier", "agent", "status"];

/// Parses and validates one `POST /api/results` body.
pub fn parse_run_result(body: &[u8]) -> Result<RunResult, ValidationError> {
    // Fast path: straight into the typed shape. Only when that fails is the body parsed again
    // the slow way, to say precisely what is wrong.
    if let Ok(run) = serde_json::from_slice::<RunResult>(body) {
        if check_run(&run).is_ok() {
            return Ok(run);
        }
    }
    let value = parse_json(body)?;
    run_from_value(value)
}

#[derive(serde::Deserialize)]
struct Wrapped {
    runs: Vec<RunResult>,
}

/// Typed parse of a valid bulk body, or `None` when the slow path must explain an error.
fn fast_bulk(body: &[u8]) -> Option<Vec<RunResult>> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    let runs = match first {
        b'[' => serde_json::from_slice::<Vec<RunResult>>(body).ok()?,
        b'{' => serde_json::from_slice::<Wrapped>(body).ok()?.runs,
        _ => return None,
    };
    runs.iter().all(|r| check_run(r).is_ok()).then_some(runs)
}

/// Parses a bulk body: a JSON array of runs, or `{"runs": [...]}`.
pub fn parse_run_results(body: &[u8]) -> Result<Vec<RunResult>, ValidationError> {
    parse_run_results_with(body, 1)
}

/// Like [`parse_run_results`], converting the items on `threads` threads: a large bulk body
/// is CPU-bound, and the error reported is still the first bad item's.
pub fn parse_run_results_with(
    body: &[u8],
    threads: usize,
) -> Result<Vec<RunResult>, ValidationError> {
    if let Some(runs) = fast_bulk(body) {
        return Ok(runs);
    }
    let value = parse_json(body)?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut obj) => match obj.remove("runs") {
            Some(Value::Array(items)) => items,
            Some(_) => return Err(ValidationError::field("runs", "expected an array of runs")),
            None => return Err(ValidationError::MissingFields(vec!["runs".into()])),
        },
        _ => {
            return Err(ValidationError::field(
                "$",
                "expected an array of runs or an object with a runs array",
            ))
        }
    };
    let convert = |offset: usize, items: Vec<Value>| -> Result<Vec<RunResult>, ValidationError> {
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                run_from_value(v).map_err(|e| e.prefixed(&format!("runs[{}]", offset + i)))
            })
            .collect()
    };
    let threads = threads.clamp(1, 16);
    if threads == 1 || items.len() < 64 {
        return convert(0, items);
    }
    let per = items.len().div_ceil(threads);
    let mut chunks: Vec<(usize, Vec<Value>)> = Vec::new();
    let mut rest = items;
    let mut offset = 0;
    while !rest.is_empty() {
        let tail = rest.split_off(per.min(rest.len()));
        let len = rest.len();
        chunks.push((offset, std::mem::replace(&mut rest, tail)));
        offset += len;
    }
    let results: Vec<Result<Vec<RunResult>, ValidationError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|(offset, chunk)| scope.spawn(move || convert(offset, chunk)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(ValidationError::field("runs", "could not be parsed")))
            })
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// Parses a `POST /api/results/batch` body.
pub fn parse_batch_upsert(body: &[u8]) -> Result<BatchUpsert, ValidationError> {
    let value = parse_json(body)?;
    let Value::Object(obj) = &value else {
        return Err(ValidationError::field("$", "expected a JSON object"));
    };
    match obj.get("batchId") {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        _ => return Err(ValidationError::BatchIdRequired),
    }
    let upsert: BatchUpsert = typed(value)?;
    check_id("batchId", &upsert.batch_id)?;
    Ok(upsert)
}

fn parse_json(body: &[u8]) -> Result<Value, ValidationError> {
    serde_json::from_slice(body).map_err(|e| ValidationError::InvalidJson(e.to_string()))
}

fn run_from_value(value: Value) -> Result<RunResult, ValidationError> {
    let Value::Object(obj) = &value else {
        return Err(ValidationError::field("$", "expected a JSON object"));
    };
    let missing: Vec<String> = REQUIRED_RUN_FIELDS
        .iter()
        .filter(|name| match obj.get(**name) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(_) => false,
        })
        .map(|s| s.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(ValidationError::MissingFields(missing));
    }
    let run: RunResult = typed(value)?;
    check_run(&run)?;
    Ok(run)
}

fn typed<T: DeserializeOwned>(value: Value) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = friendly(&err.into_inner().to_string());
        ValidationError::field(if path == "." { "$".into() } else { path }, message)
    })
}

/// serde's messages name Rust types; clients think in JSON types.
fn friendly(msg: &str) -> String {
    msg.replace("expected f64", "expected a number")
        .replace("expected i64", "expected an integer")
        .replace("expected a boolean", "expected true or false")
        .replace("expected a map", "expected an object")
}

fn check_id(path: &str, value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::MissingFields(vec![path.into()]));
    }
    if value.len() > MAX_ID_LEN {
        return Err(ValidationError::field(
            path,
            format!("longer than {MAX_ID_LEN} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::field(path, "contains control characters"));
    }
    Ok(())
}

/// Largest accepted count (tokens, tool calls, milliseconds): a trillion. Sums over millions
/// of runs must still fit the 64-bit integers the database adds them in.
pub const MAX_COUNT: i64 = 1_000_000_000_000;
/// Largest accepted magnitude of a score or cost: sums over any realistic number of runs stay
/// finite in double precision (PostgreSQL treats an overflow as an error).
pub const MAX_MAGNITUDE: f64 = 1e9;

fn check_count(path: &str, v: Option<i64>) -> Result<(), ValidationError> {
    match v {
        Some(n) if n < 0 => Err(ValidationError::field(path, "must not be negative")),
        Some(n) if n > MAX_COUNT => Err(ValidationError::field(
            path,
            format!("must not exceed {MAX_COUNT}"),
        )),
        _ => Ok(()),
    }
}

fn check_number(path: &str, v: Option<f64>) -> Result<(), ValidationError> {
    match v {
        Some(x) if !x.is_finite() || x.abs() > MAX_MAGNITUDE => Err(ValidationError::field(
            path,
            format!("must be between -{MAX_MAGNITUDE:e} and {MAX_MAGNITUDE:e}"),
        )),
        _ => Ok(()),
    }
}

/// PostgreSQL text cannot hold U+0000, so it is refused everywhere for both backends alike.
fn check_text(path: &str, v: Option<&str>) -> Result<(), ValidationError> {
    match v {
        Some(s) if s.contains('\0') => Err(ValidationError::field(
            path,
            "contains a NUL character (U+0000), which cannot be stored",
        )),
        _ => Ok(()),
    }
}

fn check_run(run: &RunResult) -> Result<(), ValidationError> {
    check_id("runId", &run.run_id)?;
    check_id("suite", &run.suite)?;
    check_id("scenario", &run.scenario)?;
    check_id("tier", &run.tier)?;
    check_id("agent", &run.agent)?;
    if let Some(b) = &run.batch_id {
        check_id("batchId", b)?;
    }
    if let Some(m) = &run.model {
        check_id("model", m)?;
    }
    check_number("totalScore", run.total_score)?;
    check_number("weightedScore", run.weighted_score)?;
    check_number("successMetric", run.success_metric)?;
    check_text("specialistName", run.specialist_name.as_deref())?;
    check_text("specialistVersion", run.specialist_version.as_deref())?;
    for (i, e) in run.evaluations.iter().enumerate() {
        let path = |field: &str| format!("evaluations[{i}].{field}");
        check_id(&path("evaluatorName"), &e.evaluator_name)?;
        check_number(&path("score"), Some(e.score))?;
        check_number(&path("maxScore"), Some(e.max_score))?;
        if e.max_score < 0.0 {
            return Err(ValidationError::field(
                path("maxScore"),
                "must not be negative",
            ));
        }
        check_text(&path("details"), e.details.as_deref())?;
    }
    if let Some(t) = &run.telemetry {
        check_count("telemetry.toolCalls", t.tool_calls)?;
        check_count("telemetry.tokensIn", t.tokens_in)?;
        check_count("telemetry.tokensOut", t.tokens_out)?;
        check_count("telemetry.durationMs", t.duration_ms)?;
        check_number("telemetry.costUsd", t.cost_usd)?;
        if t.cost_usd.is_some_and(|c| c < 0.0) {
            return Err(ValidationError::field(
                "telemetry.costUsd",
                "must not be negative",
            ));
        }
        check_text("telemetry.workspaceDir", t.workspace_dir.as_deref())?;
    }
    for name in run.artifacts.keys() {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            return Err(ValidationError::field(
                format!("artifacts.{name}"),
                "artifact names are 1-64 characters of letters, digits, '-', '_' or '.'",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"runId":"r1","suite":"s","scenario":"c","tier":"L1","agent":"a","status":"completed",
        "evaluations":[{"evaluatorName":"E","score":0.5,"maxScore":1}],
        "telemetry":{"tokensIn":10,"tokensOut":5,"costUsd":0.1}}"#;

    #[test]
    fn accepts_a_good_body() {
        let run = parse_run_result(GOOD.as_bytes()).unwrap();
        assert_eq!(run.run_id, "r1");
        assert_eq!(run.evaluations.len(), 1);
    }

    #[test]
    fn lists_every_missing_field() {
        let err = parse_run_result(br#"{"runId":"r1","suite":"","agent":null}"#).unwrap_err();
        assert_eq!(
            err,
            ValidationError::MissingFields(vec![
                "suite".into(),
                "scenario".into(),
                "tier".into(),
                "agent".into(),
                "status".into()
            ])
        );
    }

    #[test]
    fn names_the_path_of_a_wrong_type() {
        let body = GOOD.replace(r#""score":0.5"#, r#""score":"high""#);
        let err = parse_run_result(body.as_bytes()).unwrap_err();
        let details = err.details().unwrap();
        let text = details.as_str().unwrap();
        assert!(text.starts_with("evaluations[0].score: "), "{text}");
        assert!(text.contains("expected a number"), "{text}");
    }

    #[test]
    fn rejects_nan_infinity_and_out_of_range_numbers() {
        for bad in ["NaN", "Infinity", "-Infinity", "1e999"] {
            let body = GOOD.replace(r#""costUsd":0.1"#, &format!(r#""costUsd":{bad}"#));
            let err = parse_run_result(body.as_bytes()).unwrap_err();
            assert!(
                matches!(err, ValidationError::InvalidJson(_)),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn rejects_negative_counts() {
        let body = GOOD.replace(r#""tokensIn":10"#, r#""tokensIn":-1"#);
        let err = parse_run_result(body.as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "telemetry.tokensIn: must not be negative");
    }

    #[test]
    fn rejects_values_the_database_cannot_sum_or_hold() {
        let body = GOOD.replace(r#""tokensIn":10"#, r#""tokensIn":9223372036854775807"#);
        assert!(parse_run_result(body.as_bytes())
            .unwrap_err()
            .to_string()
            .starts_with("telemetry.tokensIn: must not exceed"));
        let body = GOOD.replace(r#""costUsd":0.1"#, r#""costUsd":1e300"#);
        assert!(parse_run_result(body.as_bytes())
            .unwrap_err()
            .to_string()
            .starts_with("telemetry.costUsd: "));
        let body = GOOD.replace(r#""score":0.5"#, r#""score":-1e200"#);
        assert!(parse_run_result(body.as_bytes())
            .unwrap_err()
            .to_string()
            .starts_with("evaluations[0].score: "));
        let body = GOOD.replace(r#""maxScore":1"#, r#""maxScore":-1"#);
        assert!(parse_run_result(body.as_bytes())
            .unwrap_err()
            .to_string()
            .starts_with("evaluations[0].maxScore: "));
        let body = GOOD.replace(
            r#""score":0.5,"maxScore":1"#,
            r#""score":0.5,"maxScore":1,"details":"a\u0000b""#,
        );
        assert!(parse_run_result(body.as_bytes())
            .unwrap_err()
            .to_string()
            .starts_with("evaluations[0].details: contains a NUL"));
    }

    #[test]
    fn rejects_unknown_status() {
        let body = GOOD.replace("completed", "done");
        let err = parse_run_result(body.as_bytes()).unwrap_err();
        assert!(err.to_string().starts_with("status: "), "{err}");
    }

    #[test]
    fn bulk_errors_name_the_item() {
        let body = format!("[{GOOD},{}]", GOOD.replace(r#""tier":"L1""#, r#""tier":5"#));
        let err = parse_run_results(body.as_bytes()).unwrap_err();
        assert!(err.to_string().starts_with("runs[1].tier: "), "{err}");
        assert_eq!(
            parse_run_results(format!(r#"{{"runs":[{GOOD}]}}"#).as_bytes())
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn parallel_parse_keeps_order_and_reports_the_first_bad_item() {
        let items: Vec<String> = (0..200)
            .map(|i| GOOD.replace(r#""runId":"r1""#, &format!(r#""runId":"r{i}""#)))
            .collect();
        let body = format!("[{}]", items.join(","));
        let runs = parse_run_results_with(body.as_bytes(), 3).unwrap();
        assert_eq!(runs.len(), 200);
        assert!(runs
            .iter()
            .enumerate()
            .all(|(i, r)| r.run_id == format!("r{i}")));
        let mut bad = items.clone();
        bad[150] = bad[150].replace(r#""tier":"L1""#, r#""tier":1"#);
        bad[170] = bad[170].replace(r#""tier":"L1""#, r#""tier":1"#);
        let err = parse_run_results_with(format!("[{}]", bad.join(",")).as_bytes(), 3).unwrap_err();
        assert!(err.to_string().starts_with("runs[150].tier"), "{err}");
    }

    #[test]
    fn batch_id_is_required() {
        assert_eq!(
            parse_batch_upsert(br#"{"totalRuns":3}"#).unwrap_err(),
            ValidationError::BatchIdRequired
        );
        let b = parse_batch_upsert(br#"{"batchId":"b1","createdAt":1741687200000}"#).unwrap();
        assert_eq!(b.batch_id, "b1");
    }
}
