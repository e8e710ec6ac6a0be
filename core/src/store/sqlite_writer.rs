//! The sqlite store's one writer thread: admin changes committed before their
//! caller hears back, settlements (already durable in the journal) committed
//! in large batches, and the hot state reloaded when another process changed
//! the file. While the file cannot be written (read-only, disk full, locked by
//! another process) the store reports itself unavailable and the writer keeps
//! trying; the settlements it holds land once a commit succeeds again.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, TransactionBehavior};
use tokio::sync::oneshot;

use super::hot::{Hot, SettleDelta};
use super::journal::{self, Entry, Journal};
use super::sqlite_rows::{db_error, load_all};
use crate::{Error, ErrorKind, Result};

/// How often the writer looks for changes made by other processes.
const POLL: Duration = Duration::from_millis(200);
/// A journal segment this long is replaced by a new one, and deleted once
/// what it holds is committed: a crash replays at most about this much.
const ROTATE_BYTES: u64 = 1 << 20;
/// Settlements are committed once none arrived for this long (so a lone
/// request's row is in the file for other processes, such as the CLI, at
/// once)...
const QUIET: Duration = Duration::from_millis(1);
/// ...or this long after the first of them, so that under load one commit
/// holds many.
const LINGER: Duration = Duration::from_millis(20);

/// Whether the file takes writes, as the writer last found: while its
/// commits fail, new requests and admin changes get a 503 and `/health` too.
#[derive(Debug, Default)]
pub(super) struct WriteHealth {
    failing: AtomicBool,
    why: Mutex<String>,
}

impl WriteHealth {
    /// The 503 to answer while commits fail.
    pub fn check(&self) -> Result<()> {
        if !self.failing.load(Ordering::Relaxed) {
            return Ok(());
        }
        Err(unavailable(
            &*self.why.lock().unwrap_or_else(|p| p.into_inner()),
        ))
    }

    fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    fn set(&self, outcome: &rusqlite::Result<()>) {
        match outcome {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("store: the database takes writes again");
                }
            }
            Err(e) => {
                *self.why.lock().unwrap_or_else(|p| p.into_inner()) = e.to_string();
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::error!(error = %e, "store: cannot write the database; refusing new requests until it can");
                }
            }
        }
    }
}

/// The error of a store that cannot write now: a 503 worth retrying.
pub(super) fn unavailable(why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Overloaded,
        format!("store unavailable: sqlite: {why}"),
    )
    .with_retry_after(1)
}

/// Failures of the file rather than of the change: locked, read-only, full,
/// or an I/O error.
fn cannot_write(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode as C;
    e.sqlite_error_code().is_some_and(|c| {
        matches!(
            c,
            C::DatabaseBusy
                | C::DatabaseLocked
                | C::ReadOnly
                | C::SystemIoFailure
                | C::DiskFull
                | C::CannotOpen
        )
    })
}

pub(super) type SqlFn = Box<dyn FnOnce(&Connection) -> rusqlite::Result<()> + Send>;
pub(super) type HotFn = Box<dyn FnOnce(&Hot) + Send>;

pub(super) enum Op {
    /// An admin change: SQL, then the same change to the hot state.
    Exec {
        sql: SqlFn,
        hot: HotFn,
        ack: oneshot::Sender<Result<()>>,
    },
    /// Settlements wait in the inbox: the first of a batch sends this.
    Settled,
    /// Commit everything handed over before this, then answer.
    Flush(oneshot::Sender<Result<()>>),
}

impl Op {
    fn waited_for(&self) -> bool {
        !matches!(self, Op::Settled)
    }
}

/// Settlements (already durable in the journal) waiting for the writer.
/// Requests leave them here without a system call; only the first of a batch
/// wakes the writer, which then looks again once per `QUIET`.
#[derive(Debug, Default)]
pub(super) struct Inbox(Mutex<Vec<Entry>>);

impl Inbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Leaves `entry`; true when it starts a batch, so the writer must be woken.
    pub fn push(&self, entry: Entry) -> bool {
        let mut entries = self.lock();
        entries.push(entry);
        entries.len() == 1
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn take(&self) -> Vec<Entry> {
        std::mem::take(&mut *self.lock())
    }
}

/// Inserts the ledger rows that are not there yet and adds their deltas to
/// the accounts, one UPDATE per account and month. Replaying a row that is
/// already in the ledger changes nothing, so journals replay safely.
pub(super) fn write_settlements<'a>(
    tx: &Connection,
    entries: impl IntoIterator<Item = &'a Entry>,
) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO ledger (time, request_id, account_id, key_id, profile, input_tokens, output_tokens, cost_nanos, status,
           cache_read_tokens, cache_write_tokens)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut sums: HashMap<(&str, u32), (i64, i64, i64)> = HashMap::new();
    for e in entries {
        let inserted = insert.execute(params![
            e.time,
            e.request_id,
            e.account_id,
            e.key_id,
            e.profile,
            e.input_tokens as i64,
            e.output_tokens as i64,
            e.cost_nanos,
            e.status,
            e.cache_read_tokens as i64,
            e.cache_write_tokens as i64
        ])?;
        if inserted == 1 {
            let s = sums.entry((&e.account_id, e.quota_period)).or_default();
            s.0 += e.balance;
            s.1 += e.lifetime;
            s.2 += e.quota_used;
        }
    }
    // Deltas, not absolute values, so credits added by another process meanwhile are kept.
    let mut update = tx.prepare_cached(
        "UPDATE accounts SET balance_nanos = balance_nanos + ?1, lifetime_spend_nanos = lifetime_spend_nanos + ?2,
           quota_used_nanos = CASE WHEN quota_period = ?4 THEN quota_used_nanos + ?3 ELSE ?3 END, quota_period = ?4
         WHERE id = ?5",
    )?;
    for ((account, period), (balance, lifetime, quota)) in sums {
        update.execute(params![balance, lifetime, quota, period, account])?;
    }
    Ok(())
}

pub(super) struct Writer {
    pub conn: Connection,
    pub hot: Arc<Hot>,
    pub journal: Arc<Journal>,
    pub rx: mpsc::Receiver<Op>,
    pub inbox: Arc<Inbox>,
    /// Settlements whose commit failed, tried again with the next batch.
    pub carried: Vec<Entry>,
    /// Journal segments to delete once the next commit succeeds.
    pub segments: Vec<PathBuf>,
    pub health: Arc<WriteHealth>,
}

impl Writer {
    /// Applies admin changes and flushes as they come, settlements in
    /// batches, until the store is dropped; then everything handed over is
    /// committed.
    pub fn run(mut self) {
        let version = |c: &Connection| {
            c.pragma_query_value(None, "data_version", |r| r.get::<_, i64>(0))
                .ok()
        };
        let mut seen = version(&self.conn);
        let mut checked = Instant::now();
        // When the settlements waiting in the inbox are committed at the
        // latest, and how many there were when the writer last looked.
        let mut due: Option<Instant> = None;
        let mut waiting = 0;
        loop {
            let wait = if due.is_some() { QUIET } else { POLL };
            let mut batch = Vec::new();
            match self.rx.recv_timeout(wait) {
                Ok(op) => batch.push(op),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            batch.extend(self.rx.try_iter());
            // Outside changes are looked for once a poll period, busy or idle.
            if checked.elapsed() >= POLL {
                checked = Instant::now();
                let now = version(&self.conn);
                if now != seen {
                    seen = now;
                    match load_all(&self.conn) {
                        Ok((accounts, keys)) => self.hot.load(accounts, keys),
                        Err(e) => {
                            tracing::error!(error = %e, "store: cannot reload after an outside change")
                        }
                    }
                }
            }
            let pending = self.inbox.len();
            let settle = match due {
                Some(d) => pending == waiting || Instant::now() >= d,
                None => {
                    if pending > 0 {
                        due = Some(Instant::now() + LINGER);
                    }
                    false
                }
            };
            waiting = pending;
            // Idle while failing: try again, so the store recovers (and the
            // settlements it holds land) without waiting for traffic.
            let retry = batch.is_empty() && due.is_none() && self.health.is_failing();
            if settle || retry || batch.iter().any(Op::waited_for) {
                due = None;
                self.commit(batch);
            }
        }
        // The store is gone, so nothing is appended any more: once what is
        // left is committed, no segment of this process needs replaying.
        self.commit(Vec::new());
        if self.carried.is_empty() {
            journal::remove(&self.journal.current_path());
        }
    }

    fn commit(&mut self, batch: Vec<Op>) {
        if self.journal.bytes() >= ROTATE_BYTES {
            // Every entry of the old segment was handed over before `rotate`
            // returned (journal.rs), so the inbox taken below holds them all.
            match self.journal.rotate() {
                Ok(old) => self.segments.push(old),
                Err(e) => tracing::error!(error = %e, "store journal: cannot rotate"),
            }
        }
        let mut settled = std::mem::take(&mut self.carried);
        settled.extend(self.inbox.take());
        let probe = self.health.is_failing();
        // Sorted before the transaction starts, so a commit that fails at any
        // point still answers every caller and keeps every settlement.
        let mut changes = Vec::new();
        let mut waiting = Vec::new();
        for op in batch {
            match op {
                Op::Settled => {}
                Op::Flush(ack) => waiting.push((None, ack)),
                Op::Exec { sql, hot, ack } => {
                    changes.push(sql);
                    waiting.push((Some(hot), ack));
                }
            }
        }
        let mut outcomes = Vec::with_capacity(changes.len());
        let committed = (|| -> rusqlite::Result<()> {
            // Immediate: a file another process holds locked fails the whole
            // commit here, not each admin change inside it.
            let mut tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            for sql in changes {
                // A savepoint per admin change: one failing change does not undo the others.
                let mut sp = tx.savepoint()?;
                let outcome = sql(&sp);
                if outcome.is_ok() {
                    sp.commit()?;
                } else {
                    sp.rollback()?;
                }
                outcomes.push(outcome);
            }
            write_settlements(&tx, &settled)?;
            if probe {
                // A real write, so a commit succeeds only once the file takes
                // writes again (an empty transaction writes nothing).
                let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
                tx.pragma_update(None, "user_version", version)?;
            }
            tx.commit()
        })();
        self.health.set(&committed);
        if let Err(e) = &committed {
            tracing::debug!(error = %e, rows = settled.len(), "store: commit failed; will retry the settlements");
        }
        let mut outcomes = outcomes.into_iter();
        for (hot_fn, ack) in waiting {
            let outcome = match (&committed, hot_fn.is_some().then(|| outcomes.next())) {
                (Err(e), _) => Err(unavailable(e)),
                (Ok(()), None) => Ok(()),
                (Ok(()), Some(None)) => Err(Error::internal("store: a change was not applied")),
                (Ok(()), Some(Some(Ok(())))) => Ok(()),
                (Ok(()), Some(Some(Err(rusqlite::Error::QueryReturnedNoRows)))) => {
                    Err(Error::new(ErrorKind::NotFound, "no such record"))
                }
                (Ok(()), Some(Some(Err(e)))) if cannot_write(&e) => Err(unavailable(e)),
                (Ok(()), Some(Some(Err(e)))) => Err(db_error(e)),
            };
            if let (Ok(()), Some(hot_fn)) = (&outcome, hot_fn) {
                hot_fn(&self.hot);
            }
            let _ = ack.send(outcome);
        }
        if committed.is_ok() {
            let deltas: Vec<SettleDelta> = settled.iter().map(Entry::delta).collect();
            self.hot.written(&deltas);
            for segment in self.segments.drain(..) {
                journal::remove(&segment);
            }
        } else {
            self.carried = settled;
        }
    }
}
