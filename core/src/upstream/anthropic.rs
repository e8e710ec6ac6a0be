//! An Anthropic upstream: canonical request → Messages request (or the client's
//! own Messages body, passed through), and its response and events → canonical.

use bytes::Bytes;
use futures::Stream;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::counts::token_count;
use super::http::{HttpClient, Pools};
use super::lenient::{Index, Text};
use super::passthrough::WithOverrides;
use super::sse::{self, SseBatches, SseEvent};
use super::target::Target;
use crate::call::Shape;
use crate::canonical::reasoning::thinking_for_effort;
use crate::canonical::{
    BlockStart, ChatRequest, ChatResponse, ContentBlock, Delta, DocumentSource, EventStream,
    ImageSource, ResponseFormat, Role, StopReason, StreamEvent, ToolChoice, Usage,
};
use crate::config::UpstreamConfig;
use crate::tokens::estimate_request;
use crate::{Error, ErrorKind, Result};

pub const API_VERSION: &str = "2023-06-01";
/// `max_tokens` sent when an OpenAI client set none (Anthropic requires one).
pub const DEFAULT_MAX_TOKENS: u64 = 8192;

#[derive(Debug)]
pub struct AnthropicUpstream {
    http: HttpClient,
    version: HeaderMap,
    /// `None`: every value the client sent.
    beta_allow: Option<Vec<String>>,
}

impl AnthropicUpstream {
    pub fn new(cfg: &UpstreamConfig, pools: &Pools) -> Result<Self> {
        let http = HttpClient::new(cfg, pools, |key| {
            (HeaderName::from_static("x-api-key"), key.to_string())
        })?;
        let mut version = HeaderMap::new();
        if !cfg
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("anthropic-version"))
        {
            version.insert("anthropic-version", HeaderValue::from_static(API_VERSION));
        }
        Ok(AnthropicUpstream {
            http,
            version,
            beta_allow: cfg.anthropic_beta_allow.clone(),
        })
    }

    pub fn name(&self) -> &str {
        &self.http.name
    }

    /// The version header plus the client's `anthropic-beta` values this upstream allows.
    fn headers(&self, req: &ChatRequest) -> HeaderMap {
        let mut h = self.version.clone();
        let allowed: Vec<&str> = req
            .anthropic_beta
            .iter()
            .filter(|b| {
                self.beta_allow
                    .as_ref()
                    .is_none_or(|allow| allow.iter().any(|a| a == "*" || a == *b))
            })
            .map(String::as_str)
            .collect();
        if let (false, Ok(v)) = (
            allowed.is_empty(),
            HeaderValue::from_str(&allowed.join(",")),
        ) {
            h.insert("anthropic-beta", v);
        }
        h
    }

    pub async fn complete(&self, req: &ChatRequest, target: &Target<'_>) -> Result<ChatResponse> {
        let body = request_body(req, target, false)?;
        let resp = self
            .http
            .post("/messages", body, &self.headers(req))
            .await?;
        response_from(&self.http.json(resp).await?)
    }

    pub async fn stream(&self, req: &ChatRequest, target: &Target<'_>) -> Result<EventStream> {
        Ok(event_stream(
            self.events(req, target).await?,
            estimate_request(req),
        ))
    }

    /// A Messages client's stream as the upstream sends it, and its reader
    /// (see `forward`).
    pub async fn forward(
        &self,
        req: &ChatRequest,
        target: &Target<'_>,
    ) -> Result<(SseBatches, EventTranslator)> {
        let reader = EventTranslator::new(estimate_request(req));
        Ok((Box::pin(self.events(req, target).await?), reader))
    }

    async fn events(
        &self,
        req: &ChatRequest,
        target: &Target<'_>,
    ) -> Result<impl Stream<Item = Result<Vec<SseEvent>>> + Send + 'static> {
        let body = request_body(req, target, true)?;
        let resp = self
            .http
            .post("/messages", body, &self.headers(req))
            .await?;
        Ok(sse::events(self.http.chunks(resp)))
    }
}

/// The decoded SSE of a streamed answer → canonical events, one to one, ending
/// after `message_stop` or the first error.
pub(crate) fn event_stream(
    batches: impl Stream<Item = Result<Vec<SseEvent>>> + Send + 'static,
    input_estimate: u64,
) -> EventStream {
    sse::translated(batches, EventTranslator::new(input_estimate))
}

/// The Messages body: the client's own when it spoke Anthropic (model and
/// stream rewritten, every other field kept byte for byte), else translated.
pub fn request_body(req: &ChatRequest, target: &Target<'_>, stream: bool) -> Result<Bytes> {
    if let Some(src) = req.source.as_ref().filter(|s| s.shape == Shape::Anthropic) {
        if let Some(body) = src.body.as_object() {
            let overrides = [
                ("model", Some(json!(target.model))),
                ("stream", Some(json!(stream))),
            ];
            return Ok(Bytes::from(serde_json::to_vec(&WithOverrides {
                body,
                overrides: &overrides,
            })?));
        }
    }
    let mut body = translate(req, target)?;
    body.insert("stream".into(), json!(stream));
    Ok(Bytes::from(serde_json::to_vec(&body)?))
}

/// OpenAI fields that change the answer and that Messages cannot express.
fn refuse_inexpressible(req: &ChatRequest) -> Result<()> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(Error::invalid_field(
            "n",
            "this model's upstream returns one choice; n must be 1",
        ));
    }
    if req.logprobs {
        return Err(Error::invalid_field(
            "logprobs",
            "this model's upstream does not return log probabilities",
        ));
    }
    Ok(())
}

/// Reasoning without a signature (an OpenAI-compatible answer's, or an OpenAI
/// client's `reasoning_content`): Messages refuses a thinking block whose
/// signature it cannot verify and lets a request leave thinking out, so it is
/// not sent.
fn unsigned_thinking(b: &ContentBlock) -> bool {
    matches!(b, ContentBlock::Thinking { signature, .. } if signature.as_deref().unwrap_or("").is_empty())
}

fn block_json(b: &ContentBlock) -> Value {
    let with_cache = |mut v: Value, cc: &Option<Value>| {
        if let Some(cc) = cc {
            v["cache_control"] = cc.clone();
        }
        v
    };
    match b {
        ContentBlock::Text {
            text,
            cache_control,
        } => with_cache(json!({"type": "text", "text": text}), cache_control),
        ContentBlock::Image {
            source,
            cache_control,
        } => {
            let source = match source {
                ImageSource::Base64 { media_type, data } => {
                    json!({"type": "base64", "media_type": media_type, "data": data})
                }
                ImageSource::Url { url } => json!({"type": "url", "url": url}),
            };
            with_cache(json!({"type": "image", "source": source}), cache_control)
        }
        ContentBlock::ToolUse {
            id,
            name,
            input,
            cache_control,
        } => with_cache(
            json!({"type": "tool_use", "id": id, "name": name, "input": input}),
            cache_control,
        ),
        ContentBlock::ToolResult {
            tool_use_id,
            content,
            is_error,
            cache_control,
        } => {
            let mut v = json!({"type": "tool_result", "tool_use_id": tool_use_id,
                "content": content.iter().map(block_json).collect::<Vec<_>>()});
            if *is_error {
                v["is_error"] = json!(true);
            }
            with_cache(v, cache_control)
        }
        ContentBlock::Thinking {
            thinking,
            signature,
        } => {
            json!({"type": "thinking", "thinking": thinking, "signature": signature.clone().unwrap_or_default()})
        }
        ContentBlock::Document {
            source,
            title,
            context,
            cache_control,
        } => {
            let source = match source {
                DocumentSource::Base64 { media_type, data } => {
                    json!({"type": "base64", "media_type": media_type, "data": data})
                }
                DocumentSource::Url { url, .. } => json!({"type": "url", "url": url}),
            };
            let mut v = json!({"type": "document", "source": source});
            if let Some(t) = title {
                v["title"] = json!(t);
            }
            if let Some(c) = context {
                v["context"] = json!(c);
            }
            with_cache(v, cache_control)
        }
        ContentBlock::RedactedThinking { data } => {
            json!({"type": "redacted_thinking", "data": data})
        }
    }
}

pub fn translate(req: &ChatRequest, target: &Target<'_>) -> Result<Map<String, Value>> {
    req.translatable()?;
    refuse_inexpressible(req)?;
    let mut body = Map::new();
    body.insert("model".into(), json!(target.model));
    body.insert("max_tokens".into(), json!(target.max_output));
    if !req.system.is_empty() {
        body.insert(
            "system".into(),
            Value::Array(req.system.iter().map(block_json).collect()),
        );
    }
    let messages: Vec<Value> = req
        .messages
        .iter()
        .filter_map(|m| {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            let content: Vec<Value> = m
                .content
                .iter()
                .filter(|b| !unsigned_thinking(b))
                .map(block_json)
                .collect();
            (!content.is_empty()).then(|| json!({"role": role, "content": content}))
        })
        .collect();
    body.insert("messages".into(), Value::Array(messages));
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut v = json!({"name": t.name, "input_schema": t.input_schema});
                if let Some(d) = &t.description {
                    v["description"] = json!(d);
                }
                if let Some(cc) = &t.cache_control {
                    v["cache_control"] = cc.clone();
                }
                v
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    let mut choice = match &req.tool_choice {
        Some(ToolChoice::Auto) => Some(json!({"type": "auto"})),
        Some(ToolChoice::Any) => Some(json!({"type": "any"})),
        Some(ToolChoice::None) => Some(json!({"type": "none"})),
        Some(ToolChoice::Tool(name)) => Some(json!({"type": "tool", "name": name})),
        None => None,
    };
    if req.parallel_tool_calls == Some(false) && !req.tools.is_empty() {
        let c = choice.get_or_insert_with(|| json!({"type": "auto"}));
        c["disable_parallel_tool_use"] = json!(true);
    }
    if let Some(c) = choice.filter(|_| !req.tools.is_empty()) {
        body.insert("tool_choice".into(), c);
    }
    if !req.stop_sequences.is_empty() {
        body.insert("stop_sequences".into(), json!(req.stop_sequences));
    }
    for (k, v) in [
        ("temperature", req.temperature.map(|t| json!(t.min(1.0)))),
        ("top_p", req.top_p.map(|p| json!(p))),
    ] {
        if let Some(v) = v {
            body.insert(k.into(), v);
        }
    }
    if let Some(k) = req.top_k {
        body.insert("top_k".into(), json!(k));
    }
    if let Some(u) = &req.user {
        body.insert("metadata".into(), json!({"user_id": u}));
    }
    let thinking = match (&req.thinking, req.effort()) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(effort)) => thinking_for_effort(effort, target.max_output),
        (None, None) => None,
    };
    if let Some(t) = thinking {
        body.insert("thinking".into(), t);
    }
    if let Some(format) = req.response_format.as_ref().and_then(output_format) {
        body.insert("output_config".into(), json!({"format": format}));
    }
    Ok(body)
}

/// Structured output as Messages takes it (`output_config.format`): a JSON
/// schema; `json_object` is any object. Plain text needs none.
fn output_format(f: &ResponseFormat) -> Option<Value> {
    match f {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => {
            Some(json!({"type": "json_schema", "schema": {"type": "object"}}))
        }
        ResponseFormat::JsonSchema { schema, .. } => {
            Some(json!({"type": "json_schema", "schema": schema}))
        }
    }
}

/// A token count the usage object carries; `None` when left out or null.
fn count(usage: &Value, key: &str) -> Option<u64> {
    token_count(usage.get(key))
}

fn usage_from(v: &Value) -> Usage {
    let n = |k: &str| count(v, k).unwrap_or(0);
    Usage {
        input_tokens: n("input_tokens"),
        output_tokens: n("output_tokens"),
        cache_read_input_tokens: n("cache_read_input_tokens"),
        cache_creation_input_tokens: n("cache_creation_input_tokens"),
    }
}

fn stop_reason(s: &str) -> StopReason {
    match s {
        "max_tokens" | "model_context_window_exceeded" => StopReason::MaxTokens,
        "stop_sequence" => StopReason::StopSequence,
        "tool_use" => StopReason::ToolUse,
        "refusal" => StopReason::Refusal,
        _ => StopReason::EndTurn,
    }
}

fn response_block(b: &Value) -> Option<ContentBlock> {
    let s = |k: &str| {
        b.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match b.get("type")?.as_str()? {
        "text" => Some(ContentBlock::text(s("text"))),
        "tool_use" => Some(ContentBlock::ToolUse {
            id: s("id"),
            name: s("name"),
            input: b.get("input").cloned().unwrap_or_else(|| json!({})),
            cache_control: None,
        }),
        "thinking" => Some(ContentBlock::Thinking {
            thinking: s("thinking"),
            signature: b
                .get("signature")
                .and_then(Value::as_str)
                .map(str::to_string),
        }),
        "redacted_thinking" => Some(ContentBlock::RedactedThinking { data: s("data") }),
        _ => None,
    }
}

pub fn response_from(v: &Value) -> Result<ChatResponse> {
    let content = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::new(ErrorKind::Upstream, "upstream answered without content"))?
        .iter()
        .filter_map(response_block)
        .collect();
    Ok(ChatResponse {
        id: v
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("msg_upstream")
            .to_string(),
        content,
        stop_reason: v
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(stop_reason),
        stop_sequence: v
            .get("stop_sequence")
            .and_then(Value::as_str)
            .map(str::to_string),
        usage: v.get("usage").map(usage_from).unwrap_or_default(),
    })
}

/// Anthropic events → canonical, one to one; `message_delta` usage is completed
/// with the input counts of `message_start`, which it may omit.
#[derive(Clone)]
pub struct EventTranslator {
    input: Usage,
}

impl EventTranslator {
    pub fn new(input_estimate: u64) -> Self {
        EventTranslator {
            input: Usage::input_only(input_estimate),
        }
    }
}

impl sse::Translate for EventTranslator {
    fn frame(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> bool {
        let Some(ev) = self.event(data) else {
            return false;
        };
        let last = matches!(ev, StreamEvent::MessageStop | StreamEvent::Error(_));
        out.push(ev);
        last
    }
}

/// A `content_block_delta` event.
#[derive(Deserialize)]
struct BlockDelta<'a> {
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(default)]
    index: Index,
    #[serde(borrow)]
    delta: Option<DeltaFields<'a>>,
}

#[derive(Deserialize)]
struct DeltaFields<'a> {
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(default, borrow)]
    text: Text<'a>,
    #[serde(default, borrow)]
    partial_json: Text<'a>,
    #[serde(default, borrow)]
    thinking: Text<'a>,
    #[serde(default, borrow)]
    signature: Text<'a>,
}

impl BlockDelta<'_> {
    fn event(self) -> Option<StreamEvent> {
        let d = self.delta?;
        let s = |t: &Text<'_>| t.get().unwrap_or_default().to_owned();
        let delta = match d.kind.get()? {
            "text_delta" => Delta::Text(s(&d.text)),
            "input_json_delta" => Delta::ToolArgs(s(&d.partial_json)),
            "thinking_delta" => Delta::Thinking(s(&d.thinking)),
            "signature_delta" => Delta::Signature(s(&d.signature)),
            _ => return None,
        };
        let index = usize::try_from(self.index.0).unwrap_or(0);
        Some(StreamEvent::BlockDelta { index, delta })
    }
}

impl EventTranslator {
    fn event(&mut self, data: &str) -> Option<StreamEvent> {
        // The event that comes per token, read typed; the others (a few per
        // answer) through `Value`.
        if let Ok(hot) = serde_json::from_str::<BlockDelta>(data) {
            if hot.kind.get() == Some("content_block_delta") {
                return hot.event();
            }
        }
        let v: Value = match serde_json::from_str(data) {
            Ok(v) => v,
            Err(e) => {
                return Some(StreamEvent::Error(Error::new(
                    ErrorKind::Upstream,
                    format!("upstream sent an invalid event: {e}"),
                )))
            }
        };
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
        match v.get("type").and_then(Value::as_str)? {
            "message_start" => {
                let m = v.get("message")?;
                let u = m.get("usage").unwrap_or(&Value::Null);
                // The upstream's counts replace the estimate; 0 is a count too.
                let input = &mut self.input;
                for (slot, key) in [
                    (&mut input.input_tokens, "input_tokens"),
                    (
                        &mut input.cache_read_input_tokens,
                        "cache_read_input_tokens",
                    ),
                    (
                        &mut input.cache_creation_input_tokens,
                        "cache_creation_input_tokens",
                    ),
                ] {
                    if let Some(n) = count(u, key) {
                        *slot = n;
                    }
                }
                let id = m
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("msg_upstream")
                    .to_string();
                Some(StreamEvent::MessageStart {
                    id,
                    usage: Usage {
                        output_tokens: count(u, "output_tokens").unwrap_or(0),
                        ..self.input
                    },
                })
            }
            "content_block_start" => {
                let b = v.get("content_block")?;
                let s = |k: &str| {
                    b.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let block = match b.get("type")?.as_str()? {
                    "text" => BlockStart::Text,
                    "tool_use" => BlockStart::ToolUse {
                        id: s("id"),
                        name: s("name"),
                    },
                    "thinking" => BlockStart::Thinking,
                    "redacted_thinking" => BlockStart::RedactedThinking { data: s("data") },
                    _ => return None,
                };
                Some(StreamEvent::BlockStart { index, block })
            }
            "content_block_delta" => {
                let d = v.get("delta")?;
                let s = |k: &str| {
                    d.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let delta = match d.get("type")?.as_str()? {
                    "text_delta" => Delta::Text(s("text")),
                    "input_json_delta" => Delta::ToolArgs(s("partial_json")),
                    "thinking_delta" => Delta::Thinking(s("thinking")),
                    "signature_delta" => Delta::Signature(s("signature")),
                    _ => return None,
                };
                Some(StreamEvent::BlockDelta { index, delta })
            }
            "content_block_stop" => Some(StreamEvent::BlockStop { index }),
            "message_delta" => {
                let d = v.get("delta");
                let u = v.get("usage").unwrap_or(&Value::Null);
                // Counts it leaves out are those of `message_start`.
                let usage = Usage {
                    input_tokens: count(u, "input_tokens").unwrap_or(self.input.input_tokens),
                    cache_read_input_tokens: count(u, "cache_read_input_tokens")
                        .unwrap_or(self.input.cache_read_input_tokens),
                    cache_creation_input_tokens: count(u, "cache_creation_input_tokens")
                        .unwrap_or(self.input.cache_creation_input_tokens),
                    output_tokens: count(u, "output_tokens").unwrap_or(0),
                };
                Some(StreamEvent::MessageDelta {
                    stop_reason: d
                        .and_then(|d| d.get("stop_reason"))
                        .and_then(Value::as_str)
                        .map(stop_reason),
                    stop_sequence: d
                        .and_then(|d| d.get("stop_sequence"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    usage,
                })
            }
            "message_stop" => Some(StreamEvent::MessageStop),
            "ping" => Some(StreamEvent::Ping),
            "error" => {
                let msg = v
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("upstream error");
                let kind = match v.pointer("/error/type").and_then(Value::as_str) {
                    Some("overloaded_error") => ErrorKind::Overloaded,
                    _ => ErrorKind::Upstream,
                };
                Some(StreamEvent::Error(Error::new(
                    kind,
                    format!("upstream failed mid-stream: {msg}"),
                )))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{Message, Tool};
    use crate::config::Config;
    use crate::route::Router;

    fn profile() -> std::sync::Arc<crate::route::Profile> {
        Router::from_config(&Config::default())
            .unwrap()
            .resolve("dragon")
            .clone()
    }

    /// Translated for the dragon profile with the pipeline's budget, on an
    /// Anthropic upstream.
    fn translate(req: &ChatRequest) -> Result<Map<String, Value>> {
        let p = profile();
        let max_output = crate::upstream::output_budget(
            req.max_tokens,
            estimate_request(req),
            p.context_window,
            Some(DEFAULT_MAX_TOKENS),
        );
        super::translate(req, &p.target(max_output))
    }

    #[test]
    fn openai_shaped_request_to_messages() {
        let mut req = ChatRequest::new("gpt-4o");
        req.system.push(ContentBlock::text("sys"));
        req.temperature = Some(1.5);
        req.user = Some("u1".into());
        req.parallel_tool_calls = Some(false);
        req.tools.push(Tool {
            name: "f".into(),
            description: None,
            input_schema: json!({"type": "object"}),
            cache_control: None,
        });
        req.messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::text("hi")],
        });
        let body = translate(&req).unwrap();
        assert_eq!(body["max_tokens"], json!(DEFAULT_MAX_TOKENS));
        assert_eq!(body["system"], json!([{"type": "text", "text": "sys"}]));
        assert_eq!(body["temperature"], json!(1.0));
        assert_eq!(body["metadata"], json!({"user_id": "u1"}));
        assert_eq!(
            body["tool_choice"],
            json!({"type": "auto", "disable_parallel_tool_use": true})
        );
        assert_eq!(
            body["messages"],
            json!([{"role": "user", "content": [{"type": "text", "text": "hi"}]}])
        );
    }

    #[test]
    fn unsigned_thinking_is_not_sent() {
        let thinking = |signature: Option<&str>| ContentBlock::Thinking {
            thinking: "hmm".into(),
            signature: signature.map(str::to_owned),
        };
        let mut req = ChatRequest::new("m");
        req.messages = vec![
            Message {
                role: Role::User,
                content: vec![ContentBlock::text("hi")],
            },
            Message {
                role: Role::Assistant,
                content: vec![thinking(None), thinking(Some("")), thinking(Some("sig"))],
            },
            Message {
                role: Role::Assistant,
                content: vec![thinking(None), ContentBlock::text("hello")],
            },
            Message {
                role: Role::Assistant,
                content: vec![thinking(None)],
            },
        ];
        let body = translate(&req).unwrap();
        assert_eq!(
            body["messages"],
            json!([
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "sig"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "hello"}]}
            ])
        );
    }

    #[test]
    fn documents_are_document_blocks_in_messages_and_tool_results() {
        let by_url = ContentBlock::Document {
            source: DocumentSource::Url {
                url: "https://x/a.pdf".into(),
                field: "input.0.content.1.file_url".into(),
            },
            title: Some("Letter".into()),
            context: Some("from 2024".into()),
            cache_control: Some(json!({"type": "ephemeral"})),
        };
        let mut req = ChatRequest::new("gpt-4o");
        req.messages = vec![
            Message {
                role: Role::User,
                content: vec![ContentBlock::pdf("JVBE"), by_url],
            },
            Message {
                role: Role::Assistant,
                content: vec![ContentBlock::ToolUse {
                    id: "call_1".into(),
                    name: "Read".into(),
                    input: json!({}),
                    cache_control: None,
                }],
            },
            Message {
                role: Role::User,
                content: vec![ContentBlock::ToolResult {
                    tool_use_id: "call_1".into(),
                    content: vec![ContentBlock::pdf("JVBE")],
                    is_error: false,
                    cache_control: None,
                }],
            },
        ];
        let body = translate(&req).unwrap();
        let pdf = json!({"type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}});
        assert_eq!(
            body["messages"][0]["content"],
            json!([pdf, {"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"},
                "title": "Letter", "context": "from 2024", "cache_control": {"type": "ephemeral"}}])
        );
        assert_eq!(
            body["messages"][2]["content"],
            json!([{"type": "tool_result", "tool_use_id": "call_1", "content": [pdf]}])
        );
    }

    #[test]
    fn what_only_pass_through_carries_is_refused_when_translating() {
        let mut req = ChatRequest::new("gpt-4o");
        req.messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::text("read it")],
        });
        req.untranslatable = Some(Error::invalid_field(
            "messages.0.content.1.file.file_id",
            "a file by id",
        ));
        let e = translate(&req).unwrap_err();
        assert_eq!(e.param(), Some("messages.0.content.1.file.file_id"));
    }

    #[test]
    fn n_above_one_is_refused() {
        let mut req = ChatRequest::new("gpt-4o");
        req.n = Some(2);
        assert_eq!(translate(&req).unwrap_err().param(), Some("n"));
    }

    #[test]
    fn events_translate_with_input_usage_kept() {
        let mut t = EventTranslator {
            input: Usage::default(),
        };
        let start = t.event(r#"{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":25,"output_tokens":1}}}"#);
        assert_eq!(
            start,
            Some(StreamEvent::MessageStart {
                id: "msg_1".into(),
                usage: Usage {
                    input_tokens: 25,
                    output_tokens: 1,
                    ..Usage::default()
                }
            })
        );
        let d = t.event(r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\""}}"#);
        assert_eq!(
            d,
            Some(StreamEvent::BlockDelta {
                index: 1,
                delta: Delta::ToolArgs("{\"a\"".into())
            })
        );
        let md = t.event(r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}"#);
        assert_eq!(
            md,
            Some(StreamEvent::MessageDelta {
                stop_reason: Some(StopReason::ToolUse),
                stop_sequence: None,
                usage: Usage {
                    input_tokens: 25,
                    output_tokens: 9,
                    ..Usage::default()
                }
            })
        );
        assert!(
            matches!(t.event(r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#), Some(StreamEvent::Error(e)) if e.kind() == ErrorKind::Overloaded)
        );
    }

    #[test]
    fn zero_input_counts_are_counts() {
        let mut t = EventTranslator {
            input: Usage::input_only(999),
        };
        let start = t.event(r#"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":0,"cache_read_input_tokens":120,"output_tokens":1}}}"#);
        let expected = Usage {
            input_tokens: 0,
            output_tokens: 1,
            cache_read_input_tokens: 120,
            cache_creation_input_tokens: 0,
        };
        assert!(
            matches!(start, Some(StreamEvent::MessageStart { usage, .. }) if usage == expected)
        );
        let md = t.event(r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7,"cache_read_input_tokens":null}}"#);
        let expected = Usage {
            output_tokens: 7,
            ..expected
        };
        assert!(matches!(md, Some(StreamEvent::MessageDelta { usage, .. }) if usage == expected));
    }

    #[test]
    fn response_blocks_keep_signatures() {
        let v = json!({"id": "msg_1", "content": [
            {"type": "thinking", "thinking": "t", "signature": "sig=="},
            {"type": "text", "text": "hi"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 5, "output_tokens": 6}});
        let r = response_from(&v).unwrap();
        assert_eq!(
            r.content[0],
            ContentBlock::Thinking {
                thinking: "t".into(),
                signature: Some("sig==".into())
            }
        );
        assert_eq!(r.stop_reason, Some(StopReason::ToolUse));
        assert_eq!(r.usage.output_tokens, 6);
    }
}
