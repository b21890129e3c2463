//! `zebench serve`: the results API with graceful shutdown on SIGINT/SIGTERM.

use crate::cli::ServeArgs;
use crate::{logging, paths, Failure};
use anyhow::Context;
use std::sync::Arc;
use zebench_server::config_file::ServerFile;
use zebench_server::{ApiKey, AppState, ServerConfig, DEV_KEY};
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

fn keys(args: &ServeArgs) -> Vec<ApiKey> {
    let mut keys: Vec<String> = args
        .api_keys
        .iter()
        .filter(|k| !k.trim().is_empty())
        .cloned()
        .collect();
    if keys.is_empty() {
        if let Ok(seed_key) = std::env::var("API_SECRET_KEY") {
            if !seed_key.trim().is_empty() {
                keys.push(seed_key);
            }
        }
    }
    if args.dev {
        tracing::warn!(
            "--dev: accepting the well-known key {DEV_KEY:?}; never use this on a shared server"
        );
        keys.push(DEV_KEY.to_string());
    }
    if keys.is_empty() {
        tracing::warn!("no API key configured (ZE_BENCHMARKS_API_KEY or --api-key): write routes will refuse every request");
    }
    keys.into_iter().map(ApiKey::new).collect()
}

/// `ZEBENCH_*` variables zebench reads; any other is most likely a typo worth a warning.
const KNOWN_ENV: [&str; 14] = [
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
    let file = match &args.config {
        Some(path) => ServerFile::load(path).map_err(Failure::usage)?,
        None => ServerFile::default(),
    };
    let url = database_url(args.database_url.clone())?;
    let mut opts = StoreOptions::new(&url);
    opts.max_connections = args.max_connections;
    let store = Store::connect(opts)
        .await
        .context("cannot open the database")
        .map_err(Failure::infra)?;
    tracing::info!(
        database = store.kind().as_str(),
        "database ready, migrations applied"
    );
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
    let store = Arc::new(store);
    // Fill the dashboard's aggregate cache in the background (seconds at a million runs).
    zebench_web::warm_up(store.clone());
    let state = AppState::new(store, config);
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
    zebench_server::serve(listener, state)
        .await
        .context("server failed")
        .map_err(Failure::infra)?;
    tracing::info!("stopped cleanly");
    Ok(())
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
