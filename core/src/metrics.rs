//! Prometheus metrics: requests by route, profile and status; latency and
//! time-to-first-token; tokens; cost; upstream errors; rate-limit rejections;
//! trace spans the telemetry exporter dropped.

use std::time::Duration;

use prometheus::{
    CounterVec, Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
    TextEncoder,
};

#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    ttft: HistogramVec,
    tokens: IntCounterVec,
    cost: CounterVec,
    upstream_errors: IntCounterVec,
    rate_limited: IntCounterVec,
    spans_dropped: IntCounterVec,
}

const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "mws_requests_total",
                "Requests by route, profile and status",
            ),
            &["route", "profile", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("mws_request_duration_seconds", "Time to the full response")
                .buckets(BUCKETS.to_vec()),
            &["route", "profile"],
        )?;
        let ttft = HistogramVec::new(
            HistogramOpts::new(
                "mws_time_to_first_token_seconds",
                "Time to the first streamed token",
            )
            .buckets(BUCKETS.to_vec()),
            &["route", "profile"],
        )?;
        let tokens = IntCounterVec::new(
            Opts::new("mws_tokens_total", "Tokens by profile and direction"),
            &["profile", "direction"],
        )?;
        let cost = CounterVec::new(
            Opts::new("mws_cost_usd_total", "Cost in USD by profile"),
            &["profile"],
        )?;
        let upstream_errors = IntCounterVec::new(
            Opts::new("mws_upstream_errors_total", "Failed upstream calls"),
            &["upstream", "kind"],
        )?;
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "mws_rate_limit_rejections_total",
                "Requests refused with 429",
            ),
            &["route"],
        )?;
        let spans_dropped = IntCounterVec::new(
            Opts::new(
                "mws_telemetry_spans_dropped_total",
                "Trace spans not exported: the export queue was full, or the collector failed",
            ),
            &["reason"],
        )?;
        // Both reasons shown from the start, at 0.
        for reason in ["queue_full", "export_failed"] {
            spans_dropped.with_label_values(&[reason]);
        }
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(ttft.clone()))?;
        registry.register(Box::new(tokens.clone()))?;
        registry.register(Box::new(cost.clone()))?;
        registry.register(Box::new(upstream_errors.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(spans_dropped.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            ttft,
            tokens,
            cost,
            upstream_errors,
            rate_limited,
            spans_dropped,
        })
    }

    pub fn request(&self, route: &str, profile: &str, status: u16, elapsed: Duration) {
        let status = status.to_string();
        self.requests
            .with_label_values(&[route, profile, status.as_str()])
            .inc();
        self.latency
            .with_label_values(&[route, profile])
            .observe(elapsed.as_secs_f64());
        if status == "429" {
            self.rate_limited.with_label_values(&[route]).inc();
        }
    }

    pub fn first_token(&self, route: &str, profile: &str, elapsed: Duration) {
        self.ttft
            .with_label_values(&[route, profile])
            .observe(elapsed.as_secs_f64());
    }

    pub fn usage(&self, profile: &str, input: u64, output: u64, cost_usd: f64) {
        self.tokens
            .with_label_values(&[profile, "input"])
            .inc_by(input);
        self.tokens
            .with_label_values(&[profile, "output"])
            .inc_by(output);
        if cost_usd > 0.0 {
            self.cost.with_label_values(&[profile]).inc_by(cost_usd);
        }
    }

    pub fn upstream_error(&self, upstream: &str, kind: &str) {
        self.upstream_errors
            .with_label_values(&[upstream, kind])
            .inc();
    }

    /// The counter of spans dropped for `reason` (`queue_full`, `export_failed`).
    pub fn spans_dropped(&self, reason: &str) -> IntCounter {
        self.spans_dropped.with_label_values(&[reason])
    }

    /// Adds series kept elsewhere (the deployments').
    pub fn register(
        &self,
        c: Box<dyn prometheus::core::Collector>,
    ) -> Result<(), prometheus::Error> {
        self.registry.register(c)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}
