//! The scripted mock's HTTP control routes, which the Python end-to-end tests
//! use: queue replies of every form (JSON, SSE frames, OpenAI chunks, Anthropic
//! and Responses events), read and clear what was received.

use mws_core::testing::MockUpstream;
use serde_json::{json, Value};

#[tokio::test]
async fn control_routes_queue_replies_and_report_what_was_received() {
    let mock = MockUpstream::start().await.unwrap();
    let base = format!("http://{}", mock.addr());
    let http = reqwest::Client::new();

    let queued = http
        .post(format!("{base}/_mock/replies"))
        .json(&json!({"replies": [
            {"json": {"error": {"message": "slow down"}}, "status": 429, "headers": {"retry-after": "7"}},
            {"openai_chunks": [{"choices": [{"index": 0, "delta": {"content": "hi"}}]}]},
            {"anthropic_events": [{"type": "message_stop"}]},
            {"responses_events": [{"type": "response.completed", "sequence_number": 0}]},
            {"sse": ["data: one\n\n", "data: two\n\n"], "fail_after": 1},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status(), 200);
    assert_eq!(
        queued.json::<Value>().await.unwrap(),
        json!({"queued": 5, "pending": 5})
    );

    let call = |path: &'static str, body: Value| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            http.post(url)
                .header("x-probe", "yes")
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let r = call("/v1/chat/completions", json!({"model": "m"})).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["message"],
        "slow down"
    );

    let r = call("/v1/chat/completions", json!({"stream": true})).await;
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    assert_eq!(
        r.text().await.unwrap(),
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n"
    );

    let r = call("/v1/messages", json!({"stream": true})).await;
    assert_eq!(
        r.text().await.unwrap(),
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
    );

    // Named by their type, with no [DONE] after the terminal event.
    let r = call("/v1/responses", json!({"stream": true})).await;
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    assert_eq!(
        r.text().await.unwrap(),
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":0}\n\n"
    );

    // Broken after the first frame: the body ends in an error.
    let r = call("/v1/messages", json!({"stream": true})).await;
    assert!(r.text().await.is_err());

    // Nothing queued any more: the default answer.
    let r = call("/v1/messages", json!({"n": 5})).await;
    assert_eq!(r.json::<Value>().await.unwrap()["stop_reason"], "end_turn");

    let received: Value = http
        .get(format!("{base}/_mock/received"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let received = received.as_array().unwrap();
    let paths: Vec<&str> = received
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/v1/chat/completions",
            "/v1/chat/completions",
            "/v1/messages",
            "/v1/responses",
            "/v1/messages",
            "/v1/messages"
        ]
    );
    assert_eq!(received[0]["headers"]["x-probe"], "yes");
    assert_eq!(received[0]["body"], json!({"model": "m"}));
    assert_eq!(received[5]["body"], json!({"n": 5}));

    let cleared = http
        .delete(format!("{base}/_mock/received"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(mock.calls(), 0);
}

#[tokio::test]
async fn control_routes_refuse_malformed_replies_and_drop_queued_ones() {
    let mock = MockUpstream::start().await.unwrap();
    let http = reqwest::Client::new();
    for body in [
        json!({"nope": []}),
        json!({"replies": [{"text": "?"}]}),
        json!({"replies": [{"json": {}, "status": 99999}]}),
        json!({"replies": [{"sse": [1, 2]}]}),
    ] {
        let r = http
            .post(format!("http://{}/_mock/replies", mock.addr()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        assert!(r.json::<Value>().await.unwrap()["error"].is_string());
    }
    // Queued, then dropped.
    let queued = http
        .post(format!("http://{}/_mock/replies", mock.addr()))
        .json(&json!({"replies": [{"json": {}, "status": 500}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status(), 200);
    let dropped = http
        .delete(format!("http://{}/_mock/replies", mock.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(dropped.status(), 204);
    // Nothing was queued by the refused bodies and the dropped one is gone:
    // the default answer.
    let r = http
        .post(format!("{}/chat/completions", mock.base_url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
