//! Graceful shutdown: a stream in flight is drained to its end while new
//! connections are refused.

// clippy.toml allows these in #[test] functions only; the helpers here and in
// `common` are test code too.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use serde_json::json;

/// An echo upstream paced at 50 tokens a second behind one profile.
fn slow_config() -> String {
    format!(
        r#"{LIMITS}
[[upstreams]]
name = "slow-echo"
kind = "echo"
simulate_speed = true

[[profiles]]
id = "slowpoke"
upstream = "slow-echo"
context_window = 8192
tokens_per_second = 50
input_price_per_mtok = 0.0
output_price_per_mtok = 0.0

[routing]
default_profile = "slowpoke"
aliases = {{}}
"#
    )
}

/// Whether a TCP connection to `addr` is refused.
async fn refused(addr: std::net::SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_err()
}

#[tokio::test]
async fn shutdown_drains_a_stream_in_flight_and_refuses_new_connections() {
    let mut s = Server::with_config(&slow_config()).await;
    let addr = s.addr();
    // 600 characters are 150 tokens: about three seconds at 50 tokens a second.
    let prompt: String = (0..120).map(|i| format!("w{i:03} ")).collect::<String>();
    let prompt = prompt.trim_end().to_string();
    assert!(prompt.len() >= 590);
    let mut body = anthropic_request("slowpoke", &prompt);
    body["stream"] = json!(true);
    let resp = s.post_raw("/v1/messages", &body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(resp.headers(), "mws-profile"), "slowpoke");
    let mut bytes = resp.bytes_stream();

    // Read until the first text delta has arrived: the stream is in flight.
    let mut sse = String::new();
    while !sse.contains("event: content_block_delta") {
        let chunk = bytes.next().await.expect("stream ended early").unwrap();
        sse.push_str(std::str::from_utf8(&chunk).unwrap());
    }

    let shutdown = tokio::spawn(s.take_handle().shutdown());

    // The listener closes at once, while the stream is still being drained.
    let mut closed = false;
    for _ in 0..500 {
        if refused(addr).await {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(closed, "new connections still accepted during shutdown");

    while let Some(chunk) = bytes.next().await {
        sse.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    let events = anthropic_events(&sse);
    let n = names(&events);
    assert_eq!(n.last(), Some(&"message_stop"), "{n:?}");
    assert!(!n.contains(&"error"), "{n:?}");
    assert_eq!(n[..3], ["message_start", "content_block_start", "ping"]);
    assert!(n.iter().filter(|x| **x == "content_block_delta").count() >= 10);
    assert_eq!(anthropic_text(&events), prompt);
    let md = events.iter().find(|(n, _)| n == "message_delta").unwrap();
    assert_eq!(md.1["delta"]["stop_reason"], "end_turn");
    assert_eq!(
        md.1["usage"]["output_tokens"],
        (prompt.len() as u64).div_ceil(4)
    );

    shutdown.await.unwrap();
    assert!(refused(addr).await);
    let fresh = reqwest::Client::new();
    let e = fresh
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_connect(), "{e}");
}

#[tokio::test]
async fn shutdown_of_an_idle_server_closes_the_port() {
    let mut s = Server::builtin().await;
    let addr = s.addr();
    assert_eq!(s.get("/health").await.status, 200);
    s.take_handle().shutdown().await;
    assert!(refused(addr).await);
    let e = s.client.get(s.url("/health")).send().await.unwrap_err();
    assert!(e.is_connect() || e.is_request(), "{e}");
}
