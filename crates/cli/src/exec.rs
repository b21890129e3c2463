//! `zebench run` and `zebench batch`: turn flags into a validated plan, pick the sink (local
//! database or remote server), run, print, and map the outcome to an exit code.

use crate::cli::{BatchArgs, ExecArgs, RunArgs};
use crate::progress::Progress;
use crate::sink::{LocalSink, RemoteSink};
use crate::{suites, Failure};
use anyhow::{anyhow, Context};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use zebench_core::{BatchUpsert, Timestamp};
use zebench_harness::agent::{self, Agent, AgentFactory};
use zebench_harness::batch::{self, AgentSpec, BatchOptions, Shard};
use zebench_harness::config::Config;
use zebench_harness::evaluators::{self, Evaluator};
use zebench_harness::pricing::PriceTable;
use zebench_harness::runner::{self, ErrorType, RunRequest};
use zebench_harness::sink::{ResultSink, Stored};
use zebench_harness::suite::{Scenario, ScenarioEntry, SuitesRoots};
use zebench_harness::workspace::KeepPolicy;

/// Exit code when a run was interrupted by Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::infra)
}

/// Cancels `token` on the first Ctrl-C (runs are killed and stored as interrupted); a second
/// Ctrl-C exits at once.
fn cancel_on_ctrl_c(token: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("zebench: interrupted; stopping runs and storing them as interrupted (Ctrl-C again to quit now)");
            token.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(EXIT_INTERRUPTED as i32);
            }
        }
    });
}

/// Local database unless a server URL is configured.
pub async fn open_sink(exec: &ExecArgs) -> Result<Arc<dyn ResultSink>, Failure> {
    if let Some(url) = exec.worker_url.as_ref().filter(|u| !u.trim().is_empty()) {
        let mut cfg = zebench_client::ClientConfig::new(url.trim());
        cfg.api_key = exec.api_key.clone().filter(|k| !k.is_empty());
        if let Some(o) = &exec.outbox {
            cfg.outbox_dir = o.clone();
        }
        let client = zebench_client::Client::new(cfg)
            .map_err(|e| Failure::infra(anyhow!("cannot open the outbox: {e}")))?;
        return Ok(Arc::new(RemoteSink {
            client,
            url: url.trim().to_string(),
        }));
    }
    let url = crate::serve::database_url(exec.database_url.clone())?;
    let store = zebench_store::Store::connect(zebench_store::StoreOptions::new(&url))
        .await
        .with_context(|| format!("cannot open the database {url}"))
        .map_err(Failure::infra)?;
    Ok(Arc::new(LocalSink { store, url }))
}

fn keep_policy(exec: &ExecArgs) -> Result<KeepPolicy, Failure> {
    exec.keep_workspace
        .parse()
        .map_err(|e: String| Failure::usage(anyhow!("--keep-workspace: {e}")))
}

/// Creates `--workspace-dir` when it does not exist yet.
fn workspace_dir(exec: &ExecArgs) -> Result<(), Failure> {
    if let Some(d) = &exec.workspace_dir {
        std::fs::create_dir_all(d).map_err(|e| {
            Failure::usage(anyhow!(
                "--workspace-dir {}: cannot create it: {e}",
                d.display()
            ))
        })?;
    }
    Ok(())
}

fn evaluator_set(config: &Config) -> Result<Vec<Arc<dyn Evaluator>>, Failure> {
    let prices = Arc::new(prices(config)?);
    Ok(evaluators::default_set(crate::judge::from_config(
        config, prices,
    )))
}

/// The config file, with the command line's limits applied over it.
pub fn load_config(exec: &ExecArgs) -> Result<Config, Failure> {
    let mut c = Config::load(exec.config.as_deref()).map_err(Failure::usage)?;
    if let Some(t) = exec.max_turns {
        c.limits.max_turns = t;
    }
    if let Some(t) = exec.max_run_tokens {
        c.limits.max_tokens = Some(t);
    }
    if let Some(v) = exec.max_run_cost {
        if !(v.is_finite() && v >= 0.0) {
            return Err(Failure::usage(anyhow!(
                "--max-run-cost must be a non-negative number of USD"
            )));
        }
        c.limits.max_cost_usd = Some(v);
    }
    Ok(c)
}

/// Built-in prices, overridden by the config's `[pricing] file`.
fn prices(config: &Config) -> Result<PriceTable, Failure> {
    let mut table = PriceTable::builtin();
    if let Some(f) = &config.pricing.file {
        let path = config.resolve(f);
        let overrides =
            PriceTable::load_overrides(&path).map_err(|e| Failure::usage(anyhow!("{e}")))?;
        table.merge(overrides);
    }
    Ok(table)
}

fn build_agents(
    specs: &[AgentSpec],
    config: &Config,
) -> Result<HashMap<AgentSpec, Arc<dyn Agent>>, Failure> {
    let factory = AgentFactory {
        config: config.clone(),
        prices: Arc::new(prices(config)?),
    };
    let mut map = HashMap::new();
    for s in specs {
        let a = factory
            .build(s)
            .map_err(|e| Failure::usage(anyhow!("--agent {}: {e}", s.label())))?;
        map.insert(s.clone(), a);
    }
    Ok(map)
}

fn load(entry: &ScenarioEntry) -> Result<Scenario, Failure> {
    entry
        .load()
        .map_err(|e| Failure::usage(anyhow!("{e}\n(run `zebench validate` for every finding)")))
}

pub fn run(args: RunArgs) -> Result<(), Failure> {
    let tier = args.tier.or(args.tier_pos).ok_or_else(|| {
        Failure::usage(anyhow!("which tier? give --tier L1 (or the positional form: zebench run SUITE SCENARIO L1 AGENT)"))
    })?;
    let agent_arg = args.agent.or(args.agent_pos).ok_or_else(|| {
        Failure::usage(anyhow!(
            "which agent? give --agent echo or --agent scripted:NAME (available: {})",
            agent::AVAILABLE
        ))
    })?;
    let mut spec = AgentSpec::parse(&agent_arg).map_err(|e| Failure::usage(anyhow!(e)))?;
    if args.model.is_some() {
        spec.model = args.model.clone();
    }
    let roots = suites::roots(&args.exec.suites);
    let entry = roots
        .scenario(&args.suite, &args.scenario)
        .map_err(Failure::usage)?;
    let scenario = load(&entry)?;
    let config = load_config(&args.exec)?;
    let agents = build_agents(std::slice::from_ref(&spec), &config)?;
    if let ("scripted", Some(script)) = (spec.kind.as_str(), spec.model.as_deref()) {
        let path = agent::scripted::ScriptedAgent::new(script).script_path(&entry.dir);
        if !path.is_file() {
            return Err(Failure::usage(anyhow!(
                "--agent {}: no script at {} (name a script file, or put {script}.yaml in the scenario's agents/ folder)",
                spec.label(),
                path.display()
            )));
        }
    }
    let keep = keep_policy(&args.exec)?;
    workspace_dir(&args.exec)?;
    let exec = args.exec;
    runtime()?.block_on(async move {
        let sink = open_sink(&exec).await?;
        let cancel = CancellationToken::new();
        cancel_on_ctrl_c(cancel.clone());
        let mut req = RunRequest::new(entry, scenario, &tier, agents[&spec].clone());
        req.batch_id = args.batch_id.clone();
        req.evaluators = evaluator_set(&config)?;
        req.keep = keep;
        req.workspace_parent = exec.workspace_dir.clone();
        req.command_timeout = Duration::from_secs_f64(exec.command_timeout.max(1.0));
        req.run_timeout = exec
            .timeout_minutes
            .map(|m| Duration::from_secs_f64(m * 60.0));
        req.cancel = cancel;
        let progress = Progress::single(&format!(
            "{}/{} {tier} {}",
            args.suite,
            args.scenario,
            spec.label()
        ));
        req.progress = Some(progress.step_fn());
        if let Some(b) = &args.batch_id {
            upsert_batch(&*sink, b, serde_json::json!({"command": "run"}), false).await;
        }
        let out = runner::run(req).await;
        let stored = sink.store(&out.result).await.map_err(|e| e.to_string());
        progress.finish();
        if exec.json {
            out!(
                "{}",
                serde_json::to_string_pretty(&out.result).unwrap_or_default()
            );
        } else {
            crate::report::print_run(&out, &stored, &*sink);
        }
        match &stored {
            Err(_) => {
                return Err(Failure::infra(anyhow!(
                    "the run could not be stored in {}",
                    sink.describe()
                )))
            }
            Ok(Stored::Queued(_)) => {
                return Err(Failure::infra(anyhow!(
                    "the server was unreachable: the result is queued in the outbox; run `zebench sync` to deliver it"
                )))
            }
            Ok(_) => {}
        }
        match out.error_type {
            Some(ErrorType::Signal) => Err(Failure {
                code: EXIT_INTERRUPTED,
                error: anyhow!("interrupted"),
            }),
            Some(ErrorType::Prompt) => {
                Err(Failure::usage(anyhow!("the run failed: no usable prompt")))
            }
            Some(e) if e.is_infrastructure() => Err(Failure::infra(anyhow!(
                "the run failed for an infrastructure reason ({})",
                e.as_str()
            ))),
            _ => gate(exec.fail_under, out.result.weighted_score.unwrap_or(0.0)),
        }
    })
}

fn gate(fail_under: Option<f64>, score: f64) -> Result<(), Failure> {
    match fail_under {
        Some(min) if score < min => Err(Failure {
            code: 1,
            error: anyhow!("mean weighted score {score:.2} is below --fail-under {min}"),
        }),
        _ => Ok(()),
    }
}

async fn upsert_batch(sink: &dyn ResultSink, id: &str, meta: serde_json::Value, completed: bool) {
    let b = BatchUpsert {
        batch_id: id.to_string(),
        created_at: (!completed).then(Timestamp::now),
        completed_at: completed.then(Timestamp::now),
        total_runs: None,
        successful_runs: None,
        avg_score: None,
        avg_weighted_score: None,
        metadata: meta.as_object().cloned(),
    };
    if let Err(e) = sink.upsert_batch(&b).await {
        eprintln!("zebench: warning: could not record batch {id}: {e}");
    }
}

fn select_scenarios(
    roots: &SuitesRoots,
    args: &BatchArgs,
) -> Result<Vec<(ScenarioEntry, Arc<Scenario>)>, Failure> {
    let suites = if args.suites_sel.is_empty() {
        roots.suites().map_err(Failure::usage)?
    } else {
        args.suites_sel
            .iter()
            .map(|s| roots.suite(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Failure::usage)?
    };
    let mut out = Vec::new();
    for s in suites {
        for e in s.scenarios {
            if args.scenarios.is_empty() || args.scenarios.contains(&e.name) {
                let sc = load(&e)?;
                out.push((e, Arc::new(sc)));
            }
        }
    }
    for want in &args.scenarios {
        if !out.iter().any(|(e, _)| &e.name == want) {
            return Err(Failure::usage(anyhow!(
                "--scenario {want}: no such scenario in the selected suites (see `zebench list`)"
            )));
        }
    }
    if out.is_empty() {
        return Err(Failure::usage(anyhow!(
            "no scenarios selected (suites roots: {})",
            roots.describe()
        )));
    }
    Ok(out)
}

pub fn batch(args: BatchArgs) -> Result<(), Failure> {
    let roots = suites::roots(&args.exec.suites);
    let scenarios = select_scenarios(&roots, &args)?;
    let specs: Vec<AgentSpec> = args
        .agents
        .iter()
        .map(|a| AgentSpec::parse(a).map_err(|e| Failure::usage(anyhow!(e))))
        .collect::<Result<_, _>>()?;
    let config = load_config(&args.exec)?;
    let agents = build_agents(&specs, &config)?;
    let shard: Option<Shard> = args
        .shard
        .as_deref()
        .map(|s| s.parse().map_err(|e: String| Failure::usage(anyhow!(e))))
        .transpose()?;
    if args.resume.is_some() && args.batch_id.is_some() && args.resume != args.batch_id {
        return Err(Failure::usage(anyhow!(
            "--resume and --batch-id name different batches"
        )));
    }
    if args.max_cost.is_some_and(|c| !(c.is_finite() && c >= 0.0)) {
        return Err(Failure::usage(anyhow!(
            "--max-cost must be a non-negative number of USD"
        )));
    }
    let batch_id = args
        .resume
        .clone()
        .or(args.batch_id.clone())
        .unwrap_or_else(batch::plan::new_batch_id);
    let cells = batch::plan(
        &batch_id,
        &scenarios,
        &args.tiers,
        &specs,
        args.repeat,
        shard,
    );
    let keep = keep_policy(&args.exec)?;
    workspace_dir(&args.exec)?;
    let exec = args.exec.clone();
    runtime()?.block_on(async move {
        let sink = open_sink(&exec).await?;
        let cancel = CancellationToken::new();
        cancel_on_ctrl_c(cancel.clone());
        let skip = match &args.resume {
            Some(b) => sink
                .stored_run_ids(b)
                .await
                .map_err(|e| Failure::infra(anyhow!("--resume {b}: cannot read the stored runs: {e}")))?,
            None => Default::default(),
        };
        let meta = serde_json::json!({
            "command": "batch",
            "suites": scenarios.iter().map(|(e, _)| e.suite.clone()).collect::<std::collections::BTreeSet<_>>(),
            "tiers": args.tiers, "agents": args.agents, "repeat": args.repeat, "jobs": args.jobs,
            "shard": args.shard, "plannedRuns": cells.len(),
        });
        upsert_batch(&*sink, &batch_id, meta.clone(), false).await;
        eprintln!("zebench: batch {batch_id}: {} run(s){}, {} at a time, into {}", cells.len(),
            if skip.is_empty() { String::new() } else { format!(" ({} already stored, skipped)", cells.iter().filter(|c| skip.contains(&c.run_id)).count()) },
            args.jobs.max(1), sink.describe());
        let progress = Progress::batch(cells.iter().filter(|c| !skip.contains(&c.run_id)).count() as u64);
        let opts = BatchOptions {
            batch_id: batch_id.clone(),
            jobs: args.jobs.max(1),
            max_cost_usd: args.max_cost,
            keep,
            workspace_parent: exec.workspace_dir.clone(),
            command_timeout: Duration::from_secs_f64(exec.command_timeout.max(1.0)),
            run_timeout: exec.timeout_minutes.map(|m| Duration::from_secs_f64(m * 60.0)),
            evaluators: evaluator_set(&config)?,
            cancel: cancel.clone(),
            skip,
            shard,
        };
        let report = batch::execute(cells, &agents, sink.clone(), opts, progress.event_fn()).await;
        progress.finish();
        if !cancel.is_cancelled() {
            upsert_batch(&*sink, &batch_id, meta, true).await;
        }
        let rows = batch::summarize(&report.outcomes);
        if exec.json {
            out!("{}", serde_json::to_string_pretty(&serde_json::json!({"batchId": batch_id, "summary": rows, "spentUsd": report.spent_usd})).unwrap_or_default());
        } else {
            crate::report::print_batch(&batch_id, &report, &rows, &*sink);
        }
        if cancel.is_cancelled() {
            return Err(Failure { code: EXIT_INTERRUPTED, error: anyhow!("interrupted; continue with --resume {batch_id}") });
        }
        let queued = report.outcomes.iter().filter(|o| matches!(o.stored, Ok(Stored::Queued(_)))).count();
        if queued > 0 {
            return Err(Failure::infra(anyhow!("{queued} result(s) are queued in the outbox because the server was unreachable; run `zebench sync` to deliver them")));
        }
        let infra = report.infrastructure_failures();
        if infra > 0 {
            return Err(Failure::infra(anyhow!("{infra} run(s) failed for infrastructure reasons or were not stored")));
        }
        let scores: Vec<f64> = report.outcomes.iter().filter(|o| o.error_type.is_none_or(|e| !e.is_infrastructure())).map(|o| o.run.weighted_score.unwrap_or(0.0)).collect();
        let mean = if scores.is_empty() { 0.0 } else { scores.iter().sum::<f64>() / scores.len() as f64 };
        gate(exec.fail_under, mean)
    })
}
