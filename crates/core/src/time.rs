//! Timestamps: stored as integer epoch milliseconds (bucketing is plain arithmetic on every
//! backend), accepted as an ISO-8601 string or epoch milliseconds, always returned as an
//! ISO-8601 UTC string with milliseconds (`2026-03-11T10:00:00.000Z`), as API.md requires.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A point in time with millisecond precision, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// Epoch milliseconds must stay inside what chrono can format (years 0..=9999), so a wild
/// number from a client is rejected rather than stored and later unprintable.
const MAX_MS: i64 = 253_402_300_799_999;

impl Timestamp {
    /// The current time, truncated to milliseconds.
    pub fn now() -> Self {
        Timestamp(Utc::now().timestamp_millis())
    }

    /// Epoch milliseconds.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Checked constructor for values read from clients.
    pub fn from_millis(ms: i64) -> Option<Self> {
        (0..=MAX_MS).contains(&ms).then_some(Timestamp(ms))
    }

    /// Parses an ISO-8601 / RFC 3339 string (a trailing `Z` or an offset is required).
    pub fn parse_iso(s: &str) -> Option<Self> {
        let dt = DateTime::parse_from_rfc3339(s.trim()).ok()?;
        Self::from_millis(dt.timestamp_millis())
    }

    /// `2026-03-11T10:00:00.000Z`.
    pub fn to_iso(self) -> String {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            Some(dt) => dt.to_rfc3339_opts(SecondsFormat::Millis, true),
            None => String::new(),
        }
    }

    /// The UTC calendar day, `2026-03-11`, used for per-day breakdowns.
    pub fn day(self) -> String {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            Some(dt) => dt.format("%Y-%m-%d").to_string(),
            None => String::new(),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_iso())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an ISO-8601 timestamp string or epoch milliseconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse_iso(v).ok_or_else(|| {
                    E::custom(format!(
                        "invalid timestamp {v:?}: expected ISO-8601 like 2026-03-11T10:00:00.000Z"
                    ))
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Timestamp::from_millis(v)
                    .ok_or_else(|| E::custom(format!("epoch milliseconds {v} out of range")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                i64::try_from(v)
                    .ok()
                    .and_then(Timestamp::from_millis)
                    .ok_or_else(|| E::custom(format!("epoch milliseconds {v} out of range")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
                if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
                    self.visit_i64(v as i64)
                } else {
                    Err(E::custom("epoch milliseconds must be a whole number"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
        use utoipa::openapi::KnownFormat;
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                    .description(Some(
                        "ISO-8601 from 1970 to 9999, any offset on input; returned in UTC",
                    )),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0))
                    .maximum(Some(MAX_MS))
                    .description(Some("epoch milliseconds (accepted on input)")),
            )
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip_keeps_milliseconds() {
        let t = Timestamp::parse_iso("2026-03-11T10:04:12.345Z").unwrap();
        assert_eq!(t.to_iso(), "2026-03-11T10:04:12.345Z");
        assert_eq!(t.day(), "2026-03-11");
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        let t = Timestamp::parse_iso("2026-03-11T12:00:00+02:00").unwrap();
        assert_eq!(t.to_iso(), "2026-03-11T10:00:00.000Z");
    }

    #[test]
    fn accepts_epoch_millis_and_rejects_garbage() {
        let t: Timestamp = serde_json::from_str("1741687200000").unwrap();
        assert_eq!(t.to_iso(), "2025-03-11T10:00:00.000Z");
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
        assert!(serde_json::from_str::<Timestamp>("-5").is_err());
        assert!(serde_json::from_str::<Timestamp>("1.5").is_err());
        assert!(serde_json::from_str::<Timestamp>("true").is_err());
    }
}
