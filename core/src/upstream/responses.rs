//! An upstream that speaks the OpenAI Responses API (`openai-responses`):
//! POST {base_url}/responses. Requests of the other shapes are translated
//! (`responses_wire`, `responses_stream`); a Responses request is relayed as
//! the client wrote it (see `relay.rs`), with only `model` replaced and the
//! conversation a gateway `previous_response_id` names put into `input`.

use bytes::Bytes;
use http::{HeaderMap, HeaderName};
use serde_json::{json, Map, Value};

use super::http::{HttpClient, Pools};
use super::passthrough::WithOverrides;
use super::responses_stream::EventTranslator;
use super::responses_wire;
use super::sse;
use super::target::Target;
use crate::canonical::{ChatRequest, ChatResponse, EventStream};
use crate::config::UpstreamConfig;
use crate::tokens::estimate_request;
use crate::{Error, ErrorKind, Result};

/// The upstream's events as they are decoded, for a relayed stream.
pub use super::sse::SseBatches;

#[derive(Debug)]
pub struct ResponsesUpstream {
    http: HttpClient,
}

impl ResponsesUpstream {
    pub fn new(cfg: &UpstreamConfig, pools: &Pools) -> Result<Self> {
        let http = HttpClient::new(cfg, pools, |key| {
            (
                HeaderName::from_static("authorization"),
                format!("Bearer {key}"),
            )
        })?;
        Ok(ResponsesUpstream { http })
    }

    pub fn name(&self) -> &str {
        &self.http.name
    }

    /// A translated request, answered whole.
    pub async fn complete(&self, req: &ChatRequest, target: &Target<'_>) -> Result<ChatResponse> {
        let answer = self.relay(request_body(req, target, false)?).await?;
        responses_wire::response_from(&self.http.name, &answer)
    }

    /// A translated request, streamed.
    pub async fn stream(&self, req: &ChatRequest, target: &Target<'_>) -> Result<EventStream> {
        let resp = self
            .http
            .post(
                "/responses",
                request_body(req, target, true)?,
                &HeaderMap::new(),
            )
            .await?;
        Ok(sse::translated(
            sse::events(self.http.chunks(resp)),
            EventTranslator::new(estimate_request(req)),
        ))
    }

    /// A Responses body as is; the whole response object.
    pub async fn relay(&self, body: Bytes) -> Result<Value> {
        let resp = self
            .http
            .post("/responses", body, &HeaderMap::new())
            .await?;
        let answer = self.http.json(resp).await?;
        if answer.get("object").and_then(Value::as_str) != Some("response") {
            return Err(Error::new(
                ErrorKind::Upstream,
                format!(
                    "upstream {} answered in an unexpected shape: not a response object",
                    self.http.name
                ),
            ));
        }
        Ok(answer)
    }

    /// A streamed Responses body as is: its events once the first has come
    /// (a stream that fails before it is a failed call, as in `first_event`).
    pub async fn relay_stream(&self, body: Bytes) -> Result<SseBatches> {
        let resp = self
            .http
            .post("/responses", body, &HeaderMap::new())
            .await?;
        sse::first_batch(Box::pin(sse::events(self.http.chunks(resp)))).await
    }
}

/// The translated body of a canonical request.
fn request_body(req: &ChatRequest, target: &Target<'_>, stream: bool) -> Result<Bytes> {
    let mut body = responses_wire::translate(req, target.model)?;
    body.insert("stream".into(), json!(stream));
    Ok(Bytes::from(serde_json::to_vec(&body)?))
}

/// A client's Responses body for the upstream: `model` replaced, and, when
/// the gateway completed the conversation (a `previous_response_id` of its
/// own, or `item_reference`s it resolved), `input` replaced by the whole of it
/// and `previous_response_id` taken out. Every other field goes as sent.
pub fn relay_body(body: &Map<String, Value>, model: &str, input: Option<Value>) -> Result<Bytes> {
    let mut overrides = vec![("model", Some(json!(model)))];
    if let Some(input) = input {
        overrides.push(("input", Some(input)));
        overrides.push(("previous_response_id", None));
    }
    Ok(Bytes::from(serde_json::to_vec(&WithOverrides {
        body,
        overrides: &overrides,
    })?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_body_replaces_only_model_unless_the_gateway_completed_the_input() {
        let text = r#"{"model":"gpt-x","input":"hi","tools":[{"type":"web_search"}],"temperature":0.43145253165777253,"x-new":{"a":[1,2]}}"#;
        let body: Value = serde_json::from_str(text).unwrap();
        let out = relay_body(body.as_object().unwrap(), "up-model", None).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            text.replace("\"gpt-x\"", "\"up-model\"")
        );

        let body = json!({"model": "m", "previous_response_id": "resp_gw", "input": [{"type": "message", "role": "user", "content": "next"}], "store": true});
        let whole = json!([{"type": "message", "role": "user", "content": "first"}, {"type": "message", "role": "user", "content": "next"}]);
        let out = relay_body(body.as_object().unwrap(), "up", Some(whole.clone())).unwrap();
        let out: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(out, json!({"model": "up", "input": whole, "store": true}));
    }
}
