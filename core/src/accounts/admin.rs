//! The admin operations, one implementation for the admin API, the CLI and the
//! in-process surfaces: JSON in, the same JSON out.

use serde_json::{json, Value};

use super::keys::{hash_key, new_id, new_key};
use super::money::{usd_field, NANOS_PER_USD};
use super::tiers::account_tier;
use super::usage::{self, UsageQuery};
use super::{Account, KeyRecord};
use crate::call::unix_now;
use crate::config::Config;
use crate::fleet::Fleet;
use crate::json_fields::Fields;
use crate::store::{Store, Throttle};
use crate::{Error, ErrorKind, Result};

/// Credits an account must hold to create a key without a plan.
pub const KEY_MIN_CREDITS_NANOS: i64 = 25 * NANOS_PER_USD;

#[derive(Clone, Copy)]
pub struct Admin<'a> {
    pub store: &'a dyn Store,
    pub config: &'a Config,
    /// The deployments and their health.
    pub fleet: &'a Fleet,
}

fn body_fields(body: &Value) -> Result<Fields<'_>> {
    Fields::of(body, "")
}

impl Admin<'_> {
    /// `{"name"}` → the new account.
    pub async fn create_account(&self, body: &Value) -> Result<Value> {
        let name = body_fields(body)?.req_str("name")?.trim();
        if name.is_empty() {
            return Err(Error::invalid_field("name", "expected a non-empty name"));
        }
        Ok(self.store.create_account(name).await?.to_json())
    }

    /// Every deployment with its health (`GET /admin/deployments`).
    pub async fn deployments(&self) -> Result<Value> {
        Ok(self.fleet.report(self.store).await)
    }

    /// Every account, oldest first, each with its current rate-limit tier:
    /// `{"object": "list", "data": [account + "tier"]}`.
    pub async fn list_accounts(&self) -> Result<Value> {
        let accounts = self.store.accounts().await?;
        let data: Vec<Value> = accounts
            .iter()
            .map(|a| {
                let mut v = a.to_json();
                v["tier"] = self.tier_json(a);
                v
            })
            .collect();
        Ok(json!({"object": "list", "data": data}))
    }

    /// `{"index", "rpm", "tpm", "min_lifetime_spend_usd"}` of the tier that
    /// applies to `a` (by lifetime spend and plan); null with no tiers configured.
    fn tier_json(&self, a: &Account) -> Value {
        let index = account_tier(self.config, a);
        self.config
            .limits
            .tiers
            .get(index)
            .map_or(Value::Null, |t| {
                json!({
                    "index": index,
                    "rpm": t.rpm,
                    "tpm": t.tpm,
                    "min_lifetime_spend_usd": t.min_lifetime_spend_usd,
                })
            })
    }

    pub async fn account(&self, id: &str) -> Result<Value> {
        Ok(self.store.account(id).await?.to_json())
    }

    /// `{"amount_usd"}` (positive, up to 9 decimals) → the account.
    pub async fn add_credits(&self, id: &str, body: &Value) -> Result<Value> {
        body_fields(body)?;
        let nanos = usd_field(body, "amount_usd")?;
        if nanos <= 0 {
            return Err(Error::invalid_field(
                "amount_usd",
                "expected a positive amount",
            ));
        }
        Ok(self.store.add_credits(id, nanos).await?.to_json())
    }

    /// `{"plan": "name" | null}` → the account; the plan must be configured.
    pub async fn set_plan(&self, id: &str, body: &Value) -> Result<Value> {
        let f = body_fields(body)?;
        if !f.obj.contains_key("plan") {
            return Err(f.missing("plan"));
        }
        let plan = f.str("plan")?;
        if let Some(p) = plan {
            if !self.config.plans.iter().any(|c| c.name == p) {
                let known: Vec<&str> = self.config.plans.iter().map(|c| c.name.as_str()).collect();
                return Err(Error::invalid_field(
                    "plan",
                    format!(
                        "expected one of the configured plans ({}), got {p:?}",
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(self.store.set_plan(id, plan).await?.to_json())
    }

    /// `{"name", "rpm"?, "tpm"?}` → the key with its secret, shown this once.
    /// 402 unless the account holds $25 of credits or has a plan.
    pub async fn create_key(&self, account_id: &str, body: &Value) -> Result<Value> {
        let f = body_fields(body)?;
        let name = f.str("name")?.unwrap_or("default").to_string();
        let rpm = f.u32("rpm")?;
        let tpm = f.u32("tpm")?.map(u64::from);
        let account = self.store.account(account_id).await?;
        if account.plan.is_none() && account.balance_nanos < KEY_MIN_CREDITS_NANOS {
            return Err(Error::new(
                ErrorKind::InsufficientCredits,
                "a key needs at least $25 of credits or a plan: add credits at /dashboard/credits",
            ));
        }
        let secret = new_key();
        let record = KeyRecord {
            id: new_id("key_"),
            account_id: account.id,
            name,
            hash: hash_key(&secret),
            prefix: secret[..13].to_string(),
            rpm,
            tpm,
            revoked: false,
            created_at: unix_now(),
        };
        let record = self.store.insert_key(record).await?;
        let mut v = record.to_json();
        v["key"] = json!(secret);
        Ok(v)
    }

    pub async fn list_keys(&self, account_id: &str) -> Result<Value> {
        let keys = self.store.keys(account_id).await?;
        Ok(
            json!({"object": "list", "data": keys.iter().map(KeyRecord::to_json).collect::<Vec<_>>()}),
        )
    }

    /// `{"rpm"?, "tpm"?}`, `null` clearing a limit → the key.
    pub async fn update_key(&self, key_id: &str, body: &Value) -> Result<Value> {
        let f = body_fields(body)?;
        let throttle = Throttle {
            rpm: f
                .obj
                .contains_key("rpm")
                .then(|| f.u32("rpm"))
                .transpose()?,
            tpm: f
                .obj
                .contains_key("tpm")
                .then(|| f.u32("tpm").map(|t| t.map(u64::from)))
                .transpose()?,
        };
        Ok(self.store.set_throttle(key_id, throttle).await?.to_json())
    }

    pub async fn revoke_key(&self, key_id: &str) -> Result<Value> {
        Ok(self.store.revoke_key(key_id).await?.to_json())
    }

    /// The ledger rows and their totals.
    pub async fn usage(&self, account_id: &str) -> Result<Value> {
        self.usage_report(account_id, &UsageQuery::default()).await
    }

    /// The ledger as `query` asks: a page of rows, one profile's, sums by day
    /// and by profile (see `usage::report`).
    pub async fn usage_report(&self, account_id: &str, query: &UsageQuery) -> Result<Value> {
        let rows = self.store.ledger(account_id).await?;
        Ok(usage::report(account_id, &rows, query, unix_now()))
    }
}
