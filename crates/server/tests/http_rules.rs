//! The common rules of API.md: unknown routes, auth on write routes, query limits, missing runs
//! and batches, and CORS. Refused writes store nothing. On SQLite and PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{Method, Request};
use common::*;
use serde_json::{json, Value};
use zebench_store::backend_tests;
use zebench_store::testing::TestDb;

backend_tests!(unknown_routes_are_404_not_found, |db: TestDb| async move {
    let app = TestApp::new(&db).await;
    app.submit(&run("kept")).await;
    let before = app.snapshot().await;
    for uri in [
        "/nope",
        "/api",
        "/api/nope",
        "/api/runs/x/y/z",
        "/api/stats/models",
        "/health/deep",
    ] {
        let r = app.get(uri).await;
        assert_eq!(r.expect(404), json!({"error": "Not found"}), "{uri}");
        assert!(r
            .header("content-type")
            .unwrap()
            .starts_with("application/json"));
    }
    for uri in ["/api/nope", "/api/results/extra", "/api/result"] {
        let r = app.post(uri, &run("posted-to-nowhere")).await;
        assert_eq!(r.expect(404), json!({"error": "Not found"}), "{uri}");
    }
    assert_eq!(app.snapshot().await, before);
    // A known path with another method is not a 404 and not a stack trace.
    let r = app
        .send(Request::delete("/api/runs").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.expect(405), json!({"error": "Method not allowed"}));
    app.close().await;
    db
});

backend_tests!(write_routes_need_the_bearer_key, |db: TestDb| async move {
    let app = TestApp::new(&db).await;
    app.submit(&run("kept")).await;
    let before = app.snapshot().await;
    let bodies = [
        ("/api/results", run("auth-1")),
        ("/api/results/bulk", json!([run("auth-2")])),
        ("/api/results/batch", json!({"batchId": "auth-batch"})),
    ];
    let cases: [(Option<&str>, u16, &str); 7] = [
        (None, 401, "Unauthorized"),
        (Some("Basic x"), 401, "Unauthorized"),
        (Some("Bearer"), 401, "Unauthorized"),
        (Some("Bearer "), 401, "Unauthorized"),
        (Some("test-key"), 401, "Unauthorized"),
        (Some("Bearer wrong"), 403, "Invalid API key"),
        (Some("Bearer test-key-and-more"), 403, "Invalid API key"),
    ];
    for (uri, body) in &bodies {
        for (auth, status, error) in cases {
            let r = app.post_raw(uri, body.to_string(), auth).await;
            assert_eq!(
                r.expect(status),
                json!({"error": error}),
                "{uri} with {auth:?}"
            );
        }
        // Auth is checked before the body: an invalid body without a key is still a 401.
        let r = app.post_raw(uri, "{", None).await;
        assert_eq!(r.expect(401), json!({"error": "Unauthorized"}));
    }
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.get("/api/runs/auth-1").await.status, 404);
    assert_eq!(app.get("/api/batches/auth-batch").await.status, 404);
    // Reads need no key.
    app.get("/api/runs").await.expect(200);

    // A server with no key configured refuses every write.
    let locked = TestApp::with_config(&db, zebench_server::ServerConfig::default()).await;
    let r = locked.post("/api/results", &run("locked")).await;
    assert_eq!(r.expect(403), json!({"error": "Invalid API key"}));
    // Several keys: each one works.
    let config = zebench_server::ServerConfig {
        api_keys: vec![
            zebench_server::ApiKey::new("k1"),
            zebench_server::ApiKey::new("k2"),
        ],
        ..Default::default()
    };
    let multi = TestApp::with_config(&db, config).await;
    for (i, key) in ["k1", "k2"].iter().enumerate() {
        let body = run(&format!("multi-{i}")).to_string();
        multi
            .post_raw("/api/results", body, Some(&format!("Bearer {key}")))
            .await
            .expect(201);
    }
    locked.close().await;
    multi.close().await;
    app.close().await;
    db
});

backend_tests!(bad_limits_are_400, |db: TestDb| async move {
    let app = TestApp::new(&db).await;
    for base in ["/api/runs", "/api/batches"] {
        for bad in ["abc", "0", "-1", "100000", "1001", "1.5", "", "1e3"] {
            let r = app.get(&format!("{base}?limit={bad}")).await;
            let e = r.expect(400);
            assert!(
                e["error"].as_str().unwrap().contains("limit"),
                "{base} {bad:?}: {e}"
            );
            assert!(e["details"].as_str().unwrap().starts_with("limit: "), "{e}");
        }
        for ok in ["1", "1000", "50"] {
            app.get(&format!("{base}?limit={ok}")).await.expect(200);
        }
    }
    assert_eq!(app.get("/api/runs?status=done").await.status, 400);
    assert_eq!(app.get("/api/runs?since=tomorrow").await.status, 400);
    app.close().await;
    db
});

backend_tests!(unknown_runs_and_batches_are_404, |db: TestDb| async move {
    let app = TestApp::new(&db).await;
    app.submit(&run("exists")).await;
    for uri in [
        "/api/runs/missing",
        "/api/runs/missing/evaluations",
        "/api/runs/missing/telemetry",
        "/api/runs/missing/artifacts",
        "/api/runs/missing/artifacts/prompt",
        "/api/runs/EXISTS",
        "/api/runs/exists%20",
    ] {
        assert_eq!(
            app.get(uri).await.expect(404),
            json!({"error": "Run not found"}),
            "{uri}"
        );
    }
    for uri in ["/api/batches/missing", "/api/batches/BATCH-1"] {
        assert_eq!(
            app.get(uri).await.expect(404),
            json!({"error": "Batch not found"}),
            "{uri}"
        );
    }
    app.get("/api/runs/exists").await.expect(200);
    app.get("/api/batches/batch-1").await.expect(200);
    // Ids with characters that need escaping in a URL work.
    let odd = "run/with spaces?&#%é";
    app.submit(&run(odd)).await;
    let escaped: String = odd.bytes().map(|b| format!("%{b:02X}")).collect();
    let d = app.get_json(&format!("/api/runs/{escaped}")).await;
    assert_eq!(d["run"]["runId"], odd);
    app.close().await;
    db
});

fn cors_headers_ok(r: &Resp, origin: Option<&str>) {
    assert_eq!(r.header("access-control-allow-origin").as_deref(), origin);
    assert_eq!(
        r.header("access-control-allow-methods").unwrap(),
        "GET, POST, PUT, DELETE, OPTIONS"
    );
    assert_eq!(
        r.header("access-control-allow-headers").unwrap(),
        "Content-Type, Authorization"
    );
    assert_eq!(r.header("access-control-max-age").unwrap(), "86400");
}

async fn options(app: &TestApp, uri: &str, origin: Option<&str>) -> Resp {
    let mut req = Request::builder()
        .method(Method::OPTIONS)
        .uri(uri)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, authorization",
        );
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    app.send(req.body(Body::empty()).unwrap()).await
}

backend_tests!(
    options_on_any_path_is_204_with_cors_headers,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let before = app.snapshot().await;
        for uri in [
            "/api/results",
            "/api/runs",
            "/api/runs/x/telemetry",
            "/",
            "/no/such/path",
            "/api/events",
        ] {
            let r = options(&app, uri, Some("https://dash.example")).await;
            assert_eq!(r.status, 204, "{uri}: {}", r.text());
            assert!(r.body.is_empty());
            cors_headers_ok(&r, Some("*"));
        }
        // Ordinary responses, errors included, carry the headers too.
        cors_headers_ok(&app.get("/api/stats").await, Some("*"));
        cors_headers_ok(&app.get("/nope").await, Some("*"));
        cors_headers_ok(&app.post_raw("/api/results", "{}", None).await, Some("*"));
        assert_eq!(app.snapshot().await, before);
        app.close().await;
        db
    }
);

backend_tests!(
    a_configured_origin_list_echoes_only_allowed_origins,
    |db: TestDb| async move {
        let config = zebench_server::ServerConfig {
            cors_origins: vec!["https://a.example".into(), "http://localhost:5173".into()],
            ..config()
        };
        let app = TestApp::with_config(&db, config).await;
        for origin in ["https://a.example", "http://localhost:5173"] {
            let r = options(&app, "/api/results", Some(origin)).await;
            assert_eq!(r.status, 204);
            cors_headers_ok(&r, Some(origin));
            let r = app
                .send(
                    Request::get("/api/stats")
                        .header("origin", origin)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            cors_headers_ok(&r, Some(origin));
            assert!(r
                .headers
                .get_all("vary")
                .iter()
                .any(|v| v.to_str().unwrap().contains("Origin")));
        }
        for origin in [
            Some("https://evil.example"),
            Some("https://a.example.evil"),
            Some("null"),
            None,
        ] {
            let r = options(&app, "/api/results", origin).await;
            assert_eq!(r.status, 204);
            cors_headers_ok(&r, None);
            let mut req = Request::get("/api/stats");
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            let r = app.send(req.body(Body::empty()).unwrap()).await;
            assert_eq!(r.status, 200);
            cors_headers_ok(&r, None);
        }
        let _: Value = app.get_json("/api/stats").await;
        app.close().await;
        db
    }
);
