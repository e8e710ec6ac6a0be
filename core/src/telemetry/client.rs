//! The HTTP client the OTLP exporter sends with: hyper's pooled client over
//! rustls (the stack upstream calls use), on the exporter's own thread, with
//! the collector headers the settings resolved put on every request.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use opentelemetry_http::{HttpClient, HttpError};

/// A collector's answer is a small protobuf; more is not read.
const MAX_ANSWER_BYTES: usize = 1 << 20;

type Pool = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

pub(crate) struct CollectorClient {
    pool: Pool,
    headers: Vec<(HeaderName, HeaderValue)>,
    timeout: Duration,
}

/// Without the headers: they may hold a collector's key.
impl std::fmt::Debug for CollectorClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectorClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl CollectorClient {
    pub(crate) fn new(headers: Vec<(HeaderName, HeaderValue)>, timeout: Duration) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.set_connect_timeout(Some(timeout));
        tcp.set_nodelay(true);
        tcp.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let pool = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_timer(TokioTimer::new())
            .build(connector);
        CollectorClient {
            pool,
            headers,
            timeout,
        }
    }
}

#[async_trait]
impl HttpClient for CollectorClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (mut parts, body) = request.into_parts();
        // The resolved headers win over what the exporter read from the
        // environment itself (the file's `headers_env` comes first).
        for (name, value) in &self.headers {
            parts.headers.insert(name.clone(), value.clone());
        }
        let request = Request::from_parts(parts, Full::new(body));
        let exchange = async {
            let response = self.pool.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_ANSWER_BYTES).collect().await?;
            Ok::<_, HttpError>(Response::from_parts(parts, body.to_bytes()))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("the collector did not answer within {:?}", self.timeout).into()),
        }
    }
}
