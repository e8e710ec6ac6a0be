//! A Responses request relayed to an `openai-responses` upstream: the
//! upstream's answer goes to the client as it came (built-in tool items, every
//! field the gateway does not know), with three fields of the response object
//! made the gateway's own: `id` (the gateway's stored-response id, so
//! `previous_response_id` and `GET /v1/responses/{id}` name what the gateway
//! keeps, never the upstream's), `model` (the client's string) and
//! `previous_response_id` (the client's). Its usage is read for settlement;
//! the canonical reading of its events (`responses_stream`) feeds the meter.

use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::call::{FrameStream, SseFrame};
use crate::canonical::{StreamEvent, Usage};
use crate::meter::Meter;
use crate::stored::Keeper;
use crate::upstream::responses::SseBatches;
use crate::upstream::responses_stream::EventTranslator;
use crate::upstream::responses_wire;
use crate::upstream::sse::{SseEvent, Translate};
use crate::{Error, ErrorKind};

/// What the gateway puts into a relayed response object.
#[derive(Debug, Clone)]
pub struct Owned {
    pub id: String,
    pub model: String,
    pub previous_response_id: Option<String>,
}

impl Owned {
    /// `response` with the gateway's id, the client's model and previous id.
    pub fn apply(&self, response: &mut Value) {
        if let Some(obj) = response.as_object_mut() {
            obj.insert("id".into(), json!(self.id));
            obj.insert("model".into(), json!(self.model));
            obj.insert(
                "previous_response_id".into(),
                json!(self.previous_response_id),
            );
        }
    }
}

/// The usage of a finished response object, else the input estimate.
pub fn usage_of(response: &Value, input_estimate: u64) -> Usage {
    response
        .get("usage")
        .and_then(responses_wire::usage_from)
        .unwrap_or_else(|| Usage::input_only(input_estimate))
}

/// The output items of a response object, for the stored response.
pub fn output_of(response: &Value) -> Vec<Value> {
    response
        .get("output")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The events whose data carries the whole response object.
const WITH_RESPONSE: &[&str] = &[
    "response.created",
    "response.queued",
    "response.in_progress",
    "response.completed",
    "response.incomplete",
    "response.failed",
];

/// Event names of the Responses API, so a relayed frame's `event:` line is
/// the upstream's; an unknown one goes without (its data names its type).
const EVENT_NAMES: &[&str] = &[
    "response.created",
    "response.queued",
    "response.in_progress",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "response.output_item.added",
    "response.output_item.done",
    "response.content_part.added",
    "response.content_part.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.output_text.annotation.added",
    "response.refusal.delta",
    "response.refusal.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.custom_tool_call_input.delta",
    "response.custom_tool_call_input.done",
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_part.done",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.reasoning_text.delta",
    "response.reasoning_text.done",
    "response.web_search_call.in_progress",
    "response.web_search_call.searching",
    "response.web_search_call.completed",
    "response.file_search_call.in_progress",
    "response.file_search_call.searching",
    "response.file_search_call.completed",
    "response.code_interpreter_call.in_progress",
    "response.code_interpreter_call.interpreting",
    "response.code_interpreter_call.completed",
    "response.code_interpreter_call_code.delta",
    "response.code_interpreter_call_code.done",
    "response.image_generation_call.in_progress",
    "response.image_generation_call.generating",
    "response.image_generation_call.partial_image",
    "response.image_generation_call.completed",
    "response.mcp_call.in_progress",
    "response.mcp_call.completed",
    "response.mcp_call.failed",
    "response.mcp_call_arguments.delta",
    "response.mcp_call_arguments.done",
    "response.mcp_list_tools.in_progress",
    "response.mcp_list_tools.completed",
    "response.mcp_list_tools.failed",
    "error",
];

#[derive(Deserialize)]
struct Typed<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
}

/// The upstream's events to the client as they arrive. The stream is settled,
/// and a finished response kept, before its terminal event goes out; an
/// upstream that breaks off gets the client a `response.failed`.
pub(crate) fn stream(
    mut batches: SseBatches,
    owned: Owned,
    input_estimate: u64,
    mut meter: Meter,
    mut keeper: Option<Keeper>,
) -> FrameStream {
    Box::pin(async_stream::stream! {
        let mut reader = EventTranslator::new(input_estimate);
        let mut events = Vec::new();
        // The latest response object, for a `response.failed` of our own.
        let mut latest = json!({"object": "response", "status": "in_progress", "output": []});
        let mut sent = 0u64;
        loop {
            let batch = match batches.next().await {
                Some(Ok(batch)) => batch,
                Some(Err(e)) => {
                    meter.observe(&StreamEvent::Error(e.clone()));
                    meter.settle().await;
                    yield failed(&mut latest, &owned, &e, sent);
                    return;
                }
                None => {
                    let e = Error::new(
                        ErrorKind::Upstream,
                        "the upstream stream ended before the response was complete",
                    );
                    meter.observe(&StreamEvent::Error(e.clone()));
                    meter.settle().await;
                    yield failed(&mut latest, &owned, &e, sent);
                    return;
                }
            };
            for ev in batch {
                let done = reader.frame(&ev.data, &mut events);
                for e in events.drain(..) {
                    meter.observe(&e);
                }
                let (frame, kind) = relayed(ev, &owned, &mut latest);
                if done {
                    meter.settle().await;
                    let finished = matches!(kind, Some("response.completed" | "response.incomplete"));
                    if let (true, Some(k)) = (finished, keeper.take()) {
                        let output = output_of(&latest);
                        if let Err(e) = k.keep(&owned.id, latest.clone(), output).await {
                            tracing::error!(error = %e, "could not store a relayed response");
                        }
                    }
                }
                sent += 1;
                yield frame;
                if done {
                    return;
                }
            }
        }
    })
}

/// One upstream event as the client gets it; events carrying the response
/// object get the gateway's fields (and become `latest`), the others go as sent.
fn relayed(ev: SseEvent, owned: &Owned, latest: &mut Value) -> (SseFrame, Option<&'static str>) {
    let kind = match ev.event.as_deref() {
        Some(name) => Some(name.to_owned()),
        None => serde_json::from_str::<Typed>(&ev.data)
            .ok()
            .and_then(|t| t.kind.map(|k| k.into_owned())),
    };
    let name = kind
        .as_deref()
        .and_then(|k| EVENT_NAMES.iter().find(|n| **n == k).copied());
    if !name.is_some_and(|n| WITH_RESPONSE.contains(&n)) {
        return (
            SseFrame {
                event: name,
                data: ev.data,
            },
            name,
        );
    }
    let Ok(mut data) = serde_json::from_str::<Value>(&ev.data) else {
        return (
            SseFrame {
                event: name,
                data: ev.data,
            },
            name,
        );
    };
    if let Some(response) = data.get_mut("response") {
        owned.apply(response);
        *latest = response.clone();
    }
    let data = serde_json::to_string(&data).unwrap_or(ev.data);
    (SseFrame { event: name, data }, name)
}

/// The `response.failed` that ends a stream the upstream broke off.
fn failed(latest: &mut Value, owned: &Owned, e: &Error, sequence_number: u64) -> SseFrame {
    owned.apply(latest);
    latest["status"] = json!("failed");
    latest["error"] = json!({"code": "server_error", "message": e.message()});
    let data =
        json!({"type": "response.failed", "sequence_number": sequence_number, "response": latest});
    SseFrame {
        event: Some("response.failed"),
        data: data.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned() -> Owned {
        Owned {
            id: "resp_gw".into(),
            model: "client-model".into(),
            previous_response_id: Some("resp_prev".into()),
        }
    }

    #[test]
    fn response_events_get_the_gateway_fields_and_others_pass_as_sent() {
        let mut latest = Value::Null;
        let data = r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_up","object":"response","model":"up-model","previous_response_id":null,"x":1}}"#;
        let (frame, kind) = relayed(
            SseEvent {
                event: Some("response.created".into()),
                data: data.into(),
            },
            &owned(),
            &mut latest,
        );
        assert_eq!(kind, Some("response.created"));
        let v: Value = serde_json::from_str(&frame.data).unwrap();
        assert_eq!(
            v["response"],
            json!({"id": "resp_gw", "object": "response", "model": "client-model", "previous_response_id": "resp_prev", "x": 1})
        );
        assert_eq!(latest, v["response"]);

        let delta = r#"{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi","logprobs":[]}"#;
        let (frame, kind) = relayed(
            SseEvent {
                event: None,
                data: delta.into(),
            },
            &owned(),
            &mut latest,
        );
        assert_eq!(kind, Some("response.output_text.delta"));
        assert_eq!(frame.data, delta);
        let (frame, _) = relayed(
            SseEvent {
                event: Some("response.new_kind".into()),
                data: "{}".into(),
            },
            &owned(),
            &mut latest,
        );
        assert_eq!((frame.event, frame.data.as_str()), (None, "{}"));
    }

    #[test]
    fn a_broken_stream_fails_with_the_latest_response() {
        let mut latest =
            json!({"id": "resp_up", "object": "response", "status": "in_progress", "output": []});
        let e = Error::new(ErrorKind::Upstream, "cut");
        let frame = failed(&mut latest, &owned(), &e, 7);
        let v: Value = serde_json::from_str(&frame.data).unwrap();
        assert_eq!(frame.event, Some("response.failed"));
        assert_eq!(v["sequence_number"], 7);
        assert_eq!(v["response"]["id"], "resp_gw");
        assert_eq!(v["response"]["status"], "failed");
        assert_eq!(v["response"]["error"]["code"], "server_error");
    }
}
