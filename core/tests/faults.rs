//! Faulty upstreams, one fault at a time, and what each one gives: the error in
//! the client's API shape (a status before the stream began, an error event
//! after), the upstream call cancelled, and the account charged exactly for
//! what was delivered (nothing when nothing was). The same faults under
//! concurrent load against the real binary are in tests/python/test_faults.py.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use std::time::{Duration, Instant};

use common::{anthropic_events, openai_chunks, Server, LIMITS};
use mws_core::accounts::LedgerRow;
use mws_core::testing::{MockReply, MockUpstream};
use serde_json::{json, Value};

/// What the test account was given (common::Server funds it with $1000).
const FUNDED: i64 = 1000 * 1_000_000_000;

/// `upstreams` as (name, kind, base URL), each with `timeouts`; the profile
/// `dragon` on the first with the others as fallbacks.
fn config(upstreams: &[(&str, &str, &str)], timeouts: &str) -> String {
    let mut c = String::from(LIMITS);
    for (name, kind, url) in upstreams {
        c += &format!(
            "[[upstreams]]\nname = \"{name}\"\nkind = \"{kind}\"\nbase_url = \"{url}\"\n{timeouts}\n"
        );
    }
    let fallbacks: Vec<String> = upstreams[1..]
        .iter()
        .map(|(n, _, _)| format!("\"{n}\""))
        .collect();
    c + &format!(
        "[[profiles]]\nid = \"dragon\"\nupstream = \"{}\"\nupstream_model = \"m\"\ncontext_window = 100000\n\
         tokens_per_second = 100\ninput_price_per_mtok = 0.48\noutput_price_per_mtok = 1.08\nfallbacks = [{}]\n",
        upstreams[0].0,
        fallbacks.join(", ")
    )
}

const QUICK: &str = "max_retries = 0\nfirst_byte_timeout_secs = 0.5\nidle_timeout_secs = 0.5";

/// A request both APIs take as it is.
fn request(stream: bool) -> Value {
    json!({"model": "dragon", "max_tokens": 200, "stream": stream,
        "messages": [{"role": "user", "content": "tell me something"}]})
}

/// An error answer (not a stream) in the path's API shape, with its message.
async fn error_status(s: &Server, path: &str, stream: bool, status: u16) -> String {
    let r = s.post(path, &request(stream)).await;
    assert_eq!(r.status.as_u16(), status, "{:?}", r.body);
    if path == "/v1/messages" {
        assert_eq!(r.body["type"], "error");
        assert_eq!(r.body["error"]["type"], "api_error");
    } else {
        assert_eq!(r.body["error"]["type"], "server_error");
    }
    r.body["error"]["message"].as_str().unwrap().to_string()
}

/// A stream that began and then failed: the text it delivered and the message
/// of its last event, an Anthropic `error` event or an OpenAI chunk with `error`.
async fn broken_stream(s: &Server, path: &str) -> (String, String) {
    let (_, text) = s.post_stream(path, &request(true)).await;
    if path == "/v1/messages" {
        let events = anthropic_events(&text);
        let (name, last) = events.last().unwrap();
        assert_eq!(name, "error", "{text}");
        let delivered = common::anthropic_text(&events);
        (delivered, last["error"]["message"].as_str().unwrap().into())
    } else {
        let chunks = openai_chunks(&text);
        let last = chunks.last().unwrap();
        assert_eq!(last["error"]["type"], "server_error", "{text}");
        let delivered: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        (delivered, last["error"]["message"].as_str().unwrap().into())
    }
}

async fn ledger(s: &Server) -> Vec<LedgerRow> {
    s.gateway.state().store.ledger(&s.account_id).await.unwrap()
}

/// The ledger once it holds `n` rows (a stream cut short settles in the
/// background), checked against the balance to the nano-dollar.
async fn settled_rows(s: &Server, n: usize) -> Vec<LedgerRow> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut rows = ledger(s).await;
    while rows.len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        rows = ledger(s).await;
    }
    assert_eq!(rows.len(), n, "{rows:?}");
    let account = s
        .gateway
        .state()
        .store
        .account(&s.account_id)
        .await
        .unwrap();
    let charged: i64 = rows.iter().map(|r| r.cost_nanos).sum();
    assert_eq!(FUNDED - account.balance_nanos, charged);
    rows
}

/// Waits until the mock has seen `n` streamed replies dropped by the gateway.
async fn abandoned(mock: &MockUpstream, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while mock.abandoned_streams() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        mock.abandoned_streams(),
        n,
        "the upstream call was not cancelled"
    );
}

fn chunk(text: &str) -> Value {
    json!({"id": "c", "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
}

fn frames(texts: &[&str]) -> Vec<String> {
    texts
        .iter()
        .map(|t| format!("data: {}\n\n", chunk(t)))
        .collect()
}

#[tokio::test]
async fn silent_before_the_first_event_is_504_and_nothing_is_charged() {
    let mock = MockUpstream::start().await.unwrap();
    let s = Server::with_config(&config(&[("up", "openai", &mock.base_url())], QUICK)).await;
    for (i, path) in ["/v1/messages", "/v1/chat/completions"].iter().enumerate() {
        // Headers, then nothing: the idle timeout fires before anything was
        // sent to the client, so it gets a status, not a broken stream.
        mock.push(MockReply::Stall { frames: Vec::new() });
        let message = error_status(&s, path, true, 504).await;
        assert!(message.contains("sent nothing"), "{message}");
        abandoned(&mock, 2 * i + 1).await;
        // The same for a whole answer that stops halfway.
        mock.push(MockReply::Stall {
            frames: vec!["{\"id\": \"half".into()],
        });
        error_status(&s, path, false, 504).await;
        abandoned(&mock, 2 * i + 2).await;
        // And before the headers (the first-byte timeout).
        mock.push(MockReply::Hang);
        let message = error_status(&s, path, true, 504).await;
        assert!(message.contains("no response within"), "{message}");
    }
    settled_rows(&s, 0).await;
    s.stop().await;
}

#[tokio::test]
async fn a_stream_silent_before_its_first_event_falls_back() {
    let stalled = MockUpstream::start().await.unwrap();
    let good = MockUpstream::start().await.unwrap();
    stalled.push(MockReply::Stall { frames: Vec::new() });
    let cfg = config(
        &[
            ("a", "openai", &stalled.base_url()),
            ("b", "anthropic", &good.base_url()),
        ],
        QUICK,
    );
    let s = Server::with_config(&cfg).await;
    let (_, text) = s.post_stream("/v1/chat/completions", &request(true)).await;
    assert!(text.contains("the mock upstream."), "{text}");
    assert_eq!((stalled.calls(), good.calls()), (1, 1));
    let rows = settled_rows(&s, 1).await;
    assert_eq!(rows[0].status, 200);
    s.stop().await;
}

#[tokio::test]
async fn silent_mid_stream_ends_with_an_error_event_charged_for_what_was_delivered() {
    let mock = MockUpstream::start().await.unwrap();
    let s = Server::with_config(&config(&[("up", "openai", &mock.base_url())], QUICK)).await;
    for (i, path) in ["/v1/messages", "/v1/chat/completions"].iter().enumerate() {
        mock.push(MockReply::Stall {
            frames: frames(&["partial ", "answer"]),
        });
        let (delivered, message) = broken_stream(&s, path).await;
        assert_eq!(delivered, "partial answer");
        assert!(message.contains("sent nothing"), "{message}");
        abandoned(&mock, i + 1).await;
        let rows = settled_rows(&s, i + 1).await;
        assert_eq!(rows[i].status, 504);
        assert_eq!(rows[i].output_tokens, 4, "14 characters delivered");
    }
    s.stop().await;
}

#[tokio::test]
async fn a_connection_reset_mid_stream_is_an_error_event_charged_for_what_was_delivered() {
    let mock = MockUpstream::start().await.unwrap();
    let s = Server::with_config(&config(&[("up", "anthropic", &mock.base_url())], QUICK)).await;
    let start = json!({"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant",
        "content": [], "model": "m", "usage": {"input_tokens": 10, "output_tokens": 1}}});
    let block = json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}});
    let delta = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "cut here"}});
    for (i, path) in ["/v1/messages", "/v1/chat/completions"].iter().enumerate() {
        let MockReply::Sse { frames, .. } = MockReply::anthropic_events(&[
            start.clone(),
            block.clone(),
            delta.clone(),
            start.clone(),
        ]) else {
            unreachable!()
        };
        mock.push(MockReply::Sse {
            frames,
            fail_after: Some(3),
            delay: Duration::ZERO,
        });
        let (delivered, message) = broken_stream(&s, path).await;
        assert_eq!(delivered, "cut here");
        assert!(message.contains("broke off"), "{message}");
        let rows = settled_rows(&s, i + 1).await;
        assert_eq!((rows[i].status, rows[i].input_tokens), (502, 10));
    }
    assert_eq!(mock.calls(), 2, "never retried once the stream began");
    s.stop().await;
}

#[tokio::test]
async fn invalid_json_and_invalid_sse_are_502_or_an_error_event() {
    let mock = MockUpstream::start().await.unwrap();
    let s = Server::with_config(&config(&[("up", "openai", &mock.base_url())], QUICK)).await;
    for path in ["/v1/messages", "/v1/chat/completions"] {
        mock.push(MockReply::Raw {
            status: 200,
            content_type: "application/json".into(),
            body: "{\"id\": \"chatcmpl\", oops".into(),
        });
        let message = error_status(&s, path, false, 502).await;
        assert!(message.contains("invalid JSON"), "{message}");
        // A first frame that is not JSON: nothing was sent yet, so a status.
        mock.push(MockReply::Sse {
            frames: vec!["data: {not json\n\n".into()],
            fail_after: None,
            delay: Duration::ZERO,
        });
        let message = error_status(&s, path, true, 502).await;
        assert!(message.contains("invalid chunk"), "{message}");
        // Not SSE at all (an HTML error page with a 200): nothing to show either.
        mock.push(MockReply::Raw {
            status: 200,
            content_type: "text/html".into(),
            body: "<html>bad gateway</html>".into(),
        });
        error_status(&s, path, true, 502).await;
    }
    settled_rows(&s, 0).await;
    // Garbage after the stream began ends it with an error event.
    for (i, path) in ["/v1/messages", "/v1/chat/completions"].iter().enumerate() {
        let mut f = frames(&["good start"]);
        f.push("data: {\"choices\": [\n\n".into());
        f.push(frames(&["never shown"]).remove(0));
        mock.push(MockReply::Sse {
            frames: f,
            fail_after: None,
            delay: Duration::ZERO,
        });
        let (delivered, message) = broken_stream(&s, path).await;
        assert_eq!(delivered, "good start");
        assert!(message.contains("invalid chunk"), "{message}");
        assert_eq!(settled_rows(&s, i + 1).await[i].status, 502);
    }
    s.stop().await;
}

#[tokio::test]
async fn an_upstream_failing_forever_is_retried_a_bounded_number_of_times_then_falls_back() {
    let first = MockUpstream::start().await.unwrap();
    let second = MockUpstream::start().await.unwrap();
    for mock in [&first, &second] {
        for _ in 0..20 {
            mock.push(MockReply::status(
                500,
                json!({"error": {"message": "boom"}}),
            ));
        }
    }
    let cfg = config(
        &[
            ("a", "openai", &first.base_url()),
            ("b", "anthropic", &second.base_url()),
        ],
        "max_retries = 2",
    );
    let s = Server::with_config(&cfg).await;
    let mut calls = 0;
    for path in ["/v1/messages", "/v1/chat/completions"] {
        for stream in [false, true] {
            let message = error_status(&s, path, stream, 502).await;
            assert!(message.contains("failed (500): boom"), "{message}");
            // One try and two retries on each upstream, then the client hears.
            calls += 3;
            assert_eq!((first.calls(), second.calls()), (calls, calls));
        }
    }
    settled_rows(&s, 0).await;
    s.stop().await;
}

#[tokio::test]
async fn an_upstream_that_never_accepts_the_connection_hits_the_connect_timeout() {
    // A listener with a backlog of one, already taken: the kernel drops the
    // gateway's SYNs, so its connect hangs until the connect timeout.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let _filler = std::net::TcpStream::connect(addr).unwrap();
    let url = format!("http://{addr}/v1");
    let s = Server::with_config(&config(
        &[("up", "openai", &url)],
        "max_retries = 1\nconnect_timeout_secs = 0.3",
    ))
    .await;
    for path in ["/v1/messages", "/v1/chat/completions"] {
        let message = error_status(&s, path, false, 504).await;
        assert!(message.contains("unreachable"), "{message}");
    }
    settled_rows(&s, 0).await;
    drop(listener);
    s.stop().await;
}

#[tokio::test]
async fn a_client_gone_mid_stream_cancels_the_upstream_and_is_charged_as_499() {
    use futures::StreamExt;
    let mock = MockUpstream::start().await.unwrap();
    let texts: Vec<String> = (0..100).map(|i| format!("part {i} ")).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let s = Server::with_config(&config(&[("up", "openai", &mock.base_url())], "")).await;
    for (i, path) in ["/v1/messages", "/v1/chat/completions"].iter().enumerate() {
        let mut f = frames(&texts);
        f.push("data: [DONE]\n\n".into());
        mock.push(MockReply::Sse {
            frames: f,
            fail_after: None,
            delay: Duration::from_millis(20),
        });
        let r = s.post_raw(path, &request(true)).await;
        assert_eq!(r.status(), 200);
        let mut body = r.bytes_stream();
        let mut seen = String::new();
        while !seen.contains("part 2 ") {
            seen += &String::from_utf8_lossy(&body.next().await.unwrap().unwrap());
        }
        drop(body);
        abandoned(&mock, i + 1).await;
        let rows = settled_rows(&s, i + 1).await;
        assert_eq!(rows[i].status, 499);
        assert!(rows[i].output_tokens > 0 && rows[i].output_tokens < 200);
        assert!(rows[i].cost_nanos > 0);
    }
    s.stop().await;
}
