//! OpenTelemetry traces over OTLP (http/protobuf): one span per call after
//! the GenAI semantic conventions and a child per upstream try (`span.rs`),
//! W3C trace context from the client and on to the upstream (`propagate.rs`),
//! exported in batches from a bounded queue on a thread of its own
//! (`export.rs`, `client.rs`), configured by `[telemetry]` and the standard
//! `OTEL_*` variables (`settings.rs`).
//!
//! Off unless an endpoint is configured; then a call costs one branch and
//! builds no span. Exporting never slows or fails a call: spans that do not
//! fit the queue or that the collector refuses are dropped and counted
//! (`mws_telemetry_spans_dropped_total`).

mod client;
mod export;
pub mod propagate;
mod settings;
mod span;

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

pub use settings::Settings;
pub use span::{CallSpan, TrySpan};

use crate::call::{CallContext, Endpoint};
use crate::config::TelemetryConfig;
use crate::metrics::Metrics;
use crate::Result;

/// Tracing as a gateway runs it: off (`None`), or its tracer and queue.
/// Cheap to clone; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Telemetry(Option<Arc<Tracing>>);

#[derive(Debug)]
struct Tracing {
    tracer: SdkTracer,
    queue: export::Queue,
    /// How long a flush waits: one export's timeout and a little.
    flush_timeout: Duration,
    /// Dropped last: its drop hands what is queued to the export thread.
    _provider: SdkTracerProvider,
}

impl Telemetry {
    /// Tracing off.
    pub fn off() -> Self {
        Telemetry(None)
    }

    /// Tracing as `config` and the process environment set it.
    pub fn open(config: &TelemetryConfig, metrics: &Metrics) -> Result<Self> {
        let env = |var: &str| std::env::var(var).ok().filter(|v| !v.is_empty());
        match Settings::resolve(config, env)? {
            Some(settings) => Self::start(&settings, metrics),
            None => Ok(Telemetry::off()),
        }
    }

    /// Tracing on with `settings`.
    pub fn start(settings: &Settings, metrics: &Metrics) -> Result<Self> {
        let resource = Resource::builder()
            .with_service_name(settings.service_name.clone())
            .build();
        let dropped = export::Dropped {
            queue_full: metrics.spans_dropped("queue_full"),
            export_failed: metrics.spans_dropped("export_failed"),
        };
        let queue = export::Queue::start(settings, &resource, dropped)?;
        let sampler =
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(settings.sample_ratio)));
        let provider = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_sampler(sampler)
            .with_span_processor(queue.clone())
            .build();
        let scope = InstrumentationScope::builder("mws-gateway")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let tracer = provider.tracer_with_scope(scope);
        // The collector's host only: a URL may carry credentials.
        let host = settings
            .traces_url
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.authority().map(|a| a.host().to_string()))
            .unwrap_or_default();
        tracing::info!(
            collector = %host,
            sample_ratio = settings.sample_ratio,
            service = %settings.service_name,
            "tracing to OTLP"
        );
        Ok(Telemetry(Some(Arc::new(Tracing {
            tracer,
            queue,
            flush_timeout: settings.export_timeout + Duration::from_millis(500),
            _provider: provider,
        }))))
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// The span of a call starting now: none with tracing off, where only a
    /// client's trace context (if any) is passed on upstream.
    pub fn call(&self, endpoint: &Endpoint, ctx: &CallContext) -> CallSpan {
        match (&self.0, &ctx.trace) {
            (None, None) => CallSpan::off(),
            (None, Some(_)) => CallSpan::forward(ctx),
            (Some(t), _) => CallSpan::start(&t.tracer, endpoint, ctx),
        }
    }

    /// Sends every finished span now; waits at most one export timeout.
    /// False when tracing is off or the collector did not take them in time.
    pub async fn flush(&self) -> bool {
        match &self.0 {
            Some(t) => t.queue.flush(t.flush_timeout).await,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::TraceHeaders;

    #[test]
    fn with_tracing_off_a_call_builds_no_span() {
        let off = Telemetry::off();
        let ctx = CallContext::new();
        assert!(off.call(&Endpoint::Messages, &ctx).is_off());
        let garbage = CallContext {
            trace: Some(TraceHeaders {
                traceparent: "garbage".into(),
                tracestate: None,
            }),
            ..CallContext::new()
        };
        assert!(off.call(&Endpoint::Messages, &garbage).is_off());
        let span = off.call(&Endpoint::Messages, &ctx);
        span.routed("m", "p");
        span.end(200);
    }
}
