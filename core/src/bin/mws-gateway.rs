//! The `mws-gateway` binary: parses the command line and runs it.

use std::io::{IsTerminal, Write};

use clap::Parser;
use mws_core::cli::{run, Cli};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The admin API's error JSON, so scripts read failures the same way.
            let body = mws_core::egress::openai::error_body(&e);
            let _ = writeln!(std::io::stderr(), "{body}");
            std::process::ExitCode::FAILURE
        }
    }
}
