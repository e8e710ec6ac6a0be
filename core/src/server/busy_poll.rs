//! Busy polling (`server.busy_poll_us`): after a request arrives and after its
//! answer is handed to hyper, the runtime keeps polling its sockets for a
//! little while instead of going to sleep. An event that follows closely (a
//! fast upstream's answer, the client's next request on a keep-alive
//! connection) is then taken at once; a sleeping thread would first have to
//! be woken, and on a virtual machine an idle CPU is halted and given back to
//! the host, so that wake costs tens of microseconds and finds cold caches.
//! Polling costs CPU only within the window after each event: an idle gateway
//! sleeps, and under load the task is run only when nothing else is ready.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

#[derive(Debug)]
pub struct BusyPoll {
    window: Duration,
    epoch: Instant,
    /// Nanoseconds after `epoch` of the last event.
    last: AtomicU64,
    wake: Notify,
}

impl BusyPoll {
    /// `None` when the window is zero (off).
    pub fn new(window: Duration) -> Option<Arc<Self>> {
        (!window.is_zero()).then(|| {
            Arc::new(BusyPoll {
                window,
                epoch: Instant::now(),
                last: AtomicU64::new(0),
                wake: Notify::new(),
            })
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// An event: poll for the window from now on.
    pub fn touch(&self) {
        self.last.store(self.now(), Ordering::Relaxed);
        self.wake.notify_one();
    }

    fn within_window(&self) -> bool {
        let since = self.now().saturating_sub(self.last.load(Ordering::Relaxed));
        Duration::from_nanos(since) < self.window
    }

    /// Runs until aborted: each yield lets the runtime poll its sockets
    /// without blocking (tokio runs deferred tasks after a non-blocking poll
    /// of its driver once no other task is ready).
    pub async fn run(self: Arc<Self>) {
        loop {
            self.wake.notified().await;
            while self.within_window() {
                tokio::task::yield_now().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn polls_within_the_window_and_sleeps_after_it() {
        let poll = BusyPoll::new(Duration::from_millis(50)).unwrap();
        let task = tokio::spawn(poll.clone().run());
        poll.touch();
        assert!(poll.within_window());
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(!poll.within_window());
        // Once the window is over the task waits for the next event: the
        // runtime is idle and a zero window means no poller at all.
        assert!(BusyPoll::new(Duration::ZERO).is_none());
        task.abort();
    }
}
