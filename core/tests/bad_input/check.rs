//! What every refusal must look like, and the runner that sends a batch of
//! cases and collects every deviation: a 4xx (never a 5xx, never a dropped
//! connection), JSON in the shape of the API the path belongs to, a non-empty
//! message, and on a 400 the field at fault named.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::common::{anthropic_request, Server};

/// The shape a path's errors use (the gateway's rule, restated).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    Anthropic,
    OpenAi,
}

/// Anthropic under /v1/messages, OpenAI on the OpenAI routes and /admin, and
/// elsewhere (models, unknown paths) Anthropic when `anthropic-version` is sent.
pub fn shape_for(path: &str, headers: &[(HeaderName, HeaderValue)]) -> Shape {
    let path = path.split('?').next().unwrap_or(path);
    let openai = [
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/rerank",
        "/admin/",
    ];
    if path.starts_with("/v1/messages") {
        Shape::Anthropic
    } else if openai.iter().any(|p| path.starts_with(p)) {
        Shape::OpenAi
    } else if headers.iter().any(|(n, _)| n == "anthropic-version") {
        Shape::Anthropic
    } else {
        Shape::OpenAi
    }
}

/// What a case may be answered with.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// Exactly this status.
    Status(u16),
    /// Any 4xx; on a 400 the error names `field` (or a path above or below it).
    Refused { field: Option<String> },
    /// A 200 (the input was acceptable after all) or a refusal as above.
    OkOrRefused { field: Option<String> },
}

impl Expect {
    pub fn field(field: &str) -> Expect {
        Expect::Refused {
            field: Some(field.to_string()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub method: Method,
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Vec<u8>>,
    pub expect: Expect,
}

impl Case {
    pub fn new(name: impl Into<String>, method: Method, path: &str, expect: Expect) -> Case {
        Case {
            name: name.into(),
            method,
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
            expect,
        }
    }

    pub fn post(name: impl Into<String>, path: &str, body: impl Into<Vec<u8>>, e: Expect) -> Case {
        Case::new(name, Method::POST, path, e).body(body)
    }

    pub fn json(name: impl Into<String>, path: &str, body: &Value, e: Expect) -> Case {
        Case::post(name, path, serde_json::to_vec(body).unwrap(), e)
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Case {
        self.body = Some(body.into());
        self
    }

    pub fn header(mut self, name: &str, value: HeaderValue) -> Case {
        self.headers
            .push((HeaderName::from_bytes(name.as_bytes()).unwrap(), value));
        self
    }
}

/// A refusal as read from the wire.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
    pub param: Option<String>,
}

impl Refusal {
    /// The field the error is about: OpenAI's `param`, or the `path:` that
    /// starts the message.
    pub fn field(&self) -> Option<String> {
        self.param.clone().or_else(|| {
            let (head, _) = self.message.split_once(": ")?;
            (!head.contains(' ')).then(|| head.to_string())
        })
    }
}

/// Whether one dotted path is the other or lies above or below it.
pub fn related(a: &str, b: &str) -> bool {
    let under = |long: &str, short: &str| {
        long == short || long.strip_prefix(short).is_some_and(|r| r.starts_with('.'))
    };
    under(a, b) || under(b, a)
}

/// Checks a non-200 answer; returns the refusal or what is wrong with it.
pub fn refusal(
    shape: Shape,
    status: StatusCode,
    headers: &HeaderMap,
    text: &str,
) -> Result<Refusal, String> {
    let code = status.as_u16();
    if !status.is_client_error() {
        return Err(format!("status {code}, not a 4xx: {text}"));
    }
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(format!("{code} with content-type {ct:?}: {text:?}"));
    }
    let body: Value =
        serde_json::from_str(text).map_err(|e| format!("{code} body is not JSON ({e}): {text}"))?;
    if code == 429 && headers.get("retry-after").is_none() {
        return Err(format!("429 without retry-after: {text}"));
    }
    let (message, param) = match shape {
        Shape::Anthropic => {
            let obj = body.as_object().ok_or("body is not an object")?;
            let e = body["error"].as_object();
            let well_formed = obj.len() == 2
                && body["type"] == "error"
                && e.is_some_and(|e| e.len() == 2 && e["type"].is_string());
            if !well_formed {
                return Err(format!("{code} not in Anthropic shape: {body}"));
            }
            let want = match code {
                401 => "authentication_error",
                402 => "billing_error",
                403 => "permission_error",
                404 => "not_found_error",
                413 | 431 => "request_too_large",
                429 => "rate_limit_error",
                _ => "invalid_request_error",
            };
            if body["error"]["type"] != want {
                return Err(format!("{code} should have type {want}: {body}"));
            }
            (body["error"]["message"].as_str().map(str::to_string), None)
        }
        Shape::OpenAi => {
            let e = body["error"].as_object();
            let well_formed = body.as_object().is_some_and(|o| o.len() == 1)
                && e.is_some_and(|e| {
                    e.len() == 4
                        && e["type"].is_string()
                        && (e["param"].is_string() || e["param"].is_null())
                        && (e["code"].is_string() || e["code"].is_null())
                });
            if !well_formed {
                return Err(format!("{code} not in OpenAI shape: {body}"));
            }
            let (want_type, want_code) = match code {
                401 => ("invalid_request_error", Value::from("invalid_api_key")),
                402 => ("insufficient_quota", Value::from("insufficient_quota")),
                429 => ("requests", Value::from("rate_limit_exceeded")),
                _ => ("invalid_request_error", Value::Null),
            };
            if body["error"]["type"] != want_type || body["error"]["code"] != want_code {
                return Err(format!("{code} should have type {want_type}: {body}"));
            }
            (
                body["error"]["message"].as_str().map(str::to_string),
                body["error"]["param"].as_str().map(str::to_string),
            )
        }
    };
    match message {
        Some(m) if !m.trim().is_empty() => Ok(Refusal {
            status: code,
            message: m,
            param,
        }),
        _ => Err(format!("{code} with an empty message: {body}")),
    }
}

/// Sends one case; `Err` says how the answer broke the rules.
pub async fn send(s: &Server, client: &reqwest::Client, case: &Case) -> Result<(), String> {
    let mut req = client.request(case.method.clone(), s.url(&case.path));
    for (n, v) in &case.headers {
        req = req.header(n, v);
    }
    if let Some(body) = &case.body {
        req = req
            .header("content-type", "application/json")
            .body(body.clone());
    }
    let r = req
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.map_err(|e| format!("body cut: {e}"))?;
    let on_v1 = case.path.starts_with("/v1/");
    if on_v1 && headers.get("request-id").is_none() {
        return Err(format!("{status} without request-id"));
    }
    let shape = shape_for(&case.path, &case.headers);
    if status.is_success() {
        return match &case.expect {
            Expect::OkOrRefused { .. } => stream_ok(shape, &headers, &text),
            Expect::Status(want) if *want == status.as_u16() => Ok(()),
            other => Err(format!("{status}, expected {other:?}: {}", clip(&text))),
        };
    }
    let refused = refusal(shape, status, &headers, &text)?;
    let field = match &case.expect {
        Expect::Status(want) if *want == refused.status => return Ok(()),
        Expect::Status(want) => {
            return Err(format!(
                "{} ({}), expected {want}",
                refused.status, refused.message
            ))
        }
        Expect::Refused { field } | Expect::OkOrRefused { field } => field,
    };
    if let (400, Some(field)) = (refused.status, field) {
        let named = refused.field();
        // Breaking a tool call leaves the result that answers it unpaired,
        // and that result is what the refusal names.
        let unpaired = refused.message.contains("answers no tool");
        if !unpaired && !named.as_deref().is_some_and(|n| related(n, field)) {
            return Err(format!(
                "400 does not name {field}: {:?} (param {:?})",
                refused.message, refused.param
            ));
        }
    }
    Ok(())
}

/// A 200 stream must not carry an error event: bad input is refused up front.
fn stream_ok(shape: Shape, headers: &HeaderMap, text: &str) -> Result<(), String> {
    let streamed = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/event-stream"));
    if !streamed {
        return serde_json::from_str::<Value>(text)
            .map(drop)
            .map_err(|e| format!("200 body is not JSON ({e})"));
    }
    let error = match shape {
        Shape::Anthropic => text.contains("event: error"),
        Shape::OpenAi => text.contains("data: {\"error\""),
    };
    if error {
        return Err(format!("200 stream carries an error: {}", clip(text)));
    }
    Ok(())
}

fn clip(text: &str) -> String {
    text.chars().take(300).collect()
}

/// Sends every case (a few at a time), then checks that a normal request is
/// still served; panics listing every case that broke the rules.
pub async fn run(s: &Server, client: &reqwest::Client, cases: &[Case]) {
    use futures::StreamExt;
    let failures: Vec<String> = futures::stream::iter(cases)
        .map(|case| async move {
            send(s, client, case)
                .await
                .err()
                .map(|e| format!("{} {} [{}]: {e}", case.method, case.path, case.name))
        })
        .buffered(4)
        .filter_map(|f| async move { f })
        .collect()
        .await;
    assert!(
        failures.is_empty(),
        "{} of {} cases broke the rules:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    still_serving(s).await;
}

/// A normal request after a batch is answered 200.
pub async fn still_serving(s: &Server) {
    let r = s
        .post("/v1/messages", &anthropic_request("dragon", "still there?"))
        .await;
    assert_eq!(
        r.status, 200,
        "a normal request after the batch: {:?}",
        r.body
    );
}
