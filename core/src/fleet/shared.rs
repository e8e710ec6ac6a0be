//! Cooldowns and circuits shared by the gateway instances on one redis
//! store, off the request path: a change is queued here when it happens and
//! written by a background task, which also reads every instance's changes
//! every `POLL` and takes in those newer than what this instance knows. No
//! call waits for Redis; while it is away each instance keeps its own state,
//! and what waited is written when it is back.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use super::health::Mark;
use super::Fleet;
use crate::store::{HealthMark, Store};

/// How often the shared table is read.
pub const POLL: Duration = Duration::from_millis(300);

impl Fleet {
    /// Shares cooldowns and circuits with the other instances on `store`,
    /// when it is a shared one: from the first call on, in the background.
    pub fn share_through(self: &Arc<Self>, store: &Arc<dyn Store>) {
        if !store.shares_health() {
            self.common.started.store(true, Ordering::Relaxed);
            return;
        }
        let (fleet, store) = (Arc::downgrade(self), Arc::downgrade(store));
        let start = move || match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(run(fleet.clone(), store.clone()));
                true
            }
            Err(_) => false,
        };
        *self
            .common
            .starter
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Box::new(start));
    }
}

/// Takes in what the other instances shared; how many changes were new.
pub(super) fn apply(fleet: &Fleet, marks: &[HealthMark]) -> usize {
    let mut taken = 0;
    for m in marks {
        let Some(d) = fleet.by_id(&m.deployment) else {
            continue;
        };
        let mark = Mark {
            cooldown_until: m.cooldown_until,
            open_until: m.open_until,
            stamp: m.stamp,
        };
        if d.health.apply(mark) {
            taken += 1;
        }
    }
    taken
}

/// The background task; ends when the gateway (its fleet or store) is dropped.
pub(super) async fn run(fleet: Weak<Fleet>, store: Weak<dyn Store>) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut up = true;
    loop {
        let Some(common) = fleet.upgrade().map(|f| f.common.clone()) else {
            return;
        };
        tokio::select! {
            _ = tick.tick() => {}
            () = common.outbox.wake.notified() => {}
        }
        drop(common);
        let (Some(fleet), Some(store)) = (fleet.upgrade(), store.upgrade()) else {
            return;
        };
        let out = fleet.common.outbox.take();
        let mut failure = None;
        if !out.is_empty() {
            if let Err(e) = store.put_health(&out).await {
                fleet.common.outbox.put_back(out);
                failure = Some(e);
            }
        }
        match store.shared_health().await {
            Ok(marks) => {
                apply(&fleet, &marks);
            }
            Err(e) => failure = failure.or(Some(e)),
        }
        // Logged when sharing stops or resumes, not every tick.
        match (failure, up) {
            (Some(e), true) => {
                tracing::warn!(error = %e, "deployments: cannot share health through the store; each instance keeps its own until it answers");
                up = false;
            }
            (None, false) => {
                tracing::info!("deployments: sharing health through the store again");
                up = true;
            }
            _ => {}
        }
    }
}
