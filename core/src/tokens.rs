//! The 4-characters-a-token estimate, used where an upstream gives no usage and
//! for `count_tokens`.

use crate::canonical::{ChatRequest, ContentBlock, DocumentSource, ImageSource};

/// Characters per token of the estimate.
const CHARS_PER_TOKEN: usize = 4;
/// What one image counts as, in characters (about 1,600 tokens, as Anthropic
/// sizes a typical 1092x1092 image).
const IMAGE_CHARS: usize = 1600 * CHARS_PER_TOKEN;

/// Tokens for `chars` characters, rounded up; empty text is 0 tokens.
pub fn estimate_chars(chars: usize) -> u64 {
    chars.div_ceil(CHARS_PER_TOKEN) as u64
}

pub fn estimate_text(text: &str) -> u64 {
    estimate_chars(text.chars().count())
}

fn block_chars(block: &ContentBlock) -> usize {
    match block {
        ContentBlock::Text { text, .. } => text.chars().count(),
        ContentBlock::Image { source, .. } => match source {
            ImageSource::Base64 { .. } | ImageSource::Url { .. } => IMAGE_CHARS,
        },
        ContentBlock::ToolUse { name, input, .. } => {
            name.chars().count() + input.to_string().chars().count()
        }
        ContentBlock::ToolResult { content, .. } => content.iter().map(block_chars).sum(),
        ContentBlock::Thinking { thinking, .. } => thinking.chars().count(),
        ContentBlock::RedactedThinking { data } => data.len(),
        ContentBlock::Document {
            source,
            title,
            context,
            ..
        } => {
            let said =
                title.as_deref().map_or(0, str::len) + context.as_deref().map_or(0, str::len);
            said + match source {
                // Base64 is 4 characters for 3 bytes: as many characters as the
                // text a page of it holds, near enough for an estimate.
                DocumentSource::Base64 { data, .. } => data.len(),
                // Its size is unknown until fetched: counted as one page read as an image.
                DocumentSource::Url { .. } => IMAGE_CHARS,
            }
        }
    }
}

/// Input tokens of a whole request: system, messages and tools.
pub fn estimate_request(req: &ChatRequest) -> u64 {
    let system: usize = req.system.iter().map(block_chars).sum();
    let messages: usize = req
        .messages
        .iter()
        .flat_map(|m| m.content.iter())
        .map(block_chars)
        .sum();
    let tools: usize = req
        .tools
        .iter()
        .map(|t| {
            t.name.chars().count()
                + t.description.as_deref().map_or(0, |d| d.chars().count())
                + t.input_schema.to_string().chars().count()
        })
        .sum();
    estimate_chars(system + messages + tools)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{Message, Role};

    #[test]
    fn rounds_up() {
        assert_eq!(estimate_text(""), 0);
        assert_eq!(estimate_text("abc"), 1);
        assert_eq!(estimate_text("abcd"), 1);
        assert_eq!(estimate_text("abcde"), 2);
    }

    #[test]
    fn counts_system_messages_and_tools() {
        let mut req = ChatRequest::new("m");
        req.system.push(ContentBlock::text("abcd"));
        req.messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::text("efgh")],
        });
        assert_eq!(estimate_request(&req), 2);
    }
}
