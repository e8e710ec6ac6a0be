//! Accounts, keys, credits, limits and the ledger, on the memory and sqlite
//! stores: admin API, 401/402/429, exact costs, concurrency, settlement.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use common::{anthropic_request, funded_key, openai_request, reply, Server};
use mws_core::Gateway;
use serde_json::{json, Value};

const HIGH: &str = "[limits]\nunauthenticated_rpm_per_ip = 100000\n\
    [[limits.tiers]]\nmin_lifetime_spend_usd = 0\nrpm = 100000\ntpm = 1000000000\n";

fn sqlite_config(extra: &str) -> String {
    let dir = std::env::temp_dir().join(format!("mws-acct-{}", uuid_like()));
    format!(
        "[store]\nkind = \"sqlite\"\npath = \"{}\"\n{extra}",
        dir.join("gw.db").display()
    )
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{n:x}-{:x}", std::process::id())
}

fn nanos(v: &Value) -> i64 {
    (v.as_f64().unwrap() * 1e9).round() as i64
}

async fn usage(gw: &Gateway, account: &str) -> Value {
    gw.admin().usage(account).await.unwrap()
}

async fn account(gw: &Gateway, id: &str) -> Value {
    gw.admin().account(id).await.unwrap()
}

#[tokio::test]
async fn keys_are_required_and_revocation_is_immediate() {
    for cfg in [HIGH.to_string(), sqlite_config(HIGH)] {
        let s = Server::with_config(&cfg).await;
        let anonymous = reqwest::Client::new();
        let r = reply(
            anonymous
                .post(s.url("/v1/chat/completions"))
                .json(&openai_request("dragon", "hi"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.body["error"]["code"], "invalid_api_key");
        // Both headers carry the key.
        let r = anonymous
            .post(s.url("/v1/messages"))
            .header("x-api-key", &s.key)
            .json(&anthropic_request("dragon", "hi"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let keys = s.gateway.admin().list_keys(&s.account_id).await.unwrap();
        let key_id = keys["data"][0]["id"].as_str().unwrap().to_string();
        assert!(
            keys["data"][0].get("key").is_none(),
            "secrets are never listed"
        );
        s.gateway.admin().revoke_key(&key_id).await.unwrap();
        let r = s
            .post("/v1/messages", &anthropic_request("dragon", "hi"))
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.body["error"]["type"], "authentication_error");
        s.stop().await;
    }
}

#[tokio::test]
async fn key_creation_needs_25_dollars_or_a_plan() {
    let cfg = format!("{HIGH}[[plans]]\nname = \"pro\"\nmin_tier = 0\nmonthly_quota_usd = 1\n[store]\nkind = \"memory\"\n");
    let gw = Gateway::from_toml_str(&cfg).unwrap();
    let admin = gw.admin();
    let a = admin
        .create_account(&json!({"name": "poor"}))
        .await
        .unwrap();
    let id = a["id"].as_str().unwrap();
    admin
        .add_credits(id, &json!({"amount_usd": 24.999999999}))
        .await
        .unwrap();
    let e = admin.create_key(id, &json!({})).await.unwrap_err();
    assert_eq!(e.http_status(), 402);
    admin
        .add_credits(id, &json!({"amount_usd": "0.000000001"}))
        .await
        .unwrap();
    assert_eq!(
        nanos(&account(&gw, id).await["balance_usd"]),
        25_000_000_000
    );
    assert!(admin.create_key(id, &json!({})).await.is_ok());

    let b = admin
        .create_account(&json!({"name": "planned"}))
        .await
        .unwrap();
    let bid = b["id"].as_str().unwrap();
    assert_eq!(
        admin
            .set_plan(bid, &json!({"plan": "nope"}))
            .await
            .unwrap_err()
            .param(),
        Some("plan")
    );
    admin.set_plan(bid, &json!({"plan": "pro"})).await.unwrap();
    let key = admin.create_key(bid, &json!({})).await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    // The plan's quota pays; the balance stays at zero.
    let v = gw
        .call_json(
            mws_core::Endpoint::Messages,
            &anthropic_request("dragon", "hello plan"),
            Some(&key),
        )
        .await
        .unwrap();
    assert_eq!(v["content"][0]["text"], "hello plan");
    let acct = account(&gw, bid).await;
    assert_eq!(nanos(&acct["balance_usd"]), 0);
    assert!(nanos(&acct["lifetime_spend_usd"]) > 0);
}

#[tokio::test]
async fn costs_are_exact_to_the_nano_dollar() {
    for cfg in [HIGH.to_string(), sqlite_config(HIGH)] {
        let s = Server::with_config(&cfg).await;
        let before = nanos(&account(&s.gateway, &s.account_id).await["balance_usd"]);
        let r = s
            .post(
                "/v1/messages",
                &anthropic_request("dragon", &"abcd".repeat(25)),
            )
            .await;
        assert_eq!(r.status, 200);
        let (i, o) = (
            r.body["usage"]["input_tokens"].as_i64().unwrap(),
            r.body["usage"]["output_tokens"].as_i64().unwrap(),
        );
        // $0.48 and $1.08 per million tokens, rounded up to the nano-dollar.
        let expected = (i * 480_000_000 + o * 1_080_000_000 + 999_999) / 1_000_000;
        let u = usage(&s.gateway, &s.account_id).await;
        let row = &u["data"][0];
        assert_eq!(nanos(&row["cost_usd"]), expected);
        assert_eq!(row["request_id"], r.header("request-id"));
        assert_eq!(
            (row["input_tokens"].as_i64(), row["output_tokens"].as_i64()),
            (Some(i), Some(o))
        );
        assert_eq!(row["profile"], "dragon");
        let after = account(&s.gateway, &s.account_id).await;
        assert_eq!(before - nanos(&after["balance_usd"]), expected);
        assert_eq!(nanos(&after["lifetime_spend_usd"]), expected);
        s.stop().await;
    }
}

#[tokio::test]
async fn concurrent_requests_never_spend_more_than_the_balance() {
    // A paced echo keeps each stream (and its reservation) open for about half a
    // second; a reservation is 10 + 1000 tokens at $10,000/M = $10.10, so the
    // $25 balance covers two at a time and most of 300 simultaneous requests get 402.
    let profile = "[[upstreams]]\nname = \"slow\"\nkind = \"echo\"\nsimulate_speed = true\n\
        [[profiles]]\nid = \"pricey\"\nupstream = \"slow\"\ncontext_window = 5000\ntokens_per_second = 20\n\
        input_price_per_mtok = 10000\noutput_price_per_mtok = 10000\n[routing]\ndefault_profile = \"pricey\"\naliases = {}\n";
    for cfg in [
        format!("{HIGH}{profile}"),
        sqlite_config(&format!("{HIGH}{profile}")),
    ] {
        let s = Server::with_config(&cfg).await;
        let (id, key) = funded_key(&s.gateway, 25).await;
        let start = nanos(&account(&s.gateway, &id).await["balance_usd"]);
        let mut body = anthropic_request("pricey", &"abcd".repeat(10));
        body["max_tokens"] = json!(1000);
        body["stream"] = json!(true);
        let client = reqwest::Client::new();
        let mut tasks = Vec::new();
        for _ in 0..300 {
            let (client, url, key, body) = (
                client.clone(),
                s.url("/v1/messages"),
                key.clone(),
                body.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let r = client
                    .post(url)
                    .bearer_auth(key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let text = r.text().await.unwrap();
                (status, text.contains("message_stop"))
            }));
        }
        let (mut ok, mut refused) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                (200, true) => ok += 1,
                (402, _) => refused += 1,
                other => panic!("unexpected outcome {other:?}"),
            }
        }
        assert!(ok >= 2, "{ok} served");
        assert!(
            refused > 0,
            "the balance cannot cover 300 reservations at once"
        );
        let u = usage(&s.gateway, &id).await;
        let rows = u["data"].as_array().unwrap();
        assert_eq!(rows.len(), ok);
        let spent: i64 = rows.iter().map(|r| nanos(&r["cost_usd"])).sum();
        let end = nanos(&account(&s.gateway, &id).await["balance_usd"]);
        assert!(end >= 0 && spent <= start);
        assert_eq!(
            start - end,
            spent,
            "the ledger matches the balance to the nano-dollar"
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn out_of_credits_is_402_in_each_shape() {
    let s = Server::with_config(HIGH).await;
    let gw = &s.gateway;
    let (id, key) = funded_key(gw, 25).await;
    // dragon-thinkmaxing without max_tokens reserves its 1M context at $6.96/M.
    let client = reqwest::Client::new();
    let r = reply(
        client
            .post(s.url("/v1/chat/completions"))
            .bearer_auth(&key)
            .json(&openai_request("dragon-thinkmaxing", "hi"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut body = anthropic_request("dragon-thinkmaxing", "hi");
    body["max_tokens"] = json!(4_000_000);
    let r = reply(
        client
            .post(s.url("/v1/messages"))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 402);
    assert_eq!(r.body["error"]["type"], "billing_error");
    let mut body = openai_request("dragon-thinkmaxing", "hi");
    body["max_tokens"] = json!(4_000_000);
    let r = reply(
        client
            .post(s.url("/v1/chat/completions"))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 402);
    assert_eq!(r.body["error"]["type"], "insufficient_quota");
    assert_eq!(usage(gw, &id).await["data"].as_array().unwrap().len(), 1);
    s.stop().await;
}

#[tokio::test]
async fn key_throttle_and_tier_promotion() {
    let cfg = "[store]\nkind = \"memory\"\n[limits]\n\
        [[limits.tiers]]\nmin_lifetime_spend_usd = 0\nrpm = 5\ntpm = 1000000\n\
        [[limits.tiers]]\nmin_lifetime_spend_usd = 0.000001\nrpm = 50\ntpm = 1000000\n";
    let s = Server::with_config(cfg).await;
    // Before any spend the account is on the first tier.
    let r = s
        .post(
            "/v1/messages/count_tokens",
            &anthropic_request("dragon", "hi"),
        )
        .await;
    assert_eq!(r.header("x-ratelimit-limit-requests"), "5");
    let r = s
        .post("/v1/messages", &anthropic_request("dragon", "hi"))
        .await;
    assert_eq!(r.status, 200);
    let r = s
        .post("/v1/messages", &anthropic_request("dragon", "hi"))
        .await;
    assert_eq!(r.header("x-ratelimit-limit-requests"), "50");

    let keys = s.gateway.admin().list_keys(&s.account_id).await.unwrap();
    let key_id = keys["data"][0]["id"].as_str().unwrap().to_string();
    let k = s
        .gateway
        .admin()
        .update_key(&key_id, &json!({"rpm": 1}))
        .await
        .unwrap();
    assert_eq!(k["rpm"], 1);
    let r = s
        .post("/v1/messages", &anthropic_request("dragon", "hi"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ratelimit-limit-requests"), "1");
    let r = s
        .post("/v1/messages", &anthropic_request("dragon", "hi"))
        .await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").parse::<u64>().unwrap() >= 1);
    s.stop().await;
}

#[tokio::test]
async fn failed_upstream_releases_and_cut_stream_is_charged_for_what_was_delivered() {
    use mws_core::testing::{MockReply, MockUpstream};
    let mock = MockUpstream::start().await.unwrap();
    let cfg = format!(
        "{HIGH}[store]\nkind = \"memory\"\n[[upstreams]]\nname = \"up\"\nkind = \"openai\"\nbase_url = \"{}\"\nmax_retries = 0\n\
         [[profiles]]\nid = \"dragon\"\nupstream = \"up\"\ncontext_window = 1000\ntokens_per_second = 1\ninput_price_per_mtok = 1000\noutput_price_per_mtok = 1000\n",
        mock.base_url()
    );
    let s = Server::with_config(&cfg).await;
    let start = nanos(&account(&s.gateway, &s.account_id).await["balance_usd"]);
    mock.push(MockReply::status(
        500,
        json!({"error": {"message": "down"}}),
    ));
    let r = s
        .post("/v1/messages", &anthropic_request("dragon", "hi"))
        .await;
    assert_eq!(r.status, 502);
    assert_eq!(
        nanos(&account(&s.gateway, &s.account_id).await["balance_usd"]),
        start
    );
    assert_eq!(
        usage(&s.gateway, &s.account_id).await["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let c = |text: &str| json!({"id": "c", "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]});
    let MockReply::Sse { frames, .. } = MockReply::openai_chunks(&[c("abcdefgh"), c("more")])
    else {
        unreachable!()
    };
    mock.push(MockReply::Sse {
        frames,
        fail_after: Some(1),
        delay: std::time::Duration::ZERO,
    });
    let mut body = anthropic_request("dragon", "hi");
    body["stream"] = json!(true);
    let text = s
        .post_raw("/v1/messages", &body)
        .await
        .text()
        .await
        .unwrap();
    assert!(text.contains("event: error"));
    let u = usage(&s.gateway, &s.account_id).await;
    let row = &u["data"][0];
    // 8 characters delivered: 2 output tokens; "hi" is 1 input token; $1000/M each.
    assert_eq!(
        (row["input_tokens"].as_i64(), row["output_tokens"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(nanos(&row["cost_usd"]), 3_000_000);
    assert_eq!(row["status"], 502);
    s.stop().await;
}

#[tokio::test]
async fn admin_api_needs_its_token() {
    std::env::set_var("MWS_TEST_ADMIN_TOKEN_A", "s3cret-admin");
    let s = Server::with_config(&format!(
        "{HIGH}[admin]\ntoken_env = \"MWS_TEST_ADMIN_TOKEN_A\"\n"
    ))
    .await;
    let c = reqwest::Client::new();
    let r = c
        .post(s.url("/admin/accounts"))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .post(s.url("/admin/accounts"))
        .bearer_auth("s3cret-admin")
        .json(&json!({"name": "team"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let a: Value = r.json().await.unwrap();
    let id = a["id"].as_str().unwrap();
    assert_eq!(
        (
            a["name"].as_str(),
            a["balance_usd"].as_f64(),
            a["plan"].clone()
        ),
        (Some("team"), Some(0.0), Value::Null)
    );
    let r = c
        .post(s.url(&format!("/admin/accounts/{id}/keys")))
        .bearer_auth("s3cret-admin")
        .json(&json!({"name": "k"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 402);
    let r = c
        .post(s.url(&format!("/admin/accounts/{id}/credits")))
        .bearer_auth("s3cret-admin")
        .json(&json!({"amount_usd": 30}))
        .send()
        .await
        .unwrap();
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["balance_usd"], 30.0);
    let r = c
        .post(s.url(&format!("/admin/accounts/{id}/keys")))
        .bearer_auth("s3cret-admin")
        .json(&json!({"name": "k", "rpm": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let k: Value = r.json().await.unwrap();
    assert!(k["key"].as_str().unwrap().starts_with("mws_live_"));
    assert_eq!(k["rpm"], 7);
    let r = c
        .patch(s.url(&format!("/admin/keys/{}", k["id"].as_str().unwrap())))
        .bearer_auth("s3cret-admin")
        .json(&json!({"tpm": 1000}))
        .send()
        .await
        .unwrap();
    let k2: Value = r.json().await.unwrap();
    assert_eq!(
        (k2["rpm"].as_u64(), k2["tpm"].as_u64()),
        (Some(7), Some(1000))
    );
    let r = c
        .delete(s.url(&format!("/admin/keys/{}", k["id"].as_str().unwrap())))
        .bearer_auth("s3cret-admin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(s.url(&format!("/admin/accounts/{id}/usage")))
        .bearer_auth("s3cret-admin")
        .send()
        .await
        .unwrap();
    let u: Value = r.json().await.unwrap();
    assert_eq!(u["totals"]["requests"], 0);
    let r = c
        .get(s.url("/admin/accounts/acct_nope"))
        .bearer_auth("s3cret-admin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    s.stop().await;

    // Without a token configured the admin API is off.
    let s = Server::with_config(HIGH).await;
    let r = c
        .post(s.url("/admin/accounts"))
        .bearer_auth("anything")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    s.stop().await;
}

#[tokio::test]
async fn a_request_abandoned_by_its_client_gives_its_reservation_back() {
    use mws_core::testing::{MockReply, MockUpstream};
    let mock = MockUpstream::start().await.unwrap();
    // 10 + 1000 tokens at $10,000/M reserve $10.10: $25 holds two such requests.
    let cfg = format!(
        "{HIGH}[store]\nkind = \"memory\"\n[[upstreams]]\nname = \"up\"\nkind = \"openai\"\nbase_url = \"{}\"\nmax_retries = 0\n\
         [[profiles]]\nid = \"dragon\"\nupstream = \"up\"\ncontext_window = 5000\ntokens_per_second = 1\ninput_price_per_mtok = 10000\noutput_price_per_mtok = 10000\n",
        mock.base_url()
    );
    let s = Server::with_config(&cfg).await;
    let (_, key) = funded_key(&s.gateway, 25).await;
    let mut body = anthropic_request("dragon", &"abcd".repeat(10));
    body["max_tokens"] = json!(1000);
    for _ in 0..3 {
        mock.push(MockReply::Hang);
        let impatient = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(300))
            .build()
            .unwrap();
        assert!(impatient
            .post(s.url("/v1/messages"))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .is_err());
    }
    // Had the three abandoned requests kept their reservations, this would be 402.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let r = reqwest::Client::new()
        .post(s.url("/v1/messages"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    s.stop().await;
}

/// Profiles priced per kind of input token (USD per million): `cached-oa` on
/// an OpenAI upstream and `cached-an` on an Anthropic one, both the mock at
/// `base`; `dear-write` on the echo, whose cache writes cost $2 a token.
fn cache_priced(base: &str) -> String {
    format!(
        "{HIGH}[admin]\ntoken_env = \"MWS_TEST_ADMIN_TOKEN_CACHE\"\n\
         [[upstreams]]\nname = \"oa\"\nkind = \"openai\"\nbase_url = \"{base}\"\nmax_retries = 0\n\
         [[upstreams]]\nname = \"an\"\nkind = \"anthropic\"\nbase_url = \"{base}\"\nmax_retries = 0\n\
         [[upstreams]]\nname = \"echo\"\nkind = \"echo\"\n\
         [[profiles]]\nid = \"cached-oa\"\nupstream = \"oa\"\ncontext_window = 262144\ntokens_per_second = 100\n\
         input_price_per_mtok = 2\ncache_read_price_per_mtok = 0.5\noutput_price_per_mtok = 8\n\
         [[profiles]]\nid = \"cached-an\"\nupstream = \"an\"\ncontext_window = 262144\ntokens_per_second = 100\n\
         input_price_per_mtok = 3\ncache_read_price_per_mtok = 0.3\ncache_write_price_per_mtok = 3.75\noutput_price_per_mtok = 15\n\
         [[profiles]]\nid = \"dear-write\"\nupstream = \"echo\"\ncontext_window = 262144\ntokens_per_second = 100\n\
         input_price_per_mtok = 1\ncache_write_price_per_mtok = 2000000\noutput_price_per_mtok = 1\n\
         [[profiles]]\nid = \"plain\"\nupstream = \"echo\"\ncontext_window = 262144\ntokens_per_second = 100\n\
         input_price_per_mtok = 1\noutput_price_per_mtok = 1\n\
         [routing]\ndefault_profile = \"plain\"\naliases = {{}}\n"
    )
}

#[tokio::test]
async fn cached_tokens_are_charged_at_the_cache_prices_and_kept_in_the_ledger() {
    use mws_core::testing::{MockReply, MockUpstream};
    std::env::set_var("MWS_TEST_ADMIN_TOKEN_CACHE", "cache-admin");
    let mock = MockUpstream::start().await.unwrap();
    let base = mock.base_url();
    for cfg in [cache_priced(&base), sqlite_config(&cache_priced(&base))] {
        let s = Server::with_config(&cfg).await;
        let balance = || async { nanos(&account(&s.gateway, &s.account_id).await["balance_usd"]) };

        // OpenAI: 1200 prompt tokens of which 1000 cached, 50 out. 200 at
        // $2/M + 1000 at $0.50/M + 50 at $8/M = 400,000 + 500,000 + 400,000.
        mock.push(MockReply::json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1200, "completion_tokens": 50, "total_tokens": 1250,
                      "prompt_tokens_details": {"cached_tokens": 1000}}})));
        let before = balance().await;
        let r = s
            .post("/v1/chat/completions", &openai_request("cached-oa", "hi"))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(before - balance().await, 1_300_000);

        // Anthropic: 100 uncached, 2000 read, 500 written, 40 out. 100 at $3/M +
        // 2000 at $0.30/M + 500 at $3.75/M + 40 at $15/M = 300,000 + 600,000 +
        // 1,875,000 + 600,000.
        mock.push(MockReply::json(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 100, "cache_read_input_tokens": 2000,
                      "cache_creation_input_tokens": 500, "output_tokens": 40}})));
        let before = balance().await;
        let r = s
            .post("/v1/messages", &anthropic_request("cached-an", "hi"))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(before - balance().await, 3_375_000);

        // The same counts streamed: the cache counts come with message_start.
        mock.push(MockReply::anthropic_events(&[
            json!({"type": "message_start", "message": {"id": "msg_2", "type": "message", "role": "assistant", "model": "m",
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 100, "cache_read_input_tokens": 2000, "cache_creation_input_tokens": 500, "output_tokens": 1}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 40}}),
            json!({"type": "message_stop"}),
        ]));
        let before = balance().await;
        let mut body = anthropic_request("cached-an", "hi");
        body["stream"] = json!(true);
        let r = s.post_raw("/v1/messages", &body).await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("message_stop"));
        assert_eq!(before - balance().await, 3_375_000);

        // The admin API's ledger: input_tokens is the whole input, the cache
        // columns its parts.
        let r = reqwest::Client::new()
            .get(s.url(&format!("/admin/accounts/{}/usage", s.account_id)))
            .bearer_auth("cache-admin")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let u: Value = r.json().await.unwrap();
        let rows = u["data"].as_array().unwrap();
        let columns: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r["profile"].as_str().unwrap(),
                    r["input_tokens"].as_u64().unwrap(),
                    r["cache_read_tokens"].as_u64().unwrap(),
                    r["cache_write_tokens"].as_u64().unwrap(),
                    r["output_tokens"].as_u64().unwrap(),
                    nanos(&r["cost_usd"]),
                )
            })
            .collect();
        assert_eq!(
            columns,
            [
                ("cached-oa", 1200, 1000, 0, 50, 1_300_000),
                ("cached-an", 2600, 2000, 500, 40, 3_375_000),
                ("cached-an", 2600, 2000, 500, 40, 3_375_000),
            ]
        );
        let t = &u["totals"];
        assert_eq!(
            (
                t["requests"].as_u64(),
                t["input_tokens"].as_u64(),
                t["cache_read_tokens"].as_u64(),
                t["cache_write_tokens"].as_u64(),
                t["output_tokens"].as_u64(),
                nanos(&t["cost_usd"]),
            ),
            (
                Some(3),
                Some(6400),
                Some(5000),
                Some(1000),
                Some(130),
                8_050_000
            )
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn the_reservation_prices_input_at_the_cache_write_price_when_it_is_dearer() {
    let s = Server::with_config(&cache_priced("http://127.0.0.1:9")).await;
    let (_, key) = funded_key(&s.gateway, 25).await;
    let body = anthropic_request("dear-write", &"abcd".repeat(25));
    let send = |body: Value| {
        reqwest::Client::new()
            .post(s.url("/v1/messages"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    // About 25 input tokens that could all be cache writes at $2 each: more
    // than $25, refused before the upstream is called.
    let r = reply(send(body.clone()).await.unwrap()).await;
    assert_eq!(r.status, 402, "{}", r.body);
    // At the input price alone the same request fits.
    let mut plain = body;
    plain["model"] = json!("plain");
    let r = reply(send(plain).await.unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.stop().await;
}
