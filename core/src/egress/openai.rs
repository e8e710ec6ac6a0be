//! The canonical model rendered as OpenAI Chat Completions: the `chat.completion`
//! body, the `chat.completion.chunk` stream ending with `[DONE]`, and the error body
//! (`{"error":{"message","type","param","code"}}`), each error kind mapped once here.
//!
//! Usage: canonical `input_tokens` follows Anthropic and excludes cache reads and
//! writes, while OpenAI's `prompt_tokens` includes them; so `prompt_tokens` is the
//! sum of the three and `cached_tokens` the cache reads.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::ids::reprefix_id;
use crate::call::SseFrame;
use crate::canonical::{
    BlockStart, ChatResponse, ContentBlock, Delta, StopReason, StreamEvent, Usage,
};
use crate::{Error, ErrorKind};

const ID_PREFIX: &str = "chatcmpl-";

/// The `type` of an OpenAI error body for this kind.
pub fn error_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidRequest
        | ErrorKind::Authentication
        | ErrorKind::PermissionDenied
        | ErrorKind::NotFound
        | ErrorKind::MethodNotAllowed
        | ErrorKind::PayloadTooLarge => "invalid_request_error",
        ErrorKind::InsufficientCredits => "insufficient_quota",
        // What OpenAI itself sends on a request-rate 429.
        ErrorKind::RateLimited => "requests",
        ErrorKind::Internal | ErrorKind::Upstream | ErrorKind::Overloaded | ErrorKind::Timeout => {
            "server_error"
        }
    }
}

/// The `code` of an OpenAI error body for this kind.
fn error_code(kind: ErrorKind) -> Option<&'static str> {
    match kind {
        ErrorKind::Authentication => Some("invalid_api_key"),
        ErrorKind::InsufficientCredits => Some("insufficient_quota"),
        ErrorKind::PermissionDenied => Some("permission_denied"),
        ErrorKind::RateLimited => Some("rate_limit_exceeded"),
        ErrorKind::InvalidRequest
        | ErrorKind::NotFound
        | ErrorKind::MethodNotAllowed
        | ErrorKind::PayloadTooLarge
        | ErrorKind::Internal
        | ErrorKind::Upstream
        | ErrorKind::Overloaded
        | ErrorKind::Timeout => None,
    }
}

/// `{"error":{"message","type","param","code"}}`, the body of every non-200 answer
/// and of a mid-stream error chunk.
pub fn error_body(e: &Error) -> Value {
    json!({
        "error": {
            "message": e.message(),
            "type": error_type(e.kind()),
            "param": e.param(),
            "code": error_code(e.kind()),
        }
    })
}

fn finish_reason(stop: Option<StopReason>) -> &'static str {
    // A finished answer with no reason recorded ended normally.
    stop.map_or("stop", StopReason::openai)
}

/// `usage` of a chat.completion or of the final chunk.
#[derive(Serialize)]
struct UsageBody {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: CachedBody,
}

#[derive(Serialize)]
struct CachedBody {
    cached_tokens: u64,
}

impl UsageBody {
    fn of(u: &Usage) -> Self {
        let prompt = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
        UsageBody {
            prompt_tokens: prompt,
            completion_tokens: u.output_tokens,
            total_tokens: prompt + u.output_tokens,
            prompt_tokens_details: CachedBody {
                cached_tokens: u.cache_read_input_tokens,
            },
        }
    }
}

/// A complete answer as a `chat.completion` object. Text blocks are joined with
/// nothing between them, as a stream of the same answer would concatenate them;
/// no text at all is `content: null`, as the stream of it leaves it.
pub fn render_response(resp: &ChatResponse, model: &str, created: u64) -> Value {
    serde_json::to_value(response_body(resp, model, created)).unwrap_or(Value::Null)
}

/// The same answer as a typed body, to serialize straight to bytes (HTTP)
/// without building a `Value` tree first.
pub fn response_body<'a>(
    resp: &'a ChatResponse,
    model: &'a str,
    created: u64,
) -> impl Serialize + 'a {
    CompletionBody::of(resp, model, created)
}

/// A `chat.completion`, fields in the order OpenAI writes them.
#[derive(Serialize)]
struct CompletionBody<'a> {
    id: String,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [ChoiceBody<'a>; 1],
    usage: UsageBody,
    system_fingerprint: Option<&'static str>,
}

#[derive(Serialize)]
struct ChoiceBody<'a> {
    index: u32,
    message: MessageBody<'a>,
    logprobs: Option<&'static str>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct MessageBody<'a> {
    role: &'static str,
    content: Option<String>,
    refusal: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCallBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<String>,
}

#[derive(Serialize)]
struct ToolCallBody<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionBody<'a>,
}

#[derive(Serialize)]
struct FunctionBody<'a> {
    name: &'a str,
    arguments: String,
}

impl<'a> CompletionBody<'a> {
    fn of(resp: &'a ChatResponse, model: &'a str, created: u64) -> Self {
        let mut text: Option<String> = None;
        let mut reasoning: Option<String> = None;
        let mut tool_calls = Vec::new();
        for block in &resp.content {
            match block {
                ContentBlock::Text { text: t, .. } => {
                    text.get_or_insert_with(String::new).push_str(t)
                }
                ContentBlock::Thinking { thinking, .. } => {
                    reasoning.get_or_insert_with(String::new).push_str(thinking)
                }
                ContentBlock::ToolUse {
                    id, name, input, ..
                } => tool_calls.push(ToolCallBody {
                    id,
                    kind: "function",
                    function: FunctionBody {
                        name,
                        arguments: input.to_string(),
                    },
                }),
                // No OpenAI counterpart in an assistant message.
                ContentBlock::Image { .. }
                | ContentBlock::ToolResult { .. }
                | ContentBlock::Document { .. }
                | ContentBlock::RedactedThinking { .. } => {}
            }
        }
        CompletionBody {
            id: reprefix_id(&resp.id, ID_PREFIX),
            object: "chat.completion",
            created,
            model,
            choices: [ChoiceBody {
                index: 0,
                message: MessageBody {
                    role: "assistant",
                    content: text.filter(|t| !t.is_empty()),
                    refusal: None,
                    tool_calls,
                    reasoning_content: reasoning.filter(|r| !r.is_empty()),
                },
                logprobs: None,
                finish_reason: finish_reason(resp.stop_reason),
            }],
            usage: UsageBody::of(&resp.usage),
            system_fingerprint: None,
        }
    }
}

/// A tool call of the stream: its OpenAI index and whether arguments were sent.
struct ToolCall {
    index: usize,
    args_sent: bool,
}

/// Renders canonical stream events as `chat.completion.chunk` frames, one event at
/// a time, without buffering the answer.
pub struct StreamRenderer {
    id: String,
    model: String,
    /// What every chunk starts with, up to its `choices` (made when the id is known).
    head: String,
    created: u64,
    include_usage: bool,
    started: bool,
    finish_sent: bool,
    finished: bool,
    usage: Usage,
    /// Canonical block index -> the tool call it carries.
    tool_calls: HashMap<usize, ToolCall>,
    next_tool_index: usize,
}

impl StreamRenderer {
    pub fn new(model: &str, include_usage: bool, created: u64) -> Self {
        StreamRenderer {
            // Replaced by the MessageStart id; set so a stream never goes without one.
            id: format!("{ID_PREFIX}{}", uuid::Uuid::new_v4().simple()),
            model: model.to_owned(),
            head: String::new(),
            created,
            include_usage,
            started: false,
            finish_sent: false,
            finished: false,
            usage: Usage::default(),
            tool_calls: HashMap::new(),
            next_tool_index: 0,
        }
    }

    /// Appends the frames for `ev` to `out`; nothing once the stream has ended.
    pub fn render(&mut self, ev: StreamEvent, out: &mut Vec<SseFrame>) {
        if self.finished {
            return;
        }
        match ev {
            StreamEvent::MessageStart { id, usage } => {
                self.id = reprefix_id(&id, ID_PREFIX);
                self.head.clear();
                self.usage = usage;
                self.ensure_started(out);
            }
            StreamEvent::BlockStart { index, block } => match block {
                BlockStart::ToolUse { id, name } => {
                    let k = self.next_tool_index;
                    self.next_tool_index += 1;
                    self.tool_calls.insert(
                        index,
                        ToolCall {
                            index: k,
                            args_sent: false,
                        },
                    );
                    let call = ToolDelta {
                        index: k,
                        id: Some(&id),
                        kind: Some("function"),
                        function: FunctionDelta {
                            name: Some(&name),
                            arguments: "",
                        },
                    };
                    self.delta(DeltaBody::Tools { tool_calls: [call] }, out);
                }
                BlockStart::Text | BlockStart::Thinking | BlockStart::RedactedThinking { .. } => {}
            },
            StreamEvent::BlockDelta { index, delta } => match delta {
                Delta::Text(text) if !text.is_empty() => {
                    self.delta(DeltaBody::Content { content: &text }, out)
                }
                Delta::Thinking(text) if !text.is_empty() => self.delta(
                    DeltaBody::Reasoning {
                        reasoning_content: &text,
                    },
                    out,
                ),
                Delta::ToolArgs(fragment) if !fragment.is_empty() => {
                    let Some(call) = self.tool_calls.get_mut(&index) else {
                        return;
                    };
                    call.args_sent = true;
                    let k = call.index;
                    self.args_delta(k, &fragment, out);
                }
                Delta::Text(_) | Delta::Thinking(_) | Delta::ToolArgs(_) | Delta::Signature(_) => {}
            },
            StreamEvent::BlockStop { index } => {
                // A call whose arguments never came must still end as valid JSON.
                if let Some(call) = self.tool_calls.get_mut(&index) {
                    if !call.args_sent {
                        call.args_sent = true;
                        let k = call.index;
                        self.args_delta(k, "{}", out);
                    }
                }
            }
            StreamEvent::MessageDelta {
                stop_reason, usage, ..
            } => {
                // Complete, as adapters make it.
                self.usage = usage;
                self.finish(stop_reason, out);
            }
            StreamEvent::MessageStop => {
                self.finish(None, out);
                if self.include_usage {
                    let mut data = self.head().as_bytes().to_vec();
                    data.extend_from_slice(b"[],\"usage\":");
                    push_json(&mut data, &UsageBody::of(&self.usage));
                    data.push(b'}');
                    out.push(frame(into_text(data)));
                }
                self.done(out);
            }
            StreamEvent::Error(e) => {
                out.push(frame(error_body(&e).to_string()));
                self.done(out);
            }
            StreamEvent::Ping => {}
        }
    }

    fn ensure_started(&mut self, out: &mut Vec<SseFrame>) {
        if !self.started {
            self.started = true;
            // As OpenAI opens a stream: clients that accumulate deltas start
            // from this empty text (and the refusal slot).
            let role = DeltaBody::Role {
                role: "assistant",
                content: "",
                refusal: (),
            };
            out.push(self.chunk(&role, None));
        }
    }

    fn finish(&mut self, stop: Option<StopReason>, out: &mut Vec<SseFrame>) {
        if !self.finish_sent {
            self.ensure_started(out);
            self.finish_sent = true;
            out.push(self.chunk(&DeltaBody::Empty {}, Some(finish_reason(stop))));
        }
    }

    fn done(&mut self, out: &mut Vec<SseFrame>) {
        self.finished = true;
        out.push(frame("[DONE]".to_owned()));
    }

    fn delta(&mut self, delta: DeltaBody<'_>, out: &mut Vec<SseFrame>) {
        self.ensure_started(out);
        out.push(self.chunk(&delta, None));
    }

    fn args_delta(&mut self, k: usize, fragment: &str, out: &mut Vec<SseFrame>) {
        let call = ToolDelta {
            index: k,
            id: None,
            kind: None,
            function: FunctionDelta {
                name: None,
                arguments: fragment,
            },
        };
        self.delta(DeltaBody::Tools { tool_calls: [call] }, out);
    }

    /// The fields every chunk starts with, up to the value of `choices`.
    fn head(&mut self) -> &str {
        if self.head.is_empty() {
            let mut h = b"{\"id\":".to_vec();
            push_json(&mut h, &self.id);
            h.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
            push_json(&mut h, &self.created);
            h.extend_from_slice(b",\"model\":");
            push_json(&mut h, &self.model);
            h.extend_from_slice(b",\"system_fingerprint\":null,\"choices\":");
            self.head = into_text(h);
        }
        &self.head
    }

    /// One chunk, written straight to its text: no `Value` tree per event.
    fn chunk(&mut self, delta: &DeltaBody<'_>, finish: Option<&str>) -> SseFrame {
        let include_usage = self.include_usage;
        let head = self.head();
        let mut data = Vec::with_capacity(head.len() + 96);
        data.extend_from_slice(head.as_bytes());
        data.extend_from_slice(b"[{\"index\":0,\"delta\":");
        push_json(&mut data, delta);
        data.extend_from_slice(b",\"logprobs\":null,\"finish_reason\":");
        push_json(&mut data, &finish);
        data.extend_from_slice(b"}]");
        // With include_usage every chunk but the last carries `usage: null`.
        if include_usage {
            data.extend_from_slice(b",\"usage\":null");
        }
        data.push(b'}');
        frame(into_text(data))
    }
}

/// A chunk's `delta`, one shape per kind of event.
#[derive(Serialize)]
#[serde(untagged)]
enum DeltaBody<'a> {
    Role {
        role: &'static str,
        content: &'static str,
        refusal: (),
    },
    Content {
        content: &'a str,
    },
    Reasoning {
        reasoning_content: &'a str,
    },
    Tools {
        tool_calls: [ToolDelta<'a>; 1],
    },
    Empty {},
}

#[derive(Serialize)]
struct ToolDelta<'a> {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: FunctionDelta<'a>,
}

#[derive(Serialize)]
struct FunctionDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

/// Appends `v` as JSON (a `Vec` writer never fails).
fn push_json(out: &mut Vec<u8>, v: &(impl Serialize + ?Sized)) {
    let _ = serde_json::to_writer(out, v);
}

/// Text that serde_json wrote, which is always UTF-8.
fn into_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_default()
}

fn frame(data: String) -> SseFrame {
    SseFrame { event: None, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            ..Usage::default()
        }
    }

    fn tool_use(id: &str, name: &str, input: Value) -> ContentBlock {
        ContentBlock::ToolUse {
            id: id.into(),
            name: name.into(),
            input,
            cache_control: None,
        }
    }

    #[test]
    fn response_with_text_and_tool_calls() {
        let resp = ChatResponse {
            id: "msg_01XYZ".into(),
            content: vec![
                ContentBlock::Thinking {
                    thinking: "Need weather.".into(),
                    signature: Some("sig".into()),
                },
                ContentBlock::text("Let me check"),
                ContentBlock::text(" both."),
                tool_use("toolu_1", "get_weather", json!({"city": "Paris"})),
                tool_use("toolu_2", "get_time", json!({})),
            ],
            stop_reason: Some(StopReason::ToolUse),
            stop_sequence: None,
            usage: Usage {
                input_tokens: 10,
                output_tokens: 20,
                cache_read_input_tokens: 5,
                cache_creation_input_tokens: 1,
            },
        };
        let got = render_response(&resp, "gpt-4o", 1_700_000_000);
        let want = json!({
            "id": "chatcmpl-01XYZ",
            "object": "chat.completion",
            "created": 1_700_000_000u64,
            "model": "gpt-4o",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Let me check both.",
                    "refusal": null,
                    "tool_calls": [
                        {"id": "toolu_1", "type": "function",
                         "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                        {"id": "toolu_2", "type": "function",
                         "function": {"name": "get_time", "arguments": "{}"}}
                    ],
                    "reasoning_content": "Need weather."
                },
                "logprobs": null,
                "finish_reason": "tool_calls"
            }],
            "usage": {"prompt_tokens": 16, "completion_tokens": 20, "total_tokens": 36,
                      "prompt_tokens_details": {"cached_tokens": 5}},
            "system_fingerprint": null
        });
        assert_eq!(got, want);
        // Key order follows the official object too (serde_json preserves order).
        let keys: Vec<&String> = got["choices"][0]["message"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(
            keys,
            [
                "role",
                "content",
                "refusal",
                "tool_calls",
                "reasoning_content"
            ]
        );
    }

    #[test]
    fn response_without_text_has_null_content_and_no_optional_keys() {
        let resp = ChatResponse {
            id: "chatcmpl-abc".into(),
            content: vec![],
            stop_reason: Some(StopReason::MaxTokens),
            stop_sequence: None,
            usage: usage(3, 0),
        };
        let got = render_response(&resp, "m", 1);
        assert_eq!(got["id"], "chatcmpl-abc");
        assert_eq!(
            got["choices"][0]["message"],
            json!({"role": "assistant", "content": null, "refusal": null})
        );
        assert_eq!(got["choices"][0]["finish_reason"], "length");
    }

    /// Renders `events` and returns each frame's data, parsed unless it is `[DONE]`.
    fn run(include_usage: bool, events: Vec<StreamEvent>) -> Vec<Value> {
        let mut r = StreamRenderer::new("gpt-4o", include_usage, 42);
        let mut out = Vec::new();
        for ev in events {
            r.render(ev, &mut out);
        }
        out.into_iter()
            .map(|f| {
                assert_eq!(f.event, None);
                if f.data == "[DONE]" {
                    Value::String(f.data)
                } else {
                    serde_json::from_str(&f.data).unwrap()
                }
            })
            .collect()
    }

    fn chunk(include_usage: bool, delta: Value, finish: Value) -> Value {
        let mut c = json!({
            "id": "chatcmpl-01abc",
            "object": "chat.completion.chunk",
            "created": 42,
            "model": "gpt-4o",
            "system_fingerprint": null,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        c
    }

    fn text_then_parallel_tools() -> Vec<StreamEvent> {
        use StreamEvent::*;
        vec![
            MessageStart {
                id: "msg_01abc".into(),
                usage: usage(12, 0),
            },
            Ping,
            BlockStart {
                index: 0,
                block: crate::canonical::BlockStart::Text,
            },
            BlockDelta {
                index: 0,
                delta: Delta::Text("Checking".into()),
            },
            BlockDelta {
                index: 0,
                delta: Delta::Text(" now.".into()),
            },
            BlockStop { index: 0 },
            BlockStart {
                index: 1,
                block: crate::canonical::BlockStart::ToolUse {
                    id: "call_1".into(),
                    name: "get_weather".into(),
                },
            },
            BlockDelta {
                index: 1,
                delta: Delta::ToolArgs(String::new()),
            },
            BlockDelta {
                index: 1,
                delta: Delta::ToolArgs("{\"city\":".into()),
            },
            BlockStart {
                index: 2,
                block: crate::canonical::BlockStart::ToolUse {
                    id: "call_2".into(),
                    name: "get_weather".into(),
                },
            },
            BlockDelta {
                index: 2,
                delta: Delta::ToolArgs("{\"city\":\"Rome\"}".into()),
            },
            BlockDelta {
                index: 1,
                delta: Delta::ToolArgs("\"Paris\"}".into()),
            },
            BlockStop { index: 1 },
            BlockStop { index: 2 },
            MessageDelta {
                stop_reason: Some(StopReason::ToolUse),
                stop_sequence: None,
                usage: usage(12, 30),
            },
            MessageStop,
        ]
    }

    fn expected_body(u: bool) -> Vec<Value> {
        let call = |k: usize, args: &str| json!({"tool_calls": [{"index": k, "function": {"arguments": args}}]});
        let start = |k: usize, id: &str| {
            json!({"tool_calls": [{"index": k, "id": id, "type": "function",
                                   "function": {"name": "get_weather", "arguments": ""}}]})
        };
        vec![
            chunk(
                u,
                json!({"role": "assistant", "content": "", "refusal": null}),
                Value::Null,
            ),
            chunk(u, json!({"content": "Checking"}), Value::Null),
            chunk(u, json!({"content": " now."}), Value::Null),
            chunk(u, start(0, "call_1"), Value::Null),
            chunk(u, call(0, "{\"city\":"), Value::Null),
            chunk(u, start(1, "call_2"), Value::Null),
            chunk(u, call(1, "{\"city\":\"Rome\"}"), Value::Null),
            chunk(u, call(0, "\"Paris\"}"), Value::Null),
            chunk(u, json!({}), json!("tool_calls")),
        ]
    }

    #[test]
    fn stream_text_then_parallel_tool_calls_without_usage() {
        let got = run(false, text_then_parallel_tools());
        let mut want = expected_body(false);
        want.push(json!("[DONE]"));
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "chunk {i}");
        }
    }

    #[test]
    fn stream_text_then_parallel_tool_calls_with_usage() {
        let got = run(true, text_then_parallel_tools());
        let mut want = expected_body(true);
        want.push(json!({
            "id": "chatcmpl-01abc",
            "object": "chat.completion.chunk",
            "created": 42,
            "model": "gpt-4o",
            "system_fingerprint": null,
            "choices": [],
            // The final usage is MessageDelta's: adapters make it complete.
            "usage": {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42,
                      "prompt_tokens_details": {"cached_tokens": 0}}
        }));
        want.push(json!("[DONE]"));
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "chunk {i}");
        }
    }

    #[test]
    fn stream_thinking_and_tool_without_arguments() {
        use StreamEvent::*;
        let got = run(
            false,
            vec![
                MessageStart {
                    id: "msg_01abc".into(),
                    usage: usage(1, 0),
                },
                BlockStart {
                    index: 0,
                    block: crate::canonical::BlockStart::Thinking,
                },
                BlockDelta {
                    index: 0,
                    delta: Delta::Thinking("hmm".into()),
                },
                BlockDelta {
                    index: 0,
                    delta: Delta::Signature("sig".into()),
                },
                BlockStop { index: 0 },
                BlockStart {
                    index: 1,
                    block: crate::canonical::BlockStart::ToolUse {
                        id: "t".into(),
                        name: "now".into(),
                    },
                },
                BlockStop { index: 1 },
                MessageDelta {
                    stop_reason: Some(StopReason::ToolUse),
                    stop_sequence: None,
                    usage: usage(1, 2),
                },
                MessageStop,
            ],
        );
        let want = vec![
            chunk(
                false,
                json!({"role": "assistant", "content": "", "refusal": null}),
                Value::Null,
            ),
            chunk(false, json!({"reasoning_content": "hmm"}), Value::Null),
            chunk(
                false,
                json!({"tool_calls": [{"index": 0, "id": "t", "type": "function",
                                                "function": {"name": "now", "arguments": ""}}]}),
                Value::Null,
            ),
            chunk(
                false,
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
                Value::Null,
            ),
            chunk(false, json!({}), json!("tool_calls")),
            json!("[DONE]"),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn error_mid_stream_ends_it() {
        use StreamEvent::*;
        let got = run(
            true,
            vec![
                MessageStart {
                    id: "msg_01abc".into(),
                    usage: usage(1, 0),
                },
                BlockDelta {
                    index: 0,
                    delta: Delta::Text("par".into()),
                },
                Error(crate::Error::new(
                    ErrorKind::Overloaded,
                    "upstream overloaded",
                )),
                BlockDelta {
                    index: 0,
                    delta: Delta::Text("tial".into()),
                },
                MessageStop,
            ],
        );
        let want = vec![
            chunk(
                true,
                json!({"role": "assistant", "content": "", "refusal": null}),
                Value::Null,
            ),
            chunk(true, json!({"content": "par"}), Value::Null),
            json!({"error": {"message": "upstream overloaded", "type": "server_error", "param": null, "code": null}}),
            json!("[DONE]"),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn stop_without_message_delta_still_finishes() {
        use StreamEvent::*;
        let got = run(
            false,
            vec![
                MessageStart {
                    id: "msg_01abc".into(),
                    usage: usage(1, 0),
                },
                BlockDelta {
                    index: 0,
                    delta: Delta::Text("hi".into()),
                },
                MessageStop,
            ],
        );
        assert_eq!(got[2], chunk(false, json!({}), json!("stop")));
        assert_eq!(got[3], json!("[DONE]"));
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn error_bodies_per_kind() {
        let body = |e: crate::Error| error_body(&e)["error"].clone();
        assert_eq!(
            body(crate::Error::invalid_field(
                "messages.0.role",
                "expected a string, got number"
            )),
            json!({"message": "messages.0.role: expected a string, got number",
                   "type": "invalid_request_error", "param": "messages.0.role", "code": null})
        );
        let cases = [
            (
                ErrorKind::Authentication,
                "invalid_request_error",
                json!("invalid_api_key"),
            ),
            (
                ErrorKind::InsufficientCredits,
                "insufficient_quota",
                json!("insufficient_quota"),
            ),
            (
                ErrorKind::PermissionDenied,
                "invalid_request_error",
                json!("permission_denied"),
            ),
            (ErrorKind::NotFound, "invalid_request_error", Value::Null),
            (
                ErrorKind::MethodNotAllowed,
                "invalid_request_error",
                Value::Null,
            ),
            (
                ErrorKind::PayloadTooLarge,
                "invalid_request_error",
                Value::Null,
            ),
            (
                ErrorKind::RateLimited,
                "requests",
                json!("rate_limit_exceeded"),
            ),
            (ErrorKind::Internal, "server_error", Value::Null),
            (ErrorKind::Upstream, "server_error", Value::Null),
            (ErrorKind::Overloaded, "server_error", Value::Null),
            (ErrorKind::Timeout, "server_error", Value::Null),
        ];
        for (kind, ty, code) in cases {
            let b = body(crate::Error::new(kind, "m"));
            assert_eq!(
                b,
                json!({"message": "m", "type": ty, "param": null, "code": code}),
                "{kind:?}"
            );
            assert_eq!(error_type(kind), ty);
        }
    }
}
