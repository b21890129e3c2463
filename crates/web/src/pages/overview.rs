//! `/`: totals, score distribution, scores over time with intervals, recent runs and batches,
//! the best agent/model pairs.

use super::shared::{day_points, key, score_pm, sort_by_score, success_rate, RunLine};
use crate::page::{render, store_error};
use crate::query::PageQuery;
use crate::svg::{self, Bar, Point};
use crate::{fmt, WebState};
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use zebench_store::GridKey;

pub struct Pair {
    pub agent: String,
    pub model: String,
    pub runs: String,
    pub success: String,
    pub score: String,
    pub cost: String,
    pub href: String,
}

pub struct BatchLine {
    pub id: String,
    pub href: String,
    pub created: String,
    pub runs: String,
    pub success: String,
    pub score: String,
    pub done: bool,
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct Overview {
    pub active: &'static str,
    pub title: String,
    pub empty: bool,
    pub total_runs: String,
    pub success_rate: String,
    pub mean_score: String,
    pub total_cost: String,
    pub mean_cost: String,
    pub distribution: String,
    pub over_time: String,
    pub recent: Vec<RunLine>,
    pub batches: Vec<BatchLine>,
    pub pairs: Vec<Pair>,
}

pub async fn page(State(st): State<WebState>, RawQuery(raw): RawQuery) -> Response {
    let q = PageQuery::parse(raw.as_deref());
    let filter = q.filter();
    let s = &st.store;
    let totals = match s.grid(&filter, &[], &[], 1).await {
        Ok(mut v) => v.pop(),
        Err(e) => return store_error(e),
    };
    let buckets = match s.grid(&filter, &[], &[GridKey::ScoreBucket], 20).await {
        Ok(v) => v,
        Err(e) => return store_error(e),
    };
    let days = match s.grid(&filter, &[], &[GridKey::Day], 10_000).await {
        Ok(v) => v,
        Err(e) => return store_error(e),
    };
    let mut pairs = match s
        .grid(&filter, &[], &[GridKey::Agent, GridKey::Model], 1000)
        .await
    {
        Ok(v) => v,
        Err(e) => return store_error(e),
    };
    let recent = match s.list_runs(&filter, 10, None).await {
        Ok(p) => p.items,
        Err(e) => return store_error(e),
    };
    let batches = match s.list_batches(6).await {
        Ok(b) => b,
        Err(e) => return store_error(e),
    };

    let runs = totals.as_ref().map(|t| t.runs).unwrap_or(0);
    let mut counts = [0i64; 10];
    for b in &buckets {
        if let Some(i) = b.keys[0].as_deref().and_then(|k| k.parse::<usize>().ok()) {
            if i < 10 {
                counts[i] = b.runs;
            }
        }
    }
    let bars: Vec<Bar> = counts
        .iter()
        .enumerate()
        .map(|(i, c)| Bar {
            label: format!("{i}–{}", i + 1),
            value: *c as f64,
            title: format!("weighted score {i}–{}: {c} runs", i + 1),
        })
        .collect();
    let points: Vec<Point> = day_points(&days);
    sort_by_score(&mut pairs);
    let view = Overview {
        active: "/",
        title: "Overview".into(),
        empty: runs == 0,
        total_runs: fmt::thousands(runs),
        success_rate: totals
            .as_ref()
            .map(success_rate)
            .unwrap_or_else(|| "–".into()),
        mean_score: totals.as_ref().map(score_pm).unwrap_or_else(|| "–".into()),
        total_cost: fmt::usd(totals.as_ref().map(|t| t.cost_usd)),
        mean_cost: fmt::usd(
            totals
                .as_ref()
                .filter(|t| t.cost_n > 0)
                .map(|t| t.cost_usd / t.cost_n as f64),
        ),
        distribution: svg::bars("Runs by weighted score", &bars, None),
        over_time: if points.is_empty() {
            String::new()
        } else {
            svg::line(
                "Mean weighted score per day, with 95% intervals",
                &points,
                0.0,
                10.0,
            )
        },
        recent: recent.iter().map(RunLine::new).collect(),
        batches: batches
            .iter()
            .map(|b| BatchLine {
                href: format!("/batches/{}", crate::query::encode(&b.batch_id)),
                id: b.batch_id.clone(),
                created: fmt::when(b.created_at),
                runs: fmt::thousands(b.total_runs),
                success: fmt::pct(
                    (b.total_runs > 0).then(|| b.successful_runs as f64 / b.total_runs as f64),
                ),
                score: fmt::score10(b.avg_weighted_score),
                done: b.completed_at.is_some(),
            })
            .collect(),
        pairs: pairs
            .iter()
            .take(10)
            .map(|p| Pair {
                href: q.link(
                    "/runs",
                    &[
                        ("agent", &key(p, 0)),
                        ("model", p.keys[1].as_deref().unwrap_or("")),
                    ],
                ),
                agent: key(p, 0),
                model: key(p, 1),
                runs: fmt::thousands(p.runs),
                success: success_rate(p),
                score: score_pm(p),
                cost: fmt::usd(Some(p.cost_usd)),
            })
            .collect(),
    };
    render(&view)
}
