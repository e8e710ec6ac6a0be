//! The other routes: embeddings, rerank, models, /admin (with the token),
//! /dashboard, /health, /metrics, unknown paths and wrong methods.

use reqwest::header::HeaderValue;
use reqwest::Method;
use serde_json::{json, Value};

use crate::check::{run, Case, Expect};
use crate::common::{Server, LIMITS};
use crate::mutate;
use crate::seeds::{embeddings_seed, rerank_seed};

#[tokio::test]
async fn embeddings_and_rerank() {
    let s = Server::builtin().await;
    for (path, seed) in [
        ("/v1/embeddings", embeddings_seed()),
        ("/v1/rerank", rerank_seed()),
    ] {
        assert_eq!(s.post(path, &seed).await.status, 200);
    }
    let mut cases = mutate::variants("embeddings", "/v1/embeddings", &embeddings_seed());
    cases.extend(mutate::variants("rerank", "/v1/rerank", &rerank_seed()));
    let field = |name: &str, path: &str, body: Value, field: &str| {
        Case::json(name, path, &body, Expect::field(field))
    };
    cases.extend([
        field("no input", "/v1/embeddings", json!({"model": "m"}), "input"),
        field(
            "empty input",
            "/v1/embeddings",
            json!({"model": "m", "input": []}),
            "input",
        ),
        field(
            "nested input",
            "/v1/embeddings",
            json!({"model": "m", "input": [["a"]]}),
            "input.0",
        ),
        field(
            "dimensions zero",
            "/v1/embeddings",
            json!({"model": "m", "input": "a", "dimensions": 0}),
            "dimensions",
        ),
        field(
            "dimensions huge",
            "/v1/embeddings",
            json!({"model": "m", "input": "a", "dimensions": 1_000_000}),
            "dimensions",
        ),
        field(
            "format unknown",
            "/v1/embeddings",
            json!({"model": "m", "input": "a", "encoding_format": "int8"}),
            "encoding_format",
        ),
        field(
            "documents numbers",
            "/v1/rerank",
            json!({"model": "m", "query": "q", "documents": [1]}),
            "documents.0",
        ),
        field(
            "document without text",
            "/v1/rerank",
            json!({"model": "m", "query": "q", "documents": [{}]}),
            "documents.0.text",
        ),
        field(
            "top_n zero",
            "/v1/rerank",
            json!({"model": "m", "query": "q", "documents": ["a"], "top_n": 0}),
            "top_n",
        ),
        field(
            "no query",
            "/v1/rerank",
            json!({"model": "m", "documents": ["a"]}),
            "query",
        ),
    ]);
    run(&s, &s.client, &cases).await;
    s.stop().await;
}

#[tokio::test]
async fn models_unknown_paths_and_wrong_methods() {
    let s = Server::builtin().await;
    let get = |path: &str, expect: u16| Case::new(path, Method::GET, path, Expect::Status(expect));
    let mut cases = vec![
        get("/v1/models/nope", 404),
        get(&format!("/v1/models/{}", "m".repeat(10_000)), 404),
        get("/v1/models/%FF%FE", 404),
        get("/v1/models/%00", 404),
        get("/v1/models/..%2F..%2Fetc%2Fpasswd", 404),
        get("/v1/models/dragon/extra", 404),
        get("/v1/models/", 404),
        get("/v1/nope", 404),
        get("/v1", 404),
        get("/", 404),
        get("/v2/messages", 404),
        get("/admin", 404),
        get("/dashboard/assets/nope.js", 404),
        get("/dashboard/assets/..%2F..%2FCargo.toml", 404),
        get("/health/extra", 404),
        get("/v1/messages/count_tokens/x", 404),
        get("/V1/MESSAGES", 404),
        get("//v1//messages", 404),
        get(&format!("/{}", "a/".repeat(2000)), 404),
        get("/v1/models?x=%ZZ&&&=", 200),
        get("/health", 200),
    ];
    for (method, path) in [
        (Method::GET, "/v1/messages"),
        (Method::PUT, "/v1/messages"),
        (Method::DELETE, "/v1/messages/count_tokens"),
        (Method::GET, "/v1/chat/completions"),
        (Method::PATCH, "/v1/chat/completions"),
        (Method::GET, "/v1/embeddings"),
        (Method::GET, "/v1/rerank"),
        (Method::POST, "/v1/models"),
        (Method::DELETE, "/v1/models/dragon"),
        (Method::POST, "/health"),
        (Method::POST, "/metrics"),
        (Method::POST, "/dashboard"),
        (Method::from_bytes(b"BREW").unwrap(), "/v1/messages"),
        (Method::from_bytes(b"PROPFIND").unwrap(), "/v1/models"),
    ] {
        cases.push(
            Case::new(
                format!("{method} {path}"),
                method.clone(),
                path,
                Expect::Status(405),
            )
            .body("{}"),
        );
    }
    // Unknown paths and wrong methods with a body the gateway must drain.
    cases.push(Case::post(
        "big body to unknown",
        "/v1/nope",
        vec![b'x'; 1 << 20],
        Expect::Status(404),
    ));
    cases.push(
        Case::new(
            "big body to GET",
            Method::GET,
            "/v1/messages",
            Expect::Status(405),
        )
        .body(vec![b'x'; 1 << 20]),
    );
    let anthropic = HeaderValue::from_static("2023-06-01");
    cases.push(get("/v1/models/nope", 404).header("anthropic-version", anthropic.clone()));
    cases.push(get("/v1/files", 404).header("anthropic-version", anthropic.clone()));
    cases.push(
        Case::new(
            "405 anthropic",
            Method::GET,
            "/v1/chat/completions",
            Expect::Status(405),
        )
        .header("anthropic-version", anthropic),
    );
    run(&s, &s.client, &cases).await;
    s.stop().await;
}

const ADMIN_TOKEN: &str = "bad-input-admin-token";

/// A gateway with the admin API on, plans configured, and an account's id.
pub async fn with_admin(var: &str) -> (Server, String) {
    std::env::set_var(var, ADMIN_TOKEN);
    let s = Server::with_config(&format!(
        "{LIMITS}[admin]\ntoken_env = \"{var}\"\n[[plans]]\nname = \"pro\"\nmin_tier = 0\nmonthly_quota_usd = 10\n"
    ))
    .await;
    let id = s.account_id.clone();
    (s, id)
}

pub fn admin_client() -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        "authorization",
        format!("Bearer {ADMIN_TOKEN}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(h)
        .build()
        .unwrap()
}

#[tokio::test]
async fn admin_bad_input() {
    let (s, id) = with_admin("MWS_TEST_ADMIN_TOKEN_BAD_INPUT").await;
    let admin = admin_client();
    let key = admin
        .post(s.url(&format!("/admin/accounts/{id}/keys")))
        .json(&json!({"name": "k"}))
        .send()
        .await
        .unwrap();
    assert_eq!(key.status(), 201);
    let key_id = key.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bodies: Vec<(&str, String, Value)> = vec![
        ("POST", "/admin/accounts".into(), json!({"name": "n"})),
        (
            "POST",
            format!("/admin/accounts/{id}/credits"),
            json!({"amount_usd": 5}),
        ),
        (
            "PUT",
            format!("/admin/accounts/{id}/plan"),
            json!({"plan": "pro"}),
        ),
        (
            "POST",
            format!("/admin/accounts/{id}/keys"),
            json!({"name": "k", "rpm": 10, "tpm": 1000}),
        ),
        (
            "PATCH",
            format!("/admin/keys/{key_id}"),
            json!({"rpm": 5, "tpm": 100}),
        ),
    ];
    let mut cases = Vec::new();
    for (method, path, seed) in &bodies {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        for mut c in mutate::variants("admin", path, seed) {
            c.method = method.clone();
            cases.push(c);
        }
        for mut c in crate::chat::broken_json(path, seed) {
            c.method = method.clone();
            // An empty body is an empty object to the admin API, which some
            // calls take (a key with the defaults, a change of nothing).
            if c.name == "truncated at 0" || c.name == "body {}" {
                c.expect = Expect::OkOrRefused { field: None };
            }
            cases.push(c);
        }
    }
    let field = |m: &str, path: String, body: Value, f: &str| {
        let name = format!("{f} = {body}");
        Case::new(
            name,
            Method::from_bytes(m.as_bytes()).unwrap(),
            &path,
            Expect::field(f),
        )
        .body(body.to_string())
    };
    let credits = format!("/admin/accounts/{id}/credits");
    cases.extend([
        field(
            "POST",
            credits.clone(),
            json!({"amount_usd": -5}),
            "amount_usd",
        ),
        field(
            "POST",
            credits.clone(),
            json!({"amount_usd": 1e300}),
            "amount_usd",
        ),
        field(
            "POST",
            credits.clone(),
            json!({"amount_usd": 0.0000000001}),
            "amount_usd",
        ),
        field(
            "POST",
            credits.clone(),
            json!({"amount_usd": "five"}),
            "amount_usd",
        ),
        field(
            "POST",
            credits,
            json!({"amount_usd": "1e400"}),
            "amount_usd",
        ),
        field(
            "PUT",
            format!("/admin/accounts/{id}/plan"),
            json!({"plan": "platinum"}),
            "plan",
        ),
        field(
            "POST",
            "/admin/accounts".into(),
            json!({"name": "   "}),
            "name",
        ),
        field(
            "POST",
            format!("/admin/accounts/{id}/keys"),
            json!({"rpm": -1}),
            "rpm",
        ),
        field(
            "PATCH",
            format!("/admin/keys/{key_id}"),
            json!({"tpm": 1e20}),
            "tpm",
        ),
    ]);
    let get =
        |path: String, want: u16| Case::new(path.clone(), Method::GET, &path, Expect::Status(want));
    cases.extend([
        get("/admin/accounts/acct_nope".into(), 404),
        get("/admin/accounts/acct_nope/keys".into(), 404),
        get("/admin/accounts/acct_nope/usage".into(), 404),
        get(format!("/admin/accounts/{id}/usage?limit=-1"), 400),
        get(format!("/admin/accounts/{id}/usage?limit=abc"), 400),
        get(format!("/admin/accounts/{id}/usage?order=sideways"), 400),
        get(format!("/admin/accounts/{id}/usage?by=year"), 400),
        get(format!("/admin/accounts/{id}/usage?days=%FF"), 400),
        get(format!("/admin/accounts/{}", "a".repeat(5000)), 404),
        Case::new(
            "revoke unknown",
            Method::DELETE,
            "/admin/keys/key_nope",
            Expect::Status(404),
        ),
        Case::new(
            "patch unknown",
            Method::PATCH,
            "/admin/keys/key_nope",
            Expect::Status(404),
        )
        .body("{\"rpm\":1}"),
        Case::new(
            "credits unknown",
            Method::POST,
            "/admin/accounts/acct_nope/credits",
            Expect::Status(404),
        )
        .body("{\"amount_usd\":1}"),
        Case::new(
            "wrong method",
            Method::DELETE,
            "/admin/accounts",
            Expect::Status(405),
        ),
    ]);
    run(&s, &admin, &cases).await;
    s.stop().await;
}

#[tokio::test]
async fn dashboard_health_and_metrics_take_no_input() {
    let (s, _) = with_admin("MWS_TEST_ADMIN_TOKEN_BAD_INPUT_DASH").await;
    let mut cases = Vec::new();
    for path in [
        "/dashboard",
        "/dashboard/keys",
        "/dashboard/assets/app.js",
        "/health",
        "/metrics",
    ] {
        cases.push(Case::new(path, Method::GET, path, Expect::Status(200)).body(vec![0xff; 1000]));
        let q = format!("{path}?{}", "%FF=".repeat(1000));
        cases.push(Case::new(q.clone(), Method::GET, &q, Expect::Status(200)));
    }
    // These carry no JSON error; the runner only checks the status on a 200.
    run(&s, &reqwest::Client::new(), &cases).await;
    s.stop().await;
}
