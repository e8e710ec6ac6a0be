//! Serving the HTTP API from the host process: `mws_serve` and its handle.

use std::ffi::c_char;
use std::net::SocketAddr;
use std::sync::Mutex;

use mws_core::ServeHandle;

use crate::args::{handle, out_arg, str_arg, to_caller_string};
use crate::failure::{Failure, FfiResult};
use crate::gateway::mws_gateway;
use crate::panic::{guard, guard_or};
use crate::runtime::{block_on, drop_in_runtime};
use crate::status::mws_status;

/// A running (or stopped) HTTP server. Opaque; made by `mws_serve`, stopped by
/// `mws_server_stop`, freed by `mws_server_free`. Usable from any thread.
#[expect(non_camel_case_types, reason = "the C name, as the header spells it")]
pub struct mws_server {
    addr: SocketAddr,
    /// `None` once stopped.
    running: Mutex<Option<ServeHandle>>,
}

impl mws_server {
    /// Takes the handle out, so exactly one caller stops the server.
    fn take(&self) -> Option<ServeHandle> {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// Serves the gateway's HTTP API (`/v1/...`, `/health`, `/metrics`, `/admin`
/// when configured) on `addr`, an IP address and port such as
/// `"127.0.0.1:8080"`; port 0 picks a free one (read it back with
/// `mws_server_port` or `mws_server_url`). The server runs on the library's
/// threads until `mws_server_stop` or `mws_server_free`. An address that does
/// not parse is `MWS_INVALID_ARGUMENT`; one that cannot be bound (in use, not
/// local) is `MWS_INTERNAL` with the reason in `mws_last_error()`.
///
/// Ownership: `addr` is borrowed. On `MWS_OK`, `*out_server` is a new handle
/// the caller frees with `mws_server_free`; on failure NULL. The server keeps
/// its own reference to the gateway, so the gateway handle may be freed first.
///
/// Threading: returns once the address is bound; thread-safe.
///
/// # Safety
/// `gateway` is NULL or a live handle; `addr` is NULL or NUL-terminated;
/// `out_server` is NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn mws_serve(
    gateway: *const mws_gateway,
    addr: *const c_char,
    out_server: *mut *mut mws_server,
) -> mws_status {
    guard(|| {
        // SAFETY: the caller's contract for each pointer.
        let out = unsafe { out_arg(out_server, "out_server") }?;
        // SAFETY: as above.
        let gw = unsafe { handle(gateway, "gateway") }?;
        // SAFETY: as above.
        let text = unsafe { str_arg(addr, "addr") }?;
        let addr: SocketAddr = text.parse().map_err(|_| {
            Failure::argument(format!(
                "addr: expected an IP address and port such as 127.0.0.1:8080, got {text:?}"
            ))
        })?;
        let running = block_on(gw.inner.serve(addr))?.map_err(Failure::core)?;
        *out = Box::into_raw(Box::new(mws_server {
            addr: running.addr(),
            running: Mutex::new(Some(running)),
        }));
        Ok(())
    })
}

/// Writes one of the server's address forms to `out`.
///
/// # Safety
/// `server` is NULL or a live handle; `out` is NULL or valid for writing.
unsafe fn address(
    server: *const mws_server,
    out: *mut *mut c_char,
    form: impl FnOnce(SocketAddr) -> String,
) -> mws_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let out = unsafe { out_arg(out, "out") }?;
        // SAFETY: as above.
        let server = unsafe { handle(server, "server") }?;
        *out = to_caller_string(form(server.addr))?;
        Ok(())
    })
}

/// The bound address, `"127.0.0.1:PORT"` (still readable after a stop).
///
/// Ownership: `*out_addr` is set to NULL first, then on `MWS_OK` to a string
/// the caller frees with `mws_string_free`. Thread-safe.
///
/// # Safety
/// `server` is NULL or a live handle; `out_addr` is NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn mws_server_addr(
    server: *const mws_server,
    out_addr: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above.
    unsafe { address(server, out_addr, |a| a.to_string()) }
}

/// The server's base URL, `"http://127.0.0.1:PORT"`: SDK clients use it with
/// `/v1` appended (OpenAI) or as is (Anthropic).
///
/// Ownership: `*out_url` is set to NULL first, then on `MWS_OK` to a string
/// the caller frees with `mws_string_free`. Thread-safe.
///
/// # Safety
/// `server` is NULL or a live handle; `out_url` is NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn mws_server_url(
    server: *const mws_server,
    out_url: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above.
    unsafe { address(server, out_url, |a| format!("http://{a}")) }
}

/// The bound port (the one picked when serving on port 0).
///
/// Ownership: nothing is allocated. Thread-safe.
///
/// # Safety
/// `server` is NULL or a live handle; `out_port` is NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn mws_server_port(
    server: *const mws_server,
    out_port: *mut u16,
) -> mws_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let out = unsafe { out_arg(out_port, "out_port") }?;
        // SAFETY: as above.
        let server = unsafe { handle(server, "server") }?;
        *out = server.addr.port();
        Ok(())
    })
}

fn stop(server: &mws_server) -> FfiResult<()> {
    if let Some(running) = server.take() {
        block_on(running.shutdown())?;
    }
    Ok(())
}

/// Stops the server gracefully: it stops accepting connections, lets requests
/// and streams in flight finish (up to the config's
/// `server.shutdown_grace_secs`), then returns. Stopping a stopped server
/// returns `MWS_OK` at once. The handle stays valid (its address readable)
/// until `mws_server_free`.
///
/// Threading: blocks the calling thread until the server has stopped; safe
/// to call from any thread, also while others use the handle.
///
/// # Safety
/// `server` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn mws_server_stop(server: *mut mws_server) -> mws_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let server = unsafe { handle(server.cast_const(), "server") }?;
        stop(server)
    })
}

/// Frees a server handle, first stopping the server as `mws_server_stop` does
/// if it is still running. NULL is a no-op.
///
/// Threading: blocks while the server drains; no other thread may be using the
/// handle when it is freed.
///
/// # Safety
/// `server` is NULL or a server handle from this library not freed before.
#[no_mangle]
pub unsafe extern "C" fn mws_server_free(server: *mut mws_server) {
    guard_or((), || {
        if !server.is_null() {
            // SAFETY: made by Box::into_raw in `mws_serve`, not freed before, by contract.
            let server = unsafe { Box::from_raw(server) };
            // A free has no status to report: a failed stop leaves the
            // server's task to end with the runtime.
            let _ = stop(&server);
            drop_in_runtime(server);
        }
    })
}
