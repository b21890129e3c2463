//! Database metrics, recorded through the `metrics` facade so the store does not depend on an
//! exporter: a process that installs no recorder (the harness's local mode, the store's tests)
//! pays one atomic load per operation, and `zebench serve` exports them as Prometheus text.
//!
//! One observation per store operation, labelled by a fixed, small set of `operation` names
//! (the backend method that ran, or `submit` for a group-commit transaction). An operation may
//! be several statements in one transaction; what an operator needs is how long the database
//! kept the caller waiting, and how often it was asked.

use std::time::Instant;

/// Histogram of how long each database operation took, in seconds, by `operation`.
pub const QUERY_DURATION: &str = "zebench_db_query_duration_seconds";
/// Counter of database operations by `operation` and `result` (`ok` or `error`).
pub const QUERIES: &str = "zebench_db_queries_total";
/// Histogram of how many runs one group-commit transaction wrote.
pub const COMMIT_RUNS: &str = "zebench_db_commit_runs";

/// Records one finished operation that started at `started`.
pub(crate) fn record(operation: &'static str, started: Instant, ok: bool) {
    let seconds = started.elapsed().as_secs_f64();
    ::metrics::histogram!(QUERY_DURATION, "operation" => operation).record(seconds);
    ::metrics::counter!(
        QUERIES,
        "operation" => operation,
        "result" => if ok { "ok" } else { "error" }
    )
    .increment(1);
}

/// Awaits `fut` and records it as `operation`.
pub(crate) async fn timed<T, E>(
    operation: &'static str,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let started = Instant::now();
    let result = fut.await;
    record(operation, started, result.is_ok());
    result
}

/// Records the size of one committed group transaction.
pub(crate) fn record_commit(runs: usize) {
    ::metrics::histogram!(COMMIT_RUNS).record(runs as f64);
}
