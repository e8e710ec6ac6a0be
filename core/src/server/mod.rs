//! The HTTP server: `serve(addr)` gives a handle with the bound address and a
//! graceful `shutdown` that drains streams in flight.

mod admin;
mod busy_poll;
mod coalesce;
mod cors;
mod dashboard;
mod extract;
mod guard;
mod ops;
mod reply;
mod routes;
mod stall;
mod websocket;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use crate::state::Shared;
use crate::{Error, ErrorKind, Result};

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

/// What each connection is held to, from `[server]`.
#[derive(Debug, Clone, Copy)]
struct Edge {
    header_timeout: Duration,
    header_buffer: usize,
    write_timeout: Duration,
    busy_poll: Duration,
}

pub(crate) async fn serve(gateway: Shared, addr: SocketAddr) -> Result<ServeHandle> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot listen on {addr}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::internal(format!("cannot read the bound address: {e}")))?;
    let server = &gateway.config.server;
    let grace = Duration::from_secs(server.shutdown_grace_secs);
    // Slow clients cannot hold connections open for free.
    let edge = Edge {
        header_timeout: Duration::from_secs_f64(server.header_timeout_secs),
        header_buffer: server.header_buffer_bytes(),
        write_timeout: Duration::from_secs_f64(server.write_timeout_secs),
        busy_poll: Duration::from_micros(server.busy_poll_us),
    };
    let app = routes::router(gateway);
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, app, edge, stopped));
    tracing::info!(%addr, "listening");
    Ok(ServeHandle {
        addr,
        stop,
        task,
        grace,
    })
}

/// A timer that fires every second and does nothing. tokio wakes its own
/// driver (an eventfd write and an extra epoll round) whenever a new timer is
/// due before every pending one; hyper arms a fresh header deadline after each
/// keep-alive response, so without an earlier timer always pending, every
/// request paid that wake.
async fn heartbeat() {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
    }
}

/// hyper's server directly (rather than `axum::serve`) for what the edge needs:
/// a deadline for request headers (which also closes keep-alive connections
/// idle between requests), a cap on their size, and a deadline for a client
/// that stops taking the response.
///
/// HTTP/1.1 (and 1.0) only: LLM clients speak it (h2 would need TLS to be
/// negotiated), and cleartext h2 would escape the header deadline.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    edge: Edge,
    mut stopped: watch::Receiver<bool>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(edge.header_timeout)
        .max_buf_size(edge.header_buffer);
    // Each connection holds a sender; once all are dropped the drain is over.
    let (open, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
    // Helper tasks, aborted when this set is dropped with the accept loop.
    let mut helpers = JoinSet::new();
    helpers.spawn(heartbeat());
    let busy_poll = busy_poll::BusyPoll::new(edge.busy_poll);
    if let Some(p) = &busy_poll {
        helpers.spawn(p.clone().run());
    }
    let stop_conns = stopped.clone();
    let stop = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // Stream events are small writes: without TCP_NODELAY, Nagle's algorithm
        // holds each one back for the client's delayed ACK (about 40 ms).
        let _ = tcp.set_nodelay(true);
        let (arrived, answered) = (busy_poll.clone(), busy_poll.clone());
        let service = app
            .clone()
            .map_request(move |mut req: Request<Incoming>| {
                if let Some(p) = &arrived {
                    p.touch();
                }
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            })
            .map_response(move |resp| {
                if let Some(p) = &answered {
                    p.touch();
                }
                resp
            });
        // Upgrades: the Responses API's WebSocket transport.
        let conn = builder
            .serve_connection(
                TokioIo::new(stall::StallGuard::new(tcp, edge.write_timeout)),
                TowerToHyperService::new(service),
            )
            .with_upgrades();
        let (held, mut stop) = (open.clone(), stop_conns.clone());
        tokio::spawn(async move {
            let _held = held;
            tokio::pin!(conn);
            // On shutdown the connection finishes what is in flight (streams
            // included), then closes.
            let stopping = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                () = stopping => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    drop(open);
    let _ = all_closed.recv().await;
}
