//! What a webhook says: the generic JSON document and the Slack message built from it.
//! docs/operations.md ("Webhooks") lists every field; change both together.

use super::config::{WebhookEvent, WebhookFormat};
use serde::Serialize;
use std::collections::BTreeSet;
use zebench_core::stats::{RunsComparison, Verdict};
use zebench_core::{Batch, Run, Timestamp};

/// The suites and agents of a batch's runs: what makes two batches comparable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Profile {
    pub suites: BTreeSet<String>,
    pub agents: BTreeSet<String>,
}

/// `agent` or `agent:model`, as `zebench batch --agents` spells them.
pub(crate) fn agent_label(agent: &str, model: Option<&str>) -> String {
    match model.filter(|m| !m.is_empty()) {
        Some(m) => format!("{agent}:{m}"),
        None => agent.to_string(),
    }
}

impl Profile {
    pub fn of(runs: &[Run]) -> Profile {
        let mut p = Profile::default();
        for r in runs {
            p.suites.insert(r.suite.clone());
            p.agents.insert(agent_label(&r.agent, r.model.as_deref()));
        }
        p
    }
}

/// A batch as webhooks describe it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BatchSummary {
    pub id: String,
    /// The dashboard page (`public_url` + path); `null` without `public_url`.
    pub url: Option<String>,
    pub path: String,
    pub suites: Vec<String>,
    pub agents: Vec<String>,
    pub created_at: String,
    pub completed_at: Option<String>,
    pub total_runs: i64,
    pub successful_runs: i64,
    pub failed_runs: i64,
    /// Mean totalScore (0–1) of the completed runs that have one.
    pub mean_score: Option<f64>,
    /// Mean weightedScore (0–10) of the completed runs that have one.
    pub mean_weighted_score: Option<f64>,
    pub total_cost_usd: f64,
}

/// Percent-encodes one path segment, so a batch id can never break out of its link, in a URL
/// or in Slack's `<url|label>`.
pub(crate) use zebench_web::query::encode as encode_segment;

fn link(public_url: Option<&str>, path: &str) -> Option<String> {
    public_url.map(|base| format!("{base}{path}"))
}

impl BatchSummary {
    pub fn new(batch: &Batch, profile: &Profile, public_url: Option<&str>) -> BatchSummary {
        let path = format!("/batches/{}", encode_segment(&batch.batch_id));
        BatchSummary {
            id: batch.batch_id.clone(),
            url: link(public_url, &path),
            path,
            suites: profile.suites.iter().cloned().collect(),
            agents: profile.agents.iter().cloned().collect(),
            created_at: batch.created_at.to_iso(),
            completed_at: batch.completed_at.map(Timestamp::to_iso),
            total_runs: batch.total_runs,
            successful_runs: batch.successful_runs,
            failed_runs: batch.failed_runs,
            mean_score: batch.avg_score,
            mean_weighted_score: batch.avg_weighted_score,
            total_cost_usd: batch.total_cost_usd,
        }
    }
}

/// The confidence interval of the mean difference.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Bounds {
    pub lo: f64,
    pub hi: f64,
    pub level: f64,
}

/// Why a batch was judged a regression.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RegressionSummary {
    /// The previous comparable batch (A); `batch` is B.
    pub baseline: BatchSummary,
    /// The dashboard's side-by-side page of A and B.
    pub compare_url: Option<String>,
    pub compare_path: String,
    /// (suite/scenario, tier) cells both batches have: the n of every figure below.
    pub shared_cells: usize,
    /// Mean weighted score (0–10) of A and of B over the shared cells.
    pub baseline_mean: Option<f64>,
    pub mean: Option<f64>,
    /// B − A in points (negative: B is worse).
    pub delta: f64,
    pub interval: Option<Bounds>,
    /// Two-sided permutation p-value.
    pub p_value: Option<f64>,
    pub verdict: Verdict,
    pub improved_cells: usize,
    pub regressed_cells: usize,
    pub tied_cells: usize,
    /// One plain-words sentence (as `zebench compare` prints).
    pub summary: String,
}

impl RegressionSummary {
    pub fn new(
        baseline: BatchSummary,
        batch: &BatchSummary,
        cmp: &RunsComparison,
        public_url: Option<&str>,
    ) -> RegressionSummary {
        let p = &cmp.paired;
        let compare_path = format!(
            "/batches/compare?ids={}&ids={}",
            encode_segment(&baseline.id),
            encode_segment(&batch.id)
        );
        RegressionSummary {
            compare_url: link(public_url, &compare_path),
            compare_path,
            shared_cells: p.n_cells,
            baseline_mean: p.mean_a,
            mean: p.mean_b,
            delta: p.mean_diff.unwrap_or(0.0),
            interval: p.ci.as_ref().map(|c| Bounds {
                lo: c.lo,
                hi: c.hi,
                level: c.level,
            }),
            p_value: p.p_value,
            verdict: p.verdict,
            improved_cells: p.sign.improved,
            regressed_cells: p.sign.regressed,
            tied_cells: p.sign.ties,
            summary: cmp.summary.clone(),
            baseline,
        }
    }
}

/// The generic document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Payload<'a> {
    pub event: &'static str,
    pub delivery_id: &'a str,
    pub occurred_at: &'a str,
    pub zebench_version: &'static str,
    pub batch: &'a BatchSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regression: Option<&'a RegressionSummary>,
}

/// One announcement, before it is rendered for each receiver.
#[derive(Debug, Clone)]
pub(crate) struct Announcement {
    pub event: WebhookEvent,
    pub occurred_at: String,
    pub batch: BatchSummary,
    pub regression: Option<RegressionSummary>,
}

impl Announcement {
    /// The body sent to one receiver in its format.
    pub fn render(&self, format: WebhookFormat, delivery_id: &str) -> Vec<u8> {
        let value = match format {
            WebhookFormat::Generic => serde_json::to_value(Payload {
                event: self.event.as_str(),
                delivery_id,
                occurred_at: &self.occurred_at,
                zebench_version: env!("CARGO_PKG_VERSION"),
                batch: &self.batch,
                regression: self.regression.as_ref(),
            })
            .unwrap_or_default(),
            WebhookFormat::Slack => self.slack(),
        };
        serde_json::to_vec(&value).unwrap_or_default()
    }

    /// `{"text", "blocks"}` for Slack incoming webhooks: `text` is the notification and the
    /// fallback, the blocks say the same with a context line. Every name that came from a
    /// submission (batch ids, suites, agents) is escaped, so none can mention or link.
    fn slack(&self) -> serde_json::Value {
        let b = &self.batch;
        let (headline, detail) = match (&self.event, &self.regression) {
            (WebhookEvent::Regression, Some(r)) => {
                let ci = r
                    .interval
                    .as_ref()
                    .map(|c| {
                        format!(
                            "{:.0}% CI {:+.2} to {:+.2}",
                            c.level * 100.0,
                            c.lo,
                            c.hi
                        )
                    })
                    .unwrap_or_else(|| "no interval".into());
                let p = r
                    .p_value
                    .map(|p| format!(", p = {p:.3}"))
                    .unwrap_or_default();
                (
                    format!(
                        ":warning: Regression: batch *{}* scores {:+.2} points against *{}* ({ci}{p}, {} shared cells){}",
                        escape(&b.id),
                        r.delta,
                        escape(&r.baseline.id),
                        r.shared_cells,
                        slack_link(r.compare_url.as_deref(), "compare"),
                    ),
                    format!(
                        "{} → {} mean weighted score; {} cells regressed, {} improved",
                        score(r.baseline_mean),
                        score(r.mean),
                        r.regressed_cells,
                        r.improved_cells
                    ),
                )
            }
            _ => (
                format!(
                    "Batch *{}* completed: {} runs ({} succeeded, {} failed), mean score {}, cost ${:.2}{}",
                    escape(&b.id),
                    b.total_runs,
                    b.successful_runs,
                    b.failed_runs,
                    score(b.mean_weighted_score),
                    b.total_cost_usd,
                    slack_link(b.url.as_deref(), "dashboard"),
                ),
                String::new(),
            ),
        };
        let context = format!(
            "suites: {} · agents: {}",
            escape(&list(&b.suites)),
            escape(&list(&b.agents))
        );
        let mut blocks = vec![serde_json::json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": headline},
        })];
        let mut ctx = vec![serde_json::json!({"type": "mrkdwn", "text": context})];
        if !detail.is_empty() {
            ctx.insert(0, serde_json::json!({"type": "mrkdwn", "text": detail}));
        }
        blocks.push(serde_json::json!({"type": "context", "elements": ctx}));
        serde_json::json!({ "text": headline, "blocks": blocks })
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

fn score(s: Option<f64>) -> String {
    s.map(|v| format!("{v:.2}/10"))
        .unwrap_or_else(|| "n/a".into())
}

/// ` (<url|label>)`, or nothing without a URL. The URL is built from the validated
/// `public_url` and percent-encoded ids; `|` and `>` would end Slack's link early, so they are
/// encoded too.
fn slack_link(url: Option<&str>, label: &str) -> String {
    match url {
        Some(u) => format!(
            " (<{}|{label}>)",
            u.replace('|', "%7C")
                .replace('>', "%3E")
                .replace('<', "%3C")
        ),
        None => String::new(),
    }
}

/// Slack's three control characters in message text.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_text_cannot_mention_or_link() {
        assert_eq!(
            escape("<!channel> & <@U1|x>"),
            "&lt;!channel&gt; &amp; &lt;@U1|x&gt;"
        );
        assert_eq!(encode_segment("a b/c|d>"), "a%20b%2Fc%7Cd%3E");
        assert_eq!(
            slack_link(Some("https://h/x|y>z"), "d"),
            " (<https://h/x%7Cy%3Ez|d>)"
        );
        assert_eq!(slack_link(None, "d"), "");
    }

    #[test]
    fn agents_are_labelled_as_the_cli_names_them() {
        assert_eq!(agent_label("anthropic", Some("claude")), "anthropic:claude");
        assert_eq!(agent_label("echo", None), "echo");
        assert_eq!(agent_label("echo", Some("")), "echo");
    }
}
