//! A non-streamed Chat Completions answer → canonical. The answer is read into
//! typed structs straight from the bytes (no `Value` tree for its objects);
//! leaves whose type varies between OpenAI-compatible servers stay `Value`s
//! and are read leniently, as before.

use serde::Deserialize;
use serde_json::Value;

use super::openai_wire::{bad_answer, parse_arguments, stop_reason, WireUsage};
use crate::canonical::{ChatRequest, ChatResponse, ContentBlock, Usage};
use crate::tokens::{estimate_request, estimate_text};
use crate::{Error, ErrorKind, Result};

#[derive(Deserialize)]
struct Completion {
    id: Option<Value>,
    choices: Option<Vec<Choice>>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Option<Message>,
    finish_reason: Option<Value>,
    /// vLLM names the stop sequence that matched (or a token id).
    stop_reason: Option<Value>,
}

#[derive(Deserialize)]
struct Message {
    content: Option<Value>,
    refusal: Option<Value>,
    reasoning_content: Option<Value>,
    reasoning: Option<Value>,
    tool_calls: Option<Vec<ToolCall>>,
}

#[derive(Deserialize)]
struct ToolCall {
    id: Option<Value>,
    function: Option<Function>,
}

#[derive(Deserialize)]
struct Function {
    name: Option<Value>,
    arguments: Option<Value>,
}

fn text(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

/// The answer in `bytes`, as upstream `name` sent it.
pub fn response_from_bytes(name: &str, bytes: &[u8], req: &ChatRequest) -> Result<ChatResponse> {
    let c: Completion = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_data() {
            bad_answer(name, &e.to_string())
        } else {
            Error::new(
                ErrorKind::Upstream,
                format!("upstream {name} sent invalid JSON: {e}"),
            )
        }
    })?;
    canonical(name, c, req)
}

/// The answer held in `v` (tests and callers that parsed it already).
pub fn response_from(v: &Value, req: &ChatRequest) -> Result<ChatResponse> {
    let c = Completion::deserialize(v).map_err(|e| bad_answer("openai", &e.to_string()))?;
    canonical("openai", c, req)
}

fn canonical(name: &str, c: Completion, req: &ChatRequest) -> Result<ChatResponse> {
    let choice = c
        .choices
        .and_then(|cs| cs.into_iter().next())
        .ok_or_else(|| bad_answer(name, "no choices"))?;
    let mut content = Vec::new();
    if let Some(msg) = &choice.message {
        let reasoning = text(msg.reasoning_content.as_ref()).or(text(msg.reasoning.as_ref()));
        if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
            content.push(ContentBlock::Thinking {
                thinking: r.to_string(),
                signature: None,
            });
        }
        let answer = text(msg.content.as_ref()).or(text(msg.refusal.as_ref()));
        if let Some(t) = answer.filter(|t| !t.is_empty()) {
            content.push(ContentBlock::text(t));
        }
        for call in msg.tool_calls.iter().flatten() {
            let f = call.function.as_ref();
            content.push(ContentBlock::ToolUse {
                id: text(call.id.as_ref()).unwrap_or_default().to_string(),
                name: text(f.and_then(|f| f.name.as_ref()))
                    .unwrap_or_default()
                    .to_string(),
                input: parse_arguments(text(f.and_then(|f| f.arguments.as_ref())).unwrap_or("")),
                cache_control: None,
            });
        }
    }
    let finish = text(choice.finish_reason.as_ref()).unwrap_or("stop");
    let matched = text(choice.stop_reason.as_ref());
    let (reason, seq) = stop_reason(finish, matched, &req.stop_sequences);
    let usage = c
        .usage
        .as_ref()
        .and_then(WireUsage::canonical)
        .unwrap_or_else(|| Usage {
            input_tokens: estimate_request(req),
            output_tokens: content.iter().map(|b| estimate_text(&b.plain_text())).sum(),
            ..Usage::default()
        });
    Ok(ChatResponse {
        id: text(c.id.as_ref())
            .unwrap_or("chatcmpl-upstream")
            .to_string(),
        content,
        stop_reason: Some(reason),
        stop_sequence: seq,
        usage,
    })
}
