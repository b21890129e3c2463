//! Dashboard benchmark (issue #5): server-side render time per page (client-measured latency
//! on loopback, sequential requests) and each page's first-load transfer (HTML plus the CSS and
//! scripts it links), uncompressed.

use anyhow::{bail, Context, Result};
use std::time::Instant;

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// `href="/static/…"` and `src="/static/…"` in a page.
fn linked_assets(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            if let Some(end) = rest.find('"') {
                let v = &rest[..end];
                if v.starts_with("/static/") && (v.ends_with(".css") || v.ends_with(".js")) {
                    out.push(v.to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

pub async fn pages(url: &str, requests: usize) -> Result<()> {
    let client = reqwest::Client::new();
    let get_json = |path: String| {
        let client = client.clone();
        async move {
            let body = client.get(path).send().await?.bytes().await?;
            Ok::<serde_json::Value, anyhow::Error>(serde_json::from_slice(&body)?)
        }
    };
    let runs = get_json(format!("{url}/api/runs?limit=1")).await?;
    let run_id = runs[0]["runId"]
        .as_str()
        .context("no runs in the database")?
        .to_string();
    let batches = get_json(format!("{url}/api/batches?limit=2")).await?;
    let b: Vec<String> = batches
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["batchId"].as_str().map(str::to_string))
        .collect();
    if b.len() < 2 {
        bail!("the database needs at least two batches");
    }
    let paths = [
        "/".to_string(),
        "/runs".to_string(),
        "/runs?sort=score-desc".to_string(),
        "/runs?agent=claude-code".to_string(),
        format!("/runs/{run_id}"),
        "/batches".to_string(),
        format!("/batches/{}", b[0]),
        format!("/batches/compare?ids={}&ids={}", b[0], b[1]),
        "/agents".to_string(),
        "/suites".to_string(),
        "/evaluators".to_string(),
        "/costs".to_string(),
    ];
    println!("| page | n | p50 ms | p95 ms | HTML KB | first-load KB (HTML + CSS + JS) |");
    println!("|---|---|---|---|---|---|");
    for path in &paths {
        let full = format!("{url}{path}");
        let first = client.get(&full).send().await?;
        if !first.status().is_success() {
            bail!("{path}: HTTP {}", first.status());
        }
        let html = first.text().await?;
        let mut total = html.len();
        for a in linked_assets(&html) {
            total += client
                .get(format!("{url}{a}"))
                .send()
                .await?
                .bytes()
                .await?
                .len();
        }
        let mut ms = Vec::with_capacity(requests);
        for _ in 0..requests {
            let t = Instant::now();
            let r = client.get(&full).send().await?;
            r.bytes().await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(|a, b| a.total_cmp(b));
        println!(
            "| `{}` | {requests} | {:.1} | {:.1} | {:.1} | {:.1} |",
            path.split('?')
                .next()
                .unwrap_or(path)
                .replace(&run_id, "{run}")
                .replace(&b[0], "{batch}")
                + &path
                    .split_once('?')
                    .map(|(_, q)| format!("?{}", q.replace(&b[0], "A").replace(&b[1], "B")))
                    .unwrap_or_default(),
            pct(&ms, 0.5),
            pct(&ms, 0.95),
            html.len() as f64 / 1024.0,
            total as f64 / 1024.0
        );
    }
    Ok(())
}
