//! The thread-local error of the last failing call: its message, error `type`
//! and HTTP status, readable in C without parsing JSON.

use std::cell::RefCell;
use std::ffi::{c_char, CString};

use crate::failure::Failure;
use crate::panic::guard_or;

struct LastError {
    message: CString,
    error_type: CString,
    http_status: u16,
}

thread_local! {
    static LAST: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

/// Forgets the last error. Every entry point that returns an `mws_status` calls
/// it first, so the getters describe the last such call; frees and getters
/// leave it alone, so an error body can be freed before the message is read.
pub(crate) fn clear() {
    LAST.with(|l| l.borrow_mut().take());
}

pub(crate) fn set(f: &Failure) {
    let last = LastError {
        message: cstring_cut_at_nul(f.message()),
        error_type: cstring_cut_at_nul(f.error_type()),
        http_status: f.http_status(),
    };
    LAST.with(|l| *l.borrow_mut() = Some(last));
}

/// A C string of `s` that the library keeps (the last error, a stream's event);
/// an interior NUL (never in our messages) is cut there rather than failing.
pub(crate) fn cstring_cut_at_nul(s: &str) -> CString {
    let upto = s.find('\0').unwrap_or(s.len());
    CString::new(&s[..upto]).unwrap_or_default()
}

fn read(pick: impl FnOnce(&LastError) -> *const c_char) -> *const c_char {
    LAST.with(|l| l.borrow().as_ref().map_or(c"".as_ptr(), pick))
}

/// The message of the last failing `mws_` call on this thread, or `""` when
/// the last call succeeded.
///
/// Ownership: the string belongs to the library; do not free it. It stays
/// valid until the next call on the same thread of a function that returns an
/// `mws_status` (the frees and these getters leave it alone). Each thread has
/// its own.
#[no_mangle]
pub extern "C" fn mws_last_error() -> *const c_char {
    guard_or(std::ptr::null(), || read(|e| e.message.as_ptr()))
}

/// The error `type` of the last failing call on this thread, as the HTTP API
/// would report it for that call (`"invalid_request_error"`,
/// `"authentication_error"`, `"insufficient_quota"`, ...: Anthropic-shaped for
/// `mws_messages*` and `mws_count_tokens`, OpenAI-shaped for the others), or
/// `"invalid_argument"` after `MWS_INVALID_ARGUMENT`; `""` when the last call
/// succeeded.
///
/// Ownership and lifetime: as for `mws_last_error`.
#[no_mangle]
pub extern "C" fn mws_last_error_type() -> *const c_char {
    guard_or(std::ptr::null(), || read(|e| e.error_type.as_ptr()))
}

/// The HTTP status of the last failing call on this thread (`429`, `502`,
/// ...), or 0 when the last call succeeded or failed with
/// `MWS_INVALID_ARGUMENT`. Thread-local, like `mws_last_error`.
#[no_mangle]
pub extern "C" fn mws_last_error_http_status() -> u16 {
    guard_or(0, || {
        LAST.with(|l| l.borrow().as_ref().map_or(0, |e| e.http_status))
    })
}
