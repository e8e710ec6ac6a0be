//! Money in integer nano-dollars, never floats in accounting. USD amounts cross
//! the API as JSON numbers with up to 9 decimals and are parsed from their text.

use serde_json::Value;

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

/// Cost of a request in nano-dollars, rounded up so no fraction goes unbilled.
pub fn cost_nanos(
    input_tokens: u64,
    output_tokens: u64,
    in_per_mtok: i64,
    out_per_mtok: i64,
) -> i64 {
    let total = i128::from(input_tokens) * i128::from(in_per_mtok)
        + i128::from(output_tokens) * i128::from(out_per_mtok);
    let cost = (total + 999_999) / 1_000_000;
    i64::try_from(cost).unwrap_or(i64::MAX)
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

    #[test]
    fn costs_in_nanos() {
        let (pin, pout) = (usd_to_nanos(0.48), usd_to_nanos(1.08));
        assert_eq!((pin, pout), (480_000_000, 1_080_000_000));
        // 1000 in at $0.48/M = 480,000 nanos; 500 out at $1.08/M = 540,000 nanos.
        assert_eq!(cost_nanos(1000, 500, pin, pout), 1_020_000);
        // A fraction of a nano-dollar is rounded up.
        assert_eq!(cost_nanos(1, 0, 1, 0), 1);
        assert_eq!(usd_json(25 * NANOS_PER_USD), serde_json::json!(25.0));
        assert_eq!(usd_json(1_020_000).to_string(), "0.00102");
    }
}
