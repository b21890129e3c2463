//! `zebench backup OUT`: an online, checked copy of the SQLite database (see
//! `zebench_store::backup`). PostgreSQL is backed up with pg_dump; this command says so.

use crate::cli::BackupArgs;
use crate::Failure;
use anyhow::anyhow;
use zebench_store::backup::{backup_sqlite, BackupError};

pub fn run(args: BackupArgs) -> Result<(), Failure> {
    let url = crate::serve::database_url(args.database_url.clone())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::infra)?;
    let started = std::time::Instant::now();
    let report = rt
        .block_on(backup_sqlite(&url, &args.out, args.force))
        .map_err(failure)?;
    if args.json {
        out!(
            "{}",
            serde_json::json!({
                "path": report.path, "bytes": report.bytes, "runs": report.runs,
                "batches": report.batches, "schemaVersion": report.schema_version,
                "integrityCheck": "ok",
            })
        );
    } else {
        out!(
            "backed up to {} in {:.1} s: {} run(s), {} batch(es), schema version {}, {}; integrity check ok",
            report.path.display(),
            started.elapsed().as_secs_f64(),
            report.runs,
            report.batches,
            report.schema_version,
            size(report.bytes)
        );
    }
    Ok(())
}

/// Wrong input (exit 2) or a failure of the copy itself (exit 3), with what to do.
fn failure(e: BackupError) -> Failure {
    match e {
        BackupError::Exists(p) => Failure::usage(anyhow!(
            "{} already exists; pass --force to replace it",
            p.display()
        )),
        BackupError::Missing(p) => Failure::usage(anyhow!(
            "no database at {} (give the server's --database-url or DATABASE_URL)",
            p.display()
        )),
        e @ (BackupError::Postgres | BackupError::InvalidUrl { .. }) => Failure::usage(e),
        e @ (BackupError::Io { .. } | BackupError::Database(_) | BackupError::Integrity(_)) => {
            Failure::infra(anyhow!("backup failed, nothing was written: {e}"))
        }
    }
}

fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }

    #[test]
    fn input_errors_exit_2_and_copy_failures_exit_3() {
        assert_eq!(failure(BackupError::Postgres).code, crate::EXIT_USAGE);
        assert_eq!(
            failure(BackupError::Exists("x".into())).code,
            crate::EXIT_USAGE
        );
        assert_eq!(
            failure(BackupError::Integrity("page 3".into())).code,
            crate::EXIT_INFRA
        );
    }
}
