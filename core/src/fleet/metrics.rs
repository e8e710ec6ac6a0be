//! The deployments on `/metrics`, labelled by `upstream` and `model`:
//!
//! - `mws_deployment_requests_total`, `mws_deployment_errors_total{kind}`,
//!   `mws_deployment_latency_seconds` (to the whole answer, or a stream's
//!   first event) and `mws_deployment_in_flight`, kept as calls go (each
//!   deployment holds its own series, so a call looks up no label);
//! - `mws_deployment_state{state}` (1 for the one it is in: healthy,
//!   cooling_down, circuit_open, half_open) and
//!   `mws_deployment_unavailable_seconds` (until it takes calls again), worked
//!   out when scraped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts,
};

use super::deployment::Deployment;
use super::health::now_ms;

const LABELS: &[&str] = &["upstream", "model"];
const STATES: [&str; 4] = ["healthy", "cooling_down", "circuit_open", "half_open"];
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

    /// Everything to register on the gateway's registry.
    pub fn collectors(&self, deployments: Arc<Vec<Arc<Deployment>>>) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.requests.clone()),
            Box::new(self.errors.clone()),
            Box::new(self.latency.clone()),
            Box::new(self.in_flight.clone()),
            Box::new(StandingCollector::new(deployments)),
        ]
    }
}

/// The state gauges, worked out from the deployments' health when scraped
/// (a cooldown ends by the clock, with no call to notice it).
struct StandingCollector {
    deployments: Arc<Vec<Arc<Deployment>>>,
    descs: Vec<Desc>,
}

impl StandingCollector {
    fn new(deployments: Arc<Vec<Arc<Deployment>>>) -> Self {
        let descs = Self::families()
            .map(|(state, blocked)| {
                state
                    .desc()
                    .into_iter()
                    .chain(blocked.desc())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        StandingCollector { deployments, descs }
    }

    fn families() -> prometheus::Result<(IntGaugeVec, GaugeVec)> {
        let state = IntGaugeVec::new(
            Opts::new(
                "mws_deployment_state",
                "1 for the state each deployment is in: healthy, cooling_down (after a 429), circuit_open, half_open",
            ),
            &["upstream", "model", "state"],
        )?;
        let blocked = GaugeVec::new(
            Opts::new(
                "mws_deployment_unavailable_seconds",
                "Seconds until a cooling-down or open deployment takes calls again (0 when it does)",
            ),
            LABELS,
        )?;
        Ok((state, blocked))
    }
}

impl Collector for StandingCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Ok((state, blocked)) = Self::families() else {
            return Vec::new();
        };
        let now = now_ms();
        for d in self.deployments.iter() {
            let standing = d.standing(now);
            for s in STATES {
                let g: IntGauge = state.with_label_values(&[&d.upstream_name, &d.model, s]);
                g.set(i64::from(s == standing.as_str()));
            }
            let left = standing
                .blocked_until()
                .map_or(0.0, |t| t.saturating_sub(now) as f64 / 1000.0);
            let g: Gauge = blocked.with_label_values(&[&d.upstream_name, &d.model]);
            g.set(left);
        }
        state
            .collect()
            .into_iter()
            .chain(blocked.collect())
            .collect()
    }
}
