//! How async results reach an asyncio event loop.
//!
//! Each event loop has one `Completions` (see `mws_gateway/_aio.py`): a queue of
//! finished results and a socket pair the loop watches with `add_reader`. A task
//! on the tokio runtime pushes its result and, when the queue was empty, writes
//! one byte; the loop's reader callback then drains the queue and resolves the
//! waiting futures. So the runtime's threads never wait for the GIL (results
//! become Python objects on the loop's own thread, in batches), and a cancelled
//! asyncio task aborts its tokio task through `Task.cancel`.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, PoisonError};

use pyo3::prelude::*;
use serde_json::Value;
use tokio::task::AbortHandle;

use crate::convert::to_py;
use crate::errors::{self, CallError};
use crate::runtime::runtime;
use crate::stream::Stream;

/// What a finished task hands to the loop.
pub enum Outcome {
    Json(Result<Value, CallError>),
    Stream(Result<Stream, CallError>),
    /// The next event of a stream; `None` when it ended.
    Event(Result<Option<Value>, CallError>),
    /// Done, with nothing to return (a close).
    Done,
}

struct Shared {
    queue: Mutex<Vec<(u64, Outcome)>>,
    wake_tx: UnixStream,
    wake_rx: UnixStream,
}

impl Shared {
    fn complete(&self, token: u64, outcome: Outcome) {
        let was_empty = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            let was_empty = queue.is_empty();
            queue.push((token, outcome));
            was_empty
        };
        // One byte per batch; a full socket buffer already means a wake-up is due.
        if was_empty {
            let _ = (&self.wake_tx).write(&[1]);
        }
    }
}

#[pyclass(module = "mws_gateway._native", frozen)]
pub struct Completions {
    shared: Arc<Shared>,
}

#[pymethods]
impl Completions {
    #[new]
    fn new() -> PyResult<Self> {
        let (wake_tx, wake_rx) = UnixStream::pair()?;
        wake_tx.set_nonblocking(true)?;
        wake_rx.set_nonblocking(true)?;
        Ok(Completions {
            shared: Arc::new(Shared {
                queue: Mutex::new(Vec::new()),
                wake_tx,
                wake_rx,
            }),
        })
    }

    /// The descriptor the event loop watches for readability.
    fn fileno(&self) -> i32 {
        self.shared.wake_rx.as_raw_fd()
    }

    /// The finished results as `(token, ok, value)`: the value, or the exception
    /// to raise when `ok` is false.
    fn drain(&self, py: Python<'_>) -> Vec<(u64, bool, Py<PyAny>)> {
        // Wake-up bytes first, then the queue: a result pushed in between writes
        // a new byte, so none is left behind without a wake-up.
        let mut buf = [0u8; 64];
        while matches!((&self.shared.wake_rx).read(&mut buf), Ok(n) if n > 0) {}
        let done = std::mem::take(
            &mut *self
                .shared
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        done.into_iter()
            .map(|(token, outcome)| {
                // A result that fails to convert fails its own future, not the batch.
                let (ok, value) = match to_python(py, outcome) {
                    Ok(v) => v,
                    Err(e) => (false, e.into_value(py).into_bound(py).into_any()),
                };
                (token, ok, value.unbind())
            })
            .collect()
    }
}

/// `(ok, value)`: the result, or the exception to raise.
fn to_python(py: Python<'_>, outcome: Outcome) -> PyResult<(bool, Bound<'_, PyAny>)> {
    Ok(match outcome {
        Outcome::Json(Ok(v)) | Outcome::Event(Ok(Some(v))) => (true, to_py(py, &v)?),
        Outcome::Event(Ok(None)) | Outcome::Done => (true, py.None().into_bound(py)),
        Outcome::Stream(Ok(s)) => (true, Bound::new(py, s)?.into_any()),
        Outcome::Json(Err(e)) | Outcome::Stream(Err(e)) | Outcome::Event(Err(e)) => {
            (false, e.to_exception(py)?)
        }
    })
}

/// A task on the runtime; `cancel` aborts it (the asyncio task awaiting it was cancelled).
#[pyclass(module = "mws_gateway._native", frozen)]
pub struct Task(AbortHandle);

#[pymethods]
impl Task {
    fn cancel(&self) {
        self.0.abort();
    }
}

/// Runs `work` on the runtime and hands its outcome to `completions` under `token`.
pub fn spawn<F>(py: Python<'_>, completions: &Completions, token: u64, work: F) -> PyResult<Task>
where
    F: std::future::Future<Output = Outcome> + Send + 'static,
{
    let rt =
        runtime().map_err(|e| errors::internal(py, format!("cannot start the runtime: {e}")))?;
    let shared = Arc::clone(&completions.shared);
    let handle = rt.spawn(async move {
        let outcome = work.await;
        shared.complete(token, outcome);
    });
    Ok(Task(handle.abort_handle()))
}
