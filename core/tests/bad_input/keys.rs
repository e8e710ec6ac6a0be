//! The same bad input without a key, and with a revoked one: the key is
//! checked first, so every /v1 request is a 401 in the route's shape, never a
//! 400 that would tell a caller without a key anything about the body.

use reqwest::Method;
use serde_json::Value;

use crate::chat::broken_json;
use crate::check::{run, Case, Expect};
use crate::common::Server;
use crate::hostile::hostile_chat_cases;
use crate::mutate;

/// A sample of every kind of bad request, each now expecting `status`.
fn sample(status: u16) -> Vec<Case> {
    let mut cases = hostile_chat_cases();
    for (path, seed) in crate::seeds::all() {
        cases.extend(broken_json(path, &seed));
        cases.extend(mutate::variants("", path, &seed).into_iter().step_by(7));
    }
    cases.push(Case::new(
        "models",
        Method::GET,
        "/v1/models",
        Expect::Status(401),
    ));
    cases.push(Case::new(
        "model",
        Method::GET,
        "/v1/models/nope",
        Expect::Status(401),
    ));
    for c in &mut cases {
        c.expect = Expect::Status(status);
    }
    cases
}

#[tokio::test]
async fn without_a_key_bad_input_is_401() {
    let s = Server::builtin().await;
    run(&s, &reqwest::Client::new(), &sample(401)).await;
    s.stop().await;
}

#[tokio::test]
async fn with_a_revoked_key_bad_input_is_401() {
    let s = Server::builtin().await;
    let admin = s.gateway.admin();
    let keys = admin.list_keys(&s.account_id).await.unwrap();
    let id = keys["data"][0]["id"].as_str().unwrap();
    admin.revoke_key(id).await.unwrap();
    let cases = sample(401);
    // `run` ends with a normal request on the revoked key: check the batch by hand.
    for case in &cases {
        if let Err(e) = crate::check::send(&s, &s.client, case).await {
            panic!("{} {} [{}]: {e}", case.method, case.path, case.name);
        }
    }
    let r = s.post("/v1/messages", &Value::Null).await;
    assert_eq!(r.status, 401);
    s.stop().await;
}
