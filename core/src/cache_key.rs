//! The prompt cache key a call sends when its client sent none, for upstreams
//! that route by one (OpenAI's `prompt_cache_key`): stable across one
//! conversation's turns, so they reach the same cache, and apart per account.

use sha2::{Digest, Sha256};

use crate::canonical::{ChatRequest, ContentBlock};

/// `mws-` and 32 hex digits of a hash of the account and the conversation:
/// Claude Code's session id (`x-claude-code-session-id`), else the client's
/// user (`metadata.user_id`, `user`), else the system prompt and first turn,
/// which every later turn of the conversation repeats.
pub fn derive(account: &str, session: Option<&str>, req: &ChatRequest) -> String {
    let mut h = Sha256::new();
    h.update(account.as_bytes());
    h.update([0]);
    match session.or(req.user.as_deref()) {
        Some(s) => {
            h.update(b"session\0");
            h.update(s.as_bytes());
        }
        None => {
            h.update(b"turn\0");
            for block in &req.system {
                h.update(block.plain_text().as_bytes());
                h.update([0]);
            }
            for block in req.messages.first().map_or(&[][..], |m| &m.content) {
                if let ContentBlock::Text { text, .. } = block {
                    h.update(text.as_bytes());
                }
                h.update([0]);
            }
        }
    }
    let digest = h.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("mws-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{Message, Role};

    fn conversation(turns: &[&str]) -> ChatRequest {
        let mut r = ChatRequest::new("m");
        r.system.push(ContentBlock::text("You are terse."));
        for (i, t) in turns.iter().enumerate() {
            let role = if i % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            r.messages.push(Message {
                role,
                content: vec![ContentBlock::text(*t)],
            });
        }
        r
    }

    #[test]
    fn one_conversation_one_key_per_account() {
        let first = derive("acct_a", None, &conversation(&["hi"]));
        let later = derive("acct_a", None, &conversation(&["hi", "hello", "more"]));
        assert_eq!(first, later);
        assert_eq!(first.len(), 4 + 32);
        assert!(first.starts_with("mws-"));
        assert_ne!(first, derive("acct_b", None, &conversation(&["hi"])));
        assert_ne!(first, derive("acct_a", None, &conversation(&["other"])));
    }

    #[test]
    fn a_session_or_user_names_the_conversation() {
        let a = derive("acct", Some("sess-1"), &conversation(&["hi"]));
        assert_eq!(a, derive("acct", Some("sess-1"), &conversation(&["bye"])));
        assert_ne!(a, derive("acct", Some("sess-2"), &conversation(&["hi"])));
        let mut r = conversation(&["hi"]);
        r.user = Some("user_1_session_9".into());
        assert_eq!(
            derive("acct", None, &r),
            derive("acct", Some("user_1_session_9"), &conversation(&["x"]))
        );
    }
}
