//! One run, start to finish: prompt → workspace → baseline → warmup → agent → validation →
//! diff → evaluators → score → `RunResult`. Every step is timed and recorded in
//! `metadata.steps`; any failure becomes a stored failed run with `errorType`, never a lost one.
//!
//! The whole run is bounded by the scenario's `timeout_minutes`: when it passes, the run's future
//! is dropped, which kills every process group it started (see [`crate::process`]), and the run
//! is stored as failed with `errorType: timeout`. Cancellation (Ctrl-C) does the same with
//! `errorType: signal`.

mod record;
mod steps;

pub use record::{ErrorType, RunOutput, StepRecord};

use crate::agent::Agent;
use crate::evaluators::Evaluator;
use crate::suite::{Scenario, ScenarioEntry};
use crate::workspace::KeepPolicy;
use record::RunState;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use zebench_core::Timestamp;

/// Called with the name of each step as it starts (progress bars).
pub type ProgressFn = Arc<dyn Fn(&str) + Send + Sync>;

/// Everything needed for one run.
#[derive(Clone)]
pub struct RunRequest {
    pub entry: ScenarioEntry,
    pub scenario: Arc<Scenario>,
    pub tier: String,
    pub agent: Arc<dyn Agent>,
    pub evaluators: Vec<Arc<dyn Evaluator>>,
    pub run_id: String,
    pub batch_id: Option<String>,
    pub keep: KeepPolicy,
    /// Where workspaces are made (default: the system temp dir).
    pub workspace_parent: Option<PathBuf>,
    /// Per validation/baseline command (the scenario's `validation.timeout_seconds` wins).
    pub command_timeout: Duration,
    /// Overrides the scenario's `timeout_minutes` (tests, `--timeout`).
    pub run_timeout: Option<Duration>,
    /// Extra metadata recorded with the run (repeat index, shard, labels).
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub cancel: CancellationToken,
    pub progress: Option<ProgressFn>,
}

/// Default per-command timeout for validation and baseline commands.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

impl RunRequest {
    pub fn new(
        entry: ScenarioEntry,
        scenario: Scenario,
        tier: &str,
        agent: Arc<dyn Agent>,
    ) -> Self {
        RunRequest {
            entry,
            scenario: Arc::new(scenario),
            tier: tier.to_string(),
            agent,
            evaluators: crate::evaluators::default_set(None),
            run_id: uuid::Uuid::new_v4().to_string(),
            batch_id: None,
            keep: KeepPolicy::Never,
            workspace_parent: None,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            run_timeout: None,
            metadata: Default::default(),
            cancel: CancellationToken::new(),
            progress: None,
        }
    }

    fn timeout(&self) -> Duration {
        self.run_timeout
            .unwrap_or_else(|| Duration::from_secs_f64(self.scenario.timeout_minutes() * 60.0))
    }
}

/// Runs one scenario and always returns a result to store (failed runs included).
pub async fn run(req: RunRequest) -> RunOutput {
    let started_at = Timestamp::now();
    let t0 = Instant::now();
    let state = Arc::new(Mutex::new(RunState::new(started_at)));
    let timeout = req.timeout();
    let fut = steps::execute(&req, state.clone(), t0 + timeout);
    // Biased, cancel first: when Ctrl-C wakes both the run and this select, the run must not
    // get one more step in (it would record an interrupted step as finished).
    let failure = tokio::select! {
        biased;
        _ = req.cancel.cancelled() => Some(record::Failure::new(
            ErrorType::Signal,
            "interrupted (Ctrl-C): the run's processes were killed".to_string(),
        )),
        r = tokio::time::timeout(timeout, fut) => match r {
            Ok(Ok(())) => None,
            Ok(Err(f)) => Some(f),
            Err(_) => Some(record::Failure::new(
                ErrorType::Timeout,
                format!("the run passed its {} limit (timeout_minutes) and was killed", human(timeout)),
            )),
        },
    };
    // The step future is dropped here: its workspace guard and process guards clean up.
    let mut st = std::mem::replace(&mut *state.lock().unwrap(), RunState::new(started_at));
    if let Some(f) = &failure {
        st.close_open_step(t0, false);
        st.failure = Some(f.clone());
    }
    record::build(&req, st, t0)
}

fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 60.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{s:.1} s")
    }
}
