//! Rerank at an upstream that serves the Cohere/Jina shape at
//! `{base_url}/rerank` (vLLM, Hugging Face TEI, Infinity, Jina, Cohere): the
//! scores as it gives them, its usage billed (tokens as it counts them, else
//! the estimate; Cohere's search units reported back).

use bytes::Bytes;
use http::HeaderMap;
use serde_json::{json, Value};

use super::counts::token_count;
use super::http::HttpClient;
use super::openai_wire::bad_answer;
use super::target::Target;
use crate::canonical::{RerankRequest, RerankResponse, RerankResult};
use crate::Result;

pub async fn rerank(
    http: &HttpClient,
    req: &RerankRequest,
    target: &Target<'_>,
) -> Result<RerankResponse> {
    let mut body = json!({"model": target.model, "query": req.query, "documents": req.documents});
    if let Some(n) = req.top_n {
        body["top_n"] = json!(n);
    }
    if let Some(n) = req.max_tokens_per_doc {
        body["max_tokens_per_doc"] = json!(n);
    }
    let resp = http
        .post(
            "/rerank",
            Bytes::from(serde_json::to_vec(&body)?),
            &HeaderMap::new(),
        )
        .await?;
    answer(&http.name, &http.json(resp).await?, req)
}

/// The upstream's answer: `{results: [{index, relevance_score}]}`, or TEI's
/// bare `[{index, score}]`; sorted and cut to `top_n` whatever it did.
fn answer(name: &str, v: &Value, req: &RerankRequest) -> Result<RerankResponse> {
    let items = v
        .get("results")
        .or(Some(v))
        .and_then(Value::as_array)
        .ok_or_else(|| bad_answer(name, "rerank answer without results"))?;
    let mut results = items
        .iter()
        .map(|r| {
            let index = r.get("index").and_then(Value::as_u64);
            let score = r
                .get("relevance_score")
                .or_else(|| r.get("score"))
                .and_then(Value::as_f64);
            match (index, score) {
                (Some(i), Some(s)) if (i as usize) < req.documents.len() => Ok(RerankResult {
                    index: i as usize,
                    relevance_score: s,
                }),
                _ => Err(bad_answer(
                    name,
                    "a rerank result without a valid index and score",
                )),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    results.sort_by(|a, b| b.relevance_score.total_cmp(&a.relevance_score));
    if let Some(n) = req.top_n {
        results.truncate(n);
    }
    let tokens = token_count(v.pointer("/usage/total_tokens"))
        .or_else(|| token_count(v.pointer("/usage/prompt_tokens")))
        .or_else(|| token_count(v.pointer("/meta/billed_units/input_tokens")))
        .or_else(|| token_count(v.pointer("/meta/tokens/input_tokens")));
    Ok(RerankResponse {
        results,
        input_tokens: tokens.unwrap_or_else(|| req.input_estimate()),
        search_units: token_count(v.pointer("/meta/billed_units/search_units")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(top_n: Option<usize>) -> RerankRequest {
        RerankRequest {
            model: "m".into(),
            query: "capital of France".into(),
            documents: vec!["Berlin".into(), "Paris".into(), "Lyon".into()],
            top_n,
            return_documents: false,
            max_tokens_per_doc: None,
        }
    }

    #[test]
    fn results_are_sorted_cut_and_billed_as_reported() {
        let v = json!({"results": [{"index": 0, "relevance_score": 0.1}, {"index": 1, "relevance_score": 0.9},
            {"index": 2, "relevance_score": 0.5}], "usage": {"total_tokens": 42}});
        let r = answer("up", &v, &req(Some(2))).unwrap();
        let order: Vec<usize> = r.results.iter().map(|r| r.index).collect();
        assert_eq!(order, [1, 2]);
        assert_eq!(r.input_tokens, 42);
        assert_eq!(r.search_units, None);

        let cohere = json!({"id": "x", "results": [{"index": 1, "relevance_score": 0.7}],
            "meta": {"billed_units": {"search_units": 1}}});
        let r = answer("up", &cohere, &req(None)).unwrap();
        assert_eq!(r.search_units, Some(1));
        assert_eq!(r.input_tokens, req(None).input_estimate());

        let tei = json!([{"index": 2, "score": 0.3}, {"index": 0, "score": 0.8}]);
        let r = answer("up", &tei, &req(None)).unwrap();
        assert_eq!(r.results[0].index, 0);
    }

    #[test]
    fn a_result_out_of_range_is_a_bad_answer() {
        let v = json!({"results": [{"index": 7, "relevance_score": 0.1}]});
        assert!(answer("up", &v, &req(None)).is_err());
        assert!(answer("up", &json!({"x": 1}), &req(None)).is_err());
    }
}
