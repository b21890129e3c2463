//! Online backups of a SQLite database: a consistent copy taken while the server keeps
//! writing, checked before it is put in place.
//!
//! `VACUUM INTO` reads the database inside one read transaction, so the copy is the database
//! as of one commit (WAL mode lets the writer go on meanwhile), and it is written compactly,
//! without free pages. The copy goes to a temporary name beside the destination, is flushed to
//! disk, opened read-only and checked with `PRAGMA integrity_check`, and only then renamed
//! over the destination: the destination is never a half-written or corrupt file.
//!
//! PostgreSQL is backed up with its own tools (`pg_dump -Fc`); see docs/operations.md.

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// Why a backup could not be made. Nothing is left at the destination in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The database is PostgreSQL: back it up with `pg_dump`.
    #[error(
        "zebench backup copies SQLite databases; back up PostgreSQL with pg_dump -Fc and \
         restore with pg_restore (docs/operations.md, Back up and restore)"
    )]
    Postgres,
    /// The URL names no SQLite file (malformed, or an in-memory database).
    #[error("cannot back up {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// There is no database file to copy.
    #[error("no database at {0}")]
    Missing(PathBuf),
    /// The destination exists and replacing it was not asked for.
    #[error("{0} already exists")]
    Exists(PathBuf),
    /// The destination could not be written, flushed or renamed.
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The database could not be read, or the copy could not be opened.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The copy failed `PRAGMA integrity_check` (it was deleted).
    #[error("the copy failed its integrity check: {0}")]
    Integrity(String),
}

/// A finished, checked backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub path: PathBuf,
    /// Size of the copy in bytes.
    pub bytes: u64,
    /// Rows in the copy's `runs` and `batches` tables.
    pub runs: i64,
    pub batches: i64,
    /// The highest migration applied to the copy (its schema version).
    pub schema_version: i64,
}

/// The SQLite file a store URL names, or why it names none.
pub fn sqlite_path(url: &str) -> Result<PathBuf, BackupError> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err(BackupError::Postgres);
    }
    let invalid = |reason: &str| BackupError::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Err(invalid("an in-memory database has no file to copy"));
    }
    let path = if url.starts_with("sqlite:") {
        let opts = SqliteConnectOptions::from_str(url).map_err(|e| invalid(&e.to_string()))?;
        opts.get_filename().to_path_buf()
    } else if url.contains("://") {
        return Err(invalid(
            "expected sqlite://PATH, postgres://… or a file path",
        ));
    } else {
        PathBuf::from(url)
    };
    Ok(path)
}

/// Backs up the SQLite database named by `url` (as for [`crate::StoreOptions::url`]) to `out`,
/// replacing an existing `out` only when `overwrite` is set.
///
/// Opens its own connection and runs no migrations, so a database is copied exactly as it is
/// (a backup taken before an upgrade must not be upgraded by the backup itself), and a server
/// may be writing to it meanwhile.
pub async fn backup_sqlite(
    url: &str,
    out: &Path,
    overwrite: bool,
) -> Result<BackupReport, BackupError> {
    let source = sqlite_path(url)?;
    if !source.is_file() {
        return Err(BackupError::Missing(source));
    }
    refuse_existing(out, overwrite)?;
    let mut conn = SqliteConnectOptions::new()
        .filename(&source)
        .create_if_missing(false)
        // A writer holds the lock only for a commit; the read transaction waits that long.
        .busy_timeout(Duration::from_secs(10))
        .connect()
        .await?;
    let result = copy_into(&mut conn, out, overwrite).await;
    let _ = conn.close().await;
    result
}

fn refuse_existing(out: &Path, overwrite: bool) -> Result<(), BackupError> {
    if !overwrite && std::fs::symlink_metadata(out).is_ok() {
        return Err(BackupError::Exists(out.to_path_buf()));
    }
    Ok(())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `VACUUM INTO` a temporary file beside `out` through `conn`, check it, rename it to `out`.
pub(crate) async fn copy_into(
    conn: &mut SqliteConnection,
    out: &Path,
    overwrite: bool,
) -> Result<BackupReport, BackupError> {
    refuse_existing(out, overwrite)?;
    let name = out
        .file_name()
        .ok_or_else(|| BackupError::InvalidUrl {
            url: out.display().to_string(),
            reason: "the destination must be a file name".into(),
        })?
        .to_string_lossy()
        .into_owned();
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(".{name}.zebench-backup-{}.tmp", std::process::id()));
    // A leftover from an interrupted backup by a process with the same id.
    let _ = std::fs::remove_file(&tmp);
    let result = async {
        sqlx::query("VACUUM INTO $1")
            .bind(tmp.to_string_lossy().into_owned())
            .execute(&mut *conn)
            .await?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io(&tmp))?;
        let mut report = verify(&tmp).await?;
        refuse_existing(out, overwrite)?;
        std::fs::rename(&tmp, out).map_err(io(out))?;
        // The rename itself must survive a power cut.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        report.path = out.to_path_buf();
        Ok(report)
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Opens `path` read-only and immutable (nothing, not even a `-wal` file, is written beside
/// it), runs `PRAGMA integrity_check` and counts what it holds.
pub async fn verify(path: &Path) -> Result<BackupReport, BackupError> {
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true)
        .connect()
        .await?;
    let result = async {
        let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&mut conn)
            .await?;
        if problems != ["ok"] {
            return Err(BackupError::Integrity(problems.join("; ")));
        }
        let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM runs")
            .fetch_one(&mut conn)
            .await?;
        let batches: i64 = sqlx::query_scalar("SELECT count(*) FROM batches")
            .fetch_one(&mut conn)
            .await?;
        let schema_version: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT coalesce(max(version), 0) FROM {}",
            crate::migrate::MIGRATIONS_TABLE
        )))
        .fetch_one(&mut conn)
        .await?;
        Ok(BackupReport {
            path: path.to_path_buf(),
            bytes: std::fs::metadata(path).map_err(io(path))?.len(),
            runs,
            batches,
            schema_version,
        })
    }
    .await;
    let _ = conn.close().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_file_or_say_why_not() {
        assert_eq!(
            sqlite_path("sqlite:///var/lib/zebench/db.sqlite").unwrap(),
            PathBuf::from("/var/lib/zebench/db.sqlite")
        );
        assert_eq!(
            sqlite_path("data/z.sqlite").unwrap(),
            PathBuf::from("data/z.sqlite")
        );
        assert!(matches!(
            sqlite_path("postgres://u@h/db"),
            Err(BackupError::Postgres)
        ));
        assert!(matches!(
            sqlite_path("sqlite::memory:"),
            Err(BackupError::InvalidUrl { .. })
        ));
        assert!(matches!(
            sqlite_path("mysql://h/db"),
            Err(BackupError::InvalidUrl { .. })
        ));
    }
}
