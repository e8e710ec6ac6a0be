//! The usage report of an account: its ledger rows (optionally one profile's,
//! optionally a page of them), totals, and sums by profile and by UTC day for
//! charts. Built from the rows the store returns, so every back end gives the
//! same report.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::money::usd_json;
use super::LedgerRow;
use crate::{Error, Result};

/// Largest page of ledger rows one call returns.
pub const MAX_PAGE: usize = 1000;
/// Most days a daily series covers.
pub const MAX_DAYS: u32 = 366;
/// Days in a daily series when `by=day` names no `days`.
pub const DEFAULT_DAYS: u32 = 30;

const SECONDS_PER_DAY: i64 = 86_400;

/// What a usage call asks for. The default is the whole ledger, oldest first,
/// with its totals: the admin API's original answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageQuery {
    /// Rows on one page; `None` gives every row (with no `page` object).
    pub limit: Option<usize>,
    pub offset: usize,
    /// `order=desc`: the newest row first.
    pub newest_first: bool,
    /// Only this profile's rows (and totals, sums and series).
    pub profile: Option<String>,
    /// `by=day`: a series of this many UTC days ending today, and sums by profile.
    pub days: Option<u32>,
}

fn number<T: std::str::FromStr + PartialOrd>(name: &str, value: &str, min: T, max: T) -> Result<T> {
    value
        .parse::<T>()
        .ok()
        .filter(|v| *v >= min && *v <= max)
        .ok_or_else(|| {
            Error::invalid_field(
                name,
                format!("expected a whole number in the allowed range, got {value:?}"),
            )
        })
}

impl UsageQuery {
    /// From query-string pairs: `limit`, `offset`, `order` (`asc`|`desc`),
    /// `profile`, `by` (`day`) and `days`. Anything else is a 400 naming it.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self> {
        let mut q = UsageQuery::default();
        let mut by_day = false;
        for (name, value) in pairs {
            match name.as_str() {
                "limit" => q.limit = Some(number(name, value, 1, MAX_PAGE)?),
                "offset" => {
                    q.offset = number(name, value, 0, usize::MAX)?;
                    q.limit.get_or_insert(MAX_PAGE);
                }
                "order" => {
                    q.newest_first = match value.as_str() {
                        "asc" => false,
                        "desc" => true,
                        _ => {
                            return Err(Error::invalid_field(
                                "order",
                                format!("expected \"asc\" or \"desc\", got {value:?}"),
                            ))
                        }
                    };
                    q.limit.get_or_insert(MAX_PAGE);
                }
                "profile" if !value.is_empty() => q.profile = Some(value.clone()),
                "profile" => {}
                "by" if value == "day" => by_day = true,
                "by" => {
                    return Err(Error::invalid_field(
                        "by",
                        format!("expected \"day\", got {value:?}"),
                    ))
                }
                "days" => {
                    q.days = Some(number(name, value, 1, MAX_DAYS)?);
                    by_day = true;
                }
                other => return Err(Error::invalid_field(
                    other,
                    "unknown query parameter: expected limit, offset, order, profile, by or days",
                )),
            }
        }
        if by_day {
            q.days.get_or_insert(DEFAULT_DAYS);
        }
        Ok(q)
    }
}

/// Requests, tokens and cost added up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sum {
    requests: u64,
    input_tokens: u64,
    cache_read_tokens: u64,
    cache_write_tokens: u64,
    output_tokens: u64,
    cost_nanos: i64,
}

impl Sum {
    fn add(&mut self, r: &LedgerRow) {
        self.requests += 1;
        self.input_tokens += r.input_tokens;
        self.cache_read_tokens += r.cache_read_tokens;
        self.cache_write_tokens += r.cache_write_tokens;
        self.output_tokens += r.output_tokens;
        self.cost_nanos += r.cost_nanos;
    }

    fn to_json(self) -> Value {
        json!({
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": usd_json(self.cost_nanos),
        })
    }
}

fn by_profile<'a>(rows: impl Iterator<Item = &'a LedgerRow>) -> BTreeMap<&'a str, Sum> {
    let mut sums: BTreeMap<&str, Sum> = BTreeMap::new();
    for r in rows {
        sums.entry(r.profile.as_str()).or_default().add(r);
    }
    sums
}

fn profiles_json(sums: &BTreeMap<&str, Sum>) -> Value {
    Value::Array(
        sums.iter()
            .map(|(p, s)| {
                let mut v = s.to_json();
                v["profile"] = json!(p);
                v
            })
            .collect(),
    )
}

/// `YYYY-MM-DD` of a day counted from the Unix epoch.
fn date_of(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day * SECONDS_PER_DAY).map_or_else(
        |_| day.to_string(),
        |t| {
            let d = t.date();
            format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
        },
    )
}

/// `days` UTC days ending with the one holding `now`, oldest first, each with
/// its sums and its sums by profile; days without requests are zero.
fn daily(rows: &[&LedgerRow], days: u32, now: i64) -> Value {
    let last = now.div_euclid(SECONDS_PER_DAY);
    let first = last - i64::from(days) + 1;
    let mut buckets: Vec<Vec<&LedgerRow>> = vec![Vec::new(); days as usize];
    for r in rows {
        let day = r.time.div_euclid(SECONDS_PER_DAY);
        if let Some(b) = usize::try_from(day - first)
            .ok()
            .and_then(|i| buckets.get_mut(i))
        {
            b.push(r);
        }
    }
    Value::Array(
        buckets
            .iter()
            .zip(first..)
            .map(|(rows, day)| {
                let mut total = Sum::default();
                rows.iter().for_each(|r| total.add(r));
                let mut v = total.to_json();
                v["date"] = json!(date_of(day));
                v["profiles"] = profiles_json(&by_profile(rows.iter().copied()));
                v
            })
            .collect(),
    )
}

/// The report for `rows` (one account's ledger, oldest first) at time `now`.
pub fn report(account_id: &str, rows: &[LedgerRow], q: &UsageQuery, now: i64) -> Value {
    let rows: Vec<&LedgerRow> = rows
        .iter()
        .filter(|r| q.profile.as_deref().is_none_or(|p| r.profile == p))
        .collect();
    let mut total = Sum::default();
    rows.iter().for_each(|r| total.add(r));
    let ordered: Box<dyn Iterator<Item = &&LedgerRow>> = if q.newest_first {
        Box::new(rows.iter().rev())
    } else {
        Box::new(rows.iter())
    };
    let page: Vec<Value> = ordered
        .skip(if q.limit.is_some() { q.offset } else { 0 })
        .take(q.limit.unwrap_or(usize::MAX))
        .map(|r| r.to_json())
        .collect();
    let mut v = json!({
        "account_id": account_id,
        "data": page,
        "totals": total.to_json(),
    });
    if let Some(limit) = q.limit {
        let shown = v["data"].as_array().map_or(0, Vec::len);
        v["page"] = json!({
            "limit": limit,
            "offset": q.offset,
            "order": if q.newest_first { "desc" } else { "asc" },
            "rows": rows.len(),
            "has_more": q.offset.saturating_add(shown) < rows.len(),
        });
    }
    if let Some(p) = &q.profile {
        v["profile"] = json!(p);
    }
    if let Some(days) = q.days {
        v["by_profile"] = profiles_json(&by_profile(rows.iter().copied()));
        v["daily"] = daily(&rows, days, now);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = SECONDS_PER_DAY;
    /// 2026-11-25T12:00:00Z.
    const NOW: i64 = 1_795_608_000;

    fn row(n: usize, time: i64, profile: &str) -> LedgerRow {
        LedgerRow {
            time,
            request_id: format!("req_{n}"),
            account_id: "acct_a".into(),
            key_id: "key_a".into(),
            profile: profile.into(),
            input_tokens: 10,
            cache_read_tokens: 4,
            cache_write_tokens: 1,
            output_tokens: 5,
            cost_nanos: 1_000,
            status: 200,
        }
    }

    fn pairs(q: &str) -> Vec<(String, String)> {
        q.split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn ids(v: &Value) -> Vec<&str> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["request_id"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn no_parameters_keep_the_original_shape() {
        let rows: Vec<_> = (0..3).map(|i| row(i, NOW, "dragon")).collect();
        let v = report("acct_a", &rows, &UsageQuery::from_pairs(&[]).unwrap(), NOW);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["account_id", "data", "totals"]);
        assert_eq!(ids(&v), ["req_0", "req_1", "req_2"]);
        assert_eq!(
            v["totals"],
            json!({"requests": 3, "input_tokens": 30, "cache_read_tokens": 12, "cache_write_tokens": 3,
                   "output_tokens": 15, "cost_usd": 0.000003})
        );
        assert_eq!(v["data"][0]["cache_read_tokens"], 4);
        assert_eq!(v["data"][0]["cache_write_tokens"], 1);
    }

    #[test]
    fn pages_newest_first_with_totals_over_every_row() {
        let rows: Vec<_> = (0..5).map(|i| row(i, NOW, "dragon")).collect();
        let q = UsageQuery::from_pairs(&pairs("limit=2&offset=2&order=desc")).unwrap();
        let v = report("acct_a", &rows, &q, NOW);
        assert_eq!(ids(&v), ["req_2", "req_1"]);
        assert_eq!(
            v["page"],
            json!({"limit": 2, "offset": 2, "order": "desc", "rows": 5, "has_more": true})
        );
        assert_eq!(v["totals"]["requests"], 5);
        let last = UsageQuery::from_pairs(&pairs("limit=2&offset=4")).unwrap();
        let v = report("acct_a", &rows, &last, NOW);
        assert_eq!(ids(&v), ["req_4"]);
        assert_eq!(v["page"]["has_more"], false);
    }

    #[test]
    fn days_are_zero_filled_and_split_by_profile() {
        let rows = vec![
            row(0, NOW - 40 * DAY, "dragon"),
            row(1, NOW - 2 * DAY, "dragon"),
            row(2, NOW - 2 * DAY + 60, "dragon-pro"),
            row(3, NOW, "dragon"),
        ];
        let q = UsageQuery::from_pairs(&pairs("by=day&days=3")).unwrap();
        let v = report("acct_a", &rows, &q, NOW);
        let daily = v["daily"].as_array().unwrap();
        let dates: Vec<&str> = daily.iter().map(|d| d["date"].as_str().unwrap()).collect();
        assert_eq!(dates, ["2026-11-23", "2026-11-24", "2026-11-25"]);
        let requests: Vec<u64> = daily
            .iter()
            .map(|d| d["requests"].as_u64().unwrap())
            .collect();
        assert_eq!(requests, [2, 0, 1]);
        assert_eq!(
            daily[0]["profiles"],
            json!([
                {"requests": 1, "input_tokens": 10, "cache_read_tokens": 4, "cache_write_tokens": 1, "output_tokens": 5, "cost_usd": 0.000001, "profile": "dragon"},
                {"requests": 1, "input_tokens": 10, "cache_read_tokens": 4, "cache_write_tokens": 1, "output_tokens": 5, "cost_usd": 0.000001, "profile": "dragon-pro"},
            ])
        );
        // Sums by profile and totals cover every row, the old one included.
        assert_eq!(v["by_profile"][0]["requests"], 3);
        assert_eq!(v["totals"]["requests"], 4);
        assert_eq!(
            UsageQuery::from_pairs(&pairs("by=day")).unwrap().days,
            Some(DEFAULT_DAYS)
        );
    }

    #[test]
    fn one_profile_filters_rows_totals_and_series() {
        let rows = vec![row(0, NOW, "dragon"), row(1, NOW, "dragon-pro")];
        let q = UsageQuery::from_pairs(&pairs("profile=dragon-pro&by=day&days=1")).unwrap();
        let v = report("acct_a", &rows, &q, NOW);
        assert_eq!(ids(&v), ["req_1"]);
        assert_eq!(v["totals"]["requests"], 1);
        assert_eq!(v["daily"][0]["requests"], 1);
        assert_eq!(v["profile"], "dragon-pro");
    }

    #[test]
    fn bad_parameters_name_themselves() {
        for (q, param) in [
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=x", "limit"),
            ("offset=-1", "offset"),
            ("order=up", "order"),
            ("by=week", "by"),
            ("days=0", "days"),
            ("days=400", "days"),
            ("cursor=1", "cursor"),
        ] {
            let e = UsageQuery::from_pairs(&pairs(q)).unwrap_err();
            assert_eq!((e.http_status(), e.param()), (400, Some(param)), "{q}");
        }
    }
}
