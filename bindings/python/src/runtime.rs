//! The module's tokio runtime and the fork rule.
//!
//! One multi-thread runtime per process, created on first use and shared by every
//! gateway. A child made by `os.fork()` has none of its parent's threads, so the
//! parent's runtime is dead there: the child builds its own on first use, and the
//! objects made in the parent (whose tasks, connections and locks belong to the
//! dead runtime) refuse to work and are leaked rather than dropped.
#![expect(
    unsafe_code,
    reason = "the runtime is a leaked Box behind an AtomicPtr, swapped after a fork"
)]

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use tokio::runtime::Runtime;

/// A runtime with the process that built it.
struct Current {
    pid: u32,
    runtime: Runtime,
}

/// Points at a leaked `Current`; never freed, so a reference to it is `'static`.
static CURRENT: AtomicPtr<Current> = AtomicPtr::new(ptr::null_mut());

/// This process's runtime, built on first use (and first use after a fork).
pub fn runtime() -> std::io::Result<&'static Runtime> {
    let pid = std::process::id();
    loop {
        let seen = CURRENT.load(Ordering::Acquire);
        // SAFETY: CURRENT only ever holds null or a pointer from `Box::into_raw`
        // that is never freed, so it is valid for the rest of the process.
        if let Some(current) = unsafe { seen.as_ref() } {
            if current.pid == pid {
                return Ok(&current.runtime);
            }
        }
        let fresh = Box::new(Current {
            pid,
            runtime: build()?,
        });
        let fresh = Box::into_raw(fresh);
        match CURRENT.compare_exchange(seen, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // The parent's runtime, if any, stays leaked: its threads are gone and
            // dropping it would wait for them.
            Ok(_) => continue,
            Err(_) => {
                // Another thread installed one first: use that, discard ours.
                // SAFETY: `fresh` came from `Box::into_raw` above and was never shared.
                let lost = unsafe { Box::from_raw(fresh) };
                lost.runtime.shutdown_background();
            }
        }
    }
}

fn build() -> std::io::Result<Runtime> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("mws-gateway")
        .enable_all()
        .build()
}

/// A core object tied to the process that made it. Used after a fork it is
/// refused; dropped in another process it is leaked. Dropped in its own process
/// it is dropped inside the runtime, since the core may spawn clean-up work
/// (giving back a stream's credit reservation) when its objects go away.
pub struct ProcessBound<T> {
    pid: u32,
    value: Option<T>,
}

impl<T> ProcessBound<T> {
    pub fn new(value: T) -> Self {
        ProcessBound {
            pid: std::process::id(),
            value: Some(value),
        }
    }

    /// The value, or the pid of the process that made it when this is another.
    pub fn get(&self) -> Result<&T, Forked> {
        match &self.value {
            Some(v) if self.pid == std::process::id() => Ok(v),
            _ => Err(Forked { pid: self.pid }),
        }
    }
}

impl<T> Drop for ProcessBound<T> {
    fn drop(&mut self) {
        let Some(value) = self.value.take() else {
            return;
        };
        if self.pid != std::process::id() {
            std::mem::forget(value);
            return;
        }
        let _entered = runtime().ok().map(Runtime::enter);
        drop(value);
    }
}

/// An object made before `os.fork()` used in the child.
#[derive(Debug, Clone, Copy)]
pub struct Forked {
    pub pid: u32,
}
