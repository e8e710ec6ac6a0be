//! The profiles as model entries and lists, in OpenAI's and Anthropic's shapes.

use serde_json::{json, Value};

use crate::route::Profile;

/// When the catalogue was published; models report it as their creation time.
const CATALOGUE_CREATED: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const CATALOGUE_CREATED_RFC3339: &str = "2026-01-01T00:00:00Z";
const OWNER: &str = "mws";

fn pricing(p: &Profile) -> Value {
    json!({
        "input_per_mtok_usd": p.input_price_per_mtok,
        "output_per_mtok_usd": p.output_price_per_mtok,
        "cache_read_per_mtok_usd": p.cache_read_price_per_mtok,
        "cache_write_per_mtok_usd": p.cache_write_price_per_mtok,
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
