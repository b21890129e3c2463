//! `/evaluators`: per evaluator, how many runs it scored, how many of those succeeded, its mean
//! normalized score (score / maxScore, 0–1), the share of scores of at least one half, and the
//! distribution of its scores in tenths.

use crate::page::{render, store_error};
use crate::query::PageQuery;
use crate::svg::{self, Bar};
use crate::{fmt, WebState};
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use std::collections::BTreeMap;
use zebench_core::Dimension;

/// One evaluator.
pub struct EvalRow {
    pub name: String,
    pub runs: String,
    pub scored: String,
    pub success: String,
    pub mean: String,
    pub half_or_more: String,
    pub full: String,
    pub chart: String,
}

#[derive(Template)]
#[template(path = "evaluators.html")]
pub struct Evaluators {
    pub active: &'static str,
    pub title: String,
    pub empty: bool,
    pub filtered: bool,
    pub clear: String,
    pub live: String,
    pub q: PageQuery,
    pub rows: Vec<EvalRow>,
}

pub async fn page(State(st): State<WebState>, RawQuery(raw): RawQuery) -> Response {
    let q = PageQuery::parse(raw.as_deref());
    let filter = q.filter();
    let s = &st.store;
    let rows = match s.breakdown(Dimension::Evaluator, &filter).await {
        Ok(v) => v,
        Err(e) => return store_error(e),
    };
    let hist = match s.evaluator_histogram(&filter, &[]).await {
        Ok(v) => v,
        Err(e) => return store_error(e),
    };
    let mut counts: BTreeMap<&str, [i64; 10]> = BTreeMap::new();
    for b in &hist {
        let c = counts.entry(b.evaluator.as_str()).or_insert([0; 10]);
        c[b.bucket.clamp(0, 9) as usize] += b.count;
    }

    let view_rows = rows
        .iter()
        .map(|r| {
            let c = counts.get(r.key.as_str()).copied().unwrap_or([0; 10]);
            let total: i64 = c.iter().sum();
            let half: i64 = c[5..].iter().sum();
            let bars: Vec<Bar> = c
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let range = format!("{:.1}–{:.1}", i as f64 / 10.0, (i + 1) as f64 / 10.0);
                    Bar {
                        title: format!("{range}: {n} score{}", if *n == 1 { "" } else { "s" }),
                        label: range,
                        value: *n as f64,
                    }
                })
                .collect();
            EvalRow {
                name: r.key.clone(),
                runs: fmt::thousands(r.runs),
                scored: fmt::thousands(total),
                success: fmt::pct(r.success_rate),
                mean: fmt::score1(r.avg_score),
                half_or_more: fmt::pct((total > 0).then(|| half as f64 / total as f64)),
                full: fmt::pct((total > 0).then(|| c[9] as f64 / total as f64)),
                chart: if total == 0 {
                    String::new()
                } else {
                    svg::bars(
                        &format!("Scores of {} by tenth of the maximum", r.key),
                        &bars,
                        None,
                    )
                },
            }
        })
        .collect();

    let view = Evaluators {
        active: "/evaluators",
        title: "Evaluators".into(),
        empty: rows.is_empty(),
        filtered: q.filtered(),
        clear: "/evaluators".into(),
        live: q.link("/evaluators", &[]),
        rows: view_rows,
        q,
    };
    render(&view)
}
