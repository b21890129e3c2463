//! The runs list, the batches list and the batch page, rendered by the real router over a real
//! SQLite store seeded with known runs: every figure they show, their filters, sorting, keyset
//! paging, escaping of untrusted names, and the empty and error states.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use common::Db;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;
use zebench_core::{BatchUpsert, RunResult};

/// 2025-03-11 10:00 UTC.
const T0: i64 = 1_741_687_200_000;
const XSS_BATCH: &str = "<script>alert(1)</script>";
const XSS_AGENT: &str = "<img src=x onerror=1>";

/// A temporary SQLite store, removed on drop.
struct Spec {
    id: &'static str,
    batch: Option<&'static str>,
    suite: &'static str,
    scenario: &'static str,
    tier: &'static str,
    agent: &'static str,
    model: &'static str,
    /// `None`: a failed run with this error type.
    score: Result<f64, &'static str>,
    cost: f64,
}

fn run(i: usize, s: &Spec) -> RunResult {
    let started = T0 + i as i64 * 60_000;
    let mut v = json!({
        "runId": s.id, "suite": s.suite, "scenario": s.scenario, "tier": s.tier,
        "agent": s.agent, "model": s.model,
        "startedAt": started, "completedAt": started + 30_000,
        "telemetry": {"toolCalls": 3 + i as i64, "tokensIn": 1000, "tokensOut": 100,
                      "costUsd": s.cost, "durationMs": 10_000 + 1000 * i as i64},
    });
    match s.score {
        Ok(w) => {
            v["status"] = json!("completed");
            v["weightedScore"] = json!(w);
            v["totalScore"] = json!(w / 10.0);
            v["isSuccessful"] = json!(w >= 7.0);
            v["evaluations"] =
                json!([{"evaluatorName": "TestsPass", "score": w / 10.0, "maxScore": 1}]);
        }
        Err(error_type) => {
            v["status"] = json!("failed");
            v["isSuccessful"] = json!(false);
            v["metadata"] = json!({"errorType": error_type});
        }
    }
    if let Some(b) = s.batch {
        v["batchId"] = json!(b);
    }
    serde_json::from_value(v).unwrap()
}

#[rustfmt::skip]
fn specs() -> Vec<Spec> {
    let sp = |id, batch, suite, scenario, tier, agent, model, score, cost| Spec { id, batch, suite, scenario, tier, agent, model, score, cost };
    vec![
        sp("alpha-1", Some("b-alpha"), "update-deps", "nx-pnpm", "L1", "claude", "sonnet", Ok(8.0), 0.10),
        sp("alpha-2", Some("b-alpha"), "update-deps", "nx-pnpm", "L2", "claude", "sonnet", Ok(6.0), 0.20),
        sp("alpha-3", Some("b-alpha"), "update-deps", "nx-pnpm", "L1", "codex", "gpt-5", Ok(9.0), 0.30),
        sp("alpha-4", Some("b-alpha"), "update-deps", "yarn-classic", "L1", "codex", "gpt-5", Err("timeout"), 0.05),
        sp("alpha-5", Some("b-alpha"), "update-deps", "yarn-classic", "L2", "codex", "gpt-5", Err("agent_crash"), 0.05),
        sp("alpha-6", Some("b-alpha"), "update-deps", "yarn-classic", "L2", "claude", "sonnet", Ok(7.0), 0.30),
        sp("beta-1", Some("b-beta"), "fix-tests", "jest-flaky", "L1", "aider", "gpt-4o", Ok(5.0), 0.01),
        sp("beta-2", Some("b-beta"), "fix-tests", "jest-flaky", "L1", "aider", "gpt-4o", Ok(10.0), 0.01),
        sp("beta-3", Some("b-beta"), "fix-tests", "jest-flaky", "L1", "aider", "gpt-4o", Err("timeout"), 0.01),
        sp("xss-1", Some(XSS_BATCH), "update-deps", "nx-pnpm", "L1", XSS_AGENT, "m<b>", Ok(4.0), 0.02),
        sp("solo-1", None, "fix-tests", "jest-flaky", "L3", "claude", "sonnet", Ok(3.0), 0.04),
        sp("solo-2", None, "fix-tests", "jest-flaky", "L3", "claude", "sonnet", Ok(5.5), 0.04),
    ]
}

async fn seeded() -> Db {
    let db = Db::new().await;
    let runs: Vec<RunResult> = specs().iter().enumerate().map(|(i, s)| run(i, s)).collect();
    db.store().submit_runs(runs).await.unwrap();
    for b in [
        json!({"batchId": "b-alpha", "completedAt": T0 + 3_600_000,
               "metadata": {"plannedRuns": 6, "note": "nightly"}}),
        json!({"batchId": "b-beta", "metadata": {"plannedRuns": 10}}),
        json!({"batchId": XSS_BATCH, "completedAt": T0 + 3_600_000,
               "metadata": {"owner": "<script>alert('m')</script>"}}),
    ] {
        let b: BatchUpsert = serde_json::from_value(b).unwrap();
        db.store().upsert_batch(&b).await.unwrap();
    }
    db
}

async fn get(app: &Router, uri: &str) -> (StatusCode, String) {
    let res = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn ok(app: &Router, uri: &str) -> String {
    let (status, body) = get(app, uri).await;
    assert_eq!(status, StatusCode::OK, "GET {uri}:\n{body}");
    body
}

/// Run ids of the runs table, in order (from the rows' `data-run`).
fn run_ids(html: &str) -> Vec<String> {
    html.split("<tr data-run=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .collect()
}

/// The `href` of the link whose text is `text` (HTML-unescaped).
fn link(html: &str, text: &str) -> Option<String> {
    let end = html.find(&format!("\">{text}</a>"))?;
    let start = html[..end].rfind("href=\"")? + 6;
    let len = html[start..].find('"')?;
    Some(unescape(&html[start..start + len]))
}

/// Undoes askama's HTML escaping.
fn unescape(s: &str) -> String {
    s.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
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

/// The runs-table row of one run.
fn row_of<'a>(html: &'a str, run_id: &str) -> &'a str {
    let at = html.find(&format!("<tr data-run=\"{run_id}\"")).unwrap();
    &html[at..at + html[at..].find("</tr>").unwrap()]
}

/// The batches-table row of one batch (id as it appears escaped).
fn batch_row<'a>(html: &'a str, escaped_id: &str) -> &'a str {
    let at = html
        .find(&format!("<tr data-batch=\"{escaped_id}\""))
        .unwrap();
    &html[at..at + html[at..].find("</tr>").unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_page_lists_every_run_with_its_figures() {
    let db = seeded().await;
    let app = db.app();
    let html = ok(&app, "/runs").await;
    assert_eq!(testid(&html, "runs-count"), "12 runs");
    let ids = run_ids(&html);
    assert_eq!(ids.len(), 12);
    assert_eq!(ids[0], "solo-2", "newest first");
    assert_eq!(ids[11], "alpha-1");
    let r = row_of(&html, "alpha-3");
    assert!(r.contains("update-deps / nx-pnpm"), "{r}");
    assert!(r.contains("codex · gpt-5"), "{r}");
    assert!(
        r.contains("<span class=\"badge completed\">completed</span>"),
        "{r}"
    );
    assert!(r.contains(">9.00<"), "{r}");
    assert!(r.contains(">$0.3000<"), "{r}");
    assert!(r.contains(">12.0 s<"), "{r}");
    assert!(r.contains(">5<"), "tool calls: {r}");
    assert!(r.contains("href=\"/batches/b-alpha\""), "{r}");
    assert!(row_of(&html, "alpha-4").contains("badge failed"));
    // Live refresh only on the first page in the default order.
    assert!(
        html.contains("id=\"runs-live\" data-live=\"/runs\""),
        "{html}"
    );
    // The filter form offers the values in the database.
    for opt in [
        "<option value=\"update-deps\">",
        "<option value=\"codex\">",
        "<option value=\"L3\">",
        "<option value=\"gpt-4o\">",
        "<option value=\"b-beta\">",
        "<option value=\"failed\">",
    ] {
        assert!(html.contains(opt), "missing {opt}");
    }
    assert!(html.contains("<form class=\"filters\" method=\"get\" action=\"/runs\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_filters_narrow_the_table() {
    let db = seeded().await;
    let app = db.app();

    let html = ok(&app, "/runs?suite=fix-tests").await;
    let mut ids = run_ids(&html);
    ids.sort();
    assert_eq!(ids, ["beta-1", "beta-2", "beta-3", "solo-1", "solo-2"]);
    assert_eq!(
        testid(&html, "runs-count"),
        "5 runs match these filters (of 12 in total)"
    );
    assert!(html.contains("<option value=\"fix-tests\" selected>"));
    assert!(html.contains("data-live=\"/runs?suite=fix-tests\""));

    let html = ok(&app, "/runs?agent=codex").await;
    assert_eq!(run_ids(&html), ["alpha-5", "alpha-4", "alpha-3"]);

    let html = ok(&app, "/runs?status=failed").await;
    assert_eq!(run_ids(&html), ["beta-3", "alpha-5", "alpha-4"]);
    assert_eq!(
        testid(&html, "runs-count"),
        "3 runs match these filters (of 12 in total)"
    );

    let html = ok(&app, "/runs?batch=b-alpha&tier=L2").await;
    assert_eq!(run_ids(&html), ["alpha-6", "alpha-5", "alpha-2"]);

    let html = ok(&app, "/runs?q=beta").await;
    assert_eq!(run_ids(&html), ["beta-3", "beta-2", "beta-1"]);
    assert!(
        html.contains("value=\"beta\""),
        "the search box keeps its text"
    );

    // 2025-03-11 is the day of every run; the day after has none.
    let html = ok(&app, "/runs?since=2025-03-11&until=2025-03-11").await;
    assert_eq!(run_ids(&html).len(), 12);
    let html = ok(&app, "/runs?since=2025-03-12").await;
    assert!(run_ids(&html).is_empty());
    assert!(html.contains("No runs match these filters"), "{html}");
    assert!(html.contains("0 runs match these filters"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_paging_follows_the_cursor_without_overlap() {
    let db = seeded().await;
    let app = db.app();
    let mut uri = "/runs?limit=5".to_string();
    let mut seen: Vec<String> = Vec::new();
    let mut pages = 0;
    loop {
        let html = ok(&app, &uri).await;
        let ids = run_ids(&html);
        pages += 1;
        if pages > 1 {
            assert!(
                link(&html, "First page").is_some(),
                "a later page links to the first"
            );
            assert!(
                !html.contains("data-live="),
                "later pages do not refresh themselves"
            );
        } else {
            assert!(link(&html, "First page").is_none());
        }
        for id in &ids {
            assert!(!seen.contains(id), "{id} on two pages");
        }
        seen.extend(ids.iter().cloned());
        match link(&html, "Next page") {
            Some(next) => {
                assert_eq!(ids.len(), 5);
                assert!(
                    next.contains("limit=5") && next.contains("cursor="),
                    "{next}"
                );
                uri = next;
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 12);
    let newest_first: Vec<String> = specs().iter().rev().map(|s| s.id.to_string()).collect();
    assert_eq!(seen, newest_first);

    // Paging keeps the filters.
    let html = ok(&app, "/runs?suite=update-deps&limit=4").await;
    let next = link(&html, "Next page").unwrap();
    assert!(next.contains("suite=update-deps"), "{next}");
    let html2 = ok(&app, &next).await;
    let mut all = run_ids(&html);
    all.extend(run_ids(&html2));
    assert_eq!(all.len(), 7);
    assert!(all
        .iter()
        .all(|id| id.starts_with("alpha") || id == "xss-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_sort_by_score_and_bad_cursor() {
    let db = seeded().await;
    let app = db.app();
    let html = ok(&app, "/runs?sort=score-desc").await;
    let ids = run_ids(&html);
    assert_eq!(
        &ids[..9],
        [
            "beta-2", "alpha-3", "alpha-1", "alpha-6", "alpha-2", "solo-2", "beta-1", "xss-1",
            "solo-1"
        ]
    );
    assert_eq!(ids.len(), 12, "unscored runs come last");
    assert!(html.contains("<option value=\"score-desc\" selected>"));
    assert!(
        html.contains("id=\"runs-live\">") && !html.contains("data-live="),
        "a sorted view is not live"
    );

    let html = ok(&app, "/runs?sort=score-asc&status=completed").await;
    assert_eq!(run_ids(&html)[..3], ["solo-1", "xss-1", "beta-1"]);

    let html = ok(&app, "/runs?sort=cost-desc&batch=b-alpha").await;
    let ids = run_ids(&html);
    assert!(
        ids[..2].contains(&"alpha-3".to_string()) && ids[..2].contains(&"alpha-6".to_string()),
        "{ids:?}"
    );

    // Paging a sorted view keeps the order.
    let html = ok(&app, "/runs?sort=score-desc&limit=3").await;
    let next = link(&html, "Next page").unwrap();
    assert!(next.contains("sort=score-desc"));
    assert_eq!(
        run_ids(&ok(&app, &next).await),
        ["alpha-6", "alpha-2", "solo-2"]
    );

    let (status, body) = get(&app, "/runs?cursor=not-a-cursor").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("first page"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_page_shows_aggregates_status_and_filters() {
    let db = seeded().await;
    let app = db.app();
    let html = ok(&app, "/batches").await;
    assert_eq!(testid(&html, "batches-summary"), "3 batches, 1 running");
    let a = batch_row(&html, "b-alpha");
    for cell in [
        ">6<",
        ">50%<",
        ">7.50<",
        ">2<",
        ">$1.00<",
        "badge completed",
    ] {
        assert!(a.contains(cell), "b-alpha lacks {cell}: {a}");
    }
    let b = batch_row(&html, "b-beta");
    for cell in [
        "badge running",
        "3 of 10 planned",
        ">33%<",
        ">7.50<",
        ">1<",
        ">$0.0300<",
    ] {
        assert!(b.contains(cell), "b-beta lacks {cell}: {b}");
    }
    assert!(a.contains("href=\"/batches/b-alpha\""));
    assert!(
        a.contains("<input type=\"checkbox\" name=\"ids\" value=\"b-alpha\" form=\"compare-form\"")
    );
    assert!(html.contains("<form id=\"compare-form\" class=\"batch-compare\" method=\"get\" action=\"/batches/compare\">"));
    assert!(html.contains("id=\"batches-live\" data-live=\"/batches\""));

    let html = ok(&app, "/batches?status=running").await;
    assert_eq!(
        testid(&html, "batches-summary"),
        "1 shown of 3 batches, 1 running"
    );
    assert!(html.contains("data-batch=\"b-beta\"") && !html.contains("data-batch=\"b-alpha\""));
    assert!(html.contains("data-live=\"/batches?status=running\""));

    let html = ok(&app, "/batches?status=completed&q=ALP").await;
    assert!(html.contains("data-batch=\"b-alpha\""));
    assert!(!html.contains("data-batch=\"b-beta\"") && !html.contains("data-batch=\"&#60;script"));

    let html = ok(&app, "/batches?q=nothing-like-this").await;
    assert!(html.contains("No batches match these filters"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_page_shows_aggregates_breakdowns_failures_and_runs() {
    let db = seeded().await;
    let app = db.app();
    let html = ok(&app, "/batches/b-alpha").await;
    assert_eq!(testid(&html, "batch-runs"), "6");
    assert_eq!(testid(&html, "batch-success"), "50%");
    // Weighted scores 8, 6, 9, 7: mean 7.5, sample sd √(5/3), t(3) = 3.182 → ± 2.05.
    assert_eq!(testid(&html, "batch-score"), "7.50 ± 2.05");
    assert_eq!(testid(&html, "batch-cost"), "$1.00");
    // Metadata as a table.
    assert!(
        html.contains("<th>plannedRuns</th><td><code>6</code></td>"),
        "{html}"
    );
    assert!(html.contains("<th>note</th><td><code>nightly</code></td>"));
    // Breakdowns link to the runs they count, with inline bars.
    assert!(
        html.contains("/runs?batch=b-alpha&#38;suite=update-deps&#38;scenario=nx-pnpm"),
        "{html}"
    );
    assert!(html.contains("/runs?batch=b-alpha&#38;agent=claude&#38;model=sonnet"));
    let claude = &html[html.find("claude · sonnet</a>").unwrap()..];
    let claude = &claude[..claude.find("</tr>").unwrap()];
    // claude: scores 8, 6, 7 (2 of 3 successful), cost 0.10 + 0.20 + 0.30.
    for cell in [
        ">3<",
        ">67%<",
        ">7.00 ± 2.48<",
        "bar-inline w7",
        ">$0.6000<",
    ] {
        assert!(claude.contains(cell), "claude lacks {cell}: {claude}");
    }
    let codex = &html[html.find("codex · gpt-5</a>").unwrap()..];
    let codex = &codex[..codex.find("</tr>").unwrap()];
    for cell in [">3<", ">33%<", ">9.00<", "bar-inline w9", ">2<"] {
        assert!(codex.contains(cell), "codex lacks {cell}: {codex}");
    }
    assert!(html.contains("/runs?batch=b-alpha&#38;tier=L2"));
    // The evaluator's mean normalised score: (0.8 + 0.6 + 0.9 + 0.7) / 4.
    let ev = &html[html.find("<td>TestsPass</td>").unwrap()..];
    assert!(ev[..ev.find("</tr>").unwrap()].contains(">0.75<"), "{ev}");
    // Failures by error type, linked to the failed runs.
    assert!(
        html.contains("<code>timeout</code></td><td class=\"num fail\">1</td>"),
        "{html}"
    );
    assert!(html.contains("<code>agent_crash</code></td><td class=\"num fail\">1</td>"));
    assert!(html.contains("href=\"/runs?batch=b-alpha&#38;status=failed\""));
    // Every run, linked.
    for i in 1..=6 {
        assert!(
            html.contains(&format!("href=\"/runs/alpha-{i}\"")),
            "alpha-{i}"
        );
    }
    // Exports.
    assert!(html.contains("href=\"/api/export?format=csv&#38;batchId=b-alpha\""));
    assert!(html.contains("href=\"/api/export?format=jsonl&#38;batchId=b-alpha\""));
    // A completed batch does not refresh itself; a running one does.
    assert!(html.contains("id=\"batch-live\">"));
    assert!(!html.contains("data-live="));
    let html = ok(&app, "/batches/b-beta").await;
    assert!(html.contains("id=\"batch-live\" data-live=\"/batches/b-beta\""));
    assert!(html.contains("3 of 10 planned"));
    assert_eq!(testid(&html, "batch-success"), "33%");
    assert_eq!(testid(&html, "batch-cost"), "$0.0300");

    let (status, body) = get(&app, "/batches/no-such-batch").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("no-such-batch"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_names_are_escaped_everywhere() {
    let db = seeded().await;
    let app = db.app();
    let enc = "%3Cscript%3Ealert%281%29%3C%2Fscript%3E";
    let batch_uri = format!("/batches/{enc}");
    for uri in [
        "/runs",
        "/batches",
        batch_uri.as_str(),
        "/runs?agent=%3Cimg%20src%3Dx%20onerror%3D1%3E",
    ] {
        let html = ok(&app, uri).await;
        assert!(
            !html.contains("<script>alert"),
            "{uri} has a raw script tag"
        );
        assert!(!html.contains("<img src=x"), "{uri} has a raw img tag");
        assert!(!html.contains("m<b>"), "{uri} has a raw model name");
    }
    let html = ok(&app, "/runs").await;
    assert!(
        html.contains("&#60;img src=x onerror=1&#62;"),
        "the agent is shown escaped"
    );
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "the batch is shown escaped"
    );
    let html = ok(&app, "/batches").await;
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(html.contains(&format!("href=\"/batches/{enc}\"")), "{html}");
    let html = ok(&app, &batch_uri).await;
    assert!(
        html.contains("&#60;script&#62;alert(&#39;m&#39;)&#60;/script&#62;"),
        "metadata escaped: {html}"
    );
    assert!(html.contains("&#60;img src=x onerror=1&#62;"));
    assert_eq!(testid(&html, "batch-runs"), "1");
    let html = ok(&app, "/runs?agent=%3Cimg%20src%3Dx%20onerror%3D1%3E").await;
    assert_eq!(run_ids(&html), ["xss-1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_database_explains_what_to_run() {
    let db = Db::new().await;
    let app = db.app();
    let html = ok(&app, "/runs").await;
    assert!(
        html.contains("No runs yet")
            && html.contains("zebench demo")
            && html.contains("zebench batch"),
        "{html}"
    );
    let html = ok(&app, "/runs?suite=x&sort=score-desc").await;
    assert!(html.contains("No runs yet"));
    let html = ok(&app, "/batches").await;
    assert!(
        html.contains("No batches yet") && html.contains("zebench batch"),
        "{html}"
    );
    let (status, _) = get(&app, "/batches/anything").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
