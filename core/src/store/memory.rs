//! The memory store: the hot state alone, and the ledger in a vector. For tests
//! and for embedders who keep nothing between runs.

use std::sync::Mutex;

use async_trait::async_trait;

use super::hot::{Hot, Reservation};
use super::{Admission, Store, Throttle};
use crate::accounts::keys::{new_id, KeyHash};
use crate::accounts::{current_period, Account, KeyRecord, LedgerRow};
use crate::call::unix_now;
use crate::limits::LimitSnapshot;
use crate::Result;

#[derive(Debug, Default)]
pub struct MemoryStore {
    hot: Hot,
    ledger: Mutex<Vec<LedgerRow>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

pub fn new_account(name: &str) -> Account {
    Account {
        id: new_id("acct_"),
        name: name.to_string(),
        balance_nanos: 0,
        lifetime_spend_nanos: 0,
        plan: None,
        quota_used_nanos: 0,
        quota_period: current_period(),
        created_at: unix_now(),
    }
}

pub fn apply_throttle(k: &mut KeyRecord, t: Throttle) {
    if let Some(rpm) = t.rpm {
        k.rpm = rpm;
    }
    if let Some(tpm) = t.tpm {
        k.tpm = tpm;
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create_account(&self, name: &str) -> Result<Account> {
        let a = new_account(name);
        self.hot.put_account(a.clone());
        Ok(a)
    }

    async fn account(&self, id: &str) -> Result<Account> {
        self.hot.account(id)
    }

    async fn account_by_name(&self, name: &str) -> Result<Option<Account>> {
        Ok(self.hot.account_by_name(name))
    }

    async fn accounts(&self) -> Result<Vec<Account>> {
        Ok(self.hot.accounts())
    }

    async fn add_credits(&self, id: &str, nanos: i64) -> Result<Account> {
        self.hot.update_account(id, |a| a.balance_nanos += nanos)
    }

    async fn set_plan(&self, id: &str, plan: Option<&str>) -> Result<Account> {
        self.hot
            .update_account(id, |a| a.plan = plan.map(str::to_string))
    }

    async fn insert_key(&self, key: KeyRecord) -> Result<KeyRecord> {
        self.hot.account(&key.account_id)?;
        self.hot.put_key(key.clone());
        Ok(key)
    }

    async fn keys(&self, account_id: &str) -> Result<Vec<KeyRecord>> {
        self.hot.account(account_id)?;
        Ok(self.hot.keys_of(account_id))
    }

    async fn set_throttle(&self, key_id: &str, throttle: Throttle) -> Result<KeyRecord> {
        self.hot.update_key(key_id, |k| apply_throttle(k, throttle))
    }

    async fn revoke_key(&self, key_id: &str) -> Result<KeyRecord> {
        self.hot.update_key(key_id, |k| k.revoked = true)
    }

    async fn authenticate(&self, hash: &KeyHash) -> Result<Option<(KeyRecord, Account)>> {
        Ok(self.hot.authenticate(hash))
    }

    async fn reserve(
        &self,
        request_id: &str,
        account_id: &str,
        worst: i64,
        quota_limit: i64,
    ) -> Result<Reservation> {
        self.hot.reserve(request_id, account_id, worst, quota_limit)
    }

    async fn settle(&self, reservation: &Reservation, mut row: LedgerRow) -> Result<()> {
        if self.hot.settle(reservation, &mut row).is_some() {
            self.ledger
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(row);
        }
        Ok(())
    }

    async fn release(&self, reservation: &Reservation) {
        self.hot.release(reservation);
    }

    async fn ledger(&self, account_id: &str) -> Result<Vec<LedgerRow>> {
        self.hot.account(account_id)?;
        let rows = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        Ok(rows
            .iter()
            .filter(|r| r.account_id == account_id)
            .cloned()
            .collect())
    }

    async fn admit(&self, subject: &str, rpm: u64, tpm: u64, tokens: u64) -> Result<Admission> {
        Ok(self.hot.admit(subject, rpm, tpm, tokens))
    }

    async fn peek(&self, subject: &str, rpm: u64, tpm: u64) -> Result<LimitSnapshot> {
        Ok(self.hot.peek(subject, rpm, tpm))
    }

    async fn adjust_tokens(&self, subject: &str, delta: i64) {
        self.hot.adjust_tokens(subject, delta);
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}
