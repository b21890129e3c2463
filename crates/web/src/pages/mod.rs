//! One module per page. Each handler reads its query, asks the store for aggregated rows, turns
//! them into a view (strings already formatted, SVG already drawn) and renders its template.

pub mod agents;
pub mod batch;
pub mod batches;
pub mod compare;
pub mod costs;
pub mod evaluators;
pub mod overview;
pub mod run;
pub mod runs;
pub mod shared;
pub mod suites;
