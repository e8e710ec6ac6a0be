//! Generated bad bodies: every field of a rich valid request given the wrong
//! type or left out (on /v1/messages, /v1/messages/count_tokens and
//! /v1/chat/completions, on the echo and through translation), and broken
//! JSON on every POST route.

use serde_json::{json, Value};

use crate::check::{run, Case, Expect};
use crate::common::Server;
use crate::seeds::{anthropic_seed, openai_seed, with, CHAT, COUNT, MESSAGES};
use crate::{mutate, on_mock, VIA};
use mws_core::testing::MockUpstream;

/// The seed itself must be served, or every variant tests nothing.
async fn seeds_served(s: &Server, cases: &[(&str, Value)]) {
    for (path, seed) in cases {
        let r = s.post(path, seed).await;
        assert_eq!(r.status, 200, "seed on {path}: {:?}", r.body);
    }
}

#[tokio::test]
async fn wrong_types_and_missing_fields_on_echo() {
    let s = Server::builtin().await;
    let a = anthropic_seed();
    let o = openai_seed();
    let count = {
        let mut c = a.clone();
        c.as_object_mut().unwrap().remove("stream");
        c
    };
    seeds_served(
        &s,
        &[
            (MESSAGES, a.clone()),
            (COUNT, count.clone()),
            (CHAT, o.clone()),
        ],
    )
    .await;
    let mut cases = mutate::variants("messages", MESSAGES, &a);
    cases.extend(mutate::variants(
        "messages stream",
        MESSAGES,
        &with(a, "stream", json!(true)),
    ));
    cases.extend(mutate::variants("count_tokens", COUNT, &count));
    cases.extend(mutate::variants("chat", CHAT, &o));
    cases.extend(mutate::variants(
        "chat stream",
        CHAT,
        &with(o, "stream", json!(true)),
    ));
    assert!(cases.len() > 1000, "{}", cases.len());
    run(&s, &s.client, &cases).await;
    s.stop().await;
}

#[tokio::test]
async fn wrong_types_and_missing_fields_through_translation() {
    let mock = MockUpstream::start().await.unwrap();
    let s = on_mock(&mock).await;
    let mut cases = Vec::new();
    for model in VIA {
        let a = with(anthropic_seed(), "model", json!(model));
        let o = with(openai_seed(), "model", json!(model));
        seeds_served(&s, &[(MESSAGES, a.clone()), (CHAT, o.clone())]).await;
        for stream in [false, true] {
            let label = format!("{model} stream={stream}");
            let (a, o) = (
                with(a.clone(), "stream", json!(stream)),
                with(o.clone(), "stream", json!(stream)),
            );
            cases.extend(mutate::variants(&format!("messages {label}"), MESSAGES, &a));
            cases.extend(mutate::variants(&format!("chat {label}"), CHAT, &o));
        }
    }
    run(&s, &s.client, &cases).await;
    s.stop().await;
}

/// Broken JSON for one route: every prefix of a valid body (truncated),
/// non-objects, invalid UTF-8, a byte-order mark, deep nesting.
pub fn broken_json(path: &str, valid: &Value) -> Vec<Case> {
    let text = valid.to_string();
    let mut bodies: Vec<(String, Vec<u8>)> = (0..text.len())
        .step_by(5)
        .map(|n| (format!("truncated at {n}"), text.as_bytes()[..n].to_vec()))
        .collect();
    let odd = [
        "[]",
        "1",
        "\"x\"",
        "null",
        "true",
        "[{}]",
        "{}",
        "{\"a\"}",
        "{,}",
        "{\"a\":1,}",
        "{'a':1}",
        "NaN",
    ];
    bodies.extend(odd.map(|b| (format!("body {b}"), b.as_bytes().to_vec())));
    let mut bad_utf8 = text.clone().into_bytes();
    let at = text.find("\":\"").map_or(2, |i| i + 3);
    bad_utf8.splice(at..at, [0xff, 0xfe, 0xc3]);
    let named = |name: &str, body: String| (name.to_string(), body.into_bytes());
    bodies.extend([
        ("invalid UTF-8 in a string".to_string(), bad_utf8),
        (
            "invalid UTF-8 outside strings".to_string(),
            b"\xff{}".to_vec(),
        ),
        (
            "byte-order mark".to_string(),
            [&b"\xef\xbb\xbf"[..], text.as_bytes()].concat(),
        ),
        named("trailing garbage", format!("{text}}}")),
        named("two documents", format!("{text}{text}")),
        named("NUL byte", format!("{text}\0")),
    ]);
    for depth in [128, 100_000] {
        let array = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        bodies.push(named(&format!("array {depth} deep"), array));
        let object = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        bodies.push(named(&format!("object {depth} deep"), object));
    }
    bodies
        .into_iter()
        .map(|(name, body)| Case::post(name, path, body, Expect::Status(400)))
        .collect()
}

#[tokio::test]
async fn broken_json_on_every_post_route() {
    let s = Server::builtin().await;
    let cases: Vec<Case> = crate::seeds::all()
        .iter()
        .flat_map(|(path, seed)| broken_json(path, seed))
        .collect();
    run(&s, &s.client, &cases).await;
    s.stop().await;
}
