//! W3C trace context in and out. In: the client's `traceparent` (and
//! `tracestate`) become the parent of the call's span. Out: while an upstream
//! try runs, the trace context it is to send sits in a task-local, and the
//! one HTTP client of upstream calls (`upstream/http.rs`) adds it to each
//! request it makes (`add_to`), so no adapter has to carry it.

use std::future::Future;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;

use crate::call::TraceHeaders;

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// The client's trace context as a parent, when its `traceparent` is valid.
pub(crate) fn parent(headers: &TraceHeaders) -> Option<Context> {
    let cx = TraceContextPropagator::new().extract(&Client(headers));
    cx.span().span_context().is_valid().then_some(cx)
}

/// The client's headers as the propagator reads them.
struct Client<'a>(&'a TraceHeaders);

impl Extractor for Client<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => Some(self.0.traceparent.as_str()),
            "tracestate" => self.0.tracestate.as_deref(),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent", "tracestate"]
    }
}

/// The trace context one upstream try sends.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    traceparent: HeaderValue,
    tracestate: Option<HeaderValue>,
}

impl Outgoing {
    /// `sc` as headers (version 00), when it is valid.
    pub(crate) fn of(sc: &SpanContext) -> Option<Outgoing> {
        if !sc.is_valid() {
            return None;
        }
        let flags = sc.trace_flags() & TraceFlags::SAMPLED;
        let traceparent = format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            flags.to_u8()
        );
        let state = sc.trace_state().header();
        Some(Outgoing {
            traceparent: HeaderValue::from_str(&traceparent).ok()?,
            tracestate: (!state.is_empty())
                .then(|| HeaderValue::from_str(&state).ok())
                .flatten(),
        })
    }

    /// The client's own context, checked and written anew (tracing off: it
    /// goes upstream as it came).
    pub(crate) fn forwarded(headers: &TraceHeaders) -> Option<Outgoing> {
        let cx = parent(headers)?;
        Outgoing::of(cx.span().span_context())
    }

    /// Runs `f` with this context going out on its upstream requests.
    pub(crate) async fn during<F: Future>(self, f: F) -> F::Output {
        OUTGOING.scope(self, f).await
    }
}

tokio::task_local! {
    static OUTGOING: Outgoing;
}

/// Adds the trace context of the upstream try in progress to a request's
/// headers (replacing any there); nothing outside a try or with tracing off
/// and no client context.
pub fn add_to(headers: &mut HeaderMap) {
    let _ = OUTGOING.try_with(|o| {
        headers.insert(TRACEPARENT, o.traceparent.clone());
        match &o.tracestate {
            Some(state) => headers.insert(TRACESTATE, state.clone()),
            None => headers.remove(TRACESTATE),
        };
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(traceparent: &str, tracestate: Option<&str>) -> TraceHeaders {
        TraceHeaders {
            traceparent: traceparent.into(),
            tracestate: tracestate.map(str::to_string),
        }
    }

    #[test]
    fn a_valid_traceparent_is_the_parent_and_goes_out_as_it_came() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let h = headers(tp, Some("vendor=abc"));
        let cx = parent(&h).unwrap();
        let sc = cx.span().span_context().clone();
        assert_eq!(
            sc.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(sc.span_id().to_string(), "00f067aa0ba902b7");
        assert!(sc.is_remote() && sc.is_sampled());
        let out = Outgoing::forwarded(&h).unwrap();
        assert_eq!(out.traceparent, tp);
        assert_eq!(out.tracestate.unwrap(), "vendor=abc");
    }

    #[test]
    fn invalid_traceparents_are_ignored() {
        for bad in [
            "",
            "garbage",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(parent(&headers(bad, None)).is_none(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn headers_are_added_only_during_a_try() {
        let mut h = HeaderMap::new();
        add_to(&mut h);
        assert!(h.is_empty());
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        let out = Outgoing::forwarded(&headers(tp, None)).unwrap();
        h.insert(TRACESTATE, HeaderValue::from_static("stale=1"));
        out.during(async { add_to(&mut h) }).await;
        assert_eq!(h[TRACEPARENT], tp);
        assert!(!h.contains_key(TRACESTATE));
    }
}
