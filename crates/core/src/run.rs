//! The `RunResult`: the body of `POST /api/results`, built by the harness, stored by the store.
//!
//! Field names are the seed's camelCase wire names (API.md). Optional fields are `Option` so that
//! what a client did not send is distinguishable from zero; the server never invents scores.

use crate::time::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Lifecycle state of a run, as the seed names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Completed,
    Failed,
    Running,
    Incomplete,
}

impl RunStatus {
    pub const ALL: [RunStatus; 4] = [
        RunStatus::Completed,
        RunStatus::Failed,
        RunStatus::Running,
        RunStatus::Incomplete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Running => "running",
            RunStatus::Incomplete => "incomplete",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                format!("unknown status {s:?}: expected completed, failed, running or incomplete")
            })
    }
}

// The `schema(...)` bounds on this file's input types restate the checks of `validate.rs`
// (`MAX_ID_LEN`, `MAX_MAGNITUDE`, `MAX_COUNT`, no control characters in identifiers, no U+0000
// in text), so the OpenAPI document describes what the server accepts and a generator working
// from it (the schemathesis proof in `.ci/fuzz`) reaches the store instead of the validator.
// `schema_bounds_match_the_validator` below keeps the two in step.

/// One benchmark run as submitted: identity, outcome, scores, evaluations, telemetry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    /// Client-chosen unique id; the idempotency key of the submission.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 512,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub run_id: String,
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 512,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub batch_id: Option<String>,
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 512,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub suite: String,
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 512,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub scenario: String,
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 512,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub tier: String,
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 512,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub agent: String,
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 512,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub model: Option<String>,
    pub status: RunStatus,
    /// Defaults to the time the server received the run when absent.
    #[serde(default)]
    pub started_at: Option<Timestamp>,
    #[serde(default)]
    pub completed_at: Option<Timestamp>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = -1e9, maximum = 1e9))]
    pub total_score: Option<f64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = -1e9, maximum = 1e9))]
    pub weighted_score: Option<f64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = -1e9, maximum = 1e9))]
    pub success_metric: Option<f64>,
    #[serde(default, deserialize_with = "null_as_false")]
    pub is_successful: bool,
    #[serde(default)]
    pub specialist_enabled: Option<bool>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub specialist_name: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub specialist_version: Option<String>,
    /// Any JSON object; stored as text and returned as a string, as the seed does.
    #[serde(default, serialize_with = "sorted_metadata")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default)]
    pub evaluations: Vec<EvaluationInput>,
    #[serde(default)]
    pub telemetry: Option<TelemetryInput>,
    /// (new) Large per-run texts (transcript, diff, command logs, prompt), stored apart from
    /// the run row and fetched on demand from `/api/runs/{runId}/artifacts/{name}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, String>,
}

/// One evaluator's score for a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EvaluationInput {
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 512,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub evaluator_name: String,
    #[cfg_attr(feature = "openapi", schema(minimum = -1e9, maximum = 1e9))]
    pub score: f64,
    #[serde(default = "one")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1e9))]
    pub max_score: f64,
    /// Free text, or any JSON value (stored as its JSON text).
    #[serde(default, deserialize_with = "text_or_json")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub details: Option<String>,
}

/// Smallest `maxScore` that scores are divided by (also used by the SQL breakdowns).
pub const MIN_DIVISOR: f64 = 1e-6;

fn one() -> f64 {
    1.0
}

/// Cost and effort of a run. Every field is optional: a CLI agent may not report tokens.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TelemetryInput {
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 0, maximum = 1_000_000_000_000i64)
    )]
    pub tool_calls: Option<i64>,
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 0, maximum = 1_000_000_000_000i64)
    )]
    pub tokens_in: Option<i64>,
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 0, maximum = 1_000_000_000_000i64)
    )]
    pub tokens_out: Option<i64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1e9))]
    pub cost_usd: Option<f64>,
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 0, maximum = 1_000_000_000_000i64)
    )]
    pub duration_ms: Option<i64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub workspace_dir: Option<String>,
    /// The prompt as sent; stored as the run's `prompt` artifact, not in the telemetry row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_sent: Option<String>,
}

impl TelemetryInput {
    /// True when nothing but the prompt was sent, so no telemetry row is needed.
    pub fn is_empty(&self) -> bool {
        self.tool_calls.is_none()
            && self.tokens_in.is_none()
            && self.tokens_out.is_none()
            && self.cost_usd.is_none()
            && self.duration_ms.is_none()
            && self.workspace_dir.is_none()
    }
}

impl EvaluationInput {
    /// Score scaled to 0–1 by its maximum, for aggregates across evaluators. A maximum too
    /// small to divide by (zero, or below [`MIN_DIVISOR`]) leaves the score as it is.
    pub fn normalized(&self) -> f64 {
        if self.max_score >= MIN_DIVISOR {
            self.score / self.max_score
        } else {
            self.score
        }
    }
}

fn null_as_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

fn text_or_json<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The OpenAPI bounds are literals in attributes; this keeps them equal to the constants
    /// the validator enforces, so the spec cannot promise more (or less) than the server does.
    #[cfg(feature = "openapi")]
    #[test]
    fn schema_bounds_match_the_validator() {
        use crate::validate::{MAX_COUNT, MAX_ID_LEN, MAX_MAGNITUDE};
        let spec = |schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>| {
            serde_json::to_value(schema).unwrap()
        };
        let run = spec(<RunResult as utoipa::PartialSchema>::schema());
        for id in ["runId", "suite", "scenario", "tier", "agent"] {
            let p = &run["properties"][id];
            assert_eq!(p["maxLength"], MAX_ID_LEN, "{id}");
            assert_eq!(p["minLength"], 1, "{id}");
            let pattern = regex::Regex::new(p["pattern"].as_str().unwrap()).unwrap();
            assert!(pattern.is_match("nx-pnpm monorepo"), "{id}");
            assert!(!pattern.is_match("   "), "{id}: blank is missing");
            assert!(!pattern.is_match("a\tb"), "{id}: control characters");
        }
        assert_eq!(run["properties"]["totalScore"]["maximum"], MAX_MAGNITUDE);
        assert_eq!(run["properties"]["totalScore"]["minimum"], -MAX_MAGNITUDE);
        let telemetry = spec(<TelemetryInput as utoipa::PartialSchema>::schema());
        for count in ["toolCalls", "tokensIn", "tokensOut", "durationMs"] {
            assert_eq!(
                telemetry["properties"][count]["maximum"], MAX_COUNT,
                "{count}"
            );
            assert_eq!(telemetry["properties"][count]["minimum"], 0, "{count}");
        }
        assert_eq!(telemetry["properties"]["costUsd"]["maximum"], MAX_MAGNITUDE);
        let eval = spec(<EvaluationInput as utoipa::PartialSchema>::schema());
        assert_eq!(eval["properties"]["evaluatorName"]["maxLength"], MAX_ID_LEN);
        assert_eq!(eval["properties"]["score"]["maximum"], MAX_MAGNITUDE);
        assert_eq!(eval["properties"]["maxScore"]["minimum"], 0);
    }

    #[test]
    fn status_parses_its_own_names_only() {
        for st in RunStatus::ALL {
            assert_eq!(st.as_str().parse::<RunStatus>().unwrap(), st);
        }
        assert!("done".parse::<RunStatus>().is_err());
    }

    #[test]
    fn details_may_be_an_object() {
        let e: EvaluationInput = serde_json::from_str(
            r#"{"evaluatorName":"LLMJudgeEvaluator","score":0.7,"details":{"scores":[1,2]}}"#,
        )
        .unwrap();
        assert_eq!(e.details.as_deref(), Some(r#"{"scores":[1,2]}"#));
        assert_eq!(e.max_score, 1.0);
    }
}

impl RunResult {
    /// A digest of the submitted content, independent of JSON key order, so a retried
    /// submission of the same run is recognised as a duplicate and a different one as a conflict.
    /// Struct fields serialize in declaration order and `metadata` with sorted keys, so the
    /// JSON text itself is canonical.
    pub fn content_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        // Writing into a hasher cannot fail.
        let _ = serde_json::to_writer(&mut hasher, self);
        let digest = hasher.finalize();
        let mut out = String::with_capacity(64);
        for b in digest {
            out.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
            out.push(char::from_digit((b & 15) as u32, 16).unwrap_or('0'));
        }
        out
    }
}

/// Serializes a JSON value with object keys sorted at every depth, whatever map type
/// serde_json was built with.
struct Sorted<'a>(&'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        match self.0 {
            Value::Object(map) => sorted_map(map, s),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Sorted(item))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

fn sorted_map<S: serde::Serializer>(map: &Map<String, Value>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    let mut m = s.serialize_map(Some(keys.len()))?;
    for k in keys {
        m.serialize_entry(k, &Sorted(&map[k]))?;
    }
    m.end()
}

fn sorted_metadata<S: serde::Serializer>(
    meta: &Option<Map<String, Value>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match meta {
        Some(map) => sorted_map(map, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod hash_tests {
    use super::*;

    #[test]
    fn hash_ignores_key_order_but_not_content() {
        let a: RunResult = serde_json::from_str(r#"{"runId":"r","suite":"s","scenario":"c","tier":"L1","agent":"a","status":"completed","metadata":{"x":{"a":[{"c":2,"d":1}],"b":1},"y":2}}"#).unwrap();
        let b: RunResult = serde_json::from_str(r#"{"metadata":{"y":2,"x":{"b":1,"a":[{"d":1,"c":2}]}},"status":"completed","agent":"a","tier":"L1","scenario":"c","suite":"s","runId":"r"}"#).unwrap();
        assert_eq!(a.content_hash(), b.content_hash());
        let mut c = a.clone();
        c.total_score = Some(0.5);
        assert_ne!(a.content_hash(), c.content_hash());
    }
}
