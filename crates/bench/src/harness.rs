//! Harness benchmarks (issue #3): the per-run overhead of the harness itself, and how `--jobs`
//! scales on command-bound runs.
//!
//! `overhead` runs a scenario whose fixture has `files` files, whose agent edits a few of them
//! (scripted, no model) and which has no commands, then stores each result in a fresh SQLite
//! database exactly as `zebench run` does: what is timed is workspace copy, diff, evaluators,
//! scoring and storing. `jobs` runs the same command-bound batch with 1 and with N jobs.

use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zebench_harness::agent::scripted::ScriptedAgent;
use zebench_harness::agent::Agent;
use zebench_harness::batch::{self, AgentSpec, BatchOptions};
use zebench_harness::runner::{self, RunRequest};
use zebench_harness::sink::{ResultSink, SinkError, Stored};
use zebench_harness::suite::SuitesRoots;
use zebench_store::{Store, StoreOptions};

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::create_dir_all(path.parent().context("no parent")?)?;
    std::fs::write(path, text)?;
    Ok(())
}

/// A suite `bench` with scenario `s` under `root`.
fn make_suite(root: &Path, files: usize, validation: &str) -> Result<()> {
    let s = root.join("bench/scenarios/s");
    let yaml = format!(
        "id: s\nsuite: bench\ntitle: bench\ntimeout_minutes: 10\n{validation}heuristic_checks:\n  enabled: true\n  files:\n    - {{ name: f0, path: src/d0/f0.txt }}\n  patterns:\n    - {{ name: edited, file: \"src/d0/*.txt\", pattern: \"edited\" }}\n"
    );
    write(&s.join("scenario.yaml"), &yaml)?;
    let line = "some fixture text that is long enough to look like code; ".repeat(4);
    for i in 0..files {
        let body: String = (0..40).map(|l| format!("{l}: {line}\n")).collect();
        write(
            &s.join(format!("repo-fixture/src/d{}/f{}.txt", i / 50, i % 50)),
            &body,
        )?;
    }
    let mut steps = String::from("steps:\n");
    for i in 0..5 {
        steps.push_str(&format!(
            "  - edit_file: {{ path: src/d0/f{i}.txt, old_string: \"0: some\", new_string: \"0: edited\" }}\n"
        ));
    }
    write(&s.join("agents/edit.yaml"), &steps)?;
    write(
        &root.join("bench/prompts/s/L1-basic.md"),
        "Edit five files.\n",
    )?;
    Ok(())
}

struct StoreSink(Store);

#[async_trait::async_trait]
impl ResultSink for StoreSink {
    async fn store(&self, run: &zebench_core::RunResult) -> Result<Stored, SinkError> {
        let body = serde_json::to_vec(run).map_err(|e| SinkError(e.to_string()))?;
        let run = zebench_core::parse_run_result(&body).map_err(|e| SinkError(e.to_string()))?;
        self.0
            .submit_run(run)
            .await
            .map(|_| Stored::Created)
            .map_err(|e| SinkError(e.to_string()))
    }
    async fn upsert_batch(&self, b: &zebench_core::BatchUpsert) -> Result<(), SinkError> {
        self.0
            .upsert_batch(b)
            .await
            .map_err(|e| SinkError(e.to_string()))
    }
    async fn stored_run_ids(
        &self,
        _: &str,
    ) -> Result<std::collections::HashSet<String>, SinkError> {
        Ok(Default::default())
    }
    fn describe(&self) -> String {
        "bench store".into()
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub async fn overhead(files: usize, runs: usize, workspace_dir: Option<&Path>) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    make_suite(tmp.path(), files, "")?;
    let store = Store::connect(StoreOptions::new(
        tmp.path().join("db.sqlite").display().to_string(),
    ))
    .await?;
    let sink = StoreSink(store);
    let entry = SuitesRoots(vec![tmp.path().to_path_buf()]).scenario("bench", "s")?;
    let scenario = entry.load()?;
    let agent: Arc<dyn Agent> = Arc::new(ScriptedAgent::new("edit"));
    let ws_tmp = match workspace_dir {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let ws = ws_tmp.path().to_path_buf();
    let mut totals = Vec::new();
    let mut agent_ms = Vec::new();
    let mut steps: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for i in 0..runs + 3 {
        let mut req = RunRequest::new(entry.clone(), scenario.clone(), "L1", agent.clone());
        req.workspace_parent = Some(ws.clone());
        let t = Instant::now();
        let out = runner::run(req).await;
        sink.store(&out.result).await?;
        let total = t.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(
            out.error_type.is_none(),
            "run failed: {:?}",
            out.result.metadata
        );
        if i < 3 {
            continue; // warm-up
        }
        let meta = out.result.metadata.unwrap_or_default();
        for s in meta["steps"].as_array().into_iter().flatten() {
            let name = s["name"].as_str().unwrap_or("?").to_string();
            let d = s["durationMs"].as_f64().unwrap_or(0.0);
            if name == "agent" {
                agent_ms.push(d);
            }
            steps.entry(name).or_default().push(d);
        }
        totals.push(total);
    }
    // Overhead = whole run including storing, minus the agent's own time.
    let mut over: Vec<f64> = totals.iter().zip(&agent_ms).map(|(t, a)| t - a).collect();
    over.sort_by(|a, b| a.total_cmp(b));
    println!(
        "fixture files: {files}, runs: {runs} (after 3 warm-up runs), workspaces in {}",
        ws.display()
    );
    println!(
        "harness overhead per run (total minus agent): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        pct(&over, 0.5),
        pct(&over, 0.95),
        over[over.len() - 1]
    );
    for (name, mut v) in steps {
        v.sort_by(|a, b| a.total_cmp(b));
        println!(
            "  step {name:<10} p50 {:>6.1} ms  p95 {:>6.1} ms",
            pct(&v, 0.5),
            pct(&v, 0.95)
        );
    }
    Ok(())
}

pub async fn jobs(runs: usize, jobs: usize, command: &str) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let validation = format!("validation:\n  commands:\n    test: {command:?}\n");
    make_suite(tmp.path(), 20, &validation)?;
    let store = Store::connect(StoreOptions::new(
        tmp.path().join("db.sqlite").display().to_string(),
    ))
    .await?;
    let sink: Arc<dyn ResultSink> = Arc::new(StoreSink(store));
    let entry = SuitesRoots(vec![tmp.path().to_path_buf()]).scenario("bench", "s")?;
    let scenario = Arc::new(entry.load()?);
    let spec = AgentSpec::parse("scripted:edit").map_err(anyhow::Error::msg)?;
    let agents = [(spec.clone(), zebench_harness::agent::build(&spec)?)]
        .into_iter()
        .collect();
    let mut times = Vec::new();
    for j in [1, jobs] {
        let id = format!("jobs-{j}");
        let cells = batch::plan(
            &id,
            &[(entry.clone(), scenario.clone())],
            &[],
            std::slice::from_ref(&spec),
            runs as u32,
            None,
        );
        let opts = BatchOptions {
            batch_id: id,
            jobs: j,
            max_cost_usd: None,
            keep: zebench_harness::workspace::KeepPolicy::Never,
            workspace_parent: Some(tmp.path().to_path_buf()),
            command_timeout: Duration::from_secs(600),
            run_timeout: None,
            evaluators: zebench_harness::evaluators::default_set(None),
            cancel: Default::default(),
            skip: Default::default(),
            shard: None,
        };
        let t = Instant::now();
        let report = batch::execute(cells, &agents, sink.clone(), opts, Arc::new(|_| {})).await;
        let secs = t.elapsed().as_secs_f64();
        anyhow::ensure!(report.outcomes.len() == runs, "not every run finished");
        println!(
            "--jobs {j}: {runs} runs in {secs:.2} s = {:.2} runs/s",
            runs as f64 / secs
        );
        times.push(secs);
    }
    println!(
        "speed-up of --jobs {jobs} over --jobs 1: {:.2}×",
        times[0] / times[1]
    );
    Ok(())
}
