//! Request and token ceilings over one-minute windows, and the figures the
//! `x-ratelimit-*` headers report. Keyed by anything: client IP now, accounts
//! and keys later.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{Error, ErrorKind};

pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// Windows kept before stale ones are swept.
const SWEEP_AT: usize = 4096;

/// The binding limit at one moment, as the headers report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSnapshot {
    pub limit_requests: u64,
    pub remaining_requests: u64,
    pub reset_requests: Duration,
    pub limit_tokens: u64,
    pub remaining_tokens: u64,
    pub reset_tokens: Duration,
}

impl LimitSnapshot {
    /// The figures of a window that has counted `requests` and `tokens` and
    /// ends in `reset`.
    pub fn of(rpm: u64, tpm: u64, requests: u64, tokens: u64, reset: Duration) -> Self {
        LimitSnapshot {
            limit_requests: rpm,
            remaining_requests: rpm.saturating_sub(requests),
            reset_requests: reset,
            limit_tokens: tpm,
            remaining_tokens: tpm.saturating_sub(tokens),
            reset_tokens: reset,
        }
    }

    /// What to report when the store that counts cannot answer: the
    /// ceilings, nothing promised, and a look again in a second.
    pub fn unknown(rpm: u64, tpm: u64) -> Self {
        LimitSnapshot::of(rpm, tpm, rpm, tpm, Duration::from_secs(1))
    }
}

/// Whether one more request fits a window that has counted `requests` and
/// `tokens`: requests are checked first, then tokens (admitted while any
/// remain, so one large request is not refused forever). Shared by this
/// limiter and the Lua one of the redis store, which calls it with the
/// counts its script read.
pub fn judge(
    rpm: u64,
    tpm: u64,
    requests: u64,
    tokens: u64,
    reset: Duration,
) -> Result<(), Refused> {
    let which = if requests >= rpm {
        "requests"
    } else if tokens >= tpm {
        "tokens"
    } else {
        return Ok(());
    };
    let retry = reset.as_secs() + u64::from(reset.subsec_nanos() > 0);
    Err(Refused {
        snapshot: LimitSnapshot::of(rpm, tpm, requests, tokens, reset),
        which,
        retry_after_secs: retry.max(1),
    })
}

/// A request refused by a ceiling, with the figures to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub snapshot: LimitSnapshot,
    /// `requests` or `tokens`: the ceiling that was reached.
    pub which: &'static str,
    pub retry_after_secs: u64,
}

impl Refused {
    pub fn error(&self) -> Error {
        Error::new(
            ErrorKind::RateLimited,
            format!(
                "rate limit reached: {} per minute; retry in {}s",
                self.which, self.retry_after_secs
            ),
        )
        .with_retry_after(self.retry_after_secs)
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    requests: u64,
    tokens: u64,
}

#[derive(Debug, Default)]
pub struct Limiter<K> {
    windows: Mutex<HashMap<K, Window>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    pub fn new() -> Self {
        Limiter {
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request and `tokens` against `key` if both ceilings allow it.
    /// Tokens are admitted while any remain, so one large request is not refused forever.
    pub fn admit(
        &self,
        key: &K,
        rpm: u64,
        tpm: u64,
        tokens: u64,
    ) -> Result<LimitSnapshot, Refused> {
        let now = Instant::now();
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= SWEEP_AT {
            map.retain(|_, w| now.duration_since(w.started) < WINDOW);
        }
        let w = map.entry(key.clone()).or_insert(Window {
            started: now,
            requests: 0,
            tokens: 0,
        });
        if now.duration_since(w.started) >= WINDOW {
            *w = Window {
                started: now,
                requests: 0,
                tokens: 0,
            };
        }
        let reset = WINDOW.saturating_sub(now.duration_since(w.started));
        let verdict = judge(rpm, tpm, w.requests, w.tokens, reset);
        if verdict.is_ok() {
            w.requests += 1;
            w.tokens = w.tokens.saturating_add(tokens);
        }
        verdict.map(|_| LimitSnapshot::of(rpm, tpm, w.requests, w.tokens, reset))
    }

    /// The figures for `key` without counting a request.
    pub fn peek(&self, key: &K, rpm: u64, tpm: u64) -> LimitSnapshot {
        let now = Instant::now();
        let map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let w = map
            .get(key)
            .filter(|w| now.duration_since(w.started) < WINDOW);
        let reset = w.map_or(WINDOW, |w| {
            WINDOW.saturating_sub(now.duration_since(w.started))
        });
        let (requests, tokens) = w.map_or((0, 0), |w| (w.requests, w.tokens));
        LimitSnapshot::of(rpm, tpm, requests, tokens, reset)
    }

    /// Corrects the tokens counted in the current window by `delta` (the output
    /// learned after admission, or what a reservation overcounted).
    pub fn adjust_tokens(&self, key: &K, delta: i64) {
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = map.get_mut(key) {
            w.tokens = w.tokens.saturating_add_signed(delta);
        }
    }
}

/// A duration as OpenAI writes resets: `120ms`, `1s`, `17.5s`, `6m0s`, `1h2m3s`.
/// Integer arithmetic only: every response formats two of these.
pub fn format_reset(d: Duration) -> String {
    use std::fmt::Write;
    let ms = d.as_millis();
    let mut out = String::with_capacity(12);
    // Writing to a String cannot fail.
    let _ = if ms < 1000 {
        write!(out, "{ms}ms")
    } else if ms < 60_000 {
        let (secs, frac) = (ms / 1000, ms % 1000);
        match frac {
            0 => write!(out, "{secs}s"),
            f if f % 100 == 0 => write!(out, "{secs}.{}s", f / 100),
            f if f % 10 == 0 => write!(out, "{secs}.{:02}s", f / 10),
            f => write!(out, "{secs}.{f:03}s"),
        }
    } else {
        let secs = d.as_secs();
        let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
        if h > 0 {
            write!(out, "{h}h{m}m{s}s")
        } else {
            write!(out, "{m}m{s}s")
        }
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_strings_as_openai_writes_them() {
        assert_eq!(format_reset(Duration::from_millis(120)), "120ms");
        assert_eq!(format_reset(Duration::from_secs(1)), "1s");
        assert_eq!(format_reset(Duration::from_millis(17_500)), "17.5s");
        assert_eq!(format_reset(Duration::from_millis(17_050)), "17.05s");
        assert_eq!(format_reset(Duration::from_millis(17_005)), "17.005s");
        assert_eq!(format_reset(Duration::from_millis(59_999)), "59.999s");
        assert_eq!(format_reset(Duration::from_secs(360)), "6m0s");
        assert_eq!(format_reset(Duration::from_secs(3723)), "1h2m3s");
    }

    #[test]
    fn requests_and_tokens_ceilings() {
        let l = Limiter::new();
        let s = l.admit(&1, 2, 1000, 10).unwrap();
        assert_eq!(
            (s.limit_requests, s.remaining_requests, s.remaining_tokens),
            (2, 1, 990)
        );
        l.admit(&1, 2, 1000, 10).unwrap();
        let r = l.admit(&1, 2, 1000, 10).unwrap_err();
        assert_eq!(r.error().kind(), ErrorKind::RateLimited);
        assert!(r.error().retry_after_secs().unwrap() >= 1);
        assert_eq!(r.snapshot.remaining_requests, 0);
        // Another key has its own window.
        assert!(l.admit(&2, 2, 1000, 10).is_ok());
        l.adjust_tokens(&2, 2000);
        let r = l.admit(&2, 5, 1000, 1).unwrap_err();
        assert!(r.error().message().contains("tokens"));
    }
}
