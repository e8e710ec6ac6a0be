//! CORS for the /v1 routes, for apps that call the gateway from a web page
//! (an embedding app's web view, a browser SDK): the configured origins get
//! CORS headers and answered preflights; without any, no CORS headers at all.

use http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer, ExposeHeaders};

/// What a page may read of an answer besides the CORS-safelisted headers.
const EXPOSED: &[&str] = &[
    "request-id",
    "mws-profile",
    "retry-after",
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
    "anthropic-ratelimit-requests-limit",
    "anthropic-ratelimit-requests-remaining",
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-limit",
    "anthropic-ratelimit-tokens-remaining",
    "anthropic-ratelimit-tokens-reset",
];

/// The layer for `origins` (checked by the config), `None` when there are none.
pub fn layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = match origins.iter().any(|o| o == "*") {
        true => AllowOrigin::any(),
        false => AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok())),
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            // The SDKs send their own headers (`x-stainless-*`, `anthropic-*`,
            // `openai-*`): whatever a preflight asks for is allowed.
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers(ExposeHeaders::list(
                EXPOSED.iter().map(|h| HeaderName::from_static(h)),
            ))
            .max_age(std::time::Duration::from_secs(600)),
    )
}
