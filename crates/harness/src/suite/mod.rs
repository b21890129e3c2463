//! Suites on disk: discovery, the scenario model, validation and scaffolding.

pub mod limits;
pub mod load;
pub mod model;
pub mod scaffold;
pub mod validate;

pub use load::{ScenarioEntry, Suite, SuiteError, SuitesRoots, TierPrompt};
pub use model::Scenario;
