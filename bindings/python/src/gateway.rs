//! `_native.Gateway`: the core gateway behind `mws_gateway.Gateway` and
//! `AsyncGateway`. Sync methods release the GIL while the core works; `*_async`
//! methods run on the runtime and report to a `Completions`.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use mws_core::Shape;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde_json::{Map, Value};

use crate::completions::{spawn, Completions, Outcome, Task};
use crate::convert::{to_json, to_py};
use crate::errors::{self, CallError};
use crate::ops;
use crate::runtime::{runtime, ProcessBound};
use crate::server::Server;
use crate::stream::Stream;

#[pyclass(module = "mws_gateway._native", frozen)]
pub struct Gateway {
    inner: ProcessBound<mws_core::Gateway>,
}

fn rt(py: Python<'_>) -> PyResult<&'static tokio::runtime::Runtime> {
    runtime().map_err(|e| errors::internal(py, format!("cannot start the runtime: {e}")))
}

/// The request body as JSON; none (for model listings) is an empty object.
fn body_json(body: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
    body.map_or(Ok(Value::Object(Map::new())), to_json)
}

fn json_result(py: Python<'_>, out: Result<Value, CallError>) -> PyResult<Py<PyAny>> {
    match out {
        Ok(v) => Ok(to_py(py, &v)?.unbind()),
        Err(e) => Err(e.into_pyerr(py)),
    }
}

impl Gateway {
    /// A clone of the core gateway (cheap: clones share state), for a task to own.
    fn core(&self, py: Python<'_>) -> PyResult<mws_core::Gateway> {
        self.inner
            .get()
            .cloned()
            .map_err(|f| errors::forked(py, "Gateway", f))
    }
}

#[pymethods]
impl Gateway {
    #[new]
    #[pyo3(signature = (config_path=None, config_toml=None))]
    fn new(
        py: Python<'_>,
        config_path: Option<PathBuf>,
        config_toml: Option<String>,
    ) -> PyResult<Self> {
        if config_path.is_some() && config_toml.is_some() {
            return Err(PyValueError::new_err(
                "pass config_path or config_toml, not both",
            ));
        }
        let rt = rt(py)?;
        // Opening a store may start work on the runtime, so build inside it.
        let built = py.detach(|| {
            let _entered = rt.enter();
            match (config_path, config_toml) {
                (Some(path), _) => mws_core::Gateway::from_path(path),
                (None, Some(text)) => mws_core::Gateway::from_toml_str(&text),
                (None, None) => mws_core::Gateway::builtin(),
            }
        });
        match built {
            Ok(gw) => Ok(Gateway {
                inner: ProcessBound::new(gw),
            }),
            Err(e) => Err(CallError::new(e, Shape::OpenAi).into_pyerr(py)),
        }
    }

    #[pyo3(signature = (endpoint, body=None, api_key=None, id=None))]
    fn call(
        &self,
        py: Python<'_>,
        endpoint: &str,
        body: Option<&Bound<'_, PyAny>>,
        api_key: Option<String>,
        id: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let gw = self.core(py)?;
        let endpoint = ops::endpoint(endpoint, id)?;
        let body = body_json(body)?;
        let rt = rt(py)?;
        let out = py.detach(|| rt.block_on(ops::call(&gw, endpoint, &body, api_key.as_deref())));
        json_result(py, out)
    }

    #[pyo3(signature = (endpoint, body, api_key=None))]
    fn stream(
        &self,
        py: Python<'_>,
        endpoint: &str,
        body: &Bound<'_, PyAny>,
        api_key: Option<String>,
    ) -> PyResult<Stream> {
        let gw = self.core(py)?;
        let endpoint = ops::endpoint(endpoint, None)?;
        let shape = ops::shape(&endpoint);
        let body = to_json(body)?;
        let rt = rt(py)?;
        let out = py.detach(|| rt.block_on(ops::stream(&gw, endpoint, &body, api_key.as_deref())));
        match out {
            Ok(s) => Ok(Stream::new(s, shape)),
            Err(e) => Err(e.into_pyerr(py)),
        }
    }

    #[pyo3(signature = (op, id=None, body=None))]
    fn admin(
        &self,
        py: Python<'_>,
        op: &str,
        id: Option<String>,
        body: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let gw = self.core(py)?;
        let op = ops::admin_op(op)?;
        let body = body_json(body)?;
        let id = id.unwrap_or_default();
        let rt = rt(py)?;
        let out = py.detach(|| rt.block_on(ops::admin(&gw, op, &id, &body)));
        json_result(py, out)
    }

    #[pyo3(signature = (completions, token, endpoint, body=None, api_key=None, id=None))]
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the Python call: body, key, model id"
    )]
    fn call_async(
        &self,
        py: Python<'_>,
        completions: &Completions,
        token: u64,
        endpoint: &str,
        body: Option<&Bound<'_, PyAny>>,
        api_key: Option<String>,
        id: Option<String>,
    ) -> PyResult<Task> {
        let gw = self.core(py)?;
        let endpoint = ops::endpoint(endpoint, id)?;
        let body = body_json(body)?;
        spawn(py, completions, token, async move {
            Outcome::Json(ops::call(&gw, endpoint, &body, api_key.as_deref()).await)
        })
    }

    #[pyo3(signature = (completions, token, endpoint, body, api_key=None))]
    fn stream_async(
        &self,
        py: Python<'_>,
        completions: &Completions,
        token: u64,
        endpoint: &str,
        body: &Bound<'_, PyAny>,
        api_key: Option<String>,
    ) -> PyResult<Task> {
        let gw = self.core(py)?;
        let endpoint = ops::endpoint(endpoint, None)?;
        let shape = ops::shape(&endpoint);
        let body = to_json(body)?;
        spawn(py, completions, token, async move {
            let out = ops::stream(&gw, endpoint, &body, api_key.as_deref()).await;
            Outcome::Stream(out.map(|s| Stream::new(s, shape)))
        })
    }

    #[pyo3(signature = (completions, token, op, id=None, body=None))]
    fn admin_async(
        &self,
        py: Python<'_>,
        completions: &Completions,
        token: u64,
        op: &str,
        id: Option<String>,
        body: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Task> {
        let gw = self.core(py)?;
        let op = ops::admin_op(op)?;
        let body = body_json(body)?;
        let id = id.unwrap_or_default();
        spawn(py, completions, token, async move {
            Outcome::Json(ops::admin(&gw, op, &id, &body).await)
        })
    }

    /// Serves the HTTP API on `address` ("host:port"; port 0 picks a free one).
    fn serve(&self, py: Python<'_>, address: &str) -> PyResult<Server> {
        let gw = self.core(py)?;
        let rt = rt(py)?;
        let addr = py
            .detach(|| resolve(address))
            .map_err(PyValueError::new_err)?;
        let handle = py.detach(|| rt.block_on(gw.serve(addr)));
        match handle {
            Ok(h) => Ok(Server::new(h)),
            Err(e) => Err(CallError::new(e, Shape::OpenAi).into_pyerr(py)),
        }
    }
}

fn resolve(address: &str) -> Result<SocketAddr, String> {
    let invalid = |detail: String| {
        format!("expected an address such as 127.0.0.1:0, got {address:?}{detail}")
    };
    address
        .to_socket_addrs()
        .map_err(|e| invalid(format!(": {e}")))?
        .next()
        .ok_or_else(|| invalid(String::new()))
}
