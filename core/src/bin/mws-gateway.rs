//! The `mws-gateway` binary: parses the command line and runs it.

use std::io::{IsTerminal, Write};

use clap::Parser;
use mws_core::cli::{run, Cli};

// Requests allocate many small, short-lived buffers: mimalloc serves them with
// about a quarter less CPU than the system allocator (bench/src/accounting.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    // On one core a single-threaded runtime avoids waking a second scheduler
    // thread for every I/O event; with more, one worker per core.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = if cores == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores)
            .enable_all()
            .build()
    };
    let outcome = match runtime {
        Ok(rt) => rt.block_on(run(Cli::parse())),
        Err(e) => Err(mws_core::Error::internal(format!(
            "cannot start the runtime: {e}"
        ))),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The admin API's error JSON, so scripts read failures the same way.
            let body = mws_core::egress::error_body(mws_core::Shape::OpenAi, &e);
            let _ = writeln!(std::io::stderr(), "{body}");
            std::process::ExitCode::FAILURE
        }
    }
}
