//! One deployment (an upstream and the model it is asked for): its health,
//! its requests in flight, the recent latency and error rate p2c scores it
//! by, and its metrics. Shared by every profile that names the same pair.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::health::{CircuitSettings, Health, Outcome, Standing};
use super::metrics::DeploymentMetrics;
use super::pick;
use crate::upstream::Upstream;

/// How much one call moves the recent latency and error rate.
const SMOOTHING: f64 = 0.2;

#[derive(Debug)]
pub struct Deployment {
    pub upstream: Arc<Upstream>,
    pub upstream_name: String,
    pub model: String,
    /// `upstream/model`: its name where instances share its health.
    pub id: String,
    pub health: Health,
    pub(super) metrics: DeploymentMetrics,
    /// Milliseconds, as f64 bits; 0 before the first call.
    latency_ms: AtomicU64,
    /// Of recent calls, as f64 bits.
    error_rate: AtomicU64,
}

impl Deployment {
    pub(super) fn new(
        upstream: Arc<Upstream>,
        upstream_name: &str,
        model: &str,
        settings: CircuitSettings,
        metrics: DeploymentMetrics,
    ) -> Self {
        Deployment {
            upstream,
            upstream_name: upstream_name.to_string(),
            model: model.to_string(),
            id: id(upstream_name, model),
            health: Health::new(settings),
            metrics,
            latency_ms: AtomicU64::new(0f64.to_bits()),
            error_rate: AtomicU64::new(0f64.to_bits()),
        }
    }

    pub fn in_flight(&self) -> u64 {
        self.metrics.in_flight.get().max(0) as u64
    }

    pub fn latency_ms(&self) -> f64 {
        f64::from_bits(self.latency_ms.load(Ordering::Relaxed))
    }

    pub fn error_rate(&self) -> f64 {
        f64::from_bits(self.error_rate.load(Ordering::Relaxed))
    }

    pub fn requests(&self) -> u64 {
        self.metrics.requests.get()
    }

    pub fn errors(&self) -> u64 {
        self.metrics.errors_total()
    }

    /// p2c's score of it now.
    pub fn score(&self) -> f64 {
        pick::score(self.latency_ms(), self.error_rate(), self.in_flight())
    }

    pub fn standing(&self, now: u64) -> Standing {
        self.health.standing(now)
    }

    /// Counts a call in flight until the guard is dropped.
    pub fn start(self: &Arc<Self>) -> InFlight {
        self.metrics.requests.inc();
        self.metrics.in_flight.inc();
        InFlight(Some(self.clone()))
    }

    /// Takes in a finished call: its latency, whether it failed, its error kind.
    pub(super) fn observe(&self, outcome: Outcome, error: Option<&str>, took: Duration) {
        if let Some(kind) = error {
            self.metrics.error(kind);
        }
        self.metrics.latency.observe(took.as_secs_f64());
        let failed = matches!(outcome, Outcome::Failed | Outcome::RateLimited(_));
        smooth(&self.error_rate, if failed { 1.0 } else { 0.0 }, false);
        if !failed {
            smooth(&self.latency_ms, took.as_secs_f64() * 1000.0, true);
        }
    }
}

/// The name a deployment goes by in metrics and between instances.
pub fn id(upstream: &str, model: &str) -> String {
    format!("{upstream}/{model}")
}

/// A moving average in an atomic (starting at the first sample when
/// `start_at_first`); a lost update between two racing calls is harmless.
fn smooth(cell: &AtomicU64, sample: f64, start_at_first: bool) {
    let old = f64::from_bits(cell.load(Ordering::Relaxed));
    let new = if start_at_first && old == 0.0 {
        sample
    } else {
        old + (sample - old) * SMOOTHING
    };
    cell.store(new.to_bits(), Ordering::Relaxed);
}

/// One call in flight on a deployment, until dropped: the call answered
/// whole, or the stream it answered with ended or was dropped.
#[derive(Debug, Default)]
pub struct InFlight(Option<Arc<Deployment>>);

impl InFlight {
    /// Counting nothing.
    pub fn none() -> Self {
        InFlight(None)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            d.metrics.in_flight.dec();
        }
    }
}
