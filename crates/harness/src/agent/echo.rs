//! The `echo` agent: answers with the prompt and changes nothing. It proves the pipeline end to
//! end without a model (its scores show what "doing nothing" earns on a scenario).

use super::{Agent, AgentContext, AgentError, AgentReport};
use async_trait::async_trait;
use std::time::Instant;

pub struct EchoAgent;

#[async_trait]
impl Agent for EchoAgent {
    fn name(&self) -> &str {
        "echo"
    }

    fn model(&self) -> Option<&str> {
        None
    }

    async fn run(&self, ctx: AgentContext<'_>) -> Result<AgentReport, AgentError> {
        let start = Instant::now();
        let mut r = AgentReport::default();
        r.log(start, "user", None, ctx.prompt);
        r.log(start, "assistant", None, ctx.prompt);
        r.final_message = Some(ctx.prompt.to_string());
        r.turns = 1;
        r.stop_reason = "finished".into();
        r.duration_ms = start.elapsed().as_millis() as u64;
        Ok(r)
    }
}
