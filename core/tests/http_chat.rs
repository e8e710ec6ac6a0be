//! POST /v1/chat/completions over HTTP: bodies, chunks, `[DONE]`, usage chunks,
//! streamed tool calls, the tool round trip, and model routing on both APIs.

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

#[tokio::test]
async fn non_stream_completion() {
    let s = Server::builtin().await;
    let r = s
        .post(
            "/v1/chat/completions",
            &openai_request("gpt-4o", "Hello there"),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let b = &r.body;
    assert!(b["id"].as_str().unwrap().starts_with("chatcmpl-"), "{b}");
    assert_eq!(b["object"], "chat.completion");
    assert_eq!(b["model"], "gpt-4o");
    assert!(b["created"].as_u64().unwrap() > 1_700_000_000);
    let choices = b["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 1);
    assert_eq!(choices[0]["index"], 0);
    assert_eq!(choices[0]["finish_reason"], "stop");
    assert_eq!(choices[0]["message"]["role"], "assistant");
    assert_eq!(choices[0]["message"]["content"], "Hello there");
    assert!(choices[0]["message"].get("tool_calls").is_none());
    assert_eq!(b["usage"]["prompt_tokens"], 3);
    assert_eq!(b["usage"]["completion_tokens"], 3);
    assert_eq!(b["usage"]["total_tokens"], 6);

    assert_eq!(r.header("mws-profile"), "dragon");
    let (req_left, tok_left) = check_ratelimit_headers(&r.headers, RPM, TPM);
    // Without max_tokens the reservation is the whole context window: 3 in + 262141 out.
    assert_eq!((req_left, tok_left), (RPM - 1, TPM - 262_144));
    // Anthropic's own set is for /v1/messages only.
    assert!(r
        .headers
        .get("anthropic-ratelimit-requests-limit")
        .is_none());
    s.stop().await;
}

/// Checks what every chunk of one stream shares and returns the stream's id.
fn common_fields(chunks: &[Value], model: &str) -> String {
    let id = chunks[0]["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("chatcmpl-"));
    for c in chunks {
        assert_eq!(c["id"], id.as_str());
        assert_eq!(c["object"], "chat.completion.chunk");
        assert_eq!(c["model"], model);
        assert!(c["created"].is_u64());
    }
    id
}

#[tokio::test]
async fn stream_without_usage() {
    let s = Server::builtin().await;
    let text = "Hello there, a streamed chat answer";
    let mut body = openai_request("gpt-4o", text);
    body["stream"] = json!(true);
    let (headers, sse) = s.post_stream("/v1/chat/completions", &body).await;
    check_ratelimit_headers(&headers, RPM, TPM);
    assert_eq!(header(&headers, "mws-profile"), "dragon");
    let chunks = openai_chunks(&sse);
    common_fields(&chunks, "gpt-4o");

    // Role first, then content deltas, then the finish chunk; no usage anywhere.
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(chunks[0]["choices"][0]["finish_reason"], Value::Null);
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert_eq!(last["choices"][0]["delta"], json!({}));
    let middle = &chunks[1..chunks.len() - 1];
    assert!(middle.len() >= 2, "several content deltas: {chunks:?}");
    let mut joined = String::new();
    for c in middle {
        assert_eq!(c["choices"][0]["finish_reason"], Value::Null);
        assert!(c["choices"][0]["delta"].get("role").is_none());
        joined.push_str(c["choices"][0]["delta"]["content"].as_str().unwrap());
    }
    assert_eq!(joined, text);
    for c in &chunks {
        assert!(c.get("usage").is_none(), "no usage unless asked: {c}");
        assert_eq!(c["choices"].as_array().unwrap().len(), 1);
    }
    s.stop().await;
}

#[tokio::test]
async fn stream_with_include_usage_ends_with_a_usage_chunk() {
    let s = Server::builtin().await;
    let mut body = openai_request("dragon-flash", "Hello there");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let (headers, sse) = s.post_stream("/v1/chat/completions", &body).await;
    assert_eq!(header(&headers, "mws-profile"), "dragon-flash");
    let chunks = openai_chunks(&sse);
    common_fields(&chunks, "dragon-flash");
    let (usage_chunk, rest) = chunks.split_last().unwrap();
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(
        usage_chunk["usage"],
        json!({"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6,
               "prompt_tokens_details": {"cached_tokens": 0}})
    );
    assert_eq!(rest.last().unwrap()["choices"][0]["finish_reason"], "stop");
    assert_eq!(rest[0]["choices"][0]["delta"]["role"], "assistant");
    let joined: String = rest
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(joined, "Hello there");
    for c in rest {
        // Every chunk but the last carries `usage: null`.
        assert_eq!(c["usage"], Value::Null);
        assert!(c.as_object().unwrap().contains_key("usage"));
        assert_eq!(c["choices"].as_array().unwrap().len(), 1);
    }
    s.stop().await;
}

#[tokio::test]
async fn stream_tool_calls_with_index_id_name_then_arguments() {
    let s = Server::builtin().await;
    let mut body = openai_request("gpt-4o", "What is the weather in Paris?");
    body["tools"] = json!([weather_tool_openai()]);
    body["stream"] = json!(true);
    let (_, sse) = s.post_stream("/v1/chat/completions", &body).await;
    let chunks = openai_chunks(&sse);
    common_fields(&chunks, "gpt-4o");
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");

    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"].get("tool_calls"))
        .map(|t| {
            let t = t.as_array().unwrap();
            assert_eq!(t.len(), 1);
            &t[0]
        })
        .collect();
    assert!(calls.len() >= 3, "a head and several fragments: {calls:?}");
    let head = calls[0];
    assert_eq!(head["index"], 0);
    assert_eq!(head["type"], "function");
    assert_eq!(head["function"]["name"], "get_weather");
    assert_eq!(head["function"]["arguments"], "");
    let id = head["id"].as_str().unwrap();
    assert!(!id.is_empty());
    let mut args = String::new();
    for c in &calls[1..] {
        assert_eq!(c["index"], 0);
        assert!(c.get("id").is_none() && c["function"].get("name").is_none());
        args.push_str(c["function"]["arguments"].as_str().unwrap());
    }
    let args: Value = serde_json::from_str(&args).unwrap();
    assert_eq!(args, json!({"city": "Paris"}));
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    s.stop().await;
}

#[tokio::test]
async fn tool_round_trip_keeps_ids_verbatim() {
    let s = Server::builtin().await;
    let question = "What is the weather in Paris?";
    let mut body = openai_request("gpt-4o", question);
    body["tools"] = json!([weather_tool_openai()]);
    let r = s.post("/v1/chat/completions", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let choice = &r.body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    let message = &choice["message"];
    assert_eq!(message["content"], Value::Null);
    let calls = message["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let args: Value =
        serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"city": "Paris"}));
    let id = calls[0]["id"].as_str().unwrap().to_string();

    body["messages"] = json!([
        {"role": "user", "content": question},
        {"role": "assistant", "content": null, "tool_calls": calls},
        {"role": "tool", "tool_call_id": id, "content": "18C and sunny"},
    ]);
    let r = s.post("/v1/chat/completions", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let choice = &r.body["choices"][0];
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(
        choice["message"]["content"],
        format!("Tool result {id} returned: 18C and sunny")
    );

    // An OpenAI-style id the gateway never issued passes through as is.
    body["messages"][1]["tool_calls"][0]["id"] = json!("call_AbC123xyz");
    body["messages"][2]["tool_call_id"] = json!("call_AbC123xyz");
    let r = s.post("/v1/chat/completions", &body).await;
    assert_eq!(
        r.body["choices"][0]["message"]["content"],
        "Tool result call_AbC123xyz returned: 18C and sunny"
    );
    s.stop().await;
}

#[tokio::test]
async fn routing_ids_aliases_and_default() {
    let s = Server::builtin().await;
    let mut cases: Vec<(&str, &str)> = DRAGONS.iter().map(|d| (d.0, d.0)).collect();
    for alias in [
        "claude-sonnet-4-6",
        "claude-haiku-4",
        "claude-opus-4",
        "gpt-4o",
        "gpt-4o-mini",
        "some-unknown-model",
        "DRAGON-PRO",
    ] {
        cases.push((alias, "dragon"));
    }
    for (model, profile) in cases {
        let r = s
            .post("/v1/chat/completions", &openai_request(model, "hi"))
            .await;
        assert_eq!(r.status, 200, "{model}: {:?}", r.body);
        assert_eq!(r.header("mws-profile"), profile, "{model}");
        assert_eq!(r.body["model"], model);
        let r = s
            .post("/v1/messages", &anthropic_request(model, "hi"))
            .await;
        assert_eq!(r.status, 200, "{model}: {:?}", r.body);
        assert_eq!(r.header("mws-profile"), profile, "{model}");
        assert_eq!(r.body["model"], model);
    }
    s.stop().await;
}

#[tokio::test]
async fn system_and_multi_part_content_are_accepted() {
    let s = Server::builtin().await;
    let body = json!({
        "model": "dragon",
        "max_completion_tokens": 100,
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "first part"},
                {"type": "text", "text": "second part"},
            ]},
        ],
    });
    let r = s.post("/v1/chat/completions", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body["choices"][0]["message"]["content"],
        "first part\nsecond part"
    );
    // "Be brief." (9) + "first part" (10) + "second part" (11) = 30 characters.
    assert_eq!(r.body["usage"]["prompt_tokens"], 8);
    s.stop().await;
}
