//! Accounts, keys and the usage ledger as the admin API, the CLI and the
//! in-process surfaces see them; the store keeps them.

pub mod admin;
pub mod keys;
pub mod money;
pub mod ops;
pub mod tiers;
pub mod usage;

use serde_json::{json, Value};

use money::usd_json;

/// An account with its money in nano-dollars.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub balance_nanos: i64,
    pub lifetime_spend_nanos: i64,
    pub plan: Option<String>,
    /// Quota spent in `quota_period` (a `YYYYMM` month), for plans with a quota.
    pub quota_used_nanos: i64,
    pub quota_period: u32,
    pub created_at: i64,
}

impl Account {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "balance_usd": usd_json(self.balance_nanos),
            "lifetime_spend_usd": usd_json(self.lifetime_spend_nanos),
            "plan": self.plan,
            "created_at": self.created_at,
        })
    }
}

/// A key without its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub hash: keys::KeyHash,
    /// The first characters, so a person can tell keys apart.
    pub prefix: String,
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
    pub revoked: bool,
    pub created_at: i64,
}

impl KeyRecord {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "account_id": self.account_id,
            "name": self.name,
            "prefix": self.prefix,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "revoked": self.revoked,
            "created_at": self.created_at,
        })
    }
}

/// One settled request.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerRow {
    pub time: i64,
    pub request_id: String,
    pub account_id: String,
    pub key_id: String,
    pub profile: String,
    /// Every input token, cache reads and writes included, so readers that
    /// know only `input_tokens` still see the whole input.
    pub input_tokens: u64,
    /// The part of `input_tokens` read from the upstream's prompt cache.
    pub cache_read_tokens: u64,
    /// The part of `input_tokens` written to the upstream's prompt cache.
    pub cache_write_tokens: u64,
    pub output_tokens: u64,
    pub cost_nanos: i64,
    pub status: u16,
}

impl LedgerRow {
    pub fn to_json(&self) -> Value {
        json!({
            "time": self.time,
            "request_id": self.request_id,
            "account_id": self.account_id,
            "key_id": self.key_id,
            "profile": self.profile,
            "input_tokens": self.input_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": usd_json(self.cost_nanos),
            "status": self.status,
        })
    }
}

/// The current month as `YYYYMM`, the period plan quotas reset on.
pub fn current_period() -> u32 {
    let now = time::OffsetDateTime::now_utc();
    now.year() as u32 * 100 + u32::from(u8::from(now.month()))
}
