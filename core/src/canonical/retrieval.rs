//! The non-chat endpoints: embeddings and rerank.

use serde::Serialize;

use crate::tokens::estimate_text;

/// One input to embed: text, or the token ids a client already tokenized it
/// into (LangChain's `OpenAIEmbeddings` sends those by default).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    Text(String),
    Tokens(Vec<u32>),
}

impl EmbeddingInput {
    /// Its tokens: counted for token ids, estimated for text.
    pub fn tokens(&self) -> u64 {
        match self {
            EmbeddingInput::Text(t) => estimate_text(t),
            EmbeddingInput::Tokens(ids) => ids.len() as u64,
        }
    }

    /// The text an upstream without a tokenizer embeds: token ids as their decimal text.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            EmbeddingInput::Text(t) => t.into(),
            EmbeddingInput::Tokens(ids) => ids
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" ")
                .into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingsRequest {
    pub model: String,
    pub input: Vec<EmbeddingInput>,
    pub dimensions: Option<u32>,
    /// `float` (default) or `base64` of little-endian f32s.
    pub base64: bool,
    pub user: Option<String>,
}

impl EmbeddingsRequest {
    /// Input tokens: token ids counted, text by the 4-characters estimate.
    pub fn input_estimate(&self) -> u64 {
        self.input.iter().map(EmbeddingInput::tokens).sum()
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
    /// Cohere's `max_tokens_per_doc`: each document is read up to this many tokens.
    pub max_tokens_per_doc: Option<u32>,
}

impl RerankRequest {
    /// Input tokens by the 4-characters estimate: the query is read once per
    /// document, each document up to `max_tokens_per_doc`.
    pub fn input_estimate(&self) -> u64 {
        let cap = self.max_tokens_per_doc.map_or(u64::MAX, u64::from);
        estimate_text(&self.query) * self.documents.len() as u64
            + self
                .documents
                .iter()
                .map(|d| estimate_text(d).min(cap))
                .sum::<u64>()
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
    /// Cohere's billed search units, when the upstream reports them.
    pub search_units: Option<u64>,
}
