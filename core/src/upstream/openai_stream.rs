//! OpenAI chunks → canonical events, as they arrive. Keeps a per-stream map
//! from `tool_calls[i].index` to content-block indexes, so parallel calls each
//! get their own block, and bills from the final usage even when it comes in a
//! trailing chunk with `choices: []`.

use std::collections::HashMap;

use super::openai_chunk::{Chunk, Text, ToolCallDelta};
use super::openai_wire::{stop_reason, WireUsage};
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

#[derive(Debug, Clone)]
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
    /// The last chunk read carried the usage and no choice.
    only_usage: bool,
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
            only_usage: false,
        }
    }

    /// Translates one SSE data payload; returns true when the stream is over.
    pub fn frame(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> bool {
        if data.trim() == "[DONE]" {
            self.finish(out);
            return true;
        }
        let chunk = match Chunk::parse(data) {
            Ok(c) => c,
            Err(e) => {
                out.push(StreamEvent::Error(Error::new(
                    ErrorKind::Upstream,
                    format!("upstream sent an invalid chunk: {e}"),
                )));
                return true;
            }
        };
        if let Some(msg) = chunk.error_message() {
            out.push(StreamEvent::Error(Error::new(
                ErrorKind::Upstream,
                format!("upstream failed mid-stream: {msg}"),
            )));
            return true;
        }
        self.start(chunk.id.get(), out);
        if let Some(u) = chunk.usage.as_ref().and_then(WireUsage::canonical) {
            self.usage = Some(u);
        }
        self.only_usage = chunk.usage.is_some() && chunk.choice().is_none();
        let Some(choice) = chunk.choice() else {
            return false;
        };
        if let Some(delta) = &choice.delta {
            let reasoning = delta.reasoning_content.get().or(delta.reasoning.get());
            if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
                let index = self.ensure(Open::Thinking, BlockStart::Thinking, out);
                self.output_chars += r.chars().count();
                out.push(StreamEvent::BlockDelta {
                    index,
                    delta: Delta::Thinking(r.to_string()),
                });
            }
            // A refusal is what the model said, as in the complete response.
            for t in [&delta.content, &delta.refusal]
                .into_iter()
                .filter_map(Text::non_empty)
            {
                let index = self.ensure(Open::Text, BlockStart::Text, out);
                self.output_chars += t.chars().count();
                out.push(StreamEvent::BlockDelta {
                    index,
                    delta: Delta::Text(t.to_string()),
                });
            }
            for call in delta.tool_calls.iter().flatten() {
                self.tool_call(call, out);
            }
        }
        if let Some(f) = choice.finish_reason.get() {
            self.finish = Some(stop_reason(f, choice.stop_reason.get(), &self.stops));
        }
        false
    }

    /// Whether the last chunk read carried the usage and no choice.
    pub fn only_usage(&self) -> bool {
        self.only_usage
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

    fn start(&mut self, id: Option<&str>, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        out.push(StreamEvent::MessageStart {
            id: id.unwrap_or("chatcmpl-upstream").to_string(),
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

    fn tool_call(&mut self, call: &ToolCallDelta<'_>, out: &mut Vec<StreamEvent>) {
        let oi = call.index.0;
        let f = call.function.as_ref();
        let args = f.and_then(|f| f.arguments.get()).unwrap_or("");
        let index = match self.tools.get(&oi) {
            Some(&index) => index,
            None => {
                let id = call.id.get().unwrap_or_default().to_string();
                let name = f.and_then(|f| f.name.get()).unwrap_or_default().to_string();
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
            self.start(None, out);
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
