//! The steps of one run, in order. Each step records itself in the shared [`RunState`] before
//! it starts and when it ends, so a run cut off mid-step still shows where it was.

use super::record::{ErrorType, Failure, RunState};
use super::RunRequest;
use crate::agent::AgentContext;
use crate::diff::{deps_delta, diff_trees, DiffOptions};
use crate::evaluators::{CommandRecord, EvalContext};
use crate::oracle::Oracle;
use crate::process::{run_command, CommandSpec, DEFAULT_OUTPUT_CAP};
use crate::tools::Toolbox;
use crate::workspace::{KeepPolicy, Workspace};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Shared = Arc<Mutex<RunState>>;

/// Runs every step; `Err` is the failure the run is stored with.
pub(super) async fn execute(
    req: &RunRequest,
    st: Shared,
    deadline: Instant,
) -> Result<(), Failure> {
    let t0 = Instant::now();
    let step = |name: &str| {
        if let Some(p) = &req.progress {
            p(name);
        }
        st.lock().unwrap().open_step(name);
    };
    let done = |ok: bool| st.lock().unwrap().close_open_step(t0, ok);
    let s = &req.scenario;

    // 1. Prompt.
    step("prompt");
    let prompt = match resolve_prompt(req) {
        Ok(p) => p,
        Err(f) => {
            done(false);
            return Err(f);
        }
    };
    st.lock().unwrap().prompt = Some(prompt.clone());
    done(true);

    // 2. Workspace.
    step("workspace");
    let fixture = req.entry.fixture_dir();
    if s.workspace_required() && fixture.is_none() {
        done(false);
        return Err(Failure::new(
            ErrorType::Workspace,
            format!(
                "no fixture: {} has neither repo/ nor repo-fixture/ (set `workspace.required: false` for scenarios without code)",
                req.entry.dir.display()
            ),
        ));
    }
    let fixture = fixture.filter(|_| s.workspace_required());
    let ws = Workspace::create(fixture.as_deref(), req.workspace_parent.as_deref())
        .map_err(|e| Failure::new(ErrorType::Workspace, e.to_string()));
    let ws = match ws {
        Ok(w) => w,
        Err(f) => {
            done(false);
            return Err(f);
        }
    };
    let root = ws.path().to_path_buf();
    st.lock().unwrap().workspace = Some(ws);
    done(true);

    let cmd_timeout = s
        .validation
        .as_ref()
        .and_then(|v| v.timeout_seconds)
        .filter(|t| t.is_finite() && *t > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(req.command_timeout);

    // 3. Baseline on a pristine copy (never the agent's workspace).
    let baseline_cmds: Vec<String> = s
        .baseline
        .as_ref()
        .map(|b| b.run.iter().map(|c| c.cmd.clone()).collect())
        .unwrap_or_default();
    if !baseline_cmds.is_empty() && fixture.is_some() {
        step("baseline");
        let pristine = Workspace::create(fixture.as_deref(), req.workspace_parent.as_deref())
            .map_err(|e| Failure::new(ErrorType::Workspace, format!("baseline copy: {e}")));
        let pristine = match pristine {
            Ok(p) => p,
            Err(f) => {
                done(false);
                return Err(f);
            }
        };
        for (i, cmd) in baseline_cmds.iter().enumerate() {
            let rec = run_recorded(
                req,
                &format!("baseline[{i}]"),
                cmd,
                pristine.path(),
                cmd_timeout,
                deadline,
            )
            .await;
            st.lock().unwrap().baseline.push(rec);
            if out_of_time(deadline) {
                done(false);
                return Err(run_timeout(s));
            }
        }
        pristine.finish(false, KeepPolicy::Never);
        done(true);
    }

    // 4. Warmup (scripted commands, in the run's own scratch workspace).
    if let Some(w) = s.warmup.as_ref().filter(|w| !w.commands.is_empty()) {
        step("warmup");
        for (i, cmd) in w.commands.iter().enumerate() {
            let rec = run_recorded(
                req,
                &format!("warmup[{i}]"),
                cmd,
                &root,
                cmd_timeout,
                deadline,
            )
            .await;
            let ok = rec.outcome.success();
            st.lock().unwrap().warmup.push(rec);
            if out_of_time(deadline) {
                done(false);
                return Err(run_timeout(s));
            }
            if !ok {
                done(false);
                return Err(Failure::new(
                    ErrorType::Warmup,
                    format!("warmup command {cmd:?} failed"),
                ));
            }
        }
        done(true);
    }

    // 5. The agent.
    step("agent");
    let oracle = match s.oracle.as_ref().and_then(|o| o.answers_file.as_deref()) {
        Some(f) => match Oracle::load(&req.entry.dir.join(f)) {
            Ok(o) => Some(o),
            Err(e) => {
                done(false);
                return Err(Failure::new(ErrorType::Workspace, format!("oracle: {e}")));
            }
        },
        None => None,
    };
    let tools = Toolbox::new(
        &root,
        oracle,
        cmd_timeout.min(Duration::from_secs(600)),
        DEFAULT_OUTPUT_CAP,
        req.cancel.clone(),
    )
    .map_err(|e| Failure::new(ErrorType::Workspace, e.to_string()))?;
    let ctx = AgentContext {
        prompt: &prompt,
        workspace: &root,
        tools: &tools,
        scenario: s,
        scenario_dir: &req.entry.dir,
        tier: &req.tier,
        deadline,
        cancel: req.cancel.clone(),
    };
    let outcome = req.agent.run(ctx).await;
    let rec = tools.take_record();
    match outcome {
        Ok(mut report) => {
            report.tool_calls = report.tool_calls.max(rec.tool_calls);
            if report.questions.is_empty() {
                report.questions = rec.questions;
            }
            if report.commands.is_empty() {
                report.commands = rec.commands;
            }
            st.lock().unwrap().agent = Some(report);
            done(true);
        }
        Err(e) => {
            let message = e.to_string();
            let mut report = match e {
                crate::agent::AgentError::FailedWith { report, .. } => *report,
                _ => crate::agent::AgentReport::default(),
            };
            report.tool_calls = report.tool_calls.max(rec.tool_calls);
            if report.questions.is_empty() {
                report.questions = rec.questions;
            }
            if report.commands.is_empty() {
                report.commands = rec.commands;
            }
            if report.stop_reason.is_empty() {
                report.stop_reason = "error".into();
            }
            report.final_message = Some(message.clone());
            st.lock().unwrap().agent = Some(report);
            done(false);
            return Err(Failure::new(ErrorType::Agent, message));
        }
    }

    // 6. Validation: all defined commands, in order, each with its timeout.
    let commands: Vec<(&str, String)> = s
        .validation_commands()
        .into_iter()
        .map(|(n, c)| (n, c.to_string()))
        .collect();
    if !commands.is_empty() {
        step("validation");
        for (name, cmd) in &commands {
            let rec = run_recorded(req, name, cmd, &root, cmd_timeout, deadline).await;
            st.lock().unwrap().validation.push(rec);
            if out_of_time(deadline) {
                done(false);
                return Err(run_timeout(s));
            }
        }
        done(true);
    }

    // 7. Diff against the fixture.
    if let Some(fx) = fixture.clone() {
        step("diff");
        let after = root.clone();
        let res = tokio::task::spawn_blocking(move || {
            let diff = diff_trees(&fx, &after, &DiffOptions::default());
            let deps = deps_delta(&fx, &after);
            (diff, deps)
        })
        .await;
        match res {
            Ok((Ok(diff), deps)) => {
                let mut g = st.lock().unwrap();
                g.diff = Some(diff);
                g.deps = Some(deps);
                drop(g);
                done(true);
            }
            Ok((Err(e), _)) => {
                done(false);
                return Err(Failure::new(ErrorType::Infra, format!("diff failed: {e}")));
            }
            Err(e) => {
                done(false);
                return Err(Failure::new(
                    ErrorType::Infra,
                    format!("diff task failed: {e}"),
                ));
            }
        }
    }

    // 8. Evaluators.
    step("evaluate");
    let (baseline, validation, diff, deps, agent) = {
        let g = st.lock().unwrap();
        (
            g.baseline.clone(),
            g.validation.clone(),
            g.diff.clone().unwrap_or_default(),
            g.deps.clone().unwrap_or_default(),
            g.agent.clone().unwrap_or_default(),
        )
    };
    let ctx = EvalContext {
        scenario: s,
        scenario_dir: &req.entry.dir,
        workspace: s.workspace_required().then_some(root.as_path()),
        tier: &req.tier,
        prompt: &prompt,
        baseline: &baseline,
        validation: &validation,
        diff: &diff,
        deps: &deps,
        agent: &agent,
        cancel: req.cancel.clone(),
    };
    for ev in &req.evaluators {
        match ev.evaluate(&ctx).await {
            Ok(Some(o)) => st.lock().unwrap().evaluations.push(o),
            Ok(None) => {}
            Err(e) => st.lock().unwrap().evaluator_errors.push(e.to_string()),
        }
    }
    done(true);
    Ok(())
}

/// The prompt for the tier, with an artifact reference appended for artifact scenarios.
fn resolve_prompt(req: &RunRequest) -> Result<String, Failure> {
    let tier = req
        .entry
        .tier(&req.tier)
        .map_err(|e| Failure::new(ErrorType::Prompt, e.to_string()))?;
    let mut text =
        crate::suite::limits::read_text(&tier.path, crate::suite::limits::MAX_PROMPT_BYTES)
            .map_err(|e| match e {
                crate::suite::SuiteError::Io { source, .. } => Failure::new(
                    ErrorType::Prompt,
                    format!("cannot read {}: {source}", tier.path.display()),
                ),
                other => Failure::new(ErrorType::Prompt, other.to_string()),
            })?;
    if text.trim().is_empty() {
        return Err(Failure::new(
            ErrorType::Prompt,
            format!("{} is empty", tier.path.display()),
        ));
    }
    if let Some(a) = &req.scenario.artifact {
        let reference: Vec<String> = [
            a.kind.as_ref().map(|k| format!("type: {k}")),
            a.figma_file_id
                .as_ref()
                .map(|k| format!("figma_file_id: {k}")),
            a.figma_file_key
                .as_ref()
                .map(|k| format!("figma_file_key: {k}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !reference.is_empty() {
            text.push_str("\n\nArtifact reference:\n");
            text.push_str(&reference.join("\n"));
            text.push('\n');
        }
    }
    Ok(text)
}

/// Whether the run's deadline has passed (a command cut short by it ends the run there, as a
/// timeout, rather than letting the next step start).
fn out_of_time(deadline: Instant) -> bool {
    Instant::now() + Duration::from_millis(20) >= deadline
}

fn run_timeout(_: &crate::suite::Scenario) -> Failure {
    Failure::new(
        ErrorType::Timeout,
        "the run passed its time limit (timeout_minutes, or --timeout-minutes) while a command was running; the command was killed",
    )
}

/// Runs one command with a timeout that never outlasts the run's deadline.
async fn run_recorded(
    req: &RunRequest,
    name: &str,
    cmd: &str,
    cwd: &Path,
    timeout: Duration,
    deadline: Instant,
) -> CommandRecord {
    let left = deadline.saturating_duration_since(Instant::now());
    let mut spec = CommandSpec::new(cmd, PathBuf::from(cwd), timeout.min(left));
    spec.cancel = req.cancel.clone();
    spec.env.push(("CI".into(), "true".into()));
    CommandRecord {
        name: name.to_string(),
        command: cmd.to_string(),
        outcome: run_command(spec).await,
    }
}
