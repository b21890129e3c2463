//! The dashboard queries (`grid`, `evaluator_histogram`, `list_runs_sorted`) on SQLite and
//! PostgreSQL: hand-computed expectations on a small data set, a reference model for every
//! key and pair of keys, and paging properties for every sort order.

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use zebench_core::{RunResult, Timestamp};
use zebench_store::testing::TestDb;
use zebench_store::{
    backend_tests, EvaluatorBucket, GridKey, GridRow, RunFilter, RunSort, Store, StoreError,
};

/// 2025-03-11T10:00:00Z.
const T0: i64 = 1_741_687_200_000;
const H: i64 = 3_600_000;
const D: i64 = 24 * H;

#[derive(Clone, Copy)]
struct Tele {
    cost: Option<f64>,
    tokens_in: Option<i64>,
    tokens_out: Option<i64>,
    calls: Option<i64>,
    duration: Option<i64>,
}

fn tele(cost: f64, tokens_in: i64, tokens_out: i64, calls: i64, duration: i64) -> Option<Tele> {
    Some(Tele {
        cost: Some(cost),
        tokens_in: Some(tokens_in),
        tokens_out: Some(tokens_out),
        calls: Some(calls),
        duration: Some(duration),
    })
}

#[derive(Clone)]
struct Spec {
    id: &'static str,
    batch: Option<&'static str>,
    suite: &'static str,
    scenario: &'static str,
    tier: &'static str,
    agent: &'static str,
    model: Option<&'static str>,
    status: &'static str,
    weighted: Option<f64>,
    total: Option<f64>,
    started: i64,
    meta: Option<Value>,
    tele: Option<Tele>,
    evals: Vec<(&'static str, f64, f64)>,
}

#[allow(clippy::too_many_arguments)]
fn spec(
    id: &'static str,
    batch: Option<&'static str>,
    suite: &'static str,
    scenario: &'static str,
    tier: &'static str,
    agent: &'static str,
    model: Option<&'static str>,
    status: &'static str,
    weighted: Option<f64>,
    started: i64,
) -> Spec {
    Spec {
        id,
        batch,
        suite,
        scenario,
        tier,
        agent,
        model,
        status,
        weighted,
        total: weighted.map(|w| w / 10.0),
        started,
        meta: Some(json!({"packageManager": "pnpm"})),
        tele: None,
        evals: vec![("HeuristicChecks", 0.8, 1.0), ("LLMJudge", 3.0, 4.0)],
    }
}

impl Spec {
    fn tele(mut self, t: Option<Tele>) -> Self {
        self.tele = t;
        self
    }
    fn meta(mut self, m: Option<Value>) -> Self {
        self.meta = m;
        self
    }
    fn error(self, error_type: &str) -> Self {
        self.meta(Some(
            json!({"error": "it broke", "errorType": error_type, "packageManager": "pnpm"}),
        ))
    }
    fn total(mut self, t: Option<f64>) -> Self {
        self.total = t;
        self
    }
    fn evals(mut self, e: Vec<(&'static str, f64, f64)>) -> Self {
        self.evals = e;
        self
    }

    fn to_result(&self) -> RunResult {
        let mut v = json!({
            "runId": self.id, "suite": self.suite, "scenario": self.scenario, "tier": self.tier,
            "agent": self.agent, "status": self.status,
            "startedAt": self.started, "completedAt": self.started + 1000,
            "isSuccessful": self.weighted.is_some_and(|w| w >= 7.0),
            "evaluations": self.evals.iter().map(|(n, s, m)| json!({"evaluatorName": n, "score": s, "maxScore": m})).collect::<Vec<_>>(),
        });
        if let Some(b) = self.batch {
            v["batchId"] = json!(b);
        }
        if let Some(m) = self.model {
            v["model"] = json!(m);
        }
        if let Some(w) = self.weighted {
            v["weightedScore"] = json!(w);
        }
        if let Some(t) = self.total {
            v["totalScore"] = json!(t);
        }
        if let Some(m) = &self.meta {
            v["metadata"] = m.clone();
        }
        if let Some(t) = self.tele {
            v["telemetry"] = json!({"costUsd": t.cost, "tokensIn": t.tokens_in, "tokensOut": t.tokens_out,
                                    "toolCalls": t.calls, "durationMs": t.duration});
        }
        serde_json::from_value(v).unwrap()
    }

    fn error_type(&self) -> Option<String> {
        self.meta
            .as_ref()?
            .get("errorType")?
            .as_str()
            .map(str::to_string)
    }

    fn key(&self, k: GridKey) -> Option<String> {
        match k {
            GridKey::Suite => Some(self.suite.into()),
            GridKey::Scenario => Some(self.scenario.into()),
            GridKey::Tier => Some(self.tier.into()),
            GridKey::Agent => Some(self.agent.into()),
            GridKey::Model => self.model.map(Into::into),
            GridKey::Batch => self.batch.map(Into::into),
            GridKey::Day => Some(Timestamp(self.started).to_iso()[..10].to_string()),
            GridKey::Status => Some(self.status.into()),
            GridKey::ErrorType => self.error_type(),
            GridKey::ScoreBucket => self
                .weighted
                .map(|w| (w.floor().clamp(0.0, 9.0) as i64).to_string()),
        }
    }

    /// The cost and duration as stored: no telemetry row when every figure is missing.
    fn cost(&self) -> Option<f64> {
        self.tele.and_then(|t| t.cost)
    }
    fn duration(&self) -> Option<i64> {
        self.tele.and_then(|t| t.duration)
    }
}

/// Evaluations at the edges of the buckets, on run r01.
fn edge_evals() -> Vec<(&'static str, f64, f64)> {
    vec![
        ("HeuristicChecks", 0.8, 1.0),
        ("LLMJudge", 3.0, 4.0),
        ("Edge", 0.0, 1.0),   // 0
        ("Edge", 0.05, 1.0),  // 0
        ("Edge", -1.0, 1.0),  // 0 (clamped)
        ("Edge", 0.1, 1.0),   // 1
        ("Edge", 0.2, 1e-7),  // maxScore below 1e-6: s = 0.2 → 2
        ("Edge", 0.35, 0.0),  // maxScore 0: s = 0.35 → 3
        ("Edge", 0.7, 1.0),   // 7
        ("Edge", 0.999, 1.0), // 9
        ("Edge", 1.0, 1.0),   // 10 → 9
        ("Edge", 5.0, 0.0),   // maxScore 0: s = 5 → 9
        ("Edge", 2.0, 1e-6),  // maxScore at 1e-6 divides: s = 2e6 → 9
    ]
}

/// 21 runs over two batches (and none), three agents, failed runs with and without an error
/// type, runs without model, score, telemetry or cost; ties in every sort column.
#[rustfmt::skip]
fn specs() -> Vec<Spec> {
    let (b1, b2) = (Some("b1"), Some("b2"));
    let (m1, m2, m3) = (Some("m1"), Some("m2"), Some("m3"));
    let (ok, failed) = ("completed", "failed");
    let no_duration = Some(Tele { cost: Some(0.05), tokens_in: Some(50), tokens_out: Some(5), calls: Some(1), duration: None });
    let no_cost = Some(Tele { cost: None, tokens_in: Some(10), tokens_out: Some(1), calls: Some(0), duration: Some(100) });
    vec![
        spec("r01", b1, "s1", "c1", "L1", "alpha", m1, ok, Some(0.0), T0).tele(tele(0.10, 100, 10, 1, 1000)).meta(None).evals(edge_evals()),
        spec("r02", b1, "s1", "c1", "L1", "alpha", m1, ok, Some(9.99), T0).tele(tele(0.20, 200, 20, 2, 2000)),
        spec("r03", b1, "s1", "c2", "L2", "alpha", m2, ok, Some(10.0), T0 + 1).tele(tele(0.30, 300, 30, 3, 3000)),
        spec("r04", b1, "s1", "c2", "L2", "beta", m2, ok, Some(5.5), T0 + D).tele(tele(0.25, 100, 10, 1, 4000)),
        spec("r05", b1, "s2", "c3", "L1", "beta", None, ok, Some(7.0), T0 + D).tele(tele(0.25, 100, 10, 1, 4000)),
        spec("r06", b1, "s2", "c3", "L1", "beta", m1, failed, None, T0 + D + H).tele(tele(0.05, 50, 5, 1, 500)).error("timeout"),
        spec("r07", b2, "s1", "c1", "L1", "Gamma", m3, failed, None, T0 + 2 * D).error("crash")
            .evals(vec![("HeuristicChecks", 0.8, 1.0), ("LLMJudge", 3.0, 4.0), ("alpha-lower", 0.5, 1.0)]),
        spec("r08", b2, "s1", "c1", "L2", "Gamma", m3, failed, None, T0 + 2 * D).tele(no_duration).error("timeout"),
        spec("r09", b2, "s2", "c3", "L2", "alpha", m1, failed, None, T0 + 2 * D + H).tele(tele(0.01, 10, 1, 1, 100))
            .meta(Some(json!({"reason": "no error type here"}))),
        spec("r10", b2, "s2", "c3", "L1", "alpha", m1, ok, None, T0 + 3 * D).tele(no_cost),
        spec("r11", None, "s1", "c1", "L1", "beta", m2, ok, Some(3.25), T0 + 3 * D).tele(tele(0.5, 500, 50, 5, 5000)),
        spec("r12", None, "s1", "c2", "L2", "Gamma", None, ok, Some(8.5), T0 + 3 * D).evals(vec![]),
        spec("r13", b2, "s1", "c1", "L1", "alpha", m1, failed, None, T0 + 4 * D).tele(tele(0.02, 20, 2, 2, 200))
            .total(Some(0.4)).meta(Some(json!({"errorType": 42}))),
        spec("r14", b2, "s2", "c3", "L1", "beta", m2, ok, Some(5.5), T0 + 4 * D).tele(tele(0.25, 100, 10, 1, 4000))
            .meta(Some(json!({"x": {"errorType": "nested"}}))),
        // PostgreSQL's JSON operators refuse \u0000 anywhere in the document.
        spec("r15", b1, "s2", "c3", "L2", "Gamma", m3, failed, None, T0 + 4 * D + 1).tele(tele(0.03, 30, 3, 3, 300))
            .meta(Some(json!({"note": "a\u{0}b", "errorType": "oom"}))),
        spec("r16", None, "s1", "c1", "L1", "alpha", m1, ok, Some(0.5), T0 + 5 * D).tele(tele(0.0, 0, 0, 0, 0)),
        spec("r17", b1, "s1", "c1", "L1", "alpha", m1, ok, Some(5.5), T0 + 5 * D).tele(tele(0.25, 100, 10, 1, 4000)),
        spec("r18", b2, "s2", "c3", "L2", "beta", m1, failed, None, T0 + 5 * D).tele(tele(0.05, 50, 5, 1, 500)).error("crash"),
        spec("r_19", b1, "s1", "c1", "L1", "beta", m1, ok, Some(6.0), T0 + 6 * D).tele(tele(0.4, 400, 40, 4, 6000)),
        spec("r%20", b2, "s1", "c2", "L2", "beta", m1, ok, Some(6.0), T0 + 6 * D).tele(tele(0.4, 400, 40, 4, 6000)),
        spec("r\\21", None, "s2", "c3", "L1", "Gamma", m3, ok, Some(2.0), T0 + 6 * D).evals(vec![]),
    ]
}

async fn seed(store: &Store) -> Vec<Spec> {
    let specs = specs();
    // Two submissions, so both the group path and a later insert are covered.
    let (a, b) = specs.split_at(10);
    store
        .submit_runs(a.iter().map(Spec::to_result).collect())
        .await
        .unwrap();
    store
        .submit_runs(b.iter().map(Spec::to_result).collect())
        .await
        .unwrap();
    specs
}

fn all() -> RunFilter {
    RunFilter::default()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn close_opt(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => close(a, b),
        (None, None) => true,
        _ => false,
    }
}

fn assert_row_eq(got: &GridRow, want: &GridRow, ctx: &str) {
    assert_eq!(got.keys, want.keys, "{ctx}");
    assert_eq!(
        (
            got.runs,
            got.completed_runs,
            got.failed_runs,
            got.successful_runs
        ),
        (
            want.runs,
            want.completed_runs,
            want.failed_runs,
            want.successful_runs
        ),
        "{ctx} {:?}",
        got.keys
    );
    assert_eq!(
        (
            got.weighted_n,
            got.cost_n,
            got.tokens_in,
            got.tokens_out,
            got.tool_calls
        ),
        (
            want.weighted_n,
            want.cost_n,
            want.tokens_in,
            want.tokens_out,
            want.tool_calls
        ),
        "{ctx} {:?}",
        got.keys
    );
    assert_eq!(
        (got.first_started_at, got.last_started_at),
        (want.first_started_at, want.last_started_at),
        "{ctx} {:?}",
        got.keys
    );
    assert!(
        close_opt(got.avg_weighted_score, want.avg_weighted_score)
            && close_opt(got.weighted_stddev, want.weighted_stddev)
            && close_opt(got.avg_total_score, want.avg_total_score)
            && close_opt(got.avg_duration_ms, want.avg_duration_ms)
            && close(got.cost_usd, want.cost_usd),
        "{ctx}: got {got:?}, want {want:?}"
    );
}

/// The grid computed in Rust from the specs: the reference the SQL must agree with.
fn model(specs: &[Spec], keys: &[GridKey], keep: impl Fn(&Spec) -> bool) -> Vec<GridRow> {
    // Missing values sort after every string.
    let mut groups: BTreeMap<Vec<(bool, String)>, Vec<&Spec>> = BTreeMap::new();
    for s in specs.iter().filter(|s| keep(s)) {
        let k = keys
            .iter()
            .map(|k| match s.key(*k) {
                Some(v) => (false, v),
                None => (true, String::new()),
            })
            .collect();
        groups.entry(k).or_default().push(s);
    }
    groups
        .into_iter()
        .map(|(k, runs)| {
            let weighted: Vec<f64> = runs.iter().filter_map(|s| s.weighted).collect();
            let totals: Vec<f64> = runs.iter().filter_map(|s| s.total).collect();
            let durations: Vec<f64> = runs
                .iter()
                .filter_map(|s| s.duration())
                .map(|d| d as f64)
                .collect();
            let mean =
                |xs: &[f64]| (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
            let avg = mean(&weighted);
            let sum_i = |f: fn(&Tele) -> Option<i64>| {
                runs.iter()
                    .filter_map(|s| s.tele.as_ref().and_then(f))
                    .sum::<i64>()
            };
            GridRow {
                keys: k
                    .into_iter()
                    .map(|(none, v)| (!none).then_some(v))
                    .collect(),
                runs: runs.len() as i64,
                completed_runs: runs.iter().filter(|s| s.status == "completed").count() as i64,
                failed_runs: runs.iter().filter(|s| s.status == "failed").count() as i64,
                successful_runs: runs
                    .iter()
                    .filter(|s| s.status == "completed" && s.weighted.is_some_and(|w| w >= 7.0))
                    .count() as i64,
                avg_weighted_score: avg,
                weighted_n: weighted.len() as i64,
                weighted_stddev: avg.map(|m| {
                    (weighted.iter().map(|w| (w - m) * (w - m)).sum::<f64>()
                        / weighted.len() as f64)
                        .sqrt()
                }),
                avg_total_score: mean(&totals),
                cost_usd: runs.iter().filter_map(|s| s.cost()).sum(),
                cost_n: runs.iter().filter(|s| s.cost().is_some()).count() as i64,
                tokens_in: sum_i(|t| t.tokens_in),
                tokens_out: sum_i(|t| t.tokens_out),
                tool_calls: sum_i(|t| t.calls),
                avg_duration_ms: mean(&durations),
                first_started_at: runs.iter().map(|s| s.started).min().unwrap(),
                last_started_at: runs.iter().map(|s| s.started).max().unwrap(),
            }
        })
        .collect()
}

fn assert_grid_eq(got: &[GridRow], want: &[GridRow], ctx: &str) {
    let keys = |rows: &[GridRow]| rows.iter().map(|r| r.keys.clone()).collect::<Vec<_>>();
    assert_eq!(keys(got), keys(want), "{ctx}");
    for (g, w) in got.iter().zip(want) {
        assert_row_eq(g, w, ctx);
    }
}

fn keys_of(rows: &[GridRow]) -> Vec<(Vec<Option<&str>>, i64)> {
    rows.iter()
        .map(|r| (r.keys.iter().map(|k| k.as_deref()).collect(), r.runs))
        .collect()
}

backend_tests!(grid_by_agent_hand_computed, |db: TestDb| async move {
    seed(&db.store).await;
    let rows = db
        .store
        .grid(&all(), &[], &[GridKey::Agent], 100)
        .await
        .unwrap();
    // Byte order on both backends: uppercase before lowercase.
    assert_eq!(
        keys_of(&rows),
        [
            (vec![Some("Gamma")], 5),
            (vec![Some("alpha")], 8),
            (vec![Some("beta")], 8)
        ]
    );
    let gamma = GridRow {
        keys: vec![Some("Gamma".into())],
        runs: 5,
        completed_runs: 2,
        failed_runs: 3,
        successful_runs: 1,
        avg_weighted_score: Some(5.25),
        weighted_n: 2,
        weighted_stddev: Some(3.25),
        avg_total_score: Some(0.525),
        cost_usd: 0.08,
        cost_n: 2,
        tokens_in: 80,
        tokens_out: 8,
        tool_calls: 4,
        avg_duration_ms: Some(300.0),
        first_started_at: T0 + 2 * D,
        last_started_at: T0 + 6 * D,
    };
    assert_row_eq(&rows[0], &gamma, "Gamma");
    let alpha = GridRow {
        keys: vec![Some("alpha".into())],
        runs: 8,
        completed_runs: 6,
        failed_runs: 2,
        successful_runs: 2,
        avg_weighted_score: Some(25.99 / 5.0),
        weighted_n: 5,
        // 0, 9.99, 10, 0.5, 5.5
        weighted_stddev: Some(
            ((0.0f64 * 0.0 + 9.99 * 9.99 + 100.0 + 0.25 + 30.25) / 5.0 - (25.99f64 / 5.0).powi(2))
                .sqrt(),
        ),
        avg_total_score: Some(2.999 / 6.0),
        cost_usd: 0.88,
        cost_n: 7,
        tokens_in: 740,
        tokens_out: 74,
        tool_calls: 10,
        avg_duration_ms: Some(1300.0),
        first_started_at: T0,
        last_started_at: T0 + 5 * D,
    };
    assert_row_eq(&rows[1], &alpha, "alpha");
    let beta = &rows[2];
    assert_eq!(
        (
            beta.completed_runs,
            beta.failed_runs,
            beta.successful_runs,
            beta.weighted_n,
            beta.cost_n
        ),
        (6, 2, 1, 6, 8)
    );
    assert!(close(beta.avg_weighted_score.unwrap(), 33.25 / 6.0));
    assert!(close(beta.cost_usd, 2.15));
    assert_eq!(
        (beta.tokens_in, beta.tokens_out, beta.tool_calls),
        (1700, 170, 18)
    );
    assert_eq!(beta.avg_duration_ms, Some(3750.0));
    db
});

backend_tests!(
    grid_by_error_type_status_and_score_bucket,
    |db: TestDb| async move {
        seed(&db.store).await;
        let rows = db
            .store
            .grid(&all(), &[], &[GridKey::ErrorType], 100)
            .await
            .unwrap();
        // A number, a nested key and metadata without the key count as no error type; a
        // document holding \u0000 elsewhere still yields its error type.
        assert_eq!(
            keys_of(&rows),
            [
                (vec![Some("crash")], 2),
                (vec![Some("oom")], 1),
                (vec![Some("timeout")], 2),
                (vec![None], 16)
            ]
        );
        let rows = db
            .store
            .grid(&all(), &[], &[GridKey::Status, GridKey::ErrorType], 100)
            .await
            .unwrap();
        assert_eq!(
            keys_of(&rows),
            [
                (vec![Some("completed"), None], 14),
                (vec![Some("failed"), Some("crash")], 2),
                (vec![Some("failed"), Some("oom")], 1),
                (vec![Some("failed"), Some("timeout")], 2),
                (vec![Some("failed"), None], 2),
            ]
        );
        let rows = db
            .store
            .grid(&all(), &[], &[GridKey::ScoreBucket], 100)
            .await
            .unwrap();
        // 0 and 0.5 → "0"; 9.99 and 10 → "9"; no score → None, last.
        assert_eq!(
            keys_of(&rows),
            [
                (vec![Some("0")], 2),
                (vec![Some("2")], 1),
                (vec![Some("3")], 1),
                (vec![Some("5")], 3),
                (vec![Some("6")], 2),
                (vec![Some("7")], 1),
                (vec![Some("8")], 1),
                (vec![Some("9")], 2),
                (vec![None], 8),
            ]
        );
        let nine = &rows[7];
        assert!(close(nine.avg_weighted_score.unwrap(), 9.995));
        assert!(close(nine.weighted_stddev.unwrap(), 0.005));
        let none = &rows[8];
        assert_eq!(
            (
                none.weighted_n,
                none.avg_weighted_score,
                none.weighted_stddev
            ),
            (0, None, None)
        );
        // r13 has a total score without a weighted one.
        assert!(close(none.avg_total_score.unwrap(), 0.4));
        db
    }
);

backend_tests!(grid_by_batch_model_and_day, |db: TestDb| async move {
    seed(&db.store).await;
    let rows = db
        .store
        .grid(&all(), &[], &[GridKey::Batch], 100)
        .await
        .unwrap();
    assert_eq!(
        keys_of(&rows),
        [
            (vec![Some("b1")], 9),
            (vec![Some("b2")], 8),
            (vec![None], 4)
        ]
    );
    let rows = db
        .store
        .grid(&all(), &[], &[GridKey::Model], 100)
        .await
        .unwrap();
    assert_eq!(
        keys_of(&rows),
        [
            (vec![Some("m1")], 11),
            (vec![Some("m2")], 4),
            (vec![Some("m3")], 4),
            (vec![None], 2)
        ]
    );
    let rows = db
        .store
        .grid(&all(), &[], &[GridKey::Day], 100)
        .await
        .unwrap();
    let days: Vec<_> = (11..=17)
        .map(|d| (vec![Some(format!("2025-03-{d}"))], 3))
        .collect();
    let got: Vec<_> = rows.iter().map(|r| (r.keys.clone(), r.runs)).collect();
    assert_eq!(got, days);
    // The limit keeps the first groups in key order.
    let rows = db
        .store
        .grid(&all(), &[], &[GridKey::Day], 2)
        .await
        .unwrap();
    assert_eq!(
        keys_of(&rows),
        [(vec![Some("2025-03-11")], 3), (vec![Some("2025-03-12")], 3)]
    );
    // No keys: one row over everything.
    let rows = db.store.grid(&all(), &[], &[], 100).await.unwrap();
    assert_eq!(keys_of(&rows), [(vec![], 21)]);
    assert_eq!(
        (rows[0].first_started_at, rows[0].last_started_at),
        (T0, T0 + 6 * D)
    );
    db
});

backend_tests!(
    grid_agrees_with_a_model_for_every_key_and_pair,
    |db: TestDb| async move {
        let specs = seed(&db.store).await;
        let mut combos: Vec<Vec<GridKey>> = vec![vec![]];
        for a in GridKey::ALL {
            combos.push(vec![a]);
            for b in GridKey::ALL {
                if a != b {
                    combos.push(vec![a, b]);
                }
            }
        }
        combos.push(vec![GridKey::Suite, GridKey::Tier, GridKey::ErrorType]);
        combos.push(vec![
            GridKey::Batch,
            GridKey::Agent,
            GridKey::Model,
            GridKey::Day,
        ]);
        for keys in &combos {
            let got = db.store.grid(&all(), &[], keys, 1000).await.unwrap();
            assert_grid_eq(&got, &model(&specs, keys, |_| true), &format!("{keys:?}"));
        }
        db
    }
);

backend_tests!(grid_filters_and_batch_lists, |db: TestDb| async move {
    let specs = seed(&db.store).await;
    let b = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let keys = [GridKey::Status, GridKey::Agent];

    // Filters alone, with the same meaning as in list_runs.
    let f = RunFilter {
        agent: Some("alpha".into()),
        ..Default::default()
    };
    let got = db.store.grid(&f, &[], &keys, 100).await.unwrap();
    assert_grid_eq(&got, &model(&specs, &keys, |s| s.agent == "alpha"), "agent");
    let f = RunFilter {
        since: Some(T0 + 3 * D),
        until: Some(T0 + 5 * D),
        ..Default::default()
    };
    let got = db.store.grid(&f, &[], &[], 100).await.unwrap();
    assert_eq!(got[0].runs, 6, "r10..r15");
    let f = RunFilter {
        suite: Some("s1".into()),
        tier: Some("L1".into()),
        status: Some("completed".into()),
        model: Some("m1".into()),
        ..Default::default()
    };
    let got = db
        .store
        .grid(&f, &[], &[GridKey::Batch], 100)
        .await
        .unwrap();
    assert_grid_eq(
        &got,
        &model(&specs, &[GridKey::Batch], |s| {
            s.suite == "s1" && s.tier == "L1" && s.status == "completed" && s.model == Some("m1")
        }),
        "suite+tier+status+model",
    );

    // Batch lists.
    let got = db
        .store
        .grid(&all(), &b(&["b2"]), &keys, 100)
        .await
        .unwrap();
    assert_grid_eq(
        &got,
        &model(&specs, &keys, |s| s.batch == Some("b2")),
        "batches [b2]",
    );
    let got = db
        .store
        .grid(&all(), &b(&["b1", "b2", "nope"]), &[GridKey::Batch], 100)
        .await
        .unwrap();
    assert_eq!(
        keys_of(&got),
        [(vec![Some("b1")], 9), (vec![Some("b2")], 8)]
    );
    // Filter and batch list together.
    let f = RunFilter {
        agent: Some("alpha".into()),
        ..Default::default()
    };
    let got = db
        .store
        .grid(&f, &b(&["b2"]), &[GridKey::Status], 100)
        .await
        .unwrap();
    assert_eq!(
        keys_of(&got),
        [(vec![Some("completed")], 1), (vec![Some("failed")], 2)]
    );
    let f = RunFilter {
        batch_id: Some("b1".into()),
        ..Default::default()
    };
    assert!(db
        .store
        .grid(&f, &b(&["b2"]), &keys, 100)
        .await
        .unwrap()
        .is_empty());
    // Nothing matches: no rows, also without keys.
    let f = RunFilter {
        agent: Some("nobody".into()),
        ..Default::default()
    };
    assert!(db.store.grid(&f, &[], &[], 100).await.unwrap().is_empty());
    assert!(db.store.grid(&f, &[], &keys, 100).await.unwrap().is_empty());
    db
});

backend_tests!(grid_on_an_empty_database, |db: TestDb| async move {
    assert!(db
        .store
        .grid(&all(), &[], &[], 10)
        .await
        .unwrap()
        .is_empty());
    assert!(db
        .store
        .grid(&all(), &[], &GridKey::ALL, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(db
        .store
        .evaluator_histogram(&all(), &[])
        .await
        .unwrap()
        .is_empty());
    let page = db
        .store
        .list_runs_sorted(&all(), None, RunSort::CostDesc, 10, None)
        .await
        .unwrap();
    assert!(page.items.is_empty() && page.next.is_none());
    db
});

backend_tests!(
    error_type_ignores_metadata_that_is_not_json,
    |db: TestDb| async move {
        seed(&db.store).await;
        // The store always writes JSON objects; text written some other way must not break
        // the query (SQLite checks json_valid; PostgreSQL only parses text starting with `{`).
        let sql =
            "UPDATE runs SET metadata = 'plain text mentioning \"errorType\"' WHERE run_id = 'r06'";
        match &db.schema {
            Some(schema) => {
                let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
                let sql = sql.replace("UPDATE runs", &format!("UPDATE {schema}.runs"));
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
            None => {
                let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                sqlx::query(
                    "UPDATE runs SET metadata = '{\"errorType\": broken' WHERE run_id = 'r08'",
                )
                .execute(&pool)
                .await
                .unwrap();
                pool.close().await;
            }
        }
        let rows = db
            .store
            .grid(&all(), &[], &[GridKey::ErrorType], 100)
            .await
            .unwrap();
        let timeouts = if db.schema.is_some() { 1 } else { 0 };
        let mut want = vec![(vec![Some("crash")], 2), (vec![Some("oom")], 1)];
        if timeouts > 0 {
            want.push((vec![Some("timeout")], timeouts));
        }
        want.push((vec![None], 21 - 3 - timeouts));
        assert_eq!(keys_of(&rows), want);
        db
    }
);

fn bucket(evaluator: &str, bucket: i64, count: i64) -> EvaluatorBucket {
    EvaluatorBucket {
        evaluator: evaluator.into(),
        bucket,
        count,
    }
}

backend_tests!(evaluator_histogram_buckets, |db: TestDb| async move {
    seed(&db.store).await;
    let got = db.store.evaluator_histogram(&all(), &[]).await.unwrap();
    assert_eq!(
        got,
        [
            bucket("Edge", 0, 3),
            bucket("Edge", 1, 1),
            bucket("Edge", 2, 1),
            bucket("Edge", 3, 1),
            bucket("Edge", 7, 1),
            bucket("Edge", 9, 4),
            bucket("HeuristicChecks", 8, 19),
            bucket("LLMJudge", 7, 19),
            bucket("alpha-lower", 5, 1),
        ]
    );
    // Filters and batch lists narrow the runs whose evaluations count.
    let f = RunFilter {
        agent: Some("alpha".into()),
        ..Default::default()
    };
    let got = db
        .store
        .evaluator_histogram(&f, &["b1".to_string()])
        .await
        .unwrap();
    let summary: Vec<(String, i64)> = got.iter().fold(Vec::<(String, i64)>::new(), |mut acc, b| {
        match acc.last_mut() {
            Some((e, n)) if *e == b.evaluator => *n += b.count,
            _ => acc.push((b.evaluator.clone(), b.count)),
        }
        acc
    });
    assert_eq!(
        summary,
        [
            ("Edge".to_string(), 11),
            ("HeuristicChecks".to_string(), 4),
            ("LLMJudge".to_string(), 4)
        ]
    );
    let f = RunFilter {
        agent: Some("Gamma".into()),
        ..Default::default()
    };
    assert_eq!(
        db.store.evaluator_histogram(&f, &[]).await.unwrap(),
        [
            bucket("HeuristicChecks", 8, 3),
            bucket("LLMJudge", 7, 3),
            bucket("alpha-lower", 5, 1)
        ]
    );
    assert!(db
        .store
        .evaluator_histogram(&all(), &["nope".to_string()])
        .await
        .unwrap()
        .is_empty());
    db
});

/// The value a sort orders by, for the reference order.
fn sort_value(s: &Spec, sort: RunSort) -> Option<f64> {
    match sort {
        RunSort::Newest | RunSort::Oldest => Some(s.started as f64),
        RunSort::ScoreDesc | RunSort::ScoreAsc => s.weighted,
        RunSort::CostDesc => s.cost(),
        RunSort::DurationDesc => s.duration().map(|d| d as f64),
    }
}

/// Run ids in `sort` order, as documented: values present first, in the sort's direction, ties
/// by primary key in the same direction, then runs without a value by key.
fn expected_order(specs: &[&Spec], pks: &HashMap<String, i64>, sort: RunSort) -> Vec<String> {
    let desc = matches!(
        sort,
        RunSort::Newest | RunSort::ScoreDesc | RunSort::CostDesc | RunSort::DurationDesc
    );
    let mut v: Vec<(&Spec, Option<f64>, i64)> = specs
        .iter()
        .map(|s| (*s, sort_value(s, sort), pks[s.id]))
        .collect();
    v.sort_by(|a, b| {
        let by_value = match (a.1, b.1) {
            (Some(x), Some(y)) => {
                if desc {
                    y.total_cmp(&x)
                } else {
                    x.total_cmp(&y)
                }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        by_value.then(if desc { b.2.cmp(&a.2) } else { a.2.cmp(&b.2) })
    });
    v.into_iter().map(|(s, _, _)| s.id.to_string()).collect()
}

/// Which specs a case expects.
type Keep = Box<dyn Fn(&Spec) -> bool>;

/// Pages through everything with `page` runs a page; fails on a repeated run.
async fn page_all(
    store: &Store,
    filter: &RunFilter,
    search: Option<&str>,
    sort: RunSort,
    page: u32,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut ids = HashSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let p = store
            .list_runs_sorted(filter, search, sort, page, cursor.as_deref())
            .await
            .unwrap();
        assert!(p.items.len() <= page as usize);
        for r in &p.items {
            assert!(
                ids.insert(r.run.run_id.clone()),
                "{sort}/{page}: {} twice",
                r.run.run_id
            );
            seen.push(r.run.run_id.clone());
        }
        match p.next {
            Some(c) => {
                assert_eq!(p.items.len(), page as usize, "only full pages have a next");
                cursor = Some(c)
            }
            None => return seen,
        }
    }
    panic!("paging did not end");
}

async fn primary_keys(store: &Store) -> HashMap<String, i64> {
    let page = store.list_runs(&all(), 1000, None).await.unwrap();
    page.items.into_iter().map(|r| (r.run_id, r.id)).collect()
}

backend_tests!(
    sorted_lists_page_through_every_run_once,
    |db: TestDb| async move {
        let specs = seed(&db.store).await;
        let pks = primary_keys(&db.store).await;
        let everything: Vec<&Spec> = specs.iter().collect();
        for sort in RunSort::ALL {
            let want = expected_order(&everything, &pks, sort);
            let one = db
                .store
                .list_runs_sorted(&all(), None, sort, 100, None)
                .await
                .unwrap();
            assert!(one.next.is_none());
            let got: Vec<String> = one.items.iter().map(|r| r.run.run_id.clone()).collect();
            assert_eq!(got, want, "{sort}");
            for page in [1, 2, 3, 4, 5, 7, 20, 21, 22] {
                assert_eq!(
                    page_all(&db.store, &all(), None, sort, page).await,
                    want,
                    "{sort} by {page}"
                );
            }
        }
        // Missing values last in both directions of the score.
        for sort in [RunSort::ScoreDesc, RunSort::ScoreAsc] {
            let p = db
                .store
                .list_runs_sorted(&all(), None, sort, 100, None)
                .await
                .unwrap();
            let missing: Vec<bool> = p
                .items
                .iter()
                .map(|r| r.run.weighted_score.is_none())
                .collect();
            assert_eq!(missing.iter().filter(|m| **m).count(), 8);
            assert!(
                missing.windows(2).all(|w| w[0] <= w[1]),
                "{sort}: {missing:?}"
            );
        }
        // The telemetry figures come along; runs without telemetry have none.
        let p = db
            .store
            .list_runs_sorted(&all(), None, RunSort::CostDesc, 100, None)
            .await
            .unwrap();
        assert_eq!(p.items[0].run.run_id, "r11");
        assert_eq!(
            (
                p.items[0].cost_usd,
                p.items[0].duration_ms,
                p.items[0].tool_calls,
                p.items[0].tokens_in,
                p.items[0].tokens_out
            ),
            (Some(0.5), Some(5000), Some(5), Some(500), Some(50))
        );
        let last = p.items.last().unwrap();
        assert!(last.cost_usd.is_none());
        let r12 = p.items.iter().find(|r| r.run.run_id == "r12").unwrap();
        assert_eq!(
            (r12.cost_usd, r12.duration_ms, r12.tool_calls),
            (None, None, None)
        );
        db
    }
);

backend_tests!(
    sorted_lists_with_filters_and_search,
    |db: TestDb| async move {
        let specs = seed(&db.store).await;
        let pks = primary_keys(&db.store).await;
        let cases: Vec<(RunFilter, Option<&str>, Keep)> = vec![
            (
                RunFilter {
                    agent: Some("beta".into()),
                    ..Default::default()
                },
                None,
                Box::new(|s: &Spec| s.agent == "beta"),
            ),
            (
                all(),
                Some("GAMMA"),
                Box::new(|s: &Spec| s.agent == "Gamma"),
            ),
            (
                all(),
                Some("m3"),
                Box::new(|s: &Spec| s.model == Some("m3")),
            ),
            (
                all(),
                Some("r1"),
                Box::new(|s: &Spec| s.id.starts_with("r1")),
            ),
            (
                RunFilter {
                    batch_id: Some("b1".into()),
                    ..Default::default()
                },
                Some("S2"),
                Box::new(|s: &Spec| s.batch == Some("b1") && s.suite == "s2"),
            ),
            // Wildcards and the escape character match themselves.
            (all(), Some("_"), Box::new(|s: &Spec| s.id == "r_19")),
            (all(), Some("%"), Box::new(|s: &Spec| s.id == "r%20")),
            (all(), Some("\\"), Box::new(|s: &Spec| s.id == "r\\21")),
            (all(), Some("r%2"), Box::new(|s: &Spec| s.id == "r%20")),
            (all(), Some(""), Box::new(|_: &Spec| true)),
            (all(), Some("zzz"), Box::new(|_: &Spec| false)),
        ];
        for (filter, search, keep) in &cases {
            let subset: Vec<&Spec> = specs.iter().filter(|s| keep(s)).collect();
            for sort in RunSort::ALL {
                let want = expected_order(&subset, &pks, sort);
                for page in [1, 3, 100] {
                    assert_eq!(
                        page_all(&db.store, filter, *search, sort, page).await,
                        want,
                        "{filter:?} {search:?} {sort} by {page}"
                    );
                }
            }
        }
        db
    }
);

backend_tests!(sorted_list_cursor_errors, |db: TestDb| async move {
    seed(&db.store).await;
    let p = db
        .store
        .list_runs_sorted(&all(), None, RunSort::Newest, 2, None)
        .await
        .unwrap();
    let newest = p.next.unwrap();
    // The cursor works for its own sort…
    db.store
        .list_runs_sorted(&all(), None, RunSort::Newest, 2, Some(&newest))
        .await
        .unwrap();
    // …and is refused by every other.
    for sort in RunSort::ALL.into_iter().filter(|s| *s != RunSort::Newest) {
        let err = db
            .store
            .list_runs_sorted(&all(), None, sort, 2, Some(&newest))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::InvalidCursor(m) if m.contains("newest")),
            "{sort}: {err}"
        );
        assert!(err.is_bad_request());
    }
    // A cursor among the runs without a score pages on in that order only.
    let score = db
        .store
        .list_runs_sorted(&all(), None, RunSort::ScoreDesc, 15, None)
        .await
        .unwrap()
        .next
        .unwrap();
    assert!(score.contains(":null:"), "{score}");
    let rest = db
        .store
        .list_runs_sorted(&all(), None, RunSort::ScoreDesc, 15, Some(&score))
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 6);
    assert!(db
        .store
        .list_runs_sorted(&all(), None, RunSort::ScoreAsc, 15, Some(&score))
        .await
        .is_err());
    for bad in [
        "garbage",
        "",
        "123_45",
        "s:newest:abc:1",
        "s:newest:1",
        "s:newest:null:5",
        "s:score-desc:NaN:5",
        "s:unknown:1:1",
    ] {
        let sort = if bad.contains("score") {
            RunSort::ScoreDesc
        } else {
            RunSort::Newest
        };
        let err = db
            .store
            .list_runs_sorted(&all(), None, sort, 2, Some(bad))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidCursor(_)),
            "{bad:?}: {err}"
        );
    }
    db
});

backend_tests!(sorted_list_limits_are_clamped, |db: TestDb| async move {
    let runs: Vec<RunResult> = (0..505)
        .map(|i| {
            spec(
                "x",
                None,
                "s",
                "c",
                "L1",
                "a",
                None,
                "completed",
                Some((i % 11) as f64),
                T0 + i,
            )
            .to_result()
        })
        .enumerate()
        .map(|(i, mut r)| {
            r.run_id = format!("x{i:03}");
            r
        })
        .collect();
    db.store.submit_runs(runs).await.unwrap();
    let p = db
        .store
        .list_runs_sorted(&all(), None, RunSort::ScoreAsc, 10_000, None)
        .await
        .unwrap();
    assert_eq!(p.items.len(), 500);
    let rest = db
        .store
        .list_runs_sorted(&all(), None, RunSort::ScoreAsc, 10_000, p.next.as_deref())
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 5);
    assert!(rest.next.is_none());
    let p = db
        .store
        .list_runs_sorted(&all(), None, RunSort::Newest, 0, None)
        .await
        .unwrap();
    assert_eq!(p.items.len(), 1);
    assert_eq!(p.items[0].run.run_id, "x504");
    db
});

// Aggregates are cached until the data changes: a repeat answers from the cache, and a write
// (a run, a batch) invalidates it before it is acknowledged, so a reader never sees the answer
// from before its own write.
backend_tests!(
    cached_aggregates_follow_every_write,
    |db: TestDb| async move {
        assert!(db
            .store
            .grid(&all(), &[], &[], 10)
            .await
            .unwrap()
            .is_empty());
        seed(&db.store).await;
        let first = db
            .store
            .grid(&all(), &[], &[GridKey::Agent], 100)
            .await
            .unwrap();
        let again = db
            .store
            .grid(&all(), &[], &[GridKey::Agent], 100)
            .await
            .unwrap();
        assert_eq!(first, again);
        let runs_before: i64 = first.iter().map(|r| r.runs).sum();
        let hist_before = db.store.evaluator_histogram(&all(), &[]).await.unwrap();
        let extra: zebench_core::RunResult = serde_json::from_value(serde_json::json!({
        "runId": "cache-extra", "suite": "s", "scenario": "x", "tier": "L1", "agent": "late-agent",
        "status": "completed", "weightedScore": 5.0, "isSuccessful": false,
        "evaluations": [{"evaluatorName": "LateEvaluator", "score": 0.5, "maxScore": 1}]
    }))
    .unwrap();
        db.store.submit_run(extra).await.unwrap();
        let after = db
            .store
            .grid(&all(), &[], &[GridKey::Agent], 100)
            .await
            .unwrap();
        assert_eq!(after.iter().map(|r| r.runs).sum::<i64>(), runs_before + 1);
        assert!(after
            .iter()
            .any(|r| r.keys[0].as_deref() == Some("late-agent")));
        let hist_after = db.store.evaluator_histogram(&all(), &[]).await.unwrap();
        assert_ne!(hist_before, hist_after);
        assert!(hist_after.iter().any(|b| b.evaluator == "LateEvaluator"));
        db
    }
);
