//! The analysis pages — batch comparison, agents, suites, evaluators, costs — rendered by the
//! real router over a real SQLite store seeded with known runs: the figures they show (means,
//! deltas, paired differences, success rates, costs, Pareto membership), their friendly
//! messages, escaping of untrusted names, and their empty states.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use common::Db;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;
use zebench_core::RunResult;

/// 2026-03-01 00:00 UTC.
const DAY1: i64 = 1_772_323_200_000;
const DAY_MS: i64 = 86_400_000;
/// The untrusted agent and model name of the second pair.
const EVIL: &str = "<img src=x onerror=1>";
/// As askama escapes it (HTML text and attributes).
const EVIL_HTML: &str = "&#60;img src=x onerror=1&#62;";
/// As the SVG charts escape it.
const EVIL_SVG: &str = "&lt;img src=x onerror=1&gt;";
const EVIL_URL: &str = "%3Cimg%20src%3Dx%20onerror%3D1%3E";

/// (suite, scenario, tier) cells every batch runs.
const CELLS: [(&str, &str, &str); 6] = [
    ("starter", "s1", "L1"),
    ("starter", "s1", "L2"),
    ("starter", "s2", "L1"),
    ("starter", "s2", "L2"),
    ("update-deps", "s3", "L1"),
    ("update-deps", "s3", "L2"),
];
/// Weighted scores per cell: [batch][agent][cell], agents alpha then EVIL.
const SCORES: [[[f64; 6]; 2]; 2] = [
    [
        [5.0, 6.0, 7.0, 6.0, 6.0, 6.0],
        [5.0, 4.0, 7.0, 4.0, 4.0, 4.0],
    ],
    [
        [8.0, 8.0, 4.0, 8.0, 8.0, 8.0],
        [8.0, 4.0, 4.0, 4.0, 4.0, 4.0],
    ],
];
/// Cost per run: [batch][agent].
const COSTS: [[f64; 2]; 2] = [[0.10, 0.30], [0.10, 0.05]];

/// A temporary SQLite store, removed on drop.
/// Two batches (`batch-one` on 2026-03-01, `batch-two` on 2026-03-02) of two agent × model
/// pairs (`alpha · m1` and `EVIL · EVIL`) over three scenarios and two tiers, plus one failed
/// run of `gamma` (no model, no score, no cost, no batch) on 2026-03-03.
///
/// Every run has two evaluations: `HeuristicChecksEvaluator` scoring weighted/10 out of 1, and
/// `LLMJudgeEvaluator` scoring 3 out of 4. alpha's runs succeed; EVIL's do not.
async fn seeded() -> Db {
    let db = Db::new().await;
    let mut runs: Vec<RunResult> = Vec::new();
    for (b, batch) in ["batch-one", "batch-two"].into_iter().enumerate() {
        for (a, (agent, model)) in [("alpha", "m1"), (EVIL, EVIL)].into_iter().enumerate() {
            for (c, (suite, scenario, tier)) in CELLS.into_iter().enumerate() {
                let w = SCORES[b][a][c];
                let started =
                    DAY1 + b as i64 * DAY_MS + 10 * 3_600_000 + (a * 6 + c) as i64 * 60_000;
                let v = json!({
                    "runId": format!("{batch}-{a}-{c}"), "batchId": batch,
                    "suite": suite, "scenario": scenario, "tier": tier,
                    "agent": agent, "model": model, "status": "completed",
                    "startedAt": started, "completedAt": started + 30_000,
                    "weightedScore": w, "totalScore": w / 10.0, "successMetric": w / 10.0,
                    "isSuccessful": a == 0,
                    "evaluations": [
                        {"evaluatorName": "HeuristicChecksEvaluator", "score": w / 10.0, "maxScore": 1},
                        {"evaluatorName": "LLMJudgeEvaluator", "score": 3, "maxScore": 4}
                    ],
                    "telemetry": {
                        "toolCalls": 3,
                        "tokensIn": if a == 0 { 1000 } else { 2000 },
                        "tokensOut": if a == 0 { 100 } else { 300 },
                        "costUsd": COSTS[b][a],
                        "durationMs": if a == 0 { 60_000 } else { 120_000 }
                    }
                });
                runs.push(serde_json::from_value(v).unwrap());
            }
        }
    }
    let started = DAY1 + 2 * DAY_MS + 10 * 3_600_000;
    runs.push(
        serde_json::from_value(json!({
            "runId": "gamma-1", "suite": "starter", "scenario": "s1", "tier": "L1",
            "agent": "gamma", "status": "failed",
            "startedAt": started, "completedAt": started + 1000
        }))
        .unwrap(),
    );
    db.store().submit_runs(runs).await.unwrap();
    db
}

async fn get(app: &Router, uri: &str) -> (StatusCode, String) {
    let res = app
        .clone()
        .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// The `<tr>` of a table that contains `needle` (panics when there is none).
fn row_with<'a>(html: &'a str, needle: &str) -> &'a str {
    let at = html
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in page"));
    let start = html[..at].rfind("<tr").expect("a row starts before");
    let end = at + html[at..].find("</tr>").expect("the row ends");
    &html[start..end]
}

fn assert_escaped(page: &str, html: &str) {
    assert!(!html.contains("<img"), "{page}: raw <img in the page");
    assert!(!html.contains("onerror=1>"), "{page}: raw name in the page");
}

#[tokio::test]
async fn compare_shows_summaries_deltas_and_paired_difference() {
    let db = seeded().await;
    let app = db.app();
    let (status, html) = get(&app, "/batches/compare?ids=batch-one&ids=batch-two").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains(r#"<a href="/batches/batch-one">batch-one</a>"#),
        "{html}"
    );
    // Side-by-side summary: runs, success, score ± CI, cost.
    let runs = row_with(&html, "<th>Runs</th>");
    assert_eq!(runs.matches(">12</td>").count(), 2, "{runs}");
    let success = row_with(&html, "<th>Success rate</th>");
    assert_eq!(success.matches(">50%</td>").count(), 2, "{success}");
    let score = row_with(&html, "<th>Mean weighted score");
    assert!(score.contains(">5.33 ± "), "{score}");
    assert!(score.contains(">6.00 ± "), "{score}");
    let cost = row_with(&html, "<th>Total cost</th>");
    assert!(
        cost.contains(">$2.40</td>") && cost.contains(">$0.9000</td>"),
        "{cost}"
    );
    // Per-scenario table: means per batch and the delta against the first.
    let s1l1 = row_with(&html, ">starter/s1</a></td><td>L1</td>");
    assert!(
        s1l1.contains(">5.00</td>") && s1l1.contains(">8.00</td>"),
        "{s1l1}"
    );
    assert!(
        s1l1.contains(r#"<td class="num ok""#) && s1l1.contains(">+3.00</td>"),
        "{s1l1}"
    );
    let s2l1 = row_with(&html, ">starter/s2</a></td><td>L1</td>");
    assert!(
        s2l1.contains(">7.00</td>") && s2l1.contains(">4.00</td>"),
        "{s2l1}"
    );
    assert!(
        s2l1.contains(r#"<td class="num fail""#) && s2l1.contains(">-3.00</td>"),
        "{s2l1}"
    );
    // 5 ± 12.7 against 6 ± 25.4: within the intervals.
    let s1l2 = row_with(&html, ">starter/s1</a></td><td>L2</td>");
    assert!(
        s1l2.contains(r#"<td class="num muted""#) && s1l2.contains(">≈ +1.00</td>"),
        "{s1l2}"
    );
    assert!(
        !s1l2.contains("num ok") && !s1l2.contains("num fail"),
        "{s1l2}"
    );
    let s3l2 = row_with(&html, ">update-deps/s3</a></td><td>L2</td>");
    assert!(s3l2.contains(">≈ +1.00</td>"), "{s3l2}");
    // The rows link to the cell's runs.
    assert!(
        html.contains(r#"href="/runs?suite=starter&#38;scenario=s1&#38;tier=L1""#),
        "{html}"
    );
    // Plain words: deltas +3 +1 -3 +1 +1 +1 → mean +0.67, 5 up, 1 down.
    assert!(
        html.contains("batch-two vs batch-one: ")
            && html.contains("mean difference +0.67 points")
            && html.contains("over 6 shared cells; 5 improved, 1 regressed, 0 tied."),
        "{html}"
    );
    assert_escaped("compare", &html);

    // The other order flips the signs.
    let (_, html) = get(&app, "/batches/compare?ids=batch-two&ids=batch-one").await;
    assert!(
        html.contains("mean difference -0.67 points") && html.contains("1 improved, 5 regressed"),
        "{html}"
    );
    // Filters narrow the comparison.
    let (_, html) = get(
        &app,
        "/batches/compare?ids=batch-one&ids=batch-two&suite=update-deps",
    )
    .await;
    assert!(
        html.contains("mean difference +1.00 points")
            && html.contains("over 2 shared cells; 2 improved, 0 regressed"),
        "{html}"
    );
    assert!(!html.contains("starter/s1"), "{html}");
}

#[tokio::test]
async fn compare_asks_for_two_to_five_batches() {
    let db = seeded().await;
    let app = db.app();
    // No ids: the form, oldest batch first.
    let (status, html) = get(&app, "/batches/compare").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"<form class="compare-pick" method="get" action="/batches/compare">"#),
        "{html}"
    );
    let one = html
        .find(r#"name="ids" value="batch-one""#)
        .expect("batch-one offered");
    let two = html
        .find(r#"name="ids" value="batch-two""#)
        .expect("batch-two offered");
    assert!(one < two, "oldest first");
    assert!(!html.contains("Pick at least two"));
    // One id: a friendly message, the id ticked.
    let (status, html) = get(&app, "/batches/compare?ids=batch-one").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Pick at least two batches to compare (only “batch-one” was given)."),
        "{html}"
    );
    assert!(
        html.contains(r#"name="ids" value="batch-one" id="pick-1" checked>"#),
        "{html}"
    );
    // The same id twice is still one batch.
    let (_, html) = get(&app, "/batches/compare?ids=batch-one&ids=batch-one").await;
    assert!(html.contains("Pick at least two batches"), "{html}");
    // Six ids: too many.
    let (status, html) = get(&app, "/batches/compare?ids=a&ids=b&ids=c&ids=d&ids=e&ids=f").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("Compare at most 5 batches at a time (6 were given): pick fewer."),
        "{html}"
    );
    assert!(
        html.contains(r#"value="batch-two""#),
        "the form is still there"
    );
}

#[tokio::test]
async fn compare_names_unknown_batches() {
    let db = seeded().await;
    let app = db.app();
    let (status, html) = get(&app, "/batches/compare?ids=batch-one&ids=nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        html.contains("No batch named “nope” in this database"),
        "{html}"
    );
    let (status, html) = get(
        &app,
        &format!("/batches/compare?ids=batch-one&ids={EVIL_URL}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        html.contains(&format!("No batch named “{EVIL_HTML}”")),
        "{html}"
    );
    assert_escaped("compare unknown", &html);
}

#[tokio::test]
async fn agents_cards_and_heat_map() {
    let db = seeded().await;
    let app = db.app();
    let (status, html) = get(&app, "/agents").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    // Cards, best score first.
    let alpha = html
        .find(r#"<h3><a href="/runs?agent=alpha&#38;model=m1">alpha</a>"#)
        .expect("alpha card");
    let evil = html
        .find(&format!(
            r#"<h3><a href="/runs?agent={EVIL_URL}&#38;model={EVIL_URL}">{EVIL_HTML}</a>"#
        ))
        .expect("evil card");
    let gamma = html
        .find(r#"<h3><a href="/runs?agent=gamma">gamma</a>"#)
        .expect("gamma card");
    assert!(alpha < evil && evil < gamma);
    let card = &html[alpha..evil];
    for want in [
        "<dt>Runs</dt><dd>12</dd>",
        "<dt>Success</dt><dd>100%</dd>",
        "<dd>6.67 ± ",
        "<dd>$1.20 <span class=\"muted\">($0.1000 / run)</span>",
        "<dd>12.0k / 1,200</dd>",
        "<dt>Mean duration</dt><dd>1m 00s</dd>",
    ] {
        assert!(card.contains(want), "{want} in {card}");
    }
    let card = &html[evil..gamma];
    for want in [
        "<dd>12</dd>",
        "<dd>0%</dd>",
        "<dd>4.67 ± ",
        "<dd>$2.10 ",
        "($0.1750 / run)",
        "<dd>24.0k / 3,600</dd>",
        "<dd>2m 00s</dd>",
    ] {
        assert!(card.contains(want), "{want} in {card}");
    }
    let card = &html[gamma..];
    assert!(
        card.contains("<dt>Success</dt><dd>0%</dd>")
            && card.contains("<dt>Score (± 95% CI)</dt><dd>–</dd>"),
        "{card}"
    );
    // Heat map: one column per scenario, one row per pair, coloured by mean score.
    let heat = &html[html.find(r#"<table class="heatmap">"#).expect("heat map")..];
    assert!(
        heat.contains(r#"<a href="/suites?suite=starter&#38;scenario=s1">starter/<br>s1</a>"#),
        "{heat}"
    );
    let row = row_with(
        heat,
        r#"<th><a href="/runs?agent=alpha&#38;model=m1">alpha</a></th>"#,
    );
    // alpha on starter/s1: 5, 6, 8, 8 → 6.75; on s2: 7, 6, 4, 8 → 6.25; on s3: 6, 6, 8, 8 → 7.00.
    assert!(row.contains(r#"<td class="num heat heat-7" title="alpha · m1 on starter/s1: 4 runs, 100% successful, score 6.75 ± "#), "{row}");
    assert!(
        row.contains(">6.75</a>") && row.contains(">6.25</a>") && row.contains(">7.00</a>"),
        "{row}"
    );
    assert!(
        row.contains(r#"href="/runs?agent=alpha&#38;model=m1&#38;suite=starter&#38;scenario=s1""#),
        "{row}"
    );
    let row = row_with(heat, &format!(">{EVIL_HTML}</a></th>"));
    // EVIL on s1: 5, 4, 8, 4 → 5.25; s3: all 4.
    assert!(row.contains(r#"heat-5" title="&#60;img src=x onerror=1&#62; · &#60;img src=x onerror=1&#62; on starter/s1: 4 runs, 0% successful, score 5.25 ± "#), "{row}");
    assert!(
        row.contains(r#"<td class="num heat heat-4""#) && row.contains(">4.00</a>"),
        "{row}"
    );
    let row = row_with(heat, r#"<th><a href="/runs?agent=gamma">gamma</a></th>"#);
    assert!(row.contains(r#"<td class="num heat heat-none" title="gamma · – on starter/s1: 1 runs, 0% successful, score –">"#), "{row}");
    assert!(row.contains("gamma · – has no runs on starter/s2"), "{row}");
    assert_escaped("agents", &html);

    // Filters go through to the store.
    let (_, html) = get(&app, "/agents?batch=batch-two").await;
    assert!(
        html.contains("<dd>7.33 ± ") && html.contains("<dd>4.67 ± "),
        "{html}"
    );
    assert!(!html.contains(">gamma</a>"), "{html}");
}

#[tokio::test]
async fn suites_matrix_and_scenario_history() {
    let db = seeded().await;
    let app = db.app();
    let (status, html) = get(&app, "/suites").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains(r#"<h3><a href="/suites?suite=starter">starter</a></h3>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<h3><a href="/suites?suite=update-deps">update-deps</a></h3>"#),
        "{html}"
    );
    // starter/s1: L1 has alpha 5, 8, EVIL 5, 8 and gamma's unscored failure → 6.50 over 5 runs;
    // L2 has 6, 8, 4, 4 → 5.50 over 4.
    let row = row_with(
        &html,
        r#"<th><a href="/suites?suite=starter&#38;scenario=s1">s1</a></th>"#,
    );
    assert!(row.contains(r#"<a href="/suites?suite=starter&#38;scenario=s1&#38;tier=L1">6.50</a><br><span class="cell-runs">5 runs</span>"#), "{row}");
    assert!(
        row.contains(r#"title="starter/s1 L1: 5 runs, 40% successful, score 6.50 ± "#),
        "{row}"
    );
    assert!(
        row.contains(">5.50</a><br><span class=\"cell-runs\">4 runs</span>"),
        "{row}"
    );
    let row = row_with(
        &html,
        r#"<th><a href="/suites?suite=update-deps&#38;scenario=s3">s3</a></th>"#,
    );
    // s3 L1: 6, 8, 4, 4 → 5.50; L2 the same.
    assert_eq!(row.matches(">5.50</a>").count(), 2, "{row}");
    assert!(
        !html.contains("scenario-history"),
        "no history without a scenario"
    );

    // One scenario's history.
    let (status, html) = get(&app, "/suites?suite=starter&scenario=s1").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains(
            r#"<tr class="selected"><th><a href="/suites?suite=starter&#38;scenario=s1">s1</a>"#
        ),
        "{html}"
    );
    let hist = &html[html
        .find(r#"<section class="scenario-history">"#)
        .expect("history")..];
    assert!(hist.contains("<div class=\"v\">9</div>"), "runs: {hist}");
    assert!(
        hist.contains("<div class=\"v\">44%</div>"),
        "4 of 9 succeed: {hist}"
    );
    // Day means: 2026-03-01 (5, 6, 5, 4) → 5.00; 2026-03-02 (8, 8, 8, 4) → 7.00; gamma's day has no score.
    assert!(hist.contains("<svg class=\"chart\""), "{hist}");
    assert!(hist.contains("<title>2026-03-01: 5.00 ± "), "{hist}");
    assert!(hist.contains("<title>2026-03-02: 7.00 ± "), "{hist}");
    assert!(!hist.contains("2026-03-03:"), "{hist}");
    assert!(hist.contains(r#"class="whisker""#), "{hist}");
    let row = row_with(
        hist,
        r#"<a href="/runs?suite=starter&#38;scenario=s1&#38;agent=alpha&#38;model=m1">alpha</a>"#,
    );
    assert!(
        row.contains(">4</td>")
            && row.contains(">100%</td>")
            && row.contains(">6.75 ± ")
            && row.contains(">$0.4000</td>"),
        "{row}"
    );
    let row = row_with(hist, &format!(">{EVIL_HTML}</a></td><td>{EVIL_HTML}</td>"));
    assert!(
        row.contains(">5.25 ± ") && row.contains(">0%</td>"),
        "{row}"
    );
    let row = row_with(hist, ">gamma</a>");
    assert!(
        row.contains(">1</td>") && row.contains("<td>–</td>"),
        "{row}"
    );
    assert_escaped("suite history", &html);

    // A tier narrows the history; an unknown scenario says so.
    let (_, html) = get(&app, "/suites?suite=starter&scenario=s1&tier=L2").await;
    assert!(html.contains("<h2>starter/s1 · L2</h2>"), "{html}");
    assert!(
        html.contains("<title>2026-03-01: 5.00 ± ") && html.contains("<title>2026-03-02: 6.00 ± "),
        "{html}"
    );
    let (status, html) = get(&app, "/suites?suite=starter&scenario=nope").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("No runs of starter/nope match these filters."),
        "{html}"
    );
}

#[tokio::test]
async fn evaluators_pass_rate_mean_and_histogram() {
    let db = seeded().await;
    let app = db.app();
    let (status, html) = get(&app, "/evaluators").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    // Heuristic: weighted/10, mean 136/240 = 0.57; 14 of 24 at least 0.5.
    let row = row_with(&html, "<td>HeuristicChecksEvaluator</td>");
    assert_eq!(
        row,
        r#"<tr><td>HeuristicChecksEvaluator</td><td class="num">24</td><td class="num">50%</td><td class="num">0.57</td><td class="num">58%</td><td class="num">0%</td>"#
    );
    // Judge: always 3 of 4.
    let row = row_with(&html, "<td>LLMJudgeEvaluator</td>");
    assert_eq!(
        row,
        r#"<tr><td>LLMJudgeEvaluator</td><td class="num">24</td><td class="num">50%</td><td class="num">0.75</td><td class="num">100%</td><td class="num">0%</td>"#
    );
    // One chart per evaluator, ten buckets with their counts.
    let judge = &html[html.find("<h3>LLMJudgeEvaluator").expect("judge chart")..];
    assert!(judge.contains("· 24 scores"), "{judge}");
    assert!(
        judge.contains("<title>0.7–0.8: 24 scores</title>"),
        "{judge}"
    );
    assert!(
        judge.contains("<title>0.0–0.1: 0 scores</title>"),
        "{judge}"
    );
    assert!(
        judge.contains("<title>0.9–1.0: 0 scores</title>"),
        "{judge}"
    );
    let heur = &html[html
        .find("<h3>HeuristicChecksEvaluator")
        .expect("heuristic chart")..];
    // 0.4 appears 10 times (alpha once, EVIL nine times), 0.8 six times (alpha five, EVIL once).
    assert!(heur.contains("<title>0.4–0.5: 10 scores</title>"), "{heur}");
    assert!(heur.contains("<title>0.8–0.9: 6 scores</title>"), "{heur}");
    // Filters apply.
    let (_, html) = get(&app, "/evaluators?agent=alpha").await;
    let row = row_with(&html, "<td>HeuristicChecksEvaluator</td>");
    assert!(
        row.contains(">12</td><td class=\"num\">100%</td><td class=\"num\">0.67</td>"),
        "{row}"
    );
}

#[tokio::test]
async fn costs_table_pareto_and_daily_bars() {
    let db = seeded().await;
    let app = db.app();
    let (status, html) = get(&app, "/costs").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains(r#"<div class="k">Total cost</div><div class="v">$3.30</div>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<div class="k">Mean cost per run</div><div class="v">$0.1375</div>"#),
        "{html}"
    );
    // Most spent first: EVIL $2.10 (mean $0.175, 4.67 → 26.7 per $), alpha $1.20 ($0.10,
    // 6.67 → 66.7 per $), gamma nothing.
    let evil = html.find(&format!(">{EVIL_HTML}</a>")).expect("evil row");
    let alpha = html.find(">alpha</a>").expect("alpha row");
    let gamma = html.find(">gamma</a>").expect("gamma row");
    assert!(evil < alpha && alpha < gamma);
    let row = row_with(&html, &format!(">{EVIL_HTML}</a>"));
    assert!(row.ends_with(r#"<td class="num">12</td><td class="num">$2.10</td><td class="num">$0.1750</td><td class="num">24.0k</td><td class="num">3,600</td><td class="num">4.67</td><td class="num">26.7</td>"#), "{row}");
    assert!(!row.contains("frontier"), "EVIL is dominated: {row}");
    let row = row_with(&html, ">alpha</a>");
    assert!(row.starts_with(r#"<tr class="frontier-row">"#), "{row}");
    assert!(row.ends_with(r#"<td class="num">12</td><td class="num">$1.20</td><td class="num">$0.1000</td><td class="num">12.0k</td><td class="num">1,200</td><td class="num">6.67</td><td class="num">66.7</td>"#), "{row}");
    let row = row_with(&html, ">gamma</a>");
    assert!(row.ends_with(r#"<td class="num">1</td><td class="num">–</td><td class="num">–</td><td class="num">0</td><td class="num">0</td><td class="num">–</td><td class="num">–</td>"#), "{row}");
    // The scatter draws both plotted pairs, alpha on the frontier; the words list only alpha.
    let scatter = &html[html.find("<h2>Cost against score</h2>").unwrap()..];
    assert!(
        scatter.contains(r#"<circle class="dot frontier-dot""#),
        "{scatter}"
    );
    assert_eq!(scatter.matches("<circle class=").count(), 2, "{scatter}");
    assert!(
        scatter.contains("<title>alpha · m1: $0.1000 per run, score 6.67 ± "),
        "{scatter}"
    );
    let list = &scatter[scatter.find(r#"<ul class="frontier-list">"#).unwrap()..];
    let list = &list[..list.find("</ul>").unwrap()];
    assert_eq!(list.matches("<li>").count(), 1, "{list}");
    assert!(list.contains("<li>alpha · m1: $0.1000 per run for a mean score of 6.67 — cheapest for its score.</li>"), "{list}");
    // Daily spend: the 60 days up to 2026-03-03.
    assert!(
        html.contains("<title>2026-03-01: $2.40 over 12 runs</title>"),
        "{html}"
    );
    assert!(
        html.contains("<title>2026-03-02: $0.9000 over 12 runs</title>"),
        "{html}"
    );
    assert!(
        html.contains("<title>2026-03-03: $0.0000 over 1 run</title>"),
        "{html}"
    );
    assert!(
        html.contains("<title>2026-01-03: $0.0000 over 0 runs</title>"),
        "{html}"
    );
    assert!(!html.contains("2026-01-02:"), "{html}");
    assert!(html.contains("2026-01-03 to 2026-03-03"), "{html}");
    assert_escaped("costs", &html);

    // When EVIL is cheaper it joins the frontier (cheapest) and alpha stays (best score).
    let (_, html) = get(&app, "/costs?batch=batch-two").await;
    let list = &html[html.find(r#"<ul class="frontier-list">"#).unwrap()..];
    let list = &list[..list.find("</ul>").unwrap()];
    assert_eq!(list.matches("<li>").count(), 2, "{list}");
    assert!(
        list.contains(&format!("<li>{EVIL_HTML} · {EVIL_HTML}: $0.0500 per run")),
        "{list}"
    );
}

#[tokio::test]
async fn names_are_escaped_everywhere() {
    let db = seeded().await;
    let app = db.app();
    for uri in [
        "/agents",
        "/suites",
        "/suites?suite=starter&scenario=s1",
        "/costs",
        "/evaluators",
        "/batches/compare?ids=batch-one&ids=batch-two",
        "/batches/compare",
        &format!("/agents?agent={EVIL_URL}"),
        &format!("/costs?model={EVIL_URL}"),
        &format!("/suites?suite={EVIL_URL}&scenario={EVIL_URL}"),
        &format!("/evaluators?agent={EVIL_URL}"),
        &format!("/batches/compare?ids={EVIL_URL}"),
    ] {
        let (status, html) = get(&app, uri).await;
        assert!(status.is_success(), "{uri}: {status}");
        assert_escaped(uri, &html);
    }
    // The name does show, escaped, in text, tooltips, SVG labels and links.
    let (_, html) = get(&app, "/costs").await;
    assert!(html.contains("<text class=\"dot-label\""), "{html}");
    assert!(
        html.contains(&format!(
            "<title>{EVIL_SVG} · {EVIL_SVG}: $0.1750 per run, score 4.67 ± "
        )),
        "{html}"
    );
    let (_, html) = get(&app, &format!("/agents?agent={EVIL_URL}")).await;
    assert!(
        html.contains(&format!(r#"<input name="agent" value="{EVIL_HTML}">"#)),
        "{html}"
    );
    assert!(html.contains("<dd>4.67 ± "), "the filter matched: {html}");
}

#[tokio::test]
async fn empty_database_shows_empty_states() {
    let db = Db::new().await;
    let app = db.app();
    for (uri, want) in [
        ("/agents", "No runs yet, so no agents to show."),
        ("/suites", "No runs yet, so no suites to show."),
        ("/evaluators", "No evaluations yet."),
        ("/costs", "No runs yet, so nothing has been spent."),
        ("/batches/compare", "No batches yet."),
    ] {
        let (status, html) = get(&app, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(html.contains(want), "{uri}: {html}");
        assert!(
            html.contains("zebench demo") && html.contains("zebench batch --suite starter"),
            "{uri}"
        );
    }
    let (status, html) = get(&app, "/suites?suite=starter&scenario=s1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("No runs match these filters.")
            && html.contains(r#"<a href="/suites">Show every suite</a>"#),
        "{html}"
    );
    // Comparing batches that do not exist says so.
    let (status, html) = get(&app, "/batches/compare?ids=a&ids=b").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        html.contains("No batch named “a”, “b” in this database"),
        "{html}"
    );
    // A filter that matches nothing offers to clear it.
    let db = seeded().await;
    let app = db.app();
    let (_, html) = get(&app, "/costs?agent=nobody").await;
    assert!(
        html.contains("No runs match these filters.")
            && html.contains(r#"<a href="/costs">Show every cost</a>"#),
        "{html}"
    );
}

/// A scenario whose repeats disagree is flagged flaky on /suites; one whose repeats agree is not.
#[tokio::test]
async fn flaky_scenarios_are_flagged() {
    let db = Db::new().await;
    let mut runs: Vec<RunResult> = Vec::new();
    for i in 0..4 {
        for (scenario, ok) in [("wobbly", i % 2 == 0), ("steady", true)] {
            let v = json!({
                "runId": format!("{scenario}-{i}"), "suite": "s", "scenario": scenario, "tier": "L1",
                "agent": "a", "model": "m", "status": "completed", "startedAt": DAY1 + i * 60_000,
                "weightedScore": if ok { 9.0 } else { 3.0 }, "isSuccessful": ok
            });
            runs.push(serde_json::from_value(v).unwrap());
        }
    }
    db.store().submit_runs(runs).await.unwrap();
    let (status, html) = get(&db.app(), "/suites").await;
    assert_eq!(status, StatusCode::OK);
    let wobbly = row_with(&html, ">wobbly</a>");
    assert!(
        wobbly.contains(r#"data-testid="flaky">flaky 1.00<"#),
        "{wobbly}"
    );
    let steady = row_with(&html, ">steady</a>");
    assert!(!steady.contains("flaky"), "{steady}");
}
