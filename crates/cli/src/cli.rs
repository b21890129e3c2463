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
    /// Manage the server's named API keys (a keys file of SHA-256 digests).
    #[command(
        subcommand,
        after_help = "The server re-reads the keys file when it changes: no restart needed.\nExamples:\n  zebench keys add ci-nightly --file /etc/zebench/keys.toml      (prints the new key once)\n  zebench keys add dashboard --read --file keys.toml\n  zebench keys revoke ci-nightly --file keys.toml\n  zebench keys list --file keys.toml"
    )]
    Keys(KeysCommand),
    /// List suites, their scenarios and the tiers each has a prompt for.
    List(ListArgs),
    /// Check suites for errors and suspicious settings (file:line diagnostics).
    #[command(
        after_help = "PATH may be a suites root, a suite, a scenario folder or a scenario.yaml.\nExit code 2 when there are errors (and with --strict, warnings)."
    )]
    Validate(ValidateArgs),
    /// Create a suite with a first scenario that passes validate.
    NewSuite(NewSuiteArgs),
    /// Add a scenario (fixture, prompts, oracle, reference solution, scripted agent) to a suite.
    NewScenario(NewScenarioArgs),
    /// Run one scenario once.
    #[command(
        after_help = "Examples:\n  zebench run update-deps nx-pnpm-monorepo --tier L1 --agent scripted:solve\n  zebench run update-deps nx-pnpm-monorepo L1 echo      (the seed's positional form)"
    )]
    Run(RunArgs),
    /// Run a matrix: scenarios × tiers × agents × repeats, concurrently, into one batch.
    #[command(
        after_help = "Examples:\n  zebench batch --suite update-deps --tiers L0,L1 --agents echo,scripted:solve --repeat 3 --jobs 2\n  zebench batch --suite my-suite --batch-id nightly-42 --shard 2/4      (one of four machines)\n  zebench batch --resume nightly-42 --suite my-suite                    (skip runs already stored)"
    )]
    Batch(BatchArgs),
    /// Deliver results queued in the outbox while the server was unreachable.
    Sync(SyncArgs),
    /// Compare batch B against batch A: paired difference, interval, p-value, verdict.
    #[command(
        after_help = "Exit codes: 0; 1 with --fail-on-regression when B is a regression; 2 bad input; 3 database or server unreachable.\nHow to read every number: docs/statistics.md"
    )]
    Compare(CompareArgs),
    /// The offline demo: run the bundled suites with scripted agents, then serve the dashboard.
    #[command(
        after_help = "Runs two batches of the bundled `starter` suite (scripted solve/sloppy/fail agents and echo, every tier)\ninto the embedded database, then serves the API and dashboard. No keys or network needed."
    )]
    Demo(DemoArgs),
    /// Export runs with their evaluations and telemetry from the local database (JSONL or CSV).
    #[command(
        after_help = "Same formats and filters as GET /api/export. --since/--until take YYYY-MM-DD (UTC; --until includes that day), ISO-8601 or epoch ms.\nExamples:\n  zebench export > runs.jsonl\n  zebench export --format csv --agent anthropic --since 2026-03-01 -o march.csv"
    )]
    Export(ExportArgs),
    /// Import runs from a ze-benchmarks SQLite database or a zebench JSON Lines export.
    #[command(
        after_help = "The kind of FILE is detected from its content. Importing is idempotent: runs already stored\nwith the same content are skipped; runs stored with other content are reported as conflicts.\nExit codes: 0 done (conflicts and skipped rows are reported), 1 with --strict when any run was\nskipped or conflicted, 2 unreadable or unknown file, 3 database failure.\nExamples:\n  zebench import benchmark-report/public/benchmarks.db\n  zebench import runs.jsonl --dry-run"
    )]
    Import(ImportArgs),
    /// Copy the SQLite database to OUT while the server keeps running (consistent, checked).
    #[command(
        after_help = "The copy is the database as of one commit, written to a temporary name beside OUT, checked\nwith PRAGMA integrity_check, then renamed to OUT. Restore: stop the server, move the database\nfile and its -wal/-shm files away, copy the backup in its place, start the server.\nPostgreSQL: use pg_dump -Fc and pg_restore (docs/operations.md).\nExit codes: 0 done, 2 OUT exists (without --force), a PostgreSQL URL or no database, 3 copy failed.\nExamples:\n  zebench backup /var/backups/zebench-$(date +%F).sqlite\n  zebench backup --database-url sqlite:///srv/zebench/zebench.sqlite nightly.sqlite --force"
    )]
    Backup(BackupArgs),
}

/// Output format of `zebench export`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One {"run","evaluations","telemetry"} object per line.
    Jsonl,
    /// One row per run; evaluations as a JSON column.
    Csv,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: ExportFormat,
    /// Write to FILE instead of stdout (replaced only once the export is complete).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Database (default: the embedded one, as `serve`).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    #[arg(long)]
    pub suite: Option<String>,
    #[arg(long)]
    pub scenario: Option<String>,
    #[arg(long)]
    pub tier: Option<String>,
    #[arg(long)]
    pub agent: Option<String>,
    #[arg(long)]
    pub model: Option<String>,
    /// completed, failed, running or incomplete.
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long)]
    pub batch_id: Option<String>,
    /// Runs started at or after this time.
    #[arg(long)]
    pub since: Option<String>,
    /// Runs started before this time (a bare date includes that whole day).
    #[arg(long)]
    pub until: Option<String>,
    /// Stop after this many runs.
    #[arg(long)]
    pub max: Option<u64>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// A ze-benchmarks SQLite database, or a JSON Lines file from `zebench export`/`GET /api/export`.
    pub file: std::path::PathBuf,
    /// Database to import into (default: the embedded one, as `serve`).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Read and check everything, report what would be imported, store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Exit 1 when any run conflicts with a stored one or any row was skipped as invalid.
    #[arg(long)]
    pub strict: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// Where to write the copy.
    #[arg(value_name = "OUT")]
    pub out: std::path::PathBuf,
    /// Database to copy (default: the embedded one, as `serve`).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Replace OUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Address to serve the dashboard on.
    #[arg(long, env = "ZEBENCH_BIND", default_value = "127.0.0.1:8787")]
    pub bind: SocketAddr,
    /// Database (default: the embedded one, as `serve`).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Suites root holding the demo suite (default: ./suites and the bundled suites).
    #[arg(long = "suites", value_name = "DIR")]
    pub suites: Vec<std::path::PathBuf>,
    /// The suite to run.
    #[arg(long, default_value = "starter")]
    pub suite: String,
    /// Runs at the same time (default: the number of CPUs).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Repeats per cell in each of the two batches.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Fill the database and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
}

/// Where suites are looked up.
#[derive(Args, Debug, Clone)]
pub struct SuitesArgs {
    /// Suites root (repeatable). Default: $ZEBENCH_SUITES (PATH-style list), else ./suites and
    /// the bundled suites of the zebench checkout.
    #[arg(long = "suites", value_name = "DIR")]
    pub suites: Vec<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub suites: SuitesArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// What to validate (default: every suite under the suites roots).
    pub path: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub suites: SuitesArgs,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct NewSuiteArgs {
    /// kebab-case name.
    pub name: String,
    /// Folder to create it in (default: the first suites root, usually ./suites).
    #[command(flatten)]
    pub suites: SuitesArgs,
}

#[derive(Args, Debug)]
pub struct NewScenarioArgs {
    pub suite: String,
    /// kebab-case name.
    pub name: String,
    #[command(flatten)]
    pub suites: SuitesArgs,
}

/// How runs execute and where results go (shared by run and batch).
#[derive(Args, Debug, Clone)]
pub struct ExecArgs {
    #[command(flatten)]
    pub suites: SuitesArgs,

    /// Local mode: the database to store into (default: the embedded SQLite file, as serve).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Remote mode: the zebench server to send results to (through the durable outbox).
    #[arg(long, env = "ZE_BENCHMARKS_WORKER_URL")]
    pub worker_url: Option<String>,

    /// Write key for the server.
    #[arg(long, env = "ZE_BENCHMARKS_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// Outbox folder for remote mode (default: $XDG_DATA_HOME/zebench/outbox).
    #[arg(long, env = "ZEBENCH_OUTBOX")]
    pub outbox: Option<std::path::PathBuf>,

    /// Keep workspaces: `always` (the flag alone), `on-failure`, or `never` (default).
    #[arg(long, env = "ZEBENCH_KEEP_WORKSPACE", num_args = 0..=1, require_equals = true, default_missing_value = "always", default_value = "never")]
    pub keep_workspace: String,

    /// Where workspaces are created (default: the system temp folder).
    #[arg(long, env = "ZEBENCH_WORKSPACE_DIR")]
    pub workspace_dir: Option<std::path::PathBuf>,

    /// Timeout per validation/baseline command, in seconds (a scenario's
    /// validation.timeout_seconds wins).
    #[arg(long, default_value_t = 600.0)]
    pub command_timeout: f64,

    /// Override every scenario's timeout_minutes.
    #[arg(long)]
    pub timeout_minutes: Option<f64>,

    /// Config file (providers, limits, prices, named agents, judge). Default:
    /// $XDG_CONFIG_HOME/zebench/zebench.toml when it exists.
    #[arg(long, env = "ZEBENCH_CONFIG")]
    pub config: Option<std::path::PathBuf>,

    /// API agents: model requests per run at most (config `limits.max_turns`, default 50).
    #[arg(long)]
    pub max_turns: Option<u32>,

    /// API agents: input + output tokens per run at most (config `limits.max_tokens`).
    #[arg(long)]
    pub max_run_tokens: Option<u64>,

    /// API agents: USD per run at most (config `limits.max_cost_usd`).
    #[arg(long)]
    pub max_run_cost: Option<f64>,

    /// Exit 1 unless the mean weighted score (0–10) reaches this.
    #[arg(long)]
    pub fail_under: Option<f64>,

    /// Print the results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    pub suite: String,
    pub scenario: String,
    /// Tier (positional form of --tier).
    #[arg(value_name = "TIER")]
    pub tier_pos: Option<String>,
    /// Agent (positional form of --agent).
    #[arg(value_name = "AGENT")]
    pub agent_pos: Option<String>,
    /// Prompt tier: L0, L1, … or a full prompt name such as L1-basic.
    #[arg(long)]
    pub tier: Option<String>,
    /// AGENT or AGENT:MODEL (echo, scripted:solve, scripted:path/to/script.yaml).
    #[arg(long)]
    pub agent: Option<String>,
    /// Model for the agent (same as AGENT:MODEL).
    #[arg(long)]
    pub model: Option<String>,
    /// Record the run in this batch.
    #[arg(long)]
    pub batch_id: Option<String>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Args, Debug)]
pub struct BatchArgs {
    /// Suites to run (comma-separated or repeated; default: every suite).
    #[arg(long = "suite", value_delimiter = ',')]
    pub suites_sel: Vec<String>,
    /// Only these scenarios (comma-separated).
    #[arg(long = "scenario", value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// Tiers (default: every tier each scenario has a prompt for).
    #[arg(long, value_delimiter = ',')]
    pub tiers: Vec<String>,
    /// Agents as AGENT or AGENT:MODEL, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub agents: Vec<String>,
    /// Runs per cell.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Runs at the same time.
    #[arg(long, short = 'j', default_value_t = 1)]
    pub jobs: usize,
    /// Run only shard I of N (deterministic split, for several machines filling one batch).
    #[arg(long)]
    pub shard: Option<String>,
    /// Batch id (default: a new one; several shards must share one).
    #[arg(long)]
    pub batch_id: Option<String>,
    /// Continue BATCH: runs already stored in it are skipped.
    #[arg(long, value_name = "BATCH")]
    pub resume: Option<String>,
    /// Stop starting runs once this much (USD, agent + judge) is spent.
    #[arg(long)]
    pub max_cost: Option<f64>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    #[arg(long, env = "ZE_BENCHMARKS_WORKER_URL")]
    pub worker_url: String,
    #[arg(long, env = "ZE_BENCHMARKS_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    #[arg(long, env = "ZEBENCH_OUTBOX")]
    pub outbox: Option<std::path::PathBuf>,
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

    /// Server configuration file (TOML): named key files, rate limits, metrics, webhooks.
    /// See docs/operations.md.
    #[arg(long = "config", env = "ZEBENCH_SERVER_CONFIG")]
    pub config: Option<std::path::PathBuf>,

    /// Named, hashed keys managed with `zebench keys` (overrides `[auth] keys_file`).
    /// Re-read when it changes: keys are added and revoked without a restart.
    #[arg(long = "keys-file", env = "ZEBENCH_KEYS_FILE")]
    pub keys_file: Option<std::path::PathBuf>,

    /// A read key: with one, the dashboard and read API need a key too (browsers ask for it
    /// as a password). Keys files can hold read keys as well.
    #[arg(long = "read-key", env = "ZEBENCH_READ_KEY", hide_env_values = true)]
    pub read_key: Option<String>,

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

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The baseline batch.
    pub a: String,
    /// The batch compared against it.
    pub b: String,
    /// Exit 1 when B is a regression (the 95% interval of B − A is below zero).
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Points (0–10) a difference must exceed to count as a regression or improvement.
    #[arg(long, default_value_t = 0.0)]
    pub threshold: f64,
    /// Local database (default: the embedded one).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Ask a server instead of the local database.
    #[arg(long, env = "ZE_BENCHMARKS_WORKER_URL")]
    pub worker_url: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `zebench keys …`.
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Make a key, store its digest in the keys file and print the key (shown only once).
    Add(KeysAddArgs),
    /// Mark a key revoked: the server refuses it within seconds.
    Revoke(KeysNameArgs),
    /// Names, scopes, creation times and revocations (never keys).
    List(KeysFileArg),
    /// Print the SHA-256 digest of a key read from standard input.
    Hash,
}

#[derive(Args, Debug)]
pub struct KeysFileArg {
    /// The keys file (created by the first `add`).
    #[arg(long, env = "ZEBENCH_KEYS_FILE")]
    pub file: std::path::PathBuf,
}

#[derive(Args, Debug)]
pub struct KeysAddArgs {
    /// Recorded as `submittedBy` on every run the key submits: 1–64 letters, digits, . _ -
    pub name: String,
    /// A read key (dashboard and read API) instead of a write key.
    #[arg(long)]
    pub read: bool,
    /// Take the key from standard input instead of generating one (it must be long).
    #[arg(long)]
    pub stdin: bool,
    #[command(flatten)]
    pub file: KeysFileArg,
}

#[derive(Args, Debug)]
pub struct KeysNameArgs {
    pub name: String,
    #[command(flatten)]
    pub file: KeysFileArg,
}
