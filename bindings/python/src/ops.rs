//! What a call does, once for the sync and the async paths: parse the names the
//! Python side passes, and run the core's call.

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

/// The admin operations, named as the Python methods that call them.
#[derive(Debug, Clone, Copy)]
pub enum AdminOp {
    CreateAccount,
    Account,
    AddCredits,
    SetPlan,
    CreateKey,
    ListKeys,
    SetKeyThrottle,
    RevokeKey,
    Usage,
}

impl AdminOp {
    pub fn parse(name: &str) -> PyResult<Self> {
        Ok(match name {
            "create_account" => AdminOp::CreateAccount,
            "account" => AdminOp::Account,
            "add_credits" => AdminOp::AddCredits,
            "set_plan" => AdminOp::SetPlan,
            "create_key" => AdminOp::CreateKey,
            "list_keys" => AdminOp::ListKeys,
            "set_key_throttle" => AdminOp::SetKeyThrottle,
            "revoke_key" => AdminOp::RevokeKey,
            "usage" => AdminOp::Usage,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown admin operation {other:?}"
                )))
            }
        })
    }
}

/// One admin operation: `id` names the account or key, `body` is the admin API's.
/// Errors come in the OpenAI shape, as the admin API sends them.
pub async fn admin(gw: &Gateway, op: AdminOp, id: &str, body: &Value) -> Result<Value, CallError> {
    let a = gw.admin();
    let out = match op {
        AdminOp::CreateAccount => a.create_account(body).await,
        AdminOp::Account => a.account(id).await,
        AdminOp::AddCredits => a.add_credits(id, body).await,
        AdminOp::SetPlan => a.set_plan(id, body).await,
        AdminOp::CreateKey => a.create_key(id, body).await,
        AdminOp::ListKeys => a.list_keys(id).await,
        AdminOp::SetKeyThrottle => a.update_key(id, body).await,
        AdminOp::RevokeKey => a.revoke_key(id).await,
        AdminOp::Usage => a.usage(id).await,
    };
    out.map_err(|e| CallError::new(e, Shape::OpenAi))
}
