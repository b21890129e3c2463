//! Reading a ze-benchmarks SQLite database (the seed's local `benchmarks.db` or a D1 export):
//! tables `benchmark_runs`, `evaluation_results`, and optionally `run_telemetry` and
//! `batch_runs`, in any of the column spellings the seed used over time.
//!
//! Columns are found by name, case-insensitively and ignoring underscores (`runId`, `run_id`,
//! `RUN_ID` are one column), and read by the storage class of each value, so integer, real and
//! text timestamps, and 0/1 or 'true'/'false' booleans, all work. The file is opened read-only.

use super::values::Cell;
use futures::TryStreamExt;
use serde_json::{Map, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{AssertSqlSafe, Row, TypeInfo, ValueRef};
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use zebench_core::{BatchUpsert, EvaluationInput, RunResult, RunStatus, TelemetryInput};

/// Why the source could not be read at all (as opposed to one bad row).
#[derive(Debug)]
pub enum SourceError {
    /// Not a ze-benchmarks database, or a required table or column is missing: exit 2.
    Format(String),
    /// SQLite refused to read it: exit 2 as well (the file is the problem).
    Read(String),
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::Format(m) | SourceError::Read(m) => f.write_str(m),
        }
    }
}

fn read_err(context: &str) -> impl Fn(sqlx::Error) -> SourceError + '_ {
    move |e| SourceError::Read(format!("{context}: {e}"))
}

/// `runId`, `run_id` and `RUN_ID` all become `runid`.
pub fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-' && *c != ' ')
        .flat_map(char::to_lowercase)
        .collect()
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// One field the importer reads: its canonical name, accepted spellings (normalized), and
/// whether the table is unusable without it.
struct Field {
    name: &'static str,
    aliases: &'static [&'static str],
    required: bool,
}

const fn req(name: &'static str, aliases: &'static [&'static str]) -> Field {
    Field {
        name,
        aliases,
        required: true,
    }
}

const fn opt(name: &'static str, aliases: &'static [&'static str]) -> Field {
    Field {
        name,
        aliases,
        required: false,
    }
}

const RUN_FIELDS: [Field; 18] = [
    req("runId", &["runid"]),
    opt("batchId", &["batchid"]),
    req("suite", &["suite"]),
    req("scenario", &["scenario"]),
    req("tier", &["tier"]),
    req("agent", &["agent"]),
    opt("model", &["model"]),
    req("status", &["status"]),
    opt("startedAt", &["startedat", "createdat"]),
    opt("completedAt", &["completedat", "finishedat"]),
    opt("totalScore", &["totalscore"]),
    opt("weightedScore", &["weightedscore"]),
    opt("successMetric", &["successmetric"]),
    opt("isSuccessful", &["issuccessful"]),
    opt("metadata", &["metadata"]),
    opt("specialistEnabled", &["specialistenabled"]),
    opt("specialistName", &["specialistname"]),
    opt("specialistVersion", &["specialistversion"]),
];

/// The link from a child row to its run: the run's text id, or (older variants) the integer
/// primary key of `benchmark_runs`.
const LINK_TEXT: Field = opt("runId", &["runid"]);
const LINK_PK: Field = opt(
    "benchmarkRunId",
    &["benchmarkrunid", "runpk", "benchmarkrunpk"],
);

const EVAL_FIELDS: [Field; 4] = [
    req("evaluatorName", &["evaluatorname", "evaluator"]),
    req("score", &["score"]),
    opt("maxScore", &["maxscore"]),
    opt("details", &["details"]),
];

const TELEMETRY_FIELDS: [Field; 7] = [
    opt("toolCalls", &["toolcalls"]),
    opt("tokensIn", &["tokensin", "inputtokens"]),
    opt("tokensOut", &["tokensout", "outputtokens"]),
    opt("costUsd", &["costusd", "cost"]),
    opt("durationMs", &["durationms"]),
    opt("workspaceDir", &["workspacedir"]),
    opt("promptSent", &["promptsent"]),
];

const BATCH_FIELDS: [Field; 4] = [
    req("batchId", &["batchid"]),
    opt("createdAt", &["createdat"]),
    opt("completedAt", &["completedat"]),
    opt("metadata", &["metadata"]),
];

/// The open source database and the tables it has.
pub struct Source {
    pool: SqlitePool,
    /// normalized table name → actual name.
    tables: HashMap<String, String>,
    names: Vec<String>,
}

/// A table's columns resolved to the fields the importer reads.
struct Resolved {
    table: String,
    /// Actual column name per field (None: the column is absent).
    columns: Vec<Option<String>>,
    /// The `id` column, when there is one (else the rowid is the key).
    pk: Option<String>,
}

impl Resolved {
    /// `SELECT rowid, key, extra…, col1, NULL, col3 … FROM table ORDER BY rowid`: cell 0 is the
    /// rowid (for paging), cell 1 the key other tables link to (`id`, else the rowid), then the
    /// extra columns and one cell per field in order (NULL for an absent column). `paged` adds
    /// `WHERE rowid > ? … LIMIT ?`.
    fn select(&self, extra: &[Option<String>], paged: bool) -> String {
        let mut cols = vec![
            "rowid".to_string(),
            self.pk
                .as_deref()
                .map(quote)
                .unwrap_or_else(|| "rowid".into()),
        ];
        for c in extra.iter().chain(self.columns.iter()) {
            cols.push(c.as_deref().map(quote).unwrap_or_else(|| "NULL".into()));
        }
        let (filter, limit) = if paged {
            (" WHERE rowid > ?", " LIMIT ?")
        } else {
            ("", "")
        };
        format!(
            "SELECT {} FROM {}{filter} ORDER BY rowid{limit}",
            cols.join(", "),
            quote(&self.table)
        )
    }
}

/// Counts of what the source holds, for the summary.
#[derive(Debug, Default, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    /// `camelCase`, `snake_case` or `mixed`.
    pub column_style: String,
    pub evaluations: u64,
    pub telemetry_rows: u64,
    pub has_telemetry_table: bool,
    pub has_batch_table: bool,
}

/// One run read from the source, or why its row was skipped.
pub type RunRow = Result<RunResult, String>;

impl Source {
    /// Opens `path` read-only and lists its tables; fails unless `benchmark_runs` exists.
    pub async fn open(path: &Path) -> Result<Source, SourceError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false)
            .foreign_keys(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(read_err("cannot open the database"))?;
        let rows = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&pool)
            .await
            .map_err(read_err("cannot read the database's table list"))?;
        let mut tables = HashMap::new();
        let mut names = Vec::new();
        for row in rows {
            let name: String = row.try_get(0).map_err(read_err("sqlite_master"))?;
            tables.insert(normalize(&name), name.clone());
            names.push(name);
        }
        let source = Source {
            pool,
            tables,
            names,
        };
        if !source.tables.contains_key("benchmarkruns") {
            let list = if source.names.is_empty() {
                "none".to_string()
            } else {
                source.names.join(", ")
            };
            return Err(SourceError::Format(format!(
                "a SQLite database, but not a ze-benchmarks one: it has no benchmark_runs table (tables: {list})"
            )));
        }
        Ok(source)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn columns(&self, table: &str) -> Result<Vec<String>, SourceError> {
        let sql = format!("PRAGMA table_info({})", quote(table));
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(read_err(table))?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("name").map_err(read_err(table)))
            .collect()
    }

    async fn resolve(
        &self,
        key: &str,
        fields: &[Field],
    ) -> Result<Option<(Resolved, Vec<String>)>, SourceError> {
        let Some(table) = self.tables.get(key).cloned() else {
            return Ok(None);
        };
        let actual = self.columns(&table).await?;
        let by_norm: HashMap<String, String> =
            actual.iter().map(|c| (normalize(c), c.clone())).collect();
        let find = |f: &Field| f.aliases.iter().find_map(|a| by_norm.get(*a).cloned());
        let mut columns = Vec::with_capacity(fields.len());
        for f in fields {
            let col = find(f);
            if col.is_none() && f.required {
                return Err(SourceError::Format(format!(
                    "table {table} has no {} column (columns: {})",
                    f.name,
                    actual.join(", ")
                )));
            }
            columns.push(col);
        }
        let pk = by_norm.get("id").cloned();
        Ok(Some((Resolved { table, columns, pk }, actual)))
    }

    /// Link columns of a child table: (text runId column, integer run key column).
    fn links(
        table: &str,
        actual: &[String],
    ) -> Result<(Option<String>, Option<String>), SourceError> {
        let by_norm: HashMap<String, String> =
            actual.iter().map(|c| (normalize(c), c.clone())).collect();
        let find = |f: &Field| f.aliases.iter().find_map(|a| by_norm.get(*a).cloned());
        let text = find(&LINK_TEXT);
        let pk = find(&LINK_PK);
        if text.is_none() && pk.is_none() {
            return Err(SourceError::Format(format!(
                "table {table} has no runId column (nor benchmark_run_id/run_pk) linking its rows to benchmark_runs (columns: {})",
                actual.join(", ")
            )));
        }
        Ok((text, pk))
    }

    async fn fetch_all(&self, table: &str, sql: String) -> Result<Vec<Vec<Cell>>, SourceError> {
        let mut out = Vec::new();
        let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&self.pool);
        while let Some(row) = rows.try_next().await.map_err(read_err(table))? {
            out.push(cells(&row).map_err(read_err(table))?);
        }
        Ok(out)
    }

    /// Reads every batch of `batch_runs` (none when the table is absent); bad rows are
    /// returned as reasons.
    pub async fn batches(&self) -> Result<(Vec<BatchUpsert>, Vec<String>), SourceError> {
        let Some((res, _)) = self.resolve("batchruns", &BATCH_FIELDS).await? else {
            return Ok((Vec::new(), Vec::new()));
        };
        let rows = self.fetch_all(&res.table, res.select(&[], false)).await?;
        let mut batches = Vec::new();
        let mut skipped = Vec::new();
        for row in rows {
            let at = format!("{} {}", res.table, row_key(&row[1]));
            match batch_from(&row[2..]) {
                Ok(b) => batches.push(b),
                Err(e) => skipped.push(format!("{at}: {e}")),
            }
        }
        Ok((batches, skipped))
    }

    /// Reads the evaluations and telemetry (held in memory, grouped by run), and returns a
    /// reader of the runs, page by page in table order, with those attached.
    pub async fn runs(&self, info: &mut SourceInfo) -> Result<RunReader<'_>, SourceError> {
        let (runs, run_cols) = self
            .resolve("benchmarkruns", &RUN_FIELDS)
            .await?
            .ok_or_else(|| SourceError::Format("no benchmark_runs table".into()))?;
        info.column_style = column_style(&run_cols);
        let mut notes = Vec::new();

        let mut evals = Children::default();
        match self.resolve("evaluationresults", &EVAL_FIELDS).await? {
            Some((res, actual)) => {
                let (text, pk) = Self::links(&res.table, &actual)?;
                let rows = self
                    .fetch_all(&res.table, res.select(&[text, pk], false))
                    .await?;
                info.evaluations = rows.len() as u64;
                for row in rows {
                    let at = format!("{} {}", res.table, row_key(&row[1]));
                    match evaluation_from(&row[4..]) {
                        Ok(e) => evals.add(&row[2], &row[3], at, e),
                        Err(e) => notes.push(format!("{at}: {e} (evaluation left out)")),
                    }
                }
            }
            None => {
                notes.push("no evaluation_results table: runs imported without evaluations".into())
            }
        }

        let mut telemetry = Children::default();
        if let Some((res, actual)) = self.resolve("runtelemetry", &TELEMETRY_FIELDS).await? {
            info.has_telemetry_table = true;
            let (text, pk) = Self::links(&res.table, &actual)?;
            let rows = self
                .fetch_all(&res.table, res.select(&[text, pk], false))
                .await?;
            info.telemetry_rows = rows.len() as u64;
            for row in rows {
                let at = format!("{} {}", res.table, row_key(&row[1]));
                match telemetry_from(&row[4..]) {
                    Ok(t) => telemetry.add(&row[2], &row[3], at, t),
                    Err(e) => notes.push(format!("{at}: {e} (telemetry left out)")),
                }
            }
        }
        info.has_batch_table = self.tables.contains_key("batchruns");
        Ok(RunReader {
            source: self,
            sql: runs.select(&[], true),
            table: runs.table,
            last: i64::MIN,
            buffer: VecDeque::new(),
            done: false,
            evals,
            telemetry,
            notes,
        })
    }
}

/// Rows of `benchmark_runs` read a page at a time.
pub struct RunReader<'a> {
    source: &'a Source,
    sql: String,
    table: String,
    last: i64,
    buffer: VecDeque<Vec<Cell>>,
    done: bool,
    evals: Children<EvaluationInput>,
    telemetry: Children<TelemetryInput>,
    notes: Vec<String>,
}

/// Rows of `benchmark_runs` read per query.
const PAGE: i64 = 500;

impl RunReader<'_> {
    /// The next run (or why its row is skipped) and where it came from, for messages.
    pub async fn next(&mut self) -> Result<Option<(RunRow, String)>, SourceError> {
        if self.buffer.is_empty() && !self.done {
            let rows = sqlx::query(AssertSqlSafe(self.sql.clone()))
                .bind(self.last)
                .bind(PAGE)
                .fetch_all(&self.source.pool)
                .await
                .map_err(read_err(&self.table))?;
            self.done = (rows.len() as i64) < PAGE;
            for row in rows {
                let row = cells(&row).map_err(read_err(&self.table))?;
                if let Cell::Int(rowid) = row[0] {
                    self.last = rowid;
                }
                self.buffer.push_back(row);
            }
        }
        let Some(row) = self.buffer.pop_front() else {
            return Ok(None);
        };
        let pk = row[1].i64().ok().flatten();
        let run_id = row[2].nonblank();
        let mut at = format!("{} {}", self.table, row_key(&row[1]));
        if let Some(id) = &run_id {
            at.push_str(&format!(" (runId {id})"));
        }
        let evaluations = self.evals.take(run_id.as_deref(), pk);
        let tel = self.telemetry.take(run_id.as_deref(), pk);
        if tel.len() > 1 {
            self.notes.push(format!(
                "{at}: {} run_telemetry rows; kept the first",
                tel.len()
            ));
        }
        let result = run_from(
            &row[2..],
            evaluations.into_iter().map(|(_, e)| e).collect(),
            tel.into_iter().next().map(|(_, t)| t),
        );
        Ok(Some((result, at)))
    }

    /// Notes about rows left out (evaluations or telemetry of no run, extra telemetry rows).
    pub fn finish(mut self) -> Vec<String> {
        for (what, orphans) in [
            ("evaluation_results", self.evals.orphans()),
            ("run_telemetry", self.telemetry.orphans()),
        ] {
            if !orphans.is_empty() {
                let shown: Vec<_> = orphans.iter().take(5).cloned().collect();
                self.notes.push(format!(
                    "{} {what} rows belong to no run in benchmark_runs and were left out: {}{}",
                    orphans.len(),
                    shown.join(", "),
                    if orphans.len() > 5 { ", …" } else { "" }
                ));
            }
        }
        self.notes
    }
}

/// Child rows (evaluations, telemetry) waiting for their run, by either kind of link.
/// Each keeps its source order so a run's evaluations stay in creation order.
struct Children<T> {
    by_text: HashMap<String, Vec<(usize, String, T)>>,
    by_pk: HashMap<i64, Vec<(usize, String, T)>>,
    next: usize,
}

impl<T> Default for Children<T> {
    fn default() -> Self {
        Children {
            by_text: HashMap::new(),
            by_pk: HashMap::new(),
            next: 0,
        }
    }
}

impl<T> Children<T> {
    fn add(&mut self, text: &Cell, pk: &Cell, at: String, item: T) {
        self.next += 1;
        let entry = (self.next, at, item);
        if let Some(id) = text.nonblank() {
            self.by_text.entry(id).or_default().push(entry);
        } else if let Ok(Some(n)) = pk.i64() {
            self.by_pk.entry(n).or_default().push(entry);
        } else {
            // Linked to nothing: reported as an orphan.
            self.by_text.entry(String::new()).or_default().push(entry);
        }
    }

    fn take(&mut self, run_id: Option<&str>, pk: Option<i64>) -> Vec<(usize, T)> {
        let mut out: Vec<(usize, T)> = Vec::new();
        if let Some(id) = run_id {
            if let Some(v) = self.by_text.remove(id) {
                out.extend(v.into_iter().map(|(o, _, t)| (o, t)));
            }
        }
        if let Some(n) = pk {
            if let Some(v) = self.by_pk.remove(&n) {
                out.extend(v.into_iter().map(|(o, _, t)| (o, t)));
            }
        }
        out.sort_by_key(|(order, _)| *order);
        out
    }

    fn orphans(&self) -> Vec<String> {
        let mut all: Vec<(usize, String)> = self
            .by_text
            .values()
            .chain(self.by_pk.values())
            .flat_map(|v| v.iter().map(|(o, at, _)| (*o, at.clone())))
            .collect();
        all.sort();
        all.into_iter().map(|(_, at)| at).collect()
    }
}

fn row_key(pk: &Cell) -> String {
    match pk.text() {
        Some(k) => format!("row {k}"),
        None => "row ?".into(),
    }
}

fn column_style(cols: &[String]) -> String {
    let camel = cols
        .iter()
        .any(|c| c.chars().any(|ch| ch.is_ascii_uppercase()));
    let snake = cols.iter().any(|c| c.contains('_'));
    match (camel, snake) {
        (true, true) => "mixed",
        (false, true) => "snake_case",
        _ => "camelCase",
    }
    .into()
}

/// Every cell of a row by its storage class.
fn cells(row: &SqliteRow) -> Result<Vec<Cell>, sqlx::Error> {
    let n = row.len();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let raw = row.try_get_raw(i)?;
        if raw.is_null() {
            out.push(Cell::Null);
            continue;
        }
        let kind = raw.type_info().name().to_string();
        let cell = match kind.as_str() {
            "INTEGER" | "BOOLEAN" => Cell::Int(row.try_get_unchecked::<i64, _>(i)?),
            "REAL" | "NUMERIC" => Cell::Real(row.try_get_unchecked::<f64, _>(i)?),
            "BLOB" => Cell::Blob(row.try_get_unchecked::<Vec<u8>, _>(i)?),
            _ => Cell::Text(row.try_get_unchecked::<String, _>(i)?),
        };
        out.push(cell);
    }
    Ok(out)
}

fn field<T>(name: &str, r: Result<T, String>) -> Result<T, String> {
    r.map_err(|e| format!("{name}: {e}"))
}

fn required_text(name: &str, c: &Cell) -> Result<String, String> {
    c.nonblank().ok_or_else(|| format!("{name}: missing"))
}

/// The seed stored metadata as JSON text; anything that is not a JSON object is kept
/// under `raw`.
pub fn metadata_from_text(s: &str) -> Map<String, Value> {
    match serde_json::from_str::<Value>(s) {
        Ok(Value::Object(map)) => map,
        _ => {
            let mut m = Map::new();
            m.insert("raw".into(), Value::String(s.to_string()));
            m
        }
    }
}

/// Maps a status the seed wrote onto zebench's four; anything else becomes `incomplete`.
/// Returns the status and the original text when it was not already one of the four.
pub fn map_status(raw: &str) -> (RunStatus, Option<String>) {
    if let Ok(st) = raw.parse::<RunStatus>() {
        return (st, None);
    }
    let st = raw
        .trim()
        .to_ascii_lowercase()
        .parse::<RunStatus>()
        .unwrap_or(RunStatus::Incomplete);
    (st, Some(raw.to_string()))
}

/// Cells in [`RUN_FIELDS`] order.
fn run_from(
    c: &[Cell],
    evaluations: Vec<EvaluationInput>,
    telemetry: Option<TelemetryInput>,
) -> Result<RunResult, String> {
    let run_id = required_text("runId", &c[0])?;
    let raw_status = required_text("status", &c[7])?;
    let (status, imported_status) = map_status(&raw_status);
    let mut metadata = c[14].text().map(|s| metadata_from_text(&s));
    if let Some(orig) = imported_status {
        metadata
            .get_or_insert_with(Map::new)
            .insert("importedStatus".into(), Value::String(orig));
    }
    Ok(RunResult {
        run_id,
        batch_id: c[1].nonblank(),
        suite: required_text("suite", &c[2])?,
        scenario: required_text("scenario", &c[3])?,
        tier: required_text("tier", &c[4])?,
        agent: required_text("agent", &c[5])?,
        model: c[6].nonblank(),
        status,
        started_at: field("startedAt", c[8].time())?,
        completed_at: field("completedAt", c[9].time())?,
        total_score: field("totalScore", c[10].f64())?,
        weighted_score: field("weightedScore", c[11].f64())?,
        success_metric: field("successMetric", c[12].f64())?,
        is_successful: field("isSuccessful", c[13].bool())?.unwrap_or(false),
        specialist_enabled: field("specialistEnabled", c[15].bool())?,
        specialist_name: c[16].text(),
        specialist_version: c[17].text(),
        metadata,
        evaluations,
        telemetry: telemetry.filter(|t| !t.is_empty() || t.prompt_sent.is_some()),
        artifacts: Default::default(),
    })
}

/// Cells in [`EVAL_FIELDS`] order.
fn evaluation_from(c: &[Cell]) -> Result<EvaluationInput, String> {
    Ok(EvaluationInput {
        evaluator_name: required_text("evaluatorName", &c[0])?,
        score: field("score", c[1].f64())?.ok_or("score: missing")?,
        max_score: field("maxScore", c[2].f64())?.unwrap_or(1.0),
        details: c[3].text(),
    })
}

/// Cells in [`TELEMETRY_FIELDS`] order. A row with nothing but the prompt is kept for the
/// prompt; a row with nothing at all is dropped (zebench stores no empty telemetry).
fn telemetry_from(c: &[Cell]) -> Result<TelemetryInput, String> {
    Ok(TelemetryInput {
        tool_calls: field("toolCalls", c[0].i64())?,
        tokens_in: field("tokensIn", c[1].i64())?,
        tokens_out: field("tokensOut", c[2].i64())?,
        cost_usd: field("costUsd", c[3].f64())?,
        duration_ms: field("durationMs", c[4].i64())?,
        workspace_dir: c[5].text(),
        prompt_sent: c[6].text(),
    })
}

/// Cells in [`BATCH_FIELDS`] order. Counts and averages are left out: zebench computes them.
fn batch_from(c: &[Cell]) -> Result<BatchUpsert, String> {
    Ok(BatchUpsert {
        batch_id: required_text("batchId", &c[0])?,
        created_at: field("createdAt", c[1].time())?,
        completed_at: field("completedAt", c[2].time())?,
        total_runs: None,
        successful_runs: None,
        avg_score: None,
        avg_weighted_score: None,
        metadata: c[3].text().map(|s| metadata_from_text(&s)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_across_spellings() {
        assert_eq!(normalize("runId"), "runid");
        assert_eq!(normalize("run_id"), "runid");
        assert_eq!(normalize("RUN_ID"), "runid");
        assert_eq!(normalize("benchmark_run_id"), "benchmarkrunid");
    }

    #[test]
    fn unknown_status_becomes_incomplete_and_is_kept() {
        assert_eq!(map_status("completed"), (RunStatus::Completed, None));
        assert_eq!(
            map_status("Failed"),
            (RunStatus::Failed, Some("Failed".into()))
        );
        assert_eq!(
            map_status("timeout"),
            (RunStatus::Incomplete, Some("timeout".into()))
        );
    }

    #[test]
    fn metadata_that_is_not_an_object_is_wrapped() {
        assert_eq!(metadata_from_text(r#"{"a":1}"#)["a"], 1);
        assert_eq!(metadata_from_text("[1]")["raw"], "[1]");
        assert_eq!(metadata_from_text("oops")["raw"], "oops");
    }
}
