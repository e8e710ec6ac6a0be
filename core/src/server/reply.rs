//! A `Reply` as an HTTP response: status, body (JSON, bytes or SSE) and the
//! headers every /v1 answer carries. Also the shape and metrics route of a
//! path no handler took, so errors outside the pipeline look like the API the
//! path belongs to.

use std::net::SocketAddr;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode, Uri};

use super::coalesce::Coalesced;
use crate::call::{new_request_id, Body as ReplyBody, Endpoint, Reply, Shape};
use crate::egress::{self, headers};
use crate::limits::LimitSnapshot;
use crate::state::Shared;
use crate::Error;

/// The shape a path's errors use: the shape of the endpoint the path is (or
/// lies under), OpenAI under /admin, and elsewhere (models, unknown paths)
/// Anthropic when the client sent `anthropic-version`.
pub fn shape_of(uri: &Uri, headers: &HeaderMap) -> Shape {
    let path = uri.path();
    let anthropic_version = headers.contains_key("anthropic-version");
    if path.starts_with("/admin/") {
        return Shape::OpenAi;
    }
    let under = Endpoint::ALL
        .into_iter()
        .filter(|e| {
            let base = e.path().split("/{").next().unwrap_or_default();
            path == base || path.strip_prefix(base).is_some_and(|r| r.starts_with('/'))
        })
        .max_by_key(|e| e.path().len());
    match under {
        Some(e) => e.shape(anthropic_version),
        None if anthropic_version => Shape::Anthropic,
        None => Shape::OpenAi,
    }
}

/// The route a path is counted under in metrics.
pub fn route_of(path: &str) -> &'static str {
    Endpoint::from_path(path).map_or("unmatched", |e| e.path())
}

/// An error raised before the pipeline ran, still with the limit headers.
/// `route` names the endpoint in metrics, `unmatched` for unknown paths.
pub async fn error_response(
    gw: &Shared,
    route: &str,
    shape: Shape,
    peer: SocketAddr,
    e: Error,
) -> Response {
    gw.metrics
        .request(route, "", e.http_status(), std::time::Duration::ZERO);
    let limits = &gw.config.limits;
    let (rpm, tpm) = (
        u64::from(limits.unauthenticated_rpm_per_ip),
        limits.unauthenticated_tpm_per_ip,
    );
    let snapshot = gw
        .store
        .peek(&format!("ip:{}", peer.ip()), rpm, tpm)
        .await
        .unwrap_or(LimitSnapshot::unknown(rpm, tpm));
    let request_id = new_request_id();
    tracing::info!(
        request_id,
        status = e.http_status(),
        error = e.message(),
        "request refused before routing"
    );
    respond(Reply {
        request_id,
        shape,
        profile: None,
        limits: Some(snapshot),
        outcome: Err(e),
    })
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    bytes_response(status, serde_json::to_vec(value).unwrap_or_default().into())
}

fn bytes_response(status: StatusCode, body: Bytes) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub fn respond(reply: Reply) -> Response {
    let retry_after = reply
        .outcome
        .as_ref()
        .err()
        .and_then(Error::retry_after_secs);
    let mut response = match reply.outcome {
        Ok(ReplyBody::Json(v)) => json_response(StatusCode::OK, &v),
        Ok(ReplyBody::Raw(bytes)) => bytes_response(StatusCode::OK, bytes),
        Ok(ReplyBody::Stream(frames)) => {
            let mut r = Response::new(Body::from_stream(Coalesced::new(frames)));
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        Err(ref e) => {
            let status =
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            json_response(status, &egress::error_body(reply.shape, e))
        }
    };
    headers::apply(
        response.headers_mut(),
        reply.shape,
        &reply.request_id,
        reply.profile.as_deref(),
        reply.limits.as_ref(),
        retry_after,
    );
    response
}
