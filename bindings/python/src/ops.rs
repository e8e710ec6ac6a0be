//! What a call does, once for the sync and the async paths: parse the names the
//! Python side passes, and run the core's call.

use mws_core::accounts::ops::AdminOp;
use mws_core::Shape;
use mws_core::{Endpoint, Gateway};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde_json::Value;

use crate::errors::CallError;
use crate::stream::CoreStream;

pub fn endpoint(name: &str, model_id: Option<String>) -> PyResult<Endpoint> {
    Ok(match name {
        "messages" => Endpoint::Messages,
        "count_tokens" => Endpoint::CountTokens,
        "chat_completions" => Endpoint::ChatCompletions,
        "embeddings" => Endpoint::Embeddings,
        "rerank" => Endpoint::Rerank,
        "models" => model_id.map_or(Endpoint::Models, Endpoint::Model),
        other => return Err(PyValueError::new_err(format!("unknown endpoint {other:?}"))),
    })
}

/// In-process calls carry no `anthropic-version` header: model listings come in
/// the OpenAI shape, as over HTTP without it.
pub fn shape(endpoint: &Endpoint) -> Shape {
    endpoint.shape(false)
}

pub async fn call(
    gw: &Gateway,
    endpoint: Endpoint,
    body: &Value,
    api_key: Option<&str>,
) -> Result<Value, CallError> {
    let shape = shape(&endpoint);
    gw.call_json(endpoint, body, api_key)
        .await
        .map_err(|e| CallError::new(e, shape))
}

pub async fn stream(
    gw: &Gateway,
    endpoint: Endpoint,
    body: &Value,
    api_key: Option<&str>,
) -> Result<CoreStream, CallError> {
    let shape = shape(&endpoint);
    match gw.stream(endpoint, body, api_key).await {
        Ok(s) => Ok(Box::pin(s)),
        Err(e) => Err(CallError::new(e, shape)),
    }
}

/// The admin operation the Python side names (`AdminOp::name`, as the Python
/// methods are named).
pub fn admin_op(name: &str) -> PyResult<AdminOp> {
    AdminOp::from_name(name)
        .ok_or_else(|| PyValueError::new_err(format!("unknown admin operation {name:?}")))
}

/// One admin operation: `id` names the account or key, `body` is the admin API's.
/// Errors come in the OpenAI shape, as the admin API sends them.
pub async fn admin(gw: &Gateway, op: AdminOp, id: &str, body: &Value) -> Result<Value, CallError> {
    op.run(&gw.admin(), id, body)
        .await
        .map_err(|e| CallError::new(e, Shape::OpenAi))
}
