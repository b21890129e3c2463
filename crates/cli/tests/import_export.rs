//! `zebench import` and `zebench export` through the real binary: ze-benchmarks SQLite
//! databases in the camelCase and the older snake_case variants, JSON Lines round trips,
//! idempotency, conflicts, CSV formula guards, and refusal of files that are neither.

mod support;

use serde_json::{json, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::AssertSqlSafe;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{Out, Sandbox};

const T: Duration = Duration::from_secs(60);

/// Creates a SQLite file at `path` and runs `sql` (several statements) in it.
fn sqlite(path: &Path, sql: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .unwrap();
        sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
}

/// The seed's D1 schema as drawn in the architecture document: camelCase everywhere,
/// epoch-millisecond timestamps, 0/1 booleans, every table present.
const CAMEL: &str = r#"
CREATE TABLE batch_runs (
  batchId TEXT PRIMARY KEY NOT NULL, createdAt INTEGER NOT NULL, completedAt INTEGER,
  totalRuns INTEGER DEFAULT 0, successfulRuns INTEGER DEFAULT 0, avgScore REAL,
  avgWeightedScore REAL, metadata TEXT);
CREATE TABLE benchmark_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, runId TEXT NOT NULL UNIQUE, batchId TEXT,
  suite TEXT, scenario TEXT, tier TEXT, agent TEXT, model TEXT, status TEXT,
  startedAt INTEGER, completedAt INTEGER, totalScore REAL, weightedScore REAL,
  isSuccessful INTEGER, successMetric REAL, metadata TEXT);
CREATE TABLE evaluation_results (
  id INTEGER PRIMARY KEY AUTOINCREMENT, runId TEXT NOT NULL, evaluatorName TEXT,
  score REAL, maxScore REAL, details TEXT, createdAt INTEGER);
CREATE TABLE run_telemetry (
  id INTEGER PRIMARY KEY AUTOINCREMENT, runId TEXT NOT NULL, toolCalls INTEGER,
  tokensIn INTEGER, tokensOut INTEGER, costUsd REAL, durationMs INTEGER, workspaceDir TEXT);

INSERT INTO batch_runs VALUES ('batch-1', 1773223100000, 1773223900000, 99, 99, 9.9, 9.9,
  '{"trigger":"nightly"}');

INSERT INTO benchmark_runs (runId, batchId, suite, scenario, tier, agent, model, status,
  startedAt, completedAt, totalScore, weightedScore, isSuccessful, successMetric, metadata)
VALUES
 ('a1', 'batch-1', 'update-deps', 'nx-pnpm-monorepo', 'L1', 'anthropic', 'claude-sonnet-4-5',
  'completed', 1773223200123, 1773223452468, 0.7333333333333333, 7.333333333333333, 1, 0.75,
  '{"packageManager":"pnpm","diffSummary":[{"file":"apps/app/package.json","changeType":"modified"}]}'),
 ('a2', 'batch-1', 'update-deps', 'nx-pnpm-monorepo', 'L0', 'openrouter', 'gpt-x',
  'failed', 1773223300000, 1773223301000, NULL, NULL, 0, NULL,
  '{"error":"boom","errorType":"agent"}'),
 ('a3', NULL, 'update-deps', 'cra-upgrade', 'L2', 'echo', NULL,
  'timeout', 1773223400000, NULL, 0.1, 1.0, 0, NULL, 'not json'),
 ('a4', 'batch-1', 'update-deps', 'nx-pnpm-monorepo', 'L1', '=cmd', 'm',
  'completed', 1773223500000, 1773223560000, 1, 10, 1, 1, NULL),
 ('bad-1', 'batch-1', 'update-deps', 'nx-pnpm-monorepo', 'L1', 'anthropic', NULL,
  'completed', 1773223600000, NULL, 'abc', NULL, 1, NULL, NULL);

INSERT INTO evaluation_results (runId, evaluatorName, score, maxScore, details, createdAt) VALUES
 ('a1', 'HeuristicChecksEvaluator', 0.8, 1, 'Passed: 6/8 checks', 1773223452000),
 ('a1', 'LLMJudgeEvaluator', 0.6666666666666666, 1, '{"scores":[{"category":"x","score":3}]}', 1773223452001),
 ('a3', 'HeuristicChecksEvaluator', 0.1, 1, NULL, 1773223452002),
 ('a4', 'HeuristicChecksEvaluator', 5, 5, '=HYPERLINK("x")', 1773223452003);

INSERT INTO run_telemetry (runId, toolCalls, tokensIn, tokensOut, costUsd, durationMs, workspaceDir)
VALUES ('a1', 12, 45210, 3120, 0.182, 241000, '/tmp/zebench/ws-Ab12Cd'),
       ('a2', NULL, NULL, NULL, NULL, 1000, NULL);
"#;

/// An older local database: snake_case columns (with the seed's stray camelCase `batchId`),
/// timestamps as SQLite CURRENT_TIMESTAMP text, ISO text and epoch seconds, booleans as text,
/// evaluations linked by the integer id of their run, no run_telemetry and no batch_runs.
const SNAKE: &str = r#"
CREATE TABLE benchmark_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL UNIQUE, batchId TEXT,
  suite TEXT NOT NULL, scenario TEXT NOT NULL, tier TEXT NOT NULL, agent TEXT NOT NULL,
  model TEXT, status TEXT NOT NULL, started_at TEXT DEFAULT CURRENT_TIMESTAMP,
  completed_at TEXT, total_score REAL, weighted_score REAL, is_successful BOOLEAN DEFAULT 0,
  success_metric REAL, metadata TEXT);
CREATE TABLE evaluation_results (
  id INTEGER PRIMARY KEY AUTOINCREMENT, benchmark_run_id INTEGER NOT NULL,
  evaluator_name TEXT NOT NULL, score REAL NOT NULL, max_score REAL NOT NULL, details TEXT,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP);

INSERT INTO benchmark_runs (id, run_id, batchId, suite, scenario, tier, agent, model, status,
  started_at, completed_at, total_score, weighted_score, is_successful, success_metric, metadata)
VALUES
 (10, 's1', 'old-batch', 'update-deps', 'nx-pnpm-monorepo', 'L1', 'claude-code', NULL,
  'completed', '2026-03-11 10:00:00', '2026-03-11 10:04:12', 0.5, 5.0, 'true', 0.5, '{"a":1}'),
 (11, 's2', NULL, 'update-deps', 'nx-pnpm-monorepo', 'L0', 'echo', NULL,
  'running', 1773223260, NULL, NULL, NULL, 'false', NULL, NULL),
 (12, 's3', 'old-batch', 'update-deps', 'nx-pnpm-monorepo', 'L2', 'anthropic', 'claude-opus',
  'failed', '2026-03-11T10:02:00.500Z', 1773223330.25, 0, 0, 0, NULL, '[1,2]');

INSERT INTO evaluation_results (benchmark_run_id, evaluator_name, score, max_score, details, created_at)
VALUES (10, 'HeuristicChecksEvaluator', 0.25, 1, 'Passed: 2/8 checks', '2026-03-11 10:04:12'),
       (12, 'LLMJudgeEvaluator', 0, 5, NULL, '2026-03-11 10:04:13'),
       (10, 'LLMJudgeEvaluator', 3.75, 5, 'ok', '2026-03-11 10:04:14'),
       (999, 'Orphan', 1, 1, NULL, NULL);
"#;

fn camel_db(sb: &Sandbox) -> PathBuf {
    let p = sb.path().join("ze-camel.sqlite");
    sqlite(&p, CAMEL);
    p
}

fn snake_db(sb: &Sandbox) -> PathBuf {
    let p = sb.path().join("ze-snake.db");
    sqlite(&p, SNAKE);
    p
}

fn import(sb: &Sandbox, file: &Path, extra: &[&str]) -> Out {
    let mut args = vec!["import", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    sb.run(&args, T)
}

fn import_ok(sb: &Sandbox, file: &Path, extra: &[&str]) -> Out {
    let out = import(sb, file, extra);
    assert_eq!(out.code(), Some(0), "{out}");
    out
}

/// `zebench import --json` summary.
fn import_json(sb: &Sandbox, file: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let out = import_ok(sb, file, &args);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn export(sb: &Sandbox, args: &[&str]) -> String {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let out = sb.run(&all, T);
    assert_eq!(out.code(), Some(0), "{out}");
    out.stdout
}

/// Export lines by runId.
fn exported(sb: &Sandbox, args: &[&str]) -> std::collections::BTreeMap<String, Value> {
    let mut all = vec!["--format", "jsonl"];
    all.extend_from_slice(args);
    export(sb, &all)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            (v["run"]["runId"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

/// The run object with its database id removed and metadata parsed.
fn run_fields(line: &Value) -> Value {
    let mut run = line["run"].clone();
    let obj = run.as_object_mut().unwrap();
    assert!(obj.remove("id").unwrap().is_i64());
    let meta = obj.remove("metadata").unwrap();
    let meta = match meta {
        Value::String(s) => serde_json::from_str(&s).unwrap(),
        other => other,
    };
    obj.insert("metadata".into(), meta);
    run
}

/// Evaluations without their database ids and creation times.
fn evaluations(line: &Value) -> Value {
    Value::Array(
        line["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let mut e = e.clone();
                let o = e.as_object_mut().unwrap();
                assert!(o.remove("id").unwrap().is_i64());
                assert!(o.remove("createdAt").unwrap().is_string());
                e
            })
            .collect(),
    )
}

fn telemetry(line: &Value) -> Value {
    let mut t = line["telemetry"].clone();
    if let Some(o) = t.as_object_mut() {
        assert!(o.remove("id").unwrap().is_i64());
    }
    t
}

fn run(id: &str, fields: Value) -> Value {
    let mut base = json!({
        "runId": id, "batchId": null, "model": null, "completedAt": null, "totalScore": null,
        "weightedScore": null, "successMetric": null, "isSuccessful": false, "metadata": null,
        "specialistEnabled": null, "specialistName": null, "specialistVersion": null,
    });
    for (k, v) in fields.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn file_bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn camel_case_database_round_trips_exactly_and_reimport_stores_nothing() {
    let sb = Sandbox::new();
    let src = camel_db(&sb);
    let before = file_bytes(&src);

    let summary = import_json(&sb, &src, &[]);
    assert_eq!(summary["kind"], "ze-benchmarks", "{summary}");
    assert_eq!(summary["runsRead"], 5, "{summary}");
    assert_eq!(summary["stored"], 4, "{summary}");
    assert_eq!(summary["alreadyPresent"], 0);
    assert_eq!(summary["conflicts"], 0);
    assert_eq!(summary["batches"], 1);
    assert_eq!(summary["skipped"], 1);
    let reason = summary["skippedReasons"][0].as_str().unwrap();
    assert!(
        reason.contains("bad-1") && reason.contains("totalScore") && reason.contains("abc"),
        "{reason}"
    );
    assert_eq!(summary["source"]["columnStyle"], "camelCase");
    assert_eq!(
        file_bytes(&src),
        before,
        "the source database must not be modified"
    );

    let lines = exported(&sb, &[]);
    assert_eq!(
        lines.keys().collect::<Vec<_>>(),
        ["a1", "a2", "a3", "a4"],
        "{lines:?}"
    );

    let a1 = &lines["a1"];
    assert_eq!(
        run_fields(a1),
        run(
            "a1",
            json!({
                "batchId": "batch-1", "suite": "update-deps", "scenario": "nx-pnpm-monorepo",
                "tier": "L1", "agent": "anthropic", "model": "claude-sonnet-4-5",
                "status": "completed", "startedAt": "2026-03-11T10:00:00.123Z",
                "completedAt": "2026-03-11T10:04:12.468Z", "totalScore": 0.7333333333333333,
                "weightedScore": 7.333333333333333, "successMetric": 0.75, "isSuccessful": true,
                "metadata": {"packageManager": "pnpm",
                    "diffSummary": [{"file": "apps/app/package.json", "changeType": "modified"}]},
            })
        )
    );
    assert_eq!(
        evaluations(a1),
        json!([
            {"runId": "a1", "evaluatorName": "HeuristicChecksEvaluator", "score": 0.8,
             "maxScore": 1.0, "details": "Passed: 6/8 checks"},
            {"runId": "a1", "evaluatorName": "LLMJudgeEvaluator", "score": 0.6666666666666666,
             "maxScore": 1.0, "details": "{\"scores\":[{\"category\":\"x\",\"score\":3}]}"},
        ])
    );
    assert_eq!(
        telemetry(a1),
        json!({"runId": "a1", "toolCalls": 12, "tokensIn": 45210, "tokensOut": 3120,
               "costUsd": 0.182, "durationMs": 241000, "workspaceDir": "/tmp/zebench/ws-Ab12Cd"})
    );

    let a2 = &lines["a2"];
    assert_eq!(
        run_fields(a2),
        run(
            "a2",
            json!({
                "batchId": "batch-1", "suite": "update-deps", "scenario": "nx-pnpm-monorepo",
                "tier": "L0", "agent": "openrouter", "model": "gpt-x", "status": "failed",
                "startedAt": "2026-03-11T10:01:40.000Z", "completedAt": "2026-03-11T10:01:41.000Z",
                "metadata": {"error": "boom", "errorType": "agent"},
            })
        )
    );
    assert_eq!(evaluations(a2), json!([]));
    assert_eq!(
        telemetry(a2),
        json!({"runId": "a2", "toolCalls": null, "tokensIn": null, "tokensOut": null,
               "costUsd": null, "durationMs": 1000, "workspaceDir": null})
    );

    // An unknown status becomes incomplete and is kept in metadata; text metadata that is not
    // a JSON object is kept under "raw".
    let a3 = &lines["a3"];
    assert_eq!(
        run_fields(a3),
        run(
            "a3",
            json!({
                "suite": "update-deps", "scenario": "cra-upgrade", "tier": "L2", "agent": "echo",
                "status": "incomplete", "startedAt": "2026-03-11T10:03:20.000Z",
                "totalScore": 0.1, "weightedScore": 1.0,
                "metadata": {"raw": "not json", "importedStatus": "timeout"},
            })
        )
    );
    assert_eq!(
        evaluations(a3),
        json!([{"runId": "a3", "evaluatorName": "HeuristicChecksEvaluator", "score": 0.1,
                "maxScore": 1.0, "details": null}])
    );
    assert_eq!(a3["telemetry"], Value::Null);
    assert_eq!(lines["a4"]["run"]["agent"], "=cmd");

    // The batch keeps its createdAt, completedAt and metadata; its counts are zebench's own.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let batch = rt.block_on(async {
        let store = zebench_store::Store::connect(zebench_store::StoreOptions::new(sb.db_url()))
            .await
            .unwrap();
        let b = store.batch("batch-1").await.unwrap().unwrap();
        store.close().await;
        b
    });
    assert_eq!(batch.created_at.to_iso(), "2026-03-11T09:58:20.000Z");
    assert_eq!(
        batch.completed_at.map(|t| t.to_iso()).as_deref(),
        Some("2026-03-11T10:11:40.000Z")
    );
    assert_eq!(batch.metadata.as_deref(), Some(r#"{"trigger":"nightly"}"#));
    assert_eq!(batch.total_runs, 3);
    assert_eq!(batch.successful_runs, 2);

    // Importing the same file again stores nothing new.
    let again = import_ok(&sb, &src, &[]);
    assert!(
        again
            .stdout
            .contains("stored 0 new runs, 4 already present"),
        "{again}"
    );
    assert_eq!(exported(&sb, &[]), lines);
    assert_eq!(file_bytes(&src), before);
}

#[test]
fn older_snake_case_database_with_integer_links_and_no_telemetry_table() {
    let sb = Sandbox::new();
    let src = snake_db(&sb);
    let out = import_ok(&sb, &src, &[]);
    assert!(
        out.stdout.contains("snake_case") || out.stdout.contains("mixed"),
        "{out}"
    );
    assert!(out.stdout.contains("no run_telemetry table"), "{out}");
    assert!(
        out.stdout.contains("stored 3 new runs, 0 already present"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("1 evaluation_results rows belong to no run"),
        "the orphan evaluation is reported: {out}"
    );

    let lines = exported(&sb, &[]);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        run_fields(&lines["s1"]),
        run(
            "s1",
            json!({
                "batchId": "old-batch", "suite": "update-deps", "scenario": "nx-pnpm-monorepo",
                "tier": "L1", "agent": "claude-code", "status": "completed",
                "startedAt": "2026-03-11T10:00:00.000Z", "completedAt": "2026-03-11T10:04:12.000Z",
                "totalScore": 0.5, "weightedScore": 5.0, "successMetric": 0.5,
                "isSuccessful": true, "metadata": {"a": 1},
            })
        )
    );
    // Evaluations found by the integer id of their run, in their original order.
    assert_eq!(
        evaluations(&lines["s1"]),
        json!([
            {"runId": "s1", "evaluatorName": "HeuristicChecksEvaluator", "score": 0.25,
             "maxScore": 1.0, "details": "Passed: 2/8 checks"},
            {"runId": "s1", "evaluatorName": "LLMJudgeEvaluator", "score": 3.75,
             "maxScore": 5.0, "details": "ok"},
        ])
    );
    assert_eq!(lines["s1"]["telemetry"], Value::Null);

    // Epoch seconds.
    assert_eq!(
        run_fields(&lines["s2"]),
        run(
            "s2",
            json!({
                "suite": "update-deps", "scenario": "nx-pnpm-monorepo", "tier": "L0",
                "agent": "echo", "status": "running", "startedAt": "2026-03-11T10:01:00.000Z",
            })
        )
    );
    assert_eq!(evaluations(&lines["s2"]), json!([]));

    // ISO text, real epoch seconds, a JSON array as metadata.
    assert_eq!(
        run_fields(&lines["s3"]),
        run(
            "s3",
            json!({
                "batchId": "old-batch", "suite": "update-deps", "scenario": "nx-pnpm-monorepo",
                "tier": "L2", "agent": "anthropic", "model": "claude-opus", "status": "failed",
                "startedAt": "2026-03-11T10:02:00.500Z", "completedAt": "2026-03-11T10:02:10.250Z",
                "totalScore": 0.0, "weightedScore": 0.0, "metadata": {"raw": "[1,2]"},
            })
        )
    );
    assert_eq!(
        evaluations(&lines["s3"]),
        json!([{"runId": "s3", "evaluatorName": "LLMJudgeEvaluator", "score": 0.0,
                "maxScore": 5.0, "details": null}])
    );

    let again = import_ok(&sb, &src, &[]);
    assert!(
        again
            .stdout
            .contains("stored 0 new runs, 3 already present"),
        "{again}"
    );
}

/// Sorted export lines with the values a database assigns itself (row ids, evaluation
/// creation times) replaced, so exports of two databases can be compared byte for byte.
fn comparable(jsonl: &str) -> Vec<String> {
    let mut lines: Vec<String> = jsonl
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v["run"]["id"] = json!(0);
            if let Some(evals) = v["evaluations"].as_array_mut() {
                for e in evals {
                    e["id"] = json!(0);
                    e["createdAt"] = json!("");
                }
            }
            if v["telemetry"].is_object() {
                v["telemetry"]["id"] = json!(0);
            }
            serde_json::to_string(&v).unwrap()
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn jsonl_export_imported_into_an_empty_database_exports_identically() {
    let sb = Sandbox::new();
    import_ok(&sb, &camel_db(&sb), &[]);
    import_ok(&sb, &snake_db(&sb), &[]);
    let file = sb.path().join("runs.jsonl");
    let out = sb.run(
        &[
            "export",
            "--output",
            file.to_str().unwrap(),
            "--format",
            "jsonl",
        ],
        T,
    );
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stderr.contains("exported 7 runs"), "{out}");
    let first = std::fs::read_to_string(&file).unwrap();
    assert_eq!(first.lines().count(), 7);

    let second_db = format!("sqlite://{}", sb.path().join("second.sqlite").display());
    let summary = import_json(&sb, &file, &["--database-url", &second_db]);
    assert_eq!(summary["kind"], "jsonl");
    assert_eq!(summary["runsRead"], 7);
    assert_eq!(summary["stored"], 7, "{summary}");
    let second = export(&sb, &["--database-url", &second_db]);
    assert_eq!(comparable(&second), comparable(&first));

    // The export read back into the database it came from: everything already present.
    let back = import_json(&sb, &file, &[]);
    assert_eq!(back["stored"], 0, "{back}");
    assert_eq!(back["alreadyPresent"], 7, "{back}");
    assert_eq!(back["conflicts"], 0, "{back}");
}

#[test]
fn csv_export_has_the_header_and_guards_formulas() {
    let sb = Sandbox::new();
    import_ok(&sb, &camel_db(&sb), &[]);
    let csv = export(&sb, &["--format", "csv"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "runId,batchId,suite,scenario,tier,agent,model,status,startedAt,completedAt,totalScore,\
         weightedScore,successMetric,isSuccessful,toolCalls,tokensIn,tokensOut,costUsd,durationMs,\
         workspaceDir,evaluations,metadata,submittedBy"
    );
    assert_eq!(csv.matches("\na").count(), 4, "{csv}");
    assert!(csv.contains(",'=cmd,"), "{csv}");
    assert!(!csv.contains(",=cmd,"), "{csv}");
    assert!(csv.contains("a1,batch-1,update-deps,nx-pnpm-monorepo,L1,anthropic,claude-sonnet-4-5,completed,2026-03-11T10:00:00.123Z,2026-03-11T10:04:12.468Z,0.7333333333333333,7.333333333333333,0.75,true,12,45210,3120,0.182,241000,/tmp/zebench/ws-Ab12Cd,"), "{csv}");
}

#[test]
fn export_filters_match_the_api() {
    let sb = Sandbox::new();
    import_ok(&sb, &camel_db(&sb), &[]);
    let keys = |args: &[&str]| exported(&sb, args).into_keys().collect::<Vec<_>>();
    assert_eq!(keys(&["--agent", "anthropic"]), ["a1"]);
    assert_eq!(keys(&["--status", "incomplete"]), ["a3"]);
    assert_eq!(
        keys(&["--batch-id", "batch-1", "--tier", "L1"]),
        ["a1", "a4"]
    );
    assert_eq!(
        keys(&[
            "--since",
            "2026-03-11T10:01:00Z",
            "--until",
            "2026-03-11T10:05:00Z"
        ]),
        ["a2", "a3"]
    );
    assert_eq!(keys(&["--until", "2026-03-11"]).len(), 4);
    assert_eq!(keys(&["--since", "2026-03-12"]).len(), 0);
    assert_eq!(export(&sb, &["--max", "2"]).lines().count(), 2);

    let bad = sb.run(&["export", "--status", "done"], T);
    assert_eq!(bad.code(), Some(2), "{bad}");
    assert!(bad.stderr.contains("--status"), "{bad}");
    let bad = sb.run(&["export", "--since", "last week"], T);
    assert_eq!(bad.code(), Some(2), "{bad}");
    let missing = format!("sqlite://{}", sb.path().join("nope.sqlite").display());
    let none = sb.run(&["export", "--database-url", &missing], T);
    assert_eq!(none.code(), Some(3), "{none}");
    assert!(!sb.path().join("nope.sqlite").exists());
}

#[test]
fn files_that_are_neither_are_refused_with_exit_2() {
    let sb = Sandbox::new();
    let garbage = sb.path().join("garbage.bin");
    std::fs::write(&garbage, [0x89u8, b'P', b'N', b'G', 0, 1, 2, 3, 255, 254]).unwrap();
    let out = import(&sb, &garbage, &[]);
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(
        out.stderr
            .contains("neither a ze-benchmarks SQLite database nor a JSON Lines export"),
        "{out}"
    );

    let text = sb.path().join("notes.txt");
    std::fs::write(&text, "hello world\n").unwrap();
    assert_eq!(import(&sb, &text, &[]).code(), Some(2));

    let missing = import(&sb, &sb.path().join("absent.db"), &[]);
    assert_eq!(missing.code(), Some(2), "{missing}");
    assert!(missing.stderr.contains("cannot read"), "{missing}");

    let other = sb.path().join("other.sqlite");
    sqlite(&other, "CREATE TABLE things (x INTEGER);");
    let out = import(&sb, &other, &[]);
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(
        out.stderr.contains("no benchmark_runs table") && out.stderr.contains("things"),
        "{out}"
    );

    let no_tier = sb.path().join("no-tier.sqlite");
    sqlite(
        &no_tier,
        "CREATE TABLE benchmark_runs (id INTEGER PRIMARY KEY, runId TEXT, suite TEXT, \
         scenario TEXT, agent TEXT, status TEXT);",
    );
    let out = import(&sb, &no_tier, &[]);
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(
        out.stderr
            .contains("table benchmark_runs has no tier column"),
        "{out}"
    );

    let no_link = sb.path().join("no-link.sqlite");
    sqlite(
        &no_link,
        "CREATE TABLE benchmark_runs (id INTEGER PRIMARY KEY, runId TEXT, suite TEXT, \
         scenario TEXT, tier TEXT, agent TEXT, status TEXT);
         CREATE TABLE evaluation_results (id INTEGER PRIMARY KEY, evaluatorName TEXT, score REAL);",
    );
    let out = import(&sb, &no_link, &[]);
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(
        out.stderr
            .contains("evaluation_results has no runId column"),
        "{out}"
    );
    // None of these even created the target database.
    assert!(!sb.db().exists());
}

#[test]
fn invalid_jsonl_lines_are_skipped_with_their_line_numbers() {
    let sb = Sandbox::new();
    let file = sb.path().join("mixed.jsonl");
    let good = |id: &str| {
        json!({"runId": id, "suite": "s", "scenario": "c", "tier": "L1", "agent": "a",
               "status": "completed", "startedAt": "2026-03-11T10:00:00.000Z",
               "totalScore": 0.5, "metadata": {"k": "v"},
               "evaluations": [{"evaluatorName": "E", "score": 0.5, "maxScore": 1}],
               "telemetry": {"toolCalls": 1, "promptSent": "do it"}})
        .to_string()
    };
    let content = [
        good("j1"),
        "{not json".to_string(),
        String::new(),
        json!({"runId": "j3", "suite": "s"}).to_string(),
        good("j2"),
        json!({"runId": "j4", "suite": "s", "scenario": "c", "tier": "L1", "agent": "a",
               "status": "completed", "evaluations": [{"evaluatorName": "E", "score": "high"}]})
        .to_string(),
    ]
    .join("\n");
    std::fs::write(&file, content).unwrap();
    let out = import_ok(&sb, &file, &[]);
    assert!(out.stdout.contains("read 5 runs, 2 valid"), "{out}");
    assert!(out.stdout.contains("stored 2 new runs"), "{out}");
    assert!(out.stdout.contains("skipped 3 invalid records"), "{out}");
    assert!(out.stdout.contains("line 2: invalid JSON"), "{out}");
    assert!(
        out.stdout
            .contains("line 4: Missing required fields: scenario, tier, agent, status"),
        "{out}"
    );
    assert!(out.stdout.contains("line 6: evaluations[0].score"), "{out}");
    let lines = exported(&sb, &[]);
    assert_eq!(lines.keys().collect::<Vec<_>>(), ["j1", "j2"]);
    assert_eq!(lines["j1"]["run"]["metadata"], r#"{"k":"v"}"#);

    // --strict turns skipped records into exit 1; the valid ones are already present.
    let strict = import(&sb, &file, &["--strict"]);
    assert_eq!(strict.code(), Some(1), "{strict}");
    assert!(
        strict.stdout.contains("0 new runs, 2 already present"),
        "{strict}"
    );

    // j1's prompt is stored as an artifact, which an export does not carry: its export read
    // back into the same database is still recognised as already present, not a conflict.
    let back = sb.path().join("back.jsonl");
    let out = sb.run(&["export", "-o", back.to_str().unwrap()], T);
    assert_eq!(out.code(), Some(0), "{out}");
    let summary = import_json(&sb, &back, &[]);
    assert_eq!(summary["alreadyPresent"], 2, "{summary}");
    assert_eq!(summary["conflicts"], 0, "{summary}");
}

#[test]
fn a_conflicting_run_is_reported_and_the_rest_imported() {
    let sb = Sandbox::new();
    import_ok(&sb, &camel_db(&sb), &[]);
    let mut lines = exported(&sb, &[]);
    // a1 changed, a2 unchanged, z9 new: one chunk, so the conflict must not block the others.
    let mut a1 = lines.remove("a1").unwrap();
    a1["run"]["totalScore"] = json!(0.1);
    let mut z9 = lines["a2"].clone();
    z9["run"]["runId"] = json!("z9");
    let file = sb.path().join("conflict.jsonl");
    std::fs::write(
        &file,
        [a1, lines["a2"].clone(), z9]
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let out = import_ok(&sb, &file, &[]);
    assert!(
        out.stdout.contains("stored 1 new run, 1 already present"),
        "{out}"
    );
    assert!(
        out.stderr.contains("warning: 1 run not imported") && out.stderr.contains("a1"),
        "{out}"
    );
    let after = exported(&sb, &[]);
    assert_eq!(after["a1"]["run"]["totalScore"], json!(0.7333333333333333));
    assert!(after.contains_key("z9"));

    let strict = import(&sb, &file, &["--strict", "--json"]);
    assert_eq!(strict.code(), Some(1), "{strict}");
    let summary: Value = serde_json::from_str(&strict.stdout).unwrap();
    assert_eq!(summary["conflicts"], 1);
    assert_eq!(summary["conflictIds"], json!(["a1"]));
    assert_eq!(summary["alreadyPresent"], 2);

    // Many chunks, with the conflict in the middle one: every other run is stored.
    let mut many: Vec<String> = (0..1200)
        .map(|i| {
            json!({"runId": format!("m{i}"), "suite": "s", "scenario": "c", "tier": "L1",
                   "agent": "a", "status": "completed", "totalScore": i as f64 / 1200.0})
            .to_string()
        })
        .collect();
    let mut changed = after["a1"].clone();
    changed["run"]["tier"] = json!("L9");
    many.insert(700, changed.to_string());
    let file = sb.path().join("many.jsonl");
    std::fs::write(&file, many.join("\n")).unwrap();
    let summary = import_json(&sb, &file, &[]);
    assert_eq!(summary["runsRead"], 1201);
    assert_eq!(summary["stored"], 1200, "{summary}");
    assert_eq!(summary["conflicts"], 1);
    assert_eq!(exported(&sb, &["--suite", "s"]).len(), 1200);
}

#[test]
fn dry_run_stores_nothing() {
    let sb = Sandbox::new();
    let src = camel_db(&sb);
    let out = import_ok(&sb, &src, &["--dry-run"]);
    assert!(
        out.stdout
            .contains("dry run: nothing stored; 4 runs and 1 batch would be submitted"),
        "{out}"
    );
    assert!(out.stdout.contains("bad-1"), "{out}");
    assert!(
        !sb.db().exists(),
        "a dry run must not even create the database"
    );

    let file = sb.path().join("one.jsonl");
    std::fs::write(
        &file,
        r#"{"runId":"d1","suite":"s","scenario":"c","tier":"L1","agent":"a","status":"failed"}"#,
    )
    .unwrap();
    let summary = import_json(&sb, &file, &["--dry-run"]);
    assert_eq!(summary["valid"], 1);
    assert_eq!(summary["stored"], 0);
    assert!(!sb.db().exists());
}

#[test]
fn an_import_keeps_the_key_name_each_run_was_submitted_with() {
    let sb = Sandbox::new();
    import_ok(&sb, &camel_db(&sb), &[]);
    let lines = exported(&sb, &[]);
    let ids: Vec<&String> = lines.keys().collect();
    assert!(ids.len() >= 3, "{ids:?}");
    // As exported from a server with named keys: runs of two keys in one chunk, and one
    // name no key could have (it must not reach the database).
    let names = ["ci-east", "ci-west", "not a key name <b>"];
    let file = sb.path().join("named.jsonl");
    let text: Vec<String> = lines
        .values()
        .enumerate()
        .map(|(i, line)| {
            let mut line = line.clone();
            line["run"]["submittedBy"] = json!(names[i % 3]);
            line.to_string()
        })
        .collect();
    std::fs::write(&file, text.join("\n")).unwrap();

    let second_db = format!("sqlite://{}", sb.path().join("named.sqlite").display());
    let summary = import_json(&sb, &file, &["--database-url", &second_db]);
    assert_eq!(summary["stored"], json!(lines.len()), "{summary}");
    assert!(
        summary
            .to_string()
            .contains("submittedBy is not a key name"),
        "{summary}"
    );
    let back = exported(&sb, &["--database-url", &second_db]);
    for (i, id) in lines.keys().enumerate() {
        let expected = match i % 3 {
            2 => Value::Null,
            k => json!(names[k]),
        };
        let got = back[id]["run"]
            .get("submittedBy")
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(got, expected, "run {id}");
    }
}
