//! `NativeGateway`: a core gateway and its in-process calls.

use mws_core::Shape;
use mws_core::{Endpoint, Error, Gateway};
use napi::bindgen_prelude::Either;
use napi::Status;
use napi_derive::napi;

use crate::errors::{parse_body, ErrorInfo, Outcome};
use crate::server::NativeServer;
use crate::stream::NativeStream;

/// The endpoint a call names: the core's name (`Endpoint::name`: `messages`,
/// `chat_completions`, `responses`, `response`, ...) with the id of the
/// endpoints on one resource (`models` with an id is one model). An unknown
/// name, a missing id, or an id for an endpoint that takes none, is a thrown
/// error, as for an unknown admin operation.
fn endpoint_named(name: &str, id: Option<String>) -> napi::Result<Endpoint> {
    let Some(known) = Endpoint::ALL.into_iter().find(|e| e.name() == name) else {
        let names: Vec<&str> = Endpoint::ALL.iter().map(Endpoint::name).collect();
        return Err(invalid_arg(format!(
            "unknown endpoint {name:?}; the endpoints are {}",
            names.join(", ")
        )));
    };
    let takes_id = known.id().is_some() || known == Endpoint::Models;
    if id.is_some() && !takes_id {
        return Err(invalid_arg(format!("the endpoint {name:?} takes no id")));
    }
    Endpoint::from_name(name, id)
        .ok_or_else(|| invalid_arg(format!("the endpoint {name:?} needs an id")))
}

fn invalid_arg(message: String) -> napi::Error {
    napi::Error::new(Status::InvalidArg, message)
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

    /// One call of the endpoint the core names `endpoint` (on the resource
    /// `id`, for the endpoints that have one) with its JSON `body` (`null` for
    /// the GET endpoints but `response_input_items`, whose body is the paging
    /// query): its JSON reply, or its error. A bad name or id throws.
    #[napi(catch_unwind)]
    pub async fn call(
        &self,
        endpoint: String,
        id: Option<String>,
        body: String,
        api_key: Option<String>,
    ) -> napi::Result<Outcome> {
        let endpoint = endpoint_named(&endpoint, id)?;
        let shape = shape_of(&endpoint);
        let reply = match parse_body(&body) {
            Ok(body) => {
                self.inner
                    .call_json(endpoint, &body, api_key.as_deref())
                    .await
            }
            Err(e) => Err(e),
        };
        Ok(Outcome::new(reply, shape))
    }

    /// A streaming call of the endpoint the core names `endpoint`
    /// (`stream: true` is set for it): its events, or the error that came
    /// before any event. A bad name, or an endpoint that does not stream, throws.
    #[napi(catch_unwind)]
    pub async fn stream(
        &self,
        endpoint: String,
        body: String,
        api_key: Option<String>,
    ) -> napi::Result<Either<NativeStream, ErrorInfo>> {
        if Endpoint::ALL
            .iter()
            .any(|e| e.name() == endpoint && !e.streams())
        {
            return Err(invalid_arg(format!(
                "the endpoint {endpoint:?} does not stream"
            )));
        }
        let endpoint = endpoint_named(&endpoint, None)?;
        let shape = shape_of(&endpoint);
        let events = match parse_body(&body) {
            Ok(body) => self.inner.stream(endpoint, &body, api_key.as_deref()).await,
            Err(e) => Err(e),
        };
        Ok(match events {
            Ok(events) => Either::A(NativeStream::new(Box::pin(events), shape)),
            Err(e) => Either::B(ErrorInfo::new(&e, shape)),
        })
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
