//! `mws_gateway._native`: the MWS gateway core as a Python extension module.
//! The public API is the pure-Python package around it (`python/mws_gateway`).

mod cli;
mod completions;
mod convert;
mod errors;
mod gateway;
mod ops;
mod runtime;
mod server;
mod stream;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<gateway::Gateway>()?;
    m.add_class::<stream::Stream>()?;
    m.add_class::<server::Server>()?;
    m.add_class::<completions::Completions>()?;
    m.add_class::<completions::Task>()?;
    m.add_function(wrap_pyfunction!(cli::run_cli, m)?)?;
    m.add_function(wrap_pyfunction!(errors::exception_for_kind, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
