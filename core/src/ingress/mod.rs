//! Each API shape parsed and validated into the canonical model.

pub mod anthropic;
mod budget;
mod image;
pub mod json;
pub mod openai;
mod path;
pub mod responses;
pub mod retrieval;

// The JSON reader lives below ingress (`crate::json_fields`); kept here for
// the parsers that name it `ingress::Fields`.
pub use crate::json_fields::Fields;
