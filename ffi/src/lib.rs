//! The C ABI of the MWS gateway (`libmws`, header `include/mws.h`).
//!
//! Every entry point runs through the panic boundary in `panic.rs`, checks its
//! pointers and text in `args.rs`, and reports failures as an `mws_status` with
//! the thread's last error set (`last_error.rs`). Calls block the caller's
//! thread on one shared runtime (`runtime.rs`).
#![expect(
    unsafe_code,
    reason = "a C ABI: #[no_mangle] entry points taking raw pointers; each unsafe block says why it is sound"
)]

// Internals.
mod args;
mod failure;
mod panic;
mod runtime;

// The ABI, in the order the header lists it.
mod status;

mod last_error;

mod gateway;

mod calls;

mod stream;

mod server;

mod admin;

mod log;

use std::ffi::{c_char, CString};

pub use admin::*;
pub use calls::*;
pub use gateway::*;
pub use last_error::*;
pub use log::*;
pub use server::*;
pub use status::*;
pub use stream::*;

const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library's version (`"0.1.0"`), the same as the `MWS_VERSION` macro of
/// the header it was built with.
///
/// Ownership: the string is static; do not free it. Thread-safe.
#[no_mangle]
pub extern "C" fn mws_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// Frees a string that the library returned (a response, an error body, an
/// event, an address). NULL is a no-op. Any thread may free a string.
///
/// # Safety
/// `s` is NULL or a string returned by this library and not freed before;
/// never a string from `mws_version`, `mws_status_name` or `mws_last_error*`.
#[no_mangle]
pub unsafe extern "C" fn mws_string_free(s: *mut c_char) {
    panic::guard_or((), || {
        if !s.is_null() {
            // SAFETY: made by CString::into_raw in `args::to_caller_string`, by contract.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}
