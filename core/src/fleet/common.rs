//! What a fleet's lineups share: the sticky-session table, the health
//! changes waiting to be shared with other instances, and the start of the
//! task that shares them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;

use super::affinity::Affinity;
use super::health::Mark;
use crate::store::HealthMark;

/// What the lineups share: the sticky-session table and the changes waiting
/// to be shared with other instances.
pub(crate) struct Common {
    pub(super) affinity: Option<Affinity>,
    pub(super) outbox: Outbox,
    /// Starts the sharing task on the first call (in the runtime that serves it).
    pub(super) starter: Mutex<Option<Box<dyn Fn() -> bool + Send>>>,
    pub(super) started: AtomicBool,
}

impl std::fmt::Debug for Common {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Common")
            .field(
                "sticky_sessions",
                &self.affinity.as_ref().map(Affinity::len),
            )
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl Common {
    pub(super) fn new(sticky_session_capacity: usize) -> Self {
        Common {
            affinity: Affinity::new(sticky_session_capacity),
            outbox: Outbox::default(),
            starter: Mutex::new(None),
            started: AtomicBool::new(false),
        }
    }

    /// Starts sharing on the first call; a single atomic load after that.
    pub(super) fn start_sharing(&self) {
        if self.started.load(Ordering::Relaxed) {
            return;
        }
        let starter = self.starter.lock().unwrap_or_else(|p| p.into_inner());
        if self.started.load(Ordering::Relaxed) {
            return;
        }
        // Without a runtime here, the next call tries again.
        let done = starter.as_ref().is_none_or(|start| start());
        self.started.store(done, Ordering::Relaxed);
    }

    pub(super) fn share(&self, deployment: &str, mark: Mark) {
        self.outbox.push(deployment, mark);
    }
}

/// Changes waiting to be written, the latest per deployment.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    pending: Mutex<HashMap<String, Mark>>,
    pub(super) wake: Notify,
}

impl Outbox {
    pub(super) fn push(&self, deployment: &str, mark: Mark) {
        let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        match p.get_mut(deployment) {
            Some(m) if m.stamp > mark.stamp => {}
            Some(m) => *m = mark,
            None => {
                p.insert(deployment.to_string(), mark);
            }
        }
        drop(p);
        self.wake.notify_one();
    }

    pub(super) fn take(&self) -> Vec<HealthMark> {
        let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        p.drain()
            .map(|(deployment, m)| HealthMark {
                deployment,
                cooldown_until: m.cooldown_until,
                open_until: m.open_until,
                stamp: m.stamp,
            })
            .collect()
    }

    /// Puts back what could not be written, unless newer changes came meanwhile.
    pub(super) fn put_back(&self, marks: Vec<HealthMark>) {
        for m in marks {
            let mark = Mark {
                cooldown_until: m.cooldown_until,
                open_until: m.open_until,
                stamp: m.stamp,
            };
            let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            p.entry(m.deployment).or_insert(mark);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}
