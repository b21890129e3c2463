//! Named keys from a keys file (recorded with each run, revocable without a restart), the
//! optional read key that makes the dashboard and read API private, rate limits with 429 and
//! Retry-After, and the security headers every response carries. On SQLite and PostgreSQL.

mod common;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request};
use common::*;
use serde_json::json;
use std::net::SocketAddr;
use std::path::Path;
use zebench_server::config_file::{Rate, RateLimitSection};
use zebench_server::keys::KeysFile;
use zebench_server::{ApiKey, Scope, ServerConfig};
use zebench_store::backend_tests;
use zebench_store::testing::TestDb;

const CI_KEY: &str = "zb_ci-key-0123456789abcdefghijklmnop";
const LAPTOP_KEY: &str = "zb_laptop-key-0123456789abcdefghijkl";
const READ_KEY: &str = "zb_read-key-0123456789abcdefghijklmno";

fn keys_file(path: &Path, read_key: bool) -> KeysFile {
    let mut f = KeysFile::default();
    f.add("ci-nightly", Scope::Write, CI_KEY).unwrap();
    f.add("alice-laptop", Scope::Write, LAPTOP_KEY).unwrap();
    if read_key {
        f.add("viewer", Scope::Read, READ_KEY).unwrap();
    }
    f.save(path).unwrap();
    f
}

fn config_with_file(path: &Path) -> ServerConfig {
    let mut config = config();
    config.file.auth.keys_file = Some(path.to_path_buf());
    config
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

fn basic(password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("someone:{password}"))
    )
}

async fn get_with(app: &TestApp, uri: &str, auth: Option<&str>) -> Resp {
    let mut req = Request::get(uri);
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    app.send(req.body(Body::empty()).unwrap()).await
}

backend_tests!(
    each_run_records_the_name_of_the_key_that_sent_it,
    |db: TestDb| async move {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        keys_file(&path, false);
        let app = TestApp::with_config(&db, config_with_file(&path)).await;

        app.post_raw(
            "/api/results",
            run("from-ci").to_string(),
            Some(&bearer(CI_KEY)),
        )
        .await
        .expect(201);
        app.post_raw(
            "/api/results/bulk",
            json!([run("bulk-1"), run("bulk-2")]).to_string(),
            Some(&bearer(LAPTOP_KEY)),
        )
        .await
        .expect(201);
        // A duplicate from another key keeps the name of the key that stored it first.
        app.post_raw(
            "/api/results",
            run("from-ci").to_string(),
            Some(&bearer(LAPTOP_KEY)),
        )
        .await
        .expect(200);
        // The static key of the test configuration is named `default`.
        app.submit(&run("from-default")).await;

        let by = |id: &str| {
            let app = &app;
            let id = id.to_string();
            async move { app.get_json(&format!("/api/runs/{id}")).await["run"]["submittedBy"].clone() }
        };
        assert_eq!(by("from-ci").await, json!("ci-nightly"));
        assert_eq!(by("bulk-1").await, json!("alice-laptop"));
        assert_eq!(by("bulk-2").await, json!("alice-laptop"));
        assert_eq!(by("from-default").await, json!("default"));
        let listed = app.get_json("/api/runs?limit=10").await;
        let names: Vec<_> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["submittedBy"].clone())
            .collect();
        assert_eq!(names.len(), 4);
        assert!(names.contains(&json!("ci-nightly")), "{listed}");
        let page = app.get("/runs/from-ci").await;
        assert!(
            page.text().contains("ci-nightly"),
            "the run page names the key"
        );
        let csv = app.get("/api/export?format=csv").await.text();
        assert!(
            csv.lines().next().unwrap().ends_with(",submittedBy"),
            "{csv}"
        );
        assert!(csv.contains(",alice-laptop"), "{csv}");
        // The keys themselves appear nowhere in what was stored.
        let everything = app.snapshot().await.to_string();
        assert!(!everything.contains(CI_KEY) && !everything.contains(LAPTOP_KEY));
        app.close().await;
        db
    }
);

backend_tests!(
    a_revoked_key_is_refused_without_a_restart,
    |db: TestDb| async move {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        let mut file = keys_file(&path, false);
        let app = TestApp::with_config(&db, config_with_file(&path)).await;
        app.post_raw(
            "/api/results",
            run("before").to_string(),
            Some(&bearer(CI_KEY)),
        )
        .await
        .expect(201);

        file.revoke("ci-nightly").unwrap();
        file.save(&path).unwrap();
        assert!(app.state.keys.reload_if_changed().unwrap());
        let before = app.snapshot().await;
        let refused = app
            .post_raw(
                "/api/results",
                run("after").to_string(),
                Some(&bearer(CI_KEY)),
            )
            .await;
        let body = refused.expect(403);
        assert_eq!(body["error"], "Invalid API key");
        assert!(
            body["details"].as_str().unwrap().contains("revoked"),
            "{body}"
        );
        assert_eq!(
            app.snapshot().await,
            before,
            "a refused write stores nothing"
        );
        // The other key still works; runs stored by the revoked key keep its name.
        app.post_raw(
            "/api/results",
            run("after").to_string(),
            Some(&bearer(LAPTOP_KEY)),
        )
        .await
        .expect(201);
        assert_eq!(
            app.get_json("/api/runs/before").await["run"]["submittedBy"],
            "ci-nightly"
        );
        app.close().await;
        db
    }
);

#[tokio::test]
async fn the_running_server_notices_a_changed_keys_file_by_itself() {
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.toml");
    let mut file = keys_file(&path, false);
    let app = TestApp::with_config(&db, config_with_file(&path)).await;
    app.state
        .spawn_housekeeping(std::time::Duration::from_millis(20));
    file.revoke("alice-laptop").unwrap();
    file.add("new-ci", Scope::Write, "zb_brand-new-key-0123456789abcdef")
        .unwrap();
    file.save(&path).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = app
            .post_raw(
                "/api/results",
                run("x").to_string(),
                Some(&bearer(LAPTOP_KEY)),
            )
            .await;
        if r.status == 403 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "revocation never took effect"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    app.post_raw(
        "/api/results",
        run("y").to_string(),
        Some(&bearer("zb_brand-new-key-0123456789abcdef")),
    )
    .await
    .expect(201);
    app.close().await;
    db.cleanup().await;
}

backend_tests!(a_read_key_cannot_write, |db: TestDb| async move {
    let mut config = config();
    config
        .api_keys
        .push(ApiKey::named("viewer", Scope::Read, READ_KEY));
    let app = TestApp::with_config(&db, config).await;
    let body = app
        .post_raw(
            "/api/results",
            run("r").to_string(),
            Some(&bearer(READ_KEY)),
        )
        .await
        .expect(403);
    assert!(
        body["details"].as_str().unwrap().contains("read-only"),
        "{body}"
    );
    assert!(app.state.store.get_run("r").await.unwrap().is_none());
    app.close().await;
    db
});

backend_tests!(
    a_read_key_makes_the_dashboard_and_read_api_private,
    |db: TestDb| async move {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        keys_file(&path, true);
        let app = TestApp::with_config(&db, config_with_file(&path)).await;
        app.post_raw(
            "/api/results",
            run("secret-run").to_string(),
            Some(&bearer(CI_KEY)),
        )
        .await
        .expect(201);

        for uri in [
            "/api/runs",
            "/api/runs/secret-run",
            "/api/stats",
            "/api/batches",
            "/api/export",
            "/api/openapi.json",
            "/",
            "/runs",
            "/runs/secret-run",
            "/static/app.css",
            "/metrics",
            "/no-such-page",
        ] {
            let r = get_with(&app, uri, None).await;
            assert_eq!(r.status, 401, "{uri} without a key: {}", r.text());
            assert!(
                r.header("www-authenticate")
                    .unwrap()
                    .starts_with("Basic realm=\"zebench\""),
                "{uri}"
            );
            assert!(!r.text().contains("secret-run"), "{uri} leaked data");
            // A wrong browser password is asked for again; a wrong bearer key is a 403.
            assert_eq!(
                get_with(&app, uri, Some(&basic("wrong"))).await.status,
                401,
                "{uri}"
            );
            assert_eq!(
                get_with(&app, uri, Some(&bearer("wrong"))).await.status,
                403,
                "{uri}"
            );
        }
        for auth in [
            bearer(READ_KEY),
            basic(READ_KEY),
            bearer(CI_KEY),
            basic(CI_KEY),
        ] {
            let r = get_with(&app, "/api/runs/secret-run", Some(&auth)).await;
            assert_eq!(r.status, 200, "{auth}");
            let page = get_with(&app, "/runs/secret-run", Some(&auth)).await;
            assert_eq!(page.status, 200);
            assert!(page.text().contains("secret-run"));
        }
        // Health checks and CORS preflights stay open.
        get_with(&app, "/health", None).await.expect(200);
        let preflight = app
            .send(
                Request::builder()
                    .method(Method::OPTIONS)
                    .uri("/api/runs")
                    .header(header::ORIGIN, "https://example.com")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(preflight.status, 204);
        // A revoked read key no longer opens anything, and with no read key left reads are public.
        let mut file = KeysFile::load(&path).unwrap();
        file.revoke("viewer").unwrap();
        file.save(&path).unwrap();
        app.state.keys.reload_if_changed().unwrap();
        get_with(&app, "/api/runs/secret-run", None)
            .await
            .expect(200);
        app.close().await;
        db
    }
);

fn limited(per_key: Option<Rate>, per_address: Option<Rate>) -> ServerConfig {
    let mut config = config();
    config
        .api_keys
        .push(ApiKey::named("other", Scope::Write, "other-key"));
    config.file.rate_limit = RateLimitSection {
        per_key,
        per_address,
        trust_forwarded_for: false,
    };
    config
}

async fn post_from(app: &TestApp, id: &str, key: &str, from: [u8; 4]) -> Resp {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/api/results")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, bearer(key))
        .body(Body::from(run(id).to_string()))
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((from, 40000))));
    app.send(req).await
}

backend_tests!(
    a_key_over_its_rate_gets_429_with_retry_after,
    |db: TestDb| async move {
        let rate = Rate {
            requests_per_second: 0.2,
            burst: Some(2),
        };
        let app = TestApp::with_config(&db, limited(Some(rate), None)).await;
        post_from(&app, "a", KEY, [10, 0, 0, 1]).await.expect(201);
        post_from(&app, "b", KEY, [10, 0, 0, 2]).await.expect(201);
        let before = app.snapshot().await;
        let refused = post_from(&app, "c", KEY, [10, 0, 0, 3]).await;
        let body = refused.expect(429);
        assert_eq!(body["error"], "Too many requests");
        let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=5).contains(&retry), "Retry-After {retry}");
        assert_eq!(
            app.snapshot().await,
            before,
            "a limited request stores nothing"
        );
        // Another key has its own allowance; reads are never limited.
        post_from(&app, "c", "other-key", [10, 0, 0, 1])
            .await
            .expect(201);
        for _ in 0..20 {
            app.get("/api/runs?limit=1").await.expect(200);
        }
        app.close().await;
        db
    }
);

backend_tests!(
    an_address_over_its_rate_is_limited_before_its_key_is_checked,
    |db: TestDb| async move {
        let rate = Rate {
            requests_per_second: 0.2,
            burst: Some(3),
        };
        let app = TestApp::with_config(&db, limited(None, Some(rate))).await;
        // Guessing keys from one address uses up that address's allowance too.
        for _ in 0..3 {
            post_from(&app, "g", "guess", [192, 0, 2, 7])
                .await
                .expect(403);
        }
        let r = post_from(&app, "g", KEY, [192, 0, 2, 7]).await;
        r.expect(429);
        assert!(r.header("retry-after").is_some());
        // Another address is unaffected.
        post_from(&app, "g", KEY, [192, 0, 2, 8]).await.expect(201);
        app.close().await;
        db
    }
);

backend_tests!(
    every_response_carries_the_security_headers,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        app.submit(&run("h")).await;
        for uri in [
            "/api/runs",
            "/api/runs/h",
            "/nope",
            "/health",
            "/",
            "/runs/h",
            "/api/export",
        ] {
            let r = app.get(uri).await;
            assert_eq!(
                r.header("x-content-type-options").as_deref(),
                Some("nosniff"),
                "{uri}"
            );
            assert_eq!(
                r.header("x-frame-options").as_deref(),
                Some("DENY"),
                "{uri}"
            );
            let csp = r.header("content-security-policy").unwrap_or_default();
            assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
            assert!(
                !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
                "{uri}: {csp}"
            );
            let html = r
                .header("content-type")
                .is_some_and(|c| c.starts_with("text/html"));
            if html {
                assert!(csp.contains("script-src 'self'"), "{uri}: {csp}");
            } else {
                assert!(csp.starts_with("default-src 'none'"), "{uri}: {csp}");
            }
        }
        let bad = app.post_raw("/api/results", "{", Some(&bearer(KEY))).await;
        assert_eq!(bad.status, 400);
        assert_eq!(
            bad.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        app.close().await;
        db
    }
);

#[test]
fn a_configured_cors_list_answers_only_its_origins() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = TestDb::sqlite().await;
        let mut config = config();
        config.cors_origins = vec!["https://dash.example.com".into()];
        let app = TestApp::with_config(&db, config).await;
        let ask = |origin: &'static str| {
            Request::get("/api/stats")
                .header(header::ORIGIN, origin)
                .body(Body::empty())
                .unwrap()
        };
        let ok = app.send(ask("https://dash.example.com")).await;
        assert_eq!(
            ok.header("access-control-allow-origin").as_deref(),
            Some("https://dash.example.com")
        );
        let other = app.send(ask("https://evil.example")).await;
        assert_eq!(other.header("access-control-allow-origin"), None);
        assert!(other.header("vary").unwrap_or_default().contains("Origin"));
        app.close().await;
        db.cleanup().await;
    });
}
