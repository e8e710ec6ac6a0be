//! Anthropic Messages requests (`/v1/messages`, `/v1/messages/count_tokens`)
//! parsed and validated into a canonical `ChatRequest`. An Anthropic upstream
//! gets the body verbatim, so what the API accepts is accepted here; documents
//! and search results are read in `anthropic_documents`.

use std::collections::HashSet;

use serde_json::Value;

use super::path::{check_schema_members, join, type_name};
use super::Fields;
use crate::canonical::{
    ChatRequest, ContentBlock, ImageSource, Message, ResponseFormat, Role, Tool, ToolChoice,
};
use crate::{Error, Result};

/// Block types a message's content may hold.
const MESSAGE_BLOCKS: &[&str] = &[
    "text",
    "image",
    "tool_use",
    "tool_result",
    "thinking",
    "redacted_thinking",
    "document",
    "search_result",
];
/// Block types inside a `tool_result`'s content.
const TOOL_RESULT_BLOCKS: &[&str] = &["text", "image", "document", "search_result"];
/// Block types a system prompt may hold.
const SYSTEM_BLOCKS: &[&str] = &["text"];

/// Top-level keys mapped to canonical slots; every other key goes to `extra`.
const MAPPED: &[&str] = &[
    "model",
    "max_tokens",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "stream",
    "metadata",
    "thinking",
];

/// Where tools with a server `type` (web search, bash, text editor, ...) are kept,
/// as raw values, in `ChatRequest.extra`: they have no input schema to translate.
pub const SERVER_TOOLS_KEY: &str = "server_tools";

/// A POST /v1/messages body; `max_tokens` is required.
pub fn parse_messages(body: &Value) -> Result<ChatRequest> {
    parse(body, true)
}

/// A POST /v1/messages/count_tokens body: as `parse_messages`, `max_tokens` optional.
pub fn parse_count_tokens(body: &Value) -> Result<ChatRequest> {
    parse(body, false)
}

fn parse(body: &Value, need_max_tokens: bool) -> Result<ChatRequest> {
    let f = Fields::of(body, "")?;

    let model = f.req_str("model")?;
    if model.is_empty() {
        return Err(Error::invalid_field("model", "expected a non-empty string"));
    }
    let mut req = ChatRequest::new(model);

    req.max_tokens = f.u32("max_tokens")?;
    match req.max_tokens {
        None if need_max_tokens => return Err(f.missing("max_tokens")),
        Some(0) => {
            return Err(Error::invalid_field(
                "max_tokens",
                "expected an integer >= 1, got 0",
            ));
        }
        _ => {}
    }

    if let Some(system) = f.get("system") {
        parse_system(system, "system", &mut req.system, &mut req.untranslatable)?;
    }

    let messages = f.req_array("messages")?;
    if messages.is_empty() {
        return Err(Error::invalid_field(
            "messages",
            "expected a non-empty array",
        ));
    }
    let mut tool_use_ids = HashSet::new();
    for (i, m) in messages.iter().enumerate() {
        let path = join("messages", i);
        parse_message(m, &path, &mut req)?;
        pair_tool_results(m, &path, &mut tool_use_ids)?;
    }
    if req.messages.is_empty() {
        return Err(Error::invalid_field(
            "messages",
            "expected at least one user or assistant message",
        ));
    }

    if let Some(tools) = f.array("tools")? {
        let mut server_tools = Vec::new();
        for (i, t) in tools.iter().enumerate() {
            match parse_tool(t, &join("tools", i))? {
                Some(tool) => req.tools.push(tool),
                None => server_tools.push(t.clone()),
            }
        }
        if !server_tools.is_empty() {
            req.extra
                .insert(SERVER_TOOLS_KEY.to_owned(), Value::Array(server_tools));
        }
    }

    let mut buf = String::new();
    if let Some(tc) = f.object("tool_choice", &mut buf)? {
        let kind = tc
            .one_of("type", &["auto", "any", "tool", "none"])?
            .ok_or_else(|| tc.missing("type"))?;
        req.tool_choice = Some(match kind {
            "auto" => ToolChoice::Auto,
            "any" => ToolChoice::Any,
            "tool" => ToolChoice::Tool(tc.req_str("name")?.to_owned()),
            _ => ToolChoice::None,
        });
        if tc.bool("disable_parallel_tool_use")? == Some(true) {
            req.parallel_tool_calls = Some(false);
        }
    }

    if let Some(stops) = f.array("stop_sequences")? {
        for (i, s) in stops.iter().enumerate() {
            match s {
                Value::String(s) => req.stop_sequences.push(s.clone()),
                other => {
                    return Err(Error::invalid_field(
                        join("stop_sequences", i),
                        format!("expected a string, got {}", type_name(other)),
                    ))
                }
            }
        }
    }
    req.temperature = f.f64_in("temperature", 0.0, 1.0)?;
    req.top_p = f.f64_in("top_p", 0.0, 1.0)?;
    req.top_k = f.u32("top_k")?;
    req.stream = f.bool("stream")?.unwrap_or(false);

    let mut buf = String::new();
    if let Some(meta) = f.object("metadata", &mut buf)? {
        req.user = meta.str("user_id")?.map(str::to_owned);
    }

    let mut buf = String::new();
    if let Some(thinking) = f.object("thinking", &mut buf)? {
        thinking
            .one_of("type", &["enabled", "disabled", "adaptive"])?
            .ok_or_else(|| thinking.missing("type"))?;
        thinking.u32("budget_tokens")?;
        req.thinking = f.get("thinking").cloned();
    }

    // Structured output: `output_config.format`, or the older beta
    // `output_format`. Both stay in `extra` too, for an Anthropic upstream,
    // which takes the body as sent; others get the typed `response_format`.
    let mut buf = String::new();
    if let Some(config) = f.object("output_config", &mut buf)? {
        let mut format_buf = String::new();
        if let Some(format) = config.object("format", &mut format_buf)? {
            req.response_format = Some(output_format(&format)?);
        }
        // Not checked against today's levels: an Anthropic upstream judges
        // them. `max` is OpenAI's `high`, the top level every reasoning model takes.
        req.reasoning_effort = config
            .str("effort")?
            .map(|e| if e == "max" { "high" } else { e }.to_owned());
    }
    let mut buf = String::new();
    if let Some(format) = f.object("output_format", &mut buf)? {
        req.response_format = Some(output_format(&format)?);
    }

    for (key, value) in f.obj {
        if !MAPPED.contains(&key.as_str()) && !req.extra.contains_key(key) {
            req.extra.insert(key.clone(), value.clone());
        }
    }
    Ok(req)
}

/// An Anthropic structured-output format: a JSON schema the answer follows.
fn output_format(f: &Fields<'_>) -> Result<ResponseFormat> {
    f.one_of("type", &["json_schema"])?
        .ok_or_else(|| f.missing("type"))?;
    let mut buf = String::new();
    let schema = f
        .object("schema", &mut buf)?
        .ok_or_else(|| f.missing("schema"))?;
    check_schema_members(&schema)?;
    Ok(ResponseFormat::JsonSchema {
        name: "response".to_owned(),
        description: None,
        schema: f.get("schema").cloned().unwrap_or_default(),
        // Anthropic's structured outputs always hold to the schema.
        strict: Some(true),
    })
}

/// Records an assistant message's tool_use ids in `seen`, and refuses a user
/// message's tool_result whose id no earlier tool_use has (every upstream
/// refuses it too, less clearly). `m` has been parsed, so its types are right.
fn pair_tool_results<'a>(m: &'a Value, path: &str, seen: &mut HashSet<&'a str>) -> Result<()> {
    let Some(blocks) = m.get("content").and_then(Value::as_array) else {
        return Ok(());
    };
    let assistant = m.get("role").and_then(Value::as_str) == Some("assistant");
    for (j, b) in blocks.iter().enumerate() {
        let id = |key| b.get(key).and_then(Value::as_str);
        match b.get("type").and_then(Value::as_str) {
            Some("tool_use") if assistant => seen.extend(id("id")),
            Some("tool_result") => match id("tool_use_id") {
                Some(tid) if !seen.contains(tid) => {
                    return Err(Error::invalid_field(
                        format!("{path}.content.{j}.tool_use_id"),
                        format!("{tid:?} answers no tool_use of an earlier assistant message"),
                    ))
                }
                _ => {}
            },
            _ => {}
        }
    }
    Ok(())
}

/// `system`: a string or an array of text blocks, appended to `out`.
fn parse_system(
    v: &Value,
    path: &str,
    out: &mut Vec<ContentBlock>,
    deferred: &mut Option<Error>,
) -> Result<()> {
    match v {
        // An empty system string means no system prompt; an empty text block
        // would be refused by an Anthropic upstream.
        Value::String(s) if s.is_empty() => Ok(()),
        Value::String(s) => {
            out.push(ContentBlock::text(s.as_str()));
            Ok(())
        }
        Value::Array(blocks) => {
            for (i, b) in blocks.iter().enumerate() {
                parse_block(b, &join(path, i), SYSTEM_BLOCKS, deferred, out)?;
            }
            Ok(())
        }
        other => Err(Error::invalid_field(
            path,
            format!("expected a string or an array, got {}", type_name(other)),
        )),
    }
}

fn parse_message(v: &Value, path: &str, req: &mut ChatRequest) -> Result<()> {
    let f = Fields::of(v, path)?;
    let role = f
        .one_of("role", &["user", "assistant", "system"])?
        .ok_or_else(|| f.missing("role"))?;
    let content = f.get("content").ok_or_else(|| f.missing("content"))?;
    let content_path = f.path_of("content");
    let role = match role {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        // Newer Claude Code sends system reminders as `system` messages inside
        // `messages`; the canonical model has one system prompt, so they join it.
        _ => {
            return parse_system(
                content,
                &content_path,
                &mut req.system,
                &mut req.untranslatable,
            )
        }
    };
    let content = match content {
        Value::String(s) => vec![ContentBlock::text(s.as_str())],
        Value::Array(blocks) => {
            let mut out = Vec::with_capacity(blocks.len());
            for (i, b) in blocks.iter().enumerate() {
                let path = join(&content_path, i);
                parse_block(b, &path, MESSAGE_BLOCKS, &mut req.untranslatable, &mut out)?;
            }
            out
        }
        other => {
            return Err(Error::invalid_field(
                content_path,
                format!("expected a string or an array, got {}", type_name(other)),
            ))
        }
    };
    req.messages.push(Message { role, content });
    Ok(())
}

/// One content block whose `type` must be one of `allowed`, appended to `out`;
/// a document or a search result may be several blocks or none (see
/// `anthropic_documents`), and a part only an Anthropic upstream can carry
/// goes to `deferred`.
pub(super) fn parse_block(
    v: &Value,
    path: &str,
    allowed: &[&str],
    deferred: &mut Option<Error>,
    out: &mut Vec<ContentBlock>,
) -> Result<()> {
    let f = Fields::of(v, path)?;
    let kind = f
        .one_of("type", allowed)?
        .ok_or_else(|| f.missing("type"))?;
    // Kept raw wherever the canonical block has the slot: only Anthropic
    // upstreams use it, and it is never an error.
    let cache_control = f.get("cache_control").cloned();
    let block = match kind {
        "text" => ContentBlock::Text {
            text: f.req_str("text")?.to_owned(),
            cache_control,
        },
        "image" => ContentBlock::Image {
            source: parse_image_source(&f)?,
            cache_control,
        },
        "tool_use" => ContentBlock::ToolUse {
            id: f.req_str("id")?.to_owned(),
            name: f.req_str("name")?.to_owned(),
            input: match f.get("input") {
                Some(input @ Value::Object(_)) => input.clone(),
                Some(other) => {
                    return Err(Error::invalid_field(
                        f.path_of("input"),
                        format!("expected an object, got {}", type_name(other)),
                    ))
                }
                None => return Err(f.missing("input")),
            },
            cache_control,
        },
        "tool_result" => ContentBlock::ToolResult {
            tool_use_id: f.req_str("tool_use_id")?.to_owned(),
            content: parse_tool_result_content(&f, deferred)?,
            is_error: f.bool("is_error")?.unwrap_or(false),
            cache_control,
        },
        "thinking" => ContentBlock::Thinking {
            thinking: f.req_str("thinking")?.to_owned(),
            signature: f.str("signature")?.map(str::to_owned),
        },
        "redacted_thinking" => ContentBlock::RedactedThinking {
            data: f.req_str("data")?.to_owned(),
        },
        "document" => return super::anthropic_documents::document(&f, deferred, out, parse_block),
        "search_result" => return super::anthropic_documents::search_result(&f, out),
        // `one_of` admitted only names from `allowed`, all handled above.
        other => {
            return Err(Error::invalid_field(
                f.path_of("type"),
                format!("expected one of {}, got {other:?}", allowed.join(", ")),
            ))
        }
    };
    out.push(block);
    Ok(())
}

fn parse_image_source(f: &Fields<'_>) -> Result<ImageSource> {
    let mut buf = String::new();
    let src = f
        .object("source", &mut buf)?
        .ok_or_else(|| f.missing("source"))?;
    let kind = src
        .one_of("type", &["base64", "url"])?
        .ok_or_else(|| src.missing("type"))?;
    Ok(if kind == "base64" {
        let media_type = src.req_str("media_type")?;
        let data = src.req_str("data")?;
        super::inline::check_base64(
            media_type,
            &src.path_of("media_type"),
            data,
            &src.path_of("data"),
        )?;
        ImageSource::Base64 {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        }
    } else {
        ImageSource::Url {
            url: src.req_str("url")?.to_owned(),
        }
    })
}

/// A `tool_result`'s content: a string, blocks of `TOOL_RESULT_BLOCKS`, or
/// absent (empty).
fn parse_tool_result_content(
    f: &Fields<'_>,
    deferred: &mut Option<Error>,
) -> Result<Vec<ContentBlock>> {
    let path = f.path_of("content");
    match f.get("content") {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![ContentBlock::text(s.as_str())]),
        Some(Value::Array(blocks)) => {
            let mut out = Vec::with_capacity(blocks.len());
            for (i, b) in blocks.iter().enumerate() {
                parse_block(b, &join(&path, i), TOOL_RESULT_BLOCKS, deferred, &mut out)?;
            }
            Ok(out)
        }
        Some(other) => Err(Error::invalid_field(
            path,
            format!("expected a string or an array, got {}", type_name(other)),
        )),
    }
}

/// A custom tool, or `None` for a server tool (kept raw by the caller).
fn parse_tool(v: &Value, path: &str) -> Result<Option<Tool>> {
    let f = Fields::of(v, path)?;
    if let Some(kind) = f.str("type")? {
        if kind != "custom" {
            return Ok(None);
        }
    }

    let name = f.req_str("name")?;
    let name_ok = (1..=128).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !name_ok {
        return Err(Error::invalid_field(
            f.path_of("name"),
            format!("expected 1 to 128 characters of a-z, A-Z, 0-9, _ or -, got {name:?}"),
        ));
    }

    let schema = f
        .get("input_schema")
        .ok_or_else(|| f.missing("input_schema"))?;
    let schema_path = f.path_of("input_schema");
    let s = Fields::of(schema, &schema_path)?;
    match s.get("type") {
        Some(Value::String(t)) if t == "object" => {}
        other => {
            let got = other.map_or_else(|| "nothing".to_owned(), Value::to_string);
            return Err(Error::invalid_field(
                s.path_of("type"),
                format!("expected \"object\", got {got}"),
            ));
        }
    }
    super::path::check_schema_members(&s)?;

    Ok(Some(Tool {
        name: name.to_owned(),
        description: f.str("description")?.map(str::to_owned),
        input_schema: schema.clone(),
        cache_control: f.get("cache_control").cloned(),
    }))
}

#[cfg(test)]
// `allow`, not `expect`: a clippy.toml allowing these in tests would make `expect` fail.
mod tests {
    use super::*;
    use crate::canonical::DocumentSource;
    use serde_json::json;

    const CLAUDE_CODE: &str =
        include_str!("../../tests/fixtures/anthropic/claude-code-2.1.328-messages-request.json");

    fn base() -> Value {
        json!({
            "model": "claude-sonnet-4-6",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": "hi"}]
        })
    }

    /// `base()` with `key` set to `value` (a dotted path into objects and arrays).
    fn with(path: &str, value: Value) -> Value {
        let mut body = base();
        let mut cur = &mut body;
        let parts: Vec<&str> = path.split('.').collect();
        for (n, part) in parts.iter().enumerate() {
            let last = n == parts.len() - 1;
            cur = match cur {
                Value::Array(a) => {
                    let i: usize = part.parse().unwrap();
                    if last {
                        a[i] = value;
                        return body;
                    }
                    &mut a[i]
                }
                Value::Object(o) => {
                    if last {
                        o.insert((*part).to_owned(), value);
                        return body;
                    }
                    o.get_mut(*part).unwrap()
                }
                _ => unreachable!("bad test path {path}"),
            };
        }
        body
    }

    fn err(body: &Value) -> Error {
        parse_messages(body).unwrap_err()
    }

    /// Asserts a 400 whose message is exactly `message` and whose param is its path.
    fn assert_err(body: &Value, message: &str) {
        let e = err(body);
        assert_eq!(e.kind(), crate::ErrorKind::InvalidRequest);
        assert_eq!(e.http_status(), 400);
        assert_eq!(e.message(), message);
        let path = message.split(':').next().unwrap();
        assert_eq!(e.param(), Some(path));
    }

    #[test]
    fn structured_output_becomes_the_typed_format_and_stays_for_anthropic() {
        let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
        let req = parse_messages(&with(
            "output_config",
            json!({"effort": "high", "format": {"type": "json_schema", "schema": schema}}),
        ))
        .unwrap();
        assert_eq!(
            req.response_format,
            Some(ResponseFormat::JsonSchema {
                name: "response".into(),
                description: None,
                schema: schema.clone(),
                strict: Some(true),
            })
        );
        assert_eq!(req.extra["output_config"]["effort"], "high");
        assert_eq!(req.reasoning_effort.as_deref(), Some("high"));
        // The older beta field.
        let req = parse_messages(&with(
            "output_format",
            json!({"type": "json_schema", "schema": schema}),
        ))
        .unwrap();
        assert!(matches!(
            req.response_format,
            Some(ResponseFormat::JsonSchema { .. })
        ));
        // A format the API does not define names its field.
        let e =
            parse_messages(&with("output_config", json!({"format": {"type": "xml"}}))).unwrap_err();
        assert_eq!(e.param(), Some("output_config.format.type"));
        let e = parse_messages(&with("output_format", json!({"type": "json_schema"}))).unwrap_err();
        assert_eq!(e.param(), Some("output_format.schema"));
    }

    #[test]
    fn claude_code_fixture_parses() {
        let body: Value = serde_json::from_str(CLAUDE_CODE).unwrap();
        let req = parse_messages(&body).unwrap();
        assert_eq!(req.model, "claude-sonnet-4-6");
        assert_eq!(req.max_tokens, Some(32000));
        assert!(req.stream);
        assert_eq!(req.system.len(), 3);
        match &req.system[1] {
            ContentBlock::Text {
                text,
                cache_control,
            } => {
                assert!(text.starts_with("You are a Claude agent"));
                assert_eq!(cache_control, &Some(json!({"type": "ephemeral"})));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(req.messages.len(), 1);
        assert_eq!(req.messages[0].role, Role::User);
        assert_eq!(req.messages[0].content.len(), 9);
        assert_eq!(
            req.messages[0].content[8],
            ContentBlock::Text {
                text: "say hello".into(),
                cache_control: Some(json!({"type": "ephemeral"})),
            }
        );
        assert_eq!(req.tools.len(), 12);
        assert_eq!(req.tools[1].name, "Bash");
        assert_eq!(req.tools[1].input_schema["type"], "object");
        assert!(req
            .tools
            .iter()
            .any(|t| t.name == "DeferredToolPlaceholder"));
        assert_eq!(
            req.thinking,
            Some(json!({"display": "omitted", "type": "adaptive"}))
        );
        assert!(req.user.as_deref().unwrap().contains("session_id"));
        let extra: Vec<&str> = req.extra.keys().map(String::as_str).collect();
        assert_eq!(extra, ["context_management", "output_config"]);
        assert_eq!(req.extra["output_config"], json!({"effort": "high"}));
    }

    #[test]
    fn minimal_request() {
        let req = parse_messages(&base()).unwrap();
        assert_eq!(
            req.messages,
            vec![Message {
                role: Role::User,
                content: vec![ContentBlock::text("hi")]
            }]
        );
        assert!(req.system.is_empty());
        assert!(req.tools.is_empty());
        assert!(!req.stream);
        assert!(req.extra.is_empty());
    }

    #[test]
    fn count_tokens_does_not_need_max_tokens() {
        let mut body = base();
        body.as_object_mut().unwrap().remove("max_tokens");
        let req = parse_count_tokens(&body).unwrap();
        assert_eq!(req.max_tokens, None);
        assert_err(&body, "max_tokens: field required");
        // Still validated when present.
        assert!(parse_count_tokens(&with("max_tokens", json!("x"))).is_err());
    }

    #[test]
    fn top_level_errors() {
        let e = err(&json!([1]));
        assert_eq!(
            (e.message(), e.param()),
            ("expected an object, got array", None)
        );
        let mut no_model = base();
        no_model.as_object_mut().unwrap().remove("model");
        assert_err(&no_model, "model: field required");
        assert_err(
            &with("model", json!(3)),
            "model: expected a string, got number",
        );
        assert_err(
            &with("model", json!("")),
            "model: expected a non-empty string",
        );
        assert_err(
            &with("max_tokens", json!(0)),
            "max_tokens: expected an integer >= 1, got 0",
        );
        assert_err(
            &with("max_tokens", json!(-5)),
            "max_tokens: expected a non-negative integer, got -5",
        );
        assert_err(
            &with("max_tokens", json!(1.5)),
            "max_tokens: expected a non-negative integer, got 1.5",
        );
        assert_err(
            &with("max_tokens", json!("9")),
            "max_tokens: expected an integer, got string",
        );
        assert_err(
            &with("messages", json!([])),
            "messages: expected a non-empty array",
        );
        assert_err(
            &with("messages", json!({})),
            "messages: expected an array, got object",
        );
        let mut no_messages = base();
        no_messages.as_object_mut().unwrap().remove("messages");
        assert_err(&no_messages, "messages: field required");
    }

    #[test]
    fn sampling_fields() {
        let mut body = base();
        let o = body.as_object_mut().unwrap();
        o.insert("temperature".into(), json!(0.5));
        o.insert("top_p".into(), json!(1));
        o.insert("top_k".into(), json!(40));
        o.insert("stop_sequences".into(), json!(["\n\nHuman:", "END"]));
        o.insert("stream".into(), json!(true));
        o.insert("metadata".into(), json!({"user_id": "u-1"}));
        let req = parse_messages(&body).unwrap();
        assert_eq!(req.temperature, Some(0.5));
        assert_eq!(req.top_p, Some(1.0));
        assert_eq!(req.top_k, Some(40));
        assert_eq!(req.stop_sequences, ["\n\nHuman:", "END"]);
        assert!(req.stream);
        assert_eq!(req.user.as_deref(), Some("u-1"));
        assert!(req.extra.is_empty());

        assert_err(
            &with("temperature", json!(1.5)),
            "temperature: expected a number between 0 and 1, got 1.5",
        );
        assert_err(
            &with("top_p", json!(-0.1)),
            "top_p: expected a number between 0 and 1, got -0.1",
        );
        assert_err(
            &with("top_k", json!(-1)),
            "top_k: expected a non-negative integer, got -1",
        );
        assert_err(
            &with("stream", json!("yes")),
            "stream: expected a boolean, got string",
        );
        assert_err(
            &with("stop_sequences", json!(["a", 1])),
            "stop_sequences.1: expected a string, got number",
        );
        assert_err(
            &with("stop_sequences", json!("a")),
            "stop_sequences: expected an array, got string",
        );
        assert_err(
            &with("metadata", json!("u")),
            "metadata: expected an object, got string",
        );
        assert_err(
            &with("metadata", json!({"user_id": 7})),
            "metadata.user_id: expected a string, got number",
        );
    }

    #[test]
    fn thinking_is_validated_and_kept_raw() {
        let t = json!({"type": "enabled", "budget_tokens": 2048});
        let req = parse_messages(&with("thinking", t.clone())).unwrap();
        assert_eq!(req.thinking, Some(t));
        assert_err(
            &with("thinking", json!({"type": "on"})),
            "thinking.type: expected one of enabled, disabled, adaptive, got \"on\"",
        );
        assert_err(
            &with("thinking", json!({})),
            "thinking.type: field required",
        );
        assert_err(
            &with(
                "thinking",
                json!({"type": "enabled", "budget_tokens": "2k"}),
            ),
            "thinking.budget_tokens: expected an integer, got string",
        );
        assert_err(
            &with("thinking", json!(true)),
            "thinking: expected an object, got boolean",
        );
    }

    #[test]
    fn unknown_top_level_fields_go_to_extra() {
        let mut body = base();
        let o = body.as_object_mut().unwrap();
        o.insert("service_tier".into(), json!("auto"));
        o.insert("container".into(), json!({"id": "c1"}));
        o.insert("mcp_servers".into(), json!([{"name": "x"}]));
        let req = parse_messages(&body).unwrap();
        assert_eq!(req.extra.len(), 3);
        assert_eq!(req.extra["service_tier"], json!("auto"));
        assert_eq!(req.extra["container"], json!({"id": "c1"}));
        assert_eq!(req.extra["mcp_servers"], json!([{"name": "x"}]));
    }

    #[test]
    fn system_string_and_blocks() {
        let req = parse_messages(&with("system", json!("be brief"))).unwrap();
        assert_eq!(req.system, vec![ContentBlock::text("be brief")]);
        let req = parse_messages(&with(
            "system",
            json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b", "cache_control": {"type": "ephemeral"}}]),
        ))
        .unwrap();
        assert_eq!(
            req.system,
            vec![
                ContentBlock::text("a"),
                ContentBlock::Text {
                    text: "b".into(),
                    cache_control: Some(json!({"type": "ephemeral"}))
                }
            ]
        );
        assert_err(
            &with("system", json!([{"type": "image"}])),
            "system.0.type: expected one of text, got \"image\"",
        );
        assert_err(
            &with("system", json!([{"type": "text"}])),
            "system.0.text: field required",
        );
        assert_err(
            &with("system", json!(5)),
            "system: expected a string or an array, got number",
        );
    }

    #[test]
    fn system_role_messages_join_the_system_prompt() {
        let body = with(
            "messages",
            json!([
                {"role": "user", "content": "hi"},
                {"role": "system", "content": "reminder"},
                {"role": "assistant", "content": [{"type": "text", "text": "hello"}]},
                {"role": "system", "content": [{"type": "text", "text": "second"}]}
            ]),
        );
        let mut body = body;
        body["system"] = json!("top");
        let req = parse_messages(&body).unwrap();
        assert_eq!(
            req.system,
            vec![
                ContentBlock::text("top"),
                ContentBlock::text("reminder"),
                ContentBlock::text("second")
            ]
        );
        assert_eq!(req.messages.len(), 2);
        assert_eq!(req.messages[1].role, Role::Assistant);

        assert_err(
            &with("messages", json!([{"role": "system", "content": "only"}])),
            "messages: expected at least one user or assistant message",
        );
    }

    #[test]
    fn message_errors() {
        assert_err(
            &with("messages.0", json!("hi")),
            "messages.0: expected an object, got string",
        );
        assert_err(
            &with("messages.0.role", json!("tool")),
            "messages.0.role: expected one of user, assistant, system, got \"tool\"",
        );
        assert_err(
            &with("messages.0", json!({"content": "x"})),
            "messages.0.role: field required",
        );
        assert_err(
            &with("messages.0", json!({"role": "user"})),
            "messages.0.content: field required",
        );
        assert_err(
            &with("messages.0.content", json!(42)),
            "messages.0.content: expected a string or an array, got number",
        );
        assert_err(
            &with("messages.0.content", json!(["hi"])),
            "messages.0.content.0: expected an object, got string",
        );
    }

    fn content(blocks: Value) -> Value {
        with("messages.0.content", blocks)
    }

    fn blocks_of(body: &Value) -> Vec<ContentBlock> {
        parse_messages(body).unwrap().messages.remove(0).content
    }

    #[test]
    fn bad_block_type_lists_the_allowed_types() {
        let body = with(
            "messages",
            json!([
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"},
                {"role": "user", "content": [{"type": "container_upload", "file_id": "f"}]}
            ]),
        );
        assert_err(
            &body,
            "messages.2.content.0.type: expected one of text, image, tool_use, tool_result, thinking, redacted_thinking, document, search_result, got \"container_upload\"",
        );
        assert_err(
            &content(json!([{"text": "x"}])),
            "messages.0.content.0.type: field required",
        );
    }

    #[test]
    fn text_blocks() {
        let b = blocks_of(&content(
            json!([{"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]),
        ));
        assert_eq!(
            b,
            vec![ContentBlock::Text {
                text: "x".into(),
                cache_control: Some(json!({"type": "ephemeral", "ttl": "1h"}))
            }]
        );
        assert_err(
            &content(json!([{"type": "text"}])),
            "messages.0.content.0.text: field required",
        );
        assert_err(
            &content(json!([{"type": "text", "text": 1}])),
            "messages.0.content.0.text: expected a string, got number",
        );
    }

    #[test]
    fn image_blocks() {
        let b = blocks_of(&content(json!([
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}, "cache_control": {"type": "ephemeral"}}
        ])));
        assert_eq!(
            b,
            vec![
                ContentBlock::Image {
                    source: ImageSource::Base64 {
                        media_type: "image/png".into(),
                        data: "AAAA".into()
                    },
                    cache_control: None
                },
                ContentBlock::Image {
                    source: ImageSource::Url {
                        url: "https://example.com/a.png".into()
                    },
                    cache_control: Some(json!({"type": "ephemeral"}))
                }
            ]
        );
        assert_err(
            &content(json!([{"type": "image"}])),
            "messages.0.content.0.source: field required",
        );
        assert_err(
            &content(json!([{"type": "image", "source": "x"}])),
            "messages.0.content.0.source: expected an object, got string",
        );
        assert_err(
            &content(json!([{"type": "image", "source": {"type": "file", "file_id": "f"}}])),
            "messages.0.content.0.source.type: expected one of base64, url, got \"file\"",
        );
        assert_err(
            &content(
                json!([{"type": "image", "source": {"type": "base64", "media_type": "image/png"}}]),
            ),
            "messages.0.content.0.source.data: field required",
        );
        assert_err(
            &content(json!([{"type": "image", "source": {"type": "base64", "data": "AA"}}])),
            "messages.0.content.0.source.media_type: field required",
        );
        assert_err(
            &content(json!([{"type": "image", "source": {"type": "url"}}])),
            "messages.0.content.0.source.url: field required",
        );
    }

    fn pdf(data: &str) -> Value {
        json!({"type": "base64", "media_type": "application/pdf", "data": data})
    }

    #[test]
    fn pdf_documents_stay_documents() {
        let b = blocks_of(&content(json!([
            {"type": "document", "source": pdf("JVBERi0="), "title": "Q3", "context": "from 2024",
             "citations": {"enabled": true}, "cache_control": {"type": "ephemeral"}},
            {"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}, "title": null}
        ])));
        assert_eq!(
            b,
            vec![
                ContentBlock::Document {
                    source: DocumentSource::Base64 {
                        media_type: "application/pdf".into(),
                        data: "JVBERi0=".into()
                    },
                    title: Some("Q3".into()),
                    context: Some("from 2024".into()),
                    cache_control: Some(json!({"type": "ephemeral"}))
                },
                ContentBlock::Document {
                    source: DocumentSource::Url {
                        url: "https://x/a.pdf".into(),
                        field: "messages.0.content.1.source.url".into()
                    },
                    title: None,
                    context: None,
                    cache_control: None
                }
            ]
        );
    }

    #[test]
    fn text_documents_and_search_results_become_text() {
        let b = blocks_of(&content(json!([
            {"type": "document", "title": "Notes", "context": "mine",
             "source": {"type": "text", "media_type": "text/plain", "data": "Buy milk."}},
            {"type": "document", "cache_control": {"type": "ephemeral"}, "source": {"type": "content", "content": [
                {"type": "text", "text": "Chunk one."},
                {"type": "image", "source": {"type": "url", "url": "https://x/a.png"}}
            ]}},
            {"type": "document", "title": "T", "source": {"type": "content", "content": "Plain."}},
            {"type": "search_result", "source": "https://x/doc", "title": "Doc", "citations": {"enabled": false},
             "content": [{"type": "text", "text": "First."}, {"type": "text", "text": "Second."}]}
        ])));
        assert_eq!(
            b,
            vec![
                ContentBlock::text("Document: Notes\nContext: mine\n\nBuy milk."),
                ContentBlock::text("Chunk one."),
                ContentBlock::Image {
                    source: ImageSource::Url {
                        url: "https://x/a.png".into()
                    },
                    cache_control: Some(json!({"type": "ephemeral"}))
                },
                ContentBlock::text("Document: T"),
                ContentBlock::text("Plain."),
                ContentBlock::text(
                    "Search result: Doc\nSource: https://x/doc\n\nFirst.\n\nSecond."
                ),
            ]
        );
    }

    #[test]
    fn documents_in_tool_results_as_claude_code_reads_a_pdf() {
        let body = with(
            "messages",
            json!([
                {"role": "user", "content": "read it"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/a.pdf"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                    {"type": "document", "source": pdf("JVBERi0=")},
                    {"type": "search_result", "source": "s", "title": "t", "content": [{"type": "text", "text": "x"}]}
                ]}]}
            ]),
        );
        let req = parse_messages(&body).unwrap();
        assert_eq!(
            req.messages[2].content,
            vec![ContentBlock::ToolResult {
                tool_use_id: "toolu_1".into(),
                content: vec![
                    ContentBlock::pdf("JVBERi0="),
                    ContentBlock::text("Search result: t\nSource: s\n\nx")
                ],
                is_error: false,
                cache_control: None
            }]
        );
        assert_eq!(req.untranslatable, None);
    }

    #[test]
    fn documents_only_anthropic_reads_are_accepted_and_deferred() {
        let req = parse_messages(&content(json!([
            {"type": "text", "text": "two files"},
            {"type": "document", "source": {"type": "file", "file_id": "file_011"}},
            {"type": "document", "source": {"type": "base64", "media_type": "text/csv", "data": "YSxi"}}
        ])))
        .unwrap();
        assert_eq!(
            req.messages[0].content,
            vec![ContentBlock::text("two files")]
        );
        let e = req.translatable().unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert_eq!(e.param(), Some("messages.0.content.1.source.file_id"));
        let req = parse_messages(&content(json!([
            {"type": "document", "source": {"type": "base64", "media_type": "text/csv", "data": "YSxi"}}
        ])))
        .unwrap();
        assert_eq!(
            req.translatable().unwrap_err().param(),
            Some("messages.0.content.0.source.media_type")
        );
    }

    #[test]
    fn document_errors_name_the_field() {
        let doc = |v: Value| content(json!([v]));
        for (block, message) in [
            (json!({"type": "document"}), "messages.0.content.0.source: field required"),
            (
                json!({"type": "document", "source": {"type": "zip"}}),
                "messages.0.content.0.source.type: expected one of base64, url, text, content, file, got \"zip\"",
            ),
            (
                json!({"type": "document", "source": {"type": "base64", "media_type": "application/pdf"}}),
                "messages.0.content.0.source.data: field required",
            ),
            (
                json!({"type": "document", "source": pdf("!!")}),
                "messages.0.content.0.source.data: expected the document as non-empty base64 data",
            ),
            (
                json!({"type": "document", "source": {"type": "url"}}),
                "messages.0.content.0.source.url: field required",
            ),
            (
                json!({"type": "document", "source": {"type": "text", "data": "x"}}),
                "messages.0.content.0.source.media_type: field required",
            ),
            (
                json!({"type": "document", "source": {"type": "content", "content": 1}}),
                "messages.0.content.0.source.content: expected a string or an array, got number",
            ),
            (
                json!({"type": "document", "source": {"type": "content", "content": [{"type": "document"}]}}),
                "messages.0.content.0.source.content.0.type: expected one of text, image, got \"document\"",
            ),
            (
                json!({"type": "document", "source": {"type": "file"}}),
                "messages.0.content.0.source.file_id: field required",
            ),
            (
                json!({"type": "document", "source": pdf("JVBE"), "title": 1}),
                "messages.0.content.0.title: expected a string, got number",
            ),
            (
                json!({"type": "document", "source": pdf("JVBE"), "context": []}),
                "messages.0.content.0.context: expected a string, got array",
            ),
            (
                json!({"type": "document", "source": pdf("JVBE"), "citations": {"enabled": "yes"}}),
                "messages.0.content.0.citations.enabled: expected a boolean, got string",
            ),
            (
                json!({"type": "search_result", "title": "t", "content": []}),
                "messages.0.content.0.source: field required",
            ),
            (
                json!({"type": "search_result", "source": "s", "content": []}),
                "messages.0.content.0.title: field required",
            ),
            (
                json!({"type": "search_result", "source": "s", "title": "t"}),
                "messages.0.content.0.content: field required",
            ),
            (
                json!({"type": "search_result", "source": "s", "title": "t", "content": [{"type": "image"}]}),
                "messages.0.content.0.content.0.type: expected one of text, got \"image\"",
            ),
        ] {
            assert_err(&doc(block), message);
        }
    }

    #[test]
    fn tool_use_and_tool_result_blocks() {
        let body = with(
            "messages",
            json!([
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "opaque"},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}},
                    {"type": "tool_use", "id": "toolu_3", "name": "get_weather", "input": {}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny", "cache_control": {"type": "ephemeral"}},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": true, "content": [
                        {"type": "text", "text": "boom"},
                        {"type": "image", "source": {"type": "url", "url": "u"}}
                    ]},
                    {"type": "tool_result", "tool_use_id": "toolu_3"}
                ]}
            ]),
        );
        let req = parse_messages(&body).unwrap();
        assert_eq!(
            req.messages[1].content[..3],
            [
                ContentBlock::Thinking {
                    thinking: "hmm".into(),
                    signature: Some("sig".into())
                },
                ContentBlock::RedactedThinking {
                    data: "opaque".into()
                },
                ContentBlock::ToolUse {
                    id: "toolu_1".into(),
                    name: "get_weather".into(),
                    input: json!({"city": "Paris"}),
                    cache_control: None
                }
            ]
        );
        assert_eq!(
            req.messages[2].content,
            vec![
                ContentBlock::ToolResult {
                    tool_use_id: "toolu_1".into(),
                    content: vec![ContentBlock::text("sunny")],
                    is_error: false,
                    cache_control: Some(json!({"type": "ephemeral"}))
                },
                ContentBlock::ToolResult {
                    tool_use_id: "toolu_2".into(),
                    content: vec![
                        ContentBlock::text("boom"),
                        ContentBlock::Image {
                            source: ImageSource::Url { url: "u".into() },
                            cache_control: None
                        }
                    ],
                    is_error: true,
                    cache_control: None
                },
                ContentBlock::ToolResult {
                    tool_use_id: "toolu_3".into(),
                    content: vec![],
                    is_error: false,
                    cache_control: None
                }
            ]
        );
    }

    #[test]
    fn tool_block_errors() {
        let tu = |v: Value| content(json!([v]));
        assert_err(
            &tu(json!({"type": "tool_use", "name": "f", "input": {}})),
            "messages.0.content.0.id: field required",
        );
        assert_err(
            &tu(json!({"type": "tool_use", "id": "t", "input": {}})),
            "messages.0.content.0.name: field required",
        );
        assert_err(
            &tu(json!({"type": "tool_use", "id": "t", "name": "f"})),
            "messages.0.content.0.input: field required",
        );
        assert_err(
            &tu(json!({"type": "tool_use", "id": "t", "name": "f", "input": "{}"})),
            "messages.0.content.0.input: expected an object, got string",
        );
        assert_err(
            &tu(json!({"type": "tool_result", "content": "x"})),
            "messages.0.content.0.tool_use_id: field required",
        );
        assert_err(
            &tu(json!({"type": "tool_result", "tool_use_id": "t", "is_error": "no"})),
            "messages.0.content.0.is_error: expected a boolean, got string",
        );
        assert_err(
            &tu(json!({"type": "tool_result", "tool_use_id": "t", "content": 3})),
            "messages.0.content.0.content: expected a string or an array, got number",
        );
        assert_err(
            &tu(
                json!({"type": "tool_result", "tool_use_id": "t", "content": [
                    {"type": "text", "text": "ok"}, {"type": "tool_use", "id": "x"}
                ]}),
            ),
            "messages.0.content.0.content.1.type: expected one of text, image, document, search_result, got \"tool_use\"",
        );
        assert_err(
            &tu(json!({"type": "thinking"})),
            "messages.0.content.0.thinking: field required",
        );
        assert_err(
            &tu(json!({"type": "thinking", "thinking": "x", "signature": 1})),
            "messages.0.content.0.signature: expected a string, got number",
        );
        assert_err(
            &tu(json!({"type": "redacted_thinking"})),
            "messages.0.content.0.data: field required",
        );
    }

    fn tool(name: &str) -> Value {
        json!({
            "name": name,
            "description": "Gets the weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        })
    }

    #[test]
    fn tools_are_parsed() {
        let mut t = tool("get_weather-2");
        t["cache_control"] = json!({"type": "ephemeral"});
        t["defer_loading"] = json!(true);
        let req = parse_messages(&with(
            "tools",
            json!([t, {"type": "custom", "name": "b", "input_schema": {"type": "object"}}]),
        ))
        .unwrap();
        assert_eq!(
            req.tools[0],
            Tool {
                name: "get_weather-2".into(),
                description: Some("Gets the weather".into()),
                input_schema: tool("x")["input_schema"].clone(),
                cache_control: Some(json!({"type": "ephemeral"}))
            }
        );
        assert_eq!(req.tools[1].name, "b");
        assert_eq!(req.tools[1].description, None);
        assert!(!req.extra.contains_key(SERVER_TOOLS_KEY));
    }

    #[test]
    fn server_tools_are_kept_in_extra() {
        let search = json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 5});
        let bash = json!({"type": "bash_20250124", "name": "bash"});
        let req = parse_messages(&with("tools", json!([tool("f"), search, bash]))).unwrap();
        assert_eq!(req.tools.len(), 1);
        assert_eq!(req.extra[SERVER_TOOLS_KEY], json!([search, bash]));
    }

    #[test]
    fn tool_errors() {
        let bad_name = "tools.0.name: expected 1 to 128 characters of a-z, A-Z, 0-9, _ or -, got";
        assert_err(
            &with("tools", json!([tool("get weather")])),
            &format!("{bad_name} \"get weather\""),
        );
        assert_err(
            &with("tools", json!([tool("")])),
            &format!("{bad_name} \"\""),
        );
        let long = "a".repeat(129);
        assert_err(
            &with("tools", json!([tool(&long)])),
            &format!("{bad_name} \"{long}\""),
        );
        assert!(parse_messages(&with("tools", json!([tool(&"a".repeat(128))]))).is_ok());
        assert_err(
            &with("tools", json!({"name": "f"})),
            "tools: expected an array, got object",
        );
        assert_err(
            &with("tools", json!(["f"])),
            "tools.0: expected an object, got string",
        );
        assert_err(
            &with("tools", json!([{"input_schema": {"type": "object"}}])),
            "tools.0.name: field required",
        );
        assert_err(
            &with("tools", json!([{"name": "f"}])),
            "tools.0.input_schema: field required",
        );
        assert_err(
            &with(
                "tools",
                json!([tool("a"), {"name": "f", "input_schema": "{}"}]),
            ),
            "tools.1.input_schema: expected an object, got string",
        );
        assert_err(
            &with(
                "tools",
                json!([{"name": "f", "input_schema": {"type": "array"}}]),
            ),
            "tools.0.input_schema.type: expected \"object\", got \"array\"",
        );
        assert_err(
            &with(
                "tools",
                json!([{"name": "f", "input_schema": {"properties": {}}}]),
            ),
            "tools.0.input_schema.type: expected \"object\", got nothing",
        );
        assert_err(
            &with(
                "tools",
                json!([{"name": "f", "input_schema": {"type": "object", "properties": []}}]),
            ),
            "tools.0.input_schema.properties: expected an object, got array",
        );
        assert_err(
            &with(
                "tools",
                json!([{"name": "f", "input_schema": {"type": "object", "required": "a"}}]),
            ),
            "tools.0.input_schema.required: expected an array, got string",
        );
        assert_err(
            &with(
                "tools",
                json!([{"name": "f", "input_schema": {"type": "object", "required": ["a", 2]}}]),
            ),
            "tools.0.input_schema.required.1: expected a string, got number",
        );
        assert_err(
            &with(
                "tools",
                json!([{"name": "f", "description": 1, "input_schema": {"type": "object"}}]),
            ),
            "tools.0.description: expected a string, got number",
        );
    }

    #[test]
    fn tool_choice() {
        let parse_tc = |tc: Value| parse_messages(&with("tool_choice", tc)).unwrap();
        let req = parse_tc(json!({"type": "auto"}));
        assert_eq!(
            (req.tool_choice, req.parallel_tool_calls),
            (Some(ToolChoice::Auto), None)
        );
        let req = parse_tc(json!({"type": "any", "disable_parallel_tool_use": true}));
        assert_eq!(
            (req.tool_choice, req.parallel_tool_calls),
            (Some(ToolChoice::Any), Some(false))
        );
        let req =
            parse_tc(json!({"type": "tool", "name": "f", "disable_parallel_tool_use": false}));
        assert_eq!(
            (req.tool_choice, req.parallel_tool_calls),
            (Some(ToolChoice::Tool("f".into())), None)
        );
        assert_eq!(
            parse_tc(json!({"type": "none"})).tool_choice,
            Some(ToolChoice::None)
        );

        assert_err(
            &with("tool_choice", json!({"type": "tool"})),
            "tool_choice.name: field required",
        );
        assert_err(
            &with("tool_choice", json!({"type": "required"})),
            "tool_choice.type: expected one of auto, any, tool, none, got \"required\"",
        );
        assert_err(
            &with("tool_choice", json!({})),
            "tool_choice.type: field required",
        );
        assert_err(
            &with("tool_choice", json!("auto")),
            "tool_choice: expected an object, got string",
        );
        assert_err(
            &with(
                "tool_choice",
                json!({"type": "auto", "disable_parallel_tool_use": 1}),
            ),
            "tool_choice.disable_parallel_tool_use: expected a boolean, got number",
        );
    }

    #[test]
    fn null_counts_as_absent() {
        let mut body = base();
        let o = body.as_object_mut().unwrap();
        o.insert("system".into(), Value::Null);
        o.insert("temperature".into(), Value::Null);
        o.insert("tools".into(), Value::Null);
        let req = parse_messages(&body).unwrap();
        assert!(req.system.is_empty());
        assert_eq!(req.temperature, None);
        assert!(req.extra.is_empty());
    }
}
