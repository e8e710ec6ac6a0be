//! The sole orchestrator: limits → ingress → route → upstream → meter → egress.
//! Every surface (HTTP, C, Python, Node) calls `run` and renders its `Reply`
//! (what a call is and gives back is in `call.rs`).

use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::billing::{self, Caller, Charge};
use crate::call::{unix_now, Body, CallContext, Endpoint, Reply, Shape};
use crate::canonical::request::Source;
use crate::canonical::Usage;
use crate::egress;
use crate::ingress;
use crate::limits::LimitSnapshot;
use crate::meter::{finish, record_usage, render_stream, Meter};
use crate::route::Profile;
use crate::state::State;
use crate::tokens::estimate_request;
use crate::upstream::Upstream;
use crate::{Error, ErrorKind, Result};

/// What a call found out on its way, for the reply's headers.
struct Call<'a> {
    state: &'a Arc<State>,
    ctx: &'a CallContext,
    endpoint: &'a Endpoint,
    shape: Shape,
    /// The profile that served it, once routed.
    profile: Option<String>,
    /// The binding limit, once admitted or refused.
    limits: Option<LimitSnapshot>,
    caller: Option<Caller>,
}

/// Runs one call end to end.
pub async fn run(state: &Arc<State>, endpoint: Endpoint, body: &[u8], ctx: CallContext) -> Reply {
    let started = Instant::now();
    let mut call = Call {
        state,
        ctx: &ctx,
        endpoint: &endpoint,
        shape: endpoint.shape(ctx.anthropic_version),
        profile: None,
        limits: None,
        caller: None,
    };
    let outcome = call.dispatch(body).await;
    let reply = Reply {
        request_id: ctx.request_id.clone(),
        shape: call.shape,
        profile: call.profile,
        limits: call.limits,
        outcome,
    };
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

impl Call<'_> {
    async fn dispatch(&mut self, body: &[u8]) -> Result<Body> {
        // count_tokens is answered locally and not counted as a request.
        let count = *self.endpoint != Endpoint::CountTokens;
        let admitted = billing::admit(
            self.state.store.as_ref(),
            &self.state.config,
            self.ctx.api_key.as_deref(),
            self.ctx.client_ip,
            count,
        )
        .await;
        self.limits = admitted.limits;
        self.caller = admitted.caller?;
        match self.endpoint {
            Endpoint::Models => {
                let profiles = self.state.router.profiles().iter().map(|p| &**p);
                Ok(Body::Json(egress::model_list(self.shape, profiles)))
            }
            Endpoint::Model(id) => self.model(id),
            Endpoint::CountTokens => self.count_tokens(body),
            Endpoint::Embeddings => self.embeddings(body).await,
            Endpoint::Rerank => self.rerank(body).await,
            Endpoint::Messages | Endpoint::ChatCompletions => self.chat(body).await,
        }
    }

    fn model(&mut self, id: &str) -> Result<Body> {
        let p = self.state.router.lookup(id).ok_or_else(|| {
            Error::new(ErrorKind::NotFound, format!("model {id:?} not found")).with_param("model")
        })?;
        self.profile = Some(p.id.clone());
        Ok(Body::Json(egress::model(self.shape, p)))
    }

    /// Answered locally: never forwarded, billed or counted as an inference.
    fn count_tokens(&mut self, body: &[u8]) -> Result<Body> {
        let req = ingress::anthropic::parse_count_tokens(&self.parse_json(body)?)?;
        self.routed(&req.model);
        Ok(Body::Json(egress::extras::count_tokens(estimate_request(
            &req,
        ))))
    }

    async fn embeddings(&mut self, body: &[u8]) -> Result<Body> {
        let req = ingress::extras::parse_embeddings(&self.parse_json(body)?)?;
        let profile = self.routed(&req.model);
        let charge = self.reserve(&profile, req.input_estimate(), 0).await?;
        let outcome = profile.primary()?.embed(&req, &profile.target(0)).await;
        let resp = settled(self.state, charge, &profile, outcome, |r| {
            Usage::input_only(r.input_tokens)
        })
        .await?;
        Ok(Body::Json(egress::extras::embeddings(
            &req, &resp, &req.model,
        )))
    }

    async fn rerank(&mut self, body: &[u8]) -> Result<Body> {
        let req = ingress::extras::parse_rerank(&self.parse_json(body)?)?;
        let profile = self.routed(&req.model);
        let charge = self.reserve(&profile, req.input_estimate(), 0).await?;
        let outcome = profile.primary()?.rerank(&req, &profile.target(0)).await;
        let resp = settled(self.state, charge, &profile, outcome, |r| {
            Usage::input_only(r.input_tokens)
        })
        .await?;
        Ok(Body::Json(egress::extras::rerank(
            &req,
            &resp,
            &req.model,
            &self.ctx.request_id,
        )))
    }

    /// Messages and Chat Completions: to the profile's upstreams, streamed or whole.
    async fn chat(&mut self, body: &[u8]) -> Result<Body> {
        let value = self.parse_json(body)?;
        let mut req = match self.endpoint {
            Endpoint::Messages => ingress::anthropic::parse_messages(&value)?,
            _ => ingress::openai::parse_chat(&value)?,
        };
        req.source = Some(Source {
            shape: self.shape,
            body: Arc::new(value),
        });
        req.anthropic_beta = self.ctx.anthropic_beta.clone();
        let profile = self.routed(&req.model);
        let input = estimate_request(&req);
        let max_output = profile.output_budget(req.max_tokens, input);
        let charge = self.reserve(&profile, input, max_output).await?;
        let target = profile.target(max_output);
        if !req.stream {
            let resp = with_fallbacks(self.state, &profile, |up| {
                Box::pin(up.complete(&req, &target))
            })
            .await;
            let resp = settled(self.state, charge, &profile, resp, |r| r.usage).await?;
            return Ok(egress::response_body(
                self.shape,
                &resp,
                &req.model,
                unix_now(),
                self.ctx.wants_bytes,
            ));
        }
        // A failure before the first event drops the charge, which releases it.
        let events = with_fallbacks(self.state, &profile, |up| {
            Box::pin(up.stream(&req, &target))
        })
        .await?;
        let meter = Meter::new(
            self.state.clone(),
            self.endpoint.clone(),
            self.ctx.request_id.clone(),
            profile.clone(),
            charge,
            input,
        );
        Ok(Body::Stream(render_stream(self.shape, events, &req, meter)))
    }

    /// Reserves the worst case for an authenticated caller (none in-process).
    async fn reserve(
        &mut self,
        profile: &Arc<Profile>,
        input: u64,
        max_output: u64,
    ) -> Result<Option<Charge>> {
        let Some(caller) = self.caller.as_ref() else {
            return Ok(None);
        };
        let charge = Charge::reserve(
            self.state,
            caller,
            profile.clone(),
            &self.ctx.request_id,
            input,
            max_output,
        )
        .await?;
        if let Some(l) = self.limits.as_mut() {
            l.remaining_tokens = l.remaining_tokens.saturating_sub(charge.reserved_tokens());
        }
        Ok(Some(charge))
    }

    fn parse_json(&self, body: &[u8]) -> Result<Value> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::invalid(
                "request body is empty; expected a JSON object",
            ));
        }
        ingress::json::parse_body(body, &self.state.config.server)
    }

    fn routed(&mut self, model: &str) -> Arc<Profile> {
        let p = self.state.router.resolve(model).clone();
        self.profile = Some(p.id.clone());
        p
    }
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
