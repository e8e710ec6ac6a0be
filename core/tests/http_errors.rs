//! Errors over HTTP: the ingress shape, the status, the field named, and the
//! limit headers and request-id on every one (400, 404, 405, 413, 429).

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

/// An Anthropic error body of `kind`; returns its message.
fn anthropic_error<'a>(r: &'a Reply, status: u16, kind: &str) -> &'a str {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(r.body["type"], "error", "{}", r.body);
    assert_eq!(r.body["error"]["type"], kind, "{}", r.body);
    assert_eq!(r.body.as_object().unwrap().len(), 2);
    check_anthropic_headers(&r.headers);
    r.body["error"]["message"].as_str().unwrap()
}

/// An OpenAI error body of `kind` naming `param`; returns its message.
fn openai_error<'a>(r: &'a Reply, status: u16, kind: &str, param: Option<&str>) -> &'a str {
    assert_eq!(r.status, status, "{:?}", r.body);
    let e = r.body["error"].as_object().unwrap();
    for key in ["message", "type", "param", "code"] {
        assert!(e.contains_key(key), "{key} missing from {e:?}");
    }
    assert_eq!(e["type"], kind);
    assert_eq!(e["param"], param.map_or(Value::Null, Value::from));
    assert!(r
        .headers
        .get("anthropic-ratelimit-requests-limit")
        .is_none());
    e["message"].as_str().unwrap()
}

#[tokio::test]
async fn messages_400_names_the_field() {
    let s = Server::builtin().await;
    let base = anthropic_request("claude-sonnet-4-6", "hi");
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"model": "dragon", "messages": [{"role": "user", "content": "hi"}]}),
            "max_tokens: field required",
        ),
        (
            {
                let mut b = base.clone();
                b["messages"] = json!([{"role": "user", "content": [
                    {"type": "video", "url": "x"}]}]);
                b
            },
            "messages.0.content.0.type: expected one of text, image, tool_use, tool_result",
        ),
        (
            {
                let mut b = base.clone();
                b["tools"] = json!([{"name": "f", "input_schema": {"type": "array"}}]);
                b
            },
            "tools.0.input_schema.type: expected \"object\", got \"array\"",
        ),
        (
            {
                let mut b = base.clone();
                b["tools"] = json!([{"name": "bad name!", "input_schema": {"type": "object"}}]);
                b
            },
            "tools.0.name: expected 1 to 128 characters",
        ),
        (
            {
                let mut b = base.clone();
                b["max_tokens"] = json!("100");
                b
            },
            "max_tokens: expected an integer, got string",
        ),
        (
            {
                let mut b = base.clone();
                b["messages"] = json!("hi");
                b
            },
            "messages: expected an array, got string",
        ),
        (
            {
                let mut b = base.clone();
                b["temperature"] = json!(1.5);
                b
            },
            "temperature: expected a number between 0 and 1, got 1.5",
        ),
    ];
    for (body, expected) in cases {
        let r = s.post("/v1/messages", &body).await;
        let message = anthropic_error(&r, 400, "invalid_request_error");
        assert!(message.starts_with(expected), "{message:?} vs {expected:?}");
        check_ratelimit_headers(&r.headers, RPM, TPM);
    }
    let r = s
        .post_bytes("/v1/messages", "{\"model\": \"dragon\",")
        .await;
    let message = anthropic_error(&r, 400, "invalid_request_error");
    assert!(message.contains("not valid JSON"), "{message}");
    let r = s.post_bytes("/v1/messages", "").await;
    let message = anthropic_error(&r, 400, "invalid_request_error");
    assert!(message.contains("empty"), "{message}");
    s.stop().await;
}

#[tokio::test]
async fn chat_400_names_the_param() {
    let s = Server::builtin().await;
    let base = openai_request("gpt-4o", "hi");
    let tool = |parameters: Value| json!([{"type": "function", "function": {"name": "f", "parameters": parameters}}]);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "model",
            json!({"messages": base["messages"]}),
            "model: field required",
        ),
        (
            "messages",
            json!({"model": "gpt-4o", "messages": "hi"}),
            "messages: expected an array",
        ),
        (
            "messages.0.content.0.type",
            json!({"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "video"}]}]}),
            "messages.0.content.0.type: expected one of text, image_url",
        ),
        (
            "tools.0.function.parameters.type",
            {
                let mut b = base.clone();
                b["tools"] = tool(json!({"type": "array"}));
                b
            },
            "tools.0.function.parameters.type: expected \"object\", got \"array\"",
        ),
        (
            "tools.0.function.parameters",
            {
                let mut b = base.clone();
                b["tools"] = tool(json!("{}"));
                b
            },
            "tools.0.function.parameters: expected an object, got string",
        ),
        (
            "temperature",
            {
                let mut b = base.clone();
                b["temperature"] = json!("hot");
                b
            },
            "temperature:",
        ),
        (
            "stream",
            {
                let mut b = base.clone();
                b["stream"] = json!("yes");
                b
            },
            "stream: expected a boolean, got string",
        ),
        (
            "messages.0.tool_call_id",
            json!({"model": "gpt-4o", "messages": [{"role": "tool", "content": "x"}]}),
            "messages.0.tool_call_id: field required",
        ),
    ];
    for (param, body, expected) in cases {
        let r = s.post("/v1/chat/completions", &body).await;
        let message = openai_error(&r, 400, "invalid_request_error", Some(param));
        assert!(message.starts_with(expected), "{message:?} vs {expected:?}");
        assert_eq!(r.body["error"]["code"], Value::Null);
        check_ratelimit_headers(&r.headers, RPM, TPM);
    }
    let r = s.post_bytes("/v1/chat/completions", "not json").await;
    let message = openai_error(&r, 400, "invalid_request_error", None);
    assert!(message.contains("not valid JSON"), "{message}");
    check_ratelimit_headers(&r.headers, RPM, TPM);
    let r = s
        .post("/v1/embeddings", &json!({"model": "dragon", "input": 5}))
        .await;
    openai_error(&r, 400, "invalid_request_error", Some("input"));
    let r = s
        .post(
            "/v1/rerank",
            &json!({"model": "dragon", "documents": ["a"]}),
        )
        .await;
    openai_error(&r, 400, "invalid_request_error", Some("query"));
    s.stop().await;
}

#[tokio::test]
async fn unknown_routes_are_404_in_the_path_shape() {
    let s = Server::builtin().await;
    let r = s.get("/v1/nope").await;
    let message = openai_error(&r, 404, "invalid_request_error", None);
    assert_eq!(message, "no route for GET /v1/nope");
    check_ratelimit_headers(&r.headers, RPM, TPM);

    let r = s.post("/v1/completions", &json!({"prompt": "x"})).await;
    openai_error(&r, 404, "invalid_request_error", None);
    check_ratelimit_headers(&r.headers, RPM, TPM);

    let r = s.post("/v1/messages/batches", &json!({})).await;
    let message = anthropic_error(&r, 404, "not_found_error");
    assert_eq!(message, "no route for POST /v1/messages/batches");
    check_ratelimit_headers(&r.headers, RPM, TPM);

    // With `anthropic-version` a stray route answers in Anthropic's shape.
    let r = s.get_anthropic("/v1/files").await;
    anthropic_error(&r, 404, "not_found_error");
    s.stop().await;
}

#[tokio::test]
async fn wrong_method_is_405() {
    let s = Server::builtin().await;
    let r = s.get("/v1/chat/completions").await;
    let message = openai_error(&r, 405, "invalid_request_error", None);
    assert!(message.contains("GET"), "{message}");
    assert_eq!(r.header("allow"), "POST");
    check_ratelimit_headers(&r.headers, RPM, TPM);

    let r = reply(s.client.delete(s.url("/v1/messages")).send().await.unwrap()).await;
    let message = anthropic_error(&r, 405, "invalid_request_error");
    assert!(message.contains("DELETE"), "{message}");
    check_ratelimit_headers(&r.headers, RPM, TPM);

    let r = s.post("/v1/models", &json!({})).await;
    openai_error(&r, 405, "invalid_request_error", None);
    assert_eq!(r.header("allow"), "GET,HEAD");
    s.stop().await;
}

#[tokio::test]
async fn bodies_over_max_body_bytes_are_413() {
    let s = Server::with_config(&format!("[server]\nmax_body_bytes = 1024\n{LIMITS}")).await;
    let big = anthropic_request("dragon", &"x".repeat(2000));
    let r = s.post("/v1/messages", &big).await;
    let message = anthropic_error(&r, 413, "request_too_large");
    assert!(message.contains("1024"), "{message}");
    check_ratelimit_headers(&r.headers, RPM, TPM);

    let r = s
        .post(
            "/v1/chat/completions",
            &openai_request("dragon", &"x".repeat(2000)),
        )
        .await;
    openai_error(&r, 413, "invalid_request_error", None);
    check_ratelimit_headers(&r.headers, RPM, TPM);

    // Just under the limit is served.
    let small = anthropic_request("dragon", &"x".repeat(900));
    assert!(serde_json::to_vec(&small).unwrap().len() < 1024);
    let r = s.post("/v1/messages", &small).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    s.stop().await;
}

#[tokio::test]
async fn over_the_request_limit_is_429_with_retry_after() {
    let s = Server::with_config(
        "[[limits.tiers]]\nmin_lifetime_spend_usd = 0\nrpm = 2\ntpm = 200000\n",
    )
    .await;
    let tpm = 200_000;
    for left in [1, 0] {
        let r = s
            .post("/v1/messages", &anthropic_request("dragon", "hi"))
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let (req_left, _) = check_ratelimit_headers(&r.headers, 2, tpm);
        assert_eq!(req_left, left);
    }
    let r = s
        .post("/v1/messages", &anthropic_request("dragon", "hi"))
        .await;
    let message = anthropic_error(&r, 429, "rate_limit_error");
    assert!(message.contains("rate limit"), "{message}");
    let (req_left, _) = check_ratelimit_headers(&r.headers, 2, tpm);
    assert_eq!(req_left, 0);
    assert_eq!(r.header("anthropic-ratelimit-requests-remaining"), "0");
    let retry: u64 = r.header("retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry), "retry-after {retry}");

    let r = s
        .post("/v1/chat/completions", &openai_request("dragon", "hi"))
        .await;
    openai_error(&r, 429, "requests", None);
    assert_eq!(r.body["error"]["code"], "rate_limit_exceeded");
    let (req_left, _) = check_ratelimit_headers(&r.headers, 2, tpm);
    assert_eq!(req_left, 0);
    assert!(r.header("retry-after").parse::<u64>().unwrap() >= 1);
    // /health is outside /v1 and never limited.
    assert_eq!(s.get("/health").await.status, 200);
    s.stop().await;
}

#[tokio::test]
async fn requests_without_a_valid_key_are_limited_per_ip() {
    let s = Server::with_config("[limits]\nunauthenticated_rpm_per_ip = 2\n").await;
    let anonymous = reqwest::Client::new();
    for _ in 0..2 {
        let r = reply(
            anonymous
                .post(s.url("/v1/messages"))
                .json(&anthropic_request("dragon", "hi"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        anthropic_error(&r, 401, "authentication_error");
        check_ratelimit_headers(&r.headers, 2, 200_000);
    }
    let r = reply(
        anonymous
            .post(s.url("/v1/chat/completions"))
            .bearer_auth("mws_live_0000000000000000000000000000000000000000")
            .json(&openai_request("dragon", "hi"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    openai_error(&r, 429, "requests", None);
    assert!(r.header("retry-after").parse::<u64>().unwrap() >= 1);
    // A valid key is not held back by its IP's failures.
    assert_eq!(
        s.post("/v1/messages", &anthropic_request("dragon", "hi"))
            .await
            .status,
        200
    );
    s.stop().await;
}

#[tokio::test]
async fn stream_requests_fail_before_the_stream_with_a_json_error() {
    let s = Server::builtin().await;
    let body = json!({"model": "dragon", "stream": true,
                      "messages": [{"role": "user", "content": "hi"}]});
    let r = s.post("/v1/messages", &body).await;
    assert!(r.header("content-type").starts_with("application/json"));
    let message = anthropic_error(&r, 400, "invalid_request_error");
    assert!(message.starts_with("max_tokens"), "{message}");
    s.stop().await;
}

#[tokio::test]
async fn over_the_token_limit_is_429_naming_tokens() {
    let s = Server::with_config(
        "[[limits.tiers]]\nmin_lifetime_spend_usd = 0\nrpm = 1000\ntpm = 100\n",
    )
    .await;
    // 120 characters: 30 tokens in plus max_tokens 1024 reserved, trued up to 30 + 30.
    let r = s
        .post(
            "/v1/messages",
            &anthropic_request("dragon", &"abcd".repeat(30)),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let (_, tok_left) = check_ratelimit_headers(&r.headers, 1000, 100);
    assert_eq!(tok_left, 0);
    // 60 of 100 tokens used: admitted, and its own 30 + 30 fill the window.
    assert_eq!(
        s.post(
            "/v1/messages",
            &anthropic_request("dragon", &"abcd".repeat(30))
        )
        .await
        .status,
        200
    );
    let r = s
        .post("/v1/messages", &anthropic_request("dragon", "hi"))
        .await;
    let message = anthropic_error(&r, 429, "rate_limit_error");
    assert!(message.contains("tokens"), "{message}");
    let (req_left, tok_left) = check_ratelimit_headers(&r.headers, 1000, 100);
    assert_eq!((req_left, tok_left), (998, 0));
    assert!(r.header("retry-after").parse::<u64>().unwrap() >= 1);
    s.stop().await;
}

#[tokio::test]
async fn refused_bodies_are_counted_in_metrics() {
    let s = Server::with_config(&format!("[server]\nmax_body_bytes = 1024\n{LIMITS}")).await;
    let r = s
        .post(
            "/v1/messages",
            &anthropic_request("dragon", &"x".repeat(2000)),
        )
        .await;
    assert_eq!(r.status, 413);
    let text = s
        .client
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counted = text.lines().any(|l| {
        l.starts_with("mws_requests_total{")
            && l.contains("route=\"/v1/messages\"")
            && l.contains("status=\"413\"")
    });
    assert!(counted, "no 413 series in\n{text}");
    s.stop().await;
}

#[tokio::test]
async fn slow_headers_are_cut_off_and_oversized_headers_refused_while_others_are_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Server::with_config(&format!("[server]\nheader_timeout_secs = 0.5\n{LIMITS}")).await;
    // A client that starts a request and never finishes its headers.
    let mut slow = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
    slow.write_all(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    // Others are served meanwhile.
    let r = s
        .post("/v1/messages", &anthropic_request("dragon", "hello"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // The slow one is closed once its time is up (read returns end of stream
    // or an error, not a hang).
    let mut buf = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        slow.read_to_end(&mut buf),
    )
    .await;
    assert!(read.is_ok(), "the slow connection was never closed");

    // Headers beyond the cap are refused (431, or the connection closed while
    // the client is still sending them), and the server goes on.
    let r = reqwest::Client::new()
        .get(s.url("/v1/models"))
        .header("x-padding", "p".repeat(100 * 1024))
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), 431, "oversized headers were accepted");
    }
    let r = s.client.get(s.url("/v1/models")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    s.stop().await;
}
