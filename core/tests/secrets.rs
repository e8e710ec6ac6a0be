//! Secrets: a key is shown once and never again (not in later admin answers,
//! the dashboard or errors; logs are in `secrets_in_logs.rs`); the admin API
//! refuses without its token on every route; and guessing, of keys or of the
//! admin token, is limited per client IP while other IPs are served.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use std::net::IpAddr;

use common::*;
use mws_core::accounts::keys::{hash_key, hex};
use reqwest::Method;
use serde_json::{json, Value};

const ADMIN_TOKEN: &str = "admin-token-under-test-0123456789";

async fn with_admin(var: &str, extra: &str) -> Server {
    std::env::set_var(var, ADMIN_TOKEN);
    Server::with_config(&format!("{extra}[admin]\ntoken_env = \"{var}\"\n")).await
}

/// A client whose connections come from `ip` (any 127.x address is loopback).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn send(req: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, String) {
    let r = req.send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

/// The key, and the parts of it that must not show either.
fn traces(secret: &str) -> Vec<String> {
    vec![
        secret.to_string(),
        secret[13..].to_string(),
        hex(&hash_key(secret)),
    ]
}

fn assert_absent(text: &str, secret: &str, what: &str) {
    for t in traces(secret) {
        assert!(!text.contains(&t), "{what} shows {t:?}: {text}");
    }
}

#[tokio::test]
async fn bad_keys_are_401_without_the_key_in_the_answer() {
    let s = Server::builtin().await;
    let admin = s.gateway.admin();
    let revoked = admin.create_key(&s.account_id, &json!({})).await.unwrap();
    let revoked_key = revoked["key"].as_str().unwrap().to_string();
    admin
        .revoke_key(revoked["id"].as_str().unwrap())
        .await
        .unwrap();
    let unknown = format!("mws_live_{}", "Q".repeat(40));
    let odd = "mws_live_not-a-key-at-all-but-long-enough-to-matter".to_string();
    let routes: [(&str, Value); 5] = [
        ("/v1/messages", anthropic_request("dragon", "hi")),
        (
            "/v1/messages/count_tokens",
            anthropic_request("dragon", "hi"),
        ),
        ("/v1/chat/completions", openai_request("dragon", "hi")),
        ("/v1/embeddings", json!({"model": "dragon", "input": "hi"})),
        (
            "/v1/rerank",
            json!({"model": "dragon", "query": "q", "documents": ["a"]}),
        ),
    ];
    let anonymous = reqwest::Client::new();
    for key in [&revoked_key, &unknown, &odd] {
        for (path, body) in &routes {
            for header in ["authorization", "x-api-key"] {
                let value = if header == "authorization" {
                    format!("Bearer {key}")
                } else {
                    key.clone()
                };
                let req = anonymous.post(s.url(path)).header(header, value).json(body);
                let (status, headers, text) = send(req).await;
                assert_eq!(status, 401, "{path}: {text}");
                assert_absent(&text, key, path);
                for v in headers.values() {
                    assert_absent(&String::from_utf8_lossy(v.as_bytes()), key, path);
                }
            }
        }
        let (status, _, text) = send(anonymous.get(s.url("/v1/models")).bearer_auth(key)).await;
        assert_eq!(status, 401);
        assert_absent(&text, key, "/v1/models");
    }
    s.stop().await;
}

#[tokio::test]
async fn a_key_is_shown_once_and_never_again() {
    let s = with_admin("MWS_TEST_SECRETS_ONCE", LIMITS).await;
    let admin = client_from("127.0.0.1");
    let url = |p: &str| s.url(p);
    let id = &s.account_id;
    let (status, _, text) = send(
        admin
            .post(url(&format!("/admin/accounts/{id}/keys")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"name": "k"})),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    let secret = created["key"].as_str().unwrap().to_string();
    let key_id = created["id"].as_str().unwrap().to_string();
    // It works, so there is usage to list.
    let (status, _, _) = send(
        admin
            .post(url("/v1/messages"))
            .bearer_auth(&secret)
            .json(&anthropic_request("dragon", "hi")),
    )
    .await;
    assert_eq!(status, 200);
    let mut answers = Vec::new();
    for (method, path) in [
        (Method::GET, format!("/admin/accounts/{id}/keys")),
        (Method::GET, format!("/admin/accounts/{id}")),
        (Method::GET, "/admin/accounts".to_string()),
        (Method::GET, format!("/admin/accounts/{id}/usage")),
        (Method::GET, format!("/admin/accounts/{id}/usage?by=day")),
        (Method::PATCH, format!("/admin/keys/{key_id}")),
        (Method::DELETE, format!("/admin/keys/{key_id}")),
        (Method::GET, format!("/admin/accounts/{id}/keys")),
        (Method::GET, "/dashboard".to_string()),
        (Method::GET, "/dashboard/keys".to_string()),
        (Method::GET, "/dashboard/assets/keys.js".to_string()),
        (Method::GET, "/metrics".to_string()),
        (Method::GET, "/health".to_string()),
    ] {
        let req = admin
            .request(method.clone(), url(&path))
            .bearer_auth(ADMIN_TOKEN);
        let req = if method == Method::PATCH {
            req.json(&json!({"rpm": 5}))
        } else {
            req
        };
        let (status, _, text) = send(req).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {text}"
        );
        answers.push((path, text));
    }
    let listed: Value = serde_json::from_str(&answers[0].1).unwrap();
    let ids: Vec<&Value> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["id"])
        .collect();
    assert!(ids.contains(&&json!(key_id)), "{listed}");
    for (path, text) in &answers {
        assert_absent(text, &secret, path);
    }
    // Revoked: from now on 401, and the answer does not show it either.
    let (status, _, text) = send(
        admin
            .post(url("/v1/chat/completions"))
            .bearer_auth(&secret)
            .json(&openai_request("dragon", "hi")),
    )
    .await;
    assert_eq!(status, 401);
    assert_absent(&text, &secret, "401");
    s.stop().await;
}

/// Every admin route and method, with a body where it takes one.
fn admin_calls(id: &str) -> Vec<(Method, String)> {
    vec![
        (Method::POST, "/admin/accounts".into()),
        (Method::GET, "/admin/accounts".into()),
        (Method::GET, format!("/admin/accounts/{id}")),
        (Method::POST, format!("/admin/accounts/{id}/credits")),
        (Method::PUT, format!("/admin/accounts/{id}/plan")),
        (Method::POST, format!("/admin/accounts/{id}/keys")),
        (Method::GET, format!("/admin/accounts/{id}/keys")),
        (Method::PATCH, "/admin/keys/key_x".into()),
        (Method::DELETE, "/admin/keys/key_x".into()),
        (Method::GET, format!("/admin/accounts/{id}/usage")),
    ]
}

#[tokio::test]
async fn admin_routes_refuse_without_the_token() {
    let s = with_admin("MWS_TEST_SECRETS_ADMIN", LIMITS).await;
    let client = reqwest::Client::new();
    let same_length: String = ADMIN_TOKEN.chars().rev().collect();
    let wrong: Vec<(&str, String)> = vec![
        ("authorization", format!("Bearer {same_length}")),
        ("authorization", format!("Bearer {ADMIN_TOKEN}x")),
        (
            "authorization",
            format!("Bearer {}", &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1]),
        ),
        ("authorization", format!("Basic {ADMIN_TOKEN}")),
        ("authorization", "Bearer ".into()),
        ("x-api-key", same_length.clone()),
        ("x-api-key", s.key.clone()),
        ("x-nothing", "1".into()),
    ];
    for (method, path) in admin_calls(&s.account_id) {
        for (header, value) in &wrong {
            let req = client
                .request(method.clone(), s.url(&path))
                .header(*header, value)
                .body("{}");
            let (status, _, text) = send(req).await;
            assert_eq!(status, 401, "{method} {path} with {header}: {text}");
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(body["error"]["code"], "invalid_api_key", "{body}");
            let given = value.split(' ').next_back().unwrap_or_default();
            assert!(given.len() < 8 || !text.contains(given), "{text}");
            assert!(!text.contains(ADMIN_TOKEN), "{text}");
        }
        let req = client
            .request(method.clone(), s.url(&path))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"name": "n", "amount_usd": 1, "plan": null}));
        let (status, _, text) = send(req).await;
        assert!(
            status != 401 && status < 500,
            "{method} {path} with the token: {status} {text}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn guessing_admin_tokens_is_limited_per_ip() {
    let s = with_admin(
        "MWS_TEST_SECRETS_ADMIN_IP",
        "[limits]\nunauthenticated_rpm_per_ip = 3\n",
    )
    .await;
    let here = client_from("127.0.0.1");
    for _ in 0..3 {
        let (status, _, _) = send(here.get(s.url("/admin/accounts")).bearer_auth("guess")).await;
        assert_eq!(status, 401);
    }
    let (status, headers, text) =
        send(here.get(s.url("/admin/accounts")).bearer_auth("guess")).await;
    assert_eq!(status, 429, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // Past the limit even the right token is refused: no answer tells a
    // guesser it guessed right.
    let (status, _, _) = send(here.get(s.url("/admin/accounts")).bearer_auth(ADMIN_TOKEN)).await;
    assert_eq!(status, 429);
    // Another IP is not held back.
    let there = client_from("127.0.0.2");
    let (status, _, text) =
        send(there.get(s.url("/admin/accounts")).bearer_auth(ADMIN_TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    s.stop().await;
}

#[tokio::test]
async fn guessing_keys_is_limited_per_ip_while_other_ips_are_served() {
    let s = Server::with_config("[limits]\nunauthenticated_rpm_per_ip = 3\n").await;
    let here = client_from("127.0.0.1");
    let guess = format!("mws_live_{}", "G".repeat(40));
    for path in ["/v1/messages", "/v1/chat/completions", "/v1/models"] {
        let req = if path == "/v1/models" {
            here.get(s.url(path))
        } else {
            here.post(s.url(path))
                .json(&anthropic_request("dragon", "hi"))
        };
        let (status, _, text) = send(req.bearer_auth(&guess)).await;
        assert_eq!(status, 401, "{path}: {text}");
    }
    for (path, anthropic) in [("/v1/messages", true), ("/v1/chat/completions", false)] {
        let (status, headers, text) = send(
            here.post(s.url(path))
                .bearer_auth(&guess)
                .json(&anthropic_request("dragon", "hi")),
        )
        .await;
        assert_eq!(status, 429, "{path}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        if anthropic {
            assert_eq!(body["error"]["type"], "rate_limit_error", "{body}");
        } else {
            assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}");
        }
        assert!(
            headers["retry-after"]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                >= 1
        );
        assert_eq!(headers["x-ratelimit-remaining-requests"], "0");
        assert_absent(&text, &guess, path);
    }
    // A valid key from another IP is served, and that IP keeps its own budget.
    let there = client_from("127.0.0.2");
    let (status, _, text) = send(
        there
            .post(s.url("/v1/messages"))
            .bearer_auth(&s.key)
            .json(&anthropic_request("dragon", "hi")),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let (status, _, _) = send(
        there
            .post(s.url("/v1/messages"))
            .bearer_auth(&guess)
            .json(&anthropic_request("dragon", "hi")),
    )
    .await;
    assert_eq!(status, 401);
    s.stop().await;
}
