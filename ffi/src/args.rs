//! Reading what C passes in and writing what it gets back: NULL checks, UTF-8
//! and JSON checks, endpoint names, out-parameters. Each failure is
//! `MWS_INVALID_ARGUMENT` naming the parameter.

use std::ffi::{c_char, CStr, CString};

use mws_core::Endpoint;
use serde_json::Value;

use crate::failure::{Failure, FfiResult};

/// A borrowed C string as UTF-8.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, name: &str) -> FfiResult<&'a str> {
    // SAFETY: the caller's contract.
    unsafe { opt_str_arg(p, name) }?.ok_or_else(|| Failure::argument(format!("{name} is NULL")))
}

/// Like `str_arg`, with NULL meaning "not given".
///
/// # Safety
/// As for `str_arg`.
pub(crate) unsafe fn opt_str_arg<'a>(p: *const c_char, name: &str) -> FfiResult<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, and NUL-terminated and alive by the caller's contract.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str()
        .map(Some)
        .map_err(|e| Failure::argument(format!("{name} is not valid UTF-8: {e}")))
}

/// A C string holding JSON text, parsed.
///
/// # Safety
/// As for `str_arg`.
pub(crate) unsafe fn json_arg(p: *const c_char, name: &str) -> FfiResult<Value> {
    // SAFETY: the caller's contract.
    let text = unsafe { str_arg(p, name) }?;
    serde_json::from_str(text)
        .map_err(|e| Failure::argument(format!("{name} is not valid JSON text: {e}")))
}

/// The endpoint C names with the `endpoint` and `id` parameters: `name` is
/// one of the core's names (`Endpoint::name`: `messages`, `chat_completions`,
/// `responses`, `response`, ...), `id` the resource of the endpoints on one
/// (`models` with an id is one model) and NULL for the others. An unknown
/// name, a missing id or an id for an endpoint that takes none is a failure
/// naming it.
///
/// # Safety
/// As for `str_arg`, for both strings.
pub(crate) unsafe fn endpoint_arg(name: *const c_char, id: *const c_char) -> FfiResult<Endpoint> {
    // SAFETY: the caller's contract.
    let name = unsafe { str_arg(name, "endpoint") }?;
    // SAFETY: as above.
    let id = unsafe { opt_str_arg(id, "id") }?;
    let Some(known) = Endpoint::ALL.into_iter().find(|e| e.name() == name) else {
        let names: Vec<&str> = Endpoint::ALL.iter().map(Endpoint::name).collect();
        return Err(Failure::argument(format!(
            "unknown endpoint {name:?}; the endpoints are {}",
            names.join(", ")
        )));
    };
    if id.is_some() && known.id().is_none() && known != Endpoint::Models {
        return Err(Failure::argument(format!(
            "the endpoint {name:?} takes no id"
        )));
    }
    Endpoint::from_name(name, id.map(str::to_string))
        .ok_or_else(|| Failure::argument(format!("the endpoint {name:?} needs an id")))
}

/// A handle passed by the caller.
///
/// # Safety
/// `p` is NULL or a live handle of type `T` made by this library.
pub(crate) unsafe fn handle<'a, T>(p: *const T, name: &str) -> FfiResult<&'a T> {
    // SAFETY: the caller's contract; `as_ref` maps NULL to None.
    unsafe { p.as_ref() }.ok_or_else(|| Failure::argument(format!("{name} is NULL")))
}

/// An out-parameter, set to NULL (or zero) before anything else can fail, so the
/// caller always finds a defined value in it.
///
/// # Safety
/// `p` is NULL or valid for writing a `T`.
pub(crate) unsafe fn out_arg<'a, T: OutDefault>(p: *mut T, name: &str) -> FfiResult<&'a mut T> {
    // SAFETY: the caller's contract; `as_mut` maps NULL to None.
    let out = unsafe { p.as_mut() }.ok_or_else(|| Failure::argument(format!("{name} is NULL")))?;
    *out = T::out_default();
    Ok(out)
}

/// Like `out_arg`, with NULL meaning the caller does not want this output.
///
/// # Safety
/// As for `out_arg`.
pub(crate) unsafe fn opt_out_arg<'a, T: OutDefault>(p: *mut T) -> Option<&'a mut T> {
    // SAFETY: the caller's contract; `as_mut` maps NULL to None.
    let out = unsafe { p.as_mut() }?;
    *out = T::out_default();
    Some(out)
}

pub(crate) trait OutDefault {
    fn out_default() -> Self;
}

impl<T> OutDefault for *mut T {
    fn out_default() -> Self {
        std::ptr::null_mut()
    }
}

impl OutDefault for u16 {
    fn out_default() -> Self {
        0
    }
}

/// Hands `s` to C, which owns it from then on and frees it with
/// `mws_string_free`; a NUL byte inside is an internal error (nothing is cut).
pub(crate) fn to_caller_string(s: String) -> FfiResult<*mut c_char> {
    CString::new(s)
        .map(CString::into_raw)
        .map_err(|_| Failure::core(mws_core::Error::internal("a result held a NUL byte")))
}

/// `v` as JSON text handed to C, as `to_caller_string`.
pub(crate) fn to_caller_json(v: &Value) -> FfiResult<*mut c_char> {
    // Serialising a `Value` cannot fail, and JSON text escapes NUL.
    to_caller_string(v.to_string())
}
