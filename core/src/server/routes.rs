//! Thin handlers: extract → pipeline → response (`reply.rs`). Errors outside the
//! pipeline (404, 405, 413) are rendered in the shape of the API the path belongs to.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use std::collections::BTreeMap;

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::response::Response;
use axum::routing::{get, MethodFilter, MethodRouter};
use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, Method, Uri};

use super::extract;
use super::reply::{error_response, respond, shape_of};
use crate::call::{new_request_id, CallContext, Endpoint};
use crate::pipeline;
use crate::state::Shared;
use crate::{Error, ErrorKind};

pub fn router(gw: Shared) -> Router {
    // Every endpoint of `Endpoint::ALL` at its path and method; endpoints that
    // share a path share its method router.
    let mut paths: BTreeMap<&'static str, MethodRouter<Shared>> = BTreeMap::new();
    for endpoint in Endpoint::ALL {
        let filter = MethodFilter::try_from(endpoint.method()).unwrap_or(MethodFilter::POST);
        let path = endpoint.path();
        let methods = paths.remove(path).unwrap_or_default();
        let methods = if endpoint.id().is_some() {
            methods.on(
                filter,
                move |State(gw): State<Shared>,
                      ConnectInfo(peer): ConnectInfo<SocketAddr>,
                      extract::Param(id): extract::Param,
                      Query(query): Query<Vec<(String, String)>>,
                      req: Request| {
                    let endpoint = endpoint.with_id(id);
                    // A GET's query is its body (the paging of input_items).
                    let query = (endpoint.method() == Method::GET && !query.is_empty())
                        .then(|| query_json(query));
                    handle(gw, endpoint, peer, req, query)
                },
            )
        } else {
            methods.on(
                filter,
                move |State(gw): State<Shared>,
                      ConnectInfo(peer): ConnectInfo<SocketAddr>,
                      req: Request| {
                    handle(gw, endpoint.clone(), peer, req, None)
                },
            )
        };
        paths.insert(path, methods);
    }
    // The WebSocket transport of the Responses API is a GET on its path.
    if let Some(methods) = paths.remove(Endpoint::Responses.path()) {
        paths.insert(
            Endpoint::Responses.path(),
            methods.get(super::websocket::upgrade),
        );
    }
    let mut router = paths
        .into_iter()
        .fold(Router::new(), |r, (path, methods)| r.route(path, methods));
    if let Some(cors) = super::cors::layer(&gw.config().server.cors_allow_origins) {
        // The 405 fallback first, so the layer wraps it too and answers preflights.
        router = router
            .method_not_allowed_fallback(method_not_allowed)
            .layer(cors);
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

/// Query pairs as a JSON object; a repeated key (`include[]=a&include[]=b`) is an array.
fn query_json(pairs: Vec<(String, String)>) -> Bytes {
    let mut obj = serde_json::Map::new();
    for (k, v) in pairs {
        let key = k.strip_suffix("[]").unwrap_or(&k).to_owned();
        match obj.get_mut(&key) {
            Some(serde_json::Value::Array(a)) => a.push(v.into()),
            Some(prev) => *prev = serde_json::Value::Array(vec![prev.take(), v.into()]),
            None => {
                obj.insert(key, v.into());
            }
        }
    }
    serde_json::to_vec(&obj).unwrap_or_default().into()
}

/// Takes the request whole (not a `HeaderMap` extractor, which copies every
/// header).
async fn handle(
    gw: Shared,
    endpoint: Endpoint,
    peer: SocketAddr,
    req: Request,
    query: Option<Bytes>,
) -> Response {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
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
        session_id: headers
            .get("x-claude-code-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        request_id: new_request_id(),
        wants_bytes: true,
        connection: None,
        trace: extract::trace_headers(&headers),
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
    let bytes = query.unwrap_or(bytes);
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
