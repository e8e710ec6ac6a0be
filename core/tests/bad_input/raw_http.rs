//! Malformed HTTP on a raw TCP connection: garbage request lines, broken
//! headers, bad chunked encoding, lying Content-Length. A broken head may be
//! answered by a bare 4xx or a closed connection; a well-formed head gets a
//! JSON 4xx in the route's shape. Nothing hangs, and others are served.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::check::{refusal, still_serving, Shape};
use crate::common::{anthropic_request, Server, LIMITS};

/// Sends `bytes` and reads until the server closes (or 10 s pass: a failure).
async fn exchange(s: &Server, bytes: &[u8]) -> Vec<u8> {
    let mut tcp = TcpStream::connect(s.addr()).await.unwrap();
    // The server may close before taking all of it; that is an answer too.
    let _ = tcp.write_all(bytes).await;
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 8192];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "no answer and no close for {:?}",
        String::from_utf8_lossy(bytes)
    );
    out
}

/// (status, headers, body) of the first response in `raw`, if any.
fn parse(raw: &[u8]) -> Option<(u16, reqwest::header::HeaderMap, String)> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        let (n, v) = line.split_once(':')?;
        headers.append(
            reqwest::header::HeaderName::from_bytes(n.trim().as_bytes()).ok()?,
            v.trim().parse().ok()?,
        );
    }
    let len = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(body.len());
    Some((status, headers, body.chars().take(len).collect()))
}

/// A broken request: a bare 4xx or a close, never a 5xx.
async fn broken(s: &Server, bytes: &[u8]) {
    let raw = exchange(s, bytes).await;
    if let Some((status, _, _)) = parse(&raw) {
        assert!(
            (400..500).contains(&status),
            "{status} for {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// A request with a well-formed head: a JSON 4xx in `shape`.
async fn refused(s: &Server, bytes: &[u8], shape: Shape, want: u16) {
    let raw = exchange(s, bytes).await;
    let shown = String::from_utf8_lossy(bytes)
        .chars()
        .take(200)
        .collect::<String>();
    let (status, headers, body) = parse(&raw).unwrap_or_else(|| {
        panic!(
            "no response to {shown:?}: {:?}",
            String::from_utf8_lossy(&raw)
        )
    });
    let status = reqwest::StatusCode::from_u16(status).unwrap();
    let r = refusal(shape, status, &headers, &body).unwrap_or_else(|e| panic!("{shown:?}: {e}"));
    assert_eq!(r.status, want, "{shown:?}: {}", r.message);
}

fn post(path: &str, key: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\nconnection: close\r\n{extra}\r\n"
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

#[tokio::test]
async fn malformed_http_is_refused_or_closed() {
    // Blank lines then nothing is a client that never sends its head.
    let s = Server::with_config(&format!("[server]\nheader_timeout_secs = 2\n{LIMITS}")).await;
    let cases: Vec<&[u8]> = vec![
        b"GARBAGE\r\n\r\n",
        b"\x00\x01\x02\x03\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET /v1/models\r\n\r\n",
        b"GET /v1/models HTTP/1.1 extra\r\nhost: x\r\n\r\n",
        b"GET /v1/mo dels HTTP/1.1\r\nhost: x\r\n\r\n",
        b"GET /v1/models HTTP/1.1\r\nno colon here\r\n\r\n",
        b"GET /v1/models HTTP/1.1\r\nh\xc3\xa9der: x\r\n\r\n",
        b"GET /v1/models HTTP/1.1\r\nhost : x\r\n\r\n",
        b"GET /v1/models HTTP/1.1\r\nx-a: 1\r\n folded\r\n\r\n",
        b"GET /v1/models HTTP/1.1\r\nx-a: \x00\x01\r\n\r\n",
        b"POST /v1/messages HTTP/1.1\r\ncontent-length: -1\r\n\r\n",
        b"POST /v1/messages HTTP/1.1\r\ncontent-length: abc\r\n\r\n",
        b"POST /v1/messages HTTP/1.1\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!",
        b"POST /v1/messages HTTP/1.1\r\ntransfer-encoding: gzip, chunked, identity\r\n\r\n",
        b"\r\n\r\n\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ];
    for bytes in &cases {
        broken(&s, bytes).await;
    }
    let long_uri = format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(200_000));
    broken(&s, long_uri.as_bytes()).await;
    still_serving(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn broken_bodies_get_a_json_refusal() {
    let s = Server::with_config(&format!(
        "[server]\nrequest_timeout_secs = 1\nmax_body_bytes = 4096\n{LIMITS}"
    ))
    .await;
    let key = s.key.clone();
    let valid = serde_json::to_vec(&anthropic_request("dragon", "hi")).unwrap();
    // Bad chunk sizes and framing.
    for chunked in [
        &b"ZZ\r\nhello\r\n0\r\n\r\n"[..],
        b"5\r\nhelloXX0\r\n\r\n",
        b"-1\r\n",
        b"ffffffffffffffffff\r\n",
    ] {
        let req = post(
            "/v1/messages",
            &key,
            "transfer-encoding: chunked\r\n",
            chunked,
        );
        refused(&s, &req, Shape::Anthropic, 400).await;
        let req = post(
            "/v1/chat/completions",
            &key,
            "transfer-encoding: chunked\r\n",
            chunked,
        );
        refused(&s, &req, Shape::OpenAi, 400).await;
    }
    // Fewer bytes than announced: cut off after request_timeout_secs.
    let req = post(
        "/v1/messages",
        &key,
        "content-length: 100\r\n",
        b"{\"model\":",
    );
    refused(&s, &req, Shape::Anthropic, 408).await;
    // More announced than allowed: refused without reading it.
    let req = post(
        "/v1/chat/completions",
        &key,
        "content-length: 99999999999\r\n",
        b"{}",
    );
    refused(&s, &req, Shape::OpenAi, 413).await;
    // A chunked body past the limit.
    let mut body = format!("{:x}\r\n", 8000).into_bytes();
    body.extend(vec![b'x'; 8000]);
    body.extend_from_slice(b"\r\n0\r\n\r\n");
    refused(
        &s,
        &post(
            "/v1/messages",
            &key,
            "transfer-encoding: chunked\r\n",
            &body,
        ),
        Shape::Anthropic,
        413,
    )
    .await;
    // Fewer announced than sent: the body is cut short (invalid JSON), the rest
    // is a garbage second request.
    let req = post(
        "/v1/messages",
        &key,
        &format!("content-length: {}\r\n", valid.len() - 3),
        &valid,
    );
    refused(&s, &req, Shape::Anthropic, 400).await;
    // A refused request and a valid one pipelined on one connection: both answered.
    let first =
        String::from_utf8(post("/v1/messages", &key, "content-length: 2\r\n", b"[]")).unwrap();
    let mut two = first.replace("connection: close\r\n", "").into_bytes();
    two.extend(post(
        "/v1/messages",
        &key,
        &format!("content-length: {}\r\n", valid.len()),
        &valid,
    ));
    let text = String::from_utf8_lossy(&exchange(&s, &two).await).into_owned();
    let second = text
        .find("HTTP/1.1 200")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(text.starts_with("HTTP/1.1 400") && second > 0, "{text}");
    still_serving(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn http_1_0_and_expect_continue_are_served() {
    let s = Server::builtin().await;
    let body = serde_json::to_vec(&anthropic_request("dragon", "hi")).unwrap();
    let mut req = format!(
        "POST /v1/messages HTTP/1.0\r\nauthorization: Bearer {}\r\ncontent-length: {}\r\n\r\n",
        s.key,
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    let raw = exchange(&s, &req).await;
    assert_eq!(
        parse(&raw).unwrap().0,
        200,
        "{}",
        String::from_utf8_lossy(&raw)
    );

    let bad = b"[1,2";
    let req = post(
        "/v1/messages",
        &s.key,
        &format!("expect: 100-continue\r\ncontent-length: {}\r\n", bad.len()),
        bad,
    );
    // The body goes with the head; the server may or may not say 100 first.
    let raw = exchange(&s, &req).await;
    let text = String::from_utf8_lossy(&raw);
    let text = text
        .strip_prefix("HTTP/1.1 100 Continue\r\n\r\n")
        .unwrap_or(&text);
    let (status, headers, body) = parse(text.as_bytes()).unwrap();
    refusal(
        Shape::Anthropic,
        reqwest::StatusCode::from_u16(status).unwrap(),
        &headers,
        &body,
    )
    .unwrap();
    s.stop().await;
}

#[tokio::test]
async fn cleartext_http2_is_not_spoken() {
    let s = Server::builtin().await;
    let raw = exchange(
        &s,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
    )
    .await;
    // Closed, or a bare HTTP/1.1 refusal: never an h2 SETTINGS frame.
    assert!(raw.is_empty() || raw.starts_with(b"HTTP/1.1 4"), "{raw:?}");
    still_serving(&s).await;
    s.stop().await;
}
