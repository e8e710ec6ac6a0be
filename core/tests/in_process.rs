//! In-process calls: `Gateway::call_json` gives the JSON the HTTP endpoint gives,
//! and `Gateway::stream` yields the events an HTTP stream carries.

// clippy.toml allows these in #[test] functions only; the helpers here and in
// `common` are test code too.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use common::*;
use futures::StreamExt;
use mws_core::{Endpoint, ErrorKind, Gateway};
use serde_json::{json, Value};

/// Removes the fields that differ between two calls of the same request.
fn without_ids(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
        o.remove("created");
    }
    v
}

/// Rounds every number to f32: embeddings are f32 values, and reading JSON text
/// back (serde_json without `float_roundtrip`) may miss the last bit of an f64.
fn as_f32(v: Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => json!(n.as_f64().unwrap() as f32),
        Value::Array(a) => Value::Array(a.into_iter().map(as_f32).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, as_f32(v))).collect()),
        other => other,
    }
}

#[tokio::test]
async fn call_json_matches_http_for_messages_and_chat() {
    let s = Server::builtin().await;
    let gw = s.gateway.clone();

    let mut body = anthropic_request("claude-sonnet-4-6", "Hello there");
    body["tools"] = json!([weather_tool_anthropic()]);
    let local = gw.call_json(Endpoint::Messages, &body, None).await.unwrap();
    let http = s.post("/v1/messages", &body).await;
    assert_eq!(http.status, 200);
    assert!(local["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(without_ids(local.clone()), without_ids(http.body));
    assert_eq!(local["content"][0]["text"], "Hello there");

    let body = openai_request("gpt-4o", "Hello there");
    let local = gw
        .call_json(Endpoint::ChatCompletions, &body, Some(s.key.as_str()))
        .await
        .unwrap();
    let http = s.post("/v1/chat/completions", &body).await;
    assert!(local["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(without_ids(local.clone()), without_ids(http.body));
    assert_eq!(local["choices"][0]["message"]["content"], "Hello there");
    s.stop().await;
}

#[tokio::test]
async fn call_json_matches_http_for_tool_calls_and_extras() {
    let s = Server::builtin().await;
    let gw = s.gateway.clone();

    // Tool-call ids are fresh on each call; everything else agrees.
    let mut body = anthropic_request("dragon", "What's the weather in Paris?");
    body["tools"] = json!([weather_tool_anthropic()]);
    let mut local = gw.call_json(Endpoint::Messages, &body, None).await.unwrap();
    let mut http = s.post("/v1/messages", &body).await.body;
    assert_eq!(local["stop_reason"], "tool_use");
    assert!(local["content"][0]["id"]
        .as_str()
        .unwrap()
        .starts_with("toolu_"));
    local["content"][0]["id"] = json!("x");
    http["content"][0]["id"] = json!("x");
    assert_eq!(without_ids(local), without_ids(http));

    let cases = [
        (
            Endpoint::CountTokens,
            "/v1/messages/count_tokens",
            json!({"model": "dragon", "messages": [{"role": "user", "content": "Hello, world"}]}),
        ),
        (
            Endpoint::Embeddings,
            "/v1/embeddings",
            json!({"model": "dragon", "input": ["a", "b"], "dimensions": 8}),
        ),
    ];
    for (endpoint, path, body) in cases {
        let local = gw.call_json(endpoint, &body, None).await.unwrap();
        let http = s.post(path, &body).await;
        assert_eq!(http.status, 200);
        assert_eq!(as_f32(local), as_f32(http.body), "{path}");
    }
    let local = gw
        .call_json(Endpoint::Models, &Value::Null, None)
        .await
        .unwrap();
    assert_eq!(local, s.get("/v1/models").await.body);
    let local = gw
        .call_json(Endpoint::Model("dragon-seer".into()), &Value::Null, None)
        .await
        .unwrap();
    assert_eq!(local, s.get("/v1/models/dragon-seer").await.body);
    s.stop().await;
}

#[tokio::test]
async fn call_json_errors_carry_kind_field_and_status() {
    let gw = Gateway::builtin().unwrap();
    let body = json!({"model": "dragon", "messages": [{"role": "user", "content": "hi"}]});
    let e = gw
        .call_json(Endpoint::Messages, &body, None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(e.http_status(), 400);
    assert_eq!(e.param(), Some("max_tokens"));
    assert_eq!(e.message(), "max_tokens: field required");

    let e = gw
        .call_json(Endpoint::Model("unknown".into()), &Value::Null, None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.http_status(), 404);

    // A streaming request is refused by the one-value call.
    let mut body = anthropic_request("dragon", "hi");
    body["stream"] = json!(true);
    let e = gw
        .call_json(Endpoint::Messages, &body, None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(e.param(), Some("stream"));
}

#[tokio::test]
async fn stream_yields_anthropic_events_ending_with_message_stop() {
    let s = Server::builtin().await;
    let text = "Hello there, streamed in process";
    let body = anthropic_request("claude-sonnet-4-6", text);
    let events: Vec<Value> = s
        .gateway
        .stream(Endpoint::Messages, &body, None)
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"message_start"));
    assert_eq!(types.last(), Some(&"message_stop"));
    assert_eq!(events[0]["message"]["model"], "claude-sonnet-4-6");
    let joined: String = events
        .iter()
        .filter(|e| e["type"] == "content_block_delta")
        .map(|e| e["delta"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(joined, text);

    // The same sequence of event types as over HTTP.
    let mut http_body = body.clone();
    http_body["stream"] = json!(true);
    let (_, sse) = s.post_stream("/v1/messages", &http_body).await;
    let http_events = anthropic_events(&sse);
    assert_eq!(types, names(&http_events));
    s.stop().await;
}

#[tokio::test]
async fn stream_yields_openai_chunks_without_done() {
    let gw = Gateway::builtin().unwrap();
    let mut body = openai_request("gpt-4o", "Hello there");
    body["stream_options"] = json!({"include_usage": true});
    let chunks: Vec<Value> = gw
        .stream(Endpoint::ChatCompletions, &body, None)
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    assert!(chunks.len() >= 5, "{chunks:?}");
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk"));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["total_tokens"], 6);
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    let joined: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(joined, "Hello there");

    let e = match gw.stream(Endpoint::Models, &json!({}), None).await {
        Ok(_) => panic!("models do not stream"),
        Err(e) => e,
    };
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
}
