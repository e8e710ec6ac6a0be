//! The sole orchestrator: limits → ingress → route → upstream → meter → egress.
//! Every surface (HTTP, C, Python, Node) calls `run` and renders its `Reply`.

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde_json::Value;

use crate::canonical::request::{Shape, Source};
use crate::canonical::{ChatRequest, EventStream, StreamEvent, Usage};
use crate::egress::{self, SseFrame};
use crate::gateway::State;
use crate::ingress;
use crate::limits::LimitSnapshot;
use crate::route::Profile;
use crate::tokens::estimate_request;
use crate::{Error, ErrorKind, Result};

/// The endpoints of the HTTP API, also callable in-process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Messages,
    CountTokens,
    ChatCompletions,
    Embeddings,
    Rerank,
    Models,
    Model(String),
}

impl Endpoint {
    /// The route, as metrics and logs name it.
    pub fn route(&self) -> &'static str {
        match self {
            Endpoint::Messages => "/v1/messages",
            Endpoint::CountTokens => "/v1/messages/count_tokens",
            Endpoint::ChatCompletions => "/v1/chat/completions",
            Endpoint::Embeddings => "/v1/embeddings",
            Endpoint::Rerank => "/v1/rerank",
            Endpoint::Models => "/v1/models",
            Endpoint::Model(_) => "/v1/models/{id}",
        }
    }

    /// The shape of replies and errors; model listings follow `anthropic-version`.
    pub fn shape(&self, anthropic_version: bool) -> Shape {
        match self {
            Endpoint::Messages | Endpoint::CountTokens => Shape::Anthropic,
            Endpoint::Models | Endpoint::Model(_) if anthropic_version => Shape::Anthropic,
            _ => Shape::OpenAi,
        }
    }
}

/// Who is calling and how.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    pub api_key: Option<String>,
    /// Set for HTTP callers; `None` in-process, where calls without a key are unmetered.
    pub client_ip: Option<IpAddr>,
    /// The request had an `anthropic-version` header.
    pub anthropic_version: bool,
    /// The `anthropic-beta` values the client sent.
    pub anthropic_beta: Vec<String>,
    pub request_id: String,
}

impl CallContext {
    pub fn new() -> Self {
        CallContext {
            request_id: new_request_id(),
            ..CallContext::default()
        }
    }
}

pub fn new_request_id() -> String {
    format!("req_{}", uuid::Uuid::new_v4().simple())
}

/// Rendered SSE frames of one streamed answer.
pub type FrameStream = Pin<Box<dyn Stream<Item = SseFrame> + Send>>;

pub enum Body {
    Json(Value),
    Stream(FrameStream),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Json(v) => f.debug_tuple("Json").field(v).finish(),
            Body::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// The outcome of one call with what its headers report.
#[derive(Debug)]
pub struct Reply {
    pub request_id: String,
    pub shape: Shape,
    /// The profile that served it, once routed.
    pub profile: Option<String>,
    /// The binding limit, when the call was metered.
    pub limits: Option<LimitSnapshot>,
    pub outcome: Result<Body>,
}

impl Reply {
    /// The HTTP status of the outcome.
    pub fn status(&self) -> u16 {
        match &self.outcome {
            Ok(_) => 200,
            Err(e) => e.http_status(),
        }
    }
}

/// Runs one call end to end.
pub async fn run(state: &Arc<State>, endpoint: Endpoint, body: &[u8], ctx: CallContext) -> Reply {
    let started = Instant::now();
    let mut reply = Reply {
        request_id: ctx.request_id.clone(),
        shape: endpoint.shape(ctx.anthropic_version),
        profile: None,
        limits: None,
        outcome: Ok(Body::Json(Value::Null)),
    };
    reply.outcome = dispatch(state, &endpoint, body, &ctx, &mut reply).await;
    // Streams are logged and counted when they end; see `Meter`.
    if !matches!(reply.outcome, Ok(Body::Stream(_))) {
        finish(
            state,
            &endpoint,
            &reply.request_id,
            reply.profile.as_deref(),
            reply.status(),
            started,
        );
    }
    reply
}

fn finish(
    state: &State,
    endpoint: &Endpoint,
    request_id: &str,
    profile: Option<&str>,
    status: u16,
    started: Instant,
) {
    let elapsed = started.elapsed();
    let profile = profile.unwrap_or("");
    state
        .metrics
        .request(endpoint.route(), profile, status, elapsed);
    tracing::info!(
        request_id,
        route = endpoint.route(),
        profile,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
}

async fn dispatch(
    state: &Arc<State>,
    endpoint: &Endpoint,
    body: &[u8],
    ctx: &CallContext,
    reply: &mut Reply,
) -> Result<Body> {
    let ip = ctx.client_ip;
    if let Some(ip) = ip {
        // count_tokens is answered locally and never counted as an inference.
        let limits = &state.config.limits;
        let (rpm, tpm) = (
            u64::from(limits.unauthenticated_rpm_per_ip),
            limits.unauthenticated_tpm_per_ip,
        );
        let admitted = if *endpoint == Endpoint::CountTokens {
            Ok(state.ip_limiter.peek(&ip, rpm, tpm))
        } else {
            state.ip_limiter.admit(&ip, rpm, tpm, 0)
        };
        match admitted {
            Ok(s) => reply.limits = Some(s),
            Err(refused) => {
                reply.limits = Some(refused.snapshot);
                return Err(refused.error());
            }
        }
    }
    match endpoint {
        Endpoint::Models => Ok(Body::Json(match reply.shape {
            Shape::Anthropic => {
                egress::extras::anthropic_model_list(state.router.profiles().iter().map(|p| &**p))
            }
            Shape::OpenAi => {
                egress::extras::openai_model_list(state.router.profiles().iter().map(|p| &**p))
            }
        })),
        Endpoint::Model(id) => {
            let p = state.router.lookup(id).ok_or_else(|| {
                Error::new(ErrorKind::NotFound, format!("model {id:?} not found"))
                    .with_param("model")
            })?;
            reply.profile = Some(p.id.clone());
            Ok(Body::Json(match reply.shape {
                Shape::Anthropic => egress::extras::anthropic_model(p),
                Shape::OpenAi => egress::extras::openai_model(p),
            }))
        }
        Endpoint::Embeddings => {
            let req = ingress::extras::parse_embeddings(&parse_json(body)?)?;
            let profile = routed(state, &req.model, reply);
            let resp = profile
                .upstreams
                .first()
                .ok_or_else(|| Error::internal("profile has no upstream"))?
                .embed(&req, &profile)
                .await?;
            charge_tokens(state, ip, &profile, resp.input_tokens, 0);
            Ok(Body::Json(egress::extras::embeddings(
                &req, &resp, &req.model,
            )))
        }
        Endpoint::Rerank => {
            let req = ingress::extras::parse_rerank(&parse_json(body)?)?;
            let profile = routed(state, &req.model, reply);
            let resp = profile
                .upstreams
                .first()
                .ok_or_else(|| Error::internal("profile has no upstream"))?
                .rerank(&req, &profile)
                .await?;
            charge_tokens(state, ip, &profile, resp.input_tokens, 0);
            Ok(Body::Json(egress::extras::rerank(
                &req,
                &resp,
                &req.model,
                &reply.request_id,
            )))
        }
        Endpoint::CountTokens => {
            let req = ingress::anthropic::parse_count_tokens(&parse_json(body)?)?;
            routed(state, &req.model, reply);
            Ok(Body::Json(egress::extras::count_tokens(estimate_request(
                &req,
            ))))
        }
        Endpoint::Messages | Endpoint::ChatCompletions => {
            let value = parse_json(body)?;
            let mut req = match endpoint {
                Endpoint::Messages => ingress::anthropic::parse_messages(&value)?,
                _ => ingress::openai::parse_chat(&value)?,
            };
            req.source = Some(Source {
                shape: reply.shape,
                body: Arc::new(value),
            });
            req.anthropic_beta = ctx.anthropic_beta.clone();
            let profile = routed(state, &req.model, reply);
            if let Some(ip) = ip {
                let input = estimate_request(&req);
                state.ip_limiter.add_tokens(&ip, input);
                if let Some(l) = reply.limits.as_mut() {
                    l.remaining_tokens = l.remaining_tokens.saturating_sub(input);
                }
            }
            if req.stream {
                let events = stream_upstream(state, &profile, &req).await?;
                let meter = Meter {
                    state: state.clone(),
                    endpoint: endpoint.clone(),
                    request_id: reply.request_id.clone(),
                    profile: profile.clone(),
                    ip,
                    started: Instant::now(),
                    first_token: false,
                    usage: None,
                    status: 200,
                };
                Ok(Body::Stream(render_stream(
                    reply.shape,
                    events,
                    &req,
                    meter,
                )))
            } else {
                let resp = complete_upstream(state, &profile, &req).await?;
                charge_tokens(
                    state,
                    ip,
                    &profile,
                    resp.usage.input_tokens,
                    resp.usage.output_tokens,
                );
                Ok(Body::Json(match reply.shape {
                    Shape::Anthropic => egress::anthropic::render_response(&resp, &req.model),
                    Shape::OpenAi => egress::openai::render_response(&resp, &req.model, unix_now()),
                }))
            }
        }
    }
}

fn parse_json(body: &[u8]) -> Result<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid(
            "request body is empty; expected a JSON object",
        ));
    }
    Ok(serde_json::from_slice(body)?)
}

fn routed(state: &State, model: &str, reply: &mut Reply) -> Arc<Profile> {
    let p = state.router.resolve(model).clone();
    reply.profile = Some(p.id.clone());
    p
}

/// Metrics for settled usage; `add_tokens` trues up the IP window with the output.
fn charge_tokens(state: &State, ip: Option<IpAddr>, profile: &Profile, input: u64, output: u64) {
    let cost = (input as f64 * profile.input_price_per_mtok
        + output as f64 * profile.output_price_per_mtok)
        / 1e6;
    state.metrics.usage(&profile.id, input, output, cost);
    if let (Some(ip), true) = (ip, output > 0) {
        state.ip_limiter.add_tokens(&ip, output);
    }
}

/// Errors after which the next upstream of the profile is tried.
fn fails_over(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Upstream | ErrorKind::Overloaded | ErrorKind::Timeout | ErrorKind::RateLimited
    )
}

async fn complete_upstream(
    state: &State,
    profile: &Profile,
    req: &ChatRequest,
) -> Result<crate::canonical::ChatResponse> {
    let mut last = None;
    for (up, name) in profile.upstreams.iter().zip(&profile.upstream_names) {
        match up.complete(req, profile).await {
            Ok(r) => return Ok(r),
            Err(e) if fails_over(&e) => {
                state.metrics.upstream_error(name, e.kind().as_str());
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::internal("profile has no upstream")))
}

async fn stream_upstream(
    state: &State,
    profile: &Profile,
    req: &ChatRequest,
) -> Result<EventStream> {
    let mut last = None;
    for (up, name) in profile.upstreams.iter().zip(&profile.upstream_names) {
        match up.stream(req, profile).await {
            Ok(s) => return Ok(s),
            Err(e) if fails_over(&e) => {
                state.metrics.upstream_error(name, e.kind().as_str());
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::internal("profile has no upstream")))
}

enum Renderer {
    Anthropic(egress::anthropic::StreamRenderer),
    OpenAi(egress::openai::StreamRenderer),
}

impl Renderer {
    fn render(&mut self, ev: StreamEvent, out: &mut Vec<SseFrame>) {
        match self {
            Renderer::Anthropic(r) => r.render(ev, out),
            Renderer::OpenAi(r) => r.render(ev, out),
        }
    }
}

/// Renders events as they arrive; a stream that ends without `MessageStop`
/// gets an error event, so a client never mistakes a cut answer for a whole one.
fn render_stream(
    shape: Shape,
    mut events: EventStream,
    req: &ChatRequest,
    mut meter: Meter,
) -> FrameStream {
    let mut renderer = match shape {
        Shape::Anthropic => Renderer::Anthropic(egress::anthropic::StreamRenderer::new(&req.model)),
        Shape::OpenAi => Renderer::OpenAi(egress::openai::StreamRenderer::new(
            &req.model,
            req.include_usage,
            unix_now(),
        )),
    };
    Box::pin(async_stream::stream! {
        let mut out = Vec::new();
        let mut ended = false;
        while let Some(ev) = events.next().await {
            meter.observe(&ev);
            ended = matches!(ev, StreamEvent::MessageStop | StreamEvent::Error(_));
            renderer.render(ev, &mut out);
            for frame in out.drain(..) {
                yield frame;
            }
            if ended {
                break;
            }
        }
        if !ended {
            let e = Error::new(ErrorKind::Upstream, "the upstream stream ended before the message was complete");
            meter.observe(&StreamEvent::Error(e.clone()));
            renderer.render(StreamEvent::Error(e), &mut out);
            for frame in out.drain(..) {
                yield frame;
            }
        }
    })
}

/// Watches a stream for metrics and logs it once when it ends or is dropped.
struct Meter {
    state: Arc<State>,
    endpoint: Endpoint,
    request_id: String,
    profile: Arc<Profile>,
    ip: Option<IpAddr>,
    started: Instant,
    first_token: bool,
    usage: Option<Usage>,
    status: u16,
}

impl Meter {
    fn observe(&mut self, ev: &StreamEvent) {
        match ev {
            StreamEvent::BlockDelta { .. } if !self.first_token => {
                self.first_token = true;
                self.state.metrics.first_token(
                    self.endpoint.route(),
                    &self.profile.id,
                    self.started.elapsed(),
                );
            }
            StreamEvent::MessageDelta { usage, .. } => self.usage = Some(*usage),
            StreamEvent::Error(e) => self.status = e.http_status(),
            _ => {}
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        if let Some(u) = self.usage {
            charge_tokens(
                &self.state,
                self.ip,
                &self.profile,
                u.input_tokens,
                u.output_tokens,
            );
        }
        finish(
            &self.state,
            &self.endpoint,
            &self.request_id,
            Some(&self.profile.id),
            self.status,
            self.started,
        );
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Convenience for in-process callers: the body as bytes from a JSON string.
pub fn body_of(json: &str) -> Bytes {
    Bytes::copy_from_slice(json.as_bytes())
}
