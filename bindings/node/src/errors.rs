//! The one mapping of the core's `ErrorKind` to the Node error classes, with
//! the status and the error `type` in the shape of the endpoint called.

use mws_core::egress;
use mws_core::Shape;
use mws_core::{Error, ErrorKind};
use napi_derive::napi;
use serde_json::Value;

/// The `MwsError` subclass an error is thrown as.
#[expect(
    clippy::enum_variant_names,
    reason = "the variants are the JavaScript class names"
)]
#[napi(string_enum)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorName {
    BadRequestError,
    AuthenticationError,
    InsufficientCreditsError,
    PermissionDeniedError,
    NotFoundError,
    MethodNotAllowedError,
    PayloadTooLargeError,
    RateLimitError,
    InternalServerError,
    UpstreamError,
    OverloadedError,
    GatewayTimeoutError,
}

impl ErrorName {
    pub fn of(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidRequest => ErrorName::BadRequestError,
            ErrorKind::Authentication => ErrorName::AuthenticationError,
            ErrorKind::InsufficientCredits => ErrorName::InsufficientCreditsError,
            ErrorKind::PermissionDenied => ErrorName::PermissionDeniedError,
            ErrorKind::NotFound => ErrorName::NotFoundError,
            ErrorKind::MethodNotAllowed => ErrorName::MethodNotAllowedError,
            ErrorKind::PayloadTooLarge => ErrorName::PayloadTooLargeError,
            ErrorKind::RateLimited => ErrorName::RateLimitError,
            ErrorKind::Internal => ErrorName::InternalServerError,
            ErrorKind::Upstream => ErrorName::UpstreamError,
            ErrorKind::Overloaded => ErrorName::OverloadedError,
            ErrorKind::Timeout => ErrorName::GatewayTimeoutError,
        }
    }
}

/// What the TypeScript layer needs to throw the right class.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub name: ErrorName,
    /// The HTTP status the same call gets over HTTP.
    pub status: u32,
    /// The error `type` of the endpoint's API shape (Anthropic for messages and
    /// count_tokens, OpenAI otherwise and for admin operations).
    #[napi(js_name = "type")]
    pub error_type: String,
    pub message: String,
    /// The field at fault, when known.
    pub param: Option<String>,
    /// Seconds to wait before retrying (rate limits).
    pub retry_after: Option<u32>,
}

impl ErrorInfo {
    pub fn new(e: &Error, shape: Shape) -> Self {
        let error_type = egress::error_type(shape, e.kind());
        ErrorInfo {
            name: ErrorName::of(e.kind()),
            status: u32::from(e.http_status()),
            error_type: error_type.to_string(),
            message: e.message().to_string(),
            param: e.param().map(str::to_string),
            retry_after: e
                .retry_after_secs()
                .map(|s| u32::try_from(s).unwrap_or(u32::MAX)),
        }
    }
}

/// The reply of a call: its JSON text, or the error. A stream's `next()` gives
/// neither once the stream is over.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub json: Option<String>,
    pub error: Option<ErrorInfo>,
}

impl Outcome {
    pub fn new(result: mws_core::Result<Value>, shape: Shape) -> Self {
        match result
            .and_then(|v| serde_json::to_string(&v).map_err(|e| Error::internal(e.to_string())))
        {
            Ok(json) => Outcome {
                json: Some(json),
                error: None,
            },
            Err(e) => Outcome::failed(&e, shape),
        }
    }

    pub fn failed(e: &Error, shape: Shape) -> Self {
        Outcome {
            json: None,
            error: Some(ErrorInfo::new(e, shape)),
        }
    }

    pub fn end() -> Self {
        Outcome::default()
    }
}

/// Request JSON text as a value; invalid JSON is the 400 HTTP would give.
pub fn parse_body(body: &str) -> mws_core::Result<Value> {
    Ok(serde_json::from_str(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind is thrown as its own class, and `ts/errors.ts` documents that
    /// class with the kind's HTTP status (`/** 429: ... */`).
    #[test]
    fn every_kind_maps_to_a_distinct_class_documented_with_its_http_status() {
        let module = include_str!("../ts/errors.ts");
        let mut seen = Vec::new();
        for kind in ErrorKind::ALL {
            let name = ErrorName::of(kind);
            assert!(!seen.contains(&name), "{kind:?} shares {name:?}");
            seen.push(name);
            let class = format!("export class {name:?} extends MwsError");
            let at = module
                .find(&class)
                .unwrap_or_else(|| panic!("{class} is not in ts/errors.ts"));
            let doc = module[..at]
                .rsplit("/**")
                .next()
                .unwrap_or_default()
                .trim_start();
            let want = format!("{}:", kind.http_status());
            assert!(doc.starts_with(&want), "{name:?} is documented as {doc:?}");
        }
    }
}
