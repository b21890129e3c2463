//! Migrations at start: bring the schema up to date, say so in one log line, and refuse a
//! database this binary cannot safely use.
//!
//! sqlx's `Migrator::run` would also refuse an unknown or modified migration, but with an error
//! that names neither the database's version nor what to do, and it cannot tell which
//! migrations it applied. So the same steps run here, on one connection, under sqlx's
//! migration lock (a PostgreSQL advisory lock; replicas starting together take turns):
//! read what is applied, refuse before touching anything if the database has a migration
//! this binary does not ship (a newer zebench migrated it) or one whose checksum differs (a
//! different build), then apply what is missing, in order, each in its own transaction.

use crate::{Result, StoreError};
use sqlx::migrate::{Migrate, MigrateError, Migrator};
use std::collections::HashMap;
use std::fmt;

/// sqlx's bookkeeping table (the `migrate!` default, which both backends use).
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// What [`run`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// The highest migration version applied before start; `None` for a new database.
    pub before: Option<i64>,
    /// The highest version applied now.
    pub after: i64,
    /// Migrations applied now, oldest first, as `0003_submitted_by`.
    pub applied: Vec<String>,
}

impl fmt::Display for SchemaStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.applied.is_empty() {
            return write!(f, "database schema at version {}, up to date", self.after);
        }
        let from = match self.before {
            Some(v) => format!("was {v}"),
            None => "new database".to_string(),
        };
        write!(
            f,
            "database schema at version {} ({from}; applied {})",
            self.after,
            self.applied.join(", ")
        )
    }
}

/// The newest migration version `migrator` ships (0 if none).
pub(crate) fn newest_known(migrator: &Migrator) -> i64 {
    migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// The newest schema version this binary knows for a backend: a database at a higher version
/// is refused at connect with [`StoreError::SchemaTooNew`].
pub fn newest_version(kind: crate::BackendKind) -> i64 {
    match kind {
        crate::BackendKind::Sqlite => newest_known(&crate::sqlite::MIGRATOR),
        crate::BackendKind::Postgres => newest_known(&crate::postgres::MIGRATOR),
    }
}

fn label(version: i64, description: &str) -> String {
    format!("{version:04}_{}", description.replace(' ', "_"))
}

/// Checks and migrates the database behind `conn` (see the module docs), logging the outcome.
pub(crate) async fn run<C>(migrator: &Migrator, conn: &mut C) -> Result<SchemaStatus>
where
    C: Migrate + Send,
{
    conn.lock().await?;
    let result = migrate_locked(migrator, conn).await;
    // Released whatever happened: on PostgreSQL the lock belongs to the session, and this
    // connection goes back to the pool.
    let unlocked = conn.unlock().await;
    let status = result?;
    unlocked?;
    tracing::info!("{status}");
    Ok(status)
}

async fn migrate_locked<C>(migrator: &Migrator, conn: &mut C) -> Result<SchemaStatus>
where
    C: Migrate + Send,
{
    // A no-op when the table exists; a new database gets an empty one.
    conn.ensure_migrations_table(MIGRATIONS_TABLE).await?;
    // A migration that failed half-way (only possible for one run outside a transaction).
    if let Some(v) = conn.dirty_version(MIGRATIONS_TABLE).await? {
        return Err(StoreError::Migrate(MigrateError::Dirty(v)));
    }
    let applied: HashMap<i64, Vec<u8>> = conn
        .list_applied_migrations(MIGRATIONS_TABLE)
        .await?
        .into_iter()
        .map(|m| (m.version, m.checksum.into_owned()))
        .collect();
    let before = applied.keys().copied().max();
    let known = newest_known(migrator);
    let ups = || {
        migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
    };
    if let Some(unknown) = applied
        .keys()
        .copied()
        .filter(|v| !ups().any(|m| m.version == *v))
        .max()
    {
        return Err(StoreError::SchemaTooNew {
            database: before.unwrap_or(unknown),
            known,
        });
    }
    for m in ups() {
        if let Some(sum) = applied.get(&m.version) {
            if sum.as_slice() != &*m.checksum {
                return Err(StoreError::MigrationModified {
                    migration: label(m.version, &m.description),
                });
            }
        }
    }
    let mut done = Vec::new();
    for m in ups() {
        if applied.contains_key(&m.version) {
            continue;
        }
        conn.apply(MIGRATIONS_TABLE, m).await?;
        done.push(label(m.version, &m.description));
    }
    Ok(SchemaStatus {
        before,
        after: if done.is_empty() {
            before.unwrap_or(0)
        } else {
            known
        },
        applied: done,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_name_the_versions_and_migrations() {
        let up = SchemaStatus {
            before: Some(3),
            after: 3,
            applied: vec![],
        };
        assert_eq!(up.to_string(), "database schema at version 3, up to date");
        let moved = SchemaStatus {
            before: Some(2),
            after: 3,
            applied: vec!["0003_submitted_by".into()],
        };
        assert_eq!(
            moved.to_string(),
            "database schema at version 3 (was 2; applied 0003_submitted_by)"
        );
        let new = SchemaStatus {
            before: None,
            after: 2,
            applied: vec!["0001_init".into(), "0002_dashboard_indexes".into()],
        };
        assert_eq!(
            new.to_string(),
            "database schema at version 2 (new database; applied 0001_init, 0002_dashboard_indexes)"
        );
    }

    #[tokio::test]
    async fn a_new_database_gets_every_migration_then_none() {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        let known = newest_known(&crate::sqlite::MIGRATOR);
        let first = run(&crate::sqlite::MIGRATOR, &mut conn).await.unwrap();
        assert_eq!(first.before, None);
        assert_eq!(first.after, known);
        assert_eq!(first.applied.len(), crate::sqlite::MIGRATOR.iter().count());
        assert_eq!(first.applied[0], "0001_init");
        let second = run(&crate::sqlite::MIGRATOR, &mut conn).await.unwrap();
        assert_eq!(second.before, Some(known));
        assert_eq!(second.after, known);
        assert!(second.applied.is_empty());
    }
}
