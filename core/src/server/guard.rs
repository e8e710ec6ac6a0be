//! What is refused before any handler runs: a request line and headers past
//! `server.max_header_bytes`, answered 431 in the shape of the path's API.
//! (hyper buffers twice the limit, so only heads past that get its bare 431.)

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::reply::{error_response, route_of, shape_of};
use crate::state::Shared;
use crate::{Error, ErrorKind};

/// The bytes of the request line and headers as they came on the wire
/// (give or take the spacing, which hyper already bounded).
fn head_bytes(req: &Request) -> usize {
    let line = req.method().as_str().len()
        + req.uri().path_and_query().map_or(1, |p| p.as_str().len())
        + " HTTP/1.1\r\n".len()
        + 1;
    req.headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + ": \r\n".len())
        .sum::<usize>()
        + line
        + 2
}

pub async fn head_size(State(gw): State<Shared>, req: Request, next: Next) -> Response {
    let max = gw.config().server.max_header_bytes;
    let size = head_bytes(&req);
    if size <= max {
        return next.run(req).await;
    }
    let e = Error::new(
        ErrorKind::PayloadTooLarge,
        format!(
            "the request line and headers are {size} bytes, more than the limit of {max} bytes (server.max_header_bytes)"
        ),
    )
    .with_status(431);
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
    let shape = shape_of(req.uri(), req.headers());
    error_response(&gw, route_of(req.uri().path()), shape, peer, e).await
}
