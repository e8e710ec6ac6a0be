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
    StreamEvent, Usage, REDACTED_PREFIX,
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
    },
    CustomToolCall {
        id: String,
        status: Status,
        call_id: String,
        name: String,
        input: String,
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
    encrypted: bool,
}

/// `text.format` as the response object writes it.
fn format_value(f: Option<&ResponseFormat>) -> Value {
    match f {
        None | Some(ResponseFormat::Text) => json!({"type": "text"}),
        Some(ResponseFormat::JsonObject) => json!({"type": "json_object"}),
        Some(ResponseFormat::JsonSchema {
            name,
            description,
            schema,
            strict,
        }) => json!({
            "type": "json_schema",
            "description": description,
            "name": name,
            "schema": schema,
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
fn items_of(custom_tools: &BTreeSet<String>, resp: &ChatResponse, id: &str) -> Vec<Item> {
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
            ContentBlock::Image { .. } | ContentBlock::ToolResult { .. } => continue,
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
        items: items_of(&req.custom_tools, resp, id),
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
    items_of(&req.custom_tools, resp, id)
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
        self.echo.body(&self.id, self.created_at, state).serialize(s)
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
                let item = if custom {
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
            ) => encrypted_content.get_or_insert_with(String::new).push_str(&sig),
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
