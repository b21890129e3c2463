//! The harness side of the `zebench` binary as a user drives it: list, validate, new-suite,
//! new-scenario, run, batch (local database), Ctrl-C and kept workspaces. Every test has its own
//! sandbox (see `support`), and checks what was stored through a real `zebench serve` on the
//! same database.

mod support;

use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};
use support::{
    line_after, line_of, metadata, processes_with, shared_suites, signal, wait_for, Running,
    Sandbox, Server,
};

const T: Duration = Duration::from_secs(30);

fn shared() -> String {
    let p = shared_suites();
    assert!(
        p.join("update-deps").is_dir(),
        "the seed suites are expected at {} (shared/ beside the checkout)",
        p.display()
    );
    p.to_string_lossy().into_owned()
}

/// A sandbox with the scaffolded suite `demo` (scenario `example`).
fn demo() -> Sandbox {
    let sb = Sandbox::new();
    sb.new_suite("demo");
    sb
}

fn ids(runs: &[Value]) -> Vec<String> {
    runs.iter()
        .map(|r| r["runId"].as_str().expect("runId").to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. list / validate on the seed suites

#[test]
fn list_shows_the_seed_suites_with_their_tiers_in_text_and_json() {
    let sb = Sandbox::new();
    let suites = shared();
    let out = sb.run(&["list", "--suites", &suites], T);
    assert_eq!(out.code(), Some(0), "{out}");
    for needle in [
        "test-suite",
        "test-scenario",
        "update-deps",
        "nx-pnpm-monorepo",
    ] {
        assert!(out.stdout.contains(needle), "list shows {needle}: {out}");
    }
    let line = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("a line for {name}: {out}"))
            .to_string()
    };
    assert!(line("test-scenario").contains("L0 L1 L2"), "{out}");
    assert!(line("nx-pnpm-monorepo").contains("L0 L1 L2 L3 Lx"), "{out}");

    let out = sb.run(&["list", "--suites", &suites, "--json"], T);
    assert_eq!(out.code(), Some(0), "{out}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    let suites = v.as_array().expect("an array of suites");
    let tiers_of = |suite: &str, scenario: &str| -> Vec<String> {
        let s = suites
            .iter()
            .find(|s| s["suite"] == suite)
            .unwrap_or_else(|| panic!("suite {suite} in {v}"));
        let sc = s["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["scenario"] == scenario)
            .unwrap_or_else(|| panic!("scenario {scenario} in {v}"));
        sc["tiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        tiers_of("test-suite", "test-scenario"),
        ["L0", "L1", "L2"],
        "{v}"
    );
    assert_eq!(
        tiers_of("update-deps", "nx-pnpm-monorepo"),
        ["L0", "L1", "L2", "L3", "Lx"],
        "{v}"
    );
}

#[test]
fn validate_the_seed_suites_warns_about_the_judge_without_categories_and_strict_fails() {
    let sb = Sandbox::new();
    let suites = shared();
    let out = sb.run(&["validate", "--suites", &suites], T);
    assert_eq!(out.code(), Some(0), "warnings alone pass: {out}");
    let warning = out
        .stdout
        .lines()
        .find(|l| l.contains("warning") && l.contains("llm_judge") && l.contains("categories"))
        .unwrap_or_else(|| panic!("the llm_judge-without-categories warning: {out}"))
        .to_string();
    assert!(
        warning.contains("test-scenario/scenario.yaml:"),
        "{warning}"
    );
    // The line number points at `llm_judge:` or its `enabled: true`.
    let reported = line_after(&warning, "scenario.yaml").expect("scenario.yaml:<line>:");
    let yaml = std::fs::read_to_string(
        shared_suites().join("test-suite/scenarios/test-scenario/scenario.yaml"),
    )
    .unwrap();
    let judge = line_of(&yaml, "llm_judge:").expect("llm_judge: in the seed");
    let text = yaml.lines().nth(reported as usize - 1).unwrap_or("");
    assert!(
        (judge..judge + 3).contains(&reported)
            && (text.starts_with("llm_judge:") || text.trim() == "enabled: true"),
        "{warning} points into the llm_judge block (line {judge}), got {text:?}"
    );
    assert!(out.stdout.contains("0 error(s), 1 warning(s)"), "{out}");

    let strict = sb.run(&["validate", "--strict", "--suites", &suites], T);
    assert_eq!(
        strict.code(),
        Some(2),
        "--strict turns warnings into errors: {strict}"
    );
    assert!(strict.stdout.contains("llm_judge"), "{strict}");
}

// ---------------------------------------------------------------------------------------------
// 2. Bad input

#[test]
fn a_malformed_scenario_yaml_is_named_with_its_line_by_validate_and_run() {
    let sb = demo();
    let yaml_path = sb.suites().join("demo/scenarios/example/scenario.yaml");
    let yaml = std::fs::read_to_string(&yaml_path).unwrap();
    assert!(yaml.contains("\ntimeout_minutes: 5\n"), "{yaml}");
    let broken = yaml.replace("\ntimeout_minutes: 5\n", "\ntimeout_minutes: [1\n");
    std::fs::write(&yaml_path, &broken).unwrap();
    let expected_line = line_of(&broken, "timeout_minutes:").unwrap();

    let out = sb.run(&["validate"], T);
    assert_eq!(out.code(), Some(2), "{out}");
    let line = line_after(&out.stdout, "scenario.yaml")
        .unwrap_or_else(|| panic!("scenario.yaml:<line>: in {out}"));
    assert_eq!(line, expected_line, "{out}");
    assert!(out.stdout.contains("1 error(s)"), "{out}");

    let out = sb.run(
        &["run", "demo", "example", "--tier", "L1", "--agent", "echo"],
        T,
    );
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(
        out.stderr.contains(&yaml_path.display().to_string()),
        "names the file: {out}"
    );
    assert!(
        out.stderr
            .contains(&format!("scenario.yaml:{expected_line}:")),
        "{out}"
    );
    assert!(out.stdout.is_empty(), "nothing is run: {out}");
}

#[test]
fn a_yaml_error_is_not_prefixed_twice() {
    let sb = demo();
    let yaml_path = sb.suites().join("demo/scenarios/example/scenario.yaml");
    let yaml = std::fs::read_to_string(&yaml_path).unwrap();
    std::fs::write(
        &yaml_path,
        yaml.replace("\ntimeout_minutes: 5\n", "\ntimeout_minutes: [1\n"),
    )
    .unwrap();
    let out = sb.run(&["validate"], T);
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(!out.stdout.contains("error: error:"), "{out}");
}

#[test]
fn unknown_scenario_and_agent_exit_2_and_say_what_exists() {
    let sb = demo();
    let out = sb.run(&["run", "demo", "nope", "L1", "echo"], T);
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(out.stderr.contains("\"nope\""), "{out}");
    assert!(
        out.stderr.contains("it has: example"),
        "lists the scenarios: {out}"
    );

    let out = sb.run(&["run", "no-such-suite", "example", "L1", "echo"], T);
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(out.stderr.contains("no-such-suite"), "{out}");

    let out = sb.run(
        &["run", "demo", "example", "--tier", "L1", "--agent", "nope"],
        T,
    );
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(out.stderr.contains("unknown agent \"nope\""), "{out}");
    assert!(
        out.stderr.contains("echo") && out.stderr.contains("scripted:"),
        "names the available agents: {out}"
    );

    let out = sb.run(&["batch", "--suite", "demo", "--agents", "echo,nope"], T);
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(out.stderr.contains("available: echo"), "{out}");

    let out = sb.run(&["run", "demo", "example", "--agent", "echo"], T);
    assert_eq!(out.code(), Some(2), "no tier at all: {out}");
    assert!(out.stderr.contains("--tier"), "{out}");

    assert!(
        !sb.db().exists(),
        "none of these usage errors touched the database"
    );
}

#[test]
fn unknown_suite_lists_the_suites_that_exist() {
    let sb = demo();
    let out = sb.run(&["run", "no-such-suite", "example", "L1", "echo"], T);
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(out.stderr.contains("demo"), "lists the suite `demo`: {out}");
}

#[test]
fn a_missing_scripted_agent_script_is_a_usage_error() {
    let sb = demo();
    let out = sb.run(
        &[
            "run",
            "demo",
            "example",
            "--tier",
            "L1",
            "--agent",
            "scripted:no-such-script",
        ],
        T,
    );
    assert!(out.all().contains("no-such-script.yaml"), "{out}");
    assert_eq!(out.code(), Some(2), "{out}");
}

#[test]
fn a_tier_without_a_prompt_exits_2_and_the_failed_run_is_stored() {
    let sb = demo();
    let out = sb.run(
        &["run", "demo", "example", "--tier", "L7", "--agent", "echo"],
        T,
    );
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(out.stdout.contains("failed (prompt)"), "{out}");
    assert!(
        out.stdout.contains("tiers with a prompt: L0, L1, L2"),
        "{out}"
    );
    assert!(out.stdout.contains("stored in the local database"), "{out}");

    let server = Server::start(&sb, "127.0.0.1:0", &sb.db(), None);
    let (status, runs) = server.get_json("/api/runs?tier=L7");
    assert_eq!(status, 200, "{runs}");
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let r = &runs[0];
    assert_eq!(r["status"], "failed", "{r}");
    assert_eq!(
        (
            r["suite"].as_str(),
            r["scenario"].as_str(),
            r["agent"].as_str()
        ),
        (Some("demo"), Some("example"), Some("echo"))
    );
    let m = metadata(r);
    assert_eq!(m["errorType"], "prompt", "{m}");
    assert!(m["error"].as_str().unwrap_or("").contains("L7"), "{m}");
}

// ---------------------------------------------------------------------------------------------
// 3. Scaffolds, run, gates, JSON

#[test]
fn scaffolds_validate_clean_and_run_with_the_scripted_solution_and_echo() {
    let sb = Sandbox::new();
    let out = sb.run(&["new-suite", "demo"], T);
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stdout.contains("scenario `example`"), "{out}");
    let out = sb.run(&["new-scenario", "demo", "second-one"], T);
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(sb
        .suites()
        .join("demo/scenarios/second-one/scenario.yaml")
        .is_file());
    let out = sb.run(&["new-suite", "demo"], T);
    assert_eq!(out.code(), Some(2), "an existing suite is refused: {out}");
    let out = sb.run(&["new-scenario", "demo", "Bad_Name"], T);
    assert_eq!(out.code(), Some(2), "{out}");

    let out = sb.run(&["validate"], T);
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(
        out.stdout
            .contains("2 scenario(s): 0 error(s), 0 warning(s)"),
        "{out}"
    );
    let out = sb.run(&["validate", "--strict"], T);
    assert_eq!(out.code(), Some(0), "{out}");

    let out = sb.run(
        &[
            "run",
            "demo",
            "example",
            "--tier",
            "L1",
            "--agent",
            "scripted:solve",
            "--fail-under",
            "10",
        ],
        T,
    );
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stdout.contains("weighted score 10.00/10"), "{out}");
    assert!(out.stdout.contains("  successful"), "{out}");

    // The seed's positional form; echo changes nothing, so the failing test still fails.
    let out = sb.run(&["run", "demo", "example", "L1", "echo"], T);
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stdout.contains("not successful"), "{out}");
    let echo_score: f64 = out
        .stdout
        .split("weighted score ")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a weighted score: {out}"));
    assert!(echo_score < 10.0, "{out}");

    // echo scores 5.43 (a still-failing test counts 0.5 "no regression", efficiency 1.0), so
    // the gate is set above that.
    let out = sb.run(
        &["run", "demo", "example", "L1", "echo", "--fail-under", "9"],
        T,
    );
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stderr.contains("below --fail-under 9"), "{out}");
    let out = sb.run(
        &[
            "run",
            "demo",
            "example",
            "L1",
            "echo",
            "--fail-under",
            &format!("{}", (echo_score - 0.5).max(0.0)),
        ],
        T,
    );
    assert_eq!(out.code(), Some(0), "a gate below the score passes: {out}");

    let out = sb.run(&["run", "demo", "second-one", "L2", "echo", "--json"], T);
    assert_eq!(out.code(), Some(0), "{out}");
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}): {out}"));
    assert!(v["runId"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
    assert_eq!(v["status"], "completed", "{v}");
    assert_eq!(v["scenario"], "second-one", "{v}");
    assert_eq!(v["tier"], "L2", "{v}");
    assert_eq!(v["isSuccessful"], false, "{v}");
    assert!(
        v["evaluations"].as_array().is_some_and(|e| !e.is_empty()),
        "{v}"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. batch into the local database: summary, shards, resume

#[test]
fn batch_into_the_local_database_with_shards_and_resume() {
    let sb = demo();
    let matrix = [
        "--suite",
        "demo",
        "--tiers",
        "L1",
        "--agents",
        "scripted:solve,echo",
        "--repeat",
        "2",
        "--jobs",
        "2",
    ];
    let batch = |extra: &[&str]| {
        let mut args = vec!["batch"];
        args.extend_from_slice(&matrix);
        args.extend_from_slice(extra);
        sb.run(&args, T)
    };

    let out = batch(&["--batch-id", "b1"]);
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stdout.contains("batch b1"), "{out}");
    assert!(
        out.stdout.contains("±"),
        "summary table with intervals: {out}"
    );
    assert!(out.stdout.contains("scripted:solve"), "{out}");
    assert!(out.stdout.contains("100% (2/2)"), "{out}");
    assert!(out.stdout.contains("4 run(s) finished"), "{out}");

    // Two shards filling one batch, and the same matrix unsharded.
    let s1 = batch(&["--batch-id", "b2", "--shard", "1/2"]);
    assert_eq!(s1.code(), Some(0), "{s1}");
    assert!(s1.stdout.contains("2 run(s) finished"), "{s1}");
    let s2 = batch(&["--batch-id", "b2", "--shard", "2/2"]);
    assert_eq!(s2.code(), Some(0), "{s2}");
    assert!(s2.stdout.contains("2 run(s) finished"), "{s2}");
    let out = batch(&["--batch-id", "b3"]);
    assert_eq!(out.code(), Some(0), "{out}");

    let bad = batch(&["--batch-id", "b9", "--shard", "3/2"]);
    assert_eq!(bad.code(), Some(2), "{bad}");

    let server = Server::start(&sb, "127.0.0.1:0", &sb.db(), None);
    let (status, b1) = server.get_json("/api/batches/b1");
    assert_eq!(status, 200, "{b1}");
    assert_eq!(b1["totalRuns"], 4, "{b1}");
    assert_eq!(b1["successfulRuns"], 2, "{b1}");
    assert!(!b1["completedAt"].is_null(), "{b1}");
    let b1_ids = ids(&server.runs_of_batch("b1"));
    assert_eq!(b1_ids.len(), 4, "{b1_ids:?}");
    assert_eq!(b1_ids.iter().collect::<HashSet<_>>().len(), 4);

    let b2 = ids(&server.runs_of_batch("b2"));
    let b3 = ids(&server.runs_of_batch("b3"));
    assert_eq!(b2.len(), 4, "{b2:?}");
    assert_eq!(
        b2.iter().collect::<HashSet<_>>().len(),
        4,
        "no duplicates: {b2:?}"
    );
    // Run ids are `<batch>-<hash of the cell>`: the shards cover exactly the unsharded cells.
    let cells = |v: &[String], batch: &str| -> BTreeSet<String> {
        v.iter()
            .map(|id| {
                id.strip_prefix(&format!("{batch}-"))
                    .unwrap_or_else(|| panic!("{id} starts with {batch}-"))
                    .to_string()
            })
            .collect()
    };
    assert_eq!(cells(&b2, "b2"), cells(&b3, "b3"));
    assert_eq!(cells(&b1_ids, "b1"), cells(&b3, "b3"));
    let (_, b2_batch) = server.get_json("/api/batches/b2");
    assert_eq!(b2_batch["totalRuns"], 4, "{b2_batch}");

    // Resume: everything is stored already, so nothing runs and nothing new is stored (the
    // server keeps reading the same database meanwhile).
    let out = batch(&["--resume", "b1"]);
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.all().contains("skipped"), "{out}");
    assert!(out.stdout.contains("0 run(s) finished"), "{out}");
    let after = ids(&server.runs_of_batch("b1"));
    assert_eq!(
        after.iter().collect::<BTreeSet<_>>(),
        b1_ids.iter().collect::<BTreeSet<_>>()
    );
    let (_, b1) = server.get_json("/api/batches/b1");
    assert_eq!(b1["totalRuns"], 4, "{b1}");
    let (_, all) = server.get_json("/api/runs?limit=1000");
    assert_eq!(all.as_array().unwrap().len(), 12, "b1 + b2 + b3");

    let out = batch(&["--resume", "b1", "--batch-id", "other"]);
    assert_eq!(out.code(), Some(2), "{out}");
}

#[test]
fn batch_without_tiers_runs_every_tier_with_a_prompt() {
    let sb = demo();
    let out = sb.run(
        &[
            "batch",
            "--suite",
            "demo",
            "--agents",
            "echo",
            "--batch-id",
            "all-tiers",
            "--json",
        ],
        T,
    );
    assert_eq!(out.code(), Some(0), "{out}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["batchId"], "all-tiers", "{v}");
    let tiers: BTreeSet<&str> = v["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tier"].as_str().unwrap())
        .collect();
    assert_eq!(tiers, BTreeSet::from(["L0", "L1", "L2"]), "{v}");
}

// ---------------------------------------------------------------------------------------------
// 6. Ctrl-C

#[test]
fn ctrl_c_stops_a_run_exits_130_stores_it_as_signal_and_leaves_no_process() {
    const MARKER: &str = "987653";
    let sb = demo();
    sb.write_agent(
        "demo",
        "example",
        "hang",
        &format!(
            "steps:\n  - say: \"waiting\"\n  - run_command: {{ command: \"sleep {MARKER}\" }}\n"
        ),
    );
    assert!(
        processes_with(MARKER).is_empty(),
        "a process from an earlier run is still there: {:?}",
        processes_with(MARKER)
    );
    let mut cmd = sb.zebench();
    cmd.args([
        "run",
        "demo",
        "example",
        "--tier",
        "L1",
        "--agent",
        "scripted:hang",
    ]);
    let run = Running::spawn(cmd);
    let started = wait_for(Duration::from_secs(15), || {
        (!processes_with(MARKER).is_empty()).then_some(())
    });
    assert!(
        started.is_some(),
        "the agent's command never started:\n{}",
        run.output_so_far()
    );
    std::thread::sleep(Duration::from_millis(700));
    signal(run.pid(), "INT");
    let sent = Instant::now();
    let out = run.finish(Duration::from_secs(40));
    let took = sent.elapsed();
    assert_eq!(out.code(), Some(130), "{out}");
    assert!(
        took < Duration::from_secs(5),
        "exited {took:?} after SIGINT"
    );
    assert!(out.stdout.contains("failed (signal)"), "{out}");
    assert!(out.stdout.contains("stored in the local database"), "{out}");

    let gone = wait_for(Duration::from_secs(5), || {
        processes_with(MARKER).is_empty().then_some(())
    });
    assert!(
        gone.is_some(),
        "processes left behind: {:?}",
        processes_with(MARKER)
    );

    let server = Server::start(&sb, "127.0.0.1:0", &sb.db(), None);
    let (_, runs) = server.get_json("/api/runs");
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["status"], "failed", "{}", runs[0]);
    let m = metadata(&runs[0]);
    assert_eq!(m["errorType"], "signal", "{m}");
}

// ---------------------------------------------------------------------------------------------
// 7. Kept workspaces

#[test]
fn keep_workspace_keeps_it_and_the_default_leaves_the_folder_empty() {
    let sb = demo();
    let ws = sb.path().join("ws");
    std::fs::create_dir(&ws).unwrap();
    let ws_arg = ws.to_string_lossy().into_owned();
    let out = sb.run(
        &[
            "run",
            "demo",
            "example",
            "--tier",
            "L1",
            "--agent",
            "scripted:solve",
            "--workspace-dir",
            &ws_arg,
            "--keep-workspace",
        ],
        T,
    );
    assert_eq!(out.code(), Some(0), "{out}");
    let kept = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("workspace kept at "))
        .unwrap_or_else(|| panic!("says where the workspace is: {out}"));
    let kept = std::path::PathBuf::from(kept.trim());
    assert!(
        kept.starts_with(&ws),
        "{} is under {}",
        kept.display(),
        ws.display()
    );
    let greet = std::fs::read_to_string(kept.join("greet.sh"))
        .unwrap_or_else(|e| panic!("{}/greet.sh: {e}", kept.display()));
    assert!(
        greet.contains("$1!"),
        "the agent's change is there: {greet}"
    );

    let ws2 = sb.path().join("ws-default");
    std::fs::create_dir(&ws2).unwrap();
    let out = sb.run(
        &[
            "run",
            "demo",
            "example",
            "--tier",
            "L1",
            "--agent",
            "scripted:solve",
            "--workspace-dir",
            &ws2.to_string_lossy(),
        ],
        T,
    );
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(!out.stdout.contains("workspace kept"), "{out}");
    let left: Vec<_> = std::fs::read_dir(&ws2).unwrap().flatten().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_missing_workspace_dir_is_created() {
    let sb = demo();
    let missing = sb.path().join("no-such-dir");
    let out = sb.run(
        &[
            "run",
            "demo",
            "example",
            "--tier",
            "L1",
            "--agent",
            "echo",
            "--workspace-dir",
            &missing.to_string_lossy(),
        ],
        T,
    );
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(missing.is_dir(), "the folder is created: {out}");
    let left: Vec<_> = std::fs::read_dir(&missing).unwrap().flatten().collect();
    assert!(left.is_empty(), "the run's workspace is removed: {left:?}");
}
