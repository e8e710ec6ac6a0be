//! The canonical model rendered into each API shape. This file is the one
//! shape switch: every surface (HTTP, C, Python, Node) renders an answer, a
//! stream event or an error in a shape through it; the per-shape files do the
//! rendering.

pub mod anthropic;
pub mod headers;
pub mod ids;
pub mod models;
pub mod openai;
pub mod responses;
pub mod retrieval;

use serde_json::Value;

pub use crate::call::SseFrame;
use crate::call::{unix_now, Body, Shape};
use crate::canonical::{ChatRequest, ChatResponse, ResponsesRequest, StreamEvent};
use crate::route::Profile;
use crate::{Error, ErrorKind};

/// The error `type` of a kind in a shape.
pub fn error_type(shape: Shape, kind: ErrorKind) -> &'static str {
    match shape {
        Shape::Anthropic => anthropic::error_type(kind),
        Shape::OpenAi | Shape::Responses => openai::error_type(kind),
    }
}

/// The body of an error answer (and of a stream's error event) in a shape.
pub fn error_body(shape: Shape, e: &Error) -> Value {
    match shape {
        Shape::Anthropic => anthropic::error_body(e),
        Shape::OpenAi => openai::error_body(e),
        Shape::Responses => responses::error_body(e),
    }
}

/// What an answer is rendered as: its shape and what that shape echoes.
pub enum Render<'a> {
    /// `model` is the string the client sent.
    Anthropic {
        model: &'a str,
    },
    OpenAi {
        model: &'a str,
        include_usage: bool,
    },
    /// Response `id` (`responses::new_response_id`) to the request `req`.
    Responses {
        req: &'a ResponsesRequest,
        id: String,
    },
}

impl<'a> Render<'a> {
    /// A Messages or Chat Completions answer to `req` in `shape` (a chat
    /// request has no Responses rendering: Responses calls use `Render::Responses`).
    pub fn chat(shape: Shape, req: &'a ChatRequest) -> Self {
        match shape {
            Shape::Anthropic => Render::Anthropic { model: &req.model },
            Shape::OpenAi | Shape::Responses => Render::OpenAi {
                model: &req.model,
                include_usage: req.include_usage,
            },
        }
    }
}

/// A complete answer as `render` says, stamped `created`; serialized when `bytes`.
pub fn response_body(render: &Render<'_>, resp: &ChatResponse, created: i64, bytes: bool) -> Body {
    match render {
        Render::Anthropic { model } => Body::of(&anthropic::response_body(resp, model), bytes),
        Render::OpenAi { model, .. } => Body::of(
            &openai::response_body(resp, model, u64::try_from(created).unwrap_or(0)),
            bytes,
        ),
        Render::Responses { req, id } => Body::of(
            &responses::response_body(req, resp, id, created, unix_now()),
            bytes,
        ),
    }
}

/// `{"input_tokens": N}`: a count_tokens answer.
pub fn count_tokens(input_tokens: u64) -> Value {
    serde_json::json!({ "input_tokens": input_tokens })
}

/// The profiles as a model list in a shape.
pub fn model_list<'a>(shape: Shape, profiles: impl Iterator<Item = &'a Profile>) -> Value {
    match shape {
        Shape::Anthropic => models::anthropic_model_list(profiles),
        Shape::OpenAi | Shape::Responses => models::openai_model_list(profiles),
    }
}

/// One profile as a model entry in a shape.
pub fn model(shape: Shape, profile: &Profile) -> Value {
    match shape {
        Shape::Anthropic => models::anthropic_model(profile),
        Shape::OpenAi | Shape::Responses => models::openai_model(profile),
    }
}

/// Renders a stream's canonical events as SSE frames in a shape.
pub enum StreamRenderer {
    Anthropic(anthropic::StreamRenderer),
    OpenAi(openai::StreamRenderer),
    Responses(Box<responses::StreamRenderer>),
}

impl StreamRenderer {
    pub fn new(render: Render<'_>, created: i64) -> Self {
        match render {
            Render::Anthropic { model } => {
                StreamRenderer::Anthropic(anthropic::StreamRenderer::new(model))
            }
            Render::OpenAi {
                model,
                include_usage,
            } => StreamRenderer::OpenAi(openai::StreamRenderer::new(
                model,
                include_usage,
                u64::try_from(created).unwrap_or(0),
            )),
            Render::Responses { req, id } => StreamRenderer::Responses(Box::new(
                responses::StreamRenderer::new(req, id, created),
            )),
        }
    }

    /// Appends the frames for `ev` to `out`.
    pub fn render(&mut self, ev: StreamEvent, out: &mut Vec<SseFrame>) {
        match self {
            StreamRenderer::Anthropic(r) => r.render(ev, out),
            StreamRenderer::OpenAi(r) => r.render(ev, out),
            StreamRenderer::Responses(r) => r.render(ev, out),
        }
    }

    /// The Responses renderer, to read its finished response off.
    pub fn responses(&self) -> Option<&responses::StreamRenderer> {
        match self {
            StreamRenderer::Responses(r) => Some(r),
            _ => None,
        }
    }
}

/// The kind of in-process stream event a frame's JSON is, as the C callback
/// names it: Anthropic and Responses events by their `type`, OpenAI chunks as
/// `chunk` (or `error` for a chunk carrying one).
pub fn event_name(shape: Shape, data: &Value) -> &str {
    match shape {
        Shape::Anthropic => data
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("message"),
        Shape::OpenAi if data.get("error").is_some() => "error",
        Shape::OpenAi => "chunk",
        Shape::Responses => data.get("type").and_then(Value::as_str).unwrap_or("error"),
    }
}
