//! The valid requests the bad ones are made from: each uses most of what its
//! API offers, so every field has a path to break.

use serde_json::{json, Value};

pub const MESSAGES: &str = "/v1/messages";
pub const COUNT: &str = "/v1/messages/count_tokens";
pub const CHAT: &str = "/v1/chat/completions";

/// Every POST route with its seed.
pub fn all() -> [(&'static str, Value); 5] {
    [
        (MESSAGES, anthropic_seed()),
        (COUNT, anthropic_seed()),
        (CHAT, openai_seed()),
        ("/v1/embeddings", embeddings_seed()),
        ("/v1/rerank", rerank_seed()),
    ]
}

pub fn embeddings_seed() -> Value {
    json!({"model": "dragon", "input": ["a", "b"], "encoding_format": "float", "dimensions": 8, "user": "u1"})
}

pub fn rerank_seed() -> Value {
    json!({"model": "dragon", "query": "q", "documents": ["a", {"text": "b"}], "top_n": 1, "return_documents": true})
}

/// A tiny valid PNG header in base64.
pub const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// An Anthropic request using most of what the API offers.
pub fn anthropic_seed() -> Value {
    json!({
        "model": "claude-sonnet-4-6",
        "max_tokens": 256,
        "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "What's the weather in Paris?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Use the tool.", "signature": "sig"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "is_error": false,
                 "content": [{"type": "text", "text": "sunny"}]},
                {"type": "text", "text": "thanks"}
            ]}
        ],
        "tools": [{"name": "get_weather", "description": "Weather for a city",
                   "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": false},
        "stop_sequences": ["STOP"],
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 40,
        "metadata": {"user_id": "u1"},
        "thinking": {"type": "enabled", "budget_tokens": 128},
        "stream": false
    })
}

/// An OpenAI request using most of what the API offers.
pub fn openai_seed() -> Value {
    json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
            {"role": "user", "content": [
                {"type": "text", "text": "What's the weather in Paris?"},
                {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG}"), "detail": "low"}}
            ]},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "user", "content": "thanks"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": true,
        "max_tokens": 256,
        "max_completion_tokens": 256,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": ["STOP"],
        "user": "u1",
        "stream": false,
        "stream_options": {"include_usage": true},
        "n": 1
    })
}

pub fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

/// `body` with the JSON pointer set (an object key is added when missing).
pub fn set(mut body: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match body.pointer_mut(parent).unwrap() {
        Value::Array(a) => a[key.parse::<usize>().unwrap()] = value,
        other => other[key] = value,
    }
    body
}
