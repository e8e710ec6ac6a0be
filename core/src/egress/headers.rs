//! Response headers every /v1 reply carries: the six `x-ratelimit-*`, Anthropic's
//! own set on Anthropic-shaped replies, `request-id`, `mws-profile`, `retry-after`.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::call::Shape;
use crate::limits::{format_reset, LimitSnapshot};

fn put(headers: &mut HeaderMap, name: &'static str, value: impl AsRef<str>) {
    if let Ok(v) = HeaderValue::from_str(value.as_ref()) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

/// A number as a header value (itoa inside `http`, no intermediate String).
fn put_num(headers: &mut HeaderMap, name: &'static str, n: u64) {
    headers.insert(HeaderName::from_static(name), HeaderValue::from(n));
}

/// `now + d` as RFC 3339 to the second. Every request formats two of these and
/// most fall in the same second, so the last one made on this thread is reused.
fn rfc3339_after(d: Duration) -> Option<HeaderValue> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(u64, HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    let at = SystemTime::now() + d;
    let secs = at.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
    LAST.with_borrow_mut(|last| {
        if let Some((_, v)) = last.as_ref().filter(|(s, _)| *s == secs) {
            return Some(v.clone());
        }
        let t = time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).ok()?).ok()?;
        let text = t
            .format(&time::format_description::well_known::Rfc3339)
            .ok()?;
        let v = HeaderValue::from_str(&text).ok()?;
        *last = Some((secs, v.clone()));
        Some(v)
    })
}

fn put_time(headers: &mut HeaderMap, name: &'static str, after: Duration) {
    if let Some(v) = rfc3339_after(after) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

pub fn apply(
    headers: &mut HeaderMap,
    shape: Shape,
    request_id: &str,
    profile: Option<&str>,
    limits: Option<&LimitSnapshot>,
    retry_after_secs: Option<u64>,
) {
    headers.reserve(16);
    put(headers, "request-id", request_id);
    if let Some(p) = profile {
        put(headers, "mws-profile", p);
    }
    if let Some(l) = limits {
        put_num(headers, "x-ratelimit-limit-requests", l.limit_requests);
        put_num(headers, "x-ratelimit-limit-tokens", l.limit_tokens);
        put_num(
            headers,
            "x-ratelimit-remaining-requests",
            l.remaining_requests,
        );
        put_num(headers, "x-ratelimit-remaining-tokens", l.remaining_tokens);
        put(
            headers,
            "x-ratelimit-reset-requests",
            format_reset(l.reset_requests),
        );
        put(
            headers,
            "x-ratelimit-reset-tokens",
            format_reset(l.reset_tokens),
        );
        if shape == Shape::Anthropic {
            put_num(
                headers,
                "anthropic-ratelimit-requests-limit",
                l.limit_requests,
            );
            put_num(
                headers,
                "anthropic-ratelimit-requests-remaining",
                l.remaining_requests,
            );
            put_time(
                headers,
                "anthropic-ratelimit-requests-reset",
                l.reset_requests,
            );
            put_num(headers, "anthropic-ratelimit-tokens-limit", l.limit_tokens);
            put_num(
                headers,
                "anthropic-ratelimit-tokens-remaining",
                l.remaining_tokens,
            );
            put_time(headers, "anthropic-ratelimit-tokens-reset", l.reset_tokens);
        }
    }
    if let Some(secs) = retry_after_secs {
        put_num(headers, "retry-after", secs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_headers_present() {
        let l = LimitSnapshot {
            limit_requests: 60,
            remaining_requests: 59,
            reset_requests: Duration::from_secs(1),
            limit_tokens: 1000,
            remaining_tokens: 900,
            reset_tokens: Duration::from_millis(120),
        };
        let mut h = HeaderMap::new();
        apply(
            &mut h,
            Shape::Anthropic,
            "req_1",
            Some("dragon"),
            Some(&l),
            Some(3),
        );
        assert_eq!(h["x-ratelimit-limit-requests"], "60");
        assert_eq!(h["x-ratelimit-remaining-tokens"], "900");
        assert_eq!(h["x-ratelimit-reset-requests"], "1s");
        assert_eq!(h["x-ratelimit-reset-tokens"], "120ms");
        assert_eq!(h["anthropic-ratelimit-requests-remaining"], "59");
        let reset = h["anthropic-ratelimit-tokens-reset"].to_str().unwrap();
        assert!(
            time::OffsetDateTime::parse(reset, &time::format_description::well_known::Rfc3339)
                .is_ok()
        );
        assert_eq!(h["request-id"], "req_1");
        assert_eq!(h["mws-profile"], "dragon");
        assert_eq!(h["retry-after"], "3");
        let mut h = HeaderMap::new();
        apply(&mut h, Shape::OpenAi, "req_2", None, Some(&l), None);
        assert!(!h.contains_key("anthropic-ratelimit-requests-limit"));
        assert!(!h.contains_key("retry-after"));
    }
}
