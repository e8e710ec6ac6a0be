//! Parsing for the endpoints beyond chat: embeddings and rerank.

use serde_json::Value;

use super::path::{join, type_name, Fields};
use crate::canonical::{EmbeddingInput, EmbeddingsRequest, RerankRequest};
use crate::{Error, Result};

/// Largest `dimensions` an embeddings request may ask for.
const MAX_DIMENSIONS: u32 = 8192;

/// OpenAI embeddings: `input` is a string, an array of strings, an array of
/// token ids, or an array of token-id arrays (kept as ids for the upstream).
pub fn parse_embeddings(body: &Value) -> Result<EmbeddingsRequest> {
    let f = Fields::of(body, "")?;
    let model = f.req_str("model")?.to_string();
    let input = match f.get("input") {
        None => return Err(f.missing("input")),
        Some(Value::String(s)) => vec![EmbeddingInput::Text(s.clone())],
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(Error::invalid_field("input", "expected at least one input"))
        }
        Some(Value::Array(items)) if items.iter().all(Value::is_number) => {
            vec![EmbeddingInput::Tokens(token_ids(items, "input")?)]
        }
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(EmbeddingInput::Text(s.clone())),
                Value::Array(toks) if !toks.is_empty() => {
                    token_ids(toks, &join("input", i)).map(EmbeddingInput::Tokens)
                }
                Value::Array(_) => Err(Error::invalid_field(
                    join("input", i),
                    "expected at least one token id",
                )),
                other => Err(Error::invalid_field(
                    join("input", i),
                    format!(
                        "expected a string or an array of token ids, got {}",
                        type_name(other)
                    ),
                )),
            })
            .collect::<Result<_>>()?,
        Some(other) => {
            return Err(Error::invalid_field(
                "input",
                format!("expected a string or an array, got {}", type_name(other)),
            ))
        }
    };
    let base64 = matches!(
        f.one_of("encoding_format", &["float", "base64"])?,
        Some("base64")
    );
    let dimensions = f.u32("dimensions")?;
    if let Some(d) = dimensions {
        if d == 0 || d > MAX_DIMENSIONS {
            return Err(Error::invalid_field(
                "dimensions",
                format!("expected an integer between 1 and {MAX_DIMENSIONS}, got {d}"),
            ));
        }
    }
    Ok(EmbeddingsRequest {
        model,
        input,
        dimensions,
        base64,
        user: f.str("user")?.map(str::to_string),
    })
}

/// Token ids: integers from 0 to 2^32 - 1; anything else is a 400 naming it.
fn token_ids(tokens: &[Value], path: &str) -> Result<Vec<u32>> {
    tokens
        .iter()
        .enumerate()
        .map(|(j, t)| {
            t.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    Error::invalid_field(
                        join(path, j),
                        format!("expected a token id (an integer of at least 0), got {t}"),
                    )
                })
        })
        .collect()
}

/// Cohere/Jina rerank (v1, and Cohere's v2, whose requests are the same but
/// for `max_tokens_per_doc`): documents are strings or objects with a `text` field.
pub fn parse_rerank(body: &Value) -> Result<RerankRequest> {
    let f = Fields::of(body, "")?;
    let model = f.req_str("model")?.to_string();
    let query = f.req_str("query")?.to_string();
    let documents = f
        .req_array("documents")?
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) => match o.get("text") {
                Some(Value::String(s)) => Ok(s.clone()),
                _ => Err(Error::invalid_field(
                    join(&join("documents", i), "text"),
                    "expected a string",
                )),
            },
            other => Err(Error::invalid_field(
                join("documents", i),
                format!(
                    "expected a string or an object with text, got {}",
                    type_name(other)
                ),
            )),
        })
        .collect::<Result<Vec<_>>>()?;
    let top_n = match f.u32("top_n")? {
        Some(0) => {
            return Err(Error::invalid_field(
                "top_n",
                "expected a positive integer, got 0",
            ))
        }
        other => other.map(|n| n as usize),
    };
    let max_tokens_per_doc = match f.u32("max_tokens_per_doc")? {
        Some(0) => {
            return Err(Error::invalid_field(
                "max_tokens_per_doc",
                "expected a positive integer, got 0",
            ))
        }
        other => other,
    };
    Ok(RerankRequest {
        model,
        query,
        documents,
        top_n,
        return_documents: f.bool("return_documents")?.unwrap_or(false),
        max_tokens_per_doc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn embeddings_inputs() {
        let r = parse_embeddings(&json!({"model":"m","input":"hi","encoding_format":"base64"}))
            .unwrap();
        assert_eq!(r.input, vec![EmbeddingInput::Text("hi".into())]);
        assert!(r.base64);
        let r = parse_embeddings(&json!({"model":"m","input":[[1,2],[3]]})).unwrap();
        assert_eq!(
            r.input,
            vec![
                EmbeddingInput::Tokens(vec![1, 2]),
                EmbeddingInput::Tokens(vec![3])
            ]
        );
        assert_eq!(r.input[0].text(), "1 2");
        assert_eq!(r.input_estimate(), 3);
        let r = parse_embeddings(&json!({"model":"m","input":[5,6,7]})).unwrap();
        assert_eq!(r.input, vec![EmbeddingInput::Tokens(vec![5, 6, 7])]);
        for (input, param) in [
            (json!([1, 2.5]), "input.1"),
            (json!([[1], [2, -3]]), "input.1.1"),
            (json!([[1], []]), "input.1"),
            (json!([[1, "2"]]), "input.0.1"),
            (json!([4294967296u64]), "input.0"),
        ] {
            let e = parse_embeddings(&json!({"model": "m", "input": input})).unwrap_err();
            assert_eq!(e.param(), Some(param), "{input}");
        }
        let e = parse_embeddings(&json!({"model":"m","input":["a",{"a":1}]})).unwrap_err();
        assert_eq!(e.param(), Some("input.1"));
        let e = parse_embeddings(&json!({"model":"m"})).unwrap_err();
        assert_eq!(e.param(), Some("input"));
        let e = parse_embeddings(&json!({"model":"m","input":"x","encoding_format":"int8"}))
            .unwrap_err();
        assert_eq!(e.param(), Some("encoding_format"));
    }

    #[test]
    fn rerank_documents() {
        let r = parse_rerank(
            &json!({"model":"m","query":"q","documents":["a",{"text":"b"}],"top_n":1}),
        )
        .unwrap();
        assert_eq!(r.documents, vec!["a", "b"]);
        assert_eq!(r.top_n, Some(1));
        let e = parse_rerank(&json!({"model":"m","query":"q","documents":[1]})).unwrap_err();
        assert_eq!(e.param(), Some("documents.0"));
        let e = parse_rerank(&json!({"model":"m","documents":[]})).unwrap_err();
        assert_eq!(e.param(), Some("query"));
    }
}
