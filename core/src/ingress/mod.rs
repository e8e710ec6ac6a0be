//! Each API shape parsed and validated into the canonical model.

pub mod anthropic;
pub mod extras;
pub mod openai;
mod path;

pub use path::Fields;
