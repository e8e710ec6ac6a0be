//! Content blocks: the unit both APIs build messages from.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource {
    Base64 { media_type: String, data: String },
    Url { url: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ContentBlock {
    /// `cache_control` is kept for Anthropic upstreams and dropped for others.
    Text {
        text: String,
        cache_control: Option<Value>,
    },
    Image {
        source: ImageSource,
        cache_control: Option<Value>,
    },
    /// An assistant's tool call; `id` passes through verbatim.
    ToolUse {
        id: String,
        name: String,
        input: Value,
        cache_control: Option<Value>,
    },
    /// A user's answer to a tool call. `content` holds text and image blocks.
    ToolResult {
        tool_use_id: String,
        content: Vec<ContentBlock>,
        is_error: bool,
        cache_control: Option<Value>,
    },
    Thinking {
        thinking: String,
        signature: Option<String>,
    },
    /// A document the model reads (a PDF), inline as base64.
    Document {
        media_type: String,
        data: String,
        /// The file's name, as a title for the model.
        filename: Option<String>,
        cache_control: Option<Value>,
    },
    RedactedThinking {
        data: String,
    },
}

impl ContentBlock {
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text {
            text: text.into(),
            cache_control: None,
        }
    }

    /// The plain text of a text block, or of the text inside a tool result.
    pub fn plain_text(&self) -> String {
        match self {
            ContentBlock::Text { text, .. } => text.clone(),
            ContentBlock::ToolResult { content, .. } => content
                .iter()
                .map(ContentBlock::plain_text)
                .collect::<Vec<_>>()
                .join("\n"),
            ContentBlock::Thinking { thinking, .. } => thinking.clone(),
            _ => String::new(),
        }
    }
}
