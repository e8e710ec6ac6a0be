//! What one call is and what it gives back: the API shapes, the endpoints (the
//! one list of them: the router, the metrics and the bindings' name tables read
//! it), who is calling, the reply and its body, and the one clock.
//! Below everything that runs a call; it imports nothing above `error` and `limits`.

use std::net::IpAddr;
use std::pin::Pin;
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
    OpenAi,
}

/// The endpoints of the HTTP API, also callable in-process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Messages,
    CountTokens,
    ChatCompletions,
    Embeddings,
    Rerank,
    Models,
    Model(String),
}

impl Endpoint {
    /// Every endpoint once (`Model` with an empty id).
    pub const ALL: [Endpoint; 7] = [
        Endpoint::Messages,
        Endpoint::CountTokens,
        Endpoint::ChatCompletions,
        Endpoint::Embeddings,
        Endpoint::Rerank,
        Endpoint::Models,
        Endpoint::Model(String::new()),
    ];

    /// The route template, as the router mounts it and metrics and logs name it.
    pub fn path(&self) -> &'static str {
        match self {
            Endpoint::Messages => "/v1/messages",
            Endpoint::CountTokens => "/v1/messages/count_tokens",
            Endpoint::ChatCompletions => "/v1/chat/completions",
            Endpoint::Embeddings => "/v1/embeddings",
            Endpoint::Rerank => "/v1/rerank",
            Endpoint::Models => "/v1/models",
            Endpoint::Model(_) => "/v1/models/{id}",
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
            Endpoint::Models => "models",
            Endpoint::Model(_) => "model",
        }
    }

    /// The HTTP method it is served on.
    pub fn method(&self) -> http::Method {
        match self {
            Endpoint::Models | Endpoint::Model(_) => http::Method::GET,
            _ => http::Method::POST,
        }
    }

    /// The shape of replies and errors; model listings follow `anthropic-version`.
    pub fn shape(&self, anthropic_version: bool) -> Shape {
        match self {
            Endpoint::Messages | Endpoint::CountTokens => Shape::Anthropic,
            Endpoint::Models | Endpoint::Model(_) if anthropic_version => Shape::Anthropic,
            _ => Shape::OpenAi,
        }
    }

    /// The endpoint a concrete request path names (`/v1/models/x` is `Model("x")`).
    pub fn from_path(path: &str) -> Option<Endpoint> {
        if let Some(id) = path.strip_prefix("/v1/models/") {
            return (!id.is_empty() && !id.contains('/')).then(|| Endpoint::Model(id.to_string()));
        }
        Endpoint::ALL
            .into_iter()
            .find(|e| !matches!(e, Endpoint::Model(_)) && e.path() == path)
    }

    /// The endpoint an in-process surface names; `model_id` picks one model of `models`.
    pub fn from_name(name: &str, model_id: Option<String>) -> Option<Endpoint> {
        let found = Endpoint::ALL.into_iter().find(|e| e.name() == name)?;
        Some(match (found, model_id) {
            (Endpoint::Models | Endpoint::Model(_), Some(id)) => Endpoint::Model(id),
            (Endpoint::Model(_), None) => return None,
            (e, _) => e,
        })
    }

    /// Whether a request body with `stream: true` gives a stream here.
    pub fn streams(&self) -> bool {
        matches!(self, Endpoint::Messages | Endpoint::ChatCompletions)
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
    pub request_id: String,
    /// The caller sends the answer on as bytes (HTTP): a non-streamed answer
    /// comes back serialized (`Body::Raw`) instead of as a `Value`.
    pub wants_bytes: bool,
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
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if let Some(event) = self.event {
            out.extend_from_slice(b"event: ");
            out.extend_from_slice(event.as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(self.data.as_bytes());
        out.extend_from_slice(b"\n\n");
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
        assert_eq!(Endpoint::from_path("/v1/models/"), None);
        assert_eq!(Endpoint::from_name("nope", None), None);
    }
}
