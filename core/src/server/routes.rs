//! Thin handlers: extract → pipeline → response. Errors outside the pipeline
//! (404, 405, 413) are rendered in the shape of the API the path belongs to.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use futures::StreamExt;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};

use super::extract;
use crate::canonical::request::Shape;
use crate::egress::{self, headers};
use crate::limits::LimitSnapshot;
use crate::pipeline::{new_request_id, Body as ReplyBody, CallContext, Endpoint, Reply};
use crate::{Error, ErrorKind, Gateway};

/// Frames coalesced into one socket write when several are ready at once.
const FRAMES_PER_WRITE: usize = 64;

pub fn router(gw: Gateway) -> Router {
    let v1 = |endpoint: Endpoint| {
        move |State(gw): State<Gateway>,
              ConnectInfo(peer): ConnectInfo<SocketAddr>,
              headers: HeaderMap,
              body: Body| { handle(gw, endpoint.clone(), peer, headers, body) }
    };
    Router::new()
        .route("/v1/messages", post(v1(Endpoint::Messages)))
        .route("/v1/messages/count_tokens", post(v1(Endpoint::CountTokens)))
        .route("/v1/chat/completions", post(v1(Endpoint::ChatCompletions)))
        .route("/v1/embeddings", post(v1(Endpoint::Embeddings)))
        .route("/v1/rerank", post(v1(Endpoint::Rerank)))
        .route("/v1/models", get(v1(Endpoint::Models)))
        .route(
            "/v1/models/{id}",
            get(
                |State(gw): State<Gateway>,
                 ConnectInfo(peer): ConnectInfo<SocketAddr>,
                 extract::Param(id): extract::Param,
                 headers: HeaderMap,
                 body: Body| handle(gw, Endpoint::Model(id), peer, headers, body),
            ),
        )
        .merge(super::admin::router(&gw))
        .merge(super::dashboard::router())
        .route("/health", get(super::ops::health))
        .route("/metrics", get(super::ops::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            gw.clone(),
            super::guard::head_size,
        ))
        .with_state(gw)
}

async fn handle(
    gw: Gateway,
    endpoint: Endpoint,
    peer: SocketAddr,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let anthropic_version = headers.contains_key("anthropic-version");
    let server = &gw.config().server;
    let ctx = CallContext {
        api_key: extract::api_key(&headers),
        client_ip: Some(peer.ip()),
        anthropic_version,
        anthropic_beta: headers
            .get_all("anthropic-beta")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect(),
        request_id: new_request_id(),
        wants_bytes: true,
    };
    let bytes = match extract::body(
        body,
        server.max_body_bytes,
        Duration::from_secs(server.request_timeout_secs),
    )
    .await
    {
        Ok(b) => b,
        Err(e) => {
            return error_response(
                &gw,
                endpoint.route(),
                endpoint.shape(anthropic_version),
                peer,
                e,
            )
            .await
        }
    };
    respond(gw.call(endpoint, &bytes, ctx).await)
}

/// Paths whose errors are in OpenAI's shape whatever the client sends.
const OPENAI_PATHS: [&str; 4] = [
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/rerank",
    "/admin/",
];

/// The shape a path's errors use: Anthropic under /v1/messages, OpenAI on the
/// OpenAI routes and /admin, and elsewhere (models, unknown paths) Anthropic
/// when the client sent `anthropic-version`.
pub fn shape_of(uri: &Uri, headers: &HeaderMap) -> Shape {
    let path = uri.path();
    if path.starts_with("/v1/messages") {
        Shape::Anthropic
    } else if OPENAI_PATHS.iter().any(|p| path.starts_with(p)) {
        Shape::OpenAi
    } else if headers.contains_key("anthropic-version") {
        Shape::Anthropic
    } else {
        Shape::OpenAi
    }
}

/// The route a path is counted under in metrics.
pub fn route_of(path: &str) -> &'static str {
    const ROUTES: [&str; 6] = [
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/rerank",
        "/v1/models",
    ];
    match ROUTES.iter().find(|r| **r == path) {
        Some(r) => r,
        None if path.starts_with("/v1/models/") => "/v1/models/{id}",
        None => "unmatched",
    }
}

async fn not_found(
    State(gw): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let e = Error::new(
        ErrorKind::NotFound,
        format!("no route for {method} {}", uri.path()),
    );
    refuse_unmatched(&gw, peer, &uri, &headers, body, e).await
}

async fn method_not_allowed(
    State(gw): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let e = Error::new(
        ErrorKind::MethodNotAllowed,
        format!("method {method} is not allowed on {}", uri.path()),
    );
    refuse_unmatched(&gw, peer, &uri, &headers, body, e).await
}

/// The answer to a request no handler takes, after its body is drained.
async fn refuse_unmatched(
    gw: &Gateway,
    peer: SocketAddr,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
    e: Error,
) -> Response {
    drain(gw, body).await;
    error_response(gw, "unmatched", shape_of(uri, headers), peer, e).await
}

/// Reads and drops a body we will not use, so the connection stays usable for
/// the client's next request (keep-alive clients reuse it).
async fn drain(gw: &Gateway, body: Body) {
    let server = &gw.config().server;
    let _ = extract::body(
        body,
        server.max_body_bytes,
        Duration::from_secs(server.request_timeout_secs),
    )
    .await;
}

/// An error raised before the pipeline ran, still with the limit headers.
/// `route` names the endpoint in metrics, `unmatched` for unknown paths.
pub async fn error_response(
    gw: &Gateway,
    route: &str,
    shape: Shape,
    peer: SocketAddr,
    e: Error,
) -> Response {
    gw.state()
        .metrics
        .request(route, "", e.http_status(), std::time::Duration::ZERO);
    let limits = &gw.config().limits;
    let (rpm, tpm) = (
        u64::from(limits.unauthenticated_rpm_per_ip),
        limits.unauthenticated_tpm_per_ip,
    );
    let snapshot = gw
        .state()
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

pub fn error_json(shape: Shape, e: &Error) -> serde_json::Value {
    match shape {
        Shape::Anthropic => egress::anthropic::error_body(e),
        Shape::OpenAi => egress::openai::error_body(e),
    }
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
            let bytes = frames.ready_chunks(FRAMES_PER_WRITE).map(|batch| {
                let mut buf = Vec::with_capacity(batch.iter().map(|f| f.data.len() + 32).sum());
                for f in &batch {
                    f.write_to(&mut buf);
                }
                Ok::<_, std::convert::Infallible>(Bytes::from(buf))
            });
            let mut r = Response::new(Body::from_stream(bytes));
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
            json_response(status, &error_json(reply.shape, e))
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
