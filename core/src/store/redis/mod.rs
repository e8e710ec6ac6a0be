//! The redis store: several gateway instances share accounts, keys, balances,
//! rate-limit windows, the ledger and stored responses through one Redis
//! server.
//!
//! - Money and limits move only inside Lua scripts (scripts.rs, lua/), each
//!   atomic on the server, so two instances can never together overspend a
//!   balance or pass a ceiling.
//! - Keys are authenticated from a local cache (the hot state's key and
//!   account maps), kept current by pub/sub and a version poll (sync.rs):
//!   no round trip per request for the key, one for each balance or limit
//!   check.
//! - One multiplexed connection (`ConnectionManager`) carries every command:
//!   scripts are short, so pipelining them on one socket beats a pool, and it
//!   reconnects by itself after an outage.
//! - While Redis is away, calls fail as `Overloaded` (503, "store
//!   unavailable: ..."); settlements and releases that could not be written
//!   wait in a local queue and are written when it is back (pending.rs).
//! - A stored response is one hash that expires with it; a sorted set per
//!   account orders them for the cap (put_response.lua).

mod health;
mod layout;
mod pending;
mod scripts;
mod state;
mod sync;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, RedisError, Value};
use tokio::sync::OnceCell;

use self::layout::{
    account_fields, key_fields, key_from, response_from, row_from, Layout, RESPONSE_FIELDS,
};
use self::pending::{Pending, Queue};
use self::scripts::{Credited, Reserved, Scripts, Settled, WindowCounts, Windows};
use self::state::{is_outage, store_error, Inner};
use super::hot::{not_found, short_of_credits, Hot, Reservation};
use super::memory::{apply_throttle, new_account};
use super::{Admission, HealthMark, Store, StoredResponse, Throttle};
use crate::accounts::keys::{new_id, KeyHash};
use crate::accounts::{Account, KeyRecord, LedgerRow};
use crate::call::unix_now;
use crate::config::StoreConfig;
use crate::limits::{judge, LimitSnapshot};
use crate::{Error, Result};

/// Ledger entries read per XRANGE.
const LEDGER_PAGE: usize = 5000;

pub struct RedisStore {
    inner: Arc<Inner>,
    /// Writes shared deployment health (health.rs).
    health_script: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.layout.prefix)
            .field("instance", &self.inner.layout.me)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Checks the URL; connects on first use, so a gateway starts (and
    /// answers 503) while Redis is away, and needs no runtime to be built.
    pub fn open(cfg: &StoreConfig) -> Result<Self> {
        let url = cfg.redis_url()?;
        let client = redis::Client::open(url.as_str())
            .map_err(|e| Error::invalid(format!("store.url: not a usable redis URL: {e}")))?;
        Ok(RedisStore {
            inner: Arc::new(Inner {
                client,
                layout: Layout {
                    prefix: cfg.key_prefix.clone(),
                    me: new_id("gw_"),
                },
                scripts: Scripts::default(),
                conn: OnceCell::new(),
                cache: Hot::new(),
                loaded: OnceCell::new(),
                sync_started: AtomicBool::new(false),
                seen_version: AtomicI64::new(0),
                pending: Queue::default(),
            }),
            health_script: health::script(),
        })
    }

    /// The shared connection; starts the background sync on first use.
    async fn conn(&self) -> Result<ConnectionManager> {
        if !self.inner.sync_started.swap(true, Ordering::AcqRel) {
            tokio::spawn(sync::run(Arc::downgrade(&self.inner)));
        }
        self.inner.conn().await
    }

    /// Settlements and releases still waiting for Redis.
    pub fn pending(&self) -> usize {
        self.inner.pending.len()
    }

    async fn loaded(&self) -> Result<()> {
        self.conn().await?;
        self.inner
            .loaded
            .get_or_try_init(|| self.inner.reload())
            .await
            .map(|_| ())
    }

    /// Runs the change in `pipe` with the version bump and the message that
    /// make every instance (this one included) re-read the record `what`.
    async fn changed(&self, pipe: &mut redis::Pipeline, what: &str) -> Result<()> {
        let l = &self.inner.layout;
        pipe.incr(l.version(), 1)
            .ignore()
            .publish(l.channel(), what)
            .ignore();
        let mut c = self.conn().await?;
        pipe.query_async::<()>(&mut c).await.map_err(store_error)
    }

    async fn key_record(&self, key_id: &str) -> Result<KeyRecord> {
        let mut c = self.conn().await?;
        let f: HashMap<String, String> = c
            .hgetall(self.inner.layout.key(key_id))
            .await
            .map_err(store_error)?;
        key_from(key_id, &f).ok_or_else(|| not_found("key", key_id))
    }

    async fn require_account(&self, id: &str) -> Result<()> {
        let mut c = self.conn().await?;
        let exists: bool = c
            .exists(self.inner.layout.account(id))
            .await
            .map_err(store_error)?;
        if exists {
            Ok(())
        } else {
            Err(not_found("account", id))
        }
    }
}

/// A snapshot of the window after this request, or the refusal.
fn admission(rpm: u64, tpm: u64, tokens: u64, w: WindowCounts) -> Admission {
    judge(rpm, tpm, w.requests, w.tokens, w.reset)?;
    Ok(LimitSnapshot::of(
        rpm,
        tpm,
        w.requests + 1,
        w.tokens.saturating_add(tokens),
        w.reset,
    ))
}

/// Stream entries as (id, fields).
type Entries = Vec<(String, HashMap<String, String>)>;

#[async_trait]
impl Store for RedisStore {
    async fn create_account(&self, name: &str) -> Result<Account> {
        let a = new_account(name);
        let l = &self.inner.layout;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset_multiple(l.account(&a.id), &account_fields(&a))
            .ignore()
            .sadd(l.accounts(), &a.id)
            .ignore()
            .hset_nx(l.account_names(), &a.name, &a.id)
            .ignore();
        self.changed(&mut pipe, &format!("acct:{}", a.id)).await?;
        self.inner.cache.put_account(a.clone());
        Ok(a)
    }

    async fn account(&self, id: &str) -> Result<Account> {
        self.inner
            .account(id)
            .await?
            .ok_or_else(|| not_found("account", id))
    }

    async fn accounts(&self) -> Result<Vec<Account>> {
        let mut c = self.conn().await?;
        let ids: Vec<String> = c
            .smembers(self.inner.layout.accounts())
            .await
            .map_err(store_error)?;
        // Read from Redis, not the cache: the list shows current balances.
        let mut all = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(a) = self.inner.account(&id).await? {
                all.push(a);
            }
        }
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(all)
    }

    async fn account_by_name(&self, name: &str) -> Result<Option<Account>> {
        let mut c = self.conn().await?;
        let id: Option<String> = c
            .hget(self.inner.layout.account_names(), name)
            .await
            .map_err(store_error)?;
        match id {
            Some(id) => self.inner.account(&id).await,
            None => Ok(None),
        }
    }

    async fn add_credits(&self, id: &str, nanos: i64) -> Result<Account> {
        let mut c = self.conn().await?;
        let outcome = self
            .inner
            .scripts
            .add_credits(&mut c, &self.inner.layout, id, nanos)
            .await
            .map_err(store_error)?;
        match outcome {
            Credited::Balance => self.account(id).await,
            Credited::NoAccount => Err(not_found("account", id)),
            Credited::OutOfRange => Err(Error::invalid_field(
                "amount_usd",
                "the redis store keeps balances within $9,007,199.254740991",
            )),
        }
    }

    async fn set_plan(&self, id: &str, plan: Option<&str>) -> Result<Account> {
        self.require_account(id).await?;
        let key = self.inner.layout.account(id);
        let mut pipe = redis::pipe();
        pipe.atomic();
        match plan {
            Some(p) => pipe.hset(&key, "plan", p).ignore(),
            None => pipe.hdel(&key, "plan").ignore(),
        };
        self.changed(&mut pipe, &format!("acct:{id}")).await?;
        let a = self.account(id).await?;
        self.inner.cache.put_account(a.clone());
        Ok(a)
    }

    async fn insert_key(&self, key: KeyRecord) -> Result<KeyRecord> {
        self.require_account(&key.account_id).await?;
        let l = &self.inner.layout;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset_multiple(l.key(&key.id), &key_fields(&key))
            .ignore()
            .sadd(l.keys(), &key.id)
            .ignore()
            .sadd(l.account_keys(&key.account_id), &key.id)
            .ignore();
        self.changed(&mut pipe, &format!("key:{}", key.id)).await?;
        self.inner.cache.put_key(key.clone());
        Ok(key)
    }

    async fn keys(&self, account_id: &str) -> Result<Vec<KeyRecord>> {
        self.require_account(account_id).await?;
        let mut c = self.conn().await?;
        let l = &self.inner.layout;
        let ids: Vec<String> = c
            .smembers(l.account_keys(account_id))
            .await
            .map_err(store_error)?;
        let fields = self.inner.hashes(&ids, |id| l.key(id)).await?;
        let mut keys: Vec<KeyRecord> = ids
            .iter()
            .zip(&fields)
            .filter_map(|(id, f)| key_from(id, f))
            .collect();
        keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(keys)
    }

    async fn set_throttle(&self, key_id: &str, throttle: Throttle) -> Result<KeyRecord> {
        let mut k = self.key_record(key_id).await?;
        apply_throttle(&mut k, throttle);
        let key = self.inner.layout.key(key_id);
        let mut pipe = redis::pipe();
        pipe.atomic();
        // Only the limits the change names, so two admins never undo each other.
        match throttle.rpm {
            Some(Some(rpm)) => pipe.hset(&key, "rpm", rpm).ignore(),
            Some(None) => pipe.hdel(&key, "rpm").ignore(),
            None => &mut pipe,
        };
        match throttle.tpm {
            Some(Some(tpm)) => pipe.hset(&key, "tpm", tpm).ignore(),
            Some(None) => pipe.hdel(&key, "tpm").ignore(),
            None => &mut pipe,
        };
        self.changed(&mut pipe, &format!("key:{key_id}")).await?;
        let k = self.key_record(key_id).await?;
        self.inner.cache.put_key(k.clone());
        Ok(k)
    }

    async fn revoke_key(&self, key_id: &str) -> Result<KeyRecord> {
        self.key_record(key_id).await?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset(self.inner.layout.key(key_id), "revoked", "1")
            .ignore();
        self.changed(&mut pipe, &format!("key:{key_id}")).await?;
        let k = self.key_record(key_id).await?;
        self.inner.cache.put_key(k.clone());
        Ok(k)
    }

    async fn authenticate(&self, hash: &KeyHash) -> Result<Option<(KeyRecord, Account)>> {
        self.loaded().await?;
        Ok(self.inner.cache.authenticate(hash))
    }

    async fn reserve(
        &self,
        request_id: &str,
        account_id: &str,
        worst: i64,
        quota_limit: i64,
    ) -> Result<Reservation> {
        self.reserve_counting(request_id, account_id, worst, quota_limit, &[], 0)
            .await
    }

    async fn settle(&self, reservation: &Reservation, row: LedgerRow) -> Result<()> {
        self.settle_counting(reservation, row, &[], 0).await
    }

    async fn release(&self, reservation: &Reservation) {
        self.release_counting(reservation, &[], 0).await;
    }

    async fn reserve_counting(
        &self,
        request_id: &str,
        account_id: &str,
        worst: i64,
        quota_limit: i64,
        subjects: &[String],
        tokens: i64,
    ) -> Result<Reservation> {
        let mut c = self.conn().await?;
        let i = &self.inner;
        let outcome = i
            .scripts
            .reserve(
                &mut c,
                &i.layout,
                request_id,
                account_id,
                worst,
                quota_limit,
                Windows { subjects, tokens },
            )
            .await;
        match outcome {
            Ok(Reserved::Held {
                from_quota,
                from_balance,
            }) => Ok(Reservation {
                request_id: request_id.into(),
                account_id: account_id.into(),
                from_quota,
                from_balance,
            }),
            Ok(Reserved::Short(available)) => Err(short_of_credits(worst, available)),
            Ok(Reserved::NoAccount) => Err(not_found("account", account_id)),
            Ok(Reserved::Duplicate) => Err(Error::internal(format!(
                "store: request id {request_id} already holds a reservation"
            ))),
            Err(e) => {
                // The script may have run with its answer lost: give back
                // whatever it held once Redis answers again.
                if is_outage(&e) {
                    i.pending.push(Pending::Release(request_id.to_string()));
                }
                Err(store_error(e))
            }
        }
    }

    async fn settle_counting(
        &self,
        reservation: &Reservation,
        row: LedgerRow,
        subjects: &[String],
        delta: i64,
    ) -> Result<()> {
        let i = &self.inner;
        let windows = Windows {
            subjects,
            tokens: delta,
        };
        let outcome = match self.conn().await {
            Ok(mut c) => {
                i.scripts
                    .settle(&mut c, &i.layout, reservation, &row, windows)
                    .await
            }
            Err(_) => Err(RedisError::from(std::io::Error::other("no connection"))),
        };
        match outcome {
            Ok(Settled::Charged { lifetime }) => {
                // Tier promotion on this instance at once; others within a reload.
                let _ = i.cache.update_account(&reservation.account_id, |a| {
                    a.lifetime_spend_nanos = lifetime
                });
                Ok(())
            }
            Ok(Settled::Already) => Ok(()),
            Ok(Settled::NoAccount) => {
                // Only when Redis lost data (restarted without persistence).
                tracing::error!(request_id = %reservation.request_id, account_id = %reservation.account_id, "store: redis has no such account; the settlement is dropped");
                Ok(())
            }
            Err(e) if is_outage(&e) => {
                // The answer went out; the charge follows once Redis is back.
                // Settling is idempotent per request id, so a script that ran
                // with its reply lost is not charged twice. The windows'
                // correction is dropped (best effort, as `adjust_tokens`): by
                // then they may be other windows.
                tracing::warn!(request_id = %reservation.request_id, error = %e, "store: redis away; the settlement waits in the retry queue");
                i.pending.push(Pending::Settle(reservation.clone(), row));
                Ok(())
            }
            Err(e) => Err(store_error(e)),
        }
    }

    async fn release_counting(&self, reservation: &Reservation, subjects: &[String], delta: i64) {
        let i = &self.inner;
        let windows = Windows {
            subjects,
            tokens: delta,
        };
        let outcome = match self.conn().await {
            Ok(mut c) => {
                i.scripts
                    .release(&mut c, &i.layout, &reservation.request_id, windows)
                    .await
            }
            Err(_) => Err(RedisError::from(std::io::Error::other("no connection"))),
        };
        if let Err(e) = outcome {
            // Retried without the windows' correction, as a settlement is.
            let p = Pending::Release(reservation.request_id.clone());
            if is_outage(&e) {
                self.inner.pending.push(p);
            } else {
                tracing::error!(error = %e, "store: cannot release a reservation");
            }
        }
    }

    async fn ledger(&self, account_id: &str) -> Result<Vec<LedgerRow>> {
        self.require_account(account_id).await?;
        let mut c = self.conn().await?;
        let key = self.inner.layout.ledger(account_id);
        let mut rows = Vec::new();
        let mut from = "-".to_string();
        loop {
            let page: Entries = redis::cmd("XRANGE")
                .arg(&key)
                .arg(&from)
                .arg("+")
                .arg("COUNT")
                .arg(LEDGER_PAGE)
                .query_async(&mut c)
                .await
                .map_err(store_error)?;
            let full = page.len() == LEDGER_PAGE;
            if let Some((last, _)) = page.last() {
                from = format!("({last}");
            }
            rows.extend(page.iter().map(|(_, f)| row_from(account_id, f)));
            if !full {
                return Ok(rows);
            }
        }
    }

    async fn admit(&self, subject: &str, rpm: u64, tpm: u64, tokens: u64) -> Result<Admission> {
        let mut c = self.conn().await?;
        let w = self
            .inner
            .scripts
            .admit(&mut c, &self.inner.layout, subject, rpm, tpm, tokens)
            .await
            .map_err(store_error)?;
        Ok(admission(rpm, tpm, tokens, w))
    }

    async fn peek(&self, subject: &str, rpm: u64, tpm: u64) -> Result<LimitSnapshot> {
        let mut c = self.conn().await?;
        let w = self
            .inner
            .scripts
            .peek(&mut c, &self.inner.layout, subject)
            .await
            .map_err(store_error)?;
        Ok(LimitSnapshot::of(rpm, tpm, w.requests, w.tokens, w.reset))
    }

    async fn adjust_tokens(&self, subject: &str, delta: i64) {
        let Ok(mut c) = self.conn().await else { return };
        if let Err(e) = self
            .inner
            .scripts
            .adjust(&mut c, &self.inner.layout, subject, delta)
            .await
        {
            tracing::debug!(error = %e, "store: token correction dropped");
        }
    }

    async fn put_response(&self, r: &StoredResponse, max_per_account: usize) -> Result<()> {
        let mut c = self.conn().await?;
        self.inner
            .scripts
            .put_response(&mut c, &self.inner.layout, r, max_per_account)
            .await
            .map_err(store_error)
    }

    async fn get_response(&self, account_id: &str, id: &str) -> Result<Option<StoredResponse>> {
        let mut c = self.conn().await?;
        let fields: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.inner.layout.response(id))
            .arg(&RESPONSE_FIELDS)
            .query_async(&mut c)
            .await
            .map_err(store_error)?;
        let found = response_from(id, fields).map_err(|e| {
            Error::internal(format!(
                "store: redis: stored response {id} is not JSON: {e}"
            ))
        })?;
        // Its key expires by the server's clock; the gateway's decides too.
        Ok(found.filter(|r| r.account_id == account_id && r.expires_at > unix_now()))
    }

    async fn delete_response(&self, account_id: &str, id: &str) -> Result<bool> {
        let mut c = self.conn().await?;
        self.inner
            .scripts
            .delete_response(&mut c, &self.inner.layout, account_id, id)
            .await
            .map_err(store_error)
    }

    async fn ping(&self) -> Result<()> {
        let mut c = self.conn().await?;
        redis::cmd("PING")
            .query_async::<Value>(&mut c)
            .await
            .map(|_| ())
            .map_err(store_error)
    }

    fn shares_health(&self) -> bool {
        true
    }

    async fn put_health(&self, marks: &[HealthMark]) -> Result<()> {
        if marks.is_empty() {
            return Ok(());
        }
        self.conn().await?;
        self.inner.put_health(&self.health_script, marks).await
    }

    async fn shared_health(&self) -> Result<Vec<HealthMark>> {
        self.conn().await?;
        self.inner.shared_health().await
    }
}

#[cfg(test)]
mod tests;
