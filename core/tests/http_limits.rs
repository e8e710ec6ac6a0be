//! The limits that keep one client from holding the gateway: JSON depth,
//! message and tool counts, body size, and the timeouts for keep-alive
//! connections left idle, bodies sent a byte at a time, and streams the
//! client stops reading. Each refusal is a clear 4xx in the route's shape
//! naming the limit, and others are served meanwhile.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use std::time::Duration;

use common::*;
use mws_core::testing::{MockReply, MockUpstream};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A generous bound for things that should happen within a second or two.
const DEADLINE: Duration = Duration::from_secs(20);

/// Reads one HTTP/1.1 response with a Content-Length: (status, body).
async fn read_response(tcp: &mut TcpStream) -> (u16, Value) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or_else(|| panic!("no content-length in {head}"));
            if body.len() >= len {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                return (status, serde_json::from_str(&body[..len]).unwrap());
            }
        }
        let n = tokio::time::timeout(DEADLINE, tcp.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(
            n > 0,
            "closed before a full response: {}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn head(path: &str, key: &str, extra: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\n{extra}\r\n")
}

#[tokio::test]
async fn json_nested_past_the_limit_is_400_naming_it() {
    let s = Server::builtin().await;
    let deep = "[".repeat(5000) + &"]".repeat(5000);
    let body = format!(
        r#"{{"model":"dragon","max_tokens":10,"messages":[{{"role":"user","content":"hi","x":{deep}}}]}}"#
    );
    let r = s.post_bytes("/v1/messages", body.clone()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["type"], "invalid_request_error");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("messages.0.x.0.0"), "{message}");
    assert!(
        message.contains("deeper than the limit of 127 levels"),
        "{message}"
    );
    let r = s
        .post_bytes(
            "/v1/chat/completions",
            body.replace("\"max_tokens\":10,", ""),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"]["param"]
            .as_str()
            .unwrap()
            .starts_with("messages.0.x.0"),
        "{}",
        r.body
    );
    // Out-of-range numbers name their field too.
    let r = s
        .post_bytes(
            "/v1/chat/completions",
            r#"{"model":"dragon","temperature":1e999,"messages":[]}"#,
        )
        .await;
    assert_eq!(r.body["error"]["param"], "temperature", "{}", r.body);
    s.stop().await;
}

#[tokio::test]
async fn too_many_messages_or_tools_is_400_naming_the_setting() {
    let s = Server::with_config(&format!(
        "[server]\nmax_messages = 3\nmax_tools = 2\n{LIMITS}"
    ))
    .await;
    let turns = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"role": if i % 2 == 0 {"user"} else {"assistant"}, "content": "hi"}))
            .collect()
    };
    let mut a = anthropic_request("dragon", "hi");
    a["messages"] = json!(turns(3));
    assert_eq!(s.post("/v1/messages", &a).await.status, 200);
    a["messages"] = json!(turns(5));
    for path in ["/v1/messages", "/v1/messages/count_tokens"] {
        let r = s.post(path, &a).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(
            r.body["error"]["message"],
            "messages: more than the limit of 3 (server.max_messages)"
        );
    }
    let mut o = openai_request("dragon", "hi");
    o["tools"] = json!([
        weather_tool_openai(),
        weather_tool_openai(),
        weather_tool_openai()
    ]);
    let r = s.post("/v1/chat/completions", &o).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["error"]["param"]),
        (400, &json!("tools")),
        "{}",
        r.body
    );
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("server.max_tools"));
    s.stop().await;
}

#[tokio::test]
async fn a_body_of_tiny_values_is_refused_as_it_is_parsed() {
    let s = Server::builtin().await;
    // 1.5 million empty arrays in 4.5 MB, under the body limit.
    let tiny = vec!["[]"; 1_500_000].join(",");
    for (path, body) in [
        (
            "/v1/messages",
            format!(
                r#"{{"model":"dragon","max_tokens":1,"messages":[{{"role":"user","content":"hi"}}],"x":[{tiny}]}}"#
            ),
        ),
        (
            "/v1/chat/completions",
            format!(r#"{{"model":"dragon","messages":[{tiny}]}}"#),
        ),
    ] {
        let r = s.post_bytes(path, body).await;
        assert_eq!(r.status, 400, "{}", r.body);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("server.max_json_values") || message.contains("server.max_messages"),
            "{message}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn the_default_limits_take_a_long_agent_session() {
    let s = Server::builtin().await;
    let tools: Vec<Value> = (0..300)
        .map(|i| {
            let mut t = weather_tool_anthropic();
            t["name"] = json!(format!("tool_{i}"));
            t
        })
        .collect();
    let messages: Vec<Value> = (0..6001)
        .map(|i| json!({"role": if i % 2 == 0 {"user"} else {"assistant"}, "content": format!("turn {i}")}))
        .collect();
    let body = json!({"model": "claude-sonnet-4-6", "max_tokens": 100, "tools": tools, "messages": messages});
    let r = s.post("/v1/messages", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.stop().await;
}

#[tokio::test]
async fn a_body_announced_past_the_limit_is_413_without_reading_it() {
    let s = Server::with_config(&format!("[server]\nmax_body_bytes = 1048576\n{LIMITS}")).await;
    // Only the head is sent: the answer cannot wait for the body.
    let mut tcp = TcpStream::connect(s.addr()).await.unwrap();
    let req = head("/v1/messages", &s.key, "content-length: 1000000000\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let (status, body) = read_response(&mut tcp).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["type"], "request_too_large");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("1048576") && message.contains("server.max_body_bytes"),
        "{message}"
    );
    // A client that sends the whole large body still reads the 413.
    for _ in 0..3 {
        let big = openai_request("dragon", &"x".repeat(4 << 20));
        let r = s.post("/v1/chat/completions", &big).await;
        assert_eq!(r.status, 413);
        assert_eq!(r.body["error"]["type"], "invalid_request_error");
    }
    s.stop().await;
}

#[tokio::test]
async fn keep_alive_connections_idle_between_requests_are_closed() {
    let s = Server::with_config(&format!("[server]\nheader_timeout_secs = 0.5\n{LIMITS}")).await;
    let body = serde_json::to_string(&anthropic_request("dragon", "hi")).unwrap();
    let mut tcp = TcpStream::connect(s.addr()).await.unwrap();
    let req = head(
        "/v1/messages",
        &s.key,
        &format!("content-length: {}\r\n", body.len()),
    ) + &body;
    tcp.write_all(req.as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut tcp).await.0, 200);
    // Reused once more, then left idle.
    tcp.write_all(req.as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut tcp).await.0, 200);
    // Others are served while it idles.
    let r = s
        .post("/v1/messages", &anthropic_request("dragon", "hi"))
        .await;
    assert_eq!(r.status, 200);
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "an idle keep-alive connection was never closed"
    );
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    s.stop().await;
}

#[tokio::test]
async fn a_body_sent_a_byte_at_a_time_is_cut_off_with_408() {
    let s = Server::with_config(&format!("[server]\nrequest_timeout_secs = 1\n{LIMITS}")).await;
    for (path, anthropic) in [("/v1/messages", true), ("/v1/chat/completions", false)] {
        let tcp = TcpStream::connect(s.addr()).await.unwrap();
        let (mut rd, mut wr) = tcp.into_split();
        wr.write_all(head(path, &s.key, "content-length: 500\r\n").as_bytes())
            .await
            .unwrap();
        let drip = tokio::spawn(async move {
            for _ in 0..500 {
                if wr.write_all(b" ").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        // Others are served while it drips.
        let r = s
            .post("/v1/messages", &anthropic_request("dragon", "hi"))
            .await;
        assert_eq!(r.status, 200);
        let mut raw = Vec::new();
        let read = tokio::time::timeout(DEADLINE, async {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = rd.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                raw.extend_from_slice(&chunk[..n]);
                if String::from_utf8_lossy(&raw).contains("}}") {
                    break;
                }
            }
        })
        .await;
        assert!(read.is_ok(), "the slow body was never cut off");
        drip.abort();
        let text = String::from_utf8_lossy(&raw);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        let body: Value = serde_json::from_str(text.split_once("\r\n\r\n").unwrap().1).unwrap();
        let message = if anthropic {
            assert_eq!(body["type"], "error");
            body["error"]["message"].as_str().unwrap()
        } else {
            assert_eq!(body["error"]["type"], "invalid_request_error");
            body["error"]["message"].as_str().unwrap()
        };
        assert!(message.contains("server.request_timeout_secs"), "{message}");
    }
    s.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_a_stream_is_cut_off() {
    let mock = MockUpstream::start().await.unwrap();
    let chunk = |text: &str| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
               "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
    };
    // Far more than the socket buffers on both sides hold.
    let piece = "y".repeat(8192);
    let chunks: Vec<Value> = (0..6000).map(|_| chunk(&piece)).collect();
    mock.push(MockReply::openai_chunks(&chunks));
    let cfg = format!(
        "[server]\nwrite_timeout_secs = 0.5\n{LIMITS}[[upstreams]]\nname = \"m\"\nkind = \"openai\"\nbase_url = \"{}\"\n\
         [[profiles]]\nid = \"dragon\"\nupstream = \"m\"\ncontext_window = 131072\ntokens_per_second = 100\n\
         input_price_per_mtok = 1\noutput_price_per_mtok = 1\n[routing]\naliases = {{}}\n",
        mock.base_url()
    );
    let s = Server::with_config(&cfg).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = socket.connect(s.addr()).await.unwrap();
    let mut body = openai_request("dragon", "go");
    body["stream"] = json!(true);
    let body = body.to_string();
    let req = head(
        "/v1/chat/completions",
        &s.key,
        &format!("content-length: {}\r\n", body.len()),
    ) + &body;
    tcp.write_all(req.as_bytes()).await.unwrap();
    // The client reads nothing; the gateway gives the stream up, and with it
    // the upstream call.
    let given_up = tokio::time::timeout(DEADLINE, async {
        while mock.abandoned_streams() == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(given_up.is_ok(), "the stalled stream was never cut off");
    // Others are served meanwhile and after.
    let r = s
        .post("/v1/chat/completions", &openai_request("dragon", "hi"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // What the stalled client finally reads ends (no hang).
    let mut sink = Vec::new();
    let ended = tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut sink)).await;
    assert!(ended.is_ok());
    s.stop().await;
}
