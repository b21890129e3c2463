//! End-to-end runs of the scaffolded scenario: what a completed run records (status, scores,
//! evaluations, metadata, telemetry, artifacts) and what happens to its workspace.

mod common;

use common::*;
use serde_json::Value;
use zebench_core::RunStatus;
use zebench_harness::runner::{run, ErrorType};
use zebench_harness::workspace::KeepPolicy;

/// The reference solution, applied by the scaffold's `scripted:solve`, earns full marks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solve_agent_completes_with_full_marks_and_records_everything() {
    let fx = Fixture::new();
    let req = fx.request("L1", scripted("solve"));
    let run_id = req.run_id.clone();
    let out = run(req).await;
    let r = &out.result;

    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.metadata);
    assert!(out.error_type.is_none());
    assert!(error_type(r).is_none() && meta(r).get("error").is_none());
    assert_eq!(r.run_id, run_id);
    assert_eq!(
        (r.suite.as_str(), r.scenario.as_str(), r.tier.as_str()),
        ("demo", "example", "L1")
    );
    assert_eq!(r.agent, "scripted");
    assert_eq!(r.model.as_deref(), Some("script:solve"));
    assert!(r.started_at.is_some() && r.completed_at.is_some());

    // Metrics: no install command, so no install metric; everything that ran scored 1.
    let m = metrics(r);
    let keys: Vec<&str> = m.iter().map(|(k, _, _)| k.as_str()).collect();
    assert!(!keys.contains(&"install_success"), "{keys:?}");
    assert!(!keys.contains(&"llm_judge"), "{keys:?}");
    assert_eq!(metric(r, "tests_nonregression"), Some(1.0));
    assert_eq!(metric(r, "heuristic_checks"), Some(1.0));
    assert_eq!(metric(r, "efficiency"), Some(1.0));
    for (k, _, w) in &m {
        let expected = match k.as_str() {
            "tests_nonregression" => 2.0,
            "heuristic_checks" => 1.0,
            "efficiency" => 0.5,
            other => panic!("unexpected metric {other}"),
        };
        assert_eq!(*w, expected, "weight of {k}");
    }
    let pairs: Vec<(f64, f64)> = m.iter().map(|(_, s, w)| (*s, *w)).collect();
    let ws = r.weighted_score.expect("weightedScore");
    assert!(approx(ws, weighted(&pairs)) && approx(ws, 10.0), "{ws}");
    assert!(approx(r.success_metric.unwrap(), 1.0));
    assert!(approx(r.total_score.unwrap(), 1.0));
    assert!(r.is_successful);

    // Evaluations: the seed's names, no judge (disabled), no dependency rules (none declared).
    let names: Vec<&str> = r
        .evaluations
        .iter()
        .map(|e| e.evaluator_name.as_str())
        .collect();
    for n in [
        "CommandsEvaluator",
        "HeuristicChecksEvaluator",
        "EfficiencyEvaluator",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains("Judge")), "{names:?}");
    assert!(r.evaluations.iter().all(|e| e.max_score == 1.0));
    let heur = details(evaluation(r, "HeuristicChecksEvaluator").unwrap());
    let checks = heur["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 3, "{heur}");
    assert!(
        checks.iter().all(|c| c["passed"] == Value::Bool(true)),
        "{heur}"
    );
    let cmds = details(evaluation(r, "CommandsEvaluator").unwrap());
    assert_eq!(cmds["commands"][0]["name"], "test");
    assert_eq!(cmds["commands"][0]["exitCode"], 0);
    assert_eq!(cmds["commands"][0]["baselineExitCode"], 1);

    // Steps, in order, each timed and ok.
    let st = steps(r);
    let names: Vec<&str> = st.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "prompt",
            "workspace",
            "baseline",
            "agent",
            "validation",
            "diff",
            "evaluate"
        ]
    );
    assert!(st.iter().all(|s| s.1), "{st:?}");
    let raw_steps = meta(r)["steps"].as_array().unwrap();
    let starts: Vec<u64> = raw_steps
        .iter()
        .map(|s| s["startMs"].as_u64().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    assert!(raw_steps.iter().all(|s| s["durationMs"].is_u64()));

    // Baseline and validation summaries.
    let base = meta(r)["baseline"].as_array().unwrap();
    assert_eq!(base.len(), 1);
    assert_eq!(base[0]["command"], "sh test.sh");
    assert_eq!(base[0]["exitCode"], 1);
    assert_eq!(base[0]["timedOut"], false);
    let val = meta(r)["validation"].as_array().unwrap();
    assert_eq!(val.len(), 1);
    assert_eq!(val[0]["name"], "test");
    assert_eq!(val[0]["exitCode"], 0);
    let ds = &meta(r)["diffStats"];
    assert_eq!(ds["files"], 1, "{ds}");
    assert_eq!(ds["additions"], 1, "{ds}");
    assert_eq!(ds["deletions"], 1, "{ds}");
    assert_eq!(ds["truncated"], false);
    assert_eq!(meta(r)["agentStopReason"], "finished");
    assert!(meta(r).get("workspaceKept").is_none());

    // Artifacts.
    let diff = r.artifacts.get("diff").expect("diff artifact");
    assert!(diff.contains("+echo \"Hello, $1!\""), "{diff}");
    assert!(diff.contains("-echo \"Hello, World\""), "{diff}");
    assert!(diff.contains("greet.sh"), "{diff}");
    let t = transcript(r);
    let kinds: Vec<&str> = t.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"tool_call") && kinds.contains(&"tool_result"),
        "{kinds:?}"
    );
    let result = t
        .iter()
        .find(|e| e["kind"] == "tool_result")
        .expect("a tool result");
    assert_eq!(result["tool"], "run_command");
    assert!(result.get("isError").is_none(), "{result}");
    assert!(
        result["content"].as_str().unwrap().contains("ok"),
        "{result}"
    );
    let log = r.artifacts.get("commands").expect("commands artifact");
    assert!(
        log.contains("=== baseline baseline[0]: sh test.sh (exit 1"),
        "{log}"
    );
    assert!(
        log.contains("=== validation test: sh test.sh (exit 0"),
        "{log}"
    );
    assert!(
        log.contains("expected 'Hello, Ada!', got 'Hello, World'"),
        "{log}"
    );

    // Telemetry.
    let tel = r.telemetry.as_ref().expect("telemetry");
    let l1 = std::fs::read_to_string(fx.prompt_path("L1-basic.md")).unwrap();
    assert_eq!(tel.prompt_sent.as_deref(), Some(l1.as_str()));
    assert_eq!(tel.tool_calls, Some(1));
    assert!(tel.duration_ms.is_some());
    assert!(tel.workspace_dir.is_none());
    assert!(tel.cost_usd.is_none() && tel.tokens_in.is_none());

    // The workspace (and the pristine baseline copy) are gone.
    assert!(out.kept_workspace.is_none());
    assert!(fx.ws_entries().is_empty(), "{:?}", fx.ws_entries());
    // The suite's own fixture is untouched.
    let fixture = std::fs::read_to_string(fx.scenario_dir().join("repo-fixture/greet.sh")).unwrap();
    assert!(fixture.contains("Hello, World"));
}

/// The echo agent changes nothing: the run completes, the test still fails as it did at
/// baseline (non-regression 0.5), and the score is the weighted mean of what ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_agent_completes_unsuccessfully_with_exact_weighted_score() {
    let fx = Fixture::new();
    let out = run(fx.request("L0", echo())).await;
    let r = &out.result;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.metadata);
    assert_eq!(r.agent, "echo");
    assert_eq!(r.model, None);
    assert!(!r.is_successful);

    assert_eq!(metric(r, "tests_nonregression"), Some(0.5));
    // greet_script_exists (1.0) passes; uses_argument (1.0) fails: no *.sh has `$1`;
    // no_hardcoded_world (0.5, negated) fails: greet.sh still says World.
    assert!(approx(metric(r, "heuristic_checks").unwrap(), 1.0 / 2.5));
    assert_eq!(metric(r, "efficiency"), Some(1.0));
    assert_eq!(metrics(r).len(), 3, "{:?}", metrics(r));
    let expected = 10.0 * (2.0 * 0.5 + 1.0 * 0.4 + 0.5 * 1.0) / (2.0 + 1.0 + 0.5);
    let ws = r.weighted_score.unwrap();
    assert!(approx(ws, expected), "{ws} != {expected}");
    assert!(approx(r.success_metric.unwrap(), expected / 10.0));
    assert!(approx(r.total_score.unwrap(), (0.5 + 0.4 + 1.0) / 3.0));

    // The echo agent makes no change: no diff artifact, diffStats with zero files.
    assert!(!r.artifacts.contains_key("diff"));
    assert_eq!(meta(r)["diffStats"]["files"], 0);
    let val = meta(r)["validation"].as_array().unwrap();
    assert_eq!(val[0]["exitCode"], 1);
    let t = transcript(r);
    let l0 = std::fs::read_to_string(fx.prompt_path("L0-minimal.md")).unwrap();
    assert!(t
        .iter()
        .any(|e| e["kind"] == "assistant" && e["content"] == l0.as_str()));
    assert_eq!(r.telemetry.as_ref().unwrap().tool_calls, Some(0));
    assert!(fx.ws_entries().is_empty());
}

/// `KeepPolicy::Always` keeps the workspace as the agent left it and records where.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_always_keeps_the_workspace_and_records_it() {
    let fx = Fixture::new();
    let mut req = fx.request("L1", scripted("solve"));
    req.keep = KeepPolicy::Always;
    let out = run(req).await;
    let r = &out.result;
    assert_eq!(r.status, RunStatus::Completed);
    let kept = out.kept_workspace.clone().expect("kept workspace");
    assert!(
        kept.starts_with(fx.ws_parent.canonicalize().unwrap()),
        "{kept:?}"
    );
    let greet = std::fs::read_to_string(kept.join("greet.sh")).unwrap();
    assert!(greet.contains("Hello, $1!"), "{greet}");
    let shown = kept.display().to_string();
    assert_eq!(
        r.telemetry.as_ref().unwrap().workspace_dir.as_deref(),
        Some(shown.as_str())
    );
    assert_eq!(meta(r)["workspaceKept"], shown.as_str());
    // Only the run's own workspace is left (the pristine baseline copy is removed).
    assert_eq!(fx.ws_entries().len(), 1, "{:?}", fx.ws_entries());
}

/// `KeepPolicy::OnFailure` removes the workspace of a completed run and keeps a failed one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_on_failure_keeps_only_failed_runs() {
    let fx = Fixture::new();
    let mut req = fx.request("L1", scripted("solve"));
    req.keep = KeepPolicy::OnFailure;
    let ok = run(req).await;
    assert_eq!(ok.result.status, RunStatus::Completed);
    assert!(ok.kept_workspace.is_none());
    assert!(meta(&ok.result).get("workspaceKept").is_none());
    assert!(ok
        .result
        .telemetry
        .as_ref()
        .unwrap()
        .workspace_dir
        .is_none());
    assert!(fx.ws_entries().is_empty(), "{:?}", fx.ws_entries());

    fx.write_agent(
        "half-then-quit",
        "steps:\n  - write_file: { path: notes.txt, content: \"partial work\" }\n  - fail: \"gives up\"\n",
    );
    let mut req = fx.request("L1", scripted("half-then-quit"));
    req.keep = KeepPolicy::OnFailure;
    let bad = run(req).await;
    assert_eq!(bad.result.status, RunStatus::Failed);
    assert_eq!(bad.error_type, Some(ErrorType::Agent));
    let kept = bad
        .kept_workspace
        .clone()
        .expect("a failed run keeps its workspace");
    assert_eq!(
        std::fs::read_to_string(kept.join("notes.txt")).unwrap(),
        "partial work"
    );
    let shown = kept.display().to_string();
    assert_eq!(meta(&bad.result)["workspaceKept"], shown.as_str());
    assert_eq!(
        bad.result
            .telemetry
            .as_ref()
            .unwrap()
            .workspace_dir
            .as_deref(),
        Some(shown.as_str())
    );
    assert_eq!(fx.ws_entries().len(), 1, "{:?}", fx.ws_entries());

    // A run that fails before it has a workspace keeps nothing.
    let mut req = fx.request("L7", scripted("solve"));
    req.keep = KeepPolicy::OnFailure;
    let early = run(req).await;
    assert_eq!(early.error_type, Some(ErrorType::Prompt));
    assert!(early.kept_workspace.is_none());
    assert_eq!(fx.ws_entries().len(), 1);
}

/// `KeepPolicy::Never` (the default) removes even a failed run's workspace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_never_removes_failed_workspaces_too() {
    let fx = Fixture::new();
    fx.write_agent(
        "quit",
        "steps:\n  - write_file: { path: a.txt, content: x }\n  - fail: \"no\"\n",
    );
    let req = fx.request("L1", scripted("quit"));
    assert_eq!(req.keep, KeepPolicy::Never);
    let out = run(req).await;
    assert_eq!(out.result.status, RunStatus::Failed);
    assert!(out.kept_workspace.is_none());
    assert!(fx.ws_entries().is_empty(), "{:?}", fx.ws_entries());
}

/// Extra request metadata is recorded; the run id and batch id come from the request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_metadata_and_ids_are_recorded() {
    let fx = Fixture::new();
    let mut req = fx.request("L2", echo());
    req.run_id = "run-fixed-1".into();
    req.batch_id = Some("b-test".into());
    req.metadata.insert("label".into(), "nightly".into());
    let out = run(req).await;
    let r = &out.result;
    assert_eq!(r.run_id, "run-fixed-1");
    assert_eq!(r.batch_id.as_deref(), Some("b-test"));
    assert_eq!(meta(r)["label"], "nightly");
    assert_eq!(meta(r)["scenarioTitle"], "Fix the greeting");
    assert!(meta(r)["harness"].as_str().unwrap().starts_with("zebench "));
    let l2 = std::fs::read_to_string(fx.prompt_path("L2-directed.md")).unwrap();
    assert_eq!(
        r.telemetry.as_ref().unwrap().prompt_sent.as_deref(),
        Some(l2.as_str())
    );
}

/// `workspace.required: false` (artifact scenarios): no fixture, baseline, validation or diff;
/// the artifact reference is appended to the prompt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifact_scenario_without_workspace() {
    let fx = Fixture::new();
    fx.replace_in_yaml(
        "workspace:\n  required: true",
        "workspace:\n  required: false",
    );
    let mut yaml = fx.yaml();
    yaml.push_str("artifact:\n  type: figma\n  figma_file_id: \"abc123\"\n");
    fx.set_yaml(&yaml);
    let out = run(fx.request("L1", echo())).await;
    let r = &out.result;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.metadata);
    assert_eq!(step_names(r), ["prompt", "workspace", "agent", "evaluate"]);
    assert!(meta(r).get("baseline").is_none());
    assert!(meta(r).get("validation").is_none());
    assert!(meta(r).get("diffStats").is_none());
    assert!(evaluation(r, "CommandsEvaluator").is_none());
    assert!(!r.artifacts.contains_key("diff") && !r.artifacts.contains_key("commands"));
    let l1 = std::fs::read_to_string(fx.prompt_path("L1-basic.md")).unwrap();
    let sent = r.telemetry.as_ref().unwrap().prompt_sent.clone().unwrap();
    assert_eq!(
        sent,
        format!("{l1}\n\nArtifact reference:\ntype: figma\nfigma_file_id: abc123\n")
    );
    assert!(fx.ws_entries().is_empty());
}

/// `ask_user` is answered from oracle-answers.json and every question is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_user_is_answered_by_the_oracle_and_recorded() {
    let fx = Fixture::new();
    fx.write_agent(
        "asker",
        "steps:\n  - ask_user: { question: \"Which name should I greet?\" }\n  - ask_user: { question: \"Tabs or spaces?\" }\n  - copy_reference: true\n",
    );
    let out = run(fx.request("L1", scripted("asker"))).await;
    let r = &out.result;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.metadata);
    let q = meta(r)["questions"].as_array().expect("metadata.questions");
    assert_eq!(q.len(), 2, "{q:?}");
    assert_eq!(q[0]["question"], "Which name should I greet?");
    assert_eq!(q[0]["answer"], "Use the first command-line argument.");
    assert_eq!(q[1]["question"], "Tabs or spaces?");
    assert_eq!(
        q[1]["answer"],
        "Proceed with your best judgment based on the constraints provided."
    );
    let t = transcript(r);
    assert!(t.iter().any(|e| e["kind"] == "tool_result"
        && e["tool"] == "ask_user"
        && e["content"] == "Use the first command-line argument."));
    assert_eq!(r.telemetry.as_ref().unwrap().tool_calls, Some(2));
}

/// All five validation commands run after the agent, in the documented order, each recorded
/// and scored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_five_validation_commands_run_in_order() {
    let fx = Fixture::new();
    fx.replace_in_yaml(
        "    test: \"sh test.sh\"\n",
        "    build: \"echo build >> order.txt\"\n    lint: \"echo lint >> order.txt\"\n    test: \"echo test >> order.txt\"\n    typecheck: \"echo typecheck >> order.txt\"\n    install: \"echo install >> order.txt\"\n",
    );
    let mut req = fx.request("L1", echo());
    req.keep = KeepPolicy::Always;
    let out = run(req).await;
    let r = &out.result;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.metadata);
    let order = std::fs::read_to_string(out.kept_workspace.unwrap().join("order.txt")).unwrap();
    assert_eq!(order, "install\ntest\nlint\ntypecheck\nbuild\n");
    let names: Vec<&str> = meta(r)["validation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["install", "test", "lint", "typecheck", "build"]);
    for key in [
        "install_success",
        "tests_nonregression",
        "lint_nonregression",
        "typecheck_nonregression",
        "build_nonregression",
    ] {
        assert_eq!(metric(r, key), Some(1.0), "{key}");
    }
    assert!(r.artifacts["commands"].contains("=== validation typecheck: echo typecheck"));
}

/// A failing install (a critical command) makes the run unsuccessful even when the weighted
/// score is above the threshold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_critical_install_makes_the_run_unsuccessful() {
    let fx = Fixture::new();
    fx.replace_in_yaml(
        "    test: \"sh test.sh\"\n",
        "    install: \"exit 7\"\n    test: \"sh test.sh\"\n",
    );
    let out = run(fx.request("L1", scripted("solve"))).await;
    let r = &out.result;
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(metric(r, "install_success"), Some(0.0));
    assert_eq!(metric(r, "tests_nonregression"), Some(1.0));
    let expected = weighted(&[(0.0, 1.0), (1.0, 2.0), (1.0, 1.0), (1.0, 0.5)]);
    assert!(approx(r.weighted_score.unwrap(), expected));
    assert!(r.success_metric.unwrap() >= 0.7);
    assert!(!r.is_successful, "install failed");
    assert_eq!(meta(r)["validation"][0]["exitCode"], 7);
}

/// `success_threshold` and `critical_commands` decide `isSuccessful`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_threshold_and_critical_commands_are_configurable() {
    let fx = Fixture::new();
    let base = fx.yaml();
    // Echo scores 10 × 1.9 / 3.5 ≈ 5.43; its test fails.
    fx.set_yaml(&format!(
        "{base}critical_commands: []\nsuccess_threshold: 0.5\n"
    ));
    let lenient = run(fx.request("L1", echo())).await.result;
    assert!(lenient.is_successful, "{:?}", lenient.weighted_score);
    fx.set_yaml(&format!(
        "{base}critical_commands: []\nsuccess_threshold: 0.6\n"
    ));
    let strict = run(fx.request("L1", echo())).await.result;
    assert!(!strict.is_successful);
    fx.set_yaml(&format!("{base}success_threshold: 0.5\n"));
    let critical = run(fx.request("L1", echo())).await.result;
    assert!(
        !critical.is_successful,
        "the failing test is critical by default"
    );
    assert!(approx(
        lenient.weighted_score.unwrap(),
        critical.weighted_score.unwrap()
    ));
}

/// A weight of zero drops the metric from the weighted score (it is still shown).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_weight_drops_a_metric_from_the_weighted_score() {
    let fx = Fixture::new();
    fx.replace_in_yaml("    efficiency: 0.5", "    efficiency: 0");
    let r = run(fx.request("L1", echo())).await.result;
    assert_eq!(r.status, RunStatus::Completed);
    let eff = metrics(&r)
        .into_iter()
        .find(|(k, _, _)| k == "efficiency")
        .expect("efficiency still reported");
    assert_eq!(eff.2, 0.0);
    let expected = weighted(&[(0.5, 2.0), (0.4, 1.0)]);
    let ws = r.weighted_score.unwrap();
    assert!(approx(ws, expected), "{ws} != {expected}");
}
