//! Prometheus metrics: what the seed's operators read from their edge platform (request count,
//! error rate, latency percentiles, CPU time, database queries), plus ingest and live-event
//! figures. Served as Prometheus text at `GET /metrics`, on the main port or on a listener of
//! its own (`[metrics] bind`).
//!
//! Recording goes through the `metrics` facade into one process-wide
//! `metrics-exporter-prometheus` recorder, installed by the first [`app`](crate::app) built
//! with metrics enabled. The store records its database metrics through the same facade
//! without depending on the exporter; with metrics disabled nothing is installed and every
//! recording is a no-op. The exporter's HTTP listener is not used: [`render`] is an ordinary
//! route, so it shares the server's shutdown, and the main port's auth layer can guard it.
//!
//! Label values are bounded: routes are axum's matched route templates (`/api/runs/{run_id}`),
//! never raw paths, and every request that matched no route is labelled [`UNMATCHED`].

mod process;

use axum::extract::{MatchedPath, Request};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics::{describe_counter, describe_gauge, describe_histogram, SharedString, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use zebench_store::BackendKind;

/// Counter of HTTP requests by `route`, `method` and `status`.
pub const HTTP_REQUESTS: &str = "zebench_http_requests_total";
/// Histogram of the time to a response's headers, in seconds, by `route` and `method`.
pub const HTTP_DURATION: &str = "zebench_http_request_duration_seconds";
/// Gauge of requests being handled now.
pub const HTTP_IN_FLIGHT: &str = "zebench_http_requests_in_flight";
/// Counter of runs submitted over HTTP by `outcome` (`created`, `duplicate`) and `path`
/// (`single`, `bulk`).
pub const RUNS_INGESTED: &str = "zebench_runs_ingested_total";
/// Counter of refused submissions by `route` and `class` (`4xx`, `5xx`).
pub const SUBMISSIONS_REJECTED: &str = "zebench_submissions_rejected_total";
/// Gauge of open `/api/events` streams.
pub const SSE_SUBSCRIBERS: &str = "zebench_sse_subscribers";
/// Always 1, labelled with the `version` and the `database` kind.
pub const BUILD_INFO: &str = "zebench_build_info";
/// Unix time at which metrics recording started (about when the server started).
pub const START_TIME: &str = "zebench_start_time_seconds";

/// The `route` label of requests that matched no route, so unknown paths (scanners, typos)
/// cannot create new series.
pub const UNMATCHED: &str = "unmatched";

/// Request latency buckets: 1 ms to 10 s, roughly ×2.5 apart.
const HTTP_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Database buckets start lower: most reads take well under a millisecond.
const DB_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
/// Runs per group commit: powers of two up to the writer's group limit (2,000).
const COMMIT_BUCKETS: [f64; 12] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0,
];

/// How often recorded histogram samples are folded into their buckets when nobody scrapes;
/// this bounds the memory they hold between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The media type of the Prometheus text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Why the process-wide recorder could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("invalid histogram buckets: {0}")]
    Buckets(#[from] metrics_exporter_prometheus::BuildError),
    #[error("another metrics recorder is already installed in this process")]
    RecorderTaken,
}

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Installs the process-wide recorder the first time it is called and returns its handle; later
/// calls return the same handle. The error (logged once) means metrics are not recorded.
pub fn install() -> Result<&'static PrometheusHandle, &'static str> {
    HANDLE
        .get_or_init(|| {
            build().map_err(|e| {
                tracing::warn!(error = %e, "metrics are not recorded");
                e.to_string()
            })
        })
        .as_ref()
        .map_err(String::as_str)
}

fn build() -> Result<PrometheusHandle, MetricsError> {
    use zebench_store::metrics as db;
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &HTTP_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(db::QUERY_DURATION.into()), &DB_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(db::COMMIT_RUNS.into()), &COMMIT_BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|_| MetricsError::RecorderTaken)?;
    describe();
    let upkeep = handle.clone();
    // A plain thread, not a task: it must outlive any one tokio runtime (tests build many).
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP_EVERY);
            upkeep.run_upkeep();
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no metrics upkeep thread; histograms are folded at scrape time only");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    metrics::gauge!(START_TIME).set(now.as_secs_f64());
    zero_series();
    Ok(handle)
}

/// Creates the series whose absence would read as "no data" rather than zero, so `rate()` and
/// alerts work from the first scrape.
fn zero_series() {
    for outcome in ["created", "duplicate"] {
        for path in ["single", "bulk"] {
            metrics::counter!(RUNS_INGESTED, "outcome" => outcome, "path" => path).increment(0);
        }
    }
    for route in ["/api/results", "/api/results/bulk", "/api/results/batch"] {
        for class in ["4xx", "5xx"] {
            metrics::counter!(SUBMISSIONS_REJECTED, "route" => route, "class" => class)
                .increment(0);
        }
    }
    metrics::gauge!(SSE_SUBSCRIBERS).increment(0.0);
    metrics::gauge!(HTTP_IN_FLIGHT).increment(0.0);
}

/// `# HELP` lines for every metric recorded through the facade.
fn describe() {
    use zebench_store::metrics as db;
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by matched route, method and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time from receiving a request to sending its response headers"
    );
    describe_gauge!(HTTP_IN_FLIGHT, "HTTP requests being handled now");
    describe_counter!(
        RUNS_INGESTED,
        "Runs submitted over HTTP by outcome (created, duplicate) and path (single, bulk)"
    );
    describe_counter!(
        SUBMISSIONS_REJECTED,
        "Submissions refused, by route and status class"
    );
    describe_gauge!(SSE_SUBSCRIBERS, "Open /api/events streams");
    describe_gauge!(
        BUILD_INFO,
        "Always 1; labels carry the version and database kind"
    );
    describe_gauge!(
        START_TIME,
        Unit::Seconds,
        "Unix time at which the server started recording metrics"
    );
    describe_histogram!(
        db::QUERY_DURATION,
        Unit::Seconds,
        "Duration of database operations by operation"
    );
    describe_counter!(
        db::QUERIES,
        "Database operations by operation and result (ok, error)"
    );
    describe_histogram!(
        db::COMMIT_RUNS,
        "Runs written by one group-commit transaction"
    );
}

/// Records `zebench_build_info` for a server on `database`.
pub(crate) fn set_build_info(database: BackendKind) {
    metrics::gauge!(
        BUILD_INFO,
        "version" => env!("CARGO_PKG_VERSION"),
        "database" => database.as_str()
    )
    .set(1.0);
}

/// The metrics text: everything recorded, then the process figures read now.
pub fn text() -> String {
    let mut out = match install() {
        Ok(handle) => handle.render(),
        Err(_) => String::new(),
    };
    process::render(&mut out);
    out
}

/// `GET /metrics`.
pub(crate) async fn render() -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text()).into_response()
}

/// The router of a metrics-only listener (`[metrics] bind`): `GET /metrics` and nothing else.
pub fn router() -> Router {
    Router::new()
        .route("/metrics", get(render))
        .fallback(|| async { StatusCode::NOT_FOUND })
}

/// Serves [`router`] on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    install().ok();
    axum::serve(listener, router())
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

/// Middleware recording every request's route, method, status and latency. It must be applied
/// with `Router::layer` so that it runs after routing and sees [`MatchedPath`].
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let route: SharedString = match req.extensions().get::<MatchedPath>() {
        Some(path) => path.as_str().to_owned().into(),
        None => UNMATCHED.into(),
    };
    let method = method_label(req.method());
    let started = Instant::now();
    let in_flight = InFlight::start();
    let response = next.run(req).await;
    drop(in_flight);
    let status = response.status();
    metrics::histogram!(HTTP_DURATION, "route" => route.clone(), "method" => method)
        .record(started.elapsed().as_secs_f64());
    if method == "POST"
        && is_submission(&route)
        && (status.is_client_error() || status.is_server_error())
    {
        let class = if status.is_client_error() {
            "4xx"
        } else {
            "5xx"
        };
        metrics::counter!(SUBMISSIONS_REJECTED, "route" => route.clone(), "class" => class)
            .increment(1);
    }
    metrics::counter!(
        HTTP_REQUESTS,
        "route" => route,
        "method" => method,
        "status" => status.as_u16().to_string()
    )
    .increment(1);
    response
}

fn is_submission(route: &str) -> bool {
    matches!(
        route,
        "/api/results" | "/api/results/bulk" | "/api/results/batch"
    )
}

/// A fixed set of method labels, so arbitrary methods cannot create series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Counts a request in flight until dropped, so a request whose client went away (its future
/// dropped mid-way) is not counted forever.
struct InFlight;

impl InFlight {
    fn start() -> InFlight {
        metrics::gauge!(HTTP_IN_FLIGHT).increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(HTTP_IN_FLIGHT).decrement(1.0);
    }
}

/// Counts one open event stream until dropped (client gone, or shutdown ended the stream).
pub(crate) struct SseSubscriber;

impl SseSubscriber {
    pub(crate) fn start() -> SseSubscriber {
        metrics::gauge!(SSE_SUBSCRIBERS).increment(1.0);
        SseSubscriber
    }
}

impl Drop for SseSubscriber {
    fn drop(&mut self) {
        metrics::gauge!(SSE_SUBSCRIBERS).decrement(1.0);
    }
}

/// Which submission route counted runs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IngestPath {
    Single,
    Bulk,
}

/// Counts the runs of one accepted submission.
pub(crate) fn runs_ingested(path: IngestPath, created: usize, duplicates: usize) {
    let path = match path {
        IngestPath::Single => "single",
        IngestPath::Bulk => "bulk",
    };
    for (outcome, n) in [("created", created), ("duplicate", duplicates)] {
        if n > 0 {
            metrics::counter!(RUNS_INGESTED, "outcome" => outcome, "path" => path)
                .increment(n as u64);
        }
    }
}
