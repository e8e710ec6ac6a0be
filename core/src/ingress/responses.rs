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
//! - `compaction` items made by `compaction_content` become a system text
//!   block holding their summary; any other `encrypted_content` there is a 400;
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
//! - an `input_file` PDF (`file_data`, or `file_url`) is a document, an inline
//!   `text/*` (or JSON, XML) `file_data` its text; a file by `file_id`, or of
//!   another type, is deferred as built-ins are (only an `openai-responses`
//!   upstream reads it); `input_image.file_id` is a 400 naming the field;
//! - unknown top-level fields are kept in `ResponsesRequest.unknown`, never sent
//!   upstream.

use std::collections::HashSet;

use base64::engine::{general_purpose, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use serde_json::{json, Value};

use super::openai::{image_source, parameters, parse_response_format, valid_tool_name};
use super::path::{join, type_name};
use super::{Fields, Part};
use crate::canonical::{
    ChatRequest, ContentBlock, DocumentSource, ItemReference, Message, ReasoningConfig,
    ResponsesRequest, Role, Tool, ToolChoice, PDF, REDACTED_PREFIX, TOOL_SEARCH,
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

/// What a compaction's summary is introduced with in the system prompt.
const COMPACTION_PREAMBLE: &str = "Summary of the conversation so far:\n";

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
/// item becomes system text holding `summary`.
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
    r.chat.prompt_cache_key = r.prompt_cache_key.clone();
    r.service_tier = f.one_of("service_tier", SERVICE_TIERS)?.map(str::to_owned);

    parse_tools(&f, &mut r)?;
    parse_tool_choice(&f, &mut r)?;
    parse_input(&f, &mut r)?;

    if let Some(instructions) = &r.instructions {
        r.chat
            .system
            .push(ContentBlock::text(instructions.as_str()));
    }
    // Without the previous response or the referenced items, tool outputs may
    // answer calls this body does not hold: pairing waits for `build_chat`.
    let paired = !r.needs_context();
    let mut conv = Converter::new(&mut r.chat, paired, true);
    conv.items(r.input.iter().enumerate(), "input")?;
    if let Some(e) = conv.built_in {
        defer_built_in(&mut r.chat.untranslatable, e);
    }

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
    if let Some(e) = conv.built_in {
        defer_built_in(&mut chat.untranslatable, e);
    }
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
    let mut conv = Converter::new(req, true, false);
    conv.items(items.iter().enumerate(), path)?;
    conv.built_in.map_or(Ok(()), Err)
}

/// Keeps the first built-in met: the one a translating upstream names.
fn defer_built_in(slot: &mut Option<Error>, e: Error) {
    slot.get_or_insert(e);
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
    r.chat.reasoning_effort = effort.clone();
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
        if t.req_str("type")? == "namespace" {
            // A group of tools: each is offered by its own name, and a call of
            // one names its namespace again (`function_call.namespace`).
            let namespace = t.req_str("name")?.to_owned();
            let inner = t.req_array("tools")?;
            let inner_path = t.path_of("tools");
            for (j, tool) in inner.iter().enumerate() {
                let path = join(&inner_path, j);
                let t = Fields::of(tool, &path)?;
                let Some(canonical) = tool_of(&t, r)? else {
                    continue;
                };
                add_tool(&t, canonical.clone(), &mut names, r)?;
                r.namespaces.insert(canonical.name, namespace.clone());
            }
            continue;
        }
        if let Some(canonical) = tool_of(&t, r)? {
            add_tool(&t, canonical, &mut names, r)?;
        }
    }
    r.tools = tools.clone();
    Ok(())
}

fn add_tool(
    t: &Fields,
    canonical: Tool,
    names: &mut HashSet<String>,
    r: &mut ResponsesRequest,
) -> Result<()> {
    if !names.insert(canonical.name.clone()) {
        return Err(Error::invalid_field(
            t.path_of("name"),
            format!("tool name {:?} is used twice", canonical.name),
        ));
    }
    r.chat.tools.push(canonical);
    Ok(())
}

/// A `function` or `custom` tool as a canonical one; a built-in tool is none
/// (`chat.untranslatable` remembers it: only a Responses upstream can run it).
fn tool_of(t: &Fields, r: &mut ResponsesRequest) -> Result<Option<Tool>> {
    let cache_control = t.get("cache_control").cloned();
    match t.req_str("type")? {
        "function" => {
            t.bool("strict")?;
            Ok(Some(Tool {
                name: tool_name(t)?,
                description: t.str("description")?.map(str::to_owned),
                input_schema: parameters(t)?,
                cache_control,
            }))
        }
        "custom" => {
            let name = tool_name(t)?;
            r.custom_tools.insert(name.clone());
            Ok(Some(Tool {
                name,
                description: custom_description(t)?,
                input_schema: custom_tool_schema(),
                cache_control,
            }))
        }
        // Run by the client (Codex's discovery of deferred tools): to the
        // model a function like any other, its calls `tool_search_call` items.
        "tool_search" if t.str("execution")? == Some("client") => {
            r.tool_search = true;
            Ok(Some(Tool {
                name: TOOL_SEARCH.to_owned(),
                description: t.str("description")?.map(str::to_owned),
                input_schema: parameters(t)?,
                cache_control,
            }))
        }
        other if BUILT_IN_TOOLS.contains(&other) => {
            defer_built_in(
                &mut r.chat.untranslatable,
                Error::invalid_field(
                    t.path_of("type"),
                    format!(
                        "built-in tool {other:?} is not supported: only function, custom, namespace and client-executed tool_search tools are (an openai-responses upstream takes them all)"
                    ),
                ),
            );
            Ok(None)
        }
        other => Err(Error::invalid_field(
            t.path_of("type"),
            format!("expected one of function, custom, namespace, got {other:?}"),
        )),
    }
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
                    let e = Error::invalid_field(
                        c.path_of("type"),
                        format!("built-in tool {other:?} is not supported (an openai-responses upstream takes it)"),
                    );
                    defer_built_in(&mut r.chat.untranslatable, e);
                    return Ok(());
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
                format!(
                    "expected a string or an array of items, got {}",
                    type_name(v)
                ),
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
    /// The first built-in item met (see `ChatRequest::untranslatable`).
    built_in: Option<Error>,
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
            built_in: None,
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
            "tool_search_call" => {
                it.str("id")?;
                let call_id = it.req_str("call_id")?;
                let input = it.get("arguments").cloned().unwrap_or_else(|| json!({}));
                self.call(call_id, TOOL_SEARCH, input);
                Ok(())
            }
            "tool_search_output" => self.tool_search_output(&it),
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
                // Context, not a turn: the next user message stays the user's own.
                self.req.system.push(ContentBlock::text(format!(
                    "{COMPACTION_PREAMBLE}{summary}"
                )));
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
            other if BUILT_IN_ITEMS.contains(&other) => {
                let e = Error::invalid_field(
                    it.path_of("type"),
                    format!("{other:?} items belong to built-in tools, which are not supported (an openai-responses upstream takes them)"),
                );
                defer_built_in(&mut self.built_in, e);
                Ok(())
            }
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
        let blocks = content_blocks(it, "content", kind, &mut self.built_in)?
            .ok_or_else(|| it.missing("content"))?;
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

    /// The `call_id` a tool output answers: a call made earlier in the conversation.
    fn answered_call<'a>(&self, it: &Fields<'a>) -> Result<&'a str> {
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
        Ok(call_id)
    }

    fn output(&mut self, it: &Fields) -> Result<()> {
        let call_id = self.answered_call(it)?;
        let content = content_blocks(it, "output", PartKind::User, &mut self.built_in)?
            .ok_or_else(|| it.missing("output"))?;
        let block = ContentBlock::ToolResult {
            tool_use_id: call_id.to_owned(),
            content: non_empty(content).collect(),
            is_error: false,
            cache_control: None,
        };
        push(&mut self.req.messages, Role::User, vec![block]);
        Ok(())
    }

    /// The tools a client-run search found, as the text of the call's result.
    fn tool_search_output(&mut self, it: &Fields) -> Result<()> {
        let call_id = self.answered_call(it)?;
        let tools = it.get("tools").cloned().unwrap_or_else(|| json!([]));
        let block = ContentBlock::ToolResult {
            tool_use_id: call_id.to_owned(),
            content: vec![ContentBlock::text(tools.to_string())],
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

/// `it[key]` as a string or an array of parts; `None` when absent. A part
/// only an `openai-responses` upstream can carry goes to `deferred`.
fn content_blocks(
    it: &Fields,
    key: &str,
    kind: PartKind,
    deferred: &mut Option<Error>,
) -> Result<Option<Vec<ContentBlock>>> {
    match it.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![ContentBlock::text(s.as_str())])),
        Some(Value::Array(parts)) => {
            let base = it.path_of(key);
            let mut out = Vec::with_capacity(parts.len());
            for (j, part) in parts.iter().enumerate() {
                match content_part(part, &join(&base, j), kind)? {
                    Part::Block(b) => out.push(b),
                    Part::Deferred(e) => defer_built_in(deferred, e),
                }
            }
            Ok(Some(out))
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

fn content_part(part: &Value, path: &str, kind: PartKind) -> Result<Part> {
    let p = Fields::of(part, path)?;
    let ty = p.req_str("type")?;
    let cache_control = p.get("cache_control").cloned();
    match (kind, ty) {
        (_, "input_text") | (PartKind::Assistant, "output_text") => {
            Ok(Part::Block(ContentBlock::Text {
                text: p.req_str("text")?.to_owned(),
                cache_control,
            }))
        }
        // A refusal the model gave earlier is replayed as what it said.
        (PartKind::Assistant, "refusal") => Ok(Part::Block(ContentBlock::Text {
            text: p.req_str("refusal")?.to_owned(),
            cache_control,
        })),
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
            Ok(Part::Block(ContentBlock::Image {
                source: image_source(&p)?,
                cache_control,
            }))
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

/// An `input_file`: a PDF inline or by URL is a document, an inline text file
/// its text; a file by id, or of another type, only an `openai-responses`
/// upstream reads (deferred, naming the field).
fn input_file(p: &Fields) -> Result<Part> {
    let title = p.str("filename")?.map(str::to_owned);
    p.one_of("detail", &["auto", "low", "high"])?;
    let cache_control = p.get("cache_control").cloned();
    if let Some(data_url) = p.str("file_data")? {
        let path = p.path_of("file_data");
        let Some((media_type, data)) = super::inline::data_url(data_url) else {
            return Err(Error::invalid_field(
                path,
                "expected a data URL of the form data:<media type>;base64,<data>",
            ));
        };
        if media_type == PDF {
            super::inline::check_data(data, &path, "the file")?;
            return Ok(Part::Block(ContentBlock::Document {
                source: DocumentSource::Base64 {
                    media_type: PDF.to_owned(),
                    data: data.trim().to_owned(),
                },
                title,
                context: None,
                cache_control,
            }));
        }
        if !is_text_media(media_type) {
            return Ok(Part::Deferred(Error::invalid_field(
                path,
                format!("a file of type {media_type} can be sent only to an openai-responses upstream; the others read PDFs and text files"),
            )));
        }
        let bytes = BASE64
            .decode(data.trim())
            .map_err(|_| Error::invalid_field(&path, "expected base64 data after ;base64,"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::invalid_field(&path, "expected UTF-8 text in a text file"))?;
        return Ok(Part::Block(ContentBlock::text(text)));
    }
    if let Some(url) = p.str("file_url")? {
        return Ok(Part::Block(ContentBlock::Document {
            source: DocumentSource::Url {
                url: url.to_owned(),
                field: p.path_of("file_url"),
            },
            title,
            context: None,
            cache_control,
        }));
    }
    if p.str("file_id")?.is_some() {
        return Ok(Part::Deferred(Error::invalid_field(
            p.path_of("file_id"),
            "a file by id can be sent only to an openai-responses upstream (the file is in its Files API); send the file inline as file_data",
        )));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{ImageSource, ResponseFormat};
    use crate::ErrorKind;
    use serde_json::Map;

    fn parse(body: Value) -> ResponsesRequest {
        parse_responses(&body).unwrap_or_else(|e| panic!("{body}: {e}"))
    }

    /// The 400 of a body: from parsing, or the one a translating upstream
    /// gives for the built-in tool it holds.
    fn err(body: Value) -> Error {
        match parse_responses(&body) {
            Ok(r) => r
                .chat
                .untranslatable
                .unwrap_or_else(|| panic!("{body} parsed")),
            Err(e) => e,
        }
    }

    fn with_input(input: Value) -> Value {
        json!({"model": "gpt-5", "input": input})
    }

    fn text(t: &str) -> ContentBlock {
        ContentBlock::text(t)
    }

    fn tool_use(id: &str, name: &str, input: Value) -> ContentBlock {
        ContentBlock::ToolUse {
            id: id.into(),
            name: name.into(),
            input,
            cache_control: None,
        }
    }

    fn tool_result(id: &str, content: Vec<ContentBlock>) -> ContentBlock {
        ContentBlock::ToolResult {
            tool_use_id: id.into(),
            content,
            is_error: false,
            cache_control: None,
        }
    }

    fn msg(role: Role, content: Vec<ContentBlock>) -> Message {
        Message { role, content }
    }

    #[test]
    fn string_input_is_one_user_message_and_defaults_hold() {
        let r = parse(json!({"model": "gpt-5", "input": "Say hi"}));
        assert_eq!(r.model(), "gpt-5");
        assert_eq!(
            r.input,
            [json!({"type": "message", "role": "user", "content": "Say hi"})]
        );
        assert_eq!(r.chat.messages, [msg(Role::User, vec![text("Say hi")])]);
        assert!(r.chat.system.is_empty());
        assert!(r.store && !r.stream && !r.background && !r.needs_context());
        assert_eq!(r.chat.max_tokens, None);
        assert_eq!(r.chat.tool_choice, None);
        assert!(r.tools.is_empty() && r.custom_tools.is_empty());
        assert!(r.unknown.is_empty() && r.chat.extra.is_empty());
    }

    #[test]
    fn messages_of_every_role_and_part() {
        let r = parse(json!({
            "model": "gpt-5",
            "instructions": "Be brief.",
            "input": [
                {"type": "message", "role": "developer", "content": "Dev rule."},
                {"role": "system", "content": [{"type": "input_text", "text": "Sys rule."}]},
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "Look:"},
                    {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "high"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}
                ]},
                {"role": "user", "content": "and more"},
                {"type": "message", "role": "assistant", "phase": "commentary", "content": [{"type": "input_text", "text": "Thinking aloud."}]},
                {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant", "phase": "final_answer",
                 "content": [
                    {"type": "output_text", "text": "A cat.", "annotations": [], "logprobs": []},
                    {"type": "refusal", "refusal": "No more."},
                    {"type": "output_text", "text": ""}
                 ]},
                {"type": "message", "role": "system", "content": "Late rule."},
                {"type": "message", "role": "user", "content": "Thanks"}
            ]
        }));
        let system: Vec<String> = r.chat.system.iter().map(ContentBlock::plain_text).collect();
        assert_eq!(
            system,
            ["Be brief.", "Dev rule.", "Sys rule.", "Late rule."]
        );
        assert_eq!(
            r.chat.messages,
            [
                msg(
                    Role::User,
                    vec![
                        text("Look:"),
                        ContentBlock::Image {
                            source: ImageSource::Url {
                                url: "https://example.com/cat.png".into()
                            },
                            cache_control: None,
                        },
                        ContentBlock::Image {
                            source: ImageSource::Base64 {
                                media_type: "image/png".into(),
                                data: "iVBORw0KGgo=".into()
                            },
                            cache_control: None,
                        },
                        text("and more"),
                    ]
                ),
                msg(
                    Role::Assistant,
                    vec![text("Thinking aloud."), text("A cat."), text("No more.")]
                ),
                msg(Role::User, vec![text("Thanks")]),
            ]
        );
    }

    #[test]
    fn function_calls_and_outputs_keep_their_ids() {
        let r = parse(with_input(json!([
            {"type": "message", "role": "user", "content": "Weather in Paris and Rome?"},
            {"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "get_weather",
             "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
            {"type": "function_call", "call_id": "call_b", "name": "get_weather", "arguments": ""},
            {"type": "function_call_output", "call_id": "call_a", "output": "18C"},
            {"type": "function_call_output", "call_id": "call_b", "output": [
                {"type": "input_text", "text": "21C"},
                {"type": "input_image", "image_url": "https://example.com/map.png"}
            ]},
            {"type": "message", "role": "user", "content": "Which is warmer?"}
        ])));
        assert_eq!(
            r.chat.messages,
            [
                msg(Role::User, vec![text("Weather in Paris and Rome?")]),
                msg(
                    Role::Assistant,
                    vec![
                        tool_use("call_a", "get_weather", json!({"city": "Paris"})),
                        tool_use("call_b", "get_weather", json!({})),
                    ]
                ),
                msg(
                    Role::User,
                    vec![
                        tool_result("call_a", vec![text("18C")]),
                        tool_result(
                            "call_b",
                            vec![
                                text("21C"),
                                ContentBlock::Image {
                                    source: ImageSource::Url {
                                        url: "https://example.com/map.png".into()
                                    },
                                    cache_control: None,
                                }
                            ]
                        ),
                        text("Which is warmer?"),
                    ]
                ),
            ]
        );
    }

    #[test]
    fn a_tool_output_goes_before_the_user_text_of_its_turn() {
        let r = parse(with_input(json!([
            {"role": "user", "content": "go"},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"role": "user", "content": "also this"},
            {"type": "function_call_output", "call_id": "c1", "output": "done"}
        ])));
        assert_eq!(
            r.chat.messages[2],
            msg(
                Role::User,
                vec![tool_result("c1", vec![text("done")]), text("also this")]
            )
        );
    }

    #[test]
    fn custom_tools_are_one_string_functions() {
        let r = parse(json!({
            "model": "gpt-5",
            "tools": [
                {"type": "custom", "name": "code_exec", "description": "Runs Python."},
                {"type": "custom", "name": "sql", "format": {"type": "grammar", "syntax": "lark", "definition": "start: \"SELECT\""}},
                {"type": "custom", "name": "plain", "format": {"type": "text"}}
            ],
            "input": [
                {"role": "user", "content": "run it"},
                {"type": "custom_tool_call", "id": "ctc_1", "call_id": "call_x", "name": "code_exec", "input": "print(1)"},
                {"type": "custom_tool_call_output", "call_id": "call_x", "output": "1"}
            ]
        }));
        assert_eq!(
            r.custom_tools.iter().collect::<Vec<_>>(),
            ["code_exec", "plain", "sql"]
        );
        for t in &r.chat.tools {
            assert_eq!(t.input_schema, custom_tool_schema());
        }
        assert_eq!(r.chat.tools[0].description.as_deref(), Some("Runs Python."));
        assert_eq!(
            r.chat.tools[1].description.as_deref(),
            Some("The input must follow this lark grammar:\nstart: \"SELECT\"")
        );
        assert_eq!(r.chat.tools[2].description, None);
        assert_eq!(
            r.chat.messages[1],
            msg(
                Role::Assistant,
                vec![tool_use(
                    "call_x",
                    "code_exec",
                    json!({"input": "print(1)"})
                )]
            )
        );
        assert_eq!(
            r.chat.messages[2],
            msg(Role::User, vec![tool_result("call_x", vec![text("1")])])
        );
        // Tools are kept as sent, for the echo.
        assert_eq!(r.tools[1]["format"]["syntax"], "lark");
    }

    #[test]
    fn reasoning_items_become_thinking() {
        let r = parse(with_input(json!([
            {"role": "user", "content": "q"},
            {"type": "reasoning", "id": "rs_1", "summary": [
                {"type": "summary_text", "text": "First."},
                {"type": "summary_text", "text": "Second."}
             ], "encrypted_content": "c2lnbmF0dXJl"},
            {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "Raw."}]},
            {"type": "reasoning", "summary": [], "encrypted_content": format!("{REDACTED_PREFIX}b3BhcXVl")},
            {"type": "reasoning", "summary": []},
            {"type": "message", "role": "assistant", "content": "Answer."}
        ])));
        assert_eq!(
            r.chat.messages[1],
            msg(
                Role::Assistant,
                vec![
                    ContentBlock::Thinking {
                        thinking: "First.\n\nSecond.".into(),
                        signature: Some("c2lnbmF0dXJl".into()),
                    },
                    ContentBlock::Thinking {
                        thinking: "Raw.".into(),
                        signature: None,
                    },
                    ContentBlock::RedactedThinking {
                        data: "b3BhcXVl".into()
                    },
                    text("Answer."),
                ]
            )
        );
    }

    #[test]
    fn settings_are_kept_and_mapped() {
        let r = parse(json!({
            "model": "gpt-5",
            "input": "x",
            "type": "response.create",
            "max_output_tokens": 1,
            "max_tool_calls": 3,
            "temperature": 0.5,
            "top_p": 0.9,
            "presence_penalty": -1.5,
            "frequency_penalty": 2,
            "top_logprobs": 20,
            "user": "u-1",
            "safety_identifier": "safe-1",
            "prompt_cache_key": "pk",
            "service_tier": "flex",
            "truncation": "auto",
            "store": false,
            "stream": true,
            "stream_options": {"include_obfuscation": false},
            "background": false,
            "parallel_tool_calls": false,
            "include": ["reasoning.encrypted_content", "message.output_text.logprobs"],
            "metadata": {"team": "a", "run": "7"},
            "reasoning": {"effort": "high", "generate_summary": "concise"},
            "text": {"format": {"type": "json_schema", "name": "answer", "description": "An answer",
                                "schema": {"type": "object", "properties": {"a": {"type": "string"}}}, "strict": true},
                     "verbosity": "low"},
            "seed": 7
        }));
        assert_eq!(r.chat.max_tokens, Some(1));
        assert_eq!(r.max_output_tokens, Some(1));
        assert_eq!(r.max_tool_calls, Some(3));
        assert_eq!((r.chat.temperature, r.chat.top_p), (Some(0.5), Some(0.9)));
        assert_eq!(
            (r.presence_penalty, r.frequency_penalty),
            (Some(-1.5), Some(2.0))
        );
        assert_eq!(r.top_logprobs, Some(20));
        assert_eq!(r.chat.user.as_deref(), Some("safe-1"));
        assert_eq!(r.user.as_deref(), Some("u-1"));
        assert_eq!(r.prompt_cache_key.as_deref(), Some("pk"));
        assert_eq!(r.service_tier.as_deref(), Some("flex"));
        assert_eq!(r.truncation.as_deref(), Some("auto"));
        assert!(!r.store && r.stream && r.chat.stream);
        assert_eq!(r.chat.parallel_tool_calls, Some(false));
        assert!(r.includes("reasoning.encrypted_content"));
        assert_eq!(r.metadata.as_ref().map(Map::len), Some(2));
        assert_eq!(
            r.reasoning,
            Some(ReasoningConfig {
                effort: Some("high".into()),
                summary: Some("concise".into())
            })
        );
        assert_eq!(
            r.chat.response_format,
            Some(ResponseFormat::JsonSchema {
                name: "answer".into(),
                description: Some("An answer".into()),
                schema: json!({"type": "object", "properties": {"a": {"type": "string"}}}),
                strict: Some(true),
            })
        );
        assert_eq!(r.verbosity.as_deref(), Some("low"));
        // Unknown fields stay here and never reach the canonical request.
        assert_eq!(
            Value::Object(r.unknown.clone()),
            json!({"type": "response.create", "seed": 7})
        );
        assert!(r.chat.extra.is_empty());
        // `user` alone is the canonical user; json_object and text formats.
        let r = parse(
            json!({"model": "m", "input": "x", "user": "u", "text": {"format": {"type": "json_object"}}}),
        );
        assert_eq!(r.chat.user.as_deref(), Some("u"));
        assert_eq!(r.chat.response_format, Some(ResponseFormat::JsonObject));
        let r = parse(json!({"model": "m", "input": "x", "text": {"format": {"type": "text"}}}));
        assert_eq!(r.chat.response_format, Some(ResponseFormat::Text));
    }

    #[test]
    fn function_tools_and_tool_choice() {
        let tools = json!([
            {"type": "function", "name": "get_weather", "description": "Weather now",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
             "strict": true},
            {"type": "function", "name": "no_args", "parameters": null, "strict": null},
            {"type": "custom", "name": "shell_cmd"}
        ]);
        let with = |choice: Value| {
            parse(json!({"model": "m", "input": "x", "tools": tools, "tool_choice": choice}))
        };
        let r = with(json!("required"));
        assert_eq!(r.chat.tools.len(), 3);
        assert_eq!(r.chat.tools[0].name, "get_weather");
        assert_eq!(r.chat.tools[0].description.as_deref(), Some("Weather now"));
        assert_eq!(r.chat.tools[0].input_schema["required"], json!(["city"]));
        assert_eq!(
            r.chat.tools[1].input_schema,
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(r.chat.tool_choice, Some(ToolChoice::Any));
        assert_eq!(r.tool_choice, Some(json!("required")));
        assert_eq!(with(json!("auto")).chat.tool_choice, Some(ToolChoice::Auto));
        assert_eq!(with(json!("none")).chat.tool_choice, Some(ToolChoice::None));
        assert_eq!(
            with(json!({"type": "function", "name": "no_args"}))
                .chat
                .tool_choice,
            Some(ToolChoice::Tool("no_args".into()))
        );
        assert_eq!(
            with(json!({"type": "custom", "name": "shell_cmd"}))
                .chat
                .tool_choice,
            Some(ToolChoice::Tool("shell_cmd".into()))
        );
        // allowed_tools narrows what can be called; the echo keeps every tool.
        let r = with(json!({"type": "allowed_tools", "mode": "auto", "tools": [
            {"type": "function", "name": "get_weather"}, {"type": "custom", "name": "shell_cmd"}]}));
        let names: Vec<&str> = r.chat.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["get_weather", "shell_cmd"]);
        assert_eq!(r.tools.len(), 3);
        assert_eq!(r.chat.tool_choice, Some(ToolChoice::Auto));
        assert_eq!(
            r.allowed_tools,
            Some(vec!["get_weather".into(), "shell_cmd".into()])
        );
        let r = with(
            json!({"type": "allowed_tools", "mode": "required", "tools": [
            {"type": "function", "name": "get_weather"}]}),
        );
        assert_eq!(
            r.chat.tool_choice,
            Some(ToolChoice::Tool("get_weather".into()))
        );
        let r = with(
            json!({"type": "allowed_tools", "mode": "required", "tools": [
            {"type": "function", "name": "get_weather"}, {"type": "function", "name": "no_args"}]}),
        );
        assert_eq!(r.chat.tool_choice, Some(ToolChoice::Any));
    }

    #[test]
    fn item_references_wait_for_the_stored_items() {
        let mut r = parse(with_input(json!([
            {"type": "item_reference", "id": "msg_a"},
            {"id": "fc_b"},
            {"type": "function_call_output", "call_id": "call_b", "output": "ok"}
        ])));
        assert!(r.needs_context());
        assert_eq!(
            r.item_references,
            [
                ItemReference {
                    index: 0,
                    id: "msg_a".into()
                },
                ItemReference {
                    index: 1,
                    id: "fc_b".into()
                }
            ]
        );
        // Until resolved, only what the body holds (the output is not paired yet).
        assert_eq!(r.chat.messages.len(), 1);
        let stored = |id: &str| match id {
            "msg_a" => Some(json!({"type": "message", "role": "user", "content": "hello"})),
            "fc_b" => Some(
                json!({"type": "function_call", "call_id": "call_b", "name": "f", "arguments": "{}"}),
            ),
            _ => None,
        };
        let input = build_chat(&mut r, &[], stored).unwrap();
        assert_eq!(input[0]["content"], "hello");
        assert_eq!(input[1]["type"], "function_call");
        assert_eq!(
            r.chat.messages,
            [
                msg(Role::User, vec![text("hello")]),
                msg(Role::Assistant, vec![tool_use("call_b", "f", json!({}))]),
                msg(Role::User, vec![tool_result("call_b", vec![text("ok")])]),
            ]
        );

        let mut r = parse(with_input(
            json!([{"role": "user", "content": "x"}, {"type": "item_reference", "id": "nope"}]),
        ));
        let e = build_chat(&mut r, &[], |_| None).unwrap_err();
        assert_eq!(e.param(), Some("input.1.id"));
        assert_eq!(e.message(), "input.1.id: item \"nope\" not found");
        let e = build_chat(&mut r, &[], |_| Some(json!({"id": "other"}))).unwrap_err();
        assert_eq!(e.param(), Some("input.1.id"));
    }

    #[test]
    fn previous_response_items_come_first_and_pair_the_outputs() {
        let body = json!({
            "model": "m",
            "instructions": "Be brief.",
            "previous_response_id": "resp_1",
            "input": [{"type": "function_call_output", "call_id": "call_1", "output": "18C"}]
        });
        // Alone, the output answers a call of the previous response: accepted.
        let mut r = parse(body.clone());
        assert!(r.needs_context());
        let history = [
            json!({"type": "message", "role": "user", "content": "Weather?"}),
            json!({"type": "message", "role": "developer", "content": "Old rule."}),
            json!({"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Call it."}],
                   "encrypted_content": "sig"}),
            json!({"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
                   "arguments": "{}", "status": "completed"}),
        ];
        let input = build_chat(&mut r, &history, |_| None).unwrap();
        assert_eq!(input, r.input);
        let system: Vec<String> = r.chat.system.iter().map(ContentBlock::plain_text).collect();
        assert_eq!(system, ["Be brief.", "Old rule."]);
        assert_eq!(
            r.chat.messages,
            [
                msg(Role::User, vec![text("Weather?")]),
                msg(
                    Role::Assistant,
                    vec![
                        ContentBlock::Thinking {
                            thinking: "Call it.".into(),
                            signature: Some("sig".into())
                        },
                        tool_use("call_1", "get_weather", json!({})),
                    ]
                ),
                msg(Role::User, vec![tool_result("call_1", vec![text("18C")])]),
            ]
        );
        // A previous response without that call: the output answers nothing.
        let mut r = parse(body);
        let e = build_chat(&mut r, &history[..2], |_| None).unwrap_err();
        assert_eq!(e.param(), Some("input.0.call_id"));
        // No input at all is fine with a previous response.
        let r = parse(json!({"model": "m", "previous_response_id": "resp_1"}));
        assert!(r.input.is_empty());
    }

    #[test]
    fn items_to_messages_appends_to_a_conversation() {
        let mut req = ChatRequest::new("m");
        items_to_messages(
            &[
                json!({"role": "user", "content": "a"}),
                json!({"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}),
            ],
            "input",
            &mut req,
        )
        .unwrap();
        items_to_messages(
            &[
                json!({"type": "function_call_output", "call_id": "c", "output": "r"}),
                json!({"role": "developer", "content": "d"}),
            ],
            "input",
            &mut req,
        )
        .unwrap();
        assert_eq!(req.system, [text("d")]);
        assert_eq!(req.messages.len(), 3);
        let e = items_to_messages(
            &[json!({"type": "item_reference", "id": "x"})],
            "input",
            &mut req,
        )
        .unwrap_err();
        assert_eq!(e.param(), Some("input.0.id"));
    }

    #[test]
    fn pdf_files_are_documents_and_files_by_id_wait_for_a_translating_upstream() {
        let r = parse(with_input(json!([{"role": "user", "content": [
            {"type": "input_file", "file_url": "https://x/a.pdf", "detail": "high"},
            {"type": "input_file", "filename": "b.pdf", "file_data": "data:application/pdf;base64,JVBE"}
        ]}])));
        assert_eq!(
            r.chat.messages[0].content,
            [
                ContentBlock::Document {
                    source: DocumentSource::Url {
                        url: "https://x/a.pdf".into(),
                        field: "input.0.content.0.file_url".into()
                    },
                    title: None,
                    context: None,
                    cache_control: None
                },
                ContentBlock::Document {
                    source: DocumentSource::Base64 {
                        media_type: PDF.into(),
                        data: "JVBE".into()
                    },
                    title: Some("b.pdf".into()),
                    context: None,
                    cache_control: None
                }
            ]
        );
        assert_eq!(r.chat.untranslatable, None);
        let r = parse(with_input(json!([{"role": "user", "content": [
            {"type": "input_text", "text": "read"},
            {"type": "input_file", "file_id": "file-1"}
        ]}])));
        assert_eq!(r.chat.messages[0].content, [text("read")]);
        assert_eq!(
            r.chat.untranslatable.map(|e| e.param().map(str::to_owned)),
            Some(Some("input.0.content.1.file_id".to_owned()))
        );
    }

    #[test]
    fn compaction_items_and_text_files_become_text() {
        let content = compaction_content("We launch on Tuesday.");
        assert_eq!(
            compaction_summary(&content).as_deref(),
            Some("We launch on Tuesday.")
        );
        let r = parse(with_input(json!([
            {"type": "compaction", "id": "cmp_1", "encrypted_content": content},
            {"role": "user", "content": [
                {"type": "input_file", "filename": "notes.txt", "file_data": "data:text/plain;base64,aGVsbG8gd29ybGQ="},
                {"type": "input_text", "text": "Summarize."}
            ]}
        ])));
        assert_eq!(
            r.chat.system,
            [text(
                "Summary of the conversation so far:\nWe launch on Tuesday."
            )]
        );
        assert_eq!(
            r.chat.messages,
            [msg(
                Role::User,
                vec![text("hello world"), text("Summarize.")]
            )]
        );
    }

    #[test]
    fn previous_response_not_found_is_a_400_naming_the_field() {
        let e = previous_response_not_found("resp_x");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.http_status(), 400);
        assert_eq!(e.param(), Some("previous_response_id"));
        assert_eq!(e.message(), "Previous response with id 'resp_x' not found.");
    }

    #[test]
    fn nulls_count_as_absent() {
        let r = parse(json!({
            "model": "m", "input": "x", "tools": null, "tool_choice": null, "instructions": null,
            "max_output_tokens": null, "metadata": null, "text": null, "reasoning": null,
            "previous_response_id": null, "include": null, "stream_options": null
        }));
        assert!(r.tools.is_empty() && r.chat.tools.is_empty());
        assert_eq!(r.tool_choice, None);
        assert!(!r.needs_context());
        assert_eq!(r.metadata, None);
        assert_eq!(r.reasoning, None);
    }

    #[test]
    fn every_refusal_names_its_field() {
        let user = json!({"role": "user", "content": "x"});
        let cases: Vec<(Value, &str, &str)> = vec![
            (json!([]), "", "expected an object, got array"),
            (json!({"input": "x"}), "model", "model: field required"),
            (json!({"model": 5, "input": "x"}), "model", "model: expected a string, got number"),
            (json!({"model": "m"}), "input", "input: field required"),
            (with_input(json!([])), "input", "input: expected at least one item, got an empty array"),
            (with_input(json!(5)), "input", "input: expected a string or an array of items, got number"),
            (with_input(json!(["hi"])), "input.0", "input.0: expected an object, got string"),
            (with_input(json!([{"content": "x"}])), "input.0.type", "input.0.type: field required"),
            (
                with_input(json!([user, {"type": "bogus"}])),
                "input.1.type",
                "input.1.type: expected one of message, function_call, function_call_output, custom_tool_call, custom_tool_call_output, reasoning, item_reference, compaction, got \"bogus\"",
            ),
            (
                with_input(json!([{"type": "web_search_call", "id": "ws_1"}])),
                "input.0.type",
                "input.0.type: \"web_search_call\" items belong to built-in tools, which are not supported (an openai-responses upstream takes them)",
            ),
            (
                with_input(json!([{"type": "message", "role": "tool", "content": "x"}])),
                "input.0.role",
                "input.0.role: expected one of user, assistant, system, developer, got \"tool\"",
            ),
            (with_input(json!([{"type": "message", "content": "x"}])), "input.0.role", "input.0.role: field required"),
            (with_input(json!([{"role": "user"}])), "input.0.content", "input.0.content: field required"),
            (
                with_input(json!([{"role": "user", "content": 5}])),
                "input.0.content",
                "input.0.content: expected a string or an array of content parts, got number",
            ),
            (
                with_input(json!([{"role": "user", "content": [{"type": "output_text", "text": "x"}]}])),
                "input.0.content.0.type",
                "input.0.content.0.type: expected one of input_text, input_image, input_file, got \"output_text\"",
            ),
            (
                with_input(json!([{"role": "system", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}])),
                "input.0.content.0.type",
                "input.0.content.0.type: expected one of input_text, got \"input_image\"",
            ),
            (
                with_input(json!([{"role": "assistant", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}])),
                "input.0.content.0.type",
                "",
            ),
            (
                with_input(json!([{"role": "user", "content": [{"type": "input_image", "file_id": "file-1", "detail": "auto"}]}])),
                "input.0.content.0.file_id",
                "input.0.content.0.file_id: file ids are not supported; send the image as image_url (an http(s) URL or a data URL)",
            ),
            (
                with_input(json!([{"role": "user", "content": [{"type": "input_image"}]}])),
                "input.0.content.0.image_url",
                "input.0.content.0.image_url: field required",
            ),
            (
                with_input(json!([{"role": "user", "content": [{"type": "input_image", "image_url": "data:image/png,abc"}]}])),
                "input.0.content.0.image_url",
                "",
            ),
            (
                with_input(json!([{"role": "user", "content": [{"type": "input_file", "filename": "a.zip", "file_data": "data:application/zip;base64,UEsD"}]}])),
                "input.0.content.0.file_data",
                "input.0.content.0.file_data: a file of type application/zip can be sent only to an openai-responses upstream; the others read PDFs and text files",
            ),
            (
                with_input(json!([{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}])),
                "input.0.content.0.file_id",
                "",
            ),
            (
                with_input(json!([{"role": "user", "content": [{"type": "input_file", "file_data": "data:text/plain;base64,!!"}]}])),
                "input.0.content.0.file_data",
                "input.0.content.0.file_data: expected base64 data after ;base64,",
            ),
            (
                with_input(json!([user, {"type": "function_call", "name": "f", "arguments": "{}"}])),
                "input.1.call_id",
                "input.1.call_id: field required",
            ),
            (
                with_input(json!([user, {"type": "function_call", "call_id": "c", "arguments": "{}"}])),
                "input.1.name",
                "input.1.name: field required",
            ),
            (
                with_input(json!([user, {"type": "function_call", "call_id": "c", "name": "f"}])),
                "input.1.arguments",
                "input.1.arguments: field required",
            ),
            (
                with_input(json!([user, {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{\"a\":"}])),
                "input.1.arguments",
                "",
            ),
            (
                with_input(json!([user, {"type": "function_call", "call_id": "c", "name": "f", "arguments": "[1]"}])),
                "input.1.arguments",
                "input.1.arguments: expected a JSON object, got array",
            ),
            (
                with_input(json!([user, {"type": "function_call_output", "call_id": "call_openresponses_missing", "output": "x"}])),
                "input.1.call_id",
                "input.1.call_id: no tool call found for output with call_id \"call_openresponses_missing\"",
            ),
            (
                with_input(json!([user, {"type": "custom_tool_call_output", "call_id": "nope", "output": "x"}])),
                "input.1.call_id",
                "",
            ),
            (
                with_input(json!([user, {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
                                  {"type": "function_call_output", "call_id": "c"}])),
                "input.2.output",
                "input.2.output: field required",
            ),
            (
                with_input(json!([user, {"type": "custom_tool_call", "call_id": "c", "name": "f", "input": 5}])),
                "input.1.input",
                "input.1.input: expected a string, got number",
            ),
            (
                with_input(json!([user, {"type": "reasoning", "summary": [{"type": "summary_text"}]}])),
                "input.1.summary.0.text",
                "input.1.summary.0.text: field required",
            ),
            (
                with_input(json!([user, {"type": "reasoning", "summary": "x"}])),
                "input.1.summary",
                "input.1.summary: expected an array, got string",
            ),
            (
                with_input(json!([{"type": "compaction", "encrypted_content": "gAAAA-openai"}])),
                "input.0.encrypted_content",
                "input.0.encrypted_content: not a compaction this gateway made (POST /v1/responses/compact)",
            ),
            (
                with_input(json!([{"type": "item_reference"}])),
                "input.0.id",
                "input.0.id: field required",
            ),
            (
                with_input(json!([{"role": "assistant", "phase": "draft", "content": "x"}])),
                "input.0.phase",
                "",
            ),
        ];
        let top: Vec<(&str, Value, &str, &str)> = vec![
            ("background", json!(true), "background", "background: background responses are not supported; use stream: true for long answers"),
            ("background", json!("yes"), "background", "background: expected a boolean, got string"),
            ("conversation", json!("conv_1"), "conversation", "conversation: conversations are not supported; use previous_response_id"),
            ("prompt", json!({"id": "pmpt_1"}), "prompt", ""),
            ("max_output_tokens", json!(0), "max_output_tokens", "max_output_tokens: expected an integer >= 1, got 0"),
            ("max_output_tokens", json!(-5), "max_output_tokens", ""),
            ("max_tool_calls", json!(0), "max_tool_calls", ""),
            ("temperature", json!(3), "temperature", "temperature: expected a number between 0 and 2, got 3"),
            ("top_p", json!(1.5), "top_p", ""),
            ("presence_penalty", json!(-3), "presence_penalty", ""),
            ("frequency_penalty", json!("0"), "frequency_penalty", ""),
            ("top_logprobs", json!(21), "top_logprobs", "top_logprobs: expected an integer between 0 and 20, got 21"),
            ("include", json!(["reasoning.encrypted_content", "everything"]), "include.1", ""),
            ("include", json!([5]), "include.0", "include.0: expected a string, got number"),
            ("metadata", json!({"a": 1}), "metadata.a", "metadata.a: expected a string, got number"),
            ("metadata", json!((0..17).map(|i| (i.to_string(), json!("v"))).collect::<Map<_, _>>()), "metadata", ""),
            ("metadata", json!({"k": "v".repeat(513)}), "metadata.k", ""),
            ("truncation", json!("sometimes"), "truncation", ""),
            ("text", json!({"format": {"type": "xml"}}), "text.format.type", ""),
            ("text", json!({"verbosity": "loud"}), "text.verbosity", ""),
            ("reasoning", json!({"effort": "max"}), "reasoning.effort", ""),
            ("reasoning", json!({"summary": "long"}), "reasoning.summary", ""),
            ("service_tier", json!("gold"), "service_tier", ""),
            ("stream", json!(1), "stream", ""),
            ("stream_options", json!({"include_obfuscation": "no"}), "stream_options.include_obfuscation", ""),
            ("parallel_tool_calls", json!(1), "parallel_tool_calls", ""),
            ("store", json!("no"), "store", ""),
            ("instructions", json!(["a"]), "instructions", ""),
            ("previous_response_id", json!(5), "previous_response_id", ""),
            ("tools", json!({}), "tools", "tools: expected an array, got object"),
            ("tools", json!([{"name": "f"}]), "tools.0.type", "tools.0.type: field required"),
            ("tools", json!([{"type": "function"}]), "tools.0.name", "tools.0.name: field required"),
            ("tools", json!([{"type": "function", "name": "bad name"}]), "tools.0.name", ""),
            ("tools", json!([{"type": "function", "name": "f", "parameters": {"type": "array"}}]), "tools.0.parameters.type", ""),
            ("tools", json!([{"type": "function", "name": "f", "strict": "yes"}]), "tools.0.strict", ""),
            ("tools", json!([{"type": "function", "name": "f"}, {"type": "custom", "name": "f"}]), "tools.1.name", "tools.1.name: tool name \"f\" is used twice"),
            ("tools", json!([{"type": "custom", "name": "g", "format": {"type": "grammar", "syntax": "lark"}}]), "tools.0.format.definition", ""),
            ("tools", json!([{"type": "custom", "name": "g", "format": {"type": "ebnf"}}]), "tools.0.format.type", ""),
            ("tools", json!([{"type": "bogus"}]), "tools.0.type", "tools.0.type: expected one of function, custom, namespace, got \"bogus\""),
            ("tool_choice", json!("sometimes"), "tool_choice", ""),
            ("tool_choice", json!(3), "tool_choice", "tool_choice: expected a string or an object, got number"),
            ("tool_choice", json!({"type": "function", "name": "missing"}), "tool_choice.name", "tool_choice.name: no function tool named \"missing\" in tools"),
            ("tool_choice", json!({"type": "function"}), "tool_choice.name", ""),
            ("tool_choice", json!({"type": "file_search"}), "tool_choice.type", "tool_choice.type: built-in tool \"file_search\" is not supported (an openai-responses upstream takes it)"),
            ("tool_choice", json!({"type": "bogus"}), "tool_choice.type", ""),
            ("tool_choice", json!({"type": "allowed_tools", "tools": []}), "tool_choice.tools", ""),
            ("tool_choice", json!({"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "missing"}]}), "tool_choice.tools.0.name", ""),
            ("tool_choice", json!({"type": "allowed_tools", "mode": "auto", "tools": [{"type": "mcp", "server_label": "x"}]}), "tool_choice.tools.0.type", ""),
            ("tool_choice", json!({"type": "allowed_tools", "mode": "often", "tools": []}), "tool_choice.mode", ""),
        ];
        let mut all = cases;
        for (key, value, param, message) in top {
            let mut body = json!({"model": "m", "input": "x"});
            body[key] = value;
            all.push((body, param, message));
        }
        for (body, param, message) in all {
            let e = err(body.clone());
            assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{body}");
            assert_eq!(e.http_status(), 400, "{body}");
            assert_eq!(e.param().unwrap_or(""), param, "{body}: {}", e.message());
            if !message.is_empty() {
                assert_eq!(e.message(), message, "{body}");
            }
        }
    }

    /// The request bodies of the Open Responses compliance suite
    /// (src/lib/compliance-tests.ts), HTTP and WebSocket.
    #[test]
    fn the_compliance_suite_requests_parse() {
        let image = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAABmklEQVR42tyWAaTyUBzFew/eG4AHz+MBSAHKBiJRGFKwIgQQJKLUIioBIhCAiCAAEizAQIAECaASqFFJq84nudjnaqvuPnxzgP9xfrq5938csPn7PwHTKSoViCIEAYEAMhmoKsU2mUCWEQqB5xEMIp/HaGQG2G6RSuH9HQ7H34rFrtPbdz4jl6PbwmEsl3QA1mt4vcRKk8dz9eg6IpF7tt9fzGY0gCgafFRFo5Blc5vLhf3eCOj1yNhM5GRMVK0aATxPZoz09YXjkQDmczJgquGQAPp9WwCNBgG027YACgUC6HRsAZRKBDAY2AJoNv/ZnwzA6WScznG3p4UAymXGAEkyXrTFAh8fLAGqagQAyGaZpYsi7bHTNPz8MEj//LxuFPo+UBS8vb0KaLXubrRa7aX0RMLCykwmn0z3+XA4WACcTpCkh9MFAZpmuVXo+mO/w+/HZvNgbblcUCxaSo/Hyck80Yu6XXDcvfVZr79cvMZjuN2U9O9vKAqjZrfbIZ0mV4TUi9Xqz6jddNy//7+e3n8Fhf/Llo2kxi8AQyGRoDkmAhAAAAAASUVORK5CYII=";
        let bodies = [
            json!({"model": "m", "input": [{"type": "message", "role": "user", "content": "Say hello in exactly 3 words."}]}),
            json!({"model": "m", "input": [
                {"type": "message", "role": "assistant", "phase": "commentary", "content": "I should answer with the saved number."},
                {"type": "message", "role": "assistant", "phase": "final_answer", "content": "The number is four."},
                {"type": "message", "role": "user", "content": "Repeat only the number."}]}),
            json!({"model": "m", "stream": true, "input": [{"type": "message", "role": "user", "content": "Count from 1 to 5."}]}),
            json!({"type": "response.create", "model": "m", "input": [{"type": "message", "role": "user", "content": "Count from 1 to 3."}]}),
            json!({"type": "response.create", "model": "m", "store": false, "input": "Reply with exactly: first"}),
            json!({"model": "m", "input": [
                {"type": "message", "role": "system", "content": "You are a pirate. Always respond in pirate speak."},
                {"type": "message", "role": "user", "content": "Say hello."}]}),
            json!({"model": "m",
                   "input": [{"type": "message", "role": "user", "content": "What's the weather like in San Francisco?"}],
                   "tools": [{"type": "function", "name": "get_weather", "description": "Get the current weather for a location",
                              "parameters": {"type": "object", "properties": {"location": {"type": "string",
                                             "description": "The city and state, e.g. San Francisco, CA"}}, "required": ["location"]}}]}),
            json!({"model": "m", "input": [{"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "What do you see in this image? Answer in one sentence."},
                {"type": "input_image", "image_url": image}]}]}),
            json!({"model": "m", "input": [
                {"type": "message", "role": "user", "content": "My name is Alice."},
                {"type": "message", "role": "assistant", "content": "Hello Alice! Nice to meet you. How can I help you today?"},
                {"type": "message", "role": "user", "content": "What is my name?"}]}),
            json!({"model": "m", "prompt_cache_key": "openresponses-compact-test", "input": [
                {"type": "message", "role": "user", "content": "We agreed to launch on Tuesday and notify support first."},
                {"type": "message", "role": "assistant", "content": "Understood. The launch is Tuesday, with support notified beforehand."}]}),
            json!({"type": "response.create", "model": "m", "store": false, "tools": [], "input": [
                {"type": "compaction", "id": "cmp_1", "encrypted_content": compaction_content("The code word is slate.")},
                {"type": "message", "role": "user", "content": "Continue from here. Reply with exactly: compacted"}]}),
        ];
        for body in bodies {
            let r = parse(body.clone());
            assert!(!r.needs_context(), "{body}");
            assert!(!r.chat.messages.is_empty(), "{body}");
        }
        // Continuations wait for the previous response; a missing call fails then.
        let mut r = parse(
            json!({"type": "response.create", "model": "m", "store": false,
            "previous_response_id": "resp_1",
            "input": [{"type": "function_call_output", "call_id": "call_openresponses_missing",
                       "output": "No matching tool call exists in the previous response."}]}),
        );
        assert!(r.needs_context());
        let history = [
            json!({"type": "message", "role": "user", "content": "Remember the code word: ember. Reply with OK."}),
            json!({"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                   "content": [{"type": "output_text", "text": "OK", "annotations": [], "logprobs": []}]}),
        ];
        let e = build_chat(&mut r, &history, |_| None).unwrap_err();
        assert_eq!(e.param(), Some("input.0.call_id"));
        let mut r = parse(
            json!({"type": "response.create", "model": "m", "store": false,
            "previous_response_id": "resp_1", "input": "What is the code word? Reply with only the code word."}),
        );
        build_chat(&mut r, &history, |_| None).unwrap();
        assert_eq!(r.chat.messages.len(), 3);
        // The compact endpoint's body (without model it is a 400 naming model).
        let e = err(
            json!({"input": [{"type": "message", "role": "user", "content": "Compact this conversation."}]}),
        );
        assert_eq!(e.param(), Some("model"));
    }

    #[test]
    fn built_in_tools_are_refused_naming_their_type() {
        for ty in BUILT_IN_TOOLS {
            let e = err(json!({"model": "m", "input": "x", "tools": [
                {"type": "function", "name": "ok"}, {"type": ty}]}));
            assert_eq!(e.param(), Some("tools.1.type"), "{ty}");
            assert_eq!(
                e.message(),
                format!(
                    "tools.1.type: built-in tool {ty:?} is not supported: only function, custom, namespace and client-executed tool_search tools are (an openai-responses upstream takes them all)"
                )
            );
        }
        for ty in BUILT_IN_ITEMS {
            let e = err(with_input(json!([{"type": ty, "id": "x_1"}])));
            assert_eq!(e.param(), Some("input.0.type"), "{ty}");
        }
    }
}
