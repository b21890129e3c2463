//! The run page (`/runs/{id}`), rendered by the real router over a real SQLite store: the
//! seeded scores, metric shares, checks, judge categories and telemetry appear; untrusted text
//! from every source is escaped; failed, odd, artifact-less, running and unknown runs render.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;
use zebench_core::RunResult;
use zebench_store::{Store, StoreOptions};

/// 2025-03-11 10:00 UTC.
const T0: i64 = 1_741_687_200_000;
const XSS: &str = "<script>alert(1)</script>";
const XSS_ATTR: &str = "\"><img src=x onerror=alert(1)>";

struct Db {
    store: Arc<Store>,
    url: String,
    _dir: tempfile::TempDir,
}

impl Db {
    async fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("run-page.sqlite").display());
        let store = Store::connect(StoreOptions::new(&url)).await.unwrap();
        Db {
            store: Arc::new(store),
            url,
            _dir: dir,
        }
    }

    fn app(&self) -> Router {
        zebench_web::router(self.store.clone())
    }

    async fn submit(&self, v: Value) {
        let run: RunResult = serde_json::from_value(v).unwrap();
        self.store.submit_run(run).await.unwrap();
    }
}

async fn get(app: &Router, uri: &str) -> (StatusCode, String, Option<String>) {
    let res = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap(), ct)
}

async fn ok(app: &Router, uri: &str) -> String {
    let (status, body, ct) = get(app, uri).await;
    assert_eq!(status, StatusCode::OK, "GET {uri}:\n{body}");
    assert!(ct.unwrap_or_default().starts_with("text/html"));
    body
}

/// The text of the element carrying `data-testid="id"`.
fn testid(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("data-testid=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id}"));
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    rest[start..start + rest[start..].find('<').unwrap()].to_string()
}

/// `s` as askama escapes it for HTML.
fn escaped(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// The table row containing `needle`.
fn row<'a>(html: &'a str, needle: &str) -> &'a str {
    let at = html
        .find(needle)
        .unwrap_or_else(|| panic!("no {needle} in the page"));
    let start = html[..at].rfind("<tr").unwrap();
    &html[start..at + html[at..].find("</tr>").unwrap()]
}

fn diff_two_files() -> String {
    [
        "diff --git a/src/lib.rs b/src/lib.rs",
        "index 83db48f..bf269f4 100644",
        "--- a/src/lib.rs",
        "+++ b/src/lib.rs",
        "@@ -1,3 +1,4 @@",
        " fn main() {",
        "-    old();",
        "+    new_call();",
        "+    another();",
        " }",
        "diff --git a/README.md b/README.md",
        "new file mode 100644",
        "--- /dev/null",
        "+++ b/README.md",
        "@@ -0,0 +1 @@",
        "+# Hello",
        "",
    ]
    .join("\n")
}

fn full_run() -> Value {
    json!({
        "runId": "run-full", "batchId": "batch-7", "suite": "update-deps", "scenario": "nx-pnpm",
        "tier": "L2", "agent": "claude-code", "model": "sonnet-4", "status": "completed",
        "startedAt": T0, "completedAt": T0 + 185_000,
        "totalScore": 0.625, "weightedScore": 5.5, "successMetric": 0.55, "isSuccessful": false,
        "evaluations": [
            {"evaluatorName": "CommandsEvaluator", "score": 0.5, "maxScore": 1, "details": {
                "commands": [
                    {"name": "install", "command": "pnpm install", "exitCode": 0, "timedOut": false,
                     "durationMs": 1200, "baselineExitCode": 0, "score": 1.0},
                    {"name": "test", "command": "pnpm test", "exitCode": 1, "timedOut": false,
                     "durationMs": 8400, "baselineExitCode": 1, "score": 0.25}],
                "metrics": [{"key": "install_success", "score": 1.0, "weight": 1.0},
                            {"key": "tests_nonregression", "score": 0.25, "weight": 2.0}]}},
            {"evaluatorName": "HeuristicChecksEvaluator", "score": 0.6, "maxScore": 1, "details": {
                "checks": [
                    {"name": "readme-updated", "family": "files", "passed": true, "weight": 3,
                     "negated": false, "detail": "README.md exists"},
                    {"name": "no-console-log", "family": "patterns", "passed": false, "weight": 2,
                     "negated": true, "detail": "src/a.js:3 matches console.log"}],
                "passed": 1, "total": 2,
                "metrics": [{"key": "heuristic_checks", "score": 0.6, "weight": 1.0}]}},
            {"evaluatorName": "LLMJudgeEvaluator", "score": 0.65, "maxScore": 1, "details": {
                "provider": "anthropic", "model": "judge-model-x", "attempts": 1,
                "categories": [
                    {"name": "Correctness", "weight": 0.6, "score": 4, "normalized": 0.75,
                     "reasoning": "Handles the edge cases well"},
                    {"name": "Style", "weight": 0.4, "score": 3, "normalized": 0.5,
                     "reasoning": "Some duplication remains"}],
                "overallReasoning": "Solid work overall, tests still red",
                "errors": [],
                "metrics": [{"key": "llm_judge", "score": 0.65, "weight": 1.0}]}}
        ],
        "telemetry": {"toolCalls": 17, "tokensIn": 123_456, "tokensOut": 7_890, "costUsd": 0.4321,
                      "durationMs": 185_000, "promptSent": "Upgrade every package to its latest major."},
        "metadata": {
            "scenarioTitle": "Upgrade an Nx monorepo",
            "harness": "zebench 0.1.0",
            "agentStopReason": "end_turn",
            "cacheReadTokens": 55_555, "cacheWriteTokens": 4_444,
            "judge": {"tokensIn": 2_222, "tokensOut": 333, "costUsd": 0.0123},
            "steps": [
                {"name": "workspace", "startMs": 0, "durationMs": 850, "ok": true},
                {"name": "agent", "startMs": 850, "durationMs": 150_000, "ok": true},
                {"name": "evaluate", "startMs": 150_850, "durationMs": 12_400, "ok": false}],
            "baseline": [{"name": "test", "command": "pnpm test", "exitCode": 1, "timedOut": false,
                          "durationMs": 7000, "spawnError": null}],
            "validation": [
                {"name": "install", "command": "pnpm install", "exitCode": 0, "timedOut": false, "durationMs": 1200},
                {"name": "lint", "command": "pnpm lint", "exitCode": null, "timedOut": true, "durationMs": 60_000}],
            "diffStats": {"files": 2, "additions": 3, "deletions": 1, "truncated": false},
            "dependencyChanges": [
                {"file": "package.json", "section": "dependencies", "name": "react", "before": "^17.0.2", "after": "^19.1.0"},
                {"file": "package.json", "section": "devDependencies", "name": "left-pad", "before": "1.3.0", "after": null}],
            "questions": [{"question": "Should I also upgrade Node?", "answer": "Keep Node 20."}],
            "evaluatorErrors": ["EfficiencyEvaluator: budget file unreadable"]
        },
        "artifacts": {
            "diff": diff_two_files(),
            "transcript": json!([
                {"atMs": 0, "kind": "user", "content": "Upgrade every package."},
                {"atMs": 1500, "kind": "tool_call", "tool": "run_command", "content": "{\"command\":\"pnpm outdated\"}"},
                {"atMs": 4200, "kind": "tool_result", "tool": "run_command", "content": "ERR_PNPM boom",
                 "durationMs": 2700, "isError": true},
                {"atMs": 9000, "kind": "assistant", "content": "line\n".repeat(40)}
            ]).to_string(),
            "commands": "=== validation install: pnpm install (exit 0, 1200 ms)\nDone in 1.2s\n"
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_page_shows_scores_shares_checks_judge_and_telemetry() {
    let db = Db::new().await;
    db.submit(full_run()).await;
    let app = db.app();
    let html = ok(&app, "/runs/run-full").await;

    // Header.
    assert!(html.contains("update-deps / nx-pnpm · L2"));
    assert!(html.contains("Upgrade an Nx monorepo"));
    assert!(html.contains("claude-code · sonnet-4"));
    assert!(html.contains("href=\"/batches/batch-7\""));
    assert_eq!(testid(&html, "run-status"), "completed");
    assert!(html.contains("2025-03-11 10:00 UTC") && html.contains("2025-03-11 10:03 UTC"));
    assert!(!html.contains("data-testid=\"run-failure\""));

    // Scores.
    assert_eq!(testid(&html, "weighted-score"), "5.50");
    assert!(
        html.contains("0.62") || html.contains("0.63"),
        "total score"
    );
    for name in [
        "CommandsEvaluator",
        "HeuristicChecksEvaluator",
        "LLMJudgeEvaluator",
    ] {
        assert!(html.contains(name), "{name}");
    }
    // Σw = 5: shares are w·s / 5 × 10, of w / 5 × 10.
    let r = row(&html, "<code>install_success</code>");
    assert!(r.contains(">2.00<") && r.contains(">1<"), "{r}");
    let r = row(&html, "<code>tests_nonregression</code>");
    assert!(
        r.contains(">0.25<") && r.contains(">2<") && r.contains(">1.00<") && r.contains(">4.00<"),
        "{r}"
    );
    assert!(row(&html, "<code>heuristic_checks</code>").contains(">1.20<"));
    assert!(row(&html, "<code>llm_judge</code>").contains(">1.30<"));
    assert!(row(&html, "Sum of shares").contains(">5.50<"));

    // The evaluators table summarises each evaluation's details.
    assert!(row(&html, "<td>HeuristicChecksEvaluator</td>").contains("1 of 2 checks passed"));
    assert!(row(&html, "<td>LLMJudgeEvaluator</td>").contains("Solid work overall"));

    // Checks.
    let r = row(&html, "readme-updated");
    assert!(
        r.contains("✓")
            && r.contains("files")
            && r.contains("README.md exists")
            && r.contains(">3<")
    );
    let r = row(&html, "no-console-log");
    assert!(
        r.contains("✗")
            && r.contains("negated")
            && r.contains("patterns")
            && r.contains("console.log")
    );

    // Judge.
    let r = row(&html, "Correctness");
    assert!(
        r.contains(">4<")
            && r.contains("0.75")
            && r.contains("0.6")
            && r.contains("Handles the edge cases well")
    );
    assert!(row(&html, ">Style<").contains("Some duplication remains"));
    assert!(html.contains("Solid work overall, tests still red"));
    assert!(html.contains("judge-model-x"));
    assert!(html.contains("EfficiencyEvaluator: budget file unreadable"));

    // Evaluated commands with baseline.
    let r = row(
        &html,
        "<strong>test</strong><br><code>pnpm test</code></td><td class=\"num fail\">1",
    );
    assert!(r.contains(">0.25<"), "{r}");

    // Telemetry: the agent's and the judge's apart.
    assert!(row(&html, ">Tokens in<").contains("123,456"));
    assert!(row(&html, ">Tokens out<").contains("7,890"));
    assert!(row(&html, ">Cache read tokens<").contains("55,555"));
    assert!(row(&html, ">Cache write tokens<").contains("4,444"));
    assert!(row(&html, ">Agent cost<").contains("$0.4321"));
    assert!(row(&html, ">Tool calls<").contains(">17<"));
    assert!(row(&html, "<th>Duration</th><td").contains("3m 05s"));
    assert!(row(&html, ">Judge tokens in<").contains("2,222"));
    assert!(row(&html, ">Judge tokens out<").contains(">333<"));
    assert!(row(&html, ">Judge cost<").contains("$0.0123"));
    assert!(row(&html, ">Agent stop reason<").contains("end_turn"));

    // Steps, commands, dependencies, questions.
    let r = row(&html, "<td>agent</td>");
    assert!(
        r.contains("2m 30s") && r.contains("+850 ms") && r.contains("w10"),
        "{r}"
    );
    assert!(row(&html, "<td>evaluate</td>").contains("✗"));
    assert!(row(&html, "<td>baseline</td>").contains("pnpm test"));
    let r = row(&html, "<strong>lint</strong>");
    assert!(r.contains("timed out") && r.contains("1m 00s"), "{r}");
    let r = row(&html, "<code>react</code>");
    assert!(r.contains("^17.0.2") && r.contains("^19.1.0"));
    assert!(row(&html, "<code>left-pad</code>").contains("(removed)"));
    assert!(html.contains("Should I also upgrade Node?") && html.contains("Keep Node 20."));

    // Prompt, diff per file, transcript, command logs, artifact links.
    assert!(
        html.contains("<pre class=\"run-prompt\">Upgrade every package to its latest major.</pre>")
    );
    assert!(html.contains(
        "<code>src/lib.rs</code> <span class=\"ok\">+2</span> <span class=\"fail\">−1</span>"
    ));
    assert!(html.contains(
        "<code>README.md</code> <span class=\"ok\">+1</span> <span class=\"fail\">−0</span>"
    ));
    assert_eq!(html.matches("<details class=\"run-file\" open>").count(), 2);
    assert!(html.contains("<span class=\"add\">+    new_call();</span>"));
    assert!(html.contains("<span class=\"del\">-    old();</span>"));
    assert!(html.contains("<span class=\"hunk\">@@ -1,3 +1,4 @@</span>"));
    assert!(html.contains("<span class=\"meta\">diff --git a/README.md b/README.md</span>"));
    assert!(html.contains("<span class=\"run-kind\">tool_result</span> <code>run_command</code> <span class=\"muted\">2.7 s</span> <span class=\"badge failed\">error</span>"));
    assert!(html.contains("run-entry tk-result is-error"));
    assert!(html.contains("+1.5 s"));
    assert!(
        html.contains("<details><summary>line (40 lines)</summary>"),
        "long entries are collapsed"
    );
    assert!(html.contains("Done in 1.2s"));
    for name in ["commands", "diff", "prompt", "transcript"] {
        assert!(
            html.contains(&format!(
                "href=\"/api/runs/run-full/artifacts/{name}\" download>{name}</a>"
            )),
            "{name}"
        );
    }
    // A finished run does not refresh itself.
    assert!(html.contains("<div id=\"run-live\">"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_text_is_escaped_everywhere() {
    let db = Db::new().await;
    let evil = format!("{XSS}{XSS_ATTR}");
    let mut v = full_run();
    v["runId"] = json!("run-xss");
    v["batchId"] = json!(evil);
    v["agent"] = json!(evil);
    v["model"] = json!(evil);
    v["status"] = json!("failed");
    v["metadata"]["error"] = json!(evil);
    v["metadata"]["errorType"] = json!(evil);
    v["metadata"]["scenarioTitle"] = json!(evil);
    v["metadata"]["agentStopReason"] = json!(evil);
    v["metadata"]["steps"][0]["name"] = json!(evil);
    v["metadata"]["questions"] = json!([{"question": evil, "answer": evil}]);
    v["metadata"]["evaluatorErrors"] = json!([evil]);
    v["metadata"]["dependencyChanges"][0]["name"] = json!(evil);
    v["metadata"]["validation"][0]["command"] = json!(evil);
    v["metadata"]["judge"] = json!({"tokensIn": evil, "costUsd": 1});
    v["metadata"]["other"] = json!({"nested": evil});
    v["evaluations"][0]["evaluatorName"] = json!(evil);
    v["evaluations"][0]["details"]["metrics"][0]["key"] = json!(evil);
    v["evaluations"][0]["details"]["commands"][0]["command"] = json!(evil);
    v["evaluations"][1]["details"]["checks"][0]["detail"] = json!(evil);
    v["evaluations"][1]["details"]["checks"][0]["name"] = json!(evil);
    v["evaluations"][2]["details"]["categories"][0]["reasoning"] = json!(evil);
    v["evaluations"][2]["details"]["overallReasoning"] = json!(evil);
    v["evaluations"][2]["details"]["model"] = json!(evil);
    v["evaluations"].as_array_mut().unwrap().push(json!({
        "evaluatorName": "FreeText", "score": 0.5, "details": format!("plain text {evil}")}));
    v["telemetry"]["promptSent"] = json!(evil);
    v["artifacts"]["diff"] = json!(format!(
        "diff --git a/{XSS} b/{XSS}\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-{evil}\n+{evil}\n {evil}\ndiff --git a/b b/b\n+{XSS_ATTR}\n"
    ));
    v["artifacts"]["transcript"] = json!(json!([
        {"atMs": 0, "kind": evil, "tool": evil, "content": evil, "isError": true},
        {"atMs": 1, "kind": "assistant", "content": format!("{}{evil}", "x\n".repeat(50))},
        {"atMs": 2, "kind": "tool_call", "content": {"json": evil}}
    ])
    .to_string());
    v["artifacts"]["commands"] = json!(evil);
    v["artifacts"][evil.as_str()] = json!(evil);
    db.submit(v).await;
    let app = db.app();
    let html = ok(&app, "/runs/run-xss").await;

    assert!(!html.contains(XSS), "raw <script> in the page");
    assert!(!html.contains("<img"), "raw <img> in the page");
    assert_eq!(
        html.matches("<script").count(),
        2,
        "only the page's own two scripts"
    );
    assert!(html.contains(&escaped(XSS)), "shown escaped");
    assert!(html.contains(&escaped(XSS_ATTR)), "shown escaped");
    // Failed runs show the (escaped) reason.
    assert!(html.contains("data-testid=\"run-failure\""));
    // The artifact with a hostile name links with its name percent-encoded.
    assert!(html.contains(
        "/api/runs/run-xss/artifacts/%3Cscript%3Ealert%281%29%3C%2Fscript%3E%22%3E%3Cimg"
    ));
    // The hostile batch id is percent-encoded in its link.
    assert!(html.contains("href=\"/batches/%3Cscript%3E"));

    // An unknown hostile run id is escaped on the 404 page too.
    let (status, body, _) = get(&app, "/runs/%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains(XSS));
    assert!(body.contains(&escaped(XSS)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_run_shows_its_reason() {
    let db = Db::new().await;
    db.submit(json!({
        "runId": "run-failed", "suite": "s", "scenario": "c", "tier": "L0", "agent": "codex",
        "status": "failed", "startedAt": T0, "completedAt": T0 + 600_000,
        "metadata": {"errorType": "timeout", "error": "the agent did not finish within 10 minutes",
                     "steps": [{"name": "agent", "startMs": 10, "durationMs": 600_000, "ok": false}]},
        "telemetry": {"toolCalls": 3, "durationMs": 600_010}
    }))
    .await;
    let html = ok(&db.app(), "/runs/run-failed").await;
    assert_eq!(testid(&html, "run-status"), "failed");
    let at = html
        .find("data-testid=\"run-failure\"")
        .expect("failure box");
    let boxed = &html[at..at + html[at..].find("</section>").unwrap()];
    assert!(boxed.contains("<code>timeout</code>"), "{boxed}");
    assert!(boxed.contains("the agent did not finish within 10 minutes"));
    assert!(
        html.find("data-testid=\"run-failure\"") < html.find("data-testid=\"weighted-score\""),
        "shown first"
    );
    assert_eq!(testid(&html, "weighted-score"), "–");
    assert!(html.contains("<span class=\"badge failed\""));

    // A failed run without a reason still says it failed.
    db.submit(
        json!({"runId": "run-failed-2", "suite": "s", "scenario": "c", "tier": "L0",
                     "agent": "codex", "status": "failed"}),
    )
    .await;
    let html = ok(&db.app(), "/runs/run-failed-2").await;
    assert!(html.contains("Run failed") && html.contains("No reason was recorded."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_run_is_a_404_page() {
    let db = Db::new().await;
    let (status, body, ct) = get(&db.app(), "/runs/no-such-run").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(ct.unwrap_or_default().starts_with("text/html"));
    assert!(body.contains("<!doctype html>") && body.contains("no-such-run"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_details_metadata_and_transcripts_still_render() {
    let db = Db::new().await;
    // JSON metadata of unexpected shapes, details that are text or other JSON.
    db.submit(json!({
        "runId": "run-odd", "suite": "s", "scenario": "c", "tier": "L1", "agent": "other-client",
        "status": "completed", "weightedScore": 7.0,
        "evaluations": [
            {"evaluatorName": "TextEval", "score": 3, "maxScore": 5, "details": "all good: 3 of 5"},
            {"evaluatorName": "ArrayEval", "score": 1, "details": [1, 2, 3]},
            {"evaluatorName": "ShapeEval", "score": 0.2, "details": {
                "metrics": [{"key": "m1", "score": "0.5", "weight": "x"}, 7, {"weight": -1}],
                "checks": [{"name": {"deep": true}, "passed": "maybe"}, "bare"],
                "categories": [1, {"score": "five"}], "commands": [null, {"exitCode": "zero"}],
                "errors": "one error"}}
        ],
        "metadata": {"steps": "not a list", "judge": "free text", "questions": [1, {"question": {"a": 1}}],
                     "validation": [1, "two", {"exitCode": -9}], "dependencyChanges": {"a": 1},
                     "evaluatorErrors": "a single string", "cacheReadTokens": "lots",
                     "diffStats": "n/a", "errorType": null},
        "artifacts": {"transcript": "plain text transcript\nsecond line", "diff": "not a diff at all\n+ but a plus line",
                      "commands": ""}
    }))
    .await;
    let html = ok(&db.app(), "/runs/run-odd").await;
    assert_eq!(testid(&html, "weighted-score"), "7.00");
    assert!(html.contains("all good: 3 of 5"), "text details shown raw");
    assert!(
        row(&html, "<td>TextEval</td>").contains(">3<")
            && row(&html, "<td>TextEval</td>").contains(">5<")
    );
    assert!(html.contains("ShapeEval: one error") && html.contains("a single string"));
    assert!(
        html.contains("<pre class=\"run-raw-transcript\">plain text transcript\nsecond line</pre>")
    );
    assert!(html.contains("not a diff at all"));
    assert!(row(&html, ">Judge<").contains("free text"));

    // A transcript that is JSON but not a list of entries is shown raw.
    db.submit(
        json!({"runId": "run-odd-2", "suite": "s", "scenario": "c", "tier": "L1", "agent": "a",
                     "status": "completed", "artifacts": {"transcript": "[1, \"two\"]"}}),
    )
    .await;
    let html = ok(&db.app(), "/runs/run-odd-2").await;
    let raw = escaped("[1, \"two\"]");
    assert!(html.contains(&format!("<pre class=\"run-raw-transcript\">{raw}</pre>")));

    // Metadata that is not JSON at all (written by an older or foreign client).
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE runs SET metadata = 'not json {' WHERE run_id = 'run-odd'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let html = ok(&db.app(), "/runs/run-odd").await;
    assert!(html.contains("Metadata (not JSON)") && html.contains("<pre>not json {</pre>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_without_artifacts_or_telemetry_renders() {
    let db = Db::new().await;
    db.submit(
        json!({"runId": "run-bare", "suite": "s", "scenario": "c", "tier": "L1", "agent": "a",
                     "status": "incomplete"}),
    )
    .await;
    let html = ok(&db.app(), "/runs/run-bare").await;
    for text in [
        "No evaluations were stored for this run.",
        "No prompt was stored.",
        "No diff was stored.",
        "No transcript was stored.",
        "No artifacts were stored for this run.",
        "No judge usage recorded.",
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert_eq!(testid(&html, "run-status"), "incomplete");
    assert!(!html.contains("Command logs"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_run_refreshes_itself_and_big_diffs_are_capped() {
    let db = Db::new().await;
    let mut diff = String::new();
    for f in 0..6 {
        diff.push_str(&format!(
            "diff --git a/f{f} b/f{f}\n--- a/f{f}\n+++ b/f{f}\n@@ -0,0 +1,2500 @@\n"
        ));
        for i in 0..2500 {
            diff.push_str(&format!("+line {i}\n"));
        }
    }
    db.submit(
        json!({"runId": "run/live 1", "suite": "s", "scenario": "c", "tier": "L1", "agent": "a",
                     "status": "running", "startedAt": T0, "artifacts": {"diff": diff}}),
    )
    .await;
    let html = ok(&db.app(), "/runs/run%2Flive%201").await;
    assert!(html.contains("<div id=\"run-live\" data-live=\"/runs/run%2Flive%201\">"));
    assert_eq!(testid(&html, "run-status"), "running");
    // Six files: collapsed by default; each capped at 2,000 rendered lines.
    assert_eq!(html.matches("<details class=\"run-file\">").count(), 6);
    assert_eq!(html.matches("<span class=\"add\">").count(), 6 * 1996);
    assert!(html.contains("… 504 more lines not shown (truncated), <a href=\"/api/runs/run%2Flive%201/artifacts/diff\">download the full diff</a>"));
    assert!(html.contains("<span class=\"ok\">+2,500</span>"));
}
