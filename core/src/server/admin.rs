//! `/admin`: accounts, credits, plans, keys and usage over HTTP, behind the
//! admin token (`admin.token_env`); off (404) when no token is configured.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::extract;
use crate::accounts::admin::Admin;
use crate::accounts::keys::{ct_eq, hash_key};
use crate::accounts::usage::UsageQuery;
use crate::call::Shape;
use crate::egress;
use crate::limits::judge;
use crate::state::Shared;
use crate::{Error, ErrorKind, Result};

pub fn router(gw: &Shared) -> Router<Shared> {
    Router::new()
        .route("/admin/accounts", post(create_account).get(list_accounts))
        .route("/admin/accounts/{id}", get(account))
        .route("/admin/accounts/{id}/credits", post(add_credits))
        .route("/admin/accounts/{id}/plan", put(set_plan))
        .route("/admin/accounts/{id}/keys", post(create_key).get(list_keys))
        .route("/admin/keys/{id}", delete(revoke_key).patch(update_key))
        .route("/admin/accounts/{id}/usage", get(usage))
        .route_layer(axum::middleware::from_fn_with_state(gw.clone(), authorize))
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

/// Runs one admin call after the token check.
async fn run<'a, F, Fut>(gw: &'a Shared, body: Option<Body>, status: StatusCode, f: F) -> Response
where
    F: FnOnce(Admin<'a>, Value) -> Fut,
    Fut: std::future::Future<Output = Result<Value>>,
{
    let body = match body {
        Some(b) => match json_body(gw, b).await {
            Ok(v) => v,
            Err(e) => return reply(status, Err(e)),
        },
        None => Value::Null,
    };
    reply(status, f(gw.admin(), body).await)
}

async fn create_account(State(gw): State<Shared>, body: Body) -> Response {
    run(&gw, Some(body), StatusCode::CREATED, |a, b| async move {
        a.create_account(&b).await
    })
    .await
}

async fn list_accounts(State(gw): State<Shared>) -> Response {
    run(&gw, None, StatusCode::OK, |a, _| async move {
        a.list_accounts().await
    })
    .await
}

async fn account(State(gw): State<Shared>, extract::Param(id): extract::Param) -> Response {
    run(&gw, None, StatusCode::OK, |a, _| async move {
        a.account(&id).await
    })
    .await
}

async fn add_credits(
    State(gw): State<Shared>,
    extract::Param(id): extract::Param,
    body: Body,
) -> Response {
    run(&gw, Some(body), StatusCode::OK, |a, b| async move {
        a.add_credits(&id, &b).await
    })
    .await
}

async fn set_plan(
    State(gw): State<Shared>,
    extract::Param(id): extract::Param,
    body: Body,
) -> Response {
    run(&gw, Some(body), StatusCode::OK, |a, b| async move {
        a.set_plan(&id, &b).await
    })
    .await
}

async fn create_key(
    State(gw): State<Shared>,
    extract::Param(id): extract::Param,
    body: Body,
) -> Response {
    run(&gw, Some(body), StatusCode::CREATED, |a, b| async move {
        a.create_key(&id, &b).await
    })
    .await
}

async fn list_keys(State(gw): State<Shared>, extract::Param(id): extract::Param) -> Response {
    run(&gw, None, StatusCode::OK, |a, _| async move {
        a.list_keys(&id).await
    })
    .await
}

async fn update_key(
    State(gw): State<Shared>,
    extract::Param(id): extract::Param,
    body: Body,
) -> Response {
    run(&gw, Some(body), StatusCode::OK, |a, b| async move {
        a.update_key(&id, &b).await
    })
    .await
}

async fn revoke_key(State(gw): State<Shared>, extract::Param(id): extract::Param) -> Response {
    run(&gw, None, StatusCode::OK, |a, _| async move {
        a.revoke_key(&id).await
    })
    .await
}

/// `?limit=&offset=&order=asc|desc&profile=&by=day&days=`, all optional;
/// without any, the whole ledger as before.
async fn usage(
    State(gw): State<Shared>,
    extract::Param(id): extract::Param,
    query: std::result::Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let query = query
        .map_err(|e| Error::invalid(format!("invalid query string: {}", e.body_text())))
        .and_then(|Query(pairs)| UsageQuery::from_pairs(&pairs));
    run(&gw, None, StatusCode::OK, |a, _| async move {
        a.usage_report(&id, &query?).await
    })
    .await
}
