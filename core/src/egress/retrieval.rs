//! Embeddings and rerank answers.

use base64::Engine;
use serde_json::{json, Value};

use crate::canonical::{EmbeddingsRequest, EmbeddingsResponse, RerankRequest, RerankResponse};

pub fn embeddings(req: &EmbeddingsRequest, resp: &EmbeddingsResponse, model: &str) -> Value {
    let data: Vec<Value> = resp
        .vectors
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let embedding = if req.base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": resp.input_tokens, "total_tokens": resp.input_tokens},
    })
}

/// The rerank answer: Cohere/Jina's v1 shape, or Cohere's v2 (`v2`), which
/// has no documents or usage, only its billed units.
pub fn rerank(
    req: &RerankRequest,
    resp: &RerankResponse,
    model: &str,
    id: &str,
    v2: bool,
) -> Value {
    let search_units = resp.search_units.unwrap_or(1);
    let results: Vec<Value> = resp
        .results
        .iter()
        .map(|r| {
            let mut v = json!({"index": r.index, "relevance_score": r.relevance_score});
            if req.return_documents && !v2 {
                v["document"] = json!({"text": req.documents.get(r.index)});
            }
            v
        })
        .collect();
    if v2 {
        return json!({
            "id": id,
            "results": results,
            "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": search_units}},
        });
    }
    json!({
        "id": id,
        "model": model,
        "results": results,
        "usage": {"total_tokens": resp.input_tokens},
        "meta": {"billed_units": {"search_units": search_units}},
    })
}
