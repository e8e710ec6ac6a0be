//! Money in integer nano-dollars, never floats in accounting. USD amounts cross
//! the API as JSON numbers with up to 9 decimals and are parsed from their text.

use serde_json::Value;

use crate::canonical::Usage;
use crate::{Error, Result};

pub const NANOS_PER_USD: i64 = 1_000_000_000;

/// Nano-dollars from a USD decimal string such as `25`, `0.000000001`, `1e-3`.
pub fn parse_usd(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (mantissa, exp) = match t.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    // Digits as one integer, then scaled to 9 decimals; more than 9 is refused.
    let digits = format!("{int}{frac}");
    let scale = 9 + exp - frac.len() as i32;
    let trimmed = digits.trim_start_matches('0');
    let mut value: i128 = if trimmed.is_empty() {
        0
    } else {
        trimmed.parse().ok()?
    };
    if scale >= 0 {
        value = value.checked_mul(10i128.checked_pow(scale as u32)?)?;
    } else {
        let div = 10i128.checked_pow((-scale) as u32)?;
        if value % div != 0 {
            return None;
        }
        value /= div;
    }
    let v = i64::try_from(value).ok()?;
    Some(if neg { -v } else { v })
}

/// A USD amount field of a JSON body, as nano-dollars.
pub fn usd_field(body: &Value, field: &str) -> Result<i64> {
    match body.get(field) {
        Some(Value::Number(n)) => parse_usd(&n.to_string()).ok_or_else(|| {
            Error::invalid_field(
                field,
                format!("expected a USD amount with at most 9 decimals, got {n}"),
            )
        }),
        Some(Value::String(s)) => parse_usd(s).ok_or_else(|| {
            Error::invalid_field(
                field,
                format!("expected a USD amount with at most 9 decimals, got {s:?}"),
            )
        }),
        Some(_) => Err(Error::invalid_field(field, "expected a number of USD")),
        None => Err(Error::invalid_field(field, "field required")),
    }
}

/// Nano-dollars as a JSON number of USD.
pub fn usd_json(nanos: i64) -> Value {
    // i64 nanos → f64 USD is exact to the printed 9 decimals for any balance
    // below ten million dollars, which is what serde prints back.
    let v = nanos as f64 / NANOS_PER_USD as f64;
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// A config amount in USD (a price per million tokens, a quota) as nano-dollars.
pub fn usd_to_nanos(usd: f64) -> i64 {
    (usd * NANOS_PER_USD as f64).round() as i64
}

/// A profile's prices in nano-dollars per million tokens, one for each kind of
/// token a usage counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prices {
    pub input: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    pub output: i64,
}

/// Cost of `usage` in nano-dollars: uncached input, cache reads, cache writes
/// and output each at its price, rounded up once so no fraction goes unbilled.
/// Past what i64 holds (absurd prices or counts) it is `i64::MAX`.
pub fn cost_nanos(usage: &Usage, prices: &Prices) -> i64 {
    let parts = [
        (usage.input_tokens, prices.input),
        (usage.cache_read_input_tokens, prices.cache_read),
        (usage.cache_creation_input_tokens, prices.cache_write),
        (usage.output_tokens, prices.output),
    ];
    parts
        .iter()
        .try_fold(0i128, |sum, &(tokens, price)| {
            sum.checked_add(i128::from(tokens).checked_mul(i128::from(price))?)
        })
        .and_then(|total| total.checked_add(999_999))
        .and_then(|total| i64::try_from(total / 1_000_000).ok())
        .unwrap_or(i64::MAX)
}

/// The most `input` tokens and `max_output` can cost: before the answer nobody
/// knows how the upstream splits the input between uncached, cache reads and
/// cache writes, so every input token is priced at the highest of the three.
pub fn worst_cost_nanos(input: u64, max_output: u64, prices: &Prices) -> i64 {
    let worst_input = prices.input.max(prices.cache_read).max(prices.cache_write);
    let usage = Usage {
        input_tokens: input,
        output_tokens: max_output,
        ..Usage::default()
    };
    cost_nanos(
        &usage,
        &Prices {
            input: worst_input,
            ..*prices
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_usd_exactly() {
        assert_eq!(parse_usd("25"), Some(25 * NANOS_PER_USD));
        assert_eq!(parse_usd("0.000000001"), Some(1));
        assert_eq!(parse_usd("12.5"), Some(12_500_000_000));
        assert_eq!(parse_usd("1e-3"), Some(1_000_000));
        assert_eq!(parse_usd("-2"), Some(-2 * NANOS_PER_USD));
        assert_eq!(parse_usd("0.0000000001"), None);
        assert_eq!(parse_usd("abc"), None);
        assert_eq!(parse_usd(""), None);
    }

    fn usage(input: u64, cache_read: u64, cache_write: u64, output: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_input_tokens: cache_read,
            cache_creation_input_tokens: cache_write,
        }
    }

    #[test]
    fn costs_in_nanos() {
        let (pin, pout) = (usd_to_nanos(0.48), usd_to_nanos(1.08));
        assert_eq!((pin, pout), (480_000_000, 1_080_000_000));
        let prices = Prices {
            input: pin,
            cache_read: pin,
            cache_write: pin,
            output: pout,
        };
        // 1000 in at $0.48/M = 480,000 nanos; 500 out at $1.08/M = 540,000 nanos.
        assert_eq!(cost_nanos(&usage(1000, 0, 0, 500), &prices), 1_020_000);
        // A fraction of a nano-dollar is rounded up.
        let one = Prices {
            input: 1,
            ..Prices::default()
        };
        assert_eq!(cost_nanos(&usage(1, 0, 0, 0), &one), 1);
        assert_eq!(usd_json(25 * NANOS_PER_USD), serde_json::json!(25.0));
        assert_eq!(usd_json(1_020_000).to_string(), "0.00102");
    }

    #[test]
    fn cache_reads_and_writes_cost_their_own_prices() {
        let prices = Prices {
            input: usd_to_nanos(3.0),
            cache_read: usd_to_nanos(0.30),
            cache_write: usd_to_nanos(3.75),
            output: usd_to_nanos(15.0),
        };
        // 200 uncached in at $3/M = 600,000; 10,000 cache reads at $0.30/M =
        // 3,000,000; 1,000 cache writes at $3.75/M = 3,750,000; 50 out at
        // $15/M = 750,000.
        assert_eq!(
            cost_nanos(&usage(200, 10_000, 1_000, 50), &prices),
            8_100_000
        );
        // Cache reads alone: 7 at $0.30/M = 2,100 nanos exactly, where the
        // input price would have made it 21,000.
        assert_eq!(cost_nanos(&usage(0, 7, 0, 0), &prices), 2_100);
        // Rounded up once over the sum, not per kind: 1 read at 0.3 nanos
        // plus 1 write at 0.6 nanos is 0.9, billed as 1 (not 1 + 1).
        let tiny = Prices {
            input: 0,
            cache_read: 300_000,
            cache_write: 600_000,
            output: 0,
        };
        assert_eq!(cost_nanos(&usage(0, 1, 1, 0), &tiny), 1);
        // Beyond what i64 holds it saturates instead of wrapping.
        let dearest = Prices {
            input: i64::MAX,
            cache_read: i64::MAX,
            cache_write: i64::MAX,
            output: i64::MAX,
        };
        let most = usage(u64::MAX, u64::MAX, u64::MAX, u64::MAX);
        assert_eq!(cost_nanos(&most, &dearest), i64::MAX);
    }

    #[test]
    fn the_worst_case_prices_input_at_the_dearest_kind() {
        let prices = Prices {
            input: usd_to_nanos(3.0),
            cache_read: usd_to_nanos(0.30),
            cache_write: usd_to_nanos(3.75),
            output: usd_to_nanos(15.0),
        };
        // 1,000 in at the write price $3.75/M plus 100 out at $15/M.
        assert_eq!(worst_cost_nanos(1_000, 100, &prices), 3_750_000 + 1_500_000);
        // It covers any split of those 1,000 input tokens.
        for (fresh, read, write) in [(1_000, 0, 0), (0, 1_000, 0), (0, 0, 1_000), (300, 300, 400)] {
            assert!(
                cost_nanos(&usage(fresh, read, write, 100), &prices)
                    <= worst_cost_nanos(1_000, 100, &prices)
            );
        }
        // Cache prices below the input price leave the input price the worst.
        let cheap_cache = Prices {
            cache_write: 0,
            ..prices
        };
        assert_eq!(worst_cost_nanos(1_000, 0, &cheap_cache), 3_000_000);
    }
}
