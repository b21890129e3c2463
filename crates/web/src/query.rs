//! Page query strings: filters, sort and paging live in the URL so every view is a shareable
//! link, and links to the same page with one thing changed are built here.

use serde::Deserialize;
use zebench_store::RunFilter;

/// The filters a page accepts (all optional; empty strings are ignored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    pub suite: String,
    pub scenario: String,
    pub tier: String,
    pub agent: String,
    pub model: String,
    pub status: String,
    pub batch: String,
    /// `YYYY-MM-DD` (inclusive).
    pub since: String,
    /// `YYYY-MM-DD` (inclusive).
    pub until: String,
    /// Free-text search (runs page).
    pub q: String,
    pub sort: String,
    pub cursor: String,
    /// Compare page: batch ids (repeated `ids=`).
    #[serde(skip)]
    pub ids: Vec<String>,
}

fn some(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// `YYYY-MM-DD` → epoch ms at 00:00 UTC.
pub fn day_start_ms(day: &str) -> Option<i64> {
    zebench_core::Timestamp::parse_iso(&format!("{}T00:00:00Z", day.trim())).map(|t| t.millis())
}

impl PageQuery {
    /// Parses a raw query string (repeated keys such as `ids` are kept).
    pub fn parse(raw: Option<&str>) -> PageQuery {
        let raw = raw.unwrap_or("");
        let pairs: Vec<(String, String)> = raw
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        let mut q = PageQuery::default();
        for (k, v) in pairs {
            match k.as_str() {
                "suite" => q.suite = v,
                "scenario" => q.scenario = v,
                "tier" => q.tier = v,
                "agent" => q.agent = v,
                "model" => q.model = v,
                "status" => q.status = v,
                "batch" | "batchId" => q.batch = v,
                "since" => q.since = v,
                "until" => q.until = v,
                "q" => q.q = v,
                "sort" => q.sort = v,
                "cursor" => q.cursor = v,
                "ids" => {
                    for id in v.split(',') {
                        if !id.trim().is_empty() {
                            q.ids.push(id.trim().to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        q
    }

    /// The store filter these parameters describe (invalid dates are ignored).
    pub fn filter(&self) -> RunFilter {
        RunFilter {
            suite: some(&self.suite),
            scenario: some(&self.scenario),
            tier: some(&self.tier),
            agent: some(&self.agent),
            model: some(&self.model),
            status: some(&self.status),
            batch_id: some(&self.batch),
            since: day_start_ms(&self.since),
            until: day_start_ms(&self.until).map(|t| t + 86_400_000),
        }
    }

    /// The filter parameters as `(key, value)` pairs, without paging.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        for (k, val) in [
            ("suite", &self.suite),
            ("scenario", &self.scenario),
            ("tier", &self.tier),
            ("agent", &self.agent),
            ("model", &self.model),
            ("status", &self.status),
            ("batch", &self.batch),
            ("since", &self.since),
            ("until", &self.until),
            ("q", &self.q),
            ("sort", &self.sort),
        ] {
            if !val.trim().is_empty() {
                v.push((k, val.trim().to_string()));
            }
        }
        v
    }

    /// `path?…` with the current filters, `set` applied on top (an empty value removes a key).
    pub fn link(&self, path: &str, set: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(String, String)> = self
            .pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .filter(|(k, _)| !set.iter().any(|(s, _)| s == k))
            .collect();
        for (k, v) in set {
            if !v.is_empty() {
                pairs.push((k.to_string(), v.to_string()));
            }
        }
        if pairs.is_empty() {
            return path.to_string();
        }
        let qs: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        format!("{path}?{}", qs.join("&"))
    }

    /// Whether any filter is set (for "clear filters" links and empty states).
    pub fn filtered(&self) -> bool {
        self.pairs().iter().any(|(k, _)| *k != "sort")
    }
}

/// Everything but RFC 3986's unreserved characters (`A–Z a–z 0–9 - _ . ~`).
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a query value or a path segment (everything but the unreserved
/// characters), so an identifier can never break out of its link.
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

/// Percent-decodes (and `+` → space); invalid escapes are kept as they are.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && s.is_char_boundary(i + 1)
                && s.is_char_boundary(i + 3) =>
            {
                match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_links() {
        let q = PageQuery::parse(Some(
            "suite=update-deps&agent=a%20b&ids=x&ids=y,z&since=2026-03-01&junk=1",
        ));
        assert_eq!(q.agent, "a b");
        assert_eq!(q.ids, ["x", "y", "z"]);
        let f = q.filter();
        assert_eq!(f.suite.as_deref(), Some("update-deps"));
        assert_eq!(f.since, Some(1_772_323_200_000));
        assert_eq!(
            q.link("/runs", &[("cursor", "c1")]),
            "/runs?suite=update-deps&agent=a%20b&since=2026-03-01&cursor=c1"
        );
        assert_eq!(
            q.link("/runs", &[("agent", "")]),
            "/runs?suite=update-deps&since=2026-03-01"
        );
        assert_eq!(decode("%3Cscript%3E"), "<script>");
        assert_eq!(decode("%zz"), "%zz");
        assert!(q.filtered());
    }
}
