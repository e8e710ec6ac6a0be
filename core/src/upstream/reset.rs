//! When a rate-limited upstream takes requests again, read from its 429's
//! headers: `retry-after` (seconds or an HTTP date) and `retry-after-ms`;
//! else OpenAI's `x-ratelimit-reset-requests` / `-tokens` (`6m0s`, `1s`,
//! `20ms`) and Anthropic's `anthropic-ratelimit-*-reset` (RFC 3339 times),
//! those of the limits the answer reports exhausted first.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// The longest wait believed: a header further out than a day is taken as a day.
pub const MAX_RESET: Duration = Duration::from_secs(24 * 3600);

/// The limits OpenAI and Anthropic report, as (remaining header, reset header).
const LIMITS: &[(&str, &str)] = &[
    (
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
    ),
    ("x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"),
    (
        "anthropic-ratelimit-requests-remaining",
        "anthropic-ratelimit-requests-reset",
    ),
    (
        "anthropic-ratelimit-tokens-remaining",
        "anthropic-ratelimit-tokens-reset",
    ),
    (
        "anthropic-ratelimit-input-tokens-remaining",
        "anthropic-ratelimit-input-tokens-reset",
    ),
    (
        "anthropic-ratelimit-output-tokens-remaining",
        "anthropic-ratelimit-output-tokens-reset",
    ),
];

/// How long from `now` until the upstream that sent `headers` with its 429
/// takes requests again; `None` when no header says.
///
/// `retry-after` wins where present: it is the upstream's own answer to that
/// question. Else the reset of each limit reported exhausted (remaining 0),
/// the latest of them; else, with no limit reported exhausted, the soonest
/// reset of any.
pub fn rate_limit_reset(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0).min(MAX_RESET));
        }
    }
    if let Some(d) = text("retry-after").and_then(|v| parse_retry_after(v, now)) {
        return Some(d.min(MAX_RESET));
    }
    let (mut exhausted, mut soonest): (Option<Duration>, Option<Duration>) = (None, None);
    for (remaining, reset) in LIMITS {
        let Some(d) = text(reset).and_then(|v| parse_reset(v, now)) else {
            continue;
        };
        soonest = Some(soonest.map_or(d, |s| s.min(d)));
        let none_left = text(remaining).and_then(|v| v.trim().parse::<f64>().ok()) == Some(0.0);
        if none_left {
            exhausted = Some(exhausted.map_or(d, |e| e.max(d)));
        }
    }
    exhausted.or(soonest).map(|d| d.min(MAX_RESET))
}

/// `retry-after`: a number of seconds, or an HTTP date.
pub fn parse_retry_after(v: &str, now: SystemTime) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let at = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    Some(until(at, now))
}

/// A reset header of either kind: an OpenAI duration or an RFC 3339 time.
fn parse_reset(v: &str, now: SystemTime) -> Option<Duration> {
    let v = v.trim();
    parse_openai_duration(v).or_else(|| {
        let at =
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).ok()?;
        Some(until(at, now))
    })
}

/// The time from `now` to `at`, zero when it has passed.
fn until(at: time::OffsetDateTime, now: SystemTime) -> Duration {
    let now = time::OffsetDateTime::from(now);
    Duration::try_from(at - now).unwrap_or(Duration::ZERO)
}

/// OpenAI's reset format: numbers with units `h`, `m`, `s`, `ms` (and
/// `us`/`ns`), largest first, as in `6m0s`, `1h2m3.5s`, `20ms`; a bare
/// number is seconds.
pub fn parse_openai_duration(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let mut total = 0.0f64;
    let mut rest = v;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    (total.is_finite() && total >= 0.0).then(|| Duration::from_secs_f64(total.min(1e9)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn at(rfc3339: &str) -> SystemTime {
        let t =
            time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
                .unwrap();
        SystemTime::UNIX_EPOCH + Duration::from_secs(t.unix_timestamp() as u64)
    }

    #[test]
    fn openai_durations() {
        let d = |s| parse_openai_duration(s);
        assert_eq!(d("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(d("1s"), Some(Duration::from_secs(1)));
        assert_eq!(d("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(d("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(d("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(d("7"), Some(Duration::from_secs(7)));
        assert_eq!(d("0s"), Some(Duration::ZERO));
        for bad in ["", "s", "5x", "1m-2s", "-1s", "abc"] {
            assert_eq!(d(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_wins_in_seconds_or_as_a_date() {
        let now = at("2026-03-01T12:00:00Z");
        let h = headers(&[("retry-after", "7"), ("x-ratelimit-reset-requests", "6m0s")]);
        assert_eq!(rate_limit_reset(&h, now), Some(Duration::from_secs(7)));
        let h = headers(&[("retry-after", "Sun, 01 Mar 2026 12:00:30 GMT")]);
        assert_eq!(rate_limit_reset(&h, now), Some(Duration::from_secs(30)));
        let h = headers(&[("retry-after-ms", "250"), ("retry-after", "1")]);
        assert_eq!(rate_limit_reset(&h, now), Some(Duration::from_millis(250)));
        assert_eq!(rate_limit_reset(&headers(&[]), now), None);
        assert_eq!(
            rate_limit_reset(&headers(&[("retry-after", "soon")]), now),
            None
        );
    }

    #[test]
    fn openai_resets_of_the_exhausted_limit() {
        let now = SystemTime::now();
        // Out of requests: the request window's reset, not the sooner token one.
        let h = headers(&[
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "6m0s"),
            ("x-ratelimit-remaining-tokens", "5000"),
            ("x-ratelimit-reset-tokens", "20ms"),
        ]);
        assert_eq!(rate_limit_reset(&h, now), Some(Duration::from_secs(360)));
        // Nothing reported exhausted: the soonest reset.
        let h = headers(&[
            ("x-ratelimit-reset-requests", "6m0s"),
            ("x-ratelimit-reset-tokens", "1s"),
        ]);
        assert_eq!(rate_limit_reset(&h, now), Some(Duration::from_secs(1)));
    }

    #[test]
    fn anthropic_resets_as_rfc3339_times() {
        let now = at("2026-03-01T12:00:00Z");
        let h = headers(&[
            ("anthropic-ratelimit-requests-remaining", "10"),
            ("anthropic-ratelimit-requests-reset", "2026-03-01T12:00:05Z"),
            ("anthropic-ratelimit-tokens-remaining", "0"),
            ("anthropic-ratelimit-tokens-reset", "2026-03-01T12:01:00Z"),
            ("anthropic-ratelimit-input-tokens-remaining", "0"),
            (
                "anthropic-ratelimit-input-tokens-reset",
                "2026-03-01T12:00:40+00:00",
            ),
        ]);
        assert_eq!(rate_limit_reset(&h, now), Some(Duration::from_secs(60)));
        // A reset in the past is now.
        let h = headers(&[("anthropic-ratelimit-requests-reset", "2026-03-01T11:00:00Z")]);
        assert_eq!(rate_limit_reset(&h, now), Some(Duration::ZERO));
        // Far out is held to a day.
        let h = headers(&[("x-ratelimit-reset-requests", "100h")]);
        assert_eq!(rate_limit_reset(&h, now), Some(MAX_RESET));
    }
}
