//! Property: a request keeps its meaning from one API to the other and back.
//! Each leg renders the canonical request as the body an upstream of that kind
//! receives (`upstream::*::request_body`) and parses it with the ingress of that
//! API, as a client of the gateway would send it.
//!
//! What may differ is written down below, narrowly: `same_meaning` lists the
//! differences of representation, `through_openai` what the trip through an
//! OpenAI upstream drops or rewrites by design.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod props;

use mws_core::canonical::reasoning::thinking_for_effort;
use mws_core::canonical::{ChatRequest, ContentBlock, Message, Role, ToolChoice};
use mws_core::fleet::Lineup;
use mws_core::ingress::{anthropic::parse_messages, openai::parse_chat};
use mws_core::route::Profile;
use mws_core::tokens::estimate_request;
use mws_core::upstream::{anthropic, openai, output_budget};
use proptest::prelude::*;
use serde_json::Value;

use props::request::{chat_request, Reach};

/// The profile an upstream request is rendered for; it keeps the model name.
fn profile(model: &str) -> Profile {
    Profile {
        id: "p".into(),
        upstream_model: model.into(),
        context_window: 262_144,
        tokens_per_second: 100,
        input_price_per_mtok: 0.0,
        output_price_per_mtok: 0.0,
        cache_read_price_per_mtok: 0.0,
        cache_write_price_per_mtok: 0.0,
        input_nanos_per_mtok: 0,
        output_nanos_per_mtok: 0,
        cache_read_nanos_per_mtok: 0,
        cache_write_nanos_per_mtok: 0,
        upstreams: Vec::new(),
        upstream_names: Vec::new(),
        lineup: Lineup::empty("p"),
    }
}

/// The Messages body an Anthropic upstream receives.
fn anthropic_body(req: &ChatRequest) -> Value {
    let p = profile(&req.model);
    let budget = anthropic_budget(req);
    let bytes = anthropic::request_body(req, &p.target(budget), req.stream)
        .unwrap_or_else(|e| panic!("to Anthropic: {e}\n{req:#?}"));
    serde_json::from_slice(&bytes).unwrap()
}

/// The `max_tokens` an Anthropic upstream is sent.
fn anthropic_budget(req: &ChatRequest) -> u64 {
    output_budget(
        req.max_tokens,
        estimate_request(req),
        profile(&req.model).context_window,
        Some(anthropic::DEFAULT_MAX_TOKENS),
    )
}

/// The Chat Completions body an OpenAI upstream receives.
fn openai_body(req: &ChatRequest) -> Value {
    let p = profile(&req.model);
    let budget = output_budget(
        req.max_tokens,
        estimate_request(req),
        p.context_window,
        None,
    );
    let bytes = openai::request_body(req, &p.target(budget), req.stream)
        .unwrap_or_else(|e| panic!("to OpenAI: {e}\n{req:#?}"));
    serde_json::from_slice(&bytes).unwrap()
}

/// One leg through an Anthropic upstream's request, read back as a client's.
fn via_anthropic(req: &ChatRequest) -> ChatRequest {
    let body = anthropic_body(req);
    parse_messages(&body).unwrap_or_else(|e| panic!("Anthropic ingress refused: {e}\n{body:#}"))
}

/// One leg through an OpenAI upstream's request, read back as a client's.
fn via_openai(req: &ChatRequest) -> ChatRequest {
    let body = openai_body(req);
    parse_chat(&body).unwrap_or_else(|e| panic!("OpenAI ingress refused: {e}\n{body:#}"))
}

/// Differences of representation only, which either leg may introduce:
/// - `parallel_tool_calls: true` is the default of both APIs, so only `false` is sent;
/// - with tools offered, no tool choice means `auto` in both APIs (Anthropic needs
///   a tool_choice object to carry `disable_parallel_tool_use`);
/// - `include_usage` is asked of every streamed OpenAI upstream for billing: it
///   shapes the client's stream, not the answer.
fn same_meaning(mut r: ChatRequest) -> ChatRequest {
    if r.parallel_tool_calls == Some(true) {
        r.parallel_tool_calls = None;
    }
    if !r.tools.is_empty() && r.tool_choice.is_none() {
        r.tool_choice = Some(ToolChoice::Auto);
    }
    r.include_usage = false;
    r
}

/// The request as it arrives after a trip through an Anthropic upstream's
/// request, by design: thinking without a signature is left out, since Anthropic
/// refuses a thinking block it cannot verify (and allows leaving thinking out).
fn through_anthropic(mut r: ChatRequest) -> ChatRequest {
    // An effort level is sent as a thinking budget (`canonical::reasoning`).
    if r.thinking.is_none() {
        let budget = anthropic_budget(&r);
        r.thinking = r.effort().and_then(|e| thinking_for_effort(e, budget));
    }
    r.reasoning_effort = None;
    for m in &mut r.messages {
        m.content.retain(|b| {
            !matches!(b, ContentBlock::Thinking { signature, .. } if signature.as_deref().unwrap_or("").is_empty())
        });
    }
    r
}

/// The separators the OpenAI translation joins text blocks with: OpenAI-compatible
/// upstreams such as DeepSeek take string content only, so a system prompt, a user
/// turn's text (when it has no image), a tool result (its text lines joined as
/// `ContentBlock::plain_text` joins them) and an assistant turn's text each
/// become one string.
const SYSTEM_SEP: &str = "\n\n";
const USER_SEP: &str = "\n\n";
const ASSISTANT_SEP: &str = "";

fn joined(blocks: &[ContentBlock], sep: &str) -> Option<ContentBlock> {
    let texts: Vec<String> = blocks.iter().map(ContentBlock::plain_text).collect();
    let text = texts.join(sep);
    (!text.is_empty()).then(|| ContentBlock::text(text))
}

/// The request as it arrives after a trip through an OpenAI upstream's request,
/// by design:
/// - `cache_control`, `top_k`, the `thinking` setting, signatures and redacted
///   thinking are dropped (Anthropic-only);
/// - `is_error` is kept as text: the result reads `Error: ...`;
/// - text blocks join with the separators above; thinking joins with nothing.
fn through_openai(mut r: ChatRequest) -> ChatRequest {
    r.top_k = None;
    // A thinking setting is sent as its effort level (`canonical::reasoning`).
    r.reasoning_effort = r.effort().map(str::to_owned);
    r.thinking = None;
    r.system = joined(&r.system, SYSTEM_SEP).into_iter().collect();
    for t in &mut r.tools {
        t.cache_control = None;
    }
    r.messages = r.messages.iter().map(message_through_openai).collect();
    r
}

fn message_through_openai(m: &Message) -> Message {
    let mut out = Vec::new();
    match m.role {
        Role::User => {
            let mut rest = Vec::new();
            for b in &m.content {
                match b {
                    ContentBlock::ToolResult {
                        tool_use_id,
                        is_error,
                        ..
                    } => {
                        // A result's text blocks joined as `plain_text` joins them.
                        let text = b.plain_text();
                        let text = if *is_error {
                            format!("Error: {text}")
                        } else {
                            text
                        };
                        out.push(ContentBlock::ToolResult {
                            tool_use_id: tool_use_id.clone(),
                            content: joined(&[ContentBlock::text(text)], "")
                                .into_iter()
                                .collect(),
                            is_error: false,
                            cache_control: None,
                        });
                    }
                    other => rest.push(without_cache_control(other)),
                }
            }
            if rest.iter().all(|b| matches!(b, ContentBlock::Text { .. })) {
                out.extend(joined(&rest, USER_SEP));
            } else {
                out.extend(rest);
            }
        }
        Role::Assistant => {
            let of = |keep: fn(&ContentBlock) -> bool| -> Vec<ContentBlock> {
                m.content.iter().filter(|b| keep(b)).cloned().collect()
            };
            let thinking = of(|b| matches!(b, ContentBlock::Thinking { .. }));
            if let Some(ContentBlock::Text { text, .. }) = joined(&thinking, "") {
                out.push(ContentBlock::Thinking {
                    thinking: text,
                    signature: None,
                });
            }
            out.extend(joined(
                &of(|b| matches!(b, ContentBlock::Text { .. })),
                ASSISTANT_SEP,
            ));
            let calls = of(|b| matches!(b, ContentBlock::ToolUse { .. }));
            out.extend(calls.iter().map(without_cache_control));
        }
    }
    Message {
        role: m.role,
        content: out,
    }
}

fn without_cache_control(b: &ContentBlock) -> ContentBlock {
    let mut b = b.clone();
    match &mut b {
        ContentBlock::Text { cache_control, .. }
        | ContentBlock::Image { cache_control, .. }
        | ContentBlock::ToolUse { cache_control, .. }
        | ContentBlock::ToolResult { cache_control, .. }
        | ContentBlock::Document { cache_control, .. } => *cache_control = None,
        ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. } => {}
    }
    b
}

proptest! {
    #![proptest_config(props::config(256))]

    /// Anthropic -> canonical -> OpenAI -> canonical -> Anthropic.
    #[test]
    fn anthropic_to_openai_and_back(c0 in chat_request(Reach::Anthropic)) {
        let c1 = via_anthropic(&c0);
        let expected = through_anthropic(c0);
        prop_assert_eq!(same_meaning(c1.clone()), same_meaning(expected.clone()), "the Anthropic leg");
        let c2 = via_openai(&c1);
        let expected = through_openai(expected);
        prop_assert_eq!(same_meaning(c2.clone()), same_meaning(expected.clone()), "then the OpenAI leg");
        let c3 = via_anthropic(&c2);
        let expected = through_anthropic(expected);
        prop_assert_eq!(same_meaning(c3), same_meaning(expected), "back in Anthropic shape");
    }

    /// OpenAI -> canonical -> Anthropic -> canonical -> OpenAI.
    #[test]
    fn openai_to_anthropic_and_back(c0 in chat_request(Reach::Both)) {
        let c1 = via_openai(&c0);
        let expected = through_openai(c0);
        prop_assert_eq!(same_meaning(c1.clone()), same_meaning(expected.clone()), "the OpenAI leg");
        let c2 = via_anthropic(&c1);
        let expected = through_anthropic(expected);
        prop_assert_eq!(same_meaning(c2.clone()), same_meaning(expected), "then the Anthropic leg");
        prop_assert_eq!(
            openai_body(&same_meaning(c2)),
            openai_body(&same_meaning(through_anthropic(c1))),
            "back in OpenAI shape"
        );
    }
}
