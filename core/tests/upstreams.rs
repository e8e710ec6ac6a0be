//! Any shape to any upstream, against the scripted mock: what the upstream
//! received and what the client got, streams, retries, fallbacks and failures.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::time::Duration;

use mws_core::testing::{MockReply, MockUpstream};
use mws_core::{Gateway, ServeHandle};
use serde_json::{json, Value};

const LIMITS: &str =
    "[limits]\nunauthenticated_rpm_per_ip = 100000\nunauthenticated_tpm_per_ip = 1000000000\n\
    [[limits.tiers]]\nmin_lifetime_spend_usd = 0\nrpm = 100000\ntpm = 1000000000\n";

fn config(upstreams: &[(&str, &str, &str)], extra_upstream: &str, fallbacks: &[&str]) -> String {
    let mut c = String::from(LIMITS);
    for (name, kind, url) in upstreams {
        c += &format!(
            "[[upstreams]]\nname = \"{name}\"\nkind = \"{kind}\"\nbase_url = \"{url}\"\n{extra_upstream}\n"
        );
    }
    let fallbacks: Vec<String> = fallbacks.iter().map(|f| format!("\"{f}\"")).collect();
    c += &format!(
        "[[profiles]]\nid = \"dragon\"\nupstream = \"{}\"\nupstream_model = \"up-model\"\ncontext_window = 262144\ntokens_per_second = 189\ninput_price_per_mtok = 0.48\noutput_price_per_mtok = 1.08\nfallbacks = [{}]\n",
        upstreams[0].0,
        fallbacks.join(", ")
    );
    c
}

/// A served gateway's base URL and a funded key of it.
struct Target {
    url: String,
    key: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

async fn start(cfg: &str) -> (ServeHandle, Target) {
    let gw = Gateway::from_toml_str(&format!("[store]\nkind = \"memory\"\n{cfg}")).unwrap();
    let admin = gw.admin();
    let account = admin.create_account(&json!({"name": "t"})).await.unwrap();
    let id = account["id"].as_str().unwrap();
    admin
        .add_credits(id, &json!({"amount_usd": 100}))
        .await
        .unwrap();
    let key = admin.create_key(id, &json!({})).await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let h = gw.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let url = format!("http://{}", h.addr());
    (h, Target { url, key })
}

async fn post(target: &Target, path: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{target}{path}"))
        .bearer_auth(&target.key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// (event name, data) pairs of an SSE body.
fn sse(text: &str) -> Vec<(Option<String>, String)> {
    text.split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let mut event = None;
            let mut data = String::new();
            for line in f.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = Some(e.to_string());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = d.to_string();
                }
            }
            (event, data)
        })
        .collect()
}

fn tool_conversation() -> Value {
    json!({
        "model": "claude-sonnet-4-6", "max_tokens": 100, "top_k": 5, "stop_sequences": ["END"],
        "metadata": {"user_id": "u-1"},
        "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
        "messages": [
            {"role": "user", "content": "weather in Paris?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01XyZ", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01XyZ", "content": "sunny"},
                {"type": "text", "text": "thanks", "cache_control": {"type": "ephemeral"}}]}
        ]
    })
}

#[tokio::test]
async fn anthropic_request_to_openai_upstream_and_back() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, url) = start(&config(&[("up", "openai", &mock.base_url())], "", &[])).await;
    let r = post(&url, "/v1/messages", &tool_conversation()).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["model"], "claude-sonnet-4-6");
    assert_eq!(body["content"][0]["text"], "Hello from the mock upstream.");
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["usage"]["input_tokens"], 10);
    assert_eq!(body["usage"]["output_tokens"], 7);

    let got = &mock.received()[0];
    assert_eq!(got.path, "/v1/chat/completions");
    assert_eq!(
        got.body,
        json!({
            "model": "up-model",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "weather in Paris?"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "toolu_01XyZ", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "toolu_01XyZ", "content": "sunny"},
                {"role": "user", "content": "thanks"}
            ],
            "max_tokens": 100, "stop": ["END"], "user": "u-1",
            "tools": [{"type": "function", "function": {"name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
            "stream": false
        })
    );
    h.shutdown().await;
}

#[tokio::test]
async fn anthropic_structured_output_reaches_an_openai_upstream_as_response_format() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, url) = start(&config(&[("up", "openai", &mock.base_url())], "", &[])).await;
    let schema =
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    let body = json!({"model": "claude-sonnet-4-6", "max_tokens": 100,
        "messages": [{"role": "user", "content": "Where?"}],
        "output_config": {"format": {"type": "json_schema", "schema": schema}}});
    let r = post(&url, "/v1/messages", &body).await;
    assert_eq!(r.status(), 200);
    let got = &mock.received()[0];
    assert_eq!(
        got.body["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "response", "schema": schema, "strict": true}})
    );
    h.shutdown().await;
}

#[tokio::test]
async fn anthropic_stream_from_openai_tool_call_chunks_with_trailing_usage() {
    let mock = MockUpstream::start().await.unwrap();
    let c = |delta: Value, finish: Value| json!({"id": "chatcmpl-9", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    mock.push(MockReply::openai_chunks(&[
        c(json!({"role": "assistant", "content": null}), Value::Null),
        c(json!({"tool_calls": [{"index": 0, "id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}), Value::Null),
        c(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}), Value::Null),
        c(json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}), Value::Null),
        c(json!({"tool_calls": [{"index": 1, "id": "call_def", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}]}), Value::Null),
        c(json!({}), json!("tool_calls")),
        json!({"id": "chatcmpl-9", "choices": [], "usage": {"prompt_tokens": 33, "completion_tokens": 21, "total_tokens": 54}}),
    ]));
    let (h, url) = start(&config(&[("up", "openai", &mock.base_url())], "", &[])).await;
    let mut req = tool_conversation();
    req["stream"] = json!(true);
    let text = post(&url, "/v1/messages", &req).await.text().await.unwrap();
    let events = sse(&text);
    let names: Vec<&str> = events
        .iter()
        .map(|(e, _)| e.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let data: Vec<Value> = events
        .iter()
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    let start = &data[0]["message"];
    assert_eq!(
        (
            start["content"].clone(),
            start["stop_reason"].clone(),
            start["stop_sequence"].clone()
        ),
        (json!([]), Value::Null, Value::Null)
    );
    assert!(start["usage"]["input_tokens"].is_u64());
    assert_eq!(
        data[1]["content_block"],
        json!({"type": "tool_use", "id": "call_abc", "name": "get_weather", "input": {}})
    );
    let args: String = data[2..4]
        .iter()
        .map(|d| d["delta"]["partial_json"].as_str().unwrap())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"city": "Paris"})
    );
    assert_eq!(data[5]["index"], 1);
    assert_eq!(data[5]["content_block"]["id"], "call_def");
    assert_eq!(data[8]["delta"]["stop_reason"], "tool_use");
    assert_eq!(data[8]["usage"]["output_tokens"], 21);
    assert_eq!(
        mock.received()[0].body["stream_options"],
        json!({"include_usage": true})
    );
    h.shutdown().await;
}

#[tokio::test]
async fn openai_request_to_anthropic_upstream_and_back() {
    let mock = MockUpstream::start().await.unwrap();
    mock.push(MockReply::json(json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
        "content": [{"type": "text", "text": "Let me check."}, {"type": "tool_use", "id": "toolu_77", "name": "get_weather", "input": {"city": "Oslo"}}],
        "stop_reason": "tool_use", "stop_sequence": null, "usage": {"input_tokens": 40, "output_tokens": 12}})));
    let (h, url) = start(&config(&[("up", "anthropic", &mock.base_url())], "", &[])).await;
    let req = json!({
        "model": "gpt-4o", "max_tokens": 50, "temperature": 0.5, "user": "u-2",
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "cold"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": "required", "parallel_tool_calls": false
    });
    let r = post(&url, "/v1/chat/completions", &req).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["model"], "gpt-4o");
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], "Let me check.");
    assert_eq!(choice["message"]["tool_calls"][0]["id"], "toolu_77");
    assert_eq!(
        choice["message"]["tool_calls"][0]["function"]["arguments"],
        "{\"city\":\"Oslo\"}"
    );
    assert_eq!(body["usage"]["prompt_tokens"], 40);

    let got = &mock.received()[0];
    assert_eq!(got.path, "/v1/messages");
    assert_eq!(got.headers["anthropic-version"], "2023-06-01");
    assert_eq!(got.body["model"], "up-model");
    assert_eq!(got.body["system"], json!([{"type": "text", "text": "sys"}]));
    assert_eq!(got.body["metadata"], json!({"user_id": "u-2"}));
    assert_eq!(
        got.body["tool_choice"],
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
    assert_eq!(
        got.body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Oslo"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": [{"type": "text", "text": "cold"}]}]}
        ])
    );
    h.shutdown().await;
}

#[tokio::test]
async fn openai_stream_from_anthropic_events() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, url) = start(&config(&[("up", "anthropic", &mock.base_url())], "", &[])).await;
    let req = json!({"model": "dragon", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "hi"}]});
    let text = post(&url, "/v1/chat/completions", &req)
        .await
        .text()
        .await
        .unwrap();
    let frames = sse(&text);
    assert_eq!(frames.last().unwrap().1, "[DONE]");
    let chunks: Vec<Value> = frames[..frames.len() - 1]
        .iter()
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello from the mock upstream.");
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(
        (
            usage["prompt_tokens"].as_u64(),
            usage["completion_tokens"].as_u64()
        ),
        (Some(10), Some(7))
    );
    assert!(chunks
        .iter()
        .any(|c| c["choices"][0]["finish_reason"] == "stop"));
    h.shutdown().await;
}

#[tokio::test]
async fn same_kind_passes_through_unknown_fields() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, url) = start(&config(&[("up", "openai", &mock.base_url())], "", &[])).await;
    let req = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
        "logit_bias": {"50256": -100}, "x_vendor_option": {"deep": [1, 2]}, "seed": 7});
    assert_eq!(post(&url, "/v1/chat/completions", &req).await.status(), 200);
    let got = &mock.received()[0].body;
    let mut expected = req.clone();
    expected["model"] = json!("up-model");
    expected["stream"] = json!(false);
    assert_eq!(got, &expected);
    h.shutdown().await;

    let mock = MockUpstream::start().await.unwrap();
    let (h, url) = start(&config(&[("up", "anthropic", &mock.base_url())], "", &[])).await;
    let fixture: Value = serde_json::from_str(include_str!(
        "fixtures/anthropic/claude-code-2.1.328-messages-request.json"
    ))
    .unwrap();
    let r = post(&url, "/v1/messages", &fixture).await;
    assert_eq!(r.status(), 200);
    let events = sse(&r.text().await.unwrap());
    assert_eq!(events.last().unwrap().0.as_deref(), Some("message_stop"));
    let mut expected = fixture.clone();
    expected["model"] = json!("up-model");
    assert_eq!(mock.received()[0].body, expected);
    h.shutdown().await;
}

#[tokio::test]
async fn claude_code_request_streams_through_openai_upstream() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, url) = start(&config(&[("up", "openai", &mock.base_url())], "", &[])).await;
    let fixture: Value = serde_json::from_str(include_str!(
        "fixtures/anthropic/claude-code-2.1.328-messages-request.json"
    ))
    .unwrap();
    let r = post(&url, "/v1/messages", &fixture).await;
    assert_eq!(r.status(), 200);
    let events = sse(&r.text().await.unwrap());
    assert_eq!(events.last().unwrap().0.as_deref(), Some("message_stop"));
    let got = &mock.received()[0].body;
    assert_eq!(got["tools"].as_array().unwrap().len(), 12);
    for dropped in [
        "thinking",
        "context_management",
        "output_config",
        "metadata",
        "system",
    ] {
        assert!(
            got.get(dropped).is_none(),
            "{dropped} was sent to an OpenAI upstream"
        );
    }
    assert_eq!(got["messages"][0]["role"], "system");
    assert!(!got.to_string().contains("cache_control"));
    h.shutdown().await;
}

#[tokio::test]
async fn retries_then_succeeds_and_falls_back() {
    let mock = MockUpstream::start().await.unwrap();
    mock.push(MockReply::status(
        500,
        json!({"error": {"message": "boom"}}),
    ));
    mock.push(MockReply::status(
        503,
        json!({"error": {"message": "busy"}}),
    ));
    let (h, url) = start(&config(
        &[("up", "openai", &mock.base_url())],
        "max_retries = 2",
        &[],
    ))
    .await;
    let r = post(
        &url,
        "/v1/chat/completions",
        &json!({"model": "dragon", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(mock.calls(), 3);
    h.shutdown().await;

    let broken = MockUpstream::start().await.unwrap();
    for _ in 0..2 {
        broken.push(MockReply::status(
            502,
            json!({"error": {"message": "down"}}),
        ));
    }
    let good = MockUpstream::start().await.unwrap();
    let cfg = config(
        &[
            ("a", "openai", &broken.base_url()),
            ("b", "anthropic", &good.base_url()),
        ],
        "max_retries = 1",
        &["b"],
    );
    let (h, url) = start(&cfg).await;
    let r = post(
        &url,
        "/v1/chat/completions",
        &json!({"model": "dragon", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from the mock upstream."
    );
    assert_eq!((broken.calls(), good.calls()), (2, 1));
    h.shutdown().await;
}

#[tokio::test]
async fn upstream_4xx_and_429_come_back_in_the_ingress_shape() {
    let mock = MockUpstream::start().await.unwrap();
    mock.push(MockReply::status(400, json!({"error": {"message": "messages: too long", "type": "invalid_request_error", "param": "messages"}})));
    mock.push(MockReply::Json {
        status: 429,
        body: json!({"error": {"message": "slow down"}}),
        headers: vec![("retry-after".into(), "30".into())],
    });
    let (h, url) = start(&config(
        &[("up", "openai", &mock.base_url())],
        "max_retries = 0",
        &[],
    ))
    .await;
    let req = json!({"model": "dragon", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    let r = post(&url, "/v1/messages", &req).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("messages: too long"));

    let r = post(&url, "/v1/messages", &req).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "30");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert_eq!(mock.calls(), 2, "no retry with max_retries = 0");
    h.shutdown().await;
}

#[tokio::test]
async fn failure_mid_stream_is_an_error_event_and_no_retry() {
    let mock = MockUpstream::start().await.unwrap();
    let c = |delta: Value| json!({"id": "c", "choices": [{"index": 0, "delta": delta, "finish_reason": null}]});
    let MockReply::Sse { frames, .. } = MockReply::openai_chunks(&[
        c(json!({"content": "partial "})),
        c(json!({"content": "answer"})),
    ]) else {
        unreachable!()
    };
    mock.push(MockReply::Sse {
        frames,
        fail_after: Some(1),
        delay: Duration::ZERO,
    });
    let (h, url) = start(&config(&[("up", "openai", &mock.base_url())], "", &[])).await;
    let req = json!({"model": "dragon", "max_tokens": 10, "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let text = post(&url, "/v1/messages", &req).await.text().await.unwrap();
    let events = sse(&text);
    assert!(events.iter().any(|(_, d)| d.contains("partial ")), "{text}");
    let (name, data) = events.last().unwrap();
    assert_eq!(name.as_deref(), Some("error"));
    assert_eq!(
        serde_json::from_str::<Value>(data).unwrap()["type"],
        "error"
    );
    assert_eq!(mock.calls(), 1);

    let mock2 = MockUpstream::start().await.unwrap();
    mock2.push(MockReply::Hang);
    let (h2, url2) = start(&config(
        &[("up", "openai", &mock2.base_url())],
        "max_retries = 0\nfirst_byte_timeout_secs = 0.3",
        &[],
    ))
    .await;
    let r = post(
        &url2,
        "/v1/chat/completions",
        &json!({"model": "dragon", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(r.status(), 504);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "server_error");
    h.shutdown().await;
    h2.shutdown().await;
}

#[tokio::test]
async fn fields_an_anthropic_upstream_cannot_express_are_refused() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, url) = start(&config(&[("up", "anthropic", &mock.base_url())], "", &[])).await;
    let r = post(
        &url,
        "/v1/chat/completions",
        &json!({"model": "dragon", "n": 2, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["param"], "n");
    assert_eq!(mock.calls(), 0);
    h.shutdown().await;
}

#[tokio::test]
async fn anthropic_beta_is_forwarded_unless_an_allow_list_restricts_it() {
    let anthropic = MockUpstream::start().await.unwrap();
    let openai = MockUpstream::start().await.unwrap();
    let cfg = config(
        &[("a", "anthropic", &anthropic.base_url()), ("o", "openai", &openai.base_url())],
        "anthropic_beta_allow = [\"context-1m-2025-08-07\"]",
        &[],
    ) + "[[profiles]]\nid = \"dragon-pro\"\nupstream = \"o\"\ncontext_window = 1000\ntokens_per_second = 1\ninput_price_per_mtok = 1\noutput_price_per_mtok = 1\n";
    let (h, url) = start(&cfg).await;
    for model in ["dragon", "dragon-pro"] {
        let r = reqwest::Client::new()
            .post(format!("{url}/v1/messages"))
            .bearer_auth(&url.key)
            .header("anthropic-beta", "context-1m-2025-08-07, interleaved-thinking-2025-05-14")
            .json(&json!({"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    assert_eq!(
        anthropic.received()[0].headers["anthropic-beta"],
        "context-1m-2025-08-07"
    );
    assert!(!openai.received()[0].headers.contains_key("anthropic-beta"));
    h.shutdown().await;

    // Without an allow list, Claude Code's betas go up with the body they belong to.
    let anthropic = MockUpstream::start().await.unwrap();
    let (h, url) = start(&config(
        &[("a", "anthropic", &anthropic.base_url())],
        "",
        &[],
    ))
    .await;
    let r = reqwest::Client::new()
        .post(format!("{url}/v1/messages"))
        .bearer_auth(&url.key)
        .header("anthropic-beta", "interleaved-thinking-2025-05-14,context-1m-2025-08-07")
        .json(&json!({"model": "dragon", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        anthropic.received()[0].headers["anthropic-beta"],
        "interleaved-thinking-2025-05-14,context-1m-2025-08-07"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn tool_ids_are_mapped_for_strict_upstreams_and_fresh_ids_pass() {
    let mock = MockUpstream::start().await.unwrap();
    mock.push(MockReply::json(json!({"id": "c1", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": null,
        "tool_calls": [{"id": "AbC123xYz", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}]}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 5}})));
    let cfg = config(
        &[("up", "openai", &mock.base_url())],
        "tool_id_style = \"alphanumeric9\"",
        &[],
    );
    let (h, url) = start(&cfg).await;
    let r = post(&url, "/v1/messages", &tool_conversation()).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["content"][0]["id"], "AbC123xYz");
    let sent = &mock.received()[0].body["messages"];
    let call_id = sent[2]["tool_calls"][0]["id"].as_str().unwrap();
    assert_eq!(call_id.len(), 9);
    assert!(call_id.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        sent[3]["tool_call_id"], call_id,
        "the result keeps pointing at its call"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_client_that_goes_away_mid_stream_cancels_the_upstream_request() {
    use futures::StreamExt;
    let mock = MockUpstream::start().await.unwrap();
    let c = |text: &str| json!({"id": "c", "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]});
    let chunks: Vec<Value> = (0..40).map(|i| c(&format!("part {i} "))).collect();
    let MockReply::Sse { frames, .. } = MockReply::openai_chunks(&chunks) else {
        unreachable!()
    };
    mock.push(MockReply::Sse {
        frames,
        fail_after: None,
        delay: Duration::from_millis(50),
    });
    let (h, url) = start(&config(&[("up", "openai", &mock.base_url())], "", &[])).await;
    let req = json!({"model": "dragon", "max_tokens": 500, "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let r = post(&url, "/v1/messages", &req).await;
    let mut body = r.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    drop(body);
    // The gateway drops its upstream response; the mock sees its reader gone at its next frame.
    for _ in 0..40 {
        if mock.abandoned_streams() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        mock.abandoned_streams(),
        1,
        "the upstream stream was not cancelled"
    );
    h.shutdown().await;
}

/// Reasoning controls across shapes (`canonical::reasoning`): a thinking
/// budget reaches a Chat Completions upstream as its effort level, an effort
/// level an Anthropic upstream as a thinking budget within `max_tokens`.
#[tokio::test]
async fn reasoning_controls_cross_shapes() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, url) = start(&config(&[("up", "openai", &mock.base_url())], "", &[])).await;
    let body = json!({"model": "dragon", "max_tokens": 20000,
        "thinking": {"type": "enabled", "budget_tokens": 10000},
        "messages": [{"role": "user", "content": "think"}]});
    assert_eq!(post(&url, "/v1/messages", &body).await.status(), 200);
    let got = &mock.received()[0].body;
    assert_eq!(got["reasoning_effort"], "medium");
    assert!(got.get("thinking").is_none());
    let disabled = json!({"model": "dragon", "max_tokens": 100, "thinking": {"type": "disabled"},
        "output_config": {"effort": "high"}, "messages": [{"role": "user", "content": "x"}]});
    assert_eq!(post(&url, "/v1/messages", &disabled).await.status(), 200);
    assert!(mock.received()[1].body.get("reasoning_effort").is_none());
    h.shutdown().await;

    let mock = MockUpstream::start().await.unwrap();
    let (h, url) = start(&config(&[("up", "anthropic", &mock.base_url())], "", &[])).await;
    for (effort, max_tokens, thinking) in [
        (
            "low",
            4000,
            json!({"type": "enabled", "budget_tokens": 2048}),
        ),
        (
            "high",
            4000,
            json!({"type": "enabled", "budget_tokens": 3999}),
        ),
        ("minimal", 4000, Value::Null),
    ] {
        let body = json!({"model": "dragon", "max_tokens": max_tokens, "reasoning_effort": effort,
            "messages": [{"role": "user", "content": "think"}]});
        assert_eq!(
            post(&url, "/v1/chat/completions", &body).await.status(),
            200
        );
        let got = mock.received().pop().unwrap().body;
        assert_eq!(
            got.get("thinking").cloned().unwrap_or(Value::Null),
            thinking,
            "{effort}"
        );
    }
    h.shutdown().await;
}

/// Token-id inputs (LangChain's default) reach an OpenAI upstream as token
/// arrays, with `dimensions` and `user`; the echo embeds their decimal text.
#[tokio::test]
async fn embeddings_of_token_ids_go_up_as_token_ids() {
    let mock = MockUpstream::start().await.unwrap();
    mock.push(MockReply::json(
        json!({"object": "list", "model": "up", "data": [
        {"object": "embedding", "index": 0, "embedding": [1.0, 0.0]},
        {"object": "embedding", "index": 1, "embedding": [0.0, 1.0]}],
        "usage": {"prompt_tokens": 3, "total_tokens": 3}}),
    ));
    let (h, url) = start(&config(&[("up", "openai", &mock.base_url())], "", &[])).await;
    let body = json!({"model": "dragon", "input": [[15339, 1917], [9906]], "dimensions": 2, "user": "u-9"});
    let r = post(&url, "/v1/embeddings", &body).await;
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["data"][1]["embedding"], json!([0.0, 1.0]));
    assert_eq!(answer["usage"]["prompt_tokens"], 3);
    let got = &mock.received()[0].body;
    assert_eq!(
        got,
        &json!({"model": "up-model", "input": [[15339, 1917], [9906]], "encoding_format": "float",
            "dimensions": 2, "user": "u-9"})
    );
    let bad = json!({"model": "dragon", "input": [[1, 2.5]]});
    let r = post(&url, "/v1/embeddings", &bad).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["param"], "input.0.1");
    assert_eq!(mock.calls(), 1);
    h.shutdown().await;
}

/// Rerank at an upstream serving the Cohere/Jina shape: the upstream's scores
/// and usage, sorted and cut to `top_n`; `/v2/rerank` answers in Cohere's v2
/// shape with `max_tokens_per_doc` passed on.
#[tokio::test]
async fn rerank_at_the_upstream_on_v1_and_v2() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, url) = start(&config(&[("up", "openai", &mock.base_url())], "", &[])).await;
    mock.push(MockReply::json(json!({"id": "r1", "results": [
        {"index": 0, "relevance_score": 0.2}, {"index": 2, "relevance_score": 0.9}, {"index": 1, "relevance_score": 0.4}],
        "usage": {"total_tokens": 31}})));
    let body = json!({"model": "dragon", "query": "capital of France", "top_n": 2, "return_documents": true,
        "documents": ["Berlin is German", {"text": "Lyon is French"}, "Paris is the capital"]});
    let r = post(&url, "/v1/rerank", &body).await;
    assert_eq!(r.status(), 200);
    let got: Value = r.json().await.unwrap();
    assert_eq!(
        got["results"],
        json!([{"index": 2, "relevance_score": 0.9, "document": {"text": "Paris is the capital"}},
            {"index": 1, "relevance_score": 0.4, "document": {"text": "Lyon is French"}}])
    );
    assert_eq!(got["usage"]["total_tokens"], 31);
    let sent = &mock.received()[0];
    assert_eq!(sent.path, "/v1/rerank");
    assert_eq!(
        sent.body,
        json!({"model": "up-model", "query": "capital of France", "top_n": 2,
            "documents": ["Berlin is German", "Lyon is French", "Paris is the capital"]})
    );

    mock.push(MockReply::json(
        json!({"id": "r2", "results": [{"index": 0, "relevance_score": 0.8}],
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}}),
    ));
    let v2 = json!({"model": "dragon", "query": "q", "documents": ["a", "b"], "max_tokens_per_doc": 512});
    let r = post(&url, "/v2/rerank", &v2).await;
    assert_eq!(r.status(), 200);
    let got: Value = r.json().await.unwrap();
    assert_eq!(
        got["results"],
        json!([{"index": 0, "relevance_score": 0.8}])
    );
    assert_eq!(got["meta"]["billed_units"]["search_units"], 1);
    assert!(got.get("usage").is_none());
    assert_eq!(mock.received()[1].body["max_tokens_per_doc"], 512);
    let bad = json!({"model": "dragon", "query": "q", "documents": ["a"], "max_tokens_per_doc": 0});
    let r = post(&url, "/v2/rerank", &bad).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["param"], "max_tokens_per_doc");
    h.shutdown().await;
}
