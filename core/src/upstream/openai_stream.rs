//! OpenAI chunks → canonical events, as they arrive. Keeps a per-stream map
//! from `tool_calls[i].index` to content-block indexes, so parallel calls each
//! get their own block, and bills from the final usage even when it comes in a
//! trailing chunk with `choices: []`.

use std::collections::HashMap;

use serde_json::Value;

use super::openai_wire::{stop_reason, usage_from};
use super::sse::Translate;
use crate::canonical::{BlockStart, Delta, StopReason, StreamEvent, Usage};
use crate::tokens::estimate_chars;
use crate::{Error, ErrorKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    Thinking,
    Tool(u64),
}

impl Translate for ChunkTranslator {
    fn frame(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> bool {
        ChunkTranslator::frame(self, data, out)
    }

    fn end(&mut self, out: &mut Vec<StreamEvent>) {
        ChunkTranslator::end(self, out)
    }
}

#[derive(Debug)]
pub struct ChunkTranslator {
    started: bool,
    next_index: usize,
    open: Option<(usize, Open)>,
    tools: HashMap<u64, usize>,
    finish: Option<(StopReason, Option<String>)>,
    usage: Option<Usage>,
    input_estimate: u64,
    output_chars: usize,
    stops: Vec<String>,
}

impl ChunkTranslator {
    pub fn new(input_estimate: u64, stops: &[String]) -> Self {
        ChunkTranslator {
            started: false,
            next_index: 0,
            open: None,
            tools: HashMap::new(),
            finish: None,
            usage: None,
            input_estimate,
            output_chars: 0,
            stops: stops.to_vec(),
        }
    }

    /// Translates one SSE data payload; returns true when the stream is over.
    pub fn frame(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> bool {
        if data.trim() == "[DONE]" {
            self.finish(out);
            return true;
        }
        let chunk: Value = match serde_json::from_str(data) {
            Ok(v) => v,
            Err(e) => {
                out.push(StreamEvent::Error(Error::new(
                    ErrorKind::Upstream,
                    format!("upstream sent an invalid chunk: {e}"),
                )));
                return true;
            }
        };
        if let Some(err) = chunk.get("error") {
            let msg = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("upstream error");
            out.push(StreamEvent::Error(Error::new(
                ErrorKind::Upstream,
                format!("upstream failed mid-stream: {msg}"),
            )));
            return true;
        }
        self.start(&chunk, out);
        if let Some(u) = chunk.get("usage").and_then(usage_from) {
            self.usage = Some(u);
        }
        let Some(choice) = chunk.pointer("/choices/0") else {
            return false;
        };
        if let Some(delta) = choice.get("delta") {
            let reasoning = delta
                .get("reasoning_content")
                .or_else(|| delta.get("reasoning"))
                .and_then(Value::as_str);
            if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
                let index = self.ensure(Open::Thinking, BlockStart::Thinking, out);
                self.output_chars += r.chars().count();
                out.push(StreamEvent::BlockDelta {
                    index,
                    delta: Delta::Thinking(r.to_string()),
                });
            }
            // A refusal is what the model said, as in the complete response.
            for key in ["content", "refusal"] {
                if let Some(t) = delta
                    .get(key)
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                {
                    let index = self.ensure(Open::Text, BlockStart::Text, out);
                    self.output_chars += t.chars().count();
                    out.push(StreamEvent::BlockDelta {
                        index,
                        delta: Delta::Text(t.to_string()),
                    });
                }
            }
            for call in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.tool_call(call, out);
            }
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            let matched = choice.get("stop_reason").and_then(Value::as_str);
            self.finish = Some(stop_reason(f, matched, &self.stops));
        }
        false
    }

    /// The upstream closed without `[DONE]`: a stream that said why it stopped
    /// ends cleanly, any other was cut short.
    pub fn end(&mut self, out: &mut Vec<StreamEvent>) {
        if self.finish.is_some() {
            self.finish(out);
        } else {
            out.push(StreamEvent::Error(Error::new(
                ErrorKind::Upstream,
                "the upstream closed the stream before it finished",
            )));
        }
    }

    fn start(&mut self, chunk: &Value, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        let id = chunk
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("chatcmpl-upstream")
            .to_string();
        out.push(StreamEvent::MessageStart {
            id,
            usage: Usage {
                input_tokens: self.input_estimate,
                ..Usage::default()
            },
        });
    }

    fn close(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some((index, _)) = self.open.take() {
            out.push(StreamEvent::BlockStop { index });
        }
    }

    /// The index of the open block of `kind`, starting one if another is open.
    fn ensure(&mut self, kind: Open, start: BlockStart, out: &mut Vec<StreamEvent>) -> usize {
        if let Some((index, k)) = self.open {
            if k == kind {
                return index;
            }
        }
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        out.push(StreamEvent::BlockStart {
            index,
            block: start,
        });
        self.open = Some((index, kind));
        index
    }

    fn tool_call(&mut self, call: &Value, out: &mut Vec<StreamEvent>) {
        let oi = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let f = call.get("function");
        let args = f
            .and_then(|f| f.get("arguments"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let index = match self.tools.get(&oi) {
            Some(&index) => index,
            None => {
                let id = call
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let name = f
                    .and_then(|f| f.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                self.output_chars += name.len();
                let index = self.ensure(Open::Tool(oi), BlockStart::ToolUse { id, name }, out);
                self.tools.insert(oi, index);
                index
            }
        };
        if !args.is_empty() {
            // Calls arrive one after another; a fragment for an earlier call
            // (never seen from OpenAI) is still delivered to its own block.
            self.output_chars += args.chars().count();
            out.push(StreamEvent::BlockDelta {
                index,
                delta: Delta::ToolArgs(args.to_string()),
            });
        }
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        if !self.started {
            self.start(&Value::Null, out);
        }
        self.close(out);
        let (reason, seq) = self.finish.take().unwrap_or((StopReason::EndTurn, None));
        let usage = self.usage.unwrap_or(Usage {
            input_tokens: self.input_estimate,
            output_tokens: estimate_chars(self.output_chars),
            ..Usage::default()
        });
        out.push(StreamEvent::MessageDelta {
            stop_reason: Some(reason),
            stop_sequence: seq,
            usage,
        });
        out.push(StreamEvent::MessageStop);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(frames: &[&str]) -> Vec<StreamEvent> {
        let mut t = ChunkTranslator::new(10, &[]);
        let mut out = Vec::new();
        for f in frames {
            if t.frame(f, &mut out) {
                return out;
            }
        }
        t.end(&mut out);
        out
    }

    fn chunk(delta: &str, finish: &str) -> String {
        format!(
            r#"{{"id":"c1","choices":[{{"index":0,"delta":{delta},"finish_reason":{finish}}}]}}"#
        )
    }

    #[test]
    fn refusal_deltas_are_text() {
        let a = chunk(
            r#"{"role":"assistant","content":null,"refusal":""}"#,
            "null",
        );
        let b = chunk(r#"{"refusal":"I can't help"}"#, "null");
        let c = chunk(r#"{"refusal":" with that."}"#, r#""stop""#);
        let texts: Vec<Delta> = run(&[&a, &b, &c, "[DONE]"])
            .into_iter()
            .filter_map(|e| match e {
                StreamEvent::BlockDelta { delta, .. } => Some(delta),
                _ => None,
            })
            .collect();
        assert_eq!(
            texts,
            [
                Delta::Text("I can't help".into()),
                Delta::Text(" with that.".into())
            ]
        );
    }

    #[test]
    fn text_then_usage_only_chunk_is_billed() {
        let a = chunk(r#"{"role":"assistant","content":""}"#, "null");
        let b = chunk(r#"{"content":"Hel"}"#, "null");
        let c = chunk(r#"{"content":"lo"}"#, "null");
        let d = chunk("{}", r#""stop""#);
        let u = r#"{"id":"c1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}"#;
        let ev = run(&[&a, &b, &c, &d, u, "[DONE]"]);
        assert_eq!(
            ev,
            vec![
                StreamEvent::MessageStart {
                    id: "c1".into(),
                    usage: Usage {
                        input_tokens: 10,
                        ..Usage::default()
                    }
                },
                StreamEvent::BlockStart {
                    index: 0,
                    block: BlockStart::Text
                },
                StreamEvent::BlockDelta {
                    index: 0,
                    delta: Delta::Text("Hel".into())
                },
                StreamEvent::BlockDelta {
                    index: 0,
                    delta: Delta::Text("lo".into())
                },
                StreamEvent::BlockStop { index: 0 },
                StreamEvent::MessageDelta {
                    stop_reason: Some(StopReason::EndTurn),
                    stop_sequence: None,
                    usage: Usage {
                        input_tokens: 12,
                        output_tokens: 2,
                        ..Usage::default()
                    },
                },
                StreamEvent::MessageStop,
            ]
        );
    }

    #[test]
    fn parallel_tool_calls_get_their_own_blocks() {
        let a = chunk(r#"{"content":"ok"}"#, "null");
        let b = chunk(
            r#"{"tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"f","arguments":""}}]}"#,
            "null",
        );
        let c = chunk(
            r#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":"}}]}"#,
            "null",
        );
        let d = chunk(
            r#"{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}"#,
            "null",
        );
        let e = chunk(
            r#"{"tool_calls":[{"index":1,"id":"call_B","type":"function","function":{"name":"g","arguments":"{}"}}]}"#,
            "null",
        );
        let f = chunk("{}", r#""tool_calls""#);
        let ev = run(&[&a, &b, &c, &d, &e, &f, "[DONE]"]);
        let starts: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                StreamEvent::BlockStart { index, block } => Some((*index, block.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            starts,
            vec![
                (0, BlockStart::Text),
                (
                    1,
                    BlockStart::ToolUse {
                        id: "call_A".into(),
                        name: "f".into()
                    }
                ),
                (
                    2,
                    BlockStart::ToolUse {
                        id: "call_B".into(),
                        name: "g".into()
                    }
                ),
            ]
        );
        let args1: String = ev
            .iter()
            .filter_map(|e| match e {
                StreamEvent::BlockDelta {
                    index: 1,
                    delta: Delta::ToolArgs(a),
                } => Some(a.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(args1, "{\"x\":1}");
        assert!(ev.contains(&StreamEvent::BlockStop { index: 1 }));
        assert!(matches!(
            ev[ev.len() - 2],
            StreamEvent::MessageDelta {
                stop_reason: Some(StopReason::ToolUse),
                ..
            }
        ));
    }

    #[test]
    fn length_with_half_tool_call_is_max_tokens() {
        let b = chunk(
            r#"{"tool_calls":[{"index":0,"id":"call_A","function":{"name":"f","arguments":"{\"x"}}]}"#,
            "null",
        );
        let f = chunk("{}", r#""length""#);
        let ev = run(&[&b, &f, "[DONE]"]);
        assert!(matches!(
            ev[ev.len() - 2],
            StreamEvent::MessageDelta {
                stop_reason: Some(StopReason::MaxTokens),
                ..
            }
        ));
    }

    #[test]
    fn reasoning_streams_as_thinking() {
        let a = chunk(r#"{"reasoning_content":"think"}"#, "null");
        let b = chunk(r#"{"content":"answer"}"#, r#""stop""#);
        let ev = run(&[&a, &b, "[DONE]"]);
        assert!(ev.contains(&StreamEvent::BlockStart {
            index: 0,
            block: BlockStart::Thinking
        }));
        assert!(ev.contains(&StreamEvent::BlockDelta {
            index: 0,
            delta: Delta::Thinking("think".into())
        }));
        assert!(ev.contains(&StreamEvent::BlockStop { index: 0 }));
        assert!(ev.contains(&StreamEvent::BlockStart {
            index: 1,
            block: BlockStart::Text
        }));
    }

    #[test]
    fn cut_stream_and_error_chunk() {
        let a = chunk(r#"{"content":"par"}"#, "null");
        let ev = run(&[&a]);
        assert!(matches!(ev.last(), Some(StreamEvent::Error(_))));
        let ev = run(&[&a, r#"{"error":{"message":"boom"}}"#]);
        assert!(matches!(ev.last(), Some(StreamEvent::Error(e)) if e.message().contains("boom")));
        // Without [DONE] but with a finish reason, the stream ends cleanly.
        let f = chunk("{}", r#""stop""#);
        let ev = run(&[&a, &f]);
        assert_eq!(ev.last(), Some(&StreamEvent::MessageStop));
    }
}
