//! The PostgreSQL backend: one pool for reads and writes; events travel via LISTEN/NOTIFY.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Transaction};
use std::str::FromStr;
use std::time::Duration;

pub(crate) type Db = sqlx::Postgres;
const IS_PG: bool = true;
const PAIR_SEP_SQL: &str = "chr(31)";
/// Under READ COMMITTED each statement has its own snapshot; multi-statement reads need one.
const READ_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
/// Refreshes planner statistics.
const ANALYZE_SQL: &str = "ANALYZE";
const DAY_SQL: &str = "to_char(to_timestamp(r.started_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
/// The `errorType` string of a run's metadata, else NULL. `runs.metadata` is TEXT, and the
/// store only ever writes it as `serde_json::to_string` of a JSON object (or NULL), so
/// anything starting with `{` parses as `json`. One thing serde_json emits that PostgreSQL's
/// `->>` refuses is the escape `\u0000` (anywhere in the document, not just in the extracted
/// value), so it is replaced first; the result stays valid JSON. A guard against the parse
/// failing any other way would need `pg_input_is_valid` (PostgreSQL 16). `json`, not `jsonb`:
/// one field is read, so the document need not be converted.
const ERROR_TYPE_SQL: &str = "CASE WHEN r.metadata LIKE '{%' AND r.metadata LIKE '%\"errorType\"%' THEN \
    CASE WHEN json_typeof(replace(r.metadata, E'\\\\u0000', E'\\\\ufffd')::json -> 'errorType') = 'string' \
    THEN replace(r.metadata, E'\\\\u0000', E'\\\\ufffd')::json ->> 'errorType' END END";
/// Put before each grouping key (nothing to steer here: PostgreSQL hashes groups).
const GROUP_KEY_PREFIX: &str = "";
/// An evaluation's histogram bucket: `floor(s * 10)` clamped to 0..=9, `s` the normalized
/// score (PostgreSQL hashes the groups; unlike SQLite it has no index for this).
const EVAL_BUCKET_SQL: &str = "CAST(floor(GREATEST(0, LEAST(9, (CASE WHEN e.max_score >= 0.000001 \
    THEN e.score / e.max_score ELSE e.score END) * 10))) AS BIGINT)";
/// Appended to text keys whose order must match SQLite's byte order, whatever the database's
/// collation.
const TEXT_ORDER: &str = " COLLATE \"C\"";
/// Case-insensitive pattern match; backslash is PostgreSQL's default LIKE escape character,
/// so no ESCAPE clause (whose literal would depend on `standard_conforming_strings`).
const SEARCH_LIKE: &str = "ILIKE";
const SEARCH_ESCAPE: &str = "";

pub(crate) struct Backend {
    pub(crate) read: Pool<Db>,
    pub(crate) write: Pool<Db>,
}

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connects, optionally inside a schema (used to isolate tests), and migrates.
pub(crate) async fn connect(
    url: &str,
    max_connections: u32,
    schema: Option<&str>,
) -> crate::Result<Backend> {
    let mut options =
        PgConnectOptions::from_str(url).map_err(|e| crate::StoreError::InvalidUrl {
            url: redact(url),
            reason: e.to_string(),
        })?;
    if let Some(schema) = schema {
        options = options.options([("search_path", schema)]);
    }
    let pool = PgPoolOptions::new()
        .max_connections(max_connections.max(2))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    crate::migrate::run(&MIGRATOR, &mut *pool.acquire().await?).await?;
    Ok(Backend {
        read: pool.clone(),
        write: pool,
    })
}

async fn begin_write(pool: &Pool<Db>) -> crate::Result<Transaction<'static, Db>> {
    Ok(pool.begin().await?)
}

/// Forwards NOTIFY payloads from every replica to this process's subscribers until the sender
/// has no receivers left and the pool closes.
pub(crate) fn spawn_listener(pool: Pool<Db>, tx: tokio::sync::broadcast::Sender<crate::Event>) {
    tokio::spawn(async move {
        loop {
            let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(l) => l,
                Err(e) => {
                    if pool.is_closed() {
                        return;
                    }
                    tracing::warn!(error = %e, "event listener could not connect; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(crate::events::PG_CHANNEL).await {
                tracing::warn!(error = %e, "LISTEN failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            loop {
                match listener.recv().await {
                    Ok(n) => match serde_json::from_str::<crate::Event>(n.payload()) {
                        Ok(event) => {
                            let _ = tx.send(event);
                        }
                        Err(e) => tracing::warn!(error = %e, "ignoring malformed event payload"),
                    },
                    Err(e) => {
                        if pool.is_closed() {
                            return;
                        }
                        tracing::warn!(error = %e, "event listener lost its connection; reconnecting");
                        break;
                    }
                }
            }
        }
    });
}

/// The URL without its password, for error messages and logs.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

include!("queries.rs");
include!("dashboard_sql.rs");
