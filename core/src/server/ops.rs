//! `GET /health` and `GET /metrics`, outside /v1 and without a key.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};

use crate::state::Shared;

/// 200 while the store answers, 503 otherwise.
pub async fn health(State(gw): State<Shared>) -> Response {
    match gw.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "unavailable", "error": e.message()})),
        )
            .into_response(),
    }
}

pub async fn metrics(State(gw): State<Shared>) -> Response {
    if !gw.config().server.metrics {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        gw.metrics.render(),
    )
        .into_response()
}
