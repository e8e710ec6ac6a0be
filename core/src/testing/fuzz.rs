//! Fuzz harnesses: one per cargo-fuzz target in `fuzz/`, each taking any bytes.
//! They return nothing and never panic by design, so a panic (an overflow, an
//! index out of range, a broken invariant checked here) is a bug in the core.
//! `core/tests/fuzz_regressions.rs` replays the corpora and regressions through
//! the same functions.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;

use crate::accounts::money::{cost_nanos, worst_cost_nanos};
use crate::call::Endpoint;
use crate::call::Shape;
use crate::canonical::request::Source;
use crate::canonical::{ChatRequest, EventStream, StreamEvent, Usage};
use crate::config::ToolIdStyle;
use crate::egress::{self, SseFrame};
use crate::egress::{Render, StreamRenderer};
use crate::gateway::Gateway;
use crate::meter::record_usage;
use crate::meter::{render_stream, Meter};
use crate::route::{Profile, Router};
use crate::state::State;
use crate::tokens::estimate_request;
use crate::upstream::sse::{self, SseDecoder};
use crate::upstream::{self, tool_ids, EchoUpstream};
use crate::{ingress, Config};

/// A harness: any bytes in, nothing out.
pub type Harness = fn(&[u8]);

/// Every target by the name of its directory under `fuzz/corpus` and `fuzz/regressions`.
pub const TARGETS: &[(&str, Harness)] = &[
    ("anthropic_ingress", anthropic_ingress),
    ("openai_ingress", openai_ingress),
    ("upstream_sse", upstream_sse),
    ("config", config),
];

/// A body for `/v1/messages` and `/v1/messages/count_tokens`; what parses is
/// translated for both upstream kinds, counted, and answered by the echo.
pub fn anthropic_ingress(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(req) = ingress::anthropic::parse_count_tokens(&body) {
        egress::count_tokens(estimate_request(&req));
    }
    if let Ok(req) = ingress::anthropic::parse_messages(&body) {
        chat_request(req, Shape::Anthropic, body);
    }
}

/// A body for `/v1/chat/completions` (translated and answered as above),
/// `/v1/embeddings` or `/v1/rerank`.
pub fn openai_ingress(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(req) = ingress::retrieval::parse_embeddings(&body) {
        let _ = req.input_estimate();
    }
    if let Ok(req) = ingress::retrieval::parse_rerank(&body) {
        let _ = req.input_estimate();
    }
    if let Ok(req) = ingress::openai::parse_chat(&body) {
        chat_request(req, Shape::OpenAi, body);
    }
}

/// What an upstream may send: the first byte picks how the rest is cut into
/// network chunks (0: one chunk, n: pieces of 1..=n bytes), the rest is the
/// body. It goes through the SSE decoder, both stream translators and both
/// renderers, and, when it is JSON, through both response parsers.
pub fn upstream_sse(data: &[u8]) {
    let Some((&cut, body)) = data.split_first() else {
        return;
    };
    let Some(state) = state() else {
        return;
    };
    let chunks = split(body, cut);
    // Where the network cuts a body must not change what it says.
    assert_eq!(
        decode(std::slice::from_ref(&Bytes::copy_from_slice(body))),
        decode(&chunks),
        "the SSE decoder's events depend on where the body was cut"
    );
    let mut req = ChatRequest::new("dragon");
    req.stop_sequences = vec!["STOP".into()];
    let batches = || sse::events(futures::stream::iter(chunks.clone().into_iter().map(Ok)));
    render(
        state,
        upstream::openai::event_stream(batches(), 7, &req.stop_sequences),
        &req,
    );
    render(state, upstream::anthropic::event_stream(batches(), 7), &req);
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let profile = state.router.resolve(&req.model);
        for resp in [
            upstream::openai::response_from(&v, &req),
            upstream::anthropic::response_from(&v),
        ]
        .into_iter()
        .flatten()
        {
            record_usage(state, profile, resp.usage);
            egress::anthropic::render_response(&resp, &req.model);
            egress::openai::render_response(&resp, &req.model, 0);
        }
    }
}

/// A TOML config: parsed, validated, and when valid, routed and priced at the
/// largest usage an upstream can report.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::from_toml_str(text) else {
        return;
    };
    if let Ok(router) = Router::from_config(&config) {
        let most = Usage {
            input_tokens: u64::MAX,
            output_tokens: u64::MAX,
            cache_read_input_tokens: u64::MAX,
            cache_creation_input_tokens: u64::MAX,
        };
        for p in router.profiles() {
            cost_nanos(&most, &p.prices());
            worst_cost_nanos(u64::MAX, u64::MAX, &p.prices());
        }
    }
}

/// A parsed chat request on the rest of its way: token estimate, the upstream
/// bodies of both kinds (passed through and translated, with mapped tool ids),
/// and the echo's answer rendered in both shapes, whole and streamed.
fn chat_request(mut req: ChatRequest, shape: Shape, body: Value) {
    let Some(state) = state() else {
        return;
    };
    let profile = state.router.resolve(&req.model).clone();
    estimate_request(&req);
    req.source = Some(Source {
        shape,
        body: Arc::new(body),
    });
    upstream_bodies(&req, &profile);
    if let Some((mapped, _)) = tool_ids::map_request(&req, ToolIdStyle::Alphanumeric9) {
        upstream_bodies(&mapped, &profile);
    }
    req.source = None;
    upstream_bodies(&req, &profile);

    let echo = EchoUpstream::default();
    let resp = echo.complete(&req);
    egress::anthropic::render_response(&resp, &req.model);
    egress::openai::render_response(&resp, &req.model, 0);
    render(state, echo.stream(&req, profile.tokens_per_second), &req);
}

fn upstream_bodies(req: &ChatRequest, profile: &Profile) {
    for stream in [false, true] {
        let target = profile.target(profile.output_budget(req.max_tokens, estimate_request(req)));
        let _ = upstream::openai::request_body(req, &target, stream);
        let _ = upstream::anthropic::request_body(req, &target, stream);
    }
}

/// Renders the events in both shapes as the pipeline does (metered), OpenAI
/// chunks with and without the usage chunk, checking that every frame is one
/// well-formed SSE event.
fn render(state: &Arc<State>, events: EventStream, req: &ChatRequest) {
    let events: Vec<StreamEvent> = futures::executor::block_on(events.collect());
    let mut req = req.clone();
    for (shape, include_usage) in [
        (Shape::Anthropic, false),
        (Shape::OpenAi, false),
        (Shape::OpenAi, true),
    ] {
        req.include_usage = include_usage;
        let profile = state.router.resolve(&req.model).clone();
        let meter = Meter::new(
            state.clone(),
            Endpoint::ChatCompletions,
            "req_fuzz".into(),
            profile,
            None,
            7,
        );
        let frames = render_stream(
            StreamRenderer::new(Render::chat(shape, &req), 0),
            Box::pin(futures::stream::iter(events.clone())),
            meter,
            None,
        );
        let frames: Vec<SseFrame> = futures::executor::block_on(frames.collect());
        for f in &frames {
            assert!(
                !f.data.contains(['\n', '\r']),
                "a rendered frame's data spans lines: {:?}",
                f.data
            );
            assert!(
                f.data == "[DONE]" || serde_json::from_str::<Value>(&f.data).is_ok(),
                "a rendered frame is not JSON: {:?}",
                f.data
            );
        }
    }
}

fn decode(chunks: &[Bytes]) -> Vec<sse::SseEvent> {
    let mut decoder = SseDecoder::new();
    let mut out = Vec::new();
    for c in chunks {
        decoder.feed(c, &mut out);
    }
    decoder.finish(&mut out);
    out
}

/// Cuts `body` into pieces of pseudo-random lengths in 1..=`max` (one piece when 0).
fn split(body: &[u8], max: u8) -> Vec<Bytes> {
    if max == 0 {
        return vec![Bytes::copy_from_slice(body)];
    }
    let mut seed = u32::from(max);
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = 1 + (seed >> 16) as usize % usize::from(max);
        let (piece, tail) = rest.split_at(n.min(rest.len()));
        out.push(Bytes::copy_from_slice(piece));
        rest = tail;
    }
    out
}

/// One built-in gateway (echo upstream, memory store) shared by every run.
fn state() -> Option<&'static Arc<State>> {
    static STATE: OnceLock<Option<Arc<State>>> = OnceLock::new();
    STATE
        .get_or_init(|| Gateway::builtin().ok().map(|g| g.state().clone()))
        .as_ref()
}
