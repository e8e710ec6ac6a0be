//! Canonical → an OpenAI Responses API request (`translate`), a whole response
//! object → canonical (`response_from`), and what the stream reader
//! (`responses_stream`) shares with it: usage, stop reasons, output items, and
//! the reasoning state a thinking signature carries.
//!
//! Choices made where the two models differ:
//! - `input` keeps the conversation order: a user turn's tool results become
//!   `function_call_output` items ahead of its other content (as the Chat
//!   Completions upstream orders tool messages); an error result is text
//!   prefixed `Error: `; a result holding images or documents is an array of
//!   parts; a document is an `input_file` (`file_data` with a `filename`
//!   ending in `.pdf`, or `file_url`), its `context` an `input_text` ahead of it;
//! - a reasoning item rides in a Thinking block's signature as
//!   `openai-responses:{id}:{encrypted_content}` (`reasoning_signature`), so a
//!   client that echoes thinking blocks gives the same item back; other
//!   thinking (Anthropic's signatures, redacted blocks) is dropped, as it
//!   cannot change what an OpenAI model does;
//! - reasoning: `reasoning_effort` is `reasoning.effort` and wins; else
//!   Anthropic `thinking` `enabled` picks an effort from `budget_tokens`
//!   (below 4096 `low`, below 16384 `medium`, else `high`), `adaptive` leaves
//!   the model's default, `disabled` (or no thinking) sends no `reasoning`.
//!   Whenever reasoning is asked for (an effort other than `none`),
//!   `summary: auto` makes summaries stream back as thinking;
//! - always `store: false` (the gateway never relies on state kept upstream),
//!   and `include: ["reasoning.encrypted_content"]` whenever reasoning is asked
//!   for or carried in the input (that state rides in signatures instead;
//!   models that do not reason refuse it); function tools are sent `strict: false`, since the
//!   API makes them strict by default and strict mode rejects ordinary schemas;
//! - `max_tokens` below OpenAI's minimum of 16 is raised to 16;
//! - dropped, as they cannot change the answer: `top_k`, `cache_control`,
//!   `user`; refused with a 400 naming them as the client wrote them:
//!   `stop_sequences` (a Chat Completions client's `stop`), `n`;
//!   `req.extra` is never read (it is for same-kind pass-through).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::counts::token_count;
use super::documents::{context_text, data_url, pdf_filename};
use super::openai_wire::{bad_answer, parse_arguments};
use crate::call::Shape;
use crate::canonical::{
    ChatRequest, ChatResponse, ContentBlock, DocumentSource, ImageSource, Reasoning,
    ResponseFormat, Role, StopReason, Tool, ToolChoice, Usage,
};
use crate::{Error, ErrorKind, Result};

/// What starts a signature holding a reasoning item. Anthropic signatures are
/// base64, which never holds a `:`.
const SIGNATURE_PREFIX: &str = "openai-responses:";

/// OpenAI refuses a `max_output_tokens` below this.
const MIN_OUTPUT_TOKENS: u32 = 16;

const ENCRYPTED: &str = "reasoning.encrypted_content";
const LOGPROBS: &str = "message.output_text.logprobs";

/// Canonical → a Responses API request body, without `stream` (the caller adds it).
pub fn translate(req: &ChatRequest, model: &str) -> Result<Map<String, Value>> {
    req.translatable()?;
    if !req.stop_sequences.is_empty() {
        let chat = req
            .source
            .as_ref()
            .is_some_and(|s| s.shape == Shape::OpenAi);
        return Err(Error::invalid_field(
            if chat { "stop" } else { "stop_sequences" },
            "this model's upstream (the Responses API) has no stop sequences",
        ));
    }
    if let Some(n) = req.n {
        return Err(Error::invalid_field(
            "n",
            format!("this model's upstream (the Responses API) gives one answer, got n = {n}"),
        ));
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    let system: Vec<String> = req
        .system
        .iter()
        .map(ContentBlock::plain_text)
        .filter(|t| !t.is_empty())
        .collect();
    if !system.is_empty() {
        body.insert("instructions".into(), json!(system.join("\n\n")));
    }
    let mut input = Vec::new();
    for (i, m) in req.messages.iter().enumerate() {
        match m.role {
            Role::User => user_items(&m.content, &mut input),
            Role::Assistant => assistant_items(&m.content, i, &mut input)?,
        }
    }
    body.insert("input".into(), Value::Array(input));
    if let Some(n) = req.max_tokens {
        body.insert("max_output_tokens".into(), json!(n.max(MIN_OUTPUT_TOKENS)));
    }
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), json!(p));
    }
    if let Some(n) = req.top_logprobs {
        body.insert("top_logprobs".into(), json!(n));
    }
    if let Some(f) = &req.response_format {
        body.insert("text".into(), json!({"format": text_format(f)}));
    }
    if let Some(r) = reasoning(req) {
        body.insert("reasoning".into(), r);
    }
    if !req.tools.is_empty() {
        let tools = req.tools.iter().map(function_tool).collect();
        body.insert("tools".into(), Value::Array(tools));
        if let Some(p) = req.parallel_tool_calls {
            body.insert("parallel_tool_calls".into(), json!(p));
        }
    }
    if let Some(choice) = &req.tool_choice {
        let v = match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::Any => json!("required"),
            ToolChoice::None => json!("none"),
            ToolChoice::Tool(name) => json!({"type": "function", "name": name}),
        };
        if !req.tools.is_empty() || matches!(choice, ToolChoice::None) {
            body.insert("tool_choice".into(), v);
        }
    }
    if let Some(k) = &req.prompt_cache_key {
        body.insert("prompt_cache_key".into(), json!(k));
    }
    body.insert("store".into(), json!(false));
    // Models that do not reason refuse `include` of encrypted reasoning: it
    // is asked for only where reasoning is (asked for, or carried in input).
    let mut include = Vec::new();
    let carried = body["input"]
        .as_array()
        .is_some_and(|items| items.iter().any(|i| i["type"] == "reasoning"));
    if body.contains_key("reasoning") || carried {
        include.push(ENCRYPTED);
    }
    if req.logprobs || req.top_logprobs.is_some() {
        include.push(LOGPROBS);
    }
    if !include.is_empty() {
        body.insert("include".into(), json!(include));
    }
    Ok(body)
}

/// A user turn: its tool results first, in order, then one message of the rest.
fn user_items(content: &[ContentBlock], out: &mut Vec<Value>) {
    let mut parts = Vec::new();
    for b in content {
        match b {
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
                ..
            } => out.push(json!({
                "type": "function_call_output",
                "call_id": tool_use_id,
                "output": tool_output(content, *is_error),
            })),
            other => input_parts(other, &mut parts),
        }
    }
    if !parts.is_empty() {
        out.push(json!({"type": "message", "role": "user", "content": parts}));
    }
}

/// A tool result's `output`: its text, or its parts when it holds more than text.
fn tool_output(content: &[ContentBlock], is_error: bool) -> Value {
    let prefix = if is_error { "Error: " } else { "" };
    if content
        .iter()
        .all(|b| matches!(b, ContentBlock::Text { .. }))
    {
        let text = content
            .iter()
            .map(ContentBlock::plain_text)
            .collect::<Vec<_>>()
            .join("\n");
        return json!(format!("{prefix}{text}"));
    }
    let mut parts = Vec::with_capacity(content.len() + 1);
    for b in content {
        input_parts(b, &mut parts);
    }
    if is_error {
        parts.insert(0, json!({"type": "input_text", "text": prefix.trim_end()}));
    }
    Value::Array(parts)
}

/// A block as input parts: none for what a user turn cannot hold, two for a
/// document with a context (its text ahead of the file).
fn input_parts(b: &ContentBlock, out: &mut Vec<Value>) {
    match b {
        ContentBlock::Text { text, .. } => out.push(json!({"type": "input_text", "text": text})),
        ContentBlock::Image { source, .. } => {
            let url = match source {
                ImageSource::Base64 { media_type, data } => data_url(media_type, data),
                ImageSource::Url { url } => url.clone(),
            };
            out.push(json!({"type": "input_image", "image_url": url, "detail": "auto"}));
        }
        ContentBlock::Document {
            source,
            title,
            context,
            ..
        } => {
            if let Some(text) = context_text(title.as_deref(), context.as_deref()) {
                out.push(json!({"type": "input_text", "text": text}));
            }
            out.push(match source {
                DocumentSource::Base64 { media_type, data } => json!({
                    "type": "input_file",
                    "file_data": data_url(media_type, data),
                    "filename": pdf_filename(title.as_deref()),
                }),
                DocumentSource::Url { url, .. } => json!({"type": "input_file", "file_url": url}),
            });
        }
        _ => {}
    }
}

/// An assistant turn, block by block: consecutive texts are one message. A
/// reasoning item must be followed by the item it led to (OpenAI refuses it
/// otherwise), so one that ends the turn, cut short, is dropped.
fn assistant_items(content: &[ContentBlock], index: usize, out: &mut Vec<Value>) -> Result<()> {
    let mut texts = Vec::new();
    let mut reasoning = Vec::new();
    for b in content {
        match b {
            ContentBlock::Text { text, .. } => {
                out.append(&mut reasoning);
                texts.push(json!({"type": "output_text", "text": text, "annotations": []}));
            }
            ContentBlock::ToolUse {
                id, name, input, ..
            } => {
                assistant_message(&mut texts, out);
                out.append(&mut reasoning);
                out.push(json!({
                    "type": "function_call",
                    "call_id": id,
                    "name": name,
                    "arguments": input.to_string(),
                }));
            }
            ContentBlock::Thinking {
                thinking,
                signature: Some(sig),
            } => {
                if let Some(item) = reasoning_item(thinking, sig) {
                    assistant_message(&mut texts, out);
                    reasoning.push(item);
                }
            }
            ContentBlock::Image { .. } | ContentBlock::Document { .. } => {
                return Err(Error::invalid_field(
                    format!("messages.{index}.content"),
                    "this model's upstream takes no images or documents in assistant turns",
                ))
            }
            _ => {}
        }
    }
    assistant_message(&mut texts, out);
    Ok(())
}

fn assistant_message(texts: &mut Vec<Value>, out: &mut Vec<Value>) {
    if !texts.is_empty() {
        let content = std::mem::take(texts);
        out.push(json!({"type": "message", "role": "assistant", "content": content}));
    }
}

fn function_tool(t: &Tool) -> Value {
    let mut f = Map::new();
    f.insert("type".into(), json!("function"));
    f.insert("name".into(), json!(t.name));
    if let Some(d) = &t.description {
        f.insert("description".into(), json!(d));
    }
    f.insert("parameters".into(), t.input_schema.clone());
    f.insert("strict".into(), json!(false));
    Value::Object(f)
}

/// `text.format`: a JSON schema's settings sit at the format's top level.
fn text_format(f: &ResponseFormat) -> Value {
    match f {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            description,
            schema,
            strict,
        } => {
            let mut v = json!({"type": "json_schema", "name": name, "schema": schema});
            if let Some(s) = strict {
                v["strict"] = json!(s);
            }
            if let Some(d) = description {
                v["description"] = json!(d);
            }
            v
        }
    }
}

/// `reasoning`, as the module doc describes; `None` when none is asked for.
fn reasoning(req: &ChatRequest) -> Option<Value> {
    let effort = match req.reasoning()? {
        Reasoning::Effort(e) => Some(e),
        Reasoning::ModelDefault => None,
    };
    let mut r = Map::new();
    if let Some(e) = effort {
        r.insert("effort".into(), json!(e));
    }
    if effort != Some("none") {
        r.insert("summary".into(), json!("auto"));
    }
    Some(Value::Object(r))
}

/// How a `reasoning` output item's `id` and `encrypted_content` ride in a
/// canonical Thinking block's `signature`: `openai-responses:{id}:{content}`.
/// An id holding `:` could not be told apart from the content: it is left out.
pub fn reasoning_signature(id: Option<&str>, encrypted_content: &str) -> String {
    let id = id.filter(|id| !id.contains(':')).unwrap_or("");
    format!("{SIGNATURE_PREFIX}{id}:{encrypted_content}")
}

/// The reasoning input item a Thinking block stands for; `None` when its
/// signature is not one `reasoning_signature` made, or carries no content.
pub fn reasoning_item(thinking: &str, signature: &str) -> Option<Value> {
    let (id, encrypted) = signature.strip_prefix(SIGNATURE_PREFIX)?.split_once(':')?;
    if encrypted.is_empty() {
        return None;
    }
    let summary: Vec<Value> = if thinking.is_empty() {
        Vec::new()
    } else {
        vec![json!({"type": "summary_text", "text": thinking})]
    };
    let mut item = Map::new();
    item.insert("type".into(), json!("reasoning"));
    if !id.is_empty() {
        item.insert("id".into(), json!(id));
    }
    item.insert("summary".into(), Value::Array(summary));
    item.insert("encrypted_content".into(), json!(encrypted));
    Some(Value::Object(item))
}

/// Responses `usage` → canonical. Responses `input_tokens` include the cached
/// tokens; canonical `input_tokens` exclude them, as for Chat Completions.
/// `None` without `input_tokens`.
pub fn usage_from(usage: &Value) -> Option<Usage> {
    let input = token_count(usage.get("input_tokens"))?;
    let cached =
        token_count(usage.pointer("/input_tokens_details/cached_tokens")).unwrap_or_default();
    Some(Usage {
        input_tokens: input.saturating_sub(cached),
        output_tokens: token_count(usage.get("output_tokens")).unwrap_or_default(),
        cache_read_input_tokens: cached,
        cache_creation_input_tokens: 0,
    })
}

/// The stop reason of a finished response object (`status`,
/// `incomplete_details.reason`); `None` for one that did not finish.
pub fn stop_reason(response: &Value, has_tool_calls: bool) -> Option<StopReason> {
    finish_reason(
        response.get("status").and_then(Value::as_str),
        response
            .pointer("/incomplete_details/reason")
            .and_then(Value::as_str),
        has_tool_calls,
    )
}

/// `stop_reason` from the fields themselves. A response cut short for a reason
/// other than a content filter is taken as out of tokens; one without a status
/// as completed.
pub(super) fn finish_reason(
    status: Option<&str>,
    incomplete: Option<&str>,
    has_tool_calls: bool,
) -> Option<StopReason> {
    match status {
        Some("completed") | None if has_tool_calls => Some(StopReason::ToolUse),
        Some("completed") | None => Some(StopReason::EndTurn),
        Some("incomplete") if incomplete == Some("content_filter") => Some(StopReason::Refusal),
        Some("incomplete") => Some(StopReason::MaxTokens),
        Some(_) => None,
    }
}

/// The error of a `failed` response, from its `error`.
pub(super) fn failure(error: Option<&Value>) -> Error {
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("no reason given");
    Error::new(
        ErrorKind::Upstream,
        format!("upstream failed the response: {message}"),
    )
}

/// An output item of a kind the gateway reads (`Item::of`).
#[derive(Debug, Deserialize)]
pub(super) struct Item {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
    pub call_id: Option<String>,
    pub name: Option<String>,
    pub arguments: Option<String>,
    pub encrypted_content: Option<String>,
    pub summary: Option<Vec<Part>>,
    pub content: Option<Vec<Part>>,
}

/// A part of a message's `content` or a reasoning item's `summary`/`content`.
#[derive(Debug, Deserialize)]
pub(super) struct Part {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
    pub refusal: Option<String>,
}

impl Item {
    /// `v` as an item when it is a message, function call or reasoning item;
    /// `None` for other kinds (hosted tools' items, future ones).
    pub fn of(v: &Value) -> serde_json::Result<Option<Item>> {
        match v.get("type").and_then(Value::as_str) {
            Some("message" | "function_call" | "reasoning") => Item::deserialize(v).map(Some),
            _ => Ok(None),
        }
    }

    /// A reasoning item's text: its summaries, else its reasoning text, each
    /// apart as paragraphs.
    pub fn thinking(&self) -> String {
        let summary = texts(&self.summary);
        if summary.is_empty() {
            texts(&self.content).join("\n\n")
        } else {
            summary.join("\n\n")
        }
    }

    /// A reasoning item's id and encrypted content as a signature.
    pub fn signature(&self) -> Option<String> {
        let encrypted = self.encrypted_content.as_deref()?;
        Some(reasoning_signature(self.id.as_deref(), encrypted))
    }
}

fn texts(parts: &Option<Vec<Part>>) -> Vec<&str> {
    parts
        .iter()
        .flatten()
        .filter_map(|p| p.text.as_deref())
        .collect()
}

/// A whole (non-streamed) Responses API response object → canonical. Usage
/// absent is zero (the pipeline estimates such answers itself).
pub fn response_from(upstream: &str, body: &Value) -> Result<ChatResponse> {
    if body.get("status").and_then(Value::as_str) == Some("failed") {
        return Err(failure(body.get("error")));
    }
    let output = body
        .get("output")
        .and_then(Value::as_array)
        .ok_or_else(|| bad_answer(upstream, "a response without an output array"))?;
    let mut content = Vec::new();
    let mut tool_calls = false;
    let mut refused = false;
    for (i, v) in output.iter().enumerate() {
        let item = Item::of(v).map_err(|e| bad_answer(upstream, &format!("output.{i}: {e}")))?;
        let Some(item) = item else { continue };
        match item.kind.as_str() {
            "message" => {
                for part in item.content.into_iter().flatten() {
                    let text = match part.kind.as_str() {
                        "output_text" => part.text,
                        "refusal" => {
                            refused = true;
                            part.refusal
                        }
                        _ => None,
                    };
                    content.extend(text.map(ContentBlock::text));
                }
            }
            "function_call" => {
                tool_calls = true;
                content.push(ContentBlock::ToolUse {
                    input: parse_arguments(item.arguments.as_deref().unwrap_or("")),
                    id: item.call_id.unwrap_or_default(),
                    name: item.name.unwrap_or_default(),
                    cache_control: None,
                });
            }
            "reasoning" => {
                let thinking = item.thinking();
                let signature = item.signature();
                if !thinking.is_empty() || signature.is_some() {
                    content.push(ContentBlock::Thinking {
                        thinking,
                        signature,
                    });
                }
            }
            _ => {}
        }
    }
    let stop = match stop_reason(body, tool_calls) {
        Some(StopReason::EndTurn) if refused => Some(StopReason::Refusal),
        other => other,
    };
    Ok(ChatResponse {
        id: body
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("resp_upstream")
            .to_owned(),
        content,
        stop_reason: stop,
        stop_sequence: None,
        usage: body.get("usage").and_then(usage_from).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::Message;
    use crate::ingress::anthropic::parse_messages;

    const CLAUDE_CODE: &str =
        include_str!("../../tests/fixtures/anthropic/claude-code-2.1.328-messages-request.json");

    fn body(req: &ChatRequest) -> Value {
        Value::Object(translate(req, "gpt-5").unwrap())
    }

    fn with_messages(messages: Vec<Message>) -> ChatRequest {
        let mut req = ChatRequest::new("claude-sonnet-4-6");
        req.messages = messages;
        req
    }

    fn user(content: Vec<ContentBlock>) -> Message {
        Message {
            role: Role::User,
            content,
        }
    }

    fn assistant(content: Vec<ContentBlock>) -> Message {
        Message {
            role: Role::Assistant,
            content,
        }
    }

    fn tool_use(id: &str, input: Value) -> ContentBlock {
        ContentBlock::ToolUse {
            id: id.into(),
            name: "get_weather".into(),
            input,
            cache_control: None,
        }
    }

    fn tool_result(id: &str, content: Vec<ContentBlock>, is_error: bool) -> ContentBlock {
        ContentBlock::ToolResult {
            tool_use_id: id.into(),
            content,
            is_error,
            cache_control: None,
        }
    }

    fn thinking(text: &str, signature: Option<&str>) -> ContentBlock {
        ContentBlock::Thinking {
            thinking: text.into(),
            signature: signature.map(str::to_owned),
        }
    }

    #[test]
    fn claude_codes_request_translates() {
        let sent: Value = serde_json::from_str(CLAUDE_CODE).unwrap();
        let req = parse_messages(&sent).unwrap();
        let body = body(&req);
        let keys: Vec<&str> = body.as_object().unwrap().keys().map(|k| &**k).collect();
        assert_eq!(
            keys,
            [
                "model",
                "instructions",
                "input",
                "max_output_tokens",
                "reasoning",
                "tools",
                "store",
                "include"
            ]
        );
        assert_eq!(body["model"], "gpt-5");
        let system: Vec<&str> = sent["system"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["text"].as_str().unwrap())
            .collect();
        assert_eq!(body["instructions"], system.join("\n\n"));
        assert_eq!(body["max_output_tokens"], 32000);
        // `thinking: adaptive` leaves the effort to `output_config.effort`.
        assert_eq!(
            body["reasoning"],
            json!({"effort": "high", "summary": "auto"})
        );
        assert_eq!(body["store"], false);
        assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));

        let sent_tools = sent["tools"].as_array().unwrap();
        let tools = body["tools"].as_array().unwrap();
        assert_eq!(tools.len(), sent_tools.len());
        for (t, s) in tools.iter().zip(sent_tools) {
            assert_eq!(
                t,
                &json!({"type": "function", "name": s["name"], "description": s["description"],
                        "parameters": s["input_schema"], "strict": false})
            );
        }

        // One user message: its text blocks as parts, cache_control gone.
        let texts: Vec<Value> = sent["messages"][0]["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| json!({"type": "input_text", "text": b["text"]}))
            .collect();
        assert_eq!(
            body["input"],
            json!([{"type": "message", "role": "user", "content": texts}])
        );
    }

    #[test]
    fn a_tool_round_trip_keeps_call_ids_and_order() {
        let mut req = with_messages(vec![
            user(vec![ContentBlock::text("weather in Paris and Rome?")]),
            assistant(vec![
                ContentBlock::text("Checking."),
                tool_use("toolu_A", json!({"city": "Paris"})),
                tool_use("toolu_B", json!({"city": "Rome"})),
            ]),
            user(vec![
                tool_result("toolu_A", vec![ContentBlock::text("sunny")], false),
                tool_result("toolu_B", vec![ContentBlock::text("no data")], true),
                ContentBlock::text("and tomorrow?"),
            ]),
        ]);
        req.system.push(ContentBlock::text("be brief"));
        req.system.push(ContentBlock::text("in French"));
        req.tools.push(Tool {
            name: "get_weather".into(),
            description: None,
            input_schema: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            cache_control: Some(json!({"type": "ephemeral"})),
        });
        req.tool_choice = Some(ToolChoice::Tool("get_weather".into()));
        req.parallel_tool_calls = Some(false);
        assert_eq!(
            body(&req),
            json!({
                "model": "gpt-5",
                "instructions": "be brief\n\nin French",
                "input": [
                    {"type": "message", "role": "user", "content": [
                        {"type": "input_text", "text": "weather in Paris and Rome?"}]},
                    {"type": "message", "role": "assistant", "content": [
                        {"type": "output_text", "text": "Checking.", "annotations": []}]},
                    {"type": "function_call", "call_id": "toolu_A", "name": "get_weather",
                     "arguments": "{\"city\":\"Paris\"}"},
                    {"type": "function_call", "call_id": "toolu_B", "name": "get_weather",
                     "arguments": "{\"city\":\"Rome\"}"},
                    {"type": "function_call_output", "call_id": "toolu_A", "output": "sunny"},
                    {"type": "function_call_output", "call_id": "toolu_B", "output": "Error: no data"},
                    {"type": "message", "role": "user", "content": [
                        {"type": "input_text", "text": "and tomorrow?"}]}
                ],
                "tools": [{"type": "function", "name": "get_weather",
                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                           "strict": false}],
                "parallel_tool_calls": false,
                "tool_choice": {"type": "function", "name": "get_weather"},
                "store": false
            })
        );
    }

    #[test]
    fn images_and_documents_become_input_parts() {
        let png = ContentBlock::Image {
            source: ImageSource::Base64 {
                media_type: "image/png".into(),
                data: "iVBO".into(),
            },
            cache_control: None,
        };
        let url = ContentBlock::Image {
            source: ImageSource::Url {
                url: "https://example.com/a.jpg".into(),
            },
            cache_control: None,
        };
        let pdf = |title: Option<&str>| ContentBlock::Document {
            source: DocumentSource::Base64 {
                media_type: "application/pdf".into(),
                data: "JVBE".into(),
            },
            title: title.map(str::to_owned),
            context: None,
            cache_control: None,
        };
        let by_url = ContentBlock::Document {
            source: DocumentSource::Url {
                url: "https://example.com/a.pdf".into(),
                field: "messages.2.content.3.source.url".into(),
            },
            title: Some("Annual letter".into()),
            context: Some("from 2024".into()),
            cache_control: None,
        };
        let req = with_messages(vec![
            user(vec![ContentBlock::text("hi")]),
            assistant(vec![tool_use("c1", json!({}))]),
            user(vec![
                tool_result("c1", vec![ContentBlock::text("a chart"), png.clone()], true),
                url,
                pdf(Some("report.pdf")),
                pdf(None),
                tool_result("c1", vec![pdf(Some("Q3"))], false),
                by_url,
            ]),
        ]);
        let input = &body(&req)["input"];
        assert_eq!(
            input[2],
            json!({"type": "function_call_output", "call_id": "c1", "output": [
                {"type": "input_text", "text": "Error:"},
                {"type": "input_text", "text": "a chart"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBO", "detail": "auto"}]})
        );
        // A document in a tool result rides in the output's parts.
        assert_eq!(
            input[3],
            json!({"type": "function_call_output", "call_id": "c1", "output": [
                {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE", "filename": "Q3.pdf"}]})
        );
        assert_eq!(
            input[4],
            json!({"type": "message", "role": "user", "content": [
                {"type": "input_image", "image_url": "https://example.com/a.jpg", "detail": "auto"},
                {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE", "filename": "report.pdf"},
                {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE", "filename": "document.pdf"},
                {"type": "input_text", "text": "Document: Annual letter\nContext: from 2024"},
                {"type": "input_file", "file_url": "https://example.com/a.pdf"}]})
        );
        // An assistant turn cannot carry one.
        for block in [png, pdf(None)] {
            let req = with_messages(vec![
                user(vec![ContentBlock::text("hi")]),
                assistant(vec![block]),
            ]);
            let e = translate(&req, "m").unwrap_err();
            assert_eq!(e.param(), Some("messages.1.content"));
        }
        // What only pass-through carries is refused with the client's field.
        let mut req = with_messages(vec![user(vec![ContentBlock::text("hi")])]);
        req.untranslatable = Some(Error::invalid_field(
            "messages.0.content.0.file.file_id",
            "x",
        ));
        let e = translate(&req, "m").unwrap_err();
        assert_eq!(e.param(), Some("messages.0.content.0.file.file_id"));
    }

    #[test]
    fn thinking_with_our_signature_is_its_reasoning_item_and_other_thinking_is_dropped() {
        let ours = reasoning_signature(Some("rs_1"), "gAAAAB-enc");
        assert_eq!(ours, "openai-responses:rs_1:gAAAAB-enc");
        let no_id = reasoning_signature(None, "gAAAAB-enc2");
        assert_eq!(no_id, "openai-responses::gAAAAB-enc2");
        let req = with_messages(vec![
            user(vec![ContentBlock::text("hi")]),
            assistant(vec![
                thinking("Plan it.", Some(&ours)),
                ContentBlock::text("Calling."),
                tool_use("c1", json!({"city": "Oslo"})),
            ]),
            user(vec![tool_result(
                "c1",
                vec![ContentBlock::text("cold")],
                false,
            )]),
            assistant(vec![
                thinking("", Some(&no_id)),
                // Anthropic's own, an unsigned one and a redacted one: dropped.
                thinking("Hmm.", Some("EqQBCkYIBxgCKkDm3R0bZ+/x")),
                thinking("Unsigned.", None),
                ContentBlock::RedactedThinking {
                    data: "opaque".into(),
                },
                ContentBlock::text("Cold."),
            ]),
        ]);
        assert_eq!(
            body(&req)["input"],
            json!([
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                {"type": "reasoning", "id": "rs_1",
                 "summary": [{"type": "summary_text", "text": "Plan it."}],
                 "encrypted_content": "gAAAAB-enc"},
                {"type": "message", "role": "assistant", "content": [
                    {"type": "output_text", "text": "Calling.", "annotations": []}]},
                {"type": "function_call", "call_id": "c1", "name": "get_weather",
                 "arguments": "{\"city\":\"Oslo\"}"},
                {"type": "function_call_output", "call_id": "c1", "output": "cold"},
                {"type": "reasoning", "summary": [], "encrypted_content": "gAAAAB-enc2"},
                {"type": "message", "role": "assistant", "content": [
                    {"type": "output_text", "text": "Cold.", "annotations": []}]}
            ])
        );
        // Reasoning cut short, with nothing after it in its turn, is dropped.
        let req = with_messages(vec![
            user(vec![ContentBlock::text("hi")]),
            assistant(vec![
                ContentBlock::text("Let me think."),
                thinking("Hmm", Some(&ours)),
            ]),
            user(vec![ContentBlock::text("go on")]),
        ]);
        let input = &body(&req)["input"];
        assert_eq!(input.as_array().unwrap().len(), 3);
        assert_eq!(input[1]["role"], "assistant");
        assert_eq!(input[2]["role"], "user");
        for foreign in [
            "EqQBCkYIBxgCKkDm",
            "redacted_thinking:b3Bh",
            "openai-responses:",
            "openai-responses:rs_1:",
        ] {
            assert_eq!(reasoning_item("x", foreign), None, "{foreign}");
        }
        // An id that would be ambiguous is left out rather than corrupt the content.
        assert_eq!(
            reasoning_item("", &reasoning_signature(Some("a:b"), "enc")),
            Some(json!({"type": "reasoning", "summary": [], "encrypted_content": "enc"}))
        );
    }

    #[test]
    fn fields_that_would_change_the_answer_are_refused_naming_them() {
        let mut req = with_messages(vec![user(vec![ContentBlock::text("hi")])]);
        req.stop_sequences = vec!["END".into()];
        let e = translate(&req, "m").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert_eq!(e.param(), Some("stop_sequences"));
        assert!(e.message().contains("no stop sequences"), "{}", e.message());
        // A Chat Completions client's name for them is `stop`.
        req.source = Some(crate::canonical::request::Source {
            shape: Shape::OpenAi,
            body: std::sync::Arc::new(json!({"stop": ["END"]})),
        });
        assert_eq!(translate(&req, "m").unwrap_err().param(), Some("stop"));
        let mut req = with_messages(vec![user(vec![ContentBlock::text("hi")])]);
        req.n = Some(2);
        assert_eq!(translate(&req, "m").unwrap_err().param(), Some("n"));
    }

    #[test]
    fn thinking_and_effort_map_to_reasoning() {
        let reasoning_of = |thinking: Option<Value>, effort: Option<&str>| {
            let mut req = with_messages(vec![user(vec![ContentBlock::text("hi")])]);
            req.thinking = thinking;
            req.reasoning_effort = effort.map(str::to_owned);
            body(&req).get("reasoning").cloned()
        };
        let enabled = |n: u64| Some(json!({"type": "enabled", "budget_tokens": n}));
        let table = [
            (
                enabled(1024),
                None,
                Some(json!({"effort": "low", "summary": "auto"})),
            ),
            (
                enabled(4095),
                None,
                Some(json!({"effort": "low", "summary": "auto"})),
            ),
            (
                enabled(4096),
                None,
                Some(json!({"effort": "medium", "summary": "auto"})),
            ),
            (
                enabled(16383),
                None,
                Some(json!({"effort": "medium", "summary": "auto"})),
            ),
            (
                enabled(16384),
                None,
                Some(json!({"effort": "high", "summary": "auto"})),
            ),
            (
                enabled(64000),
                None,
                Some(json!({"effort": "high", "summary": "auto"})),
            ),
            (
                enabled(64000),
                Some("minimal"),
                Some(json!({"effort": "minimal", "summary": "auto"})),
            ),
            // Without a budget, the least one Anthropic takes.
            (
                Some(json!({"type": "enabled"})),
                None,
                Some(json!({"effort": "low", "summary": "auto"})),
            ),
            (
                Some(json!({"type": "adaptive"})),
                None,
                Some(json!({"summary": "auto"})),
            ),
            (Some(json!({"type": "disabled"})), None, None),
            (None, None, None),
            (
                None,
                Some("high"),
                Some(json!({"effort": "high", "summary": "auto"})),
            ),
            // No reasoning asked for: no summary either.
            (None, Some("none"), Some(json!({"effort": "none"}))),
        ];
        for (thinking, effort, want) in table {
            assert_eq!(
                reasoning_of(thinking.clone(), effort),
                want,
                "{thinking:?} {effort:?}"
            );
        }
    }

    #[test]
    fn response_formats_become_text_format() {
        let format_of = |f: ResponseFormat| {
            let mut req = with_messages(vec![user(vec![ContentBlock::text("hi")])]);
            req.response_format = Some(f);
            body(&req)["text"].clone()
        };
        assert_eq!(
            format_of(ResponseFormat::Text),
            json!({"format": {"type": "text"}})
        );
        assert_eq!(
            format_of(ResponseFormat::JsonObject),
            json!({"format": {"type": "json_object"}})
        );
        let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
        assert_eq!(
            format_of(ResponseFormat::JsonSchema {
                name: "answer".into(),
                description: Some("the answer".into()),
                schema: schema.clone(),
                strict: Some(true),
            }),
            json!({"format": {"type": "json_schema", "name": "answer", "schema": schema,
                              "strict": true, "description": "the answer"}})
        );
        assert_eq!(
            format_of(ResponseFormat::JsonSchema {
                name: "answer".into(),
                description: None,
                schema: schema.clone(),
                strict: None,
            }),
            json!({"format": {"type": "json_schema", "name": "answer", "schema": schema}})
        );
    }

    #[test]
    fn sampling_and_other_settings() {
        let mut req = with_messages(vec![user(vec![ContentBlock::text("hi")])]);
        req.max_tokens = Some(1);
        req.temperature = Some(0.5);
        req.top_p = Some(0.9);
        req.top_k = Some(5);
        req.user = Some("user-1".into());
        req.logprobs = true;
        req.top_logprobs = Some(3);
        req.prompt_cache_key = Some("key-1".into());
        req.extra.insert("metadata".into(), json!({"a": "b"}));
        req.tools.push(Tool {
            name: "f".into(),
            description: Some("does f".into()),
            input_schema: json!({"type": "object"}),
            cache_control: None,
        });
        req.tool_choice = Some(ToolChoice::Any);
        let b = body(&req);
        assert_eq!(
            b,
            json!({
                "model": "gpt-5",
                "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
                "max_output_tokens": 16,
                "temperature": 0.5,
                "top_p": 0.9,
                "top_logprobs": 3,
                "tools": [{"type": "function", "name": "f", "description": "does f",
                           "parameters": {"type": "object"}, "strict": false}],
                "tool_choice": "required",
                "prompt_cache_key": "key-1",
                "store": false,
                "include": ["message.output_text.logprobs"]
            })
        );
        // Without tools, only `none` is a choice worth sending.
        for (choice, want) in [
            (ToolChoice::Auto, None),
            (ToolChoice::None, Some(json!("none"))),
        ] {
            let mut req = with_messages(vec![user(vec![ContentBlock::text("hi")])]);
            req.tool_choice = Some(choice);
            req.parallel_tool_calls = Some(true);
            let b = body(&req);
            assert_eq!(b.get("tool_choice").cloned(), want);
            assert_eq!(b.get("parallel_tool_calls"), None);
        }
    }

    #[test]
    fn a_text_answer() {
        let v = json!({
            "id": "resp_1", "object": "response", "created_at": 1741476542, "status": "completed",
            "error": null, "incomplete_details": null, "model": "gpt-5",
            "output": [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": "Hello", "annotations": [], "logprobs": []},
                                    {"type": "output_text", "text": " there.", "annotations": []}]}],
            "usage": {"input_tokens": 36, "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens": 87, "output_tokens_details": {"reasoning_tokens": 64},
                      "total_tokens": 123}
        });
        assert_eq!(
            response_from("up", &v).unwrap(),
            ChatResponse {
                id: "resp_1".into(),
                content: vec![ContentBlock::text("Hello"), ContentBlock::text(" there.")],
                stop_reason: Some(StopReason::EndTurn),
                stop_sequence: None,
                usage: Usage {
                    input_tokens: 36,
                    output_tokens: 87,
                    ..Usage::default()
                },
            }
        );
    }

    #[test]
    fn a_reasoned_function_call_and_its_signature_round_trip() {
        let v = json!({
            "id": "resp_2", "object": "response", "status": "completed",
            "output": [
                {"type": "reasoning", "id": "rs_2", "summary": [
                    {"type": "summary_text", "text": "**Weather**"},
                    {"type": "summary_text", "text": "Call the tool."}],
                 "encrypted_content": "gAAAAABo-secret"},
                {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search"}},
                {"type": "function_call", "id": "fc_2", "call_id": "call_2", "name": "get_weather",
                 "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
                {"type": "function_call", "id": "fc_3", "call_id": "call_3", "name": "now", "arguments": ""}
            ],
            "usage": {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 40},
                      "output_tokens": 7, "total_tokens": 107}
        });
        let r = response_from("up", &v).unwrap();
        let signature = "openai-responses:rs_2:gAAAAABo-secret";
        assert_eq!(
            r.content,
            vec![
                thinking("**Weather**\n\nCall the tool.", Some(signature)),
                ContentBlock::ToolUse {
                    id: "call_2".into(),
                    name: "get_weather".into(),
                    input: json!({"city": "Paris"}),
                    cache_control: None,
                },
                ContentBlock::ToolUse {
                    id: "call_3".into(),
                    name: "now".into(),
                    input: json!({}),
                    cache_control: None,
                },
            ]
        );
        assert_eq!(r.stop_reason, Some(StopReason::ToolUse));
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 60,
                output_tokens: 7,
                cache_read_input_tokens: 40,
                cache_creation_input_tokens: 0,
            }
        );
        // Given back, the block is the same item again.
        let item = reasoning_item("**Weather**\n\nCall the tool.", signature).unwrap();
        assert_eq!(item["id"], v["output"][0]["id"]);
        assert_eq!(
            item["encrypted_content"],
            v["output"][0]["encrypted_content"]
        );
    }

    #[test]
    fn reasoning_without_summary_reads_its_text_or_is_skipped() {
        let v = json!({"id": "resp_3", "status": "completed", "output": [
            {"type": "reasoning", "id": "rs_a", "summary": [],
             "content": [{"type": "reasoning_text", "text": "raw"}]},
            {"type": "reasoning", "id": "rs_b", "summary": []},
            {"type": "reasoning", "summary": [], "encrypted_content": "e"}]});
        assert_eq!(
            response_from("up", &v).unwrap().content,
            vec![
                thinking("raw", None),
                thinking("", Some("openai-responses::e"))
            ]
        );
    }

    #[test]
    fn incomplete_and_refused_answers() {
        let cut = json!({"id": "r", "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"},
            "output": [{"type": "message", "content": [{"type": "output_text", "text": "Once upon"}]}]});
        let r = response_from("up", &cut).unwrap();
        assert_eq!(r.stop_reason, Some(StopReason::MaxTokens));
        assert_eq!(r.content, vec![ContentBlock::text("Once upon")]);
        assert_eq!(r.usage, Usage::default());
        let filtered = json!({"status": "incomplete", "incomplete_details": {"reason": "content_filter"}, "output": []});
        assert_eq!(
            response_from("up", &filtered).unwrap().stop_reason,
            Some(StopReason::Refusal)
        );
        let refused = json!({"status": "completed", "output": [{"type": "message",
            "content": [{"type": "refusal", "refusal": "I can't help with that."}]}]});
        let r = response_from("up", &refused).unwrap();
        assert_eq!(r.stop_reason, Some(StopReason::Refusal));
        assert_eq!(
            r.content,
            vec![ContentBlock::text("I can't help with that.")]
        );
        assert_eq!(r.id, "resp_upstream");
    }

    #[test]
    fn failed_and_malformed_answers_are_errors() {
        let failed = json!({"id": "r", "status": "failed", "output": [],
            "error": {"code": "server_error", "message": "The model crashed."}});
        let e = response_from("up", &failed).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Upstream);
        assert_eq!(
            e.message(),
            "upstream failed the response: The model crashed."
        );
        for bad in [
            json!({"choices": []}),
            json!("x"),
            json!({"output": [{"type": "function_call", "name": 5}]}),
        ] {
            let e = response_from("up", &bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Upstream);
            assert!(
                e.message()
                    .starts_with("upstream up answered in an unexpected shape"),
                "{}",
                e.message()
            );
        }
    }

    #[test]
    fn usage_and_stop_reasons() {
        let u = usage_from(&json!({"input_tokens": 100, "output_tokens": 5,
            "input_tokens_details": {"cached_tokens": 40}}));
        assert_eq!(
            u,
            Some(Usage {
                input_tokens: 60,
                output_tokens: 5,
                cache_read_input_tokens: 40,
                cache_creation_input_tokens: 0,
            })
        );
        assert_eq!(usage_from(&Value::Null), None);
        assert_eq!(usage_from(&json!({"output_tokens": 5})), None);
        let capped = usage_from(&json!({"input_tokens": u64::MAX})).unwrap();
        assert_eq!(capped.input_tokens, super::super::counts::MAX_TOKEN_COUNT);
        let table = [
            (
                json!({"status": "completed"}),
                false,
                Some(StopReason::EndTurn),
            ),
            (
                json!({"status": "completed"}),
                true,
                Some(StopReason::ToolUse),
            ),
            (json!({}), false, Some(StopReason::EndTurn)),
            (
                json!({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}),
                true,
                Some(StopReason::MaxTokens),
            ),
            (
                json!({"status": "incomplete", "incomplete_details": {"reason": "content_filter"}}),
                false,
                Some(StopReason::Refusal),
            ),
            (
                json!({"status": "incomplete"}),
                false,
                Some(StopReason::MaxTokens),
            ),
            (json!({"status": "failed"}), false, None),
            (json!({"status": "in_progress"}), false, None),
        ];
        for (response, tools, want) in table {
            assert_eq!(stop_reason(&response, tools), want, "{response}");
        }
    }
}
