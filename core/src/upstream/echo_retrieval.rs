//! The echo upstream's embeddings and rerank: deterministic, stable across runs
//! and machines, so tests and examples can assert on them.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::canonical::{
    EmbeddingsRequest, EmbeddingsResponse, RerankRequest, RerankResponse, RerankResult,
};

/// Dimensions when the request names none.
pub const DEFAULT_DIMENSIONS: u32 = 256;

/// A unit vector derived from SHA-256 of the text in counter mode.
pub fn embed_text(text: &str, dims: u32) -> Vec<f32> {
    let mut v = Vec::with_capacity(dims as usize);
    let mut counter: u32 = 0;
    while v.len() < dims as usize {
        let mut h = Sha256::new();
        h.update(counter.to_le_bytes());
        h.update(text.as_bytes());
        for pair in h.finalize().chunks_exact(2) {
            if v.len() == dims as usize {
                break;
            }
            let x = u16::from_le_bytes([pair[0], pair[1]]);
            v.push(f32::from(x) / 32767.5 - 1.0);
        }
        counter += 1;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

pub fn embed(req: &EmbeddingsRequest) -> EmbeddingsResponse {
    let dims = req.dimensions.unwrap_or(DEFAULT_DIMENSIONS);
    EmbeddingsResponse {
        vectors: req
            .input
            .iter()
            .map(|t| embed_text(&t.text(), dims))
            .collect(),
        input_tokens: req.input_estimate(),
    }
}

fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Score = share of the query's distinct words found in the document.
pub fn rerank(req: &RerankRequest) -> RerankResponse {
    let q = words(&req.query);
    let mut results: Vec<RerankResult> = req
        .documents
        .iter()
        .enumerate()
        .map(|(index, doc)| {
            let d = words(read_part(doc, req.max_tokens_per_doc));
            let hits = q.iter().filter(|w| d.contains(*w)).count();
            let relevance_score = if q.is_empty() {
                0.0
            } else {
                hits as f64 / q.len() as f64
            };
            RerankResult {
                index,
                relevance_score,
            }
        })
        .collect();
    // Stable sort keeps document order among equal scores.
    results.sort_by(|a, b| b.relevance_score.total_cmp(&a.relevance_score));
    if let Some(n) = req.top_n {
        results.truncate(n);
    }
    let input_tokens = req.input_estimate();
    RerankResponse {
        results,
        input_tokens,
        search_units: None,
    }
}

/// The part of a document read within `max_tokens` (4 characters a token).
fn read_part(doc: &str, max_tokens: Option<u32>) -> &str {
    let Some(max) = max_tokens else {
        return doc;
    };
    let chars = (max as usize).saturating_mul(4);
    doc.char_indices()
        .nth(chars)
        .map_or(doc, |(i, _)| &doc[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_are_unit_length_deterministic_and_distinct() {
        let a = embed_text("hello", 64);
        assert_eq!(a.len(), 64);
        assert_eq!(a, embed_text("hello", 64));
        assert_ne!(a, embed_text("hello!", 64));
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        // Pinned so that a change of algorithm is noticed: vectors are stable across runs.
        let pinned: Vec<String> = embed_text("hello", 4)
            .iter()
            .map(|x| format!("{x:.6}"))
            .collect();
        assert_eq!(pinned, ["0.504974", "0.633516", "0.580387", "0.082518"]);
    }

    #[test]
    fn rerank_sorts_by_overlap_and_honours_top_n() {
        let req = RerankRequest {
            model: "dragon".into(),
            query: "capital of France".into(),
            documents: vec![
                "Berlin is in Germany".into(),
                "Paris is the capital of France".into(),
                "France has wine".into(),
            ],
            top_n: Some(2),
            return_documents: false,
            max_tokens_per_doc: None,
        };
        let r = rerank(&req);
        assert_eq!(r.results.len(), 2);
        assert_eq!(r.results[0].index, 1);
        assert!((r.results[0].relevance_score - 1.0).abs() < 1e-9);
        assert_eq!(r.results[1].index, 2);
    }
}
