//! Settlements and releases that could not reach Redis, kept in order until
//! it answers again (the sync task drains them every tick).
//!
//! Why a queue in memory and not a journal on disk like the sqlite store's:
//! instances sharing a Redis often run where local disk does not outlive the
//! process (containers), and the loss needs two failures at once, Redis away
//! and this process dying before it is back; Redis's own persistence decides
//! durability the rest of the time. Retrying is safe: settlement is once per
//! request id and a release of nothing does nothing (lua/settle.lua,
//! lua/release.lua), so a script that ran with its reply lost is not charged
//! twice.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::accounts::LedgerRow;
use crate::store::Reservation;

#[derive(Debug, Clone)]
pub enum Pending {
    Settle(Reservation, LedgerRow),
    /// A reservation to give back, by request id.
    Release(String),
}

#[derive(Debug, Default)]
pub struct Queue {
    items: Mutex<VecDeque<Pending>>,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Pending>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, p: Pending) {
        self.lock().push_back(p);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// The oldest item, taken out while it is written.
    pub fn pop(&self) -> Option<Pending> {
        self.lock().pop_front()
    }

    /// Puts back an item that still could not be written, first in line.
    pub fn unpop(&self, p: Pending) {
        self.lock().push_front(p);
    }
}
