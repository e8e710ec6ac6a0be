//! Optional logging of the gateway's `tracing` events to stderr.

use std::ffi::c_char;

use tracing_subscriber::EnvFilter;

use crate::args::opt_str_arg;
use crate::failure::Failure;
use crate::panic::guard;
use crate::status::mws_status;

/// Sends the gateway's logs (one line per request, with its request id; never
/// keys or prompts) to stderr. `filter` is a `tracing` filter such as
/// `"info"` or `"mws_core=debug"`; NULL reads `RUST_LOG`, else `"info"`. Without
/// this call the library logs nothing. Only the first successful call in a
/// process takes effect; later ones return `MWS_OK` and change nothing.
/// A filter that does not parse is `MWS_INVALID_ARGUMENT`.
///
/// Ownership: `filter` is borrowed. Thread-safe.
///
/// # Safety
/// `filter` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn mws_log_init(filter: *const c_char) -> mws_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let filter = match unsafe { opt_str_arg(filter, "filter") }? {
            Some(f) => EnvFilter::try_new(f)
                .map_err(|e| Failure::argument(format!("filter {f:?} does not parse: {e}")))?,
            None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        };
        // Err only when a subscriber is already installed: keep that one.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .try_init();
        Ok(())
    })
}
