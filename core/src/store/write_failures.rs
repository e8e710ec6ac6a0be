//! The sqlite store when its file stops taking writes while it serves: new
//! work gets a 503, requests already admitted settle into the journal, and
//! their rows land once the file takes writes again (or at the next start).
//!
//! Two honest ways to make a running store's writes fail, as root too (root
//! ignores permission bits): another connection holding the write lock (every
//! commit times out as "database is locked"), and the immutable flag
//! (`chattr +i`, which root must obey too: every write fails with EPERM).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::conformance::row;
use super::{SqliteStore, Store};
use crate::accounts::keys::new_id;
use crate::ErrorKind;

fn temp_db() -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("mws-test-{}", new_id("")));
    let path = dir.join("gw.db");
    (dir, path)
}

/// Waits (up to a generous deadline) until the store answers `ping` again.
async fn until_healthy(store: &SqliteStore) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.ping().await.is_err() {
        assert!(Instant::now() < deadline, "the store never recovered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_unavailable(e: &crate::Error) {
    assert_eq!(e.kind(), ErrorKind::Overloaded, "{e}");
    assert_eq!(e.retry_after_secs(), Some(1));
    assert!(
        e.message().starts_with("store unavailable: sqlite: "),
        "{e}"
    );
}

/// Runs the scenario with `block` making writes fail and `unblock` ending it:
/// an account with $1000 nano, one request in flight when writes stop.
async fn scenario(path: &Path, block: impl FnOnce(), unblock: impl FnOnce()) {
    let store = SqliteStore::open(path).unwrap();
    let a = store.create_account("busy").await.unwrap();
    store.add_credits(&a.id, 1_000).await.unwrap();
    let in_flight = store.reserve("req_in_flight", &a.id, 400, 0).await.unwrap();
    block();
    // The first change that needs a commit finds out, and says so with a 503.
    assert_unavailable(&store.create_account("refused").await.unwrap_err());
    assert_unavailable(&store.reserve("req_new", &a.id, 10, 0).await.unwrap_err());
    assert_unavailable(&store.ping().await.unwrap_err());
    // The request admitted before still settles: its row is in the journal.
    store
        .settle(&in_flight, row("req_in_flight", &a.id, 300))
        .await
        .unwrap();
    assert_eq!(store.account(&a.id).await.unwrap().balance_nanos, 700);
    unblock();
    until_healthy(&store).await;
    let ledger = store.ledger(&a.id).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].cost_nanos, 300);
    store.create_account("after").await.unwrap();
    drop(store);
    // And it is in the file: a fresh start sees the same.
    let again = SqliteStore::open(path).unwrap();
    assert_eq!(again.account(&a.id).await.unwrap().balance_nanos, 700);
    assert_eq!(again.ledger(&a.id).await.unwrap().len(), 1);
    assert_eq!(again.accounts().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_locked_by_another_process_is_503_until_released() {
    let (dir, path) = temp_db();
    // Created first, so the lock can be taken on an existing schema.
    drop(SqliteStore::open(&path).unwrap());
    let locker = rusqlite::Connection::open(&path).unwrap();
    let locker = Arc::new(std::sync::Mutex::new(locker));
    let (l1, l2) = (locker.clone(), locker.clone());
    scenario(
        &path,
        move || l1.lock().unwrap().execute_batch("BEGIN IMMEDIATE").unwrap(),
        move || l2.lock().unwrap().execute_batch("ROLLBACK").unwrap(),
    )
    .await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Sets or clears the immutable flag; false when this machine cannot.
fn immutable(paths: &[PathBuf], on: bool) -> bool {
    Command::new("chattr")
        .arg(if on { "+i" } else { "-i" })
        .args(paths)
        .status()
        .is_ok_and(|s| s.success())
}

/// Clears the flag however the test ends, so the folder can be deleted.
struct Mutable(Vec<PathBuf>);

impl Drop for Mutable {
    fn drop(&mut self) {
        immutable(&self.0, false);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_file_is_503_and_nothing_accepted_is_lost() {
    let (dir, path) = temp_db();
    drop(SqliteStore::open(&path).unwrap());
    let files = vec![path.clone(), dir.join("gw.db-wal")];
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&files[1])
        .unwrap();
    if !immutable(&files, true) || !immutable(&files, false) {
        eprintln!(
            "\n*** SKIPPED: `chattr +i` does not work here (needs CAP_LINUX_IMMUTABLE and a \
             filesystem with the flag); the read-only sqlite file is NOT tested ***\n"
        );
        let _ = std::fs::remove_dir_all(dir);
        return;
    }
    let _guard = Mutable(files.clone());
    let (f1, f2) = (files.clone(), files.clone());
    scenario(
        &path,
        move || assert!(immutable(&f1, true)),
        move || assert!(immutable(&f2, false)),
    )
    .await;
    drop(_guard);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn settlements_held_when_the_process_stops_replay_at_the_next_start() {
    let (dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let a = store.create_account("stopping").await.unwrap();
    store.add_credits(&a.id, 1_000).await.unwrap();
    let r = store.reserve("req_held", &a.id, 400, 0).await.unwrap();
    let locker = rusqlite::Connection::open(&path).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    store.settle(&r, row("req_held", &a.id, 250)).await.unwrap();
    // Stopping while the file is locked: the last commit fails too, so the
    // journal segment stays for the next start.
    drop(store);
    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);
    let again = SqliteStore::open(&path).unwrap();
    assert_eq!(again.account(&a.id).await.unwrap().balance_nanos, 750);
    let ledger = again.ledger(&a.id).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].request_id, "req_held");
    let _ = std::fs::remove_dir_all(dir);
}
