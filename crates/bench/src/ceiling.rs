//! The ceilings under bulk ingest on this machine, measured apart from zebench's own code:
//! how fast SQLite itself takes the benchmark's runs into zebench's schema (rusqlite,
//! single-row statements prepared once, 1,000 runs per transaction, nothing else: no HTTP,
//! no duplicate check, no rollups, no artifacts), with and without the 12 evaluation rows per
//! run; and how fast one core parses and validates a 1,000-run bulk body. Issue #2 asks for
//! 50,000 runs/s of bulk ingest; these are the numbers that say whether the hardware allows it.

use crate::payload;
use anyhow::{Context, Result};
use rusqlite::{params, Connection};
use std::path::Path;
use std::time::{Duration, Instant};
use zebench_core::RunResult;

const PER_TRANSACTION: u64 = 1000;

pub async fn ceiling(dir: &Path, prefill: u64, measure: u64) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let file = dir.join("ceiling.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    // The real schema, from the store's own migrations.
    let store =
        zebench_store::Store::connect(zebench_store::StoreOptions::new(file.display().to_string()))
            .await?;
    store.close().await;
    drop(store);

    let mut conn = Connection::open(&file)?;
    conn.execute_batch(
        "PRAGMA journal_mode = wal; PRAGMA synchronous = normal; PRAGMA foreign_keys = on; \
         PRAGMA cache_size = -16000;",
    )?;
    println!(
        "ceiling: SQLite alone, {} (rusqlite, 1,000 runs per transaction, {prefill} runs stored first)",
        file.display()
    );
    let mut next = 0;
    while next < prefill {
        insert(&mut conn, next, true)?;
        next += PER_TRANSACTION;
    }
    for evaluations in [true, false] {
        let mut spent = Duration::ZERO;
        let end = next + measure;
        while next < end {
            spent += insert(&mut conn, next, evaluations)?;
            next += PER_TRANSACTION;
        }
        println!(
            "ceiling: {} runs/s with{} evaluation rows ({:.1} ms per 1,000 runs)",
            (measure as f64 / spent.as_secs_f64()).round(),
            if evaluations { "" } else { "out" },
            spent.as_secs_f64() * 1000.0 / (measure / PER_TRANSACTION) as f64
        );
    }
    drop(conn);

    // Parsing: the typed fast path of /api/results/bulk on one thread.
    let runs: Vec<serde_json::Value> = (0..PER_TRANSACTION)
        .map(|i| payload::run("parse", i, "parse", 1_735_689_600_000))
        .collect();
    let body = serde_json::to_vec(&runs)?;
    let rounds = 20;
    let started = Instant::now();
    for _ in 0..rounds {
        let parsed = zebench_core::validate::parse_run_results_with(&body, 1)?;
        std::hint::black_box(parsed);
    }
    let per = started.elapsed() / rounds;
    println!(
        "ceiling: parsing and validating a {}-byte body of 1,000 runs on one core: {:.1} ms ({} runs/s)",
        body.len(),
        per.as_secs_f64() * 1000.0,
        (1000.0 / per.as_secs_f64()).round()
    );
    Ok(())
}

/// One transaction of 1,000 generated runs starting at run `first`; returns the time spent
/// in SQLite (the runs are generated before the clock starts).
fn insert(conn: &mut Connection, first: u64, evaluations: bool) -> Result<Duration> {
    let batch = format!("ceiling-{}", first / PER_TRANSACTION);
    let runs: Vec<(RunResult, Option<String>)> = (first..first + PER_TRANSACTION)
        .map(|k| {
            let run: RunResult = serde_json::from_value(payload::run(
                "ceiling",
                k,
                &batch,
                1_735_689_600_000 + k as i64 * 30_000,
            ))?;
            let metadata = run
                .metadata
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?;
            Ok((run, metadata))
        })
        .collect::<Result<_>>()?;
    let started = Instant::now();
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO batches (batch_id, created_at) VALUES (?1, ?2)",
        params![batch, 0],
    )?;
    {
        let mut run_stmt = tx.prepare_cached(
            "INSERT INTO runs (run_id, batch_id, suite, scenario, tier, agent, model, status, \
             started_at, completed_at, total_score, weighted_score, success_metric, is_successful, \
             metadata, content_hash, received_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )?;
        let mut eval_stmt = tx.prepare_cached(
            "INSERT INTO evaluations (run_pk, evaluator_name, score, max_score, details, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )?;
        let mut tele_stmt = tx.prepare_cached(
            "INSERT INTO telemetry (run_pk, tool_calls, tokens_in, tokens_out, cost_usd, duration_ms) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )?;
        for (r, metadata) in &runs {
            let pk = run_stmt.insert(params![
                r.run_id,
                r.batch_id,
                r.suite,
                r.scenario,
                r.tier,
                r.agent,
                r.model,
                r.status.as_str(),
                r.started_at.map(|t| t.millis()),
                r.completed_at.map(|t| t.millis()),
                r.total_score,
                r.weighted_score,
                r.success_metric,
                r.is_successful,
                metadata,
                r.run_id, // stands in for the 64-hex-digit content hash
                0,
            ])?;
            if evaluations {
                for e in &r.evaluations {
                    eval_stmt.execute(params![
                        pk,
                        e.evaluator_name,
                        e.score,
                        e.max_score,
                        e.details,
                        0
                    ])?;
                }
            }
            if let Some(t) = &r.telemetry {
                tele_stmt.execute(params![
                    pk,
                    t.tool_calls,
                    t.tokens_in,
                    t.tokens_out,
                    t.cost_usd,
                    t.duration_ms
                ])?;
            }
        }
    }
    tx.commit()?;
    Ok(started.elapsed())
}
