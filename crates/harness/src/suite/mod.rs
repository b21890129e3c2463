//! Suites on disk: discovery, the scenario model, validation and scaffolding.

pub mod model;

pub use model::Scenario;
