//! Property: a streamed answer, folded into one message the way the official
//! SDKs fold it, equals the same answer given unstreamed, for a client of the
//! other shape than its upstream; a client of the upstream's own shape gets the
//! upstream's events as they were sent, but for the model name. Everything between the scripted upstream and the
//! client is the gateway's own: its HTTP client, SSE decoder, upstream
//! translators, meter and egress renderers, driven through `Gateway::call_json`
//! and `Gateway::stream` as the in-process surfaces call them.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod props;

use std::sync::OnceLock;
use std::time::Duration;

use futures::StreamExt;
use mws_core::canonical::ChatResponse;
use mws_core::testing::{MockReply, MockUpstream};
use mws_core::{Endpoint, Gateway};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use props::response::{anthropic_response, openai_response};
use props::sdk;
use props::wire::{
    anthropic_complete, anthropic_events, anthropic_frames, openai_chunks, openai_complete,
    openai_frames, wire, Wire,
};

/// A gateway whose two profiles reach one scripted upstream, one per API.
struct Fixture {
    rt: tokio::runtime::Runtime,
    mock: MockUpstream,
    gateway: Gateway,
}

/// One fixture per property, so their scripted replies never mix.
fn fixture(cell: &'static OnceLock<Fixture>) -> &'static Fixture {
    cell.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mock = rt.block_on(MockUpstream::start()).unwrap();
        let url = mock.base_url();
        let mut cfg = String::from("[store]\nkind = \"memory\"\n[routing]\ndefault_profile = \"via-openai\"\naliases = {}\n");
        for kind in ["openai", "anthropic"] {
            cfg += &format!(
                "[[upstreams]]\nname = \"{kind}\"\nkind = \"{kind}\"\nbase_url = \"{url}\"\nmax_retries = 0\n\
                 [[profiles]]\nid = \"via-{kind}\"\nupstream = \"{kind}\"\nupstream_model = \"up\"\n\
                 context_window = 262144\ntokens_per_second = 100\ninput_price_per_mtok = 1\noutput_price_per_mtok = 1\n"
            );
        }
        let gateway = rt.block_on(async { Gateway::from_toml_str(&cfg) }).unwrap();
        Fixture { rt, mock, gateway }
    })
}

impl Fixture {
    fn complete(&self, endpoint: Endpoint, body: &Value, reply: Value) -> Value {
        self.mock.push(MockReply::json(reply));
        self.rt
            .block_on(self.gateway.call_json(endpoint, body, None))
            .unwrap_or_else(|e| panic!("complete: {e}"))
    }

    fn stream(&self, endpoint: Endpoint, body: &Value, body_chunks: Vec<String>) -> Vec<Value> {
        self.mock.push(MockReply::Sse {
            frames: body_chunks,
            fail_after: None,
            delay: Duration::ZERO,
        });
        self.rt.block_on(async {
            let s = self.gateway.stream(endpoint, body, None).await.unwrap();
            s.map(|item| item.unwrap()).collect().await
        })
    }
}

/// A message as the SDK types read it: every field they know present (absent
/// reads as null), tool-call arguments parsed (their spacing is the upstream's);
/// any other field fails the test.
fn openai_message_view(m: &Value) -> Value {
    const FIELDS: [&str; 5] = [
        "role",
        "content",
        "refusal",
        "reasoning_content",
        "tool_calls",
    ];
    let obj = m.as_object().unwrap();
    let unknown: Vec<&String> = obj
        .keys()
        .filter(|k| !FIELDS.contains(&k.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "unexpected message fields {unknown:?} in {m}"
    );
    let mut view: Map<String, Value> = FIELDS
        .iter()
        .map(|k| ((*k).to_owned(), obj.get(*k).cloned().unwrap_or(Value::Null)))
        .collect();
    // Streams open with `content: ""` as OpenAI's do, so an answer without text
    // accumulates to "" where the whole answer says null: the same to a reader.
    if view["content"] == "" {
        view["content"] = Value::Null;
    }
    for call in view["tool_calls"].as_array_mut().into_iter().flatten() {
        // A delta's position; the message's tool call type has no such field.
        call.as_object_mut().unwrap().remove("index");
        let args = call["function"]["arguments"].as_str().unwrap().to_owned();
        call["function"]["arguments"] = serde_json::from_str(&args)
            .unwrap_or_else(|e| panic!("arguments are not JSON ({e}): {args}"));
    }
    Value::Object(view)
}

/// A `chat.completion` less what differs per response (`created`, `object`).
fn openai_view(c: &Value) -> Value {
    let mut v = c.clone();
    let o = v.as_object_mut().unwrap();
    o.remove("created");
    o.remove("object");
    for choice in v["choices"].as_array_mut().into_iter().flatten() {
        choice["message"] = openai_message_view(&choice["message"]);
    }
    v
}

/// Which API the fixture's upstream speaks.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    OpenAi,
    Anthropic,
}

/// Both client shapes against one upstream answer: complete, then streamed.
/// `sent` is what the upstream streams, one JSON value per event.
fn same_answer(
    fx: &Fixture,
    (profile, kind): (&str, Kind),
    r: &ChatResponse,
    complete: &Value,
    (frames, sent): (&[String], &[Value]),
    w: &Wire,
) -> Result<(), TestCaseError> {
    let stops: Vec<&String> = r.stop_sequence.iter().collect();
    let anthropic = json!({"model": profile, "max_tokens": 4096, "stop_sequences": stops,
        "messages": [{"role": "user", "content": "hi"}]});
    let events = fx.stream(Endpoint::Messages, &anthropic, w.transport(frames));
    if kind == Kind::Anthropic {
        let mut expected = sent.to_vec();
        expected[0]["message"]["model"] = json!(profile);
        prop_assert_eq!(&events, &expected, "Anthropic client, forwarded");
    } else {
        let full = fx.complete(Endpoint::Messages, &anthropic, complete.clone());
        let folded = sdk::anthropic_message(&events).map_err(TestCaseError::fail)?;
        prop_assert_eq!(&folded, &full, "Anthropic client; events {:#?}", events);
    }

    let openai = json!({"model": profile, "stop": stops, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "hi"}]});
    let chunks = fx.stream(Endpoint::ChatCompletions, &openai, w.transport(frames));
    if kind == Kind::OpenAi {
        let mut expected = sent.to_vec();
        for chunk in &mut expected {
            chunk["model"] = json!(profile);
        }
        prop_assert_eq!(&chunks, &expected, "OpenAI client, forwarded");
    } else {
        let full = fx.complete(Endpoint::ChatCompletions, &openai, complete.clone());
        let folded = sdk::openai_completion(&chunks).map_err(TestCaseError::fail)?;
        prop_assert_eq!(
            openai_view(&folded),
            openai_view(&full),
            "OpenAI client; chunks {:#?}",
            chunks
        );
    }
    Ok(())
}

static OPENAI: OnceLock<Fixture> = OnceLock::new();
static ANTHROPIC: OnceLock<Fixture> = OnceLock::new();

proptest! {
    #![proptest_config(props::config(128))]

    /// An OpenAI-compatible upstream: content and reasoning deltas, argument
    /// fragments cut anywhere, the finish chunk and a trailing usage-only chunk.
    #[test]
    fn openai_upstream_streams_what_it_answers(r in openai_response(), w in wire()) {
        let fx = fixture(&OPENAI);
        let chunks = openai_chunks(&r, &w);
        let frames = openai_frames(&chunks);
        let upstream = ("via-openai", Kind::OpenAi);
        same_answer(fx, upstream, &r, &openai_complete(&r, &w), (&frames, &chunks), &w)?;
    }

    /// An Anthropic upstream: every event, deltas cut anywhere, pings between.
    #[test]
    fn anthropic_upstream_streams_what_it_answers(r in anthropic_response(), w in wire()) {
        let fx = fixture(&ANTHROPIC);
        let events = anthropic_events(&r, &w);
        let frames = anthropic_frames(&events);
        let upstream = ("via-anthropic", Kind::Anthropic);
        same_answer(fx, upstream, &r, &anthropic_complete(&r), (&frames, &events), &w)?;
    }
}
