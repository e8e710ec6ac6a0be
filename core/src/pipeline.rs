//! The sole orchestrator: limits → ingress → route → upstream → meter → egress.
//! Every surface (HTTP, C, Python, Node) calls `run` and renders its `Reply`
//! (what a call is and gives back is in `call.rs`).

use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::billing::{self, Caller, Charge};
use crate::call::{unix_now, Body, CallContext, Endpoint, Reply};
use crate::canonical::request::Source;
use crate::canonical::Usage;
use crate::egress;
use crate::ingress;
use crate::meter::{finish, record_usage, render_stream, Meter};
use crate::route::Profile;
use crate::state::State;
use crate::tokens::estimate_request;
use crate::upstream::Upstream;
use crate::{Error, ErrorKind, Result};

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
            Ok(Body::Json(egress::model_list(reply.shape, profiles)))
        }
        Endpoint::Model(id) => {
            let p = state.router.lookup(id).ok_or_else(|| {
                Error::new(ErrorKind::NotFound, format!("model {id:?} not found"))
                    .with_param("model")
            })?;
            reply.profile = Some(p.id.clone());
            Ok(Body::Json(egress::model(reply.shape, p)))
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
                Ok(egress::response_body(
                    reply.shape,
                    &resp,
                    &req.model,
                    unix_now(),
                    ctx.wants_bytes,
                ))
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
