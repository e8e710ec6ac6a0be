//! The canonical model rendered into each API shape. This file is the one
//! shape switch: every surface (HTTP, C, Python, Node) renders an answer, a
//! stream event or an error in a shape through it; the per-shape files do the
//! rendering.

pub mod anthropic;
pub mod extras;
pub mod headers;
pub mod ids;
pub mod openai;
pub mod responses;

use serde_json::Value;

pub use crate::call::SseFrame;
use crate::call::{Body, Shape};
use crate::canonical::{ChatRequest, ChatResponse, StreamEvent};
use crate::route::Profile;
use crate::{Error, ErrorKind};

/// The error `type` of a kind in a shape.
pub fn error_type(shape: Shape, kind: ErrorKind) -> &'static str {
    match shape {
        Shape::Anthropic => anthropic::error_type(kind),
        Shape::OpenAi => openai::error_type(kind),
    }
}

/// The body of an error answer (and of a stream's error event) in a shape.
pub fn error_body(shape: Shape, e: &Error) -> Value {
    match shape {
        Shape::Anthropic => anthropic::error_body(e),
        Shape::OpenAi => openai::error_body(e),
    }
}

/// A complete answer in a shape; `model` is the string the client sent,
/// `created` the time it is stamped with. Serialized when `bytes`.
pub fn response_body(
    shape: Shape,
    resp: &ChatResponse,
    model: &str,
    created: i64,
    bytes: bool,
) -> Body {
    match shape {
        Shape::Anthropic => Body::of(&anthropic::response_body(resp, model), bytes),
        Shape::OpenAi => Body::of(
            &openai::response_body(resp, model, u64::try_from(created).unwrap_or(0)),
            bytes,
        ),
    }
}

/// The profiles as a model list in a shape.
pub fn model_list<'a>(shape: Shape, profiles: impl Iterator<Item = &'a Profile>) -> Value {
    match shape {
        Shape::Anthropic => extras::anthropic_model_list(profiles),
        Shape::OpenAi => extras::openai_model_list(profiles),
    }
}

/// One profile as a model entry in a shape.
pub fn model(shape: Shape, profile: &Profile) -> Value {
    match shape {
        Shape::Anthropic => extras::anthropic_model(profile),
        Shape::OpenAi => extras::openai_model(profile),
    }
}

/// Renders a stream's canonical events as SSE frames in a shape.
pub enum StreamRenderer {
    Anthropic(anthropic::StreamRenderer),
    OpenAi(openai::StreamRenderer),
}

impl StreamRenderer {
    pub fn new(shape: Shape, req: &ChatRequest, created: i64) -> Self {
        match shape {
            Shape::Anthropic => {
                StreamRenderer::Anthropic(anthropic::StreamRenderer::new(&req.model))
            }
            Shape::OpenAi => StreamRenderer::OpenAi(openai::StreamRenderer::new(
                &req.model,
                req.include_usage,
                u64::try_from(created).unwrap_or(0),
            )),
        }
    }

    /// Appends the frames for `ev` to `out`.
    pub fn render(&mut self, ev: StreamEvent, out: &mut Vec<SseFrame>) {
        match self {
            StreamRenderer::Anthropic(r) => r.render(ev, out),
            StreamRenderer::OpenAi(r) => r.render(ev, out),
        }
    }
}

/// The kind of in-process stream event a frame's JSON is, as the C callback
/// names it: Anthropic events by their `type`, OpenAI chunks as `chunk` (or
/// `error` for a chunk carrying one).
pub fn event_name(shape: Shape, data: &Value) -> &str {
    match shape {
        Shape::Anthropic => data
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("message"),
        Shape::OpenAi if data.get("error").is_some() => "error",
        Shape::OpenAi => "chunk",
    }
}
