//! `/suites`: per suite, a scenario × tier matrix of mean weighted scores; with
//! `?suite=…&scenario=…`, that scenario's history (mean weighted score per day with 95%
//! intervals) and how each agent × model did on it.

use super::agents::runs_link;
use super::shared::{day_points, key, score_pm, sort_by_score, success_rate};
use crate::page::{render, store_error};
use crate::query::PageQuery;
use crate::svg::{self, heat_class, Point};
use crate::{fmt, WebState};
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use std::collections::{BTreeMap, BTreeSet};
use zebench_store::{GridKey, GridRow};

/// A matrix cell: one scenario at one tier.
pub struct MatrixCell {
    pub score: String,
    pub runs: String,
    pub class: String,
    pub title: String,
    pub href: String,
}

/// A scenario row of a suite's matrix.
pub struct ScenarioRow {
    pub name: String,
    pub href: String,
    pub selected: bool,
    /// "flaky 0.67" when repeats of this scenario disagree often (flake score ≥ 0.5), else "".
    pub flaky: String,
    pub flaky_title: String,
    pub cells: Vec<MatrixCell>,
}

/// One suite's matrix.
pub struct SuiteBlock {
    pub name: String,
    pub href: String,
    pub tiers: Vec<String>,
    pub rows: Vec<ScenarioRow>,
}

/// An agent × model line of a scenario's history.
pub struct PairLine {
    pub agent: String,
    pub model: String,
    pub href: String,
    pub runs: String,
    pub success: String,
    pub score: String,
    pub cost: String,
}

/// The selected scenario's history.
pub struct History {
    pub suite: String,
    pub scenario: String,
    pub tier: String,
    pub runs: String,
    pub success: String,
    pub score: String,
    pub chart: String,
    pub runs_href: String,
    pub pairs: Vec<PairLine>,
}

#[derive(Template)]
#[template(path = "suites.html")]
pub struct Suites {
    pub active: &'static str,
    pub title: String,
    pub empty: bool,
    pub filtered: bool,
    pub clear: String,
    pub live: String,
    pub q: PageQuery,
    pub suites: Vec<SuiteBlock>,
    pub history: Option<History>,
    /// Set when a scenario was asked for but has no runs.
    pub missing: String,
}

pub async fn page(State(st): State<WebState>, RawQuery(raw): RawQuery) -> Response {
    let q = PageQuery::parse(raw.as_deref());
    let s = &st.store;
    // The matrix keeps the suite and the other filters but shows every scenario and tier.
    let mut mfilter = q.filter();
    mfilter.scenario = None;
    mfilter.tier = None;
    let matrix = match s
        .grid(
            &mfilter,
            &[],
            &[GridKey::Suite, GridKey::Scenario, GridKey::Tier],
            100_000,
        )
        .await
    {
        Ok(v) => v,
        Err(e) => return store_error(e),
    };

    // Flake scores: per (suite, scenario), the mean over its (tier, agent, model) cells with two
    // or more completed runs of 1 − |2p − 1|, p the cell's success rate (docs/statistics.md).
    let cells = match s
        .grid(
            &mfilter,
            &[],
            &[
                GridKey::Suite,
                GridKey::Scenario,
                GridKey::Tier,
                GridKey::Agent,
                GridKey::Model,
            ],
            200_000,
        )
        .await
    {
        Ok(v) => v,
        Err(e) => return store_error(e),
    };
    let mut flakes: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for c in &cells {
        let n = c.completed_runs.max(0) as usize;
        let ok = (c.successful_runs.max(0) as usize).min(n);
        if let Some(f) = zebench_core::stats::flake_score_from_counts(ok, n) {
            flakes.entry((key(c, 0), key(c, 1))).or_default().push(f);
        }
    }
    let flaky = |suite: &str, scenario: &str| -> (String, String) {
        match flakes.get(&(suite.to_string(), scenario.to_string())) {
            Some(v) if !v.is_empty() => {
                let m = v.iter().sum::<f64>() / v.len() as f64;
                let title = format!(
                    "flake score {m:.2} over {} repeated cells (0 = repeats agree, 1 = they split evenly)",
                    v.len()
                );
                if m >= 0.5 {
                    (format!("flaky {m:.2}"), title)
                } else {
                    (String::new(), title)
                }
            }
            _ => (String::new(), String::new()),
        }
    };

    let selected = (!q.suite.trim().is_empty() && !q.scenario.trim().is_empty())
        .then(|| (q.suite.trim().to_string(), q.scenario.trim().to_string()));

    // suite → (tiers, scenario → tier → row)
    type Scenarios<'a> = BTreeMap<String, BTreeMap<String, &'a GridRow>>;
    let mut by_suite: BTreeMap<String, (BTreeSet<String>, Scenarios)> = BTreeMap::new();
    for r in &matrix {
        let e = by_suite.entry(key(r, 0)).or_default();
        e.0.insert(key(r, 2));
        e.1.entry(key(r, 1)).or_default().insert(key(r, 2), r);
    }
    let suites = by_suite
        .iter()
        .map(|(suite, (tiers, scenarios))| SuiteBlock {
            name: suite.clone(),
            href: q.link(
                "/suites",
                &[("suite", suite), ("scenario", ""), ("tier", "")],
            ),
            tiers: tiers.iter().cloned().collect(),
            rows: scenarios
                .iter()
                .map(|(scenario, per_tier)| ScenarioRow {
                    flaky: flaky(suite, scenario).0,
                    flaky_title: flaky(suite, scenario).1,
                    href: q.link(
                        "/suites",
                        &[("suite", suite), ("scenario", scenario), ("tier", "")],
                    ),
                    selected: selected.as_ref() == Some(&(suite.clone(), scenario.clone())),
                    cells: tiers
                        .iter()
                        .map(|tier| match per_tier.get(tier) {
                            Some(c) => MatrixCell {
                                score: fmt::score10(c.avg_weighted_score),
                                runs: format!(
                                    "{} run{}",
                                    c.runs,
                                    if c.runs == 1 { "" } else { "s" }
                                ),
                                class: heat_class(c.avg_weighted_score.map(|v| v / 10.0)),
                                title: format!(
                                    "{suite}/{scenario} {tier}: {} runs, {} successful, score {}",
                                    c.runs,
                                    success_rate(c),
                                    score_pm(c)
                                ),
                                href: q.link(
                                    "/suites",
                                    &[("suite", suite), ("scenario", scenario), ("tier", tier)],
                                ),
                            },
                            None => MatrixCell {
                                score: String::new(),
                                runs: String::new(),
                                class: heat_class(None),
                                title: format!("no runs of {suite}/{scenario} at {tier}"),
                                href: String::new(),
                            },
                        })
                        .collect(),
                    name: scenario.clone(),
                })
                .collect(),
        })
        .collect();

    let mut history = None;
    let mut missing = String::new();
    if let Some((suite, scenario)) = &selected {
        let filter = q.filter();
        let days = match s.grid(&filter, &[], &[GridKey::Day], 100_000).await {
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
        let total = match s.grid(&filter, &[], &[], 1).await {
            Ok(mut v) => v.pop(),
            Err(e) => return store_error(e),
        };
        match total.filter(|t| t.runs > 0) {
            None => {
                missing = format!(
                    "No runs of {suite}/{scenario}{} match these filters.",
                    if q.tier.trim().is_empty() {
                        String::new()
                    } else {
                        format!(" at {}", q.tier.trim())
                    }
                )
            }
            Some(total) => {
                let points: Vec<Point> = day_points(&days);
                sort_by_score(&mut pairs);
                history = Some(History {
                    suite: suite.clone(),
                    scenario: scenario.clone(),
                    tier: q.tier.trim().to_string(),
                    runs: fmt::thousands(total.runs),
                    success: success_rate(&total),
                    score: score_pm(&total),
                    chart: if points.is_empty() {
                        String::new()
                    } else {
                        svg::line(
                            &format!("Mean weighted score per day of {suite}/{scenario}, with 95% intervals"),
                            &points,
                            0.0,
                            10.0,
                        )
                    },
                    runs_href: q.link("/runs", &[]),
                    pairs: pairs
                        .iter()
                        .map(|p| PairLine {
                            href: runs_link(&q, p, &[]),
                            agent: key(p, 0),
                            model: key(p, 1),
                            runs: fmt::thousands(p.runs),
                            success: success_rate(p),
                            score: score_pm(p),
                            cost: fmt::usd((p.cost_n > 0).then_some(p.cost_usd)),
                        })
                        .collect(),
                });
            }
        }
    }

    let view = Suites {
        active: "/suites",
        title: match &selected {
            Some((suite, scenario)) => format!("{suite}/{scenario}"),
            None => "Suites".into(),
        },
        empty: matrix.is_empty(),
        filtered: q.filtered(),
        clear: "/suites".into(),
        live: q.link("/suites", &[]),
        suites,
        history,
        missing,
        q,
    };
    render(&view)
}
