//! Bad input and faults: every one becomes a stored run (or a clear load error) with the right
//! `errorType`, within bounded time, leaving no processes and no files outside the workspace.

mod common;

use common::*;
use std::time::{Duration, Instant};
use zebench_core::RunStatus;
use zebench_harness::runner::{run, ErrorType};
use zebench_harness::suite::validate::{validate, Severity};
use zebench_harness::suite::SuiteError;
use zebench_harness::workspace::KeepPolicy;

/// Asserts a failed run: status, errorType (result and metadata), no scores, no success.
fn assert_failed(out: &zebench_harness::runner::RunOutput, kind: ErrorType) {
    let r = &out.result;
    assert_eq!(r.status, RunStatus::Failed, "{:?}", r.metadata);
    assert_eq!(out.error_type, Some(kind), "{:?}", r.metadata);
    assert_eq!(error_type(r), Some(kind.as_str()));
    assert!(!error_message(r).is_empty());
    assert!(!r.is_successful);
    assert!(r.weighted_score.is_none() && r.total_score.is_none() && r.success_metric.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_fixture_fails_with_workspace_error_naming_the_folder() {
    let fx = Fixture::new();
    std::fs::remove_dir_all(fx.scenario_dir().join("repo-fixture")).unwrap();
    let out = run(fx.request("L1", scripted("solve"))).await;
    assert_failed(&out, ErrorType::Workspace);
    let msg = error_message(&out.result);
    assert!(
        msg.contains(&fx.scenario_dir().display().to_string()),
        "{msg}"
    );
    assert!(msg.contains("repo-fixture"), "{msg}");
    assert_eq!(
        steps(&out.result)
            .iter()
            .map(|s| (s.0.as_str(), s.1))
            .collect::<Vec<_>>(),
        [("prompt", true), ("workspace", false)]
    );
    assert!(out.result.evaluations.is_empty());
    assert!(fx.ws_entries().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_without_prompt_fails_with_prompt_error_listing_tiers() {
    let fx = Fixture::new();
    let out = run(fx.request("L7", scripted("solve"))).await;
    assert_failed(&out, ErrorType::Prompt);
    let msg = error_message(&out.result);
    assert!(msg.contains("\"L7\""), "{msg}");
    assert!(msg.contains("L0, L1, L2"), "{msg}");
    assert_eq!(
        steps(&out.result)
            .iter()
            .map(|s| (s.0.as_str(), s.1))
            .collect::<Vec<_>>(),
        [("prompt", false)]
    );
    assert!(out.result.telemetry.as_ref().unwrap().prompt_sent.is_none());
    assert_eq!(out.result.tier, "L7");
    assert!(fx.ws_entries().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_prompt_fails_with_prompt_error() {
    let fx = Fixture::new();
    std::fs::write(fx.prompt_path("L1-basic.md"), "  \n").unwrap();
    let out = run(fx.request("L1", scripted("solve"))).await;
    assert_failed(&out, ErrorType::Prompt);
    assert!(error_message(&out.result).contains("L1-basic.md"));
}

/// A type error in scenario.yaml: the load error and `validate` both point at its line.
#[test]
fn malformed_scenario_yaml_reports_file_and_line() {
    let fx = Fixture::new();
    fx.replace_in_yaml("timeout_minutes: 5", "timeout_minutes: lots");
    let line = fx
        .yaml()
        .lines()
        .position(|l| l.starts_with("timeout_minutes:"))
        .unwrap() as u64
        + 1;
    let entry = fx.entry();
    let err = entry
        .load()
        .expect_err("a malformed scenario must not load");
    match &err {
        SuiteError::Yaml { file, line: l, .. } => {
            assert_eq!(file, &fx.yaml_path());
            assert_eq!(*l, line, "{err}");
        }
        other => panic!("expected a YAML error, got {other}"),
    }
    let text = err.to_string();
    let prefix = format!("{}:{line}:", fx.yaml_path().display());
    assert!(text.starts_with(&prefix), "{text}");

    let report = validate(Some(&fx.scenario_dir()), &fx.roots()).unwrap();
    assert_eq!(report.scenarios, 1);
    assert!(report.errors() >= 1, "{:#?}", report.diagnostics);
    let d = report
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
        .unwrap();
    assert_eq!(d.file, fx.yaml_path());
    assert_eq!(d.line, Some(line), "{d}");
    assert!(d.to_string().starts_with(&prefix), "{d}");
    // Validating the whole root finds it too.
    let all = validate(None, &fx.roots()).unwrap();
    assert!(all.diagnostics.iter().any(|x| x == d));
}

/// A YAML syntax error (unclosed flow sequence) still names the file and a line in the file.
#[test]
fn yaml_syntax_error_reports_file_and_a_line() {
    let fx = Fixture::new();
    fx.replace_in_yaml("timeout_minutes: 5", "timeout_minutes: [5");
    let n_lines = fx.yaml().lines().count() as u64;
    let err = fx.entry().load().expect_err("must not load");
    let SuiteError::Yaml { line, .. } = &err else {
        panic!("expected a YAML error, got {err}");
    };
    assert!(*line >= 1 && *line <= n_lines + 1, "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{}:{line}:", fx.yaml_path().display())),
        "{err}"
    );
    let report = validate(Some(&fx.yaml_path()), &fx.roots()).unwrap();
    assert!(report
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error && d.line == Some(*line)));
}

/// A validation command that never ends (and leaves a background process) is killed at its
/// timeout; the run still completes and no process survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_validation_command_times_out_and_leaves_no_process() {
    let fx = Fixture::new();
    let mark = marker(987654);
    fx.replace_in_yaml(
        "    test: \"sh test.sh\"\n  timeout_seconds: 60",
        &format!("    test: \"sh test.sh\"\n    build: \"sleep {mark} & sleep {mark}\"\n  timeout_seconds: 1"),
    );
    let t0 = Instant::now();
    let out = run(fx.request("L1", scripted("solve"))).await;
    let took = t0.elapsed();
    let r = &out.result;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.metadata);
    assert!(took < Duration::from_secs(10), "{took:?}");
    let val = meta(r)["validation"].as_array().unwrap();
    assert_eq!(val.len(), 2, "{val:?}");
    assert_eq!(val[0]["name"], "test");
    assert_eq!(val[0]["exitCode"], 0);
    let build = &val[1];
    assert_eq!(build["name"], "build");
    assert_eq!(build["timedOut"], true, "{build}");
    assert!(build["exitCode"].is_null(), "{build}");
    let ms = build["durationMs"].as_u64().unwrap();
    assert!((900..8000).contains(&ms), "{build}");
    // A timed-out command is a failure, not a pass.
    assert_eq!(metric(r, "build_nonregression"), Some(0.0));
    let log = &r.artifacts["commands"];
    assert!(
        log.contains("=== validation build:") && log.contains("timed out"),
        "{log}"
    );
    let left = wait_until_gone(&mark, Duration::from_secs(3)).await;
    assert!(left.is_empty(), "processes left behind: {left:?}");
    assert!(fx.ws_entries().is_empty());
}

/// The whole-run limit cuts an agent that sleeps: failed with errorType timeout, quickly,
/// with the agent step recorded as not ok.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_timeout_stops_a_sleeping_agent() {
    let fx = Fixture::new();
    fx.write_agent(
        "sleeper",
        "steps:\n  - say: \"thinking\"\n  - sleep_ms: 60000\n",
    );
    let mut req = fx.request("L1", scripted("sleeper"));
    req.run_timeout = Some(Duration::from_secs(2));
    let t0 = Instant::now();
    let out = run(req).await;
    let took = t0.elapsed();
    assert_failed(&out, ErrorType::Timeout);
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(6),
        "{took:?}"
    );
    assert!(
        error_message(&out.result).contains("2.0 s"),
        "{}",
        error_message(&out.result)
    );
    let st = steps(&out.result);
    let last = st.last().unwrap();
    assert_eq!((last.0.as_str(), last.1), ("agent", false), "{st:?}");
    assert!(last.2 >= 1000, "{st:?}");
    assert!(st[..st.len() - 1].iter().all(|s| s.1), "{st:?}");
    assert!(!step_names(&out.result).contains(&"validation".to_string()));
    assert!(fx.ws_entries().is_empty(), "{:?}", fx.ws_entries());
}

/// The whole-run limit kills a command the agent started, and everything it spawned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_timeout_kills_the_agents_command_group() {
    let fx = Fixture::new();
    let mark = marker(987655);
    fx.write_agent(
        "hang",
        &format!("steps:\n  - run_command: {{ command: \"sleep {mark} & sleep {mark}\" }}\n"),
    );
    let mut req = fx.request("L1", scripted("hang"));
    req.run_timeout = Some(Duration::from_secs(2));
    req.keep = KeepPolicy::OnFailure;
    let t0 = Instant::now();
    let out = run(req).await;
    assert!(t0.elapsed() < Duration::from_secs(6), "{:?}", t0.elapsed());
    assert_failed(&out, ErrorType::Timeout);
    let st = steps(&out.result);
    assert_eq!(
        st.last().map(|s| (s.0.as_str(), s.1)),
        Some(("agent", false))
    );
    let left = wait_until_gone(&mark, Duration::from_secs(3)).await;
    assert!(left.is_empty(), "processes left behind: {left:?}");
    // OnFailure keeps the timed-out run's workspace for inspection.
    assert!(out.kept_workspace.as_ref().is_some_and(|p| p.is_dir()));
}

/// The run deadline also bounds validation commands (whose own timeout is longer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_timeout_during_validation_kills_the_command() {
    let fx = Fixture::new();
    let mark = marker(987657);
    fx.replace_in_yaml(
        "    test: \"sh test.sh\"",
        &format!("    test: \"sleep {mark} & sleep {mark}\""),
    );
    let mut req = fx.request("L1", scripted("solve"));
    req.run_timeout = Some(Duration::from_secs(3));
    let t0 = Instant::now();
    let out = run(req).await;
    assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
    assert_failed(&out, ErrorType::Timeout);
    let st = steps(&out.result);
    assert_eq!(
        st.last().map(|s| (s.0.as_str(), s.1)),
        Some(("validation", false)),
        "{st:?}"
    );
    let left = wait_until_gone(&mark, Duration::from_secs(3)).await;
    assert!(left.is_empty(), "processes left behind: {left:?}");
    assert!(fx.ws_entries().is_empty());
}

/// Every way of writing (or reading) outside the workspace is refused as a tool error the agent
/// sees; nothing appears outside; the run goes on and completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_cannot_write_outside_the_workspace() {
    let fx = Fixture::new();
    let outside = fx.tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let abs = std::env::temp_dir().join(format!(
        "zebench-escape-{}-{}.txt",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let script = format!(
        r#"steps:
  - write_file: {{ path: "../escape.txt", content: "x" }}
  - write_file: {{ path: "../../escape2.txt", content: "x" }}
  - write_file: {{ path: "{abs}", content: "x" }}
  - write_file: {{ path: "../repo-evil/x.txt", content: "x" }}
  - run_command: {{ command: "ln -s {outside} out" }}
  - write_file: {{ path: "out/pwned.txt", content: "x" }}
  - edit_file: {{ path: "../escape.txt", old_string: "x", new_string: "y" }}
  - read_file: {{ path: "/etc/passwd" }}
  - write_file: {{ path: "inside.txt", content: "fine" }}
"#,
        abs = abs.display(),
        outside = outside.display()
    );
    fx.write_agent("escaper", &script);
    let mut req = fx.request("L1", scripted("escaper"));
    req.keep = KeepPolicy::Always;
    let out = run(req).await;
    let r = &out.result;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.metadata);

    let results: Vec<serde_json::Value> = transcript(r)
        .into_iter()
        .filter(|e| e["kind"] == "tool_result")
        .collect();
    assert_eq!(results.len(), 9, "{results:#?}");
    let is_err = |i: usize| results[i]["isError"] == true;
    for i in [0, 1, 2, 3, 5, 6, 7] {
        assert!(
            is_err(i),
            "tool result {i} should be an error: {}",
            results[i]
        );
        let c = results[i]["content"].as_str().unwrap();
        assert!(c.contains("outside the workspace"), "{c}");
    }
    assert!(!is_err(4), "ln -s should succeed: {}", results[4]);
    assert!(!is_err(8), "{}", results[8]);

    let kept = out.kept_workspace.clone().expect("kept");
    let ws_dir = kept.parent().unwrap();
    assert!(!exists(&ws_dir.join("escape.txt")));
    assert!(!exists(&ws_dir.join("repo-evil")));
    assert!(!exists(&fx.ws_parent.join("escape2.txt")));
    assert!(!exists(&abs), "{abs:?} was written");
    assert!(!exists(&outside.join("pwned.txt")));
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    assert_eq!(
        std::fs::read_to_string(kept.join("inside.txt")).unwrap(),
        "fine"
    );
    assert_eq!(r.telemetry.as_ref().unwrap().tool_calls, Some(9));
}

/// A 1 GB (sparse) file in the workspace: the run completes, the diff notes the file without
/// reading it into the patch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_file_in_workspace_is_noted_not_diffed() {
    let fx = Fixture::new();
    fx.write_agent(
        "bloat",
        "steps:\n  - copy_reference: true\n  - run_command: { command: \"truncate -s 1G big.bin\" }\n",
    );
    let t0 = Instant::now();
    let out = run(fx.request("L1", scripted("bloat"))).await;
    let r = &out.result;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.metadata);
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
    let ds = &meta(r)["diffStats"];
    assert_eq!(ds["files"], 2, "{ds}");
    assert_eq!(ds["truncated"], false, "{ds}");
    let diff = &r.artifacts["diff"];
    assert!(diff.len() < 2 * 1024 * 1024, "diff is {} bytes", diff.len());
    assert!(diff.contains("big.bin"), "{diff}");
    assert!(diff.contains("1073741824"), "{diff}");
    assert!(diff.contains("+echo \"Hello, $1!\""), "{diff}");
    assert_eq!(metric(r, "tests_nonregression"), Some(1.0));
    assert!(fx.ws_entries().is_empty());
}

/// An agent that gives up: failed, errorType agent, its message kept, tool calls still counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_error_fails_the_run_with_agent_error_type() {
    let fx = Fixture::new();
    fx.write_agent(
        "quitter",
        "steps:\n  - read_file: { path: greet.sh }\n  - fail: \"gives up\"\n  - copy_reference: true\n",
    );
    let out = run(fx.request("L1", scripted("quitter"))).await;
    assert_failed(&out, ErrorType::Agent);
    let msg = error_message(&out.result);
    assert!(msg.contains("gives up"), "{msg}");
    assert!(msg.contains("step 2"), "{msg}");
    assert_eq!(meta(&out.result)["agentStopReason"], "error");
    let st = steps(&out.result);
    assert_eq!(
        st.last().map(|s| (s.0.as_str(), s.1)),
        Some(("agent", false))
    );
    assert!(!step_names(&out.result).contains(&"validation".to_string()));
    assert_eq!(out.result.telemetry.as_ref().unwrap().tool_calls, Some(1));
    // The baseline ran before the agent and is still recorded.
    assert_eq!(meta(&out.result)["baseline"][0]["exitCode"], 1);
    assert!(fx.ws_entries().is_empty());
}

/// A script that cannot be found is an agent error naming where it was looked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_script_is_an_agent_error() {
    let fx = Fixture::new();
    let out = run(fx.request("L1", scripted("no-such-script"))).await;
    assert_failed(&out, ErrorType::Agent);
    let msg = error_message(&out.result);
    assert!(msg.contains("no-such-script.yaml"), "{msg}");
}

/// Starts a run of a scripted agent that sleeps for a minute and cancels it after 500 ms.
async fn cancel_sleeping_agent(fx: &Fixture) -> (zebench_harness::runner::RunOutput, Duration) {
    fx.write_agent("sleeper", "steps:\n  - sleep_ms: 60000\n");
    let req = fx.request("L1", scripted("sleeper"));
    let token = req.cancel.clone();
    let t0 = Instant::now();
    let handle = tokio::spawn(run(req));
    tokio::time::sleep(Duration::from_millis(500)).await;
    token.cancel();
    let out = tokio::time::timeout(Duration::from_secs(10), handle)
        .await
        .expect("the run ends after cancellation")
        .unwrap();
    (out, t0.elapsed())
}

/// Cancelling the request's token during a long agent step: failed with errorType signal,
/// within a few seconds, workspace removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_stops_the_run_quickly() {
    let fx = Fixture::new();
    let (out, took) = cancel_sleeping_agent(&fx).await;
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_failed(&out, ErrorType::Signal);
    assert!(error_message(&out.result).contains("interrupted"));
    assert!(fx.ws_entries().is_empty(), "{:?}", fx.ws_entries());
}

/// A cancelled run should record the step it was interrupted in (the agent) as the last step,
/// not ok, as a timed-out run does. Today the step future often keeps going after the token
/// is cancelled: the scripted agent's sleep returns, the agent is recorded as `ok` with stop
/// reason `finished`, the validation commands "run" (return at once as cancelled) and are
/// recorded as an ok `validation` step, and only the `diff` step is marked failed. Which of
/// the two records a run gets depends on the poll order of `tokio::select!` in `runner::run`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_run_records_the_interrupted_agent_step() {
    for attempt in 0..6 {
        let fx = Fixture::new();
        let (out, _) = cancel_sleeping_agent(&fx).await;
        assert_failed(&out, ErrorType::Signal);
        let r = &out.result;
        let st = steps(r);
        assert_eq!(
            st.last().map(|s| (s.0.as_str(), s.1)),
            Some(("agent", false)),
            "attempt {attempt}: {st:?}"
        );
        assert!(
            meta(r).get("validation").is_none(),
            "attempt {attempt}: validation recorded for a cancelled run: {:?}",
            meta(r).get("validation")
        );
        assert_ne!(
            meta(r).get("agentStopReason").and_then(|v| v.as_str()),
            Some("finished"),
            "attempt {attempt}"
        );
    }
}

/// Cancelling while the agent runs a command kills the command's whole process group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_kills_the_agents_command() {
    let fx = Fixture::new();
    let mark = marker(987656);
    fx.write_agent(
        "hang",
        &format!("steps:\n  - run_command: {{ command: \"sleep {mark} & sleep {mark}\" }}\n"),
    );
    let req = fx.request("L1", scripted("hang"));
    let token = req.cancel.clone();
    let handle = tokio::spawn(run(req));
    assert!(
        wait_until_running(&mark, Duration::from_secs(10)).await,
        "the agent's command never started"
    );
    let t0 = Instant::now();
    token.cancel();
    let out = tokio::time::timeout(Duration::from_secs(10), handle)
        .await
        .expect("the run ends after cancellation")
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_failed(&out, ErrorType::Signal);
    let left = wait_until_gone(&mark, Duration::from_secs(3)).await;
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

/// A failing warmup command stops the run with errorType warmup before the agent starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_warmup_fails_with_warmup_error() {
    let fx = Fixture::new();
    let mut yaml = fx.yaml();
    yaml.push_str(
        "warmup:\n  type: scripted\n  commands:\n    - \"touch warm.txt\"\n    - \"exit 3\"\n",
    );
    fx.set_yaml(&yaml);
    let out = run(fx.request("L1", scripted("solve"))).await;
    assert_failed(&out, ErrorType::Warmup);
    assert!(error_message(&out.result).contains("exit 3"));
    let st = steps(&out.result);
    assert_eq!(
        st.last().map(|s| (s.0.as_str(), s.1)),
        Some(("warmup", false))
    );
    let warm = meta(&out.result)["warmup"].as_array().unwrap();
    assert_eq!(warm.len(), 2);
    assert_eq!(warm[0]["exitCode"], 0);
    assert_eq!(warm[1]["exitCode"], 3);
    // Warmup runs in the run's workspace, never in the suite's folder.
    assert!(!exists(&fx.scenario_dir().join("warm.txt")));
    assert!(!exists(&fx.scenario_dir().join("repo-fixture/warm.txt")));
}

/// Without a request override, the scenario's own `timeout_minutes` bounds the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_timeout_minutes_is_honoured() {
    let fx = Fixture::new();
    fx.replace_in_yaml("timeout_minutes: 5", "timeout_minutes: 0.04");
    fx.write_agent("sleeper", "steps:\n  - sleep_ms: 60000\n");
    let mut req = fx.request("L1", scripted("sleeper"));
    req.run_timeout = None;
    let t0 = Instant::now();
    let out = run(req).await;
    let took = t0.elapsed();
    assert_failed(&out, ErrorType::Timeout);
    assert!(
        took >= Duration::from_millis(2300) && took < Duration::from_secs(7),
        "{took:?}"
    );
    assert!(error_message(&out.result).contains("timeout_minutes"));
}
