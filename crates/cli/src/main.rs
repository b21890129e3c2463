//! The `zebench` binary: parses the command line into a validated configuration, then hands
//! it to the library crates. Errors become one friendly line and a documented exit code:
//! 0 success, 1 a gate you asked for failed, 2 usage or input error, 3 infrastructure failure.

/// `println!` that exits quietly when stdout is closed (`zebench list | head -2`), as ripgrep
/// does, instead of panicking on a broken pipe.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

mod backup;
mod cli;
mod compare;
mod demo;
mod exec;
mod export;
mod import;
mod judge;
mod keys;
mod logging;
mod paths;
mod progress;
mod report;
mod serve;
mod sink;
mod suites;
mod sync;

use clap::Parser;
use std::process::ExitCode;

/// Exit code for bad usage or input.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for infrastructure failures (database, network, ports).
pub const EXIT_INFRA: u8 = 3;

/// An error that knows its exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: EXIT_USAGE,
            error: error.into(),
        }
    }
    pub fn infra(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: EXIT_INFRA,
            error: error.into(),
        }
    }
}

fn main() -> ExitCode {
    // A .env in the working directory fills in variables not already set.
    let _ = dotenvy::dotenv();
    let args = cli::Cli::parse();
    let result = match args.command {
        cli::Command::Serve(serve_args) => serve::run(serve_args),
        cli::Command::Openapi => {
            out!("{}", zebench_server::openapi::spec_json());
            Ok(())
        }
        cli::Command::Keys(k) => keys::run(k),
        cli::Command::List(a) => suites::list(a),
        cli::Command::Validate(a) => suites::validate_cmd(a),
        cli::Command::NewSuite(a) => suites::new_suite(a),
        cli::Command::NewScenario(a) => suites::new_scenario(a),
        cli::Command::Run(a) => exec::run(a),
        cli::Command::Batch(a) => exec::batch(a),
        cli::Command::Sync(a) => sync::run(a),
        cli::Command::Demo(a) => demo::run(a),
        cli::Command::Compare(a) => compare::run(a),
        cli::Command::Export(a) => export::run(a),
        cli::Command::Import(a) => import::run(a),
        cli::Command::Backup(a) => backup::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("zebench: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}
