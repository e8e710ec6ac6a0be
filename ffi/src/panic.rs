//! The panic boundary: every entry point runs its body through `guard` (or
//! `guard_or` for the few that return a value instead of a status), so no
//! panic unwinds into C.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use mws_core::Error;

use crate::failure::{Failure, FfiResult};
use crate::last_error;
use crate::status::mws_status;

/// Runs `body`: `MWS_OK`, or the failure's status with the thread's last
/// error set. A panic becomes `MWS_INTERNAL` with its message.
pub(crate) fn guard(body: impl FnOnce() -> FfiResult<()>) -> mws_status {
    last_error::clear();
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return mws_status::MWS_OK,
        Ok(Err(f)) => f,
        Err(payload) => Failure::core(Error::internal(format!(
            "panic inside libmws: {}",
            panic_message(payload.as_ref())
        ))),
    };
    last_error::set(&failure);
    failure.status()
}

/// Runs `body`, giving `fallback` if it panics. For functions that return a
/// pointer or a number, and for the frees.
pub(crate) fn guard_or<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        // SAFETY: mws_last_error returns a NUL-terminated string owned by this thread.
        unsafe { CStr::from_ptr(crate::last_error::mws_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_is_an_internal_error_with_its_message() {
        let status = guard(|| panic!("boom"));
        assert_eq!(status, mws_status::MWS_INTERNAL);
        assert_eq!(last(), "panic inside libmws: boom");
        assert_eq!(guard(|| Ok(())), mws_status::MWS_OK);
        assert_eq!(last(), "");
        assert_eq!(guard_or(7, || panic!("again")), 7);
    }

    #[test]
    fn a_failure_sets_the_last_error() {
        let status = guard(|| Err(Failure::argument("x is NULL")));
        assert_eq!(status, mws_status::MWS_INVALID_ARGUMENT);
        assert_eq!(last(), "x is NULL");
    }
}
