//! Upstream providers behind one interface. The pipeline calls these; each kind
//! translates the canonical request into its own API.

pub mod anthropic;
mod counts;
mod documents;
pub mod echo;
mod echo_retrieval;
pub(crate) mod forward;
pub mod http;
mod lenient;
pub mod openai;
mod openai_chunk;
mod openai_response;
mod openai_stream;
mod openai_wire;
mod passthrough;
mod rerank;
pub mod reset;
pub mod responses;
pub(crate) mod responses_stream;
pub(crate) mod responses_wire;
pub mod sse;
pub mod target;
pub mod tool_ids;

use futures::StreamExt;

use crate::call::Shape;
use crate::canonical::{
    ChatRequest, ChatResponse, EmbeddingsRequest, EmbeddingsResponse, EventStream, RerankRequest,
    RerankResponse, StreamEvent,
};
use crate::config::{UpstreamConfig, UpstreamKind};
use crate::{Error, ErrorKind, Result};

pub use anthropic::AnthropicUpstream;
pub use echo::EchoUpstream;
pub(crate) use forward::Forwarded;
pub use openai::OpenAiUpstream;
pub use responses::ResponsesUpstream;
pub use target::{output_budget, Target};

/// A configured upstream, by kind.
#[derive(Debug)]
pub enum Upstream {
    Echo(EchoUpstream),
    OpenAi(OpenAiUpstream),
    Anthropic(AnthropicUpstream),
    Responses(ResponsesUpstream),
}

impl Upstream {
    /// An upstream with a connection pool of its own.
    pub fn from_config(cfg: &UpstreamConfig) -> Result<Self> {
        Self::from_config_in(cfg, &http::Pools::default())
    }

    /// An upstream whose connections come from `pools`, shared with the
    /// gateway's other upstreams (see `http::Pools`).
    pub fn from_config_in(cfg: &UpstreamConfig, pools: &http::Pools) -> Result<Self> {
        match cfg.kind {
            UpstreamKind::Echo => Ok(Upstream::Echo(EchoUpstream {
                simulate_speed: cfg.simulate_speed,
            })),
            UpstreamKind::Openai => Ok(Upstream::OpenAi(OpenAiUpstream::new(cfg, pools)?)),
            UpstreamKind::Anthropic => Ok(Upstream::Anthropic(AnthropicUpstream::new(cfg, pools)?)),
            UpstreamKind::OpenaiResponses => {
                Ok(Upstream::Responses(ResponsesUpstream::new(cfg, pools)?))
            }
        }
    }

    /// The most output tokens this kind is asked for when a client sets no
    /// limit: Messages requires `max_tokens`, the others take none.
    pub fn output_cap(&self) -> Option<u64> {
        match self {
            Upstream::Anthropic(_) => Some(anthropic::DEFAULT_MAX_TOKENS),
            Upstream::Echo(_) | Upstream::OpenAi(_) | Upstream::Responses(_) => None,
        }
    }

    pub async fn complete(&self, req: &ChatRequest, target: &Target<'_>) -> Result<ChatResponse> {
        match self {
            // The echo translates too: it refuses what only pass-through carries.
            Upstream::Echo(e) => req.translatable().map(|()| e.complete(req)),
            Upstream::OpenAi(u) => u.complete(req, target).await,
            Upstream::Anthropic(u) => u.complete(req, target).await,
            Upstream::Responses(u) => u.complete(req, target).await,
        }
    }

    /// Whether a streamed answer to `req` goes to the client as this upstream
    /// sends it (`forward`): the client speaks this upstream's own API, and
    /// nothing of it needs translating.
    pub fn forwards(&self, req: &ChatRequest) -> bool {
        let shape = req.source.as_ref().map(|s| s.shape);
        match self {
            Upstream::OpenAi(u) => shape == Some(Shape::OpenAi) && u.forwards(req),
            Upstream::Anthropic(_) => shape == Some(Shape::Anthropic),
            Upstream::Echo(_) | Upstream::Responses(_) => false,
        }
    }

    /// The upstream's own events for a client of its shape (see `forwards`),
    /// once the first have arrived.
    pub async fn forward(&self, req: &ChatRequest, target: &Target<'_>) -> Result<Forwarded> {
        let (batches, reader) = match self {
            Upstream::OpenAi(u) => {
                let (batches, reader) = u.forward(req, target).await?;
                (batches, forward::Reader::OpenAi(reader))
            }
            Upstream::Anthropic(u) => {
                let (batches, reader) = u.forward(req, target).await?;
                (batches, forward::Reader::Anthropic(reader))
            }
            Upstream::Echo(_) | Upstream::Responses(_) => {
                return Err(Error::internal("this upstream kind forwards no stream"))
            }
        };
        Forwarded::checked(batches, reader).await
    }

    /// The answer's events, once the first has arrived (see `first_event`).
    pub async fn stream(&self, req: &ChatRequest, target: &Target<'_>) -> Result<EventStream> {
        let events = match self {
            Upstream::Echo(e) => {
                req.translatable()?;
                return Ok(e.stream(req, target.tokens_per_second));
            }
            Upstream::OpenAi(u) => u.stream(req, target).await?,
            Upstream::Anthropic(u) => u.stream(req, target).await?,
            Upstream::Responses(u) => u.stream(req, target).await?,
        };
        first_event(events).await
    }

    pub async fn embed(
        &self,
        req: &EmbeddingsRequest,
        target: &Target<'_>,
    ) -> Result<EmbeddingsResponse> {
        match self {
            Upstream::Echo(_) => Ok(echo_retrieval::embed(req)),
            Upstream::OpenAi(u) => u.embed(req, target).await,
            Upstream::Anthropic(u) => Err(cannot_serve(u.name(), "/v1/embeddings")),
            Upstream::Responses(u) => Err(cannot_serve(u.name(), "/v1/embeddings")),
        }
    }

    pub async fn rerank(&self, req: &RerankRequest, target: &Target<'_>) -> Result<RerankResponse> {
        match self {
            Upstream::Echo(_) => Ok(echo_retrieval::rerank(req)),
            Upstream::OpenAi(u) => rerank::rerank(u.http(), req, target).await,
            Upstream::Anthropic(u) => Err(cannot_serve(u.name(), "rerank")),
            Upstream::Responses(u) => Err(cannot_serve(u.name(), "rerank")),
        }
    }
}

/// Waits for a stream's first event. A stream that fails before it (an
/// upstream silent after its headers past the idle timeout, closing at once,
/// or sending garbage) is a failed call: the next upstream is tried and the
/// client gets an error status instead of a 200 that breaks at once.
async fn first_event(mut events: EventStream) -> Result<EventStream> {
    match events.next().await {
        Some(StreamEvent::Error(e)) => Err(e),
        Some(first) => Ok(Box::pin(
            futures::stream::once(async { first }).chain(events),
        )),
        None => Err(Error::new(
            ErrorKind::Upstream,
            "the upstream ended the stream before sending anything",
        )),
    }
}

fn cannot_serve(upstream: &str, route: &str) -> Error {
    Error::invalid_field(
        "model",
        format!("the upstream {upstream:?} of this model cannot serve {route}"),
    )
}

#[cfg(test)]
mod tests {
    use super::counts::{token_count, MAX_TOKEN_COUNT};
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn the_echo_refuses_what_only_pass_through_carries() {
        let echo = Upstream::Echo(EchoUpstream::default());
        let target = Target {
            model: "echo",
            context_window: 1000,
            tokens_per_second: 0,
            max_output: 100,
        };
        let mut req = ChatRequest::new("dragon");
        req.messages.push(crate::canonical::Message {
            role: crate::canonical::Role::User,
            content: vec![crate::canonical::ContentBlock::text("hi")],
        });
        assert!(echo.complete(&req, &target).await.is_ok());
        req.untranslatable = Some(Error::invalid_field(
            "messages.0.content.1.file.file_id",
            "x",
        ));
        let e = echo.complete(&req, &target).await.unwrap_err();
        assert_eq!(e.param(), Some("messages.0.content.1.file.file_id"));
        let e = echo.stream(&req, &target).await.err().unwrap();
        assert_eq!(e.param(), Some("messages.0.content.1.file.file_id"));
    }

    #[test]
    fn token_counts_are_capped() {
        let usage = json!({"prompt_tokens": u64::MAX, "completion_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": u64::MAX}});
        let u = openai::usage_from(&usage).unwrap();
        assert_eq!(u.cache_read_input_tokens, MAX_TOKEN_COUNT);
        assert_eq!(u.output_tokens, 7);
        assert_eq!(token_count(Some(&json!(-1))), None);
        assert_eq!(token_count(Some(&json!(12))), Some(12));
    }
}
