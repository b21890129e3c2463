//! The zebench harness: turns a scenario into a `RunResult`.
//!
//! A run copies the scenario's fixture into a temporary workspace, runs the baseline commands on a
//! pristine copy, resolves the prompt tier, lets an agent work through the [`agent::Agent`]
//! interface with workspace-confined tools, runs the validation commands, diffs the workspace
//! against the fixture, scores it with the evaluators and hands the result to a sink (the local
//! store or the remote client). Batches schedule many runs concurrently.

pub mod agent;
pub mod batch;
pub mod config;
pub mod diff;
pub mod evaluators;
pub mod oracle;
pub mod pricing;
pub mod process;
pub mod runner;
pub mod sink;
pub mod suite;
pub mod tools;
pub mod workspace;
