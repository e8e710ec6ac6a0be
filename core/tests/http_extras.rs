//! The endpoints beyond chat over HTTP: /v1/models in both shapes, embeddings,
//! rerank, /health and /metrics.

// clippy.toml allows these in #[test] functions only; the helpers here and in
// `common` are test code too.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use base64::Engine;
use common::*;
use serde_json::{json, Value};

/// Checks one model entry against the published catalogue row.
fn check_figures(m: &Value, row: &(&str, u64, u64, f64, f64)) {
    assert_eq!(m["id"], row.0);
    assert_eq!(m["context_window"], row.1, "{}", row.0);
    assert_eq!(m["tokens_per_second"], row.2, "{}", row.0);
    let p = &m["pricing"];
    assert!((p["input_per_mtok_usd"].as_f64().unwrap() - row.3).abs() < 1e-9);
    assert!((p["output_per_mtok_usd"].as_f64().unwrap() - row.4).abs() < 1e-9);
    // The catalogue sets no cache prices: both are the input price.
    assert!((p["cache_read_per_mtok_usd"].as_f64().unwrap() - row.3).abs() < 1e-9);
    assert!((p["cache_write_per_mtok_usd"].as_f64().unwrap() - row.3).abs() < 1e-9);
}

#[tokio::test]
async fn models_show_the_cache_prices_a_profile_sets() {
    let s = Server::with_config(&format!(
        "{LIMITS}[[upstreams]]\nname = \"e\"\nkind = \"echo\"\n\
         [[profiles]]\nid = \"cached\"\nupstream = \"e\"\ncontext_window = 1000\ntokens_per_second = 10\n\
         input_price_per_mtok = 3\noutput_price_per_mtok = 15\n\
         cache_read_price_per_mtok = 0.3\ncache_write_price_per_mtok = 3.75\n\
         [[profiles]]\nid = \"read-only\"\nupstream = \"e\"\ncontext_window = 1000\ntokens_per_second = 10\n\
         input_price_per_mtok = 2\noutput_price_per_mtok = 8\ncache_read_price_per_mtok = 0.5\n\
         [routing]\ndefault_profile = \"cached\"\naliases = {{}}\n"
    ))
    .await;
    let pricing = |m: &Value| m["pricing"].clone();
    let r = s.get("/v1/models").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        pricing(&r.body["data"][0]),
        json!({"input_per_mtok_usd": 3.0, "output_per_mtok_usd": 15.0,
               "cache_read_per_mtok_usd": 0.3, "cache_write_per_mtok_usd": 3.75})
    );
    // An unset cache write price is the input price.
    assert_eq!(
        pricing(&r.body["data"][1]),
        json!({"input_per_mtok_usd": 2.0, "output_per_mtok_usd": 8.0,
               "cache_read_per_mtok_usd": 0.5, "cache_write_per_mtok_usd": 2.0})
    );
    // The same in Anthropic's shape and for one model.
    let r = s.get_anthropic("/v1/models/cached").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["pricing"]["cache_read_per_mtok_usd"], 0.3);
    assert_eq!(r.body["pricing"]["cache_write_per_mtok_usd"], 3.75);
    s.stop().await;
}

#[tokio::test]
async fn models_openai_list_by_default() {
    let s = Server::builtin().await;
    let r = s.get("/v1/models").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    check_ratelimit_headers(&r.headers, RPM, TPM);
    assert_eq!(r.body["object"], "list");
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 11);
    for (m, row) in data.iter().zip(DRAGONS.iter()) {
        assert_eq!(m["object"], "model");
        assert!(m["created"].is_i64());
        assert!(m["owned_by"].is_string());
        check_figures(m, row);
    }
    s.stop().await;
}

#[tokio::test]
async fn models_anthropic_list_with_anthropic_version() {
    let s = Server::builtin().await;
    let r = s.get_anthropic("/v1/models").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    check_ratelimit_headers(&r.headers, RPM, TPM);
    check_anthropic_headers(&r.headers);
    assert_eq!(r.body["has_more"], false);
    assert_eq!(r.body["first_id"], "dragon");
    assert_eq!(r.body["last_id"], "dragon-nova");
    assert!(r.body.get("object").is_none());
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 11);
    for (m, row) in data.iter().zip(DRAGONS.iter()) {
        assert_eq!(m["type"], "model");
        assert!(m["display_name"].is_string());
        let created = m["created_at"].as_str().unwrap();
        time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
            .unwrap();
        check_figures(m, row);
    }
    s.stop().await;
}

#[tokio::test]
async fn one_model_in_both_shapes_and_unknown_is_404() {
    let s = Server::builtin().await;
    let pro = &DRAGONS[3];
    let r = s.get("/v1/models/dragon-pro").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["object"], "model");
    check_figures(&r.body, pro);
    assert_eq!(r.header("mws-profile"), "dragon-pro");

    let r = s.get_anthropic("/v1/models/dragon-pro").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["type"], "model");
    check_figures(&r.body, pro);

    let r = s.get("/v1/models/unknown").await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    let e = &r.body["error"];
    assert_eq!(e["type"], "invalid_request_error");
    assert_eq!(e["param"], "model");
    assert!(e["message"].as_str().unwrap().contains("unknown"), "{e}");
    check_ratelimit_headers(&r.headers, RPM, TPM);

    let r = s.get_anthropic("/v1/models/unknown").await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    assert_eq!(r.body["type"], "error");
    assert_eq!(r.body["error"]["type"], "not_found_error");
    s.stop().await;
}

/// Decodes a base64 embedding of little-endian f32 values.
fn decode_base64(s: &str) -> Vec<f32> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).unwrap();
    assert_eq!(bytes.len() % 4, 0);
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

#[tokio::test]
async fn embeddings_float_and_base64_agree() {
    let s = Server::builtin().await;
    let body = json!({"model": "text-embedding-3-small", "input": "hello world", "dimensions": 16});
    let r = s.post("/v1/embeddings", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    check_ratelimit_headers(&r.headers, RPM, TPM);
    assert_eq!(r.header("mws-profile"), "dragon");
    assert_eq!(r.body["object"], "list");
    assert_eq!(r.body["model"], "text-embedding-3-small");
    // "hello world" is 11 characters: 3 tokens.
    assert_eq!(
        r.body["usage"],
        json!({"prompt_tokens": 3, "total_tokens": 3})
    );
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["object"], "embedding");
    assert_eq!(data[0]["index"], 0);
    let v = floats(&data[0]["embedding"]);
    assert_eq!(v.len(), 16);
    assert!((norm(&v) - 1.0).abs() < 1e-5, "{}", norm(&v));

    let mut b64 = body.clone();
    b64["encoding_format"] = json!("base64");
    let r = s.post("/v1/embeddings", &b64).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let decoded = decode_base64(r.body["data"][0]["embedding"].as_str().unwrap());
    assert_eq!(decoded, v);

    // Deterministic across calls and gateways.
    let again = s.post("/v1/embeddings", &body).await;
    assert_eq!(floats(&again.body["data"][0]["embedding"]), v);
    let other = Server::builtin().await;
    let r = other.post("/v1/embeddings", &body).await;
    assert_eq!(floats(&r.body["data"][0]["embedding"]), v);
    other.stop().await;
    s.stop().await;
}

#[tokio::test]
async fn embeddings_batches_dimensions_and_default_size() {
    let s = Server::builtin().await;
    let r = s
        .post(
            "/v1/embeddings",
            &json!({"model": "dragon", "input": ["alpha", "beta", "alpha"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    let vs: Vec<Vec<f32>> = data
        .iter()
        .enumerate()
        .map(|(i, d)| {
            assert_eq!(d["index"], i);
            floats(&d["embedding"])
        })
        .collect();
    assert_eq!(vs[0].len(), 256, "default dimensions");
    assert_eq!(vs[0], vs[2]);
    assert_ne!(vs[0], vs[1]);
    for v in &vs {
        assert!((norm(v) - 1.0).abs() < 1e-5);
    }
    // "alpha" (2) + "beta" (1) + "alpha" (2) tokens.
    assert_eq!(r.body["usage"]["prompt_tokens"], 5);

    for dims in [1, 3, 1024] {
        let r = s
            .post(
                "/v1/embeddings",
                &json!({"model": "dragon", "input": "alpha", "dimensions": dims,
                        "encoding_format": "base64"}),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let v = decode_base64(r.body["data"][0]["embedding"].as_str().unwrap());
        assert_eq!(v.len(), dims);
        assert!((norm(&v) - 1.0).abs() < 1e-5);
    }
    let r = s
        .post(
            "/v1/embeddings",
            &json!({"model": "dragon", "input": "alpha", "dimensions": 0}),
        )
        .await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.body["error"]["param"], "dimensions");
    s.stop().await;
}

#[tokio::test]
async fn rerank_sorts_by_relevance_and_honours_top_n() {
    let s = Server::builtin().await;
    let docs = json!([
        "Berlin is in Germany",
        "Paris is the capital of France",
        "France has wine",
        {"text": "The capital of Spain"},
    ]);
    let r = s
        .post(
            "/v1/rerank",
            &json!({"model": "rerank-v3", "query": "capital of France", "documents": docs}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    check_ratelimit_headers(&r.headers, RPM, TPM);
    assert_eq!(r.body["model"], "rerank-v3");
    let results = r.body["results"].as_array().unwrap();
    let order: Vec<u64> = results
        .iter()
        .map(|x| x["index"].as_u64().unwrap())
        .collect();
    let scores: Vec<f64> = results
        .iter()
        .map(|x| x["relevance_score"].as_f64().unwrap())
        .collect();
    // Share of the query's words found: 3/3, 2/3 ("capital", "of"), 1/3, 0.
    assert_eq!(order, [1, 3, 2, 0]);
    let expected = [1.0, 2.0 / 3.0, 1.0 / 3.0, 0.0];
    for (got, want) in scores.iter().zip(expected) {
        assert!((got - want).abs() < 1e-9, "{scores:?}");
    }

    let r = s
        .post(
            "/v1/rerank",
            &json!({"model": "rerank-v3", "query": "capital of France",
                    "documents": docs, "top_n": 2, "return_documents": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["index"], 1);
    assert_eq!(
        results[0]["document"]["text"],
        "Paris is the capital of France"
    );
    assert_eq!(results[1]["index"], 3);
    s.stop().await;
}

#[tokio::test]
async fn health_is_ok() {
    let s = Server::builtin().await;
    let r = s.get("/health").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"status": "ok"}));
    s.stop().await;
}

/// The value of the `mws_requests_total` series whose labels include all of `labels`.
fn requests_total(metrics: &str, labels: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| l.starts_with("mws_requests_total{"))
        .find(|l| labels.iter().all(|x| l.contains(x)))
        .and_then(|l| l.rsplit(' ').next())
        .map(|v| v.parse().unwrap())
}

#[tokio::test]
async fn metrics_count_requests_by_route_profile_and_status() {
    let s = Server::builtin().await;
    for _ in 0..2 {
        let r = s
            .post("/v1/messages", &anthropic_request("dragon-pro", "hi"))
            .await;
        assert_eq!(r.status, 200);
    }
    let mut streamed = openai_request("gpt-4o", "hi");
    streamed["stream"] = json!(true);
    s.post_stream("/v1/chat/completions", &streamed).await;
    let r = s
        .post("/v1/messages", &json!({"model": "dragon", "messages": []}))
        .await;
    assert_eq!(r.status, 400);

    let chat_ok = [
        "route=\"/v1/chat/completions\"",
        "profile=\"dragon\"",
        "status=\"200\"",
    ];
    // A stream is counted when the server drops it, which may follow the
    // client's last byte by a moment: poll until it shows.
    let mut text = String::new();
    for _ in 0..100 {
        let resp = s.client.get(s.url("/metrics")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(header(resp.headers(), "content-type").starts_with("text/plain"));
        text = resp.text().await.unwrap();
        if requests_total(&text, &chat_ok).is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(text.contains("# TYPE mws_requests_total counter"), "{text}");
    let messages_ok = [
        "route=\"/v1/messages\"",
        "profile=\"dragon-pro\"",
        "status=\"200\"",
    ];
    assert_eq!(requests_total(&text, &messages_ok), Some(2.0), "{text}");
    assert_eq!(requests_total(&text, &chat_ok), Some(1.0), "{text}");
    let bad = ["route=\"/v1/messages\"", "status=\"400\""];
    assert_eq!(requests_total(&text, &bad), Some(1.0), "{text}");
    assert!(text.contains("mws_request_duration_seconds_bucket"));
    assert!(text.contains("mws_time_to_first_token_seconds_bucket"));
    assert!(text.contains("mws_tokens_total"));
    s.stop().await;
}

/// `[server] cors_allow_origins`: the listed origins get preflights answered
/// and CORS headers on /v1 answers; others, and every origin by default, none.
#[tokio::test]
async fn cors_for_the_listed_origins_only() {
    let s = Server::with_config(&format!(
        "[server]\ncors_allow_origins = [\"https://app.example\"]\n{LIMITS}"
    ))
    .await;
    let preflight = |origin: &'static str| {
        s.client
            .request(reqwest::Method::OPTIONS, s.url("/v1/chat/completions"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type, x-stainless-os",
            )
            .send()
    };
    let r = preflight("https://app.example").await.unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert_eq!(
        h["access-control-allow-headers"],
        "authorization, content-type, x-stainless-os"
    );
    let r = preflight("https://evil.example").await.unwrap();
    assert!(!r.headers().contains_key("access-control-allow-origin"));

    let r = s
        .client
        .post(s.url("/v1/chat/completions"))
        .header("origin", "https://app.example")
        .json(&openai_request("dragon", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let exposed = r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("x-ratelimit-remaining-tokens") && exposed.contains("request-id"));
    s.stop().await;

    let s = Server::builtin().await;
    let r = s
        .client
        .post(s.url("/v1/chat/completions"))
        .header("origin", "https://app.example")
        .json(&openai_request("dragon", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!r.headers().contains_key("access-control-allow-origin"));
    s.stop().await;
}

#[test]
fn a_cors_origin_with_a_path_names_the_field() {
    let e = mws_core::Gateway::from_toml_str(
        "[server]\ncors_allow_origins = [\"https://ok.example\", \"https://app.example/path\"]\n",
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("server.cors_allow_origins.1"), "{e}");
}
