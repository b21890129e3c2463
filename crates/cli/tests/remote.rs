//! Remote mode end to end: `zebench batch` sending to a `zebench serve` that dies mid-batch,
//! results waiting in the outbox, `zebench sync` failing while the server is down and
//! delivering everything exactly once when it is back.

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::{count_files, wait_for, Running, Sandbox, Server};

const KEY: &str = "k1";
const PLANNED: usize = 6;

fn remote(cmd: &mut Command, url: &str, outbox: &Path) {
    // DATABASE_URL stays pointed at an unused local file: remote mode must not touch it.
    cmd.env("ZE_BENCHMARKS_WORKER_URL", url)
        .env("ZE_BENCHMARKS_API_KEY", KEY)
        .env("ZEBENCH_OUTBOX", outbox);
}

#[test]
fn a_server_that_dies_mid_batch_loses_nothing_and_sync_delivers_each_run_once() {
    let sb = Sandbox::new();
    sb.new_suite("demo");
    // Each run takes ~0.7 s in the agent, so the server can be killed between runs.
    sb.write_agent(
        "demo",
        "example",
        "slow",
        "steps:\n  - sleep_ms: 700\n  - copy_reference: true\n",
    );
    let server_db = sb.path().join("server.sqlite");
    let outbox = sb.path().join("outbox");
    let pending = outbox.join("pending");

    let server = Server::start(&sb, "127.0.0.1:0", &server_db, Some(KEY));
    let addr = server.addr.clone();
    let url = server.url();

    let mut cmd = sb.zebench();
    cmd.args([
        "batch",
        "--suite",
        "demo",
        "--tiers",
        "L1",
        "--agents",
        "scripted:slow",
        "--repeat",
        &PLANNED.to_string(),
        "--jobs",
        "1",
        "--batch-id",
        "remote-1",
    ]);
    remote(&mut cmd, &url, &outbox);
    let batch = Running::spawn(cmd);

    // Kill the server (SIGKILL) as soon as the first run has reached it.
    let delivered_before_kill = wait_for(Duration::from_secs(20), || {
        let n = server.runs_of_batch("remote-1").len();
        (n >= 1).then_some(n)
    })
    .unwrap_or_else(|| {
        panic!(
            "no run reached the server; batch output:\n{}\nserver log:\n{}",
            batch.output_so_far(),
            server.log()
        )
    });
    server.kill();

    let out = batch.finish(Duration::from_secs(50));
    // Queued results are safe (durable outbox) but not on the server yet: the batch exits 3
    // (infrastructure) and says how to finish the job (since d1aac7b; before, it exited 0).
    assert_eq!(out.code(), Some(3), "batch with results only queued: {out}");
    assert!(
        out.stderr.contains("queued in the outbox") && out.stderr.contains("zebench sync"),
        "{out}"
    );
    assert!(out.stdout.contains("queued in the outbox"), "{out}");
    assert!(out.stdout.contains("zebench sync"), "{out}");
    assert!(
        out.stdout.contains(&format!("{PLANNED} run(s) finished")),
        "{out}"
    );
    assert!(!out.stdout.contains("NOT STORED"), "{out}");
    let queued = count_files(&pending);
    assert!(
        queued >= 1 && queued <= PLANNED - delivered_before_kill + 1,
        "{queued} item(s) queued ({delivered_before_kill} delivered before the kill): {out}"
    );
    assert!(
        !sb.db().exists(),
        "remote mode never opened the local database"
    );

    // Sync while the server is still down: infrastructure failure, nothing lost.
    let before: HashSet<_> = std::fs::read_dir(&pending)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    let mut cmd = sb.zebench();
    cmd.arg("sync");
    remote(&mut cmd, &url, &outbox);
    let down = Running::spawn(cmd).finish(Duration::from_secs(50));
    assert_eq!(down.code(), Some(3), "{down}");
    assert!(down.stderr.contains("still queued"), "{down}");
    let after: HashSet<_> = std::fs::read_dir(&pending)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(before, after, "the queued items are untouched");

    // The server comes back on the same address and database; sync delivers everything.
    let server = Server::start(&sb, &addr, &server_db, Some(KEY));
    let mut cmd = sb.zebench();
    cmd.arg("sync");
    remote(&mut cmd, &url, &outbox);
    let up = Running::spawn(cmd).finish(Duration::from_secs(30));
    assert_eq!(up.code(), Some(0), "{up}");
    assert!(up.stdout.contains("still queued 0"), "{up}");
    assert_eq!(count_files(&pending), 0, "the outbox is empty");
    assert_eq!(
        count_files(&outbox.join("rejected")),
        0,
        "nothing was refused"
    );

    let runs = server.runs_of_batch("remote-1");
    let ids: Vec<&str> = runs.iter().map(|r| r["runId"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), PLANNED, "every planned run is stored: {ids:?}");
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        PLANNED,
        "each exactly once: {ids:?}"
    );
    assert!(runs.iter().all(|r| r["isSuccessful"] == true), "{runs:?}");
    let (status, b) = server.get_json("/api/batches/remote-1");
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["totalRuns"], PLANNED, "{b}");
    assert!(
        !b["completedAt"].is_null(),
        "the queued completion upsert was delivered too: {b}"
    );

    // A second sync has nothing to do.
    let mut cmd = sb.zebench();
    cmd.arg("sync");
    remote(&mut cmd, &url, &outbox);
    let again = Running::spawn(cmd).finish(Duration::from_secs(30));
    assert_eq!(again.code(), Some(0), "{again}");
    assert!(again.stdout.contains("delivered 0"), "{again}");
    assert_eq!(server.runs_of_batch("remote-1").len(), PLANNED);
}

#[test]
fn a_wrong_key_keeps_results_queued_and_fails_loudly() {
    let sb = Sandbox::new();
    sb.new_suite("demo");
    let server_db = sb.path().join("server.sqlite");
    let outbox = sb.path().join("outbox");
    let server = Server::start(&sb, "127.0.0.1:0", &server_db, Some(KEY));

    let mut cmd = sb.zebench();
    cmd.args(["run", "demo", "example", "--tier", "L1", "--agent", "echo"]);
    remote(&mut cmd, &server.url(), &outbox);
    cmd.env("ZE_BENCHMARKS_API_KEY", "wrong");
    let out = Running::spawn(cmd).finish(Duration::from_secs(30));
    assert_eq!(out.code(), Some(3), "not stored on the server: {out}");
    assert_eq!(count_files(&outbox.join("pending")), 1, "{out}");
    let (_, runs) = server.get_json("/api/runs");
    assert_eq!(runs.as_array().unwrap().len(), 0, "{runs}");

    // With the right key the queued run is delivered.
    let mut cmd = sb.zebench();
    cmd.arg("sync");
    remote(&mut cmd, &server.url(), &outbox);
    let up = Running::spawn(cmd).finish(Duration::from_secs(30));
    assert_eq!(up.code(), Some(0), "{up}");
    let (_, runs) = server.get_json("/api/runs");
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(count_files(&outbox.join("pending")), 0);
}
