//! The shared state of one redis store (its connection, key layout, scripts,
//! key cache and retry queue), what the store's calls and its background task
//! both use, and how Redis failures become the gateway's errors.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, RedisError};
use tokio::sync::OnceCell;

use super::layout::{account_from, key_from, Layout};
use super::pending::{Pending, Queue};
use super::scripts::{Scripts, Windows};
use crate::accounts::Account;
use crate::store::hot::Hot;
use crate::{Error, ErrorKind, Result};

/// A connection attempt to a server that does not answer gives up after this.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// A command without an answer after this fails (and is retried where it
/// must not be lost); the scripts run in microseconds.
pub(super) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);

pub(super) struct Inner {
    pub(super) client: redis::Client,
    /// Key names, and this instance's id: it names this process's
    /// reservations, so a crash gives them back.
    pub(super) layout: Layout,
    pub(super) scripts: Scripts,
    pub(super) conn: OnceCell<ConnectionManager>,
    /// Keys and accounts for `authenticate`; its money fields are not used.
    pub(super) cache: Hot,
    /// Set once the cache holds everything (the first full load).
    pub(super) loaded: OnceCell<()>,
    pub(super) sync_started: AtomicBool,
    /// The `version` counter as of the last full reload.
    pub(super) seen_version: AtomicI64,
    pub(super) pending: Queue,
}

/// Whether a failure means the server is away, busy or refusing writes for
/// now (out of memory, cannot persist) rather than a bug: those are 503s and
/// worth retrying.
pub(super) fn is_outage(e: &RedisError) -> bool {
    use redis::{ErrorKind as K, ServerErrorKind as S};
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.kind(),
            K::Server(S::BusyLoading | S::TryAgain | S::ClusterDown | S::MasterDown | S::ReadOnly)
        )
        || matches!(e.code(), Some("OOM" | "MISCONF"))
}

pub(super) fn store_error(e: RedisError) -> Error {
    if is_outage(&e) {
        Error::new(
            ErrorKind::Overloaded,
            format!("store unavailable: redis: {e}"),
        )
        .with_retry_after(1)
    } else {
        Error::internal(format!("store: redis: {e}"))
    }
}

impl Inner {
    pub(super) async fn conn(&self) -> Result<ConnectionManager> {
        self.conn
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    // One quick retry, then fail: callers answer 503 at once
                    // and the next command tries again.
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_millis(200));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .cloned()
            .map_err(store_error)
    }

    pub(super) async fn account(&self, id: &str) -> Result<Option<Account>> {
        let mut c = self.conn().await?;
        let f: HashMap<String, String> = c
            .hgetall(self.layout.account(id))
            .await
            .map_err(store_error)?;
        Ok(account_from(id, &f))
    }

    /// Records by id, in one round trip.
    pub(super) async fn hashes(
        &self,
        ids: &[String],
        key: impl Fn(&str) -> String,
    ) -> Result<Vec<HashMap<String, String>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hgetall(key(id));
        }
        let mut c = self.conn().await?;
        pipe.query_async(&mut c).await.map_err(store_error)
    }

    /// Reads every account and key into the cache. The version is read
    /// first: a change during the reload moves it on, and the next poll
    /// reloads again.
    pub(super) async fn reload(&self) -> Result<()> {
        let l = &self.layout;
        let mut c = self.conn().await?;
        let version: Option<i64> = c.get(l.version()).await.map_err(store_error)?;
        let account_ids: Vec<String> = c.smembers(l.accounts()).await.map_err(store_error)?;
        let key_ids: Vec<String> = c.smembers(l.keys()).await.map_err(store_error)?;
        let accounts = self.hashes(&account_ids, |id| l.account(id)).await?;
        let keys = self.hashes(&key_ids, |id| l.key(id)).await?;
        let accounts = account_ids
            .iter()
            .zip(&accounts)
            .filter_map(|(id, f)| account_from(id, f))
            .collect();
        let keys = key_ids
            .iter()
            .zip(&keys)
            .filter_map(|(id, f)| key_from(id, f))
            .collect();
        self.cache.load(accounts, keys);
        self.seen_version
            .store(version.unwrap_or(0), Ordering::Release);
        Ok(())
    }

    /// Re-reads one record named by a change message (`acct:{id}`, `key:{id}`).
    pub(super) async fn refresh(&self, what: &str) -> Result<()> {
        if let Some(id) = what.strip_prefix("acct:") {
            if let Some(a) = self.account(id).await? {
                self.cache.put_account(a);
            }
        } else if let Some(id) = what.strip_prefix("key:") {
            let mut c = self.conn().await?;
            let f: HashMap<String, String> =
                c.hgetall(self.layout.key(id)).await.map_err(store_error)?;
            if let Some(k) = key_from(id, &f) {
                self.cache.put_key(k);
            }
        }
        Ok(())
    }

    /// Writes one waiting settlement or release; `Err` when Redis is still away.
    pub(super) async fn apply(&self, p: &Pending) -> std::result::Result<(), RedisError> {
        let Ok(mut c) = self.conn().await else {
            return Err(RedisError::from(std::io::Error::other("no connection")));
        };
        match p {
            Pending::Settle(r, row) => self
                .scripts
                .settle(&mut c, &self.layout, r, row, Windows::NONE)
                .await
                .map(|_| ()),
            Pending::Release(request_id) => {
                self.scripts
                    .release(&mut c, &self.layout, request_id, Windows::NONE)
                    .await
            }
        }
    }

    /// Heartbeat, and the reaping of dead instances' reservations.
    pub(super) async fn beat(&self, dead_after: Duration, may_reap: bool) -> Result<i64> {
        let mut c = self.conn().await?;
        self.scripts
            .beat(&mut c, &self.layout, dead_after, may_reap)
            .await
            .map_err(store_error)
    }

    pub(super) async fn version(&self) -> Result<i64> {
        let mut c = self.conn().await?;
        let v: Option<i64> = c.get(self.layout.version()).await.map_err(store_error)?;
        Ok(v.unwrap_or(0))
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let left = self.pending.len();
        if left > 0 {
            tracing::error!(
                left,
                "store: settlements and releases never reached redis and are lost with this process"
            );
        }
    }
}
