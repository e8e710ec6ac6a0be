//! `NativeStream`: one streamed answer, pulled event by event from JS.
//! Dropping the core stream (close, end, or garbage collection) cancels the
//! upstream request.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use mws_core::Shape;
use napi_derive::napi;
use serde_json::Value;
use tokio::runtime::Handle;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::errors::Outcome;

pub type Events = Pin<Box<dyn Stream<Item = mws_core::Result<Value>> + Send>>;

#[napi]
pub struct NativeStream {
    events: Mutex<Option<Events>>,
    shape: Shape,
    /// Cancels a `next()` in flight when the stream is closed.
    closed: CancellationToken,
    /// The runtime the stream was made on, where it must also be dropped.
    runtime: Handle,
}

impl NativeStream {
    /// Must be called on the runtime (from an async call).
    pub fn new(events: Events, shape: Shape) -> Self {
        NativeStream {
            events: Mutex::new(Some(events)),
            shape,
            closed: CancellationToken::new(),
            runtime: Handle::current(),
        }
    }
}

#[napi]
impl NativeStream {
    /// The next event as JSON text; an outcome with neither field once the
    /// stream is over or closed.
    #[napi(catch_unwind)]
    pub async fn next(&self) -> Outcome {
        let mut slot = self.events.lock().await;
        let Some(events) = slot.as_mut() else {
            return Outcome::end();
        };
        let item = tokio::select! {
            biased;
            () = self.closed.cancelled() => None,
            item = events.next() => item,
        };
        match item {
            Some(Ok(event)) => Outcome::new(Ok(event), self.shape),
            other => {
                // Over, closed or failed: release the core stream now.
                *slot = None;
                match other {
                    Some(Err(e)) => Outcome::failed(&e, self.shape),
                    _ => Outcome::end(),
                }
            }
        }
    }

    /// Stops the stream now, a `next()` in flight included; later `next()`
    /// calls report the end.
    #[napi(catch_unwind)]
    pub async fn close(&self) {
        self.closed.cancel();
        self.events.lock().await.take();
    }
}

impl Drop for NativeStream {
    fn drop(&mut self) {
        // Collected unfinished, on the JS thread: drop the core stream inside
        // the runtime, so the metering of a stream cut short can still settle.
        if let Some(events) = self.events.get_mut().take() {
            let _entered = self.runtime.enter();
            drop(events);
        }
    }
}
