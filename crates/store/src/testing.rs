//! Throwaway databases for tests of this crate and the ones above it.
//!
//! Every test gets its own: a fresh SQLite file in a temporary folder, or a fresh schema in the
//! PostgreSQL database named by `ZEBENCH_TEST_PG_URL` (default: the CI machine's
//! `postgres://postgres@127.0.0.1:5432/test`). A PostgreSQL server that cannot be reached fails
//! the test: the PostgreSQL backend is never skipped silently.

use crate::{Store, StoreOptions};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// Default PostgreSQL URL for tests.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL URL tests use.
pub fn pg_url() -> String {
    std::env::var("ZEBENCH_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string())
}

fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A store on a database that is removed when the test calls [`TestDb::cleanup`] (SQLite
/// files also go when the value is dropped).
pub struct TestDb {
    pub store: Store,
    pub url: String,
    pub schema: Option<String>,
    dir: Option<PathBuf>,
}

impl TestDb {
    /// A fresh SQLite database file.
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(unique("zebench-test"));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let url = format!("sqlite://{}", dir.join("test.sqlite").display());
        let store = Store::connect(StoreOptions::new(&url))
            .await
            .expect("open sqlite test database");
        TestDb {
            store,
            url,
            schema: None,
            dir: Some(dir),
        }
    }

    /// A fresh schema in the test PostgreSQL database.
    pub async fn postgres() -> TestDb {
        let url = pg_url();
        let schema = unique("zt");
        let admin = sqlx::PgPool::connect(&url).await.unwrap_or_else(|e| {
            panic!("PostgreSQL tests need a server at {url} (set ZEBENCH_TEST_PG_URL): {e}")
        });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .expect("create test schema");
        admin.close().await;
        let mut opts = StoreOptions::new(&url);
        opts.pg_schema = Some(schema.clone());
        let store = Store::connect(opts)
            .await
            .expect("open postgres test store");
        TestDb {
            store,
            url,
            schema: Some(schema),
            dir: None,
        }
    }

    /// Opens a second store on the same database (a second replica or a restarted server).
    pub async fn reopen(&self) -> Store {
        let mut opts = StoreOptions::new(&self.url);
        opts.pg_schema = self.schema.clone();
        Store::connect(opts).await.expect("reopen test store")
    }

    /// Drops the PostgreSQL schema.
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(schema) = &self.schema {
            if let Ok(admin) = sqlx::PgPool::connect(&self.url).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(&admin)
                .await;
                admin.close().await;
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Stamps an async test body once per backend: `backend_tests!(name, |db: TestDb| async move {…; db})`
/// expands to a module `name` with `sqlite` and `postgres` tests.
#[macro_export]
macro_rules! backend_tests {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::testing::TestDb::sqlite().await;
                let db: $crate::testing::TestDb = ($body)(db).await;
                db.cleanup().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::testing::TestDb::postgres().await;
                let db: $crate::testing::TestDb = ($body)(db).await;
                db.cleanup().await;
            }
        }
    };
}
