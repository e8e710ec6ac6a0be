//! Deployments: the upstream + model pairs that serve the profiles, each with
//! its health, and how one call chooses among a profile's.
//!
//! - deployment.rs: one deployment, its in-flight count, latency, metrics;
//! - health.rs: its cooldown after a 429 and its circuit breaker;
//! - lineup.rs: a profile's deployments and fallbacks, and the tries of one call;
//! - pick.rs: the strategies (weighted, least-busy, p2c);
//! - affinity.rs: sticky sessions, a bounded table;
//! - shared.rs: cooldowns and circuits shared through a redis store;
//! - report.rs: what operators see (`GET /admin/deployments`);
//! - metrics.rs: the deployments on `/metrics`.
//!
//! A deployment is one per (upstream, model) pair, however many profiles
//! name it: a 429 from it holds for all of them.

mod affinity;
mod common;
mod deployment;
mod gauges;
mod health;
mod lineup;
mod metrics;
mod pick;
mod report;
mod shared;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub use affinity::Conversation;
pub use deployment::{Deployment, InFlight};
pub use health::Standing;
pub use lineup::{Attempt, Lineup, Member, Route, Tries};

use self::common::Common;
use self::gauges::StandingCollector;
use self::health::CircuitSettings;
use self::metrics::FleetMetrics;
use crate::config::{Config, ProfileConfig};
use crate::upstream::Upstream;
use crate::{Error, Result};

/// Every deployment of the configured profiles.
#[derive(Debug)]
pub struct Fleet {
    deployments: Arc<Vec<Arc<Deployment>>>,
    /// Per deployment, the profiles that name it.
    uses: Vec<Vec<Use>>,
    common: Arc<Common>,
    metrics: FleetMetrics,
}

/// A profile naming a deployment: as one of its deployments (with its
/// weight) or as a fallback.
#[derive(Debug, Clone)]
pub struct Use {
    pub profile: String,
    pub weight: Option<u32>,
}

/// Collects the deployments while the router is built.
pub struct FleetBuilder {
    by_id: HashMap<String, usize>,
    deployments: Vec<Arc<Deployment>>,
    uses: Vec<Vec<Use>>,
    circuits: HashMap<String, CircuitSettings>,
    common: Arc<Common>,
    metrics: FleetMetrics,
}

impl Fleet {
    pub fn builder(config: &Config) -> Result<FleetBuilder> {
        let routing = &config.routing;
        let circuits = config
            .upstreams
            .iter()
            .map(|u| {
                let settings = CircuitSettings {
                    failures: u.circuit_failures.unwrap_or(routing.circuit_failures),
                    open_for: Duration::from_secs_f64(
                        u.circuit_open_secs.unwrap_or(routing.circuit_open_secs),
                    ),
                };
                (u.name.clone(), settings)
            })
            .collect();
        Ok(FleetBuilder {
            by_id: HashMap::new(),
            deployments: Vec::new(),
            uses: Vec::new(),
            circuits,
            common: Arc::new(Common::new(routing.sticky_session_capacity)),
            metrics: FleetMetrics::new()
                .map_err(|e| Error::internal(format!("deployment metrics: {e}")))?,
        })
    }

    /// Starts following the health other instances share (see
    /// `share_through`), at once rather than on the first call.
    pub fn start_sharing(&self) {
        self.common.start_sharing();
    }

    pub fn deployments(&self) -> &[Arc<Deployment>] {
        &self.deployments
    }

    /// The deployment series to register on the gateway's metrics.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        let mut all = self.metrics.families();
        all.push(Box::new(StandingCollector::new(self.deployments.clone())));
        all
    }

    pub(crate) fn by_id(&self, id: &str) -> Option<&Arc<Deployment>> {
        self.deployments.iter().find(|d| d.id == id)
    }
}

impl FleetBuilder {
    /// The lineup of profile `p` over the configured `upstreams` (config
    /// validation made sure every name resolves).
    pub fn lineup(
        &mut self,
        p: &ProfileConfig,
        upstreams: &HashMap<String, Arc<Upstream>>,
    ) -> Lineup {
        let mut members = Vec::new();
        for d in p.deployment_list() {
            let model = d.upstream_model.clone().unwrap_or_else(|| p.id.clone());
            if let Some(deployment) = self.deployment(&d.upstream, &model, upstreams) {
                let at = self.index(&deployment);
                self.uses[at].push(Use {
                    profile: p.id.clone(),
                    weight: Some(d.weight),
                });
                members.push(Member {
                    deployment,
                    weight: d.weight,
                });
            }
        }
        let model = p.fallback_model();
        let mut fallbacks = Vec::new();
        for f in &p.fallbacks {
            if let Some(deployment) = self.deployment(f, &model, upstreams) {
                let at = self.index(&deployment);
                self.uses[at].push(Use {
                    profile: p.id.clone(),
                    weight: None,
                });
                fallbacks.push(deployment);
            }
        }
        Lineup {
            profile: p.id.clone(),
            strategy: p.strategy,
            members,
            fallbacks,
            common: self.common.clone(),
        }
    }

    fn index(&self, d: &Deployment) -> usize {
        self.by_id.get(&d.id).copied().unwrap_or_default()
    }

    fn deployment(
        &mut self,
        upstream: &str,
        model: &str,
        upstreams: &HashMap<String, Arc<Upstream>>,
    ) -> Option<Arc<Deployment>> {
        let id = deployment::id(upstream, model);
        if let Some(&i) = self.by_id.get(&id) {
            return Some(self.deployments[i].clone());
        }
        let up = upstreams.get(upstream)?.clone();
        let settings = self
            .circuits
            .get(upstream)
            .copied()
            .unwrap_or(CircuitSettings {
                failures: 0,
                open_for: Duration::from_secs(30),
            });
        let d = Arc::new(Deployment::new(
            up,
            upstream,
            model,
            settings,
            self.metrics.deployment(upstream, model),
        ));
        self.by_id.insert(id, self.deployments.len());
        self.deployments.push(d.clone());
        self.uses.push(Vec::new());
        Some(d)
    }

    pub fn finish(self) -> Arc<Fleet> {
        Arc::new(Fleet {
            deployments: Arc::new(self.deployments),
            uses: self.uses,
            common: self.common,
            metrics: self.metrics,
        })
    }
}

#[cfg(test)]
mod tests;
