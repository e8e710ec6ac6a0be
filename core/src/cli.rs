//! The `mws-gateway` command line: `serve`, over a config file or the built-in default.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::{Config, Error, Gateway, Result};

#[derive(Debug, Parser)]
#[command(
    name = "mws-gateway",
    version,
    about = "MWS gateway: Anthropic and OpenAI APIs in front of any upstream"
)]
pub struct Cli {
    /// TOML configuration file; without one, the built-in Dragon catalogue on the echo upstream.
    #[arg(long, global = true, env = "MWS_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API until SIGINT or SIGTERM, then drain streams in flight.
    Serve {
        /// Address to listen on, overriding `server.listen` (port 0 picks a free port).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
}

pub fn load_config(path: Option<&PathBuf>) -> Result<Config> {
    match path {
        Some(p) => Config::from_path(p),
        None => Ok(Config::default()),
    }
}

/// Runs the parsed command line to completion.
pub async fn run(cli: Cli) -> Result<()> {
    let config = load_config(cli.config.as_ref())?;
    match cli.command {
        Command::Serve { listen } => {
            let addr = match listen {
                Some(a) => a,
                None => config
                    .server
                    .listen
                    .parse()
                    .map_err(|e| Error::invalid(format!("server.listen: {e}")))?,
            };
            let gateway = Gateway::new(config)?;
            let handle = gateway.serve(addr).await?;
            // Scripts and tests read the bound address from this line.
            tracing::info!("mws-gateway listening on http://{}", handle.addr());
            shutdown_signal().await;
            tracing::info!("shutting down; draining requests in flight");
            handle.shutdown().await;
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
