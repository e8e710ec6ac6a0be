//! The sqlite store: the hot state in memory, every change written to one file
//! (WAL) by a single writer thread. Settlements are group-committed: a request
//! waits for the commit that holds its ledger row, and many share one commit.
//! Changes made by another process (the CLI) are picked up within a poll.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::oneshot;

use super::hot::{Hot, Reservation, SettleDelta};
use super::memory::{apply_throttle, new_account};
use super::{Store, Throttle};
use crate::accounts::keys::KeyHash;
use crate::accounts::{Account, KeyRecord, LedgerRow};
use crate::limits::{LimitSnapshot, Refused};
use crate::{Error, ErrorKind, Result};

/// Schema versions, applied in order; `PRAGMA user_version` records the last.
const MIGRATIONS: &[&str] = &[include_str!("../../migrations/0001_init.sql")];
/// How often the writer looks for changes made by other processes.
const POLL: Duration = Duration::from_millis(200);
/// Most operations in one commit.
const BATCH: usize = 1024;
/// How long a commit under load waits for more operations to join it.
const GATHER: Duration = Duration::from_micros(200);

type SqlFn = Box<dyn FnOnce(&Connection) -> rusqlite::Result<()> + Send>;
type HotFn = Box<dyn FnOnce(&Hot) + Send>;

enum Op {
    /// An admin change: SQL, then the same change to the hot state.
    Exec {
        sql: SqlFn,
        hot: HotFn,
        ack: oneshot::Sender<Result<()>>,
    },
    Settle {
        delta: SettleDelta,
        row: LedgerRow,
        ack: oneshot::Sender<Result<()>>,
    },
}

pub struct SqliteStore {
    hot: Arc<Hot>,
    writer: Mutex<mpsc::Sender<Op>>,
    reader: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn db_error(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("store: {e}"))
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

fn read_account(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        name: r.get(1)?,
        balance_nanos: r.get(2)?,
        lifetime_spend_nanos: r.get(3)?,
        plan: r.get(4)?,
        quota_used_nanos: r.get(5)?,
        quota_period: r.get(6)?,
        created_at: r.get(7)?,
    })
}

fn read_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRecord> {
    let hash: Vec<u8> = r.get(3)?;
    Ok(KeyRecord {
        id: r.get(0)?,
        account_id: r.get(1)?,
        name: r.get(2)?,
        hash: hash.try_into().unwrap_or([0; 32]),
        prefix: r.get(4)?,
        rpm: r.get(5)?,
        tpm: r.get::<_, Option<i64>>(6)?.map(|t| t.max(0) as u64),
        revoked: r.get(7)?,
        created_at: r.get(8)?,
    })
}

fn load_all(conn: &Connection) -> rusqlite::Result<(Vec<Account>, Vec<KeyRecord>)> {
    let accounts = conn
        .prepare("SELECT id, name, balance_nanos, lifetime_spend_nanos, plan, quota_used_nanos, quota_period, created_at FROM accounts")?
        .query_map([], read_account)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let keys = conn
        .prepare(
            "SELECT id, account_id, name, hash, prefix, rpm, tpm, revoked, created_at FROM keys",
        )?
        .query_map([], read_key)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((accounts, keys))
}

fn write_settle(tx: &Connection, d: &SettleDelta, row: &LedgerRow) -> rusqlite::Result<()> {
    // Cached statements: settlement is the one write on the request path.
    tx.prepare_cached(
        "INSERT OR IGNORE INTO ledger (time, request_id, account_id, key_id, profile, input_tokens, output_tokens, cost_nanos, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?
    .execute(
        params![row.time, row.request_id, row.account_id, row.key_id, row.profile,
            row.input_tokens as i64, row.output_tokens as i64, row.cost_nanos, row.status],
    )?;
    // Deltas, not absolute values, so credits added by another process meanwhile are kept.
    tx.prepare_cached(
        "UPDATE accounts SET balance_nanos = balance_nanos + ?1, lifetime_spend_nanos = lifetime_spend_nanos + ?2,
           quota_used_nanos = CASE WHEN quota_period = ?4 THEN quota_used_nanos + ?3 ELSE ?3 END, quota_period = ?4
         WHERE id = ?5")?
    .execute(
        params![d.balance, d.lifetime, d.quota_used, d.quota_period, d.account_id],
    )?;
    Ok(())
}

/// The writer: applies operations in arrival order, many per commit, and
/// reloads the hot state when another process changed the file.
fn writer(mut conn: Connection, hot: Arc<Hot>, rx: mpsc::Receiver<Op>) {
    let version = |c: &Connection| {
        c.pragma_query_value(None, "data_version", |r| r.get::<_, i64>(0))
            .ok()
    };
    let mut seen = version(&conn);
    let mut checked = Instant::now();
    loop {
        let first = match rx.recv_timeout(POLL) {
            Ok(op) => Some(op),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // Outside changes are looked for once a poll period, busy or idle.
        if checked.elapsed() < POLL {
            if let Some(first) = first {
                commit_all(&mut conn, &hot, &rx, first);
            }
            continue;
        }
        checked = Instant::now();
        let now = version(&conn);
        if now != seen {
            seen = now;
            match load_all(&conn) {
                Ok((accounts, keys)) => hot.load(accounts, keys),
                Err(e) => {
                    tracing::error!(error = %e, "store: cannot reload after an outside change")
                }
            }
        }
        if let Some(first) = first {
            commit_all(&mut conn, &hot, &rx, first);
        }
    }
}

/// Commits `first` with every operation already waiting behind it. While other
/// requests are in flight (they hold reservations) it first sleeps a little, so
/// that they join one commit instead of waking the writer one by one; a lone
/// request is committed at once.
fn commit_all(conn: &mut Connection, hot: &Hot, rx: &mpsc::Receiver<Op>, first: Op) {
    if hot.in_flight() > 0 {
        std::thread::sleep(GATHER);
    }
    let mut batch = vec![first];
    while batch.len() < BATCH {
        match rx.try_recv() {
            Ok(op) => batch.push(op),
            Err(_) => break,
        }
    }
    commit_batch(conn, hot, batch);
}

/// What is left to do for an operation once its commit is known.
enum Finish {
    Exec {
        hot: HotFn,
        ack: oneshot::Sender<Result<()>>,
    },
    Settle {
        delta: SettleDelta,
        ack: oneshot::Sender<Result<()>>,
    },
}

fn commit_batch(conn: &mut Connection, hot: &Hot, batch: Vec<Op>) {
    let mut finishes = Vec::with_capacity(batch.len());
    let committed = (|| -> rusqlite::Result<()> {
        let mut tx = conn.transaction()?;
        for op in batch {
            let (outcome, finish) = match op {
                // Settlements only insert a row (ignored when already there) and add
                // to a balance: nothing to undo, so no savepoint on the hot path.
                Op::Settle { delta, row, ack } => (
                    write_settle(&tx, &delta, &row),
                    Finish::Settle { delta, ack },
                ),
                // A savepoint per admin change: one failing change does not undo the others.
                Op::Exec { sql, hot, ack } => {
                    let sp = tx.savepoint()?;
                    let outcome = sql(&sp);
                    if outcome.is_ok() {
                        sp.commit()?;
                    }
                    (outcome, Finish::Exec { hot, ack })
                }
            };
            finishes.push((outcome, finish));
        }
        tx.commit()
    })();
    let mut written = Vec::new();
    for (outcome, finish) in finishes {
        let outcome = match (&committed, outcome) {
            (Err(e), _) => Err(db_error(format!("commit failed: {e}"))),
            (Ok(()), Err(rusqlite::Error::QueryReturnedNoRows)) => {
                Err(Error::new(ErrorKind::NotFound, "no such record"))
            }
            (Ok(()), Err(e)) => Err(db_error(e)),
            (Ok(()), Ok(())) => Ok(()),
        };
        match finish {
            Finish::Exec { hot: hot_fn, ack } => {
                if outcome.is_ok() {
                    hot_fn(hot);
                }
                let _ = ack.send(outcome);
            }
            Finish::Settle { delta, ack } => {
                if outcome.is_ok() {
                    written.push(delta);
                }
                let _ = ack.send(outcome);
            }
        }
    }
    if let Err(e) = &committed {
        tracing::error!(error = %e, "store: commit failed");
    }
    hot.written(&written);
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
        let hot = Arc::new(Hot::new());
        let (accounts, keys) = load_all(&conn).map_err(db_error)?;
        hot.load(accounts, keys);
        let reader = connect(path)?;
        let (tx, rx) = mpsc::channel();
        let writer_hot = hot.clone();
        std::thread::Builder::new()
            .name("mws-sqlite-writer".into())
            .spawn(move || writer(conn, writer_hot, rx))
            .map_err(|e| db_error(format!("cannot start the writer: {e}")))?;
        Ok(SqliteStore {
            hot,
            writer: Mutex::new(tx),
            reader: Arc::new(Mutex::new(reader)),
        })
    }

    async fn send(&self, make: impl FnOnce(oneshot::Sender<Result<()>>) -> Op) -> Result<()> {
        let (ack, done) = oneshot::channel();
        let op = make(ack);
        self.writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(op)
            .map_err(|_| db_error("the writer has stopped"))?;
        done.await
            .map_err(|_| db_error("the writer dropped a change"))?
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
        self.hot.reserve(request_id, account_id, worst, quota_limit)
    }

    async fn settle(&self, reservation: &Reservation, mut row: LedgerRow) -> Result<()> {
        let Some(delta) = self.hot.settle(reservation, &mut row) else {
            return Ok(());
        };
        self.send(|ack| Op::Settle { delta, row, ack }).await
    }

    async fn release(&self, reservation: &Reservation) {
        self.hot.release(reservation);
    }

    async fn ledger(&self, account_id: &str) -> Result<Vec<LedgerRow>> {
        self.hot.account(account_id)?;
        let reader = self.reader.clone();
        let id = account_id.to_string();
        tokio::task::spawn_blocking(move || {
            let conn = reader.lock().unwrap_or_else(|p| p.into_inner());
            let mut stmt = conn.prepare(
                "SELECT time, request_id, account_id, key_id, profile, input_tokens, output_tokens, cost_nanos, status
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
                    output_tokens: r.get::<_, i64>(6)?.max(0) as u64,
                    cost_nanos: r.get(7)?,
                    status: r.get(8)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
        .map_err(db_error)?
        .map_err(db_error)
    }

    async fn admit(
        &self,
        subject: &str,
        rpm: u64,
        tpm: u64,
        tokens: u64,
    ) -> std::result::Result<LimitSnapshot, Refused> {
        self.hot.admit(subject, rpm, tpm, tokens)
    }

    async fn peek(&self, subject: &str, rpm: u64, tpm: u64) -> LimitSnapshot {
        self.hot.peek(subject, rpm, tpm)
    }

    async fn adjust_tokens(&self, subject: &str, delta: i64) {
        self.hot.adjust_tokens(subject, delta);
    }

    async fn ping(&self) -> Result<()> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let conn = reader.lock().unwrap_or_else(|p| p.into_inner());
            conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .optional()
        })
        .await
        .map_err(db_error)?
        .map_err(db_error)
        .map(|_| ())
    }
}
