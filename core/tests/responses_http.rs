//! The Responses API over HTTP and its WebSocket transport: the stream's events
//! one by one, stored responses per account (continued, read, paged, deleted,
//! 404 for another account), the ledger and the limit headers, and on the
//! WebSocket: turns in sequence, connection-local `store: false` responses,
//! `previous_response_not_found`, and a failed continuation evicting what it
//! continued.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn text_of(response: &Value) -> String {
    response["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().unwrap().clone())
        .map(|p| p["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_streamed_response_event_by_event() {
    let s = Server::builtin().await;
    let (headers, text) = s
        .post_stream(
            "/v1/responses",
            &json!({"model": "dragon", "input": "Hello there", "stream": true}),
        )
        .await;
    assert_eq!(
        header(&headers, "content-type"),
        "text/event-stream; charset=utf-8"
    );
    check_ratelimit_headers(&headers, 100_000, 1_000_000_000);
    let events = parse_sse(&text);
    let last = events.last().unwrap();
    assert_eq!(last.data, "[DONE]");
    let events: Vec<(String, Value)> = events[..events.len() - 1]
        .iter()
        .map(|e| {
            (
                e.event.clone().unwrap(),
                serde_json::from_str(&e.data).unwrap(),
            )
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (i, (name, data)) in events.iter().enumerate() {
        assert_eq!(data["type"], name.as_str());
        assert_eq!(data["sequence_number"], i);
    }
    let deltas: String = events
        .iter()
        .filter(|(n, _)| n == "response.output_text.delta")
        .map(|(_, d)| d["delta"].as_str().unwrap().to_string())
        .collect();
    let done = &events.last().unwrap().1["response"];
    assert_eq!(deltas, "Hello there");
    assert_eq!(text_of(done), "Hello there");
    assert_eq!(done["status"], "completed");
    // Stored, so it can be read back as it ended.
    let id = done["id"].as_str().unwrap();
    let read = s.get(&format!("/v1/responses/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["output"], done["output"]);
}

#[tokio::test]
async fn stored_responses_belong_to_their_account() {
    let s = Server::builtin().await;
    let first = s
        .post(
            "/v1/responses",
            &json!({"model": "dragon", "input": "Remember me."}),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let id = first.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("resp_"));
    let second = s
        .post(
            "/v1/responses",
            &json!({"model": "dragon", "input": "Again.", "previous_response_id": id}),
        )
        .await;
    assert_eq!(text_of(&second.body), "Again.");
    let second_id = second.body["id"].as_str().unwrap();
    let page = s
        .get(&format!(
            "/v1/responses/{second_id}/input_items?order=asc&limit=2"
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let roles: Vec<&str> = page.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant"]);
    assert_eq!(page.body["has_more"], true);

    // Another account: every call about the first one's response is a 404, or
    // for a continuation the 400 OpenAI gives.
    let (_, other) = funded_key(&s.gateway, 100).await;
    let as_other = |req: reqwest::RequestBuilder| req.bearer_auth(&other).send();
    for path in [
        format!("/v1/responses/{id}"),
        format!("/v1/responses/{id}/input_items"),
    ] {
        let r = reply(as_other(s.client.get(s.url(&path))).await.unwrap()).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        assert_eq!(r.body["error"]["type"], "invalid_request_error");
    }
    let r = reply(
        as_other(s.client.delete(s.url(&format!("/v1/responses/{id}"))))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 404);
    let body = json!({"model": "dragon", "input": "x", "previous_response_id": id});
    let r = reply(
        as_other(s.client.post(s.url("/v1/responses")).json(&body))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "previous_response_not_found");
    assert_eq!(r.body["error"]["param"], "previous_response_id");

    // The owner deletes it; then it is gone for everyone.
    let r = reply(
        s.client
            .delete(s.url(&format!("/v1/responses/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        r.body,
        json!({"id": id, "object": "response.deleted", "deleted": true})
    );
    assert_eq!(s.get(&format!("/v1/responses/{id}")).await.status, 404);

    // Both responses are in the ledger, charged as the other endpoints are.
    let usage = s.gateway.admin().usage(&s.account_id).await.unwrap();
    let rows = usage["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{usage}");
    assert!(rows
        .iter()
        .all(|r| r["status"] == 200 && r["profile"] == "dragon"));
}

#[tokio::test]
async fn store_false_keeps_nothing_and_input_tokens_and_compact_answer() {
    let s = Server::builtin().await;
    let r = s
        .post(
            "/v1/responses",
            &json!({"model": "dragon", "input": "x", "store": false}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(s.get(&format!("/v1/responses/{id}")).await.status, 404);
    let count = s
        .post(
            "/v1/responses/input_tokens",
            &json!({"model": "dragon", "input": "Hello there, dragon."}),
        )
        .await;
    assert_eq!(count.body["object"], "response.input_tokens");
    assert_eq!(count.body["input_tokens"], 5);
    let compact = s
        .post("/v1/responses/compact", &json!({"input": "no model"}))
        .await;
    assert_eq!(compact.status, 400);
    assert_eq!(compact.body["error"]["param"], "model");
    let compact = s
        .post(
            "/v1/responses/compact",
            &json!({"model": "dragon", "input": "Remember four."}),
        )
        .await;
    assert_eq!(compact.body["object"], "response.compaction");
    assert_eq!(compact.body["output"][0]["type"], "compaction");
    let mut input = compact.body["output"].as_array().unwrap().clone();
    input.push(json!({"role": "user", "content": "Go on."}));
    let go_on = s
        .post(
            "/v1/responses",
            &json!({"model": "dragon", "input": input, "store": false}),
        )
        .await;
    assert_eq!(text_of(&go_on.body), "Go on.", "{}", go_on.body);
}

#[tokio::test]
async fn built_in_tools_and_background_are_refused_naming_the_field() {
    let s = Server::builtin().await;
    for (body, param) in [
        (
            json!({"model": "dragon", "input": "x", "tools": [{"type": "web_search"}]}),
            "tools.0.type",
        ),
        (
            json!({"model": "dragon", "input": "x", "background": true}),
            "background",
        ),
        (json!({"input": "x"}), "model"),
    ] {
        let r = s.post("/v1/responses", &body).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.body["error"]["param"], param, "{}", r.body);
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(s: &Server, key: &str) -> Socket {
    let mut req = format!("ws://{}/v1/responses", s.addr())
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// One `response.create` turn: its events up to the terminal one or an error.
async fn turn(ws: &mut Socket, body: Value) -> Vec<Value> {
    let mut body = body;
    body["type"] = json!("response.create");
    ws.send(Message::text(body.to_string())).await.unwrap();
    let mut events = Vec::new();
    while let Some(message) = ws.next().await {
        let Message::Text(text) = message.unwrap() else {
            continue;
        };
        let event: Value = serde_json::from_str(&text).unwrap();
        let kind = event["type"].as_str().unwrap().to_string();
        events.push(event);
        if matches!(
            kind.as_str(),
            "response.completed" | "response.failed" | "response.incomplete" | "error"
        ) {
            return events;
        }
    }
    panic!("the socket closed mid-turn: {events:?}");
}

fn error_code(events: &[Value]) -> &str {
    let last = events.last().unwrap();
    last["error"]["code"]
        .as_str()
        .or_else(|| last["response"]["error"]["code"].as_str())
        .unwrap_or("")
}

#[tokio::test]
async fn websocket_turns_and_connection_local_responses() {
    let s = Server::builtin().await;
    let mut ws = connect(&s, &s.key).await;
    let first = turn(
        &mut ws,
        json!({"model": "dragon", "input": "One.", "store": false}),
    )
    .await;
    assert_eq!(first[0]["type"], "response.created");
    let done = &first.last().unwrap()["response"];
    assert_eq!(text_of(done), "One.");
    let id = done["id"].as_str().unwrap().to_string();
    // Continued on the same connection although not stored.
    let second = turn(
        &mut ws,
        json!({"model": "dragon", "input": "Two.", "store": false, "previous_response_id": id}),
    )
    .await;
    assert_eq!(second.last().unwrap()["type"], "response.completed");
    assert_eq!(s.get(&format!("/v1/responses/{id}")).await.status, 404);

    // Another connection does not hold it.
    let mut other = connect(&s, &s.key).await;
    let missing = turn(
        &mut other,
        json!({"model": "dragon", "input": "x", "store": false, "previous_response_id": id}),
    )
    .await;
    assert_eq!(error_code(&missing), "previous_response_not_found");
    // The connection stays usable after an error.
    let fresh = turn(&mut other, json!({"model": "dragon", "input": "Fresh."})).await;
    assert_eq!(fresh.last().unwrap()["type"], "response.completed");

    // A continuation that fails (a tool output for no call) evicts what it continued.
    let failed = turn(
        &mut ws,
        json!({"model": "dragon", "store": false, "previous_response_id": id,
               "input": [{"type": "function_call_output", "call_id": "call_nope", "output": "x"}]}),
    )
    .await;
    assert_eq!(failed.last().unwrap()["type"], "error", "{failed:?}");
    let evicted = turn(
        &mut ws,
        json!({"model": "dragon", "input": "x", "store": false, "previous_response_id": id}),
    )
    .await;
    assert_eq!(error_code(&evicted), "previous_response_not_found");
}

#[tokio::test]
async fn websocket_needs_a_key_and_an_upgrade() {
    let s = Server::builtin().await;
    let req = format!("ws://{}/v1/responses", s.addr())
        .into_client_request()
        .unwrap();
    let refused = tokio_tungstenite::connect_async(req).await.unwrap_err();
    assert!(refused.to_string().contains("401"), "{refused}");
    let plain = s.get("/v1/responses").await;
    assert_eq!(plain.status, 405);
    assert_eq!(plain.body["error"]["type"], "invalid_request_error");
}
