//! Canonical chat requests: conversations of alternating turns in which every
//! tool call is answered by the next user turn, tools with JSON-schema inputs,
//! tool choices and sampling fields.
//!
//! `Reach::Both` keeps to what both APIs express. Left out there, each by design:
//! - `cache_control`, `top_k`, the `thinking` setting, thinking signatures and
//!   redacted thinking: Anthropic-only, dropped on the way to an OpenAI upstream
//!   (DESIGN: "kept for an Anthropic upstream and dropped for the others");
//! - images inside a tool result: an OpenAI `tool` message carries text only, so
//!   they move to a user message after the results;
//! - text, thinking and tool calls interleaved in an assistant turn: an OpenAI
//!   assistant message has one reasoning, one content and then its tool calls, so
//!   turns are generated in that order (thinking, text, tool calls);
//! - a temperature above 1, more than 4 stop sequences and tool names longer than
//!   64 characters: beyond one API's range (clamped, refused with a 400, refused);
//! - a missing `max_tokens`: Anthropic requires one and the gateway supplies it.
//!
//! `Reach::Anthropic` adds the Anthropic-only items, for the Anthropic leg.

use std::collections::HashSet;

use mws_core::canonical::{
    ChatRequest, ContentBlock, ImageSource, Message, Role, Tool, ToolChoice,
};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Map, Value};

use super::json::{json_object, json_value, text, tool_id, tool_name};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Both,
    Anthropic,
}

fn cache_control(reach: Reach) -> BoxedStrategy<Option<Value>> {
    if reach == Reach::Both {
        return Just(None).boxed();
    }
    prop::option::weighted(
        0.3,
        prop_oneof![
            Just(json!({"type": "ephemeral"})),
            Just(json!({"type": "ephemeral", "ttl": "1h"})),
        ],
    )
    .boxed()
}

fn text_block(reach: Reach) -> BoxedStrategy<ContentBlock> {
    (text(), cache_control(reach))
        .prop_map(|(text, cache_control)| ContentBlock::Text {
            text,
            cache_control,
        })
        .boxed()
}

fn image_source() -> BoxedStrategy<ImageSource> {
    prop_oneof![
        (
            prop::sample::select(vec!["image/png", "image/jpeg", "image/gif", "image/webp"]),
            "[A-Za-z0-9+/]{4,40}={0,2}",
        )
            .prop_map(|(m, data)| ImageSource::Base64 {
                media_type: m.to_owned(),
                data,
            }),
        "https?://example\\.com/[a-z0-9/._-]{1,20}(\\?[a-z]=[a-z0-9%]{1,8})?"
            .prop_map(|url| ImageSource::Url { url }),
    ]
    .boxed()
}

/// A block of a user turn other than a tool result.
fn user_block(reach: Reach) -> BoxedStrategy<ContentBlock> {
    prop_oneof![
        3 => text_block(reach),
        1 => (image_source(), cache_control(reach))
            .prop_map(|(source, cache_control)| ContentBlock::Image { source, cache_control }),
    ]
    .boxed()
}

fn tool_use(reach: Reach) -> BoxedStrategy<ContentBlock> {
    (tool_id(), tool_name(), json_object(), cache_control(reach))
        .prop_map(|(id, name, input, cache_control)| ContentBlock::ToolUse {
            id,
            name,
            input,
            cache_control,
        })
        .boxed()
}

/// An assistant turn: thinking, text, then tool calls; never empty.
fn assistant_turn(reach: Reach) -> BoxedStrategy<Vec<ContentBlock>> {
    let anthropic = reach == Reach::Anthropic;
    let signature = if anthropic {
        prop::option::of("[A-Za-z0-9+/=]{8,24}").boxed()
    } else {
        Just(None).boxed()
    };
    let redacted = if anthropic {
        prop::option::weighted(0.2, "[A-Za-z0-9+/=]{8,24}").boxed()
    } else {
        Just(None).boxed()
    };
    (
        prop::option::weighted(0.3, (text(), signature)),
        redacted,
        prop::collection::vec(text_block(reach), 0..3),
        prop::collection::vec(tool_use(reach), 0..4),
    )
        .prop_map(|(thinking, redacted, texts, calls)| {
            let mut blocks = Vec::new();
            if let Some((thinking, signature)) = thinking {
                blocks.push(ContentBlock::Thinking {
                    thinking,
                    signature,
                });
            }
            if let Some(data) = redacted {
                blocks.push(ContentBlock::RedactedThinking { data });
            }
            if texts.is_empty() && calls.is_empty() {
                blocks.push(ContentBlock::text("Done."));
            }
            blocks.extend(texts);
            blocks.extend(calls);
            blocks
        })
        .boxed()
}

/// The text blocks, error flag and cache_control of one tool result.
type ResultSpec = (Vec<ContentBlock>, bool, Option<Value>);

fn tool_result(reach: Reach) -> BoxedStrategy<ResultSpec> {
    (
        prop::collection::vec(text_block(reach), 0..3),
        prop::bool::weighted(0.3),
        cache_control(reach),
    )
        .boxed()
}

/// Alternating turns from a user turn to a user turn; each user turn after an
/// assistant turn opens with one result per tool call of that turn, in order.
fn conversation(reach: Reach) -> BoxedStrategy<Vec<Message>> {
    let round = (
        assistant_turn(reach),
        prop::collection::vec(tool_result(reach), 0..4),
        prop::collection::vec(user_block(reach), 0..3),
    );
    (
        prop::collection::vec(user_block(reach), 1..4),
        prop::collection::vec(round, 0..4),
    )
        .prop_map(|(first, rounds)| {
            let mut messages = vec![Message {
                role: Role::User,
                content: first,
            }];
            for (assistant, results, rest) in rounds {
                let mut user = Vec::new();
                let ids = assistant.iter().filter_map(|b| match b {
                    ContentBlock::ToolUse { id, .. } => Some(id.clone()),
                    _ => None,
                });
                for (i, tool_use_id) in ids.enumerate() {
                    let (content, is_error, cache_control) =
                        results.get(i).cloned().unwrap_or_default();
                    user.push(ContentBlock::ToolResult {
                        tool_use_id,
                        content,
                        is_error,
                        cache_control,
                    });
                }
                user.extend(rest);
                if user.is_empty() {
                    user.push(ContentBlock::text("Go on."));
                }
                messages.push(Message {
                    role: Role::Assistant,
                    content: assistant,
                });
                messages.push(Message {
                    role: Role::User,
                    content: user,
                });
            }
            messages
        })
        .boxed()
}

/// An object schema: typed properties, some required, and the odd extra keyword.
fn input_schema() -> BoxedStrategy<Value> {
    let property = (
        prop::sample::select(vec![
            "string", "number", "integer", "boolean", "array", "object",
        ]),
        prop::option::of(text()),
        prop::option::weighted(0.2, prop::collection::vec(text(), 1..4)),
    )
        .prop_map(|(ty, description, choices)| {
            let mut p = json!({"type": ty});
            if let Some(d) = description {
                p["description"] = json!(d);
            }
            if let Some(c) = choices {
                p["enum"] = json!(c);
            }
            p
        });
    (
        prop::collection::vec(("[a-z_]{1,12}", property, any::<bool>()), 0..4),
        prop::option::weighted(
            0.3,
            (
                "(additionalProperties|\\$schema|x-[a-z]{1,6})",
                json_value(),
            ),
        ),
    )
        .prop_map(|(props, extra)| {
            let mut properties = Map::new();
            let mut required = Vec::new();
            for (name, p, req) in props {
                if req && !properties.contains_key(&name) {
                    required.push(json!(name));
                }
                properties.insert(name, p);
            }
            let mut schema = json!({"type": "object", "properties": properties});
            if !required.is_empty() {
                schema["required"] = Value::Array(required);
            }
            if let Some((k, v)) = extra {
                schema[k] = v;
            }
            schema
        })
        .boxed()
}

fn tools(reach: Reach) -> BoxedStrategy<Vec<Tool>> {
    let tool = (
        tool_name(),
        prop::option::of(text()),
        input_schema(),
        cache_control(reach),
    )
        .prop_map(|(name, description, input_schema, cache_control)| Tool {
            name,
            description,
            input_schema,
            cache_control,
        });
    prop::collection::vec(tool, 0..4)
        .prop_map(|tools| {
            let mut seen = HashSet::new();
            tools
                .into_iter()
                .filter(|t| seen.insert(t.name.clone()))
                .collect()
        })
        .boxed()
}

#[derive(Debug, Clone)]
enum Choice {
    Absent,
    Auto,
    Any,
    None,
    Tool(Index),
}

fn choice() -> BoxedStrategy<Choice> {
    prop_oneof![
        Just(Choice::Absent),
        Just(Choice::Auto),
        Just(Choice::Any),
        Just(Choice::None),
        any::<Index>().prop_map(Choice::Tool),
    ]
    .boxed()
}

/// A number in [0, 1]: short decimals as people write them, and any double.
fn unit() -> BoxedStrategy<f64> {
    prop_oneof![
        (0u32..=100).prop_map(|x| f64::from(x) / 100.0),
        0.0..=1.0f64,
    ]
    .boxed()
}

fn thinking_setting() -> BoxedStrategy<Value> {
    prop_oneof![
        (1024u32..32000).prop_map(|b| json!({"type": "enabled", "budget_tokens": b})),
        Just(json!({"type": "disabled"})),
        Just(json!({"type": "adaptive"})),
    ]
    .boxed()
}

/// A canonical request within `reach`.
pub fn chat_request(reach: Reach) -> BoxedStrategy<ChatRequest> {
    let anthropic = reach == Reach::Anthropic;
    let top_k = if anthropic {
        prop::option::of(1u32..500).boxed()
    } else {
        Just(None).boxed()
    };
    let thinking = if anthropic {
        prop::option::of(thinking_setting()).boxed()
    } else {
        Just(None).boxed()
    };
    let shape = (
        "[a-z0-9.-]{1,20}",
        prop::collection::vec(text_block(reach), 0..3),
        conversation(reach),
        tools(reach),
        choice(),
        any::<bool>(),
    );
    let sampling = (
        1u32..200_000,
        prop::option::of(unit()),
        prop::option::of(unit()),
        top_k,
        prop::collection::vec(text(), 0..=4),
        prop::option::of(text()),
        any::<bool>(),
        thinking,
    );
    (shape, sampling)
        .prop_map(|(shape, sampling)| {
            let (model, system, messages, tools, choice, serial) = shape;
            let (max_tokens, temperature, top_p, top_k, stops, user, stream, thinking) = sampling;
            let mut req = ChatRequest::new(model);
            req.system = system;
            req.messages = messages;
            // Without tools a tool choice means nothing, and neither API is sent one.
            if !tools.is_empty() {
                req.tool_choice = match choice {
                    Choice::Absent => None,
                    Choice::Auto => Some(ToolChoice::Auto),
                    Choice::Any => Some(ToolChoice::Any),
                    Choice::None => Some(ToolChoice::None),
                    Choice::Tool(i) => {
                        Some(ToolChoice::Tool(tools[i.index(tools.len())].name.clone()))
                    }
                };
                req.parallel_tool_calls = serial.then_some(false);
            }
            req.tools = tools;
            req.max_tokens = Some(max_tokens);
            req.temperature = temperature;
            req.top_p = top_p;
            req.top_k = top_k;
            req.stop_sequences = stops;
            req.user = user;
            req.stream = stream;
            req.thinking = thinking;
            req
        })
        .boxed()
}
