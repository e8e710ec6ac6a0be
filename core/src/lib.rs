//! MWS gateway core: Anthropic Messages and OpenAI Chat Completions in, any
//! upstream out, with routing, token counting, credits and limits.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod billing;
mod cache_key;
pub mod call;
pub mod canonical;
pub mod cli;
pub mod config;
pub mod egress;
pub mod error;
pub mod fleet;
mod forwarded;
pub mod gateway;
pub mod ingress;
pub mod json_fields;
pub mod limits;
mod meter;
pub mod metrics;
pub mod pipeline;
mod relay;
pub mod route;
pub mod server;
pub mod state;
pub mod store;
pub mod stored;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tokens;
pub mod upstream;

pub use call::{Body, CallContext, Endpoint, Reply, Shape, TraceHeaders};
pub use config::Config;
pub use error::{Error, ErrorKind, Result};
pub use gateway::Gateway;
pub use server::ServeHandle;

// The README's Rust example (and any other Rust block in it) runs as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
