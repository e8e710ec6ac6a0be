//! A streamed answer: its events one at a time, to a Python iterator (`next`,
//! with the GIL released while waiting) or to an async iterator (`next_async`).
//! Closing it, or dropping the last reference, drops the core's stream, which
//! cancels the upstream request.

use std::sync::Arc;

use futures::stream::BoxStream;
use futures::StreamExt;
use mws_core::Shape;
use pyo3::prelude::*;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::completions::{spawn, Completions, Outcome, Task};
use crate::convert::to_py;
use crate::errors::{self, CallError};
use crate::runtime::{runtime, ProcessBound};

pub type CoreStream = BoxStream<'static, mws_core::Result<Value>>;

/// Shared with the tasks that wait on it; `None` once ended or closed.
type Slot = Arc<Mutex<Option<CoreStream>>>;

#[pyclass(module = "mws_gateway._native", frozen)]
pub struct Stream {
    slot: ProcessBound<Slot>,
    shape: Shape,
}

impl Stream {
    pub fn new(stream: CoreStream, shape: Shape) -> Self {
        Stream {
            slot: ProcessBound::new(Arc::new(Mutex::new(Some(stream)))),
            shape,
        }
    }

    fn slot(&self, py: Python<'_>) -> PyResult<Slot> {
        self.slot
            .get()
            .map(Arc::clone)
            .map_err(|f| errors::forked(py, "stream", f))
    }
}

#[pymethods]
impl Stream {
    /// The next event, or None when the stream has ended (or was closed).
    fn next(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let slot = self.slot(py)?;
        let rt = runtime().map_err(|e| errors::internal(py, e.to_string()))?;
        match py.detach(|| rt.block_on(next_event(&slot))) {
            Ok(Some(v)) => Ok(Some(to_py(py, &v)?.unbind())),
            Ok(None) => Ok(None),
            Err(e) => Err(CallError::new(e, self.shape).into_pyerr(py)),
        }
    }

    fn next_async(&self, py: Python<'_>, completions: &Completions, token: u64) -> PyResult<Task> {
        let slot = self.slot(py)?;
        let shape = self.shape;
        spawn(py, completions, token, async move {
            let next = next_event(&slot).await;
            Outcome::Event(next.map_err(|e| CallError::new(e, shape)))
        })
    }

    /// Drops the core's stream (waiting for a `next` in flight on another thread).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        // A stream from before a fork has nothing to stop in this process.
        let Ok(slot) = self.slot.get() else {
            return Ok(());
        };
        let rt = runtime().map_err(|e| errors::internal(py, e.to_string()))?;
        py.detach(|| rt.block_on(close(slot)));
        Ok(())
    }

    fn close_async(&self, py: Python<'_>, completions: &Completions, token: u64) -> PyResult<Task> {
        let slot = self.slot(py)?;
        spawn(py, completions, token, async move {
            close(&slot).await;
            Outcome::Done
        })
    }
}

async fn next_event(slot: &Mutex<Option<CoreStream>>) -> mws_core::Result<Option<Value>> {
    let mut guard = slot.lock().await;
    let Some(stream) = guard.as_mut() else {
        return Ok(None);
    };
    let next = stream.next().await;
    if !matches!(next, Some(Ok(_))) {
        // Ended (or broken): let it go now rather than when Python collects it.
        *guard = None;
    }
    next.transpose()
}

async fn close(slot: &Mutex<Option<CoreStream>>) {
    let stream = slot.lock().await.take();
    drop(stream);
}
