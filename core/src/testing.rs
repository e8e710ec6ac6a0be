//! A scripted upstream on 127.0.0.1:0 that speaks Chat Completions, Messages
//! and Responses (`/v1/responses`), records what it received and answers from
//! a queue of replies (or a default answer, see `default_reply`), for tests
//! and benchmarks. Enabled by the `testing` feature.
//!
//! Tests in other processes (the Python end-to-end suite, through the
//! `mock-upstream` binary) script it over HTTP with its control routes:
//!
//! - `POST /_mock/replies` with `{"replies": [...]}` queues replies, each one of
//!   `{"json": BODY, "status": 200, "headers": {NAME: VALUE}}`,
//!   `{"sse": ["<frame text>", ...], "fail_after": null}`,
//!   `{"openai_chunks": [CHUNK, ...]}` (`data:` frames, then `[DONE]`),
//!   `{"anthropic_events": [EVENT, ...]}` or `{"responses_events": [EVENT, ...]}`
//!   (`event: {type}` frames, no `[DONE]`); `DELETE` drops what is still queued;
//! - `GET /_mock/received` gives the recorded requests as
//!   `[{"path", "headers": {NAME: VALUE}, "body"}]`; `DELETE` clears them.

mod control;
pub mod fuzz;
pub mod redis_server;

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, StatusCode, Uri};
use serde_json::{json, Value};
use tokio::sync::watch;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum MockReply {
    Json {
        status: u16,
        body: Value,
        headers: Vec<(String, String)>,
    },
    /// SSE frames, each a full `event: ..\ndata: ..\n\n` text; the connection is
    /// broken after `fail_after` frames when set.
    Sse {
        frames: Vec<String>,
        fail_after: Option<usize>,
        delay: Duration,
    },
    /// Never answers (for first-byte timeouts).
    Hang,
    /// A 200 SSE answer that sends `frames`, then nothing more until its
    /// reader gives up (idle timeouts after the headers or mid-stream).
    Stall { frames: Vec<String> },
    /// Any body as is, say JSON that does not parse.
    Raw {
        status: u16,
        content_type: String,
        body: String,
    },
}

impl MockReply {
    pub fn json(body: Value) -> Self {
        MockReply::Json {
            status: 200,
            body,
            headers: Vec::new(),
        }
    }
    pub fn status(status: u16, body: Value) -> Self {
        MockReply::Json {
            status,
            body,
            headers: Vec::new(),
        }
    }
    /// OpenAI chunks as `data:` frames, then `[DONE]`.
    pub fn openai_chunks(chunks: &[Value]) -> Self {
        let mut frames: Vec<String> = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
        frames.push("data: [DONE]\n\n".into());
        MockReply::Sse {
            frames,
            fail_after: None,
            delay: Duration::ZERO,
        }
    }
    /// Anthropic events as `event:`/`data:` frames.
    pub fn anthropic_events(events: &[Value]) -> Self {
        Self::named_events(events, "message")
    }
    /// OpenAI Responses events as `event:`/`data:` frames (no `[DONE]`: OpenAI
    /// ends the stream with the terminal event).
    pub fn responses_events(events: &[Value]) -> Self {
        Self::named_events(events, "response")
    }
    /// Frames named by each event's `type` (`fallback` when it has none).
    fn named_events(events: &[Value], fallback: &str) -> Self {
        let frames = events
            .iter()
            .map(|e| {
                format!(
                    "event: {}\ndata: {e}\n\n",
                    e["type"].as_str().unwrap_or(fallback)
                )
            })
            .collect();
        MockReply::Sse {
            frames,
            fail_after: None,
            delay: Duration::ZERO,
        }
    }
}

/// A request the mock received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Debug, Default)]
pub(crate) struct MockState {
    pub(crate) received: Mutex<Vec<Received>>,
    pub(crate) script: Mutex<VecDeque<MockReply>>,
    record: bool,
    /// Streamed replies dropped before their last frame (the client went away).
    abandoned: std::sync::atomic::AtomicUsize,
}

/// Counts a streamed reply as abandoned unless it was disarmed at its end.
struct AbandonGuard(Arc<MockState>, bool);

impl AbandonGuard {
    fn disarm(&mut self) {
        self.1 = false;
    }
}

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        if self.1 {
            self.0
                .abandoned
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

#[derive(Debug)]
pub struct MockUpstream {
    addr: SocketAddr,
    state: Arc<MockState>,
    stop: watch::Sender<bool>,
}

impl MockUpstream {
    /// Starts on 127.0.0.1:0, recording every request.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(true).await
    }

    /// Starts without recording, for benchmarks.
    pub async fn start_with(record: bool) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(MockState {
            record,
            ..MockState::default()
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(answer))
            .route("/v1/messages", post(answer))
            .route("/v1/responses", post(answer))
            .route("/v1/embeddings", post(answer))
            .route(
                "/_mock/replies",
                post(control::queue_replies).delete(control::clear_replies),
            )
            .route(
                "/_mock/received",
                get(control::list_received).delete(control::clear_received),
            )
            .with_state(state.clone());
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        });
        Ok(MockUpstream { addr, state, stop })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL an upstream config takes: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues a reply for the next request.
    pub fn push(&self, reply: MockReply) {
        self.state
            .script
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(reply);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Streamed replies whose reader went away before the last frame.
    pub fn abandoned_streams(&self) -> usize {
        self.state
            .abandoned
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn calls(&self) -> usize {
        self.state
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    r
}

async fn answer(
    State(state): State<Arc<MockState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let path = uri.path().to_string();
    let scripted = state
        .script
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop_front();
    // Chosen before the body is recorded: the Responses default reads it.
    let reply = scripted.unwrap_or_else(|| default_reply(&path, stream, &body));
    if state.record {
        state
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Received {
                path: path.clone(),
                headers,
                body,
            });
    }
    match reply {
        MockReply::Json {
            status,
            body,
            headers,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = json_response(status, &body);
            for (k, v) in headers {
                if let (Ok(k), Ok(v)) = (
                    http::HeaderName::from_bytes(k.as_bytes()),
                    http::HeaderValue::from_str(&v),
                ) {
                    r.headers_mut().insert(k, v);
                }
            }
            r
        }
        MockReply::Sse {
            frames,
            fail_after,
            delay,
        } => {
            let mut guard = AbandonGuard(state.clone(), true);
            let s = async_stream::stream! {
                for (i, f) in frames.into_iter().enumerate() {
                    if fail_after == Some(i) {
                        guard.disarm();
                        // Let what was sent reach the client before the break.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        yield Err(std::io::Error::other("mock upstream broke the stream"));
                        return;
                    }
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    yield Ok(Bytes::from(f));
                }
                guard.disarm();
            };
            let mut r = Response::new(Body::from_stream(s));
            r.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("text/event-stream"),
            );
            r
        }
        MockReply::Hang => {
            std::future::pending::<()>().await;
            Response::new(Body::empty())
        }
        MockReply::Stall { frames } => {
            // Abandoned by definition: the count shows the gateway hung up.
            let guard = AbandonGuard(state.clone(), true);
            let s = async_stream::stream! {
                let _guard = guard;
                for f in frames {
                    yield Ok::<_, std::io::Error>(Bytes::from(f));
                }
                std::future::pending::<()>().await;
            };
            let mut r = Response::new(Body::from_stream(s));
            r.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("text/event-stream"),
            );
            r
        }
        MockReply::Raw {
            status,
            content_type,
            body,
        } => {
            let mut r = Response::new(Body::from(body));
            *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            if let Ok(v) = http::HeaderValue::from_str(&content_type) {
                r.headers_mut().insert("content-type", v);
            }
            r
        }
    }
}

/// The answer when nothing is scripted: a short text in the path's API.
fn default_reply(path: &str, stream: bool, body: &Value) -> MockReply {
    let text = DEFAULT_TEXT;
    if path.ends_with("/responses") {
        return responses_reply(body, stream);
    }
    match (path.ends_with("/messages"), stream) {
        (_, _) if path.ends_with("/embeddings") => MockReply::json(json!({
            "object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.6, 0.8]}],
            "model": "mock", "usage": {"prompt_tokens": 2, "total_tokens": 2}})),
        (false, false) => MockReply::json(json!({
            "id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": "mock",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}})),
        (false, true) => {
            let c = |delta: Value, finish: Value| {
                json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0, "model": "mock",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            };
            MockReply::openai_chunks(&[
                c(json!({"role": "assistant", "content": ""}), Value::Null),
                c(json!({"content": "Hello from "}), Value::Null),
                c(json!({"content": "the mock upstream."}), Value::Null),
                c(json!({}), json!("stop")),
                json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0, "model": "mock", "choices": [],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}}),
            ])
        }
        (true, false) => MockReply::json(json!({
            "id": "msg_mock", "type": "message", "role": "assistant", "model": "mock",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 7}})),
        (true, true) => MockReply::anthropic_events(&[
            json!({"type": "message_start", "message": {"id": "msg_mock", "type": "message", "role": "assistant", "model": "mock",
                "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 10, "output_tokens": 1}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "ping"}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello from "}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "the mock upstream."}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 7}}),
            json!({"type": "message_stop"}),
        ]),
    }
}

/// The text of every default answer.
const DEFAULT_TEXT: &str = "Hello from the mock upstream.";
/// The reasoning summary of a Responses answer to a request with `reasoning`.
const REASONING_SUMMARY: &str = "Thinking about it.";
/// The opaque reasoning state sent back with it: base64 of `encrypted-mock`.
const REASONING_ENCRYPTED: &str = "ZW5jcnlwdGVkLW1vY2s=";
/// The arguments of the mock's function call, in the two deltas it streams.
const CALL_ARGUMENTS: [&str; 2] = ["{\"city\":", "\"Paris\"}"];
/// `created_at` and `completed_at` of every Responses answer: fixed, so the
/// default answers can be built once and tests can compare them whole.
const RESPONSE_CREATED_AT: i64 = 1_700_000_000;

/// What a Responses request makes the mock answer.
struct ResponsesPlan<'a> {
    /// The request's `reasoning`, when it has one (not null): a reasoning item
    /// goes first.
    reasoning: Option<&'a Value>,
    /// The request's tools, echoed in the response object.
    tools: &'a [Value],
    answer: ResponsesAnswer,
}

enum ResponsesAnswer {
    Text(Cow<'static, str>),
    /// A call of the function tool of this name.
    Call(String),
}

impl<'a> ResponsesPlan<'a> {
    /// A `function_call` when a function tool is offered and the last input is
    /// a user message about the weather; `Tool said: ..` after a
    /// `function_call_output`; the default text otherwise.
    fn of(body: &'a Value) -> Self {
        let tools = body
            .get("tools")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let input = body.get("input").unwrap_or(&Value::Null);
        let last = match input {
            Value::Array(items) => items.last(),
            text @ Value::String(_) => Some(text),
            _ => None,
        };
        let function = tools
            .iter()
            .find(|t| t["type"] == "function")
            .and_then(|t| t["name"].as_str());
        let answer = match last {
            Some(item) if item["type"] == "function_call_output" => {
                ResponsesAnswer::Text(format!("Tool said: {}", text_of(&item["output"])).into())
            }
            Some(item) => match function {
                Some(name) if asks_weather(item) => ResponsesAnswer::Call(name.to_owned()),
                _ => ResponsesAnswer::Text(DEFAULT_TEXT.into()),
            },
            None => ResponsesAnswer::Text(DEFAULT_TEXT.into()),
        };
        ResponsesPlan {
            reasoning: body.get("reasoning").filter(|r| !r.is_null()),
            tools,
            answer,
        }
    }

    /// The common answer (the benchmark's), whose reply is built only once.
    fn is_default(&self) -> bool {
        self.reasoning.is_none()
            && self.tools.is_empty()
            && matches!(&self.answer, ResponsesAnswer::Text(t) if t == DEFAULT_TEXT)
    }
}

/// Whether an input item (or a bare string input) is a user message that
/// mentions the weather.
fn asks_weather(item: &Value) -> bool {
    let text = match item {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        _ if item["role"] == "user" && matches!(item["type"].as_str(), None | Some("message")) => {
            text_of(&item["content"])
        }
        _ => return false,
    };
    text.to_ascii_lowercase().contains("weather")
}

/// A string, or the `text` of each part of a list, joined.
fn text_of(content: &Value) -> Cow<'_, str> {
    match content {
        Value::String(s) => Cow::Borrowed(s),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<String>()
            .into(),
        _ => Cow::Borrowed(""),
    }
}

/// The default answer at `/responses`: the plain text is built once (the
/// benchmark asks it at concurrency 64), anything else per request.
fn responses_reply(body: &Value, stream: bool) -> MockReply {
    static PLAIN: OnceLock<MockReply> = OnceLock::new();
    static STREAMED: OnceLock<MockReply> = OnceLock::new();
    let plan = ResponsesPlan::of(body);
    match (plan.is_default(), stream) {
        (true, false) => PLAIN
            .get_or_init(|| MockReply::Raw {
                status: 200,
                content_type: "application/json".into(),
                body: response_object(&plan, true).to_string(),
            })
            .clone(),
        (true, true) => STREAMED
            .get_or_init(|| MockReply::responses_events(&response_events(&plan)))
            .clone(),
        (false, false) => MockReply::json(response_object(&plan, true)),
        (false, true) => MockReply::responses_events(&response_events(&plan)),
    }
}

/// The response object, fields as OpenAI sends them: `completed` with its
/// output and usage, or `in_progress` with neither (the stream's first events).
/// The settings are the API's defaults, not echoes, but for `tools` and
/// `reasoning`.
fn response_object(plan: &ResponsesPlan, completed: bool) -> Value {
    let reasoning = match plan.reasoning {
        Some(r) => json!({"effort": r.get("effort").unwrap_or(&Value::Null),
            "summary": r.get("summary").unwrap_or(&Value::Null)}),
        None => json!({"effort": null, "summary": null}),
    };
    let (status, completed_at, output, usage) = if completed {
        let reasoning_tokens = if plan.reasoning.is_some() { 3 } else { 0 };
        let usage = json!({"input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
            "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": 17});
        (
            "completed",
            json!(RESPONSE_CREATED_AT),
            output_items(plan),
            usage,
        )
    } else {
        ("in_progress", Value::Null, Vec::new(), Value::Null)
    };
    json!({
        "id": "resp_mock", "object": "response", "created_at": RESPONSE_CREATED_AT,
        "completed_at": completed_at, "status": status, "incomplete_details": null, "model": "mock",
        "previous_response_id": null, "instructions": null, "output": output, "error": null,
        "tools": plan.tools, "tool_choice": "auto", "truncation": "disabled", "parallel_tool_calls": true,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "top_p": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0, "top_logprobs": 0, "temperature": 1.0,
        "reasoning": reasoning, "usage": usage, "max_output_tokens": null, "max_tool_calls": null,
        "store": true, "background": false, "service_tier": "default", "metadata": {},
        "safety_identifier": null, "prompt_cache_key": null, "user": null,
    })
}

/// The output items of a completed answer.
fn output_items(plan: &ResponsesPlan) -> Vec<Value> {
    let mut items = Vec::with_capacity(2);
    if plan.reasoning.is_some() {
        items.push(reasoning_item(true));
    }
    items.push(match &plan.answer {
        ResponsesAnswer::Text(text) => message_item(text, true),
        ResponsesAnswer::Call(name) => call_item(name, true),
    });
    items
}

/// The reasoning item; as streamed first, without its summary and state yet.
fn reasoning_item(done: bool) -> Value {
    if done {
        json!({"id": "rs_mock", "type": "reasoning",
            "summary": [{"type": "summary_text", "text": REASONING_SUMMARY}],
            "encrypted_content": REASONING_ENCRYPTED})
    } else {
        json!({"id": "rs_mock", "type": "reasoning", "summary": []})
    }
}

fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// The assistant message; as streamed first, in progress and empty.
fn message_item(text: &str, done: bool) -> Value {
    let (status, content) = if done {
        ("completed", json!([output_text(text)]))
    } else {
        ("in_progress", json!([]))
    };
    json!({"id": "msg_mock", "type": "message", "role": "assistant", "status": status, "content": content})
}

/// The function call; as streamed first, in progress with no arguments.
fn call_item(name: &str, done: bool) -> Value {
    let (status, arguments) = if done {
        ("completed", CALL_ARGUMENTS.concat())
    } else {
        ("in_progress", String::new())
    };
    json!({"id": "fc_mock", "type": "function_call", "status": status, "arguments": arguments,
        "call_id": "call_mock", "name": name})
}

/// `text` in about three deltas, cut between words.
fn text_deltas(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    words
        .chunks(words.len().div_ceil(3).max(1))
        .map(<[&str]>::concat)
        .collect()
}

/// `base` with the fields of `rest` added.
fn merged(mut base: Value, rest: Value) -> Value {
    if let (Some(base), Value::Object(rest)) = (base.as_object_mut(), rest) {
        base.extend(rest);
    }
    base
}

/// The streamed answer: OpenAI's event sequence, `sequence_number` from 0.
fn response_events(plan: &ResponsesPlan) -> Vec<Value> {
    let mut events = vec![
        json!({"type": "response.created", "response": response_object(plan, false)}),
        json!({"type": "response.in_progress", "response": response_object(plan, false)}),
    ];
    let mut index = 0;
    if plan.reasoning.is_some() {
        let at = |kind: &str, rest: Value| {
            merged(
                json!({"type": kind, "item_id": "rs_mock", "output_index": index, "summary_index": 0}),
                rest,
            )
        };
        let summary = json!({"type": "summary_text", "text": REASONING_SUMMARY});
        events.extend([
            json!({"type": "response.output_item.added", "output_index": index, "item": reasoning_item(false)}),
            at(
                "response.reasoning_summary_part.added",
                json!({"part": {"type": "summary_text", "text": ""}}),
            ),
            at(
                "response.reasoning_summary_text.delta",
                json!({"delta": REASONING_SUMMARY}),
            ),
            at(
                "response.reasoning_summary_text.done",
                json!({"text": REASONING_SUMMARY}),
            ),
            at(
                "response.reasoning_summary_part.done",
                json!({"part": summary}),
            ),
            json!({"type": "response.output_item.done", "output_index": index, "item": reasoning_item(true)}),
        ]);
        index += 1;
    }
    match &plan.answer {
        ResponsesAnswer::Text(text) => {
            let part = |kind: &str, rest: Value| {
                merged(
                    json!({"type": kind, "item_id": "msg_mock", "output_index": index, "content_index": 0}),
                    rest,
                )
            };
            events.push(
                json!({"type": "response.output_item.added", "output_index": index,
                "item": message_item(text, false)}),
            );
            events.push(part(
                "response.content_part.added",
                json!({"part": output_text("")}),
            ));
            for delta in text_deltas(text) {
                events.push(part(
                    "response.output_text.delta",
                    json!({"delta": delta, "logprobs": []}),
                ));
            }
            events.push(part(
                "response.output_text.done",
                json!({"text": text, "logprobs": []}),
            ));
            events.push(part(
                "response.content_part.done",
                json!({"part": output_text(text)}),
            ));
            events.push(
                json!({"type": "response.output_item.done", "output_index": index,
                "item": message_item(text, true)}),
            );
        }
        ResponsesAnswer::Call(name) => {
            events.push(
                json!({"type": "response.output_item.added", "output_index": index,
                "item": call_item(name, false)}),
            );
            for delta in CALL_ARGUMENTS {
                events.push(json!({"type": "response.function_call_arguments.delta",
                    "item_id": "fc_mock", "output_index": index, "delta": delta}));
            }
            events.push(
                json!({"type": "response.function_call_arguments.done", "item_id": "fc_mock",
                "output_index": index, "name": name, "arguments": CALL_ARGUMENTS.concat()}),
            );
            events.push(
                json!({"type": "response.output_item.done", "output_index": index,
                "item": call_item(name, true)}),
            );
        }
    }
    events.push(json!({"type": "response.completed", "response": response_object(plan, true)}));
    for (n, e) in events.iter_mut().enumerate() {
        e["sequence_number"] = json!(n);
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(mock: &MockUpstream, body: Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/responses", mock.base_url()))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// The events of a streamed answer, each frame's `event:` checked against
    /// its `type` and the sequence numbers against their order.
    async fn streamed(mock: &MockUpstream, body: Value) -> Vec<Value> {
        let r = post(mock, body).await;
        assert_eq!(r.headers()["content-type"], "text/event-stream");
        let text = r.text().await.unwrap();
        let events: Vec<Value> = text
            .split_terminator("\n\n")
            .map(|frame| {
                let (name, data) = frame
                    .strip_prefix("event: ")
                    .and_then(|f| f.split_once("\ndata: "))
                    .unwrap();
                let event: Value = serde_json::from_str(data).unwrap();
                assert_eq!(event["type"], name);
                event
            })
            .collect();
        for (n, e) in events.iter().enumerate() {
            assert_eq!(e["sequence_number"], n);
        }
        events
    }

    fn types(events: &[Value]) -> Vec<&str> {
        events.iter().map(|e| e["type"].as_str().unwrap()).collect()
    }

    fn usage(reasoning_tokens: u64) -> Value {
        json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
            "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": 17})
    }

    fn message(text: &str) -> Value {
        json!({"id": "msg_mock", "type": "message", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]})
    }

    fn reasoning() -> Value {
        json!({"id": "rs_mock", "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "Thinking about it."}],
            "encrypted_content": "ZW5jcnlwdGVkLW1vY2s="})
    }

    fn weather_call() -> Value {
        json!({"id": "fc_mock", "type": "function_call", "status": "completed",
            "arguments": "{\"city\":\"Paris\"}", "call_id": "call_mock", "name": "get_weather"})
    }

    const MESSAGE_EVENTS: [&str; 8] = [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ];

    fn weather_tools() -> Value {
        json!([{"type": "function", "name": "get_weather", "description": "The weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}])
    }

    #[tokio::test]
    async fn responses_plain_answer_is_a_full_response_object() {
        let mock = MockUpstream::start().await.unwrap();
        let r = post(&mock, json!({"model": "m", "input": "Hi"})).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/json");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["id"], "resp_mock");
        assert_eq!(body["object"], "response");
        assert_eq!(body["status"], "completed");
        assert_eq!(body["model"], "mock");
        assert_eq!(body["created_at"], RESPONSE_CREATED_AT);
        assert_eq!(
            body["output"],
            json!([message("Hello from the mock upstream.")])
        );
        assert_eq!(body["usage"], usage(0));
        assert_eq!(body["text"]["format"], json!({"type": "text"}));
        for (key, value) in [
            ("error", Value::Null),
            ("incomplete_details", Value::Null),
            ("previous_response_id", Value::Null),
            ("tools", json!([])),
            ("tool_choice", json!("auto")),
            ("parallel_tool_calls", json!(true)),
            ("metadata", json!({})),
        ] {
            assert_eq!(body[key], value, "{key}");
        }
        assert_eq!(mock.received()[0].path, "/v1/responses");
    }

    #[tokio::test]
    async fn responses_stream_is_openais_event_sequence() {
        let mock = MockUpstream::start().await.unwrap();
        let events = streamed(&mock, json!({"model": "m", "input": "Hi", "stream": true})).await;
        let mut expected = vec!["response.created", "response.in_progress"];
        expected.extend(MESSAGE_EVENTS);
        expected.push("response.completed");
        assert_eq!(types(&events), expected);
        assert_eq!(events[0]["response"]["status"], "in_progress");
        assert_eq!(events[0]["response"]["output"], json!([]));
        assert_eq!(events[0]["response"]["usage"], Value::Null);
        assert_eq!(
            events[2]["item"],
            json!({"id": "msg_mock", "type": "message", "role": "assistant", "status": "in_progress", "content": []})
        );
        let deltas: Vec<&str> = events[4..7]
            .iter()
            .map(|e| e["delta"].as_str().unwrap())
            .collect();
        assert_eq!(deltas, ["Hello from ", "the mock ", "upstream."]);
        assert_eq!(
            events[4],
            json!({"type": "response.output_text.delta", "item_id": "msg_mock", "output_index": 0,
                "content_index": 0, "delta": "Hello from ", "logprobs": [], "sequence_number": 4})
        );
        assert_eq!(events[7]["text"], "Hello from the mock upstream.");
        assert_eq!(events[9]["item"], message("Hello from the mock upstream."));
        let done = &events[10]["response"];
        assert_eq!(done["status"], "completed");
        assert_eq!(
            done["output"],
            json!([message("Hello from the mock upstream.")])
        );
        assert_eq!(done["usage"], usage(0));
        // The frames built once answer the next request just the same.
        let again = streamed(&mock, json!({"input": "Hi", "stream": true})).await;
        assert_eq!(again, events);
    }

    #[tokio::test]
    async fn responses_weather_question_with_a_function_tool_calls_it() {
        let mock = MockUpstream::start().await.unwrap();
        let input = json!([{"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "What's the Weather in Paris?"}]}]);
        let body: Value = post(
            &mock,
            json!({"model": "m", "input": input, "tools": weather_tools()}),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(body["output"], json!([weather_call()]));
        assert_eq!(body["tools"], weather_tools());
        assert_eq!(body["usage"], usage(0));

        let events = streamed(
            &mock,
            json!({"input": input, "tools": weather_tools(), "stream": true}),
        )
        .await;
        assert_eq!(
            types(&events),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        assert_eq!(
            events[2]["item"],
            json!({"id": "fc_mock", "type": "function_call", "status": "in_progress", "arguments": "",
                "call_id": "call_mock", "name": "get_weather"})
        );
        assert_eq!(events[3]["delta"], "{\"city\":");
        assert_eq!(events[4]["delta"], "\"Paris\"}");
        assert_eq!(
            events[5],
            json!({"type": "response.function_call_arguments.done", "item_id": "fc_mock", "output_index": 0,
                "name": "get_weather", "arguments": "{\"city\":\"Paris\"}", "sequence_number": 5})
        );
        assert_eq!(events[6]["item"], weather_call());
        assert_eq!(events[7]["response"]["output"], json!([weather_call()]));

        // Tools but no weather, or weather but no tools: the plain text.
        for body in [
            json!({"input": "Hello", "tools": weather_tools()}),
            json!({"input": "The weather?"}),
        ] {
            let body: Value = post(&mock, body).await.json().await.unwrap();
            assert_eq!(
                body["output"],
                json!([message("Hello from the mock upstream.")])
            );
        }
    }

    #[tokio::test]
    async fn responses_function_call_output_is_answered_with_it() {
        let mock = MockUpstream::start().await.unwrap();
        let input = json!([
            {"type": "message", "role": "user", "content": "What's the weather in Paris?"},
            weather_call(),
            {"type": "function_call_output", "call_id": "call_mock", "output": "sunny, 21 C"},
        ]);
        let body: Value = post(&mock, json!({"input": input, "tools": weather_tools()}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["output"], json!([message("Tool said: sunny, 21 C")]));

        let events = streamed(
            &mock,
            json!({"input": input, "tools": weather_tools(), "stream": true}),
        )
        .await;
        let deltas: String = events
            .iter()
            .filter(|e| e["type"] == "response.output_text.delta")
            .map(|e| e["delta"].as_str().unwrap())
            .collect();
        assert_eq!(deltas, "Tool said: sunny, 21 C");
        assert_eq!(
            events.last().unwrap()["response"]["output"],
            json!([message("Tool said: sunny, 21 C")])
        );
    }

    #[tokio::test]
    async fn responses_reasoning_request_gets_a_reasoning_item_first() {
        let mock = MockUpstream::start().await.unwrap();
        let reasoning_req = json!({"effort": "low", "summary": "auto"});
        let body: Value = post(&mock, json!({"input": "Hi", "reasoning": reasoning_req}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            body["output"],
            json!([reasoning(), message("Hello from the mock upstream.")])
        );
        assert_eq!(body["usage"], usage(3));
        assert_eq!(body["reasoning"], reasoning_req);

        let events = streamed(
            &mock,
            json!({"input": "Hi", "reasoning": reasoning_req, "stream": true}),
        )
        .await;
        let mut expected = vec![
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
        ];
        expected.extend(MESSAGE_EVENTS);
        expected.push("response.completed");
        assert_eq!(types(&events), expected);
        assert_eq!(
            events[2]["item"],
            json!({"id": "rs_mock", "type": "reasoning", "summary": []})
        );
        assert_eq!(
            events[3],
            json!({"type": "response.reasoning_summary_part.added", "item_id": "rs_mock", "output_index": 0,
                "summary_index": 0, "part": {"type": "summary_text", "text": ""}, "sequence_number": 3})
        );
        assert_eq!(events[4]["delta"], "Thinking about it.");
        assert_eq!(events[5]["text"], "Thinking about it.");
        assert_eq!(events[7]["item"], reasoning());
        assert!(events[8..16].iter().all(|e| e["output_index"] == 1));
        let done = &events[16]["response"];
        assert_eq!(
            done["output"],
            json!([reasoning(), message("Hello from the mock upstream.")])
        );
        assert_eq!(done["usage"], usage(3));

        // With a tool call, the call follows the reasoning item.
        let body: Value = post(
            &mock,
            json!({"input": "Weather in Paris?", "tools": weather_tools(), "reasoning": {}}),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(body["output"], json!([reasoning(), weather_call()]));
    }

    #[tokio::test]
    async fn responses_scripted_reply_wins_over_the_default() {
        let mock = MockUpstream::start().await.unwrap();
        mock.push(MockReply::responses_events(&[
            json!({"type": "response.completed", "sequence_number": 0}),
        ]));
        let r = post(&mock, json!({"input": "Hi", "stream": true})).await;
        assert_eq!(
            r.text().await.unwrap(),
            "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":0}\n\n"
        );
    }
}
