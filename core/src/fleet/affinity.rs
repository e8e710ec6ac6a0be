//! Sticky sessions: which deployment each recent conversation was served by,
//! so its next turn goes there too (the provider's prompt cache is warm
//! there). A conversation is named, in this order, by the client's
//! `prompt_cache_key`, the Responses API's `previous_response_id`, Claude
//! Code's `x-claude-code-session-id`, the client's user (`metadata.user_id`,
//! `user`), else its system prompt and first turn; always within its account
//! and profile.
//!
//! The table is bounded: each of its shards keeps two generations and drops
//! the older when the newer fills, so a conversation not seen for the
//! table's capacity of newer ones is forgotten (least recently seen first,
//! approximately). A pin records the deployment's epoch: once the deployment
//! turns unhealthy, its epoch moves on and its pins no longer hold.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use crate::canonical::{ChatRequest, ContentBlock};

const SHARDS: usize = 16;
/// The most of a prompt hashed to name a conversation that names none.
const PROMPT_BYTES: usize = 4096;

/// Where one conversation was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin {
    /// Its place in the profile's deployments.
    pub member: u16,
    /// The deployment's epoch then.
    pub epoch: u32,
}

#[derive(Debug, Default)]
struct Shard {
    current: HashMap<u64, Pin>,
    previous: HashMap<u64, Pin>,
}

#[derive(Debug)]
pub struct Affinity {
    shards: Vec<Mutex<Shard>>,
    /// Entries per generation of one shard.
    per_generation: usize,
}

impl Affinity {
    /// A table remembering about `capacity` conversations; `None` for 0 (off).
    pub fn new(capacity: usize) -> Option<Self> {
        if capacity == 0 {
            return None;
        }
        let per_generation = capacity.div_ceil(2 * SHARDS).max(1);
        Some(Affinity {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_generation,
        })
    }

    fn shard(&self, key: u64) -> std::sync::MutexGuard<'_, Shard> {
        self.shards[(key as usize) % SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, key: u64) -> Option<Pin> {
        let mut s = self.shard(key);
        if let Some(pin) = s.current.get(&key) {
            return Some(*pin);
        }
        // Seen again: moved to the newer generation.
        let pin = s.previous.remove(&key)?;
        put_in(&mut s, key, pin, self.per_generation);
        Some(pin)
    }

    pub fn put(&self, key: u64, pin: Pin) {
        let mut s = self.shard(key);
        put_in(&mut s, key, pin, self.per_generation);
    }

    /// Conversations remembered now.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap_or_else(|p| p.into_inner());
                s.current.len() + s.previous.len()
            })
            .sum()
    }
}

fn put_in(s: &mut Shard, key: u64, pin: Pin, per_generation: usize) {
    if s.current.len() >= per_generation && !s.current.contains_key(&key) {
        s.previous = std::mem::take(&mut s.current);
    }
    s.previous.remove(&key);
    s.current.insert(key, pin);
}

/// What names one call's conversation, as the pipeline knows it.
#[derive(Debug, Clone, Copy)]
pub struct Conversation<'a> {
    pub profile: &'a str,
    pub account: &'a str,
    pub request: &'a ChatRequest,
    pub session: Option<&'a str>,
    pub previous_response_id: Option<&'a str>,
}

/// The table key of the conversation.
pub fn key(c: &Conversation<'_>) -> u64 {
    let mut h = DefaultHasher::new();
    (c.profile, c.account).hash(&mut h);
    let req = c.request;
    let named = [
        ("cache", req.prompt_cache_key.as_deref()),
        ("prev", c.previous_response_id),
        ("session", c.session),
        ("user", req.user.as_deref()),
    ]
    .into_iter()
    .find_map(|(what, v)| v.filter(|v| !v.is_empty()).map(|v| (what, v)));
    match named {
        Some(("prev", id)) => return response_key(c.profile, c.account, id),
        Some(named) => named.hash(&mut h),
        None => {
            "prompt".hash(&mut h);
            let mut left = PROMPT_BYTES;
            let mut text = |t: &str| {
                let t = &t.as_bytes()[..t.len().min(left)];
                left -= t.len();
                h.write(t);
                h.write_u8(0);
            };
            for block in &req.system {
                text(&block.plain_text());
            }
            for block in req.messages.first().map_or(&[][..], |m| &m.content) {
                if let ContentBlock::Text { text: t, .. } = block {
                    text(t);
                }
            }
        }
    }
    h.finish()
}

/// The key a later turn naming response `id` as its `previous_response_id` has.
pub fn response_key(profile: &str, account: &str, id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (profile, account, "prev", id).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{Message, Role};

    fn request(first: &str) -> ChatRequest {
        let mut r = ChatRequest::new("m");
        r.system.push(ContentBlock::text("Be brief."));
        r.messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::text(first)],
        });
        r
    }

    fn conv<'a>(req: &'a ChatRequest, account: &'a str) -> Conversation<'a> {
        Conversation {
            profile: "p",
            account,
            request: req,
            session: None,
            previous_response_id: None,
        }
    }

    #[test]
    fn the_table_is_bounded_and_keeps_what_is_seen_again() {
        let t = Affinity::new(64).unwrap();
        let pin = |m| Pin {
            member: m,
            epoch: 0,
        };
        t.put(1, pin(1));
        for k in 100..10_000u64 {
            t.put(k, pin(2));
            // Key 1 is seen all along: it stays.
            assert_eq!(t.get(1), Some(pin(1)));
        }
        assert!(t.len() <= 64 + 2 * SHARDS, "{}", t.len());
        // Early keys seen once are gone.
        assert_eq!(t.get(100), None);
        assert!(Affinity::new(0).is_none());
    }

    #[test]
    fn a_conversation_is_named_by_its_first_identifier_within_its_account() {
        let (a, b) = (request("hi"), request("other"));
        // No identifier: the prompt's start.
        assert_eq!(key(&conv(&a, "x")), key(&conv(&request("hi"), "x")));
        assert_ne!(key(&conv(&a, "x")), key(&conv(&b, "x")));
        assert_ne!(key(&conv(&a, "x")), key(&conv(&a, "y")));
        // A session names it whatever the prompt.
        let s = |r, s| Conversation {
            session: Some(s),
            ..conv(r, "x")
        };
        assert_eq!(key(&s(&a, "s1")), key(&s(&b, "s1")));
        assert_ne!(key(&s(&a, "s1")), key(&s(&a, "s2")));
        // The prompt cache key comes before the session.
        let mut c = request("hi");
        c.prompt_cache_key = Some("pck".into());
        let mut d = request("bye");
        d.prompt_cache_key = Some("pck".into());
        assert_eq!(key(&s(&c, "s1")), key(&s(&d, "s2")));
        // A previous response id: the key that response was filed under.
        let prev = Conversation {
            previous_response_id: Some("resp_1"),
            ..conv(&a, "x")
        };
        assert_eq!(key(&prev), response_key("p", "x", "resp_1"));
        // A long prompt is hashed by its start only, and still quickly.
        let long = request(&"a".repeat(100_000));
        let mut longer = request(&"a".repeat(200_000));
        assert_eq!(key(&conv(&long, "x")), key(&conv(&longer, "x")));
        longer.user = Some("u".into());
        assert_ne!(key(&conv(&long, "x")), key(&conv(&longer, "x")));
    }
}
