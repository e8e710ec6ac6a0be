//! `Failure`: why a call did not succeed, with everything C can read of it
//! (status, message, error `type`, HTTP status, the HTTP error body).

use mws_core::egress;
use mws_core::Error;
use mws_core::Shape;
use serde_json::Value;

use crate::status::mws_status;

#[derive(Debug)]
pub(crate) enum Failure {
    /// An argument the ABI could not take: nothing reached the gateway.
    Argument(String),
    /// The gateway's own error, reported in the shape of the call it came from.
    Core { error: Error, shape: Shape },
}

impl Failure {
    pub(crate) fn argument(message: impl Into<String>) -> Self {
        Failure::Argument(message.into())
    }

    /// Errors outside any endpoint (config, serve, admin) use the OpenAI shape,
    /// as the admin API does.
    pub(crate) fn core(error: Error) -> Self {
        Failure::Core {
            error,
            shape: Shape::OpenAi,
        }
    }

    pub(crate) fn shaped(error: Error, shape: Shape) -> Self {
        Failure::Core { error, shape }
    }

    pub(crate) fn status(&self) -> mws_status {
        match self {
            Failure::Argument(_) => mws_status::MWS_INVALID_ARGUMENT,
            Failure::Core { error, .. } => mws_status::of(error.kind()),
        }
    }

    pub(crate) fn message(&self) -> &str {
        match self {
            Failure::Argument(m) => m,
            Failure::Core { error, .. } => error.message(),
        }
    }

    pub(crate) fn error_type(&self) -> &'static str {
        match self {
            Failure::Argument(_) => "invalid_argument",
            Failure::Core { error, shape } => egress::error_type(*shape, error.kind()),
        }
    }

    pub(crate) fn http_status(&self) -> u16 {
        match self {
            Failure::Argument(_) => 0,
            Failure::Core { error, .. } => error.http_status(),
        }
    }

    /// The body the HTTP endpoint would send with this error.
    pub(crate) fn body(&self) -> Option<Value> {
        match self {
            Failure::Argument(_) => None,
            Failure::Core { error, shape } => Some(egress::error_body(*shape, error)),
        }
    }
}

pub(crate) type FfiResult<T> = Result<T, Failure>;
