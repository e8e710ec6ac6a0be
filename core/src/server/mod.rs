//! The HTTP server: `serve(addr)` gives a handle with the bound address and a
//! graceful `shutdown` that drains streams in flight.

mod admin;
mod dashboard;
mod extract;
mod ops;
mod routes;

use std::net::SocketAddr;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{Error, ErrorKind, Gateway, Result};

/// A running server.
#[derive(Debug)]
pub struct ServeHandle {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    grace: Duration,
}

impl ServeHandle {
    /// The address actually bound (port 0 resolved).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, waits for requests and streams in flight (up to the
    /// configured grace period), then returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let abort = self.task.abort_handle();
        if tokio::time::timeout(self.grace, self.task).await.is_err() {
            tracing::warn!("shutdown grace period over; closing remaining connections");
            abort.abort();
        }
    }
}

pub(crate) async fn serve(gateway: Gateway, addr: SocketAddr) -> Result<ServeHandle> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot listen on {addr}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::internal(format!("cannot read the bound address: {e}")))?;
    let grace = Duration::from_secs(gateway.config().server.shutdown_grace_secs);
    let app = routes::router(gateway);
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        // Stream events are small writes: without TCP_NODELAY, Nagle's algorithm
        // holds each one back for the client's delayed ACK (about 40 ms).
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        if let Err(e) = axum::serve(listener, service)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "server stopped");
        }
    });
    tracing::info!(%addr, "listening");
    Ok(ServeHandle {
        addr,
        stop,
        task,
        grace,
    })
}
