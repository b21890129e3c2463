//! `zebench demo`: a populated dashboard from a clean clone, offline, in about a minute.
//!
//! Two batches of the bundled `starter` suite (shell, Python, Rust and Node scenarios) with the
//! scripted agents that solve them, do them badly and fail, plus `echo`, every tier, run
//! concurrently into the embedded database; then `serve` with the local development key.

use crate::cli::{BatchArgs, DemoArgs, ExecArgs, LogFormat, ServeArgs, SuitesArgs};
use crate::{exec, serve, Failure};

/// The demo's agents: clearly scripted replays, not models.
pub const AGENTS: [&str; 4] = ["scripted:solve", "scripted:sloppy", "scripted:fail", "echo"];

fn exec_args(args: &DemoArgs) -> ExecArgs {
    ExecArgs {
        suites: SuitesArgs {
            suites: args.suites.clone(),
        },
        database_url: args.database_url.clone(),
        worker_url: None,
        api_key: None,
        outbox: None,
        keep_workspace: "never".into(),
        workspace_dir: None,
        command_timeout: 120.0,
        timeout_minutes: None,
        fail_under: None,
        json: false,
        config: None,
        max_turns: None,
        max_run_tokens: None,
        max_run_cost: None,
    }
}

pub fn run(args: DemoArgs) -> Result<(), Failure> {
    let jobs = args
        .jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
        .max(1);
    let stamp = zebench_harness::batch::plan::new_batch_id();
    let started = std::time::Instant::now();
    for part in ["a", "b"] {
        let batch_id = format!("demo-{}-{part}", stamp.trim_start_matches("b-"));
        eprintln!(
            "zebench demo: batch {batch_id}: suite {}, agents {}",
            args.suite,
            AGENTS.join(", ")
        );
        exec::batch(BatchArgs {
            suites_sel: vec![args.suite.clone()],
            scenarios: Vec::new(),
            tiers: Vec::new(),
            agents: AGENTS.iter().map(|a| a.to_string()).collect(),
            repeat: args.repeat.max(1),
            jobs,
            shard: None,
            batch_id: Some(batch_id),
            resume: None,
            max_cost: None,
            exec: exec_args(&args),
        })?;
    }
    eprintln!(
        "zebench demo: both batches done in {:.0} s (agents are scripted replays, not models)",
        started.elapsed().as_secs_f64()
    );
    if args.no_serve {
        return Ok(());
    }
    eprintln!(
        "zebench demo: dashboard at http://{}/  (Ctrl-C to stop; the data stays in the database)",
        args.bind
    );
    serve::run(ServeArgs {
        bind: args.bind,
        database_url: args.database_url,
        api_keys: Vec::new(),
        dev: true,
        config: None,
        keys_file: None,
        read_key: None,
        cors_origins: vec!["*".into()],
        body_limit: 8 * 1024 * 1024,
        max_connections: 8,
        log_format: LogFormat::Human,
    })
}
