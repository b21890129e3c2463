//! Model prices, to turn token counts into dollars when a provider does not report cost.
//!
//! [`PriceTable::builtin`] holds list prices for common Anthropic and OpenAI models; a user file
//! ([`PriceTable::load_overrides`], merged with [`PriceTable::merge`]) adds models or corrects
//! prices. Lookups normalize the model id ([`PriceTable::get`]) so `openai/gpt-5`,
//! `anthropic/claude-sonnet-4.5` and `claude-sonnet-4-5-20250929` find their base entry.
//!
//! Override file (TOML, or JSON with the same shape when the file name ends in `.json`):
//!
//! ```toml
//! # USD per million tokens; cache_read / cache_write default to input when omitted.
//! [models."claude-sonnet-4-5"]
//! input = 3
//! output = 15
//! cache_read = 0.3
//! cache_write = 3.75
//!
//! [models."meta-llama/llama-3.1-8b-instruct"]
//! input = 0.02
//! output = 0.03
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use zebench_provider::Usage;

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    /// Defaults to `input` when a table omits it.
    #[serde(default)]
    pub cache_read: Option<f64>,
    #[serde(default)]
    pub cache_write: Option<f64>,
}

impl Price {
    /// A price with cache reads and writes billed like input.
    pub const fn new(input: f64, output: f64) -> Price {
        Price {
            input,
            output,
            cache_read: None,
            cache_write: None,
        }
    }

    /// The same price with its cache-read price set.
    pub const fn with_cache_read(mut self, cache_read: f64) -> Price {
        self.cache_read = Some(cache_read);
        self
    }

    /// The same price with its cache-write price set.
    pub const fn with_cache_write(mut self, cache_write: f64) -> Price {
        self.cache_write = Some(cache_write);
        self
    }

    /// Dollars for `usage`. `usage.input_tokens` counts every prompt token, the cache ones
    /// included, so the uncached part is what remains after the two cache counters.
    pub fn cost(&self, usage: &Usage) -> f64 {
        let uncached = usage
            .input_tokens
            .saturating_sub(usage.cache_read_tokens)
            .saturating_sub(usage.cache_write_tokens);
        let micro = uncached as f64 * self.input
            + usage.cache_read_tokens as f64 * self.cache_read.unwrap_or(self.input)
            + usage.cache_write_tokens as f64 * self.cache_write.unwrap_or(self.input)
            + usage.output_tokens as f64 * self.output;
        micro / 1_000_000.0
    }
}

/// When the built-in prices were taken from the providers' public price lists.
pub const BUILTIN_PRICES_AS_OF: &str = "2026-11";

/// List prices in USD per million tokens. Cache prices not given are billed like input.
const BUILTIN: &[(&str, Price)] = &[
    // Anthropic (cache write = 5-minute cache writes).
    ("claude-opus-4-1", anthropic(15.0, 75.0, 1.5, 18.75)),
    ("claude-opus-4", anthropic(15.0, 75.0, 1.5, 18.75)),
    ("claude-sonnet-4-5", anthropic(3.0, 15.0, 0.3, 3.75)),
    ("claude-sonnet-4", anthropic(3.0, 15.0, 0.3, 3.75)),
    ("claude-3-7-sonnet", anthropic(3.0, 15.0, 0.3, 3.75)),
    ("claude-haiku-4-5", anthropic(1.0, 5.0, 0.1, 1.25)),
    ("claude-3-5-haiku", anthropic(0.8, 4.0, 0.08, 1.0)),
    // OpenAI (no separate cache-write price: writes are billed as input).
    ("gpt-5", openai(1.25, 10.0, 0.125)),
    ("gpt-5-mini", openai(0.25, 2.0, 0.025)),
    ("gpt-5-nano", openai(0.05, 0.4, 0.005)),
    ("gpt-4.1", openai(2.0, 8.0, 0.5)),
    ("gpt-4.1-mini", openai(0.4, 1.6, 0.1)),
    ("gpt-4o", openai(2.5, 10.0, 1.25)),
    ("gpt-4o-mini", openai(0.15, 0.6, 0.075)),
    ("o3", openai(2.0, 8.0, 0.5)),
    ("o4-mini", openai(1.1, 4.4, 0.275)),
];

const fn anthropic(input: f64, output: f64, cache_read: f64, cache_write: f64) -> Price {
    Price::new(input, output)
        .with_cache_read(cache_read)
        .with_cache_write(cache_write)
}

const fn openai(input: f64, output: f64, cache_read: f64) -> Price {
    Price::new(input, output).with_cache_read(cache_read)
}

/// Prices by model id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    /// Keys are lower-cased model ids.
    prices: BTreeMap<String, Price>,
}

/// A price file that cannot be used; the message names the file and, when it is about one
/// entry, the model key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("price file {}: {message}", path.display())]
pub struct PricingError {
    pub path: PathBuf,
    pub message: String,
}

impl PriceTable {
    /// An empty table.
    pub fn new() -> PriceTable {
        PriceTable::default()
    }

    /// The built-in list prices (USD per million tokens) of common Anthropic and OpenAI models,
    /// taken from the providers' public price lists in 2026-11 ([`BUILTIN_PRICES_AS_OF`]).
    /// Prices change: a user price file ([`PriceTable::load_overrides`], merged with
    /// [`PriceTable::merge`]) overrides any of them and adds models.
    ///
    /// Anthropic: claude-opus-4-1 and claude-opus-4 15/75 (cache read 1.5, write 18.75);
    /// claude-sonnet-4-5, claude-sonnet-4 and claude-3-7-sonnet 3/15 (0.3, 3.75);
    /// claude-haiku-4-5 1/5 (0.1, 1.25); claude-3-5-haiku 0.8/4 (0.08, 1).
    /// OpenAI (cache writes billed as input): gpt-5 1.25/10 (cache read 0.125); gpt-5-mini
    /// 0.25/2 (0.025); gpt-5-nano 0.05/0.4 (0.005); gpt-4.1 2/8 (0.5); gpt-4.1-mini 0.4/1.6
    /// (0.1); gpt-4o 2.5/10 (1.25); gpt-4o-mini 0.15/0.6 (0.075); o3 2/8 (0.5); o4-mini
    /// 1.1/4.4 (0.275).
    pub fn builtin() -> PriceTable {
        let mut table = PriceTable::new();
        for (model, price) in BUILTIN {
            table.insert(model, *price);
        }
        table
    }

    /// Sets the price of `model` (its id is matched case-insensitively).
    pub fn insert(&mut self, model: impl AsRef<str>, price: Price) {
        self.prices
            .insert(model.as_ref().trim().to_ascii_lowercase(), price);
    }

    /// Adds every entry of `other`, replacing entries of the same model (user entries win).
    pub fn merge(&mut self, other: PriceTable) {
        self.prices.extend(other.prices);
    }

    /// Number of models priced.
    pub fn len(&self) -> usize {
        self.prices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }

    /// Every entry, by lower-cased model id.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Price)> {
        self.prices.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The price of `model`: the exact id first, then normalized forms of it — without a
    /// provider prefix (`openai/gpt-5` → `gpt-5`), with dots as dashes
    /// (`claude-sonnet-4.5` → `claude-sonnet-4-5`), without a `:variant` suffix (`:free`,
    /// `:thinking`), without a date or `-latest` suffix (`claude-sonnet-4-5-20250929`,
    /// `gpt-4o-2024-08-06`). No prefix matching: `gpt-5-pro` is not priced as `gpt-5`.
    pub fn get(&self, model: &str) -> Option<&Price> {
        candidates(model)
            .into_iter()
            .find_map(|c| self.prices.get(&c))
    }

    /// Dollars for `usage` on `model`, or None when the model is not in the table.
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<f64> {
        self.get(model).map(|p| p.cost(usage))
    }

    /// Reads a price file (TOML; JSON of the same shape when the name ends in `.json`) and
    /// returns its entries only; merge them over [`PriceTable::builtin`] with
    /// [`PriceTable::merge`].
    pub fn load_overrides(path: impl AsRef<Path>) -> Result<PriceTable, PricingError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| PricingError {
            path: path.to_path_buf(),
            message: format!("cannot read it: {e}"),
        })?;
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if json {
            Self::from_json_str(&text, path)
        } else {
            Self::from_toml_str(&text, path)
        }
    }

    /// Parses a TOML price file's text; `path` is only used in error messages.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<PriceTable, PricingError> {
        let err = |message: String| PricingError {
            path: path.to_path_buf(),
            message,
        };
        let file: FileShape<toml::Value> =
            toml::from_str(text).map_err(|e| err(e.to_string().trim().to_string()))?;
        let mut table = PriceTable::new();
        for (model, value) in file.models {
            let entry: PriceEntry = value
                .try_into()
                .map_err(|e: toml::de::Error| err(entry_error(&model, e.to_string())))?;
            table.insert(&model, entry.validate(&model).map_err(err)?);
        }
        Ok(table)
    }

    /// Parses a JSON price file's text (`{"models": {"NAME": {"input": …}}}`).
    pub fn from_json_str(text: &str, path: &Path) -> Result<PriceTable, PricingError> {
        let err = |message: String| PricingError {
            path: path.to_path_buf(),
            message,
        };
        let file: FileShape<serde_json::Value> =
            serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut table = PriceTable::new();
        for (model, value) in file.models {
            let entry: PriceEntry = serde_json::from_value(value)
                .map_err(|e| err(entry_error(&model, e.to_string())))?;
            table.insert(&model, entry.validate(&model).map_err(err)?);
        }
        Ok(table)
    }
}

impl fmt::Display for PriceTable {
    /// One line per model: `model: input/output per Mtok (cache read …, cache write …)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (model, p) in &self.prices {
            writeln!(
                f,
                "{model}: {}/{} USD per Mtok (cache read {}, cache write {})",
                p.input,
                p.output,
                p.cache_read.unwrap_or(p.input),
                p.cache_write.unwrap_or(p.input)
            )?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape<V> {
    #[serde(default = "BTreeMap::new")]
    models: BTreeMap<String, V>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceEntry {
    input: f64,
    output: f64,
    #[serde(default)]
    cache_read: Option<f64>,
    #[serde(default)]
    cache_write: Option<f64>,
}

impl PriceEntry {
    fn validate(self, model: &str) -> Result<Price, String> {
        let fields = [
            ("input", Some(self.input)),
            ("output", Some(self.output)),
            ("cache_read", self.cache_read),
            ("cache_write", self.cache_write),
        ];
        for (name, value) in fields {
            if let Some(v) = value.filter(|v| !v.is_finite() || *v < 0.0) {
                return Err(format!(
                    "[models.{model:?}] {name} = {v}: prices are non-negative USD per million tokens"
                ));
            }
        }
        Ok(Price {
            input: self.input,
            output: self.output,
            cache_read: self.cache_read,
            cache_write: self.cache_write,
        })
    }
}

fn entry_error(model: &str, e: String) -> String {
    format!(
        "[models.{model:?}]: {} (expected input, output and optionally cache_read, cache_write in USD per million tokens)",
        e.trim()
    )
}

/// The ids to try for `model`, most specific first.
fn candidates(model: &str) -> Vec<String> {
    let exact = model.trim().to_ascii_lowercase();
    let mut out = vec![exact.clone()];
    let mut push = |s: String| {
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    };
    let no_variant = exact.split(':').next().unwrap_or_default().to_string();
    let base = no_variant
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    for id in [exact.clone(), no_variant, base] {
        let undated = strip_date(&id);
        let dashed = id.replace('.', "-");
        let dashed_undated = strip_date(&dashed);
        push(id);
        push(undated);
        push(dashed);
        push(dashed_undated);
    }
    out
}

/// `id` without a trailing `-latest`, `-YYYYMMDD` or `-YYYY-MM-DD`.
fn strip_date(id: &str) -> String {
    if let Some(s) = id.strip_suffix("-latest") {
        return s.to_string();
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some((head, tail)) = id.rsplit_once('-') {
        if tail.len() == 8 && digits(tail) {
            return head.to_string();
        }
        // -YYYY-MM-DD: three dash-separated numeric parts of 4, 2 and 2 digits.
        let parts: Vec<&str> = id.rsplitn(4, '-').collect();
        if parts.len() == 4
            && parts[0].len() == 2
            && parts[1].len() == 2
            && parts[2].len() == 4
            && parts[..3].iter().all(|p| digits(p))
        {
            return parts[3].to_string();
        }
    }
    id.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, cache_read: u64, cache_write: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: cache_read,
            cache_write_tokens: cache_write,
        }
    }

    #[test]
    fn builtin_prices_are_the_list_prices() {
        let t = PriceTable::builtin();
        assert_eq!(t.len(), BUILTIN.len());
        let p = t.get("claude-sonnet-4-5").unwrap();
        assert_eq!(
            *p,
            Price::new(3.0, 15.0)
                .with_cache_read(0.3)
                .with_cache_write(3.75)
        );
        assert_eq!(
            *t.get("claude-opus-4-1").unwrap(),
            Price::new(15.0, 75.0)
                .with_cache_read(1.5)
                .with_cache_write(18.75)
        );
        assert_eq!(
            *t.get("claude-3-5-haiku").unwrap(),
            Price::new(0.8, 4.0)
                .with_cache_read(0.08)
                .with_cache_write(1.0)
        );
        assert_eq!(
            *t.get("gpt-5").unwrap(),
            Price::new(1.25, 10.0).with_cache_read(0.125)
        );
        assert_eq!(
            *t.get("o4-mini").unwrap(),
            Price::new(1.1, 4.4).with_cache_read(0.275)
        );
        assert_eq!(
            *t.get("gpt-4.1-mini").unwrap(),
            Price::new(0.4, 1.6).with_cache_read(0.1)
        );
    }

    #[test]
    fn lookup_normalizes_model_ids() {
        let t = PriceTable::builtin();
        let sonnet45 = t.get("claude-sonnet-4-5").copied();
        assert!(sonnet45.is_some());
        for id in [
            "Claude-Sonnet-4-5",
            "claude-sonnet-4-5-20250929",
            "claude-sonnet-4-5-latest",
            "anthropic/claude-sonnet-4.5",
            "anthropic/claude-sonnet-4-5",
            "anthropic/claude-sonnet-4.5:thinking",
            " claude-sonnet-4-5 ",
        ] {
            assert_eq!(t.get(id).copied(), sonnet45, "{id}");
        }
        assert_eq!(t.get("openai/gpt-5"), t.get("gpt-5"));
        assert_eq!(t.get("openai/gpt-5:free"), t.get("gpt-5"));
        assert_eq!(t.get("gpt-5-2025-08-07"), t.get("gpt-5"));
        assert_eq!(t.get("gpt-4o-2024-08-06"), t.get("gpt-4o"));
        assert_eq!(t.get("gpt-4o-mini-2024-07-18"), t.get("gpt-4o-mini"));
        // Dots that belong to the id stay: gpt-4.1 is not gpt-4-1.
        assert_eq!(t.get("openai/gpt-4.1"), t.get("gpt-4.1"));
        assert!(t.get("gpt-4.1").is_some());
        assert_eq!(t.get("openai/gpt-4.1-mini"), t.get("gpt-4.1-mini"));
        assert_ne!(t.get("gpt-4.1-mini"), t.get("gpt-4.1"));
        assert_eq!(
            t.get("anthropic/claude-3.7-sonnet"),
            t.get("claude-3-7-sonnet")
        );
        assert_eq!(
            t.get("claude-3-5-haiku-20241022"),
            t.get("claude-3-5-haiku")
        );
        assert_eq!(t.get("anthropic/claude-opus-4.1"), t.get("claude-opus-4-1"));
        assert_ne!(t.get("claude-opus-4-1"), None);
        assert_eq!(t.get("claude-opus-4-1-20250805"), t.get("claude-opus-4-1"));
        // No prefix matching, no guessing.
        assert_eq!(t.get("gpt-5-pro"), None);
        assert_eq!(t.get("claude-sonnet-9"), None);
        assert_eq!(t.get("meta-llama/llama-3.1-8b-instruct"), None);
        assert_eq!(t.get(""), None);
    }

    #[test]
    fn exact_entries_win_over_normalized_ones() {
        let mut t = PriceTable::builtin();
        t.insert("openai/gpt-5", Price::new(9.0, 9.0));
        assert_eq!(t.get("openai/gpt-5"), Some(&Price::new(9.0, 9.0)));
        assert_eq!(t.get("gpt-5").unwrap().input, 1.25);
    }

    #[test]
    fn cost_splits_cached_and_uncached_input() {
        let t = PriceTable::builtin();
        // Sonnet 4.5: 10_000 prompt tokens of which 2_000 cache reads and 1_000 cache writes,
        // 500 output tokens:
        // 7_000 × 3 + 2_000 × 0.3 + 1_000 × 3.75 + 500 × 15 = 21_000 + 600 + 3_750 + 7_500
        // = 32_850 µ$ = 0.03285 $.
        let c = t
            .cost("claude-sonnet-4-5", &usage(10_000, 500, 2_000, 1_000))
            .unwrap();
        assert_eq!(c, 0.03285);
        // Plain: 1_000 × 3 + 500 × 15 = 10_500 µ$.
        assert_eq!(
            t.cost("claude-sonnet-4-5", &usage(1_000, 500, 0, 0)),
            Some(0.0105)
        );
        // gpt-5 has no cache-write price: writes billed as input.
        // 1_000_000 in (200_000 read, 100_000 written), 100_000 out:
        // 700_000 × 1.25 + 200_000 × 0.125 + 100_000 × 1.25 + 100_000 × 10
        // = 875_000 + 25_000 + 125_000 + 1_000_000 = 2_025_000 µ$.
        assert_eq!(
            t.cost("gpt-5", &usage(1_000_000, 100_000, 200_000, 100_000)),
            Some(2.025)
        );
        // Opus: 2_000_000 output tokens × 75 = 150 $.
        assert_eq!(
            t.cost("claude-opus-4", &usage(0, 2_000_000, 0, 0)),
            Some(150.0)
        );
        assert_eq!(t.cost("unknown-model", &usage(1, 1, 0, 0)), None);
        assert_eq!(t.cost("gpt-5", &Usage::default()), Some(0.0));
    }

    #[test]
    fn cost_saturates_when_cache_counters_exceed_input() {
        let p = Price::new(2.0, 8.0).with_cache_read(0.5);
        // Inconsistent counters: no negative uncached input.
        // 0 × 2 + 600 × 0.5 + 600 × 2 + 0 = 300 + 1_200 = 1_500 µ$.
        assert_eq!(p.cost(&usage(1_000, 0, 600, 600)), 0.0015);
    }

    #[test]
    fn cache_prices_default_to_input() {
        let p = Price::new(4.0, 16.0);
        // 1_000 uncached + 1_000 read + 1_000 written, all at 4; 1_000 out at 16.
        assert_eq!(p.cost(&usage(3_000, 1_000, 1_000, 1_000)), 0.028);
    }

    #[test]
    fn overrides_from_toml_win_over_builtin() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.toml");
        std::fs::write(
            &path,
            r#"
[models."claude-sonnet-4-5"]
input = 4
output = 20
cache_read = 0.4

[models."Meta-Llama/llama-3.1-8b-instruct"]
input = 0.02
output = 0.05
"#,
        )
        .unwrap();
        let overrides = PriceTable::load_overrides(&path).unwrap();
        assert_eq!(overrides.len(), 2);
        let mut t = PriceTable::builtin();
        t.merge(overrides);
        assert_eq!(t.len(), BUILTIN.len() + 1);
        assert_eq!(
            t.get("anthropic/claude-sonnet-4.5"),
            Some(&Price::new(4.0, 20.0).with_cache_read(0.4))
        );
        // 1_000 × 0.02 + 1_000 × 0.05 = 70 µ$.
        assert_eq!(
            t.cost(
                "meta-llama/llama-3.1-8b-instruct",
                &usage(1_000, 1_000, 0, 0)
            ),
            Some(0.00007)
        );
        // Untouched entries stay.
        assert_eq!(t.get("gpt-5").unwrap().input, 1.25);
    }

    #[test]
    fn overrides_from_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.json");
        std::fs::write(
            &path,
            r#"{"models": {"my-model": {"input": 1, "output": 2, "cache_write": 1.5}}}"#,
        )
        .unwrap();
        let t = PriceTable::load_overrides(&path).unwrap();
        assert_eq!(
            t.get("my-model"),
            Some(&Price::new(1.0, 2.0).with_cache_write(1.5))
        );
    }

    #[test]
    fn override_errors_name_the_file_and_the_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.toml");
        let cases = [
            ("[models.\"gpt-x\"]\ninput = 1\n", "gpt-x", "output"),
            (
                "[models.\"gpt-y\"]\ninput = 1\noutput = 2\ncached = 3\n",
                "gpt-y",
                "cached",
            ),
            (
                "[models.\"gpt-z\"]\ninput = -1\noutput = 2\n",
                "gpt-z",
                "non-negative",
            ),
            (
                "[models.\"gpt-w\"]\ninput = \"cheap\"\noutput = 2\n",
                "gpt-w",
                "input",
            ),
        ];
        for (text, model, what) in cases {
            std::fs::write(&path, text).unwrap();
            let e = PriceTable::load_overrides(&path).unwrap_err().to_string();
            assert!(e.contains("prices.toml"), "{e}");
            assert!(e.contains(model), "{e}");
            assert!(e.contains(what), "{e}");
        }
        std::fs::write(&path, "[models\n").unwrap();
        let e = PriceTable::load_overrides(&path).unwrap_err().to_string();
        assert!(e.contains("prices.toml"), "{e}");
        std::fs::write(&path, "[prices.\"a\"]\ninput = 1\n").unwrap();
        let e = PriceTable::load_overrides(&path).unwrap_err().to_string();
        assert!(e.contains("prices"), "{e}");
        let missing = dir.path().join("nope.toml");
        let e = PriceTable::load_overrides(&missing)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope.toml") && e.contains("cannot read"), "{e}");
    }

    #[test]
    fn empty_file_is_an_empty_table() {
        let t = PriceTable::from_toml_str("", Path::new("p.toml")).unwrap();
        assert!(t.is_empty());
    }

    #[test]
    fn display_lists_models() {
        let mut t = PriceTable::new();
        t.insert("m", Price::new(1.0, 2.0).with_cache_read(0.5));
        assert_eq!(
            t.to_string(),
            "m: 1/2 USD per Mtok (cache read 0.5, cache write 1)\n"
        );
    }
}
