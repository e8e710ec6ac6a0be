//! The deployments on `/metrics`, labelled by `upstream` and `model`:
//!
//! - `mws_deployment_requests_total`, `mws_deployment_errors_total{kind}`,
//!   `mws_deployment_latency_seconds` (to the whole answer, or a stream's
//!   first event) and `mws_deployment_in_flight`, kept as calls go (each
//!   deployment holds its own series, so a call looks up no label);
//! - `mws_deployment_state{state}` and `mws_deployment_unavailable_seconds`,
//!   worked out when scraped (gauges.rs).

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus::core::Collector;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
};

pub(super) const LABELS: &[&str] = &["upstream", "model"];
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// The series families every deployment has one of.
#[derive(Debug, Clone)]
pub struct FleetMetrics {
    requests: IntCounterVec,
    errors: IntCounterVec,
    latency: HistogramVec,
    in_flight: IntGaugeVec,
}

/// One deployment's series.
#[derive(Debug)]
pub struct DeploymentMetrics {
    pub requests: IntCounter,
    pub latency: Histogram,
    pub in_flight: IntGauge,
    errors: IntCounterVec,
    /// Its errors of every kind.
    errors_total: AtomicU64,
    labels: [String; 2],
}

impl DeploymentMetrics {
    /// Counts a failed call of `kind` (a cold path: the label is looked up).
    pub fn error(&self, kind: &str) {
        self.errors_total.fetch_add(1, Ordering::Relaxed);
        self.errors
            .with_label_values(&[self.labels[0].as_str(), self.labels[1].as_str(), kind])
            .inc();
    }

    pub fn errors_total(&self) -> u64 {
        self.errors_total.load(Ordering::Relaxed)
    }
}

impl FleetMetrics {
    pub fn new() -> prometheus::Result<Self> {
        Ok(FleetMetrics {
            requests: IntCounterVec::new(
                Opts::new(
                    "mws_deployment_requests_total",
                    "Calls to each deployment (each try of a request counts)",
                ),
                LABELS,
            )?,
            errors: IntCounterVec::new(
                Opts::new(
                    "mws_deployment_errors_total",
                    "Failed calls to each deployment, by error kind",
                ),
                &["upstream", "model", "kind"],
            )?,
            latency: HistogramVec::new(
                HistogramOpts::new(
                    "mws_deployment_latency_seconds",
                    "Time of each call to a deployment: to the whole answer, or a stream's first event",
                )
                .buckets(BUCKETS.to_vec()),
                LABELS,
            )?,
            in_flight: IntGaugeVec::new(
                Opts::new(
                    "mws_deployment_in_flight",
                    "Calls in flight on each deployment (a stream until it ends)",
                ),
                LABELS,
            )?,
        })
    }

    pub fn deployment(&self, upstream: &str, model: &str) -> DeploymentMetrics {
        let labels = [upstream, model];
        DeploymentMetrics {
            requests: self.requests.with_label_values(&labels),
            latency: self.latency.with_label_values(&labels),
            in_flight: self.in_flight.with_label_values(&labels),
            errors: self.errors.clone(),
            errors_total: AtomicU64::new(0),
            labels: [upstream.to_string(), model.to_string()],
        }
    }

    /// The families kept as calls go, to register on the gateway's registry.
    pub fn families(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.requests.clone()),
            Box::new(self.errors.clone()),
            Box::new(self.latency.clone()),
            Box::new(self.in_flight.clone()),
        ]
    }
}
