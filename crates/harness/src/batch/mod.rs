//! `zebench batch`: the matrix of runs, run `jobs` at a time, each stored as it finishes.
//!
//! Runs are independent tasks (processes are async, so a run waiting on a command does not
//! block another). `--max-cost` stops *starting* runs once the money spent (agent plus judge)
//! reaches the cap; runs already going finish. Ctrl-C cancels every running run, which is
//! stored as interrupted.

pub mod plan;
pub mod summary;

pub use plan::{plan, AgentSpec, Cell, Shard};
pub use summary::{summarize, SummaryRow};

use crate::agent::Agent;
use crate::evaluators::Evaluator;
use crate::runner::{self, ErrorType, RunRequest};
use crate::sink::{ResultSink, Stored};
use crate::workspace::KeepPolicy;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use zebench_core::{RunResult, RunStatus};

/// How a batch runs.
#[derive(Clone)]
pub struct BatchOptions {
    pub batch_id: String,
    pub jobs: usize,
    pub max_cost_usd: Option<f64>,
    pub keep: KeepPolicy,
    pub workspace_parent: Option<PathBuf>,
    pub command_timeout: Duration,
    pub run_timeout: Option<Duration>,
    pub evaluators: Vec<Arc<dyn Evaluator>>,
    pub cancel: CancellationToken,
    /// Run ids to skip (already stored: `--resume`).
    pub skip: HashSet<String>,
    pub shard: Option<Shard>,
}

/// Progress notifications for the terminal.
#[derive(Debug, Clone)]
pub enum BatchEvent {
    Started {
        run_id: String,
        label: String,
    },
    Step {
        run_id: String,
        step: String,
    },
    Finished {
        run_id: String,
        label: String,
        line: String,
    },
    BudgetReached {
        spent_usd: f64,
    },
}

pub type EventFn = Arc<dyn Fn(BatchEvent) + Send + Sync>;

/// One finished cell.
#[derive(Debug, Clone)]
pub struct CellOutcome {
    pub run: RunResult,
    pub agent_label: String,
    pub error_type: Option<ErrorType>,
    pub stored: Result<Stored, String>,
    pub cost_usd: f64,
}

/// What the batch did.
#[derive(Debug, Default)]
pub struct BatchReport {
    pub outcomes: Vec<CellOutcome>,
    pub skipped_existing: usize,
    pub not_started: usize,
    pub spent_usd: f64,
    pub budget_reached: bool,
}

impl BatchReport {
    /// Runs that failed for reasons outside the agent (exit code 3).
    pub fn infrastructure_failures(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.error_type.is_some_and(|e| e.is_infrastructure()) || o.stored.is_err())
            .count()
    }
}

/// Runs the cells; every run is stored through `sink` as soon as it finishes.
pub async fn execute(
    cells: Vec<Cell>,
    agents: &HashMap<AgentSpec, Arc<dyn Agent>>,
    sink: Arc<dyn ResultSink>,
    opts: BatchOptions,
    events: EventFn,
) -> BatchReport {
    let report = Arc::new(Mutex::new(BatchReport::default()));
    let spent = Arc::new(Mutex::new(0.0f64));
    let sem = Arc::new(Semaphore::new(opts.jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    // Cells after `i` that still need a run (stored ones are skipped, not "not started").
    let remaining = |cells: &[Cell], i: usize| {
        cells[i..]
            .iter()
            .filter(|c| !opts.skip.contains(&c.run_id))
            .count()
    };
    let mut stop_at = None;
    for (i, cell) in cells.iter().enumerate() {
        if opts.skip.contains(&cell.run_id) {
            report.lock().unwrap().skipped_existing += 1;
            continue;
        }
        let permit = tokio::select! {
            p = sem.clone().acquire_owned() => p.expect("semaphore is never closed"),
            _ = opts.cancel.cancelled() => { stop_at = Some(i); break; }
        };
        if opts.cancel.is_cancelled() {
            stop_at = Some(i);
            break;
        }
        if let Some(max) = opts.max_cost_usd {
            let s = *spent.lock().unwrap();
            if s >= max {
                events(BatchEvent::BudgetReached { spent_usd: s });
                report.lock().unwrap().budget_reached = true;
                stop_at = Some(i);
                break;
            }
        }
        let cell = cell.clone();
        let agent = agents
            .get(&cell.agent)
            .cloned()
            .expect("every agent of the plan was built");
        let (events, sink, report, spent, opts) = (
            events.clone(),
            sink.clone(),
            report.clone(),
            spent.clone(),
            opts.clone(),
        );
        tasks.spawn(async move {
            let _permit = permit;
            let label = cell.label();
            let run_id = cell.run_id.clone();
            events(BatchEvent::Started {
                run_id: run_id.clone(),
                label: label.clone(),
            });
            let req = request(&cell, agent, &opts, events.clone());
            let out = runner::run(req).await;
            let stored = sink.store(&out.result).await.map_err(|e| e.to_string());
            *spent.lock().unwrap() += out.total_cost_usd;
            let line = outcome_line(&out.result, out.error_type, &stored);
            events(BatchEvent::Finished {
                run_id,
                label,
                line,
            });
            report.lock().unwrap().outcomes.push(CellOutcome {
                run: out.result,
                agent_label: cell.agent.label(),
                error_type: out.error_type,
                stored,
                cost_usd: out.total_cost_usd,
            });
        });
    }
    if let Some(i) = stop_at {
        let not_started = remaining(&cells, i);
        let mut r = report.lock().unwrap();
        r.not_started += not_started;
        r.skipped_existing += cells[i..].len() - not_started;
    }
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r {
            tracing::error!("a run task failed: {e}");
        }
    }
    let mut r = std::mem::take(&mut *report.lock().unwrap());
    r.spent_usd = *spent.lock().unwrap();
    r.outcomes.sort_by(|a, b| a.run.run_id.cmp(&b.run.run_id));
    r
}

fn request(cell: &Cell, agent: Arc<dyn Agent>, opts: &BatchOptions, events: EventFn) -> RunRequest {
    let mut req = RunRequest::new(
        cell.entry.clone(),
        (*cell.scenario).clone(),
        &cell.tier,
        agent,
    );
    req.scenario = cell.scenario.clone();
    req.evaluators = opts.evaluators.clone();
    req.run_id = cell.run_id.clone();
    req.batch_id = Some(opts.batch_id.clone());
    req.keep = opts.keep;
    req.workspace_parent = opts.workspace_parent.clone();
    req.command_timeout = opts.command_timeout;
    req.run_timeout = opts.run_timeout;
    req.cancel = opts.cancel.child_token();
    req.metadata.insert("repeat".into(), cell.repeat.into());
    if let Some(s) = opts.shard {
        req.metadata
            .insert("shard".into(), format!("{}/{}", s.index, s.count).into());
    }
    let run_id = cell.run_id.clone();
    req.progress = Some(Arc::new(move |step: &str| {
        events(BatchEvent::Step {
            run_id: run_id.clone(),
            step: step.to_string(),
        })
    }));
    req
}

/// `completed 7.50/10 ✓` / `failed (timeout): …`, plus where it was stored.
pub fn outcome_line(
    run: &RunResult,
    error: Option<ErrorType>,
    stored: &Result<Stored, String>,
) -> String {
    let what = match (run.status, error) {
        (RunStatus::Failed, Some(e)) => {
            let msg = run
                .metadata
                .as_ref()
                .and_then(|m| m.get("error"))
                .and_then(|v| v.as_str())
                .unwrap_or("");
            format!(
                "failed ({}): {}",
                e.as_str(),
                msg.lines().next().unwrap_or("")
            )
        }
        _ => format!(
            "{} {:.2}/10 {}",
            run.status,
            run.weighted_score.unwrap_or(0.0),
            if run.is_successful { "pass" } else { "fail" }
        ),
    };
    match stored {
        Ok(Stored::Queued(why)) => format!("{what} [queued for sync: {why}]"),
        Ok(_) => what,
        Err(e) => format!("{what} [NOT STORED: {e}]"),
    }
}
