//! `zebench-bench soak`: the proof that `zebench serve` holds up under sustained mixed load.
//!
//! It starts the real `zebench serve --dev` binary on a fresh SQLite database in a temporary
//! folder, runs `--clients` (64) concurrent clients for `--seconds` (60), each looping over a
//! weighted mix of writes (new single runs of ~4 KB, bulk submissions of 50 runs plus one
//! duplicate, re-sent duplicates, batch upserts) and reads (filtered run lists, single runs,
//! stats, agent stats, breakdowns, batches, dashboard pages, `/metrics`), and samples the
//! server's resident memory from `/proc/PID/status` throughout. It fails (exit 1) when:
//!
//! - any request failed: a transport error, a timeout, or a status other than the one the API
//!   promises for that request (201 for a new run, 200 for a duplicate, …), or a bulk answer
//!   whose created/duplicate counts differ from what was sent;
//! - the stored runs differ from the acknowledged ones: every run id is walked through
//!   `/api/runs` paging and compared with the set of runs the server acknowledged, and the
//!   maintained totals (`/api/breakdowns/tier`) and the server's own
//!   `zebench_runs_ingested_total` must count the same numbers;
//! - memory is not flat: see [`MemoryRule`];
//! - the server does not exit cleanly within 30 s of SIGTERM.

use crate::http::{Api, Reply};
use crate::latency::{self, histogram, ms};
use crate::payload;
use crate::server::{self, Server};
use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs per bulk submission (plus one duplicate).
const BULK_RUNS: u64 = 50;
/// Runs per batch of one client.
const BATCH_RUNS: u64 = 500;
/// 2026-01-01, the first run's start.
const T0_MS: i64 = 1_767_225_600_000;
/// Error messages kept for the report.
const KEEP_ERRORS: usize = 20;

/// What one request of the mix does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Single,
    Duplicate,
    Bulk,
    BatchUpsert,
    ListRuns,
    GetRun,
    Stats,
    Agents,
    Breakdown,
    GetBatch,
    Page,
    Metrics,
}

/// The mix: each kind with its weight (out of 100).
const MIX: [(Kind, u32); 12] = [
    (Kind::Single, 30),
    (Kind::Duplicate, 5),
    (Kind::Bulk, 3),
    (Kind::BatchUpsert, 4),
    (Kind::ListRuns, 12),
    (Kind::GetRun, 12),
    (Kind::Stats, 8),
    (Kind::Agents, 5),
    (Kind::Breakdown, 8),
    (Kind::GetBatch, 6),
    (Kind::Page, 5),
    (Kind::Metrics, 2),
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Single => "POST /api/results (new)",
            Kind::Duplicate => "POST /api/results (duplicate)",
            Kind::Bulk => "POST /api/results/bulk",
            Kind::BatchUpsert => "POST /api/results/batch",
            Kind::ListRuns => "GET /api/runs?filters",
            Kind::GetRun => "GET /api/runs/{id}",
            Kind::Stats => "GET /api/stats",
            Kind::Agents => "GET /api/stats/agents",
            Kind::Breakdown => "GET /api/breakdowns/…",
            Kind::GetBatch => "GET /api/batches/{id}",
            Kind::Page => "GET dashboard page",
            Kind::Metrics => "GET /metrics",
        }
    }

    fn index(self) -> usize {
        MIX.iter().position(|(k, _)| *k == self).unwrap_or(0)
    }

    fn pick(rng: &mut fastrand::Rng) -> Kind {
        let total: u32 = MIX.iter().map(|(_, w)| w).sum();
        let mut x = rng.u32(0..total);
        for (kind, weight) in MIX {
            if x < weight {
                return kind;
            }
            x -= weight;
        }
        Kind::Single
    }
}

/// Options of `zebench-bench soak`.
pub struct SoakOptions {
    /// The `zebench` binary; default: the one next to `zebench-bench`.
    pub server_bin: Option<PathBuf>,
    pub seconds: u64,
    pub clients: usize,
    /// The database to serve; default: a fresh SQLite file in a temporary folder. Runs it
    /// already holds are read back before the load and must still be there after it.
    pub database_url: Option<String>,
}

/// Memory is flat when the highest resident size in the last quarter of the run is at most
/// the highest in the second quarter × 1.10 + 16 MiB.
///
/// The first quarter is left out: caches fill there (SQLite page caches, the batch cache, the
/// allocator's per-thread arenas reaching the load's concurrency). From the second quarter on
/// a healthy server only moves within those bounded caches, so the last quarter's peak may
/// exceed the second's only by allocator noise (10 %, plus 16 MiB for an arena or a cache
/// filling late). A leak proportional to requests or to stored runs keeps growing through
/// the run and shows as a last quarter above that bound.
struct MemoryRule;

impl MemoryRule {
    const RATIO: f64 = 1.10;
    const SLACK: u64 = 16 * 1024 * 1024;

    /// The peak of each quarter of `samples` (time-ordered), by sample time.
    fn quarters(samples: &[(f64, u64)], duration: f64) -> [u64; 4] {
        let mut peaks = [0u64; 4];
        for &(t, rss) in samples {
            let q = ((t / duration) * 4.0).floor().clamp(0.0, 3.0) as usize;
            peaks[q] = peaks[q].max(rss);
        }
        peaks
    }

    fn limit(second_quarter_peak: u64) -> u64 {
        (second_quarter_peak as f64 * Self::RATIO) as u64 + Self::SLACK
    }
}

/// What one kind of request did across all clients.
struct KindStats {
    hist: Histogram<u64>,
    errors: u64,
}

/// One client's account of the run.
struct ClientReport {
    kinds: Vec<KindStats>,
    /// Run ids the server acknowledged as stored (201, or 200 duplicate of one of them).
    acked: Vec<String>,
    /// Resubmissions the server acknowledged as duplicates.
    duplicates: u64,
    errors: Vec<String>,
}

/// One client: its runs are `{tag}-c{id}-{n}`, its batches `{tag}-c{id}-b{n / BATCH_RUNS}`.
struct Client {
    id: usize,
    /// Unique to this soak, so a soak on a database that an earlier one filled sends new runs.
    tag: Arc<str>,
    api: Api,
    rng: fastrand::Rng,
    next_run: u64,
    /// Run numbers acknowledged as created.
    acked: Vec<u64>,
    report: ClientReport,
}

impl Client {
    fn prefix(&self) -> String {
        format!("{}-c{}", self.tag, self.id)
    }

    fn run_id(&self, n: u64) -> String {
        format!("{}-{n}", self.prefix())
    }

    fn batch_id(&self, n: u64) -> String {
        format!("{}-b{}", self.prefix(), n / BATCH_RUNS)
    }

    /// The run `n` of this client; the same `n` always gives the same content, so re-sending
    /// it is a duplicate.
    fn run(&self, n: u64) -> Value {
        payload::run(
            &self.prefix(),
            n,
            &self.batch_id(n),
            T0_MS + n as i64 * 1000 + self.id as i64,
        )
    }

    fn some_acked(&mut self) -> Option<u64> {
        if self.acked.is_empty() {
            None
        } else {
            Some(self.acked[self.rng.usize(0..self.acked.len())])
        }
    }

    fn fail(&mut self, kind: Kind, message: String) {
        self.report.kinds[kind.index()].errors += 1;
        if self.report.errors.len() < KEEP_ERRORS {
            self.report
                .errors
                .push(format!("client {}: {}: {message}", self.id, kind.name()));
        }
    }

    /// Checks a reply's status; a transport error or another status is a failure.
    fn expect(
        &mut self,
        kind: Kind,
        path: &str,
        reply: reqwest::Result<Reply>,
        want: u16,
    ) -> Option<Reply> {
        match reply {
            Ok(r) if r.status == want => Some(r),
            Ok(r) => {
                let body = String::from_utf8_lossy(&r.body[..r.body.len().min(300)]).into_owned();
                self.fail(
                    kind,
                    format!("{path}: HTTP {} (expected {want}): {body}", r.status),
                );
                None
            }
            Err(e) => {
                self.fail(kind, format!("{path}: {e}"));
                None
            }
        }
    }

    async fn step(&mut self) {
        let mut kind = Kind::pick(&mut self.rng);
        // Requests that need an acknowledged run fall back to a new one until there is one.
        if matches!(kind, Kind::Duplicate | Kind::GetRun | Kind::GetBatch) && self.acked.is_empty()
        {
            kind = Kind::Single;
        }
        let started = Instant::now();
        self.send(kind).await;
        latency::record(&mut self.report.kinds[kind.index()].hist, started.elapsed());
    }

    async fn send(&mut self, kind: Kind) {
        let api = self.api.clone();
        match kind {
            Kind::Single => {
                let n = self.next_run;
                self.next_run += 1;
                let body = serde_json::to_vec(&self.run(n)).unwrap_or_default();
                let reply = api.post("/api/results", body).await;
                if self.expect(kind, "/api/results", reply, 201).is_some() {
                    self.acked.push(n);
                }
            }
            Kind::Duplicate => {
                let Some(n) = self.some_acked() else { return };
                let body = serde_json::to_vec(&self.run(n)).unwrap_or_default();
                let reply = api.post("/api/results", body).await;
                if let Some(r) = self.expect(kind, "/api/results", reply, 200) {
                    let answer: Value = serde_json::from_slice(&r.body).unwrap_or_default();
                    if answer["duplicate"] == json!(true) {
                        self.report.duplicates += 1;
                    } else {
                        self.fail(kind, format!("not reported as a duplicate: {answer}"));
                    }
                }
            }
            Kind::Bulk => {
                let first = self.next_run;
                self.next_run += BULK_RUNS;
                let mut runs: Vec<Value> =
                    (first..first + BULK_RUNS).map(|n| self.run(n)).collect();
                let duplicate = self.some_acked();
                if let Some(n) = duplicate {
                    let at = self.rng.usize(0..=runs.len());
                    runs.insert(at, self.run(n));
                }
                let body = serde_json::to_vec(&runs).unwrap_or_default();
                let reply = api.post("/api/results/bulk", body).await;
                if let Some(r) = self.expect(kind, "/api/results/bulk", reply, 201) {
                    let answer: Value = serde_json::from_slice(&r.body).unwrap_or_default();
                    let want = (BULK_RUNS, u64::from(duplicate.is_some()));
                    let got = (
                        answer["created"].as_u64().unwrap_or(u64::MAX),
                        answer["duplicates"].as_u64().unwrap_or(u64::MAX),
                    );
                    if got == want {
                        self.acked.extend(first..first + BULK_RUNS);
                        self.report.duplicates += want.1;
                    } else {
                        self.fail(
                            kind,
                            format!("created/duplicates {got:?}, expected {want:?}"),
                        );
                    }
                }
            }
            Kind::BatchUpsert => {
                let batch = self.batch_id(self.next_run);
                let body = json!({"batchId": batch, "metadata": {"soak": true, "client": self.id}});
                let reply = api
                    .post("/api/results/batch", body.to_string().into_bytes())
                    .await;
                self.expect(kind, "/api/results/batch", reply, 201);
            }
            _ => {
                let path = self.read_path(kind);
                let reply = api.get(&path).await;
                self.expect(kind, &path, reply, 200);
            }
        }
    }

    /// A read of `kind`. Paths naming a run or batch use one this client got acknowledged;
    /// before there is one, a path that needs none is chosen instead.
    fn read_path(&mut self, kind: Kind) -> String {
        let acked = self.some_acked();
        let options = if acked.is_some() { 4 } else { 3 };
        let acked = acked.unwrap_or(0);
        let batch = self.batch_id(acked);
        match kind {
            Kind::ListRuns => match self.rng.u8(0..options) {
                0 => "/api/runs?limit=50".into(),
                1 => "/api/runs?limit=50&agent=anthropic".into(),
                2 => "/api/runs?limit=50&suite=update-deps&tier=L2".into(),
                _ => format!("/api/runs?limit=20&batchId={batch}"),
            },
            Kind::GetRun => format!("/api/runs/{}", self.run_id(acked)),
            Kind::Stats => "/api/stats".into(),
            Kind::Agents => "/api/stats/agents".into(),
            Kind::Breakdown => match self.rng.u8(0..options - 1) {
                0 => "/api/breakdowns/agent-model".into(),
                1 => "/api/breakdowns/day".into(),
                _ => format!("/api/breakdowns/tier?batchId={batch}"),
            },
            Kind::GetBatch => format!("/api/batches/{batch}"),
            Kind::Page => match self.rng.u8(0..options - 1) {
                0 => "/".into(),
                1 => "/runs?agent=openrouter".into(),
                _ => format!("/runs/{}", self.run_id(acked)),
            },
            _ => "/metrics".into(),
        }
    }
}

/// Runs the soak and prints its report; an `Err` (exit 1) when any check failed.
pub async fn soak(opts: SoakOptions) -> Result<()> {
    let bin = match opts.server_bin {
        Some(b) => b,
        None => server::default_binary()?,
    };
    let dir = tempfile::Builder::new().prefix("zebench-soak").tempdir()?;
    let db_url = match opts.database_url {
        Some(url) => url,
        None => format!("sqlite://{}", dir.path().join("soak.sqlite").display()),
    };
    let server = Server::start(&bin, dir.path(), &["--database-url", &db_url])?;
    println!(
        "soak: {} clients for {} s against {} (pid {}, {}), database {db_url}",
        opts.clients,
        opts.seconds,
        server.url,
        server.pid(),
        bin.display(),
    );
    let api = Api::new(
        &server.url,
        "dev-local-key",
        opts.clients,
        Duration::from_secs(30),
    )?;
    let (before, before_maintained) = stored_runs(&api)
        .await
        .context("reading the runs already stored")?;
    if before_maintained != before.len() as u64 {
        bail!(
            "before the load: {} runs listed but {before_maintained} in the maintained totals",
            before.len()
        );
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let tag: Arc<str> = format!("soak{:x}", nanos % (1 << 40)).into();

    // Memory samples: once a second, or often enough for 20 samples in a short run.
    let duration = Duration::from_secs(opts.seconds);
    let every = Duration::from_secs(1)
        .min(duration / 20)
        .max(Duration::from_millis(50));
    let stop = Arc::new(AtomicBool::new(false));
    let rss_before = server.rss()?;
    let start = Instant::now();
    let sampler = {
        let stop = stop.clone();
        let pid = server.pid();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(every);
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                if let Ok(rss) = server::rss_of(pid) {
                    samples.push((start.elapsed().as_secs_f64(), rss));
                }
            }
            samples
        })
    };

    let deadline = start + duration;
    let mut tasks = Vec::new();
    for id in 0..opts.clients {
        let mut client = Client {
            id,
            tag: tag.clone(),
            api: api.clone(),
            rng: fastrand::Rng::with_seed(0x5eed ^ id as u64),
            next_run: 0,
            acked: Vec::new(),
            report: ClientReport {
                kinds: MIX
                    .iter()
                    .map(|_| KindStats {
                        hist: histogram(),
                        errors: 0,
                    })
                    .collect(),
                acked: Vec::new(),
                duplicates: 0,
                errors: Vec::new(),
            },
        };
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                client.step().await;
            }
            let ids: Vec<String> = client.acked.iter().map(|&n| client.run_id(n)).collect();
            client.report.acked = ids;
            client.report
        }));
    }
    let mut kinds: Vec<KindStats> = MIX
        .iter()
        .map(|_| KindStats {
            hist: histogram(),
            errors: 0,
        })
        .collect();
    let mut acked = HashSet::new();
    let mut duplicates = 0;
    let mut errors = Vec::new();
    for t in tasks {
        let report = t.await.context("a client panicked")?;
        for (all, one) in kinds.iter_mut().zip(report.kinds) {
            all.hist.add(one.hist).ok();
            all.errors += one.errors;
        }
        acked.extend(report.acked);
        duplicates += report.duplicates;
        errors.extend(report.errors);
    }
    let load_secs = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.await?;

    // The report.
    let total: u64 = kinds.iter().map(|k| k.hist.len()).sum();
    let failed: u64 = kinds.iter().map(|k| k.errors).sum();
    println!(
        "{total} requests in {load_secs:.1} s ({:.0}/s), {failed} errors",
        total as f64 / load_secs
    );
    println!("| request | n | errors | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    for ((kind, _), k) in MIX.iter().zip(&kinds) {
        let h = &k.hist;
        let (p50, p99, max) = if h.is_empty() {
            (0.0, 0.0, 0.0)
        } else {
            (
                ms(h.value_at_quantile(0.5)),
                ms(h.value_at_quantile(0.99)),
                ms(h.max()),
            )
        };
        println!(
            "| {} | {} | {} | {p50:.2} | {p99:.2} | {max:.2} |",
            kind.name(),
            h.len(),
            k.errors
        );
    }
    for e in &errors {
        println!("error: {e}");
    }

    let mut problems = Vec::new();
    if failed > 0 {
        problems.push(format!("{failed} requests failed"));
    }
    match stored_runs(&api).await {
        Ok((ids, maintained)) => {
            let expected: HashSet<&String> = acked.iter().chain(&before).collect();
            let stored: HashSet<&String> = ids.iter().collect();
            let missing = expected.difference(&stored).count();
            let extra = stored.difference(&expected).count();
            println!(
                "runs: {} acknowledged + {} stored before = {} expected; {} stored (walked), {maintained} in the maintained totals; {missing} missing, {extra} unacknowledged",
                acked.len(),
                before.len(),
                expected.len(),
                ids.len()
            );
            if missing > 0 || extra > 0 || maintained != expected.len() as u64 {
                problems.push("stored runs differ from acknowledged runs".into());
            }
        }
        Err(e) => problems.push(format!("cannot read back the stored runs: {e:#}")),
    }
    // The server's own count must agree: nothing else wrote to this fresh server.
    match ingested_counts(&api).await {
        Ok((created, duplicate)) => {
            println!(
                "metrics: zebench_runs_ingested_total created {created}, duplicate {duplicate} (clients saw {}, {duplicates})",
                acked.len()
            );
            if created != acked.len() as u64 || duplicate != duplicates {
                problems.push("/metrics ingest counts differ from the acknowledged runs".into());
            }
        }
        Err(e) => problems.push(format!("cannot read /metrics: {e:#}")),
    }

    let quarters = MemoryRule::quarters(&samples, load_secs);
    let limit = MemoryRule::limit(quarters[1]);
    let end = samples.last().map_or(0, |s| s.1);
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "memory (RSS, MiB): before load {:.1}; peak per quarter {:.1} / {:.1} / {:.1} / {:.1}; at the end {:.1}; {} samples",
        mib(rss_before),
        mib(quarters[0]),
        mib(quarters[1]),
        mib(quarters[2]),
        mib(quarters[3]),
        mib(end),
        samples.len()
    );
    // A sparse series: about 12 points over the run.
    let step = (samples.len() / 12).max(1);
    let series: Vec<String> = samples
        .iter()
        .step_by(step)
        .map(|(t, rss)| match opts.seconds {
            0..20 => format!("{t:.1}s {:.0}", mib(*rss)),
            _ => format!("{t:.0}s {:.0}", mib(*rss)),
        })
        .collect();
    println!("memory series (MiB): {}", series.join(", "));
    println!(
        "memory rule: last-quarter peak {:.1} ≤ second-quarter peak × {} + {} MiB = {:.1}: {}",
        mib(quarters[3]),
        MemoryRule::RATIO,
        MemoryRule::SLACK / (1024 * 1024),
        mib(limit),
        if quarters[3] <= limit {
            "flat"
        } else {
            "GROWING"
        }
    );
    if samples.len() < 8 || quarters.contains(&0) {
        problems.push(format!("too few memory samples ({})", samples.len()));
    } else if quarters[3] > limit {
        problems.push("memory grew in the last quarter".into());
    }

    let log = server.log.clone();
    match server.stop(Duration::from_secs(30)) {
        Ok(status) if status.success() => println!("server: stopped cleanly on SIGTERM"),
        Ok(status) => problems.push(format!("server exited with {status} after SIGTERM")),
        Err(e) => problems.push(format!("{e:#}")),
    }
    if !problems.is_empty() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        println!("server log (last lines):");
        for line in tail.into_iter().rev() {
            println!("  {line}");
        }
        bail!("soak failed: {}", problems.join("; "));
    }
    println!("soak: PASS");
    Ok(())
}

/// The sums of `zebench_runs_ingested_total` over paths, for `created` and `duplicate`.
async fn ingested_counts(api: &Api) -> Result<(u64, u64)> {
    let r = api.get("/metrics").await?;
    if r.status != 200 {
        bail!("/metrics: HTTP {}", r.status);
    }
    let text = String::from_utf8_lossy(&r.body);
    let sum = |outcome: &str| -> Result<u64> {
        let mut total = 0.0;
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("zebench_runs_ingested_total{") else {
                continue;
            };
            let (labels, value) = rest.split_once("} ").context("malformed sample")?;
            if labels.contains(&format!("outcome=\"{outcome}\"")) {
                total += value.trim().parse::<f64>()?;
            }
        }
        Ok(total as u64)
    };
    Ok((sum("created")?, sum("duplicate")?))
}

/// Every stored run id, by walking `/api/runs` page by page, and the run count of the
/// maintained totals (the sum of `/api/breakdowns/tier`).
async fn stored_runs(api: &Api) -> Result<(HashSet<String>, u64)> {
    let mut ids = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/runs?limit=1000&cursor={c}"),
            None => "/api/runs?limit=1000".to_string(),
        };
        let r = api.get(&path).await?;
        if r.status != 200 {
            bail!("{path}: HTTP {}", r.status);
        }
        let page: Vec<Value> = serde_json::from_slice(&r.body)?;
        for run in page {
            let id = run["runId"].as_str().context("a run without runId")?;
            if !ids.insert(id.to_string()) {
                bail!("run {id} listed twice");
            }
        }
        cursor = r
            .headers
            .get("x-next-cursor")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    let r = api.get("/api/breakdowns/tier").await?;
    if r.status != 200 {
        bail!("/api/breakdowns/tier: HTTP {}", r.status);
    }
    let rows: Vec<Value> = serde_json::from_slice(&r.body)?;
    let maintained = rows.iter().filter_map(|row| row["runs"].as_u64()).sum();
    Ok((ids, maintained))
}
