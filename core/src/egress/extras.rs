//! Rendering for the endpoints beyond chat: models, embeddings, rerank, count_tokens.

use base64::Engine;
use serde_json::{json, Value};

use crate::canonical::{EmbeddingsRequest, EmbeddingsResponse, RerankRequest, RerankResponse};
use crate::route::Profile;

/// When the catalogue was published; models report it as their creation time.
const CATALOGUE_CREATED: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const CATALOGUE_CREATED_RFC3339: &str = "2026-01-01T00:00:00Z";
const OWNER: &str = "mws";

fn pricing(p: &Profile) -> Value {
    json!({
        "input_per_mtok_usd": p.input_price_per_mtok,
        "output_per_mtok_usd": p.output_price_per_mtok,
    })
}

/// One model in OpenAI's shape, with the profile's figures.
pub fn openai_model(p: &Profile) -> Value {
    json!({
        "id": p.id,
        "object": "model",
        "created": CATALOGUE_CREATED,
        "owned_by": OWNER,
        "context_window": p.context_window,
        "tokens_per_second": p.tokens_per_second,
        "pricing": pricing(p),
    })
}

/// One model in Anthropic's shape, with the profile's figures.
pub fn anthropic_model(p: &Profile) -> Value {
    json!({
        "type": "model",
        "id": p.id,
        "display_name": p.id,
        "created_at": CATALOGUE_CREATED_RFC3339,
        "context_window": p.context_window,
        "tokens_per_second": p.tokens_per_second,
        "pricing": pricing(p),
    })
}

pub fn openai_model_list<'a>(profiles: impl Iterator<Item = &'a Profile>) -> Value {
    json!({"object": "list", "data": profiles.map(openai_model).collect::<Vec<_>>()})
}

pub fn anthropic_model_list<'a>(profiles: impl Iterator<Item = &'a Profile>) -> Value {
    let data: Vec<Value> = profiles.map(anthropic_model).collect();
    let first = data.first().map(|m| m["id"].clone()).unwrap_or(Value::Null);
    let last = data.last().map(|m| m["id"].clone()).unwrap_or(Value::Null);
    json!({"data": data, "has_more": false, "first_id": first, "last_id": last})
}

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

pub fn rerank(req: &RerankRequest, resp: &RerankResponse, model: &str, id: &str) -> Value {
    let results: Vec<Value> = resp
        .results
        .iter()
        .map(|r| {
            let mut v = json!({"index": r.index, "relevance_score": r.relevance_score});
            if req.return_documents {
                v["document"] = json!({"text": req.documents.get(r.index)});
            }
            v
        })
        .collect();
    json!({
        "id": id,
        "model": model,
        "results": results,
        "usage": {"total_tokens": resp.input_tokens},
        "meta": {"billed_units": {"search_units": 1}},
    })
}

pub fn count_tokens(input_tokens: u64) -> Value {
    json!({ "input_tokens": input_tokens })
}
