//! `/dashboard`: the web page over the admin API (accounts, credits, keys,
//! usage, deployments). Its assets are compiled into the binary, so it works offline; it is
//! off (404) while the admin API is off. The page signs in with the admin token,
//! which it keeps in session storage and sends as a bearer header to /admin:
//! these routes themselves serve only static files and need no token.

use std::sync::LazyLock;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use sha2::{Digest, Sha256};

use crate::accounts::keys::hex;
use crate::call::Shape;
use crate::egress;
use crate::state::Shared;
use crate::{Error, ErrorKind};

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Only this origin's scripts, styles, images and API; no inline code, no
/// framing, no plugins. The page needs nothing else.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
    connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// The client-side pages; each serves the same document, which routes itself.
pub const PAGES: [&str; 6] = [
    "/dashboard",
    "/dashboard/",
    "/dashboard/credits",
    "/dashboard/keys",
    "/dashboard/usage",
    "/dashboard/deployments",
];

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../../assets/dashboard/", $name)),
        }
    };
}

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const INDEX: Asset = asset!("index.html", HTML);

/// Served under `/dashboard/assets/`.
const ASSETS: &[Asset] = &[
    asset!("style.css", CSS),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("ui.js", JS),
    asset!("chart.js", JS),
    asset!("accounts.js", JS),
    asset!("credits.js", JS),
    asset!("keys.js", JS),
    asset!("usage.js", JS),
    asset!("deployments.js", JS),
    asset!("favicon.svg", SVG),
];

/// Strong validators from the content, so a browser revalidates cheaply and
/// never runs a stale script after an upgrade (the names carry no version).
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    std::iter::once(&INDEX)
        .chain(ASSETS)
        .map(|a| format!("\"{}\"", &hex(&Sha256::digest(a.body))[..20]))
        .collect()
});

pub fn router() -> Router<Shared> {
    PAGES
        .iter()
        .fold(Router::new(), |r, path| r.route(path, get(page)))
        .route("/dashboard/assets/{name}", get(asset))
}

async fn page(State(gw): State<Shared>, headers: HeaderMap) -> Response {
    serve(&gw, &headers, Some((&INDEX, 0)), "/dashboard")
}

async fn asset(
    State(gw): State<Shared>,
    super::extract::Param(name): super::extract::Param,
    headers: HeaderMap,
) -> Response {
    let found = ASSETS
        .iter()
        .enumerate()
        .find(|(_, a)| a.name == name)
        .map(|(i, a)| (a, i + 1));
    serve(&gw, &headers, found, &format!("/dashboard/assets/{name}"))
}

/// Answers with `asset` (and its index into `ETAGS`), 304 when the browser
/// holds it already, 404 when it does not exist or the dashboard is off.
fn serve(gw: &Shared, headers: &HeaderMap, asset: Option<(&Asset, usize)>, path: &str) -> Response {
    let outcome = match (gw.admin_token(), asset) {
        (None, _) => Err(Error::new(
            ErrorKind::NotFound,
            "the dashboard is off: it signs in with the admin token, so name an environment variable in admin.token_env and set it before starting the gateway",
        )),
        (Some(_), None) => Err(Error::new(
            ErrorKind::NotFound,
            format!("no route for GET {path}"),
        )),
        (Some(_), Some(found)) => Ok(found),
    };
    let mut response = match outcome {
        Err(e) => (
            StatusCode::NOT_FOUND,
            axum::Json(egress::error_body(Shape::OpenAi, &e)),
        )
            .into_response(),
        Ok((asset, i)) => {
            let etag = ETAGS.get(i).map_or("", String::as_str);
            let fresh = headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
            let mut r = if fresh {
                StatusCode::NOT_MODIFIED.into_response()
            } else {
                ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
            };
            let h = r.headers_mut();
            // Revalidate every time: cheap with the ETag, and never stale.
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            if let Ok(v) = HeaderValue::from_str(etag) {
                h.insert(header::ETAG, v);
            }
            r
        }
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
