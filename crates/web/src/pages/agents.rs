//! `/agents`: one card per agent × model (runs, success, score ± CI, cost, tokens, mean
//! duration) and a heat map of each pair's mean weighted score per scenario.

use super::shared::{key, score_pm, success_rate};
use crate::page::{render, store_error};
use crate::query::PageQuery;
use crate::svg::heat_class;
use crate::{fmt, WebState};
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use std::collections::{BTreeMap, BTreeSet};
use zebench_store::{GridKey, GridRow};

/// One agent × model card.
pub struct PairCard {
    pub agent: String,
    pub model: String,
    pub href: String,
    pub runs: String,
    pub success: String,
    pub score: String,
    pub cost: String,
    pub mean_cost: String,
    pub tokens_in: String,
    pub tokens_out: String,
    pub duration: String,
}

/// A scenario column of the heat map.
pub struct Column {
    pub suite: String,
    pub scenario: String,
    pub href: String,
}

/// A heat-map cell.
pub struct HeatCell {
    pub text: String,
    pub class: String,
    pub title: String,
    pub href: String,
}

/// A heat-map row: one agent × model.
pub struct HeatRow {
    pub agent: String,
    pub model: String,
    pub href: String,
    pub cells: Vec<HeatCell>,
}

#[derive(Template)]
#[template(path = "agents.html")]
pub struct Agents {
    pub active: &'static str,
    pub title: String,
    pub empty: bool,
    pub filtered: bool,
    pub clear: String,
    pub live: String,
    /// The filters, for the filter form.
    pub q: PageQuery,
    pub cards: Vec<PairCard>,
    pub columns: Vec<Column>,
    pub rows: Vec<HeatRow>,
}

/// The `/runs` link of an agent × model (a run without a model links by agent only).
pub fn runs_link(q: &PageQuery, row: &GridRow, extra: &[(&str, &str)]) -> String {
    let agent = row.keys[0].clone().unwrap_or_default();
    let model = row.keys[1].clone().unwrap_or_default();
    let mut set: Vec<(&str, &str)> = vec![("agent", &agent), ("model", &model)];
    set.extend_from_slice(extra);
    q.link("/runs", &set)
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
    let cells = match s
        .grid(
            &filter,
            &[],
            &[
                GridKey::Agent,
                GridKey::Model,
                GridKey::Suite,
                GridKey::Scenario,
            ],
            100_000,
        )
        .await
    {
        Ok(v) => v,
        Err(e) => return store_error(e),
    };
    pairs.sort_by(|a, b| {
        b.avg_weighted_score
            .unwrap_or(-1.0)
            .total_cmp(&a.avg_weighted_score.unwrap_or(-1.0))
            .then(b.runs.cmp(&a.runs))
            .then(a.keys.cmp(&b.keys))
    });

    let cards = pairs
        .iter()
        .map(|p| PairCard {
            href: runs_link(&q, p, &[]),
            agent: key(p, 0),
            model: key(p, 1),
            runs: fmt::thousands(p.runs),
            success: success_rate(p),
            score: score_pm(p),
            cost: fmt::usd((p.cost_n > 0).then_some(p.cost_usd)),
            mean_cost: fmt::usd((p.cost_n > 0).then(|| p.cost_usd / p.cost_n as f64)),
            tokens_in: fmt::compact(p.tokens_in),
            tokens_out: fmt::compact(p.tokens_out),
            duration: fmt::duration_ms(p.avg_duration_ms.map(|d| d.round() as i64)),
        })
        .collect();

    // Columns: every (suite, scenario) any pair ran, in order.
    let scen: BTreeSet<(String, String)> = cells.iter().map(|c| (key(c, 2), key(c, 3))).collect();
    let scen: Vec<(String, String)> = scen.into_iter().collect();
    type Pair = (Option<String>, Option<String>);
    let mut by_pair: BTreeMap<Pair, BTreeMap<(String, String), &GridRow>> = BTreeMap::new();
    for c in &cells {
        by_pair
            .entry((c.keys[0].clone(), c.keys[1].clone()))
            .or_default()
            .insert((key(c, 2), key(c, 3)), c);
    }
    let rows = pairs
        .iter()
        .map(|p| {
            let mine = by_pair.get(&(p.keys[0].clone(), p.keys[1].clone()));
            let cells = scen
                .iter()
                .map(|(suite, scenario)| {
                    match mine.and_then(|m| m.get(&(suite.clone(), scenario.clone()))) {
                        Some(c) => HeatCell {
                            text: fmt::score10(c.avg_weighted_score),
                            class: heat_class(c.avg_weighted_score.map(|v| v / 10.0)),
                            title: format!(
                                "{} · {} on {suite}/{scenario}: {} runs, {} successful, score {}",
                                key(p, 0),
                                key(p, 1),
                                c.runs,
                                success_rate(c),
                                score_pm(c)
                            ),
                            href: runs_link(&q, p, &[("suite", suite), ("scenario", scenario)]),
                        },
                        None => HeatCell {
                            text: String::new(),
                            class: heat_class(None),
                            title: format!(
                                "{} · {} has no runs on {suite}/{scenario}",
                                key(p, 0),
                                key(p, 1)
                            ),
                            href: String::new(),
                        },
                    }
                })
                .collect();
            HeatRow {
                href: runs_link(&q, p, &[]),
                agent: key(p, 0),
                model: key(p, 1),
                cells,
            }
        })
        .collect();
    let columns = scen
        .iter()
        .map(|(suite, scenario)| Column {
            href: q.link("/suites", &[("suite", suite), ("scenario", scenario)]),
            suite: suite.clone(),
            scenario: scenario.clone(),
        })
        .collect();

    let view = Agents {
        active: "/agents",
        title: "Agents".into(),
        empty: pairs.is_empty(),
        filtered: q.filtered(),
        clear: "/agents".into(),
        live: q.link("/agents", &[]),
        cards,
        columns,
        rows,
        q,
    };
    render(&view)
}
