//! A streamed answer on its way out: rendered event by event, watched for
//! time-to-first-token and usage, settled before its last event is sent (so a
//! completed stream is always in the ledger), and charged for what was
//! delivered when it is cut short.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;

use crate::accounts::money::cost_nanos;
use crate::billing::Charge;
use crate::call::{Endpoint, FrameStream};
use crate::canonical::{Delta, EventStream, StreamEvent, Usage};
use crate::egress::StreamRenderer;
use crate::fleet::InFlight;
use crate::route::Profile;
use crate::state::State;
use crate::stored::Keeper;
use crate::telemetry::CallSpan;
use crate::tokens::estimate_chars;
use crate::{Error, ErrorKind};

/// Renders events as they arrive; a stream that ends without `MessageStop`
/// gets an error event, so a client never mistakes a cut answer for a whole one.
/// A Responses stream with a `keeper` is stored before its terminal event goes out.
pub(crate) fn render_stream(
    mut renderer: StreamRenderer,
    mut events: EventStream,
    mut meter: Meter,
    mut keeper: Option<Keeper>,
) -> FrameStream {
    Box::pin(async_stream::stream! {
        let mut out = Vec::new();
        loop {
            // An end without `MessageStop` is an error event, the stream's last.
            let ev = events.next().await.unwrap_or_else(|| {
                StreamEvent::Error(Error::new(
                    ErrorKind::Upstream,
                    "the upstream stream ended before the message was complete",
                ))
            });
            meter.observe(&ev);
            let last = matches!(ev, StreamEvent::MessageStop | StreamEvent::Error(_));
            if last {
                meter.settle().await;
            }
            renderer.render(ev, &mut out);
            if last {
                if let (Some(k), Some(r)) = (keeper.take(), renderer.responses()) {
                    let object = r.response().cloned().unwrap_or_default();
                    if let Err(e) = k.keep(r.id(), object, r.output_items()).await {
                        tracing::error!(error = %e, "could not store a streamed response");
                    }
                }
            }
            for frame in out.drain(..) {
                yield frame;
            }
            if last {
                break;
            }
        }
    })
}

/// Watches one stream; logs and counts it once when it ends or is dropped.
pub(crate) struct Meter {
    state: Arc<State>,
    endpoint: Endpoint,
    request_id: String,
    profile: Arc<Profile>,
    charge: Option<Charge>,
    started: Instant,
    first_token: bool,
    usage: Option<Usage>,
    /// The input as the upstream counted it at the start, else our estimate.
    input: Usage,
    delivered_chars: usize,
    status: u16,
    /// The call's trace span, ended with the stream.
    span: CallSpan,
    /// The stream reached its end (`settle`): a drop before it is a cut.
    settled: bool,
    /// The deployment call that streams, counted in flight until this ends.
    _in_flight: InFlight,
}

impl Meter {
    pub fn new(
        state: Arc<State>,
        endpoint: Endpoint,
        request_id: String,
        profile: Arc<Profile>,
        charge: Option<Charge>,
        input_estimate: u64,
    ) -> Self {
        Meter {
            state,
            endpoint,
            request_id,
            profile,
            charge,
            started: Instant::now(),
            first_token: false,
            usage: None,
            input: Usage::input_only(input_estimate),
            delivered_chars: 0,
            status: 200,
            span: CallSpan::off(),
            settled: false,
            _in_flight: InFlight::none(),
        }
    }

    /// The call's span, to end when the stream does.
    pub(crate) fn with_span(mut self, span: CallSpan) -> Self {
        self.span = span;
        self
    }

    /// Holds the deployment call in flight while the stream lasts.
    pub(crate) fn holding(mut self, in_flight: InFlight) -> Self {
        self._in_flight = in_flight;
        self
    }

    pub(crate) fn observe(&mut self, ev: &StreamEvent) {
        match ev {
            StreamEvent::BlockDelta { delta, .. } => {
                if !self.first_token {
                    self.first_token = true;
                    self.state.metrics.first_token(
                        self.endpoint.path(),
                        &self.profile.id,
                        self.started.elapsed(),
                    );
                }
                let (Delta::Text(t)
                | Delta::ToolArgs(t)
                | Delta::Thinking(t)
                | Delta::Signature(t)) = delta;
                self.delivered_chars += t.chars().count();
            }
            // An upstream's count with every input token a cache read still counts.
            StreamEvent::MessageStart { usage, .. } if usage.total_input() > 0 => {
                self.input = Usage {
                    output_tokens: 0,
                    ..*usage
                };
            }
            StreamEvent::MessageDelta {
                usage, stop_reason, ..
            } => {
                self.usage = Some(*usage);
                self.span.finished(*stop_reason);
            }
            StreamEvent::Error(e) => {
                self.status = e.http_status();
                self.span.fail(e);
            }
            _ => {}
        }
    }

    /// The stream failed before delivering content or reporting usage.
    fn failed_empty(&self) -> bool {
        self.status != 200 && self.delivered_chars == 0 && self.usage.is_none()
    }

    /// The upstream's final usage, or the estimate of what was delivered.
    fn final_usage(&self) -> Usage {
        self.usage.unwrap_or(Usage {
            output_tokens: estimate_chars(self.delivered_chars),
            ..self.input
        })
    }

    pub(crate) async fn settle(&mut self) {
        self.settled = true;
        if self.failed_empty() {
            // Failed before any content: nothing to charge, as for a call that
            // failed before its stream began.
            if let Some(charge) = self.charge.take() {
                charge.release().await;
            }
            return;
        }
        let usage = self.final_usage();
        record_usage(&self.state, &self.profile, usage);
        self.span.usage(&self.profile, &usage);
        if let Some(charge) = self.charge.take() {
            if let Err(e) = charge.settle(usage, self.status).await {
                tracing::error!(request_id = %self.request_id, error = %e, "could not settle a stream");
            }
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        // Cut short (the client went away): charge what was delivered, or give
        // the whole reservation back when nothing was.
        if let Some(mut charge) = self.charge.take() {
            if self.status == 200 {
                self.status = 499;
            }
            if self.delivered_chars > 0 {
                let usage = self.final_usage();
                record_usage(&self.state, &self.profile, usage);
                self.span.usage(&self.profile, &usage);
                charge.settle_on_drop(usage, self.status);
            }
            // Dropping the charge settles or releases it (`Charge`'s Drop).
            drop(charge);
        }
        let cut = !self.settled && self.status == 200;
        self.span.end(if cut { 499 } else { self.status });
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

/// Counts and logs one finished call (a stream when it ends).
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
        .request(endpoint.path(), profile, status, elapsed);
    tracing::info!(
        request_id,
        route = endpoint.path(),
        profile,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
}

/// Tokens and cost in the metrics.
pub(crate) fn record_usage(state: &State, profile: &Profile, u: Usage) {
    let cost = cost_nanos(&u, &profile.prices());
    state.metrics.usage(
        &profile.id,
        u.total_input(),
        u.output_tokens,
        cost as f64 / 1e9,
    );
}
