//! A client's stream folded into its final message the way the official Python
//! SDKs do it: `anthropic.lib.streaming._messages.accumulate_event` and
//! `openai.lib.streaming.chat` (`_accumulate_chunk` over `accumulate_delta`).

use serde_json::{Map, Value};

/// Anthropic events into the final `message`. Fails on what the SDK rejects:
/// an event before `message_start`, a delta for a block never started, tool
/// input that is not JSON.
pub fn anthropic_message(events: &[Value]) -> Result<Value, String> {
    let mut snapshot: Option<Value> = None;
    // The raw `partial_json` of each tool_use block, by index.
    let mut json_bufs: Vec<String> = Vec::new();
    for ev in events {
        let ty = ev["type"].as_str().unwrap_or_default();
        if ty == "error" {
            return Err(format!("error event: {ev}"));
        }
        let Some(snap) = snapshot.as_mut() else {
            if ty != "message_start" {
                return Err(format!("{ty} before message_start"));
            }
            snapshot = Some(ev["message"].clone());
            continue;
        };
        let index = ev["index"].as_u64().unwrap_or(0) as usize;
        match ty {
            "content_block_start" => {
                let content = snap["content"]
                    .as_array_mut()
                    .ok_or("content is not a list")?;
                if content.len() != index {
                    return Err(format!(
                        "block {index} started at position {}",
                        content.len()
                    ));
                }
                content.push(ev["content_block"].clone());
                json_bufs.push(String::new());
            }
            "content_block_delta" => {
                let block = snap["content"]
                    .get_mut(index)
                    .ok_or_else(|| format!("delta for block {index}, never started"))?;
                let d = &ev["delta"];
                let add = |block: &mut Value, key: &str, piece: &Value| {
                    let s = format!(
                        "{}{}",
                        block[key].as_str().unwrap_or_default(),
                        piece.as_str().unwrap_or_default()
                    );
                    block[key] = Value::String(s);
                };
                match (
                    d["type"].as_str().unwrap_or_default(),
                    block["type"].as_str(),
                ) {
                    ("text_delta", Some("text")) => add(block, "text", &d["text"]),
                    ("thinking_delta", Some("thinking")) => add(block, "thinking", &d["thinking"]),
                    ("signature_delta", Some("thinking")) => {
                        block["signature"] = d["signature"].clone()
                    }
                    ("input_json_delta", Some("tool_use")) => {
                        let buf = &mut json_bufs[index];
                        buf.push_str(d["partial_json"].as_str().unwrap_or_default());
                    }
                    (delta, block) => return Err(format!("{delta} for a {block:?} block")),
                }
            }
            "content_block_stop" => {
                let buf = json_bufs
                    .get(index)
                    .ok_or("stop of a block never started")?;
                if !buf.is_empty() {
                    snap["content"][index]["input"] = serde_json::from_str(buf)
                        .map_err(|e| format!("tool input is not JSON ({e}): {buf}"))?;
                }
            }
            "message_delta" => {
                snap["stop_reason"] = ev["delta"]["stop_reason"].clone();
                snap["stop_sequence"] = ev["delta"]["stop_sequence"].clone();
                let u = &ev["usage"];
                snap["usage"]["output_tokens"] = u["output_tokens"].clone();
                for k in [
                    "input_tokens",
                    "cache_creation_input_tokens",
                    "cache_read_input_tokens",
                ] {
                    if !u[k].is_null() {
                        snap["usage"][k] = u[k].clone();
                    }
                }
            }
            "message_stop" | "ping" => {}
            other => return Err(format!("unknown event {other}")),
        }
    }
    snapshot.ok_or_else(|| "no message_start".to_owned())
}

/// OpenAI chunks into the final `chat.completion`. Fails on an error chunk.
pub fn openai_completion(chunks: &[Value]) -> Result<Value, String> {
    let mut snapshot: Option<Value> = None;
    for chunk in chunks {
        if chunk.get("error").is_some() {
            return Err(format!("error chunk: {chunk}"));
        }
        let Some(snap) = snapshot.as_mut() else {
            // The first chunk becomes the snapshot, each delta its choice's message.
            let mut first = chunk.clone();
            for choice in first["choices"].as_array_mut().into_iter().flatten() {
                let delta = choice.as_object_mut().and_then(|c| c.remove("delta"));
                choice["message"] = delta.unwrap_or_default();
            }
            snapshot = Some(first);
            continue;
        };
        for choice in chunk["choices"].as_array().into_iter().flatten() {
            let i = choice["index"].as_u64().unwrap_or(0) as usize;
            let choices = snap["choices"]
                .as_array_mut()
                .ok_or("choices is not a list")?;
            if i >= choices.len() {
                let mut c = choice.clone();
                let delta = c.as_object_mut().and_then(|c| c.remove("delta"));
                c["message"] = delta.unwrap_or_default();
                choices.push(c);
                continue;
            }
            let message = choices[i]["message"]
                .as_object_mut()
                .ok_or("message is not an object")?;
            if let Some(delta) = choice["delta"].as_object() {
                accumulate_delta(message, delta)?;
            }
            if choice["finish_reason"]
                .as_str()
                .is_some_and(|f| !f.is_empty())
            {
                choices[i]["finish_reason"] = choice["finish_reason"].clone();
            }
        }
        snap["usage"] = chunk.get("usage").cloned().unwrap_or(Value::Null);
    }
    snapshot.ok_or_else(|| "no chunks".to_owned())
}

/// `openai.lib.streaming._deltas.accumulate_delta`, for JSON.
fn accumulate_delta(
    acc: &mut Map<String, Value>,
    delta: &Map<String, Value>,
) -> Result<(), String> {
    for (key, d) in delta {
        let Some(a) = acc.get_mut(key) else {
            acc.insert(key.clone(), d.clone());
            continue;
        };
        if a.is_null() || key == "index" || key == "type" {
            *a = d.clone();
            continue;
        }
        match (a, d) {
            (Value::String(a), Value::String(d)) => a.push_str(d),
            (Value::Number(a), Value::Number(d)) => {
                *a = serde_json::Number::from(a.as_i64().unwrap_or(0) + d.as_i64().unwrap_or(0));
            }
            (Value::Object(a), Value::Object(d)) => accumulate_delta(a, d)?,
            (Value::Array(a), Value::Array(d)) => {
                for entry in d {
                    let i = entry["index"]
                        .as_u64()
                        .ok_or("list delta entry without index")?
                        as usize;
                    match a.get_mut(i) {
                        Some(Value::Object(acc_entry)) => {
                            let entry = entry
                                .as_object()
                                .ok_or("list delta entry is not an object")?;
                            accumulate_delta(acc_entry, entry)?;
                        }
                        Some(_) => return Err("list entry is not an object".into()),
                        None => a.insert(i.min(a.len()), entry.clone()),
                    }
                }
            }
            // Other pairs leave the snapshot as it was, as in the SDK.
            _ => {}
        }
    }
    Ok(())
}
