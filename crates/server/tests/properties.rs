//! Property: any valid run posted to `/api/results` reads back unchanged from
//! `/api/runs/{runId}` (run fields, evaluations, telemetry; metadata as a string holding the same
//! JSON), and posting it again is a duplicate. On SQLite and PostgreSQL.
//!
//! Numbers stay within realistic magnitudes here; extreme values that overflow the server's
//! running sums are covered by `edge_values.rs`.
//!
//! Floats must come back bit for bit: the server parses JSON with serde_json's
//! correctly rounded `float_roundtrip` parser (`edge_values.rs` pins that too).

mod common;

use common::*;
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use zebench_core::Timestamp;
use zebench_store::backend_tests;
use zebench_store::testing::TestDb;

/// Identifier-like text: no control characters, not blank.
fn ident() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9_.:/-]{1,24}",
        3 => "\\PC{1,12}".prop_filter("not blank", |s| !s.trim().is_empty()),
        1 => Just("<script>alert('x')</script>".to_string()),
        1 => Just("日本語 / émoji 🚀 / Ünïcödé".to_string()),
        1 => Just("Robert'); DROP TABLE runs;--".to_string()),
        1 => Just("=SUM(A1:A9)".to_string()),
        1 => Just(" padded ".to_string()),
    ]
}

/// Free text: anything but NUL (NUL is `edge_values.rs`'s business).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![ident(), "\\PC{0,40}", "[\\t\\n\\r a-z\"'\\\\<>&{}]{0,24}"]
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1e9f64..1e9,
        (0u32..=100).prop_map(|n| f64::from(n) / 10.0),
        Just(0.0),
        Just(-0.0),
        Just(1e-300),
        Just(5e-324),
    ]
}

fn count() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), 0i64..1_000, 0i64..1_000_000_000_000]
}

/// A timestamp as a client may send it: epoch milliseconds or an ISO string.
fn timestamp() -> impl Strategy<Value = Value> {
    (0i64..=253_402_300_799_999, any::<bool>()).prop_map(|(ms, as_iso)| {
        if as_iso {
            json!(Timestamp(ms).to_iso())
        } else {
            json!(ms)
        }
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::from),
        Just(json!("with \u{0} nul")),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            btree_map(text(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn evaluation() -> impl Strategy<Value = Value> {
    let details = prop_oneof![
        Just(None),
        text().prop_map(|s| Some(json!(s))),
        json_value()
            .prop_filter(
                "NUL in a text column",
                |v| !matches!(v, Value::String(s) if s.contains('\0'))
            )
            .prop_map(Some),
    ];
    let max = prop_oneof![Just(None), Just(Some(0.0)), (0.5f64..1000.0).prop_map(Some)];
    (ident(), score(), max, details).prop_map(|(name, score, max, details)| {
        let mut e = json!({"evaluatorName": name, "score": score});
        if let Some(m) = max {
            e["maxScore"] = json!(m);
        }
        if let Some(d) = details {
            e["details"] = d;
        }
        e
    })
}

fn telemetry() -> impl Strategy<Value = Value> {
    (
        (
            option::of(count()),
            option::of(count()),
            option::of(count()),
        ),
        (option::of(0.0f64..1e6), option::of(count())),
        (option::of(text()), option::of(text())),
    )
        .prop_map(|((tools, tin, tout), (cost, dur), (ws, prompt))| {
            let mut t = Map::new();
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    t.insert(k.to_string(), v);
                }
            };
            put("toolCalls", tools.map(Value::from));
            put("tokensIn", tin.map(Value::from));
            put("tokensOut", tout.map(Value::from));
            put("costUsd", cost.map(Value::from));
            put("durationMs", dur.map(Value::from));
            put("workspaceDir", ws.map(Value::from));
            put("promptSent", prompt.map(Value::from));
            Value::Object(t)
        })
}

/// A valid `POST /api/results` body; optional fields are absent or present at random.
fn run_body() -> impl Strategy<Value = Value> {
    let names = (
        ident(),
        ident(),
        ident(),
        ident(),
        option::of(ident()),
        option::of(ident()),
    );
    let status = prop_oneof![
        Just("completed"),
        Just("failed"),
        Just("running"),
        Just("incomplete")
    ];
    let times = (option::of(timestamp()), option::of(timestamp()));
    let scores = (
        option::of(score()),
        option::of(score()),
        option::of(score()),
        option::of(any::<bool>()),
    );
    let specialist = (
        option::of(any::<bool>()),
        option::of(text()),
        option::of(ident()),
    );
    let extra = (
        option::of(btree_map(text(), json_value(), 0..6)),
        vec(evaluation(), 0..=15),
        option::of(telemetry()),
    );
    (names, status, times, scores, specialist, extra).prop_map(
        |(names, status, times, scores, specialist, extra)| {
            let (run_id, suite, scenario, agent, model, batch) = names;
            let mut b = json!({"runId": run_id, "suite": suite, "scenario": scenario, "tier": "L1",
                               "agent": agent, "status": status});
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    b[k] = v;
                }
            };
            put("model", model.map(Value::from));
            put("batchId", batch.map(Value::from));
            put("startedAt", times.0);
            put("completedAt", times.1);
            put("totalScore", scores.0.map(Value::from));
            put("weightedScore", scores.1.map(Value::from));
            put("successMetric", scores.2.map(Value::from));
            put("isSuccessful", scores.3.map(Value::from));
            put("specialistEnabled", specialist.0.map(Value::from));
            put("specialistName", specialist.1.map(Value::from));
            put("specialistVersion", specialist.2.map(Value::from));
            put(
                "metadata",
                extra.0.map(|m| Value::Object(m.into_iter().collect())),
            );
            put("evaluations", Some(Value::Array(extra.1)));
            put("telemetry", extra.2);
            b
        },
    )
}

/// Every byte but unreserved ones percent-encoded.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn iso_of(sent: &Value) -> Value {
    match sent {
        Value::Number(n) => json!(Timestamp(n.as_i64().unwrap()).to_iso()),
        Value::String(s) => json!(Timestamp::parse_iso(s).unwrap().to_iso()),
        _ => Value::Null,
    }
}

/// JSON equality; integers exactly, floats bit for bit (see the module docs).
fn near(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => {
                let (f, g) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                // Exact; -0.0 equals 0.0 (SQLite stores them alike).
                f == g
            }
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| near(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| near(v, w)))
        }
        _ => a == b,
    }
}

macro_rules! check_same {
    ($got:expr, $want:expr, $what:expr) => {
        prop_assert!(
            near(&$got, &$want),
            "{}: got {}, want {}",
            $what,
            $got,
            $want
        )
    };
}

async fn round_trip(app: &TestApp, mut body: Value, n: usize) -> Result<(), TestCaseError> {
    // Unique per case (shrinking re-runs cases), so every post is a new run.
    let run_id = format!("{}#{n}", body["runId"].as_str().unwrap());
    body["runId"] = json!(run_id);
    let r = app.post("/api/results", &body).await;
    prop_assert_eq!(r.status.as_u16(), 201, "{}", r.text());
    let r = app.get(&format!("/api/runs/{}", pct(&run_id))).await;
    prop_assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    let d = r.json();
    let run = &d["run"];

    for f in [
        "runId",
        "suite",
        "scenario",
        "tier",
        "agent",
        "status",
        "model",
        "batchId",
        "totalScore",
        "weightedScore",
        "successMetric",
        "specialistEnabled",
        "specialistName",
        "specialistVersion",
    ] {
        check_same!(run[f], body[f], f);
    }
    check_same!(
        run["isSuccessful"],
        json!(body["isSuccessful"].as_bool().unwrap_or(false)),
        "isSuccessful"
    );
    check_same!(
        run["completedAt"],
        iso_of(&body["completedAt"]),
        "completedAt"
    );
    if body["startedAt"].is_null() {
        prop_assert!(is_iso(&run["startedAt"]));
    } else {
        check_same!(run["startedAt"], iso_of(&body["startedAt"]), "startedAt");
    }
    match run["metadata"].as_str() {
        Some(text) => {
            let parsed: Value = serde_json::from_str(text).unwrap();
            check_same!(parsed, body["metadata"], "metadata");
        }
        None => prop_assert!(body["metadata"].is_null(), "metadata lost"),
    }

    let sent = body["evaluations"].as_array().unwrap();
    let got = d["evaluations"].as_array().unwrap();
    prop_assert_eq!(got.len(), sent.len());
    for (g, s) in got.iter().zip(sent) {
        check_same!(g["evaluatorName"], s["evaluatorName"], "evaluatorName");
        check_same!(g["score"], s["score"], "score");
        let max = if s["maxScore"].is_null() {
            json!(1.0)
        } else {
            s["maxScore"].clone()
        };
        check_same!(g["maxScore"], max, "maxScore");
        match &s["details"] {
            // Sent as text: stored as that text.
            Value::Null | Value::String(_) => check_same!(g["details"], s["details"], "details"),
            // Sent as JSON: stored as its JSON text.
            other => {
                let text = g["details"].as_str().unwrap_or_default();
                let parsed: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                check_same!(parsed, *other, "details");
            }
        }
        prop_assert_eq!(&g["runId"], &json!(run_id));
    }

    let fields = [
        "toolCalls",
        "tokensIn",
        "tokensOut",
        "costUsd",
        "durationMs",
        "workspaceDir",
    ];
    let t = &body["telemetry"];
    if fields.iter().all(|f| t[f].is_null()) {
        prop_assert!(
            d["telemetry"].is_null(),
            "telemetry {} for {}",
            d["telemetry"],
            t
        );
    } else {
        for f in fields {
            check_same!(d["telemetry"][f], t[f], f);
        }
    }
    if let Some(prompt) = t["promptSent"].as_str() {
        let r = app
            .get(&format!("/api/runs/{}/artifacts/prompt", pct(&run_id)))
            .await;
        prop_assert_eq!(r.text(), prompt);
    }

    // The same body again is a duplicate.
    let r = app.post("/api/results", &body).await;
    prop_assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    prop_assert_eq!(&r.json()["duplicate"], &json!(true));
    Ok(())
}

backend_tests!(
    any_valid_run_reads_back_unchanged,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let handle = tokio::runtime::Handle::current();
        let n = AtomicUsize::new(0);
        let result = tokio::task::block_in_place(|| {
            let config = Config {
                cases: 48,
                failure_persistence: None,
                max_shrink_iters: 256,
                ..Config::default()
            };
            TestRunner::new(config).run(&run_body(), |body| {
                handle.block_on(round_trip(&app, body, n.fetch_add(1, Ordering::Relaxed)))
            })
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        let stored = app.run_count().await;
        assert!(stored >= 48, "{stored}");
        app.close().await;
        db
    }
);
