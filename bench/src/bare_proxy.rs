//! The yardstick for the load benchmark: a bare HTTP/1 proxy on hyper that
//! reads each request whole, forwards it to the mock upstream over a pooled
//! keep-alive client and hands the answer back, with nothing else (no parsing,
//! auth, translation or accounting). Its ratio to the mock, measured in the same
//! run, is what "just forwarding" costs on this machine.
//!
//! With `--relay` it hands the answer's body on as it arrives (a streaming
//! relay, which writes each event when it comes) instead of reading it whole
//! first (which writes a stream once, at its end, as no client-facing relay
//! could): the yardstick for streams whose events come apart in time.
//!
//! Usage: `bare-proxy UPSTREAM_ADDR [--relay]`; prints `listening on ADDR` once bound.
#![expect(clippy::expect_used, reason = "a benchmark tool: any failure ends it")]

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

// The same allocator as the mws-gateway binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Pool = Client<HttpConnector, Full<Bytes>>;

/// A body read to its end (empty if it broke off).
async fn whole(body: Incoming) -> Bytes {
    body.collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}

type Answer = Either<Full<Bytes>, Incoming>;

async fn forward(
    pool: Pool,
    upstream: &'static str,
    relay: bool,
    req: Request<Incoming>,
) -> Result<Response<Answer>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = whole(body).await;
    let uri = format!("http://{upstream}{}", parts.uri.path());
    let mut out = Request::post(uri).body(Full::new(body)).expect("request");
    *out.headers_mut() = parts.headers;
    let answer = match pool.request(out).await {
        Ok(resp) if relay => resp.map(Either::Right),
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            Response::from_parts(parts, Either::Left(Full::new(whole(body).await)))
        }
        Err(_) => Response::builder()
            .status(502)
            .body(Either::Left(Full::new(Bytes::new())))
            .expect("response"),
    };
    Ok(answer)
}

fn main() {
    let upstream: &'static str = std::env::args()
        .nth(1)
        .expect("usage: bare-proxy UPSTREAM_ADDR [--relay]")
        .leak();
    let relay = std::env::args().nth(2).as_deref() == Some("--relay");
    // One thread, like the gateway pinned to one core.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        #[expect(clippy::print_stdout, reason = "the bench script reads the address")]
        {
            println!("listening on {}", listener.local_addr().expect("address"));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let pool: Pool = Client::builder(TokioExecutor::new()).build(connector);
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let pool = pool.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| forward(pool.clone(), upstream, relay, req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
}
