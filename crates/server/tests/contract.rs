//! Regression tests for what the schemathesis proof (`.ci/fuzz`) found: places where the
//! OpenAPI document and the server's real answers disagreed. Each test checks a real response
//! against the spec, so a spec that drifts from the code again fails here, not only in CI's
//! fuzz run.

mod common;

use common::{run, with, TestApp};
use serde_json::{json, Value};
use zebench_store::testing::TestDb;

fn spec() -> Value {
    serde_json::from_str(&zebench_server::openapi::spec_json()).expect("the spec is JSON")
}

/// Every `$ref` in `v`, recursively.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| refs(i, out)),
        _ => {}
    }
}

/// `GET /api/breakdowns/{dimension}` referred to a `Dimension` schema that was never added to
/// the components, so no generator could build a request for it.
#[test]
fn every_schema_reference_resolves() {
    let spec = spec();
    let mut found = Vec::new();
    refs(&spec, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {r}"));
        assert!(
            spec["components"]["schemas"][name].is_object(),
            "{r} is referenced but not defined"
        );
    }
}

/// `details` was documented as an object, but the server sends a string (`path: problem`) or
/// a list of names. Checks real 400 and 409 bodies against the documented alternatives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_details_are_a_string_or_a_list_of_strings_as_documented() {
    let spec = spec();
    let alternatives = spec["components"]["schemas"]["ErrorDetails"]["oneOf"]
        .as_array()
        .expect("ErrorDetails is a oneOf");
    let types: Vec<&str> = alternatives
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["string", "array"]);
    assert_eq!(alternatives[1]["items"]["type"], "string");

    let db = TestDb::sqlite().await;
    let app = TestApp::new(&db).await;
    app.submit(&run("r1")).await;
    let auth = Some("Bearer test-key");
    let answers = [
        app.post_raw("/api/results", "", auth).await,
        app.post_raw("/api/results", "{\"runId\":\"x\"}", auth)
            .await,
        app.post("/api/results", &with(run("r1"), json!({"agent": "other"})))
            .await,
        app.post("/api/results/batch", &json!({"batchId": 5})).await,
        app.get("/api/runs?limit=0").await,
        app.get("/api/breakdowns/colour").await,
    ];
    let mut shapes = Vec::new();
    for r in &answers {
        assert!(r.status.is_client_error(), "{:?} {}", r.status, r.text());
        let body = r.json();
        assert!(body["error"].is_string(), "{body}");
        match &body["details"] {
            Value::Null => shapes.push("none"),
            Value::String(_) => shapes.push("string"),
            Value::Array(items) if items.iter().all(Value::is_string) => shapes.push("list"),
            other => panic!("undocumented details {other} in {body}"),
        }
    }
    assert!(
        shapes.contains(&"string") && shapes.contains(&"list"),
        "{shapes:?}"
    );
    app.close().await;
    db.cleanup().await;
}

/// An artifact named `*.json` was always sent as `application/json`, which the spec did not
/// list, and was sent so even when its text was not JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_artifacts_are_labelled_json_only_when_they_parse() {
    let spec = spec();
    let content =
        &spec["paths"]["/api/runs/{runId}/artifacts/{name}"]["get"]["responses"]["200"]["content"];
    assert!(content["text/plain"].is_object() && content["application/json"].is_object());

    let db = TestDb::sqlite().await;
    let app = TestApp::new(&db).await;
    let artifacts =
        json!({"good.json": "{\"ok\": [1, 2]}", "bad.json": "{not json", "log": "{\"x\":1}"});
    app.submit(&with(run("r1"), json!({ "artifacts": artifacts })))
        .await;
    for (name, want) in [
        ("good.json", "application/json"),
        ("bad.json", "text/plain; charset=utf-8"),
        ("log", "text/plain; charset=utf-8"),
    ] {
        let r = app.get(&format!("/api/runs/r1/artifacts/{name}")).await;
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert_eq!(r.header("content-type").as_deref(), Some(want), "{name}");
        assert_eq!(r.text(), artifacts[name].as_str().unwrap(), "{name}");
    }
    app.close().await;
    db.cleanup().await;
}

/// `GET /api/export?format=csv` answered `text/csv`, which the spec did not list; `format` was
/// documented as required although it defaults to jsonl.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_content_types_and_the_optional_format_are_documented() {
    let spec = spec();
    let op = &spec["paths"]["/api/export"]["get"];
    let documented = &op["responses"]["200"]["content"];
    let format = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "format")
        .unwrap();
    assert_eq!(format["required"], false);

    let db = TestDb::sqlite().await;
    let app = TestApp::new(&db).await;
    app.submit(&run("r1")).await;
    for query in ["", "?format=jsonl", "?format=csv"] {
        let r = app.get(&format!("/api/export{query}")).await;
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        let sent = r.header("content-type").unwrap();
        let media = sent.split(';').next().unwrap().trim();
        assert!(
            documented[media].is_object(),
            "{query}: {sent} is not documented"
        );
    }
    app.close().await;
    db.cleanup().await;
}

/// A path segment that is not UTF-8 once percent-decoded got axum's plain-text 400, a status
/// and content type the spec does not list for these routes; it is now the documented 404 in
/// the API's error shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_path_segments_are_documented_404s() {
    let spec = spec();
    let db = TestDb::sqlite().await;
    let app = TestApp::new(&db).await;
    app.submit(&run("r1")).await;
    for (uri, route) in [
        ("/api/runs/%FF", "/api/runs/{runId}"),
        (
            "/api/runs/%C3%28/evaluations",
            "/api/runs/{runId}/evaluations",
        ),
        ("/api/runs/%FF/telemetry", "/api/runs/{runId}/telemetry"),
        ("/api/runs/%FF/artifacts", "/api/runs/{runId}/artifacts"),
        (
            "/api/runs/r1/artifacts/%FF",
            "/api/runs/{runId}/artifacts/{name}",
        ),
        ("/api/batches/%FF", "/api/batches/{batchId}"),
        ("/api/breakdowns/%FF", "/api/breakdowns/{dimension}"),
    ] {
        let r = app.get(uri).await;
        assert_eq!(r.status, 404, "{uri}: {}", r.text());
        assert_eq!(r.json(), json!({"error": "Not found"}), "{uri}");
        assert!(
            spec["paths"][route]["get"]["responses"]["404"].is_object(),
            "{route} documents 404"
        );
    }
    app.close().await;
    db.cleanup().await;
}
