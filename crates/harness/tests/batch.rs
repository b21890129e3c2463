//! Batches: the plan (determinism, shards, repeats), execution through a sink (resume,
//! `--max-cost`, `jobs` concurrency, missing tiers) and the end-of-batch summary.

mod common;

use async_trait::async_trait;
use common::*;
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zebench_core::{BatchUpsert, RunResult, RunStatus};
use zebench_harness::agent::Agent;
use zebench_harness::batch::{
    execute, plan, summarize, AgentSpec, BatchEvent, BatchOptions, BatchReport, Cell, EventFn,
    Shard,
};
use zebench_harness::runner::ErrorType;
use zebench_harness::sink::{ResultSink, SinkError, Stored};
use zebench_harness::suite::{Scenario, ScenarioEntry, TierPrompt};
use zebench_harness::workspace::KeepPolicy;

/// Keeps stored runs in memory.
#[derive(Default)]
struct MemSink {
    runs: Mutex<Vec<RunResult>>,
    batches: Mutex<Vec<BatchUpsert>>,
}

#[async_trait]
impl ResultSink for MemSink {
    async fn store(&self, run: &RunResult) -> Result<Stored, SinkError> {
        let mut runs = self.runs.lock().unwrap();
        if runs.iter().any(|r| r.run_id == run.run_id) {
            return Ok(Stored::Duplicate);
        }
        runs.push(run.clone());
        Ok(Stored::Created)
    }

    async fn upsert_batch(&self, batch: &BatchUpsert) -> Result<(), SinkError> {
        self.batches.lock().unwrap().push(batch.clone());
        Ok(())
    }

    async fn stored_run_ids(&self, batch_id: &str) -> Result<HashSet<String>, SinkError> {
        Ok(self
            .runs
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.batch_id.as_deref() == Some(batch_id))
            .map(|r| r.run_id.clone())
            .collect())
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

impl MemSink {
    fn len(&self) -> usize {
        self.runs.lock().unwrap().len()
    }
}

fn spec(s: &str) -> AgentSpec {
    AgentSpec::parse(s).unwrap()
}

fn tiers(t: &[&str]) -> Vec<String> {
    t.iter().map(|s| s.to_string()).collect()
}

fn scenarios(fx: &Fixture) -> Vec<(ScenarioEntry, Arc<Scenario>)> {
    let (entry, scenario) = fx.load();
    vec![(entry, Arc::new(scenario))]
}

fn agents_for(specs: &[AgentSpec]) -> HashMap<AgentSpec, Arc<dyn Agent>> {
    specs
        .iter()
        .map(|s| (s.clone(), zebench_harness::agent::build(s).unwrap()))
        .collect()
}

fn options(fx: &Fixture, batch_id: &str, jobs: usize) -> BatchOptions {
    BatchOptions {
        batch_id: batch_id.into(),
        jobs,
        max_cost_usd: None,
        keep: KeepPolicy::Never,
        workspace_parent: Some(fx.ws_parent.clone()),
        command_timeout: Duration::from_secs(15),
        run_timeout: Some(TEST_RUN_TIMEOUT),
        evaluators: zebench_harness::evaluators::default_set(None),
        cancel: Default::default(),
        skip: HashSet::new(),
        shard: None,
    }
}

fn recorder() -> (EventFn, Arc<Mutex<Vec<BatchEvent>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    (Arc::new(move |e| s.lock().unwrap().push(e)), seen)
}

fn quiet() -> EventFn {
    Arc::new(|_| {})
}

async fn run_batch(
    cells: Vec<Cell>,
    specs: &[AgentSpec],
    sink: &Arc<MemSink>,
    opts: BatchOptions,
) -> BatchReport {
    let sink: Arc<dyn ResultSink> = sink.clone();
    execute(cells, &agents_for(specs), sink, opts, quiet()).await
}

fn ids(cells: &[Cell]) -> Vec<String> {
    cells.iter().map(|c| c.run_id.clone()).collect()
}

// ---------------------------------------------------------------------------------------------
// The plan
// ---------------------------------------------------------------------------------------------

#[test]
fn plan_is_deterministic_with_unique_ids() {
    let fx = Fixture::new();
    let sc = scenarios(&fx);
    let agents = [spec("echo"), spec("scripted:solve")];
    let a = plan("b-1", &sc, &[], &agents, 2, None);
    let b = plan("b-1", &sc, &[], &agents, 2, None);
    // Every tier with a prompt (L0, L1, L2) × 2 agents × 2 repeats.
    assert_eq!(a.len(), 12);
    assert_eq!(ids(&a), ids(&b));
    let unique: HashSet<&String> = a.iter().map(|c| &c.run_id).collect();
    assert_eq!(unique.len(), 12);
    assert!(a.iter().all(|c| c.run_id.starts_with("b-1-")));
    assert!(a.iter().enumerate().all(|(i, c)| c.position == i));
    let order: Vec<(String, String, u32)> = a
        .iter()
        .map(|c| (c.tier.clone(), c.agent.label(), c.repeat))
        .collect();
    assert_eq!(
        order[..4],
        [
            ("L0".into(), "echo".into(), 1),
            ("L0".into(), "echo".into(), 2),
            ("L0".into(), "scripted:solve".into(), 1),
            ("L0".into(), "scripted:solve".into(), 2),
        ]
    );
    // Another batch gets other ids for the same cells.
    let other = plan("b-2", &sc, &[], &agents, 2, None);
    assert!(ids(&other).iter().all(|id| !unique.contains(id)));
    // Explicit tiers give the same ids as the same tiers found on disk.
    let explicit = plan("b-1", &sc, &tiers(&["L0", "L1", "L2"]), &agents, 2, None);
    assert_eq!(ids(&explicit), ids(&a));
}

#[test]
fn shards_partition_the_plan() {
    let fx = Fixture::new();
    let sc = scenarios(&fx);
    let agents = [spec("echo"), spec("scripted:solve")];
    let full = plan("b-s", &sc, &[], &agents, 2, None);
    let mut seen: Vec<String> = Vec::new();
    for index in 1..=3 {
        let shard = Shard { index, count: 3 };
        let part = plan("b-s", &sc, &[], &agents, 2, Some(shard));
        assert_eq!(part.len(), 4, "shard {index}/3");
        assert!(part.iter().all(|c| c.position % 3 == index - 1));
        // A shard's cells are exactly the full plan's cells at those positions.
        for c in &part {
            assert_eq!(full[c.position].run_id, c.run_id);
        }
        seen.extend(ids(&part));
    }
    let set: HashSet<&String> = seen.iter().collect();
    assert_eq!(set.len(), seen.len(), "shards overlap");
    let all: HashSet<&String> = full.iter().map(|c| &c.run_id).collect();
    assert_eq!(set, all);
    assert_eq!(
        "3/3".parse::<Shard>().unwrap(),
        Shard { index: 3, count: 3 }
    );
}

#[test]
fn repeat_three_gives_three_distinct_runs_per_cell() {
    let fx = Fixture::new();
    let sc = scenarios(&fx);
    let agents = [spec("echo"), spec("scripted:solve")];
    let cells = plan("b-r", &sc, &tiers(&["L1", "L2"]), &agents, 3, None);
    assert_eq!(cells.len(), 2 * 2 * 3);
    let mut groups: HashMap<(String, String), Vec<&Cell>> = HashMap::new();
    for c in &cells {
        groups
            .entry((c.tier.clone(), c.agent.label()))
            .or_default()
            .push(c);
    }
    assert_eq!(groups.len(), 4);
    for (k, g) in groups {
        let ids: HashSet<&String> = g.iter().map(|c| &c.run_id).collect();
        assert_eq!(ids.len(), 3, "{k:?}");
        let repeats: BTreeSet<u32> = g.iter().map(|c| c.repeat).collect();
        assert_eq!(repeats, BTreeSet::from([1, 2, 3]), "{k:?}");
    }
    // repeat 0 means once.
    assert_eq!(plan("b-r", &sc, &tiers(&["L1"]), &agents, 0, None).len(), 2);
}

/// Fake scenarios for the pure plan property (no disk access: plan() only reads entries).
fn fake_scenarios(tier_counts: &[usize]) -> Vec<(ScenarioEntry, Arc<Scenario>)> {
    tier_counts
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let dir = PathBuf::from(format!("/nonexistent/s/scenarios/sc-{i}"));
            let tiers = (0..*n)
                .map(|t| TierPrompt {
                    id: format!("L{t}"),
                    label: None,
                    path: dir.join(format!("L{t}.md")),
                })
                .collect();
            let entry = ScenarioEntry {
                suite: "s".into(),
                name: format!("sc-{i}"),
                dir,
                tiers,
            };
            (entry, Arc::new(Scenario::default()))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// For any matrix, the shards 1/N..N/N are disjoint and together are exactly the plan.
    #[test]
    fn shards_always_partition_the_plan(
        tier_counts in proptest::collection::vec(0usize..4, 1..4),
        explicit_tiers in 0usize..3,
        n_agents in 1usize..4,
        repeat in 0u32..4,
        count in 1usize..6,
    ) {
        let sc = fake_scenarios(&tier_counts);
        let agents: Vec<AgentSpec> = (0..n_agents).map(|i| spec(&format!("scripted:a{i}"))).collect();
        let tiers: Vec<String> = (0..explicit_tiers).map(|t| format!("L{t}")).collect();
        let full = plan("b-p", &sc, &tiers, &agents, repeat, None);
        let per_scenario_tiers: usize = if tiers.is_empty() {
            tier_counts.iter().sum()
        } else {
            tiers.len() * tier_counts.len()
        };
        prop_assert_eq!(full.len(), per_scenario_tiers * n_agents * repeat.max(1) as usize);
        let all: HashSet<String> = full.iter().map(|c| c.run_id.clone()).collect();
        prop_assert_eq!(all.len(), full.len(), "run ids collide");
        prop_assert_eq!(ids(&plan("b-p", &sc, &tiers, &agents, repeat, None)), ids(&full));
        let mut union: Vec<String> = Vec::new();
        for index in 1..=count {
            let part = plan("b-p", &sc, &tiers, &agents, repeat, Some(Shard { index, count }));
            for c in &part {
                prop_assert_eq!(c.position % count, index - 1);
                prop_assert_eq!(&full[c.position].run_id, &c.run_id);
            }
            union.extend(ids(&part));
        }
        let set: HashSet<String> = union.iter().cloned().collect();
        prop_assert_eq!(set.len(), union.len(), "shards overlap");
        prop_assert_eq!(set, all);
    }
}

// ---------------------------------------------------------------------------------------------
// Execution
// ---------------------------------------------------------------------------------------------

/// Every cell runs once and is stored; running the batch again with the stored ids as `skip`
/// (resume) runs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_skips_stored_runs() {
    let fx = Fixture::new();
    let sink = Arc::new(MemSink::default());
    let agents = [spec("echo")];
    let cells = plan(
        "b-res",
        &scenarios(&fx),
        &tiers(&["L0", "L1", "L2"]),
        &agents,
        1,
        None,
    );
    let planned: HashSet<String> = ids(&cells).into_iter().collect();
    let report = run_batch(cells.clone(), &agents, &sink, options(&fx, "b-res", 2)).await;
    assert_eq!(report.outcomes.len(), 3);
    assert_eq!(report.skipped_existing, 0);
    assert_eq!(report.not_started, 0);
    assert!(!report.budget_reached);
    assert_eq!(report.infrastructure_failures(), 0);
    for o in &report.outcomes {
        assert_eq!(o.stored.as_ref().unwrap(), &Stored::Created);
        assert_eq!(o.run.status, RunStatus::Completed);
        assert_eq!(o.run.batch_id.as_deref(), Some("b-res"));
        assert_eq!(o.agent_label, "echo");
        assert_eq!(meta(&o.run)["repeat"], 1);
    }
    // Outcomes come sorted by run id.
    let got = ids_of(&report);
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(got, sorted);
    let stored = sink.stored_run_ids("b-res").await.unwrap();
    assert_eq!(stored, planned);
    assert!(fx.ws_entries().is_empty());

    let mut opts = options(&fx, "b-res", 2);
    opts.skip = stored.clone();
    let again = run_batch(cells.clone(), &agents, &sink, opts).await;
    assert!(again.outcomes.is_empty(), "re-ran {:?}", ids_of(&again));
    assert_eq!(again.skipped_existing, 3);
    assert_eq!(again.not_started, 0);
    assert_eq!(sink.len(), 3);

    // A partial resume runs only what is missing.
    let mut opts = options(&fx, "b-res", 1);
    let first = cells[0].run_id.clone();
    opts.skip = stored.into_iter().filter(|id| *id != first).collect();
    let partial = run_batch(cells, &agents, &sink, opts).await;
    assert_eq!(ids_of(&partial), [first]);
    assert_eq!(partial.skipped_existing, 2);
    assert_eq!(
        partial.outcomes[0].stored.as_ref().unwrap(),
        &Stored::Duplicate
    );
}

fn ids_of(r: &BatchReport) -> Vec<String> {
    r.outcomes.iter().map(|o| o.run.run_id.clone()).collect()
}

/// `--max-cost`: once the money spent reaches the cap, no further run starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_cost_stops_starting_runs() {
    let fx = Fixture::new();
    fx.write_agent(
        "costly",
        "usage: { tokens_in: 100, tokens_out: 10, cost_usd: 1.0 }\nsteps:\n  - say: \"spending\"\n",
    );
    let agents = [spec("scripted:costly")];
    let cells = plan("b-cost", &scenarios(&fx), &tiers(&["L1"]), &agents, 5, None);
    assert_eq!(cells.len(), 5);
    let mut opts = options(&fx, "b-cost", 1);
    opts.max_cost_usd = Some(1.5);
    let sink = Arc::new(MemSink::default());
    let (events, seen) = recorder();
    let dyn_sink: Arc<dyn ResultSink> = sink.clone();
    let report = execute(cells.clone(), &agents_for(&agents), dyn_sink, opts, events).await;
    assert_eq!(report.outcomes.len(), 2, "{:?}", ids_of(&report));
    assert!(report.budget_reached);
    assert_eq!(report.not_started, 3);
    assert!(approx(report.spent_usd, 2.0), "{}", report.spent_usd);
    assert_eq!(sink.len(), 2);
    // The first two cells of the plan are the ones that ran.
    let ran: HashSet<String> = ids_of(&report).into_iter().collect();
    assert_eq!(
        ran,
        HashSet::from([cells[0].run_id.clone(), cells[1].run_id.clone()])
    );
    for o in &report.outcomes {
        assert!(approx(o.cost_usd, 1.0));
        assert_eq!(o.run.telemetry.as_ref().unwrap().cost_usd, Some(1.0));
        assert_eq!(o.run.telemetry.as_ref().unwrap().tokens_in, Some(100));
    }
    let events = seen.lock().unwrap().clone();
    let budget: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            BatchEvent::BudgetReached { spent_usd } => Some(*spent_usd),
            _ => None,
        })
        .collect();
    assert_eq!(budget.len(), 1);
    assert!(approx(budget[0], 2.0));
    let started = events
        .iter()
        .filter(|e| matches!(e, BatchEvent::Started { .. }))
        .count();
    let finished = events
        .iter()
        .filter(|e| matches!(e, BatchEvent::Finished { .. }))
        .count();
    assert_eq!((started, finished), (2, 2));
    assert!(events
        .iter()
        .any(|e| matches!(e, BatchEvent::Step { step, .. } if step == "agent")));

    // No cap: all five run.
    let sink2 = Arc::new(MemSink::default());
    let all = run_batch(cells, &agents, &sink2, options(&fx, "b-cost", 2)).await;
    assert_eq!(all.outcomes.len(), 5);
    assert!(!all.budget_reached);
    assert!(approx(all.spent_usd, 5.0));
}

/// `jobs 2` runs two cells at a time: four one-second agents finish in about half the time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_cells_concurrently() {
    let fx = Fixture::new();
    fx.write_agent("nap", "steps:\n  - run_command: { command: \"sleep 1\" }\n");
    let agents = [spec("scripted:nap")];
    let mut elapsed = Vec::new();
    for jobs in [1usize, 2] {
        let batch = format!("b-jobs{jobs}");
        let cells = plan(&batch, &scenarios(&fx), &tiers(&["L1"]), &agents, 4, None);
        let sink = Arc::new(MemSink::default());
        let t0 = Instant::now();
        let report = run_batch(cells, &agents, &sink, options(&fx, &batch, jobs)).await;
        elapsed.push(t0.elapsed());
        assert_eq!(report.outcomes.len(), 4);
        assert!(report
            .outcomes
            .iter()
            .all(|o| o.run.status == RunStatus::Completed));
    }
    let (one, two) = (elapsed[0], elapsed[1]);
    assert!(one >= Duration::from_secs(4), "jobs 1 took {one:?}");
    assert!(
        two.as_secs_f64() < 0.8 * one.as_secs_f64(),
        "jobs 2 took {two:?}, jobs 1 took {one:?}"
    );
    assert!(fx.ws_entries().is_empty());
}

/// The summary: one row per agent and tier, with a 95% interval only for repeated cells.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_rows_per_agent_and_tier() {
    let fx = Fixture::new();
    let sc = scenarios(&fx);
    let echo = [spec("echo")];
    let solve = [spec("scripted:solve")];
    let mut cells = plan("b-sum", &sc, &tiers(&["L0", "L1"]), &echo, 2, None);
    cells.extend(plan("b-sum", &sc, &tiers(&["L1"]), &solve, 1, None));
    let all_agents = [spec("echo"), spec("scripted:solve")];
    let sink = Arc::new(MemSink::default());
    let report = run_batch(cells, &all_agents, &sink, options(&fx, "b-sum", 2)).await;
    assert_eq!(report.outcomes.len(), 5);
    let rows = summarize(&report.outcomes);
    let keys: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.agent.as_str(), r.tier.as_str()))
        .collect();
    assert_eq!(
        keys,
        [("echo", "L0"), ("echo", "L1"), ("scripted:solve", "L1")]
    );
    let echo_score = report
        .outcomes
        .iter()
        .find(|o| o.agent_label == "echo")
        .unwrap()
        .run
        .weighted_score
        .unwrap();
    for r in &rows[..2] {
        assert_eq!(r.runs, 2);
        assert_eq!(r.infra_failures, 0);
        assert_eq!(r.successful, 0);
        assert_eq!(r.success_rate, Some(0.0));
        assert!(approx(r.mean_weighted_score.unwrap(), echo_score));
        // Two identical scores: an interval of width zero, but present.
        let ci = r.ci95.expect("ci95 with 2 repeats");
        assert!(ci.abs() < 1e-9, "{ci}");
        assert_eq!(r.cost_usd, 0.0);
    }
    let s = &rows[2];
    assert_eq!((s.runs, s.successful), (1, 1));
    assert_eq!(s.success_rate, Some(1.0));
    assert!(approx(s.mean_weighted_score.unwrap(), 10.0));
    assert_eq!(s.ci95, None, "no interval for a single run");
}

/// A tier the scenario has no prompt for still gets its cell, stored as a failed run with
/// errorType prompt (not silently skipped); it counts against the agent, not as infrastructure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_tier_in_plan_is_a_failed_prompt_run() {
    let fx = Fixture::new();
    let agents = [spec("echo")];
    let cells = plan(
        "b-tier",
        &scenarios(&fx),
        &tiers(&["L1", "L9"]),
        &agents,
        1,
        None,
    );
    assert_eq!(cells.len(), 2);
    let sink = Arc::new(MemSink::default());
    let report = run_batch(cells, &agents, &sink, options(&fx, "b-tier", 2)).await;
    assert_eq!(report.outcomes.len(), 2);
    assert_eq!(sink.len(), 2, "the failed run is stored too");
    let l9 = report
        .outcomes
        .iter()
        .find(|o| o.run.tier == "L9")
        .expect("an L9 outcome");
    assert_eq!(l9.run.status, RunStatus::Failed);
    assert_eq!(l9.error_type, Some(ErrorType::Prompt));
    assert_eq!(error_type(&l9.run), Some("prompt"));
    assert!(error_message(&l9.run).contains("L0, L1, L2"));
    let l1 = report.outcomes.iter().find(|o| o.run.tier == "L1").unwrap();
    assert_eq!(l1.run.status, RunStatus::Completed);
    assert_eq!(report.infrastructure_failures(), 0);
    let rows = summarize(&report.outcomes);
    let row = rows.iter().find(|r| r.tier == "L9").unwrap();
    assert_eq!((row.runs, row.infra_failures), (1, 0));
    assert_eq!(row.success_rate, Some(0.0));
    assert_eq!(row.mean_weighted_score, Some(0.0));
}

/// A sharded batch runs only its shard, and records the shard and repeat with each run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_execution_records_shard_and_repeat() {
    let fx = Fixture::new();
    let agents = [spec("echo")];
    let shard = Shard { index: 2, count: 3 };
    let cells = plan(
        "b-sh",
        &scenarios(&fx),
        &tiers(&["L0", "L1", "L2"]),
        &agents,
        1,
        Some(shard),
    );
    assert_eq!(cells.len(), 1);
    assert_eq!(cells[0].tier, "L1");
    let mut opts = options(&fx, "b-sh", 1);
    opts.shard = Some(shard);
    let sink = Arc::new(MemSink::default());
    let report = run_batch(cells.clone(), &agents, &sink, opts).await;
    assert_eq!(ids_of(&report), ids(&cells));
    let run = &report.outcomes[0].run;
    assert_eq!(meta(run)["shard"], "2/3");
    assert_eq!(meta(run)["repeat"], 1);
}

/// Cancelling a batch stops the running run (stored as interrupted) and starts no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_batch_stores_the_interrupted_run_and_starts_no_more() {
    let fx = Fixture::new();
    fx.write_agent("sleeper", "steps:\n  - sleep_ms: 60000\n");
    let agents = [spec("scripted:sleeper")];
    let cells = plan(
        "b-cancel",
        &scenarios(&fx),
        &tiers(&["L1"]),
        &agents,
        3,
        None,
    );
    let opts = options(&fx, "b-cancel", 1);
    let token = opts.cancel.clone();
    let sink = Arc::new(MemSink::default());
    let dyn_sink: Arc<dyn ResultSink> = sink.clone();
    let agent_map = agents_for(&agents);
    let t0 = Instant::now();
    let handle =
        tokio::spawn(async move { execute(cells, &agent_map, dyn_sink, opts, quiet()).await });
    tokio::time::sleep(Duration::from_millis(700)).await;
    token.cancel();
    let report = tokio::time::timeout(Duration::from_secs(10), handle)
        .await
        .expect("the batch ends after cancellation")
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_eq!(report.outcomes.len(), 1);
    assert_eq!(report.not_started, 2);
    let o = &report.outcomes[0];
    assert_eq!(o.run.status, RunStatus::Failed);
    assert_eq!(o.error_type, Some(ErrorType::Signal));
    assert_eq!(sink.len(), 1, "the interrupted run is stored");
    assert!(fx.ws_entries().is_empty());
}

/// Infrastructure failures (here: a missing fixture) are counted apart and left out of the
/// success rate and score.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infrastructure_failures_are_counted_apart() {
    let fx = Fixture::new();
    std::fs::remove_dir_all(fx.scenario_dir().join("repo-fixture")).unwrap();
    let agents = [spec("echo")];
    let cells = plan(
        "b-infra",
        &scenarios(&fx),
        &tiers(&["L1"]),
        &agents,
        2,
        None,
    );
    let sink = Arc::new(MemSink::default());
    let report = run_batch(cells, &agents, &sink, options(&fx, "b-infra", 2)).await;
    assert_eq!(report.outcomes.len(), 2);
    assert_eq!(report.infrastructure_failures(), 2);
    assert!(report
        .outcomes
        .iter()
        .all(|o| o.error_type == Some(ErrorType::Workspace)));
    let rows = summarize(&report.outcomes);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!((r.runs, r.infra_failures, r.successful), (2, 2, 0));
    assert_eq!(r.success_rate, None);
    assert_eq!(r.mean_weighted_score, None);
    assert_eq!(r.ci95, None);
}

/// Resuming a batch under a budget: cells that are already stored are skipped, whether they
/// come before or after the point where the budget ran out, so `not_started` (printed as
/// "N run(s) not started; continue with --resume") counts only cells that still need a run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_under_budget_does_not_count_stored_cells_as_not_started() {
    let fx = Fixture::new();
    fx.write_agent(
        "costly",
        "usage: { cost_usd: 1.0 }\nsteps:\n  - say: \"spending\"\n",
    );
    let agents = [spec("scripted:costly")];
    let cells = plan("b-rb", &scenarios(&fx), &tiers(&["L1"]), &agents, 5, None);
    let mut opts = options(&fx, "b-rb", 1);
    opts.max_cost_usd = Some(1.5);
    opts.skip = HashSet::from([cells[3].run_id.clone(), cells[4].run_id.clone()]);
    let sink = Arc::new(MemSink::default());
    let report = run_batch(cells.clone(), &agents, &sink, opts).await;
    assert_eq!(report.outcomes.len(), 2);
    assert!(report.budget_reached);
    assert_eq!(
        (report.skipped_existing, report.not_started),
        (2, 1),
        "cells 4 and 5 are already stored; only cell 3 is left to run"
    );
}
