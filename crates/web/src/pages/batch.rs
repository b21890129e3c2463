//! `/batches/{batch_id}`: one batch: its aggregates with a confidence interval, breakdowns by
//! suite/scenario, agent/model, tier and evaluator, failures by error type, every run, and
//! export links. A running batch refreshes itself when runs arrive.

use super::batches::progress;
use super::shared::{key, score_pm, success_rate, RunLine};

/// Runs listed on the batch page (oldest first); the rest are on /runs?batch=….
pub const RUNS_SHOWN: usize = 200;
use crate::page::{not_found, render, store_error};
use crate::query::{encode, PageQuery};
use crate::{fmt, WebState};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use std::collections::BTreeMap;
use zebench_core::Dimension;
use zebench_store::{GridKey, GridRow, RunFilter};

/// Most groups a breakdown table shows.
const MAX_GROUPS: u32 = 500;

/// One row of a breakdown table.
pub struct Group {
    /// The group's name (e.g. `suite / scenario`).
    pub label: String,
    /// The second part of the name, shown muted (model, scenario); may be empty.
    pub sub: String,
    /// The runs page filtered to this group.
    pub href: String,
    pub runs: String,
    pub success: String,
    pub score: String,
    /// `w0` … `w10`: the width class of the inline score bar.
    pub bar: String,
    pub failed: String,
    pub cost: String,
}

/// One evaluator's mean score in the batch.
pub struct EvalLine {
    pub name: String,
    pub runs: String,
    pub score: String,
    pub bar: String,
}

/// Failed or errored runs of one error type.
pub struct Failure {
    pub error_type: String,
    pub failed: String,
    pub other: String,
    pub href: String,
}

/// A metadata entry.
pub struct Meta {
    pub key: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "batch.html")]
pub struct BatchPage {
    pub active: &'static str,
    pub title: String,
    pub id: String,
    pub running: bool,
    pub live_url: String,
    pub progress: String,
    pub created: String,
    pub completed: String,
    pub runs: String,
    pub no_runs: bool,
    pub success: String,
    pub mean_score: String,
    /// "4 scored runs".
    pub scored: String,
    pub failed: String,
    pub cost: String,
    pub mean_cost: String,
    pub meta: Vec<Meta>,
    /// Metadata that is not a JSON object, shown as it is.
    pub meta_raw: String,
    pub by_scenario: Vec<Group>,
    pub by_agent: Vec<Group>,
    pub by_tier: Vec<Group>,
    pub evaluators: Vec<EvalLine>,
    pub failures: Vec<Failure>,
    pub failed_href: String,
    pub all_runs_href: String,
    pub csv_href: String,
    pub jsonl_href: String,
    pub run_lines: Vec<RunLine>,
    /// Runs of the batch not listed here.
    pub more_runs: usize,
}

/// `w0` … `w10` for a 0–1 value.
fn bar_class(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("w{}", (x.clamp(0.0, 1.0) * 10.0).round() as i64),
        _ => "w0".into(),
    }
}

fn metadata_rows(raw: Option<&str>) -> (Vec<Meta>, String) {
    let Some(raw) = raw.filter(|s| !s.trim().is_empty()) else {
        return (Vec::new(), String::new());
    };
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(m)) => (
            m.into_iter()
                .map(|(k, v)| Meta {
                    key: k,
                    value: match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    },
                })
                .collect(),
            String::new(),
        ),
        _ => (Vec::new(), raw.to_string()),
    }
}

pub async fn page(State(st): State<WebState>, Path(batch_id): Path<String>) -> Response {
    let s = &st.store;
    let detail = match s.get_batch(&batch_id).await {
        Ok(Some(d)) => d,
        Ok(None) => return not_found(&format!("There is no batch {batch_id:?}. It may not have been created yet, or its id is misspelled.")),
        Err(e) => return store_error(e),
    };
    let b = &detail.batch;
    let filter = RunFilter {
        batch_id: Some(b.batch_id.clone()),
        ..RunFilter::default()
    };
    let q = PageQuery {
        batch: b.batch_id.clone(),
        ..PageQuery::default()
    };

    let totals = match s.grid(&filter, &[], &[], 1).await {
        Ok(mut v) => v.pop(),
        Err(e) => return store_error(e),
    };
    let mut grids: Vec<Vec<GridRow>> = Vec::new();
    for keys in [
        &[GridKey::Suite, GridKey::Scenario][..],
        &[GridKey::Agent, GridKey::Model][..],
        &[GridKey::Tier][..],
        &[GridKey::ErrorType, GridKey::Status][..],
    ] {
        match s.grid(&filter, &[], keys, MAX_GROUPS).await {
            Ok(rows) => grids.push(rows),
            Err(e) => return store_error(e),
        }
    }
    let evaluators = match s.breakdown(Dimension::Evaluator, &filter).await {
        Ok(rows) => rows,
        Err(e) => return store_error(e),
    };
    let [scenarios, agents, tiers, errors]: [Vec<GridRow>; 4] = match grids.try_into() {
        Ok(a) => a,
        Err(_) => unreachable!("four grids were asked for"),
    };

    let group = |r: &GridRow, label: String, sub: String, set: &[(&str, &str)]| Group {
        href: q.link("/runs", set),
        label,
        sub,
        runs: fmt::thousands(r.runs),
        success: success_rate(r),
        score: score_pm(r),
        bar: bar_class(r.avg_weighted_score.map(|s| s / 10.0)),
        failed: fmt::thousands(r.failed_runs),
        cost: fmt::usd(Some(r.cost_usd)),
    };
    let opt = |r: &GridRow, i: usize| r.keys.get(i).cloned().flatten().unwrap_or_default();
    let by_scenario = scenarios
        .iter()
        .map(|r| {
            let (suite, scenario) = (opt(r, 0), opt(r, 1));
            group(
                r,
                key(r, 0),
                key(r, 1),
                &[("suite", &suite), ("scenario", &scenario)],
            )
        })
        .collect();
    let by_agent = agents
        .iter()
        .map(|r| {
            let (agent, model) = (opt(r, 0), opt(r, 1));
            let sub = if model.is_empty() {
                String::new()
            } else {
                model.clone()
            };
            group(r, key(r, 0), sub, &[("agent", &agent), ("model", &model)])
        })
        .collect();
    let by_tier = tiers
        .iter()
        .map(|r| {
            let tier = opt(r, 0);
            group(r, key(r, 0), String::new(), &[("tier", &tier)])
        })
        .collect();

    // Failures: runs per error type, split into failed and anything else that carries one.
    let failed_href = q.link("/runs", &[("status", "failed")]);
    let mut per_type: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for r in &errors {
        let status = opt(r, 1);
        let error_type = r.keys.first().cloned().flatten().filter(|s| !s.is_empty());
        if status != "failed" && error_type.is_none() {
            continue;
        }
        let e = per_type
            .entry(error_type.unwrap_or_else(|| "(no error type)".into()))
            .or_default();
        if status == "failed" {
            e.0 += r.runs;
        } else {
            e.1 += r.runs;
        }
    }
    let mut failures: Vec<(String, (i64, i64))> = per_type.into_iter().collect();
    failures.sort_by(|a, b| {
        (b.1 .0 + b.1 .1)
            .cmp(&(a.1 .0 + a.1 .1))
            .then(a.0.cmp(&b.0))
    });

    let (meta, meta_raw) = metadata_rows(b.metadata.as_deref());
    let running = b.completed_at.is_none();
    let batch_enc = encode(&b.batch_id);
    let view = BatchPage {
        active: "/batches",
        title: format!("Batch {}", b.batch_id),
        id: b.batch_id.clone(),
        running,
        live_url: format!("/batches/{batch_enc}"),
        progress: progress(b),
        created: fmt::when(b.created_at),
        completed: b.completed_at.map(fmt::when).unwrap_or_default(),
        runs: fmt::thousands(b.total_runs),
        no_runs: detail.runs.is_empty(),
        success: totals
            .as_ref()
            .map(success_rate)
            .unwrap_or_else(|| "–".into()),
        mean_score: totals.as_ref().map(score_pm).unwrap_or_else(|| "–".into()),
        scored: {
            let n = totals.as_ref().map(|t| t.weighted_n).unwrap_or(0);
            format!(
                "{} scored {}",
                fmt::thousands(n),
                if n == 1 { "run" } else { "runs" }
            )
        },
        failed: fmt::thousands(b.failed_runs),
        cost: fmt::usd(Some(b.total_cost_usd)),
        mean_cost: fmt::usd(
            totals
                .as_ref()
                .filter(|t| t.cost_n > 0)
                .map(|t| t.cost_usd / t.cost_n as f64),
        ),
        meta,
        meta_raw,
        by_scenario,
        by_agent,
        by_tier,
        evaluators: evaluators
            .iter()
            .map(|e| EvalLine {
                name: e.key.clone(),
                runs: fmt::thousands(e.runs),
                score: fmt::score1(e.avg_score),
                bar: bar_class(e.avg_score),
            })
            .collect(),
        failures: failures
            .into_iter()
            .map(|(error_type, (failed, other))| Failure {
                error_type,
                failed: fmt::thousands(failed),
                other: fmt::thousands(other),
                href: failed_href.clone(),
            })
            .collect(),
        failed_href: failed_href.clone(),
        all_runs_href: q.link("/runs", &[]),
        csv_href: format!("/api/export?format=csv&batchId={batch_enc}"),
        jsonl_href: format!("/api/export?format=jsonl&batchId={batch_enc}"),
        // The first runs of a big batch; the rest are one click away on /runs (keeps the page
        // light: a 1,000-run batch would otherwise be 270 KB of HTML).
        run_lines: detail
            .runs
            .iter()
            .take(RUNS_SHOWN)
            .map(RunLine::new)
            .collect(),
        more_runs: detail.runs.len().saturating_sub(RUNS_SHOWN),
    };
    render(&view)
}
