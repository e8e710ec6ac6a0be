//! The sole orchestrator: limits → ingress → route → upstream → meter → egress.
//! Every surface (HTTP, C, Python, Node) calls `run` and renders its `Reply`.

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::Stream;
use serde_json::Value;

use crate::accounts::money::cost_nanos;
use crate::billing::{self, Caller, Charge};
use crate::canonical::request::{Shape, Source};
use crate::canonical::Usage;
use crate::egress::{self, SseFrame};
use crate::gateway::State;
use crate::ingress;
use crate::limits::LimitSnapshot;
use crate::meter::{render_stream, Meter};
use crate::route::Profile;
use crate::tokens::estimate_request;
use crate::upstream::Upstream;
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
#[derive(Clone, Default)]
pub struct CallContext {
    pub api_key: Option<String>,
    /// Set for HTTP callers; `None` in-process, where calls without a key are unmetered.
    pub client_ip: Option<IpAddr>,
    /// The request had an `anthropic-version` header.
    pub anthropic_version: bool,
    /// The `anthropic-beta` values the client sent.
    pub anthropic_beta: Vec<String>,
    pub request_id: String,
    /// The caller sends the answer on as bytes (HTTP): a non-streamed answer
    /// comes back serialized (`Body::Raw`) instead of as a `Value`.
    pub wants_bytes: bool,
}

/// Without the key itself, so a context that reaches a log leaks nothing.
impl std::fmt::Debug for CallContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallContext")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("client_ip", &self.client_ip)
            .field("anthropic_version", &self.anthropic_version)
            .field("anthropic_beta", &self.anthropic_beta)
            .field("request_id", &self.request_id)
            .finish()
    }
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
    // Time-ordered, so the ledger's request-id index grows at its end instead of
    // touching a random page per row.
    format!("req_{}", uuid::Uuid::now_v7().simple())
}

/// Rendered SSE frames of one streamed answer.
pub type FrameStream = Pin<Box<dyn Stream<Item = SseFrame> + Send>>;

pub enum Body {
    Json(Value),
    /// A JSON answer already serialized.
    Raw(Bytes),
    Stream(FrameStream),
}

impl Body {
    /// `body` as the caller takes it: serialized when it wants bytes.
    fn of(body: &impl serde::Serialize, bytes: bool) -> Body {
        if bytes {
            Body::Raw(serde_json::to_vec(body).unwrap_or_default().into())
        } else {
            Body::Json(serde_json::to_value(body).unwrap_or(Value::Null))
        }
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Json(v) => f.debug_tuple("Json").field(v).finish(),
            Body::Raw(b) => f
                .debug_tuple("Raw")
                .field(&String::from_utf8_lossy(b))
                .finish(),
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

pub(crate) fn finish(
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
    let store = state.store.as_ref();
    // count_tokens is answered locally and not counted as a request.
    let count = *endpoint != Endpoint::CountTokens;
    let key = ctx.api_key.as_deref();
    let caller = billing::admit(
        store,
        &state.config,
        key,
        ctx.client_ip,
        count,
        &mut reply.limits,
    )
    .await?;
    match endpoint {
        Endpoint::Models => {
            let profiles = state.router.profiles().iter().map(|p| &**p);
            Ok(Body::Json(match reply.shape {
                Shape::Anthropic => egress::extras::anthropic_model_list(profiles),
                Shape::OpenAi => egress::extras::openai_model_list(profiles),
            }))
        }
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
        Endpoint::CountTokens => {
            // Answered locally: never forwarded, billed or counted as an inference.
            let value = parse_json(state, body)?;
            let req = ingress::anthropic::parse_count_tokens(&value)?;
            routed(state, &req.model, reply);
            Ok(Body::Json(egress::extras::count_tokens(estimate_request(
                &req,
            ))))
        }
        Endpoint::Embeddings => {
            let req = ingress::extras::parse_embeddings(&parse_json(state, body)?)?;
            let profile = routed(state, &req.model, reply);
            let charge = reserve(
                state,
                caller.as_ref(),
                &profile,
                reply,
                req.input_estimate(),
                0,
            )
            .await?;
            let outcome = profile.primary()?.embed(&req, &profile).await;
            let resp = settled(state, charge, &profile, outcome, |r| {
                Usage::input_only(r.input_tokens)
            })
            .await?;
            Ok(Body::Json(egress::extras::embeddings(
                &req, &resp, &req.model,
            )))
        }
        Endpoint::Rerank => {
            let req = ingress::extras::parse_rerank(&parse_json(state, body)?)?;
            let profile = routed(state, &req.model, reply);
            let charge = reserve(
                state,
                caller.as_ref(),
                &profile,
                reply,
                req.input_estimate(),
                0,
            )
            .await?;
            let outcome = profile.primary()?.rerank(&req, &profile).await;
            let resp = settled(state, charge, &profile, outcome, |r| {
                Usage::input_only(r.input_tokens)
            })
            .await?;
            Ok(Body::Json(egress::extras::rerank(
                &req,
                &resp,
                &req.model,
                &reply.request_id,
            )))
        }
        Endpoint::Messages | Endpoint::ChatCompletions => {
            let value = parse_json(state, body)?;
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
            let input = estimate_request(&req);
            // Without max_tokens an OpenAI request may use the rest of the context window.
            let max_output = req.max_tokens.map_or_else(
                || u64::from(profile.context_window).saturating_sub(input),
                u64::from,
            );
            let charge =
                reserve(state, caller.as_ref(), &profile, reply, input, max_output).await?;
            if req.stream {
                let events =
                    match with_fallbacks(state, &profile, |up| Box::pin(up.stream(&req, &profile)))
                        .await
                    {
                        Ok(events) => events,
                        Err(e) => {
                            if let Some(c) = charge {
                                c.release().await;
                            }
                            return Err(e);
                        }
                    };
                let meter = Meter::new(
                    state.clone(),
                    endpoint.clone(),
                    reply.request_id.clone(),
                    profile,
                    charge,
                    input,
                );
                Ok(Body::Stream(render_stream(
                    reply.shape,
                    events,
                    &req,
                    meter,
                )))
            } else {
                let resp =
                    with_fallbacks(state, &profile, |up| Box::pin(up.complete(&req, &profile)))
                        .await;
                let resp = settled(state, charge, &profile, resp, |r| r.usage).await?;
                let bytes = ctx.wants_bytes;
                Ok(match reply.shape {
                    Shape::Anthropic => {
                        Body::of(&egress::anthropic::response_body(&resp, &req.model), bytes)
                    }
                    Shape::OpenAi => Body::of(
                        &egress::openai::response_body(&resp, &req.model, unix_now()),
                        bytes,
                    ),
                })
            }
        }
    }
}

/// Reserves the worst case for an authenticated caller (none in-process).
async fn reserve(
    state: &State,
    caller: Option<&Caller>,
    profile: &Arc<Profile>,
    reply: &mut Reply,
    input: u64,
    max_output: u64,
) -> Result<Option<Charge>> {
    let Some(caller) = caller else {
        return Ok(None);
    };
    let charge = Charge::reserve(
        state,
        caller,
        profile.clone(),
        &reply.request_id,
        input,
        max_output,
        &mut reply.limits,
    )
    .await?;
    Ok(Some(charge))
}

/// Settles a finished call: the cost of its usage on success (durable before
/// the answer goes out), the whole reservation back on failure.
async fn settled<T>(
    state: &State,
    charge: Option<Charge>,
    profile: &Profile,
    outcome: Result<T>,
    usage: impl Fn(&T) -> Usage,
) -> Result<T> {
    match (&outcome, charge) {
        (Ok(r), charge) => {
            let u = usage(r);
            record_usage(state, profile, u);
            if let Some(c) = charge {
                c.settle(u, 200).await?;
            }
        }
        (Err(_), Some(c)) => c.release().await,
        (Err(_), None) => {}
    }
    outcome
}

fn parse_json(state: &State, body: &[u8]) -> Result<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid(
            "request body is empty; expected a JSON object",
        ));
    }
    ingress::json::parse_body(body, &state.config.server)
}

fn routed(state: &State, model: &str, reply: &mut Reply) -> Arc<Profile> {
    let p = state.router.resolve(model).clone();
    reply.profile = Some(p.id.clone());
    p
}

/// Tokens and cost in the metrics.
pub(crate) fn record_usage(state: &State, profile: &Profile, u: Usage) {
    let input = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
    let cost = cost_nanos(
        input,
        u.output_tokens,
        profile.input_nanos_per_mtok,
        profile.output_nanos_per_mtok,
    );
    state
        .metrics
        .usage(&profile.id, input, u.output_tokens, cost as f64 / 1e9);
}

/// Errors after which the next upstream of the profile is tried.
fn fails_over(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Upstream | ErrorKind::Overloaded | ErrorKind::Timeout | ErrorKind::RateLimited
    )
}

/// Calls the profile's upstreams in order until one answers; only failures of
/// the upstream itself (unreachable, overloaded, 5xx, 429) move on to the next.
async fn with_fallbacks<'a, T>(
    state: &State,
    profile: &'a Profile,
    call: impl Fn(&'a Upstream) -> BoxFuture<'a, Result<T>>,
) -> Result<T> {
    let mut last = None;
    for (up, name) in profile.upstreams.iter().zip(&profile.upstream_names) {
        match call(up).await {
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

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
