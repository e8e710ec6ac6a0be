//! POST /v1/messages and /v1/messages/count_tokens over HTTP: bodies, headers,
//! the SSE event sequence, tool use round trips and the Claude Code request.

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
use serde_json::{json, Value};

const CLAUDE_CODE_REQUEST: &str =
    include_str!("fixtures/anthropic/claude-code-2.1.328-messages-request.json");

#[tokio::test]
async fn non_stream_echoes_text_with_usage_and_headers() {
    let s = Server::builtin().await;
    let r = s
        .post(
            "/v1/messages",
            &anthropic_request("claude-sonnet-4-6", "Hello there"),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.header("content-type").starts_with("application/json"));
    let b = &r.body;
    assert!(b["id"].as_str().unwrap().starts_with("msg_"), "{b}");
    assert_eq!(b["type"], "message");
    assert_eq!(b["role"], "assistant");
    assert_eq!(b["model"], "claude-sonnet-4-6");
    assert_eq!(
        b["content"],
        json!([{"type": "text", "text": "Hello there"}])
    );
    assert_eq!(b["stop_reason"], "end_turn");
    assert_eq!(b["stop_sequence"], Value::Null);
    // 11 characters are 3 tokens each way at 4 characters a token.
    assert_eq!(
        b["usage"],
        json!({"input_tokens": 3, "output_tokens": 3,
               "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})
    );

    assert_eq!(r.header("mws-profile"), "dragon");
    let (req_left, tok_left) = check_ratelimit_headers(&r.headers, RPM, TPM);
    check_anthropic_headers(&r.headers);
    assert_eq!(req_left, RPM - 1);
    // The reservation (3 input + max_tokens 1024) is counted at admission.
    assert_eq!(tok_left, TPM - 3 - 1024);

    // The first call settled 3 + 3 tokens; the second adds its own 3 input tokens.
    let r2 = s
        .post(
            "/v1/messages",
            &anthropic_request("claude-sonnet-4-6", "Hello there"),
        )
        .await;
    assert_eq!(r2.status, 200);
    let (req_left, tok_left) = check_ratelimit_headers(&r2.headers, RPM, TPM);
    assert_eq!(req_left, RPM - 2);
    // The first call was trued up to 3 + 3 tokens; the second reserves 3 + 1024.
    assert_eq!(tok_left, TPM - 6 - 1027);
    assert_ne!(r.header("request-id"), r2.header("request-id"));
    assert_ne!(r.body["id"], r2.body["id"]);
    s.stop().await;
}

#[tokio::test]
async fn stream_has_the_full_anthropic_event_sequence() {
    let s = Server::builtin().await;
    let text = "Hello there, a streamed answer in several pieces";
    let mut body = anthropic_request("claude-sonnet-4-6", text);
    body["stream"] = json!(true);
    let (headers, sse) = s.post_stream("/v1/messages", &body).await;
    assert_eq!(header(&headers, "mws-profile"), "dragon");
    check_ratelimit_headers(&headers, RPM, TPM);
    check_anthropic_headers(&headers);

    let events = anthropic_events(&sse);
    let n = names(&events);
    let deltas = n.iter().filter(|x| **x == "content_block_delta").count();
    assert!(deltas >= 2, "expected several deltas: {n:?}");
    let mut expected = vec!["message_start", "content_block_start", "ping"];
    expected.extend(std::iter::repeat_n("content_block_delta", deltas));
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(n, expected);

    let input_tokens = (text.len() as u64).div_ceil(4);
    let start = &events[0].1["message"];
    assert!(start["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(start["type"], "message");
    assert_eq!(start["role"], "assistant");
    assert_eq!(start["model"], "claude-sonnet-4-6");
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["stop_reason"], Value::Null);
    assert_eq!(start["stop_sequence"], Value::Null);
    assert!(start.as_object().unwrap().contains_key("stop_sequence"));
    assert_eq!(start["usage"]["input_tokens"], input_tokens);
    assert_eq!(start["usage"]["output_tokens"], 0);

    assert_eq!(
        events[1].1,
        json!({"type": "content_block_start", "index": 0,
               "content_block": {"type": "text", "text": ""}})
    );
    for (_, d) in events.iter().filter(|(n, _)| n == "content_block_delta") {
        assert_eq!(d["index"], 0);
        assert_eq!(d["delta"]["type"], "text_delta");
    }
    assert_eq!(anthropic_text(&events), text);
    let stop = &events[events.len() - 3].1;
    assert_eq!(stop, &json!({"type": "content_block_stop", "index": 0}));
    let md = &events[events.len() - 2].1;
    assert_eq!(md["delta"]["stop_reason"], "end_turn");
    assert_eq!(md["delta"]["stop_sequence"], Value::Null);
    assert_eq!(md["usage"]["output_tokens"], input_tokens);
    assert_eq!(md["usage"]["input_tokens"], input_tokens);
    assert_eq!(events.last().unwrap().1, json!({"type": "message_stop"}));
    s.stop().await;
}

#[tokio::test]
async fn stream_tool_use_sends_input_json_fragments() {
    let s = Server::builtin().await;
    let mut body = anthropic_request("claude-sonnet-4-6", "What's the weather in Paris?");
    body["tools"] = json!([weather_tool_anthropic()]);
    body["stream"] = json!(true);
    let (_, sse) = s.post_stream("/v1/messages", &body).await;
    let events = anthropic_events(&sse);
    let n = names(&events);
    assert_eq!(n[..3], ["message_start", "content_block_start", "ping"]);
    assert_eq!(
        n[n.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    let block = &events[1].1["content_block"];
    assert_eq!(block["type"], "tool_use");
    assert_eq!(block["name"], "get_weather");
    assert_eq!(block["input"], json!({}));
    assert!(block["id"].as_str().unwrap().starts_with("toolu_"));

    let fragments: Vec<&str> = events
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .map(|(_, d)| {
            assert_eq!(d["delta"]["type"], "input_json_delta");
            d["delta"]["partial_json"].as_str().unwrap()
        })
        .collect();
    assert!(fragments.len() >= 2, "{fragments:?}");
    let joined: Value = serde_json::from_str(&fragments.concat()).unwrap();
    assert_eq!(joined, json!({"city": "Paris"}));
    let md = &events[n.len() - 2].1;
    assert_eq!(md["delta"]["stop_reason"], "tool_use");
    assert!(md["usage"]["output_tokens"].as_u64().unwrap() > 0);
    s.stop().await;
}

#[tokio::test]
async fn tool_round_trip_keeps_ids_verbatim() {
    let s = Server::builtin().await;
    let question = "What's the weather in Paris?";
    let mut body = anthropic_request("claude-sonnet-4-6", question);
    body["tools"] = json!([weather_tool_anthropic()]);
    let r = s.post("/v1/messages", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["stop_reason"], "tool_use");
    let content = r.body["content"].as_array().unwrap();
    assert_eq!(content.len(), 1);
    let call = &content[0];
    assert_eq!(call["type"], "tool_use");
    assert_eq!(call["name"], "get_weather");
    assert_eq!(call["input"], json!({"city": "Paris"}));
    let id = call["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("toolu_"));

    body["messages"] = json!([
        {"role": "user", "content": question},
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": id, "content": "18C and sunny"}
        ]},
    ]);
    let r = s.post("/v1/messages", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["stop_reason"], "end_turn");
    let text = r.body["content"][0]["text"].as_str().unwrap();
    assert_eq!(text, format!("Tool result {id} returned: 18C and sunny"));

    // An id the gateway never issued (another provider's) passes through as is.
    body["messages"][1]["content"][0]["id"] = json!("call_Custom-ID_42");
    body["messages"][2]["content"][0]["tool_use_id"] = json!("call_Custom-ID_42");
    body["messages"][2]["content"][0]["is_error"] = json!(true);
    let r = s.post("/v1/messages", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body["content"][0]["text"],
        "Tool error from call_Custom-ID_42 returned: 18C and sunny"
    );
    s.stop().await;
}

/// Sends the recorded Claude Code request as Claude Code does.
async fn claude_code_stream(s: &Server) -> Vec<(String, Value)> {
    let body: Value = serde_json::from_str(CLAUDE_CODE_REQUEST).unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(body["tools"].as_array().unwrap().len(), 12);
    let r = s
        .client
        .post(s.url("/v1/messages"))
        .header("x-api-key", "mws_live_anything")
        .header("anthropic-version", "2023-06-01")
        .header(
            "anthropic-beta",
            "claude-code-20250219,interleaved-thinking-2025-05-14",
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(r.headers(), "mws-profile"), "dragon");
    assert!(header(r.headers(), "content-type").starts_with("text/event-stream"));
    anthropic_events(&r.text().await.unwrap())
}

#[tokio::test]
async fn claude_code_request_gets_a_complete_stream() {
    let s = Server::builtin().await;
    let events = claude_code_stream(&s).await;
    let n = names(&events);
    assert_eq!(n[..3], ["message_start", "content_block_start", "ping"]);
    assert_eq!(
        n[n.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    assert!(!n.contains(&"error"), "{n:?}");
    assert_eq!(events[0].1["message"]["model"], "claude-sonnet-4-6");
    assert!(
        events[0].1["message"]["usage"]["input_tokens"]
            .as_u64()
            .unwrap()
            > 1000
    );
    s.stop().await;
}

#[tokio::test]
async fn claude_code_request_streams_text_not_a_tool_call() {
    let s = Server::builtin().await;
    let events = claude_code_stream(&s).await;
    for (name, d) in &events {
        if name == "content_block_start" {
            assert_eq!(d["content_block"]["type"], "text", "{d}");
        }
        if name == "content_block_delta" {
            assert_eq!(d["delta"]["type"], "text_delta", "{d}");
        }
    }
    let text = anthropic_text(&events);
    assert!(text.ends_with("say hello"), "{text:?}");
    let md = events.iter().find(|(n, _)| n == "message_delta").unwrap();
    assert_eq!(md.1["delta"]["stop_reason"], "end_turn");
    s.stop().await;
}

#[tokio::test]
async fn count_tokens_is_four_characters_a_token() {
    let s = Server::builtin().await;
    // system "abcd" (4) + "efghi" (5) = 9 characters: 3 tokens.
    let r = s
        .post(
            "/v1/messages/count_tokens",
            &json!({"model": "claude-sonnet-4-6", "system": "abcd",
                    "messages": [{"role": "user", "content": "efghi"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body, json!({"input_tokens": 3}));
    check_anthropic_headers(&r.headers);
    // count_tokens is answered locally and not counted as a request.
    let (req_left, _) = check_ratelimit_headers(&r.headers, RPM, TPM);
    assert_eq!(req_left, RPM);

    // Tools count too: name "f" (1) + `{"type":"object"}` (17) + 9 = 27 characters: 7.
    let r = s
        .post(
            "/v1/messages/count_tokens",
            &json!({"model": "dragon", "system": [{"type": "text", "text": "abcd"}],
                    "messages": [{"role": "user", "content": [{"type": "text", "text": "efghi"}]}],
                    "tools": [{"name": "f", "input_schema": {"type": "object"}}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body, json!({"input_tokens": 7}));

    // A message without a system prompt: "Hello, world" is 12 characters, 3 tokens.
    let r = s
        .post(
            "/v1/messages/count_tokens",
            &json!({"model": "dragon", "messages": [{"role": "user", "content": "Hello, world"}]}),
        )
        .await;
    assert_eq!(r.body, json!({"input_tokens": 3}));
    s.stop().await;
}

#[tokio::test]
async fn stop_sequences_and_max_tokens_end_the_answer() {
    let s = Server::builtin().await;
    let mut body = anthropic_request("dragon", "one two STOP three");
    body["stop_sequences"] = json!(["STOP"]);
    let r = s.post("/v1/messages", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["content"][0]["text"], "one two ");
    assert_eq!(r.body["stop_reason"], "stop_sequence");
    assert_eq!(r.body["stop_sequence"], "STOP");

    let mut body = anthropic_request("dragon", "one two three four five");
    body["max_tokens"] = json!(1);
    let r = s.post("/v1/messages", &body).await;
    assert_eq!(r.body["content"][0]["text"], "one ");
    assert_eq!(r.body["stop_reason"], "max_tokens");
    assert_eq!(r.body["usage"]["output_tokens"], 1);
    s.stop().await;
}

#[tokio::test]
async fn unicode_streams_whole_and_counts_characters() {
    let s = Server::builtin().await;
    let text = "Drachen 🐉 fliegen über Zürich — ça va très bien, 東京も 🐲🐲";
    let mut body = anthropic_request("dragon", text);
    body["stream"] = json!(true);
    let (_, sse) = s.post_stream("/v1/messages", &body).await;
    let events = anthropic_events(&sse);
    assert_eq!(anthropic_text(&events), text);
    let chars = text.chars().count() as u64;
    assert_eq!(
        events[0].1["message"]["usage"]["input_tokens"],
        chars.div_ceil(4)
    );

    let r = s
        .post(
            "/v1/messages/count_tokens",
            &json!({"model": "dragon", "messages": [{"role": "user", "content": "🐉🐉🐉🐉🐉"}]}),
        )
        .await;
    assert_eq!(r.body, json!({"input_tokens": 2}));

    // max_tokens cuts a stream too, and says so in message_delta.
    let mut body = anthropic_request("dragon", "one two three four five");
    body["stream"] = json!(true);
    body["max_tokens"] = json!(1);
    let (_, sse) = s.post_stream("/v1/messages", &body).await;
    let events = anthropic_events(&sse);
    assert_eq!(anthropic_text(&events), "one ");
    let md = events.iter().find(|(n, _)| n == "message_delta").unwrap();
    assert_eq!(md.1["delta"]["stop_reason"], "max_tokens");
    assert_eq!(md.1["usage"]["output_tokens"], 1);
    s.stop().await;
}
