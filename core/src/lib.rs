//! MWS gateway core: Anthropic Messages and OpenAI Chat Completions in, any
//! upstream out, with routing, token counting, credits and limits.
#![forbid(unsafe_code)]

pub mod canonical;
pub mod config;
pub mod egress;
pub mod error;
pub mod ingress;
pub mod tokens;

pub use config::Config;
pub use error::{Error, ErrorKind, Result};
