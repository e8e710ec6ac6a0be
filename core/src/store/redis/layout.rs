//! Where the redis store keeps things, and how records are written as hash
//! fields. Every name starts with the configured prefix (`mws:` by default):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `acct:{id}` | hash | name, balance, lifetime, plan, quota_used, quota_period, created_at, reserved, quota_reserved |
//! | `accounts` | set | account ids |
//! | `account_names` | hash | name → the first account of that name |
//! | `key:{id}` | hash | account_id, name, hash (hex), prefix, rpm, tpm, revoked, created_at |
//! | `keys`, `acct_keys:{account}` | set | key ids, all and per account |
//! | `res` | hash | request id → "account from_quota from_balance instance" |
//! | `inst:{instance}` | set | request ids an instance holds reservations for |
//! | `instances` | sorted set | instance → its last heartbeat (ms, server clock) |
//! | `done:{request id}` | string | settled marker, expires after a day |
//! | `ledger:{account}` | stream | one entry per settled request: time, request_id, key_id, profile, input_tokens (all of the input), cache_read_tokens and cache_write_tokens (parts of it; absent from older entries, read as 0), output_tokens, cost, status |
//! | `totals:{account}` | hash | requests, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, cost |
//! | `rl:{subject}` | hash | start, requests, tokens of a one-minute window |
//! | `resp:{id}` | hash | a stored response: owner, created_at, expires_at, input_items and response (JSON text); expires with it |
//! | `resps:{account}` | sorted set | the account's response ids by `resp_seq` (the order they were put in), for its cap; expires with its newest |
//! | `resp_seq` | counter | bumped by every stored response |
//! | `version` | counter | bumped by every change to an account or key |
//! | `changes` | pub/sub channel | `acct:{id}` / `key:{id}` after such a change |
//! | `deployments` | hash | deployment (`upstream/model`) → "cooldown_until open_until stamp" (Unix ms), shared deployment health; expires a day after its last write |
//!
//! Scripts touch keys they derive (an instance's set, a reservation's
//! account), so the store wants one Redis server (or a primary with
//! replicas), not Redis Cluster.

use std::collections::HashMap;

use crate::accounts::keys::{hex, KeyHash};
use crate::accounts::{Account, KeyRecord, LedgerRow};
use crate::store::StoredResponse;

#[derive(Debug, Clone)]
pub struct Layout {
    pub prefix: String,
    /// This process's instance id, which its reservations are filed under.
    pub me: String,
}

impl Layout {
    fn at(&self, what: &str, id: &str) -> String {
        format!("{}{what}{id}", self.prefix)
    }
    pub fn account(&self, id: &str) -> String {
        self.at("acct:", id)
    }
    pub fn accounts(&self) -> String {
        self.at("accounts", "")
    }
    pub fn account_names(&self) -> String {
        self.at("account_names", "")
    }
    pub fn key(&self, id: &str) -> String {
        self.at("key:", id)
    }
    pub fn keys(&self) -> String {
        self.at("keys", "")
    }
    pub fn deployments(&self) -> String {
        self.at("deployments", "")
    }
    pub fn account_keys(&self, account: &str) -> String {
        self.at("acct_keys:", account)
    }
    pub fn reservations(&self) -> String {
        self.at("res", "")
    }
    pub fn instance(&self, id: &str) -> String {
        self.at("inst:", id)
    }
    pub fn instances(&self) -> String {
        self.at("instances", "")
    }
    pub fn done(&self, request_id: &str) -> String {
        self.at("done:", request_id)
    }
    pub fn ledger(&self, account: &str) -> String {
        self.at("ledger:", account)
    }
    pub fn totals(&self, account: &str) -> String {
        self.at("totals:", account)
    }
    pub fn window(&self, subject: &str) -> String {
        self.at("rl:", subject)
    }
    pub fn response(&self, id: &str) -> String {
        self.at("resp:", id)
    }
    pub fn account_responses(&self, account: &str) -> String {
        self.at("resps:", account)
    }
    pub fn response_seq(&self) -> String {
        self.at("resp_seq", "")
    }
    pub fn version(&self) -> String {
        self.at("version", "")
    }
    pub fn channel(&self) -> String {
        self.at("changes", "")
    }
}

type Fields = HashMap<String, String>;

fn num<T: std::str::FromStr + Default>(f: &Fields, name: &str) -> T {
    f.get(name).and_then(|v| v.parse().ok()).unwrap_or_default()
}

fn opt<T: std::str::FromStr>(f: &Fields, name: &str) -> Option<T> {
    f.get(name).and_then(|v| v.parse().ok())
}

fn text(f: &Fields, name: &str) -> String {
    f.get(name).cloned().unwrap_or_default()
}

/// The fields a new account is written with; `reserved` and
/// `quota_reserved` start at zero.
pub fn account_fields(a: &Account) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("name", a.name.clone()),
        ("balance", a.balance_nanos.to_string()),
        ("lifetime", a.lifetime_spend_nanos.to_string()),
        ("quota_used", a.quota_used_nanos.to_string()),
        ("quota_period", a.quota_period.to_string()),
        ("created_at", a.created_at.to_string()),
        ("reserved", "0".into()),
        ("quota_reserved", "0".into()),
    ];
    if let Some(plan) = &a.plan {
        f.push(("plan", plan.clone()));
    }
    f
}

/// An account from its hash; `None` when the hash is empty (no such key).
pub fn account_from(id: &str, f: &Fields) -> Option<Account> {
    if f.is_empty() {
        return None;
    }
    Some(Account {
        id: id.to_string(),
        name: text(f, "name"),
        balance_nanos: num(f, "balance"),
        lifetime_spend_nanos: num(f, "lifetime"),
        plan: f.get("plan").cloned(),
        quota_used_nanos: num(f, "quota_used"),
        quota_period: num(f, "quota_period"),
        created_at: num(f, "created_at"),
    })
}

pub fn key_fields(k: &KeyRecord) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("account_id", k.account_id.clone()),
        ("name", k.name.clone()),
        ("hash", hex(&k.hash)),
        ("prefix", k.prefix.clone()),
        ("revoked", if k.revoked { "1" } else { "0" }.into()),
        ("created_at", k.created_at.to_string()),
    ];
    if let Some(rpm) = k.rpm {
        f.push(("rpm", rpm.to_string()));
    }
    if let Some(tpm) = k.tpm {
        f.push(("tpm", tpm.to_string()));
    }
    f
}

fn unhex(s: &str) -> Option<KeyHash> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A key from its hash; `None` when empty or its hash is unreadable.
pub fn key_from(id: &str, f: &Fields) -> Option<KeyRecord> {
    Some(KeyRecord {
        id: id.to_string(),
        account_id: f.get("account_id")?.clone(),
        name: text(f, "name"),
        hash: unhex(f.get("hash")?)?,
        prefix: text(f, "prefix"),
        rpm: opt(f, "rpm"),
        tpm: opt(f, "tpm"),
        revoked: f.get("revoked").is_some_and(|v| v == "1"),
        created_at: num(f, "created_at"),
    })
}

/// A ledger row from a stream entry's fields.
pub fn row_from(account_id: &str, f: &Fields) -> LedgerRow {
    LedgerRow {
        time: num(f, "time"),
        request_id: text(f, "request_id"),
        account_id: account_id.to_string(),
        key_id: text(f, "key_id"),
        profile: text(f, "profile"),
        input_tokens: num(f, "input_tokens"),
        cache_read_tokens: num(f, "cache_read_tokens"),
        cache_write_tokens: num(f, "cache_write_tokens"),
        output_tokens: num(f, "output_tokens"),
        cost_nanos: num(f, "cost"),
        status: num(f, "status"),
    }
}

/// The fields of a stored response's hash, in the order `response_from`
/// reads them (HMGET); put_response.lua writes them.
pub const RESPONSE_FIELDS: [&str; 5] = [
    "owner",
    "created_at",
    "expires_at",
    "input_items",
    "response",
];

/// A stored response from its `RESPONSE_FIELDS`; `None` when the hash is
/// gone (no owner), an error when its JSON is unreadable.
pub fn response_from(
    id: &str,
    f: Vec<Option<String>>,
) -> serde_json::Result<Option<StoredResponse>> {
    let Ok([Some(owner), created_at, expires_at, input_items, response]) =
        <[Option<String>; 5]>::try_from(f)
    else {
        return Ok(None);
    };
    let number = |v: Option<String>| v.and_then(|v| v.parse().ok()).unwrap_or_default();
    let json = |v: Option<String>| serde_json::from_str(v.as_deref().unwrap_or("null"));
    Ok(Some(StoredResponse {
        id: id.to_string(),
        account_id: owner,
        created_at: number(created_at),
        expires_at: number(expires_at),
        input_items: json(input_items)?,
        response: json(response)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::keys::hash_key;

    #[test]
    fn records_survive_their_hash_fields() {
        let a = Account {
            id: "acct_1".into(),
            name: "team".into(),
            balance_nanos: -5,
            lifetime_spend_nanos: 9_007_199_254_740_991,
            plan: Some("pro".into()),
            quota_used_nanos: 3,
            quota_period: 202_607,
            created_at: 17,
        };
        let f: Fields = account_fields(&a)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(account_from("acct_1", &f), Some(a));
        assert_eq!(account_from("acct_1", &Fields::new()), None);
        let k = KeyRecord {
            id: "key_1".into(),
            account_id: "acct_1".into(),
            name: "k".into(),
            hash: hash_key("mws_live_x"),
            prefix: "mws_live_x".into(),
            rpm: Some(5),
            tpm: None,
            revoked: true,
            created_at: 3,
        };
        let f: Fields = key_fields(&k)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(key_from("key_1", &f), Some(k));
    }

    #[test]
    fn ledger_entries_from_before_the_cache_fields_read_as_no_cache_tokens() {
        let f: Fields = [
            ("time", "5"),
            ("request_id", "req_1"),
            ("key_id", "key_1"),
            ("profile", "dragon"),
            ("input_tokens", "30"),
            ("output_tokens", "4"),
            ("cost", "100"),
            ("status", "200"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let r = row_from("acct_1", &f);
        assert_eq!(
            (
                r.input_tokens,
                r.cache_read_tokens,
                r.cache_write_tokens,
                r.output_tokens,
                r.cost_nanos
            ),
            (30, 0, 0, 4, 100)
        );
    }
}
