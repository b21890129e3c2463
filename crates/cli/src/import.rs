//! `zebench import FILE`: brings runs from elsewhere into the database.
//!
//! FILE is recognised by its content: a SQLite file is read as a ze-benchmarks database
//! ([`zeb`]), anything else as JSON Lines, one run per line, either as exported by
//! `zebench export` / `GET /api/export` (`{"run":…,"evaluations":[…],"telemetry":…}`) or as
//! the body of `POST /api/results`. Every run is validated as the API would, then stored through
//! [`Store::submit_runs`] in chunks: idempotent by `runId`, so importing a file twice stores
//! nothing the second time, and a run id already stored with other content is reported as a
//! conflict without stopping the import.

mod values;
mod zeb;

pub use values::{is_bare_date, parse_time_text};

use crate::cli::ImportArgs;
use crate::{serve, Failure};
use anyhow::anyhow;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use zebench_core::{BatchUpsert, RunDetail, RunResult};
use zebench_store::{Outcome, Store, StoreError, StoreOptions};

/// Runs per `submit_runs` call (one transaction each).
const CHUNK: usize = 500;
/// How many skipped rows and conflicting ids are listed; the counts are always complete.
const SHOWN: usize = 20;

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// What an import did, printed as text or (`--json`) as this object.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    file: String,
    /// `ze-benchmarks` or `jsonl`.
    kind: &'static str,
    dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<zeb::SourceInfo>,
    /// Run records read (valid or not).
    runs_read: u64,
    /// Valid runs (stored, already present or in conflict; in a dry run, what would be sent).
    valid: u64,
    stored: u64,
    already_present: u64,
    conflicts: u64,
    conflict_ids: Vec<String>,
    batches: u64,
    skipped: u64,
    skipped_reasons: Vec<String>,
    notes: Vec<String>,
}

impl Summary {
    fn skip(&mut self, reason: String) {
        self.skipped += 1;
        if self.skipped_reasons.len() < SHOWN {
            self.skipped_reasons.push(reason);
        }
    }

    fn conflict(&mut self, run_id: String) {
        self.conflicts += 1;
        if self.conflict_ids.len() < SHOWN {
            self.conflict_ids.push(run_id);
        }
    }

    fn print(&self) {
        let source = match (&self.source, self.kind) {
            (Some(info), _) => format!(
                "ze-benchmarks database ({} columns; {} evaluation rows, {})",
                info.column_style,
                info.evaluations,
                if info.has_telemetry_table {
                    format!("{} telemetry rows", info.telemetry_rows)
                } else {
                    "no run_telemetry table".to_string()
                }
            ),
            (None, _) => "JSON Lines".to_string(),
        };
        out!("{}: {source}", self.file);
        out!(
            "read {} run{}, {} valid",
            self.runs_read,
            plural(self.runs_read),
            self.valid
        );
        if self.dry_run {
            out!(
                "dry run: nothing stored; {} run{} and {} batch{} would be submitted",
                self.valid,
                plural(self.valid),
                self.batches,
                if self.batches == 1 { "" } else { "es" }
            );
        } else {
            out!(
                "stored {} new run{}, {} already present",
                self.stored,
                plural(self.stored),
                self.already_present
            );
            if self.batches > 0 {
                out!(
                    "upserted {} batch{}",
                    self.batches,
                    if self.batches == 1 { "" } else { "es" }
                );
            }
        }
        if self.skipped > 0 {
            out!(
                "skipped {} invalid record{}:",
                self.skipped,
                plural(self.skipped)
            );
            for r in &self.skipped_reasons {
                out!("  {r}");
            }
            if self.skipped > self.skipped_reasons.len() as u64 {
                out!(
                    "  … and {} more",
                    self.skipped - self.skipped_reasons.len() as u64
                );
            }
        }
        for n in &self.notes {
            out!("note: {n}");
        }
        if self.conflicts > 0 {
            eprintln!(
                "warning: {} run{} not imported: already stored with different content (same runId): {}{}",
                self.conflicts,
                plural(self.conflicts),
                self.conflict_ids.join(", "),
                if self.conflicts > self.conflict_ids.len() as u64 { ", …" } else { "" }
            );
        }
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

enum Kind {
    Sqlite,
    Jsonl,
}

/// Looks at the first bytes: the SQLite header, or text that starts like a JSON object.
fn detect(path: &Path) -> Result<Kind, Failure> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| Failure::usage(anyhow!("cannot read {}: {e}", path.display())))?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Failure::usage(anyhow!(
            "{} is a directory, not a file",
            path.display()
        )));
    }
    let mut head = Vec::with_capacity(8192);
    file.by_ref()
        .take(8192)
        .read_to_end(&mut head)
        .map_err(|e| Failure::usage(anyhow!("cannot read {}: {e}", path.display())))?;
    if head.starts_with(SQLITE_MAGIC) {
        return Ok(Kind::Sqlite);
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let first = text.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => Ok(Kind::Jsonl),
        Some(b'{') if !text.contains(&0) => Ok(Kind::Jsonl),
        _ => Err(Failure::usage(anyhow!(
            "{} is neither a ze-benchmarks SQLite database nor a JSON Lines export of runs (it starts with {:?})",
            path.display(),
            String::from_utf8_lossy(&text[..text.len().min(24)])
        ))),
    }
}

pub fn run(args: ImportArgs) -> Result<(), Failure> {
    let kind = detect(&args.file)?;
    let url = if args.dry_run {
        None
    } else {
        Some(serve::database_url(args.database_url.clone())?)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Failure::infra)?;
    let summary = runtime.block_on(async {
        let mut target = Target { url, store: None };
        let mut summary = Summary {
            file: args.file.display().to_string(),
            dry_run: args.dry_run,
            ..Summary::default()
        };
        let result = match kind {
            Kind::Sqlite => {
                summary.kind = "ze-benchmarks";
                import_sqlite(&args.file, &mut target, &mut summary).await
            }
            Kind::Jsonl => {
                summary.kind = "jsonl";
                import_jsonl(&args.file, &mut target, &mut summary).await
            }
        };
        if let Some(store) = &target.store {
            store.close().await;
        }
        result.map(|()| summary)
    })?;
    if args.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
    } else {
        summary.print();
    }
    if summary.kind == "jsonl" && summary.runs_read > 0 && summary.valid == 0 {
        return Err(Failure::usage(anyhow!(
            "no line of {} is a valid run: is it a JSON Lines export?",
            args.file.display()
        )));
    }
    if args.strict && (summary.conflicts > 0 || summary.skipped > 0) {
        return Err(Failure {
            code: 1,
            error: anyhow!(
                "--strict: {} conflict{} and {} skipped record{}",
                summary.conflicts,
                plural(summary.conflicts),
                summary.skipped,
                plural(summary.skipped)
            ),
        });
    }
    Ok(())
}

/// The database to import into, opened on first use: a file that turns out to be unusable
/// leaves no database behind, and a dry run (no URL) never opens one.
struct Target {
    url: Option<String>,
    store: Option<Store>,
}

impl Target {
    async fn store(&mut self) -> Result<Option<&Store>, Failure> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        if self.store.is_none() {
            let store = Store::connect(StoreOptions::new(url)).await.map_err(|e| {
                Failure::infra(anyhow!(e).context(format!("cannot open the database {url}")))
            })?;
            self.store = Some(store);
        }
        Ok(self.store.as_ref())
    }

    fn dry_run(&self) -> bool {
        self.url.is_none()
    }
}

/// Runs waiting to be submitted, each with the name of the key that first submitted it (from
/// an export's `submittedBy`), which the import keeps.
struct Pending<'a> {
    target: &'a mut Target,
    runs: Vec<(RunResult, Option<String>)>,
}

impl Pending<'_> {
    async fn push(
        &mut self,
        run: RunResult,
        submitted_by: Option<String>,
        summary: &mut Summary,
    ) -> Result<(), Failure> {
        summary.valid += 1;
        self.runs.push((run, submitted_by));
        if self.runs.len() >= CHUNK {
            self.flush(summary).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, summary: &mut Summary) -> Result<(), Failure> {
        let chunk = std::mem::take(&mut self.runs);
        if chunk.is_empty() {
            return Ok(());
        }
        match self.target.store().await? {
            Some(store) => submit_chunk(store, chunk, summary).await,
            None => Ok(()),
        }
    }
}

fn db_failure(e: StoreError) -> Failure {
    Failure::infra(anyhow!(e).context("cannot store the runs"))
}

/// Submits one chunk: one atomic submission per submitting key name in it, in order of first
/// appearance (an export holds runs of several keys; each keeps its name).
async fn submit_chunk(
    store: &Store,
    chunk: Vec<(RunResult, Option<String>)>,
    summary: &mut Summary,
) -> Result<(), Failure> {
    let mut groups: Vec<(Option<String>, Vec<RunResult>)> = Vec::new();
    for (run, by) in chunk {
        match groups.iter_mut().find(|(name, _)| *name == by) {
            Some((_, runs)) => runs.push(run),
            None => groups.push((by, vec![run])),
        }
    }
    for (by, runs) in groups {
        submit_as(store, runs, by.as_deref(), summary).await?;
    }
    Ok(())
}

/// Submits runs atomically as `submitted_by`; when a run id among them is already stored with
/// other content, the rest is submitted without it and the conflicting runs one by one.
async fn submit_as(
    store: &Store,
    chunk: Vec<RunResult>,
    submitted_by: Option<&str>,
    summary: &mut Summary,
) -> Result<(), Failure> {
    if chunk.is_empty() {
        return Ok(());
    }
    let kept = chunk.clone();
    let ids = match store.submit_runs_as(chunk, submitted_by).await {
        Ok(outcomes) => {
            count(&outcomes, summary);
            return Ok(());
        }
        Err(StoreError::Conflict(ids)) => ids,
        Err(e) => return Err(db_failure(e)),
    };
    let suspects: HashSet<String> = ids.into_iter().collect();
    let (one_by_one, rest): (Vec<RunResult>, Vec<RunResult>) =
        kept.into_iter().partition(|r| suspects.contains(&r.run_id));
    let mut one_by_one = one_by_one;
    if !rest.is_empty() {
        match store.submit_runs_as(rest.clone(), submitted_by).await {
            Ok(outcomes) => count(&outcomes, summary),
            // Another writer stored one of these meanwhile: go one by one.
            Err(StoreError::Conflict(_)) => one_by_one.extend(rest),
            Err(e) => return Err(db_failure(e)),
        }
    }
    for run in one_by_one {
        match store.submit_runs_as(vec![run.clone()], submitted_by).await {
            Ok(outcomes) => count(&outcomes, summary),
            Err(StoreError::Conflict(_)) => {
                if same_as_stored(store, &run).await? {
                    summary.already_present += 1;
                } else {
                    summary.conflict(run.run_id);
                }
            }
            Err(e) => return Err(db_failure(e)),
        }
    }
    Ok(())
}

fn count(outcomes: &[Outcome], summary: &mut Summary) {
    for o in outcomes {
        match o {
            Outcome::Created => summary.stored += 1,
            Outcome::Duplicate => summary.already_present += 1,
        }
    }
}

/// True when the stored run says everything `run` says: what an export carries of it is equal.
/// This recognises a run re-imported from an export of the same database, whose artifacts and
/// prompt an export does not carry, as already present rather than as a conflict.
async fn same_as_stored(store: &Store, run: &RunResult) -> Result<bool, Failure> {
    let Some(detail) = store.get_run(&run.run_id).await.map_err(db_failure)? else {
        return Ok(false);
    };
    let Ok(stored) = run_from_detail(&detail) else {
        return Ok(false);
    };
    let mut mine = run.clone();
    mine.artifacts.clear();
    if let Some(t) = &mut mine.telemetry {
        t.prompt_sent = None;
    }
    if mine.telemetry.as_ref().is_some_and(|t| t.is_empty()) {
        mine.telemetry = None;
    }
    if mine.started_at.is_none() {
        mine.started_at = stored.started_at;
    }
    Ok(mine == stored)
}

/// A stored run as the `RunResult` that an import of its export line would produce.
fn run_from_detail(detail: &RunDetail) -> Result<RunResult, String> {
    let value = serde_json::to_value(detail).map_err(|e| e.to_string())?;
    match value {
        Value::Object(obj) => run_from_value(obj),
        _ => Err("not an object".into()),
    }
}

/// The `run.submittedBy` of an export line: the name of the key that submitted the run.
fn submitted_by(line: &Map<String, Value>) -> Option<String> {
    line.get("run")?
        .get("submittedBy")?
        .as_str()
        .map(str::to_string)
}

/// Converts one JSON record: an export line (`{"run","evaluations","telemetry"}`, metadata as
/// a string) or a `POST /api/results` body; then validates it as the API does.
fn run_from_value(mut obj: Map<String, Value>) -> Result<RunResult, String> {
    let mut body = match obj.remove("run") {
        Some(Value::Object(run)) => {
            let mut run = run;
            run.remove("id");
            let evaluations = match obj.remove("evaluations") {
                None | Some(Value::Null) => Value::Array(Vec::new()),
                Some(Value::Array(items)) => Value::Array(
                    items
                        .into_iter()
                        .map(|e| match e {
                            Value::Object(mut e) => {
                                for k in ["id", "runId", "createdAt"] {
                                    e.remove(k);
                                }
                                Value::Object(e)
                            }
                            other => other,
                        })
                        .collect(),
                ),
                Some(other) => other,
            };
            run.insert("evaluations".into(), evaluations);
            let telemetry = match obj.remove("telemetry") {
                Some(Value::Object(mut t)) => {
                    t.remove("id");
                    t.remove("runId");
                    Value::Object(t)
                }
                Some(other) => other,
                None => Value::Null,
            };
            run.insert("telemetry".into(), telemetry);
            run
        }
        Some(_) => return Err("run: expected an object".into()),
        None => obj,
    };
    if let Some(meta) = body.get_mut("metadata") {
        match meta {
            Value::String(s) => *meta = Value::Object(zeb::metadata_from_text(s)),
            Value::Object(_) | Value::Null => {}
            other => {
                let mut m = Map::new();
                m.insert("raw".into(), Value::String(other.to_string()));
                *other = Value::Object(m);
            }
        }
    }
    let bytes = serde_json::to_vec(&Value::Object(body)).map_err(|e| e.to_string())?;
    zebench_core::parse_run_result(&bytes).map_err(|e| e.to_string())
}

async fn import_jsonl(
    path: &Path,
    target: &mut Target,
    summary: &mut Summary,
) -> Result<(), Failure> {
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::usage(anyhow!("cannot read {}: {e}", path.display())))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    // A dry run stores nothing, so it tracks run ids itself to report repeats in the file.
    let mut seen: Option<HashSet<String>> = target.dry_run().then(HashSet::new);
    let mut pending = Pending {
        target,
        runs: Vec::with_capacity(CHUNK),
    };
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Failure::usage(anyhow!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        number += 1;
        let mut text: &[u8] = &line;
        if number == 1 {
            text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        }
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        summary.runs_read += 1;
        let parsed = match serde_json::from_slice::<Value>(text) {
            Ok(Value::Object(obj)) => {
                let by = match submitted_by(&obj) {
                    Some(name) if !zebench_server::keys::valid_name(&name) => {
                        summary.notes.push(format!(
                            "line {number}: submittedBy is not a key name; the run is stored without it"
                        ));
                        None
                    }
                    by => by,
                };
                run_from_value(obj).map(|run| (run, by))
            }
            Ok(_) => Err("expected a JSON object".to_string()),
            Err(e) => Err(format!("invalid JSON: {e}")),
        };
        match parsed {
            Ok((run, by)) => {
                if seen.as_mut().is_some_and(|s| !s.insert(run.run_id.clone())) {
                    summary.notes.push(format!(
                        "line {number}: runId {} appears more than once in the file",
                        run.run_id
                    ));
                }
                pending.push(run, by, summary).await?;
            }
            Err(reason) => summary.skip(format!("line {number}: {reason}")),
        }
    }
    pending.flush(summary).await
}

async fn import_sqlite(
    path: &Path,
    target: &mut Target,
    summary: &mut Summary,
) -> Result<(), Failure> {
    let source_err = |e: zeb::SourceError| Failure::usage(anyhow!("{}: {e}", path.display()));
    let source = zeb::Source::open(path).await.map_err(source_err)?;
    let result = read_sqlite(&source, target, summary).await;
    source.close().await;
    result.map_err(|e| match e {
        ReadFailure::Source(e) => source_err(e),
        ReadFailure::Store(f) => f,
    })
}

enum ReadFailure {
    Source(zeb::SourceError),
    Store(Failure),
}

async fn read_sqlite(
    source: &zeb::Source,
    target: &mut Target,
    summary: &mut Summary,
) -> Result<(), ReadFailure> {
    let (batches, skipped) = source.batches().await.map_err(ReadFailure::Source)?;
    for reason in skipped {
        summary.skip(reason);
    }
    let mut info = zeb::SourceInfo::default();
    // Read everything before writing anything, so a malformed table fails the import early.
    let mut reader = source.runs(&mut info).await.map_err(ReadFailure::Source)?;
    // Batches first: a batch's createdAt is kept from its first insert, and storing a run
    // would otherwise create its batch with the run's start time.
    for batch in &batches {
        if let Err(e) = check_batch(batch) {
            summary.skip(format!("batch_runs batchId {}: {e}", batch.batch_id));
            continue;
        }
        if let Some(store) = target.store().await.map_err(ReadFailure::Store)? {
            store
                .upsert_batch(batch)
                .await
                .map_err(|e| ReadFailure::Store(db_failure(e)))?;
        }
        summary.batches += 1;
    }
    let mut pending = Pending {
        target,
        runs: Vec::with_capacity(CHUNK),
    };
    while let Some((row, at)) = reader.next().await.map_err(ReadFailure::Source)? {
        summary.runs_read += 1;
        let checked = row.and_then(|run| {
            let bytes = serde_json::to_vec(&run).map_err(|e| e.to_string())?;
            zebench_core::parse_run_result(&bytes).map_err(|e| e.to_string())
        });
        match checked {
            Ok(run) => pending
                .push(run, None, summary)
                .await
                .map_err(ReadFailure::Store)?,
            Err(reason) => summary.skip(format!("{at}: {reason}")),
        }
    }
    summary.notes.extend(reader.finish());
    summary.source = Some(info);
    pending.flush(summary).await.map_err(ReadFailure::Store)
}

/// The API's checks for a batch upsert.
fn check_batch(batch: &BatchUpsert) -> Result<(), String> {
    let bytes = serde_json::to_vec(batch).map_err(|e| e.to_string())?;
    zebench_core::parse_batch_upsert(&bytes)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_lines_and_post_bodies_both_convert() {
        let line = r#"{"run":{"id":7,"runId":"r1","batchId":null,"suite":"s","scenario":"c","tier":"L1","agent":"a","model":null,"status":"completed","startedAt":"2026-03-11T10:00:00.000Z","completedAt":null,"totalScore":0.5,"weightedScore":5.0,"successMetric":null,"isSuccessful":true,"metadata":"{\"k\":[1,2]}","specialistEnabled":null,"specialistName":null,"specialistVersion":null},"evaluations":[{"id":3,"runId":"r1","evaluatorName":"E","score":0.25,"maxScore":1.0,"details":"d","createdAt":"2026-03-11T10:00:00.000Z"}],"telemetry":{"id":1,"runId":"r1","toolCalls":3,"tokensIn":null,"tokensOut":null,"costUsd":0.1,"durationMs":null,"workspaceDir":null}}"#;
        let Value::Object(obj) = serde_json::from_str(line).unwrap() else {
            panic!()
        };
        let run = run_from_value(obj).unwrap();
        assert_eq!(run.metadata.unwrap()["k"], serde_json::json!([1, 2]));
        assert_eq!(run.evaluations[0].score, 0.25);
        assert_eq!(run.telemetry.unwrap().tool_calls, Some(3));

        let body = r#"{"runId":"r2","suite":"s","scenario":"c","tier":"L1","agent":"a","status":"failed","metadata":"not json"}"#;
        let Value::Object(obj) = serde_json::from_str(body).unwrap() else {
            panic!()
        };
        let run = run_from_value(obj).unwrap();
        assert_eq!(run.metadata.unwrap()["raw"], "not json");
    }

    #[test]
    fn invalid_records_say_why() {
        let Value::Object(obj) = serde_json::from_str(r#"{"runId":"r"}"#).unwrap() else {
            panic!()
        };
        let err = run_from_value(obj).unwrap_err();
        assert!(err.contains("suite"), "{err}");
    }
}
