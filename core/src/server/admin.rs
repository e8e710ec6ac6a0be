//! `/admin`: accounts, credits, plans, keys and usage over HTTP, behind the
//! admin token (`admin.token_env`); off (404) when no token is configured.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Query, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Router;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::extract;
use crate::accounts::keys::{ct_eq, hash_key};
use crate::accounts::ops::AdminOp;
use crate::call::Shape;
use crate::egress;
use crate::limits::judge;
use crate::state::Shared;
use crate::{Error, ErrorKind, Result};

/// One route per `AdminOp` (`AdminOp::method` on `AdminOp::path`; the
/// operations that share a path share its method router), each behind the
/// token check.
pub fn router(gw: &Shared) -> Router<Shared> {
    let mut router = Router::new();
    for op in AdminOp::ALL {
        let handler = move |State(gw): State<Shared>, req: Request| async move {
            serve_op(op, &gw, req).await
        };
        // Every method `AdminOp::method` returns has a filter (see the test).
        let Ok(filter) = MethodFilter::try_from(op.method()) else {
            continue;
        };
        router = router.route(op.path(), on(filter, handler));
    }
    router.route_layer(axum::middleware::from_fn_with_state(gw.clone(), authorize))
}

fn reply(status: StatusCode, outcome: Result<Value>) -> Response {
    match outcome {
        Ok(v) => (status, axum::Json(v)).into_response(),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = (status, axum::Json(egress::error_body(Shape::OpenAi, &e))).into_response();
            // A store that cannot write for now says when to try again.
            if let Some(secs) = e.retry_after_secs() {
                r.headers_mut()
                    .insert(http::header::RETRY_AFTER, secs.into());
            }
            r
        }
    }
}

/// Every admin route passes here first.
async fn authorize(State(gw): State<Shared>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    match check_token(&gw, req.headers(), ip).await {
        Ok(()) => next.run(req).await,
        Err(e) => reply(StatusCode::OK, Err(e)),
    }
}

/// The admin token check: 404 while the admin API is off, 401 on a wrong
/// token. A wrong token counts against the client IP's limit for requests
/// without a valid key, and an IP past that limit gets 429 before any
/// comparison, right token or not, so a guesser learns nothing more.
async fn check_token(gw: &Shared, headers: &HeaderMap, ip: Option<IpAddr>) -> Result<()> {
    let Some(token) = gw.admin_token() else {
        return Err(Error::new(
            ErrorKind::NotFound,
            "the admin API is off: set admin.token_env in the config",
        ));
    };
    let limits = &gw.config().limits;
    let (rpm, tpm) = (
        u64::from(limits.unauthenticated_rpm_per_ip),
        limits.unauthenticated_tpm_per_ip,
    );
    let store = gw.store.as_ref();
    let subject = ip.map(|ip| format!("ip:{ip}"));
    if let Some(subject) = &subject {
        let s = store.peek(subject, rpm, tpm).await?;
        if s.remaining_requests == 0 {
            let spent = s.limit_requests;
            if let Err(refused) = judge(rpm, tpm, spent, 0, s.reset_requests) {
                return Err(refused.error());
            }
        }
    }
    // Hashes of equal length are compared, so not even the token's length leaks.
    let given = extract::api_key(headers);
    if given.is_some_and(|g| ct_eq(&hash_key(&g), &hash_key(token))) {
        return Ok(());
    }
    if let Some(subject) = &subject {
        if let Err(refused) = store.admit(subject, rpm, tpm, 0).await? {
            return Err(refused.error());
        }
    }
    Err(Error::new(ErrorKind::Authentication, "invalid admin token"))
}

async fn json_body(gw: &Shared, body: Body) -> Result<Value> {
    let server = &gw.config().server;
    let bytes = extract::body(
        body,
        server.max_body_bytes,
        std::time::Duration::from_secs(server.request_timeout_secs),
    )
    .await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    crate::ingress::json::parse_body(&bytes, server)
}

/// Runs one admin operation after the token check: its id from the path, its
/// JSON body and its query string, as far as it takes them.
async fn serve_op(op: AdminOp, gw: &Shared, req: Request) -> Response {
    let status = StatusCode::from_u16(op.success_status()).unwrap_or(StatusCode::OK);
    let (mut parts, body) = req.into_parts();
    let id = match op.id() {
        Some(_) => {
            let Ok(extract::Param(id)) = extract::Param::from_request_parts(&mut parts, gw).await;
            id
        }
        None => String::new(),
    };
    let body = if op.takes_body() {
        match json_body(gw, body).await {
            Ok(v) => v,
            Err(e) => return reply(status, Err(e)),
        }
    } else {
        Value::Null
    };
    let query = if op.takes_query() {
        match Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) {
            Ok(Query(pairs)) => pairs,
            Err(e) => {
                let e = Error::invalid(format!("invalid query string: {}", e.body_text()));
                return reply(status, Err(e));
            }
        }
    } else {
        Vec::new()
    };
    let outcome = op.run_with_query(&gw.admin(), &id, &body, &query).await;
    reply(status, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_gets_a_route() {
        for op in AdminOp::ALL {
            assert!(MethodFilter::try_from(op.method()).is_ok(), "{op:?}");
        }
    }
}
