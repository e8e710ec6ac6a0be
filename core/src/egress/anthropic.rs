//! The canonical model rendered in Anthropic Messages shape: the response body,
//! the SSE event stream, and the error body and `error` event.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{json, Value};

use super::ids::reprefix_id;
use crate::call::SseFrame;
use crate::canonical::{
    BlockStart, ChatResponse, ContentBlock, Delta, StopReason, StreamEvent, Usage,
};
use crate::{Error, ErrorKind};

/// The official Anthropic error `type` for each kind. No `_` arm: a new kind
/// must be placed here before the crate compiles.
pub fn error_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidRequest | ErrorKind::MethodNotAllowed => "invalid_request_error",
        ErrorKind::Authentication => "authentication_error",
        ErrorKind::InsufficientCredits => "billing_error",
        ErrorKind::PermissionDenied => "permission_error",
        ErrorKind::NotFound => "not_found_error",
        ErrorKind::PayloadTooLarge => "request_too_large",
        ErrorKind::RateLimited => "rate_limit_error",
        ErrorKind::Internal | ErrorKind::Upstream | ErrorKind::Timeout => "api_error",
        ErrorKind::Overloaded => "overloaded_error",
    }
}

/// `{"type":"error","error":{"type","message"}}`, the body of every error
/// response on /v1/messages and the data of a stream's `error` event.
pub fn error_body(e: &Error) -> Value {
    json!({
        "type": "error",
        "error": {"type": error_type(e.kind()), "message": e.message()},
    })
}

/// A complete Messages response; `model` is the string the client sent.
pub fn render_response(resp: &ChatResponse, model: &str) -> Value {
    serde_json::to_value(response_body(resp, model)).unwrap_or(Value::Null)
}

/// The same response as a typed body, to serialize straight to bytes (HTTP)
/// without building a `Value` tree first.
pub fn response_body<'a>(resp: &'a ChatResponse, model: &'a str) -> impl Serialize + 'a {
    MessageBody::of(resp, model)
}

/// The response body, fields in the order Anthropic writes them.
#[derive(Serialize)]
struct MessageBody<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<BlockBody<'a>>,
    stop_reason: Option<&'static str>,
    stop_sequence: Option<&'a str>,
    usage: UsageBody,
}

impl<'a> MessageBody<'a> {
    fn of(resp: &'a ChatResponse, model: &'a str) -> Self {
        MessageBody {
            id: reprefix_id(&resp.id, "msg_"),
            kind: "message",
            role: "assistant",
            model,
            content: resp.content.iter().filter_map(BlockBody::of).collect(),
            stop_reason: resp.stop_reason.map(StopReason::anthropic),
            stop_sequence: resp.stop_sequence.as_deref(),
            usage: UsageBody::of(&resp.usage),
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockBody<'a> {
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a Value,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    RedactedThinking {
        data: &'a str,
    },
}

impl<'a> BlockBody<'a> {
    /// An assistant content block; user-only blocks (images, tool results) have
    /// no place in a response and are left out.
    fn of(block: &'a ContentBlock) -> Option<Self> {
        match block {
            ContentBlock::Text { text, .. } => Some(BlockBody::Text { text }),
            ContentBlock::ToolUse {
                id, name, input, ..
            } => Some(BlockBody::ToolUse { id, name, input }),
            ContentBlock::Thinking {
                thinking,
                signature,
            } => Some(BlockBody::Thinking {
                thinking,
                signature: signature.as_deref().unwrap_or(""),
            }),
            ContentBlock::RedactedThinking { data } => Some(BlockBody::RedactedThinking { data }),
            ContentBlock::Image { .. }
            | ContentBlock::ToolResult { .. }
            | ContentBlock::Document { .. } => None,
        }
    }
}

#[derive(Serialize)]
struct UsageBody {
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
}

impl UsageBody {
    fn of(u: &Usage) -> Self {
        UsageBody {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cache_creation_input_tokens: u.cache_creation_input_tokens,
            cache_read_input_tokens: u.cache_read_input_tokens,
        }
    }
}

/// Turns canonical stream events into Anthropic SSE frames, one call per event.
///
/// It keeps the stream well formed for the SDKs' accumulators whatever the
/// upstream adapter sends: `message_start` always comes first, a block is
/// started before its deltas and stopped at most once, open blocks are stopped
/// before `message_delta`, and nothing follows `message_stop` or `error`.
#[derive(Debug, Clone)]
pub struct StreamRenderer {
    model: String,
    started: bool,
    finished: bool,
    /// Blocks started and not yet stopped.
    open: BTreeSet<usize>,
    /// Blocks already stopped: late deltas for them are dropped.
    closed: BTreeSet<usize>,
}

impl StreamRenderer {
    pub fn new(model: &str) -> Self {
        StreamRenderer {
            model: model.to_owned(),
            started: false,
            finished: false,
            open: BTreeSet::new(),
            closed: BTreeSet::new(),
        }
    }

    /// True once `message_stop` or `error` was rendered.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Appends the frames for `ev` to `out` (none, one, or a few when a
    /// missing `message_start` or block stop has to be supplied first).
    pub fn render(&mut self, ev: StreamEvent, out: &mut Vec<SseFrame>) {
        if self.finished {
            return;
        }
        match ev {
            StreamEvent::MessageStart { id, usage } => {
                if !self.started {
                    self.message_start(&id, usage, out);
                }
            }
            StreamEvent::BlockStart { index, block } => {
                self.ensure_started(out);
                if !self.open.contains(&index) && !self.closed.contains(&index) {
                    self.block_start(index, &block, out);
                }
            }
            StreamEvent::BlockDelta { index, delta } => {
                self.ensure_started(out);
                if self.closed.contains(&index) {
                    return;
                }
                if !self.open.contains(&index) {
                    // A delta without its start: supply the start where the delta
                    // says what the block is; a tool call's id and name cannot be
                    // invented, so its stray arguments are dropped.
                    let block = match delta {
                        Delta::Text(_) => BlockStart::Text,
                        Delta::Thinking(_) | Delta::Signature(_) => BlockStart::Thinking,
                        Delta::ToolArgs(_) => return,
                    };
                    self.block_start(index, &block, out);
                }
                let body = BlockDeltaBody {
                    kind: "content_block_delta",
                    index,
                    delta: DeltaBody::of(&delta),
                };
                out.push(SseFrame {
                    event: Some("content_block_delta"),
                    data: serde_json::to_string(&body).unwrap_or_default(),
                });
            }
            StreamEvent::BlockStop { index } => self.block_stop(index, out),
            StreamEvent::MessageDelta {
                stop_reason,
                stop_sequence,
                usage,
            } => {
                self.ensure_started(out);
                self.stop_open_blocks(out);
                out.push(frame(
                    "message_delta",
                    json!({
                        "type": "message_delta",
                        "delta": {
                            "stop_reason": stop_reason.map(StopReason::anthropic),
                            "stop_sequence": stop_sequence,
                        },
                        // Complete, as adapters make it: the SDKs take the input
                        // counts of `message_delta` over those of `message_start`.
                        // In the order the official API writes them.
                        "usage": {
                            "input_tokens": usage.input_tokens,
                            "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                            "cache_read_input_tokens": usage.cache_read_input_tokens,
                            "output_tokens": usage.output_tokens,
                        },
                    }),
                ));
            }
            StreamEvent::MessageStop => {
                self.ensure_started(out);
                self.stop_open_blocks(out);
                out.push(frame("message_stop", json!({"type": "message_stop"})));
                self.finished = true;
            }
            StreamEvent::Ping => out.push(frame("ping", json!({"type": "ping"}))),
            StreamEvent::Error(e) => {
                out.push(frame("error", error_body(&e)));
                self.finished = true;
            }
        }
    }

    fn message_start(&mut self, id: &str, usage: Usage, out: &mut Vec<SseFrame>) {
        self.started = true;
        // Complete, as the official API sends it: the SDKs build their message
        // snapshot from this object and fail on a missing field.
        out.push(frame(
            "message_start",
            json!({
                "type": "message_start",
                "message": {
                    "id": reprefix_id(id, "msg_"),
                    "type": "message",
                    "role": "assistant",
                    "model": self.model,
                    "content": [],
                    "stop_reason": null,
                    "stop_sequence": null,
                    "usage": {
                        "input_tokens": usage.input_tokens,
                        "output_tokens": usage.output_tokens,
                        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                        "cache_read_input_tokens": usage.cache_read_input_tokens,
                    },
                },
            }),
        ));
    }

    fn ensure_started(&mut self, out: &mut Vec<SseFrame>) {
        if !self.started {
            let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
            self.message_start(&id, Usage::default(), out);
        }
    }

    fn block_start(&mut self, index: usize, block: &BlockStart, out: &mut Vec<SseFrame>) {
        self.open.insert(index);
        let content_block = match block {
            BlockStart::Text => json!({"type": "text", "text": ""}),
            BlockStart::ToolUse { id, name } => {
                json!({"type": "tool_use", "id": id, "name": name, "input": {}})
            }
            BlockStart::Thinking => json!({"type": "thinking", "thinking": "", "signature": ""}),
            BlockStart::RedactedThinking { data } => {
                json!({"type": "redacted_thinking", "data": data})
            }
        };
        out.push(frame(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": content_block}),
        ));
    }

    fn block_stop(&mut self, index: usize, out: &mut Vec<SseFrame>) {
        if self.open.remove(&index) {
            self.closed.insert(index);
            out.push(frame(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": index}),
            ));
        }
    }

    fn stop_open_blocks(&mut self, out: &mut Vec<SseFrame>) {
        while let Some(index) = self.open.first().copied() {
            self.block_stop(index, out);
        }
    }
}

/// A `content_block_delta`, the one event of a stream that comes per token:
/// serialized from borrowed fields, no `Value` tree.
#[derive(Serialize)]
struct BlockDeltaBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: usize,
    delta: DeltaBody<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type")]
enum DeltaBody<'a> {
    #[serde(rename = "text_delta")]
    Text { text: &'a str },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: &'a str },
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: &'a str },
    #[serde(rename = "signature_delta")]
    Signature { signature: &'a str },
}

impl<'a> DeltaBody<'a> {
    fn of(delta: &'a Delta) -> Self {
        match delta {
            Delta::Text(text) => DeltaBody::Text { text },
            Delta::ToolArgs(partial_json) => DeltaBody::InputJson { partial_json },
            Delta::Thinking(thinking) => DeltaBody::Thinking { thinking },
            Delta::Signature(signature) => DeltaBody::Signature { signature },
        }
    }
}

fn frame(event: &'static str, data: Value) -> SseFrame {
    SseFrame {
        event: Some(event),
        data: data.to_string(),
    }
}

#[cfg(test)]
// `allow`, not `expect`: a clippy.toml allowing these in tests would make `expect` fail.
mod tests {
    use super::*;

    const GOLDEN_STREAM: &str = include_str!("../../tests/fixtures/anthropic/stream-text-tool.sse");

    fn usage(input: u64, output: u64, cache_read: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_input_tokens: cache_read,
            cache_creation_input_tokens: 0,
        }
    }

    fn render_all(events: Vec<StreamEvent>) -> Vec<SseFrame> {
        let mut r = StreamRenderer::new("claude-sonnet-4-6");
        let mut out = Vec::new();
        for ev in events {
            r.render(ev, &mut out);
        }
        out
    }

    /// Frames as (event name, parsed data) for comparison with expected JSON.
    fn parsed(frames: &[SseFrame]) -> Vec<(&'static str, Value)> {
        frames
            .iter()
            .map(|f| (f.event.unwrap(), serde_json::from_str(&f.data).unwrap()))
            .collect()
    }

    fn text_tool_stream() -> Vec<StreamEvent> {
        vec![
            StreamEvent::MessageStart {
                id: "msg_01XFDUDYJgAACzvnptvVoYEL".into(),
                usage: usage(472, 1, 128),
            },
            StreamEvent::Ping,
            StreamEvent::BlockStart {
                index: 0,
                block: BlockStart::Text,
            },
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::Text("Okay, let me check".into()),
            },
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::Text(" the weather.".into()),
            },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::BlockStart {
                index: 1,
                block: BlockStart::ToolUse {
                    id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(),
                    name: "get_weather".into(),
                },
            },
            StreamEvent::BlockDelta {
                index: 1,
                delta: Delta::ToolArgs("{\"location\": \"San Fra".into()),
            },
            StreamEvent::BlockDelta {
                index: 1,
                delta: Delta::ToolArgs("ncisco, CA\"}".into()),
            },
            StreamEvent::BlockStop { index: 1 },
            StreamEvent::MessageDelta {
                stop_reason: Some(StopReason::ToolUse),
                stop_sequence: None,
                usage: usage(472, 89, 128),
            },
            StreamEvent::MessageStop,
        ]
    }

    #[test]
    fn full_stream_event_by_event() {
        let frames = render_all(text_tool_stream());
        let expected = vec![
            (
                "message_start",
                json!({"type": "message_start", "message": {
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-6", "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 472, "output_tokens": 1,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 128}}}),
            ),
            ("ping", json!({"type": "ping"})),
            (
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
            ),
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": "Okay, let me check"}}),
            ),
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": " the weather."}}),
            ),
            (
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ),
            (
                "content_block_start",
                json!({"type": "content_block_start", "index": 1,
                "content_block": {"type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                                  "name": "get_weather", "input": {}}}),
            ),
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": "{\"location\": \"San Fra"}}),
            ),
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": "ncisco, CA\"}"}}),
            ),
            (
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 1}),
            ),
            (
                "message_delta",
                json!({"type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                "usage": {"input_tokens": 472, "cache_creation_input_tokens": 0,
                          "cache_read_input_tokens": 128, "output_tokens": 89}}),
            ),
            ("message_stop", json!({"type": "message_stop"})),
        ];
        let got = parsed(&frames);
        assert_eq!(got.len(), expected.len());
        for (n, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(g, e, "frame {n}");
        }
    }

    #[test]
    fn full_stream_matches_golden_bytes() {
        let mut bytes = Vec::new();
        for f in render_all(text_tool_stream()) {
            f.write_to(&mut bytes);
        }
        assert_eq!(String::from_utf8(bytes).unwrap(), GOLDEN_STREAM);
    }

    #[test]
    fn thinking_and_redacted_blocks_stream() {
        let frames = render_all(vec![
            StreamEvent::MessageStart {
                id: "chatcmpl-abc".into(),
                usage: usage(5, 0, 0),
            },
            StreamEvent::BlockStart {
                index: 0,
                block: BlockStart::Thinking,
            },
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::Thinking("Let me think".into()),
            },
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::Signature("EqQB".into()),
            },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::BlockStart {
                index: 1,
                block: BlockStart::RedactedThinking {
                    data: "opaque".into(),
                },
            },
            StreamEvent::BlockStop { index: 1 },
        ]);
        let got = parsed(&frames);
        assert_eq!(got[0].1["message"]["id"], "msg_abc");
        assert_eq!(
            got[1].1["content_block"],
            json!({"type": "thinking", "thinking": "", "signature": ""})
        );
        assert_eq!(
            got[2].1["delta"],
            json!({"type": "thinking_delta", "thinking": "Let me think"})
        );
        assert_eq!(
            got[3].1["delta"],
            json!({"type": "signature_delta", "signature": "EqQB"})
        );
        assert_eq!(
            got[5],
            (
                "content_block_start",
                json!({"type": "content_block_start", "index": 1,
            "content_block": {"type": "redacted_thinking", "data": "opaque"}})
            )
        );
        assert_eq!(got.len(), 7);
    }

    #[test]
    fn error_mid_stream_ends_the_stream() {
        let mut r = StreamRenderer::new("m");
        let mut out = Vec::new();
        r.render(
            StreamEvent::MessageStart {
                id: "msg_1".into(),
                usage: usage(3, 0, 0),
            },
            &mut out,
        );
        r.render(
            StreamEvent::BlockStart {
                index: 0,
                block: BlockStart::Text,
            },
            &mut out,
        );
        r.render(
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::Text("par".into()),
            },
            &mut out,
        );
        assert!(!r.is_finished());
        r.render(
            StreamEvent::Error(Error::new(ErrorKind::Overloaded, "Overloaded").with_status(529)),
            &mut out,
        );
        assert!(r.is_finished());
        let n = out.len();
        assert_eq!(n, 4);
        assert_eq!(out[3].event, Some("error"));
        assert_eq!(
            out[3].data,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
        );
        for ev in [
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::Text("tial".into()),
            },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::MessageDelta {
                stop_reason: Some(StopReason::EndTurn),
                stop_sequence: None,
                usage: usage(3, 2, 0),
            },
            StreamEvent::MessageStop,
            StreamEvent::Ping,
            StreamEvent::Error(Error::internal("again")),
        ] {
            r.render(ev, &mut out);
        }
        assert_eq!(out.len(), n, "nothing renders after an error");
    }

    #[test]
    fn nothing_renders_after_message_stop() {
        let mut events = text_tool_stream();
        events.push(StreamEvent::Ping);
        events.push(StreamEvent::BlockStart {
            index: 2,
            block: BlockStart::Text,
        });
        assert_eq!(render_all(events).len(), 12);
    }

    #[test]
    fn missing_start_and_stops_are_supplied() {
        let frames = render_all(vec![
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::Text("hi".into()),
            },
            StreamEvent::BlockStart {
                index: 1,
                block: BlockStart::ToolUse {
                    id: "t".into(),
                    name: "f".into(),
                },
            },
            StreamEvent::BlockDelta {
                index: 1,
                delta: Delta::ToolArgs("{}".into()),
            },
            // A stray tool-args delta for a block never started cannot be rendered.
            StreamEvent::BlockDelta {
                index: 7,
                delta: Delta::ToolArgs("{".into()),
            },
            StreamEvent::MessageDelta {
                stop_reason: Some(StopReason::EndTurn),
                stop_sequence: Some("END".into()),
                usage: usage(0, 4, 0),
            },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::MessageStop,
        ]);
        let names: Vec<_> = frames.iter().map(|f| f.event.unwrap()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        let got = parsed(&frames);
        assert!(got[0].1["message"]["id"]
            .as_str()
            .unwrap()
            .starts_with("msg_"));
        assert_eq!(got[0].1["message"]["model"], "claude-sonnet-4-6");
        assert_eq!(
            got[1].1["content_block"],
            json!({"type": "text", "text": ""})
        );
        assert_eq!(
            (got[5].1["index"].clone(), got[6].1["index"].clone()),
            (json!(0), json!(1))
        );
        assert_eq!(
            got[7].1["delta"],
            json!({"stop_reason": "end_turn", "stop_sequence": "END"})
        );
    }

    #[test]
    fn duplicate_starts_and_stops_are_dropped() {
        let frames = render_all(vec![
            StreamEvent::MessageStart {
                id: "msg_1".into(),
                usage: usage(1, 0, 0),
            },
            StreamEvent::MessageStart {
                id: "msg_2".into(),
                usage: usage(1, 0, 0),
            },
            StreamEvent::BlockStart {
                index: 0,
                block: BlockStart::Text,
            },
            StreamEvent::BlockStart {
                index: 0,
                block: BlockStart::Text,
            },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::Text("late".into()),
            },
        ]);
        let names: Vec<_> = frames.iter().map(|f| f.event.unwrap()).collect();
        assert_eq!(
            names,
            ["message_start", "content_block_start", "content_block_stop"]
        );
    }

    #[test]
    fn final_usage_is_the_message_delta_usage() {
        // Adapters complete it; a zero is a count (a prompt read wholly from cache).
        let frames = render_all(vec![
            StreamEvent::MessageStart {
                id: "msg_1".into(),
                usage: usage(100, 1, 40),
            },
            StreamEvent::MessageDelta {
                stop_reason: Some(StopReason::MaxTokens),
                stop_sequence: None,
                usage: usage(0, 16, 140),
            },
        ]);
        assert_eq!(
            parsed(&frames)[1].1["usage"],
            json!({"input_tokens": 0, "cache_creation_input_tokens": 0,
                   "cache_read_input_tokens": 140, "output_tokens": 16})
        );
    }

    #[test]
    fn response_with_text_and_tool_use() {
        let resp = ChatResponse {
            id: "chatcmpl-123".into(),
            content: vec![
                ContentBlock::Thinking {
                    thinking: "plan".into(),
                    signature: None,
                },
                ContentBlock::Text {
                    text: "Checking.".into(),
                    cache_control: Some(json!({"type": "ephemeral"})),
                },
                ContentBlock::ToolUse {
                    id: "toolu_1".into(),
                    name: "get_weather".into(),
                    input: json!({"city": "Paris"}),
                    cache_control: None,
                },
                ContentBlock::RedactedThinking { data: "xyz".into() },
                ContentBlock::ToolResult {
                    tool_use_id: "t".into(),
                    content: vec![],
                    is_error: false,
                    cache_control: None,
                },
            ],
            stop_reason: Some(StopReason::ToolUse),
            stop_sequence: None,
            usage: Usage {
                input_tokens: 20,
                output_tokens: 7,
                cache_read_input_tokens: 3,
                cache_creation_input_tokens: 2,
            },
        };
        let v = render_response(&resp, "claude-opus-4");
        assert_eq!(
            v,
            json!({
                "id": "msg_123",
                "type": "message",
                "role": "assistant",
                "model": "claude-opus-4",
                "content": [
                    {"type": "thinking", "thinking": "plan", "signature": ""},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "redacted_thinking", "data": "xyz"}
                ],
                "stop_reason": "tool_use",
                "stop_sequence": null,
                "usage": {"input_tokens": 20, "output_tokens": 7,
                          "cache_creation_input_tokens": 2, "cache_read_input_tokens": 3}
            })
        );
    }

    #[test]
    fn response_stop_fields() {
        let resp = ChatResponse {
            id: "msg_9".into(),
            content: vec![ContentBlock::text("a")],
            stop_reason: Some(StopReason::StopSequence),
            stop_sequence: Some("##".into()),
            usage: Usage::default(),
        };
        let v = render_response(&resp, "m");
        assert_eq!(
            (&v["id"], &v["stop_reason"], &v["stop_sequence"]),
            (&json!("msg_9"), &json!("stop_sequence"), &json!("##"))
        );
        let v = render_response(
            &ChatResponse {
                stop_reason: None,
                ..resp
            },
            "m",
        );
        assert_eq!(v["stop_reason"], Value::Null);
    }

    #[test]
    fn error_types_are_the_official_ones() {
        let cases = [
            (ErrorKind::InvalidRequest, "invalid_request_error"),
            (ErrorKind::MethodNotAllowed, "invalid_request_error"),
            (ErrorKind::Authentication, "authentication_error"),
            (ErrorKind::InsufficientCredits, "billing_error"),
            (ErrorKind::PermissionDenied, "permission_error"),
            (ErrorKind::NotFound, "not_found_error"),
            (ErrorKind::PayloadTooLarge, "request_too_large"),
            (ErrorKind::RateLimited, "rate_limit_error"),
            (ErrorKind::Internal, "api_error"),
            (ErrorKind::Upstream, "api_error"),
            (ErrorKind::Timeout, "api_error"),
            (ErrorKind::Overloaded, "overloaded_error"),
        ];
        for (kind, ty) in cases {
            assert_eq!(error_type(kind), ty, "{kind:?}");
        }
        let e = Error::invalid_field("max_tokens", "field required");
        assert_eq!(
            error_body(&e),
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: field required"}})
        );
    }
}
