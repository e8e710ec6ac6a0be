//! The `openai-responses` upstream kind against the scripted mock: a Responses
//! request relayed as sent (built-in tools, unknown fields, the gateway's own
//! stored-response ids), and Messages and Chat Completions requests translated
//! to it and back, streamed and whole, with reasoning items carried through a
//! tool round trip and cached tokens in the usage.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use mws_core::testing::{MockReply, MockUpstream};
use mws_core::{Gateway, ServeHandle};
use serde_json::{json, Value};

const LIMITS: &str =
    "[limits]\nunauthenticated_rpm_per_ip = 100000\nunauthenticated_tpm_per_ip = 1000000000\n\
    [[limits.tiers]]\nmin_lifetime_spend_usd = 0\nrpm = 100000\ntpm = 1000000000\n";

const FIXTURE: &str = include_str!("fixtures/anthropic/claude-code-2.1.328-messages-request.json");

/// A gateway whose `dragon` goes to an `openai-responses` upstream at `url`,
/// and `dragon-echo` to the echo; its base URL and a funded key.
async fn start(url: &str) -> (ServeHandle, String, String) {
    let cfg = format!(
        "[store]\nkind = \"memory\"\n{LIMITS}\
        [[upstreams]]\nname = \"resp\"\nkind = \"openai-responses\"\nbase_url = \"{url}\"\n\
        [[upstreams]]\nname = \"local\"\nkind = \"echo\"\n\
        [[profiles]]\nid = \"dragon\"\nupstream = \"resp\"\nupstream_model = \"up-model\"\ncontext_window = 262144\ntokens_per_second = 189\ninput_price_per_mtok = 0.48\noutput_price_per_mtok = 1.08\n\
        [[profiles]]\nid = \"dragon-echo\"\nupstream = \"local\"\ncontext_window = 262144\ntokens_per_second = 189\ninput_price_per_mtok = 0.48\noutput_price_per_mtok = 1.08\n"
    );
    let gw = Gateway::from_toml_str(&cfg).unwrap();
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
    let base = format!("http://{}", h.addr());
    (h, base, key)
}

async fn post(base: &str, key: &str, path: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .header("x-claude-code-session-id", "sess-42")
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn get(base: &str, key: &str, path: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

/// (event name, data) of each SSE frame.
fn sse(text: &str) -> Vec<(Option<String>, Value)> {
    text.split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .filter_map(|f| {
            let mut event = None;
            let mut data = None;
            for line in f.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = Some(e.to_string());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(d).ok();
                }
            }
            data.map(|d| (event, d))
        })
        .collect()
}

/// Responses events as the upstream streams them, numbered.
fn events(events: &[Value]) -> MockReply {
    let frames = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut e = e.clone();
            e["sequence_number"] = json!(i);
            format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap())
        })
        .collect();
    MockReply::Sse {
        frames,
        fail_after: None,
        delay: std::time::Duration::ZERO,
    }
}

fn usage(input: u64, cached: u64, output: u64) -> Value {
    json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 3},
        "total_tokens": input + output})
}

fn response(id: &str, status: &str, output: Value, usage: Value) -> Value {
    json!({"id": id, "object": "response", "created_at": 1, "status": status, "model": "up-model-2025",
        "output": output, "usage": usage, "error": null, "incomplete_details": null,
        "previous_response_id": null, "parallel_tool_calls": true, "tools": [], "store": true,
        "metadata": {}, "text": {"format": {"type": "text"}}})
}

fn reasoning_item() -> Value {
    json!({"id": "rs_up1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Need the weather."}],
        "encrypted_content": "ZW5jLXJlYXNvbmluZw=="})
}

fn weather_call() -> Value {
    json!({"id": "fc_up1", "type": "function_call", "status": "completed", "call_id": "call_w1",
        "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"})
}

fn message(text: &str) -> Value {
    json!({"id": "msg_up1", "type": "message", "role": "assistant", "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

#[tokio::test]
async fn a_responses_request_is_relayed_as_sent_and_kept_under_the_gateways_id() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, base, key) = start(&mock.base_url()).await;
    let search = json!({"id": "ws_1", "type": "web_search_call", "status": "completed",
        "action": {"type": "search", "query": "dragons"}});
    mock.push(MockReply::json(response(
        "resp_upstream_1",
        "completed",
        json!([search, message("Dragons are myths.")]),
        usage(50, 20, 9),
    )));
    // Every field as the client wrote it, numbers digit for digit, a built-in
    // tool and a field the gateway does not know.
    let text = r#"{"model":"dragon","input":"Tell me about dragons.","tools":[{"type":"web_search"}],"temperature":0.43145253165777253,"include":["web_search_call.action.sources"],"x-vendor":{"a":[1,2]},"store":true}"#;
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/responses"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let first: Value = r.json().await.unwrap();
    let got = &mock.received()[0];
    assert_eq!(got.path, "/v1/responses");
    assert_eq!(
        serde_json::to_string(&got.body).unwrap(),
        text.replace("\"dragon\"", "\"up-model\"")
    );
    let id = first["id"].as_str().unwrap();
    assert!(id.starts_with("resp_") && id != "resp_upstream_1", "{id}");
    assert_eq!(first["model"], "dragon");
    assert_eq!(first["output"][0], search);
    assert_eq!(
        first["output"][1]["content"][0]["text"],
        "Dragons are myths."
    );
    assert_eq!(first["usage"]["input_tokens_details"]["cached_tokens"], 20);
    assert_eq!(
        get(&base, &key, &format!("/v1/responses/{id}")).await,
        first
    );

    // The gateway's id continues the conversation: the upstream gets it whole.
    mock.push(MockReply::json(response(
        "resp_upstream_2",
        "completed",
        json!([message("Yes.")]),
        usage(80, 40, 2),
    )));
    let next = json!({"model": "dragon", "previous_response_id": id, "tools": [{"type": "web_search"}],
        "input": [{"type": "message", "role": "user", "content": "Really?"}]});
    let r = post(&base, &key, "/v1/responses", &next).await;
    assert_eq!(r.status(), 200);
    let second: Value = r.json().await.unwrap();
    assert_eq!(second["previous_response_id"], id);
    let sent = &mock.received()[1].body;
    assert!(sent.get("previous_response_id").is_none(), "{sent}");
    let input = sent["input"].as_array().unwrap();
    assert_eq!(input.len(), 4, "{sent}");
    assert_eq!(input[0]["content"], "Tell me about dragons.");
    assert_eq!(input[1], search);
    assert_eq!(input[2]["id"], "msg_up1");
    assert_eq!(input[3]["content"], "Really?");
    h.shutdown().await;
}

#[tokio::test]
async fn a_streamed_responses_request_relays_every_event() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, base, key) = start(&mock.base_url()).await;
    let created = response("resp_up", "in_progress", json!([]), Value::Null);
    let done = response(
        "resp_up",
        "completed",
        json!([message("Hi there")]),
        usage(30, 10, 2),
    );
    let upstream = [
        json!({"type": "response.created", "response": created}),
        json!({"type": "response.in_progress", "response": created}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": {"id": "msg_up1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}}),
        json!({"type": "response.content_part.added", "item_id": "msg_up1", "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
        json!({"type": "response.output_text.delta", "item_id": "msg_up1", "output_index": 0, "content_index": 0, "delta": "Hi ", "logprobs": []}),
        json!({"type": "response.output_text.delta", "item_id": "msg_up1", "output_index": 0, "content_index": 0, "delta": "there", "logprobs": []}),
        json!({"type": "response.web_search_call.searching", "item_id": "ws_9", "output_index": 1}),
        json!({"type": "response.output_text.done", "item_id": "msg_up1", "output_index": 0, "content_index": 0, "text": "Hi there", "logprobs": []}),
        json!({"type": "response.content_part.done", "item_id": "msg_up1", "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": "Hi there", "annotations": []}}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": message("Hi there")}),
        json!({"type": "response.completed", "response": done}),
    ];
    mock.push(events(&upstream));
    let body = json!({"model": "dragon", "input": "hi", "stream": true});
    let r = post(&base, &key, "/v1/responses", &body).await;
    assert_eq!(r.status(), 200);
    let got = sse(&r.text().await.unwrap());
    assert_eq!(got.len(), upstream.len());
    let id = got[0].1["response"]["id"].as_str().unwrap().to_owned();
    assert_ne!(id, "resp_up");
    for ((name, data), sent) in got.iter().zip(&upstream) {
        assert_eq!(name.as_deref(), sent["type"].as_str());
        match data.get("response") {
            Some(resp) => {
                assert_eq!(resp["id"], id.as_str());
                assert_eq!(resp["model"], "dragon");
                assert_eq!(resp["output"], sent["response"]["output"]);
            }
            None => assert_eq!(data["delta"], sent["delta"]),
        }
    }
    let kept = get(&base, &key, &format!("/v1/responses/{id}")).await;
    assert_eq!(kept["status"], "completed");
    assert_eq!(kept["output"][0]["content"][0]["text"], "Hi there");
    assert_eq!(kept["usage"]["input_tokens"], 30);
    h.shutdown().await;
}

#[tokio::test]
async fn built_in_tools_reach_only_a_responses_upstream() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, base, key) = start(&mock.base_url()).await;
    let body = json!({"model": "dragon-echo", "input": "hi", "tools": [{"type": "web_search"}]});
    let r = post(&base, &key, "/v1/responses", &body).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["param"], "tools.0.type");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("openai-responses"),
        "{e}"
    );
    assert_eq!(mock.calls(), 0);
    h.shutdown().await;
}

#[tokio::test]
async fn claude_code_through_a_responses_upstream_with_a_reasoning_tool_round_trip() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, base, key) = start(&mock.base_url()).await;
    let created = response("resp_up", "in_progress", json!([]), Value::Null);
    let done = response(
        "resp_up",
        "completed",
        json!([reasoning_item(), weather_call()]),
        usage(1200, 1000, 40),
    );
    mock.push(events(&[
        json!({"type": "response.created", "response": created}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": {"id": "rs_up1", "type": "reasoning", "summary": []}}),
        json!({"type": "response.reasoning_summary_part.added", "item_id": "rs_up1", "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
        json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_up1", "output_index": 0, "summary_index": 0, "delta": "Need the "}),
        json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_up1", "output_index": 0, "summary_index": 0, "delta": "weather."}),
        json!({"type": "response.reasoning_summary_text.done", "item_id": "rs_up1", "output_index": 0, "summary_index": 0, "text": "Need the weather."}),
        json!({"type": "response.reasoning_summary_part.done", "item_id": "rs_up1", "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": "Need the weather."}}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": reasoning_item()}),
        json!({"type": "response.output_item.added", "output_index": 1, "item": {"id": "fc_up1", "type": "function_call", "status": "in_progress", "call_id": "call_w1", "name": "get_weather", "arguments": ""}}),
        json!({"type": "response.function_call_arguments.delta", "item_id": "fc_up1", "output_index": 1, "delta": "{\"city\":"}),
        json!({"type": "response.function_call_arguments.delta", "item_id": "fc_up1", "output_index": 1, "delta": "\"Paris\"}"}),
        json!({"type": "response.function_call_arguments.done", "item_id": "fc_up1", "output_index": 1, "arguments": "{\"city\":\"Paris\"}"}),
        json!({"type": "response.output_item.done", "output_index": 1, "item": weather_call()}),
        json!({"type": "response.completed", "response": done}),
    ]));
    let mut fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let r = post(&base, &key, "/v1/messages", &fixture).await;
    assert_eq!(r.status(), 200);
    let got = sse(&r.text().await.unwrap());
    let sent = mock.received()[0].body.clone();
    assert_eq!(sent["model"], "up-model");
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["store"], false);
    assert_eq!(sent["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(sent["reasoning"]["effort"], "high");
    assert_eq!(sent["max_output_tokens"], 32000);
    assert!(sent["instructions"].as_str().unwrap().len() > 100);
    let tools = sent["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 12);
    assert!(tools
        .iter()
        .all(|t| t["type"] == "function" && t["strict"] == false));
    let key_sent = sent["prompt_cache_key"].as_str().unwrap();
    assert!(key_sent.starts_with("mws-"), "{key_sent}");

    // Anthropic events: thinking with the reasoning item in its signature,
    // then the tool call, stop_reason tool_use, cached tokens apart.
    let names: Vec<&str> = got.iter().filter_map(|(n, _)| n.as_deref()).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names.last(), Some(&"message_stop"));
    let thinking: String = got
        .iter()
        .filter(|(_, d)| d["delta"]["type"] == "thinking_delta")
        .map(|(_, d)| d["delta"]["thinking"].as_str().unwrap())
        .collect();
    assert_eq!(thinking, "Need the weather.");
    let signature: String = got
        .iter()
        .filter(|(_, d)| d["delta"]["type"] == "signature_delta")
        .map(|(_, d)| d["delta"]["signature"].as_str().unwrap())
        .collect();
    assert!(!signature.is_empty());
    let tool_start = got
        .iter()
        .find(|(_, d)| d["content_block"]["type"] == "tool_use")
        .unwrap();
    assert_eq!(tool_start.1["content_block"]["id"], "call_w1");
    assert_eq!(tool_start.1["content_block"]["name"], "get_weather");
    let args: String = got
        .iter()
        .filter(|(_, d)| d["delta"]["type"] == "input_json_delta")
        .map(|(_, d)| d["delta"]["partial_json"].as_str().unwrap())
        .collect();
    assert_eq!(args, "{\"city\":\"Paris\"}");
    let delta = got
        .iter()
        .find(|(n, _)| n.as_deref() == Some("message_delta"))
        .unwrap();
    assert_eq!(delta.1["delta"]["stop_reason"], "tool_use");
    assert_eq!(delta.1["usage"]["input_tokens"], 200);
    assert_eq!(delta.1["usage"]["cache_read_input_tokens"], 1000);
    assert_eq!(delta.1["usage"]["output_tokens"], 40);

    // Claude Code sends the turn back with the tool's result: the upstream
    // gets the same reasoning item, the call and its output.
    let messages = fixture["messages"].as_array_mut().unwrap();
    messages.push(json!({"role": "assistant", "content": [
        {"type": "thinking", "thinking": "Need the weather.", "signature": signature},
        {"type": "tool_use", "id": "call_w1", "name": "get_weather", "input": {"city": "Paris"}}]}));
    messages.push(json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "call_w1", "content": "Sunny, 21°C"}]}));
    fixture["stream"] = json!(false);
    mock.push(MockReply::json(response(
        "resp_up2",
        "completed",
        json!([message("It is sunny in Paris.")]),
        usage(1300, 1200, 8),
    )));
    let r = post(&base, &key, "/v1/messages", &fixture).await;
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["content"][0]["text"], "It is sunny in Paris.");
    assert_eq!(answer["stop_reason"], "end_turn");
    assert_eq!(answer["usage"]["input_tokens"], 100);
    assert_eq!(answer["usage"]["cache_read_input_tokens"], 1200);
    let sent = &mock.received()[1].body;
    assert_eq!(
        sent["prompt_cache_key"], key_sent,
        "one conversation, one cache key"
    );
    let input = sent["input"].as_array().unwrap();
    let n = input.len();
    assert_eq!(
        input[n - 3],
        json!({"type": "reasoning", "id": "rs_up1", "summary": [{"type": "summary_text", "text": "Need the weather."}],
            "encrypted_content": "ZW5jLXJlYXNvbmluZw=="})
    );
    assert_eq!(input[n - 2]["type"], "function_call");
    assert_eq!(input[n - 2]["call_id"], "call_w1");
    assert_eq!(input[n - 2]["arguments"], "{\"city\":\"Paris\"}");
    assert_eq!(input[n - 1]["type"], "function_call_output");
    assert_eq!(input[n - 1]["call_id"], "call_w1");
    assert_eq!(input[n - 1]["output"], "Sunny, 21°C");
    h.shutdown().await;
}

#[tokio::test]
async fn chat_completions_through_a_responses_upstream() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, base, key) = start(&mock.base_url()).await;
    let created = response("resp_up", "in_progress", json!([]), Value::Null);
    let mut cut = response(
        "resp_up",
        "incomplete",
        json!([message("Once upon")]),
        usage(20, 8, 5),
    );
    cut["incomplete_details"] = json!({"reason": "max_output_tokens"});
    mock.push(events(&[
        json!({"type": "response.created", "response": created}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": {"id": "msg_up1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}}),
        json!({"type": "response.content_part.added", "item_id": "msg_up1", "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
        json!({"type": "response.output_text.delta", "item_id": "msg_up1", "output_index": 0, "content_index": 0, "delta": "Once ", "logprobs": []}),
        json!({"type": "response.output_text.delta", "item_id": "msg_up1", "output_index": 0, "content_index": 0, "delta": "upon", "logprobs": []}),
        json!({"type": "response.incomplete", "response": cut}),
    ]));
    let body = json!({"model": "dragon", "stream": true, "stream_options": {"include_usage": true},
        "max_tokens": 50, "prompt_cache_key": "mine", "reasoning_effort": "low",
        "response_format": {"type": "json_schema", "json_schema": {"name": "story", "schema": {"type": "object"}, "strict": true}},
        "messages": [{"role": "system", "content": "Tell stories."}, {"role": "user", "content": "A story"}]});
    let r = post(&base, &key, "/v1/chat/completions", &body).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    let chunks: Vec<Value> = sse(&text).into_iter().map(|(_, d)| d).collect();
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, "Once upon");
    let finish: Vec<&Value> = chunks
        .iter()
        .map(|c| &c["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [&json!("length")]);
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(usage["prompt_tokens"], 20);
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 8);
    assert_eq!(usage["completion_tokens"], 5);

    let sent = &mock.received()[0].body;
    assert_eq!(sent["instructions"], "Tell stories.");
    assert_eq!(
        sent["input"],
        json!([{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "A story"}]}])
    );
    assert_eq!(sent["max_output_tokens"], 50);
    assert_eq!(sent["prompt_cache_key"], "mine");
    assert_eq!(sent["reasoning"]["effort"], "low");
    assert_eq!(
        sent["text"]["format"],
        json!({"type": "json_schema", "name": "story", "schema": {"type": "object"}, "strict": true})
    );
    h.shutdown().await;
}

#[tokio::test]
async fn an_upstream_failure_is_the_clients_error_in_its_shape() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, base, key) = start(&mock.base_url()).await;
    mock.push(MockReply::status(
        400,
        json!({"error": {"message": "Unsupported parameter: 'temperature'", "type": "invalid_request_error", "param": "temperature", "code": null}}),
    ));
    let body = json!({"model": "dragon", "max_tokens": 10, "temperature": 0.5,
        "messages": [{"role": "user", "content": "hi"}]});
    let r = post(&base, &key, "/v1/messages", &body).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["type"], "error");
    assert_eq!(e["error"]["type"], "invalid_request_error");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("temperature"));
    // Stop sequences change the answer and the Responses API has none.
    let body = json!({"model": "dragon", "max_tokens": 10, "stop_sequences": ["END"],
        "messages": [{"role": "user", "content": "hi"}]});
    let r = post(&base, &key, "/v1/messages", &body).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("stop_sequences"));
    h.shutdown().await;
}
