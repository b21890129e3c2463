//! `zebench serve` as a user runs it: the real binary, a real port, real signals.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn zebench() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zebench"));
    // Keep the test independent of the developer's environment and .env file.
    cmd.env_remove("ZE_BENCHMARKS_API_KEY")
        .env_remove("API_SECRET_KEY")
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "info");
    cmd
}

fn http(addr: &str, request: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn serves_then_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("z.sqlite");
    let mut child = zebench()
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--api-key",
            "k1",
            "--database-url",
        ])
        .arg(&db)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start zebench serve");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut addr = None;
    let mut log = String::new();
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        log.push_str(&line);
        log.push('\n');
        if let Some(rest) = line.strip_prefix("zebench API on http://") {
            addr = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    let addr = addr.unwrap_or_else(|| panic!("no address announced:\n{log}"));
    let health = http(
        &addr,
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains(r#""database":"sqlite""#), "{health}");
    let body = r#"{"runId":"cli-1","suite":"s","scenario":"c","tier":"L1","agent":"a","status":"completed"}"#;
    let post = http(
        &addr,
        &format!("POST /api/results HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
    );
    assert!(post.starts_with("HTTP/1.1 201"), "{post}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        exit.success(),
        "exit {exit:?}; log:\n{log}{}",
        rest.join("\n")
    );
    assert!(
        rest.iter().any(|l| l.contains("stopped cleanly")),
        "{rest:?}"
    );
    assert!(
        !rest
            .iter()
            .chain(log.lines().map(str::to_string).collect::<Vec<_>>().iter())
            .any(|l| l.contains("k1\"") || l.contains("Bearer k1")),
        "the key never appears in logs"
    );
    assert!(db.exists(), "the database file was created");
}

#[test]
fn a_bad_database_url_is_an_infrastructure_error_with_a_clear_message() {
    let out = zebench()
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            "mysql://nowhere/db",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open the database"), "{err}");
    assert!(err.contains("expected sqlite://PATH, postgres://"), "{err}");
}

#[test]
fn bad_usage_exits_2_and_help_lists_the_environment() {
    let out = zebench()
        .args(["serve", "--bind", "not-an-address"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let help = zebench().args(["serve", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    for needle in [
        "ZE_BENCHMARKS_API_KEY",
        "DATABASE_URL",
        "--dev",
        "Examples:",
    ] {
        assert!(text.contains(needle), "--help mentions {needle}");
    }
}
