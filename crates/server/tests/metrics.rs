//! `GET /metrics`: valid Prometheus text whose counters, histograms and gauges move exactly as
//! the requests sent through the app say they should.
//!
//! The recorder is process-wide (the `metrics` facade has one global recorder), so the tests of
//! this file take [`LOCK`] and compare scrapes taken before and after their own requests.

mod common;

use axum::body::Body;
use axum::http::{Method, Request};
use common::*;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use tower::ServiceExt;
use zebench_server::config_file::{MetricsSection, ServerFile};
use zebench_server::ServerConfig;
use zebench_store::backend_tests;
use zebench_store::testing::TestDb;

static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One sample line: metric name, labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A series' labels other than `le`, in name order.
type Labels = Vec<(String, String)>;

/// A parsed scrape, checked against the text format's rules while parsing.
#[derive(Debug)]
struct Scrape {
    types: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

/// Parses the Prometheus text exposition format (0.0.4), panicking with the offending line on
/// anything malformed: a sample line must be `name{l="v",…} value`, names and label names
/// must be valid, label values correctly escaped, and every sample must belong to a family
/// declared by a `# TYPE` line before it.
fn parse(text: &str) -> Scrape {
    let valid_name = |n: &str| {
        !n.is_empty()
            && !n.starts_with(|c: char| c.is_ascii_digit())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect(line);
            assert!(valid_name(name), "bad metric name: {line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "bad type: {line}"
            );
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "family declared twice: {line}"
            );
            continue;
        }
        if line.starts_with('#') {
            assert!(line.starts_with("# HELP "), "unknown comment: {line}");
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => panic!("no value: {line}"),
        };
        assert!(valid_name(name), "bad metric name: {line}");
        let mut labels = BTreeMap::new();
        let value_text = if let Some(body) = rest.strip_prefix('{') {
            let (parsed, after) = parse_labels(body).unwrap_or_else(|e| panic!("{e}: {line}"));
            labels = parsed;
            after
        } else {
            rest
        };
        let value_text = value_text
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("no space before the value: {line}"));
        let value: f64 = match value_text {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value {v:?}: {line}")),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "sample before or without its # TYPE: {line}"
        );
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Scrape { types, samples }
}

/// Parses `k="v",…}` (the text after `{`); returns the labels and the rest of the line.
fn parse_labels(body: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = body;
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let (key, after_key) = rest.split_once("=\"").ok_or("label without =\"")?;
        if key.is_empty()
            || key.starts_with(|c: char| c.is_ascii_digit())
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!("bad label name {key:?}"));
        }
        let mut value = String::new();
        let mut chars = after_key.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    _ => return Err("bad escape".into()),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err("unterminated label value".into()),
            }
        };
        if labels.insert(key.to_string(), value).is_some() {
            return Err(format!("label {key} twice"));
        }
        rest = &after_key[end + 1..];
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err("expected , or } after a label".into());
        }
    }
}

impl Scrape {
    /// The value of the sample named `name` whose labels include all of `labels` (0 when absent).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let matching: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect();
        assert!(
            matching.len() <= 1,
            "{name} {labels:?} matches several series: {matching:?}"
        );
        matching.first().map_or(0.0, |s| s.value)
    }

    /// Every value the label `label` takes on `name`.
    fn label_values(&self, name: &str, label: &str) -> BTreeSet<String> {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter_map(|s| s.labels.get(label).cloned())
            .collect()
    }

    /// Checks every histogram: buckets cumulative (never decreasing with `le`), a `+Inf`
    /// bucket equal to `_count`, and a `_sum`. Returns how many series were checked.
    fn check_histograms(&self) -> usize {
        let mut checked = 0;
        for (family, _) in self.types.iter().filter(|(_, t)| *t == "histogram") {
            let bucket_name = format!("{family}_bucket");
            let mut series: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
            for s in self.samples.iter().filter(|s| s.name == bucket_name) {
                let le = s.labels.get("le").expect("bucket without le");
                let le: f64 = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                };
                let key: Labels = s
                    .labels
                    .iter()
                    .filter(|(k, _)| *k != "le")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                series.entry(key).or_default().push((le, s.value));
            }
            for (labels, mut buckets) in series {
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                for pair in buckets.windows(2) {
                    assert!(
                        pair[0].1 <= pair[1].1,
                        "{family} {labels:?}: buckets decrease: {buckets:?}"
                    );
                }
                let (last_le, last) = *buckets.last().unwrap();
                assert_eq!(last_le, f64::INFINITY, "{family} {labels:?} has no +Inf");
                let pairs: Vec<(&str, &str)> = labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let count = self.value(&format!("{family}_count"), &pairs);
                assert_eq!(last, count, "{family} {labels:?}: +Inf bucket ≠ _count");
                assert!(
                    self.samples
                        .iter()
                        .any(|s| s.name == format!("{family}_sum")),
                    "{family} has no _sum"
                );
                checked += 1;
            }
        }
        checked
    }
}

async fn scrape(app: &TestApp) -> Scrape {
    let r = app.get("/metrics").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    parse(&r.text())
}

fn config_with(metrics: MetricsSection) -> ServerConfig {
    ServerConfig {
        file: ServerFile {
            metrics,
            ..ServerFile::default()
        },
        ..config()
    }
}

const REQUESTS: &str = "zebench_http_requests_total";

backend_tests!(
    requests_are_counted_by_route_method_and_status,
    |db: TestDb| async move {
        let _serial = LOCK.lock().await;
        let app = TestApp::new(&db).await;
        let before = scrape(&app).await;
        app.submit(&run("m-1")).await;
        app.get_json("/api/runs/m-1").await;
        assert_eq!(app.get("/api/runs/absent").await.status, 404);
        assert_eq!(app.get("/api/stats").await.status, 200);
        // Unknown paths and methods must not create series of their own.
        for k in 0..25 {
            assert_eq!(
                app.get(&format!("/scan/{k}/wp-admin.php")).await.status,
                404
            );
        }
        let propfind = Method::from_bytes(b"PROPFIND").unwrap();
        app.send(
            Request::builder()
                .method(propfind)
                .uri("/api/runs")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let after = scrape(&app).await;

        let delta = |labels: &[(&str, &str)]| {
            after.value(REQUESTS, labels) - before.value(REQUESTS, labels)
        };
        let post = [
            ("route", "/api/results"),
            ("method", "POST"),
            ("status", "201"),
        ];
        assert_eq!(delta(&post), 1.0);
        let run_ok = [
            ("route", "/api/runs/{run_id}"),
            ("method", "GET"),
            ("status", "200"),
        ];
        assert_eq!(delta(&run_ok), 1.0);
        let run_missing = [
            ("route", "/api/runs/{run_id}"),
            ("method", "GET"),
            ("status", "404"),
        ];
        assert_eq!(delta(&run_missing), 1.0);
        assert_eq!(
            delta(&[
                ("route", "/api/stats"),
                ("method", "GET"),
                ("status", "200")
            ]),
            1.0
        );
        let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
        assert_eq!(delta(&unmatched), 25.0);
        assert_eq!(delta(&[("route", "/api/runs"), ("method", "other")]), 1.0);
        // The scrape before was counted by the one after (a scrape does not count itself).
        assert_eq!(
            delta(&[("route", "/metrics"), ("method", "GET"), ("status", "200")]),
            1.0
        );

        let routes = after.label_values(REQUESTS, "route");
        assert!(
            routes
                .iter()
                .all(|r| r == "unmatched" || r.starts_with('/')),
            "{routes:?}"
        );
        assert!(
            !routes
                .iter()
                .any(|r| r.contains("scan") || r.contains("m-1")),
            "{routes:?}"
        );
        let methods = after.label_values(REQUESTS, "method");
        assert!(!methods.contains("PROPFIND"), "{methods:?}");

        // Latency: one observation per request, on the route template.
        let duration = "zebench_http_request_duration_seconds_count";
        let route_post = [("route", "/api/results"), ("method", "POST")];
        assert_eq!(
            after.value(duration, &route_post) - before.value(duration, &route_post),
            1.0
        );
        let route_run = [("route", "/api/runs/{run_id}"), ("method", "GET")];
        assert_eq!(
            after.value(duration, &route_run) - before.value(duration, &route_run),
            2.0
        );
        assert_eq!(
            after.types["zebench_http_request_duration_seconds"],
            "histogram"
        );
        let les = after.label_values("zebench_http_request_duration_seconds_bucket", "le");
        for le in ["0.001", "0.01", "0.1", "1", "10", "+Inf"] {
            assert!(les.contains(le), "bucket {le} missing from {les:?}");
        }
        assert!(after.check_histograms() >= 3);

        // The database: the group commit, and one get_run per run lookup.
        let db_ops = "zebench_db_queries_total";
        let submit = [("operation", "submit"), ("result", "ok")];
        assert!(after.value(db_ops, &submit) - before.value(db_ops, &submit) >= 1.0);
        let get_run = [("operation", "get_run"), ("result", "ok")];
        assert_eq!(
            after.value(db_ops, &get_run) - before.value(db_ops, &get_run),
            2.0
        );
        let db_count = "zebench_db_query_duration_seconds_count";
        assert_eq!(
            after.value(db_count, &[("operation", "get_run")])
                - before.value(db_count, &[("operation", "get_run")]),
            2.0
        );
        assert!(after.value("zebench_db_commit_runs_count", &[]) >= 1.0);
        let operations = after.label_values(db_ops, "operation");
        assert!(
            operations
                .iter()
                .all(|o| o.chars().all(|c| c.is_ascii_lowercase() || c == '_')),
            "{operations:?}"
        );

        // Build info names the version and this app's database.
        let kind = app.state.store.kind().as_str();
        let info = [("version", env!("CARGO_PKG_VERSION")), ("database", kind)];
        assert_eq!(after.value("zebench_build_info", &info), 1.0);
        assert_eq!(after.types["zebench_process_cpu_seconds_total"], "counter");
        assert!(after.value("zebench_process_cpu_seconds_total", &[]) > 0.0);
        assert!(after.value("zebench_process_resident_memory_bytes", &[]) > 1e6);
        assert!(after.value("zebench_start_time_seconds", &[]) > 1.7e9);
        // Between this test's requests only the scrape itself is in flight.
        assert_eq!(after.value("zebench_http_requests_in_flight", &[]), 1.0);
        app.close().await;
        db
    }
);

backend_tests!(
    runs_ingested_counts_exactly_what_was_stored,
    |db: TestDb| async move {
        let _serial = LOCK.lock().await;
        let app = TestApp::new(&db).await;
        let ingested = "zebench_runs_ingested_total";
        let rejected = "zebench_submissions_rejected_total";
        let before = scrape(&app).await;
        for labels in [
            [("outcome", "created"), ("path", "single")],
            [("outcome", "duplicate"), ("path", "bulk")],
        ] {
            // Present from the start, so rate() works before the first submission.
            assert!(before.samples.iter().any(|s| s.name == ingested
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))));
        }

        app.submit(&run("i-1")).await; // created, single
        app.post("/api/results", &run("i-1")).await.expect(200); // duplicate, single
        let bulk = json!([run("i-1"), run("i-2"), run("i-3"), run("i-2")]);
        let r = app.post("/api/results/bulk", &bulk).await.expect(201);
        assert_eq!(
            (r["created"].as_u64(), r["duplicates"].as_u64()),
            (Some(2), Some(2))
        );
        // Refused: conflicting content (409), a wrong key (403), invalid JSON (400).
        let changed = with(run("i-1"), json!({"totalScore": 0.1}));
        app.post("/api/results", &changed).await.expect(409);
        app.post_raw("/api/results", run("i-4").to_string(), Some("Bearer wrong"))
            .await
            .expect(403);
        app.post_raw("/api/results/bulk", "[{", Some(&format!("Bearer {KEY}")))
            .await
            .expect(400);
        let after = scrape(&app).await;

        let d = |name: &str, labels: &[(&str, &str)]| {
            after.value(name, labels) - before.value(name, labels)
        };
        assert_eq!(
            d(ingested, &[("outcome", "created"), ("path", "single")]),
            1.0
        );
        assert_eq!(
            d(ingested, &[("outcome", "duplicate"), ("path", "single")]),
            1.0
        );
        assert_eq!(
            d(ingested, &[("outcome", "created"), ("path", "bulk")]),
            2.0
        );
        assert_eq!(
            d(ingested, &[("outcome", "duplicate"), ("path", "bulk")]),
            2.0
        );
        let created = d(ingested, &[("outcome", "created"), ("path", "single")])
            + d(ingested, &[("outcome", "created"), ("path", "bulk")]);
        assert_eq!(
            created as usize,
            app.run_count().await,
            "created runs = stored runs"
        );
        assert_eq!(
            d(rejected, &[("route", "/api/results"), ("class", "4xx")]),
            2.0
        );
        assert_eq!(
            d(
                rejected,
                &[("route", "/api/results/bulk"), ("class", "4xx")]
            ),
            1.0
        );
        assert_eq!(
            d(rejected, &[("route", "/api/results"), ("class", "5xx")]),
            0.0
        );
        assert_eq!(
            d(REQUESTS, &[("route", "/api/results"), ("status", "409")]),
            1.0
        );
        app.close().await;
        db
    }
);

#[tokio::test]
async fn sse_subscribers_gauge_follows_open_streams() {
    let _serial = LOCK.lock().await;
    let db = TestDb::sqlite().await;
    let app = TestApp::new(&db).await;
    let gauge = "zebench_sse_subscribers";
    let open = || async {
        let res = app
            .router
            .clone()
            .oneshot(Request::get("/api/events").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res
    };
    let base = scrape(&app).await.value(gauge, &[]);
    let first = open().await;
    let second = open().await;
    assert_eq!(scrape(&app).await.value(gauge, &[]), base + 2.0);
    drop(first);
    assert_eq!(scrape(&app).await.value(gauge, &[]), base + 1.0);
    drop(second);
    assert_eq!(scrape(&app).await.value(gauge, &[]), base);
    app.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn metrics_can_be_turned_off_or_moved_off_the_main_port() {
    let _serial = LOCK.lock().await;
    let db = TestDb::sqlite().await;
    let off = TestApp::with_config(
        &db,
        config_with(MetricsSection {
            enabled: false,
            bind: None,
        }),
    )
    .await;
    assert_eq!(off.get("/metrics").await.status, 404);
    off.close().await;

    let moved = TestApp::with_config(
        &db,
        config_with(MetricsSection {
            enabled: true,
            bind: Some("127.0.0.1:0".parse().unwrap()),
        }),
    )
    .await;
    assert_eq!(moved.get("/metrics").await.status, 404);
    moved.submit(&run("moved-1")).await;
    // The separate listener's router serves what the main app recorded.
    let res = zebench_server::metrics::router()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let text = parse(std::str::from_utf8(&body).unwrap());
    assert!(text.value(REQUESTS, &[("route", "/api/results"), ("status", "201")]) >= 1.0);
    let other = zebench_server::metrics::router()
        .oneshot(Request::get("/api/stats").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        404,
        "the metrics listener serves nothing else"
    );
    moved.close().await;
    db.cleanup().await;
}

#[test]
fn the_parser_rejects_malformed_text() {
    let good = "# TYPE a_total counter\na_total{x=\"1\",y=\"q\\\"\"} 3\n";
    let s = parse(good);
    assert_eq!(s.value("a_total", &[("y", "q\"")]), 3.0);
    for bad in [
        "a_total 1\n",                                 // no TYPE
        "# TYPE a_total counter\na_total{x=1} 1\n",    // unquoted
        "# TYPE a_total counter\na_total{x=\"1\" 1\n", // unterminated
        "# TYPE a_total counter\na_total one\n",       // bad value
        "# TYPE 1a counter\n",                         // bad name
    ] {
        assert!(
            std::panic::catch_unwind(|| parse(bad)).is_err(),
            "accepted: {bad:?}"
        );
    }
    let decreasing =
        "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 4\nh_sum 1\nh_count 4\n";
    let s = parse(decreasing);
    assert!(std::panic::catch_unwind(|| s.check_histograms()).is_err());
}
