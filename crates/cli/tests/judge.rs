//! The LLM judge wired through the real binary: a scenario that enables the judge, a provider
//! configured only by environment variables, and a scripted OpenAI-compatible server on
//! 127.0.0.1 standing in for the model. Proves the judge's score, its separate usage, and the
//! explicit error when no provider is configured.

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use zebench_provider::scripted::{ScriptedReply, ScriptedServer};

fn zebench(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zebench"));
    c.current_dir(dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("HOME", dir)
        .env("DATABASE_URL", dir.join("db.sqlite"))
        .env_remove("ZE_BENCHMARKS_WORKER_URL")
        .env_remove("ZEBENCH_SUITES");
    for k in [
        "OPENROUTER_API_KEY",
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "ZEBENCH_JUDGE_PROVIDER",
        "ZEBENCH_JUDGE_MODEL",
        "OPENAI_BASE_URL",
    ] {
        c.env_remove(k);
    }
    c
}

/// A suite `demo` whose scenario `example` enables the judge (categories 70% / 30%).
fn suite(dir: &Path) {
    let out = zebench(dir)
        .args(["new-suite", "demo", "--suites", "suites"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = dir.join("suites/demo/scenarios/example/scenario.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&yaml, text.replace("enabled: false", "enabled: true")).unwrap();
}

fn run_json(cmd: &mut Command) -> Value {
    let out = cmd
        .args([
            "run",
            "demo",
            "example",
            "--tier",
            "L1",
            "--agent",
            "scripted:solve",
            "--json",
            "--suites",
            "suites",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn evaluation<'a>(run: &'a Value, name: &str) -> Option<&'a Value> {
    run["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["evaluatorName"] == name)
}

#[test]
fn the_judge_scores_through_the_configured_provider() {
    let dir = tempfile::tempdir().unwrap();
    suite(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let answer = json!({"scores": [
        {"category": "Correctness", "score": 5, "reasoning": "prints the name"},
        {"category": "Simplicity", "score": 3, "reasoning": "fine"}
    ], "overall_reasoning": "good"})
    .to_string();
    let server = rt
        .block_on(ScriptedServer::start(vec![ScriptedReply::openai_text(
            &answer, 1200, 80,
        )]))
        .unwrap();
    let run = run_json(
        zebench(dir.path())
            .env("ZEBENCH_JUDGE_PROVIDER", "openai")
            .env("ZEBENCH_JUDGE_MODEL", "judge-model-x")
            .env("OPENAI_API_KEY", "sk-test-judge-key")
            .env("OPENAI_BASE_URL", format!("{}/v1", server.base_url())),
    );
    let judge = evaluation(&run, "LLMJudgeEvaluator").expect("a judge evaluation");
    // 0.7 × (5−1)/4 + 0.3 × (3−1)/4 = 0.85
    assert!(
        (judge["score"].as_f64().unwrap() - 0.85).abs() < 1e-9,
        "{judge}"
    );
    let meta = &run["metadata"];
    assert_eq!(meta["judge"]["tokensIn"], 1200, "{meta}");
    assert_eq!(meta["judge"]["tokensOut"], 80);
    // The agent's telemetry is the scripted agent's own, not the judge's.
    assert_ne!(run["telemetry"]["tokensIn"], 1200);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let body = &reqs[0].body;
    assert_eq!(body["model"], "judge-model-x");
    let prompt = body.to_string();
    assert!(prompt.contains("Hello, $1!"), "the judge sees the diff");
    assert!(
        prompt.contains("Correctness"),
        "the judge sees the categories"
    );
    // The key never lands in the stored result.
    assert!(!run.to_string().contains("sk-test-judge-key"));
}

#[test]
fn without_a_provider_the_judge_reports_why_it_did_not_run() {
    let dir = tempfile::tempdir().unwrap();
    suite(dir.path());
    let run = run_json(&mut zebench(dir.path()));
    assert!(evaluation(&run, "LLMJudgeEvaluator").is_none());
    let errors = run["metadata"]["evaluatorErrors"].to_string();
    assert!(errors.contains("no provider key"), "{errors}");
    assert_eq!(run["status"], "completed");
}
