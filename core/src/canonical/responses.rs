//! A Responses API request (POST /v1/responses): the canonical chat request
//! plus what only the Responses shape needs to echo back in its response
//! object or to act on (stored items, `previous_response_id`, `include`...).
//! Parsed by `ingress::responses`, rendered by `egress::responses`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::ChatRequest;

/// How a reasoning item made from a redacted thinking block marks its
/// `encrypted_content` (`REDACTED_PREFIX` + the block's data), so it becomes
/// redacted thinking again when given back as input. Signatures are base64,
/// which never holds a `:`.
pub const REDACTED_PREFIX: &str = "redacted_thinking:";

/// The name a client-executed `tool_search` tool is offered to the model by.
pub const TOOL_SEARCH: &str = "tool_search";

/// `reasoning` as sent: `effort` and `summary` (or the older `generate_summary`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReasoningConfig {
    pub effort: Option<String>,
    pub summary: Option<String>,
}

/// An `item_reference` of `input`: `input.{index}` names item `id`, to be
/// resolved against stored items before the conversation is complete.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemReference {
    pub index: usize,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResponsesRequest {
    /// The conversation as far as this body alone gives it: `instructions` and
    /// system/developer items in `system`, the other items as messages. When
    /// `needs_context()` is true it still lacks the previous response and the
    /// referenced items: `ingress::responses::build_chat` completes it.
    /// `chat.response_format` is `text.format`; `chat.max_tokens` is
    /// `max_output_tokens`; `chat.tools` are the callable tools (the
    /// `allowed_tools` subset when `tool_choice` names one).
    pub chat: ChatRequest,
    /// `input` as sent, as an array of items (a string is one user message item).
    pub input: Vec<Value>,
    pub instructions: Option<String>,
    pub previous_response_id: Option<String>,
    /// Default true.
    pub store: bool,
    pub metadata: Option<Map<String, Value>>,
    pub include: Vec<String>,
    /// `auto` or `disabled`.
    pub truncation: Option<String>,
    /// `text.verbosity`; `text.format` is `chat.response_format`.
    pub verbosity: Option<String>,
    pub reasoning: Option<ReasoningConfig>,
    pub max_output_tokens: Option<u32>,
    pub max_tool_calls: Option<u32>,
    pub parallel_tool_calls: Option<bool>,
    /// `tool_choice` as sent.
    pub tool_choice: Option<Value>,
    /// `tools` as sent (function and custom tools only; built-ins are refused).
    pub tools: Vec<Value>,
    /// Names of the `custom` tools: a call of one is a `custom_tool_call`.
    pub custom_tools: BTreeSet<String>,
    /// A client-executed `tool_search` tool is offered: calls of `tool_search`
    /// are `tool_search_call` items.
    pub tool_search: bool,
    /// Tools offered inside a `namespace` tool: name -> namespace.
    pub namespaces: BTreeMap<String, String>,
    /// The tool names `tool_choice.allowed_tools` restricts calls to.
    pub allowed_tools: Option<Vec<String>>,
    pub prompt_cache_key: Option<String>,
    pub safety_identifier: Option<String>,
    pub user: Option<String>,
    pub service_tier: Option<String>,
    /// Always false: `background: true` is refused.
    pub background: bool,
    pub stream: bool,
    /// `stream_options.include_obfuscation` (no obfuscation is ever sent).
    pub include_obfuscation: bool,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub top_logprobs: Option<u32>,
    /// The `item_reference` items of `input`, in order.
    pub item_references: Vec<ItemReference>,
    /// Top-level fields the gateway does not know, kept (not passed upstream).
    pub unknown: Map<String, Value>,
}

impl ResponsesRequest {
    /// An empty request for `model` with the API's defaults.
    pub fn new(model: impl Into<String>) -> Self {
        ResponsesRequest {
            chat: ChatRequest::new(model),
            input: Vec::new(),
            instructions: None,
            previous_response_id: None,
            store: true,
            metadata: None,
            include: Vec::new(),
            truncation: None,
            verbosity: None,
            reasoning: None,
            max_output_tokens: None,
            max_tool_calls: None,
            parallel_tool_calls: None,
            tool_choice: None,
            tools: Vec::new(),
            custom_tools: BTreeSet::new(),
            namespaces: BTreeMap::new(),
            tool_search: false,
            allowed_tools: None,
            prompt_cache_key: None,
            safety_identifier: None,
            user: None,
            service_tier: None,
            background: false,
            stream: false,
            include_obfuscation: false,
            temperature: None,
            top_p: None,
            presence_penalty: None,
            frequency_penalty: None,
            top_logprobs: None,
            item_references: Vec::new(),
            unknown: Map::new(),
        }
    }

    /// The model string exactly as the client sent it.
    pub fn model(&self) -> &str {
        &self.chat.model
    }

    /// Whether `chat` still needs the previous response or referenced items
    /// (`ingress::responses::build_chat`) before it can be sent upstream.
    pub fn needs_context(&self) -> bool {
        self.previous_response_id.is_some() || !self.item_references.is_empty()
    }

    /// Whether `include` asks for `item` (say `reasoning.encrypted_content`).
    pub fn includes(&self, item: &str) -> bool {
        self.include.iter().any(|i| i == item)
    }
}
