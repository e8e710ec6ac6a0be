//! Stored responses of the Responses API as calls keep and read them: what is
//! kept of a finished response (the object the client got, and its output
//! items with what a continuation needs, encrypted content included), the
//! conversation a `previous_response_id` continues, and the pages of
//! `GET /v1/responses/{id}/input_items`. The store itself only holds the JSON.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::call::ConnectionResponses;
use crate::canonical::ResponsesRequest;
use crate::store::{Store, StoredResponse};
use crate::{Error, ErrorKind, Result};

/// `input_items` pages as OpenAI bounds them.
const DEFAULT_PAGE: usize = 20;
const MAX_PAGE: usize = 100;

/// The 404 for an id the caller cannot see: absent, deleted, expired, or
/// another account's (the same answer, so nothing leaks across accounts).
pub fn not_found(id: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("No response found with id '{id}'."),
    )
}

/// The response object as the client got it.
pub fn object(s: &StoredResponse) -> Value {
    s.response.get("object").cloned().unwrap_or(Value::Null)
}

/// The whole conversation up to and including the stored response: its input
/// items, then its output items (what `previous_response_id` continues).
pub fn history(s: &StoredResponse) -> Vec<Value> {
    let input = s.input_items.as_array().cloned().unwrap_or_default();
    let output = s
        .response
        .get("output")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    input.into_iter().chain(output).collect()
}

/// The item with `id` among `items`.
pub fn find_item(items: &[Value], id: &str) -> Option<Value> {
    items
        .iter()
        .find(|i| i.get("id").and_then(Value::as_str) == Some(id))
        .cloned()
}

/// Items with an `id` each (the ones a client sent without get one, prefixed
/// by type as OpenAI's are), so `input_items` can page by id.
pub fn with_ids(items: Vec<Value>) -> Vec<Value> {
    items
        .into_iter()
        .map(|mut item| {
            let has_id = item.get("id").and_then(Value::as_str).is_some();
            if let (false, Some(obj)) = (has_id, item.as_object_mut()) {
                let prefix = match obj.get("type").and_then(Value::as_str) {
                    Some("function_call") => "fc",
                    Some("function_call_output") => "fco",
                    Some("custom_tool_call") => "ctc",
                    Some("custom_tool_call_output") => "ctco",
                    Some("reasoning") => "rs",
                    Some("compaction") => "cmp",
                    _ => "msg",
                };
                obj.insert(
                    "id".into(),
                    json!(format!("{prefix}_{}", uuid::Uuid::new_v4().simple())),
                );
            }
            item
        })
        .collect()
}

/// What a Responses request continues: the stored conversation before it
/// (`previous_response_id`), and its input with `item_reference`s resolved
/// (`None`: the input as sent).
#[derive(Debug, Default)]
pub struct Conversation {
    pub history: Vec<Value>,
    pub resolved: Option<Vec<Value>>,
}

impl Conversation {
    /// The input items a stored response keeps: the history, then the input,
    /// each with an id. Built only for a response that is kept.
    pub fn input_items(self, req: &ResponsesRequest) -> Vec<Value> {
        let input = self.resolved.unwrap_or_else(|| req.input.clone());
        let mut items = self.history;
        items.extend(with_ids(input));
        items
    }
}

/// Where a finished response is kept: the store, or only its connection.
pub enum KeepIn {
    Store(Arc<dyn Store>),
    Connection(Arc<ConnectionResponses>),
}

/// A response kept for its connection, as the store would give it back.
pub fn from_connection(id: &str, kept: (Value, Value)) -> StoredResponse {
    StoredResponse {
        id: id.to_owned(),
        account_id: String::new(),
        created_at: 0,
        expires_at: i64::MAX,
        input_items: kept.0,
        response: kept.1,
    }
}

/// What keeps a finished response for its caller.
pub struct Keeper {
    pub keep_in: KeepIn,
    pub account_id: String,
    pub created_at: i64,
    pub retention_secs: i64,
    pub max_per_account: usize,
    /// The conversation's input: the previous response's history, then this request's input.
    pub input_items: Vec<Value>,
}

impl Keeper {
    /// Stores response `id` (`object` as the client got it, `output` with
    /// everything a continuation needs) before the client learns it finished,
    /// so a continuation sent right after finds it.
    pub async fn keep(self, id: &str, object: Value, output: Vec<Value>) -> Result<()> {
        let input_items = Value::Array(self.input_items);
        let response = json!({"object": object, "output": output});
        match self.keep_in {
            KeepIn::Connection(c) => {
                c.put(id.to_owned(), input_items, response);
                Ok(())
            }
            KeepIn::Store(store) => {
                let record = StoredResponse {
                    id: id.to_owned(),
                    account_id: self.account_id,
                    created_at: self.created_at,
                    expires_at: self.created_at.saturating_add(self.retention_secs),
                    input_items,
                    response,
                };
                store.put_response(&record, self.max_per_account).await
            }
        }
    }
}

/// A number from a query string (`"20"`) or a JSON body (`20`).
fn number(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// One page of a stored response's input items: `query` holds `limit`
/// (1 to 100, default 20), `order` (`asc` or `desc`, the default) and
/// `after` (an item id: the page starts after it).
pub fn input_items_page(s: &StoredResponse, query: &Value) -> Result<Value> {
    let limit = match query.get("limit") {
        None | Some(Value::Null) => DEFAULT_PAGE,
        Some(v) => match number(v) {
            Some(n) if (1..=MAX_PAGE as u64).contains(&n) => n as usize,
            _ => {
                return Err(Error::invalid_field(
                    "limit",
                    format!("expected an integer between 1 and {MAX_PAGE}"),
                ))
            }
        },
    };
    let desc = match query.get("order").and_then(Value::as_str) {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(other) => {
            return Err(Error::invalid_field(
                "order",
                format!("expected \"asc\" or \"desc\", got {other:?}"),
            ))
        }
    };
    let mut items = s.input_items.as_array().cloned().unwrap_or_default();
    if desc {
        items.reverse();
    }
    let start = match query.get("after").and_then(Value::as_str) {
        None => 0,
        Some(after) => {
            items
                .iter()
                .position(|i| i.get("id").and_then(Value::as_str) == Some(after))
                .ok_or_else(|| {
                    Error::invalid_field("after", format!("no input item with id {after:?}"))
                })?
                + 1
        }
    };
    let page: Vec<Value> = items.iter().skip(start).take(limit).cloned().collect();
    let has_more = start + page.len() < items.len();
    let id_of = |v: Option<&Value>| v.and_then(|i| i.get("id")).cloned().unwrap_or(Value::Null);
    Ok(json!({
        "object": "list",
        "data": page,
        "first_id": id_of(page.first()),
        "last_id": id_of(page.last()),
        "has_more": has_more,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(n: usize) -> StoredResponse {
        let items = (0..n)
            .map(|i| json!({"type": "message", "role": "user", "content": format!("m{i}")}))
            .collect();
        StoredResponse {
            id: "resp_1".into(),
            account_id: "a".into(),
            created_at: 0,
            expires_at: 10,
            input_items: Value::Array(with_ids(items)),
            response: json!({"object": {"id": "resp_1"}, "output": [{"type": "message", "id": "msg_out"}]}),
        }
    }

    #[test]
    fn pages_newest_first_by_default_and_after_a_cursor() {
        let s = stored(5);
        let page = input_items_page(&s, &json!({"limit": "2"})).unwrap();
        assert_eq!(page["data"].as_array().unwrap().len(), 2);
        assert_eq!(page["data"][0]["content"], "m4");
        assert_eq!(page["has_more"], true);
        let after = page["last_id"].as_str().unwrap();
        let next = input_items_page(&s, &json!({"limit": 10, "after": after})).unwrap();
        assert_eq!(next["data"][0]["content"], "m2");
        assert_eq!(next["has_more"], false);
        let asc = input_items_page(&s, &json!({"order": "asc"})).unwrap();
        assert_eq!(asc["data"][0]["content"], "m0");
        assert_eq!(asc["first_id"], s.input_items[0]["id"]);
    }

    #[test]
    fn bad_queries_name_their_field() {
        let s = stored(1);
        for (q, param) in [
            (json!({"limit": 0}), "limit"),
            (json!({"limit": 101}), "limit"),
            (json!({"order": "up"}), "order"),
            (json!({"after": "nope"}), "after"),
        ] {
            assert_eq!(input_items_page(&s, &q).unwrap_err().param(), Some(param));
        }
    }

    #[test]
    fn history_is_input_then_output_and_items_get_ids() {
        let s = stored(2);
        let h = history(&s);
        assert_eq!(h.len(), 3);
        assert_eq!(h[2]["id"], "msg_out");
        assert!(h[0]["id"].as_str().unwrap().starts_with("msg_"));
        assert_eq!(find_item(&h, "msg_out").unwrap()["type"], "message");
        let ids = with_ids(vec![
            json!({"type": "function_call_output", "call_id": "c"}),
        ]);
        assert!(ids[0]["id"].as_str().unwrap().starts_with("fco_"));
    }
}
