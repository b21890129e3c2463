//! `/costs`: per agent × model, what was spent and what it bought — total and mean cost,
//! tokens, score per dollar; a cost-versus-score scatter with its Pareto frontier (the pairs
//! nothing beats on both cost and score), and daily spend over the last 60 days.

use super::agents::runs_link;
use super::shared::{key, score_pm};
use crate::page::{render, store_error};
use crate::query::{day_start_ms, PageQuery};
use crate::svg::{self, Bar, Dot};
use crate::{fmt, WebState};
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use std::collections::BTreeMap;
use zebench_core::Timestamp;
use zebench_store::{GridKey, GridRow};

/// How many days the daily-spend chart covers.
const DAYS: i64 = 60;
const DAY_MS: i64 = 86_400_000;

/// One agent × model.
pub struct CostRow {
    pub agent: String,
    pub model: String,
    pub href: String,
    pub runs: String,
    pub total: String,
    pub mean: String,
    pub tokens_in: String,
    pub tokens_out: String,
    pub score: String,
    pub per_dollar: String,
    pub frontier: bool,
}

#[derive(Template)]
#[template(path = "costs.html")]
pub struct Costs {
    pub active: &'static str,
    pub title: String,
    pub empty: bool,
    pub filtered: bool,
    pub clear: String,
    pub live: String,
    pub q: PageQuery,
    pub total: String,
    pub mean: String,
    pub rows: Vec<CostRow>,
    pub scatter: String,
    /// The Pareto frontier in words, cheapest first.
    pub frontier: Vec<String>,
    pub daily: String,
    pub daily_range: String,
}

/// Mean cost per run over the runs that reported a cost.
fn mean_cost(r: &GridRow) -> Option<f64> {
    (r.cost_n > 0).then(|| r.cost_usd / r.cost_n as f64)
}

/// Mean weighted score per dollar of mean cost; `None` when the cost is zero or unknown.
fn per_dollar(r: &GridRow) -> Option<f64> {
    let c = mean_cost(r).filter(|c| *c > 0.0)?;
    Some(r.avg_weighted_score? / c)
}

fn per_dollar_text(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(x) if x >= 1000.0 => fmt::thousands(x.round() as i64),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}

pub async fn page(State(st): State<WebState>, RawQuery(raw): RawQuery) -> Response {
    let q = PageQuery::parse(raw.as_deref());
    let filter = q.filter();
    let s = &st.store;
    let mut pairs = match s
        .grid(&filter, &[], &[GridKey::Agent, GridKey::Model], 1000)
        .await
    {
        Ok(v) => v,
        Err(e) => return store_error(e),
    };
    let days = match s.grid(&filter, &[], &[GridKey::Day], 100_000).await {
        Ok(v) => v,
        Err(e) => return store_error(e),
    };
    pairs.sort_by(|a, b| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then(b.runs.cmp(&a.runs))
            .then(a.keys.cmp(&b.keys))
    });

    // The scatter: pairs with both a mean cost and a mean score.
    let plotted: Vec<usize> = (0..pairs.len())
        .filter(|&i| mean_cost(&pairs[i]).is_some() && pairs[i].avg_weighted_score.is_some())
        .collect();
    let dots: Vec<Dot> = plotted
        .iter()
        .map(|&i| {
            let p = &pairs[i];
            let (c, sc) = (
                mean_cost(p).unwrap_or(0.0),
                p.avg_weighted_score.unwrap_or(0.0),
            );
            Dot {
                x: c,
                y: sc,
                label: format!("{} · {}", key(p, 0), key(p, 1)),
                title: format!(
                    "{} · {}: {} per run, score {} over {} runs",
                    key(p, 0),
                    key(p, 1),
                    fmt::usd(Some(c)),
                    score_pm(p),
                    p.runs
                ),
            }
        })
        .collect();
    let pts: Vec<(f64, f64)> = dots.iter().map(|d| (d.x, d.y)).collect();
    let front: Vec<usize> = svg::pareto(&pts).into_iter().map(|j| plotted[j]).collect();
    let frontier = front
        .iter()
        .map(|&i| {
            let p = &pairs[i];
            format!(
                "{} · {}: {} per run for a mean score of {} — cheapest for its score.",
                key(p, 0),
                key(p, 1),
                fmt::usd(mean_cost(p)),
                fmt::score10(p.avg_weighted_score)
            )
        })
        .collect();

    let rows = pairs
        .iter()
        .enumerate()
        .map(|(i, p)| CostRow {
            href: runs_link(&q, p, &[]),
            agent: key(p, 0),
            model: key(p, 1),
            runs: fmt::thousands(p.runs),
            total: fmt::usd((p.cost_n > 0).then_some(p.cost_usd)),
            mean: fmt::usd(mean_cost(p)),
            tokens_in: fmt::compact(p.tokens_in),
            tokens_out: fmt::compact(p.tokens_out),
            score: fmt::score10(p.avg_weighted_score),
            per_dollar: per_dollar_text(per_dollar(p)),
            frontier: front.contains(&i),
        })
        .collect();

    // Daily spend: the 60 calendar days up to the latest day with runs, empty days included.
    let by_day: BTreeMap<String, &GridRow> = days.iter().map(|d| (key(d, 0), d)).collect();
    let last = by_day.keys().next_back().and_then(|d| day_start_ms(d));
    let (daily, daily_range) = match last {
        None => (String::new(), String::new()),
        Some(last) => {
            let span: Vec<String> = (0..DAYS)
                .rev()
                .filter_map(|i| Timestamp::from_millis(last - i * DAY_MS).map(|t| t.day()))
                .collect();
            let bars: Vec<Bar> = span
                .iter()
                .map(|day| {
                    let (cost, runs) = by_day
                        .get(day)
                        .map(|d| (d.cost_usd, d.runs))
                        .unwrap_or((0.0, 0));
                    Bar {
                        label: day.get(5..).unwrap_or("").to_string(),
                        value: cost,
                        title: format!(
                            "{day}: {} over {runs} run{}",
                            fmt::usd(Some(cost)),
                            if runs == 1 { "" } else { "s" }
                        ),
                    }
                })
                .collect();
            let range = format!(
                "{} to {}",
                span.first().cloned().unwrap_or_default(),
                span.last().cloned().unwrap_or_default()
            );
            (svg::bars("Cost per day (USD)", &bars, None), range)
        }
    };

    let cost_sum: f64 = pairs.iter().map(|p| p.cost_usd).sum();
    let cost_n: i64 = pairs.iter().map(|p| p.cost_n).sum();
    let view = Costs {
        active: "/costs",
        title: "Costs".into(),
        empty: pairs.is_empty(),
        filtered: q.filtered(),
        clear: "/costs".into(),
        live: q.link("/costs", &[]),
        total: fmt::usd((cost_n > 0).then_some(cost_sum)),
        mean: fmt::usd((cost_n > 0).then(|| cost_sum / cost_n as f64)),
        rows,
        scatter: if dots.is_empty() {
            String::new()
        } else {
            svg::scatter(
                "Mean cost per run against mean weighted score, with the Pareto frontier",
                &dots,
                "mean cost per run (USD)",
                "mean weighted score",
                0.0,
                10.0,
            )
        },
        frontier,
        daily,
        daily_range,
        q,
    };
    render(&view)
}
