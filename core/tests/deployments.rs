//! Profiles with several deployments, against scripted mock upstreams: the
//! spread by weight, a 429's cooldown until its reset, a dead deployment's
//! circuit and its one trial, sticky sessions, every deployment cooling
//! down (429 or 503 in the ingress shape), and what operators see.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::{anthropic_request, openai_request, Server, LIMITS};
use mws_core::testing::{MockReply, MockUpstream};
use serde_json::{json, Value};

/// One deployment: its upstream's name, kind, base URL and weight (the model
/// it is asked for is `model-{name}`).
struct Dep<'a> {
    name: &'a str,
    kind: &'a str,
    url: String,
    weight: u32,
}

fn dep<'a>(name: &'a str, mock: &MockUpstream, weight: u32) -> Dep<'a> {
    Dep {
        name,
        kind: "openai",
        url: mock.base_url(),
        weight,
    }
}

/// A gateway whose default profile `p` has `deps`; `upstream_extra` goes in
/// every [[upstreams]] entry, `routing` in [routing].
fn config(deps: &[Dep<'_>], strategy: &str, upstream_extra: &str, routing: &str) -> String {
    let mut c = String::from(LIMITS);
    for d in deps {
        c += &format!(
            "[[upstreams]]\nname = \"{}\"\nkind = \"{}\"\nbase_url = \"{}\"\n{upstream_extra}\n",
            d.name, d.kind, d.url
        );
    }
    let list: Vec<String> = deps
        .iter()
        .map(|d| {
            format!(
                "{{ upstream = \"{0}\", upstream_model = \"model-{0}\", weight = {1} }}",
                d.name, d.weight
            )
        })
        .collect();
    c += &format!(
        "[[profiles]]\nid = \"p\"\nstrategy = \"{strategy}\"\ndeployments = [{}]\ncontext_window = 100000\n\
         tokens_per_second = 100\ninput_price_per_mtok = 1\noutput_price_per_mtok = 1\n\
         [routing]\ndefault_profile = \"p\"\naliases = {{}}\n{routing}\n",
        list.join(", ")
    );
    c
}

/// A deployment's entry in the admin report.
async fn deployment(s: &Server, upstream: &str) -> Value {
    let report = s.gateway.admin().deployments().await.unwrap();
    report["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["upstream"] == upstream)
        .unwrap_or_else(|| panic!("no deployment on {upstream}: {report}"))
        .clone()
}

fn rate_limited(headers: &[(&str, String)]) -> MockReply {
    MockReply::Json {
        status: 429,
        body: json!({"error": {"message": "slow down", "type": "rate_limit_error"}}),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect(),
    }
}

/// An address nothing listens on: connecting is refused.
async fn dead_url() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/v1")
}

fn rfc3339_in(d: Duration) -> String {
    let t = time::OffsetDateTime::from(SystemTime::now() + d);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn calls_spread_by_weight_and_each_asks_its_deployments_model() {
    let (a, b) = (
        MockUpstream::start().await.unwrap(),
        MockUpstream::start().await.unwrap(),
    );
    let s = Server::with_config(&config(
        &[dep("a", &a, 3), dep("b", &b, 1)],
        "weighted",
        "",
        "",
    ))
    .await;
    // Distinct conversations: each is placed by weight (and then stays).
    let n = 400;
    for i in 0..n {
        let r = s
            .post(
                "/v1/chat/completions",
                &openai_request("p", &format!("question {i}")),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let (to_a, to_b) = (a.calls(), b.calls());
    assert_eq!(to_a + to_b, n);
    // 3:1 expects 300; the bounds are over six standard deviations wide.
    assert!((240..=360).contains(&to_a), "{to_a} to a, {to_b} to b");
    assert!(a.received().iter().all(|r| r.body["model"] == "model-a"));
    assert!(b.received().iter().all(|r| r.body["model"] == "model-b"));
    let d = deployment(&s, "a").await;
    assert_eq!(d["requests"], to_a as u64);
    assert_eq!(d["state"], "healthy");
    assert_eq!(
        d["profiles"],
        json!([{"id": "p", "role": "deployment", "weight": 3}])
    );
    s.stop().await;
}

#[tokio::test]
async fn least_busy_and_p2c_serve_every_call() {
    for strategy in ["least-busy", "p2c"] {
        let (a, b) = (
            MockUpstream::start().await.unwrap(),
            MockUpstream::start().await.unwrap(),
        );
        let s = Server::with_config(&config(
            &[dep("a", &a, 1), dep("b", &b, 1)],
            strategy,
            "",
            "sticky_session_capacity = 0\n",
        ))
        .await;
        let mut tasks = Vec::new();
        for i in 0..40 {
            let (client, url) = (s.client.clone(), s.url("/v1/chat/completions"));
            tasks.push(tokio::spawn(async move {
                client
                    .post(url)
                    .json(&openai_request("p", &format!("q{i}")))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 200, "{strategy}");
        }
        assert_eq!(a.calls() + b.calls(), 40, "{strategy}");
        // Both get calls (idle, equal deployments: ties at random).
        assert!(
            a.calls() > 0 && b.calls() > 0,
            "{strategy}: {} / {}",
            a.calls(),
            b.calls()
        );
        // Nothing left in flight once every answer is in.
        assert_eq!(deployment(&s, "a").await["in_flight"], 0);
        s.stop().await;
    }
}

/// A deployment that answers 429 with `headers` (made from the time left
/// until its reset) is skipped until then, and called again after.
async fn cooled_down_until_the_reset(
    kind: &str,
    headers: impl Fn(Duration) -> Vec<(&'static str, String)>,
) {
    let (a, b) = (
        MockUpstream::start().await.unwrap(),
        MockUpstream::start().await.unwrap(),
    );
    let reset = Duration::from_secs(3);
    a.push(rate_limited(&headers(reset)));
    let limited_at = Instant::now();
    let deps = [
        Dep {
            kind,
            ..dep("a", &a, 1000)
        },
        Dep {
            kind,
            ..dep("b", &b, 1)
        },
    ];
    let s = Server::with_config(&config(
        &deps,
        "weighted",
        "",
        "sticky_session_capacity = 0\n",
    ))
    .await;
    let path = if kind == "anthropic" {
        "/v1/messages"
    } else {
        "/v1/chat/completions"
    };
    let body = |i: usize| match kind {
        "anthropic" => anthropic_request("p", &format!("turn {i}")),
        _ => openai_request("p", &format!("turn {i}")),
    };
    // The 429 goes unnoticed by the client: the call moves to b at once.
    let mut i = 0;
    while a.calls() == 0 {
        assert_eq!(s.post(path, &body(i)).await.status, 200);
        i += 1;
        assert!(i < 50, "a is never picked");
    }
    let first_b = b.calls();
    for _ in 0..20 {
        assert_eq!(s.post(path, &body(i)).await.status, 200);
        i += 1;
    }
    assert!(limited_at.elapsed() < reset, "too slow to tell");
    assert_eq!(a.calls(), 1, "a cooling down got calls");
    assert_eq!(b.calls(), first_b + 20);
    let d = deployment(&s, "a").await;
    assert_eq!(d["state"], "cooling_down", "{d}");
    assert!(d["cooldown_until"].is_string(), "{d}");
    let metrics = s
        .client
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "mws_deployment_state{model=\"model-a\",state=\"cooling_down\",upstream=\"a\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "mws_deployment_errors_total{kind=\"rate_limited\",model=\"model-a\",upstream=\"a\"} 1"
        ),
        "{metrics}"
    );
    // After the reset, a takes calls again (at weight 1000 to 1, the next ones).
    tokio::time::sleep(reset.saturating_sub(limited_at.elapsed()) + Duration::from_millis(300))
        .await;
    for _ in 0..5 {
        assert_eq!(s.post(path, &body(i)).await.status, 200);
        i += 1;
    }
    assert!(a.calls() > 1, "a never called after its reset");
    assert_eq!(deployment(&s, "a").await["state"], "healthy");
    s.stop().await;
}

#[tokio::test]
async fn a_429_with_openai_reset_headers_cools_the_deployment_down_until_then() {
    cooled_down_until_the_reset("openai", |left| {
        vec![
            ("x-ratelimit-remaining-requests", "0".into()),
            ("x-ratelimit-reset-requests", format!("{}s", left.as_secs())),
            ("x-ratelimit-remaining-tokens", "90000".into()),
            ("x-ratelimit-reset-tokens", "20ms".into()),
        ]
    })
    .await;
}

#[tokio::test]
async fn a_429_with_anthropic_reset_times_cools_the_deployment_down_until_then() {
    cooled_down_until_the_reset("anthropic", |left| {
        vec![
            ("anthropic-ratelimit-requests-remaining", "0".into()),
            ("anthropic-ratelimit-requests-reset", rfc3339_in(left)),
        ]
    })
    .await;
}

#[tokio::test]
async fn a_dead_deployment_opens_its_circuit_and_gets_one_trial_after_the_open_time() {
    let b = MockUpstream::start().await.unwrap();
    let deps = [
        Dep {
            name: "dead",
            kind: "openai",
            url: dead_url().await,
            weight: 1000,
        },
        dep("b", &b, 1),
    ];
    let open = Duration::from_millis(800);
    let s = Server::with_config(&config(
        &deps,
        "weighted",
        "circuit_failures = 2",
        &format!(
            "circuit_open_secs = {}\nsticky_session_capacity = 0\n",
            open.as_secs_f64()
        ),
    ))
    .await;
    let req = |i: usize| openai_request("p", &format!("q{i}"));
    // Every call is answered (by b); the dead one is tried until its circuit opens.
    for i in 0..12 {
        assert_eq!(s.post("/v1/chat/completions", &req(i)).await.status, 200);
    }
    let d = deployment(&s, "dead").await;
    assert_eq!(d["requests"], 2, "{d}");
    assert_eq!(d["state"], "circuit_open", "{d}");
    assert!(d["circuit_open_until"].is_string(), "{d}");
    assert_eq!(b.calls(), 12);
    // Half-open after the open time: one trial, which fails and opens it again.
    tokio::time::sleep(open + Duration::from_millis(200)).await;
    for i in 0..8 {
        assert_eq!(
            s.post("/v1/chat/completions", &req(100 + i)).await.status,
            200
        );
    }
    let d = deployment(&s, "dead").await;
    assert_eq!(d["requests"], 3, "one trial: {d}");
    assert_eq!(d["state"], "circuit_open", "{d}");
    assert_eq!(b.calls(), 20);
    s.stop().await;
}

#[tokio::test]
async fn a_successful_trial_closes_the_circuit() {
    let (a, b) = (
        MockUpstream::start().await.unwrap(),
        MockUpstream::start().await.unwrap(),
    );
    for _ in 0..2 {
        a.push(MockReply::status(
            500,
            json!({"error": {"message": "boom"}}),
        ));
    }
    let open = Duration::from_millis(500);
    let s = Server::with_config(&config(
        &[dep("a", &a, 1000), dep("b", &b, 1)],
        "weighted",
        "circuit_failures = 2",
        &format!(
            "circuit_open_secs = {}\nsticky_session_capacity = 0\n",
            open.as_secs_f64()
        ),
    ))
    .await;
    let req = |i: usize| openai_request("p", &format!("q{i}"));
    for i in 0..6 {
        assert_eq!(s.post("/v1/chat/completions", &req(i)).await.status, 200);
    }
    // No retries on a while b could take the next try.
    assert_eq!(a.calls(), 2, "the circuit opened after two failures");
    tokio::time::sleep(open + Duration::from_millis(200)).await;
    for i in 0..6 {
        assert_eq!(
            s.post("/v1/chat/completions", &req(10 + i)).await.status,
            200
        );
    }
    // The trial answered: closed, and a takes (nearly) every call again.
    assert!(a.calls() >= 2 + 5, "{}", a.calls());
    let d = deployment(&s, "a").await;
    assert_eq!(
        (d["state"].as_str(), d["consecutive_failures"].as_u64()),
        (Some("healthy"), Some(0)),
        "{d}"
    );
    s.stop().await;
}

/// Which mock got the requests whose prompt carries `marker`.
fn served(mocks: &[&MockUpstream], marker: &str) -> Vec<usize> {
    mocks
        .iter()
        .map(|m| {
            m.received()
                .iter()
                .filter(|r| r.body.to_string().contains(marker))
                .count()
        })
        .collect()
}

#[tokio::test]
async fn a_conversation_stays_on_its_deployment_until_it_turns_unhealthy() {
    let (a, b) = (
        MockUpstream::start().await.unwrap(),
        MockUpstream::start().await.unwrap(),
    );
    let s = Server::with_config(&config(
        &[dep("a", &a, 1), dep("b", &b, 1)],
        "weighted",
        "",
        "",
    ))
    .await;
    let send = |session: String, marker: String| {
        let (client, url) = (s.client.clone(), s.url("/v1/messages"));
        async move {
            client
                .post(url)
                .header("x-claude-code-session-id", session)
                .json(&anthropic_request("p", &marker))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Each session's turns (different prompts each) land on one deployment.
    for sess in 0..6 {
        for turn in 0..6 {
            let status = send(format!("sess-{sess}"), format!("s{sess}t{turn} ")).await;
            assert_eq!(status, 200);
        }
    }
    let mut homes = Vec::new();
    for sess in 0..6 {
        let counts: Vec<usize> = (0..6)
            .map(|turn| served(&[&a, &b], &format!("s{sess}t{turn} ")))
            .fold(vec![0, 0], |acc, c| vec![acc[0] + c[0], acc[1] + c[1]]);
        assert!(
            counts.contains(&6) && counts.contains(&0),
            "session {sess}: {counts:?}"
        );
        homes.push(usize::from(counts[1] == 6));
    }
    // metadata.user_id names a conversation too.
    for turn in 0..5 {
        let mut body = anthropic_request("p", &format!("u1t{turn} "));
        body["metadata"] = json!({"user_id": "user-1"});
        assert_eq!(s.post("/v1/messages", &body).await.status, 200);
    }
    let per_turn: Vec<Vec<usize>> = (0..5)
        .map(|t| served(&[&a, &b], &format!("u1t{t} ")))
        .collect();
    assert!(per_turn.windows(2).all(|w| w[0] == w[1]), "{per_turn:?}");

    // Session 0's deployment answers 429: its turn moves to the other, and
    // stays there once the cooldown is over (the pin was released).
    let (home, other) = if homes[0] == 0 { (&a, &b) } else { (&b, &a) };
    home.push(rate_limited(&[("retry-after", "1".into())]));
    assert_eq!(send("sess-0".into(), "s0moved0 ".into()).await, 200);
    assert_eq!(served(&[home, other], "s0moved0 "), vec![1, 1]);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    for turn in 1..5 {
        assert_eq!(send("sess-0".into(), format!("s0moved{turn} ")).await, 200);
        assert_eq!(
            served(&[home, other], &format!("s0moved{turn} ")),
            vec![0, 1]
        );
    }
    assert!(
        s.gateway.admin().deployments().await.unwrap()["sticky_sessions"]
            .as_u64()
            .unwrap()
            >= 7
    );
    s.stop().await;
}

#[tokio::test]
async fn a_responses_conversation_follows_its_previous_response_id() {
    let s = Server::with_config(&format!(
        "{LIMITS}[[upstreams]]\nname = \"e1\"\nkind = \"echo\"\n[[upstreams]]\nname = \"e2\"\nkind = \"echo\"\n\
         [[profiles]]\nid = \"p\"\ndeployments = [{{ upstream = \"e1\" }}, {{ upstream = \"e2\" }}]\n\
         context_window = 100000\ntokens_per_second = 100\ninput_price_per_mtok = 1\noutput_price_per_mtok = 1\n\
         [routing]\ndefault_profile = \"p\"\naliases = {{}}\n"
    ))
    .await;
    let counts = |r: &Value| -> Vec<u64> {
        r["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["requests"].as_u64().unwrap())
            .collect()
    };
    for conv in 0..4 {
        let before = counts(&s.gateway.admin().deployments().await.unwrap());
        let mut previous: Option<String> = None;
        for turn in 0..5 {
            // A different first input each turn: only the chain names the conversation.
            let mut body = json!({"model": "p", "input": format!("c{conv} turn {turn}")});
            if let Some(p) = &previous {
                body["previous_response_id"] = json!(p);
            }
            let r = s.post("/v1/responses", &body).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            previous = Some(r.body["id"].as_str().unwrap().to_string());
        }
        let after = counts(&s.gateway.admin().deployments().await.unwrap());
        let delta: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        assert!(
            delta == [5, 0] || delta == [0, 5],
            "conversation {conv}: {delta:?}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn every_deployment_rate_limited_is_a_429_with_the_soonest_retry_after_in_each_shape() {
    let (a, b) = (
        MockUpstream::start().await.unwrap(),
        MockUpstream::start().await.unwrap(),
    );
    a.push(rate_limited(&[("retry-after", "30".into())]));
    b.push(rate_limited(&[("retry-after", "20".into())]));
    let s = Server::with_config(&config(
        &[dep("a", &a, 1), dep("b", &b, 1)],
        "weighted",
        "",
        "",
    ))
    .await;
    // Both tried, both 429: the soonest of the two.
    let r = s.post("/v1/messages", &anthropic_request("p", "hi")).await;
    assert_eq!(r.status, 429, "{:?}", r.body);
    assert_eq!(r.header("retry-after"), "20");
    assert_eq!((a.calls(), b.calls()), (1, 1));
    // Now nothing is tried: answered at once in the Anthropic shape...
    let r = s
        .post("/v1/messages", &anthropic_request("p", "again"))
        .await;
    assert_eq!(r.status, 429);
    let secs: u64 = r.header("retry-after").parse().unwrap();
    assert!((18..=20).contains(&secs), "{secs}");
    assert_eq!(r.body["type"], "error");
    assert_eq!(r.body["error"]["type"], "rate_limit_error");
    // ...and in the OpenAI shape, streamed requests too (a status, never a hang).
    let mut req = openai_request("p", "again");
    let r = s.post("/v1/chat/completions", &req).await;
    assert_eq!(r.status, 429);
    assert_eq!(
        r.body["error"]["code"], "rate_limit_exceeded",
        "{:?}",
        r.body
    );
    assert!(r.header("retry-after").parse::<u64>().unwrap() <= 20);
    req["stream"] = json!(true);
    let r = s.post("/v1/chat/completions", &req).await;
    assert_eq!(r.status, 429);
    assert_eq!((a.calls(), b.calls()), (1, 1));
    s.stop().await;
}

#[tokio::test]
async fn every_circuit_open_is_a_503_with_retry_after() {
    let deps = [
        Dep {
            name: "x",
            kind: "openai",
            url: dead_url().await,
            weight: 1,
        },
        Dep {
            name: "y",
            kind: "openai",
            url: dead_url().await,
            weight: 1,
        },
    ];
    let s = Server::with_config(&config(
        &deps,
        "weighted",
        "circuit_failures = 1",
        "circuit_open_secs = 60\n",
    ))
    .await;
    let r = s.post("/v1/messages", &anthropic_request("p", "hi")).await;
    assert_eq!(r.status, 502, "both unreachable: {:?}", r.body);
    let r = s.post("/v1/messages", &anthropic_request("p", "hi")).await;
    assert_eq!(r.status, 503, "{:?}", r.body);
    assert_eq!(r.body["error"]["type"], "overloaded_error");
    let secs: u64 = r.header("retry-after").parse().unwrap();
    assert!((58..=60).contains(&secs), "{secs}");
    let r = s
        .post("/v1/chat/completions", &openai_request("p", "hi"))
        .await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body["error"]["type"], "server_error", "{:?}", r.body);
    assert_eq!(deployment(&s, "x").await["requests"], 1);
    s.stop().await;
}

#[tokio::test]
async fn one_upstream_is_one_deployment_whatever_its_health() {
    // Today's behaviour: a profile with one upstream and no fallbacks always
    // sends to it (the upstream's own 429 reaches the client), and retries on it.
    let a = MockUpstream::start().await.unwrap();
    a.push(rate_limited(&[("retry-after", "30".into())]));
    let s = Server::with_config(&format!(
        "{LIMITS}[[upstreams]]\nname = \"a\"\nkind = \"openai\"\nbase_url = \"{}\"\nmax_retries = 0\n\
         [[profiles]]\nid = \"p\"\nupstream = \"a\"\nupstream_model = \"m\"\ncontext_window = 1000\n\
         tokens_per_second = 10\ninput_price_per_mtok = 1\noutput_price_per_mtok = 1\n\
         [routing]\ndefault_profile = \"p\"\naliases = {{}}\n",
        a.base_url()
    ))
    .await;
    let r = s
        .post("/v1/chat/completions", &openai_request("p", "hi"))
        .await;
    assert_eq!((r.status.as_u16(), r.header("retry-after")), (429, "30"));
    let r = s
        .post("/v1/chat/completions", &openai_request("p", "hi"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(a.calls(), 2);
    let d = deployment(&s, "a").await;
    assert_eq!(
        (d["upstream_model"].as_str(), d["requests"].as_u64()),
        (Some("m"), Some(2))
    );
    s.stop().await;
}

#[tokio::test]
async fn the_admin_api_lists_the_deployments() {
    std::env::set_var("MWS_TEST_ADMIN_TOKEN_FLEET", "fleet-admin");
    let a = MockUpstream::start().await.unwrap();
    let b = MockUpstream::start().await.unwrap();
    let s = Server::with_config(&format!(
        "{}[admin]\ntoken_env = \"MWS_TEST_ADMIN_TOKEN_FLEET\"\n",
        config(&[dep("a", &a, 2), dep("b", &b, 1)], "p2c", "", "")
    ))
    .await;
    let c = reqwest::Client::new();
    let r = c.get(s.url("/admin/deployments")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .get(s.url("/admin/deployments"))
        .bearer_auth("fleet-admin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a/model-a", "b/model-b"]);
    let first = &v["data"][0];
    for field in [
        "state",
        "available_in_secs",
        "in_flight",
        "requests",
        "errors",
        "latency_ms",
        "error_rate",
        "consecutive_failures",
    ] {
        assert!(!first[field].is_null(), "{field}: {first}");
    }
    s.stop().await;
}

#[tokio::test]
async fn a_stream_is_in_flight_on_its_deployment_until_it_ends() {
    let (a, b) = (
        MockUpstream::start().await.unwrap(),
        MockUpstream::start().await.unwrap(),
    );
    let chunk = |delta: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": null}]})
    };
    let slow = || {
        let MockReply::Sse { frames, .. } = MockReply::openai_chunks(&[
            chunk(json!({"role": "assistant", "content": ""})),
            chunk(json!({"content": "slow "})),
            chunk(json!({"content": "answer"})),
        ]) else {
            unreachable!()
        };
        MockReply::Sse {
            frames,
            fail_after: None,
            delay: Duration::from_millis(300),
        }
    };
    // Ties go at random: either may get both streams.
    for _ in 0..2 {
        a.push(slow());
        b.push(slow());
    }
    let s = Server::with_config(&config(
        &[dep("a", &a, 1), dep("b", &b, 1)],
        "least-busy",
        "",
        "",
    ))
    .await;
    // Same kind (forwarded as sent) on one route, translated on the other.
    for (path, body) in [
        ("/v1/chat/completions", openai_request("p", "stream one")),
        ("/v1/messages", anthropic_request("p", "stream two")),
    ] {
        let mut body = body;
        body["stream"] = json!(true);
        let mut r = s.post_raw(path, &body).await;
        assert_eq!(r.status(), 200);
        let first = r.chunk().await.unwrap();
        assert!(first.is_some());
        let report = s.gateway.admin().deployments().await.unwrap();
        let in_flight: Vec<u64> = report["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["in_flight"].as_u64().unwrap())
            .collect();
        assert_eq!(in_flight.iter().sum::<u64>(), 1, "{path}: {report}");
        while r.chunk().await.unwrap().is_some() {}
        // Counted out once the stream ended (the meter is dropped with it).
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let report = s.gateway.admin().deployments().await.unwrap();
            let total: u64 = report["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["in_flight"].as_u64().unwrap())
                .sum();
            if total == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{path}: still in flight: {report}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // One deployment call per stream.
    assert_eq!(a.calls() + b.calls(), 2);
    s.stop().await;
}
