//! The wire forms an upstream sends an answer in: the complete JSON body, and
//! the stream with every string cut at random points.

use mws_core::canonical::{ChatResponse, ContentBlock, StopReason, Usage};
use proptest::prelude::*;
use serde_json::{json, Value};

use super::json::{cuts, Cuts};

/// How an upstream words and cuts one answer on the wire.
#[derive(Debug, Clone)]
pub struct Wire {
    /// One per string of the answer, in order (reused when there are fewer).
    pub cuts: Vec<Cuts>,
    /// Where the SSE body is cut into network chunks.
    pub transport: Cuts,
    /// OpenAI: reasoning as `reasoning` (OpenRouter) instead of `reasoning_content`.
    pub reasoning_key: bool,
    /// OpenAI: the text as a `refusal`.
    pub refusal: bool,
    /// Tool arguments pretty-printed rather than compact.
    pub pretty: bool,
    /// Anthropic: `ping` events between the others.
    pub pings: bool,
    /// Anthropic: `message_delta` repeats the input counts (newer API versions do).
    pub delta_input: bool,
}

pub fn wire() -> BoxedStrategy<Wire> {
    (
        prop::collection::vec(cuts(), 1..8),
        cuts(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(cuts, transport, reasoning_key, refusal, pretty, pings, delta_input)| Wire {
                cuts,
                transport,
                reasoning_key,
                refusal,
                pretty,
                pings,
                delta_input,
            },
        )
        .boxed()
}

impl Wire {
    fn args(&self, input: &Value) -> String {
        if self.pretty {
            serde_json::to_string_pretty(input).unwrap_or_default()
        } else {
            input.to_string()
        }
    }

    fn reasoning_key(&self) -> &'static str {
        if self.reasoning_key {
            "reasoning"
        } else {
            "reasoning_content"
        }
    }

    /// Cuts the `n`th string of the answer.
    fn split(&self, n: usize, s: &str) -> Vec<String> {
        self.cuts[n % self.cuts.len()].split(s)
    }

    /// An SSE body in network chunks.
    pub fn transport(&self, frames: &[String]) -> Vec<String> {
        self.transport.split(&frames.concat())
    }
}

fn finish_reason(r: &ChatResponse) -> &'static str {
    r.stop_reason.map_or("stop", StopReason::openai)
}

fn openai_usage(u: &Usage) -> Value {
    let prompt = u.input_tokens + u.cache_read_input_tokens;
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": u.output_tokens,
        "total_tokens": prompt + u.output_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cache_read_input_tokens},
    })
}

/// An OpenAI `chat.completion` of the answer.
pub fn openai_complete(r: &ChatResponse, w: &Wire) -> Value {
    let mut message = json!({"role": "assistant", "content": null});
    let mut calls = Vec::new();
    for b in &r.content {
        match b {
            ContentBlock::Thinking { thinking, .. } => {
                message[w.reasoning_key()] = json!(thinking);
            }
            ContentBlock::Text { text, .. } if w.refusal => message["refusal"] = json!(text),
            ContentBlock::Text { text, .. } => message["content"] = json!(text),
            ContentBlock::ToolUse {
                id, name, input, ..
            } => calls.push(json!({
                "id": id, "type": "function",
                "function": {"name": name, "arguments": w.args(input)},
            })),
            _ => {}
        }
    }
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    let mut choice = json!({"index": 0, "message": message, "finish_reason": finish_reason(r)});
    if let Some(seq) = &r.stop_sequence {
        choice["stop_reason"] = json!(seq);
    }
    json!({
        "id": format!("chatcmpl-{}", r.id), "object": "chat.completion", "created": 1,
        "model": "up", "choices": [choice], "usage": openai_usage(&r.usage),
    })
}

/// The OpenAI chunks of the answer: the role, reasoning and text deltas, each
/// call's id and name then its argument fragments, the finish reason, and a
/// trailing usage-only chunk with `choices: []` (`[DONE]` is added by the mock).
pub fn openai_chunks(r: &ChatResponse, w: &Wire) -> Vec<Value> {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": format!("chatcmpl-{}", r.id), "object": "chat.completion.chunk",
            "created": 1, "model": "up",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut out = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    let mut n = 0;
    let mut call = 0;
    for b in &r.content {
        n += 1;
        match b {
            ContentBlock::Thinking { thinking, .. } => {
                let key = w.reasoning_key();
                for piece in w.split(n, thinking) {
                    out.push(chunk(json!({ (key): piece }), Value::Null));
                }
            }
            ContentBlock::Text { text, .. } => {
                let key = if w.refusal { "refusal" } else { "content" };
                for piece in w.split(n, text) {
                    out.push(chunk(json!({ (key): piece }), Value::Null));
                }
            }
            ContentBlock::ToolUse {
                id, name, input, ..
            } => {
                let pieces = w.split(n, &w.args(input));
                let (first, rest) = pieces
                    .split_first()
                    .map_or(("", &[][..]), |(f, r)| (f.as_str(), r));
                out.push(chunk(
                    json!({"tool_calls": [{"index": call, "id": id, "type": "function",
                        "function": {"name": name, "arguments": first}}]}),
                    Value::Null,
                ));
                for piece in rest {
                    out.push(chunk(
                        json!({"tool_calls": [{"index": call, "function": {"arguments": piece}}]}),
                        Value::Null,
                    ));
                }
                call += 1;
            }
            _ => {}
        }
    }
    let mut last = chunk(json!({}), json!(finish_reason(r)));
    if let Some(seq) = &r.stop_sequence {
        last["choices"][0]["stop_reason"] = json!(seq);
    }
    out.push(last);
    out.push(
        json!({"id": format!("chatcmpl-{}", r.id), "object": "chat.completion.chunk",
        "created": 1, "model": "up", "choices": [], "usage": openai_usage(&r.usage)}),
    );
    out
}

fn anthropic_block(b: &ContentBlock) -> Value {
    match b {
        ContentBlock::Text { text, .. } => json!({"type": "text", "text": text}),
        ContentBlock::Thinking {
            thinking,
            signature,
        } => {
            json!({"type": "thinking", "thinking": thinking, "signature": signature})
        }
        ContentBlock::RedactedThinking { data } => {
            json!({"type": "redacted_thinking", "data": data})
        }
        ContentBlock::ToolUse {
            id, name, input, ..
        } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
        other => panic!("not an answer block: {other:?}"),
    }
}

fn anthropic_usage(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_creation_input_tokens": u.cache_creation_input_tokens,
        "cache_read_input_tokens": u.cache_read_input_tokens,
    })
}

/// An Anthropic `message` of the answer.
pub fn anthropic_complete(r: &ChatResponse) -> Value {
    json!({
        "id": format!("msg_{}", r.id), "type": "message", "role": "assistant", "model": "up",
        "content": r.content.iter().map(anthropic_block).collect::<Vec<_>>(),
        "stop_reason": r.stop_reason.map(StopReason::anthropic),
        "stop_sequence": r.stop_sequence,
        "usage": anthropic_usage(&r.usage),
    })
}

/// The Anthropic events of the answer, every delta cut at random points.
pub fn anthropic_events(r: &ChatResponse, w: &Wire) -> Vec<Value> {
    let u = &r.usage;
    let mut start_usage = anthropic_usage(u);
    start_usage["output_tokens"] = json!(1);
    let mut out = vec![json!({"type": "message_start", "message": {
        "id": format!("msg_{}", r.id), "type": "message", "role": "assistant", "model": "up",
        "content": [], "stop_reason": null, "stop_sequence": null, "usage": start_usage}})];
    if w.pings {
        out.push(json!({"type": "ping"}));
    }
    for (index, b) in r.content.iter().enumerate() {
        let mut start = anthropic_block(b);
        let deltas: Vec<Value> = match b {
            ContentBlock::Text { text, .. } => {
                start["text"] = json!("");
                w.split(index, text)
                    .into_iter()
                    .map(|t| json!({"type": "text_delta", "text": t}))
                    .collect()
            }
            ContentBlock::Thinking {
                thinking,
                signature,
            } => {
                start["thinking"] = json!("");
                start["signature"] = json!("");
                let mut d: Vec<Value> = w
                    .split(index, thinking)
                    .into_iter()
                    .map(|t| json!({"type": "thinking_delta", "thinking": t}))
                    .collect();
                d.push(json!({"type": "signature_delta", "signature": signature}));
                d
            }
            ContentBlock::ToolUse { input, .. } => {
                start["input"] = json!({});
                w.split(index, &w.args(input))
                    .into_iter()
                    .map(|p| json!({"type": "input_json_delta", "partial_json": p}))
                    .collect()
            }
            _ => Vec::new(),
        };
        out.push(json!({"type": "content_block_start", "index": index, "content_block": start}));
        for (i, delta) in deltas.into_iter().enumerate() {
            if w.pings && i == 1 {
                out.push(json!({"type": "ping"}));
            }
            out.push(json!({"type": "content_block_delta", "index": index, "delta": delta}));
        }
        out.push(json!({"type": "content_block_stop", "index": index}));
    }
    let mut usage = json!({"output_tokens": u.output_tokens});
    if w.delta_input {
        usage = anthropic_usage(u);
    }
    out.push(json!({"type": "message_delta",
        "delta": {"stop_reason": r.stop_reason.map(StopReason::anthropic), "stop_sequence": r.stop_sequence},
        "usage": usage}));
    out.push(json!({"type": "message_stop"}));
    out
}

/// Anthropic events as SSE frames.
pub fn anthropic_frames(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            format!(
                "event: {}\ndata: {e}\n\n",
                e["type"].as_str().unwrap_or("message")
            )
        })
        .collect()
}

/// OpenAI chunks as SSE frames, ending with `[DONE]`.
pub fn openai_frames(chunks: &[Value]) -> Vec<String> {
    let mut frames: Vec<String> = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
    frames.push("data: [DONE]\n\n".into());
    frames
}
