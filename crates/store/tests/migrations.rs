//! Migrations at start: a database migrated by a newer zebench (a migration this binary does
//! not ship) or by another build (a checksum that differs) is refused with a typed error, and
//! left exactly as it was. Every case runs on SQLite and on PostgreSQL.

use zebench_store::migrate::{newest_version, MIGRATIONS_TABLE};
use zebench_store::testing::{pg_url, TestDb};
use zebench_store::{backend_tests, BackendKind, Store, StoreError, StoreOptions};

/// A plain connection to a test database, outside the store (so nothing is migrated).
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
}

impl Raw {
    async fn open(url: &str, schema: Option<&str>) -> Raw {
        if url.starts_with("postgres") {
            use std::str::FromStr;
            let mut opts = sqlx::postgres::PgConnectOptions::from_str(url).unwrap();
            if let Some(s) = schema {
                opts = opts.options([("search_path", s)]);
            }
            Raw::Pg(sqlx::PgPool::connect_with(opts).await.unwrap())
        } else {
            use std::str::FromStr;
            let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .unwrap()
                .create_if_missing(true);
            Raw::Sqlite(sqlx::SqlitePool::connect_with(opts).await.unwrap())
        }
    }

    async fn exec(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self {
            Raw::Sqlite(p) => drop(sqlx::query(sql).execute(p).await.unwrap()),
            Raw::Pg(p) => drop(sqlx::query(sql).execute(p).await.unwrap()),
        }
    }

    async fn count(&self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self {
            Raw::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
            Raw::Pg(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        }
    }

    /// The applied migrations as (version, checksum), in order.
    async fn applied(&self) -> Vec<(i64, Vec<u8>)> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT version, checksum FROM {MIGRATIONS_TABLE} ORDER BY version"
        ));
        match self {
            Raw::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
            Raw::Pg(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
        }
    }

    /// Records a migration as applied, as a newer zebench would have.
    async fn insert_migration(&self, version: i64) {
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO {MIGRATIONS_TABLE} (version, description, success, checksum, execution_time) \
             VALUES ($1, 'from the future', TRUE, $2, 1)"
        ));
        let sum = vec![0xAB_u8; 48];
        match self {
            Raw::Sqlite(p) => drop(
                sqlx::query(sql)
                    .bind(version)
                    .bind(sum)
                    .execute(p)
                    .await
                    .unwrap(),
            ),
            Raw::Pg(p) => drop(
                sqlx::query(sql)
                    .bind(version)
                    .bind(sum)
                    .execute(p)
                    .await
                    .unwrap(),
            ),
        }
    }

    async fn close(self) {
        match self {
            Raw::Sqlite(p) => p.close().await,
            Raw::Pg(p) => p.close().await,
        }
    }
}

fn kind(db: &TestDb) -> BackendKind {
    db.store.kind()
}

async fn connect(db: &TestDb) -> Result<Store, StoreError> {
    let mut opts = StoreOptions::new(&db.url);
    opts.pg_schema = db.schema.clone();
    Store::connect(opts).await
}

backend_tests!(
    a_newer_schema_is_refused_and_left_untouched,
    |db: TestDb| async move {
        let known = newest_version(kind(&db));
        assert!(known >= 2, "the migrations this binary ships: {known}");
        db.store.close().await;
        let raw = Raw::open(&db.url, db.schema.as_deref()).await;
        let future = known + 1000;
        raw.insert_migration(future).await;
        let before = raw.applied().await;

        let err = connect(&db)
            .await
            .err()
            .expect("a newer schema must be refused");
        match &err {
            StoreError::SchemaTooNew { database, known: k } => {
                assert_eq!(*database, future);
                assert_eq!(*k, known);
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
        let msg = err.to_string();
        for needle in [
            &future.to_string(),
            &format!("newest: {known}"),
            "upgrade zebench",
            "restore a backup",
        ] {
            assert!(msg.contains(needle), "{msg:?} lacks {needle:?}");
        }
        assert_eq!(
            raw.applied().await,
            before,
            "the refused connect changed the migrations table"
        );
        raw.close().await;
        db
    }
);

backend_tests!(a_modified_migration_is_refused, |db: TestDb| async move {
    db.store.close().await;
    let raw = Raw::open(&db.url, db.schema.as_deref()).await;
    raw.exec(&format!(
        "UPDATE {MIGRATIONS_TABLE} SET checksum = {} WHERE version = 1",
        if kind(&db) == BackendKind::Postgres {
            "'\\x00'::bytea"
        } else {
            "x'00'"
        }
    ))
    .await;
    let before = raw.applied().await;
    let err = connect(&db)
        .await
        .err()
        .expect("a modified migration must be refused");
    match &err {
        StoreError::MigrationModified { migration } => assert_eq!(migration, "0001_init"),
        other => panic!("expected MigrationModified, got {other:?}"),
    }
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
    assert_eq!(raw.applied().await, before);
    raw.close().await;
    db
});

backend_tests!(
    reopening_an_up_to_date_database_applies_nothing,
    |db: TestDb| async move {
        let raw = Raw::open(&db.url, db.schema.as_deref()).await;
        let before = raw.applied().await;
        assert_eq!(before.last().map(|m| m.0), Some(newest_version(kind(&db))));
        let again = db.reopen().await;
        again.close().await;
        assert_eq!(raw.applied().await, before);
        raw.close().await;
        db
    }
);

/// A database holding only a newer zebench's bookkeeping: were it not refused up front, every
/// migration this binary knows would be applied to it.
async fn only_future_row_is_refused(url: &str, schema: Option<&str>, kind: BackendKind) {
    let raw = Raw::open(url, schema).await;
    let blob = if kind == BackendKind::Postgres {
        "BYTEA"
    } else {
        "BLOB"
    };
    raw.exec(&format!(
        "CREATE TABLE {MIGRATIONS_TABLE} (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
         checksum {blob} NOT NULL, execution_time BIGINT NOT NULL)"
    ))
    .await;
    let future = newest_version(kind) + 1;
    raw.insert_migration(future).await;
    let mut opts = StoreOptions::new(url);
    opts.pg_schema = schema.map(str::to_string);
    let err = Store::connect(opts).await.err().expect("refused");
    assert!(
        matches!(err, StoreError::SchemaTooNew { database, .. } if database == future),
        "{err:?}"
    );
    let runs_tables = match kind {
        BackendKind::Sqlite => {
            raw.count("SELECT count(*) FROM sqlite_master WHERE name = 'runs'").await
        }
        BackendKind::Postgres => {
            raw.count(&format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = '{}' AND table_name = 'runs'",
                schema.unwrap()
            ))
            .await
        }
    };
    assert_eq!(runs_tables, 0, "a migration ran on a refused database");
    assert_eq!(raw.applied().await.len(), 1);
    raw.close().await;
}

#[tokio::test]
async fn refusal_happens_before_any_migration_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("future.sqlite").display());
    only_future_row_is_refused(&url, None, BackendKind::Sqlite).await;
}

#[tokio::test]
async fn refusal_happens_before_any_migration_postgres() {
    let url = pg_url();
    let schema = format!("zt_future_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL tests need a server at {url}: {e}"));
    let ddl = |s: String| sqlx::AssertSqlSafe(s);
    sqlx::query(ddl(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query(ddl(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    only_future_row_is_refused(&url, Some(&schema), BackendKind::Postgres).await;
    sqlx::query(ddl(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
}
