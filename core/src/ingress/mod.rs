//! Each API shape parsed and validated into the canonical model.

pub mod anthropic;
mod budget;
pub mod extras;
mod image;
pub mod json;
pub mod openai;
mod path;
pub mod responses;

pub use path::Fields;
