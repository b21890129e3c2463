//! zebench's domain types, shared by every other crate.
//!
//! One `RunResult` flows from the harness to the database: the harness builds it, the client
//! sends it as the body of `POST /api/results`, the server validates it here, the store writes it,
//! and the read side returns the stored shapes in [`objects`]. This crate does no I/O: it knows
//! nothing of HTTP, SQL or processes, so every layer can depend on it cheaply.

pub mod batch;
pub mod objects;
pub mod run;
pub mod score;
pub mod stats;
pub mod time;
pub mod validate;

pub use batch::BatchUpsert;
pub use objects::{
    AgentStats, Batch, BatchDetail, BreakdownRow, Dimension, Evaluation, Run, RunDetail, Stats,
    Telemetry,
};
pub use run::{EvaluationInput, RunResult, RunStatus, TelemetryInput};
pub use score::{score, Scores};
pub use time::Timestamp;
pub use validate::{
    parse_batch_upsert, parse_run_result, parse_run_results, parse_run_results_with,
    ValidationError,
};
