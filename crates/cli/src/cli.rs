//! Command-line definitions (clap derive). Every flag that has an environment variable says so
//! in `--help`; flags win over the environment, which wins over defaults.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;

#[derive(Parser, Debug)]
#[command(
    name = "zebench",
    version,
    about = "Benchmark harness and results platform for AI coding agents",
    after_help = "Exit codes: 0 success, 1 a result gate failed, 2 usage or input error, 3 infrastructure failure."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the results API on the embedded SQLite database or PostgreSQL.
    #[command(
        after_help = "Examples:\n  zebench serve --dev\n  zebench serve --bind 0.0.0.0:8787 --database-url postgres://zebench@db/zebench\n  ZE_BENCHMARKS_API_KEY=secret zebench serve"
    )]
    Serve(ServeArgs),
    /// Print the OpenAPI 3.1 description of the API.
    Openapi,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ZEBENCH_BIND", default_value = "127.0.0.1:8787")]
    pub bind: SocketAddr,

    /// Database: postgres://…, sqlite://PATH or a file path. Default: zebench.sqlite in the
    /// data directory ($XDG_DATA_HOME/zebench, usually ~/.local/share/zebench).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Write key clients must send as `Authorization: Bearer KEY` (repeat for several).
    /// Also read from API_SECRET_KEY, the seed's name.
    #[arg(
        long = "api-key",
        env = "ZE_BENCHMARKS_API_KEY",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,

    /// Local development: also accept the key `dev-local-key`. Never use on a shared server.
    #[arg(long)]
    pub dev: bool,

    /// Allowed CORS origins (comma-separated); `*` allows any.
    #[arg(
        long = "cors-origin",
        env = "ZEBENCH_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = "*"
    )]
    pub cors_origins: Vec<String>,

    /// Largest accepted submission body, in bytes (bulk submissions get 8×).
    #[arg(long, env = "ZEBENCH_BODY_LIMIT", default_value_t = 8 * 1024 * 1024)]
    pub body_limit: usize,

    /// Database connections (readers on SQLite).
    #[arg(long, env = "ZEBENCH_MAX_CONNECTIONS", default_value_t = 8)]
    pub max_connections: u32,

    /// Log format.
    #[arg(long, env = "ZEBENCH_LOG_FORMAT", value_enum, default_value = "human")]
    pub log_format: LogFormat,
}
