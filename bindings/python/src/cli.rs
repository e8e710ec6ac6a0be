//! The `mws-gateway` console script: the same command line as the Rust binary
//! (`core/src/bin/mws-gateway.rs`), run on this module's runtime.

use std::io::{IsTerminal, Write};

use clap::Parser;
use mws_core::cli::{run, Cli};
use pyo3::prelude::*;

use crate::runtime::runtime;

/// Runs the command line `argv` (program name first) and returns the exit code.
#[pyfunction]
pub fn run_cli(py: Python<'_>, argv: Vec<String>) -> i32 {
    // The binary's logging: to stderr, `RUST_LOG` or info. A host that set its
    // own subscriber keeps it.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0, usage errors to stderr with 2.
            let _ = e.print();
            return e.exit_code();
        }
    };
    let outcome = py.detach(|| match runtime() {
        Ok(rt) => rt.block_on(run(cli)),
        Err(e) => Err(mws_core::Error::internal(format!(
            "cannot start the runtime: {e}"
        ))),
    });
    match outcome {
        Ok(()) => 0,
        Err(e) => {
            // The admin API's error JSON, as the binary prints it.
            let body = mws_core::egress::error_body(mws_core::Shape::OpenAi, &e);
            let _ = writeln!(std::io::stderr(), "{body}");
            1
        }
    }
}
