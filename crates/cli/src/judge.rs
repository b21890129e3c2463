//! The LLM judge, when a provider is configured. The judge spends money, so it runs only when
//! the user has given it a key: `ZEBENCH_JUDGE_PROVIDER` or `[judge] provider` (anthropic,
//! openai, openrouter) or, when neither is set, the first of OPENROUTER_API_KEY,
//! ANTHROPIC_API_KEY, OPENAI_API_KEY that is set (in the environment or `[providers.*]` of
//! zebench.toml). `ZEBENCH_JUDGE_MODEL` or `[judge] model` is the model for scenarios that do
//! not name one.
//!
//! Without a provider, scenarios that enable the judge record an evaluator error saying how to
//! configure one, instead of silently scoring without it.

use async_trait::async_trait;
use std::sync::Arc;
use zebench_harness::config::Config;
use zebench_harness::evaluators::judge::LlmJudgeEvaluator;
use zebench_harness::evaluators::{EvalContext, EvalError, Evaluator, EvaluatorOutcome};
use zebench_harness::pricing::PriceTable;
use zebench_provider::{ProviderConfig, ProviderKind};

const DEFAULT_MODELS: [(ProviderKind, &str); 3] = [
    (ProviderKind::OpenRouter, "meta-llama/llama-3.1-8b-instruct"),
    (ProviderKind::Anthropic, "claude-haiku-4-5"),
    (ProviderKind::OpenAi, "gpt-4o-mini"),
];

/// The judge evaluator for this environment (a stand-in that explains what is missing when no
/// provider is configured).
pub fn from_config(config: &Config, prices: Arc<PriceTable>) -> Option<Arc<dyn Evaluator>> {
    let set = |var: &str| config.lookup(var).is_some();
    let chosen = std::env::var("ZEBENCH_JUDGE_PROVIDER")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| config.judge.provider.clone());
    let kind = match chosen {
        Some(k) => match k.parse::<ProviderKind>() {
            Ok(k) => Some(k),
            Err(e) => {
                return Some(Arc::new(Unavailable(format!(
                    "judge provider (ZEBENCH_JUDGE_PROVIDER or [judge] provider): {e}"
                ))))
            }
        },
        None => DEFAULT_MODELS
            .iter()
            .map(|(k, _)| *k)
            .find(|k| set(k.key_var())),
    };
    let Some(kind) = kind else {
        return Some(Arc::new(Unavailable(
            "LLM judge not run: no provider key (set OPENROUTER_API_KEY, ANTHROPIC_API_KEY or OPENAI_API_KEY, or ZEBENCH_JUDGE_PROVIDER)".into(),
        )));
    };
    let provider =
        match ProviderConfig::from_lookup(kind, |v| config.lookup(v)).and_then(|c| c.build()) {
            Ok(p) => p,
            Err(e) => return Some(Arc::new(Unavailable(format!("LLM judge not run: {e}")))),
        };
    let model = std::env::var("ZEBENCH_JUDGE_MODEL")
        .ok()
        .filter(|m| !m.is_empty())
        .or_else(|| config.judge.model.clone())
        .unwrap_or_else(|| {
            DEFAULT_MODELS
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, m)| m.to_string())
                .unwrap_or_default()
        });
    Some(Arc::new(
        LlmJudgeEvaluator::new(provider, model).with_prices(prices),
    ))
}

/// Reports, for scenarios that enable the judge, why it did not run.
struct Unavailable(String);

#[async_trait]
impl Evaluator for Unavailable {
    fn name(&self) -> &'static str {
        "LLMJudgeEvaluator"
    }

    async fn evaluate(&self, ctx: &EvalContext<'_>) -> Result<Option<EvaluatorOutcome>, EvalError> {
        let wants = ctx.scenario.judge_enabled()
            && ctx
                .scenario
                .llm_judge
                .as_ref()
                .is_some_and(|j| !j.categories.is_empty());
        if wants {
            Err(EvalError::Failed {
                evaluator: self.name().into(),
                message: self.0.clone(),
            })
        } else {
            Ok(None)
        }
    }
}
