//! `zebench sync`: deliver what the outbox holds.

use crate::cli::SyncArgs;
use crate::Failure;
use anyhow::anyhow;

pub fn run(args: SyncArgs) -> Result<(), Failure> {
    let mut cfg = zebench_client::ClientConfig::new(args.worker_url.trim());
    cfg.api_key = args.api_key.filter(|k| !k.is_empty());
    if let Some(o) = args.outbox {
        cfg.outbox_dir = o;
    }
    let dir = cfg.outbox_dir.clone();
    let client = zebench_client::Client::new(cfg)
        .map_err(|e| Failure::infra(anyhow!("cannot open the outbox {}: {e}", dir.display())))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::infra)?;
    let report = rt
        .block_on(client.sync())
        .map_err(|e| Failure::infra(anyhow!("{e}")))?;
    out!(
        "delivered {}, already on the server {}, rejected {}, still queued {}",
        report.delivered,
        report.already_present,
        report.rejected.len(),
        report.remaining
    );
    for r in &report.rejected {
        out!(
            "rejected {}: {} (kept in {})",
            r.id,
            r.reason,
            r.path.display()
        );
    }
    if let Some(why) = &report.stopped {
        out!("stopped early: {why}");
    }
    if report.remaining > 0 {
        return Err(Failure::infra(anyhow!("{} item(s) still queued in {}: the server is unreachable; run `zebench sync` again later", report.remaining, dir.display())));
    }
    Ok(())
}
