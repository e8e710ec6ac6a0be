//! Each API shape parsed and validated into the canonical model.

pub mod anthropic;
mod anthropic_documents;
mod budget;
mod inline;
pub mod json;
pub mod openai;
mod path;
pub mod responses;
pub mod retrieval;

// The JSON reader lives below ingress (`crate::json_fields`); kept here for
// the parsers that name it `ingress::Fields`.
pub use crate::json_fields::Fields;

/// A content part as parsed: a canonical block, or the 400 of a translating
/// upstream for a part only an upstream of the client's own kind can carry
/// (which takes the body verbatim).
pub(crate) enum Part {
    Block(crate::canonical::ContentBlock),
    Deferred(crate::Error),
}
