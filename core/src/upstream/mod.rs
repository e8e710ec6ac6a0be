//! Upstream providers behind one interface. The pipeline calls these; each kind
//! translates the canonical request into its own API.

pub mod echo;
mod echo_extras;

use crate::canonical::{
    ChatRequest, ChatResponse, EmbeddingsRequest, EmbeddingsResponse, EventStream, RerankRequest,
    RerankResponse,
};
use crate::config::{UpstreamConfig, UpstreamKind};
use crate::route::Profile;
use crate::{Error, ErrorKind, Result};

pub use echo::EchoUpstream;

/// A configured upstream, by kind.
#[derive(Debug)]
pub enum Upstream {
    Echo(EchoUpstream),
}

impl Upstream {
    pub fn from_config(cfg: &UpstreamConfig) -> Result<Self> {
        match cfg.kind {
            UpstreamKind::Echo => Ok(Upstream::Echo(EchoUpstream {
                simulate_speed: cfg.simulate_speed,
            })),
            UpstreamKind::Openai | UpstreamKind::Anthropic => Err(Error::new(
                ErrorKind::InvalidRequest,
                format!(
                    "upstreams: kind {:?} of upstream {:?} is not available in this build; use kind = \"echo\"",
                    cfg.kind, cfg.name
                ),
            )),
        }
    }

    pub async fn complete(&self, req: &ChatRequest, _profile: &Profile) -> Result<ChatResponse> {
        match self {
            Upstream::Echo(e) => Ok(e.complete(req)),
        }
    }

    pub async fn stream(&self, req: &ChatRequest, profile: &Profile) -> Result<EventStream> {
        match self {
            Upstream::Echo(e) => Ok(e.stream(req, profile.tokens_per_second)),
        }
    }

    pub async fn embed(
        &self,
        req: &EmbeddingsRequest,
        _profile: &Profile,
    ) -> Result<EmbeddingsResponse> {
        match self {
            Upstream::Echo(_) => Ok(echo_extras::embed(req)),
        }
    }

    pub async fn rerank(&self, req: &RerankRequest, _profile: &Profile) -> Result<RerankResponse> {
        match self {
            Upstream::Echo(_) => Ok(echo_extras::rerank(req)),
        }
    }
}
