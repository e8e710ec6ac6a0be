//! What handlers take from a request: the API key from either header, the body
//! within `server.max_body_bytes`, and the shape errors are reported in.

use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::HeaderMap;
use http_body_util::{BodyExt, LengthLimitError, Limited};

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

/// Reads the whole body: 413 past `max` bytes, 408-style cut-off after `timeout`.
pub async fn body(body: Body, max: usize, timeout: Duration) -> Result<Bytes> {
    let read = Limited::new(body, max).collect();
    match tokio::time::timeout(timeout, read).await {
        Err(_) => Err(Error::new(
            ErrorKind::InvalidRequest,
            "the request body did not arrive in time",
        )
        .with_status(408)),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(Error::new(
            ErrorKind::PayloadTooLarge,
            format!("request body is larger than the limit of {max} bytes"),
        )),
        Ok(Err(e)) => Err(Error::invalid(format!(
            "could not read the request body: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
