//! `zebench-bench`: measures the results service the way docs/benchmarks.md reports it.
//!
//! - `ingest`: many concurrent clients POST realistic runs over loopback HTTP for a fixed time.
//! - `seed`: fills a database to a given size through the store's bulk path (measuring it).
//! - `read`: latency percentiles of the read endpoints against a running server.
//! - `soak`: starts `zebench serve` on a fresh database, runs 64 clients mixing writes and
//!   reads, and fails on any error, lost run or growing memory (`soak.rs`).
//!
//! `bench/run.sh` drives these against `zebench serve` on SQLite and PostgreSQL.

mod ceiling;
mod harness;
mod http;
mod latency;
mod pages;
mod payload;
mod server;
mod soak;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use latency::{histogram, ms};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Benchmarks for the zebench results service")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// POST runs for a fixed time and report runs/s and latency.
    Ingest {
        #[arg(long, default_value = "http://127.0.0.1:8787")]
        url: String,
        #[arg(long, default_value = "bench-key")]
        key: String,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Runs per request through /api/results/bulk (0: one run per POST /api/results).
        #[arg(long, default_value_t = 0)]
        bulk: usize,
        /// Prefix of generated run ids (must differ between invocations on one database).
        #[arg(long, default_value = "ingest")]
        prefix: String,
    },
    /// Insert runs straight through the store's bulk path, in batches of 1,000 runs.
    Seed {
        #[arg(long)]
        database_url: String,
        /// Total runs the database should hold when done.
        #[arg(long)]
        runs: u64,
        #[arg(long, default_value_t = 1000)]
        chunk: usize,
    },
    /// Harness overhead per run (workspace copy, diff, evaluators, scoring, storing).
    HarnessOverhead {
        #[arg(long, default_value_t = 500)]
        files: usize,
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// Where workspaces are made (default: the system temp folder).
        #[arg(long)]
        workspace_dir: Option<std::path::PathBuf>,
    },
    /// Batch throughput with --jobs 1 and --jobs N on command-bound runs.
    Jobs {
        #[arg(long, default_value_t = 8)]
        runs: usize,
        #[arg(long, default_value_t = 2)]
        jobs: usize,
        /// The validation command every run executes.
        #[arg(long, default_value = "sleep 1")]
        command: String,
    },
    /// Dashboard pages: render latency and first-load transfer per page.
    Pages {
        #[arg(long, default_value = "http://127.0.0.1:8787")]
        url: String,
        #[arg(long, default_value_t = 50)]
        requests: usize,
    },
    /// Start `zebench serve` on a fresh SQLite database and run concurrent clients mixing
    /// writes and reads; fail on any error, lost run or growing memory.
    Soak {
        /// The zebench binary (default: the one next to zebench-bench).
        #[arg(long)]
        server_bin: Option<std::path::PathBuf>,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Serve this database instead of a fresh SQLite file (e.g. one filled by `seed`, or
        /// `postgres://…`); the runs it holds must still be there afterwards.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// The hardware's ceilings for bulk ingest: SQLite alone taking the benchmark's runs into
    /// zebench's schema, and one core parsing a 1,000-run body (see docs/benchmarks.md).
    SqliteCeiling {
        /// Where the scratch database is made (the benchmark's default place).
        #[arg(long, default_value = "/tmp/zebench-bench")]
        dir: std::path::PathBuf,
        /// Runs stored before measuring.
        #[arg(long, default_value_t = 100_000)]
        prefill: u64,
        /// Runs timed, with and then without evaluation rows.
        #[arg(long, default_value_t = 20_000)]
        measure: u64,
    },
    /// Measure read latency of each endpoint.
    Read {
        #[arg(long, default_value = "http://127.0.0.1:8787")]
        url: String,
        #[arg(long, default_value_t = 2000)]
        requests: u64,
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // reqwest is built without a default TLS provider across the workspace (see the client).
    zebench_client::install_tls_provider();
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        match cli.cmd {
            Cmd::Ingest {
                url,
                key,
                concurrency,
                seconds,
                bulk,
                prefix,
            } => ingest(&url, &key, concurrency, seconds, bulk, &prefix).await,
            Cmd::Pages { url, requests } => pages::pages(&url, requests).await,
            Cmd::Soak {
                server_bin,
                seconds,
                clients,
                database_url,
            } => {
                soak::soak(soak::SoakOptions {
                    server_bin,
                    seconds,
                    clients,
                    database_url,
                })
                .await
            }
            Cmd::HarnessOverhead {
                files,
                runs,
                workspace_dir,
            } => harness::overhead(files, runs, workspace_dir.as_deref()).await,
            Cmd::Jobs {
                runs,
                jobs,
                command,
            } => harness::jobs(runs, jobs, &command).await,
            Cmd::Seed {
                database_url,
                runs,
                chunk,
            } => seed(&database_url, runs, chunk).await,
            Cmd::SqliteCeiling {
                dir,
                prefill,
                measure,
            } => ceiling::ceiling(&dir, prefill, measure).await,
            Cmd::Read {
                url,
                requests,
                concurrency,
            } => read(&url, requests, concurrency).await,
        }
    })
}

async fn ingest(
    url: &str,
    key: &str,
    concurrency: usize,
    seconds: u64,
    bulk: usize,
    prefix: &str,
) -> Result<()> {
    let api = http::Api::new(url, key, concurrency, Duration::from_secs(60))?;
    // Bodies are generated before the clock starts, so the generator spends its CPU on
    // sending, not on building JSON (it shares the machine with the server).
    let per = bulk.max(1) as u64;
    let start_ms = 1_767_225_600_000i64; // 2026-01-01
    let estimate = (if bulk == 0 { 8_000 } else { 60_000 }) * seconds;
    let requests = estimate.div_ceil(per);
    let bodies: Vec<(u64, Vec<u8>)> = (0..requests)
        .map(|r| {
            let first = r * per;
            let batch = format!("{prefix}-batch-{}", first / 1000);
            let body = if bulk == 0 {
                serde_json::to_vec(&payload::run(
                    prefix,
                    first,
                    &batch,
                    start_ms + first as i64 * 1000,
                ))
            } else {
                let items: Vec<_> = (first..first + per)
                    .map(|i| payload::run(prefix, i, &batch, start_ms + i as i64 * 1000))
                    .collect();
                serde_json::to_vec(&items)
            };
            (per, body.unwrap_or_default())
        })
        .collect();
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let api = api.clone();
        let next = next.clone();
        let bodies = bodies.clone();
        let path = if bulk == 0 {
            "/api/results"
        } else {
            "/api/results/bulk"
        };
        tasks.push(tokio::spawn(async move {
            let mut hist = histogram();
            let mut runs = 0u64;
            let mut errors = 0u64;
            let mut bytes = 0usize;
            while Instant::now() < deadline {
                let k = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some((per, body)) = bodies.get(k) else {
                    break;
                };
                bytes = body.len() / *per as usize;
                let t = Instant::now();
                let res = api.post(path, body.clone()).await;
                let ok = matches!(&res, Ok(r) if r.status == 201);
                latency::record(&mut hist, t.elapsed());
                if ok {
                    runs += per;
                } else {
                    errors += 1;
                }
            }
            (hist, runs, errors, bytes)
        }));
    }
    let started = Instant::now();
    let mut hist = histogram();
    let (mut runs, mut errors, mut bytes) = (0, 0, 0);
    for t in tasks {
        let (h, r, e, b) = t.await?;
        hist.add(h).ok();
        runs += r;
        errors += e;
        bytes = bytes.max(b);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "ingest{}: {runs} runs in {secs:.1} s = {:.0} runs/s; {} requests, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {errors} errors; {bytes} bytes/run; concurrency {concurrency}",
        if bulk > 0 { format!(" (bulk {bulk})") } else { String::new() },
        runs as f64 / secs,
        hist.len(),
        ms(hist.value_at_quantile(0.5)),
        ms(hist.value_at_quantile(0.99)),
        ms(hist.max()),
    );
    if errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}

async fn seed(database_url: &str, target: u64, chunk: usize) -> Result<()> {
    let store = zebench_store::Store::connect(zebench_store::StoreOptions::new(database_url))
        .await
        .context("open database")?;
    let have = store.stats().await?.total_runs as u64;
    let have_all = store
        .breakdown(zebench_core::Dimension::Tier, &Default::default())
        .await?
        .iter()
        .map(|r| r.runs as u64)
        .sum::<u64>()
        .max(have);
    if have_all >= target {
        println!("seed: database already holds {have_all} runs");
        return Ok(());
    }
    let start_ms = 1_735_689_600_000i64; // 2025-01-01
    let started = Instant::now();
    let mut i = have_all;
    let mut in_store = Duration::ZERO;
    while i < target {
        let n = (chunk as u64).min(target - i);
        let batch = format!("seed-{}", i / 1000);
        let runs: Vec<zebench_core::RunResult> = (i..i + n)
            .map(|k| {
                // Spread runs over about a year, one batch per ~9 hours.
                serde_json::from_value(payload::run(
                    "seed",
                    k,
                    &batch,
                    start_ms + k as i64 * 30_000,
                ))
            })
            .collect::<Result<_, _>>()?;
        let t = Instant::now();
        store.submit_runs(runs).await?;
        in_store += t.elapsed();
        i += n;
        if i % 100_000 == 0 || i == target {
            let secs = started.elapsed().as_secs_f64();
            println!(
                "seed: {i} runs stored, {:.0} runs/s overall, {:.0} runs/s inside the store's bulk path",
                (i - have_all) as f64 / secs,
                (i - have_all) as f64 / in_store.as_secs_f64()
            );
        }
    }
    // A fresh bulk load has no planner statistics yet; a real server gets them from
    // autovacuum (PostgreSQL) or `PRAGMA optimize` over time.
    store.analyze().await?;
    store.close().await;
    Ok(())
}

const READS: [&str; 10] = [
    "/api/stats",
    "/api/stats/agents",
    "/api/runs?limit=50",
    "/api/runs?limit=50&agent=openrouter",
    "/api/runs?limit=50&suite=update-deps&tier=L2",
    "/api/breakdowns/agent-model",
    "/api/breakdowns/day",
    "/api/breakdowns/tier?batchId=seed-0",
    "/api/batches/seed-0",
    // `{i}` cycles through every batch, so most requests miss the server's batch cache.
    "/api/batches/seed-{i}",
];

async fn read(url: &str, requests: u64, concurrency: usize) -> Result<()> {
    let api = http::Api::new(url, "", concurrency, Duration::from_secs(60))?;
    let batches = api.get("/api/batches?limit=1000").await?.body;
    let batches = serde_json::from_slice::<Vec<serde_json::Value>>(&batches)?
        .len()
        .max(1) as u64;
    println!("| endpoint | n | p50 ms | p99 ms | max ms | bytes |");
    println!("|---|---|---|---|---|---|");
    for path in READS {
        let at = |k: u64| path.replace("{i}", &(k % batches).to_string());
        // Warm up caches and connections.
        for k in 0..20 {
            let r = api.get(&at(k + 7)).await?;
            if r.status != 200 {
                bail!("{path}: HTTP {}", r.status);
            }
        }
        let next = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let api = api.clone();
            let next = next.clone();
            let urls: Vec<String> = (0..batches.min(requests)).map(&at).collect();
            tasks.push(tokio::spawn(async move {
                let mut hist = histogram();
                let mut size = 0;
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= requests {
                        break;
                    }
                    let t = Instant::now();
                    let r = api.get(&urls[(k % urls.len() as u64) as usize]).await?;
                    size = r.body.len();
                    latency::record(&mut hist, t.elapsed());
                }
                Ok::<_, reqwest::Error>((hist, size))
            }));
        }
        let mut hist = histogram();
        let mut size = 0;
        for t in tasks {
            let (h, s) = t.await??;
            hist.add(h).ok();
            size = s;
        }
        println!(
            "| `{path}` | {} | {:.2} | {:.2} | {:.2} | {size} |",
            hist.len(),
            ms(hist.value_at_quantile(0.5)),
            ms(hist.value_at_quantile(0.99)),
            ms(hist.max())
        );
    }
    Ok(())
}
