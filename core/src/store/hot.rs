//! The in-process state of accounts and keys that every request reads:
//! balances with their reservations, keys by hash, the request ids holding a
//! reservation, and rate-limit windows. One short std mutex, never held across an await. The
//! memory store is this alone; the sqlite store persists its changes.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::accounts::keys::{ct_eq, KeyHash};
use crate::accounts::{current_period, Account, KeyRecord, LedgerRow};
use crate::limits::{LimitSnapshot, Limiter, Refused};
use crate::{Error, ErrorKind, Result};

/// Money held for one request until it settles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub request_id: String,
    pub account_id: String,
    pub from_quota: i64,
    pub from_balance: i64,
}

/// What a settlement changed, for a store to persist as deltas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleDelta {
    pub account_id: String,
    pub balance: i64,
    pub lifetime: i64,
    pub quota_used: i64,
    pub quota_period: u32,
}

#[derive(Debug)]
struct HotAccount {
    account: Account,
    reserved: i64,
    quota_reserved: i64,
}

#[derive(Debug, Default)]
struct HotState {
    accounts: HashMap<String, HotAccount>,
    keys: HashMap<String, KeyRecord>,
    by_hash: HashMap<KeyHash, String>,
    /// Request ids holding a reservation: each is settled or released once,
    /// whichever comes first, and the set stays as small as the requests in flight.
    open: HashSet<String>,
    /// Settled deltas not yet written by the store, per account.
    pending: HashMap<String, (i64, i64, i64)>,
}

#[derive(Debug, Default)]
pub struct Hot {
    state: Mutex<HotState>,
    limiter: Limiter<String>,
    /// Reservations not yet settled or released: requests in flight.
    in_flight: AtomicUsize,
}

pub(crate) fn not_found(what: &str, id: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("no {what} with id {id:?}"))
}

/// The 402 of a reservation that `available` nano-dollars cannot cover.
pub(crate) fn short_of_credits(worst: i64, available: i64) -> Error {
    let msg = if available <= 0 {
        "your credit balance is too low: add credits at /dashboard/credits".to_string()
    } else {
        format!(
            "this request could cost up to ${:.6} (max_tokens at the model's price) but ${:.6} is available: lower max_tokens or add credits at /dashboard/credits",
            worst as f64 / 1e9,
            available as f64 / 1e9
        )
    };
    Error::new(ErrorKind::InsufficientCredits, msg)
}

impl Hot {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces accounts and keys with what the store holds, keeping in-flight
    /// reservations and adding back settled deltas the store has not written yet.
    pub fn load(&self, accounts: Vec<Account>, keys: Vec<KeyRecord>) {
        let mut s = self.lock();
        let mut next = HashMap::new();
        for mut a in accounts {
            let (reserved, quota_reserved) = s
                .accounts
                .get(&a.id)
                .map_or((0, 0), |h| (h.reserved, h.quota_reserved));
            if let Some((bal, life, quota)) = s.pending.get(&a.id) {
                a.balance_nanos += bal;
                a.lifetime_spend_nanos += life;
                a.quota_used_nanos += quota;
            }
            next.insert(
                a.id.clone(),
                HotAccount {
                    account: a,
                    reserved,
                    quota_reserved,
                },
            );
        }
        s.accounts = next;
        s.by_hash = keys.iter().map(|k| (k.hash, k.id.clone())).collect();
        s.keys = keys.into_iter().map(|k| (k.id.clone(), k)).collect();
    }

    pub fn put_account(&self, a: Account) {
        let mut s = self.lock();
        match s.accounts.get_mut(&a.id) {
            Some(h) => h.account = a,
            None => {
                s.accounts.insert(
                    a.id.clone(),
                    HotAccount {
                        account: a,
                        reserved: 0,
                        quota_reserved: 0,
                    },
                );
            }
        }
    }

    pub fn account(&self, id: &str) -> Result<Account> {
        self.lock()
            .accounts
            .get(id)
            .map(|h| h.account.clone())
            .ok_or_else(|| not_found("account", id))
    }

    pub fn account_by_name(&self, name: &str) -> Option<Account> {
        self.lock()
            .accounts
            .values()
            .find(|h| h.account.name == name)
            .map(|h| h.account.clone())
    }

    /// Every account, oldest first (then by id, so the order is stable).
    pub fn accounts(&self) -> Vec<Account> {
        let mut all: Vec<Account> = self
            .lock()
            .accounts
            .values()
            .map(|h| h.account.clone())
            .collect();
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        all
    }

    /// Applies a change to an account and returns it.
    pub fn update_account(&self, id: &str, f: impl FnOnce(&mut Account)) -> Result<Account> {
        let mut s = self.lock();
        let h = s
            .accounts
            .get_mut(id)
            .ok_or_else(|| not_found("account", id))?;
        f(&mut h.account);
        Ok(h.account.clone())
    }

    pub fn put_key(&self, k: KeyRecord) {
        let mut s = self.lock();
        s.by_hash.insert(k.hash, k.id.clone());
        s.keys.insert(k.id.clone(), k);
    }

    pub fn key(&self, id: &str) -> Result<KeyRecord> {
        self.lock()
            .keys
            .get(id)
            .cloned()
            .ok_or_else(|| not_found("key", id))
    }

    pub fn update_key(&self, id: &str, f: impl FnOnce(&mut KeyRecord)) -> Result<KeyRecord> {
        let mut s = self.lock();
        let k = s.keys.get_mut(id).ok_or_else(|| not_found("key", id))?;
        f(k);
        Ok(k.clone())
    }

    pub fn keys_of(&self, account_id: &str) -> Vec<KeyRecord> {
        let mut keys: Vec<KeyRecord> = self
            .lock()
            .keys
            .values()
            .filter(|k| k.account_id == account_id)
            .cloned()
            .collect();
        keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        keys
    }

    /// The live key with this hash and its account.
    pub fn authenticate(&self, hash: &KeyHash) -> Option<(KeyRecord, Account)> {
        let s = self.lock();
        let key = s.by_hash.get(hash).and_then(|id| s.keys.get(id))?;
        if key.revoked || !ct_eq(&key.hash, hash) {
            return None;
        }
        let account = s.accounts.get(&key.account_id)?.account.clone();
        Some((key.clone(), account))
    }

    /// Holds `worst` nano-dollars, from the plan's monthly quota first, then the
    /// balance, atomically with every other reservation: 402 when both run short.
    pub fn reserve(
        &self,
        request_id: &str,
        account_id: &str,
        worst: i64,
        quota_limit: i64,
    ) -> Result<Reservation> {
        let period = current_period();
        let mut s = self.lock();
        let h = s
            .accounts
            .get_mut(account_id)
            .ok_or_else(|| not_found("account", account_id))?;
        if h.account.quota_period != period {
            h.account.quota_period = period;
            h.account.quota_used_nanos = 0;
        }
        let quota_free = (quota_limit - h.account.quota_used_nanos - h.quota_reserved).max(0);
        let balance_free = (h.account.balance_nanos - h.reserved).max(0);
        if quota_free + balance_free < worst.max(1) {
            return Err(short_of_credits(worst, quota_free + balance_free));
        }
        let from_quota = worst.min(quota_free);
        let from_balance = worst - from_quota;
        h.quota_reserved += from_quota;
        h.reserved += from_balance;
        s.open.insert(request_id.to_string());
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Ok(Reservation {
            request_id: request_id.into(),
            account_id: account_id.into(),
            from_quota,
            from_balance,
        })
    }

    /// Gives back a reservation that will not be settled.
    pub fn release(&self, r: &Reservation) {
        let mut s = self.lock();
        if !s.open.remove(&r.request_id) {
            return;
        }
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Some(h) = s.accounts.get_mut(&r.account_id) {
            h.quota_reserved -= r.from_quota;
            h.reserved -= r.from_balance;
        }
    }

    /// Charges `row.cost_nanos` against the reservation, quota first, once per
    /// request id; never takes the balance below zero. Sets `row.cost_nanos` to
    /// what was charged. `None` when the request was already settled or released.
    pub fn settle(&self, r: &Reservation, row: &mut LedgerRow) -> Option<SettleDelta> {
        let mut s = self.lock();
        if !s.open.remove(&r.request_id) {
            return None;
        }
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let h = s.accounts.get_mut(&r.account_id)?;
        h.quota_reserved -= r.from_quota;
        h.reserved -= r.from_balance;
        let cost = row.cost_nanos.max(0);
        let from_quota = cost.min(r.from_quota);
        // Beyond its reservation a request may use only balance nobody else holds.
        let spare = (h.account.balance_nanos - h.reserved - r.from_balance).max(0);
        let from_balance = (cost - from_quota).min(r.from_balance + spare);
        h.account.balance_nanos -= from_balance;
        h.account.quota_used_nanos += from_quota;
        h.account.lifetime_spend_nanos += from_quota + from_balance;
        row.cost_nanos = from_quota + from_balance;
        let delta = SettleDelta {
            account_id: r.account_id.clone(),
            balance: -from_balance,
            lifetime: from_quota + from_balance,
            quota_used: from_quota,
            quota_period: h.account.quota_period,
        };
        let p = s.pending.entry(r.account_id.clone()).or_default();
        p.0 += delta.balance;
        p.1 += delta.lifetime;
        p.2 += delta.quota_used;
        Some(delta)
    }

    /// Requests holding a reservation right now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The store wrote these deltas; they are no longer pending.
    pub fn written(&self, deltas: &[SettleDelta]) {
        let mut s = self.lock();
        for d in deltas {
            if let Some(p) = s.pending.get_mut(&d.account_id) {
                p.0 -= d.balance;
                p.1 -= d.lifetime;
                p.2 -= d.quota_used;
                if *p == (0, 0, 0) {
                    s.pending.remove(&d.account_id);
                }
            }
        }
    }

    pub fn admit(
        &self,
        subject: &str,
        rpm: u64,
        tpm: u64,
        tokens: u64,
    ) -> std::result::Result<LimitSnapshot, Refused> {
        self.limiter.admit(&subject.to_string(), rpm, tpm, tokens)
    }

    pub fn peek(&self, subject: &str, rpm: u64, tpm: u64) -> LimitSnapshot {
        self.limiter.peek(&subject.to_string(), rpm, tpm)
    }

    pub fn adjust_tokens(&self, subject: &str, delta: i64) {
        self.limiter.adjust_tokens(&subject.to_string(), delta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(balance: i64) -> Account {
        Account {
            id: "a".into(),
            name: "n".into(),
            balance_nanos: balance,
            lifetime_spend_nanos: 0,
            plan: None,
            quota_used_nanos: 0,
            quota_period: current_period(),
            created_at: 0,
        }
    }

    fn row(id: &str, cost: i64) -> LedgerRow {
        LedgerRow {
            time: 0,
            request_id: id.into(),
            account_id: "a".into(),
            key_id: "k".into(),
            profile: "p".into(),
            input_tokens: 1,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            output_tokens: 1,
            cost_nanos: cost,
            status: 200,
        }
    }

    #[test]
    fn reservations_never_oversell() {
        let hot = Hot::new();
        hot.put_account(account(100));
        let r1 = hot.reserve("r1", "a", 60, 0).unwrap();
        assert_eq!(
            hot.reserve("r2", "a", 60, 0).unwrap_err().kind(),
            ErrorKind::InsufficientCredits
        );
        let mut row1 = row("r1", 30);
        let d = hot.settle(&r1, &mut row1).unwrap();
        assert_eq!((d.balance, d.lifetime), (-30, 30));
        assert_eq!(hot.account("a").unwrap().balance_nanos, 70);
        // Settling twice charges once.
        assert!(hot.settle(&r1, &mut row("r1", 30)).is_none());
        assert_eq!(hot.account("a").unwrap().balance_nanos, 70);
        let r3 = hot.reserve("r3", "a", 70, 0).unwrap();
        hot.release(&r3);
        assert!(hot.reserve("r4", "a", 70, 0).is_ok());
    }

    #[test]
    fn quota_is_spent_before_balance_and_balance_never_negative() {
        let hot = Hot::new();
        hot.put_account(account(100));
        let r = hot.reserve("r1", "a", 150, 80).unwrap();
        assert_eq!((r.from_quota, r.from_balance), (80, 70));
        let mut rw = row("r1", 1000);
        let d = hot.settle(&r, &mut rw).unwrap();
        assert_eq!((d.quota_used, d.balance), (80, -100));
        assert_eq!(rw.cost_nanos, 180);
        assert_eq!(hot.account("a").unwrap().balance_nanos, 0);
    }

    #[test]
    fn reload_keeps_unwritten_deltas() {
        let hot = Hot::new();
        hot.put_account(account(100));
        let r = hot.reserve("r1", "a", 10, 0).unwrap();
        let d = hot.settle(&r, &mut row("r1", 10)).unwrap();
        // The store still holds 100 plus 5 credited by another process.
        hot.load(vec![account(105)], vec![]);
        assert_eq!(hot.account("a").unwrap().balance_nanos, 95);
        hot.written(&[d]);
        hot.load(vec![account(95)], vec![]);
        assert_eq!(hot.account("a").unwrap().balance_nanos, 95);
    }
}
