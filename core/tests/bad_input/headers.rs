//! Odd header values on well-formed requests: broken keys, non-ASCII bytes,
//! strange content types, and headers past `server.max_header_bytes`.

use reqwest::header::HeaderValue;
use reqwest::Method;
use serde_json::json;

use crate::check::{run, Case, Expect};
use crate::common::{anthropic_request, openai_request, Server, LIMITS};

fn value(bytes: &[u8]) -> HeaderValue {
    HeaderValue::from_bytes(bytes).unwrap()
}

/// The routes that check a key, with a valid body for each.
fn keyed_routes() -> Vec<(&'static str, Vec<u8>)> {
    let body = |v: serde_json::Value| serde_json::to_vec(&v).unwrap();
    vec![
        ("/v1/messages", body(anthropic_request("dragon", "hi"))),
        (
            "/v1/messages/count_tokens",
            body(anthropic_request("dragon", "hi")),
        ),
        ("/v1/chat/completions", body(openai_request("dragon", "hi"))),
        (
            "/v1/embeddings",
            body(json!({"model": "dragon", "input": "hi"})),
        ),
        (
            "/v1/rerank",
            body(json!({"model": "dragon", "query": "q", "documents": ["a"]})),
        ),
    ]
}

#[tokio::test]
async fn broken_keys_are_401_in_the_route_shape() {
    let s = Server::builtin().await;
    let anonymous = reqwest::Client::new();
    let long = format!("Bearer mws_live_{}", "A".repeat(60_000));
    let keys: Vec<(&str, &str, HeaderValue)> = vec![
        ("no key", "x-nothing", value(b"1")),
        ("empty bearer", "authorization", value(b"Bearer ")),
        ("bearer only", "authorization", value(b"Bearer")),
        ("basic", "authorization", value(b"Basic dXNlcjpwYXNz")),
        (
            "lower-case scheme",
            "authorization",
            value(b"bearer mws_live_000"),
        ),
        ("short key", "authorization", value(b"Bearer mws_live_abc")),
        (
            "not base62",
            "authorization",
            value(b"Bearer mws_live_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"),
        ),
        (
            "wrong prefix",
            "authorization",
            value(b"Bearer sk-0000000000000000000000000000000000000000"),
        ),
        (
            "non-ASCII bytes",
            "authorization",
            value(b"Bearer mws_live_\xff\xfe\xfd"),
        ),
        (
            "non-ASCII x-api-key",
            "x-api-key",
            value(b"\xc3\xa9\xc3\xa9"),
        ),
        ("tab inside", "x-api-key", value(b"mws_live_00\t00")),
        ("very long", "authorization", value(long.as_bytes())),
        (
            "well-formed unknown",
            "x-api-key",
            value(b"mws_live_0000000000000000000000000000000000000000"),
        ),
    ];
    let mut cases = Vec::new();
    for (path, body) in keyed_routes() {
        for (name, header, v) in &keys {
            cases.push(
                Case::post(*name, path, body.clone(), Expect::Status(401))
                    .header(header, v.clone()),
            );
        }
    }
    cases.push(Case::new(
        "models",
        Method::GET,
        "/v1/models",
        Expect::Status(401),
    ));
    cases.push(Case::new(
        "model",
        Method::GET,
        "/v1/models/dragon",
        Expect::Status(401),
    ));
    run(&s, &anonymous, &cases).await;
    s.stop().await;
}

#[tokio::test]
async fn odd_headers_with_a_valid_key() {
    let s = Server::builtin().await;
    let mut cases = Vec::new();
    let odd: Vec<(&str, HeaderValue)> = vec![
        ("anthropic-version", value(b"\xff\xfe")),
        ("anthropic-version", value(b"")),
        ("anthropic-beta", value("x,".repeat(5000).as_bytes())),
        ("anthropic-beta", value(b"\xff,,\xfe")),
        ("x-request-id", value(b"\xff")),
        ("user-agent", value(&[0x80; 4000])),
        ("accept", value(b"text/nonsense")),
        ("accept-encoding", value(b"br;q=2, *;q=-1")),
        ("content-type", value(b"text/plain")),
        ("content-type", value(b"application/json; charset=latin1")),
        ("x-forwarded-for", value(b"1.2.3.4, ::1, garbage")),
        ("x-padding", value("p".repeat(30_000).as_bytes())),
    ];
    for (path, body) in keyed_routes() {
        for (name, v) in &odd {
            cases.push(
                Case::post(
                    format!("{name}: {v:?}"),
                    path,
                    body.clone(),
                    Expect::Status(200),
                )
                .header(name, v.clone()),
            );
        }
    }
    run(&s, &s.client, &cases).await;
    s.stop().await;
}

#[tokio::test]
async fn headers_past_the_limit_are_431_naming_it() {
    let s = Server::with_config(&format!("[server]\nmax_header_bytes = 16384\n{LIMITS}")).await;
    let mut cases = Vec::new();
    for (path, body) in keyed_routes() {
        let big = value("p".repeat(20_000).as_bytes());
        cases.push(
            Case::post("one big header", path, body.clone(), Expect::Status(431))
                .header("x-padding", big),
        );
        let mut many = Case::post("many headers", path, body.clone(), Expect::Status(431));
        for i in 0..60 {
            many = many.header(&format!("x-pad-{i}"), value("q".repeat(400).as_bytes()));
        }
        cases.push(many);
        let fits = value("p".repeat(8_000).as_bytes());
        cases.push(
            Case::post("under the limit", path, body.clone(), Expect::Status(200))
                .header("x-padding", fits),
        );
    }
    let big = value("p".repeat(20_000).as_bytes());
    cases.push(
        Case::new("health", Method::GET, "/health", Expect::Status(431))
            .header("x-padding", big.clone()),
    );
    cases.push(
        Case::new("unknown", Method::GET, "/v1/nope", Expect::Status(431)).header("x-padding", big),
    );
    run(&s, &s.client, &cases).await;
    // The message names the limit and the setting.
    let r = s
        .client
        .post(s.url("/v1/messages"))
        .header("x-padding", "p".repeat(20_000))
        .json(&anthropic_request("dragon", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    let body: serde_json::Value = r.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("16384") && message.contains("server.max_header_bytes"),
        "{message}"
    );
    s.stop().await;
}
