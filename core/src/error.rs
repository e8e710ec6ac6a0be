//! The one error type of the gateway. Every surface (HTTP bodies per API shape,
//! C status, Python exceptions, Node errors) maps `ErrorKind` exactly once.

use std::fmt;

/// What went wrong, independent of the API shape it is reported in.
///
/// Exhaustive on purpose: every surface maps it by a `match` without a `_`
/// arm, so a new kind does not compile until each surface has decided what it
/// becomes there. A new kind goes into `ErrorKind::ALL` too, which the
/// surfaces' tests walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 400: the body is malformed or a field has the wrong type or value.
    InvalidRequest,
    /// 401: missing, invalid or revoked key.
    Authentication,
    /// 402: out of credits or quota.
    InsufficientCredits,
    /// 403: the key may not do this.
    PermissionDenied,
    /// 404: unknown route or resource.
    NotFound,
    /// 405: the route exists but not with this method.
    MethodNotAllowed,
    /// 413: body over `server.max_body_bytes`.
    PayloadTooLarge,
    /// 429: a request or token limit was reached.
    RateLimited,
    /// 500: a bug or an unexpected state inside the gateway.
    Internal,
    /// 502: the upstream failed or answered with something unusable.
    Upstream,
    /// 503: the gateway or the upstream is overloaded or shutting down.
    Overloaded,
    /// 504: the upstream did not answer in time.
    Timeout,
}

impl ErrorKind {
    /// Every kind, in the order of their HTTP statuses.
    pub const ALL: [ErrorKind; 12] = [
        ErrorKind::InvalidRequest,
        ErrorKind::Authentication,
        ErrorKind::InsufficientCredits,
        ErrorKind::PermissionDenied,
        ErrorKind::NotFound,
        ErrorKind::MethodNotAllowed,
        ErrorKind::PayloadTooLarge,
        ErrorKind::RateLimited,
        ErrorKind::Internal,
        ErrorKind::Upstream,
        ErrorKind::Overloaded,
        ErrorKind::Timeout,
    ];

    /// The HTTP status this kind is reported with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::InsufficientCredits => 402,
            ErrorKind::PermissionDenied => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::RateLimited => 429,
            ErrorKind::Internal => 500,
            ErrorKind::Upstream => 502,
            ErrorKind::Overloaded => 503,
            ErrorKind::Timeout => 504,
        }
    }

    /// A stable lower-case name, used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Authentication => "authentication",
            ErrorKind::InsufficientCredits => "insufficient_credits",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Internal => "internal",
            ErrorKind::Upstream => "upstream",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Timeout => "timeout",
        }
    }
}

/// An error with what a client needs to act on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    param: Option<String>,
    /// Milliseconds: a deployment's cooldown is kept as precisely as its
    /// upstream said it (`20ms`); clients see whole seconds.
    retry_after_ms: Option<u64>,
    status: Option<u16>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            param: None,
            retry_after_ms: None,
            status: None,
        }
    }

    /// A 400 naming the field (as a dotted path such as `messages.2.content`).
    pub fn invalid_field(param: impl Into<String>, message: impl fmt::Display) -> Self {
        let param = param.into();
        let message = if param.is_empty() {
            message.to_string()
        } else {
            format!("{param}: {message}")
        };
        Error::new(ErrorKind::InvalidRequest, message).with_param(param)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidRequest, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        let p = param.into();
        self.param = (!p.is_empty()).then_some(p);
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_ms = Some(secs.saturating_mul(1000));
        self
    }

    /// `with_retry_after` to the millisecond.
    pub fn with_retry_after_ms(mut self, ms: u64) -> Self {
        self.retry_after_ms = Some(ms);
        self
    }

    /// Keeps an upstream's own status (say 400 or 529) instead of the kind's default.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn param(&self) -> Option<&str> {
        self.param.as_deref()
    }
    /// In whole seconds, rounded up (as `retry-after` carries it).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_ms.map(|ms| ms.div_ceil(1000))
    }
    /// To the millisecond.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after_ms.map(std::time::Duration::from_millis)
    }
    pub fn http_status(&self) -> u16 {
        self.status.unwrap_or_else(|| self.kind.http_status())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.kind.as_str(),
            self.http_status(),
            self.message
        )
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::invalid(format!("request body is not valid JSON: {e}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_once_with_its_documented_status() {
        let statuses: Vec<u16> = ErrorKind::ALL.iter().map(|k| k.http_status()).collect();
        assert_eq!(
            statuses,
            [400, 401, 402, 403, 404, 405, 413, 429, 500, 502, 503, 504]
        );
        let mut names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorKind::ALL.len());
    }
}
