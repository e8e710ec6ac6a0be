//! One deployment's health, in atomics (no lock on the request path):
//!
//! - a 429 cools it down until the time its rate-limit headers named;
//! - `failures` consecutive failed calls (connect errors, timeouts, 5xx) open
//!   its circuit for `open_for`; then one trial call (half-open) closes it
//!   on an answer or opens it again on a failure;
//! - every change to either is stamped, so a change another gateway
//!   instance shared (shared.rs) replaces the local state only when newer.
//!
//! Times are Unix milliseconds, comparable across instances.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// A 429 that names no reset cools its deployment down this long.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(1);

/// The clock health is kept in: Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// When a circuit opens and for how long.
#[derive(Debug, Clone, Copy)]
pub struct CircuitSettings {
    /// Consecutive failures that open it; 0 for never.
    pub failures: u32,
    pub open_for: Duration,
}

/// What a call to the deployment came to, for its health.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// It answered (an error of the request's own, such as a 400, included).
    Answered,
    /// 429: cooled down for this long.
    RateLimited(Duration),
    /// Unreachable, timed out or a 5xx.
    Failed,
}

/// Where a deployment stands at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Healthy,
    /// Rate limited until this time.
    CoolingDown(u64),
    /// Circuit open until this time.
    CircuitOpen(u64),
    /// Circuit open time over: one trial call may go (or is under way).
    HalfOpen,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Healthy => "healthy",
            Standing::CoolingDown(_) => "cooling_down",
            Standing::CircuitOpen(_) => "circuit_open",
            Standing::HalfOpen => "half_open",
        }
    }

    /// When it takes calls again, if it takes none now.
    pub fn blocked_until(self) -> Option<u64> {
        match self {
            Standing::CoolingDown(t) | Standing::CircuitOpen(t) => Some(t),
            Standing::Healthy | Standing::HalfOpen => None,
        }
    }
}

/// A change worth telling the other instances: the cooldown and circuit as they now are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub cooldown_until: u64,
    /// 0 when closed.
    pub open_until: u64,
    /// When the change was made.
    pub stamp: u64,
}

#[derive(Debug)]
pub struct Health {
    settings: CircuitSettings,
    cooldown_until: AtomicU64,
    /// 0 while closed; past it, half-open.
    open_until: AtomicU64,
    /// A half-open trial call is under way.
    trial: AtomicBool,
    failures: AtomicU32,
    /// Moves on each time it turns unhealthy: sticky sessions pinned before
    /// are released (affinity.rs).
    epoch: AtomicU32,
    /// When the cooldown or circuit last changed, here or (shared) elsewhere.
    stamp: AtomicU64,
}

impl Health {
    pub fn new(settings: CircuitSettings) -> Self {
        Health {
            settings,
            cooldown_until: AtomicU64::new(0),
            open_until: AtomicU64::new(0),
            trial: AtomicBool::new(false),
            failures: AtomicU32::new(0),
            epoch: AtomicU32::new(0),
            stamp: AtomicU64::new(0),
        }
    }

    pub fn standing(&self, now: u64) -> Standing {
        let cooldown = self.cooldown_until.load(Ordering::Relaxed);
        let open = self.open_until.load(Ordering::Relaxed);
        if open != 0 && open > now {
            return Standing::CircuitOpen(open.max(cooldown));
        }
        if cooldown > now {
            return Standing::CoolingDown(cooldown);
        }
        if open != 0 {
            return Standing::HalfOpen;
        }
        Standing::Healthy
    }

    /// Whether a call may go now: healthy, or half-open with no trial under way.
    pub fn ready(&self, now: u64) -> bool {
        match self.standing(now) {
            Standing::Healthy => true,
            Standing::HalfOpen => !self.trial.load(Ordering::Relaxed),
            Standing::CoolingDown(_) | Standing::CircuitOpen(_) => false,
        }
    }

    /// Claims the call about to go: `Some(true)` for the half-open trial,
    /// `Some(false)` for an ordinary call, `None` when it may not go after all.
    pub fn claim(&self, now: u64) -> Option<bool> {
        match self.standing(now) {
            Standing::Healthy => Some(false),
            Standing::HalfOpen => self
                .trial
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
                .then_some(true),
            Standing::CoolingDown(_) | Standing::CircuitOpen(_) => None,
        }
    }

    /// A trial call given up without an outcome: the next call may try.
    pub fn abandon_trial(&self) {
        self.trial.store(false, Ordering::Release);
    }

    pub fn epoch(&self) -> u32 {
        self.epoch.load(Ordering::Relaxed)
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Takes in a call's outcome (`trial`: it was the half-open trial); the
    /// change to share, when the cooldown or circuit changed.
    pub fn record(&self, outcome: Outcome, trial: bool, now: u64) -> Option<Mark> {
        if trial {
            self.trial.store(false, Ordering::Release);
        }
        match outcome {
            Outcome::Answered => {
                if self.failures.load(Ordering::Relaxed) != 0 {
                    self.failures.store(0, Ordering::Relaxed);
                }
                self.close(now)
            }
            Outcome::RateLimited(wait) => {
                let until = now.saturating_add(wait.as_millis() as u64);
                // It answered: an open circuit closes, its failures are forgotten.
                self.failures.store(0, Ordering::Relaxed);
                self.open_until.store(0, Ordering::Relaxed);
                if until <= now {
                    return None;
                }
                self.cooldown_until.fetch_max(until, Ordering::Relaxed);
                self.turned_unhealthy();
                Some(self.stamped(now))
            }
            Outcome::Failed => {
                let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                let threshold = self.settings.failures;
                if !(trial || threshold > 0 && failures >= threshold) {
                    return None;
                }
                let was_closed = self.open_until.load(Ordering::Relaxed) == 0;
                if !(trial || was_closed) {
                    // Opened already by a call that failed alongside.
                    return None;
                }
                let until = now.saturating_add(self.settings.open_for.as_millis() as u64);
                self.open_until.store(until.max(1), Ordering::Relaxed);
                self.turned_unhealthy();
                Some(self.stamped(now))
            }
        }
    }

    /// Closes an open circuit after an answer.
    fn close(&self, now: u64) -> Option<Mark> {
        if self.open_until.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.open_until.store(0, Ordering::Relaxed);
        Some(self.stamped(now))
    }

    fn turned_unhealthy(&self) {
        self.epoch.fetch_add(1, Ordering::Relaxed);
    }

    fn stamped(&self, now: u64) -> Mark {
        self.stamp.fetch_max(now, Ordering::Relaxed);
        self.mark()
    }

    /// The cooldown and circuit as they are, to share.
    pub fn mark(&self) -> Mark {
        Mark {
            cooldown_until: self.cooldown_until.load(Ordering::Relaxed),
            open_until: self.open_until.load(Ordering::Relaxed),
            stamp: self.stamp.load(Ordering::Relaxed),
        }
    }

    /// Takes in a change another instance made, when newer than what this one
    /// knows; whether it was taken.
    pub fn apply(&self, mark: Mark) -> bool {
        if mark.stamp <= self.stamp.load(Ordering::Relaxed) {
            return false;
        }
        self.stamp.store(mark.stamp, Ordering::Relaxed);
        let was_open = self.open_until.load(Ordering::Relaxed) != 0;
        let was_cooling = self.cooldown_until.load(Ordering::Relaxed) > mark.stamp;
        self.cooldown_until
            .store(mark.cooldown_until, Ordering::Relaxed);
        self.open_until.store(mark.open_until, Ordering::Relaxed);
        let now_unhealthy = mark.open_until != 0 || mark.cooldown_until > mark.stamp;
        if now_unhealthy && !(was_open || was_cooling) {
            self.turned_unhealthy();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(failures: u32) -> Health {
        Health::new(CircuitSettings {
            failures,
            open_for: Duration::from_millis(500),
        })
    }

    #[test]
    fn a_429_cools_down_until_its_reset() {
        let h = health(5);
        assert_eq!(h.standing(1000), Standing::Healthy);
        let mark = h
            .record(
                Outcome::RateLimited(Duration::from_millis(2500)),
                false,
                1000,
            )
            .unwrap();
        assert_eq!((mark.cooldown_until, mark.stamp), (3500, 1000));
        assert_eq!(h.standing(3499), Standing::CoolingDown(3500));
        assert!(!h.ready(3499) && h.claim(3499).is_none());
        assert_eq!(h.standing(3500), Standing::Healthy);
        assert_eq!(h.epoch(), 1);
    }

    #[test]
    fn consecutive_failures_open_the_circuit_and_one_trial_decides() {
        let h = health(3);
        assert!(h.record(Outcome::Failed, false, 0).is_none());
        assert!(h.record(Outcome::Answered, false, 0).is_none());
        // The count restarted after the answer: three more to open.
        assert!(h.record(Outcome::Failed, false, 10).is_none());
        assert!(h.record(Outcome::Failed, false, 10).is_none());
        let mark = h.record(Outcome::Failed, false, 10).unwrap();
        assert_eq!(mark.open_until, 510);
        assert_eq!(h.standing(509), Standing::CircuitOpen(510));
        // A failure alongside changes nothing more.
        assert!(h.record(Outcome::Failed, false, 20).is_none());
        // Half-open: one trial, not two.
        assert_eq!(h.standing(510), Standing::HalfOpen);
        assert_eq!(h.claim(510), Some(true));
        assert!(!h.ready(510));
        assert_eq!(h.claim(511), None);
        // The trial fails: open again for the whole time.
        let mark = h.record(Outcome::Failed, true, 600).unwrap();
        assert_eq!(mark.open_until, 1100);
        assert_eq!(h.claim(1100), Some(true));
        assert!(h.record(Outcome::Answered, true, 1100).is_some());
        assert_eq!(h.standing(1100), Standing::Healthy);
        assert_eq!(h.consecutive_failures(), 0);
        assert_eq!(h.claim(1100), Some(false));
    }

    #[test]
    fn zero_failures_never_opens() {
        let h = health(0);
        for _ in 0..100 {
            assert!(h.record(Outcome::Failed, false, 0).is_none());
        }
        assert_eq!(h.standing(1), Standing::Healthy);
    }

    #[test]
    fn shared_changes_apply_when_newer() {
        let h = health(5);
        assert!(h.apply(Mark {
            cooldown_until: 5000,
            open_until: 0,
            stamp: 100
        }));
        assert_eq!(h.standing(200), Standing::CoolingDown(5000));
        assert_eq!(h.epoch(), 1);
        // An older change is not taken.
        assert!(!h.apply(Mark {
            cooldown_until: 0,
            open_until: 0,
            stamp: 50
        }));
        // A local change after it wins over an older shared one.
        h.record(Outcome::Failed, false, 300);
        assert_eq!(h.standing(300), Standing::CoolingDown(5000));
        assert!(h.apply(Mark {
            cooldown_until: 0,
            open_until: 900,
            stamp: 400
        }));
        assert_eq!(h.standing(500), Standing::CircuitOpen(900));
        assert_eq!(h.standing(900), Standing::HalfOpen);
    }
}
