//! Hundreds of malformed, oversized, wrongly typed and hostile requests on
//! every route. Each must be answered with a 4xx in the shape of the API its
//! path belongs to, with a message that names the field at fault, and the
//! gateway must go on serving normal requests after each batch.
//!
//! The chat routes run against the built-in echo upstream and against the
//! scripted mock as an OpenAI and as an Anthropic upstream, so bad input that
//! gets past ingress also goes through translation.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

#[path = "../common/mod.rs"]
mod common;

mod chat;
mod check;
mod headers;
mod hostile;
mod keys;
mod mutate;
mod raw_http;
mod routes;
mod seeds;

use common::{Server, LIMITS};
use mws_core::testing::MockUpstream;

/// Profiles on the mock as each upstream kind (`dragon` goes to the first).
const VIA: [&str; 2] = ["via-openai", "via-anthropic"];

/// A gateway whose profiles call `mock` as an OpenAI and an Anthropic upstream.
async fn on_mock(mock: &MockUpstream) -> Server {
    let mut cfg = String::from(LIMITS);
    for (name, kind) in [("oa", "openai"), ("an", "anthropic")] {
        cfg += &format!(
            "[[upstreams]]\nname = \"{name}\"\nkind = \"{kind}\"\nbase_url = \"{}\"\nmax_retries = 0\n",
            mock.base_url()
        );
    }
    for (id, upstream) in VIA.iter().zip(["oa", "an"]) {
        cfg += &format!(
            "[[profiles]]\nid = \"{id}\"\nupstream = \"{upstream}\"\ncontext_window = 131072\n\
             tokens_per_second = 100\ninput_price_per_mtok = 1\noutput_price_per_mtok = 1\n"
        );
    }
    cfg += "[routing]\ndefault_profile = \"via-openai\"\naliases = {}\n";
    Server::with_config(&cfg).await
}
