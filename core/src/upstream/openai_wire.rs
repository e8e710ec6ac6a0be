//! What both readers of Chat Completions answers (whole and streamed) take off
//! the wire: finish reasons, usage, tool arguments, and the error for an answer
//! of the wrong shape.

use serde::Deserialize;
use serde_json::{json, Value};

use super::counts::token_count;
use crate::canonical::{StopReason, Usage};
use crate::{Error, ErrorKind};

pub(super) fn bad_answer(name: &str, what: &str) -> Error {
    Error::new(
        ErrorKind::Upstream,
        format!("upstream {name} answered in an unexpected shape: {what}"),
    )
}

/// OpenAI's `usage`; also read from stream chunks.
#[derive(Deserialize)]
pub(super) struct WireUsage {
    prompt_tokens: Option<Value>,
    completion_tokens: Option<Value>,
    prompt_tokens_details: Option<Details>,
}

#[derive(Deserialize)]
struct Details {
    cached_tokens: Option<Value>,
}

impl WireUsage {
    /// Cached prompt tokens are reported apart, as Anthropic does, so
    /// `input_tokens` excludes them. `None` without `prompt_tokens`.
    pub(super) fn canonical(&self) -> Option<Usage> {
        let prompt = token_count(self.prompt_tokens.as_ref())?;
        let output = token_count(self.completion_tokens.as_ref()).unwrap_or(0);
        let cached = token_count(
            self.prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens.as_ref()),
        )
        .unwrap_or(0);
        Some(Usage {
            input_tokens: prompt.saturating_sub(cached),
            output_tokens: output,
            cache_read_input_tokens: cached,
            cache_creation_input_tokens: 0,
        })
    }
}

/// `finish_reason` → stop reason. `stop` is `stop_sequence` when the upstream
/// names the matched sequence (vLLM's `stop_reason`), `end_turn` otherwise.
pub fn stop_reason(
    finish: &str,
    matched: Option<&str>,
    stops: &[String],
) -> (StopReason, Option<String>) {
    match finish {
        "length" => (StopReason::MaxTokens, None),
        "tool_calls" | "function_call" => (StopReason::ToolUse, None),
        "content_filter" => (StopReason::Refusal, None),
        _ => match matched.filter(|m| stops.iter().any(|s| s == m)) {
            Some(m) => (StopReason::StopSequence, Some(m.to_string())),
            None => (StopReason::EndTurn, None),
        },
    }
}

/// Usage from an OpenAI `usage` object (see `WireUsage::canonical`).
pub fn usage_from(v: &Value) -> Option<Usage> {
    WireUsage::deserialize(v).ok()?.canonical()
}

/// Tool arguments as an object; empty arguments are `{}`, invalid JSON is kept
/// as a string under `_raw` rather than lost.
pub fn parse_arguments(args: &str) -> Value {
    if args.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(args).unwrap_or_else(|_| json!({"_raw": args}))
}
