//! Responses API stream events → canonical events, as they arrive. A
//! `function_call` item is a ToolUse block, a `reasoning` item a Thinking block
//! (its summary parts apart as paragraphs, its `encrypted_content` a signature
//! at its end), each text or refusal part of a `message` a Text block.
//! Canonical blocks are numbered in the order they start, apart from the
//! upstream's `output_index`.
//!
//! Each event is read twice, without a `Value` tree for the frequent ones:
//! once for its `type`, then into the struct of that type, text borrowed.
//! Unknown event types are skipped, so later additions to the API do no harm.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::responses_wire::{failure, finish_reason, usage_from, Item};
use super::sse::Translate;
use crate::canonical::{BlockStart, Delta, StopReason, StreamEvent, Usage};
use crate::tokens::estimate_chars;
use crate::{Error, ErrorKind};

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

/// A text, refusal, arguments or reasoning delta.
#[derive(Deserialize)]
struct Fragment<'a> {
    #[serde(default)]
    output_index: u64,
    #[serde(borrow)]
    delta: Cow<'a, str>,
}

#[derive(Deserialize)]
struct SummaryPart {
    #[serde(default)]
    output_index: u64,
    #[serde(default)]
    summary_index: u64,
}

#[derive(Deserialize)]
struct ContentPart<'a> {
    #[serde(default)]
    output_index: u64,
    #[serde(borrow)]
    part: Head<'a>,
}

#[derive(Deserialize)]
struct OutputItem {
    #[serde(default)]
    output_index: u64,
    item: Value,
}

#[derive(Deserialize)]
struct Created {
    response: CreatedResponse,
}

#[derive(Deserialize)]
struct CreatedResponse {
    id: Option<String>,
}

/// `response.completed`, `.incomplete` or `.failed`: the response without its
/// output, which the events already gave.
#[derive(Deserialize)]
struct Finished {
    response: FinishedResponse,
}

#[derive(Deserialize)]
struct FinishedResponse {
    status: Option<String>,
    incomplete_details: Option<IncompleteDetails>,
    usage: Option<Value>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct IncompleteDetails {
    reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Thinking,
    Tool,
}

/// The canonical block being written.
#[derive(Debug, Clone, Copy)]
struct Open {
    index: usize,
    output_index: u64,
    kind: Kind,
    /// Whether a delta came for it (else the item's `.done` event fills it).
    streamed: bool,
}

#[derive(Debug)]
pub struct EventTranslator {
    input_estimate: u64,
    started: bool,
    next_index: usize,
    open: Option<Open>,
    tool_calls: bool,
    refused: bool,
    output_chars: usize,
}

impl Translate for EventTranslator {
    fn frame(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> bool {
        if data.trim() == "[DONE]" {
            // Some servers end with it after the last event; reached here, the
            // answer never finished.
            self.end(out);
            return true;
        }
        match self.event(data, out) {
            Ok(done) => done,
            Err(e) => {
                out.push(StreamEvent::Error(Error::new(
                    ErrorKind::Upstream,
                    format!("upstream sent an invalid event: {e}"),
                )));
                true
            }
        }
    }

    fn end(&mut self, out: &mut Vec<StreamEvent>) {
        out.push(StreamEvent::Error(Error::new(
            ErrorKind::Upstream,
            "the upstream closed the stream before it finished",
        )));
    }
}

impl EventTranslator {
    pub fn new(input_estimate: u64) -> Self {
        EventTranslator {
            input_estimate,
            started: false,
            next_index: 0,
            open: None,
            tool_calls: false,
            refused: false,
            output_chars: 0,
        }
    }

    /// One event's canonical events; true once the answer is over.
    fn event(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> serde_json::Result<bool> {
        let head: Head = serde_json::from_str(data)?;
        match &*head.kind {
            "response.output_text.delta" => {
                let f: Fragment = serde_json::from_str(data)?;
                self.delta(f, Kind::Text, out);
            }
            "response.refusal.delta" => {
                self.refused = true;
                let f: Fragment = serde_json::from_str(data)?;
                self.delta(f, Kind::Text, out);
            }
            "response.function_call_arguments.delta" => {
                let f: Fragment = serde_json::from_str(data)?;
                self.delta(f, Kind::Tool, out);
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                let f: Fragment = serde_json::from_str(data)?;
                self.delta(f, Kind::Thinking, out);
            }
            "response.reasoning_summary_part.added" => {
                let p: SummaryPart = serde_json::from_str(data)?;
                if p.summary_index > 0 {
                    let f = Fragment {
                        output_index: p.output_index,
                        delta: Cow::Borrowed("\n\n"),
                    };
                    self.delta(f, Kind::Thinking, out);
                }
            }
            "response.created" => {
                let c: Created = serde_json::from_str(data)?;
                self.start(c.response.id, out);
            }
            "response.output_item.added" => {
                let ev: OutputItem = serde_json::from_str(data)?;
                if let Some(item) = Item::of(&ev.item)? {
                    self.item_added(&item, ev.output_index, out);
                }
            }
            "response.content_part.added" => {
                let ev: ContentPart = serde_json::from_str(data)?;
                let refusal = ev.part.kind == "refusal";
                if refusal || ev.part.kind == "output_text" {
                    self.refused |= refusal;
                    self.begin(ev.output_index, Kind::Text, BlockStart::Text, out);
                }
            }
            "response.content_part.done" if self.open.is_some_and(|o| o.kind == Kind::Text) => {
                self.close(out);
            }
            "response.output_item.done" => {
                let ev: OutputItem = serde_json::from_str(data)?;
                if let Some(item) = Item::of(&ev.item)? {
                    self.item_done(item, ev.output_index, out);
                }
            }
            "response.completed" | "response.incomplete" => {
                let f: Finished = serde_json::from_str(data)?;
                self.finish(f.response, out);
                return Ok(true);
            }
            "response.failed" => {
                let f: Finished = serde_json::from_str(data)?;
                out.push(StreamEvent::Error(failure(f.response.error.as_ref())));
                return Ok(true);
            }
            "error" => {
                let v: Value = serde_json::from_str(data)?;
                let message = v
                    .get("message")
                    .or_else(|| v.pointer("/error/message"))
                    .and_then(Value::as_str)
                    .unwrap_or("upstream error");
                out.push(StreamEvent::Error(Error::new(
                    ErrorKind::Upstream,
                    format!("upstream failed mid-stream: {message}"),
                )));
                return Ok(true);
            }
            _ => {}
        }
        Ok(false)
    }

    fn start(&mut self, id: Option<String>, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        out.push(StreamEvent::MessageStart {
            id: id.unwrap_or_else(|| "resp_upstream".to_owned()),
            usage: Usage::input_only(self.input_estimate),
        });
    }

    /// Starts a block for output item `output_index`, ending the open one.
    fn begin(
        &mut self,
        output_index: u64,
        kind: Kind,
        block: BlockStart,
        out: &mut Vec<StreamEvent>,
    ) -> usize {
        self.start(None, out);
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        out.push(StreamEvent::BlockStart { index, block });
        self.open = Some(Open {
            index,
            output_index,
            kind,
            streamed: false,
        });
        index
    }

    fn close(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some(open) = self.open.take() {
            out.push(StreamEvent::BlockStop { index: open.index });
        }
    }

    /// The open block of `kind` for `output_index`, if that is the open one.
    fn open_for(&mut self, output_index: u64, kind: Kind) -> Option<&mut Open> {
        self.open
            .as_mut()
            .filter(|o| o.kind == kind && o.output_index == output_index)
    }

    /// A text or thinking delta without its block's start event gets one; tool
    /// arguments without their call are dropped (the call has no id or name).
    fn delta(&mut self, f: Fragment, kind: Kind, out: &mut Vec<StreamEvent>) {
        let index = match self.open_for(f.output_index, kind) {
            Some(open) => open.index,
            None => {
                let block = match kind {
                    Kind::Text => BlockStart::Text,
                    Kind::Thinking => BlockStart::Thinking,
                    Kind::Tool => return,
                };
                self.begin(f.output_index, kind, block, out)
            }
        };
        if let Some(open) = &mut self.open {
            open.streamed = true;
        }
        self.output_chars += f.delta.chars().count();
        let text = f.delta.into_owned();
        let delta = match kind {
            Kind::Text => Delta::Text(text),
            Kind::Thinking => Delta::Thinking(text),
            Kind::Tool => Delta::ToolArgs(text),
        };
        out.push(StreamEvent::BlockDelta { index, delta });
    }

    fn item_added(&mut self, item: &Item, output_index: u64, out: &mut Vec<StreamEvent>) {
        match item.kind.as_str() {
            "function_call" => {
                self.tool_start(item, output_index, out);
            }
            "reasoning" => {
                self.begin(output_index, Kind::Thinking, BlockStart::Thinking, out);
            }
            // A message's blocks start with its content parts.
            _ => {}
        }
    }

    fn tool_start(&mut self, item: &Item, output_index: u64, out: &mut Vec<StreamEvent>) -> usize {
        self.tool_calls = true;
        let name = item.name.clone().unwrap_or_default();
        self.output_chars += name.len();
        let block = BlockStart::ToolUse {
            id: item.call_id.clone().unwrap_or_default(),
            name,
        };
        self.begin(output_index, Kind::Tool, block, out)
    }

    /// Ends an item's block, first giving what no delta did: a call's
    /// arguments, a reasoning item's text, and its signature.
    fn item_done(&mut self, item: Item, output_index: u64, out: &mut Vec<StreamEvent>) {
        let kind = match item.kind.as_str() {
            "function_call" => Kind::Tool,
            "reasoning" => Kind::Thinking,
            _ => {
                if self.open.is_some_and(|o| o.kind == Kind::Text) {
                    self.close(out);
                }
                return;
            }
        };
        let (index, streamed) = match self.open_for(output_index, kind) {
            Some(open) => (open.index, open.streamed),
            None if kind == Kind::Tool => (self.tool_start(&item, output_index, out), false),
            None => (
                self.begin(output_index, kind, BlockStart::Thinking, out),
                false,
            ),
        };
        if !streamed {
            let text = match kind {
                Kind::Tool => item.arguments.clone().unwrap_or_default(),
                _ => item.thinking(),
            };
            if !text.is_empty() {
                self.output_chars += text.chars().count();
                let delta = match kind {
                    Kind::Tool => Delta::ToolArgs(text),
                    _ => Delta::Thinking(text),
                };
                out.push(StreamEvent::BlockDelta { index, delta });
            }
        }
        if let Some(signature) = item.signature().filter(|_| kind == Kind::Thinking) {
            out.push(StreamEvent::BlockDelta {
                index,
                delta: Delta::Signature(signature),
            });
        }
        self.close(out);
    }

    fn finish(&mut self, response: FinishedResponse, out: &mut Vec<StreamEvent>) {
        self.start(None, out);
        self.close(out);
        let reason = finish_reason(
            response.status.as_deref(),
            response
                .incomplete_details
                .as_ref()
                .and_then(|d| d.reason.as_deref()),
            self.tool_calls,
        );
        let reason = match reason {
            Some(StopReason::EndTurn) if self.refused => Some(StopReason::Refusal),
            other => other,
        };
        let usage = response
            .usage
            .as_ref()
            .and_then(usage_from)
            .unwrap_or_else(|| Usage {
                input_tokens: self.input_estimate,
                output_tokens: estimate_chars(self.output_chars),
                ..Usage::default()
            });
        out.push(StreamEvent::MessageDelta {
            stop_reason: reason,
            stop_sequence: None,
            usage,
        });
        out.push(StreamEvent::MessageStop);
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use futures::StreamExt;
    use serde_json::json;

    use super::super::sse;
    use super::*;

    const ESTIMATE: u64 = 50;

    fn run(frames: &[Value]) -> Vec<StreamEvent> {
        let mut t = EventTranslator::new(ESTIMATE);
        let mut out = Vec::new();
        for f in frames {
            if t.frame(&f.to_string(), &mut out) {
                return out;
            }
        }
        t.end(&mut out);
        out
    }

    fn start(index: usize, block: BlockStart) -> StreamEvent {
        StreamEvent::BlockStart { index, block }
    }

    fn delta(index: usize, delta: Delta) -> StreamEvent {
        StreamEvent::BlockDelta { index, delta }
    }

    fn stop(index: usize) -> StreamEvent {
        StreamEvent::BlockStop { index }
    }

    fn text(t: &str) -> Delta {
        Delta::Text(t.into())
    }

    fn response(status: &str, output: Value, usage: Value) -> Value {
        json!({"id": "resp_abc", "object": "response", "created_at": 1741290958, "status": status,
               "error": null, "incomplete_details": null, "instructions": null,
               "max_output_tokens": null, "model": "gpt-5-2025-08-07", "output": output,
               "parallel_tool_calls": true, "previous_response_id": null,
               "reasoning": {"effort": "medium", "summary": "auto"}, "store": false,
               "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
               "tool_choice": "auto", "tools": [], "top_p": 1.0, "truncation": "disabled",
               "usage": usage, "user": null, "metadata": {}})
    }

    fn created() -> [Value; 2] {
        [
            json!({"type": "response.created", "sequence_number": 0,
                   "response": response("in_progress", json!([]), Value::Null)}),
            json!({"type": "response.in_progress", "sequence_number": 1,
                   "response": response("in_progress", json!([]), Value::Null)}),
        ]
    }

    fn message_start() -> StreamEvent {
        StreamEvent::MessageStart {
            id: "resp_abc".into(),
            usage: Usage::input_only(ESTIMATE),
        }
    }

    fn text_part(output_index: u64, deltas: &[&str]) -> Vec<Value> {
        let full: String = deltas.concat();
        let mut frames = vec![
            json!({"type": "response.output_item.added", "sequence_number": 9, "output_index": output_index,
                   "item": {"id": "msg_abc", "type": "message", "status": "in_progress", "content": [], "role": "assistant"}}),
            json!({"type": "response.content_part.added", "sequence_number": 10, "item_id": "msg_abc",
                   "output_index": output_index, "content_index": 0,
                   "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}}),
        ];
        for d in deltas {
            frames.push(json!({"type": "response.output_text.delta", "sequence_number": 11, "item_id": "msg_abc",
                               "output_index": output_index, "content_index": 0, "delta": d,
                               "logprobs": [], "obfuscation": "q8TnZ"}));
        }
        frames.extend([
            json!({"type": "response.output_text.done", "sequence_number": 13, "item_id": "msg_abc",
                   "output_index": output_index, "content_index": 0, "text": full, "logprobs": []}),
            json!({"type": "response.content_part.done", "sequence_number": 14, "item_id": "msg_abc",
                   "output_index": output_index, "content_index": 0,
                   "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": full}}),
            json!({"type": "response.output_item.done", "sequence_number": 15, "output_index": output_index,
                   "item": {"id": "msg_abc", "type": "message", "status": "completed", "role": "assistant",
                            "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": full}]}}),
        ]);
        frames
    }

    /// A reasoned answer that says something and calls a tool, as OpenAI streams it.
    fn full_answer() -> Vec<Value> {
        let reasoning_done = json!({"id": "rs_abc", "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "**Checking weather**"}],
            "encrypted_content": "gAAAAABoSecret=="});
        let call_done = json!({"id": "fc_abc", "type": "function_call", "status": "completed",
            "arguments": "{\"city\":\"Paris\"}", "call_id": "call_xyz", "name": "get_weather"});
        let mut frames = created().to_vec();
        frames.extend([
            json!({"type": "response.output_item.added", "sequence_number": 2, "output_index": 0,
                   "item": {"id": "rs_abc", "type": "reasoning", "summary": []}}),
            json!({"type": "response.reasoning_summary_part.added", "sequence_number": 3, "item_id": "rs_abc",
                   "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
            json!({"type": "response.reasoning_summary_text.delta", "sequence_number": 4, "item_id": "rs_abc",
                   "output_index": 0, "summary_index": 0, "delta": "**Checking", "obfuscation": "3Vm"}),
            json!({"type": "response.reasoning_summary_text.delta", "sequence_number": 5, "item_id": "rs_abc",
                   "output_index": 0, "summary_index": 0, "delta": " weather**", "obfuscation": "kQ"}),
            json!({"type": "response.reasoning_summary_text.done", "sequence_number": 6, "item_id": "rs_abc",
                   "output_index": 0, "summary_index": 0, "text": "**Checking weather**"}),
            json!({"type": "response.reasoning_summary_part.done", "sequence_number": 7, "item_id": "rs_abc",
                   "output_index": 0, "summary_index": 0,
                   "part": {"type": "summary_text", "text": "**Checking weather**"}}),
            json!({"type": "response.output_item.done", "sequence_number": 8, "output_index": 0,
                   "item": reasoning_done}),
        ]);
        frames.extend(text_part(1, &["Let me", " check \"Paris\".\n"]));
        frames.extend([
            json!({"type": "response.output_item.added", "sequence_number": 16, "output_index": 2,
                   "item": {"id": "fc_abc", "type": "function_call", "status": "in_progress",
                            "arguments": "", "call_id": "call_xyz", "name": "get_weather"}}),
            json!({"type": "response.function_call_arguments.delta", "sequence_number": 17, "item_id": "fc_abc",
                   "output_index": 2, "delta": "{\"city\":", "obfuscation": "u"}),
            json!({"type": "response.function_call_arguments.delta", "sequence_number": 18, "item_id": "fc_abc",
                   "output_index": 2, "delta": "\"Paris\"}", "obfuscation": "Hx"}),
            json!({"type": "response.function_call_arguments.done", "sequence_number": 19, "item_id": "fc_abc",
                   "output_index": 2, "arguments": "{\"city\":\"Paris\"}"}),
            json!({"type": "response.output_item.done", "sequence_number": 20, "output_index": 2,
                   "item": call_done}),
            json!({"type": "response.completed", "sequence_number": 21,
                   "response": response("completed", json!([reasoning_done, call_done]),
                       json!({"input_tokens": 120, "input_tokens_details": {"cached_tokens": 100},
                              "output_tokens": 60, "output_tokens_details": {"reasoning_tokens": 30},
                              "total_tokens": 180}))}),
        ]);
        frames
    }

    fn full_answer_events() -> Vec<StreamEvent> {
        vec![
            message_start(),
            start(0, BlockStart::Thinking),
            delta(0, Delta::Thinking("**Checking".into())),
            delta(0, Delta::Thinking(" weather**".into())),
            delta(
                0,
                Delta::Signature("openai-responses:rs_abc:gAAAAABoSecret==".into()),
            ),
            stop(0),
            start(1, BlockStart::Text),
            delta(1, text("Let me")),
            delta(1, text(" check \"Paris\".\n")),
            stop(1),
            start(
                2,
                BlockStart::ToolUse {
                    id: "call_xyz".into(),
                    name: "get_weather".into(),
                },
            ),
            delta(2, Delta::ToolArgs("{\"city\":".into())),
            delta(2, Delta::ToolArgs("\"Paris\"}".into())),
            stop(2),
            StreamEvent::MessageDelta {
                stop_reason: Some(StopReason::ToolUse),
                stop_sequence: None,
                usage: Usage {
                    input_tokens: 20,
                    output_tokens: 60,
                    cache_read_input_tokens: 100,
                    cache_creation_input_tokens: 0,
                },
            },
            StreamEvent::MessageStop,
        ]
    }

    #[test]
    fn a_full_answer_in_order() {
        assert_eq!(run(&full_answer()), full_answer_events());
    }

    #[tokio::test]
    async fn it_composes_with_the_sse_decoder_split_anywhere() {
        let wire: String = full_answer()
            .iter()
            .map(|f| format!("event: {}\ndata: {f}\n\n", f["type"].as_str().unwrap()))
            .collect();
        for size in [1, 7, 64, wire.len()] {
            let chunks: Vec<crate::Result<Bytes>> = wire
                .as_bytes()
                .chunks(size)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            let batches = sse::events(futures::stream::iter(chunks));
            let events: Vec<StreamEvent> = sse::translated(batches, EventTranslator::new(ESTIMATE))
                .collect()
                .await;
            assert_eq!(events, full_answer_events(), "chunks of {size}");
        }
    }

    #[test]
    fn summary_parts_are_paragraphs() {
        let mut frames = created().to_vec();
        frames.extend([
            json!({"type": "response.output_item.added", "output_index": 0,
                   "item": {"id": "rs_1", "type": "reasoning", "summary": []}}),
            json!({"type": "response.reasoning_summary_part.added", "output_index": 0, "summary_index": 0,
                   "part": {"type": "summary_text", "text": ""}}),
            json!({"type": "response.reasoning_summary_text.delta", "output_index": 0, "summary_index": 0, "delta": "One."}),
            json!({"type": "response.reasoning_summary_part.added", "output_index": 0, "summary_index": 1,
                   "part": {"type": "summary_text", "text": ""}}),
            json!({"type": "response.reasoning_summary_text.delta", "output_index": 0, "summary_index": 1, "delta": "Two."}),
            // No encrypted content: no signature.
            json!({"type": "response.output_item.done", "output_index": 0,
                   "item": {"id": "rs_1", "type": "reasoning", "summary": [
                       {"type": "summary_text", "text": "One."}, {"type": "summary_text", "text": "Two."}]}}),
        ]);
        frames.extend(text_part(1, &["Hi"]));
        frames.push(json!({"type": "response.completed",
            "response": response("completed", json!([]), json!({"input_tokens": 10, "output_tokens": 3}))}));
        assert_eq!(
            run(&frames),
            vec![
                message_start(),
                start(0, BlockStart::Thinking),
                delta(0, Delta::Thinking("One.".into())),
                delta(0, Delta::Thinking("\n\n".into())),
                delta(0, Delta::Thinking("Two.".into())),
                stop(0),
                start(1, BlockStart::Text),
                delta(1, text("Hi")),
                stop(1),
                StreamEvent::MessageDelta {
                    stop_reason: Some(StopReason::EndTurn),
                    stop_sequence: None,
                    usage: Usage {
                        input_tokens: 10,
                        output_tokens: 3,
                        ..Usage::default()
                    },
                },
                StreamEvent::MessageStop,
            ]
        );
    }

    #[test]
    fn what_no_delta_carried_comes_from_the_done_item() {
        let mut frames = created().to_vec();
        frames.extend([
            // Encrypted reasoning without any summary.
            json!({"type": "response.output_item.added", "output_index": 0,
                   "item": {"id": "rs_1", "type": "reasoning", "summary": []}}),
            json!({"type": "response.output_item.done", "output_index": 0,
                   "item": {"id": "rs_1", "type": "reasoning", "summary": [], "encrypted_content": "enc"}}),
            // Arguments only in the done item.
            json!({"type": "response.output_item.added", "output_index": 1,
                   "item": {"id": "fc_1", "type": "function_call", "arguments": "", "call_id": "call_1", "name": "f"}}),
            json!({"type": "response.output_item.done", "output_index": 1,
                   "item": {"id": "fc_1", "type": "function_call", "arguments": "{\"a\":1}", "call_id": "call_1", "name": "f"}}),
            // A call with no added event at all.
            json!({"type": "response.output_item.done", "output_index": 2,
                   "item": {"id": "fc_2", "type": "function_call", "arguments": "{}", "call_id": "call_2", "name": "g"}}),
            json!({"type": "response.completed", "response": response("completed", json!([]), Value::Null)}),
        ]);
        let call = |id: &str, name: &str| BlockStart::ToolUse {
            id: id.into(),
            name: name.into(),
        };
        assert_eq!(
            run(&frames),
            vec![
                message_start(),
                start(0, BlockStart::Thinking),
                delta(0, Delta::Signature("openai-responses:rs_1:enc".into())),
                stop(0),
                start(1, call("call_1", "f")),
                delta(1, Delta::ToolArgs("{\"a\":1}".into())),
                stop(1),
                start(2, call("call_2", "g")),
                delta(2, Delta::ToolArgs("{}".into())),
                stop(2),
                // No usage: the input estimate, the output counted from the text.
                StreamEvent::MessageDelta {
                    stop_reason: Some(StopReason::ToolUse),
                    stop_sequence: None,
                    usage: Usage {
                        input_tokens: ESTIMATE,
                        output_tokens: 3,
                        ..Usage::default()
                    },
                },
                StreamEvent::MessageStop,
            ]
        );
    }

    #[test]
    fn incomplete_is_max_tokens() {
        let mut frames = created().to_vec();
        frames.extend(text_part(0, &["Once upon"]).into_iter().take(3));
        let mut cut = response(
            "incomplete",
            json!([]),
            json!({"input_tokens": 9, "output_tokens": 16}),
        );
        cut["incomplete_details"] = json!({"reason": "max_output_tokens"});
        frames.push(json!({"type": "response.incomplete", "response": cut}));
        assert_eq!(
            run(&frames),
            vec![
                message_start(),
                start(0, BlockStart::Text),
                delta(0, text("Once upon")),
                stop(0),
                StreamEvent::MessageDelta {
                    stop_reason: Some(StopReason::MaxTokens),
                    stop_sequence: None,
                    usage: Usage {
                        input_tokens: 9,
                        output_tokens: 16,
                        ..Usage::default()
                    },
                },
                StreamEvent::MessageStop,
            ]
        );
    }

    #[test]
    fn a_refusal_is_text_and_stops_as_refusal() {
        let mut frames = created().to_vec();
        frames.extend([
            json!({"type": "response.output_item.added", "output_index": 0,
                   "item": {"id": "msg_1", "type": "message", "content": [], "role": "assistant"}}),
            json!({"type": "response.content_part.added", "output_index": 0, "content_index": 0,
                   "part": {"type": "refusal", "refusal": ""}}),
            json!({"type": "response.refusal.delta", "output_index": 0, "content_index": 0, "delta": "I can't"}),
            json!({"type": "response.refusal.done", "output_index": 0, "content_index": 0, "refusal": "I can't"}),
            json!({"type": "response.content_part.done", "output_index": 0, "content_index": 0,
                   "part": {"type": "refusal", "refusal": "I can't"}}),
            json!({"type": "response.completed", "response": response("completed", json!([]), Value::Null)}),
        ]);
        let ev = run(&frames);
        assert_eq!(
            ev[1..4],
            [
                start(0, BlockStart::Text),
                delta(0, text("I can't")),
                stop(0)
            ]
        );
        assert!(matches!(
            ev[4],
            StreamEvent::MessageDelta {
                stop_reason: Some(StopReason::Refusal),
                ..
            }
        ));
    }

    #[test]
    fn unknown_events_and_items_are_skipped() {
        let mut frames = created().to_vec();
        frames.extend([
            json!({"type": "response.output_item.added", "output_index": 0,
                   "item": {"id": "ws_1", "type": "web_search_call", "status": "in_progress", "action": {"type": "search"}}}),
            json!({"type": "response.web_search_call.searching", "output_index": 0, "item_id": "ws_1"}),
            json!({"type": "response.output_item.done", "output_index": 0,
                   "item": {"id": "ws_1", "type": "web_search_call", "status": "completed", "content": "not parts"}}),
            json!({"type": "response.custom_tool_call_input.delta", "output_index": 1, "delta": {"odd": true}}),
            json!({"type": "keepalive"}),
        ]);
        frames.extend(text_part(1, &["ok"]));
        frames.push(json!({"type": "response.completed", "response": response("completed", json!([]), Value::Null)}));
        let ev = run(&frames);
        assert_eq!(
            ev[1..4],
            [start(0, BlockStart::Text), delta(0, text("ok")), stop(0)]
        );
        assert_eq!(ev.last(), Some(&StreamEvent::MessageStop));
    }

    #[test]
    fn failures_end_the_stream_with_an_error() {
        let fails = |last: Value| {
            let mut frames = created().to_vec();
            frames.push(last);
            let ev = run(&frames);
            assert_eq!(ev.len(), 2, "{ev:?}");
            match &ev[1] {
                StreamEvent::Error(e) => {
                    assert_eq!(e.kind(), ErrorKind::Upstream);
                    e.message().to_owned()
                }
                other => panic!("expected an error, got {other:?}"),
            }
        };
        assert_eq!(
            fails(
                json!({"type": "error", "sequence_number": 2, "code": "rate_limit_exceeded",
                         "message": "Slow down.", "param": null})
            ),
            "upstream failed mid-stream: Slow down."
        );
        let mut failed = response("failed", json!([]), Value::Null);
        failed["error"] = json!({"code": "server_error", "message": "The model crashed."});
        assert_eq!(
            fails(json!({"type": "response.failed", "response": failed})),
            "upstream failed the response: The model crashed."
        );
        let invalid = {
            let mut t = EventTranslator::new(ESTIMATE);
            let mut out = Vec::new();
            assert!(t.frame("{\"type\": \"response.output_text.delta\"", &mut out));
            out
        };
        assert!(
            matches!(&invalid[..], [StreamEvent::Error(e)] if e.message().starts_with("upstream sent an invalid event")),
            "{invalid:?}"
        );
    }

    #[test]
    fn a_stream_cut_short_is_an_error() {
        let mut frames = created().to_vec();
        frames.extend(text_part(0, &["Hal"]).into_iter().take(3));
        let ev = run(&frames);
        assert_eq!(
            ev[..3],
            [
                message_start(),
                start(0, BlockStart::Text),
                delta(0, text("Hal"))
            ]
        );
        assert!(
            matches!(ev.last(), Some(StreamEvent::Error(e)) if e.message().contains("before it finished"))
        );
        // `[DONE]` before the response finished is no better.
        let mut t = EventTranslator::new(ESTIMATE);
        let mut out = Vec::new();
        assert!(t.frame("[DONE]", &mut out));
        assert!(matches!(&out[..], [StreamEvent::Error(_)]));
    }
}
