//! The `ask_user` oracle: canned answers to an agent's questions, so a benchmark run stays
//! unattended and reproducible while still rewarding agents that ask before guessing.
//!
//! `oracle-answers.json` is a flat object of question-or-topic → answer. Matching follows
//! SUITE-FORMAT.md "ask_user oracle" exactly; keys are kept in file order because the
//! "first key that matches" rule depends on it.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// Answer given when no key matches the question.
pub const DEFAULT_ANSWER: &str =
    "Proceed with your best judgment based on the constraints provided.";

/// How many leading characters of the question are looked for inside a key.
const PREFIX_CHARS: usize = 20;

/// Question/topic → answer pairs, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Oracle {
    entries: Vec<(String, String)>,
}

/// Why an answers file could not be loaded; every variant names the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum OracleError {
    #[error("cannot read oracle answers file {}: {source} (check oracle.answers_file in scenario.yaml; it is relative to the scenario folder)", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("oracle answers file {} is {}; the limit is {}", path.display(), crate::suite::limits::human_bytes(*size), crate::suite::limits::human_bytes(*limit))]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("oracle answers file {} is not valid JSON: {message} (it must be a flat JSON object of \"question or topic\": \"answer\")", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("oracle answers file {} must be a flat JSON object of \"question or topic\": \"answer\", found {found}", path.display())]
    NotObject { path: PathBuf, found: String },
    #[error("oracle answers file {}: the value of key {key:?} is {found}, not a string (write the answer as a JSON string)", path.display())]
    NonString {
        path: PathBuf,
        key: String,
        found: String,
    },
}

impl Oracle {
    /// Loads an `oracle-answers.json` file.
    pub fn load(path: &Path) -> Result<Oracle, OracleError> {
        use crate::suite::limits::{read_text, MAX_ORACLE_BYTES};
        use crate::suite::SuiteError;
        let text = read_text(path, MAX_ORACLE_BYTES).map_err(|e| match e {
            SuiteError::TooLarge { size, limit, .. } => OracleError::TooLarge {
                path: path.to_path_buf(),
                size,
                limit,
            },
            SuiteError::Io { source, .. } => OracleError::Read {
                path: path.to_path_buf(),
                source,
            },
            other => OracleError::Read {
                path: path.to_path_buf(),
                source: std::io::Error::other(other.to_string()),
            },
        })?;
        Self::from_json_str(&text).map_err(|e| e.with_path(path))
    }

    /// Parses the JSON text of an answers file (errors carry an empty path).
    pub fn from_json_str(text: &str) -> Result<Oracle, OracleError> {
        let no_path = PathBuf::new();
        let doc: OrderedDoc = serde_json::from_str(text).map_err(|e| OracleError::Parse {
            path: no_path.clone(),
            message: e.to_string(),
        })?;
        let pairs = match doc {
            OrderedDoc::Object(pairs) => pairs,
            OrderedDoc::Other(found) => {
                return Err(OracleError::NotObject {
                    path: no_path,
                    found: kind_of(&found).into(),
                })
            }
        };
        let mut entries = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            match value {
                Value::String(answer) => entries.push((key, answer)),
                other => {
                    return Err(OracleError::NonString {
                        path: no_path,
                        key,
                        found: kind_of(&other).into(),
                    })
                }
            }
        }
        Ok(Oracle { entries })
    }

    /// Builds an oracle from pairs (kept in the given order), for agents and tests.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Oracle {
        Oracle {
            entries: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The pairs in file order.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// Answers a question: exact match of the trimmed lower-cased question; else the first key
    /// (lower-cased, `_`/`-` read as spaces) that the question contains or that contains the
    /// question's first 20 characters; else [`DEFAULT_ANSWER`]. Empty keys and empty questions
    /// never match by containment (they would match everything).
    pub fn answer(&self, question: &str) -> String {
        let q = question.trim().to_lowercase();
        if q.is_empty() {
            return DEFAULT_ANSWER.to_string();
        }
        if let Some((_, a)) = self
            .entries
            .iter()
            .find(|(k, _)| k.trim().to_lowercase() == q)
        {
            return a.clone();
        }
        let prefix: String = q.chars().take(PREFIX_CHARS).collect();
        // The question is read the same way as the keys, so a key `left-pad` matches a question
        // that says "left-pad" (the seed compared the raw question and missed it).
        let qn = normalize_key(&q);
        let prefix_n = normalize_key(&prefix);
        self.entries
            .iter()
            .find(|(k, _)| {
                let key = normalize_key(k);
                !key.is_empty()
                    && (q.contains(&key)
                        || qn.contains(&key)
                        || key.contains(&prefix)
                        || key.contains(&prefix_n))
            })
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| DEFAULT_ANSWER.to_string())
    }
}

impl OracleError {
    fn with_path(self, p: &Path) -> OracleError {
        let path = p.to_path_buf();
        match self {
            OracleError::Read { source, .. } => OracleError::Read { path, source },
            OracleError::TooLarge { size, limit, .. } => {
                OracleError::TooLarge { path, size, limit }
            }
            OracleError::Parse { message, .. } => OracleError::Parse { path, message },
            OracleError::NotObject { found, .. } => OracleError::NotObject { path, found },
            OracleError::NonString { key, found, .. } => {
                OracleError::NonString { path, key, found }
            }
        }
    }
}

/// Lower-cases a key and reads `_`/`-` as spaces.
fn normalize_key(key: &str) -> String {
    key.trim().to_lowercase().replace(['_', '-'], " ")
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON document whose top-level object keeps its key order (serde_json's `Map` sorts keys
/// unless the crate-wide `preserve_order` feature is on, which would affect every crate).
enum OrderedDoc {
    Object(Vec<(String, Value)>),
    Other(Value),
}

impl<'de> Deserialize<'de> for OrderedDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedDoc;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<OrderedDoc, A::Error> {
                let mut pairs = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    pairs.push((k, v));
                }
                Ok(OrderedDoc::Object(pairs))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<OrderedDoc, A::Error> {
                while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(OrderedDoc::Other(Value::Array(Vec::new())))
            }
            fn visit_str<E>(self, _: &str) -> Result<OrderedDoc, E> {
                Ok(OrderedDoc::Other(Value::String(String::new())))
            }
            fn visit_bool<E>(self, b: bool) -> Result<OrderedDoc, E> {
                Ok(OrderedDoc::Other(Value::Bool(b)))
            }
            fn visit_i64<E>(self, n: i64) -> Result<OrderedDoc, E> {
                Ok(OrderedDoc::Other(Value::from(n)))
            }
            fn visit_u64<E>(self, n: u64) -> Result<OrderedDoc, E> {
                Ok(OrderedDoc::Other(Value::from(n)))
            }
            fn visit_f64<E>(self, n: f64) -> Result<OrderedDoc, E> {
                Ok(OrderedDoc::Other(Value::from(n)))
            }
            fn visit_unit<E>(self) -> Result<OrderedDoc, E> {
                Ok(OrderedDoc::Other(Value::Null))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dashed_keys_match_questions_that_spell_them_with_dashes() {
        let o = super::Oracle::from_pairs([("left-pad", "Use @acme/left-pad.")]);
        assert_eq!(o.answer("Should I keep left-pad?"), "Use @acme/left-pad.");
        assert_eq!(o.answer("what about left_pad"), "Use @acme/left-pad.");
    }

    use super::*;

    const REAL: &str =
        "/work/shared/suites/update-deps/scenarios/nx-pnpm-monorepo/oracle-answers.json";

    fn real() -> Oracle {
        Oracle::load(Path::new(REAL)).expect("real oracle file loads")
    }

    #[test]
    fn loads_real_file_in_file_order() {
        let o = real();
        assert_eq!(o.entries().len(), 10);
        assert_eq!(o.entries()[0].0, "assume_risk_for_major_bumps");
        assert_eq!(
            o.entries()[9].0,
            "add typescript and nx to workspace packages"
        );
    }

    #[test]
    fn exact_match_is_trimmed_and_case_insensitive() {
        let o = real();
        assert!(o
            .answer("  Should I update to React 19  ")
            .starts_with("No, stay on React 18.x"));
    }

    #[test]
    fn key_contained_in_question_with_underscores_as_spaces() {
        let o = real();
        let a = o.answer("Should we assume risk for major bumps in this repo?");
        assert!(
            a.starts_with("Yes, but only for runtime dependencies"),
            "{a}"
        );
        let a = o.answer("Do you accept namespace migration codemods?");
        assert_eq!(a, "Yes");
    }

    #[test]
    fn key_containing_question_prefix() {
        let o = real();
        // first 20 chars: "upgrade react and it" is inside the key.
        let a = o.answer("Upgrade react and its peer deps to something newer?");
        assert!(a.starts_with("No, do NOT upgrade to React 19"), "{a}");
    }

    #[test]
    fn first_matching_key_in_file_order_wins() {
        let o = Oracle::from_pairs([("zeta", "first"), ("alpha", "second")]);
        assert_eq!(o.answer("alpha and zeta?"), "first");
    }

    #[test]
    fn default_answer_when_nothing_matches() {
        let o = real();
        assert_eq!(o.answer("What is the capital of France?"), DEFAULT_ANSWER);
        assert_eq!(o.answer("   "), DEFAULT_ANSWER);
    }

    #[test]
    fn non_string_value_names_the_key_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("oracle-answers.json");
        std::fs::write(&p, r#"{"ok": "fine", "bad_key": 3}"#).unwrap();
        let e = Oracle::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("bad_key") && e.contains("oracle-answers.json"),
            "{e}"
        );
        assert!(e.contains("a number"), "{e}");
    }

    #[test]
    fn invalid_json_missing_file_and_non_object_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        std::fs::write(&p, "{ nope").unwrap();
        assert!(matches!(Oracle::load(&p), Err(OracleError::Parse { .. })));
        std::fs::write(&p, "[1, 2]").unwrap();
        let e = Oracle::load(&p).unwrap_err();
        assert!(matches!(e, OracleError::NotObject { .. }));
        assert!(e.to_string().contains("an array"));
        let missing = dir.path().join("missing.json");
        let e = Oracle::load(&missing).unwrap_err().to_string();
        assert!(e.contains("missing.json"), "{e}");
    }
}
