//! The body of `POST /api/results/batch`: an upsert of a batch's descriptive fields.
//!
//! The counting fields are accepted for compatibility with the seed's logger but ignored: the
//! server computes a batch's aggregates from its runs, so they can never disagree.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BatchUpsert {
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 512,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub batch_id: String,
    /// Kept from the first insert; later values are ignored.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub completed_at: Option<Timestamp>,
    /// Ignored: computed by the server.
    #[serde(default)]
    pub total_runs: Option<f64>,
    /// Ignored: computed by the server.
    #[serde(default)]
    pub successful_runs: Option<f64>,
    /// Ignored: computed by the server.
    #[serde(default)]
    pub avg_score: Option<f64>,
    /// Ignored: computed by the server.
    #[serde(default)]
    pub avg_weighted_score: Option<f64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Map<String, Value>>,
}
