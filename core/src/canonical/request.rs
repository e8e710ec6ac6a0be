//! A chat request independent of the API shape it arrived in.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::ContentBlock;
use crate::call::Shape;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments; always an object schema.
    pub input_schema: Value,
    pub cache_control: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    Auto,
    /// Anthropic `any`, OpenAI `required`.
    Any,
    /// One named tool must be called.
    Tool(String),
    None,
}

/// The form the answer must take: OpenAI `response_format`, the Responses
/// API's `text.format`, Anthropic's `output_config.format`.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        description: Option<String>,
        schema: Value,
        strict: Option<bool>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The model string exactly as the client sent it.
    pub model: String,
    /// Anthropic `system`, or the leading OpenAI system/developer messages, as text blocks.
    pub system: Vec<ContentBlock>,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    /// `false` is Anthropic `disable_parallel_tool_use: true`.
    pub parallel_tool_calls: Option<bool>,
    /// `None` only for OpenAI requests that set no limit.
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u32>,
    pub stop_sequences: Vec<String>,
    /// Anthropic `metadata.user_id`, OpenAI `user`.
    pub user: Option<String>,
    pub stream: bool,
    /// OpenAI `stream_options.include_usage`.
    pub include_usage: bool,
    /// Anthropic `thinking` as sent (enabled/adaptive/disabled).
    pub thinking: Option<Value>,
    /// OpenAI `n` when above 1 (choices asked for); an upstream that returns one refuses it.
    pub n: Option<u32>,
    /// OpenAI `logprobs: true`.
    pub logprobs: bool,
    /// OpenAI `top_logprobs`.
    pub top_logprobs: Option<u32>,
    pub response_format: Option<ResponseFormat>,
    /// OpenAI `reasoning_effort`, the Responses API's `reasoning.effort`.
    pub reasoning_effort: Option<String>,
    /// OpenAI's `prompt_cache_key`: sent by the client, or derived by the
    /// pipeline for upstreams that take one (see `pipeline::cache_key`).
    pub prompt_cache_key: Option<String>,
    /// Fields of the ingress shape the canonical model has no slot for, passed
    /// through untouched to an upstream of the same kind.
    pub extra: Map<String, Value>,
    /// The body as the client sent it, so an upstream of the same kind can take
    /// it as is (pass-through), keeping every field the gateway does not know.
    pub source: Option<Source>,
    /// `anthropic-beta` values from the client, for Anthropic upstreams that allow them.
    pub anthropic_beta: Vec<String>,
    /// The first part of the body that only an upstream of the client's own
    /// kind can carry (a file by id: it lives in that provider's Files API;
    /// a hosted tool of the Responses API, which only an `openai-responses`
    /// upstream runs), as the 400 naming it. The ingress accepts it, since
    /// pass-through sends the body verbatim; every translating upstream
    /// answers this error.
    pub untranslatable: Option<Error>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub shape: Shape,
    pub body: Arc<Value>,
}

impl ChatRequest {
    pub fn new(model: impl Into<String>) -> Self {
        ChatRequest {
            model: model.into(),
            system: Vec::new(),
            messages: Vec::new(),
            tools: Vec::new(),
            tool_choice: None,
            parallel_tool_calls: None,
            max_tokens: None,
            temperature: None,
            top_p: None,
            top_k: None,
            stop_sequences: Vec::new(),
            user: None,
            stream: false,
            include_usage: false,
            thinking: None,
            n: None,
            logprobs: false,
            top_logprobs: None,
            response_format: None,
            reasoning_effort: None,
            prompt_cache_key: None,
            extra: Map::new(),
            source: None,
            anthropic_beta: Vec::new(),
            untranslatable: None,
        }
    }

    /// Whether the request can be translated to another API shape: the
    /// `untranslatable` error if it holds one.
    pub fn translatable(&self) -> Result<()> {
        self.untranslatable.clone().map_or(Ok(()), Err)
    }

    /// The last user message, if the conversation ends with one.
    pub fn last_user(&self) -> Option<&Message> {
        self.messages.iter().rev().find(|m| m.role == Role::User)
    }
}
