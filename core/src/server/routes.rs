//! Thin handlers: extract → pipeline → response (`reply.rs`). Errors outside the
//! pipeline (404, 405, 413) are rendered in the shape of the API the path belongs to.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use axum::routing::{get, on, MethodFilter};
use axum::Router;
use http::{HeaderMap, Method, Uri};

use super::extract;
use super::reply::{error_response, respond, shape_of};
use crate::call::{new_request_id, CallContext, Endpoint};
use crate::pipeline;
use crate::state::Shared;
use crate::{Error, ErrorKind};

pub fn router(gw: Shared) -> Router {
    let mut router = Router::new();
    // Every endpoint of `Endpoint::ALL` at its path; `{id}` is the one parameter.
    for endpoint in Endpoint::ALL {
        let filter = MethodFilter::try_from(endpoint.method()).unwrap_or(MethodFilter::POST);
        router = match endpoint {
            Endpoint::Model(_) => router.route(
                endpoint.path(),
                on(
                    filter,
                    |State(gw): State<Shared>,
                     ConnectInfo(peer): ConnectInfo<SocketAddr>,
                     extract::Param(id): extract::Param,
                     headers: HeaderMap,
                     body: Body| {
                        handle(gw, Endpoint::Model(id), peer, headers, body)
                    },
                ),
            ),
            fixed => router.route(
                fixed.path(),
                on(
                    filter,
                    move |State(gw): State<Shared>,
                          ConnectInfo(peer): ConnectInfo<SocketAddr>,
                          headers: HeaderMap,
                          body: Body| {
                        handle(gw, fixed.clone(), peer, headers, body)
                    },
                ),
            ),
        };
    }
    router
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
    gw: Shared,
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
                endpoint.path(),
                endpoint.shape(anthropic_version),
                peer,
                e,
            )
            .await
        }
    };
    respond(pipeline::run(&gw, endpoint, &bytes, ctx).await)
}

async fn not_found(
    State(gw): State<Shared>,
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
    State(gw): State<Shared>,
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
    gw: &Shared,
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
async fn drain(gw: &Shared, body: Body) {
    let server = &gw.config().server;
    let _ = extract::body(
        body,
        server.max_body_bytes,
        Duration::from_secs(server.request_timeout_secs),
    )
    .await;
}
