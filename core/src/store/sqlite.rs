//! The sqlite store: the hot state in memory, every change written to one file
//! (WAL) by a single writer thread. A settlement is durable once its line is in
//! the journal (journal.rs); the writer commits many settlements at once soon
//! after, off the response path. Admin changes are committed before they return.
//! Changes made by another process (the CLI) are picked up within a poll.
//! While the file cannot be written, new requests, admin changes and `/health`
//! get a 503 (sqlite_writer.rs); requests already admitted still settle into
//! the journal, and their rows land once the file takes writes again.
//! Stored responses are written by the writer like admin changes (committed
//! before the put returns) and read through the reader connection; each put
//! also deletes expired ones.

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::oneshot;

use super::hot::{Hot, Reservation};
use super::journal::{self, Entry, Journal, Leftover};
use super::memory::{apply_throttle, new_account};
use super::sqlite_rows::{db_error, load_all};
use super::sqlite_writer::{write_settlements, Inbox, Op, WriteHealth, Writer};
use super::{Admission, Store, StoredResponse, Throttle};
use crate::accounts::keys::KeyHash;
use crate::accounts::{Account, KeyRecord, LedgerRow};
use crate::call::unix_now;
use crate::limits::LimitSnapshot;
use crate::{ErrorKind, Result};

/// Schema versions, applied in order; `PRAGMA user_version` records the last.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_ledger_without_autoincrement.sql"),
    include_str!("../../migrations/0003_responses.sql"),
    include_str!("../../migrations/0004_ledger_cache_tokens.sql"),
];

/// Expired responses deleted by one put at most, so a put after a long pause
/// does not hold the writer.
const EXPIRED_PER_PUT: i64 = 256;

pub struct SqliteStore {
    hot: Arc<Hot>,
    journal: Arc<Journal>,
    /// `None` once the store is being dropped.
    writer: Option<mpsc::Sender<Op>>,
    writer_thread: Option<std::thread::JoinHandle<()>>,
    inbox: Arc<Inbox>,
    reader: Arc<Mutex<Connection>>,
    health: Arc<WriteHealth>,
}

impl Drop for SqliteStore {
    /// Lets the writer commit what it was handed and delete this process's
    /// journal, so a clean exit leaves nothing to replay.
    fn drop(&mut self) {
        self.writer.take();
        if let Some(thread) = self.writer_thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)
        .map_err(|e| db_error(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(db_error)?;
    // WAL with synchronous=NORMAL survives a crash of the process: a commit is
    // in the OS's hands when it returns, without an fsync per transaction.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(db_error)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(db_error)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(db_error)?;
    // A page cache of 512 KiB instead of sqlite's 2 MB: the writer only
    // appends (ledger rows and their indexes grow at the right edge, request
    // ids being time-ordered) and the reader's scans are served by the OS's
    // page cache anyway; the 2 MB per connection was a tenth of the
    // gateway's memory under load.
    conn.pragma_update(None, "cache_size", -512)
        .map_err(db_error)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: usize = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db_error)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction().map_err(db_error)?;
        tx.execute_batch(sql)
            .map_err(|e| db_error(format!("migration {}: {e}", i + 1)))?;
        tx.pragma_update(None, "user_version", i + 1)
            .map_err(db_error)?;
        tx.commit().map_err(db_error)?;
    }
    Ok(())
}

/// Commits what crashed processes left in their journals, then deletes it.
fn replay(conn: &mut Connection, leftovers: &[Leftover]) -> Result<()> {
    if leftovers.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction().map_err(db_error)?;
    write_settlements(&tx, leftovers.iter().flat_map(|(_, entries)| entries))
        .map_err(|e| db_error(format!("cannot replay the settlement journal: {e}")))?;
    tx.commit().map_err(db_error)?;
    let rows: usize = leftovers.iter().map(|(_, e)| e.len()).sum();
    if rows > 0 {
        tracing::info!(rows, "store: replayed settlements journaled before a crash");
    }
    for (path, _) in leftovers {
        journal::remove(path);
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its folder, migrates it
    /// and loads accounts and keys.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| db_error(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut conn = connect(path)?;
        migrate(&mut conn)?;
        let (journal, leftovers) = Journal::open(path)?;
        replay(&mut conn, &leftovers)?;
        let hot = Arc::new(Hot::new());
        let (accounts, keys) = load_all(&conn).map_err(db_error)?;
        hot.load(accounts, keys);
        let reader = connect(path)?;
        let (tx, rx) = mpsc::channel();
        let journal = Arc::new(journal);
        let health = Arc::new(WriteHealth::default());
        let inbox = Arc::new(Inbox::default());
        let writer = Writer {
            inbox: inbox.clone(),
            conn,
            hot: hot.clone(),
            journal: journal.clone(),
            rx,
            carried: Vec::new(),
            segments: Vec::new(),
            health: health.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("mws-sqlite-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| db_error(format!("cannot start the writer: {e}")))?;
        Ok(SqliteStore {
            hot,
            journal,
            writer: Some(tx),
            writer_thread: Some(thread),
            inbox,
            reader: Arc::new(Mutex::new(reader)),
            health,
        })
    }

    /// Hands `op` to the writer. The sender is shared without a lock:
    /// `mpsc::Sender` is `Sync`, and only `drop` (with `&mut self`) takes it.
    fn hand_over(&self, op: Op) -> Result<()> {
        self.writer
            .as_ref()
            .ok_or_else(|| db_error("the store is closing"))?
            .send(op)
            .map_err(|_| db_error("the writer has stopped"))
    }

    async fn send(&self, make: impl FnOnce(oneshot::Sender<Result<()>>) -> Op) -> Result<()> {
        let (ack, done) = oneshot::channel();
        self.hand_over(make(ack))?;
        done.await
            .map_err(|_| db_error("the writer dropped a change"))?
    }

    /// Runs `read` on the reader connection, off the async threads.
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let conn = reader.lock().unwrap_or_else(|p| p.into_inner());
            read(&conn)
        })
        .await
        .map_err(db_error)?
        .map_err(db_error)
    }

    async fn exec(
        &self,
        sql: impl FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static,
        hot: impl FnOnce(&Hot) + Send + 'static,
    ) -> Result<()> {
        self.send(|ack| Op::Exec {
            sql: Box::new(sql),
            hot: Box::new(hot),
            ack,
        })
        .await
    }
}

/// A JSON text column, parsed (on the reader's blocking thread: stored
/// responses run to hundreds of KB).
fn json_column(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// `QueryReturnedNoRows` when an UPDATE touched nothing, so it maps to 404.
fn one_row(n: usize) -> rusqlite::Result<()> {
    if n == 0 {
        Err(rusqlite::Error::QueryReturnedNoRows)
    } else {
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_account(&self, name: &str) -> Result<Account> {
        let a = new_account(name);
        let (row, hot_row) = (a.clone(), a.clone());
        self.exec(
            move |tx| {
                tx.execute(
                    "INSERT INTO accounts (id, name, balance_nanos, lifetime_spend_nanos, plan, quota_used_nanos, quota_period, created_at)
                     VALUES (?1, ?2, 0, 0, NULL, 0, ?3, ?4)",
                    params![row.id, row.name, row.quota_period, row.created_at],
                )
                .map(|_| ())
            },
            move |hot| hot.put_account(hot_row),
        )
        .await?;
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
        self.hot.account(id)?;
        let (sql_id, hot_id) = (id.to_string(), id.to_string());
        self.exec(
            move |tx| {
                one_row(tx.execute(
                    "UPDATE accounts SET balance_nanos = balance_nanos + ?1 WHERE id = ?2",
                    params![nanos, sql_id],
                )?)
            },
            move |hot| {
                let _ = hot.update_account(&hot_id, |a| a.balance_nanos += nanos);
            },
        )
        .await?;
        self.hot.account(id)
    }

    async fn set_plan(&self, id: &str, plan: Option<&str>) -> Result<Account> {
        self.hot.account(id)?;
        let (sql_id, hot_id) = (id.to_string(), id.to_string());
        let (sql_plan, hot_plan) = (plan.map(str::to_string), plan.map(str::to_string));
        self.exec(
            move |tx| {
                one_row(tx.execute(
                    "UPDATE accounts SET plan = ?1 WHERE id = ?2",
                    params![sql_plan, sql_id],
                )?)
            },
            move |hot| {
                let _ = hot.update_account(&hot_id, |a| a.plan = hot_plan);
            },
        )
        .await?;
        self.hot.account(id)
    }

    async fn insert_key(&self, key: KeyRecord) -> Result<KeyRecord> {
        self.hot.account(&key.account_id)?;
        let (k, hot_k) = (key.clone(), key.clone());
        self.exec(
            move |tx| {
                tx.execute(
                    "INSERT INTO keys (id, account_id, name, hash, prefix, rpm, tpm, revoked, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8)",
                    params![k.id, k.account_id, k.name, k.hash.as_slice(), k.prefix, k.rpm, k.tpm.map(|t| t as i64), k.created_at],
                )
                .map(|_| ())
            },
            move |hot| hot.put_key(hot_k),
        )
        .await?;
        Ok(key)
    }

    async fn keys(&self, account_id: &str) -> Result<Vec<KeyRecord>> {
        self.hot.account(account_id)?;
        Ok(self.hot.keys_of(account_id))
    }

    async fn set_throttle(&self, key_id: &str, throttle: Throttle) -> Result<KeyRecord> {
        let mut k = self.hot.key(key_id)?;
        apply_throttle(&mut k, throttle);
        let (id, rpm, tpm) = (k.id.clone(), k.rpm, k.tpm.map(|t| t as i64));
        let hot_id = k.id.clone();
        self.exec(
            move |tx| {
                one_row(tx.execute(
                    "UPDATE keys SET rpm = ?1, tpm = ?2 WHERE id = ?3",
                    params![rpm, tpm, id],
                )?)
            },
            move |hot| {
                let _ = hot.update_key(&hot_id, |k| apply_throttle(k, throttle));
            },
        )
        .await?;
        self.hot.key(key_id)
    }

    async fn revoke_key(&self, key_id: &str) -> Result<KeyRecord> {
        self.hot.key(key_id)?;
        let (id, hot_id) = (key_id.to_string(), key_id.to_string());
        self.exec(
            move |tx| {
                one_row(tx.execute("UPDATE keys SET revoked = 1 WHERE id = ?1", params![id])?)
            },
            move |hot| {
                let _ = hot.update_key(&hot_id, |k| k.revoked = true);
            },
        )
        .await?;
        self.hot.key(key_id)
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
        // No new work while its settlement could not be committed.
        self.health.check()?;
        self.hot.reserve(request_id, account_id, worst, quota_limit)
    }

    async fn settle(&self, reservation: &Reservation, mut row: LedgerRow) -> Result<()> {
        let Some(delta) = self.hot.settle(reservation, &mut row) else {
            return Ok(());
        };
        // Durable once the journal has it; the writer commits it soon after.
        let hand_over = |entry| {
            if !self.inbox.push(entry) {
                return;
            }
            if let Err(e) = self.hand_over(Op::Settled) {
                tracing::error!(error = %e, "store: the settlement waits in the journal for the next start");
            }
        };
        self.journal
            .append(Entry::new(row, delta), &hand_over)
            .await
    }

    async fn release(&self, reservation: &Reservation) {
        self.hot.release(reservation);
    }

    async fn ledger(&self, account_id: &str) -> Result<Vec<LedgerRow>> {
        self.hot.account(account_id)?;
        // Settlements handed over so far are in the file before it is read.
        self.send(Op::Flush).await?;
        let id = account_id.to_string();
        self.read(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT time, request_id, account_id, key_id, profile, input_tokens, output_tokens, cost_nanos, status,
                   cache_read_tokens, cache_write_tokens
                 FROM ledger WHERE account_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map(params![id], |r| {
                Ok(LedgerRow {
                    time: r.get(0)?,
                    request_id: r.get(1)?,
                    account_id: r.get(2)?,
                    key_id: r.get(3)?,
                    profile: r.get(4)?,
                    input_tokens: r.get::<_, i64>(5)?.max(0) as u64,
                    cache_read_tokens: r.get::<_, i64>(9)?.max(0) as u64,
                    cache_write_tokens: r.get::<_, i64>(10)?.max(0) as u64,
                    output_tokens: r.get::<_, i64>(6)?.max(0) as u64,
                    cost_nanos: r.get(7)?,
                    status: r.get(8)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
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
        // Encoded here, so the writer thread only copies text.
        let (input_items, response) = (r.input_items.to_string(), r.response.to_string());
        let (id, account) = (r.id.clone(), r.account_id.clone());
        let (created_at, expires_at) = (r.created_at, r.expires_at);
        let keep = i64::try_from(max_per_account.max(1)).unwrap_or(i64::MAX);
        let now = unix_now();
        self.exec(
            move |tx| {
                tx.execute(
                    "INSERT OR REPLACE INTO responses (id, account_id, created_at, expires_at, input_items, response)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![id, account, created_at, expires_at, input_items, response],
                )?;
                // The account's newest `keep` stay.
                tx.execute(
                    "DELETE FROM responses WHERE account_id = ?1 AND seq <=
                       (SELECT seq FROM responses WHERE account_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
                    params![account, keep],
                )?;
                tx.execute(
                    "DELETE FROM responses WHERE seq IN
                       (SELECT seq FROM responses WHERE expires_at <= ?1 LIMIT ?2)",
                    params![now, EXPIRED_PER_PUT],
                )
                .map(|_| ())
            },
            |_| {},
        )
        .await
    }

    async fn get_response(&self, account_id: &str, id: &str) -> Result<Option<StoredResponse>> {
        let (account, id) = (account_id.to_string(), id.to_string());
        let now = unix_now();
        self.read(move |conn| {
            conn.query_row(
                "SELECT id, account_id, created_at, expires_at, input_items, response FROM responses
                 WHERE id = ?1 AND account_id = ?2 AND expires_at > ?3",
                params![id, account, now],
                |r| {
                    Ok(StoredResponse {
                        id: r.get(0)?,
                        account_id: r.get(1)?,
                        created_at: r.get(2)?,
                        expires_at: r.get(3)?,
                        input_items: json_column(r, 4)?,
                        response: json_column(r, 5)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn delete_response(&self, account_id: &str, id: &str) -> Result<bool> {
        let (account, id) = (account_id.to_string(), id.to_string());
        let now = unix_now();
        let deleted = self
            .exec(
                move |tx| {
                    one_row(tx.execute(
                        "DELETE FROM responses WHERE id = ?1 AND account_id = ?2 AND expires_at > ?3",
                        params![id, account, now],
                    )?)
                },
                |_| {},
            )
            .await;
        match deleted {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn ping(&self) -> Result<()> {
        self.health.check()?;
        self.read(|conn| {
            conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .optional()
        })
        .await
        .map(|_| ())
    }
}
