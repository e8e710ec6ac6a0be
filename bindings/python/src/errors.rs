//! The core's errors as the Python exceptions of `mws_gateway._errors`: one class
//! per `ErrorKind`, mapped here and nowhere else.

use mws_core::egress;
use mws_core::Shape;
use mws_core::{Error, ErrorKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};

use crate::runtime::Forked;

/// A core error with the API shape it is reported in (Anthropic for messages and
/// count_tokens, OpenAI for the rest and for admin operations).
#[derive(Debug)]
pub struct CallError {
    pub error: Error,
    pub shape: Shape,
}

impl CallError {
    pub fn new(error: Error, shape: Shape) -> Self {
        CallError { error, shape }
    }

    /// The exception instance, for a future to be failed with.
    pub fn to_exception<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let e = &self.error;
        let type_ = egress::error_type(self.shape, e.kind());
        exception(
            py,
            class_name(e.kind()),
            e.message(),
            e.http_status(),
            type_,
            e.param(),
        )
    }

    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self.to_exception(py) {
            Ok(instance) => PyErr::from_value(instance),
            Err(e) => e,
        }
    }
}

fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidRequest => "BadRequestError",
        ErrorKind::Authentication => "AuthenticationError",
        ErrorKind::InsufficientCredits => "InsufficientCreditsError",
        ErrorKind::PermissionDenied => "PermissionDeniedError",
        ErrorKind::NotFound => "NotFoundError",
        ErrorKind::MethodNotAllowed => "MethodNotAllowedError",
        ErrorKind::PayloadTooLarge => "PayloadTooLargeError",
        ErrorKind::RateLimited => "RateLimitError",
        ErrorKind::Internal => "InternalServerError",
        ErrorKind::Upstream => "UpstreamError",
        ErrorKind::Overloaded => "OverloadedError",
        ErrorKind::Timeout => "GatewayTimeoutError",
    }
}

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn exception<'py>(
    py: Python<'py>,
    class: &str,
    message: &str,
    status: u16,
    type_: &str,
    param: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let module = ERRORS.get_or_try_init(py, || {
        PyModule::import(py, "mws_gateway._errors").map(Bound::unbind)
    })?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("status", status)?;
    kwargs.set_item("type", type_)?;
    kwargs.set_item("param", param)?;
    module
        .bind(py)
        .getattr(class)?
        .call((message,), Some(&kwargs))
}

/// `MwsError` for an object made before `os.fork()` and used in the child.
pub fn forked(py: Python<'_>, what: &str, f: Forked) -> PyErr {
    let message = format!(
        "this {what} was created in process {} and cannot be used after os.fork() \
         (this is process {}); create a new Gateway in this process",
        f.pid,
        std::process::id()
    );
    match exception(py, "MwsError", &message, 500, "process_forked", None) {
        Ok(instance) => PyErr::from_value(instance),
        Err(e) => e,
    }
}

/// `InternalServerError` for a failure of the binding itself (say, no runtime).
pub fn internal(py: Python<'_>, message: impl Into<String>) -> PyErr {
    CallError::new(Error::internal(message), Shape::OpenAi).into_pyerr(py)
}

/// The exception this module raises for the error kind named `kind` (as the
/// core's logs name it, say "rate_limited") in `shape` ("anthropic" or
/// "openai"). For the tests of the mapping: some kinds (403, 405) never arise
/// in-process.
#[pyfunction]
#[pyo3(signature = (kind, shape, message, param=None))]
pub fn exception_for_kind<'py>(
    py: Python<'py>,
    kind: &str,
    shape: &str,
    message: &str,
    param: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let kind = ErrorKind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind)
        .ok_or_else(|| PyValueError::new_err(format!("unknown error kind {kind:?}")))?;
    let shape = match shape {
        "anthropic" => Shape::Anthropic,
        "openai" => Shape::OpenAi,
        other => return Err(PyValueError::new_err(format!("unknown shape {other:?}"))),
    };
    let mut error = Error::new(kind, message);
    if let Some(p) = param {
        error = error.with_param(p);
    }
    CallError::new(error, shape).to_exception(py)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind raises its own class, and `_errors.py` documents that class
    /// with the kind's HTTP status (`"""429: ..."""`).
    #[test]
    fn every_kind_maps_to_a_distinct_class_documented_with_its_http_status() {
        let module = include_str!("../python/mws_gateway/_errors.py");
        let mut seen = Vec::new();
        for kind in ErrorKind::ALL {
            let class = class_name(kind);
            assert!(!seen.contains(&class), "{kind:?} shares {class}");
            seen.push(class);
            let header = format!("class {class}(MwsError):\n    \"\"\"");
            let at = module
                .find(&header)
                .unwrap_or_else(|| panic!("{class} is not an MwsError in _errors.py"));
            let doc = &module[at + header.len()..];
            let want = format!("{}:", kind.http_status());
            assert!(
                doc.starts_with(&want),
                "{class} is documented as {:?}",
                &doc[..doc.len().min(40)]
            );
        }
    }
}
