//! The settlement journal: a request's ledger row is durable once one line is
//! appended to a file next to the database, so the sqlite commit can happen
//! later, for many rows at once, off the response path. A write that returned
//! is in the OS's hands and survives a crash of the process (like sqlite's WAL
//! with synchronous=NORMAL). The writer commits the rows to sqlite; once a
//! segment is long it starts a new one and deletes the old one after its rows
//! are committed. Segments left by a process that died are replayed when the
//! store is next opened. Replay is idempotent: a row whose request id is
//! already in the ledger is skipped with its money.
//!
//! Each process appends to its own segment, which it holds locked, so a second
//! process never replays (or deletes) a segment that is still being written.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::hot::SettleDelta;
use crate::accounts::LedgerRow;
use crate::{Error, Result};

/// One settlement: the ledger row and what it changed on the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub time: i64,
    pub request_id: String,
    pub account_id: String,
    pub key_id: String,
    pub profile: String,
    pub input_tokens: u64,
    /// Absent from lines written before the ledger had cache columns.
    #[serde(default)]
    pub cache_read_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
    pub output_tokens: u64,
    pub cost_nanos: i64,
    pub status: u16,
    pub balance: i64,
    pub lifetime: i64,
    pub quota_used: i64,
    pub quota_period: u32,
}

impl Entry {
    pub fn new(row: LedgerRow, delta: SettleDelta) -> Self {
        Entry {
            time: row.time,
            request_id: row.request_id,
            account_id: row.account_id,
            key_id: row.key_id,
            profile: row.profile,
            input_tokens: row.input_tokens,
            cache_read_tokens: row.cache_read_tokens,
            cache_write_tokens: row.cache_write_tokens,
            output_tokens: row.output_tokens,
            cost_nanos: row.cost_nanos,
            status: row.status,
            balance: delta.balance,
            lifetime: delta.lifetime,
            quota_used: delta.quota_used,
            quota_period: delta.quota_period,
        }
    }

    pub fn delta(&self) -> SettleDelta {
        SettleDelta {
            account_id: self.account_id.clone(),
            balance: self.balance,
            lifetime: self.lifetime,
            quota_used: self.quota_used,
            quota_period: self.quota_period,
        }
    }
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::internal(format!(
        "store journal: cannot {what} {}: {e}",
        path.display()
    ))
}

struct Segment {
    file: File,
    path: PathBuf,
    len: u64,
}

/// A segment left by a process that is gone, with its entries.
pub type Leftover = (PathBuf, Vec<Entry>);

/// The journal of one store: the segment this process appends to.
pub struct Journal {
    dir: PathBuf,
    prefix: String,
    current: Mutex<Segment>,
    waiting: Mutex<Group>,
}

/// Lines waiting for the next write, and who waits for it.
#[derive(Default)]
struct Group {
    lines: Vec<u8>,
    entries: Vec<Entry>,
    waiters: Vec<oneshot::Sender<Result<()>>>,
    /// A member has taken on the write.
    leader: bool,
}

struct FlushOnDrop<'a> {
    journal: &'a Journal,
    hand_over: &'a (dyn Fn(Entry) + Sync),
}

impl Drop for FlushOnDrop<'_> {
    fn drop(&mut self) {
        self.journal.flush(self.hand_over);
    }
}

/// Numbers segments across the process: two stores on one file (tests, a
/// host with two gateways) never share a segment.
static NEXT_SEGMENT: AtomicU64 = AtomicU64::new(0);

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Segments are named `<db file>-settle-<pid>-<n>`: never sqlite's own
/// `-journal`, `-wal` or `-shm` suffixes.
fn prefix_of(db: &Path) -> (PathBuf, String) {
    let dir = db
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let name = db
        .file_name()
        .map_or_else(|| "gateway.db".into(), |n| n.to_string_lossy().into_owned());
    (dir, format!("{name}-settle-"))
}

impl Journal {
    /// Opens this process's first segment, and returns the segments other
    /// processes left behind (unlocked: their writer is gone) with their entries.
    pub fn open(db: &Path) -> Result<(Journal, Vec<Leftover>)> {
        let (dir, prefix) = prefix_of(db);
        let leftovers = leftovers(&dir, &prefix)?;
        let journal = Journal {
            current: Mutex::new(new_segment(&dir, &prefix)?),
            waiting: Mutex::new(Group::default()),
            dir,
            prefix,
        };
        Ok((journal, leftovers))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Segment> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn group(&self) -> std::sync::MutexGuard<'_, Group> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `entry` and returns once it is written; `hand_over` (giving it to
    /// the writer) runs under the segment's lock right after the write, so every
    /// entry of a segment has been handed over before the segment is rotated out.
    ///
    /// Requests settling in the same turn of the scheduler share one write: the
    /// first becomes the group's leader, lets the others join, then writes all
    /// their lines at once. A write call is most of a settlement's cost here.
    pub async fn append(&self, entry: Entry, hand_over: &(dyn Fn(Entry) + Sync)) -> Result<()> {
        let mut line = serde_json::to_vec(&entry)?;
        line.push(b'\n');
        let (done, written) = oneshot::channel();
        let lead = {
            let mut group = self.group();
            group.lines.extend_from_slice(&line);
            group.entries.push(entry);
            group.waiters.push(done);
            !std::mem::replace(&mut group.leader, true)
        };
        if lead {
            // Flushes even if this request is dropped while it yields.
            let _flush = FlushOnDrop {
                journal: self,
                hand_over,
            };
            tokio::task::yield_now().await;
        }
        written
            .await
            .map_err(|_| Error::internal("store journal: a write was abandoned"))?
    }

    /// Writes the waiting group in one call and tells its members.
    fn flush(&self, hand_over: &(dyn Fn(Entry) + Sync)) {
        let group = std::mem::take(&mut *self.group());
        if group.waiters.is_empty() {
            return;
        }
        let mut segment = self.lock();
        // One write call per group: a crash never leaves half of a line that
        // another line follows.
        let outcome = segment
            .file
            .write_all(&group.lines)
            .map_err(|e| io_error("write", &segment.path, e));
        if outcome.is_ok() {
            segment.len += group.lines.len() as u64;
            for entry in group.entries {
                hand_over(entry);
            }
        }
        drop(segment);
        for waiter in group.waiters {
            let _ = waiter.send(outcome.clone());
        }
    }

    /// Bytes in the segment being appended to.
    pub fn bytes(&self) -> u64 {
        self.lock().len
    }

    /// The segment being appended to.
    pub fn current_path(&self) -> PathBuf {
        self.lock().path.clone()
    }

    /// Starts a new segment and returns the old one's path, to delete once
    /// everything handed over so far is committed.
    pub fn rotate(&self) -> Result<PathBuf> {
        let fresh = new_segment(&self.dir, &self.prefix)?;
        let old = std::mem::replace(&mut *self.lock(), fresh);
        Ok(old.path)
    }
}

fn new_segment(dir: &Path, prefix: &str) -> Result<Segment> {
    let n = NEXT_SEGMENT.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{prefix}{}-{n}", std::process::id()));
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| io_error("create", &path, e))?;
    // Held for the life of the segment: the mark of a live writer.
    file.try_lock()
        .map_err(|e| io_error("lock", &path, std::io::Error::other(e.to_string())))?;
    Ok(Segment { file, path, len: 0 })
}

/// The segments in `dir` that no live process holds, with their entries. A
/// torn last line (the process died inside a write) is skipped.
fn leftovers(dir: &Path, prefix: &str) -> Result<Vec<Leftover>> {
    let listing = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error("list", dir, e)),
    };
    let mut found = Vec::new();
    for item in listing.flatten() {
        let name = item.file_name();
        if !name.to_string_lossy().starts_with(prefix) {
            continue;
        }
        let path = item.path();
        let file = File::open(&path).map_err(|e| io_error("open", &path, e))?;
        if file.try_lock().is_err() {
            continue; // a live process is still writing it
        }
        let mut entries = Vec::new();
        for line in BufReader::new(&file).lines() {
            let line = line.map_err(|e| io_error("read", &path, e))?;
            match serde_json::from_str::<Entry>(&line) {
                Ok(entry) => entries.push(entry),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "store journal: skipped a torn line")
                }
            }
        }
        found.push((path, entries));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// Deletes a segment whose entries are committed; gone already is fine.
pub fn remove(path: &Path) {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "store journal: cannot delete a committed segment")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> Entry {
        Entry {
            time: 1,
            request_id: id.into(),
            account_id: "a".into(),
            key_id: "k".into(),
            profile: "p \"quoted\"\nline".into(),
            input_tokens: 1,
            cache_read_tokens: 4,
            cache_write_tokens: 5,
            output_tokens: 2,
            cost_nanos: 3,
            status: 200,
            balance: -3,
            lifetime: 3,
            quota_used: 0,
            quota_period: 7,
        }
    }

    #[test]
    fn lines_from_before_the_cache_columns_read_as_no_cache_tokens() {
        let old = r#"{"time":1,"request_id":"r0","account_id":"a","key_id":"k","profile":"p",
            "input_tokens":9,"output_tokens":2,"cost_nanos":3,"status":200,
            "balance":-3,"lifetime":3,"quota_used":0,"quota_period":7}"#;
        let e: Entry = serde_json::from_str(old).unwrap();
        assert_eq!(
            (e.input_tokens, e.cache_read_tokens, e.cache_write_tokens),
            (9, 0, 0)
        );
    }

    #[tokio::test]
    async fn live_segments_are_left_alone_and_dead_ones_replayed() {
        let dir = std::env::temp_dir().join(format!("mws-journal-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("g.db");
        let (journal, left) = Journal::open(&db).unwrap();
        assert!(left.is_empty());
        let handed = Mutex::new(Vec::new());
        let hand_over = |e: Entry| handed.lock().unwrap().push(e);
        // Two appends at once share one write.
        let (a, b) = tokio::join!(
            journal.append(entry("r1"), &hand_over),
            journal.append(entry("r2"), &hand_over)
        );
        a.unwrap();
        b.unwrap();
        assert_eq!(*handed.lock().unwrap(), vec![entry("r1"), entry("r2")]);
        // The segment is locked while its journal lives.
        let (_other, left) = Journal::open(&db).unwrap();
        assert!(left.is_empty());
        // A torn line at the end (a crash inside a write) is skipped.
        let old = journal.rotate().unwrap();
        drop(journal);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&old)
            .unwrap()
            .write_all(b"{\"time\":1,\"requ")
            .unwrap();
        let (_third, left) = Journal::open(&db).unwrap();
        let replayed: Vec<_> = left.into_iter().flat_map(|(_, e)| e).collect();
        assert_eq!(replayed, vec![entry("r1"), entry("r2")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
