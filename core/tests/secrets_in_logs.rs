//! Keys, the admin token and an upstream's key never reach the logs, at any
//! level, nor a client (an upstream that quotes its key back in a 401). Its own
//! test binary: it installs the process-wide log subscriber.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use mws_core::accounts::keys::{hash_key, hex};
use mws_core::testing::{MockReply, MockUpstream};
use serde_json::{json, Value};

const ADMIN_TOKEN: &str = "admin-token-under-test-0123456789";

async fn send(req: reqwest::RequestBuilder) -> (u16, String) {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// The key, the part after its shown prefix, and its stored hash.
fn traces(secret: &str) -> [String; 3] {
    [
        secret.to_string(),
        secret[13..].to_string(),
        hex(&hash_key(secret)),
    ]
}

/// Everything the process logs, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn keys_and_tokens_never_reach_the_logs() {
    let logs = Captured::default();
    let sink = logs.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish(),
    )
    .unwrap();
    let upstream_key = "sk-upstream-secret-0123456789abcdef";
    std::env::set_var("MWS_TEST_SECRETS_UPSTREAM_KEY", upstream_key);
    let mock = MockUpstream::start().await.unwrap();
    let extra = format!(
        "{LIMITS}[[upstreams]]\nname = \"up\"\nkind = \"openai\"\nbase_url = \"{}\"\napi_key_env = \"MWS_TEST_SECRETS_UPSTREAM_KEY\"\nmax_retries = 0\n\
         [[profiles]]\nid = \"dragon\"\nupstream = \"up\"\ncontext_window = 131072\ntokens_per_second = 100\n\
         input_price_per_mtok = 1\noutput_price_per_mtok = 1\n[routing]\naliases = {{}}\n",
        mock.base_url()
    );
    std::env::set_var("MWS_TEST_SECRETS_LOGS", ADMIN_TOKEN);
    let s = Server::with_config(&format!(
        "{extra}[admin]\ntoken_env = \"MWS_TEST_SECRETS_LOGS\"\n"
    ))
    .await;
    let client = reqwest::Client::new();
    let guess = format!("mws_live_{}", "L".repeat(40));
    // Served, refused for a bad key, refused upstream with the key quoted back.
    let ok = openai_request("dragon", "hi");
    for key in [&s.key, &guess] {
        send(
            client
                .post(s.url("/v1/chat/completions"))
                .bearer_auth(key)
                .json(&ok),
        )
        .await;
    }
    let quoted = json!({"error": {"message": format!("Incorrect API key provided: {upstream_key}"), "type": "invalid_request_error"}});
    mock.push(MockReply::status(401, quoted));
    let (status, text) = send(
        client
            .post(s.url("/v1/chat/completions"))
            .bearer_auth(&s.key)
            .json(&ok),
    )
    .await;
    assert_eq!(status, 502, "{text}");
    assert!(
        !text.contains(upstream_key),
        "the upstream's key reached the client: {text}"
    );
    assert_eq!(
        mock.received()[0].headers["authorization"],
        format!("Bearer {upstream_key}").as_str()
    );
    // The client's key goes no further than the gateway.
    for r in mock.received() {
        let sent = format!("{:?} {}", r.headers, r.body);
        assert!(
            !sent.contains(&s.key[13..]),
            "the client's key went upstream: {sent}"
        );
    }
    // The admin API: a key created, a wrong token, the right one.
    let (_, created) = send(
        client
            .post(s.url(&format!("/admin/accounts/{}/keys", s.account_id)))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({})),
    )
    .await;
    let new_key = serde_json::from_str::<Value>(&created).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    send(
        client
            .get(s.url("/admin/accounts"))
            .bearer_auth("wrong-admin-token-guess"),
    )
    .await;
    send(
        client
            .post(s.url("/v1/messages"))
            .header("x-api-key", &new_key)
            .json(&anthropic_request("dragon", "hi")),
    )
    .await;
    let key = s.key.clone();
    s.stop().await;
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("request"), "nothing was logged: {text}");
    for secret in [key.as_str(), guess.as_str(), new_key.as_str()] {
        for t in traces(secret) {
            assert!(!text.contains(&t), "the log shows {t:?}");
        }
    }
    for secret in [ADMIN_TOKEN, "wrong-admin-token-guess", upstream_key] {
        assert!(!text.contains(secret), "the log shows {secret:?}");
    }
}
