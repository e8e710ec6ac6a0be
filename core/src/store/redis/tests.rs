//! The redis store against a real redis-server: the scripts against hot.rs's
//! arithmetic, two instances sharing one server, and an outage.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::RedisStore;
use crate::accounts::keys::{hash_key, new_id, new_key};
use crate::accounts::{KeyRecord, LedgerRow};
use crate::call::unix_now;
use crate::config::Config;
use crate::store::conformance::test_redis;
use crate::store::hot::Hot;
use crate::store::{Reservation, Store};
use crate::testing::redis_server::TestRedis;
use crate::ErrorKind;

fn open(redis: &TestRedis) -> RedisStore {
    let cfg = Config::from_toml_str(&redis.store_toml()).unwrap();
    RedisStore::open(&cfg.store).unwrap()
}

fn row(request_id: &str, account_id: &str, cost: i64) -> LedgerRow {
    LedgerRow {
        time: unix_now(),
        request_id: request_id.into(),
        account_id: account_id.into(),
        key_id: "key_x".into(),
        profile: "dragon".into(),
        input_tokens: 3,
        cache_read_tokens: 2,
        cache_write_tokens: 1,
        output_tokens: 4,
        cost_nanos: cost,
        status: 200,
    }
}

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

/// Random credits, reservations (with and without plan quota), settlements
/// above and below what was reserved and releases, applied to the hot state
/// and to the scripts: the same answers, balances and charges throughout.
#[tokio::test]
async fn scripts_compute_what_the_hot_state_computes() {
    let Some(redis) = test_redis(false).await else {
        return;
    };
    let store = open(&redis);
    let hot = Hot::new();
    let a = store.create_account("diff").await.unwrap();
    hot.put_account(a.clone());
    let mut rng = StdRng::seed_from_u64(6);
    let mut open_: Vec<Reservation> = Vec::new();
    let mut charged = Vec::new();
    for i in 0..600 {
        match rng.random_range(0..10) {
            0 => {
                let n = rng.random_range(0..800);
                store.add_credits(&a.id, n).await.unwrap();
                hot.update_account(&a.id, |x| x.balance_nanos += n).unwrap();
            }
            1..=4 => {
                let worst = rng.random_range(0..500);
                let quota = [0, 0, 150, 2000][rng.random_range(0..4)];
                let id = format!("req_{i}");
                let want = hot.reserve(&id, &a.id, worst, quota);
                let got = store.reserve(&id, &a.id, worst, quota).await;
                match (want, got) {
                    (Ok(w), Ok(g)) => {
                        assert_eq!(w, g, "step {i}");
                        open_.push(g);
                    }
                    (Err(w), Err(g)) => {
                        assert_eq!((w.kind(), w.message()), (g.kind(), g.message()), "step {i}")
                    }
                    (w, g) => panic!("step {i}: hot {w:?}, redis {g:?}"),
                }
            }
            5..=7 if !open_.is_empty() => {
                let r = open_.swap_remove(rng.random_range(0..open_.len()));
                let cost = rng.random_range(-5..700);
                let mut want = row(&r.request_id, &a.id, cost);
                hot.settle(&r, &mut want).unwrap();
                store
                    .settle(&r, row(&r.request_id, &a.id, cost))
                    .await
                    .unwrap();
                charged.push(want.cost_nanos);
            }
            _ if !open_.is_empty() => {
                let r = open_.swap_remove(rng.random_range(0..open_.len()));
                hot.release(&r);
                store.release(&r).await;
            }
            _ => {}
        }
        let (w, g) = (
            hot.account(&a.id).unwrap(),
            store.account(&a.id).await.unwrap(),
        );
        assert_eq!(
            (w.balance_nanos, w.lifetime_spend_nanos, w.quota_used_nanos),
            (g.balance_nanos, g.lifetime_spend_nanos, g.quota_used_nanos),
            "step {i}"
        );
    }
    let ledger: Vec<i64> = store
        .ledger(&a.id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.cost_nanos)
        .collect();
    assert_eq!(ledger, charged);
    assert!(
        charged.len() > 50,
        "the walk settled {} requests",
        charged.len()
    );
}

/// Two instances reserving and settling at once against one balance: never
/// below zero, every charge in the ledger and its totals, nothing left held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_oversell_and_the_ledger_adds_up() {
    let Some(redis) = test_redis(false).await else {
        return;
    };
    let stores = [Arc::new(open(&redis)), Arc::new(open(&redis))];
    let a = stores[0].create_account("shared").await.unwrap();
    let start = 20_000;
    stores[0].add_credits(&a.id, start).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..300 {
        let (s, id) = (stores[i % 2].clone(), a.id.clone());
        tasks.push(tokio::spawn(async move {
            let rid = format!("req_{i}");
            let Ok(r) = s.reserve(&rid, &id, 300, 0).await else {
                return 0;
            };
            tokio::time::sleep(Duration::from_millis(i as u64 % 7)).await;
            // Some cost more than they reserved: only free balance pays for that.
            s.settle(&r, row(&rid, &id, (i as i64 * 37) % 450))
                .await
                .unwrap();
            1
        }));
    }
    let mut served = 0;
    for t in tasks {
        served += t.await.unwrap();
    }
    let end = stores[1].account(&a.id).await.unwrap();
    let ledger = stores[1].ledger(&a.id).await.unwrap();
    let spent: i64 = ledger.iter().map(|r| r.cost_nanos).sum();
    assert!(served > 0 && served < 300, "{served} served");
    assert_eq!(ledger.len(), served);
    assert!(end.balance_nanos >= 0);
    assert_eq!(start - end.balance_nanos, spent);
    assert_eq!(end.lifetime_spend_nanos, spent);
    let mut c = stores[0].conn().await.unwrap();
    let totals: (i64, i64, i64, i64, i64) = redis::cmd("HMGET")
        .arg(stores[0].inner.layout.totals(&a.id))
        .arg("requests")
        .arg("cost")
        .arg("input_tokens")
        .arg("cache_read_tokens")
        .arg("cache_write_tokens")
        .query_async(&mut c)
        .await
        .unwrap();
    let served = served as i64;
    assert_eq!(totals, (served, spent, 3 * served, 2 * served, served));
    // Nothing is still held: the whole balance can be reserved.
    if end.balance_nanos > 0 {
        stores[0]
            .reserve("req_all", &a.id, end.balance_nanos, 0)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_holds_across_instances() {
    let Some(redis) = test_redis(false).await else {
        return;
    };
    let stores = [Arc::new(open(&redis)), Arc::new(open(&redis))];
    let mut tasks = Vec::new();
    for i in 0..90 {
        let s = stores[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            s.admit("key:shared", 25, u64::MAX, 10).await.unwrap()
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => admitted += 1,
            Err(refused) => {
                assert_eq!(refused.which, "requests");
                assert!((1..=60).contains(&refused.retry_after_secs));
            }
        }
    }
    assert_eq!(admitted, 25);
    let p = stores[1].peek("key:shared", 25, 1000).await.unwrap();
    assert_eq!((p.remaining_requests, p.remaining_tokens), (0, 750));
    // Token corrections reach the shared window, never below zero.
    stores[0].adjust_tokens("key:shared", -100).await;
    stores[1].adjust_tokens("key:shared", -10_000).await;
    let p = stores[0].peek("key:shared", 25, 1000).await.unwrap();
    assert_eq!(p.remaining_tokens, 1000);
}

#[tokio::test]
async fn keys_created_and_revoked_on_one_instance_reach_the_other_within_a_second() {
    let Some(redis) = test_redis(false).await else {
        return;
    };
    let (one, two) = (open(&redis), open(&redis));
    let a = one.create_account("keys").await.unwrap();
    // The second instance has its cache (and its subscription) before the change.
    assert!(two
        .authenticate(&hash_key(&new_key()))
        .await
        .unwrap()
        .is_none());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let secret = new_key();
    let k = one.insert_key(key_for(&a.id, &secret)).await.unwrap();
    let seen = async {
        let t = Instant::now();
        while two
            .authenticate(&hash_key(&secret))
            .await
            .unwrap()
            .is_none()
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        t.elapsed()
    };
    let took = tokio::time::timeout(Duration::from_secs(1), seen).await;
    assert!(
        took.is_ok(),
        "a new key took over a second to reach the other instance"
    );
    one.revoke_key(&k.id).await.unwrap();
    let gone = async {
        let t = Instant::now();
        while two
            .authenticate(&hash_key(&secret))
            .await
            .unwrap()
            .is_some()
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        t.elapsed()
    };
    let took = tokio::time::timeout(Duration::from_secs(1), gone).await;
    assert!(
        took.is_ok(),
        "a revoked key was still accepted a second later"
    );
}

/// A gateway that dies with reservations open: another one gives them back
/// once the dead one has been silent long enough.
#[tokio::test]
async fn reservations_of_a_dead_instance_are_given_back() {
    let Some(redis) = test_redis(false).await else {
        return;
    };
    let survivor = open(&redis);
    let a = survivor.create_account("reaped").await.unwrap();
    survivor.add_credits(&a.id, 1_000).await.unwrap();
    let dead = open(&redis);
    dead.reserve("req_dead", &a.id, 1_000, 0).await.unwrap();
    drop(dead);
    let short = survivor.reserve("req_1", &a.id, 1, 0).await.unwrap_err();
    assert_eq!(short.kind(), ErrorKind::InsufficientCredits);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let freed = survivor
        .inner
        .beat(Duration::from_millis(10), true)
        .await
        .unwrap();
    assert_eq!(freed, 1);
    survivor.reserve("req_2", &a.id, 1_000, 0).await.unwrap();
    // A late settlement of the reaped request charges free balance only.
    let r = Reservation {
        request_id: "req_dead".into(),
        account_id: a.id.clone(),
        from_quota: 0,
        from_balance: 1_000,
    };
    survivor
        .settle(&r, row("req_dead", &a.id, 500))
        .await
        .unwrap();
    assert_eq!(survivor.account(&a.id).await.unwrap().balance_nanos, 1_000);
    assert_eq!(survivor.ledger(&a.id).await.unwrap()[0].cost_nanos, 0);
}

/// Redis killed between a reservation and its settlement: 503s while it is
/// away, keys still known, the settlement written once when it is back.
#[tokio::test]
async fn an_outage_answers_503_and_loses_no_settlement() {
    let Some(mut redis) = test_redis(true).await else {
        return;
    };
    let store = open(&redis);
    let a = store.create_account("outage").await.unwrap();
    store.add_credits(&a.id, 10_000).await.unwrap();
    let secret = new_key();
    store.insert_key(key_for(&a.id, &secret)).await.unwrap();
    assert!(store
        .authenticate(&hash_key(&secret))
        .await
        .unwrap()
        .is_some());
    let r = store.reserve("req_1", &a.id, 4_000, 0).await.unwrap();

    let server = redis.server.as_mut().unwrap();
    server.kill();
    let e = store.reserve("req_2", &a.id, 10, 0).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    assert!(
        e.message().starts_with("store unavailable: "),
        "{}",
        e.message()
    );
    assert_eq!(e.retry_after_secs(), Some(1));
    let e = store.admit("acct:x", 5, 5, 0).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    assert_eq!(
        store.ping().await.unwrap_err().kind(),
        ErrorKind::Overloaded
    );
    assert_eq!(
        store.account(&a.id).await.unwrap_err().kind(),
        ErrorKind::Overloaded
    );
    // Keys are still known: requests fail at the balance check, not as 401s.
    assert!(store
        .authenticate(&hash_key(&secret))
        .await
        .unwrap()
        .is_some());
    // The answer went out; its charge waits for Redis.
    store.settle(&r, row("req_1", &a.id, 2_500)).await.unwrap();
    assert!(store.pending() >= 1);

    server.restart().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.pending() > 0 {
        assert!(Instant::now() < deadline, "the queue never drained");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.ping().await.unwrap();
    let after = store.account(&a.id).await.unwrap();
    assert_eq!(after.balance_nanos, 7_500);
    let ledger = store.ledger(&a.id).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].cost_nanos, 2_500);
    // A retry of the same settlement (its reply lost) charges nothing more.
    store.settle(&r, row("req_1", &a.id, 2_500)).await.unwrap();
    assert_eq!(store.account(&a.id).await.unwrap().balance_nanos, 7_500);
    // req_2's reservation, if its script had run, was given back: all of
    // the balance can be held again.
    store.reserve("req_3", &a.id, 7_500, 0).await.unwrap();
}

#[tokio::test]
async fn credits_stay_where_lua_computes_exactly() {
    let Some(redis) = test_redis(false).await else {
        return;
    };
    let store = open(&redis);
    let a = store.create_account("rich").await.unwrap();
    let top = 9_007_199_254_740_991;
    assert_eq!(
        store.add_credits(&a.id, top).await.unwrap().balance_nanos,
        top
    );
    let e = store.add_credits(&a.id, 1).await.unwrap_err();
    assert_eq!(e.param(), Some("amount_usd"));
    // Large amounts are written as integers, never as 1e+15.
    let r = store
        .reserve("req_1", &a.id, 1_000_000_000_000_000, 0)
        .await
        .unwrap();
    store
        .settle(&r, row("req_1", &a.id, 1_000_000_000_000_000))
        .await
        .unwrap();
    let a = store.account(&a.id).await.unwrap();
    assert_eq!(a.balance_nanos, top - 1_000_000_000_000_000);
    assert_eq!(a.lifetime_spend_nanos, 1_000_000_000_000_000);
}

/// Stored responses expire with their keys, the account's index with its
/// newest response, and an index entry whose response expired is dropped by
/// a later put; nothing is left once an account's last response is deleted.
#[tokio::test]
async fn stored_responses_expire_and_leave_nothing_behind() {
    use crate::store::conformance::stored;
    let Some(redis) = test_redis(false).await else {
        return;
    };
    let store = open(&redis);
    let mut c = redis::Client::open(redis.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let key = |what: &str| format!("{}{what}", redis.prefix);
    let conn = c.clone();
    let ttl = |name: String| {
        let mut c = conn.clone();
        async move {
            redis::cmd("TTL")
                .arg(name)
                .query_async::<i64>(&mut c)
                .await
                .unwrap()
        }
    };
    store
        .put_response(&stored("resp_short", "acct_t", 100), 10)
        .await
        .unwrap();
    store
        .put_response(&stored("resp_long", "acct_t", 3600), 10)
        .await
        .unwrap();
    assert!((98..=100).contains(&ttl(key("resp:resp_short")).await));
    assert!((3598..=3600).contains(&ttl(key("resp:resp_long")).await));
    assert!((3598..=3600).contains(&ttl(key("resps:acct_t")).await));
    // resp_short's key expires (made to, here); the next put drops its entry.
    let _: i64 = redis::cmd("DEL")
        .arg(key("resp:resp_short"))
        .query_async(&mut c)
        .await
        .unwrap();
    store
        .put_response(&stored("resp_next", "acct_t", 3600), 10)
        .await
        .unwrap();
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg(key("resps:acct_t"))
        .arg(0)
        .arg(-1)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(members, ["resp_long", "resp_next"]);
    // One already expired is not written at all.
    store
        .put_response(&stored("resp_dead", "acct_t", -5), 10)
        .await
        .unwrap();
    assert_eq!(ttl(key("resp:resp_dead")).await, -2);
    for id in ["resp_long", "resp_next"] {
        assert!(store.delete_response("acct_t", id).await.unwrap());
    }
    assert_eq!(ttl(key("resps:acct_t")).await, -2);
}
