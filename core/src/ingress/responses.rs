//! OpenAI Responses API request (POST /v1/responses, and the WebSocket
//! `response.create` message) parsed and validated into a `ResponsesRequest`:
//! the canonical `ChatRequest` plus what only the Responses shape echoes back
//! or acts on. Follows the Open Responses specification and accepts what the
//! OpenAI SDKs send.
//!
//! Choices made where the API leaves room:
//! - `input` as a string is one user message item; an item with no `type` but a
//!   `role` is a message, one with neither but an `id` an `item_reference`;
//! - `instructions` comes first in `ChatRequest.system`, then every system and
//!   developer message wherever it stands (the canonical model has one system
//!   slot, as the Chat Completions ingress does too);
//! - consecutive items of the same canonical role merge into one message, and a
//!   tool output joining a user turn goes before that turn's other blocks, as
//!   Anthropic needs; `phase`, `status` and item `id`s are accepted and dropped;
//! - `function_call` and `custom_tool_call` become ToolUse blocks with `call_id`
//!   as the id, verbatim; a custom call's input string is `{"input": "..."}`;
//!   their outputs become ToolResult blocks, and an output answering no earlier
//!   call is a 400 naming `input.N.call_id` (as OpenAI, and the Open Responses
//!   compliance suite, expect);
//! - `reasoning` items become Thinking blocks: the summary texts (else the
//!   `content` texts) joined by blank lines as the thinking, `encrypted_content`
//!   as the signature; one that egress made from a redacted thinking block
//!   (`REDACTED_PREFIX`) becomes RedactedThinking again;
//! - `compaction` items made by `compaction_content` become a user text block
//!   holding their summary; any other `encrypted_content` there is a 400;
//! - `custom` tools become a function of one string argument `input` (a grammar
//!   `format` is appended to the description: the gateway cannot enforce it);
//!   built-in tools (web search, file search, computer use, MCP, code
//!   interpreter, shell, image generation...) are a 400 naming `tools.N.type`;
//! - `tool_choice.allowed_tools` narrows `ChatRequest.tools` to the allowed
//!   tools, so no upstream can call another one (the echo keeps them all);
//! - `reasoning` (effort, summary), `include`, `truncation`, `store`, `metadata`
//!   and the other settings are kept in the `ResponsesRequest` for the response
//!   object; `max_output_tokens` is `max_tokens` (at least 1: the spec's minimum
//!   of 16 is OpenAI's own); `safety_identifier`, else `user`, is `ChatRequest.user`;
//! - `background: true`, `conversation` and `prompt` are refused: the gateway
//!   runs neither background responses, conversations nor stored prompts;
//! - `input_image.file_id` and `input_file` other than an inline text file are
//!   400s naming the field (there are no Files API and no document block yet);
//!   an inline `text/*` (or JSON, XML) `file_data` becomes its text;
//! - unknown top-level fields are kept in `ResponsesRequest.unknown`, never sent
//!   upstream.

use std::collections::HashSet;

use base64::engine::{general_purpose, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use serde_json::{json, Value};

use super::openai::{image_source, parameters, parse_response_format, valid_tool_name};
use super::path::{join, type_name};
use super::Fields;
use crate::canonical::{
    ChatRequest, ContentBlock, ItemReference, Message, ReasoningConfig, ResponsesRequest, Role,
    Tool, ToolChoice, REDACTED_PREFIX,
};
use crate::{Error, ErrorKind, Result};

/// Top-level fields read into the request; every other key goes to `unknown`.
const KNOWN: &[&str] = &[
    "model",
    "input",
    "instructions",
    "previous_response_id",
    "store",
    "metadata",
    "include",
    "truncation",
    "text",
    "reasoning",
    "max_output_tokens",
    "max_tool_calls",
    "parallel_tool_calls",
    "tool_choice",
    "tools",
    "prompt_cache_key",
    "safety_identifier",
    "user",
    "service_tier",
    "background",
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "top_logprobs",
];

const ITEM_TYPES: &[&str] = &[
    "message",
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
    "reasoning",
    "item_reference",
    "compaction",
];

/// Items of OpenAI's hosted tools: they only come from tools the gateway refuses.
const BUILT_IN_ITEMS: &[&str] = &[
    "file_search_call",
    "web_search_call",
    "computer_call",
    "computer_call_output",
    "image_generation_call",
    "code_interpreter_call",
    "local_shell_call",
    "local_shell_call_output",
    "shell_call",
    "shell_call_output",
    "apply_patch_call",
    "apply_patch_call_output",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
    "mcp_call",
    "tool_search_call",
    "tool_search_output",
    "additional_tools",
    "program",
    "program_output",
    "compaction_trigger",
];

/// OpenAI's hosted tools (as `tools[].type` and `tool_choice.type`).
const BUILT_IN_TOOLS: &[&str] = &[
    "web_search",
    "web_search_2025_08_26",
    "web_search_preview",
    "web_search_preview_2025_03_11",
    "file_search",
    "code_interpreter",
    "computer",
    "computer_use",
    "computer_use_preview",
    "mcp",
    "image_generation",
    "local_shell",
    "shell",
    "apply_patch",
    "tool_search",
    "namespace",
    "programmatic_tool_calling",
];

const INCLUDABLE: &[&str] = &[
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
    "message.input_image.image_url",
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
];

const EFFORTS: &[&str] = &["none", "minimal", "low", "medium", "high", "xhigh"];
const SUMMARIES: &[&str] = &["auto", "concise", "detailed"];
const SERVICE_TIERS: &[&str] = &["auto", "default", "flex", "scale", "priority"];

const MAX_METADATA_KEYS: usize = 16;
const MAX_METADATA_KEY_CHARS: usize = 64;
const MAX_METADATA_VALUE_CHARS: usize = 512;
const MAX_TOP_LOGPROBS: u32 = 20;

/// How `compaction_content` marks the `encrypted_content` of a compaction item.
const COMPACTION_PREFIX: &str = "mws-compaction-v1:";

/// Standard base64, padded or not.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The input schema of a canonical tool made from a `custom` tool.
pub fn custom_tool_schema() -> Value {
    json!({"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]})
}

/// The `encrypted_content` of a `compaction` item carrying `summary`: what
/// POST /v1/responses/compact puts in its output. Given back as input, the
/// item becomes a user text block holding `summary`.
pub fn compaction_content(summary: &str) -> String {
    format!(
        "{COMPACTION_PREFIX}{}",
        general_purpose::STANDARD.encode(summary)
    )
}

/// The summary a `compaction_content` string carries; `None` for anything else.
pub fn compaction_summary(content: &str) -> Option<String> {
    let data = content.strip_prefix(COMPACTION_PREFIX)?;
    String::from_utf8(BASE64.decode(data).ok()?).ok()
}

/// The error for a `previous_response_id` that names no response the caller
/// can see (another account's, expired, or a `store: false` one off its
/// WebSocket): kind NotFound with status 400 and param `previous_response_id`,
/// which `egress::responses` renders with code `previous_response_not_found`,
/// as OpenAI and Open Responses do.
pub fn previous_response_not_found(id: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("Previous response with id '{id}' not found."),
    )
    .with_param("previous_response_id")
    .with_status(400)
}

/// Parses and validates a Responses API request body. When the result
/// `needs_context()` (a `previous_response_id` or `item_reference` items), its
/// `chat` holds only this body's items and the caller completes it with
/// `build_chat`; otherwise `chat` is complete.
pub fn parse_responses(body: &Value) -> Result<ResponsesRequest> {
    let f = Fields::of(body, "")?;
    let mut r = ResponsesRequest::new(f.req_str("model")?);

    for (key, why) in [
        (
            "conversation",
            "conversations are not supported; use previous_response_id",
        ),
        (
            "prompt",
            "stored prompt templates are not supported; send instructions and input",
        ),
    ] {
        if f.get(key).is_some() {
            return Err(Error::invalid_field(key, why));
        }
    }
    if f.bool("background")? == Some(true) {
        return Err(Error::invalid_field(
            "background",
            "background responses are not supported; use stream: true for long answers",
        ));
    }

    r.stream = f.bool("stream")?.unwrap_or(false);
    r.chat.stream = r.stream;
    let mut opts_path = String::new();
    if let Some(opts) = f.object("stream_options", &mut opts_path)? {
        r.include_obfuscation = opts.bool("include_obfuscation")?.unwrap_or(false);
    }
    r.store = f.bool("store")?.unwrap_or(true);
    r.previous_response_id = f.str("previous_response_id")?.map(str::to_owned);
    r.instructions = f.str("instructions")?.map(str::to_owned);
    parse_metadata(&f, &mut r)?;
    parse_include(&f, &mut r)?;
    r.truncation = f
        .one_of("truncation", &["auto", "disabled"])?
        .map(str::to_owned);
    parse_text(&f, &mut r)?;
    parse_reasoning(&f, &mut r)?;

    r.max_output_tokens = positive(&f, "max_output_tokens")?;
    r.chat.max_tokens = r.max_output_tokens;
    r.max_tool_calls = positive(&f, "max_tool_calls")?;
    r.parallel_tool_calls = f.bool("parallel_tool_calls")?;
    r.chat.parallel_tool_calls = r.parallel_tool_calls;
    r.temperature = f.f64_in("temperature", 0.0, 2.0)?;
    r.chat.temperature = r.temperature;
    r.top_p = f.f64_in("top_p", 0.0, 1.0)?;
    r.chat.top_p = r.top_p;
    r.presence_penalty = f.f64_in("presence_penalty", -2.0, 2.0)?;
    r.frequency_penalty = f.f64_in("frequency_penalty", -2.0, 2.0)?;
    r.top_logprobs = match f.u32("top_logprobs")? {
        Some(n) if n > MAX_TOP_LOGPROBS => {
            return Err(Error::invalid_field(
                "top_logprobs",
                format!("expected an integer between 0 and {MAX_TOP_LOGPROBS}, got {n}"),
            ))
        }
        other => other,
    };
    r.user = f.str("user")?.map(str::to_owned);
    r.safety_identifier = f.str("safety_identifier")?.map(str::to_owned);
    r.chat.user = r.safety_identifier.clone().or_else(|| r.user.clone());
    r.prompt_cache_key = f.str("prompt_cache_key")?.map(str::to_owned);
    r.service_tier = f.one_of("service_tier", SERVICE_TIERS)?.map(str::to_owned);

    parse_tools(&f, &mut r)?;
    parse_tool_choice(&f, &mut r)?;
    parse_input(&f, &mut r)?;

    if let Some(instructions) = &r.instructions {
        r.chat.system.push(ContentBlock::text(instructions.as_str()));
    }
    // Without the previous response or the referenced items, tool outputs may
    // answer calls this body does not hold: pairing waits for `build_chat`.
    let paired = !r.needs_context();
    let mut conv = Converter::new(&mut r.chat, paired, true);
    conv.items(r.input.iter().enumerate(), "input")?;

    for (key, value) in f.obj {
        if !KNOWN.contains(&key.as_str()) {
            r.unknown.insert(key.clone(), value.clone());
        }
    }
    Ok(r)
}

/// Completes `req.chat` when `req.needs_context()`: rebuilds its system and
/// messages from `instructions`, then `history` (the stored input items and
/// output items of the previous response chain, oldest first, as
/// `previous_response.input ++ previous_response.output`), then `req.input`
/// with every `item_reference` replaced by what `resolve` gives for its id.
/// An id `resolve` does not know is a 400 naming `input.N.id`; a tool output
/// answering no call of the whole conversation, one naming `input.N.call_id`.
/// Returns the input with the references resolved: what to store as this
/// response's input items.
pub fn build_chat(
    req: &mut ResponsesRequest,
    history: &[Value],
    resolve: impl FnMut(&str) -> Option<Value>,
) -> Result<Vec<Value>> {
    let input = resolve_references(req, resolve)?;
    let chat = &mut req.chat;
    chat.system.clear();
    chat.messages.clear();
    if let Some(instructions) = &req.instructions {
        chat.system.push(ContentBlock::text(instructions.as_str()));
    }
    let mut conv = Converter::new(chat, true, false);
    conv.items(history.iter().enumerate(), "previous_response_id")?;
    conv.items(input.iter().enumerate(), "input")?;
    Ok(input)
}

/// `req.input` with each `item_reference` replaced by the item `resolve` finds
/// for its id (which must not be a reference itself).
pub fn resolve_references(
    req: &ResponsesRequest,
    mut resolve: impl FnMut(&str) -> Option<Value>,
) -> Result<Vec<Value>> {
    let mut input = req.input.clone();
    for ItemReference { index, id } in &req.item_references {
        let path = join(&join("input", index), "id");
        let item = resolve(id)
            .ok_or_else(|| Error::invalid_field(&path, format!("item {id:?} not found")))?;
        if is_reference(&item) {
            return Err(Error::invalid_field(
                path,
                format!("item {id:?} is itself an item reference"),
            ));
        }
        if let Some(slot) = input.get_mut(*index) {
            *slot = item;
        }
    }
    Ok(input)
}

/// Appends Responses input items (`path` names them in errors, as `input`) to
/// `req`: system and developer messages to `req.system`, the others merged into
/// `req.messages`. Tool outputs must answer a call made earlier in `req` or in
/// `items`; `item_reference` items must have been resolved (`resolve_references`).
pub fn items_to_messages(items: &[Value], path: &str, req: &mut ChatRequest) -> Result<()> {
    Converter::new(req, true, false).items(items.iter().enumerate(), path)
}

fn is_reference(item: &Value) -> bool {
    Fields::of(item, "")
        .and_then(|f| item_type(&f))
        .is_ok_and(|t| t == "item_reference")
}

/// An optional integer of at least 1.
fn positive(f: &Fields, key: &str) -> Result<Option<u32>> {
    match f.u32(key)? {
        Some(0) => Err(Error::invalid_field(key, "expected an integer >= 1, got 0")),
        other => Ok(other),
    }
}

fn parse_metadata(f: &Fields, r: &mut ResponsesRequest) -> Result<()> {
    let mut path = String::new();
    let Some(m) = f.object("metadata", &mut path)? else {
        return Ok(());
    };
    if m.obj.len() > MAX_METADATA_KEYS {
        return Err(Error::invalid_field(
            "metadata",
            format!(
                "expected at most {MAX_METADATA_KEYS} keys, got {}",
                m.obj.len()
            ),
        ));
    }
    for (key, value) in m.obj {
        let key_path = m.path_of(key);
        if key.chars().count() > MAX_METADATA_KEY_CHARS {
            return Err(Error::invalid_field(
                key_path,
                format!("keys are at most {MAX_METADATA_KEY_CHARS} characters"),
            ));
        }
        match value {
            Value::String(s) if s.chars().count() > MAX_METADATA_VALUE_CHARS => {
                return Err(Error::invalid_field(
                    key_path,
                    format!("values are at most {MAX_METADATA_VALUE_CHARS} characters"),
                ))
            }
            Value::String(_) => {}
            other => {
                return Err(Error::invalid_field(
                    key_path,
                    format!("expected a string, got {}", type_name(other)),
                ))
            }
        }
    }
    r.metadata = Some(m.obj.clone());
    Ok(())
}

fn parse_include(f: &Fields, r: &mut ResponsesRequest) -> Result<()> {
    let Some(items) = f.array("include")? else {
        return Ok(());
    };
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::String(s) if INCLUDABLE.contains(&s.as_str()) => r.include.push(s.clone()),
            Value::String(s) => {
                return Err(Error::invalid_field(
                    join("include", i),
                    format!("expected one of {}, got {s:?}", INCLUDABLE.join(", ")),
                ))
            }
            other => {
                return Err(Error::invalid_field(
                    join("include", i),
                    format!("expected a string, got {}", type_name(other)),
                ))
            }
        }
    }
    Ok(())
}

fn parse_text(f: &Fields, r: &mut ResponsesRequest) -> Result<()> {
    let mut path = String::new();
    let Some(text) = f.object("text", &mut path)? else {
        return Ok(());
    };
    let mut format_path = String::new();
    if let Some(format) = text.object("format", &mut format_path)? {
        r.chat.response_format = Some(parse_response_format(&format)?);
    }
    r.verbosity = text
        .one_of("verbosity", &["low", "medium", "high"])?
        .map(str::to_owned);
    Ok(())
}

fn parse_reasoning(f: &Fields, r: &mut ResponsesRequest) -> Result<()> {
    let mut path = String::new();
    let Some(g) = f.object("reasoning", &mut path)? else {
        return Ok(());
    };
    let effort = g.one_of("effort", EFFORTS)?.map(str::to_owned);
    // `generate_summary` is the older name of `summary`.
    let older = g.one_of("generate_summary", SUMMARIES)?;
    let summary = g.one_of("summary", SUMMARIES)?.or(older).map(str::to_owned);
    r.reasoning = Some(ReasoningConfig { effort, summary });
    Ok(())
}

fn tool_name(t: &Fields) -> Result<String> {
    let name = t.req_str("name")?;
    if !valid_tool_name(name) {
        return Err(Error::invalid_field(
            t.path_of("name"),
            format!("expected 1 to 64 characters among a-z, A-Z, 0-9, _ and -, got {name:?}"),
        ));
    }
    Ok(name.to_owned())
}

fn parse_tools(f: &Fields, r: &mut ResponsesRequest) -> Result<()> {
    let Some(tools) = f.array("tools")? else {
        return Ok(());
    };
    let mut names = HashSet::new();
    for (i, tool) in tools.iter().enumerate() {
        let path = join("tools", i);
        let t = Fields::of(tool, &path)?;
        let cache_control = t.get("cache_control").cloned();
        let canonical = match t.req_str("type")? {
            "function" => {
                t.bool("strict")?;
                Tool {
                    name: tool_name(&t)?,
                    description: t.str("description")?.map(str::to_owned),
                    input_schema: parameters(&t)?,
                    cache_control,
                }
            }
            "custom" => {
                let name = tool_name(&t)?;
                r.custom_tools.insert(name.clone());
                Tool {
                    name,
                    description: custom_description(&t)?,
                    input_schema: custom_tool_schema(),
                    cache_control,
                }
            }
            other if BUILT_IN_TOOLS.contains(&other) => {
                return Err(Error::invalid_field(
                    t.path_of("type"),
                    format!(
                        "built-in tool {other:?} is not supported: only function and custom tools are"
                    ),
                ))
            }
            other => {
                return Err(Error::invalid_field(
                    t.path_of("type"),
                    format!("expected one of function, custom, got {other:?}"),
                ))
            }
        };
        if !names.insert(canonical.name.clone()) {
            return Err(Error::invalid_field(
                t.path_of("name"),
                format!("tool name {:?} is used twice", canonical.name),
            ));
        }
        r.chat.tools.push(canonical);
    }
    r.tools = tools.clone();
    Ok(())
}

/// A custom tool's description, with its grammar (which only the model can
/// honour) appended.
fn custom_description(t: &Fields) -> Result<Option<String>> {
    let description = t.str("description")?;
    let mut path = String::new();
    let Some(format) = t.object("format", &mut path)? else {
        return Ok(description.map(str::to_owned));
    };
    match format.one_of("type", &["text", "grammar"])? {
        Some("grammar") => {
            let syntax = format
                .one_of("syntax", &["lark", "regex"])?
                .ok_or_else(|| format.missing("syntax"))?;
            let definition = format.req_str("definition")?;
            let rule = format!("The input must follow this {syntax} grammar:\n{definition}");
            Ok(Some(match description {
                Some(d) if !d.is_empty() => format!("{d}\n\n{rule}"),
                _ => rule,
            }))
        }
        Some(_) => Ok(description.map(str::to_owned)),
        None => Err(format.missing("type")),
    }
}

fn parse_tool_choice(f: &Fields, r: &mut ResponsesRequest) -> Result<()> {
    let Some(v) = f.get("tool_choice") else {
        return Ok(());
    };
    r.tool_choice = Some(v.clone());
    let choice = match v {
        Value::String(s) => match s.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Any,
            other => {
                return Err(Error::invalid_field(
                    "tool_choice",
                    format!("expected one of auto, none, required or an object, got {other:?}"),
                ))
            }
        },
        Value::Object(_) => {
            let c = Fields::of(v, "tool_choice")?;
            match c.req_str("type")? {
                kind @ ("function" | "custom") => {
                    let name = c.req_str("name")?;
                    check_tool(r, kind, name, c.path_of("name"))?;
                    ToolChoice::Tool(name.to_owned())
                }
                "allowed_tools" => allowed_tools(&c, r)?,
                other if BUILT_IN_TOOLS.contains(&other) => {
                    return Err(Error::invalid_field(
                        c.path_of("type"),
                        format!("built-in tool {other:?} is not supported"),
                    ))
                }
                other => {
                    return Err(Error::invalid_field(
                        c.path_of("type"),
                        format!("expected one of function, custom, allowed_tools, got {other:?}"),
                    ))
                }
            }
        }
        other => {
            return Err(Error::invalid_field(
                "tool_choice",
                format!("expected a string or an object, got {}", type_name(other)),
            ))
        }
    };
    r.chat.tool_choice = Some(choice);
    Ok(())
}

/// `name` must be a tool of `kind` (function or custom) among `tools`.
fn check_tool(r: &ResponsesRequest, kind: &str, name: &str, path: String) -> Result<()> {
    let custom = r.custom_tools.contains(name);
    let found = r.chat.tools.iter().any(|t| t.name == name) && (custom == (kind == "custom"));
    if found {
        Ok(())
    } else {
        Err(Error::invalid_field(
            path,
            format!("no {kind} tool named {name:?} in tools"),
        ))
    }
}

/// `{"type": "allowed_tools", "mode", "tools": [{type, name}]}`: the tools the
/// upstream may call are narrowed to these.
fn allowed_tools(c: &Fields, r: &mut ResponsesRequest) -> Result<ToolChoice> {
    let mode = c
        .one_of("mode", &["none", "auto", "required"])?
        .unwrap_or("auto");
    let list = c.req_array("tools")?;
    let base = c.path_of("tools");
    if list.is_empty() {
        return Err(Error::invalid_field(
            base,
            "expected at least one tool, got an empty array",
        ));
    }
    let mut allowed = Vec::with_capacity(list.len());
    for (j, t) in list.iter().enumerate() {
        let path = join(&base, j);
        let t = Fields::of(t, &path)?;
        let kind = match t.req_str("type")? {
            kind @ ("function" | "custom") => kind,
            other => {
                return Err(Error::invalid_field(
                    t.path_of("type"),
                    format!("expected one of function, custom, got {other:?}"),
                ))
            }
        };
        let name = t.req_str("name")?;
        check_tool(r, kind, name, t.path_of("name"))?;
        allowed.push(name.to_owned());
    }
    r.chat.tools.retain(|t| allowed.contains(&t.name));
    let choice = match mode {
        "none" => ToolChoice::None,
        "required" if allowed.len() == 1 => ToolChoice::Tool(allowed[0].clone()),
        "required" => ToolChoice::Any,
        _ => ToolChoice::Auto,
    };
    r.allowed_tools = Some(allowed);
    Ok(choice)
}

/// `input` as items (a string is one user message), item references recorded.
fn parse_input(f: &Fields, r: &mut ResponsesRequest) -> Result<()> {
    r.input = match f.get("input") {
        None if r.previous_response_id.is_some() => Vec::new(),
        None => return Err(f.missing("input")),
        Some(Value::String(s)) => vec![json!({"type": "message", "role": "user", "content": s})],
        Some(Value::Array(items)) => items.clone(),
        Some(v) => {
            return Err(Error::invalid_field(
                "input",
                format!("expected a string or an array of items, got {}", type_name(v)),
            ))
        }
    };
    if r.input.is_empty() && r.previous_response_id.is_none() {
        return Err(Error::invalid_field(
            "input",
            "expected at least one item, got an empty array",
        ));
    }
    for (i, item) in r.input.iter().enumerate() {
        let path = join("input", i);
        let it = Fields::of(item, &path)?;
        if item_type(&it)? == "item_reference" {
            r.item_references.push(ItemReference {
                index: i,
                id: it.req_str("id")?.to_owned(),
            });
        }
    }
    Ok(())
}

/// An item's `type`; OpenAI's easy messages have none but a `role`, and an
/// item reference's `type` is optional.
fn item_type<'a>(it: &Fields<'a>) -> Result<&'a str> {
    match it.str("type")? {
        Some(t) => Ok(t),
        None if it.get("role").is_some() => Ok("message"),
        None if it.get("id").is_some() => Ok("item_reference"),
        None => Err(it.missing("type")),
    }
}

/// Which content parts a message role accepts.
#[derive(Clone, Copy, PartialEq)]
enum PartKind {
    /// system and developer messages.
    Text,
    /// user messages and tool outputs.
    User,
    Assistant,
}

impl PartKind {
    fn allowed(self) -> &'static [&'static str] {
        match self {
            PartKind::Text => &["input_text"],
            PartKind::User => &["input_text", "input_image", "input_file"],
            PartKind::Assistant => &["output_text", "refusal", "input_text"],
        }
    }
}

/// Turns items into canonical messages, pairing tool outputs with calls.
struct Converter<'r> {
    req: &'r mut ChatRequest,
    /// The call ids seen so far; `None` when outputs are not checked.
    calls: Option<HashSet<String>>,
    /// Whether `item_reference` items are skipped (else they are an error).
    skip_references: bool,
}

impl<'r> Converter<'r> {
    fn new(req: &'r mut ChatRequest, paired: bool, skip_references: bool) -> Self {
        let calls = paired.then(|| {
            req.messages
                .iter()
                .flat_map(|m| &m.content)
                .filter_map(|b| match b {
                    ContentBlock::ToolUse { id, .. } => Some(id.clone()),
                    _ => None,
                })
                .collect()
        });
        Converter {
            req,
            calls,
            skip_references,
        }
    }

    fn items<'v>(
        &mut self,
        items: impl Iterator<Item = (usize, &'v Value)>,
        base: &str,
    ) -> Result<()> {
        for (i, item) in items {
            self.item(item, &join(base, i))?;
        }
        Ok(())
    }

    fn item(&mut self, item: &Value, path: &str) -> Result<()> {
        let it = Fields::of(item, path)?;
        // Ids and statuses of items are accepted (and dropped) when well typed.
        it.str("status")?;
        match item_type(&it)? {
            "message" => self.message(&it),
            "function_call" => {
                it.str("id")?;
                let call_id = it.req_str("call_id")?;
                let name = it.req_str("name")?;
                let input = arguments(&it)?;
                self.call(call_id, name, input);
                Ok(())
            }
            "custom_tool_call" => {
                it.str("id")?;
                let call_id = it.req_str("call_id")?;
                let name = it.req_str("name")?;
                let input = it.req_str("input")?;
                self.call(call_id, name, json!({ "input": input }));
                Ok(())
            }
            "function_call_output" | "custom_tool_call_output" => self.output(&it),
            "reasoning" => self.reasoning(&it),
            "compaction" => {
                it.str("id")?;
                let content = it.req_str("encrypted_content")?;
                let summary = compaction_summary(content).ok_or_else(|| {
                    Error::invalid_field(
                        it.path_of("encrypted_content"),
                        "not a compaction this gateway made (POST /v1/responses/compact)",
                    )
                })?;
                push(
                    &mut self.req.messages,
                    Role::User,
                    vec![ContentBlock::text(summary)],
                );
                Ok(())
            }
            "item_reference" => {
                it.req_str("id")?;
                if self.skip_references {
                    Ok(())
                } else {
                    Err(Error::invalid_field(
                        it.path_of("id"),
                        "item references must be resolved against stored items first",
                    ))
                }
            }
            other if BUILT_IN_ITEMS.contains(&other) => Err(Error::invalid_field(
                it.path_of("type"),
                format!("{other:?} items belong to built-in tools, which are not supported"),
            )),
            other => Err(Error::invalid_field(
                it.path_of("type"),
                format!("expected one of {}, got {other:?}", ITEM_TYPES.join(", ")),
            )),
        }
    }

    fn message(&mut self, it: &Fields) -> Result<()> {
        it.str("id")?;
        it.one_of("phase", &["commentary", "final_answer"])?;
        let role = it
            .one_of("role", &["user", "assistant", "system", "developer"])?
            .ok_or_else(|| it.missing("role"))?;
        let kind = match role {
            "user" => PartKind::User,
            "assistant" => PartKind::Assistant,
            _ => PartKind::Text,
        };
        let blocks = content_blocks(it, "content", kind)?.ok_or_else(|| it.missing("content"))?;
        match role {
            "user" => push(&mut self.req.messages, Role::User, blocks),
            "assistant" => push(
                &mut self.req.messages,
                Role::Assistant,
                non_empty(blocks).collect(),
            ),
            _ => self.req.system.extend(non_empty(blocks)),
        }
        Ok(())
    }

    fn call(&mut self, call_id: &str, name: &str, input: Value) {
        if let Some(calls) = &mut self.calls {
            calls.insert(call_id.to_owned());
        }
        let block = ContentBlock::ToolUse {
            id: call_id.to_owned(),
            name: name.to_owned(),
            input,
            cache_control: None,
        };
        push(&mut self.req.messages, Role::Assistant, vec![block]);
    }

    fn output(&mut self, it: &Fields) -> Result<()> {
        it.str("id")?;
        let call_id = it.req_str("call_id")?;
        if let Some(calls) = &self.calls {
            if !calls.contains(call_id) {
                return Err(Error::invalid_field(
                    it.path_of("call_id"),
                    format!("no tool call found for output with call_id {call_id:?}"),
                ));
            }
        }
        let content =
            content_blocks(it, "output", PartKind::User)?.ok_or_else(|| it.missing("output"))?;
        let block = ContentBlock::ToolResult {
            tool_use_id: call_id.to_owned(),
            content: non_empty(content).collect(),
            is_error: false,
            cache_control: None,
        };
        push(&mut self.req.messages, Role::User, vec![block]);
        Ok(())
    }

    fn reasoning(&mut self, it: &Fields) -> Result<()> {
        it.str("id")?;
        let summary = texts(it, "summary", "summary_text")?;
        let thinking = if summary.is_empty() {
            texts(it, "content", "reasoning_text")?
        } else {
            summary
        }
        .join("\n\n");
        let block = match it.str("encrypted_content")? {
            Some(e) => match e.strip_prefix(REDACTED_PREFIX) {
                Some(data) => ContentBlock::RedactedThinking {
                    data: data.to_owned(),
                },
                None => ContentBlock::Thinking {
                    thinking,
                    signature: Some(e.to_owned()),
                },
            },
            // Nothing to replay.
            None if thinking.is_empty() => return Ok(()),
            None => ContentBlock::Thinking {
                thinking,
                signature: None,
            },
        };
        push(&mut self.req.messages, Role::Assistant, vec![block]);
        Ok(())
    }
}

/// The `text` of each part of `it[key]` (parts of type `ty`, or `text`).
fn texts(it: &Fields, key: &str, ty: &str) -> Result<Vec<String>> {
    let Some(parts) = it.array(key)? else {
        return Ok(Vec::new());
    };
    let base = it.path_of(key);
    let mut out = Vec::with_capacity(parts.len());
    for (j, part) in parts.iter().enumerate() {
        let path = join(&base, j);
        let p = Fields::of(part, &path)?;
        p.one_of("type", &[ty, "text"])?;
        out.push(p.req_str("text")?.to_owned());
    }
    Ok(out)
}

/// A function call's `arguments`: a JSON object encoded as a string (some
/// clients send it decoded; an empty string is no arguments).
fn arguments(it: &Fields) -> Result<Value> {
    let path = it.path_of("arguments");
    let input = match it.get("arguments") {
        None => return Err(it.missing("arguments")),
        Some(Value::String(s)) if s.trim().is_empty() => json!({}),
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|e| {
            Error::invalid_field(
                &path,
                format!("expected a JSON object encoded as a string, got invalid JSON ({e})"),
            )
        })?,
        Some(v @ Value::Object(_)) => v.clone(),
        Some(v) => {
            return Err(Error::invalid_field(
                path,
                format!("expected a string, got {}", type_name(v)),
            ))
        }
    };
    if !input.is_object() {
        return Err(Error::invalid_field(
            path,
            format!("expected a JSON object, got {}", type_name(&input)),
        ));
    }
    Ok(input)
}

/// `it[key]` as a string or an array of parts; `None` when absent.
fn content_blocks(it: &Fields, key: &str, kind: PartKind) -> Result<Option<Vec<ContentBlock>>> {
    match it.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![ContentBlock::text(s.as_str())])),
        Some(Value::Array(parts)) => {
            let base = it.path_of(key);
            parts
                .iter()
                .enumerate()
                .map(|(j, part)| content_part(part, &join(&base, j), kind))
                .collect::<Result<Vec<_>>>()
                .map(Some)
        }
        Some(v) => Err(Error::invalid_field(
            it.path_of(key),
            format!(
                "expected a string or an array of content parts, got {}",
                type_name(v)
            ),
        )),
    }
}

fn content_part(part: &Value, path: &str, kind: PartKind) -> Result<ContentBlock> {
    let p = Fields::of(part, path)?;
    let ty = p.req_str("type")?;
    let cache_control = p.get("cache_control").cloned();
    match (kind, ty) {
        (_, "input_text") | (PartKind::Assistant, "output_text") => Ok(ContentBlock::Text {
            text: p.req_str("text")?.to_owned(),
            cache_control,
        }),
        // A refusal the model gave earlier is replayed as what it said.
        (PartKind::Assistant, "refusal") => Ok(ContentBlock::Text {
            text: p.req_str("refusal")?.to_owned(),
            cache_control,
        }),
        (PartKind::User, "input_image") => {
            p.str("detail")?;
            if p.get("file_id").is_some() {
                return Err(Error::invalid_field(
                    p.path_of("file_id"),
                    "file ids are not supported; send the image as image_url (an http(s) URL or a data URL)",
                ));
            }
            if p.get("image_url").is_none() {
                return Err(p.missing("image_url"));
            }
            Ok(ContentBlock::Image {
                source: image_source(&p)?,
                cache_control,
            })
        }
        (PartKind::User, "input_file") => input_file(&p),
        (_, other) => Err(Error::invalid_field(
            p.path_of("type"),
            format!(
                "expected one of {}, got {other:?}",
                kind.allowed().join(", ")
            ),
        )),
    }
}

/// Media types read as text when a file comes inline.
fn is_text_media(media_type: &str) -> bool {
    media_type.starts_with("text/")
        || matches!(
            media_type,
            "application/json" | "application/xml" | "application/x-yaml" | "application/yaml"
        )
}

/// An `input_file`: an inline text file becomes its text; any other file is a
/// 400 naming the field that carries it.
fn input_file(p: &Fields) -> Result<ContentBlock> {
    p.str("filename")?;
    if let Some(data_url) = p.str("file_data")? {
        let path = p.path_of("file_data");
        let parsed = data_url.strip_prefix("data:").and_then(|rest| {
            let (meta, data) = rest.split_once(',')?;
            let meta = meta.strip_suffix(";base64")?;
            Some((meta.split(';').next().unwrap_or_default(), data))
        });
        let Some((media_type, data)) = parsed else {
            return Err(Error::invalid_field(
                path,
                "expected a data URL of the form data:<media type>;base64,<data>",
            ));
        };
        if !is_text_media(media_type) {
            return Err(Error::invalid_field(
                path,
                format!("documents are not supported yet ({media_type}); only text files are, and they are read as text"),
            ));
        }
        let bytes = BASE64
            .decode(data.trim())
            .map_err(|_| Error::invalid_field(&path, "expected base64 data after ;base64,"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::invalid_field(&path, "expected UTF-8 text in a text file"))?;
        return Ok(ContentBlock::text(text));
    }
    for key in ["file_url", "file_id"] {
        if p.get(key).is_some() {
            return Err(Error::invalid_field(
                p.path_of(key),
                "documents are not supported yet; send a text file inline as file_data",
            ));
        }
    }
    Err(p.missing("file_data"))
}

/// Appends blocks to the last message when it has the same role, else starts a
/// new one; a tool result joining a user turn goes after its other tool results
/// and before the rest. An empty block list adds nothing.
fn push(messages: &mut Vec<Message>, role: Role, content: Vec<ContentBlock>) {
    if content.is_empty() {
        return;
    }
    match messages.last_mut() {
        Some(last) if last.role == role => {
            for block in content {
                if matches!(block, ContentBlock::ToolResult { .. }) {
                    let at = last
                        .content
                        .iter()
                        .take_while(|b| matches!(b, ContentBlock::ToolResult { .. }))
                        .count();
                    last.content.insert(at, block);
                } else {
                    last.content.push(block);
                }
            }
        }
        _ => messages.push(Message { role, content }),
    }
}

fn non_empty(blocks: Vec<ContentBlock>) -> impl Iterator<Item = ContentBlock> {
    blocks
        .into_iter()
        .filter(|b| !matches!(b, ContentBlock::Text { text, .. } if text.is_empty()))
}
