//! OpenAI Chat Completions request (POST /v1/chat/completions) parsed and
//! validated into the canonical `ChatRequest`.
//!
//! Choices made where the OpenAI API leaves room:
//! - every system/developer message, wherever it stands, goes to `ChatRequest.system`
//!   (the canonical model has one system slot);
//! - the legacy `function` role and assistant `function_call` are refused with a 400
//!   naming the field: they carry no call id, so they cannot round-trip;
//! - consecutive messages of the same canonical role merge into one message, so tool
//!   messages and the user message after them become one user turn
//!   `[ToolResult, ..., user blocks]`;
//! - empty text in system, assistant and tool content is dropped (`content: ""` next
//!   to `tool_calls` is common and an empty text block is an error upstream), and an
//!   assistant message left with nothing to say is dropped;
//! - `tools[].function.parameters` without a `type` gets `"type": "object"`;
//! - a `file` part holding a PDF data URL is a document (`filename` its title);
//!   one by `file_id`, or with other `file_data`, is accepted for an OpenAI
//!   upstream (which takes the body verbatim) and deferred as the 400 of every
//!   other (`ChatRequest::untranslatable`).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::path::{check_schema_members, join, type_name};
use super::{Fields, Part};
use crate::canonical::{
    ChatRequest, ContentBlock, DocumentSource, ImageSource, Message, ResponseFormat, Role, Tool,
    ToolChoice, PDF,
};
use crate::{Error, Result};

/// Top-level fields mapped to canonical slots; every other key goes to `extra`.
const MAPPED: &[&str] = &[
    "model",
    "messages",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "user",
    "stream",
    "stream_options",
    "n",
    "logprobs",
    "top_logprobs",
    "response_format",
    "reasoning_effort",
    "prompt_cache_key",
];

const ROLES: &[&str] = &["system", "developer", "user", "assistant", "tool"];

/// OpenAI's own limit on `stop`.
const MAX_STOP_SEQUENCES: usize = 4;
const MAX_TOOL_NAME_CHARS: usize = 64;

/// `response_format` (or the Responses API's `text.format`, which has the
/// `json_schema` members at its top level instead of under `json_schema`).
pub fn parse_response_format(f: &Fields<'_>) -> Result<ResponseFormat> {
    match f.one_of("type", &["text", "json_object", "json_schema"])? {
        Some("json_object") => Ok(ResponseFormat::JsonObject),
        Some("json_schema") => {
            let mut inner_path = String::new();
            let inner = f.object("json_schema", &mut inner_path)?;
            let g = inner.as_ref().unwrap_or(f);
            let name = g.str("name")?.unwrap_or("response").to_owned();
            let mut schema_path = String::new();
            let schema = match g.object("schema", &mut schema_path)? {
                Some(s) => {
                    check_schema_members(&s)?;
                    g.get("schema").cloned().unwrap_or_default()
                }
                None => serde_json::json!({"type": "object"}),
            };
            Ok(ResponseFormat::JsonSchema {
                name,
                description: g.str("description")?.map(str::to_owned),
                schema,
                strict: g.bool("strict")?,
            })
        }
        Some(_) => Ok(ResponseFormat::Text),
        None => Err(f.missing("type")),
    }
}

/// Parses and validates a Chat Completions request body.
pub fn parse_chat(body: &Value) -> Result<ChatRequest> {
    let f = Fields::of(body, "")?;
    let mut req = ChatRequest::new(f.req_str("model")?);

    let messages = f.req_array("messages")?;
    if messages.is_empty() {
        return Err(Error::invalid_field(
            "messages",
            "expected at least one message, got an empty array",
        ));
    }
    let mut tool_call_ids = HashSet::new();
    for (i, m) in messages.iter().enumerate() {
        parse_message(m, i, &mut req)?;
        pair_tool_results(m, i, &mut tool_call_ids)?;
    }

    req.tools = parse_tools(&f)?;
    req.tool_choice = parse_tool_choice(&f)?;
    req.parallel_tool_calls = f.bool("parallel_tool_calls")?;

    // Both are validated; the newer name wins when a client sends both.
    let max_completion_tokens = positive(&f, "max_completion_tokens")?;
    let max_tokens = positive(&f, "max_tokens")?;
    req.max_tokens = max_completion_tokens.or(max_tokens);

    req.temperature = f.f64_in("temperature", 0.0, 2.0)?;
    req.top_p = f.f64_in("top_p", 0.0, 1.0)?;
    req.stop_sequences = parse_stop(&f)?;
    req.user = f.str("user")?.map(str::to_owned);
    req.stream = f.bool("stream")?.unwrap_or(false);
    let mut opts_path = String::new();
    if let Some(opts) = f.object("stream_options", &mut opts_path)? {
        req.include_usage = opts.bool("include_usage")?.unwrap_or(false);
    }

    // An OpenAI upstream honours `n`; any other upstream refuses it.
    match f.u32("n")? {
        Some(0) => {
            return Err(Error::invalid_field(
                "n",
                "expected an integer of at least 1, got 0",
            ))
        }
        Some(1) | None => {}
        Some(n) => req.n = Some(n),
    }
    req.logprobs = f.bool("logprobs")?.unwrap_or(false);
    req.top_logprobs = f.u32("top_logprobs")?;
    let mut format_path = String::new();
    if let Some(format) = f.object("response_format", &mut format_path)? {
        req.response_format = Some(parse_response_format(&format)?);
    }

    req.reasoning_effort = f.str("reasoning_effort")?.map(str::to_owned);
    req.prompt_cache_key = f.str("prompt_cache_key")?.map(str::to_owned);

    for (key, value) in f.obj {
        if !MAPPED.contains(&key.as_str()) {
            req.extra.insert(key.clone(), value.clone());
        }
    }
    Ok(req)
}

/// An optional integer of at least 1 (a limit of 0 tokens answers nothing).
fn positive(f: &Fields, key: &str) -> Result<Option<u32>> {
    match f.u32(key)? {
        Some(0) => Err(Error::invalid_field(key, "expected an integer >= 1, got 0")),
        other => Ok(other),
    }
}

/// Parses `messages[i]` and adds it to the system slot or the conversation.
fn parse_message(m: &Value, i: usize, req: &mut ChatRequest) -> Result<()> {
    let path = join("messages", i);
    let f = Fields::of(m, &path)?;
    let deferred = &mut req.untranslatable;
    match f.req_str("role")? {
        "system" | "developer" => {
            let blocks = content_blocks(&f, PartKind::Text, deferred)?
                .ok_or_else(|| f.missing("content"))?;
            req.system.extend(non_empty(blocks));
        }
        "user" => {
            let blocks = content_blocks(&f, PartKind::User, deferred)?
                .ok_or_else(|| f.missing("content"))?;
            push(&mut req.messages, Role::User, blocks);
        }
        "assistant" => {
            let blocks = assistant_blocks(&f, deferred)?;
            push(&mut req.messages, Role::Assistant, blocks);
        }
        "tool" => {
            let block = tool_result(&f, deferred)?;
            push(&mut req.messages, Role::User, vec![block]);
        }
        other => {
            let hint = if other == "function" {
                " (the legacy function role is not supported; use tool)"
            } else {
                ""
            };
            return Err(Error::invalid_field(
                f.path_of("role"),
                format!("expected one of {}, got {other:?}{hint}", ROLES.join(", ")),
            ));
        }
    }
    Ok(())
}

/// Records an assistant message's tool call ids in `seen`, and refuses a tool
/// message whose `tool_call_id` no earlier call has (OpenAI refuses it too).
/// `m` has been parsed, so its types are right.
fn pair_tool_results<'a>(m: &'a Value, i: usize, seen: &mut HashSet<&'a str>) -> Result<()> {
    match m.get("role").and_then(Value::as_str) {
        Some("assistant") => {
            let calls = m.get("tool_calls").and_then(Value::as_array);
            seen.extend(
                calls
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.get("id")?.as_str()),
            );
        }
        Some("tool") => match m.get("tool_call_id").and_then(Value::as_str) {
            Some(id) if !seen.contains(id) => {
                return Err(Error::invalid_field(
                    format!("messages.{i}.tool_call_id"),
                    format!("{id:?} answers no tool call of an earlier assistant message"),
                ))
            }
            _ => {}
        },
        _ => {}
    }
    Ok(())
}

/// Appends blocks to the last message when it has the same role, else starts a new
/// one; an empty block list adds nothing.
fn push(messages: &mut Vec<Message>, role: Role, content: Vec<ContentBlock>) {
    if content.is_empty() {
        return;
    }
    match messages.last_mut() {
        Some(last) if last.role == role => last.content.extend(content),
        _ => messages.push(Message { role, content }),
    }
}

fn non_empty(blocks: Vec<ContentBlock>) -> impl Iterator<Item = ContentBlock> {
    blocks
        .into_iter()
        .filter(|b| !matches!(b, ContentBlock::Text { text, .. } if text.is_empty()))
}

/// Which content parts a role accepts.
#[derive(Clone, Copy, PartialEq)]
enum PartKind {
    /// system, developer and tool messages.
    Text,
    User,
    Assistant,
}

impl PartKind {
    fn allowed(self) -> &'static [&'static str] {
        match self {
            PartKind::Text => &["text"],
            PartKind::User => &["text", "image_url", "file"],
            PartKind::Assistant => &["text", "refusal"],
        }
    }
}

/// `content` as a string or an array of parts; `None` when absent or null.
/// A part only an OpenAI upstream can carry goes to `deferred` (the first wins).
fn content_blocks(
    f: &Fields,
    kind: PartKind,
    deferred: &mut Option<Error>,
) -> Result<Option<Vec<ContentBlock>>> {
    match f.get("content") {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![ContentBlock::text(s.as_str())])),
        Some(Value::Array(parts)) => {
            let base = f.path_of("content");
            let mut out = Vec::with_capacity(parts.len());
            for (j, part) in parts.iter().enumerate() {
                match content_part(part, &join(&base, j), kind)? {
                    Part::Block(block) => out.push(block),
                    Part::Deferred(e) => {
                        deferred.get_or_insert(e);
                    }
                }
            }
            Ok(Some(out))
        }
        Some(v) => Err(Error::invalid_field(
            f.path_of("content"),
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
    if kind == PartKind::User && ty == "input_audio" {
        return Err(Error::invalid_field(
            p.path_of("type"),
            format!("{ty:?} content parts are not supported"),
        ));
    }
    let cache_control = p.get("cache_control").cloned();
    let block = match ty {
        "text" => ContentBlock::Text {
            text: p.req_str("text")?.to_owned(),
            cache_control,
        },
        // A refusal the model gave earlier is replayed as what it said.
        "refusal" if kind == PartKind::Assistant => ContentBlock::Text {
            text: p.req_str("refusal")?.to_owned(),
            cache_control,
        },
        "image_url" if kind == PartKind::User => ContentBlock::Image {
            source: image_source(&p)?,
            cache_control,
        },
        "file" if kind == PartKind::User => return file_part(&p, cache_control),
        other => {
            return Err(Error::invalid_field(
                p.path_of("type"),
                format!(
                    "expected one of {}, got {other:?}",
                    kind.allowed().join(", ")
                ),
            ))
        }
    };
    Ok(Part::Block(block))
}

/// A `file` part: `file_data` as a PDF data URL is a document (`filename` its
/// title); a file by `file_id`, or data of another form, only an OpenAI
/// upstream reads.
fn file_part(p: &Fields, cache_control: Option<Value>) -> Result<Part> {
    let mut buf = String::new();
    let file = p
        .object("file", &mut buf)?
        .ok_or_else(|| p.missing("file"))?;
    let title = file.str("filename")?;
    let file_id = file.str("file_id")?;
    let Some(data) = file.str("file_data")? else {
        return match file_id {
            Some(_) => Ok(Part::Deferred(Error::invalid_field(
                file.path_of("file_id"),
                "a file by id can be sent only to an OpenAI upstream (the file is in its Files API); send the PDF inline as file_data",
            ))),
            None => Err(Error::invalid_field(
                file.path_of("file_data"),
                "field required (or file_id)",
            )),
        };
    };
    let path = file.path_of("file_data");
    match super::inline::data_url(data) {
        Some((PDF, base64)) => {
            super::inline::check_data(base64, &path, "the file")?;
            Ok(Part::Block(ContentBlock::Document {
                source: DocumentSource::Base64 {
                    media_type: PDF.to_owned(),
                    data: base64.trim().to_owned(),
                },
                title: title.map(str::to_owned),
                context: None,
                cache_control,
            }))
        }
        _ => Ok(Part::Deferred(Error::invalid_field(
            path,
            format!("only a PDF as a data URL (data:{PDF};base64,...) can be sent to an upstream other than OpenAI"),
        ))),
    }
}

/// `image_url: {url, detail?}`; a bare string URL is accepted too. `detail` has no
/// canonical slot and is dropped.
pub(super) fn image_source(p: &Fields) -> Result<ImageSource> {
    let (url, url_path) = match p.get("image_url") {
        None => return Err(p.missing("image_url")),
        Some(Value::String(url)) => (url.clone(), p.path_of("image_url")),
        Some(v @ Value::Object(_)) => {
            let path = p.path_of("image_url");
            let url = Fields::of(v, &path)?.req_str("url")?.to_owned();
            (url, join(&path, "url"))
        }
        Some(v) => {
            return Err(Error::invalid_field(
                p.path_of("image_url"),
                format!("expected an object, got {}", type_name(v)),
            ))
        }
    };
    if !url.starts_with("data:") {
        return Ok(ImageSource::Url { url });
    }
    let (media_type, data) = super::inline::data_url(&url).ok_or_else(|| {
        Error::invalid_field(
            &url_path,
            "expected an http(s) URL or a data URL of the form data:<media type>;base64,<data>",
        )
    })?;
    super::inline::check_base64(media_type, &url_path, data, &url_path)?;
    Ok(ImageSource::Base64 {
        media_type: media_type.to_owned(),
        data: data.to_owned(),
    })
}

/// An assistant message: `reasoning_content` first, then text/refusal, then tool calls.
fn assistant_blocks(f: &Fields, deferred: &mut Option<Error>) -> Result<Vec<ContentBlock>> {
    if f.get("function_call").is_some() {
        return Err(Error::invalid_field(
            f.path_of("function_call"),
            "the legacy function_call is not supported; use tool_calls",
        ));
    }
    let mut blocks = Vec::new();
    if let Some(thinking) = f.str("reasoning_content")?.filter(|s| !s.is_empty()) {
        blocks.push(ContentBlock::Thinking {
            thinking: thinking.to_owned(),
            signature: None,
        });
    }
    let content = content_blocks(f, PartKind::Assistant, deferred)?;
    let refusal = f.str("refusal")?;
    let calls = tool_calls(f)?;
    if content.is_none() && refusal.is_none() && calls.is_empty() && blocks.is_empty() {
        // OpenAI requires content unless tool_calls are given.
        return Err(f.missing("content"));
    }
    blocks.extend(non_empty(content.unwrap_or_default()));
    if let Some(refusal) = refusal.filter(|s| !s.is_empty()) {
        blocks.push(ContentBlock::text(refusal));
    }
    blocks.extend(calls);
    Ok(blocks)
}

/// `tool_calls[j]` as ToolUse blocks, ids verbatim, arguments parsed.
fn tool_calls(f: &Fields) -> Result<Vec<ContentBlock>> {
    let Some(calls) = f.array("tool_calls")? else {
        return Ok(Vec::new());
    };
    let base = f.path_of("tool_calls");
    let mut blocks = Vec::with_capacity(calls.len());
    for (j, call) in calls.iter().enumerate() {
        let path = join(&base, j);
        let c = Fields::of(call, &path)?;
        c.one_of("type", &["function"])?;
        let id = c.req_str("id")?;
        let mut fn_path = String::new();
        let func = c
            .object("function", &mut fn_path)?
            .ok_or_else(|| c.missing("function"))?;
        let name = func.req_str("name")?;
        let input = match func.get("arguments") {
            None => Value::Object(Map::new()),
            Some(Value::String(s)) if s.trim().is_empty() => Value::Object(Map::new()),
            Some(Value::String(s)) => serde_json::from_str(s).map_err(|e| {
                Error::invalid_field(
                    func.path_of("arguments"),
                    format!("expected a JSON object encoded as a string, got invalid JSON ({e})"),
                )
            })?,
            // An object is refused as OpenAI refuses it: the API takes a string.
            Some(v) => {
                return Err(Error::invalid_field(
                    func.path_of("arguments"),
                    format!("expected a string, got {}", type_name(v)),
                ))
            }
        };
        if !input.is_object() {
            return Err(Error::invalid_field(
                func.path_of("arguments"),
                format!("expected a JSON object, got {}", type_name(&input)),
            ));
        }
        blocks.push(ContentBlock::ToolUse {
            id: id.to_owned(),
            name: name.to_owned(),
            input,
            cache_control: None,
        });
    }
    Ok(blocks)
}

/// A `tool` message as a ToolResult; OpenAI has no error flag.
fn tool_result(f: &Fields, deferred: &mut Option<Error>) -> Result<ContentBlock> {
    let tool_use_id = f.req_str("tool_call_id")?.to_owned();
    let content =
        content_blocks(f, PartKind::Text, deferred)?.ok_or_else(|| f.missing("content"))?;
    Ok(ContentBlock::ToolResult {
        tool_use_id,
        content: non_empty(content).collect(),
        is_error: false,
        cache_control: None,
    })
}

fn parse_tools(f: &Fields) -> Result<Vec<Tool>> {
    let Some(tools) = f.array("tools")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(tools.len());
    for (i, tool) in tools.iter().enumerate() {
        let path = join("tools", i);
        let t = Fields::of(tool, &path)?;
        t.one_of("type", &["function"])?
            .ok_or_else(|| t.missing("type"))?;
        let mut fn_path = String::new();
        let func = t
            .object("function", &mut fn_path)?
            .ok_or_else(|| t.missing("function"))?;
        let name = func.req_str("name")?;
        if !valid_tool_name(name) {
            return Err(Error::invalid_field(
                func.path_of("name"),
                format!(
                    "expected 1 to {MAX_TOOL_NAME_CHARS} characters among a-z, A-Z, 0-9, _ and -, got {name:?}"
                ),
            ));
        }
        out.push(Tool {
            name: name.to_owned(),
            description: func.str("description")?.map(str::to_owned),
            input_schema: parameters(&func)?,
            cache_control: t.get("cache_control").cloned(),
        });
    }
    Ok(out)
}

pub(super) fn valid_tool_name(name: &str) -> bool {
    (1..=MAX_TOOL_NAME_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `function.parameters` as an object schema; absent means no arguments.
pub(super) fn parameters(func: &Fields) -> Result<Value> {
    let mut schema_path = String::new();
    let Some(schema) = func.object("parameters", &mut schema_path)? else {
        return Ok(serde_json::json!({"type": "object", "properties": {}}));
    };
    super::path::check_schema_members(&schema)?;
    match schema.obj.get("type") {
        Some(Value::String(t)) if t == "object" => Ok(Value::Object(schema.obj.clone())),
        None | Some(Value::Null) => {
            let mut obj = Map::with_capacity(schema.obj.len() + 1);
            obj.insert("type".to_owned(), Value::from("object"));
            obj.extend(schema.obj.iter().map(|(k, v)| (k.clone(), v.clone())));
            Ok(Value::Object(obj))
        }
        Some(other) => {
            let got = match other {
                Value::String(s) => format!("{s:?}"),
                v => type_name(v).to_owned(),
            };
            Err(Error::invalid_field(
                schema.path_of("type"),
                format!("expected \"object\", got {got}"),
            ))
        }
    }
}

fn parse_tool_choice(f: &Fields) -> Result<Option<ToolChoice>> {
    match f.get("tool_choice") {
        None => Ok(None),
        Some(Value::String(s)) => match s.as_str() {
            "auto" => Ok(Some(ToolChoice::Auto)),
            "none" => Ok(Some(ToolChoice::None)),
            "required" => Ok(Some(ToolChoice::Any)),
            other => Err(Error::invalid_field(
                "tool_choice",
                format!("expected one of auto, none, required or a function object, got {other:?}"),
            )),
        },
        Some(v @ Value::Object(_)) => {
            let c = Fields::of(v, "tool_choice")?;
            c.one_of("type", &["function"])?
                .ok_or_else(|| c.missing("type"))?;
            let mut fn_path = String::new();
            let func = c
                .object("function", &mut fn_path)?
                .ok_or_else(|| c.missing("function"))?;
            Ok(Some(ToolChoice::Tool(func.req_str("name")?.to_owned())))
        }
        Some(v) => Err(Error::invalid_field(
            "tool_choice",
            format!("expected a string or an object, got {}", type_name(v)),
        )),
    }
}

fn parse_stop(f: &Fields) -> Result<Vec<String>> {
    match f.get("stop") {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => {
            if items.len() > MAX_STOP_SEQUENCES {
                return Err(Error::invalid_field(
                    "stop",
                    format!(
                        "expected at most {MAX_STOP_SEQUENCES} sequences, got {}",
                        items.len()
                    ),
                ));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    v => Err(Error::invalid_field(
                        join("stop", i),
                        format!("expected a string, got {}", type_name(v)),
                    )),
                })
                .collect()
        }
        Some(v) => Err(Error::invalid_field(
            "stop",
            format!(
                "expected a string or an array of strings, got {}",
                type_name(v)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(body: Value) -> Error {
        parse_chat(&body).unwrap_err()
    }

    fn base(messages: Value) -> Value {
        json!({"model": "gpt-4o", "messages": messages})
    }

    #[test]
    fn tool_round_trip_conversation_merges_tool_results_and_user_text() {
        let body = json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {"role": "assistant", "content": null, "reasoning_content": "Two cities.",
                 "tool_calls": [
                    {"id": "call_a", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_b", "type": "function",
                     "function": {"name": "get_weather", "arguments": ""}}
                 ]},
                {"role": "tool", "tool_call_id": "call_a", "content": "18C"},
                {"role": "tool", "tool_call_id": "call_b",
                 "content": [{"type": "text", "text": "21C"}]},
                {"role": "user", "content": "Thanks, which is warmer?"}
            ],
            "tools": [{"type": "function", "function": {
                "name": "get_weather", "description": "Weather now", "strict": true,
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                               "required": ["city"]}}}],
            "tool_choice": "required",
            "parallel_tool_calls": false
        });
        let req = parse_chat(&body).unwrap();
        assert_eq!(req.model, "gpt-4o");
        assert_eq!(req.system, vec![ContentBlock::text("You are terse.")]);
        assert_eq!(req.messages.len(), 3);
        assert_eq!(req.messages[0].role, Role::User);
        assert_eq!(
            req.messages[0].content,
            vec![ContentBlock::text("Weather in Paris and Rome?")]
        );
        assert_eq!(
            req.messages[1],
            Message {
                role: Role::Assistant,
                content: vec![
                    ContentBlock::Thinking {
                        thinking: "Two cities.".into(),
                        signature: None
                    },
                    ContentBlock::ToolUse {
                        id: "call_a".into(),
                        name: "get_weather".into(),
                        input: json!({"city": "Paris"}),
                        cache_control: None,
                    },
                    ContentBlock::ToolUse {
                        id: "call_b".into(),
                        name: "get_weather".into(),
                        input: json!({}),
                        cache_control: None,
                    },
                ],
            }
        );
        assert_eq!(
            req.messages[2],
            Message {
                role: Role::User,
                content: vec![
                    ContentBlock::ToolResult {
                        tool_use_id: "call_a".into(),
                        content: vec![ContentBlock::text("18C")],
                        is_error: false,
                        cache_control: None,
                    },
                    ContentBlock::ToolResult {
                        tool_use_id: "call_b".into(),
                        content: vec![ContentBlock::text("21C")],
                        is_error: false,
                        cache_control: None,
                    },
                    ContentBlock::text("Thanks, which is warmer?"),
                ],
            }
        );
        assert_eq!(req.tools.len(), 1);
        assert_eq!(req.tools[0].name, "get_weather");
        assert_eq!(req.tools[0].description.as_deref(), Some("Weather now"));
        assert_eq!(req.tools[0].input_schema["required"], json!(["city"]));
        assert_eq!(req.tool_choice, Some(ToolChoice::Any));
        assert_eq!(req.parallel_tool_calls, Some(false));
        // `strict` goes nowhere, and nothing mapped leaks into extra.
        assert!(req.extra.is_empty(), "{:?}", req.extra);
    }

    #[test]
    fn system_and_developer_messages_anywhere_go_to_system() {
        let req = parse_chat(&base(json!([
            {"role": "developer", "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]},
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "C"},
            {"role": "user", "content": "again"}
        ])))
        .unwrap();
        let system: Vec<String> = req.system.iter().map(ContentBlock::plain_text).collect();
        assert_eq!(system, ["A", "B", "C"]);
        // The two user turns are now adjacent and merge.
        assert_eq!(req.messages.len(), 1);
        assert_eq!(
            req.messages[0].content,
            vec![ContentBlock::text("hi"), ContentBlock::text("again")]
        );
    }

    #[test]
    fn user_parts_text_and_images() {
        let req = parse_chat(&base(json!([{"role": "user", "content": [
            {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
        ]}])))
        .unwrap();
        assert_eq!(
            req.messages[0].content,
            vec![
                ContentBlock::Text {
                    text: "look".into(),
                    cache_control: Some(json!({"type": "ephemeral"})),
                },
                ContentBlock::Image {
                    source: ImageSource::Base64 {
                        media_type: "image/png".into(),
                        data: "iVBORw0KGgo=".into(),
                    },
                    cache_control: None,
                },
                ContentBlock::Image {
                    source: ImageSource::Url {
                        url: "https://example.com/cat.jpg".into()
                    },
                    cache_control: None,
                },
            ]
        );
    }

    #[test]
    fn assistant_text_refusal_and_empty_content() {
        let req = parse_chat(&base(json!([
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "refusal", "refusal": "no"}]},
            {"role": "user", "content": "q2"},
            // Empty text next to tool calls is dropped.
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
        ])))
        .unwrap();
        assert_eq!(
            req.messages[1].content,
            vec![ContentBlock::text("a"), ContentBlock::text("no")]
        );
        assert_eq!(req.messages[3].content.len(), 1);
        assert!(
            matches!(&req.messages[3].content[0], ContentBlock::ToolUse { id, .. } if id == "t1")
        );
    }

    #[test]
    fn sampling_fields_and_extra() {
        let req = parse_chat(&json!({
            "model": "m",
            "messages": [{"role": "user", "content": "x"}],
            "max_tokens": 100,
            "max_completion_tokens": 200,
            "temperature": 1.5,
            "top_p": 0.9,
            "stop": "END",
            "user": "u-1",
            "stream": true,
            "stream_options": {"include_usage": true},
            "n": 1,
            "seed": 7,
            "response_format": {"type": "json_object"},
            "reasoning_effort": "low",
            "x-custom": [1, 2]
        }))
        .unwrap();
        assert_eq!(req.max_tokens, Some(200));
        assert_eq!(req.temperature, Some(1.5));
        assert_eq!(req.top_p, Some(0.9));
        assert_eq!(req.stop_sequences, ["END"]);
        assert_eq!(req.user.as_deref(), Some("u-1"));
        assert!(req.stream);
        assert!(req.include_usage);
        assert_eq!(req.response_format, Some(ResponseFormat::JsonObject));
        let extra = Value::Object(req.extra);
        assert_eq!(extra, json!({"seed": 7, "x-custom": [1, 2]}));
        assert_eq!(req.reasoning_effort.as_deref(), Some("low"));

        let req = parse_chat(&json!({
            "model": "m", "messages": [{"role": "user", "content": "x"}],
            "max_tokens": 5, "n": 3, "stop": ["a", "b"], "tool_choice": {"type": "function", "function": {"name": "f"}}
        }))
        .unwrap();
        assert_eq!(req.max_tokens, Some(5));
        assert_eq!(req.n, Some(3));
        assert_eq!(req.stop_sequences, ["a", "b"]);
        assert_eq!(req.tool_choice, Some(ToolChoice::Tool("f".into())));
        assert!(!req.stream && !req.include_usage);
    }

    #[test]
    fn tool_parameters_default_and_missing_type() {
        let req = parse_chat(&json!({
            "model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": [
                {"type": "function", "function": {"name": "no_args"}},
                {"type": "function", "function": {"name": "untyped", "parameters": {"properties": {}}}}
            ]
        }))
        .unwrap();
        assert_eq!(
            req.tools[0].input_schema,
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(
            req.tools[1].input_schema,
            json!({"type": "object", "properties": {}})
        );
    }

    #[test]
    fn validation_errors_name_the_field() {
        let cases: Vec<(Value, &str, &str)> = vec![
            (json!([]), "", "expected an object, got array"),
            (json!({"messages": []}), "model", "model: field required"),
            (base(json!([])), "messages", "messages: expected at least one message, got an empty array"),
            (
                base(json!([{"role": "user", "content": "a"}, {"role": "x", "content": "b"}])),
                "messages.1.role",
                "messages.1.role: expected one of system, developer, user, assistant, tool, got \"x\"",
            ),
            (
                base(json!([{"role": "user", "content": ["a"]}])),
                "messages.0.content.0",
                "messages.0.content.0: expected an object, got string",
            ),
            (
                base(json!([{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "video"}]}])),
                "messages.0.content.1.type",
                "messages.0.content.1.type: expected one of text, image_url, file, got \"video\"",
            ),
            (
                base(json!([{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}])),
                "messages.0.content.0.type",
                "messages.0.content.0.type: \"input_audio\" content parts are not supported",
            ),
            (
                base(json!([{"role": "user", "content": [{"type": "file"}]}])),
                "messages.0.content.0.file",
                "messages.0.content.0.file: field required",
            ),
            (
                base(json!([{"role": "user", "content": [{"type": "file", "file": {"filename": "a.pdf"}}]}])),
                "messages.0.content.0.file.file_data",
                "messages.0.content.0.file.file_data: field required (or file_id)",
            ),
            (
                base(json!([{"role": "user", "content": [{"type": "file", "file": {"file_data": 7}}]}])),
                "messages.0.content.0.file.file_data",
                "messages.0.content.0.file.file_data: expected a string, got number",
            ),
            (
                base(json!([{"role": "user", "content": [{"type": "file", "file": {"file_data": "data:application/pdf;base64,!!"}}]}])),
                "messages.0.content.0.file.file_data",
                "messages.0.content.0.file.file_data: expected the file as non-empty base64 data",
            ),
            (
                base(json!([{"role": "tool", "tool_call_id": "c", "content": [{"type": "file", "file": {"file_id": "f"}}]}])),
                "messages.0.content.0.type",
                "messages.0.content.0.type: expected one of text, got \"file\"",
            ),
            (
                base(json!([{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "u"}}]}])),
                "messages.0.content.0.type",
                "messages.0.content.0.type: expected one of text, got \"image_url\"",
            ),
            (
                base(json!([{"role": "user", "content": 5}])),
                "messages.0.content",
                "messages.0.content: expected a string or an array of content parts, got number",
            ),
            (
                base(json!([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,abc"}}]}])),
                "messages.0.content.0.image_url.url",
                "messages.0.content.0.image_url.url: expected an http(s) URL or a data URL of the form data:<media type>;base64,<data>",
            ),
            (
                base(json!([{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{\"a\":"}}]}])),
                "messages.1.tool_calls.0.function.arguments",
                "",
            ),
            (
                base(json!([{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}])),
                "messages.1.tool_calls.0.function.arguments",
                "messages.1.tool_calls.0.function.arguments: expected a JSON object, got array",
            ),
            (
                base(json!([{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}])),
                "messages.1.tool_calls.0.function.arguments",
                "messages.1.tool_calls.0.function.arguments: expected a string, got object",
            ),
            (
                base(json!([{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [
                    {"type": "function", "function": {"name": "f"}}]}])),
                "messages.1.tool_calls.0.id",
                "messages.1.tool_calls.0.id: field required",
            ),
            (
                base(json!([{"role": "user", "content": "q"}, {"role": "assistant", "content": null}])),
                "messages.1.content",
                "messages.1.content: field required",
            ),
            (
                base(json!([{"role": "tool", "content": "r"}])),
                "messages.0.tool_call_id",
                "messages.0.tool_call_id: field required",
            ),
            (
                base(json!([{"role": "user", "content": "q"}, {"role": "function", "name": "f", "content": "r"}])),
                "messages.1.role",
                "messages.1.role: expected one of system, developer, user, assistant, tool, got \"function\" (the legacy function role is not supported; use tool)",
            ),
        ];
        for (body, param, message) in cases {
            let e = err(body.clone());
            assert_eq!(e.kind(), crate::ErrorKind::InvalidRequest, "{body}");
            assert_eq!(e.param().unwrap_or(""), param, "{body}");
            if !message.is_empty() {
                assert_eq!(e.message(), message, "{body}");
            }
        }
    }

    #[test]
    fn file_parts_are_documents_and_file_ids_wait_for_a_translating_upstream() {
        let req = parse_chat(&base(json!([{"role": "user", "content": [
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "x.pdf"}},
            {"type": "text", "text": "Summarize."}
        ]}])))
        .unwrap();
        assert_eq!(
            req.messages[0].content,
            vec![
                ContentBlock::Document {
                    source: DocumentSource::Base64 {
                        media_type: PDF.into(),
                        data: "JVBERi0=".into()
                    },
                    title: Some("x.pdf".into()),
                    context: None,
                    cache_control: None
                },
                ContentBlock::text("Summarize.")
            ]
        );
        assert_eq!(req.untranslatable, None);

        // Accepted (an OpenAI upstream takes the body verbatim), and the first
        // such part is what every translating upstream refuses.
        let req = parse_chat(&base(json!([
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": [
                {"type": "text", "text": "Read these."},
                {"type": "file", "file": {"file_id": "file-abc"}},
                {"type": "file", "file": {"file_data": "data:text/plain;base64,aGk=", "filename": "a.txt"}}
            ]}
        ])))
        .unwrap();
        assert_eq!(
            req.messages[2].content,
            vec![ContentBlock::text("Read these.")]
        );
        let e = req.translatable().unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert_eq!(e.param(), Some("messages.2.content.1.file.file_id"));
        let req = parse_chat(&base(json!([{"role": "user", "content": [
            {"type": "file", "file": {"file_data": "JVBERi0=", "filename": "raw.pdf"}}
        ]}])))
        .unwrap();
        assert_eq!(
            req.translatable().unwrap_err().param(),
            Some("messages.0.content.0.file.file_data")
        );
    }

    #[test]
    fn top_level_validation_errors() {
        let msgs = json!([{"role": "user", "content": "x"}]);
        let with = |key: &str, v: Value| {
            let mut body = base(msgs.clone());
            body[key] = v;
            err(body)
        };
        let e = with(
            "tools",
            json!([{"type": "function", "function": {"name": "ok"}}, {"type": "custom", "custom": {}}]),
        );
        assert_eq!(
            e.message(),
            "tools.1.type: expected one of function, got \"custom\""
        );
        let e = with(
            "tools",
            json!([{"type": "function", "function": {"name": "bad name"}}]),
        );
        assert_eq!(e.param(), Some("tools.0.function.name"));
        let e = with(
            "tools",
            json!([{"type": "function", "function": {"name": &"x".repeat(65)}}]),
        );
        assert_eq!(e.param(), Some("tools.0.function.name"));
        let e = with(
            "tools",
            json!([{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}]),
        );
        assert_eq!(
            e.message(),
            "tools.0.function.parameters.type: expected \"object\", got \"array\""
        );
        let e = with(
            "tools",
            json!([{"type": "function", "function": {"name": "f", "parameters": "{}"}}]),
        );
        assert_eq!(
            e.message(),
            "tools.0.function.parameters: expected an object, got string"
        );
        let e = with("tool_choice", json!("sometimes"));
        assert_eq!(e.param(), Some("tool_choice"));
        let e = with("tool_choice", json!({"type": "function", "function": {}}));
        assert_eq!(e.message(), "tool_choice.function.name: field required");
        let e = with("temperature", json!(2.5));
        assert_eq!(
            e.message(),
            "temperature: expected a number between 0 and 2, got 2.5"
        );
        let e = with("top_p", json!(-0.1));
        assert_eq!(e.param(), Some("top_p"));
        let e = with("max_completion_tokens", json!(-1));
        assert_eq!(e.param(), Some("max_completion_tokens"));
        let e = with("max_tokens", json!("10"));
        assert_eq!(e.message(), "max_tokens: expected an integer, got string");
        let e = with("stop", json!(["a", "b", "c", "d", "e"]));
        assert_eq!(e.message(), "stop: expected at most 4 sequences, got 5");
        let e = with("stop", json!(["a", 1]));
        assert_eq!(e.message(), "stop.1: expected a string, got number");
        let e = with("stream_options", json!({"include_usage": "yes"}));
        assert_eq!(
            e.message(),
            "stream_options.include_usage: expected a boolean, got string"
        );
        let e = with("n", json!(0));
        assert_eq!(e.param(), Some("n"));
        let e = with("parallel_tool_calls", json!(1));
        assert_eq!(e.param(), Some("parallel_tool_calls"));
    }

    #[test]
    fn nulls_count_as_absent() {
        let req = parse_chat(&json!({
            "model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": null, "tool_choice": null, "stop": null, "max_tokens": null, "stream_options": null
        }))
        .unwrap();
        assert!(req.tools.is_empty());
        assert_eq!(req.tool_choice, None);
        assert!(req.stop_sequences.is_empty());
        assert_eq!(req.max_tokens, None);
        assert!(req.extra.is_empty());
    }
}
