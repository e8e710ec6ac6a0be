//! The HTTP side of remote upstreams: one pooled keep-alive client per upstream,
//! connect / first-byte / idle timeouts, and retries with backoff and jitter on
//! connect errors, 429 and 5xx, all before any byte reached the client.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde_json::Value;

use super::reset;
use crate::config::UpstreamConfig;
use crate::{Error, ErrorKind, Result};

/// First backoff step; doubled per attempt, with full jitter.
const BACKOFF_BASE: Duration = Duration::from_millis(100);
/// A `retry-after` longer than this is not waited for: the next upstream is tried.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);
/// The most of a whole (non-streamed) answer kept in memory: an upstream that
/// never stops sending is cut off instead of exhausting memory.
pub const MAX_ANSWER_BYTES: usize = 64 << 20;
/// The most of an error answer read: only its start becomes the message.
const MAX_ERROR_BYTES: usize = 64 << 10;

tokio::task_local! {
    /// The retries a call may make on one upstream when fewer than its
    /// `max_retries`: none while another deployment of the profile can take
    /// the next try (see `with_retries`).
    static RETRIES: u32;
}

/// Runs `call` with at most `retries` retries on the upstream it calls
/// (`None`: the upstream's own `max_retries`).
pub async fn with_retries<F: std::future::Future>(retries: Option<u32>, call: F) -> F::Output {
    match retries {
        Some(n) => RETRIES.scope(n, call).await,
        None => call.await,
    }
}

/// A response whose status and headers arrived; its body is still coming.
pub type Response = http::Response<Incoming>;

/// hyper's pooled client directly: per request it costs less than a wrapper
/// that parses URLs and clones its middleware, and this is the hot path.
type Pool = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The connection pools of one gateway's upstreams, one per connect timeout
/// (the only setting of a pool an upstream chooses). hyper's pool keeps
/// connections per host, so upstreams on the same host (two keys, two API
/// kinds, several deployments of one provider) share its keep-alive
/// connections instead of each keeping its own: an idle connection holds
/// about 35 KB (its buffers and request queue), and a pool as many as the
/// peak concurrency to that host.
#[derive(Default)]
pub struct Pools(Mutex<HashMap<u64, Pool>>);

impl std::fmt::Debug for Pools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pools").finish_non_exhaustive()
    }
}

impl Pools {
    /// The pool for upstreams with this connect timeout, made on first use.
    fn get(&self, connect_timeout: Duration) -> Pool {
        let mut pools = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let key = connect_timeout.as_nanos() as u64;
        pools
            .entry(key)
            .or_insert_with(|| new_pool(connect_timeout))
            .clone()
    }
}

fn new_pool(connect_timeout: Duration) -> Pool {
    let mut tcp = HttpConnector::new();
    tcp.set_connect_timeout(Some(connect_timeout));
    tcp.set_nodelay(true);
    tcp.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(tcp);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_timer(TokioTimer::new())
        .build(connector)
}

#[derive(Debug)]
pub struct HttpClient {
    pub name: String,
    client: Pool,
    base_url: String,
    headers: HeaderMap,
    first_byte_timeout: Duration,
    idle_timeout: Duration,
    max_retries: u32,
}

impl HttpClient {
    /// `auth` is the header carrying the key (`authorization` with `Bearer`, or `x-api-key`).
    /// Its connections come from `pools`.
    pub fn new(
        cfg: &UpstreamConfig,
        pools: &Pools,
        auth: impl Fn(&str) -> (HeaderName, String),
    ) -> Result<Self> {
        let field = |f: &str| format!("upstreams.{}.{f}", cfg.name);
        let mut headers = HeaderMap::new();
        if let Some(var) = &cfg.api_key_env {
            let key = std::env::var(var).map_err(|_| {
                Error::invalid(format!(
                    "{}: environment variable {var} is not set",
                    field("api_key_env")
                ))
            })?;
            let (name, value) = auth(&key);
            let value = HeaderValue::from_str(&value).map_err(|_| {
                Error::invalid(format!(
                    "{}: the key in {var} is not a valid header value",
                    field("api_key_env")
                ))
            })?;
            headers.insert(name, value);
        }
        for (k, v) in &cfg.headers {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                Error::invalid(format!("{}: {k:?} is not a header name", field("headers")))
            })?;
            let value = HeaderValue::from_str(v).map_err(|_| {
                Error::invalid(format!(
                    "{}: the value of {k:?} is not a header value",
                    field("headers")
                ))
            })?;
            headers.insert(name, value);
        }
        let client = pools.get(Duration::from_secs_f64(cfg.connect_timeout_secs));
        Ok(HttpClient {
            name: cfg.name.clone(),
            client,
            base_url: cfg
                .base_url
                .clone()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
            headers,
            first_byte_timeout: Duration::from_secs_f64(cfg.first_byte_timeout_secs),
            idle_timeout: Duration::from_secs_f64(cfg.idle_timeout_secs),
            max_retries: cfg.max_retries,
        })
    }

    /// POSTs JSON to `base_url + path` and returns a successful response whose
    /// headers have arrived; failures are retried, then mapped to `Error`.
    pub async fn post(&self, path: &str, body: Bytes, extra: &HeaderMap) -> Result<Response> {
        let uri: Uri = format!("{}{path}", self.base_url).parse().map_err(|e| {
            Error::invalid(format!(
                "upstreams.{}.base_url: not a URL with {path} appended: {e}",
                self.name
            ))
        })?;
        let max_retries = RETRIES
            .try_with(|n| *n)
            .map_or(self.max_retries, |n| n.min(self.max_retries));
        let mut attempt = 0;
        loop {
            let mut request = http::Request::post(uri.clone())
                .body(Full::new(body.clone()))
                .map_err(|e| Error::internal(format!("upstream request: {e}")))?;
            let headers = request.headers_mut();
            headers.reserve(self.headers.len() + extra.len() + 1);
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            for (k, v) in self.headers.iter().chain(extra) {
                headers.insert(k, v.clone());
            }
            // The try's W3C trace context, when tracing or the client has one.
            crate::telemetry::propagate::add_to(headers);
            let outcome =
                tokio::time::timeout(self.first_byte_timeout, self.client.request(request)).await;
            let (error, wait) = match outcome {
                Err(_) => (
                    Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "upstream {} sent no response within {:?}",
                            self.name, self.first_byte_timeout
                        ),
                    ),
                    None,
                ),
                Ok(Err(e)) => {
                    let kind = if timed_out(&e) {
                        ErrorKind::Timeout
                    } else {
                        ErrorKind::Upstream
                    };
                    (
                        Error::new(
                            kind,
                            format!("upstream {} unreachable: {}", self.name, root_cause(&e)),
                        ),
                        None,
                    )
                }
                Ok(Ok(resp)) if resp.status().is_success() => return Ok(resp),
                Ok(Ok(resp)) => {
                    let status = resp.status();
                    let retry_after = if status == StatusCode::TOO_MANY_REQUESTS {
                        // Every rate-limit header counts: a deployment cools down until then.
                        reset::rate_limit_reset(resp.headers(), SystemTime::now())
                            .map(|d| d.as_secs_f64())
                    } else {
                        resp.headers()
                            .get(http::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<f64>().ok())
                            .filter(|s| s.is_finite() && *s >= 0.0)
                    };
                    let body = tokio::time::timeout(
                        self.first_byte_timeout,
                        Limited::new(resp.into_body(), MAX_ERROR_BYTES).collect(),
                    )
                    .await
                    .ok()
                    .and_then(|b| b.ok())
                    .map(|b| b.to_bytes());
                    let error = status_error(
                        &self.name,
                        status,
                        body.as_deref().unwrap_or_default(),
                        retry_after,
                    );
                    if !(status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()) {
                        return Err(error);
                    }
                    (error, retry_after.map(Duration::from_secs_f64))
                }
            };
            if attempt >= max_retries || wait.is_some_and(|w| w > MAX_RETRY_WAIT) {
                return Err(error);
            }
            let backoff = BACKOFF_BASE
                .saturating_mul(1 << attempt.min(10))
                .mul_f64(rand::random::<f64>());
            // The kind and status only: an upstream's error text may quote the prompt.
            tracing::debug!(upstream = %self.name, attempt, kind = error.kind().as_str(), status = error.http_status(), "retrying upstream");
            tokio::time::sleep(wait.unwrap_or(backoff).max(backoff)).await;
            attempt += 1;
        }
    }

    /// The whole JSON body of a successful response: each chunk within the
    /// idle timeout, at most `MAX_ANSWER_BYTES` in all.
    pub async fn json(&self, resp: Response) -> Result<Value> {
        let bytes = self.bytes(resp).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::new(
                ErrorKind::Upstream,
                format!("upstream {} sent invalid JSON: {e}", self.name),
            )
        })
    }

    /// The whole body of a successful response.
    pub async fn bytes(&self, resp: Response) -> Result<Bytes> {
        let mut chunks = std::pin::pin!(self.chunks(resp));
        let (mut parts, mut len) = (Vec::<Bytes>::new(), 0);
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            len += chunk.len();
            if len > MAX_ANSWER_BYTES {
                return Err(Error::new(
                    ErrorKind::Upstream,
                    format!(
                        "upstream {} sent an answer over {MAX_ANSWER_BYTES} bytes",
                        self.name
                    ),
                ));
            }
            parts.push(chunk);
        }
        // Most answers arrive as one chunk: kept as it is, copied only to join several.
        Ok(match parts.len() {
            1 => parts.swap_remove(0),
            _ => Bytes::from(parts.concat()),
        })
    }

    /// The body as chunks, each arriving within the idle timeout. One timer
    /// for the whole body, moved only when it fires early: a chunk costs a
    /// clock read, not a timer of its own.
    pub fn chunks(&self, resp: Response) -> impl Stream<Item = Result<Bytes>> + Send + 'static {
        let idle = self.idle_timeout;
        let name = self.name.clone();
        let mut body = resp.into_body().into_data_stream();
        async_stream::stream! {
            let mut last = tokio::time::Instant::now();
            let deadline = tokio::time::sleep_until(last + idle);
            tokio::pin!(deadline);
            loop {
                let next = tokio::select! {
                    biased;
                    next = body.next() => next,
                    () = &mut deadline => {
                        if last.elapsed() < idle {
                            deadline.as_mut().reset(last + idle);
                            continue;
                        }
                        yield Err(Error::new(ErrorKind::Timeout, format!("upstream {name} sent nothing for {idle:?}")));
                        break;
                    }
                };
                match next {
                    None => break,
                    Some(Ok(b)) => {
                        yield Ok(b);
                        // The wait for the next chunk starts when it is asked for.
                        last = tokio::time::Instant::now();
                    }
                    Some(Err(e)) => {
                        yield Err(Error::new(ErrorKind::Upstream, format!("upstream {name} broke off the stream: {}", root_cause(&e))));
                        break;
                    }
                }
            }
        }
    }
}

/// A connect that ran out of time (the connect timeout) rather than failed.
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cur = e.source();
    }
    false
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// An upstream's error status as our error: its message kept, 4xx passed on with
/// their status, 429 with its `retry-after`, the upstream's auth failures as 502
/// (the gateway's credentials, not the client's, were refused).
pub fn status_error(
    name: &str,
    status: StatusCode,
    body: &[u8],
    retry_after: Option<f64>,
) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/message").or_else(|| v.get("message")))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned());
    let param = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/param"))
        .and_then(Value::as_str);
    let code = status.as_u16();
    let e = match code {
        // The upstream's words stay out: they may quote the gateway's key
        // (OpenAI shows its first and last characters, some servers all of it).
        401 | 403 => Error::new(
            ErrorKind::Upstream,
            format!(
                "upstream {name} refused the gateway's credentials ({code}): check its api_key_env"
            ),
        ),
        404 => Error::new(ErrorKind::NotFound, format!("upstream {name}: {message}")),
        413 => Error::new(
            ErrorKind::PayloadTooLarge,
            format!("upstream {name}: {message}"),
        ),
        429 => {
            let e = Error::new(
                ErrorKind::RateLimited,
                format!("upstream {name} is rate limiting: {message}"),
            );
            // To the millisecond, for the deployment's cooldown; clients see it in seconds.
            e.with_retry_after_ms(
                retry_after
                    .map_or(1000, |s| (s * 1000.0).ceil() as u64)
                    .max(1),
            )
        }
        400..=499 => Error::new(
            ErrorKind::InvalidRequest,
            format!("upstream {name}: {message}"),
        )
        .with_status(if code == 422 { 400 } else { code }),
        503 | 529 => Error::new(
            ErrorKind::Overloaded,
            format!("upstream {name} is overloaded: {message}"),
        )
        .with_status(code),
        _ => Error::new(
            ErrorKind::Upstream,
            format!("upstream {name} failed ({code}): {message}"),
        ),
    };
    match param {
        Some(p) => e.with_param(p),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn https_upstreams_get_a_tls_client_and_refusals_are_upstream_errors() {
        let config: crate::config::UpstreamConfig = toml::from_str(
            "name = \"tls\"\nkind = \"openai\"\nbase_url = \"https://127.0.0.1:9/v1\"\nmax_retries = 0",
        )
        .unwrap();
        let client = HttpClient::new(&config, &Pools::default(), |k| {
            (http::header::AUTHORIZATION, format!("Bearer {k}"))
        })
        .unwrap();
        let e = client
            .post(
                "/chat/completions",
                Bytes::from_static(b"{}"),
                &HeaderMap::new(),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Upstream);
        assert!(e.message().contains("unreachable"), "{}", e.message());
    }

    #[test]
    fn upstream_statuses() {
        let e = status_error(
            "u",
            StatusCode::BAD_REQUEST,
            br#"{"error":{"message":"bad thing","param":"x"}}"#,
            None,
        );
        assert_eq!(
            (e.kind(), e.http_status(), e.param()),
            (ErrorKind::InvalidRequest, 400, Some("x"))
        );
        assert!(e.message().contains("bad thing"));
        let e = status_error("u", StatusCode::TOO_MANY_REQUESTS, b"{}", Some(7.0));
        assert_eq!(e.retry_after_secs(), Some(7));
        let e = status_error(
            "u",
            StatusCode::UNAUTHORIZED,
            br#"{"error":{"message":"Incorrect API key provided: sk-secret123"}}"#,
            None,
        );
        assert_eq!(e.http_status(), 502);
        assert!(!e.message().contains("sk-secret"), "{}", e.message());
        let e = status_error(
            "u",
            StatusCode::from_u16(529).unwrap(),
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            None,
        );
        assert_eq!((e.kind(), e.http_status()), (ErrorKind::Overloaded, 529));
    }
}
