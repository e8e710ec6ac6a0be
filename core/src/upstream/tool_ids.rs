//! Tool-call ids for upstreams that cannot take any string (some require nine
//! alphanumerics): mapped on the way up, restored on the way back, so the
//! client always sees its own ids verbatim.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::canonical::{BlockStart, ChatRequest, ChatResponse, ContentBlock, StreamEvent};
use crate::config::ToolIdStyle;

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn fits(id: &str, style: ToolIdStyle) -> bool {
    match style {
        ToolIdStyle::Verbatim => true,
        ToolIdStyle::Alphanumeric9 => {
            id.len() == 9 && id.bytes().all(|b| b.is_ascii_alphanumeric())
        }
    }
}

/// A stable id of the style's shape derived from `id`.
fn mapped(id: &str) -> String {
    Sha256::digest(id.as_bytes())
        .iter()
        .take(9)
        .map(|b| ALNUM[usize::from(*b) % ALNUM.len()] as char)
        .collect()
}

/// Upstream ids back to the client's.
#[derive(Debug, Default)]
pub struct IdMap {
    back: HashMap<String, String>,
}

impl IdMap {
    pub fn restore(&self, id: &mut String) {
        if let Some(orig) = self.back.get(id.as_str()) {
            id.clone_from(orig);
        }
    }

    pub fn restore_response(&self, r: &mut ChatResponse) {
        for b in &mut r.content {
            if let ContentBlock::ToolUse { id, .. } = b {
                self.restore(id);
            }
        }
    }

    pub fn restore_event(&self, ev: &mut StreamEvent) {
        if let StreamEvent::BlockStart {
            block: BlockStart::ToolUse { id, .. },
            ..
        } = ev
        {
            self.restore(id);
        }
    }
}

/// Whether the upstream takes every tool id of the request as it is.
pub fn all_fit(req: &ChatRequest, style: ToolIdStyle) -> bool {
    req.messages
        .iter()
        .flat_map(|m| &m.content)
        .all(|b| match b {
            ContentBlock::ToolUse { id, .. } => fits(id, style),
            ContentBlock::ToolResult { tool_use_id, .. } => fits(tool_use_id, style),
            _ => true,
        })
}

/// The request with every id the upstream cannot take replaced, or `None` when
/// all fit. The copy has no pass-through source: its ids must be the mapped ones.
pub fn map_request(req: &ChatRequest, style: ToolIdStyle) -> Option<(ChatRequest, IdMap)> {
    if all_fit(req, style) {
        return None;
    }
    let mut map = IdMap::default();
    let mut out = req.clone();
    out.source = None;
    for b in out.messages.iter_mut().flat_map(|m| m.content.iter_mut()) {
        let id = match b {
            ContentBlock::ToolUse { id, .. } => id,
            ContentBlock::ToolResult { tool_use_id, .. } => tool_use_id,
            _ => continue,
        };
        if !fits(id, style) {
            let new = mapped(id);
            map.back.insert(new.clone(), id.clone());
            *id = new;
        }
    }
    Some((out, map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{Message, Role};
    use serde_json::json;

    #[test]
    fn ids_are_mapped_consistently_and_restored() {
        let mut req = ChatRequest::new("m");
        req.messages.push(Message {
            role: Role::Assistant,
            content: vec![ContentBlock::ToolUse {
                id: "toolu_01ABC".into(),
                name: "f".into(),
                input: json!({}),
                cache_control: None,
            }],
        });
        req.messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::ToolResult {
                tool_use_id: "toolu_01ABC".into(),
                content: vec![],
                is_error: false,
                cache_control: None,
            }],
        });
        assert!(map_request(&req, ToolIdStyle::Verbatim).is_none());
        let (out, map) = map_request(&req, ToolIdStyle::Alphanumeric9).unwrap();
        let (ContentBlock::ToolUse { id, .. }, ContentBlock::ToolResult { tool_use_id, .. }) =
            (&out.messages[0].content[0], &out.messages[1].content[0])
        else {
            panic!("blocks changed kind");
        };
        assert_eq!(id, tool_use_id);
        assert!(fits(id, ToolIdStyle::Alphanumeric9));
        let mut back = id.clone();
        map.restore(&mut back);
        assert_eq!(back, "toolu_01ABC");
    }
}
