//! The sole orchestrator: limits → ingress → route → upstream → meter → egress.
//! Every surface (HTTP, C, Python, Node) calls `run` and renders its `Reply`
//! (what a call is and gives back is in `call.rs`).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use futures::future::BoxFuture;
use serde_json::{json, Value};

use crate::billing::{self, Caller, Charge};
use crate::cache_key;
use crate::call::{unix_now, Body, CallContext, Endpoint, Reply, Shape};
use crate::canonical::request::Source;
use crate::canonical::{
    ChatRequest, ChatResponse, ContentBlock, EventStream, Message, ResponsesRequest, Role,
    StopReason, StreamEvent, Usage,
};
use crate::egress::{self, Render, StreamRenderer};
use crate::fleet::{Conversation, InFlight, Route};
use crate::ingress;
use crate::limits::LimitSnapshot;
use crate::meter::{finish, record_usage, render_stream, Meter};
use crate::route::Profile;
use crate::state::State;
use crate::store::StoredResponse;
use crate::stored::{self, KeepIn, Keeper};
use crate::telemetry::CallSpan;
use crate::tokens::estimate_request;
use crate::upstream::{self, Target, Upstream};
use crate::{forwarded, relay};
use crate::{Error, ErrorKind, Result};

/// What the model is asked to write for POST /v1/responses/compact.
const COMPACT_PROMPT: &str = "Summarize the conversation so far for a continuation: keep every fact, name, number, decision, open question and instruction that a later answer could need, and the state of any task in progress. Reply with the summary only.";

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
    /// The call's trace span (empty with tracing off); a stream's meter ends it.
    span: CallSpan,
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
        span: state.telemetry.call(&endpoint, &ctx),
    };
    let outcome = call.dispatch(body).await;
    let span = std::mem::take(&mut call.span);
    let reply = Reply {
        request_id: ctx.request_id.clone(),
        shape: call.shape,
        profile: call.profile,
        limits: call.limits,
        outcome,
    };
    // Streams are logged and counted when they end; see `Meter`.
    if !matches!(reply.outcome, Ok(Body::Stream(_))) {
        if let Err(e) = &reply.outcome {
            span.fail(e);
        }
        span.end(reply.status());
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
        // Answered locally and not counted as requests.
        let count = !matches!(
            self.endpoint,
            Endpoint::CountTokens | Endpoint::ResponsesInputTokens
        );
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
            Endpoint::Rerank | Endpoint::RerankV2 => self.rerank(body).await,
            Endpoint::Messages | Endpoint::ChatCompletions => self.chat(body).await,
            Endpoint::Responses => self.responses(body).await,
            Endpoint::ResponsesInputTokens => self.responses_input_tokens(body).await,
            Endpoint::ResponsesCompact => self.responses_compact(body).await,
            Endpoint::Response(id) => {
                let stored = self.stored_response(id).await?;
                Ok(Body::Json(stored::object(&stored)))
            }
            Endpoint::DeleteResponse(id) => {
                if !self.state.store.delete_response(self.owner(), id).await? {
                    return Err(stored::not_found(id));
                }
                Ok(Body::Json(
                    json!({"id": id, "object": "response.deleted", "deleted": true}),
                ))
            }
            Endpoint::ResponseInputItems(id) => {
                let query = self.parse_json_or_empty(body)?;
                let stored = self.stored_response(id).await?;
                Ok(Body::Json(stored::input_items_page(&stored, &query)?))
            }
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
        Ok(Body::Json(egress::count_tokens(estimate_request(&req))))
    }

    async fn embeddings(&mut self, body: &[u8]) -> Result<Body> {
        let req = ingress::retrieval::parse_embeddings(&self.parse_json(body)?)?;
        let b = self
            .budget(&req.model, req.input_estimate(), |_| 0, true)
            .await?;
        let outcome = b
            .only_deployments(self.state, |up, target| {
                let req = &req;
                Box::pin(async move { up.embed(req, &target).await })
            })
            .await;
        let resp = b
            .settled(self.state, outcome, |r| Usage::input_only(r.input_tokens))
            .await?;
        Ok(Body::Json(egress::retrieval::embeddings(
            &req, &resp, &req.model,
        )))
    }

    async fn rerank(&mut self, body: &[u8]) -> Result<Body> {
        let req = ingress::retrieval::parse_rerank(&self.parse_json(body)?)?;
        let b = self
            .budget(&req.model, req.input_estimate(), |_| 0, true)
            .await?;
        let outcome = b
            .only_deployments(self.state, |up, target| {
                let req = &req;
                Box::pin(async move { up.rerank(req, &target).await })
            })
            .await;
        let resp = b
            .settled(self.state, outcome, |r| Usage::input_only(r.input_tokens))
            .await?;
        Ok(Body::Json(egress::retrieval::rerank(
            &req,
            &resp,
            &req.model,
            &self.ctx.request_id,
            *self.endpoint == Endpoint::RerankV2,
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
        let mut b = self.chat_budget(&req, true).await?;
        if req.prompt_cache_key.is_none() && b.relays() {
            let session = self.ctx.session_id.as_deref();
            req.prompt_cache_key = Some(cache_key::derive(self.owner(), session, &req));
        }
        b.route = self.route(&b, &req, None, None);
        if !req.stream {
            let resp = b.answer(self.state, &req).await?;
            return Ok(egress::response_body(
                &Render::chat(self.shape, &req),
                &resp,
                unix_now(),
                self.ctx.wants_bytes,
            ));
        }
        let streamed = b.events(self.state, &req).await?;
        let meter = self.meter(b);
        let renderer = StreamRenderer::new(Render::chat(self.shape, &req), unix_now());
        Ok(Body::Stream(match streamed {
            ChatStream::Events(events) => render_stream(renderer, events, meter, None),
            ChatStream::Forwarded(f) => {
                let client = forwarded::Client {
                    shape: self.shape,
                    model: req.model.clone(),
                    include_usage: req.include_usage,
                    errors: renderer,
                };
                forwarded::stream(f, client, meter)
            }
        }))
    }

    /// POST /v1/responses: the conversation (continued from a stored response
    /// when it names one) to the profile's upstreams, streamed or whole, and
    /// stored for its caller unless `store: false`. An `openai-responses`
    /// upstream gets the body as sent (`relay.rs`); the others its translation.
    async fn responses(&mut self, body: &[u8]) -> Result<Body> {
        let (mut rr, conversation) = self.responses_request(body).await?;
        rr.chat.stream = rr.stream;
        // `generate: false` (a WebSocket client warming up) answers at once
        // with no output: nothing goes upstream and nothing is charged.
        let prewarm = rr.unknown.get("generate") == Some(&Value::Bool(false));
        let mut b = self.chat_budget(&rr.chat, !prewarm).await?;
        let id = egress::responses::new_response_id();
        let created = unix_now();
        b.route = self.route(&b, &rr.chat, rr.previous_response_id.as_deref(), Some(&id));
        let relay_body = match prewarm {
            true => None,
            false => self.relay_body(&rr, &conversation, &b)?,
        };
        let keep_in = match (&self.ctx.connection, rr.store) {
            (_, true) => Some(KeepIn::Store(self.state.store.clone())),
            (Some(c), false) => Some(KeepIn::Connection(c.clone())),
            (None, false) => None,
        };
        let keeper = keep_in.map(|keep_in| Keeper {
            keep_in,
            account_id: self.owner().to_owned(),
            created_at: created,
            retention_secs: self.state.config.responses.retention_secs(),
            max_per_account: self.state.config.responses.max_per_account,
            input_items: conversation.input_items(&rr),
        });
        let owned = relay::Owned {
            id: id.clone(),
            model: rr.model().to_owned(),
            previous_response_id: rr.previous_response_id.clone(),
        };
        if !rr.stream {
            let answer = match (prewarm, relay_body) {
                (true, _) => Answer::Whole(empty_answer()),
                (false, relayed) => b.answer_responses(self.state, &rr, relayed).await?,
            };
            let resp = match answer {
                Answer::Whole(resp) => resp,
                Answer::Relayed(mut object) => {
                    owned.apply(&mut object);
                    if let Some(k) = keeper {
                        k.keep(&id, object.clone(), relay::output_of(&object))
                            .await?;
                    }
                    return Ok(Body::of(&object, self.ctx.wants_bytes));
                }
            };
            let render = Render::Responses {
                req: &rr,
                id: id.clone(),
            };
            let Some(k) = keeper else {
                return Ok(egress::response_body(
                    &render,
                    &resp,
                    created,
                    self.ctx.wants_bytes,
                ));
            };
            let object = egress::responses::response_object(&rr, &resp, &id, created, unix_now());
            let output = egress::responses::output_items(&rr, &resp, &id);
            k.keep(&id, object.clone(), output).await?;
            return Ok(Body::of(&object, self.ctx.wants_bytes));
        }
        let events = match (prewarm, relay_body) {
            (true, _) => Streamed::Events(empty_answer_events()),
            (false, relayed) => b.events_responses(self.state, &rr, relayed).await?,
        };
        let input = b.input;
        let meter = self.meter(b);
        match events {
            Streamed::Events(events) => {
                let renderer = StreamRenderer::new(Render::Responses { req: &rr, id }, created);
                Ok(Body::Stream(render_stream(renderer, events, meter, keeper)))
            }
            Streamed::Relayed(batches) => Ok(Body::Stream(relay::stream(
                batches, owned, input, meter, keeper,
            ))),
        }
    }

    /// The body an `openai-responses` upstream of the profile gets (`None`
    /// when it has none): the client's, with the conversation the gateway
    /// completed (its own `previous_response_id`, resolved item references)
    /// as the whole `input`.
    fn relay_body<'a>(
        &self,
        rr: &'a ResponsesRequest,
        conversation: &stored::Conversation,
        b: &Budgeted,
    ) -> Result<Option<Relay<'a>>> {
        let source = rr
            .chat
            .source
            .as_ref()
            .filter(|s| s.shape == Shape::Responses);
        let Some(body) = source.and_then(|s| s.body.as_object()) else {
            return Ok(None);
        };
        if !b.relays() {
            return Ok(None);
        }
        let input = conversation.resolved.as_ref().map(|resolved| {
            Value::Array(
                conversation
                    .history
                    .iter()
                    .chain(resolved)
                    .cloned()
                    .collect(),
            )
        });
        let model = b.target().model.to_owned();
        let bytes = upstream::responses::relay_body(body, &model, input.clone())?;
        Ok(Some(Relay {
            body,
            input,
            model,
            bytes,
        }))
    }

    /// POST /v1/responses/input_tokens: the 4-characters estimate of the whole
    /// conversation, answered locally as count_tokens is.
    async fn responses_input_tokens(&mut self, body: &[u8]) -> Result<Body> {
        let (rr, _) = self.responses_request(body).await?;
        self.routed(rr.model());
        Ok(Body::Json(egress::responses::input_tokens_object(
            estimate_request(&rr.chat),
        )))
    }

    /// POST /v1/responses/compact: the conversation summarised by the profile's
    /// model into one `compaction` item that can be sent back as input.
    async fn responses_compact(&mut self, body: &[u8]) -> Result<Body> {
        let (mut rr, _) = self.responses_request(body).await?;
        let req = &mut rr.chat;
        req.stream = false;
        req.tools.clear();
        req.tool_choice = None;
        req.response_format = None;
        req.messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::text(COMPACT_PROMPT)],
        });
        let b = self.chat_budget(&rr.chat, true).await?;
        let resp = b.answer(self.state, &rr.chat).await?;
        let summary: String = resp
            .content
            .iter()
            .filter(|b| matches!(b, ContentBlock::Text { .. }))
            .map(ContentBlock::plain_text)
            .collect::<Vec<_>>()
            .join("\n");
        let encrypted = ingress::responses::compaction_content(&summary);
        Ok(Body::Json(egress::responses::compaction_object(
            &resp.usage,
            &encrypted,
            unix_now(),
        )))
    }

    /// A Responses request made whole: the stored conversation it continues
    /// (`previous_response_id`) and the items it references put in.
    async fn responses_request(
        &mut self,
        body: &[u8],
    ) -> Result<(ResponsesRequest, stored::Conversation)> {
        let value = self.parse_json(body)?;
        let mut rr = ingress::responses::parse_responses(&value)?;
        rr.chat.source = Some(Source {
            shape: Shape::Responses,
            body: Arc::new(value),
        });
        if !rr.needs_context() {
            return Ok((rr, stored::Conversation::default()));
        }
        let history = match rr.previous_response_id.clone() {
            Some(prev) => {
                let on_connection = self.ctx.connection.as_ref().and_then(|c| c.get(&prev));
                let found = match on_connection {
                    Some(kept) => Some(stored::from_connection(&prev, kept)),
                    None => self.state.store.get_response(self.owner(), &prev).await?,
                };
                let stored =
                    found.ok_or_else(|| ingress::responses::previous_response_not_found(&prev))?;
                stored::history(&stored)
            }
            None => Vec::new(),
        };
        let input = ingress::responses::build_chat(&mut rr, &history, |id| {
            stored::find_item(&history, id)
        })?;
        let resolved = Some(input);
        Ok((rr, stored::Conversation { history, resolved }))
    }

    /// A stored response of the caller's account, or 404.
    async fn stored_response(&self, id: &str) -> Result<StoredResponse> {
        self.state
            .store
            .get_response(self.owner(), id)
            .await?
            .ok_or_else(|| stored::not_found(id))
    }

    /// The account stored responses belong to: the caller's, or the host
    /// process's own (`""`) for unmetered in-process calls.
    fn owner(&self) -> &str {
        self.caller.as_ref().map_or("", |c| c.account.id.as_str())
    }

    /// The body's JSON, or `{}` when it is empty (GET calls whose query came as the body).
    fn parse_json_or_empty(&self, body: &[u8]) -> Result<Value> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(json!({}));
        }
        self.parse_json(body)
    }

    /// Routes `model` and reserves `input` plus the output budget the profile
    /// gives (when `charged`): what every call to an upstream starts with.
    async fn budget(
        &mut self,
        model: &str,
        input: u64,
        max_output: impl FnOnce(&Profile) -> u64,
        charged: bool,
    ) -> Result<Budgeted> {
        let profile = self.routed(model);
        let max_output = max_output(&profile);
        let charge = match charged {
            true => self.reserve(&profile, input, max_output).await?,
            false => None,
        };
        Ok(Budgeted {
            profile,
            input,
            max_output,
            charge,
            span: self.span.clone(),
            route: Route::default(),
            in_flight: InFlight::none(),
        })
    }

    /// `budget` for a chat request: its input estimate and output budget.
    async fn chat_budget(&mut self, req: &ChatRequest, charged: bool) -> Result<Budgeted> {
        let input = estimate_request(req);
        self.budget(
            &req.model,
            input,
            |p| p.output_budget(req.max_tokens, input),
            charged,
        )
        .await
    }

    /// The meter of a stream this call answers with.
    fn meter(&mut self, b: Budgeted) -> Meter {
        Meter::new(
            self.state.clone(),
            self.endpoint.clone(),
            self.ctx.request_id.clone(),
            b.profile,
            b.charge,
            b.input,
        )
        .with_span(std::mem::take(&mut self.span))
        .holding(b.in_flight)
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
        self.span.routed(model, &p.id);
        self.profile = Some(p.id.clone());
        p
    }

    /// The call's route over the profile's deployments: its conversation
    /// for sticky sessions (`made`: the response a Responses call makes).
    fn route(
        &self,
        b: &Budgeted,
        req: &ChatRequest,
        previous_response_id: Option<&str>,
        made: Option<&str>,
    ) -> Route {
        let (profile, account) = (b.profile.id.as_str(), self.owner());
        let session = self.ctx.session_id.as_deref();
        b.profile.lineup.route(
            || Conversation {
                profile,
                account,
                request: req,
                session,
                previous_response_id,
            },
            made,
        )
    }
}

/// The body `openai-responses` upstreams get, for the model each is asked for.
struct Relay<'a> {
    body: &'a serde_json::Map<String, Value>,
    input: Option<Value>,
    /// The model `bytes` names: the profile's.
    model: String,
    bytes: Bytes,
}

impl Relay<'_> {
    fn for_model(&self, model: &str) -> Result<Bytes> {
        if model == self.model {
            return Ok(self.bytes.clone());
        }
        upstream::responses::relay_body(self.body, model, self.input.clone())
    }
}

/// A routed call with its budget reserved.
struct Budgeted {
    profile: Arc<Profile>,
    input: u64,
    max_output: u64,
    charge: Option<Charge>,
    span: CallSpan,
    /// How its tries go over the profile's deployments.
    route: Route,
    /// The deployment call a stream answered with, until it ends.
    in_flight: InFlight,
}

impl Budgeted {
    fn target(&self) -> Target<'_> {
        self.profile.target(self.max_output)
    }

    /// Whether an upstream of the profile speaks the Responses API.
    fn relays(&self) -> bool {
        self.profile
            .upstreams
            .iter()
            .any(|u| matches!(**u, Upstream::Responses(_)))
    }

    /// The whole answer from the profile's upstreams, settled.
    async fn answer(self, state: &State, req: &ChatRequest) -> Result<ChatResponse> {
        let resp = self
            .tries(state, self.route, |up, t| {
                Box::pin(async move { up.complete(req, &t).await })
            })
            .await
            .map(|(r, _)| r);
        if let Ok(r) = &resp {
            self.span.finished(r.stop_reason);
        }
        self.settled(state, resp, |r| r.usage).await
    }

    /// The profile's tries for this call (`with_fallbacks`), each asked for
    /// this call's output budget and traced under its span.
    async fn tries<'a, T>(
        &'a self,
        state: &State,
        route: Route,
        call: impl Fn(&'a Upstream, Target<'a>) -> BoxFuture<'a, Result<T>>,
    ) -> Result<(T, InFlight)> {
        with_fallbacks(state, &self.profile, &self.span, route, self.target(), call).await
    }

    /// Embeddings and rerank: over the deployments only, not the fallbacks.
    async fn only_deployments<'a, T>(
        &'a self,
        state: &State,
        call: impl Fn(&'a Upstream, Target<'a>) -> BoxFuture<'a, Result<T>>,
    ) -> Result<T> {
        let route = Route {
            no_fallbacks: true,
            ..self.route
        };
        self.tries(state, route, call).await.map(|(r, _)| r)
    }

    /// A Responses request's whole answer: relayed by `openai-responses`
    /// upstreams (given `relayed`, the body they take), translated for the others.
    async fn answer_responses(
        self,
        state: &State,
        rr: &ResponsesRequest,
        relayed: Option<Relay<'_>>,
    ) -> Result<Answer> {
        let relayed = relayed.as_ref();
        let outcome = self
            .tries(state, self.route, |up, t| {
                Box::pin(async move {
                    match (up, relayed) {
                        (Upstream::Responses(u), Some(r)) => {
                            u.relay(r.for_model(t.model)?).await.map(Answer::Relayed)
                        }
                        _ => up.complete(&rr.chat, &t).await.map(Answer::Whole),
                    }
                })
            })
            .await
            .map(|(a, _)| a);
        if let Ok(Answer::Whole(r)) = &outcome {
            self.span.finished(r.stop_reason);
        }
        let input = self.input;
        self.settled(state, outcome, |a| match a {
            Answer::Whole(r) => r.usage,
            Answer::Relayed(object) => relay::usage_of(object, input),
        })
        .await
    }

    /// `answer_responses`, streamed.
    async fn events_responses(
        &mut self,
        state: &State,
        rr: &ResponsesRequest,
        relayed: Option<Relay<'_>>,
    ) -> Result<Streamed> {
        let relayed = relayed.as_ref();
        let (events, in_flight) = self
            .tries(state, self.route, |up, t| {
                Box::pin(async move {
                    match (up, relayed) {
                        (Upstream::Responses(u), Some(r)) => u
                            .relay_stream(r.for_model(t.model)?)
                            .await
                            .map(Streamed::Relayed),
                        _ => up.stream(&rr.chat, &t).await.map(Streamed::Events),
                    }
                })
            })
            .await?;
        self.in_flight = in_flight;
        Ok(events)
    }

    /// The answer's events from the profile's upstreams: as the upstream sends
    /// them where it speaks the client's API, else canonical. A failure before
    /// the first event drops the charge, which releases it.
    async fn events(&mut self, state: &State, req: &ChatRequest) -> Result<ChatStream> {
        let (events, in_flight) = self
            .tries(state, self.route, |up, t| {
                Box::pin(async move {
                    match up.forwards(req) {
                        true => up.forward(req, &t).await.map(ChatStream::Forwarded),
                        false => up.stream(req, &t).await.map(ChatStream::Events),
                    }
                })
            })
            .await?;
        self.in_flight = in_flight;
        Ok(events)
    }

    async fn settled<T>(
        self,
        state: &State,
        outcome: Result<T>,
        usage: impl Fn(&T) -> Usage,
    ) -> Result<T> {
        if let Ok(r) = &outcome {
            self.span.usage(&self.profile, &usage(r));
        }
        settled(state, self.charge, &self.profile, outcome, usage).await
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

/// A Responses request's answer: translated back from canonical, or the
/// response object of an upstream that relayed it.
enum Answer {
    Whole(ChatResponse),
    Relayed(Value),
}

/// A chat request's stream: canonical events, or the upstream's own forwarded.
enum ChatStream {
    Events(EventStream),
    Forwarded(upstream::Forwarded),
}

/// A Responses request's stream: canonical events, or the upstream's own.
enum Streamed {
    Events(EventStream),
    Relayed(upstream::responses::SseBatches),
}

/// The answer of a call that asks for no generation.
fn empty_answer() -> ChatResponse {
    ChatResponse {
        id: String::new(),
        content: Vec::new(),
        stop_reason: Some(StopReason::EndTurn),
        stop_sequence: None,
        usage: Usage::default(),
    }
}

/// `empty_answer` as a stream.
fn empty_answer_events() -> EventStream {
    Box::pin(futures::stream::iter([
        StreamEvent::MessageStart {
            id: String::new(),
            usage: Usage::default(),
        },
        StreamEvent::MessageDelta {
            stop_reason: Some(StopReason::EndTurn),
            stop_sequence: None,
            usage: Usage::default(),
        },
        StreamEvent::MessageStop,
    ]))
}

/// Errors after which the next upstream of the profile is tried.
fn fails_over(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Upstream | ErrorKind::Overloaded | ErrorKind::Timeout | ErrorKind::RateLimited
    )
}

/// Calls the profile's deployments, then its fallbacks, until one answers
/// (the order, and which are skipped for their health, is the lineup's:
/// `fleet/lineup.rs`); only failures of the upstream itself (unreachable,
/// overloaded, 5xx, 429) move on to the next. Each try is asked for its
/// deployment's model. What answered is held in flight (`InFlight`) until
/// the caller drops it: at once for a whole answer, at its end for a stream.
async fn with_fallbacks<'a, T>(
    state: &State,
    profile: &'a Profile,
    span: &CallSpan,
    route: Route,
    target: Target<'a>,
    call: impl Fn(&'a Upstream, Target<'a>) -> BoxFuture<'a, Result<T>>,
) -> Result<(T, InFlight)> {
    let mut tries = profile.lineup.tries(route);
    let mut last = None;
    while let Some(attempt) = tries.next_try() {
        let target = Target {
            model: attempt.model(),
            ..target
        };
        let call = call(attempt.upstream(), target);
        // Each try is a child span of the call, named by its deployment.
        let try_span = span.attempt(attempt.upstream(), attempt.upstream_name(), attempt.model());
        let outcome = try_span
            .run(upstream::http::with_retries(attempt.retries(), call))
            .await;
        let name = attempt.upstream_name();
        let in_flight = tries.record(attempt, outcome.as_ref().err());
        match outcome {
            Ok(r) => return Ok((r, in_flight)),
            Err(e) if fails_over(&e) => {
                state.metrics.upstream_error(name, e.kind().as_str());
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(tries.exhausted(last))
}
