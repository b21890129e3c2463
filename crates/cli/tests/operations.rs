//! An operator's chores with the real binary: `zebench backup` of a server that keeps taking
//! writes, restore by copying the file back, refusals (existing OUT, PostgreSQL); migrations
//! at start (the log line, refusal of a newer schema with exit 3); webhooks from the server
//! configuration file, sent while serving and drained at shutdown.

mod support;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use support::{signal, Running, Sandbox, Server};
use zebench_store::migrate::newest_version;
use zebench_store::BackendKind;

const T: Duration = Duration::from_secs(60);
const KEY: &str = "ops-key";

/// POST `body` to `path` with the test key; the status code.
fn post(addr: &str, path: &str, body: &str) -> u16 {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn runs(prefix: &str, n: usize) -> String {
    let runs: Vec<Value> = (0..n)
        .map(|i| {
            json!({"runId": format!("{prefix}-{i}"), "batchId": format!("b{}", i % 3), "suite": "s",
                   "scenario": "c", "tier": "L1", "agent": "a", "status": "completed",
                   "weightedScore": 5.0, "isSuccessful": true})
        })
        .collect();
    Value::Array(runs).to_string()
}

fn bytes_of(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn backup_of_a_busy_server_restores() {
    let sb = Sandbox::new();
    let db = sb.path().join("live.sqlite");
    let server = Server::start(&sb, "127.0.0.1:0", &db, Some(KEY));
    let stop = Arc::new(AtomicBool::new(false));
    let stored = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (addr, stop, stored) = (server.addr.clone(), stop.clone(), stored.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(
                    post(&addr, "/api/results/bulk", &runs(&format!("w{i}"), 25)),
                    201
                );
                stored.fetch_add(25, Ordering::Relaxed);
                i += 1;
            }
        })
    };
    assert!(
        support::wait_for(T, || (stored.load(Ordering::Relaxed) >= 250).then_some(())).is_some(),
        "the writer made no progress:\n{}",
        server.log()
    );
    let out = sb.path().join("backups").join("copy.sqlite");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let before = stored.load(Ordering::Relaxed);
    let done = sb.run(
        &[
            "backup",
            "--json",
            "--database-url",
            &format!("sqlite://{}", db.display()),
            out.to_str().unwrap(),
        ],
        T,
    );
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(done.code(), Some(0), "{done}");
    let report: Value =
        serde_json::from_str(done.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {done}"));
    assert_eq!(report["integrityCheck"], "ok");
    let copied = report["runs"].as_i64().unwrap();
    assert!(
        copied >= before as i64,
        "{copied} runs copied, {before} stored before the backup"
    );
    assert!(
        copied % 25 == 0,
        "a copy holds part of a bulk submission: {copied}"
    );
    assert_eq!(report["batches"], 3);
    assert_eq!(report["schemaVersion"], newest_version(BackendKind::Sqlite));
    assert_eq!(
        report["bytes"].as_u64().unwrap(),
        std::fs::metadata(&out).unwrap().len()
    );
    server.kill();

    // Restore = copy the file back into place, then start the server on it.
    let restored = sb.path().join("restored.sqlite");
    std::fs::copy(&out, &restored).unwrap();
    let server = Server::start(&sb, "127.0.0.1:0", &restored, Some(KEY));
    let (status, stats) = server.get_json("/api/stats");
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["totalRuns"].as_i64(), Some(copied), "{stats}");
    let (_, batch) = server.get_json("/api/batches/b0");
    assert_eq!(
        batch["runs"].as_array().unwrap().len() as i64,
        batch["totalRuns"].as_i64().unwrap()
    );
    server.kill();

    // An existing OUT is kept unless --force.
    let kept = bytes_of(&out);
    let again = sb.run(
        &[
            "backup",
            "--database-url",
            &format!("sqlite://{}", restored.display()),
            out.to_str().unwrap(),
        ],
        T,
    );
    assert_eq!(again.code(), Some(2), "{again}");
    assert!(
        again.stderr.contains("already exists") && again.stderr.contains("--force"),
        "{again}"
    );
    assert_eq!(bytes_of(&out), kept);
    let forced = sb.run(
        &[
            "backup",
            "--force",
            "--database-url",
            &format!("sqlite://{}", restored.display()),
            out.to_str().unwrap(),
        ],
        T,
    );
    assert_eq!(forced.code(), Some(0), "{forced}");
    assert!(forced.stdout.contains("integrity check ok"), "{forced}");
}

#[test]
fn backup_refuses_postgres_and_missing_databases() {
    let sb = Sandbox::new();
    let out = sb.path().join("x.sqlite");
    let pg = sb.run(
        &[
            "backup",
            "--database-url",
            "postgres://zebench:hunter2@db.internal/zebench",
            out.to_str().unwrap(),
        ],
        T,
    );
    assert_eq!(pg.code(), Some(2), "{pg}");
    assert!(
        pg.stderr.contains("pg_dump -Fc") && pg.stderr.contains("pg_restore"),
        "{pg}"
    );
    assert!(
        !pg.all().contains("hunter2"),
        "the password was printed: {pg}"
    );
    let missing = sb.run(
        &[
            "backup",
            "--database-url",
            &format!("sqlite://{}", sb.path().join("none.sqlite").display()),
            out.to_str().unwrap(),
        ],
        T,
    );
    assert_eq!(missing.code(), Some(2), "{missing}");
    assert!(missing.stderr.contains("no database at"), "{missing}");
    assert!(
        !sb.path().join("none.sqlite").exists(),
        "backup created the database it was asked to copy"
    );
    assert!(!out.exists());
}

/// `zebench serve` with `RUST_LOG=info` until its address line; the log so far and the child.
fn serve_logged(
    sb: &Sandbox,
    db: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Running, String, String) {
    let mut cmd = sb.zebench();
    cmd.args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--api-key",
        KEY,
        "--database-url",
    ])
    .arg(db)
    .args(extra)
    .env("RUST_LOG", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let running = Running::spawn(cmd);
    let addr = support::wait_for(T, || {
        let out = running.output_so_far();
        out.lines()
            .find_map(|l| l.strip_prefix("zebench API on http://"))
            .and_then(|rest| rest.split_whitespace().next().map(str::to_string))
    })
    .unwrap_or_else(|| panic!("no address:\n{}", running.output_so_far()));
    let log = running.output_so_far();
    (running, addr, log)
}

fn stop(running: Running) -> support::Out {
    signal(running.pid(), "TERM");
    running.finish(T)
}

#[test]
fn migrations_are_logged_at_start_and_a_newer_schema_is_refused() {
    let sb = Sandbox::new();
    let db = sb.path().join("schema.sqlite");
    let known = newest_version(BackendKind::Sqlite);
    let (first, _, log) = serve_logged(&sb, &db, &[], &[]);
    assert!(
        log.contains(&format!(
            "database schema at version {known} (new database; applied 0001_init, "
        )),
        "{log}"
    );
    assert_eq!(stop(first).code(), Some(0));
    let (second, _, log) = serve_logged(&sb, &db, &[], &[]);
    assert!(
        log.contains(&format!("database schema at version {known}, up to date")),
        "{log}"
    );
    assert_eq!(stop(second).code(), Some(0));

    // A newer zebench migrated the database (a migration this binary does not ship).
    let future = known + 1;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ($1, 'from a newer zebench', TRUE, x'00', 1)",
        )
        .bind(future)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    });
    let before = std::fs::read(&db).unwrap();
    let refused = sb.run(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--api-key",
            KEY,
            "--database-url",
            db.to_str().unwrap(),
        ],
        T,
    );
    assert_eq!(refused.code(), Some(3), "{refused}");
    for needle in [
        format!("schema is at version {future}"),
        format!("newest: {known}"),
        "upgrade zebench".to_string(),
        "restore a backup".to_string(),
    ] {
        assert!(
            refused.stderr.contains(&needle),
            "{needle:?} missing: {refused}"
        );
    }
    // Every command that opens the database refuses the same way.
    let export = sb.run(&["export", "--database-url", db.to_str().unwrap()], T);
    assert_eq!(export.code(), Some(3), "{export}");
    assert!(
        export.stderr.contains("newer than this zebench"),
        "{export}"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the refused database was changed"
    );
    // A backup still works: it copies the file as it is, without migrating it.
    let out = sb.path().join("before-downgrade.sqlite");
    let backup = sb.run(
        &[
            "backup",
            "--json",
            "--database-url",
            db.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
        T,
    );
    assert_eq!(backup.code(), Some(0), "{backup}");
    assert!(
        backup
            .stdout
            .contains(&format!("\"schemaVersion\":{future}")),
        "{backup}"
    );
}

/// A one-request-at-a-time HTTP receiver: each request's head and body go to the channel.
fn receiver() -> (String, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/zebench", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let mut stream = reader.into_inner();
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            let _ = tx.send((head, String::from_utf8_lossy(&body).into_owned()));
        }
    });
    (url, rx)
}

#[test]
fn serve_sends_the_webhooks_of_its_config_file() {
    let sb = Sandbox::new();
    let (url, got) = receiver();
    let config = sb.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "public_url = \"https://bench.example.com\"\n\n[[webhooks]]\nname = \"ci\"\nurl = \"{url}\"\nsecret_env = \"OPS_HOOK_SECRET\"\nevents = [\"batch.completed\"]\n"
        ),
    )
    .unwrap();
    let db = sb.path().join("hooks.sqlite");
    let (running, addr, log) = serve_logged(
        &sb,
        &db,
        &["--config", config.to_str().unwrap()],
        &[("OPS_HOOK_SECRET", "the-secret")],
    );
    assert!(log.contains("webhooks on: ci"), "{log}");
    assert_eq!(post(&addr, "/api/results/bulk", &runs("h", 3)), 201);
    let started = Instant::now();
    assert!(
        post(
            &addr,
            "/api/results/batch",
            r#"{"batchId":"b1","completedAt":1773223200000}"#
        ) < 300
    );
    let (head, body) = got
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("no webhook arrived:\n{}", running.output_so_far()));
    assert!(started.elapsed() < Duration::from_secs(20));
    let lower = head.to_ascii_lowercase();
    assert!(lower.starts_with("post /hooks/zebench http/1.1"), "{head}");
    assert!(lower.contains("x-zebench-event: batch.completed"), "{head}");
    assert!(lower.contains("x-zebench-signature: sha256="), "{head}");
    let p: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(p["batch"]["id"], "b1");
    assert_eq!(p["batch"]["url"], "https://bench.example.com/batches/b1");
    let out = stop(running);
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(
        !out.all().contains("the-secret"),
        "the secret was printed: {out}"
    );

    // A secret_env that is not set stops the start with exit 2, naming the field.
    let bad = sb.run(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            db.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        T,
    );
    assert_eq!(bad.code(), Some(2), "{bad}");
    assert!(
        bad.stderr.contains("webhooks[0].secret_env") && bad.stderr.contains("OPS_HOOK_SECRET"),
        "{bad}"
    );
}
