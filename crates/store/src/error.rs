//! The store's typed errors. The server maps them to status codes; the CLI to exit codes.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A run id is already stored with different content (HTTP 409).
    #[error("run already exists with different content: {}", .0.join(", "))]
    Conflict(Vec<String>),
    /// The database URL could not be understood.
    #[error("invalid database URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// A migration failed (or one was left half-applied).
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database was migrated by a newer zebench: it has a migration this binary does not
    /// ship. Nothing was changed; running on it could corrupt data the newer version relies on.
    #[error(
        "the database schema is at version {database}, newer than this zebench knows \
         (newest: {known}); upgrade zebench to the release that migrated it, or restore a \
         backup taken before that upgrade (docs/operations.md, Upgrade)"
    )]
    SchemaTooNew { database: i64, known: i64 },
    /// A migration applied to the database differs from the one this binary ships (its
    /// checksum): another build migrated it. Nothing was changed.
    #[error(
        "migration {migration} applied to this database differs from the one this zebench \
         ships (checksum mismatch): it was migrated by a different build; run that build, or \
         restore a backup taken before it migrated the database"
    )]
    MigrationModified { migration: String },
    /// Anything the database driver reported.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// What the SQLite library reported to the direct read path (`sqlite_direct`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The store is shutting down and takes no more writes.
    #[error("the store is closed")]
    Closed,
    /// A stored value could not be decoded (a corrupted or foreign row).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A paging cursor the store did not hand out, or one handed out for another sort order
    /// (HTTP 400, like an unparsable [`crate::Cursor`]). The message says which.
    #[error("{0}")]
    InvalidCursor(String),
}

impl StoreError {
    /// True when the request itself was wrong (a bad cursor): HTTP 400, and retrying the same
    /// request cannot help.
    pub fn is_bad_request(&self) -> bool {
        matches!(self, StoreError::InvalidCursor(_))
    }

    /// True when the database could not be reached, the pool is exhausted, or the store is
    /// closed (shutting down): the request may succeed later (HTTP 503), nothing is wrong
    /// with it.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Closed
                | StoreError::Database(
                    sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
                )
        )
    }

    /// True for errors a retry can fix: a unique race between two writers, a deadlock, a
    /// serialization failure, or a busy SQLite file.
    pub fn is_transient(&self) -> bool {
        if let StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) = self {
            return matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            );
        }
        let StoreError::Database(sqlx::Error::Database(db)) = self else {
            return false;
        };
        // PostgreSQL: unique violation, serialization failure, deadlock.
        // SQLite: SQLITE_BUSY, SQLITE_LOCKED, SQLITE_BUSY_SNAPSHOT.
        matches!(
            db.code().as_deref(),
            Some("23505" | "40001" | "40P01" | "5" | "6" | "517")
        )
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
