//! The other endpoints beyond the seed: exports, artifacts, the OpenAPI document and the event
//! stream. On SQLite and PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::time::Duration;
use tower::ServiceExt;
use zebench_store::backend_tests;
use zebench_store::testing::TestDb;

backend_tests!(
    exports_csv_and_jsonl_with_filters_and_formula_guard,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        seed_breakdown_data(&app).await;
        app.submit(&with(
            run("evil"),
            json!({"suite": "=HYPERLINK(\"http://x\")", "agent": "+cmd", "startedAt": T0 - 1,
        "metadata": {"note": "a,b \"quoted\"\nnext line"}}),
        ))
        .await;

        let r = app.get("/api/export?format=jsonl").await;
        r.expect(200);
        assert_eq!(r.header("content-type").unwrap(), "application/x-ndjson");
        let lines: Vec<Value> = r
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[0]["run"]["runId"], "r5");
        for l in &lines {
            assert_eq!(keys(l), sorted(&["run", "evaluations", "telemetry"]));
            let id = l["run"]["runId"].as_str().unwrap();
            assert_eq!(*l, app.get_json(&format!("/api/runs/{id}")).await);
        }
        let r = app.get("/api/export?format=jsonl&agent=codex").await;
        let ids: Vec<String> = r
            .text()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["run"]["runId"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(ids, ["r4", "r3"]);
        assert_eq!(
            app.get("/api/export?format=jsonl&max=2")
                .await
                .text()
                .lines()
                .count(),
            2
        );

        let r = app.get("/api/export?format=csv").await;
        r.expect(200);
        assert!(r.header("content-type").unwrap().starts_with("text/csv"));
        assert!(r
            .header("content-disposition")
            .unwrap()
            .contains("attachment"));
        let mut reader = csv::Reader::from_reader(r.body.as_ref());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        assert_eq!(&header[..3], ["runId", "batchId", "suite"]);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 6);
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let evil = rows.iter().find(|r| &r[0] == "evil").unwrap();
        assert_eq!(&evil[col("suite")], "'=HYPERLINK(\"http://x\")");
        assert_eq!(&evil[col("agent")], "'+cmd");
        let meta: Value = serde_json::from_str(&evil[col("metadata")]).unwrap();
        assert_eq!(meta["note"], "a,b \"quoted\"\nnext line");
        let r5 = &rows[0];
        assert_eq!(&r5[0], "r5");
        assert_eq!(&r5[col("tokensIn")], "100");
        assert_eq!(&r5[col("status")], "completed");
        let evals: Value = serde_json::from_str(&r5[col("evaluations")]).unwrap();
        assert_eq!(evals.as_array().unwrap().len(), 2);

        let r = app.get("/api/export?format=csv&suite=s1").await;
        let n = csv::Reader::from_reader(r.body.as_ref()).records().count();
        assert_eq!(n, 2);
        // An empty result is still a header line.
        let r = app.get("/api/export?format=csv&agent=nobody").await;
        assert_eq!(r.text().lines().count(), 1);
        assert_eq!(app.get("/api/export?format=xml").await.status, 400);
        app.close().await;
        db
    }
);

backend_tests!(
    artifacts_are_listed_and_served_as_inert_text,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let big: String = (0..5000).map(|i| format!("line {i}\n")).collect();
        let r = with(
            run("art"),
            json!({"artifacts": {"transcript": "<script>alert(1)</script>", "diff.json": "{\"a\":1}", "log": big}}),
        );
        app.submit(&r).await;
        let list = app.get_json("/api/runs/art/artifacts").await;
        assert_eq!(
            list,
            json!([{"name": "diff.json", "size": 7}, {"name": "log", "size": big.len()},
               {"name": "prompt", "size": 15}, {"name": "transcript", "size": 25}])
        );
        let prompt = app.get("/api/runs/art/artifacts/prompt").await;
        prompt.expect(200);
        assert_eq!(prompt.text(), "Update the deps");
        assert_eq!(
            prompt.header("content-type").unwrap(),
            "text/plain; charset=utf-8"
        );
        assert_eq!(prompt.header("x-content-type-options").unwrap(), "nosniff");
        let t = app.get("/api/runs/art/artifacts/transcript").await;
        assert_eq!(t.text(), "<script>alert(1)</script>");
        assert!(t.header("content-type").unwrap().starts_with("text/plain"));
        assert_eq!(t.header("x-content-type-options").unwrap(), "nosniff");
        assert!(t
            .header("content-security-policy")
            .unwrap()
            .contains("sandbox"));
        // Large ones are stored compressed and come back byte for byte.
        assert_eq!(app.get("/api/runs/art/artifacts/log").await.text(), big);
        let missing = app.get("/api/runs/art/artifacts/nope").await;
        assert_eq!(missing.expect(404), json!({"error": "Artifact not found"}));

        // A run without artifacts has an empty list.
        app.submit(&with(run("plain"), json!({"telemetry": null})))
            .await;
        assert_eq!(app.get_json("/api/runs/plain/artifacts").await, json!([]));
        app.close().await;
        db
    }
);

/// Route paths as registered in `src/routes/mod.rs`, with parameters as `{}`.
fn router_paths() -> Vec<String> {
    let src = include_str!("../src/routes/mod.rs");
    let mut paths: Vec<String> = src
        .split(".route(\"")
        .skip(1)
        .map(|s| normalize(&s[..s.find('"').unwrap()]))
        .collect();
    paths.sort();
    paths
}

fn normalize(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

backend_tests!(openapi_describes_every_route, |db: TestDb| async move {
    let app = TestApp::new(&db).await;
    let r = app.get("/api/openapi.json").await;
    let spec = r.expect(200);
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        spec["openapi"]
    );
    assert!(spec["info"]["title"].is_string());
    let documented: Vec<String> = spec["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|p| normalize(p))
        .collect();
    let routes = router_paths();
    assert!(routes.len() >= 18, "{routes:?}");
    for p in &routes {
        assert!(
            documented.contains(p),
            "route {p} is not in the OpenAPI document: {documented:?}"
        );
    }
    // And nothing documented is missing from the router.
    for p in &documented {
        assert!(routes.contains(p), "documented path {p} is not routed");
    }
    app.close().await;
    db
});

/// Reads SSE events until one named `name` whose data contains `needle`; returns every event
/// read (the match last), or `None` at the deadline.
async fn wait_for_event(
    body: &mut Body,
    buf: &mut String,
    name: &str,
    needle: &str,
    within: Duration,
) -> Option<Vec<String>> {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        if let Some(i) = buf.find("\n\n") {
            let event: String = buf.drain(..i + 2).collect();
            let hit = event.contains(&format!("event: {name}\n")) && event.contains(needle);
            seen.push(event);
            if hit {
                return Some(seen);
            }
            continue;
        }
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    buf.push_str(&String::from_utf8_lossy(&data));
                }
            }
            Ok(_) => panic!("event stream ended"),
            Err(_) => return None,
        }
    }
}

backend_tests!(
    events_stream_a_run_posted_after_subscribing,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let res = app
            .router
            .clone()
            .oneshot(Request::get("/api/events").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let mut body = res.into_body();
        let mut buf = String::new();
        assert!(
            wait_for_event(&mut body, &mut buf, "ready", "{}", Duration::from_secs(5))
                .await
                .is_some()
        );
        // On PostgreSQL events travel through LISTEN/NOTIFY: wait until the listener is live by
        // touching a batch until its event arrives.
        let mut live = false;
        for _ in 0..20 {
            app.post("/api/results/batch", &json!({"batchId": "warm-up"}))
                .await
                .expect(201);
            if wait_for_event(
                &mut body,
                &mut buf,
                "batch.updated",
                "warm-up",
                Duration::from_millis(500),
            )
            .await
            .is_some()
            {
                live = true;
                break;
            }
        }
        assert!(live, "no batch.updated event arrived");

        app.submit(&run("live-1")).await;
        let events = wait_for_event(
            &mut body,
            &mut buf,
            "run.created",
            "\"runId\":\"live-1\"",
            Duration::from_secs(10),
        )
        .await
        .unwrap_or_else(|| panic!("no run.created event for live-1; buffered: {buf}"));
        let data = events
            .last()
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap();
        let data: Value = serde_json::from_str(data).unwrap();
        assert_eq!(data["type"], "run.created");
        assert_eq!(data["batchId"], "batch-1");
        assert_eq!(data["agent"], "anthropic");
        // A duplicate submission stores nothing and announces nothing; the next run comes next.
        app.post("/api/results", &run("live-1")).await.expect(200);
        app.submit(&run("live-2")).await;
        let events = wait_for_event(
            &mut body,
            &mut buf,
            "run.created",
            "\"runId\":\"live-2\"",
            Duration::from_secs(10),
        )
        .await
        .expect("no run.created event for live-2");
        assert!(
            !events
                .iter()
                .any(|e| e.contains("run.created") && e.contains("live-1")),
            "{events:?}"
        );
        drop(body);
        app.close().await;
        db
    }
);
