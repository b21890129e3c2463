//! `zebench export`: the runs of the local database with their evaluations and telemetry, as
//! JSON Lines or CSV — the formats of `GET /api/export` (shared code), with the same filters.
//! Streamed a page at a time, so memory stays flat whatever the size of the database.

use crate::cli::{ExportArgs, ExportFormat};
use crate::import::{is_bare_date, parse_time_text};
use crate::{serve, Failure};
use anyhow::anyhow;
use std::io::Write;
use std::path::{Path, PathBuf};
use zebench_core::RunStatus;
use zebench_server::export_format::{csv_header, csv_rows, jsonl};
use zebench_store::{Cursor, RunFilter, Store, StoreOptions};

/// Runs per page read from the database.
const PAGE: u32 = 500;
const DAY_MS: i64 = 86_400_000;

pub fn run(args: ExportArgs) -> Result<(), Failure> {
    let filter = filter(&args)?;
    let url = serve::database_url(args.database_url.clone())?;
    if let Some(path) = sqlite_file(&url) {
        if !path.exists() {
            return Err(Failure::infra(anyhow!(
                "no database at {} (set --database-url or DATABASE_URL)",
                path.display()
            )));
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Failure::infra)?;
    runtime.block_on(export(args, filter, url))
}

/// The file behind a SQLite URL (`sqlite://PATH?…`, `sqlite:PATH`, or a bare path); `None`
/// for PostgreSQL and in-memory databases.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    Some(PathBuf::from(path))
}

fn time_flag(name: &str, raw: Option<&str>, end_of_day: bool) -> Result<Option<i64>, Failure> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let t = parse_time_text(raw).ok_or_else(|| {
        Failure::usage(anyhow!(
            "--{name} {raw:?}: expected YYYY-MM-DD, an ISO-8601 timestamp or epoch milliseconds"
        ))
    })?;
    let ms = if end_of_day && is_bare_date(raw) {
        t.millis() + DAY_MS
    } else {
        t.millis()
    };
    Ok(Some(ms))
}

fn filter(args: &ExportArgs) -> Result<RunFilter, Failure> {
    let text = |v: &Option<String>| v.as_ref().filter(|s| !s.is_empty()).cloned();
    if let Some(s) = text(&args.status) {
        s.parse::<RunStatus>()
            .map_err(|e| Failure::usage(anyhow!("--status: {e}")))?;
    }
    Ok(RunFilter {
        suite: text(&args.suite),
        scenario: text(&args.scenario),
        tier: text(&args.tier),
        agent: text(&args.agent),
        model: text(&args.model),
        status: text(&args.status),
        batch_id: text(&args.batch_id),
        since: time_flag("since", args.since.as_deref(), false)?,
        until: time_flag("until", args.until.as_deref(), true)?,
    })
}

/// Where the export goes: stdout, or a temporary file renamed over FILE at the end so an
/// interrupted export never leaves a truncated file under the requested name.
enum Sink {
    Stdout(std::io::BufWriter<std::io::Stdout>),
    File {
        tmp: PathBuf,
        dest: PathBuf,
        w: std::io::BufWriter<std::fs::File>,
    },
}

impl Sink {
    fn open(output: Option<&Path>) -> Result<Sink, Failure> {
        let Some(dest) = output else {
            return Ok(Sink::Stdout(std::io::BufWriter::with_capacity(
                1 << 16,
                std::io::stdout(),
            )));
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export".into());
        let tmp = dest.with_file_name(format!(".{name}.{}.partial", std::process::id()));
        let file = std::fs::File::create(&tmp)
            .map_err(|e| Failure::usage(anyhow!("cannot write {}: {e}", dest.display())))?;
        Ok(Sink::File {
            tmp,
            dest: dest.to_path_buf(),
            w: std::io::BufWriter::with_capacity(1 << 16, file),
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let result = match self {
            Sink::Stdout(w) => w.write_all(bytes),
            Sink::File { w, .. } => w.write_all(bytes),
        };
        result.map_err(|e| self.failed(e))
    }

    fn failed(&self, e: std::io::Error) -> Failure {
        match self {
            // `zebench export | head`: the reader has what it wanted.
            Sink::Stdout(_) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
            Sink::Stdout(_) => Failure::infra(anyhow!("cannot write to stdout: {e}")),
            Sink::File { tmp, dest, .. } => {
                let _ = std::fs::remove_file(tmp);
                Failure::infra(anyhow!("cannot write {}: {e}", dest.display()))
            }
        }
    }

    fn finish(self) -> Result<(), Failure> {
        match self {
            Sink::Stdout(mut w) => match w.flush() {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(Failure::infra(anyhow!("cannot write to stdout: {e}"))),
            },
            Sink::File { tmp, dest, w } => {
                let done = w
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .and_then(|f| f.sync_all())
                    .and_then(|()| std::fs::rename(&tmp, &dest));
                done.map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    Failure::infra(anyhow!("cannot write {}: {e}", dest.display()))
                })
            }
        }
    }

    fn abandon(self) {
        if let Sink::File { tmp, w, .. } = self {
            drop(w);
            let _ = std::fs::remove_file(tmp);
        }
    }
}

async fn export(args: ExportArgs, filter: RunFilter, url: String) -> Result<(), Failure> {
    let store = Store::connect(StoreOptions::new(&url)).await.map_err(|e| {
        Failure::infra(anyhow!(e).context(format!("cannot open the database {url}")))
    })?;
    let mut sink = Sink::open(args.output.as_deref())?;
    let result = write_pages(&store, &filter, args.format, args.max, &mut sink).await;
    store.close().await;
    match result {
        Ok(n) => {
            let to_file = args.output.as_ref().map(|p| p.display().to_string());
            sink.finish()?;
            if let Some(file) = to_file {
                eprintln!(
                    "exported {n} run{} to {file}",
                    if n == 1 { "" } else { "s" }
                );
            }
            Ok(())
        }
        Err(f) => {
            sink.abandon();
            Err(f)
        }
    }
}

async fn write_pages(
    store: &Store,
    filter: &RunFilter,
    format: ExportFormat,
    max: Option<u64>,
    sink: &mut Sink,
) -> Result<u64, Failure> {
    if format == ExportFormat::Csv {
        sink.write(&csv_header())?;
    }
    let max = max.unwrap_or(u64::MAX);
    let mut cursor: Option<Cursor> = None;
    let mut sent: u64 = 0;
    loop {
        let want = PAGE.min(u32::try_from(max - sent).unwrap_or(PAGE));
        if want == 0 {
            break;
        }
        let page = store
            .list_run_details(filter, want, cursor)
            .await
            .map_err(|e| Failure::infra(anyhow!(e).context("cannot read runs")))?;
        sent += page.items.len() as u64;
        let chunk = match format {
            ExportFormat::Jsonl => jsonl(&page.items),
            ExportFormat::Csv => csv_rows(&page.items),
        };
        sink.write(&chunk)?;
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zebench_core::Timestamp;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite:///tmp/a.sqlite?mode=rwc"),
            Some(PathBuf::from("/tmp/a.sqlite"))
        );
        assert_eq!(sqlite_file("sqlite:a.db"), Some(PathBuf::from("a.db")));
        assert_eq!(sqlite_file("/x/y.db"), Some(PathBuf::from("/x/y.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }

    #[test]
    fn until_a_date_includes_that_day() {
        let until = time_flag("until", Some("2026-03-11"), true).unwrap();
        let since = time_flag("since", Some("2026-03-11"), false).unwrap();
        assert_eq!(until.unwrap() - since.unwrap(), DAY_MS);
        assert_eq!(
            since,
            Some(
                Timestamp::parse_iso("2026-03-11T00:00:00Z")
                    .unwrap()
                    .millis()
            )
        );
        assert!(time_flag("since", Some("last tuesday"), false).is_err());
    }
}
