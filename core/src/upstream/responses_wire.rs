//! STUB (replaced by the r19-wire branch).
use serde_json::{Map, Value};

use crate::canonical::{ChatRequest, ChatResponse, StopReason, Usage};
use crate::{Error, Result};

pub fn translate(_req: &ChatRequest, _model: &str) -> Result<Map<String, Value>> {
    Err(Error::internal("stub"))
}
pub fn response_from(_upstream: &str, _body: &Value) -> Result<ChatResponse> {
    Err(Error::internal("stub"))
}
pub fn usage_from(_usage: &Value) -> Option<Usage> {
    None
}
pub fn stop_reason(_response: &Value, _has_tool_calls: bool) -> Option<StopReason> {
    None
}
