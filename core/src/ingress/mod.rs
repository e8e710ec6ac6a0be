//! Each API shape parsed and validated into the canonical model.

pub mod anthropic;
pub mod extras;
mod image;
pub mod json;
pub mod openai;
mod path;

pub use path::Fields;
