//! Shared fixtures for the harness integration tests.
//!
//! [`Fixture::new`] scaffolds a suites root `demo/example` in a temporary folder (the shell
//! scenario of `zebench new-suite`: `greet.sh` is wrong, `sh test.sh` fails at baseline, the
//! reference solution fixes it) plus a separate workspace parent folder, so tests can assert
//! that workspaces are removed or kept. Tests customize scenario.yaml and add scripted agents.

#![allow(dead_code)]

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zebench_core::{EvaluationInput, RunResult};
use zebench_harness::agent::scripted::ScriptedAgent;
use zebench_harness::agent::Agent;
use zebench_harness::runner::RunRequest;
use zebench_harness::suite::scaffold::new_suite;
use zebench_harness::suite::{Scenario, ScenarioEntry, SuitesRoots};

pub const SUITE: &str = "demo";
pub const SCENARIO: &str = "example";

/// Upper bound for every run a test starts (tests must stay well under 30 s).
pub const TEST_RUN_TIMEOUT: Duration = Duration::from_secs(20);

/// A scaffolded suites root and an empty workspace parent, both in one temporary folder.
pub struct Fixture {
    pub tmp: tempfile::TempDir,
    /// The suites root (holds `demo/`).
    pub root: PathBuf,
    /// Where run workspaces are made (`RunRequest::workspace_parent`).
    pub ws_parent: PathBuf,
}

impl Fixture {
    pub fn new() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("suites");
        let ws_parent = tmp.path().join("workspaces");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&ws_parent).unwrap();
        new_suite(&root, SUITE).expect("scaffold the demo suite");
        Fixture {
            tmp,
            root,
            ws_parent,
        }
    }

    pub fn roots(&self) -> SuitesRoots {
        SuitesRoots(vec![self.root.clone()])
    }

    pub fn suite_dir(&self) -> PathBuf {
        self.root.join(SUITE)
    }

    pub fn scenario_dir(&self) -> PathBuf {
        self.suite_dir().join("scenarios").join(SCENARIO)
    }

    pub fn yaml_path(&self) -> PathBuf {
        self.scenario_dir().join("scenario.yaml")
    }

    pub fn prompt_path(&self, file: &str) -> PathBuf {
        self.suite_dir().join("prompts").join(SCENARIO).join(file)
    }

    pub fn yaml(&self) -> String {
        std::fs::read_to_string(self.yaml_path()).unwrap()
    }

    pub fn set_yaml(&self, text: &str) {
        std::fs::write(self.yaml_path(), text).unwrap();
    }

    /// Replaces one exact snippet of scenario.yaml (panics when it is not there, so a changed
    /// scaffold is noticed rather than silently testing something else).
    pub fn replace_in_yaml(&self, from: &str, to: &str) {
        let text = self.yaml();
        assert!(
            text.contains(from),
            "scenario.yaml has no {from:?}:\n{text}"
        );
        self.set_yaml(&text.replacen(from, to, 1));
    }

    /// Writes `agents/<name>.yaml` in the scenario folder; the agent is `scripted:<name>`.
    pub fn write_agent(&self, name: &str, script: &str) -> PathBuf {
        let p = self
            .scenario_dir()
            .join("agents")
            .join(format!("{name}.yaml"));
        std::fs::write(&p, script).unwrap();
        p
    }

    pub fn entry(&self) -> ScenarioEntry {
        self.roots()
            .scenario(SUITE, SCENARIO)
            .expect("the demo scenario is found")
    }

    pub fn load(&self) -> (ScenarioEntry, Scenario) {
        let entry = self.entry();
        let scenario = entry.load().expect("scenario.yaml parses");
        (entry, scenario)
    }

    /// A request for `tier` with the test's workspace parent and bounded timeouts.
    pub fn request(&self, tier: &str, agent: Arc<dyn Agent>) -> RunRequest {
        let (entry, scenario) = self.load();
        let mut req = RunRequest::new(entry, scenario, tier, agent);
        req.workspace_parent = Some(self.ws_parent.clone());
        req.command_timeout = Duration::from_secs(15);
        req.run_timeout = Some(TEST_RUN_TIMEOUT);
        req
    }

    /// What is left in the workspace parent.
    pub fn ws_entries(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.ws_parent)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }
}

pub fn scripted(name: &str) -> Arc<dyn Agent> {
    Arc::new(ScriptedAgent::new(name))
}

pub fn echo() -> Arc<dyn Agent> {
    Arc::new(zebench_harness::agent::echo::EchoAgent)
}

pub fn meta(run: &RunResult) -> &Map<String, Value> {
    run.metadata.as_ref().expect("runs always have metadata")
}

pub fn error_type(run: &RunResult) -> Option<&str> {
    meta(run).get("errorType").and_then(Value::as_str)
}

pub fn error_message(run: &RunResult) -> &str {
    meta(run).get("error").and_then(Value::as_str).unwrap_or("")
}

/// `metadata.steps` as (name, ok, durationMs).
pub fn steps(run: &RunResult) -> Vec<(String, bool, u64)> {
    meta(run)
        .get("steps")
        .and_then(Value::as_array)
        .expect("metadata.steps is an array")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("step name").to_string(),
                s["ok"].as_bool().expect("step ok"),
                s["durationMs"].as_u64().expect("step durationMs"),
            )
        })
        .collect()
}

pub fn step_names(run: &RunResult) -> Vec<String> {
    steps(run).into_iter().map(|s| s.0).collect()
}

pub fn evaluation<'a>(run: &'a RunResult, name: &str) -> Option<&'a EvaluationInput> {
    run.evaluations.iter().find(|e| e.evaluator_name == name)
}

pub fn details(e: &EvaluationInput) -> Value {
    serde_json::from_str(e.details.as_deref().expect("evaluation details")).expect("details JSON")
}

/// Every metric of every evaluation as (key, score, weight).
pub fn metrics(run: &RunResult) -> Vec<(String, f64, f64)> {
    let mut out = Vec::new();
    for e in &run.evaluations {
        let d = details(e);
        for m in d["metrics"].as_array().expect("details.metrics") {
            out.push((
                m["key"].as_str().unwrap().to_string(),
                m["score"].as_f64().unwrap(),
                m["weight"].as_f64().unwrap(),
            ));
        }
    }
    out
}

pub fn metric(run: &RunResult, key: &str) -> Option<f64> {
    metrics(run)
        .into_iter()
        .find(|(k, _, _)| k == key)
        .map(|(_, s, _)| s)
}

/// 10 × Σ w·s / Σ w over the given (score, weight) pairs.
pub fn weighted(pairs: &[(f64, f64)]) -> f64 {
    let num: f64 = pairs.iter().map(|(s, w)| s * w).sum();
    let den: f64 = pairs.iter().map(|(_, w)| w).sum();
    10.0 * num / den
}

pub fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// The transcript artifact, parsed.
pub fn transcript(run: &RunResult) -> Vec<Value> {
    let text = run
        .artifacts
        .get("transcript")
        .expect("a transcript artifact");
    match serde_json::from_str::<Value>(text).expect("transcript is JSON") {
        Value::Array(v) => v,
        other => panic!("transcript is not a JSON array: {other}"),
    }
}

/// Processes (other than this one) whose command line contains `marker`, as (pid, cmdline).
pub fn processes_with(marker: &str) -> Vec<(u32, String)> {
    let me = std::process::id();
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmd.contains(marker) {
            out.push((pid, cmd.trim().to_string()));
        }
    }
    out
}

/// Polls until no process carries `marker` (up to `within`); returns what is still there.
pub async fn wait_until_gone(marker: &str, within: Duration) -> Vec<(u32, String)> {
    let end = Instant::now() + within;
    loop {
        let left = processes_with(marker);
        if left.is_empty() || Instant::now() >= end {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls until a process carries `marker` (up to `within`); true when one appeared.
pub async fn wait_until_running(marker: &str, within: Duration) -> bool {
    let end = Instant::now() + within;
    loop {
        if !processes_with(marker).is_empty() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A marker unlikely to appear in any other process: `<base><pid>` (digits only, so it can be
/// a `sleep` argument).
pub fn marker(base: u32) -> String {
    format!("{base}{}", std::process::id())
}

pub fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}
