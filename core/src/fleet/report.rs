//! What operators see of the deployments (`GET /admin/deployments`, the
//! dashboard's deployments page, `mws-gateway deployments`): each one's
//! state, cooldown and circuit, load and recent figures, and the profiles
//! that name it.

use serde_json::{json, Value};

use super::health::now_ms;
use super::{shared, Fleet};
use crate::store::Store;

/// Unix milliseconds as RFC 3339, `null` for none.
fn time(ms: u64) -> Value {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .map_or(Value::Null, Value::String)
}

impl Fleet {
    /// `{"object": "list", "data": [deployment...], "sticky_sessions": N}`;
    /// on a shared store, after reading what the other instances shared.
    pub async fn report(&self, store: &dyn Store) -> Value {
        if store.shares_health() {
            match store.shared_health().await {
                Ok(marks) => {
                    shared::apply(self, &marks);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "deployments: the shared health could not be read; local state shown");
                }
            }
        }
        let now = now_ms();
        let data: Vec<Value> = self
            .deployments
            .iter()
            .zip(&self.uses)
            .map(|(d, uses)| {
                let standing = d.standing(now);
                let mark = d.health.mark();
                let profiles: Vec<Value> = uses
                    .iter()
                    .map(|u| match u.weight {
                        Some(w) => json!({"id": u.profile, "role": "deployment", "weight": w}),
                        None => json!({"id": u.profile, "role": "fallback"}),
                    })
                    .collect();
                let available_in = standing
                    .blocked_until()
                    .map_or(0.0, |t| t.saturating_sub(now) as f64 / 1000.0);
                json!({
                    "id": d.id,
                    "upstream": d.upstream_name,
                    "upstream_model": d.model,
                    "state": standing.as_str(),
                    "available_in_secs": available_in,
                    "cooldown_until": time(mark.cooldown_until).as_str().filter(|_| mark.cooldown_until > now).map_or(Value::Null, |s| json!(s)),
                    "circuit_open_until": time(mark.open_until).as_str().filter(|_| mark.open_until != 0).map_or(Value::Null, |s| json!(s)),
                    "consecutive_failures": d.health.consecutive_failures(),
                    "in_flight": d.in_flight(),
                    "requests": d.requests(),
                    "errors": d.errors(),
                    "latency_ms": (d.latency_ms() * 10.0).round() / 10.0,
                    "error_rate": (d.error_rate() * 1000.0).round() / 1000.0,
                    "profiles": profiles,
                })
            })
            .collect();
        let sticky = self.common.affinity.as_ref().map_or(0, |a| a.len());
        json!({
            "object": "list",
            "data": data,
            "sticky_sessions": sticky,
            "pending_shares": self.common.outbox.len(),
        })
    }
}
