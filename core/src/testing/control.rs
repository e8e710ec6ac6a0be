//! The mock's HTTP control routes (see the `testing` module docs): scripted
//! replies in JSON for tests in other processes, and what was received.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use serde_json::{json, Value};

use super::{json_response, MockReply, MockState};

impl MockReply {
    /// One reply in the JSON form of `POST /_mock/replies` (see the module docs).
    pub fn from_json(spec: &Value) -> Result<Self, String> {
        let list = |key: &str| -> Result<Vec<Value>, String> {
            spec[key]
                .as_array()
                .cloned()
                .ok_or_else(|| format!("`{key}` must be an array"))
        };
        if let Some(body) = spec.get("json") {
            let status = match spec.get("status") {
                None | Some(Value::Null) => 200,
                Some(s) => s
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .ok_or("`status` must be an HTTP status code")?,
            };
            let headers = match spec.get("headers") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Object(h)) => h
                    .iter()
                    .map(|(k, v)| {
                        let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                        (k.clone(), v)
                    })
                    .collect(),
                Some(_) => return Err("`headers` must be an object".into()),
            };
            return Ok(MockReply::Json {
                status,
                body: body.clone(),
                headers,
            });
        }
        if spec.get("sse").is_some() {
            let frames = list("sse")?
                .into_iter()
                .map(|f| f.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or("`sse` frames must be strings")?;
            let fail_after = match spec.get("fail_after") {
                None | Some(Value::Null) => None,
                Some(n) => Some(
                    n.as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or("`fail_after` must be a frame count or null")?,
                ),
            };
            return Ok(MockReply::Sse {
                frames,
                fail_after,
                delay: Duration::ZERO,
            });
        }
        if spec.get("openai_chunks").is_some() {
            return Ok(MockReply::openai_chunks(&list("openai_chunks")?));
        }
        if spec.get("anthropic_events").is_some() {
            return Ok(MockReply::anthropic_events(&list("anthropic_events")?));
        }
        if spec.get("responses_events").is_some() {
            return Ok(MockReply::responses_events(&list("responses_events")?));
        }
        Err(
            "a reply needs one of `json`, `sse`, `openai_chunks`, `anthropic_events`, `responses_events`"
                .into(),
        )
    }
}

/// `POST /_mock/replies`: queues `{"replies": [...]}` after what is queued.
pub(super) async fn queue_replies(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    let parsed: Result<Vec<MockReply>, String> = serde_json::from_slice::<Value>(&body)
        .map_err(|e| format!("invalid JSON: {e}"))
        .and_then(|v| match v.get("replies").and_then(Value::as_array) {
            Some(list) => list.iter().map(MockReply::from_json).collect(),
            None => Err("the body must be {\"replies\": [...]}".into()),
        });
    match parsed {
        Ok(replies) => {
            let queued = replies.len();
            let mut script = state.script.lock().unwrap_or_else(|p| p.into_inner());
            script.extend(replies);
            json_response(
                StatusCode::OK,
                &json!({"queued": queued, "pending": script.len()}),
            )
        }
        Err(e) => json_response(StatusCode::BAD_REQUEST, &json!({"error": e})),
    }
}

/// `DELETE /_mock/replies`: drops the replies still queued.
pub(super) async fn clear_replies(State(state): State<Arc<MockState>>) -> StatusCode {
    state
        .script
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clear();
    StatusCode::NO_CONTENT
}

/// `GET /_mock/received`: the recorded requests, oldest first.
pub(super) async fn list_received(State(state): State<Arc<MockState>>) -> Response {
    let received = state
        .received
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|r| {
            let mut headers = serde_json::Map::new();
            for (name, value) in &r.headers {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                match headers.get_mut(name.as_str()) {
                    // A repeated header reads as its values joined, as HTTP allows.
                    Some(Value::String(seen)) => *seen = format!("{seen}, {value}"),
                    _ => {
                        headers.insert(name.as_str().to_owned(), Value::String(value));
                    }
                }
            }
            json!({"path": r.path, "headers": headers, "body": r.body})
        })
        .collect();
    json_response(StatusCode::OK, &Value::Array(received))
}

/// `DELETE /_mock/received`: forgets the recorded requests.
pub(super) async fn clear_received(State(state): State<Arc<MockState>>) -> StatusCode {
    state
        .received
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clear();
    StatusCode::NO_CONTENT
}
