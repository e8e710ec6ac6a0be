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
//!
//! It is also an OTLP/HTTP trace sink: `POST /v1/traces` takes an export and
//! discards it (the benchmark's telemetry rows send their spans there).

mod control;
pub mod fuzz;
pub mod redis_server;
mod responses;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
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
    /// The default Chat Completions stream, when not the short one.
    shape: Option<StreamShape>,
}

/// The default Chat Completions stream the benchmark asks for: as a real
/// upstream streams, one body frame per event, `deltas` content deltas
/// (with the role, finish and usage chunks and `[DONE]`, `deltas + 4` events),
/// `gap` apart (zero: all ready at once).
#[derive(Debug, Clone, Copy)]
pub struct StreamShape {
    pub deltas: usize,
    pub gap: Duration,
}

impl StreamShape {
    fn reply(&self) -> MockReply {
        let c = |delta: Value, finish: Value| {
            json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0, "model": "mock",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        };
        let mut chunks = vec![c(json!({"role": "assistant", "content": ""}), Value::Null)];
        chunks.extend(
            (0..self.deltas).map(|i| c(json!({"content": format!("word{i} ")}), Value::Null)),
        );
        chunks.push(c(json!({}), json!("stop")));
        chunks.push(json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0, "model": "mock", "choices": [],
            "usage": {"prompt_tokens": 10, "completion_tokens": self.deltas, "total_tokens": 10 + self.deltas}}));
        let mut reply = MockReply::openai_chunks(&chunks);
        if let MockReply::Sse { delay, .. } = &mut reply {
            *delay = self.gap;
        }
        reply
    }
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
        Self::start_shaped(record, None).await
    }

    /// Starts with the default Chat Completions stream `shape` gives.
    pub async fn start_shaped(record: bool, shape: Option<StreamShape>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(MockState {
            record,
            shape,
            ..MockState::default()
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(answer))
            .route("/v1/messages", post(answer))
            .route("/v1/responses", post(answer))
            .route("/v1/embeddings", post(answer))
            .route("/v1/rerank", post(answer))
            .route("/v1/traces", post(discard_traces))
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

/// An OTLP export taken and dropped: 200 with an empty protobuf answer.
async fn discard_traces(_body: Bytes) -> Response {
    let mut r = Response::new(Body::empty());
    r.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/x-protobuf"),
    );
    r
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
    let reply = scripted.unwrap_or_else(|| match state.shape {
        Some(shape) if stream && path.ends_with("/chat/completions") => shape.reply(),
        _ => default_reply(&path, stream, &body),
    });
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
    let text = responses::DEFAULT_TEXT;
    if path.ends_with("/responses") {
        return responses::reply(body, stream);
    }
    match (path.ends_with("/messages"), stream) {
        (_, _) if path.ends_with("/rerank") => MockReply::json(json!({
            "id": "rerank-mock", "results": [{"index": 0, "relevance_score": 0.5}],
            "usage": {"total_tokens": 5}})),
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
