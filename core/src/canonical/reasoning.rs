//! Reasoning controls across shapes, one mapping both ways: Anthropic
//! `thinking` (`enabled` with `budget_tokens`, `adaptive`, `disabled`) and
//! effort levels (OpenAI `reasoning_effort`, the Responses API's
//! `reasoning.effort`, Anthropic `output_config.effort`).
//!
//! | thinking | effort |
//! |---|---|
//! | `enabled`, `budget_tokens` < 4096 | `low` |
//! | `enabled`, < 16384 | `medium` |
//! | `enabled`, 16384 or more | `high` |
//! | `adaptive` | the model's default (none sent), or `output_config.effort` |
//! | `disabled` | none sent |
//!
//! and back, for an upstream that takes a budget: `minimal` and `none` are
//! no thinking, `low` 2048 tokens, `medium` 8192, `high` (and above) 24576,
//! each held below the call's `max_tokens`.

use serde_json::{json, Value};

use super::ChatRequest;

/// The least thinking budget Anthropic takes.
pub const MIN_BUDGET: u64 = 1024;

/// What a request asks of a model's reasoning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reasoning<'a> {
    /// This effort level (sent, or read from a thinking budget).
    Effort(&'a str),
    /// Reasoning as the model decides (`thinking: adaptive`, no effort given).
    ModelDefault,
}

impl ChatRequest {
    /// The reasoning asked for, `None` when none is (or `thinking: disabled`).
    /// An explicit effort wins over a thinking budget.
    pub fn reasoning(&self) -> Option<Reasoning<'_>> {
        let thinking = self.thinking.as_ref();
        let kind = thinking.and_then(|t| t.get("type")).and_then(Value::as_str);
        match (self.reasoning_effort.as_deref(), kind) {
            (_, Some("disabled")) => None,
            (Some(e), _) => Some(Reasoning::Effort(e)),
            (None, Some("enabled")) => {
                let budget = thinking
                    .and_then(|t| t.get("budget_tokens"))
                    .and_then(Value::as_u64)
                    .unwrap_or(MIN_BUDGET);
                Some(Reasoning::Effort(effort_for_budget(budget)))
            }
            (None, Some("adaptive")) => Some(Reasoning::ModelDefault),
            (None, _) => None,
        }
    }

    /// The effort level to send an upstream that takes one.
    pub fn effort(&self) -> Option<&str> {
        match self.reasoning()? {
            Reasoning::Effort(e) => Some(e),
            Reasoning::ModelDefault => None,
        }
    }
}

pub fn effort_for_budget(budget_tokens: u64) -> &'static str {
    match budget_tokens {
        0..4096 => "low",
        4096..16384 => "medium",
        _ => "high",
    }
}

/// Anthropic `thinking` for an effort level, within `max_tokens` (the budget
/// must stay below it); `None` for no thinking or no room for the least budget.
pub fn thinking_for_effort(effort: &str, max_tokens: u64) -> Option<Value> {
    let budget = match effort {
        "none" | "minimal" => return None,
        "low" => 2048,
        "medium" => 8192,
        _ => 24576,
    };
    let budget = budget.min(max_tokens.saturating_sub(1));
    (budget >= MIN_BUDGET).then(|| json!({"type": "enabled", "budget_tokens": budget}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(thinking: Option<Value>, effort: Option<&str>) -> ChatRequest {
        let mut r = ChatRequest::new("m");
        r.thinking = thinking;
        r.reasoning_effort = effort.map(str::to_owned);
        r
    }

    #[test]
    fn thinking_to_effort() {
        let enabled = |b: u64| Some(json!({"type": "enabled", "budget_tokens": b}));
        assert_eq!(req(enabled(1024), None).effort(), Some("low"));
        assert_eq!(req(enabled(4096), None).effort(), Some("medium"));
        assert_eq!(req(enabled(16384), None).effort(), Some("high"));
        assert_eq!(req(enabled(1024), Some("high")).effort(), Some("high"));
        let adaptive = Some(json!({"type": "adaptive"}));
        assert_eq!(
            req(adaptive.clone(), None).reasoning(),
            Some(Reasoning::ModelDefault)
        );
        assert_eq!(req(adaptive, Some("medium")).effort(), Some("medium"));
        let disabled = Some(json!({"type": "disabled"}));
        assert_eq!(req(disabled, Some("high")).reasoning(), None);
        assert_eq!(req(None, None).reasoning(), None);
    }

    #[test]
    fn effort_to_thinking_within_max_tokens() {
        assert_eq!(
            thinking_for_effort("low", 8192),
            Some(json!({"type": "enabled", "budget_tokens": 2048}))
        );
        assert_eq!(
            thinking_for_effort("high", 8192),
            Some(json!({"type": "enabled", "budget_tokens": 8191}))
        );
        assert_eq!(thinking_for_effort("medium", 1024), None);
        assert_eq!(thinking_for_effort("minimal", 32000), None);
        assert_eq!(thinking_for_effort("none", 32000), None);
    }
}
