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

/// The endpoint the Python side names (`Endpoint::name`), with the id of its
/// resource for the endpoints that take one.
pub fn endpoint(name: &str, id: Option<String>) -> PyResult<Endpoint> {
    Endpoint::from_name(name, id).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown endpoint {name:?}, or an id missing where it names a resource, or given where it names none"
        ))
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
