//! `NativeServer`: the HTTP API served from inside the Node process.

use std::net::SocketAddr;

use mws_core::ServeHandle;
use napi_derive::napi;
use tokio::sync::Mutex;

#[napi]
pub struct NativeServer {
    addr: SocketAddr,
    handle: Mutex<Option<ServeHandle>>,
}

impl NativeServer {
    pub fn new(handle: ServeHandle) -> Self {
        NativeServer {
            addr: handle.addr(),
            handle: Mutex::new(Some(handle)),
        }
    }
}

#[napi]
impl NativeServer {
    /// The bound address's host (an IPv6 host in brackets).
    #[napi(getter)]
    pub fn host(&self) -> String {
        match self.addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        }
    }

    /// The bound port (the one picked when asked for port 0).
    #[napi(getter)]
    pub fn port(&self) -> u32 {
        u32::from(self.addr.port())
    }

    /// Stops accepting, lets requests and streams in flight finish (up to
    /// `server.shutdown_grace_secs`), then resolves. Later calls do nothing.
    #[napi(catch_unwind)]
    pub async fn close(&self) {
        let handle = self.handle.lock().await.take();
        if let Some(handle) = handle {
            handle.shutdown().await;
        }
    }
}
