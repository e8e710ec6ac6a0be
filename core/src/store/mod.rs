//! One store interface, three back ends: `memory` (tests), `sqlite` (the
//! embedded default) and `redis` (several gateway instances sharing one
//! state). Accounts, keys, balances with reservations, rate-limit windows,
//! the usage ledger and the Responses API's stored responses all live behind
//! it.

pub mod hot;
mod journal;
mod memory;
mod redis;
mod sqlite;
mod sqlite_rows;
mod sqlite_writer;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use hot::Reservation;
pub use memory::MemoryStore;
pub use redis::RedisStore;
pub use sqlite::SqliteStore;

use crate::accounts::keys::KeyHash;
use crate::accounts::{Account, KeyRecord, LedgerRow};
use crate::config::{StoreConfig, StoreKind};
use crate::limits::{LimitSnapshot, Refused};
use crate::Result;

/// What a rate-limit check decided: the figures to report, or the refusal.
pub type Admission = std::result::Result<LimitSnapshot, Refused>;

/// A change to a key's throttle: `None` leaves a limit, `Some(None)` clears it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Throttle {
    pub rpm: Option<Option<u32>>,
    pub tpm: Option<Option<u64>>,
}

/// A response of the Responses API kept for `previous_response_id` and
/// `GET`/`DELETE /v1/responses/{id}`, owned by one account. Gone once
/// `expires_at <= now`: never returned after that, and removed eventually.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResponse {
    /// `resp_...`, made by the gateway.
    pub id: String,
    /// The owner; empty for the unmetered in-process host caller.
    pub account_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// A JSON array: the whole conversation's input items that produced it
    /// (the previous response's items, then the new input).
    pub input_items: serde_json::Value,
    /// The response object.
    pub response: serde_json::Value,
}

/// One deployment's cooldown and circuit as an instance last shared them,
/// in Unix milliseconds (see `fleet/shared.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthMark {
    /// `upstream/model`.
    pub deployment: String,
    pub cooldown_until: u64,
    /// 0 when closed.
    pub open_until: u64,
    /// When the change was made; a newer one replaces an older.
    pub stamp: u64,
}

#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    async fn create_account(&self, name: &str) -> Result<Account>;
    /// 404 when there is no such account.
    async fn account(&self, id: &str) -> Result<Account>;
    async fn account_by_name(&self, name: &str) -> Result<Option<Account>>;
    /// Every account, oldest first.
    async fn accounts(&self) -> Result<Vec<Account>>;
    async fn add_credits(&self, id: &str, nanos: i64) -> Result<Account>;
    async fn set_plan(&self, id: &str, plan: Option<&str>) -> Result<Account>;

    async fn insert_key(&self, key: KeyRecord) -> Result<KeyRecord>;
    async fn keys(&self, account_id: &str) -> Result<Vec<KeyRecord>>;
    async fn set_throttle(&self, key_id: &str, throttle: Throttle) -> Result<KeyRecord>;
    async fn revoke_key(&self, key_id: &str) -> Result<KeyRecord>;
    /// The live (not revoked) key with this hash, and its account.
    async fn authenticate(&self, hash: &KeyHash) -> Result<Option<(KeyRecord, Account)>>;

    /// Holds `worst` nano-dollars for a request, plan quota (up to `quota_limit`
    /// this month) first; 402 when there is not enough.
    async fn reserve(
        &self,
        request_id: &str,
        account_id: &str,
        worst: i64,
        quota_limit: i64,
    ) -> Result<Reservation>;
    /// Charges `row.cost_nanos` (at most what remains) and records the row; once
    /// per request id, durable when it returns.
    async fn settle(&self, reservation: &Reservation, row: LedgerRow) -> Result<()>;
    async fn release(&self, reservation: &Reservation);

    /// `reserve`, then, once held, `tokens` added to each of `subjects`'
    /// windows as `adjust_tokens` adds them. A shared store does both in one
    /// round trip; the others call the two.
    async fn reserve_counting(
        &self,
        request_id: &str,
        account_id: &str,
        worst: i64,
        quota_limit: i64,
        subjects: &[String],
        tokens: i64,
    ) -> Result<Reservation> {
        let r = self
            .reserve(request_id, account_id, worst, quota_limit)
            .await?;
        for s in subjects {
            self.adjust_tokens(s, tokens).await;
        }
        Ok(r)
    }
    /// `adjust_tokens(s, delta)` for each of `subjects`, then `settle`, in one
    /// round trip on a shared store.
    async fn settle_counting(
        &self,
        reservation: &Reservation,
        row: LedgerRow,
        subjects: &[String],
        delta: i64,
    ) -> Result<()> {
        for s in subjects {
            self.adjust_tokens(s, delta).await;
        }
        self.settle(reservation, row).await
    }
    /// `release`, then `adjust_tokens(s, delta)` for each of `subjects`, in
    /// one round trip on a shared store.
    async fn release_counting(&self, reservation: &Reservation, subjects: &[String], delta: i64) {
        self.release(reservation).await;
        for s in subjects {
            self.adjust_tokens(s, delta).await;
        }
    }
    async fn ledger(&self, account_id: &str) -> Result<Vec<LedgerRow>>;

    /// Counts a request and `tokens` against `subject`'s per-minute ceilings.
    /// The outer error is the store failing (a shared store that is away); the
    /// inner one a ceiling reached.
    async fn admit(&self, subject: &str, rpm: u64, tpm: u64, tokens: u64) -> Result<Admission>;
    /// `subject`'s figures without counting a request.
    async fn peek(&self, subject: &str, rpm: u64, tpm: u64) -> Result<LimitSnapshot>;
    /// Corrects the tokens counted for `subject` in its current window. Best
    /// effort: a correction a shared store cannot take is dropped with its
    /// window's short life.
    async fn adjust_tokens(&self, subject: &str, delta: i64);

    /// Keeps `r` (replacing a response of the same id) until its
    /// `expires_at`. Past `max_per_account` of its account's responses, the
    /// oldest are evicted (the new one is always kept); other accounts'
    /// responses are untouched. Durable when it returns.
    async fn put_response(&self, r: &StoredResponse, max_per_account: usize) -> Result<()>;
    /// `None` when there is no such response for `account_id`: absent,
    /// expired, deleted, or another account's (its existence is not told).
    async fn get_response(&self, account_id: &str, id: &str) -> Result<Option<StoredResponse>>;
    /// Whether `account_id` had such a response (as `get_response` would
    /// find it), now deleted.
    async fn delete_response(&self, account_id: &str, id: &str) -> Result<bool>;

    /// Whether the store answers.
    async fn ping(&self) -> Result<()>;

    /// Whether gateway instances on this store share deployment health (a
    /// shared store); the others keep it in each process.
    fn shares_health(&self) -> bool {
        false
    }
    /// Shares deployments' health changes; each replaces what is there only
    /// when its stamp is newer.
    async fn put_health(&self, marks: &[HealthMark]) -> Result<()> {
        let _ = marks;
        Ok(())
    }
    /// The latest shared change of each deployment.
    async fn shared_health(&self) -> Result<Vec<HealthMark>> {
        Ok(Vec::new())
    }
}

/// Opens the configured store.
pub fn open(cfg: &StoreConfig) -> Result<Arc<dyn Store>> {
    match cfg.kind {
        StoreKind::Memory => Ok(Arc::new(MemoryStore::new())),
        StoreKind::Sqlite => Ok(Arc::new(SqliteStore::open(&cfg.path)?)),
        StoreKind::Redis => Ok(Arc::new(RedisStore::open(cfg)?)),
    }
}

#[cfg(test)]
pub(crate) mod conformance;
#[cfg(test)]
mod write_failures;
