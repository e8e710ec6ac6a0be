//! Canonical answers, as each upstream kind can give them: text, thinking,
//! parallel tool calls with any JSON arguments, a stop reason and usage.

use mws_core::canonical::{ChatResponse, ContentBlock, StopReason, Usage};
use proptest::prelude::*;

use super::json::{json_object, text, tool_id, tool_name};

fn tool_use() -> BoxedStrategy<ContentBlock> {
    (tool_id(), tool_name(), json_object())
        .prop_map(|(id, name, input)| ContentBlock::ToolUse {
            id,
            name,
            input,
            cache_control: None,
        })
        .boxed()
}

fn stop() -> BoxedStrategy<(StopReason, Option<String>)> {
    prop_oneof![
        Just((StopReason::EndTurn, None)),
        Just((StopReason::MaxTokens, None)),
        Just((StopReason::ToolUse, None)),
        Just((StopReason::Refusal, None)),
        "[A-Z]{1,6}".prop_map(|s| (StopReason::StopSequence, Some(s))),
    ]
    .boxed()
}

fn count() -> BoxedStrategy<u64> {
    prop_oneof![1 => Just(0u64), 4 => 1u64..200_000].boxed()
}

fn response(
    content: BoxedStrategy<Vec<ContentBlock>>,
    cache_creation: bool,
) -> BoxedStrategy<ChatResponse> {
    let creation = if cache_creation {
        count()
    } else {
        Just(0).boxed()
    };
    (
        "[a-zA-Z0-9]{8,24}",
        content,
        stop(),
        (count(), count(), count(), creation),
    )
        .prop_map(
            |(id, content, (stop, seq), (i, o, read, creation))| ChatResponse {
                id,
                content,
                stop_reason: Some(stop),
                stop_sequence: seq,
                usage: Usage {
                    input_tokens: i,
                    output_tokens: o,
                    cache_read_input_tokens: read,
                    cache_creation_input_tokens: creation,
                },
            },
        )
        .boxed()
}

/// What an OpenAI-compatible upstream can answer: reasoning, then text, then
/// parallel tool calls; cache reads but no cache writes.
pub fn openai_response() -> BoxedStrategy<ChatResponse> {
    let content = (
        prop::option::of(text()),
        prop::option::of(text()),
        prop::collection::vec(tool_use(), 0..4),
    )
        .prop_map(|(thinking, text, calls)| {
            let mut blocks = Vec::new();
            if let Some(thinking) = thinking {
                blocks.push(ContentBlock::Thinking {
                    thinking,
                    signature: None,
                });
            }
            blocks.extend(text.map(ContentBlock::text));
            blocks.extend(calls);
            blocks
        })
        .boxed();
    response(content, false)
}

/// What an Anthropic upstream can answer: any sequence of blocks.
pub fn anthropic_response() -> BoxedStrategy<ChatResponse> {
    let block = prop_oneof![
        4 => text().prop_map(ContentBlock::text),
        1 => Just(ContentBlock::text("")),
        2 => (text(), "[A-Za-z0-9+/=]{8,40}").prop_map(|(thinking, s)| ContentBlock::Thinking {
            thinking,
            signature: Some(s),
        }),
        1 => "[A-Za-z0-9+/=]{8,40}".prop_map(|data| ContentBlock::RedactedThinking { data }),
        3 => tool_use(),
    ];
    response(prop::collection::vec(block, 0..6).boxed(), true)
}
