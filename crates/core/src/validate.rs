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
    let value = parse_json(body)?;
    run_from_value(value)
}

/// Parses a bulk body: a JSON array of runs, or `{"runs": [...]}`.
pub fn parse_run_results(body: &[u8]) -> Result<Vec<RunResult>, ValidationError> {
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
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| run_from_value(v).map_err(|e| e.prefixed(&format!("runs[{i}]"))))
        .collect()
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

fn check_count(path: &str, v: Option<i64>) -> Result<(), ValidationError> {
    match v {
        Some(n) if n < 0 => Err(ValidationError::field(path, "must not be negative")),
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
    for (i, e) in run.evaluations.iter().enumerate() {
        check_id(
            &format!("evaluations[{i}].evaluatorName"),
            &e.evaluator_name,
        )?;
    }
    if let Some(t) = &run.telemetry {
        check_count("telemetry.toolCalls", t.tool_calls)?;
        check_count("telemetry.tokensIn", t.tokens_in)?;
        check_count("telemetry.tokensOut", t.tokens_out)?;
        check_count("telemetry.durationMs", t.duration_ms)?;
        if t.cost_usd.is_some_and(|c| c < 0.0) {
            return Err(ValidationError::field(
                "telemetry.costUsd",
                "must not be negative",
            ));
        }
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
    fn batch_id_is_required() {
        assert_eq!(
            parse_batch_upsert(br#"{"totalRuns":3}"#).unwrap_err(),
            ValidationError::BatchIdRequired
        );
        let b = parse_batch_upsert(br#"{"batchId":"b1","createdAt":1741687200000}"#).unwrap();
        assert_eq!(b.batch_id, "b1");
    }
}
