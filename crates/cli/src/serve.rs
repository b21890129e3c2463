//! `zebench serve`: the results API with graceful shutdown on SIGINT/SIGTERM.

use crate::cli::ServeArgs;
use crate::{logging, paths, Failure};
use anyhow::Context;
use std::sync::Arc;
use zebench_server::config_file::ServerFile;
use zebench_server::webhooks::{WebhookSettings, Webhooks};
use zebench_server::{ApiKey, AppState, Scope, ServerConfig, DEV_KEY};
use zebench_store::{Store, StoreOptions};

pub fn run(args: ServeArgs) -> Result<(), Failure> {
    logging::init(args.log_format);
    let runtime = tokio::runtime::Runtime::new().map_err(Failure::infra)?;
    runtime.block_on(serve(args))
}

/// The database URL to use: the flag or `DATABASE_URL`, else the default file (whose folder
/// is created).
pub fn database_url(flag: Option<String>) -> Result<String, Failure> {
    if let Some(url) = flag.filter(|u| !u.trim().is_empty()) {
        return Ok(url);
    }
    let path = paths::default_database();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create data directory {}", dir.display()))
            .map_err(Failure::infra)?;
    }
    Ok(format!("sqlite://{}", path.display()))
}

/// Keys from flags and environment, each with a name that runs record as `submittedBy`:
/// `api-key-1`, `api-key-2`… in the order given, `api-secret-key` (the seed's variable),
/// `dev` and `read`. Named keys belong in the keys file.
fn keys(args: &ServeArgs) -> Vec<ApiKey> {
    let mut keys: Vec<ApiKey> = args
        .api_keys
        .iter()
        .filter(|k| !k.trim().is_empty())
        .enumerate()
        .map(|(i, k)| ApiKey::named(format!("api-key-{}", i + 1), Scope::Write, k))
        .collect();
    if keys.is_empty() {
        if let Ok(seed_key) = std::env::var("API_SECRET_KEY") {
            if !seed_key.trim().is_empty() {
                keys.push(ApiKey::named("api-secret-key", Scope::Write, &seed_key));
            }
        }
    }
    if args.dev {
        tracing::warn!(
            "--dev: accepting the well-known key {DEV_KEY:?}; never use this on a shared server"
        );
        keys.push(ApiKey::named("dev", Scope::Write, DEV_KEY));
    }
    if let Some(read) = args.read_key.as_deref().filter(|k| !k.trim().is_empty()) {
        keys.push(ApiKey::named("read", Scope::Read, read));
    }
    keys
}

/// `ZEBENCH_*` variables zebench reads; any other is most likely a typo worth a warning.
const KNOWN_ENV: [&str; 16] = [
    "ZEBENCH_KEYS_FILE",
    "ZEBENCH_READ_KEY",
    "ZEBENCH_SERVER_CONFIG",
    "ZEBENCH_CONFIG",
    "ZEBENCH_BIND",
    "ZEBENCH_SUITES",
    "ZEBENCH_OUTBOX",
    "ZEBENCH_KEEP_WORKSPACE",
    "ZEBENCH_WORKSPACE_DIR",
    "ZEBENCH_JUDGE_PROVIDER",
    "ZEBENCH_JUDGE_MODEL",
    "ZEBENCH_CORS_ORIGINS",
    "ZEBENCH_BODY_LIMIT",
    "ZEBENCH_MAX_CONNECTIONS",
    "ZEBENCH_LOG_FORMAT",
    "ZEBENCH_TEST_PG_URL",
];

/// Names of set `ZEBENCH_*` variables that zebench does not know.
pub fn unknown_env(vars: impl Iterator<Item = String>) -> Vec<String> {
    vars.filter(|k| k.starts_with("ZEBENCH_") && !KNOWN_ENV.contains(&k.as_str()))
        .collect()
}

async fn serve(args: ServeArgs) -> Result<(), Failure> {
    for name in unknown_env(std::env::vars().map(|(k, _)| k)) {
        tracing::warn!("ignoring unknown environment variable {name} (see zebench serve --help)");
    }
    let mut file = match &args.config {
        Some(path) => ServerFile::load(path).map_err(Failure::usage)?,
        None => ServerFile::default(),
    };
    if let Some(keys_file) = &args.keys_file {
        file.auth.keys_file = Some(keys_file.clone());
    }
    let metrics = file.metrics.clone();
    let url = database_url(args.database_url.clone())?;
    let mut opts = StoreOptions::new(&url);
    opts.max_connections = args.max_connections;
    let store = Store::connect(opts)
        .await
        .context("cannot open the database")
        .map_err(Failure::infra)?;
    tracing::info!(database = store.kind().as_str(), "database ready");
    let config = ServerConfig {
        api_keys: keys(&args),
        body_limit: args.body_limit,
        bulk_body_limit: args.body_limit.saturating_mul(8),
        cors_origins: args.cors_origins.clone(),
        file,
        ..ServerConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))
        .map_err(Failure::infra)?;
    let addr = listener.local_addr().map_err(Failure::infra)?;
    // Bound before anything is served, so a taken metrics port fails the start, not later.
    let metrics_listener = match metrics.bind.filter(|_| metrics.enabled) {
        Some(bind) => Some(
            tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen on {bind} (metrics)"))
                .map_err(Failure::infra)?,
        ),
        None => None,
    };
    let store = Arc::new(store);
    // Fill the dashboard's aggregate cache in the background (seconds at a million runs).
    zebench_web::warm_up(store.clone());
    let webhooks = start_webhooks(&store, &config.file)?;
    let state = AppState::new(store, config).map_err(Failure::usage)?;
    warn_about_exposure(&state, args.bind);
    let token = state.shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: no new connections; finishing requests in flight");
        token.cancel();
    });
    tracing::info!(
        "zebench {} listening on http://{addr}",
        env!("CARGO_PKG_VERSION")
    );
    eprintln!("zebench API on http://{addr}  (dashboard: http://{addr}/, health: http://{addr}/health, OpenAPI: http://{addr}/api/openapi.json)");
    let metrics_server = match metrics_listener {
        Some(listener) => {
            let at = listener.local_addr().map_err(Failure::infra)?;
            eprintln!("zebench metrics on http://{at}/metrics");
            let token = state.shutdown.clone();
            Some(tokio::spawn(zebench_server::metrics::serve(
                listener, token,
            )))
        }
        None => None,
    };
    let drain_webhooks = async move {
        if let Some(w) = webhooks {
            w.shutdown(WEBHOOK_GRACE).await;
        }
    };
    zebench_server::serve_then(listener, state, drain_webhooks)
        .await
        .context("server failed")
        .map_err(Failure::infra)?;
    if let Some(task) = metrics_server {
        task.await
            .context("metrics listener panicked")
            .map_err(Failure::infra)?
            .context("metrics listener failed")
            .map_err(Failure::infra)?;
    }
    tracing::info!("stopped cleanly");
    Ok(())
}

/// How long pending webhook deliveries may still be sent after the server stopped serving.
const WEBHOOK_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Starts the `[[webhooks]]` of the config file, if any.
fn start_webhooks(store: &Arc<Store>, file: &ServerFile) -> Result<Option<Webhooks>, Failure> {
    if file.webhooks.is_empty() {
        return Ok(None);
    }
    let settings = WebhookSettings {
        hooks: file.webhooks.clone(),
        public_url: file.public_url.clone(),
        ..WebhookSettings::default()
    };
    let hooks = Webhooks::start(store.clone(), settings).map_err(Failure::infra)?;
    let names: Vec<String> = file.webhooks.iter().map(|h| h.label()).collect();
    tracing::info!("webhooks on: {}", names.join(", "));
    if file.public_url.is_none() {
        tracing::info!("public_url is not set: webhook payloads carry dashboard paths, not links");
    }
    Ok(Some(hooks))
}

/// Start-up warnings for settings that leave a server open to more than its operator meant.
fn warn_about_exposure(state: &AppState, bind: std::net::SocketAddr) {
    let ring = state.keys.ring();
    if ring.write_key_count() == 0 {
        tracing::warn!("no write key configured (--api-key, ZE_BENCHMARKS_API_KEY or a keys file): write routes will refuse every request");
    }
    if let Some(path) = state.keys.file() {
        tracing::info!(file = %path.display(), write_keys = ring.write_key_count(), "keys file loaded; watching it for changes");
    }
    if !bind.ip().is_loopback() {
        if !state.rate_limited() {
            tracing::warn!("listening on {bind} without rate limits: set [rate_limit] in the server config (docs/operations.md)");
        }
        if !ring.read_protected() {
            tracing::info!("the dashboard and read API are public on {bind}; add a read key (--read-key or a keys file) to make them private");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_zebench_variables_are_reported_and_others_ignored() {
        let vars = [
            "ZEBENCH_BIND",
            "ZEBENCH_BIDN",
            "PATH",
            "ZE_BENCHMARKS_API_KEY",
        ]
        .into_iter()
        .map(String::from);
        assert_eq!(unknown_env(vars), vec!["ZEBENCH_BIDN".to_string()]);
    }
}
