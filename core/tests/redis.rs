//! Two gateways, each with its own HTTP server, sharing one redis-server:
//! one balance, one set of limits, one ledger, keys revoked everywhere within
//! a second, and a Redis restart in the middle of load.
//!
//! Runs against `MWS_TEST_REDIS_URL` (scripts/test.sh starts one) or a
//! private redis-server; skipped loudly without one, failed under CI.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    reason = "test helpers fail loudly; a skip is announced"
)]

mod common;

use std::time::{Duration, Instant};

use common::{anthropic_request, funded_key, openai_request, Server, LIMITS};
use mws_core::testing::redis_server::TestRedis;
use mws_core::testing::{MockReply, MockUpstream};
use mws_core::{CallContext, Endpoint, Gateway};
use serde_json::{json, Value};

async fn redis_or_skip(private: bool) -> Option<TestRedis> {
    let found = TestRedis::get(private).await.unwrap();
    if found.is_none() {
        assert!(
            !TestRedis::required(),
            "CI is set but redis-server is not installed: the redis store must be tested"
        );
        eprintln!(
            "\n*** SKIPPED: redis-server is not installed; two gateways on one Redis are NOT tested ***\n"
        );
    }
    found
}

fn nanos(v: &Value) -> i64 {
    (v.as_f64().unwrap() * 1e9).round() as i64
}

async fn balance(gw: &Gateway, id: &str) -> i64 {
    nanos(&gw.admin().account(id).await.unwrap()["balance_usd"])
}

/// The costs in an account's ledger, read through `gw`.
async fn ledger(gw: &Gateway, id: &str) -> Vec<i64> {
    let u = gw.admin().usage(id).await.unwrap();
    u["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| nanos(&r["cost_usd"]))
        .collect()
}

async fn pair(redis: &TestRedis, extra: &str) -> (Server, Server) {
    let toml = format!("{}{LIMITS}{extra}", redis.store_toml());
    (
        Server::with_config(&toml).await,
        Server::with_config(&toml).await,
    )
}

#[tokio::test]
async fn two_gateways_never_spend_more_than_the_balance() {
    let Some(redis) = redis_or_skip(false).await else {
        return;
    };
    // A paced echo holds each reservation (10 + 1000 tokens at $10,000/M =
    // $10.10) for about half a second: $25 covers two at a time.
    let profile = "[[upstreams]]\nname = \"slow\"\nkind = \"echo\"\nsimulate_speed = true\n\
        [[profiles]]\nid = \"pricey\"\nupstream = \"slow\"\ncontext_window = 5000\ntokens_per_second = 20\n\
        input_price_per_mtok = 10000\noutput_price_per_mtok = 10000\n[routing]\ndefault_profile = \"pricey\"\naliases = {}\n";
    let (a, b) = pair(&redis, profile).await;
    let (id, key) = funded_key(&a.gateway, 25).await;
    let start = balance(&b.gateway, &id).await;
    let mut body = anthropic_request("pricey", &"abcd".repeat(10));
    body["max_tokens"] = json!(1000);
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..160 {
        let url = if i % 2 == 0 {
            a.url("/v1/messages")
        } else {
            b.url("/v1/messages")
        };
        let (client, key, body) = (client.clone(), key.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            200 => ok += 1,
            402 => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(ok >= 2 && refused > 0, "{ok} served, {refused} refused");
    let spent = ledger(&a.gateway, &id).await;
    assert_eq!(spent.len(), ok, "one ledger row per answered request");
    let end = balance(&a.gateway, &id).await;
    assert!(end >= 0 && spent.iter().sum::<i64>() <= start);
    assert_eq!(
        start - end,
        spent.iter().sum::<i64>(),
        "ledger == balance delta to the nano-dollar"
    );
    // Both gateways read the same ledger.
    assert_eq!(ledger(&b.gateway, &id).await, spent);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_key_rpm_limit_holds_across_both_gateways() {
    let Some(redis) = redis_or_skip(false).await else {
        return;
    };
    let (a, b) = pair(&redis, "").await;
    let key = a
        .gateway
        .admin()
        .create_key(&a.account_id, &json!({"name": "throttled", "rpm": 10}))
        .await
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let url = if i % 2 == 0 {
            a.url("/v1/chat/completions")
        } else {
            b.url("/v1/chat/completions")
        };
        let (client, key) = (client.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(key)
                .json(&openai_request("dragon", "hi"))
                .send()
                .await
                .unwrap();
            let retry = r.headers().get("retry-after").is_some();
            (r.status().as_u16(), retry)
        }));
    }
    let mut served = 0;
    for t in tasks {
        match t.await.unwrap() {
            (200, _) => served += 1,
            (429, true) => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(served, 10, "rpm = 10 across both gateways");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_key_revoked_on_one_gateway_is_refused_by_the_other_within_a_second() {
    let Some(redis) = redis_or_skip(false).await else {
        return;
    };
    let (a, b) = pair(&redis, "").await;
    // A key made on `a` works on `b` (within a second too).
    let (account, key) = funded_key(&a.gateway, 30).await;
    let send = |s: &Server| {
        let (client, url, key) = (reqwest::Client::new(), s.url("/v1/messages"), key.clone());
        async move {
            client
                .post(url)
                .header("x-api-key", key)
                .json(&anthropic_request("dragon", "hi"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let t = Instant::now();
    while send(&b).await != 200 {
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "a new key took over a second to reach the other gateway"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let keys = a.gateway.admin().list_keys(&account).await.unwrap();
    let id = keys["data"][0]["id"].as_str().unwrap().to_string();
    a.gateway.admin().revoke_key(&id).await.unwrap();
    let t = Instant::now();
    loop {
        match send(&b).await {
            401 => break,
            200 => assert!(
                t.elapsed() < Duration::from_secs(1),
                "revoked on a, still served by b after a second"
            ),
            other => panic!("unexpected status {other}"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    a.stop().await;
    b.stop().await;
}

/// What one request during the restart test came back with.
#[derive(Debug)]
struct Outcome {
    status: u16,
    body: Value,
    at: Instant,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_load_answers_503_then_serves_with_the_books_straight() {
    let Some(mut redis) = redis_or_skip(true).await else {
        return;
    };
    let (a, b) = pair(&redis, "").await;
    let (id, key) = funded_key(&a.gateway, 100).await;
    let start = balance(&a.gateway, &id).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = reqwest::Client::new();
    let mut workers = Vec::new();
    for w in 0..6 {
        let urls = [a.url(""), b.url("")];
        let (client, key, stop) = (client.clone(), key.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut i = w;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let base = &urls[i % 2];
                // Both ingress shapes, so the 503 is checked in each.
                let r = if i % 3 == 0 {
                    client
                        .post(format!("{base}/v1/chat/completions"))
                        .bearer_auth(&key)
                        .json(&openai_request("dragon", "load"))
                } else {
                    client
                        .post(format!("{base}/v1/messages"))
                        .header("x-api-key", &key)
                        .json(&anthropic_request("dragon", "load"))
                };
                let r = r.send().await.unwrap();
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap();
                seen.push(Outcome {
                    status,
                    body,
                    at: Instant::now(),
                });
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let server = redis.server.as_mut().unwrap();
    let killed = Instant::now();
    server.kill();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let health = reqwest::get(b.url("/health")).await.unwrap();
    assert_eq!(health.status(), 503, "health while redis is away");
    server.restart().await.unwrap();
    let restarted = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for w in workers {
        outcomes.extend(w.await.unwrap());
    }

    let ok = outcomes.iter().filter(|o| o.status == 200).count();
    let mut unavailable = 0;
    for o in &outcomes {
        match o.status {
            200 => {}
            503 => {
                unavailable += 1;
                let e = &o.body["error"];
                assert!(
                    e["message"]
                        .as_str()
                        .unwrap()
                        .starts_with("store unavailable"),
                    "{}",
                    o.body
                );
                // The ingress shape: Anthropic's type, or OpenAI's.
                assert!(
                    e["type"] == "overloaded_error" || e["type"] == "server_error",
                    "{}",
                    o.body
                );
                assert!(o.at > killed, "a 503 before redis went away: {}", o.body);
            }
            other => panic!("unexpected status {other}: {}", o.body),
        }
    }
    eprintln!("{ok} served, {unavailable} answered 503 while redis was away");
    assert!(unavailable > 0, "no request saw redis away");
    let served_after = outcomes
        .iter()
        .filter(|o| o.status == 200 && o.at > restarted + Duration::from_millis(500))
        .count();
    assert!(
        served_after > 0,
        "the gateways did not serve again after redis came back"
    );
    // Settlements that waited for redis are written; then every answered
    // request is in the ledger once, and the ledger matches the balance.
    let deadline = Instant::now() + Duration::from_secs(10);
    let rows = loop {
        let rows = ledger(&a.gateway, &id).await;
        if rows.len() >= ok || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        rows.len(),
        ok,
        "one ledger row per answered request ({unavailable} refused)"
    );
    let end = balance(&b.gateway, &id).await;
    assert_eq!(start - end, rows.iter().sum::<i64>());
    a.stop().await;
    b.stop().await;
}

/// A profile `p` with two deployments on mocks: `x` (weight 1000, so nearly
/// every call tries it first) and `y`; no sticky sessions.
fn two_deployments(x: &MockUpstream, y: &MockUpstream) -> String {
    format!(
        "[[upstreams]]\nname = \"x\"\nkind = \"openai\"\nbase_url = \"{}\"\n\
         [[upstreams]]\nname = \"y\"\nkind = \"openai\"\nbase_url = \"{}\"\n\
         [[profiles]]\nid = \"p\"\ndeployments = [{{ upstream = \"x\", upstream_model = \"m\", weight = 1000 }}, {{ upstream = \"y\", upstream_model = \"m\" }}]\n\
         context_window = 100000\ntokens_per_second = 100\ninput_price_per_mtok = 1\noutput_price_per_mtok = 1\n\
         [routing]\ndefault_profile = \"p\"\naliases = {{}}\nsticky_session_capacity = 0\n",
        x.base_url(),
        y.base_url()
    )
}

fn too_many_requests(retry_after: &str) -> MockReply {
    MockReply::Json {
        status: 429,
        body: json!({"error": {"message": "slow down"}}),
        headers: vec![("retry-after".into(), retry_after.into())],
    }
}

/// An unmetered in-process chat call's status (it needs no store).
async fn chat_status(gw: &Gateway, i: usize) -> u16 {
    let body = serde_json::to_vec(&openai_request("p", &format!("q{i}"))).unwrap();
    gw.call(Endpoint::ChatCompletions, &body, CallContext::new())
        .await
        .status()
}

#[tokio::test]
async fn a_deployment_rate_limited_on_one_gateway_is_skipped_by_the_other() {
    let Some(redis) = redis_or_skip(false).await else {
        return;
    };
    let (x, y) = (
        MockUpstream::start().await.unwrap(),
        MockUpstream::start().await.unwrap(),
    );
    let (a, b) = pair(&redis, &two_deployments(&x, &y)).await;
    x.push(too_many_requests("30"));
    let mut i = 0;
    while x.calls() == 0 {
        assert_eq!(
            a.post(
                "/v1/chat/completions",
                &openai_request("p", &format!("a{i}"))
            )
            .await
            .status,
            200
        );
        i += 1;
        assert!(i < 50, "x is never picked");
    }
    // `b` never saw the 429; within a few polls it knows of the cooldown.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    for i in 0..20 {
        let r = b
            .post(
                "/v1/chat/completions",
                &openai_request("p", &format!("b{i}")),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(
        x.calls(),
        1,
        "the other gateway called the cooling deployment"
    );
    let report = b.gateway.admin().deployments().await.unwrap();
    assert_eq!(report["data"][0]["state"], "cooling_down", "{report}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn without_redis_each_gateway_keeps_its_own_health_and_shares_it_once_back() {
    let Some(mut redis) = redis_or_skip(true).await else {
        return;
    };
    let (x, y) = (
        MockUpstream::start().await.unwrap(),
        MockUpstream::start().await.unwrap(),
    );
    let toml = format!("{}{LIMITS}{}", redis.store_toml(), two_deployments(&x, &y));
    let (a, b) = (
        Gateway::from_toml_str(&toml).unwrap(),
        Gateway::from_toml_str(&toml).unwrap(),
    );
    assert_eq!(chat_status(&a, 0).await, 200);
    assert_eq!(chat_status(&b, 0).await, 200);
    let server = redis.server.as_mut().unwrap();
    server.kill();
    // Redis away: the 429 cools `x` down for `a` alone, and no call fails.
    x.push(too_many_requests("30"));
    let before = x.calls();
    for i in 1..20 {
        assert_eq!(chat_status(&a, i).await, 200);
    }
    assert_eq!(x.calls(), before + 1, "a kept its own cooldown");
    assert_eq!(
        a.admin().deployments().await.unwrap()["data"][0]["state"],
        "cooling_down"
    );
    // Back: what waited is written, and `b` skips `x` too.
    server.restart().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let report = b.admin().deployments().await.unwrap();
        if report["data"][0]["state"] == "cooling_down" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cooldown never reached b: {report}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let calls = x.calls();
    tokio::time::sleep(Duration::from_millis(700)).await;
    for i in 0..10 {
        assert_eq!(chat_status(&b, 100 + i).await, 200);
    }
    assert_eq!(x.calls(), calls);
}
