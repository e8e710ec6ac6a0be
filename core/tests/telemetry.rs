//! OpenTelemetry traces end to end: a gateway exporting to an OTLP receiver on
//! loopback (decoded with the opentelemetry-proto types), in front of the
//! scripted mock upstream. The spans and their GenAI attributes, the parent
//! from a client's `traceparent`, a child span per upstream try, the trace
//! context reaching the upstream, streamed and whole answers, nothing of a
//! prompt, key or completion in the exported bytes, and spans dropped (and
//! counted) rather than waited for when the collector fails or stalls.
// clippy.toml allows these in #[test] functions only; the helpers are test code too.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::post;
use bytes::Bytes;
use mws_core::testing::{MockReply, MockUpstream};
use mws_core::{CallContext, Endpoint, Gateway, ServeHandle, TraceHeaders};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span};
use prost::Message;
use serde_json::{json, Value};

const LIMITS: &str =
    "[limits]\nunauthenticated_rpm_per_ip = 100000\nunauthenticated_tpm_per_ip = 1000000000\n\
    [[limits.tiers]]\nmin_lifetime_spend_usd = 0\nrpm = 100000\ntpm = 1000000000\n";

/// Text that must never reach a span.
const PROMPT: &str = "the-secret-prompt-7f3a91";
const COMPLETION: &str = "Hello from the mock upstream.";

/// How the receiver answers an export.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Take,
    Fail,
    /// Never answers (a stalled collector).
    Hang,
}

#[derive(Clone)]
struct Receiver {
    mode: Mode,
    /// The raw bodies of the exports that arrived.
    exports: Arc<Mutex<Vec<Bytes>>>,
}

async fn traces(State(r): State<Receiver>, body: Bytes) -> axum::response::Response {
    r.exports.lock().unwrap().push(body);
    match r.mode {
        Mode::Take => ([("content-type", "application/x-protobuf")], Bytes::new()).into_response(),
        Mode::Fail => (http::StatusCode::INTERNAL_SERVER_ERROR, "down").into_response(),
        Mode::Hang => std::future::pending().await,
    }
}

/// An OTLP/HTTP receiver on 127.0.0.1:0.
async fn receiver(mode: Mode) -> (String, Receiver) {
    let r = Receiver {
        mode,
        exports: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/v1/traces", post(traces))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, r)
}

impl Receiver {
    fn requests(&self) -> Vec<ExportTraceServiceRequest> {
        let exports = self.exports.lock().unwrap().clone();
        exports
            .iter()
            .map(|b| ExportTraceServiceRequest::decode(b.as_ref()).unwrap())
            .collect()
    }

    fn spans(&self) -> Vec<Span> {
        self.requests()
            .into_iter()
            .flat_map(|r| r.resource_spans)
            .flat_map(|rs| rs.scope_spans)
            .flat_map(|ss| ss.spans)
            .collect()
    }

    /// Waits (flushing) until `n` spans have arrived; fails past a deadline.
    async fn wait_for(&self, gw: &Gateway, n: usize) -> Vec<Span> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            gw.flush_telemetry().await;
            let spans = self.spans();
            if spans.len() >= n {
                return spans;
            }
            assert!(
                Instant::now() < deadline,
                "{} spans arrived, expected {n}",
                spans.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every byte exported so far.
    fn all_bytes(&self) -> Vec<u8> {
        self.exports.lock().unwrap().concat()
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn attr<'a>(s: &'a Span, key: &str) -> Option<&'a Any> {
    s.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn text<'a>(s: &'a Span, key: &str) -> &'a str {
    match attr(s, key) {
        Some(Any::StringValue(v)) => v,
        other => panic!("{key} of {:?} is {other:?}", s.name),
    }
}

fn int(s: &Span, key: &str) -> i64 {
    match attr(s, key) {
        Some(Any::IntValue(v)) => *v,
        other => panic!("{key} of {:?} is {other:?}", s.name),
    }
}

fn strings(s: &Span, key: &str) -> Vec<String> {
    match attr(s, key) {
        Some(Any::ArrayValue(a)) => a
            .values
            .iter()
            .map(|v| match &v.value {
                Some(Any::StringValue(t)) => t.clone(),
                other => panic!("{key} holds {other:?}"),
            })
            .collect(),
        other => panic!("{key} of {:?} is {other:?}", s.name),
    }
}

fn status(s: &Span) -> i32 {
    s.status.as_ref().map_or(0, |st| st.code)
}

fn assert_nothing_secret(r: &Receiver, key: &str) {
    let bytes = r.all_bytes();
    assert!(!bytes.is_empty());
    for secret in [PROMPT, key, COMPLETION, "Hello from", "mock upstream"] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret:?} was exported"
        );
    }
}

/// A gateway with a profile `dragon` on `upstreams` (the first primary, the
/// rest its fallbacks), `telemetry` as its `[telemetry]` section; served,
/// with a funded key.
async fn start(
    upstreams: &[(&str, &str, &str)],
    telemetry: &str,
) -> (Gateway, ServeHandle, String) {
    let mut cfg = format!("[store]\nkind = \"memory\"\n{LIMITS}[telemetry]\n{telemetry}\n");
    for (name, kind, url) in upstreams {
        cfg += &format!(
            "[[upstreams]]\nname = \"{name}\"\nkind = \"{kind}\"\nbase_url = \"{url}\"\nmax_retries = 0\n"
        );
    }
    let fallbacks: Vec<String> = upstreams[1..]
        .iter()
        .map(|u| format!("\"{}\"", u.0))
        .collect();
    cfg += &format!(
        "[[profiles]]\nid = \"dragon\"\nupstream = \"{}\"\nupstream_model = \"up-model\"\ncontext_window = 262144\n\
         tokens_per_second = 189\ninput_price_per_mtok = 0.48\noutput_price_per_mtok = 1.08\nfallbacks = [{}]\n",
        upstreams[0].0,
        fallbacks.join(", ")
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
    (gw, h, key)
}

fn traced(collector: &str) -> String {
    format!(
        "otlp_endpoint = \"{collector}\"\nservice_name = \"mws-test\"\nexport_interval_ms = 20\n"
    )
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

#[tokio::test]
async fn a_call_is_a_child_of_the_client_trace_with_a_span_per_upstream_try() {
    let (collector, r) = receiver(Mode::Take).await;
    let broken = MockUpstream::start().await.unwrap();
    broken.push(MockReply::status(
        502,
        json!({"error": {"message": "down"}}),
    ));
    let good = MockUpstream::start().await.unwrap();
    let (gw, h, key) = start(
        &[
            ("a", "openai", &broken.base_url()),
            ("b", "anthropic", &good.base_url()),
        ],
        &traced(&collector),
    )
    .await;
    let resp = reqwest::Client::new()
        .post(format!("http://{}/v1/chat/completions", h.addr()))
        .bearer_auth(&key)
        .header("traceparent", format!("00-{TRACE_ID}-{CLIENT_SPAN}-01"))
        .header("tracestate", "vendor=abc")
        .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": PROMPT}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let request_id = resp.headers()["request-id"].to_str().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], COMPLETION);

    let spans = r.wait_for(&gw, 3).await;
    assert_eq!(spans.len(), 3, "{spans:?}");
    let call = spans
        .iter()
        .find(|s| s.kind == SpanKind::Server as i32)
        .unwrap();
    assert_eq!(call.name, "chat gpt-4o");
    assert_eq!(hex(&call.trace_id), TRACE_ID);
    assert_eq!(hex(&call.parent_span_id), CLIENT_SPAN);
    assert_eq!(text(call, "gen_ai.operation.name"), "chat");
    assert_eq!(text(call, "gen_ai.request.model"), "gpt-4o");
    assert_eq!(text(call, "gen_ai.provider.name"), "anthropic");
    assert_eq!(text(call, "gen_ai.response.model"), "up-model");
    assert_eq!(int(call, "gen_ai.usage.input_tokens"), 10);
    assert_eq!(int(call, "gen_ai.usage.output_tokens"), 7);
    assert_eq!(strings(call, "gen_ai.response.finish_reasons"), ["stop"]);
    assert_eq!(text(call, "mws.request_id"), request_id);
    assert_eq!(text(call, "mws.profile"), "dragon");
    assert_eq!(text(call, "mws.deployment"), "b");
    assert_eq!(int(call, "http.response.status_code"), 200);
    assert_eq!(text(call, "http.route"), "/v1/chat/completions");
    match attr(call, "mws.cost_usd") {
        Some(Any::DoubleValue(c)) => assert!(*c > 0.0, "{c}"),
        other => panic!("cost is {other:?}"),
    }
    assert_ne!(status(call), StatusCode::Error as i32);

    let mut tries: Vec<&Span> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Client as i32)
        .collect();
    tries.sort_by_key(|s| int(s, "mws.try"));
    assert_eq!(tries.len(), 2);
    for t in &tries {
        assert_eq!(hex(&t.trace_id), TRACE_ID);
        assert_eq!(t.parent_span_id, call.span_id);
        assert_eq!(t.name, "chat up-model");
        assert_eq!(text(t, "gen_ai.request.model"), "up-model");
        assert!(t.start_time_unix_nano >= call.start_time_unix_nano);
        assert!(t.end_time_unix_nano <= call.end_time_unix_nano);
    }
    assert_eq!(text(tries[0], "mws.deployment"), "a");
    assert_eq!(text(tries[0], "gen_ai.provider.name"), "openai");
    assert_eq!(text(tries[0], "error.type"), "upstream");
    assert_eq!(status(tries[0]), StatusCode::Error as i32);
    assert_eq!(text(tries[1], "mws.deployment"), "b");
    assert_eq!(text(tries[1], "gen_ai.provider.name"), "anthropic");
    assert!(attr(tries[1], "error.type").is_none());

    // Each upstream got the trace context of its own try.
    for (mock, t) in [(&broken, tries[0]), (&good, tries[1])] {
        let got = &mock.received()[0].headers;
        assert_eq!(
            got["traceparent"],
            format!("00-{TRACE_ID}-{}-01", hex(&t.span_id))
        );
        assert_eq!(got["tracestate"], "vendor=abc");
    }
    let resource = &r.requests()[0].resource_spans[0].resource;
    let service = resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| kv.value.clone())
        .and_then(|v| v.value);
    assert_eq!(service, Some(Any::StringValue("mws-test".into())));
    assert_nothing_secret(&r, &key);
    h.shutdown().await;
}

#[tokio::test]
async fn a_streamed_call_span_ends_with_the_stream_and_starts_the_trace() {
    let (collector, r) = receiver(Mode::Take).await;
    let mock = MockUpstream::start().await.unwrap();
    let (gw, h, key) = start(&[("up", "openai", &mock.base_url())], &traced(&collector)).await;
    let resp = reqwest::Client::new()
        .post(format!("http://{}/v1/messages", h.addr()))
        .header("x-api-key", &key)
        .json(&json!({"model": "dragon", "max_tokens": 50, "stream": true,
            "messages": [{"role": "user", "content": PROMPT}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text_body = resp.text().await.unwrap();
    assert!(text_body.contains("message_stop"), "{text_body}");

    let spans = r.wait_for(&gw, 2).await;
    assert_eq!(spans.len(), 2, "{spans:?}");
    let call = spans
        .iter()
        .find(|s| s.kind == SpanKind::Server as i32)
        .unwrap();
    let attempt = spans
        .iter()
        .find(|s| s.kind == SpanKind::Client as i32)
        .unwrap();
    // No client context: the call's span is the root of a new trace.
    assert!(call.parent_span_id.is_empty());
    assert_eq!(attempt.parent_span_id, call.span_id);
    assert_eq!(attempt.trace_id, call.trace_id);
    assert_eq!(call.name, "chat dragon");
    assert_eq!(text(call, "gen_ai.provider.name"), "openai");
    // Known only at the stream's end.
    assert_eq!(int(call, "gen_ai.usage.input_tokens"), 10);
    assert_eq!(int(call, "gen_ai.usage.output_tokens"), 7);
    assert_eq!(
        strings(call, "gen_ai.response.finish_reasons"),
        ["end_turn"]
    );
    assert_eq!(int(call, "http.response.status_code"), 200);
    assert!(call.end_time_unix_nano >= attempt.end_time_unix_nano);
    // The gateway's own context went upstream: its trace, the try's span, sampled.
    let got = &mock.received()[0].headers;
    assert_eq!(
        got["traceparent"],
        format!("00-{}-{}-01", hex(&call.trace_id), hex(&attempt.span_id))
    );
    assert!(!got.contains_key("tracestate"));
    assert_nothing_secret(&r, &key);
    h.shutdown().await;
}

#[tokio::test]
async fn in_process_calls_are_traced_and_failures_carry_their_kind_only() {
    let (collector, r) = receiver(Mode::Take).await;
    let mock = MockUpstream::start().await.unwrap();
    mock.push(MockReply::status(
        400,
        json!({"error": {"message": format!("bad request quoting {PROMPT}")}}),
    ));
    let (gw, h, key) = start(&[("up", "openai", &mock.base_url())], &traced(&collector)).await;
    let body = serde_json::to_vec(&json!({"model": "dragon", "input": PROMPT})).unwrap();
    let ctx = CallContext {
        trace: Some(TraceHeaders {
            traceparent: format!("00-{TRACE_ID}-{CLIENT_SPAN}-01"),
            tracestate: None,
        }),
        ..CallContext::new()
    };
    let reply = gw.call(Endpoint::Embeddings, &body, ctx).await;
    assert_eq!(reply.status(), 400);
    let reply = gw
        .call(Endpoint::Embeddings, &body, CallContext::new())
        .await;
    assert_eq!(reply.status(), 200);

    let spans = r.wait_for(&gw, 4).await;
    let calls: Vec<&Span> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Internal as i32)
        .collect();
    assert_eq!(calls.len(), 2, "{spans:?}");
    let failed = calls.iter().find(|s| hex(&s.trace_id) == TRACE_ID).unwrap();
    assert_eq!(failed.name, "embeddings dragon");
    assert_eq!(text(failed, "gen_ai.operation.name"), "embeddings");
    assert_eq!(text(failed, "error.type"), "invalid_request");
    assert_eq!(int(failed, "http.response.status_code"), 400);
    assert_eq!(status(failed), StatusCode::Error as i32);
    assert_eq!(
        failed.status.as_ref().unwrap().message,
        "invalid_request",
        "the kind, not the upstream's words"
    );
    let ok = calls.iter().find(|s| hex(&s.trace_id) != TRACE_ID).unwrap();
    assert_eq!(int(ok, "gen_ai.usage.input_tokens"), 2);
    assert!(attr(ok, "http.request.method").is_none());
    assert_eq!(
        spans
            .iter()
            .filter(|s| s.kind == SpanKind::Client as i32)
            .count(),
        2
    );
    assert_nothing_secret(&r, &key);
    h.shutdown().await;
}

#[tokio::test]
async fn tracing_off_passes_the_client_traceparent_on_unchanged() {
    let mock = MockUpstream::start().await.unwrap();
    let (gw, h, key) = start(&[("up", "openai", &mock.base_url())], "enabled = false").await;
    assert!(!gw.flush_telemetry().await);
    let client = reqwest::Client::new();
    let url = format!("http://{}/v1/chat/completions", h.addr());
    let body = json!({"model": "dragon", "messages": [{"role": "user", "content": "hi"}]});
    let tp = format!("00-{TRACE_ID}-{CLIENT_SPAN}-00");
    for traceparent in [Some(tp.as_str()), Some("not-a-traceparent"), None] {
        let mut req = client.post(&url).bearer_auth(&key).json(&body);
        if let Some(tp) = traceparent {
            req = req.header("traceparent", tp);
        }
        assert_eq!(req.send().await.unwrap().status(), 200);
    }
    let got = mock.received();
    assert_eq!(got[0].headers["traceparent"], tp);
    assert!(!got[1].headers.contains_key("traceparent"));
    assert!(!got[2].headers.contains_key("traceparent"));
    let metrics = client
        .get(format!("http://{}/metrics", h.addr()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("mws_telemetry_spans_dropped_total{reason=\"queue_full\"} 0"),
        "{metrics}"
    );
    h.shutdown().await;
}

/// `mws_telemetry_spans_dropped_total{reason}` as /metrics shows it.
async fn dropped(h: &ServeHandle, reason: &str) -> u64 {
    let text = reqwest::get(format!("http://{}/metrics", h.addr()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("mws_telemetry_spans_dropped_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap()
        .parse()
        .unwrap()
}

async fn chat(h: &ServeHandle, key: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("http://{}/v1/chat/completions", h.addr()))
        .bearer_auth(key)
        .json(&json!({"model": "dragon", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn spans_a_failing_collector_refuses_are_dropped_and_counted() {
    let (collector, r) = receiver(Mode::Fail).await;
    let mock = MockUpstream::start().await.unwrap();
    let (_gw, h, key) = start(
        &[("up", "openai", &mock.base_url())],
        &format!("otlp_endpoint = \"{collector}\"\nexport_interval_ms = 10\n"),
    )
    .await;
    assert_eq!(chat(&h, &key).await, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    while dropped(&h, "export_failed").await < 2 {
        assert!(Instant::now() < deadline, "no export failure counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!r.exports.lock().unwrap().is_empty());
    assert_eq!(dropped(&h, "queue_full").await, 0);
    h.shutdown().await;
}

#[tokio::test]
async fn a_stalled_collector_never_holds_calls_up_and_a_full_queue_drops_spans() {
    let (collector, r) = receiver(Mode::Hang).await;
    let mock = MockUpstream::start().await.unwrap();
    let (_gw, h, key) = start(
        &[("up", "openai", &mock.base_url())],
        &format!(
            "otlp_endpoint = \"{collector}\"\nexport_interval_ms = 5\nexport_timeout_ms = 3000\nmax_queue_spans = 1\n"
        ),
    )
    .await;
    assert_eq!(chat(&h, &key).await, 200);
    // The exporter is now waiting on the collector...
    let deadline = Instant::now() + Duration::from_secs(10);
    while r.exports.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "nothing was exported");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // ...so the queue (one span) fills, and calls still go through at once.
    for _ in 0..3 {
        assert_eq!(chat(&h, &key).await, 200);
    }
    assert!(dropped(&h, "queue_full").await >= 5);
    h.shutdown().await;
}
