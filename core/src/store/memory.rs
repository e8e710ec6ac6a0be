//! The memory store: the hot state alone, the ledger in a vector and stored
//! responses in a map (expired ones dropped lazily). For tests and for
//! embedders who keep nothing between runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use super::hot::{Hot, Reservation};
use super::{Admission, Store, StoredResponse, Throttle};
use crate::accounts::keys::{new_id, KeyHash};
use crate::accounts::{current_period, Account, KeyRecord, LedgerRow};
use crate::call::unix_now;
use crate::limits::LimitSnapshot;
use crate::Result;

#[derive(Debug, Default)]
pub struct MemoryStore {
    hot: Hot,
    ledger: Mutex<Vec<LedgerRow>>,
    responses: Mutex<Responses>,
}

/// Stored responses by id, and each account's in the order they were put
/// (a sequence number, so the cap evicts the oldest even within a second).
#[derive(Debug, Default)]
struct Responses {
    by_id: HashMap<String, (u64, StoredResponse)>,
    by_account: HashMap<String, BTreeMap<u64, String>>,
    next: u64,
}

impl Responses {
    fn remove(&mut self, id: &str) -> Option<StoredResponse> {
        let (seq, r) = self.by_id.remove(id)?;
        if let Some(order) = self.by_account.get_mut(&r.account_id) {
            order.remove(&seq);
            if order.is_empty() {
                self.by_account.remove(&r.account_id);
            }
        }
        Some(r)
    }

    fn put(&mut self, r: StoredResponse, max_per_account: usize, now: i64) {
        self.remove(&r.id);
        let (seq, account) = (self.next, r.account_id.clone());
        self.next += 1;
        self.by_account
            .entry(account.clone())
            .or_default()
            .insert(seq, r.id.clone());
        self.by_id.insert(r.id.clone(), (seq, r));
        // The oldest go past the cap, and expired ones at the front with them.
        loop {
            let Some(order) = self.by_account.get(&account) else {
                return;
            };
            let Some((_, oldest)) = order.first_key_value() else {
                return;
            };
            let over = order.len() > max_per_account.max(1);
            let expired = self
                .by_id
                .get(oldest)
                .is_some_and(|(_, o)| o.expires_at <= now);
            if !(over || expired) {
                return;
            }
            let oldest = oldest.clone();
            self.remove(&oldest);
        }
    }

    /// The live response `id` of `account_id`; an expired one is dropped.
    fn get(&mut self, account_id: &str, id: &str, now: i64) -> Option<&StoredResponse> {
        let (_, r) = self.by_id.get(id)?;
        if r.account_id != account_id {
            return None;
        }
        if r.expires_at <= now {
            self.remove(id);
            return None;
        }
        self.by_id.get(id).map(|(_, r)| r)
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn responses(&self) -> std::sync::MutexGuard<'_, Responses> {
        self.responses.lock().unwrap_or_else(|p| p.into_inner())
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

    async fn put_response(&self, r: &StoredResponse, max_per_account: usize) -> Result<()> {
        self.responses().put(r.clone(), max_per_account, unix_now());
        Ok(())
    }

    async fn get_response(&self, account_id: &str, id: &str) -> Result<Option<StoredResponse>> {
        Ok(self.responses().get(account_id, id, unix_now()).cloned())
    }

    async fn delete_response(&self, account_id: &str, id: &str) -> Result<bool> {
        let mut responses = self.responses();
        let found = responses.get(account_id, id, unix_now()).is_some();
        if found {
            responses.remove(id);
        }
        Ok(found)
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Responses;
    use crate::store::conformance::stored;

    #[test]
    fn expired_responses_are_dropped_when_read_or_reached_by_a_put() {
        let mut r = Responses::default();
        r.put(stored("resp_1", "acct_a", 10), 10, 0);
        r.put(stored("resp_2", "acct_a", 10), 10, 0);
        r.put(stored("resp_3", "acct_b", 10), 10, 0);
        let later = crate::call::unix_now() + 60;
        // A put reaches the expired ones at the front of its account only.
        r.put(stored("resp_4", "acct_a", 3600), 10, later);
        assert_eq!(r.by_id.len(), 2);
        assert!(r.by_id.contains_key("resp_3"));
        // A read drops what it finds expired.
        assert!(r.get("acct_b", "resp_3", later).is_none());
        assert_eq!(r.by_id.len(), 1);
        assert_eq!(r.by_account.len(), 1);
    }
}
