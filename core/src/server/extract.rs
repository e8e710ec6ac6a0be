//! What handlers take from a request: the API key from either header, the body
//! within `server.max_body_bytes`, and a route's one path parameter.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequestParts, Path};
use bytes::Bytes;
use http::request::Parts;
use http::HeaderMap;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::call::TraceHeaders;
use crate::{Error, ErrorKind, Result};

/// `Authorization: Bearer KEY` or `x-api-key: KEY` (Anthropic SDKs use either).
pub fn api_key(headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let x_api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    bearer
        .or(x_api_key)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
}

/// The W3C `traceparent` and `tracestate` headers, when a `traceparent` came
/// (whether it is valid is `telemetry`'s to judge).
pub fn trace_headers(headers: &HeaderMap) -> Option<TraceHeaders> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
    };
    Some(TraceHeaders {
        traceparent: text("traceparent")?,
        tracestate: text("tracestate").filter(|s| !s.is_empty()),
    })
}

/// Reads the whole body: 413 past `max` bytes (at once when Content-Length
/// says so, without reading it), 408 when it has not all arrived after `timeout`.
pub async fn body(body: Body, max: usize, timeout: Duration) -> Result<Bytes> {
    let too_large = || {
        Error::new(
            ErrorKind::PayloadTooLarge,
            format!("request body is larger than the limit of {max} bytes (server.max_body_bytes)"),
        )
    };
    if axum::body::HttpBody::size_hint(&body).lower() > max as u64 {
        return Err(too_large());
    }
    let read = Limited::new(body, max).collect();
    match tokio::time::timeout(timeout, read).await {
        Err(_) => Err(Error::new(
            ErrorKind::InvalidRequest,
            format!(
                "the request body did not all arrive within {}s (server.request_timeout_secs)",
                timeout.as_secs()
            ),
        )
        .with_status(408)),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(e)) => Err(Error::invalid(format!(
            "could not read the request body: {e}"
        ))),
    }
}

/// A route's one path parameter (`{id}`, `{name}`), percent-decoded. One that
/// is not UTF-8 once decoded is kept with replacement characters, so it is
/// simply not found (axum would answer a plain-text 400 of its own).
#[derive(Debug)]
pub struct Param(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Param {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(p)) => Ok(Param(p)),
            Err(_) => {
                let last = parts.uri.path().rsplit('/').next().unwrap_or_default();
                Ok(Param(percent_decode_lossy(last)))
            }
        }
    }
}

fn percent_decode_lossy(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_keeps_what_is_not_utf8() {
        assert_eq!(percent_decode_lossy("a%20b%ZZ%4"), "a b%ZZ%4");
        assert_eq!(percent_decode_lossy("%FF%FEx"), "\u{fffd}\u{fffd}x");
    }

    #[test]
    fn both_key_headers() {
        let mut h = HeaderMap::new();
        h.insert("x-api-key", "mws_live_abc".parse().unwrap());
        assert_eq!(api_key(&h).as_deref(), Some("mws_live_abc"));
        h.insert("authorization", "Bearer mws_live_xyz".parse().unwrap());
        assert_eq!(api_key(&h).as_deref(), Some("mws_live_xyz"));
        assert_eq!(api_key(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn body_over_limit_is_413() {
        let e = body(Body::from(vec![b'a'; 100]), 10, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(e.http_status(), 413);
        let ok = body(Body::from("hello"), 10, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(&ok[..], b"hello");
    }
}
