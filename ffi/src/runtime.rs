//! The one tokio runtime of the process, shared by every gateway: made on first
//! use, never torn down. Calls `block_on` it from the caller's own thread.

use std::future::Future;
use std::sync::OnceLock;

use mws_core::Error;
use tokio::runtime::Runtime;

use crate::failure::{Failure, FfiResult};

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

pub(crate) fn runtime() -> FfiResult<&'static Runtime> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("mws-runtime")
                .build()
                .map_err(|e| format!("cannot start the runtime: {e}"))
        })
        .as_ref()
        .map_err(|e| Failure::core(Error::internal(e.clone())))
}

/// Runs `f` to completion on the shared runtime, blocking the calling thread.
pub(crate) fn block_on<F: Future>(f: F) -> FfiResult<F::Output> {
    // Inside a runtime `block_on` would panic; say why instead. The library's
    // own threads never run C code, so this is a host that embeds tokio itself.
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Failure::core(Error::internal(
            "mws_ functions block: call them from a thread that is not running an async runtime",
        )));
    }
    Ok(runtime()?.block_on(f))
}

/// Drops `value` inside the runtime's context: a stream or charge dropped early
/// hands its settlement to the runtime, which it can only find from there.
pub(crate) fn drop_in_runtime<T>(value: T) {
    match runtime() {
        Ok(rt) => {
            let _entered = rt.enter();
            drop(value);
        }
        Err(_) => drop(value),
    }
}
