//! npm version ranges judged with the `semver` crate.
//!
//! The crate speaks Cargo's dialect: comparators are comma-separated and a bare `1.2.3` means
//! `^1.2.3`. npm separates comparators with spaces, a bare version is exact, and it has hyphen
//! ranges, `||` alternatives and `x` wildcards. [`translate`] rewrites one into the other.

use semver::{Version, VersionReq};

/// Operators a comparator may start with (longest first).
const OPERATORS: &[&str] = &[">=", "<=", "~>", ">", "<", "=", "^", "~"];

/// Specs that point at local code rather than a registry version; never judged.
pub fn is_local_spec(spec: &str) -> bool {
    let s = spec.trim();
    ["workspace:", "file:", "link:", "portal:"]
        .iter()
        .any(|p| s.starts_with(p))
}

/// Translates an npm range into one `VersionReq` per `||` alternative.
pub fn translate(range: &str) -> Result<Vec<VersionReq>, String> {
    range
        .split("||")
        .map(|alt| {
            let text = translate_alternative(alt);
            VersionReq::parse(&text)
                .map_err(|e| format!("cannot read npm range {range:?} (as {text:?}): {e}"))
        })
        .collect()
}

/// Whether `version` satisfies the npm `range` (any alternative).
pub fn satisfies(range: &str, version: &Version) -> Result<bool, String> {
    Ok(translate(range)?.iter().any(|r| r.matches(version)))
}

/// The lowest version a declared spec allows (`^5.5.4` → 5.5.4, `~20` → 20.0.0, `18.x` →
/// 18.0.0, `*` → 0.0.0): how the spec is judged against a target. `None` for local specs, tags
/// like `latest`, and specs with only an upper bound.
pub fn min_version(spec: &str) -> Option<Version> {
    let s = spec.trim();
    if is_local_spec(s) {
        return None;
    }
    // `npm:other-name@^1.2` aliases: judge the range part.
    let s = match s.strip_prefix("npm:") {
        Some(alias) => alias.rsplit_once('@').map(|(_, r)| r).unwrap_or(""),
        None => s,
    };
    let first = s.split("||").next().unwrap_or("").trim();
    let first = first.split(" - ").next().unwrap_or("").trim();
    let comparators = comparators(first);
    let head = comparators.first().map(String::as_str).unwrap_or("*");
    let (op, version) = split_operator(head);
    if op.starts_with('<') {
        return None;
    }
    partial_to_version(version)
}

/// Splits one alternative into comparators, gluing detached operators (`>= 5.5`) to versions.
fn comparators(alt: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut pending = String::new();
    for tok in alt.split_whitespace() {
        if OPERATORS.contains(&tok) {
            pending.push_str(tok);
        } else {
            out.push(format!("{pending}{tok}"));
            pending.clear();
        }
    }
    out
}

fn split_operator(comp: &str) -> (&str, &str) {
    for op in OPERATORS {
        if let Some(rest) = comp.strip_prefix(op) {
            return (op, rest.trim_start().trim_start_matches(['v', 'V']));
        }
    }
    ("", comp.trim_start_matches(['v', 'V']))
}

fn is_wildcard(part: &str) -> bool {
    matches!(part, "x" | "X" | "*" | "")
}

/// `1.2.x` → `1.2`, `1.x.x` → `1`, `*` → `` (the numeric parts before the first wildcard;
/// prerelease and build suffixes kept on full versions).
fn strip_wildcards(version: &str) -> String {
    let (core, suffix) = match version.find(['-', '+']) {
        Some(i) => version.split_at(i),
        None => (version, ""),
    };
    let parts: Vec<&str> = core.split('.').take_while(|p| !is_wildcard(p)).collect();
    if parts.len() == 3 {
        format!("{}{suffix}", parts.join("."))
    } else {
        parts.join(".")
    }
}

/// A partial version (`5`, `5.5`, `5.5.4-rc.1`, `5.x`) with missing parts as 0.
fn partial_to_version(version: &str) -> Option<Version> {
    let stripped = strip_wildcards(version);
    if stripped.is_empty() {
        return Some(Version::new(0, 0, 0));
    }
    let (core, suffix) = match stripped.find(['-', '+']) {
        Some(i) => stripped.split_at(i),
        None => (stripped.as_str(), ""),
    };
    let mut nums = [0u64; 3];
    for (i, p) in core.split('.').enumerate() {
        *nums.get_mut(i)? = p.parse().ok()?;
    }
    let [maj, min, pat] = nums;
    Version::parse(&format!("{maj}.{min}.{pat}{suffix}"))
        .ok()
        .or(Some(Version::new(maj, min, pat)))
}

/// One `||` alternative in the `semver` crate's syntax.
fn translate_alternative(alt: &str) -> String {
    let alt = alt.trim();
    if let Some((lo, hi)) = alt.split_once(" - ") {
        let lo = strip_wildcards(lo.trim().trim_start_matches(['v', 'V']));
        let hi = strip_wildcards(hi.trim().trim_start_matches(['v', 'V']));
        let mut parts = Vec::new();
        if !lo.is_empty() {
            parts.push(format!(">={lo}"));
        }
        if !hi.is_empty() {
            // The crate reads `<=1.2` as `<1.3.0`, npm's meaning of a partial upper bound.
            parts.push(format!("<={hi}"));
        }
        return if parts.is_empty() {
            "*".into()
        } else {
            parts.join(", ")
        };
    }
    let mut out = Vec::new();
    for comp in comparators(alt) {
        let (op, version) = split_operator(&comp);
        let version = strip_wildcards(version);
        if version.is_empty() {
            continue; // `*`, `x`, `>=*`: no constraint
        }
        let op = match op {
            "" => "=", // npm: a bare version is exact (`1.2` = 1.2.x)
            "~>" => "~",
            o => o,
        };
        out.push(format!("{op}{version}"));
    }
    if out.is_empty() {
        "*".into()
    } else {
        out.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(range: &str, v: &str) -> bool {
        satisfies(range, &Version::parse(v).unwrap()).unwrap()
    }

    #[test]
    fn space_separated_comparators() {
        assert_eq!(translate_alternative(">=5.5 <6"), ">=5.5, <6");
        assert!(ok(">=5.5 <6", "5.5.0") && ok(">=5.5 <6", "5.9.3"));
        assert!(!ok(">=5.5 <6", "5.4.9") && !ok(">=5.5 <6", "6.0.0"));
        assert!(ok(">= 5.5 < 6", "5.6.0"));
    }

    #[test]
    fn tilde_and_caret() {
        assert!(ok("~20.0", "20.0.0") && ok("~20.0", "20.0.7"));
        assert!(!ok("~20.0", "20.1.0") && !ok("~20.0", "19.9.9"));
        assert!(ok("^9", "9.0.0") && ok("^9", "9.12.3"));
        assert!(!ok("^9", "10.0.0") && !ok("^9", "8.57.0"));
    }

    #[test]
    fn wildcards() {
        assert!(ok("1.x", "1.0.0") && ok("1.x", "1.99.1") && !ok("1.x", "2.0.0"));
        assert!(ok("1.2.x", "1.2.9") && !ok("1.2.x", "1.3.0"));
        assert!(ok("*", "0.0.1") && ok("*", "123.4.5"));
        assert!(ok("x", "3.0.0") && ok("", "3.0.0"));
    }

    #[test]
    fn bare_versions_are_exact() {
        assert!(ok("1.2.3", "1.2.3") && !ok("1.2.3", "1.2.4"));
        assert!(ok("v1.2.3", "1.2.3"));
        assert!(ok("1.2", "1.2.5") && !ok("1.2", "1.3.0"));
    }

    #[test]
    fn hyphen_ranges() {
        assert!(ok("1.2.3 - 2.3.4", "1.2.3") && ok("1.2.3 - 2.3.4", "2.3.4"));
        assert!(!ok("1.2.3 - 2.3.4", "2.3.5") && !ok("1.2.3 - 2.3.4", "1.2.2"));
        assert!(ok("1.2 - 2.3", "2.3.9") && !ok("1.2 - 2.3", "2.4.0"));
        assert!(ok("1 - 2", "2.9.9") && !ok("1 - 2", "3.0.0"));
    }

    #[test]
    fn alternatives() {
        assert!(ok("^1 || ^2", "1.5.0") && ok("^1 || ^2", "2.0.1"));
        assert!(!ok("^1 || ^2", "3.0.0") && !ok("^1 || ^2", "0.9.0"));
    }

    #[test]
    fn invalid_ranges_are_errors() {
        assert!(satisfies(">=foo", &Version::new(1, 0, 0)).is_err());
        assert!(translate("latest").is_err());
    }

    #[test]
    fn minimum_versions_of_declared_specs() {
        let m = |s| min_version(s).map(|v| v.to_string());
        assert_eq!(m("^5.5.4").as_deref(), Some("5.5.4"));
        assert_eq!(m("~20.0.0").as_deref(), Some("20.0.0"));
        assert_eq!(m("~20").as_deref(), Some("20.0.0"));
        assert_eq!(m(">=18 <21").as_deref(), Some("18.0.0"));
        assert_eq!(m(">= 18.2").as_deref(), Some("18.2.0"));
        assert_eq!(m("v18.20.x").as_deref(), Some("18.20.0"));
        assert_eq!(m("18.2.0").as_deref(), Some("18.2.0"));
        assert_eq!(m("5.0.0-beta.1").as_deref(), Some("5.0.0-beta.1"));
        assert_eq!(m("^1.0.0 || ^2.0.0").as_deref(), Some("1.0.0"));
        assert_eq!(m("1.2.3 - 2").as_deref(), Some("1.2.3"));
        assert_eq!(m("*").as_deref(), Some("0.0.0"));
        assert_eq!(m("npm:@xterm/xterm@^5.3.0").as_deref(), Some("5.3.0"));
        assert_eq!(m("<6"), None);
        assert_eq!(m("latest"), None);
        assert_eq!(m("workspace:*"), None);
        assert_eq!(m("file:../lib"), None);
        assert_eq!(m("link:../lib"), None);
    }
}
