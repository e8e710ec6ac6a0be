//! Stream events, modelled on Anthropic's (the richer of the two): an OpenAI
//! chunk stream is rendered from them by a stateful renderer.

use std::pin::Pin;

use super::{StopReason, Usage};
use crate::Error;
use futures::Stream;

#[derive(Debug, Clone, PartialEq)]
pub enum BlockStart {
    Text,
    ToolUse { id: String, name: String },
    Thinking,
    RedactedThinking { data: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    Text(String),
    /// A fragment of a tool call's JSON arguments.
    ToolArgs(String),
    Thinking(String),
    Signature(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// First event: the message id and the input usage known so far.
    MessageStart {
        id: String,
        usage: Usage,
    },
    BlockStart {
        index: usize,
        block: BlockStart,
    },
    BlockDelta {
        index: usize,
        delta: Delta,
    },
    BlockStop {
        index: usize,
    },
    /// The stop reason and the final usage, complete: input counts included,
    /// adapters fill in what their upstream leaves out of its last event. Renderers
    /// and the meter take it as it is.
    MessageDelta {
        stop_reason: Option<StopReason>,
        stop_sequence: Option<String>,
        usage: Usage,
    },
    MessageStop,
    Ping,
    /// A failure after the stream began; the stream ends after it.
    Error(Error),
}

pub type EventStream = Pin<Box<dyn Stream<Item = StreamEvent> + Send>>;
