//! One suite every store back end must pass.

use std::sync::Arc;

use serde_json::json;

use super::{Store, StoredResponse, Throttle};
use crate::accounts::keys::{hash_key, new_id, new_key};
use crate::accounts::{KeyRecord, LedgerRow};
use crate::call::unix_now;
use crate::ErrorKind;

fn key_for(account_id: &str, secret: &str) -> KeyRecord {
    KeyRecord {
        id: new_id("key_"),
        account_id: account_id.into(),
        name: "k".into(),
        hash: hash_key(secret),
        prefix: secret[..12].into(),
        rpm: None,
        tpm: None,
        revoked: false,
        created_at: unix_now(),
    }
}

pub(crate) fn row(request_id: &str, account_id: &str, cost: i64) -> LedgerRow {
    LedgerRow {
        time: unix_now(),
        request_id: request_id.into(),
        account_id: account_id.into(),
        key_id: "key_x".into(),
        profile: "dragon".into(),
        input_tokens: 10,
        cache_read_tokens: 6,
        cache_write_tokens: 1,
        output_tokens: 20,
        cost_nanos: cost,
        status: 200,
    }
}

/// The token counts of a settled `row`: the whole input, the cache parts of
/// it and the output, as written.
pub(crate) fn assert_tokens(r: &LedgerRow) {
    assert_eq!(
        (
            r.input_tokens,
            r.cache_read_tokens,
            r.cache_write_tokens,
            r.output_tokens
        ),
        (10, 6, 1, 20),
        "{r:?}"
    );
}

pub async fn run(store: Arc<dyn Store>) {
    let a = store.create_account("team").await.unwrap();
    assert_eq!(store.account(&a.id).await.unwrap().name, "team");
    assert_eq!(
        store.account("acct_nope").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        store.account_by_name("team").await.unwrap().unwrap().id,
        a.id
    );
    let a = store.add_credits(&a.id, 1_000).await.unwrap();
    assert_eq!(a.balance_nanos, 1_000);
    // The list holds every account, oldest first, with current balances.
    let b = store.create_account("second").await.unwrap();
    let all = store.accounts().await.unwrap();
    let mut ids: Vec<&str> = all.iter().map(|x| x.id.as_str()).collect();
    assert!(all
        .windows(2)
        .all(|w| (w[0].created_at, &w[0].id) <= (w[1].created_at, &w[1].id)));
    let listed = all.iter().find(|x| x.id == a.id).unwrap();
    assert_eq!(listed.balance_nanos, 1_000);
    ids.sort_unstable();
    let mut want = [a.id.as_str(), b.id.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    let a = store.set_plan(&a.id, Some("pro")).await.unwrap();
    assert_eq!(a.plan.as_deref(), Some("pro"));
    let a = store.set_plan(&a.id, None).await.unwrap();
    assert_eq!(a.plan, None);

    let secret = new_key();
    let k = store.insert_key(key_for(&a.id, &secret)).await.unwrap();
    let (found, acct) = store
        .authenticate(&hash_key(&secret))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id.as_str(), acct.id.as_str()),
        (k.id.as_str(), a.id.as_str())
    );
    assert!(store
        .authenticate(&hash_key("mws_live_other"))
        .await
        .unwrap()
        .is_none());
    let t = store
        .set_throttle(
            &k.id,
            Throttle {
                rpm: Some(Some(5)),
                tpm: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((t.rpm, t.tpm), (Some(5), None));
    assert_eq!(store.keys(&a.id).await.unwrap().len(), 1);

    // Reservations hold money atomically; settlement charges once.
    let r1 = store.reserve("req_1", &a.id, 600, 0).await.unwrap();
    let err = store.reserve("req_2", &a.id, 600, 0).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InsufficientCredits);
    store.settle(&r1, row("req_1", &a.id, 250)).await.unwrap();
    store.settle(&r1, row("req_1", &a.id, 250)).await.unwrap();
    let a2 = store.account(&a.id).await.unwrap();
    assert_eq!((a2.balance_nanos, a2.lifetime_spend_nanos), (750, 250));
    let r3 = store.reserve("req_3", &a.id, 750, 0).await.unwrap();
    store.release(&r3).await;
    let ledger = store.ledger(&a.id).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        (ledger[0].request_id.as_str(), ledger[0].cost_nanos),
        ("req_1", 250)
    );
    assert_tokens(&ledger[0]);

    store.revoke_key(&k.id).await.unwrap();
    assert!(store
        .authenticate(&hash_key(&secret))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.revoke_key("key_nope").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );

    let s = store.admit("acct:x", 1, 100, 10).await.unwrap().unwrap();
    assert_eq!(s.remaining_requests, 0);
    assert!(store.admit("acct:x", 1, 100, 10).await.unwrap().is_err());
    windows_follow_the_money(&*store, &b.id).await;
    store.ping().await.unwrap();

    responses(&*store, &a.id).await;
}

/// Reserving, settling and releasing with the request's windows move their
/// token counts as separate `adjust_tokens` calls would (a shared store does
/// it in the same round trip); a refused reservation counts nothing.
async fn windows_follow_the_money(store: &dyn Store, account: &str) {
    store.add_credits(account, 750).await.unwrap();
    let subjects = ["acct:w".to_string(), "key:w".to_string()];
    for s in &subjects {
        store.admit(s, 100, 10_000, 0).await.unwrap().unwrap();
    }
    let counted = || async {
        let mut left = Vec::new();
        for s in &subjects {
            left.push(10_000 - store.peek(s, 100, 10_000).await.unwrap().remaining_tokens);
        }
        left
    };
    let r = store
        .reserve_counting("req_w1", account, 10, 0, &subjects, 500)
        .await
        .unwrap();
    assert_eq!(counted().await, [500, 500]);
    store
        .settle_counting(&r, row("req_w1", account, 5), &subjects, -300)
        .await
        .unwrap();
    assert_eq!(counted().await, [200, 200]);
    let r = store
        .reserve_counting("req_w2", account, 10, 0, &subjects, 400)
        .await
        .unwrap();
    assert_eq!(counted().await, [600, 600]);
    store.release_counting(&r, &subjects, -400).await;
    assert_eq!(counted().await, [200, 200]);
    let short = store
        .reserve_counting("req_w3", account, 1 << 40, 0, &subjects, 50)
        .await
        .unwrap_err();
    assert_eq!(short.kind(), ErrorKind::InsufficientCredits);
    assert_eq!(counted().await, [200, 200]);
    // The money moved as the plain calls move it: 5 charged, nothing held.
    let a = store.account(account).await.unwrap();
    assert_eq!((a.balance_nanos, a.lifetime_spend_nanos), (745, 5));
    let r = store.reserve("req_w4", account, 745, 0).await.unwrap();
    store.release(&r).await;
}

/// A stored response of `account_id` that lives for `ttl` more seconds.
pub(crate) fn stored(id: &str, account_id: &str, ttl: i64) -> StoredResponse {
    let now = unix_now();
    StoredResponse {
        id: id.into(),
        account_id: account_id.into(),
        created_at: now,
        expires_at: now + ttl,
        input_items: json!([{"type": "message", "role": "user", "content": format!("hi from {id}")}]),
        response: json!({"id": id, "object": "response", "status": "completed", "output": []}),
    }
}

/// The response `run` leaves behind for `account_id`, to be found after a
/// reopen.
pub(crate) const KEPT: &str = "resp_kept";

async fn responses(store: &dyn Store, account: &str) {
    let other = "acct_other";
    // A round trip, a large one included (JSON as text, hundreds of KB).
    let mut big = stored("resp_big", account, 3600);
    big.response["output"] = json!([{"type": "message", "content": [{"type": "output_text", "text": "x".repeat(400_000)}]}]);
    big.input_items = json!([{"role": "user", "content": "ü \u{1F600} \"quoted\""}, {"role": "assistant", "content": "ok"}]);
    store.put_response(&big, 100).await.unwrap();
    assert_eq!(
        store.get_response(account, "resp_big").await.unwrap(),
        Some(big.clone())
    );
    // Another account learns nothing, and cannot delete it.
    assert_eq!(store.get_response(other, "resp_big").await.unwrap(), None);
    assert!(!store.delete_response(other, "resp_big").await.unwrap());
    assert!(store
        .get_response(account, "resp_big")
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store.get_response(account, "resp_nope").await.unwrap(),
        None
    );
    // Delete, then it is gone, and a second delete finds nothing.
    assert!(store.delete_response(account, "resp_big").await.unwrap());
    assert_eq!(store.get_response(account, "resp_big").await.unwrap(), None);
    assert!(!store.delete_response(account, "resp_big").await.unwrap());

    // Expired: never returned, nor deleted.
    let old = stored("resp_old", account, -1);
    store.put_response(&old, 100).await.unwrap();
    assert_eq!(store.get_response(account, "resp_old").await.unwrap(), None);
    assert!(!store.delete_response(account, "resp_old").await.unwrap());

    // The same id put again replaces it.
    let mut again = stored("resp_again", account, 3600);
    store.put_response(&again, 100).await.unwrap();
    again.response["status"] = json!("incomplete");
    store.put_response(&again, 100).await.unwrap();
    assert_eq!(
        store.get_response(account, "resp_again").await.unwrap(),
        Some(again)
    );
    assert!(store.delete_response(account, "resp_again").await.unwrap());

    // The cap evicts the account's oldest (put within one second: the order
    // they were put in decides), never another account's.
    let host = "";
    store
        .put_response(&stored("resp_host", host, 3600), 2)
        .await
        .unwrap();
    store
        .put_response(&stored("resp_o1", other, 3600), 2)
        .await
        .unwrap();
    for id in ["resp_c1", "resp_c2", "resp_c3", "resp_c4"] {
        store
            .put_response(&stored(id, account, 3600), 3)
            .await
            .unwrap();
    }
    for (id, live) in [
        ("resp_c1", false),
        ("resp_c2", true),
        ("resp_c3", true),
        ("resp_c4", true),
    ] {
        let found = store.get_response(account, id).await.unwrap();
        assert_eq!(found.is_some(), live, "{id}");
    }
    store
        .put_response(&stored("resp_c5", account, 3600), 2)
        .await
        .unwrap();
    for (id, live) in [("resp_c3", false), ("resp_c4", true), ("resp_c5", true)] {
        let found = store.get_response(account, id).await.unwrap();
        assert_eq!(found.is_some(), live, "{id}");
    }
    assert!(store
        .get_response(other, "resp_o1")
        .await
        .unwrap()
        .is_some());
    // The host caller's (account "") are its own.
    let h = store
        .get_response(host, "resp_host")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.account_id, "");
    assert_eq!(
        store.get_response(account, "resp_host").await.unwrap(),
        None
    );
    assert_eq!(store.get_response(host, "resp_o1").await.unwrap(), None);

    store
        .put_response(&stored(KEPT, account, 3600), 100)
        .await
        .unwrap();
}

#[tokio::test]
async fn memory_store_conforms() {
    run(Arc::new(super::MemoryStore::new())).await;
}

#[tokio::test]
async fn sqlite_store_conforms_and_persists() {
    let dir = std::env::temp_dir().join(format!("mws-test-{}", new_id("")));
    let path = dir.join("gw.db");
    let store = Arc::new(super::SqliteStore::open(&path).unwrap());
    run(store.clone()).await;
    let id = store.account_by_name("team").await.unwrap().unwrap().id;
    drop(store);
    // A new process sees what the last one committed.
    let again = super::SqliteStore::open(&path).unwrap();
    let a = again.account(&id).await.unwrap();
    assert_eq!((a.balance_nanos, a.lifetime_spend_nanos), (750, 250));
    let ledger = again.ledger(&id).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_tokens(&ledger[0]);
    assert_eq!(again.keys(&id).await.unwrap()[0].rpm, Some(5));
    assert_eq!(again.accounts().await.unwrap().len(), 2);
    let kept = again.get_response(&id, KEPT).await.unwrap().unwrap();
    assert_eq!(kept.response["id"], KEPT);
    assert_eq!(
        again
            .get_response(&id, "resp_c4")
            .await
            .unwrap()
            .unwrap()
            .id,
        "resp_c4"
    );
    assert_eq!(again.get_response(&id, "resp_c3").await.unwrap(), None);
    // Credits added by another process reach a running store.
    let other = super::SqliteStore::open(&path).unwrap();
    other.add_credits(&id, 50).await.unwrap();
    // Within a poll period (200 ms); a loaded machine gets a few seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while again.account(&id).await.unwrap().balance_nanos != 800
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(again.account(&id).await.unwrap().balance_nanos, 800);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn sqlite_replays_the_journal_a_dead_process_left_once() {
    use super::hot::SettleDelta;
    use super::journal::Entry;
    let dir = std::env::temp_dir().join(format!("mws-test-{}", new_id("")));
    let path = dir.join("gw.db");
    let store = super::SqliteStore::open(&path).unwrap();
    let a = store.create_account("crashed").await.unwrap();
    store.add_credits(&a.id, 1_000).await.unwrap();
    drop(store);
    // What a process killed between its journal write and its commit leaves:
    // a segment nobody holds, with a line for a row the ledger lacks.
    let entry = Entry::new(
        row("req_lost", &a.id, 300),
        SettleDelta {
            account_id: a.id.clone(),
            balance: -300,
            lifetime: 300,
            quota_used: 0,
            quota_period: a.quota_period,
        },
    );
    let mut line = serde_json::to_vec(&entry).unwrap();
    line.push(b'\n');
    std::fs::write(dir.join("gw.db-settle-999999999-0"), &line).unwrap();
    for _ in 0..2 {
        // Opened twice: the second open finds nothing left to replay.
        let store = super::SqliteStore::open(&path).unwrap();
        let again = store.account(&a.id).await.unwrap();
        assert_eq!(
            (again.balance_nanos, again.lifetime_spend_nanos),
            (700, 300)
        );
        let ledger = store.ledger(&a.id).await.unwrap();
        assert_eq!(ledger.len(), 1);
        assert_eq!(ledger[0].request_id, "req_lost");
        assert_tokens(&ledger[0]);
    }
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("-settle-"))
        .collect();
    assert!(left.is_empty(), "segments left behind: {left:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn sqlite_migrates_a_first_version_ledger_keeping_its_rows_in_order() {
    let dir = std::env::temp_dir().join(format!("mws-test-{}", new_id("")));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gw.db");
    {
        // A file as the first schema left it, with ledger rows in it.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../../migrations/0001_init.sql"))
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, balance_nanos, lifetime_spend_nanos, quota_period, created_at)
               VALUES ('acct_old', 'old', 900, 100, 0, 0);
             INSERT INTO ledger (time, request_id, account_id, key_id, profile, input_tokens, output_tokens, cost_nanos, status)
               VALUES (1, 'req_b', 'acct_old', 'key_1', 'dragon', 1, 2, 60, 200),
                      (2, 'req_a', 'acct_old', 'key_1', 'dragon', 3, 4, 40, 200);",
        )
        .unwrap();
    }
    let store = super::SqliteStore::open(&path).unwrap();
    let ids: Vec<String> = store
        .ledger("acct_old")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.request_id)
        .collect();
    assert_eq!(ids, ["req_b", "req_a"]);
    // New rows follow the old ones.
    let r = store.reserve("req_c", "acct_old", 10, 0).await.unwrap();
    store
        .settle(&r, row("req_c", "acct_old", 10))
        .await
        .unwrap();
    let ledger = store.ledger("acct_old").await.unwrap();
    assert_eq!(ledger.last().unwrap().request_id, "req_c");
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, super::sqlite::MIGRATIONS.len());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn sqlite_opens_a_ledger_from_before_the_cache_columns_reading_zeros() {
    let dir = std::env::temp_dir().join(format!("mws-test-{}", new_id("")));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gw.db");
    // The migrations before the cache columns, then a row as that schema wrote it.
    let before = super::sqlite::MIGRATIONS
        .iter()
        .position(|m| m.contains("cache_read_tokens"))
        .unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in &super::sqlite::MIGRATIONS[..before] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", before).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, balance_nanos, lifetime_spend_nanos, quota_period, created_at)
               VALUES ('acct_old', 'old', 900, 100, 0, 0);
             INSERT INTO ledger (time, request_id, account_id, key_id, profile, input_tokens, output_tokens, cost_nanos, status)
               VALUES (1, 'req_old', 'acct_old', 'key_1', 'dragon', 30, 4, 100, 200);",
        )
        .unwrap();
    }
    let store = super::SqliteStore::open(&path).unwrap();
    let old = &store.ledger("acct_old").await.unwrap()[0];
    assert_eq!(
        (
            old.request_id.as_str(),
            old.input_tokens,
            old.cache_read_tokens,
            old.cache_write_tokens,
            old.output_tokens,
            old.cost_nanos
        ),
        ("req_old", 30, 0, 0, 4, 100)
    );
    // A row settled after the migration keeps its split, beside the old one.
    let r = store.reserve("req_new", "acct_old", 10, 0).await.unwrap();
    store
        .settle(&r, row("req_new", "acct_old", 10))
        .await
        .unwrap();
    drop(store);
    let store = super::SqliteStore::open(&path).unwrap();
    let ledger = store.ledger("acct_old").await.unwrap();
    assert_eq!(ledger.len(), 2);
    assert_eq!(ledger[0].cache_read_tokens, 0);
    assert_tokens(&ledger[1]);
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn sqlite_deletes_expired_responses_when_others_are_put() {
    let dir = std::env::temp_dir().join(format!("mws-test-{}", new_id("")));
    let path = dir.join("gw.db");
    let store = super::SqliteStore::open(&path).unwrap();
    store
        .put_response(&stored("resp_dead", "acct_a", -5), 10)
        .await
        .unwrap();
    store
        .put_response(&stored("resp_live", "acct_b", 3600), 10)
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM responses")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(ids, ["resp_live"]);
    drop((conn, store));
    let _ = std::fs::remove_dir_all(dir);
}

/// A Redis for a test, or `None` to skip: loudly when redis-server is not
/// installed, and never under CI, where it must be.
pub(crate) async fn test_redis(private: bool) -> Option<crate::testing::redis_server::TestRedis> {
    use crate::testing::redis_server::TestRedis;
    let found = TestRedis::get(private).await.unwrap();
    if found.is_none() {
        assert!(
            !TestRedis::required(),
            "CI is set but redis-server is not installed: the redis store must be tested"
        );
        eprintln!(
            "\n*** SKIPPED: redis-server is not installed; the redis store is NOT tested. \
             `apt-get install redis-server` or run scripts/test.sh ***\n"
        );
    }
    found
}

#[tokio::test]
async fn redis_store_conforms() {
    let Some(redis) = test_redis(false).await else {
        return;
    };
    let cfg = crate::config::Config::from_toml_str(&redis.store_toml()).unwrap();
    let store = Arc::new(super::RedisStore::open(&cfg.store).unwrap());
    run(store.clone()).await;
    // A second instance on the same Redis sees what the first one wrote.
    let other = super::RedisStore::open(&cfg.store).unwrap();
    let id = other.account_by_name("team").await.unwrap().unwrap().id;
    let a = other.account(&id).await.unwrap();
    assert_eq!((a.balance_nanos, a.lifetime_spend_nanos), (750, 250));
    let ledger = other.ledger(&id).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_tokens(&ledger[0]);
    assert_eq!(other.keys(&id).await.unwrap()[0].rpm, Some(5));
    // And its stored responses: read, and deleted for both.
    let kept = other.get_response(&id, KEPT).await.unwrap().unwrap();
    assert_eq!(kept.response["id"], KEPT);
    assert!(other.delete_response(&id, KEPT).await.unwrap());
    assert_eq!(store.get_response(&id, KEPT).await.unwrap(), None);
}
