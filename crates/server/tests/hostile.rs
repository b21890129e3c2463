//! Hostile input proof (issue 8), HTTP side: bodies over the limit are refused with 413
//! whether or not they declare their length, JSON nested 100,000 levels deep is a 400 (parsed
//! without recursion, so no stack overflow) on every endpoint that reads JSON, and very long
//! URLs, queries and headers never produce a 5xx. Refusals store nothing.
//!
//! Most cases go through `tower::ServiceExt::oneshot`; the chunked upload and the oversized
//! request line go over real TCP, where hyper's own limits apply too.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{run, with, Resp, TestApp, KEY};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zebench_server::ServerConfig;
use zebench_store::testing::TestDb;

/// Small limits keep the oversized bodies small; the rules are the same at the defaults.
const LIMIT: usize = 64 * 1024;
const BULK_LIMIT: usize = 256 * 1024;
/// Generous: a refusal takes milliseconds, this only catches a parser that crawls or hangs.
const BUDGET: Duration = Duration::from_secs(10);

fn small_limits() -> ServerConfig {
    ServerConfig {
        body_limit: LIMIT,
        bulk_body_limit: BULK_LIMIT,
        ..common::config()
    }
}

/// The JSON-reading endpoints and their body limits under [`small_limits`].
const ENDPOINTS: [(&str, usize); 3] = [
    ("/api/results", LIMIT),
    ("/api/results/batch", LIMIT),
    ("/api/results/bulk", BULK_LIMIT),
];

fn post(uri: &str, body: Body, content_length: Option<usize>) -> Request<Body> {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"));
    if let Some(n) = content_length {
        req = req.header(header::CONTENT_LENGTH, n);
    }
    req.body(body).unwrap()
}

/// `bytes` as a body of 8 KiB chunks with no declared length (what a chunked upload is).
fn streamed(bytes: Vec<u8>) -> Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(8 * 1024).map(|c| Ok(c.to_vec())).collect();
    Body::from_stream(futures::stream::iter(chunks))
}

/// A valid body for `uri`, padded with trailing spaces (still valid JSON) to exactly `len`.
fn valid_body(uri: &str, id: &str, len: usize) -> Vec<u8> {
    let v = match uri {
        "/api/results" => run(id),
        "/api/results/bulk" => json!([run(id)]),
        _ => json!({"batchId": id}),
    };
    let mut body = v.to_string().into_bytes();
    assert!(body.len() <= len);
    body.resize(len, b' ');
    body
}

#[track_caller]
fn refused(r: &Resp, status: u16, error: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text());
    assert_eq!(r.json()["error"], error, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_413_with_or_without_a_declared_length() {
    let db = TestDb::sqlite().await;
    let app = TestApp::with_config(&db, small_limits()).await;
    for (uri, limit) in ENDPOINTS {
        // One byte over: declared, then streamed with no length at all.
        let over = valid_body(uri, "over", limit + 1);
        let r = app
            .send(post(uri, Body::from(over.clone()), Some(over.len())))
            .await;
        refused(&r, 413, "Payload too large");
        let r = app.send(post(uri, streamed(over), None)).await;
        refused(&r, 413, "Payload too large");
        // A declared length over the limit is refused before a byte of the body is read.
        let r = app.send(post(uri, Body::empty(), Some(limit * 1000))).await;
        refused(&r, 413, "Payload too large");
        // Exactly at the limit is accepted, streamed or not.
        let exact = valid_body(uri, &format!("exact{}", uri.len()), limit);
        let r = app.send(post(uri, streamed(exact), None)).await;
        assert!(r.status.is_success(), "{uri} at the limit: {}", r.text());
    }
    assert!(app.get("/api/runs/over").await.status == StatusCode::NOT_FOUND);
    assert!(app.get("/api/batches/over").await.status == StatusCode::NOT_FOUND);
    assert_eq!(
        app.run_count().await,
        2,
        "the two runs at the limit, nothing else"
    );
    app.close().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_limits_apply_to_a_declared_length() {
    let db = TestDb::sqlite().await;
    let app = TestApp::new(&db).await;
    let defaults = ServerConfig::default();
    for (uri, limit) in [
        ("/api/results", defaults.body_limit),
        ("/api/results/batch", defaults.body_limit),
        ("/api/results/bulk", defaults.bulk_body_limit),
    ] {
        let r = app.send(post(uri, Body::empty(), Some(limit + 1))).await;
        refused(&r, 413, "Payload too large");
    }
    app.close().await;
    db.cleanup().await;
}

/// Bodies nested 100,000 levels deep: bare, and balanced inside otherwise valid documents.
fn deep_bodies(uri: &str) -> Vec<(String, String)> {
    let n = 100_000;
    let arrays = format!("{}{}", "[".repeat(n), "]".repeat(n));
    let objects = format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
    let mut out = vec![
        ("unclosed arrays".to_string(), "[".repeat(n)),
        ("unclosed objects".to_string(), "{\"a\":".repeat(n)),
        ("balanced arrays".to_string(), arrays.clone()),
    ];
    let inside = |v: Value| v.to_string().replace("\"DEEP\"", &arrays);
    let inside_objects = |v: Value| v.to_string().replace("\"DEEP\"", &objects);
    match uri {
        "/api/results" => {
            out.push((
                "metadata".into(),
                inside(with(run("deep"), json!({"metadata": {"x": "DEEP"}}))),
            ));
            out.push((
                "evaluation details".into(),
                inside_objects(with(
                    run("deep"),
                    json!({"evaluations": [{"evaluatorName": "E", "score": 1, "details": "DEEP"}]}),
                )),
            ));
        }
        "/api/results/bulk" => {
            out.push((
                "a run's metadata".into(),
                inside(json!({"runs": [with(run("deep"), json!({"metadata": {"x": "DEEP"}}))]})),
            ));
        }
        _ => {
            out.push((
                "metadata".into(),
                inside_objects(json!({"batchId": "deep", "metadata": {"x": "DEEP"}})),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_nested_100k_deep_is_a_quick_400_on_every_json_endpoint() {
    let db = TestDb::sqlite().await;
    let app = TestApp::new(&db).await;
    for (uri, _) in ENDPOINTS {
        for (what, body) in deep_bodies(uri) {
            let started = Instant::now();
            let r = app
                .post_raw(uri, body, Some(&format!("Bearer {KEY}")))
                .await;
            assert!(
                started.elapsed() < BUDGET,
                "{uri} {what}: {:?}",
                started.elapsed()
            );
            assert_eq!(r.status, 400, "{uri} {what}: {}", r.text());
            let e = r.json();
            assert!(e["error"].is_string(), "{uri} {what}: {e}");
        }
    }
    assert!(app.get("/api/runs/deep").await.status == StatusCode::NOT_FOUND);
    assert!(app.get("/api/batches/deep").await.status == StatusCode::NOT_FOUND);
    app.close().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_paths_queries_and_headers_never_5xx() {
    let db = TestDb::sqlite().await;
    let app = TestApp::new(&db).await;
    app.submit(&run("r1")).await;
    // The `http` crate caps a URI at 64 KiB, so these stay under it; the TCP test below
    // sends 1 MiB heads.
    let long = "x".repeat(30 * 1024);
    let pairs = vec!["suite=a"; 4_000].join("&");
    let mut uris = vec![
        format!("/api/runs?suite={long}"),
        format!("/api/runs?{pairs}"),
        format!("/api/runs?cursor={long}"),
        format!("/api/runs/{long}"),
        format!("/api/runs/{long}/evaluations"),
        format!("/api/runs/r1/artifacts/{long}"),
        format!("/api/batches/{long}"),
        format!("/api/breakdowns/{long}"),
        format!("/api/breakdowns/agent?since={long}"),
        format!("/api/compare?a={long}&b={long}"),
        format!("/api/export?batchId={long}"),
        format!("/{long}"),
        format!("/api/runs/%FF%FE{long}"),
        "/api/runs?suite=%FF%FE".to_string(),
    ];
    uris.push(format!("/api/runs?limit={}", "9".repeat(10_000)));
    for uri in &uris {
        let r = app.get(uri).await;
        assert!(
            r.status.is_success() || r.status.is_client_error(),
            "GET {}…: {} {}",
            &uri[..uri.len().min(60)],
            r.status,
            r.text()
        );
    }
    // Long header values: an unknown header, a request id, and an absurd bearer key.
    let req = |name: &str, value: String| {
        Request::builder()
            .method(Method::POST)
            .uri("/api/results")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
            .header(name, value)
            .body(Body::from(run("r2").to_string()))
            .unwrap()
    };
    let r = app.send(req("x-anything", long.clone())).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app.send(req("x-request-id", long.clone())).await;
    assert!(r.status.is_success(), "{}", r.text());
    let r = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/results")
                .header(header::AUTHORIZATION, format!("Bearer {long}"))
                .body(Body::from(run("r3").to_string()))
                .unwrap(),
        )
        .await;
    refused(&r, 403, "Invalid API key");
    app.close().await;
    db.cleanup().await;
}

/// A real server with [`small_limits`] on 127.0.0.1:0.
async fn serve(db: &TestDb) -> (TestApp, std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let app = TestApp::with_config(db, small_limits()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = app.state.clone();
    let server = tokio::spawn(async move {
        zebench_server::serve(listener, state).await.unwrap();
    });
    (app, addr, server)
}

/// Writes `head` and then `body` (ignoring write errors: the server may answer and close
/// before the client is done), then reads the status line's code, if any answer came.
async fn exchange(addr: std::net::SocketAddr, head: String, body: Vec<u8>) -> Option<u16> {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = s.split();
    let write = async {
        if wr.write_all(head.as_bytes()).await.is_ok() {
            for chunk in body.chunks(16 * 1024) {
                if wr.write_all(chunk).await.is_err() {
                    break;
                }
            }
        }
        let _ = wr.flush().await;
    };
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match rd.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if buf.windows(2).any(|w| w == b"\r\n") {
                break;
            }
        }
        buf
    };
    let (_, answer) = tokio::time::timeout(BUDGET, async { tokio::join!(write, read) })
        .await
        .expect("an answer (or a close) within the budget");
    let line = String::from_utf8_lossy(&answer).into_owned();
    line.split(' ').nth(1).and_then(|c| c.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tcp_a_chunked_upload_past_the_limit_is_413_and_huge_heads_are_not_5xx() {
    let db = TestDb::sqlite().await;
    let (app, addr, server) = serve(&db).await;
    for (uri, limit) in ENDPOINTS {
        // Chunked transfer encoding: no length is declared; the limit still holds.
        let payload = valid_body(uri, "chunked", limit * 4);
        let mut body = Vec::new();
        for chunk in payload.chunks(4096) {
            body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            body.extend_from_slice(chunk);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"0\r\n\r\n");
        let head = format!(
            "POST {uri} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        assert_eq!(exchange(addr, head, body).await, Some(413), "{uri}");
    }
    // A 1 MiB request line and a 1 MiB header: hyper refuses them (431) or closes; never 5xx.
    let long = "x".repeat(1024 * 1024);
    for head in [
        format!("GET /api/runs?suite={long} HTTP/1.1\r\nHost: x\r\n\r\n"),
        format!("GET /api/runs HTTP/1.1\r\nHost: x\r\nX-Long: {long}\r\n\r\n"),
    ] {
        let status = exchange(addr, head, Vec::new()).await;
        assert!(status.is_none_or(|s| (400..500).contains(&s)), "{status:?}");
    }
    assert_eq!(app.run_count().await, 0);
    app.state.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("the server stops")
        .unwrap();
    db.cleanup().await;
}
