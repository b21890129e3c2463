//! `[metrics] bind` in the server config file: the real binary serves `/metrics` on its own
//! listener only, not on the main port, and closes that listener when it stops.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::http_get;

#[test]
fn metrics_are_served_only_on_the_configured_listener() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "[metrics]\nbind = \"127.0.0.1:0\"\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zebench"))
        .env_remove("ZE_BENCHMARKS_API_KEY")
        .env_remove("API_SECRET_KEY")
        .env_remove("DATABASE_URL")
        .env_remove("ZEBENCH_SERVER_CONFIG")
        .args(["serve", "--bind", "127.0.0.1:0", "--dev", "--config"])
        .arg(&config)
        .arg("--database-url")
        .arg(dir.path().join("z.sqlite"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("start zebench serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut api, mut metrics, mut log) = (None, None, String::new());
    while Instant::now() < deadline && (api.is_none() || metrics.is_none()) {
        let Some(Ok(line)) = lines.next() else { break };
        log.push_str(&line);
        log.push('\n');
        let addr_after = |prefix: &str| {
            line.strip_prefix(prefix)
                .and_then(|rest| rest.split(['/', ' ']).next())
                .map(str::to_string)
        };
        api = api.or_else(|| addr_after("zebench API on http://"));
        metrics = metrics.or_else(|| addr_after("zebench metrics on http://"));
    }
    let (Some(api), Some(metrics)) = (api, metrics) else {
        let _ = child.kill();
        panic!("addresses not announced:\n{log}");
    };
    assert_ne!(api, metrics);

    let health = http_get(&api, "/health").unwrap();
    assert_eq!(health.0, 200, "{health:?}");
    let main_port = http_get(&api, "/metrics").unwrap();
    assert_eq!(main_port.0, 404, "{main_port:?}");
    let (status, scrape) = http_get(&metrics, "/metrics").unwrap();
    assert_eq!(status, 200, "{scrape}");
    assert!(
        scrape.contains("zebench_build_info{version=\"")
            && scrape.contains("database=\"sqlite\"} 1"),
        "{scrape}"
    );
    // The health check above was recorded by the main port's middleware.
    assert!(
        scrape.contains(
            "zebench_http_requests_total{route=\"/health\",method=\"GET\",status=\"200\"} 1"
        ),
        "{scrape}"
    );
    assert!(
        scrape.contains("zebench_process_resident_memory_bytes "),
        "{scrape}"
    );
    let elsewhere = http_get(&metrics, "/api/stats").unwrap();
    assert_eq!(elsewhere.0, 404, "{elsewhere:?}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(exit.success(), "exit {exit:?}:\n{log}{}", rest.join("\n"));
    assert!(
        TcpStream::connect(&metrics).is_err(),
        "metrics listener still open after shutdown"
    );
}
