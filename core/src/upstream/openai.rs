//! An OpenAI-compatible upstream: canonical request → Chat Completions request,
//! and its response → canonical. Streams are translated in `openai_stream`.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::{HeaderMap, HeaderName};
use serde_json::{json, Map, Value};

use super::counts::token_count;
use super::documents;
use super::http::{HttpClient, Pools};
pub use super::openai_response::{response_from, response_from_bytes};
use super::openai_stream::ChunkTranslator;
use super::openai_wire::bad_answer;
pub use super::openai_wire::{parse_arguments, stop_reason, usage_from};
use super::passthrough::WithOverrides;
use super::sse::{self, SseBatches, SseEvent};
use super::target::Target;
use super::tool_ids;
use crate::call::Shape;
use crate::canonical::{
    ChatRequest, ChatResponse, ContentBlock, DocumentSource, EmbeddingsRequest, EmbeddingsResponse,
    EventStream, ImageSource, ResponseFormat, Role, ToolChoice,
};
use crate::config::{ToolIdStyle, UpstreamConfig};
use crate::tokens::estimate_request;
use crate::{Error, Result};

/// OpenAI accepts at most this many stop sequences.
const MAX_STOP: usize = 4;

#[derive(Debug)]
pub struct OpenAiUpstream {
    http: HttpClient,
    tool_ids: ToolIdStyle,
}

impl OpenAiUpstream {
    pub fn new(cfg: &UpstreamConfig, pools: &Pools) -> Result<Self> {
        let http = HttpClient::new(cfg, pools, |key| {
            (
                HeaderName::from_static("authorization"),
                format!("Bearer {key}"),
            )
        })?;
        Ok(OpenAiUpstream {
            http,
            tool_ids: cfg.tool_id_style,
        })
    }

    pub fn name(&self) -> &str {
        &self.http.name
    }

    /// Its connection, for the calls beyond chat (`rerank`).
    pub(super) fn http(&self) -> &HttpClient {
        &self.http
    }

    pub async fn complete(&self, req: &ChatRequest, target: &Target<'_>) -> Result<ChatResponse> {
        match tool_ids::map_request(req, self.tool_ids) {
            None => self.complete_as_is(req, target).await,
            Some((mapped, ids)) => {
                let mut r = self.complete_as_is(&mapped, target).await?;
                ids.restore_response(&mut r);
                Ok(r)
            }
        }
    }

    pub async fn stream(&self, req: &ChatRequest, target: &Target<'_>) -> Result<EventStream> {
        match tool_ids::map_request(req, self.tool_ids) {
            None => self.stream_as_is(req, target).await,
            Some((mapped, ids)) => {
                let events = self.stream_as_is(&mapped, target).await?;
                Ok(Box::pin(events.map(move |mut ev| {
                    ids.restore_event(&mut ev);
                    ev
                })))
            }
        }
    }

    async fn complete_as_is(&self, req: &ChatRequest, target: &Target<'_>) -> Result<ChatResponse> {
        let body = request_body(req, target, false)?;
        let resp = self
            .http
            .post("/chat/completions", body, &HeaderMap::new())
            .await?;
        let bytes = self.http.bytes(resp).await?;
        response_from_bytes(&self.http.name, &bytes, req)
    }

    async fn stream_as_is(&self, req: &ChatRequest, target: &Target<'_>) -> Result<EventStream> {
        Ok(event_stream(
            self.events(req, target).await?,
            estimate_request(req),
            &req.stop_sequences,
        ))
    }

    /// Whether a Chat Completions client's stream can go as the upstream
    /// sends it: every tool id is one the upstream takes as it is.
    pub fn forwards(&self, req: &ChatRequest) -> bool {
        tool_ids::all_fit(req, self.tool_ids)
    }

    /// A Chat Completions client's stream as the upstream sends it, and its
    /// reader (see `forward`).
    pub async fn forward(
        &self,
        req: &ChatRequest,
        target: &Target<'_>,
    ) -> Result<(SseBatches, ChunkTranslator)> {
        let reader = ChunkTranslator::new(estimate_request(req), &req.stop_sequences);
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
            .post("/chat/completions", body, &HeaderMap::new())
            .await?;
        Ok(sse::events(self.http.chunks(resp)))
    }

    pub async fn embed(
        &self,
        req: &EmbeddingsRequest,
        target: &Target<'_>,
    ) -> Result<EmbeddingsResponse> {
        let mut body =
            json!({"model": target.model, "input": req.input, "encoding_format": "float"});
        if let Some(d) = req.dimensions {
            body["dimensions"] = json!(d);
        }
        if let Some(u) = &req.user {
            body["user"] = json!(u);
        }
        let resp = self
            .http
            .post(
                "/embeddings",
                Bytes::from(serde_json::to_vec(&body)?),
                &HeaderMap::new(),
            )
            .await?;
        let value = self.http.json(resp).await?;
        let mut data: Vec<(u64, Vec<f32>)> = value
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| bad_answer(&self.http.name, "embeddings without data"))?
            .iter()
            .map(|d| {
                let index = d.get("index").and_then(Value::as_u64).unwrap_or(0);
                let v = d.get("embedding").and_then(Value::as_array).map(|a| {
                    a.iter()
                        .filter_map(Value::as_f64)
                        .map(|x| x as f32)
                        .collect::<Vec<f32>>()
                });
                v.map(|v| (index, v)).ok_or_else(|| {
                    bad_answer(&self.http.name, "embedding is not an array of numbers")
                })
            })
            .collect::<Result<_>>()?;
        data.sort_by_key(|(i, _)| *i);
        let input_tokens = token_count(value.pointer("/usage/prompt_tokens"))
            .unwrap_or_else(|| req.input_estimate());
        Ok(EmbeddingsResponse {
            vectors: data.into_iter().map(|(_, v)| v).collect(),
            input_tokens,
        })
    }
}

/// The decoded SSE of a streamed answer → canonical events, ending at `[DONE]`,
/// at the first error, or when the body ends (cleanly only if a finish reason came).
pub(crate) fn event_stream(
    batches: impl Stream<Item = Result<Vec<SseEvent>>> + Send + 'static,
    input_estimate: u64,
    stops: &[String],
) -> EventStream {
    sse::translated(batches, ChunkTranslator::new(input_estimate, stops))
}

/// The Chat Completions body: the client's own when it spoke OpenAI (model and
/// stream options rewritten), else translated from the canonical request.
pub fn request_body(req: &ChatRequest, target: &Target<'_>, stream: bool) -> Result<Bytes> {
    let stream_opts = stream.then(|| json!({"include_usage": true}));
    if let Some(src) = req.source.as_ref().filter(|s| s.shape == Shape::OpenAi) {
        if let Some(body) = src.body.as_object() {
            let overrides = [
                ("model", Some(json!(target.model))),
                ("stream", Some(json!(stream))),
                ("stream_options", stream_opts),
            ];
            return Ok(Bytes::from(serde_json::to_vec(&WithOverrides {
                body,
                overrides: &overrides,
            })?));
        }
    }
    let mut body = translate(req, target.model)?;
    body.insert("stream".into(), json!(stream));
    if let Some(o) = stream_opts {
        body.insert("stream_options".into(), o);
    }
    Ok(Bytes::from(serde_json::to_vec(&body)?))
}

/// Canonical → Chat Completions. Fields OpenAI cannot express are dropped when
/// they cannot change the answer (`top_k`, `cache_control`) and refused otherwise
/// (a PDF by URL: Chat Completions takes documents only as data).
pub fn translate(req: &ChatRequest, model: &str) -> Result<Map<String, Value>> {
    req.translatable()?;
    if req.stop_sequences.len() > MAX_STOP {
        return Err(Error::invalid_field(
            "stop_sequences",
            format!(
                "this model's upstream takes at most {MAX_STOP} stop sequences, got {}",
                req.stop_sequences.len()
            ),
        ));
    }
    let mut messages = Vec::new();
    let system: Vec<String> = req
        .system
        .iter()
        .map(ContentBlock::plain_text)
        .filter(|t| !t.is_empty())
        .collect();
    if !system.is_empty() {
        messages.push(json!({"role": "system", "content": system.join("\n\n")}));
    }
    for (i, m) in req.messages.iter().enumerate() {
        match m.role {
            Role::User => user_messages(&m.content, &mut messages)?,
            Role::Assistant => messages.push(assistant_message(&m.content, i)?),
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(messages));
    if let Some(n) = req.max_tokens {
        body.insert("max_tokens".into(), json!(n));
    }
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), json!(p));
    }
    if !req.stop_sequences.is_empty() {
        body.insert("stop".into(), json!(req.stop_sequences));
    }
    if let Some(u) = &req.user {
        body.insert("user".into(), json!(u));
    }
    if let Some(n) = req.n {
        body.insert("n".into(), json!(n));
    }
    if req.logprobs {
        body.insert("logprobs".into(), json!(true));
    }
    if let Some(n) = req.top_logprobs {
        body.insert("top_logprobs".into(), json!(n));
    }
    if let Some(f) = &req.response_format {
        body.insert("response_format".into(), response_format_json(f));
    }
    if let Some(e) = req.effort() {
        body.insert("reasoning_effort".into(), json!(e));
    }
    if let Some(k) = &req.prompt_cache_key {
        body.insert("prompt_cache_key".into(), json!(k));
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut f = json!({"name": t.name, "parameters": t.input_schema});
                if let Some(d) = &t.description {
                    f["description"] = json!(d);
                }
                json!({"type": "function", "function": f})
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
        if let Some(false) = req.parallel_tool_calls {
            body.insert("parallel_tool_calls".into(), json!(false));
        }
    }
    if let Some(choice) = &req.tool_choice {
        let v = match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::Any => json!("required"),
            ToolChoice::None => json!("none"),
            ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
        };
        if !req.tools.is_empty() || matches!(choice, ToolChoice::None) {
            body.insert("tool_choice".into(), v);
        }
    }
    Ok(body)
}

/// User content: one string when it is all text (several OpenAI-compatible
/// upstreams, DeepSeek among them, take no content arrays), its blocks apart as
/// paragraphs so that two of them never run into one word; parts otherwise.
fn text_or_parts(blocks: &[&ContentBlock]) -> Result<Value> {
    if blocks
        .iter()
        .all(|b| matches!(b, ContentBlock::Text { .. }))
    {
        return Ok(json!(blocks
            .iter()
            .map(|b| b.plain_text())
            .collect::<Vec<_>>()
            .join("\n\n")));
    }
    let mut parts = Vec::with_capacity(blocks.len());
    for b in blocks {
        match b {
            ContentBlock::Text { text, .. } => parts.push(json!({"type": "text", "text": text})),
            ContentBlock::Image { source, .. } => parts.push(image_part(source)),
            ContentBlock::Document {
                source,
                title,
                context,
                ..
            } => {
                let (media_type, data) = match source {
                    DocumentSource::Base64 { media_type, data } => (media_type, data),
                    DocumentSource::Url { field, .. } => {
                        return Err(Error::invalid_field(
                            field,
                            "this model's upstream (Chat Completions) takes documents only as data: send the PDF inline as base64",
                        ))
                    }
                };
                if let Some(text) = documents::context_text(title.as_deref(), context.as_deref()) {
                    parts.push(json!({"type": "text", "text": text}));
                }
                parts.push(json!({"type": "file", "file": {
                    "file_data": documents::data_url(media_type, data),
                    "filename": documents::pdf_filename(title.as_deref()),
                }}));
            }
            _ => {}
        }
    }
    Ok(Value::Array(parts))
}

fn image_part(source: &ImageSource) -> Value {
    let url = match source {
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        ImageSource::Url { url } => url.clone(),
    };
    json!({"type": "image_url", "image_url": {"url": url}})
}

/// A user turn: each tool result becomes its own `tool` message, in order and
/// first (OpenAI wants them right after the assistant's calls), then the rest.
/// A tool message takes only text: the images and documents of a result follow
/// as user content, and the result's text says a document does.
fn user_messages(content: &[ContentBlock], out: &mut Vec<Value>) -> Result<()> {
    let mut rest: Vec<&ContentBlock> = Vec::new();
    for b in content {
        match b {
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
                ..
            } => {
                let mut text = content
                    .iter()
                    .map(ContentBlock::plain_text)
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n");
                if *is_error {
                    text = format!("Error: {text}");
                }
                let docs = content
                    .iter()
                    .filter(|c| matches!(c, ContentBlock::Document { .. }))
                    .count();
                if docs > 0 {
                    let note = match docs {
                        1 => "[the document follows in the next message]".to_owned(),
                        n => format!("[the {n} documents follow in the next message]"),
                    };
                    text = if text.is_empty() {
                        note
                    } else {
                        format!("{text}\n{note}")
                    };
                }
                out.push(json!({"role": "tool", "tool_call_id": tool_use_id, "content": text}));
                rest.extend(content.iter().filter(|c| {
                    matches!(
                        c,
                        ContentBlock::Image { .. } | ContentBlock::Document { .. }
                    )
                }));
            }
            ContentBlock::Text { .. }
            | ContentBlock::Image { .. }
            | ContentBlock::Document { .. } => rest.push(b),
            _ => {}
        }
    }
    if !rest.is_empty() {
        out.push(json!({"role": "user", "content": text_or_parts(&rest)?}));
    }
    Ok(())
}

fn assistant_message(content: &[ContentBlock], index: usize) -> Result<Value> {
    let mut msg = json!({"role": "assistant"});
    let text: String = content
        .iter()
        .filter(|b| matches!(b, ContentBlock::Text { .. }))
        .map(ContentBlock::plain_text)
        .collect();
    let reasoning: String = content
        .iter()
        .filter(|b| matches!(b, ContentBlock::Thinking { .. }))
        .map(ContentBlock::plain_text)
        .collect();
    let calls: Vec<Value> = content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolUse {
                id, name, input, ..
            } => Some(json!({
                "id": id, "type": "function",
                "function": {"name": name, "arguments": input.to_string()},
            })),
            _ => None,
        })
        .collect();
    if content.iter().any(|b| {
        matches!(
            b,
            ContentBlock::Image { .. } | ContentBlock::Document { .. }
        )
    }) {
        return Err(Error::invalid_field(
            format!("messages.{index}.content"),
            "this model's upstream takes no images or documents in assistant turns",
        ));
    }
    msg["content"] = if text.is_empty() && !calls.is_empty() {
        Value::Null
    } else {
        json!(text)
    };
    if !reasoning.is_empty() {
        msg["reasoning_content"] = json!(reasoning);
    }
    if !calls.is_empty() {
        msg["tool_calls"] = Value::Array(calls);
    }
    Ok(msg)
}

/// `response_format` as Chat Completions writes it.
fn response_format_json(f: &ResponseFormat) -> Value {
    match f {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            description,
            schema,
            strict,
        } => {
            let mut inner = json!({"name": name, "schema": schema});
            if let Some(d) = description {
                inner["description"] = json!(d);
            }
            if let Some(s) = strict {
                inner["strict"] = json!(s);
            }
            json!({"type": "json_schema", "json_schema": inner})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::StopReason;
    use crate::canonical::{Message, Tool};

    fn weather_call_conversation() -> ChatRequest {
        let mut req = ChatRequest::new("claude-sonnet-4-6");
        req.system.push(ContentBlock::text("be brief"));
        req.max_tokens = Some(100);
        req.top_k = Some(5);
        req.tools.push(Tool {
            name: "get_weather".into(),
            description: Some("weather".into()),
            input_schema: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            cache_control: Some(json!({"type": "ephemeral"})),
        });
        req.parallel_tool_calls = Some(false);
        req.tool_choice = Some(ToolChoice::Any);
        req.messages = vec![
            Message {
                role: Role::User,
                content: vec![ContentBlock::text("weather in Paris and Rome?")],
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    ContentBlock::text("Checking."),
                    ContentBlock::ToolUse {
                        id: "toolu_A".into(),
                        name: "get_weather".into(),
                        input: json!({"city": "Paris"}),
                        cache_control: None,
                    },
                    ContentBlock::ToolUse {
                        id: "toolu_B".into(),
                        name: "get_weather".into(),
                        input: json!({"city": "Rome"}),
                        cache_control: None,
                    },
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    ContentBlock::ToolResult {
                        tool_use_id: "toolu_A".into(),
                        content: vec![ContentBlock::text("sunny")],
                        is_error: false,
                        cache_control: None,
                    },
                    ContentBlock::ToolResult {
                        tool_use_id: "toolu_B".into(),
                        content: vec![ContentBlock::text("no data")],
                        is_error: true,
                        cache_control: None,
                    },
                    ContentBlock::text("and tomorrow?"),
                ],
            },
        ];
        req
    }

    #[test]
    fn anthropic_conversation_to_openai_messages_in_order() {
        let body = translate(&weather_call_conversation(), "up-model").unwrap();
        let expected = json!({
            "model": "up-model",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "weather in Paris and Rome?"},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "toolu_A", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "toolu_B", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "toolu_A", "content": "sunny"},
                {"role": "tool", "tool_call_id": "toolu_B", "content": "Error: no data"},
                {"role": "user", "content": "and tomorrow?"}
            ],
            "max_tokens": 100,
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
            "parallel_tool_calls": false,
            "tool_choice": "required"
        });
        assert_eq!(Value::Object(body), expected);
    }

    #[test]
    fn user_text_blocks_stay_apart() {
        let mut req = ChatRequest::new("m");
        req.messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::text("Hello"), ContentBlock::text("World")],
        });
        let body = translate(&req, "m").unwrap();
        assert_eq!(body["messages"][0]["content"], "Hello\n\nWorld");
    }

    #[test]
    fn a_document_in_a_tool_result_follows_its_tool_message() {
        let mut req = weather_call_conversation();
        req.messages[2].content = vec![
            ContentBlock::ToolResult {
                tool_use_id: "toolu_A".into(),
                content: vec![ContentBlock::pdf("JVBE")],
                is_error: false,
                cache_control: None,
            },
            ContentBlock::ToolResult {
                tool_use_id: "toolu_B".into(),
                content: vec![
                    ContentBlock::text("two pages"),
                    ContentBlock::pdf("JVBF"),
                    ContentBlock::pdf("JVBG"),
                ],
                is_error: false,
                cache_control: None,
            },
            ContentBlock::Document {
                source: DocumentSource::Base64 {
                    media_type: "application/pdf".into(),
                    data: "JVBH".into(),
                },
                title: Some("Q3 report".into()),
                context: Some("the draft".into()),
                cache_control: None,
            },
        ];
        let body = translate(&req, "m").unwrap();
        let file = |data: &str, name: &str| json!({"type": "file", "file": {"file_data": format!("data:application/pdf;base64,{data}"), "filename": name}});
        assert_eq!(
            body["messages"].as_array().unwrap()[3..],
            [
                json!({"role": "tool", "tool_call_id": "toolu_A", "content": "[the document follows in the next message]"}),
                json!({"role": "tool", "tool_call_id": "toolu_B", "content": "two pages\n[the 2 documents follow in the next message]"}),
                json!({"role": "user", "content": [
                    file("JVBE", "document.pdf"),
                    file("JVBF", "document.pdf"),
                    file("JVBG", "document.pdf"),
                    {"type": "text", "text": "Document: Q3 report\nContext: the draft"},
                    file("JVBH", "Q3 report.pdf"),
                ]}),
            ]
        );
    }

    #[test]
    fn a_pdf_by_url_is_refused_naming_the_clients_field() {
        let mut req = ChatRequest::new("m");
        req.messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::Document {
                source: DocumentSource::Url {
                    url: "https://x/a.pdf".into(),
                    field: "messages.0.content.0.source.url".into(),
                },
                title: None,
                context: None,
                cache_control: None,
            }],
        });
        let e = translate(&req, "m").unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert_eq!(e.param(), Some("messages.0.content.0.source.url"));
        req.messages[0].content = vec![ContentBlock::text("hi")];
        req.untranslatable = Some(Error::invalid_field(
            "messages.0.content.1.source.file_id",
            "x",
        ));
        assert_eq!(
            translate(&req, "m").unwrap_err().param(),
            Some("messages.0.content.1.source.file_id")
        );
    }

    #[test]
    fn too_many_stop_sequences_is_refused() {
        let mut req = ChatRequest::new("m");
        req.stop_sequences = (0..5).map(|i| i.to_string()).collect();
        assert_eq!(
            translate(&req, "m").unwrap_err().param(),
            Some("stop_sequences")
        );
    }

    #[test]
    fn response_with_tool_calls_and_cached_usage() {
        let v = json!({"id": "chatcmpl-1", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null, "reasoning_content": "hmm",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 40}}});
        let r = response_from(&v, &ChatRequest::new("m")).unwrap();
        assert_eq!(r.stop_reason, Some(StopReason::ToolUse));
        assert_eq!(
            r.content[0],
            ContentBlock::Thinking {
                thinking: "hmm".into(),
                signature: None
            }
        );
        assert!(
            matches!(&r.content[1], ContentBlock::ToolUse { id, input, .. } if id == "call_1" && input == &json!({}))
        );
        assert_eq!(
            (
                r.usage.input_tokens,
                r.usage.cache_read_input_tokens,
                r.usage.output_tokens
            ),
            (60, 40, 7)
        );
    }

    #[test]
    fn stop_reasons() {
        let stops = vec!["END".to_string()];
        assert_eq!(
            stop_reason("stop", None, &stops),
            (StopReason::EndTurn, None)
        );
        assert_eq!(
            stop_reason("stop", Some("END"), &stops),
            (StopReason::StopSequence, Some("END".into()))
        );
        assert_eq!(stop_reason("length", None, &stops).0, StopReason::MaxTokens);
        assert_eq!(
            stop_reason("tool_calls", None, &stops).0,
            StopReason::ToolUse
        );
    }
}
