//! The spans of one call, after the OpenTelemetry GenAI semantic conventions:
//! the call's own span (`CallSpan`: what the client asked, what answered,
//! usage, cost, status), and a child per upstream try (`TrySpan`). With
//! tracing off both are empty and every method returns at once.
//!
//! What a span holds is named here and nowhere else: model names, ids,
//! counts, kinds and statuses. Never a prompt, a completion, a key or an
//! error's message (an upstream's message may quote the prompt).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SdkTracer, Span as SdkSpan};

use super::propagate::{self, Outgoing};
use crate::accounts::money::cost_nanos;
use crate::call::{CallContext, Endpoint, Shape};
use crate::canonical::{StopReason, Usage};
use crate::route::Profile;
use crate::upstream::Upstream;
use crate::{Error, Result};

/// The attribute names, in one place.
mod attr {
    pub const OPERATION: &str = "gen_ai.operation.name";
    pub const PROVIDER: &str = "gen_ai.provider.name";
    pub const REQUEST_MODEL: &str = "gen_ai.request.model";
    pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
    pub const INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
    pub const OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
    pub const CACHE_READ_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
    pub const CACHE_CREATION_TOKENS: &str = "gen_ai.usage.cache_creation.input_tokens";
    pub const FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
    pub const ERROR_TYPE: &str = "error.type";
    pub const HTTP_METHOD: &str = "http.request.method";
    pub const HTTP_ROUTE: &str = "http.route";
    pub const HTTP_STATUS: &str = "http.response.status_code";
    pub const REQUEST_ID: &str = "mws.request_id";
    pub const PROFILE: &str = "mws.profile";
    pub const DEPLOYMENT: &str = "mws.deployment";
    pub const UPSTREAM: &str = "mws.upstream";
    pub const TRY: &str = "mws.try";
    pub const COST_USD: &str = "mws.cost_usd";
}

/// The span of one call. Cheap to clone: the pipeline, the routed call and
/// a stream's meter each hold it, and whoever finishes the call ends it.
#[derive(Debug, Clone, Default)]
pub struct CallSpan(Inner);

#[derive(Debug, Clone, Default)]
enum Inner {
    /// Tracing off, no client context: nothing to do.
    #[default]
    Off,
    /// Tracing off, but the client's context goes on upstream as it came.
    Forward(Outgoing),
    On(Arc<Traced>),
}

#[derive(Debug)]
struct Traced {
    /// Holds the call's span.
    cx: Context,
    tracer: SdkTracer,
    operation: Option<&'static str>,
    shape: Shape,
    failed: AtomicBool,
    tries: AtomicU32,
}

/// The GenAI operation an endpoint performs; `None` for those that ask no model.
fn operation(endpoint: &Endpoint) -> Option<&'static str> {
    match endpoint {
        Endpoint::Messages
        | Endpoint::ChatCompletions
        | Endpoint::Responses
        | Endpoint::ResponsesCompact => Some("chat"),
        Endpoint::Embeddings => Some("embeddings"),
        Endpoint::Rerank | Endpoint::RerankV2 => Some("rerank"),
        Endpoint::CountTokens
        | Endpoint::Models
        | Endpoint::Model(_)
        | Endpoint::ResponsesInputTokens
        | Endpoint::Response(_)
        | Endpoint::DeleteResponse(_)
        | Endpoint::ResponseInputItems(_) => None,
    }
}

/// `gen_ai.provider.name` of an upstream kind.
fn provider(up: &Upstream) -> &'static str {
    match up {
        Upstream::OpenAi(_) | Upstream::Responses(_) => "openai",
        Upstream::Anthropic(_) => "anthropic",
        Upstream::Echo(_) => "mws.echo",
    }
}

impl CallSpan {
    /// No span: tracing off and nothing to pass on.
    pub fn off() -> Self {
        CallSpan(Inner::Off)
    }

    /// Tracing off: only the client's context (when valid) goes upstream.
    pub(crate) fn forward(ctx: &CallContext) -> Self {
        match ctx.trace.as_ref().and_then(Outgoing::forwarded) {
            Some(out) => CallSpan(Inner::Forward(out)),
            None => CallSpan::off(),
        }
    }

    /// Starts the span of a call, a child of the client's context when it sent one.
    pub(crate) fn start(tracer: &SdkTracer, endpoint: &Endpoint, ctx: &CallContext) -> Self {
        let parent = ctx
            .trace
            .as_ref()
            .and_then(propagate::parent)
            .unwrap_or_default();
        let op = operation(endpoint);
        let name = match op {
            Some(op) => op.to_string(),
            None => format!("{} {}", endpoint.method(), endpoint.path()),
        };
        let http = ctx.client_ip.is_some();
        let mut attrs = vec![
            KeyValue::new(attr::REQUEST_ID, ctx.request_id.clone()),
            KeyValue::new(attr::HTTP_ROUTE, endpoint.path()),
        ];
        if let Some(op) = op {
            attrs.push(KeyValue::new(attr::OPERATION, op));
        }
        if http {
            attrs.push(KeyValue::new(
                attr::HTTP_METHOD,
                endpoint.method().to_string(),
            ));
        }
        let span = tracer
            .span_builder(name)
            .with_kind(if http {
                SpanKind::Server
            } else {
                SpanKind::Internal
            })
            .with_attributes(attrs)
            .start_with_context(tracer, &parent);
        CallSpan(Inner::On(Arc::new(Traced {
            cx: parent.with_span(span),
            tracer: tracer.clone(),
            operation: op,
            shape: endpoint.shape(ctx.anthropic_version),
            failed: AtomicBool::new(false),
            tries: AtomicU32::new(0),
        })))
    }

    /// Nothing to do at all (tracing off, no client context).
    #[cfg(test)]
    pub(crate) fn is_off(&self) -> bool {
        matches!(self.0, Inner::Off)
    }

    fn traced(&self) -> Option<&Traced> {
        match &self.0 {
            Inner::On(t) => Some(t),
            Inner::Off | Inner::Forward(_) => None,
        }
    }

    /// The model the client asked for and the profile it was routed to.
    pub fn routed(&self, model: &str, profile: &str) {
        let Some(t) = self.traced() else { return };
        let span = t.cx.span();
        if let Some(op) = t.operation {
            span.update_name(format!("{op} {model}"));
            span.set_attribute(KeyValue::new(attr::REQUEST_MODEL, model.to_string()));
        }
        span.set_attribute(KeyValue::new(attr::PROFILE, profile.to_string()));
    }

    /// A try of `upstream` as the deployment named `deployment` (for now the
    /// upstream's name: the one place a deployment's own name would go),
    /// asked for `model`.
    pub fn attempt(&self, upstream: &Upstream, deployment: &str, model: &str) -> TrySpan {
        let t = match &self.0 {
            Inner::Off => return TrySpan(TryInner::Off),
            Inner::Forward(out) => return TrySpan(TryInner::Forward(out.clone())),
            Inner::On(t) => t,
        };
        let number = t.tries.fetch_add(1, Ordering::Relaxed) + 1;
        let op = t.operation.unwrap_or("chat");
        let attrs = vec![
            KeyValue::new(attr::OPERATION, op),
            KeyValue::new(attr::PROVIDER, provider(upstream)),
            KeyValue::new(attr::REQUEST_MODEL, model.to_string()),
            KeyValue::new(attr::DEPLOYMENT, deployment.to_string()),
            KeyValue::new(attr::UPSTREAM, deployment.to_string()),
            KeyValue::new(attr::TRY, i64::from(number)),
        ];
        let span = t
            .tracer
            .span_builder(format!("{op} {model}"))
            .with_kind(SpanKind::Client)
            .with_attributes(attrs)
            .start_with_context(&t.tracer, &t.cx);
        TrySpan(TryInner::On(Box::new(Try {
            span,
            call: self.clone(),
            provider: provider(upstream),
            deployment: deployment.to_string(),
            model: model.to_string(),
        })))
    }

    /// The usage the call is settled with, and its cost at the profile's prices.
    pub fn usage(&self, profile: &Profile, u: &Usage) {
        let Some(t) = self.traced() else { return };
        let span = t.cx.span();
        if !span.is_recording() {
            return;
        }
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        span.set_attributes([
            KeyValue::new(attr::INPUT_TOKENS, count(u.total_input())),
            KeyValue::new(attr::OUTPUT_TOKENS, count(u.output_tokens)),
            KeyValue::new(
                attr::COST_USD,
                cost_nanos(u, &profile.prices()) as f64 / 1e9,
            ),
        ]);
        if u.cache_read_input_tokens > 0 {
            span.set_attribute(KeyValue::new(
                attr::CACHE_READ_TOKENS,
                count(u.cache_read_input_tokens),
            ));
        }
        if u.cache_creation_input_tokens > 0 {
            span.set_attribute(KeyValue::new(
                attr::CACHE_CREATION_TOKENS,
                count(u.cache_creation_input_tokens),
            ));
        }
    }

    /// Why the answer ended, in the names of the API the client speaks.
    pub fn finished(&self, reason: Option<StopReason>) {
        let (Some(t), Some(reason)) = (self.traced(), reason) else {
            return;
        };
        let name = match t.shape {
            Shape::Anthropic => reason.anthropic(),
            Shape::OpenAi | Shape::Responses => reason.openai(),
        };
        let reasons = Array::String(vec![StringValue::from(name)]);
        t.cx.span()
            .set_attribute(KeyValue::new(attr::FINISH_REASONS, Value::Array(reasons)));
    }

    /// The call failed with `e`: its kind is recorded, never its message.
    pub fn fail(&self, e: &Error) {
        let Some(t) = self.traced() else { return };
        t.failed.store(true, Ordering::Relaxed);
        let span = t.cx.span();
        span.set_attribute(KeyValue::new(attr::ERROR_TYPE, e.kind().as_str()));
        span.set_status(Status::error(e.kind().as_str()));
    }

    /// Ends the call's span with the status its client got (499: the client
    /// went away). Only the first end counts.
    pub fn end(&self, status: u16) {
        let Some(t) = self.traced() else { return };
        let span = t.cx.span();
        span.set_attribute(KeyValue::new(attr::HTTP_STATUS, i64::from(status)));
        if status >= 400 && !t.failed.swap(true, Ordering::Relaxed) {
            let kind = match status {
                499 => "client_closed".to_string(),
                s => s.to_string(),
            };
            span.set_status(Status::error(kind.clone()));
            span.set_attribute(KeyValue::new(attr::ERROR_TYPE, kind));
        }
        span.end();
    }
}

/// One upstream try's span; `run` times the try, sends its trace context
/// upstream and ends the span with the try's outcome.
#[derive(Debug)]
pub struct TrySpan(TryInner);

#[derive(Debug)]
enum TryInner {
    Off,
    Forward(Outgoing),
    On(Box<Try>),
}

#[derive(Debug)]
struct Try {
    span: SdkSpan,
    call: CallSpan,
    provider: &'static str,
    deployment: String,
    model: String,
}

impl TrySpan {
    /// Runs the try `f` inside this span.
    pub async fn run<T>(self, f: impl Future<Output = Result<T>>) -> Result<T> {
        match self.0 {
            TryInner::Off => f.await,
            TryInner::Forward(out) => out.during(f).await,
            TryInner::On(t) => {
                use opentelemetry::trace::Span as _;
                let outcome = match Outgoing::of(t.span.span_context()) {
                    Some(out) => out.during(f).await,
                    None => f.await,
                };
                let Try {
                    mut span,
                    call,
                    provider,
                    deployment,
                    model,
                } = *t;
                match &outcome {
                    Ok(_) => {
                        if let Some(c) = call.traced() {
                            c.cx.span().set_attributes([
                                KeyValue::new(attr::PROVIDER, provider),
                                KeyValue::new(attr::RESPONSE_MODEL, model),
                                KeyValue::new(attr::DEPLOYMENT, deployment.clone()),
                                KeyValue::new(attr::UPSTREAM, deployment),
                            ]);
                        }
                    }
                    Err(e) => {
                        span.set_attribute(KeyValue::new(attr::ERROR_TYPE, e.kind().as_str()));
                        span.set_attribute(KeyValue::new(
                            attr::HTTP_STATUS,
                            i64::from(e.http_status()),
                        ));
                        span.set_status(Status::error(e.kind().as_str()));
                    }
                }
                span.end();
                outcome
            }
        }
    }
}
