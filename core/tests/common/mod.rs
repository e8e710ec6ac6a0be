//! Shared helpers for the HTTP integration tests: starting a gateway on port 0,
//! sending requests, parsing SSE bodies, and checking the limit headers.
// Each test binary uses a different part of this module.
#![expect(
    dead_code,
    reason = "each test crate uses only some of the shared helpers"
)]

use std::time::Duration;

use mws_core::{Gateway, ServeHandle};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

/// Limits high enough that no test is refused unless it means to be.
pub const LIMITS: &str =
    "[limits]\nunauthenticated_rpm_per_ip = 100000\nunauthenticated_tpm_per_ip = 1000000000\n\
    [[limits.tiers]]\nmin_lifetime_spend_usd = 0\nrpm = 100000\ntpm = 1000000000\n";
pub const RPM: u64 = 100_000;
pub const TPM: u64 = 1_000_000_000;

/// The eleven profiles of the built-in catalogue: (id, context, tok/s, in, out).
pub const DRAGONS: [(&str, u64, u64, f64, f64); 11] = [
    ("dragon", 262_144, 189, 0.48, 1.08),
    ("dragon-flash", 131_072, 1400, 1.20, 2.40),
    ("dragon-blitz", 131_072, 698, 0.30, 1.20),
    ("dragon-pro", 128_000, 447, 0.22, 0.68),
    ("dragon-spark", 163_840, 143, 0.60, 0.90),
    ("dragon-think", 131_072, 383, 0.30, 2.40),
    ("dragon-thinkmaxing", 1_048_576, 178, 3.48, 6.96),
    ("dragon-reason", 262_144, 172, 0.40, 1.20),
    ("dragon-seer", 262_144, 383, 1.00, 5.00),
    ("dragon-coder", 262_144, 189, 0.48, 1.08),
    ("dragon-nova", 262_144, 310, 1.20, 7.20),
];

/// A gateway served on an ephemeral port, with a client pointed at it.
pub struct Server {
    handle: Option<ServeHandle>,
    pub gateway: Gateway,
    pub base: String,
    /// Sends `key` on every request.
    pub client: reqwest::Client,
    /// A key of an account holding $1000.
    pub key: String,
    pub account_id: String,
}

/// A finished HTTP exchange: status, headers and the body as JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        header(&self.headers, name)
    }
}

/// A header's value as text; panics with the header map when it is missing.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("header {name} missing from {headers:?}"))
        .to_str()
        .unwrap()
}

/// A new account holding `usd` dollars and a key of it, made in-process.
pub async fn funded_key(gateway: &Gateway, usd: u64) -> (String, String) {
    let admin = gateway.admin();
    let account = admin
        .create_account(&serde_json::json!({"name": "test"}))
        .await
        .unwrap();
    let id = account["id"].as_str().unwrap().to_string();
    admin
        .add_credits(&id, &serde_json::json!({"amount_usd": usd}))
        .await
        .unwrap();
    let key = admin
        .create_key(&id, &serde_json::json!({"name": "test"}))
        .await
        .unwrap();
    (id, key["key"].as_str().unwrap().to_string())
}

impl Server {
    /// The built-in catalogue with the high limits of `LIMITS`.
    pub async fn builtin() -> Server {
        Server::with_config(LIMITS).await
    }

    /// A gateway from TOML text, served on 127.0.0.1:0.
    /// The memory store unless the config names one.
    pub async fn with_config(toml: &str) -> Server {
        let toml = if toml.contains("[store]") {
            toml.to_string()
        } else {
            format!("[store]\nkind = \"memory\"\n{toml}")
        };
        let gateway = Gateway::from_toml_str(&toml).unwrap();
        Server::with_gateway(gateway).await
    }

    pub async fn with_gateway(gateway: Gateway) -> Server {
        let handle = gateway.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = format!("http://{}", handle.addr());
        let (account_id, key) = funded_key(&gateway, 1000).await;
        let mut headers = HeaderMap::new();
        headers.insert("authorization", format!("Bearer {key}").parse().unwrap());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .default_headers(headers)
            .build()
            .unwrap();
        Server {
            handle: Some(handle),
            gateway,
            base,
            client,
            key,
            account_id,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.handle.as_ref().unwrap().addr()
    }

    /// Takes the handle, to shut the server down while requests are in flight.
    pub fn take_handle(&mut self) -> ServeHandle {
        self.handle.take().unwrap()
    }

    /// POST a JSON body; the raw response, for streams and headers.
    pub async fn post_raw(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// POST a JSON body and read the JSON answer.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        reply(self.post_raw(path, body).await).await
    }

    /// POST raw bytes with a JSON content type.
    pub async fn post_bytes(&self, path: &str, body: impl Into<reqwest::Body>) -> Reply {
        let r = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        reply(r).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        reply(self.client.get(self.url(path)).send().await.unwrap()).await
    }

    /// GET with `anthropic-version`, as the Anthropic SDKs send it.
    pub async fn get_anthropic(&self, path: &str) -> Reply {
        let r = self
            .client
            .get(self.url(path))
            .header("anthropic-version", "2023-06-01")
            .send()
            .await
            .unwrap();
        reply(r).await
    }

    /// POST a streaming request and read the whole SSE body as text.
    pub async fn post_stream(&self, path: &str, body: &Value) -> (HeaderMap, String) {
        let r = self.post_raw(path, body).await;
        assert_eq!(r.status(), StatusCode::OK);
        let headers = r.headers().clone();
        assert!(
            header(&headers, "content-type").starts_with("text/event-stream"),
            "{headers:?}"
        );
        (headers, r.text().await.unwrap())
    }

    /// Graceful shutdown.
    pub async fn stop(mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
    }
}

/// Reads a response as (status, headers, JSON body).
pub async fn reply(r: reqwest::Response) -> Reply {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text:?}"));
    Reply {
        status,
        headers,
        body,
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Splits an SSE body into events (`event:` and `data:` lines, blank-line separated).
pub fn parse_sse(text: &str) -> Vec<SseEvent> {
    let mut out = Vec::new();
    let mut event = None;
    let mut data: Vec<&str> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            if event.is_some() || !data.is_empty() {
                out.push(SseEvent {
                    event: event.take(),
                    data: data.join("\n"),
                });
                data.clear();
            }
        } else if let Some(v) = line.strip_prefix("event:") {
            event = Some(v.trim_start().to_string());
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v));
        } else if !line.starts_with(':') {
            panic!("unexpected SSE line {line:?} in {text:?}");
        }
    }
    assert!(
        event.is_none() && data.is_empty(),
        "SSE body ends inside an event: {text:?}"
    );
    out
}

/// Anthropic events as (name, data); each `event:` name must equal its data's `type`.
pub fn anthropic_events(text: &str) -> Vec<(String, Value)> {
    parse_sse(text)
        .into_iter()
        .map(|e| {
            let name = e
                .event
                .clone()
                .unwrap_or_else(|| panic!("no event name: {e:?}"));
            let data: Value = serde_json::from_str(&e.data).unwrap();
            assert_eq!(data["type"], name.as_str(), "event name and type differ");
            (name, data)
        })
        .collect()
}

/// OpenAI chunks; the body must end with `data: [DONE]`, which is not returned.
pub fn openai_chunks(text: &str) -> Vec<Value> {
    let events = parse_sse(text);
    let (last, chunks) = events.split_last().expect("empty stream");
    assert_eq!(last.data, "[DONE]", "stream must end with [DONE]: {text}");
    assert_eq!(last.event, None);
    chunks
        .iter()
        .map(|e| {
            assert_eq!(e.event, None, "OpenAI chunks carry no event name");
            assert_ne!(e.data, "[DONE]", "[DONE] before the end");
            serde_json::from_str(&e.data).unwrap()
        })
        .collect()
}

/// The event names of an Anthropic stream.
pub fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

/// The text of all `text_delta` events, joined.
pub fn anthropic_text(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter(|(n, d)| n == "content_block_delta" && d["delta"]["type"] == "text_delta")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap())
        .collect()
}

/// Parses a reset as OpenAI writes it (`120ms`, `59.9s`, `1m0s`, `1h2m3s`).
pub fn parse_openai_duration(s: &str) -> Option<Duration> {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if let Some(ms) = s.strip_suffix("ms") {
        return digits(ms).then(|| Duration::from_millis(ms.parse().unwrap()));
    }
    let rest = s.strip_suffix('s')?;
    let (hm, secs) = match rest.rfind(['h', 'm']) {
        Some(i) => (&rest[..=i], &rest[i + 1..]),
        None => ("", rest),
    };
    let mut total = 0.0_f64;
    if hm.is_empty() {
        let (whole, frac) = secs.split_once('.').unwrap_or((secs, "0"));
        if !digits(whole) || !digits(frac) || (frac.ends_with('0') && frac != "0") {
            return None;
        }
        total += secs.parse::<f64>().ok()?;
    } else {
        if !digits(secs) {
            return None;
        }
        total += secs.parse::<f64>().ok()?;
        let (h, m) = match hm.split_once('h') {
            Some((h, m)) => (Some(h), m),
            None => (None, hm),
        };
        if let Some(h) = h {
            if !digits(h) {
                return None;
            }
            total += 3600.0 * h.parse::<f64>().ok()?;
        }
        let m = m.strip_suffix('m')?;
        if !digits(m) {
            return None;
        }
        total += 60.0 * m.parse::<f64>().ok()?;
    }
    Some(Duration::from_secs_f64(total))
}

/// The six `x-ratelimit-*` headers with the per-IP figures of the config;
/// returns (remaining requests, remaining tokens).
pub fn check_ratelimit_headers(h: &HeaderMap, rpm: u64, tpm: u64) -> (u64, u64) {
    assert_eq!(header(h, "x-ratelimit-limit-requests"), rpm.to_string());
    assert_eq!(header(h, "x-ratelimit-limit-tokens"), tpm.to_string());
    let rem_req: u64 = header(h, "x-ratelimit-remaining-requests").parse().unwrap();
    let rem_tok: u64 = header(h, "x-ratelimit-remaining-tokens").parse().unwrap();
    assert!(rem_req <= rpm && rem_tok <= tpm);
    for name in ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"] {
        let v = header(h, name);
        let d = parse_openai_duration(v)
            .unwrap_or_else(|| panic!("{name}: {v:?} is not in OpenAI's reset format"));
        assert!(d <= Duration::from_secs(60), "{name}: {v}");
    }
    let id = header(h, "request-id");
    assert!(id.starts_with("req_") && id.len() > 8, "request-id {id:?}");
    (rem_req, rem_tok)
}

/// Anthropic's own set, with the same figures as the `x-ratelimit-*` ones.
pub fn check_anthropic_headers(h: &HeaderMap) {
    for kind in ["requests", "tokens"] {
        assert_eq!(
            header(h, &format!("anthropic-ratelimit-{kind}-limit")),
            header(h, &format!("x-ratelimit-limit-{kind}"))
        );
        assert_eq!(
            header(h, &format!("anthropic-ratelimit-{kind}-remaining")),
            header(h, &format!("x-ratelimit-remaining-{kind}"))
        );
        let reset = header(h, &format!("anthropic-ratelimit-{kind}-reset"));
        let t = time::OffsetDateTime::parse(reset, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("reset {reset:?} is not RFC 3339: {e}"));
        let now = time::OffsetDateTime::now_utc();
        assert!(t >= now - time::Duration::seconds(2) && t <= now + time::Duration::seconds(62));
    }
}

/// A user message in Anthropic shape.
pub fn anthropic_request(model: &str, text: &str) -> Value {
    serde_json::json!({
        "model": model,
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": text}],
    })
}

/// A user message in OpenAI shape.
pub fn openai_request(model: &str, text: &str) -> Value {
    serde_json::json!({
        "model": model,
        "messages": [{"role": "user", "content": text}],
    })
}

/// The weather tool in Anthropic shape.
pub fn weather_tool_anthropic() -> Value {
    serde_json::json!({
        "name": "get_weather",
        "description": "Current weather for a city",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    })
}

/// The weather tool in OpenAI shape.
pub fn weather_tool_openai() -> Value {
    serde_json::json!({
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    })
}
