//! `NativeGateway`: a core gateway and its in-process calls.

use mws_core::Shape;
use mws_core::{Endpoint, Error, Gateway};
use napi::bindgen_prelude::Either;
use napi_derive::napi;

use crate::errors::{parse_body, ErrorInfo, Outcome};
use crate::server::NativeServer;
use crate::stream::NativeStream;

/// The endpoints that take a request body.
#[napi(string_enum = "camelCase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEndpoint {
    Messages,
    CountTokens,
    ChatCompletions,
    Embeddings,
    Rerank,
}

impl CallEndpoint {
    fn endpoint(self) -> Endpoint {
        match self {
            CallEndpoint::Messages => Endpoint::Messages,
            CallEndpoint::CountTokens => Endpoint::CountTokens,
            CallEndpoint::ChatCompletions => Endpoint::ChatCompletions,
            CallEndpoint::Embeddings => Endpoint::Embeddings,
            CallEndpoint::Rerank => Endpoint::Rerank,
        }
    }
}

/// The shape replies and errors of an endpoint take (model listings are
/// OpenAI-shaped in-process, as over HTTP without `anthropic-version`).
pub fn shape_of(endpoint: &Endpoint) -> Shape {
    endpoint.shape(false)
}

#[napi]
pub struct NativeGateway {
    pub(crate) inner: Gateway,
}

#[napi]
impl NativeGateway {
    /// A gateway from a TOML file, a TOML string, or neither (the built-in
    /// catalogue on the echo upstream with the memory store).
    #[napi(catch_unwind)]
    pub fn open(
        config_path: Option<String>,
        config_toml: Option<String>,
    ) -> Either<NativeGateway, ErrorInfo> {
        // Opening a store may need the runtime's context (timers, pools).
        let built = napi::bindgen_prelude::within_runtime_if_available(|| {
            match (config_path, config_toml) {
                (None, None) => Gateway::builtin(),
                (Some(path), None) => Gateway::from_path(path),
                (None, Some(text)) => Gateway::from_toml_str(&text),
                (Some(_), Some(_)) => {
                    Err(Error::invalid("give configPath or configToml, not both"))
                }
            }
        });
        match built {
            Ok(inner) => Either::A(NativeGateway { inner }),
            Err(e) => Either::B(ErrorInfo::new(&e, Shape::OpenAi)),
        }
    }

    /// One call with its JSON reply, or its error.
    #[napi(catch_unwind)]
    pub async fn call(
        &self,
        endpoint: CallEndpoint,
        body: String,
        api_key: Option<String>,
    ) -> Outcome {
        let endpoint = endpoint.endpoint();
        let shape = shape_of(&endpoint);
        let reply = match parse_body(&body) {
            Ok(body) => {
                self.inner
                    .call_json(endpoint, &body, api_key.as_deref())
                    .await
            }
            Err(e) => Err(e),
        };
        Outcome::new(reply, shape)
    }

    /// The model list, or one model when `model_id` is given.
    #[napi(catch_unwind)]
    pub async fn models(&self, model_id: Option<String>, api_key: Option<String>) -> Outcome {
        let endpoint = model_id.map_or(Endpoint::Models, Endpoint::Model);
        let shape = shape_of(&endpoint);
        let reply = self
            .inner
            .call_json(endpoint, &serde_json::Value::Null, api_key.as_deref())
            .await;
        Outcome::new(reply, shape)
    }

    /// A streaming call (`stream: true` is set for it): its events, or the
    /// error that came before any event.
    #[napi(catch_unwind)]
    pub async fn stream(
        &self,
        endpoint: CallEndpoint,
        body: String,
        api_key: Option<String>,
    ) -> Either<NativeStream, ErrorInfo> {
        let endpoint = endpoint.endpoint();
        let shape = shape_of(&endpoint);
        let events = match parse_body(&body) {
            Ok(body) => self.inner.stream(endpoint, &body, api_key.as_deref()).await,
            Err(e) => Err(e),
        };
        match events {
            Ok(events) => Either::A(NativeStream::new(Box::pin(events), shape)),
            Err(e) => Either::B(ErrorInfo::new(&e, shape)),
        }
    }

    /// Serves the HTTP API on `addr` (`127.0.0.1:0` picks a free port).
    #[napi(catch_unwind)]
    pub async fn serve(&self, addr: String) -> Either<NativeServer, ErrorInfo> {
        let served = match addr.parse() {
            Ok(addr) => self.inner.serve(addr).await,
            Err(_) => Err(Error::invalid_field(
                "addr",
                format!("expected an address such as 127.0.0.1:0, got {addr:?}"),
            )),
        };
        match served {
            Ok(handle) => Either::A(NativeServer::new(handle)),
            Err(e) => Either::B(ErrorInfo::new(&e, Shape::OpenAi)),
        }
    }
}
