//! What one call is and what it gives back: the API shapes, the endpoints (the
//! one list of them: the router, the metrics and the bindings' name tables read
//! it), who is calling, the reply and its body, and the one clock.
//! Below everything that runs a call; it imports nothing above `error` and `limits`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::Stream;
use serde_json::Value;

use crate::limits::LimitSnapshot;
use crate::Result;

/// The wire shape a call speaks: decides how its answer and its errors are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    Anthropic,
    /// OpenAI Chat Completions and OpenAI's other endpoints.
    OpenAi,
    /// The OpenAI Responses API: OpenAI's error shape, its own answers and events.
    Responses,
}

/// The endpoints of the HTTP API, also callable in-process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Messages,
    CountTokens,
    ChatCompletions,
    Embeddings,
    Rerank,
    /// POST /v2/rerank: Cohere's v2 request and answer.
    RerankV2,
    Models,
    Model(String),
    /// POST /v1/responses: create a response (streamed with `stream: true`).
    Responses,
    ResponsesInputTokens,
    ResponsesCompact,
    /// GET /v1/responses/{id}: a stored response.
    Response(String),
    DeleteResponse(String),
    /// GET /v1/responses/{id}/input_items; the body carries the query (`limit`, `after`, `order`).
    ResponseInputItems(String),
}

impl Endpoint {
    /// Every endpoint once (`Model` with an empty id).
    pub const ALL: [Endpoint; 14] = [
        Endpoint::Messages,
        Endpoint::CountTokens,
        Endpoint::ChatCompletions,
        Endpoint::Embeddings,
        Endpoint::Rerank,
        Endpoint::RerankV2,
        Endpoint::Models,
        Endpoint::Model(String::new()),
        Endpoint::Responses,
        Endpoint::ResponsesInputTokens,
        Endpoint::ResponsesCompact,
        Endpoint::Response(String::new()),
        Endpoint::DeleteResponse(String::new()),
        Endpoint::ResponseInputItems(String::new()),
    ];

    /// The route template, as the router mounts it and metrics and logs name it.
    pub fn path(&self) -> &'static str {
        match self {
            Endpoint::Messages => "/v1/messages",
            Endpoint::CountTokens => "/v1/messages/count_tokens",
            Endpoint::ChatCompletions => "/v1/chat/completions",
            Endpoint::Embeddings => "/v1/embeddings",
            Endpoint::Rerank => "/v1/rerank",
            Endpoint::RerankV2 => "/v2/rerank",
            Endpoint::Models => "/v1/models",
            Endpoint::Model(_) => "/v1/models/{id}",
            Endpoint::Responses => "/v1/responses",
            Endpoint::ResponsesInputTokens => "/v1/responses/input_tokens",
            Endpoint::ResponsesCompact => "/v1/responses/compact",
            Endpoint::Response(_) | Endpoint::DeleteResponse(_) => "/v1/responses/{id}",
            Endpoint::ResponseInputItems(_) => "/v1/responses/{id}/input_items",
        }
    }

    /// The name the in-process surfaces (C, Python, Node) call it by.
    pub fn name(&self) -> &'static str {
        match self {
            Endpoint::Messages => "messages",
            Endpoint::CountTokens => "count_tokens",
            Endpoint::ChatCompletions => "chat_completions",
            Endpoint::Embeddings => "embeddings",
            Endpoint::Rerank => "rerank",
            Endpoint::RerankV2 => "rerank_v2",
            Endpoint::Models => "models",
            Endpoint::Model(_) => "model",
            Endpoint::Responses => "responses",
            Endpoint::ResponsesInputTokens => "responses_input_tokens",
            Endpoint::ResponsesCompact => "responses_compact",
            Endpoint::Response(_) => "response",
            Endpoint::DeleteResponse(_) => "delete_response",
            Endpoint::ResponseInputItems(_) => "response_input_items",
        }
    }

    /// The `{id}` of a path with one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Endpoint::Model(id)
            | Endpoint::Response(id)
            | Endpoint::DeleteResponse(id)
            | Endpoint::ResponseInputItems(id) => Some(id),
            _ => None,
        }
    }

    /// The same endpoint for the resource `id` (endpoints without one stay as they are).
    pub fn with_id(&self, id: String) -> Endpoint {
        match self {
            Endpoint::Model(_) => Endpoint::Model(id),
            Endpoint::Response(_) => Endpoint::Response(id),
            Endpoint::DeleteResponse(_) => Endpoint::DeleteResponse(id),
            Endpoint::ResponseInputItems(_) => Endpoint::ResponseInputItems(id),
            other => other.clone(),
        }
    }

    /// The HTTP method it is served on.
    pub fn method(&self) -> http::Method {
        match self {
            Endpoint::Models
            | Endpoint::Model(_)
            | Endpoint::Response(_)
            | Endpoint::ResponseInputItems(_) => http::Method::GET,
            Endpoint::DeleteResponse(_) => http::Method::DELETE,
            _ => http::Method::POST,
        }
    }

    /// The shape of replies and errors; model listings follow `anthropic-version`.
    pub fn shape(&self, anthropic_version: bool) -> Shape {
        match self {
            Endpoint::Messages | Endpoint::CountTokens => Shape::Anthropic,
            Endpoint::Models | Endpoint::Model(_) if anthropic_version => Shape::Anthropic,
            Endpoint::Responses
            | Endpoint::ResponsesInputTokens
            | Endpoint::ResponsesCompact
            | Endpoint::Response(_)
            | Endpoint::DeleteResponse(_)
            | Endpoint::ResponseInputItems(_) => Shape::Responses,
            _ => Shape::OpenAi,
        }
    }

    /// The endpoint a concrete request path names (`/v1/models/x` is
    /// `Model("x")`); of the endpoints sharing a path, the one served on GET
    /// (the path is what metrics count, and theirs is the same).
    pub fn from_path(path: &str) -> Option<Endpoint> {
        Self::from_request(&http::Method::GET, path)
            .or_else(|| Endpoint::ALL.into_iter().find_map(|e| e.matches(path)))
    }

    /// The endpoint a request's method and path name.
    pub fn from_request(method: &http::Method, path: &str) -> Option<Endpoint> {
        Endpoint::ALL
            .into_iter()
            .filter(|e| e.method() == *method)
            .find_map(|e| e.matches(path))
    }

    /// This endpoint with the id `path` gives it, when `path` is one of its.
    fn matches(&self, path: &str) -> Option<Endpoint> {
        let template = self.path();
        let Some((before, after)) = template.split_once("{id}") else {
            return (template == path).then(|| self.clone());
        };
        let id = path.strip_prefix(before)?.strip_suffix(after)?;
        // A fixed path (`/v1/responses/compact`) is not an id.
        let fixed = Endpoint::ALL.iter().any(|e| e.path() == path);
        (!id.is_empty() && !id.contains('/') && !fixed).then(|| self.with_id(id.to_string()))
    }

    /// The endpoint an in-process surface names, with the id of its resource
    /// (`models` with an id is one model).
    pub fn from_name(name: &str, id: Option<String>) -> Option<Endpoint> {
        let found = Endpoint::ALL.into_iter().find(|e| e.name() == name)?;
        Some(match (found, id) {
            (Endpoint::Models, Some(id)) => Endpoint::Model(id),
            (e, Some(id)) if e.id().is_some() => e.with_id(id),
            // An id is the id of what the endpoint names: needed, or refused.
            (e, None) if e.id().is_some() => return None,
            (_, Some(_)) => return None,
            (e, None) => e,
        })
    }

    /// Whether a request body with `stream: true` gives a stream here.
    pub fn streams(&self) -> bool {
        matches!(
            self,
            Endpoint::Messages | Endpoint::ChatCompletions | Endpoint::Responses
        )
    }
}

/// Who is calling and how.
#[derive(Clone, Default)]
pub struct CallContext {
    pub api_key: Option<String>,
    /// Set for HTTP callers; `None` in-process, where calls without a key are unmetered.
    pub client_ip: Option<IpAddr>,
    /// The request had an `anthropic-version` header.
    pub anthropic_version: bool,
    /// The `anthropic-beta` values the client sent.
    pub anthropic_beta: Vec<String>,
    /// Claude Code's `x-claude-code-session-id`: one conversation's requests,
    /// for the prompt cache key of upstreams that take one.
    pub session_id: Option<String>,
    pub request_id: String,
    /// The caller sends the answer on as bytes (HTTP): a non-streamed answer
    /// comes back serialized (`Body::Raw`) instead of as a `Value`.
    pub wants_bytes: bool,
    /// The responses of this caller's connection (the WebSocket transport):
    /// `store: false` ones are kept there, for `previous_response_id` on it.
    pub connection: Option<Arc<ConnectionResponses>>,
}

/// Responses kept for one connection only (the Open Responses WebSocket
/// transport's `store: false` responses): id -> (input items, stored response JSON).
#[derive(Debug, Default)]
pub struct ConnectionResponses {
    kept: Mutex<HashMap<String, (Value, Value)>>,
}

impl ConnectionResponses {
    pub fn get(&self, id: &str) -> Option<(Value, Value)> {
        self.kept.lock().ok()?.get(id).cloned()
    }

    pub fn put(&self, id: String, input_items: Value, response: Value) {
        if let Ok(mut kept) = self.kept.lock() {
            kept.insert(id, (input_items, response));
        }
    }

    /// Forgets `id` (a continuation of it failed).
    pub fn evict(&self, id: &str) {
        if let Ok(mut kept) = self.kept.lock() {
            kept.remove(id);
        }
    }
}

/// Without the key itself, so a context that reaches a log leaks nothing.
impl std::fmt::Debug for CallContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallContext")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("client_ip", &self.client_ip)
            .field("anthropic_version", &self.anthropic_version)
            .field("anthropic_beta", &self.anthropic_beta)
            .field("request_id", &self.request_id)
            .finish()
    }
}

impl CallContext {
    pub fn new() -> Self {
        CallContext {
            request_id: new_request_id(),
            ..CallContext::default()
        }
    }
}

pub fn new_request_id() -> String {
    // Time-ordered, so the ledger's request-id index grows at its end instead of
    // touching a random page per row.
    format!("req_{}", uuid::Uuid::now_v7().simple())
}

/// One server-sent event: `event: NAME` (Anthropic) or none (OpenAI), and its data.
#[derive(Debug, Clone, PartialEq)]
pub struct SseFrame {
    pub event: Option<&'static str>,
    pub data: String,
}

impl SseFrame {
    /// Appends the wire form (`event: x\ndata: y\n\n`) to `out`.
    pub fn write_to(&self, out: &mut impl bytes::BufMut) {
        if let Some(event) = self.event {
            out.put_slice(b"event: ");
            out.put_slice(event.as_bytes());
            out.put_u8(b'\n');
        }
        out.put_slice(b"data: ");
        out.put_slice(self.data.as_bytes());
        out.put_slice(b"\n\n");
    }
}

/// Rendered SSE frames of one streamed answer.
pub type FrameStream = Pin<Box<dyn Stream<Item = SseFrame> + Send>>;

pub enum Body {
    Json(Value),
    /// A JSON answer already serialized.
    Raw(Bytes),
    Stream(FrameStream),
}

impl Body {
    /// `body` as the caller takes it: serialized when it wants bytes.
    pub fn of(body: &impl serde::Serialize, bytes: bool) -> Body {
        if bytes {
            Body::Raw(serde_json::to_vec(body).unwrap_or_default().into())
        } else {
            Body::Json(serde_json::to_value(body).unwrap_or(Value::Null))
        }
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Json(v) => f.debug_tuple("Json").field(v).finish(),
            Body::Raw(b) => f
                .debug_tuple("Raw")
                .field(&String::from_utf8_lossy(b))
                .finish(),
            Body::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// The outcome of one call with what its headers report.
#[derive(Debug)]
pub struct Reply {
    pub request_id: String,
    pub shape: Shape,
    /// The profile that served it, once routed.
    pub profile: Option<String>,
    /// The binding limit, when the call was metered.
    pub limits: Option<LimitSnapshot>,
    pub outcome: Result<Body>,
}

impl Reply {
    /// The HTTP status of the outcome.
    pub fn status(&self) -> u16 {
        match &self.outcome {
            Ok(_) => 200,
            Err(e) => e.http_status(),
        }
    }
}

/// Seconds since the Unix epoch: the one clock of timestamps in answers and rows.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_is_found_by_its_path_and_name() {
        for e in Endpoint::ALL {
            match &e {
                Endpoint::Response(_)
                | Endpoint::DeleteResponse(_)
                | Endpoint::ResponseInputItems(_) => {
                    let path = e.path().replace("{id}", "resp_1");
                    assert_eq!(
                        Endpoint::from_request(&e.method(), &path),
                        Some(e.with_id("resp_1".into()))
                    );
                    assert_eq!(
                        Endpoint::from_name(e.name(), Some("resp_1".into())),
                        Some(e.with_id("resp_1".into()))
                    );
                }
                Endpoint::Model(_) => {
                    assert_eq!(
                        Endpoint::from_path("/v1/models/dragon"),
                        Some(Endpoint::Model("dragon".into()))
                    );
                    assert_eq!(
                        Endpoint::from_name("models", Some("x".into())),
                        Some(Endpoint::Model("x".into()))
                    );
                }
                _ => {
                    assert_eq!(Endpoint::from_path(e.path()).as_ref(), Some(&e));
                    assert_eq!(Endpoint::from_name(e.name(), None).as_ref(), Some(&e));
                }
            }
        }
        assert_eq!(Endpoint::from_path("/v1/nope"), None);
        assert_eq!(
            Endpoint::from_path("/v1/responses/compact"),
            Some(Endpoint::ResponsesCompact)
        );
        assert_eq!(
            Endpoint::from_request(&http::Method::DELETE, "/v1/responses/resp_9"),
            Some(Endpoint::DeleteResponse("resp_9".into()))
        );
        assert_eq!(Endpoint::from_path("/v1/models/"), None);
        assert_eq!(Endpoint::from_name("nope", None), None);
        assert_eq!(Endpoint::from_name("response", None), None);
        assert_eq!(Endpoint::from_name("messages", Some("x".into())), None);
    }
}
