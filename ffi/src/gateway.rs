//! The gateway handle: built from the defaults, a TOML file or TOML text.

use std::ffi::c_char;

use mws_core::Gateway;

use crate::args::{out_arg, str_arg};
use crate::failure::{Failure, FfiResult};
use crate::panic::{guard, guard_or};
use crate::runtime::{drop_in_runtime, runtime};
use crate::status::mws_status;

/// A gateway: its configuration, routes and store. Opaque; made by
/// `mws_gateway_new`, `mws_gateway_from_path` or `mws_gateway_from_toml`,
/// freed by `mws_gateway_free`. One handle may be used from any number of
/// threads at once.
#[expect(non_camel_case_types, reason = "the C name, as the header spells it")]
pub struct mws_gateway {
    pub(crate) inner: Gateway,
}

fn make(out: *mut *mut mws_gateway, build: impl FnOnce() -> FfiResult<Gateway>) -> mws_status {
    guard(|| {
        // SAFETY: the caller passes NULL or a pointer valid for writing.
        let out = unsafe { out_arg(out, "out_gateway") }?;
        // Stores may start background work, which needs the runtime's context.
        let _entered = runtime()?.enter();
        let inner = build()?;
        *out = Box::into_raw(Box::new(mws_gateway { inner }));
        Ok(())
    })
}

/// Makes a gateway with the defaults: the built-in catalogue of Dragon
/// profiles on the `echo` upstream (no network), with the memory store.
///
/// Ownership: on `MWS_OK`, `*out_gateway` is a new handle the caller frees with
/// `mws_gateway_free`; on failure it is set to NULL. Thread-safe.
///
/// # Safety
/// `out_gateway` is NULL (an error) or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn mws_gateway_new(out_gateway: *mut *mut mws_gateway) -> mws_status {
    make(out_gateway, || Gateway::builtin().map_err(Failure::core))
}

/// Makes a gateway from a TOML configuration file (the format of the
/// `mws-gateway` binary's `--config`). A file or field that is wrong gives
/// `MWS_INVALID_REQUEST` with a message naming the file and the field.
///
/// Ownership: `path` is borrowed for the call. On `MWS_OK`, `*out_gateway` is a
/// new handle the caller frees with `mws_gateway_free`; on failure NULL.
/// Thread-safe.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out_gateway` is NULL or valid
/// for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn mws_gateway_from_path(
    path: *const c_char,
    out_gateway: *mut *mut mws_gateway,
) -> mws_status {
    make(out_gateway, || {
        // SAFETY: the caller's contract above.
        let path = unsafe { str_arg(path, "path") }?;
        Gateway::from_path(path).map_err(Failure::core)
    })
}

/// Makes a gateway from TOML text (the same format as the file). A config
/// with no `[store]` uses sqlite at `mws-data/gateway.db` under the current
/// directory; set `[store] kind = "memory"` to keep everything in memory.
///
/// Ownership: `toml` is borrowed for the call. On `MWS_OK`, `*out_gateway` is a
/// new handle the caller frees with `mws_gateway_free`; on failure NULL.
/// Thread-safe.
///
/// # Safety
/// `toml` is NULL or a NUL-terminated string; `out_gateway` is NULL or valid
/// for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn mws_gateway_from_toml(
    toml: *const c_char,
    out_gateway: *mut *mut mws_gateway,
) -> mws_status {
    make(out_gateway, || {
        // SAFETY: the caller's contract above.
        let toml = unsafe { str_arg(toml, "toml") }?;
        Gateway::from_toml_str(toml).map_err(Failure::core)
    })
}

/// Frees a gateway handle. NULL is a no-op. Servers started from it keep
/// running (each holds its own reference to the gateway) until stopped; streams
/// opened from it stay usable until freed.
///
/// Threading: no other thread may be using this handle when it is freed.
///
/// # Safety
/// `gateway` is NULL or a handle from this library not freed before.
#[no_mangle]
pub unsafe extern "C" fn mws_gateway_free(gateway: *mut mws_gateway) {
    guard_or((), || {
        if !gateway.is_null() {
            // SAFETY: made by Box::into_raw in `make` and not freed before, by contract.
            drop_in_runtime(unsafe { Box::from_raw(gateway) });
        }
    })
}
