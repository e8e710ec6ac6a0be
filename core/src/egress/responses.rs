//! The canonical model rendered as the OpenAI Responses API, as the Open
//! Responses specification defines it: the `response` object, the stream of
//! semantic events (`event:` + `data:` with `sequence_number`, ending with one
//! `response.completed`, `response.incomplete` or `response.failed`, then
//! `data: [DONE]` as the specification requires), and the error bodies.
//!
//! Output items, in the order of the answer's blocks: consecutive text blocks
//! are one `message` (a part each), a tool call is a `function_call` (a
//! `custom_tool_call` when it calls one of the request's custom tools), a
//! thinking block a `reasoning` item with the thinking as its one summary text.
//! `encrypted_content` (the thinking signature, or `REDACTED_PREFIX` + a
//! redacted block's data) is sent only when `include` asks for
//! `reasoning.encrypted_content`, and left out otherwise (Open Responses allows
//! a string or nothing, not null); `output_items` and
//! `StreamRenderer::output_items` always carry it, for storing. Item ids derive
//! from the response id and the item's index, so the streamed and the complete
//! rendering of one answer agree.
//!
//! Status: `incomplete` with `incomplete_details.reason` `max_output_tokens`
//! (StopReason::MaxTokens) or `content_filter` (Refusal), the last item then
//! `incomplete` too; `failed` with `error {code, message}` when a stream breaks.
//! Every setting of the request is echoed, with the API's defaults where it
//! set none (temperature and top_p 1, penalties 0, truncation `disabled`...).
//!
//! Usage: canonical `input_tokens` excludes cache reads and writes (Anthropic
//! style) while Responses `input_tokens` includes them (OpenAI style): it is the
//! sum of the three, with `cached_tokens` the cache reads.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value};

use super::{openai, SseFrame};
use crate::call::unix_now;
use crate::canonical::{
    BlockStart, ChatResponse, ContentBlock, Delta, ResponseFormat, ResponsesRequest, StopReason,
    StreamEvent, Usage, REDACTED_PREFIX, TOOL_SEARCH,
};
use crate::{Error, ErrorKind};

const ENCRYPTED: &str = "reasoning.encrypted_content";

/// A fresh response id: `resp_` and 32 hex digits.
pub fn new_response_id() -> String {
    format!("resp_{}", uuid::Uuid::new_v4().simple())
}

/// The id of output item `index` of response `response_id`, with `prefix`
/// (`msg`, `fc`, `ctc`, `rs`).
fn item_id(prefix: &str, response_id: &str, index: usize) -> String {
    let core = response_id.strip_prefix("resp_").unwrap_or(response_id);
    format!("{prefix}_{core}_{index}")
}

/// Whether `e` is `ingress::responses::previous_response_not_found`.
fn previous_not_found(e: &Error) -> bool {
    e.kind() == ErrorKind::NotFound && e.param() == Some("previous_response_id")
}

/// The `code` of a failed response, of a stream's `error` event and of a
/// WebSocket error: always a string.
pub fn error_code(e: &Error) -> &'static str {
    if previous_not_found(e) {
        return "previous_response_not_found";
    }
    match e.kind() {
        ErrorKind::InvalidRequest | ErrorKind::PayloadTooLarge => "invalid_prompt",
        ErrorKind::Authentication => "invalid_api_key",
        ErrorKind::InsufficientCredits => "insufficient_quota",
        ErrorKind::PermissionDenied => "permission_denied",
        ErrorKind::NotFound | ErrorKind::MethodNotAllowed => "not_found",
        ErrorKind::RateLimited => "rate_limit_exceeded",
        ErrorKind::Internal | ErrorKind::Upstream | ErrorKind::Overloaded | ErrorKind::Timeout => {
            "server_error"
        }
    }
}

/// The body of an error answer on /v1/responses (before any stream began):
/// OpenAI's `{"error":{"message","type","param","code"}}`, with code
/// `previous_response_not_found` for that error.
pub fn error_body(e: &Error) -> Value {
    let mut body = openai::error_body(e);
    if previous_not_found(e) {
        body["error"]["code"] = json!("previous_response_not_found");
    }
    body
}

/// A failure on the WebSocket transport, as Open Responses defines it:
/// `{"type":"error","status","error":{"type","code","message","param"}}`.
pub fn websocket_error(e: &Error) -> Value {
    json!({
        "type": "error",
        "status": e.http_status(),
        "error": {
            "type": openai::error_type(e.kind()),
            "code": error_code(e),
            "message": e.message(),
            "param": e.param(),
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    InProgress,
    Completed,
    Incomplete,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct OutputText {
    #[serde(rename = "type")]
    kind: &'static str,
    text: String,
    annotations: Vec<Value>,
    logprobs: Vec<Value>,
}

impl OutputText {
    fn new(text: &str) -> Self {
        OutputText {
            kind: "output_text",
            text: text.to_owned(),
            annotations: Vec::new(),
            logprobs: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct SummaryText {
    #[serde(rename = "type")]
    kind: &'static str,
    text: String,
}

impl SummaryText {
    fn new(text: &str) -> Self {
        SummaryText {
            kind: "summary_text",
            text: text.to_owned(),
        }
    }
}

/// An output item; reasoning items always hold their encrypted content here,
/// `public` drops it for a request that did not ask for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Item {
    Message {
        id: String,
        status: Status,
        role: &'static str,
        content: Vec<OutputText>,
    },
    FunctionCall {
        id: String,
        status: Status,
        call_id: String,
        name: String,
        arguments: String,
        /// The `namespace` tool the called one was offered in.
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
    },
    CustomToolCall {
        id: String,
        status: Status,
        call_id: String,
        name: String,
        input: String,
    },
    /// A call of a client-executed `tool_search` tool.
    ToolSearchCall {
        id: String,
        status: Status,
        call_id: String,
        execution: &'static str,
        arguments: Value,
    },
    Reasoning {
        id: String,
        status: Status,
        summary: Vec<SummaryText>,
        #[serde(skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
    },
}

impl Item {
    fn set_status(&mut self, to: Status) {
        match self {
            Item::Message { status, .. }
            | Item::FunctionCall { status, .. }
            | Item::CustomToolCall { status, .. }
            | Item::ToolSearchCall { status, .. }
            | Item::Reasoning { status, .. } => *status = to,
        }
    }

    /// The item as the client sees it.
    fn public(&self, encrypted: bool) -> Cow<'_, Item> {
        match self {
            Item::Reasoning {
                id,
                status,
                summary,
                encrypted_content: Some(_),
            } if !encrypted => Cow::Owned(Item::Reasoning {
                id: id.clone(),
                status: *status,
                summary: summary.clone(),
                encrypted_content: None,
            }),
            _ => Cow::Borrowed(self),
        }
    }

    fn to_value(&self, encrypted: bool) -> Value {
        serde_json::to_value(self.public(encrypted)).unwrap_or(Value::Null)
    }
}

/// Items serialized as the client sees them.
struct PublicItems<'a>(&'a [Item], bool);

impl Serialize for PublicItems<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|i| i.public(self.1)))
    }
}

/// A custom tool call's input string: the `input` argument, else (a model
/// that ignored the schema) the arguments as JSON; no arguments is "".
fn custom_input(input: &Value) -> String {
    match input.get("input") {
        Some(Value::String(s)) => s.clone(),
        _ if input.as_object().is_some_and(Map::is_empty) => String::new(),
        _ => input.to_string(),
    }
}

/// `custom_input` of arguments streamed as JSON text.
fn custom_input_of_raw(raw: &str) -> String {
    match serde_json::from_str::<Value>(raw) {
        Ok(v) => custom_input(&v),
        Err(_) => raw.trim().to_owned(),
    }
}

/// The status and incomplete reason a stop reason gives.
fn outcome(stop: Option<StopReason>) -> (&'static str, Option<&'static str>) {
    match stop {
        Some(StopReason::MaxTokens) => ("incomplete", Some("max_output_tokens")),
        Some(StopReason::Refusal) => ("incomplete", Some("content_filter")),
        Some(StopReason::EndTurn | StopReason::StopSequence | StopReason::ToolUse) | None => {
            ("completed", None)
        }
    }
}

#[derive(Serialize)]
struct UsageBody {
    input_tokens: u64,
    input_tokens_details: InputDetails,
    output_tokens: u64,
    output_tokens_details: OutputDetails,
    total_tokens: u64,
}

#[derive(Serialize)]
struct InputDetails {
    cached_tokens: u64,
    cache_write_tokens: u64,
}

#[derive(Serialize)]
struct OutputDetails {
    reasoning_tokens: u64,
}

impl UsageBody {
    fn of(u: &Usage) -> Self {
        let input = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
        UsageBody {
            input_tokens: input,
            input_tokens_details: InputDetails {
                cached_tokens: u.cache_read_input_tokens,
                cache_write_tokens: u.cache_creation_input_tokens,
            },
            output_tokens: u.output_tokens,
            // The canonical usage does not split reasoning out of the output.
            output_tokens_details: OutputDetails {
                reasoning_tokens: 0,
            },
            total_tokens: input + u.output_tokens,
        }
    }
}

#[derive(Serialize)]
struct Reason {
    reason: &'static str,
}

#[derive(Serialize)]
struct Failure<'a> {
    code: &'static str,
    message: &'a str,
}

/// The request's settings as the response object echoes them, defaults filled in.
#[derive(Debug, Clone)]
struct Echo {
    model: String,
    previous_response_id: Option<String>,
    instructions: Option<String>,
    tools: Vec<Value>,
    tool_choice: Value,
    truncation: String,
    parallel_tool_calls: bool,
    text: Value,
    top_p: f64,
    presence_penalty: f64,
    frequency_penalty: f64,
    top_logprobs: u32,
    temperature: f64,
    reasoning: Value,
    max_output_tokens: Option<u32>,
    max_tool_calls: Option<u32>,
    store: bool,
    service_tier: String,
    metadata: Value,
    safety_identifier: Option<String>,
    prompt_cache_key: Option<String>,
    user: Option<String>,
    custom_tools: BTreeSet<String>,
    namespaces: BTreeMap<String, String>,
    tool_search: bool,
    encrypted: bool,
}

/// `text.format` as the response object writes it. Open Responses types the
/// echoed `schema` as null (and nothing else), so the schema is not echoed.
fn format_value(f: Option<&ResponseFormat>) -> Value {
    match f {
        None | Some(ResponseFormat::Text) => json!({"type": "text"}),
        Some(ResponseFormat::JsonObject) => json!({"type": "json_object"}),
        Some(ResponseFormat::JsonSchema {
            name,
            description,
            strict,
            ..
        }) => json!({
            "type": "json_schema",
            "description": description,
            "name": name,
            "schema": null,
            "strict": strict.unwrap_or(false),
        }),
    }
}

/// A tool as sent, with the fields a function tool must have in a response.
fn tool_value(tool: &Value) -> Value {
    let mut t = tool.as_object().cloned().unwrap_or_default();
    if t.get("type").and_then(Value::as_str) == Some("function") {
        for key in ["description", "parameters", "strict"] {
            t.entry(key).or_insert(Value::Null);
        }
    }
    Value::Object(t)
}

impl Echo {
    fn of(req: &ResponsesRequest) -> Self {
        let reasoning = req.reasoning.clone().unwrap_or_default();
        Echo {
            model: req.model().to_owned(),
            previous_response_id: req.previous_response_id.clone(),
            instructions: req.instructions.clone(),
            tools: req.tools.iter().map(tool_value).collect(),
            tool_choice: req.tool_choice.clone().unwrap_or_else(|| json!("auto")),
            truncation: req
                .truncation
                .clone()
                .unwrap_or_else(|| "disabled".to_owned()),
            parallel_tool_calls: req.parallel_tool_calls.unwrap_or(true),
            text: json!({
                "format": format_value(req.chat.response_format.as_ref()),
                "verbosity": req.verbosity.as_deref().unwrap_or("medium"),
            }),
            top_p: req.top_p.unwrap_or(1.0),
            presence_penalty: req.presence_penalty.unwrap_or(0.0),
            frequency_penalty: req.frequency_penalty.unwrap_or(0.0),
            top_logprobs: req.top_logprobs.unwrap_or(0),
            temperature: req.temperature.unwrap_or(1.0),
            reasoning: json!({"effort": reasoning.effort, "summary": reasoning.summary}),
            max_output_tokens: req.max_output_tokens,
            max_tool_calls: req.max_tool_calls,
            store: req.store,
            // `auto` runs at the default tier.
            service_tier: match req.service_tier.as_deref() {
                None | Some("auto") => "default".to_owned(),
                Some(t) => t.to_owned(),
            },
            metadata: req
                .metadata
                .clone()
                .map_or_else(|| json!({}), Value::Object),
            safety_identifier: req.safety_identifier.clone(),
            prompt_cache_key: req.prompt_cache_key.clone(),
            user: req.user.clone(),
            custom_tools: req.custom_tools.clone(),
            namespaces: req.namespaces.clone(),
            tool_search: req.tool_search,
            encrypted: req.includes(ENCRYPTED),
        }
    }

    fn body<'a>(&'a self, id: &'a str, created_at: i64, state: State<'a>) -> ResponseBody<'a> {
        ResponseBody {
            id,
            object: "response",
            created_at,
            completed_at: state.completed_at,
            status: state.status,
            incomplete_details: state.incomplete.map(|reason| Reason { reason }),
            model: &self.model,
            previous_response_id: self.previous_response_id.as_deref(),
            instructions: self.instructions.as_deref(),
            output: PublicItems(state.output, self.encrypted),
            error: state.error.map(|e| Failure {
                code: error_code(e),
                message: e.message(),
            }),
            tools: &self.tools,
            tool_choice: &self.tool_choice,
            truncation: &self.truncation,
            parallel_tool_calls: self.parallel_tool_calls,
            text: &self.text,
            top_p: self.top_p,
            presence_penalty: self.presence_penalty,
            frequency_penalty: self.frequency_penalty,
            top_logprobs: self.top_logprobs,
            temperature: self.temperature,
            reasoning: &self.reasoning,
            usage: state.usage.map(UsageBody::of),
            max_output_tokens: self.max_output_tokens,
            max_tool_calls: self.max_tool_calls,
            store: self.store,
            background: false,
            service_tier: &self.service_tier,
            metadata: &self.metadata,
            safety_identifier: self.safety_identifier.as_deref(),
            prompt_cache_key: self.prompt_cache_key.as_deref(),
            user: self.user.as_deref(),
        }
    }
}

/// What changes between the renderings of one response.
struct State<'a> {
    status: &'static str,
    incomplete: Option<&'static str>,
    completed_at: Option<i64>,
    output: &'a [Item],
    error: Option<&'a Error>,
    usage: Option<&'a Usage>,
}

/// The response object, fields in the order of the specification.
#[derive(Serialize)]
struct ResponseBody<'a> {
    id: &'a str,
    object: &'static str,
    created_at: i64,
    completed_at: Option<i64>,
    status: &'static str,
    incomplete_details: Option<Reason>,
    model: &'a str,
    previous_response_id: Option<&'a str>,
    instructions: Option<&'a str>,
    output: PublicItems<'a>,
    error: Option<Failure<'a>>,
    tools: &'a [Value],
    tool_choice: &'a Value,
    truncation: &'a str,
    parallel_tool_calls: bool,
    text: &'a Value,
    top_p: f64,
    presence_penalty: f64,
    frequency_penalty: f64,
    top_logprobs: u32,
    temperature: f64,
    reasoning: &'a Value,
    usage: Option<UsageBody>,
    max_output_tokens: Option<u32>,
    max_tool_calls: Option<u32>,
    store: bool,
    background: bool,
    service_tier: &'a str,
    metadata: &'a Value,
    safety_identifier: Option<&'a str>,
    prompt_cache_key: Option<&'a str>,
    user: Option<&'a str>,
}

/// The output items of a complete answer.
fn items_of(req: &ResponsesRequest, resp: &ChatResponse, id: &str) -> Vec<Item> {
    let custom_tools = &req.custom_tools;
    let mut items: Vec<Item> = Vec::new();
    for block in &resp.content {
        let n = items.len();
        let item = match block {
            ContentBlock::Text { text, .. } => {
                if let Some(Item::Message { content, .. }) = items.last_mut() {
                    content.push(OutputText::new(text));
                    continue;
                }
                Item::Message {
                    id: item_id("msg", id, n),
                    status: Status::Completed,
                    role: "assistant",
                    content: vec![OutputText::new(text)],
                }
            }
            ContentBlock::ToolUse {
                id: call_id,
                name,
                input,
                ..
            } if req.tool_search && name == TOOL_SEARCH => Item::ToolSearchCall {
                id: item_id("tsc", id, n),
                status: Status::Completed,
                call_id: call_id.clone(),
                execution: "client",
                arguments: input.clone(),
            },
            ContentBlock::ToolUse {
                id: call_id,
                name,
                input,
                ..
            } if custom_tools.contains(name) => Item::CustomToolCall {
                id: item_id("ctc", id, n),
                status: Status::Completed,
                call_id: call_id.clone(),
                name: name.clone(),
                input: custom_input(input),
            },
            ContentBlock::ToolUse {
                id: call_id,
                name,
                input,
                ..
            } => Item::FunctionCall {
                id: item_id("fc", id, n),
                status: Status::Completed,
                call_id: call_id.clone(),
                name: name.clone(),
                arguments: input.to_string(),
                namespace: req.namespaces.get(name).cloned(),
            },
            ContentBlock::Thinking {
                thinking,
                signature,
            } => Item::Reasoning {
                id: item_id("rs", id, n),
                status: Status::Completed,
                summary: if thinking.is_empty() {
                    Vec::new()
                } else {
                    vec![SummaryText::new(thinking)]
                },
                encrypted_content: signature.clone(),
            },
            ContentBlock::RedactedThinking { data } => Item::Reasoning {
                id: item_id("rs", id, n),
                status: Status::Completed,
                summary: Vec::new(),
                encrypted_content: Some(format!("{REDACTED_PREFIX}{data}")),
            },
            // No place in an answer.
            ContentBlock::Image { .. }
            | ContentBlock::ToolResult { .. }
            | ContentBlock::Document { .. } => continue,
        };
        items.push(item);
    }
    if outcome(resp.stop_reason).0 == "incomplete" {
        if let Some(last) = items.last_mut() {
            last.set_status(Status::Incomplete);
        }
    }
    items
}

/// A complete answer as a `response` object: `id` from `new_response_id`,
/// `model` the client's string (from `req`), timestamps in Unix seconds.
pub fn response_object(
    req: &ResponsesRequest,
    resp: &ChatResponse,
    id: &str,
    created_at: i64,
    completed_at: i64,
) -> Value {
    serde_json::to_value(response_body(req, resp, id, created_at, completed_at))
        .unwrap_or(Value::Null)
}

/// The same object as a typed body, to serialize straight to bytes.
pub fn response_body(
    req: &ResponsesRequest,
    resp: &ChatResponse,
    id: &str,
    created_at: i64,
    completed_at: i64,
) -> impl Serialize {
    Complete {
        echo: Echo::of(req),
        items: items_of(req, resp, id),
        id: id.to_owned(),
        created_at,
        completed_at,
        stop: resp.stop_reason,
        usage: resp.usage,
    }
}

/// The output items of a complete answer with their encrypted content
/// whatever `include` says: what to store for `previous_response_id` and
/// `item_reference` (the ids are those of `response_object`).
pub fn output_items(req: &ResponsesRequest, resp: &ChatResponse, id: &str) -> Vec<Value> {
    items_of(req, resp, id)
        .iter()
        .map(|i| i.to_value(true))
        .collect()
}

struct Complete {
    echo: Echo,
    items: Vec<Item>,
    id: String,
    created_at: i64,
    completed_at: i64,
    stop: Option<StopReason>,
    usage: Usage,
}

impl Serialize for Complete {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (status, incomplete) = outcome(self.stop);
        let state = State {
            status,
            incomplete,
            completed_at: Some(self.completed_at),
            output: &self.items,
            error: None,
            usage: Some(&self.usage),
        };
        self.echo
            .body(&self.id, self.created_at, state)
            .serialize(s)
    }
}

/// Decodes, as it streams, the string value of `input` in a custom tool call's
/// JSON arguments (`{"input": "..."}`), so its deltas can be sent as text.
/// Arguments of another shape give nothing here: the call's `.done` event
/// carries what a full parse gives.
#[derive(Debug, Default)]
struct InputDecoder {
    state: Dec,
    key: String,
    hex: String,
    /// A high surrogate waiting for its low half.
    high: Option<u32>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
enum Dec {
    #[default]
    Start,
    ExpectKey,
    Key,
    KeyEscape,
    AfterKey,
    BeforeValue,
    Value,
    Escape,
    Unicode,
    Done,
    GaveUp,
}

impl InputDecoder {
    /// The text of the value that `fragment` completes.
    fn feed(&mut self, fragment: &str) -> String {
        let mut out = String::new();
        for c in fragment.chars() {
            let ws = c.is_ascii_whitespace();
            self.state = match self.state {
                Dec::Start if c == '{' => Dec::ExpectKey,
                Dec::ExpectKey if c == '"' => {
                    self.key.clear();
                    Dec::Key
                }
                Dec::Start | Dec::ExpectKey | Dec::AfterKey | Dec::BeforeValue if ws => self.state,
                Dec::Key if c == '\\' => Dec::KeyEscape,
                Dec::Key if c == '"' => Dec::AfterKey,
                Dec::Key | Dec::KeyEscape => {
                    self.key.push(c);
                    Dec::Key
                }
                Dec::AfterKey if c == ':' && self.key == "input" => Dec::BeforeValue,
                Dec::BeforeValue if c == '"' => Dec::Value,
                Dec::Value if c == '\\' => Dec::Escape,
                Dec::Value if c == '"' => {
                    self.flush_high(&mut out);
                    Dec::Done
                }
                Dec::Value => {
                    self.push(c, &mut out);
                    Dec::Value
                }
                Dec::Escape if c == 'u' => {
                    self.hex.clear();
                    Dec::Unicode
                }
                Dec::Escape => {
                    let decoded = match c {
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        other => other,
                    };
                    self.push(decoded, &mut out);
                    Dec::Value
                }
                Dec::Unicode => {
                    self.hex.push(c);
                    if self.hex.len() < 4 {
                        Dec::Unicode
                    } else {
                        self.unit(&mut out);
                        Dec::Value
                    }
                }
                Dec::Done => Dec::Done,
                _ => Dec::GaveUp,
            };
            if matches!(self.state, Dec::Done | Dec::GaveUp) {
                break;
            }
        }
        out
    }

    fn flush_high(&mut self, out: &mut String) {
        if self.high.take().is_some() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }

    fn push(&mut self, c: char, out: &mut String) {
        self.flush_high(out);
        out.push(c);
    }

    /// A `\uXXXX` escape just read into `hex`.
    fn unit(&mut self, out: &mut String) {
        let Ok(code) = u32::from_str_radix(&self.hex, 16) else {
            self.push(char::REPLACEMENT_CHARACTER, out);
            return;
        };
        match code {
            0xD800..=0xDBFF => {
                self.flush_high(out);
                self.high = Some(code);
            }
            0xDC00..=0xDFFF => match self.high.take() {
                Some(high) => {
                    let c = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00);
                    out.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                None => out.push(char::REPLACEMENT_CHARACTER),
            },
            _ => {
                let c = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
                self.push(c, out);
            }
        }
    }
}

/// A canonical block being streamed and the output item it feeds.
#[derive(Debug)]
struct Open {
    output_index: usize,
    kind: OpenKind,
}

#[derive(Debug)]
enum OpenKind {
    Text {
        content_index: usize,
    },
    Call {
        custom: bool,
        /// The arguments as streamed (JSON text).
        raw: String,
        decoder: InputDecoder,
    },
    Reasoning {
        part_open: bool,
    },
    Redacted,
}

/// Appends one event: `type` and `sequence_number` first, then `fields`.
fn emit(seq: &mut u64, out: &mut Vec<SseFrame>, name: &'static str, fields: Value) {
    let mut m = Map::new();
    m.insert("type".into(), name.into());
    m.insert("sequence_number".into(), (*seq).into());
    *seq += 1;
    if let Value::Object(rest) = fields {
        m.extend(rest);
    }
    out.push(SseFrame {
        event: Some(name),
        data: Value::Object(m).to_string(),
    });
}

/// Renders canonical stream events as Responses API events, as they arrive.
/// Only an item's `response.output_item.done` waits: until the next item
/// starts or the answer ends, since the last item of a truncated answer is
/// `incomplete`. The terminal event carries the same response object that
/// `response_object` gives for the same answer.
pub struct StreamRenderer {
    echo: Echo,
    id: String,
    created_at: i64,
    clock: fn() -> i64,
    seq: u64,
    started: bool,
    finished: bool,
    /// Set while the end closes what is open: items are then done by `finish`.
    closing: bool,
    usage: Usage,
    stop: Option<StopReason>,
    items: Vec<Item>,
    /// Per item: its `output_item.done` was sent.
    done: Vec<bool>,
    /// Canonical block index -> the open block.
    blocks: BTreeMap<usize, Open>,
    /// Blocks already stopped: late events for them are dropped.
    closed: BTreeSet<usize>,
    response: Option<Value>,
}

impl StreamRenderer {
    /// A renderer for the answer to `req`, as response `id` (from
    /// `new_response_id`) created at `created_at` (Unix seconds).
    pub fn new(req: &ResponsesRequest, id: String, created_at: i64) -> Self {
        StreamRenderer {
            echo: Echo::of(req),
            id,
            created_at,
            clock: unix_now,
            seq: 0,
            started: false,
            finished: false,
            closing: false,
            usage: Usage::default(),
            stop: None,
            items: Vec::new(),
            done: Vec::new(),
            blocks: BTreeMap::new(),
            closed: BTreeSet::new(),
            response: None,
        }
    }

    /// The clock of `completed_at` (`call::unix_now` unless set).
    pub fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self
    }

    /// The response id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// True once the terminal event was rendered.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The response object of the terminal event, once rendered.
    pub fn response(&self) -> Option<&Value> {
        self.response.as_ref()
    }

    /// The output items so far with their encrypted content whatever `include`
    /// says, as `output_items` gives them: what to store.
    pub fn output_items(&self) -> Vec<Value> {
        self.items.iter().map(|i| i.to_value(true)).collect()
    }

    /// Appends the frames for `ev` to `out`; nothing once the stream has ended.
    pub fn render(&mut self, ev: StreamEvent, out: &mut Vec<SseFrame>) {
        if self.finished {
            return;
        }
        self.ensure_started(out);
        match ev {
            StreamEvent::MessageStart { usage, .. } => self.usage = usage,
            StreamEvent::BlockStart { index, block } => {
                if !self.blocks.contains_key(&index) && !self.closed.contains(&index) {
                    self.start(index, block, out);
                }
            }
            StreamEvent::BlockDelta { index, delta } => {
                if self.closed.contains(&index) {
                    return;
                }
                if !self.blocks.contains_key(&index) {
                    // A delta without its start: supply the start where the delta
                    // says what the block is; a tool call's id and name cannot be
                    // invented, so its stray arguments are dropped.
                    let block = match delta {
                        Delta::Text(_) => BlockStart::Text,
                        Delta::Thinking(_) | Delta::Signature(_) => BlockStart::Thinking,
                        Delta::ToolArgs(_) => return,
                    };
                    self.start(index, block, out);
                }
                self.delta(index, delta, out);
            }
            StreamEvent::BlockStop { index } => self.stop(index, out),
            StreamEvent::MessageDelta {
                stop_reason, usage, ..
            } => {
                self.stop = stop_reason.or(self.stop);
                self.usage = usage;
            }
            StreamEvent::MessageStop => self.finish(None, out),
            StreamEvent::Error(e) => self.finish(Some(e), out),
            StreamEvent::Ping => {}
        }
    }

    fn ensure_started(&mut self, out: &mut Vec<SseFrame>) {
        if self.started {
            return;
        }
        self.started = true;
        let state = State {
            status: "in_progress",
            incomplete: None,
            completed_at: None,
            output: &[],
            error: None,
            usage: None,
        };
        let response = serde_json::to_value(self.echo.body(&self.id, self.created_at, state))
            .unwrap_or(Value::Null);
        emit(
            &mut self.seq,
            out,
            "response.created",
            json!({ "response": response }),
        );
        emit(
            &mut self.seq,
            out,
            "response.in_progress",
            json!({ "response": response }),
        );
    }

    fn item_open(&self, output_index: usize) -> bool {
        self.blocks.values().any(|b| b.output_index == output_index)
    }

    /// Sends `output_item.done` for item `i` with `status`.
    fn item_done(&mut self, i: usize, status: Status, out: &mut Vec<SseFrame>) {
        let Some(item) = self.items.get_mut(i) else {
            return;
        };
        item.set_status(status);
        let item = item.to_value(self.echo.encrypted);
        self.done[i] = true;
        emit(
            &mut self.seq,
            out,
            "response.output_item.done",
            json!({ "output_index": i, "item": item }),
        );
    }

    /// Adds an output item, first ending the items whose blocks all stopped.
    fn add_item(&mut self, item: Item, out: &mut Vec<SseFrame>) -> usize {
        for i in 0..self.items.len() {
            if !self.done[i] && !self.item_open(i) {
                self.item_done(i, Status::Completed, out);
            }
        }
        let i = self.items.len();
        let value = item.to_value(self.echo.encrypted);
        self.items.push(item);
        self.done.push(false);
        emit(
            &mut self.seq,
            out,
            "response.output_item.added",
            json!({ "output_index": i, "item": value }),
        );
        i
    }

    fn start(&mut self, index: usize, block: BlockStart, out: &mut Vec<SseFrame>) {
        let n = self.items.len();
        let (output_index, kind) = match block {
            BlockStart::Text => {
                // Text after text is another part of the same message.
                let last = n.checked_sub(1);
                let i = match (last, self.items.last()) {
                    (Some(i), Some(Item::Message { .. })) if !self.done[i] => i,
                    _ => self.add_item(
                        Item::Message {
                            id: item_id("msg", &self.id, n),
                            status: Status::InProgress,
                            role: "assistant",
                            content: Vec::new(),
                        },
                        out,
                    ),
                };
                let Some(Item::Message { id, content, .. }) = self.items.get_mut(i) else {
                    return;
                };
                let part = OutputText::new("");
                let fields = json!({
                    "item_id": id,
                    "output_index": i,
                    "content_index": content.len(),
                    "part": part,
                });
                let content_index = content.len();
                content.push(part);
                emit(&mut self.seq, out, "response.content_part.added", fields);
                (i, OpenKind::Text { content_index })
            }
            BlockStart::ToolUse { id, name } => {
                let custom = self.echo.custom_tools.contains(&name);
                let item = if self.echo.tool_search && name == TOOL_SEARCH {
                    Item::ToolSearchCall {
                        id: item_id("tsc", &self.id, n),
                        status: Status::InProgress,
                        call_id: id,
                        execution: "client",
                        arguments: json!({}),
                    }
                } else if custom {
                    Item::CustomToolCall {
                        id: item_id("ctc", &self.id, n),
                        status: Status::InProgress,
                        call_id: id,
                        name,
                        input: String::new(),
                    }
                } else {
                    Item::FunctionCall {
                        id: item_id("fc", &self.id, n),
                        status: Status::InProgress,
                        call_id: id,
                        namespace: self.echo.namespaces.get(&name).cloned(),
                        name,
                        arguments: String::new(),
                    }
                };
                let i = self.add_item(item, out);
                let kind = OpenKind::Call {
                    custom,
                    raw: String::new(),
                    decoder: InputDecoder::default(),
                };
                (i, kind)
            }
            BlockStart::Thinking => {
                let item = Item::Reasoning {
                    id: item_id("rs", &self.id, n),
                    status: Status::InProgress,
                    summary: Vec::new(),
                    encrypted_content: None,
                };
                let i = self.add_item(item, out);
                (i, OpenKind::Reasoning { part_open: false })
            }
            BlockStart::RedactedThinking { data } => {
                let item = Item::Reasoning {
                    id: item_id("rs", &self.id, n),
                    status: Status::InProgress,
                    summary: Vec::new(),
                    encrypted_content: Some(format!("{REDACTED_PREFIX}{data}")),
                };
                (self.add_item(item, out), OpenKind::Redacted)
            }
        };
        self.blocks.insert(index, Open { output_index, kind });
    }

    fn delta(&mut self, index: usize, delta: Delta, out: &mut Vec<SseFrame>) {
        let Some(open) = self.blocks.get_mut(&index) else {
            return;
        };
        let i = open.output_index;
        let Some(item) = self.items.get_mut(i) else {
            return;
        };
        let seq = &mut self.seq;
        match (&mut open.kind, item, delta) {
            (
                OpenKind::Text { content_index },
                Item::Message { id, content, .. },
                Delta::Text(text),
            ) if !text.is_empty() => {
                if let Some(part) = content.get_mut(*content_index) {
                    part.text.push_str(&text);
                }
                let fields = json!({
                    "item_id": id,
                    "output_index": i,
                    "content_index": *content_index,
                    "delta": text,
                    "logprobs": [],
                });
                emit(seq, out, "response.output_text.delta", fields);
            }
            (
                OpenKind::Reasoning { part_open },
                Item::Reasoning { id, summary, .. },
                Delta::Thinking(text),
            ) if !text.is_empty() => {
                if !*part_open {
                    *part_open = true;
                    summary.push(SummaryText::new(""));
                    let fields = json!({
                        "item_id": id,
                        "output_index": i,
                        "summary_index": summary.len() - 1,
                        "part": SummaryText::new(""),
                    });
                    emit(seq, out, "response.reasoning_summary_part.added", fields);
                }
                let k = summary.len() - 1;
                if let Some(part) = summary.last_mut() {
                    part.text.push_str(&text);
                }
                let fields = json!({
                    "item_id": id,
                    "output_index": i,
                    "summary_index": k,
                    "delta": text,
                });
                emit(seq, out, "response.reasoning_summary_text.delta", fields);
            }
            (
                OpenKind::Reasoning { .. },
                Item::Reasoning {
                    encrypted_content, ..
                },
                Delta::Signature(sig),
            ) => encrypted_content
                .get_or_insert_with(String::new)
                .push_str(&sig),
            (
                OpenKind::Call {
                    custom: false, raw, ..
                },
                Item::FunctionCall { id, arguments, .. },
                Delta::ToolArgs(fragment),
            ) if !fragment.is_empty() => {
                raw.push_str(&fragment);
                arguments.push_str(&fragment);
                let fields = json!({"item_id": id, "output_index": i, "delta": fragment});
                emit(seq, out, "response.function_call_arguments.delta", fields);
            }
            (
                OpenKind::Call {
                    custom: true,
                    raw,
                    decoder,
                },
                Item::CustomToolCall { id, input, .. },
                Delta::ToolArgs(fragment),
            ) => {
                raw.push_str(&fragment);
                let piece = decoder.feed(&fragment);
                if !piece.is_empty() {
                    input.push_str(&piece);
                    let fields = json!({"item_id": id, "output_index": i, "delta": piece});
                    emit(seq, out, "response.custom_tool_call_input.delta", fields);
                }
            }
            // A tool search's arguments are sent whole, with its item.
            (
                OpenKind::Call { raw, .. },
                Item::ToolSearchCall { .. },
                Delta::ToolArgs(fragment),
            ) => {
                raw.push_str(&fragment);
            }
            // Empty deltas, and deltas that do not fit their block, carry nothing.
            _ => {}
        }
    }

    fn stop(&mut self, index: usize, out: &mut Vec<SseFrame>) {
        let Some(open) = self.blocks.remove(&index) else {
            return;
        };
        self.closed.insert(index);
        let i = open.output_index;
        let Some(item) = self.items.get_mut(i) else {
            return;
        };
        let seq = &mut self.seq;
        match (open.kind, item) {
            (OpenKind::Text { content_index }, Item::Message { id, content, .. }) => {
                let Some(part) = content.get(content_index) else {
                    return;
                };
                let fields = json!({
                    "item_id": id,
                    "output_index": i,
                    "content_index": content_index,
                    "text": part.text,
                    "logprobs": [],
                });
                emit(seq, out, "response.output_text.done", fields);
                let fields = json!({
                    "item_id": id,
                    "output_index": i,
                    "content_index": content_index,
                    "part": part,
                });
                emit(seq, out, "response.content_part.done", fields);
            }
            (OpenKind::Reasoning { part_open: true }, Item::Reasoning { id, summary, .. }) => {
                let k = summary.len() - 1;
                let text = summary.last().map(|p| p.text.clone()).unwrap_or_default();
                let fields = json!({
                    "item_id": id,
                    "output_index": i,
                    "summary_index": k,
                    "text": text,
                });
                emit(seq, out, "response.reasoning_summary_text.done", fields);
                let fields = json!({
                    "item_id": id,
                    "output_index": i,
                    "summary_index": k,
                    "part": SummaryText::new(&text),
                });
                emit(seq, out, "response.reasoning_summary_part.done", fields);
            }
            (
                OpenKind::Call { custom: false, .. },
                Item::FunctionCall {
                    id,
                    name,
                    arguments,
                    ..
                },
            ) => {
                // A call whose arguments never came still ends as valid JSON.
                if arguments.is_empty() {
                    arguments.push_str("{}");
                    let fields = json!({"item_id": id, "output_index": i, "delta": "{}"});
                    emit(seq, out, "response.function_call_arguments.delta", fields);
                }
                let fields = json!({
                    "item_id": id,
                    "output_index": i,
                    "name": name,
                    "arguments": arguments,
                });
                emit(seq, out, "response.function_call_arguments.done", fields);
            }
            (
                OpenKind::Call {
                    custom: true, raw, ..
                },
                Item::CustomToolCall { id, input, .. },
            ) => {
                // The full parse has the last word; what the decoder could not
                // stream goes out as one more delta.
                let full = custom_input_of_raw(&raw);
                if let Some(rest) = full.strip_prefix(input.as_str()).filter(|r| !r.is_empty()) {
                    let fields = json!({"item_id": id, "output_index": i, "delta": rest});
                    emit(seq, out, "response.custom_tool_call_input.delta", fields);
                }
                *input = full;
                let fields = json!({"item_id": id, "output_index": i, "input": input});
                emit(seq, out, "response.custom_tool_call_input.done", fields);
            }
            (OpenKind::Call { raw, .. }, Item::ToolSearchCall { arguments, .. }) => {
                *arguments = serde_json::from_str(&raw).unwrap_or_else(|_| json!({}));
            }
            _ => {}
        }
        // An earlier item is done now; the last one waits, it may be truncated.
        if !self.closing && i + 1 < self.items.len() && !self.done[i] && !self.item_open(i) {
            self.item_done(i, Status::Completed, out);
        }
    }

    /// Ends the stream: closes what is open, sends the remaining
    /// `output_item.done` events, then the terminal event and `[DONE]`.
    fn finish(&mut self, error: Option<Error>, out: &mut Vec<SseFrame>) {
        self.closing = true;
        let cut: BTreeSet<usize> = self.blocks.values().map(|b| b.output_index).collect();
        let open: Vec<usize> = self.blocks.keys().copied().collect();
        for index in open {
            self.stop(index, out);
        }
        let (status, incomplete) = match &error {
            Some(_) => ("failed", None),
            None => outcome(self.stop),
        };
        let last = self.items.len().checked_sub(1);
        for i in 0..self.items.len() {
            if self.done[i] {
                continue;
            }
            let truncated = match &error {
                Some(_) => cut.contains(&i),
                None => status == "incomplete" && Some(i) == last,
            };
            let item_status = if truncated {
                Status::Incomplete
            } else {
                Status::Completed
            };
            self.item_done(i, item_status, out);
        }
        if let Some(e) = &error {
            let code = error_code(e);
            // Open Responses nests the payload; OpenAI's SDK types read it flat.
            let fields = json!({
                "code": code,
                "message": e.message(),
                "param": e.param(),
                "error": {
                    "type": openai::error_type(e.kind()),
                    "code": code,
                    "message": e.message(),
                    "param": e.param(),
                },
            });
            emit(&mut self.seq, out, "error", fields);
        }
        let state = State {
            status,
            incomplete,
            completed_at: error.is_none().then(self.clock),
            output: &self.items,
            error: error.as_ref(),
            usage: Some(&self.usage),
        };
        let response = serde_json::to_value(self.echo.body(&self.id, self.created_at, state))
            .unwrap_or(Value::Null);
        let name = match status {
            "failed" => "response.failed",
            "incomplete" => "response.incomplete",
            _ => "response.completed",
        };
        emit(&mut self.seq, out, name, json!({ "response": response }));
        self.response = Some(response);
        out.push(SseFrame {
            event: None,
            data: "[DONE]".to_owned(),
        });
        self.finished = true;
    }
}

/// The answer of POST /v1/responses/input_tokens.
pub fn input_tokens_object(input_tokens: u64) -> Value {
    json!({"object": "response.input_tokens", "input_tokens": input_tokens})
}

/// The answer of POST /v1/responses/compact: a `response.compaction` whose
/// output is one `compaction` item carrying `encrypted_content` (which, sent
/// back as input, stands for the conversation it summarises).
pub fn compaction_object(usage: &Usage, encrypted_content: &str, created_at: i64) -> Value {
    let id = new_response_id();
    let item_id = item_id("cmp", &id, 0);
    json!({
        "id": id,
        "object": "response.compaction",
        "created_at": created_at,
        "output": [{
            "type": "compaction",
            "id": item_id,
            "encrypted_content": encrypted_content,
        }],
        "usage": UsageBody::of(usage),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingress::responses::parse_responses;

    const ID: &str = "resp_test";
    const CREATED: i64 = 1_700_000_000;
    const COMPLETED: i64 = 1_700_000_009;

    fn completed_clock() -> i64 {
        COMPLETED
    }

    fn request(body: Value) -> ResponsesRequest {
        parse_responses(&body).unwrap()
    }

    fn plain() -> ResponsesRequest {
        request(json!({"model": "gpt-5", "input": "hi"}))
    }

    /// A request offering a function tool and a custom tool, asking for encrypted reasoning.
    fn tooled() -> ResponsesRequest {
        request(json!({
            "model": "gpt-5",
            "input": "hi",
            "include": ["reasoning.encrypted_content"],
            "tools": [
                {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
                {"type": "custom", "name": "code_exec", "description": "Runs Python."}
            ]
        }))
    }

    fn usage(input: u64, output: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            ..Usage::default()
        }
    }

    fn answer(content: Vec<ContentBlock>, stop: StopReason) -> ChatResponse {
        ChatResponse {
            id: "msg_up".into(),
            content,
            stop_reason: Some(stop),
            stop_sequence: None,
            usage: Usage {
                input_tokens: 10,
                output_tokens: 20,
                cache_read_input_tokens: 5,
                cache_creation_input_tokens: 1,
            },
        }
    }

    fn tool_use(id: &str, name: &str, input: Value) -> ContentBlock {
        ContentBlock::ToolUse {
            id: id.into(),
            name: name.into(),
            input,
            cache_control: None,
        }
    }

    fn thinking(text: &str, signature: Option<&str>) -> ContentBlock {
        ContentBlock::Thinking {
            thinking: text.into(),
            signature: signature.map(str::to_owned),
        }
    }

    /// The required fields of Open Responses' `ResponseResource`, in its order.
    const REQUIRED: [&str; 31] = [
        "id",
        "object",
        "created_at",
        "completed_at",
        "status",
        "incomplete_details",
        "model",
        "previous_response_id",
        "instructions",
        "output",
        "error",
        "tools",
        "tool_choice",
        "truncation",
        "parallel_tool_calls",
        "text",
        "top_p",
        "presence_penalty",
        "frequency_penalty",
        "top_logprobs",
        "temperature",
        "reasoning",
        "usage",
        "max_output_tokens",
        "max_tool_calls",
        "store",
        "background",
        "service_tier",
        "metadata",
        "safety_identifier",
        "prompt_cache_key",
    ];

    /// The required fields of each output item and part, from the same document.
    fn check_item_fields(item: &Value) {
        let required: &[&str] = match item["type"].as_str().unwrap() {
            "message" => &["type", "id", "status", "role", "content"],
            "function_call" => &["type", "id", "call_id", "name", "arguments", "status"],
            "reasoning" => &["type", "id", "summary"],
            // OpenAI's own item (not in Open Responses).
            "custom_tool_call" => &["type", "id", "call_id", "name", "input"],
            other => panic!("unexpected item type {other}"),
        };
        for key in required {
            assert!(item.get(key).is_some(), "{key} missing in {item}");
        }
        // Every item also has a status (the specification's prose asks for it).
        assert!(item["status"].is_string(), "{item}");
        for part in item["content"].as_array().into_iter().flatten() {
            for key in ["type", "text", "annotations"] {
                assert!(part.get(key).is_some(), "{key} missing in {part}");
            }
        }
        for part in item["summary"].as_array().into_iter().flatten() {
            assert_eq!(part["type"], "summary_text");
            assert!(part["text"].is_string());
        }
        // A string or nothing: Open Responses' schema does not allow null.
        assert_ne!(item.get("encrypted_content"), Some(&Value::Null));
    }

    fn check_response_fields(r: &Value) {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        let mut want = REQUIRED.to_vec();
        want.push("user");
        assert_eq!(keys, want);
        assert_eq!(r["object"], "response");
        for key in [
            "top_p",
            "temperature",
            "presence_penalty",
            "frequency_penalty",
            "top_logprobs",
        ] {
            assert!(r[key].is_number(), "{key} must be a number: {}", r[key]);
        }
        for key in ["parallel_tool_calls", "store", "background"] {
            assert!(r[key].is_boolean(), "{key}");
        }
        assert!(r["service_tier"].is_string() && r["truncation"].is_string());
        assert!(r["tools"].is_array() && r["text"]["format"]["type"].is_string());
        assert!(r["reasoning"].get("effort").is_some() && r["reasoning"].get("summary").is_some());
        if !r["usage"].is_null() {
            let u = &r["usage"];
            for key in ["input_tokens", "output_tokens", "total_tokens"] {
                assert!(u[key].is_u64(), "{key}");
            }
            assert!(u["input_tokens_details"]["cached_tokens"].is_u64());
            assert!(u["output_tokens_details"]["reasoning_tokens"].is_u64());
        }
        for item in r["output"].as_array().unwrap() {
            check_item_fields(item);
        }
    }

    #[test]
    fn the_response_object_has_every_required_field_with_defaults() {
        let resp = answer(vec![ContentBlock::text("Hello there")], StopReason::EndTurn);
        let r = response_object(&plain(), &resp, ID, CREATED, COMPLETED);
        check_response_fields(&r);
        assert_eq!(
            r,
            json!({
                "id": "resp_test",
                "object": "response",
                "created_at": CREATED,
                "completed_at": COMPLETED,
                "status": "completed",
                "incomplete_details": null,
                "model": "gpt-5",
                "previous_response_id": null,
                "instructions": null,
                "output": [{
                    "type": "message",
                    "id": "msg_test_0",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "Hello there", "annotations": [], "logprobs": []}]
                }],
                "error": null,
                "tools": [],
                "tool_choice": "auto",
                "truncation": "disabled",
                "parallel_tool_calls": true,
                "text": {"format": {"type": "text"}, "verbosity": "medium"},
                "top_p": 1.0,
                "presence_penalty": 0.0,
                "frequency_penalty": 0.0,
                "top_logprobs": 0,
                "temperature": 1.0,
                "reasoning": {"effort": null, "summary": null},
                "usage": {
                    "input_tokens": 16,
                    "input_tokens_details": {"cached_tokens": 5, "cache_write_tokens": 1},
                    "output_tokens": 20,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": 36
                },
                "max_output_tokens": null,
                "max_tool_calls": null,
                "store": true,
                "background": false,
                "service_tier": "default",
                "metadata": {},
                "safety_identifier": null,
                "prompt_cache_key": null,
                "user": null
            })
        );
    }

    #[test]
    fn every_block_becomes_its_item() {
        let resp = answer(
            vec![
                thinking("Need the weather.", Some("c2ln")),
                ContentBlock::text("Let me check"),
                ContentBlock::text(" both."),
                tool_use("call_1", "get_weather", json!({"city": "Paris"})),
                tool_use("call_2", "code_exec", json!({"input": "print(1)"})),
                ContentBlock::RedactedThinking {
                    data: "b3BhcXVl".into(),
                },
                thinking("", Some("c2ln2")),
            ],
            StopReason::ToolUse,
        );
        let r = response_object(&tooled(), &resp, ID, CREATED, COMPLETED);
        check_response_fields(&r);
        assert_eq!(
            r["output"],
            json!([
                {"type": "reasoning", "id": "rs_test_0", "status": "completed",
                 "summary": [{"type": "summary_text", "text": "Need the weather."}],
                 "encrypted_content": "c2ln"},
                {"type": "message", "id": "msg_test_1", "status": "completed", "role": "assistant", "content": [
                    {"type": "output_text", "text": "Let me check", "annotations": [], "logprobs": []},
                    {"type": "output_text", "text": " both.", "annotations": [], "logprobs": []}
                ]},
                {"type": "function_call", "id": "fc_test_2", "status": "completed", "call_id": "call_1",
                 "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
                {"type": "custom_tool_call", "id": "ctc_test_3", "status": "completed", "call_id": "call_2",
                 "name": "code_exec", "input": "print(1)"},
                {"type": "reasoning", "id": "rs_test_4", "status": "completed", "summary": [],
                 "encrypted_content": "redacted_thinking:b3BhcXVl"},
                {"type": "reasoning", "id": "rs_test_5", "status": "completed", "summary": [],
                 "encrypted_content": "c2ln2"}
            ])
        );
        assert_eq!(r["status"], "completed");
        // The tools as sent, with the fields a function tool must have.
        assert_eq!(
            r["tools"],
            json!([
                {"type": "function", "name": "get_weather",
                 "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                 "description": null, "strict": null},
                {"type": "custom", "name": "code_exec", "description": "Runs Python."}
            ])
        );

        // Without `include`, no encrypted content; stored items keep it.
        let mut req = tooled();
        req.include.clear();
        let r = response_object(&req, &resp, ID, CREATED, COMPLETED);
        for item in r["output"].as_array().unwrap() {
            assert!(item.get("encrypted_content").is_none(), "{item}");
        }
        let stored = output_items(&req, &resp, ID);
        assert_eq!(stored[0]["encrypted_content"], "c2ln");
        assert_eq!(stored[4]["encrypted_content"], "redacted_thinking:b3BhcXVl");
        // Without the custom tool in the request, the call is a function call.
        let r = response_object(&plain(), &resp, ID, CREATED, COMPLETED);
        assert_eq!(r["output"][3]["type"], "function_call");
        assert_eq!(r["output"][3]["arguments"], "{\"input\":\"print(1)\"}");
    }

    #[test]
    fn output_items_round_trip_through_the_ingress() {
        let resp = answer(
            vec![
                thinking("Plan.", Some("c2ln")),
                ContentBlock::RedactedThinking {
                    data: "b3Bh".into(),
                },
                ContentBlock::text("Running."),
                tool_use("call_1", "get_weather", json!({"city": "Paris"})),
                tool_use("call_2", "code_exec", json!({"input": "print(1)"})),
            ],
            StopReason::ToolUse,
        );
        let req = tooled();
        let items = output_items(&req, &resp, ID);
        let mut chat = crate::canonical::ChatRequest::new("m");
        crate::ingress::responses::items_to_messages(&items, "input", &mut chat).unwrap();
        assert_eq!(chat.messages.len(), 1);
        assert_eq!(chat.messages[0].content, resp.content);
    }

    #[test]
    fn truncated_and_refused_answers_are_incomplete() {
        let resp = answer(
            vec![
                ContentBlock::text("Once upon"),
                tool_use("c", "get_weather", json!({})),
            ],
            StopReason::MaxTokens,
        );
        let r = response_object(&tooled(), &resp, ID, CREATED, COMPLETED);
        check_response_fields(&r);
        assert_eq!(r["status"], "incomplete");
        assert_eq!(
            r["incomplete_details"],
            json!({"reason": "max_output_tokens"})
        );
        assert_eq!(r["output"][0]["status"], "completed");
        assert_eq!(r["output"][1]["status"], "incomplete");
        let resp = answer(vec![], StopReason::Refusal);
        let r = response_object(&plain(), &resp, ID, CREATED, COMPLETED);
        assert_eq!(r["status"], "incomplete");
        assert_eq!(r["incomplete_details"], json!({"reason": "content_filter"}));
        assert_eq!(r["output"], json!([]));
        for stop in [
            StopReason::EndTurn,
            StopReason::StopSequence,
            StopReason::ToolUse,
        ] {
            let r = response_object(&plain(), &answer(vec![], stop), ID, CREATED, COMPLETED);
            assert_eq!(r["status"], "completed");
        }
    }

    #[test]
    fn the_settings_are_echoed() {
        let req = request(json!({
            "model": "my-model",
            "input": "x",
            "instructions": "Be brief.",
            "previous_response_id": "resp_prev",
            "tools": [{"type": "function", "name": "f", "description": "F", "strict": true, "parameters": {"type": "object"}}],
            "tool_choice": {"type": "function", "name": "f"},
            "parallel_tool_calls": false,
            "temperature": 0.2,
            "top_p": 0.5,
            "presence_penalty": 0.1,
            "frequency_penalty": -0.1,
            "top_logprobs": 3,
            "max_output_tokens": 100,
            "max_tool_calls": 2,
            "truncation": "auto",
            "store": false,
            "service_tier": "auto",
            "metadata": {"k": "v"},
            "user": "u",
            "safety_identifier": "s",
            "prompt_cache_key": "p",
            "reasoning": {"effort": "low", "summary": "auto"},
            "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}}, "verbosity": "high"}
        }));
        let r = response_object(
            &req,
            &answer(vec![], StopReason::EndTurn),
            ID,
            CREATED,
            COMPLETED,
        );
        check_response_fields(&r);
        let pick: Map<String, Value> = [
            "model",
            "previous_response_id",
            "instructions",
            "tools",
            "tool_choice",
            "parallel_tool_calls",
            "temperature",
            "top_p",
            "presence_penalty",
            "frequency_penalty",
            "top_logprobs",
            "max_output_tokens",
            "max_tool_calls",
            "truncation",
            "store",
            "service_tier",
            "metadata",
            "user",
            "safety_identifier",
            "prompt_cache_key",
            "reasoning",
            "text",
        ]
        .into_iter()
        .map(|k| (k.to_owned(), r[k].clone()))
        .collect();
        assert_eq!(
            Value::Object(pick),
            json!({
                "model": "my-model",
                "previous_response_id": "resp_prev",
                "instructions": "Be brief.",
                "tools": [{"type": "function", "name": "f", "description": "F", "strict": true, "parameters": {"type": "object"}}],
                "tool_choice": {"type": "function", "name": "f"},
                "parallel_tool_calls": false,
                "temperature": 0.2,
                "top_p": 0.5,
                "presence_penalty": 0.1,
                "frequency_penalty": -0.1,
                "top_logprobs": 3,
                "max_output_tokens": 100,
                "max_tool_calls": 2,
                "truncation": "auto",
                "store": false,
                "service_tier": "default",
                "metadata": {"k": "v"},
                "user": "u",
                "safety_identifier": "s",
                "prompt_cache_key": "p",
                "reasoning": {"effort": "low", "summary": "auto"},
                "text": {"format": {"type": "json_schema", "description": null, "name": "out",
                                    "schema": null, "strict": false},
                         "verbosity": "high"}
            })
        );
    }

    #[test]
    fn error_bodies() {
        let e = Error::invalid_field("input.2.call_id", "no tool call found");
        assert_eq!(
            error_body(&e),
            json!({"error": {"message": "input.2.call_id: no tool call found",
                             "type": "invalid_request_error", "param": "input.2.call_id", "code": null}})
        );
        let e = crate::ingress::responses::previous_response_not_found("resp_gone");
        assert_eq!(
            error_body(&e),
            json!({"error": {"message": "Previous response with id 'resp_gone' not found.",
                             "type": "invalid_request_error", "param": "previous_response_id",
                             "code": "previous_response_not_found"}})
        );
        assert_eq!(
            websocket_error(&e),
            json!({"type": "error", "status": 400, "error": {
                "type": "invalid_request_error", "code": "previous_response_not_found",
                "message": "Previous response with id 'resp_gone' not found.", "param": "previous_response_id"}})
        );
        let e = Error::new(ErrorKind::RateLimited, "slow down");
        assert_eq!(websocket_error(&e)["status"], 429);
        assert_eq!(websocket_error(&e)["error"]["code"], "rate_limit_exceeded");
        assert_eq!(
            error_code(&Error::new(ErrorKind::Upstream, "x")),
            "server_error"
        );
        assert!(new_response_id().starts_with("resp_"));
        assert_ne!(new_response_id(), new_response_id());
    }

    /// The canonical events an upstream adapter would give for `resp`, text and
    /// arguments cut into pieces of `piece` characters.
    fn events_of(resp: &ChatResponse, piece: usize) -> Vec<StreamEvent> {
        fn pieces(s: &str, n: usize) -> Vec<String> {
            let chars: Vec<char> = s.chars().collect();
            chars.chunks(n).map(|c| c.iter().collect()).collect()
        }
        let mut evs = vec![StreamEvent::MessageStart {
            id: resp.id.clone(),
            usage: Usage::input_only(resp.usage.input_tokens),
        }];
        for (index, block) in resp.content.iter().enumerate() {
            let (start, deltas) = match block {
                ContentBlock::Text { text, .. } => (
                    BlockStart::Text,
                    pieces(text, piece).into_iter().map(Delta::Text).collect(),
                ),
                ContentBlock::ToolUse {
                    id, name, input, ..
                } => (
                    BlockStart::ToolUse {
                        id: id.clone(),
                        name: name.clone(),
                    },
                    pieces(&input.to_string(), piece)
                        .into_iter()
                        .map(Delta::ToolArgs)
                        .collect(),
                ),
                ContentBlock::Thinking {
                    thinking,
                    signature,
                } => {
                    let mut d: Vec<Delta> = pieces(thinking, piece)
                        .into_iter()
                        .map(Delta::Thinking)
                        .collect();
                    d.extend(signature.clone().map(Delta::Signature));
                    (BlockStart::Thinking, d)
                }
                ContentBlock::RedactedThinking { data } => {
                    (BlockStart::RedactedThinking { data: data.clone() }, vec![])
                }
                _ => continue,
            };
            evs.push(StreamEvent::BlockStart {
                index,
                block: start,
            });
            evs.extend(
                deltas
                    .into_iter()
                    .map(|delta| StreamEvent::BlockDelta { index, delta }),
            );
            evs.push(StreamEvent::BlockStop { index });
        }
        evs.push(StreamEvent::MessageDelta {
            stop_reason: resp.stop_reason,
            stop_sequence: None,
            usage: resp.usage,
        });
        evs.push(StreamEvent::MessageStop);
        evs
    }

    /// Renders `events`; returns each frame's event name and data (`[DONE]` as a string).
    fn render(
        req: &ResponsesRequest,
        events: Vec<StreamEvent>,
    ) -> Vec<(Option<&'static str>, Value)> {
        let mut r = StreamRenderer::new(req, ID.to_owned(), CREATED).with_clock(completed_clock);
        let mut out = Vec::new();
        for ev in events {
            r.render(ev, &mut out);
            assert!(!out.iter().any(|f| f.data.is_empty()));
        }
        assert!(r.is_finished());
        let frames: Vec<_> = out
            .into_iter()
            .map(|f| {
                let data = if f.data == "[DONE]" {
                    Value::String(f.data)
                } else {
                    serde_json::from_str(&f.data).unwrap()
                };
                (f.event, data)
            })
            .collect();
        // The terminal response is kept for storing.
        let terminal = &frames[frames.len() - 2].1["response"];
        assert_eq!(r.response(), Some(terminal));
        frames
    }

    /// Checks what every stream must hold, folds its deltas into items and
    /// checks them against the `.done` events and the terminal response, which
    /// it returns.
    fn check_stream(frames: &[(Option<&'static str>, Value)]) -> Value {
        let (last, events) = frames.split_last().unwrap();
        assert_eq!(last, &(None, json!("[DONE]")));
        let mut items: Vec<Value> = Vec::new();
        let mut done: Vec<bool> = Vec::new();
        let mut terminal = None;
        for (i, (name, data)) in events.iter().enumerate() {
            let name = name.unwrap_or_else(|| panic!("frame {i} has no event name"));
            assert_eq!(data["type"], name, "event name and type differ");
            assert_eq!(data["sequence_number"], i, "{data}");
            assert!(terminal.is_none(), "{name} after the terminal event");
            let oi = data["output_index"].as_u64().map(|n| n as usize);
            if let (Some(oi), Some(item_id)) = (oi, data["item_id"].as_str()) {
                assert_eq!(items[oi]["id"], item_id, "{data}");
                assert!(!done[oi], "{name} after output_item.done");
            }
            let ci = data["content_index"].as_u64().map(|n| n as usize);
            let si = data["summary_index"].as_u64().map(|n| n as usize);
            match name {
                "response.created" | "response.in_progress" => {
                    assert!(i < 2);
                    assert_eq!(data["response"]["status"], "in_progress");
                    assert_eq!(data["response"]["output"], json!([]));
                    assert_eq!(data["response"]["usage"], Value::Null);
                    check_response_fields(&data["response"]);
                }
                "response.output_item.added" => {
                    assert_eq!(oi, Some(items.len()));
                    assert_eq!(data["item"]["status"], "in_progress");
                    check_item_fields(&data["item"]);
                    items.push(data["item"].clone());
                    done.push(false);
                }
                "response.content_part.added" => {
                    let content = items[oi.unwrap()]["content"].as_array_mut().unwrap();
                    assert_eq!(ci, Some(content.len()));
                    assert_eq!(data["part"]["text"], "");
                    content.push(data["part"].clone());
                }
                "response.output_text.delta" => {
                    assert_eq!(data["logprobs"], json!([]));
                    let part = &mut items[oi.unwrap()]["content"][ci.unwrap()];
                    let text = format!(
                        "{}{}",
                        part["text"].as_str().unwrap(),
                        data["delta"].as_str().unwrap()
                    );
                    part["text"] = text.into();
                }
                "response.output_text.done" => {
                    assert_eq!(
                        items[oi.unwrap()]["content"][ci.unwrap()]["text"],
                        data["text"]
                    );
                }
                "response.content_part.done" => {
                    assert_eq!(items[oi.unwrap()]["content"][ci.unwrap()], data["part"]);
                }
                "response.function_call_arguments.delta" => {
                    let item = &mut items[oi.unwrap()];
                    let args = format!(
                        "{}{}",
                        item["arguments"].as_str().unwrap(),
                        data["delta"].as_str().unwrap()
                    );
                    item["arguments"] = args.into();
                }
                "response.function_call_arguments.done" => {
                    assert_eq!(items[oi.unwrap()]["arguments"], data["arguments"]);
                    assert_eq!(items[oi.unwrap()]["name"], data["name"]);
                }
                "response.custom_tool_call_input.delta" => {
                    let item = &mut items[oi.unwrap()];
                    let input = format!(
                        "{}{}",
                        item["input"].as_str().unwrap(),
                        data["delta"].as_str().unwrap()
                    );
                    item["input"] = input.into();
                }
                "response.custom_tool_call_input.done" => {
                    assert_eq!(items[oi.unwrap()]["input"], data["input"]);
                }
                "response.reasoning_summary_part.added" => {
                    let summary = items[oi.unwrap()]["summary"].as_array_mut().unwrap();
                    assert_eq!(si, Some(summary.len()));
                    assert_eq!(data["part"], json!({"type": "summary_text", "text": ""}));
                    summary.push(data["part"].clone());
                }
                "response.reasoning_summary_text.delta" => {
                    let part = &mut items[oi.unwrap()]["summary"][si.unwrap()];
                    let text = format!(
                        "{}{}",
                        part["text"].as_str().unwrap(),
                        data["delta"].as_str().unwrap()
                    );
                    part["text"] = text.into();
                }
                "response.reasoning_summary_text.done" => {
                    assert_eq!(
                        items[oi.unwrap()]["summary"][si.unwrap()]["text"],
                        data["text"]
                    );
                }
                "response.reasoning_summary_part.done" => {
                    assert_eq!(items[oi.unwrap()]["summary"][si.unwrap()], data["part"]);
                }
                "response.output_item.done" => {
                    let oi = oi.unwrap();
                    assert!(!done[oi]);
                    done[oi] = true;
                    check_item_fields(&data["item"]);
                    assert_ne!(data["item"]["status"], "in_progress");
                    // What the deltas built, apart from the status and the encrypted content.
                    let mut folded = items[oi].clone();
                    folded["status"] = data["item"]["status"].clone();
                    if let Some(e) = data["item"].get("encrypted_content") {
                        folded["encrypted_content"] = e.clone();
                    }
                    assert_eq!(folded, data["item"]);
                    items[oi] = data["item"].clone();
                }
                "error" => {
                    assert!(
                        data["error"]["message"].is_string() && data["error"]["code"].is_string()
                    );
                    assert_eq!(data["message"], data["error"]["message"]);
                }
                "response.completed" | "response.incomplete" | "response.failed" => {
                    terminal = Some(data["response"].clone());
                }
                other => panic!("unexpected event {other}"),
            }
        }
        assert!(done.iter().all(|d| *d), "an item was never done");
        let terminal = terminal.expect("no terminal event");
        check_response_fields(&terminal);
        assert_eq!(terminal["output"], Value::Array(items));
        let status = terminal["status"].as_str().unwrap();
        let name = events.last().unwrap().0.unwrap();
        assert_eq!(name, format!("response.{status}"));
        terminal
    }

    /// Streams `resp` cut in several ways: every stream folds into the
    /// non-streamed response object.
    fn streams_like_the_object(req: &ResponsesRequest, resp: &ChatResponse) {
        let want = response_object(req, resp, ID, CREATED, COMPLETED);
        for piece in [1, 3, 1000] {
            let frames = render(req, events_of(resp, piece));
            let got = check_stream(&frames);
            assert_eq!(got, want, "piece {piece}");
        }
    }

    fn names(frames: &[(Option<&'static str>, Value)]) -> Vec<&'static str> {
        frames.iter().map(|(n, _)| n.unwrap_or("[DONE]")).collect()
    }

    #[test]
    fn a_streamed_text_answer_event_by_event() {
        let resp = answer(vec![ContentBlock::text("Hi there")], StopReason::EndTurn);
        let frames = render(&plain(), events_of(&resp, 4));
        let terminal = check_stream(&frames);
        assert_eq!(
            names(&frames),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed",
                "[DONE]",
            ]
        );
        assert_eq!(
            frames[2].1,
            json!({"type": "response.output_item.added", "sequence_number": 2, "output_index": 0,
                   "item": {"type": "message", "id": "msg_test_0", "status": "in_progress", "role": "assistant", "content": []}})
        );
        assert_eq!(
            frames[3].1,
            json!({"type": "response.content_part.added", "sequence_number": 3, "item_id": "msg_test_0",
                   "output_index": 0, "content_index": 0,
                   "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}})
        );
        assert_eq!(
            frames[4].1,
            json!({"type": "response.output_text.delta", "sequence_number": 4, "item_id": "msg_test_0",
                   "output_index": 0, "content_index": 0, "delta": "Hi t", "logprobs": []})
        );
        assert_eq!(
            frames[6].1,
            json!({"type": "response.output_text.done", "sequence_number": 6, "item_id": "msg_test_0",
                   "output_index": 0, "content_index": 0, "text": "Hi there", "logprobs": []})
        );
        assert_eq!(frames[8].1["item"]["status"], "completed");
        assert_eq!(terminal["status"], "completed");
        assert_eq!(terminal["completed_at"], COMPLETED);
        assert_eq!(terminal["usage"]["input_tokens"], 16);
        assert_eq!(
            terminal,
            response_object(&plain(), &resp, ID, CREATED, COMPLETED)
        );
    }

    #[test]
    fn a_streamed_function_call_event_by_event() {
        let resp = answer(
            vec![tool_use("call_9", "get_weather", json!({"city": "Paris"}))],
            StopReason::ToolUse,
        );
        let frames = render(&tooled(), events_of(&resp, 8));
        check_stream(&frames);
        assert_eq!(
            names(&frames),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
                "[DONE]",
            ]
        );
        assert_eq!(
            frames[2].1["item"],
            json!({"type": "function_call", "id": "fc_test_0", "status": "in_progress",
                   "call_id": "call_9", "name": "get_weather", "arguments": ""})
        );
        assert_eq!(
            frames[3].1,
            json!({"type": "response.function_call_arguments.delta", "sequence_number": 3,
                   "item_id": "fc_test_0", "output_index": 0, "delta": "{\"city\":"})
        );
        assert_eq!(
            frames[5].1,
            json!({"type": "response.function_call_arguments.done", "sequence_number": 5,
                   "item_id": "fc_test_0", "output_index": 0, "name": "get_weather",
                   "arguments": "{\"city\":\"Paris\"}"})
        );
        assert_eq!(frames[6].1["item"]["status"], "completed");
        streams_like_the_object(&tooled(), &resp);
    }

    #[test]
    fn a_call_without_arguments_streams_an_empty_object() {
        let evs = vec![
            StreamEvent::BlockStart {
                index: 0,
                block: BlockStart::ToolUse {
                    id: "c".into(),
                    name: "get_weather".into(),
                },
            },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::MessageStop,
        ];
        let frames = render(&tooled(), evs);
        let terminal = check_stream(&frames);
        assert_eq!(terminal["output"][0]["arguments"], "{}");
        let resp = answer(
            vec![tool_use("c", "get_weather", json!({}))],
            StopReason::ToolUse,
        );
        streams_like_the_object(&tooled(), &resp);
    }

    #[test]
    fn a_streamed_custom_tool_call_decodes_its_input() {
        let fragments = [
            "{\"inp",
            "ut\"",
            ": \"pri",
            "nt(\\\"h\\u00",
            "e9\\",
            "\")\\n",
            "# \\ud83d",
            "\\ude00\"",
            "}",
        ];
        let mut evs = vec![StreamEvent::BlockStart {
            index: 0,
            block: BlockStart::ToolUse {
                id: "call_c".into(),
                name: "code_exec".into(),
            },
        }];
        evs.extend(fragments.iter().map(|f| StreamEvent::BlockDelta {
            index: 0,
            delta: Delta::ToolArgs((*f).into()),
        }));
        evs.extend([
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::MessageStop,
        ]);
        let frames = render(&tooled(), evs);
        let terminal = check_stream(&frames);
        let deltas: Vec<&str> = frames
            .iter()
            .filter(|(n, _)| *n == Some("response.custom_tool_call_input.delta"))
            .map(|(_, d)| d["delta"].as_str().unwrap())
            .collect();
        // Streamed as decoded text as the fragments arrive.
        assert_eq!(deltas, ["pri", "nt(\"h", "é", "\")\n", "# ", "😀"]);
        let done = frames
            .iter()
            .find(|(n, _)| *n == Some("response.custom_tool_call_input.done"))
            .unwrap();
        assert_eq!(
            done.1,
            json!({"type": "response.custom_tool_call_input.done", "sequence_number": done.1["sequence_number"],
                   "item_id": "ctc_test_0", "output_index": 0, "input": "print(\"hé\")\n# 😀"})
        );
        assert_eq!(
            terminal["output"][0],
            json!({"type": "custom_tool_call", "id": "ctc_test_0", "status": "completed",
                   "call_id": "call_c", "name": "code_exec", "input": "print(\"hé\")\n# 😀"})
        );
        let resp = answer(
            vec![tool_use(
                "call_c",
                "code_exec",
                json!({"input": "print(\"hé\")\n# 😀"}),
            )],
            StopReason::ToolUse,
        );
        streams_like_the_object(&tooled(), &resp);
        // Arguments of another shape still end right at .done.
        let resp = answer(
            vec![tool_use(
                "call_c",
                "code_exec",
                json!({"code": "x", "input": "y"}),
            )],
            StopReason::ToolUse,
        );
        streams_like_the_object(&tooled(), &resp);
    }

    #[test]
    fn a_streamed_reasoning_and_text_answer() {
        let resp = answer(
            vec![
                thinking("Weigh it.", Some("c2lnbmF0dXJl")),
                ContentBlock::text("Yes."),
            ],
            StopReason::EndTurn,
        );
        let frames = render(&tooled(), events_of(&resp, 100));
        check_stream(&frames);
        assert_eq!(
            names(&frames),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed",
                "[DONE]",
            ]
        );
        assert_eq!(
            frames[2].1["item"],
            json!({"type": "reasoning", "id": "rs_test_0", "status": "in_progress", "summary": []})
        );
        assert_eq!(
            frames[3].1,
            json!({"type": "response.reasoning_summary_part.added", "sequence_number": 3,
                   "item_id": "rs_test_0", "output_index": 0, "summary_index": 0,
                   "part": {"type": "summary_text", "text": ""}})
        );
        assert_eq!(
            frames[4].1,
            json!({"type": "response.reasoning_summary_text.delta", "sequence_number": 4,
                   "item_id": "rs_test_0", "output_index": 0, "summary_index": 0, "delta": "Weigh it."})
        );
        assert_eq!(
            frames[7].1["item"],
            json!({"type": "reasoning", "id": "rs_test_0", "status": "completed",
                   "summary": [{"type": "summary_text", "text": "Weigh it."}],
                   "encrypted_content": "c2lnbmF0dXJl"})
        );
        assert_eq!(frames[8].1["item"]["id"], "msg_test_1");
        assert_eq!(frames[8].1["output_index"], 1);
        streams_like_the_object(&tooled(), &resp);
        // Without `include`, the signature stays out of every event.
        let frames = render(&plain(), events_of(&resp, 100));
        assert!(frames
            .iter()
            .all(|(_, d)| !d.to_string().contains("c2lnbmF0dXJl")));
        streams_like_the_object(&plain(), &resp);
    }

    #[test]
    fn a_truncated_stream_is_incomplete() {
        let resp = answer(
            vec![
                ContentBlock::text("Done."),
                ContentBlock::text("Once upon a"),
            ],
            StopReason::MaxTokens,
        );
        let frames = render(&plain(), events_of(&resp, 100));
        let terminal = check_stream(&frames);
        // Two parts of one message, closed only once the end tells how it ended.
        assert_eq!(
            names(&frames)[2..],
            [
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.incomplete",
                "[DONE]",
            ]
        );
        assert_eq!(frames[9].1["content_index"], 1);
        assert_eq!(frames[11].1["item"]["status"], "incomplete");
        assert_eq!(terminal["status"], "incomplete");
        assert_eq!(
            terminal["incomplete_details"],
            json!({"reason": "max_output_tokens"})
        );
        streams_like_the_object(&plain(), &resp);
        // Cut in a tool call: the text before it is complete, the call not.
        let resp = answer(
            vec![
                ContentBlock::text("Calling."),
                tool_use("c", "get_weather", json!({"city": "Par"})),
            ],
            StopReason::MaxTokens,
        );
        let frames = render(&tooled(), events_of(&resp, 5));
        let terminal = check_stream(&frames);
        assert_eq!(terminal["output"][0]["status"], "completed");
        assert_eq!(terminal["output"][1]["status"], "incomplete");
        streams_like_the_object(&tooled(), &resp);
    }

    #[test]
    fn parallel_calls_end_each_item_when_the_next_starts() {
        let resp = answer(
            vec![
                tool_use("a", "get_weather", json!({"city": "Paris"})),
                tool_use("b", "get_weather", json!({"city": "Rome"})),
            ],
            StopReason::ToolUse,
        );
        let frames = render(&tooled(), events_of(&resp, 100));
        check_stream(&frames);
        let n = names(&frames);
        let first_done = n
            .iter()
            .position(|x| *x == "response.output_item.done")
            .unwrap();
        assert_eq!(n[first_done + 1], "response.output_item.added");
        assert_eq!(frames[first_done].1["output_index"], 0);
        streams_like_the_object(&tooled(), &resp);
    }

    #[test]
    fn a_mid_stream_error_fails_the_response() {
        let evs = vec![
            StreamEvent::MessageStart {
                id: "msg_up".into(),
                usage: usage(7, 0),
            },
            StreamEvent::BlockStart {
                index: 0,
                block: BlockStart::Text,
            },
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::Text("Partial".into()),
            },
            StreamEvent::Error(Error::new(ErrorKind::Upstream, "upstream reset")),
            // Nothing after the end.
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::Text("more".into()),
            },
            StreamEvent::MessageStop,
        ];
        let frames = render(&plain(), evs);
        let terminal = check_stream(&frames);
        assert_eq!(
            names(&frames),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "error",
                "response.failed",
                "[DONE]",
            ]
        );
        assert_eq!(frames[7].1["item"]["status"], "incomplete");
        assert_eq!(
            frames[8].1,
            json!({"type": "error", "sequence_number": 8, "code": "server_error",
                   "message": "upstream reset", "param": null,
                   "error": {"type": "server_error", "code": "server_error",
                             "message": "upstream reset", "param": null}})
        );
        assert_eq!(terminal["status"], "failed");
        assert_eq!(
            terminal["error"],
            json!({"code": "server_error", "message": "upstream reset"})
        );
        assert_eq!(terminal["completed_at"], Value::Null);
        assert_eq!(terminal["output"][0]["content"][0]["text"], "Partial");
        assert_eq!(terminal["usage"]["input_tokens"], 7);
    }

    #[test]
    fn an_error_before_anything_still_starts_and_ends_the_stream() {
        let frames = render(
            &plain(),
            vec![StreamEvent::Error(Error::new(
                ErrorKind::Timeout,
                "no first byte",
            ))],
        );
        let terminal = check_stream(&frames);
        assert_eq!(
            names(&frames),
            [
                "response.created",
                "response.in_progress",
                "error",
                "response.failed",
                "[DONE]"
            ]
        );
        assert_eq!(terminal["output"], json!([]));
        // A bare end is a completed empty answer.
        let frames = render(&plain(), vec![StreamEvent::MessageStop]);
        assert_eq!(check_stream(&frames)["status"], "completed");
    }

    #[test]
    fn stray_and_late_events_are_handled() {
        let evs = vec![
            StreamEvent::Ping,
            // Deltas without a start get one, where the delta says what the block is.
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::Thinking("hmm".into()),
            },
            StreamEvent::BlockDelta {
                index: 1,
                delta: Delta::Text("ok".into()),
            },
            // Tool arguments without their call are dropped.
            StreamEvent::BlockDelta {
                index: 2,
                delta: Delta::ToolArgs("{}".into()),
            },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::Thinking("late".into()),
            },
            StreamEvent::BlockStart {
                index: 1,
                block: BlockStart::Text,
            },
            StreamEvent::BlockStop { index: 7 },
            StreamEvent::MessageDelta {
                stop_reason: Some(StopReason::EndTurn),
                stop_sequence: None,
                usage: usage(1, 2),
            },
            StreamEvent::MessageStop,
        ];
        let frames = render(&plain(), evs);
        let terminal = check_stream(&frames);
        assert_eq!(terminal["output"].as_array().unwrap().len(), 2);
        assert_eq!(terminal["output"][0]["summary"][0]["text"], "hmm");
        assert_eq!(terminal["output"][1]["content"][0]["text"], "ok");
    }

    #[test]
    fn every_answer_streams_into_its_object() {
        let answers = vec![
            answer(vec![], StopReason::EndTurn),
            answer(vec![ContentBlock::text("")], StopReason::EndTurn),
            answer(
                vec![
                    thinking("a", None),
                    thinking("b", Some("s")),
                    ContentBlock::RedactedThinking { data: "r".into() },
                    ContentBlock::text("x"),
                    ContentBlock::text("y"),
                    tool_use("1", "get_weather", json!({"city": "Oslo", "days": [1, 2]})),
                    tool_use("2", "code_exec", json!({"input": "a\"b\\c\u{1}"})),
                    tool_use("3", "code_exec", json!({})),
                    ContentBlock::text("z"),
                ],
                StopReason::ToolUse,
            ),
            answer(vec![thinking("long", None)], StopReason::MaxTokens),
            answer(vec![ContentBlock::text("no")], StopReason::Refusal),
        ];
        for resp in &answers {
            streams_like_the_object(&tooled(), resp);
            streams_like_the_object(&plain(), resp);
        }
    }

    #[test]
    fn the_input_decoder_streams_json_string_text() {
        let cases: Vec<(&str, &str)> = vec![
            (r#"{"input": "plain"}"#, "plain"),
            (
                r#"{ "input" : "a\"b\\c\/d\n\t\r\b\f" }"#,
                "a\"b\\c/d\n\t\r\u{8}\u{c}",
            ),
            (r#"{"input":"\u00e9\ud83d\ude00 ok"}"#, "é😀 ok"),
            // A lone surrogate is replaced.
            (r#"{"input":"\ud83dx"}"#, "\u{fffd}x"),
            // Another shape: nothing streams (the .done event carries the value).
            (r#"{"code": "x", "input": "y"}"#, ""),
            ("[1]", ""),
        ];
        for (json_text, want) in cases {
            // Whole, and one character at a time.
            let mut d = InputDecoder::default();
            assert_eq!(d.feed(json_text), want, "{json_text}");
            let mut d = InputDecoder::default();
            let mut got = String::new();
            for c in json_text.chars() {
                got.push_str(&d.feed(&c.to_string()));
            }
            assert_eq!(got, want, "{json_text} char by char");
        }
        // Text after the closing quote is ignored.
        let mut d = InputDecoder::default();
        assert_eq!(d.feed(r#"{"input": "a"}"#), "a");
        assert_eq!(d.feed(r#" "more""#), "");
    }
}
