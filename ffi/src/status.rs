//! `mws_status`: the core's error kinds, one value each, mapped exactly once here.

use std::ffi::c_char;

use mws_core::ErrorKind;

/// The outcome of a call. `MWS_OK` is 0; then one value per error kind of the
/// gateway, in the order of their HTTP statuses; then `MWS_INVALID_ARGUMENT`
/// for arguments the library could not take at all (a NULL pointer, text that
/// is not UTF-8, a request that is not JSON text). The numbers are stable.
///
/// The HTTP status a kind stands for is in the comment after it; the error of
/// the last failing call also carries its own (`mws_last_error_http_status`),
/// which can differ where an upstream's status is passed on (say 529).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(non_camel_case_types, reason = "the C name, as the header spells it")]
pub enum mws_status {
    MWS_OK = 0,
    /// 400: the request is malformed or a field has a wrong type or value.
    MWS_INVALID_REQUEST = 1,
    /// 401: missing, invalid or revoked API key.
    MWS_AUTHENTICATION = 2,
    /// 402: out of credits or quota.
    MWS_INSUFFICIENT_CREDITS = 3,
    /// 403: the key may not do this.
    MWS_PERMISSION_DENIED = 4,
    /// 404: unknown model, account, key or route.
    MWS_NOT_FOUND = 5,
    /// 405: the route exists but not with this method (HTTP only).
    MWS_METHOD_NOT_ALLOWED = 6,
    /// 413: the request (or the upstream's view of it) is too large.
    MWS_PAYLOAD_TOO_LARGE = 7,
    /// 429: a request or token limit was reached.
    MWS_RATE_LIMITED = 8,
    /// 500: a bug or an unexpected state inside the gateway (a caught panic too).
    MWS_INTERNAL = 9,
    /// 502: the upstream failed or could not be reached.
    MWS_UPSTREAM = 10,
    /// 503: the gateway or the upstream is overloaded.
    MWS_OVERLOADED = 11,
    /// 504: the upstream did not answer in time.
    MWS_TIMEOUT = 12,
    /// A NULL pointer, text that is not UTF-8, a request that is not JSON text,
    /// an unknown endpoint or operation name, or a number out of range: nothing
    /// was sent to the gateway.
    MWS_INVALID_ARGUMENT = 13,
}

use mws_status::*;

impl mws_status {
    /// The status of a core error.
    pub(crate) fn of(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidRequest => MWS_INVALID_REQUEST,
            ErrorKind::Authentication => MWS_AUTHENTICATION,
            ErrorKind::InsufficientCredits => MWS_INSUFFICIENT_CREDITS,
            ErrorKind::PermissionDenied => MWS_PERMISSION_DENIED,
            ErrorKind::NotFound => MWS_NOT_FOUND,
            ErrorKind::MethodNotAllowed => MWS_METHOD_NOT_ALLOWED,
            ErrorKind::PayloadTooLarge => MWS_PAYLOAD_TOO_LARGE,
            ErrorKind::RateLimited => MWS_RATE_LIMITED,
            ErrorKind::Internal => MWS_INTERNAL,
            ErrorKind::Upstream => MWS_UPSTREAM,
            ErrorKind::Overloaded => MWS_OVERLOADED,
            ErrorKind::Timeout => MWS_TIMEOUT,
        }
    }

    fn name(self) -> &'static std::ffi::CStr {
        match self {
            MWS_OK => c"MWS_OK",
            MWS_INVALID_REQUEST => c"MWS_INVALID_REQUEST",
            MWS_AUTHENTICATION => c"MWS_AUTHENTICATION",
            MWS_INSUFFICIENT_CREDITS => c"MWS_INSUFFICIENT_CREDITS",
            MWS_PERMISSION_DENIED => c"MWS_PERMISSION_DENIED",
            MWS_NOT_FOUND => c"MWS_NOT_FOUND",
            MWS_METHOD_NOT_ALLOWED => c"MWS_METHOD_NOT_ALLOWED",
            MWS_PAYLOAD_TOO_LARGE => c"MWS_PAYLOAD_TOO_LARGE",
            MWS_RATE_LIMITED => c"MWS_RATE_LIMITED",
            MWS_INTERNAL => c"MWS_INTERNAL",
            MWS_UPSTREAM => c"MWS_UPSTREAM",
            MWS_OVERLOADED => c"MWS_OVERLOADED",
            MWS_TIMEOUT => c"MWS_TIMEOUT",
            MWS_INVALID_ARGUMENT => c"MWS_INVALID_ARGUMENT",
        }
    }

    const ALL: [mws_status; 14] = [
        MWS_OK,
        MWS_INVALID_REQUEST,
        MWS_AUTHENTICATION,
        MWS_INSUFFICIENT_CREDITS,
        MWS_PERMISSION_DENIED,
        MWS_NOT_FOUND,
        MWS_METHOD_NOT_ALLOWED,
        MWS_PAYLOAD_TOO_LARGE,
        MWS_RATE_LIMITED,
        MWS_INTERNAL,
        MWS_UPSTREAM,
        MWS_OVERLOADED,
        MWS_TIMEOUT,
        MWS_INVALID_ARGUMENT,
    ];
}

/// The name of a status as the header spells it (`"MWS_RATE_LIMITED"`), or
/// `"MWS_UNKNOWN"` for a number that is not one.
///
/// Ownership: the string is static; do not free it. Thread-safe.
#[no_mangle]
pub extern "C" fn mws_status_name(status: u32) -> *const c_char {
    // Nothing here can panic: a lookup in a constant table.
    mws_status::ALL
        .iter()
        .find(|s| **s as u32 == status)
        .map_or(c"MWS_UNKNOWN".as_ptr(), |s| s.name().as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_status_in_http_order() {
        for (i, kind) in ErrorKind::ALL.into_iter().enumerate() {
            assert_eq!(mws_status::of(kind) as u32, i as u32 + 1, "{kind:?}");
        }
        let statuses: Vec<u16> = ErrorKind::ALL.iter().map(|k| k.http_status()).collect();
        assert!(statuses.windows(2).all(|w| w[0] < w[1]), "{statuses:?}");
    }

    /// Each kind's status is its own, and the header documents it with the
    /// kind's HTTP status (`/** 429: ... */ MWS_RATE_LIMITED = 8`).
    #[test]
    fn every_kind_maps_to_a_distinct_status_documented_with_its_http_status() {
        let header = include_str!("../../include/mws.h");
        let mut seen = Vec::new();
        for kind in ErrorKind::ALL {
            let status = mws_status::of(kind);
            assert!(!seen.contains(&status), "{kind:?} shares {status:?}");
            seen.push(status);
            let value = format!("{:?} = {},", status, status as u32);
            let at = header
                .find(&value)
                .unwrap_or_else(|| panic!("{value} is not in include/mws.h"));
            let doc = header[..at]
                .rsplit("/**")
                .next()
                .unwrap_or_default()
                .trim_start_matches(['\n', ' ', '*']);
            let want = format!("{}:", kind.http_status());
            assert!(
                doc.starts_with(&want),
                "{status:?} is documented as {doc:?}"
            );
        }
    }

    #[test]
    fn names_match_the_values() {
        for s in mws_status::ALL {
            // SAFETY: mws_status_name returns a static NUL-terminated string.
            let name = unsafe { std::ffi::CStr::from_ptr(mws_status_name(s as u32)) };
            assert_eq!(name, s.name());
        }
        // SAFETY: as above.
        let unknown = unsafe { std::ffi::CStr::from_ptr(mws_status_name(99)) };
        assert_eq!(unknown, c"MWS_UNKNOWN");
    }
}
