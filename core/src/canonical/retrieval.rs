//! The non-chat endpoints: embeddings and rerank.

use crate::tokens::estimate_text;

#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingsRequest {
    pub model: String,
    pub input: Vec<String>,
    pub dimensions: Option<u32>,
    /// `float` (default) or `base64` of little-endian f32s.
    pub base64: bool,
    pub user: Option<String>,
}

impl EmbeddingsRequest {
    /// Input tokens by the 4-characters estimate.
    pub fn input_estimate(&self) -> u64 {
        self.input.iter().map(|t| estimate_text(t)).sum()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingsResponse {
    pub vectors: Vec<Vec<f32>>,
    pub input_tokens: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RerankRequest {
    pub model: String,
    pub query: String,
    pub documents: Vec<String>,
    pub top_n: Option<usize>,
    pub return_documents: bool,
}

impl RerankRequest {
    /// Input tokens by the 4-characters estimate: the query is read once per document.
    pub fn input_estimate(&self) -> u64 {
        estimate_text(&self.query) * self.documents.len() as u64
            + self.documents.iter().map(|d| estimate_text(d)).sum::<u64>()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RerankResult {
    pub index: usize,
    pub relevance_score: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RerankResponse {
    /// Sorted by descending score, cut to `top_n`.
    pub results: Vec<RerankResult>,
    pub input_tokens: u64,
}
