//! The deployments' state on `/metrics`, worked out from their health when
//! scraped (a cooldown ends by the clock, with no call to notice it):
//! `mws_deployment_state{upstream, model, state}` is 1 for the state it is
//! in (healthy, cooling_down, circuit_open, half_open) and 0 for the others;
//! `mws_deployment_unavailable_seconds` is the time until it takes calls again.

use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Gauge, GaugeVec, IntGauge, IntGaugeVec, Opts};

use super::deployment::Deployment;
use super::health::now_ms;
use super::metrics::LABELS;

const STATES: [&str; 4] = ["healthy", "cooling_down", "circuit_open", "half_open"];

/// The state gauges, worked out from the deployments' health when scraped
/// (a cooldown ends by the clock, with no call to notice it).
pub(super) struct StandingCollector {
    deployments: Arc<Vec<Arc<Deployment>>>,
    descs: Vec<Desc>,
}

impl StandingCollector {
    pub(super) fn new(deployments: Arc<Vec<Arc<Deployment>>>) -> Self {
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
