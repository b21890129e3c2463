//! Named keys as an operator uses them: `zebench keys add/list/revoke/hash`, a server started
//! with `--keys-file`, a harness machine sending results with its key (recorded as the run's
//! `submittedBy`), and a revocation taking effect on the running server without a restart.

mod support;

use std::time::Duration;
use support::{wait_for, Sandbox, Server};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn keys_are_made_listed_used_and_revoked_without_a_restart() {
    let sb = Sandbox::new();
    sb.new_suite("demo");
    let keys = sb.path().join("etc/keys.toml");
    let keys_arg = keys.to_str().unwrap();

    let added = sb.run(&["keys", "add", "ci-nightly", "--file", keys_arg], LIMIT);
    assert_eq!(added.code(), Some(0), "{}", added.all());
    let key = added.stdout.trim().to_string();
    assert!(key.starts_with("zb_") && key.len() == 46, "{key:?}");
    let text = std::fs::read_to_string(&keys).unwrap();
    assert!(!text.contains(&key), "the file holds digests only:\n{text}");

    let again = sb.run(&["keys", "add", "ci-nightly", "--file", keys_arg], LIMIT);
    assert_eq!(again.code(), Some(2), "{}", again.all());
    assert!(
        again.all().contains("already a key named"),
        "{}",
        again.all()
    );

    let hashed = {
        let mut cmd = sb.zebench();
        cmd.args(["keys", "hash"])
            .stdin(std::process::Stdio::piped());
        cmd.stdout(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(key.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert!(
        text.contains(&hashed),
        "`keys hash` prints the stored digest"
    );

    let server_db = sb.path().join("server.sqlite");
    let server = Server::start_with(&sb, "127.0.0.1:0", &server_db, &["--keys-file", keys_arg]);
    let remote = |key: &str| {
        let mut cmd = sb.zebench();
        cmd.args(["run", "demo", "example", "--tier", "L1", "--agent", "echo"])
            .env("ZE_BENCHMARKS_WORKER_URL", server.url())
            .env("ZE_BENCHMARKS_API_KEY", key)
            .env("ZEBENCH_OUTBOX", sb.path().join("outbox"));
        support::Running::spawn(cmd).finish(LIMIT)
    };
    let sent = remote(&key);
    assert_eq!(sent.code(), Some(0), "{}", sent.all());
    let (status, runs) = server.get_json("/api/runs?limit=10");
    assert_eq!(status, 200, "{runs}");
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(runs[0]["submittedBy"], "ci-nightly", "{runs}");
    assert!(!server.log().contains(&key), "the key is never logged");

    let listed = sb.run(&["keys", "list", "--file", keys_arg], LIMIT);
    assert!(listed.stdout.contains("ci-nightly") && listed.stdout.contains("active"));
    assert!(!listed.all().contains(&key));

    let revoked = sb.run(&["keys", "revoke", "ci-nightly", "--file", keys_arg], LIMIT);
    assert_eq!(revoked.code(), Some(0), "{}", revoked.all());
    let listed = sb.run(&["keys", "list", "--file", keys_arg], LIMIT);
    assert!(listed.stdout.contains("revoked"), "{}", listed.all());
    // The server re-reads the file within seconds: the same key is then refused (403), the
    // refused run is not stored, and the harness keeps it queued rather than losing it (exit 3).
    let count = || {
        server
            .get_json("/api/runs?limit=1000")
            .1
            .as_array()
            .unwrap()
            .len()
    };
    let refused = wait_for(Duration::from_secs(20), || {
        let before = count();
        let out = remote(&key);
        if out.code() == Some(3) {
            assert_eq!(count(), before, "a refused run was stored");
            return Some(out);
        }
        assert_eq!(out.code(), Some(0), "{}", out.all());
        None
    })
    .expect("the revoked key was still accepted after 20 s");
    assert!(refused.all().contains("403"), "{}", refused.all());
    server.kill();
}
