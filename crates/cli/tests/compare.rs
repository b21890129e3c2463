//! `zebench compare` as a CI gate, end to end with the bundled suite: two batches of the same
//! agent show no detectable difference; a good and a bad scripted agent give a clear regression
//! and exit 1 under `--fail-on-regression`. The same comparison through the API.

mod support;

use std::path::Path;
use std::time::Duration;
use support::{Sandbox, Server};

const T: Duration = Duration::from_secs(120);

fn bundled() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../suites")
        .canonicalize()
        .unwrap()
        .display()
        .to_string()
}

fn batch(sb: &Sandbox, id: &str, agent: &str) {
    let out = sb.run(
        &[
            "batch",
            "--suites",
            &bundled(),
            "--suite",
            "starter",
            "--scenario",
            "fix-greeting,py-slugify",
            "--agents",
            agent,
            "--jobs",
            "2",
            "--batch-id",
            id,
        ],
        T,
    );
    assert_eq!(out.code(), Some(0), "{out}");
}

#[test]
fn same_agent_is_no_difference_and_a_worse_agent_fails_the_gate() {
    let sb = Sandbox::new();
    batch(&sb, "good-1", "scripted:solve");
    batch(&sb, "good-2", "scripted:solve");
    batch(&sb, "bad", "scripted:sloppy");

    let same = sb.run(&["compare", "good-1", "good-2", "--fail-on-regression"], T);
    assert_eq!(same.code(), Some(0), "{same}");
    assert!(
        same.stdout.contains("verdict: no detectable difference"),
        "{same}"
    );
    assert!(same.stdout.contains("over 6 shared cells"), "{same}");

    let worse = sb.run(&["compare", "good-1", "bad", "--fail-on-regression"], T);
    assert_eq!(worse.code(), Some(1), "{worse}");
    assert!(worse.stdout.contains("verdict: regression"), "{worse}");
    assert!(worse.stdout.contains("6 regressed"), "{worse}");

    // Without the flag it is a report, not a gate.
    assert_eq!(sb.run(&["compare", "good-1", "bad"], T).code(), Some(0));
    // The other way round is an improvement.
    let better = sb.run(&["compare", "bad", "good-1", "--json"], T);
    let v: serde_json::Value = serde_json::from_str(&better.stdout).unwrap();
    assert_eq!(v["verdict"], "improvement", "{v}");
    assert_eq!(v["nCells"], 6);
    assert!(v["meanDiff"].as_f64().unwrap() > 3.0);
    // An unknown batch is a usage error.
    assert_eq!(sb.run(&["compare", "good-1", "nope"], T).code(), Some(2));

    // The API gives the same answer.
    let server = Server::start(&sb, "127.0.0.1:0", &sb.db(), None);
    let (status, api) = server.get_json("/api/compare?a=good-1&b=bad");
    assert_eq!(status, 200, "{api}");
    assert_eq!(api["verdict"], "regression");
    assert_eq!(api["nCells"], 6);
    let (status, _) = server.get_json("/api/compare?a=good-1&b=missing");
    assert_eq!(status, 404);
    let (status, _) = server.get_json("/api/compare?a=good-1");
    assert_eq!(status, 400);
}
