//! `_native.Server`: a running HTTP server with its bound address and a graceful
//! stop (requests and streams in flight finish, up to the configured grace).

use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};

use mws_core::ServeHandle;
use pyo3::prelude::*;

use crate::completions::{spawn, Completions, Outcome, Task};
use crate::errors;
use crate::runtime::{runtime, ProcessBound};

#[pyclass(module = "mws_gateway._native", frozen)]
pub struct Server {
    addr: SocketAddr,
    /// `None` once stopped.
    handle: ProcessBound<Mutex<Option<ServeHandle>>>,
}

impl Server {
    pub fn new(handle: ServeHandle) -> Self {
        Server {
            addr: handle.addr(),
            handle: ProcessBound::new(Mutex::new(Some(handle))),
        }
    }

    /// Takes the handle to stop; none when stopped already or made before a fork
    /// (the child has no server to stop).
    fn take(&self) -> Option<ServeHandle> {
        self.handle
            .get()
            .ok()?
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

#[pymethods]
impl Server {
    /// The bound address as `host:port`.
    #[getter]
    fn address(&self) -> String {
        self.addr.to_string()
    }

    #[getter]
    fn port(&self) -> u16 {
        self.addr.port()
    }

    #[getter]
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    #[getter]
    fn closed(&self) -> bool {
        self.handle.get().map_or(true, |h| {
            h.lock().unwrap_or_else(PoisonError::into_inner).is_none()
        })
    }

    /// Stops accepting, lets requests in flight finish, then returns. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let Some(handle) = self.take() else {
            return Ok(());
        };
        let rt = runtime().map_err(|e| errors::internal(py, e.to_string()))?;
        py.detach(|| rt.block_on(handle.shutdown()));
        Ok(())
    }

    fn close_async(&self, py: Python<'_>, completions: &Completions, token: u64) -> PyResult<Task> {
        let handle = self.take();
        spawn(py, completions, token, async move {
            if let Some(h) = handle {
                h.shutdown().await;
            }
            Outcome::Done
        })
    }
}
