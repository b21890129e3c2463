use super::*;

fn spec(cmd: &str) -> CommandSpec {
    CommandSpec::new(cmd, std::env::temp_dir(), Duration::from_secs(30))
}

/// A number unique to this test, used as a `sleep` argument so its processes can be found.
fn marker() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{}{:09}", 7000 + (std::process::id() % 1000), nanos)
}

/// Pids of live processes whose argv contains `marker` (zombies have an empty cmdline).
fn procs_with(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if cmdline
            .windows(marker.len())
            .any(|w| w == marker.as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

async fn assert_all_gone(marker: &str) {
    for _ in 0..40 {
        if procs_with(marker).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "processes with marker {marker} survived: {:?}",
        procs_with(marker)
    );
}

#[tokio::test]
async fn exit_codes_are_reported() {
    let ok = run_command(spec("true")).await;
    assert_eq!(ok.exit_code, Some(0));
    assert!(ok.success() && !ok.timed_out && !ok.cancelled && ok.spawn_error.is_none());
    let failed = run_command(spec("exit 3")).await;
    assert_eq!(failed.exit_code, Some(3));
    assert!(!failed.success());
}

#[tokio::test]
async fn stdout_and_stderr_are_captured() {
    let out = run_command(spec("echo to-out; echo to-err >&2")).await;
    assert!(out.output.contains("to-out\n"), "{:?}", out.output);
    assert!(out.output.contains("to-err\n"), "{:?}", out.output);
    assert_eq!(out.truncated_bytes, 0);
}

#[tokio::test]
async fn env_vars_and_cwd_are_passed() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec("printf '%s|' \"$ZEBENCH_TEST_VAR\"; pwd");
    s.cwd = dir.path().to_path_buf();
    s.env
        .push(("ZEBENCH_TEST_VAR".into(), "hello world".into()));
    let out = run_command(s).await;
    let cwd = dir.path().canonicalize().unwrap();
    assert_eq!(out.output, format!("hello world|{}\n", cwd.display()));
}

#[tokio::test]
async fn huge_output_is_capped() {
    let out = run_command(spec("yes | head -c 10000000")).await;
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.truncated_bytes, 10_000_000 - DEFAULT_OUTPUT_CAP as u64);
    assert!(
        out.output.len() < DEFAULT_OUTPUT_CAP + 100,
        "{}",
        out.output.len()
    );
    assert!(out.output.starts_with("y\ny\n"));
    assert!(out
        .output
        .contains(&format!("[{} bytes elided]", out.truncated_bytes)));
    assert!(out.output.ends_with("y\n"));
}

#[test]
fn capped_output_keeps_head_and_tail_on_char_boundaries() {
    // head cap 4 ends inside "é"; the cut moves back to "abc".
    let mut c = CappedOutput::new(8);
    c.push("ab".as_bytes());
    c.push("cé".as_bytes());
    c.push("xyzwé".as_bytes());
    let (text, elided) = c.finish();
    assert_eq!(text, "abc\n… [4 bytes elided] …\nzwé");
    assert_eq!(elided, 4);
    // tail ring starts inside "é"; the stray continuation byte is elided.
    let mut c = CappedOutput::new(6);
    c.push(b"abc");
    c.push("éé".as_bytes());
    let (text, elided) = c.finish();
    assert_eq!(text, "abc\n… [2 bytes elided] …\né");
    assert_eq!(elided, 2);
    // nothing elided: verbatim.
    let mut c = CappedOutput::new(6);
    c.push("aé".as_bytes());
    assert_eq!(c.finish(), ("aé".to_string(), 0));
}

#[tokio::test]
async fn hanging_command_is_killed_at_timeout_with_its_group() {
    let m = marker();
    let mut s = spec(&format!("sleep {m} & sleep {m}; echo never"));
    s.timeout = Duration::from_millis(500);
    let out = run_command(s).await;
    assert!(out.timed_out);
    assert_eq!(out.exit_code, None);
    assert!(!out.output.contains("never"));
    assert!(
        out.duration_ms >= 500 && out.duration_ms < 2000,
        "{}",
        out.duration_ms
    );
    assert_all_gone(&m).await;
}

#[tokio::test]
async fn term_ignoring_group_gets_sigkill_after_grace() {
    let m = marker();
    let mut s = spec(&format!("trap '' TERM; sleep {m}; sleep {m}"));
    s.timeout = Duration::from_millis(200);
    let out = run_command(s).await;
    assert!(out.timed_out);
    assert_eq!(out.exit_code, None);
    assert!(
        out.duration_ms >= 200 + KILL_GRACE.as_millis() as u64,
        "{}",
        out.duration_ms
    );
    assert_all_gone(&m).await;
}

#[tokio::test]
async fn background_process_holding_pipes_does_not_block() {
    let m = marker();
    let out = run_command(spec(&format!("sleep {m} & echo done"))).await;
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.output, "done\n");
    assert!(out.duration_ms < 1500, "{}", out.duration_ms);
    assert_all_gone(&m).await;
}

#[tokio::test]
async fn cancel_token_kills_the_group() {
    let m = marker();
    let s = spec(&format!("sleep {m} & sleep {m}"));
    let token = s.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        token.cancel();
    });
    let out = run_command(s).await;
    assert!(out.cancelled && !out.timed_out);
    assert_eq!(out.exit_code, None);
    assert!(out.duration_ms < 2000, "{}", out.duration_ms);
    assert_all_gone(&m).await;
}

#[tokio::test]
async fn dropping_the_future_kills_the_group() {
    let m = marker();
    let fut = run_command(spec(&format!("sleep {m} & sleep {m}")));
    let res = tokio::time::timeout(Duration::from_millis(300), fut).await;
    assert!(res.is_err(), "the command should still have been running");
    assert_all_gone(&m).await;
}

#[tokio::test]
async fn missing_cwd_is_a_spawn_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("does-not-exist");
    let out = run_command(CommandSpec::new("true", &missing, Duration::from_secs(5))).await;
    assert_eq!(out.exit_code, None);
    assert!(!out.success());
    let err = out.spawn_error.expect("spawn error");
    assert!(err.contains(&missing.display().to_string()), "{err}");
}

#[tokio::test]
async fn already_cancelled_token_starts_nothing() {
    let s = spec("echo started");
    s.cancel.cancel();
    let out = run_command(s).await;
    assert!(out.cancelled);
    assert_eq!(out.exit_code, None);
    assert_eq!(out.output, "");
}

#[tokio::test]
async fn provider_keys_are_not_passed_unless_given_explicitly() {
    // Only this test touches this variable, so setting it process-wide is safe here.
    std::env::set_var("OPENROUTER_API_KEY", "sk-or-secret-for-test");
    let out = run_command(spec("printf '[%s]' \"$OPENROUTER_API_KEY\"")).await;
    assert_eq!(out.output, "[]");
    let mut s = spec("printf '[%s]' \"$OPENROUTER_API_KEY\"");
    s.env.push(("OPENROUTER_API_KEY".into(), "given".into()));
    assert_eq!(run_command(s).await.output, "[given]");
}
