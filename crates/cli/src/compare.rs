//! `zebench compare A B`: is batch B better or worse than batch A, beyond noise? The paired
//! difference over the (scenario, tier) cells both batches have, with its 95% interval, a
//! permutation p-value and a plain-words verdict; `--fail-on-regression` makes it a CI gate.

use crate::cli::CompareArgs;
use crate::Failure;
use anyhow::anyhow;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use zebench_core::stats::{compare_runs, PairedOptions, RunsComparison, Verdict};

pub fn run(args: CompareArgs) -> Result<(), Failure> {
    if !(args.threshold.is_finite() && args.threshold >= 0.0) {
        return Err(Failure::usage(anyhow!(
            "--threshold must be a non-negative number of points (0–10)"
        )));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::infra)?;
    let cmp = rt.block_on(fetch(&args))?;
    if args.json {
        out!("{}", serde_json::to_string_pretty(&cmp).unwrap_or_default());
    } else {
        print(&args, &cmp);
    }
    if args.fail_on_regression && cmp.paired.verdict == Verdict::Regression {
        return Err(Failure {
            code: 1,
            error: anyhow!("regression: {} is worse than {}", args.b, args.a),
        });
    }
    Ok(())
}

async fn fetch(args: &CompareArgs) -> Result<RunsComparison, Failure> {
    if let Some(url) = args.worker_url.as_deref().filter(|u| !u.trim().is_empty()) {
        zebench_client::install_tls_provider();
        let url = format!(
            "{}/api/compare?a={}&b={}&threshold={}",
            url.trim_end_matches('/'),
            zebench_web::query::encode(&args.a),
            zebench_web::query::encode(&args.b),
            args.threshold
        );
        let resp = reqwest::get(&url)
            .await
            .map_err(|e| Failure::infra(anyhow!("cannot reach {url}: {e}")))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|e| Failure::infra(anyhow!("{e}")))?;
        if status.as_u16() == 404 {
            return Err(Failure::usage(anyhow!("{body}")));
        }
        if !status.is_success() {
            return Err(Failure::infra(anyhow!("{url}: HTTP {status}: {body}")));
        }
        return serde_json::from_str(&body)
            .map_err(|e| Failure::infra(anyhow!("unexpected answer from {url}: {e}")));
    }
    let db = crate::serve::database_url(args.database_url.clone())?;
    let store = zebench_store::Store::connect(zebench_store::StoreOptions::new(&db))
        .await
        .map_err(|e| Failure::infra(anyhow!("cannot open the database {db}: {e}")))?;
    let mut batches = Vec::new();
    for id in [&args.a, &args.b] {
        let b = store
            .get_batch(id)
            .await
            .map_err(|e| Failure::infra(anyhow!("{e}")))?
            .ok_or_else(|| {
                Failure::usage(anyhow!(
                    "no batch {id:?} in {db}; the dashboard's /batches page lists them"
                ))
            })?;
        batches.push(b);
    }
    let (a, b) = (&batches[0], &batches[1]);
    let opts = PairedOptions {
        threshold: args.threshold,
        ..PairedOptions::default()
    };
    Ok(compare_runs(&a.runs, &b.runs, &opts))
}

fn print(args: &CompareArgs, c: &RunsComparison) {
    let p = &c.paired;
    out!(
        "A = {}   B = {}   (B − A, weighted score 0–10)",
        args.a,
        args.b
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_header(["scenario", "tier", "A", "B", "B − A", "runs A/B"]);
    for cell in &p.cells {
        t.add_row(vec![
            Cell::new(&cell.key.0),
            Cell::new(&cell.key.1),
            Cell::new(format!("{:.2}", cell.a)).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.2}", cell.b)).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:+.2}", cell.diff)).set_alignment(CellAlignment::Right),
            Cell::new(format!("{}/{}", cell.n_a, cell.n_b)).set_alignment(CellAlignment::Right),
        ]);
    }
    out!("{t}");
    out!("{}", c.summary);
    if let Some(m) = p.mde {
        out!(
            "smallest difference this comparison could reliably detect (80% power): {m:.2} points"
        );
    }
    if p.only_a + p.only_b > 0 {
        out!(
            "left out: {} cells only in A, {} only in B",
            p.only_a,
            p.only_b
        );
    }
    if c.a.infra_failures + c.b.infra_failures > 0 {
        out!(
            "infrastructure failures left out of the scores: {} in A, {} in B",
            c.a.infra_failures,
            c.b.infra_failures
        );
    }
    out!("verdict: {}", p.verdict);
}
